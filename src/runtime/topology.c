/* The network test topology (see topology.h). Every resource is announced to
 * the tracker before it is made and remembered here, so that destroy (and,
 * after a crash, cleanup by name) can undo all of it. */
#include "runtime/topology.h"
#include "runtime/nat.h"
#include "runtime/netlink.h"
#include "runtime/netns.h"
#include "platforms/state.h"
#include "workloads/net_endpoint.h"
#include "core/cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PORTS        64
#define MAX_LINKS        (2 * MAX_PORTS) /* a port and its ifb */
#define FIRST_GUEST_HOST 10              /* guests get .10 and up; .1 and .2 are taken */

struct vl_topology {
	enum vl_topology_mode mode;
	struct vl_topology_opts opts;
	char id[VL_TOPOLOGY_ID_MAX + 1];
	char netns[64];
	int netns_fd;
	bool netns_made;
	char outside_link[16]; /* vl-o-<id>: host end */
	char outside_peer[16]; /* vl-op-<id>: in the outside netns */
	char bridge[16];
	bool outside_made, bridge_made, nat_made;
	char nat_table[64];
	/* Subnets as host-order base addresses of /24s. */
	uint32_t outside_net, guest_net;
	char host_addr[16], outside_addr[16], gateway[16];
	struct vl_net_endpoint *endpoint;
	/* Devices made for guests (host-side ends, taps, ifbs), newest last. */
	unsigned n_links;
	char links[MAX_LINKS][16];
};

const char *vl_topology_mode_name(enum vl_topology_mode mode)
{
	return mode == VL_TOPOLOGY_NAT ? "nat" : "bridged";
}

int vl_topology_mode_parse(const char *text, enum vl_topology_mode *mode, vl_error *err)
{
	if (strcmp(text, "nat") == 0)
		*mode = VL_TOPOLOGY_NAT;
	else if (strcmp(text, "bridged") == 0)
		*mode = VL_TOPOLOGY_BRIDGED;
	else
		return vl_error_input(err, "unknown network mode '%s': use nat or bridged", text);
	return 0;
}

static void format_addr(uint32_t host_order, char *buf, size_t size)
{
	struct in_addr a = {.s_addr = htonl(host_order)};

	inet_ntop(AF_INET, &a, buf, (socklen_t)size);
}

static int track(struct vl_topology *t, const char *kind, const char *id, bool add, vl_error *err)
{
	if (!t->opts.track)
		return 0;
	if (t->opts.track(t->opts.track_data, kind, id, add, err) < 0)
		return vl_error_wrap(err, "%s %s %s", add ? "tracking" : "untracking", kind, id);
	return 0;
}

