/* Golden images: the root filesystem every guest starts from. The default
 * image is busybox (Debian's busybox-static) plus the static virtlab-agent and
 * /etc/{passwd,group,hosts}, built on the host without network and cached
 * under <data>/images/<kind>-<content hash>/ so a second build is a lookup.
 * Building an image is the study's "provision" operation. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "core/error.h"

struct vl_image {
	char kind[32];   /* "busybox" or "debian" */
	char path[4096]; /* the image's root directory */
	char hash[65];   /* content hash (hex) of what went in */
	bool from_cache; /* true when this call found it ready */
};

/* Path of the static agent to put in guests: $VIRTLAB_AGENT, else
 * virtlab-agent next to the running virtlab, else the installed one. */
int vl_image_agent_path(char *buf, size_t size, vl_error *err);
/* sha256 (hex) over layout, then each file of the NULL-terminated list:
 * its contents, or with by_stat only its identity (inode, size, times),
 * which is cheap and changes whenever the file does. */
int vl_image_hash_inputs(const char *layout, const char *const *files, bool by_stat, char hex[65],
                         vl_error *err);
/* Builds (or finds cached) the golden image of that kind. */
int vl_image_golden(const char *kind, struct vl_image *out, vl_error *err);
