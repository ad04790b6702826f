#include "study/host_facts.h"
#include "core/cleanup.h"
#include "core/file.h"
#include "core/command.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <limits.h>
#include <linux/kvm.h>
#include <mntent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* How each tool reports its version; NULL flag: ask dpkg for the package's. */
static const struct {
	const char *name;
	const char *version_arg;
	const char *package;
} tools[] = {
        {"sysbench", "--version", "sysbench"},
        {"mbw", NULL, "mbw"},
        {"iperf3", "--version", "iperf3"},
        {"ioping", "-v", "ioping"},
        {"dd", "--version", "coreutils"},
        {"openssl", "version", "openssl"},
        {"stress", "--version", "stress"},
        {"stress-ng", "--version", "stress-ng"},
        {"qemu-system-x86_64", "--version", "qemu-system-x86"},
        {"lxc-start", "--version", "lxc"},
        {"crun", "--version", "crun"},
};

#define N_TOOLS (sizeof(tools) / sizeof(tools[0]))

/* The value of "key : value" lines in /proc/cpuinfo and /proc/meminfo. */
static bool proc_field(const char *path, const char *key, char *out, size_t size)
{
	cleanup_file FILE *f = fopen(path, "re");
	char line[4096];
	size_t klen = strlen(key);

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + klen;
		if (strncmp(line, key, klen) != 0 || (*p != ':' && *p != ' ' && *p != '\t'))
			continue;
		p += strspn(p, " \t:");
		p[strcspn(p, "\n")] = '\0';
		snprintf(out, size, "%s", p);
		return true;
	}
	return false;
}

static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

static json_t *string_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* Governors of every CPU that has cpufreq; "a,b" when they differ. */
static json_t *frequency_governor(void)
{
	char seen[256] = "";
	for (int cpu = 0; cpu < 4096; cpu++) {
		char path[128], gov[64];
		snprintf(path, sizeof(path),
		         "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", cpu);
		if (vl_read_line(path, gov, sizeof(gov), NULL) < 0) {
			if (access(path, F_OK) < 0 && cpu > 0)
				break;
			continue;
		}
		if (!has_word(seen, gov)) {
			size_t len = strlen(seen);
			snprintf(seen + len, sizeof(seen) - len, "%s%s", len ? " " : "", gov);
		}
	}
	for (char *p = seen; *p; p++)
		if (*p == ' ')
			*p = ',';
	return string_or_null(seen);
}

static void add_topology(json_t *cpu, hwloc_topology_t topo)
{
	json_t *nodes = json_array();
	int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);

	json_object_set_new(cpu, "logical_cpus",
	                    json_integer(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU)));
	json_object_set_new(cpu, "cores",
	                    json_integer(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE)));
	json_object_set_new(cpu, "sockets",
	                    json_integer(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE)));
	for (int i = 0; i < n; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
		cleanup_free char *list = NULL;
		if (hwloc_bitmap_list_asprintf(&list, node->cpuset) < 0)
			list = NULL;
		json_array_append_new(
		        nodes, json_pack("{s:I, s:o, s:I}", "node", (json_int_t)node->os_index,
		                         "cpus", string_or_null(list), "memory_bytes",
		                         (json_int_t)node->attr->numanode.local_memory));
	}
	json_object_set_new(cpu, "numa_nodes", nodes);
}

json_t *vl_host_cpu_facts(void)
{
	json_t *cpu = json_object();
	char model[256] = "", flags[8192] = "";
	hwloc_topology_t topo;

	if (!proc_field("/proc/cpuinfo", "model name", model, sizeof(model)))
		model[0] = '\0';
	json_object_set_new(cpu, "model", string_or_null(model));
	if (hwloc_topology_init(&topo) == 0) {
		if (hwloc_topology_load(topo) == 0)
			add_topology(cpu, topo);
		hwloc_topology_destroy(topo);
	}
	if (!json_object_get(cpu, "logical_cpus")) {
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		json_object_set_new(cpu, "logical_cpus",
		                    online > 0 ? json_integer(online) : json_null());
		json_object_set_new(cpu, "cores", json_null());
		json_object_set_new(cpu, "sockets", json_null());
		json_object_set_new(cpu, "numa_nodes", json_array());
	}
	proc_field("/proc/cpuinfo", "flags", flags, sizeof(flags));
	json_object_set_new(cpu, "virtualization_flag",
	                    has_word(flags, "svm")   ? json_string("svm")
	                    : has_word(flags, "vmx") ? json_string("vmx")
	                                             : json_null());
	json_object_set_new(cpu, "hypervisor", json_boolean(has_word(flags, "hypervisor")));
	json_object_set_new(cpu, "frequency_governor", frequency_governor());
	return cpu;
}

