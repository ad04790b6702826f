/* core/proc: spawning with kept fds, a new group and a cwd; waiting with a
 * deadline; killing a group. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/proc.h"

static pid_t spawn_sh(const char *script, const struct vl_spawn_options *opts)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	vl_error err = {0};
	pid_t pid = 0;

	if (vl_spawn("/bin/sh", argv, opts, &pid, &err) < 0)
		fail_msg("%s", err.msg);
	return pid;
}

static void test_exit_status_and_kept_fd(void **state)
{
	int fds[2];
	char buf[64] = "";
	struct vl_spawn_options opts = {.n_keep_fds = 1, .cwd = "/"};
	vl_error err = {0};
	bool exited = false;
	int status = 0;
	pid_t pid;
	char script[64];

	(void)state;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	opts.keep_fds = &fds[1];
	snprintf(script, sizeof(script), "pwd >&%d; exit 3", fds[1]);
	pid = spawn_sh(script, &opts);
	close(fds[1]);
	assert_int_equal(vl_proc_wait_exit(pid, 10, &exited, &err), 0);
	assert_true(exited);
	assert_int_equal(vl_proc_reap(pid, &status, &err), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, "/\n");
	close(fds[0]);
}

static void test_deadline_and_group_kill(void **state)
{
	struct vl_spawn_options opts = {.new_group = true};
	vl_error err = {0};
	bool exited = true;
	int status = 0;
	char how[96];
	/* A grandchild in the same group must die with it. */
	pid_t pid = spawn_sh("sleep 30 & sleep 30", &opts);

	(void)state;
	assert_int_equal(getpgid(pid), pid);
	assert_int_equal(vl_proc_wait_exit(pid, 0.05, &exited, &err), 0);
	assert_false(exited);
	assert_int_equal(vl_proc_kill_group(pid, SIGKILL, &err), 0);
	assert_int_equal(vl_proc_reap(pid, &status, &err), 0);
	assert_true(WIFSIGNALED(status));
	assert_non_null(strstr(vl_proc_describe_status(status, how, sizeof(how)), "signal 9"));
	/* The group is empty now: signalling it again is not an error. */
	usleep(10000);
	assert_int_equal(vl_proc_kill_group(pid, SIGKILL, &err), 0);
	assert_int_equal(vl_proc_kill_group(1, SIGKILL, &err), -1);
}

static void test_missing_program(void **state)
{
	char *argv[] = {"nope", NULL};
	struct vl_spawn_options opts = {0};
	vl_error err = {0};
	pid_t pid;

	(void)state;
	assert_int_equal(vl_spawn("/nonexistent/nope", argv, &opts, &pid, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exit_status_and_kept_fd),
	        cmocka_unit_test(test_deadline_and_group_kill),
	        cmocka_unit_test(test_missing_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
