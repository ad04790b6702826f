/* The null platform: the agent runs in a thread of this process, over a
 * socketpair. It starts in microseconds and needs nothing from the host, so
 * the study engine, the agent protocol and the reports can be tested
 * without guests. Not a measurement baseline: use bare for that. */
#include "platforms/platform.h"
#include "agent/agent.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HELLO_TIMEOUT_S 10.0

struct null_guest {
	bool running;
	pthread_t thread;
	int fd;       /* ours */
	int agent_fd; /* the agent thread's */
	/* Stopping sets the flag and writes to the pipe, which ends a running
	 * workload early and wakes the agent's read. */
	volatile int stop_flag;
	int stop_pipe[2];
	struct vl_agent_options opts;
	vl_error agent_err;
};

static void probe(struct vl_probe *out)
{
	memset(out, 0, sizeof(*out));
	out->usable = true;
	snprintf(out->accel, sizeof(out->accel), "none");
	snprintf(out->reason, sizeof(out->reason), "in-process agent: for tests, not measurements");
}

static void *serve(void *arg)
{
	struct null_guest *n = arg;

	vl_agent_serve(n->agent_fd, n->agent_fd, &n->opts, &n->agent_err);
	return NULL;
}

static int open_channel(struct vl_guest *g, int *fd, vl_error *err)
{
	struct null_guest *n = g->priv;

	if (!n || !n->running)
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	*fd = fcntl(n->fd, F_DUPFD_CLOEXEC, 0);
	if (*fd < 0)
		return vl_error_errno(err, errno, "duplicating the channel of guest %s",
		                      g->spec.name);
	return 0;
}

static void close_fds(struct null_guest *n)
{
	close(n->fd);
	close(n->agent_fd);
	close(n->stop_pipe[0]);
	close(n->stop_pipe[1]);
}

static int stop(struct vl_guest *g, vl_error *err)
{
	struct null_guest *n = g->priv;

	(void)err;
	if (!n || !n->running)
		return 0;
	n->stop_flag = 1;
	if (write(n->stop_pipe[1], "", 1) < 0)
		shutdown(n->fd, SHUT_RDWR); /* EOF ends serving as well, after any workload */
	pthread_join(n->thread, NULL);
	if (n->agent_err.kind != VL_ERR_NONE)
		vl_debug("agent of guest %s: %s", g->spec.name, n->agent_err.msg);
	close_fds(n);
	n->running = false;
	return 0;
}

static int start_thread(struct null_guest *n, vl_error *err)
{
	sigset_t all, old;
	int rc;

	/* Signals are for the main thread, whose blocking calls they interrupt. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&n->thread, NULL, serve, n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return vl_error_errno(err, rc, "creating the agent thread");
	return 0;
}

static int start(struct vl_guest *g, vl_error *err)
{
	struct null_guest *n = g->priv;
	int sv[2];

	if (n && n->running)
		return vl_error_set(err, "guest %s is already running", g->spec.name);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return vl_error_errno(err, errno, "starting guest %s", g->spec.name);
		g->priv = n;
	}
	if (pipe2(n->stop_pipe, O_CLOEXEC) < 0)
		return vl_error_errno(err, errno, "starting guest %s: pipe", g->spec.name);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(n->stop_pipe[0]);
		close(n->stop_pipe[1]);
		return vl_error_errno(err, errno, "starting guest %s: socketpair", g->spec.name);
	}
	n->fd = sv[0];
	n->agent_fd = sv[1];
	n->stop_flag = 0;
	n->opts.workdir = g->spec.workdir[0] ? g->spec.workdir : NULL;
	n->opts.stop = &n->stop_flag;
	n->opts.stop_fd = n->stop_pipe[0];
	vl_error_clear(&n->agent_err);
	if (start_thread(n, err) < 0) {
		close_fds(n);
		return vl_error_wrap(err, "starting guest %s", g->spec.name);
	}
	n->running = true;
	if (vl_guest_agent_call(g, "hello", HELLO_TIMEOUT_S, NULL, err) < 0) {
		vl_error ignored = {0};
		stop(g, &ignored);
		return vl_error_wrap(err, "starting guest %s", g->spec.name);
	}
	return 0;
}

static int destroy(struct vl_guest *g, vl_error *err)
{
	int rc = stop(g, err);

	free(g->priv);
	g->priv = NULL;
	return rc;
}

const struct vl_platform vl_platform_null = {
        .name = "null",
        .summary = "the agent in a thread of virtlab (tests the engine; measures nothing)",
        .probe = probe,
        .start = start,
        .stop = stop,
        .destroy = destroy,
        .open_channel = open_channel,
};
