/* Starting a guest's init in new namespaces. The parent clones the child,
 * does its own part while the child waits on a socket (uid/gid maps, then the
 * caller's hook: state records, veth), lets it go, and learns from the same
 * socket whether every step of the plan worked: a vl_error message from the
 * child, or end-of-file once execve has closed the socket. */
#pragma once
#include <stddef.h>
#include <sys/types.h>
#include "runtime/container_plan.h"

/* How long the child's set-up may take when the hooks do not say. */
#define VL_CONTAINER_SETUP_TIMEOUT_S 30.0

/* The guest's cgroups, joined by the child itself. Moving another process
 * (its pid written to cgroup.procs) takes the kernel's global threadgroup
 * lock for writing, which waits for an RCU grace period: 9-15 ms per start
 * on the development host. A process moving only itself ("0" written to a v1
 * "tasks" file) skips that lock, and clone3(CLONE_INTO_CGROUP) makes the
 * child in its cgroup2 group at birth (Linux 5.7). */
struct vl_container_cgroup_join {
	int clone_into_fd;    /* a cgroup2 directory, open; -1: none */
	const int *tasks_fds; /* v1 "tasks" files, open for writing */
	size_t n_tasks_fds;
};

struct vl_container_hooks {
	/* Runs in the parent while the child waits, before any of its steps;
	 * may be NULL. A failure kills the child. */
	int (*parent_setup)(pid_t child, void *data, vl_error *err);
	void *data;
	/* Joined by the child first thing, while the parent runs parent_setup;
	 * NULL: the child stays in the caller's cgroups. */
	const struct vl_container_cgroup_join *join;
	/* Seconds from release to execve before the child is killed and the
	 * start fails; 0: VL_CONTAINER_SETUP_TIMEOUT_S. */
	double timeout_s;
};

/* Starts the plan's init. On success *pid is the init's pid on the host and
 * the caller reaps it; on failure the child has been killed and reaped (one
 * stuck in the kernel past the deadline cannot be, and the error says so). */
int vl_container_spawn(const struct vl_container_plan *plan, const struct vl_container_hooks *hooks,
                       pid_t *pid, vl_error *err);
