#include "workloads/stress_runner.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* How often the runner looks at ctx->stop, the clock and its workers. */
#define TICK_NS 10000000ull

const struct vl_metric_spec vl_stress_metrics[] = {
        {.name = "ops_per_sec",
         .unit = "ops/s",
         .better = 1,
         .help = "bogo operations per second over all workers"},
        {.name = "ops",
         .unit = "ops",
         .better = 1,
         .help = "bogo operations completed (the stressor's summary says what one is)"},
        {0},
};

struct worker {
	pthread_t thread;
	unsigned index;
	vl_stress_fn fn;
	void *arg;
	const volatile int *quit;
	atomic_int *exited;
	uint64_t ops;
	int rc;
	vl_error err;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->rc = w->fn(w->arg, w->index, w->quit, &w->ops, &w->err);
	atomic_fetch_add(w->exited, 1);
	return NULL;
}

int vl_stress_run(const struct vl_params *p, const struct vl_run_ctx *ctx, vl_stress_fn fn,
                  void *arg, struct vl_result *r, vl_error *err)
{
	static const int never;
	const volatile int *stop = ctx->stop ? ctx->stop : &never;
	unsigned n = (unsigned)vl_param_int(p, "workers"), started = 0;
	double duration = vl_param_double(p, "duration");
	cleanup_free struct worker *workers = calloc(n, sizeof(*workers));
	volatile int quit = 0;
	atomic_int exited = 0;
	uint64_t start = vl_now_ns(), ops = 0;
	double seconds;
	int rc = 0;

	if (!workers)
		return vl_error_errno(err, ENOMEM, "allocating %u workers", n);
	for (; started < n; started++) {
		struct worker *w = &workers[started];
		*w = (struct worker){
		        .index = started, .fn = fn, .arg = arg, .quit = &quit, .exited = &exited};
		rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			vl_error_errno(err, rc, "starting stress worker %u", started);
			break;
		}
	}
	/* A worker only exits on its own when it fails. */
	while (rc == 0 && !*stop && atomic_load(&exited) == 0) {
		double left = duration - vl_seconds_since(start);
		if (duration > 0 && left <= 0)
			break;
		vl_sleep_ns(duration > 0 && left * 1e9 < TICK_NS ? (uint64_t)(left * 1e9) : TICK_NS,
		            stop);
	}
	quit = 1;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		ops += workers[i].ops;
		if (workers[i].rc < 0 && rc == 0) {
			*err = workers[i].err;
			rc = -1;
		}
	}
	seconds = vl_seconds_since(start);
	if (rc != 0)
		return -1;
	vl_result_set(r, "ops", (double)ops);
	vl_result_set(r, "ops_per_sec", (double)ops / seconds);
	return 0;
}
