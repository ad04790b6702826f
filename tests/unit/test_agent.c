#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/client.h"
#include "core/clock.h"

/* An agent serving one end of a socketpair in a thread; the test talks to
 * the other end. */
struct agent {
	int fd;
	FILE *in; /* replies, read line by line */
	pthread_t thread;
	int agent_fd;
	struct vl_agent_options opts;
	enum vl_agent_end end;
	vl_error err;
	int rc;
	bool joined;
};

static void *serve_thread(void *arg)
{
	struct agent *a = arg;

	a->rc = vl_agent_serve_channel(a->agent_fd, a->agent_fd, &a->opts, &a->end, &a->err);
	close(a->agent_fd);
	return NULL;
}

static struct agent *agent_start(const struct vl_agent_options *opts)
{
	struct agent *a = calloc(1, sizeof(*a));
	int sv[2];

	assert_non_null(a);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	a->fd = sv[0];
	a->agent_fd = sv[1];
	if (opts)
		a->opts = *opts;
	a->in = fdopen(dup(a->fd), "r");
	assert_non_null(a->in);
	assert_int_equal(pthread_create(&a->thread, NULL, serve_thread, a), 0);
	return a;
}

static void agent_join(struct agent *a)
{
	if (!a->joined)
		pthread_join(a->thread, NULL);
	a->joined = true;
}

static void agent_free(struct agent *a)
{
	if (a->fd >= 0)
		shutdown(a->fd, SHUT_WR);
	agent_join(a);
	if (a->fd >= 0)
		close(a->fd);
	fclose(a->in);
	free(a);
}

static void send_text(struct agent *a, const char *text, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(a->fd, text + done, len - done);
		assert_true(n > 0);
		done += (size_t)n;
	}
}

static json_t *read_reply(struct agent *a)
{
	char *line = NULL;
	size_t cap = 0;
	json_t *reply;

	assert_true(getline(&line, &cap, a->in) > 0);
	reply = json_loads(line, 0, NULL);
	if (!reply)
		fail_msg("reply is not JSON: %s", line);
	free(line);
	return reply;
}

/* Sends one line and returns the reply to it. */
static json_t *request(struct agent *a, const char *line)
{
	send_text(a, line, strlen(line));
	send_text(a, "\n", 1);
	return read_reply(a);
}

static json_t *expect_ok(json_t *reply)
{
	if (!json_is_true(json_object_get(reply, "ok"))) {
		char *text = json_dumps(reply, 0);
		fail_msg("expected ok, got %s", text);
	}
	return json_object_get(reply, "result");
}

/* Asserts an error reply with the code whose message contains part. */
static void expect_error(json_t *reply, const char *code, const char *part)
{
	const char *got_code = "", *message = "";

	assert_true(json_is_false(json_object_get(reply, "ok")));
	assert_int_equal(json_unpack(reply, "{s:{s:s, s:s}}", "error", "code", &got_code, "message",
	                             &message),
	                 0);
	assert_string_equal(got_code, code);
	if (!strstr(message, part))
		fail_msg("message '%s' lacks '%s'", message, part);
	json_decref(reply);
}

static void expect_hello(struct agent *a)
{
	json_t *reply = request(a, "{\"id\": 99, \"op\": \"hello\"}");
	json_t *facts = expect_ok(reply);

	assert_int_equal(json_integer_value(json_object_get(reply, "id")), 99);
	assert_int_equal(json_integer_value(json_object_get(facts, "protocol")), 1);
	json_decref(reply);
}

