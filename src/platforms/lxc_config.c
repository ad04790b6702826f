/* virtlab's LXC guests as LXC configuration keys and cgroup items. */
#include "platforms/lxc_config.h"
#include "core/cleanup.h"
#include "runtime/container_spec.h"
#include "runtime/security.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>

#define CPU_PERIOD_US  100000
#define MONITOR_SUFFIX ".lxc-monitor"

int vl_lxc_items_add(struct vl_lxc_items *items, vl_error *err, const char *key, const char *fmt,
                     ...)
{
	struct vl_lxc_item item = {0};
	va_list ap;
	int len;

	if (items->n == items->cap) {
		size_t cap = items->cap ? items->cap * 2 : 32;
		struct vl_lxc_item *v = realloc(items->v, cap * sizeof(*v));
		if (!v)
			return vl_error_errno(err, ENOMEM, "configuring %s", key);
		items->v = v;
		items->cap = cap;
	}
	va_start(ap, fmt);
	len = vasprintf(&item.value, fmt, ap);
	va_end(ap);
	item.key = strdup(key);
	if (len < 0 || !item.key) {
		free(item.key);
		if (len >= 0)
			free(item.value);
		return vl_error_errno(err, ENOMEM, "configuring %s", key);
	}
	items->v[items->n++] = item;
	return 0;
}

void vl_lxc_items_free(struct vl_lxc_items *items)
{
	for (size_t i = 0; i < items->n; i++) {
		free(items->v[i].key);
		free(items->v[i].value);
	}
	free(items->v);
	*items = (struct vl_lxc_items){0};
}

