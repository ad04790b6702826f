/* virtlab study: runs the plan's experiments on its usable platforms into a
 * results directory (docs/methodology.md, "The study"). */
#pragma once
#include <stddef.h>
#include <jansson.h>
#include "core/error.h"
#include "study/experiment.h"
#include "study/plan.h"
#include "study/results.h"

struct vl_study_options {
	vl_study_progress_fn progress; /* may be NULL */
	void *progress_arg;
};

/* results/<YYYYMMDD-HHMMSS>-<hostname> */
void vl_study_default_dir(char *buf, size_t size);
/* Probes the plan's platforms, gathers the host's facts and writes a new
 * results file in dir. */
int vl_study_create(struct vl_study_plan *plan, const char *dir, struct vl_results *out,
                    vl_error *err);
/* Loads dir's results file and its plan (released by the caller), probing
 * the platforms again. */
int vl_study_load(const char *dir, struct vl_study_plan *plan, struct vl_results *out,
                  vl_error *err);
/* Runs every experiment of the plan not yet done. An experiment that fails
 * is recorded as failed and the study goes on; an interruption ends it with
 * an error, the finished experiments kept. */
int vl_study_run(struct vl_study_plan *plan, struct vl_results *r, const struct vl_study_options *o,
                 vl_error *err);
/* Warnings about the host's state (busy machine) and about rows whose
 * CoV exceeds 5%; a new array. */
json_t *vl_study_warnings(struct vl_results *r);
