/* The results of one or more studies in memory: results.json files
 * (docs/results-schema.md, "virtlab-results/1") loaded, validated and merged.
 * Strings point into the JSON the model owns. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

struct vl_report_source {
	char *path;   /* the results.json read */
	json_t *root; /* the whole file */
	/* What tells this source apart from the others in platform labels
	 * (the host name, else the directory); NULL when there is one source. */
	char *qualifier;
};

struct vl_report_platform {
	const struct vl_report_source *source;
	const char *name;
	const char *kind;  /* the platform it runs ("bare" for "bare2"); the name when not given */
	const char *accel; /* native, kvm, tcg, xen, none, or NULL when unknown */
	const char *reason;
	bool usable;
	char *label; /* "qemu", or "qemu @ host" when several sources are merged */
	/* The other host it ran on ("hosts" of its results file, named in the
	 * label as qemu@HOST), NULL for the study's own machine; that host's
	 * acceleration: real, kvm or tcg, NULL when unknown. */
	const char *host;
	const char *host_accel;
};

struct vl_report_summary {
	double median, min, max, mean, cov, ci_low, ci_high, ci_level; /* NAN when unknown */
	long long n;
};

/* The cost against a baseline row, oriented so that a ratio above 1 is worse
 * whichever way the metric goes (docs/results-schema.md). */
struct vl_report_overhead {
	const char *against; /* "bare", or the row without a neighbour ("neighbour=none") */
	double ratio, ci_low, ci_high;
	bool significant; /* false when the interval contains 1 */
	double restored;  /* entitlement: share of the unmanaged slowdown won back, or NAN */
};

struct vl_report_row {
	const struct vl_report_platform *platform;
	const char *experiment;
	const char *figure, *workload, *variant, *metric, *unit, *status, *reason;
	json_t *params, *samples;
	int better; /* 1: higher is better, -1: lower is better */
	bool has_summary, has_overhead;
	struct vl_report_summary summary;
	struct vl_report_overhead overhead;
};

struct vl_report_feature {
	const struct vl_report_platform *platform;
	const char *feature, *how, *note;
	json_t *value;
};

struct vl_report_experiment {
	const struct vl_report_source *source;
	const char *name, *status, *reason;
};

struct vl_report_model {
	struct vl_report_source *sources;
	size_t nsources;
	struct vl_report_platform *platforms;
	size_t nplatforms;
	struct vl_report_experiment *experiments;
	size_t nexperiments;
	struct vl_report_row *rows;
	size_t nrows;
	struct vl_report_feature *features;
	size_t nfeatures;
};

/* Loads paths[0..n-1], each a study directory or a results.json. A file that
 * is missing, not JSON or not the schema gives an input error naming the file
 * and the problem (exit 2). On failure the model is empty. */
int vl_report_model_load(struct vl_report_model *m, const char *const *paths, size_t n,
                         vl_error *err);
void vl_report_model_free(struct vl_report_model *m);