static void test_hello(void **state)
{
	struct agent *a = agent_start(NULL);
	json_t *reply = request(a, "{\"id\": \"h1\", \"op\": \"hello\"}");
	json_t *facts = expect_ok(reply);
	json_t *cpus = json_object_get(facts, "cpus");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(reply, "id")), "h1");
	assert_int_equal(json_integer_value(json_object_get(facts, "pid")), getpid());
	assert_true(json_integer_value(json_object_get(cpus, "online")) >= 1);
	assert_true(json_integer_value(json_object_get(cpus, "allowed")) >= 1);
	assert_true(json_integer_value(
	                    json_object_get(json_object_get(facts, "memory"), "total_bytes")) > 0);
	assert_true(strlen(json_string_value(
	                    json_object_get(json_object_get(facts, "kernel"), "release"))) > 0);
	assert_non_null(json_object_get(json_object_get(facts, "cgroup"), "limits"));
	assert_true(json_array_size(json_object_get(facts, "workloads")) > 0);
	json_decref(reply);
	agent_free(a);
}

static void test_run_null(void **state)
{
	struct agent *a = agent_start(NULL);
	json_t *reply = request(a, "{\"id\": 1, \"op\": \"run\", \"workload\": \"null\", "
	                           "\"params\": {\"value\": 2.5}, \"repeat\": 3, \"warmup\": 1}");
	json_t *result = expect_ok(reply), *samples = json_object_get(result, "samples"), *s;
	size_t i;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(result, "workload")), "null");
	assert_non_null(json_object_get(json_object_get(result, "params"), "sleep"));
	assert_int_equal(json_array_size(samples), 3);
	json_array_foreach(samples, i, s)
	{
		assert_string_equal(json_string_value(json_object_get(s, "status")), "ok");
		assert_float_equal(
		        json_number_value(json_object_get(json_object_get(s, "metrics"), "value")),
		        2.5, 0);
	}
	json_decref(reply);
	agent_free(a);
}

/* The prepare program runs before the first request that starts work, not
 * before hello, with the workdir as its argument; once it has succeeded it
 * is not run again, and after a failure the next request runs it again. */
