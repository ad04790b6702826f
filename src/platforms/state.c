/* Guest records under <state>/guests/<name>/. guest.json is the one source of
 * truth between virtlab processes: tracking a resource rewrites it at once, so
 * that a process killed a moment later still leaves a complete list behind. */
#include "platforms/state.h"
#include "core/cleanup.h"
#include "core/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_STATE_ROOT "/run/virtlab"
#define DEFAULT_DATA_ROOT  "/var/lib/virtlab"
#define RECORD_FILE        "guest.json"
#define LOCK_FILE          "lock"

static const char *root_from_env(const char *var, const char *fallback)
{
	const char *v = getenv(var);
	return v && v[0] ? v : fallback;
}

const char *vl_state_root(void)
{
	return root_from_env("VIRTLAB_STATE", DEFAULT_STATE_ROOT);
}

const char *vl_data_root(void)
{
	return root_from_env("VIRTLAB_DATA", DEFAULT_DATA_ROOT);
}

/* The name becomes a path component; vl_guest_new checks the full rules. */
static int check_name(const char *name, vl_error *err)
{
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return vl_error_input(err, "guest name '%s' is not a valid file name", name);
	return 0;
}

int vl_state_dir(const char *name, char *buf, size_t size, vl_error *err)
{
	int len;

	if (check_name(name, err) < 0)
		return -1;
	len = snprintf(buf, size, "%s/guests/%s", vl_state_root(), name);
	if (len < 0 || (size_t)len >= size)
		return vl_error_input(err, "VIRTLAB_STATE '%s' is too long", vl_state_root());
	return 0;
}

static int state_file(const char *name, const char *file, char *buf, size_t size, vl_error *err)
{
	char dir[PATH_MAX];
	int len;

	if (vl_state_dir(name, dir, sizeof(dir), err) < 0)
		return -1;
	len = snprintf(buf, size, "%s/%s", dir, file);
	if (len < 0 || (size_t)len >= size)
		return vl_error_input(err, "VIRTLAB_STATE '%s' is too long", vl_state_root());
	return 0;
}

int vl_state_lock(const char *name, bool wait, int *lock_fd, vl_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (vl_state_dir(name, dir, sizeof(dir), err) < 0 ||
	    state_file(name, LOCK_FILE, path, sizeof(path), err) < 0)
		return -1;
	/* vl_state_remove unlinks the lock file while holding it; a waiter that
	 * then gets the old inode must retry on the new one. */
	for (;;) {
		cleanup_close int fd = -1;
		struct stat held, now;

		if (vl_mkdir_p(dir, 0700, err) < 0)
			return vl_error_wrap(err, "creating the state of guest %s", name);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		/* A removal may take the directory between mkdir and open. */
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return vl_error_errno(err, errno, "opening %s", path);
		if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK) {
				vl_error_set(err,
				             "guest %s is busy: another virtlab holds %s; "
				             "wait for it or end it",
				             name, path);
				if (err)
					err->errnum = EBUSY;
				return -1;
			}
			return vl_error_errno(err, errno, "locking %s", path);
		}
		if (fstat(fd, &held) < 0)
			return vl_error_errno(err, errno, "examining %s", path);
		if (stat(path, &now) == 0 && now.st_ino == held.st_ino &&
		    now.st_dev == held.st_dev) {
			*lock_fd = vl_steal_fd(fd);
			return 0;
		}
	}
}

void vl_state_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
}

int vl_state_read(const char *name, json_t **doc, vl_error *err)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *j;

	if (state_file(name, RECORD_FILE, path, sizeof(path), err) < 0)
		return -1;
	j = json_load_file(path, 0, &jerr);
	if (!j) {
		if (access(path, F_OK) < 0 && errno == ENOENT) {
			vl_error_input(err,
			               "no guest named '%s' (virtlab guest list shows the guests)",
			               name);
			if (err)
				err->errnum = ENOENT;
			return -1;
		}
		return vl_error_set(err, "reading %s: %s (line %d)", path, jerr.text, jerr.line);
	}
	if (!json_is_object(j) || !json_is_string(json_object_get(j, "platform"))) {
		json_decref(j);
		return vl_error_set(err, "%s is not a guest record (no \"platform\")", path);
	}
	*doc = j;
	return 0;
}

