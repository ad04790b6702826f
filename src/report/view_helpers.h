/* What the parts of the report view share: allocation owned by the view,
 * numbers as text, and what a row is (an operation, a stressed run...). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "report/report_view.h"

/* Registers p with the view (freed with it); NULL marks the view out of memory. */
void *vl_report_own(struct vl_report_view *v, void *p);
void *vl_report_zalloc(struct vl_report_view *v, size_t n, size_t size);
/* printf into a string the view owns; "" when out of memory. */
const char *vl_report_text(struct vl_report_view *v, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
const char *vl_report_num(struct vl_report_view *v, double x);
/* "s" for "seconds", other units as they are. */
const char *vl_report_unit(const char *unit);
/* An overhead ratio (above 1 is worse) as a percentage: "+12.3%". */
const char *vl_report_percent(struct vl_report_view *v, double ratio);
/* "worse", "better" or "no significant difference", from the row's overhead. */
const char *vl_report_verdict(const struct vl_report_row *r);
const char *vl_report_json_text(struct vl_report_view *v, json_t *j);
/* A table of nrows (header not counted) by ncols, cells empty. */
struct vl_report_table vl_report_table_new(struct vl_report_view *v, size_t nrows, size_t ncols);
/* Sets a cell; row 0 is the header. Out of range does nothing. */
void vl_report_set(struct vl_report_table *t, size_t row, size_t col, const char *s);
/* Workload and variant: "operations op=provision". */
const char *vl_report_row_key(struct vl_report_view *v, const struct vl_report_row *r);
/* Distinct strings of items[0..n-1] into out, in order of first appearance. */
size_t vl_report_distinct(const char **items, size_t n, const char **out);

/* A row with a median worth drawing (ok, or untrustworthy and marked so). */
bool vl_report_drawable(const struct vl_report_row *r);
/* Table 5.1. */
bool vl_report_is_operation(const struct vl_report_row *r);
/* Chapter 6: the isolation and entitlement experiments, and the network
 * experiment's isolation figure (6.4). */
bool vl_report_is_neighbour_experiment(const struct vl_report_row *r);
/* The noisy neighbour's own figure ("role=neighbour of ..."). */
bool vl_report_is_neighbour_row(const struct vl_report_row *r);
/* The guest's run without a neighbour: the baseline of a slowdown. */
bool vl_report_is_alone_row(const struct vl_report_row *r);
/* The entitlement policy of a chapter 6 row ("policy=cpuset"), or
 * "isolation (no policy)". */
const char *vl_report_policy(struct vl_report_view *v, const struct vl_report_row *r);
/* The increase in execution time, in percent, that a stressed row's overhead
 * stands for, with its interval; false when the row has no overhead. */
bool vl_report_slowdown(const struct vl_report_row *r, double *pct, double *lo, double *hi);

void vl_report_build_answers(struct vl_report_view *v);
