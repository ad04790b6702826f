#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "runtime/rootfs.h"

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_copy_and_remove(void **state)
{
	char tmp[] = "/tmp/virtlab-rootfs-test-XXXXXX";
	char src[PATH_MAX], dst[PATH_MAX], path[PATH_MAX], link[64];
	struct stat st;
	vl_error err = {0};
	ssize_t n;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	snprintf(src, sizeof(src), "%s/image", tmp);
	snprintf(dst, sizeof(dst), "%s/copy", tmp);
	snprintf(path, sizeof(path), "%s/bin", src);
	assert_int_equal(vl_mkdir_p(path, 0755, &err), 0);
	snprintf(path, sizeof(path), "%s/bin/busybox", src);
	write_text(path, "#!/bin/sh\necho virtlab\n", 0755);
	snprintf(path, sizeof(path), "%s/bin/sh", src);
	assert_int_equal(symlink("/bin/busybox", path), 0);
	snprintf(path, sizeof(path), "%s/ro", src);
	assert_int_equal(mkdir(path, 0555), 0);

	assert_int_equal(vl_rootfs_copy(src, dst, &err), 0);
	snprintf(path, sizeof(path), "%s/bin/busybox", dst);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_size, 23);
	snprintf(path, sizeof(path), "%s/bin/sh", dst);
	n = readlink(path, link, sizeof(link) - 1);
	assert_int_equal(n, 12);
	link[n] = '\0';
	assert_string_equal(link, "/bin/busybox");
	snprintf(path, sizeof(path), "%s/ro", dst);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);

	/* A copy never lands on an existing tree. */
	assert_int_equal(vl_rootfs_copy(src, dst, &err), -1);
	assert_int_equal(err.errnum, EEXIST);

	assert_int_equal(vl_rootfs_remove(tmp, &err), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(vl_rootfs_remove(tmp, &err), 0);
}

static void test_overlay_prepare_and_remove(void **state)
{
	char tmp[] = "/tmp/virtlab-rootfs-test-XXXXXX";
	struct vl_rootfs_overlay o;
	vl_error err = {0};

	(void)state;
	assert_non_null(mkdtemp(tmp));
	assert_int_equal(vl_rootfs_overlay_prepare(tmp, &o, &err), 0);
	assert_int_equal(access(o.upper, W_OK), 0);
	assert_int_equal(access(o.work, W_OK), 0);
	assert_int_equal(access(o.merged, W_OK), 0);
	assert_int_equal(vl_rootfs_overlay_remove(&o, &err), 0);
	assert_int_equal(access(o.upper, F_OK), -1);
	assert_int_equal(rmdir(tmp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_copy_and_remove),
	        cmocka_unit_test(test_overlay_prepare_and_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
