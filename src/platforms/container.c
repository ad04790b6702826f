/* The built-in container platform: a guest is the static agent run as PID 1
 * of new namespaces (src/runtime), on an overlay of a golden image, in its own
 * cgroup. Everything a later virtlab command needs is in g->record:
 *
 *   image           the golden image (the overlay's lower layer)
 *   rootfs          "overlay" (upper, work, merged) or "copy" (root)
 *   init_pid        the agent's pid on the host, with init_start (its start
 *                   time in clock ticks, so a reused pid is never mistaken for it)
 *   cgroup          "virtlab/NAME"
 *   socket          the agent's socket, as the guest sees it
 *
 * The channel: the agent listens on a unix socket inside the guest, and the
 * host reaches it through /proc/INIT/root. See docs/design.md, "Container
 * platform", for why not a bind mount or a relay. */
#include "platforms/platform.h"
#include "platforms/cleanup.h"
#include "platforms/entitlement.h"
#include "platforms/guest_files.h"
#include "platforms/guest_net.h"
#include "core/cleanup.h"
#include "core/proc.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "platforms/image.h"
#include "platforms/state.h"
#include "runtime/cgroup.h"
#include "runtime/namespaces.h"
#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT_PATH    "/virtlab-agent"
#define AGENT_SOCKET  "/run/virtlab-agent.sock"
#define DEFAULT_IMAGE "busybox"
#define DEFAULT_PIDS  1024
#define HELLO_TIMEOUT 10.0
#define SHUTDOWN_WAIT 2.0
#define TERM_WAIT     5.0
#define KILL_WAIT     5.0

static void probe(struct vl_probe *out)
{
	struct vl_cgroup_host host;
	char line[32] = "";
	vl_error err = {0};

	memset(out, 0, sizeof(*out));
	snprintf(out->accel, sizeof(out->accel), "native");
	if (geteuid() != 0) {
		vl_read_line("/proc/sys/user/max_user_namespaces", line, sizeof(line), &err);
		snprintf(out->reason, sizeof(out->reason),
		         "needs root (namespaces, cgroups, overlay mounts)%s",
		         atoi(line) > 0 ? "; user namespaces are available but rootless guests "
		                          "are not supported yet"
		                        : "");
		return;
	}
	if (access("/proc/self/ns/pid", F_OK) < 0 || access("/proc/self/ns/net", F_OK) < 0) {
		snprintf(out->reason, sizeof(out->reason),
		         "the kernel lacks PID or network namespaces");
		return;
	}
	if (!vl_guest_probe_container_host(
	            out, &host, "no overlayfs (modprobe overlay); only --full copies would work"))
		return;
	out->usable = true;
	snprintf(out->reason, sizeof(out->reason), "cgroup v%d%s", host.version,
	         host.version == VL_CGROUP_V1 ? " (v1 controllers)" : "");
}

/* --- the record --- */

static void cgroup_name(const struct vl_guest *g, char *buf, size_t size)
{
	snprintf(buf, size, "virtlab/%s", g->spec.name);
}

/* The directory holding the guest's writable files: the overlay's upper or
 * the full copy. */
static const char *writable_root(const struct vl_guest *g)
{
	const char *kind = vl_guest_rec_str(g, "rootfs");

	if (!kind)
		return NULL;
	return vl_guest_rec_str(g, strcmp(kind, "overlay") == 0 ? "upper" : "root");
}

/* --- provision, clone, destroy --- */

static int record_overlay(struct vl_guest *g, const char *image, const struct vl_rootfs_overlay *o,
                          vl_error *err)
{
	if (vl_guest_rec_set(g, "image", json_string(image), err) < 0 ||
	    vl_guest_rec_set(g, "rootfs", json_string("overlay"), err) < 0 ||
	    vl_guest_rec_set(g, "upper", json_string(o->upper), err) < 0 ||
	    vl_guest_rec_set(g, "work", json_string(o->work), err) < 0 ||
	    vl_guest_rec_set(g, "merged", json_string(o->merged), err) < 0)
		return -1;
	return 0;
}

