/* Calibration: each workload against the tool the thesis used (sysbench,
 * mbw, iperf3, ioping, dd, openssl), with equal parameters, run by run in
 * turn (ours, reference, ours, reference...), ours through the agent on the
 * bare platform. docs/methodology.md explains each pair. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "core/error.h"
#include "workloads/workload.h"

struct vl_calibrate_options {
	unsigned runs;           /* interleaved pairs of runs; 0 = 5 */
	bool quick;              /* smaller sizes and counts */
	const char *workdir;     /* where both sides put their files; NULL = the current one */
	const char *const *only; /* workload names to calibrate; NULL/empty = all */
	size_t n_only;
	const volatile int *stop; /* may be NULL */
	/* Optional: told about each finished run (side is "ours" or the tool). */
	void (*progress)(void *arg, const char *row, unsigned run, unsigned runs, const char *side,
	                 double value, const char *unit);
	void *progress_arg;
};

/* Runs the selected pairs. *rows gets one object per pair:
 *   {"workload", "variant", "metric", "unit", "params", "reference_tool",
 *    "reference_argv", "note", "status" ("ok", "reference not installed",
 *    "failed"), "error"?, "runs", "ours", "reference", "ratio" (ours /
 *    reference; null unless ok), "ours_min", "ours_max", "reference_min",
 *    "reference_max", "ours_samples", "reference_samples"}
 * ours and reference are medians. A missing tool or a failed pair is data in
 * its row; only a bad selection, a guest that cannot start or an
 * interruption fails the call. */
int vl_calibrate(const struct vl_calibrate_options *o, json_t **rows, vl_error *err);

/* The workload names that have a reference, comma-separated, for messages. */
const char *vl_calibrate_workloads(char *buf, size_t size);

/* What a reference tool left behind: the parsers read these. */
struct vl_ref_output {
	const char *out;  /* stdout */
	const char *err;  /* stderr */
	double elapsed_s; /* wall time of all its invocations */
};

/* Parsers of the reference tools' output, in our metric's unit. p is the
 * pair's resolved parameters (for the method or direction); may be NULL for
 * parsers that do not need it. */
typedef int vl_ref_parser(const struct vl_ref_output *o, const struct vl_params *p, double *value,
                          vl_error *err);
vl_ref_parser vl_parse_sysbench_events_per_sec; /* sysbench cpu: "events per second:" */
vl_ref_parser vl_parse_sysbench_total_time;     /* "total time: 0.1383s", s */
vl_ref_parser vl_parse_sysbench_fileio_iops;    /* reads/s + writes/s */
vl_ref_parser vl_parse_mbw_avg;                 /* "AVG Method: <p's methods>", MiB/s */
vl_ref_parser vl_parse_iperf3_gbps;             /* -J: sum_sent (sum_received with
                                                   direction=recv), Gbit/s */
vl_ref_parser vl_parse_ioping_avg_us;           /* -B: field 6 (ns), us */
vl_ref_parser vl_parse_dd_mbps;                 /* "N bytes ... copied, S s", 10^6 B/s */
vl_ref_parser vl_parse_wall_time;               /* elapsed_s itself, s */
