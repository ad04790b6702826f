/* virtlab serve: the network workloads' endpoint, in the foreground. */
#include "cli/commands.h"
#include "cli/options.h"
#include "core/interrupt.h"
#include "workloads/net_endpoint.h"

#include <getopt.h>
#include <stdio.h>

#define DEFAULT_ADDRESS "0.0.0.0"

static void usage(void)
{
	printf("Usage: virtlab serve [--address A] [--port P]\n\n"
	       "Serves the endpoint that net.stream, net.rr and stress.net connect to, until\n"
	       "SIGINT or SIGTERM. Prints the address and port it listens on.\n\n"
	       "  -a, --address A  IPv4 or IPv6 address to listen on (default %s)\n"
	       "  -p, --port P     TCP port; 0 picks a free one (default 0)\n"
	       "  -h, --help       show this help\n",
	       DEFAULT_ADDRESS);
}

int vl_cmd_serve(int argc, char **argv)
{
	static const struct option options[] = {
	        {"address", required_argument, NULL, 'a'},
	        {"port", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *address = DEFAULT_ADDRESS;
	unsigned port = 0;
	struct vl_net_endpoint *ep = NULL;
	vl_error err = {0};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":a:p:h", options, NULL)) != -1) {
		switch (opt) {
		case 'a':
			address = optarg;
			break;
		case 'p':
			if (vl_cli_parse_uint("--port", optarg, 0, 65535, &port, &err) < 0)
				return vl_cli_report(&err);
			break;
		case 'h':
			usage();
			return 0;
		case ':':
			return vl_cli_usage_error("serve", "%s needs a value", argv[optind - 1]);
		default:
			return vl_cli_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return vl_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	/* Handlers first: a signal must not kill us with the endpoint's threads running. */
	if (vl_interrupt_install(&err) < 0 || vl_net_endpoint_start(address, port, &ep, &err) < 0)
		return vl_cli_report(&err);
	printf("listening on %s port %u\n", address, vl_net_endpoint_port(ep));
	fflush(stdout);
	vl_interrupt_wait();
	vl_net_endpoint_stop(ep);
	return 0;
}
