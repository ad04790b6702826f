#include "cli/guest_access.h"
#include "core/cleanup.h"
#include "platforms/state.h"

#include <stdio.h>
#include <string.h>

int vl_cli_find_platform(const char *name, const struct vl_platform **out, vl_error *err)
{
	char names[256] = "";
	size_t count, used = 0;
	const struct vl_platform *const *all = vl_platform_all(&count);
	struct vl_probe probe = {0};

	*out = vl_platform_find(name);
	if (!*out) {
		for (size_t i = 0; i < count && used < sizeof(names); i++)
			used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
			                         i ? ", " : "", all[i]->name);
		return vl_error_input(err, "unknown platform '%s' (one of %s)", name, names);
	}
	(*out)->probe(&probe);
	if (!probe.usable)
		return vl_error_set(err, "platform %s cannot run here: %s", name, probe.reason);
	return 0;
}

int vl_cli_guest_open(const char *name, struct vl_cli_guest *out, vl_error *err)
{
	cleanup_json json_t *doc = NULL;
	const char *status;

	out->g = NULL;
	/* Read first: locking a name that has no record would make its directory. */
	if (vl_state_read(name, &doc, err) < 0 ||
	    vl_state_lock(name, false, &out->lock_fd, err) < 0)
		return -1;
	json_decref(vl_steal_ptr(doc));
	if (vl_state_read(name, &doc, err) < 0 || vl_state_load(name, &out->g, err) < 0) {
		vl_state_unlock(out->lock_fd);
		return -1;
	}
	status = json_string_value(json_object_get(doc, "status"));
	snprintf(out->status, sizeof(out->status), "%s", status ? status : "unknown");
	return 0;
}

void vl_cli_guest_close(struct vl_cli_guest *cg)
{
	vl_guest_free(cg->g);
	cg->g = NULL;
	vl_state_unlock(cg->lock_fd);
	cg->lock_fd = -1;
}

int vl_cli_guest_need_op(const struct vl_cli_guest *cg, bool present, const char *op, vl_error *err)
{
	if (!present)
		return vl_error_set(err, "platform %s cannot %s", cg->g->platform->name, op);
	return 0;
}

int vl_cli_guest_need_running(const struct vl_cli_guest *cg, vl_error *err)
{
	if (strcmp(cg->status, "running") != 0)
		return vl_error_set(err, "guest %s is %s, not running (virtlab guest start %s)",
		                    cg->g->spec.name, cg->status, cg->g->spec.name);
	return 0;
}

int vl_cli_guest_apply_cpu_policy(struct vl_guest *g, vl_error *err)
{
	struct vl_entitlement e = {.cpu_weight = g->spec.cpu_weight,
	                           .cpu_max_pct = g->spec.cpu_max_pct};

	if (!e.cpu_weight && !e.cpu_max_pct)
		return 0;
	if (!g->platform->apply_entitlement)
		return vl_error_set(err, "platform %s cannot apply the CPU weight or limit",
		                    g->platform->name);
	if (g->platform->apply_entitlement(g, &e, err) < 0)
		return vl_error_wrap(err, "applying the CPU policy of guest %s", g->spec.name);
	return 0;
}
