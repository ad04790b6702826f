/* report.md: the report for terminals and git, charts given as tables of
 * their values. */
#include "report/report.h"
#include "report/report_view.h"

#include <string.h>

static void cell(FILE *out, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '|')
			fputs("\\|", out);
		else if (*p == '\n' || *p == '\r')
			fputc(' ', out);
		else
			fputc(*p, out);
	}
}

static void table(FILE *out, const struct vl_report_table *t)
{
	if (!t->nrows)
		return;
	for (size_t r = 0; r <= t->nrows; r++) {
		fputc('|', out);
		for (size_t c = 0; c < t->ncols; c++) {
			fputc(' ', out);
			cell(out, vl_report_cell(t, r, c));
			fputs(" |", out);
		}
		fputc('\n', out);
		if (r == 0) {
			fputc('|', out);
			for (size_t c = 0; c < t->ncols; c++)
				fputs("---|", out);
			fputc('\n', out);
		}
	}
	fputc('\n', out);
}

static void section(FILE *out, const char *title, const struct vl_report_table *t,
                    const char *empty)
{
	fprintf(out, "## %s\n\n", title);
	if (t->nrows)
		table(out, t);
	else
		fprintf(out, "%s\n\n", empty);
}

static void figure(FILE *out, const struct vl_report_figure *f)
{
	fprintf(out, "### %s\n\n", f->title);
	if (f->subtitle)
		fprintf(out, "All rows: %s.\n\n", f->subtitle);
	if (f->aside)
		fprintf(out, "%s.\n\n", f->aside);
	if (f->has_chart)
		fprintf(out, "Medians with their confidence intervals (%s%s):\n\n", f->chart.unit,
		        f->chart.kind == VL_CHART_STACKED ? "; the chart stacks the tasks" : "");
	table(out, &f->values);
	if (f->overheads.nrows) {
		fprintf(out, "%s:\n\n", f->overheads_caption);
		table(out, &f->overheads);
	}
	for (size_t i = 0; i < f->nnotes; i++)
		fprintf(out, "- %s\n", f->notes[i]);
	for (size_t i = 0; i < f->ndetails; i++)
		fprintf(out, "- %s\n", f->details[i]);
	if (f->nnotes || f->ndetails)
		fputc('\n', out);
}

int vl_report_write_md(FILE *out, const struct vl_report_view *v, vl_error *err)
{
	(void)err;
	fputs("# virtlab report\n\n", out);
	for (size_t i = 0; i < v->nwarnings; i++)
		fprintf(out, "> **Warning:** %s\n>\n", v->warnings[i]);
	if (v->nwarnings)
		fputc('\n', out);
	if (v->nrecorded)
		fputs("Warnings recorded by the study:\n\n", out);
	for (size_t i = 0; i < v->nrecorded; i++)
		fprintf(out, "- %s\n", v->recorded[i]);
	if (v->nrecorded)
		fputc('\n', out);
	section(out, "At a glance", &v->glance, "No usable platform.");
	section(out, "Host", &v->host, "No host facts recorded.");
	section(out, "Plan", &v->plan, "No plan recorded.");
	section(out, "Platforms", &v->platforms, "No platforms recorded.");
	section(out, "Experiments", &v->experiments, "No experiments recorded.");
	fputs("## Answers\n\n", out);
	for (size_t i = 0; i < v->nanswers; i++)
		fprintf(out, "- **%s** %s.\n", v->answers[i].question, v->answers[i].answer);
	fputs("\n## Figures\n\n", out);
	if (!v->nfigures)
		fputs("No figure rows in the results.\n\n", out);
	for (size_t i = 0; i < v->nfigures; i++)
		figure(out, &v->figures[i]);
	section(out, "Table 5.2: Operational features and constraints", &v->features,
	        "Not measured.");
	return 0;
}
