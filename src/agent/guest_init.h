/* The agent as a VM guest's init (pid 1 of the busybox initramfs that QEMU
 * and Xen guests boot, platforms/qemu_image.c): what a shell script did
 * before the agent could serve, done without a fork or exec, since each
 * costs milliseconds under TCG. */
#pragma once
#include <limits.h>
#include "core/error.h"

/* The virtio-serial port the host names for the agent (virtserialport
 * name=...). */
#define VL_GUEST_AGENT_PORT "org.virtlab.agent"
/* In the initramfs: one line per kernel module init loads, "GROUP PATH", in
 * load order (dependencies first). Group "agent" carries the virtio-serial
 * port; "net" is loaded only when the guest has a virtio NIC. */
#define VL_GUEST_INIT_MODULES "etc/virtlab-init-modules"
/* In the initramfs: `sh SCRIPT ADDR/PREFIX,GATEWAY` configures eth0. */
#define VL_GUEST_NET_SCRIPT "virtlab-net"
/* In the initramfs: run as `SCRIPT WORKDIR` before the first request that
 * starts work (agent.h, prepare): loads the disk's modules and mounts it. */
#define VL_GUEST_PREPARE_SCRIPT "virtlab-prepare"
#define VL_GUEST_DISK_DIR       "/mnt/disk"

/* What the kernel command line (virtlab.*=) and the devices said. */
struct vl_guest_boot {
	char port[PATH_MAX];    /* the agent's device: /dev/vport0p1, /dev/hvc1 */
	char workdir[PATH_MAX]; /* virtlab.workdir=, else VL_GUEST_DISK_DIR */
	char net[128];          /* virtlab.net= ("ADDR/PREFIX,GATEWAY"), or "" */
};

/* Mounts /proc, /sys and /dev, sets PATH and the hostname (virtlab.hostname=),
 * loads the modules of VL_GUEST_INIT_MODULES and finds the agent's port: the
 * one virtlab.agent= names (a Xen console, which needs no module), or the
 * virtio port VL_GUEST_AGENT_PORT, waited for up to a few seconds since the
 * host names it after the driver has probed. */
int vl_guest_init_boot(struct vl_guest_boot *out, vl_error *err);
/* Runs VL_GUEST_NET_SCRIPT for b->net (nothing when it is empty). */
int vl_guest_init_network(const struct vl_guest_boot *b, vl_error *err);
/* The end of pid 1: sync, unmount the disk, power off. */
_Noreturn void vl_guest_init_poweroff(void);
