/* Thesis figures 6.2, 6.3 and 6.5: how much a neighbour's stress slows a
 * guest down, per platform. On the baseline A and B are two plain
 * processes: nothing isolates them, which is what the others improve on. */
#include "study/neighbour.h"

#include <stdio.h>

struct resources {
	char names[VL_N_RESOURCES][64];
	size_t n;
};

static int run_platform(struct vl_study_ctx *ctx, const struct vl_study_platform *sp, void *arg,
                        vl_error *err)
{
	const struct resources *res = arg;
	struct vl_guests set = {0};
	struct vl_guest *a, *b;
	struct vl_guest_spec spec;
	int rc;

	vl_study_spec(ctx, sp, &spec);
	rc = vl_guests_up(ctx, &set, sp, &spec, &a, err);
	if (rc == 0)
		rc = vl_guests_up(ctx, &set, sp, &spec, &b, err);
	for (size_t i = 0; rc == 0 && i < res->n; i++) {
		/* Names checked by run(). */
		enum vl_resource r = (enum vl_resource)vl_resource_from_name(res->names[i]);
		struct vl_neighbour_run run;
		double ratio;

		rc = vl_neighbour_measure(ctx, sp, a, b, r, NULL, &run, err);
		if (rc == 0)
			rc = vl_neighbour_write(ctx, vl_resource_figure(r), "", &run, &ratio, err);
		vl_neighbour_release(&run);
	}
	vl_guests_down(&set);
	if (rc < 0)
		return vl_error_wrap(err, "%s", sp->label);
	return 0;
}

static int run(struct vl_study_ctx *ctx, vl_error *err)
{
	struct resources res;

	res.n = vl_study_split(vl_study_size(ctx->plan, "isolation.workloads"), res.names,
	                       VL_N_RESOURCES);
	for (size_t i = 0; i < res.n; i++)
		if (vl_resource_from_name(res.names[i]) < 0)
			return vl_error_input(
			        err, "isolation.workloads: '%s' is not cpu, memory or disk",
			        res.names[i]);
	return vl_study_each_platform(ctx, "6.2", run_platform, &res, err);
}

const struct vl_experiment vl_experiment_isolation = {
        .name = "isolation",
        .figures = "6.2, 6.3, 6.5",
        .summary = "a guest's slowdown while its neighbour runs a stressor",
        .run = run,
};
