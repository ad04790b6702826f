/* The study engine without guests: plans, the interleaved adaptive loop with
 * known values, overhead intervals, and results files (null platform). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "study/experiment.h"
#include "study/measure.h"
#include "study/plan.h"
#include "study/results.h"
#include "study/study.h"

/* --- plans --- */

static void plan_quick_defaults_and_overrides(void **state)
{
	struct vl_study_plan p;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_study_plan_init(&p, "quick", &err), 0);
	assert_int_equal(p.repeat_min, 5);
	assert_true(p.repeat_max >= p.repeat_min);
	assert_true(fabs(p.ci_target - 0.02) < 1e-12);
	assert_true(vl_study_plan_has_experiment(&p, "entitlement"));
	for (size_t i = 0; i < p.n_platforms; i++)
		assert_string_not_equal(p.platforms[i].label, "null");
	assert_int_equal(vl_study_plan_set(&p, "mem.sizes=1M,2M", &err), 0);
	assert_string_equal(vl_study_size(&p, "mem.sizes"), "1M,2M");
	assert_int_equal(vl_study_plan_set(&p, "no.such.key=1", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_int_equal(vl_study_plan_set_platforms(&p, "null,null@null2", &err), 0);
	assert_int_equal(p.n_platforms, 2);
	assert_string_equal(p.platforms[1].label, "null2");
	assert_string_equal(p.platforms[1].platform->name, "null");
	assert_int_equal(vl_study_plan_set_platforms(&p, "null,null", &err), -1);
	assert_int_equal(vl_study_plan_set_platforms(&p, "nosuch", &err), -1);
	assert_int_equal(vl_study_plan_set_experiments(&p, "cpu,nosuch", &err), -1);
	vl_study_plan_release(&p);
	assert_int_equal(vl_study_plan_init(&p, "huge", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static void plan_round_trips_through_json(void **state)
{
	struct vl_study_plan p, q;
	json_t *j;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_study_plan_init(&p, "full", &err), 0);
	assert_int_equal(vl_study_plan_set_platforms(&p, "null,null@other", &err), 0);
	assert_int_equal(vl_study_plan_set_experiments(&p, "disk,cpu", &err), 0);
	assert_int_equal(vl_study_plan_set(&p, "disk.events=77", &err), 0);
	vl_study_plan_fix_repeats(&p, 3);
	j = vl_study_plan_to_json(&p);
	if (vl_study_plan_from_json(&q, j, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(q.profile, "full");
	assert_int_equal(q.n_platforms, 2);
	assert_string_equal(q.platforms[1].label, "other");
	assert_int_equal(q.n_experiments, 2);
	assert_string_equal(q.experiments[0], "disk");
	assert_int_equal(q.repeat_min, 3);
	assert_int_equal(q.repeat_max, 3);
	assert_string_equal(vl_study_size(&q, "disk.events"), "77");
	json_decref(j);
	vl_study_plan_release(&p);
	vl_study_plan_release(&q);
}

/* --- the measurement loop, with known values --- */

struct script {
	size_t order[256];
	size_t n_calls;
	bool warmups[256];
	const double *values[4]; /* per cell, cycled */
	size_t n_values[4];
	size_t next[4];
	int fail_cell; /* -1: none */
};

static int scripted(void *arg, size_t cell, bool warmup, double *value, char *reason,
                    size_t reason_size, vl_error *err)
{
	struct script *s = arg;

	(void)err;
	s->warmups[s->n_calls] = warmup;
	s->order[s->n_calls++] = cell;
	if ((int)cell == s->fail_cell) {
		snprintf(reason, reason_size, "scripted failure");
		return 0;
	}
	*value = s->values[cell][s->next[cell]++ % s->n_values[cell]];
	return 1;
}

static void interleaves_run_by_run(void **state)
{
	static const double one[] = {1.0};
	struct script s = {.values = {one, one, one}, .n_values = {1, 1, 1}, .fail_cell = -1};
	struct vl_measure_opts o = {
	        .repeat_min = 2, .repeat_max = 2, .warmup = 1, .ci_target = 0.02};
	struct vl_series series[3] = {{0}};
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_measure_interleaved(&o, 3, scripted, &s, series, &err), 0);
	assert_int_equal(s.n_calls, 9);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(s.order[i], i % 3); /* A B C A B C A B C */
		assert_int_equal(s.warmups[i], i < 3);
	}
	for (size_t c = 0; c < 3; c++) {
		assert_int_equal(series[c].n, 2); /* warmups discarded */
		vl_series_release(&series[c]);
	}
}

static void adaptive_repeats_stop_at_the_target(void **state)
{
	/* Steady within 0.5%: the 95% interval needs 6 samples (order
	 * statistics), then it is within +-2% and sampling stops. Alternating
	 * 50/150 never gets there: repeat_max, and untrustworthy (CoV ~40%). */
	static const double steady[] = {100.0, 100.5, 99.5, 100.2, 99.8, 100.1, 99.9};
	static const double noisy[] = {50.0, 150.0};
	static const double wide[] = {97.0, 103.0, 96.0, 104.0};
	struct script s = {.values = {steady, noisy, wide}, .n_values = {7, 2, 4}, .fail_cell = -1};
	struct vl_measure_opts o = {
	        .repeat_min = 5, .repeat_max = 20, .warmup = 0, .ci_target = 0.02};
	struct vl_series series[3] = {{0}};
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_measure_interleaved(&o, 3, scripted, &s, series, &err), 0);
	assert_int_equal(series[0].n, 6);
	assert_true(series[0].converged);
	assert_int_equal(series[0].status, VL_STATUS_OK);
	assert_int_equal(series[1].n, 20);
	assert_false(series[1].converged);
	assert_int_equal(series[1].status, VL_STATUS_UNTRUSTWORTHY);
	/* +-4%: never within +-2%, but CoV under 5%: ok, not converged. */
	assert_int_equal(series[2].n, 20);
	assert_false(series[2].converged);
	assert_int_equal(series[2].status, VL_STATUS_OK);
	for (size_t c = 0; c < 3; c++)
		vl_series_release(&series[c]);
}

static void a_failed_sample_stops_its_cell_only(void **state)
{
	static const double one[] = {1.0};
	struct script s = {.values = {one, one}, .n_values = {1, 1}, .fail_cell = 1};
	struct vl_measure_opts o = {
	        .repeat_min = 3, .repeat_max = 3, .warmup = 0, .ci_target = 0.02};
	struct vl_series series[2] = {{0}};
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_measure_interleaved(&o, 2, scripted, &s, series, &err), 0);
	assert_int_equal(series[0].n, 3);
	assert_int_equal(series[1].n, 0);
	assert_int_equal(series[1].status, VL_STATUS_FAILED);
	assert_string_equal(series[1].reason, "scripted failure");
	vl_series_release(&series[0]);
	vl_series_release(&series[1]);
}

static void stops_when_interrupted(void **state)
{
	static const double one[] = {1.0};
	volatile int stop = 1;
	struct script s = {.values = {one}, .n_values = {1}, .fail_cell = -1};
	struct vl_measure_opts o = {
	        .repeat_min = 3, .repeat_max = 3, .warmup = 0, .ci_target = 0.02, .stop = &stop};
	struct vl_series series[1] = {{0}};
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_measure_interleaved(&o, 1, scripted, &s, series, &err), -1);
	assert_int_equal(s.n_calls, 0);
	vl_series_release(&series[0]);
}

