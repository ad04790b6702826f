/* The Xen platform, for a virtlab running in a Xen dom0: PV ("xen") and PVH
 * ("xen-pvh") domains made with `xl`, booting the same Debian kernel and
 * initramfs as the qemu platform. The agent's channel is a Xen PV console
 * channel that the domain's device model (qemu-xen in dom0) connects to a
 * unix socket here; in the guest it is /dev/hvc1 (docs/design.md, "Xen").
 *
 * Domains outlive the virtlab command that made them, so everything a later
 * command needs is in g->record; the domain itself is tracked as a resource
 * (VL_RES_XEN) so that `virtlab cleanup` destroys what a killed run
 * left. Every xl call is timed out and its status and stderr checked. */
#include "platforms/xen.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/command.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"
#include "agent/client.h"
#include "platforms/guest_files.h"
#include "platforms/platform.h"
#include "platforms/qemu_image.h"
#include "platforms/state.h"
#include "platforms/vm_guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XL             "xl"
#define DEFAULT_CPUS   1
#define DEFAULT_MEMORY (256ull << 20)
#define DISK_BYTES     (4ull << 30)
/* xl under a TCG-emulated dom0 takes a second where it takes milliseconds on
 * hardware; create also starts the device model. */
#define XL_TIMEOUT_S        30.0
#define XL_CREATE_TIMEOUT_S 180.0
#define HELLO_TIMEOUT_S     240.0
#define HELLO_ATTEMPT_S     2.0
#define SHUTDOWN_TIMEOUT_S  5.0
#define POWEROFF_WAIT_S     30.0
#define DESTROY_WAIT_S      30.0
#define POLL_NS             200000000ull
/* Credit schedulers weigh 1..65535, 256 by default; virtlab's weights are
 * cgroup v2's (1..10000, 100 by default): 100 maps to 256. */
#define XEN_DEFAULT_WEIGHT    256u
#define CGROUP_DEFAULT_WEIGHT 100u

extern const struct vl_platform vl_platform_xen_pvh;

/* ---- xl ---- */

/* Runs xl with args; fails with its first stderr line when it exits non-zero.
 * out (may be NULL) gets its stdout. */
static int xl(const char *const *args, double timeout_s, char **out, vl_error *err)
{
	const char *argv[16] = {XL};
	struct vl_command_result res = {0};
	char buf[512];
	size_t n = 1;
	int rc = 0;

	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	if (vl_command_run(argv, NULL, timeout_s, NULL, &res, err) < 0)
		return vl_error_wrap(err, "running xl %s", args[0]);
	if (res.exit_code != 0)
		rc = vl_error_set(err, "xl %s %s", args[0],
		                  vl_command_describe_failure(&res, buf, sizeof(buf)));
	else if (out)
		*out = vl_steal_ptr(res.out);
	vl_command_result_release(&res);
	return rc;
}

/* The domain's id, or -1 when no domain has that name. */
static int domain_id(const char *domain)
{
	const char *const args[] = {"domid", domain, NULL};
	cleanup_free char *out = NULL;
	vl_error ignored = {0};

	if (xl(args, XL_TIMEOUT_S, &out, &ignored) < 0)
		return -1;
	return atoi(out);
}

static bool wait_domain_gone(const char *domain, double timeout_s)
{
	uint64_t start = vl_now_ns();

	while (domain_id(domain) >= 0) {
		if (vl_seconds_since(start) >= timeout_s)
			return false;
		vl_sleep_ns(POLL_NS, NULL);
	}
	return true;
}

int vl_xen_domain_release(const char *domain, bool dry_run, bool *existed, vl_error *err)
{
	const char *const args[] = {"destroy", domain, NULL};

	*existed = domain_id(domain) >= 0;
	if (!*existed || dry_run)
		return 0;
	/* A domain that is going away by itself is gone before destroy finds it. */
	if (xl(args, XL_TIMEOUT_S, NULL, err) < 0 && domain_id(domain) >= 0)
		return vl_error_wrap(err, "destroying Xen domain %s", domain);
	vl_error_clear(err);
	if (!wait_domain_gone(domain, DESTROY_WAIT_S))
		return vl_error_set(err, "Xen domain %s is still there %g s after xl destroy",
		                    domain, DESTROY_WAIT_S);
	return 0;
}

