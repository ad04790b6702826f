/* The guest half of test cgroup_v2_vm: runs inside a QEMU guest (a child of
 * its /init), mounts cgroup2 and checks each knob of the v2 backend through
 * runtime/cgroup.h on a real kernel, each with a process that tries to
 * exceed it. Raw cgroup files are only read, to verify. Prints TAP ("ok N -
 * check: figures") to /dev/ttyS1, which the host reads alone so that kernel
 * messages on the console cannot split a line, and to stdout.
 * Usage: cgroup_v2_guest DISK (a block device the checks may overwrite). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_children.h"
#include "core/clock.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_backend.h"

#define MiB             (1024 * 1024)
#define CGROUP_ROOT     "/sys/fs/cgroup"
#define GROUP_PARENT    "virtlab"
#define TAP_DEVICE      "/dev/ttyS1"
#define CPU_MAX_PERCENT 20
#define CPU_MAX_ALLOWED 25.0 /* the acceptance bound, percent of one CPU */
#define CPU_WINDOW_S    2.0
#define CPU_CONTROL_S   0.5
#define CPU_WEIGHT      250
#define MEMORY_LIMIT    (32 * MiB)
#define MEMORY_ASKED    (96 * MiB)
#define PIDS_LIMIT      8
#define WRITE_LIMIT     (4 * MiB) /* bytes per second */
#define WRITE_WINDOW_S  2.0
#define WRITE_CONTROL_S 0.5
#define WRITE_BLOCK     (256 * 1024)
#define ACCOUNT_CPU_S   0.2
#define ACCOUNT_MEMORY  (16 * MiB)
#define ACCOUNT_WRITE   (1 * MiB)
#define WAIT_TIMEOUT_S  30.0

/* What children report: one page shared across fork. */
struct shared {
	double run_seconds; /* in: how long a writer writes */
	uint64_t bytes;     /* out: what it wrote */
	double seconds;     /* out: in how long */
	int cpus_in_mask;   /* out: the affinity a child was given */
	int first_cpu;
	int ready; /* out: the accounting child holds its resources */
	int error; /* out: errno of a child's failed step */
};

static struct shared *shared;
static struct vl_cgroup_host host;
static const char *disk;
static FILE *tap;
static int n_failed;

/* ---- output ---- */

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (tap) {
		va_start(ap, fmt);
		vfprintf(tap, fmt, ap);
		va_end(ap);
		fflush(tap);
	}
}

/* The figures of a check, or why it failed; returns ok for `return note(...)`. */
static bool note(bool ok, char *msg, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static bool note(bool ok, char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return ok;
}

/* ---- groups and children ---- */

static struct vl_cgroup *make_group(const char *what, char *msg, size_t size)
{
	struct vl_cgroup *cg = NULL;
	vl_error err = {0};
	char name[64];

	snprintf(name, sizeof(name), GROUP_PARENT "/v2-%s", what);
	if (vl_cgroup_create(&host, name, &cg, &err) < 0)
		note(false, msg, size, "%s", err.msg);
	return cg;
}

/* Kills the group, reaps its processes (all our children are in it; we are
 * their subreaper) and removes it. A failure here fails the check. */
static bool finish(struct vl_cgroup *cg, bool ok, char *msg, size_t size)
{
	vl_error err = {0};
	bool done = vl_cgroup_kill(cg, &err) == 0;

	if (done)
		while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
			;
	done = done && vl_cgroup_remove(cg, &err) == 0;
	vl_cgroup_free(cg);
	if (!done && ok)
		note(false, msg, size, "cleaning up: %s", err.msg);
	return ok && done;
}

/* vl_test_spawn_in, its failure noted. */
static pid_t spawn_in(struct vl_cgroup *cg, int (*fn)(void), char *msg, size_t size)
{
	vl_error err = {0};
	pid_t pid = vl_test_spawn_in(cg, fn, &err);

	if (pid < 0)
		note(false, msg, size, "%s", err.msg);
	return pid;
}

/* waitpid with a deadline, so that a knob that fails to act cannot hang the guest. */
static bool wait_child(pid_t pid, int *status)
{
	uint64_t t0 = vl_now_ns();

	while (vl_seconds_since(t0) < WAIT_TIMEOUT_S) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
		vl_sleep_ns(10000000, NULL);
	}
	return false;
}

