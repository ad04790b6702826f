#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/container_plan.h"

static char *const init_argv[] = {"/sbin/init", NULL};

static void default_spec(struct vl_container_spec *spec)
{
	vl_container_spec_init(spec);
	spec->rootfs = "/var/lib/virtlab-test/rootfs";
	spec->hostname = "guest1";
	spec->argv = init_argv;
	/* Rootless runs of the unit suite still build a valid plan. */
	if (geteuid() != 0)
		spec->namespaces |= VL_NS_USER;
}

static ssize_t step_index(const struct vl_container_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->n_steps; i++)
		if (strcmp(plan->steps[i].name, name) == 0)
			return i;
	return -1;
}

static void assert_in_order(const struct vl_container_plan *plan, const char *const *names)
{
	ssize_t prev = -1;

	for (; *names; names++) {
		ssize_t i = step_index(plan, *names);

		if (i < 0)
			fail_msg("step '%s' missing from the plan", *names);
		if (i <= prev)
			fail_msg("step '%s' at %zd, expected after %zd", *names, i, prev);
		prev = i;
	}
}

static void test_default_plan_order(void **state)
{
	const char *const order[] = {
	        "unshare-cgroup",    "make-private",     "bind-rootfs",
	        "mount /proc",       "mount /sys",       "mount /dev",
	        "mount /dev/pts",    "symlink dev/ptmx", "mount /dev/shm",
	        "mount /dev/mqueue", "pivot-root",       "readonly /proc/sys",
	        "mask /proc/kcore",  "set-hostname",     "loopback-up",
	        "reset-signals",     "setup-fds",        "drop-caps",
	        "no-new-privs",      "load-seccomp",     NULL,
	};
	struct vl_container_spec spec;
	struct vl_container_plan plan;
	vl_error err = {0};
	const struct vl_container_step *s;

	(void)state;
	default_spec(&spec);
	assert_int_equal(vl_container_plan_build(&spec, &plan, &err), 0);
	assert_in_order(&plan, order);
	assert_true(plan.clone_flags & CLONE_NEWPID);
	assert_true(plan.clone_flags & CLONE_NEWNET);
	/* The cgroup namespace comes from the child's own unshare. */
	assert_false(plan.clone_flags & CLONE_NEWCGROUP);
	assert_int_equal(step_index(&plan, "mount-overlay"), -1);
	s = &plan.steps[step_index(&plan, "mount /sys")];
	assert_true(s->flags & MS_RDONLY);
	assert_string_equal(s->fstype, "sysfs");
	assert_true(plan.seccomp.len > 0);
	for (const char *const *d = vl_container_default_devices; *d; d++) {
		char name[64];

		snprintf(name, sizeof(name), "%s /dev/%s", geteuid() == 0 ? "mknod" : "bind-dev",
		         *d);
		assert_true(step_index(&plan, name) > step_index(&plan, "mount /dev"));
		assert_true(step_index(&plan, name) < step_index(&plan, "pivot-root"));
	}
	vl_container_plan_free(&plan);
}

static void test_masked_and_readonly_paths(void **state)
{
	const char *const expected_masked[] = {
	        "/proc/kcore",   "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
	        "/sys/firmware", "/proc/scsi", "/proc/acpi",       NULL};
	const char *const expected_ro[] = {
	        "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", NULL};
	struct vl_container_spec spec;
	struct vl_container_plan plan;
	vl_error err = {0};
	size_t masks = 0;

	(void)state;
	default_spec(&spec);
	assert_int_equal(vl_container_plan_build(&spec, &plan, &err), 0);
	for (const char *const *p = expected_masked; *p; p++) {
		char name[96];

		snprintf(name, sizeof(name), "mask %s", *p);
		assert_true(step_index(&plan, name) > step_index(&plan, "pivot-root"));
	}
	for (const char *const *p = expected_ro; *p; p++) {
		char name[96];

		snprintf(name, sizeof(name), "readonly %s", *p);
		assert_true(step_index(&plan, name) > step_index(&plan, "pivot-root"));
	}
	for (size_t i = 0; i < plan.n_steps; i++)
		masks += plan.steps[i].kind == VL_STEP_MASK_PATH;
	for (const char *const *p = vl_container_default_masked_paths; *p; p++)
		masks--;
	assert_int_equal(masks, 0);
	vl_container_plan_free(&plan);
}

static void test_overlay_and_no_new_privs_off(void **state)
{
	struct vl_container_spec spec;
	struct vl_container_plan plan;
	vl_error err = {0};
	const struct vl_container_step *s;

	(void)state;
	default_spec(&spec);
	spec.overlay.lower = "/images/busybox";
	spec.overlay.upper = "/state/g/upper";
	spec.overlay.work = "/state/g/work";
	spec.no_new_privs = false;
	assert_int_equal(vl_container_plan_build(&spec, &plan, &err), 0);
	assert_in_order(
	        &plan, (const char *const[]){"make-private", "mount-overlay", "bind-rootfs", NULL});
	s = &plan.steps[step_index(&plan, "mount-overlay")];
	assert_string_equal(s->target, spec.rootfs);
	assert_string_equal(s->data, "lowerdir=/images/busybox,upperdir=/state/g/upper,"
	                             "workdir=/state/g/work");
	/* Without no_new_privs the filter needs CAP_SYS_ADMIN: before the drop. */
	assert_in_order(&plan, (const char *const[]){"load-seccomp", "drop-caps", NULL});
	assert_int_equal(step_index(&plan, "no-new-privs"), -1);
	vl_container_plan_free(&plan);
}

