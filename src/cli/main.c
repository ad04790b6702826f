/* The virtlab binary: global options, then one subcommand from the table. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/log.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* Adding a subcommand: one line here, its declaration in commands.h. */
static const struct command commands[] = {
        {"run", vl_cmd_run, "run a workload through the agent and summarise its samples"},
        {"agent", vl_cmd_agent, "serve the agent protocol (what runs inside a guest)"},
        {"serve", vl_cmd_serve, "run the endpoint the network workloads talk to"},
        {"calibrate", vl_cmd_calibrate, "compare the workloads with the reference tools"},
        {"info", vl_cmd_info, "show the host's facts"},
        {"guest", vl_cmd_guest, "create, start, stop, clone, exec and destroy guests"},
        {"entitle", vl_cmd_entitle, "apply a resource policy to a running guest"},
        {"cleanup", vl_cmd_cleanup, "remove guests and what crashed runs left behind"},
        {"lab", vl_cmd_lab, "create, start, stop and destroy lab hosts (xen, nested kvm)"},
        {"net", vl_cmd_net, "build the network test topology, or test both of its modes"},
        {"study", vl_cmd_study, "run the thesis's experiments on every usable platform"},
        {"report", vl_cmd_report, "write the report of studies from their results files"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: virtlab [-v]... [-q] COMMAND [ARG]...\n"
	             "       virtlab COMMAND --help\n\n"
	             "Reproduces a comparison of KVM, Xen and Linux containers against bare "
	             "metal.\n\n"
	             "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nOptions:\n"
	             "  -v, --verbose  say more (repeat for debug output)\n"
	             "  -q, --quiet    print errors only\n"
	             "  -h, --help     show this help\n"
	             "  -V, --version  show the version\n\n"
	             "Exit status: 0 ok, 1 failure, 2 bad usage or input.\n"
	             "See virtlab(1) or docs/cli.md.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"verbose", no_argument, NULL, 'v'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	const struct command *cmd;
	int verbose = 0, quiet = 0, opt;

	opterr = 0;
	/* '+': options end at the command; what follows is the command's. */
	while ((opt = getopt_long(argc, argv, "+vqhV", options, NULL)) != -1) {
		switch (opt) {
		case 'v':
			verbose++;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("virtlab %s\n", VL_VERSION);
			return 0;
		default:
			return vl_cli_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (quiet && verbose)
		return vl_cli_usage_error(NULL, "-q and -v contradict each other");
	if (quiet)
		vl_log_set_level(VL_LOG_ERROR);
	else if (verbose)
		vl_log_set_level(verbose > 1 ? VL_LOG_DEBUG : VL_LOG_INFO);
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return vl_cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	/* 0 makes glibc's getopt start afresh for the command's own options. */
	optind = 0;
	return cmd->fn(argc, argv);
}
