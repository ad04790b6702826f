#include "report/report_view.h"
#include "core/units.h"
#include "report/view_helpers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 8

/* The thesis' figures and tables, by number; the CPU figures stack the
 * times of the w1 tasks; the network figure groups its bars by platform, as
 * the thesis draws NAT and bridged side by side for each. */
static const struct {
	const char *id, *title;
	bool stacked;
} catalog[] = {
        {"4.1", "CPU virtualization overhead, 1 virtual CPU", true},
        {"4.2", "CPU virtualization overhead, 2 virtual CPUs", true},
        {"4.3", "CPU virtualization overhead, 4 virtual CPUs", true},
        {"4.4", "CPU virtualization overhead, 8 virtual CPUs", true},
        {"4.5", "Memory virtualization overhead, guest memory equal to the host's", false},
        {"4.6", "Memory virtualization overhead, guest memory below the host's", false},
        {"4.7", "Memory virtualization overhead, guest memory above the host's (overcommit)",
         false},
        {"4.8", "Network virtualization overhead, bandwidth", false},
        {"4.9", "Disk virtualization overhead, sequential file I/O", false},
        {"4.10", "Disk virtualization overhead, random file I/O", false},
        {"4.11", "Disk virtualization overhead, copy performance", false},
        {"5.1", "Operational metrics", false},
        {"6.2", "CPU isolation: increase in execution time under a noisy neighbour", false},
        {"6.3", "Memory isolation: increase in execution time under a noisy neighbour", false},
        {"6.4", "Network isolation: increase in execution time under a noisy neighbour", false},
        {"6.4b", "Network entitlement: bandwidth under a rate policy on the guest's device", false},
        {"6.5", "Disk I/O isolation: increase in execution time under a noisy neighbour", false},
};
#define N_CATALOG          (sizeof(catalog) / sizeof(catalog[0]))
#define BY_PLATFORM_FIGURE "4.8"

/* How a figure is drawn. */
enum mode { MODE_GROUPED, MODE_STACKED, MODE_SLOWDOWN, MODE_TABLE, MODE_BY_PLATFORM };

struct figure_group {
	const char *id;
	enum mode mode;
};

/* --- figures --- */

static int figure_cmp(const char *a, const char *b)
{
	char *ea, *eb;
	long ma = strtol(a, &ea, 10), mb = strtol(b, &eb, 10);

	if (ma != mb)
		return ma < mb ? -1 : 1;
	if (*ea == '.' && *eb == '.') {
		long na = strtol(ea + 1, NULL, 10), nb = strtol(eb + 1, NULL, 10);
		if (na != nb)
			return na < nb ? -1 : 1;
	}
	return strcmp(a, b);
}

static size_t catalog_index(const char *id)
{
	size_t i;

	for (i = 0; i < N_CATALOG && strcmp(catalog[i].id, id) != 0; i++)
		;
	return i;
}

static enum mode figure_mode(const struct vl_report_row *r)
{
	size_t i;

	if (vl_report_is_operation(r) || strcmp(r->figure, "5.2") == 0)
		return MODE_TABLE;
	if (vl_report_is_neighbour_experiment(r))
		return MODE_SLOWDOWN;
	i = catalog_index(r->figure);
	if (strcmp(r->figure, BY_PLATFORM_FIGURE) == 0)
		return MODE_BY_PLATFORM;
	return i < N_CATALOG && catalog[i].stacked ? MODE_STACKED : MODE_GROUPED;
}

/* A row's identity within its figure: the workload, then the variant's parts
 * ("size=16M", "method=memcpy"), separated by commas or spaces. */
struct tokens {
	char buf[256];
	const char *t[MAX_TOKENS];
	size_t n;
};

static void tokenize(const struct vl_report_row *r, struct tokens *tk)
{
	char *save = NULL, *p;

	snprintf(tk->buf, sizeof(tk->buf), "%s %s", r->workload, r->variant ? r->variant : "");
	tk->n = 0;
	for (p = strtok_r(tk->buf, ", ", &save); p && tk->n < MAX_TOKENS;
	     p = strtok_r(NULL, ", ", &save))
		tk->t[tk->n++] = p;
}

static bool has_token(const struct tokens *tk, const char *t)
{
	for (size_t i = 0; i < tk->n; i++)
		if (strcmp(tk->t[i], t) == 0)
			return true;
	return false;
}

struct figure_rows {
	enum mode mode;
	const char *unit; /* the chart's */
	const struct vl_report_row **rows;
	size_t n;
	struct tokens *tokens;
	const char **keys; /* per row: what tells it apart within the figure */
	bool several_metrics;
};

/* Parts every row shares become the subtitle; the rest name the rows. */
static void figure_keys(struct vl_report_view *v, struct vl_report_figure *f,
                        struct figure_rows *fr)
{
	char common[256] = "";