static int provision(struct vl_guest *g, vl_error *err)
{
	struct vl_image image;
	struct vl_rootfs_overlay o;

	if (vl_image_golden(g->spec.image[0] ? g->spec.image : DEFAULT_IMAGE, &image, err) < 0)
		return vl_error_wrap(err, "provisioning guest %s", g->spec.name);
	if (vl_guest_files_make(g, err) < 0)
		return vl_error_wrap(err, "provisioning guest %s", g->spec.name);
	if (vl_rootfs_overlay_prepare(g->state_dir, &o, err) < 0 ||
	    record_overlay(g, image.path, &o, err) < 0) {
		vl_guest_files_remove(g);
		return vl_error_wrap(err, "provisioning guest %s", g->spec.name);
	}
	return 0;
}

/* A pidfd on the guest's init while it is still the process the record
 * names (vl_guest_open_process). */
static int open_init(const struct vl_guest *g, pid_t *pid, bool *alive)
{
	return vl_guest_open_process(g, "init_pid", "init_start", pid, alive);
}

static bool running(const struct vl_guest *g)
{
	pid_t pid;
	bool alive = false;
	int fd = open_init(g, &pid, &alive);

	if (fd >= 0)
		close(fd);
	return alive;
}

/* A clone of a clone copies the source's upper layer onto the same golden
 * image rather than stacking the source's upper as a lower layer: overlayfs
 * forbids changing a lower layer under a mounted overlay, and the source may
 * still run. */
static int clone_overlay(struct vl_guest *src, struct vl_guest *dst, vl_error *err)
{
	struct vl_rootfs_overlay o;

	if (strcmp(vl_guest_rec_str(src, "rootfs"), "overlay") != 0)
		return vl_error_input(err,
		                      "guest %s is a full copy, with no layer to share; clone "
		                      "it with --full",
		                      src->spec.name);

	if (vl_rootfs_overlay_prepare(dst->state_dir, &o, err) < 0)
		return -1;
	if (rmdir(o.upper) < 0)
		return vl_error_errno(err, errno, "replacing %s", o.upper);
	if (vl_rootfs_copy(vl_guest_rec_str(src, "upper"), o.upper, err) < 0)
		return vl_error_wrap(err, "copying the upper layer of %s", src->spec.name);
	return record_overlay(dst, vl_guest_rec_str(src, "image"), &o, err);
}

/* The full copy of an overlay guest is its merged view, mounted for the copy
 * on the source's own mount point. */
static int clone_full(struct vl_guest *src, struct vl_guest *dst, vl_error *err)
{
	char root[PATH_MAX];
	struct vl_rootfs_overlay o;
	vl_error ignored = {0};
	int rc;

	snprintf(root, sizeof(root), "%s/rootfs", dst->state_dir);
	if (strcmp(vl_guest_rec_str(src, "rootfs"), "copy") == 0) {
		if (vl_rootfs_copy(vl_guest_rec_str(src, "root"), root, err) < 0)
			return -1;
	} else {
		if (running(src))
			return vl_error_input(err, "stop guest %s before a full copy of it",
			                      src->spec.name);
		snprintf(o.upper, sizeof(o.upper), "%s", vl_guest_rec_str(src, "upper"));
		snprintf(o.work, sizeof(o.work), "%s", vl_guest_rec_str(src, "work"));
		snprintf(o.merged, sizeof(o.merged), "%s", vl_guest_rec_str(src, "merged"));
		if (vl_state_track(src, VL_RES_MOUNT, o.merged, err) < 0)
			return -1;
		if (vl_rootfs_overlay_mount(vl_guest_rec_str(src, "image"), &o, err) < 0) {
			vl_state_untrack(src, VL_RES_MOUNT, o.merged, &ignored);
			return -1;
		}
		rc = vl_rootfs_copy(o.merged, root, err);
		if (umount2(o.merged, 0) < 0 && rc == 0)
			return vl_error_errno(err, errno, "unmounting %s", o.merged);
		vl_state_untrack(src, VL_RES_MOUNT, o.merged, &ignored);
		if (rc < 0)
			return -1;
	}
	if (vl_guest_rec_set(dst, "image", json_string(vl_guest_rec_str(src, "image")), err) < 0 ||
	    vl_guest_rec_set(dst, "rootfs", json_string("copy"), err) < 0 ||
	    vl_guest_rec_set(dst, "root", json_string(root), err) < 0)
		return -1;
	return 0;
}

