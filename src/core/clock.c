#include "core/clock.h"

#include <errno.h>
#include <time.h>

uint64_t vl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double vl_seconds_since(uint64_t start_ns)
{
	return (double)(vl_now_ns() - start_ns) / 1e9;
}

void vl_sleep_ns(uint64_t ns, const volatile int *stop)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
	                      .tv_nsec = (long)(ns % 1000000000ull)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
		if (stop && *stop)
			return;
	}
}
