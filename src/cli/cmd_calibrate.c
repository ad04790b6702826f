/* `virtlab calibrate [WORKLOAD...]`: our workloads against the reference
 * tools, run by run in turn; prints both medians and their ratio. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/cleanup.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "study/calibrate.h"

#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	char names[512];

	fprintf(out,
	        "Usage: virtlab calibrate [WORKLOAD]... [--runs N] [--quick] [--workdir DIR] "
	        "[--json]\n\n"
	        "Runs each workload (through the agent, on the bare platform) and the reference\n"
	        "tool the thesis used, with equal parameters, in turn: ours, reference, ours...\n"
	        "Prints the median [min, max] of each side and the ratio ours / reference.\n"
	        "A reference tool that is not installed leaves its row empty; it is not an\n"
	        "error. docs/methodology.md describes each pair.\n\n"
	        "Workloads: %s (default: all)\n\n"
	        "Options:\n"
	        "  -r, --runs N         interleaved pairs of runs per workload (default 5)\n"
	        "      --quick          smaller sizes and counts (e.g. 20 RSA keys, 2 s of "
	        "iperf3)\n"
	        "  -d, --workdir DIR    where both sides put their files (default: the current\n"
	        "                       directory); it must exist\n"
	        "  -j, --json           print a JSON list of rows (docs/results-schema.md)\n"
	        "  -h, --help           show this help\n\n"
	        "Exit status: 0 when every pair ran or its tool is missing, 1 when a pair\n"
	        "failed, 2 for bad usage.\n",
	        vl_calibrate_workloads(names, sizeof(names)));
}

static void progress(void *arg, const char *row, unsigned run, unsigned runs, const char *side,
                     double value, const char *unit)
{
	(void)arg;
	if (vl_log_get_level() >= VL_LOG_WARN)
		fprintf(stderr, "calibrate: %-22s run %u/%u  %-8s %.6g %s\n", row, run, runs, side,
		        value, unit);
}

/* Four significant digits, without exponents for the large counts (IOPS). */
static const char *number(double v, char *buf, size_t size)
{
	snprintf(buf, size, fabs(v) >= 1e4 ? "%.0f" : "%.4g", v);
	return buf;
}

static const char *figure(json_t *row, const char *side, char *buf, size_t size)
{
	char key[32], median[32], min[32], max[32];
	json_t *v = json_object_get(row, side);

	if (!json_is_number(v))
		return "-";
	number(json_number_value(v), median, sizeof(median));
	snprintf(key, sizeof(key), "%s_min", side);
	number(json_number_value(json_object_get(row, key)), min, sizeof(min));
	snprintf(key, sizeof(key), "%s_max", side);
	number(json_number_value(json_object_get(row, key)), max, sizeof(max));
	snprintf(buf, size, "%s [%s, %s]", median, min, max);
	return buf;
}

static void label_of(json_t *row, char *buf, size_t size)
{
	json_t *variant = json_object_get(row, "variant");

	snprintf(buf, size, "%s%s%s", json_string_value(json_object_get(row, "workload")),
	         json_is_string(variant) ? " " : "",
	         json_is_string(variant) ? json_string_value(variant) : "");
}

/* Returns the number of failed rows. */
static unsigned print_table(json_t *rows)
{
	char label[96], ours[64], ref[64];
	unsigned failed = 0;
	size_t i;
	json_t *row;

	printf("%-22s %-15s %-9s %-30s %-30s %-6s %s\n", "WORKLOAD", "METRIC", "UNIT",
	       "OURS median [min, max]", "REFERENCE median [min, max]", "RATIO", "TOOL");
	json_array_foreach(rows, i, row)
	{
		const char *status = json_string_value(json_object_get(row, "status"));
		json_t *ratio = json_object_get(row, "ratio");

		label_of(row, label, sizeof(label));
		printf("%-22s %-15s %-9s ", label,
		       json_string_value(json_object_get(row, "metric")),
		       json_string_value(json_object_get(row, "unit")));
		if (strcmp(status, "ok") == 0)
			printf("%-30s %-30s %-6.3f %s\n", figure(row, "ours", ours, sizeof(ours)),
			       figure(row, "reference", ref, sizeof(ref)), json_number_value(ratio),
			       json_string_value(json_object_get(row, "reference_tool")));
		else if (strcmp(status, "failed") == 0)
			printf("failed: %s\n", json_string_value(json_object_get(row, "error")));
		else
			printf("%s (%s)\n", status,
			       json_string_value(json_object_get(row, "reference_tool")));
		failed += strcmp(status, "failed") == 0;
	}
	printf("\nReference commands and notes:\n");
	json_array_foreach(rows, i, row)
	{
		json_t *argv = json_object_get(row, "reference_argv");
		json_t *note = json_object_get(row, "note");

		label_of(row, label, sizeof(label));
		if (json_is_string(argv))
			printf("  %-22s %s\n", label, json_string_value(argv));
		if (json_is_string(note))
			printf("  %-22s (%s)\n", json_is_string(argv) ? "" : label,
			       json_string_value(note));
	}
	return failed;
}

int vl_cmd_calibrate(int argc, char **argv)
{
	static const struct option options[] = {
	        {"runs", required_argument, NULL, 'r'},    {"quick", no_argument, NULL, 'Q'},
	        {"workdir", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	struct vl_calibrate_options o = {.progress = progress};
	cleanup_json json_t *rows = NULL;
	vl_error err = {0};
	bool json = false;
	unsigned failed = 0;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "r:d:jh", options, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (vl_cli_parse_uint("--runs", optarg, 1, 1000, &o.runs, &err) < 0)
				return vl_cli_report(&err);
			break;
		case 'Q':
			o.quick = true;
			break;
		case 'd':
			o.workdir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return vl_cli_usage_error("calibrate", "unknown option '%s'",
			                          argv[optind - 1]);
		}
	}
	o.only = (const char *const *)argv + optind;
	o.n_only = (size_t)(argc - optind);
	if (vl_interrupt_install(&err) < 0)
		return vl_cli_report(&err);
	o.stop = vl_interrupt_flag();
	if (vl_calibrate(&o, &rows, &err) < 0) {
		if (vl_interrupt_signal())
			return vl_cli_interrupted(vl_interrupt_signal());
		return vl_cli_report(&err);
	}
	if (json) {
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row) failed +=
		        strcmp(json_string_value(json_object_get(row, "status")), "failed") == 0;
		json_dumpf(rows, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		failed = print_table(rows);
	}
	if (fflush(stdout) != 0)
		return 1;
	return failed ? 1 : 0;
}
