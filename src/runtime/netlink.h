/* Links, addresses, routes and rate limits through rtnetlink (libmnl), for
 * the network test topology. Every operation names the device in its error.
 *
 * A handle is one rtnetlink socket, and a socket acts for good in the network
 * namespace it was created in: vl_netlink_open() with a namespace fd creates
 * it on a helper thread that has entered that namespace (netns.h), so the
 * caller configures a guest's namespace without moving any of its own
 * threads. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

struct vl_netlink;

/* netns_fd: a network namespace (/run/netns/NAME, /proc/PID/ns/net) or -1
 * for the caller's own. */
int vl_netlink_open(int netns_fd, struct vl_netlink **out, vl_error *err);
void vl_netlink_close(struct vl_netlink *nl);

/* A veth pair; the peer is created directly in peer_netns_fd (-1: the
 * handle's namespace), so it never appears on the host. */
int vl_netlink_create_veth(struct vl_netlink *nl, const char *name, const char *peer,
                           int peer_netns_fd, vl_error *err);
int vl_netlink_create_bridge(struct vl_netlink *nl, const char *name, vl_error *err);
int vl_netlink_create_dummy(struct vl_netlink *nl, const char *name, vl_error *err);
/* A persistent tap (QEMU opens it by name with script=no); in the caller's
 * namespace, since /dev/net/tun creates it where the caller is. */
int vl_netlink_create_tap(const char *name, vl_error *err);
/* Deleting a link that does not exist succeeds when missing_ok. */
int vl_netlink_delete_link(struct vl_netlink *nl, const char *name, bool missing_ok, vl_error *err);
int vl_netlink_link_exists(struct vl_netlink *nl, const char *name, bool *exists, vl_error *err);
/* Names of the links whose name starts with prefix; free with vl_netlink_names_free. */
int vl_netlink_list_links(struct vl_netlink *nl, const char *prefix, char ***names, size_t *count,
                          vl_error *err);
void vl_netlink_names_free(char **names, size_t count);

int vl_netlink_move_link(struct vl_netlink *nl, const char *name, int netns_fd, vl_error *err);
int vl_netlink_set_up(struct vl_netlink *nl, const char *name, bool up, vl_error *err);
int vl_netlink_set_master(struct vl_netlink *nl, const char *name, const char *bridge,
                          vl_error *err);
/* cidr: "10.213.0.1/24". */
int vl_netlink_add_address(struct vl_netlink *nl, const char *name, const char *cidr,
                           vl_error *err);
/* The first IPv4 address of name as "10.213.0.1/24"; "" when it has none. */
int vl_netlink_get_address(struct vl_netlink *nl, const char *name, char *cidr, size_t size,
                           vl_error *err);
/* dst: "default" or "10.213.1.0/24"; gateway NULL for an on-link route
 * (then dev is needed); dev NULL to let the gateway pick it. */
int vl_netlink_add_route(struct vl_netlink *nl, const char *dst, const char *gateway,
                         const char *dev, vl_error *err);

/* Shapes what leaves dev to bits_per_sec with a tbf root qdisc (replacing
 * any root qdisc). On a guest's host-side device this limits the traffic
 * towards the guest. */
int vl_netlink_set_rate(struct vl_netlink *nl, const char *dev, uint64_t bits_per_sec,
                        vl_error *err);
/* Shapes what ENTERS dev (on a guest's host-side device: what the guest
 * sends) to bits_per_sec: an ingress qdisc on dev whose catch-all u32 filter
 * redirects (mirred) every packet to the ifb device `ifb`, created here, with
 * a tbf on its egress. Shaping rather than policing: this kernel has no
 * police action, and a queue treats TCP more evenly than drops. The caller
 * tracks and deletes ifb; deleting dev or ifb undoes the redirect. */
int vl_netlink_set_ingress_rate(struct vl_netlink *nl, const char *dev, const char *ifb,
                                uint64_t bits_per_sec, vl_error *err);
/* Removes the root qdisc again; a device without one is not an error. */
int vl_netlink_clear_rate(struct vl_netlink *nl, const char *dev, vl_error *err);

/* "10.213.0.1/24" -> address and prefix length; input errors name the text. */
int vl_netlink_parse_cidr(const char *cidr, uint32_t *addr_be, unsigned *prefix, vl_error *err);