	for (size_t i = 0; i < fr->n; i++)
		tokenize(fr->rows[i], &fr->tokens[i]);
	for (size_t t = 0; fr->n > 1 && t < fr->tokens[0].n; t++) {
		bool everywhere = true;
		for (size_t i = 1; i < fr->n && everywhere; i++)
			everywhere = has_token(&fr->tokens[i], fr->tokens[0].t[t]);
		if (everywhere)
			snprintf(common + strlen(common), sizeof(common) - strlen(common), "%s%s",
			         common[0] ? ", " : "", fr->tokens[0].t[t]);
	}
	for (size_t i = 0; i < fr->n; i++) {
		char key[256] = "";
		/* Named by the whole variant ("policy=cpuset neighbour=stress.cpu") or
		 * the operation ("provision"). */
		if (fr->mode == MODE_SLOWDOWN || fr->mode == MODE_TABLE) {
			fr->keys[i] = vl_report_row_key(v, fr->rows[i]);
			continue;
		}
		for (size_t t = 0; t < fr->tokens[i].n; t++) {
			const char *tok = fr->tokens[i].t[t];
			bool shared = fr->n > 1;
			for (size_t j = 0; j < fr->n && shared; j++)
				shared = has_token(&fr->tokens[j], tok);
			if (!shared)
				snprintf(key + strlen(key), sizeof(key) - strlen(key), "%s%s",
				         key[0] ? " " : "", tok);
		}
		if (fr->several_metrics)
			snprintf(key + strlen(key), sizeof(key) - strlen(key), "%s%s",
			         key[0] ? " " : "", fr->rows[i]->metric);
		fr->keys[i] = vl_report_text(v, "%s", key[0] ? key : fr->rows[i]->workload);
	}
	f->subtitle = common[0] && fr->mode != MODE_TABLE ? vl_report_text(v, "%s", common) : NULL;
}

static size_t index_of(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return n;
}

/* Where a row goes in its figure's grid of values, and whether it is there
 * at all: the slowdown figures show the stressed runs only (the runs alone are
 * their baseline, the neighbours' own figures go to the notes). A row in
 * another unit than the chart's is named with its unit. */
static bool place(struct vl_report_view *v, const struct figure_rows *fr, size_t i,
                  const char **cat, const char **ser)
{
	const struct vl_report_row *r = fr->rows[i];
	bool other_unit = strcmp(r->unit, fr->unit) != 0;

	switch (fr->mode) {
	case MODE_STACKED:
		*cat = r->platform->label;
		*ser = other_unit ? vl_report_text(v, "%s (%s)", r->workload, r->unit)
		                  : r->workload;
		return true;
	case MODE_SLOWDOWN:
		if (vl_report_is_neighbour_row(r) || vl_report_is_alone_row(r))
			return false;
		*cat = r->platform->label;
		*ser = vl_report_policy(v, r);
		return true;
	case MODE_BY_PLATFORM:
		*cat = r->platform->label;
		*ser = other_unit ? vl_report_text(v, "%s (%s)", fr->keys[i], r->unit)
		                  : fr->keys[i];
		return true;
	default:
		*cat = other_unit ? vl_report_text(v, "%s (%s)", fr->keys[i], r->unit)
		                  : fr->keys[i];
		*ser = r->platform->label;
		return true;
	}
}

/* A value axis has one unit: the one most rows of the figure have. */
static const char *main_unit(const struct figure_rows *fr)
{
	size_t best = 0, best_n = 0;

	for (size_t i = 0; i < fr->n; i++) {
		size_t n = 0;
		for (size_t j = 0; j < fr->n; j++)
			n += strcmp(fr->rows[j]->unit, fr->rows[i]->unit) == 0;
		if (n > best_n) {
			best = i;
			best_n = n;
		}
	}
	return fr->n ? fr->rows[best]->unit : "";
}

static bool chart_value(const struct figure_rows *fr, const struct vl_report_row *r, double *val,
                        double *lo, double *hi)
{
	if (fr->mode == MODE_SLOWDOWN)
		return vl_report_slowdown(r, val, lo, hi);
	if (!vl_report_drawable(r))
		return false;
	*val = r->summary.median;
	*lo = r->summary.ci_low;
	*hi = r->summary.ci_high;
	return true;
}

static const char *value_text(struct vl_report_view *v, const struct figure_rows *fr,
                              const struct vl_report_row *r)
{
	double val, lo, hi;

	if (!chart_value(fr, r, &val, &lo, &hi))
		return r->status;
	if (fr->mode == MODE_SLOWDOWN)
		return vl_report_text(v, "%+.1f%% [%+.1f%%, %+.1f%%]", val, lo, hi);
	return vl_report_text(v, "%s [%s, %s]%s", vl_report_num(v, val), vl_report_num(v, lo),
	                      vl_report_num(v, hi),
	                      strcmp(r->status, "ok") == 0 ? ""
	                                                   : vl_report_text(v, " (%s)", r->status));
}

