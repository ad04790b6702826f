#include "report/svg_chart.h"

#include <math.h>
#include <string.h>

/* Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                      "#56B4E9", "#D55E00", "#F0E442", "#000000"};
#define N_COLOURS (sizeof(palette) / sizeof(palette[0]))

enum {
	WIDTH = 960,
	LEFT = 78,
	RIGHT = 16,
	PLOT_HEIGHT = 300,
	FONT = 12,
	LEGEND_ROW = 20,
};
/* Average glyph width of the sans-serif at FONT px, for layout without a font engine. */
#define CHAR_WIDTH 6.8

struct layout {
	double x0, plot_w, top, plot_h, lo, hi, step;
	double group_w;
	int rotate_labels;
	double height;
};

void vl_xml_escape(FILE *out, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*p, out);
		}
	}
}

const char *vl_chart_number(double v, char *buf, size_t size)
{
	double a = fabs(v);

	if (isnan(v))
		snprintf(buf, size, "n/a");
	else if (a >= 1e6 || (a > 0 && a < 1e-3))
		snprintf(buf, size, "%.3g", v);
	else if (a >= 100)
		snprintf(buf, size, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, size, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, size, "%.2f", v);
	else
		snprintf(buf, size, "%.3g", v);
	return buf;
}

static double nice_step(double range)
{
	double e = pow(10, floor(log10(range)));
	double f = range / e;

	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;
}

static double at(const double *a, size_t i)
{
	return a ? a[i] : NAN;
}

static bool doubtful(const struct vl_chart *c, size_t k)
{
	return c->doubtful && c->doubtful[k];
}

static bool any_doubtful(const struct vl_chart *c)
{
	for (size_t k = 0; k < c->ncat * c->nser; k++)
		if (doubtful(c, k) && !isnan(c->value[k]))
			return true;
	return false;
}

static void value_range(const struct vl_chart *c, double *lo, double *hi)
{
	*lo = 0;
	*hi = 0;
	for (size_t i = 0; i < c->ncat; i++) {
		double sum = 0;
		for (size_t j = 0; j < c->nser; j++) {
			size_t k = i * c->nser + j;
			double v = c->value[k];
			if (isnan(v))
				continue;
			sum += v;
			if (c->kind == VL_CHART_GROUPED) {
				double l = at(c->ci_low, k), h = at(c->ci_high, k);
				*lo = fmin(*lo, isnan(l) ? v : fmin(v, l));
				*hi = fmax(*hi, isnan(h) ? v : fmax(v, h));
			}
		}
		if (c->kind == VL_CHART_STACKED)
			*hi = fmax(*hi, sum);
	}
}

static size_t legend_rows(const struct vl_chart *c)
{
	double x = 0;
	size_t rows = 1;

	for (size_t j = 0; j < c->nser; j++) {
		double w = 22 + strlen(c->series[j]) * CHAR_WIDTH + 18;
		if (x > 0 && x + w > WIDTH - LEFT - RIGHT) {
			rows++;
			x = 0;
		}
		x += w;
	}
	if (any_doubtful(c) && x + 190 > WIDTH - LEFT - RIGHT)
		rows++;
	return rows;
}

static void compute_layout(const struct vl_chart *c, struct layout *l)
{
	double lo, hi, longest = 0, bottom;

	value_range(c, &lo, &hi);
	if (hi - lo <= 0)
		hi = lo + 1;
	l->step = nice_step((hi - lo) / 5);
	l->lo = floor(lo / l->step) * l->step;
	l->hi = ceil(hi / l->step) * l->step;
	/* Room above the highest bar for its value label. */
	if (hi > l->hi - l->step * 0.25)
		l->hi += l->step;
	l->x0 = LEFT;
	l->plot_w = WIDTH - LEFT - RIGHT;
	l->top = 12 + (double)legend_rows(c) * LEGEND_ROW + 8;
	l->plot_h = PLOT_HEIGHT;
	l->group_w = l->plot_w / (double)(c->ncat ? c->ncat : 1);
	for (size_t i = 0; i < c->ncat; i++)
		longest = fmax(longest, strlen(c->categories[i]) * CHAR_WIDTH);
	l->rotate_labels = longest > l->group_w - 6;
	bottom = l->rotate_labels ? 24 + fmin(longest, 220) * 0.55 : 30;
	l->height = l->top + l->plot_h + bottom;
}

static double ypos(const struct layout *l, double v)
{
	return l->top + l->plot_h * (l->hi - v) / (l->hi - l->lo);
}

/* Ticks are round numbers: no trailing zeros. */
static const char *tick_text(double v, char *buf, size_t size)
{
	snprintf(buf, size, "%.6g", v);
	return buf;
}

