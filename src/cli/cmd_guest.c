/* `virtlab guest`: an LXC-like lifecycle on any platform. Each guest has a
 * record under the state root (platforms/state.h); every command that
 * changes a guest holds its lock, and saves the record after the platform's
 * operation, so that the next command (another process) finds the guest. */
#include "cli/commands.h"
#include "cli/guest_access.h"
#include "cli/options.h"
#include "core/cleanup.h"
#include "core/units.h"
#include "platforms/cleanup.h"
#include "platforms/state.h"
#include "runtime/topology.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELLO_TIMEOUT_S 10.0

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: virtlab guest create NAME [--platform P] [--image busybox|debian]\n"
	        "                    [--cpus N | --cpuset LIST] [--memory SIZE] [--cpu-max PCT]\n"
	        "                    [--cpu-weight W] [--pids N] [--workdir DIR]\n"
	        "                    [--net ID[:MODE]]\n"
	        "       virtlab guest start|stop|reboot|destroy NAME\n"
	        "       virtlab guest info NAME [--json]\n"
	        "       virtlab guest list [--json]\n"
	        "       virtlab guest clone SRC DST [--full]\n"
	        "       virtlab guest exec NAME [--timeout S] -- CMD [ARG]...\n\n"
	        "Manages long-lived guests; each command works on the guest's record under\n"
	        "$VIRTLAB_STATE (default /run/virtlab) and holds its lock.\n\n"
	        "create options:\n"
	        "  -P, --platform P    where the guest runs (default container)\n"
	        "  -i, --image I       golden image: busybox (default) or debian\n"
	        "  -c, --cpus N        number of CPUs\n"
	        "  -s, --cpuset LIST   CPUs to run on, such as 0-1 (instead of --cpus)\n"
	        "  -m, --memory SIZE   memory limit, such as 512M\n"
	        "  -x, --cpu-max PCT   CPU time limit in percent of one CPU (applied at start)\n"
	        "  -w, --cpu-weight W  CPU weight 1..10000, 100 = default (applied at start)\n"
	        "  -p, --pids N        process limit\n"
	        "  -d, --workdir DIR   where disk workloads put files, as the guest sees it\n"
	        "  -n, --net ID[:MODE] attach at start to network topology ID (virtlab net up\n"
	        "                      --id ID); MODE nat or bridged must be its mode\n"
	        "clone: --full copies the root filesystem instead of layering an overlay.\n"
	        "exec: prints CMD's output and exits with its status (128+N after signal N,\n"
	        "      127 when CMD cannot run); --timeout S kills it after S (default: none).\n"
	        "info, list: --json prints the records as JSON.\n");
}

/* ---- create, clone: a new record ---- */