static void figure_chart(struct vl_report_view *v, struct vl_report_figure *f,
                         const struct figure_rows *fr)
{
	const char **cat_of = vl_report_zalloc(v, fr->n, sizeof(*cat_of));
	const char **ser_of = vl_report_zalloc(v, fr->n, sizeof(*ser_of));
	bool *placed = vl_report_zalloc(v, fr->n, sizeof(*placed));
	bool *charted = vl_report_zalloc(v, fr->n, sizeof(*charted));
	/* [0]: the table's categories and series, [1]: the chart's. */
	const char **list[2][2], **all[2][2];
	size_t nlist[2][2], n[2] = {0, 0};
	struct vl_chart *c = &f->chart;
	double *value, *lo, *hi;
	const char **missing;
	bool *doubtful;
	char id[64];

	for (int t = 0; t < 2; t++)
		for (int d = 0; d < 2; d++) {
			list[t][d] = vl_report_zalloc(v, fr->n, sizeof(**list[t]));
			all[t][d] = vl_report_zalloc(v, fr->n, sizeof(**all[t]));
			if (!list[t][d] || !all[t][d])
				return;
		}
	if (!cat_of || !ser_of || !placed || !charted)
		return;
	for (size_t i = 0; i < fr->n; i++) {
		if (!(placed[i] = place(v, fr, i, &cat_of[i], &ser_of[i])))
			continue;
		charted[i] = fr->mode == MODE_SLOWDOWN || strcmp(fr->rows[i]->unit, fr->unit) == 0;
		for (int t = 0; t < 1 + charted[i]; t++) {
			/* The table keeps measures down, as in the other figures. */
			bool swap = t == 0 && fr->mode == MODE_BY_PLATFORM;
			all[t][0][n[t]] = swap ? ser_of[i] : cat_of[i];
			all[t][1][n[t]++] = swap ? cat_of[i] : ser_of[i];
		}
	}
	for (int t = 0; t < 2; t++)
		for (int d = 0; d < 2; d++)
			nlist[t][d] = vl_report_distinct(all[t][d], n[t], list[t][d]);
	for (size_t i = 0; i < fr->n; i++) {
		const char *label = fr->mode == MODE_STACKED || fr->mode == MODE_BY_PLATFORM
		                            ? ser_of[i]
		                            : cat_of[i];
		if (placed[i] && !charted[i] && !strstr(f->aside ? f->aside : "", label))
			f->aside = vl_report_text(v, "%s%s%s",
			                          f->aside ? f->aside
			                                   : "Not charted, in "
			                                     "another unit: ",
			                          f->aside ? ", " : "", label);
	}
	f->values = vl_report_table_new(v, nlist[0][0], nlist[0][1] + 1);
	vl_report_set(&f->values, 0, 0,
	              fr->mode == MODE_GROUPED || fr->mode == MODE_BY_PLATFORM ? "measure"
	                                                                       : "platform");
	for (size_t j = 0; j < nlist[0][1]; j++)
		vl_report_set(&f->values, 0, j + 1, list[0][1][j]);
	for (size_t i = 0; i < nlist[0][0]; i++)
		vl_report_set(&f->values, i + 1, 0, list[0][0][i]);
	c->kind = fr->mode == MODE_STACKED ? VL_CHART_STACKED : VL_CHART_GROUPED;
	c->ncat = nlist[1][0];
	c->nser = nlist[1][1];
	c->categories = list[1][0];
	c->series = list[1][1];
	value = vl_report_zalloc(v, c->ncat * c->nser, sizeof(*value));
	lo = vl_report_zalloc(v, c->ncat * c->nser, sizeof(*lo));
	hi = vl_report_zalloc(v, c->ncat * c->nser, sizeof(*hi));
	missing = vl_report_zalloc(v, c->ncat * c->nser, sizeof(*missing));
	doubtful = vl_report_zalloc(v, c->ncat * c->nser, sizeof(*doubtful));
	if (!value || !lo || !hi || !missing || !doubtful)
		return;
	for (size_t k = 0; k < c->ncat * c->nser; k++)
		value[k] = lo[k] = hi[k] = NAN;
	for (size_t i = 0; i < fr->n; i++) {
		size_t k;
		if (!placed[i])
			continue;
		if (fr->mode == MODE_BY_PLATFORM)
			vl_report_set(&f->values, index_of(list[0][0], nlist[0][0], ser_of[i]) + 1,
			              index_of(list[0][1], nlist[0][1], cat_of[i]) + 1,
			              value_text(v, fr, fr->rows[i]));
		else
			vl_report_set(&f->values, index_of(list[0][0], nlist[0][0], cat_of[i]) + 1,
			              index_of(list[0][1], nlist[0][1], ser_of[i]) + 1,
			              value_text(v, fr, fr->rows[i]));
		if (!charted[i])
			continue;
		k = index_of(c->categories, c->ncat, cat_of[i]) * c->nser +
		    index_of(c->series, c->nser, ser_of[i]);
		doubtful[k] = strcmp(fr->rows[i]->status, "untrustworthy") == 0;
		if (!chart_value(fr, fr->rows[i], &value[k], &lo[k], &hi[k])) {
			value[k] = lo[k] = hi[k] = NAN;
			missing[k] = fr->rows[i]->status;
		}
	}
	c->value = value;
	c->ci_low = lo;
	c->ci_high = hi;
	c->missing = missing;
	c->doubtful = doubtful;
	c->unit = fr->mode == MODE_SLOWDOWN ? "% increase in execution time"
	                                    : vl_report_unit(fr->unit);
	/* Unique in the page, whatever the figure's number and unit. */
	snprintf(id, sizeof(id), "chart-%zu", (size_t)(f - v->figures));
	c->id = vl_report_text(v, "%s", id);
	c->title = f->title;
	if (fr->mode == MODE_SLOWDOWN)
		c->desc = "Grouped bars: for each platform, the increase in execution time of the "
		          "guest's workload while its neighbour runs a stressor, without and with "
		          "each entitlement policy, with confidence intervals.";
	else if (fr->mode == MODE_BY_PLATFORM)
		c->desc = vl_report_text(v,
		                         "Grouped bars: for each platform, the median %s of each "
		                         "network mode, direction and stream count, with its "
		                         "confidence interval as an error bar.",
		                         fr->rows[0]->metric);
	else if (fr->mode == MODE_STACKED)
		c->desc = vl_report_text(
		        v,
		        "Stacked bars: for each platform, the median %s of each task, "
		        "stacked to the total.",
		        fr->rows[0]->metric);
	else
		c->desc = vl_report_text(
		        v,
		        "Grouped bars: for each measure, the median %s per platform, "
		        "with its confidence interval as an error bar.",
		        fr->rows[0]->metric);
}

