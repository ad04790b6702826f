/* `virtlab guest exec NAME -- CMD [ARG]...`: one command through the guest's
 * agent (its exec op), with CMD's output and exit status passed through. */
#include "agent/client.h"
#include "cli/guest_access.h"
#include "cli/options.h"
#include "core/cleanup.h"
#include "core/units.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define EXEC_MARGIN_S 30.0 /* the agent's own timeout fires first */

static int exec_call(struct vl_cli_guest *cg, char **cmd, int n, double timeout_s, json_t **out,
                     vl_error *err)
{
	const struct vl_platform *p = cg->g->platform;
	cleanup_json json_t *args = json_pack("{s:[], s:f}", "argv", "timeout", timeout_s);
	struct vl_agent_client *c = NULL;
	int fd, rc;

	for (int i = 0; i < n; i++)
		json_array_append_new(json_object_get(args, "argv"), json_string(cmd[i]));
	if (vl_cli_guest_need_running(cg, err) < 0 ||
	    vl_cli_guest_need_op(cg, p->open_channel != NULL, "exec", err) < 0)
		return -1;
	if (p->open_channel(cg->g, &fd, err) < 0 || vl_agent_client_new(fd, &c, err) < 0)
		return vl_error_wrap(err, "reaching the agent of guest %s", cg->g->spec.name);
	/* No timeout asked: the agent's limit of a day is the only one. */
	rc = vl_agent_call(c, "exec", args, (timeout_s > 0 ? timeout_s : 86400) + EXEC_MARGIN_S,
	                   out, err);
	vl_agent_client_free(c);
	return rc;
}

int vl_cli_guest_exec(int argc, char **argv)
{
	static const struct option options[] = {
	        {"timeout", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	cleanup_json json_t *res = NULL;
	struct vl_cli_guest cg;
	vl_error err = {0};
	double timeout_s = 0;
	const char *name, *out, *errs, *exec_error;
	int opt, rc;

	opterr = 0;
	/* Options may come before or after NAME; "--" ends them, so that CMD's own
	 * options stay CMD's. */
	while ((opt = getopt_long(argc, argv, ":t:h", options, NULL)) != -1) {
		if (opt == 'h') {
			printf("Usage: virtlab guest exec NAME [--timeout S] -- CMD [ARG]...\n\n"
			       "Runs CMD in the running guest NAME through its agent, prints its "
			       "output\n"
			       "and exits with its status (128+N after signal N, 127 when CMD "
			       "cannot\n"
			       "run).\n\n"
			       "  -t, --timeout S  kill CMD and its process group after S "
			       "(default: none)\n"
			       "  -h, --help       show this help\n");
			return 0;
		}
		if (opt != 't')
			return vl_cli_usage_error("guest",
			                          "exec: unknown option or missing value "
			                          "'%s'",
			                          argv[optind - 1]);
		if (vl_parse_duration(optarg, &timeout_s, &err) < 0 || timeout_s < 0 ||
		    timeout_s > 86400)
			return vl_cli_usage_error("guest",
			                          "--timeout must be a duration up to 1 day "
			                          "such as 30 or 5m (got '%s')",
			                          optarg);
	}
	if (optind >= argc)
		return vl_cli_usage_error("guest", "exec takes NAME -- CMD [ARG]...");
	name = argv[optind++];
	if (optind >= argc)
		return vl_cli_usage_error("guest", "exec: which command? (NAME -- CMD [ARG]...)");
	if (vl_cli_guest_open(name, &cg, &err) < 0)
		return vl_cli_report(&err);
	rc = exec_call(&cg, argv + optind, argc - optind, timeout_s, &res, &err);
	vl_cli_guest_close(&cg);
	if (rc < 0)
		return vl_cli_report(&err);
	out = json_string_value(json_object_get(res, "stdout"));
	errs = json_string_value(json_object_get(res, "stderr"));
	exec_error = json_string_value(json_object_get(res, "exec_error"));
	fwrite(out ? out : "", 1, json_string_length(json_object_get(res, "stdout")), stdout);
	fwrite(errs ? errs : "", 1, json_string_length(json_object_get(res, "stderr")), stderr);
	if (fflush(stdout) != 0)
		return 1;
	if (json_is_true(json_object_get(res, "stdout_truncated")) ||
	    json_is_true(json_object_get(res, "stderr_truncated")))
		fprintf(stderr, "virtlab guest exec: output truncated at the agent's limit\n");
	if (exec_error) {
		fprintf(stderr, "virtlab guest exec: %s: %s\n", argv[optind], exec_error);
		return 127;
	}
	if (json_is_true(json_object_get(res, "timed_out")))
		fprintf(stderr, "virtlab guest exec: %s killed after %gs (--timeout)\n",
		        argv[optind], timeout_s);
	if (json_is_integer(json_object_get(res, "signal")))
		return 128 + (int)json_integer_value(json_object_get(res, "signal"));
	return (int)json_integer_value(json_object_get(res, "exit_status"));
}
