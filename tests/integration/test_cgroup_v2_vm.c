/* The cgroup v2 backend on a real kernel. This host has only v1 controllers,
 * so the test boots the host's Debian kernel under QEMU (KVM when /dev/kvm
 * runs a guest, TCG otherwise) with an initramfs of busybox, the virtio
 * block modules and the static cgroup_v2_guest, which mounts cgroup2 and
 * runs its checks against a small virtio disk. The guest writes TAP to its
 * second serial port, a file here; any "not ok" or missing check fails.
 * Everything lives in one virtlab-cgv2vm-* directory, removed on every path;
 * QEMU is killed at a hard timeout or on SIGINT/SIGTERM.
 * Usage: test_cgroup_v2_vm GUEST_PROGRAM. Skips (77) without qemu, a Debian
 * kernel with its modules, or busybox-static. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/command.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "platforms/cleanup.h"
#include "platforms/qemu_image.h"
#include "study/host_facts.h"

#define QEMU            "qemu-system-x86_64"
#define BUSYBOX         "/bin/busybox"
#define BUSYBOX_PACKAGE "/var/lib/dpkg/info/busybox-static.list"
#define DISK_BYTES      (32 << 20)
#define QEMU_TIMEOUT_S  200.0
#define MAX_MODULES     16
#define CONSOLE_TAIL    40 /* lines of the guest's console shown on failure */

/* The guest's disk is virtio-blk on virtio-pci; the console and the TAP port
 * are the built-in 8250 UARTs, and the cgroup controllers are built in. */
static const char *const wanted_modules[] = {"virtio_pci", "virtio_blk"};

/* Busybox makes its applet links at boot, so the archive needs the one binary. */
static const char init_head[] = "#!/bin/busybox sh\n"
                                "/bin/busybox --install -s /bin\n"
                                "export PATH=/bin\n"
                                "mount -t proc proc /proc\n"
                                "mount -t sysfs sysfs /sys\n"
                                "mount -t devtmpfs devtmpfs /dev\n";
static const char init_tail[] = "for i in $(seq 1 100); do\n"
                                "\t[ -b /dev/vda ] && break\n"
                                "\tsleep 0.05\n"
                                "done\n"
                                "/bin/cgroup_v2_guest /dev/vda\n"
                                "echo \"virtlab: cgroup_v2_guest exited with status $?\"\n"
                                "poweroff -f\n";

struct module_list {
	char *paths[MAX_MODULES]; /* relative to the kernel's modules directory */
	size_t n;
};

static void module_list_release(struct module_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	l->n = 0;
}

static int push_module(struct module_list *l, const char *path, vl_error *err)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->paths[i], path) == 0)
			return 0;
	if (strlen(path) < 3 || strcmp(path + strlen(path) - 3, ".ko") != 0)
		return vl_error_set(err, "module %s is compressed; busybox insmod takes .ko files",
		                    path);
	if (l->n == MAX_MODULES)
		return vl_error_set(err, "the guest needs more than %d modules", MAX_MODULES);
	if (!(l->paths[l->n] = strdup(path)))
		return vl_error_errno(err, ENOMEM, "listing modules");
	l->n++;
	return 0;
}

/* Adds what loading `name` takes, in load order. A modules.dep line lists a
 * module's whole dependency closure, the one to load first last; a module
 * absent from modules.dep is built in. */
static int add_module(const char *dep, const char *name, struct module_list *l, vl_error *err)
{
	char suffix[64];
	size_t len = (size_t)snprintf(suffix, sizeof(suffix), "/%s.ko:", name);

	for (const char *line = dep; *line;) {
		const char *end = strchrnul(line, '\n'), *colon = memchr(line, ':', end - line);
		if (colon && (size_t)(colon + 1 - line) >= len &&
		    strncmp(colon + 1 - len, suffix, len) == 0) {
			cleanup_free char *copy = strndup(line, (size_t)(end - line));
			char *words[MAX_MODULES + 1], *save = NULL;
			size_t n = 0;
			if (!copy)
				return vl_error_errno(err, ENOMEM, "listing modules");
			copy[colon - line] = ' ';
			for (char *w = strtok_r(copy, " ", &save); w && n <= MAX_MODULES;
			     w = strtok_r(NULL, " ", &save))
				words[n++] = w;
			while (n-- > 1)
				if (push_module(l, words[n], err) < 0)
					return -1;
			return push_module(l, words[0], err);
		}
		line = *end ? end + 1 : end;
	}
	return 0;
}

