#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "platform_test.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "platforms/image.h"
#include "platforms/state.h"

void vl_test_check(int rc, const vl_error *err)
{
	if (rc < 0)
		fail_msg("%s", err->msg);
}

double vl_test_ms_since(uint64_t t0)
{
	return vl_seconds_since(t0) * 1e3;
}

void vl_test_guest_new(const struct vl_platform *p, const char *name, struct vl_test_guest *t)
{
	struct vl_guest_spec spec = {0};
	vl_error err = {0};

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	vl_test_check(vl_state_lock(name, true, &t->lock, &err), &err);
	vl_test_check(vl_guest_new(p, &spec, &t->g, &err), &err);
}

void vl_test_guest_free(struct vl_test_guest *t)
{
	cleanup_json json_t *doc = NULL;
	vl_error err = {0};

	if (!t->g)
		return;
	vl_test_check(vl_guest_destroy(t->g, &err), &err);
	if (vl_state_read(t->g->spec.name, &doc, &err) == 0)
		assert_int_equal(json_array_size(json_object_get(doc, "resources")), 0);
	vl_test_check(vl_state_remove(t->g->spec.name, &err), &err);
	vl_guest_free(t->g);
	vl_state_unlock(t->lock);
	t->g = NULL;
	t->lock = -1;
}

struct vl_agent_client *vl_test_client(struct vl_guest *g)
{
	struct vl_agent_client *c = NULL;
	vl_error err = {0};
	int fd;

	vl_test_check(g->platform->open_channel(g, &fd, &err), &err);
	vl_test_check(vl_agent_client_new(fd, &c, &err), &err);
	return c;
}

void vl_test_hello(struct vl_guest *g, const char *hostname)
{
	struct vl_agent_client *c = vl_test_client(g);
	cleanup_json json_t *facts = NULL;
	vl_error err = {0};

	vl_test_check(vl_agent_hello(c, 10.0, &facts, &err), &err);
	vl_agent_client_free(c);
	if (!hostname)
		return;
	assert_int_equal(json_integer_value(json_object_get(facts, "pid")), 1);
	assert_string_equal(json_string_value(json_object_get(facts, "hostname")), hostname);
}

const char *vl_test_sh(struct vl_guest *g, const char *script, double timeout_s, json_t **result,
                       int *status)
{
	struct vl_agent_client *c = vl_test_client(g);
	json_t *args =
	        json_pack("{s:[s,s,s], s:f}", "argv", "sh", "-c", script, "timeout", timeout_s);
	vl_error err = {0};
	int rc = vl_agent_call(c, "exec", args, timeout_s + 10, result, &err);

	json_decref(args);
	vl_agent_client_free(c);
	vl_test_check(rc, &err);
	*status = (int)json_integer_value(json_object_get(*result, "exit_status"));
	return json_string_value(json_object_get(*result, "stdout"));
}

json_t *vl_test_run(struct vl_guest *g, const char *workload, json_t *params)
{
	struct vl_agent_client *c = vl_test_client(g);
	json_t *result = NULL;
	vl_error err = {0};
	int rc = vl_agent_run(c, workload, params, 1, 0, 120.0, &result, &err);

	vl_agent_client_free(c);
	json_decref(params);
	vl_test_check(rc, &err);
	return result;
}

void vl_test_workloads(struct vl_guest *g)
{
	const char *const names[] = {"cpu.primes", "disk.seq"};
	json_t *params[] = {json_pack("{s:i, s:i}", "max_prime", 2000, "events", 200),
	                    json_pack("{s:i, s:i}", "file_num", 1, "file_total_size", 4 << 20)};

	for (size_t i = 0; i < 2; i++) {
		cleanup_json json_t *r = vl_test_run(g, names[i], params[i]);
		json_t *sample = json_array_get(json_object_get(r, "samples"), 0);
		const char *status = json_string_value(json_object_get(sample, "status"));

		printf("# %s in guest %s: %s\n", names[i], g->spec.name, status ? status : "none");
		assert_non_null(status);
		assert_string_equal(status, "ok");
	}
}

struct vl_cgroup *vl_test_guest_cgroup(struct vl_guest *g)
{
	struct vl_cgroup_host host;
	struct vl_cgroup *cg = NULL;
	char name[128];
	vl_error err = {0};

	snprintf(name, sizeof(name), "virtlab/%s", g->spec.name);
	vl_test_check(vl_cgroup_detect(&host, &err), &err);
	vl_test_check(vl_cgroup_open(&host, name, &cg, &err), &err);
	return cg;
}

static const char *missing(const struct vl_platform *p)
{
	static char why[PATH_MAX + 64];
	struct vl_probe probe;
	vl_error err = {0};
	char agent[PATH_MAX];

	if (geteuid() != 0)
		return "needs root";
	if (access("/bin/busybox", X_OK) < 0)
		return "needs /bin/busybox (apt-get install busybox-static)";
	p->probe(&probe);
	if (!probe.usable) {
		snprintf(why, sizeof(why), "%s platform unusable: %s", p->name, probe.reason);
		return why;
	}
	if (vl_image_agent_path(agent, sizeof(agent), &err) < 0) {
		snprintf(why, sizeof(why), "%s", err.msg);
		return why;
	}
	return NULL;
}

const struct vl_platform *vl_test_platform_setup(const char *name, char *tmpdir, char *statedir)
{
	const struct vl_platform *p = vl_platform_find(name);
	char path[PATH_MAX];
	const char *why;

	if (!p) {
		printf("%s platform not registered\n", name);
		exit(1);
	}
	why = missing(p);
	if (why) {
		printf("SKIP: %s\n", why);
		exit(77);
	}
	if (!mkdtemp(tmpdir) || !mkdtemp(statedir))
		exit(1);
	setenv("VIRTLAB_STATE", statedir, 1);
	snprintf(path, sizeof(path), "%s/data", tmpdir);
	setenv("VIRTLAB_DATA", path, 1);
	return p;
}
