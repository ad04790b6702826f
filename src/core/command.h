/* Running a program without a shell and capturing what it prints: the
 * reference tools that calibrate compares against, version probes. The child
 * gets /dev/null as stdin and dies with its parent (PR_SET_PDEATHSIG). For
 * children that outlive a call (servers, guests), see core/proc.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "core/error.h"

/* Output kept per stream; the rest is read and dropped so the child never
 * blocks on a full pipe. */
#define VL_COMMAND_OUTPUT_MAX (4u << 20)

struct vl_command_result {
	char *out;        /* stdout, NUL-terminated; owned */
	char *err;        /* stderr, NUL-terminated; owned */
	int status;       /* as waitpid() gives it */
	int exit_code;    /* exit status, or -1 when a signal ended it */
	double elapsed_s; /* from fork to exit: includes exec and start-up */
};

/* Finds an executable named `name` in $PATH (or takes `name` as is when it
 * holds a '/'). Returns false when there is none. */
bool vl_find_program(const char *name, char *path, size_t size);

/* Runs argv[0] (looked up in $PATH) with argv, in directory cwd (NULL: the
 * current one), capturing stdout and stderr. Kills the child (SIGKILL) and
 * fails when timeout_s (0: none) passes or *stop (may be NULL) becomes
 * non-zero. A child that exits non-zero is not an error here: the caller
 * reads res->exit_code. res must be released with vl_command_result_release(). */
int vl_command_run(const char *const argv[], const char *cwd, double timeout_s,
                   const volatile int *stop, struct vl_command_result *res, vl_error *err);
/* The same with stdin_fd as the child's stdin (-1: /dev/null): input to
 * send, or a pipe whose write end the caller keeps open so that the child
 * (ssh) sees end-of-file only when the caller is gone. */
int vl_command_run_input(const char *const argv[], const char *cwd, int stdin_fd, double timeout_s,
                         const volatile int *stop, struct vl_command_result *res, vl_error *err);
void vl_command_result_release(struct vl_command_result *res);

/* "exited with status 1: <first line of stderr>": for messages. */
const char *vl_command_describe_failure(const struct vl_command_result *res, char *buf,
                                        size_t size);
