#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "core/stats.h"

static void test_summary_known_values(void **state)
{
	/* R: x <- c(2, 4, 4, 4, 5, 5, 7, 9); mean 5, sd 2.13809 */
	const double v[] = {9, 2, 4, 7, 4, 5, 4, 5};
	struct vl_summary s;

	(void)state;
	vl_summarize(v, 8, &s);
	assert_int_equal(s.n, 8);
	assert_float_equal(s.median, 4.5, 1e-12);
	assert_float_equal(s.min, 2, 1e-12);
	assert_float_equal(s.max, 9, 1e-12);
	assert_float_equal(s.mean, 5, 1e-12);
	assert_float_equal(s.stddev, 2.138089935, 1e-8);
	assert_float_equal(s.cov, 2.138089935 / 5, 1e-8);
}

static void test_median_odd_and_single(void **state)
{
	const double v[] = {3, 1, 2};
	(void)state;
	assert_float_equal(vl_median(v, 3), 2, 1e-12);
	assert_float_equal(vl_median(v, 1), 3, 1e-12);
	assert_float_equal(vl_median(v, 0), 0, 1e-12);
}

static void test_median_ci_ranks(void **state)
{
	size_t lo, hi;
	double cov;

	(void)state;
	/* n = 5 cannot reach 95%: [min, max] covers 1 - 2/32 = 0.9375. */
	vl_median_ci_ranks(5, 0.95, &lo, &hi, &cov);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 4);
	assert_float_equal(cov, 0.9375, 1e-12);
	/* n = 10: [x(2), x(9)] in 1-based ranks covers 0.9785 (tables). */
	vl_median_ci_ranks(10, 0.95, &lo, &hi, &cov);
	assert_int_equal(lo, 1);
	assert_int_equal(hi, 8);
	assert_float_equal(cov, 0.978515625, 1e-9);
	/* n = 20: ranks 6..15 (1-based), coverage 0.9586. */
	vl_median_ci_ranks(20, 0.95, &lo, &hi, &cov);
	assert_int_equal(lo, 5);
	assert_int_equal(hi, 14);
	assert_float_equal(cov, 0.958610535, 1e-8);
}

static void test_summary_empty(void **state)
{
	struct vl_summary s;
	(void)state;
	vl_summarize(NULL, 0, &s);
	assert_int_equal(s.n, 0);
	assert_float_equal(s.median, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_summary_known_values),
	        cmocka_unit_test(test_median_odd_and_single),
	        cmocka_unit_test(test_median_ci_ranks),
	        cmocka_unit_test(test_summary_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
