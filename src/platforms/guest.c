#include "platforms/platform.h"
#include "agent/client.h"
#include "platforms/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Guest names end up in paths, cgroup names and interface names. */
static bool name_ok(const char *name)
{
	if (!name[0] || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *c = name; *c; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
		    !(*c >= '0' && *c <= '9') && !strchr("._-", *c))
			return false;
	return true;
}

int vl_guest_new(const struct vl_platform *p, const struct vl_guest_spec *spec,
                 struct vl_guest **out, vl_error *err)
{
	const char *root = vl_data_root();
	struct vl_guest *g;
	int len;

	if (!name_ok(spec->name))
		return vl_error_input(err,
		                      "guest name '%s' must be letters, digits, '.', '_' or '-', "
		                      "not starting with '.' or '-'",
		                      spec->name);
	g = calloc(1, sizeof(*g));
	if (!g)
		return vl_error_errno(err, errno, "allocating guest %s", spec->name);
	g->platform = p;
	g->spec = *spec;
	g->record = json_object();
	len = snprintf(g->state_dir, sizeof(g->state_dir), "%s/guests/%s", root, spec->name);
	if (len < 0 || (size_t)len >= sizeof(g->state_dir)) {
		vl_guest_free(g);
		return vl_error_input(err, "VIRTLAB_DATA '%s' is too long", root);
	}
	*out = g;
	return 0;
}

void vl_guest_free(struct vl_guest *g)
{
	if (!g)
		return;
	json_decref(g->record);
	free(g);
}

int vl_guest_agent_call(struct vl_guest *g, const char *op, double timeout_s, json_t **result,
                        vl_error *err)
{
	struct vl_agent_client *c = NULL;
	json_t *reply = NULL;
	int fd, rc;

	if (g->platform->open_channel(g, &fd, err) < 0 || vl_agent_client_new(fd, &c, err) < 0)
		return vl_error_wrap(err, "reaching the agent of guest %s", g->spec.name);
	rc = vl_agent_call(c, op, NULL, timeout_s, &reply, err);
	vl_agent_client_free(c);
	if (rc < 0)
		return vl_error_wrap(err, "%s to guest %s", op, g->spec.name);
	if (result)
		*result = reply;
	else
		json_decref(reply);
	return 0;
}

int vl_guest_destroy(struct vl_guest *g, vl_error *err)
{
	const struct vl_platform *p = g->platform;

	if (p->destroy && p->destroy(g, err) < 0)
		return -1;
	return vl_platform_release_host(p, err);
}

int vl_platform_release_host(const struct vl_platform *p, vl_error *err)
{
	if (p->release_host && p->release_host(err) < 0)
		return vl_error_wrap(err, "releasing what %s guests share on the host", p->name);
	return 0;
}

int vl_guest_stop_start(struct vl_guest *g, vl_error *err)
{
	if (g->platform->stop(g, err) < 0)
		return -1;
	return g->platform->start(g, err);
}
