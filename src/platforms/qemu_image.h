/* What a QEMU guest boots and writes to: the host's Debian kernel, an
 * initramfs made of the golden busybox image plus the modules the guest
 * needs, and a disk image for the disk workloads. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "agent/guest_init.h"
#include "core/error.h"

/* The port the agent serves in the guest (virtserialport name=...). */
#define VL_QEMU_AGENT_PORT VL_GUEST_AGENT_PORT

struct vl_qemu_kernel {
	char release[128];      /* "6.1.0-18-amd64" */
	char path[PATH_MAX];    /* /boot/vmlinuz-<release> */
	char modules[PATH_MAX]; /* /lib/modules/<release> */
};

/* What QEMU boots for k: the uncompressed vmlinux, extracted from the
 * vmlinuz's xz payload once and cached under <data>/images/, when the kernel
 * has a PVH entry (CONFIG_PVH), since that skips the seconds TCG spends
 * decompressing; the vmlinuz itself otherwise. */
int vl_qemu_boot_kernel(const struct vl_qemu_kernel *k, char *path, size_t size, vl_error *err);

/* The newest kernel of an installed Debian linux-image package that has its
 * modules: /boot/vmlinuz-R with /lib/modules/R/modules.dep and dpkg's file
 * list for linux-image-R. */
int vl_qemu_find_kernel(struct vl_qemu_kernel *out, vl_error *err);

/* Builds (or finds) <data>/images/qemu-initramfs-<hash>.cpio: a cpio "newc"
 * archive of the golden busybox image, /init (the static agent, which loads
 * the virtio modules and serves the virtio-serial port: agent/guest_init.h),
 * a prepare script that loads the ext4 modules and mounts /dev/vda on
 * /mnt/disk before the first work, and those modules with their
 * dependencies. */
int vl_qemu_initramfs(const struct vl_qemu_kernel *k, char *path, size_t size, bool *from_cache,
                      vl_error *err);

/* The modules a guest's initramfs holds (with their dependencies), as
 * modprobe names them: a kvm lab host stages them for its own virtlab.
 * Fills up to max names and returns how many there are. */
size_t vl_qemu_guest_modules(const char **names, size_t max);
/* Appends to order (a JSON array of strings) the modules named, as modprobe
 * names them, each after its dependencies and once: paths relative to
 * k->modules ("kernel/arch/x86/kvm/kvm.ko"). A name absent from modules.dep
 * (built in, or not in this kernel) adds nothing. For lab hosts (hosts/lab.h). */
int vl_qemu_module_deps(const struct vl_qemu_kernel *k, const char *const *names, size_t n,
                        json_t *order, vl_error *err);

/* A qcow2 image of `bytes` holding an empty ext4 file system. */
int vl_qemu_disk_create(const char *path, uint64_t bytes, vl_error *err);
/* A copy of src: a qcow2 overlay with src as its backing file, or a full
 * copy in raw format (the thesis compares the two). */
int vl_qemu_disk_clone(const char *src, const char *src_format, const char *dst, bool full_copy,
                       vl_error *err);

/* The cpio writer, exposed for its unit test. */
struct vl_cpio;
int vl_cpio_open(const char *path, struct vl_cpio **out, vl_error *err);
/* Adds host path `src` (file, directory, symlink; directories recursively)
 * as `name` ("bin/sh": no leading slash). */
int vl_cpio_add_path(struct vl_cpio *c, const char *src, const char *name, vl_error *err);
int vl_cpio_add_data(struct vl_cpio *c, const char *name, unsigned mode, const void *data,
                     size_t len, vl_error *err);
int vl_cpio_add_dir(struct vl_cpio *c, const char *name, unsigned mode, vl_error *err);
/* Writes the trailer and closes; on failure (or with c not finished) the
 * file is left for the caller to remove. */
int vl_cpio_finish(struct vl_cpio *c, vl_error *err);
void vl_cpio_free(struct vl_cpio *c);
