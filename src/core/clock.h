/* Monotonic time. Workloads time themselves with vl_now_ns(); it never jumps. */
#pragma once
#include <stdint.h>

uint64_t vl_now_ns(void);
double vl_seconds_since(uint64_t start_ns);
/* Sleeps, restarting after signals unless *stop becomes non-zero. */
void vl_sleep_ns(uint64_t ns, const volatile int *stop);
