/* The thesis's table 5.2: what each platform offers, detected through its
 * interface and, where cheap, verified by trying (a guest with more vCPUs or
 * memory than the host has; the kernel the guest's agent reports; the idle
 * footprint of a started guest). What the platform interface cannot tell
 * is recorded as unknown (null), not guessed. */
#include "study/experiment.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/interrupt.h"

#include <stdio.h>
#include <string.h>

/* Long enough for a booted guest to settle before its footprint is read. */
#define IDLE_SETTLE_NS 1000000000ull

static bool same_kernel(json_t *host, json_t *guest)
{
	json_t *hk = json_object_get(host, "kernel"), *gk = json_object_get(guest, "kernel");

	return json_equal(json_object_get(hk, "release"), json_object_get(gk, "release")) &&
	       json_equal(json_object_get(hk, "version"), json_object_get(gk, "version"));
}

static int add(struct vl_study_ctx *ctx, const struct vl_study_platform *sp, const char *feature,
               json_t *value, const char *how, const char *note, vl_error *err)
{
	return vl_study_add_feature(ctx, sp->label, feature, value, how, note, err);
}

/* Whether a guest bigger than the host starts: overcommit, measured. */
static int try_overcommit(struct vl_study_ctx *ctx, const struct vl_study_platform *sp, bool cpus,
                          vl_error *err)
{
	struct vl_guests set = {0};
	struct vl_guest_spec spec;
	struct vl_guest *g;
	vl_error up_err = {0};
	int ok;

	vl_study_spec(ctx, sp, &spec);
	if (cpus)
		spec.cpus = 2 * vl_study_host_cpus(ctx);
	else
		spec.memory_bytes = 2 * vl_study_host_memory(ctx);
	ok = vl_guests_up(ctx, &set, sp, &spec, &g, &up_err) == 0;
	vl_guests_down(&set);
	if (vl_study_interrupted())
		return vl_error_set(err, "interrupted");
	return add(ctx, sp, cpus ? "cpu_overcommit" : "memory_overcommit", json_boolean(ok),
	           "measured", ok ? "a guest twice the host's size started" : up_err.msg, err);
}

static int probe_guest(struct vl_study_ctx *ctx, const struct vl_study_platform *sp, vl_error *err)
{
	const struct vl_platform *p = sp->platform;
	struct vl_guests set = {0};
	struct vl_guest_spec spec;
	struct vl_guest *g;
	cleanup_json json_t *facts = NULL;
	struct vl_footprint fp;
	bool own;
	int rc;

	vl_study_spec(ctx, sp, &spec);
	rc = vl_guests_up(ctx, &set, sp, &spec, &g, err);
	if (rc == 0)
		rc = vl_guest_agent_call(g, "hello", 30, &facts, err);
	if (rc == 0) {
		own = !same_kernel(ctx->host, facts);
		rc = add(ctx, sp, "own_kernel", json_boolean(own), "measured",
		         "the kernel the guest's agent reports against the host's", err);
		if (rc == 0)
			rc = add(ctx, sp, "kernel_updates_isolated", json_boolean(own), "measured",
			         "a guest with its own kernel is not touched by the host's updates",
			         err);
	}
	if (rc == 0 && p->footprint) {
		vl_sleep_ns(IDLE_SETTLE_NS, vl_interrupt_flag());
		rc = p->footprint(g, &fp, err);
		if (rc == 0)
			rc = add(ctx, sp, "idle_footprint_bytes",
			         json_pack("{s:I, s:I, s:I}", "rss", (json_int_t)fp.rss_bytes,
			                   "pss", (json_int_t)fp.pss_bytes, "cgroup_memory",
			                   (json_int_t)fp.cgroup_memory_bytes),
			         "measured", "one idle guest, after 1 s", err);
	} else if (rc == 0) {
		rc = add(ctx, sp, "idle_footprint_bytes", NULL, "detected",
		         "the platform cannot measure its footprint", err);
	}
	vl_guests_down(&set);
	return rc;
}

static int run_platform(struct vl_study_ctx *ctx, const struct vl_study_platform *sp, void *arg,
                        vl_error *err)
{
	const struct vl_platform *p = sp->platform;
	const char *accel = sp->probe.accel;

	(void)arg;
	bool hw = strcmp(accel, "kvm") == 0 || strcmp(accel, "xen") == 0;

	if (add(ctx, sp, "accel", json_string(accel), "detected", sp->probe.reason, err) < 0 ||
	    add(ctx, sp, "hw_virtualization", json_boolean(hw), "detected",
	        "from the platform's probe: kvm or xen use the CPU's extensions", err) < 0 ||
	    add(ctx, sp, "clone", json_boolean(p->clone), "detected", NULL, err) < 0 ||
	    add(ctx, sp, "reboot", json_boolean(p->reboot), "detected", NULL, err) < 0 ||
	    add(ctx, sp, "entitlement_policies", json_boolean(p->apply_entitlement), "detected",
	        NULL, err) < 0 ||
	    add(ctx, sp, "checkpoint_or_live_migration", NULL, "detected",
	        "the platform interface has no checkpoint or migration operation", err) < 0 ||
	    add(ctx, sp, "mainline_kernel", NULL, "detected",
	        "not something a platform can report about itself", err) < 0)
		return -1;
	if (probe_guest(ctx, sp, err) < 0)
		return -1;
	/* The baseline is the host: it has nothing to overcommit. */
	if (vl_study_is_baseline(sp))
		return 0;
	if (try_overcommit(ctx, sp, true, err) < 0 || try_overcommit(ctx, sp, false, err) < 0)
		return -1;
	return 0;
}

static int run(struct vl_study_ctx *ctx, vl_error *err)
{
	return vl_study_each_platform(ctx, "5.2", run_platform, NULL, err);
}

const struct vl_experiment vl_experiment_features = {
        .name = "features",
        .figures = "5.2",
        .summary = "what each platform offers, detected and where cheap measured",
        .run = run,
};
