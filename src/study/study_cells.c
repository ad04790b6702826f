/* Measuring workloads on guests: the bridge between the measurement loop
 * (measure.c) and the agent (workload_run.c). */
#include "study/experiment.h"
#include "core/cleanup.h"
#include "core/interrupt.h"
#include "study/workload_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vl_cell_init(struct vl_cell *cell, const struct vl_study_platform *sp, struct vl_guest *g,
                 const char *workload, const char *variant, const char *const *assignments,
                 vl_error *err)
{
	const struct vl_workload *w = vl_workload_find(workload);

	memset(cell, 0, sizeof(*cell));
	if (!w)
		return vl_error_set(err, "workload %s is not built in", workload);
	cell->sp = sp;
	cell->guest = g;
	snprintf(cell->variant, sizeof(cell->variant), "%s", variant ? variant : "");
	if (vl_params_init(&cell->params, w, err) < 0)
		return -1;
	for (const char *const *a = assignments; a && *a; a++)
		if (vl_params_set_assignment(&cell->params, *a, err) < 0)
			return vl_error_wrap(err, "%s", workload);
	if (vl_params_validate(&cell->params, err) < 0)
		return vl_error_wrap(err, "%s", workload);
	return 0;
}

const struct vl_metric_spec *vl_cell_metric(const struct vl_cell *cell)
{
	const struct vl_metric_spec *m = cell->params.workload->metrics;

	if (!cell->metric)
		return m;
	for (; m->name; m++)
		if (strcmp(m->name, cell->metric) == 0)
			return m;
	abort(); /* an experiment asked for a metric its workload lacks */
}

struct sampling {
	struct vl_study_ctx *ctx;
	struct vl_cell *cells;
	unsigned *taken;
};

static int sample_cell(void *arg, size_t i, bool warmup, double *value, char *reason,
                       size_t reason_size, vl_error *err)
{
	struct sampling *s = arg;
	struct vl_cell *cell = &s->cells[i];
	const struct vl_metric_spec *m = vl_cell_metric(cell);
	cleanup_json json_t *out = NULL;
	json_t *sample, *v;
	char what[160];

	if (!cell->guest) {
		snprintf(reason, reason_size, "the guest did not start: %s", cell->down);
		return 0;
	}
	snprintf(what, sizeof(what), "%s %s", cell->params.workload->name, cell->variant);
	vl_study_report(s->ctx, cell->sp->label, what, warmup ? 0 : ++s->taken[i]);
	if (vl_run_workload(cell->guest, &cell->params, 1, 0,
	                    vl_study_size_double(s->ctx->plan, "timeout"), &out, err) < 0) {
		if (vl_study_interrupted())
			return -1;
		/* A guest that died fails its cell; the other platforms go on. */
		snprintf(reason, reason_size, "%s", err->msg);
		vl_error_clear(err);
		return 0;
	}
	sample = json_array_get(json_object_get(out, "samples"), 0);
	if (strcmp(json_string_value(json_object_get(sample, "status")), "ok") != 0) {
		snprintf(reason, reason_size, "%s: %s",
		         json_string_value(json_object_get(sample, "status")),
		         json_string_value(json_object_get(sample, "reason"))
		                 ? json_string_value(json_object_get(sample, "reason"))
		                 : "no reason given");
		return 0;
	}
	v = json_object_get(json_object_get(sample, "metrics"), m->name);
	if (!json_is_number(v)) {
		snprintf(reason, reason_size, "the sample has no %s", m->name);
		return 0;
	}
	*value = json_number_value(v);
	return 1;
}

int vl_cells_sample(struct vl_study_ctx *ctx, struct vl_cell *cells, size_t n,
                    struct vl_series *series, vl_error *err)
{
	const struct vl_study_plan *p = ctx->plan;
	struct vl_measure_opts o = {
	        .repeat_min = p->repeat_min,
	        .repeat_max = p->repeat_max,
	        .warmup = p->warmup,
	        .ci_target = p->ci_target,
	        .stop = vl_interrupt_flag(),
	};
	cleanup_free unsigned *taken = calloc(n ? n : 1, sizeof(*taken));
	struct sampling s = {ctx, cells, taken};

	if (!taken)
		return vl_error_set(err, "allocating the measurement");
	memset(series, 0, n * sizeof(*series));
	return vl_measure_interleaved(&o, n, sample_cell, &s, series, err);
}

static const struct vl_cell *baseline_of(const struct vl_cell *cells, size_t n,
                                         const struct vl_cell *c)
{
	for (size_t i = 0; i < n; i++)
		if (vl_study_is_baseline(cells[i].sp) &&
		    strcmp(cells[i].variant, c->variant) == 0 &&
		    cells[i].params.workload == c->params.workload)
			return &cells[i];
	return NULL;
}

int vl_cells_write(struct vl_study_ctx *ctx, const char *figure, const struct vl_cell *cells,
                   size_t n, const struct vl_series *series, json_t *extra, vl_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct vl_metric_spec *m = vl_cell_metric(&cells[i]);
		const struct vl_cell *base = baseline_of(cells, n, &cells[i]);
		json_t *params = vl_params_to_json(&cells[i].params);
		json_t *row;

		if (extra)
			json_object_update(params, extra);
		row = vl_study_row(figure, cells[i].sp->label, cells[i].params.workload->name,
		                   cells[i].variant, params, m->name, m->unit, m->better,
		                   &series[i]);
		if (base && base != &cells[i])
			vl_study_row_overhead(row, base->sp->label, &series[base - cells],
			                      &series[i], m->better);
		if (vl_study_add_row(ctx, row, err) < 0)
			return -1;
	}
	return 0;
}

int vl_cells_measure(struct vl_study_ctx *ctx, const char *figure, struct vl_cell *cells, size_t n,
                     vl_error *err)
{
	cleanup_free struct vl_series *series = calloc(n ? n : 1, sizeof(*series));
	int rc;

	if (!series)
		return vl_error_set(err, "allocating the measurement");
	rc = vl_cells_sample(ctx, cells, n, series, err);
	if (rc == 0)
		rc = vl_cells_write(ctx, figure, cells, n, series, NULL, err);
	for (size_t i = 0; i < n; i++)
		vl_series_release(&series[i]);
	return rc;
}
