/* The escape checks of the container issue, shared by every guest that can
 * run a C function inside itself (virtlab's runtime as its init, LXC through
 * attach). */
#pragma once
#include <sys/types.h>

struct vl_escape_target {
	pid_t host_pid;           /* a host process the guest must not reach */
	const char *guest_marker; /* a file only the guest's root has */
	const char *host_marker;  /* a file only the host's root has */
};

/* Runs inside the guest; returns the number of the first check that let the
 * guest out (100 and up: a check could not be set up), 0 when none did. */
int vl_escape_checks(const struct vl_escape_target *t);
