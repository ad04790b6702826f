/* The null workload: reports a value it is told to, after an optional sleep.
 * It lets the study engine, the agent and the reports be tested without
 * measuring anything real. */
#include "workloads/registry.h"
#include "core/clock.h"

static const struct vl_param_spec params[] = {
        {.name = "value",
         .type = VL_PARAM_DOUBLE,
         .def = "1",
         .min = -1e12,
         .max = 1e12,
         .help = "the figure to report"},
        {.name = "sleep",
         .type = VL_PARAM_DOUBLE,
         .def = "0",
         .min = 0,
         .max = 3600,
         .help = "seconds to sleep before reporting"},
        {.name = "status",
         .type = VL_PARAM_CHOICE,
         .def = "ok",
         .choices = "ok,failed,unsupported",
         .help = "the status to report"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "value", .unit = "1", .better = -1, .help = "the value given"},
        {0},
};

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	const char *status = vl_param_str(p, "status");

	(void)err;
	vl_sleep_ns((uint64_t)(vl_param_double(p, "sleep") * 1e9), ctx->stop);
	if (status[0] == 'f')
		return vl_result_fail(r, "asked to fail");
	if (status[0] == 'u')
		return vl_result_unsupported(r, "asked to be unsupported");
	vl_result_set(r, "value", vl_param_double(p, "value"));
	return 0;
}

const struct vl_workload vl_workload_null = {
        .name = "null",
        .summary = "reports a given value (tests the engine without measuring)",
        .thesis = "none",
        .params = params,
        .metrics = metrics,
        .run = run,
};
