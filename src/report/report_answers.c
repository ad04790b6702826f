/* The plain-language answers: the questions of thesis chapter 5 and the
 * isolation findings of chapter 6, derived from the rows; "not measured"
 * where the data has nothing to say. */
#include "report/view_helpers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTED 6

static const struct {
	const char *figure, *resource;
} isolation_figures[] = {
        {"6.2", "CPU"}, {"6.3", "memory"}, {"6.4", "network"}, {"6.5", "disk I/O"}};

struct ranked {
	const struct vl_report_row *row;
	double value, lo, hi;
};

/* Best first: better is 1 when higher is better, -1 when lower is. */
static int by_value(const void *a, const void *b, void *better)
{
	const struct ranked *ra = a, *rb = b;
	double d = (ra->value - rb->value) * -*(const int *)better;

	return d < 0 ? -1 : d > 0;
}

/* unit NULL: the values are percentages. */
static const char *amount(struct vl_report_view *v, double x, const char *unit)
{
	return unit ? vl_report_text(v, "%s %s", vl_report_num(v, x), unit)
	            : vl_report_text(v, "%+.1f%%", x);
}

/* "container (0.05 s, interval 0.04 to 0.06), then qemu (5.9 s), bare (…)" */
static const char *ranking(struct vl_report_view *v, struct ranked *items, size_t n, int better,
                           const char *unit)
{
	const char *s;

	if (n == 0)
		return "not measured";
	qsort_r(items, n, sizeof(*items), by_value, &better);
	s = vl_report_text(v, "%s (%s, interval %s to %s)", items[0].row->platform->label,
	                   amount(v, items[0].value, unit), amount(v, items[0].lo, unit),
	                   amount(v, items[0].hi, unit));
	if (n == 1)
		return vl_report_text(v, "only %s was measured", s);
	for (size_t i = 1; i < n; i++)
		s = vl_report_text(v, "%s%s %s (%s)", s, i == 1 ? ", then" : ",",
		                   items[i].row->platform->label, amount(v, items[i].value, unit));
	if (items[0].hi >= items[1].lo && items[1].hi >= items[0].lo)
		s = vl_report_text(v,
		                   "%s; the first two intervals overlap, so the lead is within "
		                   "noise",
		                   s);
	return s;
}

static bool pick_operation(const struct vl_report_row *r, const char *key, const char *word)
{
	if (!vl_report_is_operation(r))
		return false;
	/* "start" and "boot" mean the cold start, not the reboot. */
	if (strcmp(word, "start") == 0)
		return (strstr(key, "start") || strstr(key, "boot")) && !strstr(key, "reboot");
	return strstr(key, word) != NULL;
}

/* Ranks the platforms for every operation whose name contains word. */
static const char *operation_answer(struct vl_report_view *v, const char *word)
{
	const struct vl_report_model *m = v->model;
	const char **keys = vl_report_zalloc(v, m->nrows, sizeof(*keys));
	const char **all = vl_report_zalloc(v, m->nrows, sizeof(*all));
	struct ranked *items = vl_report_zalloc(v, m->nrows, sizeof(*items));
	const char *answer = NULL;
	size_t nk = 0;

	if (!keys || !all || !items)
		return "not measured";
	for (size_t i = 0; i < m->nrows; i++) {
		all[i] = vl_report_row_key(v, &m->rows[i]);
		if (pick_operation(&m->rows[i], all[i], word))
			keys[nk++] = all[i];
	}
	nk = vl_report_distinct(keys, nk, keys);
	for (size_t k = 0; k < nk; k++) {
		size_t n = 0;
		for (size_t i = 0; i < m->nrows; i++) {
			const struct vl_report_row *r = &m->rows[i];
			/* Bare metal has no guest to provision or boot: its no-ops would win. */
			if (!vl_report_is_operation(r) || !vl_report_drawable(r) ||
			    strcmp(r->platform->kind, "bare") == 0 || strcmp(all[i], keys[k]) != 0)
				continue;
			items[n++] = (struct ranked){r, r->summary.median, r->summary.ci_low,
			                             r->summary.ci_high};
		}
		if (!n)
			continue;
		answer = vl_report_text(v, "%s%s%s%s", answer ? answer : "", answer ? ". " : "",
		                        nk > 1 ? vl_report_text(v, "%s: ", keys[k]) : "",
		                        ranking(v, items, n, items[0].row->better,
		                                vl_report_unit(items[0].row->unit)));
	}
	return answer ? answer : "not measured";
}