static int clone_guest(struct vl_guest *src, struct vl_guest *dst, bool full_copy, vl_error *err)
{
	if (!vl_guest_rec_str(src, "rootfs") || !vl_guest_rec_str(src, "image"))
		return vl_error_input(err, "guest %s has no root filesystem; provision it first",
		                      src->spec.name);
	if (vl_guest_files_make(dst, err) < 0)
		return vl_error_wrap(err, "cloning %s to %s", src->spec.name, dst->spec.name);
	if ((full_copy ? clone_full(src, dst, err) : clone_overlay(src, dst, err)) < 0) {
		vl_guest_files_remove(dst);
		return vl_error_wrap(err, "cloning %s to %s", src->spec.name, dst->spec.name);
	}
	return 0;
}

/* --- start and stop --- */

static bool wait_exit(int pidfd, double timeout_s)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	uint64_t start = vl_now_ns();
	double left;

	while ((left = timeout_s - vl_seconds_since(start)) > 0) {
		int n = poll(&p, 1, (int)(left * 1000) + 1);

		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
	return poll(&p, 1, 0) > 0;
}

static void untrack_process(struct vl_guest *g, pid_t pid, unsigned long long start)
{
	char id[64];
	vl_error ignored = {0};

	snprintf(id, sizeof(id), "%d:%llu", (int)pid, start);
	vl_state_untrack(g, VL_RES_PROCESS, id, &ignored);
}

/* Reaps the init when this process started it; another virtlab's guest is
 * reaped by its own parent (or by init once that parent is gone). */
static void reap_if_ours(int pidfd)
{
	siginfo_t info;

	while (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) < 0 && errno == EINTR)
		;
}

/* Connects to the agent's socket inside the guest's root. The path is resolved
 * as the guest would (RESOLVE_IN_ROOT), so a symlink the guest planted cannot
 * point the host at one of its own sockets; the socket is then reached through
 * the O_PATH descriptor. */
static int connect_agent(pid_t pid, const char *socket_path, int *out, vl_error *err)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
	                       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	cleanup_close int root = -1;
	cleanup_close int node = -1;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	node = (int)syscall(SYS_openat2, root, socket_path, &how, sizeof(how));
	if (node < 0)
		return vl_error_errno(err, errno, "opening the agent socket %s", socket_path);
	return vl_guest_connect_node(node, socket_path, out, err);
}

static int open_channel(struct vl_guest *g, int *fd, vl_error *err)
{
	pid_t pid;
	bool alive = false;
	int pidfd = open_init(g, &pid, &alive);
	int rc;

	if (pidfd >= 0 && !alive)
		close(pidfd);
	if (!alive)
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	rc = connect_agent(pid, vl_guest_rec_str(g, "socket"), fd, err);
	close(pidfd);
	return rc < 0 ? vl_error_wrap(err, "reaching guest %s", g->spec.name) : 0;
}

static int open_cgroup(const struct vl_guest *g, struct vl_cgroup **cg, vl_error *err)
{
	struct vl_cgroup_host host;
	char name[VL_NAME_MAX + 16];

	cgroup_name(g, name, sizeof(name));
	if (vl_cgroup_detect(&host, err) < 0)
		return -1;
	return vl_cgroup_open(&host, name, cg, err);
}

/* Kills whatever is left in the guest's cgroup and removes it; absent is fine. */
static int release_cgroup(struct vl_guest *g, vl_error *err)
{
	struct vl_cgroup_host host;
	struct vl_cgroup *cg = NULL;
	char name[VL_NAME_MAX + 16], owner[PATH_MAX];
	bool empty = false;
	int rc;

	cgroup_name(g, name, sizeof(name));
	if (vl_cgroup_detect(&host, err) < 0)
		return -1;
	/* A guest of the same name under another VIRTLAB_STATE has it now. */
	if (!vl_cgroup_exists(&host, name) ||
	    vl_cleanup_cgroup_claimed_elsewhere(&host, name, owner, sizeof(owner)))
		return vl_state_untrack(g, VL_RES_CGROUP, name, err);
	/* A start killed inside vl_cgroup_create leaves the group in some
	 * hierarchies only, which open refuses and create completes. */
	if (vl_cgroup_open(&host, name, &cg, err) < 0) {
		vl_error_clear(err);
		if (vl_cgroup_create(&host, name, &cg, err) < 0)
			return vl_error_wrap(err, "removing cgroup %s", name);
	}
	/* After a clean stop it is empty: no freezing and listing again. */
	rc = vl_cgroup_is_empty(cg, &empty, err);
	if (rc == 0 && !empty)
		rc = vl_cgroup_kill(cg, err);
	if (rc == 0)
		rc = vl_cgroup_remove(cg, err);
	vl_cgroup_free(cg);
	if (rc < 0)
		return vl_error_wrap(err, "removing cgroup %s", name);
	return vl_state_untrack(g, VL_RES_CGROUP, name, err);
}

