/* The network endpoint: one accept thread plus one thread per connection.
 * Only the accept thread touches the connection list until stop() has joined
 * it, so the list needs no lock; stop() then shuts every socket down, which
 * wakes threads blocked in recv, send or poll, and joins them. */
#include "workloads/net_endpoint.h"
#include "core/netaddr.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const unsigned char hello_magic[4] = {'V', 'L', 'N', '1'};

/* Beyond this many live connections new ones are closed at once, so a flood
 * of clients cannot exhaust threads or memory. */
#define MAX_CONNECTIONS 512
/* A client that has not sent its hello by then is dropped. */
#define HELLO_TIMEOUT_MS 10000
/* How often the accept thread reaps finished connections when idle. */
#define REAP_INTERVAL_MS 1000

struct conn {
	struct conn *next;
	int fd;
	pthread_t thread;
	atomic_bool done;
};

struct vl_net_endpoint {
	int listen_fd;
	int wake[2]; /* stop() writes to wake[1] to end the accept loop */
	unsigned port;
	pthread_t accept_thread;
	struct conn *conns;
	unsigned nconns;
};

void vl_net_hello_encode(unsigned char *hello, enum vl_net_mode mode, uint32_t msg_size)
{
	uint32_t be = htonl(msg_size);

	memset(hello, 0, VL_NET_HELLO_SIZE);
	memcpy(hello, hello_magic, sizeof(hello_magic));
	hello[4] = (unsigned char)mode;
	memcpy(hello + 8, &be, sizeof(be));
}

static bool hello_decode(const unsigned char *hello, enum vl_net_mode *mode, uint32_t *msg_size)
{
	static const unsigned char zero[VL_NET_HELLO_SIZE];
	uint32_t be;

	memcpy(&be, hello + 8, sizeof(be));
	*msg_size = ntohl(be);
	*mode = (enum vl_net_mode)hello[4];
	return memcmp(hello, hello_magic, sizeof(hello_magic)) == 0 &&
	       memcmp(hello + 5, zero, 3) == 0 && memcmp(hello + 12, zero, 4) == 0 &&
	       (*mode == VL_NET_SINK || *mode == VL_NET_SOURCE || *mode == VL_NET_RR) &&
	       *msg_size >= 1 && *msg_size <= VL_NET_MAX_MSG;
}

/* Reads the hello within HELLO_TIMEOUT_MS however slowly it trickles in. */
static bool read_hello(int fd, unsigned char *hello)
{
	uint64_t deadline = vl_now_ns() + HELLO_TIMEOUT_MS * 1000000ull;
	size_t got = 0;

	while (got < VL_NET_HELLO_SIZE) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = vl_now_ns();
		ssize_t n;

		if (now >= deadline)
			return false;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		n = recv(fd, hello + got, VL_NET_HELLO_SIZE - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return false;
		if (n > 0)
			got += (size_t)n;
	}
	return true;
}

static void sink(int fd, char *buf, size_t len)
{
	ssize_t n;

	while ((n = recv(fd, buf, len, 0)) > 0 || (n < 0 && errno == EINTR))
		;
}

static void source(int fd, char *buf, size_t len)
{
	ssize_t n;

	memset(buf, 'v', len);
	while ((n = send(fd, buf, len, MSG_NOSIGNAL)) > 0 || (n < 0 && errno == EINTR))
		;
}

/* Echoes whole messages; a client that vanishes mid-message ends the loop. */
static void echo(int fd, char *buf, size_t len)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		size_t got = 0, sent = 0;
		while (got < len) {
			ssize_t n = recv(fd, buf + got, len - got, 0);
			if (n == 0 || (n < 0 && errno != EINTR))
				return;
			if (n > 0)
				got += (size_t)n;
		}
		while (sent < len) {
			ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
			if (n < 0 && errno != EINTR)
				return;
			if (n > 0)
				sent += (size_t)n;
		}
	}
}

