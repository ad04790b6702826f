#include "report/report_model.h"
#include "core/cleanup.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCHEMA "virtlab-results/1"

/* What the validators need to name the problem: the file and the field. */
struct ctx {
	const char *file;
	vl_error *err;
	struct vl_report_model *m;
	struct vl_report_source *source;
	size_t cap_platforms, cap_experiments, cap_rows, cap_features;
};

static int bad(struct ctx *c, const char *where, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int bad(struct ctx *c, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vl_error_input(c->err, "%s: %s: %s (not a virtlab results file, or damaged)",
	                      c->file, where, msg);
}

static int grow(struct ctx *c, void **array, size_t *cap, size_t n, size_t elem)
{
	void *bigger;

	if (n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 16;
	bigger = realloc(*array, *cap * elem);
	if (!bigger)
		return vl_error_errno(c->err, ENOMEM, "loading %s", c->file);
	*array = bigger;
	return 0;
}

/* A string field: required, or optional (absent or null gives NULL). */
static int get_string(struct ctx *c, json_t *obj, const char *key, bool required, const char *where,
                      const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (json_is_string(v)) {
		*out = json_string_value(v);
		return 0;
	}
	if (!required && (!v || json_is_null(v)))
		return 0;
	return bad(c, where, "\"%s\" must be a string%s", key, v ? "" : " and is missing");
}

static int get_number(struct ctx *c, json_t *obj, const char *key, bool required, const char *where,
                      double *out)
{
	json_t *v = json_object_get(obj, key);

	*out = NAN;
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (!required && (!v || json_is_null(v)))
		return 0;
	return bad(c, where, "\"%s\" must be a number%s", key, v ? "" : " and is missing");
}

static int one_of(struct ctx *c, const char *value, const char *const *allowed, const char *key,
                  const char *where)
{
	char list[128] = "";

	if (!value)
		return 0;
	for (size_t i = 0; allowed[i]; i++) {
		if (strcmp(value, allowed[i]) == 0)
			return 0;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
		         allowed[i]);
	}
	return bad(c, where, "\"%s\" is '%s', expected one of %s", key, value, list);
}

/* A platform of another host (study_hosts.h) names it; the host's entry
 * under "hosts" says how it runs. */
static int load_host(struct ctx *c, json_t *p, const char *where, struct vl_report_platform *out)
{
	static const char *const accels[] = {"real", "kvm", "tcg", NULL};
	json_t *entry;

	if (get_string(c, p, "host", false, where, &out->host) < 0 || !out->host)
		return 0;
	entry = json_object_get(json_object_get(c->source->root, "hosts"), out->host);
	if (!json_is_object(entry))
		return bad(c, where, "host '%s' is not in \"hosts\"", out->host);
	if (get_string(c, entry, "accel", false, "hosts", &out->host_accel) < 0 ||
	    one_of(c, out->host_accel, accels, "accel", "hosts") < 0)
		return -1;
	return 0;
}

static int load_platforms(struct ctx *c, json_t *list)
{
	static const char *const accels[] = {"native", "kvm", "tcg", "xen", "none", NULL};
	json_t *p;
	size_t i;
	char where[64];

	if (!json_is_array(list))
		return bad(c, "platforms", "must be a list");
	json_array_foreach(list, i, p)
	{
		struct vl_report_platform *out;
		json_t *usable = json_object_get(p, "usable");

		snprintf(where, sizeof(where), "platforms[%zu]", i);
		if (!json_is_object(p))
			return bad(c, where, "must be an object");
		if (grow(c, (void **)&c->m->platforms, &c->cap_platforms, c->m->nplatforms,
		         sizeof(*out)) < 0)
			return -1;
		out = &c->m->platforms[c->m->nplatforms];
		memset(out, 0, sizeof(*out));
		out->source = c->source;
		if (get_string(c, p, "name", true, where, &out->name) < 0 ||
		    get_string(c, p, "platform", false, where, &out->kind) < 0 ||
		    get_string(c, p, "reason", false, where, &out->reason) < 0 ||
		    get_string(c, p, "accel", false, where, &out->accel) < 0 ||
		    one_of(c, out->accel, accels, "accel", where) < 0)
			return -1;
		if (!out->kind)
			out->kind = out->name;
		if (load_host(c, p, where, out) < 0)
			return -1;
		if (!json_is_boolean(usable))
			return bad(c, where, "\"usable\" must be true or false");
		out->usable = json_is_true(usable);
		for (size_t j = 0; j < c->m->nplatforms; j++)
			if (c->m->platforms[j].source == c->source &&
			    strcmp(c->m->platforms[j].name, out->name) == 0)
				return bad(c, where, "platform '%s' is listed twice", out->name);
		if ((c->source->qualifier
		             ? asprintf(&out->label, "%s @ %s", out->name, c->source->qualifier)
		             : asprintf(&out->label, "%s", out->name)) < 0)
			return vl_error_errno(c->err, ENOMEM, "loading %s", c->file);
		c->m->nplatforms++;
	}
	return 0;
}

static int find_platform(struct ctx *c, const char *name, const char *where,
                         const struct vl_report_platform **out)
{
	for (size_t i = 0; i < c->m->nplatforms; i++)
		if (c->m->platforms[i].source == c->source &&
		    strcmp(c->m->platforms[i].name, name) == 0) {
			*out = &c->m->platforms[i];
			return 0;
		}
	return bad(c, where, "platform '%s' is not in \"platforms\"", name);
}

static int load_summary(struct ctx *c, json_t *s, const char *where, struct vl_report_summary *out)
{
	double n;

	if (get_number(c, s, "median", true, where, &out->median) < 0 ||
	    get_number(c, s, "ci_low", true, where, &out->ci_low) < 0 ||
	    get_number(c, s, "ci_high", true, where, &out->ci_high) < 0 ||
	    get_number(c, s, "n", true, where, &n) < 0 ||
	    get_number(c, s, "min", false, where, &out->min) < 0 ||
	    get_number(c, s, "max", false, where, &out->max) < 0 ||
	    get_number(c, s, "mean", false, where, &out->mean) < 0 ||
	    get_number(c, s, "cov", false, where, &out->cov) < 0 ||
	    get_number(c, s, "ci_level", false, where, &out->ci_level) < 0)
		return -1;
	if (n < 0 || n != floor(n))
		return bad(c, where, "\"n\" must be a count, not %g", n);
	if (out->ci_low > out->ci_high)
		return bad(c, where, "\"ci_low\" is above \"ci_high\"");
	out->n = (long long)n;
	return 0;
}

static int load_overhead(struct ctx *c, json_t *o, const char *where,
                         struct vl_report_overhead *out)
{
	json_t *sig = json_object_get(o, "significant");

	if (get_string(c, o, "against", false, where, &out->against) < 0 ||
	    get_number(c, o, "ratio", true, where, &out->ratio) < 0 ||
	    get_number(c, o, "ci_low", true, where, &out->ci_low) < 0 ||
	    get_number(c, o, "ci_high", true, where, &out->ci_high) < 0)
		return -1;
	if (sig && !json_is_boolean(sig))
		return bad(c, where, "\"significant\" must be true or false");
	if (!out->against)
		out->against = "bare";
	/* Where the file does not say, the interval does. */
	out->significant = sig ? json_is_true(sig) : !(out->ci_low <= 1 && 1 <= out->ci_high);
	return 0;
}

static int load_row(struct ctx *c, const char *experiment, json_t *r, const char *where)
{
	static const char *const statuses[] = {"ok", "failed", "unsupported", "untrustworthy",
	                                       NULL};
	struct vl_report_row *out;
	const char *platform;
	json_t *summary = json_object_get(r, "summary"), *overhead = json_object_get(r, "overhead");
	json_t *better = json_object_get(r, "better"), *v;
	size_t i;

	if (!json_is_object(r))
		return bad(c, where, "must be an object");
	if (grow(c, (void **)&c->m->rows, &c->cap_rows, c->m->nrows, sizeof(*out)) < 0)
		return -1;
	out = &c->m->rows[c->m->nrows];
	memset(out, 0, sizeof(*out));
	out->experiment = experiment;
	if (get_string(c, r, "figure", true, where, &out->figure) < 0 ||
	    get_string(c, r, "platform", true, where, &platform) < 0 ||
	    find_platform(c, platform, where, &out->platform) < 0 ||
	    get_string(c, r, "workload", true, where, &out->workload) < 0 ||
	    get_string(c, r, "variant", false, where, &out->variant) < 0 ||
	    get_string(c, r, "metric", true, where, &out->metric) < 0 ||
	    get_string(c, r, "unit", true, where, &out->unit) < 0 ||
	    get_string(c, r, "status", true, where, &out->status) < 0 ||
	    one_of(c, out->status, statuses, "status", where) < 0 ||
	    get_string(c, r, "reason", false, where, &out->reason) < 0)
		return -1;
	if (!json_is_integer(better) ||
	    (json_integer_value(better) != 1 && json_integer_value(better) != -1))
		return bad(c, where,
		           "\"better\" must be 1 (higher is better) or -1 (lower is better)");
	out->better = (int)json_integer_value(better);
	out->params = json_object_get(r, "params");
	out->samples = json_object_get(r, "samples");
	if (!json_is_array(out->samples))
		return bad(c, where, "\"samples\" must be a list of numbers");
	json_array_foreach(out->samples, i, v) if (!json_is_number(v)) return bad(
	        c, where, "\"samples\"[%zu] must be a number", i);
	if (json_is_object(summary)) {
		char sub[160];
		snprintf(sub, sizeof(sub), "%s.summary", where);
		if (load_summary(c, summary, sub, &out->summary) < 0)
			return -1;
		out->has_summary = true;
	} else if (summary && !json_is_null(summary)) {
		return bad(c, where, "\"summary\" must be an object or null");
	} else if (strcmp(out->status, "ok") == 0) {
		return bad(c, where, "status is ok but there is no \"summary\"");
	}
	if (json_is_object(overhead)) {
		char sub[160];
		snprintf(sub, sizeof(sub), "%s.overhead", where);
		if (load_overhead(c, overhead, sub, &out->overhead) < 0 ||
		    get_number(c, r, "restored", false, where, &out->overhead.restored) < 0)
			return -1;
		out->has_overhead = true;
	} else if (overhead && !json_is_null(overhead)) {
		return bad(c, where, "\"overhead\" must be an object or null");
	}
	c->m->nrows++;
	return 0;
}

static int load_feature(struct ctx *c, json_t *f, const char *where)
{
	static const char *const hows[] = {"detected", "measured", NULL};
	struct vl_report_feature *out;
	const char *platform;

	if (!json_is_object(f))
		return bad(c, where, "must be an object");
	if (grow(c, (void **)&c->m->features, &c->cap_features, c->m->nfeatures, sizeof(*out)) < 0)
		return -1;
	out = &c->m->features[c->m->nfeatures];
	memset(out, 0, sizeof(*out));
	if (get_string(c, f, "platform", true, where, &platform) < 0 ||
	    find_platform(c, platform, where, &out->platform) < 0 ||
	    get_string(c, f, "feature", true, where, &out->feature) < 0 ||
	    get_string(c, f, "how", false, where, &out->how) < 0 ||
	    get_string(c, f, "note", false, where, &out->note) < 0 ||
	    one_of(c, out->how, hows, "how", where) < 0)
		return -1;
	out->value = json_object_get(f, "value");
	c->m->nfeatures++;
	return 0;
}

static int load_experiment(struct ctx *c, const char *name, json_t *e)
{
	static const char *const statuses[] = {"done",   "partial", "skipped",
	                                       "failed", "running", NULL};
	struct vl_report_experiment *out;
	json_t *rows = json_object_get(e, "rows"), *features = json_object_get(e, "features"), *v;
	char where[160];
	size_t i;

	snprintf(where, sizeof(where), "experiments.%s", name);
	if (!json_is_object(e))
		return bad(c, where, "must be an object");
	if (grow(c, (void **)&c->m->experiments, &c->cap_experiments, c->m->nexperiments,
	         sizeof(*out)) < 0)
		return -1;
	out = &c->m->experiments[c->m->nexperiments];
	out->source = c->source;
	out->name = name;
	if (get_string(c, e, "status", true, where, &out->status) < 0 ||
	    one_of(c, out->status, statuses, "status", where) < 0 ||
	    get_string(c, e, "reason", false, where, &out->reason) < 0)
		return -1;
	c->m->nexperiments++;
	if (rows && !json_is_array(rows))
		return bad(c, where, "\"rows\" must be a list");
	if (features && !json_is_array(features))
		return bad(c, where, "\"features\" must be a list");
	json_array_foreach(rows, i, v)
	{
		snprintf(where, sizeof(where), "experiments.%s.rows[%zu]", name, i);
		if (load_row(c, name, v, where) < 0)
			return -1;
	}
	json_array_foreach(features, i, v)
	{
		snprintf(where, sizeof(where), "experiments.%s.features[%zu]", name, i);
		if (load_feature(c, v, where) < 0)
			return -1;
	}
	return 0;
}

static int load_source(struct ctx *c)
{
	json_t *root = c->source->root, *experiments, *e;
	const char *schema, *name;

	if (!json_is_object(root))
		return vl_error_input(c->err, "%s: the top level must be a JSON object", c->file);
	if (get_string(c, root, "schema", true, "top level", &schema) < 0)
		return -1;
	if (strcmp(schema, SCHEMA) != 0)
		return vl_error_input(c->err,
		                      "%s: schema is '%s', this virtlab reads '%s' (report it with "
		                      "the virtlab that wrote it)",
		                      c->file, schema, SCHEMA);
	if (!json_is_object(json_object_get(root, "host")))
		return bad(c, "host", "must be an object of host facts");
	if (!json_is_object(json_object_get(root, "plan")))
		return bad(c, "plan", "must be an object");
	if (load_platforms(c, json_object_get(root, "platforms")) < 0)
		return -1;
	experiments = json_object_get(root, "experiments");
	if (!json_is_object(experiments))
		return bad(c, "experiments", "must be an object");
	json_object_foreach(experiments, name, e) if (load_experiment(c, name, e) < 0) return -1;
	return 0;
}

static int read_source(const char *arg, struct vl_report_source *out, vl_error *err)
{
	struct stat st;
	json_error_t jerr;

	if (stat(arg, &st) < 0)
		return vl_error_input(err, "%s: %s (pass a study directory or its results.json)",
		                      arg, strerror(errno));
	if ((S_ISDIR(st.st_mode) ? asprintf(&out->path, "%s/results.json", arg)
	                         : asprintf(&out->path, "%s", arg)) < 0)
		return vl_error_errno(err, ENOMEM, "loading %s", arg);
	if (S_ISDIR(st.st_mode) && stat(out->path, &st) < 0)
		return vl_error_input(err,
		                      "%s: no results.json in this directory (pass the directory "
		                      "`virtlab study` wrote)",
		                      arg);
	out->root = json_load_file(out->path, JSON_REJECT_DUPLICATES, &jerr);
	if (!out->root)
		return vl_error_input(err, "%s:%d:%d: not valid JSON: %s", out->path, jerr.line,
		                      jerr.column, jerr.text);
	return 0;
}

/* Host names tell merged sources apart unless two share one; then the
 * directories given do. */
static int qualify_sources(struct vl_report_model *m, const char *const *paths, vl_error *err)
{
	bool by_host = true;

	if (m->nsources < 2)
		return 0;
	for (size_t i = 0; i < m->nsources && by_host; i++) {
		json_t *hi =
		        json_object_get(json_object_get(m->sources[i].root, "host"), "hostname");
		by_host = json_is_string(hi);
		for (size_t j = 0; j < i && by_host; j++) {
			json_t *hj = json_object_get(json_object_get(m->sources[j].root, "host"),
			                             "hostname");
			by_host = !json_equal(hi, hj);
		}
	}
	for (size_t i = 0; i < m->nsources; i++) {
		const char *q =
		        by_host ? json_string_value(json_object_get(
		                          json_object_get(m->sources[i].root, "host"), "hostname"))
		                : paths[i];
		m->sources[i].qualifier = strdup(q);
		if (!m->sources[i].qualifier)
			return vl_error_errno(err, ENOMEM, "merging results");
	}
	return 0;
}

int vl_report_model_load(struct vl_report_model *m, const char *const *paths, size_t n,
                         vl_error *err)
{
	struct ctx c = {.err = err, .m = m};

	memset(m, 0, sizeof(*m));
	if (n == 0)
		return vl_error_input(err,
		                      "no results to report (give at least one study directory)");
	m->sources = calloc(n, sizeof(*m->sources));
	if (!m->sources)
		return vl_error_errno(err, ENOMEM, "loading results");
	for (size_t i = 0; i < n; i++) {
		m->nsources++;
		if (read_source(paths[i], &m->sources[i], err) < 0)
			goto fail;
	}
	if (qualify_sources(m, paths, err) < 0)
		goto fail;
	/* Rows point at platforms: the array is sized once so that they stay put. */
	for (size_t i = 0; i < n; i++)
		c.cap_platforms +=
		        json_array_size(json_object_get(m->sources[i].root, "platforms"));
	m->platforms = calloc(c.cap_platforms + 1, sizeof(*m->platforms));
	if (!m->platforms) {
		vl_error_errno(err, ENOMEM, "loading results");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		c.file = m->sources[i].path;
		c.source = &m->sources[i];
		if (load_source(&c) < 0)
			goto fail;
	}
	return 0;
fail:
	vl_report_model_free(m);
	return -1;
}

void vl_report_model_free(struct vl_report_model *m)
{
	for (size_t i = 0; i < m->nplatforms; i++)
		free(m->platforms[i].label);
	for (size_t i = 0; i < m->nsources; i++) {
		free(m->sources[i].path);
		free(m->sources[i].qualifier);
		json_decref(m->sources[i].root);
	}
	free(m->platforms);
	free(m->experiments);
	free(m->rows);
	free(m->features);
	free(m->sources);
	memset(m, 0, sizeof(*m));
}
