/* Control groups of one guest: one interface, two backends (cgroup v1 and
 * v2) chosen by detection. Hybrid hosts (v1 controllers plus a cgroup2 mount)
 * use the v1 backend; the group is then also made in the cgroup2 and named
 * (name=systemd) hierarchies so that every process of the guest can be
 * found, killed and accounted wherever the host tracks it.
 *
 * Knob values use the cgroup v2 scales; the v1 backend converts them. A knob
 * whose controller the host lacks fails with an error naming the controller. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/error.h"

#define VL_CGROUP_MAX_HIERARCHIES 16

/* Special values of the int64_t knobs below. */
#define VL_CGROUP_UNCHANGED ((int64_t)-2) /* leave as it is */
#define VL_CGROUP_NO_LIMIT  ((int64_t)-1) /* "max" on v2, -1 or 0 on v1 */

enum vl_cgroup_version {
	VL_CGROUP_V1 = 1,
	VL_CGROUP_V2 = 2,
};

enum vl_cgroup_controller {
	VL_CGROUP_CPU,
	VL_CGROUP_CPUACCT, /* v1 only; part of cpu.stat on v2 */
	VL_CGROUP_CPUSET,
	VL_CGROUP_MEMORY,
	VL_CGROUP_IO, /* "blkio" on v1 */
	VL_CGROUP_PIDS,
	VL_CGROUP_DEVICES, /* v1 only; an eBPF program on v2 */
	VL_CGROUP_FREEZER, /* v1 only; cgroup.freeze on v2 */
	VL_CGROUP_NET_CLS,
	VL_CGROUP_NET_PRIO,
	VL_CGROUP_CONTROLLER_COUNT,
};

struct vl_cgroup_hierarchy {
	char path[PATH_MAX];  /* mount point */
	unsigned controllers; /* bit (1u << enum vl_cgroup_controller) per controller used */
	bool unified;         /* a cgroup2 mount */
};

/* What the host offers. Plain data: copy it freely. */
struct vl_cgroup_host {
	enum vl_cgroup_version version;
	size_t n_hierarchies;
	struct vl_cgroup_hierarchy hierarchies[VL_CGROUP_MAX_HIERARCHIES];
	/* Index into hierarchies of the one holding each controller; -1 when none. */
	int controller_hierarchy[VL_CGROUP_CONTROLLER_COUNT];
};

/* One guest's group, present under the same relative name in every hierarchy. */
struct vl_cgroup;

struct vl_cgroup_memory {
	int64_t max;  /* bytes: v2 memory.max, v1 memory.limit_in_bytes */
	int64_t high; /* bytes: v2 memory.high, v1 memory.soft_limit_in_bytes */
	int64_t swap; /* bytes of swap on top of max: v2 memory.swap.max, v1 memsw = max + swap */
};
#define VL_CGROUP_MEMORY_UNCHANGED                                                                 \
	((struct vl_cgroup_memory){VL_CGROUP_UNCHANGED, VL_CGROUP_UNCHANGED, VL_CGROUP_UNCHANGED})

/* Allows `access` on the devices matched; everything else is denied. */
struct vl_cgroup_device_rule {
	char type;      /* 'a' (any), 'c' (character) or 'b' (block) */
	int64_t major;  /* -1 = any */
	int64_t minor;  /* -1 = any */
	char access[4]; /* a subset of "rwm" */
};

enum {
	VL_CGROUP_STAT_CPU = 1u << 0,
	VL_CGROUP_STAT_MEMORY = 1u << 1,
	VL_CGROUP_STAT_MEMORY_PEAK = 1u << 2,
	VL_CGROUP_STAT_IO = 1u << 3,
	VL_CGROUP_STAT_PIDS = 1u << 4,
};

struct vl_cgroup_stats {
	unsigned have; /* VL_CGROUP_STAT_* bits of the fields this host could fill */
	uint64_t cpu_usec;
	uint64_t memory_current;
	uint64_t memory_peak;
	uint64_t io_read_bytes;
	uint64_t io_write_bytes;
	uint64_t pids_current;
};

/* Reads /proc/self/mountinfo. */
int vl_cgroup_detect(struct vl_cgroup_host *host, vl_error *err);
/* Same from any mountinfo file; mount points are taken relative to `root`
 * ("/" on a real host, a fake tree in tests). */
