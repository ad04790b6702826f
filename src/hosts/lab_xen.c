/* The xen lab: a Xen 4.17 dom0 booted by QEMU, for the xen platform
 * (platforms/xen.c). QEMU's multiboot loader starts the hypervisor with the
 * Debian kernel and the lab initramfs as its modules; the initramfs holds
 * Debian's Xen tools (xl, xenstored, xenconsoled, the qemu-xen device model
 * that serves the guests' disks and agent channels) with their libraries, and
 * the kernel and modules a nested virtlab builds its guests' boot files from.
 * Under TCG this lab is an emulation of an emulation: its figures say how Xen
 * behaves relative to its own bare dom0, not how Xen performs on hardware. */
#include "hosts/lab.h"
#include "core/cleanup.h"
#include "core/command.h"
#include "core/file.h"
#include "platforms/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define XEN_VERSION "4.17"
#define XEN_LIBEXEC "/usr/lib/xen-" XEN_VERSION "/bin"
#define HYPERVISOR  "/boot/xen-" XEN_VERSION "-amd64.gz"
/* libxl's device model for PV domains: it serves qdisk disks and channels. */
#define DEVICE_MODEL "/usr/libexec/xen-qemu-system-i386"
/* One vCPU: with -smp 2 under TCG, dom0 programs (busybox, xl) crashed at
 * random and left domains behind; with one, none did (issue 8's notes). */
#define LAB_CPUS    1
#define LAB_MEMORY  (2048ull << 20)
#define DOM0_MEMORY "1024M"
#define XEN_MAX     (64u << 20)

static const char *const xen_modules[] = {
        "xen-evtchn", "xenfs", "xen-gntdev", "xen-gntalloc", "xen-privcmd",
};

static const char *const programs[] = {
        XEN_LIBEXEC "/xl",
        XEN_LIBEXEC "/xenstored",
        XEN_LIBEXEC "/xen-init-dom0",
        XEN_LIBEXEC "/xenconsoled",
        XEN_LIBEXEC "/libxl-save-helper",
        "/usr/bin/xenstore-read",
        "/usr/bin/xenstore-write",
        "/usr/bin/xenstore-ls",
        DEVICE_MODEL,
        "/usr/bin/qemu-img",
        "/sbin/mkfs.ext4",
};

/* xl's configuration, qemu's keymaps (it refuses to start without en-us),
 * mkfs's defaults. */
static const char *const data_paths[] = {
        "/etc/xen/xl.conf",
        "/usr/share/qemu/keymaps",
        "/etc/mke2fs.conf",
};

/* The tools look in /var/run (libxl takes its lock there) and need devpts
 * for the consoles' ptys; xenstored must run before xen-init-dom0 writes
 * dom0's entries, and xenconsoled before the first domain. Each step's
 * failure ends the script, which the lab's init reports. */
static const char setup_script[] =
        "#!/bin/sh\n"
        "set -e\n"
        "grep -q ' /dev/pts ' /proc/mounts || mount -t devpts devpts /dev/pts\n"
        "mkdir -p /run/xen /run/xenstored /var/lib/xenstored /var/lib/xen /var/log/xen\n"
        "mount -t xenfs xenfs /proc/xen\n"
        "grep -q control_d /proc/xen/capabilities\n"
        "bin=" XEN_LIBEXEC "\n"
        "$bin/xenstored --pid-file /run/xenstored.pid\n"
        "$bin/xen-init-dom0\n"
        "$bin/xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen\n"
        "echo 'virtlab-lab: Xen dom0 ready'\n";

