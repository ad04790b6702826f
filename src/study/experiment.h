/* An experiment of the study: one file each (exp_*.c), listed once in
 * experiments.c. It gets the plan, the usable platforms and the results
 * writer through struct vl_study_ctx, creates its guests through the
 * platform operations, always destroys them, and writes rows
 * (docs/results-schema.md, "Study results"). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "core/error.h"
#include "platforms/platform.h"
#include "study/measure.h"
#include "study/plan.h"
#include "study/results.h"
#include "workloads/workload.h"

struct vl_study_progress {
	const char *experiment;
	size_t experiment_index; /* 0-based, of n_experiments */
	size_t n_experiments;
	double fraction; /* of this experiment done, 0..1 */
	const char *platform;
	const char *what; /* workload and variant */
	unsigned sample;  /* 1-based within the cell, 0 for a warmup or an operation */
	unsigned repeat_max;
};

typedef void (*vl_study_progress_fn)(void *arg, const struct vl_study_progress *p);

struct vl_study_ctx {
	const struct vl_study_plan *plan;
	/* The plan's usable platforms; the baseline (bare), when present, is
	 * the first. */
	const struct vl_study_platform *platforms[VL_STUDY_MAX_PLATFORMS];
	size_t n_platforms;
	struct vl_results *results;
	json_t *host;            /* host facts */
	const char *workdir;     /* for disk workloads on the baseline */
	const char *experiment;  /* the one running */
	size_t experiment_index; /* for progress */
	size_t n_experiments;
	double fraction;
	vl_study_progress_fn progress; /* may be NULL */
	void *progress_arg;
	unsigned next_guest; /* numbers guest names */
};

struct vl_experiment {
	const char *name;
	const char *figures; /* the thesis's, e.g. "4.1-4.4" */
	const char *summary;
	/* Returns -1 when it could not go on (the rows written so far stay). */
	int (*run)(struct vl_study_ctx *ctx, vl_error *err);
};

/* experiments.c */
const struct vl_experiment *vl_experiment_find(const char *name);
const struct vl_experiment *const *vl_experiment_all(size_t *count);

/* --- helpers for experiments (study_guest.c) --- */

/* Guests an experiment made; vl_guests_down destroys them all, on every path. */
#define VL_STUDY_MAX_GUESTS 16
struct vl_guests {
	struct vl_guest *g[VL_STUDY_MAX_GUESTS];
	size_t n;
};

/* Creates a guest named virtlab-<pid>-<n> with spec's resources, in the set,
 * without provisioning it. */
int vl_guests_new(struct vl_study_ctx *ctx, struct vl_guests *set,
                  const struct vl_study_platform *sp, const struct vl_guest_spec *spec,
                  struct vl_guest **out, vl_error *err);
/* The same, provisioned (when the platform can) and started. */
int vl_guests_up(struct vl_study_ctx *ctx, struct vl_guests *set,
                 const struct vl_study_platform *sp, const struct vl_guest_spec *spec,
                 struct vl_guest **out, vl_error *err);
/* One guest per platform of ctx, with spec's cpus and memory_bytes where
 * they are not 0. A platform whose guest does not start gets g[i] NULL and
 * its error in down[i]: its cells then give failed rows and the others
 * still run. Fails only when interrupted. */
#define VL_DOWN_MAX 256
int vl_guests_up_each(struct vl_study_ctx *ctx, struct vl_guests *set,
                      const struct vl_guest_spec *spec, struct vl_guest **g,
                      char down[][VL_DOWN_MAX], vl_error *err);
/* For experiments that go platform by platform: runs fn on each; a platform
 * that fails gets a failed row (figure, workload = the experiment) and the
 * others still run. Fails only when interrupted or the results cannot be
 * written. */
int vl_study_each_platform(struct vl_study_ctx *ctx, const char *figure,
                           int (*fn)(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                                     void *arg, vl_error *err),
                           void *arg, vl_error *err);
/* Stops and destroys every guest of the set, errors logged at debug level. */
void vl_guests_down(struct vl_guests *set);
/* Takes a guest out of the set (the caller destroyed it). */
void vl_guests_forget(struct vl_guests *set, struct vl_guest *g);
/* Stops and destroys one guest of the set. */
void vl_guests_drop(struct vl_guests *set, struct vl_guest *g);
/* A spec with the study's defaults: the host's CPUs and memory, workdir for
 * the baseline. */
void vl_study_spec(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                   struct vl_guest_spec *out);
unsigned vl_study_host_cpus(struct vl_study_ctx *ctx);
uint64_t vl_study_host_memory(struct vl_study_ctx *ctx);
bool vl_study_is_baseline(const struct vl_study_platform *sp);
bool vl_study_interrupted(void);

/* --- measuring workloads on guests (study_cells.c) --- */

/* One workload on one guest, one metric of it. */
struct vl_cell {
	const struct vl_study_platform *sp;
	struct vl_guest *guest; /* NULL: its guest did not start, down says why */
	const char *down;
	struct vl_params params;
	const char *metric; /* NULL: the primary */
	char variant[96];
};

/* Initialises the params of cell from workload name and "k=v" assignments,
 * NULL-terminated. */
int vl_cell_init(struct vl_cell *cell, const struct vl_study_platform *sp, struct vl_guest *g,
                 const char *workload, const char *variant, const char *const *assignments,
                 vl_error *err);
/* Measures cells interleaved with the plan's repeats and writes one row per
 * cell, with the overhead against the cell of the baseline platform with the
 * same workload and variant. */
int vl_cells_measure(struct vl_study_ctx *ctx, const char *figure, struct vl_cell *cells, size_t n,
                     vl_error *err);
/* Writes the rows of measured cells; extra (not stolen, may be NULL) is
 * merged into each row's params. */
int vl_cells_write(struct vl_study_ctx *ctx, const char *figure, const struct vl_cell *cells,
                   size_t n, const struct vl_series *series, json_t *extra, vl_error *err);
/* Measures cells without writing rows; the caller releases each series
 * (also after a failure). */
int vl_cells_sample(struct vl_study_ctx *ctx, struct vl_cell *cells, size_t n,
                    struct vl_series *series, vl_error *err);

/* --- rows (study_rows.c) --- */

const struct vl_metric_spec *vl_cell_metric(const struct vl_cell *cell);
/* A row from a series; params is stolen (may be NULL). */
json_t *vl_study_row(const char *figure, const char *platform, const char *workload,
                     const char *variant, json_t *params, const char *metric, const char *unit,
                     int better, const struct vl_series *s);
/* A row that could not be measured: status unsupported or failed. */
json_t *vl_study_row_missing(const char *figure, const char *platform, const char *workload,
                             const char *variant, const char *metric, const char *unit, int better,
                             enum vl_status status, const char *reason);
/* Sets row's "overhead" from the two series (null when it cannot be computed). */
void vl_study_row_overhead(json_t *row, const char *against, const struct vl_series *base,
                           const struct vl_series *s, int better);
int vl_study_add_row(struct vl_study_ctx *ctx, json_t *row, vl_error *err);
int vl_study_add_feature(struct vl_study_ctx *ctx, const char *platform, const char *feature,
                         json_t *value, const char *how, const char *note, vl_error *err);
void vl_study_report(struct vl_study_ctx *ctx, const char *platform, const char *what,
                     unsigned sample);
/* Splits a comma-separated size list into items; returns how many (at most max). */
size_t vl_study_split(const char *list, char items[][64], size_t max);
