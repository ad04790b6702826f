/* The host kind `lab` (hosts/lab.c) as the study uses it: parse NAME=lab:kvm,
 * open (the lab made by `virtlab lab create` boots), run commands with their
 * exit status and output, fetch files byte for byte (bytes that are not
 * UTF-8 included), close (the lab powers off); then `virtlab lab destroy`
 * leaves nothing. State and data roots are a fresh virtlab-labhost-test-*.
 * Usage: test_lab_host_root VIRTLAB STATIC_AGENT. Needs root, qemu, a Debian
 * kernel and the static agent; exits 77 without them. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/cleanup.h"
#include "core/command.h"
#include "core/file.h"
#include "hosts/host.h"
#include "hosts/lab.h"
#include "platforms/cleanup.h"
#include "platforms/qemu_image.h"

#define LAB_NAME    "virtlabhost"
#define CLI_TIMEOUT 300.0
#define RUN_TIMEOUT 120.0

static int failures;
static char root[] = "/tmp/virtlab-labhost-test-XXXXXX";

static int cli(const char *virtlab, const char *op, const char *extra)
{
	const char *argv[] = {virtlab, "lab", op, LAB_NAME, extra, extra ? "kvm" : NULL, NULL};
	struct vl_command_result res = {0};
	vl_error err = {0};
	int code;

	if (vl_command_run(argv, NULL, CLI_TIMEOUT, NULL, &res, &err) < 0) {
		CHECK(0, "virtlab lab %s: %s", op, err.msg);
		return -1;
	}
	code = res.exit_code;
	CHECK(code == 0, "virtlab lab %s exited %d: %s", op, code, res.err);
	vl_command_result_release(&res);
	return code == 0 ? 0 : -1;
}

/* The bundle `virtlab lab create` made: the lab's virtlab is the CLI's, not
 * this test program (which is what /proc/self/exe is here). */
static void use_cli_bundle(void)
{
	char dir[PATH_MAX];
	cleanup_dir DIR *d = NULL;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/data/bundles", root);
	d = opendir(dir);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			char path[PATH_MAX + 256];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			setenv("VIRTLAB_BUNDLE", path, 1);
		}
	CHECK(getenv("VIRTLAB_BUNDLE"), "no bundle in %s", dir);
}

