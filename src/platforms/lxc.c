/* The LXC platform: the thesis's own container system, driven through
 * liblxc's C API (lxc/lxccontainer.h). A guest is an LXC container named
 * after it in the lxcpath <data>/guests, so that its LXC directory is the
 * guest's own state_dir; its configuration is set through the API
 * (lxc_config.c) and saved there, so lxc-start -P <data>/guests -n NAME
 * starts the same guest. g->record holds:
 *
 *   image        the golden image (the overlay's lower layer)
 *   rootfs       "overlay" or "copy"
 *   init_pid     the agent's pid on the host, with init_start
 *   monitor_pid  LXC's monitor for this container, with monitor_start
 *
 * The channel: the agent listens on VL_LXC_GUEST_CHANNEL/agent.sock, a
 * directory of the host (<state_dir>/channel) bind-mounted into the guest by
 * an lxc.mount.entry. See docs/design.md, "LXC platform". */
#include "platforms/platform.h"
#include "core/cleanup.h"
#include "core/command.h"
#include "core/dynlib.h"
#include "core/file.h"
#include "core/log.h"
#include "core/proc.h"
#include "platforms/cleanup.h"
#include "platforms/guest_files.h"
#include "platforms/guest_net.h"
#include "platforms/image.h"
#include "platforms/lxc_config.h"
#include "platforms/state.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <lxc/lxccontainer.h>

#define DEFAULT_IMAGE "busybox"
#define HELLO_TIMEOUT 10.0
#define SHUTDOWN_WAIT 5 /* s: the agent ends at once on SIGTERM */
#define KILL_WAIT     5 /* s */
#define MONITOR_WAIT  5.0

/* --- the host --- */

/* liblxc (and libapparmor, libselinux, libpcre2 behind it) is loaded by the
 * first call that needs it: linked, it cost every virtlab process start-up
 * time. The rest of its API is function pointers in struct lxc_container. */
static struct {
	VL_DYNLIB_FN(lxc_container_new);
	VL_DYNLIB_FN(lxc_container_put);
	VL_DYNLIB_FN(lxc_get_version);
	VL_DYNLIB_FN(lxc_config_item_is_supported);
	VL_DYNLIB_FN(lxc_log_init);
} lxc;
static const struct vl_dynlib_sym lxc_syms[] = {
        VL_DYNLIB_SYM(lxc, lxc_container_new), VL_DYNLIB_SYM(lxc, lxc_container_put),
        VL_DYNLIB_SYM(lxc, lxc_get_version),   VL_DYNLIB_SYM(lxc, lxc_config_item_is_supported),
        VL_DYNLIB_SYM(lxc, lxc_log_init),
};
static struct vl_dynlib liblxc = VL_DYNLIB(VL_SONAME_LXC, "liblxc1", lxc_syms);

static void lxcpath(char *buf, size_t size)
{
	snprintf(buf, size, "%s/guests", vl_data_root());
}

/* LXC's lock file for a container (a privileged LXC keeps them under its
 * run directory, named after the lxcpath): LXC leaves it after a destroy. */
#define LXC_LOCK_ROOT "/run/lxc/lock"
static void lock_file(const struct vl_guest *g, char *buf, size_t size)
{
	char path[PATH_MAX];

	lxcpath(path, sizeof(path));
	snprintf(buf, size, LXC_LOCK_ROOT "%s/.%s", path, g->spec.name);
}

/* Loads liblxc and quiets it: LXC logs to stderr unless told otherwise, and
 * library code must not print. Each container's own log is its lxc.log.file. */
static int load_liblxc(vl_error *err)
{
	static bool quiet;
	struct lxc_log log = {.name = "virtlab", .file = "none", .level = "ERROR", .quiet = true};

	if (vl_dynlib_load(&liblxc, err) < 0)
		return -1;
	if (!quiet)
		lxc.lxc_log_init(&log);
	quiet = true;
	return 0;
}

static bool apparmor_enabled(void)
{
	char line[8] = "";
	vl_error ignored = {0};

	vl_read_line("/sys/module/apparmor/parameters/enabled", line, sizeof(line), &ignored);
	return line[0] == 'Y';
}

/* LXC's default profile ("generated") is compiled by apparmor_parser and
 * loaded into an enabled AppArmor; without either, LXC refuses to start the
 * container, so virtlab asks for "unconfined" instead. */
static bool apparmor_unconfined(void)
{
	char parser[PATH_MAX];

	return !apparmor_enabled() || !vl_find_program("apparmor_parser", parser, sizeof(parser));
}