static bool stressed_row(const struct vl_report_row *r, const char *experiment, const char *figure)
{
	return strcmp(r->experiment, experiment) == 0 && strcmp(r->figure, figure) == 0 &&
	       r->has_overhead && !vl_report_is_neighbour_row(r);
}

static const char *isolation_answer(struct vl_report_view *v, const char *figure)
{
	const struct vl_report_model *m = v->model;
	struct ranked *items = vl_report_zalloc(v, m->nrows, sizeof(*items));
	size_t n = 0;

	if (!items)
		return "not measured";
	for (size_t i = 0; i < m->nrows; i++) {
		struct ranked *it = &items[n];
		if (stressed_row(&m->rows[i], "isolation", figure) &&
		    vl_report_slowdown(&m->rows[i], &it->value, &it->lo, &it->hi)) {
			it->row = &m->rows[i];
			n++;
		}
	}
	if (!n)
		return "not measured";
	return vl_report_text(v, "least slowdown under a noisy neighbour: %s",
	                      ranking(v, items, n, -1, NULL));
}

/* The slowdown without a policy that a policy's run compares with: the
 * entitlement experiment's own unmanaged run, else the isolation run. */
static const struct vl_report_row *unmanaged(struct vl_report_view *v,
                                             const struct vl_report_row *r)
{
	const struct vl_report_model *m = v->model;
	const struct vl_report_row *fallback = NULL;

	for (size_t i = 0; i < m->nrows; i++) {
		const struct vl_report_row *o = &m->rows[i];
		if (o->platform != r->platform || strcmp(o->figure, r->figure) != 0 ||
		    !o->has_overhead || vl_report_is_neighbour_row(o))
			continue;
		if (strcmp(o->experiment, "entitlement") == 0 &&
		    strcmp(vl_report_policy(v, o), "policy=none") == 0)
			return o;
		if (strcmp(o->experiment, "isolation") == 0)
			fallback = o;
	}
	return fallback;
}

static const char *policy_effect(struct vl_report_view *v, const struct vl_report_row *r)
{
	const struct vl_report_row *base = unmanaged(v, r);
	double pct, base_pct, lo, hi, restored;

	if (!vl_report_slowdown(r, &pct, &lo, &hi))
		return vl_report_text(v, "%s (%s)", r->status, r->reason ? r->reason : "no reason");
	if (!base || !vl_report_slowdown(base, &base_pct, &lo, &hi) ||
	    !base->overhead.significant || base_pct <= 0)
		return vl_report_text(
		        v, "slowdown %+.1f%%, with no significant loss to restore without it", pct);
	if (!r->overhead.significant)
		return vl_report_text(
		        v, "%+.1f%% against %+.1f%% without it: no significant loss left", pct,
		        base_pct);
	/* The study's own figure where it gives one. */
	restored = isnan(r->overhead.restored) ? 1 - pct / base_pct : r->overhead.restored;
	if (restored < 0)
		return vl_report_text(
		        v, "slowdown %+.1f%% against %+.1f%% without it: worse than no policy", pct,
		        base_pct);
	return vl_report_text(
	        v, "slowdown %+.1f%% against %+.1f%% without it: restores %.0f%% of the loss", pct,
	        base_pct, restored * 100);
}

/* Per platform and figure, each policy's slowdown; a platform without
 * entitlements is named once. */
