/* The QMP client (platforms/qmp.h) against a scripted monitor on a unix
 * socket: greeting and capabilities, replies matched by id, events kept for
 * later, error replies and a monitor that goes away. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "platforms/qmp.h"

struct monitor {
	int listen_fd;
	char path[PATH_MAX];
	char dir[PATH_MAX];
	pthread_t thread;
	char seen[4][128]; /* commands received, in order */
};

static void say(int fd, const char *line)
{
	size_t len = strlen(line);
	assert_int_equal(write(fd, line, len), (ssize_t)len);
}

/* Reads one line into buf (without the newline); false at end of stream. */
static bool hear(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char c;

	while (read(fd, &c, 1) == 1) {
		if (c == '\n') {
			buf[n] = '\0';
			return true;
		}
		if (n + 1 < size)
			buf[n++] = c;
	}
	return false;
}

static void *serve(void *arg)
{
	struct monitor *m = arg;
	int fd = accept(m->listen_fd, NULL, NULL);
	char line[512];

	if (fd < 0)
		return NULL;
	say(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
	for (int i = 0; i < 4 && hear(fd, line, sizeof(line)); i++) {
		json_t *cmd = json_loads(line, 0, NULL);
		json_int_t id = json_integer_value(json_object_get(cmd, "id"));
		const char *name = json_string_value(json_object_get(cmd, "execute"));
		char reply[256];

		snprintf(m->seen[i], sizeof(m->seen[i]), "%s", name ? name : "?");
		if (name && strcmp(name, "query-status") == 0) {
			/* An event and a stale reply come first; both must be passed over. */
			say(fd, "{\"event\": \"RESET\", \"data\": {\"guest\": false}}\r\n");
			say(fd, "{\"return\": {}, \"id\": 999}\r\n");
			snprintf(reply, sizeof(reply),
			         "{\"return\": {\"status\": \"running\"}, \"id\": %lld}\r\n",
			         (long long)id);
		} else if (name && strcmp(name, "nonsense") == 0) {
			snprintf(reply, sizeof(reply),
			         "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The "
			         "command "
			         "nonsense has not been found\"}, \"id\": %lld}\r\n",
			         (long long)id);
		} else if (name && strcmp(name, "stop") == 0) {
			snprintf(reply, sizeof(reply),
			         "{\"return\": {}, \"id\": %lld}\r\n{\"event\": \"STOP\"}\r\n",
			         (long long)id);
		} else {
			snprintf(reply, sizeof(reply), "{\"return\": {}, \"id\": %lld}\r\n",
			         (long long)id);
		}
		json_decref(cmd);
		say(fd, reply);
	}
	close(fd);
	return NULL;
}

static int setup(void **state)
{
	struct monitor *m = calloc(1, sizeof(*m));
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	snprintf(m->dir, sizeof(m->dir), "/tmp/virtlab-test-qmp-XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->path, sizeof(m->path), "%s/qmp.sock", m->dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", m->path);
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(m->listen_fd >= 0);
	assert_int_equal(bind(m->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(m->listen_fd, 1), 0);
	assert_int_equal(pthread_create(&m->thread, NULL, serve, m), 0);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	struct monitor *m = *state;

	shutdown(m->listen_fd, SHUT_RDWR);
	pthread_join(m->thread, NULL);
	close(m->listen_fd);
	unlink(m->path);
	rmdir(m->dir);
	free(m);
	return 0;
}

static void test_commands_events_and_errors(void **state)
{
	struct monitor *m = *state;
	struct vl_qmp *q = NULL;
	cleanup_json json_t *ret = NULL;
	cleanup_json json_t *event = NULL;
	vl_error err = {0};

	assert_int_equal(vl_qmp_connect(m->path, 5, &q, &err), 0);
	assert_int_equal(vl_qmp_execute(q, "query-status", NULL, 5, &ret, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
	assert_int_equal(vl_qmp_execute(q, "nonsense", NULL, 5, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "CommandNotFound"));
	vl_error_clear(&err);
	/* The RESET that came with query-status was kept. */
	assert_int_equal(vl_qmp_wait_event(q, "RESET", 5, &event, &err), 0);
	assert_false(json_is_true(json_object_get(json_object_get(event, "data"), "guest")));
	assert_int_equal(vl_qmp_execute(q, "stop", NULL, 5, NULL, &err), 0);
	assert_int_equal(vl_qmp_wait_event(q, "STOP", 5, NULL, &err), 0);
	/* The monitor has hung up: waiting fails at once, not at the deadline. */
	assert_int_equal(vl_qmp_wait_event(q, "SHUTDOWN", 30, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "closed"));
	vl_qmp_free(q);
	assert_string_equal(m->seen[0], "qmp_capabilities");
	assert_string_equal(m->seen[1], "query-status");
}

static void test_missing_socket_times_out(void **state)
{
	struct vl_qmp *q = NULL;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_qmp_connect("/nonexistent/virtlab-qmp.sock", 0.1, &q, &err), -1);
	assert_null(q);
	assert_non_null(strstr(err.msg, "/nonexistent/virtlab-qmp.sock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_commands_events_and_errors, setup, teardown),
	        cmocka_unit_test(test_missing_socket_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
