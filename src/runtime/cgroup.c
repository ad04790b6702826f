/* Detection of the host's cgroup layout, the group's lifetime (create, attach,
 * kill, remove) in every hierarchy, and dispatch of the knobs to the backend. */
#include "runtime/cgroup_backend.h"
#include "core/cleanup.h"
#include "core/file.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Dying processes leave their group within milliseconds; a group still busy
 * after this long holds something that will not die (D state, a mount). */
#define DRAIN_TIMEOUT_NS 5000000000LL
#define DRAIN_POLL_NS    5000000L
#define CPU_PERIOD_US    100000

static const char *const v1_names[VL_CGROUP_CONTROLLER_COUNT] = {
        [VL_CGROUP_CPU] = "cpu",         [VL_CGROUP_CPUACCT] = "cpuacct",
        [VL_CGROUP_CPUSET] = "cpuset",   [VL_CGROUP_MEMORY] = "memory",
        [VL_CGROUP_IO] = "blkio",        [VL_CGROUP_PIDS] = "pids",
        [VL_CGROUP_DEVICES] = "devices", [VL_CGROUP_FREEZER] = "freezer",
        [VL_CGROUP_NET_CLS] = "net_cls", [VL_CGROUP_NET_PRIO] = "net_prio",
};

/* v2 spells io differently and has no cpuacct, devices, freezer, net_cls or
 * net_prio controllers: those are core files, BPF programs or absent. */
static const char *const v2_names[VL_CGROUP_CONTROLLER_COUNT] = {
        [VL_CGROUP_CPU] = "cpu", [VL_CGROUP_CPUSET] = "cpuset", [VL_CGROUP_MEMORY] = "memory",
        [VL_CGROUP_IO] = "io",   [VL_CGROUP_PIDS] = "pids",
};

const char *vl_cgroup_controller_name(enum vl_cgroup_version version, enum vl_cgroup_controller c)
{
	const char *name = version == VL_CGROUP_V2 ? v2_names[c] : v1_names[c];
	return name ? name : v1_names[c];
}

static const struct vl_cgroup_ops *ops_of(const struct vl_cgroup *cg)
{
	return cg->host.version == VL_CGROUP_V2 ? &vl_cgroup_v2_ops : &vl_cgroup_v1_ops;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pause_poll(void)
{
	struct timespec ts = {0, DRAIN_POLL_NS};
	nanosleep(&ts, NULL);
}

/* ---- detection ---- */

static int controller_from_name(const char *names[VL_CGROUP_CONTROLLER_COUNT], const char *name)
{
	for (int c = 0; c < VL_CGROUP_CONTROLLER_COUNT; c++)
		if (names[c] && strcmp(names[c], name) == 0)
			return c;
	return -1;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *out = s;
	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

struct mount_entry {
	char dev[32];
	char mount_point[PATH_MAX];
	char fstype[32];
	char options[1024];
};

/* Fields: id parent maj:min root mount-point opts [optional...] - fstype source super-opts */
static bool parse_mountinfo_line(char *line, struct mount_entry *m)
{
	char *save = NULL, *tok;
	int field = 0;
	bool after_dash = false;
	int dash_field = 0;

	memset(m, 0, sizeof(*m));
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), field++) {
		if (!after_dash) {
			if (field == 2)
				snprintf(m->dev, sizeof(m->dev), "%s", tok);
			else if (field == 4)
				snprintf(m->mount_point, sizeof(m->mount_point), "%s", tok);
			else if (field >= 6 && strcmp(tok, "-") == 0) {
				after_dash = true;
				dash_field = field;
			}
			continue;
		}
		if (field == dash_field + 1)
			snprintf(m->fstype, sizeof(m->fstype), "%s", tok);
		else if (field == dash_field + 3)
			snprintf(m->options, sizeof(m->options), "%s", tok);
	}
	if (!after_dash || !m->mount_point[0])
		return false;
	unescape_octal(m->mount_point);
	return true;
}

