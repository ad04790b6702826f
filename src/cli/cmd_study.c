/* virtlab study: the thesis's experiments on every usable platform, into a
 * results directory, then the report. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/clock.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "report/report.h"
#include "study/study.h"
#include "study/study_hosts.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SETTINGS 64

struct study_options {
	const char *profile;
	const char *platforms;
	const char *experiments;
	unsigned repeat; /* 0: the profile's */
	const char *out;
	const char *resume;
	const char *settings[MAX_SETTINGS];
	size_t n_settings;
	bool no_report;
	const char *hosts[VL_STUDY_MAX_HOSTS];
	size_t n_hosts;
	bool with_labs;
};

static void usage(void)
{
	printf("Usage: virtlab study [--profile quick|full] [--platforms LIST] [--experiments "
	       "LIST]\n"
	       "                     [--repeat N] [--set KEY=VALUE]... [--out DIR] [--no-report]\n"
	       "       virtlab study --resume DIR\n\n"
	       "Runs the thesis's experiments on every usable platform and writes\n"
	       "DIR/results.json (docs/results-schema.md), then the report.\n\n"
	       "  -p, --profile NAME      quick (minutes) or full (the thesis's sizes); default "
	       "quick\n"
	       "  -P, --platforms LIST    e.g. bare,lxc; NAME@LABEL runs a platform under a "
	       "second\n"
	       "                          label (bare,bare@bare2); default: all but null\n"
	       "  -e, --experiments LIST  of cpu, memory, disk, operations, features, isolation,\n"
	       "                          entitlement, network; default all\n"
	       "  -r, --repeat N          exactly N samples per figure (no adaptive repeats)\n"
	       "  -s, --set KEY=VALUE     override a size or setting (docs/methodology.md)\n"
	       "  -o, --out DIR           results directory (default results/DATE-HOST)\n"
	       "  -R, --resume DIR        continue a stopped study; finished experiments are kept\n"
	       "  -n, --no-report         do not write the report at the end\n"
	       "  -H, --host NAME=SPEC    another host: ssh:USER@ADDR[:PORT] or lab:xen|kvm;\n"
	       "                          PLATFORM@NAME in --platforms runs there, against\n"
	       "                          that host's own bare (repeatable)\n"
	       "      --with-labs         add xen@xenlab and qemu@kvmlab on lab hosts that\n"
	       "                          virtlab boots (minutes each)\n"
	       "  -h, --help              show this help\n");
}

static int parse_options(int argc, char **argv, struct study_options *o)
{
	static const struct option options[] = {
	        {"profile", required_argument, NULL, 'p'},
	        {"platforms", required_argument, NULL, 'P'},
	        {"experiments", required_argument, NULL, 'e'},
	        {"repeat", required_argument, NULL, 'r'},
	        {"set", required_argument, NULL, 's'},
	        {"out", required_argument, NULL, 'o'},
	        {"resume", required_argument, NULL, 'R'},
	        {"no-report", no_argument, NULL, 'n'},
	        {"host", required_argument, NULL, 'H'},
	        {"with-labs", no_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	vl_error err = {0};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "p:P:e:r:s:o:R:nH:h", options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o->profile = optarg;
			break;
		case 'P':
			o->platforms = optarg;
			break;
		case 'e':
			o->experiments = optarg;
			break;
		case 'r':
			if (vl_cli_parse_uint("--repeat", optarg, 1, 10000, &o->repeat, &err) < 0)
				return vl_cli_report(&err);
			break;
		case 's':
			if (o->n_settings == MAX_SETTINGS)
				return vl_cli_usage_error("study", "at most %d --set",
				                          MAX_SETTINGS);
			o->settings[o->n_settings++] = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'R':
			o->resume = optarg;
			break;
		case 'n':
			o->no_report = true;
			break;
		case 'H':
			if (o->n_hosts == VL_STUDY_MAX_HOSTS)
				return vl_cli_usage_error("study", "at most %d --host",
				                          VL_STUDY_MAX_HOSTS);
			o->hosts[o->n_hosts++] = optarg;
			break;
		case 'L':
			o->with_labs = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return vl_cli_usage_error("study", "unknown or incomplete option '%s'",
			                          argv[optind - 1]);
		}
	}
	if (optind < argc)
		return vl_cli_usage_error("study", "unexpected argument '%s'", argv[optind]);
	if (o->resume && (o->profile || o->platforms || o->experiments || o->repeat ||
	                  o->n_settings || o->out || o->n_hosts || o->with_labs))
		return vl_cli_usage_error("study",
		                          "--resume continues the saved plan: give no other "
		                          "plan option with it");
	return -1;
}

