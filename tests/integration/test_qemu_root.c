/* The qemu platform on this host: a real guest boots (under TCG where
 * /dev/kvm cannot run one), its agent answers with the guest's kernel and the
 * vCPUs and memory asked for, every w1, w2 and w4 workload runs inside (on
 * the guest's own disk), it reboots, clones (overlay and full copy), stops
 * and is destroyed without leaving a process, socket, cgroup or file, and
 * `virtlab cleanup` removes what a virtlab killed with SIGKILL left.
 * State and data roots are a fresh virtlab-qemu-test-* directory.
 * Usage: test_qemu_root STATIC_AGENT. Needs root, qemu and a Debian kernel. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "agent/client.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/command.h"
#include "platforms/cleanup.h"
#include "platforms/platform.h"
#include "platforms/qemu_image.h"
#include "platforms/state.h"

#define GUEST_MEMORY  (256ull << 20)
#define RUN_TIMEOUT_S 120.0

static int failures;
/* The probe found a /dev/kvm that runs guests: the KVM-only checks run. */
static bool kvm;
static char root[] = "/tmp/virtlab-qemu-test-XXXXXX";

static struct vl_guest *new_guest_sized(const char *name, unsigned cpus, uint64_t memory)
{
	const struct vl_platform *p = vl_platform_find("qemu");
	struct vl_guest_spec spec = {.cpus = cpus, .memory_bytes = memory};
	struct vl_guest *g = NULL;
	vl_error err = {0};

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	if (vl_guest_new(p, &spec, &g, &err) < 0)
		CHECK(0, "new guest %s: %s", name, err.msg);
	return g;
}

static struct vl_guest *new_guest(const char *name)
{
	return new_guest_sized(name, 1, GUEST_MEMORY);
}

static void check_hello(struct vl_guest *g, unsigned cpus, uint64_t memory)
{
	cleanup_json json_t *hello = NULL;
	vl_error err = {0};
	const char *release;

	if (vl_guest_agent_call(g, "hello", 30, &hello, &err) < 0) {
		CHECK(0, "hello: %s", err.msg);
		return;
	}
	release = json_string_value(json_object_get(json_object_get(hello, "kernel"), "release"));
	CHECK(release && strcmp(release, json_string_value(json_object_get(g->record,
	                                                                   "kernel_release"))) == 0,
	      "guest kernel %s is not the one booted (%s)", release ? release : "(none)",
	      json_string_value(json_object_get(g->record, "kernel_release")));
	CHECK(json_integer_value(json_object_get(json_object_get(hello, "cpus"), "online")) == cpus,
	      "guest has %lld CPUs online, asked for %u",
	      (long long)json_integer_value(
	              json_object_get(json_object_get(hello, "cpus"), "online")),
	      cpus);
	/* The same code path but -accel: the record says which, and only a KVM
	 * guest has KVM's paravirtual clock. */
	CHECK(strcmp(json_string_value(json_object_get(g->record, "accel")) ?: "",
	             kvm ? "kvm" : "tcg") == 0,
	      "guest ran under %s, expected %s",
	      json_string_value(json_object_get(g->record, "accel")) ?: "(none)",
	      kvm ? "kvm" : "tcg");
	if (kvm)
		CHECK(strcmp(json_string_value(json_object_get(hello, "clocksource")) ?: "",
		             "kvm-clock") == 0,
		      "a KVM guest's clocksource is %s, not kvm-clock",
		      json_string_value(json_object_get(hello, "clocksource")) ?: "(none)");
	json_int_t mem = json_integer_value(
	        json_object_get(json_object_get(hello, "memory"), "total_bytes"));
	/* The kernel keeps some memory for itself: MemTotal is a little less. */
	CHECK(mem > (json_int_t)(memory * 3 / 4) && mem <= (json_int_t)memory,
	      "guest has %lld bytes of memory, asked for %llu", (long long)mem,
	      (unsigned long long)memory);
}

static void run_workload(struct vl_guest *g, const char *workload, const char *params_json)
{
	struct vl_agent_client *c = NULL;
	cleanup_json json_t *params = json_loads(params_json, 0, NULL);
	cleanup_json json_t *result = NULL;
	vl_error err = {0};
	uint64_t t0 = vl_now_ns();
	int fd;

	if (g->platform->open_channel(g, &fd, &err) < 0 || vl_agent_client_new(fd, &c, &err) < 0) {
		CHECK(0, "channel for %s: %s", workload, err.msg);
		return;
	}
	if (vl_agent_run(c, workload, params, 1, 0, RUN_TIMEOUT_S, &result, &err) < 0) {
		CHECK(0, "%s: %s", workload, err.msg);
	} else {
		json_t *sample = json_array_get(json_object_get(result, "samples"), 0);
		const char *status = json_string_value(json_object_get(sample, "status"));
		CHECK(status && strcmp(status, "ok") == 0, "%s in the guest: status %s (%s)",
		      workload, status ? status : "(none)",
		      json_string_value(json_object_get(sample, "reason")) ?: "");
		printf("  %s ran in the guest in %.2f s\n", workload, vl_seconds_since(t0));
	}
	vl_agent_client_free(c);
}

