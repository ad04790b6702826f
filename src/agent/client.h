/* The host side of the agent protocol (docs/agent-protocol.md): JSON lines
 * over one bidirectional byte stream. */
#pragma once
#include <jansson.h>
#include "core/error.h"

struct vl_agent_client;

/* Takes ownership of fd. */
int vl_agent_client_new(int fd, struct vl_agent_client **out, vl_error *err);
void vl_agent_client_free(struct vl_agent_client *c);

/* Sends {"id", "op", ...args} and waits up to timeout_s for the reply with the
 * same id. On {"ok": true} stores the "result" member (new reference) in
 * *result; on {"ok": false} fails with the agent's message. args may be NULL;
 * it is not stolen. */
int vl_agent_call(struct vl_agent_client *c, const char *op, json_t *args, double timeout_s,
                  json_t **result, vl_error *err);

/* Convenience wrappers. */
int vl_agent_hello(struct vl_agent_client *c, double timeout_s, json_t **facts, vl_error *err);
/* result: {"workload", "params" (resolved), "samples": [result json...]} */
int vl_agent_run(struct vl_agent_client *c, const char *workload, json_t *params, unsigned repeat,
                 unsigned warmup, double timeout_s, json_t **result, vl_error *err);
int vl_agent_shutdown(struct vl_agent_client *c, double timeout_s, vl_error *err);

/* The protocol error code of the last call's error reply ("bad-params",
 * "unknown-op" ...); "" when the last call failed for another reason or did
 * not fail. Codes other than "failed" map to input errors (exit code 2). */
const char *vl_agent_client_error_code(const struct vl_agent_client *c);

/* Starts a stressor in the background; *id names it for vl_agent_stress_stop. */
int vl_agent_stress_start(struct vl_agent_client *c, const char *workload, json_t *params,
                          double timeout_s, unsigned *id, vl_error *err);
/* Stops it and gives its own result (new reference) in *sample, if not NULL. */
int vl_agent_stress_stop(struct vl_agent_client *c, unsigned id, double timeout_s, json_t **sample,
                         vl_error *err);
/* Starts a network endpoint (address NULL: the agent's default, 0.0.0.0;
 * port 0: any free port) and gives the port it listens on. */
int vl_agent_serve_start(struct vl_agent_client *c, const char *address, unsigned port,
                         double timeout_s, unsigned *bound_port, vl_error *err);
int vl_agent_serve_stop(struct vl_agent_client *c, unsigned port, double timeout_s, vl_error *err);
