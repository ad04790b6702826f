/* Descriptive statistics over samples, as the study reports them. */
#pragma once
#include <stddef.h>

struct vl_summary {
	size_t n;
	double median;
	double min;
	double max;
	double mean;
	double stddev; /* sample standard deviation (n - 1) */
	double cov;    /* stddev / mean, 0 when mean is 0 */
	/* Distribution-free confidence interval of the median from order
	 * statistics; ci_level is the coverage actually reached (below 0.95
	 * when n < 6, where [min, max] is the best there is). */
	double ci_low;
	double ci_high;
	double ci_level;
};

/* Summarises values[0..n-1] (not modified). n == 0 gives a zeroed summary. */
void vl_summarize(const double *values, size_t n, struct vl_summary *out);
double vl_median(const double *values, size_t n);
/* Indices (0-based, into sorted samples) bounding the median's CI at >= level,
 * and the coverage reached. */
void vl_median_ci_ranks(size_t n, double level, size_t *lo, size_t *hi, double *coverage);
