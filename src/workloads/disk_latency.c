/* disk.latency: ioping semantics (thesis w4; `ioping -c 20 -s 4k -D DIR`).
 *
 * As ioping does for a directory target: a temporary file of file_size
 * bytes (ioping's 1 MiB working set) is written and fsync'ed; then `count`
 * reads of `size` bytes at random size-aligned offsets, each preceded by
 * posix_fadvise(DONTNEED) outside the timed part, one every `interval`
 * seconds (ioping schedules the next request an interval after the
 * previous one was due). The first `warmup` requests are left out of the
 * figures, so the default 20 requests give 19 samples.
 *
 * The default interval is ioping's 1 s: a spaced request is several times
 * slower than back-to-back ones on most devices, and the thesis used
 * ioping's default. Shorter runs need a smaller interval, and the
 * reference must then get the same `-i`.
 *
 * The file is opened with O_TMPFILE (or unlinked at once), so it leaves
 * nothing behind on any exit. Every read is checked against the data
 * written, after its timing. */
#include "workloads/registry.h"
#include "workloads/disk_fileio.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIRECT_ALIGN 4096

static const struct vl_param_spec params[] = {
        {.name = "count",
         .type = VL_PARAM_INT,
         .def = "20",
         .min = 2,
         .max = 1e9,
         .help = "requests, warmup included (ioping -c)"},
        {.name = "size",
         .type = VL_PARAM_SIZE,
         .def = "4K",
         .min = 512,
         .max = 64.0 * 1024 * 1024,
         .help = "bytes per request, a multiple of 512 (ioping -s)"},
        {.name = "file_size",
         .type = VL_PARAM_SIZE,
         .def = "1M",
         .min = 512,
         .max = 1024.0 * 1024 * 1024 * 1024,
         .help = "working set: size of the file read (ioping -S)"},
        {.name = "interval",
         .type = VL_PARAM_DOUBLE,
         .def = "1",
         .min = 0,
         .max = 3600,
         .help = "seconds between requests (ioping -i)"},
        {.name = "warmup",
         .type = VL_PARAM_INT,
         .def = "1",
         .min = 0,
         .max = 1e9,
         .help = "first requests left out of the figures (ioping -a)"},
        {.name = "direct",
         .type = VL_PARAM_BOOL,
         .def = "true",
         .help = "read with O_DIRECT (ioping -D)"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "avg_us", .unit = "us", .better = -1, .help = "mean request latency"},
        {.name = "min_us", .unit = "us", .better = -1, .help = "fastest request"},
        {.name = "max_us", .unit = "us", .better = -1, .help = "slowest request"},
        {.name = "mdev_us",
         .unit = "us",
         .better = -1,
         .help = "standard deviation of the latency (population, as ioping)"},
        {0},
};

static int validate(const struct vl_params *p, vl_error *err)
{
	int64_t size = vl_param_int(p, "size");

	if (size % 512)
		return vl_error_input(err,
		                      "disk.latency: parameter 'size' must be a multiple of "
		                      "512 (got %lld)",
		                      (long long)size);
	if (vl_param_int(p, "file_size") % size)
		return vl_error_input(err,
		                      "disk.latency: parameter 'file_size' must be a multiple "
		                      "of size (%lld bytes)",
		                      (long long)size);
	if (vl_param_int(p, "warmup") >= vl_param_int(p, "count"))
		return vl_error_input(err,
		                      "disk.latency: parameter 'warmup' must be below count "
		                      "(%lld), or no request is measured",
		                      (long long)vl_param_int(p, "count"));
	return 0;
}

/* The content of the request-sized chunk at `offset`. */
static void fill_chunk(uint64_t *buf, size_t words, uint64_t offset)
{
	uint64_t state = offset;

	for (size_t i = 0; i < words; i++)
		buf[i] = vl_splitmix64(&state);
}

static bool chunk_is_right(const uint64_t *buf, size_t words, uint64_t offset)
{
	uint64_t state = offset;

	for (size_t i = 0; i < words; i++)
		if (buf[i] != vl_splitmix64(&state))
			return false;
	return true;
}

