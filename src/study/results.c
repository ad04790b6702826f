#include "study/results.h"
#include "core/cleanup.h"
#include "core/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *vl_results_now(void)
{
	char text[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(text);
}

static int set_paths(struct vl_results *r, const char *dir, vl_error *err)
{
	int n = snprintf(r->dir, sizeof(r->dir), "%s", dir);
	int m = snprintf(r->path, sizeof(r->path), "%s/results.json", dir);

	if (n < 0 || (size_t)n >= sizeof(r->dir) || m < 0 || (size_t)m >= sizeof(r->path))
		return vl_error_input(err, "results directory '%s' is too long", dir);
	return 0;
}

int vl_results_create(struct vl_results *r, const char *dir, json_t *host, json_t *plan,
                      json_t *platforms, vl_error *err)
{
	memset(r, 0, sizeof(*r));
	if (set_paths(r, dir, err) < 0) {
		json_decref(platforms);
		return -1;
	}
	if (vl_mkdir_p(dir, 0755, err) < 0) {
		json_decref(platforms);
		return vl_error_wrap(err, "creating the results directory");
	}
	r->root =
	        json_pack("{s:s, s:s, s:o, s:n, s:O, s:O, s:o, s:{}}", "schema", VL_RESULTS_SCHEMA,
	                  "virtlab_version", VL_VERSION, "started", vl_results_now(), "finished",
	                  "host", host, "plan", plan, "platforms", platforms, "experiments");
	if (!r->root)
		return vl_error_set(err, "building the results file");
	return vl_results_save(r, err);
}

int vl_results_load(struct vl_results *r, const char *dir, vl_error *err)
{
	json_error_t jerr;
	const char *schema;

	memset(r, 0, sizeof(*r));
	if (set_paths(r, dir, err) < 0)
		return -1;
	r->root = json_load_file(r->path, 0, &jerr);
	if (!r->root)
		return vl_error_input(err, "%s: %s (line %d): give the directory of a study",
		                      r->path, jerr.text, jerr.line);
	schema = json_string_value(json_object_get(r->root, "schema"));
	if (!schema || strcmp(schema, VL_RESULTS_SCHEMA) != 0 ||
	    !json_is_object(json_object_get(r->root, "experiments")) ||
	    !json_is_object(json_object_get(r->root, "plan"))) {
		vl_results_release(r);
		return vl_error_input(err, "%s is not a %s file", r->path, VL_RESULTS_SCHEMA);
	}
	return 0;
}

void vl_results_release(struct vl_results *r)
{
	json_decref(r->root);
	r->root = NULL;
}

int vl_results_save(struct vl_results *r, vl_error *err)
{
	cleanup_free char *text = json_dumps(r->root, JSON_INDENT(1) | JSON_REAL_PRECISION(17));

	if (!text)
		return vl_error_set(err, "serialising %s", r->path);
	if (vl_write_file_atomic(r->path, text, strlen(text), err) < 0)
		return vl_error_wrap(err, "saving the results");
	return 0;
}

static json_t *experiment(struct vl_results *r, const char *name)
{
	return json_object_get(json_object_get(r->root, "experiments"), name);
}

bool vl_results_experiment_done(struct vl_results *r, const char *name)
{
	const char *status = json_string_value(json_object_get(experiment(r, name), "status"));

	return status && strcmp(status, "done") == 0;
}

int vl_results_begin(struct vl_results *r, const char *name, vl_error *err)
{
	json_t *e = json_pack("{s:s, s:n, s:o, s:n, s:[]}", "status", "partial", "reason",
	                      "started", vl_results_now(), "finished", "rows");

	if (!e)
		return vl_error_set(err, "building experiment %s", name);
	if (strcmp(name, "features") == 0)
		json_object_set_new(e, "features", json_array());
	json_object_set_new(json_object_get(r->root, "experiments"), name, e);
	return vl_results_save(r, err);
}

static int append(struct vl_results *r, const char *name, const char *list, json_t *item,
                  vl_error *err)
{
	json_t *array = json_object_get(experiment(r, name), list);

	if (!array || json_array_append_new(array, item) < 0)
		return vl_error_set(err, "experiment %s has no %s to add to", name, list);
	return vl_results_save(r, err);
}

int vl_results_add_row(struct vl_results *r, const char *name, json_t *row, vl_error *err)
{
	return append(r, name, "rows", row, err);
}

int vl_results_add_feature(struct vl_results *r, const char *name, json_t *feature, vl_error *err)
{
	return append(r, name, "features", feature, err);
}

int vl_results_end(struct vl_results *r, const char *name, const char *status, const char *reason,
                   vl_error *err)
{
	json_t *e = experiment(r, name);

	if (!e) {
		if (vl_results_begin(r, name, err) < 0)
			return -1;
		e = experiment(r, name);
	}
	json_object_set_new(e, "status", json_string(status));
	json_object_set_new(e, "reason", reason ? json_string(reason) : json_null());
	json_object_set_new(e, "finished", vl_results_now());
	return vl_results_save(r, err);
}

int vl_results_finish(struct vl_results *r, vl_error *err)
{
	json_object_set_new(r->root, "finished", vl_results_now());
	return vl_results_save(r, err);
}
