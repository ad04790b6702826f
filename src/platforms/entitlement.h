#pragma once
#include "platforms/platform.h"
#include "runtime/cgroup.h"

/* Applies every set field of e to cg; zero or empty fields stay as they are. */
int vl_entitlement_apply_cgroup(struct vl_cgroup *cg, const struct vl_entitlement *e,
                                vl_error *err);
