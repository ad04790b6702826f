/* SIGINT and SIGTERM for the virtlab process: they set a flag that long
 * operations poll, and are forwarded to the process groups of the guests we
 * started, so that a call blocked on a guest ends and everything is stopped
 * on the normal cleanup path. A second signal forwards SIGKILL. */
#pragma once
#include <sys/types.h>
#include "core/error.h"

/* Installs the handlers (without SA_RESTART, so blocking calls see EINTR)
 * and ignores SIGPIPE: a dead guest is an error reply, not our death. */
int vl_interrupt_install(vl_error *err);
/* The first signal received, 0 when none. */
int vl_interrupt_signal(void);
/* Suitable for vl_run_ctx.stop: non-zero once a signal arrived. */
const volatile int *vl_interrupt_flag(void);
/* Sleeps until a signal arrives (returns at once if one already has);
 * needs vl_interrupt_install(). */
void vl_interrupt_wait(void);
/* Adds or removes a process group to forward signals to. */
int vl_interrupt_forward_to(pid_t pgid, vl_error *err);
void vl_interrupt_forget(pid_t pgid);