static int add_hierarchy(struct vl_cgroup_host *host, const char *root, const char *mount_point,
                         unsigned controllers, bool unified, vl_error *err)
{
	struct vl_cgroup_hierarchy *h;
	bool real_root = strcmp(root, "/") == 0;

	if (host->n_hierarchies == VL_CGROUP_MAX_HIERARCHIES)
		return vl_error_set(err, "more than %d cgroup hierarchies mounted",
		                    VL_CGROUP_MAX_HIERARCHIES);
	h = &host->hierarchies[host->n_hierarchies];
	if (snprintf(h->path, sizeof(h->path), "%s%s", real_root ? "" : root, mount_point) >=
	    (int)sizeof(h->path))
		return vl_error_input(err, "cgroup mount point too long: %s%s", root, mount_point);
	h->controllers = controllers;
	h->unified = unified;
	for (int c = 0; c < VL_CGROUP_CONTROLLER_COUNT; c++)
		if (controllers & (1u << c))
			host->controller_hierarchy[c] = (int)host->n_hierarchies;
	host->n_hierarchies++;
	return 0;
}

/* A v1 mount's super options list its controllers ("rw,cpu,cpuacct") and,
 * for a named hierarchy, name=...; *tracked is true for those worth joining. */
static unsigned v1_controllers(const char *options, bool *tracked)
{
	char buf[1024];
	char *save = NULL;
	unsigned mask = 0;

	*tracked = false;
	snprintf(buf, sizeof(buf), "%s", options);
	for (char *opt = strtok_r(buf, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		int c = controller_from_name((const char **)v1_names, opt);
		if (c >= 0)
			mask |= 1u << c;
		if (strncmp(opt, "name=", 5) == 0)
			*tracked = true;
	}
	if (mask)
		*tracked = true;
	return mask;
}

static unsigned v2_controllers(const char *dir)
{
	char line[1024];
	char *save = NULL;
	unsigned mask = 0;
	vl_error ignored = {0};

	/* An unreadable list is an empty one: the mount offers no controller. */
	if (vl_cgroup_read(dir, "cgroup.controllers", line, sizeof(line), &ignored) < 0)
		return 0;
	for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		int c = controller_from_name((const char **)v2_names, tok);
		if (c >= 0)
			mask |= 1u << c;
	}
	return mask;
}

int vl_cgroup_detect_at(const char *mountinfo_path, const char *root, struct vl_cgroup_host *host,
                        vl_error *err)
{
	cleanup_file FILE *f = fopen(mountinfo_path, "re");
	char line[4096];
	char seen_dev[VL_CGROUP_MAX_HIERARCHIES][32];
	size_t n_seen = 0;
	char unified_mount[PATH_MAX] = "";
	unsigned v1_mask = 0;

	if (!f)
		return vl_error_errno(err, errno, "opening %s", mountinfo_path);
	memset(host, 0, sizeof(*host));
	for (int c = 0; c < VL_CGROUP_CONTROLLER_COUNT; c++)
		host->controller_hierarchy[c] = -1;

	while (fgets(line, sizeof(line), f)) {
		struct mount_entry m;
		bool tracked, dup = false;
		unsigned mask;

		if (!parse_mountinfo_line(line, &m))
			continue;
		if (strcmp(m.fstype, "cgroup2") == 0) {
			if (!unified_mount[0])
				snprintf(unified_mount, sizeof(unified_mount), "%s", m.mount_point);
			continue;
		}
		if (strcmp(m.fstype, "cgroup") != 0)
			continue;
		/* The same hierarchy bind-mounted twice is one hierarchy. */
		for (size_t i = 0; i < n_seen; i++)
			dup |= strcmp(seen_dev[i], m.dev) == 0;
		mask = v1_controllers(m.options, &tracked);
		if (dup || !tracked || n_seen == VL_CGROUP_MAX_HIERARCHIES)
			continue;
		snprintf(seen_dev[n_seen++], sizeof(seen_dev[0]), "%s", m.dev);
		if (add_hierarchy(host, root, m.mount_point, mask, false, err) < 0)
			return -1;
		v1_mask |= mask;
	}
	if (ferror(f))
		return vl_error_errno(err, errno, "reading %s", mountinfo_path);

	if (v1_mask) {
		host->version = VL_CGROUP_V1;
		/* Hybrid: controllers stay with v1; the cgroup2 mount only tracks. */
		if (unified_mount[0] && add_hierarchy(host, root, unified_mount, 0, true, err) < 0)
			return -1;
		return 0;
	}
	if (!unified_mount[0])
		return vl_error_set(err,
		                    "no cgroup controllers found in %s: mount cgroup2 on "
		                    "/sys/fs/cgroup (or the v1 controllers)",
		                    mountinfo_path);
	/* A pure v2 host: any named v1 hierarchy seen above is dropped. */
	memset(host, 0, sizeof(*host));
	for (int c = 0; c < VL_CGROUP_CONTROLLER_COUNT; c++)
		host->controller_hierarchy[c] = -1;
	host->version = VL_CGROUP_V2;
	if (add_hierarchy(host, root, unified_mount, 0, true, err) < 0)
		return -1;
	{
		struct vl_cgroup_hierarchy *h = &host->hierarchies[0];
		/* The freezer and device control are core parts of cgroup2. */
		h->controllers = v2_controllers(h->path) | (1u << VL_CGROUP_FREEZER) |
		                 (1u << VL_CGROUP_DEVICES);
		for (int c = 0; c < VL_CGROUP_CONTROLLER_COUNT; c++)
			if (h->controllers & (1u << c))
				host->controller_hierarchy[c] = 0;
	}
	return 0;
}