static void probe(struct vl_probe *out)
{
	struct vl_cgroup_host host;
	char rsync[PATH_MAX], label[128] = "";
	vl_error err = {0};

	memset(out, 0, sizeof(*out));
	snprintf(out->accel, sizeof(out->accel), "native");
	if (geteuid() != 0) {
		snprintf(out->reason, sizeof(out->reason),
		         "needs root: virtlab runs LXC's privileged containers only");
		return;
	}
	if (load_liblxc(&err) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s", err.msg);
		return;
	}
	if (!lxc.lxc_config_item_is_supported("lxc.cgroup.dir.monitor.pivot")) {
		snprintf(out->reason, sizeof(out->reason),
		         "liblxc %s lacks lxc.cgroup.dir.monitor.pivot; LXC 5.0 or newer is needed",
		         lxc.lxc_get_version());
		return;
	}
	if (!vl_guest_probe_container_host(out, &host, "no overlayfs (modprobe overlay)"))
		return;
	/* A confined virtlab cannot hand its guests another profile, nor leave
	 * them unconfined: LXC's start fails in the profile switch. */
	if (apparmor_enabled() &&
	    vl_read_line("/proc/self/attr/current", label, sizeof(label), &err) == 0 &&
	    strncmp(label, "unconfined", 10) != 0) {
		snprintf(out->reason, sizeof(out->reason),
		         "AppArmor confines virtlab (profile %s), so LXC cannot set its guests' "
		         "profile; run virtlab unconfined",
		         label);
		return;
	}
	out->usable = true;
	snprintf(out->reason, sizeof(out->reason), "liblxc %s, cgroup v%d; AppArmor: %s%s",
	         lxc.lxc_get_version(), host.version,
	         apparmor_unconfined() ? "guests unconfined (AppArmor off or no apparmor_parser)"
	                               : "LXC's generated profile",
	         vl_find_program("rsync", rsync, sizeof(rsync))
	                 ? ""
	                 : "; no rsync: clones fail (apt-get install rsync)");
}

/* --- the record --- */

/* A pidfd on the process the record names under `key` when it is still that
 * process and alive; -1 otherwise. */
static int open_recorded(const struct vl_guest *g, const char *key, pid_t *pid)
{
	char start_key[32];
	bool alive;
	int fd;

	snprintf(start_key, sizeof(start_key), "%.*s_start", (int)(strlen(key) - 4), key);
	fd = vl_guest_open_process(g, key, start_key, pid, &alive);
	if (fd >= 0 && !alive) {
		close(fd);
		return -1;
	}
	return fd;
}

static int record_process(struct vl_guest *g, const char *key, pid_t pid, vl_error *err)
{
	char start_key[32];
	unsigned long long start;
	char state;

	snprintf(start_key, sizeof(start_key), "%.*s_start", (int)(strlen(key) - 4), key);
	if (vl_state_process_start(pid, &start, &state, err) < 0)
		return -1;
	if (vl_guest_rec_set(g, key, json_integer(pid), err) < 0 ||
	    vl_guest_rec_set(g, start_key, json_integer((json_int_t)start), err) < 0)
		return -1;
	return 0;
}

/* --- liblxc --- */

static int open_container(const struct vl_guest *g, struct lxc_container **out, vl_error *err)
{
	char path[PATH_MAX];

	if (load_liblxc(err) < 0)
		return -1;
	lxcpath(path, sizeof(path));
	*out = lxc.lxc_container_new(g->spec.name, path);
	if (!*out)
		return vl_error_set(err, "liblxc cannot open container %s in %s", g->spec.name,
		                    path);
	return 0;
}

static void put_container(struct lxc_container **c)
{
	if (*c)
		lxc.lxc_container_put(*c);
}
#define cleanup_lxc __attribute__((cleanup(put_container)))

static int lxc_failed(const struct vl_guest *g, const char *what, vl_error *err)
{
	char log[PATH_MAX + 16], tail[512];

	snprintf(log, sizeof(log), "%s/lxc.log", g->state_dir);
	return vl_error_set(err, "LXC could not %s %s: %s (%s)", what, g->spec.name,
	                    vl_guest_log_tail(log, tail, sizeof(tail)) ?: "no output", log);
}

/* Writes the whole configuration, virtlab's defaults and g's spec, over
 * whatever the container had (a clone inherits its source's), then saves it. */
