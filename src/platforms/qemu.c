/* The KVM platform: Debian's qemu-system-x86_64 controlled over QMP, with
 * KVM where /dev/kvm runs a guest and TCG (software emulation) otherwise;
 * nothing else differs between the two. The guest boots the host's Debian
 * kernel with an initramfs of the golden busybox image, and its agent serves
 * a virtio-serial port that QEMU connects to a unix socket on the host.
 *
 * QEMU outlives the virtlab command that started it, so everything a later
 * command needs (pid, sockets, disk) is in g->record, and nothing lives in
 * g->priv. */
#include "platforms/guest_files.h"
#include "platforms/guest_net.h"
#include "platforms/platform.h"
#include "agent/client.h"
#include "platforms/entitlement.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/command.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"
#include "platforms/qemu_image.h"
#include "platforms/qmp.h"
#include "platforms/state.h"
#include "platforms/vm_guest.h"
#include "runtime/cgroup.h"
#include "study/host_facts.h"

#include <errno.h>
#include <hwloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define QEMU_BINARY    "qemu-system-x86_64"
#define DEFAULT_CPUS   1
#define DEFAULT_MEMORY (256ull << 20)
#define DISK_BYTES     (4ull << 30)
#define QMP_TIMEOUT_S  10.0
/* A TCG boot takes seconds alone and minutes on a host shared with other
 * work; a boot that takes longer than this is taken for hung and killed. */
#define HELLO_TIMEOUT_S    180.0
#define AGENT_REPLY_S      10.0
#define SHUTDOWN_TIMEOUT_S 5.0
#define POWEROFF_WAIT_S    20.0
#define QUIT_WAIT_S        5.0
#define KILL_WAIT_S        5.0
#define POLL_NS            20000000ull
#define HELLO_RETRY_NS     10000000ull
/* How long to wait for the port to open before looking at the guest again,
 * and how often to kick qemu once it has: with 20 ms the hello came at the
 * second kick, and every kick until then was boot time. */
#define OPEN_WAIT_NS 20000000ull
#define KICK_NS      2000000ull

/* ---- the record ---- */

static const char *rec_str(const struct vl_guest *g, const char *key)
{
	return json_string_value(json_object_get(g->record, key));
}

static void rec_set_str(struct vl_guest *g, const char *key, const char *value)
{
	json_object_set_new(g->record, key, json_string(value));
}

/* A file in the guest's state directory (sockets, logs): <state>/guests/<name>/. */
static int state_file(const struct vl_guest *g, const char *file, char *buf, size_t size,
                      vl_error *err)
{
	char dir[PATH_MAX];

	if (vl_state_dir(g->spec.name, dir, sizeof(dir), err) < 0)
		return -1;
	if ((size_t)snprintf(buf, size, "%s/%s", dir, file) >= size)
		return vl_error_input(err, "VIRTLAB_STATE '%s' is too long", vl_state_root());
	return 0;
}

/* ---- the qemu process ---- */

/* Field 22 of /proc/PID/stat: with the pid it names one process for good. */
static int process_start_time(pid_t pid, unsigned long long *start, char *state)
{
	char path[64], buf[1024];
	vl_error ignored = {0};
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (vl_read_line(path, buf, sizeof(buf), &ignored) < 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
	                 "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
	                 "%*d %*d %*d %llu",
	                 state, start) != 2)
		return -1;
	return 0;
}

/* The recorded qemu process, if it is still the same one and not a zombie. */
static pid_t running_pid(const struct vl_guest *g)
{
	json_t *pid = json_object_get(g->record, "pid");
	unsigned long long start;
	char state;

	if (!json_is_integer(pid) ||
	    process_start_time((pid_t)json_integer_value(pid), &start, &state) < 0)
		return 0;
	if (state == 'Z' || start != (unsigned long long)json_integer_value(
	                                     json_object_get(g->record, "start_time")))
		return 0;
	return (pid_t)json_integer_value(pid);
}

/* Waits until pid is gone, reaping it when it is our child (a command
 * other than the one that started the guest cannot, and need not). */
static bool wait_gone(const struct vl_guest *g, pid_t pid, double timeout_s)
{
	uint64_t start = vl_now_ns();

	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD && running_pid(g) != pid))
			return true;
		if (vl_seconds_since(start) >= timeout_s)
			return false;
		vl_sleep_ns(POLL_NS, NULL);
	}
}