int vl_cgroup_detect(struct vl_cgroup_host *host, vl_error *err)
{
	return vl_cgroup_detect_at("/proc/self/mountinfo", "/", host, err);
}

bool vl_cgroup_exists(const struct vl_cgroup_host *host, const char *name)
{
	char path[2 * PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < host->n_hierarchies; i++) {
		snprintf(path, sizeof(path), "%s/%s", host->hierarchies[i].path, name);
		if (stat(path, &st) == 0)
			return true;
	}
	return false;
}

/* ---- file helpers ---- */

static int join(char *buf, size_t size, const char *dir, const char *file, vl_error *err)
{
	if (snprintf(buf, size, "%s/%s", dir, file) >= (int)size)
		return vl_error_input(err, "cgroup path too long: %s/%s", dir, file);
	return 0;
}

int vl_cgroup_write(const char *dir, const char *file, const char *value, vl_error *err)
{
	char path[PATH_MAX];

	if (join(path, sizeof(path), dir, file, err) < 0)
		return -1;
	if (vl_write_string(path, value, err) < 0)
		return vl_error_errno(err, err->errnum, "writing '%s' to %s", value, path);
	return 0;
}

int vl_cgroup_writef(const char *dir, const char *file, vl_error *err, const char *fmt, ...)
{
	char value[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	return vl_cgroup_write(dir, file, value, err);
}

int vl_cgroup_read(const char *dir, const char *file, char *buf, size_t size, vl_error *err)
{
	char path[PATH_MAX];

	if (join(path, sizeof(path), dir, file, err) < 0)
		return -1;
	return vl_read_line(path, buf, size, err);
}

int vl_cgroup_read_u64(const char *dir, const char *file, uint64_t *out, vl_error *err)
{
	char line[64];
	char *end;

	if (vl_cgroup_read(dir, file, line, sizeof(line), err) < 0)
		return -1;
	errno = 0;
	*out = strtoull(line, &end, 10);
	if (errno || end == line)
		return vl_error_set(err, "%s/%s: expected a number, read '%s'", dir, file, line);
	return 0;
}

int vl_cgroup_read_key(const char *dir, const char *file, const char *key, uint64_t *out,
                       vl_error *err)
{
	char path[PATH_MAX];
	cleanup_free char *text = NULL;
	size_t key_len = strlen(key);

	if (join(path, sizeof(path), dir, file, err) < 0 ||
	    vl_read_file(path, &text, NULL, err) < 0)
		return -1;
	for (char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, key_len) == 0 && line[key_len] == ' ') {
			*out = strtoull(line + key_len + 1, NULL, 10);
			return 0;
		}
	}
	return vl_error_set(err, "%s has no '%s' line", path, key);
}

