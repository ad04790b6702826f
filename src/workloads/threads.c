#include "workloads/threads.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <pthread.h>
#include <stdlib.h>

enum gate_state { GATE_CLOSED, GATE_OPEN, GATE_ABANDONED };

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum gate_state state;
	void (*fn)(void *arg, unsigned index);
	void *arg;
};

struct slot {
	struct gate *gate;
	unsigned index;
	pthread_t tid;
};

static void *thread_main(void *data)
{
	struct slot *s = data;
	struct gate *g = s->gate;
	enum gate_state state;

	pthread_mutex_lock(&g->lock);
	while (g->state == GATE_CLOSED)
		pthread_cond_wait(&g->cond, &g->lock);
	state = g->state;
	pthread_mutex_unlock(&g->lock);
	if (state == GATE_OPEN)
		g->fn(g->arg, s->index);
	return NULL;
}

static void set_gate(struct gate *g, enum gate_state state)
{
	pthread_mutex_lock(&g->lock);
	g->state = state;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

int vl_threads_run(unsigned n, void (*fn)(void *arg, unsigned index), void *arg, double *seconds,
                   vl_error *err)
{
	struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                 .cond = PTHREAD_COND_INITIALIZER,
	                 .state = GATE_CLOSED,
	                 .fn = fn,
	                 .arg = arg};
	cleanup_free struct slot *slots = calloc(n, sizeof(*slots));
	unsigned started = 0;
	uint64_t start;
	int rc = 0;

	if (!slots)
		return vl_error_set(err, "out of memory for %u threads", n);
	for (; started < n; started++) {
		slots[started].gate = &g;
		slots[started].index = started;
		rc = pthread_create(&slots[started].tid, NULL, thread_main, &slots[started]);
		if (rc)
			break;
	}
	set_gate(&g, rc ? GATE_ABANDONED : GATE_OPEN);
	start = vl_now_ns();
	for (unsigned i = 0; i < started; i++)
		pthread_join(slots[i].tid, NULL);
	*seconds = vl_seconds_since(start);
	pthread_cond_destroy(&g.cond);
	pthread_mutex_destroy(&g.lock);
	if (rc)
		return vl_error_errno(err, rc, "creating thread %u of %u", started + 1, n);
	return 0;
}
