/* `virtlab info [--json]`: the host's facts, as a table or as JSON. The table
 * is drawn from the same JSON, so the two never disagree. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/cleanup.h"
#include "core/units.h"
#include "study/host_facts.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "Usage: virtlab info [--json]\n\n"
	             "Shows the host's facts: CPU, NUMA nodes, memory, kernel, cgroups, KVM\n"
	             "and the reference tools installed.\n\n"
	             "Options:\n"
	             "  --json      print the facts as one JSON object (docs/results-schema.md)\n"
	             "  -h, --help  show this help\n");
}

static const char *text_or(json_t *v, const char *fallback)
{
	return json_is_string(v) ? json_string_value(v) : fallback;
}

static const char *size_text(json_t *v, char *buf, unsigned size)
{
	if (!json_is_integer(v))
		return "unknown";
	return vl_format_size((uint64_t)json_integer_value(v), buf, size);
}

static const char *list_text(json_t *list, char *buf, size_t size)
{
	size_t i, len = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(list, i, v) len += (size_t)snprintf(
	        buf + len, len < size ? size - len : 0, "%s%s", i ? "," : "", json_string_value(v));
	return buf[0] ? buf : "none";
}

static void print_cpu(json_t *cpu)
{
	json_t *nodes = json_object_get(cpu, "numa_nodes");
	json_t *node;
	size_t i;
	char mem[32];

	printf("%-10s %s: %lld logical CPUs, %lld cores, %lld socket(s)\n", "CPU",
	       text_or(json_object_get(cpu, "model"), "unknown model"),
	       json_integer_value(json_object_get(cpu, "logical_cpus")),
	       json_integer_value(json_object_get(cpu, "cores")),
	       json_integer_value(json_object_get(cpu, "sockets")));
	printf("%-10s virtualization flag %s, %s, frequency governor %s\n", "",
	       text_or(json_object_get(cpu, "virtualization_flag"), "none (no svm/vmx)"),
	       json_is_true(json_object_get(cpu, "hypervisor")) ? "running under a hypervisor"
	                                                        : "bare metal",
	       text_or(json_object_get(cpu, "frequency_governor"), "none (no cpufreq)"));
	json_array_foreach(nodes, i, node)
	        printf("%-10s node %lld: CPUs %s, %s\n", i ? "" : "NUMA",
	               json_integer_value(json_object_get(node, "node")),
	               text_or(json_object_get(node, "cpus"), "none"),
	               size_text(json_object_get(node, "memory_bytes"), mem, sizeof(mem)));
}

static void print_kvm(json_t *kvm)
{
	if (!json_is_true(json_object_get(kvm, "present")))
		printf("%-10s no /dev/kvm\n", "KVM");
	else if (json_is_true(json_object_get(kvm, "usable")))
		printf("%-10s usable: /dev/kvm API %lld, a test guest ran\n", "KVM",
		       json_integer_value(json_object_get(kvm, "api_version")));
	else
		printf("%-10s not usable: %s\n", "KVM",
		       text_or(json_object_get(kvm, "reason"), "unknown reason"));
}

static void print_tools(json_t *tools)
{
	const char *name;
	json_t *t;
	bool first = true;

	json_object_foreach(tools, name, t)
	{
		if (json_is_true(json_object_get(t, "installed")))
			printf("%-10s %-19s %-12s %s\n", first ? "Tools" : "", name,
			       text_or(json_object_get(t, "version"), "?"),
			       json_string_value(json_object_get(t, "path")));
		else
			printf("%-10s %-19s not installed\n", first ? "Tools" : "", name);
		first = false;
	}
}

static void print_table(json_t *facts)
{
	json_t *mem = json_object_get(facts, "memory");
	json_t *cg = json_object_get(facts, "cgroup");
	json_t *load = json_object_get(facts, "load_average");
	char total[32], avail[32], v1[512], v2[512];

	printf("%-10s %s\n", "Host", text_or(json_object_get(facts, "hostname"), "?"));
	printf("%-10s Linux %s\n", "Kernel",
	       text_or(json_object_get(json_object_get(facts, "kernel"), "release"), "?"));
	print_cpu(json_object_get(facts, "cpu"));
	printf("%-10s %s total, %s available\n", "Memory",
	       size_text(json_object_get(mem, "total_bytes"), total, sizeof(total)),
	       size_text(json_object_get(mem, "available_bytes"), avail, sizeof(avail)));
	printf("%-10s %s; v1 controllers: %s; v2 controllers: %s\n", "cgroup",
	       text_or(json_object_get(cg, "version"), "?"),
	       list_text(json_object_get(cg, "v1_controllers"), v1, sizeof(v1)),
	       list_text(json_object_get(cg, "v2_controllers"), v2, sizeof(v2)));
	print_kvm(json_object_get(facts, "kvm"));
	if (json_array_size(load) == 3)
		printf("%-10s %.2f %.2f %.2f\n", "Load", json_real_value(json_array_get(load, 0)),
		       json_real_value(json_array_get(load, 1)),
		       json_real_value(json_array_get(load, 2)));
	print_tools(json_object_get(facts, "tools"));
}

int vl_cmd_info(int argc, char **argv)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	cleanup_json json_t *facts = NULL;
	vl_error err = {0};
	bool json = false;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return vl_cli_usage_error("info", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return vl_cli_usage_error("info", "unexpected argument '%s'", argv[optind]);
	if (vl_host_facts(&facts, &err) < 0)
		return vl_cli_report(&err);
	if (json) {
		json_dumpf(facts, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_table(facts);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
