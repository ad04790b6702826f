/* stress.net: network stressor, each worker a bulk sender to host:port like
 * net.stream direction=send. One bogo op is one buffer's worth of bytes sent. */
#include "workloads/registry.h"
#include "workloads/stress_runner.h"
#include "workloads/net_client.h"
#include "core/cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct vl_param_spec params[] = {
        VL_STRESS_PARAMS,
        VL_NET_TARGET_PARAMS,
        {.name = "buffer",
         .type = VL_PARAM_SIZE,
         .def = "128K",
         .min = 1024,
         .max = VL_NET_MAX_MSG,
         .help = "bytes per send call"},
        {0},
};

struct net_job {
	const char *host;
	unsigned port;
	size_t len;
};

static int sender(void *arg, unsigned worker, const volatile int *quit, uint64_t *ops,
                  vl_error *err)
{
	const struct net_job *job = arg;
	cleanup_free char *buf = malloc(job->len);
	cleanup_close int fd = -1;
	uint64_t bytes = 0;
	int rc;

	(void)worker;
	*ops = 0;
	if (!buf)
		return vl_error_errno(err, ENOMEM, "allocating a %zu-byte buffer", job->len);
	memset(buf, 's', job->len);
	rc = vl_net_connect(job->host, job->port, VL_NET_SINK, (uint32_t)job->len, quit, &fd, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = vl_net_pump(fd, VL_NET_SINK, buf, job->len, quit, &bytes, err);
	*ops = bytes / job->len;
	return rc;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	struct net_job job = {.host = vl_param_str(p, "host"),
	                      .len = (size_t)vl_param_int(p, "buffer")};
	struct vl_net_endpoint *private_ep;
	int rc;

	if (vl_net_target(job.host, (unsigned)vl_param_int(p, "port"), &private_ep, &job.port,
	                  err) < 0)
		return -1;
	rc = vl_stress_run(p, ctx, sender, &job, r, err);
	vl_net_endpoint_stop(private_ep);
	return rc;
}

const struct vl_workload vl_workload_stress_net = {
        .name = "stress.net",
        .summary = "network stressor: workers send bulk TCP data to an endpoint",
        .thesis = "isolation experiments (chapter 6)",
        .params = params,
        .metrics = vl_stress_metrics,
        .run = run,
        .is_stressor = true,
};