static int configure(struct vl_guest *g, struct lxc_container *c, const char *rootfs, vl_error *err)
{
	struct vl_cgroup_host host;
	struct vl_lxc_items items = {0};
	cleanup_free char *profile = NULL;
	char seccomp[PATH_MAX + 16], channel[PATH_MAX + 16];
	struct vl_lxc_guest lg = {.spec = &g->spec,
	                          .rootfs = rootfs,
	                          .dir = g->state_dir,
	                          .seccomp = seccomp,
	                          .apparmor_unconfined = apparmor_unconfined()};
	int rc = 0;

	snprintf(seccomp, sizeof(seccomp), "%s/seccomp", g->state_dir);
	snprintf(channel, sizeof(channel), "%s/" VL_LXC_CHANNEL_DIR, g->state_dir);
	if (vl_cgroup_detect(&host, err) < 0 || vl_lxc_seccomp_profile(&profile, err) < 0 ||
	    vl_write_file_replace(seccomp, profile, strlen(profile), err) < 0 ||
	    vl_mkdir_p(channel, 0700, err) < 0)
		return -1;
	lg.cgroup_version = host.version;
	c->clear_config(c);
	if (vl_lxc_guest_items(&lg, &items, err) < 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < items.n; i++)
		if (!c->set_config_item(c, items.v[i].key, items.v[i].value))
			rc = vl_error_set(err, "LXC refused %s = %s", items.v[i].key,
			                  items.v[i].value);
	vl_lxc_items_free(&items);
	if (rc == 0 && !c->save_config(c, NULL))
		rc = vl_error_set(err, "LXC could not save the configuration of %s", g->spec.name);
	return rc;
}

/* --- provision, clone, destroy --- */

/* LXC makes its lock file as soon as it opens a container by name. */
static int track_lock(struct vl_guest *g, vl_error *err)
{
	char lock[PATH_MAX + VL_NAME_MAX];

	lock_file(g, lock, sizeof(lock));
	return vl_state_track(g, VL_RES_FILE, lock, err);
}

static int check_new(struct vl_guest *g, struct lxc_container *c, vl_error *err)
{
	char path[PATH_MAX];

	if (vl_lxc_check_name(g->spec.name, err) < 0)
		return -1;
	lxcpath(path, sizeof(path));
	if (c->is_defined(c))
		return vl_error_input(err,
		                      "an LXC container %s exists in %s without a virtlab record; "
		                      "remove it (lxc-destroy -P %s -n %s) or choose another name",
		                      g->spec.name, path, path, g->spec.name);
	return 0;
}

static int provision(struct vl_guest *g, vl_error *err)
{
	cleanup_lxc struct lxc_container *c = NULL;
	struct vl_image image;
	char upper[PATH_MAX + 16], rootfs[2 * PATH_MAX + 32];

	if (track_lock(g, err) < 0 || open_container(g, &c, err) < 0 || check_new(g, c, err) < 0 ||
	    vl_image_golden(g->spec.image[0] ? g->spec.image : DEFAULT_IMAGE, &image, err) < 0 ||
	    vl_guest_files_make(g, err) < 0)
		return vl_error_wrap(err, "provisioning guest %s", g->spec.name);
	/* The same layering as virtlab's containers: the golden image is the
	 * lower layer, shared; LXC mounts it inside the guest's mount namespace. */
	snprintf(upper, sizeof(upper), "%s/delta0", g->state_dir);
	snprintf(rootfs, sizeof(rootfs), "overlay:%s:%s", image.path, upper);
	if (vl_mkdir_p(upper, 0755, err) < 0 || configure(g, c, rootfs, err) < 0 ||
	    vl_guest_rec_set(g, "image", json_string(image.path), err) < 0 ||
	    vl_guest_rec_set(g, "rootfs", json_string("overlay"), err) < 0) {
		vl_guest_files_remove(g);
		return vl_error_wrap(err, "provisioning guest %s", g->spec.name);
	}
	return 0;
}

static bool running(const struct vl_guest *g)
{
	pid_t pid;
	int fd = open_recorded(g, "init_pid", &pid);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* LXC counts a snapshot as depending on its source and refuses to destroy
 * a source with snapshots. An overlay snapshot shares only the golden image
 * with its source (LXC copies the upper layer), so virtlab drops the count,
 * and a source can go before its clones, as virtlab's containers can. */
static void forget_snapshot(const struct vl_guest *src, const struct vl_guest *dst)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/lxc_snapshots", src->state_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lxc_rdepends", dst->state_dir);
	unlink(path);
}

/* LXC's clone: a snapshot copies the source's upper layer over the same
 * lower one (as virtlab's containers do), a full copy rsyncs the merged
 * tree into a directory. LXC then rewrites the configuration's paths and
 * names; configure() writes ours over it. */
