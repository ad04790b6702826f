#include "study/neighbour.h"
#include "agent/client.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/interrupt.h"

#include <stdio.h>
#include <string.h>

#define STRESS_TIMEOUT_S 30.0

static const char *const resource_names[VL_N_RESOURCES] = {"cpu", "memory", "disk"};
static const char *const resource_figures[VL_N_RESOURCES] = {"6.2", "6.3", "6.5"};
static const char *const stressors[VL_N_RESOURCES] = {"stress.cpu", "stress.vm", "stress.hdd"};

int vl_resource_from_name(const char *name)
{
	for (int r = 0; r < VL_N_RESOURCES; r++)
		if (strcmp(resource_names[r], name) == 0)
			return r;
	return -1;
}

const char *vl_resource_name(enum vl_resource r)
{
	return resource_names[r];
}

const char *vl_resource_figure(enum vl_resource r)
{
	return resource_figures[r];
}

/* A's workload: w1 (the prime search over every CPU), w2 (a memory copy the
 * size of the first of mem.sizes) or w4 (4 KiB direct random reads, which a
 * writing neighbour hurts most). */
static int workload_cell(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                         struct vl_guest *a, enum vl_resource r, struct vl_cell *cell,
                         vl_error *err)
{
	const struct vl_study_plan *p = ctx->plan;
	char x[6][96], sizes[1][64];

	switch (r) {
	case VL_RESOURCE_CPU: {
		const char *args[] = {x[0], x[1], NULL};
		snprintf(x[0], 96, "threads=%u", vl_study_host_cpus(ctx));
		snprintf(x[1], 96, "events=%s", vl_study_size(p, "cpu.primes.events"));
		if (vl_cell_init(cell, sp, a, "cpu.primes", "", args, err) < 0)
			return -1;
		cell->metric = "seconds";
		return 0;
	}
	case VL_RESOURCE_MEMORY: {
		const char *args[] = {x[0], "methods=memcpy", x[1], NULL};
		vl_study_split(vl_study_size(p, "mem.sizes"), sizes, 1);
		snprintf(x[0], 96, "size=%s", sizes[0]);
		snprintf(x[1], 96, "min_time=%s", vl_study_size(p, "mem.min_time"));
		return vl_cell_init(cell, sp, a, "mem.copy", "", args, err);
	}
	default: {
		const char *args[] = {"mode=rndrd", "direct=true", "block=4K", x[0],
		                      x[1],         x[2],          NULL};
		snprintf(x[0], 96, "file_num=%s", vl_study_size(p, "disk.file_num"));
		snprintf(x[1], 96, "file_total_size=%s", vl_study_size(p, "disk.file_total_size"));
		snprintf(x[2], 96, "events=%s", vl_study_size(p, "disk.events"));
		if (vl_cell_init(cell, sp, a, "disk.rand", "", args, err) < 0)
			return -1;
		cell->metric = "iops";
		return 0;
	}
	}
}

static json_t *stressor_params(struct vl_study_ctx *ctx, enum vl_resource r)
{
	const struct vl_study_plan *p = ctx->plan;
	unsigned workers = (unsigned)vl_study_size_double(p, "isolation.workers");

	if (workers == 0)
		workers = vl_study_host_cpus(ctx);
	switch (r) {
	case VL_RESOURCE_CPU:
		return json_pack("{s:i}", "workers", workers);
	case VL_RESOURCE_MEMORY:
		return json_pack("{s:i, s:s}", "workers", 1, "vm_bytes",
		                 vl_study_size(p, "isolation.vm_bytes"));
	default:
		return json_pack("{s:i, s:s}", "workers", 1, "hdd_bytes",
		                 vl_study_size(p, "isolation.hdd_bytes"));
	}
}

static void stop_stressor(struct vl_guest *b, struct vl_agent_client *c, unsigned id,
                          const struct vl_entitlement *lift, struct vl_neighbour_run *out)
{
	cleanup_json json_t *sample = NULL;
	vl_error err = {0};
	const char *status;
	json_t *ops;

	if (lift && b->platform->apply_entitlement &&
	    b->platform->apply_entitlement(b, lift, &err) < 0) {
		snprintf(out->neighbour_reason, sizeof(out->neighbour_reason),
		         "lifting its policy: %s", err.msg);
		vl_error_clear(&err);
	}
	if (vl_agent_stress_stop(c, id, STRESS_TIMEOUT_S, &sample, &err) < 0) {
		snprintf(out->neighbour_reason, sizeof(out->neighbour_reason), "%s", err.msg);
		return;
	}
	status = json_string_value(json_object_get(sample, "status"));
	ops = json_object_get(json_object_get(sample, "metrics"), "ops_per_sec");
	out->survived = status && strcmp(status, "ok") == 0;
	if (!out->survived)
		snprintf(out->neighbour_reason, sizeof(out->neighbour_reason), "%s: %s",
		         status ? status : "no status",
		         json_string_value(json_object_get(sample, "reason"))
		                 ? json_string_value(json_object_get(sample, "reason"))
		                 : "no reason given");
	if (json_is_number(ops))
		out->neighbour_ops = json_number_value(ops);
}

