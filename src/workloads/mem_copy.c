/* mem.copy: mbw's memory bandwidth test (thesis w2). Two arrays of `size`
 * bytes; each method copies the first into the second and reports MiB
 * copied per second.
 *
 * As in mbw: the arrays come from calloc and every element is written
 * before timing, so no page fault lands in the timed part; "mcblock" copies
 * `block` bytes at a time from the start of the source (mbw's source pointer
 * never advances, so the source stays cache-resident) to successive places
 * in the destination.
 *
 * Unlike mbw, one sample repeats the copy until `min_time` has passed: a
 * single copy of a cache-sized array lasts a fraction of a millisecond and
 * its figure swings by a factor of three between iterations. */
#include "workloads/registry.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum method { METHOD_MEMCPY, METHOD_DUMB, METHOD_MCBLOCK, METHOD_COUNT };

static const char *const method_names[METHOD_COUNT] = {"memcpy", "dumb", "mcblock"};
static const char *const metric_names[METHOD_COUNT] = {"memcpy_mibps", "dumb_mibps",
                                                       "mcblock_mibps"};

static const struct vl_param_spec params[] = {
        {.name = "size",
         .type = VL_PARAM_SIZE,
         .def = "64M",
         .min = 1024 * 1024,
         .max = 64.0 * 1024 * 1024 * 1024,
         .help = "bytes in each of the two arrays (mbw's MiB argument)"},
        {.name = "methods",
         .type = VL_PARAM_CHOICE,
         .def = "all",
         .choices = "all,memcpy,dumb,mcblock",
         .help = "copy method to run, or all three"},
        {.name = "block",
         .type = VL_PARAM_SIZE,
         .def = "262144",
         .min = 8,
         .max = 1024.0 * 1024 * 1024,
         .help = "block size of the mcblock method (mbw -b)"},
        {.name = "min_time",
         .type = VL_PARAM_DOUBLE,
         .def = "0.1",
         .min = 0.001,
         .max = 600,
         .help = "seconds each method repeats its copy for (at least)"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "memcpy_mibps",
         .unit = "MiB/s",
         .better = +1,
         .help = "copy rate of one memcpy() of the whole array"},
        {.name = "dumb_mibps",
         .unit = "MiB/s",
         .better = +1,
         .help = "copy rate of an element-by-element loop over 64-bit words"},
        {.name = "mcblock_mibps",
         .unit = "MiB/s",
         .better = +1,
         .help = "copy rate of memcpy() in blocks of `block` bytes"},
        {0},
};

static int validate(const struct vl_params *p, vl_error *err)
{
	int64_t size = vl_param_int(p, "size");
	int64_t block = vl_param_int(p, "block");

	if (size % 8)
		return vl_error_input(err,
		                      "mem.copy: parameter 'size' must be a multiple of 8 "
		                      "bytes (got %lld)",
		                      (long long)size);
	if (block % 8 || block > size)
		return vl_error_input(err,
		                      "mem.copy: parameter 'block' must be a multiple of 8 "
		                      "bytes and at most size (%lld); got %lld",
		                      (long long)size, (long long)block);
	return 0;
}

/* volatile keeps every load and store: without it the compiler turns the
 * loop into a memcpy() call, and mbw's "dumb" test would measure memcpy. */
static void copy_dumb(uint64_t *restrict dst, const uint64_t *restrict src, size_t words)
{
	volatile uint64_t *d = dst;
	const volatile uint64_t *s = src;

	for (size_t i = 0; i < words; i++)
		d[i] = s[i];
}

static void copy_blocks(char *dst, const char *src, size_t bytes, size_t block)
{
	size_t done = 0;

	for (; done + block <= bytes; done += block)
		memcpy(dst + done, src, block);
	if (done < bytes)
		memcpy(dst + done, src, bytes - done);
}

static void copy_once(enum method m, uint64_t *dst, const uint64_t *src, size_t bytes, size_t block)
{
	switch (m) {
	case METHOD_MEMCPY:
		memcpy(dst, src, bytes);
		break;
	case METHOD_DUMB:
		copy_dumb(dst, src, bytes / 8);
		break;
	case METHOD_MCBLOCK:
		copy_blocks((char *)dst, (const char *)src, bytes, block);
		break;
	case METHOD_COUNT:
		abort();
	}
	/* The copy must happen every round, not once for all of them. */
	__asm__ volatile("" : : "r"(dst) : "memory");
}

static uint64_t pattern(size_t i)
{
	return (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;
}

/* The expected destination: a copy of the source, except that mcblock
 * repeats the source's first block across it. */
static bool copy_is_right(enum method m, const uint64_t *dst, const uint64_t *src, size_t words,
                          size_t block_words, size_t *bad)
{
	for (size_t i = 0; i < words; i++) {
		size_t from = m == METHOD_MCBLOCK ? i % block_words : i;
		if (dst[i] != src[from]) {
			*bad = i;
			return false;
		}
	}
	return true;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	size_t bytes = (size_t)vl_param_int(p, "size");
	size_t block = (size_t)vl_param_int(p, "block");
	size_t words = bytes / 8;
	double min_ns = vl_param_double(p, "min_time") * 1e9;
	const char *which = vl_param_str(p, "methods");
	cleanup_free uint64_t *src = NULL;
	cleanup_free uint64_t *dst = NULL;
	json_t *rounds = json_object();

	r->extra = json_pack("{s:o}", "rounds", rounds);
	/* calloc succeeds by overcommit and the fill below would then end in
	 * the OOM killer, so refuse what physical memory cannot hold. */
	if (2.0 * (double)bytes > (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE))
		return vl_result_unsupported(r,
		                             "mem.copy: two arrays of %zu bytes do not fit in "
		                             "this machine's memory",
		                             bytes);
	src = calloc(words, sizeof(uint64_t));
	dst = calloc(words, sizeof(uint64_t));
	if (!src || !dst)
		return vl_error_errno(err, ENOMEM, "mem.copy: allocating two arrays of %zu bytes",
		                      bytes);
	for (size_t i = 0; i < words; i++)
		src[i] = pattern(i);

	for (int m = 0; m < METHOD_COUNT; m++) {
		uint64_t start, now, count = 0;
		size_t bad;

		if (strcmp(which, "all") != 0 && strcmp(which, method_names[m]) != 0)
			continue;
		/* mbw fills both arrays before timing; refilling the destination
		 * also makes the check below see this method's copy. */
		memset(dst, 0xaa, bytes);
		start = vl_now_ns();
		do {
			copy_once((enum method)m, dst, src, bytes, block);
			count++;
			now = vl_now_ns();
		} while ((double)(now - start) < min_ns && !*ctx->stop);

		if (*ctx->stop)
			return vl_result_fail(r, "mem.copy: stopped during the %s method",
			                      method_names[m]);
		if (!copy_is_right((enum method)m, dst, src, words, block / 8, &bad))
			return vl_result_fail(r, "mem.copy: %s copy is wrong at byte %zu",
			                      method_names[m], bad * 8);
		vl_result_set(r, metric_names[m],
		              (double)bytes * (double)count / (1024.0 * 1024.0) /
		                      ((double)(now - start) / 1e9));
		json_object_set_new(rounds, method_names[m], json_integer((json_int_t)count));
	}
	return 0;
}

const struct vl_workload vl_workload_mem_copy = {
        .name = "mem.copy",
        .summary = "memory copy bandwidth (mbw: memcpy, dumb loop, block memcpy)",
        .thesis = "w2",
        .params = params,
        .metrics = metrics,
        .validate = validate,
        .run = run,
};
