#include "study/plan.h"
#include "core/units.h"
#include "study/experiment.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each size in both profiles: quick keeps the whole study of bare and one
 * container within 10 minutes on a 2-core machine (docs/methodology.md says
 * how the numbers were chosen); full is the thesis's. */
struct size_default {
	const char *key;
	const char *quick;
	const char *full;
};

static const struct size_default size_defaults[] = {
        {"cpu.vcpus", "1,2,4,8", "1,2,4,8"},
        {"cpu.primes.max_prime", "10000", "10000"},
        {"cpu.primes.events", "1000", "10000"},
        {"cpu.whetstone.duration", "0.4", "10"},
        {"cpu.mutex.locks", "10000", "50000"},
        {"cpu.mutex.threads", "4", "4"},
        {"cpu.rsa.keys", "2", "50"},
        {"cpu.rsa.bits", "2048", "2048"},
        {"cpu.cpu_max_pct", "0", "0"},
        {"mem.sizes", "16M,64M,256M", "64M,256M,1G,2G"},
        {"mem.methods", "memcpy", "memcpy,dumb,mcblock"},
        {"mem.min_time", "0.05", "0.1"},
        {"mem.guest", "equal,above", "equal,below,above"},
        {"disk.seq.modes", "seqrd,seqwr,seqrewr", "seqrd,seqwr,seqrewr"},
        {"disk.rand.modes", "rndrd,rndwr,rndrw", "rndrd,rndwr,rndrw"},
        {"disk.file_num", "16", "128"},
        {"disk.file_total_size", "32M", "1G"},
        {"disk.events", "1000", "10000"},
        {"disk.latency.count", "6", "20"},
        {"disk.latency.interval", "0.02", "1"},
        {"disk.copy.size", "16M", "1G"},
        {"disk.copy.modes", "fdatasync,dsync", "fdatasync,dsync"},
        {"disk.workdir", "", ""},
        {"operations.repeat", "5", "10"},
        {"isolation.workloads", "cpu,memory,disk", "cpu,memory,disk"},
        {"isolation.workers", "0", "0"},
        {"isolation.settle", "0.5", "2"},
        {"isolation.vm_bytes", "64M", "256M"},
        {"isolation.hdd_bytes", "64M", "1G"},
        /* quick keeps the policies of the known answers (weight, pinning);
         * each other policy adds two guest pairs per platform. */
        {"entitlement.policies", "cpu-weight,cpuset", "cpu-weight,cpu-max,cpuset,memory,io"},
        {"entitlement.cpu_weight_a", "100", "100"},
        {"entitlement.cpu_weight_b", "12", "12"},
        {"entitlement.cpu_max_pct", "50", "50"},
        {"entitlement.memory_limit", "32M", "128M"},
        {"entitlement.io_write_bps", "10M", "10M"},
        {"network.modes", "bridged,nat", "bridged,nat"},
        {"network.directions", "send,recv", "send,recv"},
        {"network.streams", "1", "1,4"},
        {"network.duration", "0.25", "10"},
        {"network.rr_size", "1", "1"},
        {"network.isolation_modes", "bridged", "bridged,nat"},
        {"network.rate_mbit", "100", "100"},
        {"network.rate_duration", "2", "10"},
        {"network.range", "", ""},
        {"timeout", "600", "3600"},
};

int vl_study_plan_init(struct vl_study_plan *p, const char *profile, vl_error *err)
{
	bool quick;

	memset(p, 0, sizeof(*p));
	if (strcmp(profile, "quick") == 0)
		quick = true;
	else if (strcmp(profile, "full") == 0)
		quick = false;
	else
		return vl_error_input(err, "profile '%s' is unknown: use quick or full", profile);
	snprintf(p->profile, sizeof(p->profile), "%s", profile);
	p->repeat_min = 5;
	p->repeat_max = quick ? 6 : 30;
	p->warmup = 1;
	p->ci_target = 0.02;
	p->sizes = json_object();
	if (!p->sizes)
		abort();
	for (size_t i = 0; i < sizeof(size_defaults) / sizeof(size_defaults[0]); i++)
		json_object_set_new(
		        p->sizes, size_defaults[i].key,
		        json_string(quick ? size_defaults[i].quick : size_defaults[i].full));
	if (vl_study_plan_set_platforms(p, NULL, err) < 0)
		return -1;
	return vl_study_plan_set_experiments(p, NULL, err);
}

void vl_study_plan_release(struct vl_study_plan *p)
{
	json_decref(p->sizes);
	p->sizes = NULL;
}

/* Calls fn on each comma-separated item of list. */
static int each_item(const char *list, int (*fn)(void *, const char *, vl_error *), void *arg,
                     vl_error *err)
{
	char item[128];
	const char *start = list;

	for (;;) {
		size_t len = strcspn(start, ",");
		if (len == 0 || len >= sizeof(item))
			return vl_error_input(err, "'%s' has an empty or overlong item", list);
		memcpy(item, start, len);
		item[len] = '\0';
		if (fn(arg, item, err) < 0)
			return -1;
		if (!start[len])
			return 0;
		start += len + 1;
	}
}