static void untrack_quietly(struct vl_guest *g, const char *kind, const char *id)
{
	vl_error ignored = {0};
	vl_state_untrack(g, kind, id, &ignored);
}

static void remove_state_file(struct vl_guest *g, const char *key)
{
	const char *path = rec_str(g, key);

	if (!path)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		vl_debug("removing %s: %s", path, strerror(errno));
	untrack_quietly(g, VL_RES_FILE, path);
	json_object_del(g->record, key);
}

static int open_cgroup(const struct vl_guest *g, struct vl_cgroup **cg, vl_error *err)
{
	struct vl_cgroup_host host;
	const char *name = rec_str(g, "cgroup");

	if (!name)
		return vl_error_set(err, "guest %s has no cgroup (is it running?)", g->spec.name);
	if (vl_cgroup_detect(&host, err) < 0 || vl_cgroup_open(&host, name, cg, err) < 0)
		return vl_error_wrap(err, "guest %s", g->spec.name);
	return 0;
}

/* Releases what a run of qemu owns once the process is gone: its record,
 * its sockets and its cgroup. Logs stay until destroy, for diagnosis. */
static int release_run(struct vl_guest *g, vl_error *err)
{
	struct vl_cgroup *cg = NULL;
	char id[64];
	int rc = 0;

	if (json_object_get(g->record, "pid")) {
		/* A qemu of ours that exited by itself is reaped here. */
		waitpid((pid_t)json_integer_value(json_object_get(g->record, "pid")), NULL,
		        WNOHANG);
		snprintf(id, sizeof(id), "%lld:%lld",
		         (long long)json_integer_value(json_object_get(g->record, "pid")),
		         (long long)json_integer_value(json_object_get(g->record, "start_time")));
		vl_interrupt_forget((pid_t)json_integer_value(json_object_get(g->record, "pid")));
		untrack_quietly(g, VL_RES_PROCESS, id);
		json_object_del(g->record, "pid");
		json_object_del(g->record, "start_time");
	}
	remove_state_file(g, "qmp_socket");
	remove_state_file(g, "agent_socket");
	if (rec_str(g, "cgroup")) {
		if (open_cgroup(g, &cg, err) == 0) {
			rc = vl_cgroup_kill(cg, err);
			if (rc == 0)
				rc = vl_cgroup_remove(cg, err);
			vl_cgroup_free(cg);
		} else {
			vl_error_clear(err); /* already gone */
		}
		if (rc == 0) {
			untrack_quietly(g, VL_RES_CGROUP, rec_str(g, "cgroup"));
			json_object_del(g->record, "cgroup");
		}
	}
	if (rc == 0)
		rc = vl_guest_net_detach(g, err);
	return rc;
}

/* The last line of a log (the serial console, qemu's own output): why a
 * boot failed. */
static void log_tail(const struct vl_guest *g, const char *key, char *buf, size_t size)
{
	cleanup_free char *text = NULL;
	vl_error ignored = {0};
	const char *path = rec_str(g, key);
	size_t len;
	char *end, *start;

	buf[0] = '\0';
	if (!path || vl_read_file(path, &text, &len, &ignored) < 0 || !len)
		return;
	end = text + len;
	for (;;) {
		while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
			*--end = '\0';
		start = memrchr(text, '\n', (size_t)(end - text));
		start = start ? start + 1 : text;
		/* A guest's init that fails powers off: the line before says why. */
		if (start == text || !strstr(start, "reboot: Power down"))
			break;
		end = start;
	}
	snprintf(buf, size, "%s", start);
}

/* SIGKILL and release: the end of every failed start. */
static void kill_run(struct vl_guest *g)
{
	pid_t pid = running_pid(g);
	vl_error ignored = {0};

	if (pid) {
		kill(pid, SIGKILL);
		wait_gone(g, pid, KILL_WAIT_S);
	}
	release_run(g, &ignored);
}

/* ---- probe ---- */

static bool kvm_usable(char *reason, size_t size)
{
	cleanup_json json_t *kvm = vl_host_kvm_facts();
	const char *why = json_string_value(json_object_get(kvm, "reason"));

	snprintf(reason, size, "%s", why ? why : "");
	return json_is_true(json_object_get(kvm, "usable"));
}

