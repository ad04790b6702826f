/* sysbench 1.0 `fileio` semantics (thesis w4, sequential and random file
 * I/O), one thread, synchronous I/O:
 *
 * - file_num files of file_total_size / file_num bytes each, written and
 *   fsync'ed before the timed part (seqwr instead starts from empty files,
 *   as sysbench's seqwr does after truncating them);
 * - an event is one read or write of `block` bytes, or one fsync: every
 *   fsync_freq reads/writes, once anything has been written, the next
 *   file_num events fsync each file in turn (sysbench counts these as
 *   events, so 10000 rndwr events are about 4400 writes);
 * - sequential modes walk the files in order, wrapping around; random modes
 *   pick a block uniformly over all files; rndrw reads while
 *   (reads + 1) / (writes + 1) < rw_ratio and writes otherwise;
 * - with fsync_end, written files are fsync'ed after the last event, inside
 *   the timed part; time, MiB/s and IOPS (reads plus writes, fsyncs not
 *   counted) cover the whole timed part, latency percentiles every event.
 *
 * Like sysbench, the page cache is left alone: files written at preparation
 * stay cached, so buffered reads measure the cache unless direct is set.
 *
 * Block contents: sysbench writes zero-filled buffers, and this machine's
 * virtual disk writes compressible data twice as fast as random data, so
 * the body of every block is zeros too. Each block starts with a stamp
 * (file, offset, checksum of the body). Reads in the timed part compare the
 * stamp only; afterwards every block of every file is read back and its
 * body checked against the checksum. */
#include "workloads/disk_fileio.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB           (1024.0 * 1024.0)
#define DIRECT_ALIGN  4096
#define STAMP_WORDS   3
#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_OCTAVES  36
#define HIST_BUCKETS  (HIST_SUB * HIST_OCTAVES)

/* The parameters both workloads share; `mode` comes first in each table.
 * A macro, as C cannot splice one initializer list into two arrays. */
/* clang-format off */
#define FILEIO_COMMON_PARAMS \
	{.name = "file_num", .type = VL_PARAM_INT, .def = "128", .min = 1, .max = 4096, \
	 .help = "number of files (sysbench --file-num)"}, \
	{.name = "file_total_size", .type = VL_PARAM_SIZE, .def = "1G", .min = 16384, \
	 .max = 1024.0 * 1024 * 1024 * 1024, \
	 .help = "total size of the files, a multiple of file_num x block " \
		 "(sysbench --file-total-size; its default 2G is halved for short runs)"}, \
	{.name = "block", .type = VL_PARAM_SIZE, .def = "16K", .min = 512, \
	 .max = 64.0 * 1024 * 1024, \
	 .help = "bytes per read or write, a multiple of 512 (--file-block-size)"}, \
	{.name = "events", .type = VL_PARAM_INT, .def = "10000", .min = 0, .max = 1e12, \
	 .help = "events to run, 0 for no limit (--events)"}, \
	{.name = "time", .type = VL_PARAM_DOUBLE, .def = "0", .min = 0, .max = 86400, \
	 .help = "seconds to run, 0 for no limit (--time)"}, \
	{.name = "fsync_freq", .type = VL_PARAM_INT, .def = "100", .min = 0, .max = 1e9, \
	 .help = "fsync every file after this many requests, 0 never (--file-fsync-freq)"}, \
	{.name = "fsync_end", .type = VL_PARAM_BOOL, .def = "true", \
	 .help = "fsync every written file at the end (--file-fsync-end)"}, \
	{.name = "fsync_mode", .type = VL_PARAM_CHOICE, .def = "fsync", \
	 .choices = "fsync,fdatasync", .help = "how to sync (--file-fsync-mode)"}, \
	{.name = "direct", .type = VL_PARAM_BOOL, .def = "false", \
	 .help = "open files with O_DIRECT (--file-extra-flags=direct)"}
/* clang-format on */

const struct vl_param_spec vl_fileio_seq_params[] = {
        {.name = "mode",
         .type = VL_PARAM_CHOICE,
         .def = "seqrd",
         .choices = "seqrd,seqwr,seqrewr",
         .help = "sequential read, write (from empty files) or rewrite (--file-test-mode)"},
        FILEIO_COMMON_PARAMS,
        {0},
};

const struct vl_param_spec vl_fileio_rand_params[] = {
        {.name = "mode",
         .type = VL_PARAM_CHOICE,
         .def = "rndrd",
         .choices = "rndrd,rndwr,rndrw",
         .help = "random read, write or both (--file-test-mode)"},
        FILEIO_COMMON_PARAMS,
        {.name = "rw_ratio",
         .type = VL_PARAM_DOUBLE,
         .def = "1.5",
         .min = 0,
         .max = 1e6,
         .help = "reads per write in rndrw (--file-rw-ratio)"},
        {0},
};

