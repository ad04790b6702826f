/* Child processes: spawn with inherited fds, wait with a deadline, signal a
 * process group. Mechanism only; when to escalate is the caller's choice. */
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/error.h"

struct vl_spawn_options {
	/* Descriptors the child keeps at the same numbers; every other one is
	 * expected to be close-on-exec already. */
	const int *keep_fds;
	size_t n_keep_fds;
	/* The child leads a new process group (pgid == pid), so that a terminal's
	 * ^C reaches only us and the whole group can be signalled at once. */
	bool new_group;
	const char *cwd; /* NULL: ours */
	/* Where the child's stdout and stderr go (appended); NULL: ours. */
	const char *output_path;
};

/* Executes path with argv, default signal dispositions and an empty mask. */
int vl_spawn(const char *path, char *const argv[], const struct vl_spawn_options *opts, pid_t *pid,
             vl_error *err);
/* Waits up to timeout_s for pid to exit, without reaping it, so that its pid
 * (and process group id) cannot be reused meanwhile. */
int vl_proc_wait_exit(pid_t pid, double timeout_s, bool *exited, vl_error *err);
/* Signals every process in group pgid; a group already empty is not an error. */
int vl_proc_kill_group(pid_t pgid, int sig, vl_error *err);
/* The program that starts another virtlab process: $VIRTLAB_SELF when set
 * (virtlab's bundle runs virtlab through its own loader, so that
 * /proc/self/exe is the loader), else /proc/self/exe. */
const char *vl_proc_self_exe(void);
/* Reaps pid, blocking until it has exited; *status as waitpid gives it. */
int vl_proc_reap(pid_t pid, int *status, vl_error *err);
/* "exited with status 1", "killed by signal 9 (Killed)". */
const char *vl_proc_describe_status(int status, char *buf, size_t size);

/* Adds a process's resident and proportional memory (smaps_rollup) to *rss
 * and *pss, in bytes. */
int vl_proc_memory_add(pid_t pid, uint64_t *rss, uint64_t *pss, vl_error *err);
