/* A guest's place in a network topology (runtime/topology.h), by the id in
 * its spec (net_topology): the platforms call these from start and stop.
 * Each device is tracked in the guest's record before it exists, so that
 * `virtlab cleanup` removes it after a crash, and what the guest got is kept
 * in g->record under "net": {"topology", "mode", "index", "host_dev",
 * "address", "prefix", "gateway"}. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "platforms/platform.h"
#include "runtime/topology.h"

/* Whether the spec asks for a network. */
bool vl_guest_net_wanted(const struct vl_guest *g);
/* A container: a veth whose peer is in pid's network namespace, with the
 * guest's address, loopback and default route set from the host. */
int vl_guest_net_attach_netns(struct vl_guest *g, pid_t pid, vl_error *err);
/* A QEMU guest: a tap on the topology's bridge, named in the record as "tap"
 * (the device qemu opens), and "net_boot" = "ADDRESS/PREFIX,GATEWAY" for the
 * kernel command line (virtlab.net=), which the guest's /init applies. */
int vl_guest_net_attach_tap(struct vl_guest *g, vl_error *err);
/* Removes the guest's host-side device (a container's veth also goes with
 * its namespace, but not at once) and forgets "net" and "tap"; no-op when
 * the guest is not attached. */
int vl_guest_net_detach(struct vl_guest *g, vl_error *err);
/* What the guest got; false when it is not attached. */
bool vl_guest_net_port(const struct vl_guest *g, struct vl_topology_port *port);
