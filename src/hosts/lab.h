/* Lab hosts: QEMU VMs that virtlab boots to host a platform this machine
 * cannot (a Xen dom0, a KVM host through nested virtualization). The lab's
 * initramfs holds the Debian kernel's modules, busybox, virtlab's bundle
 * (bundle.h) and what its kind adds; its init runs the kind's set-up script,
 * then serves the agent on the virtio-serial port, through which the host
 * kind `lab` (lab.c) runs commands and fetches files. One file per kind
 * (lab_xen.c, lab_kvm.c), one line in lab.c's table. */
#pragma once
#include <limits.h>
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>
#include "core/error.h"

struct vl_lab_boot {
	char machine[32]; /* -machine */
	char cpu[128];    /* -cpu ("max,-rdtscp,-smap,-smep") */
	unsigned cpus;    /* -smp */
	uint64_t memory_bytes;
	char kernel[PATH_MAX]; /* -kernel */
	char append[1024];     /* -append */
	/* -initrd: the lab initramfs, or multiboot modules ("vmlinuz args,initramfs") */
	char initrd[2 * PATH_MAX + 1024];
};

struct vl_lab_kind {
	const char *name; /* "xen", "kvm" */
	const char *summary;
	const char *platforms; /* what it hosts, comma-separated: "xen", "qemu" */
	/* Adds the kind's files to the initramfs staging tree `root` (tools,
	 * their libraries, modules, firmware) and writes root/etc/virtlab-lab.sh,
	 * which the lab's init runs before it serves the agent. */
	int (*stage)(const char *root, vl_error *err);
	/* How to boot: `kernel` is the Debian kernel (qemu_image.h), `initramfs`
	 * the built lab initramfs; the init's console arguments are the kind's. */
	int (*boot)(const char *kernel, const char *initramfs, struct vl_lab_boot *out,
	            vl_error *err);
};

const struct vl_lab_kind *vl_lab_kind_find(const char *name);

/* The kinds, in the order `virtlab lab` lists them. */
const struct vl_lab_kind *const *vl_lab_kinds(size_t *count);
/* Their names, comma-separated ("xen, kvm"), for messages. */
void vl_lab_kind_names(char *buf, size_t size);

/* For the kinds' stage(). Each copies into root, at the same path as on this
 * machine, so that programs find their files as they do here. */
/* The kernel modules named (as modprobe names them) and their dependencies,
 * appended in load order to the list the lab's init loads before the kind's
 * script. A name the kernel lacks or has built in adds nothing. */
int vl_lab_stage_modules(const char *root, const char *const *names, size_t n, vl_error *err);
/* A program, its loader and every library the loader resolves for it, plus
 * libgcc_s, which glibc loads at run time for pthread_cancel. */
int vl_lab_stage_program(const char *root, const char *path, vl_error *err);
/* A file, or a directory tree; symbolic links are followed. */
int vl_lab_stage_path(const char *root, const char *path, vl_error *err);
/* What a nested virtlab builds its guests' boot files from: the Debian
 * kernel, its config (the PVH check), dpkg's file list (which marks a
 * packaged kernel) and the guests' modules, copied without loading them in
 * the lab (some are for another platform's guests). */
int vl_lab_stage_guest_boot(const char *root, vl_error *err);

/* Lab hosts by name, as `virtlab lab` manages them. A lab is a qemu guest
 * (platforms/qemu.c) named "lab-NAME" in the state root, so that `virtlab
 * cleanup` releases it like any guest; its record adds the kind, the lab
 * image and the boot ("boot": machine, CPU, command line). */
#define VL_LAB_RECORD_PREFIX "lab-"
/* Builds (or finds cached) the kind's lab image and a work disk, and records
 * the lab; an existing lab is an input error. */
int vl_lab_create(const char *name, const struct vl_lab_kind *kind, vl_error *err);
/* Boots the lab and waits for its agent (a TCG boot takes tens of seconds). */
int vl_lab_start(const char *name, vl_error *err);
/* Agent shutdown, else QMP quit, else SIGKILL. A lab not running is fine. */
int vl_lab_stop(const char *name, vl_error *err);
/* Stops the lab and removes its record, work disk and lab image. */
int vl_lab_destroy(const char *name, vl_error *err);
/* [{"name", "kind", "status", "accel", "image", "start_seconds"}], by name. */
int vl_lab_list(json_t **labs, vl_error *err);
/* The entry of vl_lab_list for lab `name` (new reference); NULL when none. */
int vl_lab_find(const char *name, json_t **lab, vl_error *err);
/* The agent's `exec` op in a running lab: {"exit_status", "signal", "stdout",
 * ...} as docs/agent-protocol.md gives it. */
int vl_lab_exec(const char *name, const char *const *argv, double timeout_s, size_t max_output,
                json_t **result, vl_error *err);
