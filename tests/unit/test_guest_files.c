/* What the platforms share (platforms/guest_files.h, platforms/vm_guest.h),
 * without root: the record helpers, the guest's directory and state files
 * with their tracking, log tails, vCPU counts and pinning plans. State and
 * data roots are a fresh virtlab-guestfiles-unit-* directory. */
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
#include "platforms/cleanup.h"
#include "platforms/guest_files.h"
#include "platforms/state.h"
#include "platforms/vm_guest.h"

static char root[] = "/tmp/virtlab-guestfiles-unit-XXXXXX";

static struct vl_guest *new_guest(const char *name)
{
	struct vl_guest_spec spec = {0};
	struct vl_guest *g = NULL;
	vl_error err = {0};

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	assert_int_equal(vl_guest_new(vl_platform_find("null"), &spec, &g, &err), 0);
	return g;
}

static size_t tracked(const char *name)
{
	cleanup_json json_t *doc = NULL;
	vl_error err = {0};

	if (vl_state_read(name, &doc, &err) < 0)
		return 0;
	return json_array_size(json_object_get(doc, "resources"));
}

static void test_record(void **state)
{
	struct vl_guest *g = new_guest("unit-rec");
	vl_error err = {0};

	(void)state;
	assert_null(vl_guest_rec_str(g, "missing"));
	assert_int_equal(vl_guest_rec_int(g, "missing"), 0);
	assert_int_equal(vl_guest_rec_set(g, "s", json_string("text"), &err), 0);
	assert_int_equal(vl_guest_rec_set(g, "n", json_integer(42), &err), 0);
	assert_string_equal(vl_guest_rec_str(g, "s"), "text");
	assert_int_equal(vl_guest_rec_int(g, "n"), 42);
	/* A value that could not be made is an error, not a crash. */
	assert_int_equal(vl_guest_rec_set(g, "bad", json_string(NULL), &err), -1);
	vl_guest_free(g);
}

/* The directory and a state file are tracked while they exist, and gone
 * from disk and record once removed. */
static void test_files(void **state)
{
	struct vl_guest *g = new_guest("unit-files");
	const char *sock;
	struct stat st;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_guest_files_make(g, &err), 0);
	assert_int_equal(stat(g->state_dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(vl_guest_state_file(g, "sock", "agent.sock", &err), 0);
	sock = vl_guest_rec_str(g, "sock");
	assert_non_null(strstr(sock, "/guests/unit-files/agent.sock"));
	assert_int_equal(tracked("unit-files"), 2);
	assert_int_equal(vl_write_file_atomic(sock, "x", 1, &err), 0);
	vl_guest_state_file_remove(g, "sock");
	assert_null(vl_guest_rec_str(g, "sock"));
	assert_int_equal(tracked("unit-files"), 1);
	vl_guest_files_remove(g);
	assert_int_not_equal(stat(g->state_dir, &st), 0);
	/* The last resource gone, the never-saved record goes too. */
	assert_int_equal(tracked("unit-files"), 0);
	vl_guest_free(g);
}

static void test_log_tail(void **state)
{
	char path[PATH_MAX + 16], buf[64];
	vl_error err = {0};

	(void)state;
	snprintf(path, sizeof(path), "%s/log", root);
	assert_null(vl_guest_log_tail(path, buf, sizeof(buf)));
	assert_int_equal(vl_write_file_atomic(path, "first\nlast line\r\n\n", 18, &err), 0);
	assert_string_equal(vl_guest_log_tail(path, buf, sizeof(buf)), "last line");
	assert_int_equal(vl_write_file_atomic(path, "only", 4, &err), 0);
	assert_string_equal(vl_guest_log_tail(path, buf, sizeof(buf)), "only");
	assert_int_equal(vl_write_file_atomic(path, "", 0, &err), 0);
	assert_null(vl_guest_log_tail(path, buf, sizeof(buf)));
}

static void test_vcpus(void **state)
{
	struct vl_guest_spec spec = {0};
	int cpus[5];
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_vm_vcpu_count(&spec, 1), 1);
	snprintf(spec.cpuset, sizeof(spec.cpuset), "0-2,5");
	assert_int_equal(vl_vm_vcpu_count(&spec, 1), 4);
	spec.cpus = 2;
	assert_int_equal(vl_vm_vcpu_count(&spec, 1), 2);
	assert_int_equal(vl_vm_pin_plan("1,3", cpus, 5, &err), 0);
	assert_int_equal(cpus[0], 1);
	assert_int_equal(cpus[1], 3);
	assert_int_equal(cpus[2], 1);
	assert_int_equal(cpus[4], 1);
	assert_int_equal(vl_vm_pin_plan("none", cpus, 1, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static int setup(void **state)
{
	char path[PATH_MAX];

	(void)state;
	if (!mkdtemp(root))
		return -1;
	snprintf(path, sizeof(path), "%s/state", root);
	setenv("VIRTLAB_STATE", path, 1);
	snprintf(path, sizeof(path), "%s/data", root);
	setenv("VIRTLAB_DATA", path, 1);
	return 0;
}

static int teardown(void **state)
{
	vl_error err = {0};

	(void)state;
	return vl_remove_tree(root, &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_record),
	        cmocka_unit_test(test_files),
	        cmocka_unit_test(test_log_tail),
	        cmocka_unit_test(test_vcpus),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