static int add_platform(void *arg, const char *item, vl_error *err)
{
	struct vl_study_plan *p = arg;
	struct vl_study_platform *sp;
	char name[VL_NAME_MAX];
	const char *at = strchr(item, '@');
	size_t len = at ? (size_t)(at - item) : strlen(item);

	if (p->n_platforms == VL_STUDY_MAX_PLATFORMS)
		return vl_error_input(err, "at most %d platforms per study",
		                      VL_STUDY_MAX_PLATFORMS);
	if (len >= sizeof(name) || (at && (!at[1] || strlen(at + 1) >= VL_NAME_MAX)))
		return vl_error_input(err, "platform '%s' is too long", item);
	memcpy(name, item, len);
	name[len] = '\0';
	sp = &p->platforms[p->n_platforms];
	memset(sp, 0, sizeof(*sp));
	sp->platform = vl_platform_find(name);
	if (!sp->platform)
		return vl_error_input(err, "platform '%s' is unknown: see virtlab info", name);
	snprintf(sp->label, sizeof(sp->label), "%s", at ? at + 1 : name);
	for (size_t i = 0; i < p->n_platforms; i++)
		if (strcmp(p->platforms[i].label, sp->label) == 0)
			return vl_error_input(err,
			                      "platform '%s' is listed twice: give the second "
			                      "a label of its own (%s@%s2)",
			                      sp->label, name, sp->label);
	p->n_platforms++;
	return 0;
}

int vl_study_plan_set_platforms(struct vl_study_plan *p, const char *list, vl_error *err)
{
	p->n_platforms = 0;
	if (list)
		return each_item(list, add_platform, p, err);
	size_t n;
	const struct vl_platform *const *all = vl_platform_all(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i]->name, "null") != 0 && add_platform(p, all[i]->name, err) < 0)
			return -1;
	return 0;
}

static int add_experiment(void *arg, const char *item, vl_error *err)
{
	struct vl_study_plan *p = arg;

	if (!vl_experiment_find(item))
		return vl_error_input(err,
		                      "experiment '%s' is unknown: use cpu, memory, disk, "
		                      "operations, features, isolation, entitlement or network",
		                      item);
	if (vl_study_plan_has_experiment(p, item))
		return vl_error_input(err, "experiment '%s' is listed twice", item);
	if (p->n_experiments == VL_STUDY_MAX_EXPERIMENTS)
		return vl_error_input(err, "too many experiments");
	snprintf(p->experiments[p->n_experiments++], sizeof(p->experiments[0]), "%s", item);
	return 0;
}

int vl_study_plan_set_experiments(struct vl_study_plan *p, const char *list, vl_error *err)
{
	p->n_experiments = 0;
	if (list)
		return each_item(list, add_experiment, p, err);
	size_t n;
	const struct vl_experiment *const *all = vl_experiment_all(&n);
	for (size_t i = 0; i < n; i++)
		if (add_experiment(p, all[i]->name, err) < 0)
			return -1;
	return 0;
}

bool vl_study_plan_has_experiment(const struct vl_study_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n_experiments; i++)
		if (strcmp(p->experiments[i], name) == 0)
			return true;
	return false;
}

static int parse_count(const char *key, const char *value, unsigned *out, vl_error *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || end == value || *end || v < 1 || v > 10000)
		return vl_error_input(err, "%s=%s: give a whole number from 1 to 10000", key,
		                      value);
	*out = (unsigned)v;
	return 0;
}

int vl_study_plan_set(struct vl_study_plan *p, const char *assignment, vl_error *err)
{
	const char *eq = strchr(assignment, '=');
	char key[64];
	const char *value;

	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof(key))
		return vl_error_input(err, "'%s' is not KEY=VALUE", assignment);
	memcpy(key, assignment, (size_t)(eq - assignment));
	key[eq - assignment] = '\0';
	value = eq + 1;
	if (strcmp(key, "repeat_min") == 0 || strcmp(key, "repeat_max") == 0) {
		unsigned *field = strcmp(key, "repeat_min") == 0 ? &p->repeat_min : &p->repeat_max;
		if (parse_count(key, value, field, err) < 0)
			return -1;
		if (p->repeat_max < p->repeat_min)
			p->repeat_max = p->repeat_min;
		return 0;
	}
	if (strcmp(key, "warmup") == 0) {
		if (strcmp(value, "0") == 0) {
			p->warmup = 0;
			return 0;
		}
		return parse_count(key, value, &p->warmup, err);
	}
	if (strcmp(key, "ci_target") == 0) {
		char *end;
		double v = strtod(value, &end);
		if (end == value || *end || !(v > 0 && v < 1))
			return vl_error_input(err, "ci_target=%s: give a fraction such as 0.02",
			                      value);
		p->ci_target = v;
		return 0;
	}
	if (!json_object_get(p->sizes, key))
		return vl_error_input(err,
		                      "'%s' is not a study setting: see the list in "
		                      "docs/methodology.md (\"The study\")",
		                      key);
	json_object_set_new(p->sizes, key, json_string(value));
	return 0;
}

