/* `virtlab report`: reports from results files only (docs/results-schema.md).
 * Each format is one file and one line in the table in report.c. */
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

struct vl_report_view;

enum {
	VL_REPORT_HTML = 1u << 0,
	VL_REPORT_MD = 1u << 1,
	VL_REPORT_CSV = 1u << 2,
	VL_REPORT_JSON = 1u << 3,
	VL_REPORT_ALL = (1u << 4) - 1,
};

struct vl_report_format {
	const char *name; /* as --format takes it */
	unsigned flag;
	const char *file; /* written in the output directory */
	int (*write)(FILE *out, const struct vl_report_view *view, vl_error *err);
};

extern const struct vl_report_format vl_report_formats[];
extern const size_t vl_report_nformats;

/* "html,md" into format flags; an unknown name is an input error. */
int vl_report_parse_formats(const char *list, unsigned *formats, vl_error *err);
/* Loads and merges the results in dirs (study directories or results.json
 * files) and writes one file per format in out_dir, atomically. out_dir NULL
 * means the one study directory given. */
int vl_report_write(const char *const *dirs, size_t ndirs, const char *out_dir, unsigned formats,
                    vl_error *err);

int vl_report_write_html(FILE *out, const struct vl_report_view *view, vl_error *err);
int vl_report_write_md(FILE *out, const struct vl_report_view *view, vl_error *err);
int vl_report_write_csv(FILE *out, const struct vl_report_view *view, vl_error *err);
int vl_report_write_json(FILE *out, const struct vl_report_view *view, vl_error *err);
