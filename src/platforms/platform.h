/* The platform interface: one file per platform, one const struct vl_platform
 * each, listed once in registry.c. Optional operations may be NULL; a
 * platform that cannot run on this host says why in its probe. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <jansson.h>
#include "core/error.h"

#define VL_NAME_MAX 64

struct vl_probe {
	bool usable;
	char reason[256]; /* why not usable, or a caveat ("no /dev/kvm: TCG") */
	char accel[16];   /* "native", "kvm", "tcg", "xen" ... */
};

struct vl_guest_spec {
	char name[VL_NAME_MAX];
	char image[VL_NAME_MAX]; /* "" = the platform's default image */
	unsigned cpus;           /* 0 = platform default */
	char cpuset[64];         /* "" = any */
	uint64_t memory_bytes;   /* 0 = platform default / unlimited */
	unsigned pids_max;       /* 0 = platform default */
	/* Where disk workloads put their files, as the guest sees it; "" = the
	 * agent's default (its current directory). */
	char workdir[PATH_MAX];
	/* CPU policy from `virtlab guest create` or `entitle`: the CLI applies it
	 * through apply_entitlement after each start. 0 = none. */
	unsigned cpu_weight;
	double cpu_max_pct;
	/* Network (thesis 4.4; platforms/guest_net.h): the id of a network
	 * topology that is up (runtime/topology.h) that start attaches the guest
	 * to; "" = none (a container keeps a network namespace with only
	 * loopback, a qemu guest has no NIC). net_mode, when set ("nat" or
	 * "bridged"), must be that topology's mode. */
	char net_topology[8];
	char net_mode[8];
};

/* A policy from chapter 6; zero / empty fields are left as they are. */
struct vl_entitlement {
	unsigned cpu_weight; /* cgroup v2 scale 1..10000; v1 shares are converted */
	double cpu_max_pct;  /* percent of one CPU; 0 = unlimited */
	char cpuset[64];
	char mems[64];
	uint64_t memory_bytes;
	char io_device[32]; /* "MAJ:MIN" for the throttles below */
	uint64_t io_read_bps;
	uint64_t io_write_bps;
	unsigned pids_max;
	uint32_t net_classid;
};

struct vl_footprint {
	uint64_t rss_bytes;
	uint64_t pss_bytes;
	uint64_t cgroup_memory_bytes;
};

struct vl_guest {
	const struct vl_platform *platform;
	struct vl_guest_spec spec;
	/* Where the platform keeps this guest's files: <data root>/guests/<name>
	 * (state.h: vl_data_root). */
	char state_dir[PATH_MAX];
	void *priv; /* platform-owned, this process only */
	/* Platform-owned facts that must outlive this process (init pid, cgroup
	 * name, socket paths); saved in guest.json by vl_state_save. */
	json_t *record;
};

struct vl_platform {
	const char *name;
	const char *summary;
	/* Its guests outlive the virtlab process that started them, so
	 * `virtlab guest start` can leave them running. */
	bool persistent;
	void (*probe)(struct vl_probe *out);
	/* Builds what the guest needs (image, disk) and its state record. */
	int (*provision)(struct vl_guest *g, vl_error *err);
	int (*clone)(struct vl_guest *src, struct vl_guest *dst, bool full_copy, vl_error *err);
	/* Starts the guest; returns once its agent can be reached. */
	int (*start)(struct vl_guest *g, vl_error *err);
	int (*stop)(struct vl_guest *g, vl_error *err);
	int (*reboot)(struct vl_guest *g, vl_error *err);
	/* Releases everything provision and start made; safe on a half-made guest. */
	int (*destroy)(struct vl_guest *g, vl_error *err);
	/* Removes what the platform's guests share on the host and no guest needs
	 * now (LXC's pivot group for its monitors); optional. Called outside any
	 * timing: by vl_guest_destroy, after the operations experiment's round,
	 * and by `virtlab cleanup`. */
	int (*release_host)(vl_error *err);
	/* A bidirectional byte stream to the guest's agent; the caller owns the fd. */
	int (*open_channel)(struct vl_guest *g, int *fd, vl_error *err);
	int (*apply_entitlement)(struct vl_guest *g, const struct vl_entitlement *e, vl_error *err);
	int (*footprint)(struct vl_guest *g, struct vl_footprint *out, vl_error *err);
};

/* registry.c */
const struct vl_platform *vl_platform_find(const char *name);
const struct vl_platform *const *vl_platform_all(size_t *count);

/* guest.c: lifetime of the struct itself; platform ops do the rest. */
int vl_guest_new(const struct vl_platform *p, const struct vl_guest_spec *spec,
                 struct vl_guest **out, vl_error *err);
void vl_guest_free(struct vl_guest *g);
/* One request to the guest's agent over a fresh open_channel (hello when a
 * platform waits for its guest, shutdown when it stops it). result may be NULL. */
int vl_guest_agent_call(struct vl_guest *g, const char *op, double timeout_s, json_t **result,
                        vl_error *err);
/* The platform's destroy (when it has one), then its release_host. */
int vl_guest_destroy(struct vl_guest *g, vl_error *err);
/* p's release_host, when it has one. */
int vl_platform_release_host(const struct vl_platform *p, vl_error *err);
/* A reboot that is a stop and a start: the reboot op of platforms whose init,
 * the agent, exits rather than reboots. */
int vl_guest_stop_start(struct vl_guest *g, vl_error *err);