void vl_lxc_cgroup_names(const char *name, struct vl_lxc_cgroups *out)
{
	snprintf(out->container, sizeof(out->container), "virtlab/%s", name);
	snprintf(out->monitor, sizeof(out->monitor), "virtlab/%s" MONITOR_SUFFIX, name);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int vl_lxc_check_name(const char *name, vl_error *err)
{
	if (ends_with(name, MONITOR_SUFFIX) || strcmp(name, VL_LXC_PIVOT_LEAF) == 0)
		return vl_error_input(err,
		                      "guest name '%s' names the cgroups of LXC's monitors (%s, "
		                      "*%s); choose another name",
		                      name, VL_LXC_PIVOT, MONITOR_SUFFIX);
	return 0;
}

/* --- cgroup items: one table of names per version --- */

struct names {
	const char *weight, *period, *quota, *max, *memory, *io_read, *io_write, *classid;
};

static const struct names v1_names = {"cpu.shares",
                                      "cpu.cfs_period_us",
                                      "cpu.cfs_quota_us",
                                      NULL,
                                      "memory.limit_in_bytes",
                                      "blkio.throttle.read_bps_device",
                                      "blkio.throttle.write_bps_device",
                                      "net_cls.classid"};
static const struct names v2_names = {"cpu.weight", NULL,     NULL, "cpu.max",
                                      "memory.max", "io.max", NULL, NULL};

static int cpu_items(const struct names *nm, const struct vl_entitlement *e,
                     struct vl_lxc_items *out, const char *prefix, vl_error *err)
{
	char key[128];
	int64_t quota;

	if (e->cpu_weight) {
		if (e->cpu_weight > 10000)
			return vl_error_input(err, "cpu weight %u out of range: use 1..10000",
			                      e->cpu_weight);
		snprintf(key, sizeof(key), "%s%s", prefix, nm->weight);
		/* The v1 mapping of cgroup.h (crun's and runc's). */
		if (vl_lxc_items_add(out, err, key, "%" PRIu64,
		                     nm == &v1_names
		                             ? 2 + ((uint64_t)(e->cpu_weight - 1) * 262142) / 9999
		                             : (uint64_t)e->cpu_weight) < 0)
			return -1;
	}
	if (!(e->cpu_max_pct > 0))
		return 0;
	quota = llround(e->cpu_max_pct * CPU_PERIOD_US / 100);
	if (quota < 1000 || e->cpu_max_pct > 100000)
		return vl_error_input(err, "cpu max %g%% out of range: use 1..100000",
		                      e->cpu_max_pct);
	if (nm->max) {
		snprintf(key, sizeof(key), "%s%s", prefix, nm->max);
		return vl_lxc_items_add(out, err, key, "%" PRId64 " %d", quota, CPU_PERIOD_US);
	}
	snprintf(key, sizeof(key), "%s%s", prefix, nm->period);
	if (vl_lxc_items_add(out, err, key, "%d", CPU_PERIOD_US) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s%s", prefix, nm->quota);
	return vl_lxc_items_add(out, err, key, "%" PRId64, quota);
}

static int io_items(const struct names *nm, const struct vl_entitlement *e,
                    struct vl_lxc_items *out, const char *prefix, vl_error *err)
{
	char key[128];

	if (!e->io_read_bps && !e->io_write_bps)
		return 0;
	if (!e->io_device[0])
		return vl_error_input(err, "an I/O throttle needs a device (MAJ:MIN)");
	if (!nm->io_write) {
		char rbps[32] = "", wbps[32] = "";
		if (e->io_read_bps)
			snprintf(rbps, sizeof(rbps), " rbps=%" PRIu64, e->io_read_bps);
		if (e->io_write_bps)
			snprintf(wbps, sizeof(wbps), " wbps=%" PRIu64, e->io_write_bps);
		snprintf(key, sizeof(key), "%s%s", prefix, nm->io_read);
		return vl_lxc_items_add(out, err, key, "%s%s%s", e->io_device, rbps, wbps);
	}
	snprintf(key, sizeof(key), "%s%s", prefix, nm->io_read);
	if (e->io_read_bps &&
	    vl_lxc_items_add(out, err, key, "%s %" PRIu64, e->io_device, e->io_read_bps) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s%s", prefix, nm->io_write);
	if (e->io_write_bps &&
	    vl_lxc_items_add(out, err, key, "%s %" PRIu64, e->io_device, e->io_write_bps) < 0)
		return -1;
	return 0;
}

static int limit_items(enum vl_cgroup_version version, const struct vl_entitlement *e,
                       const char *prefix, struct vl_lxc_items *out, vl_error *err)
{
	const struct names *nm = version == VL_CGROUP_V1 ? &v1_names : &v2_names;
	char key[128];

	if (cpu_items(nm, e, out, prefix, err) < 0)
		return -1;
	if (e->cpuset[0]) {
		snprintf(key, sizeof(key), "%scpuset.cpus", prefix);
		if (vl_lxc_items_add(out, err, key, "%s", e->cpuset) < 0)
			return -1;
	}
	if (e->mems[0]) {
		snprintf(key, sizeof(key), "%scpuset.mems", prefix);
		if (vl_lxc_items_add(out, err, key, "%s", e->mems) < 0)
			return -1;
	}
	if (e->memory_bytes) {
		snprintf(key, sizeof(key), "%s%s", prefix, nm->memory);
		if (vl_lxc_items_add(out, err, key, "%" PRIu64, e->memory_bytes) < 0)
			return -1;
	}
	if (io_items(nm, e, out, prefix, err) < 0)
		return -1;
	if (e->pids_max) {
		snprintf(key, sizeof(key), "%spids.max", prefix);
		if (vl_lxc_items_add(out, err, key, "%u", e->pids_max) < 0)
			return -1;
	}
	if (e->net_classid) {
		if (!nm->classid)
			return vl_error_input(err, "a net classid needs cgroup v1's net_cls; this "
			                           "host has cgroup v2");
		snprintf(key, sizeof(key), "%s%s", prefix, nm->classid);
		if (vl_lxc_items_add(out, err, key, "%" PRIu32, e->net_classid) < 0)
			return -1;
	}
	return 0;
}

int vl_lxc_entitlement_items(enum vl_cgroup_version version, const struct vl_entitlement *e,
                             struct vl_lxc_items *out, vl_error *err)
{
	return limit_items(version, e, "", out, err);
}

/* --- the guest's configuration --- */

static int capability_items(struct vl_lxc_items *out, vl_error *err)
{
	uint64_t keep = vl_caps_default();

	for (cap_value_t c = 0; c < 64; c++) {
		cleanup_free char *name = NULL;
		char *n;

		if (!(keep & (UINT64_C(1) << c)))
			continue;
		n = cap_to_name(c);
		if (!n)
			return vl_error_errno(err, errno, "naming capability %d", (int)c);
		name = strdup(n);
		cap_free(n);
		if (!name)
			return vl_error_errno(err, ENOMEM, "naming capability %d", (int)c);
		/* LXC spells them without libcap's "cap_" prefix. */
		if (vl_lxc_items_add(out, err, "lxc.cap.keep", "%s",
		                     strncmp(name, "cap_", 4) == 0 ? name + 4 : name) < 0)
			return -1;
	}
	return 0;
}

/* The devices of virtlab's own containers, plus /dev/ptmx and /dev/pts/N. */
static int device_items(const char *prefix, struct vl_lxc_items *out, vl_error *err)
{
	char deny[64], allow[64];

	snprintf(deny, sizeof(deny), "%sdevices.deny", prefix);
	snprintf(allow, sizeof(allow), "%sdevices.allow", prefix);
	if (vl_lxc_items_add(out, err, deny, "a") < 0)
		return -1;
	for (const char *const *d = vl_container_default_devices; *d; d++) {
		unsigned major, minor;

		if (vl_container_device_lookup(*d, &major, &minor, err) < 0 ||
		    vl_lxc_items_add(out, err, allow, "c %u:%u rwm", major, minor) < 0)
			return -1;
	}
	if (vl_lxc_items_add(out, err, allow, "c 5:2 rwm") < 0 ||
	    vl_lxc_items_add(out, err, allow, "c 136:* rwm") < 0)
		return -1;
	return 0;
}

static int spec_limits(const struct vl_lxc_guest *g, const char *prefix, struct vl_lxc_items *out,
                       vl_error *err)
{
	const struct vl_guest_spec *s = g->spec;
	struct vl_entitlement e = {.memory_bytes = s->memory_bytes,
	                           .pids_max = s->pids_max ? s->pids_max : VL_LXC_DEFAULT_PIDS};
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (s->cpuset[0])
		snprintf(e.cpuset, sizeof(e.cpuset), "%s", s->cpuset);
	else if (s->cpus > 0 && s->cpus <= online)
		snprintf(e.cpuset, sizeof(e.cpuset), s->cpus == 1 ? "0" : "0-%u", s->cpus - 1);
	else if (s->cpus > 0)
		return vl_error_input(err, "guest %s asks for %u CPUs; this host has %ld", s->name,
		                      s->cpus, online);
	return limit_items(g->cgroup_version, &e, prefix, out, err);
}

int vl_lxc_guest_items(const struct vl_lxc_guest *g, struct vl_lxc_items *out, vl_error *err)
{
	const struct vl_guest_spec *s = g->spec;
	const char *workdir = s->workdir[0] ? s->workdir : "/tmp";
	const char *prefix = g->cgroup_version == VL_CGROUP_V1 ? "lxc.cgroup." : "lxc.cgroup2.";
	struct vl_lxc_cgroups cg;

	/* lxc.init.cmd is split at blanks. */
	if (strpbrk(workdir, " \t\n"))
		return vl_error_input(err,
		                      "workdir '%s' has blanks, which LXC's init command "
		                      "cannot carry; choose a path without them",
		                      workdir);
	vl_lxc_cgroup_names(s->name, &cg);
	if (vl_lxc_items_add(out, err, "lxc.uts.name", "%s", s->name) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.rootfs.path", "%s", g->rootfs) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.init.cmd",
	                     VL_LXC_AGENT_PATH " --socket " VL_LXC_GUEST_CHANNEL
	                                       "/" VL_LXC_SOCKET_NAME " --workdir %s",
	                     workdir) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.environment", "PATH=/bin:/sbin:/usr/bin:/usr/sbin") <
	            0 ||
	    vl_lxc_items_add(out, err, "lxc.environment", "HOME=/root") < 0 ||
	    /* The agent ends on SIGTERM; as PID 1 it would ignore LXC's SIGPWR. */
	    vl_lxc_items_add(out, err, "lxc.signal.halt", "SIGTERM") < 0 ||
	    vl_lxc_items_add(out, err, "lxc.net.0.type", "empty") < 0 ||
	    vl_lxc_items_add(out, err, "lxc.autodev", "1") < 0 ||
	    vl_lxc_items_add(out, err, "lxc.pty.max", "16") < 0 ||
	    vl_lxc_items_add(out, err, "lxc.tty.max", "0") < 0 ||
	    vl_lxc_items_add(out, err, "lxc.mount.auto", "proc:mixed sys:ro") < 0 ||
	    vl_lxc_items_add(out, err, "lxc.mount.entry",
	                     "%s/" VL_LXC_CHANNEL_DIR " %s none bind,create=dir 0 0", g->dir,
	                     VL_LXC_GUEST_CHANNEL + 1) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.no_new_privs", "1") < 0 ||
	    vl_lxc_items_add(out, err, "lxc.seccomp.profile", "%s", g->seccomp) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.cgroup.dir.container", "%s", cg.container) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.cgroup.dir.monitor", "%s", cg.monitor) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.cgroup.dir.monitor.pivot", VL_LXC_PIVOT_PARENT) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.log.file", "%s/lxc.log", g->dir) < 0 ||
	    vl_lxc_items_add(out, err, "lxc.log.level", "WARN") < 0 ||
	    vl_lxc_items_add(out, err, "lxc.console.logfile", "%s/console.log", g->dir) < 0)
		return -1;
	if (g->apparmor_unconfined &&
	    vl_lxc_items_add(out, err, "lxc.apparmor.profile", "unconfined") < 0)
		return -1;
	if (capability_items(out, err) < 0 || device_items(prefix, out, err) < 0 ||
	    spec_limits(g, prefix, out, err) < 0)
		return -1;
	return 0;
}

int vl_lxc_seccomp_profile(char **text, vl_error *err)
{
	cleanup_free char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return vl_error_errno(err, errno, "writing the seccomp profile");
	/* LXC skips (with a warning) a syscall this architecture lacks. */
	fputs("2\ndenylist\n[all]\n", f);
	for (const struct vl_seccomp_rule *r = vl_seccomp_default_rules; r->syscall; r++) {
		if (r->arg0_mask)
			fprintf(f, "%s errno %d [0,%" PRIu64 ",SCMP_CMP_MASKED_EQ,%" PRIu64 "]\n",
			        r->syscall, r->errnum, r->arg0_mask, r->arg0_mask);
		else
			fprintf(f, "%s errno %d\n", r->syscall, r->errnum);
	}
	if (fclose(f) != 0)
		return vl_error_errno(err, errno, "writing the seccomp profile");
	*text = vl_steal_ptr(buf);
	return 0;
}
