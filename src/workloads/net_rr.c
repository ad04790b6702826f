/* net.rr: TCP request/response latency, netperf TCP_RR style: one
 * connection with TCP_NODELAY, a message of `size` bytes each way per
 * transaction, one transaction in flight. Latencies go into a log-linear
 * histogram (HdrHistogram's layout, relative bucket width 1/128), so a long
 * run needs no memory in its timed loop and percentiles are within 0.4%. */
#include "workloads/registry.h"
#include "workloads/net_client.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct vl_param_spec params[] = {
        VL_NET_TARGET_PARAMS,
        {.name = "size",
         .type = VL_PARAM_SIZE,
         .def = "1",
         .min = 1,
         .max = 1 << 20,
         .help = "bytes per request and per response (netperf TCP_RR -r)"},
        {.name = "count",
         .type = VL_PARAM_INT,
         .def = "0",
         .min = 0,
         .max = 1000000000,
         .help = "transactions to run; 0 runs for `duration` instead"},
        {.name = "duration",
         .type = VL_PARAM_DOUBLE,
         .def = "10",
         .min = 0.05,
         .max = 86400,
         .help = "seconds to run when count is 0 (netperf -l)"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "p50_us", .unit = "us", .better = -1, .help = "median transaction latency"},
        {.name = "p99_us", .unit = "us", .better = -1, .help = "99th percentile latency"},
        {.name = "mean_us", .unit = "us", .better = -1, .help = "mean transaction latency"},
        {.name = "transactions_per_sec",
         .unit = "1/s",
         .better = 1,
         .help = "transactions completed per second"},
        {0},
};

#define SUB_BITS 7
#define SUB      (1u << SUB_BITS)
/* Values below 2 * SUB ns are exact; above, each power of two has SUB buckets. */
#define BUCKETS ((64 - SUB_BITS) * SUB + SUB)

static size_t bucket_of(uint64_t ns)
{
	unsigned shift;

	if (ns < 2 * SUB)
		return (size_t)ns;
	shift = (unsigned)(63 - __builtin_clzll(ns)) - SUB_BITS;
	return (size_t)shift * SUB + (size_t)(ns >> shift);
}

/* The middle of bucket b, in ns. */
static double bucket_value(size_t b)
{
	unsigned shift;

	if (b < 2 * SUB)
		return (double)b;
	shift = (unsigned)(b / SUB) - 1;
	return ldexp((double)(b - (size_t)shift * SUB), (int)shift) +
	       (ldexp(1, (int)shift) - 1) / 2;
}

/* Nearest-rank percentile. */
static double percentile_ns(const uint64_t *hist, uint64_t n, double q)
{
	uint64_t rank = (uint64_t)ceil(q * (double)n), seen = 0;

	if (rank == 0)
		rank = 1;
	for (size_t b = 0; b < BUCKETS; b++) {
		seen += hist[b];
		if (seen >= rank)
			return bucket_value(b);
	}
	return 0;
}

struct rr_conn {
	struct vl_net_endpoint *private_ep;
	int fd;
};

static void rr_conn_release(struct rr_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	vl_net_endpoint_stop(c->private_ep);
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	static const int never;
	const volatile int *stop = ctx->stop ? ctx->stop : &never;
	const char *host = vl_param_str(p, "host");
	size_t size = (size_t)vl_param_int(p, "size");
	uint64_t count = (uint64_t)vl_param_int(p, "count");
	uint64_t duration_ns = (uint64_t)(vl_param_double(p, "duration") * 1e9);
	cleanup_free uint64_t *hist = calloc(BUCKETS, sizeof(*hist));
	cleanup_free char *req = malloc(size);
	cleanup_free char *resp = malloc(size);
	__attribute__((cleanup(rr_conn_release))) struct rr_conn conn = {.fd = -1};
	uint64_t done = 0, total_ns = 0, start, now;
	unsigned port;
	int rc = 0;

	if (!hist || !req || !resp)
		return vl_error_errno(err, ENOMEM, "allocating %zu-byte messages", size);
	memset(req, 'q', size);
	if (vl_net_target(host, (unsigned)vl_param_int(p, "port"), &conn.private_ep, &port, err) <
	    0)
		return -1;
	rc = vl_net_connect(host, port, VL_NET_RR, (uint32_t)size, stop, &conn.fd, err);
	if (rc < 0)
		return -1;
	start = now = vl_now_ns();
	while (!*stop && (count ? done < count : now - start < duration_ns)) {
		uint64_t sent_at = now;
		/* Each request differs, so a stale echo cannot pass the check below. */
		req[0] = (char)done;
		rc = vl_net_send_all(conn.fd, req, size, stop, err);
		if (rc == 0)
			rc = vl_net_recv_all(conn.fd, resp, size, stop, err);
		if (rc != 0)
			break;
		now = vl_now_ns();
		hist[bucket_of(now - sent_at)]++;
		total_ns += now - sent_at;
		done++;
	}
	if (rc < 0)
		return vl_error_wrap(err, "transaction %llu", (unsigned long long)done + 1);
	if (done == 0)
		return vl_result_fail(r, "stopped before the first transaction completed");
	/* resp holds the last completed transaction's echo. */
	req[0] = (char)(done - 1);
	if (memcmp(req, resp, size) != 0)
		return vl_result_fail(r, "the endpoint's response differs from the request");
	vl_result_set(r, "p50_us", percentile_ns(hist, done, 0.50) / 1e3);
	vl_result_set(r, "p99_us", percentile_ns(hist, done, 0.99) / 1e3);
	vl_result_set(r, "mean_us", (double)total_ns / (double)done / 1e3);
	vl_result_set(r, "transactions_per_sec", (double)done * 1e9 / (double)(now - start));
	return 0;
}

const struct vl_workload vl_workload_net_rr = {
        .name = "net.rr",
        .summary = "TCP request/response latency percentiles over one connection (netperf TCP_RR)",
        .thesis = "none (latency alongside w3, network)",
        .params = params,
        .metrics = metrics,
        .run = run,
};
