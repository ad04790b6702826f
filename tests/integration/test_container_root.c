/* The container platform end to end, as root: golden image, start, isolation
 * seen from inside through the agent, workloads, cgroup knobs through
 * entitlements, clones, and no leftovers after stop and destroy. Prints the
 * figures it measured. Exits 77 with the reason when root, busybox-static,
 * overlayfs or the static agent is missing. */
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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/file.h"
#include "platform_test.h"
#include "platforms/image.h"
#include "platforms/platform.h"
#include "platforms/state.h"
#include "runtime/cgroup.h"
#include "runtime/rootfs.h"

#define MAIN   "virtlab-ct1"
#define CLONES 10

static char tmpdir[] = "/tmp/virtlab-ctest-XXXXXX";
/* The state root on tmpfs, as /run is on a real host: its records are small
 * and need not outlive a reboot. */
static char statedir[] = "/dev/shm/virtlab-ctest-state-XXXXXX";
static const struct vl_platform *platform;

static struct vl_test_guest main_guest = VL_TEST_GUEST_INIT;

static void entitle(struct vl_guest *g, const struct vl_entitlement *e)
{
	vl_error err = {0};

	vl_test_check(platform->apply_entitlement(g, e, &err), &err);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void test_provision(void **state)
{
	struct vl_image first, cached;
	char path[PATH_MAX];
	struct stat st;
	vl_error err = {0};
	uint64_t t0;
	double first_ms, cached_ms;

	(void)state;
	t0 = vl_now_ns();
	vl_test_check(vl_image_golden("busybox", &first, &err), &err);
	first_ms = vl_test_ms_since(t0);
	t0 = vl_now_ns();
	vl_test_check(vl_image_golden("busybox", &cached, &err), &err);
	cached_ms = vl_test_ms_since(t0);
	printf("# provision busybox image: first %.1f ms, cached %.1f ms\n", first_ms, cached_ms);
	assert_false(first.from_cache);
	assert_true(cached.from_cache);
	assert_string_equal(first.path, cached.path);
	assert_int_equal(strlen(first.hash), 64);
	for (const char *const *f = (const char *const[]){"bin/sh", "bin/busybox", "virtlab-agent",
	                                                  "etc/passwd", "etc/hosts", "tmp", NULL};
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", first.path, *f);
		assert_int_equal(lstat(path, &st), 0);
	}
	assert_true(first_ms <= 1000.0);
	assert_true(cached_ms <= 50.0);
}

static void test_start_isolation(void **state)
{
	struct vl_guest *g;
	struct vl_footprint fp;
	cleanup_free char *mounts = NULL;
	cleanup_free char *netdev = NULL;
	char path[64], upper_opt[PATH_MAX + 16];
	vl_error err = {0};
	size_t len, devices = 0;
	uint64_t t0;
	pid_t pid;

	(void)state;
	vl_test_guest_new(platform, MAIN, &main_guest);
	g = main_guest.g;
	t0 = vl_now_ns();
	vl_test_check(platform->provision(g, &err), &err);
	printf("# provision guest (image cached + overlay): %.2f ms\n", vl_test_ms_since(t0));
	t0 = vl_now_ns();
	vl_test_check(platform->start(g, &err), &err);
	printf("# start to agent hello: %.2f ms\n", vl_test_ms_since(t0));

	vl_test_hello(g, MAIN);

	/* The guest's own mount table: its root is the overlay of its upper layer. */
	pid = (pid_t)json_integer_value(json_object_get(g->record, "init_pid"));
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	vl_test_check(vl_read_file(path, &mounts, &len, &err), &err);
	snprintf(upper_opt, sizeof(upper_opt), "upperdir=%s",
	         json_string_value(json_object_get(g->record, "upper")));
	assert_non_null(strstr(mounts, " / / "));
	assert_non_null(strstr(mounts, upper_opt));
	assert_null(strstr(mounts, " /home "));
	/* Its own network namespace: lo only. */
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	vl_test_check(vl_read_file(path, &netdev, &len, &err), &err);
	for (char *save = NULL, *l = strtok_r(netdev, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save))
		if (strchr(l, ':')) {
			devices++;
			assert_non_null(strstr(l, "lo:"));
		}
	assert_int_equal(devices, 1);

	/* The same from inside, through the agent's exec op. */
	{
		cleanup_json json_t *r = NULL;
		int status;
		const char *out =
		        vl_test_sh(g,
		                   "cat /proc/1/comm; hostname; ls /sys/class/net; "
		                   "grep ' / / ' /proc/self/mountinfo; "
		                   "awk '{ print \"mount point\", $5 }' /proc/self/mountinfo",
		                   10.0, &r, &status);
		char want[128];
		unsigned mounts = 0;

		assert_int_equal(status, 0);
		snprintf(want, sizeof(want), "virtlab-agent\n%s\nlo\n", MAIN);
		assert_memory_equal(out, want, strlen(want));
		assert_non_null(strstr(out, " - overlay overlay "));
		/* Nothing of the host's tree is mounted: only the guest's own
		 * kernel filesystems, /dev and the masks over them. */
		for (const char *m = strstr(out, "mount point "); m;
		     m = strstr(m + 1, "mount point ")) {
			const char *p = m + strlen("mount point ");

			mounts++;
			if (strncmp(p, "/\n", 2) != 0 && strncmp(p, "/proc", 5) != 0 &&
			    strncmp(p, "/sys", 4) != 0 && strncmp(p, "/dev", 4) != 0)
				fail_msg("a host mount in the guest: %.80s", p);
		}
		printf("# from inside: pid 1 is the agent, hostname %s, network devices: lo, "
		       "%u mounts (overlay root, /proc, /sys, /dev and masks)\n",
		       MAIN, mounts);
	}

	vl_test_check(platform->footprint(g, &fp, &err), &err);
	printf("# idle footprint: cgroup memory %.1f MiB, RSS %.1f MiB, PSS %.1f MiB\n",
	       fp.cgroup_memory_bytes / 1048576.0, fp.rss_bytes / 1048576.0,
	       fp.pss_bytes / 1048576.0);
	assert_true(fp.rss_bytes > 0);
}

static void test_workloads(void **state)
{
	(void)state;
	vl_test_workloads(main_guest.g);
}

/* Starts a stressor on its own connection (stressors end with their session). */
static struct vl_agent_client *stress(struct vl_guest *g, const char *workload, json_t *params,
                                      unsigned *id, vl_error *err)
{
	struct vl_agent_client *c = vl_test_client(g);
	int rc = vl_agent_stress_start(c, workload, params, 10.0, id, err);

	json_decref(params);
	if (rc < 0) {
		vl_agent_client_free(c);
		return NULL;
	}
	return c;
}

static void test_cpu_max(void **state)
{
	struct vl_cgroup *cg = vl_test_guest_cgroup(main_guest.g);
	struct vl_cgroup_stats a, b;
	struct vl_agent_client *c;
	vl_error err = {0};
	unsigned id;
	uint64_t t0;
	double pct;

	(void)state;
	entitle(main_guest.g, &(struct vl_entitlement){.cpu_max_pct = 20});
	c = stress(main_guest.g, "stress.cpu", json_pack("{s:i}", "workers", 1), &id, &err);
	vl_test_check(c ? 0 : -1, &err);
	vl_sleep_ns(300000000ull, NULL); /* past the first period's burst */
	vl_test_check(vl_cgroup_read_stats(cg, &a, &err), &err);
	t0 = vl_now_ns();
	vl_sleep_ns(1500000000ull, NULL);
	vl_test_check(vl_cgroup_read_stats(cg, &b, &err), &err);
	pct = (double)(b.cpu_usec - a.cpu_usec) / 1e4 / vl_seconds_since(t0);
	vl_test_check(vl_agent_stress_stop(c, id, 10.0, NULL, &err), &err);
	vl_agent_client_free(c);
	vl_cgroup_free(cg);
	entitle(main_guest.g, &(struct vl_entitlement){.cpu_max_pct = 1000});
	printf("# cpu-max 20%%: a spinning guest used %.1f%% of one CPU\n", pct);
	assert_true(pct <= 25.0);
	assert_true(pct >= 5.0);
}

static long oom_kills(struct vl_cgroup *cg)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	cleanup_free char *text = NULL;
	vl_error err = {0};
	const char *k;
	size_t len;

	assert_non_null(vl_cgroup_path(cg, VL_CGROUP_MEMORY, dir, sizeof(dir)));
	snprintf(path, sizeof(path), "%s/%s", dir,
	         vl_cgroup_version(cg) == VL_CGROUP_V1 ? "memory.oom_control" : "memory.events");
	vl_test_check(vl_read_file(path, &text, &len, &err), &err);
	k = strstr(text, "oom_kill ");
	return k ? atol(k + strlen("oom_kill ")) : -1;
}