static void draw_axes(FILE *out, const struct vl_chart *c, const struct layout *l)
{
	char num[32];

	for (double t = l->lo; t <= l->hi + l->step / 2; t += l->step) {
		double y = ypos(l, t);
		fprintf(out,
		        "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid%s\"/>"
		        "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" "
		        "text-anchor=\"end\">%s</text>\n",
		        l->x0, l->x0 + l->plot_w, y, y, fabs(t) < l->step / 1e6 ? " zero" : "",
		        l->x0 - 6, y + 4,
		        tick_text(fabs(t) < l->step / 1e6 ? 0 : t, num, sizeof(num)));
	}
	fprintf(out,
	        "<text transform=\"translate(16 %.1f) rotate(-90)\" class=\"axis\" "
	        "text-anchor=\"middle\">",
	        l->top + l->plot_h / 2);
	vl_xml_escape(out, strcmp(c->unit, "s") == 0 ? "seconds" : c->unit);
	fputs("</text>\n", out);
	for (size_t i = 0; i < c->ncat; i++) {
		double x = l->x0 + (i + 0.5) * l->group_w, y = l->top + l->plot_h + 16;
		if (l->rotate_labels)
			fprintf(out,
			        "<text transform=\"translate(%.1f %.1f) rotate(-30)\" "
			        "class=\"cat\" "
			        "text-anchor=\"end\">",
			        x + 4, y - 4);
		else
			fprintf(out,
			        "<text x=\"%.1f\" y=\"%.1f\" class=\"cat\" text-anchor=\"middle\">",
			        x, y);
		vl_xml_escape(out, c->categories[i]);
		fputs("</text>\n", out);
	}
}

static void draw_legend(FILE *out, const struct vl_chart *c)
{
	double x = LEFT, y = 12;

	fputs("<g class=\"legend\">\n", out);
	for (size_t j = 0; j < c->nser; j++) {
		double w = 22 + strlen(c->series[j]) * CHAR_WIDTH + 18;
		if (x > LEFT && x + w > WIDTH - RIGHT) {
			x = LEFT;
			y += LEGEND_ROW;
		}
		fprintf(out,
		        "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" rx=\"2\" "
		        "fill=\"%s\"/>"
		        "<text x=\"%.1f\" y=\"%.1f\">",
		        x, y, palette[j % N_COLOURS], x + 20, y + 11);
		vl_xml_escape(out, c->series[j]);
		fputs("</text>\n", out);
		x += w;
	}
	if (any_doubtful(c)) {
		if (x + 190 > WIDTH - RIGHT) {
			x = LEFT;
			y += LEGEND_ROW;
		}
		fprintf(out,
		        "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" rx=\"2\" "
		        "fill=\"#888\" fill-opacity=\"0.35\" stroke=\"#888\" "
		        "stroke-dasharray=\"4 2\"/><text x=\"%.1f\" y=\"%.1f\">faded: "
		        "untrustworthy</text>\n",
		        x, y, x + 20, y + 11);
	}
	fputs("</g>\n", out);
}

static void bar_title(FILE *out, const struct vl_chart *c, size_t i, size_t j);

static void bar(FILE *out, const struct vl_chart *c, size_t i, size_t j, double x, double y,
                double w, double h)
{
	const char *colour = palette[j % N_COLOURS];

	fprintf(out,
	        "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
	        "fill=\"%s\"",
	        x, y, w, h, colour);
	if (doubtful(c, i * c->nser + j))
		fprintf(out, " fill-opacity=\"0.35\" stroke=\"%s\" stroke-dasharray=\"4 2\"",
		        colour);
	fputs(">", out);
	bar_title(out, c, i, j);
	fputs("</rect>\n", out);
}

static void bar_title(FILE *out, const struct vl_chart *c, size_t i, size_t j)
{
	size_t k = i * c->nser + j;
	char v[32], lo[32], hi[32];

	fputs("<title>", out);
	vl_xml_escape(out, c->series[j]);
	fputs(", ", out);
	vl_xml_escape(out, c->categories[i]);
	fprintf(out, ": %s ", vl_chart_number(c->value[k], v, sizeof(v)));
	vl_xml_escape(out, c->unit);
	if (!isnan(at(c->ci_low, k)) && !isnan(at(c->ci_high, k)))
		fprintf(out, " (interval %s to %s)", vl_chart_number(c->ci_low[k], lo, sizeof(lo)),
		        vl_chart_number(c->ci_high[k], hi, sizeof(hi)));
	if (doubtful(c, k))
		fputs(", untrustworthy: too noisy", out);
	fputs("</title>", out);
}

static void missing_text(FILE *out, const struct vl_chart *c, size_t k, double x,
                         const struct layout *l)
{
	const char *why = c->missing ? c->missing[k] : NULL;

	if (!why)
		return;
	fprintf(out, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" class=\"missing\">",
	        x + 4, ypos(l, 0) - 6);
	vl_xml_escape(out, why);
	fputs("</text>\n", out);
}

/* Only the series a category has (a bar or a reason) take room in it, so
 * that a platform measured once is not drawn beside empty slots. */
