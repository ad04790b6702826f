#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "workloads/workload.h"

static void test_every_default_is_valid(void **state)
{
	size_t n;
	const struct vl_workload *const *all = vl_workload_all(&n);

	(void)state;
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		struct vl_params p;
		vl_error err = {0};
		if (vl_params_init(&p, all[i], &err) < 0)
			fail_msg("%s: %s", all[i]->name, err.msg);
		assert_non_null(all[i]->metrics[0].name);
		assert_non_null(all[i]->run);
	}
}

static void test_names_are_unique(void **state)
{
	size_t n;
	const struct vl_workload *const *all = vl_workload_all(&n);

	(void)state;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(all[i]->name, all[j]->name);
}

static void test_bad_values_name_the_parameter(void **state)
{
	const struct vl_workload *w = vl_workload_find("null");
	struct vl_params p;
	vl_error err = {0};

	(void)state;
	assert_non_null(w);
	assert_int_equal(vl_params_init(&p, w, &err), 0);
	assert_int_equal(vl_params_set_assignment(&p, "sleep=-1", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "'sleep'"));
	assert_non_null(strstr(err.msg, "from 0 to 3600"));
	assert_int_equal(vl_params_set_assignment(&p, "nope=1", &err), -1);
	assert_non_null(strstr(err.msg, "no parameter 'nope'"));
	assert_int_equal(vl_params_set_assignment(&p, "status=maybe", &err), -1);
	assert_non_null(strstr(err.msg, "one of ok,failed,unsupported"));
	assert_int_equal(vl_params_set_assignment(&p, "novalue", &err), -1);
	assert_int_equal(vl_params_set_assignment(&p, "value=2.5", &err), 0);
	assert_float_equal(vl_param_double(&p, "value"), 2.5, 0);
	assert_int_equal(vl_params_set_assignment(&p, "sleep=250ms", &err), 0);
	assert_float_equal(vl_param_double(&p, "sleep"), 0.25, 1e-12);
}

static void test_json_params(void **state)
{
	const struct vl_workload *w = vl_workload_find("null");
	struct vl_params p;
	vl_error err = {0};
	json_t *obj = json_pack("{s:f, s:s}", "value", 7.0, "status", "failed");
	json_t *bad = json_pack("{s:[]}", "value");
	json_t *back;

	(void)state;
	assert_int_equal(vl_params_init(&p, w, &err), 0);
	assert_int_equal(vl_params_set_json(&p, obj, &err), 0);
	back = vl_params_to_json(&p);
	assert_float_equal(json_real_value(json_object_get(back, "value")), 7.0, 0);
	assert_string_equal(json_string_value(json_object_get(back, "status")), "failed");
	assert_int_equal(vl_params_set_json(&p, bad, &err), -1);
	json_decref(obj);
	json_decref(bad);
	json_decref(back);
}

static void test_null_workload_result(void **state)
{
	const struct vl_workload *w = vl_workload_find("null");
	struct vl_params p;
	struct vl_result r;
	volatile int stop = 0;
	struct vl_run_ctx ctx = {.stop = &stop, .workdir = "."};
	vl_error err = {0};
	json_t *j;

	(void)state;
	assert_int_equal(vl_params_init(&p, w, &err), 0);
	assert_int_equal(vl_params_set(&p, "value", "42", &err), 0);
	assert_int_equal(vl_workload_run_once(&p, &ctx, &r, &err), 0);
	assert_int_equal(r.status, VL_STATUS_OK);
	j = vl_result_to_json(&r);
	assert_float_equal(json_real_value(json_object_get(json_object_get(j, "metrics"), "value")),
	                   42.0, 0);
	json_decref(j);
	vl_result_release(&r);
	assert_int_equal(vl_params_set(&p, "status", "failed", &err), 0);
	assert_int_equal(vl_workload_run_once(&p, &ctx, &r, &err), 0);
	assert_int_equal(r.status, VL_STATUS_FAILED);
	assert_string_equal(r.reason, "asked to fail");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_default_is_valid),
	        cmocka_unit_test(test_names_are_unique),
	        cmocka_unit_test(test_bad_values_name_the_parameter),
	        cmocka_unit_test(test_json_params),
	        cmocka_unit_test(test_null_workload_result),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