bool vl_cgroup_has_file(const char *dir, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

void vl_cgroup_dir(const struct vl_cgroup *cg, size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", cg->host.hierarchies[i].path, cg->name);
}

bool vl_cgroup_list_has(const char *list, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
			return true;
	return false;
}

int vl_cgroup_controller_dir(const struct vl_cgroup *cg, enum vl_cgroup_controller c, char *buf,
                             size_t size, vl_error *err)
{
	const char *name = vl_cgroup_controller_name(cg->host.version, c);
	int i = cg->host.controller_hierarchy[c];
	char list[1024];

	if (i < 0)
		return vl_error_set(err, "cgroup v%d controller '%s' is not available on this host",
		                    (int)cg->host.version, name);
	vl_cgroup_dir(cg, (size_t)i, buf, size);
	if (cg->host.version == VL_CGROUP_V1 || !v2_names[c])
		return 0;
	/* On v2 a controller reaches a group only through its parents' subtree_control. */
	if (vl_cgroup_read(buf, "cgroup.controllers", list, sizeof(list), err) < 0)
		return -1;
	if (!vl_cgroup_list_has(list, name))
		return vl_error_set(err,
		                    "cgroup v2 controller '%s' is not enabled for %s (its "
		                    "cgroup.controllers: '%s')",
		                    name, buf, list);
	return 0;
}

/* ---- lifetime ---- */

static int check_name(const char *name, vl_error *err)
{
	const char *p = name;

	if (!*name || strlen(name) >= PATH_MAX / 2)
		goto bad;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
			goto bad;
	if (name[0] == '/' || p[-1] == '/' || strstr(name, "//") || strstr(name, "/.") ||
	    name[0] == '.')
		goto bad;
	return 0;
bad:
	return vl_error_input(err,
	                      "cgroup name '%s' is not valid: use a relative path of letters, "
	                      "digits, '.', '_' and '-' components such as virtlab/web1",
	                      name);
}

static int new_handle(const struct vl_cgroup_host *host, const char *name, struct vl_cgroup **out,
                      vl_error *err)
{
	struct vl_cgroup *cg;

	if (check_name(name, err) < 0)
		return -1;
	if (host->n_hierarchies == 0)
		return vl_error_input(err, "no cgroup hierarchy detected: call vl_cgroup_detect()");
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return vl_error_errno(err, ENOMEM, "allocating cgroup %s", name);
	cg->host = *host;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	*out = cg;
	return 0;
}

/* mkdir of each level of the name in hierarchy i; *lost_parent tells that a
 * concurrent remove took a parent away between two mkdirs. */
static int make_levels(struct vl_cgroup *cg, size_t i, bool *lost_parent, vl_error *err)
{
	const struct vl_cgroup_hierarchy *h = &cg->host.hierarchies[i];
	char parent[PATH_MAX], dir[PATH_MAX];
	const char *p = cg->name;

	*lost_parent = false;
	snprintf(parent, sizeof(parent), "%s", h->path);
	while (*p) {
		size_t len = strcspn(p, "/");
		int n = snprintf(dir, sizeof(dir), "%s/%.*s", parent, (int)len, p);
		if (n >= (int)sizeof(dir))
			return vl_error_input(err, "cgroup path too long: %s", dir);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			*lost_parent = errno == ENOENT;
			return vl_error_errno(err, errno, "creating cgroup %s", dir);
		}
		if (ops_of(cg)->init_level(h, parent, dir, err) < 0)
			return vl_error_wrap(err, "preparing cgroup %s", dir);
		snprintf(parent, sizeof(parent), "%s", dir);
		p += len;
		p += *p == '/';
	}
	return 0;
}

int vl_cgroup_create(const struct vl_cgroup_host *host, const char *name, struct vl_cgroup **out,
                     vl_error *err)
{
	struct vl_cgroup *cg = NULL;

	if (new_handle(host, name, &cg, err) < 0)
		return -1;
	for (size_t i = 0; i < cg->host.n_hierarchies; i++) {
		bool lost_parent = true;
		int rc = -1;
		for (int attempt = 0; rc < 0 && lost_parent && attempt < 5; attempt++)
			rc = make_levels(cg, i, &lost_parent, err);
		if (rc < 0) {
			vl_cgroup_free(cg);
			return -1;
		}
	}
	*out = cg;
	return 0;
}

int vl_cgroup_open(const struct vl_cgroup_host *host, const char *name, struct vl_cgroup **out,
                   vl_error *err)
{
	struct vl_cgroup *cg = NULL;
	struct stat st;

	if (new_handle(host, name, &cg, err) < 0)
		return -1;
	for (size_t i = 0; i < cg->host.n_hierarchies; i++) {
		char dir[PATH_MAX];
		vl_cgroup_dir(cg, i, dir, sizeof(dir));
		if (stat(dir, &st) < 0) {
			vl_error_errno(err, errno, "opening cgroup %s", dir);
			vl_cgroup_free(cg);
			return -1;
		}
	}
	*out = cg;
	return 0;
}

void vl_cgroup_free(struct vl_cgroup *cg)
{
	free(cg);
}

