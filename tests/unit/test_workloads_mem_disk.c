/* mem.copy, disk.seq, disk.rand, disk.latency and disk.copy with small
 * parameters in a scratch directory: each must succeed, pass its own check,
 * leave the directory empty, stop early when asked, and reject bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workloads/workload.h"

struct fixture {
	char dir[256];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/vl-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rmdir(f->dir);
	free(f);
	return 0;
}

static int entries_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Runs a workload with "k=v" settings (NULL-terminated) and checks that it
 * left nothing in the directory. Returns the status. */
static enum vl_status run_with(const char *dir, volatile int *stop, struct vl_result *r,
                               const char *name, const char *const *settings)
{
	const struct vl_workload *w = vl_workload_find(name);
	struct vl_params p;
	struct vl_run_ctx ctx = {.stop = stop, .workdir = dir};
	vl_error err = {0};

	assert_non_null(w);
	assert_int_equal(vl_params_init(&p, w, &err), 0);
	for (int i = 0; settings[i]; i++)
		if (vl_params_set_assignment(&p, settings[i], &err) < 0)
			fail_msg("%s: %s", settings[i], err.msg);
	if (vl_workload_run_once(&p, &ctx, r, &err) < 0)
		fail_msg("%s: %s", name, err.msg);
	assert_int_equal(entries_in(dir), 0);
	return r->status;
}

static double metric(const struct vl_result *r, const char *name)
{
	for (int i = 0; r->workload->metrics[i].name; i++)
		if (strcmp(r->workload->metrics[i].name, name) == 0) {
			assert_true(r->set[i]);
			return r->values[i];
		}
	fail_msg("no metric %s", name);
	return 0;
}

static void expect_ok(const char *dir, const char *name, const char *const *settings,
                      const char *positive_metric)
{
	volatile int stop = 0;
	struct vl_result r;
	enum vl_status s = run_with(dir, &stop, &r, name, settings);

	if (s != VL_STATUS_OK)
		fail_msg("%s: %s: %s", name, vl_status_name(s), r.reason);
	assert_true(metric(&r, positive_metric) > 0);
	vl_result_release(&r);
}

static void test_mem_copy(void **state)
{
	struct fixture *f = *state;
	const char *all[] = {"size=2M", "min_time=0.01", "block=65536", NULL};
	const char *odd_block[] = {"size=1M", "min_time=0.01", "methods=mcblock", "block=1000",
	                           NULL};

	expect_ok(f->dir, "mem.copy", all, "memcpy_mibps");
	expect_ok(f->dir, "mem.copy", all, "dumb_mibps");
	expect_ok(f->dir, "mem.copy", all, "mcblock_mibps");
	expect_ok(f->dir, "mem.copy", odd_block, "mcblock_mibps");
}

static const char *const small_fileio[] = {"file_num=4", "file_total_size=1M", "events=300",
                                           "fsync_freq=50", NULL};

static void test_disk_seq_modes(void **state)
{
	struct fixture *f = *state;
	const char *modes[] = {"mode=seqrd", "mode=seqwr", "mode=seqrewr"};

	for (size_t i = 0; i < 3; i++) {
		const char *s[] = {small_fileio[0],
		                   small_fileio[1],
		                   small_fileio[2],
		                   small_fileio[3],
		                   modes[i],
		                   "fsync_mode=fdatasync",
		                   NULL};
		expect_ok(f->dir, "disk.seq", s, "mibps");
		expect_ok(f->dir, "disk.seq", s, "lat_p99_us");
	}
}

static void test_disk_rand_modes(void **state)
{
	struct fixture *f = *state;
	const char *modes[] = {"mode=rndrd", "mode=rndwr", "mode=rndrw"};

	for (size_t i = 0; i < 3; i++) {
		const char *s[] = {small_fileio[0], small_fileio[1], small_fileio[2],
		                   small_fileio[3], modes[i],        NULL};
		expect_ok(f->dir, "disk.rand", s, "iops");
	}
}

/* Some file systems (tmpfs on older kernels) refuse O_DIRECT: then the run
 * must say so rather than fail. */
static void test_disk_direct(void **state)
{
	struct fixture *f = *state;
	const char *s[] = {"file_num=2", "file_total_size=256K", "events=64",
	                   "mode=rndrw", "direct=true",          NULL};
	volatile int stop = 0;
	struct vl_result r;
	enum vl_status st = run_with(f->dir, &stop, &r, "disk.rand", s);

	if (st != VL_STATUS_OK && st != VL_STATUS_UNSUPPORTED)
		fail_msg("disk.rand direct: %s", r.reason);
	vl_result_release(&r);
}

static void test_disk_latency(void **state)
{
	struct fixture *f = *state;
	const char *buffered[] = {"count=6", "interval=0.001", "file_size=64K", "direct=false",
	                          NULL};
	const char *direct[] = {"count=6", "interval=0", "file_size=64K", NULL};
	volatile int stop = 0;
	struct vl_result r;
	enum vl_status st;

	expect_ok(f->dir, "disk.latency", buffered, "avg_us");
	st = run_with(f->dir, &stop, &r, "disk.latency", direct);
	if (st != VL_STATUS_OK && st != VL_STATUS_UNSUPPORTED)
		fail_msg("disk.latency direct: %s", r.reason);
	if (st == VL_STATUS_OK)
		assert_true(metric(&r, "min_us") <= metric(&r, "avg_us") &&
		            metric(&r, "avg_us") <= metric(&r, "max_us"));
	vl_result_release(&r);
}

