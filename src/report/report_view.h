/* What a report says, derived once from the model for every format: the
 * figures with their chart data and tables, the warnings, and the answers to
 * the thesis' questions. The text formats only lay this out. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "report/report_model.h"
#include "report/svg_chart.h"

struct vl_report_table {
	size_t ncols, nrows; /* nrows excludes the header */
	const char **cells;  /* (nrows + 1) * ncols, header row first */
};

struct vl_report_figure {
	const char *id;       /* "4.1" */
	const char *title;    /* "Figure 4.1: CPU virtualization overhead, 1 virtual CPU" */
	const char *subtitle; /* what all its rows share ("vcpus=1, metric seconds"), or NULL */
	const char *aside;    /* rows left out of the chart (another unit), or NULL */
	bool has_chart;       /* false for the tables of chapter 5 */
	struct vl_chart chart;
	struct vl_report_table values;    /* medians and intervals */
	struct vl_report_table overheads; /* against bare; nrows 0 when there are none */
	const char *overheads_caption;
	const char **notes; /* rows that did not run, with the reason */
	size_t nnotes;
	const char **details; /* why bars are untrustworthy; the neighbours' own figures */
	size_t ndetails;
};

struct vl_report_answer {
	const char *question;
	const char *answer; /* "not measured" when the data has nothing */
};

struct vl_report_view {
	const struct vl_report_model *model;
	struct vl_report_figure *figures;
	size_t nfigures;
	const char **warnings; /* the banner: what makes figures misleading */
	size_t nwarnings;
	const char **recorded; /* the warnings the studies recorded (per-row CoV...) */
	size_t nrecorded;
	struct vl_report_answer *answers;
	size_t nanswers;
	struct vl_report_table glance;      /* one line per usable platform: the headline figures */
	struct vl_report_table host;        /* facts down, one column per results file */
	struct vl_report_table plan;        /* source, setting, value */
	struct vl_report_table platforms;   /* platform, usable, acceleration, reason */
	struct vl_report_table experiments; /* experiment, status, reason */
	struct vl_report_table features;    /* table 5.2: feature by platform */
	/* Everything above is allocated here and freed with the view. */
	void **owned;
	size_t nowned, capowned;
	bool out_of_memory;
};

int vl_report_view_build(struct vl_report_view *v, const struct vl_report_model *m, vl_error *err);
void vl_report_view_free(struct vl_report_view *v);
/* A table cell. */
const char *vl_report_cell(const struct vl_report_table *t, size_t row, size_t col);
