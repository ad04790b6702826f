/* The study's plan: which platforms and experiments, how many repeats, and
 * every size an experiment uses, from a profile (quick or full) with the
 * user's overrides. Saved in results.json, so that --resume continues with
 * the plan the study started with. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "core/error.h"
#include "platforms/platform.h"

#define VL_STUDY_MAX_PLATFORMS   8
#define VL_STUDY_MAX_EXPERIMENTS 16

/* One platform of the plan. The label names it in the results; it is the
 * platform's name unless the user wrote NAME@LABEL, which runs one platform
 * under two labels (bare@bare2: the A/A test that must show no difference). */
struct vl_study_platform {
	char label[VL_NAME_MAX];
	const struct vl_platform *platform;
	struct vl_probe probe;
};

struct vl_study_plan {
	char profile[16];
	size_t n_platforms;
	struct vl_study_platform platforms[VL_STUDY_MAX_PLATFORMS];
	size_t n_experiments;
	char experiments[VL_STUDY_MAX_EXPERIMENTS][32];
	unsigned repeat_min;
	unsigned repeat_max;
	unsigned warmup;
	double ci_target; /* half-width of the median's CI, relative to the median */
	json_t *sizes;    /* {key: text}, every key the experiments read */
};

/* The profile's defaults, every platform but null and every experiment. */
int vl_study_plan_init(struct vl_study_plan *p, const char *profile, vl_error *err);
void vl_study_plan_release(struct vl_study_plan *p);
/* "bare,lxc,bare@bare2"; replaces the list. Unknown names are input errors. */
int vl_study_plan_set_platforms(struct vl_study_plan *p, const char *list, vl_error *err);
int vl_study_plan_set_experiments(struct vl_study_plan *p, const char *list, vl_error *err);
/* "key=value": a size (see docs/methodology.md) or repeat_min, repeat_max,
 * warmup, ci_target. Unknown keys are input errors. */
int vl_study_plan_set(struct vl_study_plan *p, const char *assignment, vl_error *err);
/* Fixes the repeats at n (no adaptation): --repeat. */
void vl_study_plan_fix_repeats(struct vl_study_plan *p, unsigned n);
/* Probes every platform of the plan. */
void vl_study_plan_probe(struct vl_study_plan *p);

json_t *vl_study_plan_to_json(const struct vl_study_plan *p);
/* The inverse, for --resume; p must be released afterwards. */
int vl_study_plan_from_json(struct vl_study_plan *p, json_t *plan, vl_error *err);

/* A size's text; aborts on a key the profile does not define (a bug). */
const char *vl_study_size(const struct vl_study_plan *p, const char *key);
double vl_study_size_double(const struct vl_study_plan *p, const char *key);
/* Parses a size key holding bytes ("64M"). */
int vl_study_size_bytes(const struct vl_study_plan *p, const char *key, uint64_t *out,
                        vl_error *err);
bool vl_study_plan_has_experiment(const struct vl_study_plan *p, const char *name);
