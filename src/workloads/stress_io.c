/* stress.io: stress --io semantics, each worker calling sync() in a loop.
 * One bogo op is one sync(). A sync() in progress cannot be interrupted, so
 * with much dirty data a stop waits for the current one to return. */
#include "workloads/registry.h"
#include "workloads/stress_runner.h"

#include <unistd.h>

static const struct vl_param_spec params[] = {
        VL_STRESS_PARAMS,
        {0},
};

static int sync_loop(void *arg, unsigned worker, const volatile int *quit, uint64_t *ops,
                     vl_error *err)
{
	uint64_t n = 0;

	(void)arg;
	(void)worker;
	(void)err;
	while (!*quit) {
		sync();
		n++;
	}
	*ops = n;
	return 0;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	return vl_stress_run(p, ctx, sync_loop, NULL, r, err);
}

const struct vl_workload vl_workload_stress_io = {
        .name = "stress.io",
        .summary = "I/O stressor: workers loop on sync() (stress --io)",
        .thesis = "isolation experiments (chapter 6)",
        .params = params,
        .metrics = vl_stress_metrics,
        .run = run,
        .is_stressor = true,
};
