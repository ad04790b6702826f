/* The cgroup v1 backend: one hierarchy per controller (or co-mounted group of
 * controllers); knob values arrive on the v2 scales and are converted here. */
#include "runtime/cgroup_backend.h"
#include "core/cleanup.h"
#include "core/file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FREEZE_TIMEOUT_NS 1000000000LL

/* New v1 cpusets start with empty cpus and mems and refuse processes until
 * they are given some: inherit the parent's. */
static int v1_init_level(const struct vl_cgroup_hierarchy *h, const char *parent, const char *dir,
                         vl_error *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

	if (!(h->controllers & (1u << VL_CGROUP_CPUSET)))
		return 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char mine[4096], theirs[4096];
		if (vl_cgroup_read(dir, files[i], mine, sizeof(mine), err) < 0)
			return -1;
		if (mine[0])
			continue;
		if (vl_cgroup_read(parent, files[i], theirs, sizeof(theirs), err) < 0 ||
		    vl_cgroup_write(dir, files[i], theirs, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_set_cpu_weight(struct vl_cgroup *cg, unsigned weight, vl_error *err)
{
	char dir[PATH_MAX];
	/* The mapping crun and runc use: 1 -> 2, 100 -> 2597, 10000 -> 262144. */
	uint64_t shares = 2 + ((uint64_t)(weight - 1) * 262142) / 9999;

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_CPU, dir, sizeof(dir), err) < 0)
		return -1;
	return vl_cgroup_writef(dir, "cpu.shares", err, "%" PRIu64, shares);
}

static int v1_set_cpu_max(struct vl_cgroup *cg, int64_t quota_us, int64_t period_us, vl_error *err)
{
	char dir[PATH_MAX];

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_CPU, dir, sizeof(dir), err) < 0)
		return -1;
	if (vl_cgroup_writef(dir, "cpu.cfs_period_us", err, "%" PRId64, period_us) < 0)
		return -1;
	return vl_cgroup_writef(dir, "cpu.cfs_quota_us", err, "%" PRId64, quota_us);
}

static int v1_set_cpuset(struct vl_cgroup *cg, const char *cpus, const char *mems, vl_error *err)
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

/* v1 spells "no limit" as -1 and reads it back as a huge number. */
static int64_t as_bytes(int64_t limit)
{
	return limit == VL_CGROUP_NO_LIMIT ? INT64_MAX : limit;
}

static int v1_set_memory(struct vl_cgroup *cg, const struct vl_cgroup_memory *mem, vl_error *err)
{
	char dir[PATH_MAX];
	int64_t limit = mem->max, memsw = VL_CGROUP_UNCHANGED;

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_MEMORY, dir, sizeof(dir), err) < 0)
		return -1;
	if (mem->swap != VL_CGROUP_UNCHANGED) {
		if (!vl_cgroup_has_file(dir, "memory.memsw.limit_in_bytes"))
			return vl_error_set(err,
			                    "%s/memory.memsw.limit_in_bytes is missing: the "
			                    "kernel lacks swap accounting (boot with "
			                    "swapaccount=1) so swap cannot be limited",
			                    dir);
		if (limit == VL_CGROUP_UNCHANGED) {
			uint64_t current;
			if (vl_cgroup_read_u64(dir, "memory.limit_in_bytes", &current, err) < 0)
				return -1;
			limit = current >= INT64_MAX / 2 ? VL_CGROUP_NO_LIMIT : (int64_t)current;
		}
		/* v1 limits memory plus swap together. */
		memsw = limit == VL_CGROUP_NO_LIMIT || mem->swap == VL_CGROUP_NO_LIMIT
		                ? VL_CGROUP_NO_LIMIT
		                : limit + mem->swap;
	}
	if (memsw != VL_CGROUP_UNCHANGED) {
		uint64_t current_memsw;
		if (vl_cgroup_read_u64(dir, "memory.memsw.limit_in_bytes", &current_memsw, err) < 0)
			return -1;
		/* The kernel keeps memsw >= limit at every step: raise memsw first
		 * when the new limit would pass the old memsw. */
		if ((uint64_t)as_bytes(limit) > current_memsw) {
			if (vl_cgroup_writef(dir, "memory.memsw.limit_in_bytes", err, "%" PRId64,
			                     memsw) < 0 ||
			    vl_cgroup_writef(dir, "memory.limit_in_bytes", err, "%" PRId64, limit) <
			            0)
				return -1;
		} else if (vl_cgroup_writef(dir, "memory.limit_in_bytes", err, "%" PRId64, limit) <
		                   0 ||
		           vl_cgroup_writef(dir, "memory.memsw.limit_in_bytes", err, "%" PRId64,
		                            memsw) < 0) {
			return -1;
		}
	} else if (limit != VL_CGROUP_UNCHANGED &&
	           vl_cgroup_writef(dir, "memory.limit_in_bytes", err, "%" PRId64, limit) < 0) {
		return -1;
	}
	if (mem->high != VL_CGROUP_UNCHANGED &&
	    vl_cgroup_writef(dir, "memory.soft_limit_in_bytes", err, "%" PRId64, mem->high) < 0)
		return -1;
	return 0;
}

