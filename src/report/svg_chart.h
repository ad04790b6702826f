/* Bar charts as inline SVG: stacked bars (one bar per category, one segment
 * per series) and grouped bars (one bar per series within each category) with
 * confidence intervals as error bars. Self-contained: no script, no external
 * font or style, an accessible title and description. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum vl_chart_kind { VL_CHART_GROUPED, VL_CHART_STACKED };

struct vl_chart {
	enum vl_chart_kind kind;
	const char *id;    /* unique within the page: names the title and description */
	const char *title; /* also the SVG's accessible name */
	const char *desc;  /* one sentence for screen readers */
	const char *unit;  /* the value axis' label */
	size_t ncat, nser;
	const char *const *categories; /* ncat labels along the x axis */
	const char *const *series;     /* nser legend entries */
	/* ncat * nser values, category-major; NAN where there is no bar. */
	const double *value;
	/* Interval ends for grouped bars, same layout; NAN draws no error bar. */
	const double *ci_low, *ci_high;
	/* Short text drawn where a bar is missing ("unsupported"), same layout; may be NULL. */
	const char *const *missing;
	/* Bars drawn faded and outlined (results too noisy to trust), same layout; may be NULL. */
	const bool *doubtful;
};

/* Writes the chart as one <svg> element. Every bar is a <rect class="bar">
 * with a <title> giving its value and interval. */
void vl_svg_chart_write(FILE *out, const struct vl_chart *chart);
/* Writes text escaped for XML/HTML content and attribute values. */
void vl_xml_escape(FILE *out, const char *text);
/* A value with three significant digits, without exponent for everyday magnitudes. */
const char *vl_chart_number(double v, char *buf, size_t size);