static const char *entitlement_answer(struct vl_report_view *v)
{
	const struct vl_report_model *m = v->model;
	const char *s = NULL;

	for (size_t i = 0; i < m->nrows; i++) {
		const struct vl_report_row *r = &m->rows[i];
		const char *policy;
		bool said = false;

		if (strcmp(r->experiment, "entitlement") != 0 || vl_report_is_neighbour_row(r) ||
		    vl_report_is_alone_row(r))
			continue;
		policy = vl_report_policy(v, r);
		if (strcmp(policy, "policy=none") == 0)
			continue;
		if (!r->has_overhead) {
			for (size_t j = 0; j < i && !said; j++)
				said = m->rows[j].platform == r->platform &&
				       !m->rows[j].has_overhead &&
				       strcmp(m->rows[j].experiment, "entitlement") == 0 &&
				       m->rows[j].reason && r->reason &&
				       strcmp(m->rows[j].reason, r->reason) == 0;
			if (!said)
				s = vl_report_text(v, "%s%s%s: %s (%s)", s ? s : "", s ? "; " : "",
				                   r->platform->label, r->status,
				                   r->reason ? r->reason : "no reason given");
			continue;
		}
		s = vl_report_text(v, "%s%s%s, figure %s, %s: %s", s ? s : "", s ? "; " : "",
		                   r->platform->label, r->figure, policy + 7, policy_effect(v, r));
	}
	return s ? s : "not measured";
}

/* For each yes-or-no feature, the platforms that have it; the rest is in table 5.2. */
static const char *features_answer(struct vl_report_view *v)
{
	const struct vl_report_table *t = &v->features;
	const char *s = NULL;

	if (!t->nrows)
		return "not measured";
	for (size_t r = 1; r <= t->nrows; r++) {
		const char *yes = NULL;
		bool boolean = true;
		for (size_t c = 1; c < t->ncols && boolean; c++) {
			const char *cell = vl_report_cell(t, r, c);
			boolean = !*cell || strncmp(cell, "yes", 3) == 0 ||
			          strncmp(cell, "no", 2) == 0 || strncmp(cell, "unknown", 7) == 0;
			if (strncmp(cell, "yes", 3) == 0)
				yes = vl_report_text(v, "%s%s%s", yes ? yes : "", yes ? ", " : "",
				                     vl_report_cell(t, 0, c));
		}
		if (boolean)
			s = vl_report_text(v, "%s%s%s: %s", s ? s : "", s ? "; " : "",
			                   vl_report_cell(t, r, 0), yes ? yes : "none");
	}
	return vl_report_text(v, "%s%sthe values, with how each was found, are in table 5.2",
	                      s ? s : "", s ? "; " : "");
}

static const char *noise_answer(struct vl_report_view *v)
{
	const struct vl_report_model *m = v->model;
	const char *s = NULL;

	for (size_t p = 0; p < m->nplatforms; p++) {
		const struct vl_report_platform *plat = &m->platforms[p];
		size_t total = 0, quiet = 0;
		const char *names = "";
		for (size_t i = 0; i < m->nrows; i++) {
			const struct vl_report_row *r = &m->rows[i];
			if (r->platform != plat || !r->has_overhead ||
			    vl_report_is_neighbour_experiment(r))
				continue;
			total++;
			if (r->overhead.significant)
				continue;
			if (quiet++ < MAX_LISTED)
				names = vl_report_text(v, "%s%s%s %s", names, quiet > 1 ? ", " : "",
				                       r->figure, vl_report_row_key(v, r));
		}
		if (!total)
			continue;
		s = vl_report_text(v, "%s%s%s: %zu of %zu within noise%s%s%s", s ? s : "",
		                   s ? "; " : "", plat->label, quiet, total, quiet ? " (" : "",
		                   names, quiet ? (quiet > MAX_LISTED ? ", …)" : ")") : "");
	}
	return s ? s : "not measured (no overheads against bare metal in the data)";
}

static void answer(struct vl_report_view *v, const char *question, const char *text)
{
	v->answers[v->nanswers].question = question;
	v->answers[v->nanswers++].answer = text;
}

