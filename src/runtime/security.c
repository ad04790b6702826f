#include "runtime/security.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include "core/cleanup.h"

uint64_t vl_caps_default(void)
{
	static const cap_value_t docker_default[] = {
	        CAP_CHOWN,       CAP_DAC_OVERRIDE,     CAP_FSETID,     CAP_FOWNER,
	        CAP_NET_RAW,     CAP_SETGID,           CAP_SETUID,     CAP_SETFCAP,
	        CAP_SETPCAP,     CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,
	        CAP_AUDIT_WRITE,
	};
	uint64_t set = 0;

	for (size_t i = 0; i < sizeof(docker_default) / sizeof(docker_default[0]); i++)
		set |= UINT64_C(1) << docker_default[i];
	return set;
}

int vl_caps_prepare(uint64_t keep, cap_t *out, vl_error *err)
{
	cap_t caps = cap_init();
	cap_value_t list[64];
	int n = 0;

	if (!caps)
		return vl_error_errno(err, errno, "allocating a capability state");
	/* Bits above the kernel's last capability, and capabilities outside our
	 * own bounding set (a guest cannot hold what its creator lacks), are
	 * left out, so ~0 means "all we have". */
	for (cap_value_t c = 0; c < 64 && c < (cap_value_t)cap_max_bits(); c++)
		if ((keep & (UINT64_C(1) << c)) && cap_get_bound(c) == 1)
			list[n++] = c;
	if (n > 0 && (cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET) < 0 ||
	              cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET) < 0)) {
		int e = errno;
		cap_free(caps);
		return vl_error_errno(err, e, "building the capability set");
	}
	*out = caps;
	return 0;
}

int vl_caps_apply(uint64_t keep, cap_t prepared, vl_error *err)
{
	/* The bounding set first: it is what stops an execve of a file with
	 * capabilities (or of anything, as root) from regaining the rest. */
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		if (c < 64 && (keep & (UINT64_C(1) << c)))
			continue;
		if (cap_drop_bound(c) < 0 && errno != EINVAL)
			return vl_error_errno(err, errno,
			                      "dropping capability %d from the bounding set", c);
	}
	if (cap_set_proc(prepared) < 0)
		return vl_error_errno(err, errno, "setting the capability sets");
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return vl_error_errno(err, errno, "clearing the ambient capabilities");
	return 0;
}