static void *serve_connection(void *arg)
{
	struct conn *c = arg;
	unsigned char hello[VL_NET_HELLO_SIZE];
	enum vl_net_mode mode;
	uint32_t len;
	cleanup_free char *buf = NULL;

	if (read_hello(c->fd, hello) && hello_decode(hello, &mode, &len) && (buf = malloc(len))) {
		if (mode == VL_NET_SINK)
			sink(c->fd, buf, len);
		else if (mode == VL_NET_SOURCE)
			source(c->fd, buf, len);
		else
			echo(c->fd, buf, len);
	}
	atomic_store(&c->done, true);
	return NULL;
}

static void release_connection(struct conn *c)
{
	pthread_join(c->thread, NULL);
	close(c->fd);
	free(c);
}

static void reap_finished(struct vl_net_endpoint *ep)
{
	struct conn **link = &ep->conns;

	while (*link) {
		struct conn *c = *link;
		if (atomic_load(&c->done)) {
			*link = c->next;
			release_connection(c);
			ep->nconns--;
		} else {
			link = &c->next;
		}
	}
}

static void add_connection(struct vl_net_endpoint *ep, int fd)
{
	struct conn *c;

	if (ep->nconns >= MAX_CONNECTIONS || !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->fd = fd;
	atomic_init(&c->done, false);
	if (pthread_create(&c->thread, NULL, serve_connection, c) != 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = ep->conns;
	ep->conns = c;
	ep->nconns++;
}

static void *accept_loop(void *arg)
{
	struct vl_net_endpoint *ep = arg;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = ep->listen_fd, .events = POLLIN},
		                        {.fd = ep->wake[0], .events = POLLIN}};
		int fd;

		reap_finished(ep);
		if (poll(pfd, 2, REAP_INTERVAL_MS) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(ep->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			add_connection(ep, fd);
		else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			/* The pending connection stays queued; back off rather than spin. */
			vl_sleep_ns(10000000, NULL);
	}
	return NULL;
}

static int open_listener(const char *addr, unsigned port, int *out, unsigned *bound_port,
                         vl_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int one = 1;
	cleanup_close int fd = -1;

	if (vl_sockaddr_parse(addr, port, &ss, &sslen, err) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vl_error_errno(err, errno, "creating a socket for %s", addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0)
		return vl_error_errno(err, errno, "binding %s port %u", addr, port);
	if (listen(fd, 128) < 0)
		return vl_error_errno(err, errno, "listening on %s port %u", addr, port);
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return vl_error_errno(err, errno, "reading the port bound on %s", addr);
	*bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                             : ((struct sockaddr_in *)&ss)->sin_port);
	*out = vl_steal_fd(fd);
	return 0;
}

int vl_net_endpoint_start(const char *addr, unsigned port, struct vl_net_endpoint **out,
                          vl_error *err)
{
	cleanup_free struct vl_net_endpoint *ep = calloc(1, sizeof(*ep));
	int rc;

	if (!ep)
		return vl_error_errno(err, ENOMEM, "allocating the network endpoint");
	if (open_listener(addr, port, &ep->listen_fd, &ep->port, err) < 0)
		return vl_error_wrap(err, "starting the network endpoint");
	if (pipe2(ep->wake, O_CLOEXEC) < 0) {
		rc = errno;
		close(ep->listen_fd);
		return vl_error_errno(err, rc, "starting the network endpoint");
	}
	rc = pthread_create(&ep->accept_thread, NULL, accept_loop, ep);
	if (rc != 0) {
		close(ep->listen_fd);
		close(ep->wake[0]);
		close(ep->wake[1]);
		return vl_error_errno(err, rc, "starting the network endpoint's thread");
	}
	*out = vl_steal_ptr(ep);
	return 0;
}

unsigned vl_net_endpoint_port(const struct vl_net_endpoint *ep)
{
	return ep->port;
}

void vl_net_endpoint_stop(struct vl_net_endpoint *ep)
{
	char byte = 0;

	if (!ep)
		return;
	while (write(ep->wake[1], &byte, 1) < 0 && errno == EINTR)
		;
	pthread_join(ep->accept_thread, NULL);
	close(ep->listen_fd);
	for (struct conn *c = ep->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (ep->conns) {
		struct conn *c = ep->conns;
		ep->conns = c->next;
		release_connection(c);
	}
	close(ep->wake[0]);
	close(ep->wake[1]);
	free(ep);
}
