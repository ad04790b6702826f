/* Running a program and capturing its output (core/command.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "core/command.h"

static void test_captures_both_streams_and_status(void **state)
{
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; pwd; exit 3", NULL};
	struct vl_command_result res;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_command_run(argv, "/", 10, NULL, &res, &err), 0);
	assert_int_equal(res.exit_code, 3);
	assert_string_equal(res.out, "out\n/\n");
	assert_string_equal(res.err, "err\n");
	assert_true(res.elapsed_s > 0 && res.elapsed_s < 10);
	vl_command_result_release(&res);
}

static void test_large_output_is_drained(void **state)
{
	/* More than a pipe holds: the child must not block on a full pipe. */
	const char *argv[] = {"sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x", NULL};
	struct vl_command_result res;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_command_run(argv, NULL, 30, NULL, &res, &err), 0);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(strlen(res.out), 1000000);
	vl_command_result_release(&res);
}

static void test_timeout_and_stop_kill_the_child(void **state)
{
	const char *argv[] = {"sleep", "30", NULL};
	static volatile int stop = 1;
	struct vl_command_result res;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_command_run(argv, NULL, 0.2, NULL, &res, &err), -1);
	assert_non_null(strstr(err.msg, "timed out"));
	assert_null(res.out);
	assert_int_equal(vl_command_run(argv, NULL, 0, &stop, &res, &err), -1);
	assert_non_null(strstr(err.msg, "interrupted"));
}

static void test_failure_description(void **state)
{
	const char *argv[] = {"sh", "-c", "echo 'FATAL: no such test' >&2; exit 1", NULL};
	const char *killed[] = {"sh", "-c", "kill -9 $$", NULL};
	struct vl_command_result res;
	vl_error err = {0};
	char buf[256];

	(void)state;
	assert_int_equal(vl_command_run(argv, NULL, 10, NULL, &res, &err), 0);
	vl_command_describe_failure(&res, buf, sizeof(buf));
	assert_non_null(strstr(buf, "status 1"));
	assert_non_null(strstr(buf, "FATAL: no such test"));
	vl_command_result_release(&res);
	assert_int_equal(vl_command_run(killed, NULL, 10, NULL, &res, &err), 0);
	assert_int_equal(res.exit_code, -1);
	assert_non_null(strstr(vl_command_describe_failure(&res, buf, sizeof(buf)), "signal 9"));
	vl_command_result_release(&res);
}

static void test_missing_program(void **state)
{
	const char *argv[] = {"virtlab-no-such-program", NULL};
	struct vl_command_result res;
	vl_error err = {0};
	char path[PATH_MAX];

	(void)state;
	assert_false(vl_find_program("virtlab-no-such-program", path, sizeof(path)));
	assert_true(vl_find_program("sh", path, sizeof(path)));
	assert_int_equal(vl_command_run(argv, NULL, 10, NULL, &res, &err), -1);
	assert_non_null(strstr(err.msg, "not found"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_captures_both_streams_and_status),
	        cmocka_unit_test(test_large_output_is_drained),
	        cmocka_unit_test(test_timeout_and_stop_kill_the_child),
	        cmocka_unit_test(test_failure_description),
	        cmocka_unit_test(test_missing_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