static bool read_file_line(struct vl_cgroup *cg, enum vl_cgroup_controller c, const char *file,
                           char *buf, size_t size)
{
	char dir[PATH_MAX];
	vl_error err = {0};

	return vl_cgroup_path(cg, c, dir, sizeof(dir)) &&
	       vl_cgroup_read(dir, file, buf, size, &err) == 0;
}

static uint64_t read_key(struct vl_cgroup *cg, const char *file, const char *key)
{
	char dir[PATH_MAX];
	vl_error err = {0};
	uint64_t v = 0;

	vl_cgroup_dir(cg, 0, dir, sizeof(dir));
	return vl_cgroup_read_key(dir, file, key, &v, &err) == 0 ? v : 0;
}

/* ---- what children do ---- */

static int report_affinity(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	shared->cpus_in_mask = CPU_COUNT(&set);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			shared->first_cpu = c;
			break;
		}
	return 0;
}

static int touch_memory(size_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < bytes; i += 4096)
		p[i] = 1;
	return 0;
}

/* Returns only when the OOM killer did not act. */
static int allocate_too_much(void)
{
	return touch_memory(MEMORY_ASKED) < 0 ? 3 : 0;
}

/* O_DIRECT writes of WRITE_BLOCK to disk until `seconds` pass or `limit`
 * bytes are written, wrapping at the device's end. */
static int write_disk(double seconds, uint64_t limit)
{
	int fd = open(disk, O_WRONLY | O_DIRECT | O_CLOEXEC);
	uint64_t size = 0, t0;
	void *buf = NULL;

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0 || size < WRITE_BLOCK ||
	    posix_memalign(&buf, 4096, WRITE_BLOCK) != 0) {
		shared->error = errno ? errno : EINVAL;
		return 1;
	}
	memset(buf, 0x5a, WRITE_BLOCK);
	size -= size % WRITE_BLOCK;
	shared->bytes = 0;
	t0 = vl_now_ns();
	while (vl_seconds_since(t0) < seconds && shared->bytes < limit) {
		if (pwrite(fd, buf, WRITE_BLOCK, (off_t)(shared->bytes % size)) != WRITE_BLOCK) {
			shared->error = errno ? errno : EIO;
			break;
		}
		shared->bytes += WRITE_BLOCK;
	}
	shared->seconds = vl_seconds_since(t0);
	free(buf);
	close(fd);
	return shared->error ? 1 : 0;
}

static int timed_writer(void)
{
	return write_disk(shared->run_seconds, UINT64_MAX);
}

/* Bit 0: /dev/null refused; bit 1: /dev/zero opened; bit 2: /dev/zero
 * refused with another errno than EPERM; bit 3: the disk opened; bit 4:
 * mknod of /dev/zero's numbers allowed. 0 is the policy working. */
static int probe_devices(void)
{
	const char *node = "/tmp/virtlab-zero";
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	int zero_errno = errno;
	int disk_fd = open(disk, O_RDONLY | O_CLOEXEC);
	int made = mknod(node, S_IFCHR | 0600, makedev(1, 5));

	if (made == 0)
		unlink(node);
	return (null_fd < 0) | (zero_fd >= 0) << 1 | (zero_fd < 0 && zero_errno != EPERM) << 2 |
	       (disk_fd >= 0) << 3 | (made == 0) << 4;
}

