/* cpu.primes: sysbench 1.0 `cpu`. An event tests every number from 3 below
 * max_prime by trial division up to its square root, with the same 64-bit
 * arithmetic as sysbench so that the figures compare. Threads take events
 * from one shared counter, and every event is timed, as in sysbench. */
#include "workloads/registry.h"
#include "workloads/threads.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

static const struct vl_param_spec params[] = {
        {.name = "max_prime",
         .type = VL_PARAM_INT,
         .def = "10000",
         .min = 3,
         .max = 10000000,
         .help = "numbers below this are tested (sysbench --cpu-max-prime)"},
        {.name = "threads",
         .type = VL_PARAM_INT,
         .def = "1",
         .min = 1,
         .max = 1024,
         .help = "threads sharing the events"},
        {.name = "events",
         .type = VL_PARAM_INT,
         .def = "10000",
         .min = 0,
         .max = 1000000000,
         .help = "events to run, 0 for no limit (then time must be set)"},
        {.name = "time",
         .type = VL_PARAM_DOUBLE,
         .def = "0",
         .min = 0,
         .max = 86400,
         .help = "seconds to run, 0 for no limit (then events must be set)"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "events_per_sec",
         .unit = "events/s",
         .better = +1,
         .help = "events over the wall time of the run"},
        {.name = "seconds", .unit = "s", .better = -1, .help = "wall time of the run"},
        {.name = "latency_avg_ms", .unit = "ms", .better = -1, .help = "mean time of one event"},
        {.name = "latency_max_ms", .unit = "ms", .better = -1, .help = "longest event"},
        {0},
};

/* One per thread, on its own cache line so that threads do not share lines. */
struct worker {
	uint64_t events;
	uint64_t primes; /* summed over events: checked, and keeps the work alive */
	uint64_t busy_ns;
	uint64_t max_ns;
} __attribute__((aligned(64)));

struct run {
	unsigned long long max_prime;
	int64_t events;   /* 0: unlimited */
	uint64_t time_ns; /* 0: unlimited */
	atomic_int_fast64_t claimed;
	const volatile int *stop;
	struct worker *workers;
};

/* sysbench's event, loop for loop. */
static unsigned long long count_primes(unsigned long long max_prime)
{
	unsigned long long n = 0;

	for (unsigned long long c = 3; c < max_prime; c++) {
		double t = sqrt((double)c);
		unsigned long long l;
		for (l = 2; l <= t; l++)
			if (c % l == 0)
				break;
		if (l > t)
			n++;
	}
	return n;
}

/* The expected per-event count, by a different method: primes p with 3 <= p < max_prime. */
static int sieve_count(unsigned long long max_prime, unsigned long long *count, vl_error *err)
{
	cleanup_free char *composite = calloc(max_prime, 1);

	if (!composite)
		return vl_error_set(err, "out of memory for a sieve of %llu", max_prime);
	*count = 0;
	for (unsigned long long i = 2; i < max_prime; i++) {
		if (composite[i])
			continue;
		if (i >= 3)
			(*count)++;
		for (unsigned long long j = i * i; j < max_prime; j += i)
			composite[j] = 1;
	}
	return 0;
}

static void work(void *arg, unsigned index)
{
	struct run *run = arg;
	struct worker *w = &run->workers[index];
	uint64_t deadline = 0;

	while (!*run->stop) {
		uint64_t start, ns;
		if (run->events && atomic_fetch_add_explicit(&run->claimed, 1,
		                                             memory_order_relaxed) >= run->events)
			break;
		start = vl_now_ns();
		/* Threads are released together, so a deadline per thread is one deadline. */
		if (run->time_ns && !deadline)
			deadline = start + run->time_ns;
		if (deadline && start >= deadline)
			break;
		w->primes += count_primes(run->max_prime);
		ns = vl_now_ns() - start;
		w->events++;
		w->busy_ns += ns;
		if (ns > w->max_ns)
			w->max_ns = ns;
	}
}

static int validate(const struct vl_params *p, vl_error *err)
{
	if (vl_param_int(p, "events") == 0 && vl_param_double(p, "time") == 0)
		return vl_error_input(err, "cpu.primes: 'events' and 'time' are both 0; set "
		                           "events (e.g. events=10000) or time (e.g. time=10)");
	return 0;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	static const volatile int never;
	unsigned threads = (unsigned)vl_param_int(p, "threads");
	cleanup_free struct worker *workers = NULL;
	struct run state = {
	        .max_prime = (unsigned long long)vl_param_int(p, "max_prime"),
	        .events = vl_param_int(p, "events"),
	        .time_ns = (uint64_t)(vl_param_double(p, "time") * 1e9),
	        .stop = ctx->stop ? ctx->stop : &never,
	};
	unsigned long long expected = 0;
	uint64_t events = 0, busy_ns = 0, max_ns = 0;
	double seconds;

	if (sieve_count(state.max_prime, &expected, err) < 0)
		return -1;
	workers = aligned_alloc(64, threads * sizeof(*workers));
	if (!workers)
		return vl_error_set(err, "out of memory for %u threads", threads);
	for (unsigned i = 0; i < threads; i++)
		workers[i] = (struct worker){0};
	state.workers = workers;
	atomic_init(&state.claimed, 0);
	if (vl_threads_run(threads, work, &state, &seconds, err) < 0)
		return -1;

	for (unsigned i = 0; i < threads; i++) {
		if (workers[i].primes != workers[i].events * expected)
			return vl_result_fail(r,
			                      "thread %u counted %llu primes in %llu events, "
			                      "expected %llu per event",
			                      i, (unsigned long long)workers[i].primes,
			                      (unsigned long long)workers[i].events, expected);
		events += workers[i].events;
		busy_ns += workers[i].busy_ns;
		if (workers[i].max_ns > max_ns)
			max_ns = workers[i].max_ns;
	}
	r->extra = json_pack("{s:I, s:I}", "events", (json_int_t)events, "primes_per_event",
	                     (json_int_t)expected);
	if (*state.stop && (state.events == 0 || events < (uint64_t)state.events))
		return vl_result_fail(r, "stopped after %llu events", (unsigned long long)events);
	if (events == 0)
		return vl_result_fail(r, "no event completed in the time given");
	vl_result_set(r, "events_per_sec", (double)events / seconds);
	vl_result_set(r, "seconds", seconds);
	vl_result_set(r, "latency_avg_ms", (double)busy_ns / (double)events / 1e6);
	vl_result_set(r, "latency_max_ms", (double)max_ns / 1e6);
	return 0;
}

const struct vl_workload vl_workload_cpu_primes = {
        .name = "cpu.primes",
        .summary = "prime search by trial division (sysbench cpu)",
        .thesis = "w1 task 1",
        .params = params,
        .metrics = metrics,
        .validate = validate,
        .run = run,
};
