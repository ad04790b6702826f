/* `virtlab lab`: lab hosts by hand (hosts/lab.h). */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/cleanup.h"
#include "core/interrupt.h"
#include "hosts/lab.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	size_t n;
	const struct vl_lab_kind *const *kinds = vl_lab_kinds(&n);

	fprintf(out, "Usage: virtlab lab create NAME --kind KIND\n"
	             "       virtlab lab start|stop|destroy NAME\n"
	             "       virtlab lab list [--json]\n\n"
	             "Lab hosts are QEMU VMs that virtlab boots to host a platform this machine\n"
	             "lacks; the study reaches them with --host NAME=lab:KIND. create builds the\n"
	             "kind's lab image (cached under $VIRTLAB_DATA/images) and a work disk;\n"
	             "start boots it (KVM where /dev/kvm works, TCG otherwise: tens of seconds)\n"
	             "and waits for its agent; stop powers it off; destroy removes it with its\n"
	             "image. A lab is the qemu guest lab-NAME: `virtlab guest exec lab-NAME --\n"
	             "CMD` runs a command in it, `virtlab cleanup` removes it after a crash.\n\n"
	             "Kinds:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-6s %s (hosts: %s)\n", kinds[i]->name, kinds[i]->summary,
		        kinds[i]->platforms);
}

static int cmd_create(int argc, char **argv)
{
	static const struct option options[] = {
	        {"kind", required_argument, NULL, 'k'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const struct vl_lab_kind *kind = NULL;
	const char *kind_name = NULL;
	char names[128];
	vl_error err = {0};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:h", options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == ':')
			return vl_cli_usage_error("lab", "%s needs a value", argv[optind - 1]);
		if (opt != 'k')
			return vl_cli_usage_error("lab", "unknown option '%s'", argv[optind - 1]);
		kind_name = optarg;
	}
	if (optind != argc - 1)
		return vl_cli_usage_error("lab", "create takes one NAME");
	vl_lab_kind_names(names, sizeof(names));
	if (!kind_name)
		return vl_cli_usage_error("lab", "create needs --kind (one of %s)", names);
	kind = vl_lab_kind_find(kind_name);
	if (!kind)
		return vl_cli_usage_error("lab", "unknown kind '%s' (one of %s)", kind_name, names);
	if (vl_interrupt_install(&err) < 0 || vl_lab_create(argv[optind], kind, &err) < 0)
		return vl_cli_report(&err);
	printf("lab %s created (kind %s)\n", argv[optind], kind->name);
	return 0;
}

static void print_list(json_t *labs)
{
	size_t i;
	json_t *l;

	if (json_array_size(labs))
		printf("%-16s %-6s %-12s %-6s %s\n", "NAME", "KIND", "STATUS", "ACCEL", "IMAGE");
	json_array_foreach(labs, i, l)
	{
		const char *accel = json_string_value(json_object_get(l, "accel"));
		const char *image = json_string_value(json_object_get(l, "image"));
		printf("%-16s %-6s %-12s %-6s %s\n", json_string_value(json_object_get(l, "name")),
		       json_string_value(json_object_get(l, "kind")),
		       json_string_value(json_object_get(l, "status")), accel ? accel : "-",
		       image ? image : "-");
	}
}

static int cmd_list(int argc, char **argv)
{
	cleanup_json json_t *labs = NULL;
	vl_error err = {0};
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			return vl_cli_usage_error("lab", "list takes only --json (got '%s')",
			                          argv[i]);
		json = true;
	}
	if (vl_lab_list(&labs, &err) < 0)
		return vl_cli_report(&err);
	return vl_cli_print(labs, json, print_list);
}

static void print_started(const char *name)
{
	cleanup_json json_t *lab = NULL;
	vl_error ignored = {0};

	if (vl_lab_find(name, &lab, &ignored) == 0 && lab)
		printf("lab %s is running: its agent answered %.1f s after qemu started (%s)\n",
		       name, json_number_value(json_object_get(lab, "start_seconds")),
		       json_string_value(json_object_get(lab, "accel")));
}

static int cmd_lifecycle(const char *op, int argc, char **argv)
{
	int (*fn)(const char *, vl_error *) = strcmp(op, "start") == 0  ? vl_lab_start
	                                      : strcmp(op, "stop") == 0 ? vl_lab_stop
	                                                                : vl_lab_destroy;
	vl_error err = {0};

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return vl_cli_usage_error("lab", "%s takes one NAME", op);
	/* A ^C during a boot reaches qemu too, and start's cleanup path runs. */
	if (vl_interrupt_install(&err) < 0 || fn(argv[1], &err) < 0)
		return vl_cli_report(&err);
	if (fn == vl_lab_start)
		print_started(argv[1]);
	return 0;
}

int vl_cmd_lab(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub)
		return vl_cli_usage_error(
		        "lab", "which operation? (create, start, stop, destroy or list)");
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	argc--;
	argv++;
	optind = 0;
	if (strcmp(sub, "create") == 0)
		return cmd_create(argc, argv);
	if (strcmp(sub, "list") == 0)
		return cmd_list(argc, argv);
	if (strcmp(sub, "start") == 0 || strcmp(sub, "stop") == 0 || strcmp(sub, "destroy") == 0)
		return cmd_lifecycle(sub, argc, argv);
	return vl_cli_usage_error("lab", "unknown operation '%s'", sub);
}
