/* What the virtual-machine platforms (qemu, xen) share: a guest that boots
 * the Debian kernel and virtlab's initramfs (qemu_image.h) from a disk image
 * in its directory, g->state_dir/disk.FORMAT. The record keys are theirs:
 * "kernel", "kernel_release", "initramfs", "disk", "disk_format",
 * "cloned_from", "full_copy". */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "platforms/platform.h"

/* Whether this host has what such a guest boots from: qemu-img and a Debian
 * kernel; out->reason says what is missing. */
bool vl_vm_probe_boot(struct vl_probe *out);
/* Finds (or builds, cached) the kernel and initramfs and records them. */
int vl_vm_boot_files(struct vl_guest *g, vl_error *err);

/* A qcow2 disk of `bytes` (kept when one is there already), in the guest's
 * directory, both tracked before they are made. */
int vl_vm_disk_provision(struct vl_guest *g, uint64_t bytes, vl_error *err);
/* dst's disk from src's: a qcow2 overlay on it, or with full_copy a raw copy.
 * src must not run (an overlay reads its backing file as it is). */
int vl_vm_disk_clone(struct vl_guest *src, struct vl_guest *dst, bool full_copy, vl_error *err);
/* Removes the disk, then the guest's directory, which must hold nothing else
 * by then; each untracked once gone. */
int vl_vm_disk_remove(struct vl_guest *g, vl_error *err);

/* --cpus, else one vCPU per CPU of --cpuset, else `fallback`. */
unsigned vl_vm_vcpu_count(const struct vl_guest_spec *spec, unsigned fallback);
/* Where vCPU i goes: cpus[i] is the i-th CPU of cpuset, round robin, for
 * i < n. A cpuset that is not a CPU list is an input error. */
int vl_vm_pin_plan(const char *cpuset, int *cpus, size_t n, vl_error *err);
