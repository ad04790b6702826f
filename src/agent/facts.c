/* Guest facts for hello: what the agent can see of the machine and of the
 * limits placed on itself. Anything unreadable (no /proc in a bare chroot) is
 * left out rather than failing: hello must answer in the most minimal guest. */
#include "agent/session.h"
#include "core/cleanup.h"
#include "core/file.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_CGROUPS 32
#define CG_TEXT     512

/* One line of /proc/self/cgroup: "id:controllers:path". */
struct cg_entry {
	char controllers[128]; /* "" for the v2 hierarchy */
	char path[CG_TEXT];
};

/* A cgroup or cgroup2 line of /proc/self/mountinfo. */
struct cg_mount {
	bool v2;
	char root[CG_TEXT];
	char point[CG_TEXT];
	char options[256]; /* super options; v1 lists its controllers here */
};

struct cg_view {
	struct cg_entry entries[MAX_CGROUPS];
	struct cg_mount mounts[MAX_CGROUPS];
	int n_entries, n_mounts;
};

enum cg_kind {
	CG_TEXT_VALUE, /* a list such as cpuset.cpus: kept as text */
	CG_INT,        /* a plain integer */
	CG_LIMIT,      /* an integer where "max", -1 or a huge value mean unlimited */
	CG_CPU_MAX,    /* v2 cpu.max: "QUOTA|max PERIOD" */
};

struct cg_file {
	const char *controller; /* v1 controller; NULL for v2 */
	const char *file;
	const char *key; /* normalised name in "limits" */
	enum cg_kind kind;
};

static const struct cg_file cg_files[] = {
        {NULL, "cpu.max", "cpu_quota_us", CG_CPU_MAX},
        {NULL, "cpu.weight", "cpu_weight", CG_INT},
        {NULL, "cpuset.cpus.effective", "cpuset_cpus", CG_TEXT_VALUE},
        {NULL, "cpuset.mems.effective", "cpuset_mems", CG_TEXT_VALUE},
        {NULL, "memory.max", "memory_limit_bytes", CG_LIMIT},
        {NULL, "pids.max", "pids_max", CG_LIMIT},
        {"cpu", "cpu.cfs_quota_us", "cpu_quota_us", CG_LIMIT},
        {"cpu", "cpu.cfs_period_us", "cpu_period_us", CG_INT},
        {"cpu", "cpu.shares", "cpu_shares", CG_INT},
        {"cpuset", "cpuset.effective_cpus", "cpuset_cpus", CG_TEXT_VALUE},
        {"cpuset", "cpuset.effective_mems", "cpuset_mems", CG_TEXT_VALUE},
        {"memory", "memory.limit_in_bytes", "memory_limit_bytes", CG_LIMIT},
        {"pids", "pids.max", "pids_max", CG_LIMIT},
};

