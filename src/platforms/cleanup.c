/* Releasing guests' resources by kind, and sweeping what has no record. */
#include "platforms/cleanup.h"
#include "platforms/state.h"
#include "platforms/xen.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/file.h"
#include "runtime/cgroup.h"
#include "runtime/nat.h"
#include "runtime/netlink.h"
#include "runtime/netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define KILL_WAIT_S   5.0
#define MAX_STACKED   16 /* mounts stacked on one mount point */
#define CGROUP_PREFIX "virtlab"
/* A child that a killed virtlab forked keeps its lock (flock belongs to the
 * open file, which fork shares) until it execs or dies, a moment later. */
#define LOCK_WAIT_S 2.0
/* Names the guest that owns a cgroup: its state directory. */
#define OWNER_XATTR "trusted.virtlab.owner"
/* An unmarked group this young may be one another run is setting up. */
#define UNMARKED_GRACE_S 10

/* ---- one resource ---- */

static int check_path(const char *kind, const char *id, vl_error *err)
{
	if (id[0] != '/' || strcmp(id, "/") == 0 || strstr(id, "/../") ||
	    (strlen(id) >= 3 && strcmp(id + strlen(id) - 3, "/..") == 0))
		return vl_error_input(err, "%s '%s' is not an absolute path without '..'", kind,
		                      id);
	return 0;
}

/* Alive means: the same process (same start time) and not a zombie. */
static int process_alive(pid_t pid, unsigned long long start, bool *alive, vl_error *err)
{
	unsigned long long now;
	char state;

	if (vl_state_process_start(pid, &now, &state, err) < 0) {
		if (err->errnum != ESRCH)
			return -1;
		vl_error_clear(err);
		*alive = false;
		return 0;
	}
	*alive = now == start && state != 'Z';
	return 0;
}

static int release_process(const char *id, bool dry_run, bool *existed, vl_error *err)
{
	unsigned long long start;
	int pid, used = 0;
	bool alive;

	if (sscanf(id, "%d:%llu%n", &pid, &start, &used) != 2 || id[used] || pid <= 1)
		return vl_error_input(err, "process '%s' is not PID:STARTTIME", id);
	if (process_alive(pid, start, &alive, err) < 0)
		return -1;
	*existed = alive;
	if (!alive) {
		/* A zombie child of ours still wants reaping. */
		waitpid(pid, NULL, WNOHANG);
		return 0;
	}
	if (pid == getpid() || pid == getpgrp())
		return vl_error_set(
		        err, "process %d is this virtlab (or leads its group): not killing it",
		        pid);
	if (dry_run)
		return 0;
	if (kill(getpgid(pid) == pid ? -pid : pid, SIGKILL) < 0 && errno != ESRCH)
		return vl_error_errno(err, errno, "killing process %d", pid);
	for (double waited = 0; waited < KILL_WAIT_S; waited += 0.01) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		if (process_alive(pid, start, &alive, err) < 0)
			return -1;
		if (!alive)
			return 0;
		vl_sleep_ns(10000000, NULL);
	}
	return vl_error_set(err, "process %d is still there %.0f s after SIGKILL", pid,
	                    KILL_WAIT_S);
}

static int release_cgroup(const char *name, bool dry_run, bool *existed, vl_error *err)
{
	struct vl_cgroup_host host;
	struct vl_cgroup *cg = NULL;
	int rc;

	if (!name[0] || name[0] == '/' || strstr(name, ".."))
		return vl_error_input(err, "cgroup '%s' is not a relative name", name);
	if (vl_cgroup_detect(&host, err) < 0)
		return -1;
	*existed = vl_cgroup_exists(&host, name);
	if (!*existed || dry_run)
		return 0;
	/* A crash between hierarchies leaves the group in some only; create
	 * fills the gaps so that one handle reaches all of it. */
	if (vl_cgroup_open(&host, name, &cg, err) < 0) {
		vl_error_clear(err);
		if (vl_cgroup_create(&host, name, &cg, err) < 0)
			return -1;
	}
	rc = vl_cgroup_kill(cg, err);
	if (rc == 0)
		rc = vl_cgroup_remove(cg, err);
	vl_cgroup_free(cg);
	/* Its owner may have removed it meanwhile: gone is what was asked. */
	if (rc < 0 && !vl_cgroup_exists(&host, name)) {
		vl_error_clear(err);
		rc = 0;
	}
	return rc;
}