/* Every w1, w2 and w4 workload, at sizes that take a second or less under
 * TCG: what is checked is that each runs in the guest, not its figures. */
static const char *const workloads[][2] = {
        {"cpu.primes", "{\"max_prime\": 2000, \"events\": 200}"},
        {"cpu.whetstone", "{\"duration\": 0.1}"},
        {"cpu.mutex", "{\"threads\": 2, \"mutexes\": 64, \"locks\": 200, \"loops\": 100}"},
        {"cpu.rsa", "{\"keys\": 2, \"bits\": 512}"},
        {"mem.copy", "{\"size\": \"4M\", \"min_time\": 0.05}"},
        {"disk.seq", "{\"file_num\": 2, \"file_total_size\": \"4M\"}"},
        {"disk.rand", "{\"file_num\": 2, \"file_total_size\": \"4M\", \"events\": 200}"},
        {"disk.latency",
         "{\"count\": 5, \"interval\": 0.01, \"warmup\": 0, \"file_size\": \"1M\"}"},
        {"disk.copy", "{\"size\": \"4M\"}"},
};

/* Disk workloads must have written to the guest's disk, which the agent
 * mounts before its first workload, not to the initramfs's RAM. */
static void check_disk_mounted(struct vl_guest *g)
{
	struct vl_agent_client *c = NULL;
	cleanup_json json_t *args = json_pack("{s:[s,s]}", "argv", "cat", "/proc/mounts");
	cleanup_json json_t *result = NULL;
	vl_error err = {0};
	const char *out;
	int fd;

	if (g->platform->open_channel(g, &fd, &err) < 0 || vl_agent_client_new(fd, &c, &err) < 0) {
		CHECK(0, "channel for exec: %s", err.msg);
		return;
	}
	if (vl_agent_call(c, "exec", args, 60, &result, &err) < 0)
		CHECK(0, "exec cat /proc/mounts: %s", err.msg);
	out = json_string_value(json_object_get(result, "stdout"));
	CHECK(out && strstr(out, "/dev/vda /mnt/disk ext4 "),
	      "the guest's disk is not mounted on /mnt/disk: %s", out ? out : "(no output)");
	vl_agent_client_free(c);
}

/* A zombie is dead: once its parent is gone, init reaps it when it gets to it. */
static bool alive(pid_t pid)
{
	char path[64], buf[512];
	cleanup_file FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f))
		return false;
	return !strrchr(buf, ')') || strrchr(buf, ')')[2] != 'Z';
}

/* No process and no cgroup in any hierarchy (v1 controllers, v2, named). */
static void check_stopped(struct vl_guest *g, pid_t pid, bool logs_kept)
{
	cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;

	CHECK(!alive(pid), "qemu (pid %d) still exists", (int)pid);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/virtlab/%s", g->spec.name);
	CHECK(stat(path, &st) < 0, "cgroup %s is left", path);
	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/virtlab/%s", e->d_name,
		         g->spec.name);
		CHECK(e->d_name[0] == '.' || stat(path, &st) < 0, "cgroup %s is left", path);
	}
	for (const char *const *f = (const char *const[]){"agent.sock", "qmp.sock", "console.log",
	                                                  "qemu.log", NULL};
	     *f; f++) {
		if (logs_kept && strstr(*f, ".log"))
			continue;
		snprintf(path, sizeof(path), "%s/guests/%s/%s", vl_state_root(), g->spec.name, *f);
		CHECK(stat(path, &st) < 0, "%s is left", path);
	}
}

/* Nothing of the guest may remain: no qemu, socket, cgroup, disk. */
static void check_gone(struct vl_guest *g, pid_t pid, const char *disk)
{
	struct stat st;

	check_stopped(g, pid, false);
	CHECK(!disk || stat(disk, &st) < 0, "disk %s is left", disk);
	CHECK(stat(g->state_dir, &st) < 0, "data dir %s is left", g->state_dir);
}

static pid_t recorded_pid(struct vl_guest *g)
{
	return (pid_t)json_integer_value(json_object_get(g->record, "pid"));
}

