/* cpu.whetstone: the Whetstone benchmark (Curnow and Wichmann, 1976) in the
 * double-precision form of Longbottom's 1996 C version that UnixBench runs:
 * the eight loops left active by the 1987 revision, each run `passes` times
 * with 100 times its loop constant as inner count, T flipped to 1 - T after
 * each pass where values would otherwise decay to underflow, and the first
 * loop run ten times longer and weighted by a tenth. MWIPS is UnixBench's
 * figure: passes * 100 / (10 * weighted seconds). */
#include "workloads/registry.h"
#include "core/clock.h"

#include <math.h>

#define T_0         0.49999975
#define T_1         0.50000025
#define T_2         2.0
#define INNER_SCALE 100 /* Longbottom's x100 */
#define N1_REPEAT   10  /* the first loop runs this much longer, for timer resolution */
#define SECTIONS    8

/* Hides a value from the optimiser. Without it, GCC proves that the integer
 * loop (N4) never changes j, k and l and deletes it, and folds the three
 * conditional jumps of N3 across iterations into a bit flip. */
#define opaque(x) __asm__("" : "+r"(x))

static const struct vl_param_spec params[] = {
        {.name = "duration",
         .type = VL_PARAM_DOUBLE,
         .def = "3",
         .min = 0.05,
         .max = 3600,
         .help = "seconds the measured run should last; calibrated like UnixBench (which uses 10)"},
        {.name = "passes",
         .type = VL_PARAM_INT,
         .def = "0",
         .min = 0,
         .max = 100000000,
         .help = "outer passes of the measured run; 0 calibrates them from duration"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "mwips",
         .unit = "MWIPS",
         .better = +1,
         .help = "millions of Whetstone instructions per second (UnixBench's figure)"},
        {.name = "seconds", .unit = "s", .better = -1, .help = "wall time of the measured run"},
        {0},
};

struct whet {
	const volatile int *stop;
	double e1[4]; /* shared by the loops in turn, as in the original */
	double value[SECTIONS];
	double seconds[SECTIONS];
};

/* The procedures stay out of line: calling them is what the loops measure. */
static __attribute__((noinline)) void pa(double e[4], double t, double t2)
{
	for (int j = 0; j < 6; j++) {
		e[0] = (e[0] + e[1] + e[2] - e[3]) * t;
		e[1] = (e[0] + e[1] - e[2] + e[3]) * t;
		e[2] = (e[0] - e[1] + e[2] + e[3]) * t;
		e[3] = (-e[0] + e[1] + e[2] + e[3]) / t2;
	}
}

static __attribute__((noinline)) void p3(double *x, double *y, double *z, double t, double t1,
                                         double t2)
{
	*x = *y;
	*y = *z;
	*x = t * (*x + *y);
	*y = t1 * (*x + *y);
	*z = (*x + *y) / t2;
}

static __attribute__((noinline)) void p0(double e[4], long j, long k, long l)
{
	e[j] = e[k];
	e[k] = e[l];
	e[l] = e[j];
}

static double array_elements(struct whet *w, long passes, long n)
{
	double e[4] = {1.0, -1.0, -1.0, -1.0};
	double t = T_0;

	for (long pass = 0; pass < passes && !*w->stop; pass++) {
		for (long i = 0; i < n * N1_REPEAT; i++) {
			e[0] = (e[0] + e[1] + e[2] - e[3]) * t;
			e[1] = (e[0] + e[1] - e[2] + e[3]) * t;
			e[2] = (e[0] - e[1] + e[2] + e[3]) * t;
			e[3] = (-e[0] + e[1] + e[2] + e[3]) * t;
		}
		t = 1.0 - t;
	}
	for (int i = 0; i < 4; i++)
		w->e1[i] = e[i];
	return e[3];
}

static double array_as_parameter(struct whet *w, long passes, long n)
{
	double t = T_0;

	for (long pass = 0; pass < passes && !*w->stop; pass++) {
		for (long i = 0; i < n; i++)
			pa(w->e1, t, T_2);
		t = 1.0 - t;
	}
	return w->e1[3];
}

static double conditional_jumps(struct whet *w, long passes, long n)
{
	long j = 1;

	opaque(j);
	for (long pass = 0; pass < passes && !*w->stop; pass++) {
		for (long i = 0; i < n; i++) {
			if (j == 1)
				j = 2;
			else
				j = 3;
			if (j > 2)
				j = 0;
			else
				j = 1;
			if (j < 1)
				j = 1;
			else
				j = 0;
		}
	}
	return (double)j;
}

static double integer_arithmetic(struct whet *w, long passes, long n)
{
	long j = 1, k = 2, l = 3;

	opaque(j);
	opaque(k);
	opaque(l);
	for (long pass = 0; pass < passes && !*w->stop; pass++) {
		for (long i = 0; i < n; i++) {
			j = j * (k - j) * (l - k);
			k = l * k - (l - j) * k;
			l = (l - k) * (k + j);
			w->e1[l - 2] = (double)(j + k + l);
			w->e1[k - 2] = (double)(j * k * l);
		}
	}
	return w->e1[0] + w->e1[1];
}

static double trig_functions(struct whet *w, long passes, long n)
{
	double x = 0.5, y = 0.5, t = T_0;

	for (long pass = 0; pass < passes && !*w->stop; pass++) {
		/* One iteration fewer than the constant, as in the reference. */
		for (long i = 1; i < n; i++) {
			x = t * atan(T_2 * sin(x) * cos(x) / (cos(x + y) + cos(x - y) - 1.0));
			y = t * atan(T_2 * sin(y) * cos(y) / (cos(x + y) + cos(x - y) - 1.0));
		}
		t = 1.0 - t;
	}
	return y;
}

