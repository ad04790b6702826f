/* virtlab run: one workload, through the agent, on one platform. */
#include "cli/commands.h"
#include "cli/guest_access.h"
#include "cli/options.h"
#include "core/cleanup.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/units.h"
#include "platforms/platform.h"
#include "study/workload_run.h"
#include "workloads/workload.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_REPEAT    5
#define DEFAULT_WARMUP    1
#define DEFAULT_TIMEOUT_S 3600.0

struct run_options {
	const char *workload;
	char **assignments; /* the -p values, in order */
	size_t n_assignments;
	unsigned repeat;
	unsigned warmup;
	double timeout_s;
	bool json;
	bool list;
	const char *platform;
	const char *workdir;
	const char *guest; /* a running guest made by `virtlab guest` */
};

static void usage(void)
{
	printf("Usage: virtlab run WORKLOAD [-p KEY=VALUE]... [--repeat N] [--warmup N]\n"
	       "                    [--json] [--platform NAME | --guest NAME] [--workdir DIR]\n"
	       "                    [--timeout S]\n"
	       "       virtlab run --list\n\n"
	       "Runs WORKLOAD through the agent on a platform and prints the median, minimum,\n"
	       "maximum and coefficient of variation of each metric over the samples.\n\n"
	       "  -p, --param KEY=VALUE  set a workload parameter (see --list)\n"
	       "  -r, --repeat N         samples to take (default %d)\n"
	       "  -w, --warmup N         runs to discard first (default %d)\n"
	       "  -j, --json             print the result as JSON (docs/results-schema.md)\n"
	       "  -P, --platform NAME    where the agent runs (default bare)\n"
	       "  -g, --guest NAME       run in the running guest NAME (virtlab guest start)\n"
	       "  -d, --workdir DIR      where disk workloads put their files (default: here)\n"
	       "  -t, --timeout S        give up on the agent after S (default %.0fs)\n"
	       "  -l, --list             list the workloads, their parameters and metrics\n"
	       "  -h, --help             show this help\n",
	       DEFAULT_REPEAT, DEFAULT_WARMUP, DEFAULT_TIMEOUT_S);
}

static const char *type_name(enum vl_param_type t)
{
	static const char *const names[] = {"int", "size", "number", "bool", "string", "choice"};
	return names[t];
}

static const char *param_range(const struct vl_param_spec *s, char *buf, size_t size)
{
	char lo[32], hi[32];

	switch (s->type) {
	case VL_PARAM_INT:
		snprintf(buf, size, "%.0f..%.0f", s->min, s->max);
		break;
	case VL_PARAM_SIZE:
		snprintf(buf, size, "%s..%s", vl_format_size((uint64_t)s->min, lo, sizeof(lo)),
		         vl_format_size((uint64_t)s->max, hi, sizeof(hi)));
		break;
	case VL_PARAM_DOUBLE:
		snprintf(buf, size, "%g..%g", s->min, s->max);
		break;
	case VL_PARAM_CHOICE:
		snprintf(buf, size, "of %s", s->choices);
		break;
	case VL_PARAM_BOOL:
		snprintf(buf, size, "true/false");
		break;
	case VL_PARAM_STRING:
		snprintf(buf, size, "up to %d bytes", VL_PARAM_STRING_MAX - 1);
		break;
	}
	return buf;
}

static void list_workloads(void)
{
	size_t count;
	const struct vl_workload *const *all = vl_workload_all(&count);

	for (size_t i = 0; i < count; i++) {
		const struct vl_workload *w = all[i];
		printf("%s%s: %s", i ? "\n" : "", w->name, w->summary ? w->summary : "");
		if (w->thesis && strcmp(w->thesis, "none") != 0)
			printf(" (thesis %s)", w->thesis);
		printf("\n");
		if (w->params && w->params[0].name)
			printf("  parameters (-p NAME=VALUE; defaults shown):\n");
		for (const struct vl_param_spec *s = w->params; s && s->name; s++) {
			char range[160], assignment[96];
			snprintf(assignment, sizeof(assignment), "%s=%s", s->name, s->def);
			printf("    %-22s %s %s: %s\n", assignment, type_name(s->type),
			       param_range(s, range, sizeof(range)), s->help ? s->help : "");
		}
		printf("  metrics (the first is the primary):\n");
		for (const struct vl_metric_spec *m = w->metrics; m->name; m++)
			printf("    %-22s %s, %s%s%s\n", m->name, m->unit,
			       m->better > 0 ? "higher is better" : "lower is better",
			       m->help ? ": " : "", m->help ? m->help : "");
	}
}