struct progress {
	bool tty;
	uint64_t start_ns;
	char last[256];
};

static void show_progress(void *arg, const struct vl_study_progress *p)
{
	struct progress *pr = arg;
	double done = ((double)p->experiment_index + p->fraction) / (double)p->n_experiments;
	double elapsed = vl_seconds_since(pr->start_ns);
	char line[256], key[256], eta[32] = "?";

	if (done > 0.02) {
		double left = elapsed * (1 - done) / done;
		snprintf(eta, sizeof(eta), "%dm%02ds", (int)left / 60, (int)left % 60);
	}
	snprintf(line, sizeof(line), "[%zu/%zu %s] %s %s", p->experiment_index + 1,
	         p->n_experiments, p->experiment, p->platform, p->what);
	if (pr->tty) {
		char sample[32] = "warmup";
		if (p->sample)
			snprintf(sample, sizeof(sample), "sample %u/%u", p->sample, p->repeat_max);
		fprintf(stderr, "\r\033[K%s %s  ETA %s", line, sample, eta);
		fflush(stderr);
		return;
	}
	/* Plain output: one line per measurement, not per sample (platforms
	 * take turns sample by sample). */
	snprintf(key, sizeof(key), "%s %s", p->experiment, p->what);
	if (strcmp(key, pr->last) == 0)
		return;
	snprintf(pr->last, sizeof(pr->last), "%s", key);
	fprintf(stderr, "%s (ETA %s)\n", line, eta);
}

/* Platforms named P@HOST of a --host go to that host; the rest are this
 * machine's plan. */
static int build_hosts(const struct study_options *o, struct vl_study_plan *plan,
                       struct vl_study_hosts *hs, vl_error *err)
{
	char local[1024];

	for (size_t i = 0; i < o->n_hosts; i++)
		if (vl_study_hosts_add(hs, o->hosts[i], err) < 0)
			return -1;
	if (o->with_labs && vl_study_hosts_add_labs(hs, err) < 0)
		return -1;
	if (o->platforms) {
		if (vl_study_hosts_split(hs, o->platforms, local, sizeof(local), err) < 0)
			return -1;
		if (!local[0])
			return vl_error_input(err, "--platforms names no platform of this machine: "
			                           "add bare (each host measures its own)");
		if (vl_study_plan_set_platforms(plan, local, err) < 0)
			return -1;
	}
	return vl_study_hosts_check(hs, err);
}

static int build_plan(const struct study_options *o, struct vl_study_plan *plan,
                      struct vl_study_hosts *hs, vl_error *err)
{
	if (vl_study_plan_init(plan, o->profile ? o->profile : "quick", err) < 0)
		return -1;
	if (build_hosts(o, plan, hs, err) < 0)
		return -1;
	if (o->experiments && vl_study_plan_set_experiments(plan, o->experiments, err) < 0)
		return -1;
	for (size_t i = 0; i < o->n_settings; i++)
		if (vl_study_plan_set(plan, o->settings[i], err) < 0)
			return -1;
	if (o->repeat)
		vl_study_plan_fix_repeats(plan, o->repeat);
	return 0;
}

static void print_platforms(const struct vl_study_plan *plan)
{
	for (size_t i = 0; i < plan->n_platforms; i++) {
		const struct vl_study_platform *sp = &plan->platforms[i];
		if (!sp->probe.usable)
			fprintf(stderr, "virtlab: skipping %s: %s\n", sp->label, sp->probe.reason);
		else if (sp->probe.reason[0])
			fprintf(stderr, "virtlab: %s: %s\n", sp->label, sp->probe.reason);
	}
}