/* ---- who owns a cgroup ---- */

/* <canonical state root>/guests/<guest>: the same text whichever spelling of
 * VIRTLAB_STATE made it. */
static int owner_dir(const char *guest, char *buf, size_t size, vl_error *err)
{
	char root[PATH_MAX];

	if (!realpath(vl_state_root(), root))
		return vl_error_errno(err, errno, "resolving VIRTLAB_STATE %s", vl_state_root());
	if ((size_t)snprintf(buf, size, "%s/guests/%s", root, guest) >= size)
		return vl_error_input(err, "VIRTLAB_STATE '%s' is too long", vl_state_root());
	return 0;
}

int vl_cleanup_mark_cgroup(const struct vl_cgroup_host *host, const char *name, const char *guest,
                           vl_error *err)
{
	char owner[PATH_MAX];

	if (owner_dir(guest, owner, sizeof(owner), err) < 0)
		return -1;
	for (size_t i = 0; i < host->n_hierarchies; i++) {
		char dir[PATH_MAX * 2];

		snprintf(dir, sizeof(dir), "%s/%s", host->hierarchies[i].path, name);
		/* Without xattrs on cgroupfs the group stays unmarked: cleanups then
		 * judge it by its processes and its age. */
		if (setxattr(dir, OWNER_XATTR, owner, strlen(owner), 0) < 0 && errno != EOPNOTSUPP)
			return vl_error_errno(err, errno, "marking cgroup %s as guest %s's", dir,
			                      guest);
	}
	return 0;
}

/* The owner mark of the group, from the first hierarchy that has one. */
static bool cgroup_owner(const struct vl_cgroup_host *host, const char *name, char *owner,
                         size_t size)
{
	for (size_t i = 0; i < host->n_hierarchies; i++) {
		char dir[PATH_MAX * 2];
		ssize_t n;

		snprintf(dir, sizeof(dir), "%s/%s", host->hierarchies[i].path, name);
		n = getxattr(dir, OWNER_XATTR, owner, size - 1);
		if (n > 0) {
			owner[n] = '\0';
			return true;
		}
	}
	return false;
}

/* Whether a process holds a flock on the file: /proc/locks lists each lock
 * by device and inode ("1: FLOCK  ADVISORY  WRITE 123 fd:01:456 0 EOF"),
 * and looking there cannot get in the holder's way as trying the lock could. */
static bool flock_held(const char *path)
{
	cleanup_file FILE *f = fopen("/proc/locks", "re");
	cleanup_free char *line = NULL;
	char key[64];
	size_t cap = 0;
	struct stat st;

	if (stat(path, &st) < 0 || !f)
		return false;
	snprintf(key, sizeof(key), " %02x:%02x:%llu ", major(st.st_dev), minor(st.st_dev),
	         (unsigned long long)st.st_ino);
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, " FLOCK ") && strstr(line, key))
			return true;
	return false;
}

/* Whether the guest at owner (a state directory) claims the group: its
 * record lists it, or a virtlab holds its lock (making or changing it). */
static bool owner_claims(const char *owner, const char *name)
{
	cleanup_json json_t *doc = NULL;
	char path[PATH_MAX + 16];
	json_t *r;
	size_t i;

	snprintf(path, sizeof(path), "%s/lock", owner);
	if (flock_held(path))
		return true;
	snprintf(path, sizeof(path), "%s/guest.json", owner);
	doc = json_load_file(path, 0, NULL);
	json_array_foreach(json_object_get(doc, "resources"), i, r)
	{
		const char *kind = json_string_value(json_object_get(r, "kind"));
		const char *id = json_string_value(json_object_get(r, "id"));
		if (kind && id && strcmp(kind, VL_RES_CGROUP) == 0 && strcmp(id, name) == 0)
			return true;
	}
	return false;
}