/* clang-format off */
#define METRIC_SECONDS \
	{.name = "seconds", .unit = "s", .better = -1, .help = "time of all events and final fsyncs"}
#define METRIC_MIBPS \
	{.name = "mibps", .unit = "MiB/s", .better = +1, .help = "bytes read and written per second"}
#define METRIC_IOPS \
	{.name = "iops", .unit = "ops/s", .better = +1, .help = "reads plus writes per second"}
#define METRIC_LATENCY \
	{.name = "lat_p50_us", .unit = "us", .better = -1, .help = "median event latency"}, \
	{.name = "lat_p99_us", .unit = "us", .better = -1, .help = "99th percentile of event latency"}
/* clang-format on */

const struct vl_metric_spec vl_fileio_seq_metrics[] = {
        METRIC_MIBPS, METRIC_IOPS, METRIC_SECONDS, METRIC_LATENCY, {0},
};

const struct vl_metric_spec vl_fileio_rand_metrics[] = {
        METRIC_IOPS, METRIC_MIBPS, METRIC_SECONDS, METRIC_LATENCY, {0},
};

enum mode { SEQRD, SEQWR, SEQREWR, RNDRD, RNDWR, RNDRW };
static const char *const mode_names[] = {"seqrd", "seqwr", "seqrewr", "rndrd", "rndwr", "rndrw"};

enum op { OP_READ, OP_WRITE, OP_FSYNC };

struct request {
	enum op op;
	unsigned file;
	uint64_t pos;
};

struct fileio {
	enum mode mode;
	unsigned nfiles;
	uint64_t file_size, total_size;
	size_t block;
	uint64_t fsync_freq;
	bool fdatasync;
	double rw_ratio;
	int *fds;
	char *wbuf, *rbuf;
	uint64_t body_sum;
	uint64_t rng;
	/* sysbench's request generator state */
	unsigned current_file, fsynced_file;
	uint64_t position, req_performed;
	bool dirty;
	uint64_t reads, writes, fsyncs, bad_reads;
	uint64_t *hist;
	char dir[PATH_MAX];
};

int vl_disk_scratch_create(const char *workdir, const char *tag, char *path, size_t size,
                           vl_error *err)
{
	if ((size_t)snprintf(path, size, "%s/virtlab-%s-XXXXXX", workdir, tag) >= size)
		return vl_error_input(err, "work directory path '%s' is too long", workdir);
	if (!mkdtemp(path)) {
		int e = errno;
		path[0] = '\0';
		return vl_error_errno(err, e, "creating a scratch directory in %s", workdir);
	}
	return 0;
}

void vl_disk_scratch_remove(const char *path)
{
	DIR *d;
	struct dirent *e;

	if (!path || !path[0])
		return;
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(path);
}

static void fileio_release(struct fileio *f)
{
	for (unsigned i = 0; f->fds && i < f->nfiles; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	free(f->fds);
	free(f->wbuf);
	free(f->rbuf);
	free(f->hist);
	vl_disk_scratch_remove(f->dir);
}

static enum mode parse_mode(const char *name)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(mode_names[i], name) == 0)
			return (enum mode)i;
	abort(); /* the parameter's choices come from mode_names */
}

static bool is_seq(enum mode m)
{
	return m == SEQRD || m == SEQWR || m == SEQREWR;
}

static bool writes_data(enum mode m)
{
	return m != SEQRD && m != RNDRD;
}

int vl_fileio_validate(const struct vl_params *p, vl_error *err)
{
	const char *name = p->workload->name;
	int64_t nfiles = vl_param_int(p, "file_num");
	int64_t total = vl_param_int(p, "file_total_size");
	int64_t block = vl_param_int(p, "block");

	if (block % 512)
		return vl_error_input(err,
		                      "%s: parameter 'block' must be a multiple of 512 (got %lld)",
		                      name, (long long)block);
	if (vl_param_bool(p, "direct") && block % DIRECT_ALIGN)
		return vl_error_input(err,
		                      "%s: direct=true needs 'block' to be a multiple of %d "
		                      "(got %lld)",
		                      name, DIRECT_ALIGN, (long long)block);
	if (total % (nfiles * block))
		return vl_error_input(err,
		                      "%s: parameter 'file_total_size' must be a multiple of "
		                      "file_num x block = %lld bytes (got %lld)",
		                      name, (long long)(nfiles * block), (long long)total);
	if (vl_param_int(p, "events") == 0 && vl_param_double(p, "time") == 0)
		return vl_error_input(
		        err, "%s: set 'events' or 'time' above 0, or the run never ends", name);
	return 0;
}

