/* Thesis figures 4.1-4.4: the four w1 tasks on guests with 1, 2, 4 and 8
 * vCPUs. A count above the host's CPUs is capped (a guest with more vCPUs
 * than the host has CPUs measures overcommit, not overhead); the figure of
 * the count asked for then shows the capped run, its params say so. */
#include "study/experiment.h"
#include "core/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TASKS 4

static int task_cells(struct vl_study_ctx *ctx, int task, unsigned vcpus, struct vl_guest **g,
                      char down[][VL_DOWN_MAX], struct vl_cell *cells, vl_error *err)
{
	const struct vl_study_plan *p = ctx->plan;
	char a[4][96], variant[32];
	const char *args[5] = {a[0], a[1], a[2], a[3], NULL};
	const char *workload, *metric;

	snprintf(variant, sizeof(variant), "vcpus=%u", vcpus);
	switch (task) {
	case 0: /* the thesis's prime search ran one thread per vCPU */
		workload = "cpu.primes";
		metric = "seconds";
		snprintf(a[0], sizeof(a[0]), "threads=%u", vcpus);
		snprintf(a[1], sizeof(a[1]), "events=%s", vl_study_size(p, "cpu.primes.events"));
		snprintf(a[2], sizeof(a[2]), "max_prime=%s",
		         vl_study_size(p, "cpu.primes.max_prime"));
		args[3] = NULL;
		break;
	case 1: /* calibrated to a duration: its time says nothing, MWIPS does */
		workload = "cpu.whetstone";
		metric = "mwips";
		snprintf(a[0], sizeof(a[0]), "duration=%s",
		         vl_study_size(p, "cpu.whetstone.duration"));
		args[1] = NULL;
		break;
	case 2:
		workload = "cpu.mutex";
		metric = "seconds";
		snprintf(a[0], sizeof(a[0]), "threads=%s", vl_study_size(p, "cpu.mutex.threads"));
		snprintf(a[1], sizeof(a[1]), "locks=%s", vl_study_size(p, "cpu.mutex.locks"));
		args[2] = NULL;
		break;
	default:
		workload = "cpu.rsa";
		metric = "seconds";
		snprintf(a[0], sizeof(a[0]), "threads=%u", vcpus);
		snprintf(a[1], sizeof(a[1]), "keys=%s", vl_study_size(p, "cpu.rsa.keys"));
		snprintf(a[2], sizeof(a[2]), "bits=%s", vl_study_size(p, "cpu.rsa.bits"));
		args[3] = NULL;
		break;
	}
	for (size_t i = 0; i < ctx->n_platforms; i++) {
		if (vl_cell_init(&cells[i], ctx->platforms[i], g[i], workload, variant, args, err) <
		    0)
			return -1;
		cells[i].metric = metric;
		cells[i].down = down[i];
	}
	return 0;
}

/* cpu.cpu_max_pct caps every guest but the baseline's: the known answer
 * (a guest held at 50% of a CPU takes twice as long as bare) that tests
 * the whole chain from policy to overhead. */
static int limit_cpu(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                     struct vl_guest *g, vl_error *err)
{
	struct vl_entitlement e = {.cpu_max_pct =
	                                   vl_study_size_double(ctx->plan, "cpu.cpu_max_pct")};

	if (e.cpu_max_pct <= 0 || vl_study_is_baseline(sp))
		return 0;
	if (!sp->platform->apply_entitlement)
		return vl_error_input(err, "cpu.cpu_max_pct: platform %s cannot limit its guests",
		                      sp->label);
	return sp->platform->apply_entitlement(g, &e, err);
}

/* Writes the rows of every figure whose vCPU count maps to vcpus. */
static int write_figures(struct vl_study_ctx *ctx, char asked[][64], size_t n_asked, unsigned vcpus,
                         const struct vl_cell *cells, const struct vl_series *series, vl_error *err)
{
	unsigned host = vl_study_host_cpus(ctx);

	for (size_t f = 0; f < n_asked; f++) {
		unsigned want = (unsigned)strtoul(asked[f], NULL, 10);
		cleanup_json json_t *extra = NULL;
		char figure[8];

		if ((want < host ? want : host) != vcpus)
			continue;
		snprintf(figure, sizeof(figure), "4.%zu", f + 1);
		extra = json_pack("{s:i, s:i, s:b, s:f}", "vcpus", vcpus, "vcpus_asked", want,
		                  "capped", want > vcpus, "guest_cpu_max_pct",
		                  vl_study_size_double(ctx->plan, "cpu.cpu_max_pct"));
		if (vl_cells_write(ctx, figure, cells, ctx->n_platforms, series, extra, err) < 0)
			return -1;
	}
	return 0;
}

static int run_vcpus(struct vl_study_ctx *ctx, unsigned vcpus, char asked[][64], size_t n_asked,
                     vl_error *err)
{
	double base = ctx->fraction;
	struct vl_guests set = {0};
	struct vl_guest *g[VL_STUDY_MAX_PLATFORMS];
	struct vl_cell cells[VL_STUDY_MAX_PLATFORMS];
	struct vl_series series[VL_STUDY_MAX_PLATFORMS] = {{0}};
	int rc = 0;

	struct vl_guest_spec spec = {.cpus = vcpus};
	char down[VL_STUDY_MAX_PLATFORMS][VL_DOWN_MAX];

	rc = vl_guests_up_each(ctx, &set, &spec, g, down, err);
	for (size_t i = 0; rc == 0 && i < ctx->n_platforms; i++)
		if (g[i])
			rc = limit_cpu(ctx, ctx->platforms[i], g[i], err);
	for (int task = 0; rc == 0 && task < N_TASKS; task++) {
		ctx->fraction = base + (double)task / N_TASKS / (double)n_asked;
		rc = task_cells(ctx, task, vcpus, g, down, cells, err);
		if (rc == 0)
			rc = vl_cells_sample(ctx, cells, ctx->n_platforms, series, err);
		if (rc == 0)
			rc = write_figures(ctx, asked, n_asked, vcpus, cells, series, err);
		for (size_t i = 0; i < ctx->n_platforms; i++)
			vl_series_release(&series[i]);
	}
	vl_guests_down(&set);
	return rc;
}

static int run(struct vl_study_ctx *ctx, vl_error *err)
{
	char asked[8][64];
	size_t n_asked = vl_study_split(vl_study_size(ctx->plan, "cpu.vcpus"), asked, 8);
	unsigned host = vl_study_host_cpus(ctx), done[8];
	size_t n_done = 0;

	for (size_t f = 0; f < n_asked; f++) {
		unsigned want = (unsigned)strtoul(asked[f], NULL, 10), vcpus;
		bool seen = false;

		if (want < 1)
			return vl_error_input(err, "cpu.vcpus: '%s' is not a vCPU count", asked[f]);
		vcpus = want < host ? want : host;
		for (size_t i = 0; i < n_done; i++)
			seen |= done[i] == vcpus;
		if (seen)
			continue;
		done[n_done++] = vcpus;
		ctx->fraction = (double)f / (double)n_asked;
		if (run_vcpus(ctx, vcpus, asked, n_asked, err) < 0)
			return vl_error_wrap(err, "%u vCPUs", vcpus);
	}
	return 0;
}

const struct vl_experiment vl_experiment_cpu = {
        .name = "cpu",
        .figures = "4.1-4.4",
        .summary = "the four w1 tasks on guests with 1, 2, 4 and 8 vCPUs",
        .run = run,
};
