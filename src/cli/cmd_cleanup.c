/* `virtlab cleanup [--dry-run] [NAME]...`: removes guests and what crashed
 * runs left behind, saying what it removes. */
#include "cli/commands.h"
#include "cli/options.h"
#include "platforms/cleanup.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct tally {
	unsigned found;
	unsigned failed;
};

static void usage(void)
{
	printf("Usage: virtlab cleanup [--dry-run] [NAME]...\n\n"
	       "Removes every guest that no other virtlab holds (or the guests NAME), with all\n"
	       "it owns: processes, cgroups, mounts, directories, files, network namespaces,\n"
	       "links and nftables tables, newest first, and then its record. Without NAME it\n"
	       "also removes what has no record: empty virtlab/ cgroups in every hierarchy\n"
	       "(one with processes is reported and kept), mounts under $VIRTLAB_DATA, and\n"
	       "guest directories without a record.\n\n"
	       "  -n, --dry-run  only say what would be removed\n"
	       "  -h, --help     show this help\n");
}

static void report(const struct vl_cleanup_event *ev, void *arg)
{
	struct tally *t = arg;
	char owner[128] = " (no record)";

	if (ev->guest)
		snprintf(owner, sizeof(owner), " (guest %s)", ev->guest);
	t->found++;
	if (ev->error) {
		t->failed++;
		fprintf(stderr, "virtlab cleanup: kept %s %s%s: %s\n", ev->kind, ev->id, owner,
		        ev->error);
		return;
	}
	printf("%s %s %s%s\n", ev->dry_run ? "would remove" : "removed", ev->kind, ev->id, owner);
}

int vl_cmd_cleanup(int argc, char **argv)
{
	static const struct option options[] = {
	        {"dry-run", no_argument, NULL, 'n'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct tally t = {0};
	vl_error err = {0};
	bool dry_run = false;
	int opt, rc = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "nh", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			dry_run = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return vl_cli_usage_error("cleanup", "unknown option '%s'",
			                          argv[optind - 1]);
		}
	}
	if (optind == argc) {
		rc = vl_cleanup_all(dry_run, report, &t, &err);
	} else {
		for (int i = optind; i < argc; i++) {
			unsigned failed_before = t.failed;
			vl_error one = {0};
			if (vl_cleanup_guest(argv[i], dry_run, report, &t, &one) < 0) {
				/* What failed was reported line by line already. */
				if (t.failed == failed_before)
					vl_cli_report(&one);
				if (rc == 0)
					err = one;
				rc = -1;
			}
		}
	}
	if (t.found == 0 && rc == 0)
		printf("nothing to clean up\n");
	if (fflush(stdout) != 0)
		return 1;
	return rc < 0 ? vl_error_exit_code(&err) : 0;
}