static json_t *spec_to_json(const struct vl_guest_spec *s)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:s, s:I, s:f, s:s, s:s}", "name", s->name,
	                 "image", s->image, "cpus", (json_int_t)s->cpus, "cpuset", s->cpuset,
	                 "memory_bytes", (json_int_t)s->memory_bytes, "pids_max",
	                 (json_int_t)s->pids_max, "workdir", s->workdir, "cpu_weight",
	                 (json_int_t)s->cpu_weight, "cpu_max_pct", s->cpu_max_pct, "net_topology",
	                 s->net_topology, "net_mode", s->net_mode);
}

static void copy_string(char *dst, size_t size, const json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	snprintf(dst, size, "%s", v ? v : "");
}

static void spec_from_json(const json_t *j, const char *name, struct vl_guest_spec *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	copy_string(s->image, sizeof(s->image), j, "image");
	copy_string(s->cpuset, sizeof(s->cpuset), j, "cpuset");
	copy_string(s->workdir, sizeof(s->workdir), j, "workdir");
	copy_string(s->net_topology, sizeof(s->net_topology), j, "net_topology");
	copy_string(s->net_mode, sizeof(s->net_mode), j, "net_mode");
	s->cpus = (unsigned)json_integer_value(json_object_get(j, "cpus"));
	s->memory_bytes = (uint64_t)json_integer_value(json_object_get(j, "memory_bytes"));
	s->pids_max = (unsigned)json_integer_value(json_object_get(j, "pids_max"));
	s->cpu_weight = (unsigned)json_integer_value(json_object_get(j, "cpu_weight"));
	s->cpu_max_pct = json_number_value(json_object_get(j, "cpu_max_pct"));
}

/* What survives a rewrite of guest.json: status, resources and owner (the
 * process that wrote the record first, "PID:STARTTIME"). */
struct current {
	char status[32];
	char owner[64];
	json_t *resources;
};

static int write_record(const struct vl_guest *g, const char *status, const struct current *cur,
                        vl_error *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	cleanup_json json_t *doc = NULL;
	cleanup_free char *text = NULL;

	if (state_file(g->spec.name, RECORD_FILE, path, sizeof(path), err) < 0 ||
	    vl_state_dir(g->spec.name, dir, sizeof(dir), err) < 0)
		return -1;
	if (vl_mkdir_p(dir, 0700, err) < 0)
		return vl_error_wrap(err, "saving guest %s", g->spec.name);
	doc = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:O, s:O}", "name", g->spec.name,
	                "platform", g->platform->name, "spec", spec_to_json(&g->spec), "status",
	                status, "owner", cur->owner, "files", g->state_dir, "record",
	                g->record ? g->record : json_null(), "resources", cur->resources);
	if (!doc)
		return vl_error_set(err, "building the record of guest %s", g->spec.name);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return vl_error_set(err, "encoding the record of guest %s", g->spec.name);
	if (vl_write_file_replace(path, text, strlen(text), err) < 0)
		return vl_error_wrap(err, "saving guest %s", g->spec.name);
	return 0;
}

/* What is on disk; a guest not saved yet is being provisioned by us and owns
 * nothing. cur->resources must be released with json_decref. */
