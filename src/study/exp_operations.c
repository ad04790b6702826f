/* The thesis's section 5.1 tables: how long the platform's own operations
 * take, timed on the host around each call; platforms interleaved repeat by
 * repeat. Clones are made from the provisioned guest before it starts. */
#include "study/experiment.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op {
	OP_PROVISION,
	OP_CLONE_COW,
	OP_CLONE_FULL,
	OP_START,
	OP_REBOOT,
	OP_STOP,
	OP_DESTROY,
	N_OPS
};

static const char *const op_names[N_OPS] = {"provision", "clone-cow", "clone-full", "start",
                                            "reboot",    "stop",      "destroy"};

static bool has_op(const struct vl_platform *p, enum op op)
{
	switch (op) {
	case OP_PROVISION:
		return p->provision;
	case OP_CLONE_COW:
	case OP_CLONE_FULL:
		return p->clone;
	case OP_REBOOT:
		return p->reboot;
	case OP_STOP:
		return p->stop;
	default:
		return true;
	}
}

static int timed_clone(struct vl_study_ctx *ctx, struct vl_guests *set,
                       const struct vl_study_platform *sp, struct vl_guest *src, bool full,
                       double *seconds, vl_error *err)
{
	struct vl_guest *dst;
	uint64_t t0;

	if (vl_guests_new(ctx, set, sp, &src->spec, &dst, err) < 0)
		return -1;
	t0 = vl_now_ns();
	if (sp->platform->clone(src, dst, full, err) < 0)
		return vl_error_wrap(err, "cloning");
	*seconds = vl_seconds_since(t0);
	vl_guests_drop(set, dst);
	return 0;
}

/* One round of every operation on a fresh guest; seconds[op] < 0 when the
 * platform lacks it. */
static int one_round(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                     double seconds[N_OPS], vl_error *err)
{
	const struct vl_platform *p = sp->platform;
	struct vl_guests set = {0};
	struct vl_guest_spec spec;
	struct vl_guest *g;
	uint64_t t0;
	int rc = 0;

	for (int i = 0; i < N_OPS; i++)
		seconds[i] = -1;
	vl_study_spec(ctx, sp, &spec);
	if (vl_guests_new(ctx, &set, sp, &spec, &g, err) < 0)
		return -1;
	t0 = vl_now_ns();
	if (p->provision)
		rc = p->provision(g, err);
	seconds[OP_PROVISION] = p->provision ? vl_seconds_since(t0) : -1;
	if (rc == 0 && p->clone)
		rc = timed_clone(ctx, &set, sp, g, false, &seconds[OP_CLONE_COW], err);
	if (rc == 0 && p->clone)
		rc = timed_clone(ctx, &set, sp, g, true, &seconds[OP_CLONE_FULL], err);
	t0 = vl_now_ns();
	if (rc == 0 && (rc = p->start(g, err)) == 0)
		seconds[OP_START] = vl_seconds_since(t0);
	t0 = vl_now_ns();
	if (rc == 0 && p->reboot && (rc = p->reboot(g, err)) == 0)
		seconds[OP_REBOOT] = vl_seconds_since(t0);
	t0 = vl_now_ns();
	if (rc == 0 && p->stop && (rc = p->stop(g, err)) == 0)
		seconds[OP_STOP] = vl_seconds_since(t0);
	t0 = vl_now_ns();
	if (rc == 0 && (rc = p->destroy(g, err)) == 0) {
		seconds[OP_DESTROY] = vl_seconds_since(t0);
		vl_guests_forget(&set, g);
		vl_guest_free(g);
	}
	vl_guests_down(&set);
	/* Outside the timed destroy, as vl_guest_destroy does it elsewhere. */
	if (rc == 0)
		rc = vl_platform_release_host(p, err);
	return rc;
}

static int write_rows(struct vl_study_ctx *ctx, struct vl_series *series, char down[][VL_DOWN_MAX],
                      vl_error *err)
{
	for (size_t i = 0; i < ctx->n_platforms; i++)
		for (int op = 0; op < N_OPS; op++) {
			const struct vl_study_platform *sp = ctx->platforms[i];
			char variant[32];
			json_t *row;

			snprintf(variant, sizeof(variant), "op=%s", op_names[op]);
			if (down[i][0])
				row = vl_study_row_missing("5.1", sp->label, "operations", variant,
				                           "seconds", "s", -1, VL_STATUS_FAILED,
				                           down[i]);
			else if (has_op(sp->platform, op))
				row = vl_study_row("5.1", sp->label, "operations", variant, NULL,
				                   "seconds", "s", -1, &series[i * N_OPS + op]);
			else
				row = vl_study_row_missing("5.1", sp->label, "operations", variant,
				                           "seconds", "s", -1,
				                           VL_STATUS_UNSUPPORTED,
				                           "the platform has no such operation");
			if (vl_study_add_row(ctx, row, err) < 0)
				return -1;
		}
	return 0;
}

static int run(struct vl_study_ctx *ctx, vl_error *err)
{
	unsigned repeat =
	        (unsigned)strtoul(vl_study_size(ctx->plan, "operations.repeat"), NULL, 10);
	size_t n = ctx->n_platforms * N_OPS;
	struct vl_series series[VL_STUDY_MAX_PLATFORMS * N_OPS] = {{0}};
	char down[VL_STUDY_MAX_PLATFORMS][VL_DOWN_MAX] = {{0}};
	int rc = 0;

	if (repeat < 1)
		return vl_error_input(err, "operations.repeat must be at least 1");
	for (size_t i = 0; i < n; i++) {
		series[i].samples = calloc(repeat, sizeof(double));
		if (!series[i].samples)
			rc = vl_error_set(err, "allocating the measurement");
	}
	for (unsigned r = 0; rc == 0 && r < repeat; r++)
		for (size_t i = 0; rc == 0 && i < ctx->n_platforms; i++) {
			double seconds[N_OPS];
			vl_error round_err = {0};

			if (down[i][0])
				continue;
			ctx->fraction = (double)r / repeat;
			vl_study_report(ctx, ctx->platforms[i]->label, "operations", r + 1);
			/* A platform that fails is left out from then on; the
			 * others go on. */
			if (one_round(ctx, ctx->platforms[i], seconds, &round_err) < 0) {
				if (vl_study_interrupted())
					rc = vl_error_set(err, "%s", round_err.msg);
				snprintf(down[i], VL_DOWN_MAX, "%s", round_err.msg);
				continue;
			}
			for (int op = 0; op < N_OPS; op++)
				if (seconds[op] >= 0) {
					struct vl_series *s = &series[i * N_OPS + op];
					s->samples[s->n++] = seconds[op];
				}
		}
	for (size_t i = 0; rc == 0 && i < n; i++)
		vl_series_finish(&series[i], ctx->plan->ci_target);
	if (rc == 0)
		rc = write_rows(ctx, series, down, err);
	for (size_t i = 0; i < n; i++)
		vl_series_release(&series[i]);
	return rc;
}

const struct vl_experiment vl_experiment_operations = {
        .name = "operations",
        .figures = "5.1",
        .summary = "provision, clone, cold start, reboot, stop and destroy, timed",
        .run = run,
};
