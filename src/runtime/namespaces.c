#include "runtime/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/file.h"

/* How long a killed child may take to die before it is left to the caller's
 * cleanup: one stuck in an uninterruptible wait (a hung mount) never does. */
#define REAP_WAIT_S 2.0

/* clone3() without a stack behaves like fork() but takes namespace flags, so
 * the child is PID 1 of its new PID namespace at once (unshare would need a
 * second fork), and a cgroup2 directory to be born in. */
static pid_t clone_child(unsigned long flags, int cgroup_fd)
{
	struct clone_args args = {.flags = flags, .exit_signal = SIGCHLD};

	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (__u64)cgroup_fd;
	}
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static int write_map(pid_t pid, const char *file, const struct vl_id_map *map, size_t n,
                     uint32_t self, vl_error *err)
{
	char path[64], text[VL_CONTAINER_MAX_ID_MAPS * 40] = "";
	size_t len = 0;

	if (n == 0)
		len = snprintf(text, sizeof(text), "0 %u 1\n", self);
	for (size_t i = 0; i < n; i++)
		len += snprintf(text + len, sizeof(text) - len, "%u %u %u\n", map[i].inside,
		                map[i].outside, map[i].count);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return vl_write_string(path, text, err);
}

/* The maps can only be written from outside the new user namespace, and the
 * kernel accepts an unprivileged gid_map only once setgroups is denied (so a
 * rootless guest cannot drop a group that locks it out of a host file). */
static int write_id_maps(const struct vl_container_spec *spec, pid_t pid, vl_error *err)
{
	char path[64];

	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		if (vl_write_string(path, "deny", err) < 0)
			return -1;
	}
	if (write_map(pid, "uid_map", spec->uid_map, spec->n_uid_map, geteuid(), err) < 0 ||
	    write_map(pid, "gid_map", spec->gid_map, spec->n_gid_map, getegid(), err) < 0)
		return vl_error_wrap(err, "mapping the guest's users");
	return 0;
}

static __attribute__((noreturn)) void report_and_exit(int sync_fd, const vl_error *child_err)
{
	if (write(sync_fd, child_err, sizeof(*child_err)) < 0)
		_exit(126);
	_exit(127);
}

/* "0" moves the writer alone: see struct vl_container_cgroup_join. */
static int join_cgroups(const struct vl_container_cgroup_join *join, vl_error *err)
{
	for (size_t i = 0; join && i < join->n_tasks_fds; i++)
		if (write(join->tasks_fds[i], "0", 1) != 1)
			return vl_error_errno(err, errno, "joining the guest's cgroup");
	return 0;
}

static __attribute__((noreturn)) void run_child(const struct vl_container_plan *plan,
                                                const struct vl_container_cgroup_join *join,
                                                int sync_fd)
{
	const struct vl_container_spec *spec = plan->spec;
	vl_error child_err = {0};
	char go;

	if (join_cgroups(join, &child_err) < 0)
		report_and_exit(sync_fd, &child_err);
	/* No step runs before the parent's part is done; end-of-file means the
	 * parent gave up (or died) and the child must not run. */
	if (read(sync_fd, &go, 1) != 1)
		_exit(127);
	if (vl_container_plan_apply(plan, sync_fd, &child_err) < 0)
		report_and_exit(sync_fd, &child_err);
	if (spec->init_fn) {
		close(sync_fd);
		_exit(spec->init_fn(spec->init_arg));
	}
	execve(spec->argv[0], spec->argv, spec->envp ? spec->envp : (char *const[]){NULL});
	vl_error_errno(&child_err, errno, "executing the init %s", spec->argv[0]);
	report_and_exit(sync_fd, &child_err);
}

/* False when the child is still there after REAP_WAIT_S: then it is not
 * reaped, so that this never blocks. */
static bool kill_and_reap(pid_t pid)
{
	struct pollfd p = {.fd = (int)syscall(SYS_pidfd_open, pid, 0), .events = POLLIN};
	int n = 1;

	kill(pid, SIGKILL);
	if (p.fd >= 0) {
		while ((n = poll(&p, 1, (int)(REAP_WAIT_S * 1000))) < 0 && errno == EINTR)
			;
		close(p.fd);
	}
	if (n <= 0)
		return false;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return true;
}

/* Waits for the child's verdict: EOF after execve closed the socket, or its
 * error report; a child that sends neither within timeout_s is killed. */
static int read_verdict(int fd, pid_t pid, double timeout_s, vl_error *err)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t start = vl_now_ns();
	vl_error child_err;
	double left;
	ssize_t n;
	int ready;

	do {
		left = timeout_s - vl_seconds_since(start);
		ready = left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
	} while (ready < 0 && errno == EINTR);
	if (ready <= 0) {
		int e = errno;
		bool reaped = kill_and_reap(pid);
		if (ready < 0)
			return vl_error_errno(err, e, "waiting for the guest's set-up");
		return vl_error_set(
		        err,
		        "the guest's set-up did not finish within %.3g s (a step is "
		        "stuck, such as a mount on an unresponsive file system); "
		        "killed it%s",
		        timeout_s, reaped ? "" : ", but it is stuck in the kernel and still there");
	}
	do
		n = read(fd, &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	kill_and_reap(pid);
	if (n < 0)
		return vl_error_errno(err, errno, "reading the guest's set-up result");
	if (n != sizeof(child_err))
		return vl_error_set(err, "the guest's set-up sent a truncated report");
	child_err.msg[sizeof(child_err.msg) - 1] = '\0';
	*err = child_err;
	return vl_error_wrap(err, "setting up the guest");
}

int vl_container_spawn(const struct vl_container_plan *plan, const struct vl_container_hooks *hooks,
                       pid_t *pid, vl_error *err)
{
	const struct vl_container_cgroup_join *join = hooks ? hooks->join : NULL;
	double timeout_s =
	        hooks && hooks->timeout_s > 0 ? hooks->timeout_s : VL_CONTAINER_SETUP_TIMEOUT_S;
	cleanup_close int parent_fd = -1;
	cleanup_close int child_fd = -1;
	int sv[2];
	pid_t child;

	/* SEQPACKET keeps the child's report one message. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vl_error_errno(err, errno, "creating the guest's sync socket");
	parent_fd = sv[0];
	child_fd = sv[1];
	child = clone_child(plan->clone_flags, join ? join->clone_into_fd : -1);
	if (child < 0)
		return vl_error_errno(err, errno, "creating the guest's namespaces%s",
		                      join && join->clone_into_fd >= 0 ? " in its cgroup" : "");
	if (child == 0) {
		close(parent_fd);
		run_child(plan, join, child_fd);
	}
	close(vl_steal_fd(child_fd));
	if (((plan->spec->namespaces & VL_NS_USER) && write_id_maps(plan->spec, child, err) < 0) ||
	    (hooks && hooks->parent_setup && hooks->parent_setup(child, hooks->data, err) < 0)) {
		kill_and_reap(child);
		return vl_error_wrap(err, "preparing the guest");
	}
	/* A child that failed to join its cgroups has sent its report and is
	 * gone: the report is read below. */
	if (send(parent_fd, "g", 1, MSG_NOSIGNAL) != 1 && errno != EPIPE) {
		int e = errno;
		kill_and_reap(child);
		return vl_error_errno(err, e, "releasing the guest");
	}
	if (read_verdict(parent_fd, child, timeout_s, err) < 0)
		return -1;
	*pid = child;
	return 0;
}
