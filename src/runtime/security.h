/* Security defaults of a guest: the capability set, no_new_privs and the
 * default seccomp profile. Preparation (which allocates) runs in the parent;
 * the apply functions run in the child just before the init starts. */
#pragma once
#include <stdint.h>
#include <linux/filter.h>
#include <sys/capability.h>
#include "core/error.h"

/* Docker's default capability set without CAP_MKNOD (device nodes are the
 * runtime's job, and a guest that can create one can reach host hardware
 * wherever the device cgroup is absent). Bit n = capability n. */
uint64_t vl_caps_default(void);

/* The capability state the init runs with: effective = permitted = keep,
 * inheritable empty. *out is freed with cap_free(). */
int vl_caps_prepare(uint64_t keep, cap_t *out, vl_error *err);
/* Drops every capability outside keep from the bounding set, installs the
 * prepared state and clears the ambient set. */
int vl_caps_apply(uint64_t keep, cap_t prepared, vl_error *err);
int vl_set_no_new_privs(vl_error *err);

/* One syscall the default profile refuses; when arg0_mask is non-zero, only
 * calls whose first argument has one of those bits set are refused. */
struct vl_seccomp_rule {
	const char *syscall;
	int errnum;
	uint64_t arg0_mask;
};
extern const struct vl_seccomp_rule vl_seccomp_default_rules[];

/* Compiles the default profile (Docker's and LXC's denials, answered with
 * EPERM) to a classic BPF program; out->filter is freed with
 * vl_seccomp_program_free(). */
int vl_seccomp_default_program(struct sock_fprog *out, vl_error *err);
void vl_seccomp_program_free(struct sock_fprog *prog);
/* Installs a program on the calling thread; needs no_new_privs or CAP_SYS_ADMIN. */
int vl_seccomp_load(const struct sock_fprog *prog, vl_error *err);
