/* The qemu platform on this host: a real guest boots (under TCG where
 * /dev/kvm cannot run one), its agent answers with the guest's kernel and the
 * vCPUs and memory asked for, workloads run inside, it reboots, clones, stops
 * and is destroyed without leaving a process, socket, cgroup or file.
 * State and data roots are a fresh virtlab-qemu-test-* directory.
 * Usage: test_qemu_root STATIC_AGENT. Needs root, qemu and a Debian kernel. */
#include <errno.h>
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
#include "core/command.h"
#include "platforms/cleanup.h"
#include "platforms/platform.h"
#include "platforms/qemu_image.h"
#include "platforms/state.h"

#define GUEST_MEMORY  (256ull << 20)
#define RUN_TIMEOUT_S 120.0

static int failures;
static char root[] = "/tmp/virtlab-qemu-test-XXXXXX";

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static int skip(const char *why)
{
	printf("SKIP: %s\n", why);
	return 77;
}

static struct vl_guest *new_guest(const char *name)
{
	const struct vl_platform *p = vl_platform_find("qemu");
	struct vl_guest_spec spec = {.cpus = 1, .memory_bytes = GUEST_MEMORY};
	struct vl_guest *g = NULL;
	vl_error err = {0};

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	if (vl_guest_new(p, &spec, &g, &err) < 0)
		CHECK(0, "new guest %s: %s", name, err.msg);
	return g;
}

static void check_hello(struct vl_guest *g)
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
	CHECK(json_integer_value(json_object_get(json_object_get(hello, "cpus"), "online")) == 1,
	      "guest has %lld CPUs online, asked for 1",
	      (long long)json_integer_value(
	              json_object_get(json_object_get(hello, "cpus"), "online")));
	json_int_t mem = json_integer_value(
	        json_object_get(json_object_get(hello, "memory"), "total_bytes"));
	/* The kernel keeps some memory for itself: MemTotal is a little less. */
	CHECK(mem > (json_int_t)(GUEST_MEMORY * 3 / 4) && mem <= (json_int_t)GUEST_MEMORY,
	      "guest has %lld bytes of memory, asked for %llu", (long long)mem, GUEST_MEMORY);
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

/* Nothing of the guest may remain: no qemu, socket, cgroup, disk. */
static void check_gone(struct vl_guest *g, pid_t pid)
{
	char path[PATH_MAX];
	struct stat st;

	CHECK(!alive(pid), "qemu (pid %d) still exists", (int)pid);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/virtlab/%s", g->spec.name);
	CHECK(stat(path, &st) < 0, "cgroup %s is left", path);
	CHECK(stat(g->state_dir, &st) < 0, "data dir %s is left", g->state_dir);
	for (const char *const *f = (const char *const[]){"agent.sock", "qmp.sock", "console.log",
	                                                  "qemu.log", NULL};
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/guests/%s/%s", vl_state_root(), g->spec.name, *f);
		CHECK(stat(path, &st) < 0, "%s is left", path);
	}
}

static pid_t recorded_pid(struct vl_guest *g)
{
	return (pid_t)json_integer_value(json_object_get(g->record, "pid"));
}

