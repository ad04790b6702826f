/* Guests for experiments: named, made through the platform's operations,
 * and destroyed on every path. */
#include "study/experiment.h"
#include "core/interrupt.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool vl_study_interrupted(void)
{
	return *vl_interrupt_flag() != 0;
}

bool vl_study_is_baseline(const struct vl_study_platform *sp)
{
	return strcmp(sp->label, "bare") == 0 && strcmp(sp->platform->name, "bare") == 0;
}

unsigned vl_study_host_cpus(struct vl_study_ctx *ctx)
{
	json_int_t n = json_integer_value(
	        json_object_get(json_object_get(ctx->host, "cpu"), "logical_cpus"));
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (n > 0)
		return (unsigned)n;
	return online > 0 ? (unsigned)online : 1;
}

uint64_t vl_study_host_memory(struct vl_study_ctx *ctx)
{
	json_int_t n = json_integer_value(
	        json_object_get(json_object_get(ctx->host, "memory"), "total_bytes"));

	return n > 0 ? (uint64_t)n : 0;
}

void vl_study_spec(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                   struct vl_guest_spec *out)
{
	const char *workdir = vl_study_size(ctx->plan, "disk.workdir");

	memset(out, 0, sizeof(*out));
	out->cpus = vl_study_host_cpus(ctx);
	out->memory_bytes = vl_study_host_memory(ctx);
	/* Other platforms keep their files where their guest's disk is. */
	if (workdir[0])
		snprintf(out->workdir, sizeof(out->workdir), "%s", workdir);
	else if (strcmp(sp->platform->name, "bare") == 0 && ctx->workdir)
		snprintf(out->workdir, sizeof(out->workdir), "%s", ctx->workdir);
}

static void down(struct vl_guest *g)
{
	vl_error err = {0};

	if (g->platform->stop && g->platform->stop(g, &err) < 0)
		vl_debug("stopping guest %s: %s", g->spec.name, err.msg);
	vl_error_clear(&err);
	if (vl_guest_destroy(g, &err) < 0)
		vl_debug("destroying guest %s: %s", g->spec.name, err.msg);
	vl_guest_free(g);
}

int vl_guests_new(struct vl_study_ctx *ctx, struct vl_guests *set,
                  const struct vl_study_platform *sp, const struct vl_guest_spec *spec,
                  struct vl_guest **out, vl_error *err)
{
	struct vl_guest_spec named = *spec;

	if (set->n == VL_STUDY_MAX_GUESTS)
		return vl_error_set(err, "too many guests in one experiment");
	snprintf(named.name, sizeof(named.name), "virtlab-%d-%u", (int)getpid(), ++ctx->next_guest);
	if (vl_guest_new(sp->platform, &named, out, err) < 0)
		return vl_error_wrap(err, "%s", sp->label);
	set->g[set->n++] = *out;
	return 0;
}

int vl_guests_up(struct vl_study_ctx *ctx, struct vl_guests *set,
                 const struct vl_study_platform *sp, const struct vl_guest_spec *spec,
                 struct vl_guest **out, vl_error *err)
{
	const struct vl_platform *p = sp->platform;
	struct vl_guest *g;

	/* In the set before provisioning: destroy is safe on a half-made guest. */
	if (vl_guests_new(ctx, set, sp, spec, &g, err) < 0)
		return -1;
	if ((p->provision && p->provision(g, err) < 0) || p->start(g, err) < 0)
		return vl_error_wrap(err, "%s", sp->label);
	*out = g;
	return 0;
}

void vl_guests_forget(struct vl_guests *set, struct vl_guest *g)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->g[i] != g)
			continue;
		memmove(&set->g[i], &set->g[i + 1], (set->n - i - 1) * sizeof(set->g[0]));
		set->n--;
		return;
	}
}

void vl_guests_drop(struct vl_guests *set, struct vl_guest *g)
{
	vl_guests_forget(set, g);
	down(g);
}

void vl_guests_down(struct vl_guests *set)
{
	/* Newest first: a clone goes before its source. */
	while (set->n)
		down(set->g[--set->n]);
}

int vl_guests_up_each(struct vl_study_ctx *ctx, struct vl_guests *set,
                      const struct vl_guest_spec *spec, struct vl_guest **g,
                      char down[][VL_DOWN_MAX], vl_error *err)
{
	for (size_t i = 0; i < ctx->n_platforms; i++) {
		struct vl_guest_spec s;
		vl_error up_err = {0};

		vl_study_spec(ctx, ctx->platforms[i], &s);
		if (spec && spec->cpus)
			s.cpus = spec->cpus;
		if (spec && spec->memory_bytes)
			s.memory_bytes = spec->memory_bytes;
		down[i][0] = '\0';
		g[i] = NULL;
		if (vl_guests_up(ctx, set, ctx->platforms[i], &s, &g[i], &up_err) == 0)
			continue;
		g[i] = NULL;
		if (vl_study_interrupted())
			return vl_error_set(err, "%s", up_err.msg);
		snprintf(down[i], VL_DOWN_MAX, "%s", up_err.msg);
	}
	return 0;
}

int vl_study_each_platform(struct vl_study_ctx *ctx, const char *figure,
                           int (*fn)(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                                     void *arg, vl_error *err),
                           void *arg, vl_error *err)
{
	for (size_t i = 0; i < ctx->n_platforms; i++) {
		const struct vl_study_platform *sp = ctx->platforms[i];
		vl_error run_err = {0};

		ctx->fraction = (double)i / (double)ctx->n_platforms;
		vl_study_report(ctx, sp->label, ctx->experiment, 0);
		if (fn(ctx, sp, arg, &run_err) == 0)
			continue;
		if (vl_study_interrupted()) {
			*err = run_err;
			return -1;
		}
		if (vl_study_add_row(ctx,
		                     vl_study_row_missing(figure, sp->label, ctx->experiment, "",
		                                          "", "", -1, VL_STATUS_FAILED,
		                                          run_err.msg),
		                     err) < 0)
			return -1;
	}
	return 0;
}