/* ---- probe ---- */

static void probe(struct vl_probe *out)
{
	cleanup_free char *caps = NULL, *info = NULL;
	const char *const args[] = {"info", NULL};
	char path[PATH_MAX];
	vl_error err = {0};
	size_t len;

	memset(out, 0, sizeof(*out));
	snprintf(out->accel, sizeof(out->accel), "xen");
	if (vl_read_file("/proc/xen/capabilities", &caps, &len, &err) < 0 ||
	    !strstr(caps, "control_d")) {
		snprintf(out->reason, sizeof(out->reason),
		         "not a Xen dom0 (no control_d in /proc/xen/capabilities)");
		return;
	}
	if (!vl_find_program(XL, path, sizeof(path))) {
		snprintf(out->reason, sizeof(out->reason),
		         "no xl in this dom0 (apt-get install xen-utils-4.17 qemu-system-xen)");
		return;
	}
	if (xl(args, XL_TIMEOUT_S, &info, &err) < 0) {
		snprintf(out->reason, sizeof(out->reason), "xl does not work here: %s", err.msg);
		return;
	}
	if (!vl_vm_probe_boot(out))
		return;
	out->usable = true;
	/* A dom0 on QEMU's firmware is a lab host (hosts/lab_xen.c), under TCG
	 * unless the lab had KVM: its figures are Xen against its own dom0. */
	if (vl_read_line("/sys/class/dmi/id/sys_vendor", path, sizeof(path), &err) == 0 &&
	    strcmp(path, "QEMU") == 0)
		snprintf(out->reason, sizeof(out->reason),
		         "Xen in a QEMU VM (a lab host): not representative of Xen on hardware");
}

/* ---- provision and clone ---- */

static bool is_pvh(const struct vl_guest *g)
{
	return g->platform == &vl_platform_xen_pvh;
}

/* Kernel and initramfs: the qemu platform's, shared and cached. The
 * uncompressed vmlinux (when there is one) saves libxc the decompression. */
static int boot_files(struct vl_guest *g, vl_error *err)
{
	char domain[VL_NAME_MAX + 16];

	snprintf(domain, sizeof(domain), "virtlab-%s", g->spec.name);
	if (vl_vm_boot_files(g, err) < 0 ||
	    vl_guest_rec_set(g, "domain", json_string(domain), err) < 0 ||
	    vl_guest_rec_set(g, "type", json_string(is_pvh(g) ? "pvh" : "pv"), err) < 0)
		return -1;
	return 0;
}

static int provision(struct vl_guest *g, vl_error *err)
{
	if (boot_files(g, err) < 0 || vl_vm_disk_provision(g, DISK_BYTES, err) < 0)
		return vl_error_wrap(err, "provisioning guest %s", g->spec.name);
	return 0;
}

static int clone_guest(struct vl_guest *src, struct vl_guest *dst, bool full_copy, vl_error *err)
{
	const char *domain = vl_guest_rec_str(src, "domain");

	if (domain && domain_id(domain) >= 0)
		return vl_error_input(err, "guest %s is running: stop it before cloning it",
		                      src->spec.name);
	if (vl_vm_disk_clone(src, dst, full_copy, err) < 0 || boot_files(dst, err) < 0)
		return vl_error_wrap(err, "cloning guest %s to %s", src->spec.name, dst->spec.name);
	return 0;
}

/* ---- start ---- */

/* The xl domain configuration. Channel 0 is a placeholder: xl numbers
 * channels from 0 and libxl refuses console 0 (the primary console) as a
 * channel, so the agent's channel must be the second, console 1 (/dev/hvc1
 * in the guest). Its failure is logged by libxl and otherwise ignored. */