int vl_cgroup_detect_at(const char *mountinfo_path, const char *root, struct vl_cgroup_host *host,
                        vl_error *err);
/* "cpu", "blkio"/"io", ... as the host's version spells it. */
const char *vl_cgroup_controller_name(enum vl_cgroup_version version, enum vl_cgroup_controller c);

/* Creates `name` (relative, e.g. "virtlab/web1") in every hierarchy, making and
 * preparing missing parents (v1 cpusets get their parent's cpus and mems, v2
 * parents get the controllers in cgroup.subtree_control). Existing groups are
 * reused. *out is freed with vl_cgroup_free(). */
int vl_cgroup_create(const struct vl_cgroup_host *host, const char *name, struct vl_cgroup **out,
                     vl_error *err);
/* Whether group `name` is there in any hierarchy (a killed create may have
 * made it in some only). */
bool vl_cgroup_exists(const struct vl_cgroup_host *host, const char *name);
/* A handle on an existing group (another process made it); fails if absent. */
int vl_cgroup_open(const struct vl_cgroup_host *host, const char *name, struct vl_cgroup **out,
                   vl_error *err);
/* Frees the handle only; the group stays. NULL is fine. */
void vl_cgroup_free(struct vl_cgroup *cg);
const char *vl_cgroup_name(const struct vl_cgroup *cg);
enum vl_cgroup_version vl_cgroup_version(const struct vl_cgroup *cg);
/* The group's directory in the hierarchy holding `c` (NULL when none). */
const char *vl_cgroup_path(const struct vl_cgroup *cg, enum vl_cgroup_controller c, char *buf,
                           size_t size);

int vl_cgroup_attach_pid(struct vl_cgroup *cg, pid_t pid, vl_error *err);

/* 1..10000; v1 cpu.shares = 2 + ((weight - 1) * 262142) / 9999. */
int vl_cgroup_set_cpu_weight(struct vl_cgroup *cg, unsigned weight, vl_error *err);
/* Percent of one CPU per 100 ms period (250 = two and a half CPUs); 0 = no limit. */
int vl_cgroup_set_cpu_max(struct vl_cgroup *cg, double percent, vl_error *err);
/* Lists like "0-3,6"; NULL or "" leaves that one as it is. */
int vl_cgroup_set_cpuset(struct vl_cgroup *cg, const char *cpus, const char *mems, vl_error *err);
int vl_cgroup_set_memory(struct vl_cgroup *cg, const struct vl_cgroup_memory *mem, vl_error *err);
/* device is "MAJ:MIN"; rates in bytes per second, VL_CGROUP_NO_LIMIT or VL_CGROUP_UNCHANGED. */
int vl_cgroup_set_io_bps(struct vl_cgroup *cg, const char *device, int64_t read_bps,
                         int64_t write_bps, vl_error *err);
/* 1..10000 (v2 io.weight scale); v1 blkio.weight = 10 + ((weight - 1) * 990) / 9999. */
int vl_cgroup_set_io_weight(struct vl_cgroup *cg, unsigned weight, vl_error *err);
/* A count or VL_CGROUP_NO_LIMIT. */
int vl_cgroup_set_pids_max(struct vl_cgroup *cg, int64_t max, vl_error *err);
/* v1 net_cls only. */
int vl_cgroup_set_net_classid(struct vl_cgroup *cg, uint32_t classid, vl_error *err);
/* Replaces the device policy: deny all but the rules. */
int vl_cgroup_set_device_allowlist(struct vl_cgroup *cg, const struct vl_cgroup_device_rule *rules,
                                   size_t n_rules, vl_error *err);

int vl_cgroup_read_stats(struct vl_cgroup *cg, struct vl_cgroup_stats *out, vl_error *err);
/* True when no process is left in any hierarchy. */
int vl_cgroup_is_empty(struct vl_cgroup *cg, bool *empty, vl_error *err);
/* SIGKILLs every process of the group (cgroup.kill on v2 when the kernel has
 * it, otherwise freeze, kill each pid in every hierarchy, thaw) and waits
 * until the group is empty. */
int vl_cgroup_kill(struct vl_cgroup *cg, vl_error *err);
/* Removes the group from every hierarchy, retrying while dying processes
 * drain, then its parents that became empty. Absent groups are fine. */
int vl_cgroup_remove(struct vl_cgroup *cg, vl_error *err);
