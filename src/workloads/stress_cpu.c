/* stress.cpu: stress --cpu semantics, each worker spinning on sqrt(rand()).
 * One bogo op is one sqrt(rand()). stress forks its workers, so their rand()
 * never contend; these are threads, so each draws from its own random_r()
 * state (glibc's rand() generator without its lock). */
#include "workloads/registry.h"
#include "workloads/stress_runner.h"

#include <math.h>
#include <stdlib.h>

static const struct vl_param_spec params[] = {
        VL_STRESS_PARAMS,
        {0},
};

static int spin(void *arg, unsigned worker, const volatile int *quit, uint64_t *ops, vl_error *err)
{
	int32_t state[32];
	struct random_data rd = {0};
	volatile double sink;
	uint64_t n = 0;
	int32_t value;

	(void)arg;
	(void)err;
	initstate_r(worker + 1, (char *)state, sizeof(state), &rd);
	while (!*quit) {
		random_r(&rd, &value);
		sink = sqrt(value);
		n++;
	}
	(void)sink;
	*ops = n;
	return 0;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	return vl_stress_run(p, ctx, spin, NULL, r, err);
}

const struct vl_workload vl_workload_stress_cpu = {
        .name = "stress.cpu",
        .summary = "CPU stressor: workers spin on sqrt(rand()) (stress --cpu)",
        .thesis = "isolation experiments (chapter 6)",
        .params = params,
        .metrics = vl_stress_metrics,
        .run = run,
        .is_stressor = true,
};
