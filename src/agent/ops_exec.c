/* exec: runs a command in the guest and returns its output and exit status
 * (`virtlab guest exec`). The command runs in its own process group with
 * none of the agent's channels, so a timeout or a stopping agent can end all
 * of it. */
#include "agent/session.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_MAX_OUTPUT (1u << 20)
#define DEFAULT_TIMEOUT_S  60.0
#define MAX_ARGS           4096
#define POLL_MS            100
#define DRAIN_S            1.0

struct capture {
	int fd;
	char *buf;
	size_t len, cap, limit;
	bool truncated;
};

static void __attribute__((noreturn)) run_child(char **argv, int out_fd, int err_fd, int errno_fd)
{
	sigset_t none;
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int saved;

	/* The agent ignores SIGPIPE and may block signals; the command must not
	 * inherit either. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	if ((null_fd >= 0 && dup2(null_fd, STDIN_FILENO) < 0) || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(err_fd, STDERR_FILENO) < 0)
		goto fail;
	/* The agent's channel may be an inherited descriptor without O_CLOEXEC. */
	close_range(STDERR_FILENO + 1, ~0u, CLOSE_RANGE_CLOEXEC);
	execvp(argv[0], argv);
fail:
	saved = errno;
	if (write(errno_fd, &saved, sizeof(saved)) < 0)
		_exit(127);
	_exit(127);
}

/* Reads what is there; beyond the limit the output is drained and dropped,
 * so that the command never blocks on a full pipe. */
static int drain(struct capture *c)
{
	char chunk[16384];
	ssize_t n = read(c->fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		close(c->fd);
		c->fd = -1;
		return 0;
	}
	size_t keep = (size_t)n;
	if (c->len + keep > c->limit) {
		keep = c->limit - c->len;
		c->truncated = true;
	}
	if (c->len + keep > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + keep)
			cap *= 2;
		char *grown = realloc(c->buf, cap);
		if (!grown)
			return -1;
		c->buf = grown;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, chunk, keep);
	c->len += keep;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), 0 if invalid:
 * no overlong forms, surrogates or code points past U+10FFFF, and no NUL,
 * which the host's JSON reader refuses. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
	static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n = s[0] == 0           ? 0
	           : s[0] < 0x80       ? 1
	           : (s[0] >> 5) == 6  ? 2
	           : (s[0] >> 4) == 14 ? 3
	           : (s[0] >> 3) == 30 ? 4
	                               : 0;
	uint32_t cp;

	if (n <= 1 || n > len)
		return n > len ? 0 : n;
	cp = s[0] & (0x7f >> n);
	for (size_t k = 1; k < n; k++) {
		if ((s[k] >> 6) != 2)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* JSON strings are UTF-8: each byte that is not part of a valid sequence
 * becomes U+FFFD, so that binary output cannot break the reply. */
static json_t *text_json(const char *s, size_t len)
{
	cleanup_free char *out = malloc(len * 3 + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence((const unsigned char *)s + i, len - i);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	return json_stringn(out, o);
}

static int parse_argv(json_t *req, char ***argv, vl_error *err)
{
	json_t *list = json_object_get(req, "argv");
	size_t n = json_array_size(list);
	json_t *v;
	size_t i;

	if (!json_is_array(list) || n == 0 || n > MAX_ARGS)
		return vl_error_input(err,
		                      "exec: \"argv\" must be an array of 1 to %d strings, such as "
		                      "[\"ls\", \"-l\"]",
		                      MAX_ARGS);
	*argv = calloc(n + 1, sizeof(**argv));
	if (!*argv)
		return vl_error_errno(err, ENOMEM, "exec");
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			free(vl_steal_ptr(*argv));
			return vl_error_input(
			        err, "exec: \"argv\"[%zu] must be a string without NUL", i);
		}
		(*argv)[i] = (char *)json_string_value(v);
	}
	return 0;
}

static int make_pipe(int fds[2], vl_error *err)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return vl_error_errno(err, errno, "exec: creating a pipe");
	return 0;
}

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Forks the command; the pipes' write ends are closed here once the child
 * has them. *exec_errno is the errno of a failed execvp, 0 when it ran. */
static int spawn(char **argv, struct capture *out, struct capture *errs, pid_t *pid,
                 int *exec_errno, vl_error *err)
{
	int o[2] = {-1, -1}, e[2] = {-1, -1}, x[2] = {-1, -1};
	ssize_t n;

	if (make_pipe(o, err) < 0 || make_pipe(e, err) < 0 || make_pipe(x, err) < 0) {
		close_pair(o);
		close_pair(e);
		return -1;
	}
	*pid = fork();
	if (*pid < 0) {
		int saved = errno;
		close_pair(o);
		close_pair(e);
		close_pair(x);
		return vl_error_errno(err, saved, "exec: fork");
	}
	if (*pid == 0)
		run_child(argv, o[1], e[1], x[1]);
	/* Both sides set the group, so that a kill right after fork finds it. */
	setpgid(*pid, *pid);
	close(o[1]);
	close(e[1]);
	close(x[1]);
	out->fd = o[0];
	errs->fd = e[0];
	*exec_errno = 0;
	while ((n = read(x[0], exec_errno, sizeof(*exec_errno))) < 0 && errno == EINTR)
		;
	if (n != sizeof(*exec_errno))
		*exec_errno = 0;
	close(x[0]);
	return 0;
}

