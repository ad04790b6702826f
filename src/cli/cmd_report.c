/* `virtlab report DIR... [--format LIST] [--out DIR]`: the report of one or
 * more studies, from their results files only. */
#include "cli/commands.h"
#include "cli/options.h"
#include "report/report.h"

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
	fprintf(out, "Usage: virtlab report DIR... [--format LIST] [--out DIR]\n\n"
	             "Writes the report of the studies in DIR (directories written by `virtlab\n"
	             "study`, or their results.json): report.html (self-contained), report.md,\n"
	             "results.csv and report.json. Several DIRs (several hosts) are merged.\n\n"
	             "Options:\n"
	             "  -f, --format LIST  formats to write, comma-separated: html, md, csv, json\n"
	             "                     (default: all; repeatable)\n"
	             "  -o, --out DIR      where to write (default: the one DIR given; required\n"
	             "                     with several)\n"
	             "  -h, --help         show this help\n");
}

int vl_cmd_report(int argc, char **argv)
{
	static const struct option options[] = {
	        {"format", required_argument, NULL, 'f'},
	        {"out", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	vl_error err = {0};
	unsigned formats = 0, more;
	const char *out_dir = NULL;
	char dir[PATH_MAX];
	struct stat st;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (vl_report_parse_formats(optarg, &more, &err) < 0)
				return vl_cli_report(&err);
			formats |= more;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return vl_cli_usage_error("report", "option '%s' needs a value",
			                          argv[optind - 1]);
		default:
			return vl_cli_usage_error("report", "unknown option '%s'",
			                          argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return vl_cli_usage_error("report", "give at least one study directory");
	if (!formats)
		formats = VL_REPORT_ALL;
	if (vl_report_write((const char *const *)argv + optind, (size_t)(argc - optind), out_dir,
	                    formats, &err) < 0)
		return vl_cli_report(&err);
	if (!out_dir) {
		/* Where vl_report_write() put them: next to the results.json. */
		snprintf(dir, sizeof(dir), "%s", argv[optind]);
		out_dir = stat(dir, &st) == 0 && !S_ISDIR(st.st_mode) ? dirname(dir) : dir;
	}
	for (size_t i = 0; i < vl_report_nformats; i++)
		if (formats & vl_report_formats[i].flag)
			printf("%s/%s\n", out_dir, vl_report_formats[i].file);
	return fflush(stdout) == 0 ? 0 : 1;
}