/* The tables of chapter 5: measures down, platforms across. */
static void figure_table(struct vl_report_view *v, struct vl_report_figure *f,
                         const struct figure_rows *fr)
{
	const char **keys = vl_report_zalloc(v, fr->n, sizeof(*keys));
	const char **labels = vl_report_zalloc(v, fr->n, sizeof(*labels));
	const char **plats = vl_report_zalloc(v, fr->n, sizeof(*plats));
	struct vl_report_table t;
	size_t nk, np;

	if (!keys || !labels || !plats)
		return;
	for (size_t i = 0; i < fr->n; i++)
		labels[i] = fr->rows[i]->platform->label;
	nk = vl_report_distinct(fr->keys, fr->n, keys);
	np = vl_report_distinct(labels, fr->n, plats);
	t = vl_report_table_new(v, nk, np + 1);
	vl_report_set(&t, 0, 0,
	              vl_report_text(v, "%s (%s)", fr->rows[0]->metric, fr->rows[0]->unit));
	for (size_t j = 0; j < np; j++)
		vl_report_set(&t, 0, j + 1, plats[j]);
	for (size_t i = 0; i < nk; i++)
		vl_report_set(&t, i + 1, 0, keys[i]);
	for (size_t i = 0; i < fr->n; i++)
		vl_report_set(&t, index_of(keys, nk, fr->keys[i]) + 1,
		              index_of(plats, np, labels[i]) + 1, value_text(v, fr, fr->rows[i]));
	f->values = t;
}

static void figure_overheads(struct vl_report_view *v, struct vl_report_figure *f,
                             const struct figure_rows *fr)
{
	size_t n = 0, k = 0;
	const char *against = NULL;
	struct vl_report_table t;

	for (size_t i = 0; i < fr->n; i++)
		if (fr->rows[i]->has_overhead) {
			n++;
			against = against ? against : fr->rows[i]->overhead.against;
		}
	if (!n)
		return;
	/* Each policy has its own run alone ("policy=cpuset neighbour=none"). */
	if (fr->mode == MODE_SLOWDOWN)
		against = "the run alone";
	else
		for (size_t i = 0; i < fr->n; i++)
			if (fr->rows[i]->has_overhead &&
			    strcmp(fr->rows[i]->overhead.against, against) != 0)
				against = "the bare run of each platform's host";
	t = vl_report_table_new(v, n, 5);
	vl_report_set(&t, 0, 0, "platform");
	vl_report_set(&t, 0, 1, "measure");
	vl_report_set(&t, 0, 2,
	              vl_report_text(v, "%s against %s",
	                             fr->mode == MODE_SLOWDOWN ? "increase" : "overhead", against));
	vl_report_set(&t, 0, 3, "interval");
	vl_report_set(&t, 0, 4, "verdict");
	for (size_t i = 0; i < fr->n; i++) {
		const struct vl_report_row *r = fr->rows[i];
		if (!r->has_overhead)
			continue;
		k++;
		vl_report_set(&t, k, 0, r->platform->label);
		vl_report_set(&t, k, 1, fr->mode == MODE_STACKED ? r->workload : fr->keys[i]);
		vl_report_set(&t, k, 2, vl_report_percent(v, r->overhead.ratio));
		vl_report_set(&t, k, 3,
		              vl_report_text(v, "%s to %s",
		                             vl_report_percent(v, r->overhead.ci_low),
		                             vl_report_percent(v, r->overhead.ci_high)));
		vl_report_set(&t, k, 4, vl_report_verdict(r));
	}
	f->overheads = t;
	f->overheads_caption = vl_report_text(
	        v,
	        "%s against %s: the ratio of medians minus one, oriented so that above 0 is worse "
	        "(no significant difference where its interval contains 0)",
	        fr->mode == MODE_SLOWDOWN ? "Increase in execution time with the neighbour running"
	                                  : "Overhead",
	        against);
}

static const char *neighbour_note(struct vl_report_view *v, const struct vl_report_row *r)
{
	const char *policy = vl_report_policy(v, r), *who = r->platform->label;

	if (strncmp(policy, "policy=", 7) == 0)
		who = vl_report_text(v, "%s, %s", who, policy);
	if (vl_report_drawable(r))
		return vl_report_text(v, "%s: neighbour %s ran at %s %s and survived", who,
		                      r->workload, vl_report_num(v, r->summary.median),
		                      vl_report_unit(r->unit));
	return vl_report_text(v, "%s: neighbour %s %s: %s", who, r->workload, r->status,
	                      r->reason ? r->reason : "no reason given");
}

/* Rows that did not run, one note per platform and reason ("bare:
 * unsupported for provision, start: the platform has no such operation"),
 * and the neighbours' own figures. */
static void figure_notes(struct vl_report_view *v, struct vl_report_figure *f,
                         const struct figure_rows *fr)
{
	const struct vl_report_row **first = vl_report_zalloc(v, fr->n, sizeof(*first));
	const char **keys = vl_report_zalloc(v, fr->n, sizeof(*keys));
	size_t ngroups = 0;

	f->notes = vl_report_zalloc(v, fr->n, sizeof(*f->notes));
	f->details = vl_report_zalloc(v, fr->n, sizeof(*f->details));
	if (!f->notes || !f->details || !first || !keys)
		return;
	for (size_t i = 0; i < fr->n; i++) {
		const struct vl_report_row *r = fr->rows[i];
		size_t g;
		if (vl_report_is_neighbour_row(r) || strcmp(r->status, "ok") == 0)
			continue;
		for (g = 0; g < ngroups; g++)
			if (first[g]->platform == r->platform &&
			    strcmp(first[g]->status, r->status) == 0 &&
			    (first[g]->reason && r->reason
			             ? strcmp(first[g]->reason, r->reason) == 0
			             : first[g]->reason == r->reason))
				break;
		if (g == ngroups) {
			first[ngroups++] = r;
			keys[g] = fr->keys[i];
		} else {
			keys[g] = vl_report_text(v, "%s, %s", keys[g], fr->keys[i]);
		}
	}
	for (size_t g = 0; g < ngroups; g++) {
		const char *note = vl_report_text(
		        v, "%s: %s for %s: %s", first[g]->platform->label, first[g]->status,
		        keys[g], first[g]->reason ? first[g]->reason : "no reason given");
		/* What did not run stays in sight; why a drawn bar is faded can wait. */
		if (strcmp(first[g]->status, "untrustworthy") == 0)
			f->details[f->ndetails++] = note;
		else
			f->notes[f->nnotes++] = note;
	}
	for (size_t i = 0; i < fr->n; i++)
		if (vl_report_is_neighbour_row(fr->rows[i]))
			f->details[f->ndetails++] = neighbour_note(v, fr->rows[i]);
}

