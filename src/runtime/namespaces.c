#include "runtime/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/cleanup.h"
#include "core/file.h"

/* clone() with a NULL stack behaves like fork() but takes namespace flags,
 * so the child is PID 1 of its new PID namespace at once (unshare would
 * need a second fork) and needs no separate stack. */
static pid_t clone_child(unsigned long flags)
{
	return syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
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

static __attribute__((noreturn)) void run_child(const struct vl_container_plan *plan, int sync_fd)
{
	const struct vl_container_spec *spec = plan->spec;
	vl_error child_err = {0};
	char go;

	/* Nothing happens before the parent's part is done; end-of-file means
	 * the parent gave up (or died) and the child must not run. */
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

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Waits for the child's verdict: EOF after execve closed the socket, or its
 * error report. */
static int read_verdict(int fd, pid_t pid, vl_error *err)
{
	vl_error child_err;
	ssize_t n;

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
	cleanup_close int parent_fd = -1;
	cleanup_close int child_fd = -1;
	int sv[2];
	pid_t child;

	/* SEQPACKET keeps the child's report one message. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vl_error_errno(err, errno, "creating the guest's sync socket");
	parent_fd = sv[0];
	child_fd = sv[1];
	child = clone_child(plan->clone_flags);
	if (child < 0)
		return vl_error_errno(err, errno, "creating the guest's namespaces");
	if (child == 0) {
		close(parent_fd);
		run_child(plan, child_fd);
	}
	close(vl_steal_fd(child_fd));
	if (((plan->spec->namespaces & VL_NS_USER) && write_id_maps(plan->spec, child, err) < 0) ||
	    (hooks && hooks->parent_setup && hooks->parent_setup(child, hooks->data, err) < 0)) {
		kill_and_reap(child);
		return vl_error_wrap(err, "preparing the guest");
	}
	if (write(parent_fd, "g", 1) != 1) {
		int e = errno;
		kill_and_reap(child);
		return vl_error_errno(err, e, "releasing the guest");
	}
	if (read_verdict(parent_fd, child, err) < 0)
		return -1;
	*pid = child;
	return 0;
}
