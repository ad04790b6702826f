/* The Xen platform and the xen lab kind without a Xen dom0: the probe off
 * dom0, the lab's boot (hypervisor decompressed and cached, multiboot
 * modules, one vCPU), and the cleanup of a domain resource. The data root
 * is a fresh virtlab-xen-unit-* directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "hosts/lab.h"
#include "platforms/cleanup.h"
#include "platforms/platform.h"
#include "platforms/state.h"

static char root[] = "/tmp/virtlab-xen-unit-XXXXXX";

static bool have(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_platforms_registered(void **state)
{
	(void)state;
	assert_non_null(vl_platform_find("xen"));
	assert_non_null(vl_platform_find("xen-pvh"));
	assert_non_null(vl_platform_find("xen")->open_channel);
	assert_non_null(vl_platform_find("xen-pvh")->apply_entitlement);
}

static void test_probe_off_dom0(void **state)
{
	struct vl_probe p;

	(void)state;
	if (have("/proc/xen/capabilities")) {
		skip(); /* running in a Xen domain: the probe's answer is the host's */
		return;
	}
	vl_platform_find("xen")->probe(&p);
	assert_false(p.usable);
	assert_non_null(strstr(p.reason, "not a Xen dom0"));
	assert_string_equal(p.accel, "xen");
}

static void test_lab_boot(void **state)
{
	const struct vl_lab_kind *kind = vl_lab_kind_find("xen");
	struct vl_lab_boot b;
	struct stat st;
	vl_error err = {0};

	(void)state;
	assert_non_null(kind);
	if (!have("/boot/xen-4.17-amd64.gz")) {
		skip(); /* scripts/deps test installs xen-hypervisor-4.17-amd64 */
		return;
	}
	assert_int_equal(kind->boot("/boot/vmlinuz", "/tmp/lab.cpio", &b, &err), 0);
	assert_string_equal(b.machine, "q35");
	assert_int_equal(b.cpus, 1);
	assert_non_null(strstr(b.cpu, "-smap"));
	assert_non_null(strstr(b.append, "dom0_mem="));
	assert_string_equal(b.initrd, "/boot/vmlinuz console=hvc0 quiet no_timer_check "
	                              "cryptomgr.notests,/tmp/lab.cpio");
	/* The hypervisor is an ELF in the image cache, made once. */
	assert_int_equal(strncmp(b.kernel, root, strlen(root)), 0);
	assert_int_equal(stat(b.kernel, &st), 0);
	{
		char magic[4] = {0};
		FILE *f = fopen(b.kernel, "rb");
		assert_non_null(f);
		assert_int_equal(fread(magic, 1, 4, f), 4);
		fclose(f);
		assert_memory_equal(magic, "\177ELF", 4);
	}
	/* QEMU splits multiboot modules at commas. */
	assert_int_equal(kind->boot("/boot/vm,linuz", "/tmp/lab.cpio", &b, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static void test_cleanup_missing_domain(void **state)
{
	bool existed = true;
	vl_error err = {0};

	(void)state;
	/* Off dom0 (or without xl) `xl domid` fails as it does for a missing
	 * domain: either way there is nothing to destroy, and that is no error. */
	assert_int_equal(vl_cleanup_resource(VL_RES_XEN, "virtlab-unit-no-such-domain", false,
	                                     &existed, &err),
	                 0);
	assert_false(existed);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	setenv("VIRTLAB_DATA", root, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_platforms_registered),
	        cmocka_unit_test(test_probe_off_dom0),
	        cmocka_unit_test(test_lab_boot),
	        cmocka_unit_test(test_cleanup_missing_domain),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
