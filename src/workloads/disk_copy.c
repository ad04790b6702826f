/* disk.copy: dd semantics (thesis w4: "copy 1024 MB files with fdatasync and
 * dsync"), i.e. `dd if=SRC of=DST bs=1M conv=fdatasync` or `oflag=dsync`.
 *
 * The source is written and fsync'ed before the timed part, so, as with dd
 * on a file just made, it is read from the page cache. The timed part runs
 * from the first read to the close of the destination, as dd's statistics
 * do: read/write of `block` bytes until the end, then one fdatasync
 * (fdatasync mode) or none, every write having been synchronous (dsync
 * mode, O_DSYNC). MB/s is decimal like dd's. The copy is compared with the
 * source afterwards; both files and their directory are always removed. */
#include "workloads/registry.h"
#include "workloads/disk_fileio.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_ALIGN 4096

static const struct vl_param_spec params[] = {
        {.name = "size",
         .type = VL_PARAM_SIZE,
         .def = "1G",
         .min = 1024 * 1024,
         .max = 1024.0 * 1024 * 1024 * 1024,
         .help = "bytes in the file copied"},
        {.name = "block",
         .type = VL_PARAM_SIZE,
         .def = "1M",
         .min = 512,
         .max = 1024.0 * 1024 * 1024,
         .help = "bytes per read and write (dd bs=)"},
        {.name = "mode",
         .type = VL_PARAM_CHOICE,
         .def = "fdatasync",
         .choices = "fdatasync,dsync",
         .help = "fdatasync once at the end (conv=fdatasync) or O_DSYNC writes (oflag=dsync)"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "mbps",
         .unit = "MB/s",
         .better = +1,
         .help = "bytes copied per second, 10^6 (dd)"},
        {.name = "seconds", .unit = "s", .better = -1, .help = "time of the copy"},
        {0},
};

static void scratch_release(char (*dir)[PATH_MAX])
{
	vl_disk_scratch_remove(*dir);
}

static int full_pwrite(int fd, const char *buf, size_t len, off_t pos, vl_error *err)
{
	ssize_t n = pwrite(fd, buf, len, pos);
	if (n != (ssize_t)len)
		return n < 0 ? vl_error_errno(err, errno, "writing the source file")
		             : vl_error_set(err, "writing the source file: short write");
	return 0;
}

/* Random contents, as a source made from /dev/urandom for dd: storage that
 * compresses or deduplicates (this machine's virtual disk writes repetitive
 * data twice as fast) must not flatter the copy. Every block differs, so a
 * block written to the wrong place fails the comparison. */
static int make_source(const char *path, char *buf, size_t block, uint64_t size,
                       const volatile int *stop, vl_error *err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	uint64_t state = vl_now_ns();

	if (fd < 0)
		return vl_error_errno(err, errno, "creating %s", path);
	memset(buf, 0, block);

	for (uint64_t pos = 0; pos < size && !*stop; pos += block) {
		size_t len = size - pos < block ? (size_t)(size - pos) : block;
		uint64_t word;
		for (size_t i = 0; i + sizeof(word) <= block; i += sizeof(word)) {
			word = vl_splitmix64(&state);
			memcpy(buf + i, &word, sizeof(word));
		}
		if (full_pwrite(fd, buf, len, (off_t)pos, err) < 0)
			return -1;
	}
	if (fsync(fd) < 0)
		return vl_error_errno(err, errno, "syncing %s", path);
	return 0;
}

/* dd's loop: read a block, write what was read, until end of file. */
static int copy(int in, int out, char *buf, size_t block, bool sync_end, const volatile int *stop,
                vl_error *err)
{
	for (;;) {
		ssize_t got = read(in, buf, block), put;
		if (got < 0)
			return vl_error_errno(err, errno, "reading the source");
		if (got == 0 || *stop)
			break;
		put = write(out, buf, (size_t)got);
		if (put != got)
			return put < 0 ? vl_error_errno(err, errno, "writing the copy")
			               : vl_error_set(err, "writing the copy: short write");
	}
	if (sync_end && fdatasync(out) < 0)
		return vl_error_errno(err, errno, "fdatasync of the copy");
	return 0;
}

