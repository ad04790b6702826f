/* The study's measurement loop: cells (one workload on one guest each) are
 * sampled run by run in turn (A B C A B C ...), so that drift in the host
 * hits every cell alike; warmup rounds are discarded; every cell gets at
 * least repeat_min samples and more, up to repeat_max, until the 95%
 * confidence interval of its median is within +-ci_target of the median.
 * docs/methodology.md ("The study") explains the choices. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "core/error.h"
#include "workloads/workload.h"

#define VL_UNTRUSTWORTHY_COV 0.05

struct vl_series {
	double *samples; /* in the order taken; owned */
	size_t n;
	bool converged; /* the interval reached the target */
	enum vl_status status;
	char reason[256];
};

/* Takes one sample of cell. Returns 1 with *value set, 0 when the sample is
 * not ok (reason filled: the cell stops being sampled), -1 on an error that
 * ends the measurement (a dead guest, an interruption). */
typedef int (*vl_sample_fn)(void *arg, size_t cell, bool warmup, double *value, char *reason,
                            size_t reason_size, vl_error *err);

struct vl_measure_opts {
	unsigned repeat_min;
	unsigned repeat_max;
	unsigned warmup;
	double ci_target;
	const volatile int *stop; /* may be NULL */
};

/* Fills series[0..n_cells-1] (zeroed by the caller; release with
 * vl_series_release even after a failure). */
int vl_measure_interleaved(const struct vl_measure_opts *o, size_t n_cells, vl_sample_fn fn,
                           void *arg, struct vl_series *series, vl_error *err);
/* Whether samples[0..n-1] meet the target: a CI of coverage >= 0.95 within
 * +-target of the median. */
bool vl_series_converged(const double *samples, size_t n, double target);
/* Sets status and reason once sampling has ended: untrustworthy when the
 * target was missed and the CoV exceeds VL_UNTRUSTWORTHY_COV. */
void vl_series_finish(struct vl_series *s, double target);
void vl_series_release(struct vl_series *s);

/* The cost of x against a baseline: median(x) / median(base) for a metric
 * where lower is better, the inverse where higher is better, so that 1.25
 * always means 25% worse than the baseline. The interval combines the
 * distribution-free intervals of the two medians (order statistics, each at
 * sqrt(0.95), so that both hold at once with probability 0.95 for
 * independent samples): [low of one / high of the other, high / low]. It is
 * conservative, which suits its use: saying "no significant difference"
 * only where the data cannot tell. ci_level is the coverage reached (below
 * 0.95 with 6 samples or fewer on both sides, where [min, max] is all there
 * is). */
struct vl_overhead {
	double ratio;
	double ci_low;
	double ci_high;
	double ci_level;
	bool significant; /* the interval excludes 1 */
};

/* Fails (returns -1) when a side has no samples or a value is not positive. */
int vl_overhead_ratio(const double *base, size_t n_base, const double *x, size_t n_x, int better,
                      struct vl_overhead *out);
