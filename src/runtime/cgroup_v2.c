/* The cgroup v2 backend: one unified hierarchy; controllers reach a group
 * through its parents' cgroup.subtree_control. */
#include "runtime/cgroup_backend.h"
#include "core/cleanup.h"
#include "core/file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FREEZE_TIMEOUT_NS 1000000000LL

static const char *const wanted[] = {"cpu", "cpuset", "io", "memory", "pids"};

/* Hands the parent's controllers down to the new level; a parent that already
 * delegates them is not written to. */
static int v2_init_level(const struct vl_cgroup_hierarchy *h, const char *parent, const char *dir,
                         vl_error *err)
{
	char available[1024], enabled[1024], add[256] = "";

	(void)h;
	(void)dir;
	if (vl_cgroup_read(parent, "cgroup.controllers", available, sizeof(available), err) < 0 ||
	    vl_cgroup_read(parent, "cgroup.subtree_control", enabled, sizeof(enabled), err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!vl_cgroup_list_has(available, wanted[i]) ||
		    vl_cgroup_list_has(enabled, wanted[i]))
			continue;
		snprintf(add + strlen(add), sizeof(add) - strlen(add), "%s+%s", add[0] ? " " : "",
		         wanted[i]);
	}
	if (!add[0])
		return 0;
	return vl_cgroup_write(parent, "cgroup.subtree_control", add, err);
}

/* "max" or the number. */
static const char *limit_text(int64_t value, char *buf, size_t size)
{
	if (value == VL_CGROUP_NO_LIMIT)
		return "max";
	snprintf(buf, size, "%" PRId64, value);
	return buf;
}

static int v2_set_cpu_weight(struct vl_cgroup *cg, unsigned weight, vl_error *err)
{
	char dir[PATH_MAX];

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_CPU, dir, sizeof(dir), err) < 0)
		return -1;
	return vl_cgroup_writef(dir, "cpu.weight", err, "%u", weight);
}

static int v2_set_cpu_max(struct vl_cgroup *cg, int64_t quota_us, int64_t period_us, vl_error *err)
{
	char dir[PATH_MAX], quota[24];

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_CPU, dir, sizeof(dir), err) < 0)
		return -1;
	return vl_cgroup_writef(dir, "cpu.max", err, "%s %" PRId64,
	                        limit_text(quota_us, quota, sizeof(quota)), period_us);
}

static int v2_set_cpuset(struct vl_cgroup *cg, const char *cpus, const char *mems, vl_error *err)
{
	char dir[PATH_MAX];

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_CPUSET, dir, sizeof(dir), err) < 0)
		return -1;
	if (cpus && vl_cgroup_write(dir, "cpuset.cpus", cpus, err) < 0)
		return -1;
	if (mems && vl_cgroup_write(dir, "cpuset.mems", mems, err) < 0)
		return -1;
	return 0;
}

static int v2_set_memory(struct vl_cgroup *cg, const struct vl_cgroup_memory *mem, vl_error *err)
{
	const char *files[] = {"memory.max", "memory.high", "memory.swap.max"};
	int64_t values[] = {mem->max, mem->high, mem->swap};
	char dir[PATH_MAX];

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_MEMORY, dir, sizeof(dir), err) < 0)
		return -1;
	if (mem->swap != VL_CGROUP_UNCHANGED && !vl_cgroup_has_file(dir, "memory.swap.max"))
		return vl_error_set(err,
		                    "%s/memory.swap.max is missing: the kernel lacks swap "
		                    "accounting (CONFIG_MEMCG_SWAP, swapaccount=1)",
		                    dir);
	for (size_t i = 0; i < 3; i++) {
		char buf[24];
		if (values[i] != VL_CGROUP_UNCHANGED &&
		    vl_cgroup_write(dir, files[i], limit_text(values[i], buf, sizeof(buf)), err) <
		            0)
			return -1;
	}
	return 0;
}

static int v2_set_io_bps(struct vl_cgroup *cg, unsigned major, unsigned minor, int64_t read_bps,
                         int64_t write_bps, vl_error *err)
{
	char dir[PATH_MAX], line[128], buf[24];
	int len;

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_IO, dir, sizeof(dir), err) < 0)
		return -1;
	len = snprintf(line, sizeof(line), "%u:%u", major, minor);
	if (read_bps != VL_CGROUP_UNCHANGED)
		len += snprintf(line + len, sizeof(line) - (size_t)len, " rbps=%s",
		                limit_text(read_bps, buf, sizeof(buf)));
	if (write_bps != VL_CGROUP_UNCHANGED)
		snprintf(line + len, sizeof(line) - (size_t)len, " wbps=%s",
		         limit_text(write_bps, buf, sizeof(buf)));
	return vl_cgroup_write(dir, "io.max", line, err);
}

static int v2_set_io_weight(struct vl_cgroup *cg, unsigned weight, vl_error *err)
{
	char dir[PATH_MAX];

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_IO, dir, sizeof(dir), err) < 0)
		return -1;
	if (vl_cgroup_has_file(dir, "io.weight"))
		return vl_cgroup_writef(dir, "io.weight", err, "default %u", weight);
	/* BFQ's own knob runs 1..1000. */
	if (vl_cgroup_has_file(dir, "io.bfq.weight"))
		return vl_cgroup_writef(dir, "io.bfq.weight", err, "default %u",
		                        1 + ((weight - 1) * 999) / 9999);
	return vl_error_set(err,
	                    "%s has neither io.weight nor io.bfq.weight: the kernel lacks "
	                    "io.cost and the disk's scheduler is not bfq",
	                    dir);
}