/* A mark of a guest of this state root (which may not exist yet: then no
 * mark is). */
static bool owned_here(const char *owner)
{
	char mine[PATH_MAX];
	vl_error ignored = {0};

	return owner_dir("", mine, sizeof(mine), &ignored) == 0 &&
	       strncmp(owner, mine, strlen(mine)) == 0;
}

bool vl_cleanup_cgroup_claimed_elsewhere(const struct vl_cgroup_host *host, const char *name,
                                         char *owner, size_t size)
{
	return cgroup_owner(host, name, owner, size) && !owned_here(owner) &&
	       owner_claims(owner, name);
}

/* Seconds since the group was made (its directory's mtime in the first
 * hierarchy that has it). */
static double cgroup_age(const struct vl_cgroup_host *host, const char *name)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < host->n_hierarchies; i++) {
		char dir[PATH_MAX * 2];
		struct stat st;

		snprintf(dir, sizeof(dir), "%s/%s", host->hierarchies[i].path, name);
		if (stat(dir, &st) == 0)
			return (double)(now.tv_sec - st.st_mtim.tv_sec);
	}
	return 0;
}

/* Whether any hierarchy lists a process in the group, or a group inside it
 * (which virtlab never makes: another tool's, such as LXC's lxc.pivot). */
static bool cgroup_in_use(const struct vl_cgroup_host *host, const char *name)
{
	for (size_t i = 0; i < host->n_hierarchies; i++) {
		char path[PATH_MAX], line[32];
		cleanup_dir DIR *d = NULL;
		struct dirent *e;
		vl_error ignored = {0};

		snprintf(path, sizeof(path), "%s/%s/cgroup.procs", host->hierarchies[i].path, name);
		if (vl_read_line(path, line, sizeof(line), &ignored) == 0 && line[0])
			return true;
		snprintf(path, sizeof(path), "%s/%s", host->hierarchies[i].path, name);
		d = opendir(path);
		while (d && (e = readdir(d)))
			if (e->d_type == DT_DIR && e->d_name[0] != '.')
				return true;
	}
	return false;
}

static char *unescape_mountinfo(char *s)
{
	char *out = s;

	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
	return s;
}

