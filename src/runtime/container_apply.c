/* The child side of a plan: one function per step kind, each run once the
 * parent has done its part (maps, cgroup, network). Nothing here allocates:
 * the child is a clone of a possibly multi-threaded parent. */
#include "runtime/container_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "core/cleanup.h"

struct apply_ctx {
	const struct vl_container_plan *plan;
	int rootfd; /* the new root, O_PATH, from bind-rootfs to pivot-root */
	int sync_fd;
};

/* Opens a path inside the new root without following anything (symlinks,
 * "..") out of it: the guest can rewrite its own tree between restarts, and a
 * /proc that is a symlink to a host path must not redirect a mount there. */
static int open_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
	        .flags = flags | O_CLOEXEC,
	        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

/* The mount point of a relative target, made when missing (a directory, or an
 * empty file when the source is not a directory). */
static int open_target(struct apply_ctx *ctx, const char *rel, bool dir)
{
	int fd = open_in_root(ctx->rootfd, rel, O_PATH);
	const char *slash;
	char parent[PATH_MAX];
	int pfd, rc;

	if (fd >= 0 || errno != ENOENT)
		return fd;
	slash = strrchr(rel, '/');
	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - rel) : 1, slash ? rel : ".");
	pfd = open_in_root(ctx->rootfd, parent, O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return -1;
	if (dir)
		rc = mkdirat(pfd, slash ? slash + 1 : rel, 0755);
	else
		rc = mknodat(pfd, slash ? slash + 1 : rel, S_IFREG | 0644, 0);
	close(pfd);
	if (rc < 0 && errno != EEXIST)
		return -1;
	return open_in_root(ctx->rootfd, rel, O_PATH);
}

static int mount_at(const struct vl_container_step *s, int fd, const char *path)
{
	unsigned long flags = s->flags;
	char proc_path[64];

	if (flags & MS_BIND)
		flags &= ~MS_RDONLY;
	if (fd >= 0) {
		snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
		path = proc_path;
	}
	if (mount(s->source, path, s->fstype, flags, s->data) < 0)
		return -1;
	/* A bind mount ignores MS_RDONLY until remounted. */
	if ((s->flags & MS_BIND) && (s->flags & MS_RDONLY))
		return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | (s->flags & ~MS_REC), NULL);
	return 0;
}

static int step_mount(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	struct stat st;
	cleanup_close int fd = -1;
	bool dir = true;

	if (s->target[0] == '/') {
		if (mount_at(s, -1, s->target) < 0)
			return vl_error_errno(err, errno, "mounting %s on %s", s->source,
			                      s->target);
		return 0;
	}
	if ((s->flags & MS_BIND) && stat(s->source, &st) == 0)
		dir = S_ISDIR(st.st_mode);
	fd = open_target(ctx, s->target, dir);
	if (fd < 0)
		return vl_error_errno(err, errno, "making the mount point /%s", s->target);
	if (mount_at(s, fd, NULL) < 0)
		return vl_error_errno(err, errno, "mounting %s on /%s", s->source, s->target);
	return 0;
}

/* A private tree first: without it the guest's mounts would propagate to the
 * host's shared mounts (systemd makes / shared). */
static int step_make_private(struct apply_ctx *ctx, const struct vl_container_step *s,
                             vl_error *err)
{
	(void)ctx, (void)s;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return vl_error_errno(err, errno, "making the mount tree private");
	return 0;
}

