#include "study/study.h"
#include "core/cleanup.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/stats.h"
#include "study/host_facts.h"
#include "study/study_hosts.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Above this load per CPU the machine is busy enough to skew the figures. */
#define BUSY_LOAD_PER_CPU 0.5

void vl_study_default_dir(char *buf, size_t size)
{
	char host[64] = "host";
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, size, "results/%s-%s", stamp, host);
}

static json_t *platforms_json(const struct vl_study_plan *plan)
{
	json_t *a = json_array();

	for (size_t i = 0; i < plan->n_platforms; i++) {
		const struct vl_study_platform *sp = &plan->platforms[i];
		json_array_append_new(
		        a,
		        json_pack("{s:s, s:s, s:b, s:o, s:s}", "name", sp->label, "platform",
		                  sp->platform->name, "usable", sp->probe.usable, "reason",
		                  sp->probe.reason[0] ? json_string(sp->probe.reason) : json_null(),
		                  "accel", sp->probe.accel));
	}
	return a;
}

int vl_study_create(struct vl_study_plan *plan, const char *dir, struct vl_results *out,
                    vl_error *err)
{
	cleanup_json json_t *host = NULL;
	cleanup_json json_t *plan_json = NULL;

	vl_study_plan_probe(plan);
	if (vl_host_facts(&host, err) < 0)
		return vl_error_wrap(err, "recording the host");
	plan_json = vl_study_plan_to_json(plan);
	if (vl_results_create(out, dir, host, plan_json, platforms_json(plan), err) < 0)
		return -1;
	json_object_set_new(out->root, "warnings", vl_study_warnings(out));
	return vl_results_save(out, err);
}

int vl_study_load(const char *dir, struct vl_study_plan *plan, struct vl_results *out,
                  vl_error *err)
{
	if (vl_results_load(out, dir, err) < 0)
		return -1;
	if (vl_study_plan_from_json(plan, json_object_get(out->root, "plan"), err) < 0) {
		vl_results_release(out);
		return vl_error_wrap(err, "resuming %s", dir);
	}
	vl_study_plan_probe(plan);
	/* Platforms merged from other hosts (study_hosts.h) are not the plan's. */
	json_t *platforms = platforms_json(plan), *p;
	size_t i;
	json_array_foreach(json_object_get(out->root, "platforms"), i, p)
	{
		if (json_object_get(p, "host"))
			json_array_append(platforms, p);
	}
	json_object_set_new(out->root, "platforms", platforms);
	json_object_set_new(out->root, "finished", json_null());
	return vl_results_save(out, err);
}

/* name: another host's (study_hosts.h), NULL for this one. */
static void warn_host(json_t *warnings, const char *name, json_t *host)
{
	double load = json_number_value(json_array_get(json_object_get(host, "load_average"), 0));
	json_int_t cpus =
	        json_integer_value(json_object_get(json_object_get(host, "cpu"), "logical_cpus"));

	if (cpus > 0 && load > BUSY_LOAD_PER_CPU * (double)cpus)
		json_array_append_new(warnings,
		                      json_sprintf("%s%s was busy when %s study started: load "
		                                   "%.2f on %d CPUs",
		                                   name ? "host " : "the host", name ? name : "",
		                                   name ? "its" : "the", load, (int)cpus));
}

static void warn_rows(json_t *warnings, json_t *experiments)
{
	const char *name;
	json_t *e, *row;
	size_t i;

	json_object_foreach(experiments, name, e)
	{
		json_array_foreach(json_object_get(e, "rows"), i, row)
		{
			double cov = json_number_value(
			        json_object_get(json_object_get(row, "summary"), "cov"));
			/* A capped row repeats the samples of the row it was capped to. */
			bool capped = json_is_true(
			        json_object_get(json_object_get(row, "params"), "capped"));
			if (cov > VL_UNTRUSTWORTHY_COV && !capped)
				json_array_append_new(
				        warnings,
				        json_sprintf(
				                "%s: %s on %s (%s): CoV %.1f%%", name,
				                json_string_value(json_object_get(row, "workload")),
				                json_string_value(json_object_get(row, "platform")),
				                json_string_value(json_object_get(row, "variant")),
				                cov * 100));
		}
	}
}

json_t *vl_study_warnings(struct vl_results *r)
{
	json_t *warnings = json_array(), *h;
	const char *name;

	warn_host(warnings, NULL, json_object_get(r->root, "host"));
	json_object_foreach(json_object_get(r->root, "hosts"), name, h)
	        warn_host(warnings, name, json_object_get(h, "facts"));
	vl_study_hosts_warnings(warnings, r->root);
	warn_rows(warnings, json_object_get(r->root, "experiments"));
	return warnings;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int run_one(struct vl_study_ctx *ctx, const struct vl_experiment *e, vl_error *err)
{
	struct vl_results *r = ctx->results;
	vl_error run_err = {0};
	const char *status = "done";
	const char *reason = NULL;

	ctx->experiment = e->name;
	ctx->fraction = 0;
	if (vl_results_begin(r, e->name, err) < 0)
		return -1;
	vl_study_report(ctx, "", "starting", 0);
	if (e->run(ctx, &run_err) < 0) {
		status = vl_study_interrupted() ? "partial" : "failed";
		reason = run_err.msg;
	}
	if (vl_results_end(r, e->name, status, reason, err) < 0)
		return -1;
	if (vl_study_interrupted()) {
		vl_error_set(err, "interrupted during experiment %s", e->name);
		return -1;
	}
	return 0;
}

int vl_study_run(struct vl_study_plan *plan, struct vl_results *r, const struct vl_study_options *o,
                 vl_error *err)
{
	char workdir[PATH_MAX];
	struct vl_study_ctx ctx = {
	        .plan = plan,
	        .results = r,
	        .host = json_object_get(r->root, "host"),
	        .workdir = workdir,
	        .n_experiments = plan->n_experiments,
	        .progress = o ? o->progress : NULL,
	        .progress_arg = o ? o->progress_arg : NULL,
	};
	int rc = 0;

	/* The baseline first: rows then read bare, then the others. */
	for (size_t i = 0; i < plan->n_platforms; i++)
		if (plan->platforms[i].probe.usable && vl_study_is_baseline(&plan->platforms[i]))
			ctx.platforms[ctx.n_platforms++] = &plan->platforms[i];
	for (size_t i = 0; i < plan->n_platforms; i++)
		if (plan->platforms[i].probe.usable && !vl_study_is_baseline(&plan->platforms[i]))
			ctx.platforms[ctx.n_platforms++] = &plan->platforms[i];
	snprintf(workdir, sizeof(workdir), "%s/work", r->dir);
	if (vl_mkdir_p(workdir, 0755, err) < 0)
		return vl_error_wrap(err, "creating the study's work directory");
	for (size_t i = 0; rc == 0 && i < plan->n_experiments; i++) {
		const struct vl_experiment *e = vl_experiment_find(plan->experiments[i]);
		ctx.experiment_index = i;
		if (vl_results_experiment_done(r, e->name))
			continue;
		if (ctx.n_platforms == 0)
			rc = vl_results_end(r, e->name, "skipped", "no usable platform", err);
		else
			rc = run_one(&ctx, e, err);
	}
	nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	json_object_set_new(r->root, "warnings", vl_study_warnings(r));
	if (rc == 0)
		return vl_results_finish(r, err);
	vl_error ignored = {0};
	vl_results_save(r, &ignored);
	return rc;
}