const char *vl_cgroup_name(const struct vl_cgroup *cg)
{
	return cg->name;
}

enum vl_cgroup_version vl_cgroup_version(const struct vl_cgroup *cg)
{
	return cg->host.version;
}

const char *vl_cgroup_path(const struct vl_cgroup *cg, enum vl_cgroup_controller c, char *buf,
                           size_t size)
{
	int i = cg->host.controller_hierarchy[c];
	if (i < 0)
		return NULL;
	vl_cgroup_dir(cg, (size_t)i, buf, size);
	return buf;
}

int vl_cgroup_attach_pid(struct vl_cgroup *cg, pid_t pid, vl_error *err)
{
	for (size_t i = 0; i < cg->host.n_hierarchies; i++) {
		char dir[PATH_MAX];
		vl_cgroup_dir(cg, i, dir, sizeof(dir));
		if (vl_cgroup_writef(dir, "cgroup.procs", err, "%d", (int)pid) < 0)
			return vl_error_wrap(err, "moving pid %d into cgroup %s", (int)pid,
			                     cg->name);
	}
	return 0;
}

/* Calls fn for every pid listed in the group in any hierarchy; *count is how
 * many. Where the group is gone (its owner, LXC's monitor for one, removed it
 * meanwhile) it has no members. */
static int for_each_pid(struct vl_cgroup *cg, void (*fn)(pid_t), size_t *count, vl_error *err)
{
	*count = 0;
	for (size_t i = 0; i < cg->host.n_hierarchies; i++) {
		char dir[PATH_MAX], path[PATH_MAX];
		cleanup_free char *text = NULL;
		vl_cgroup_dir(cg, i, dir, sizeof(dir));
		if (join(path, sizeof(path), dir, "cgroup.procs", err) < 0)
			return -1;
		if (vl_read_file(path, &text, NULL, err) < 0) {
			if (err->errnum != ENOENT)
				return -1;
			vl_error_clear(err);
			continue;
		}
		for (char *p = text, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (fn)
				fn((pid_t)pid);
			(*count)++;
		}
	}
	return 0;
}

int vl_cgroup_is_empty(struct vl_cgroup *cg, bool *empty, vl_error *err)
{
	size_t count;

	if (for_each_pid(cg, NULL, &count, err) < 0)
		return -1;
	*empty = count == 0;
	return 0;
}

static void sigkill(pid_t pid)
{
	/* ESRCH: it died between the listing and now. */
	kill(pid, SIGKILL);
}

/* Freezes or thaws cg; where its freezer group is gone (removed by its owner
 * meanwhile) there is nothing to freeze. */
static int freeze_present(struct vl_cgroup *cg, bool frozen, vl_error *err)
{
	if (ops_of(cg)->freeze(cg, frozen, err) == 0)
		return 0;
	if (err->errnum != ENOENT)
		return -1;
	vl_error_clear(err);
	return 0;
}

int vl_cgroup_kill_each(struct vl_cgroup *cg, vl_error *err)
{
	int64_t deadline = now_ns() + DRAIN_TIMEOUT_NS;

	for (;;) {
		vl_error thaw_err = {0};
		size_t count = 0;
		int rc;

		/* Frozen, the group cannot fork new members while it is listed. */
		if (freeze_present(cg, true, err) < 0)
			return -1;
		rc = for_each_pid(cg, sigkill, &count, err);
		/* Thawing lets the killed die; the listing's error, if any, is the one reported. */
		if (freeze_present(cg, false, rc < 0 ? &thaw_err : err) < 0 || rc < 0)
			return -1;
		if (count == 0)
			return 0;
		if (now_ns() > deadline)
			return vl_error_set(err, "cgroup %s still has %zu processes after SIGKILL",
			                    cg->name, count);
		pause_poll();
	}
}

int vl_cgroup_kill(struct vl_cgroup *cg, vl_error *err)
{
	int64_t deadline = now_ns() + DRAIN_TIMEOUT_NS;
	bool empty = false;

	/* A group that vanishes while it is killed (v2's cgroup.kill) was being
	 * removed by its owner: what is left of it is checked below. */
	if (ops_of(cg)->kill(cg, err) < 0) {
		if (err->errnum != ENOENT)
			return vl_error_wrap(err, "killing cgroup %s", cg->name);
		vl_error_clear(err);
	}
	for (;;) {
		if (vl_cgroup_is_empty(cg, &empty, err) < 0)
			return vl_error_wrap(err, "killing cgroup %s", cg->name);
		if (empty)
			return 0;
		if (now_ns() > deadline)
			return vl_error_set(err, "cgroup %s did not empty after SIGKILL", cg->name);
		pause_poll();
	}
}