static void test_disk_copy(void **state)
{
	struct fixture *f = *state;
	const char *fdatasync[] = {"size=3M", "block=1M", NULL};
	const char *dsync[] = {"size=1M", "block=64K", "mode=dsync", NULL};
	const char *partial[] = {"size=1M", "block=300K", NULL};

	expect_ok(f->dir, "disk.copy", fdatasync, "mbps");
	expect_ok(f->dir, "disk.copy", dsync, "seconds");
	expect_ok(f->dir, "disk.copy", partial, "mbps");
}

struct stopper {
	volatile int *stop;
	unsigned delay_ms;
};

static void *stop_later(void *arg)
{
	struct stopper *s = arg;

	usleep(s->delay_ms * 1000);
	*s->stop = 1;
	return NULL;
}

/* Each run would take minutes; the stop flag must end it within seconds,
 * with its files gone. */
static void expect_stops(const char *dir, const char *name, const char *const *settings)
{
	volatile int stop = 0;
	struct stopper s = {.stop = &stop, .delay_ms = 150};
	struct vl_result r;
	pthread_t t;
	time_t begin = time(NULL);

	assert_int_equal(pthread_create(&t, NULL, stop_later, &s), 0);
	assert_int_equal(run_with(dir, &stop, &r, name, settings), VL_STATUS_FAILED);
	pthread_join(t, NULL);
	assert_non_null(strstr(r.reason, "stopped"));
	assert_true(time(NULL) - begin < 30);
	vl_result_release(&r);
}

static void test_stop_ends_runs(void **state)
{
	struct fixture *f = *state;
	const char *mem[] = {"size=1M", "min_time=600", NULL};
	const char *seq[] = {"file_num=2", "file_total_size=1M", "events=0",
	                     "time=600",   "mode=seqrewr",       NULL};
	const char *rnd[] = {"file_num=2", "file_total_size=1M", "events=0", "time=600", NULL};
	const char *lat[] = {"count=100000", "interval=0.01", "file_size=64K", "direct=false",
	                     NULL};
	const char *copy[] = {"size=4G", "block=64K", NULL};

	expect_stops(f->dir, "mem.copy", mem);
	expect_stops(f->dir, "disk.seq", seq);
	expect_stops(f->dir, "disk.rand", rnd);
	expect_stops(f->dir, "disk.latency", lat);
	expect_stops(f->dir, "disk.copy", copy);
}

static void expect_rejected(const char *name, const char *const *settings, const char *needle)
{
	const struct vl_workload *w = vl_workload_find(name);
	struct vl_params p;
	vl_error err = {0};
	int rc = 0;

	assert_int_equal(vl_params_init(&p, w, &err), 0);
	for (int i = 0; settings[i] && rc == 0; i++)
		rc = vl_params_set_assignment(&p, settings[i], &err);
	if (rc == 0)
		rc = vl_params_validate(&p, &err);
	assert_int_equal(rc, -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	if (!strstr(err.msg, needle))
		fail_msg("%s: '%s' does not mention '%s'", name, err.msg, needle);
}

static void test_bad_params(void **state)
{
	(void)state;
	expect_rejected("mem.copy", (const char *[]){"size=-1", NULL}, "'size'");
	expect_rejected("mem.copy", (const char *[]){"size=1000", NULL}, "'size'");
	expect_rejected("mem.copy", (const char *[]){"methods=fast", NULL}, "'methods'");
	expect_rejected("mem.copy", (const char *[]){"size=1M", "block=2M", NULL}, "'block'");
	expect_rejected("mem.copy", (const char *[]){"min_time=0", NULL}, "'min_time'");
	expect_rejected("disk.seq", (const char *[]){"mode=rndrd", NULL}, "'mode'");
	expect_rejected("disk.seq", (const char *[]){"file_num=0", NULL}, "'file_num'");
	expect_rejected("disk.seq", (const char *[]){"block=1000", NULL}, "'block'");
	expect_rejected("disk.seq", (const char *[]){"file_total_size=1M", "file_num=3", NULL},
	                "'file_total_size'");
	expect_rejected("disk.rand", (const char *[]){"events=0", NULL}, "'events'");
	expect_rejected("disk.rand", (const char *[]){"direct=1", "block=2K", NULL}, "'block'");
	expect_rejected("disk.rand", (const char *[]){"rw_ratio=-1", NULL}, "'rw_ratio'");
	expect_rejected("disk.latency", (const char *[]){"count=1", NULL}, "'count'");
	expect_rejected("disk.latency", (const char *[]){"size=1000", NULL}, "'size'");
	expect_rejected("disk.latency", (const char *[]){"file_size=6K", NULL}, "'file_size'");
	expect_rejected("disk.latency", (const char *[]){"count=3", "warmup=3", NULL}, "'warmup'");
	expect_rejected("disk.copy", (const char *[]){"size=0", NULL}, "'size'");
	expect_rejected("disk.copy", (const char *[]){"mode=sync", NULL}, "'mode'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_mem_copy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disk_seq_modes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disk_rand_modes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disk_direct, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disk_latency, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_disk_copy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stop_ends_runs, setup, teardown),
	        cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
