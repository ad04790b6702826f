#include "runtime/container_spec.h"

#include <string.h>
#include "runtime/security.h"

/* crun's defaults: kernel state a guest must not read (kcore, keys, timers of
 * other tasks) or could use to fingerprint or attack the host. */
const char *const vl_container_default_masked_paths[] = {
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/dev/block",
        "/sys/devices/virtual/powercap",
        NULL,
};

/* crun's defaults: host-wide knobs that root in a guest could otherwise set. */
const char *const vl_container_default_readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

const char *const vl_container_default_devices[] = {
        "null", "zero", "full", "random", "urandom", "tty", NULL,
};

static const struct {
	const char *name;
	unsigned major, minor;
} device_table[] = {
        {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

int vl_container_device_lookup(const char *name, unsigned *major, unsigned *minor, vl_error *err)
{
	for (size_t i = 0; i < sizeof(device_table) / sizeof(device_table[0]); i++) {
		if (strcmp(device_table[i].name, name) == 0) {
			*major = device_table[i].major;
			*minor = device_table[i].minor;
			return 0;
		}
	}
	return vl_error_input(err,
	                      "device '%s' is not allowed in a guest; use one of null, zero, full, "
	                      "random, urandom, tty",
	                      name);
}

void vl_container_spec_init(struct vl_container_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->namespaces = VL_NS_DEFAULT;
	spec->keep_fd = -1;
	spec->stdio[0] = spec->stdio[1] = spec->stdio[2] = -1;
	spec->masked_paths = vl_container_default_masked_paths;
	spec->readonly_paths = vl_container_default_readonly_paths;
	spec->devices = vl_container_default_devices;
	spec->capabilities = vl_caps_default();
	spec->seccomp = true;
	spec->no_new_privs = true;
}