static int remove_dir(const char *dir, vl_error *err)
{
	int64_t deadline = now_ns() + DRAIN_TIMEOUT_NS;

	while (rmdir(dir) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || now_ns() > deadline)
			return vl_error_errno(err, errno, "removing cgroup %s%s", dir,
			                      errno == EBUSY ? " (processes left: kill first)"
			                                     : "");
		pause_poll();
	}
	return 0;
}

int vl_cgroup_remove(struct vl_cgroup *cg, vl_error *err)
{
	int rc = 0;

	/* Every hierarchy is tried even after a failure so that as little as possible is left. */
	for (size_t i = 0; i < cg->host.n_hierarchies; i++) {
		char dir[PATH_MAX];
		size_t root_len = strlen(cg->host.hierarchies[i].path);
		vl_error local = {0};

		vl_cgroup_dir(cg, i, dir, sizeof(dir));
		if (remove_dir(dir, rc < 0 ? &local : err) < 0) {
			rc = -1;
			continue;
		}
		/* Parents go too once empty; another guest's group keeps them. */
		for (char *slash = strrchr(dir, '/'); slash && (size_t)(slash - dir) > root_len;
		     slash = strrchr(dir, '/')) {
			*slash = '\0';
			if (rmdir(dir) < 0)
				break;
		}
	}
	return rc;
}

/* ---- knobs: validation, conversion to the v2 scales, dispatch ---- */

int vl_cgroup_set_cpu_weight(struct vl_cgroup *cg, unsigned weight, vl_error *err)
{
	if (weight < 1 || weight > 10000)
		return vl_error_input(err, "cpu weight %u out of range: use 1..10000 (default 100)",
		                      weight);
	if (ops_of(cg)->set_cpu_weight(cg, weight, err) < 0)
		return vl_error_wrap(err, "setting cpu weight %u on %s", weight, cg->name);
	return 0;
}

int vl_cgroup_set_cpu_max(struct vl_cgroup *cg, double percent, vl_error *err)
{
	int64_t quota = VL_CGROUP_NO_LIMIT;

	if (!(percent >= 0) || percent > 100000)
		return vl_error_input(
		        err, "cpu max %g%% out of range: use 1..100000 (0 = no limit)", percent);
	if (percent > 0) {
		quota = llround(percent * CPU_PERIOD_US / 100);
		/* The kernel refuses quotas under 1 ms. */
		if (quota < 1000)
			return vl_error_input(err,
			                      "cpu max %g%% too small: the minimum is 1%% of a CPU",
			                      percent);
	}
	if (ops_of(cg)->set_cpu_max(cg, quota, CPU_PERIOD_US, err) < 0)
		return vl_error_wrap(err, "setting cpu max %g%% on %s", percent, cg->name);
	return 0;
}

static int check_list(const char *what, const char *list, vl_error *err)
{
	if (list && strspn(list, "0123456789,-") != strlen(list))
		return vl_error_input(err, "%s '%s' is not a list like 0-3,6", what, list);
	return 0;
}

int vl_cgroup_set_cpuset(struct vl_cgroup *cg, const char *cpus, const char *mems, vl_error *err)
{
	if (check_list("cpuset", cpus, err) < 0 || check_list("mems", mems, err) < 0)
		return -1;
	if (ops_of(cg)->set_cpuset(cg, cpus && *cpus ? cpus : NULL, mems && *mems ? mems : NULL,
	                           err) < 0)
		return vl_error_wrap(err, "setting cpuset on %s", cg->name);
	return 0;
}

static int check_limit(const char *what, int64_t value, vl_error *err)
{
	if (value < VL_CGROUP_UNCHANGED)
		return vl_error_input(err, "%s %" PRId64 " is negative", what, value);
	return 0;
}

int vl_cgroup_set_memory(struct vl_cgroup *cg, const struct vl_cgroup_memory *mem, vl_error *err)
{
	if (check_limit("memory max", mem->max, err) < 0 ||
	    check_limit("memory high", mem->high, err) < 0 ||
	    check_limit("memory swap", mem->swap, err) < 0)
		return -1;
	if (ops_of(cg)->set_memory(cg, mem, err) < 0)
		return vl_error_wrap(err, "setting memory limits on %s", cg->name);
	return 0;
}