static void test_prepare_before_work(void **state)
{
	char dir[] = "/tmp/virtlab-agent-prepare-XXXXXX", prog[64], log[64], flag[64];
	struct vl_agent_options opts = {0};
	bool prepared = false;
	struct agent *a;
	json_t *reply;
	FILE *f;
	char line[256] = "", expected[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(prog, sizeof(prog), "%s/prepare", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(flag, sizeof(flag), "%s/ok", dir);
	/* Fails until the flag file exists; logs every run with its argument. */
	f = fopen(prog, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\necho \"$1\" >> %s\n[ -e %s ]\n", log, flag);
	fclose(f);
	assert_int_equal(chmod(prog, 0755), 0);
	opts.workdir = dir;
	opts.prepare = prog;
	opts.prepared = &prepared;
	a = agent_start(&opts);
	expect_hello(a);
	assert_int_not_equal(access(log, F_OK), 0);
	expect_error(request(a, "{\"id\": 1, \"op\": \"run\", \"workload\": \"null\"}"), "failed",
	             "prepar");
	assert_false(prepared);
	f = fopen(flag, "w");
	assert_non_null(f);
	fclose(f);
	for (int id = 2; id <= 3; id++) {
		snprintf(line, sizeof(line),
		         "{\"id\": %d, \"op\": \"run\", \"workload\": \"null\"}", id);
		reply = request(a, line);
		expect_ok(reply);
		json_decref(reply);
		assert_true(prepared);
	}
	agent_free(a);
	/* Two runs: the failed one and the first that succeeded. */
	f = fopen(log, "r");
	assert_non_null(f);
	snprintf(expected, sizeof(expected), "%s\n%s\n", dir, dir);
	line[fread(line, 1, sizeof(line) - 1, f)] = '\0';
	fclose(f);
	assert_string_equal(line, expected);
	unlink(prog);
	unlink(log);
	unlink(flag);
	assert_int_equal(rmdir(dir), 0);
}

static void test_bad_params_keep_serving(void **state)
{
	struct agent *a = agent_start(NULL);

	(void)state;
	expect_error(request(a, "{\"id\": 1, \"op\": \"run\", \"workload\": \"null\", "
	                        "\"params\": {\"sleep\": -1}}"),
	             "bad-params", "'sleep'");
	expect_error(request(a, "{\"id\": 2, \"op\": \"run\", \"workload\": \"null\", "
	                        "\"params\": {\"nope\": 1}}"),
	             "bad-params", "'nope'");
	expect_error(request(a, "{\"id\": 3, \"op\": \"run\", \"workload\": \"nope\"}"),
	             "bad-params", "'nope' is not a workload");
	expect_error(request(a, "{\"id\": 4, \"op\": \"run\", \"workload\": \"null\", "
	                        "\"params\": [1]}"),
	             "bad-params", "\"params\" must be an object");
	expect_hello(a);
	agent_free(a);
}

static void test_malformed_requests(void **state)
{
	struct agent *a = agent_start(NULL);

	(void)state;
	expect_error(request(a, "garbage"), "bad-request", "malformed JSON");
	expect_error(request(a, "{\"id\": 1, \"op\": \"hello\""), "bad-request", "malformed JSON");
	expect_error(request(a, "[1, 2]"), "bad-request", "must be a JSON object");
	expect_error(request(a, "{\"id\": 1}"), "bad-request", "missing \"op\"");
	expect_error(request(a, "{\"id\": 1, \"op\": 7}"), "bad-request", "must be a string");
	expect_error(request(a, "{\"id\": 1.5, \"op\": \"hello\"}"), "bad-request", "\"id\"");
	expect_error(request(a, "{\"id\": 1, \"op\": \"fly\"}"), "unknown-op", "\"fly\"");
	expect_error(request(a, "{\"id\": 1, \"op\": \"run\"}"), "bad-request",
	             "missing argument \"workload\"");
	expect_error(request(a, "{\"id\": 1, \"op\": \"run\", \"workload\": \"null\", "
	                        "\"repeat\": \"3\"}"),
	             "bad-request", "\"repeat\" must be an integer from 1 to 10000");
	expect_error(request(a, "{\"id\": 1, \"op\": \"run\", \"workload\": \"null\", "
	                        "\"repeat\": 0}"),
	             "bad-request", "\"repeat\"");
	expect_error(request(a, "{\"id\": 1, \"op\": \"run\", \"workload\": \"null\", "
	                        "\"repeats\": 2}"),
	             "bad-request", "unknown argument \"repeats\"");
	/* Blank lines are not requests and get no reply. */
	send_text(a, "\n  \r\n", 5);
	expect_hello(a);
	agent_free(a);
}

static void test_oversized_lines(void **state)
{
	struct vl_agent_options small = {.max_line = 4096};
	struct agent *a = agent_start(&small);
	size_t big = (2u << 20) + 17;
	char *line = malloc(big);

	(void)state;
	memset(line, 'x', big);
	line[10000] = '\0';
	expect_error(request(a, line), "too-large", "longer than 4096 bytes");
	expect_hello(a);
	agent_free(a);

	/* The default limit, 1 MiB. */
	a = agent_start(NULL);
	line[10000] = 'x';
	line[big - 1] = '\0';
	expect_error(request(a, line), "too-large", "longer than 1048576 bytes");
	expect_hello(a);
	agent_free(a);
	free(line);
}

static void test_stressors(void **state)
{
	struct agent *a = agent_start(NULL);
	json_t *reply, *result, *sample;
	json_int_t id, pid;

	(void)state;
	expect_error(request(a, "{\"id\": 1, \"op\": \"stress-start\", \"workload\": \"null\"}"),
	             "bad-params", "not a stressor");
	expect_error(request(a, "{\"id\": 1, \"op\": \"stress-stop\", \"stress_id\": 42}"),
	             "bad-request", "no running stressor");
	reply = request(a, "{\"id\": 2, \"op\": \"stress-start\", \"workload\": \"stress.cpu\"}");
	result = expect_ok(reply);
	id = json_integer_value(json_object_get(result, "stress_id"));
	pid = json_integer_value(json_object_get(result, "pid"));
	assert_true(id > 0 && pid > 0);
	json_decref(reply);
	usleep(200000);
	reply = request(a, "{\"id\": 3, \"op\": \"stress-stop\", \"stress_id\": 1}");
	result = expect_ok(reply);
	sample = json_object_get(result, "sample");
	assert_string_equal(json_string_value(json_object_get(result, "workload")), "stress.cpu");
	assert_non_null(json_string_value(json_object_get(sample, "status")));
	assert_true(json_is_object(json_object_get(sample, "metrics")));
	json_decref(reply);
	assert_true(kill((pid_t)pid, 0) < 0 && errno == ESRCH);

	/* One left running is stopped when the session ends. */
	reply = request(a, "{\"id\": 4, \"op\": \"stress-start\", \"workload\": \"stress.cpu\"}");
	pid = json_integer_value(json_object_get(expect_ok(reply), "pid"));
	json_decref(reply);
	json_decref(request(a, "{\"id\": 5, \"op\": \"shutdown\"}"));
	agent_join(a);
	assert_int_equal(a->rc, 0);
	assert_true(kill((pid_t)pid, 0) < 0 && errno == ESRCH);
	agent_free(a);
}

static void test_serve_endpoint(void **state)
{
	struct agent *a = agent_start(NULL);
	json_t *reply = request(a, "{\"id\": 1, \"op\": \"serve\", \"address\": \"127.0.0.1\"}");
	json_int_t port = json_integer_value(json_object_get(expect_ok(reply), "port"));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char line[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	json_decref(reply);
	assert_true(port > 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	snprintf(line, sizeof(line), "{\"id\": 2, \"op\": \"serve-stop\", \"port\": %lld}",
	         (long long)port);
	json_decref(request(a, line));
	expect_error(request(a, line), "bad-request", "no endpoint");
	expect_error(request(a, "{\"id\": 3, \"op\": \"serve\", \"address\": \"nowhere\"}"),
	             "bad-request", "nowhere");
	agent_free(a);
}

static void test_shutdown_and_eof_end_serving(void **state)
{
	struct agent *a = agent_start(NULL);
	json_t *reply = request(a, "{\"id\": 1, \"op\": \"shutdown\"}");

	(void)state;
	json_decref(reply);
	agent_join(a);
	assert_int_equal(a->rc, 0);
	assert_int_equal(a->end, VL_AGENT_END_SHUTDOWN);
	agent_free(a);

	a = agent_start(NULL);
	shutdown(a->fd, SHUT_WR);
	agent_join(a);
	assert_int_equal(a->rc, 0);
	assert_int_equal(a->end, VL_AGENT_END_EOF);
	agent_free(a);
}

static volatile int stop_flag;

static void on_usr1(int sig)
{
	(void)sig;
}

static void test_stop_ends_running_workload(void **state)
{
	static const char slow_run[] = "{\"id\": 1, \"op\": \"run\", \"workload\": \"null\", "
	                               "\"params\": {\"sleep\": 60}}\n";
	int pipefd[2];
	struct vl_agent_options opts;
	struct agent *a;
	uint64_t start;
	json_t *reply;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	opts = (struct vl_agent_options){.stop = &stop_flag, .stop_fd = pipefd[0]};
	a = agent_start(&opts);
	expect_hello(a);
	start = vl_now_ns();
	send_text(a, slow_run, strlen(slow_run));
	usleep(200000);
	/* What the CLI's signal handler does; the signal itself is what
	 * interrupts a sleeping workload. */
	stop_flag = 1;
	assert_int_equal(write(pipefd[1], "", 1), 1);
	pthread_kill(a->thread, SIGUSR1);
	reply = read_reply(a);
	expect_error(reply, "failed", "the agent is stopping");
	agent_join(a);
	assert_true(vl_seconds_since(start) < 10);
	assert_int_equal(a->end, VL_AGENT_END_STOPPED);
	agent_free(a);
	close(pipefd[0]);
	close(pipefd[1]);
	stop_flag = 0;
}

static void test_client_against_agent(void **state)
{
	struct agent *a = agent_start(NULL);
	struct vl_agent_client *c;
	json_t *facts = NULL, *result = NULL, *params = json_pack("{s:f}", "value", 7.0);
	vl_error err = {0};
	unsigned id;

	(void)state;
	assert_int_equal(vl_agent_client_new(dup(a->fd), &c, &err), 0);
	assert_int_equal(vl_agent_hello(c, 5, &facts, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(facts, "protocol")), 1);
	assert_int_equal(vl_agent_run(c, "null", params, 2, 0, 5, &result, &err), 0);
	assert_int_equal(json_array_size(json_object_get(result, "samples")), 2);
	json_decref(result);
	json_decref(params);

	params = json_pack("{s:i}", "sleep", -3);
	assert_int_equal(vl_agent_run(c, "null", params, 1, 0, 5, &result, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_string_equal(vl_agent_client_error_code(c), "bad-params");
	assert_non_null(strstr(err.msg, "'sleep'"));
	json_decref(params);

	assert_int_equal(vl_agent_call(c, "teleport", NULL, 5, NULL, &err), -1);
	assert_string_equal(vl_agent_client_error_code(c), "unknown-op");

	assert_int_equal(vl_agent_stress_start(c, "stress.cpu", NULL, 5, &id, &err), 0);
	assert_int_equal(vl_agent_stress_stop(c, id, 10, &result, &err), 0);
	assert_non_null(json_object_get(result, "status"));
	json_decref(result);

	assert_int_equal(vl_agent_shutdown(c, 5, &err), 0);
	agent_join(a);
	assert_int_equal(a->end, VL_AGENT_END_SHUTDOWN);
	/* The agent has gone: the next call says so instead of waiting. */
	assert_int_equal(vl_agent_hello(c, 5, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "agent exited"));
	json_decref(facts);
	vl_agent_client_free(c);
	agent_free(a);
}

static void test_client_timeout(void **state)
{
	struct vl_agent_client *c;
	json_t *result = NULL, *request;
	vl_error err = {0};
	char line[256], replies[256];
	json_int_t id;
	uint64_t start;
	ssize_t n;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vl_agent_client_new(sv[0], &c, &err), 0);
	start = vl_now_ns();
	assert_int_equal(vl_agent_hello(c, 0.2, NULL, &err), -1);
	assert_true(vl_seconds_since(start) >= 0.19);
	assert_true(vl_seconds_since(start) < 2);
	assert_non_null(strstr(err.msg, "did not answer hello within 0.2 s"));

	/* A late reply to the timed-out call is skipped, not taken as the answer. */
	n = read(sv[1], line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = '\0';
	request = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(request);
	id = json_integer_value(json_object_get(request, "id"));
	json_decref(request);
	snprintf(replies, sizeof(replies),
	         "{\"id\": %lld, \"ok\": true, \"result\": {\"late\": 1}}\n"
	         "{\"id\": %lld, \"ok\": true, \"result\": {\"fresh\": 1}}\n",
	         (long long)id, (long long)id + 1);
	assert_int_equal(write(sv[1], replies, strlen(replies)), (ssize_t)strlen(replies));
	assert_int_equal(vl_agent_call(c, "hello", NULL, 1, &result, &err), 0);
	assert_non_null(json_object_get(result, "fresh"));
	json_decref(result);
	close(sv[1]);
	vl_agent_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hello),
	        cmocka_unit_test(test_run_null),
	        cmocka_unit_test(test_prepare_before_work),
	        cmocka_unit_test(test_bad_params_keep_serving),
	        cmocka_unit_test(test_malformed_requests),
	        cmocka_unit_test(test_oversized_lines),
	        cmocka_unit_test(test_stressors),
	        cmocka_unit_test(test_serve_endpoint),
	        cmocka_unit_test(test_shutdown_and_eof_end_serving),
	        cmocka_unit_test(test_stop_ends_running_workload),
	        cmocka_unit_test(test_client_against_agent),
	        cmocka_unit_test(test_client_timeout),
	};

	struct sigaction wake = {.sa_handler = on_usr1};

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGUSR1, &wake, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
