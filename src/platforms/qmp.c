/* QMP messages are JSON objects, one per line (ended by "\r\n"). Replies
 * carry the id we sent, so a late reply to a command that timed out is
 * skipped instead of being taken for the next one's. */
#include "platforms/qmp.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_MESSAGE     (8u << 20)
#define CONNECT_POLL_NS 20000000ull

struct vl_qmp {
	int fd;
	json_int_t next_id;
	char *buf;
	size_t len, cap;
	json_t *events; /* array of events not yet waited for */
};

void vl_qmp_free(struct vl_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	json_decref(q->events);
	free(q);
}

static int remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = vl_now_ns();

	return now >= deadline_ns ? 0 : (int)((deadline_ns - now + 999999) / 1000000);
}

/* Reads one message into *msg; fails at the deadline or on end of stream. */
static int read_message(struct vl_qmp *q, uint64_t deadline_ns, json_t **msg, vl_error *err)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		json_error_t jerr;
		ssize_t n;
		int ms;

		if (nl) {
			size_t line = (size_t)(nl - q->buf);
			*msg = json_loadb(q->buf, line, 0, &jerr);
			q->len -= line + 1;
			memmove(q->buf, nl + 1, q->len);
			if (!*msg || !json_is_object(*msg)) {
				json_decref(*msg);
				return vl_error_set(err, "QEMU sent a malformed QMP message: %s",
				                    jerr.text);
			}
			return 0;
		}
		if (q->len == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 4096;
			char *buf;
			if (cap > MAX_MESSAGE)
				return vl_error_set(err, "a QMP message is longer than %u bytes",
				                    MAX_MESSAGE);
			buf = realloc(q->buf, cap);
			if (!buf)
				return vl_error_errno(err, errno, "reading QMP");
			q->buf = buf;
			q->cap = cap;
		}
		ms = remaining_ms(deadline_ns);
		n = ms > 0 ? poll(&p, 1, ms) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vl_error_errno(err, errno, "waiting for QMP");
		if (n == 0)
			return vl_error_set(err, "QEMU did not answer on QMP in time");
		n = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vl_error_errno(err, errno, "reading QMP");
		if (n == 0)
			return vl_error_set(err, "QEMU closed the QMP connection");
		q->len += (size_t)n;
	}
}

static int send_message(struct vl_qmp *q, json_t *msg, vl_error *err)
{
	cleanup_free char *json = json_dumps(msg, JSON_COMPACT);
	cleanup_free char *text = NULL;
	size_t len, done = 0;

	if (!json || asprintf(&text, "%s\n", json) < 0)
		return vl_error_set(err, "encoding a QMP command");
	len = strlen(text);
	while (done < len) {
		ssize_t n = send(q->fd, text + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vl_error_errno(err, errno, "sending a QMP command");
		done += (size_t)n;
	}
	return 0;
}

static int connect_socket(const char *path, uint64_t deadline_ns, int *out, vl_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(addr.sun_path))
		return vl_error_input(err, "QMP socket path %s is too long for a unix socket",
		                      path);
	strcpy(addr.sun_path, path);
	for (;;) {
		cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return vl_error_errno(err, errno, "making a socket for QMP");
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			*out = vl_steal_fd(fd);
			return 0;
		}
		if (errno != ENOENT && errno != ECONNREFUSED && errno != EINTR)
			return vl_error_errno(err, errno, "connecting to QMP at %s", path);
		if (vl_now_ns() >= deadline_ns)
			return vl_error_errno(err, errno, "connecting to QMP at %s", path);
		vl_sleep_ns(CONNECT_POLL_NS, NULL);
	}
}

int vl_qmp_connect(const char *path, double timeout_s, struct vl_qmp **out, vl_error *err)
{
	uint64_t deadline = vl_now_ns() + (uint64_t)(timeout_s * 1e9);
	struct vl_qmp *q = calloc(1, sizeof(*q));
	json_t *greeting = NULL;

	if (!q)
		return vl_error_errno(err, errno, "connecting to QMP");
	q->fd = -1;
	q->events = json_array();
	if (connect_socket(path, deadline, &q->fd, err) < 0 ||
	    read_message(q, deadline, &greeting, err) < 0)
		goto fail;
	if (!json_object_get(greeting, "QMP")) {
		json_decref(greeting);
		vl_error_set(err, "%s does not speak QMP (no greeting)", path);
		goto fail;
	}
	json_decref(greeting);
	if (vl_qmp_execute(q, "qmp_capabilities", NULL,
	                   (double)remaining_ms(deadline) / 1000.0 + 0.001, NULL, err) < 0)
		goto fail;
	*out = q;
	return 0;
fail:
	vl_qmp_free(q);
	return -1;
}

int vl_qmp_execute(struct vl_qmp *q, const char *command, json_t *args, double timeout_s,
                   json_t **ret, vl_error *err)
{
	uint64_t deadline = vl_now_ns() + (uint64_t)(timeout_s * 1e9);
	json_int_t id = ++q->next_id;
	cleanup_json json_t *msg = json_pack("{s:s, s:I}", "execute", command, "id", id);

	if (!msg)
		return vl_error_set(err, "encoding QMP %s", command);
	if (args)
		json_object_set(msg, "arguments", args);
	if (send_message(q, msg, err) < 0)
		return vl_error_wrap(err, "QMP %s", command);
	for (;;) {
		cleanup_json json_t *reply = NULL;
		json_t *error;
		if (read_message(q, deadline, &reply, err) < 0)
			return vl_error_wrap(err, "QMP %s", command);
		if (json_object_get(reply, "event")) {
			json_array_append(q->events, reply);
			continue;
		}
		if (json_integer_value(json_object_get(reply, "id")) != id)
			continue;
		error = json_object_get(reply, "error");
		if (error)
			return vl_error_set(err, "QMP %s: %s: %s", command,
			                    json_string_value(json_object_get(error, "class")),
			                    json_string_value(json_object_get(error, "desc")));
		if (ret)
			*ret = json_incref(json_object_get(reply, "return"));
		return 0;
	}
}

int vl_qmp_wait_event(struct vl_qmp *q, const char *name, double timeout_s, json_t **event,
                      vl_error *err)
{
	uint64_t deadline = vl_now_ns() + (uint64_t)(timeout_s * 1e9);
	size_t i;
	json_t *e;

	json_array_foreach(q->events, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "event")) ?: "", name) == 0) {
			if (event)
				*event = json_incref(e);
			json_array_remove(q->events, i);
			return 0;
		}
	}
	for (;;) {
		json_t *msg = NULL;
		if (read_message(q, deadline, &msg, err) < 0)
			return vl_error_wrap(err, "waiting for QMP event %s", name);
		if (strcmp(json_string_value(json_object_get(msg, "event")) ?: "", name) == 0) {
			if (event)
				*event = msg;
			else
				json_decref(msg);
			return 0;
		}
		if (json_object_get(msg, "event"))
			json_array_append(q->events, msg);
		json_decref(msg);
	}
}