int vl_set_no_new_privs(vl_error *err)
{
	/* setuid binaries and file capabilities stop granting anything, and an
	 * unprivileged process may then install seccomp filters. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vl_error_errno(err, errno, "setting no_new_privs");
	return 0;
}

/* Docker's default profile (moby/moby profiles/seccomp/default.json) allows a
 * list and refuses the rest; LXC's common.seccomp refuses a short list. This
 * is the union of what they refuse to a guest without CAP_SYS_ADMIN, kept as a
 * denylist so that workloads see the full syscall surface otherwise. */
const struct vl_seccomp_rule vl_seccomp_default_rules[] = {
        /* Kernel code and kernel memory. */
        {"kexec_load", EPERM, 0},
        {"kexec_file_load", EPERM, 0},
        {"init_module", EPERM, 0},
        {"finit_module", EPERM, 0},
        {"delete_module", EPERM, 0},
        {"create_module", EPERM, 0},
        {"get_kernel_syms", EPERM, 0},
        {"query_module", EPERM, 0},
        {"bpf", EPERM, 0},
        {"perf_event_open", EPERM, 0},
        {"lookup_dcookie", EPERM, 0},
        {"iopl", EPERM, 0},
        {"ioperm", EPERM, 0},
        {"uselib", EPERM, 0},
        {"_sysctl", EPERM, 0},
        {"sysfs", EPERM, 0},
        {"ustat", EPERM, 0},
        {"nfsservctl", EPERM, 0},
        {"vm86", EPERM, 0},
        {"vm86old", EPERM, 0},
        /* Host file handles bypass the mount namespace (the "shocker" escape). */
        {"open_by_handle_at", EPERM, 0},
        {"name_to_handle_at", EPERM, 0},
        /* The kernel keyring is not namespaced. */
        {"keyctl", EPERM, 0},
        {"add_key", EPERM, 0},
        {"request_key", EPERM, 0},
        /* Other processes' memory. */
        {"ptrace", EPERM, 0},
        {"process_vm_readv", EPERM, 0},
        {"process_vm_writev", EPERM, 0},
        {"userfaultfd", EPERM, 0},
        /* The mount table is final once the runtime has built it. */
        {"mount", EPERM, 0},
        {"umount", EPERM, 0},
        {"umount2", EPERM, 0},
        {"pivot_root", EPERM, 0},
        {"fsopen", EPERM, 0},
        {"fsconfig", EPERM, 0},
        {"fsmount", EPERM, 0},
        {"fspick", EPERM, 0},
        {"move_mount", EPERM, 0},
        {"open_tree", EPERM, 0},
        {"mount_setattr", EPERM, 0},
        /* Host-wide state: swap, clocks, accounting, quotas, the kernel log, reboot. */
        {"swapon", EPERM, 0},
        {"swapoff", EPERM, 0},
        {"reboot", EPERM, 0},
        {"settimeofday", EPERM, 0},
        {"stime", EPERM, 0},
        {"clock_settime", EPERM, 0},
        {"clock_adjtime", EPERM, 0},
        {"adjtimex", EPERM, 0},
        {"acct", EPERM, 0},
        {"quotactl", EPERM, 0},
        {"quotactl_fd", EPERM, 0},
        {"syslog", EPERM, 0},
        /* New namespaces: a user namespace would hand back every capability
         * inside it, and joining one (setns) could reach the host's. */
        {"setns", EPERM, 0},
        {"unshare", EPERM, CLONE_NEWUSER},
        {"clone", EPERM, CLONE_NEWUSER},
        /* clone3 passes its flags in memory, out of a filter's reach; ENOSYS
         * makes libc fall back to clone, whose flags are checked above. */
        {"clone3", ENOSYS, 0},
        {NULL, 0, 0},
};

/* personality(2) may not switch ASLR off (Docker allows only the plain
 * personalities). 0xffffffff only queries; bit 31 is no personality flag, so
 * "ASLR bit set, bit 31 clear" is one comparison (libseccomp refuses two on
 * the same argument). */
static int add_personality_rule(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(
	        ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
	        SCMP_A0(SCMP_CMP_MASKED_EQ, ADDR_NO_RANDOMIZE | 0x80000000u, ADDR_NO_RANDOMIZE));
}

static int add_rules(scmp_filter_ctx ctx, vl_error *err)
{
	int rc;

	for (const struct vl_seccomp_rule *r = vl_seccomp_default_rules; r->syscall; r++) {
		int nr = seccomp_syscall_resolve_name(r->syscall);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall of this architecture */
		if (r->arg0_mask)
			rc = seccomp_rule_add(
			        ctx, SCMP_ACT_ERRNO(r->errnum), nr, 1,
			        SCMP_A0(SCMP_CMP_MASKED_EQ, r->arg0_mask, r->arg0_mask));
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(r->errnum), nr, 0);
		if (rc < 0)
			return vl_error_errno(err, -rc, "adding the seccomp rule for %s",
			                      r->syscall);
	}
	rc = add_personality_rule(ctx);
	if (rc < 0)
		return vl_error_errno(err, -rc, "adding the seccomp rule for personality");
	return 0;
}

/* libseccomp 2.5 exports only to an fd; a memfd keeps that off the disk. */
static int export_program(scmp_filter_ctx ctx, struct sock_fprog *out, vl_error *err)
{
	cleanup_close int fd = memfd_create("virtlab-seccomp", MFD_CLOEXEC);
	cleanup_free struct sock_filter *insns = NULL;
	off_t size;
	int rc;

	if (fd < 0)
		return vl_error_errno(err, errno, "creating a memfd for the seccomp program");
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return vl_error_errno(err, -rc, "exporting the seccomp program");
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter) != 0 ||
	    size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return vl_error_set(err, "seccomp program of %lld bytes is not a BPF program",
		                    (long long)size);
	insns = malloc(size);
	if (!insns)
		return vl_error_errno(err, ENOMEM, "reading the seccomp program");
	if (pread(fd, insns, size, 0) != size)
		return vl_error_errno(err, errno, "reading the seccomp program back");
	out->len = size / sizeof(struct sock_filter);
	out->filter = vl_steal_ptr(insns);
	return 0;
}

int vl_seccomp_default_program(struct sock_fprog *out, vl_error *err)
{
	/* Allow by default; calls of foreign architectures (int 0x80 on
	 * x86_64) are killed by libseccomp's bad-arch action, so the denylist
	 * cannot be bypassed through the 32-bit syscall table. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ctx)
		return vl_error_set(err, "initialising libseccomp failed");
	rc = add_rules(ctx, err);
	if (rc == 0)
		rc = export_program(ctx, out, err);
	seccomp_release(ctx);
	return rc;
}

void vl_seccomp_program_free(struct sock_fprog *prog)
{
	free(prog->filter);
	prog->filter = NULL;
	prog->len = 0;
}

int vl_seccomp_load(const struct sock_fprog *prog, vl_error *err)
{
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) < 0)
		return vl_error_errno(err, errno, "loading the seccomp filter");
	return 0;
}