/* Ends the init (already asked to shut down, or not) and everything in its
 * cgroup: SIGTERM, then SIGKILL, each with a deadline. */
static int end_guest(struct vl_guest *g, int pidfd, pid_t pid, double grace_s, vl_error *err)
{
	if (!wait_exit(pidfd, grace_s)) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
		if (!wait_exit(pidfd, TERM_WAIT)) {
			vl_debug("guest %s: init %d ignored SIGTERM: SIGKILL", g->spec.name,
			         (int)pid);
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			if (!wait_exit(pidfd, KILL_WAIT))
				return vl_error_set(err, "init %d of guest %s survived SIGKILL",
				                    (int)pid, g->spec.name);
		}
	}
	reap_if_ours(pidfd);
	untrack_process(g, pid, (unsigned long long)vl_guest_rec_int(g, "init_start"));
	json_object_del(g->record, "init_pid");
	json_object_del(g->record, "init_start");
	return 0;
}

/* The agent removes its socket on shutdown, not when killed: the next start's
 * agent would find a stale one and the host might connect too early. */
static void remove_stale_socket(const struct vl_guest *g)
{
	char path[PATH_MAX];
	const char *root = writable_root(g);

	if (!root)
		return;
	snprintf(path, sizeof(path), "%s%s", root, AGENT_SOCKET);
	unlink(path);
}

/* A start killed after its init was tracked but before the record named it
 * leaves a process entry that only the record knows. Once the cgroup is gone,
 * so is every process of the guest: the entries can go too. */
static void untrack_leftover_processes(struct vl_guest *g)
{
	cleanup_json json_t *doc = NULL;
	vl_error ignored = {0};
	json_t *r;
	size_t i;

	if (vl_state_read(g->spec.name, &doc, &ignored) < 0)
		return;
	json_array_foreach(json_object_get(doc, "resources"), i, r)
	{
		const char *kind = json_string_value(json_object_get(r, "kind"));
		const char *id = json_string_value(json_object_get(r, "id"));

		if (kind && id && strcmp(kind, VL_RES_PROCESS) == 0)
			vl_state_untrack(g, VL_RES_PROCESS, id, &ignored);
	}
}

/* Sends the agent its shutdown request and returns the channel, which stays
 * open until the agent has gone: the agent ends only once its reply is sent
 * (to a closed channel it would wait for the next host). The reply itself is
 * not waited for: the init's exit is what stop waits for. -1 when the agent
 * cannot be reached (then signals end it). */