static int same_content(const char *a, const char *b, char *buf_a, char *buf_b, size_t block,
                        uint64_t size, bool *same, vl_error *err)
{
	cleanup_close int fa = open(a, O_RDONLY | O_CLOEXEC);
	cleanup_close int fb = open(b, O_RDONLY | O_CLOEXEC);
	uint64_t pos = 0;

	if (fa < 0 || fb < 0)
		return vl_error_errno(err, errno, "opening the files to compare");
	*same = false;
	for (;;) {
		ssize_t na = pread(fa, buf_a, block, (off_t)pos);
		ssize_t nb = pread(fb, buf_b, block, (off_t)pos);
		if (na < 0 || nb < 0)
			return vl_error_errno(err, errno, "reading the files to compare");
		if (na != nb || memcmp(buf_a, buf_b, (size_t)na) != 0)
			return 0;
		if (na == 0)
			break;
		pos += (uint64_t)na;
	}
	*same = pos == size;
	return 0;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	__attribute__((cleanup(scratch_release))) char dir[PATH_MAX] = "";
	uint64_t size = (uint64_t)vl_param_int(p, "size");
	size_t block = (size_t)vl_param_int(p, "block");
	bool dsync = strcmp(vl_param_str(p, "mode"), "dsync") == 0;
	char src[PATH_MAX + 8], dst[PATH_MAX + 8];
	cleanup_free char *buf = NULL;
	cleanup_free char *check = NULL;
	cleanup_close int in = -1;
	int out;
	uint64_t start;
	double seconds;
	bool same;

	if (posix_memalign((void **)&buf, BUF_ALIGN, block) ||
	    posix_memalign((void **)&check, BUF_ALIGN, block))
		return vl_error_errno(err, ENOMEM, "disk.copy: allocating buffers");
	if (vl_disk_scratch_create(ctx->workdir, "copy", dir, sizeof(dir), err) < 0)
		return vl_error_wrap(err, "disk.copy");
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/dst", dir);
	if (make_source(src, buf, block, size, ctx->stop, err) < 0)
		return vl_error_wrap(err, "disk.copy: preparing the source");
	if (*ctx->stop)
		return vl_result_fail(r, "disk.copy: stopped while preparing the source");
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (dsync ? O_DSYNC : 0), 0600);
	if (in < 0 || out < 0) {
		int e = errno;
		if (out >= 0)
			close(out);
		return vl_error_errno(err, e, "disk.copy: opening the files");
	}

	start = vl_now_ns();
	if (copy(in, out, buf, block, !dsync, ctx->stop, err) < 0) {
		close(out);
		return vl_error_wrap(err, "disk.copy");
	}
	if (close(out) < 0)
		return vl_error_errno(err, errno, "disk.copy: closing the copy");
	seconds = vl_seconds_since(start);

	if (*ctx->stop)
		return vl_result_fail(r, "disk.copy: stopped during the copy");
	if (same_content(src, dst, buf, check, block, size, &same, err) < 0)
		return vl_error_wrap(err, "disk.copy: checking the copy");
	if (!same)
		return vl_result_fail(r, "disk.copy: the copy differs from the source");
	vl_result_set(r, "mbps", (double)size / 1e6 / seconds);
	vl_result_set(r, "seconds", seconds);
	return 0;
}

const struct vl_workload vl_workload_disk_copy = {
        .name = "disk.copy",
        .summary = "file copy throughput (dd bs=1M conv=fdatasync or oflag=dsync)",
        .thesis = "w4 (dd)",
        .params = params,
        .metrics = metrics,
        .run = run,
};
