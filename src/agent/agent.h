/* The guest side: serves requests from a byte stream until shutdown or EOF. */
#pragma once
#include <stdbool.h>
#include "core/error.h"

struct vl_agent_options {
	const char *workdir; /* for disk workloads; default: the current directory */
	unsigned max_line;   /* request size limit; 0 = default (1 MiB) */
	/* Optional: set non-zero (by the caller's signal handler) to stop the
	 * agent: a running workload ends early, the session's stressors and
	 * endpoints are stopped and serving returns. stop_fd must then become
	 * readable too (a self-pipe) so that a blocked read wakes up; stop_fd is
	 * used only when stop is set. */
	const volatile int *stop;
	int stop_fd;
	/* Optional: a program run as `prepare WORKDIR` before the first request
	 * that starts work (run, stress-start, serve, exec), so that a guest can
	 * answer hello before it has made its disk ready (a QEMU guest mounts it
	 * there) and no work starts before it has. When it fails, that request
	 * fails and the next one runs it again. prepared (required with prepare)
	 * remembers success across the sessions of one agent process. */
	const char *prepare;
	bool *prepared;
};

/* Why a session ended. */
enum vl_agent_end {
	VL_AGENT_END_EOF,      /* the channel closed (the host went away) */
	VL_AGENT_END_SHUTDOWN, /* the host sent "shutdown" */
	VL_AGENT_END_STOPPED,  /* *opts->stop was set */
};

/* Serves JSON-lines requests read from in_fd, replies to out_fd (they may be
 * the same socket). Returns 0 on shutdown or end of input. */
int vl_agent_serve(int in_fd, int out_fd, const struct vl_agent_options *opts, vl_error *err);
/* Like vl_agent_serve() and reports why serving ended, so a caller serving a
 * socket or a device can wait for the next host after EOF. Stressors and
 * endpoints belong to the session: they are stopped when it ends. */
int vl_agent_serve_channel(int in_fd, int out_fd, const struct vl_agent_options *opts,
                           enum vl_agent_end *end, vl_error *err);
