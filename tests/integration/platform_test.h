/* What the platforms' end-to-end tests (test_container_root.c,
 * test_lxc_root.c) share: a guest with its lock, the agent reached through
 * the platform's channel, and the test's own state and data roots. Failures
 * end the current cmocka test. */
#pragma once
#include <stdint.h>
#include <jansson.h>
#include "agent/client.h"
#include "core/error.h"
#include "platforms/platform.h"
#include "runtime/cgroup.h"

struct vl_test_guest {
	struct vl_guest *g;
	int lock;
};
#define VL_TEST_GUEST_INIT                                                                         \
	{                                                                                          \
		NULL, -1                                                                           \
	}

/* Fails the test with err's message when rc < 0. */
void vl_test_check(int rc, const vl_error *err);
double vl_test_ms_since(uint64_t t0);

/* A guest of platform p named name, its lock held. */
void vl_test_guest_new(const struct vl_platform *p, const char *name, struct vl_test_guest *t);
/* Destroys the guest (which must untrack everything it tracked), removes its
 * record and lets its lock go; no guest is fine. */
void vl_test_guest_free(struct vl_test_guest *t);

struct vl_agent_client *vl_test_client(struct vl_guest *g);
/* The agent's hello; with hostname, also that the agent is the guest's PID 1
 * and the guest has that hostname. */
void vl_test_hello(struct vl_guest *g, const char *hostname);
/* Runs sh -c SCRIPT in the guest through the agent's exec op; returns its
 * stdout (owned by *result) and exit status. */
const char *vl_test_sh(struct vl_guest *g, const char *script, double timeout_s, json_t **result,
                       int *status);
/* One sample of workload with params (taken); the result is the caller's. */
json_t *vl_test_run(struct vl_guest *g, const char *workload, json_t *params);
/* cpu.primes and disk.seq, one small sample each, must run ok. */
void vl_test_workloads(struct vl_guest *g);
/* The guest's cgroup, virtlab/NAME. */
struct vl_cgroup *vl_test_guest_cgroup(struct vl_guest *g);

/* Platform `name` with the test's roots: VIRTLAB_STATE is statedir, VIRTLAB_DATA
 * tmpdir/data (both mkdtemp templates). Exits 77 with the reason printed when
 * root, busybox-static, the platform's probe or the static agent says no, and
 * 1 when the platform is not registered or a directory cannot be made. */
const struct vl_platform *vl_test_platform_setup(const char *name, char *tmpdir, char *statedir);