/* One figure per number: its rows in another unit than most go to its table. */
static bool same_group(const struct vl_report_row *r, const struct figure_group *g)
{
	return strcmp(r->figure, g->id) == 0;
}

static void build_figure(struct vl_report_view *v, struct vl_report_figure *f,
                         const struct figure_group *g)
{
	const struct vl_report_model *m = v->model;
	struct figure_rows fr = {0};
	size_t known = catalog_index(g->id);

	fr.rows = vl_report_zalloc(v, m->nrows, sizeof(*fr.rows));
	fr.tokens = vl_report_zalloc(v, m->nrows, sizeof(*fr.tokens));
	fr.keys = vl_report_zalloc(v, m->nrows, sizeof(*fr.keys));
	if (!fr.rows || !fr.tokens || !fr.keys)
		return;
	for (size_t i = 0; i < m->nrows; i++)
		if (same_group(&m->rows[i], g))
			fr.rows[fr.n++] = &m->rows[i];
	fr.mode = g->mode;
	fr.unit = main_unit(&fr);
	/* Metrics name rows only where a workload and variant have several. */
	for (size_t i = 0; i < fr.n && fr.mode != MODE_SLOWDOWN; i++)
		for (size_t j = 0; j < i; j++)
			fr.several_metrics |=
			        strcmp(fr.rows[i]->workload, fr.rows[j]->workload) == 0 &&
			        strcmp(fr.rows[i]->variant ? fr.rows[i]->variant : "",
			               fr.rows[j]->variant ? fr.rows[j]->variant : "") == 0 &&
			        strcmp(fr.rows[i]->metric, fr.rows[j]->metric) != 0;
	f->id = g->id;
	f->has_chart = fr.mode != MODE_TABLE;
	f->title =
	        vl_report_text(v, "%s %s: %s", f->has_chart ? "Figure" : "Table", g->id,
	                       known < N_CATALOG ? catalog[known].title : fr.rows[0]->experiment);
	figure_keys(v, f, &fr);
	if (f->has_chart)
		figure_chart(v, f, &fr);
	else
		figure_table(v, f, &fr);
	figure_overheads(v, f, &fr);
	figure_notes(v, f, &fr);
}

static void build_figures(struct vl_report_view *v)
{
	const struct vl_report_model *m = v->model;
	struct figure_group *groups = vl_report_zalloc(v, m->nrows, sizeof(*groups));
	size_t n = 0;

	if (!groups)
		return;
	for (size_t i = 0; i < m->nrows; i++) {
		size_t j;
		for (j = 0; j < n && !same_group(&m->rows[i], &groups[j]); j++)
			;
		if (j < n)
			continue;
		/* Insertion keeps thesis order; ties keep the order of the file. */
		for (j = n; j > 0 && figure_cmp(groups[j - 1].id, m->rows[i].figure) > 0; j--)
			groups[j] = groups[j - 1];
		groups[j].id = m->rows[i].figure;
		groups[j].mode = figure_mode(&m->rows[i]);
		n++;
	}
	v->figures = vl_report_zalloc(v, n, sizeof(*v->figures));
	if (!v->figures)
		return;
	for (size_t i = 0; i < n; i++)
		build_figure(v, &v->figures[v->nfigures++], &groups[i]);
}

/* --- header tables --- */

static json_t *path_get(json_t *obj, const char *path)
{
	char buf[64], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = strtok_r(buf, ".", &save); p && obj; p = strtok_r(NULL, ".", &save))
		obj = json_object_get(obj, p);
	return obj;
}

static const char *host_fact(struct vl_report_view *v, json_t *host, const char *label)
{
	/* The facts of `virtlab info --json`, with flat spellings as fallbacks. */
	static const struct {
		const char *label, *paths[3];
	} facts[] = {
	        {"host name", {"hostname", NULL}},
	        {"CPU", {"cpu.model", "cpu_model", "cpu"}},
	        {"CPUs", {"cpu.logical_cpus", "cpus", NULL}},
	        {"memory", {"memory.total_bytes", "memory_bytes", "memory"}},
	        {"kernel", {"kernel.release", "kernel", NULL}},
	        {"cgroup version", {"cgroup.version", "cgroup_version", "cgroup"}},
	        {"frequency governor", {"cpu.frequency_governor", "governor", NULL}},
	        {"load average", {"load_average", "load", NULL}},
	};
	char size[32];

	for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
		if (strcmp(facts[i].label, label) != 0)
			continue;
		for (size_t p = 0; p < 3 && facts[i].paths[p]; p++) {
			json_t *j = path_get(host, facts[i].paths[p]);
			if (!j || json_is_object(j))
				continue;
			if (strstr(facts[i].paths[p], "bytes") && json_is_integer(j))
				return vl_report_text(
				        v, "%s",
				        vl_format_size((uint64_t)json_integer_value(j), size,
				                       sizeof(size)));
			return vl_report_json_text(v, j);
		}
	}
	return NULL;
}

