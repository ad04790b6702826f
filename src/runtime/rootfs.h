/* A guest's root filesystem from a golden image directory, on the host side:
 * an overlay clone (upper and work directories in the guest's state dir, the
 * image as the lower layer) or a full copy, and their removal. */
#pragma once
#include <limits.h>
#include "core/error.h"

struct vl_rootfs_overlay {
	char upper[PATH_MAX];
	char work[PATH_MAX];
	char merged[PATH_MAX];
};

/* Names and creates state_dir/{upper,work,merged}. This is the whole clone:
 * the spec's overlay mounts them inside the guest's mount namespace. */
int vl_rootfs_overlay_prepare(const char *state_dir, struct vl_rootfs_overlay *out, vl_error *err);
/* Mounts the overlay on merged in the caller's namespace (for inspection
 * from the host); the guest does not need it. */
int vl_rootfs_overlay_mount(const char *image_dir, const struct vl_rootfs_overlay *o,
                            vl_error *err);
/* Unmounts merged if mounted and removes the three directories. */
int vl_rootfs_overlay_remove(const struct vl_rootfs_overlay *o, vl_error *err);

/* Copies an image tree (modes, owners, times, symlinks, device nodes) into dst,
 * which must not exist; file data is reflinked (FICLONE) where the
 * filesystem shares extents, else copied in the kernel (copy_file_range). */
int vl_rootfs_copy(const char *src, const char *dst, vl_error *err);
/* rm -rf that stays on dir's filesystem: a mount below dir fails it (EBUSY)
 * rather than having its contents deleted. Missing dir is not an error. */
int vl_rootfs_remove(const char *dir, vl_error *err);
