/* results.csv: one line per figure row, RFC 4180 quoting, numbers in full
 * precision so that spreadsheets recompute what the report shows. */
#include "report/report.h"
#include "report/report_view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void field(FILE *out, const char *s, bool last)
{
	if (s && strpbrk(s, ",\"\r\n")) {
		fputc('"', out);
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				fputc('"', out);
			fputc(*p, out);
		}
		fputc('"', out);
	} else if (s) {
		fputs(s, out);
	}
	fputs(last ? "\r\n" : ",", out);
}

static void number(FILE *out, double v, bool present)
{
	char buf[32];

	/* The shortest text that reads back as the same double. */
	for (int digits = 15; present && !isnan(v) && digits <= 17; digits++) {
		snprintf(buf, sizeof(buf), "%.*g", digits, v);
		if (strtod(buf, NULL) == v || digits == 17) {
			fputs(buf, out);
			break;
		}
	}
	fputc(',', out);
}

int vl_report_write_csv(FILE *out, const struct vl_report_view *view, vl_error *err)
{
	const struct vl_report_model *m = view->model;

	(void)err;
	fputs("source,experiment,figure,platform,accel,workload,variant,metric,unit,better,status,"
	      "reason,n,median,min,max,mean,cov,ci_low,ci_high,ci_level,overhead_against,"
	      "overhead_ratio,overhead_ci_low,overhead_ci_high,overhead_significant\r\n",
	      out);
	for (size_t i = 0; i < m->nrows; i++) {
		const struct vl_report_row *r = &m->rows[i];
		const struct vl_report_summary *s = &r->summary;
		const struct vl_report_overhead *o = &r->overhead;

		field(out, r->platform->source->path, false);
		field(out, r->experiment, false);
		field(out, r->figure, false);
		field(out, r->platform->label, false);
		field(out, r->platform->accel, false);
		field(out, r->workload, false);
		field(out, r->variant, false);
		field(out, r->metric, false);
		field(out, r->unit, false);
		fprintf(out, "%d,", r->better);
		field(out, r->status, false);
		field(out, r->reason, false);
		if (r->has_summary)
			fprintf(out, "%lld,", s->n);
		else
			fputc(',', out);
		number(out, s->median, r->has_summary);
		number(out, s->min, r->has_summary);
		number(out, s->max, r->has_summary);
		number(out, s->mean, r->has_summary);
		number(out, s->cov, r->has_summary);
		number(out, s->ci_low, r->has_summary);
		number(out, s->ci_high, r->has_summary);
		number(out, s->ci_level, r->has_summary);
		field(out, r->has_overhead ? o->against : NULL, false);
		number(out, o->ratio, r->has_overhead);
		number(out, o->ci_low, r->has_overhead);
		number(out, o->ci_high, r->has_overhead);
		field(out, r->has_overhead ? (o->significant ? "true" : "false") : NULL, true);
	}
	return 0;
}