static void destroy(struct vl_guest *g)
{
	vl_error err = {0};
	pid_t pid = recorded_pid(g);
	char disk[PATH_MAX];

	snprintf(disk, sizeof(disk), "%s",
	         json_string_value(json_object_get(g->record, "disk")) ?: "");
	if (g->platform->destroy(g, &err) < 0)
		CHECK(0, "destroy %s: %s", g->spec.name, err.msg);
	check_gone(g, pid, disk[0] ? disk : NULL);
	vl_state_remove(g->spec.name, &err);
	vl_guest_free(g);
}

static void test_lifecycle(void)
{
	struct vl_guest *g = new_guest("virtlab-t1"), *c = NULL;
	vl_error err = {0};
	uint64_t t0;
	pid_t pid;

	if (!g)
		return;
	t0 = vl_now_ns();
	if (g->platform->provision(g, &err) < 0) {
		CHECK(0, "provision: %s", err.msg);
		goto out;
	}
	printf("  provisioned in %.2f s\n", vl_seconds_since(t0));
	t0 = vl_now_ns();
	if (g->platform->start(g, &err) < 0) {
		CHECK(0, "start: %s", err.msg);
		goto out;
	}
	printf("  started (launch to hello) in %.2f s under %s\n", vl_seconds_since(t0),
	       json_string_value(json_object_get(g->record, "accel")));
	check_hello(g, 1, GUEST_MEMORY);
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		run_workload(g, workloads[i][0], workloads[i][1]);
	check_disk_mounted(g);

	struct vl_footprint fp;
	if (g->platform->footprint(g, &fp, &err) < 0)
		CHECK(0, "footprint: %s", err.msg);
	else
		printf("  footprint: RSS %.1f MiB, PSS %.1f MiB\n", fp.rss_bytes / 1048576.0,
		       fp.pss_bytes / 1048576.0);
	CHECK(fp.rss_bytes > 0 && fp.pss_bytes > 0, "footprint is empty");

	/* The new boot mounts its disk again before its first workload. */
	pid = recorded_pid(g);
	t0 = vl_now_ns();
	if (g->platform->reboot(g, &err) < 0)
		CHECK(0, "reboot: %s", err.msg);
	else
		printf("  rebooted (reset to hello) in %.2f s\n", vl_seconds_since(t0));
	CHECK(recorded_pid(g) == pid, "reboot replaced the qemu process");
	check_hello(g, 1, GUEST_MEMORY);
	run_workload(g, "disk.seq", "{\"file_num\": 1, \"file_total_size\": \"1M\"}");

	t0 = vl_now_ns();
	if (g->platform->stop(g, &err) < 0)
		CHECK(0, "stop: %s", err.msg);
	printf("  stopped in %.2f s\n", vl_seconds_since(t0));
	check_stopped(g, pid, true);
	CHECK(!json_object_get(g->record, "agent_socket"), "stop left the agent socket recorded");

	/* An overlay clone boots with its own disk (its backing file is g's) and
	 * its own size: 2 vCPUs and more memory. */
	c = new_guest_sized("virtlab-t1c", 2, GUEST_MEMORY + (128ull << 20));
	if (c && g->platform->clone(g, c, false, &err) < 0)
		CHECK(0, "clone: %s", err.msg);
	else if (c && g->platform->start(c, &err) < 0)
		CHECK(0, "starting the clone: %s", err.msg);
	else if (c) {
		check_hello(c, 2, GUEST_MEMORY + (128ull << 20));
		run_workload(c, "disk.seq", "{\"file_num\": 1, \"file_total_size\": \"1M\"}");
	}
	if (c)
		destroy(c);
	/* A full copy is a raw file of its own, and boots too. */
	c = new_guest("virtlab-t1f");
	if (c && g->platform->clone(g, c, true, &err) < 0)
		CHECK(0, "full clone: %s", err.msg);
	else if (c && g->platform->start(c, &err) < 0)
		CHECK(0, "starting the full clone: %s", err.msg);
	else if (c) {
		CHECK(strcmp(json_string_value(json_object_get(c->record, "disk_format")), "raw") ==
		              0,
		      "a full clone is not raw");
		run_workload(c, "disk.seq", "{\"file_num\": 1, \"file_total_size\": \"1M\"}");
	}
	if (c)
		destroy(c);
out:
	destroy(g);
}

/* The qemu process of a guest whose virtlab died, from the resources its
 * record tracks (the record's own fields are saved only at the end). */
