/* Starting a guest's init in new namespaces. The parent clones the child,
 * does its own part while the child waits on a socket (uid/gid maps, then the
 * caller's hook: cgroup attach, veth), lets it go, and learns from the same
 * socket whether every step of the plan worked: a vl_error message from the
 * child, or end-of-file once execve has closed the socket. */
#pragma once
#include <sys/types.h>
#include "runtime/container_plan.h"

struct vl_container_hooks {
	/* Runs in the parent while the child waits, before any of its steps;
	 * may be NULL. A failure kills the child. */
	int (*parent_setup)(pid_t child, void *data, vl_error *err);
	void *data;
};

/* Starts the plan's init. On success *pid is the init's pid on the host and
 * the caller reaps it; on failure no child is left. */
int vl_container_spawn(const struct vl_container_plan *plan, const struct vl_container_hooks *hooks,
                       pid_t *pid, vl_error *err);