int vl_cgroup_set_io_bps(struct vl_cgroup *cg, const char *device, int64_t read_bps,
                         int64_t write_bps, vl_error *err)
{
	unsigned major, minor;
	int used = 0;

	if (!device || sscanf(device, "%u:%u%n", &major, &minor, &used) != 2 ||
	    device[used] != '\0')
		return vl_error_input(err, "io device '%s' is not MAJ:MIN (see lsblk), e.g. 8:0",
		                      device ? device : "");
	if (check_limit("io read rate", read_bps, err) < 0 ||
	    check_limit("io write rate", write_bps, err) < 0)
		return -1;
	if (ops_of(cg)->set_io_bps(cg, major, minor, read_bps, write_bps, err) < 0)
		return vl_error_wrap(err, "setting io rates for %s on %s", device, cg->name);
	return 0;
}

int vl_cgroup_set_io_weight(struct vl_cgroup *cg, unsigned weight, vl_error *err)
{
	if (weight < 1 || weight > 10000)
		return vl_error_input(err, "io weight %u out of range: use 1..10000 (default 100)",
		                      weight);
	if (ops_of(cg)->set_io_weight(cg, weight, err) < 0)
		return vl_error_wrap(err, "setting io weight %u on %s", weight, cg->name);
	return 0;
}

int vl_cgroup_set_pids_max(struct vl_cgroup *cg, int64_t max, vl_error *err)
{
	char dir[PATH_MAX];
	int rc;

	if (max < VL_CGROUP_NO_LIMIT || max == 0)
		return vl_error_input(err, "pids max %" PRId64 " out of range: use 1 or more", max);
	/* pids.max is spelled the same on both versions. */
	rc = vl_cgroup_controller_dir(cg, VL_CGROUP_PIDS, dir, sizeof(dir), err);
	if (rc == 0 && max == VL_CGROUP_NO_LIMIT)
		rc = vl_cgroup_write(dir, "pids.max", "max", err);
	else if (rc == 0)
		rc = vl_cgroup_writef(dir, "pids.max", err, "%" PRId64, max);
	if (rc < 0)
		return vl_error_wrap(err, "setting pids max on %s", cg->name);
	return 0;
}

int vl_cgroup_set_net_classid(struct vl_cgroup *cg, uint32_t classid, vl_error *err)
{
	if (ops_of(cg)->set_net_classid(cg, classid, err) < 0)
		return vl_error_wrap(err, "setting net class id 0x%" PRIx32 " on %s", classid,
		                     cg->name);
	return 0;
}

int vl_cgroup_set_device_allowlist(struct vl_cgroup *cg, const struct vl_cgroup_device_rule *rules,
                                   size_t n_rules, vl_error *err)
{
	for (size_t i = 0; i < n_rules; i++) {
		const struct vl_cgroup_device_rule *r = &rules[i];
		bool wildcard = r->major < 0 && r->minor < 0;
		if (!strchr("abc", r->type) || !r->type || !r->access[0] ||
		    strspn(r->access, "rwm") != strlen(r->access) || r->major < -1 ||
		    r->minor < -1 || r->major > INT32_MAX || r->minor > INT32_MAX)
			return vl_error_input(err,
			                      "device rule %zu is not valid: type a, b or c, "
			                      "major and minor >= 0 or -1 for any, access of rwm",
			                      i);
		if (r->type == 'a' && (!wildcard || strcmp(r->access, "rwm") != 0))
			return vl_error_input(err,
			                      "device rule %zu: type 'a' allows everything; "
			                      "use 'b' or 'c' with major/minor -1 for less",
			                      i);
	}
	if (ops_of(cg)->set_device_allowlist(cg, rules, n_rules, err) < 0)
		return vl_error_wrap(err, "setting the device allow-list of %s", cg->name);
	return 0;
}

int vl_cgroup_read_stats(struct vl_cgroup *cg, struct vl_cgroup_stats *out, vl_error *err)
{
	memset(out, 0, sizeof(*out));
	if (ops_of(cg)->read_stats(cg, out, err) < 0)
		return vl_error_wrap(err, "reading the accounting of %s", cg->name);
	return 0;
}
