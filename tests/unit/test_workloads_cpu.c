#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "workloads/workload.h"

/* Runs `name` with the given key=value settings (NULL-terminated) and
 * expects an ok result with every metric set to a positive finite value. */
static void run_ok(const char *name, const char *const settings[], struct vl_result *r)
{
	const struct vl_workload *w = vl_workload_find(name);
	static const volatile int no_stop;
	struct vl_run_ctx ctx = {.stop = &no_stop, .workdir = "/tmp"};
	struct vl_params p;
	vl_error err = {0};

	assert_non_null(w);
	assert_int_equal(vl_params_init(&p, w, &err), 0);
	for (int i = 0; settings[i]; i++)
		if (vl_params_set_assignment(&p, settings[i], &err) < 0)
			fail_msg("%s: %s", settings[i], err.msg);
	if (vl_workload_run_once(&p, &ctx, r, &err) < 0)
		fail_msg("%s: %s", name, err.msg);
	if (r->status != VL_STATUS_OK)
		fail_msg("%s: %s: %s", name, vl_status_name(r->status), r->reason);
	for (int i = 0; w->metrics[i].name; i++) {
		assert_non_null(w->metrics[i].unit);
		assert_true(r->set[i]);
		assert_true(isfinite(r->values[i]) && r->values[i] > 0);
	}
}

static void expect_rejected(const char *name, const char *setting, const char *needle)
{
	const struct vl_workload *w = vl_workload_find(name);
	struct vl_params p;
	vl_error err = {0};

	assert_int_equal(vl_params_init(&p, w, &err), 0);
	assert_int_equal(vl_params_set_assignment(&p, setting, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' gave '%s', which lacks '%s'", setting, err.msg, needle);
}

static void test_primes(void **state)
{
	static const char *const settings[] = {"threads=2", "events=20", NULL};
	struct vl_result r;

	(void)state;
	run_ok("cpu.primes", settings, &r);
	/* sysbench's loop tests 3..max_prime-1: the primes below 10000 but 2. */
	assert_int_equal(json_integer_value(json_object_get(r.extra, "primes_per_event")), 1228);
	assert_int_equal(json_integer_value(json_object_get(r.extra, "events")), 20);
	vl_result_release(&r);
}

static void test_primes_time_bound(void **state)
{
	static const char *const settings[] = {"events=0", "time=0.1", "max_prime=1000", NULL};
	struct vl_result r;

	(void)state;
	run_ok("cpu.primes", settings, &r);
	assert_int_equal(json_integer_value(json_object_get(r.extra, "primes_per_event")), 167);
	assert_true(r.values[1] >= 0.1 && r.values[1] < 1.0);
	vl_result_release(&r);
}

static void test_primes_needs_a_limit(void **state)
{
	const struct vl_workload *w = vl_workload_find("cpu.primes");
	struct vl_params p;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_params_init(&p, w, &err), 0);
	assert_int_equal(vl_params_set_assignment(&p, "events=0", &err), 0);
	assert_int_equal(vl_params_validate(&p, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "'events'"));
	expect_rejected("cpu.primes", "threads=0", "'threads' must be an integer from 1 to 1024");
	expect_rejected("cpu.primes", "max_prime=2", "'max_prime'");
	expect_rejected("cpu.primes", "time=-1", "'time'");
}

static void test_whetstone(void **state)
{
	static const char *const settings[] = {"passes=2", NULL};
	struct vl_result r;
	json_t *sections;

	(void)state;
	run_ok("cpu.whetstone", settings, &r);
	assert_int_equal(json_integer_value(json_object_get(r.extra, "passes")), 2);
	sections = json_object_get(r.extra, "sections");
	assert_int_equal(json_array_size(sections), 8);
	/* N4 (integer arithmetic) ends on j + k + l + j * k * l = 12 whatever the passes. */
	assert_float_equal(json_real_value(json_object_get(json_array_get(sections, 3), "value")),
	                   12.0, 0);
	vl_result_release(&r);
}

static void test_whetstone_calibrates(void **state)
{
	static const char *const settings[] = {"duration=0.2", NULL};
	struct vl_result r;

	(void)state;
	run_ok("cpu.whetstone", settings, &r);
	assert_true(json_integer_value(json_object_get(r.extra, "passes")) >= 1);
	vl_result_release(&r);
	expect_rejected("cpu.whetstone", "duration=0", "'duration'");
	expect_rejected("cpu.whetstone", "passes=-1", "'passes'");
}

static void test_mutex(void **state)
{
	static const char *const settings[] = {"threads=3", "locks=2000", "loops=100", "mutexes=16",
	                                       NULL};
	struct vl_result r;

	(void)state;
	run_ok("cpu.mutex", settings, &r);
	vl_result_release(&r);
	expect_rejected("cpu.mutex", "threads=0", "'threads' must be an integer from 1 to 1024");
	expect_rejected("cpu.mutex", "mutexes=0", "'mutexes'");
	expect_rejected("cpu.mutex", "loops=-5", "'loops'");
}

static void test_rsa(void **state)
{
	static const char *const seeded[] = {"keys=3", "bits=512", "threads=2", NULL};
	static const char *const random[] = {"keys=2", "bits=512", "seed=0", NULL};
	struct vl_result r;

	(void)state;
	run_ok("cpu.rsa", seeded, &r);
	vl_result_release(&r);
	run_ok("cpu.rsa", random, &r);
	vl_result_release(&r);
	expect_rejected("cpu.rsa", "seed=-1", "'seed'");
	expect_rejected("cpu.rsa", "bits=256", "'bits' must be an integer from 512 to 16384");
	expect_rejected("cpu.rsa", "keys=0", "'keys'");
	expect_rejected("cpu.rsa", "threads=0", "'threads'");
}

/* A stop request before the run ends it at once, as a failed result. */
static void test_stop_is_honoured(void **state)
{
	static const char *const names[] = {"cpu.primes", "cpu.whetstone", "cpu.mutex", "cpu.rsa"};
	static const volatile int stop = 1;
	struct vl_run_ctx ctx = {.stop = &stop, .workdir = "/tmp"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct vl_workload *w = vl_workload_find(names[i]);
		struct vl_params p;
		struct vl_result r;
		vl_error err = {0};

		assert_int_equal(vl_params_init(&p, w, &err), 0);
		assert_int_equal(vl_workload_run_once(&p, &ctx, &r, &err), 0);
		if (r.status != VL_STATUS_FAILED || !strstr(r.reason, "stopped"))
			fail_msg("%s: %s: %s", names[i], vl_status_name(r.status), r.reason);
		vl_result_release(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_primes),
	        cmocka_unit_test(test_primes_time_bound),
	        cmocka_unit_test(test_primes_needs_a_limit),
	        cmocka_unit_test(test_whetstone),
	        cmocka_unit_test(test_whetstone_calibrates),
	        cmocka_unit_test(test_mutex),
	        cmocka_unit_test(test_rsa),
	        cmocka_unit_test(test_stop_is_honoured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