void vl_study_plan_fix_repeats(struct vl_study_plan *p, unsigned n)
{
	p->repeat_min = n;
	p->repeat_max = n;
}

void vl_study_plan_probe(struct vl_study_plan *p)
{
	for (size_t i = 0; i < p->n_platforms; i++)
		p->platforms[i].platform->probe(&p->platforms[i].probe);
}

json_t *vl_study_plan_to_json(const struct vl_study_plan *p)
{
	json_t *platforms = json_array(), *experiments = json_array();

	for (size_t i = 0; i < p->n_platforms; i++) {
		const struct vl_study_platform *sp = &p->platforms[i];
		if (strcmp(sp->label, sp->platform->name) == 0)
			json_array_append_new(platforms, json_string(sp->label));
		else
			json_array_append_new(platforms,
			                      json_sprintf("%s@%s", sp->platform->name, sp->label));
	}
	for (size_t i = 0; i < p->n_experiments; i++)
		json_array_append_new(experiments, json_string(p->experiments[i]));
	return json_pack("{s:s, s:o, s:o, s:I, s:I, s:I, s:f, s:O}", "profile", p->profile,
	                 "platforms", platforms, "experiments", experiments, "repeat_min",
	                 (json_int_t)p->repeat_min, "repeat_max", (json_int_t)p->repeat_max,
	                 "warmup", (json_int_t)p->warmup, "ci_target", p->ci_target, "sizes",
	                 p->sizes);
}

static int join_strings(json_t *array, char *out, size_t size, vl_error *err)
{
	size_t i, used = 0;
	json_t *item;

	out[0] = '\0';
	json_array_foreach(array, i, item)
	{
		const char *s = json_string_value(item);
		int n;
		if (!s)
			return vl_error_input(err, "the plan has a list item that is not a string");
		n = snprintf(out + used, size - used, "%s%s", i ? "," : "", s);
		if (n < 0 || (size_t)n >= size - used)
			return vl_error_input(err, "the plan's list is too long");
		used += (size_t)n;
	}
	return 0;
}

int vl_study_plan_from_json(struct vl_study_plan *p, json_t *plan, vl_error *err)
{
	const char *profile = json_string_value(json_object_get(plan, "profile"));
	json_t *sizes = json_object_get(plan, "sizes");
	char list[1024];
	const char *key;
	json_t *value;

	if (!profile || !json_is_object(sizes))
		return vl_error_input(err, "the results file's plan has no profile or sizes");
	if (vl_study_plan_init(p, profile, err) < 0)
		return -1;
	if (join_strings(json_object_get(plan, "platforms"), list, sizeof(list), err) < 0 ||
	    vl_study_plan_set_platforms(p, list, err) < 0 ||
	    join_strings(json_object_get(plan, "experiments"), list, sizeof(list), err) < 0 ||
	    vl_study_plan_set_experiments(p, list[0] ? list : NULL, err) < 0)
		return vl_error_wrap(err, "reading the plan");
	p->repeat_min = (unsigned)json_integer_value(json_object_get(plan, "repeat_min"));
	p->repeat_max = (unsigned)json_integer_value(json_object_get(plan, "repeat_max"));
	p->warmup = (unsigned)json_integer_value(json_object_get(plan, "warmup"));
	p->ci_target = json_number_value(json_object_get(plan, "ci_target"));
	if (p->repeat_min < 1 || p->repeat_max < p->repeat_min || !(p->ci_target > 0))
		return vl_error_input(err, "the results file's plan has invalid repeats");
	json_object_foreach(sizes, key, value)
	{
		if (!json_is_string(value) || !json_object_get(p->sizes, key))
			return vl_error_input(err, "the results file's plan has a bad size '%s'",
			                      key);
		json_object_set(p->sizes, key, value);
	}
	return 0;
}

const char *vl_study_size(const struct vl_study_plan *p, const char *key)
{
	const char *s = json_string_value(json_object_get(p->sizes, key));

	if (!s)
		abort(); /* an experiment reads a key size_defaults lacks */
	return s;
}

double vl_study_size_double(const struct vl_study_plan *p, const char *key)
{
	return strtod(vl_study_size(p, key), NULL);
}

int vl_study_size_bytes(const struct vl_study_plan *p, const char *key, uint64_t *out,
                        vl_error *err)
{
	if (vl_parse_size(vl_study_size(p, key), out, err) < 0)
		return vl_error_wrap(err, "study setting %s", key);
	return 0;
}