static int write_config(struct vl_guest *g, const char *path, vl_error *err)
{
	uint64_t memory = g->spec.memory_bytes ? g->spec.memory_bytes : DEFAULT_MEMORY;
	cleanup_free char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return vl_error_errno(err, errno, "writing the domain configuration");
	fprintf(f, "name = \"%s\"\n", vl_guest_rec_str(g, "domain"));
	fprintf(f, "type = \"%s\"\n", vl_guest_rec_str(g, "type"));
	fprintf(f, "kernel = \"%s\"\n", vl_guest_rec_str(g, "kernel"));
	fprintf(f, "ramdisk = \"%s\"\n", vl_guest_rec_str(g, "initramfs"));
	fprintf(f,
	        "extra = \"console=hvc0 quiet cryptomgr.notests virtlab.agent=hvc1 "
	        "virtlab.hostname=%s%s%s\"\n",
	        g->spec.name, g->spec.workdir[0] ? " virtlab.workdir=" : "", g->spec.workdir);
	fprintf(f, "memory = %llu\n", (unsigned long long)((memory + (1 << 20) - 1) >> 20));
	fprintf(f, "vcpus = %u\n", vl_vm_vcpu_count(&g->spec, DEFAULT_CPUS));
	if (g->spec.cpuset[0])
		fprintf(f, "cpus = \"%s\"\n", g->spec.cpuset);
	fprintf(f, "disk = [ \"format=%s,vdev=xvda,access=rw,backendtype=qdisk,target=%s\" ]\n",
	        vl_guest_rec_str(g, "disk_format"), vl_guest_rec_str(g, "disk"));
	fprintf(f,
	        "channel = [ \"name=org.virtlab.unused,connection=pty\", "
	        "\"name=" VL_QEMU_AGENT_PORT ",connection=socket,path=%s\" ]\n",
	        vl_guest_rec_str(g, "agent_socket"));
	fprintf(f, "on_poweroff = \"destroy\"\non_reboot = \"restart\"\non_crash = \"destroy\"\n");
	if (fclose(f) != 0)
		return vl_error_errno(err, errno, "writing the domain configuration");
	return vl_write_file_replace(path, text, len, err);
}

/* Destroys the domain (if any) and removes what a run made. */
static int release_run(struct vl_guest *g, vl_error *err)
{
	const char *domain = vl_guest_rec_str(g, "domain");
	vl_error ignored = {0};
	bool existed;

	if (domain && json_is_true(json_object_get(g->record, "created"))) {
		if (vl_xen_domain_release(domain, false, &existed, err) < 0)
			return -1;
		vl_state_untrack(g, VL_RES_XEN, domain, &ignored);
		json_object_del(g->record, "created");
		json_object_del(g->record, "domid");
	}
	vl_guest_state_file_remove(g, "agent_socket");
	return 0;
}

static int open_channel(struct vl_guest *g, int *fd, vl_error *err);

/* Unlike a virtio port, the console channel keeps what the host wrote
 * before the agent listened, and the guest's tty echoes it until the agent
 * makes it raw. So all attempts share one connection: each hello has a new id, the
 * agent answers in order, and the client skips the replies (and echoes) of
 * earlier ids; once the last hello is answered, nothing stale is left to
 * confuse the next connection. */
static int wait_hello(struct vl_guest *g, double timeout_s, vl_error *err)
{
	struct vl_agent_client *c = NULL;
	uint64_t start = vl_now_ns();
	int fd;

	for (;;) {
		cleanup_json json_t *hello = NULL;
		double left = timeout_s - vl_seconds_since(start);
		double attempt = left < HELLO_ATTEMPT_S ? left : HELLO_ATTEMPT_S;
		if (!c && open_channel(g, &fd, err) == 0 && vl_agent_client_new(fd, &c, err) < 0)
			c = NULL;
		if (c && vl_agent_call(c, "hello", NULL, attempt, &hello, err) == 0) {
			vl_agent_client_free(c);
			json_object_set(g->record, "guest_kernel",
			                json_object_get(hello, "kernel"));
			return 0;
		}
		/* A broken connection (the device model restarted) is made anew. */
		if (c && (err->errnum || strstr(err->msg, "exited"))) {
			vl_agent_client_free(c);
			c = NULL;
		}
		if (!c)
			vl_sleep_ns(POLL_NS, NULL);
		if (domain_id(vl_guest_rec_str(g, "domain")) < 0) {
			vl_agent_client_free(c);
			return vl_error_set(err, "the domain ended before the agent answered");
		}
		if (vl_interrupt_signal() || vl_seconds_since(start) >= timeout_s) {
			vl_agent_client_free(c);
			if (vl_interrupt_signal())
				return vl_error_set(err, "interrupted while waiting for the agent");
			return vl_error_wrap(err, "no hello within %g s", timeout_s);
		}
		vl_error_clear(err);
	}
}