static size_t slots(const struct vl_chart *c, size_t i)
{
	size_t n = 0;

	for (size_t j = 0; j < c->nser; j++) {
		size_t k = i * c->nser + j;
		n += !isnan(c->value[k]) || (c->missing && c->missing[k]);
	}
	return n;
}

static void draw_grouped(FILE *out, const struct vl_chart *c, const struct layout *l)
{
	size_t widest = 1;
	double bw;
	char num[32];

	for (size_t i = 0; i < c->ncat; i++)
		widest = slots(c, i) > widest ? slots(c, i) : widest;
	bw = fmin(l->group_w * 0.8 / (double)widest, 90);
	for (size_t i = 0; i < c->ncat; i++) {
		double x = l->x0 + i * l->group_w + (l->group_w - bw * (double)slots(c, i)) / 2;
		for (size_t j = 0; j < c->nser; j++) {
			size_t k = i * c->nser + j;
			double v = c->value[k], cx = x + bw * 0.45, y0 = ypos(l, 0), y1;
			double lo = at(c->ci_low, k), hi = at(c->ci_high, k);

			if (isnan(v)) {
				if (c->missing && c->missing[k]) {
					missing_text(out, c, k, cx, l);
					x += bw;
				}
				continue;
			}
			y1 = ypos(l, v);
			bar(out, c, i, j, x, fmin(y0, y1), bw * 0.9, fmax(fabs(y1 - y0), 0.5));
			if (!isnan(lo) && !isnan(hi))
				fprintf(out,
				        "<path class=\"err\" d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f "
				        "%.1fh8\"/>\n",
				        cx, ypos(l, lo), ypos(l, hi), cx - 4, ypos(l, lo), cx - 4,
				        ypos(l, hi));
			if (bw >= 30)
				fprintf(out,
				        "<text x=\"%.1f\" y=\"%.1f\" class=\"val\" "
				        "text-anchor=\"middle\">%s</text>\n",
				        cx,
				        v >= 0 ? fmin(y1, isnan(hi) ? y1 : ypos(l, hi)) - 6
				               : fmax(y1, isnan(lo) ? y1 : ypos(l, lo)) + 14,
				        vl_chart_number(v, num, sizeof(num)));
			x += bw;
		}
	}
}

static void draw_stacked(FILE *out, const struct vl_chart *c, const struct layout *l)
{
	double bw = fmin(l->group_w * 0.6, 120);
	char num[32];

	for (size_t i = 0; i < c->ncat; i++) {
		double x = l->x0 + i * l->group_w + (l->group_w - bw) / 2, sum = 0;
		size_t drawn = 0;

		for (size_t j = 0; j < c->nser; j++) {
			size_t k = i * c->nser + j;
			double v = c->value[k], ytop, ybot;

			if (isnan(v))
				continue;
			ybot = ypos(l, sum);
			sum += v;
			ytop = ypos(l, sum);
			bar(out, c, i, j, x, ytop, bw, fmax(ybot - ytop, 0.5));
			if (ybot - ytop >= 15 && bw >= 40)
				fprintf(out,
				        "<text x=\"%.1f\" y=\"%.1f\" class=\"seg%s\" "
				        "text-anchor=\"middle\">%s</text>\n",
				        x + bw / 2, (ytop + ybot) / 2 + 4,
				        doubtful(c, k) ? " dim" : "",
				        vl_chart_number(v, num, sizeof(num)));
			drawn++;
		}
		if (drawn)
			fprintf(out,
			        "<text x=\"%.1f\" y=\"%.1f\" class=\"val\" "
			        "text-anchor=\"middle\">%s</text>\n",
			        x + bw / 2, ypos(l, sum) - 5,
			        vl_chart_number(sum, num, sizeof(num)));
		else
			for (size_t j = 0; j < c->nser; j++)
				if (c->missing && c->missing[i * c->nser + j]) {
					missing_text(out, c, i * c->nser + j, x + bw / 2 - 4, l);
					break;
				}
	}
}

void vl_svg_chart_write(FILE *out, const struct vl_chart *c)
{
	struct layout l;

	compute_layout(c, &l);
	fprintf(out,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 %d %.0f\" "
	        "width=\"%d\" height=\"%.0f\" role=\"img\" aria-labelledby=\"%s-t %s-d\" "
	        "font-family=\"sans-serif\" font-size=\"%d\">\n<title id=\"%s-t\">",
	        WIDTH, l.height, WIDTH, l.height, c->id, c->id, FONT, c->id);
	vl_xml_escape(out, c->title);
	fprintf(out, "</title>\n<desc id=\"%s-d\">", c->id);
	vl_xml_escape(out, c->desc);
	fputs("</desc>\n", out);
	draw_legend(out, c);
	draw_axes(out, c, &l);
	if (c->kind == VL_CHART_STACKED)
		draw_stacked(out, c, &l);
	else
		draw_grouped(out, c, &l);
	fputs("</svg>\n", out);
}
