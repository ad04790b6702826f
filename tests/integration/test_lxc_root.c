/* The LXC platform end to end, as root: create, start, workloads and a
 * cpu-max policy measured from inside through the agent, reboot, both kinds
 * of clone, the container issue's escape checks in an LXC guest, stop and
 * destroy; then a virtlab killed with SIGKILL at several points and
 * `virtlab cleanup` (vl_cleanup_all). Nothing may remain: container, cgroup,
 * mount or process. Prints the figures it measured. Exits 77 with the reason
 * when root, liblxc, busybox-static or the static agent is missing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/file.h"
#include "escape_checks.h"
#include "platform_test.h"
#include "platforms/cleanup.h"
#include "platforms/lxc_config.h"
#include "platforms/image.h"
#include "platforms/platform.h"
#include "platforms/state.h"
#include "runtime/cgroup.h"

#define MAIN         "virtlab-lxc1"
#define SNAP         "virtlab-lxc-snap"
#define FULL         "virtlab-lxc-full"
#define KILLED       "virtlab-lxc-k9"
#define GUEST_MARKER "/virtlab-guest-root"

static char tmpdir[] = "/tmp/virtlab-lxctest-XXXXXX";
static char statedir[] = "/dev/shm/virtlab-lxctest-state-XXXXXX";
static const struct vl_platform *platform;
/* The empty lxc.pivot groups at the hierarchies' roots before the test: LXC
 * makes them when a container has no pivot of its own. */
static unsigned pivots_before;

static struct vl_test_guest main_guest = VL_TEST_GUEST_INIT;

/* Whether LXC has the container: its configuration file (what LXC's
 * is_defined looks for) or its lock file under LXC's run directory. Asked
 * without liblxc, which would make the lock file by asking. */
static bool lxc_left(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/data/guests/%s/config", tmpdir, name);
	if (stat(path, &st) == 0)
		return true;
	snprintf(path, sizeof(path), "/run/lxc/lock%s/data/guests/.%s", tmpdir, name);
	return stat(path, &st) == 0;
}

/* Cgroups of the guest (its own, its monitor's) and the monitors' pivot
 * (virtlab/lxc.pivot) in any hierarchy, and lxc.pivot groups at the roots. */
static unsigned count_cgroups(const char *name, unsigned *pivots)
{
	cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
	const char *suffixes[] = {"", ".lxc-monitor"};
	struct dirent *e;
	unsigned n = 0;
	struct stat st;

	*pivots = 0;
	assert_non_null(d);
	/* cgroup v1: one directory per hierarchy; v2: the root itself. */
	while ((e = readdir(d))) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/lxc.pivot", e->d_name);
		*pivots += stat(path, &st) == 0;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/" VL_LXC_PIVOT, e->d_name);
		n += stat(path, &st) == 0;
		for (size_t i = 0; name && i < 2; i++) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/virtlab/%s%s", e->d_name,
			         name, suffixes[i]);
			n += stat(path, &st) == 0;
		}
	}
	return n;
}

static bool process_alive(long long pid, long long start)
{
	unsigned long long now;
	vl_error err = {0};
	char state;

	return pid > 0 && vl_state_process_start((pid_t)pid, &now, &state, &err) == 0 &&
	       now == (unsigned long long)start && state != 'Z';
}

static bool mounted_under(const char *dir)
{
	cleanup_free char *mounts = NULL;
	vl_error err = {0};
	size_t len;

	vl_test_check(vl_read_file("/proc/self/mountinfo", &mounts, &len, &err), &err);
	return strstr(mounts, dir) != NULL;
}

static void assert_gone(const char *name, long long init, long long init_start, long long mon,
                        long long mon_start)
{
	char path[PATH_MAX];
	unsigned pivots;
	struct stat st;

	assert_false(lxc_left(name));
	assert_int_equal(count_cgroups(name, &pivots), 0);
	assert_int_equal(pivots, pivots_before);
	assert_false(process_alive(init, init_start));
	assert_false(process_alive(mon, mon_start));
	assert_false(mounted_under(tmpdir));
	snprintf(path, sizeof(path), "%s/data/guests/%s", tmpdir, name);
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/guests/%s", statedir, name);
	assert_int_not_equal(stat(path, &st), 0);
}