/* The guest's last console line, when xenconsoled logs guest consoles
 * (--log=guest, as the xen lab runs it): why a boot failed. */
static void console_tail(const char *domain, char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/var/log/xen/guest-%s.log", domain);
	if (!vl_guest_log_tail(path, buf, size))
		buf[0] = '\0';
}

static int start(struct vl_guest *g, vl_error *err)
{
	const char *domain = vl_guest_rec_str(g, "domain");
	uint64_t t0 = vl_now_ns();
	vl_error ignored = {0};
	char tail[200];
	int domid;

	if (!vl_guest_rec_str(g, "disk") || !domain)
		return vl_error_input(err, "guest %s is not provisioned", g->spec.name);
	if (strpbrk(g->spec.workdir, " \t\n\"'"))
		return vl_error_input(err,
		                      "workdir '%s' of a Xen guest cannot hold spaces or quotes "
		                      "(it is passed on the kernel command line)",
		                      g->spec.workdir);
	if (domain_id(domain) >= 0)
		return vl_error_input(err, "guest %s is already running (Xen domain %s)",
		                      g->spec.name, domain);
	if (vl_guest_state_file(g, "agent_socket", "agent.sock", err) < 0 ||
	    vl_guest_state_file(g, "config", "xl.cfg", err) < 0 ||
	    write_config(g, vl_guest_rec_str(g, "config"), err) < 0 ||
	    vl_state_track(g, VL_RES_XEN, domain, err) < 0)
		goto fail;
	json_object_set_new(g->record, "created", json_true());
	{
		const char *const args[] = {"create", "-q", vl_guest_rec_str(g, "config"), NULL};
		if (xl(args, XL_CREATE_TIMEOUT_S, NULL, err) < 0)
			goto fail;
	}
	domid = domain_id(domain);
	json_object_set_new(g->record, "domid", json_integer(domid));
	json_object_set_new(g->record, "create_seconds", json_real(vl_seconds_since(t0)));
	if (wait_hello(g, HELLO_TIMEOUT_S, err) < 0)
		goto fail;
	json_object_set_new(g->record, "start_seconds", json_real(vl_seconds_since(t0)));
	vl_debug("guest %s: domain %d created in %.2f s, agent answered %.2f s after xl create",
	         g->spec.name, domid, json_real_value(json_object_get(g->record, "create_seconds")),
	         vl_seconds_since(t0));
	return 0;
fail:
	console_tail(domain, tail, sizeof(tail));
	release_run(g, &ignored);
	vl_error_wrap(err, "starting guest %s as a Xen %s domain", g->spec.name,
	              vl_guest_rec_str(g, "type"));
	if (tail[0])
		vl_error_wrap(err, "last console line '%s'", tail);
	return -1;
}

/* ---- stop, reboot, destroy ---- */

static int stop(struct vl_guest *g, vl_error *err)
{
	const char *domain = vl_guest_rec_str(g, "domain");
	vl_error ignored = {0};

	if (!domain || domain_id(domain) < 0)
		return release_run(g, err);
	/* The agent's exit powers the guest off; on_poweroff destroys the domain. */
	if (vl_guest_agent_call(g, "shutdown", SHUTDOWN_TIMEOUT_S, NULL, &ignored) == 0 &&
	    wait_domain_gone(domain, POWEROFF_WAIT_S))
		return release_run(g, err);
	vl_debug("guest %s did not power off: xl destroy", g->spec.name);
	return release_run(g, err);
}

/* The guest reboots itself (`reboot -f` through the agent): `xl reboot`
 * would have its kernel run /sbin/reboot, which signals the guest's init,
 * the agent, and pid 1 ignores a signal it has no handler for. Xen then ends
 * the domain and, as on_reboot="restart" says, makes a new one of the same
 * name, whose new id tells that the hello that follows comes from the new
 * boot. */
