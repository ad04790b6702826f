/* results.json (docs/results-schema.md, "Study results"): the study's one
 * output, rewritten atomically whenever it changes, so that a reader (or a
 * --resume after kill -9) always finds a complete file. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <jansson.h>
#include "core/error.h"

#define VL_RESULTS_SCHEMA "virtlab-results/1"

struct vl_results {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	json_t *root;
};

/* A new file in dir (created): host and plan are not stolen; platforms is
 * [{"name", "usable", "reason", "accel"}], stolen. */
int vl_results_create(struct vl_results *r, const char *dir, json_t *host, json_t *plan,
                      json_t *platforms, vl_error *err);
/* Reads dir/results.json for --resume; checks the schema. */
int vl_results_load(struct vl_results *r, const char *dir, vl_error *err);
void vl_results_release(struct vl_results *r);
int vl_results_save(struct vl_results *r, vl_error *err);

bool vl_results_experiment_done(struct vl_results *r, const char *name);
/* Starts (or restarts) an experiment: status partial, no rows. */
int vl_results_begin(struct vl_results *r, const char *name, vl_error *err);
/* Appends a row (stolen) and saves. */
int vl_results_add_row(struct vl_results *r, const char *name, json_t *row, vl_error *err);
/* Appends a feature {"platform", "feature", "value", "how"} (stolen) and saves. */
int vl_results_add_feature(struct vl_results *r, const char *name, json_t *feature, vl_error *err);
/* status: done, partial, skipped or failed; reason may be NULL. Saves. */
int vl_results_end(struct vl_results *r, const char *name, const char *status, const char *reason,
                   vl_error *err);
/* Sets "finished" and saves. */
int vl_results_finish(struct vl_results *r, vl_error *err);
/* "2026-11-25T21:40:00Z" */
json_t *vl_results_now(void);
