/* The guest side: serves requests from a byte stream until shutdown or EOF. */
#pragma once
#include "core/error.h"

struct vl_agent_options {
	const char *workdir; /* for disk workloads; default: the current directory */
	unsigned max_line;   /* request size limit; 0 = default (1 MiB) */
};

/* Serves JSON-lines requests read from in_fd, replies to out_fd (they may be
 * the same socket). Returns 0 on shutdown or end of input. */
int vl_agent_serve(int in_fd, int out_fd, const struct vl_agent_options *opts, vl_error *err);
