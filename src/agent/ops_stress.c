/* Background stressors. Each runs in a forked child so that it can be killed
 * hard if it does not stop, and so that its threads never share the agent's
 * address space; the child writes its result JSON into a pipe and exits. */
#include "agent/session.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Stressors stopped because the session ends get this long before SIGKILL. */
#define EXIT_STOP_TIMEOUT_S 5.0

static volatile int child_stop;

static void on_child_signal(int sig)
{
	(void)sig;
	child_stop = 1;
}

/* The child must not hold the agent's channel or sockets: a host waiting for
 * EOF, or a port being closed by serve-stop, would otherwise wait for it. */
static int detach_child(int result_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (result_fd <= STDERR_FILENO)
		result_fd = fcntl(result_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	} else {
		close(STDIN_FILENO);
		close(STDOUT_FILENO);
	}
	if (result_fd > STDERR_FILENO + 1)
		close_range(STDERR_FILENO + 1, (unsigned)result_fd - 1, 0);
	close_range((unsigned)result_fd + 1, ~0u, 0);
	return result_fd;
}

static void __attribute__((noreturn))
run_child(const struct vl_params *p, const char *workdir, int result_fd)
{
	struct sigaction sa = {.sa_handler = on_child_signal};
	struct vl_run_ctx ctx = {.stop = &child_stop, .workdir = workdir};
	sigset_t unblock;
	struct vl_result r;
	vl_error err = {0};
	json_t *out;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGTERM);
	sigaddset(&unblock, SIGINT);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	result_fd = detach_child(result_fd);
	if (vl_workload_run_once(p, &ctx, &r, &err) < 0)
		out = json_pack("{s:s, s:s, s:{}}", "status", "failed", "reason", err.msg,
		                "metrics");
	else
		out = vl_result_to_json(&r);
	if (!out || json_dumpfd(out, result_fd, JSON_COMPACT) < 0)
		_exit(1);
	_exit(0);
}

int vl_agent_op_stress_start(struct vl_agent_session *s, json_t *req, json_t **result,
                             const char **code, vl_error *err)
{
	struct vl_params p;
	struct stressor *st;
	sigset_t block, old;
	int fds[2];
	pid_t pid;

	if (vl_agent_arg_workload(req, "stress-start", true, &p, code, err) < 0)
		return -1;
	st = calloc(1, sizeof(*st));
	if (!st)
		return vl_error_set(err, "stress-start: out of memory");
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(st);
		return vl_error_errno(err, errno, "stress-start: creating a pipe");
	}
	/* Blocked until the child has its own handler: an early stop must not
	 * kill it before it can report. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		run_child(&p, s->workdir, fds[1]);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		free(st);
		return vl_error_errno(err, errno, "stress-start: forking %s", p.workload->name);
	}
	st->id = ++s->next_stress_id;
	st->pid = pid;
	st->result_fd = fds[0];
	snprintf(st->workload, sizeof(st->workload), "%s", p.workload->name);
	st->next = s->stressors;
	s->stressors = st;
	*result = json_pack("{s:i, s:i}", "stress_id", (json_int_t)st->id, "pid", (json_int_t)pid);
	return 0;
}

/* Reads the child's result until EOF or the deadline. */
static int read_result(struct stressor *st, uint64_t deadline_ns, char **out, size_t *len)
{
	size_t cap = 0;

	*out = NULL;
	*len = 0;
	for (;;) {
		struct pollfd pfd = {.fd = st->result_fd, .events = POLLIN};
		uint64_t now = vl_now_ns();
		ssize_t n;

		if (now >= deadline_ns)
			return -1;
		if (poll(&pfd, 1, (int)((deadline_ns - now) / 1000000 + 1)) < 0 && errno != EINTR)
			return -1;
		if (!pfd.revents)
			continue;
		if (cap - *len < 4096) {
			char *grown = realloc(*out, cap + 65536);
			if (!grown)
				return -1;
			*out = grown;
			cap += 65536;
		}
		n = read(st->result_fd, *out + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	(*out)[*len] = '\0';
	return 0;
}

/* Stops st (already unlinked), frees it and gives the stressor's own result. */
static int stop_stressor(struct stressor *st, double timeout_s, json_t **sample, vl_error *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	int status = 0, rc;

	kill(st->pid, SIGTERM);
	rc = read_result(st, vl_now_ns() + (uint64_t)(timeout_s * 1e9), &text, &len);
	if (rc < 0)
		kill(st->pid, SIGKILL);
	while (waitpid(st->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(st->result_fd);
	if (rc < 0)
		vl_error_set(err, "stressor %u (%s) did not stop within %.1f s; killed", st->id,
		             st->workload, timeout_s);
	else if (!(*sample = json_loadb(text, len, 0, NULL)))
		rc = vl_error_set(err, "stressor %u (%s) exited without a result (%s %d)", st->id,
		                  st->workload, WIFSIGNALED(status) ? "signal" : "status",
		                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	free(st);
	return rc;
}

int vl_agent_op_stress_stop(struct vl_agent_session *s, json_t *req, json_t **result,
                            const char **code, vl_error *err)
{
	struct stressor **link, *st;
	json_t *sample = NULL;
	unsigned id;
	double timeout_s;
	char name[sizeof(st->workload)];

	(void)code;
	if (vl_agent_arg_uint(req, "stress-stop", "stress_id", -1, 1, ~0u, &id, err) < 0 ||
	    vl_agent_arg_double(req, "stress-stop", "timeout", 10, 0.1, 3600, &timeout_s, err) < 0)
		return -1;
	for (link = &s->stressors; *link && (*link)->id != id; link = &(*link)->next)
		;
	if (!*link)
		return vl_error_input(err, "stress-stop: no running stressor has stress_id %u", id);
	st = *link;
	*link = st->next;
	snprintf(name, sizeof(name), "%s", st->workload);
	if (stop_stressor(st, timeout_s, &sample, err) < 0)
		return -1;
	*result = json_pack("{s:i, s:s, s:o}", "stress_id", (json_int_t)id, "workload", name,
	                    "sample", sample);
	return 0;
}

void vl_agent_stop_stressors(struct vl_agent_session *s)
{
	struct stressor *st;

	/* Signal all first so that they wind down in parallel. */
	for (st = s->stressors; st; st = st->next)
		kill(st->pid, SIGTERM);
	while ((st = s->stressors)) {
		json_t *sample = NULL;
		vl_error ignored = {0};
		s->stressors = st->next;
		stop_stressor(st, EXIT_STOP_TIMEOUT_S, &sample, &ignored);
		json_decref(sample);
	}
}