/* --- overheads --- */

static void overhead_of_equal_samples_contains_one(void **state)
{
	static const double a[] = {10.1, 9.9, 10.0, 10.2, 9.8, 10.05, 9.95};
	static const double b[] = {9.9, 10.1, 10.0, 9.8, 10.2, 9.95, 10.05};
	struct vl_overhead o;

	(void)state;
	assert_int_equal(vl_overhead_ratio(a, 7, b, 7, -1, &o), 0);
	assert_true(fabs(o.ratio - 1.0) < 1e-9);
	assert_true(o.ci_low <= 1.0 && o.ci_high >= 1.0);
	assert_false(o.significant);
}

static void overhead_of_a_2x_shift_excludes_one(void **state)
{
	static const double base[] = {10.1, 9.9, 10.0, 10.2, 9.8, 10.05, 9.95};
	static const double slow[] = {20.2, 19.8, 20.0, 20.4, 19.6, 20.1, 19.9};
	static const double rate[] = {5.05, 4.95, 5.0, 5.1, 4.9, 5.02, 4.98};
	struct vl_overhead o, again;

	(void)state;
	/* Seconds, lower is better: twice the time is a cost ratio of 2. */
	assert_int_equal(vl_overhead_ratio(base, 7, slow, 7, -1, &o), 0);
	assert_true(fabs(o.ratio - 2.0) < 1e-9);
	assert_true(o.ci_low > 1.5 && o.ci_high < 2.5 && o.ci_low <= 2.0 && o.ci_high >= 2.0);
	/* 7 samples a side: [min, max] of each, at 1 - 2/2^7 each. */
	assert_true(fabs(o.ci_level - (1 - 2.0 / 128) * (1 - 2.0 / 128)) < 1e-9);
	assert_true(o.significant);
	/* Events/s, higher is better: half the rate is also a cost ratio of 2. */
	assert_int_equal(vl_overhead_ratio(base, 7, rate, 7, 1, &o), 0);
	assert_true(fabs(o.ratio - 2.0) < 1e-9);
	assert_true(o.significant);
	/* The same samples always give the same interval. */
	assert_int_equal(vl_overhead_ratio(base, 7, rate, 7, 1, &again), 0);
	assert_true(o.ci_low == again.ci_low && o.ci_high == again.ci_high);
	assert_int_equal(vl_overhead_ratio(base, 0, rate, 7, 1, &o), -1);
}