static uint64_t body_checksum(const char *block, size_t size)
{
	const uint64_t *w = (const uint64_t *)block;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = STAMP_WORDS; i < size / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ull;
	return h;
}

static void stamp(struct fileio *f, unsigned file, uint64_t pos)
{
	uint64_t *w = (uint64_t *)f->wbuf;

	w[0] = file;
	w[1] = pos;
	w[2] = f->body_sum;
}

static bool stamp_matches(const char *buf, unsigned file, uint64_t pos, uint64_t sum)
{
	const uint64_t *w = (const uint64_t *)buf;
	return w[0] == file && w[1] == pos && w[2] == sum;
}

static void file_path(const struct fileio *f, unsigned i, char *buf, size_t size)
{
	snprintf(buf, size, "%s/test_file.%u", f->dir, i);
}

static int open_flags(bool direct)
{
	return direct ? O_DIRECT : 0;
}

/* O_DIRECT on a file system without it (tmpfs on older kernels) is a
 * property of the machine, not an error. */
static int open_file(struct fileio *f, unsigned i, int flags, struct vl_result *r, bool *unsupp,
                     vl_error *err)
{
	char path[PATH_MAX + 32];
	int fd;

	file_path(f, i, path, sizeof(path));
	fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EINVAL && (flags & O_DIRECT)) {
		*unsupp = true;
		vl_result_unsupported(r, "O_DIRECT is not supported in %s", f->dir);
		return -1;
	}
	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	return fd;
}

static int write_all(int fd, const char *buf, size_t len, uint64_t pos, const char *what,
                     vl_error *err)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)pos);
	if (n < 0)
		return vl_error_errno(err, errno, "writing %s", what);
	if ((size_t)n != len)
		return vl_error_set(err, "writing %s: short write of %zd bytes", what, n);
	return 0;
}

/* sysbench's prepare: write each file block by block, then fsync it. */
static int prepare_files(struct fileio *f, bool direct, const volatile int *stop,
                         struct vl_result *r, bool *unsupp, vl_error *err)
{
	for (unsigned i = 0; i < f->nfiles && !*stop; i++) {
		cleanup_close int fd = open_file(
		        f, i, O_CREAT | O_EXCL | O_WRONLY | open_flags(direct), r, unsupp, err);
		if (fd < 0)
			return -1;
		for (uint64_t pos = 0; pos < f->file_size; pos += f->block) {
			stamp(f, i, pos);
			if (write_all(fd, f->wbuf, f->block, pos, "a test file", err) < 0)
				return -1;
		}
		if (fsync(fd) < 0)
			return vl_error_errno(err, errno, "syncing a test file");
	}
	return 0;
}

static struct request fsync_request(struct fileio *f)
{
	struct request q = {.op = OP_FSYNC, .file = f->fsynced_file};

	if (++f->fsynced_file == f->nfiles) {
		f->fsynced_file = 0;
		f->dirty = false;
	}
	return q;
}

static bool fsync_due(const struct fileio *f)
{
	return f->fsync_freq && f->dirty && f->req_performed % f->fsync_freq == 0;
}

static struct request next_seq(struct fileio *f)
{
	struct request q = {.op = f->mode == SEQRD ? OP_READ : OP_WRITE};

	if (q.op == OP_WRITE && fsync_due(f))
		return fsync_request(f);
	f->req_performed++;
	if (q.op == OP_WRITE)
		f->dirty = true;
	if (f->current_file == f->nfiles) {
		f->current_file = 0;
		f->position = 0;
	}
	q.file = f->current_file;
	q.pos = f->position;
	f->position += f->block;
	if (f->position == f->file_size) {
		f->current_file++;
		f->position = 0;
	}
	return q;
}

static struct request next_rnd(struct fileio *f)
{
	struct request q = {.op = f->mode == RNDWR ? OP_WRITE : OP_READ};
	uint64_t pos;

	if (f->mode == RNDRW)
		q.op = ((double)f->reads + 1.0) / ((double)f->writes + 1.0) < f->rw_ratio
		               ? OP_READ
		               : OP_WRITE;
	if (fsync_due(f))
		return fsync_request(f);
	pos = (uint64_t)((double)(vl_splitmix64(&f->rng) >> 11) * 0x1p-53 * (double)f->total_size);
	pos -= pos % f->block;
	q.file = (unsigned)(pos / f->file_size);
	q.pos = pos % f->file_size;
	f->req_performed++;
	if (q.op == OP_WRITE)
		f->dirty = true;
	return q;
}

