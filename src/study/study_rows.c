/* Rows of results.json (docs/results-schema.md, "Study results"). */
#include "study/experiment.h"
#include "core/stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static json_t *samples_json(const struct vl_series *s)
{
	json_t *a = json_array();

	for (size_t i = 0; s && i < s->n; i++)
		json_array_append_new(a, json_real(s->samples[i]));
	return a;
}

static json_t *summary_json(const struct vl_series *s)
{
	struct vl_summary sum;

	if (!s || s->n == 0)
		return json_null();
	vl_summarize(s->samples, s->n, &sum);
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:b}", "median", sum.median,
	                 "min", sum.min, "max", sum.max, "mean", sum.mean, "cov", sum.cov, "ci_low",
	                 sum.ci_low, "ci_high", sum.ci_high, "ci_level", sum.ci_level, "n",
	                 (json_int_t)sum.n, "converged", s->converged);
}

static json_t *row_new(const char *figure, const char *platform, const char *workload,
                       const char *variant, json_t *params, const char *metric, const char *unit,
                       int better, enum vl_status status, const char *reason,
                       const struct vl_series *s)
{
	json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:i, s:s, s:o, s:o, s:o, s:n}",
	                        "figure", figure, "platform", platform, "workload", workload,
	                        "variant", variant ? variant : "", "params",
	                        params ? params : json_object(), "metric", metric, "unit", unit,
	                        "better", better, "status", vl_status_name(status), "reason",
	                        reason && reason[0] ? json_string(reason) : json_null(), "samples",
	                        samples_json(s), "summary", summary_json(s), "overhead");

	if (!row)
		abort();
	return row;
}

json_t *vl_study_row(const char *figure, const char *platform, const char *workload,
                     const char *variant, json_t *params, const char *metric, const char *unit,
                     int better, const struct vl_series *s)
{
	return row_new(figure, platform, workload, variant, params, metric, unit, better, s->status,
	               s->reason, s);
}

json_t *vl_study_row_missing(const char *figure, const char *platform, const char *workload,
                             const char *variant, const char *metric, const char *unit, int better,
                             enum vl_status status, const char *reason)
{
	return row_new(figure, platform, workload, variant, NULL, metric, unit, better, status,
	               reason, NULL);
}

void vl_study_row_overhead(json_t *row, const char *against, const struct vl_series *base,
                           const struct vl_series *s, int better)
{
	struct vl_overhead o;

	if (base->status == VL_STATUS_FAILED || s->status == VL_STATUS_FAILED ||
	    vl_overhead_ratio(base->samples, base->n, s->samples, s->n, better, &o) < 0)
		return;
	json_object_set_new(row, "overhead",
	                    json_pack("{s:s, s:f, s:f, s:f, s:f, s:b}", "against", against, "ratio",
	                              o.ratio, "ci_low", o.ci_low, "ci_high", o.ci_high, "ci_level",
	                              o.ci_level, "significant", o.significant));
}

int vl_study_add_row(struct vl_study_ctx *ctx, json_t *row, vl_error *err)
{
	return vl_results_add_row(ctx->results, ctx->experiment, row, err);
}

int vl_study_add_feature(struct vl_study_ctx *ctx, const char *platform, const char *feature,
                         json_t *value, const char *how, const char *note, vl_error *err)
{
	json_t *f = json_pack("{s:s, s:s, s:o, s:s, s:o}", "platform", platform, "feature", feature,
	                      "value", value ? value : json_null(), "how", how, "note",
	                      note ? json_string(note) : json_null());

	if (!f)
		abort();
	return vl_results_add_feature(ctx->results, ctx->experiment, f, err);
}

void vl_study_report(struct vl_study_ctx *ctx, const char *platform, const char *what,
                     unsigned sample)
{
	struct vl_study_progress p = {
	        .experiment = ctx->experiment,
	        .experiment_index = ctx->experiment_index,
	        .n_experiments = ctx->n_experiments,
	        .fraction = ctx->fraction,
	        .platform = platform,
	        .what = what,
	        .sample = sample,
	        .repeat_max = ctx->plan->repeat_max,
	};

	if (ctx->progress)
		ctx->progress(ctx->progress_arg, &p);
}

size_t vl_study_split(const char *list, char items[][64], size_t max)
{
	size_t n = 0;

	while (*list && n < max) {
		size_t len = strcspn(list, ",");
		if (len && len < 64) {
			memcpy(items[n], list, len);
			items[n++][len] = '\0';
		}
		list += len;
		if (*list == ',')
			list++;
	}
	return n;
}