static void probe(struct vl_probe *out)
{
	char path[PATH_MAX], why[200];

	memset(out, 0, sizeof(*out));
	if (!vl_find_program(QEMU_BINARY, path, sizeof(path))) {
		snprintf(out->reason, sizeof(out->reason),
		         "no %s (apt-get install qemu-system-x86 qemu-utils)", QEMU_BINARY);
		return;
	}
	if (!vl_vm_probe_boot(out))
		return;
	out->usable = true;
	if (kvm_usable(why, sizeof(why))) {
		snprintf(out->accel, sizeof(out->accel), "kvm");
	} else {
		snprintf(out->accel, sizeof(out->accel), "tcg");
		snprintf(out->reason, sizeof(out->reason),
		         "no usable /dev/kvm: TCG software emulation (%s)", why);
	}
}

/* ---- provision and clone ---- */

static int provision(struct vl_guest *g, vl_error *err)
{
	if (vl_vm_boot_files(g, err) < 0 || vl_vm_disk_provision(g, DISK_BYTES, err) < 0)
		return vl_error_wrap(err, "provisioning guest %s", g->spec.name);
	return 0;
}

static int clone_guest(struct vl_guest *src, struct vl_guest *dst, bool full_copy, vl_error *err)
{
	/* An overlay reads its backing file as it is; a running guest changes it. */
	if (running_pid(src))
		return vl_error_input(err, "guest %s is running: stop it before cloning it",
		                      src->spec.name);
	if (vl_vm_boot_files(dst, err) < 0 || vl_vm_disk_clone(src, dst, full_copy, err) < 0)
		return vl_error_wrap(err, "cloning guest %s to %s", src->spec.name, dst->spec.name);
	return 0;
}

/* ---- start ---- */

struct argv_buf {
	char *argv[64];
	char text[64][PATH_MAX + 128];
	int n;
};

static void arg(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n >= 63)
		abort(); /* the list below is fixed: a bug, not input */
	va_start(ap, fmt);
	vsnprintf(a->text[a->n], sizeof(a->text[a->n]), fmt, ap);
	va_end(ap);
	a->argv[a->n] = a->text[a->n];
	a->argv[++a->n] = NULL;
}