static double procedure_calls(struct whet *w, long passes, long n)
{
	double x = 1.0, y = 1.0, z = 1.0;

	for (long pass = 0; pass < passes && !*w->stop; pass++)
		for (long i = 0; i < n; i++)
			p3(&x, &y, &z, T_0, T_1, T_2);
	return z;
}

static double array_references(struct whet *w, long passes, long n)
{
	w->e1[0] = 1.0;
	w->e1[1] = 2.0;
	w->e1[2] = 3.0;
	for (long pass = 0; pass < passes && !*w->stop; pass++)
		for (long i = 0; i < n; i++)
			p0(w->e1, 0, 1, 2);
	return w->e1[2];
}

static double standard_functions(struct whet *w, long passes, long n)
{
	double x = 0.75;

	for (long pass = 0; pass < passes && !*w->stop; pass++)
		for (long i = 0; i < n; i++)
			x = sqrt(exp(log(x) / T_1));
	return x;
}

/* expected: the values after one pass, as Longbottom published them (double
 * precision; compilers differ in the last digits). invariant: the value does
 * not depend on the number of passes. */
static const struct section {
	const char *name;
	long loop; /* inner iterations per pass are loop * INNER_SCALE */
	double (*run)(struct whet *w, long passes, long n);
	double expected;
	bool invariant;
} sections[SECTIONS] = {
        {"N1 floating point", 12, array_elements, -1.12398255667391900, false},
        {"N2 floating point", 14, array_as_parameter, -1.12187079889284400, false},
        {"N3 if then else", 345, conditional_jumps, 1.0, true},
        {"N4 fixed point", 210, integer_arithmetic, 12.0, true},
        {"N5 sin,cos etc.", 32, trig_functions, 0.49902937281515140, false},
        {"N6 floating point", 899, procedure_calls, 0.99999987890802820, false},
        {"N7 assignments", 616, array_references, 3.0, true},
        {"N8 exp,sqrt etc.", 93, standard_functions, 0.75100163018457870, false},
};

/* Runs all loops `passes` times; returns the wall time. */
static double run_passes(struct whet *w, long passes)
{
	double total = 0;

	for (int s = 0; s < SECTIONS; s++) {
		uint64_t start = vl_now_ns();
		w->value[s] = sections[s].run(w, passes, sections[s].loop * INNER_SCALE);
		w->seconds[s] = vl_seconds_since(start);
		total += w->seconds[s];
	}
	return total;
}

static double weighted_seconds(const struct whet *w)
{
	double t = w->seconds[0] / N1_REPEAT;

	for (int s = 1; s < SECTIONS; s++)
		t += w->seconds[s];
	return t;
}

static json_t *sections_json(const struct whet *w)
{
	json_t *list = json_array();

	for (int s = 0; s < SECTIONS; s++)
		json_array_append_new(list,
		                      json_pack("{s:s, s:f, s:f}", "name", sections[s].name,
		                                "value", w->value[s], "seconds", w->seconds[s]));
	return list;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	static const volatile int never;
	struct whet w = {.stop = ctx->stop ? ctx->stop : &never};
	double duration = vl_param_double(p, "duration");
	long passes = (long)vl_param_int(p, "passes");
	double wall;

	(void)err;
	/* One pass checks every loop against the published results; when
	 * calibrating it is also the first step, as in UnixBench. */
	wall = run_passes(&w, 1);
	if (*w.stop)
		return vl_result_fail(r, "stopped before the end");
	for (int s = 0; s < SECTIONS; s++)
		if (!(fabs(w.value[s] - sections[s].expected) <= 1e-9 * fabs(sections[s].expected)))
			return vl_result_fail(r, "%s gave %.17g after one pass, expected %.17g",
			                      sections[s].name, w.value[s], sections[s].expected);
	if (passes == 0) {
		long trial = 1;
		/* Five times more each step until a step lasts a tenth of the run. */
		while (wall < duration / 10 && !*w.stop) {
			trial *= 5;
			wall = run_passes(&w, trial);
		}
		passes = (long)(duration / wall * (double)trial);
		if (passes < 1)
			passes = 1;
	}
	wall = run_passes(&w, passes);
	if (*w.stop)
		return vl_result_fail(r, "stopped before the end");

	r->extra = json_pack("{s:I, s:o}", "passes", (json_int_t)passes, "sections",
	                     sections_json(&w));
	for (int s = 0; s < SECTIONS; s++) {
		bool ok = sections[s].invariant ? w.value[s] == sections[s].expected
		                                : isfinite(w.value[s]) && fabs(w.value[s]) < 2.0;
		if (!ok)
			return vl_result_fail(r, "%s gave %.17g after %ld passes", sections[s].name,
			                      w.value[s], passes);
	}
	/* A pass counts as INNER_SCALE / 10 million Whetstone instructions. */
	vl_result_set(r, "mwips", (double)passes * INNER_SCALE / 10.0 / weighted_seconds(&w));
	vl_result_set(r, "seconds", wall);
	return 0;
}

const struct vl_workload vl_workload_cpu_whetstone = {
        .name = "cpu.whetstone",
        .summary = "Whetstone floating-point benchmark, MWIPS (UnixBench whets.c)",
        .thesis = "w1 task 2",
        .params = params,
        .metrics = metrics,
        .run = run,
};
