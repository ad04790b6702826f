/* A guest's set-up as a plan, after bubblewrap and crun: vl_container_plan_build()
 * turns a spec into an ordered list of named steps in the parent (where
 * allocation, validation and seccomp compilation are safe), and
 * vl_container_plan_apply() runs them in the cloned child, stopping at the
 * first failure with the step's name in the error. */
#pragma once
#include <stddef.h>
#include <sys/types.h>
#include "runtime/container_spec.h"
#include "runtime/security.h"

enum vl_step_kind {
	VL_STEP_UNSHARE_CGROUP, /* after the parent's cgroup attach */
	VL_STEP_MAKE_PRIVATE,   /* no mount event reaches the host */
	VL_STEP_MOUNT,          /* mount(source, target in the new root, fstype, flags, data) */
	VL_STEP_BIND_ROOTFS,    /* rootfs onto itself: pivot_root needs a mount point */
	VL_STEP_MKNOD,          /* a /dev node, when the runtime may create one */
	VL_STEP_BIND_DEV,       /* a host /dev node bound in, when mknod is denied (user ns) */
	VL_STEP_SYMLINK,        /* target -> source */
	VL_STEP_PIVOT_ROOT,
	VL_STEP_MASK_PATH, /* /dev/null over a file, an empty read-only tmpfs over a dir */
	VL_STEP_READONLY_PATH,
	VL_STEP_SET_HOSTNAME,
	VL_STEP_LOOPBACK_UP,
	VL_STEP_RESET_SIGNALS,
	VL_STEP_SETUP_FDS,
	VL_STEP_DROP_CAPS,
	VL_STEP_NO_NEW_PRIVS,
	VL_STEP_LOAD_SECCOMP,
};

struct vl_container_step {
	enum vl_step_kind kind;
	char name[96]; /* "mount /proc": for errors and tests */
	char *source;  /* mount source, host device path, symlink contents */
	char *target;  /* relative: inside the new root, resolved without leaving it;
	                * absolute: as it is (a host path before pivot-root) */
	char *fstype;
	char *data;
	unsigned long flags;
	dev_t dev;
};

struct vl_container_plan {
	const struct vl_container_spec *spec; /* borrowed */
	unsigned long clone_flags;
	struct vl_container_step *steps;
	size_t n_steps;
	size_t cap_steps;
	struct sock_fprog seccomp; /* empty when the spec turns seccomp off */
	cap_t caps;
};

/* Validates the spec (bad values are input errors) and builds its plan. */
int vl_container_plan_build(const struct vl_container_spec *spec, struct vl_container_plan *plan,
                            vl_error *err);
void vl_container_plan_free(struct vl_container_plan *plan);
/* In the child: runs every step. sync_fd stays open for error reports; every
 * other descriptor but stdio and spec->keep_fd is closed. */
int vl_container_plan_apply(const struct vl_container_plan *plan, int sync_fd, vl_error *err);
/* The first step of a kind, or NULL: for callers and tests. */
const struct vl_container_step *vl_container_plan_find(const struct vl_container_plan *plan,
                                                       enum vl_step_kind kind);
