#include "report/view_helpers.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *vl_report_own(struct vl_report_view *v, void *p)
{
	if (!p) {
		v->out_of_memory = true;
		return NULL;
	}
	if (v->nowned == v->capowned) {
		size_t cap = v->capowned ? v->capowned * 2 : 64;
		void **bigger = realloc(v->owned, cap * sizeof(*bigger));
		if (!bigger) {
			free(p);
			v->out_of_memory = true;
			return NULL;
		}
		v->owned = bigger;
		v->capowned = cap;
	}
	v->owned[v->nowned++] = p;
	return p;
}

void *vl_report_zalloc(struct vl_report_view *v, size_t n, size_t size)
{
	return vl_report_own(v, calloc(n ? n : 1, size));
}

const char *vl_report_text(struct vl_report_view *v, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	s = vl_report_own(v, s);
	return s ? s : "";
}

const char *vl_report_num(struct vl_report_view *v, double x)
{
	char buf[32];
	return vl_report_text(v, "%s", vl_chart_number(x, buf, sizeof(buf)));
}

const char *vl_report_unit(const char *unit)
{
	return strcmp(unit, "seconds") == 0 ? "s" : unit;
}

const char *vl_report_percent(struct vl_report_view *v, double ratio)
{
	double pct = round((ratio - 1) * 1000) / 10;

	/* Not "-0.0%": a change that rounds to nothing has no sign. */
	return pct == 0 ? "0.0%" : vl_report_text(v, "%+.1f%%", pct);
}

const char *vl_report_verdict(const struct vl_report_row *r)
{
	if (!r->overhead.significant)
		return "no significant difference";
	return r->overhead.ratio > 1 ? "worse" : "better";
}

const char *vl_report_json_text(struct vl_report_view *v, json_t *j)
{
	char *dump;

	if (json_is_string(j))
		return json_string_value(j);
	if (json_is_boolean(j))
		return json_is_true(j) ? "yes" : "no";
	if (json_is_integer(j))
		return vl_report_text(v, "%lld", (long long)json_integer_value(j));
	if (json_is_real(j))
		return vl_report_num(v, json_real_value(j));
	if (!j || json_is_null(j))
		return "unknown";
	if (json_is_array(j) && json_array_size(j) > 0) {
		const char *joined = NULL;
		size_t i;
		json_t *item;
		json_array_foreach(j, i, item)
		{
			if (json_is_object(item) || json_is_array(item))
				break;
			joined = vl_report_text(v, "%s%s%s", joined ? joined : "",
			                        joined ? ", " : "", vl_report_json_text(v, item));
		}
		if (i == json_array_size(j))
			return joined;
	}
	dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	return dump ? vl_report_own(v, dump) : "";
}

const char *vl_report_row_key(struct vl_report_view *v, const struct vl_report_row *r)
{
	/* Table 5.1's rows are named by their operation alone. */
	if (vl_report_is_operation(r) && r->variant && strncmp(r->variant, "op=", 3) == 0)
		return r->variant + 3;
	return r->variant && r->variant[0] ? vl_report_text(v, "%s %s", r->workload, r->variant)
	                                   : r->workload;
}

size_t vl_report_distinct(const char **items, size_t n, const char **out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < k && strcmp(out[j], items[i]) != 0; j++)
			;
		if (j == k)
			out[k++] = items[i];
	}
	return k;
}

bool vl_report_drawable(const struct vl_report_row *r)
{
	return r->has_summary &&
	       (strcmp(r->status, "ok") == 0 || strcmp(r->status, "untrustworthy") == 0);
}

bool vl_report_is_operation(const struct vl_report_row *r)
{
	return strcmp(r->experiment, "operations") == 0 || strcmp(r->figure, "5.1") == 0;
}

bool vl_report_is_neighbour_experiment(const struct vl_report_row *r)
{
	return strcmp(r->experiment, "isolation") == 0 ||
	       strcmp(r->experiment, "entitlement") == 0 ||
	       (strcmp(r->experiment, "network") == 0 && strcmp(r->figure, "6.4") == 0);
}

static bool variant_has(const struct vl_report_row *r, const char *part)
{
	return r->variant && strstr(r->variant, part);
}

bool vl_report_is_neighbour_row(const struct vl_report_row *r)
{
	return variant_has(r, "role=neighbour");
}

bool vl_report_is_alone_row(const struct vl_report_row *r)
{
	return variant_has(r, "neighbour=none");
}

const char *vl_report_policy(struct vl_report_view *v, const struct vl_report_row *r)
{
	const char *p = r->variant ? strstr(r->variant, "policy=") : NULL;

	if (!p)
		return "isolation (no policy)";
	return vl_report_text(v, "%.*s", (int)strcspn(p, ", "), p);
}

bool vl_report_slowdown(const struct vl_report_row *r, double *pct, double *lo, double *hi)
{
	if (!r->has_overhead)
		return false;
	/* The ratio is oriented (above 1 is worse), so for a workload of fixed
	 * work, ratio - 1 is the increase in its execution time. */
	*pct = (r->overhead.ratio - 1) * 100;
	*lo = (r->overhead.ci_low - 1) * 100;
	*hi = (r->overhead.ci_high - 1) * 100;
	return true;
}

struct vl_report_table vl_report_table_new(struct vl_report_view *v, size_t nrows, size_t ncols)
{
	struct vl_report_table t = {.ncols = ncols, .nrows = nrows};

	t.cells = vl_report_zalloc(v, (nrows + 1) * ncols, sizeof(*t.cells));
	if (!t.cells)
		t.nrows = t.ncols = 0;
	return t;
}

void vl_report_set(struct vl_report_table *t, size_t row, size_t col, const char *s)
{
	if (t->cells && row <= t->nrows && col < t->ncols)
		t->cells[row * t->ncols + col] = s;
}

const char *vl_report_cell(const struct vl_report_table *t, size_t row, size_t col)
{
	const char *s = t->cells ? t->cells[row * t->ncols + col] : NULL;
	return s ? s : "";
}