static json_t *meminfo_bytes(const char *key)
{
	char value[64];
	unsigned long long kib;

	if (!proc_field("/proc/meminfo", key, value, sizeof(value)) ||
	    sscanf(value, "%llu", &kib) != 1)
		return json_null();
	return json_integer((json_int_t)(kib * 1024));
}

json_t *vl_host_memory_facts(void)
{
	return json_pack("{s:o, s:o}", "total_bytes", meminfo_bytes("MemTotal"), "available_bytes",
	                 meminfo_bytes("MemAvailable"));
}

static bool is_subsystem(const char *name)
{
	cleanup_file FILE *f = fopen("/proc/cgroups", "re");
	char line[256];
	size_t len = strlen(name);

	while (f && fgets(line, sizeof(line), f))
		if (line[0] != '#' && strncmp(line, name, len) == 0 &&
		    (line[len] == '\t' || line[len] == ' '))
			return true;
	return false;
}

static void add_v1_controllers(json_t *list, const char *options)
{
	char buf[1024];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", options);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool dup = false;
		size_t i;
		json_t *v;
		if (!is_subsystem(tok))
			continue;
		json_array_foreach(list, i, v) dup = dup || strcmp(json_string_value(v), tok) == 0;
		if (!dup)
			json_array_append_new(list, json_string(tok));
	}
}

static json_t *v2_controllers(const char *mount)
{
	char path[PATH_MAX], line[1024];
	json_t *list = json_array();
	char *save = NULL;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", mount);
	if (vl_read_line(path, line, sizeof(line), NULL) < 0)
		return list;
	for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		json_array_append_new(list, json_string(tok));
	return list;
}

json_t *vl_host_cgroup_facts(void)
{
	cleanup_file FILE *f = setmntent("/proc/self/mounts", "re");
	json_t *v1 = json_array();
	char v2_mount[PATH_MAX] = "";
	bool v1_seen = false, unified_root = false;
	const char *version;
	struct mntent *m;

	while (f && (m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup") == 0) {
			v1_seen = true;
			add_v1_controllers(v1, m->mnt_opts);
		} else if (strcmp(m->mnt_type, "cgroup2") == 0 && !v2_mount[0]) {
			snprintf(v2_mount, sizeof(v2_mount), "%s", m->mnt_dir);
			unified_root = strcmp(m->mnt_dir, "/sys/fs/cgroup") == 0;
		}
	}
	if (unified_root && !v1_seen)
		version = "v2";
	else if (v1_seen && v2_mount[0])
		version = "hybrid";
	else if (v1_seen)
		version = "v1";
	else if (v2_mount[0])
		version = "v2";
	else
		version = "none";
	return json_pack("{s:s, s:o, s:o, s:o}", "version", version, "v1_controllers", v1,
	                 "v2_controllers", v2_mount[0] ? v2_controllers(v2_mount) : json_array(),
	                 "v2_mount", string_or_null(v2_mount));
}

/* Runs one `hlt` in real mode: a CPU flag can be hidden by an outer
 * hypervisor that still offers nested virtualization, and KVM_CREATE_VM can
 * succeed where running a vCPU fails, so only this shows KVM works. */
static bool run_halt_guest(int kvm_fd, int vm_fd, char *reason, size_t size)
{
	const size_t page = 4096;
	struct kvm_userspace_memory_region region = {
	        .slot = 0, .guest_phys_addr = 0x1000, .memory_size = page};
	cleanup_close int vcpu_fd = -1;
	struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
	struct kvm_sregs sregs;
	struct kvm_run *run;
	uint8_t *mem;
	int run_size;
	bool ok = false;

	mem = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(reason, size, "mapping guest memory: %s", strerror(errno));
		return false;
	}
	mem[0] = 0xf4; /* hlt */
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
	    (vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0)) < 0 || run_size <= 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(reason, size, "setting up a vCPU: %s", strerror(errno));
		munmap(mem, page);
		return false;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED) {
		snprintf(reason, size, "mapping the vCPU state: %s", strerror(errno));
	} else if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ||
	           ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 || ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
		snprintf(reason, size, "running a vCPU: %s", strerror(errno));
	} else if (run->exit_reason != KVM_EXIT_HLT) {
		snprintf(reason, size, "a one-instruction guest exited with reason %u, not HLT",
		         run->exit_reason);
	} else {
		ok = true;
	}
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	munmap(mem, page);
	return ok;
}

