/* Internal to src/agent: one session is one serve loop over one channel. The
 * ops live in ops_*.c; agent.c reads requests, dispatches and replies. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include "agent/agent.h"
#include "workloads/workload.h"

#define VL_AGENT_PROTOCOL 1

struct stressor {
	struct stressor *next;
	unsigned id;
	pid_t pid;
	int result_fd; /* the child writes its result JSON here, then exits */
	char workload[64];
};

struct endpoint {
	struct endpoint *next;
	unsigned port;
	struct vl_net_endpoint *ep;
};

struct vl_agent_session {
	const char *workdir;
	const char *prepare; /* see vl_agent_options */
	bool *prepared;
	const volatile int *stop; /* never NULL: points at never_stop when no caller flag */
	int never_stop;
	struct stressor *stressors;
	unsigned next_stress_id;
	struct endpoint *endpoints;
	bool shutdown; /* set by the shutdown op: serving ends after its reply */
};

/* An op fills *result (a new object) or fails; for input errors it may set
 * *code to a protocol error code ("bad-params"); the default is "bad-request"
 * for input errors and "failed" otherwise. */
typedef int (*vl_agent_op_fn)(struct vl_agent_session *s, json_t *req, json_t **result,
                              const char **code, vl_error *err);

int vl_agent_op_hello(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                      vl_error *err);
int vl_agent_op_run(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                    vl_error *err);
int vl_agent_op_stress_start(struct vl_agent_session *s, json_t *req, json_t **result,
                             const char **code, vl_error *err);
int vl_agent_op_stress_stop(struct vl_agent_session *s, json_t *req, json_t **result,
                            const char **code, vl_error *err);
int vl_agent_op_serve(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                      vl_error *err);
int vl_agent_op_exec(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                     vl_error *err);
int vl_agent_op_serve_stop(struct vl_agent_session *s, json_t *req, json_t **result,
                           const char **code, vl_error *err);

/* Releases what the ops started: stressors are stopped, endpoints closed. */
void vl_agent_stop_stressors(struct vl_agent_session *s);
void vl_agent_stop_endpoints(struct vl_agent_session *s);

/* Argument access for ops: a missing optional argument gives the default; a
 * wrong type or value is an input error naming the argument. def NULL: required. */
int vl_agent_arg_string(json_t *req, const char *op, const char *name, const char *def,
                        const char **out, vl_error *err);
/* def < 0: the argument is required. */
int vl_agent_arg_uint(json_t *req, const char *op, const char *name, long long def, unsigned min,
                      unsigned max, unsigned *out, vl_error *err);
int vl_agent_arg_double(json_t *req, const char *op, const char *name, double def, double min,
                        double max, double *out, vl_error *err);
/* The workload named by "workload" (a stressor when asked), with "params"
 * applied and validated; errors are "bad-params". */
int vl_agent_arg_workload(json_t *req, const char *op, bool stressor, struct vl_params *p,
                          const char **code, vl_error *err);

/* facts.c: what hello reports. */
json_t *vl_agent_facts(void);