static int clone_guest(struct vl_guest *src, struct vl_guest *dst, bool full_copy, vl_error *err)
{
	cleanup_lxc struct lxc_container *c = NULL;
	cleanup_lxc struct lxc_container *d = NULL;
	struct lxc_container *made;
	char path[PATH_MAX], rootfs[2 * PATH_MAX + 32];

	if (!vl_guest_rec_str(src, "rootfs") || !vl_guest_rec_str(src, "image"))
		return vl_error_input(err, "guest %s has no root filesystem; provision it first",
		                      src->spec.name);
	if (!full_copy && strcmp(vl_guest_rec_str(src, "rootfs"), "overlay") != 0)
		return vl_error_input(err,
		                      "guest %s is a full copy, with no layer to share; clone "
		                      "it with --full",
		                      src->spec.name);
	if (full_copy && running(src))
		return vl_error_input(err, "stop guest %s before a full copy of it",
		                      src->spec.name);
	if (track_lock(dst, err) < 0 || open_container(src, &c, err) < 0 ||
	    open_container(dst, &d, err) < 0 || check_new(dst, d, err) < 0 ||
	    vl_guest_files_make(dst, err) < 0)
		return vl_error_wrap(err, "cloning %s to %s", src->spec.name, dst->spec.name);
	/* LXC makes the directory itself, and fails on one that exists. */
	rmdir(dst->state_dir);
	lxcpath(path, sizeof(path));
	made = c->clone(c, dst->spec.name, path,
	                full_copy ? 0 : LXC_CLONE_SNAPSHOT | LXC_CLONE_ALLOW_RUNNING,
	                full_copy ? "dir" : "overlay", NULL, 0, NULL);
	if (!made) {
		lxc_failed(src, "clone", err);
		vl_guest_files_remove(dst);
		return vl_error_wrap(err, "cloning %s to %s", src->spec.name, dst->spec.name);
	}
	lxc.lxc_container_put(made);
	/* A fresh handle: the clone's in the old one is LXC's, not on disk yet
	 * in every detail. */
	lxc.lxc_container_put(d);
	d = NULL;
	if (!full_copy)
		forget_snapshot(src, dst);
	/* LXC gives the path without its storage type. */
	snprintf(rootfs, sizeof(rootfs), "%s", full_copy ? "" : "overlay:");
	if (open_container(dst, &d, err) < 0 ||
	    d->get_config_item(d, "lxc.rootfs.path", rootfs + strlen(rootfs),
	                       (int)(sizeof(rootfs) - strlen(rootfs))) <= 0 ||
	    configure(dst, d, rootfs, err) < 0 ||
	    vl_guest_rec_set(dst, "image", json_string(vl_guest_rec_str(src, "image")), err) < 0 ||
	    vl_guest_rec_set(dst, "rootfs", json_string(full_copy ? "copy" : "overlay"), err) < 0) {
		if (!err->msg[0])
			vl_error_set(err, "LXC gave no root filesystem for %s", dst->spec.name);
		if (d)
			d->destroy(d);
		vl_guest_files_remove(dst);
		return vl_error_wrap(err, "cloning %s to %s", src->spec.name, dst->spec.name);
	}
	return 0;
}

/* --- start and stop --- */

static void socket_path(const struct vl_guest *g, char *buf, size_t size)
{
	snprintf(buf, size, "%s/" VL_LXC_CHANNEL_DIR "/" VL_LXC_SOCKET_NAME, g->state_dir);
}

/* The agent removes its socket when it ends, not when it is killed: the next
 * start would find a stale one. */
static void remove_stale_socket(const struct vl_guest *g)
{
	char path[PATH_MAX + 32];

	socket_path(g, path, sizeof(path));
	unlink(path);
}

/* The channel directory is the guest's to write: the socket is opened
 * without following a link the guest may have put in its place, and reached
 * through that descriptor. */