/* Uses some of each accounted resource, then holds them. */
static int use_resources(void)
{
	struct timespec cpu = {0};

	do {
		for (volatile int i = 0; i < 100000; i++)
			;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	} while ((double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9 < ACCOUNT_CPU_S);
	if (touch_memory(ACCOUNT_MEMORY) < 0 || write_disk(WAIT_TIMEOUT_S, ACCOUNT_WRITE) != 0)
		return 1;
	__atomic_store_n(&shared->ready, 1, __ATOMIC_RELEASE);
	pause();
	return 0;
}

/* ---- the checks ---- */

static bool check_detect(char *msg, size_t size)
{
	static const enum vl_cgroup_controller wanted[] = {
	        VL_CGROUP_CPU, VL_CGROUP_CPUSET, VL_CGROUP_IO, VL_CGROUP_MEMORY, VL_CGROUP_PIDS};
	vl_error err = {0};
	char names[128] = "";

	if (vl_cgroup_detect(&host, &err) < 0)
		return note(false, msg, size, "%s", err.msg);
	if (host.version != VL_CGROUP_V2 || host.n_hierarchies != 1)
		return note(false, msg, size, "detection picked v%d with %zu hierarchies",
		            (int)host.version, host.n_hierarchies);
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		const char *name = vl_cgroup_controller_name(VL_CGROUP_V2, wanted[i]);
		if (host.controller_hierarchy[wanted[i]] != 0)
			return note(false, msg, size, "controller %s not detected", name);
		snprintf(names + strlen(names), sizeof(names) - strlen(names), " %s", name);
	}
	return note(true, msg, size, "v2 at %s, controllers%s", host.hierarchies[0].path, names);
}

/* Creating a group hands the controllers down through cgroup.subtree_control
 * of the root and of the parent, which is what this reads back. */
static bool check_create(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("create", msg, size);
	char root[256] = "", parent[256] = "", own[256] = "";
	vl_error err = {0};
	struct stat st;
	bool ok;

	if (!cg)
		return false;
	vl_cgroup_read(CGROUP_ROOT, "cgroup.subtree_control", root, sizeof(root), &err);
	vl_cgroup_read(CGROUP_ROOT "/" GROUP_PARENT, "cgroup.subtree_control", parent,
	               sizeof(parent), &err);
	read_file_line(cg, VL_CGROUP_CPU, "cgroup.controllers", own, sizeof(own));
	ok = true;
	for (const char *const *c =
	             (const char *const[]){"cpu", "cpuset", "io", "memory", "pids", NULL};
	     *c; c++)
		ok = ok && vl_cgroup_list_has(root, *c) && vl_cgroup_list_has(parent, *c) &&
		     vl_cgroup_list_has(own, *c);
	note(ok, msg, size, "subtree_control: root '%s', " GROUP_PARENT " '%s'; group has '%s'",
	     root, parent, own);
	if (!finish(cg, ok, msg, size))
		return false;
	if (stat(CGROUP_ROOT "/" GROUP_PARENT, &st) == 0)
		return note(false, msg, size, "removing the last group left its parent behind");
	return true;
}

static double cpu_percent(struct vl_cgroup *cg, double seconds, vl_error *err)
{
	struct vl_cgroup_stats s0, s1;
	uint64_t t0 = vl_now_ns();

	if (vl_cgroup_read_stats(cg, &s0, err) < 0)
		return -1;
	vl_sleep_ns((uint64_t)(seconds * 1e9), NULL);
	if (vl_cgroup_read_stats(cg, &s1, err) < 0)
		return -1;
	return (double)(s1.cpu_usec - s0.cpu_usec) / 1e4 / vl_seconds_since(t0);
}

