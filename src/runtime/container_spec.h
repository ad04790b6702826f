/* What a guest's isolation needs from the built-in container runtime: the
 * root filesystem, the namespaces, the init to run as PID 1 and the security
 * defaults. The container platform fills one of these per start; the runtime
 * turns it into a plan of steps (container_plan.h) applied in the child.
 * Every pointer is borrowed and must outlive vl_container_spawn(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include "core/error.h"

enum vl_container_ns {
	VL_NS_MOUNT = 1u << 0,
	VL_NS_UTS = 1u << 1,
	VL_NS_IPC = 1u << 2,
	VL_NS_PID = 1u << 3,
	VL_NS_NET = 1u << 4,
	VL_NS_CGROUP = 1u << 5,
	VL_NS_USER = 1u << 6, /* rootless mode: needs uid/gid maps */
};

/* Every namespace but the user namespace: what a root-run guest gets. */
#define VL_NS_DEFAULT (VL_NS_MOUNT | VL_NS_UTS | VL_NS_IPC | VL_NS_PID | VL_NS_NET | VL_NS_CGROUP)

#define VL_CONTAINER_MAX_ID_MAPS 4

/* One line of /proc/PID/uid_map or gid_map. */
struct vl_id_map {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

/* An overlay mounted as the root filesystem inside the guest's own mount
 * namespace, so that no host-visible mount outlives the guest. */
struct vl_container_overlay {
	const char *lower; /* the golden image directory */
	const char *upper;
	const char *work; /* on the same filesystem as upper */
};

struct vl_container_spec {
	/* The directory that becomes /; with an overlay, its mount point. */
	const char *rootfs;
	struct vl_container_overlay overlay; /* lower == NULL: rootfs is used as it is */
	const char *hostname;                /* set in the UTS namespace; NULL keeps it */
	unsigned namespaces;                 /* enum vl_container_ns bits */

	/* The guest's init (the agent), run as PID 1: argv[0] is a path inside
	 * the guest. envp NULL means an empty environment. */
	char *const *argv;
	char *const *envp;
	/* Instead of argv: a function run as PID 1 after every step, its return
	 * value the exit status. For tests that probe the isolation from C. */
	int (*init_fn)(void *arg);
	void *init_arg;

	int keep_fd;  /* inherited by the init (the agent channel), -1 none; must be > 2 */
	int stdio[3]; /* dup'ed onto 0, 1, 2 of the init; -1 inherits the caller's */

	/* Rootless mode; empty maps under VL_NS_USER map root to the caller. */
	struct vl_id_map uid_map[VL_CONTAINER_MAX_ID_MAPS];
	size_t n_uid_map;
	struct vl_id_map gid_map[VL_CONTAINER_MAX_ID_MAPS];
	size_t n_gid_map;

	/* NULL-terminated path lists inside the guest; missing paths are skipped. */
	const char *const *masked_paths;
	const char *const *readonly_paths;
	/* NULL-terminated names of /dev nodes (vl_container_device_lookup()). */
	const char *const *devices;

	uint64_t capabilities; /* bit n = capability n kept in every set */
	bool seccomp;          /* load vl_seccomp_default_filter() */
	bool no_new_privs;
};

/* Fills a spec with the secure defaults (VL_NS_DEFAULT, crun's masked and
 * read-only paths, the minimal /dev, Docker's default capabilities without
 * CAP_MKNOD, seccomp, no_new_privs); the caller sets rootfs and argv. */
void vl_container_spec_init(struct vl_container_spec *spec);

extern const char *const vl_container_default_masked_paths[];
extern const char *const vl_container_default_readonly_paths[];
extern const char *const vl_container_default_devices[];

/* Major and minor of a /dev node the runtime may give a guest; -1 and an
 * input error for a name outside the allow-list. The cgroup device rules are
 * built from the same table. */
int vl_container_device_lookup(const char *name, unsigned *major, unsigned *minor, vl_error *err);