static int v1_set_io_bps(struct vl_cgroup *cg, unsigned major, unsigned minor, int64_t read_bps,
                         int64_t write_bps, vl_error *err)
{
	char dir[PATH_MAX];
	const char *files[] = {"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"};
	int64_t rates[] = {read_bps, write_bps};

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_IO, dir, sizeof(dir), err) < 0)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		if (rates[i] == VL_CGROUP_UNCHANGED)
			continue;
		/* A zero rate removes the device's rule. */
		if (vl_cgroup_writef(dir, files[i], err, "%u:%u %" PRId64, major, minor,
		                     rates[i] == VL_CGROUP_NO_LIMIT ? 0 : rates[i]) < 0)
			return -1;
	}
	return 0;
}

static int v1_set_io_weight(struct vl_cgroup *cg, unsigned weight, vl_error *err)
{
	char dir[PATH_MAX];
	/* blkio.weight runs 10..1000; the v2 scale 1..10000 maps onto it linearly. */
	unsigned v1_weight = 10 + ((weight - 1) * 990) / 9999;

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_IO, dir, sizeof(dir), err) < 0)
		return -1;
	if (vl_cgroup_has_file(dir, "blkio.weight"))
		return vl_cgroup_writef(dir, "blkio.weight", err, "%u", v1_weight);
	if (vl_cgroup_has_file(dir, "blkio.bfq.weight"))
		return vl_cgroup_writef(dir, "blkio.bfq.weight", err, "%u", v1_weight);
	return vl_error_set(err,
	                    "%s has neither blkio.weight nor blkio.bfq.weight: the disk's I/O "
	                    "scheduler does not support weights (use bfq)",
	                    dir);
}

static int v1_set_net_classid(struct vl_cgroup *cg, uint32_t classid, vl_error *err)
{
	char dir[PATH_MAX];

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_NET_CLS, dir, sizeof(dir), err) < 0)
		return -1;
	return vl_cgroup_writef(dir, "net_cls.classid", err, "%" PRIu32, classid);
}

static int v1_set_device_allowlist(struct vl_cgroup *cg, const struct vl_cgroup_device_rule *rules,
                                   size_t n_rules, vl_error *err)
{
	char dir[PATH_MAX];

	if (vl_cgroup_controller_dir(cg, VL_CGROUP_DEVICES, dir, sizeof(dir), err) < 0)
		return -1;
	if (vl_cgroup_write(dir, "devices.deny", "a", err) < 0)
		return -1;
	for (size_t i = 0; i < n_rules; i++) {
		const struct vl_cgroup_device_rule *r = &rules[i];
		char major[24] = "*", minor[24] = "*";

		if (r->major >= 0)
			snprintf(major, sizeof(major), "%" PRId64, r->major);
		if (r->minor >= 0)
			snprintf(minor, sizeof(minor), "%" PRId64, r->minor);
		if (vl_cgroup_writef(dir, "devices.allow", err, "%c %s:%s %s", r->type, major,
		                     minor, r->access) < 0)
			return -1;
	}
	return 0;
}