/* When the agent is PID 1 (a container), what the command left in its group
 * is reparented to it: reap what the kill ended, for a moment. */
static void reap_group(pid_t pgid)
{
	for (int i = 0; i < 20; i++) {
		pid_t r = waitpid(-pgid, NULL, WNOHANG);
		if (r < 0 && errno != EINTR)
			return;
		if (r == 0)
			vl_sleep_ns(5000000, NULL);
	}
}

/* Collects output until the command has exited and its pipes are closed.
 * Its process group is killed when it exits (a daemon it left goes with it),
 * at the deadline or on a stop; a process that left the group has DRAIN_S
 * more to close the pipes. *lost: someone else reaped the command. */
static int collect(pid_t pid, struct capture *c, double timeout_s, const volatile int *stop,
                   int *status, bool *timed_out, bool *lost, vl_error *err)
{
	uint64_t start = vl_now_ns(), ended = 0;
	/* Readable when the command exits, so that a quick command is not held
	 * for a poll interval; without it (Linux < 5.3) the interval bounds it. */
	cleanup_close int pidfd = pidfd_open(pid, 0);
	bool exited = false;
	int rc = 0;

	*timed_out = *lost = false;
	while (!exited || c[0].fd >= 0 || c[1].fd >= 0) {
		struct pollfd p[3] = {{.fd = c[0].fd, .events = POLLIN},
		                      {.fd = c[1].fd, .events = POLLIN},
		                      {.fd = exited ? -1 : pidfd, .events = POLLIN}};
		if (!exited) {
			pid_t r = waitpid(pid, status, WNOHANG);
			exited = r == pid || (r < 0 && errno == ECHILD);
			*lost = r < 0 && errno == ECHILD;
		}
		if (!ended &&
		    (exited || *stop || (timeout_s > 0 && vl_seconds_since(start) > timeout_s))) {
			*timed_out = !exited && !*stop;
			kill(-pid, SIGKILL);
			ended = vl_now_ns();
		}
		if (exited && ended && vl_seconds_since(ended) > DRAIN_S)
			break;
		if (poll(p, 3, POLL_MS) < 0 && errno != EINTR) {
			rc = vl_error_errno(err, errno, "exec: waiting for output");
			break;
		}
		for (int i = 0; i < 2 && rc == 0; i++)
			if (c[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    drain(&c[i]) < 0)
				rc = vl_error_errno(err, errno, "exec: reading output");
		if (rc < 0)
			break;
	}
	if (!ended)
		kill(-pid, SIGKILL);
	if (!exited)
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	reap_group(pid);
	return rc;
}

int vl_agent_op_exec(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                     vl_error *err)
{
	cleanup_free char **argv = NULL;
	struct capture c[2] = {{.fd = -1}, {.fd = -1}};
	unsigned max_output;
	double timeout_s;
	uint64_t start;
	int status = 0, exec_errno, rc;
	bool timed_out, lost;
	pid_t pid;

	(void)code;
	if (parse_argv(req, &argv, err) < 0 ||
	    vl_agent_arg_double(req, "exec", "timeout", DEFAULT_TIMEOUT_S, 0, 86400, &timeout_s,
	                        err) < 0 ||
	    vl_agent_arg_uint(req, "exec", "max_output", DEFAULT_MAX_OUTPUT, 0, 64u << 20,
	                      &max_output, err) < 0)
		return -1;
	c[0].limit = c[1].limit = max_output;
	start = vl_now_ns();
	if (spawn(argv, &c[0], &c[1], &pid, &exec_errno, err) < 0)
		return -1;
	rc = collect(pid, c, timeout_s, s->stop, &status, &timed_out, &lost, err);
	for (int i = 0; i < 2; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	if (rc == 0 && lost)
		rc = vl_error_set(err, "exec: the exit status of %s was lost (reaped elsewhere)",
		                  argv[0]);
	if (rc == 0 && *s->stop)
		rc = vl_error_set(err, "exec: %s was killed: the agent is stopping", argv[0]);
	if (rc == 0)
		*result = json_pack(
		        "{s:o?, s:o?, s:s?, s:o, s:o, s:b, s:b, s:b, s:f}", "exit_status",
		        WIFEXITED(status) ? json_integer(WEXITSTATUS(status)) : NULL, "signal",
		        WIFSIGNALED(status) ? json_integer(WTERMSIG(status)) : NULL, "exec_error",
		        exec_errno ? strerror(exec_errno) : NULL, "stdout",
		        text_json(c[0].buf ? c[0].buf : "", c[0].len), "stderr",
		        text_json(c[1].buf ? c[1].buf : "", c[1].len), "stdout_truncated",
		        c[0].truncated, "stderr_truncated", c[1].truncated, "timed_out", timed_out,
		        "duration_s", vl_seconds_since(start));
	free(c[0].buf);
	free(c[1].buf);
	if (rc == 0 && !*result)
		return vl_error_set(err, "exec: building the reply");
	return rc;
}