static long long rec(struct vl_guest *g, const char *key)
{
	return json_integer_value(json_object_get(g->record, key));
}

static void test_create_start(void **state)
{
	struct vl_guest *g;
	struct vl_footprint fp;
	cleanup_json json_t *r = NULL;
	vl_error err = {0};
	const char *out;
	uint64_t t0;
	int status;

	(void)state;
	vl_test_guest_new(platform, MAIN, &main_guest);
	g = main_guest.g;
	t0 = vl_now_ns();
	vl_test_check(platform->provision(g, &err), &err);
	printf("# provision (golden image build + LXC config): %.1f ms\n", vl_test_ms_since(t0));
	{
		char config[PATH_MAX];
		struct stat st;

		snprintf(config, sizeof(config), "%s/config", g->state_dir);
		assert_int_equal(stat(config, &st), 0);
	}
	t0 = vl_now_ns();
	vl_test_check(platform->start(g, &err), &err);
	printf("# start to agent hello: %.1f ms\n", vl_test_ms_since(t0));
	vl_test_hello(g, MAIN);
	out = vl_test_sh(g, "cat /proc/1/comm; hostname; ls /sys/class/net", 10.0, &r, &status);
	assert_int_equal(status, 0);
	assert_string_equal(out, "virtlab-agent\n" MAIN "\nlo\n");
	vl_test_check(platform->footprint(g, &fp, &err), &err);
	printf("# idle footprint (init + LXC monitor): cgroup memory %.1f MiB, RSS %.1f MiB, "
	       "PSS %.1f MiB\n",
	       fp.cgroup_memory_bytes / 1048576.0, fp.rss_bytes / 1048576.0,
	       fp.pss_bytes / 1048576.0);
	assert_true(fp.rss_bytes > 0 && fp.cgroup_memory_bytes > 0);
}

static void test_workloads(void **state)
{
	(void)state;
	vl_test_workloads(main_guest.g);
}

/* The share of one CPU a spinning shell gets, from inside: busybox time's
 * user + sys over real. */
static double cpu_share(struct vl_guest *g, unsigned loops)
{
	cleanup_json json_t *r = NULL;
	char script[256];
	double real = 0, user = 0, sys = 0;
	const char *out;
	int status;

	snprintf(script, sizeof(script),
	         "time -p sh -c 'i=0; while [ $i -lt %u ]; do i=$((i+1)); done' 2>&1", loops);
	out = vl_test_sh(g, script, 60.0, &r, &status);
	assert_non_null(out);
	if (sscanf(out, "real %lf\nuser %lf\nsys %lf", &real, &user, &sys) != 3 || real <= 0)
		fail_msg("unexpected output of time: %s", out);
	return (user + sys) / real;
}

/* How often the kernel throttled the guest's cgroup (cpu.stat, v1 and v2). */
static long long nr_throttled(struct vl_guest *g)
{
	struct vl_cgroup *cg = vl_test_guest_cgroup(g);
	cleanup_free char *text = NULL;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	vl_error err = {0};
	const char *p;
	size_t len;

	assert_non_null(vl_cgroup_path(cg, VL_CGROUP_CPU, dir, sizeof(dir)));
	vl_cgroup_free(cg);
	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	vl_test_check(vl_read_file(path, &text, &len, &err), &err);
	p = strstr(text, "nr_throttled ");
	assert_non_null(p);
	return atoll(p + strlen("nr_throttled "));
}

/* From inside: the CPU share a spinning process in the guest gets under a
 * 20% policy applied through LXC's cgroup items. Other load on the host can
 * only lower it, so the share without the policy is printed, not compared;
 * the kernel's throttle count shows that the policy, not that load, held it. */
