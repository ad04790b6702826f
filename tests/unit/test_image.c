/* Golden images without root: bad input is refused with a message, and the
 * busybox image (when busybox-static and the static agent are there) is
 * built once, found in the cache after, and keyed by its inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/command.h"
#include "core/file.h"
#include "platforms/image.h"
#include "runtime/rootfs.h"

static char tmpdir[] = "/tmp/virtlab-image-test-XXXXXX";
static char agent[PATH_MAX]; /* the real agent, "" when none */

static void test_unknown_kind(void **state)
{
	struct vl_image img;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_image_golden("alpine", &img, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "busybox or debian"));
}

/* Without debootstrap the debian image says so (and how to get it). */
static void test_debian_needs_debootstrap(void **state)
{
	struct vl_image img;
	vl_error err = {0};
	char path[PATH_MAX];

	(void)state;
	if (!agent[0] || vl_find_program("debootstrap", path, sizeof(path)))
		skip();
	setenv("VIRTLAB_AGENT", agent, 1);
	assert_int_equal(vl_image_golden("debian", &img, &err), -1);
	assert_non_null(strstr(err.msg, "apt-get install debootstrap"));
}

static void test_bad_agent(void **state)
{
	struct vl_image img;
	vl_error err = {0};
	char path[PATH_MAX];

	(void)state;
	setenv("VIRTLAB_AGENT", "/nonexistent/virtlab-agent", 1);
	assert_int_equal(vl_image_agent_path(path, sizeof(path), &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "VIRTLAB_AGENT"));
	/* Debian's /bin/sh is dash, dynamically linked: no use in a libc-less image. */
	setenv("VIRTLAB_AGENT", "/bin/sh", 1);
	vl_error_clear(&err);
	assert_int_equal(vl_image_golden("busybox", &img, &err), -1);
	assert_non_null(strstr(err.msg, "dynamically linked"));
}

static void test_build_and_cache(void **state)
{
	struct vl_image first, again, other;
	char path[PATH_MAX], copy[PATH_MAX];
	struct stat st;
	vl_error err = {0};
	vl_error *e = &err;
	char *bytes = NULL;
	size_t len = 0;

	(void)state;
	if (!agent[0] || access("/bin/busybox", X_OK) < 0)
		skip();
	setenv("VIRTLAB_AGENT", agent, 1);
	if (vl_image_golden("busybox", &first, e) < 0)
		fail_msg("%s", err.msg);
	assert_false(first.from_cache);
	if (vl_image_golden("busybox", &again, e) < 0)
		fail_msg("%s", err.msg);
	assert_true(again.from_cache);
	assert_string_equal(first.hash, again.hash);
	/* The memo of the inputs' hash outlives its image: it is built again. */
	assert_int_equal(vl_rootfs_remove(first.path, e), 0);
	if (vl_image_golden("busybox", &again, e) < 0)
		fail_msg("%s", err.msg);
	assert_false(again.from_cache);
	assert_string_equal(first.hash, again.hash);
	snprintf(path, sizeof(path), "%s/bin/sh", first.path);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	snprintf(path, sizeof(path), "%s/tmp", first.path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);

	/* Another agent (one byte more) is another image. */
	snprintf(copy, sizeof(copy), "%s/agent-copy", tmpdir);
	assert_int_equal(vl_read_file(agent, &bytes, &len, e), 0);
	bytes[len] = '\n';
	assert_int_equal(vl_write_file_atomic(copy, bytes, len + 1, e), 0);
	free(bytes);
	assert_int_equal(chmod(copy, 0755), 0);
	setenv("VIRTLAB_AGENT", copy, 1);
	if (vl_image_golden("busybox", &other, e) < 0)
		fail_msg("%s", err.msg);
	assert_false(other.from_cache);
	assert_string_not_equal(first.hash, other.hash);
}

static int setup(void **state)
{
	const char *env = getenv("VIRTLAB_AGENT");
	char path[PATH_MAX];

	(void)state;
	snprintf(agent, sizeof(agent), "%s", env ? env : "");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/data", tmpdir);
	return setenv("VIRTLAB_DATA", path, 1);
}

static int teardown(void **state)
{
	vl_error err = {0};

	(void)state;
	return vl_rootfs_remove(tmpdir, &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_unknown_kind),
	        cmocka_unit_test(test_bad_agent),
	        cmocka_unit_test(test_debian_needs_debootstrap),
	        cmocka_unit_test(test_build_and_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
