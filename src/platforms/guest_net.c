/* Guests on the network test topology (see guest_net.h). The topology is
 * opened by id for each attachment, so a guest can join a topology made by
 * another process (`virtlab net up`, the study). */
#include "platforms/guest_net.h"
#include "platforms/state.h"
#include "runtime/netlink.h"

#include <stdio.h>
#include <string.h>

static int track(void *data, const char *kind, const char *id, bool add, vl_error *err)
{
	struct vl_guest *g = data;

	return add ? vl_state_track(g, kind, id, err) : vl_state_untrack(g, kind, id, err);
}

bool vl_guest_net_wanted(const struct vl_guest *g)
{
	return g->spec.net_topology[0] != '\0';
}

static int open_topology(struct vl_guest *g, struct vl_topology **t, vl_error *err)
{
	struct vl_topology_opts opts = {
	        .id = g->spec.net_topology, .track = track, .track_data = g};
	enum vl_topology_mode wanted;

	if (g->spec.net_mode[0] && vl_topology_mode_parse(g->spec.net_mode, &wanted, err) < 0)
		return -1;
	if (vl_topology_open(&opts, t, err) < 0)
		return -1;
	if (g->spec.net_mode[0] && vl_topology_mode(*t) != wanted) {
		vl_error_input(err,
		               "network topology %s is %s, not %s: give its mode or another id",
		               g->spec.net_topology, vl_topology_mode_name(vl_topology_mode(*t)),
		               g->spec.net_mode);
		vl_topology_release(*t);
		return -1;
	}
	return 0;
}

static int record_port(struct vl_guest *g, const struct vl_topology *t,
                       const struct vl_topology_port *port, vl_error *err)
{
	json_t *net =
	        json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:s}", "topology", vl_topology_id(t),
	                  "mode", vl_topology_mode_name(vl_topology_mode(t)), "index",
	                  (int)port->index, "host_dev", port->host_dev, "address", port->address,
	                  "prefix", (int)port->prefix, "gateway", port->gateway);

	if (!net || json_object_set_new(g->record, "net", net) < 0)
		return vl_error_set(err, "recording the network of guest %s", g->spec.name);
	return 0;
}

/* The device a failed attachment made goes at once; its tracking with it. */
static void undo(struct vl_guest *g, const struct vl_topology_port *port)
{
	struct vl_netlink *nl = NULL;
	vl_error ignored = {0};

	if (!port->host_dev[0] || vl_netlink_open(-1, &nl, &ignored) < 0)
		return;
	if (vl_netlink_delete_link(nl, port->host_dev, true, &ignored) == 0)
		vl_state_untrack(g, VL_RES_LINK, port->host_dev, &ignored);
	vl_netlink_close(nl);
}

int vl_guest_net_attach_netns(struct vl_guest *g, pid_t pid, vl_error *err)
{
	struct vl_topology *t = NULL;
	struct vl_topology_port port = {0};
	int rc;

	if (!vl_guest_net_wanted(g))
		return 0;
	if (open_topology(g, &t, err) < 0)
		return vl_error_wrap(err, "network of guest %s", g->spec.name);
	rc = vl_topology_attach_pid(t, pid, &port, err);
	if (rc == 0)
		rc = record_port(g, t, &port, err);
	vl_topology_release(t);
	if (rc < 0) {
		undo(g, &port);
		return vl_error_wrap(err, "network of guest %s", g->spec.name);
	}
	return 0;
}

int vl_guest_net_attach_tap(struct vl_guest *g, vl_error *err)
{
	struct vl_topology *t = NULL;
	struct vl_topology_port port = {0};
	char boot[64];
	int rc;

	if (!vl_guest_net_wanted(g))
		return 0;
	if (open_topology(g, &t, err) < 0)
		return vl_error_wrap(err, "network of guest %s", g->spec.name);
	rc = vl_topology_attach_tap(t, &port, err);
	if (rc == 0)
		rc = record_port(g, t, &port, err);
	vl_topology_release(t);
	snprintf(boot, sizeof(boot), "%s/%u,%s", port.address, port.prefix, port.gateway);
	if (rc == 0 && (json_object_set_new(g->record, "tap", json_string(port.host_dev)) < 0 ||
	                json_object_set_new(g->record, "net_boot", json_string(boot)) < 0))
		rc = vl_error_set(err, "recording the tap of guest %s", g->spec.name);
	if (rc < 0) {
		undo(g, &port);
		return vl_error_wrap(err, "network of guest %s", g->spec.name);
	}
	return 0;
}

bool vl_guest_net_port(const struct vl_guest *g, struct vl_topology_port *port)
{
	json_t *net = json_object_get(g->record, "net");
	const char *dev = json_string_value(json_object_get(net, "host_dev"));
	const char *addr = json_string_value(json_object_get(net, "address"));
	const char *gw = json_string_value(json_object_get(net, "gateway"));

	memset(port, 0, sizeof(*port));
	if (!dev || !addr || !gw)
		return false;
	port->index = (unsigned)json_integer_value(json_object_get(net, "index"));
	port->prefix = (unsigned)json_integer_value(json_object_get(net, "prefix"));
	snprintf(port->host_dev, sizeof(port->host_dev), "%s", dev);
	snprintf(port->address, sizeof(port->address), "%s", addr);
	snprintf(port->gateway, sizeof(port->gateway), "%s", gw);
	return true;
}

int vl_guest_net_detach(struct vl_guest *g, vl_error *err)
{
	struct vl_topology_port port;
	struct vl_netlink *nl = NULL;
	int rc;

	if (!vl_guest_net_port(g, &port))
		return 0;
	if (vl_netlink_open(-1, &nl, err) < 0)
		return vl_error_wrap(err, "network of guest %s", g->spec.name);
	rc = vl_netlink_delete_link(nl, port.host_dev, true, err);
	vl_netlink_close(nl);
	if (rc == 0)
		rc = vl_state_untrack(g, VL_RES_LINK, port.host_dev, err);
	if (rc < 0)
		return vl_error_wrap(err, "network of guest %s", g->spec.name);
	json_object_del(g->record, "net");
	json_object_del(g->record, "tap");
	json_object_del(g->record, "net_boot");
	return 0;
}