static void build_argv(const struct vl_guest *g, bool kvm, struct argv_buf *a)
{
	unsigned cpus = vl_vm_vcpu_count(&g->spec, DEFAULT_CPUS);
	uint64_t memory = g->spec.memory_bytes ? g->spec.memory_bytes : DEFAULT_MEMORY;
	unsigned long long mib = (memory + (1 << 20) - 1) >> 20;
	const char *tap = rec_str(g, "tap");
	/* guest_net.h: the address /init gives the NIC, "ADDR/PREFIX,GATEWAY". */
	const char *net = rec_str(g, "net_boot");
	/* A lab host (hosts/lab.c) is a qemu guest that boots its own kind of
	 * system: its record's "boot" names the machine, CPU and command line. */
	json_t *boot = json_object_get(g->record, "boot");
	const char *machine = json_string_value(json_object_get(boot, "machine"));
	const char *cpu = json_string_value(json_object_get(boot, "cpu"));
	const char *append = json_string_value(json_object_get(boot, "append"));

	arg(a, QEMU_BINARY);
	arg(a, "-name");
	arg(a, "virtlab-%s", g->spec.name);
	/* pc, not microvm: microvm hung in a third of TCG boots here. */
	/* reserve=off maps the RAM with MAP_NORESERVE: the overcommit experiment
	 * gives guests more memory than the host has, which the kernel's
	 * overcommit heuristic refuses as one reservation. */
	arg(a, "-object");
	arg(a, "memory-backend-ram,id=ram0,size=%lluM,reserve=off", mib);
	arg(a, "-machine");
	arg(a, "%s,memory-backend=ram0", machine ? machine : "pc");
	arg(a, "-accel");
	arg(a, "%s", kvm ? "kvm" : "tcg");
	arg(a, "-cpu");
	arg(a, "%s", cpu ? cpu : kvm ? "host" : "max");
	arg(a, "-smp");
	arg(a, "%u", cpus);
	arg(a, "-m");
	arg(a, "%lluM", mib);
	arg(a, "-nodefaults");
	arg(a, "-no-user-config");
	arg(a, "-display");
	arg(a, "none");
	/* Paused until the vCPU threads are pinned; without pinning the guest
	 * runs at once, as a QMP round trip costs boot time. */
	if (g->spec.cpuset[0])
		arg(a, "-S");
	arg(a, "-kernel");
	arg(a, "%s", rec_str(g, "kernel"));
	arg(a, "-initrd");
	arg(a, "%s", rec_str(g, "initramfs"));
	arg(a, "-append");
	/* Kernel parameters cannot hold spaces; guest names cannot either. */
	/* no_timer_check: a busy host delays TCG's timer past the kernel's IO-APIC
	 * check, which then panics ("IO-APIC + timer doesn't work").
	 * cryptomgr.notests: the kernel's self-tests of its crypto algorithms took
	 * 0.3 s of a 1.5 s TCG boot, and no workload uses kernel crypto.
	 * acpi=noirq: PCI interrupts routed through the BIOS's tables instead of
	 * ACPI's AML, which took 0.1 s per virtio device under TCG (pci=noacpi
	 * saves as much but leaves I/O BARs unassigned).
	 * initcall_blacklist: kdf108's self-test (0.13 s) and the boot-time kprobe
	 * events (0.06 s), neither used by a guest.
	 * rootfstype=ramfs: the kernel unpacks the initramfs into ramfs rather
	 * than tmpfs, 0.09 s sooner for its 8 MB (disk workloads use the disk).
	 * noreplace-smp: with one vCPU the kernel rewrites every lock prefix of
	 * its text (and of each module it loads) into a nop, 0.07 s under TCG,
	 * where each write discards translated code; the guest keeps them, as a
	 * guest with more vCPUs does.
	 * initramfs_async=0, with one vCPU: the kernel unpacks the initramfs
	 * before the other initcalls rather than interleaved with them; /init
	 * ran 0.06 s sooner (median of 9 interleaved boots). */
	if (append)
		arg(a, "%s", append);
	else
		arg(a,
		    "console=ttyS0 quiet no_timer_check cryptomgr.notests acpi=noirq "
		    "initcall_blacklist=crypto_kdf108_init,init_kprobe_trace rootfstype=ramfs "
		    "noreplace-smp%s virtlab.hostname=%s%s%s%s%s",
		    cpus == 1 ? " initramfs_async=0" : "", g->spec.name,
		    g->spec.workdir[0] ? " virtlab.workdir=" : "", g->spec.workdir,
		    net ? " virtlab.net=" : "", net ? net : "");
	arg(a, "-serial");
	arg(a, "file:%s", rec_str(g, "console"));
	arg(a, "-qmp");
	arg(a, "unix:%s,server=on,wait=off", rec_str(g, "qmp_socket"));
	arg(a, "-device");
	arg(a, "virtio-serial-pci,id=vser0");
	arg(a, "-chardev");
	arg(a, "socket,id=agent0,path=%s,server=on,wait=off", rec_str(g, "agent_socket"));
	arg(a, "-device");
	arg(a, "virtserialport,bus=vser0.0,chardev=agent0,id=agent-port,name=" VL_QEMU_AGENT_PORT);
	arg(a, "-drive");
	arg(a, "file=%s,format=%s,if=none,id=disk0", rec_str(g, "disk"), rec_str(g, "disk_format"));
	arg(a, "-device");
	arg(a, "virtio-blk-pci,drive=disk0");
	/* The network helper sets "tap" (an existing tap device) in the record. */
	if (tap) {
		arg(a, "-netdev");
		arg(a, "tap,id=net0,ifname=%s,script=no,downscript=no", tap);
		arg(a, "-device");
		arg(a, "virtio-net-pci,netdev=net0");
	}
}

