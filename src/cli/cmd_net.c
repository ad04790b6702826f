/* virtlab net: the network test topology by hand (up, down) and a quick
 * check of both modes (test). */
#include "cli/commands.h"
#include "cli/options.h"
#include "agent/client.h"
#include "core/cleanup.h"
#include "core/interrupt.h"
#include "platforms/guest_net.h"
#include "platforms/platform.h"
#include "platforms/state.h"
#include "runtime/netns.h"
#include "runtime/topology.h"
#include "study/workload_run.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_TIMEOUT_S   600.0
#define AGENT_TIMEOUT_S 30.0

struct net_options {
	const char *action;
	const char *mode; /* "nat", "bridged" or, for test, "both" */
	char id[VL_TOPOLOGY_ID_MAX + 1];
	const char *range;
	unsigned slot;
	bool guest;
	bool container;
	uint64_t rate_bps; /* 0: none */
	const char *duration;
};

static void usage(void)
{
	printf("Usage: virtlab net up [--mode nat|bridged] [--id ID] [--range CIDR] [--slot N]\n"
	       "                      [--guest] [--container] [--rate BITS]\n"
	       "       virtlab net down [--id ID]\n"
	       "       virtlab net test [--mode nat|bridged|both] [--range CIDR] [--slot N]\n"
	       "                        [--duration S] [--rate BITS]\n\n"
	       "up: builds the network test topology (an outside host in netns\n"
	       "virtlab-outside-ID whose agent serves the network workloads' endpoint), prints "
	       "its\n"
	       "addresses and keeps it until SIGINT or SIGTERM, then removes it.\n"
	       "down: removes by name what a killed `net up` or `net test` left.\n"
	       "test: builds each mode, runs net.stream from the host (bare platform) and\n"
	       "from a namespace standing in for a guest, prints Gbit/s, removes it all.\n\n"
	       "  -m, --mode M       nat or bridged (up: default bridged; test: both)\n"
	       "  -i, --id ID        1-%d of a-z0-9, names its devices (default: from the pid)\n"
	       "  -r, --range CIDR   private range to take /24s from (default %s)\n"
	       "  -s, --slot N       which pair of /24s (default 0)\n"
	       "  -g, --guest        up: also a stand-in guest netns virtlab-netguest-ID\n"
	       "  -c, --container    up: also a container guest virtlab-net-ID on the topology\n"
	       "                     (virtlab run --guest virtlab-net-ID reaches it)\n"
	       "  -R, --rate BITS    rate policy on the stand-in guest, both ways (100M = 100\n"
	       "                     Mbit/s); test: also measures both ways under it\n"
	       "  -d, --duration S   test: seconds per net.stream (default 3)\n"
	       "  -h, --help         show this help\n",
	       VL_TOPOLOGY_ID_MAX, VL_TOPOLOGY_DEFAULT_RANGE);
}

/* Bits per second as 100M, 1G (decimal, as tc and iperf3 write rates). */
static int parse_rate(const char *text, uint64_t *out, vl_error *err)
{
	char *end;
	double v = strtod(text, &end);
	double scale = 1;

	if (*end == 'k' || *end == 'K')
		scale = 1e3;
	else if (*end == 'M')
		scale = 1e6;
	else if (*end == 'G')
		scale = 1e9;
	if (scale != 1)
		end++;
	if (end == text || *end || v <= 0 || v * scale < 8 || v * scale > 1e12)
		return vl_error_input(err, "--rate '%s': give bits per second, e.g. 100M or 1G",
		                      text);
	*out = (uint64_t)(v * scale);
	return 0;
}

