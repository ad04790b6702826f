/* Starting a workload's threads together, as sysbench does: all of them are
 * created first and released at once, so that the clock measures the work
 * and not thread creation. */
#pragma once
#include "core/error.h"

/* Runs fn(arg, i) for each i in [0, n) on its own thread. *seconds is the
 * wall time from the release of the threads to the return of the last one.
 * If a thread cannot be created, none runs fn and the call fails. */
int vl_threads_run(unsigned n, void (*fn)(void *arg, unsigned index), void *arg, double *seconds,
                   vl_error *err);
