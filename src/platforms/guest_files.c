#include "platforms/guest_files.h"
#include "agent/client.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "platforms/cleanup.h"
#include "platforms/image.h"
#include "platforms/state.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* How often vl_guest_wait_agent looks for the agent's socket: the agent
 * binds it within a millisecond or two of execve. Not an inotify watch on
 * its directory: closing one waits for an SRCU grace period (14 ms measured
 * here), far more than polling costs. */
#define SOCKET_POLL_MS 1

const char *vl_guest_rec_str(const struct vl_guest *g, const char *key)
{
	return json_string_value(json_object_get(g->record, key));
}

long long vl_guest_rec_int(const struct vl_guest *g, const char *key)
{
	return json_integer_value(json_object_get(g->record, key));
}

int vl_guest_rec_set(struct vl_guest *g, const char *key, json_t *value, vl_error *err)
{
	if (json_object_set_new(g->record, key, value) < 0)
		return vl_error_set(err, "recording %s of guest %s", key, g->spec.name);
	return 0;
}

int vl_guest_files_make(struct vl_guest *g, vl_error *err)
{
	if (vl_state_track(g, VL_RES_DIR, g->state_dir, err) < 0)
		return -1;
	if (vl_mkdir_p(g->state_dir, 0700, err) < 0) {
		vl_error ignored = {0};
		vl_state_untrack(g, VL_RES_DIR, g->state_dir, &ignored);
		return -1;
	}
	return 0;
}

void vl_guest_files_remove(struct vl_guest *g)
{
	vl_error ignored = {0};

	if (vl_remove_tree(g->state_dir, &ignored) == 0)
		vl_state_untrack(g, VL_RES_DIR, g->state_dir, &ignored);
}

int vl_guest_state_file(struct vl_guest *g, const char *key, const char *file, vl_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (vl_state_dir(g->spec.name, dir, sizeof(dir), err) < 0)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return vl_error_input(err, "VIRTLAB_STATE '%s' is too long", vl_state_root());
	if (vl_state_track(g, VL_RES_FILE, path, err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "removing the stale %s", path);
	json_object_set_new(g->record, key, json_string(path));
	return 0;
}

void vl_guest_state_file_remove(struct vl_guest *g, const char *key)
{
	const char *path = vl_guest_rec_str(g, key);
	vl_error ignored = {0};

	if (!path)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		vl_debug("removing %s: %s", path, strerror(errno));
	vl_state_untrack(g, VL_RES_FILE, path, &ignored);
	json_object_del(g->record, key);
}

const char *vl_guest_log_tail(const char *path, char *buf, size_t size)
{
	cleanup_free char *text = NULL;
	vl_error ignored = {0};
	char *end, *line;
	size_t len;

	if (vl_read_file(path, &text, &len, &ignored) < 0 || len == 0)
		return NULL;
	end = text + len;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	line = memrchr(text, '\n', (size_t)(end - text));
	snprintf(buf, size, "%s", line ? line + 1 : text);
	return buf;
}

int vl_guest_connect_path(const char *path, int *fd, vl_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	cleanup_close int s = -1;

	if (strlen(path) >= sizeof(addr.sun_path))
		return vl_error_input(err, "agent socket path %s is too long", path);
	strcpy(addr.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return vl_error_errno(err, errno, "connecting to the agent socket %s", path);
	*fd = vl_steal_fd(s);
	return 0;
}

int vl_guest_connect_node(int node, const char *what, int *fd, vl_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	cleanup_close int s = -1;
	struct stat st;

	if (fstat(node, &st) < 0 || !S_ISSOCK(st.st_mode))
		return vl_error_errno(err, ENOTSOCK, "the agent socket %s", what);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d", node);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return vl_error_errno(err, errno, "creating a unix socket");
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return vl_error_errno(err, errno, "connecting to the agent socket %s", what);
	*fd = vl_steal_fd(s);
	return 0;
}

int vl_guest_open_process(const struct vl_guest *g, const char *pid_key, const char *start_key,
                          pid_t *pid, bool *alive)
{
	unsigned long long start;
	vl_error ignored = {0};
	char state;
	int fd;

	*alive = false;
	*pid = (pid_t)vl_guest_rec_int(g, pid_key);
	if (*pid <= 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (fd < 0)
		return -1;
	/* Checked after the pidfd is open: from here on the pid cannot be reused. */
	if (vl_state_process_start(*pid, &start, &state, &ignored) < 0 ||
	    start != (unsigned long long)vl_guest_rec_int(g, start_key)) {
		close(fd);
		return -1;
	}
	*alive = state != 'Z';
	return fd;
}

int vl_guest_wait_agent(struct vl_guest *g, int pidfd, vl_guest_connect_fn reach, void *arg,
                        double timeout_s, vl_error *err)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	struct vl_agent_client *c = NULL;
	const volatile int *interrupted = vl_interrupt_flag();
	uint64_t t0 = vl_now_ns();
	char log[PATH_MAX + 16], tail[256];
	int fd = -1, rc;

	snprintf(log, sizeof(log), "%s/console.log", g->state_dir);
	for (;;) {
		vl_error_clear(err);
		if (reach(g, arg, &fd, err) == 0)
			break;
		if (err->errnum != ENOENT && err->errnum != ECONNREFUSED)
			return -1;
		if (*interrupted)
			return vl_error_set(err, "interrupted while waiting for the agent");
		if (vl_seconds_since(t0) > timeout_s)
			return vl_error_set(err, "no agent socket after %.0f s (see %s)", timeout_s,
			                    log);
		if (poll(&p, 1, SOCKET_POLL_MS) > 0)
			return vl_error_set(
			        err, "the agent exited at start: %s (%s)",
			        vl_guest_log_tail(log, tail, sizeof(tail)) ?: "no output", log);
	}
	if (vl_agent_client_new(fd, &c, err) < 0)
		return -1;
	rc = vl_agent_hello(c, timeout_s, NULL, err);
	vl_agent_client_free(c);
	return rc;
}

bool vl_guest_probe_container_host(struct vl_probe *out, struct vl_cgroup_host *host,
                                   const char *no_overlay)
{
	cleanup_free char *fs = NULL;
	char agent[PATH_MAX];
	vl_error err = {0};
	size_t len;

	if (vl_read_file("/proc/filesystems", &fs, &len, &err) < 0 || !strstr(fs, "\toverlay\n")) {
		snprintf(out->reason, sizeof(out->reason), "%s", no_overlay);
		return false;
	}
	if (vl_cgroup_detect(host, &err) < 0) {
		snprintf(out->reason, sizeof(out->reason), "no usable cgroups: %s", err.msg);
		return false;
	}
	/* The guest's init is the static agent; without it no guest can start. */
	if (vl_image_agent_path(agent, sizeof(agent), &err) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s", err.msg);
		return false;
	}
	return true;
}
