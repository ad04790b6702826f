/* Guest records (platforms/state.c) and the cleanup of what they track
 * (platforms/cleanup.c), in temporary state and data roots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/file.h"
#include "platforms/cleanup.h"
#include "platforms/state.h"

struct roots {
	char state[64];
	char data[64];
};

static void remove_or_fail(const char *path)
{
	vl_error err = {0};
	if (vl_remove_tree(path, &err) < 0)
		fail_msg("%s", err.msg);
}

static int make_roots(void **state)
{
	struct roots *r = calloc(1, sizeof(*r));

	snprintf(r->state, sizeof(r->state), "/tmp/virtlab-state-XXXXXX");
	snprintf(r->data, sizeof(r->data), "/tmp/virtlab-data-XXXXXX");
	if (!mkdtemp(r->state) || !mkdtemp(r->data))
		fail_msg("mkdtemp: %s", strerror(errno));
	setenv("VIRTLAB_STATE", r->state, 1);
	setenv("VIRTLAB_DATA", r->data, 1);
	*state = r;
	return 0;
}

static int remove_roots(void **state)
{
	struct roots *r = *state;

	remove_or_fail(r->state);
	remove_or_fail(r->data);
	unsetenv("VIRTLAB_STATE");
	unsetenv("VIRTLAB_DATA");
	free(r);
	return 0;
}

static struct vl_guest *new_guest(const char *name)
{
	struct vl_guest_spec spec = {.cpus = 2, .memory_bytes = 256u << 20, .pids_max = 64};
	struct vl_guest *g = NULL;
	vl_error err = {0};

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	snprintf(spec.image, sizeof(spec.image), "busybox");
	snprintf(spec.cpuset, sizeof(spec.cpuset), "0-1");
	spec.cpu_weight = 200;
	spec.cpu_max_pct = 50;
	if (vl_guest_new(vl_platform_find("null"), &spec, &g, &err) < 0)
		fail_msg("%s", err.msg);
	return g;
}

static void save_or_fail(struct vl_guest *g, const char *status)
{
	vl_error err = {0};
	if (vl_state_save(g, status, &err) < 0)
		fail_msg("%s", err.msg);
}

static json_t *read_or_fail(const char *name)
{
	json_t *doc = NULL;
	vl_error err = {0};
	if (vl_state_read(name, &doc, &err) < 0)
		fail_msg("%s", err.msg);
	return doc;
}

static void test_roots_follow_environment(void **state)
{
	struct roots *r = *state;
	struct vl_guest *g = new_guest("roots");
	char expected[128];

	assert_string_equal(vl_state_root(), r->state);
	assert_string_equal(vl_data_root(), r->data);
	snprintf(expected, sizeof(expected), "%s/guests/roots", r->data);
	assert_string_equal(g->state_dir, expected);
	vl_guest_free(g);
}

static void test_save_load_round_trip(void **state)
{
	struct vl_guest *g = new_guest("web1"), *back = NULL;
	json_t *doc;
	vl_error err = {0};

	(void)state;
	json_object_set_new(g->record, "init_pid", json_integer(1234));
	save_or_fail(g, "provisioned");
	if (vl_state_load("web1", &back, &err) < 0)
		fail_msg("%s", err.msg);
	assert_ptr_equal(back->platform, g->platform);
	assert_string_equal(back->spec.name, "web1");
	assert_string_equal(back->spec.image, "busybox");
	assert_string_equal(back->spec.cpuset, "0-1");
	assert_int_equal(back->spec.cpus, 2);
	assert_int_equal(back->spec.memory_bytes, 256u << 20);
	assert_int_equal(back->spec.pids_max, 64);
	assert_int_equal(back->spec.cpu_weight, 200);
	assert_true(back->spec.cpu_max_pct == 50);
	assert_string_equal(back->state_dir, g->state_dir);
	assert_int_equal(json_integer_value(json_object_get(back->record, "init_pid")), 1234);
	doc = read_or_fail("web1");
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "provisioned");
	assert_string_equal(json_string_value(json_object_get(doc, "platform")), "null");
	json_decref(doc);
	if (vl_state_remove("web1", &err) < 0)
		fail_msg("%s", err.msg);
	vl_guest_free(back);
	vl_guest_free(g);
}

static void test_missing_guest_is_input_error(void **state)
{
	struct vl_guest *g = NULL;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_state_load("nosuch", &g, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "nosuch"));
	assert_int_equal(vl_state_lock("../escape", false, &(int){0}, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static void test_lock_contention(void **state)
{
	int fd1 = -1, fd2 = -1;
	vl_error err = {0};

	(void)state;
	if (vl_state_lock("locked", false, &fd1, &err) < 0)
		fail_msg("%s", err.msg);
	/* flock conflicts between open file descriptions, so one process shows it. */
	assert_int_equal(vl_state_lock("locked", false, &fd2, &err), -1);
	assert_non_null(strstr(err.msg, "busy"));
	assert_int_equal(err.errnum, EBUSY);
	vl_state_unlock(fd1);
	vl_error_clear(&err);
	if (vl_state_lock("locked", false, &fd2, &err) < 0)
		fail_msg("after unlock: %s", err.msg);
	/* A removed record's lock is not the one a newcomer gets. */
	if (vl_state_remove("locked", &err) < 0)
		fail_msg("%s", err.msg);
	if (vl_state_lock("locked", false, &fd1, &err) < 0)
		fail_msg("after remove: %s", err.msg);
	vl_state_unlock(fd2);
	vl_state_unlock(fd1);
	if (vl_state_remove("locked", &err) < 0)
		fail_msg("%s", err.msg);
}