static void destroy(struct vl_guest *g)
{
	vl_error err = {0};
	pid_t pid = recorded_pid(g);

	if (g->platform->destroy(g, &err) < 0)
		CHECK(0, "destroy %s: %s", g->spec.name, err.msg);
	if (pid)
		check_gone(g, pid);
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
	check_hello(g);
	run_workload(g, "cpu.primes", "{\"max_prime\": 2000, \"events\": 200}");
	run_workload(g, "mem.copy", "{\"size\": \"4M\", \"min_time\": 0.05}");
	run_workload(g, "disk.seq", "{\"file_num\": 2, \"file_total_size\": \"4M\"}");

	struct vl_footprint fp;
	if (g->platform->footprint(g, &fp, &err) < 0)
		CHECK(0, "footprint: %s", err.msg);
	else
		printf("  footprint: RSS %.1f MiB, PSS %.1f MiB\n", fp.rss_bytes / 1048576.0,
		       fp.pss_bytes / 1048576.0);
	CHECK(fp.rss_bytes > 0 && fp.pss_bytes > 0, "footprint is empty");

	pid = recorded_pid(g);
	t0 = vl_now_ns();
	if (g->platform->reboot(g, &err) < 0)
		CHECK(0, "reboot: %s", err.msg);
	else
		printf("  rebooted (reset to hello) in %.2f s\n", vl_seconds_since(t0));
	CHECK(recorded_pid(g) == pid, "reboot replaced the qemu process");
	check_hello(g);

	t0 = vl_now_ns();
	if (g->platform->stop(g, &err) < 0)
		CHECK(0, "stop: %s", err.msg);
	printf("  stopped in %.2f s\n", vl_seconds_since(t0));
	CHECK(!alive(pid), "qemu (pid %d) survived stop", (int)pid);
	CHECK(!json_object_get(g->record, "agent_socket"), "stop left the agent socket recorded");

	/* An overlay clone boots with its own disk; its backing file is g's. */
	c = new_guest("virtlab-t1c");
	if (c && g->platform->clone(g, c, false, &err) < 0)
		CHECK(0, "clone: %s", err.msg);
	else if (c && g->platform->start(c, &err) < 0)
		CHECK(0, "starting the clone: %s", err.msg);
	else if (c)
		run_workload(c, "disk.seq", "{\"file_num\": 1, \"file_total_size\": \"1M\"}");
	if (c)
		destroy(c);
	/* A full copy is a raw file of its own. */
	c = new_guest("virtlab-t1f");
	if (c && g->platform->clone(g, c, true, &err) < 0)
		CHECK(0, "full clone: %s", err.msg);
	else if (c)
		CHECK(strcmp(json_string_value(json_object_get(c->record, "disk_format")), "raw") ==
		              0,
		      "a full clone is not raw");
	if (c)
		destroy(c);
out:
	destroy(g);
}

/* What `kill -9` of virtlab leaves (a running qemu, its cgroup, sockets and
 * disk, known only from the record), `virtlab cleanup` removes. The guest is
 * started by a child that then dies, so that qemu is not our child. */
static void test_crash_cleanup(void)
{
	struct vl_guest *g = new_guest("virtlab-t2");
	cleanup_json json_t *doc = NULL;
	vl_error err = {0};
	pid_t child, qemu;
	int status;

	if (!g)
		return;
	fflush(NULL);
	child = fork();
	if (child == 0) {
		if (g->platform->provision(g, &err) < 0 || g->platform->start(g, &err) < 0 ||
		    vl_state_save(g, "running", &err) < 0) {
			fprintf(stderr, "crash test guest: %s\n", err.msg);
			_exit(1);
		}
		_exit(0);
	}
	CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	              WEXITSTATUS(status) == 0,
	      "the child that starts the guest failed");
	if (vl_state_read(g->spec.name, &doc, &err) < 0) {
		CHECK(0, "reading the record: %s", err.msg);
		vl_guest_free(g);
		return;
	}
	qemu = (pid_t)json_integer_value(json_object_get(json_object_get(doc, "record"), "pid"));
	CHECK(qemu > 0 && alive(qemu), "the crashed run's qemu is not running");
	if (vl_cleanup_guest(g->spec.name, false, NULL, NULL, &err) < 0)
		CHECK(0, "cleanup: %s", err.msg);
	if (qemu > 0)
		check_gone(g, qemu);
	vl_guest_free(g);
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
		return skip("needs root (cgroups, /dev/kvm)");
	if (argc < 2 || access(argv[1], X_OK) != 0)
		return skip(
		        "no static virtlab-agent (build with -Dstatic_agent=true, no sanitizers)");
	if (!vl_find_program("qemu-system-x86_64", path, sizeof(path)) ||
	    !vl_find_program("qemu-img", path, sizeof(path)))
		return skip("no qemu-system-x86_64/qemu-img (apt-get install qemu-system-x86 "
		            "qemu-utils)");
	if (vl_qemu_find_kernel(&k, &err) < 0)
		return skip(err.msg);
	if (access("/bin/busybox", X_OK) != 0)
		return skip("no /bin/busybox (apt-get install busybox-static)");
	vl_platform_find("qemu")->probe(&probe);
	if (strcmp(probe.accel, "kvm") != 0)
		printf("SKIP (KVM-only checks): %s\n", probe.reason);
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
