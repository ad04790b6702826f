/* What virtlab asks of LXC, as LXC's own configuration keys and cgroup item
 * names: pure text, no liblxc, so that the mapping is testable anywhere.
 * lxc.c hands these to liblxc (set_config_item, set_cgroup_item). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "core/error.h"
#include "platforms/platform.h"
#include "runtime/cgroup.h"

/* Where the agent listens, as the guest sees it: the channel directory of
 * the host (VL_LXC_CHANNEL_DIR under the container's directory) is bind-mounted
 * there. */
#define VL_LXC_GUEST_CHANNEL "/run/virtlab"
#define VL_LXC_CHANNEL_DIR   "channel"
#define VL_LXC_SOCKET_NAME   "agent.sock"
#define VL_LXC_AGENT_PATH    "/virtlab-agent"
#define VL_LXC_DEFAULT_PIDS  1024

struct vl_lxc_item {
	char *key;
	char *value;
};

struct vl_lxc_items {
	struct vl_lxc_item *v;
	size_t n;
	size_t cap;
};

int vl_lxc_items_add(struct vl_lxc_items *items, vl_error *err, const char *key, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
void vl_lxc_items_free(struct vl_lxc_items *items);

/* The cgroups LXC makes for guest `name`, relative to each hierarchy's root:
 * the container's (the same name as virtlab's own containers use) and its
 * monitor's. */
struct vl_lxc_cgroups {
	char container[VL_NAME_MAX + 16];
	char monitor[VL_NAME_MAX + 32];
};
void vl_lxc_cgroup_names(const char *name, struct vl_lxc_cgroups *out);
/* Where a monitor moves to remove its own group once its container has
 * exited: lxc.cgroup.dir.monitor.pivot names the parent, and LXC makes
 * "lxc.pivot" in it at every stop and never removes it. One group for every
 * guest, so that a stop makes nothing new; the platform's release_host
 * removes it. */
#define VL_LXC_PIVOT_PARENT "virtlab"
#define VL_LXC_PIVOT_LEAF   "lxc.pivot"
#define VL_LXC_PIVOT        VL_LXC_PIVOT_PARENT "/" VL_LXC_PIVOT_LEAF
/* Guest names that would make one guest's monitor cgroup another's container
 * cgroup, or a guest's cgroup the monitors' pivot, are refused. */
int vl_lxc_check_name(const char *name, vl_error *err);

struct vl_lxc_guest {
	const struct vl_guest_spec *spec;
	const char *rootfs;  /* lxc.rootfs.path, e.g. "overlay:LOWER:UPPER" */
	const char *dir;     /* the container's directory (lxcpath/name) */
	const char *seccomp; /* path of the profile vl_lxc_seccomp_profile wrote */
	enum vl_cgroup_version cgroup_version;
	/* lxc.apparmor.profile = unconfined: set when AppArmor is off (nothing to
	 * confine with, and LXC's "generated" default then refuses to start). */
	bool apparmor_unconfined;
};

/* The whole configuration of a guest with virtlab's defaults: the agent as
 * init, no network (lxc.net.0.type = empty), the channel bind mount, the
 * capability set, seccomp profile and no_new_privs of virtlab's own
 * containers, the device allowlist, and the spec's limits as cgroup items. */
int vl_lxc_guest_items(const struct vl_lxc_guest *g, struct vl_lxc_items *out, vl_error *err);

/* A policy as cgroup items, named as set_cgroup_item takes them ("cpu.max"
 * on v2, "cpu.cfs_quota_us" on v1), with cgroup.h's scales converted; zero or
 * empty fields are left out. */
int vl_lxc_entitlement_items(enum vl_cgroup_version version, const struct vl_entitlement *e,
                             struct vl_lxc_items *out, vl_error *err);

/* runtime/security.h's default seccomp profile in LXC's text format (v2,
 * denylist); *text is freed by the caller. */
int vl_lxc_seccomp_profile(char **text, vl_error *err);
