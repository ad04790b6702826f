/* The cgroup layer on this host's real hierarchies, with whichever backend
 * detection picks (v1 here; v2 inside the QEMU guest of the v2 tests): each
 * knob must change what a real process can do. Groups are named
 * virtlab/test-<pid>-<what> so that leftovers are visible, and each test
 * kills and removes its group on every path. Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cgroup_children.h"
#include "core/cleanup.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_backend.h"

#define MiB (1024 * 1024)

static struct vl_cgroup_host host;
static int failures;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct vl_cgroup *make_group(const char *what)
{
	char name[128];
	struct vl_cgroup *cg = NULL;
	vl_error err = {0};

	snprintf(name, sizeof(name), "virtlab/test-%d-%s", (int)getpid(), what);
	if (vl_cgroup_create(&host, name, &cg, &err) < 0) {
		CHECK(0, "creating %s: %s", name, err.msg);
		return NULL;
	}
	return cg;
}

/* Kills, reaps and removes; the group must then be gone from every hierarchy. */
static void finish_group(struct vl_cgroup *cg)
{
	vl_error err = {0};

	if (!cg)
		return;
	CHECK(vl_cgroup_kill(cg, &err) == 0, "killing %s: %s", vl_cgroup_name(cg), err.msg);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	CHECK(vl_cgroup_remove(cg, &err) == 0, "removing %s: %s", vl_cgroup_name(cg), err.msg);
	for (size_t i = 0; i < host.n_hierarchies; i++) {
		char dir[PATH_MAX];
		struct stat st;
		vl_cgroup_dir(cg, i, dir, sizeof(dir));
		CHECK(stat(dir, &st) < 0 && errno == ENOENT, "%s is left behind", dir);
	}
	vl_cgroup_free(cg);
}

/* vl_test_spawn_in, its failure counted. */
static pid_t spawn_in(struct vl_cgroup *cg, int (*fn)(void))
{
	vl_error err = {0};
	pid_t pid = vl_test_spawn_in(cg, fn, &err);

	CHECK(pid > 0, "starting a child in %s: %s", vl_cgroup_name(cg), err.msg);
	return pid;
}

/* CPU time of a process in seconds, from the scheduler's own account. */
static double cpu_seconds(pid_t pid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns / 1e9;
}

static double measure_share(pid_t pid, double seconds)
{
	double c0 = cpu_seconds(pid), t0 = now();
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	nanosleep(&ts, NULL);
	return (cpu_seconds(pid) - c0) / (now() - t0);
}

static void test_cpu_max(void)
{
	struct vl_cgroup *cg = make_group("cpu");
	struct vl_cgroup_stats s0, s1;
	vl_error err = {0};
	double free_share, share, t0;
	pid_t pid;

	if (!cg)
		return;
	pid = spawn_in(cg, vl_test_spin);
	CHECK(pid > 0, "forking the spinner");
	if (pid > 0) {
		/* Unlimited first, so that the limited figure is known to come from the limit. */
		free_share = measure_share(pid, 1.0);
		CHECK(vl_cgroup_set_cpu_max(cg, 20, &err) == 0, "cpu max: %s", err.msg);
		CHECK(vl_cgroup_read_stats(cg, &s0, &err) == 0, "stats: %s", err.msg);
		t0 = now();
		share = measure_share(pid, 2.0);
		CHECK(vl_cgroup_read_stats(cg, &s1, &err) == 0, "stats: %s", err.msg);
		printf("cpu-max 20%%: spinner used %.1f%% of one CPU over 2 s (cgroup accounting "
		       "%.1f%%; %.1f%% before the limit)\n",
		       share * 100, (double)(s1.cpu_usec - s0.cpu_usec) / 1e4 / (now() - t0),
		       free_share * 100);
		/* On a loaded host the control run says how much the figure can prove. */
		if (free_share < 0.3)
			printf("note: the host is busy (the unlimited spinner got %.1f%%)\n",
			       free_share * 100);
		CHECK(share <= 0.25, "cpu-max 20%% let the spinner use %.1f%%", share * 100);
	}
	finish_group(cg);
}

static int allocate_256m(void)
{
	char *p = mmap(NULL, 256 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 3;
	for (size_t i = 0; i < 256 * MiB; i += 4096)
		p[i] = 1;
	return 0;
}

static void test_memory_oom(void)
{
	struct vl_cgroup *cg = make_group("memory");
	struct vl_cgroup_memory mem = {32 * MiB, VL_CGROUP_UNCHANGED, 0};
	struct vl_cgroup_stats st = {0};
	vl_error err = {0};
	pid_t bystander, pid;
	int status = 0;

	if (!cg)
		return;
	if (vl_cgroup_set_memory(cg, &mem, &err) < 0) {
		/* Without swap accounting, swap cannot be limited, and there may be no swap. */
		printf("memory: %s; limiting memory alone\n", err.msg);
		mem.swap = VL_CGROUP_UNCHANGED;
		CHECK(vl_cgroup_set_memory(cg, &mem, &err) == 0, "memory max: %s", err.msg);
	}
	bystander = fork();
	if (bystander == 0) {
		pause();
		_exit(0);
	}
	pid = spawn_in(cg, allocate_256m);
	if (pid > 0) {
		waitpid(pid, &status, 0);
		CHECK(vl_cgroup_read_stats(cg, &st, &err) == 0, "stats: %s", err.msg);
		printf("memory max 32M: child allocating 256M %s%s (peak %.1f MiB)\n",
		       WIFSIGNALED(status) ? "killed by " : "exited ",
		       WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "normally",
		       (double)st.memory_peak / MiB);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "the allocating child was not OOM-killed (status 0x%x)", status);
		if (st.have & VL_CGROUP_STAT_MEMORY_PEAK)
			CHECK(st.memory_peak <= 32 * MiB, "peak %llu above the limit",
			      (unsigned long long)st.memory_peak);
	}
	if (bystander > 0) {
		CHECK(waitpid(bystander, NULL, WNOHANG) == 0, "a process outside the group died");
		kill(bystander, SIGKILL);
		waitpid(bystander, NULL, 0);
	}
	finish_group(cg);
}

