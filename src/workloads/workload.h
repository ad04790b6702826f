/* The workload interface (after fio's ioengine_ops and stress-ng's stressor
 * table). A workload is one file defining one `const struct vl_workload`,
 * listed once in registry.c. It knows nothing about platforms: it runs where
 * the agent runs it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/error.h"

enum vl_param_type {
	VL_PARAM_INT,    /* integer within [min, max] */
	VL_PARAM_SIZE,   /* bytes, written as 16M, 1G...; within [min, max] */
	VL_PARAM_DOUBLE, /* real within [min, max]; durations are doubles in seconds */
	VL_PARAM_BOOL,   /* true/false, yes/no, 1/0 */
	VL_PARAM_STRING, /* free text, at most VL_PARAM_STRING_MAX - 1 bytes */
	VL_PARAM_CHOICE, /* one of the comma-separated `choices` */
};

#define VL_MAX_PARAMS       16
#define VL_MAX_METRICS      16
#define VL_PARAM_STRING_MAX 128

struct vl_param_spec {
	const char *name;
	enum vl_param_type type;
	const char *def; /* default, as text: parsed like user input */
	double min, max; /* inclusive bounds for INT, SIZE and DOUBLE */
	const char *choices;
	const char *help;
};

struct vl_metric_spec {
	const char *name; /* snake_case, e.g. "events_per_sec" */
	const char *unit; /* e.g. "events/s", "s", "MiB/s", "us" */
	int better;       /* +1 higher is better, -1 lower is better */
	const char *help;
};

struct vl_param_value {
	int64_t i; /* INT, SIZE, BOOL */
	double d;  /* DOUBLE (and INT/SIZE as double) */
	char s[VL_PARAM_STRING_MAX];
};

struct vl_params {
	const struct vl_workload *workload;
	struct vl_param_value v[VL_MAX_PARAMS];
};

enum vl_status {
	VL_STATUS_OK = 0,
	VL_STATUS_FAILED,
	VL_STATUS_UNSUPPORTED,   /* cannot run here; reason says why */
	VL_STATUS_UNTRUSTWORTHY, /* ran, but too noisy to trust */
};

struct vl_result {
	const struct vl_workload *workload;
	enum vl_status status;
	char reason[256];
	double values[VL_MAX_METRICS];
	bool set[VL_MAX_METRICS];
	json_t *extra; /* optional details (per-method figures, histograms); owned */
};

struct vl_run_ctx {
	/* Non-zero once the run must end early (signal, stress-stop); long
	 * loops poll it and return what they have. */
	const volatile int *stop;
	/* Directory where disk workloads create (and always remove) their files. */
	const char *workdir;
};

struct vl_workload {
	const char *name;
	const char *summary;
	const char *thesis;                 /* which thesis task it stands for, e.g. "w1 task 1" */
	const struct vl_param_spec *params; /* ends with {0} */
	const struct vl_metric_spec *metrics; /* ends with {0}; the first is the primary */
	/* Optional: checks that span parameters (e.g. block size <= file size). */
	int (*validate)(const struct vl_params *p, vl_error *err);
	/* Runs once and fills r. Verifies its own output (outside the timed
	 * part) and fails with a reason when it is wrong. */
	int (*run)(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
	           vl_error *err);
	/* Stressors run until their duration ends or ctx->stop is set. */
	bool is_stressor;
};

/* registry.c */
const struct vl_workload *vl_workload_find(const char *name);
const struct vl_workload *const *vl_workload_all(size_t *count);

/* params.c: defaults, validation and access. */
int vl_params_init(struct vl_params *p, const struct vl_workload *w, vl_error *err);
int vl_params_set(struct vl_params *p, const char *name, const char *value, vl_error *err);
/* "key=value" as given to -p. */
int vl_params_set_assignment(struct vl_params *p, const char *assignment, vl_error *err);
/* Applies a JSON object {name: string|number|bool}; unknown names are errors. */
int vl_params_set_json(struct vl_params *p, json_t *obj, vl_error *err);
/* Runs the workload's cross-parameter validate. */
int vl_params_validate(const struct vl_params *p, vl_error *err);
json_t *vl_params_to_json(const struct vl_params *p);
int64_t vl_param_int(const struct vl_params *p, const char *name);
double vl_param_double(const struct vl_params *p, const char *name);
bool vl_param_bool(const struct vl_params *p, const char *name);
const char *vl_param_str(const struct vl_params *p, const char *name);

/* result.c */
void vl_result_init(struct vl_result *r, const struct vl_workload *w);
void vl_result_release(struct vl_result *r);
void vl_result_set(struct vl_result *r, const char *metric, double value);
/* Marks the result failed or unsupported with a reason; returns 0 so a run
 * can `return vl_result_unsupported(...)`: such outcomes are data, not errors. */
int vl_result_fail(struct vl_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vl_result_unsupported(struct vl_result *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
const char *vl_status_name(enum vl_status s);
/* {"status", "reason"?, "metrics": {name: value}, "extra"?} */
json_t *vl_result_to_json(const struct vl_result *r);
/* Runs the workload once: vl_result_init, validate, run. Returns -1 only for
 * invalid parameters; a run that errors out gives a failed result whose
 * reason is the error text. */
int vl_workload_run_once(const struct vl_params *p, const struct vl_run_ctx *ctx,
                         struct vl_result *r, vl_error *err);