static void test_bad_specs_are_input_errors(void **state)
{
	struct vl_container_spec spec;
	struct vl_container_plan plan;
	vl_error err = {0};

	(void)state;
	default_spec(&spec);
	spec.rootfs = "relative/rootfs";
	assert_int_equal(vl_container_plan_build(&spec, &plan, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);

	default_spec(&spec);
	spec.devices = (const char *const[]){"null", "sda", NULL};
	vl_error_clear(&err);
	assert_int_equal(vl_container_plan_build(&spec, &plan, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "sda"));

	default_spec(&spec);
	spec.keep_fd = 1;
	vl_error_clear(&err);
	assert_int_equal(vl_container_plan_build(&spec, &plan, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static void test_default_caps_within_docker(void **state)
{
	const uint64_t docker =
	        (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_FSETID) |
	        (1ull << CAP_FOWNER) | (1ull << CAP_MKNOD) | (1ull << CAP_NET_RAW) |
	        (1ull << CAP_SETGID) | (1ull << CAP_SETUID) | (1ull << CAP_SETFCAP) |
	        (1ull << CAP_SETPCAP) | (1ull << CAP_NET_BIND_SERVICE) | (1ull << CAP_SYS_CHROOT) |
	        (1ull << CAP_KILL) | (1ull << CAP_AUDIT_WRITE);
	uint64_t caps = vl_caps_default();

	(void)state;
	assert_int_equal(caps & ~docker, 0);
	assert_false(caps & (1ull << CAP_SYS_ADMIN));
	assert_false(caps & (1ull << CAP_MKNOD));
	assert_true(caps & (1ull << CAP_NET_BIND_SERVICE));
}

enum probe {
	PROBE_KEYCTL,
	PROBE_PTRACE,
	PROBE_INIT_MODULE,
	PROBE_BPF,
	PROBE_MOUNT,
	PROBE_UNSHARE_USER,
	PROBE_CLONE3,
	PROBE_PERSONALITY_ASLR,
	PROBE_PERSONALITY_QUERY,
	PROBE_GETPID,
	PROBE_COUNT,
};

/* Each call is made with arguments that the kernel itself would refuse with
 * some other errno, so EPERM can only come from the filter. */
static int probe_errno(enum probe p)
{
	long rc = 0;

	errno = 0;
	switch (p) {
	case PROBE_KEYCTL:
		rc = syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0);
		break;
	case PROBE_PTRACE:
		rc = ptrace(PTRACE_PEEKDATA, 0, NULL, NULL);
		break;
	case PROBE_INIT_MODULE:
		rc = syscall(SYS_init_module, NULL, 0, "");
		break;
	case PROBE_BPF:
		rc = syscall(SYS_bpf, 0x7fff, NULL, 0);
		break;
	case PROBE_MOUNT:
		rc = mount(NULL, "/nonexistent-virtlab", NULL, MS_REMOUNT, NULL);
		break;
	case PROBE_UNSHARE_USER:
		rc = unshare(CLONE_NEWUSER);
		break;
	case PROBE_CLONE3:
		rc = syscall(SYS_clone3, NULL, 0);
		break;
	case PROBE_PERSONALITY_ASLR:
		rc = personality(PER_LINUX | ADDR_NO_RANDOMIZE);
		break;
	case PROBE_PERSONALITY_QUERY:
		rc = personality(0xffffffff);
		break;
	case PROBE_GETPID:
		rc = getpid();
		break;
	case PROBE_COUNT:
		break;
	}
	return rc == -1 ? errno : 0;
}

static void test_seccomp_denies_and_allows(void **state)
{
	const int want[PROBE_COUNT] = {
	        [PROBE_KEYCTL] = EPERM,        [PROBE_PTRACE] = EPERM,
	        [PROBE_INIT_MODULE] = EPERM,   [PROBE_BPF] = EPERM,
	        [PROBE_MOUNT] = EPERM,         [PROBE_UNSHARE_USER] = EPERM,
	        [PROBE_CLONE3] = ENOSYS,       [PROBE_PERSONALITY_ASLR] = EPERM,
	        [PROBE_PERSONALITY_QUERY] = 0, [PROBE_GETPID] = 0,
	};
	struct sock_fprog prog;
	vl_error err = {0};
	int pipefd[2], got[PROBE_COUNT];
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(vl_seccomp_default_program(&prog, &err), 0);
	assert_true(prog.len > 10);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* no_new_privs lets an unprivileged process load the filter. */
		if (vl_set_no_new_privs(&err) < 0 || vl_seccomp_load(&prog, &err) < 0)
			_exit(2);
		for (int p = 0; p < PROBE_COUNT; p++)
			got[p] = probe_errno(p);
		_exit(write(pipefd[1], got, sizeof(got)) == sizeof(got) ? 0 : 3);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], got, sizeof(got)), sizeof(got));
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int p = 0; p < PROBE_COUNT; p++)
		if (got[p] != want[p])
			fail_msg("probe %d: errno %d (%s), want %d", p, got[p], strerror(got[p]),
			         want[p]);
	vl_seccomp_program_free(&prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_default_plan_order),
	        cmocka_unit_test(test_masked_and_readonly_paths),
	        cmocka_unit_test(test_overlay_and_no_new_privs_off),
	        cmocka_unit_test(test_bad_specs_are_input_errors),
	        cmocka_unit_test(test_default_caps_within_docker),
	        cmocka_unit_test(test_seccomp_denies_and_allows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
