/* The cgroup layer against fake cgroup trees in a temp dir: detection from
 * mountinfo samples of v1, v2 and hybrid hosts, which file gets which value
 * for each knob on each backend, and the v2 device program run through a
 * small BPF interpreter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/file.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_backend.h"

#define MiB (1024 * 1024)

static const char v1_sample[] =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset,clone_children\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "36 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n"
        "37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"
        "38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
        "42 31 0:39 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "43 31 0:40 / /sys/fs/cgroup/perf_event rw - cgroup cgroup rw,perf_event\n"
        "44 31 0:32 / /mnt/memory-again rw - cgroup cgroup rw,memory\n";

/* This host's (Debian 12, hybrid): v1 controllers, an empty cgroup2, no net_cls. */
static const char hybrid_sample[] =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
        "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
        "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char v2_sample[] =
        "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
        "rw,nsdelegate,memory_recursiveprot\n"
        "26 22 0:23 / /sys/fs/cgroup/my\\040dir rw - tmpfs tmpfs rw\n";

struct fixture {
	char root[64];
	char mountinfo[PATH_MAX];
	struct vl_cgroup_host host;
	struct vl_cgroup *cg;
};

static void put(const char *dir, const char *file, const char *content)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* The file's content without its trailing newline. */
static const char *get(const char *dir, const char *file)
{
	static char buf[4096];
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* Empties knob files so that the next write shows alone (fake files are not
 * truncated by a write as cgroup files effectively are). */
static void clear(const char *dir, const char *file)
{
	put(dir, file, "");
}

static void make_dir(const char *path)
{
	vl_error err = {0};
	assert_int_equal(vl_mkdir_p(path, 0755, &err), 0);
}

static void make_fixture(struct fixture *f, const char *mountinfo)
{
	snprintf(f->root, sizeof(f->root), "/tmp/vl-test-cgroup-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->mountinfo, sizeof(f->mountinfo), "%s/mountinfo", f->root);
	put(f->root, "mountinfo", mountinfo);
	f->cg = NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	vl_cgroup_free(f->cg);
	nftw(f->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const char *const knob_files[] = {
        "cgroup.procs",
        "cpu.shares",
        "cpu.cfs_period_us",
        "cpu.cfs_quota_us",
        "cpuset.cpus",
        "cpuset.mems",
        "memory.limit_in_bytes",
        "memory.soft_limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
        "blkio.weight",
        "pids.max",
        "net_cls.classid",
        "devices.deny",
        "devices.allow",
        "freezer.state",
        "cpu.weight",
        "cpu.max",
        "memory.max",
        "memory.high",
        "memory.swap.max",
        "io.max",
        "io.weight",
};

/* The group's directory (and its parents) in every hierarchy, with every
 * knob file present and empty, as the kernel would show them. */
static void make_group_dirs(const struct vl_cgroup_host *host, const char *name)
{
	for (size_t i = 0; i < host->n_hierarchies; i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", host->hierarchies[i].path, name);
		make_dir(dir);
		for (size_t k = 0; k < sizeof(knob_files) / sizeof(knob_files[0]); k++)
			put(dir, knob_files[k], "");
	}
}

static const char *group_dir(struct fixture *f, enum vl_cgroup_controller c)
{
	static char dir[PATH_MAX];
	assert_non_null(vl_cgroup_path(f->cg, c, dir, sizeof(dir)));
	return dir;
}

/* ---- detection ---- */

static void assert_controller_at(const struct vl_cgroup_host *host, enum vl_cgroup_controller c,
                                 const char *suffix)
{
	int i = host->controller_hierarchy[c];
	const char *path;
	assert_true(i >= 0);
	path = host->hierarchies[i].path;
	assert_string_equal(path + strlen(path) - strlen(suffix), suffix);
}

static void test_detect_v1(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vl_error err = {0};

	*state = f;
	make_fixture(f, v1_sample);
	assert_int_equal(vl_cgroup_detect_at(f->mountinfo, f->root, &f->host, &err), 0);
	assert_int_equal(f->host.version, VL_CGROUP_V1);
	/* 9 hierarchies: perf_event is not used and memory's second mount is the same one. */
	assert_int_equal(f->host.n_hierarchies, 9);
	assert_int_equal(f->host.controller_hierarchy[VL_CGROUP_CPU],
	                 f->host.controller_hierarchy[VL_CGROUP_CPUACCT]);
	assert_controller_at(&f->host, VL_CGROUP_CPU, "/sys/fs/cgroup/cpu,cpuacct");
	assert_controller_at(&f->host, VL_CGROUP_IO, "/sys/fs/cgroup/blkio");
	assert_controller_at(&f->host, VL_CGROUP_MEMORY, "/sys/fs/cgroup/memory");
	assert_controller_at(&f->host, VL_CGROUP_NET_PRIO, "/sys/fs/cgroup/net_cls,net_prio");
	assert_string_equal(f->host.hierarchies[8].path + strlen(f->root),
	                    "/sys/fs/cgroup/systemd");
	assert_int_equal(f->host.hierarchies[8].controllers, 0);
	assert_string_equal(vl_cgroup_controller_name(VL_CGROUP_V1, VL_CGROUP_IO), "blkio");
}

static void test_detect_hybrid(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vl_error err = {0};
	const struct vl_cgroup_hierarchy *last;

	*state = f;
	make_fixture(f, hybrid_sample);
	assert_int_equal(vl_cgroup_detect_at(f->mountinfo, f->root, &f->host, &err), 0);
	assert_int_equal(f->host.version, VL_CGROUP_V1);
	assert_int_equal(f->host.n_hierarchies, 10);
	last = &f->host.hierarchies[9];
	assert_true(last->unified);
	assert_int_equal(last->controllers, 0);
	assert_string_equal(last->path + strlen(f->root), "/sys/fs/cgroup/unified");
	assert_int_equal(f->host.controller_hierarchy[VL_CGROUP_NET_CLS], -1);
	assert_controller_at(&f->host, VL_CGROUP_CPUACCT, "/sys/fs/cgroup/cpuacct");
}

static void test_detect_v2(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char dir[PATH_MAX];
	vl_error err = {0};

	*state = f;
	make_fixture(f, v2_sample);
	snprintf(dir, sizeof(dir), "%s/sys/fs/cgroup", f->root);
	make_dir(dir);
	put(dir, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	assert_int_equal(vl_cgroup_detect_at(f->mountinfo, f->root, &f->host, &err), 0);
	assert_int_equal(f->host.version, VL_CGROUP_V2);
	assert_int_equal(f->host.n_hierarchies, 1);
	assert_true(f->host.hierarchies[0].unified);
	for (int c = VL_CGROUP_CPU; c <= VL_CGROUP_FREEZER; c++)
		assert_int_equal(f->host.controller_hierarchy[c], c == VL_CGROUP_CPUACCT ? -1 : 0);
	assert_int_equal(f->host.controller_hierarchy[VL_CGROUP_NET_CLS], -1);
	assert_string_equal(vl_cgroup_controller_name(VL_CGROUP_V2, VL_CGROUP_IO), "io");
}

static void test_detect_nothing(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vl_error err = {0};

	*state = f;
	make_fixture(f, "22 1 0:21 / /proc rw - proc proc rw\n");
	assert_int_equal(vl_cgroup_detect_at(f->mountinfo, f->root, &f->host, &err), -1);
	assert_non_null(strstr(err.msg, "no cgroup controllers"));
}

/* ---- the v1 backend ---- */

static struct fixture *v1_group(void **state, const char *sample)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vl_error err = {0};

	*state = f;
	make_fixture(f, sample);
	assert_int_equal(vl_cgroup_detect_at(f->mountinfo, f->root, &f->host, &err), 0);
	make_group_dirs(&f->host, "virtlab/g1");
	{
		/* A real v1 root cpuset holds every CPU; new ones start empty. */
		char root_cpuset[PATH_MAX];
		int i = f->host.controller_hierarchy[VL_CGROUP_CPUSET];
		snprintf(root_cpuset, sizeof(root_cpuset), "%s", f->host.hierarchies[i].path);
		put(root_cpuset, "cpuset.cpus", "0-3\n");
		put(root_cpuset, "cpuset.mems", "0\n");
		strcat(root_cpuset, "/virtlab");
		put(root_cpuset, "cpuset.cpus", "");
		put(root_cpuset, "cpuset.mems", "");
	}
	assert_int_equal(vl_cgroup_create(&f->host, "virtlab/g1", &f->cg, &err), 0);
	assert_int_equal(vl_cgroup_version(f->cg), VL_CGROUP_V1);
	return f;
}

static void test_v1_create_copies_cpuset_and_attaches(void **state)
{
	struct fixture *f = v1_group(state, v1_sample);
	const char *dir = group_dir(f, VL_CGROUP_CPUSET);
	char parent[PATH_MAX];
	vl_error err = {0};

	snprintf(parent, sizeof(parent), "%s/..", dir);
	assert_string_equal(get(parent, "cpuset.cpus"), "0-3");
	assert_string_equal(get(parent, "cpuset.mems"), "0");
	assert_string_equal(get(dir, "cpuset.cpus"), "0-3");
	assert_string_equal(get(dir, "cpuset.mems"), "0");

	assert_int_equal(vl_cgroup_attach_pid(f->cg, 4242, &err), 0);
	for (size_t i = 0; i < f->host.n_hierarchies; i++) {
		char g[PATH_MAX];
		vl_cgroup_dir(f->cg, i, g, sizeof(g));
		assert_string_equal(get(g, "cgroup.procs"), "4242");
	}

	clear(dir, "cpuset.cpus");
	put(dir, "cpuset.mems", "0");
	assert_int_equal(vl_cgroup_set_cpuset(f->cg, "1", "", &err), 0);
	assert_string_equal(get(dir, "cpuset.cpus"), "1");
	assert_string_equal(get(dir, "cpuset.mems"), "0");
	assert_int_equal(vl_cgroup_set_cpuset(f->cg, "1;2", NULL, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static void test_v1_cpu(void **state)
{
	struct fixture *f = v1_group(state, v1_sample);
	const char *dir = group_dir(f, VL_CGROUP_CPU);
	const struct {
		unsigned weight;
		const char *shares;
	} cases[] = {{1, "2"}, {100, "2597"}, {1000, "26192"}, {10000, "262144"}};
	vl_error err = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clear(dir, "cpu.shares");
		assert_int_equal(vl_cgroup_set_cpu_weight(f->cg, cases[i].weight, &err), 0);
		assert_string_equal(get(dir, "cpu.shares"), cases[i].shares);
	}
	assert_int_equal(vl_cgroup_set_cpu_weight(f->cg, 0, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_int_equal(vl_cgroup_set_cpu_weight(f->cg, 10001, &err), -1);

	assert_int_equal(vl_cgroup_set_cpu_max(f->cg, 20, &err), 0);
	assert_string_equal(get(dir, "cpu.cfs_period_us"), "100000");
	assert_string_equal(get(dir, "cpu.cfs_quota_us"), "20000");
	clear(dir, "cpu.cfs_quota_us");
	assert_int_equal(vl_cgroup_set_cpu_max(f->cg, 250, &err), 0);
	assert_string_equal(get(dir, "cpu.cfs_quota_us"), "250000");
	clear(dir, "cpu.cfs_quota_us");
	assert_int_equal(vl_cgroup_set_cpu_max(f->cg, 0, &err), 0);
	assert_string_equal(get(dir, "cpu.cfs_quota_us"), "-1");
	assert_int_equal(vl_cgroup_set_cpu_max(f->cg, 0.5, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static void test_v1_memory(void **state)
{
	struct fixture *f = v1_group(state, v1_sample);
	const char *dir = group_dir(f, VL_CGROUP_MEMORY);
	struct vl_cgroup_memory mem = {32 * MiB, 16 * MiB, 0};
	vl_error err = {0};

	put(dir, "memory.memsw.limit_in_bytes", "9\n");
	assert_int_equal(vl_cgroup_set_memory(f->cg, &mem, &err), 0);
	assert_string_equal(get(dir, "memory.limit_in_bytes"), "33554432");
	assert_string_equal(get(dir, "memory.soft_limit_in_bytes"), "16777216");
	/* memsw is memory plus swap. */
	assert_string_equal(get(dir, "memory.memsw.limit_in_bytes"), "33554432");

	mem = VL_CGROUP_MEMORY_UNCHANGED;
	mem.swap = 8 * MiB;
	put(dir, "memory.limit_in_bytes", "33554432\n");
	put(dir, "memory.memsw.limit_in_bytes", "33554432\n");
	assert_int_equal(vl_cgroup_set_memory(f->cg, &mem, &err), 0);
	assert_string_equal(get(dir, "memory.memsw.limit_in_bytes"), "41943040");

	mem = VL_CGROUP_MEMORY_UNCHANGED;
	mem.max = VL_CGROUP_NO_LIMIT;
	clear(dir, "memory.limit_in_bytes");
	assert_int_equal(vl_cgroup_set_memory(f->cg, &mem, &err), 0);
	assert_string_equal(get(dir, "memory.limit_in_bytes"), "-1");

	/* Without swap accounting the kernel has no memsw files. */
	unlink(strcat(strcpy((char[PATH_MAX]){0}, dir), "/memory.memsw.limit_in_bytes"));
	mem = VL_CGROUP_MEMORY_UNCHANGED;
	mem.swap = 0;
	assert_int_equal(vl_cgroup_set_memory(f->cg, &mem, &err), -1);
	assert_non_null(strstr(err.msg, "memory.memsw.limit_in_bytes"));
	mem.swap = -5;
	assert_int_equal(vl_cgroup_set_memory(f->cg, &mem, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static void test_v1_io_pids_net_devices(void **state)
{
	struct fixture *f = v1_group(state, v1_sample);
	const char *dir = group_dir(f, VL_CGROUP_IO);
	const struct vl_cgroup_device_rule null_dev = {'c', 1, 3, "rwm"};
	const struct vl_cgroup_device_rule ptys = {'c', 136, -1, "rw"};
	vl_error err = {0};

	assert_int_equal(vl_cgroup_set_io_bps(f->cg, "8:0", MiB, VL_CGROUP_NO_LIMIT, &err), 0);
	assert_string_equal(get(dir, "blkio.throttle.read_bps_device"), "8:0 1048576");
	assert_string_equal(get(dir, "blkio.throttle.write_bps_device"), "8:0 0");
	assert_int_equal(vl_cgroup_set_io_bps(f->cg, "sda", MiB, MiB, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);

	assert_int_equal(vl_cgroup_set_io_weight(f->cg, 100, &err), 0);
	assert_string_equal(get(dir, "blkio.weight"), "19");
	clear(dir, "blkio.weight");
	assert_int_equal(vl_cgroup_set_io_weight(f->cg, 10000, &err), 0);
	assert_string_equal(get(dir, "blkio.weight"), "1000");

	dir = group_dir(f, VL_CGROUP_PIDS);
	assert_int_equal(vl_cgroup_set_pids_max(f->cg, 16, &err), 0);
	assert_string_equal(get(dir, "pids.max"), "16");
	clear(dir, "pids.max");
	assert_int_equal(vl_cgroup_set_pids_max(f->cg, VL_CGROUP_NO_LIMIT, &err), 0);
	assert_string_equal(get(dir, "pids.max"), "max");

	assert_int_equal(vl_cgroup_set_net_classid(f->cg, 0x100001, &err), 0);
	assert_string_equal(get(group_dir(f, VL_CGROUP_NET_CLS), "net_cls.classid"), "1048577");

	dir = group_dir(f, VL_CGROUP_DEVICES);
	assert_int_equal(vl_cgroup_set_device_allowlist(f->cg, &null_dev, 1, &err), 0);
	assert_string_equal(get(dir, "devices.deny"), "a");
	assert_string_equal(get(dir, "devices.allow"), "c 1:3 rwm");
	assert_int_equal(vl_cgroup_set_device_allowlist(f->cg, &ptys, 1, &err), 0);
	assert_string_equal(get(dir, "devices.allow"), "c 136:* rw");
	{
		const struct vl_cgroup_device_rule bad = {'a', 1, -1, "r"};
		assert_int_equal(vl_cgroup_set_device_allowlist(f->cg, &bad, 1, &err), -1);
		assert_int_equal(err.kind, VL_ERR_INPUT);
	}
}

static void test_v1_stats(void **state)
{
	struct fixture *f = v1_group(state, v1_sample);
	struct vl_cgroup_stats st;
	vl_error err = {0};

	put(group_dir(f, VL_CGROUP_CPUACCT), "cpuacct.usage", "123456789\n");
	put(group_dir(f, VL_CGROUP_MEMORY), "memory.usage_in_bytes", "1000\n");
	put(group_dir(f, VL_CGROUP_MEMORY), "memory.max_usage_in_bytes", "2000\n");
	put(group_dir(f, VL_CGROUP_IO), "blkio.throttle.io_service_bytes",
	    "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Total 12288\n8:16 Read 1\n"
	    "Total 12289\n");
	put(group_dir(f, VL_CGROUP_PIDS), "pids.current", "3\n");
	assert_int_equal(vl_cgroup_read_stats(f->cg, &st, &err), 0);
	assert_int_equal(st.have, VL_CGROUP_STAT_CPU | VL_CGROUP_STAT_MEMORY |
	                                  VL_CGROUP_STAT_MEMORY_PEAK | VL_CGROUP_STAT_IO |
	                                  VL_CGROUP_STAT_PIDS);
	assert_int_equal(st.cpu_usec, 123456);
	assert_int_equal(st.memory_current, 1000);
	assert_int_equal(st.memory_peak, 2000);
	assert_int_equal(st.io_read_bytes, 4097);
	assert_int_equal(st.io_write_bytes, 8192);
	assert_int_equal(st.pids_current, 3);
}

static void test_v1_missing_controller(void **state)
{
	struct fixture *f = v1_group(state, hybrid_sample);
	vl_error err = {0};

	assert_int_equal(vl_cgroup_set_net_classid(f->cg, 1, &err), -1);
	assert_non_null(strstr(err.msg, "'net_cls'"));
}

static void test_names(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *bad[] = {"", "/virtlab", "virtlab/", "../x", "virtlab/../x", "a//b", "a b"};
	vl_error err = {0};

	*state = f;
	make_fixture(f, hybrid_sample);
	assert_int_equal(vl_cgroup_detect_at(f->mountinfo, f->root, &f->host, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vl_cgroup_create(&f->host, bad[i], &f->cg, &err), -1);
		assert_int_equal(err.kind, VL_ERR_INPUT);
	}
	/* Opening a group nobody made fails. */
	assert_int_equal(vl_cgroup_open(&f->host, "virtlab/none", &f->cg, &err), -1);
}

/* ---- the v2 backend ---- */

static struct fixture *v2_group(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *all = "cpuset cpu io memory hugetlb pids\n";
	char root[PATH_MAX], dir[PATH_MAX];
	vl_error err = {0};

	*state = f;
	make_fixture(f, v2_sample);
	snprintf(root, sizeof(root), "%s/sys/fs/cgroup", f->root);
	make_dir(root);
	put(root, "cgroup.controllers", all);
	put(root, "cgroup.subtree_control", "memory\n");
	assert_int_equal(vl_cgroup_detect_at(f->mountinfo, f->root, &f->host, &err), 0);
	make_group_dirs(&f->host, "virtlab/g1");
	snprintf(dir, sizeof(dir), "%s/virtlab", root);
	put(dir, "cgroup.controllers", "cpuset cpu io memory pids\n");
	put(dir, "cgroup.subtree_control", "");
	snprintf(dir, sizeof(dir), "%s/virtlab/g1", root);
	put(dir, "cgroup.controllers", "cpuset cpu io memory pids\n");
	assert_int_equal(vl_cgroup_create(&f->host, "virtlab/g1", &f->cg, &err), 0);
	assert_int_equal(vl_cgroup_version(f->cg), VL_CGROUP_V2);
	return f;
}

static void test_v2_create_delegates_controllers(void **state)
{
	struct fixture *f = v2_group(state);
	char root[PATH_MAX], parent[PATH_MAX];

	snprintf(root, sizeof(root), "%s/sys/fs/cgroup", f->root);
	snprintf(parent, sizeof(parent), "%s/virtlab", root);
	/* memory was delegated already; hugetlb is not one virtlab uses. */
	assert_string_equal(get(root, "cgroup.subtree_control"), "+cpu +cpuset +io +pids");
	assert_string_equal(get(parent, "cgroup.subtree_control"),
	                    "+cpu +cpuset +io +memory +pids");
}

static void test_v2_knobs(void **state)
{
	struct fixture *f = v2_group(state);
	const char *dir = group_dir(f, VL_CGROUP_CPU);
	struct vl_cgroup_memory mem = {32 * MiB, VL_CGROUP_NO_LIMIT, 0};
	vl_error err = {0};

	assert_int_equal(vl_cgroup_set_cpu_weight(f->cg, 100, &err), 0);
	assert_string_equal(get(dir, "cpu.weight"), "100");
	assert_int_equal(vl_cgroup_set_cpu_max(f->cg, 20, &err), 0);
	assert_string_equal(get(dir, "cpu.max"), "20000 100000");
	clear(dir, "cpu.max");
	assert_int_equal(vl_cgroup_set_cpu_max(f->cg, 0, &err), 0);
	assert_string_equal(get(dir, "cpu.max"), "max 100000");

	assert_int_equal(vl_cgroup_set_cpuset(f->cg, "0-1", "0", &err), 0);
	assert_string_equal(get(dir, "cpuset.cpus"), "0-1");
	assert_string_equal(get(dir, "cpuset.mems"), "0");

	assert_int_equal(vl_cgroup_set_memory(f->cg, &mem, &err), 0);
	assert_string_equal(get(dir, "memory.max"), "33554432");
	assert_string_equal(get(dir, "memory.high"), "max");
	assert_string_equal(get(dir, "memory.swap.max"), "0");

	assert_int_equal(vl_cgroup_set_io_bps(f->cg, "8:0", MiB, VL_CGROUP_NO_LIMIT, &err), 0);
	assert_string_equal(get(dir, "io.max"), "8:0 rbps=1048576 wbps=max");
	clear(dir, "io.max");
	assert_int_equal(vl_cgroup_set_io_bps(f->cg, "259:1", VL_CGROUP_UNCHANGED, 2 * MiB, &err),
	                 0);
	assert_string_equal(get(dir, "io.max"), "259:1 wbps=2097152");
	assert_int_equal(vl_cgroup_set_io_weight(f->cg, 100, &err), 0);
	assert_string_equal(get(dir, "io.weight"), "default 100");

	assert_int_equal(vl_cgroup_set_pids_max(f->cg, 16, &err), 0);
	assert_string_equal(get(dir, "pids.max"), "16");

	assert_int_equal(vl_cgroup_set_net_classid(f->cg, 1, &err), -1);
	assert_non_null(strstr(err.msg, "net_cls"));
}

static void test_v2_missing_controller(void **state)
{
	struct fixture *f = v2_group(state);
	const char *dir = group_dir(f, VL_CGROUP_IO);
	vl_error err = {0};

	put(dir, "cgroup.controllers", "cpu memory pids\n");
	assert_int_equal(vl_cgroup_set_io_bps(f->cg, "8:0", MiB, MiB, &err), -1);
	assert_non_null(strstr(err.msg, "'io'"));
	assert_int_equal(vl_cgroup_set_cpuset(f->cg, "0", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "'cpuset'"));
}

static void test_v2_stats(void **state)
{
	struct fixture *f = v2_group(state);
	const char *dir = group_dir(f, VL_CGROUP_CPU);
	struct vl_cgroup_stats st;
	vl_error err = {0};

	put(dir, "cpu.stat", "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\n");
	put(dir, "memory.current", "4096\n");
	put(dir, "memory.peak", "8192\n");
	put(dir, "io.stat",
	    "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
	    "8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n");
	put(dir, "pids.current", "2\n");
	assert_int_equal(vl_cgroup_read_stats(f->cg, &st, &err), 0);
	assert_int_equal(st.cpu_usec, 5000);
	assert_int_equal(st.memory_current, 4096);
	assert_int_equal(st.memory_peak, 8192);
	assert_int_equal(st.io_read_bytes, 101);
	assert_int_equal(st.io_write_bytes, 202);
	assert_int_equal(st.pids_current, 2);
	assert_true(st.have & VL_CGROUP_STAT_MEMORY_PEAK);

	/* Kernels before 5.19 have no memory.peak. */
	unlink(strcat(strcpy((char[PATH_MAX]){0}, dir), "/memory.peak"));
	assert_int_equal(vl_cgroup_read_stats(f->cg, &st, &err), 0);
	assert_false(st.have & VL_CGROUP_STAT_MEMORY_PEAK);
}

/* ---- the v2 device program ---- */

/* Runs the program as the kernel would for one request: the subset of eBPF
 * the builder emits, nothing more. */
static int run_device_program(const struct bpf_insn *prog, size_t n, int type, int access,
                              uint32_t major, uint32_t minor)
{
	const uint32_t ctx[3] = {(uint32_t)type | ((uint32_t)access << 16), major, minor};
	uint64_t r[11] = {0};
	size_t pc = 0;

	while (pc < n) {
		const struct bpf_insn *i = &prog[pc++];
		switch (i->code) {
		case BPF_LDX | BPF_W | BPF_MEM:
			assert_int_equal(i->src_reg, BPF_REG_1);
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			r[i->dst_reg] = (uint32_t)r[i->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (r[i->dst_reg] != (uint64_t)(int64_t)i->imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_JNE | BPF_X:
			if (r[i->dst_reg] != r[i->src_reg])
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			fail_msg("unexpected opcode 0x%x at %zu", i->code, pc - 1);
		}
	}
	fail_msg("the program ran past its end");
	return -1;
}

static void test_bpf_device_program(void **state)
{
	const struct vl_cgroup_device_rule rules[] = {
	        {'c', 1, 3, "rwm"},
	        {'c', 136, -1, "rw"},
	        {'b', -1, -1, "m"},
	};
	const int C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
	const int R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;
	struct bpf_insn *prog = NULL;
	size_t n = 0;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_cgroup_bpf_devices_build(rules, 3, &prog, &n, &err), 0);
	assert_int_equal(run_device_program(prog, n, C, R | W, 1, 3), 1);
	assert_int_equal(run_device_program(prog, n, C, M, 1, 3), 1);
	assert_int_equal(run_device_program(prog, n, C, R, 1, 5), 0);
	assert_int_equal(run_device_program(prog, n, B, R, 1, 3), 0);
	assert_int_equal(run_device_program(prog, n, C, W, 136, 7), 1);
	assert_int_equal(run_device_program(prog, n, C, R | W, 136, 0), 1);
	assert_int_equal(run_device_program(prog, n, C, M, 136, 7), 0);
	assert_int_equal(run_device_program(prog, n, C, R | M, 136, 7), 0);
	assert_int_equal(run_device_program(prog, n, B, M, 8, 0), 1);
	assert_int_equal(run_device_program(prog, n, B, R, 8, 0), 0);
	free(prog);

	/* No rule: nothing is allowed. */
	assert_int_equal(vl_cgroup_bpf_devices_build(NULL, 0, &prog, &n, &err), 0);
	assert_int_equal(run_device_program(prog, n, C, R, 1, 3), 0);
	free(prog);

	/* Allow-all ends the program: later rules would be unreachable code. */
	{
		const struct vl_cgroup_device_rule open_rules[] = {
		        {'c', 1, 3, "r"}, {'a', -1, -1, "rwm"}, {'c', 5, 1, "r"}};
		assert_int_equal(vl_cgroup_bpf_devices_build(open_rules, 3, &prog, &n, &err), 0);
		assert_int_equal(prog[n - 1].code, BPF_JMP | BPF_EXIT);
		assert_int_equal(prog[n - 2].imm, 1);
		assert_int_equal(run_device_program(prog, n, B, R | W | M, 8, 0), 1);
		free(prog);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_detect_v1, teardown),
	        cmocka_unit_test_teardown(test_detect_hybrid, teardown),
	        cmocka_unit_test_teardown(test_detect_v2, teardown),
	        cmocka_unit_test_teardown(test_detect_nothing, teardown),
	        cmocka_unit_test_teardown(test_v1_create_copies_cpuset_and_attaches, teardown),
	        cmocka_unit_test_teardown(test_v1_cpu, teardown),
	        cmocka_unit_test_teardown(test_v1_memory, teardown),
	        cmocka_unit_test_teardown(test_v1_io_pids_net_devices, teardown),
	        cmocka_unit_test_teardown(test_v1_stats, teardown),
	        cmocka_unit_test_teardown(test_v1_missing_controller, teardown),
	        cmocka_unit_test_teardown(test_names, teardown),
	        cmocka_unit_test_teardown(test_v2_create_delegates_controllers, teardown),
	        cmocka_unit_test_teardown(test_v2_knobs, teardown),
	        cmocka_unit_test_teardown(test_v2_missing_controller, teardown),
	        cmocka_unit_test_teardown(test_v2_stats, teardown),
	        cmocka_unit_test(test_bpf_device_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
