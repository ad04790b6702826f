/* Lab hosts without booting one: the kind table, `lab:` host specs, staging
 * programs, trees and modules into a root, and the life cycle's input
 * errors. State and data roots are a fresh virtlab-lab-unit-* directory. */
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

#include "core/cleanup.h"
#include "core/file.h"
#include "hosts/host.h"
#include "hosts/lab.h"
#include "platforms/cleanup.h"
#include "platforms/qemu_image.h"

static char root[] = "/tmp/virtlab-lab-unit-XXXXXX";

static bool is_regular(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void test_kinds(void **state)
{
	size_t n = 0;
	const struct vl_lab_kind *const *all = vl_lab_kinds(&n);

	(void)state;
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(vl_lab_kind_find(all[i]->name), all[i]);
		assert_non_null(all[i]->stage);
		assert_non_null(all[i]->boot);
		assert_non_null(all[i]->platforms);
	}
	assert_non_null(vl_lab_kind_find("kvm"));
	assert_null(vl_lab_kind_find("vmware"));
}

static void test_host_spec(void **state)
{
	struct vl_host *h = NULL;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_host_parse("kvmlab=lab:kvm", &h, &err), 0);
	assert_string_equal(h->kind->name, "lab");
	assert_string_equal(h->target, "kvm");
	assert_non_null(h->kind->run);
	assert_non_null(h->kind->fetch);
	vl_host_free(h);
	h = NULL;
	assert_int_equal(vl_host_parse("kvmlab=lab:vmware", &h, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "vmware"));
	assert_null(h);
}

static void test_kvm_boot(void **state)
{
	const struct vl_lab_kind *kvm = vl_lab_kind_find("kvm");
	struct vl_lab_boot boot;
	vl_error err = {0};

	(void)state;
	assert_int_equal(kvm->boot("/k/vmlinux", "/i/lab.cpio", &boot, &err), 0);
	assert_string_equal(boot.kernel, "/k/vmlinux");
	assert_string_equal(boot.initrd, "/i/lab.cpio");
	/* TCG emulates SVM only with the max CPU model. */
	assert_string_equal(boot.cpu, "max");
	assert_true(boot.cpus >= 1);
	assert_true(boot.memory_bytes >= (1ull << 30));
	assert_non_null(strstr(boot.append, "console=ttyS0"));
}

static void test_stage_program(void **state)
{
	char stage[PATH_MAX + 16], path[PATH_MAX * 2];
	vl_error err = {0};

	(void)state;
	snprintf(stage, sizeof(stage), "%s/program", root);
	assert_int_equal(vl_lab_stage_program(stage, "/bin/true", &err), 0);
	snprintf(path, sizeof(path), "%s/bin/true", stage);
	assert_true(is_regular(path));
	/* The loader the program names, as a file (links are followed). */
	snprintf(path, sizeof(path), "%s/lib64/ld-linux-x86-64.so.2", stage);
	assert_true(is_regular(path));
	snprintf(path, sizeof(path), "%s/lib/x86_64-linux-gnu/libc.so.6", stage);
	assert_true(is_regular(path));
	/* Staging again keeps what is there. */
	assert_int_equal(vl_lab_stage_program(stage, "/bin/true", &err), 0);
	assert_int_equal(vl_lab_stage_path(stage, "relative/path", &err), -1);
	assert_int_equal(vl_lab_stage_path(stage, "/no/such/file", &err), -1);
}

static void test_stage_tree(void **state)
{
	char src[PATH_MAX + 16], stage[PATH_MAX + 16], path[PATH_MAX * 2], link[PATH_MAX * 2];
	cleanup_free char *text = NULL;
	vl_error err = {0};
	size_t len;

	(void)state;
	snprintf(src, sizeof(src), "%s/tree/sub", root);
	snprintf(stage, sizeof(stage), "%s/stage", root);
	assert_int_equal(vl_mkdir_p(src, 0755, &err), 0);
	snprintf(path, sizeof(path), "%s/file", src);
	assert_int_equal(vl_write_file_atomic(path, "data\n", 5, &err), 0);
	snprintf(link, sizeof(link), "%s/link", src);
	assert_int_equal(symlink("file", link), 0);
	snprintf(src, sizeof(src), "%s/tree", root);
	assert_int_equal(vl_lab_stage_path(stage, src, &err), 0);
	snprintf(path, sizeof(path), "%s%s/sub/link", stage, src);
	assert_true(is_regular(path));
	assert_int_equal(vl_read_file(path, &text, &len, &err), 0);
	assert_string_equal(text, "data\n");
}

static void test_stage_modules(void **state)
{
	static const char *const names[] = {"virtio_blk", "no_such_module_at_all"};
	char stage[PATH_MAX + 16], path[PATH_MAX * 2];
	cleanup_free char *list = NULL, *again = NULL;
	struct vl_qemu_kernel k;
	vl_error err = {0};
	size_t len, len2;

	(void)state;
	if (vl_qemu_find_kernel(&k, &err) < 0)
		skip();
	snprintf(stage, sizeof(stage), "%s/modules", root);
	snprintf(path, sizeof(path), "%s/etc", stage);
	assert_int_equal(vl_mkdir_p(path, 0755, &err), 0);
	assert_int_equal(vl_lab_stage_modules(stage, names, 2, &err), 0);
	snprintf(path, sizeof(path), "%s/etc/virtlab-lab-modules", stage);
	assert_int_equal(vl_read_file(path, &list, &len, &err), 0);
	/* Each line is RELEASE/path of a module that is now in the root. */
	for (char *save = NULL, *line = strtok_r(list, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char file[PATH_MAX * 3];
		assert_true(strncmp(line, k.release, strlen(k.release)) == 0);
		snprintf(file, sizeof(file), "%s/lib/modules/%s", stage, line);
		assert_true(is_regular(file));
	}
	/* A second call lists nothing twice. */
	assert_int_equal(vl_lab_stage_modules(stage, names, 1, &err), 0);
	assert_int_equal(vl_read_file(path, &again, &len2, &err), 0);
	assert_int_equal(len2, len);
}

static void test_no_such_lab(void **state)
{
	json_t *labs = NULL, *lab = NULL;
	const char *const argv[] = {"true", NULL};
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_lab_list(&labs, &err), 0);
	assert_int_equal(json_array_size(labs), 0);
	json_decref(labs);
	assert_int_equal(vl_lab_find("nope", &lab, &err), 0);
	assert_null(lab);
	assert_int_equal(vl_lab_start("nope", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "no lab named 'nope'"));
	vl_error_clear(&err);
	assert_int_equal(vl_lab_exec("nope", argv, 1, 1024, &lab, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_kinds),       cmocka_unit_test(test_host_spec),
	        cmocka_unit_test(test_kvm_boot),    cmocka_unit_test(test_stage_program),
	        cmocka_unit_test(test_stage_tree),  cmocka_unit_test(test_stage_modules),
	        cmocka_unit_test(test_no_such_lab),
	};
	char state_dir[PATH_MAX], data_dir[PATH_MAX];
	vl_error err = {0};
	int rc;

	if (!mkdtemp(root))
		return 1;
	snprintf(state_dir, sizeof(state_dir), "%s/state", root);
	snprintf(data_dir, sizeof(data_dir), "%s/data", root);
	setenv("VIRTLAB_STATE", state_dir, 1);
	setenv("VIRTLAB_DATA", data_dir, 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	vl_remove_tree(root, &err);
	return rc;
}
