#include "workloads/workload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vl_result_init(struct vl_result *r, const struct vl_workload *w)
{
	memset(r, 0, sizeof(*r));
	r->workload = w;
	r->status = VL_STATUS_OK;
}

void vl_result_release(struct vl_result *r)
{
	json_decref(r->extra);
	r->extra = NULL;
}

void vl_result_set(struct vl_result *r, const char *metric, double value)
{
	for (int i = 0; r->workload->metrics[i].name; i++) {
		if (strcmp(r->workload->metrics[i].name, metric) == 0) {
			r->values[i] = value;
			r->set[i] = true;
			return;
		}
	}
	fprintf(stderr, "virtlab: bug: %s has no metric %s\n", r->workload->name, metric);
	abort();
}

static int set_status(struct vl_result *r, enum vl_status status, const char *fmt, va_list ap)
{
	r->status = status;
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	return 0;
}

int vl_result_fail(struct vl_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_status(r, VL_STATUS_FAILED, fmt, ap);
	va_end(ap);
	return 0;
}

int vl_result_unsupported(struct vl_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_status(r, VL_STATUS_UNSUPPORTED, fmt, ap);
	va_end(ap);
	return 0;
}

const char *vl_status_name(enum vl_status s)
{
	static const char *const names[] = {"ok", "failed", "unsupported", "untrustworthy"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

json_t *vl_result_to_json(const struct vl_result *r)
{
	json_t *obj = json_object();
	json_t *metrics = json_object();

	json_object_set_new(obj, "status", json_string(vl_status_name(r->status)));
	if (r->reason[0])
		json_object_set_new(obj, "reason", json_string(r->reason));
	for (int i = 0; r->workload->metrics[i].name; i++)
		if (r->set[i])
			json_object_set_new(metrics, r->workload->metrics[i].name,
			                    json_real(r->values[i]));
	json_object_set_new(obj, "metrics", metrics);
	if (r->extra)
		json_object_set(obj, "extra", r->extra);
	return obj;
}

int vl_workload_run_once(const struct vl_params *p, const struct vl_run_ctx *ctx,
                         struct vl_result *r, vl_error *err)
{
	vl_error run_err = {0};

	vl_result_init(r, p->workload);
	if (vl_params_validate(p, err) < 0)
		return -1;
	/* A workload that errors out is a failed sample, not a broken agent:
	 * the reason travels with the result. */
	if (p->workload->run(p, ctx, r, &run_err) < 0 && r->status == VL_STATUS_OK)
		vl_result_fail(r, "%s", run_err.msg);
	return 0;
}
