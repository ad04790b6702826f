/* The network test topology of the network experiment (thesis 4.4): an
 * "outside host" in a network namespace of its own, reached from the host,
 * and guests attached either bridged or behind NAT. Everything lives in
 * namespaces and devices virtlab creates, named after the topology's id:
 *
 *   netns virtlab-outside-<id>   the outside host; its link is vl-op-<id>
 *   veth  vl-o-<id>              the host's end of the outside host's link
 *   bridge vl-br-<id>            where guests attach (their veths and taps)
 *   veth  vl-g<n>-<id>           a guest's host-side device (peer vl-gp<n>-<id>)
 *   tap   vl-t<n>-<id>           a QEMU guest's host-side device
 *   ifb   vl-i<n>-<id>           where a rate policy shapes what guest n sends
 *   nft   inet virtlab_nat_<id>  NAT mode's masquerade rule
 *
 * Addresses: the range (default 10.213.0.0/16) is cut into /24s; slot s uses
 * the (2s)th for the outside subnet and the (2s+1)th for NAT guests.
 *  - bridged: the bridge carries the outside host's link and the guests, one
 *    subnet: host .1 (on the bridge), outside host .2, guests .10 and up.
 *  - nat: host .1 and outside host .2 on the outside subnet; the bridge is
 *    the guests' gateway (.1 of the guest subnet), guests .10 and up; the
 *    host forwards and masquerades, and the outside host knows no route to
 *    the guests, as a real outside machine would not. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/error.h"
#include "workloads/workload.h"

#define VL_TOPOLOGY_DEFAULT_RANGE "10.213.0.0/16"
#define VL_TOPOLOGY_ID_MAX        6 /* interface names are at most 15 characters */
#define VL_TOPOLOGY_NETNS_PREFIX  "virtlab-outside-"
/* Plain namespaces standing in for guests (`virtlab net`, tests): named
 * <prefix><id> so that cleanup by id finds them too. */
#define VL_TOPOLOGY_STAND_IN_PREFIX "virtlab-netguest-"

enum vl_topology_mode {
	VL_TOPOLOGY_BRIDGED,
	VL_TOPOLOGY_NAT,
};

struct vl_topology_opts {
	const char *id;    /* 1..VL_TOPOLOGY_ID_MAX of [a-z0-9] */
	const char *range; /* NULL: VL_TOPOLOGY_DEFAULT_RANGE; /23 or larger */
	unsigned slot;     /* which pair of /24s; topologies up at once need different slots */
	/* Optional: called with add=true BEFORE each netns, link or nft table
	 * is created, and add=false after it is released, with the kinds and
	 * ids of platforms/state.h (e.g. vl_state_track on a guest record). */
	int (*track)(void *data, const char *kind, const char *id, bool add, vl_error *err);
	void *track_data;
};

/* What a guest got from the topology. */
struct vl_topology_port {
	unsigned index;     /* n in the device names */
	char host_dev[16];  /* on the host: veth end or tap; where rate policies go */
	char guest_dev[16]; /* the guest's end ("" for a tap: the guest names it) */
	char address[16];   /* the guest's IPv4 address */
	unsigned prefix;    /* its prefix length */
	char gateway[16];   /* its default route */
};

struct vl_topology;

int vl_topology_create(enum vl_topology_mode mode, const struct vl_topology_opts *opts,
                       struct vl_topology **out, vl_error *err);
/* Stops the endpoint, removes every device, table and namespace it made
 * (restoring ip_forward, nat.h), frees t; goes on after a failure and reports the
 * first. NULL is a no-op. */
int vl_topology_destroy(struct vl_topology *t, vl_error *err);

/* A handle on a topology that is up (made by another process, e.g. `virtlab
 * net up` or the study), found by opts->id; mode and addresses are read from
 * its devices, opts->range and slot are ignored. Guests attach through it as
 * through the creator's handle (port indices are taken from the kernel's
 * links, so both may attach at once); opts->track gets what it makes. */
int vl_topology_open(const struct vl_topology_opts *opts, struct vl_topology **out, vl_error *err);
/* Frees a handle without removing anything: what an opened handle attached
 * belongs to its guests (guest_net.h), the topology to its creator. */
void vl_topology_release(struct vl_topology *t);
enum vl_topology_mode vl_topology_mode(const struct vl_topology *t);
const char *vl_topology_id(const struct vl_topology *t);

const char *vl_topology_mode_name(enum vl_topology_mode mode);
int vl_topology_mode_parse(const char *text, enum vl_topology_mode *mode, vl_error *err);
/* The outside host's address, e.g. "10.213.0.2". */
const char *vl_topology_outside_address(const struct vl_topology *t);
/* The host's address on the outside host's subnet (bridged: on the bridge). */
const char *vl_topology_host_address(const struct vl_topology *t);
const char *vl_topology_outside_netns(const struct vl_topology *t);

/* A veth into a guest's network namespace (a container's, by fd), with its
 * address, loopback up and a default route. */
int vl_topology_attach_netns(struct vl_topology *t, int netns_fd, struct vl_topology_port *port,
                             vl_error *err);
/* The same by the pid of a process in that namespace. */
int vl_topology_attach_pid(struct vl_topology *t, pid_t pid, struct vl_topology_port *port,
                           vl_error *err);
/* A persistent tap on the bridge for QEMU (-netdev tap,ifname=...,script=no);
 * the guest configures port->address itself. */
int vl_topology_attach_tap(struct vl_topology *t, struct vl_topology_port *port, vl_error *err);

/* A rate policy on an attached guest, both ways: a tbf on its host-side
 * device (what the guest receives) and, through ifb vl-i<n>-<id>, on what
 * enters that device (what the guest sends); see netlink.h. Once per port. */
int vl_topology_set_rate(struct vl_topology *t, const struct vl_topology_port *port,
                         uint64_t bits_per_sec, vl_error *err);

/* Starts the network workloads' endpoint in the outside host (on all its
 * addresses) and gives its port; it runs on threads of this process (their
 * sockets live in the outside namespace) until vl_topology_destroy. */
int vl_topology_serve(struct vl_topology *t, unsigned *port, vl_error *err);
/* An fd of the outside namespace, owned by t (for running things there). */
int vl_topology_outside_fd(const struct vl_topology *t);

/* Runs a workload once on a thread inside netns_fd (-1: here): a plain
 * namespace standing in for a guest. */
int vl_topology_run_workload(int netns_fd, const struct vl_params *p, const struct vl_run_ctx *ctx,
                             struct vl_result *r, vl_error *err);

/* Removes by name whatever topology `id` left (after kill -9): its netns
 * (and a stand-in guest's), links and nft table (restoring ip_forward, nat.h); NULL id: every
 * virtlab topology. For runs that kept no guest record; `virtlab cleanup` releases what a record
 * tracked. */
int vl_topology_cleanup(const char *id, vl_error *err);