/* About four significant digits, without exponents. */
static void print_value(double v, int width)
{
	int decimals = 0;

	if (v != 0 && isfinite(v))
		decimals = 3 - (int)floor(log10(fabs(v)));
	decimals = decimals < 0 ? 0 : decimals > 9 ? 9 : decimals;
	printf(" %*.*f", width, decimals, v);
}

static void print_table(json_t *result, const struct vl_workload *w)
{
	json_t *summary = json_object_get(result, "summary");
	json_t *samples = json_object_get(result, "samples");
	json_t *params = json_object_get(result, "params");
	json_t *sample, *value;
	const char *key;
	size_t i;

	printf("%s on %s: %zu samples after %lld warmup\n", w->name,
	       json_string_value(json_object_get(result, "platform")), json_array_size(samples),
	       json_integer_value(json_object_get(result, "warmup")));
	if (json_object_size(params)) {
		printf("params:");
		json_object_foreach(params, key, value)
		{
			cleanup_free char *text = json_dumps(value, JSON_ENCODE_ANY);
			const char *shown = json_is_string(value) ? json_string_value(value) : text;
			printf(" %s=%s", key, shown ? shown : "?");
		}
		printf("\n");
	}
	if (json_object_size(summary)) {
		printf("\n%-20s %-10s %12s %12s %12s %7s\n", "metric", "unit", "median", "min",
		       "max", "CoV");
		for (const struct vl_metric_spec *m = w->metrics; m->name; m++) {
			json_t *s = json_object_get(summary, m->name);
			if (!s)
				continue;
			printf("%-20s %-10s", m->name, m->unit);
			print_value(json_number_value(json_object_get(s, "median")), 12);
			print_value(json_number_value(json_object_get(s, "min")), 12);
			print_value(json_number_value(json_object_get(s, "max")), 12);
			printf(" %6.2f%%\n", 100.0 * json_number_value(json_object_get(s, "cov")));
		}
	} else {
		printf("\nno sample succeeded\n");
	}
	json_array_foreach(samples, i, sample)
	{
		const char *status = json_string_value(json_object_get(sample, "status"));
		const char *reason = json_string_value(json_object_get(sample, "reason"));
		if (strcmp(status, "ok") != 0)
			printf("sample %zu: %s%s%s\n", i + 1, status, reason ? ": " : "",
			       reason ? reason : "");
	}
}