static const char *kvm_fact(struct vl_report_view *v, json_t *host)
{
	json_t *kvm = json_object_get(host, "kvm");

	if (!json_is_object(kvm))
		return kvm ? vl_report_json_text(v, kvm) : NULL;
	if (json_is_true(json_object_get(kvm, "usable")))
		return "usable";
	return vl_report_text(v, "not usable: %s",
	                      json_is_string(json_object_get(kvm, "reason"))
	                              ? json_string_value(json_object_get(kvm, "reason"))
	                              : "no /dev/kvm");
}

/* Sets the cell of fact name for source s, adding the fact's row when new:
 * facts down, one column per results file. */
static void add_fact(struct vl_report_table *t, size_t s, const char *name, const char *value)
{
	size_t r;

	for (r = 1; r <= t->nrows && strcmp(vl_report_cell(t, r, 0), name) != 0; r++)
		;
	if (r > t->nrows)
		vl_report_set(t, ++t->nrows, 0, name);
	vl_report_set(t, r, s + 1, value);
}

/* The header of a facts table: one column per results file and, with
 * hosts, one per other host each file merged (study_hosts.h). */
static struct vl_report_table facts_table(struct vl_report_view *v, size_t max_rows,
                                          const char *what, bool hosts)
{
	const struct vl_report_model *m = v->model;
	size_t ncols = m->nsources, col = 1;
	struct vl_report_table t;

	for (size_t s = 0; hosts && s < m->nsources; s++)
		ncols += json_object_size(json_object_get(m->sources[s].root, "hosts"));
	t = vl_report_table_new(v, max_rows, ncols + 1);
	vl_report_set(&t, 0, 0, what);
	for (size_t s = 0; s < m->nsources; s++) {
		const char *q = m->sources[s].qualifier, *name;
		json_t *h;
		vl_report_set(&t, 0, col++, q ? q : "value");
		if (!hosts)
			continue;
		json_object_foreach(json_object_get(m->sources[s].root, "hosts"), name, h)
		        vl_report_set(&t, 0, col++,
		                      q ? vl_report_text(v, "%s @ %s", name, q) : name);
	}
	t.nrows = 0;
	return t;
}

/* How a host runs its platforms: real, or a lab VM's accelerator. A real
 * machine may itself be a virtual machine, which its facts tell. */
static const char *host_accel(struct vl_report_view *v, const char *accel, json_t *facts)
{
	if (!accel)
		return "unknown";
	if (strcmp(accel, "real") == 0 && json_is_true(path_get(facts, "cpu.hypervisor")))
		return vl_report_text(v, "real (itself a virtual machine)");
	return accel;
}

static void host_column(struct vl_report_view *v, size_t col, json_t *facts, const char *accel,
                        json_t *study)
{
	static const char *const labels[] = {
	        "host name",          "CPU",         "CPUs", "memory", "kernel", "cgroup version",
	        "frequency governor", "load average"};
	const char *fact;

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if ((fact = host_fact(v, facts, labels[i])))
			add_fact(&v->host, col, labels[i], fact);
	if ((fact = kvm_fact(v, facts)))
		add_fact(&v->host, col, "KVM", fact);
	add_fact(&v->host, col, "acceleration", host_accel(v, accel, facts));
	add_fact(&v->host, col, "study ran",
	         vl_report_text(v, "%s to %s, virtlab %s",
	                        vl_report_json_text(v, json_object_get(study, "started")),
	                        vl_report_json_text(v, json_object_get(study, "finished")),
	                        vl_report_json_text(v, json_object_get(study, "virtlab_version"))));
}

/* The platform's acceleration; KVM inside a lab VM is nested. */
static const char *platform_accel(struct vl_report_view *v, const struct vl_report_platform *p)
{
	if (!p->accel)
		return "unknown";
	if (p->host_accel && strcmp(p->host_accel, "real") != 0 && strcmp(p->accel, "kvm") == 0)
		return vl_report_text(v, "kvm, nested in a %s lab host", p->host_accel);
	return p->accel;
}

static const char *platform_host(struct vl_report_view *v, const struct vl_report_platform *p)
{
	json_t *root = p->source->root;
	json_t *facts =
	        p->host ? json_object_get(json_object_get(json_object_get(root, "hosts"), p->host),
	                                  "facts")
	                : json_object_get(root, "host");
	const char *hostname = json_string_value(json_object_get(facts, "hostname"));

	return vl_report_text(v, "%s%s%s%s: %s", p->host ? p->host : "this study's machine",
	                      hostname ? " (" : "", hostname ? hostname : "", hostname ? ")" : "",
	                      host_accel(v, p->host ? p->host_accel : "real", facts));
}