static int v2_set_net_classid(struct vl_cgroup *cg, uint32_t classid, vl_error *err)
{
	(void)classid;
	return vl_error_set(err,
	                    "net class ids need the cgroup v1 net_cls controller, which cgroup "
	                    "v2 does not have (%s is a v2 group): match the cgroup path in "
	                    "nftables instead",
	                    cg->name);
}

static int v2_set_device_allowlist(struct vl_cgroup *cg, const struct vl_cgroup_device_rule *rules,
                                   size_t n_rules, vl_error *err)
{
	cleanup_free struct bpf_insn *insns = NULL;
	size_t n_insns = 0;
	char dir[PATH_MAX];

	vl_cgroup_dir(cg, 0, dir, sizeof(dir));
	if (vl_cgroup_bpf_devices_build(rules, n_rules, &insns, &n_insns, err) < 0)
		return -1;
	return vl_cgroup_bpf_devices_attach(dir, insns, n_insns, err);
}

static int v2_freeze(struct vl_cgroup *cg, bool frozen, vl_error *err)
{
	char dir[PATH_MAX];
	struct timespec pause = {0, 1000000};
	int64_t waited = 0;
	uint64_t state = 0;

	vl_cgroup_dir(cg, 0, dir, sizeof(dir));
	/* cgroup.freeze came with Linux 5.2. */
	if (!vl_cgroup_has_file(dir, "cgroup.freeze"))
		return 0;
	if (vl_cgroup_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	while (frozen && waited < FREEZE_TIMEOUT_NS) {
		if (vl_cgroup_read_key(dir, "cgroup.events", "frozen", &state, err) < 0)
			return -1;
		if (state == 1)
			break;
		nanosleep(&pause, NULL);
		waited += pause.tv_nsec;
	}
	return 0;
}

static int v2_kill(struct vl_cgroup *cg, vl_error *err)
{
	char dir[PATH_MAX];

	vl_cgroup_dir(cg, 0, dir, sizeof(dir));
	/* cgroup.kill (Linux 5.14) kills the whole subtree atomically. */
	if (vl_cgroup_has_file(dir, "cgroup.kill"))
		return vl_cgroup_write(dir, "cgroup.kill", "1", err);
	return vl_cgroup_kill_each(cg, err);
}

/* Sums rbytes= and wbytes= over the devices of io.stat. */
static int read_io_stat(const char *dir, uint64_t *read, uint64_t *write, vl_error *err)
{
	char path[PATH_MAX];
	cleanup_free char *text = NULL;
	char *save = NULL;

	snprintf(path, sizeof(path), "%s/io.stat", dir);
	if (vl_read_file(path, &text, NULL, err) < 0)
		return -1;
	*read = *write = 0;
	for (char *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		if (strncmp(tok, "rbytes=", 7) == 0)
			*read += strtoull(tok + 7, NULL, 10);
		else if (strncmp(tok, "wbytes=", 7) == 0)
			*write += strtoull(tok + 7, NULL, 10);
	}
	return 0;
}

static int v2_read_stats(struct vl_cgroup *cg, struct vl_cgroup_stats *out, vl_error *err)
{
	char dir[PATH_MAX];

	vl_cgroup_dir(cg, 0, dir, sizeof(dir));
	/* cpu.stat's usage is core: present without the cpu controller. */
	if (vl_cgroup_read_key(dir, "cpu.stat", "usage_usec", &out->cpu_usec, err) < 0)
		return -1;
	out->have |= VL_CGROUP_STAT_CPU;
	if (vl_cgroup_has_file(dir, "memory.current")) {
		if (vl_cgroup_read_u64(dir, "memory.current", &out->memory_current, err) < 0)
			return -1;
		out->have |= VL_CGROUP_STAT_MEMORY;
	}
	/* memory.peak came with Linux 5.19. */
	if (vl_cgroup_has_file(dir, "memory.peak")) {
		if (vl_cgroup_read_u64(dir, "memory.peak", &out->memory_peak, err) < 0)
			return -1;
		out->have |= VL_CGROUP_STAT_MEMORY_PEAK;
	}
	if (vl_cgroup_has_file(dir, "io.stat")) {
		if (read_io_stat(dir, &out->io_read_bytes, &out->io_write_bytes, err) < 0)
			return -1;
		out->have |= VL_CGROUP_STAT_IO;
	}
	if (vl_cgroup_has_file(dir, "pids.current")) {
		if (vl_cgroup_read_u64(dir, "pids.current", &out->pids_current, err) < 0)
			return -1;
		out->have |= VL_CGROUP_STAT_PIDS;
	}
	return 0;
}

const struct vl_cgroup_ops vl_cgroup_v2_ops = {
        .init_level = v2_init_level,
        .set_cpu_weight = v2_set_cpu_weight,
        .set_cpu_max = v2_set_cpu_max,
        .set_cpuset = v2_set_cpuset,
        .set_memory = v2_set_memory,
        .set_io_bps = v2_set_io_bps,
        .set_io_weight = v2_set_io_weight,
        .set_net_classid = v2_set_net_classid,
        .set_device_allowlist = v2_set_device_allowlist,
        .freeze = v2_freeze,
        .kill = v2_kill,
        .read_stats = v2_read_stats,
};
