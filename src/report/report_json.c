/* report.json: every source merged into one normalised document: the rows
 * flattened with their platform label, and what the report concluded. */
#include "report/report.h"
#include "core/cleanup.h"
#include "report/report_view.h"

#include <errno.h>
#include <math.h>

static json_t *real_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *sources(const struct vl_report_model *m)
{
	json_t *list = json_array();

	for (size_t i = 0; i < m->nsources; i++) {
		json_t *root = m->sources[i].root, *exps = json_object(), *e;
		const char *name;

		json_object_foreach(json_object_get(root, "experiments"), name, e)
		        json_object_set_new(exps, name,
		                            json_pack("{s:O?,s:O?,s:O?,s:O?}", "status",
		                                      json_object_get(e, "status"), "reason",
		                                      json_object_get(e, "reason"), "started",
		                                      json_object_get(e, "started"), "finished",
		                                      json_object_get(e, "finished")));
		json_array_append_new(
		        list, json_pack("{s:s,s:o,s:O?,s:O?,s:O?,s:O,s:O,s:O,s:o}", "path",
		                        m->sources[i].path, "label",
		                        string_or_null(m->sources[i].qualifier), "virtlab_version",
		                        json_object_get(root, "virtlab_version"), "started",
		                        json_object_get(root, "started"), "finished",
		                        json_object_get(root, "finished"), "host",
		                        json_object_get(root, "host"), "plan",
		                        json_object_get(root, "plan"), "platforms",
		                        json_object_get(root, "platforms"), "experiments", exps));
	}
	return list;
}

static json_t *row(const struct vl_report_row *r)
{
	const struct vl_report_summary *s = &r->summary;
	const struct vl_report_overhead *o = &r->overhead;
	json_t *summary = json_null(), *overhead = json_null();

	if (r->has_summary)
		summary = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "median",
		                    real_or_null(s->median), "min", real_or_null(s->min), "max",
		                    real_or_null(s->max), "mean", real_or_null(s->mean), "cov",
		                    real_or_null(s->cov), "ci_low", real_or_null(s->ci_low),
		                    "ci_high", real_or_null(s->ci_high), "ci_level",
		                    real_or_null(s->ci_level), "n", (json_int_t)s->n);
	if (r->has_overhead)
		overhead = json_pack("{s:s,s:f,s:f,s:f,s:b}", "against", o->against, "ratio",
		                     o->ratio, "ci_low", o->ci_low, "ci_high", o->ci_high,
		                     "significant", o->significant);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:O?,s:s,s:s,s:i,s:s,s:o,s:O,s:o,s:o}",
	                 "source", r->platform->source->path, "experiment", r->experiment, "figure",
	                 r->figure, "platform", r->platform->label, "platform_name",
	                 r->platform->name, "accel", string_or_null(r->platform->accel), "workload",
	                 r->workload, "variant", string_or_null(r->variant), "params", r->params,
	                 "metric", r->metric, "unit", r->unit, "better", r->better, "status",
	                 r->status, "reason", string_or_null(r->reason), "samples", r->samples,
	                 "summary", summary, "overhead", overhead);
}

int vl_report_write_json(FILE *out, const struct vl_report_view *view, vl_error *err)
{
	const struct vl_report_model *m = view->model;
	cleanup_json json_t *doc = NULL;
	json_t *rows = json_array(), *features = json_array(), *warnings = json_array();
	json_t *answers = json_array();

	for (size_t i = 0; i < m->nrows; i++)
		json_array_append_new(rows, row(&m->rows[i]));
	for (size_t i = 0; i < m->nfeatures; i++)
		json_array_append_new(features, json_pack("{s:s,s:s,s:O?,s:o}", "platform",
		                                          m->features[i].platform->label, "feature",
		                                          m->features[i].feature, "value",
		                                          m->features[i].value, "how",
		                                          string_or_null(m->features[i].how)));
	for (size_t i = 0; i < view->nwarnings; i++)
		json_array_append_new(warnings, json_string(view->warnings[i]));
	for (size_t i = 0; i < view->nrecorded; i++)
		json_array_append_new(warnings, json_string(view->recorded[i]));
	for (size_t i = 0; i < view->nanswers; i++)
		json_array_append_new(answers,
		                      json_pack("{s:s,s:s}", "question", view->answers[i].question,
		                                "answer", view->answers[i].answer));
	doc = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "schema", "virtlab-report/1",
	                "virtlab_version", VL_VERSION, "sources", sources(m), "rows", rows,
	                "features", features, "warnings", warnings, "answers", answers);
	if (!doc)
		return vl_error_errno(err, ENOMEM, "building report.json");
	if (json_dumpf(doc, out, JSON_INDENT(1) | JSON_ENSURE_ASCII) < 0)
		return vl_error_errno(err, errno, "writing report.json");
	fputc('\n', out);
	return 0;
}