static int request_shutdown(struct vl_guest *g, pid_t pid)
{
	static const char request[] = "{\"id\": 1, \"op\": \"shutdown\"}\n";
	vl_error ignored = {0};
	int fd;

	if (connect_agent(pid, vl_guest_rec_str(g, "socket"), &fd, &ignored) < 0)
		return -1;
	if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(request) - 1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int stop(struct vl_guest *g, vl_error *err)
{
	pid_t pid;
	bool alive = false;
	int pidfd = open_init(g, &pid, &alive);
	int rc = 0;

	if (pidfd >= 0) {
		/* Best effort: a dead or busy agent is ended by signals. */
		int channel = alive ? request_shutdown(g, pid) : -1;

		rc = end_guest(g, pidfd, pid, channel >= 0 ? SHUTDOWN_WAIT : 0, err);
		if (channel >= 0)
			close(channel);
		close(pidfd);
	} else if (pid > 0) {
		/* Gone already (killed, reaped elsewhere): only the record is left. */
		untrack_process(g, pid, (unsigned long long)vl_guest_rec_int(g, "init_start"));
		json_object_del(g->record, "init_pid");
		json_object_del(g->record, "init_start");
	}
	if (rc == 0)
		rc = release_cgroup(g, err);
	if (rc == 0)
		rc = vl_guest_net_detach(g, err);
	if (rc == 0)
		untrack_leftover_processes(g);
	remove_stale_socket(g);
	return rc < 0 ? vl_error_wrap(err, "stopping guest %s", g->spec.name) : 0;
}

static int set_limits(struct vl_guest *g, struct vl_cgroup *cg, vl_error *err)
{
	const struct vl_guest_spec *s = &g->spec;
	struct vl_cgroup_device_rule rules[16];
	size_t n = 0;
	char cpus[64];
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (s->cpuset[0])
		snprintf(cpus, sizeof(cpus), "%s", s->cpuset);
	else if (s->cpus > 0 && s->cpus <= online)
		snprintf(cpus, sizeof(cpus), s->cpus == 1 ? "0" : "0-%u", s->cpus - 1);
	else if (s->cpus > 0)
		return vl_error_input(err, "guest %s asks for %u CPUs; this host has %ld", s->name,
		                      s->cpus, online);
	if ((s->cpuset[0] || s->cpus) && vl_cgroup_set_cpuset(cg, cpus, NULL, err) < 0)
		return -1;
	/* Swap is left alone: limiting it needs swap accounting, which many
	 * hosts lack, and without swap the memory limit is the whole limit. */
	if (s->memory_bytes &&
	    vl_cgroup_set_memory(cg,
	                         &(struct vl_cgroup_memory){(int64_t)s->memory_bytes,
	                                                    VL_CGROUP_UNCHANGED,
	                                                    VL_CGROUP_UNCHANGED},
	                         err) < 0)
		return -1;
	if (vl_cgroup_set_pids_max(cg, s->pids_max ? s->pids_max : DEFAULT_PIDS, err) < 0)
		return -1;
	for (const char *const *d = vl_container_default_devices; *d; d++) {
		unsigned major, minor;

		if (vl_container_device_lookup(*d, &major, &minor, err) < 0)
			return -1;
		rules[n++] = (struct vl_cgroup_device_rule){'c', major, minor, "rwm"};
	}
	rules[n++] = (struct vl_cgroup_device_rule){'c', 5, 2, "rwm"};    /* /dev/ptmx */
	rules[n++] = (struct vl_cgroup_device_rule){'c', 136, -1, "rwm"}; /* /dev/pts/N */
	return vl_cgroup_set_device_allowlist(cg, rules, n, err);
}

struct spawn_hook {
	struct vl_guest *g;
	pid_t pid;
	unsigned long long start;
};

/* Runs while the child waits (it joins its cgroups meanwhile): track it, then
 * give it its own process group, so that a ^C at the terminal of the virtlab
 * that started it does not stop the guest. */
static int parent_setup(pid_t child, void *data, vl_error *err)
{
	struct spawn_hook *h = data;
	char id[64], state;

	if (vl_state_process_start(child, &h->start, &state, err) < 0)
		return -1;
	h->pid = child;
	snprintf(id, sizeof(id), "%d:%llu", (int)child, h->start);
	if (vl_state_track(h->g, VL_RES_PROCESS, id, err) < 0)
		return -1;
	if (setpgid(child, child) < 0)
		return vl_error_errno(err, errno, "making the guest's process group");
	return 0;
}

/* The guest's group in every hierarchy, as the child joins it: the cgroup2
 * one by being cloned into it, each v1 one through its tasks file. */
struct cgroup_join {
	struct vl_container_cgroup_join join;
	int tasks[VL_CGROUP_MAX_HIERARCHIES];
};

static void close_join(struct cgroup_join *j)
{
	if (j->join.clone_into_fd >= 0)
		close(j->join.clone_into_fd);
	for (size_t i = 0; i < j->join.n_tasks_fds; i++)
		close(j->tasks[i]);
}

static int open_join(const struct vl_cgroup_host *host, const char *name, struct cgroup_join *j,
                     vl_error *err)
{
	j->join = (struct vl_container_cgroup_join){.clone_into_fd = -1, .tasks_fds = j->tasks};
	for (size_t i = 0; i < host->n_hierarchies; i++) {
		const struct vl_cgroup_hierarchy *h = &host->hierarchies[i];
		char path[PATH_MAX + 2 * VL_NAME_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/%s%s", h->path, name, h->unified ? "" : "/tasks");
		fd = open(path, (h->unified ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			close_join(j);
			return vl_error_errno(err, e, "opening %s", path);
		}
		if (h->unified)
			j->join.clone_into_fd = fd;
		else
			j->tasks[j->join.n_tasks_fds++] = fd;
	}
	return 0;
}

static int open_console(const struct vl_guest *g, vl_error *err)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/console.log", g->state_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	return fd;
}

static int spawn_init(struct vl_guest *g, const struct vl_cgroup_host *host, const char *cgroup,
                      pid_t *pid, unsigned long long *start, vl_error *err)
{
	char *argv[] = {AGENT_PATH,
	                "--socket",
	                AGENT_SOCKET,
	                "--workdir",
	                g->spec.workdir[0] ? g->spec.workdir : "/tmp",
	                NULL};
	char *envp[] = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root", NULL};
	struct vl_container_spec spec;
	struct vl_container_plan plan;
	struct spawn_hook hook = {.g = g};
	struct cgroup_join join;
	struct vl_container_hooks hooks = {
	        .parent_setup = parent_setup, .data = &hook, .join = &join.join};
	cleanup_close int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cleanup_close int console = open_console(g, err);
	bool overlay = strcmp(vl_guest_rec_str(g, "rootfs"), "overlay") == 0;
	int rc;

	if (console < 0)
		return -1;
	if (null < 0)
		return vl_error_errno(err, errno, "opening /dev/null");
	vl_container_spec_init(&spec);
	spec.hostname = g->spec.name;
	spec.argv = argv;
	spec.envp = envp;
	spec.stdio[0] = null;
	spec.stdio[1] = spec.stdio[2] = console;
	if (overlay) {
		spec.rootfs = vl_guest_rec_str(g, "merged");
		spec.overlay = (struct vl_container_overlay){vl_guest_rec_str(g, "image"),
		                                             vl_guest_rec_str(g, "upper"),
		                                             vl_guest_rec_str(g, "work")};
	} else {
		spec.rootfs = vl_guest_rec_str(g, "root");
	}
	if (vl_container_plan_build(&spec, &plan, err) < 0)
		return -1;
	if (open_join(host, cgroup, &join, err) < 0) {
		vl_container_plan_free(&plan);
		return -1;
	}
	rc = vl_container_spawn(&plan, &hooks, pid, err);
	close_join(&join);
	vl_container_plan_free(&plan);
	/* On failure spawn has killed and reaped the child. */
	if (rc < 0 && hook.pid)
		untrack_process(g, hook.pid, hook.start);
	*start = hook.start;
	return rc;
}

static int connect_init(const struct vl_guest *g, void *pid, int *fd, vl_error *err)
{
	(void)g;
	return connect_agent(*(pid_t *)pid, AGENT_SOCKET, fd, err);
}

static int start(struct vl_guest *g, vl_error *err)
{
	struct vl_cgroup_host host;
	struct vl_cgroup *cg = NULL;
	char name[VL_NAME_MAX + 16], owner[PATH_MAX];
	unsigned long long start_time = 0;
	vl_error ignored = {0};
	pid_t pid = 0;
	int pidfd = -1;

	if (!vl_guest_rec_str(g, "rootfs"))
		return vl_error_input(err, "guest %s has no root filesystem; provision it first",
		                      g->spec.name);
	if (running(g))
		return vl_error_input(err, "guest %s is already running", g->spec.name);
	remove_stale_socket(g);
	cgroup_name(g, name, sizeof(name));
	if (vl_cgroup_detect(&host, err) < 0)
		return vl_error_wrap(err, "starting guest %s", g->spec.name);
	if (vl_cleanup_cgroup_claimed_elsewhere(&host, name, owner, sizeof(owner)))
		return vl_error_input(err,
		                      "cgroup %s belongs to the guest at %s (another "
		                      "VIRTLAB_STATE); give this guest another name",
		                      name, owner);
	/* What a killed start left (an orphaned agent in the group) goes first:
	 * the new init must not share its cgroup, or its limits. */
	if (vl_cgroup_exists(&host, name) && release_cgroup(g, err) < 0)
		return vl_error_wrap(err, "starting guest %s", g->spec.name);
	untrack_leftover_processes(g);
	if (vl_state_track(g, VL_RES_CGROUP, name, err) < 0)
		return vl_error_wrap(err, "starting guest %s", g->spec.name);
	if (vl_cgroup_create(&host, name, &cg, err) < 0 ||
	    vl_cleanup_mark_cgroup(&host, name, g->spec.name, err) < 0 ||
	    set_limits(g, cg, err) < 0 || spawn_init(g, &host, name, &pid, &start_time, err) < 0)
		goto fail;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		vl_error_errno(err, errno, "watching the guest's init");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		untrack_process(g, pid, start_time);
		goto fail;
	}
	if (json_object_set_new(g->record, "init_pid", json_integer(pid)) < 0 ||
	    json_object_set_new(g->record, "init_start", json_integer((json_int_t)start_time)) <
	            0 ||
	    vl_guest_rec_set(g, "cgroup", json_string(name), err) < 0 ||
	    vl_guest_rec_set(g, "socket", json_string(AGENT_SOCKET), err) < 0 ||
	    vl_guest_wait_agent(g, pidfd, connect_init, &pid, HELLO_TIMEOUT, err) < 0 ||
	    vl_guest_net_attach_netns(g, pid, err) < 0) {
		end_guest(g, pidfd, pid, 0, &ignored);
		goto fail;
	}
	close(pidfd);
	vl_cgroup_free(cg);
	vl_debug("guest %s: init %d", g->spec.name, (int)pid);
	return 0;
fail:
	if (pidfd >= 0)
		close(pidfd);
	vl_cgroup_free(cg);
	vl_guest_net_detach(g, &ignored);
	release_cgroup(g, &ignored);
	remove_stale_socket(g);
	return vl_error_wrap(err, "starting guest %s", g->spec.name);
}

static int destroy(struct vl_guest *g, vl_error *err)
{
	if (stop(g, err) < 0)
		return vl_error_wrap(err, "destroying guest %s", g->spec.name);
	if (vl_rootfs_remove(g->state_dir, err) < 0)
		return vl_error_wrap(err, "destroying guest %s", g->spec.name);
	json_object_clear(g->record);
	return vl_state_untrack(g, VL_RES_DIR, g->state_dir, err);
}

/* --- entitlements and accounting --- */

static int apply_entitlement(struct vl_guest *g, const struct vl_entitlement *e, vl_error *err)
{
	struct vl_cgroup *cg = NULL;
	int rc;

	if (!running(g))
		return vl_error_input(err, "guest %s is not running; start it first", g->spec.name);
	if (open_cgroup(g, &cg, err) < 0)
		return vl_error_wrap(err, "entitling guest %s", g->spec.name);
	rc = vl_entitlement_apply_cgroup(cg, e, err);
	vl_cgroup_free(cg);
	return rc < 0 ? vl_error_wrap(err, "entitling guest %s", g->spec.name) : 0;
}

static int footprint(struct vl_guest *g, struct vl_footprint *out, vl_error *err)
{
	struct vl_cgroup *cg = NULL;
	struct vl_cgroup_stats stats;
	cleanup_free char *procs = NULL;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!running(g))
		return vl_error_input(err, "guest %s is not running; start it first", g->spec.name);
	if (open_cgroup(g, &cg, err) < 0)
		return vl_error_wrap(err, "footprint of guest %s", g->spec.name);
	rc = vl_cgroup_read_stats(cg, &stats, err);
	if (rc == 0 && !vl_cgroup_path(cg, VL_CGROUP_MEMORY, dir, sizeof(dir)))
		rc = vl_error_set(err, "no memory cgroup on this host");
	vl_cgroup_free(cg);
	if (rc < 0)
		return vl_error_wrap(err, "footprint of guest %s", g->spec.name);
	out->cgroup_memory_bytes = stats.memory_current;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (vl_read_file(path, &procs, &len, err) < 0)
		return vl_error_wrap(err, "footprint of guest %s", g->spec.name);
	for (char *save = NULL, *l = strtok_r(procs, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		vl_error gone = {0};
		/* A process may exit between the two reads. */
		vl_proc_memory_add((pid_t)atoi(l), &out->rss_bytes, &out->pss_bytes, &gone);
	}
	return 0;
}

const struct vl_platform vl_platform_container = {
        .name = "container",
        .persistent = true,
        .summary = "built-in Linux containers: namespaces, cgroups, overlay root filesystems",
        .probe = probe,
        .provision = provision,
        .clone = clone_guest,
        .start = start,
        .stop = stop,
        .reboot = vl_guest_stop_start,
        .destroy = destroy,
        .open_channel = open_channel,
        .apply_entitlement = apply_entitlement,
        .footprint = footprint,
};