json_t *vl_host_kvm_facts(void)
{
	json_t *kvm = json_object();
	cleanup_close int fd = -1;
	cleanup_close int vm = -1;
	char reason[256] = "";
	struct stat st;
	int api = -1;
	bool ran = false, pvm;

	json_object_set_new(kvm, "present",
	                    json_boolean(stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode)));
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		snprintf(reason, sizeof(reason), "opening /dev/kvm: %s", strerror(errno));
	else if ((api = ioctl(fd, KVM_GET_API_VERSION, 0)) != KVM_API_VERSION)
		snprintf(reason, sizeof(reason), "KVM API version %d, expected %d", api,
		         KVM_API_VERSION);
	else if ((vm = ioctl(fd, KVM_CREATE_VM, 0)) < 0)
		snprintf(reason, sizeof(reason), "KVM_CREATE_VM: %s", strerror(errno));
	else
		ran = run_halt_guest(fd, vm, reason, sizeof(reason));
	json_object_set_new(kvm, "api_version", api >= 0 ? json_integer(api) : json_null());
	json_object_set_new(kvm, "vm_created", json_boolean(vm >= 0));
	json_object_set_new(kvm, "guest_ran", json_boolean(ran));
	/* kvm-pvm passes the one-instruction test but boots only PVM-enabled
	 * guest kernels; QEMU with Debian's kernel fails on it. */
	pvm = stat("/sys/module/kvm_pvm", &st) == 0;
	if (ran && pvm)
		snprintf(reason, sizeof(reason),
		         "/dev/kvm is kvm-pvm, which runs only PVM-enabled guest kernels, "
		         "not Debian's");
	json_object_set_new(kvm, "module", json_string(pvm ? "kvm_pvm" : "kvm"));
	json_object_set_new(kvm, "usable", json_boolean(ran && !pvm));
	json_object_set_new(kvm, "reason", string_or_null(reason));
	return kvm;
}

json_t *vl_host_load_average(void)
{
	double load[3];
	if (getloadavg(load, 3) != 3)
		return json_null();
	return json_pack("[f, f, f]", load[0], load[1], load[2]);
}

int vl_host_version_from_text(const char *text, char *out, size_t size)
{
	size_t line_len = text ? strcspn(text, "\n") : 0;

	for (size_t i = 0; i < line_len; i++) {
		size_t len;
		bool dotted = false;
		if (!isdigit((unsigned char)text[i]) || (i > 0 && !strchr(" \tv(", text[i - 1])))
			continue;
		for (len = 0; i + len < line_len && (isalnum((unsigned char)text[i + len]) ||
		                                     strchr(".-+~:", text[i + len]));
		     len++)
			dotted = dotted || text[i + len] == '.';
		if (dotted) {
			snprintf(out, size, "%.*s", (int)len, text + i);
			return 0;
		}
	}
	return -1;
}

static json_t *tool_version(const char *path, const char *arg, const char *package)
{
	const char *argv[] = {path, arg, NULL};
	const char *dpkg[] = {"dpkg-query", "-W", "-f=${Version}", package, NULL};
	struct vl_command_result res;
	char version[64] = "";

	if (vl_command_run(arg ? argv : dpkg, NULL, 10, NULL, &res, NULL) < 0)
		return json_null();
	if (!arg) {
		if (res.exit_code == 0)
			snprintf(version, sizeof(version), "%.*s", (int)strcspn(res.out, "\n"),
			         res.out);
	} else if (vl_host_version_from_text(res.out, version, sizeof(version)) < 0 &&
	           vl_host_version_from_text(res.err, version, sizeof(version)) < 0) {
		version[0] = '\0';
	}
	vl_command_result_release(&res);
	return string_or_null(version);
}

json_t *vl_host_tool_facts(const char *name)
{
	char path[PATH_MAX];

	if (!vl_find_program(name, path, sizeof(path)))
		return json_pack("{s:b, s:n, s:n}", "installed", 0, "path", "version");
	for (size_t i = 0; i < N_TOOLS; i++)
		if (strcmp(tools[i].name, name) == 0)
			return json_pack(
			        "{s:b, s:s, s:o}", "installed", 1, "path", path, "version",
			        tool_version(path, tools[i].version_arg, tools[i].package));
	return json_pack("{s:b, s:s, s:n}", "installed", 1, "path", path, "version");
}

int vl_host_facts(json_t **out, vl_error *err)
{
	struct utsname uts;
	json_t *facts, *tool_facts;

	if (uname(&uts) < 0)
		return vl_error_errno(err, errno, "reading the kernel release");
	tool_facts = json_object();
	for (size_t i = 0; i < N_TOOLS; i++)
		json_object_set_new(tool_facts, tools[i].name, vl_host_tool_facts(tools[i].name));
	facts = json_pack("{s:s, s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:o}", "hostname",
	                  uts.nodename, "kernel", "release", uts.release, "version", uts.version,
	                  "cpu", vl_host_cpu_facts(), "memory", vl_host_memory_facts(), "cgroup",
	                  vl_host_cgroup_facts(), "kvm", vl_host_kvm_facts(), "load_average",
	                  vl_host_load_average(), "tools", tool_facts);
	if (!facts)
		return vl_error_set(err, "assembling the host facts");
	*out = facts;
	return 0;
}
