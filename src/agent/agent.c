/* The serve loop: reads JSON lines, dispatches each request to its op and
 * writes one reply line per request, in order. Bad requests get error replies;
 * only a broken channel ends the loop with an error. */
#include "agent/session.h"
#include "core/cleanup.h"
#include "core/command.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_MAX_LINE (1u << 20)
#define READ_CHUNK       (64u << 10)

/* A prepare program mounts a disk: seconds under TCG on a busy host. */
#define PREPARE_TIMEOUT_S 120.0

struct op {
	const char *name;
	vl_agent_op_fn fn;
	const char *args; /* accepted arguments besides id and op, comma-separated */
	bool starts_work; /* runs the session's prepare program first */
};

static int op_shutdown(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                       vl_error *err)
{
	(void)req;
	(void)code;
	(void)err;
	s->shutdown = true;
	*result = json_object();
	return 0;
}

static const struct op ops[] = {
        {"hello", vl_agent_op_hello, "", false},
        {"run", vl_agent_op_run, "workload,params,repeat,warmup", true},
        {"stress-start", vl_agent_op_stress_start, "workload,params", true},
        {"stress-stop", vl_agent_op_stress_stop, "stress_id,timeout", false},
        {"serve", vl_agent_op_serve, "address,port", true},
        {"serve-stop", vl_agent_op_serve_stop, "port", false},
        {"exec", vl_agent_op_exec, "argv,timeout,max_output", true},
        {"shutdown", op_shutdown, "", false},
};

static const char *op_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		                         ops[i].name);
	return buf;
}

static bool in_list(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t item = comma ? (size_t)(comma - p) : strlen(p);
		if (item == len && strncmp(p, word, len) == 0)
			return true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

static json_t *error_reply(json_t *id, const char *code, const char *message)
{
	return json_pack("{s:O?, s:b, s:{s:s, s:s}}", "id", id, "ok", 0, "error", "code", code,
	                 "message", message);
}

/* Checks the envelope and the argument names before the op sees the request,
 * so every op gets the same messages for the same mistakes. */
static const struct op *find_op(json_t *req, json_t **reply)
{
	json_t *id = json_object_get(req, "id");
	json_t *op = json_object_get(req, "op");
	const char *key;
	json_t *value;
	char msg[512], names[160];

	if (!op) {
		snprintf(msg, sizeof(msg), "missing \"op\" (one of %s)",
		         op_names(names, sizeof(names)));
		*reply = error_reply(id, "bad-request", msg);
		return NULL;
	}
	if (!json_is_string(op)) {
		*reply = error_reply(id, "bad-request", "\"op\" must be a string");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].name, json_string_value(op)) != 0)
			continue;
		json_object_foreach(req, key, value)
		{
			if (strcmp(key, "id") == 0 || strcmp(key, "op") == 0 ||
			    in_list(ops[i].args, key))
				continue;
			snprintf(msg, sizeof(msg), "%s: unknown argument \"%s\" (accepted: %s)",
			         ops[i].name, key, ops[i].args[0] ? ops[i].args : "none");
			*reply = error_reply(id, "bad-request", msg);
			return NULL;
		}
		return &ops[i];
	}
	snprintf(msg, sizeof(msg), "unknown op \"%.64s\" (one of %s)", json_string_value(op),
	         op_names(names, sizeof(names)));
	*reply = error_reply(id, "unknown-op", msg);
	return NULL;
}

/* Runs in the request that needs it, not in a thread of its own: no work can
 * start before the program has finished. */
static int prepare(struct vl_agent_session *s, vl_error *err)
{
	const char *const argv[] = {s->prepare, s->workdir, NULL};
	struct vl_command_result res = {0};
	char why[512];
	int rc = 0;

	if (!s->prepare || *s->prepared)
		return 0;
	if (vl_command_run(argv, NULL, PREPARE_TIMEOUT_S, s->stop, &res, err) < 0)
		return vl_error_wrap(err, "preparing %s with %s", s->workdir, s->prepare);
	if (res.exit_code != 0)
		rc = vl_error_set(err, "preparing %s: %s %s", s->workdir, s->prepare,
		                  vl_command_describe_failure(&res, why, sizeof(why)));
	else
		*s->prepared = true;
	vl_command_result_release(&res);
	return rc;
}