static int reboot(struct vl_guest *g, vl_error *err)
{
	const char *domain = vl_guest_rec_str(g, "domain");
	cleanup_json json_t *args = json_pack("{s:[ss]}", "argv", "reboot", "-f");
	struct vl_agent_client *c = NULL;
	uint64_t t0 = vl_now_ns();
	vl_error ignored = {0};
	int old_id, id, fd;

	if (!domain || (old_id = domain_id(domain)) < 0)
		return vl_error_input(err, "guest %s is not running", g->spec.name);
	if (open_channel(g, &fd, err) < 0 || vl_agent_client_new(fd, &c, err) < 0)
		return vl_error_wrap(err, "rebooting guest %s", g->spec.name);
	/* The guest may go before it answers. */
	vl_agent_call(c, "exec", args, SHUTDOWN_TIMEOUT_S, NULL, &ignored);
	vl_agent_client_free(c);
	while ((id = domain_id(domain)) == old_id || id < 0) {
		if (vl_seconds_since(t0) >= HELLO_TIMEOUT_S)
			return vl_error_set(err, "rebooting guest %s: no new domain within %g s",
			                    g->spec.name, HELLO_TIMEOUT_S);
		vl_sleep_ns(POLL_NS, NULL);
	}
	json_object_set_new(g->record, "domid", json_integer(id));
	if (wait_hello(g, HELLO_TIMEOUT_S, err) < 0)
		return vl_error_wrap(err, "rebooting guest %s", g->spec.name);
	json_object_set_new(g->record, "reboot_seconds", json_real(vl_seconds_since(t0)));
	return 0;
}

static int destroy(struct vl_guest *g, vl_error *err)
{
	if (stop(g, err) < 0)
		return vl_error_wrap(err, "destroying guest %s", g->spec.name);
	vl_guest_state_file_remove(g, "config");
	return vl_vm_disk_remove(g, err);
}

/* ---- channel, entitlement, footprint ---- */

static int open_channel(struct vl_guest *g, int *fd, vl_error *err)
{
	const char *path = vl_guest_rec_str(g, "agent_socket");

	if (!path)
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	return vl_guest_connect_path(path, fd, err);
}

/* "credit" or "credit2": which xl sched-* command sets weight and cap. */
static int scheduler(char *buf, size_t size, vl_error *err)
{
	const char *const args[] = {"info", NULL};
	cleanup_free char *info = NULL;
	char *line;

	if (xl(args, XL_TIMEOUT_S, &info, err) < 0)
		return -1;
	line = strstr(info, "xen_scheduler");
	if (!line || sscanf(line, "xen_scheduler : %31s", buf) != 1 || size < 32)
		return vl_error_set(err, "xl info names no xen_scheduler");
	if (strcmp(buf, "credit") != 0 && strcmp(buf, "credit2") != 0)
		return vl_error_input(err,
		                      "Xen runs the %s scheduler: weights and caps need credit or "
		                      "credit2 (boot Xen with sched=credit)",
		                      buf);
	return 0;
}

static int set_weight_cap(const char *domain, const struct vl_entitlement *e, vl_error *err)
{
	char sched[32], cmd[40], weight[16], cap[16];
	const char *args[8] = {cmd, "-d", domain};
	size_t n = 3;

	if (scheduler(sched, sizeof(sched), err) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "sched-%s", sched);
	if (e->cpu_weight) {
		unsigned long w =
		        (unsigned long)e->cpu_weight * XEN_DEFAULT_WEIGHT / CGROUP_DEFAULT_WEIGHT;
		snprintf(weight, sizeof(weight), "%lu", w < 1 ? 1 : w > 65535 ? 65535 : w);
		args[n++] = "-w";
		args[n++] = weight;
	}
	if (e->cpu_max_pct > 0) {
		/* The cap is in percent of one physical CPU, as cpu_max_pct is. */
		snprintf(cap, sizeof(cap), "%.0f", e->cpu_max_pct < 1 ? 1 : e->cpu_max_pct);
		args[n++] = "-c";
		args[n++] = cap;
	}
	args[n] = NULL;
	return xl(args, XL_TIMEOUT_S, NULL, err);
}

