#include "escape_checks.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int vl_escape_checks(const struct vl_escape_target *t)
{
	pid_t host_pid = t->host_pid;
	cap_t caps;
	int fd;

	/* 1: an fd to / kept across chroot, then "..": still the guest's root. */
	fd = open("/", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || mkdir("/virtlab-jail", 0755) < 0 || chroot("/virtlab-jail") < 0 ||
	    fchdir(fd) < 0)
		return 100;
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			return 101;
	if (chroot(".") < 0)
		return 102;
	if (access(t->guest_marker, F_OK) != 0 || access(t->host_marker, F_OK) == 0)
		return 1;
	/* 2, 3: host processes are out of reach. */
	if (ptrace(PTRACE_ATTACH, host_pid, NULL, NULL) == 0 || ptrace(PTRACE_TRACEME) == 0)
		return 2;
	if (kill(host_pid, 0) == 0 || errno != ESRCH)
		return 3;
	/* 4: no kernel module. */
	fd = open("/bin/busybox", O_RDONLY);
	if (syscall(SYS_finit_module, fd, "", 0) == 0 || errno != EPERM ||
	    syscall(SYS_init_module, NULL, 0, "") == 0 || errno != EPERM)
		return 4;
	/* 5: no device node (the host's disk). */
	if (mknod("/dev/virtlab-disk", S_IFBLK | 0600, makedev(8, 0)) == 0)
		return 5;
	/* 6: no new mount, of proc or anything. */
	if (mount("proc", "/mnt", "proc", 0, NULL) == 0 ||
	    mount("/", "/mnt", NULL, MS_BIND, NULL) == 0)
		return 6;
	/* 7: /proc/sys and the masked /proc files. */
	if (open("/proc/sys/kernel/hostname", O_WRONLY) >= 0 ||
	    open("/proc/sysrq-trigger", O_WRONLY) >= 0)
		return 7;
	fd = open("/proc/kcore", O_RDONLY);
	if (fd >= 0 && lseek(fd, 0, SEEK_END) > 0)
		return 8;
	/* 9: the host's hostname is not the guest's to change. */
	if (sethostname("virtlab-evil", 12) == 0)
		return 9;
	/* 10: a dropped capability stays dropped: not by capset, not through a
	 * new user namespace, not by joining another namespace. */
	caps = cap_get_proc();
	cap_value_t admin = CAP_SYS_ADMIN;
	if (!caps || cap_set_flag(caps, CAP_EFFECTIVE, 1, &admin, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_PERMITTED, 1, &admin, CAP_SET) < 0 || cap_set_proc(caps) == 0)
		return 10;
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) != 0 || unshare(CLONE_NEWUSER) == 0)
		return 11;
	fd = open("/proc/self/ns/net", O_RDONLY);
	if (fd < 0 || setns(fd, 0) == 0)
		return 12;
	if (syscall(SYS_keyctl, 0, 0, 0, 0, 0) != -1 || errno != EPERM)
		return 13;
	return 0;
}
