/* The LXC platform's configuration as text: cgroup item names and scales for
 * both cgroup versions, virtlab's defaults, the seccomp profile. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platforms/lxc_config.h"

/* The value of the n-th item named key (0 = first), or NULL. */
static const char *value(const struct vl_lxc_items *items, const char *key, unsigned n)
{
	for (size_t i = 0; i < items->n; i++)
		if (strcmp(items->v[i].key, key) == 0 && n-- == 0)
			return items->v[i].value;
	return NULL;
}

static bool has(const struct vl_lxc_items *items, const char *key, const char *val)
{
	for (size_t i = 0; i < items->n; i++)
		if (strcmp(items->v[i].key, key) == 0 && strcmp(items->v[i].value, val) == 0)
			return true;
	return false;
}

static const struct vl_entitlement policy = {.cpu_weight = 100,
                                             .cpu_max_pct = 20,
                                             .cpuset = "0",
                                             .memory_bytes = 64 << 20,
                                             .io_device = "8:0",
                                             .io_read_bps = 1000,
                                             .io_write_bps = 2000,
                                             .pids_max = 50};

static void test_entitlement_v1(void **state)
{
	struct vl_lxc_items items = {0};
	struct vl_entitlement e = policy;
	vl_error err = {0};

	(void)state;
	e.net_classid = 0x10001;
	assert_int_equal(vl_lxc_entitlement_items(VL_CGROUP_V1, &e, &items, &err), 0);
	assert_string_equal(value(&items, "cpu.shares", 0), "2597");
	assert_string_equal(value(&items, "cpu.cfs_period_us", 0), "100000");
	assert_string_equal(value(&items, "cpu.cfs_quota_us", 0), "20000");
	assert_string_equal(value(&items, "cpuset.cpus", 0), "0");
	assert_string_equal(value(&items, "memory.limit_in_bytes", 0), "67108864");
	assert_string_equal(value(&items, "blkio.throttle.read_bps_device", 0), "8:0 1000");
	assert_string_equal(value(&items, "blkio.throttle.write_bps_device", 0), "8:0 2000");
	assert_string_equal(value(&items, "pids.max", 0), "50");
	assert_string_equal(value(&items, "net_cls.classid", 0), "65537");
	/* The period goes first: the kernel checks the quota against it. */
	assert_string_equal(items.v[1].key, "cpu.cfs_period_us");
	vl_lxc_items_free(&items);
}

static void test_entitlement_v2(void **state)
{
	struct vl_lxc_items items = {0};
	struct vl_entitlement e = policy;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_lxc_entitlement_items(VL_CGROUP_V2, &e, &items, &err), 0);
	assert_string_equal(value(&items, "cpu.weight", 0), "100");
	assert_string_equal(value(&items, "cpu.max", 0), "20000 100000");
	assert_string_equal(value(&items, "memory.max", 0), "67108864");
	assert_string_equal(value(&items, "io.max", 0), "8:0 rbps=1000 wbps=2000");
	assert_string_equal(value(&items, "pids.max", 0), "50");
	assert_null(value(&items, "cpu.shares", 0));
	vl_lxc_items_free(&items);

	/* Only what is set: a write throttle alone. */
	e = (struct vl_entitlement){.io_device = "8:0", .io_write_bps = 5};
	assert_int_equal(vl_lxc_entitlement_items(VL_CGROUP_V2, &e, &items, &err), 0);
	assert_int_equal(items.n, 1);
	assert_string_equal(value(&items, "io.max", 0), "8:0 wbps=5");
	vl_lxc_items_free(&items);
}

static void test_entitlement_errors(void **state)
{
	struct vl_lxc_items items = {0};
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_lxc_entitlement_items(VL_CGROUP_V2,
	                                          &(struct vl_entitlement){.net_classid = 1},
	                                          &items, &err),
	                 -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "net_cls"));
	vl_lxc_items_free(&items);
	vl_error_clear(&err);
	assert_int_equal(vl_lxc_entitlement_items(VL_CGROUP_V1,
	                                          &(struct vl_entitlement){.cpu_max_pct = 0.5},
	                                          &items, &err),
	                 -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	vl_lxc_items_free(&items);
	vl_error_clear(&err);
	assert_int_equal(vl_lxc_entitlement_items(VL_CGROUP_V1,
	                                          &(struct vl_entitlement){.io_read_bps = 1},
	                                          &items, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "MAJ:MIN"));
	vl_lxc_items_free(&items);
}