static void test_memory_oom(void **state)
{
	struct vl_cgroup *cg = vl_test_guest_cgroup(main_guest.g);
	struct vl_agent_client *c;
	cleanup_json json_t *sample = NULL;
	vl_error err = {0};
	long before = oom_kills(cg), after;
	unsigned id;
	int rc;

	(void)state;
	assert_true(before >= 0);
	entitle(main_guest.g, &(struct vl_entitlement){.memory_bytes = 48 << 20});
	c = stress(main_guest.g, "stress.vm",
	           json_pack("{s:i, s:f}", "vm_bytes", 256 << 20, "duration", 3.0), &id, &err);
	vl_test_check(c ? 0 : -1, &err);
	for (int i = 0; i < 50 && oom_kills(cg) == before; i++)
		vl_sleep_ns(100000000ull, NULL);
	after = oom_kills(cg);
	rc = vl_agent_stress_stop(c, id, 10.0, &sample, &err);
	printf("# memory 48 MiB vs a 256 MiB writer: oom kills %ld -> %ld, stress-stop %s\n",
	       before, after, rc < 0 ? err.msg : "ok");
	vl_agent_client_free(c);
	vl_cgroup_free(cg);
	assert_true(after > before);
	/* Only inside: the agent (PID 1) and the host go on. */
	vl_test_hello(main_guest.g, NULL);
	entitle(main_guest.g, &(struct vl_entitlement){.memory_bytes = 1ull << 30});
}

