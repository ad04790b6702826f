/* The cpio "newc" writer of the qemu initramfs (platforms/qemu_image.h),
 * read back by a parser of the format as the kernel reads it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/file.h"
#include "platforms/qemu_image.h"

struct entry {
	char name[64];
	unsigned mode;
	char data[64];
	size_t size;
};

static unsigned long hex8(const char *p)
{
	char buf[9];
	memcpy(buf, p, 8);
	buf[8] = '\0';
	return strtoul(buf, NULL, 16);
}

/* Parses the archive; returns the number of entries before the trailer. */
static size_t parse(const char *buf, size_t len, struct entry *out, size_t max)
{
	size_t pos = 0, n = 0;

	for (;;) {
		unsigned long namesize, filesize;
		assert_true(pos % 4 == 0);
		assert_true(pos + 110 <= len);
		assert_memory_equal(buf + pos, "070701", 6);
		filesize = hex8(buf + pos + 6 + 6 * 8);
		namesize = hex8(buf + pos + 6 + 11 * 8);
		assert_int_equal(buf[pos + 110 + namesize - 1], '\0');
		if (strcmp(buf + pos + 110, "TRAILER!!!") == 0)
			return n;
		assert_true(n < max);
		snprintf(out[n].name, sizeof(out[n].name), "%s", buf + pos + 110);
		out[n].mode = (unsigned)hex8(buf + pos + 6 + 8);
		out[n].size = filesize;
		pos = (pos + 110 + namesize + 3) & ~(size_t)3;
		assert_true(pos + filesize <= len);
		snprintf(out[n].data, sizeof(out[n].data), "%.*s", (int)filesize, buf + pos);
		pos = (pos + filesize + 3) & ~(size_t)3;
		n++;
	}
}

static void test_archive_reads_back(void **state)
{
	char dir[] = "/tmp/virtlab-test-cpio-XXXXXX", tree[PATH_MAX], path[PATH_MAX];
	struct vl_cpio *c = NULL;
	cleanup_free char *buf = NULL;
	struct entry e[16];
	vl_error err = {0};
	size_t len, n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	assert_int_equal(mkdir(tree, 0750), 0);
	snprintf(path, sizeof(path), "%s/file", tree);
	assert_int_equal(vl_write_file_atomic(path, "abcde", 5, &err), 0);
	snprintf(path, sizeof(path), "%s/link", tree);
	assert_int_equal(symlink("file", path), 0);
	snprintf(path, sizeof(path), "%s/out.cpio", dir);

	assert_int_equal(vl_cpio_open(path, &c, &err), 0);
	assert_int_equal(vl_cpio_add_dir(c, "etc", 0755, &err), 0);
	assert_int_equal(vl_cpio_add_data(c, "etc/motd", S_IFREG | 0644, "hi\n", 3, &err), 0);
	assert_int_equal(vl_cpio_add_path(c, tree, "t", &err), 0);
	assert_int_equal(vl_cpio_finish(c, &err), 0);
	vl_cpio_free(c);

	assert_int_equal(vl_read_file(path, &buf, &len, &err), 0);
	n = parse(buf, len, e, 16);
	assert_int_equal(n, 5);
	assert_string_equal(e[0].name, "etc");
	assert_int_equal(e[0].mode, S_IFDIR | 0755);
	assert_string_equal(e[1].name, "etc/motd");
	assert_string_equal(e[1].data, "hi\n");
	assert_string_equal(e[2].name, "t");
	assert_int_equal(e[2].mode, S_IFDIR | 0750);
	/* readdir order: find the two children by name. */
	for (size_t i = 3; i < 5; i++) {
		if (strcmp(e[i].name, "t/file") == 0) {
			assert_true(S_ISREG(e[i].mode));
			assert_string_equal(e[i].data, "abcde");
		} else {
			assert_string_equal(e[i].name, "t/link");
			assert_true(S_ISLNK(e[i].mode));
			assert_string_equal(e[i].data, "file");
		}
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/file", tree);
	unlink(path);
	snprintf(path, sizeof(path), "%s/link", tree);
	unlink(path);
	rmdir(tree);
	rmdir(dir);
}

static void test_unreadable_source_fails(void **state)
{
	char path[] = "/tmp/virtlab-test-cpio-XXXXXX";
	struct vl_cpio *c = NULL;
	vl_error err = {0};
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vl_cpio_open(path, &c, &err), 0);
	assert_int_equal(vl_cpio_add_path(c, "/nonexistent/virtlab", "x", &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/virtlab"));
	vl_cpio_free(c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_archive_reads_back),
	        cmocka_unit_test(test_unreadable_source_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
