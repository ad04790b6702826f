#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_of_sorted(const double *v, size_t n)
{
	if (n == 0)
		return 0.0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

double vl_median(const double *values, size_t n)
{
	double *sorted;
	double m;

	if (n == 0)
		return 0.0;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		abort();
	memcpy(sorted, values, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), compare_double);
	m = median_of_sorted(sorted, n);
	free(sorted);
	return m;
}

/* P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so that large n
 * does not overflow. */
static double binomial_half_cdf(size_t n, size_t k)
{
	double sum = 0.0;
	for (size_t i = 0; i <= k && i <= n; i++)
		sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) -
		           lgamma((double)(n - i) + 1) - (double)n * log(2.0));
	return sum;
}

void vl_median_ci_ranks(size_t n, double level, size_t *lo, size_t *hi, double *coverage)
{
	/* The interval [x(j), x(n-1-j)] covers the median with probability
	 * 1 - 2 P(X <= j); take the largest j that still reaches level. */
	size_t best = 0;
	double best_cov;

	if (n == 0) {
		*lo = *hi = 0;
		*coverage = 0.0;
		return;
	}
	best_cov = n > 1 ? 1.0 - 2.0 * binomial_half_cdf(n, 0) : 0.0;
	for (size_t j = 1; 2 * j < n; j++) {
		double cov = 1.0 - 2.0 * binomial_half_cdf(n, j);
		if (cov < level)
			break;
		best = j;
		best_cov = cov;
	}
	*lo = best;
	*hi = n - 1 - best;
	*coverage = best_cov;
}

void vl_summarize(const double *values, size_t n, struct vl_summary *out)
{
	double *sorted;
	double sum = 0.0, sq = 0.0;
	size_t lo, hi;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		abort();
	memcpy(sorted, values, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), compare_double);

	out->n = n;
	out->min = sorted[0];
	out->max = sorted[n - 1];
	out->median = median_of_sorted(sorted, n);
	for (size_t i = 0; i < n; i++)
		sum += sorted[i];
	out->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		sq += (sorted[i] - out->mean) * (sorted[i] - out->mean);
	out->stddev = n > 1 ? sqrt(sq / (double)(n - 1)) : 0.0;
	out->cov = out->mean != 0.0 ? out->stddev / fabs(out->mean) : 0.0;
	vl_median_ci_ranks(n, 0.95, &lo, &hi, &out->ci_level);
	out->ci_low = sorted[lo];
	out->ci_high = sorted[hi];
	free(sorted);
}
