/* The LXC platform of a virtlab built without liblxc (meson found no lxc
 * pkg-config): listed, so that `virtlab info` and the study say why it is
 * missing, and usable nowhere. */
#include "platforms/platform.h"

#include <stdio.h>
#include <string.h>

static void probe(struct vl_probe *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->accel, sizeof(out->accel), "native");
	snprintf(out->reason, sizeof(out->reason),
	         "built without liblxc (apt-get install lxc lxc-dev, then rebuild virtlab)");
}

const struct vl_platform vl_platform_lxc = {
        .name = "lxc",
        .persistent = true,
        .summary = "LXC containers through liblxc (not in this build)",
        .probe = probe,
};
