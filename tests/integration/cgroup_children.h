/* Children the cgroup tests put in a group, shared by test_cgroup_root.c
 * (this host's backend) and cgroup_v2_guest.c (the v2 backend in a VM). */
#pragma once
#include <sys/types.h>
#include "core/error.h"
#include "runtime/cgroup.h"

/* Forks a child that runs fn once it has been moved into cg, and exits with
 * what fn returns. -1 with err set when a step fails: a child that could not
 * be moved is killed and reaped; one that was moved but not released stays
 * in cg, for the group's kill. */
pid_t vl_test_spawn_in(struct vl_cgroup *cg, int (*fn)(void), vl_error *err);

/* Child bodies: spins for ever; forks children that pause until fork fails
 * (the children stay, to be killed with the group) and exits with their
 * count, or 255 when fork failed otherwise than with EAGAIN. */
int vl_test_spin(void);
int vl_test_fork_loop(void);
