/* Network endpoints for the net.* workloads, run inside the agent so that the
 * far end of a measurement sits in the guest. */
#include "agent/session.h"
#include "workloads/net_endpoint.h"

#include <stdlib.h>

int vl_agent_op_serve(struct vl_agent_session *s, json_t *req, json_t **result, const char **code,
                      vl_error *err)
{
	struct endpoint *e;
	const char *address;
	unsigned port;

	(void)code;
	/* All addresses by default: the host reaches a guest from outside it. */
	if (vl_agent_arg_string(req, "serve", "address", "0.0.0.0", &address, err) < 0 ||
	    vl_agent_arg_uint(req, "serve", "port", 0, 0, 65535, &port, err) < 0)
		return -1;
	e = calloc(1, sizeof(*e));
	if (!e)
		return vl_error_set(err, "serve: out of memory");
	if (vl_net_endpoint_start(address, port, &e->ep, err) < 0) {
		free(e);
		return vl_error_wrap(err, "serve");
	}
	e->port = vl_net_endpoint_port(e->ep);
	e->next = s->endpoints;
	s->endpoints = e;
	*result = json_pack("{s:s, s:i}", "address", address, "port", (json_int_t)e->port);
	return 0;
}

int vl_agent_op_serve_stop(struct vl_agent_session *s, json_t *req, json_t **result,
                           const char **code, vl_error *err)
{
	struct endpoint **link, *e;
	unsigned port;

	(void)code;
	if (vl_agent_arg_uint(req, "serve-stop", "port", -1, 1, 65535, &port, err) < 0)
		return -1;
	for (link = &s->endpoints; *link && (*link)->port != port; link = &(*link)->next)
		;
	if (!*link)
		return vl_error_input(err, "serve-stop: no endpoint is serving port %u", port);
	e = *link;
	*link = e->next;
	vl_net_endpoint_stop(e->ep);
	free(e);
	*result = json_pack("{s:i}", "port", (json_int_t)port);
	return 0;
}

void vl_agent_stop_endpoints(struct vl_agent_session *s)
{
	struct endpoint *e;

	while ((e = s->endpoints)) {
		s->endpoints = e->next;
		vl_net_endpoint_stop(e->ep);
		free(e);
	}
}