/* The headline figures of one platform for the at-a-glance table. */
static void glance_row(struct vl_report_view *v, size_t row, const struct vl_report_platform *p)
{
	const struct vl_report_model *m = v->model;
	const struct vl_report_row *worst = NULL, *start = NULL, *cpu = NULL;
	size_t total = 0, quiet = 0;
	bool baseline = false;
	double pct, lo, hi;

	for (size_t i = 0; i < m->nrows; i++) {
		const struct vl_report_row *r = &m->rows[i];
		baseline |= r->has_overhead && r->platform->source == p->source &&
		            strcmp(r->overhead.against, p->name) == 0;
		if (r->platform != p)
			continue;
		if (r->has_overhead && !vl_report_is_neighbour_experiment(r)) {
			total++;
			quiet += !r->overhead.significant;
			if (r->overhead.significant &&
			    (!worst || r->overhead.ratio > worst->overhead.ratio))
				worst = r;
		}
		if (vl_report_is_operation(r) && vl_report_drawable(r) &&
		    strcmp(vl_report_row_key(v, r), "start") == 0)
			start = r;
		if (stressed_row(r, "isolation", "6.2"))
			cpu = r;
	}
	vl_report_set(&v->glance, row, 0, p->label);
	vl_report_set(&v->glance, row, 1, p->accel ? p->accel : "unknown");
	/* The baseline has no overhead against itself. */
	vl_report_set(&v->glance, row, 2,
	              total      ? vl_report_text(v, "%zu of %zu", quiet, total)
	              : baseline ? "the baseline"
	                         : "not measured");
	vl_report_set(&v->glance, row, 3,
	              worst      ? vl_report_text(v, "%s (figure %s, %s)",
	                                          vl_report_percent(v, worst->overhead.ratio),
	                                          worst->figure, vl_report_row_key(v, worst))
	              : total    ? "none"
	              : baseline ? "the baseline"
	                         : "not measured");
	vl_report_set(&v->glance, row, 4,
	              start ? vl_report_text(v, "%s s", vl_report_num(v, start->summary.median))
	                    : "not measured");
	vl_report_set(&v->glance, row, 5,
	              cpu && vl_report_slowdown(cpu, &pct, &lo, &hi)
	                      ? vl_report_text(v, "%+.1f%%%s", pct,
	                                       cpu->overhead.significant ? "" : " (within noise)")
	                      : "not measured");
}

static void build_glance(struct vl_report_view *v)
{
	static const char *const header[] = {"platform",
	                                     "acceleration",
	                                     "overheads within noise",
	                                     "largest overhead against bare",
	                                     "cold start",
	                                     "CPU slowdown with a noisy neighbour"};
	const struct vl_report_model *m = v->model;
	size_t n = 0;

	for (size_t i = 0; i < m->nplatforms; i++)
		n += m->platforms[i].usable;
	v->glance = vl_report_table_new(v, n, sizeof(header) / sizeof(header[0]));
	for (size_t c = 0; c < sizeof(header) / sizeof(header[0]); c++)
		vl_report_set(&v->glance, 0, c, header[c]);
	for (size_t i = 0, row = 0; i < m->nplatforms; i++)
		if (m->platforms[i].usable)
			glance_row(v, ++row, &m->platforms[i]);
}

void vl_report_build_answers(struct vl_report_view *v)
{
	static const struct {
		const char *question, *word;
	} operations[] = {
	        {"Which platform provisions a guest fastest?", "provision"},
	        {"Which platform starts a guest fastest (cold start)?", "start"},
	        {"Which platform reboots a guest fastest?", "reboot"},
	        {"Which platform clones a guest fastest?", "clone"},
	        {"Which platform destroys a guest fastest?", "destroy"},
	};
	size_t nops = sizeof(operations) / sizeof(operations[0]);
	size_t niso = sizeof(isolation_figures) / sizeof(isolation_figures[0]);

	build_glance(v);
	v->answers = vl_report_zalloc(v, nops + niso + 4, sizeof(*v->answers));
	if (!v->answers)
		return;
	for (size_t i = 0; i < nops; i++)
		answer(v, operations[i].question, operation_answer(v, operations[i].word));
	answer(v, "What are the features and operational constraints of each platform?",
	       features_answer(v));
	for (size_t i = 0; i < niso; i++)
		answer(v,
		       vl_report_text(v, "Which platform isolates %s best (figure %s)?",
		                      isolation_figures[i].resource, isolation_figures[i].figure),
		       isolation_answer(v, isolation_figures[i].figure));
	answer(v, "How much of the loss does each entitlement policy restore?",
	       entitlement_answer(v));
	answer(v, "Which overheads against bare metal are within noise?", noise_answer(v));
	answer(v, "What management facilities, maturity and design complexity do they have?",
	       "not measured: these are qualitative (thesis sections 5.3 and 5.4); virtlab "
	       "measures only what it can time");
}
