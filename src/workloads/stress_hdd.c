/* stress.hdd: stress --hdd semantics. Each worker creates a file under the
 * work directory, unlinks it at once (as stress does, so nothing is left
 * behind even if the process is killed), writes hdd_bytes to it in writes of
 * stress's 1 MiB - 1 bytes, closes it, and starts again. One bogo op is one
 * write. */
#include "workloads/registry.h"
#include "workloads/stress_runner.h"
#include "core/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHUNK ((1u << 20) - 1)

static const struct vl_param_spec params[] = {
        VL_STRESS_PARAMS,
        {.name = "hdd_bytes",
         .type = VL_PARAM_SIZE,
         .def = "1G",
         .min = 4096,
         .max = 1ull << 44,
         .help = "bytes each worker writes per file (stress --hdd-bytes)"},
        {0},
};

struct hdd_job {
	const char *dir;
	uint64_t bytes;
};

/* Writes one file's worth; returns 0, or an errno value. */
static int write_file(int fd, const char *buf, uint64_t bytes, const volatile int *quit,
                      uint64_t *ops)
{
	for (uint64_t done = 0; done < bytes && !*quit;) {
		size_t len = bytes - done < CHUNK ? (size_t)(bytes - done) : CHUNK;
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno != EINTR)
			return errno;
		if (n > 0) {
			done += (uint64_t)n;
			(*ops)++;
		}
	}
	return 0;
}

static int writer(void *arg, unsigned worker, const volatile int *quit, uint64_t *ops,
                  vl_error *err)
{
	const struct hdd_job *job = arg;
	cleanup_free char *buf = malloc(CHUNK);
	unsigned seed = worker + 1;

	*ops = 0;
	if (!buf)
		return vl_error_errno(err, ENOMEM, "allocating the write buffer");
	/* Random printable text ending in a newline, like stress's buffer. */
	for (size_t i = 0; i < CHUNK - 1; i++)
		buf[i] = (char)(' ' + rand_r(&seed) % 95);
	buf[CHUNK - 1] = '\n';
	while (!*quit) {
		char path[PATH_MAX];
		int rc;
		cleanup_close int fd = -1;

		snprintf(path, sizeof(path), "%s/virtlab-stress-hdd.XXXXXX", job->dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			return vl_error_errno(err, errno, "creating a file in %s", job->dir);
		if (unlink(path) < 0)
			return vl_error_errno(err, errno, "unlinking %s", path);
		rc = write_file(fd, buf, job->bytes, quit, ops);
		if (rc != 0)
			return vl_error_errno(err, rc, "writing to a file in %s", job->dir);
	}
	return 0;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	struct hdd_job job = {.dir = ctx->workdir ? ctx->workdir : ".",
	                      .bytes = (uint64_t)vl_param_int(p, "hdd_bytes")};

	return vl_stress_run(p, ctx, writer, &job, r, err);
}

const struct vl_workload vl_workload_stress_hdd = {
        .name = "stress.hdd",
        .summary =
                "disk stressor: workers write hdd_bytes to a file, unlink, repeat (stress --hdd)",
        .thesis = "isolation experiments (chapter 6)",
        .params = params,
        .metrics = vl_stress_metrics,
        .run = run,
        .is_stressor = true,
};