static void test_cpu_max(void **state)
{
	struct vl_guest *g = main_guest.g;
	const unsigned loops = 400000;
	vl_error err = {0};
	double free_share, limited;
	long long throttled;

	(void)state;
	free_share = cpu_share(g, loops);
	vl_test_check(
	        platform->apply_entitlement(g, &(struct vl_entitlement){.cpu_max_pct = 20}, &err),
	        &err);
	throttled = nr_throttled(g);
	limited = cpu_share(g, loops);
	throttled = nr_throttled(g) - throttled;
	vl_test_check(
	        platform->apply_entitlement(g, &(struct vl_entitlement){.cpu_max_pct = 1000}, &err),
	        &err);
	printf("# cpu-max 20%% through set_cgroup_item: a spinning shell in the guest got "
	       "%.1f%% of a CPU (%.1f%% without the policy); throttled %lld times\n",
	       100 * limited, 100 * free_share, throttled);
	assert_true(limited <= 0.25 && limited >= 0.02);
	assert_true(throttled > 0);
}

/* How many times the guest's record lists resource KIND ID. */
static size_t count_tracked(const char *guest, const char *kind, const char *id)
{
	cleanup_json json_t *doc = NULL;
	vl_error err = {0};
	size_t i, n = 0;
	json_t *r;

	vl_test_check(vl_state_read(guest, &doc, &err), &err);
	json_array_foreach(json_object_get(doc, "resources"), i, r)
	{
		n += strcmp(json_string_value(json_object_get(r, "kind")), kind) == 0 &&
		     strcmp(json_string_value(json_object_get(r, "id")), id) == 0;
	}
	return n;
}

static void test_reboot(void **state)
{
	struct vl_guest *g = main_guest.g;
	long long before = rec(g, "init_pid");
	char monitor[64];
	vl_error err = {0};
	uint64_t t0 = vl_now_ns();

	(void)state;
	vl_test_check(platform->reboot(g, &err), &err);
	printf("# reboot to agent hello: %.1f ms\n", vl_test_ms_since(t0));
	assert_true(rec(g, "init_pid") != before);
	/* The reboot keeps the cgroups in the record across it, once each, and
	 * tracks the new monitor. */
	assert_int_equal(count_tracked(MAIN, VL_RES_CGROUP, "virtlab/" MAIN), 1);
	assert_int_equal(count_tracked(MAIN, VL_RES_CGROUP, "virtlab/" MAIN ".lxc-monitor"), 1);
	snprintf(monitor, sizeof(monitor), "%lld:%lld", rec(g, "monitor_pid"),
	         rec(g, "monitor_start"));
	assert_int_equal(count_tracked(MAIN, VL_RES_PROCESS, monitor), 1);
	vl_test_hello(g, MAIN);
}

static void clone_and_start(struct vl_test_guest *t, const char *name, bool full)
{
	vl_error err = {0};
	uint64_t t0;

	vl_test_guest_new(platform, name, t);
	t0 = vl_now_ns();
	vl_test_check(platform->clone(main_guest.g, t->g, full, &err), &err);
	printf("# %s clone: %.1f ms\n", full ? "full-copy" : "overlay snapshot",
	       vl_test_ms_since(t0));
	vl_test_check(platform->start(t->g, &err), &err);
	vl_test_hello(t->g, name);
}

/* A file the clone's source wrote is in both kinds of clone; one the
 * clone writes stays in the clone. */
static void test_clone(void **state)
{
	struct vl_test_guest snap = VL_TEST_GUEST_INIT, full = VL_TEST_GUEST_INIT;
	cleanup_json json_t *r1 = NULL;
	cleanup_json json_t *r2 = NULL;
	cleanup_json json_t *r3 = NULL;
	vl_error err = {0};
	int status;

	(void)state;
	vl_test_sh(main_guest.g, "echo source > /root/virtlab-mark", 10.0, &r1, &status);
	assert_int_equal(status, 0);
	/* A snapshot of a running guest, as virtlab's containers allow. */
	clone_and_start(&snap, SNAP, false);
	assert_string_equal(vl_test_sh(snap.g,
	                               "cat /root/virtlab-mark; echo snap > /root/virtlab-mark",
	                               10.0, &r2, &status),
	                    "source\n");
	vl_test_check(platform->stop(main_guest.g, &err), &err);
	clone_and_start(&full, FULL, true);
	assert_string_equal(vl_test_sh(full.g, "cat /root/virtlab-mark", 10.0, &r3, &status),
	                    "source\n");
	vl_test_guest_free(&snap);
	vl_test_guest_free(&full);
	vl_test_check(platform->start(main_guest.g, &err), &err);
}