static void track_or_fail(struct vl_guest *g, const char *kind, const char *id)
{
	vl_error err = {0};
	if (vl_state_track(g, kind, id, &err) < 0)
		fail_msg("%s", err.msg);
}

static size_t count_resources(const char *name)
{
	json_t *doc = read_or_fail(name);
	size_t n = json_array_size(json_object_get(doc, "resources"));
	json_decref(doc);
	return n;
}

static void test_track_untrack(void **state)
{
	struct vl_guest *g = new_guest("tracker");
	json_t *doc, *first;
	vl_error err = {0};

	(void)state;
	/* Tracking before the first save makes a record of a guest in the making. */
	if (vl_state_track(g, VL_RES_DIR, "/tmp/virtlab-x", &err) < 0 ||
	    vl_state_track(g, VL_RES_FILE, "/tmp/virtlab-x/f", &err) < 0 ||
	    vl_state_track(g, VL_RES_DIR, "/tmp/virtlab-x", &err) < 0)
		fail_msg("%s", err.msg);
	doc = read_or_fail("tracker");
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "provisioning");
	assert_int_equal(json_array_size(json_object_get(doc, "resources")), 2);
	first = json_array_get(json_object_get(doc, "resources"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "kind")), VL_RES_DIR);
	json_decref(doc);
	/* Saving keeps the resources. */
	save_or_fail(g, "running");
	assert_int_equal(count_resources("tracker"), 2);
	if (vl_state_untrack(g, VL_RES_DIR, "/tmp/virtlab-x", &err) < 0 ||
	    vl_state_untrack(g, VL_RES_LINK, "vl-never", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(count_resources("tracker"), 1);
	doc = read_or_fail("tracker");
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "running");
	json_decref(doc);
	if (vl_state_remove("tracker", &err) < 0)
		fail_msg("%s", err.msg);
	vl_guest_free(g);
}