static int make_link(const char *root, const char *target, const char *name, vl_error *err)
{
	char path[PATH_MAX], dir[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", root, name);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (vl_mkdir_p(dir, 0755, err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "replacing %s", path);
	if (symlink(target, path) < 0)
		return vl_error_errno(err, errno, "linking %s", path);
	return 0;
}

static int stage(const char *root, vl_error *err)
{
	char path[PATH_MAX];

	if (access(HYPERVISOR, F_OK) < 0 || access(XEN_LIBEXEC "/xl", F_OK) < 0 ||
	    access(DEVICE_MODEL, F_OK) < 0)
		return vl_error_input(err,
		                      "the xen lab needs Debian's Xen " XEN_VERSION
		                      " (apt-get install --no-install-recommends "
		                      "xen-hypervisor-4.17-amd64 xen-utils-4.17 qemu-system-xen)");
	if (vl_lab_stage_modules(root, xen_modules, sizeof(xen_modules) / sizeof(xen_modules[0]),
	                         err) < 0 ||
	    vl_lab_stage_guest_boot(root, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		if (vl_lab_stage_program(root, programs[i], err) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(data_paths) / sizeof(data_paths[0]); i++)
		if (access(data_paths[i], F_OK) == 0 &&
		    vl_lab_stage_path(root, data_paths[i], err) < 0)
			return -1;
	/* Debian's /usr/sbin/xl is a wrapper that picks the tools of the running
	 * hypervisor's version; the lab has one version. */
	if (make_link(root, XEN_LIBEXEC "/xl", "/usr/sbin/xl", err) < 0 ||
	    make_link(root, "/run", "/var/run", err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/etc/virtlab-lab.sh", root);
	return vl_write_file_atomic(path, setup_script, strlen(setup_script), err);
}

/* QEMU's multiboot loader takes an ELF, not Debian's gzipped xen.gz: the
 * hypervisor is decompressed once into the image cache, named by the size
 * and time of the package's file. */
static int hypervisor_elf(char *path, size_t size, vl_error *err)
{
	cleanup_free char *elf = NULL;
	char dir[PATH_MAX];
	struct stat st;
	gzFile gz;
	int n;

	if (stat(HYPERVISOR, &st) < 0)
		return vl_error_input(err,
		                      "no %s: apt-get install --no-install-recommends "
		                      "xen-hypervisor-4.17-amd64",
		                      HYPERVISOR);
	snprintf(dir, sizeof(dir), "%s/images", vl_data_root());
	if ((size_t)snprintf(path, size, "%s/xen-" XEN_VERSION "-%lld-%lld.elf", dir,
	                     (long long)st.st_size, (long long)st.st_mtime) >= size)
		return vl_error_input(err, "VIRTLAB_DATA '%s' is too long", vl_data_root());
	if (access(path, F_OK) == 0)
		return 0;
	elf = malloc(XEN_MAX);
	if (!elf)
		return vl_error_errno(err, errno, "decompressing %s", HYPERVISOR);
	gz = gzopen(HYPERVISOR, "rb");
	if (!gz)
		return vl_error_errno(err, errno, "opening %s", HYPERVISOR);
	n = gzread(gz, elf, XEN_MAX);
	gzclose(gz);
	if (n <= 0 || (unsigned)n == XEN_MAX || memcmp(elf, "\177ELF", 4) != 0)
		return vl_error_set(err, "%s does not decompress to an ELF image under %u MiB",
		                    HYPERVISOR, XEN_MAX >> 20);
	if (vl_mkdir_p(dir, 0755, err) < 0 || vl_write_file_atomic(path, elf, (size_t)n, err) < 0)
		return vl_error_wrap(err, "caching the Xen hypervisor");
	return 0;
}

static int boot(const char *kernel, const char *initramfs, struct vl_lab_boot *out, vl_error *err)
{
	memset(out, 0, sizeof(*out));
	if (hypervisor_elf(out->kernel, sizeof(out->kernel), err) < 0)
		return -1;
	snprintf(out->machine, sizeof(out->machine), "q35");
	/* SMAP and SMEP crash dom0 at its first instruction under TCG; PVH
	 * guests need RDTSCP off. */
	snprintf(out->cpu, sizeof(out->cpu), "max,-rdtscp,-smap,-smep");
	out->cpus = LAB_CPUS;
	out->memory_bytes = LAB_MEMORY;
	/* sched=credit: the thesis's scheduler, whose weight and cap `xl
	 * sched-credit` sets (4.17 defaults to credit2). eager-fpu: with Xen's
	 * lazy FPU switching under TCG, cpu.primes in a PV domain miscounted
	 * (its sqrt saw another context's SSE state) in 3 of 9 samples; with
	 * eager switching, in none of 8. */
	snprintf(out->append, sizeof(out->append),
	         "console=com1 com1=115200,8n1 dom0_mem=" DOM0_MEMORY ",max:" DOM0_MEMORY
	         " sched=credit spec-ctrl=eager-fpu noreboot");
	/* Multiboot modules: dom0's kernel with its command line, then its
	 * initramfs. QEMU splits the list at commas, so neither may hold one. */
	if (strchr(kernel, ',') || strchr(initramfs, ','))
		return vl_error_input(err, "boot file paths %s and %s must not hold a comma",
		                      kernel, initramfs);
	if ((size_t)snprintf(out->initrd, sizeof(out->initrd),
	                     "%s console=hvc0 quiet no_timer_check cryptomgr.notests,%s", kernel,
	                     initramfs) >= sizeof(out->initrd))
		return vl_error_input(err, "boot file path %s is too long", initramfs);
	return 0;
}

const struct vl_lab_kind vl_lab_kind_xen = {
        .name = "xen",
        .summary = "a Xen 4.17 dom0 under QEMU (the xen platform: PV and PVH domains)",
        .platforms = "xen,xen-pvh",
        .stage = stage,
        .boot = boot,
};