static void print_summary(struct vl_results *r)
{
	json_t *warnings = json_object_get(r->root, "warnings"), *w, *e;
	const char *name;
	size_t i;

	json_object_foreach(json_object_get(r->root, "experiments"), name, e)
	{
		const char *status = json_string_value(json_object_get(e, "status"));
		const char *reason = json_string_value(json_object_get(e, "reason"));
		fprintf(stderr, "%-12s %-8s %zu rows%s%s\n", name, status,
		        json_array_size(json_object_get(e, "rows")), reason ? ": " : "",
		        reason ? reason : "");
	}
	json_array_foreach(warnings, i, w)
	        fprintf(stderr, "virtlab: warning: %s\n", json_string_value(w));
}

static void show_host(void *arg, const char *host, const char *what)
{
	struct progress *pr = arg;

	if (pr->tty)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "virtlab: host %s: %s\n", host, what);
}

static void print_hosts(struct vl_results *r)
{
	json_t *h;
	const char *name;

	json_object_foreach(json_object_get(r->root, "hosts"), name, h)
	{
		const char *reason = json_string_value(json_object_get(h, "reason"));
		fprintf(stderr, "host %-7s %-8s %s%s%s\n", name,
		        json_string_value(json_object_get(h, "status")),
		        json_string_value(json_object_get(h, "spec")), reason ? ": " : "",
		        reason ? reason : "");
	}
}

/* Creates or loads the study and its hosts. */
static int start(const struct study_options *o, const char *dir, struct vl_study_plan *plan,
                 struct vl_study_hosts *hs, struct vl_results *results, vl_error *err)
{
	if (o->resume) {
		if (vl_study_load(dir, plan, results, err) < 0)
			return -1;
		return vl_study_hosts_load(hs, results, err);
	}
	if (build_plan(o, plan, hs, err) < 0 || vl_study_create(plan, dir, results, err) < 0)
		return -1;
	return hs->n ? vl_study_hosts_record(hs, results, err) : 0;
}

int vl_cmd_study(int argc, char **argv)
{
	struct study_options o = {0};
	struct vl_study_plan plan = {0};
	struct vl_study_hosts hs = {0};
	struct vl_results results = {0};
	struct progress pr = {.tty = isatty(STDERR_FILENO), .start_ns = vl_now_ns()};
	struct vl_study_options so = {.progress = show_progress, .progress_arg = &pr};
	char dir[PATH_MAX];
	vl_error err = {0};
	int rc = parse_options(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (vl_interrupt_install(&err) < 0)
		return vl_cli_report(&err);
	if (o.resume)
		snprintf(dir, sizeof(dir), "%s", o.resume);
	else if (o.out)
		snprintf(dir, sizeof(dir), "%s", o.out);
	else
		vl_study_default_dir(dir, sizeof(dir));
	if (start(&o, dir, &plan, &hs, &results, &err) < 0) {
		if (results.root)
			vl_results_release(&results);
		vl_study_hosts_release(&hs);
		vl_study_plan_release(&plan);
		return vl_cli_report(&err);
	}
	print_platforms(&plan);
	fprintf(stderr, "virtlab: study in %s\n", dir);
	rc = vl_study_run(&plan, &results, &so, &err);
	if (pr.tty)
		fprintf(stderr, "\r\033[K");
	if (rc == 0 && hs.n)
		rc = vl_study_hosts_run(&hs, &plan, &results, show_host, &pr, &err);
	print_summary(&results);
	print_hosts(&results);
	vl_results_release(&results);
	vl_study_hosts_release(&hs);
	vl_study_plan_release(&plan);
	if (vl_interrupt_signal()) {
		fprintf(stderr,
		        "virtlab: interrupted; finished experiments are kept in %s "
		        "(continue with virtlab study --resume %s)\n",
		        dir, dir);
		return vl_cli_interrupted(vl_interrupt_signal());
	}
	if (rc < 0)
		return vl_cli_report(&err);
	if (!o.no_report) {
		const char *dirs[] = {dir};
		if (vl_report_write(dirs, 1, NULL, VL_REPORT_ALL, &err) < 0)
			return vl_cli_report(&err);
		printf("%s/report.html\n", dir);
	}
	printf("%s/results.json\n", dir);
	return 0;
}
