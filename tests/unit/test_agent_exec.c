/* The agent's exec op (src/agent/ops_exec.c) through the real client, over
 * the null platform (the agent in a thread). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agent/client.h"
#include "platforms/platform.h"

static int start_guest(void **state)
{
	struct vl_guest_spec spec = {.name = "unit-exec"};
	const struct vl_platform *null = vl_platform_find("null");
	struct vl_guest *g = NULL;
	vl_error err = {0};

	if (vl_guest_new(null, &spec, &g, &err) < 0 || null->start(g, &err) < 0)
		fail_msg("%s", err.msg);
	*state = g;
	return 0;
}

static int stop_guest(void **state)
{
	struct vl_guest *g = *state;
	vl_error err = {0};

	if (g->platform->destroy(g, &err) < 0)
		fail_msg("%s", err.msg);
	vl_guest_free(g);
	return 0;
}

/* args is stolen. Returns the call's result (0 or -1); *out on success. */
static int call_exec(struct vl_guest *g, json_t *args, json_t **out, vl_error *err)
{
	struct vl_agent_client *c = NULL;
	int fd, rc;

	if (g->platform->open_channel(g, &fd, err) < 0 || vl_agent_client_new(fd, &c, err) < 0)
		fail_msg("%s", err->msg);
	rc = vl_agent_call(c, "exec", args, 30, out, err);
	vl_agent_client_free(c);
	json_decref(args);
	return rc;
}

static json_t *exec_ok(struct vl_guest *g, json_t *args)
{
	json_t *out = NULL;
	vl_error err = {0};

	if (call_exec(g, args, &out, &err) < 0)
		fail_msg("%s", err.msg);
	return out;
}

static const char *text(json_t *res, const char *key)
{
	return json_string_value(json_object_get(res, key));
}

static void test_output_and_status_pass_through(void **state)
{
	json_t *res = exec_ok(*state, json_pack("{s:[s,s,s]}", "argv", "sh", "-c",
	                                        "echo out; echo err >&2; exit 3"));

	assert_int_equal(json_integer_value(json_object_get(res, "exit_status")), 3);
	assert_true(json_is_null(json_object_get(res, "signal")));
	assert_true(json_is_null(json_object_get(res, "exec_error")));
	assert_string_equal(text(res, "stdout"), "out\n");
	assert_string_equal(text(res, "stderr"), "err\n");
	assert_false(json_is_true(json_object_get(res, "timed_out")));
	json_decref(res);
}

static void test_missing_command_gives_127(void **state)
{
	json_t *res = exec_ok(*state, json_pack("{s:[s]}", "argv", "virtlab-no-such-command"));

	assert_int_equal(json_integer_value(json_object_get(res, "exit_status")), 127);
	assert_non_null(strstr(text(res, "exec_error"), "No such file"));
	json_decref(res);
}

static void test_timeout_kills_the_group(void **state)
{
	/* The background sleep holds the pipes: only killing the group ends it. */
	json_t *res = exec_ok(*state, json_pack("{s:[s,s,s], s:f}", "argv", "sh", "-c",
	                                        "sleep 20 & sleep 20", "timeout", 0.3));

	assert_true(json_is_true(json_object_get(res, "timed_out")));
	assert_int_equal(json_integer_value(json_object_get(res, "signal")), 9);
	assert_true(json_number_value(json_object_get(res, "duration_s")) < 5);
	json_decref(res);
}

static void test_output_is_truncated_and_kept_valid(void **state)
{
	json_t *res =
	        exec_ok(*state, json_pack("{s:[s,s,s], s:i}", "argv", "sh", "-c",
	                                  "printf '\\377ok'; head -c 100000 /dev/zero | tr '\\0' a",
	                                  "max_output", 1000));

	assert_true(json_is_true(json_object_get(res, "stdout_truncated")));
	assert_int_equal(json_string_length(json_object_get(res, "stdout")), 1000 + 2);
	/* The invalid byte became U+FFFD (three bytes for one). */
	assert_memory_equal(text(res, "stdout"), "\xef\xbf\xbdok", 5);
	assert_int_equal(json_integer_value(json_object_get(res, "exit_status")), 0);
	json_decref(res);
	/* NUL is not text either (and the host's reader refuses it). */
	res = exec_ok(*state, json_pack("{s:[s,s]}", "argv", "printf", "a\\0b"));
	assert_string_equal(text(res, "stdout"), "a\xef\xbf\xbd"
	                                         "b");
	json_decref(res);
}

static void test_bad_argv_is_refused(void **state)
{
	json_t *out = NULL;
	vl_error err = {0};

	assert_int_equal(call_exec(*state, json_pack("{s:[]}", "argv"), &out, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "argv"));
	assert_int_equal(call_exec(*state, json_pack("{s:[i]}", "argv", 1), &out, &err), -1);
	assert_int_equal(call_exec(*state, json_pack("{s:[s], s:i}", "argv", "true", "timeout", -1),
	                           &out, &err),
	                 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_output_and_status_pass_through),
	        cmocka_unit_test(test_missing_command_gives_127),
	        cmocka_unit_test(test_timeout_kills_the_group),
	        cmocka_unit_test(test_output_is_truncated_and_kept_valid),
	        cmocka_unit_test(test_bad_argv_is_refused),
	};
	return cmocka_run_group_tests(tests, start_guest, stop_guest);
}
