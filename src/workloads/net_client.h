/* The client side of the network workloads (net.stream, net.rr, stress.net):
 * connecting to an endpoint, or starting a private one, and moving data. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "workloads/net_endpoint.h"

/* The host:port a workload talks to. Port 0 starts a private endpoint on host
 * (then a local literal address) for this run; *private_ep is set to it, or to
 * NULL, and the caller stops it. */
int vl_net_target(const char *host, unsigned port, struct vl_net_endpoint **private_ep,
                  unsigned *port_out, vl_error *err);

/* Connects to host:port and sends the hello. A blocked connect, send or recv
 * on the returned socket wakes every 100 ms, so callers can notice *quit.
 * Returns 0 when connected, 1 when *quit was set first, -1 on error. */
int vl_net_connect(const char *host, unsigned port, enum vl_net_mode mode, uint32_t msg_size,
                   const volatile int *quit, int *fd, vl_error *err);

/* Bulk transfer until *quit: sends buf over and over (VL_NET_SINK) or
 * receives into it (VL_NET_SOURCE). *bytes gets the bytes moved, also on error. */
int vl_net_pump(int fd, enum vl_net_mode mode, char *buf, size_t len, const volatile int *quit,
                uint64_t *bytes, vl_error *err);

/* Sends or receives exactly len bytes. Returns 0 when done, 1 when *quit was
 * set first, -1 on error (including the peer closing). */
int vl_net_send_all(int fd, const char *buf, size_t len, const volatile int *quit, vl_error *err);
int vl_net_recv_all(int fd, char *buf, size_t len, const volatile int *quit, vl_error *err);

/* The "host" and "port" parameters of every workload that talks to an
 * endpoint, as vl_net_target reads them. */
#define VL_NET_TARGET_PARAMS                                                                       \
	{.name = "host",                                                                           \
	 .type = VL_PARAM_STRING,                                                                  \
	 .def = "127.0.0.1",                                                                       \
	 .help = "endpoint address; with port=0, the local address the private endpoint uses"},    \
	{                                                                                          \
		.name = "port", .type = VL_PARAM_INT, .def = "0", .min = 0, .max = 65535,          \
		.help = "endpoint port (virtlab serve, agent serve); 0 starts a private "          \
		        "endpoint on host"                                                         \
	}
