/* Inside the cgroup layer: the handle, the backend operations table and the
 * helpers both backends share. Only src/runtime/cgroup*.c and the cgroup
 * tests include this. */
#pragma once
#include <linux/bpf.h>
#include "runtime/cgroup.h"

struct vl_cgroup {
	struct vl_cgroup_host host;
	char name[PATH_MAX];
};

/* Arguments arrive validated and converted to the v2 scales by cgroup.c. */
struct vl_cgroup_ops {
	/* Called for each level of the group's path after its mkdir, in
	 * hierarchy h, so that the new directory can take processes. */
	int (*init_level)(const struct vl_cgroup_hierarchy *h, const char *parent, const char *dir,
	                  vl_error *err);
	int (*set_cpu_weight)(struct vl_cgroup *cg, unsigned weight, vl_error *err);
	/* quota_us is VL_CGROUP_NO_LIMIT or at least 1000. */
	int (*set_cpu_max)(struct vl_cgroup *cg, int64_t quota_us, int64_t period_us,
	                   vl_error *err);
	int (*set_cpuset)(struct vl_cgroup *cg, const char *cpus, const char *mems, vl_error *err);
	int (*set_memory)(struct vl_cgroup *cg, const struct vl_cgroup_memory *mem, vl_error *err);
	int (*set_io_bps)(struct vl_cgroup *cg, unsigned major, unsigned minor, int64_t read_bps,
	                  int64_t write_bps, vl_error *err);
	int (*set_io_weight)(struct vl_cgroup *cg, unsigned weight, vl_error *err);
	int (*set_net_classid)(struct vl_cgroup *cg, uint32_t classid, vl_error *err);
	int (*set_device_allowlist)(struct vl_cgroup *cg, const struct vl_cgroup_device_rule *rules,
	                            size_t n_rules, vl_error *err);
	/* Best effort: a host without a freezer makes this a no-op. */
	int (*freeze)(struct vl_cgroup *cg, bool frozen, vl_error *err);
	/* Sends SIGKILL to every process; the caller waits for the group to drain. */
	int (*kill)(struct vl_cgroup *cg, vl_error *err);
	int (*read_stats)(struct vl_cgroup *cg, struct vl_cgroup_stats *out, vl_error *err);
};

extern const struct vl_cgroup_ops vl_cgroup_v1_ops;
extern const struct vl_cgroup_ops vl_cgroup_v2_ops;

/* cgroup.c */
/* The group's directory in hierarchy index i. */
void vl_cgroup_dir(const struct vl_cgroup *cg, size_t i, char *buf, size_t size);
/* The group's directory for controller c; fails naming the controller when
 * the host (v1) or the group's parent (v2) does not provide it. */
int vl_cgroup_controller_dir(const struct vl_cgroup *cg, enum vl_cgroup_controller c, char *buf,
                             size_t size, vl_error *err);
/* dir/file = value through vl_write_string(); errors name the file and value. */
int vl_cgroup_write(const char *dir, const char *file, const char *value, vl_error *err);
int vl_cgroup_writef(const char *dir, const char *file, vl_error *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* First line of dir/file. */
int vl_cgroup_read(const char *dir, const char *file, char *buf, size_t size, vl_error *err);
int vl_cgroup_read_u64(const char *dir, const char *file, uint64_t *out, vl_error *err);
/* The value of `key` in a flat keyed file ("usage_usec 12" lines). */
int vl_cgroup_read_key(const char *dir, const char *file, const char *key, uint64_t *out,
                       vl_error *err);
bool vl_cgroup_has_file(const char *dir, const char *file);
/* Whether a space-separated list (cgroup.controllers) holds word. */
bool vl_cgroup_list_has(const char *list, const char *word);
/* Freezes, SIGKILLs each pid listed in every hierarchy, thaws; repeats until
 * no process is left or a timeout passes. */
int vl_cgroup_kill_each(struct vl_cgroup *cg, vl_error *err);

/* cgroup_bpf_devices.c: the v2 device policy as a BPF_PROG_TYPE_CGROUP_DEVICE program. */
/* *insns is malloc'ed. */
int vl_cgroup_bpf_devices_build(const struct vl_cgroup_device_rule *rules, size_t n_rules,
                                struct bpf_insn **insns, size_t *n_insns, vl_error *err);
/* Loads the program and attaches it to the cgroup2 directory dir in place of
 * the device programs attached there before. */
int vl_cgroup_bpf_devices_attach(const char *dir, const struct bpf_insn *insns, size_t n_insns,
                                 vl_error *err);
