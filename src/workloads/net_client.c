#include "workloads/net_client.h"
#include "core/netaddr.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

/* Blocked socket calls return after this long so loops can look at their
 * stop flag; it costs nothing while data flows. */
#define WAKE_MS           100
#define CONNECT_TIMEOUT_S 10

int vl_net_target(const char *host, unsigned port, struct vl_net_endpoint **private_ep,
                  unsigned *port_out, vl_error *err)
{
	*private_ep = NULL;
	*port_out = port;
	if (port != 0)
		return 0;
	if (vl_net_endpoint_start(host, 0, private_ep, err) < 0)
		return vl_error_wrap(err, "port 0 asks for a private endpoint on host %s", host);
	*port_out = vl_net_endpoint_port(*private_ep);
	return 0;
}

static bool would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* connect() on a socket with SO_SNDTIMEO gives up with EINPROGRESS while
 * the handshake goes on; finish it here, watching *quit. */
static int finish_connect(int fd, const volatile int *quit)
{
	uint64_t deadline = vl_now_ns() + CONNECT_TIMEOUT_S * 1000000000ull;
	socklen_t len = sizeof(int);
	int soerr = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int rc = poll(&pfd, 1, WAKE_MS);
		if (rc > 0)
			break;
		if (rc < 0 && errno != EINTR)
			return errno;
		if (*quit)
			return ECANCELED; /* not an error: the caller sees *quit */
		if (vl_now_ns() > deadline)
			return ETIMEDOUT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return errno;
	return soerr;
}

static int connect_one(const struct sockaddr_storage *ss, socklen_t sslen, bool nodelay,
                       const volatile int *quit, int *out)
{
	struct timeval wake = {.tv_sec = 0, .tv_usec = WAKE_MS * 1000};
	int one = 1, rc = 0;
	cleanup_close int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wake, sizeof(wake));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof(wake));
	/* As netperf TCP_RR does; bulk transfer keeps Nagle, as iperf3 does. */
	if (nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, sslen) < 0) {
		rc = errno;
		if (rc == EINPROGRESS || rc == EAGAIN || rc == EINTR)
			rc = finish_connect(fd, quit);
	}
	if (rc == 0)
		*out = vl_steal_fd(fd);
	return rc;
}

int vl_net_connect(const char *host, unsigned port, enum vl_net_mode mode, uint32_t msg_size,
                   const volatile int *quit, int *out, vl_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned char hello[VL_NET_HELLO_SIZE];
	int rc, last;
	cleanup_close int fd = -1;

	if (vl_sockaddr_parse(host, port, &ss, &sslen, err) < 0)
		return -1;
	last = connect_one(&ss, sslen, mode == VL_NET_RR, quit, &fd);
	if (*quit)
		return 1;
	if (fd < 0)
		return vl_error_errno(err, last, "connecting to %s port %u", host, port);
	vl_net_hello_encode(hello, mode, msg_size);
	rc = vl_net_send_all(fd, (const char *)hello, sizeof(hello), quit, err);
	if (rc < 0)
		return vl_error_wrap(err, "greeting %s port %u", host, port);
	if (rc == 0)
		*out = vl_steal_fd(fd);
	return rc;
}

int vl_net_pump(int fd, enum vl_net_mode mode, char *buf, size_t len, const volatile int *quit,
                uint64_t *bytes, vl_error *err)
{
	uint64_t moved = 0;

	while (!*quit) {
		ssize_t n = mode == VL_NET_SINK ? send(fd, buf, len, MSG_NOSIGNAL)
		                                : recv(fd, buf, len, 0);
		if (n > 0) {
			moved += (uint64_t)n;
			continue;
		}
		if (n < 0 && would_block())
			continue;
		*bytes = moved;
		if (n == 0)
			return vl_error_set(err, "the endpoint closed the connection");
		return vl_error_errno(err, errno, mode == VL_NET_SINK ? "sending" : "receiving");
	}
	*bytes = moved;
	return 0;
}

int vl_net_send_all(int fd, const char *buf, size_t len, const volatile int *quit, vl_error *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && would_block()) {
			if (*quit)
				return 1;
		} else {
			return vl_error_errno(err, errno, "sending");
		}
	}
	return 0;
}

int vl_net_recv_all(int fd, char *buf, size_t len, const volatile int *quit, vl_error *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = recv(fd, buf + done, len - done, 0);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && would_block()) {
			if (*quit)
				return 1;
		} else if (n == 0) {
			return vl_error_set(err, "the endpoint closed the connection");
		} else {
			return vl_error_errno(err, errno, "receiving");
		}
	}
	return 0;
}