/* How often the pids controller refused a fork ("max N" in pids.events). */
static long pids_refused(struct vl_cgroup *cg)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	cleanup_free char *text = NULL;
	vl_error err = {0};
	const char *k;
	size_t len;

	assert_non_null(vl_cgroup_path(cg, VL_CGROUP_PIDS, dir, sizeof(dir)));
	snprintf(path, sizeof(path), "%s/pids.events", dir);
	vl_test_check(vl_read_file(path, &text, &len, &err), &err);
	k = strstr(text, "max ");
	return k ? atol(k + strlen("max ")) : -1;
}

static void test_pids(void **state)
{
	struct vl_cgroup *cg = vl_test_guest_cgroup(main_guest.g);
	struct vl_cgroup_stats st;
	struct vl_agent_client *c;
	cleanup_json json_t *sample = NULL;
	vl_error err = {0};
	uint64_t peak = 0;
	unsigned id;
	int rc = -1;
	long refused = pids_refused(cg);

	(void)state;
	entitle(main_guest.g, &(struct vl_entitlement){.pids_max = 16});
	/* 200 workers: a thread bomb is a fork bomb to the pids controller. */
	c = stress(main_guest.g, "stress.cpu",
	           json_pack("{s:i, s:f}", "workers", 200, "duration", 1.0), &id, &err);
	if (c) {
		for (int i = 0; i < 10; i++) {
			vl_test_check(vl_cgroup_read_stats(cg, &st, &err), &err);
			peak = st.pids_current > peak ? st.pids_current : peak;
			vl_sleep_ns(50000000ull, NULL);
		}
		rc = vl_agent_stress_stop(c, id, 10.0, &sample, &err);
		vl_agent_client_free(c);
	}
	refused = pids_refused(cg) - refused;
	printf("# pids 16 vs 200 workers: peak %llu tasks, %ld forks refused, stressor %s\n",
	       (unsigned long long)peak, refused,
	       rc < 0 ? err.msg : json_string_value(json_object_get(sample, "status")));
	vl_cgroup_free(cg);
	assert_true(peak <= 16);
	assert_true(refused > 0);
	/* The stressor could not have its 200 workers. */
	assert_true(rc < 0 ||
	            strcmp(json_string_value(json_object_get(sample, "status")), "ok") != 0);
	entitle(main_guest.g, &(struct vl_entitlement){.pids_max = 1024});
}