/* --- results files and the study over the null platform --- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void make_dir(char *dir)
{
	strcpy(dir, "/tmp/virtlab-test-study-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static json_t *load(const char *dir)
{
	char path[512];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/results.json", dir);
	j = json_load_file(path, 0, &jerr);
	if (!j)
		fail_msg("%s: %s", path, jerr.text);
	return j;
}

static ino_t inode(const char *dir)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void results_are_replaced_atomically(void **state)
{
	char dir[64];
	struct vl_results r;
	json_t *host = json_object(), *plan = json_object(), *j;
	vl_error err = {0};
	ino_t before;

	(void)state;
	make_dir(dir);
	assert_int_equal(vl_results_create(&r, dir, host, plan, json_array(), &err), 0);
	before = inode(dir);
	assert_int_equal(vl_results_begin(&r, "cpu", &err), 0);
	/* A new file renamed over the old one: a reader never sees half a file. */
	assert_true(inode(dir) != before);
	assert_int_equal(vl_results_add_row(&r, "cpu", json_pack("{s:s}", "figure", "4.1"), &err),
	                 0);
	assert_int_equal(vl_results_end(&r, "cpu", "done", NULL, &err), 0);
	j = load(dir);
	assert_string_equal(json_string_value(json_object_get(j, "schema")), VL_RESULTS_SCHEMA);
	assert_int_equal(
	        json_array_size(json_object_get(
	                json_object_get(json_object_get(j, "experiments"), "cpu"), "rows")),
	        1);
	assert_true(vl_results_experiment_done(&r, "cpu"));
	assert_false(vl_results_experiment_done(&r, "disk"));
	json_decref(j);
	vl_results_release(&r);
	json_decref(host);
	json_decref(plan);
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A platform whose guest did not start gives failed rows; the others are
 * measured all the same. */
static void a_dead_guest_fails_only_its_cells(void **state)
{
	static const char *const args[] = {"value=3", NULL};
	char dir[64];
	struct vl_study_plan plan;
	struct vl_results r;
	struct vl_study_ctx ctx = {0};
	struct vl_guests set = {0};
	struct vl_guest_spec spec = {0};
	struct vl_guest *g;
	struct vl_cell cells[2];
	json_t *host = json_pack("{s:{s:i}}", "cpu", "logical_cpus", 1), *rows;
	json_t *plan_json = json_object();
	vl_error err = {0};

	(void)state;
	make_dir(dir);
	assert_int_equal(vl_study_plan_init(&plan, "quick", &err), 0);
	assert_int_equal(vl_study_plan_set_platforms(&plan, "null,null@dead", &err), 0);
	vl_study_plan_fix_repeats(&plan, 3);
	assert_int_equal(vl_results_create(&r, dir, host, plan_json, json_array(), &err), 0);
	ctx.plan = &plan;
	ctx.results = &r;
	ctx.host = host;
	ctx.experiment = "cpu";
	assert_int_equal(vl_results_begin(&r, "cpu", &err), 0);
	if (vl_guests_up(&ctx, &set, &plan.platforms[0], &spec, &g, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(vl_cell_init(&cells[0], &plan.platforms[0], g, "null", "", args, &err), 0);
	assert_int_equal(vl_cell_init(&cells[1], &plan.platforms[1], NULL, "null", "", args, &err),
	                 0);
	cells[1].down = "boom";
	if (vl_cells_measure(&ctx, "4.1", cells, 2, &err) < 0)
		fail_msg("%s", err.msg);
	vl_guests_down(&set);
	rows = json_object_get(json_object_get(json_object_get(r.root, "experiments"), "cpu"),
	                       "rows");
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "status")),
	                    "ok");
	assert_int_equal(json_array_size(json_object_get(json_array_get(rows, 0), "samples")), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "status")),
	                    "failed");
	assert_non_null(strstr(
	        json_string_value(json_object_get(json_array_get(rows, 1), "reason")), "boom"));
	vl_results_release(&r);
	vl_study_plan_release(&plan);
	json_decref(host);
	json_decref(plan_json);
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void count_progress(void *arg, const struct vl_study_progress *p)
{
	(void)p;
	(*(unsigned *)arg)++;
}