static void build_header(struct vl_report_view *v)
{
	const struct vl_report_model *m = v->model;
	size_t np = 0, r, col = 0;

	for (size_t s = 0; s < m->nsources; s++)
		np += json_object_size(json_object_get(m->sources[s].root, "plan"));
	v->host = facts_table(v, 12, "fact", true);
	v->plan = facts_table(v, np, "setting", false);
	for (size_t s = 0; s < m->nsources; s++) {
		json_t *root = m->sources[s].root, *val, *h;
		const char *key, *name;

		host_column(v, col++, json_object_get(root, "host"), "real", root);
		json_object_foreach(json_object_get(root, "hosts"), name, h)
		        host_column(v, col++, json_object_get(h, "facts"),
		                    json_string_value(json_object_get(h, "accel")), h);
		json_object_foreach(json_object_get(root, "plan"), key, val)
		        add_fact(&v->plan, s, key, vl_report_json_text(v, val));
	}
	v->platforms = vl_report_table_new(v, m->nplatforms, 5);
	vl_report_set(&v->platforms, 0, 0, "platform");
	vl_report_set(&v->platforms, 0, 1, "usable");
	vl_report_set(&v->platforms, 0, 2, "acceleration");
	vl_report_set(&v->platforms, 0, 3, "host");
	vl_report_set(&v->platforms, 0, 4, "reason");
	for (size_t i = 0; i < m->nplatforms; i++) {
		const struct vl_report_platform *p = &m->platforms[i];
		vl_report_set(&v->platforms, i + 1, 0, p->label);
		vl_report_set(&v->platforms, i + 1, 1, p->usable ? "yes" : "no");
		vl_report_set(&v->platforms, i + 1, 2, platform_accel(v, p));
		vl_report_set(&v->platforms, i + 1, 3, platform_host(v, p));
		vl_report_set(&v->platforms, i + 1, 4, p->reason);
	}
	v->experiments = vl_report_table_new(v, m->nexperiments, 3);
	vl_report_set(&v->experiments, 0, 0, "experiment");
	vl_report_set(&v->experiments, 0, 1, "status");
	vl_report_set(&v->experiments, 0, 2, "reason");
	for (r = 0; r < m->nexperiments; r++) {
		const struct vl_report_experiment *e = &m->experiments[r];
		vl_report_set(&v->experiments, r + 1, 0,
		              e->source->qualifier
		                      ? vl_report_text(v, "%s @ %s", e->name, e->source->qualifier)
		                      : e->name);
		vl_report_set(&v->experiments, r + 1, 1, e->status);
		vl_report_set(&v->experiments, r + 1, 2, e->reason);
	}
}

/* Table 5.2's rows in the thesis' words. */
static const char *feature_title(const char *name)
{
	static const struct {
		const char *name, *title;
	} titles[] = {
	        {"own_kernel", "Runs a kernel other than the host's"},
	        {"checkpoint_or_live_migration", "Checkpoint/restore or live migration"},
	        {"memory_overcommit", "Memory overcommit"},
	        {"cpu_overcommit", "CPU overcommit"},
	        {"hw_virtualization", "Uses hardware virtualization extensions"},
	        {"idle_footprint_bytes", "Idle memory footprint per guest"},
	        {"kernel_updates_isolated", "Kernel updates isolated from the host"},
	        {"mainline_kernel", "In the mainline kernel"},
	        {"accel", "Acceleration"},
	        {"clone", "Clone"},
	        {"reboot", "Reboot"},
	        {"entitlement_policies", "Entitlement policies"},
	};

	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (strcmp(titles[i].name, name) == 0)
			return titles[i].title;
	return name;
}

/* Byte counts (features named *_bytes, alone or in an object) as sizes. */
static const char *feature_value(struct vl_report_view *v, const char *name, json_t *value)
{
	size_t len = strlen(name);
	const char *key, *s = NULL;
	char size[32];
	json_t *item;

	if (len < 6 || strcmp(name + len - 6, "_bytes") != 0)
		return vl_report_json_text(v, value);
	if (json_is_integer(value))
		return vl_report_text(
		        v, "%s",
		        vl_format_size((uint64_t)json_integer_value(value), size, sizeof(size)));
	if (!json_is_object(value))
		return vl_report_json_text(v, value);
	json_object_foreach(value, key, item) s = vl_report_text(
	        v, "%s%s%s %s", s ? s : "", s ? ", " : "", key, feature_value(v, name, item));
	return s ? s : "unknown";
}

static void build_features(struct vl_report_view *v)
{
	const struct vl_report_model *m = v->model;
	const char **names = vl_report_zalloc(v, m->nfeatures, sizeof(*names));
	const char **plats = vl_report_zalloc(v, m->nfeatures, sizeof(*plats));
	const char **labels = vl_report_zalloc(v, m->nfeatures, sizeof(*labels));
	size_t nn, np;

	if (!names || !plats || !labels || !m->nfeatures)
		return;
	for (size_t i = 0; i < m->nfeatures; i++) {
		names[i] = m->features[i].feature;
		labels[i] = m->features[i].platform->label;
	}
	np = vl_report_distinct(labels, m->nfeatures, plats);
	nn = vl_report_distinct(names, m->nfeatures, names);
	v->features = vl_report_table_new(v, nn, np + 1);
	vl_report_set(&v->features, 0, 0, "feature");
	for (size_t j = 0; j < np; j++)
		vl_report_set(&v->features, 0, j + 1, plats[j]);
	for (size_t i = 0; i < nn; i++)
		vl_report_set(&v->features, i + 1, 0, feature_title(names[i]));
	for (size_t i = 0; i < m->nfeatures; i++) {
		const struct vl_report_feature *f = &m->features[i];
		bool measured = f->how && strcmp(f->how, "measured") == 0;
		bool note = f->note && f->note[0];
		vl_report_set(
		        &v->features, index_of(names, nn, f->feature) + 1,
		        index_of(plats, np, f->platform->label) + 1,
		        vl_report_text(v, "%s%s%s%s%s%s", feature_value(v, f->feature, f->value),
		                       measured || note ? " (" : "", measured ? "measured" : "",
		                       measured && note ? "; " : "", note ? f->note : "",
		                       measured || note ? ")" : ""));
	}
}