/* A shell fork bomb through exec: the pids limit holds it, the exec's
 * timeout kills it, and the guest goes on. */
static void test_fork_bomb(void **state)
{
	struct vl_cgroup *cg = vl_test_guest_cgroup(main_guest.g);
	cleanup_json json_t *r = NULL;
	long refused = pids_refused(cg);
	int status;

	(void)state;
	entitle(main_guest.g, &(struct vl_entitlement){.pids_max = 32});
	/* The shell then spins without forking, so that the bomb runs until
	 * the timeout rather than dying with the shell. */
	vl_test_sh(main_guest.g,
	           "b() { b | b & }; b; i=0; while [ $i -lt 10000000 ]; do i=$((i+1)); done", 2.0,
	           &r, &status);
	refused = pids_refused(cg) - refused;
	printf("# pids 32 vs a shell fork bomb: %ld forks refused, timed out %s\n", refused,
	       json_is_true(json_object_get(r, "timed_out")) ? "yes" : "no");
	assert_true(refused > 0);
	vl_test_hello(main_guest.g, NULL);
	vl_cgroup_free(cg);
	entitle(main_guest.g, &(struct vl_entitlement){.pids_max = 1024});
}

/* The whole disk under the data directory, as "MAJ:MIN" (throttles take
 * disks, not partitions). */
static void data_disk(char *buf, size_t size)
{
	char path[PATH_MAX], line[64];
	struct stat st;
	vl_error err = {0};

	assert_int_equal(stat(tmpdir, &st), 0);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(st.st_dev),
	         minor(st.st_dev));
	if (access(path, F_OK) == 0) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(st.st_dev),
		         minor(st.st_dev));
		vl_test_check(vl_read_line(path, line, sizeof(line), &err), &err);
		snprintf(buf, size, "%s", line);
		return;
	}
	snprintf(buf, size, "%u:%u", major(st.st_dev), minor(st.st_dev));
}

/* A 10 MB/s write throttle holds a direct-I/O writer in the guest to at most
 * 12 MB/s. */
static void test_io_throttle(void **state)
{
	struct vl_entitlement e = {.io_write_bps = 10000000};
	cleanup_json json_t *r = NULL;
	json_t *sample;
	double mbps;

	(void)state;
	data_disk(e.io_device, sizeof(e.io_device));
	entitle(main_guest.g, &e);
	r = vl_test_run(main_guest.g, "disk.seq",
	                json_pack("{s:s, s:b, s:i, s:i, s:i, s:i}", "mode", "seqwr", "direct", 1,
	                          "file_num", 1, "file_total_size", 16 << 20, "block", 1 << 20,
	                          "events", 16));
	sample = json_array_get(json_object_get(r, "samples"), 0);
	assert_string_equal(json_string_value(json_object_get(sample, "status")), "ok");
	mbps = json_number_value(json_object_get(json_object_get(sample, "metrics"), "mibps")) *
	       1.048576;
	printf("# io write limit 10 MB/s on %s: direct-I/O writer got %.2f MB/s\n", e.io_device,
	       mbps);
	assert_true(mbps <= 12.0);
	assert_true(mbps >= 5.0);
}