static void test_transient_record_goes_with_its_last_resource(void **state)
{
	struct vl_guest *g = new_guest("run-1");
	json_t *doc = NULL;
	vl_error err = {0};

	(void)state;
	track_or_fail(g, VL_RES_CGROUP, "virtlab/run-1");
	track_or_fail(g, VL_RES_DIR, "/tmp/virtlab-run-1");
	if (vl_state_untrack(g, VL_RES_DIR, "/tmp/virtlab-run-1", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(count_resources("run-1"), 1);
	if (vl_state_untrack(g, VL_RES_CGROUP, "virtlab/run-1", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(vl_state_read("run-1", &doc, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	vl_guest_free(g);
}

static void test_list_and_remove(void **state)
{
	struct vl_guest *b = new_guest("bravo"), *a = new_guest("alpha");
	char **names = NULL;
	size_t n = 0;
	int fd;
	vl_error err = {0};

	(void)state;
	save_or_fail(b, "provisioned");
	save_or_fail(a, "provisioned");
	/* A lock without a record is not a guest. */
	if (vl_state_lock("charlie", false, &fd, &err) < 0)
		fail_msg("%s", err.msg);
	vl_state_unlock(fd);
	if (vl_state_list(&names, &n, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "alpha");
	assert_string_equal(names[1], "bravo");
	vl_state_names_free(names, n);
	if (vl_state_remove("alpha", &err) < 0 || vl_state_remove("bravo", &err) < 0 ||
	    vl_state_remove("charlie", &err) < 0 || vl_state_list(&names, &n, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, 0);
	vl_state_names_free(names, n);
	vl_guest_free(a);
	vl_guest_free(b);
}

struct events {
	char text[16][256];
	size_t n;
	size_t failed;
};

static void collect(const struct vl_cleanup_event *ev, void *arg)
{
	struct events *e = arg;

	if (ev->error)
		e->failed++;
	if (e->n < 16)
		snprintf(e->text[e->n++], sizeof(e->text[0]), "%s %s", ev->kind, ev->id);
}

static bool has_event(const struct events *e, const char *kind, const char *id)
{
	char want[256];

	snprintf(want, sizeof(want), "%s %s", kind, id);
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->text[i], want) == 0)
			return true;
	return false;
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void test_cleanup_releases_everything(void **state)
{
	struct vl_guest *g = new_guest("crashed");
	char dir[PATH_MAX], file[PATH_MAX], sub[PATH_MAX], link[PATH_MAX], dead_id[64], live_id[64],
	        want[PATH_MAX + 16];
	struct events dry = {0}, real = {0}, again = {0};
	pid_t dead = spawn_sleeper(), live = spawn_sleeper();
	struct stat st;
	vl_error err = {0};

	(void)state;
	snprintf(dir, sizeof(dir), "%s/rootfs", g->state_dir);
	snprintf(sub, sizeof(sub), "%s/etc/deep", dir);
	snprintf(file, sizeof(file), "%s/channel.sock", g->state_dir);
	snprintf(link, sizeof(link), "%s/etc/host", dir);
	if (vl_mkdir_p(sub, 0755, &err) < 0 || vl_write_file_atomic(file, "x", 1, &err) < 0)
		fail_msg("%s", err.msg);
	/* Removal must not follow a link out of the tree. */
	assert_int_equal(symlink("/etc", link), 0);
	if (vl_state_process_id(dead, dead_id, sizeof(dead_id), &err) < 0 ||
	    vl_state_process_id(live, live_id, sizeof(live_id), &err) < 0)
		fail_msg("%s", err.msg);
	kill(dead, SIGKILL);
	waitpid(dead, NULL, 0);
	track_or_fail(g, VL_RES_DIR, dir);
	track_or_fail(g, VL_RES_FILE, file);
	track_or_fail(g, VL_RES_PROCESS, dead_id);
	track_or_fail(g, VL_RES_PROCESS, live_id);
	save_or_fail(g, "running");

	/* A dry run reports what exists and changes nothing. */
	if (vl_cleanup_guest("crashed", true, collect, &dry, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(dry.failed, 0);
	assert_true(has_event(&dry, VL_RES_DIR, dir));
	assert_true(has_event(&dry, VL_RES_FILE, file));
	assert_true(has_event(&dry, VL_RES_PROCESS, live_id));
	assert_false(has_event(&dry, VL_RES_PROCESS, dead_id));
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(kill(live, 0), 0);
	assert_int_equal(count_resources("crashed"), 4);

	if (vl_cleanup_guest("crashed", false, collect, &real, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(real.failed, 0);
	assert_int_equal(real.n, dry.n);
	/* Newest first, then the record. */
	assert_int_equal(real.n, 4);
	snprintf(want, sizeof(want), "%s %s", VL_RES_PROCESS, live_id);
	assert_string_equal(real.text[0], want);
	snprintf(want, sizeof(want), "%s %s", VL_RES_FILE, file);
	assert_string_equal(real.text[1], want);
	snprintf(want, sizeof(want), "%s %s", VL_RES_DIR, dir);
	assert_string_equal(real.text[2], want);
	assert_non_null(strstr(real.text[3], VL_CLEANUP_RECORD));
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(stat(file, &st), -1);
	assert_int_equal(stat("/etc", &st), 0);
	/* The live child was killed and reaped: its pid is gone. */
	assert_int_equal(waitpid(live, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);

	/* Idempotent: there is nothing left, not even a record. */
	assert_int_equal(vl_cleanup_guest("crashed", false, collect, &again, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(again.n, 0);
	vl_guest_free(g);
}

static void test_cleanup_leaves_a_running_owner_be(void **state)
{
	struct events ev = {0};
	vl_error err = {0};
	int ready[2];
	char c;
	pid_t owner;

	(void)state;
	/* The owner (as virtlab run would) records its guest without a lock. */
	assert_int_equal(pipe(ready), 0);
	owner = fork();
	assert_true(owner >= 0);
	if (owner == 0) {
		struct vl_guest *g = new_guest("transient");
		vl_error child_err = {0};
		if (vl_state_track(g, VL_RES_FILE, "/tmp/virtlab-transient", &child_err) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(vl_cleanup_guest("transient", false, collect, &ev, &err), -1);
	assert_int_equal(err.errnum, EBUSY);
	assert_int_equal(count_resources("transient"), 1);
	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
	vl_error_clear(&err);
	if (vl_cleanup_guest("transient", false, collect, &ev, &err) < 0)
		fail_msg("%s", err.msg);
}

static void test_remove_tree_keeps_symlink_targets(void **state)
{
	struct roots *r = *state;
	char dir[PATH_MAX], target[PATH_MAX], link[PATH_MAX];
	struct stat st;
	vl_error err = {0};

	snprintf(dir, sizeof(dir), "%s/tree", r->data);
	snprintf(target, sizeof(target), "%s/keep", r->data);
	if (vl_mkdir_p(target, 0755, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(link, sizeof(link), "%s/a/b", dir);
	if (vl_mkdir_p(link, 0755, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(link, sizeof(link), "%s/a/b/link", dir);
	assert_int_equal(symlink(target, link), 0);
	if (vl_remove_tree(dir, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(lstat(dir, &st), -1);
	assert_int_equal(stat(target, &st), 0);
	/* Missing is fine. */
	if (vl_remove_tree(dir, &err) < 0)
		fail_msg("%s", err.msg);
}

static void test_bad_resources_are_refused(void **state)
{
	bool existed;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_cleanup_resource(VL_RES_DIR, "relative/path", true, &existed, &err),
	                 -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_int_equal(vl_cleanup_resource(VL_RES_DIR, "/", true, &existed, &err), -1);
	assert_int_equal(
	        vl_cleanup_resource(VL_RES_FILE, "/tmp/../etc/passwd", true, &existed, &err), -1);
	assert_int_equal(vl_cleanup_resource(VL_RES_PROCESS, "12", true, &existed, &err), -1);
	assert_int_equal(vl_cleanup_resource(VL_RES_PROCESS, "1:5", true, &existed, &err), -1);
	assert_int_equal(
	        vl_cleanup_resource(VL_RES_NFT, "inet a; flush ruleset", true, &existed, &err), -1);
	assert_int_equal(vl_cleanup_resource("teapot", "x", true, &existed, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_roots_follow_environment),
	        cmocka_unit_test(test_save_load_round_trip),
	        cmocka_unit_test(test_missing_guest_is_input_error),
	        cmocka_unit_test(test_lock_contention),
	        cmocka_unit_test(test_track_untrack),
	        cmocka_unit_test(test_transient_record_goes_with_its_last_resource),
	        cmocka_unit_test(test_list_and_remove),
	        cmocka_unit_test(test_cleanup_releases_everything),
	        cmocka_unit_test(test_cleanup_leaves_a_running_owner_be),
	        cmocka_unit_test(test_remove_tree_keeps_symlink_targets),
	        cmocka_unit_test(test_bad_resources_are_refused),
	};
	return cmocka_run_group_tests(tests, make_roots, remove_roots);
}
