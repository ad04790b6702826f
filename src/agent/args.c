/* Request arguments: each mistake is an input error that names the op and the
 * argument, so the host can show it as is. */
#include "agent/session.h"

#include <stdio.h>
#include <string.h>

int vl_agent_arg_string(json_t *req, const char *op, const char *name, const char *def,
                        const char **out, vl_error *err)
{
	json_t *v = json_object_get(req, name);

	if (!v && !def)
		return vl_error_input(err, "%s: missing argument \"%s\"", op, name);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_string(v))
		return vl_error_input(err, "%s: \"%s\" must be a string", op, name);
	*out = json_string_value(v);
	return 0;
}

int vl_agent_arg_uint(json_t *req, const char *op, const char *name, long long def, unsigned min,
                      unsigned max, unsigned *out, vl_error *err)
{
	json_t *v = json_object_get(req, name);
	json_int_t i;

	if (!v && def < 0)
		return vl_error_input(err, "%s: missing argument \"%s\"", op, name);
	if (!v) {
		*out = (unsigned)def;
		return 0;
	}
	i = json_is_integer(v) ? json_integer_value(v) : -1;
	if (!json_is_integer(v) || i < min || i > max)
		return vl_error_input(err, "%s: \"%s\" must be an integer from %u to %u", op, name,
		                      min, max);
	*out = (unsigned)i;
	return 0;
}

int vl_agent_arg_double(json_t *req, const char *op, const char *name, double def, double min,
                        double max, double *out, vl_error *err)
{
	json_t *v = json_object_get(req, name);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max)
		return vl_error_input(err, "%s: \"%s\" must be a number from %g to %g", op, name,
		                      min, max);
	*out = json_number_value(v);
	return 0;
}

static const char *workload_names(bool stressors_only, char *buf, size_t size)
{
	size_t n, used = 0;
	const struct vl_workload *const *all = vl_workload_all(&n);

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		if (!stressors_only || all[i]->is_stressor)
			used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
			                         all[i]->name);
	return buf;
}

int vl_agent_arg_workload(json_t *req, const char *op, bool stressor, struct vl_params *p,
                          const char **code, vl_error *err)
{
	const struct vl_workload *w;
	const char *name;
	json_t *params = json_object_get(req, "params");
	char names[512];

	if (vl_agent_arg_string(req, op, "workload", NULL, &name, err) < 0)
		return -1;
	*code = "bad-params";
	w = vl_workload_find(name);
	if (!w || (stressor && !w->is_stressor))
		return vl_error_input(err, "%s: '%.64s' is not a %s (use one of %s)", op, name,
		                      stressor ? "stressor" : "workload",
		                      workload_names(stressor, names, sizeof(names)));
	if (params && !json_is_object(params))
		return vl_error_input(err, "%s: \"params\" must be an object of name: value", op);
	if (vl_params_init(p, w, err) < 0 || vl_params_set_json(p, params, err) < 0 ||
	    vl_params_validate(p, err) < 0)
		return -1;
	*code = NULL;
	return 0;
}
