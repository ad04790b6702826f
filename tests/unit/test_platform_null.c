/* The null platform (the agent in a thread) and vl_run_workload() over it:
 * the path the study takes, without a guest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>

#include "platforms/platform.h"
#include "study/workload_run.h"
#include "workloads/workload.h"

struct fixture {
	struct vl_guest *g;
};

static int start_guest(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vl_guest_spec spec = {.name = "unit-null"};
	const struct vl_platform *null = vl_platform_find("null");
	vl_error err = {0};

	assert_non_null(null);
	if (vl_guest_new(null, &spec, &f->g, &err) < 0 || null->start(f->g, &err) < 0)
		fail_msg("%s", err.msg);
	*state = f;
	return 0;
}

static int stop_guest(void **state)
{
	struct fixture *f = *state;
	vl_error err = {0};

	if (f->g->platform->destroy(f->g, &err) < 0)
		fail_msg("%s", err.msg);
	vl_guest_free(f->g);
	free(f);
	return 0;
}

static void set_params(struct vl_params *p, const char *const *assignments)
{
	vl_error err = {0};

	if (vl_params_init(p, vl_workload_find("null"), &err) < 0)
		fail_msg("%s", err.msg);
	for (; *assignments; assignments++)
		if (vl_params_set_assignment(p, *assignments, &err) < 0)
			fail_msg("%s", err.msg);
}

static void test_run_gives_samples_and_summary(void **state)
{
	struct fixture *f = *state;
	struct vl_params p;
	json_t *out = NULL, *value;
	vl_error err = {0};

	set_params(&p, (const char *const[]){"value=42.5", NULL});
	if (vl_run_workload(f->g, &p, 3, 1, 30, &out, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(out, "workload")), "null");
	assert_string_equal(json_string_value(json_object_get(out, "platform")), "null");
	assert_string_equal(json_string_value(json_object_get(out, "primary")), "value");
	assert_int_equal(json_array_size(json_object_get(out, "samples")), 3);
	assert_int_equal(vl_samples_not_ok(json_object_get(out, "samples")), 0);
	value = json_object_get(json_object_get(out, "summary"), "value");
	assert_non_null(value);
	assert_int_equal(json_integer_value(json_object_get(value, "n")), 3);
	assert_float_equal(json_number_value(json_object_get(value, "median")), 42.5, 1e-12);
	assert_float_equal(json_number_value(json_object_get(value, "cov")), 0, 1e-12);
	assert_string_equal(json_string_value(json_object_get(value, "unit")), "1");
	json_decref(out);
}

static void test_failed_samples_are_kept_not_summarised(void **state)
{
	struct fixture *f = *state;
	struct vl_params p;
	json_t *out = NULL;
	vl_error err = {0};

	set_params(&p, (const char *const[]){"status=failed", NULL});
	if (vl_run_workload(f->g, &p, 2, 0, 30, &out, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(json_array_size(json_object_get(out, "samples")), 2);
	assert_int_equal(vl_samples_not_ok(json_object_get(out, "samples")), 2);
	assert_int_equal(json_object_size(json_object_get(out, "summary")), 0);
	json_decref(out);
}

static void test_guest_survives_many_runs(void **state)
{
	struct fixture *f = *state;
	struct vl_params p;
	vl_error err = {0};

	set_params(&p, (const char *const[]){"value=1", NULL});
	for (int i = 0; i < 20; i++) {
		json_t *out = NULL;
		if (vl_run_workload(f->g, &p, 1, 0, 30, &out, &err) < 0)
			fail_msg("run %d: %s", i, err.msg);
		json_decref(out);
	}
}

static void test_summary_skips_samples_not_ok(void **state)
{
	json_t *samples = json_loads("[{\"status\": \"ok\", \"metrics\": {\"value\": 1}},"
	                             " {\"status\": \"failed\", \"metrics\": {\"value\": 100}},"
	                             " {\"status\": \"ok\", \"metrics\": {\"value\": 3}},"
	                             " {\"status\": \"ok\", \"metrics\": {}}]",
	                             0, NULL);
	json_t *summary = vl_summarize_samples(vl_workload_find("null"), samples);
	json_t *value = json_object_get(summary, "value");

	(void)state;
	assert_non_null(value);
	assert_int_equal(json_integer_value(json_object_get(value, "n")), 2);
	assert_float_equal(json_number_value(json_object_get(value, "median")), 2, 1e-12);
	assert_float_equal(json_number_value(json_object_get(value, "min")), 1, 1e-12);
	assert_float_equal(json_number_value(json_object_get(value, "max")), 3, 1e-12);
	assert_int_equal(vl_samples_not_ok(samples), 1);
	json_decref(summary);
	json_decref(samples);
}

static void test_guest_names_are_checked(void **state)
{
	struct vl_guest_spec spec = {.name = "../escape"};
	struct vl_guest *g = NULL;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_guest_new(vl_platform_find("null"), &spec, &g, &err), -1);
	assert_int_equal(vl_error_exit_code(&err), 2);
	assert_null(g);
}

static void test_start_stop_twice(void **state)
{
	struct vl_guest_spec spec = {.name = "unit-stop"};
	const struct vl_platform *null = vl_platform_find("null");
	struct vl_guest *g = NULL;
	vl_error err = {0};

	(void)state;
	/* Starting and stopping twice must leave nothing behind (ASan checks). */
	if (vl_guest_new(null, &spec, &g, &err) < 0)
		fail_msg("%s", err.msg);
	for (int i = 0; i < 2; i++) {
		if (null->start(g, &err) < 0 || null->stop(g, &err) < 0)
			fail_msg("%s", err.msg);
	}
	assert_int_equal(null->destroy(g, &err), 0);
	vl_guest_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_run_gives_samples_and_summary, start_guest,
	                                        stop_guest),
	        cmocka_unit_test_setup_teardown(test_failed_samples_are_kept_not_summarised,
	                                        start_guest, stop_guest),
	        cmocka_unit_test_setup_teardown(test_guest_survives_many_runs, start_guest,
	                                        stop_guest),
	        cmocka_unit_test(test_summary_skips_samples_not_ok),
	        cmocka_unit_test(test_guest_names_are_checked),
	        cmocka_unit_test(test_start_stop_twice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