/* Each entitlement field lands in its cgroup file (v1 hosts: read back). */
static void test_entitlement_knobs(void **state)
{
	struct vl_cgroup *cg = vl_test_guest_cgroup(main_guest.g);
	struct vl_cgroup_host host;
	struct vl_entitlement e = {.cpu_weight = 500, .cpuset = "0", .mems = "0"};
	const struct {
		enum vl_cgroup_controller c;
		const char *file, *want;
	} knobs[] = {
	        {VL_CGROUP_CPU, "cpu.shares", "13084"},
	        {VL_CGROUP_CPUSET, "cpuset.cpus", "0"},
	        {VL_CGROUP_CPUSET, "cpuset.mems", "0"},
	        {VL_CGROUP_NET_CLS, "net_cls.classid", "1048577"},
	};
	char dir[PATH_MAX], path[PATH_MAX + 32], line[64];
	vl_error err = {0};

	(void)state;
	vl_test_check(vl_cgroup_detect(&host, &err), &err);
	if (vl_cgroup_version(cg) != VL_CGROUP_V1) {
		vl_cgroup_free(cg);
		skip();
	}
	/* Many kernels leave net_cls out. */
	if (host.controller_hierarchy[VL_CGROUP_NET_CLS] >= 0)
		e.net_classid = 0x100001;
	entitle(main_guest.g, &e);
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		if (host.controller_hierarchy[knobs[i].c] < 0)
			continue;
		assert_non_null(vl_cgroup_path(cg, knobs[i].c, dir, sizeof(dir)));
		snprintf(path, sizeof(path), "%s/%s", dir, knobs[i].file);
		vl_test_check(vl_read_line(path, line, sizeof(line), &err), &err);
		assert_string_equal(line, knobs[i].want);
	}
	vl_cgroup_free(cg);
}

static void test_reboot(void **state)
{
	struct vl_guest *g = main_guest.g;
	json_int_t before = json_integer_value(json_object_get(g->record, "init_pid"));
	vl_error err = {0};
	uint64_t t0;
	cleanup_json json_t *r1 = NULL;
	cleanup_json json_t *r2 = NULL;
	int status;

	(void)state;
	vl_test_sh(g, "echo kept > /root/marker", 10.0, &r1, &status);
	assert_int_equal(status, 0);
	t0 = vl_now_ns();
	vl_test_check(platform->reboot(g, &err), &err);
	printf("# reboot (stop + start to hello): %.2f ms\n", vl_test_ms_since(t0));
	assert_int_not_equal(json_integer_value(json_object_get(g->record, "init_pid")), before);
	vl_test_hello(g, NULL);
	assert_string_equal(vl_test_sh(g, "cat /root/marker", 10.0, &r2, &status), "kept\n");
}

static void test_clone(void **state)
{
	struct vl_test_guest clones[CLONES], full;
	double ms[CLONES];
	vl_error err = {0};
	char name[VL_NAME_MAX];
	uint64_t t0;

	(void)state;
	t0 = vl_now_ns();
	vl_test_check(platform->stop(main_guest.g, &err), &err);
	printf("# stop: %.2f ms\n", vl_test_ms_since(t0));
	for (int i = 0; i < CLONES; i++) {
		snprintf(name, sizeof(name), "virtlab-ct-clone%d", i);
		vl_test_guest_new(platform, name, &clones[i]);
		t0 = vl_now_ns();
		vl_test_check(platform->clone(main_guest.g, clones[i].g, false, &err), &err);
		ms[i] = vl_test_ms_since(t0);
	}
	qsort(ms, CLONES, sizeof(ms[0]), cmp_double);
	printf("# overlay clone: median %.2f ms of %d (min %.2f, max %.2f)\n",
	       (ms[CLONES / 2 - 1] + ms[CLONES / 2]) / 2, CLONES, ms[0], ms[CLONES - 1]);
	vl_test_check(platform->start(clones[0].g, &err), &err);
	vl_test_hello(clones[0].g, "virtlab-ct-clone0");

	vl_test_guest_new(platform, "virtlab-ct-full", &full);
	t0 = vl_now_ns();
	vl_test_check(platform->clone(clones[1].g, full.g, true, &err), &err);
	printf("# full copy clone: %.2f ms\n", vl_test_ms_since(t0));
	vl_test_check(platform->start(full.g, &err), &err);
	vl_test_check(platform->stop(full.g, &err), &err);
	vl_test_guest_free(&full);
	for (int i = 0; i < CLONES; i++)
		vl_test_guest_free(&clones[i]);
	assert_true((ms[CLONES / 2 - 1] + ms[CLONES / 2]) / 2 <= 20.0);
}

