#include "study/workload_run.h"
#include "agent/client.h"
#include "core/cleanup.h"
#include "core/stats.h"

#include <stdlib.h>
#include <string.h>

static bool sample_ok(json_t *sample)
{
	const char *status = json_string_value(json_object_get(sample, "status"));
	return status && strcmp(status, "ok") == 0;
}

size_t vl_samples_not_ok(json_t *samples)
{
	size_t i, count = 0;
	json_t *sample;

	json_array_foreach(samples, i, sample) count += !sample_ok(sample);
	return count;
}

static json_t *summary_json(const struct vl_summary *s, const char *unit)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:s}", "median", s->median,
	                 "min", s->min, "max", s->max, "cov", s->cov, "ci_low", s->ci_low,
	                 "ci_high", s->ci_high, "ci_level", s->ci_level, "n", (json_int_t)s->n,
	                 "unit", unit);
}

json_t *vl_summarize_samples(const struct vl_workload *w, json_t *samples)
{
	json_t *summary = json_object();
	size_t n_samples = json_array_size(samples);
	cleanup_free double *values = malloc((n_samples ? n_samples : 1) * sizeof(*values));

	if (!summary || !values)
		abort();
	for (const struct vl_metric_spec *m = w->metrics; m->name; m++) {
		struct vl_summary s;
		size_t i, n = 0;
		json_t *sample;

		json_array_foreach(samples, i, sample)
		{
			json_t *v = json_object_get(json_object_get(sample, "metrics"), m->name);
			if (sample_ok(sample) && json_is_number(v))
				values[n++] = json_number_value(v);
		}
		if (n == 0)
			continue;
		vl_summarize(values, n, &s);
		json_object_set_new(summary, m->name, summary_json(&s, m->unit));
	}
	return summary;
}

static int check_samples(json_t *samples, vl_error *err)
{
	size_t i;
	json_t *sample;

	if (!json_is_array(samples))
		return vl_error_set(err, "the agent's reply has no samples array");
	json_array_foreach(samples, i, sample)
	{
		if (!json_is_object(sample) || !json_is_string(json_object_get(sample, "status")))
			return vl_error_set(err, "sample %zu of the agent's reply has no status",
			                    i);
	}
	return 0;
}

int vl_run_workload(struct vl_guest *g, const struct vl_params *p, unsigned repeat, unsigned warmup,
                    double timeout_s, json_t **out, vl_error *err)
{
	const struct vl_workload *w = p->workload;
	struct vl_agent_client *c = NULL;
	cleanup_json json_t *params = vl_params_to_json(p);
	cleanup_json json_t *reply = NULL;
	json_t *samples, *resolved;
	int fd, rc;

	if (g->platform->open_channel(g, &fd, err) < 0 || vl_agent_client_new(fd, &c, err) < 0)
		return vl_error_wrap(err, "running %s on %s", w->name, g->spec.name);
	rc = vl_agent_run(c, w->name, params, repeat, warmup, timeout_s, &reply, err);
	vl_agent_client_free(c);
	if (rc < 0)
		return vl_error_wrap(err, "running %s on %s", w->name, g->spec.name);
	samples = json_object_get(reply, "samples");
	if (check_samples(samples, err) < 0)
		return vl_error_wrap(err, "running %s on %s", w->name, g->spec.name);
	/* The agent's resolved parameters are what actually ran. */
	resolved = json_object_get(reply, "params");
	*out = json_pack("{s:s, s:O, s:s, s:I, s:I, s:s, s:O, s:o}", "workload", w->name, "params",
	                 json_is_object(resolved) ? resolved : params, "platform",
	                 g->platform->name, "repeat", (json_int_t)repeat, "warmup",
	                 (json_int_t)warmup, "primary", w->metrics[0].name, "samples", samples,
	                 "summary", vl_summarize_samples(w, samples));
	if (!*out)
		return vl_error_set(err, "building the result of %s", w->name);
	return 0;
}
