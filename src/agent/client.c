/* The host side of the agent protocol: one request at a time, replies matched
 * by id so that a late reply to a call that timed out is skipped, not taken
 * for the answer to the next one. */
#include "agent/client.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A run with many samples and per-sample extras is large, but never this. */
#define MAX_REPLY (64u << 20)

struct vl_agent_client {
	int fd;
	json_int_t next_id;
	char *buf;
	size_t len, cap;
	char error_code[32];
};

int vl_agent_client_new(int fd, struct vl_agent_client **out, vl_error *err)
{
	struct vl_agent_client *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return vl_error_set(err, "out of memory");
	}
	c->fd = fd;
	/* Ids start past every earlier client's: a reply that an earlier
	 * client's timed-out call left in the channel (a hello sent while a
	 * guest was booting) is then skipped, not taken for this one's answer. */
	c->next_id = (json_int_t)vl_now_ns();
	*out = c;
	return 0;
}

void vl_agent_client_free(struct vl_agent_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

const char *vl_agent_client_error_code(const struct vl_agent_client *c)
{
	return c->error_code;
}

static int remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = vl_now_ns();

	return now >= deadline_ns ? 0 : (int)((deadline_ns - now + 999999) / 1000000);
}

static int wait_fd(int fd, short events, uint64_t deadline_ns, const char *op, double timeout_s,
                   vl_error *err)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int ms = remaining_ms(deadline_ns);
		int n = ms > 0 ? poll(&p, 1, ms) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vl_error_errno(err, errno, "waiting for the agent");
		if (n == 0)
			return vl_error_set(err, "the agent did not answer %s within %g s", op,
			                    timeout_s);
		return 0;
	}
}

static int send_request(struct vl_agent_client *c, const char *text, uint64_t deadline_ns,
                        const char *op, double timeout_s, vl_error *err)
{
	size_t len = strlen(text), done = 0;

	while (done < len) {
		ssize_t n;
		if (wait_fd(c->fd, POLLOUT, deadline_ns, op, timeout_s, err) < 0)
			return -1;
		n = send(c->fd, text + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(c->fd, text + done, len - done);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return vl_error_set(err, "sending %s: the agent exited", op);
		if (n < 0)
			return vl_error_errno(err, errno, "sending %s to the agent", op);
		done += (size_t)n;
	}
	return 0;
}

/* Reads one reply line (without its newline) into a new object. */
static int read_reply(struct vl_agent_client *c, uint64_t deadline_ns, const char *op,
                      double timeout_s, json_t **reply, vl_error *err)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		json_error_t jerr;
		ssize_t n;

		if (nl) {
			size_t line_len = (size_t)(nl - c->buf);
			*reply = json_loadb(c->buf, line_len, 0, &jerr);
			c->len -= line_len + 1;
			memmove(c->buf, nl + 1, c->len);
			if (!*reply)
				return vl_error_set(err,
				                    "the agent sent a malformed reply to %s: %s",
				                    op, jerr.text);
			return 0;
		}
		if (c->len >= MAX_REPLY)
			return vl_error_set(err, "the agent's reply to %s exceeds %u MiB", op,
			                    MAX_REPLY >> 20);
		if (c->cap - c->len < 65536) {
			char *grown = realloc(c->buf, c->cap + 65536 + c->cap / 2);
			if (!grown)
				return vl_error_set(err, "out of memory reading the agent's reply");
			c->buf = grown;
			c->cap += 65536 + c->cap / 2;
		}
		if (wait_fd(c->fd, POLLIN, deadline_ns, op, timeout_s, err) < 0)
			return -1;
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return vl_error_set(err, "the agent exited before answering %s", op);
		if (n < 0)
			return vl_error_errno(err, errno, "reading the agent's reply to %s", op);
		c->len += (size_t)n;
	}
}

/* Protocol codes for bad input become input errors (exit 2): the input came
 * from the user through the host. */
static int agent_error(struct vl_agent_client *c, json_t *reply, const char *op, vl_error *err)
{
	const char *code = "failed", *message = "no message";

	json_unpack(reply, "{s:{s?s, s?s}}", "error", "code", &code, "message", &message);
	snprintf(c->error_code, sizeof(c->error_code), "%s", code);
	if (strcmp(code, "failed") == 0)
		return vl_error_set(err, "agent: %s failed: %s", op, message);
	return vl_error_input(err, "%s", message);
}