/* A start that fails releases what it made: no cgroup, no process, and the
 * record tracks only the guest's directory. Once with no init at all, once
 * with an init that exits at once. */
static void test_start_failure_releases(void **state)
{
	const char *const inits[] = {NULL, "/bin/true"};
	struct vl_test_guest broken;
	char path[PATH_MAX];
	struct stat st;
	vl_error err = {0};

	(void)state;
	vl_test_guest_new(platform, "virtlab-ct-broken", &broken);
	vl_test_check(platform->clone(main_guest.g, broken.g, true, &err), &err);
	snprintf(path, sizeof(path), "%s/virtlab-agent",
	         json_string_value(json_object_get(broken.g->record, "root")));
	for (size_t i = 0; i < 2; i++) {
		cleanup_json json_t *doc = NULL;
		uint64_t t0 = vl_now_ns();

		unlink(path);
		if (inits[i])
			assert_int_equal(symlink(inits[i], path), 0);
		assert_int_equal(platform->start(broken.g, &err), -1);
		printf("# start without a working agent fails in %.1f ms: %s\n",
		       vl_test_ms_since(t0), err.msg);
		vl_error_clear(&err);
		assert_null(json_object_get(broken.g->record, "init_pid"));
		assert_int_not_equal(stat("/sys/fs/cgroup/pids/virtlab/virtlab-ct-broken", &st), 0);
		vl_test_check(vl_state_read("virtlab-ct-broken", &doc, &err), &err);
		assert_int_equal(json_array_size(json_object_get(doc, "resources")), 1);
	}
	vl_test_guest_free(&broken);
}

/* A virtlab killed (SIGKILL) anywhere in a start leaves nothing that a start
 * and a destroy, working from the record alone in another process, trip on or
 * leave behind. */
static void test_killed_start(void **state)
{
	const unsigned delays_ms[] = {2, 5, 10, 15, 20, 30, 45};
	struct vl_test_guest t;
	vl_error err = {0};
	struct stat st;

	(void)state;
	for (size_t i = 0; i < sizeof(delays_ms) / sizeof(delays_ms[0]); i++) {
		struct vl_guest *g = NULL;
		pid_t child;

		vl_test_guest_new(platform, "virtlab-ct-k9", &t);
		vl_test_check(platform->provision(t.g, &err), &err);
		vl_test_check(vl_state_save(t.g, "provisioned", &err), &err);
		vl_guest_free(t.g);
		vl_state_unlock(t.lock);
		child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			int lock;

			if (vl_state_lock("virtlab-ct-k9", true, &lock, &err) < 0 ||
			    vl_state_load("virtlab-ct-k9", &g, &err) < 0)
				_exit(1);
			_exit(platform->start(g, &err) < 0 ? 1 : 0);
		}
		vl_sleep_ns(delays_ms[i] * 1000000ull, NULL);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		vl_test_check(vl_state_lock("virtlab-ct-k9", true, &t.lock, &err), &err);
		vl_test_check(vl_state_load("virtlab-ct-k9", &g, &err), &err);
		t.g = g;
		/* Whatever the killed start left, the next start works. */
		vl_test_check(platform->start(g, &err), &err);
		{
			cleanup_json json_t *doc = NULL;
			size_t j, processes = 0;
			json_t *r;

			vl_test_check(vl_state_read("virtlab-ct-k9", &doc, &err), &err);
			json_array_foreach(json_object_get(doc, "resources"), j, r) processes +=
			        strcmp(json_string_value(json_object_get(r, "kind")),
			               VL_RES_PROCESS) == 0;
			/* The new init only: the killed start's entry is gone. */
			assert_int_equal(processes, 1);
		}
		vl_test_guest_free(&t);
		assert_int_not_equal(stat("/sys/fs/cgroup/pids/virtlab/virtlab-ct-k9", &st), 0);
		assert_int_not_equal(stat("/sys/fs/cgroup/memory/virtlab/virtlab-ct-k9", &st), 0);
	}
	printf("# SIGKILL during start at %zu points: start again worked, destroy left nothing\n",
	       sizeof(delays_ms) / sizeof(delays_ms[0]));
}