/* The cpu experiment on two labels of the null platform with tiny sizes,
 * then a resume that must not run it again. */
static void study_over_null_and_resume(void **state)
{
	static const char *const tiny[] = {
	        "cpu.vcpus=1,64",
	        "cpu.primes.events=20",
	        "cpu.primes.max_prime=1000",
	        "cpu.whetstone.duration=0.05",
	        "cpu.mutex.locks=10",
	        "cpu.rsa.keys=1",
	        "cpu.rsa.bits=512",
	        "operations.repeat=2",
	};
	char dir[64];
	struct vl_study_plan plan, again;
	struct vl_results r;
	unsigned calls = 0;
	struct vl_study_options o = {.progress = count_progress, .progress_arg = &calls};
	json_t *j, *cpu, *row;
	size_t i;
	vl_error err = {0};

	(void)state;
	make_dir(dir);
	assert_int_equal(vl_study_plan_init(&plan, "quick", &err), 0);
	assert_int_equal(vl_study_plan_set_platforms(&plan, "null,null@null2", &err), 0);
	assert_int_equal(vl_study_plan_set_experiments(&plan, "cpu,operations", &err), 0);
	for (i = 0; i < sizeof(tiny) / sizeof(tiny[0]); i++)
		assert_int_equal(vl_study_plan_set(&plan, tiny[i], &err), 0);
	vl_study_plan_fix_repeats(&plan, 2);
	if (vl_study_create(&plan, dir, &r, &err) < 0 || vl_study_run(&plan, &r, &o, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(calls > 0);
	vl_results_release(&r);
	vl_study_plan_release(&plan);

	j = load(dir);
	assert_true(json_is_string(json_object_get(j, "finished")));
	cpu = json_object_get(json_object_get(j, "experiments"), "cpu");
	assert_string_equal(json_string_value(json_object_get(cpu, "status")), "done");
	/* 2 figures (1 vCPU, 64 capped at the host) x 4 tasks x 2 labels. */
	assert_int_equal(json_array_size(json_object_get(cpu, "rows")), 16);
	json_array_foreach(json_object_get(cpu, "rows"), i, row)
	{
		assert_int_equal(json_array_size(json_object_get(row, "samples")), 2);
		/* null is not the baseline: no overheads. */
		assert_true(json_is_null(json_object_get(row, "overhead")));
	}
	json_decref(j);

	/* Mark operations unfinished, as a kill in its middle leaves it. */
	assert_int_equal(vl_results_load(&r, dir, &err), 0);
	json_object_set_new(json_object_get(json_object_get(r.root, "experiments"), "operations"),
	                    "status", json_string("partial"));
	assert_int_equal(vl_results_save(&r, &err), 0);
	vl_results_release(&r);

	calls = 0;
	if (vl_study_load(dir, &again, &r, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(again.n_platforms, 2);
	if (vl_study_run(&again, &r, &o, &err) < 0)
		fail_msg("%s", err.msg);
	vl_results_release(&r);
	vl_study_plan_release(&again);
	j = load(dir);
	cpu = json_object_get(json_object_get(j, "experiments"), "cpu");
	/* cpu was done: kept as it was, not rerun; operations ran again. */
	assert_int_equal(json_array_size(json_object_get(cpu, "rows")), 16);
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_object_get(json_object_get(j, "experiments"), "operations"),
	                "status")),
	        "done");
	assert_true(calls > 0 && calls <= 2 * 2 + 1);
	json_decref(j);
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(plan_quick_defaults_and_overrides),
	        cmocka_unit_test(plan_round_trips_through_json),
	        cmocka_unit_test(interleaves_run_by_run),
	        cmocka_unit_test(adaptive_repeats_stop_at_the_target),
	        cmocka_unit_test(a_failed_sample_stops_its_cell_only),
	        cmocka_unit_test(stops_when_interrupted),
	        cmocka_unit_test(overhead_of_equal_samples_contains_one),
	        cmocka_unit_test(overhead_of_a_2x_shift_excludes_one),
	        cmocka_unit_test(results_are_replaced_atomically),
	        cmocka_unit_test(a_dead_guest_fails_only_its_cells),
	        cmocka_unit_test(study_over_null_and_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