static int read_current(const char *name, struct current *cur, vl_error *err)
{
	cleanup_json json_t *doc = NULL;
	json_t *res;

	if (vl_state_read(name, &doc, err) < 0) {
		if (!err || err->errnum != ENOENT)
			return -1;
		vl_error_clear(err);
		snprintf(cur->status, sizeof(cur->status), "provisioning");
		if (vl_state_process_id(getpid(), cur->owner, sizeof(cur->owner), err) < 0)
			return -1;
		cur->resources = json_array();
	} else {
		copy_string(cur->status, sizeof(cur->status), doc, "status");
		copy_string(cur->owner, sizeof(cur->owner), doc, "owner");
		res = json_object_get(doc, "resources");
		cur->resources = json_is_array(res) ? json_deep_copy(res) : json_array();
	}
	return cur->resources ? 0 : vl_error_errno(err, ENOMEM, "tracking guest %s", name);
}

int vl_state_save(const struct vl_guest *g, const char *status, vl_error *err)
{
	struct current cur;
	int rc;

	if (read_current(g->spec.name, &cur, err) < 0)
		return -1;
	rc = write_record(g, status, &cur, err);
	json_decref(cur.resources);
	return rc;
}

int vl_state_load(const char *name, struct vl_guest **out, vl_error *err)
{
	cleanup_json json_t *doc = NULL;
	const struct vl_platform *p;
	struct vl_guest_spec spec;
	const char *pname;
	json_t *record;

	if (vl_state_read(name, &doc, err) < 0)
		return -1;
	pname = json_string_value(json_object_get(doc, "platform"));
	p = vl_platform_find(pname);
	if (!p)
		return vl_error_set(err, "guest %s uses platform '%s', which this virtlab lacks",
		                    name, pname);
	spec_from_json(json_object_get(doc, "spec"), name, &spec);
	if (vl_guest_new(p, &spec, out, err) < 0)
		return vl_error_wrap(err, "loading guest %s", name);
	record = json_object_get(doc, "record");
	if (json_is_object(record)) {
		json_decref((*out)->record);
		(*out)->record = json_incref(record);
	}
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vl_state_names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int vl_state_list(char ***names, size_t *count, vl_error *err)
{
	char dir[PATH_MAX];
	cleanup_dir DIR *d = NULL;
	char **list = NULL;
	size_t n = 0;
	struct dirent *e;

	*names = NULL;
	*count = 0;
	snprintf(dir, sizeof(dir), "%s/guests", vl_state_root());
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : vl_error_errno(err, errno, "listing %s", dir);
	while ((errno = 0, e = readdir(d))) {
		char path[PATH_MAX];
		char **grown;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/" RECORD_FILE, dir, e->d_name);
		if (access(path, F_OK) < 0)
			continue;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown || !(grown[n] = strdup(e->d_name))) {
			list = grown ? grown : list;
			vl_state_names_free(list, n);
			return vl_error_errno(err, ENOMEM, "listing %s", dir);
		}
		list = grown;
		n++;
	}
	if (errno) {
		int saved = errno;
		vl_state_names_free(list, n);
		return vl_error_errno(err, saved, "listing %s", dir);
	}
	if (n)
		qsort(list, n, sizeof(*list), compare_names);
	*names = list;
	*count = n;
	return 0;
}

int vl_state_remove(const char *name, vl_error *err)
{
	char dir[PATH_MAX];
	cleanup_dir DIR *d = NULL;
	struct dirent *e;

	if (vl_state_dir(name, dir, sizeof(dir), err) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : vl_error_errno(err, errno, "opening %s", dir);
	/* The record goes first, so that an interrupted removal leaves no half
	 * record; the lock goes last, so that a waiter retries on a new one. */
	if (unlinkat(dirfd(d), RECORD_FILE, 0) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "removing %s/%s", dir, RECORD_FILE);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, LOCK_FILE) == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
			return vl_error_errno(err, errno, "removing %s/%s", dir, e->d_name);
	}
	if (unlinkat(dirfd(d), LOCK_FILE, 0) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "removing %s/%s", dir, LOCK_FILE);
	if (rmdir(dir) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "removing %s", dir);
	return 0;
}