static bool has_token(const char *list, const char *token)
{
	size_t len = strlen(token);

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t item = comma ? (size_t)(comma - p) : strlen(p);
		if (item == len && strncmp(p, token, len) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static void read_cgroup_entries(struct cg_view *v)
{
	cleanup_file FILE *f = fopen("/proc/self/cgroup", "re");
	char line[CG_TEXT + 160];

	while (f && v->n_entries < MAX_CGROUPS && fgets(line, sizeof(line), f)) {
		struct cg_entry *e = &v->entries[v->n_entries];
		char *first = strchr(line, ':'), *second = first ? strchr(first + 1, ':') : NULL;
		if (!second)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*second = '\0';
		snprintf(e->controllers, sizeof(e->controllers), "%s", first + 1);
		snprintf(e->path, sizeof(e->path), "%s", second + 1);
		v->n_entries++;
	}
}

static void read_cgroup_mounts(struct cg_view *v)
{
	cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	while (f && v->n_mounts < MAX_CGROUPS && fgets(line, sizeof(line), f)) {
		struct cg_mount *m = &v->mounts[v->n_mounts];
		char root[CG_TEXT], point[CG_TEXT], fstype[32], options[256];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %511s %511s", root, point) != 2 ||
		    sscanf(dash, " - %31s %*s %255s", fstype, options) != 2)
			continue;
		if (strcmp(fstype, "cgroup2") != 0 && strcmp(fstype, "cgroup") != 0)
			continue;
		m->v2 = strcmp(fstype, "cgroup2") == 0;
		snprintf(m->root, sizeof(m->root), "%s", root);
		snprintf(m->point, sizeof(m->point), "%s", point);
		snprintf(m->options, sizeof(m->options), "%s", options);
		v->n_mounts++;
	}
}

/* The directory of the agent's own cgroup for a v1 controller (or v2 when
 * controller is NULL): mount point plus the path below the mount's root. */
static bool cgroup_dir(const struct cg_view *v, const char *controller, char *out, size_t size)
{
	for (int i = 0; i < v->n_entries; i++) {
		const struct cg_entry *e = &v->entries[i];
		if (controller ? !has_token(e->controllers, controller) : e->controllers[0] != '\0')
			continue;
		for (int j = 0; j < v->n_mounts; j++) {
			const struct cg_mount *m = &v->mounts[j];
			size_t rlen = strlen(m->root);
			const char *rel = e->path;
			if (controller ? m->v2 || !has_token(m->options, controller) : !m->v2)
				continue;
			if (strcmp(m->root, "/") != 0 && strncmp(rel, m->root, rlen) == 0)
				rel += rlen;
			else if (strcmp(m->root, "/") != 0)
				rel = ""; /* a namespaced view: the mount is our cgroup */
			snprintf(out, size, "%s%s", m->point, strcmp(rel, "/") == 0 ? "" : rel);
			return true;
		}
	}
	return false;
}

static json_t *limit_value(const char *text)
{
	char *end;
	long long v = strtoll(text, &end, 10);

	/* v1 spells "unlimited" as -1 or as the largest page-aligned value. */
	if (strcmp(text, "max") == 0 || end == text || v < 0 || v >= (1LL << 62))
		return json_null();
	return json_integer(v);
}

static void add_limit(json_t *limits, const struct cg_file *f, const char *text)
{
	switch (f->kind) {
	case CG_TEXT_VALUE:
		json_object_set_new(limits, f->key, json_string(text));
		break;
	case CG_INT:
		json_object_set_new(limits, f->key, json_integer(strtoll(text, NULL, 10)));
		break;
	case CG_LIMIT:
		json_object_set_new(limits, f->key, limit_value(text));
		break;
	case CG_CPU_MAX: {
		char quota[32] = "";
		long long period = 0;
		if (sscanf(text, "%31s %lld", quota, &period) == 2) {
			json_object_set_new(limits, f->key, limit_value(quota));
			json_object_set_new(limits, "cpu_period_us", json_integer(period));
		}
		break;
	}
	}
}

static json_t *cgroup_facts(void)
{
	cleanup_free struct cg_view *v = calloc(1, sizeof(*v));
	json_t *cg = json_object(), *dirs = json_object(), *files = json_object(),
	       *limits = json_object();
	bool v1 = false, v2 = false;

	if (!v)
		return cg;
	read_cgroup_entries(v);
	read_cgroup_mounts(v);
	for (int i = 0; i < v->n_entries; i++) {
		if (v->entries[i].controllers[0])
			v1 = true;
		else
			v2 = true;
	}
	json_object_set_new(cg, "mode",
	                    json_string(v1 && v2 ? "hybrid"
	                                : v1     ? "v1"
	                                : v2     ? "v2"
	                                         : "none"));
	for (size_t i = 0; i < sizeof(cg_files) / sizeof(cg_files[0]); i++) {
		const struct cg_file *f = &cg_files[i];
		char dir[CG_TEXT * 2], path[CG_TEXT * 2 + 64], text[256];
		vl_error ignored = {0};
		if (!cgroup_dir(v, f->controller, dir, sizeof(dir)))
			continue;
		json_object_set_new(dirs, f->controller ? f->controller : "unified",
		                    json_string(dir));
		snprintf(path, sizeof(path), "%s/%s", dir, f->file);
		if (vl_read_line(path, text, sizeof(text), &ignored) < 0)
			continue;
		json_object_set_new(files, f->file, json_string(text));
		add_limit(limits, f, text);
	}
	json_object_set_new(cg, "dirs", dirs);
	json_object_set_new(cg, "files", files);
	json_object_set_new(cg, "limits", limits);
	return cg;
}

static json_t *memory_facts(void)
{
	cleanup_file FILE *f = fopen("/proc/meminfo", "re");
	json_t *mem = json_object();
	char line[256];

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long kib;
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
			json_object_set_new(mem, "total_bytes",
			                    json_integer((json_int_t)kib * 1024));
		else if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			json_object_set_new(mem, "available_bytes",
			                    json_integer((json_int_t)kib * 1024));
	}
	return mem;
}

static json_t *cpu_facts(void)
{
	json_t *cpus = json_object();
	cpu_set_t set;
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (online > 0)
		json_object_set_new(cpus, "online", json_integer(online));
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		json_object_set_new(cpus, "allowed", json_integer(CPU_COUNT(&set)));
	return cpus;
}

static json_t *workload_list(void)
{
	size_t n;
	const struct vl_workload *const *all = vl_workload_all(&n);
	json_t *list = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(all[i]->name));
	return list;
}

json_t *vl_agent_facts(void)
{
	json_t *f = json_object();
	struct utsname uts;
	char clocksource[64];
	vl_error ignored = {0};

	if (uname(&uts) == 0) {
		json_object_set_new(f, "kernel",
		                    json_pack("{s:s, s:s, s:s}", "release", uts.release, "version",
		                              uts.version, "machine", uts.machine));
		json_object_set_new(f, "hostname", json_string(uts.nodename));
	}
	json_object_set_new(f, "cpus", cpu_facts());
	json_object_set_new(f, "memory", memory_facts());
	json_object_set_new(f, "cgroup", cgroup_facts());
	if (vl_read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
	                 clocksource, sizeof(clocksource), &ignored) == 0)
		json_object_set_new(f, "clocksource", json_string(clocksource));
	json_object_set_new(f, "pid", json_integer(getpid()));
	json_object_set_new(f, "agent_version", json_string(VL_VERSION));
	json_object_set_new(f, "protocol", json_integer(VL_AGENT_PROTOCOL));
	json_object_set_new(f, "workloads", workload_list());
	return f;
}