static int sync_file(struct fileio *f, unsigned i, vl_error *err)
{
	if ((f->fdatasync ? fdatasync(f->fds[i]) : fsync(f->fds[i])) < 0)
		return vl_error_errno(err, errno, "syncing test_file.%u", i);
	f->fsyncs++;
	return 0;
}

static int execute(struct fileio *f, const struct request *q, vl_error *err)
{
	ssize_t n;

	switch (q->op) {
	case OP_READ:
		n = pread(f->fds[q->file], f->rbuf, f->block, (off_t)q->pos);
		if (n != (ssize_t)f->block)
			return n < 0 ? vl_error_errno(err, errno, "reading test_file.%u", q->file)
			             : vl_error_set(err, "reading test_file.%u: short read",
			                            q->file);
		if (!stamp_matches(f->rbuf, q->file, q->pos, f->body_sum))
			f->bad_reads++;
		f->reads++;
		return 0;
	case OP_WRITE:
		stamp(f, q->file, q->pos);
		if (write_all(f->fds[q->file], f->wbuf, f->block, q->pos, "a test file", err) < 0)
			return -1;
		f->writes++;
		return 0;
	case OP_FSYNC:
		return sync_file(f, q->file, err);
	}
	abort();
}

/* Log-linear histogram: 64 linear steps per power of two, so a bucket's
 * midpoint is within 1% of any latency in it. */
static unsigned hist_index(uint64_t ns)
{
	unsigned msb, idx;

	if (ns < HIST_SUB)
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	idx = (msb - HIST_SUB_BITS + 1) * HIST_SUB +
	      (unsigned)((ns >> (msb - HIST_SUB_BITS)) - HIST_SUB);
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

static double hist_value(unsigned idx)
{
	unsigned shift;

	if (idx < HIST_SUB)
		return idx;
	shift = idx / HIST_SUB - 1;
	return (double)((uint64_t)(HIST_SUB + idx % HIST_SUB) << shift) +
	       (double)((uint64_t)1 << shift) / 2.0;
}

static double hist_quantile(const uint64_t *hist, uint64_t count, double q)
{
	uint64_t rank = (uint64_t)((double)count * q + 0.999999), seen = 0;

	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= rank && seen > 0)
			return hist_value(i);
	}
	return 0;
}