static int v1_freeze(struct vl_cgroup *cg, bool frozen, vl_error *err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	char dir[PATH_MAX], state[32];
	int64_t waited = 0;
	struct timespec pause = {0, 1000000};

	if (cg->host.controller_hierarchy[VL_CGROUP_FREEZER] < 0)
		return 0;
	if (vl_cgroup_controller_dir(cg, VL_CGROUP_FREEZER, dir, sizeof(dir), err) < 0 ||
	    vl_cgroup_write(dir, "freezer.state", want, err) < 0)
		return -1;
	/* FREEZING until every task stops; one stuck in the kernel may never, and
	 * killing then is still better than waiting. */
	while (frozen && waited < FREEZE_TIMEOUT_NS) {
		if (vl_cgroup_read(dir, "freezer.state", state, sizeof(state), err) < 0)
			return -1;
		if (strcmp(state, want) == 0)
			break;
		nanosleep(&pause, NULL);
		waited += pause.tv_nsec;
	}
	return 0;
}

/* Sums the Read and Write lines ("8:0 Read 4096") of blkio.throttle.io_service_bytes. */
static int read_blkio_bytes(const char *dir, uint64_t *read, uint64_t *write, vl_error *err)
{
	char path[PATH_MAX];
	cleanup_free char *text = NULL;
	char *save = NULL;

	snprintf(path, sizeof(path), "%s/blkio.throttle.io_service_bytes", dir);
	if (vl_read_file(path, &text, NULL, err) < 0)
		return -1;
	*read = *write = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dev[32], op[16];
		uint64_t value;
		if (sscanf(line, "%31s %15s %" SCNu64, dev, op, &value) != 3)
			continue;
		if (strcmp(op, "Read") == 0)
			*read += value;
		else if (strcmp(op, "Write") == 0)
			*write += value;
	}
	return 0;
}

static int v1_read_stats(struct vl_cgroup *cg, struct vl_cgroup_stats *out, vl_error *err)
{
	char dir[PATH_MAX];
	uint64_t ns;

	if (vl_cgroup_path(cg, VL_CGROUP_CPUACCT, dir, sizeof(dir))) {
		if (vl_cgroup_read_u64(dir, "cpuacct.usage", &ns, err) < 0)
			return -1;
		out->cpu_usec = ns / 1000;
		out->have |= VL_CGROUP_STAT_CPU;
	}
	if (vl_cgroup_path(cg, VL_CGROUP_MEMORY, dir, sizeof(dir))) {
		if (vl_cgroup_read_u64(dir, "memory.usage_in_bytes", &out->memory_current, err) <
		            0 ||
		    vl_cgroup_read_u64(dir, "memory.max_usage_in_bytes", &out->memory_peak, err) <
		            0)
			return -1;
		out->have |= VL_CGROUP_STAT_MEMORY | VL_CGROUP_STAT_MEMORY_PEAK;
	}
	if (vl_cgroup_path(cg, VL_CGROUP_IO, dir, sizeof(dir))) {
		if (read_blkio_bytes(dir, &out->io_read_bytes, &out->io_write_bytes, err) < 0)
			return -1;
		out->have |= VL_CGROUP_STAT_IO;
	}
	if (vl_cgroup_path(cg, VL_CGROUP_PIDS, dir, sizeof(dir))) {
		if (vl_cgroup_read_u64(dir, "pids.current", &out->pids_current, err) < 0)
			return -1;
		out->have |= VL_CGROUP_STAT_PIDS;
	}
	return 0;
}

const struct vl_cgroup_ops vl_cgroup_v1_ops = {
        .init_level = v1_init_level,
        .set_cpu_weight = v1_set_cpu_weight,
        .set_cpu_max = v1_set_cpu_max,
        .set_cpuset = v1_set_cpuset,
        .set_memory = v1_set_memory,
        .set_io_bps = v1_set_io_bps,
        .set_io_weight = v1_set_io_weight,
        .set_net_classid = v1_set_net_classid,
        .set_device_allowlist = v1_set_device_allowlist,
        .freeze = v1_freeze,
        .kill = vl_cgroup_kill_each,
        .read_stats = v1_read_stats,
};
