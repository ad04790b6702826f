#include "core/command.h"
#include "core/proc.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

bool vl_find_program(const char *name, char *path, size_t size)
{
	const char *dirs = getenv("PATH");

	if (!name || !*name)
		return false;
	if (strchr(name, '/')) {
		snprintf(path, size, "%s", name);
		return access(path, X_OK) == 0;
	}
	if (!dirs || !*dirs)
		dirs = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*dirs) {
		const char *colon = strchr(dirs, ':');
		size_t len = colon ? (size_t)(colon - dirs) : strlen(dirs);
		if (len > 0 &&
		    (size_t)snprintf(path, size, "%.*s/%s", (int)len, dirs, name) < size &&
		    access(path, X_OK) == 0)
			return true;
		dirs += len + (colon ? 1 : 0);
	}
	return false;
}

/* Only async-signal-safe calls between fork and exec: the parent may have
 * threads. */
static void exec_child(pid_t parent, const char *path, const char *const argv[], const char *cwd,
                       int in_fd, int out_fd, int err_fd)
{
	static const char msg[] = "virtlab: cannot execute the program\n";
	sigset_t none;
	int null_fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(in_fd >= 0 ? in_fd : null_fd, STDIN_FILENO) < 0)
		_exit(127);
	if (dup2(out_fd >= 0 ? out_fd : null_fd, STDOUT_FILENO) < 0 ||
	    dup2(err_fd >= 0 ? err_fd : null_fd, STDERR_FILENO) < 0)
		_exit(127);
	if (cwd && chdir(cwd) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(path, (char *const *)argv);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(127);
	_exit(127);
}

struct capture {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Reads what is there; returns false at end of stream. */
static bool capture_read(struct capture *c)
{
	char chunk[16384];
	ssize_t n = read(c->fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if (c->len + (size_t)n > VL_COMMAND_OUTPUT_MAX)
		n = (ssize_t)(VL_COMMAND_OUTPUT_MAX - c->len);
	if (c->len + (size_t)n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *p;
		while (cap < c->len + (size_t)n + 1)
			cap *= 2;
		p = realloc(c->buf, cap);
		if (!p)
			return true; /* keep draining; the output is just cut short */
		c->buf = p;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, chunk, (size_t)n);
	c->len += (size_t)n;
	return true;
}

static char *capture_take(struct capture *c)
{
	char *s = c->buf ? c->buf : malloc(1);
	if (s)
		s[c->len] = '\0';
	c->buf = NULL;
	return s;
}

static void reap(pid_t pid, int *status)
{
	if (vl_proc_reap(pid, status, NULL) < 0)
		*status = 0;
}

static int fork_exec(const char *const argv[], const char *cwd, int in_fd, int out_fd, int err_fd,
                     pid_t *pid, vl_error *err)
{
	char path[PATH_MAX];
	pid_t parent = getpid();

	if (!vl_find_program(argv[0], path, sizeof(path)))
		return vl_error_set(err, "%s: program not found in PATH", argv[0]);
	*pid = fork();
	if (*pid < 0)
		return vl_error_errno(err, errno, "forking for %s", argv[0]);
	if (*pid == 0)
		exec_child(parent, path, argv, cwd, in_fd, out_fd, err_fd);
	return 0;
}

int vl_command_run(const char *const argv[], const char *cwd, double timeout_s,
                   const volatile int *stop, struct vl_command_result *res, vl_error *err)
{
	return vl_command_run_input(argv, cwd, -1, timeout_s, stop, res, err);
}

int vl_command_run_input(const char *const argv[], const char *cwd, int stdin_fd, double timeout_s,
                         const volatile int *stop, struct vl_command_result *res, vl_error *err)
{
	int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
	struct capture cap[2] = {{.fd = -1}, {.fd = -1}};
	cleanup_close int pidfd = -1;
	bool open_streams[2] = {true, true};
	bool exited = false;
	const char *why = NULL;
	uint64_t start, end = 0;
	pid_t pid;
	int status = 0;

	memset(res, 0, sizeof(*res));
	if (pipe2(out_pipe, O_CLOEXEC) < 0)
		return vl_error_errno(err, errno, "creating a pipe for %s", argv[0]);
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		close(out_pipe[0]);
		close(out_pipe[1]);
		return vl_error_errno(err, errno, "creating a pipe for %s", argv[0]);
	}
	start = vl_now_ns();
	if (fork_exec(argv, cwd, stdin_fd, out_pipe[1], err_pipe[1], &pid, err) < 0) {
		for (int i = 0; i < 2; i++) {
			close(out_pipe[i]);
			close(err_pipe[i]);
		}
		return -1;
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	cap[0].fd = out_pipe[0];
	cap[1].fd = err_pipe[0];
	/* A pidfd tells the exit apart from the pipes closing, so the elapsed
	 * time ends when the child does. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	while ((open_streams[0] || open_streams[1] || !exited) && !why) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		int idx[3];
		int ready;

		for (int i = 0; i < 2; i++) {
			if (open_streams[i]) {
				idx[n] = i;
				pfd[n++] = (struct pollfd){.fd = cap[i].fd, .events = POLLIN};
			}
		}
		if (!exited && pidfd >= 0) {
			idx[n] = 2;
			pfd[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		}
		if (n == 0) {
			/* No pidfd (old kernel) and both streams closed. */
			reap(pid, &status);
			end = vl_now_ns();
			exited = true;
			break;
		}
		ready = poll(pfd, n, exited ? 0 : 100);
		if (ready < 0 && errno != EINTR)
			why = "poll failed";
		if (ready == 0 && exited)
			break; /* a grandchild holds the pipes open; what is there is read */
		for (nfds_t k = 0; ready > 0 && k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (idx[k] == 2) {
				end = vl_now_ns();
				exited = true;
			} else if (!capture_read(&cap[idx[k]])) {
				open_streams[idx[k]] = false;
			}
		}
		if (stop && *stop)
			why = "interrupted";
		else if (timeout_s > 0 && vl_seconds_since(start) > timeout_s)
			why = "timed out";
	}
	if (why) {
		kill(pid, SIGKILL);
		reap(pid, &status);
	} else if (pidfd >= 0) {
		reap(pid, &status);
	}
	close(cap[0].fd);
	close(cap[1].fd);
	res->out = capture_take(&cap[0]);
	res->err = capture_take(&cap[1]);
	res->elapsed_s = (double)((end ? end : vl_now_ns()) - start) / 1e9;
	res->status = status;
	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (why) {
		vl_command_result_release(res);
		if (timeout_s > 0 && strcmp(why, "timed out") == 0)
			return vl_error_set(err, "%s: timed out after %.0f s", argv[0], timeout_s);
		return vl_error_set(err, "%s: %s", argv[0], why);
	}
	if (!res->out || !res->err) {
		vl_command_result_release(res);
		return vl_error_errno(err, ENOMEM, "capturing the output of %s", argv[0]);
	}
	return 0;
}

void vl_command_result_release(struct vl_command_result *res)
{
	free(res->out);
	free(res->err);
	res->out = NULL;
	res->err = NULL;
}

const char *vl_command_describe_failure(const struct vl_command_result *res, char *buf, size_t size)
{
	const char *text = res->err && *res->err ? res->err : res->out;
	int line = text ? (int)strcspn(text, "\n") : 0;
	char status[128];

	vl_proc_describe_status(res->status, status, sizeof(status));
	if (line > 0)
		snprintf(buf, size, "%s: %.*s", status, line, text);
	else
		snprintf(buf, size, "%s", status);
	return buf;
}