/* Reads every block of every file back and checks its stamp and body. */
static int verify_files(struct fileio *f, struct vl_result *r, vl_error *err)
{
	uint64_t blocks = 0, expected;

	for (unsigned i = 0; i < f->nfiles; i++) {
		char path[PATH_MAX + 32];
		struct stat st;
		cleanup_close int fd = -1;

		file_path(f, i, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			return vl_error_errno(err, errno, "checking %s", path);
		if ((uint64_t)st.st_size % f->block || (uint64_t)st.st_size > f->file_size)
			return vl_result_fail(r, "test_file.%u has %lld bytes, not whole blocks", i,
			                      (long long)st.st_size);
		for (uint64_t pos = 0; pos < (uint64_t)st.st_size; pos += f->block) {
			if (pread(fd, f->rbuf, f->block, (off_t)pos) != (ssize_t)f->block)
				return vl_error_errno(err, errno, "reading back %s", path);
			if (!stamp_matches(f->rbuf, i, pos, f->body_sum) ||
			    body_checksum(f->rbuf, f->block) != f->body_sum)
				return vl_result_fail(r, "test_file.%u: wrong data at offset %llu",
				                      i, (unsigned long long)pos);
			blocks++;
		}
	}
	expected = f->total_size / f->block;
	if (f->mode == SEQWR && f->writes < expected)
		expected = f->writes;
	if (blocks != expected)
		return vl_result_fail(r, "found %llu blocks in the test files, expected %llu",
		                      (unsigned long long)blocks, (unsigned long long)expected);
	return 0;
}

static int setup(struct fileio *f, const struct vl_params *p, vl_error *err)
{
	f->mode = parse_mode(vl_param_str(p, "mode"));
	f->nfiles = (unsigned)vl_param_int(p, "file_num");
	f->total_size = (uint64_t)vl_param_int(p, "file_total_size");
	f->file_size = f->total_size / f->nfiles;
	f->block = (size_t)vl_param_int(p, "block");
	f->fsync_freq = (uint64_t)vl_param_int(p, "fsync_freq");
	f->fdatasync = strcmp(vl_param_str(p, "fsync_mode"), "fdatasync") == 0;
	f->rw_ratio = f->mode == RNDRW ? vl_param_double(p, "rw_ratio") : 0;
	f->rng = vl_now_ns();
	f->fds = malloc(sizeof(int) * f->nfiles);
	if (!f->fds)
		return vl_error_errno(err, ENOMEM, "allocating buffers");
	for (unsigned i = 0; i < f->nfiles; i++)
		f->fds[i] = -1;
	f->hist = calloc(HIST_BUCKETS, sizeof(uint64_t));
	if (!f->hist || posix_memalign((void **)&f->wbuf, DIRECT_ALIGN, f->block) ||
	    posix_memalign((void **)&f->rbuf, DIRECT_ALIGN, f->block))
		return vl_error_errno(err, ENOMEM, "allocating buffers");
	memset(f->wbuf, 0, f->block);
	f->body_sum = body_checksum(f->wbuf, f->block);
	return 0;
}

static void report(struct fileio *f, uint64_t events, double seconds, struct vl_result *r)
{
	double bytes = (double)(f->reads + f->writes) * (double)f->block;

	vl_result_set(r, "seconds", seconds);
	vl_result_set(r, "mibps", bytes / MIB / seconds);
	vl_result_set(r, "iops", (double)(f->reads + f->writes) / seconds);
	vl_result_set(r, "lat_p50_us", hist_quantile(f->hist, events, 0.50) / 1e3);
	vl_result_set(r, "lat_p99_us", hist_quantile(f->hist, events, 0.99) / 1e3);
	r->extra = json_pack("{s:I, s:I, s:I, s:I}", "events", (json_int_t)events, "reads",
	                     (json_int_t)f->reads, "writes", (json_int_t)f->writes, "fsyncs",
	                     (json_int_t)f->fsyncs);
}

int vl_fileio_run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
                  vl_error *err)
{
	__attribute__((cleanup(fileio_release))) struct fileio f = {0};
	bool direct = vl_param_bool(p, "direct"), unsupp = false;
	uint64_t max_events = (uint64_t)vl_param_int(p, "events");
	uint64_t max_ns = (uint64_t)(vl_param_double(p, "time") * 1e9);
	uint64_t events = 0, start, end;
	int flags = O_RDWR | open_flags(direct);

	if (setup(&f, p, err) < 0 ||
	    vl_disk_scratch_create(ctx->workdir, "fileio", f.dir, sizeof(f.dir), err) < 0)
		return vl_error_wrap(err, "%s", p->workload->name);
	if (f.mode == SEQWR)
		flags |= O_CREAT | O_EXCL;
	else if (prepare_files(&f, direct, ctx->stop, r, &unsupp, err) < 0)
		return unsupp ? 0 : vl_error_wrap(err, "%s: preparing files", p->workload->name);
	for (unsigned i = 0; i < f.nfiles && !*ctx->stop; i++) {
		f.fds[i] = open_file(&f, i, flags, r, &unsupp, err);
		if (f.fds[i] < 0)
			return unsupp ? 0 : vl_error_wrap(err, "%s", p->workload->name);
	}
	if (*ctx->stop)
		return vl_result_fail(r, "%s: stopped while preparing files", p->workload->name);

	start = vl_now_ns();
	end = start;
	while (!*ctx->stop && (!max_events || events < max_events) &&
	       (!max_ns || end - start < max_ns)) {
		struct request q = is_seq(f.mode) ? next_seq(&f) : next_rnd(&f);
		uint64_t t0 = vl_now_ns();
		if (execute(&f, &q, err) < 0)
			return vl_error_wrap(err, "%s", p->workload->name);
		end = vl_now_ns();
		f.hist[hist_index(end - t0)]++;
		events++;
	}
	if (vl_param_bool(p, "fsync_end") && writes_data(f.mode))
		for (unsigned i = 0; i < f.nfiles; i++)
			if (sync_file(&f, i, err) < 0)
				return vl_error_wrap(err, "%s", p->workload->name);
	end = vl_now_ns();

	if (*ctx->stop)
		return vl_result_fail(r, "%s: stopped after %llu events", p->workload->name,
		                      (unsigned long long)events);
	report(&f, events, (double)(end - start) / 1e9, r);
	if (f.bad_reads)
		return vl_result_fail(r, "%s: %llu reads returned the wrong block",
		                      p->workload->name, (unsigned long long)f.bad_reads);
	if (verify_files(&f, r, err) < 0)
		return vl_error_wrap(err, "%s: verifying files", p->workload->name);
	return 0;
}
