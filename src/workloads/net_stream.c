/* net.stream: iperf3-like TCP bulk transfer to an endpoint (thesis w3). As
 * iperf3 reports, the figure is the bytes the client sent (or received, with
 * direction=recv like iperf3 -R) over the time it spent doing so; each
 * stream is one connection served by its own thread. */
#include "workloads/registry.h"
#include "workloads/net_client.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How often the idle main thread looks at the clock and ctx->stop. Each
 * wakeup can land on the sender's core and preempt or migrate it: at 10 ms
 * this cost a few percent of single-stream loopback throughput. 100 ms is
 * the stop latency the socket calls already have (WAKE_MS in net_client.c). */
#define TICK_NS 100000000ull

static const struct vl_param_spec params[] = {
        VL_NET_TARGET_PARAMS,
        {.name = "duration",
         .type = VL_PARAM_DOUBLE,
         .def = "10",
         .min = 0.05,
         .max = 86400,
         .help = "seconds of transfer (iperf3 -t)"},
        {.name = "streams",
         .type = VL_PARAM_INT,
         .def = "1",
         .min = 1,
         .max = 128,
         .help = "parallel connections, one thread each (iperf3 -P)"},
        {.name = "direction",
         .type = VL_PARAM_CHOICE,
         .def = "send",
         .choices = "send,recv",
         .help = "send: client to endpoint; recv: endpoint to client (iperf3 -R)"},
        {.name = "buffer",
         .type = VL_PARAM_SIZE,
         .def = "128K",
         .min = 1024,
         .max = VL_NET_MAX_MSG,
         .help = "bytes per send or receive call (iperf3 -l)"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "gbps",
         .unit = "Gbit/s",
         .better = 1,
         .help = "throughput over all streams, 10^9 bits per second as iperf3 reports"},
        {.name = "bytes", .unit = "B", .better = 1, .help = "bytes the client moved"},
        {.name = "seconds", .unit = "s", .better = -1, .help = "time the client spent moving them"},
        {0},
};

struct stream {
	pthread_t thread;
	bool started;
	int fd;
	enum vl_net_mode mode;
	char *buf;
	size_t len;
	const volatile int *quit;
	uint64_t start_ns, end_ns;
	uint64_t bytes;
	int rc;
	vl_error err;
};

static void *stream_main(void *arg)
{
	struct stream *s = arg;

	s->start_ns = vl_now_ns();
	s->rc = vl_net_pump(s->fd, s->mode, s->buf, s->len, s->quit, &s->bytes, &s->err);
	s->end_ns = vl_now_ns();
	return NULL;
}

struct transfer {
	struct vl_net_endpoint *private_ep;
	struct stream *streams;
	unsigned n;
	volatile int quit;
};

static void transfer_release(struct transfer *t)
{
	t->quit = 1;
	for (unsigned i = 0; t->streams && i < t->n; i++) {
		struct stream *s = &t->streams[i];
		if (s->started)
			pthread_join(s->thread, NULL);
		if (s->fd >= 0)
			close(s->fd);
		free(s->buf);
	}
	free(t->streams);
	vl_net_endpoint_stop(t->private_ep);
}

/* Connects every stream before the clock starts, as iperf3 does. Returns 1
 * when stopped first. */
static int connect_streams(struct transfer *t, const struct vl_params *p, const volatile int *stop,
                           vl_error *err)
{
	const char *host = vl_param_str(p, "host");
	size_t len = (size_t)vl_param_int(p, "buffer");
	enum vl_net_mode mode =
	        strcmp(vl_param_str(p, "direction"), "send") == 0 ? VL_NET_SINK : VL_NET_SOURCE;
	unsigned port;
	int rc;

	if (vl_net_target(host, (unsigned)vl_param_int(p, "port"), &t->private_ep, &port, err) < 0)
		return -1;
	t->n = (unsigned)vl_param_int(p, "streams");
	t->streams = calloc(t->n, sizeof(*t->streams));
	if (!t->streams)
		return vl_error_errno(err, ENOMEM, "allocating %u streams", t->n);
	for (unsigned i = 0; i < t->n; i++)
		t->streams[i].fd = -1;
	for (unsigned i = 0; i < t->n; i++) {
		struct stream *s = &t->streams[i];
		*s = (struct stream){.fd = -1, .mode = mode, .len = len, .quit = &t->quit};
		s->buf = malloc(len);
		if (!s->buf)
			return vl_error_errno(err, ENOMEM, "allocating a %zu-byte buffer", len);
		memset(s->buf, 'c', len);
		rc = vl_net_connect(host, port, mode, (uint32_t)len, stop, &s->fd, err);
		if (rc != 0)
			return rc < 0 ? vl_error_wrap(err, "stream %u", i + 1) : 1;
	}
	return 0;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	static const int never;
	const volatile int *stop = ctx->stop ? ctx->stop : &never;
	uint64_t duration_ns = (uint64_t)(vl_param_double(p, "duration") * 1e9);
	uint64_t first = UINT64_MAX, last = 0, bytes = 0, start;
	json_t *per_stream;
	__attribute__((cleanup(transfer_release))) struct transfer t = {0};
	int rc = connect_streams(&t, p, stop, err);

	if (rc != 0)
		return rc < 0 ? -1 : vl_result_fail(r, "stopped while connecting");
	start = vl_now_ns();
	for (unsigned i = 0; i < t.n; i++) {
		rc = pthread_create(&t.streams[i].thread, NULL, stream_main, &t.streams[i]);
		if (rc != 0)
			return vl_error_errno(err, rc, "starting stream %u", i + 1);
		t.streams[i].started = true;
	}
	while (!*stop && vl_now_ns() - start < duration_ns) {
		uint64_t left = duration_ns - (vl_now_ns() - start);
		vl_sleep_ns(left < TICK_NS ? left : TICK_NS, stop);
	}
	t.quit = 1;
	per_stream = json_array();
	for (unsigned i = 0; i < t.n; i++) {
		struct stream *s = &t.streams[i];
		pthread_join(s->thread, NULL);
		s->started = false;
		if (s->rc < 0) {
			json_decref(per_stream);
			*err = s->err;
			return vl_error_wrap(err, "stream %u", i + 1);
		}
		first = s->start_ns < first ? s->start_ns : first;
		last = s->end_ns > last ? s->end_ns : last;
		bytes += s->bytes;
		json_array_append_new(per_stream, json_real((double)s->bytes * 8 /
		                                            (double)(s->end_ns - s->start_ns)));
	}
	r->extra = json_pack("{s:o}", "stream_gbps", per_stream);
	if (bytes == 0)
		return vl_result_fail(r, "no data moved");
	vl_result_set(r, "gbps", (double)bytes * 8 / (double)(last - first));
	vl_result_set(r, "bytes", (double)bytes);
	vl_result_set(r, "seconds", (double)(last - first) / 1e9);
	return 0;
}

const struct vl_workload vl_workload_net_stream = {
        .name = "net.stream",
        .summary = "TCP bulk transfer to an endpoint over parallel streams, in Gbit/s (iperf3)",
        .thesis = "w3 (network bandwidth, iperf)",
        .params = params,
        .metrics = metrics,
        .run = run,
};