int vl_agent_call(struct vl_agent_client *c, const char *op, json_t *args, double timeout_s,
                  json_t **result, vl_error *err)
{
	uint64_t deadline_ns = vl_now_ns() + (uint64_t)(timeout_s * 1e9);
	cleanup_json json_t *req = json_object();
	cleanup_free char *text = NULL, *line = NULL;
	json_int_t id = ++c->next_id;

	c->error_code[0] = '\0';
	if (result)
		*result = NULL;
	if (args && (!json_is_object(args) || json_object_update(req, args) < 0))
		return vl_error_set(err, "bug: arguments of %s must be an object", op);
	json_object_set_new(req, "id", json_integer(id));
	json_object_set_new(req, "op", json_string(op));
	text = json_dumps(req, JSON_COMPACT);
	if (!text || asprintf(&line, "%s\n", text) < 0)
		return vl_error_set(err, "encoding %s: invalid JSON value in its arguments", op);
	if (send_request(c, line, deadline_ns, op, timeout_s, err) < 0)
		return -1;
	for (;;) {
		cleanup_json json_t *reply = NULL;
		json_t *rid, *res;
		if (read_reply(c, deadline_ns, op, timeout_s, &reply, err) < 0)
			return -1;
		rid = json_object_get(reply, "id");
		/* An unparseable request is answered with a null id; ours is the
		 * only one outstanding, so it is ours. Other ids are stale. */
		if (rid && !json_is_null(rid) &&
		    !(json_is_integer(rid) && json_integer_value(rid) == id))
			continue;
		if (!json_is_true(json_object_get(reply, "ok")))
			return agent_error(c, reply, op, err);
		res = json_object_get(reply, "result");
		if (result)
			*result = res ? json_incref(res) : json_object();
		return 0;
	}
}

int vl_agent_hello(struct vl_agent_client *c, double timeout_s, json_t **facts, vl_error *err)
{
	return vl_agent_call(c, "hello", NULL, timeout_s, facts, err);
}

int vl_agent_run(struct vl_agent_client *c, const char *workload, json_t *params, unsigned repeat,
                 unsigned warmup, double timeout_s, json_t **result, vl_error *err)
{
	cleanup_json json_t *args =
	        json_pack("{s:s, s:O*, s:i, s:i}", "workload", workload, "params", params, "repeat",
	                  (json_int_t)repeat, "warmup", (json_int_t)warmup);

	if (!args)
		return vl_error_set(err, "encoding the run of %s", workload);
	return vl_agent_call(c, "run", args, timeout_s, result, err);
}

int vl_agent_shutdown(struct vl_agent_client *c, double timeout_s, vl_error *err)
{
	return vl_agent_call(c, "shutdown", NULL, timeout_s, NULL, err);
}

int vl_agent_stress_start(struct vl_agent_client *c, const char *workload, json_t *params,
                          double timeout_s, unsigned *id, vl_error *err)
{
	cleanup_json json_t *args =
	        json_pack("{s:s, s:O*}", "workload", workload, "params", params);
	cleanup_json json_t *result = NULL;

	if (!args)
		return vl_error_set(err, "encoding stress-start of %s", workload);
	if (vl_agent_call(c, "stress-start", args, timeout_s, &result, err) < 0)
		return -1;
	*id = (unsigned)json_integer_value(json_object_get(result, "stress_id"));
	return 0;
}

int vl_agent_stress_stop(struct vl_agent_client *c, unsigned id, double timeout_s, json_t **sample,
                         vl_error *err)
{
	cleanup_json json_t *args = json_pack("{s:i}", "stress_id", (json_int_t)id);
	cleanup_json json_t *result = NULL;

	if (vl_agent_call(c, "stress-stop", args, timeout_s, &result, err) < 0)
		return -1;
	if (sample)
		*sample = json_incref(json_object_get(result, "sample"));
	return 0;
}

int vl_agent_serve_start(struct vl_agent_client *c, const char *address, unsigned port,
                         double timeout_s, unsigned *bound_port, vl_error *err)
{
	cleanup_json json_t *args =
	        json_pack("{s:s*, s:i}", "address", address, "port", (json_int_t)port);
	cleanup_json json_t *result = NULL;

	if (vl_agent_call(c, "serve", args, timeout_s, &result, err) < 0)
		return -1;
	*bound_port = (unsigned)json_integer_value(json_object_get(result, "port"));
	return 0;
}

int vl_agent_serve_stop(struct vl_agent_client *c, unsigned port, double timeout_s, vl_error *err)
{
	cleanup_json json_t *args = json_pack("{s:i}", "port", (json_int_t)port);

	return vl_agent_call(c, "serve-stop", args, timeout_s, NULL, err);
}