int vl_neighbour_measure(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                         struct vl_guest *a, struct vl_guest *b, enum vl_resource r,
                         const struct vl_entitlement *lift, struct vl_neighbour_run *out,
                         vl_error *err)
{
	cleanup_json json_t *params = stressor_params(ctx, r);
	struct vl_agent_client *c = NULL;
	unsigned id;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	out->stressor = stressors[r];
	out->neighbour_ops = -1;
	if (workload_cell(ctx, sp, a, r, &out->cell, err) < 0)
		return -1;
	snprintf(out->cell.variant, sizeof(out->cell.variant), "neighbour=none");
	if (vl_cells_sample(ctx, &out->cell, 1, &out->alone, err) < 0)
		return -1;
	if (b->platform->open_channel(b, &fd, err) < 0 || vl_agent_client_new(fd, &c, err) < 0 ||
	    vl_agent_stress_start(c, stressors[r], params, STRESS_TIMEOUT_S, &id, err) < 0) {
		vl_agent_client_free(c);
		return vl_error_wrap(err, "starting %s in the neighbour", stressors[r]);
	}
	vl_sleep_ns((uint64_t)(vl_study_size_double(ctx->plan, "isolation.settle") * 1e9),
	            vl_interrupt_flag());
	snprintf(out->cell.variant, sizeof(out->cell.variant), "neighbour=%s", stressors[r]);
	rc = vl_cells_sample(ctx, &out->cell, 1, &out->stressed, err);
	/* Stopped on every path, also after an interruption: B's agent then
	 * ends it anyway, but its figure is kept when it can be. */
	stop_stressor(b, c, id, lift, out);
	vl_agent_client_free(c);
	return rc;
}

void vl_neighbour_release(struct vl_neighbour_run *run)
{
	vl_series_release(&run->alone);
	vl_series_release(&run->stressed);
}

int vl_neighbour_write(struct vl_study_ctx *ctx, const char *figure, const char *prefix,
                       const struct vl_neighbour_run *run, double *ratio, vl_error *err)
{
	const struct vl_cell *cell = &run->cell;
	const struct vl_metric_spec *m = vl_cell_metric(cell);
	const char *workload = cell->params.workload->name;
	char alone[128], stressed[128], against[128];
	struct vl_series b = {0};
	json_t *row;
	double ops = run->neighbour_ops;

	snprintf(alone, sizeof(alone), "%sneighbour=none", prefix);
	snprintf(stressed, sizeof(stressed), "%sneighbour=%s", prefix, run->stressor);
	snprintf(against, sizeof(against), "%s", alone);
	row = vl_study_row(figure, cell->sp->label, workload, alone,
	                   vl_params_to_json(&cell->params), m->name, m->unit, m->better,
	                   &run->alone);
	if (vl_study_add_row(ctx, row, err) < 0)
		return -1;
	row = vl_study_row(figure, cell->sp->label, workload, stressed,
	                   vl_params_to_json(&cell->params), m->name, m->unit, m->better,
	                   &run->stressed);
	vl_study_row_overhead(row, against, &run->alone, &run->stressed, m->better);
	*ratio = json_number_value(json_object_get(json_object_get(row, "overhead"), "ratio"));
	if (vl_study_add_row(ctx, row, err) < 0)
		return -1;
	if (ops >= 0) {
		b.samples = &ops;
		b.n = 1;
	}
	b.status = run->survived ? VL_STATUS_OK : VL_STATUS_FAILED;
	snprintf(b.reason, sizeof(b.reason), "%s%s", run->survived ? "" : "did not survive: ",
	         run->survived ? "" : run->neighbour_reason);
	snprintf(stressed, sizeof(stressed), "%srole=neighbour of %s", prefix, workload);
	row = vl_study_row(figure, cell->sp->label, run->stressor, stressed,
	                   json_pack("{s:b}", "survived", run->survived), "ops_per_sec", "ops/s", 1,
	                   &b);
	return vl_study_add_row(ctx, row, err);
}
