/* What the commands that work on a recorded guest share (guest, entitle,
 * run --guest): finding a platform, locking and loading a guest, saying
 * which operation a platform lacks. */
#pragma once
#include <stdbool.h>
#include "core/error.h"
#include "platforms/platform.h"

struct vl_cli_guest {
	struct vl_guest *g;
	char status[32]; /* from the record: provisioning, provisioned, running, stopped */
	int lock_fd;
};

/* A platform by name that can run here; input error naming the platforms. */
int vl_cli_find_platform(const char *name, const struct vl_platform **out, vl_error *err);
/* Locks guest NAME without waiting ("busy" otherwise) and loads its record. */
int vl_cli_guest_open(const char *name, struct vl_cli_guest *out, vl_error *err);
/* Frees the guest and releases the lock. */
void vl_cli_guest_close(struct vl_cli_guest *cg);
/* "platform X cannot OP" (exit 1) when the operation is missing. */
int vl_cli_guest_need_op(const struct vl_cli_guest *cg, bool present, const char *op,
                         vl_error *err);
int vl_cli_guest_need_running(const struct vl_cli_guest *cg, vl_error *err);
/* Applies the spec's CPU weight and limit, if any, through apply_entitlement. */
int vl_cli_guest_apply_cpu_policy(struct vl_guest *g, vl_error *err);

/* `virtlab guest exec` (cmd_guest_exec.c); argv[0] is "exec". */
int vl_cli_guest_exec(int argc, char **argv);