static int check_id(const char *id, vl_error *err)
{
	size_t len = id ? strlen(id) : 0;

	if (len == 0 || len > VL_TOPOLOGY_ID_MAX ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") != len)
		return vl_error_input(err, "bad topology id '%s': 1 to %d of a-z and 0-9",
		                      id ? id : "", VL_TOPOLOGY_ID_MAX);
	return 0;
}

static int plan_addresses(struct vl_topology *t, vl_error *err)
{
	const char *range = t->opts.range ? t->opts.range : VL_TOPOLOGY_DEFAULT_RANGE;
	uint32_t base_be, base, size;
	unsigned prefix;

	if (vl_netlink_parse_cidr(range, &base_be, &prefix, err) < 0)
		return -1;
	if (prefix > 23)
		return vl_error_input(err, "address range %s is too small: give /23 or larger",
		                      range);
	size = prefix == 0 ? 0 : 1u << (32 - prefix);
	base = ntohl(base_be) & (prefix == 0 ? 0 : ~(size - 1));
	if (size && ((uint64_t)t->opts.slot * 2 + 2) * 256 > size)
		return vl_error_input(err,
		                      "slot %u does not fit in %s: use a slot below %u or a "
		                      "larger range",
		                      t->opts.slot, range, size / 512);
	t->outside_net = base + t->opts.slot * 2 * 256;
	t->guest_net = t->mode == VL_TOPOLOGY_NAT ? t->outside_net + 256 : t->outside_net;
	format_addr(t->outside_net + 1, t->host_addr, sizeof(t->host_addr));
	format_addr(t->outside_net + 2, t->outside_addr, sizeof(t->outside_addr));
	format_addr(t->guest_net + 1, t->gateway, sizeof(t->gateway));
	return 0;
}

static int add_cidr(struct vl_netlink *nl, const char *dev, const char *addr, vl_error *err)
{
	char cidr[24];

	snprintf(cidr, sizeof(cidr), "%s/24", addr);
	return vl_netlink_add_address(nl, dev, cidr, err);
}

/* The outside host: its namespace and its link to the host. */
static int make_outside(struct vl_topology *t, struct vl_netlink *host, vl_error *err)
{
	struct vl_netlink *inside = NULL;
	int rc;

	if (track(t, VL_RES_NETNS, t->netns, true, err) < 0 || vl_netns_create(t->netns, err) < 0)
		return -1;
	t->netns_made = true;
	if (vl_netns_open(t->netns, &t->netns_fd, err) < 0)
		return -1;
	if (track(t, VL_RES_LINK, t->outside_link, true, err) < 0 ||
	    vl_netlink_create_veth(host, t->outside_link, t->outside_peer, t->netns_fd, err) < 0)
		return -1;
	t->outside_made = true;
	if (vl_netlink_open(t->netns_fd, &inside, err) < 0)
		return -1;
	rc = add_cidr(inside, t->outside_peer, t->outside_addr, err) < 0 ||
	                     vl_netlink_set_up(inside, t->outside_peer, true, err) < 0 ||
	                     vl_netlink_set_up(inside, "lo", true, err) < 0
	             ? -1
	             : 0;
	vl_netlink_close(inside);
	return rc;
}

static int make_bridge(struct vl_topology *t, struct vl_netlink *host, vl_error *err)
{
	if (track(t, VL_RES_LINK, t->bridge, true, err) < 0 ||
	    vl_netlink_create_bridge(host, t->bridge, err) < 0)
		return -1;
	t->bridge_made = true;
	if (t->mode == VL_TOPOLOGY_BRIDGED) {
		if (vl_netlink_set_master(host, t->outside_link, t->bridge, err) < 0 ||
		    add_cidr(host, t->bridge, t->host_addr, err) < 0)
			return -1;
	} else if (add_cidr(host, t->outside_link, t->host_addr, err) < 0 ||
	           add_cidr(host, t->bridge, t->gateway, err) < 0) {
		return -1;
	}
	if (vl_netlink_set_up(host, t->outside_link, true, err) < 0 ||
	    vl_netlink_set_up(host, t->bridge, true, err) < 0)
		return -1;
	return 0;
}

static int make_nat(struct vl_topology *t, vl_error *err)
{
	char subnet[24], id[96];

	format_addr(t->guest_net, subnet, sizeof(subnet));
	strcat(subnet, "/24");
	snprintf(id, sizeof(id), "inet %s", t->nat_table);
	if (track(t, VL_RES_NFT, id, true, err) < 0 ||
	    vl_nat_create(t->nat_table, subnet, t->outside_link, err) < 0)
		return -1;
	t->nat_made = true;
	return 0;
}

/* A topology named after opts->id, nothing made yet; `doing` ("creating",
 * "opening") is for the error. */
static int topology_new(const struct vl_topology_opts *opts, const char *doing,
                        struct vl_topology **out, vl_error *err)
{
	struct vl_topology *t;

	if (check_id(opts->id, err) < 0)
		return vl_error_wrap(err, "%s a network topology", doing);
	t = calloc(1, sizeof(*t));
	if (!t)
		return vl_error_errno(err, ENOMEM, "%s network topology %s", doing, opts->id);
	t->opts = *opts;
	t->netns_fd = -1;
	snprintf(t->id, sizeof(t->id), "%s", opts->id);
	t->opts.id = t->id;
	snprintf(t->netns, sizeof(t->netns), VL_TOPOLOGY_NETNS_PREFIX "%s", t->id);
	snprintf(t->outside_link, sizeof(t->outside_link), "vl-o-%s", t->id);
	snprintf(t->outside_peer, sizeof(t->outside_peer), "vl-op-%s", t->id);
	snprintf(t->bridge, sizeof(t->bridge), "vl-br-%s", t->id);
	snprintf(t->nat_table, sizeof(t->nat_table), VL_NAT_TABLE_PREFIX "_%s", t->id);
	*out = t;
	return 0;
}

int vl_topology_create(enum vl_topology_mode mode, const struct vl_topology_opts *opts,
                       struct vl_topology **out, vl_error *err)
{
	struct vl_topology *t;
	struct vl_netlink *host = NULL;
	vl_error ignored = {0};
	int rc;

	if (topology_new(opts, "creating", &t, err) < 0)
		return -1;
	t->mode = mode;
	rc = plan_addresses(t, err);
	if (rc == 0)
		rc = vl_netlink_open(-1, &host, err);
	if (rc == 0)
		rc = make_outside(t, host, err) < 0 || make_bridge(t, host, err) < 0 ||
		                     (mode == VL_TOPOLOGY_NAT && make_nat(t, err) < 0)
		             ? -1
		             : 0;
	vl_netlink_close(host);
	if (rc < 0) {
		vl_topology_destroy(t, &ignored);
		return vl_error_wrap(err, "creating %s network topology %s",
		                     vl_topology_mode_name(mode), opts->id);
	}
	*out = t;
	return 0;
}

/* Keeps the first error; the rest of the teardown goes on. */
static void note(int rc, vl_error *first, const vl_error *e, int *result)
{
	if (rc < 0 && *result == 0) {
		*first = *e;
		*result = -1;
	}
}

static void remove_link(struct vl_topology *t, struct vl_netlink *nl, const char *name,
                        vl_error *first, int *result)
{
	vl_error e = {0};
	int rc = nl ? vl_netlink_delete_link(nl, name, true, &e) : -1;

	if (!nl)
		vl_error_set(&e, "deleting link %s: no rtnetlink socket", name);
	if (rc == 0)
		rc = track(t, VL_RES_LINK, name, false, &e);
	note(rc, first, &e, result);
}

int vl_topology_destroy(struct vl_topology *t, vl_error *err)
{
	struct vl_netlink *host = NULL;
	vl_error e = {0};
	int result = 0;
	char id[96];

	if (!t)
		return 0;
	if (t->endpoint)
		vl_net_endpoint_stop(t->endpoint);
	note(vl_netlink_open(-1, &host, &e), err, &e, &result);
	for (unsigned i = t->n_links; i-- > 0;)
		remove_link(t, host, t->links[i], err, &result);
	if (t->nat_made) {
		snprintf(id, sizeof(id), "inet %s", t->nat_table);
		if (vl_nat_delete(t->nat_table, &e) == 0)
			note(track(t, VL_RES_NFT, id, false, &e), err, &e, &result);
		else
			note(-1, err, &e, &result);
	}
	if (t->bridge_made)
		remove_link(t, host, t->bridge, err, &result);
	if (t->outside_made)
		remove_link(t, host, t->outside_link, err, &result);
	vl_netlink_close(host);
	if (t->netns_fd >= 0)
		close(t->netns_fd);
	if (t->netns_made) {
		if (vl_netns_delete(t->netns, &e) == 0)
			note(track(t, VL_RES_NETNS, t->netns, false, &e), err, &e, &result);
		else
			note(-1, err, &e, &result);
	}
	if (result < 0)
		vl_error_wrap(err, "destroying network topology %s", t->id);
	free(t);
	return result;
}

/* "10.213.0.1/24" -> host-order address of the /24 and the address itself. */
static int read_address(struct vl_netlink *host, const char *dev, uint32_t *addr, bool *found,
                        vl_error *err)
{
	char cidr[32];
	uint32_t be;
	unsigned prefix;

	*found = false;
	if (vl_netlink_get_address(host, dev, cidr, sizeof(cidr), err) < 0)
		return -1;
	if (!cidr[0])
		return 0;
	if (vl_netlink_parse_cidr(cidr, &be, &prefix, err) < 0)
		return -1;
	*addr = ntohl(be);
	*found = true;
	return 0;
}

/* The subnets and mode of a topology from its devices: the bridge holds the
 * guests' gateway; in NAT mode the host's end of the outside link has an
 * address of its own, in bridged mode it is a bridge port without one. */
static int read_topology(struct vl_topology *t, struct vl_netlink *host, vl_error *err)
{
	uint32_t gateway = 0, outside_host = 0;
	bool has_gateway, nat;

	if (read_address(host, t->bridge, &gateway, &has_gateway, err) < 0 ||
	    read_address(host, t->outside_link, &outside_host, &nat, err) < 0)
		return -1;
	if (!has_gateway)
		return vl_error_set(err, "bridge %s has no IPv4 address: not a virtlab topology",
		                    t->bridge);
	t->mode = nat ? VL_TOPOLOGY_NAT : VL_TOPOLOGY_BRIDGED;
	t->guest_net = gateway & ~0xffu;
	t->outside_net = nat ? outside_host & ~0xffu : t->guest_net;
	format_addr(t->outside_net + 1, t->host_addr, sizeof(t->host_addr));
	format_addr(t->outside_net + 2, t->outside_addr, sizeof(t->outside_addr));
	format_addr(gateway, t->gateway, sizeof(t->gateway));
	return 0;
}

int vl_topology_open(const struct vl_topology_opts *opts, struct vl_topology **out, vl_error *err)
{
	struct vl_topology *t;
	struct vl_netlink *host = NULL;
	bool exists = false;
	int rc;

	if (topology_new(opts, "opening", &t, err) < 0)
		return -1;
	rc = vl_netlink_open(-1, &host, err);
	if (rc == 0)
		rc = vl_netlink_link_exists(host, t->bridge, &exists, err);
	if (rc == 0 && !exists)
		rc = vl_error_input(err,
		                    "network topology %s is not up (no bridge %s): start it "
		                    "with `virtlab net up --id %s`",
		                    t->id, t->bridge, t->id);
	if (rc == 0)
		rc = read_topology(t, host, err);
	vl_netlink_close(host);
	if (rc == 0 && vl_netns_exists(t->netns))
		rc = vl_netns_open(t->netns, &t->netns_fd, err);
	if (rc < 0) {
		vl_topology_release(t);
		return vl_error_wrap(err, "opening network topology %s", opts->id);
	}
	*out = t;
	return 0;
}

void vl_topology_release(struct vl_topology *t)
{
	if (!t)
		return;
	if (t->endpoint)
		vl_net_endpoint_stop(t->endpoint);
	if (t->netns_fd >= 0)
		close(t->netns_fd);
	free(t);
}

enum vl_topology_mode vl_topology_mode(const struct vl_topology *t)
{
	return t->mode;
}

const char *vl_topology_id(const struct vl_topology *t)
{
	return t->id;
}

const char *vl_topology_outside_address(const struct vl_topology *t)
{
	return t->outside_addr;
}

const char *vl_topology_host_address(const struct vl_topology *t)
{
	return t->host_addr;
}

const char *vl_topology_outside_netns(const struct vl_topology *t)
{
	return t->netns;
}

int vl_topology_outside_fd(const struct vl_topology *t)
{
	return t->netns_fd;
}

/* Whether index n is taken: a guest's veth, a tap or an ifb of this
 * topology has it. Another process may attach guests to the same topology
 * (vl_topology_open), so the kernel's links are the truth. */
static int index_taken(struct vl_netlink *host, const struct vl_topology *t, unsigned n,
                       bool *taken, vl_error *err)
{
	static const char kinds[] = "gti";
	char name[16];

	*taken = false;
	for (size_t k = 0; !*taken && k < sizeof(kinds) - 1; k++) {
		snprintf(name, sizeof(name), "vl-%c%u-%s", kinds[k], n, t->id);
		if (vl_netlink_link_exists(host, name, taken, err) < 0)
			return -1;
	}
	return 0;
}

/* Takes the lowest free port index and names its device; fails when full. */
static int next_port(struct vl_topology *t, const char *kind, struct vl_topology_port *port,
                     vl_error *err)
{
	struct vl_netlink *host = NULL;
	bool taken = true;
	unsigned n;
	int rc = 0;

	memset(port, 0, sizeof(*port));
	if (vl_netlink_open(-1, &host, err) < 0)
		return -1;
	for (n = 0; n < MAX_PORTS && FIRST_GUEST_HOST + n <= 254; n++)
		if ((rc = index_taken(host, t, n, &taken, err)) < 0 || !taken)
			break;
	vl_netlink_close(host);
	if (rc < 0)
		return -1;
	if (taken)
		return vl_error_set(err, "topology %s has no room for another guest", t->id);
	port->index = n;
	snprintf(port->host_dev, sizeof(port->host_dev), "vl-%s%u-%s", kind, n, t->id);
	format_addr(t->guest_net + FIRST_GUEST_HOST + n, port->address, sizeof(port->address));
	port->prefix = 24;
	snprintf(port->gateway, sizeof(port->gateway), "%s", t->gateway);
	return 0;
}

/* Remembers a device before it exists, so that destroy removes it whatever
 * happens next. */
static int claim_link(struct vl_topology *t, const char *name, vl_error *err)
{
	if (t->n_links >= MAX_LINKS)
		return vl_error_set(err, "topology %s has no room for another device (%u made)",
		                    t->id, t->n_links);
	if (track(t, VL_RES_LINK, name, true, err) < 0)
		return -1;
	snprintf(t->links[t->n_links], sizeof(t->links[0]), "%s", name);
	t->n_links++;
	return 0;
}

static int configure_guest_side(int netns_fd, const struct vl_topology_port *port, vl_error *err)
{
	struct vl_netlink *nl = NULL;
	char cidr[24];
	int rc;

	if (vl_netlink_open(netns_fd, &nl, err) < 0)
		return -1;
	snprintf(cidr, sizeof(cidr), "%s/%u", port->address, port->prefix);
	rc = vl_netlink_add_address(nl, port->guest_dev, cidr, err) < 0 ||
	                     vl_netlink_set_up(nl, port->guest_dev, true, err) < 0 ||
	                     vl_netlink_set_up(nl, "lo", true, err) < 0 ||
	                     vl_netlink_add_route(nl, "default", port->gateway, NULL, err) < 0
	             ? -1
	             : 0;
	vl_netlink_close(nl);
	return rc;
}

int vl_topology_attach_netns(struct vl_topology *t, int netns_fd, struct vl_topology_port *port,
                             vl_error *err)
{
	struct vl_netlink *host = NULL;
	int rc;

	if (next_port(t, "g", port, err) < 0)
		return -1;
	snprintf(port->guest_dev, sizeof(port->guest_dev), "vl-gp%u-%s", port->index, t->id);
	if (claim_link(t, port->host_dev, err) < 0 || vl_netlink_open(-1, &host, err) < 0)
		return vl_error_wrap(err, "attaching a guest to topology %s", t->id);
	rc = vl_netlink_create_veth(host, port->host_dev, port->guest_dev, netns_fd, err) < 0 ||
	                     vl_netlink_set_master(host, port->host_dev, t->bridge, err) < 0 ||
	                     vl_netlink_set_up(host, port->host_dev, true, err) < 0 ||
	                     configure_guest_side(netns_fd, port, err) < 0
	             ? -1
	             : 0;
	vl_netlink_close(host);
	if (rc < 0)
		return vl_error_wrap(err, "attaching a guest to topology %s", t->id);
	return 0;
}

int vl_topology_attach_pid(struct vl_topology *t, pid_t pid, struct vl_topology_port *port,
                           vl_error *err)
{
	cleanup_close int fd = -1;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vl_error_errno(err, errno, "attaching process %d to topology %s: opening %s",
		                      (int)pid, t->id, path);
	return vl_topology_attach_netns(t, fd, port, err);
}

int vl_topology_attach_tap(struct vl_topology *t, struct vl_topology_port *port, vl_error *err)
{
	struct vl_netlink *host = NULL;
	int rc;

	if (next_port(t, "t", port, err) < 0 || claim_link(t, port->host_dev, err) < 0 ||
	    vl_netlink_open(-1, &host, err) < 0)
		return vl_error_wrap(err, "attaching a tap to topology %s", t->id);
	rc = vl_netlink_create_tap(port->host_dev, err) < 0 ||
	                     vl_netlink_set_master(host, port->host_dev, t->bridge, err) < 0 ||
	                     vl_netlink_set_up(host, port->host_dev, true, err) < 0
	             ? -1
	             : 0;
	vl_netlink_close(host);
	if (rc < 0)
		return vl_error_wrap(err, "attaching a tap to topology %s", t->id);
	return 0;
}

int vl_topology_set_rate(struct vl_topology *t, const struct vl_topology_port *port,
                         uint64_t bits_per_sec, vl_error *err)
{
	struct vl_netlink *host = NULL;
	char ifb[16];
	int rc;

	snprintf(ifb, sizeof(ifb), "vl-i%u-%s", port->index, t->id);
	if (claim_link(t, ifb, err) < 0 || vl_netlink_open(-1, &host, err) < 0)
		return vl_error_wrap(err, "rate policy on %s", port->host_dev);
	rc = vl_netlink_set_rate(host, port->host_dev, bits_per_sec, err) < 0 ||
	                     vl_netlink_set_ingress_rate(host, port->host_dev, ifb, bits_per_sec,
	                                                 err) < 0
	             ? -1
	             : 0;
	vl_netlink_close(host);
	return rc;
}

static int start_endpoint(void *arg, vl_error *err)
{
	struct vl_topology *t = arg;

	return vl_net_endpoint_start("0.0.0.0", 0, &t->endpoint, err);
}

int vl_topology_serve(struct vl_topology *t, unsigned *port, vl_error *err)
{
	if (!t->endpoint && vl_netns_run(t->netns_fd, start_endpoint, t, err) < 0)
		return vl_error_wrap(err, "serving in the outside host of topology %s", t->id);
	*port = vl_net_endpoint_port(t->endpoint);
	return 0;
}

struct workload_call {
	const struct vl_params *p;
	const struct vl_run_ctx *ctx;
	struct vl_result *r;
};

static int run_workload_here(void *arg, vl_error *err)
{
	struct workload_call *c = arg;

	return vl_workload_run_once(c->p, c->ctx, c->r, err);
}

int vl_topology_run_workload(int netns_fd, const struct vl_params *p, const struct vl_run_ctx *ctx,
                             struct vl_result *r, vl_error *err)
{
	struct workload_call c = {.p = p, .ctx = ctx, .r = r};

	if (netns_fd < 0)
		return run_workload_here(&c, err);
	return vl_netns_run(netns_fd, run_workload_here, &c, err);
}

/* The names topology.h lists: vl-o-ID, vl-br-ID, vl-gN-ID, vl-tN-ID and
 * vl-iN-ID (id NULL: any ID), so that other virtlab links are left alone. */
static bool link_of(const char *name, const char *id)
{
	const char *rest;

	if (strncmp(name, "vl-o-", 5) == 0)
		rest = name + 5;
	else if (strncmp(name, "vl-br-", 6) == 0)
		rest = name + 6;
	else if ((strncmp(name, "vl-g", 4) == 0 || strncmp(name, "vl-t", 4) == 0 ||
	          strncmp(name, "vl-i", 4) == 0) &&
	         name[4] >= '0' && name[4] <= '9') {
		rest = name + 4 + strspn(name + 4, "0123456789");
		if (*rest++ != '-')
			return false;
	} else {
		return false;
	}
	if (id)
		return strcmp(rest, id) == 0;
	return rest[0] && strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(rest);
}

static bool table_of(const char *name, const char *id)
{
	size_t prefix = strlen(VL_NAT_TABLE_PREFIX "_");

	return strncmp(name, VL_NAT_TABLE_PREFIX "_", prefix) == 0 &&
	       (!id || strcmp(name + prefix, id) == 0);
}

static void delete_netns(const char *prefix, const char *id, vl_error *first, int *result)
{
	char **names = NULL;
	size_t n = 0;
	vl_error e = {0};

	if (vl_netns_list(prefix, &names, &n, &e) < 0) {
		note(-1, first, &e, result);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!id || strcmp(names[i] + strlen(prefix), id) == 0)
			note(vl_netns_delete(names[i], &e), first, &e, result);
	vl_netlink_names_free(names, n);
}

int vl_topology_cleanup(const char *id, vl_error *err)
{
	struct vl_netlink *host = NULL;
	char **names = NULL;
	size_t n = 0;
	vl_error e = {0};
	int result = 0;

	if (id && check_id(id, err) < 0)
		return -1;
	/* Guest ports and the bridge first: the outside link may be a bridge port. */
	if (vl_netlink_open(-1, &host, &e) == 0 &&
	    vl_netlink_list_links(host, "vl-", &names, &n, &e) == 0) {
		for (size_t i = 0; i < n; i++)
			if (link_of(names[i], id))
				note(vl_netlink_delete_link(host, names[i], true, &e), err, &e,
				     &result);
		vl_netlink_names_free(names, n);
	} else {
		note(-1, err, &e, &result);
	}
	vl_netlink_close(host);
	if (vl_nat_list_tables(VL_NAT_TABLE_PREFIX "_", &names, &n, &e) == 0) {
		for (size_t i = 0; i < n; i++)
			if (table_of(names[i], id))
				note(vl_nat_delete(names[i], &e), err, &e, &result);
		vl_netlink_names_free(names, n);
	} else {
		note(-1, err, &e, &result);
	}
	delete_netns(VL_TOPOLOGY_STAND_IN_PREFIX, id, err, &result);
	delete_netns(VL_TOPOLOGY_NETNS_PREFIX, id, err, &result);
	if (result < 0)
		vl_error_wrap(err, "cleaning up network topology %s", id ? id : "(all)");
	return result;
}
