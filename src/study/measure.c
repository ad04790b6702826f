#include "study/measure.h"
#include "core/cleanup.h"
#include "core/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool vl_series_converged(const double *samples, size_t n, double target)
{
	struct vl_summary s;
	double half;

	if (n == 0)
		return false;
	vl_summarize(samples, n, &s);
	half = target * fabs(s.median);
	return s.ci_level >= 0.95 && s.ci_low >= s.median - half && s.ci_high <= s.median + half;
}

void vl_series_finish(struct vl_series *s, double target)
{
	struct vl_summary sum;

	if (s->status != VL_STATUS_OK)
		return;
	s->converged = vl_series_converged(s->samples, s->n, target);
	if (s->converged || s->n == 0)
		return;
	vl_summarize(s->samples, s->n, &sum);
	if (sum.cov > VL_UNTRUSTWORTHY_COV) {
		s->status = VL_STATUS_UNTRUSTWORTHY;
		snprintf(s->reason, sizeof(s->reason),
		         "CoV %.1f%% after %zu samples; the median's interval missed +-%.0f%%",
		         sum.cov * 100, s->n, target * 100);
	}
}

void vl_series_release(struct vl_series *s)
{
	free(s->samples);
	s->samples = NULL;
	s->n = 0;
}

static int take(const struct vl_measure_opts *o, vl_sample_fn fn, void *arg, size_t cell,
                bool warmup, struct vl_series *s, vl_error *err)
{
	double value;
	int rc;

	if (o->stop && *o->stop)
		return vl_error_set(err, "interrupted");
	rc = fn(arg, cell, warmup, &value, s->reason, sizeof(s->reason), err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		s->status = VL_STATUS_FAILED;
		return 0;
	}
	if (!warmup)
		s->samples[s->n++] = value;
	return 0;
}

static bool sampling(const struct vl_series *s, bool done)
{
	return s->status == VL_STATUS_OK && !done;
}

int vl_measure_interleaved(const struct vl_measure_opts *o, size_t n_cells, vl_sample_fn fn,
                           void *arg, struct vl_series *series, vl_error *err)
{
	cleanup_free bool *done = calloc(n_cells ? n_cells : 1, sizeof(*done));

	if (!done)
		return vl_error_errno(err, errno, "allocating the measurement");
	for (size_t c = 0; c < n_cells; c++) {
		series[c].samples = calloc(o->repeat_max, sizeof(double));
		series[c].status = VL_STATUS_OK;
		if (!series[c].samples)
			return vl_error_errno(err, errno, "allocating the measurement");
	}
	for (unsigned w = 0; w < o->warmup; w++)
		for (size_t c = 0; c < n_cells; c++)
			if (sampling(&series[c], false) &&
			    take(o, fn, arg, c, true, &series[c], err) < 0)
				return -1;
	for (unsigned round = 0; round < o->repeat_max; round++) {
		bool any = false;
		for (size_t c = 0; c < n_cells; c++) {
			if (!sampling(&series[c], done[c]))
				continue;
			any = true;
			if (take(o, fn, arg, c, false, &series[c], err) < 0)
				return -1;
			if (series[c].n >= o->repeat_min &&
			    vl_series_converged(series[c].samples, series[c].n, o->ci_target))
				done[c] = true;
		}
		if (!any)
			break;
	}
	for (size_t c = 0; c < n_cells; c++)
		vl_series_finish(&series[c], o->ci_target);
	return 0;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The joint coverage of 5 samples a side (0.9375 squared). */
#define MIN_SIGNIFICANT_LEVEL 0.85

struct median_interval {
	double median, low, high, coverage;
};

static int median_interval(const double *v, size_t n, struct median_interval *out)
{
	cleanup_free double *sorted = malloc(n * sizeof(*sorted));
	size_t lo, hi;

	if (!sorted)
		return -1;
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), compare_double);
	vl_median_ci_ranks(n, sqrt(0.95), &lo, &hi, &out->coverage);
	out->median = vl_median(v, n);
	out->low = sorted[lo];
	out->high = sorted[hi];
	return out->low > 0 ? 0 : -1;
}

int vl_overhead_ratio(const double *base, size_t n_base, const double *x, size_t n_x, int better,
                      struct vl_overhead *out)
{
	struct median_interval b, m;
	/* The cost ratio is num / den of these two sides. */
	const struct median_interval *num = better < 0 ? &m : &b;
	const struct median_interval *den = better < 0 ? &b : &m;

	memset(out, 0, sizeof(*out));
	if (n_base == 0 || n_x == 0 || median_interval(base, n_base, &b) < 0 ||
	    median_interval(x, n_x, &m) < 0)
		return -1;
	out->ratio = num->median / den->median;
	out->ci_low = num->low / den->high;
	out->ci_high = num->high / den->low;
	out->ci_level = b.coverage * m.coverage;
	/* With fewer than 5 samples a side the interval covers too little (56 %
	 * at 3) to call anything a difference; an A/A comparison would then
	 * "differ" one time in ten per metric. */
	out->significant = out->ci_level >= MIN_SIGNIFICANT_LEVEL &&
	                   !(out->ci_low <= 1.0 && 1.0 <= out->ci_high);
	return 0;
}