static json_t *handle_request(struct vl_agent_session *s, const char *line, size_t len)
{
	json_error_t jerr;
	cleanup_json json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *id, *result = NULL, *reply = NULL;
	const struct op *op;
	const char *code = NULL;
	vl_error err = {0};
	char msg[512];

	if (!req) {
		snprintf(msg, sizeof(msg), "malformed JSON at column %d: %s", jerr.column,
		         jerr.text);
		return error_reply(NULL, "bad-request", msg);
	}
	if (!json_is_object(req))
		return error_reply(NULL, "bad-request",
		                   "a request must be a JSON object such as {\"id\": 1, \"op\": "
		                   "\"hello\"}");
	id = json_object_get(req, "id");
	if (id && !json_is_integer(id) && !json_is_string(id))
		return error_reply(NULL, "bad-request", "\"id\" must be an integer or a string");
	op = find_op(req, &reply);
	if (!op)
		return reply;
	vl_debug("agent: %s", op->name);
	if ((op->starts_work && prepare(s, &err) < 0) || op->fn(s, req, &result, &code, &err) < 0) {
		if (!code)
			code = err.kind == VL_ERR_INPUT ? "bad-request" : "failed";
		return error_reply(id, code, err.msg);
	}
	return json_pack("{s:O?, s:b, s:o}", "id", id, "ok", 1, "result", result);
}

/* send() with MSG_NOSIGNAL keeps a vanished host from killing the agent with
 * SIGPIPE on sockets; pipes and devices fall back to write(). */
static ssize_t write_some(int fd, const char *data, size_t len)
{
	ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

	if (n < 0 && errno == ENOTSOCK)
		n = write(fd, data, len);
	return n;
}

/* Returns 1 when the host has gone away. */
static int send_reply(int fd, json_t *reply, vl_error *err)
{
	cleanup_free char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	cleanup_free char *line = NULL;
	size_t len, done = 0;

	json_decref(reply);
	if (!text) {
		/* Only a value jansson cannot encode (NaN) gets here. */
		cleanup_json json_t *fallback =
		        error_reply(NULL, "failed", "the reply could not be encoded as JSON");
		text = json_dumps(fallback, JSON_COMPACT);
		if (!text)
			return vl_error_set(err, "out of memory encoding a reply");
	}
	len = strlen(text);
	line = malloc(len + 2);
	if (!line)
		return vl_error_set(err, "out of memory encoding a reply");
	memcpy(line, text, len);
	line[len++] = '\n';
	while (done < len) {
		ssize_t n = write_some(fd, line + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return 1;
		if (n < 0)
			return vl_error_errno(err, errno, "writing a reply");
		done += (size_t)n;
	}
	return 0;
}

static int send_error(int fd, const char *code, const char *message, vl_error *err)
{
	return send_reply(fd, error_reply(NULL, code, message), err);
}

/* ---- as PID 1 ----
 * A container's init is the parent of every orphan in the guest, and a zombie
 * nobody reaps keeps its pid (and a slot of the pids limit) until the guest
 * stops. The agent reaps them between requests, so that no op loses the
 * status of a child it waits for: exec and prepare wait for theirs inside
 * their request, and stressors, which outlive requests, are skipped. SIGCHLD
 * is blocked and read from a signalfd: an orphan's exit wakes the serve loop,
 * and no handler interrupts a workload's system calls. The mask is set before
 * the agent makes any thread, so that every later one inherits it; children
 * clear it (ops_exec, core/command) or never exec (stressors). Orphans that
 * exit while no host is connected are reaped when the next one is. */

static int child_signals = -2; /* the signalfd; -1: not PID 1; -2: not looked yet */

static int watch_children(void)
{
	sigset_t set;

	if (getpid() != 1)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static bool is_stressor(const struct vl_agent_session *s, pid_t pid)
{
	for (const struct stressor *st = s->stressors; st; st = st->next)
		if (st->pid == pid)
			return true;
	return false;
}

/* A zombie child of ours, from /proc/PID/stat: "pid (comm) Z ppid ...". */
static bool is_zombie_child(pid_t pid)
{
	char path[32], buf[512], state;
	const char *paren;
	int ppid, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && sscanf(paren + 1, " %c %d", &state, &ppid) == 2 && state == 'Z' &&
	       ppid == getpid();
}

/* waitid() shows one zombie at a time; a stressor that ended by itself (and
 * waits for stress-stop) would hide the others, which /proc lists. */
static void reap_listed(const struct vl_agent_session *s)
{
	cleanup_dir DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid > 1 && !is_stressor(s, pid) && is_zombie_child(pid))
			waitpid(pid, NULL, WNOHANG);
	}
}

static void reap_orphans(const struct vl_agent_session *s)
{
	struct signalfd_siginfo drained[8];

	while (read(child_signals, drained, sizeof(drained)) > 0)
		;
	for (;;) {
		siginfo_t info = {0};

		if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0)
			return;
		if (is_stressor(s, info.si_pid)) {
			reap_listed(s);
			return;
		}
		waitpid(info.si_pid, NULL, WNOHANG);
	}
}

enum { READ_STOPPED = -2 };

