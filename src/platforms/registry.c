/* The one table of platforms. Adding a platform: one file, one line here. */
#include "platforms/platform.h"

#include <string.h>

extern const struct vl_platform vl_platform_bare;
extern const struct vl_platform vl_platform_container;
extern const struct vl_platform vl_platform_lxc;
extern const struct vl_platform vl_platform_null;
extern const struct vl_platform vl_platform_qemu;
extern const struct vl_platform vl_platform_xen;
extern const struct vl_platform vl_platform_xen_pvh;

/* One platform per line, so that adding one is one line (clang-format would
 * pack them). */
/* clang-format off */
static const struct vl_platform *const platforms[] = {
        &vl_platform_bare,
        &vl_platform_container,
        &vl_platform_lxc,
        &vl_platform_null,
        &vl_platform_qemu,
        &vl_platform_xen,
        &vl_platform_xen_pvh,
};
/* clang-format on */

const struct vl_platform *vl_platform_find(const char *name)
{
	for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++)
		if (strcmp(platforms[i]->name, name) == 0)
			return platforms[i];
	return NULL;
}

const struct vl_platform *const *vl_platform_all(size_t *count)
{
	*count = sizeof(platforms) / sizeof(platforms[0]);
	return platforms;
}
