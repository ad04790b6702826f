/* Workload parameters: every value, default or given, goes through the same
 * parser, so a default can never violate its own bounds unnoticed. */
#include "workloads/workload.h"
#include "core/units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int spec_index(const struct vl_workload *w, const char *name)
{
	for (int i = 0; w->params && w->params[i].name; i++)
		if (strcmp(w->params[i].name, name) == 0)
			return i;
	return -1;
}

static const char *type_hint(const struct vl_param_spec *s, char *buf, size_t size)
{
	switch (s->type) {
	case VL_PARAM_INT:
		snprintf(buf, size, "an integer from %.0f to %.0f", s->min, s->max);
		break;
	case VL_PARAM_SIZE: {
		char lo[32], hi[32];
		snprintf(buf, size, "a size from %s to %s",
		         vl_format_size((uint64_t)s->min, lo, sizeof(lo)),
		         vl_format_size((uint64_t)s->max, hi, sizeof(hi)));
		break;
	}
	case VL_PARAM_DOUBLE:
		snprintf(buf, size, "a number from %g to %g", s->min, s->max);
		break;
	case VL_PARAM_BOOL:
		snprintf(buf, size, "true or false");
		break;
	case VL_PARAM_STRING:
		snprintf(buf, size, "text of at most %d bytes", VL_PARAM_STRING_MAX - 1);
		break;
	case VL_PARAM_CHOICE:
		snprintf(buf, size, "one of %s", s->choices);
		break;
	}
	return buf;
}

static bool choice_allowed(const char *choices, const char *value)
{
	size_t len = strlen(value);
	const char *p = choices;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t item = comma ? (size_t)(comma - p) : strlen(p);
		if (item == len && strncmp(p, value, len) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static int parse_value(const struct vl_workload *w, const struct vl_param_spec *s, const char *text,
                       struct vl_param_value *out, vl_error *err)
{
	char hint[128];
	vl_error ignored;

	type_hint(s, hint, sizeof(hint));
	memset(out, 0, sizeof(*out));
	switch (s->type) {
	case VL_PARAM_INT: {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno || end == text || *end || (double)v < s->min || (double)v > s->max)
			goto bad;
		out->i = v;
		out->d = (double)v;
		return 0;
	}
	case VL_PARAM_SIZE: {
		uint64_t v;
		if (vl_parse_size(text, &v, &ignored) < 0 || (double)v < s->min ||
		    (double)v > s->max)
			goto bad;
		out->i = (int64_t)v;
		out->d = (double)v;
		return 0;
	}
	case VL_PARAM_DOUBLE: {
		double v;
		char *end;
		errno = 0;
		v = strtod(text, &end);
		/* Durations may carry a unit (10s, 250ms). */
		if (!errno && end != text && *end && vl_parse_duration(text, &v, &ignored) == 0)
			end = (char *)text + strlen(text);
		if (errno || end == text || *end || !isfinite(v) || v < s->min || v > s->max)
			goto bad;
		out->d = v;
		out->i = (int64_t)v;
		return 0;
	}
	case VL_PARAM_BOOL:
		if (!strcasecmp(text, "true") || !strcasecmp(text, "yes") || !strcmp(text, "1") ||
		    !strcasecmp(text, "on"))
			out->i = 1;
		else if (!strcasecmp(text, "false") || !strcasecmp(text, "no") ||
		         !strcmp(text, "0") || !strcasecmp(text, "off"))
			out->i = 0;
		else
			goto bad;
		out->d = (double)out->i;
		return 0;
	case VL_PARAM_STRING:
		if (strlen(text) >= sizeof(out->s))
			goto bad;
		snprintf(out->s, sizeof(out->s), "%s", text);
		return 0;
	case VL_PARAM_CHOICE:
		if (!choice_allowed(s->choices, text))
			goto bad;
		snprintf(out->s, sizeof(out->s), "%s", text);
		return 0;
	}
bad:
	return vl_error_input(err, "%s: parameter '%s' must be %s (got '%s')", w->name, s->name,
	                      hint, text);
}

int vl_params_init(struct vl_params *p, const struct vl_workload *w, vl_error *err)
{
	memset(p, 0, sizeof(*p));
	p->workload = w;
	for (int i = 0; w->params && w->params[i].name; i++) {
		if (i >= VL_MAX_PARAMS)
			return vl_error_set(err, "%s: more than %d parameters", w->name,
			                    VL_MAX_PARAMS);
		if (parse_value(w, &w->params[i], w->params[i].def, &p->v[i], err) < 0)
			return vl_error_wrap(err, "default of %s", w->params[i].name);
	}
	return 0;
}

static int unknown_param(const struct vl_workload *w, const char *name, vl_error *err)
{
	char names[512] = "";
	size_t used = 0;

	for (int i = 0; w->params && w->params[i].name && used < sizeof(names); i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
		                         w->params[i].name);
	return vl_error_input(err, "%s has no parameter '%s' (it has: %s)", w->name, name,
	                      used ? names : "none");
}

int vl_params_set(struct vl_params *p, const char *name, const char *value, vl_error *err)
{
	int idx = spec_index(p->workload, name);

	if (idx < 0)
		return unknown_param(p->workload, name, err);
	return parse_value(p->workload, &p->workload->params[idx], value, &p->v[idx], err);
}

int vl_params_set_assignment(struct vl_params *p, const char *assignment, vl_error *err)
{
	const char *eq = strchr(assignment, '=');
	char name[64];

	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof(name))
		return vl_error_input(err, "'%s' is not key=value (e.g. -p threads=2)", assignment);
	memcpy(name, assignment, (size_t)(eq - assignment));
	name[eq - assignment] = '\0';
	return vl_params_set(p, name, eq + 1, err);
}