static bool resource_is(const json_t *r, const char *kind, const char *id)
{
	const char *k = json_string_value(json_object_get(r, "kind"));
	const char *i = json_string_value(json_object_get(r, "id"));
	return k && i && strcmp(k, kind) == 0 && strcmp(i, id) == 0;
}

/* The resources are added in one save: tracked before any of them exists,
 * as one resource is. */
int vl_state_track_all(struct vl_guest *g, const char *kind, const char *const ids[], size_t n,
                       vl_error *err)
{
	struct current cur;
	int rc = 0;

	if (read_current(g->spec.name, &cur, err) < 0)
		return vl_error_wrap(err, "tracking %s %s", kind, n ? ids[0] : "");
	for (size_t k = 0; k < n && rc == 0; k++) {
		bool known = false;
		size_t i;
		json_t *r;

		json_array_foreach(cur.resources, i, r) known =
		        known || resource_is(r, kind, ids[k]);
		if (!known &&
		    json_array_append_new(cur.resources,
		                          json_pack("{s:s, s:s}", "kind", kind, "id", ids[k])) < 0)
			rc = vl_error_set(err, "tracking %s %s of guest %s", kind, ids[k],
			                  g->spec.name);
	}
	if (rc == 0 && write_record(g, cur.status, &cur, err) < 0)
		rc = vl_error_wrap(err, "tracking %s %s", kind, n ? ids[0] : "");
	json_decref(cur.resources);
	return rc;
}

int vl_state_track(struct vl_guest *g, const char *kind, const char *id, vl_error *err)
{
	return vl_state_track_all(g, kind, &id, 1, err);
}

int vl_state_untrack_all(struct vl_guest *g, const char *kind, const char *const ids[], size_t n,
                         vl_error *err)
{
	struct current cur;
	int rc;

	if (read_current(g->spec.name, &cur, err) < 0)
		return vl_error_wrap(err, "untracking %s %s", kind, n ? ids[0] : "");
	for (size_t i = json_array_size(cur.resources); i-- > 0;)
		for (size_t k = 0; k < n; k++)
			if (resource_is(json_array_get(cur.resources, i), kind, ids[k])) {
				json_array_remove(cur.resources, i);
				break;
			}
	/* A guest that was never saved (virtlab run's, the study's) and owns
	 * nothing any more has nothing to remember: its record goes. */
	if (strcmp(cur.status, "provisioning") == 0 && json_array_size(cur.resources) == 0)
		rc = vl_state_remove(g->spec.name, err);
	else
		rc = write_record(g, cur.status, &cur, err);
	json_decref(cur.resources);
	return rc < 0 ? vl_error_wrap(err, "untracking %s %s", kind, n ? ids[0] : "") : 0;
}

int vl_state_untrack(struct vl_guest *g, const char *kind, const char *id, vl_error *err)
{
	return vl_state_untrack_all(g, kind, &id, 1, err);
}

int vl_state_process_start(pid_t pid, unsigned long long *start, char *state, vl_error *err)
{
	char path[64], buf[1024];
	const char *comm_end;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (vl_read_line(path, buf, sizeof(buf), err) < 0) {
		if (err && err->errnum == ENOENT)
			err->errnum = ESRCH;
		return -1;
	}
	/* The command name may hold spaces and parentheses; it ends at the last ')'. */
	comm_end = strrchr(buf, ')');
	if (!comm_end ||
	    sscanf(comm_end + 1,
	           " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
	           "%*d %*d %llu",
	           state, start) != 2)
		return vl_error_set(err, "%s: unexpected format", path);
	return 0;
}

int vl_state_process_id(pid_t pid, char *buf, size_t size, vl_error *err)
{
	unsigned long long start;
	char state;

	if (vl_state_process_start(pid, &start, &state, err) < 0)
		return vl_error_wrap(err, "identifying process %d", (int)pid);
	snprintf(buf, size, "%d:%llu", (int)pid, start);
	return 0;
}
