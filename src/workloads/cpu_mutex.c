/* cpu.mutex: sysbench 1.0 `mutex`. Each thread runs one event: `locks` times
 * it picks a random mutex from the set, spins `loops` iterations of an empty
 * loop, then locks the mutex, increments a counter and unlocks. sysbench
 * 1.0.20 keeps its loop with a compiler barrier and draws from a per-thread
 * xoroshiro128+; so do we. Where sysbench increments one global counter under
 * whichever mutex it holds (a data race), each mutex here guards its own
 * counter, which makes the sum a check that mutual exclusion held. */
#include "workloads/registry.h"
#include "workloads/threads.h"
#include "core/cleanup.h"

#include <pthread.h>
#include <stdlib.h>

static const struct vl_param_spec params[] = {
        {.name = "threads",
         .type = VL_PARAM_INT,
         .def = "4",
         .min = 1,
         .max = 1024,
         .help = "threads contending for the mutexes (sysbench defaults to 1)"},
        {.name = "mutexes",
         .type = VL_PARAM_INT,
         .def = "4096",
         .min = 1,
         .max = 1000000,
         .help = "size of the set of mutexes (sysbench --mutex-num)"},
        {.name = "locks",
         .type = VL_PARAM_INT,
         .def = "50000",
         .min = 1,
         .max = 1000000000,
         .help = "locks taken by each thread (sysbench --mutex-locks)"},
        {.name = "loops",
         .type = VL_PARAM_INT,
         .def = "10000",
         .min = 0,
         .max = 1000000000,
         .help = "empty-loop iterations before each lock (sysbench --mutex-loops)"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "seconds",
         .unit = "s",
         .better = -1,
         .help = "wall time until every thread has taken all its locks"},
        {0},
};

/* sysbench pads each mutex with 256 bytes. */
struct slot {
	pthread_mutex_t mutex;
	uint64_t count;
	char pad[256];
};

struct run {
	struct slot *slots;
	uint32_t mutexes;
	int64_t locks;
	int64_t loops;
	const volatile int *stop;
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoroshiro128+ (Blackman and Vigna), as sysbench draws its numbers. */
static inline uint64_t xoroshiro128plus(uint64_t s[2])
{
	uint64_t s0 = s[0], s1 = s[1], result = s0 + s1;

	s1 ^= s0;
	s[0] = rotl(s0, 55) ^ s1 ^ (s1 << 14);
	s[1] = rotl(s1, 36);
	return result;
}

static void work(void *arg, unsigned index)
{
	struct run *run = arg;
	int64_t loops = run->loops;
	uint64_t seed = index, state[2];

	state[0] = splitmix64(&seed);
	state[1] = splitmix64(&seed);
	for (int64_t n = 0; n < run->locks && !*run->stop; n++) {
		/* A uniform draw in [0, 1) scaled to the set, like sb_rand_uniform(). */
		double u = (double)(xoroshiro128plus(state) >> 11) * 0x1.0p-53;
		struct slot *s = &run->slots[(uint32_t)(u * run->mutexes)];
		for (int64_t i = 0; i < loops; i++)
			__asm__ volatile("" ::: "memory");
		pthread_mutex_lock(&s->mutex);
		s->count++;
		pthread_mutex_unlock(&s->mutex);
	}
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	static const volatile int never;
	unsigned threads = (unsigned)vl_param_int(p, "threads");
	struct run state = {
	        .mutexes = (uint32_t)vl_param_int(p, "mutexes"),
	        .locks = vl_param_int(p, "locks"),
	        .loops = vl_param_int(p, "loops"),
	        .stop = ctx->stop ? ctx->stop : &never,
	};
	cleanup_free struct slot *slots = calloc(state.mutexes, sizeof(*slots));
	uint64_t total = 0, expected = (uint64_t)threads * (uint64_t)state.locks;
	double seconds;
	int rc;

	if (!slots)
		return vl_error_set(err, "out of memory for %u mutexes", state.mutexes);
	for (uint32_t i = 0; i < state.mutexes; i++)
		pthread_mutex_init(&slots[i].mutex, NULL);
	state.slots = slots;
	rc = vl_threads_run(threads, work, &state, &seconds, err);
	for (uint32_t i = 0; i < state.mutexes; i++) {
		total += slots[i].count;
		pthread_mutex_destroy(&slots[i].mutex);
	}
	if (rc < 0)
		return -1;
	if (total != expected && *state.stop)
		return vl_result_fail(r, "stopped after %llu of %llu locks",
		                      (unsigned long long)total, (unsigned long long)expected);
	if (total != expected)
		return vl_result_fail(r,
		                      "the counters guarded by the mutexes sum to %llu, "
		                      "expected %llu: mutual exclusion failed",
		                      (unsigned long long)total, (unsigned long long)expected);
	vl_result_set(r, "seconds", seconds);
	return 0;
}

const struct vl_workload vl_workload_cpu_mutex = {
        .name = "cpu.mutex",
        .summary = "threads contending for a set of mutexes (sysbench mutex)",
        .thesis = "w1 task 3",
        .params = params,
        .metrics = metrics,
        .run = run,
};