int vl_params_set_json(struct vl_params *p, json_t *obj, vl_error *err)
{
	const char *key;
	json_t *value;

	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return vl_error_input(err, "params must be a JSON object");
	json_object_foreach(obj, key, value)
	{
		char text[VL_PARAM_STRING_MAX + 32];
		if (json_is_string(value))
			snprintf(text, sizeof(text), "%s", json_string_value(value));
		else if (json_is_integer(value))
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(value));
		else if (json_is_real(value))
			snprintf(text, sizeof(text), "%.17g", json_real_value(value));
		else if (json_is_boolean(value))
			snprintf(text, sizeof(text), "%s", json_is_true(value) ? "true" : "false");
		else
			return vl_error_input(err,
			                      "%s: parameter '%s' must be a string, number "
			                      "or boolean",
			                      p->workload->name, key);
		if (vl_params_set(p, key, text, err) < 0)
			return -1;
	}
	return 0;
}

int vl_params_validate(const struct vl_params *p, vl_error *err)
{
	return p->workload->validate ? p->workload->validate(p, err) : 0;
}

json_t *vl_params_to_json(const struct vl_params *p)
{
	json_t *obj = json_object();
	const struct vl_workload *w = p->workload;

	for (int i = 0; w->params && w->params[i].name; i++) {
		const struct vl_param_value *v = &p->v[i];
		json_t *value = NULL;
		switch (w->params[i].type) {
		case VL_PARAM_INT:
		case VL_PARAM_SIZE:
			value = json_integer(v->i);
			break;
		case VL_PARAM_DOUBLE:
			value = json_real(v->d);
			break;
		case VL_PARAM_BOOL:
			value = json_boolean(v->i);
			break;
		case VL_PARAM_STRING:
		case VL_PARAM_CHOICE:
			value = json_string(v->s);
			break;
		}
		json_object_set_new(obj, w->params[i].name, value);
	}
	return obj;
}

/* Asking for a parameter the workload does not declare is a programming
 * error in that workload; fail loudly in every build. */
static const struct vl_param_value *lookup(const struct vl_params *p, const char *name)
{
	int idx = spec_index(p->workload, name);
	if (idx < 0) {
		fprintf(stderr, "virtlab: bug: %s has no parameter %s\n", p->workload->name, name);
		abort();
	}
	return &p->v[idx];
}

int64_t vl_param_int(const struct vl_params *p, const char *name)
{
	return lookup(p, name)->i;
}

double vl_param_double(const struct vl_params *p, const char *name)
{
	return lookup(p, name)->d;
}

bool vl_param_bool(const struct vl_params *p, const char *name)
{
	return lookup(p, name)->i != 0;
}

const char *vl_param_str(const struct vl_params *p, const char *name)
{
	return lookup(p, name)->s;
}
