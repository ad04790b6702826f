#include "core/proc.h"
#include "core/clock.h"
#include "core/cleanup.h"
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int prepare_attributes(posix_spawnattr_t *attr, bool new_group)
{
	sigset_t defaults, empty;
	short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;

	/* Ignored signals survive exec; the child must not inherit our SIGPIPE
	 * or a shell's ignored SIGINT. */
	sigfillset(&defaults);
	sigdelset(&defaults, SIGKILL);
	sigdelset(&defaults, SIGSTOP);
	sigemptyset(&empty);
	if (new_group)
		flags |= POSIX_SPAWN_SETPGROUP;
	if (posix_spawnattr_setflags(attr, flags) ||
	    posix_spawnattr_setsigdefault(attr, &defaults) ||
	    posix_spawnattr_setsigmask(attr, &empty) || posix_spawnattr_setpgroup(attr, 0))
		return -1;
	return 0;
}

int vl_spawn(const char *path, char *const argv[], const struct vl_spawn_options *opts, pid_t *pid,
             vl_error *err)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	int rc = posix_spawn_file_actions_init(&actions);

	if (rc)
		return vl_error_errno(err, rc, "spawning %s", path);
	rc = posix_spawnattr_init(&attr);
	if (rc) {
		posix_spawn_file_actions_destroy(&actions);
		return vl_error_errno(err, rc, "spawning %s", path);
	}
	rc = prepare_attributes(&attr, opts->new_group) ? ENOMEM : 0;
	/* dup2 onto the same number clears close-on-exec (glibc >= 2.29). */
	for (size_t i = 0; !rc && i < opts->n_keep_fds; i++)
		rc = posix_spawn_file_actions_adddup2(&actions, opts->keep_fds[i],
		                                      opts->keep_fds[i]);
	if (!rc && opts->cwd)
		rc = posix_spawn_file_actions_addchdir_np(&actions, opts->cwd);
	if (!rc && opts->output_path)
		rc = posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, opts->output_path,
		                                      O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (!rc && opts->output_path)
		rc = posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
	if (!rc)
		rc = posix_spawn(pid, path, &actions, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	if (rc)
		return vl_error_errno(err, rc, "spawning %s", path);
	return 0;
}

int vl_proc_wait_exit(pid_t pid, double timeout_s, bool *exited, vl_error *err)
{
	uint64_t start = vl_now_ns();
	uint64_t pause_ns = 100000;

	*exited = false;
	for (;;) {
		siginfo_t info = {0};
		if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			return vl_error_errno(err, errno, "waiting for process %d", (int)pid);
		}
		if (info.si_pid == pid) {
			*exited = true;
			return 0;
		}
		if (vl_seconds_since(start) >= timeout_s)
			return 0;
		/* Back off from 0.1 ms to 10 ms: quick exits are noticed quickly
		 * without spinning on slow ones. */
		vl_sleep_ns(pause_ns, NULL);
		if (pause_ns < 10000000)
			pause_ns *= 2;
	}
}

int vl_proc_kill_group(pid_t pgid, int sig, vl_error *err)
{
	if (pgid <= 1)
		return vl_error_set(err, "refusing to signal process group %d", (int)pgid);
	if (kill(-pgid, sig) < 0 && errno != ESRCH)
		return vl_error_errno(err, errno, "signalling process group %d", (int)pgid);
	return 0;
}

int vl_proc_reap(pid_t pid, int *status, vl_error *err)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return vl_error_errno(err, errno, "reaping process %d", (int)pid);
	}
	return 0;
}

const char *vl_proc_describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "wait status 0x%x", (unsigned)status);
	return buf;
}

/* A "Name:  1234 kB" line of smaps_rollup. */
static uint64_t smaps_field(const char *text, const char *name)
{
	const char *line = strstr(text, name);
	unsigned long long kib = 0;

	if (line)
		sscanf(line + strlen(name), "%llu", &kib);
	return kib * 1024ull;
}

int vl_proc_memory_add(pid_t pid, uint64_t *rss, uint64_t *pss, vl_error *err)
{
	cleanup_free char *text = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (vl_read_file(path, &text, NULL, err) < 0)
		return -1;
	*rss += smaps_field(text, "\nRss:");
	*pss += smaps_field(text, "\nPss:");
	return 0;
}

const char *vl_proc_self_exe(void)
{
	const char *self = getenv("VIRTLAB_SELF");

	return self && self[0] ? self : "/proc/self/exe";
}
