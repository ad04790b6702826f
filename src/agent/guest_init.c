/* The boot steps of a guest whose init is the agent. Each step fails with a
 * message rather than hanging: the init powers the guest off on failure, and
 * the host sees qemu exit with that message as the last console line. */
#include "agent/guest_init.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/command.h"
#include "core/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The host names the port over virtio-serial's control queue after the
 * driver has probed, and devtmpfs makes its node, so the port shows a moment
 * after the module has loaded; 4 s is the bound the shell /init had. */
#define PORT_WAIT_S   4.0
#define PORT_POLL_NS  2000000ull
#define NET_TIMEOUT_S 30.0

static int mount_one(const char *type, const char *dir, vl_error *err)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return vl_error_errno(err, errno, "creating %s", dir);
	if (mount(type, dir, type, MS_NOSUID, NULL) < 0 && errno != EBUSY)
		return vl_error_errno(err, errno, "mounting %s on %s", type, dir);
	return 0;
}

/* The virtlab.* parameters; the rest of the command line is the kernel's. */
static int parse_cmdline(struct vl_guest_boot *b, vl_error *err)
{
	char line[4096], *save = NULL;

	if (vl_read_line("/proc/cmdline", line, sizeof(line), err) < 0)
		return -1;
	for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (strncmp(w, "virtlab.hostname=", 17) == 0) {
			if (sethostname(w + 17, strlen(w + 17)) < 0)
				return vl_error_errno(err, errno, "setting the hostname %s",
				                      w + 17);
		} else if (strncmp(w, "virtlab.workdir=", 16) == 0) {
			snprintf(b->workdir, sizeof(b->workdir), "%s", w + 16);
		} else if (strncmp(w, "virtlab.agent=", 14) == 0) {
			snprintf(b->port, sizeof(b->port), "/dev/%s", w + 14);
		} else if (strncmp(w, "virtlab.net=", 12) == 0) {
			snprintf(b->net, sizeof(b->net), "%s", w + 12);
		}
	}
	return 0;
}

/* virtio-net, legacy and modern PCI ids. */
static bool has_virtio_nic(void)
{
	cleanup_dir DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[PATH_MAX], vendor[16], device[16];
		vl_error ignored = {0};
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (vl_read_line(path, vendor, sizeof(vendor), &ignored) < 0 ||
		    strcmp(vendor, "0x1af4") != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		if (vl_read_line(path, device, sizeof(device), &ignored) == 0 &&
		    (strcmp(device, "0x1000") == 0 || strcmp(device, "0x1041") == 0))
			return true;
	}
	return false;
}

static int load_module(const char *path, vl_error *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return vl_error_errno(err, errno, "opening the module %s", path);
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		return vl_error_errno(err, errno, "loading the module %s", path);
	return 0;
}

/* The agent group is for the virtio port: a console named on the command
 * line (Xen's hvc1) needs none of it. Each group lists all its dependencies;
 * a file two groups share is loaded once, as the kernel checks a module's
 * signature before it finds the module loaded. */
static int load_modules(const struct vl_guest_boot *b, vl_error *err)
{
	cleanup_file FILE *f = fopen("/" VL_GUEST_INIT_MODULES, "re");
	cleanup_free char *loaded = NULL;
	size_t loaded_len = 0;
	char group[32], path[PATH_MAX], key[PATH_MAX + 3];
	int nic = -1;

	if (!f)
		return vl_error_errno(err, errno, "opening /%s", VL_GUEST_INIT_MODULES);
	while (fscanf(f, "%31s %4095s", group, path) == 2) {
		bool want = false;
		char *more;
		if (strcmp(group, "agent") == 0)
			want = !b->port[0];
		else if (strcmp(group, "net") == 0) {
			if (nic < 0)
				nic = has_virtio_nic();
			want = nic;
		}
		snprintf(key, sizeof(key), "\n%s\n", path);
		if (!want || (loaded && strstr(loaded, key)))
			continue;
		if (load_module(path, err) < 0)
			return -1;
		more = realloc(loaded, loaded_len + strlen(key) + 1);
		if (!more)
			return vl_error_errno(err, ENOMEM, "loading modules");
		loaded = more;
		strcpy(loaded + loaded_len, key);
		loaded_len += strlen(key);
	}
	return 0;
}

/* The /dev node of the virtio port named VL_GUEST_AGENT_PORT, once devtmpfs
 * has it. */
static bool find_port(char *port, size_t size)
{
	cleanup_dir DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[PATH_MAX], name[128];
		vl_error ignored = {0};
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
		if (e->d_name[0] == '.' || vl_read_line(path, name, sizeof(name), &ignored) < 0 ||
		    strcmp(name, VL_GUEST_AGENT_PORT) != 0)
			continue;
		snprintf(port, size, "/dev/%s", e->d_name);
		return access(port, F_OK) == 0;
	}
	return false;
}

int vl_guest_init_boot(struct vl_guest_boot *out, vl_error *err)
{
	uint64_t t0;

	memset(out, 0, sizeof(*out));
	snprintf(out->workdir, sizeof(out->workdir), "%s", VL_GUEST_DISK_DIR);
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	if (mount_one("proc", "/proc", err) < 0 || mount_one("sysfs", "/sys", err) < 0 ||
	    mount_one("devtmpfs", "/dev", err) < 0 || parse_cmdline(out, err) < 0 ||
	    load_modules(out, err) < 0)
		return vl_error_wrap(err, "booting the guest");
	if (out->port[0])
		return 0;
	t0 = vl_now_ns();
	while (!find_port(out->port, sizeof(out->port))) {
		if (vl_seconds_since(t0) >= PORT_WAIT_S)
			return vl_error_set(err, "no virtio port named %s within %g s",
			                    VL_GUEST_AGENT_PORT, PORT_WAIT_S);
		vl_sleep_ns(PORT_POLL_NS, NULL);
	}
	return 0;
}

int vl_guest_init_network(const struct vl_guest_boot *b, vl_error *err)
{
	const char *const argv[] = {"/bin/sh", "/" VL_GUEST_NET_SCRIPT, b->net, NULL};
	struct vl_command_result res = {0};
	char why[256];
	int rc = 0;

	if (!b->net[0])
		return 0;
	if (vl_command_run(argv, NULL, NET_TIMEOUT_S, NULL, &res, err) < 0)
		return vl_error_wrap(err, "configuring the network %s", b->net);
	if (res.exit_code != 0)
		rc = vl_error_set(err, "configuring the network %s: %s", b->net,
		                  vl_command_describe_failure(&res, why, sizeof(why)));
	vl_command_result_release(&res);
	return rc;
}

_Noreturn void vl_guest_init_poweroff(void)
{
	sync();
	umount(VL_GUEST_DISK_DIR);
	reboot(RB_POWER_OFF);
	/* Only a kernel without power-off support gets here; pid 1 must not
	 * exit (the kernel panics), so it waits for the host to kill qemu. */
	for (;;)
		pause();
}
