/* The bare platform: the agent as a plain child process of virtlab, talking
 * over a socketpair. It is the study's baseline, so it adds nothing between
 * the workload and the host. */
#include "platforms/platform.h"
#include "core/cleanup.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HELLO_TIMEOUT_S    30.0
#define SHUTDOWN_TIMEOUT_S 2.0
/* After shutdown (or EOF) the agent exits at once; SIGTERM lets a workload
 * that is still running remove its files before SIGKILL ends everything. */
#define EXIT_GRACE_S 1.0
#define TERM_GRACE_S 5.0

struct bare {
	pid_t pid; /* 0 when not running; also the agent's process group */
	int fd;    /* our end of the socketpair */
};

static void probe(struct vl_probe *out)
{
	memset(out, 0, sizeof(*out));
	out->usable = true;
	snprintf(out->accel, sizeof(out->accel), "native");
}

static int provision(struct vl_guest *g, vl_error *err)
{
	(void)g;
	(void)err;
	return 0;
}

static const char *verbosity_flag(void)
{
	switch (vl_log_get_level()) {
	case VL_LOG_QUIET:
	case VL_LOG_ERROR:
		return "-q";
	case VL_LOG_INFO:
		return "-v";
	case VL_LOG_DEBUG:
		return "-vv";
	default:
		return NULL;
	}
}

static int open_channel(struct vl_guest *g, int *fd, vl_error *err)
{
	struct bare *b = g->priv;

	if (!b || !b->pid)
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	*fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 0);
	if (*fd < 0)
		return vl_error_errno(err, errno, "duplicating the channel of guest %s",
		                      g->spec.name);
	return 0;
}

/* Ends the agent's process group and reaps the agent, whatever state it is
 * in; the group is signalled while the agent is still unreaped, so that its
 * id cannot have been reused. */
static int terminate(struct vl_guest *g, int *status, vl_error *err)
{
	struct bare *b = g->priv;
	bool exited = false;
	vl_error ignored = {0};
	int rc;

	/* EOF ends an idle agent that missed the shutdown request. */
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	vl_proc_wait_exit(b->pid, EXIT_GRACE_S, &exited, &ignored);
	if (!exited) {
		vl_debug("agent of %s (pid %d) still running: SIGTERM", g->spec.name, (int)b->pid);
		vl_proc_kill_group(b->pid, SIGTERM, &ignored);
		vl_proc_wait_exit(b->pid, TERM_GRACE_S, &exited, &ignored);
	}
	if (!exited)
		vl_debug("agent of %s (pid %d) ignored SIGTERM: SIGKILL", g->spec.name,
		         (int)b->pid);
	/* Also ends anything the agent left behind in its group. */
	vl_proc_kill_group(b->pid, SIGKILL, &ignored);
	rc = vl_proc_reap(b->pid, status, err);
	vl_interrupt_forget(b->pid);
	b->pid = 0;
	return rc;
}

static int stop(struct vl_guest *g, vl_error *err)
{
	struct bare *b = g->priv;
	vl_error ignored = {0};
	int status;

	if (!b || !b->pid)
		return 0;
	/* Best effort: a dead or busy agent is dealt with by terminate(). */
	vl_guest_agent_call(g, "shutdown", SHUTDOWN_TIMEOUT_S, NULL, &ignored);
	if (terminate(g, &status, err) < 0)
		return vl_error_wrap(err, "stopping guest %s", g->spec.name);
	return 0;
}

static int start(struct vl_guest *g, vl_error *err)
{
	struct bare *b = g->priv;
	cleanup_close int ours = -1;
	cleanup_close int theirs = -1;
	int sv[2];
	char fd_text[16];
	char *argv[8];
	int argc = 0;
	const char *flag = verbosity_flag();
	struct vl_spawn_options opts = {.n_keep_fds = 1, .new_group = true};
	pid_t pid;

	if (b && b->pid)
		return vl_error_set(err, "guest %s is already running", g->spec.name);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return vl_error_errno(err, errno, "starting guest %s", g->spec.name);
		b->fd = -1;
		g->priv = b;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vl_error_errno(err, errno, "starting guest %s: socketpair", g->spec.name);
	ours = sv[0];
	theirs = sv[1];
	snprintf(fd_text, sizeof(fd_text), "%d", theirs);
	argv[argc++] = "virtlab";
	if (flag)
		argv[argc++] = (char *)flag;
	argv[argc++] = "agent";
	argv[argc++] = "--fd";
	argv[argc++] = fd_text;
	argv[argc] = NULL;
	opts.keep_fds = &theirs;
	opts.cwd = g->spec.workdir[0] ? g->spec.workdir : NULL;
	if (vl_spawn(vl_proc_self_exe(), argv, &opts, &pid, err) < 0)
		return vl_error_wrap(err, "starting guest %s", g->spec.name);
	/* Only the agent may hold its end, or we would never see EOF if it dies. */
	close(vl_steal_fd(theirs));
	b->pid = pid;
	b->fd = vl_steal_fd(ours);
	if (vl_interrupt_forward_to(pid, err) < 0 ||
	    vl_guest_agent_call(g, "hello", HELLO_TIMEOUT_S, NULL, err) < 0) {
		int status = 0;
		char how[96];
		vl_error ignored = {0};
		terminate(g, &status, &ignored);
		return vl_error_wrap(err, "starting guest %s (agent %s)", g->spec.name,
		                     vl_proc_describe_status(status, how, sizeof(how)));
	}
	vl_debug("guest %s: agent pid %d", g->spec.name, (int)pid);
	return 0;
}

static int reboot(struct vl_guest *g, vl_error *err)
{
	if (stop(g, err) < 0)
		return -1;
	return start(g, err);
}

static int destroy(struct vl_guest *g, vl_error *err)
{
	int rc = stop(g, err);

	free(g->priv);
	g->priv = NULL;
	return rc;
}

static int footprint(struct vl_guest *g, struct vl_footprint *out, vl_error *err)
{
	struct bare *b = g->priv;

	memset(out, 0, sizeof(*out));
	if (!b || !b->pid)
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	if (vl_proc_memory_add(b->pid, &out->rss_bytes, &out->pss_bytes, err) < 0)
		return vl_error_wrap(err, "footprint of guest %s", g->spec.name);
	return 0;
}

const struct vl_platform vl_platform_bare = {
        .name = "bare",
        .summary = "the agent as a plain child process (the baseline)",
        .probe = probe,
        .provision = provision,
        .start = start,
        .stop = stop,
        .reboot = reboot,
        .destroy = destroy,
        .open_channel = open_channel,
        .footprint = footprint,
};
