/* What the stressors share: worker threads, the duration and stop rules, and
 * the bogo-operation metrics (after stress-ng's "bogo ops"). */
#pragma once
#include <stdint.h>
#include "workloads/workload.h"

/* The parameters every stressor has, first in its table. */
/* clang-format off */
#define VL_STRESS_PARAMS                                                                           \
	{.name = "workers", .type = VL_PARAM_INT, .def = "1", .min = 1, .max = 1024,               \
	 .help = "worker threads (the N of stress --cpu/--vm/--io/--hdd N)"},                      \
	{.name = "duration", .type = VL_PARAM_DOUBLE, .def = "0", .min = 0, .max = 604800,         \
	 .help = "seconds to run (stress --timeout); 0 runs until stopped"}
/* clang-format on */

extern const struct vl_metric_spec vl_stress_metrics[];

/* One worker: loops until *quit is non-zero, polling it at least every few
 * milliseconds, and leaves the operations it completed in *ops, also when it
 * fails. `worker` numbers the workers from 0. */
typedef int (*vl_stress_fn)(void *arg, unsigned worker, const volatile int *quit, uint64_t *ops,
                            vl_error *err);

/* Runs the `workers` parameter's number of threads until the `duration`
 * parameter has passed or ctx->stop is set, then reports ops and ops_per_sec.
 * A worker that fails ends the run and fails it. */
int vl_stress_run(const struct vl_params *p, const struct vl_run_ctx *ctx, vl_stress_fn fn,
                  void *arg, struct vl_result *r, vl_error *err);