/* Calls fn for each mount point in /proc/self/mountinfo, in mount order. */
static int for_each_mount(int (*fn)(const char *mnt, void *arg), void *arg, vl_error *err)
{
	cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;

	if (!f)
		return vl_error_errno(err, errno, "opening /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX];
		/* id parent maj:min root mount-point ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (fn(unescape_mountinfo(mnt), arg) != 0)
			break;
	}
	return 0;
}

struct mount_count {
	const char *path;
	unsigned n;
};

static int count_mount(const char *mnt, void *arg)
{
	struct mount_count *c = arg;
	if (strcmp(mnt, c->path) == 0)
		c->n++;
	return 0;
}

static int release_mount(const char *path, bool dry_run, bool *existed, vl_error *err)
{
	struct mount_count c = {.path = path};

	if (check_path("mount", path, err) < 0 || for_each_mount(count_mount, &c, err) < 0)
		return -1;
	*existed = c.n > 0;
	if (dry_run)
		return 0;
	for (unsigned i = 0; i < c.n && i < MAX_STACKED; i++)
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
		    errno != ENOENT)
			return vl_error_errno(err, errno, "unmounting %s", path);
	return 0;
}

/* A bind mount of the same file system keeps the device number; only the
 * kernel's mount-root attribute (Linux 5.8) tells it, the device is the fallback. */
static bool is_mount_root(const struct statx *stx, dev_t parent_dev)
{
	if (stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return stx->stx_attributes & STATX_ATTR_MOUNT_ROOT;
	return makedev(stx->stx_dev_major, stx->stx_dev_minor) != parent_dev;
}

/* Empties the directory open as fd (device dev), then the caller removes it. */
static int empty_dir(int fd, const char *path, dev_t dev, vl_error *err)
{
	cleanup_dir DIR *d = fdopendir(fd);
	struct dirent *e;

	if (!d) {
		int saved = errno;
		close(fd);
		return vl_error_errno(err, saved, "reading %s", path);
	}
	while ((errno = 0, e = readdir(d))) {
		char child[PATH_MAX];
		struct statx stx;
		int child_fd;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		if (statx(dirfd(d), e->d_name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
		          STATX_TYPE | STATX_INO, &stx) < 0)
			return vl_error_errno(err, errno, "examining %s", child);
		if (!S_ISDIR(stx.stx_mode)) {
			if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
				return vl_error_errno(err, errno, "removing %s", child);
			continue;
		}
		if (is_mount_root(&stx, dev))
			return vl_error_errno(err, EBUSY, "%s is a mount point: not removing it",
			                      child);
		child_fd = openat(dirfd(d), e->d_name,
		                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (child_fd < 0)
			return vl_error_errno(err, errno, "opening %s", child);
		if (empty_dir(child_fd, child, dev, err) < 0)
			return -1;
		if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return vl_error_errno(err, errno, "removing %s", child);
	}
	if (errno)
		return vl_error_errno(err, errno, "reading %s", path);
	return 0;
}

int vl_remove_tree(const char *path, vl_error *err)
{
	struct statx stx;
	int fd;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &stx) < 0)
		return errno == ENOENT ? 0 : vl_error_errno(err, errno, "examining %s", path);
	if (!S_ISDIR(stx.stx_mode))
		return unlink(path) < 0 && errno != ENOENT
		               ? vl_error_errno(err, errno, "removing %s", path)
		               : 0;
	if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return vl_error_errno(err, EBUSY, "%s is a mount point: not removing it", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	if (empty_dir(fd, path, makedev(stx.stx_dev_major, stx.stx_dev_minor), err) < 0)
		return -1;
	if (rmdir(path) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "removing %s", path);
	return 0;
}

static int release_path(const char *kind, const char *path, bool dry_run, bool *existed,
                        vl_error *err)
{
	struct stat st;

	if (check_path(kind, path, err) < 0)
		return -1;
	*existed = lstat(path, &st) == 0;
	if (!*existed || dry_run)
		return 0;
	if (strcmp(kind, VL_RES_DIR) == 0)
		return vl_remove_tree(path, err);
	if (unlink(path) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "removing %s", path);
	return 0;
}

static int release_netns(const char *name, bool dry_run, bool *existed, vl_error *err)
{
	if (!name[0] || strchr(name, '/') || name[0] == '.')
		return vl_error_input(err, "netns '%s' is not a name under %s", name, VL_NETNS_DIR);
	*existed = vl_netns_exists(name);
	if (!*existed || dry_run)
		return 0;
	return vl_netns_delete(name, err);
}

static int release_link(const char *name, bool dry_run, bool *existed, vl_error *err)
{
	struct vl_netlink *nl = NULL;
	int rc;

	if (vl_netlink_open(-1, &nl, err) < 0)
		return -1;
	rc = vl_netlink_link_exists(nl, name, existed, err);
	if (rc == 0 && *existed && !dry_run)
		rc = vl_netlink_delete_link(nl, name, true, err);
	vl_netlink_close(nl);
	return rc;
}

static int release_nft_table(const char *id, bool dry_run, bool *existed, vl_error *err)
{
	char **names = NULL;
	size_t n = 0;

	/* Only the tables virtlab makes: nat.h's, in family inet. */
	if (strncmp(id, "inet ", 5) != 0 || !id[5] || strchr(id + 5, ' '))
		return vl_error_input(err, "nft-table '%s' is not \"inet NAME\"", id);
	if (vl_nat_list_tables(id + 5, &names, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		*existed = *existed || strcmp(names[i], id + 5) == 0;
	vl_netlink_names_free(names, n);
	if (!*existed || dry_run)
		return 0;
	return vl_nat_delete(id + 5, err);
}

int vl_cleanup_resource(const char *kind, const char *id, bool dry_run, bool *existed,
                        vl_error *err)
{
	*existed = false;
	if (strcmp(kind, VL_RES_PROCESS) == 0)
		return release_process(id, dry_run, existed, err);
	if (strcmp(kind, VL_RES_CGROUP) == 0)
		return release_cgroup(id, dry_run, existed, err);
	if (strcmp(kind, VL_RES_MOUNT) == 0)
		return release_mount(id, dry_run, existed, err);
	if (strcmp(kind, VL_RES_DIR) == 0 || strcmp(kind, VL_RES_FILE) == 0)
		return release_path(kind, id, dry_run, existed, err);
	if (strcmp(kind, VL_RES_NETNS) == 0)
		return release_netns(id, dry_run, existed, err);
	if (strcmp(kind, VL_RES_LINK) == 0)
		return release_link(id, dry_run, existed, err);
	if (strcmp(kind, VL_RES_NFT) == 0)
		return release_nft_table(id, dry_run, existed, err);
	if (strcmp(kind, VL_RES_XEN) == 0)
		return vl_xen_domain_release(id, dry_run, existed, err);
	return vl_error_set(err, "unknown resource kind '%s' (a newer virtlab made it?)", kind);
}

/* ---- records and orphans ---- */

struct sweep {
	bool dry_run;
	vl_cleanup_report_fn report;
	void *arg;
	int rc;
	vl_error *err;  /* the first error */
	json_t *busy;   /* names of the guests another virtlab holds */
	json_t *claims; /* {"kind id": true}: resources of busy guests, kept */
};

static void emit(struct sweep *s, const char *guest, const char *kind, const char *id,
                 const vl_error *failure)
{
	struct vl_cleanup_event ev = {.guest = guest,
	                              .kind = kind,
	                              .id = id,
	                              .dry_run = s->dry_run,
	                              .error = failure ? failure->msg : NULL};

	if (failure && s->rc == 0) {
		if (s->err)
			*s->err = *failure;
		s->rc = -1;
	}
	if (s->report)
		s->report(&ev, s->arg);
}

static void release(struct sweep *s, const char *guest, const char *kind, const char *id)
{
	vl_error e = {0};
	bool existed;

	if (vl_cleanup_resource(kind, id, s->dry_run, &existed, &e) < 0)
		emit(s, guest, kind, id, &e);
	else if (existed)
		emit(s, guest, kind, id, NULL);
}

/* Resources a record lists are never orphans: not in a dry run, where the
 * record stays, nor after a failure, where it keeps them for the next try. */
static void claim(struct sweep *s, json_t *resources)
{
	size_t i;
	json_t *r;

	if (!s->claims)
		return;
	json_array_foreach(resources, i, r)
	{
		char key[PATH_MAX + 32];
		snprintf(key, sizeof(key), "%s %s", json_string_value(json_object_get(r, "kind")),
		         json_string_value(json_object_get(r, "id")));
		json_object_set_new(s->claims, key, json_true());
	}
}

/* The process that wrote the record first, if it is still running and is
 * not us: virtlab run and the study hold their guests without a lock. */
static bool owner_running(const char *owner)
{
	unsigned long long start;
	vl_error ignored = {0};
	int pid, used = 0;
	bool alive = false;

	if (!owner || sscanf(owner, "%d:%llu%n", &pid, &start, &used) != 2 || owner[used] ||
	    pid == getpid())
		return false;
	return process_alive(pid, start, &alive, &ignored) == 0 && alive;
}

static int cleanup_record(struct sweep *s, const char *name)
{
	cleanup_json json_t *doc = NULL;
	char dir[PATH_MAX];
	json_t *resources;
	int rc_before = s->rc;
	vl_error e = {0};

	if (vl_state_read(name, &doc, &e) < 0 || vl_state_dir(name, dir, sizeof(dir), &e) < 0) {
		emit(s, name, VL_CLEANUP_RECORD, name, &e);
		return -1;
	}
	resources = json_object_get(doc, "resources");
	claim(s, resources);
	if (owner_running(json_string_value(json_object_get(doc, "owner")))) {
		vl_error_set(&e, "guest %s is busy: virtlab process %s that made it is running",
		             name, json_string_value(json_object_get(doc, "owner")));
		e.errnum = EBUSY;
		if (s->busy)
			json_array_append_new(s->busy, json_string(name));
		emit(s, name, VL_CLEANUP_RECORD, dir, &e);
		return -1;
	}
	s->rc = 0;
	for (size_t i = json_array_size(resources); i-- > 0;) {
		json_t *r = json_array_get(resources, i);
		const char *kind = json_string_value(json_object_get(r, "kind"));
		const char *id = json_string_value(json_object_get(r, "id"));
		if (kind && id)
			release(s, name, kind, id);
	}
	/* A failure keeps the record, so that the next cleanup tries again. */
	if (s->rc == 0) {
		if (!s->dry_run && vl_state_remove(name, &e) < 0)
			emit(s, name, VL_CLEANUP_RECORD, dir, &e);
		else
			emit(s, name, VL_CLEANUP_RECORD, dir, NULL);
	}
	if (rc_before < 0)
		s->rc = rc_before;
	return s->rc;
}

int vl_cleanup_record(const char *name, bool dry_run, vl_cleanup_report_fn report, void *arg,
                      vl_error *err)
{
	struct sweep s = {.dry_run = dry_run, .report = report, .arg = arg, .err = err};
	return cleanup_record(&s, name) < 0 ? vl_error_wrap(err, "cleaning up guest %s", name) : 0;
}

static int lock_soon(const char *name, int *lock_fd, vl_error *err)
{
	for (double waited = 0;; waited += 0.02) {
		if (vl_state_lock(name, false, lock_fd, err) == 0)
			return 0;
		if (waited >= LOCK_WAIT_S || err->errnum != EBUSY)
			return -1;
		vl_error_clear(err);
		vl_sleep_ns(20000000, NULL);
	}
}

/* What the platforms' guests share on the host (LXC's pivot group), where
 * no guest needs it now. A dry run leaves it to the cgroup sweep's report. */
static void release_shared(struct sweep *s)
{
	size_t n;
	const struct vl_platform *const *all = vl_platform_all(&n);

	for (size_t i = 0; i < n && !s->dry_run; i++) {
		vl_error e = {0};
		if (vl_platform_release_host(all[i], &e) < 0)
			emit(s, NULL, "shared", all[i]->name, &e);
	}
}

int vl_cleanup_guest(const char *name, bool dry_run, vl_cleanup_report_fn report, void *arg,
                     vl_error *err)
{
	cleanup_json json_t *doc = NULL;
	int lock_fd, rc;

	/* Read first: locking would create the state directory of a typo. */
	if (vl_state_read(name, &doc, err) < 0 || lock_soon(name, &lock_fd, err) < 0)
		return -1;
	rc = vl_cleanup_record(name, dry_run, report, arg, err);
	vl_state_unlock(lock_fd);
	if (rc == 0) {
		struct sweep s = {.dry_run = dry_run, .report = report, .arg = arg, .err = err};
		release_shared(&s);
		rc = s.rc;
	}
	return rc;
}

static bool claimed(struct sweep *s, const char *kind, const char *id)
{
	char key[PATH_MAX + 32];

	snprintf(key, sizeof(key), "%s %s", kind, id);
	return json_object_get(s->claims, key) != NULL;
}

static bool is_busy(struct sweep *s, const char *name)
{
	size_t i;
	json_t *b;

	json_array_foreach(s->busy, i, b) if (strcmp(json_string_value(b), name) == 0) return true;
	return false;
}

/* A busy guest keeps its record and everything it claims. */
static void keep_busy(struct sweep *s, const char *name, const vl_error *why)
{
	cleanup_json json_t *doc = NULL;
	vl_error e = {0};

	emit(s, name, VL_CLEANUP_RECORD, name, why);
	json_array_append_new(s->busy, json_string(name));
	if (vl_state_read(name, &doc, &e) == 0)
		claim(s, json_object_get(doc, "resources"));
}

static void sweep_records(struct sweep *s)
{
	char **names = NULL;
	size_t n = 0;
	vl_error e = {0};

	if (vl_state_list(&names, &n, &e) < 0) {
		emit(s, NULL, VL_CLEANUP_RECORD, vl_state_root(), &e);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int lock_fd;
		if (lock_soon(names[i], &lock_fd, &e) < 0) {
			keep_busy(s, names[i], &e);
			continue;
		}
		cleanup_record(s, names[i]);
		vl_state_unlock(lock_fd);
	}
	vl_state_names_free(names, n);
}

/* Entries of <root>/guests that have no record: a state directory whose
 * record was never written, or the files of a guest whose record is gone.
 * Each is checked under the guest's lock, so a guest being made is left be. */
static void sweep_unrecorded(struct sweep *s, const char *root, bool data)
{
	char dir[PATH_MAX];
	cleanup_dir DIR *d = NULL;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/guests", root);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		cleanup_json json_t *doc = NULL;
		char path[PATH_MAX];
		vl_error err = {0};
		int lock_fd;

		if (e->d_name[0] == '.' || is_busy(s, e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (vl_state_read(e->d_name, &doc, &err) == 0 || err.errnum != ENOENT)
			continue;
		if (s->dry_run) {
			emit(s, NULL, data ? VL_RES_DIR : VL_CLEANUP_RECORD, path, NULL);
			continue;
		}
		if (vl_state_lock(e->d_name, false, &lock_fd, &err) < 0)
			continue;
		if (vl_state_read(e->d_name, &doc, &err) < 0 && err.errnum == ENOENT) {
			vl_error_clear(&err);
			if ((data && vl_remove_tree(path, &err) < 0) ||
			    vl_state_remove(e->d_name, &err) < 0)
				emit(s, NULL, data ? VL_RES_DIR : VL_CLEANUP_RECORD, path, &err);
			else
				emit(s, NULL, data ? VL_RES_DIR : VL_CLEANUP_RECORD, path, NULL);
		}
		vl_state_unlock(lock_fd);
	}
}

static void sweep_cgroups(struct sweep *s)
{
	struct vl_cgroup_host host;
	cleanup_json json_t *seen = json_object();
	size_t children = 0;
	vl_error e = {0};
	const char *name;
	json_t *v;

	if (vl_cgroup_detect(&host, &e) < 0) {
		emit(s, NULL, VL_RES_CGROUP, CGROUP_PREFIX, &e);
		return;
	}
	for (size_t i = 0; i < host.n_hierarchies; i++) {
		char dir[PATH_MAX];
		cleanup_dir DIR *d = NULL;
		struct dirent *ent;

		snprintf(dir, sizeof(dir), "%s/" CGROUP_PREFIX, host.hierarchies[i].path);
		d = opendir(dir);
		while (d && (ent = readdir(d))) {
			char cg[NAME_MAX + sizeof(CGROUP_PREFIX) + 1];
			if (ent->d_type != DT_DIR || ent->d_name[0] == '.')
				continue;
			snprintf(cg, sizeof(cg), CGROUP_PREFIX "/%s", ent->d_name);
			children++;
			if (!claimed(s, VL_RES_CGROUP, cg) && !is_busy(s, ent->d_name))
				json_object_set_new(seen, cg, json_true());
		}
	}
	/* A group marked by a guest of another state root is that guest's while
	 * its record lists it or its lock is held, whatever it holds: left be
	 * without a word. Without a mark (made by an older virtlab, or by another
	 * platform), a group with processes is most likely a live guest of
	 * another $VIRTLAB_STATE (a test, another user), and a new one may be
	 * one that another run is about to fill: both are reported, not touched. */
	json_object_foreach(seen, name, v)
	{
		char owner[PATH_MAX];
		vl_error busy = {0};
		bool marked = cgroup_owner(&host, name, owner, sizeof(owner));
		double age = cgroup_age(&host, name);

		if (vl_cleanup_cgroup_claimed_elsewhere(&host, name, owner, sizeof(owner)))
			continue;
		if (cgroup_in_use(&host, name))
			vl_error_set(&busy,
			             "it has processes or groups and no record under %s (a guest "
			             "of another "
			             "VIRTLAB_STATE?); virtlab cleanup with that VIRTLAB_STATE "
			             "removes it",
			             vl_state_root());
		else if (!marked && age < UNMARKED_GRACE_S)
			vl_error_set(&busy,
			             "it has no owner mark and was made %.0f s ago: another run "
			             "may be setting it up (a later cleanup removes it)",
			             age);
		if (busy.msg[0])
			emit(s, NULL, VL_RES_CGROUP, name, &busy);
		else
			release(s, NULL, VL_RES_CGROUP, name);
	}
	/* Removing the last child removes the parent too; an empty parent left
	 * on its own goes here (LXC leaves its parents in every hierarchy). */
	if (children == 0 && vl_cgroup_exists(&host, CGROUP_PREFIX))
		release(s, NULL, VL_RES_CGROUP, CGROUP_PREFIX);
}

struct mount_scan {
	const char *root;
	json_t *found;
};

static int collect_mount(const char *mnt, void *arg)
{
	struct mount_scan *m = arg;
	size_t len = strlen(m->root);

	if (strncmp(mnt, m->root, len) == 0 && (mnt[len] == '/' || mnt[len] == '\0'))
		json_array_append_new(m->found, json_string(mnt));
	return 0;
}

static bool under_busy_guest(struct sweep *s, const char *mnt)
{
	size_t i;
	json_t *b;

	json_array_foreach(s->busy, i, b)
	{
		char prefix[PATH_MAX];
		int len = snprintf(prefix, sizeof(prefix), "%s/guests/%s/", vl_data_root(),
		                   json_string_value(b));
		if (strncmp(mnt, prefix, (size_t)len) == 0)
			return true;
	}
	return false;
}

static void sweep_mounts(struct sweep *s)
{
	cleanup_json json_t *found = json_array();
	struct mount_scan m = {.root = vl_data_root(), .found = found};
	vl_error e = {0};

	if (for_each_mount(collect_mount, &m, &e) < 0) {
		emit(s, NULL, VL_RES_MOUNT, m.root, &e);
		return;
	}
	/* Newest first, so that a mount inside another goes before it. */
	for (size_t i = json_array_size(found); i-- > 0;) {
		const char *mnt = json_string_value(json_array_get(found, i));
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup = dup || strcmp(mnt, json_string_value(json_array_get(found, j))) == 0;
		if (!dup && !claimed(s, VL_RES_MOUNT, mnt) && !under_busy_guest(s, mnt))
			release(s, NULL, VL_RES_MOUNT, mnt);
	}
}

int vl_cleanup_all(bool dry_run, vl_cleanup_report_fn report, void *arg, vl_error *err)
{
	cleanup_json json_t *busy = json_array();
	cleanup_json json_t *claims = json_object();
	struct sweep s = {.dry_run = dry_run,
	                  .report = report,
	                  .arg = arg,
	                  .err = err,
	                  .busy = busy,
	                  .claims = claims};

	if (!busy || !claims)
		return vl_error_errno(err, ENOMEM, "cleaning up");
	sweep_records(&s);
	sweep_unrecorded(&s, vl_state_root(), false);
	release_shared(&s);
	sweep_cgroups(&s);
	sweep_mounts(&s);
	/* After the mounts, so that no mount point stops a removal. */
	sweep_unrecorded(&s, vl_data_root(), true);
	return s.rc;
}
