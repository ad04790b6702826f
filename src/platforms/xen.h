/* What the Xen platform (xen.c) offers beyond struct vl_platform. */
#pragma once
#include <stdbool.h>
#include "core/error.h"

/* Destroys the Xen domain `domain` (xl destroy) and waits until it is gone:
 * how `virtlab cleanup` releases a VL_RES_XEN. *existed says whether
 * there was one; dry_run only looks. */
int vl_xen_domain_release(const char *domain, bool dry_run, bool *existed, vl_error *err);