static int parse_options(int argc, char **argv, struct net_options *o)
{
	static const struct option options[] = {
	        {"mode", required_argument, NULL, 'm'},  {"id", required_argument, NULL, 'i'},
	        {"range", required_argument, NULL, 'r'}, {"slot", required_argument, NULL, 's'},
	        {"guest", no_argument, NULL, 'g'},       {"container", no_argument, NULL, 'c'},
	        {"rate", required_argument, NULL, 'R'},  {"duration", required_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	vl_error err = {0};
	double seconds;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":m:i:r:s:gcR:d:h", options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			o->mode = optarg;
			break;
		case 'i':
			if (strlen(optarg) > VL_TOPOLOGY_ID_MAX)
				return vl_cli_usage_error("net", "--id '%s' is longer than %d",
				                          optarg, VL_TOPOLOGY_ID_MAX);
			snprintf(o->id, sizeof(o->id), "%s", optarg);
			break;
		case 'r':
			o->range = optarg;
			break;
		case 's':
			if (vl_cli_parse_uint("--slot", optarg, 0, 32767, &o->slot, &err) < 0)
				return vl_cli_report(&err);
			break;
		case 'g':
			o->guest = true;
			break;
		case 'c':
			o->container = true;
			break;
		case 'R':
			if (parse_rate(optarg, &o->rate_bps, &err) < 0)
				return vl_cli_report(&err);
			break;
		case 'd':
			if (vl_cli_parse_double("--duration", optarg, 0.1, 3600, &seconds, &err) <
			    0)
				return vl_cli_report(&err);
			o->duration = optarg;
			break;
		case 'h':
			usage();
			return 0;
		case ':':
			return vl_cli_usage_error("net", "%s needs a value", argv[optind - 1]);
		default:
			return vl_cli_usage_error("net", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return vl_cli_usage_error("net", "give an action: up, down or test");
	o->action = argv[optind++];
	if (optind != argc)
		return vl_cli_usage_error("net", "unexpected argument '%s'", argv[optind]);
	return -1;
}

struct stand_in {
	char netns[64];
	int fd;
	bool made;
	struct vl_topology_port port;
};

static int stand_in_up(struct vl_topology *t, const char *id, uint64_t rate_bps, struct stand_in *s,
                       vl_error *err)
{
	snprintf(s->netns, sizeof(s->netns), VL_TOPOLOGY_STAND_IN_PREFIX "%s", id);
	s->fd = -1;
	if (vl_netns_create(s->netns, err) < 0)
		return -1;
	s->made = true;
	if (vl_netns_open(s->netns, &s->fd, err) < 0 ||
	    vl_topology_attach_netns(t, s->fd, &s->port, err) < 0)
		return -1;
	return rate_bps ? vl_topology_set_rate(t, &s->port, rate_bps, err) : 0;
}

static int stand_in_down(struct stand_in *s, vl_error *err)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return s->made ? vl_netns_delete(s->netns, err) : 0;
}

/* The outside host runs the agent, as a guest would: the bare platform's
 * agent, started from a thread inside the outside namespace so that the
 * process is born there, serving the endpoint through its `serve` op. The
 * endpoint lives as long as the agent's session, until the guest stops. */
static int start_in_netns(void *arg, vl_error *err)
{
	struct vl_guest *g = arg;

	return g->platform->start(g, err);
}

static int outside_up(struct vl_topology *t, const char *id, struct vl_guest **out, unsigned *port,
                      vl_error *err)
{
	struct vl_guest_spec spec = {0};
	struct vl_agent_client *c = NULL;
	int fd, rc;

	snprintf(spec.name, sizeof(spec.name), "outside-%s", id);
	if (vl_guest_new(vl_platform_find("bare"), &spec, out, err) < 0)
		return -1;
	if (vl_netns_run(vl_topology_outside_fd(t), start_in_netns, *out, err) < 0 ||
	    (*out)->platform->open_channel(*out, &fd, err) < 0 ||
	    vl_agent_client_new(fd, &c, err) < 0)
		return vl_error_wrap(err, "starting the agent in %s", vl_topology_outside_netns(t));
	rc = vl_agent_serve_start(c, NULL, 0, AGENT_TIMEOUT_S, port, err);
	vl_agent_client_free(c);
	if (rc < 0)
		return vl_error_wrap(err, "serving in %s", vl_topology_outside_netns(t));
	return 0;
}

static int outside_down(struct vl_guest *g, vl_error *err)
{
	int rc;

	if (!g)
		return 0;
	rc = vl_guest_destroy(g, err);
	vl_guest_free(g);
	return rc;
}

static int stream_params(struct vl_params *p, const char *host, unsigned port,
                         const char *direction, const char *duration, vl_error *err)
{
	char port_text[16];

	snprintf(port_text, sizeof(port_text), "%u", port);
	if (vl_params_init(p, vl_workload_find("net.stream"), err) < 0 ||
	    vl_params_set(p, "host", host, err) < 0 ||
	    vl_params_set(p, "port", port_text, err) < 0 ||
	    vl_params_set(p, "duration", duration, err) < 0 ||
	    vl_params_set(p, "direction", direction, err) < 0)
		return -1;
	return 0;
}

/* net.stream through a bare-platform agent born in netns_fd (-1: on the
 * host), so that the host's path and the stand-in guest's are measured the
 * same way. */
static int stream_via_agent(int netns_fd, const char *from, const char *host, unsigned port,
                            const char *direction, const char *duration, double *gbps,
                            vl_error *err)
{
	struct vl_guest_spec spec = {.name = "net-test"};
	const struct vl_platform *bare = vl_platform_find("bare");
	struct vl_guest *g = NULL;
	cleanup_json json_t *out = NULL;
	struct vl_params p;
	vl_error stop_err = {0};
	json_t *sample;
	int rc;

	if (stream_params(&p, host, port, direction, duration, err) < 0 ||
	    vl_guest_new(bare, &spec, &g, err) < 0)
		return vl_error_wrap(err, "net.stream from %s", from);
	rc = netns_fd >= 0 ? vl_netns_run(netns_fd, start_in_netns, g, err) : bare->start(g, err);
	if (rc == 0)
		rc = vl_run_workload(g, &p, 1, 0, RUN_TIMEOUT_S, &out, err);
	if (bare->destroy(g, &stop_err) < 0 && rc == 0) {
		*err = stop_err;
		rc = -1;
	}
	vl_guest_free(g);
	if (rc < 0)
		return vl_error_wrap(err, "net.stream from %s", from);
	sample = json_array_get(json_object_get(out, "samples"), 0);
	if (strcmp(json_string_value(json_object_get(sample, "status")) ?: "", "ok") != 0)
		return vl_error_set(err, "net.stream from %s: %s", from,
		                    json_string_value(json_object_get(sample, "reason"))
		                            ?: "failed");
	*gbps = json_number_value(json_object_get(json_object_get(sample, "metrics"), "gbps"));
	return 0;
}

static int test_mode(const struct net_options *o, enum vl_topology_mode mode, vl_error *err)
{
	struct vl_topology_opts opts = {.id = o->id, .range = o->range, .slot = o->slot};
	struct vl_topology *t = NULL;
	struct vl_guest *outside = NULL;
	struct stand_in s = {.fd = -1};
	const char *name = vl_topology_mode_name(mode);
	const char *duration = o->duration ? o->duration : "3";
	vl_error e = {0};
	unsigned port;
	double host = 0, guest = 0, to_guest = 0, from_guest = 0;
	int rc;

	rc = vl_topology_create(mode, &opts, &t, err);
	if (rc == 0)
		rc = outside_up(t, o->id, &outside, &port, err);
	if (rc == 0)
		rc = stand_in_up(t, o->id, 0, &s, err);
	if (rc == 0 && !vl_interrupt_signal())
		rc = stream_via_agent(-1, "the host", vl_topology_outside_address(t), port, "send",
		                      duration, &host, err);
	if (rc == 0 && !vl_interrupt_signal()) {
		printf("%-8s host -> outside %-15s %8.2f Gbit/s\n", name,
		       vl_topology_outside_address(t), host);
		rc = stream_via_agent(s.fd, s.netns, vl_topology_outside_address(t), port, "send",
		                      duration, &guest, err);
	}
	if (rc == 0 && !vl_interrupt_signal())
		printf("%-8s guest %-13s -> outside %8.2f Gbit/s (%.2f of host)\n", name,
		       s.port.address, guest, host > 0 ? guest / host : 0);
	if (rc == 0 && o->rate_bps && !vl_interrupt_signal())
		rc = vl_topology_set_rate(t, &s.port, o->rate_bps, err);
	if (rc == 0 && o->rate_bps && !vl_interrupt_signal())
		rc = stream_via_agent(s.fd, s.netns, vl_topology_outside_address(t), port, "recv",
		                      duration, &to_guest, err);
	if (rc == 0 && o->rate_bps && !vl_interrupt_signal())
		rc = stream_via_agent(s.fd, s.netns, vl_topology_outside_address(t), port, "send",
		                      duration, &from_guest, err);
	if (rc == 0 && o->rate_bps && !vl_interrupt_signal())
		printf("%-8s under a %.0f Mbit/s policy: outside -> guest %.1f Mbit/s, guest -> "
		       "outside %.1f Mbit/s\n",
		       name, (double)o->rate_bps / 1e6, to_guest * 1e3, from_guest * 1e3);
	fflush(stdout);
	if (outside_down(outside, &e) < 0 && rc == 0) {
		*err = e;
		rc = -1;
	}
	if (vl_topology_destroy(t, &e) < 0 && rc == 0) {
		*err = e;
		rc = -1;
	}
	if (stand_in_down(&s, &e) < 0 && rc == 0) {
		*err = e;
		rc = -1;
	}
	return rc;
}

static int net_test(const struct net_options *o)
{
	enum vl_topology_mode mode;
	vl_error err = {0};
	bool both = !o->mode || strcmp(o->mode, "both") == 0;

	if (!both && vl_topology_mode_parse(o->mode, &mode, &err) < 0)
		return vl_cli_report(&err);
	if (vl_interrupt_install(&err) < 0)
		return vl_cli_report(&err);
	if (both ? test_mode(o, VL_TOPOLOGY_BRIDGED, &err) < 0 ||
	                    (!vl_interrupt_signal() && test_mode(o, VL_TOPOLOGY_NAT, &err) < 0)
	         : test_mode(o, mode, &err) < 0)
		return vl_cli_report(&err);
	if (vl_interrupt_signal())
		return vl_cli_interrupted(vl_interrupt_signal());
	return 0;
}

/* A container guest attached to the topology, recorded like one of `virtlab
 * guest create` (and unlocked), so that `virtlab run --guest` reaches it. */
static int container_up(const char *id, enum vl_topology_mode mode, struct vl_guest **out,
                        vl_error *err)
{
	const struct vl_platform *p = vl_platform_find("container");
	struct vl_guest_spec spec = {0};
	int lock_fd, rc;

	snprintf(spec.name, sizeof(spec.name), "virtlab-net-%s", id);
	snprintf(spec.net_topology, sizeof(spec.net_topology), "%s", id);
	snprintf(spec.net_mode, sizeof(spec.net_mode), "%s", vl_topology_mode_name(mode));
	if (vl_state_lock(spec.name, false, &lock_fd, err) < 0)
		return -1;
	rc = vl_guest_new(p, &spec, out, err);
	if (rc == 0)
		rc = vl_state_save(*out, "provisioning", err) < 0 || p->provision(*out, err) < 0 ||
		                     vl_state_save(*out, "provisioned", err) < 0 ||
		                     p->start(*out, err) < 0 ||
		                     vl_state_save(*out, "running", err) < 0
		             ? -1
		             : 0;
	vl_state_unlock(lock_fd);
	return rc < 0 ? vl_error_wrap(err, "container guest %s", spec.name) : 0;
}

static int container_down(struct vl_guest *g, vl_error *err)
{
	int lock_fd, rc;

	if (!g)
		return 0;
	rc = vl_state_lock(g->spec.name, true, &lock_fd, err);
	if (rc == 0) {
		rc = vl_guest_destroy(g, err);
		if (rc == 0)
			rc = vl_state_remove(g->spec.name, err);
		vl_state_unlock(lock_fd);
	}
	vl_guest_free(g);
	return rc;
}

static int net_up(const struct net_options *o)
{
	struct vl_topology_opts opts = {.id = o->id, .range = o->range, .slot = o->slot};
	enum vl_topology_mode mode = VL_TOPOLOGY_BRIDGED;
	struct vl_topology *t = NULL;
	struct vl_guest *outside = NULL, *ctr = NULL;
	struct stand_in s = {.fd = -1};
	struct vl_topology_port cport;
	vl_error err = {0}, e = {0};
	unsigned port;
	int rc;

	if (o->mode && vl_topology_mode_parse(o->mode, &mode, &err) < 0)
		return vl_cli_report(&err);
	if (o->rate_bps && !o->guest)
		return vl_cli_usage_error("net",
		                          "--rate applies to the stand-in guest: add --guest");
	if (vl_interrupt_install(&err) < 0)
		return vl_cli_report(&err);
	rc = vl_topology_create(mode, &opts, &t, &err);
	if (rc == 0)
		rc = outside_up(t, o->id, &outside, &port, &err);
	if (rc == 0 && o->guest)
		rc = stand_in_up(t, o->id, o->rate_bps, &s, &err);
	if (rc == 0 && o->container)
		rc = container_up(o->id, mode, &ctr, &err);
	if (rc == 0) {
		printf("mode %s\nid %s\noutside-netns %s\noutside-address %s\nport %u\n"
		       "host-address %s\n",
		       vl_topology_mode_name(mode), o->id, vl_topology_outside_netns(t),
		       vl_topology_outside_address(t), port, vl_topology_host_address(t));
		if (o->guest)
			printf("guest-netns %s\nguest-address %s\nguest-host-dev %s\n", s.netns,
			       s.port.address, s.port.host_dev);
		if (ctr && vl_guest_net_port(ctr, &cport))
			printf("container %s\ncontainer-pid %lld\ncontainer-address %s\n",
			       ctr->spec.name,
			       (long long)json_integer_value(
			               json_object_get(ctr->record, "init_pid")),
			       cport.address);
		printf("ready\n");
		fflush(stdout);
		vl_interrupt_wait();
	}
	if (container_down(ctr, &e) < 0 && rc == 0) {
		err = e;
		rc = -1;
	}
	if (outside_down(outside, &e) < 0 && rc == 0) {
		err = e;
		rc = -1;
	}
	if (t && vl_topology_destroy(t, &e) < 0 && rc == 0) {
		err = e;
		rc = -1;
	}
	if (stand_in_down(&s, &e) < 0 && rc == 0) {
		err = e;
		rc = -1;
	}
	return rc < 0 ? vl_cli_report(&err) : 0;
}

int vl_cmd_net(int argc, char **argv)
{
	struct net_options o = {0};
	vl_error err = {0};
	int rc = parse_options(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (strcmp(o.action, "down") == 0)
		return vl_topology_cleanup(o.id[0] ? o.id : NULL, &err) < 0 ? vl_cli_report(&err)
		                                                            : 0;
	if (!o.id[0])
		snprintf(o.id, sizeof(o.id), "v%05d", (int)(getpid() % 100000));
	if (geteuid() != 0) {
		vl_error_set(&err,
		             "net %s needs root (it makes namespaces, links and nftables "
		             "tables): run it as root",
		             o.action);
		return vl_cli_report(&err);
	}
	if (strcmp(o.action, "up") == 0)
		return net_up(&o);
	if (strcmp(o.action, "test") == 0)
		return net_test(&o);
	return vl_cli_usage_error("net", "unknown action '%s': use up, down or test", o.action);
}