static void check_run(struct vl_host *h)
{
	const char *const info[] = {"virtlab", "info", "--json", NULL};
	const char *const fails[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	char *out = NULL, *errout = NULL;
	vl_error err = {0};
	json_error_t jerr;
	json_t *facts;
	int status = -1;

	CHECK(h->kind->run(h, info, RUN_TIMEOUT, &status, &out, &errout, &err) == 0, "run: %s",
	      err.msg);
	CHECK(status == 0, "virtlab info in the lab exited %d: %s", status, errout);
	facts = out ? json_loads(out, 0, &jerr) : NULL;
	CHECK(facts && json_is_true(json_object_get(json_object_get(facts, "kvm"), "usable")),
	      "virtlab info in the lab: KVM not usable");
	json_decref(facts);
	free(out);
	free(errout);
	out = errout = NULL;
	CHECK(h->kind->run(h, fails, RUN_TIMEOUT, &status, &out, &errout, &err) == 0, "run: %s",
	      err.msg);
	CHECK(status == 3, "exit 3 came back as %d", status);
	CHECK(out && strcmp(out, "out\n") == 0, "stdout '%s'", out ? out : "(null)");
	CHECK(errout && strcmp(errout, "err\n") == 0, "stderr '%s'", errout ? errout : "(null)");
	free(out);
	free(errout);
}

static void check_fetch(struct vl_host *h)
{
	static const unsigned char odd[] = {0, 0xff, 0xfe, 'a', '\n', 0x80, 'z'};
	char make[PATH_MAX * 2 + 128], remote[PATH_MAX + 16], local[PATH_MAX];
	const char *const argv[] = {"sh", "-c", make, NULL};
	cleanup_free char *got = NULL;
	char *out = NULL, *errout = NULL;
	vl_error err = {0};
	int status = -1;
	size_t len = 0;

	snprintf(remote, sizeof(remote), "%s/odd", h->workdir);
	snprintf(make, sizeof(make),
	         "printf '\\000\\377\\376a\\n\\200z' > %s && head -c 300000 /dev/urandom > %s.big",
	         remote, remote);
	CHECK(h->kind->run(h, argv, RUN_TIMEOUT, &status, &out, &errout, &err) == 0 && status == 0,
	      "making files in the lab: %s %s", err.msg, errout ? errout : "");
	free(out);
	free(errout);
	snprintf(local, sizeof(local), "%s/odd", root);
	CHECK(h->kind->fetch(h, remote, local, &err) == 0, "fetch: %s", err.msg);
	CHECK(vl_read_file(local, &got, &len, &err) == 0 && len == sizeof(odd) &&
	              memcmp(got, odd, len) == 0,
	      "fetched %zu bytes, not the %zu written", len, sizeof(odd));
	free(vl_steal_ptr(got));
	strcat(remote, ".big");
	strcat(local, ".big");
	CHECK(h->kind->fetch(h, remote, local, &err) == 0, "fetch: %s", err.msg);
	CHECK(vl_read_file(local, &got, &len, &err) == 0 && len == 300000,
	      "fetched %zu bytes, not 300000", len);
	vl_error_clear(&err);
	CHECK(h->kind->fetch(h, "/no/such/file", local, &err) < 0, "fetching a missing file");
}

int main(int argc, char **argv)
{
	struct vl_qemu_kernel k;
	struct vl_host *h = NULL;
	char path[PATH_MAX], state[PATH_MAX + 16], data[PATH_MAX + 16];
	vl_error err = {0};

	if (argc != 3)
		return fprintf(stderr, "usage: test_lab_host_root VIRTLAB STATIC_AGENT\n"), 2;
	if (geteuid() != 0)
		return vl_test_skip("needs root (qemu's cgroup, the lab's state)");
	if (!vl_find_program("qemu-system-x86_64", path, sizeof(path)) ||
	    !vl_find_program("qemu-img", path, sizeof(path)))
		return vl_test_skip("needs qemu-system-x86 and qemu-utils");
	if (vl_qemu_find_kernel(&k, &err) < 0)
		return vl_test_skip(err.msg);
	if (access(argv[2], X_OK) < 0)
		return vl_test_skip("needs the static agent (sanitized builds have none)");
	if (!mkdtemp(root))
		return perror("mkdtemp"), 1;
	snprintf(state, sizeof(state), "%s/state", root);
	snprintf(data, sizeof(data), "%s/data", root);
	setenv("VIRTLAB_STATE", state, 1);
	setenv("VIRTLAB_DATA", data, 1);
	setenv("VIRTLAB_AGENT", argv[2], 1);

	CHECK(vl_host_parse(LAB_NAME "=lab:nope", &h, &err) < 0 && err.kind == VL_ERR_INPUT,
	      "lab:nope was accepted");
	vl_error_clear(&err);
	if (cli(argv[1], "create", "--kind") == 0) {
		use_cli_bundle();
		CHECK(vl_host_parse(LAB_NAME "=lab:kvm", &h, &err) == 0, "parse: %s", err.msg);
	}
	if (h && h->kind->open(h, &err) == 0) {
		CHECK(strcmp(h->accel, "tcg") == 0 || strcmp(h->accel, "kvm") == 0, "accel '%s'",
		      h->accel);
		CHECK(h->workdir[0] == '/', "workdir '%s'", h->workdir);
		check_run(h);
		check_fetch(h);
		CHECK(h->kind->close(h, &err) == 0, "close: %s", err.msg);
	} else if (h) {
		CHECK(0, "open: %s", err.msg);
	}
	vl_host_free(h);
	cli(argv[1], "destroy", NULL);
	snprintf(path, sizeof(path), "%s/guests/" VL_LAB_RECORD_PREFIX LAB_NAME, state);
	CHECK(access(path, F_OK) < 0, "the lab's record %s is left", path);
	vl_cleanup_guest(VL_LAB_RECORD_PREFIX LAB_NAME, false, NULL, NULL, &err);
	vl_remove_tree(root, &err);
	if (failures)
		printf("%d failure(s)\n", failures);
	else
		printf("all lab host checks passed\n");
	return failures ? 1 : 0;
}
