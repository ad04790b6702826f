/* The far end of the network workloads: a TCP server that sinks, sources or
 * echoes, run by the agent's `serve` op and by `virtlab serve`. */
#pragma once
#include "core/error.h"

struct vl_net_endpoint;

/* Listens on addr:port (IPv4 or IPv6 literal; port 0 picks a free one) and
 * serves every client in background threads until stopped. */
int vl_net_endpoint_start(const char *addr, unsigned port, struct vl_net_endpoint **out,
                          vl_error *err);
unsigned vl_net_endpoint_port(const struct vl_net_endpoint *ep);
/* Closes the listener and every connection, joins the threads, frees ep. */
void vl_net_endpoint_stop(struct vl_net_endpoint *ep);

/* Wire protocol: every connection opens with a VL_NET_HELLO_SIZE-byte hello
 * from the client naming the mode and the message size; the endpoint closes
 * connections whose hello is malformed. */
#include <stdint.h>

enum vl_net_mode {
	VL_NET_SINK = 1,   /* the client sends, the endpoint discards */
	VL_NET_SOURCE = 2, /* the endpoint sends until the client closes */
	VL_NET_RR = 3,     /* the endpoint echoes messages of msg_size bytes */
};

#define VL_NET_HELLO_SIZE 16
/* Largest buffer (sink, source) or message (rr) a hello may ask for. */
#define VL_NET_MAX_MSG (16u << 20)

/* msg_size must be within 1..VL_NET_MAX_MSG. */
void vl_net_hello_encode(unsigned char *hello, enum vl_net_mode mode, uint32_t msg_size);