static ssize_t read_some(struct vl_agent_session *s, int fd, int stop_fd, char *buf, size_t size,
                         vl_error *err)
{
	for (;;) {
		struct pollfd p[3] = {{.fd = fd, .events = POLLIN},
		                      {.fd = stop_fd, .events = POLLIN},
		                      {.fd = child_signals, .events = POLLIN}};
		ssize_t n;

		if (*s->stop)
			return READ_STOPPED;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vl_error_errno(err, errno, "waiting for a request");
		}
		/* First, so that a request that looks for zombies finds none. */
		if (p[2].revents)
			reap_orphans(s);
		if (stop_fd >= 0 && p[1].revents)
			return READ_STOPPED;
		if (!p[0].revents)
			continue;
		n = read(fd, buf, size);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno == ECONNRESET)
			return 0;
		if (n < 0)
			return vl_error_errno(err, errno, "reading a request");
		return n;
	}
}

struct reader {
	char *buf;
	size_t len, cap, scanned;
	bool discarding; /* inside an oversized line: drop bytes up to its newline */
};

/* Returns 1 when serving must end (host gone, shutdown or stop), 0 to go on. */
static int serve_line(struct vl_agent_session *s, int out_fd, const char *line, size_t len,
                      enum vl_agent_end *end, vl_error *err)
{
	int rc;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 0;
	rc = send_reply(out_fd, handle_request(s, line, len), err);
	if (rc != 0)
		return rc;
	if (s->shutdown)
		*end = VL_AGENT_END_SHUTDOWN;
	else if (*s->stop)
		*end = VL_AGENT_END_STOPPED;
	else
		return 0;
	return 1;
}

static int too_large(int out_fd, size_t max_line, vl_error *err)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "request longer than %zu bytes; the rest of the line is ignored",
	         max_line);
	return send_error(out_fd, "too-large", msg, err);
}

static int serve_loop(struct vl_agent_session *s, int in_fd, int out_fd, int stop_fd,
                      size_t max_line, struct reader *r, enum vl_agent_end *end, vl_error *err)
{
	for (;;) {
		char *nl = r->len > r->scanned
		                   ? memchr(r->buf + r->scanned, '\n', r->len - r->scanned)
		                   : NULL;
		ssize_t n;
		int rc = 0;

		if (nl) {
			size_t line_len = (size_t)(nl - r->buf);
			if (r->discarding)
				r->discarding = false;
			else if (line_len > max_line)
				rc = too_large(out_fd, max_line, err);
			else
				rc = serve_line(s, out_fd, r->buf, line_len, end, err);
			r->len -= line_len + 1;
			memmove(r->buf, nl + 1, r->len);
			r->scanned = 0;
			if (rc != 0)
				return rc < 0 ? -1 : 0;
			continue;
		}
		r->scanned = r->len;
		if (!r->discarding && r->len > max_line) {
			rc = too_large(out_fd, max_line, err);
			if (rc != 0)
				return rc < 0 ? -1 : 0;
			r->discarding = true;
		}
		if (r->discarding)
			r->len = r->scanned = 0;
		if (r->cap - r->len < READ_CHUNK) {
			char *grown = realloc(r->buf, r->len + READ_CHUNK);
			if (!grown)
				return vl_error_set(err, "out of memory reading a request");
			r->buf = grown;
			r->cap = r->len + READ_CHUNK;
		}
		n = read_some(s, in_fd, stop_fd, r->buf + r->len, READ_CHUNK, err);
		if (n == READ_STOPPED) {
			*end = VL_AGENT_END_STOPPED;
			return 0;
		}
		if (n < 0)
			return -1;
		if (n == 0) {
			/* A last request without its newline still counts. */
			if (r->len > 0 && !r->discarding &&
			    serve_line(s, out_fd, r->buf, r->len, end, err) < 0)
				return -1;
			return 0;
		}
		r->len += (size_t)n;
	}
}

int vl_agent_serve_channel(int in_fd, int out_fd, const struct vl_agent_options *opts,
                           enum vl_agent_end *end, vl_error *err)
{
	struct vl_agent_session s = {.workdir = "."};
	struct reader r = {0};
	enum vl_agent_end why = VL_AGENT_END_EOF;
	size_t max_line = DEFAULT_MAX_LINE;
	int stop_fd = -1, rc;

	s.stop = &s.never_stop;
	if (child_signals == -2)
		child_signals = watch_children();
	if (opts && opts->workdir)
		s.workdir = opts->workdir;
	if (opts && opts->prepare) {
		s.prepare = opts->prepare;
		s.prepared = opts->prepared;
	}
	if (opts && opts->max_line)
		max_line = opts->max_line;
	if (opts && opts->stop) {
		s.stop = opts->stop;
		stop_fd = opts->stop_fd;
	}
	rc = serve_loop(&s, in_fd, out_fd, stop_fd, max_line, &r, &why, err);
	free(r.buf);
	vl_agent_stop_stressors(&s);
	vl_agent_stop_endpoints(&s);
	if (end)
		*end = why;
	return rc;
}

int vl_agent_serve(int in_fd, int out_fd, const struct vl_agent_options *opts, vl_error *err)
{
	return vl_agent_serve_channel(in_fd, out_fd, opts, NULL, err);
}
