/* hello and run: the ops that answer within the request. */
#include "agent/session.h"
#include "core/cleanup.h"

int vl_agent_op_hello(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                      vl_error *err)
{
	(void)s;
	(void)req;
	(void)code;
	(void)err;
	*result = vl_agent_facts();
	return 0;
}

int vl_agent_op_run(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                    vl_error *err)
{
	struct vl_params p;
	struct vl_run_ctx ctx = {.stop = s->stop, .workdir = s->workdir};
	unsigned repeat, warmup;
	cleanup_json json_t *samples = NULL;

	if (vl_agent_arg_workload(req, "run", false, &p, code, err) < 0 ||
	    vl_agent_arg_uint(req, "run", "repeat", 1, 1, 10000, &repeat, err) < 0 ||
	    vl_agent_arg_uint(req, "run", "warmup", 0, 0, 10000, &warmup, err) < 0)
		return -1;
	samples = json_array();
	for (unsigned i = 0; i < warmup + repeat; i++) {
		struct vl_result r;
		int rc = vl_workload_run_once(&p, &ctx, &r, err);
		if (rc == 0 && i >= warmup)
			json_array_append_new(samples, vl_result_to_json(&r));
		vl_result_release(&r);
		if (rc < 0) {
			*code = "bad-params";
			return -1;
		}
		/* A stopped workload returns early with partial figures: they
		 * must not pass for a sample. */
		if (*s->stop)
			return vl_error_set(err,
			                    "run: %s stopped during run %u of %u: the agent "
			                    "is stopping",
			                    p.workload->name, i + 1, warmup + repeat);
	}
	*result = json_pack("{s:s, s:o, s:O}", "workload", p.workload->name, "params",
	                    vl_params_to_json(&p), "samples", samples);
	return 0;
}