static bool check_cpu_max(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("cpu", msg, size);
	double free_pct, pct;
	char file[64] = "";
	vl_error err = {0};
	bool ok;

	if (!cg)
		return false;
	if (spawn_in(cg, vl_test_spin, msg, size) < 0)
		return finish(cg, false, msg, size);
	/* Unlimited first: the limited figure then shows the limit, not a busy host. */
	free_pct = cpu_percent(cg, CPU_CONTROL_S, &err);
	if (free_pct < 0 || vl_cgroup_set_cpu_max(cg, CPU_MAX_PERCENT, &err) < 0 ||
	    (pct = cpu_percent(cg, CPU_WINDOW_S, &err)) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	read_file_line(cg, VL_CGROUP_CPU, "cpu.max", file, sizeof(file));
	/* The lower bounds show that the spinner ran, and could have run more. */
	ok = strcmp(file, "20000 100000") == 0 && pct <= CPU_MAX_ALLOWED && pct >= 5 &&
	     free_pct > 2 * CPU_MAX_ALLOWED;
	note(ok, msg, size,
	     "cpu.max '%s': spinner used %.1f%% of one CPU over %.1f s (%.1f%% unlimited); "
	     "throttled %llu times",
	     file, pct, CPU_WINDOW_S, free_pct,
	     (unsigned long long)read_key(cg, "cpu.stat", "nr_throttled"));
	return finish(cg, ok, msg, size);
}

static bool check_weights(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("weight", msg, size);
	char cpu[32] = "", io[64] = "";
	vl_error err = {0}, bad = {0};
	bool ok;

	if (!cg)
		return false;
	if (vl_cgroup_set_cpu_weight(cg, CPU_WEIGHT, &err) < 0 ||
	    vl_cgroup_set_io_weight(cg, CPU_WEIGHT, &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	read_file_line(cg, VL_CGROUP_CPU, "cpu.weight", cpu, sizeof(cpu));
	read_file_line(cg, VL_CGROUP_IO, "io.weight", io, sizeof(io));
	/* Out of range is the caller's mistake, refused before any write. */
	ok = atoi(cpu) == CPU_WEIGHT && strcmp(io, "default 250") == 0 &&
	     vl_cgroup_set_cpu_weight(cg, 0, &bad) < 0 && bad.kind == VL_ERR_INPUT;
	note(ok, msg, size, "cpu.weight reads '%s', io.weight '%s'; weight 0 refused: %s", cpu, io,
	     bad.msg);
	return finish(cg, ok, msg, size);
}

static bool check_cpuset(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("cpuset", msg, size);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	char want[16], cpus[32] = "", mems[32] = "", effective[32] = "";
	vl_error err = {0};
	int status = 0;
	pid_t pid;
	bool ok;

	if (!cg)
		return false;
	/* The last CPU: a mask the child would not have by default. */
	snprintf(want, sizeof(want), "%ld", online > 1 ? online - 1 : 0);
	if (vl_cgroup_set_cpuset(cg, want, "0", &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	read_file_line(cg, VL_CGROUP_CPUSET, "cpuset.cpus", cpus, sizeof(cpus));
	read_file_line(cg, VL_CGROUP_CPUSET, "cpuset.mems", mems, sizeof(mems));
	read_file_line(cg, VL_CGROUP_CPUSET, "cpuset.cpus.effective", effective, sizeof(effective));
	shared->cpus_in_mask = 0;
	pid = spawn_in(cg, report_affinity, msg, size);
	if (pid < 0 || !wait_child(pid, &status))
		return finish(cg, false, msg, size);
	ok = strcmp(cpus, want) == 0 && strcmp(mems, "0") == 0 && strcmp(effective, want) == 0 &&
	     WIFEXITED(status) && WEXITSTATUS(status) == 0 && shared->cpus_in_mask == 1 &&
	     shared->first_cpu == atoi(want);
	note(ok, msg, size,
	     "%ld CPUs online; cpuset.cpus '%s' (effective '%s'), mems '%s'; a child in the "
	     "group may run on %d CPU(s), first %d",
	     online, cpus, effective, mems, shared->cpus_in_mask, shared->first_cpu);
	return finish(cg, ok, msg, size);
}

static bool check_memory_oom(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("memory", msg, size);
	struct vl_cgroup_memory mem = {MEMORY_LIMIT, VL_CGROUP_UNCHANGED, 0};
	struct vl_cgroup_stats st = {0};
	char max[32] = "", swap[32] = "";
	vl_error err = {0};
	int status = 0;
	uint64_t kills;
	pid_t pid;
	bool ok;

	if (!cg)
		return false;
	if (vl_cgroup_set_memory(cg, &mem, &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	read_file_line(cg, VL_CGROUP_MEMORY, "memory.max", max, sizeof(max));
	read_file_line(cg, VL_CGROUP_MEMORY, "memory.swap.max", swap, sizeof(swap));
	pid = spawn_in(cg, allocate_too_much, msg, size);
	if (pid < 0 || !wait_child(pid, &status))
		return finish(cg, note(false, msg, size, "the allocating child did not end"), msg,
		              size);
	if (vl_cgroup_read_stats(cg, &st, &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	kills = read_key(cg, "memory.events", "oom_kill");
	/* We are still here to tell: the kill stayed inside the group. */
	ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && kills >= 1 &&
	     strtoull(max, NULL, 10) == MEMORY_LIMIT && strcmp(swap, "0") == 0 &&
	     (st.have & VL_CGROUP_STAT_MEMORY_PEAK) && st.memory_peak <= MEMORY_LIMIT;
	note(ok, msg, size,
	     "memory.max %s, swap.max %s: child touching %d MiB %s %s; oom_kill %llu; peak "
	     "%.1f MiB; the test process survived",
	     max, swap, MEMORY_ASKED / MiB, WIFSIGNALED(status) ? "killed by" : "exited",
	     WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "normally",
	     (unsigned long long)kills, (double)st.memory_peak / MiB);
	return finish(cg, ok, msg, size);
}

static bool check_pids(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("pids", msg, size);
	struct vl_cgroup_stats st = {0};
	vl_error err = {0};
	int status = 0;
	pid_t pid;
	bool ok;

	if (!cg)
		return false;
	if (vl_cgroup_set_pids_max(cg, PIDS_LIMIT, &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	pid = spawn_in(cg, vl_test_fork_loop, msg, size);
	if (pid < 0 || !wait_child(pid, &status))
		return finish(cg, false, msg, size);
	vl_cgroup_read_stats(cg, &st, &err);
	/* The loop itself is one of the PIDS_LIMIT. */
	ok = WIFEXITED(status) && WEXITSTATUS(status) == PIDS_LIMIT - 1 &&
	     read_key(cg, "pids.events", "max") >= 1;
	note(ok, msg, size,
	     "pids.max %d: fork loop made %d children, then EAGAIN; pids.current %llu, "
	     "pids.events max %llu",
	     PIDS_LIMIT, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	     (unsigned long long)st.pids_current,
	     (unsigned long long)read_key(cg, "pids.events", "max"));
	return finish(cg, ok, msg, size);
}

/* Runs a writer in cg for `seconds`; MiB/s, or -1 with msg set. */
static double write_rate(struct vl_cgroup *cg, double seconds, char *msg, size_t size)
{
	int status = 0;
	pid_t pid;

	shared->run_seconds = seconds;
	shared->error = 0;
	pid = spawn_in(cg, timed_writer, msg, size);
	if (pid < 0)
		return -1;
	if (!wait_child(pid, &status) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return note(false, msg, size, "writer to %s failed: %s", disk,
		            strerror(shared->error)),
		       -1;
	return (double)shared->bytes / MiB / shared->seconds;
}

static bool check_io_max(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("io", msg, size);
	struct vl_cgroup_stats st = {0};
	double free_rate, rate;
	char device[32], file[128] = "";
	vl_error err = {0};
	struct stat sb;
	bool ok;

	if (!cg)
		return false;
	if (stat(disk, &sb) < 0 || !S_ISBLK(sb.st_mode))
		return finish(cg, note(false, msg, size, "%s is not a block device", disk), msg,
		              size);
	snprintf(device, sizeof(device), "%u:%u", major(sb.st_rdev), minor(sb.st_rdev));
	if ((free_rate = write_rate(cg, WRITE_CONTROL_S, msg, size)) < 0)
		return finish(cg, false, msg, size);
	if (vl_cgroup_set_io_bps(cg, device, VL_CGROUP_UNCHANGED, WRITE_LIMIT, &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	read_file_line(cg, VL_CGROUP_IO, "io.max", file, sizeof(file));
	if ((rate = write_rate(cg, WRITE_WINDOW_S, msg, size)) < 0)
		return finish(cg, false, msg, size);
	vl_cgroup_read_stats(cg, &st, &err);
	/* Within a fifth of the limit: blk-throttle may let one block through early. */
	ok = strstr(file, "wbps=4194304") && rate <= WRITE_LIMIT / MiB * 1.2 &&
	     rate >= WRITE_LIMIT / MiB * 0.5 && free_rate > WRITE_LIMIT / MiB * 1.5;
	note(ok, msg, size,
	     "io.max '%s': O_DIRECT writer did %.2f MiB/s over %.1f s (%.1f MiB/s unlimited); "
	     "io.stat wbytes %.1f MiB",
	     file, rate, shared->seconds, free_rate, (double)st.io_write_bytes / MiB);
	return finish(cg, ok, msg, size);
}

static bool check_devices(char *msg, size_t size)
{
	const struct vl_cgroup_device_rule null_only = {'c', 1, 3, "rwm"};
	struct vl_cgroup *cg = make_group("devices", msg, size);
	vl_error err = {0};
	int status = 0, r;
	pid_t pid;
	bool ok;

	if (!cg)
		return false;
	if (vl_cgroup_set_device_allowlist(cg, &null_only, 1, &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	/* Attaching again replaces the program instead of stacking a second one. */
	if (vl_cgroup_set_device_allowlist(cg, &null_only, 1, &err) < 0)
		return finish(cg, note(false, msg, size, "again: %s", err.msg), msg, size);
	pid = spawn_in(cg, probe_devices, msg, size);
	if (pid < 0 || !wait_child(pid, &status) || !WIFEXITED(status))
		return finish(cg, false, msg, size);
	r = WEXITSTATUS(status);
	ok = r == 0;
	note(ok, msg, size,
	     "allow-list c 1:3 rwm: /dev/null %s, /dev/zero %s, %s %s, mknod c 1:5 %s",
	     r & 1 ? "refused" : "opened",
	     r & 2   ? "opened"
	     : r & 4 ? "refused (not EPERM)"
	             : "refused (EPERM)",
	     disk, r & 8 ? "opened" : "refused", r & 16 ? "allowed" : "refused");
	return finish(cg, ok, msg, size);
}

static bool check_accounting(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("account", msg, size);
	struct vl_cgroup_stats st = {0};
	const unsigned all = VL_CGROUP_STAT_CPU | VL_CGROUP_STAT_MEMORY |
	                     VL_CGROUP_STAT_MEMORY_PEAK | VL_CGROUP_STAT_IO | VL_CGROUP_STAT_PIDS;
	vl_error err = {0};
	uint64_t t0;
	bool ok;

	if (!cg)
		return false;
	shared->ready = 0;
	shared->error = 0;
	t0 = vl_now_ns();
	if (spawn_in(cg, use_resources, msg, size) < 0)
		return finish(cg, false, msg, size);
	while (!__atomic_load_n(&shared->ready, __ATOMIC_ACQUIRE) &&
	       vl_seconds_since(t0) < WAIT_TIMEOUT_S)
		vl_sleep_ns(10000000, NULL);
	if (!shared->ready)
		return finish(cg,
		              note(false, msg, size, "the child did not get ready (%s)",
		                   strerror(shared->error)),
		              msg, size);
	if (vl_cgroup_read_stats(cg, &st, &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	ok = st.have == all && st.cpu_usec >= ACCOUNT_CPU_S * 1e6 * 0.9 &&
	     st.cpu_usec <= vl_seconds_since(t0) * 1e6 * sysconf(_SC_NPROCESSORS_ONLN) &&
	     st.memory_current >= ACCOUNT_MEMORY && st.memory_current <= 4 * ACCOUNT_MEMORY &&
	     st.memory_peak >= st.memory_current && st.io_write_bytes >= ACCOUNT_WRITE &&
	     st.io_write_bytes <= 2 * ACCOUNT_WRITE && st.pids_current == 1;
	note(ok, msg, size,
	     "child that used %.1f s CPU, %d MiB, wrote %d MiB: cpu %.3f s, memory current "
	     "%.1f MiB, peak %.1f MiB, io write %.2f MiB read %.2f MiB, pids %llu",
	     ACCOUNT_CPU_S, ACCOUNT_MEMORY / MiB, ACCOUNT_WRITE / MiB, (double)st.cpu_usec / 1e6,
	     (double)st.memory_current / MiB, (double)st.memory_peak / MiB,
	     (double)st.io_write_bytes / MiB, (double)st.io_read_bytes / MiB,
	     (unsigned long long)st.pids_current);
	return finish(cg, ok, msg, size);
}

/* Kernels before 5.14 have no cgroup.kill: there the group is frozen, each
 * pid killed and the group thawed, which this runs on purpose. */
static bool check_kill_each(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("kill", msg, size);
	char frozen[8] = "";
	vl_error err = {0};
	bool empty = false, ok;
	int status = 0;
	pid_t pid;

	if (!cg)
		return false;
	pid = spawn_in(cg, vl_test_fork_loop, msg, size);
	if (pid < 0 || !wait_child(pid, &status))
		return finish(cg, false, msg, size);
	if (vl_cgroup_kill_each(cg, &err) < 0 || vl_cgroup_is_empty(cg, &empty, &err) < 0)
		return finish(cg, note(false, msg, size, "%s", err.msg), msg, size);
	read_file_line(cg, VL_CGROUP_CPU, "cgroup.freeze", frozen, sizeof(frozen));
	ok = empty && strcmp(frozen, "0") == 0;
	note(ok, msg, size,
	     "freeze, kill each, thaw: the %d forked processes are gone, group %s, "
	     "cgroup.freeze back to '%s'",
	     WIFEXITED(status) ? WEXITSTATUS(status) : -1, empty ? "empty" : "not empty", frozen);
	return finish(cg, ok, msg, size);
}

/* "No limit" spells "max" on v2, and an io.max line of nothing but max goes. */
static bool check_reset(char *msg, size_t size)
{
	struct vl_cgroup *cg = make_group("reset", msg, size), *again = NULL;
	struct vl_cgroup_memory limits = {MEMORY_LIMIT, MEMORY_LIMIT / 2, VL_CGROUP_UNCHANGED};
	struct vl_cgroup_memory none = {VL_CGROUP_NO_LIMIT, VL_CGROUP_NO_LIMIT,
	                                VL_CGROUP_UNCHANGED};
	char cpu[32] = "", max[32] = "", high[32] = "", io[128] = "-", pids[32] = "";
	char device[32];
	vl_error err = {0};
	struct stat sb;
	bool ok;

	if (!cg)
		return false;
	if (stat(disk, &sb) < 0)
		return finish(cg, note(false, msg, size, "%s: %s", disk, strerror(errno)), msg,
		              size);
	snprintf(device, sizeof(device), "%u:%u", major(sb.st_rdev), minor(sb.st_rdev));
	if (vl_cgroup_set_cpu_max(cg, 50, &err) < 0 ||
	    vl_cgroup_set_memory(cg, &limits, &err) < 0 ||
	    vl_cgroup_set_io_bps(cg, device, WRITE_LIMIT, WRITE_LIMIT, &err) < 0 ||
	    vl_cgroup_set_pids_max(cg, PIDS_LIMIT, &err) < 0)
		return finish(cg, note(false, msg, size, "limiting: %s", err.msg), msg, size);
	/* Another process's handle on the same group, as `virtlab entitle` has. */
	if (vl_cgroup_open(&host, vl_cgroup_name(cg), &again, &err) < 0 ||
	    vl_cgroup_set_cpu_max(again, 0, &err) < 0 ||
	    vl_cgroup_set_memory(again, &none, &err) < 0 ||
	    vl_cgroup_set_io_bps(again, device, VL_CGROUP_NO_LIMIT, VL_CGROUP_NO_LIMIT, &err) < 0 ||
	    vl_cgroup_set_pids_max(again, VL_CGROUP_NO_LIMIT, &err) < 0) {
		vl_cgroup_free(again);
		return finish(cg, note(false, msg, size, "lifting: %s", err.msg), msg, size);
	}
	vl_cgroup_free(again);
	read_file_line(cg, VL_CGROUP_CPU, "cpu.max", cpu, sizeof(cpu));
	read_file_line(cg, VL_CGROUP_MEMORY, "memory.max", max, sizeof(max));
	read_file_line(cg, VL_CGROUP_MEMORY, "memory.high", high, sizeof(high));
	read_file_line(cg, VL_CGROUP_IO, "io.max", io, sizeof(io));
	read_file_line(cg, VL_CGROUP_PIDS, "pids.max", pids, sizeof(pids));
	ok = strcmp(cpu, "max 100000") == 0 && strcmp(max, "max") == 0 &&
	     strcmp(high, "max") == 0 && io[0] == '\0' && strcmp(pids, "max") == 0;
	note(ok, msg, size,
	     "after lifting every limit: cpu.max '%s', memory.max '%s', memory.high '%s', "
	     "io.max '%s', pids.max '%s'",
	     cpu, max, high, io, pids);
	return finish(cg, ok, msg, size);
}

static bool check_removed(char *msg, size_t size)
{
	struct stat st;

	if (stat(CGROUP_ROOT "/" GROUP_PARENT, &st) == 0)
		return note(false, msg, size, "%s/%s is left", CGROUP_ROOT, GROUP_PARENT);
	return note(true, msg, size, "no virtlab group is left under %s", CGROUP_ROOT);
}

static const struct {
	const char *name;
	bool (*run)(char *msg, size_t size);
} checks[] = {
        {"detect", check_detect},   {"create", check_create},
        {"cpu.max", check_cpu_max}, {"cpu.weight", check_weights},
        {"cpuset", check_cpuset},   {"memory.max", check_memory_oom},
        {"pids.max", check_pids},   {"io.max", check_io_max},
        {"devices", check_devices}, {"accounting", check_accounting},
        {"kill", check_kill_each},  {"reset", check_reset},
        {"removed", check_removed},
};

int main(int argc, char **argv)
{
	const size_t n = sizeof(checks) / sizeof(checks[0]);
	uint64_t t0 = vl_now_ns();

	if (argc != 2) {
		fprintf(stderr, "usage: %s DISK\n", argv[0]);
		return 2;
	}
	disk = argv[1];
	tap = fopen(TAP_DEVICE, "we");
	if (!tap)
		fprintf(stderr, "opening %s: %s\n", TAP_DEVICE, strerror(errno));
	emit("1..%zu\n", n);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
	              0);
	/* Orphans of the fork loop come back to us to be reaped. */
	if (shared == MAP_FAILED || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 ||
	    (mkdir(CGROUP_ROOT, 0755) < 0 && errno != EEXIST) ||
	    mount("cgroup2", CGROUP_ROOT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		emit("Bail out! setting up: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char msg[1024] = "";
		uint64_t c0 = vl_now_ns();
		bool ok = checks[i].run(msg, sizeof(msg));
		n_failed += !ok;
		emit("%sok %zu - %s: %s (%.1f s)\n", ok ? "" : "not ", i + 1, checks[i].name, msg,
		     vl_seconds_since(c0));
	}
	emit("# cgroup v2 backend in the guest: %zu of %zu checks ok in %.1f s\n",
	     n - (size_t)n_failed, n, vl_seconds_since(t0));
	if (tap) {
		tcdrain(fileno(tap));
		fclose(tap);
	}
	return n_failed ? 1 : 0;
}