/* Nothing of ours is left: no mount under the test's directory, no cgroup
 * named after a test guest, no guest directory. */
static void test_no_leftovers(void **state)
{
	cleanup_free char *mounts = NULL;
	cleanup_dir DIR *cgroups = opendir("/sys/fs/cgroup");
	pid_t pid = (pid_t)json_integer_value(json_object_get(main_guest.g->record, "init_pid"));
	char path[PATH_MAX];
	struct dirent *d;
	struct stat st;
	vl_error err = {0};
	size_t len;

	(void)state;
	assert_int_equal(pid, 0);
	vl_test_guest_free(&main_guest);
	vl_test_check(vl_read_file("/proc/self/mountinfo", &mounts, &len, &err), &err);
	assert_null(strstr(mounts, tmpdir));
	assert_non_null(cgroups);
	while ((d = readdir(cgroups))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/virtlab/" MAIN, d->d_name);
		assert_int_not_equal(stat(path, &st), 0);
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/virtlab/virtlab-ct-clone0",
		         d->d_name);
		assert_int_not_equal(stat(path, &st), 0);
	}
	snprintf(path, sizeof(path), "%s/data/guests/" MAIN, tmpdir);
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/guests/" MAIN, statedir);
	assert_int_not_equal(stat(path, &st), 0);
}

/* Whatever a failed test left: every guest with a record is destroyed. */
static int teardown(void **state)
{
	char **names = NULL;
	size_t n = 0;
	vl_error err = {0};

	(void)state;
	if (main_guest.g) {
		vl_guest_free(main_guest.g);
		vl_state_unlock(main_guest.lock);
	}
	if (vl_state_list(&names, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct vl_guest *g = NULL;

			if (vl_state_load(names[i], &g, &err) == 0) {
				g->platform->destroy(g, &err);
				vl_guest_free(g);
			}
			vl_state_remove(names[i], &err);
		}
		vl_state_names_free(names, n);
	}
	if (vl_rootfs_remove(statedir, &err) < 0)
		return -1;
	return vl_rootfs_remove(tmpdir, &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_provision),
	        cmocka_unit_test(test_start_isolation),
	        cmocka_unit_test(test_workloads),
	        cmocka_unit_test(test_cpu_max),
	        cmocka_unit_test(test_memory_oom),
	        cmocka_unit_test(test_pids),
	        cmocka_unit_test(test_fork_bomb),
	        cmocka_unit_test(test_io_throttle),
	        cmocka_unit_test(test_entitlement_knobs),
	        cmocka_unit_test(test_reboot),
	        cmocka_unit_test(test_clone),
	        cmocka_unit_test(test_start_failure_releases),
	        cmocka_unit_test(test_killed_start),
	        cmocka_unit_test(test_no_leftovers),
	};

	platform = vl_test_platform_setup("container", tmpdir, statedir);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