static int open_unnamed(const char *dir, vl_error *err)
{
	char path[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	/* File systems without O_TMPFILE: a named file, unlinked at once. */
	if ((size_t)snprintf(path, sizeof(path), "%s/virtlab-ioping-XXXXXX", dir) >= sizeof(path))
		return vl_error_input(err, "work directory path '%s' is too long", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return vl_error_errno(err, errno, "creating a file in %s", dir);
	unlink(path);
	return fd;
}

static int prepare(int fd, uint64_t *buf, size_t size, uint64_t file_size, vl_error *err)
{
	for (uint64_t pos = 0; pos < file_size; pos += size) {
		ssize_t n;

		fill_chunk(buf, size / 8, pos);
		n = pwrite(fd, buf, size, (off_t)pos);
		if (n != (ssize_t)size)
			return n < 0 ? vl_error_errno(err, errno, "writing the test file")
			             : vl_error_set(err, "writing the test file: short write");
	}
	if (fsync(fd) < 0)
		return vl_error_errno(err, errno, "syncing the test file");
	posix_fadvise(fd, 0, (off_t)file_size, POSIX_FADV_RANDOM);
	return 0;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	size_t size = (size_t)vl_param_int(p, "size");
	uint64_t file_size = (uint64_t)vl_param_int(p, "file_size");
	uint64_t chunks = file_size / size;
	int64_t count = vl_param_int(p, "count"), warmup = vl_param_int(p, "warmup");
	uint64_t interval = (uint64_t)(vl_param_double(p, "interval") * 1e9);
	uint64_t rng = vl_now_ns(), next;
	double sum = 0, sum2 = 0, min = INFINITY, max = 0, n = 0;
	cleanup_free uint64_t *buf = NULL;
	cleanup_close int fd = open_unnamed(ctx->workdir, err);

	if (fd < 0)
		return vl_error_wrap(err, "disk.latency");
	if (vl_param_bool(p, "direct") && fcntl(fd, F_SETFL, O_DIRECT) < 0)
		return vl_result_unsupported(r, "disk.latency: O_DIRECT is not supported in %s",
		                             ctx->workdir);
	if (posix_memalign((void **)&buf, DIRECT_ALIGN, size))
		return vl_error_errno(err, ENOMEM, "disk.latency: allocating a buffer");
	if (prepare(fd, buf, size, file_size, err) < 0)
		return vl_error_wrap(err, "disk.latency");

	next = vl_now_ns();
	for (int64_t req = 1; req <= count && !*ctx->stop; req++) {
		uint64_t offset = vl_splitmix64(&rng) % chunks * size;
		uint64_t t0, t1;
		ssize_t got;

		posix_fadvise(fd, (off_t)offset, (off_t)size, POSIX_FADV_DONTNEED);
		t0 = vl_now_ns();
		got = pread(fd, buf, size, (off_t)offset);
		t1 = vl_now_ns();
		if (got != (ssize_t)size)
			return got < 0 ? vl_error_errno(err, errno, "disk.latency: reading")
			               : vl_error_set(err, "disk.latency: short read");
		if (!chunk_is_right(buf, size / 8, offset))
			return vl_result_fail(r,
			                      "disk.latency: read at offset %llu returned "
			                      "wrong data",
			                      (unsigned long long)offset);
		if (req > warmup) {
			double us = (double)(t1 - t0) / 1e3;
			sum += us;
			sum2 += us * us;
			min = us < min ? us : min;
			max = us > max ? us : max;
			n++;
		}
		next += interval;
		if (t1 > next)
			next = t1;
		if (req < count) {
			uint64_t now = vl_now_ns();
			if (next > now)
				vl_sleep_ns(next - now, ctx->stop);
		}
	}
	if (*ctx->stop)
		return vl_result_fail(r, "disk.latency: stopped after %.0f requests", n);
	vl_result_set(r, "avg_us", sum / n);
	vl_result_set(r, "min_us", min);
	vl_result_set(r, "max_us", max);
	vl_result_set(r, "mdev_us", sqrt(fmax(0, sum2 / n - (sum / n) * (sum / n))));
	return 0;
}

const struct vl_workload vl_workload_disk_latency = {
        .name = "disk.latency",
        .summary = "disk request latency (ioping: 4 KiB direct random reads)",
        .thesis = "w4 (ioping)",
        .params = params,
        .metrics = metrics,
        .validate = validate,
        .run = run,
};
