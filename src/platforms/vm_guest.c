#include "platforms/vm_guest.h"
#include "core/command.h"
#include "core/log.h"
#include "platforms/guest_files.h"
#include "platforms/qemu_image.h"
#include "platforms/state.h"

#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

bool vl_vm_probe_boot(struct vl_probe *out)
{
	struct vl_qemu_kernel k;
	char path[PATH_MAX];
	vl_error err = {0};

	if (!vl_find_program("qemu-img", path, sizeof(path))) {
		snprintf(out->reason, sizeof(out->reason),
		         "no qemu-img (apt-get install qemu-utils)");
		return false;
	}
	if (vl_qemu_find_kernel(&k, &err) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s", err.msg);
		return false;
	}
	return true;
}

int vl_vm_boot_files(struct vl_guest *g, vl_error *err)
{
	struct vl_qemu_kernel k;
	char initramfs[PATH_MAX], boot[PATH_MAX];
	bool cached;

	if (vl_qemu_find_kernel(&k, err) < 0 ||
	    vl_qemu_boot_kernel(&k, boot, sizeof(boot), err) < 0 ||
	    vl_qemu_initramfs(&k, initramfs, sizeof(initramfs), &cached, err) < 0)
		return -1;
	vl_debug("guest %s: kernel %s, initramfs %s%s", g->spec.name, boot, initramfs,
	         cached ? " (cached)" : "");
	if (vl_guest_rec_set(g, "kernel", json_string(boot), err) < 0 ||
	    vl_guest_rec_set(g, "kernel_release", json_string(k.release), err) < 0 ||
	    vl_guest_rec_set(g, "initramfs", json_string(initramfs), err) < 0)
		return -1;
	return 0;
}

/* Tracks the guest's directory and disk file before making the directory. */
static int make_disk_home(struct vl_guest *g, const char *format, char *disk, size_t size,
                          vl_error *err)
{
	if ((size_t)snprintf(disk, size, "%s/disk.%s", g->state_dir, format) >= size)
		return vl_error_input(err, "VIRTLAB_DATA '%s' is too long", vl_data_root());
	if (vl_guest_files_make(g, err) < 0 || vl_state_track(g, VL_RES_FILE, disk, err) < 0)
		return -1;
	return 0;
}

static int record_disk(struct vl_guest *g, const char *disk, const char *format, vl_error *err)
{
	if (vl_guest_rec_set(g, "disk", json_string(disk), err) < 0 ||
	    vl_guest_rec_set(g, "disk_format", json_string(format), err) < 0)
		return -1;
	return 0;
}

int vl_vm_disk_provision(struct vl_guest *g, uint64_t bytes, vl_error *err)
{
	char disk[PATH_MAX];

	if (make_disk_home(g, "qcow2", disk, sizeof(disk), err) < 0)
		return -1;
	if (access(disk, F_OK) != 0 && vl_qemu_disk_create(disk, bytes, err) < 0)
		return -1;
	return record_disk(g, disk, "qcow2", err);
}

int vl_vm_disk_clone(struct vl_guest *src, struct vl_guest *dst, bool full_copy, vl_error *err)
{
	const char *src_disk = vl_guest_rec_str(src, "disk");
	const char *format = full_copy ? "raw" : "qcow2";
	char disk[PATH_MAX];

	if (!src_disk)
		return vl_error_input(err, "guest %s has no disk: provision it before cloning",
		                      src->spec.name);
	if (make_disk_home(dst, format, disk, sizeof(disk), err) < 0 ||
	    vl_qemu_disk_clone(src_disk, vl_guest_rec_str(src, "disk_format"), disk, full_copy,
	                       err) < 0 ||
	    record_disk(dst, disk, format, err) < 0 ||
	    vl_guest_rec_set(dst, "cloned_from", json_string(src->spec.name), err) < 0 ||
	    vl_guest_rec_set(dst, "full_copy", json_boolean(full_copy), err) < 0)
		return -1;
	return 0;
}

int vl_vm_disk_remove(struct vl_guest *g, vl_error *err)
{
	const char *disk = vl_guest_rec_str(g, "disk");
	vl_error ignored = {0};

	if (disk) {
		if (unlink(disk) < 0 && errno != ENOENT)
			return vl_error_errno(err, errno, "removing the disk %s", disk);
		vl_state_untrack(g, VL_RES_FILE, disk, &ignored);
		json_object_del(g->record, "disk");
	}
	if (rmdir(g->state_dir) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "removing %s", g->state_dir);
	vl_state_untrack(g, VL_RES_DIR, g->state_dir, &ignored);
	return 0;
}

unsigned vl_vm_vcpu_count(const struct vl_guest_spec *spec, unsigned fallback)
{
	hwloc_bitmap_t set;
	int n = 0;

	if (spec->cpus)
		return spec->cpus;
	if (spec->cpuset[0] && (set = hwloc_bitmap_alloc())) {
		if (hwloc_bitmap_list_sscanf(set, spec->cpuset) == 0)
			n = hwloc_bitmap_weight(set);
		hwloc_bitmap_free(set);
	}
	return n > 0 ? (unsigned)n : fallback;
}

int vl_vm_pin_plan(const char *cpuset, int *cpus, size_t n, vl_error *err)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	int first, cpu;

	if (!set)
		return vl_error_errno(err, ENOMEM, "pinning vCPUs");
	if (hwloc_bitmap_list_sscanf(set, cpuset) < 0 || (first = hwloc_bitmap_first(set)) < 0) {
		hwloc_bitmap_free(set);
		return vl_error_input(err, "cpuset '%s' is not a CPU list such as 0-1,3", cpuset);
	}
	cpu = first;
	for (size_t i = 0; i < n; i++) {
		cpus[i] = cpu;
		cpu = hwloc_bitmap_next(set, cpu);
		if (cpu < 0)
			cpu = first;
	}
	hwloc_bitmap_free(set);
	return 0;
}