static void test_pids_and_kill(void)
{
	struct vl_cgroup *cg = make_group("pids");
	struct vl_cgroup_stats st = {0};
	vl_error err = {0};
	int status = 0;
	pid_t pid;

	if (!cg)
		return;
	CHECK(vl_cgroup_set_pids_max(cg, 16, &err) == 0, "pids max: %s", err.msg);
	pid = spawn_in(cg, vl_test_fork_loop);
	if (pid > 0) {
		waitpid(pid, &status, 0);
		CHECK(vl_cgroup_read_stats(cg, &st, &err) == 0, "stats: %s", err.msg);
		printf("pids max 16: fork loop made %d children before EAGAIN; %llu left in the "
		       "group\n",
		       WEXITSTATUS(status), (unsigned long long)st.pids_current);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 15,
		      "fork loop: status 0x%x (want 15 children, then EAGAIN)", status);
	}
	/* finish_group kills the 15 orphans (we are their subreaper) and removes. */
	finish_group(cg);
}

static int open_devices(void)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	int zero_errno = errno;
	/* 0: /dev/null allowed and /dev/zero denied with EPERM. */
	return (null_fd < 0 ? 1 : 0) | (zero_fd >= 0 ? 2 : zero_errno != EPERM ? 4 : 0);
}

static void check_devices_child(struct vl_cgroup *cg, const char *how)
{
	int status = 0;
	pid_t pid = spawn_in(cg, open_devices);

	if (pid <= 0)
		return;
	waitpid(pid, &status, 0);
	printf("devices (%s): /dev/null %s, /dev/zero %s\n", how,
	       WEXITSTATUS(status) & 1 ? "denied" : "allowed",
	       WEXITSTATUS(status) & 2 ? "allowed" : "denied");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: device check status 0x%x", how,
	      status);
}

static void test_devices(void)
{
	const struct vl_cgroup_device_rule null_only = {'c', 1, 3, "rwm"};
	struct vl_cgroup *cg = make_group("devices");
	vl_error err = {0};

	if (!cg)
		return;
	CHECK(vl_cgroup_set_device_allowlist(cg, &null_only, 1, &err) == 0, "devices: %s", err.msg);
	check_devices_child(cg, vl_cgroup_version(cg) == VL_CGROUP_V2 ? "v2 BPF" : "v1 devices");
	finish_group(cg);

	/* A hybrid host can run the v2 device program in its cgroup2 hierarchy. */
	if (host.version == VL_CGROUP_V1 && host.hierarchies[host.n_hierarchies - 1].unified) {
		cleanup_free struct bpf_insn *prog = NULL;
		size_t n = 0;
		char dir[PATH_MAX];

		cg = make_group("bpf");
		if (!cg)
			return;
		vl_cgroup_dir(cg, host.n_hierarchies - 1, dir, sizeof(dir));
		CHECK(vl_cgroup_bpf_devices_build(&null_only, 1, &prog, &n, &err) == 0 &&
		              vl_cgroup_bpf_devices_attach(dir, prog, n, &err) == 0,
		      "device program on %s: %s", dir, err.msg);
		/* Attaching again replaces rather than stacks. */
		CHECK(vl_cgroup_bpf_devices_attach(dir, prog, n, &err) == 0, "re-attach: %s",
		      err.msg);
		check_devices_child(cg, "v2 BPF program in the hybrid cgroup2 hierarchy");
		finish_group(cg);
	}
}

int main(void)
{
	vl_error err = {0};

	if (geteuid() != 0) {
		printf("SKIP: needs root to create cgroups\n");
		return 77;
	}
	if (vl_cgroup_detect(&host, &err) < 0) {
		printf("SKIP: %s\n", err.msg);
		return 77;
	}
	printf("cgroup v%d backend, %zu hierarchies\n", (int)host.version, host.n_hierarchies);
	/* Orphans of the fork loop come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	test_cpu_max();
	test_memory_oom();
	test_pids_and_kill();
	test_devices();
	if (host.version == VL_CGROUP_V1)
		printf("note: the v2 backend is tested for real only where detection picks it (a "
		       "v2 host or the QEMU guest of the v2 tests)\n");
	return failures ? 1 : 0;
}