static int connect_channel(const struct vl_guest *g, int *out, vl_error *err)
{
	char dir[PATH_MAX + 16], what[PATH_MAX + 32];
	cleanup_close int dfd = -1;
	cleanup_close int node = -1;

	snprintf(dir, sizeof(dir), "%s/" VL_LXC_CHANNEL_DIR, g->state_dir);
	dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return vl_error_errno(err, errno, "opening %s", dir);
	node = openat(dfd, VL_LXC_SOCKET_NAME, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (node < 0)
		return vl_error_errno(err, errno, "opening the agent socket in %s", dir);
	snprintf(what, sizeof(what), "in %s", dir);
	return vl_guest_connect_node(node, what, out, err);
}

static int open_channel(struct vl_guest *g, int *fd, vl_error *err)
{
	if (!running(g))
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	if (connect_channel(g, fd, err) < 0)
		return vl_error_wrap(err, "reaching guest %s", g->spec.name);
	return 0;
}

static int reach_channel(const struct vl_guest *g, void *arg, int *fd, vl_error *err)
{
	(void)arg;
	return connect_channel(g, fd, err);
}

static int parent_of(pid_t pid, pid_t *ppid, vl_error *err)
{
	char path[64], buf[512];
	cleanup_close int fd = -1;
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return vl_error_errno(err, errno, "reading %s", path);
	buf[n] = '\0';
	/* "PID (COMM) STATE PPID": COMM may hold anything, up to the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", ppid) != 1)
		return vl_error_set(err, "%s has no parent field", path);
	return 0;
}

static bool tracked(json_t *doc, const char *kind, const char *id)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(doc, "resources"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "kind")), kind) == 0 &&
		    strcmp(json_string_value(json_object_get(r, "id")), id) == 0)
			return true;
	}
	return false;
}

/* After a clean stop the groups are empty: freezing and killing (what
 * `virtlab cleanup` does to any group) would only cost time. */
static int remove_cgroup(const struct vl_cgroup_host *host, const char *name, vl_error *err)
{
	struct vl_cgroup *cg = NULL;
	bool empty = false, existed;
	int rc;

	if (vl_cgroup_open(host, name, &cg, err) < 0 || vl_cgroup_is_empty(cg, &empty, err) < 0 ||
	    !empty) {
		vl_cgroup_free(cg);
		vl_error_clear(err);
		return vl_cleanup_resource(VL_RES_CGROUP, name, false, &existed, err);
	}
	rc = vl_cgroup_remove(cg, err);
	vl_cgroup_free(cg);
	return rc;
}

/* The cgroups LXC makes, emptied and removed: a killed run leaves them (a
 * clean stop's monitor removes them itself). Only what exists is touched and
 * only what the record lists is untracked (unless `keep`: a start follows),
 * so that a clean start or stop costs no more than the checks. */
static int release_cgroups(struct vl_guest *g, const struct vl_cgroup_host *host, bool keep,
                           vl_error *err)
{
	struct vl_lxc_cgroups cg;
	cleanup_json json_t *doc = NULL;
	vl_error ignored = {0};
	const char *names[2], *listed[2];
	size_t n_listed = 0;

	vl_lxc_cgroup_names(g->spec.name, &cg);
	names[0] = cg.container;
	names[1] = cg.monitor;
	vl_state_read(g->spec.name, &doc, &ignored);
	for (size_t i = 0; i < 2; i++) {
		if (vl_cgroup_exists(host, names[i]) && remove_cgroup(host, names[i], err) < 0)
			return vl_error_wrap(err, "removing cgroup %s", names[i]);
		if (tracked(doc, VL_RES_CGROUP, names[i]))
			listed[n_listed++] = names[i];
	}
	return n_listed && !keep ? vl_state_untrack_all(g, VL_RES_CGROUP, listed, n_listed, err)
	                         : 0;
}

/* A guest of the same name under another VIRTLAB_STATE owns the same cgroup
 * names; its groups are never released from here. */
static int check_cgroups_free(struct vl_guest *g, const struct vl_cgroup_host *host, vl_error *err)
{
	struct vl_lxc_cgroups cg;
	char owner[PATH_MAX];

	vl_lxc_cgroup_names(g->spec.name, &cg);
	if (vl_cleanup_cgroup_claimed_elsewhere(host, cg.container, owner, sizeof(owner)) ||
	    vl_cleanup_cgroup_claimed_elsewhere(host, cg.monitor, owner, sizeof(owner)))
		return vl_error_input(err,
		                      "cgroup %s belongs to the guest at %s (another "
		                      "VIRTLAB_STATE); give this guest another name",
		                      cg.container, owner);
	return 0;
}

/* LXC made the groups: marked as this guest's once they exist, so that a
 * cleanup under another VIRTLAB_STATE leaves them be. */
static int mark_cgroups(struct vl_guest *g, const struct vl_cgroup_host *host, vl_error *err)
{
	struct vl_lxc_cgroups cg;

	vl_lxc_cgroup_names(g->spec.name, &cg);
	if (vl_cleanup_mark_cgroup(host, cg.container, g->spec.name, err) < 0 ||
	    vl_cleanup_mark_cgroup(host, cg.monitor, g->spec.name, err) < 0)
		return -1;
	return 0;
}

static int track_cgroups(struct vl_guest *g, vl_error *err)
{
	struct vl_lxc_cgroups cg;

	vl_lxc_cgroup_names(g->spec.name, &cg);
	/* Released newest first: the monitor's before its container's, so that
	 * a cleanup's killing of the container does not set the monitor off on
	 * its own teardown (into the shared pivot) meanwhile. */
	const char *const names[] = {cg.container, cg.monitor};
	return vl_state_track_all(g, VL_RES_CGROUP, names, 2, err);
}

static void forget_processes(struct vl_guest *g)
{
	char id[64];
	vl_error ignored = {0};

	snprintf(id, sizeof(id), "%lld:%lld", vl_guest_rec_int(g, "monitor_pid"),
	         vl_guest_rec_int(g, "monitor_start"));
	if (vl_guest_rec_int(g, "monitor_pid") > 0)
		vl_state_untrack(g, VL_RES_PROCESS, id, &ignored);
	json_object_del(g->record, "init_pid");
	json_object_del(g->record, "init_start");
	json_object_del(g->record, "monitor_pid");
	json_object_del(g->record, "monitor_start");
}

/* The monitor is tracked so that `virtlab cleanup` kills it first: a monitor
 * that outlives its container would go on cleaning up after it. */
static int record_started(struct vl_guest *g, struct lxc_container *c, int *pidfd, vl_error *err)
{
	char id[64];
	pid_t init = c->init_pid(c), monitor;

	if (init <= 0)
		return vl_error_set(err, "LXC reports no init for %s", g->spec.name);
	if (parent_of(init, &monitor, err) < 0 || record_process(g, "init_pid", init, err) < 0 ||
	    record_process(g, "monitor_pid", monitor, err) < 0)
		return -1;
	snprintf(id, sizeof(id), "%d:%lld", (int)monitor, vl_guest_rec_int(g, "monitor_start"));
	if (vl_state_track(g, VL_RES_PROCESS, id, err) < 0)
		return -1;
	*pidfd = open_recorded(g, "init_pid", &init);
	if (*pidfd < 0)
		return vl_error_set(err, "the init of %s exited at once (see %s/console.log)",
		                    g->spec.name, g->state_dir);
	return 0;
}

/* Stops the container, SIGTERM first (lxc.signal.halt), then SIGKILL, and
 * waits for its monitor to finish. */
static int halt(struct vl_guest *g, struct lxc_container *c, vl_error *err)
{
	pid_t pid;
	int monitor = open_recorded(g, "monitor_pid", &pid);
	struct pollfd p = {.fd = monitor, .events = POLLIN};
	int rc = 0;

	/* shutdown is a no-op on a container that does not run. */
	if (!c->shutdown(c, SHUTDOWN_WAIT)) {
		vl_debug("guest %s: no halt after %d s: SIGKILL", g->spec.name, SHUTDOWN_WAIT);
		if (!c->stop(c) || !c->wait(c, "STOPPED", KILL_WAIT))
			rc = lxc_failed(g, "stop", err);
	}
	if (monitor >= 0) {
		/* It removes the container's cgroup and then its own. */
		if (rc == 0)
			poll(&p, 1, (int)(MONITOR_WAIT * 1000));
		close(monitor);
	}
	return rc;
}

/* Stops c (a no-op when it is not running) and releases what its run held;
 * a `restart` (a reboot's stop) leaves the cgroups in the record for the
 * start that follows on the same handle. */
static int stop_container(struct vl_guest *g, struct lxc_container *c,
                          const struct vl_cgroup_host *host, bool restart, vl_error *err)
{
	if (halt(g, c, err) < 0 || vl_guest_net_detach(g, err) < 0 ||
	    release_cgroups(g, host, restart, err) < 0)
		return vl_error_wrap(err, "stopping guest %s", g->spec.name);
	forget_processes(g);
	remove_stale_socket(g);
	return 0;
}

static int stop(struct vl_guest *g, vl_error *err)
{
	cleanup_lxc struct lxc_container *c = NULL;
	struct vl_cgroup_host host;

	if (vl_cgroup_detect(&host, err) < 0 || open_container(g, &c, err) < 0)
		return vl_error_wrap(err, "stopping guest %s", g->spec.name);
	return stop_container(g, c, &host, false, err);
}

/* LXC moves the process that calls start with daemonize into the monitor's
 * cgroup (lxc-start does so and exits): a child makes the call, so that
 * virtlab stays out of its guest's cgroups. The monitor is a fork of that
 * child: it must not keep our fds (the guest's lock among them). */
static int start_daemon(struct vl_guest *g, struct lxc_container *c, vl_error *err)
{
	int status;
	pid_t pid;

	c->want_daemonize(c, true);
	c->want_close_all_fds(c, true);
	pid = fork();
	if (pid < 0)
		return vl_error_errno(err, errno, "forking to start the container");
	if (pid == 0)
		_exit(c->start(c, 0, NULL) ? 0 : 1);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vl_error_errno(err, errno, "waiting for LXC's start");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return lxc_failed(g, "start", err);
	return 0;
}

/* A `restart` follows stop_container(restart) on the same handle: the
 * cgroups are this guest's, released and still in the record. */
static int start_container(struct vl_guest *g, struct lxc_container *c,
                           const struct vl_cgroup_host *host, bool restart, vl_error *err)
{
	vl_error ignored = {0};
	int pidfd = -1;

	if (!c->is_defined(c) || !vl_guest_rec_str(g, "rootfs"))
		return vl_error_input(err, "guest %s has no LXC container; provision it first",
		                      g->spec.name);
	if (c->is_running(c))
		return vl_error_input(err, "guest %s is already running", g->spec.name);
	/* What a killed run left goes first: the new container must not share
	 * a cgroup, or its limits, with an orphan. */
	if (!restart && (check_cgroups_free(g, host, err) < 0 ||
	                 release_cgroups(g, host, false, err) < 0 || track_cgroups(g, err) < 0))
		return vl_error_wrap(err, "starting guest %s", g->spec.name);
	forget_processes(g);
	remove_stale_socket(g);
	if (start_daemon(g, c, err) < 0 || mark_cgroups(g, host, err) < 0)
		goto fail;
	/* The network experiment's veth goes into the namespace LXC made with
	 * lxc.net.0.type = empty, as for virtlab's own containers. */
	if (record_started(g, c, &pidfd, err) < 0 ||
	    (vl_guest_net_wanted(g) &&
	     vl_guest_net_attach_netns(g, (pid_t)vl_guest_rec_int(g, "init_pid"), err) < 0) ||
	    vl_guest_wait_agent(g, pidfd, reach_channel, NULL, HELLO_TIMEOUT, err) < 0)
		goto fail;
	close(pidfd);
	vl_debug("guest %s: init %lld, monitor %lld", g->spec.name, vl_guest_rec_int(g, "init_pid"),
	         vl_guest_rec_int(g, "monitor_pid"));
	return 0;
fail:
	if (pidfd >= 0)
		close(pidfd);
	halt(g, c, &ignored);
	vl_guest_net_detach(g, &ignored);
	release_cgroups(g, host, false, &ignored);
	forget_processes(g);
	remove_stale_socket(g);
	return vl_error_wrap(err, "starting guest %s", g->spec.name);
}

static int start(struct vl_guest *g, vl_error *err)
{
	cleanup_lxc struct lxc_container *c = NULL;
	struct vl_cgroup_host host;

	if (vl_cgroup_detect(&host, err) < 0 || open_container(g, &c, err) < 0)
		return vl_error_wrap(err, "starting guest %s", g->spec.name);
	return start_container(g, c, &host, false, err);
}

/* LXC reboots in place only when the init dies of SIGHUP (a reboot(2) in its
 * PID namespace); the agent as init simply exits. So, as for virtlab's own
 * containers, a reboot is a stop and a start, here on one handle and one
 * look at the host's cgroups: each handle parses the configuration anew. */
static int reboot(struct vl_guest *g, vl_error *err)
{
	cleanup_lxc struct lxc_container *c = NULL;
	struct vl_cgroup_host host;

	if (vl_cgroup_detect(&host, err) < 0 || open_container(g, &c, err) < 0)
		return vl_error_wrap(err, "rebooting guest %s", g->spec.name);
	if (stop_container(g, c, &host, true, err) < 0)
		return -1;
	return start_container(g, c, &host, true, err);
}

/* LXC removes the upper layer (never the golden image) and its directory;
 * what it does not know of (channel, logs) goes after. */
static int destroy_container(struct vl_guest *g, struct lxc_container *c, vl_error *err)
{
	if (c->is_defined(c) && !c->destroy(c))
		return lxc_failed(g, "destroy", err);
	return vl_remove_tree(g->state_dir, err);
}

static int destroy(struct vl_guest *g, vl_error *err)
{
	char lock[PATH_MAX + VL_NAME_MAX], dir[PATH_MAX + VL_NAME_MAX];
	cleanup_lxc struct lxc_container *c = NULL;
	struct vl_cgroup_host host;

	/* One handle for both: opening one parses the configuration again. */
	if (vl_cgroup_detect(&host, err) < 0 || open_container(g, &c, err) < 0 ||
	    stop_container(g, c, &host, false, err) < 0 || destroy_container(g, c, err) < 0 ||
	    vl_state_untrack(g, VL_RES_DIR, g->state_dir, err) < 0)
		return vl_error_wrap(err, "destroying guest %s", g->spec.name);
	lock_file(g, lock, sizeof(lock));
	if (unlink(lock) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "destroying guest %s: removing %s", g->spec.name,
		                      lock);
	/* The directories above it are shared by the guests of this data
	 * root: the last guest's destroy removes them. */
	snprintf(dir, sizeof(dir), "%s", lock);
	for (char *slash; (slash = strrchr(dir, '/')) && slash > dir + strlen(LXC_LOCK_ROOT);) {
		*slash = '\0';
		if (rmdir(dir) < 0)
			break;
	}
	json_object_clear(g->record);
	return vl_state_untrack(g, VL_RES_FILE, lock, err);
}

/* --- entitlements and accounting --- */

static int apply_entitlement(struct vl_guest *g, const struct vl_entitlement *e, vl_error *err)
{
	cleanup_lxc struct lxc_container *c = NULL;
	struct vl_cgroup_host host;
	struct vl_lxc_items items = {0};
	int rc = 0;

	if (!running(g))
		return vl_error_input(err, "guest %s is not running; start it first", g->spec.name);
	if (vl_cgroup_detect(&host, err) < 0 || open_container(g, &c, err) < 0 ||
	    vl_lxc_entitlement_items(host.version, e, &items, err) < 0) {
		vl_lxc_items_free(&items);
		return vl_error_wrap(err, "entitling guest %s", g->spec.name);
	}
	for (size_t i = 0; rc == 0 && i < items.n; i++)
		if (!c->set_cgroup_item(c, items.v[i].key, items.v[i].value))
			rc = vl_error_set(err, "LXC refused cgroup item %s = %s", items.v[i].key,
			                  items.v[i].value);
	vl_lxc_items_free(&items);
	return rc < 0 ? vl_error_wrap(err, "entitling guest %s", g->spec.name) : 0;
}

/* An idle container is its init and LXC's monitor: both are counted, since
 * the monitor lives exactly as long as the container. */
static int footprint(struct vl_guest *g, struct vl_footprint *out, vl_error *err)
{
	cleanup_lxc struct lxc_container *c = NULL;
	struct vl_cgroup_host host;
	const char *keys[] = {"init_pid", "monitor_pid"};
	char value[64];

	memset(out, 0, sizeof(*out));
	if (!running(g))
		return vl_error_input(err, "guest %s is not running; start it first", g->spec.name);
	if (vl_cgroup_detect(&host, err) < 0 || open_container(g, &c, err) < 0)
		return vl_error_wrap(err, "footprint of guest %s", g->spec.name);
	for (size_t i = 0; i < 2; i++) {
		pid_t pid;
		int fd = open_recorded(g, keys[i], &pid);

		if (fd < 0)
			return vl_error_set(err, "footprint of guest %s: its %s is gone",
			                    g->spec.name, keys[i]);
		if (vl_proc_memory_add(pid, &out->rss_bytes, &out->pss_bytes, err) < 0) {
			close(fd);
			return vl_error_wrap(err, "footprint of guest %s", g->spec.name);
		}
		close(fd);
	}
	if (c->get_cgroup_item(
	            c, host.version == VL_CGROUP_V1 ? "memory.usage_in_bytes" : "memory.current",
	            value, sizeof(value)) <= 0)
		return vl_error_set(err, "footprint of guest %s: LXC cannot read its memory cgroup",
		                    g->spec.name);
	out->cgroup_memory_bytes = strtoull(value, NULL, 10);
	return 0;
}

/* The monitors' pivot, as cleanup removes any group (in the hierarchies it
 * reached, when a monitor was killed while making it). A monitor in it has
 * left its own group and its container has exited: killing it costs nothing
 * but the removal of its own, by now empty, group, which its guest's stop
 * (or a cleanup) does. A stop under another run makes the pivot again. */
static int release_host(vl_error *err)
{
	bool existed;

	return vl_cleanup_resource(VL_RES_CGROUP, VL_LXC_PIVOT, false, &existed, err);
}

const struct vl_platform vl_platform_lxc = {
        .name = "lxc",
        .persistent = true,
        .summary = "LXC containers through liblxc, with virtlab's image, agent and defaults",
        .probe = probe,
        .provision = provision,
        .clone = clone_guest,
        .start = start,
        .stop = stop,
        .reboot = reboot,
        .destroy = destroy,
        .release_host = release_host,
        .open_channel = open_channel,
        .apply_entitlement = apply_entitlement,
        .footprint = footprint,
};
