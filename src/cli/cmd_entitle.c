/* `virtlab entitle NAME ...`: applies a chapter 6 policy to a running guest
 * through its platform's apply_entitlement. The CPU, memory and pids parts
 * are also kept in the guest's spec, so that a later start applies them. */
#include "cli/commands.h"
#include "cli/guest_access.h"
#include "cli/options.h"
#include "platforms/state.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static void usage(void)
{
	printf("Usage: virtlab entitle NAME [--cpu-weight W] [--cpu-max PCT] [--cpuset LIST]\n"
	       "                       [--mems LIST] [--memory SIZE] [--pids N]\n"
	       "                       [--io-read-bps DEV=RATE] [--io-write-bps DEV=RATE]\n\n"
	       "Applies a resource policy to the running guest NAME. Options left out stay\n"
	       "as they are.\n\n"
	       "  -w, --cpu-weight W        CPU weight 1..10000 (100 = default)\n"
	       "  -x, --cpu-max PCT         CPU time in percent of one CPU (250 = 2.5 CPUs)\n"
	       "  -s, --cpuset LIST         CPUs to run on, such as 0-1\n"
	       "  -n, --mems LIST           NUMA memory nodes, such as 0\n"
	       "  -m, --memory SIZE         memory limit, such as 512M\n"
	       "  -p, --pids N              process limit\n"
	       "  -r, --io-read-bps DEV=RATE   read limit in bytes/s on DEV (MAJ:MIN or a block\n"
	       "                               device such as /dev/sda), RATE such as 10M\n"
	       "  -W, --io-write-bps DEV=RATE  the same for writes\n"
	       "  -h, --help                show this help\n");
}

/* DEV=RATE; DEV is "MAJ:MIN" or a block device; both throttles name one device. */
static int parse_io(const char *option, const char *text, struct vl_entitlement *e, uint64_t *rate,
                    vl_error *err)
{
	char dev[sizeof(e->io_device)], path[256];
	const char *eq = strrchr(text, '=');
	unsigned maj, min;
	int used = 0;
	struct stat st;

	if (!eq || eq == text || (size_t)(eq - text) >= sizeof(path))
		return vl_error_input(err, "%s must be DEV=RATE such as 8:0=10M (got '%s')", option,
		                      text);
	snprintf(path, sizeof(path), "%.*s", (int)(eq - text), text);
	if (sscanf(path, "%u:%u%n", &maj, &min, &used) == 2 && !path[used]) {
		snprintf(dev, sizeof(dev), "%u:%u", maj, min);
	} else {
		if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
			return vl_error_input(err, "%s: '%s' is neither MAJ:MIN nor a block device",
			                      option, path);
		snprintf(dev, sizeof(dev), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	}
	if (e->io_device[0] && strcmp(e->io_device, dev) != 0)
		return vl_error_input(err,
		                      "--io-read-bps and --io-write-bps must name one device "
		                      "(%s and %s)",
		                      e->io_device, dev);
	snprintf(e->io_device, sizeof(e->io_device), "%s", dev);
	return vl_cli_parse_size(option, eq + 1, rate, err);
}

/* Returns -1 to go on, otherwise the exit code. */
static int parse_options(int argc, char **argv, struct vl_entitlement *e)
{
	static const struct option options[] = {
	        {"cpu-weight", required_argument, NULL, 'w'},
	        {"cpu-max", required_argument, NULL, 'x'},
	        {"cpuset", required_argument, NULL, 's'},
	        {"mems", required_argument, NULL, 'n'},
	        {"memory", required_argument, NULL, 'm'},
	        {"pids", required_argument, NULL, 'p'},
	        {"io-read-bps", required_argument, NULL, 'r'},
	        {"io-write-bps", required_argument, NULL, 'W'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	vl_error err = {0};
	int opt, rc = 0;

	opterr = 0;
	while (rc == 0 &&
	       (opt = getopt_long(argc, argv, ":w:x:s:n:m:p:r:W:h", options, NULL)) != -1) {
		switch (opt) {
		case 'w':
			rc = vl_cli_parse_uint("--cpu-weight", optarg, 1, 10000, &e->cpu_weight,
			                       &err);
			break;
		case 'x':
			rc = vl_cli_parse_double("--cpu-max", optarg, 1, 409600, &e->cpu_max_pct,
			                         &err);
			break;
		case 's':
			rc = vl_cli_parse_list("--cpuset", optarg, e->cpuset, sizeof(e->cpuset),
			                       &err);
			break;
		case 'n':
			rc = vl_cli_parse_list("--mems", optarg, e->mems, sizeof(e->mems), &err);
			break;
		case 'm':
			rc = vl_cli_parse_size("--memory", optarg, &e->memory_bytes, &err);
			break;
		case 'p':
			rc = vl_cli_parse_uint("--pids", optarg, 1, 4194304, &e->pids_max, &err);
			break;
		case 'r':
			rc = parse_io("--io-read-bps", optarg, e, &e->io_read_bps, &err);
			break;
		case 'W':
			rc = parse_io("--io-write-bps", optarg, e, &e->io_write_bps, &err);
			break;
		case 'h':
			usage();
			return 0;
		case ':':
			return vl_cli_usage_error("entitle", "%s needs a value", argv[optind - 1]);
		default:
			return vl_cli_usage_error("entitle", "unknown option '%s'",
			                          argv[optind - 1]);
		}
	}
	if (rc < 0)
		return vl_cli_report(&err);
	if (optind != argc - 1)
		return vl_cli_usage_error("entitle", "entitle takes one NAME");
	if (!e->cpu_weight && !e->cpu_max_pct && !e->cpuset[0] && !e->mems[0] && !e->memory_bytes &&
	    !e->pids_max && !e->io_device[0])
		return vl_cli_usage_error("entitle", "nothing to apply: give at least one limit");
	return -1;
}

/* What the spec holds, so that the next start applies it too. */
static void remember(struct vl_guest_spec *spec, const struct vl_entitlement *e)
{
	if (e->cpu_weight)
		spec->cpu_weight = e->cpu_weight;
	if (e->cpu_max_pct)
		spec->cpu_max_pct = e->cpu_max_pct;
	if (e->cpuset[0])
		snprintf(spec->cpuset, sizeof(spec->cpuset), "%s", e->cpuset);
	if (e->memory_bytes)
		spec->memory_bytes = e->memory_bytes;
	if (e->pids_max)
		spec->pids_max = e->pids_max;
}

int vl_cmd_entitle(int argc, char **argv)
{
	struct vl_entitlement e = {0};
	struct vl_cli_guest cg;
	vl_error err = {0};
	int rc = parse_options(argc, argv, &e);

	if (rc >= 0)
		return rc;
	if (vl_cli_guest_open(argv[optind], &cg, &err) < 0)
		return vl_cli_report(&err);
	rc = vl_cli_guest_need_running(&cg, &err);
	if (rc == 0)
		rc = vl_cli_guest_need_op(&cg, cg.g->platform->apply_entitlement != NULL,
		                          "apply entitlements", &err);
	if (rc == 0)
		rc = cg.g->platform->apply_entitlement(cg.g, &e, &err);
	if (rc == 0) {
		remember(&cg.g->spec, &e);
		rc = vl_state_save(cg.g, cg.status, &err);
	}
	if (rc < 0)
		vl_error_wrap(&err, "entitling guest %s", argv[optind]);
	vl_cli_guest_close(&cg);
	return rc < 0 ? vl_cli_report(&err) : 0;
}