/* cp PROGRAM DST, executable. */
static int copy_program(const char *src, const char *dst, vl_error *err)
{
	cleanup_free char *data = NULL;
	size_t len;

	if (vl_read_file(src, &data, &len, err) < 0 ||
	    vl_write_file_atomic(dst, data, len, err) < 0)
		return -1;
	if (chmod(dst, 0755) < 0)
		return vl_error_errno(err, errno, "chmod %s", dst);
	return 0;
}

/* The container issue's checks, as a program the agent runs in the guest
 * (so with the guest's namespaces, cgroup, capabilities, seccomp profile and
 * no_new_privs), brought in through the channel directory. */
static void test_escapes(void **state)
{
	struct vl_guest *g = main_guest.g;
	const char *program = getenv("VL_ESCAPE_CHECKS");
	char path[PATH_MAX], host_marker[PATH_MAX], host_pid[16];
	cleanup_json json_t *r = NULL;
	struct vl_agent_client *c;
	vl_error err = {0};
	json_t *args;
	int rc;

	(void)state;
	if (!program) {
		printf("# escape checks skipped: no static escape_checks program (sanitized "
		       "build)\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/channel/escape-checks", g->state_dir);
	vl_test_check(copy_program(program, path, &err), &err);
	snprintf(path, sizeof(path), "%s/channel" GUEST_MARKER, g->state_dir);
	vl_test_check(vl_write_file_atomic(path, "guest\n", 6, &err), &err);
	snprintf(host_marker, sizeof(host_marker), "%s/virtlab-host-marker", tmpdir);
	vl_test_check(vl_write_file_atomic(host_marker, "host\n", 5, &err), &err);
	snprintf(host_pid, sizeof(host_pid), "%d", (int)getpid());
	c = vl_test_client(g);
	args = json_pack("{s:[s,s,s,s], s:f}", "argv", "/run/virtlab/escape-checks", host_pid,
	                 "/run/virtlab" GUEST_MARKER, host_marker, "timeout", 20.0);
	rc = vl_agent_call(c, "exec", args, 30.0, &r, &err);
	json_decref(args);
	vl_agent_client_free(c);
	unlink(host_marker);
	vl_test_check(rc, &err);
	rc = (int)json_integer_value(json_object_get(r, "exit_status"));
	if (!json_is_integer(json_object_get(r, "exit_status")))
		fail_msg("the escape checks died: %s", json_dumps(r, 0));
	if (rc != 0)
		fail_msg("escape check %d succeeded from inside the LXC guest (stderr: %s)", rc,
		         json_string_value(json_object_get(r, "stderr")));
	printf("# escape checks 1-13 fail from inside the LXC guest, as they should\n");
}

static void test_stop_destroy(void **state)
{
	struct vl_guest *g = main_guest.g;
	long long init = rec(g, "init_pid"), init_start = rec(g, "init_start");
	long long mon = rec(g, "monitor_pid"), mon_start = rec(g, "monitor_start");
	vl_error err = {0};
	uint64_t t0 = vl_now_ns();

	(void)state;
	vl_test_check(platform->stop(g, &err), &err);
	printf("# stop: %.1f ms\n", vl_test_ms_since(t0));
	assert_false(process_alive(init, init_start));
	assert_false(process_alive(mon, mon_start));
	t0 = vl_now_ns();
	vl_test_guest_free(&main_guest);
	printf("# destroy: %.1f ms\n", vl_test_ms_since(t0));
	assert_gone(MAIN, init, init_start, mon, mon_start);
}

/* `virtlab cleanup` under the test's state root. Other live runs' guests on
 * this host are reported as kept (they have processes and no record here):
 * only an error about our own guest fails the test. */
static void on_cleanup(const struct vl_cleanup_event *ev, void *arg)
{
	(void)arg;
	if (ev->error && ((ev->guest && strcmp(ev->guest, KILLED) == 0) || strstr(ev->id, KILLED)))
		fail_msg("virtlab cleanup kept %s %s: %s", ev->kind, ev->id, ev->error);
}

static void cleanup_host(void)
{
	vl_error err = {0};

	vl_cleanup_all(false, on_cleanup, NULL, &err);
}

/* A virtlab that made and started a guest, killed with SIGKILL after
 * `delay_ms`, then `virtlab cleanup`. */
static void kill_and_clean(unsigned delay_ms)
{
	cleanup_json json_t *doc = NULL;
	vl_error err = {0};
	pid_t child = fork();
	int status;

	assert_true(child >= 0);
	if (child == 0) {
		struct vl_test_guest t = VL_TEST_GUEST_INIT;

		vl_test_guest_new(platform, KILLED, &t);
		if (platform->provision(t.g, &err) < 0 || vl_state_save(t.g, "provisioned", &err) ||
		    platform->start(t.g, &err) < 0 || vl_state_save(t.g, "running", &err) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	vl_sleep_ns((uint64_t)delay_ms * 1000000, NULL);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	if (WIFEXITED(status))
		fail_msg("the killed virtlab failed before its SIGKILL");
	/* What the record named, to check against after the cleanup. */
	if (vl_state_read(KILLED, &doc, &err) == 0) {
		json_t *r = json_object_get(doc, "record");
		long long init = json_integer_value(json_object_get(r, "init_pid"));
		long long init_start = json_integer_value(json_object_get(r, "init_start"));
		long long mon = json_integer_value(json_object_get(r, "monitor_pid"));
		long long mon_start = json_integer_value(json_object_get(r, "monitor_start"));

		cleanup_host();
		assert_gone(KILLED, init, init_start, mon, mon_start);
	} else {
		cleanup_host();
		assert_gone(KILLED, 0, 0, 0, 0);
	}
}

static void test_killed_virtlab(void **state)
{
	/* In provision, in LXC's start, waiting for the agent, and running. */
	const unsigned delays_ms[] = {5, 40, 80, 1500};

	(void)state;
	for (size_t i = 0; i < sizeof(delays_ms) / sizeof(delays_ms[0]); i++)
		kill_and_clean(delays_ms[i]);
	printf("# SIGKILL of virtlab at %zu points, then virtlab cleanup: nothing left\n",
	       sizeof(delays_ms) / sizeof(delays_ms[0]));
}

static int setup(void **state)
{
	(void)state;
	count_cgroups(NULL, &pivots_before);
	return 0;
}

static int teardown(void **state)
{
	char path[PATH_MAX];
	vl_error err = {0};

	(void)state;
	if (main_guest.g) {
		vl_guest_free(main_guest.g);
		vl_state_unlock(main_guest.lock);
	}
	vl_cleanup_all(false, NULL, NULL, &err);
	/* What a failed test left of LXC's lock directories for our lxcpath. */
	snprintf(path, sizeof(path), "/run/lxc/lock%s", tmpdir);
	vl_remove_tree(path, &err);
	rmdir("/run/lxc/lock/tmp");
	if (vl_remove_tree(statedir, &err) < 0)
		return -1;
	return vl_remove_tree(tmpdir, &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_create_start), cmocka_unit_test(test_workloads),
	        cmocka_unit_test(test_cpu_max),      cmocka_unit_test(test_reboot),
	        cmocka_unit_test(test_clone),        cmocka_unit_test(test_escapes),
	        cmocka_unit_test(test_stop_destroy), cmocka_unit_test(test_killed_virtlab),
	};

	platform = vl_test_platform_setup("lxc", tmpdir, statedir);
	return cmocka_run_group_tests(tests, setup, teardown);
}
