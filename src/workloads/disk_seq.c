/* PLACEHOLDER: being written; replaced before the first commit. */
#include "workloads/registry.h"

static const struct vl_param_spec params[] = {{0}};
static const struct vl_metric_spec metrics[] = {{.name = "seconds", .unit = "s", .better = -1}, {0}};

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
	       vl_error *err)
{
	(void)p;
	(void)ctx;
	(void)err;
	return vl_result_unsupported(r, "not implemented yet");
}

const struct vl_workload vl_workload_disk_seq = {
	.name = "disk.seq",
	.params = params,
	.metrics = metrics,
	.run = run,
};