/* Tracks, then sets the path of one of the guest's state files. */
static int add_state_file(struct vl_guest *g, const char *key, const char *file, vl_error *err)
{
	char path[PATH_MAX];

	if (state_file(g, file, path, sizeof(path), err) < 0 ||
	    vl_state_track(g, VL_RES_FILE, path, err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "removing the stale %s", path);
	rec_set_str(g, key, path);
	return 0;
}

static int make_cgroup(struct vl_guest *g, struct vl_cgroup **cg, vl_error *err)
{
	struct vl_cgroup_host host;
	char name[VL_NAME_MAX + 16];

	snprintf(name, sizeof(name), "virtlab/%s", g->spec.name);
	if (vl_cgroup_detect(&host, err) < 0 || vl_state_track(g, VL_RES_CGROUP, name, err) < 0)
		return -1;
	rec_set_str(g, "cgroup", name);
	if (vl_cgroup_create(&host, name, cg, err) < 0)
		return -1;
	/* The emulator's own threads (I/O, QMP) stay on the guest's CPUs too; the
	 * spec's memory is the guest's RAM, not a limit, so it sets nothing here. */
	if (g->spec.cpuset[0] && vl_cgroup_set_cpuset(*cg, g->spec.cpuset, NULL, err) < 0)
		return -1;
	return 0;
}

static int launch(struct vl_guest *g, bool kvm, vl_error *err)
{
	struct argv_buf *a = calloc(1, sizeof(*a));
	struct vl_spawn_options opts = {.new_group = true, .output_path = rec_str(g, "log")};
	struct vl_cgroup *cg = NULL;
	char path[PATH_MAX], id[64];
	unsigned long long start;
	char state;
	pid_t pid;
	int rc = -1;

	if (!a)
		return vl_error_errno(err, errno, "starting qemu");
	if (!vl_find_program(QEMU_BINARY, path, sizeof(path))) {
		vl_error_input(err, "no %s: apt-get install qemu-system-x86", QEMU_BINARY);
		goto out;
	}
	build_argv(g, kvm, a);
	/* The kernel command line is recorded for diagnosis and for
	 * bench/qemu-boot.sh, whose plain boot is also timed with it. */
	for (int i = 0; i + 1 < a->n; i++)
		if (strcmp(a->argv[i], "-append") == 0)
			rec_set_str(g, "cmdline", a->argv[i + 1]);
	if (make_cgroup(g, &cg, err) < 0 || vl_spawn(path, a->argv, &opts, &pid, err) < 0)
		goto out;
	/* Between spawn and tracking lie a few system calls. qemu's threads
	 * move with it: the cgroup takes a whole thread group at once. */
	json_object_set_new(g->record, "pid", json_integer(pid));
	if (process_start_time(pid, &start, &state) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		json_object_del(g->record, "pid");
		vl_error_set(err, "qemu (pid %d) exited at once", (int)pid);
		goto out;
	}
	json_object_set_new(g->record, "start_time", json_integer((json_int_t)start));
	snprintf(id, sizeof(id), "%d:%llu", (int)pid, start);
	if (vl_state_track(g, VL_RES_PROCESS, id, err) < 0 ||
	    vl_cgroup_attach_pid(cg, pid, err) < 0 || vl_interrupt_forward_to(pid, err) < 0)
		goto out;
	rc = 0;
out:
	vl_cgroup_free(cg);
	free(a);
	return rc;
}

/* Pins vCPU i to the i-th CPU of cpuset (round robin): thread ids come from
 * QMP, the only place QEMU tells which thread runs which vCPU. */
static int pin_vcpus(struct vl_qmp *q, const char *cpuset, vl_error *err)
{
	cleanup_json json_t *cpus = NULL;
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	int rc = 0, first, cpu;
	size_t i;
	json_t *c;

	if (!set)
		return vl_error_errno(err, ENOMEM, "pinning vCPUs");
	if (hwloc_bitmap_list_sscanf(set, cpuset) < 0 || (first = hwloc_bitmap_first(set)) < 0) {
		hwloc_bitmap_free(set);
		return vl_error_input(err, "cpuset '%s' is not a CPU list such as 0-1,3", cpuset);
	}
	if (vl_qmp_execute(q, "query-cpus-fast", NULL, QMP_TIMEOUT_S, &cpus, err) < 0) {
		hwloc_bitmap_free(set);
		return -1;
	}
	cpu = first;
	json_array_foreach(cpus, i, c)
	{
		pid_t tid = (pid_t)json_integer_value(json_object_get(c, "thread-id"));
		cpu_set_t mask;
		CPU_ZERO(&mask);
		CPU_SET(cpu, &mask);
		if (sched_setaffinity(tid, sizeof(mask), &mask) < 0) {
			rc = vl_error_errno(err, errno, "pinning vCPU thread %d to CPU %d",
			                    (int)tid, cpu);
			break;
		}
		cpu = hwloc_bitmap_next(set, cpu);
		if (cpu < 0)
			cpu = first;
	}
	hwloc_bitmap_free(set);
	return rc;
}

static bool console_has(const struct vl_guest *g, const char *text)
{
	cleanup_free char *console = NULL;
	vl_error ignored = {0};
	const char *path = rec_str(g, "console");
	size_t len;

	return path && vl_read_file(path, &console, &len, &ignored) == 0 && strstr(console, text);
}

/* Why the guest has not answered (yet): fatal conditions fail at once
 * rather than at the deadline. */
static int check_booting(struct vl_guest *g, uint64_t start, double timeout_s, vl_error *err)
{
	if (!running_pid(g))
		return vl_error_set(err, "qemu exited before the agent answered");
	if (console_has(g, "Kernel panic"))
		return vl_error_set(err, "the guest kernel panicked");
	if (vl_interrupt_signal())
		return vl_error_set(err, "interrupted while waiting for the agent");
	if (vl_seconds_since(start) >= timeout_s)
		return vl_error_set(err, "no hello within %g s", timeout_s);
	return 0;
}

/* Waits up to timeout_s for QMP to say that the guest opened the agent's
 * port. Returns 1 when it has, 0 when it has not yet. */
static int port_opened(struct vl_qmp *q, double timeout_s, vl_error *err)
{
	cleanup_json json_t *event = NULL;
	uint64_t t0 = vl_now_ns();

	if (vl_qmp_wait_event(q, "VSERPORT_CHANGE", timeout_s, &event, err) < 0) {
		if (vl_seconds_since(t0) < timeout_s)
			return -1; /* not the deadline: QMP itself failed */
		vl_error_clear(err);
		return 0;
	}
	return json_is_true(json_object_get(json_object_get(event, "data"), "open"));
}

/* One connection, made as soon as qemu has the socket and kept: the agent
 * that finds the host there when it opens its port reads at once. The hello
 * sent first waits in the socket, and qemu takes it once the guest has
 * opened the port, but only when its main loop next wakes, which the guest
 * opening the port does not do (it took seconds): QMP tells when the port
 * opens, and a QMP command then wakes the loop. Commands take qemu's big
 * lock, so they are sent only once the port is open, every KICK_NS until the
 * reply comes. The reply to that first hello says the agent is up; the
 * client then asks again and skips the first reply, whose id is not its
 * own. */
static int hello_once(struct vl_guest *g, struct vl_qmp *q, uint64_t start, double timeout_s,
                      vl_error *err)
{
	static const char first[] = "{\"id\": \"boot\", \"op\": \"hello\"}\n";
	struct vl_agent_client *c = NULL;
	cleanup_json json_t *hello = NULL;
	struct pollfd p = {.events = POLLIN};
	int opened = 0, rc;

	while (g->platform->open_channel(g, &p.fd, err) < 0) {
		if (check_booting(g, start, timeout_s, err) < 0)
			return -1;
		vl_error_clear(err);
		vl_sleep_ns(HELLO_RETRY_NS, NULL);
	}
	if (write(p.fd, first, strlen(first)) != (ssize_t)strlen(first)) {
		rc = vl_error_errno(err, errno, "sending hello to the agent");
		close(p.fd);
		return rc;
	}
	while ((rc = poll(&p, 1, opened ? (int)(KICK_NS / 1000000) : 0)) <= 0) {
		if (rc < 0 && errno != EINTR) {
			rc = vl_error_errno(err, errno, "waiting for the agent");
			break;
		}
		if ((rc = check_booting(g, start, timeout_s, err)) < 0)
			break;
		if (!opened && (opened = port_opened(q, OPEN_WAIT_NS / 1e9, err)) < 0) {
			rc = -1;
			break;
		}
		if (opened &&
		    (rc = vl_qmp_execute(q, "query-status", NULL, QMP_TIMEOUT_S, NULL, err)) < 0)
			break;
	}
	if (rc < 0) {
		close(p.fd);
		return -1;
	}
	if (vl_agent_client_new(p.fd, &c, err) < 0)
		return -1;
	rc = vl_agent_hello(c, AGENT_REPLY_S, &hello, err);
	vl_agent_client_free(c);
	if (rc == 0)
		json_object_set(g->record, "guest_kernel", json_object_get(hello, "kernel"));
	return rc;
}

/* A connection qemu closes (the guest reset again, the port closed) is made
 * anew until the deadline. */
static int wait_hello(struct vl_guest *g, struct vl_qmp *q, double timeout_s, vl_error *err)
{
	uint64_t start = vl_now_ns();

	while (hello_once(g, q, start, timeout_s, err) < 0) {
		if (check_booting(g, start, timeout_s, err) < 0)
			return -1;
		vl_debug("guest %s: %s; asking again", g->spec.name, err->msg);
		vl_error_clear(err);
		vl_sleep_ns(HELLO_RETRY_NS, NULL);
	}
	return 0;
}

static int start(struct vl_guest *g, vl_error *err)
{
	struct vl_qmp *q = NULL;
	char why[200], tail[200], qemu_said[200];
	uint64_t t0 = vl_now_ns();
	bool kvm;

	if (!rec_str(g, "disk") || !rec_str(g, "kernel"))
		return vl_error_input(err, "guest %s is not provisioned", g->spec.name);
	if (running_pid(g))
		return vl_error_input(err, "guest %s is already running", g->spec.name);
	if (strpbrk(g->spec.workdir, " \t\n\"'"))
		return vl_error_input(err,
		                      "workdir '%s' of a qemu guest cannot hold spaces or quotes "
		                      "(it is passed on the kernel command line)",
		                      g->spec.workdir);
	kvm = kvm_usable(why, sizeof(why));
	rec_set_str(g, "accel", kvm ? "kvm" : "tcg");
	if (add_state_file(g, "qmp_socket", "qmp.sock", err) < 0 ||
	    add_state_file(g, "agent_socket", "agent.sock", err) < 0 ||
	    add_state_file(g, "console", "console.log", err) < 0 ||
	    add_state_file(g, "log", "qemu.log", err) < 0 || vl_guest_net_attach_tap(g, err) < 0 ||
	    launch(g, kvm, err) < 0)
		goto fail;
	if (vl_qmp_connect(rec_str(g, "qmp_socket"), QMP_TIMEOUT_S, &q, err) < 0 ||
	    (g->spec.cpuset[0] &&
	     (pin_vcpus(q, g->spec.cpuset, err) < 0 ||
	      vl_qmp_execute(q, "cont", NULL, QMP_TIMEOUT_S, NULL, err) < 0)) ||
	    wait_hello(g, q, HELLO_TIMEOUT_S, err) < 0)
		goto fail;
	vl_qmp_free(vl_steal_ptr(q));
	json_object_set_new(g->record, "start_seconds", json_real(vl_seconds_since(t0)));
	vl_debug("guest %s: agent answered %.2f s after launch (%s)", g->spec.name,
	         vl_seconds_since(t0), kvm ? "kvm" : "tcg");
	return 0;
fail:
	vl_qmp_free(q);
	log_tail(g, "console", tail, sizeof(tail));
	log_tail(g, "log", qemu_said, sizeof(qemu_said));
	kill_run(g);
	vl_error_wrap(err, "starting guest %s under %s", g->spec.name, kvm ? "kvm" : "tcg");
	if (tail[0])
		vl_error_wrap(err, "last console line '%s'", tail);
	if (qemu_said[0])
		vl_error_wrap(err, "%s", qemu_said);
	return -1;
}

/* ---- stop, reboot, destroy ---- */

static int stop(struct vl_guest *g, vl_error *err)
{
	pid_t pid = running_pid(g);
	vl_error ignored = {0};
	struct vl_qmp *q = NULL;

	if (!pid)
		return release_run(g, err);
	/* The agent's exit powers the guest off, and qemu exits with it. */
	if (vl_guest_agent_call(g, "shutdown", SHUTDOWN_TIMEOUT_S, NULL, &ignored) == 0 &&
	    wait_gone(g, pid, POWEROFF_WAIT_S))
		return release_run(g, err);
	vl_debug("guest %s did not power off: QMP quit", g->spec.name);
	if (vl_qmp_connect(rec_str(g, "qmp_socket"), QMP_TIMEOUT_S, &q, &ignored) == 0)
		vl_qmp_execute(q, "quit", NULL, QMP_TIMEOUT_S, NULL, &ignored);
	vl_qmp_free(q);
	if (!wait_gone(g, pid, QUIT_WAIT_S)) {
		vl_debug("qemu of %s (pid %d) ignored quit: SIGKILL", g->spec.name, (int)pid);
		kill(pid, SIGKILL);
		if (!wait_gone(g, pid, KILL_WAIT_S))
			return vl_error_set(err, "qemu of guest %s (pid %d) survived SIGKILL",
			                    g->spec.name, (int)pid);
	}
	return release_run(g, err);
}

/* A reset, not a new process: the RESET event says the old guest (and its
 * agent) is gone, so the hello that follows comes from the new boot. */
static int reboot(struct vl_guest *g, vl_error *err)
{
	struct vl_qmp *q = NULL;
	uint64_t t0 = vl_now_ns();
	int rc;

	if (!running_pid(g))
		return vl_error_input(err, "guest %s is not running", g->spec.name);
	rc = vl_qmp_connect(rec_str(g, "qmp_socket"), QMP_TIMEOUT_S, &q, err);
	if (rc == 0)
		rc = vl_qmp_execute(q, "system_reset", NULL, QMP_TIMEOUT_S, NULL, err);
	if (rc == 0)
		rc = vl_qmp_wait_event(q, "RESET", QMP_TIMEOUT_S, NULL, err);
	if (rc == 0)
		rc = wait_hello(g, q, HELLO_TIMEOUT_S, err);
	vl_qmp_free(q);
	if (rc < 0)
		return vl_error_wrap(err, "rebooting guest %s", g->spec.name);
	json_object_set_new(g->record, "reboot_seconds", json_real(vl_seconds_since(t0)));
	return 0;
}

static int destroy(struct vl_guest *g, vl_error *err)
{
	if (stop(g, err) < 0)
		return vl_error_wrap(err, "destroying guest %s", g->spec.name);
	remove_state_file(g, "console");
	remove_state_file(g, "log");
	return vl_vm_disk_remove(g, err);
}

/* ---- channel, entitlement, footprint ---- */

static int open_channel(struct vl_guest *g, int *fd, vl_error *err)
{
	const char *path = rec_str(g, "agent_socket");
	if (!path || !running_pid(g))
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	return vl_guest_connect_path(path, fd, err);
}

static int apply_entitlement(struct vl_guest *g, const struct vl_entitlement *e, vl_error *err)
{
	struct vl_cgroup *cg = NULL;
	struct vl_qmp *q = NULL;
	int rc;

	if (open_cgroup(g, &cg, err) < 0)
		return -1;
	rc = vl_entitlement_apply_cgroup(cg, e, err);
	vl_cgroup_free(cg);
	if (rc == 0 && e->cpuset[0]) {
		rc = vl_qmp_connect(rec_str(g, "qmp_socket"), QMP_TIMEOUT_S, &q, err);
		if (rc == 0)
			rc = pin_vcpus(q, e->cpuset, err);
		vl_qmp_free(q);
	}
	if (rc < 0)
		return vl_error_wrap(err, "entitlement of guest %s", g->spec.name);
	return 0;
}

static int footprint(struct vl_guest *g, struct vl_footprint *out, vl_error *err)
{
	pid_t pid = running_pid(g);
	struct vl_cgroup *cg = NULL;
	struct vl_cgroup_stats stats;

	memset(out, 0, sizeof(*out));
	if (!pid)
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	if (vl_proc_memory_add(pid, &out->rss_bytes, &out->pss_bytes, err) < 0)
		return vl_error_wrap(err, "footprint of guest %s", g->spec.name);
	if (open_cgroup(g, &cg, err) < 0)
		return -1;
	if (vl_cgroup_read_stats(cg, &stats, err) == 0 && (stats.have & VL_CGROUP_STAT_MEMORY))
		out->cgroup_memory_bytes = stats.memory_current;
	vl_error_clear(err); /* the cgroup figure is a bonus; RSS and PSS are the footprint */
	vl_cgroup_free(cg);
	return 0;
}

const struct vl_platform vl_platform_qemu = {
        .name = "qemu",
        .persistent = true,
        .summary = "QEMU/KVM virtual machines (TCG software emulation without /dev/kvm)",
        .probe = probe,
        .provision = provision,
        .clone = clone_guest,
        .start = start,
        .stop = stop,
        .reboot = reboot,
        .destroy = destroy,
        .open_channel = open_channel,
        .apply_entitlement = apply_entitlement,
        .footprint = footprint,
};