/* --net ID[:MODE]: platforms/guest_net.h attaches the guest at start. */
static int parse_net(const char *text, struct vl_guest_spec *spec, vl_error *err)
{
	size_t len = strcspn(text, ":");
	enum vl_topology_mode mode;

	if (len == 0 || len > VL_TOPOLOGY_ID_MAX ||
	    strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789") != len)
		return vl_error_input(err,
		                      "--net '%s': give a topology id of 1 to %d of a-z and 0-9",
		                      text, VL_TOPOLOGY_ID_MAX);
	if (text[len] && vl_topology_mode_parse(text + len + 1, &mode, err) < 0)
		return vl_error_wrap(err, "--net");
	snprintf(spec->net_topology, sizeof(spec->net_topology), "%.*s", (int)len, text);
	snprintf(spec->net_mode, sizeof(spec->net_mode), "%s", text[len] ? text + len + 1 : "");
	return 0;
}

static int parse_create(int argc, char **argv, struct vl_guest_spec *spec, const char **platform)
{
	static const struct option options[] = {
	        {"platform", required_argument, NULL, 'P'},
	        {"image", required_argument, NULL, 'i'},
	        {"cpus", required_argument, NULL, 'c'},
	        {"cpuset", required_argument, NULL, 's'},
	        {"memory", required_argument, NULL, 'm'},
	        {"cpu-max", required_argument, NULL, 'x'},
	        {"cpu-weight", required_argument, NULL, 'w'},
	        {"pids", required_argument, NULL, 'p'},
	        {"workdir", required_argument, NULL, 'd'},
	        {"net", required_argument, NULL, 'n'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	vl_error err = {0};
	int opt, rc = 0;

	opterr = 0;
	while (rc == 0 &&
	       (opt = getopt_long(argc, argv, ":P:i:c:s:m:x:w:p:d:n:h", options, NULL)) != -1) {
		switch (opt) {
		case 'P':
			*platform = optarg;
			break;
		case 'i':
			if (strcmp(optarg, "busybox") != 0 && strcmp(optarg, "debian") != 0)
				return vl_cli_usage_error("guest",
				                          "--image must be busybox or debian "
				                          "(got '%s')",
				                          optarg);
			snprintf(spec->image, sizeof(spec->image), "%s", optarg);
			break;
		case 'c':
			rc = vl_cli_parse_uint("--cpus", optarg, 1, 4096, &spec->cpus, &err);
			break;
		case 's':
			rc = vl_cli_parse_list("--cpuset", optarg, spec->cpuset,
			                       sizeof(spec->cpuset), &err);
			break;
		case 'm':
			rc = vl_cli_parse_size("--memory", optarg, &spec->memory_bytes, &err);
			break;
		case 'x':
			rc = vl_cli_parse_double("--cpu-max", optarg, 1, 409600, &spec->cpu_max_pct,
			                         &err);
			break;
		case 'w':
			rc = vl_cli_parse_uint("--cpu-weight", optarg, 1, 10000, &spec->cpu_weight,
			                       &err);
			break;
		case 'p':
			rc = vl_cli_parse_uint("--pids", optarg, 1, 4194304, &spec->pids_max, &err);
			break;
		case 'd':
			snprintf(spec->workdir, sizeof(spec->workdir), "%s", optarg);
			break;
		case 'n':
			rc = parse_net(optarg, spec, &err);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return vl_cli_usage_error("guest", "%s needs a value", argv[optind - 1]);
		default:
			return vl_cli_usage_error("guest", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (rc < 0)
		return vl_cli_report(&err);
	if (spec->cpus && spec->cpuset[0])
		return vl_cli_usage_error("guest", "--cpus and --cpuset exclude each other");
	if (optind != argc - 1)
		return vl_cli_usage_error("guest", "create takes one NAME");
	snprintf(spec->name, sizeof(spec->name), "%s", argv[optind]);
	if (strlen(argv[optind]) >= sizeof(spec->name))
		return vl_cli_usage_error("guest", "NAME must be shorter than %zu characters",
		                          sizeof(spec->name));
	return -1;
}

/* A new guest's record is saved before the platform makes anything, so that
 * what a failed or killed creation made is found by `virtlab cleanup`. On
 * failure here everything is undone. */
static int make_guest(struct vl_guest *src, struct vl_guest *g, bool full, vl_error *err)
{
	const struct vl_platform *p = g->platform;
	cleanup_json json_t *doc = NULL;
	vl_error undo = {0};
	int lock_fd, rc;

	if (vl_state_lock(g->spec.name, false, &lock_fd, err) < 0)
		return -1;
	if (vl_state_read(g->spec.name, &doc, err) == 0) {
		vl_state_unlock(lock_fd);
		return vl_error_input(err, "guest %s exists already (virtlab guest destroy %s)",
		                      g->spec.name, g->spec.name);
	}
	vl_error_clear(err);
	rc = vl_state_save(g, "provisioning", err);
	if (rc == 0)
		rc = src ? p->clone(src, g, full, err) : p->provision ? p->provision(g, err) : 0;
	if (rc == 0)
		rc = vl_state_save(g, "provisioned", err);
	if (rc < 0) {
		vl_guest_destroy(g, &undo);
		vl_cleanup_record(g->spec.name, false, NULL, NULL, &undo);
	}
	vl_state_unlock(lock_fd);
	return rc;
}

static int cmd_create(int argc, char **argv)
{
	struct vl_guest_spec spec = {0};
	const char *platform_name = "container";
	const struct vl_platform *p;
	struct vl_guest *g = NULL;
	vl_error err = {0};
	int rc = parse_create(argc, argv, &spec, &platform_name);

	if (rc >= 0)
		return rc;
	if (vl_cli_find_platform(platform_name, &p, &err) < 0)
		return vl_cli_report(&err);
	if ((spec.cpu_max_pct || spec.cpu_weight) && !p->apply_entitlement) {
		vl_error_set(&err, "platform %s cannot apply --cpu-max or --cpu-weight", p->name);
		return vl_cli_report(&err);
	}
	if (vl_guest_new(p, &spec, &g, &err) < 0)
		return vl_cli_report(&err);
	rc = make_guest(NULL, g, false, &err);
	vl_guest_free(g);
	if (rc < 0)
		return vl_cli_report(&err);
	return 0;
}

static int cmd_clone(int argc, char **argv)
{
	static const struct option options[] = {
	        {"full", no_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct vl_cli_guest src;
	struct vl_guest_spec spec;
	struct vl_guest *dst = NULL;
	vl_error err = {0};
	bool full = false;
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "fh", options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt != 'f')
			return vl_cli_usage_error("guest", "unknown option '%s'", argv[optind - 1]);
		full = true;
	}
	if (optind != argc - 2)
		return vl_cli_usage_error("guest", "clone takes SRC and DST");
	if (strcmp(argv[optind], argv[optind + 1]) == 0)
		return vl_cli_usage_error("guest", "clone: DST must differ from SRC");
	if (vl_cli_guest_open(argv[optind], &src, &err) < 0)
		return vl_cli_report(&err);
	rc = vl_cli_guest_need_op(&src, src.g->platform->clone != NULL, "clone", &err);
	spec = src.g->spec;
	snprintf(spec.name, sizeof(spec.name), "%s", argv[optind + 1]);
	if (rc == 0 && strlen(argv[optind + 1]) >= sizeof(spec.name))
		rc = vl_error_input(&err, "DST must be shorter than %zu characters",
		                    sizeof(spec.name));
	if (rc == 0)
		rc = vl_guest_new(src.g->platform, &spec, &dst, &err);
	if (rc == 0)
		rc = make_guest(src.g, dst, full, &err);
	/* The source's record may have changed too (a platform that had to
	 * unmount it to copy it). */
	if (rc == 0)
		rc = vl_state_save(src.g, src.status, &err);
	vl_guest_free(dst);
	vl_cli_guest_close(&src);
	return rc < 0 ? vl_cli_report(&err) : 0;
}

/* ---- start, stop, reboot, destroy: the platform's op, then the record ---- */

/* A later command reaches the guest through its record alone: check that
 * now, so that a platform whose guests end with this process (bare, null)
 * is refused rather than recorded as running. */
static int check_reachable(const char *name, vl_error *err)
{
	struct vl_guest *fresh = NULL;
	int rc = vl_state_load(name, &fresh, err);

	if (rc == 0)
		rc = vl_guest_agent_call(fresh, "hello", HELLO_TIMEOUT_S, NULL, err);
	vl_guest_free(fresh);
	return rc;
}

static int start_guest(struct vl_cli_guest *cg, vl_error *err)
{
	const struct vl_platform *p = cg->g->platform;
	vl_error ignored = {0};

	if (strcmp(cg->status, "running") == 0)
		return vl_error_set(err, "guest %s is running already", cg->g->spec.name);
	if (vl_cli_guest_need_op(cg, p->start != NULL, "start", err) < 0)
		return -1;
	if (!p->persistent)
		return vl_error_set(err,
		                    "platform %s cannot keep a guest running after this command "
		                    "(virtlab run --platform %s runs one there)",
		                    p->name, p->name);
	if (p->start(cg->g, err) < 0 || vl_state_save(cg->g, "running", err) < 0)
		return -1;
	if (check_reachable(cg->g->spec.name, err) < 0) {
		if (p->stop)
			p->stop(cg->g, &ignored);
		vl_state_save(cg->g, cg->status, &ignored);
		return -1;
	}
	return vl_cli_guest_apply_cpu_policy(cg->g, err);
}

static int stop_or_reboot(struct vl_cli_guest *cg, bool reboot, vl_error *err)
{
	const struct vl_platform *p = cg->g->platform;
	int (*op)(struct vl_guest *, vl_error *) = reboot ? p->reboot : p->stop;

	if (vl_cli_guest_need_running(cg, err) < 0 ||
	    vl_cli_guest_need_op(cg, op != NULL, reboot ? "reboot" : "stop", err) < 0)
		return -1;
	if (op(cg->g, err) < 0) {
		/* Whatever the platform recorded before failing must not be lost. */
		vl_error ignored = {0};
		vl_state_save(cg->g, cg->status, &ignored);
		return -1;
	}
	if (vl_state_save(cg->g, reboot ? "running" : "stopped", err) < 0)
		return -1;
	return reboot ? vl_cli_guest_apply_cpu_policy(cg->g, err) : 0;
}

/* The platform first, then whatever it left, then the record, then what
 * the platform's guests shared on the host. */
static int destroy_guest(struct vl_cli_guest *cg, vl_error *err)
{
	const struct vl_platform *p = cg->g->platform;

	if (p->destroy && p->destroy(cg->g, err) < 0) {
		vl_error ignored = {0};
		vl_state_save(cg->g, cg->status, &ignored);
		return -1;
	}
	if (vl_state_save(cg->g, cg->status, err) < 0 ||
	    vl_cleanup_record(cg->g->spec.name, false, NULL, NULL, err) < 0)
		return -1;
	return vl_platform_release_host(p, err);
}

static int cmd_lifecycle(const char *op, int argc, char **argv)
{
	struct vl_cli_guest cg;
	vl_error err = {0};
	int rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return vl_cli_usage_error("guest", "%s takes one NAME", op);
	if (vl_cli_guest_open(argv[1], &cg, &err) < 0)
		return vl_cli_report(&err);
	if (strcmp(op, "start") == 0)
		rc = start_guest(&cg, &err);
	else if (strcmp(op, "destroy") == 0)
		rc = destroy_guest(&cg, &err);
	else
		rc = stop_or_reboot(&cg, strcmp(op, "reboot") == 0, &err);
	if (rc < 0)
		vl_error_wrap(&err, "%s %s", op, argv[1]);
	vl_cli_guest_close(&cg);
	return rc < 0 ? vl_cli_report(&err) : 0;
}

/* ---- info, list: the records as they are, no lock needed (atomic writes) ---- */

static void print_info(json_t *doc)
{
	json_t *spec = json_object_get(doc, "spec");
	json_t *res = json_object_get(doc, "resources");
	cleanup_free char *record = json_dumps(json_object_get(doc, "record"), JSON_COMPACT);
	const char *image = json_string_value(json_object_get(spec, "image"));
	const char *cpuset = json_string_value(json_object_get(spec, "cpuset"));
	json_int_t memory = json_integer_value(json_object_get(spec, "memory_bytes"));
	char size[32];
	size_t i;
	json_t *r;

	printf("name:      %s\n", json_string_value(json_object_get(doc, "name")));
	printf("platform:  %s\n", json_string_value(json_object_get(doc, "platform")));
	printf("status:    %s\n", json_string_value(json_object_get(doc, "status")));
	printf("image:     %s\n", image && image[0] ? image : "default");
	printf("cpus:      ");
	if (cpuset && cpuset[0])
		printf("cpuset %s\n", cpuset);
	else if (json_integer_value(json_object_get(spec, "cpus")))
		printf("%lld\n", json_integer_value(json_object_get(spec, "cpus")));
	else
		printf("default\n");
	printf("memory:    %s\n",
	       memory ? vl_format_size((uint64_t)memory, size, sizeof(size)) : "default");
	if (json_integer_value(json_object_get(spec, "pids_max")))
		printf("pids:      %lld\n", json_integer_value(json_object_get(spec, "pids_max")));
	if (json_integer_value(json_object_get(spec, "cpu_weight")))
		printf("cpu-weight: %lld\n",
		       json_integer_value(json_object_get(spec, "cpu_weight")));
	if (json_number_value(json_object_get(spec, "cpu_max_pct")) > 0)
		printf("cpu-max:   %g%%\n",
		       json_number_value(json_object_get(spec, "cpu_max_pct")));
	printf("files:     %s\n", json_string_value(json_object_get(doc, "files")));
	printf("record:    %s\n", record ? record : "{}");
	printf("resources:%s\n", json_array_size(res) ? "" : " none");
	json_array_foreach(res, i, r)
	        printf("  %-9s %s\n", json_string_value(json_object_get(r, "kind")),
	               json_string_value(json_object_get(r, "id")));
}

static int parse_json_flag(const char *cmd, int argc, char **argv, bool *json)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "jh", options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt != 'j')
			return vl_cli_usage_error("guest", "%s: unknown option '%s'", cmd,
			                          argv[optind - 1]);
		*json = true;
	}
	return -1;
}

static int cmd_info(int argc, char **argv)
{
	cleanup_json json_t *doc = NULL;
	vl_error err = {0};
	bool json = false;
	int rc = parse_json_flag("info", argc, argv, &json);

	if (rc >= 0)
		return rc;
	if (optind != argc - 1)
		return vl_cli_usage_error("guest", "info takes one NAME");
	if (vl_state_read(argv[optind], &doc, &err) < 0)
		return vl_cli_report(&err);
	return vl_cli_print(doc, json, print_info);
}

static void print_list(json_t *all)
{
	size_t i;
	json_t *doc;

	if (json_array_size(all))
		printf("%-20s %-10s %-12s %s\n", "NAME", "PLATFORM", "STATUS", "IMAGE");
	json_array_foreach(all, i, doc)
	{
		const char *image =
		        json_string_value(json_object_get(json_object_get(doc, "spec"), "image"));
		printf("%-20s %-10s %-12s %s\n", json_string_value(json_object_get(doc, "name")),
		       json_string_value(json_object_get(doc, "platform")),
		       json_string_value(json_object_get(doc, "status")),
		       image && image[0] ? image : "default");
	}
}

static int cmd_list(int argc, char **argv)
{
	cleanup_json json_t *all = json_array();
	char **names = NULL;
	size_t n = 0;
	vl_error err = {0};
	bool json = false;
	int rc = parse_json_flag("list", argc, argv, &json);

	if (rc >= 0)
		return rc;
	if (optind != argc)
		return vl_cli_usage_error("guest", "list takes no NAME");
	if (vl_state_list(&names, &n, &err) < 0)
		return vl_cli_report(&err);
	for (size_t i = 0; i < n; i++) {
		json_t *doc;
		/* A guest destroyed meanwhile is simply not listed. */
		if (vl_state_read(names[i], &doc, &err) == 0)
			json_array_append_new(all, doc);
	}
	vl_state_names_free(names, n);
	return vl_cli_print(all, json, print_list);
}

int vl_cmd_guest(int argc, char **argv)
{
	static const char *const lifecycle[] = {"start", "stop", "reboot", "destroy"};
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub)
		return vl_cli_usage_error("guest", "which operation? (create, start, stop, reboot, "
		                                   "destroy, info, list, clone or exec)");
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	argc--;
	argv++;
	optind = 0;
	for (size_t i = 0; i < sizeof(lifecycle) / sizeof(lifecycle[0]); i++)
		if (strcmp(sub, lifecycle[i]) == 0)
			return cmd_lifecycle(sub, argc, argv);
	if (strcmp(sub, "create") == 0)
		return cmd_create(argc, argv);
	if (strcmp(sub, "clone") == 0)
		return cmd_clone(argc, argv);
	if (strcmp(sub, "info") == 0)
		return cmd_info(argc, argv);
	if (strcmp(sub, "list") == 0)
		return cmd_list(argc, argv);
	if (strcmp(sub, "exec") == 0)
		return vl_cli_guest_exec(argc, argv);
	return vl_cli_usage_error("guest", "unknown operation '%s'", sub);
}