/* vCPU i on the i-th CPU of cpuset, round robin, as the qemu platform pins. */
static int pin_vcpus(const char *domain, unsigned vcpus, const char *cpuset, vl_error *err)
{
	cleanup_free int *cpus = calloc(vcpus ? vcpus : 1, sizeof(*cpus));
	int rc;

	if (!cpus)
		return vl_error_errno(err, ENOMEM, "pinning vCPUs");
	rc = vl_vm_pin_plan(cpuset, cpus, vcpus, err);
	for (unsigned i = 0; i < vcpus && rc == 0; i++) {
		char vcpu[16], pcpu[16];
		snprintf(vcpu, sizeof(vcpu), "%u", i);
		snprintf(pcpu, sizeof(pcpu), "%d", cpus[i]);
		const char *const args[] = {"vcpu-pin", domain, vcpu, pcpu, NULL};
		rc = xl(args, XL_TIMEOUT_S, NULL, err);
	}
	return rc;
}

static int apply_entitlement(struct vl_guest *g, const struct vl_entitlement *e, vl_error *err)
{
	const char *domain = vl_guest_rec_str(g, "domain");
	int rc = 0;

	if (e->io_read_bps || e->io_write_bps || e->pids_max || e->net_classid || e->mems[0])
		return vl_error_input(err,
		                      "guest %s: a Xen domain takes CPU weight, cap and pinning "
		                      "and memory only (no I/O throttles, pids, net class or "
		                      "memory nodes)",
		                      g->spec.name);
	if (!domain || domain_id(domain) < 0)
		return vl_error_set(err, "guest %s is not running", g->spec.name);
	if (e->cpu_weight || e->cpu_max_pct > 0)
		rc = set_weight_cap(domain, e, err);
	if (rc == 0 && e->cpuset[0])
		rc = pin_vcpus(domain, vl_vm_vcpu_count(&g->spec, DEFAULT_CPUS), e->cpuset, err);
	if (rc == 0 && e->memory_bytes) {
		char mem[32];
		snprintf(mem, sizeof(mem), "%llum",
		         (unsigned long long)((e->memory_bytes + (1 << 20) - 1) >> 20));
		const char *const args[] = {"mem-set", domain, mem, NULL};
		rc = xl(args, XL_TIMEOUT_S, NULL, err);
	}
	if (rc < 0)
		return vl_error_wrap(err, "entitlement of guest %s", g->spec.name);
	return 0;
}

/* The domain's memory as Xen accounts it (xl list), plus what its device
 * model costs in dom0: the host's whole cost of the guest. */
static int footprint(struct vl_guest *g, struct vl_footprint *out, vl_error *err)
{
	const char *domain = vl_guest_rec_str(g, "domain");
	const char *const args[] = {"list", domain, NULL};
	cleanup_free char *list = NULL;
	char name[VL_NAME_MAX + 16], path[64];
	unsigned long long mib = 0;
	const char *line;
	int domid;

	memset(out, 0, sizeof(*out));
	if (!domain || xl(args, XL_TIMEOUT_S, &list, err) < 0)
		return vl_error_wrap(err, "footprint of guest %s (is it running?)", g->spec.name);
	line = strchr(list, '\n');
	if (!line || sscanf(line + 1, "%79s %d %llu", name, &domid, &mib) != 3)
		return vl_error_set(err, "footprint of guest %s: xl list printed no domain line",
		                    g->spec.name);
	out->rss_bytes = out->pss_bytes = (uint64_t)mib << 20;
	snprintf(path, sizeof(path), "/local/domain/%d/image/device-model-pid", domid);
	{
		const char *const argv[] = {"xenstore-read", path, NULL};
		struct vl_command_result res = {0};
		vl_error ignored = {0};
		if (vl_command_run(argv, NULL, XL_TIMEOUT_S, NULL, &res, &ignored) == 0 &&
		    res.exit_code == 0 && atoi(res.out) > 0)
			vl_proc_memory_add((pid_t)atoi(res.out), &out->rss_bytes, &out->pss_bytes,
			                   &ignored);
		vl_command_result_release(&res);
	}
	return 0;
}

const struct vl_platform vl_platform_xen = {
        .name = "xen",
        .persistent = true,
        .summary = "Xen paravirtualized (PV) domains, from a Xen dom0 through xl",
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

const struct vl_platform vl_platform_xen_pvh = {
        .name = "xen-pvh",
        .persistent = true,
        .summary = "Xen PVH domains (hardware virtualization, PV devices), from a Xen dom0",
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
