/* Runs a workload on a started guest through its agent and gives the result
 * in the shape of `virtlab run --json` (docs/results-schema.md), which the
 * study's results reuse. */
#pragma once
#include <jansson.h>
#include "core/error.h"
#include "platforms/platform.h"
#include "workloads/workload.h"

/* Runs p->workload warmup + repeat times (the agent discards the warmups).
 * *out: {"workload", "params", "platform", "repeat", "warmup", "primary",
 * "samples", "summary"}. A sample that is not ok is data, not an error. */
int vl_run_workload(struct vl_guest *g, const struct vl_params *p, unsigned repeat, unsigned warmup,
                    double timeout_s, json_t **out, vl_error *err);
/* {metric: {"median", "min", "max", "cov", "ci_low", "ci_high", "ci_level",
 * "n", "unit"}} over the samples whose status is ok; a metric no such sample
 * has is left out. samples is not stolen. */
json_t *vl_summarize_samples(const struct vl_workload *w, json_t *samples);
/* The number of samples whose status is not ok. */
size_t vl_samples_not_ok(json_t *samples);