/* --- warnings --- */

/* Several hosts: each overhead is against its own host's bare run, but a
 * figure of one host beside another's also compares their machines. */
static void warn_hosts(struct vl_report_view *v)
{
	const struct vl_report_model *m = v->model;
	const char *names = NULL;
	size_t n = 0;

	for (size_t s = 0; s < m->nsources; s++) {
		json_t *root = m->sources[s].root, *h;
		const char *name;
		json_t *own = json_object_get(json_object_get(root, "host"), "hostname");
		bool seen = false;

		/* Two studies of one machine are one host. */
		for (size_t t = 0; t < s; t++)
			seen |= json_equal(
			        own, json_object_get(json_object_get(m->sources[t].root, "host"),
			                             "hostname"));
		if (!seen) {
			names = vl_report_text(v, "%s%s%s", names ? names : "", names ? ", " : "",
			                       json_is_string(own) ? json_string_value(own)
			                                           : "this study's machine");
			n++;
		}
		json_object_foreach(json_object_get(root, "hosts"), name, h)
		{
			names = vl_report_text(v, "%s, %s", names, name);
			n++;
		}
	}
	if (n > 1)
		v->warnings[v->nwarnings++] = vl_report_text(
		        v,
		        "These figures come from %zu hosts (%s). Every overhead is against the "
		        "bare run of its own host, but setting one host's figures beside "
		        "another's compares their hardware too.",
		        n, names);
}

static void build_warnings(struct vl_report_view *v)
{
	const struct vl_report_model *m = v->model;
	size_t untrustworthy = 0, noisy = 0;

	size_t recorded = 0;

	for (size_t s = 0; s < m->nsources; s++)
		recorded += json_array_size(json_object_get(m->sources[s].root, "warnings"));
	v->warnings =
	        vl_report_zalloc(v, m->nplatforms + m->nexperiments + 5, sizeof(*v->warnings));
	if (!v->warnings)
		return;
	for (size_t i = 0; i < m->nplatforms; i++)
		if (m->platforms[i].accel && strcmp(m->platforms[i].accel, "tcg") == 0)
			v->warnings[v->nwarnings++] = vl_report_text(
			        v,
			        "%s ran under TCG: software emulation, not representative of "
			        "KVM. Its figures say nothing about hardware virtualization.",
			        m->platforms[i].label);
		else if (m->platforms[i].host_accel &&
		         strcmp(m->platforms[i].host_accel, "tcg") == 0 &&
		         strcmp(m->platforms[i].kind, "bare") != 0)
			v->warnings[v->nwarnings++] = vl_report_text(
			        v,
			        "%s ran on a lab host under TCG: its overheads are against that "
			        "host's bare, itself emulated; they say how the platform adds to a "
			        "machine, not how fast real hardware would be.",
			        m->platforms[i].label);
	warn_hosts(v);
	for (size_t i = 0; i < m->nrows; i++) {
		untrustworthy += strcmp(m->rows[i].status, "untrustworthy") == 0;
		/* A study that records warnings has already named its noisy rows. */
		noisy += m->rows[i].has_summary && m->rows[i].summary.cov > 0.05 &&
		         !json_object_get(m->rows[i].platform->source->root, "warnings");
	}
	if (untrustworthy)
		v->warnings[v->nwarnings++] = vl_report_text(
		        v,
		        "%zu result%s untrustworthy (too noisy to trust): they are drawn but "
		        "marked; see the notes under each figure.",
		        untrustworthy, untrustworthy == 1 ? " is" : "s are");
	if (noisy)
		v->warnings[v->nwarnings++] = vl_report_text(
		        v,
		        "%zu result%s a coefficient of variation above 5%%: the machine was "
		        "noisy; trust only differences whose intervals do not overlap.",
		        noisy, noisy == 1 ? " has" : "s have");
	v->recorded = vl_report_zalloc(v, recorded, sizeof(*v->recorded));
	for (size_t s = 0; v->recorded && s < m->nsources; s++) {
		json_t *list = json_object_get(m->sources[s].root, "warnings"), *w;
		size_t i;
		json_array_foreach(list, i, w) if (json_is_string(w)) v->recorded[v->nrecorded++] =
		        json_string_value(w);
	}
	if (v->nrecorded)
		v->warnings[v->nwarnings++] =
		        vl_report_text(v, "The study recorded %zu warning%s, listed below.",
		                       v->nrecorded, v->nrecorded == 1 ? "" : "s");
	for (size_t i = 0; i < m->nexperiments; i++)
		if (strcmp(m->experiments[i].status, "failed") == 0)
			v->warnings[v->nwarnings++] = vl_report_text(
			        v, "Experiment %s failed: %s", m->experiments[i].name,
			        m->experiments[i].reason ? m->experiments[i].reason
			                                 : "no reason given");
}

int vl_report_view_build(struct vl_report_view *v, const struct vl_report_model *m, vl_error *err)
{
	memset(v, 0, sizeof(*v));
	v->model = m;
	build_header(v);
	build_warnings(v);
	build_figures(v);
	build_features(v);
	vl_report_build_answers(v);
	if (v->out_of_memory) {
		vl_report_view_free(v);
		return vl_error_errno(err, ENOMEM, "building the report");
	}
	return 0;
}

void vl_report_view_free(struct vl_report_view *v)
{
	for (size_t i = 0; i < v->nowned; i++)
		free(v->owned[i]);
	free(v->owned);
	memset(v, 0, sizeof(*v));
}
