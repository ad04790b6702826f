/* The kvm lab: a KVM host made by nested virtualization, for the qemu
 * platform with `-accel kvm`. TCG emulates AMD SVM (not Intel VMX), so under
 * TCG the lab's `-cpu max` gives kvm_amd a CPU with nested paging; under a
 * real KVM the host's own nesting decides. The lab holds Debian's qemu and
 * qemu-img with their libraries and firmware, mkfs.ext4 for guest disks, and
 * the kernel and modules a nested virtlab builds its guests' boot files from. */
#include "hosts/lab.h"
#include "core/command.h"
#include "core/file.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LAB_CPUS   2
#define LAB_MEMORY (2ull << 30)

/* kvm_amd pulls in kvm, ccp and irqbypass; kvm_intel is there for a real
 * Intel host that nests VMX (its insmod fails elsewhere, harmlessly). */
static const char *const kvm_modules[] = {"kvm_amd", "kvm_intel"};

static const char *const programs[] = {"qemu-system-x86_64", "qemu-img", "mkfs.ext4"};

/* Firmware and option ROMs: Debian's qemu looks in all three (SeaBIOS,
 * linuxboot_dma.bin, the iPXE ROMs of its NICs). */
static const char *const data_paths[] = {
        "/usr/share/qemu",
        "/usr/share/seabios",
        "/usr/lib/ipxe/qemu",
        "/etc/mke2fs.conf",
};

/* /dev/kvm must exist before the agent answers: a study asks at once. */
static const char setup_script[] = "#!/bin/sh\n"
                                   "if [ -c /dev/kvm ]; then\n"
                                   "\techo 'virtlab-lab: /dev/kvm ready'\n"
                                   "else\n"
                                   "\techo 'virtlab-lab: no /dev/kvm (is the CPU SVM/VMX?)'\n"
                                   "\texit 1\n"
                                   "fi\n";

static int stage(const char *root, vl_error *err)
{
	char path[PATH_MAX];

	if (vl_lab_stage_modules(root, kvm_modules, sizeof(kvm_modules) / sizeof(kvm_modules[0]),
	                         err) < 0 ||
	    vl_lab_stage_guest_boot(root, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		if (!vl_find_program(programs[i], path, sizeof(path)))
			return vl_error_input(err,
			                      "no %s for the kvm lab (apt-get install "
			                      "qemu-system-x86 qemu-utils e2fsprogs)",
			                      programs[i]);
		if (vl_lab_stage_program(root, path, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(data_paths) / sizeof(data_paths[0]); i++)
		if (access(data_paths[i], F_OK) == 0 &&
		    vl_lab_stage_path(root, data_paths[i], err) < 0)
			return -1;
	snprintf(path, sizeof(path), "%s/etc/virtlab-lab.sh", root);
	return vl_write_file_atomic(path, setup_script, strlen(setup_script), err);
}

static int boot(const char *kernel, const char *initramfs, struct vl_lab_boot *out, vl_error *err)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->machine, sizeof(out->machine), "pc");
	snprintf(out->cpu, sizeof(out->cpu), "max");
	out->cpus = LAB_CPUS;
	out->memory_bytes = LAB_MEMORY;
	if ((size_t)snprintf(out->kernel, sizeof(out->kernel), "%s", kernel) >=
	            sizeof(out->kernel) ||
	    (size_t)snprintf(out->initrd, sizeof(out->initrd), "%s", initramfs) >=
	            sizeof(out->initrd))
		return vl_error_input(err, "boot file path %s is too long", initramfs);
	/* The qemu platform's guest arguments, for the reasons it gives. */
	snprintf(out->append, sizeof(out->append),
	         "console=ttyS0 quiet no_timer_check cryptomgr.notests");
	return 0;
}

const struct vl_lab_kind vl_lab_kind_kvm = {
        .name = "kvm",
        .summary = "a KVM host by nested virtualization (qemu with -accel kvm inside)",
        .platforms = "qemu",
        .stage = stage,
        .boot = boot,
};