/* Returns -1 to go on, otherwise the exit code (after --help or bad usage). */
static int parse_options(int argc, char **argv, struct run_options *o)
{
	static const struct option options[] = {
	        {"param", required_argument, NULL, 'p'},
	        {"repeat", required_argument, NULL, 'r'},
	        {"warmup", required_argument, NULL, 'w'},
	        {"json", no_argument, NULL, 'j'},
	        {"platform", required_argument, NULL, 'P'},
	        {"workdir", required_argument, NULL, 'd'},
	        {"guest", required_argument, NULL, 'g'},
	        {"timeout", required_argument, NULL, 't'},
	        {"list", no_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	vl_error err = {0};
	int opt;

	o->assignments = calloc((size_t)argc, sizeof(*o->assignments));
	if (!o->assignments)
		abort();
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":p:r:w:jP:d:g:t:lh", options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o->assignments[o->n_assignments++] = optarg;
			break;
		case 'r':
			if (vl_cli_parse_uint("--repeat", optarg, 1, 10000, &o->repeat, &err) < 0)
				return vl_cli_report(&err);
			break;
		case 'w':
			if (vl_cli_parse_uint("--warmup", optarg, 0, 10000, &o->warmup, &err) < 0)
				return vl_cli_report(&err);
			break;
		case 'j':
			o->json = true;
			break;
		case 'P':
			o->platform = optarg;
			break;
		case 'd':
			o->workdir = optarg;
			break;
		case 'g':
			o->guest = optarg;
			break;
		case 't':
			if (vl_parse_duration(optarg, &o->timeout_s, &err) < 0 || o->timeout_s <= 0)
				return vl_cli_usage_error("run",
				                          "--timeout must be a positive duration "
				                          "such as 600 or 10m (got '%s')",
				                          optarg);
			break;
		case 'l':
			o->list = true;
			break;
		case 'h':
			usage();
			return 0;
		case ':':
			return vl_cli_usage_error("run", "%s needs a value", argv[optind - 1]);
		default:
			return vl_cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (o->list)
		return optind == argc ? -1 : vl_cli_usage_error("run", "--list takes no workload");
	if (optind != argc - 1)
		return vl_cli_usage_error("run", optind == argc ? "which workload? (virtlab run "
		                                                  "--list shows them)"
		                                                : "one workload at a time");
	o->workload = argv[optind];
	return -1;
}

/* Everything that can be checked without a guest, so bad input never costs
 * a guest start. */
static int prepare(const struct run_options *o, struct vl_params *p,
                   const struct vl_platform **platform, struct vl_guest_spec *spec, vl_error *err)
{
	const struct vl_workload *w = vl_workload_find(o->workload);
	struct stat st;

	if (!w)
		return vl_error_input(err, "unknown workload '%s' (virtlab run --list shows them)",
		                      o->workload);
	if (vl_params_init(p, w, err) < 0)
		return -1;
	for (size_t i = 0; i < o->n_assignments; i++)
		if (vl_params_set_assignment(p, o->assignments[i], err) < 0)
			return -1;
	if (vl_params_validate(p, err) < 0)
		return -1;
	if (o->guest) {
		/* The guest's record names its platform; its workdir was set at create. */
		if (o->workdir)
			return vl_error_input(err,
			                      "--workdir does not go with --guest (set it with "
			                      "virtlab guest create --workdir)");
		return 0;
	}
	if (vl_cli_find_platform(o->platform, platform, err) < 0)
		return -1;
	memset(spec, 0, sizeof(*spec));
	snprintf(spec->name, sizeof(spec->name), "run-%d", (int)getpid());
	if (o->workdir) {
		if (stat(o->workdir, &st) < 0 || !S_ISDIR(st.st_mode))
			return vl_error_input(err, "--workdir '%s' is not a directory", o->workdir);
		if (!realpath(o->workdir, spec->workdir))
			return vl_error_errno(err, errno, "resolving --workdir %s", o->workdir);
	}
	return 0;
}

static int run_on_guest(const struct run_options *o, const struct vl_platform *platform,
                        const struct vl_guest_spec *spec, const struct vl_params *p,
                        json_t **result, vl_error *err)
{
	struct vl_guest *g = NULL;
	vl_error stop_err = {0};
	struct vl_cli_guest cg;
	int rc;

	if (o->guest) {
		if (vl_cli_guest_open(o->guest, &cg, err) < 0)
			return -1;
		rc = vl_cli_guest_need_running(&cg, err);
		if (rc == 0)
			rc = vl_run_workload(cg.g, p, o->repeat, o->warmup, o->timeout_s, result,
			                     err);
		vl_cli_guest_close(&cg);
		return rc;
	}
	if (vl_guest_new(platform, spec, &g, err) < 0)
		return -1;
	rc = platform->provision ? platform->provision(g, err) : 0;
	if (rc == 0)
		rc = platform->start(g, err);
	if (rc == 0 && !vl_interrupt_signal())
		rc = vl_run_workload(g, p, o->repeat, o->warmup, o->timeout_s, result, err);
	if (vl_guest_destroy(g, &stop_err) < 0 && rc == 0) {
		*err = stop_err;
		rc = -1;
	}
	vl_guest_free(g);
	return rc;
}

int vl_cmd_run(int argc, char **argv)
{
	struct run_options o = {.repeat = DEFAULT_REPEAT,
	                        .warmup = DEFAULT_WARMUP,
	                        .timeout_s = DEFAULT_TIMEOUT_S,
	                        .platform = "bare"};
	const struct vl_platform *platform = NULL;
	struct vl_guest_spec spec;
	struct vl_params p;
	cleanup_json json_t *result = NULL;
	vl_error err = {0};
	int rc = parse_options(argc, argv, &o);

	if (rc >= 0 || o.list) {
		free(o.assignments);
		if (rc >= 0)
			return rc;
		list_workloads();
		return 0;
	}
	rc = prepare(&o, &p, &platform, &spec, &err);
	free(o.assignments);
	if (rc < 0)
		return vl_cli_report(&err);
	if (vl_interrupt_install(&err) < 0)
		return vl_cli_report(&err);
	rc = run_on_guest(&o, platform, &spec, &p, &result, &err);
	if (vl_interrupt_signal())
		return vl_cli_interrupted(vl_interrupt_signal());
	if (rc < 0)
		return vl_cli_report(&err);
	if (o.json) {
		json_dumpf(result, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		print_table(result, p.workload);
	}
	if (fflush(stdout) != 0)
		return 1;
	return vl_samples_not_ok(json_object_get(result, "samples")) ? 1 : 0;
}