static int init_script(const struct module_list *l, char **out, vl_error *err)
{
	size_t len = 0;
	FILE *f = open_memstream(out, &len);

	if (!f)
		return vl_error_errno(err, errno, "writing /init");
	fputs(init_head, f);
	for (size_t i = 0; i < l->n; i++) {
		cleanup_free char *copy = strdup(l->paths[i]);
		const char *base = copy ? basename(copy) : l->paths[i];
		fprintf(f, "insmod /lib/modules/%s || echo \"virtlab: insmod %s failed\"\n", base,
		        base);
	}
	fputs(init_tail, f);
	if (fclose(f) != 0)
		return vl_error_errno(err, errno, "writing /init");
	return 0;
}

static int write_initramfs(const struct vl_qemu_kernel *k, const char *guest, const char *path,
                           vl_error *err)
{
	static const char *const dirs[] = {"bin", "dev", "proc",       "sys",
	                                   "tmp", "lib", "lib/modules"};
	struct module_list mods = {0};
	cleanup_free char *dep = NULL, *init = NULL;
	struct vl_cpio *c = NULL;
	char src[PATH_MAX];
	int rc = -1;

	snprintf(src, sizeof(src), "%s/modules.dep", k->modules);
	if (vl_read_file(src, &dep, NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(wanted_modules) / sizeof(wanted_modules[0]); i++)
		if (add_module(dep, wanted_modules[i], &mods, err) < 0)
			goto out;
	if (init_script(&mods, &init, err) < 0 || vl_cpio_open(path, &c, err) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (vl_cpio_add_dir(c, dirs[i], 0755, err) < 0)
			goto out;
	if (vl_cpio_add_path(c, BUSYBOX, "bin/busybox", err) < 0 ||
	    vl_cpio_add_path(c, guest, "bin/cgroup_v2_guest", err) < 0 ||
	    vl_cpio_add_data(c, "init", S_IFREG | 0755, init, strlen(init), err) < 0)
		goto out;
	for (size_t i = 0; i < mods.n; i++) {
		char name[PATH_MAX];
		snprintf(src, sizeof(src), "%s/%s", k->modules, mods.paths[i]);
		snprintf(name, sizeof(name), "lib/modules/%s", strrchr(src, '/') + 1);
		if (vl_cpio_add_path(c, src, name, err) < 0)
			goto out;
	}
	rc = vl_cpio_finish(c, err);
out:
	vl_cpio_free(c);
	module_list_release(&mods);
	return rc < 0 ? vl_error_wrap(err, "building the initramfs %s", path) : 0;
}

static int make_disk(const char *path, vl_error *err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0)
		return vl_error_errno(err, errno, "creating the guest's disk %s", path);
	return 0;
}

static bool kvm_usable(void)
{
	cleanup_json json_t *kvm = vl_host_kvm_facts();
	return json_is_true(json_object_get(kvm, "usable"));
}

static int boot(const char *dir, const char *kernel, const char *initrd, vl_error *err)
{
	struct vl_command_result res = {0};
	char console[PATH_MAX], tap[PATH_MAX], drive[PATH_MAX], why[512];
	bool kvm = kvm_usable();
	uint64_t t0 = vl_now_ns();
	int rc = 0;

	snprintf(console, sizeof(console), "file:%s/console.log", dir);
	snprintf(tap, sizeof(tap), "file:%s/tap.log", dir);
	snprintf(drive, sizeof(drive), "file=%s/disk.raw,format=raw,if=none,id=disk0", dir);
	/* panic=-1 with -no-reboot: a guest that panics ends QEMU at once. */
	const char *const argv[] = {QEMU,
	                            "-machine",
	                            "pc",
	                            "-accel",
	                            kvm ? "kvm" : "tcg",
	                            "-cpu",
	                            kvm ? "host" : "max",
	                            "-smp",
	                            "2",
	                            "-m",
	                            "384M",
	                            "-nodefaults",
	                            "-no-user-config",
	                            "-display",
	                            "none",
	                            "-no-reboot",
	                            "-kernel",
	                            kernel,
	                            "-initrd",
	                            initrd,
	                            "-append",
	                            "console=ttyS0 quiet no_timer_check cryptomgr.notests panic=-1",
	                            "-serial",
	                            console,
	                            "-serial",
	                            tap,
	                            "-drive",
	                            drive,
	                            "-device",
	                            "virtio-blk-pci,drive=disk0",
	                            NULL};

	printf("booting %s under %s\n", kernel, kvm ? "kvm" : "tcg");
	if (vl_command_run(argv, dir, QEMU_TIMEOUT_S, vl_interrupt_flag(), &res, err) < 0)
		return vl_error_wrap(err, "running the guest (limit %.0f s)", QEMU_TIMEOUT_S);
	if (res.exit_code != 0)
		rc = vl_error_set(err, "%s %s", QEMU,
		                  vl_command_describe_failure(&res, why, sizeof(why)));
	else
		printf("guest booted, ran its checks and powered off in %.1f s\n",
		       vl_seconds_since(t0));
	vl_command_result_release(&res);
	return rc;
}

static void show_console_tail(const char *dir)
{
	cleanup_free char *text = NULL;
	char path[PATH_MAX];
	vl_error ignored = {0};
	const char *start;
	int lines = 0;

	snprintf(path, sizeof(path), "%s/console.log", dir);
	if (vl_read_file(path, &text, NULL, &ignored) < 0)
		return;
	for (start = text + strlen(text); start > text && lines <= CONSOLE_TAIL; start--)
		lines += start[-1] == '\n';
	fprintf(stderr, "the guest's console (last lines):\n%s\n", start);
}

/* The guest's TAP: a plan "1..N", then one "ok"/"not ok" line per check. */
static int judge(const char *dir)
{
	cleanup_free char *text = NULL;
	size_t planned = 0, passed = 0, failed = 0;
	char path[PATH_MAX], *save = NULL;
	vl_error err = {0};

	snprintf(path, sizeof(path), "%s/tap.log", dir);
	if (vl_read_file(path, &text, NULL, &err) < 0) {
		fprintf(stderr, "FAIL: %s\n", err.msg);
		return 1;
	}
	for (char *line = strtok_r(text, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		printf("  %s\n", line);
		if (sscanf(line, "1..%zu", &planned) == 1)
			continue;
		passed += strncmp(line, "ok ", 3) == 0;
		failed += strncmp(line, "not ok ", 7) == 0;
	}
	if (planned > 0 && passed == planned && failed == 0)
		return 0;
	fprintf(stderr, "FAIL: %zu of %zu checks ok, %zu not ok, %zu missing\n", passed, planned,
	        failed, planned > passed + failed ? planned - passed - failed : 0);
	return 1;
}

static int run(const struct vl_qemu_kernel *k, const char *guest, const char *dir)
{
	char data[PATH_MAX], kernel[PATH_MAX], initrd[PATH_MAX], disk[PATH_MAX];
	vl_error err = {0};
	int rc;

	/* The kernel extracted for a PVH boot is cached under the data root: ours. */
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio", dir);
	snprintf(disk, sizeof(disk), "%s/disk.raw", dir);
	if (setenv("VIRTLAB_DATA", data, 1) < 0 ||
	    vl_qemu_boot_kernel(k, kernel, sizeof(kernel), &err) < 0 ||
	    write_initramfs(k, guest, initrd, &err) < 0 || make_disk(disk, &err) < 0) {
		fprintf(stderr, "FAIL: %s\n", err.msg);
		return 1;
	}
	rc = boot(dir, kernel, initrd, &err);
	if (rc < 0)
		fprintf(stderr, "FAIL: %s\n", err.msg);
	if (judge(dir) != 0 || rc < 0) {
		show_console_tail(dir);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/virtlab-cgv2vm-XXXXXX", qemu[PATH_MAX];
	struct vl_qemu_kernel k;
	vl_error err = {0};
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s GUEST_PROGRAM\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!vl_find_program(QEMU, qemu, sizeof(qemu)))
		return vl_test_skip("no " QEMU " (apt-get install qemu-system-x86)");
	if (vl_qemu_find_kernel(&k, &err) < 0)
		return vl_test_skip(err.msg);
	if (access(BUSYBOX_PACKAGE, F_OK) < 0 || access(BUSYBOX, X_OK) < 0)
		return vl_test_skip("no static " BUSYBOX " (apt-get install busybox-static)");
	if (vl_interrupt_install(&err) < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "FAIL: setting up: %s\n", err.msg[0] ? err.msg : strerror(errno));
		return 1;
	}
	rc = run(&k, argv[1], dir);
	if (vl_remove_tree(dir, &err) < 0) {
		fprintf(stderr, "FAIL: %s\n", err.msg);
		rc = 1;
	}
	if (vl_interrupt_signal()) {
		fprintf(stderr, "FAIL: interrupted by signal %d\n", vl_interrupt_signal());
		rc = 1;
	}
	return rc;
}