static void test_guest_defaults(void **state)
{
	struct vl_guest_spec spec = {.name = "web1", .pids_max = 0, .memory_bytes = 1 << 20};
	struct vl_lxc_guest g = {.spec = &spec,
	                         .rootfs = "overlay:/img:/d/web1/delta0",
	                         .dir = "/d/web1",
	                         .seccomp = "/d/web1/seccomp",
	                         .cgroup_version = VL_CGROUP_V1};
	struct vl_lxc_items items = {0};
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_lxc_guest_items(&g, &items, &err), 0);
	assert_string_equal(value(&items, "lxc.net.0.type", 0), "empty");
	assert_string_equal(value(&items, "lxc.rootfs.path", 0), "overlay:/img:/d/web1/delta0");
	assert_string_equal(value(&items, "lxc.init.cmd", 0),
	                    "/virtlab-agent --socket /run/virtlab/agent.sock --workdir /tmp");
	assert_string_equal(value(&items, "lxc.mount.entry", 0),
	                    "/d/web1/channel run/virtlab none bind,create=dir 0 0");
	assert_string_equal(value(&items, "lxc.cgroup.dir.container", 0), "virtlab/web1");
	assert_string_equal(value(&items, "lxc.cgroup.dir.monitor", 0), "virtlab/web1.lxc-monitor");
	assert_string_equal(value(&items, "lxc.cgroup.dir.monitor.pivot", 0), "virtlab");
	assert_string_equal(value(&items, "lxc.no_new_privs", 0), "1");
	assert_string_equal(value(&items, "lxc.signal.halt", 0), "SIGTERM");
	assert_true(has(&items, "lxc.cap.keep", "chown"));
	assert_false(has(&items, "lxc.cap.keep", "sys_admin"));
	assert_false(has(&items, "lxc.cap.keep", "mknod"));
	assert_true(has(&items, "lxc.cgroup.devices.deny", "a"));
	assert_true(has(&items, "lxc.cgroup.devices.allow", "c 1:3 rwm"));
	assert_string_equal(value(&items, "lxc.cgroup.pids.max", 0), "1024");
	assert_string_equal(value(&items, "lxc.cgroup.memory.limit_in_bytes", 0), "1048576");
	assert_null(value(&items, "lxc.apparmor.profile", 0));
	vl_lxc_items_free(&items);

	g.cgroup_version = VL_CGROUP_V2;
	g.apparmor_unconfined = true;
	snprintf(spec.workdir, sizeof(spec.workdir), "/data");
	spec.pids_max = 64;
	assert_int_equal(vl_lxc_guest_items(&g, &items, &err), 0);
	assert_string_equal(value(&items, "lxc.cgroup2.pids.max", 0), "64");
	assert_string_equal(value(&items, "lxc.cgroup2.memory.max", 0), "1048576");
	assert_true(has(&items, "lxc.cgroup2.devices.deny", "a"));
	assert_string_equal(value(&items, "lxc.apparmor.profile", 0), "unconfined");
	assert_non_null(strstr(value(&items, "lxc.init.cmd", 0), "--workdir /data"));
	vl_lxc_items_free(&items);

	/* lxc.init.cmd is split at blanks. */
	snprintf(spec.workdir, sizeof(spec.workdir), "/my data");
	assert_int_equal(vl_lxc_guest_items(&g, &items, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	vl_lxc_items_free(&items);
}

static void test_names(void **state)
{
	struct vl_lxc_cgroups cg;
	vl_error err = {0};

	(void)state;
	vl_lxc_cgroup_names("a", &cg);
	assert_string_equal(cg.container, "virtlab/a");
	assert_string_equal(cg.monitor, "virtlab/a.lxc-monitor");
	assert_int_equal(vl_lxc_check_name("web.1", &err), 0);
	assert_int_equal(vl_lxc_check_name("web.lxc-pivot", &err), 0);
	assert_int_equal(vl_lxc_check_name("web.lxc-monitor", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_int_equal(vl_lxc_check_name("lxc.pivot", &err), -1);
}

static void test_seccomp_profile(void **state)
{
	char *text = NULL;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_lxc_seccomp_profile(&text, &err), 0);
	assert_memory_equal(text, "2\ndenylist\n[all]\n", 17);
	assert_non_null(strstr(text, "\nkeyctl errno 1\n"));
	assert_non_null(strstr(text, "\nclone3 errno 38\n"));
	/* CLONE_NEWUSER only. */
	assert_non_null(
	        strstr(text, "\nunshare errno 1 [0,268435456,SCMP_CMP_MASKED_EQ,268435456]\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_entitlement_v1),
	        cmocka_unit_test(test_entitlement_v2),
	        cmocka_unit_test(test_entitlement_errors),
	        cmocka_unit_test(test_guest_defaults),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_seccomp_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