static pid_t tracked_qemu(const char *name)
{
	cleanup_json json_t *doc = NULL;
	vl_error err = {0};
	size_t i;
	json_t *r;

	if (vl_state_read(name, &doc, &err) < 0)
		return 0;
	json_array_foreach(json_object_get(doc, "resources"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "kind")) ?: "", VL_RES_PROCESS) ==
		    0)
			return (pid_t)atoi(json_string_value(json_object_get(r, "id")) ?: "0");
	}
	return 0;
}

/* What `kill -9` of virtlab leaves (a running or booting qemu, its cgroup,
 * sockets and disk, known only from the record), `virtlab cleanup` removes.
 * The guest is started by a child, so that qemu is not our child: killed
 * with SIGKILL while the guest boots, or gone once it has started. */
static void crash_and_clean_up(const char *name, bool kill_while_booting)
{
	struct vl_guest *g = new_guest(name);
	vl_error err = {0};
	char disk[PATH_MAX];
	uint64_t t0;
	pid_t child, qemu = 0;
	int status;

	if (!g)
		return;
	if (g->platform->provision(g, &err) < 0) {
		CHECK(0, "provision: %s", err.msg);
		vl_guest_free(g);
		return;
	}
	snprintf(disk, sizeof(disk), "%s", json_string_value(json_object_get(g->record, "disk")));
	if (vl_state_save(g, "stopped", &err) < 0)
		CHECK(0, "saving the record: %s", err.msg);
	fflush(NULL);
	child = fork();
	if (child == 0) {
		if (g->platform->start(g, &err) < 0 || vl_state_save(g, "running", &err) < 0) {
			fprintf(stderr, "crash test guest: %s\n", err.msg);
			_exit(1);
		}
		_exit(0);
	}
	CHECK(child > 0, "fork: %s", strerror(errno));
	if (kill_while_booting) {
		for (t0 = vl_now_ns(); !qemu && vl_seconds_since(t0) < RUN_TIMEOUT_S;
		     vl_sleep_ns(10000000ull, NULL))
			qemu = tracked_qemu(name);
		kill(child, SIGKILL);
		CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status),
		      "the child that starts the guest was not killed");
	} else {
		CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		              WEXITSTATUS(status) == 0,
		      "the child that starts the guest failed");
		qemu = tracked_qemu(name);
	}
	CHECK(qemu > 0 && alive(qemu), "the crashed run's qemu is not running");
	if (vl_cleanup_guest(name, false, NULL, NULL, &err) < 0)
		CHECK(0, "cleanup: %s", err.msg);
	check_gone(g, qemu, disk);
	vl_guest_free(g);
}

static void test_crash_cleanup(void)
{
	crash_and_clean_up("virtlab-t2", false);
	crash_and_clean_up("virtlab-t3", true);
}

static int remove_tree(const char *dir)
{
	const char *const argv[] = {"rm", "-rf", "--one-file-system", dir, NULL};
	struct vl_command_result res = {0};
	vl_error err = {0};
	int rc = vl_command_run(argv, NULL, 60, NULL, &res, &err);

	vl_command_result_release(&res);
	return rc;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], state[PATH_MAX + 16], data[PATH_MAX + 16];
	struct vl_qemu_kernel k;
	struct vl_probe probe;
	vl_error err = {0};

	if (geteuid() != 0)
		return vl_test_skip("needs root (cgroups, /dev/kvm)");
	if (argc < 2 || access(argv[1], X_OK) != 0)
		return vl_test_skip(
		        "no static virtlab-agent (build with -Dstatic_agent=true, no sanitizers)");
	if (!vl_find_program("qemu-system-x86_64", path, sizeof(path)) ||
	    !vl_find_program("qemu-img", path, sizeof(path)))
		return vl_test_skip(
		        "no qemu-system-x86_64/qemu-img (apt-get install qemu-system-x86 "
		        "qemu-utils)");
	if (vl_qemu_find_kernel(&k, &err) < 0)
		return vl_test_skip(err.msg);
	if (access("/bin/busybox", X_OK) != 0)
		return vl_test_skip("no /bin/busybox (apt-get install busybox-static)");
	vl_platform_find("qemu")->probe(&probe);
	kvm = strcmp(probe.accel, "kvm") == 0;
	if (!kvm)
		printf("SKIP (KVM-only checks: accel kvm, kvm-clock in the guest): %s\n",
		       probe.reason);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(state, sizeof(state), "%s/state", root);
	snprintf(data, sizeof(data), "%s/data", root);
	setenv("VIRTLAB_STATE", state, 1);
	setenv("VIRTLAB_DATA", data, 1);
	setenv("VIRTLAB_AGENT", argv[1], 1);
	printf("qemu guest, kernel %s, accel %s\n", k.release, probe.accel);
	test_lifecycle();
	test_crash_cleanup();
	remove_tree(root);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