static int step_bind_rootfs(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	if (mount(s->source, s->target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return vl_error_errno(err, errno, "binding %s onto itself", s->source);
	ctx->rootfd = open(s->target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->rootfd < 0)
		return vl_error_errno(err, errno, "opening %s", s->target);
	return 0;
}

static int step_mknod(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	cleanup_close int dev = open_in_root(ctx->rootfd, "dev", O_PATH | O_DIRECTORY);
	const char *base = strrchr(s->target, '/') + 1;

	if (dev < 0)
		return vl_error_errno(err, errno, "opening the guest's /dev");
	if (mknodat(dev, base, S_IFCHR | 0666, s->dev) < 0)
		return vl_error_errno(err, errno, "creating /%s", s->target);
	/* The umask narrowed the mode. */
	if (fchmodat(dev, base, 0666, 0) < 0)
		return vl_error_errno(err, errno, "setting the mode of /%s", s->target);
	return 0;
}

static int step_bind_dev(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	const struct vl_container_step bind = {
	        .source = s->source,
	        .target = s->target,
	        .flags = MS_BIND | MS_NOSUID | MS_NOEXEC,
	};
	return step_mount(ctx, &bind, err);
}

static int step_symlink(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	if (symlinkat(s->source, ctx->rootfd, s->target) < 0)
		return vl_error_errno(err, errno, "linking /%s to %s", s->target, s->source);
	return 0;
}

/* pivot_root rather than chroot: chroot leaves the host's tree reachable
 * through "..", and an open directory fd escapes it. pivot_root(".", ".")
 * stacks the old root on the new one, so no directory is needed for it, and
 * the lazy unmount then drops the host's tree from this namespace. */
static int step_pivot_root(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	(void)s;
	if (fchdir(ctx->rootfd) < 0)
		return vl_error_errno(err, errno, "entering the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return vl_error_errno(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return vl_error_errno(err, errno, "detaching the old root");
	if (chdir("/") < 0)
		return vl_error_errno(err, errno, "entering /");
	close(ctx->rootfd);
	ctx->rootfd = -1;
	return 0;
}

static int step_mask_path(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	struct stat st;
	int rc;

	(void)ctx;
	if (lstat(s->target, &st) < 0)
		return errno == ENOENT ? 0 : vl_error_errno(err, errno, "looking at %s", s->target);
	if (S_ISDIR(st.st_mode))
		rc = mount("tmpfs", s->target, "tmpfs",
		           MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
	else
		rc = mount(s->source, s->target, NULL, MS_BIND, NULL);
	if (rc < 0)
		return vl_error_errno(err, errno, "masking %s", s->target);
	return 0;
}

static int step_readonly_path(struct apply_ctx *ctx, const struct vl_container_step *s,
                              vl_error *err)
{
	const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

	(void)ctx;
	if (mount(s->target, s->target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : vl_error_errno(err, errno, "binding %s", s->target);
	if (mount(NULL, s->target, NULL, MS_REMOUNT | MS_BIND | ro, NULL) < 0)
		return vl_error_errno(err, errno, "making %s read-only", s->target);
	return 0;
}

static int step_unshare_cgroup(struct apply_ctx *ctx, const struct vl_container_step *s,
                               vl_error *err)
{
	(void)ctx, (void)s;
	if (unshare(CLONE_NEWCGROUP) < 0)
		return vl_error_errno(err, errno, "creating the cgroup namespace");
	return 0;
}

static int step_set_hostname(struct apply_ctx *ctx, const struct vl_container_step *s,
                             vl_error *err)
{
	const char *name = ctx->plan->spec->hostname;

	(void)s;
	if (sethostname(name, strlen(name)) < 0)
		return vl_error_errno(err, errno, "setting the hostname %s", name);
	return 0;
}

/* A new network namespace starts with lo down; workloads talk over it. */
static int step_loopback_up(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	cleanup_close int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {.ifr_name = "lo"};

	(void)ctx, (void)s;
	if (sock < 0)
		return vl_error_errno(err, errno, "opening a socket for lo");
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return vl_error_errno(err, errno, "reading the flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return vl_error_errno(err, errno, "bringing lo up");
	return 0;
}

/* Blocked and ignored signals survive execve; the init must start clean. */
static int step_reset_signals(struct apply_ctx *ctx, const struct vl_container_step *s,
                              vl_error *err)
{
	sigset_t none;

	(void)ctx, (void)s;
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return vl_error_errno(err, errno, "unblocking signals");
	return 0;
}

/* Only stdio, the agent channel and the report fd survive: any other
 * inherited descriptor (a host directory above all) would let the guest out. */
static int step_setup_fds(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	const struct vl_container_spec *spec = ctx->plan->spec;
	int keep[2] = {ctx->sync_fd, spec->keep_fd};
	unsigned from = 3;

	(void)s;
	for (int i = 0; i < 3; i++)
		if (spec->stdio[i] >= 0 && spec->stdio[i] != i && dup2(spec->stdio[i], i) < 0)
			return vl_error_errno(err, errno, "setting up fd %d", i);
	if (keep[1] >= 0 && keep[1] < keep[0]) {
		keep[1] = keep[0];
		keep[0] = spec->keep_fd;
	}
	for (int i = 0; i < 2; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < from)
			continue;
		if ((unsigned)keep[i] > from && close_range(from, keep[i] - 1, 0) < 0)
			return vl_error_errno(err, errno, "closing inherited descriptors");
		from = keep[i] + 1;
	}
	if (close_range(from, ~0u, 0) < 0)
		return vl_error_errno(err, errno, "closing inherited descriptors");
	if (spec->keep_fd >= 0 && fcntl(spec->keep_fd, F_SETFD, 0) < 0)
		return vl_error_errno(err, errno, "keeping fd %d open", spec->keep_fd);
	umask(022);
	return 0;
}

static int step_drop_caps(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err)
{
	(void)s;
	return vl_caps_apply(ctx->plan->spec->capabilities, ctx->plan->caps, err);
}

static int step_no_new_privs(struct apply_ctx *ctx, const struct vl_container_step *s,
                             vl_error *err)
{
	(void)ctx, (void)s;
	return vl_set_no_new_privs(err);
}

static int step_load_seccomp(struct apply_ctx *ctx, const struct vl_container_step *s,
                             vl_error *err)
{
	(void)s;
	return vl_seccomp_load(&ctx->plan->seccomp, err);
}

typedef int (*step_fn)(struct apply_ctx *ctx, const struct vl_container_step *s, vl_error *err);

static const step_fn step_table[] = {
        [VL_STEP_UNSHARE_CGROUP] = step_unshare_cgroup,
        [VL_STEP_MAKE_PRIVATE] = step_make_private,
        [VL_STEP_MOUNT] = step_mount,
        [VL_STEP_BIND_ROOTFS] = step_bind_rootfs,
        [VL_STEP_MKNOD] = step_mknod,
        [VL_STEP_BIND_DEV] = step_bind_dev,
        [VL_STEP_SYMLINK] = step_symlink,
        [VL_STEP_PIVOT_ROOT] = step_pivot_root,
        [VL_STEP_MASK_PATH] = step_mask_path,
        [VL_STEP_READONLY_PATH] = step_readonly_path,
        [VL_STEP_SET_HOSTNAME] = step_set_hostname,
        [VL_STEP_LOOPBACK_UP] = step_loopback_up,
        [VL_STEP_RESET_SIGNALS] = step_reset_signals,
        [VL_STEP_SETUP_FDS] = step_setup_fds,
        [VL_STEP_DROP_CAPS] = step_drop_caps,
        [VL_STEP_NO_NEW_PRIVS] = step_no_new_privs,
        [VL_STEP_LOAD_SECCOMP] = step_load_seccomp,
};

int vl_container_plan_apply(const struct vl_container_plan *plan, int sync_fd, vl_error *err)
{
	struct apply_ctx ctx = {.plan = plan, .rootfd = -1, .sync_fd = sync_fd};

	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct vl_container_step *s = &plan->steps[i];

		if (step_table[s->kind](&ctx, s, err) < 0) {
			if (ctx.rootfd >= 0)
				close(ctx.rootfd);
			return vl_error_wrap(err, "step %s", s->name);
		}
	}
	return 0;
}
