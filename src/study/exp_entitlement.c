/* Thesis chapter 6: the isolation runs again, with a policy applied through
 * the platform's entitlement operation, and how much of the slowdown each
 * policy wins back. Every policy gets a fresh pair of guests, so that one
 * policy cannot leak into the next, and its own unmanaged run to compare
 * with ("policy=none"). */
#include "study/neighbour.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Lifts an I/O throttle: the interface's 0 means "leave as it is". */
#define UNTHROTTLED_BPS (1ull << 50)

struct policy {
	const char *name;
	enum vl_resource resource;
};

static const struct policy policies[] = {
        {"none", VL_RESOURCE_CPU},   {"cpu-weight", VL_RESOURCE_CPU}, {"cpu-max", VL_RESOURCE_CPU},
        {"cpuset", VL_RESOURCE_CPU}, {"memory", VL_RESOURCE_MEMORY},  {"io", VL_RESOURCE_DISK},
};

static const struct policy *find_policy(const char *name)
{
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		if (strcmp(policies[i].name, name) == 0)
			return &policies[i];
	return NULL;
}

/* The whole disk under the study's work directory: throttles take disks,
 * not partitions. */
static int io_device(struct vl_study_ctx *ctx, char *out, size_t size, vl_error *err)
{
	struct stat st;
	char path[96], parent[96];
	unsigned maj, min;

	if (stat(ctx->workdir, &st) < 0)
		return vl_error_errno(err, errno, "stat %s", ctx->workdir);
	maj = major(st.st_dev);
	min = minor(st.st_dev);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", maj, min);
	if (access(path, F_OK) == 0) {
		FILE *f;
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", maj, min);
		f = fopen(path, "r");
		if (f && fgets(parent, sizeof(parent), f) &&
		    sscanf(parent, "%u:%u", &maj, &min) == 2) {
			fclose(f);
		} else {
			if (f)
				fclose(f);
			return vl_error_set(err, "no disk found for partition %u:%u", maj, min);
		}
	}
	snprintf(out, size, "%u:%u", maj, min);
	return 0;
}

/* The policies for A and B; false (with a reason) when it cannot apply here. */
static int build(struct vl_study_ctx *ctx, const struct policy *p, struct vl_entitlement *a,
                 struct vl_entitlement *b, struct vl_entitlement *lift, char *reason,
                 size_t reason_size, vl_error *err)
{
	const struct vl_study_plan *plan = ctx->plan;
	unsigned cpus = vl_study_host_cpus(ctx);

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	memset(lift, 0, sizeof(*lift));
	reason[0] = '\0';
	if (strcmp(p->name, "cpu-weight") == 0) {
		a->cpu_weight = (unsigned)vl_study_size_double(plan, "entitlement.cpu_weight_a");
		b->cpu_weight = (unsigned)vl_study_size_double(plan, "entitlement.cpu_weight_b");
	} else if (strcmp(p->name, "cpu-max") == 0) {
		b->cpu_max_pct = vl_study_size_double(plan, "entitlement.cpu_max_pct");
	} else if (strcmp(p->name, "cpuset") == 0) {
		if (cpus < 2) {
			snprintf(reason, reason_size,
			         "disjoint cpusets need 2 CPUs, the host has 1");
			return 0;
		}
		snprintf(a->cpuset, sizeof(a->cpuset), cpus / 2 > 1 ? "0-%u" : "0", cpus / 2 - 1);
		snprintf(b->cpuset, sizeof(b->cpuset), cpus - cpus / 2 > 1 ? "%u-%u" : "%u",
		         cpus / 2, cpus - 1);
	} else if (strcmp(p->name, "memory") == 0) {
		if (vl_study_size_bytes(plan, "entitlement.memory_limit", &b->memory_bytes, err) <
		    0)
			return -1;
	} else if (strcmp(p->name, "io") == 0) {
		if (io_device(ctx, b->io_device, sizeof(b->io_device), err) < 0 ||
		    vl_study_size_bytes(plan, "entitlement.io_write_bps", &b->io_write_bps, err) <
		            0)
			return -1;
		memcpy(lift->io_device, b->io_device, sizeof(lift->io_device));
		lift->io_write_bps = UNTHROTTLED_BPS;
	}
	return 0;
}

static bool empty(const struct vl_entitlement *e)
{
	static const struct vl_entitlement zero;

	return memcmp(e, &zero, sizeof(zero)) == 0;
}

static int missing(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                   const struct policy *p, enum vl_status status, const char *reason, vl_error *err)
{
	char variant[96];

	snprintf(variant, sizeof(variant), "policy=%s", p->name);
	return vl_study_add_row(ctx,
	                        vl_study_row_missing(vl_resource_figure(p->resource), sp->label,
	                                             "entitlement", variant, "", "", -1, status,
	                                             reason),
	                        err);
}

static int run_policy(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                      const struct policy *p, double none_ratio[VL_N_RESOURCES], vl_error *err)
{
	const struct vl_platform *plat = sp->platform;
	struct vl_entitlement ea, eb, lift;
	struct vl_guests set = {0};
	struct vl_guest *a, *b;
	struct vl_guest_spec spec;
	struct vl_neighbour_run run = {0};
	char reason[128], prefix[96];
	double ratio = 0;
	int rc;

	if (build(ctx, p, &ea, &eb, &lift, reason, sizeof(reason), err) < 0)
		return -1;
	if (reason[0])
		return missing(ctx, sp, p, VL_STATUS_UNSUPPORTED, reason, err);
	vl_study_spec(ctx, sp, &spec);
	rc = vl_guests_up(ctx, &set, sp, &spec, &a, err);
	if (rc == 0)
		rc = vl_guests_up(ctx, &set, sp, &spec, &b, err);
	if (rc == 0 && !empty(&ea))
		rc = plat->apply_entitlement(a, &ea, err);
	if (rc == 0 && !empty(&eb))
		rc = plat->apply_entitlement(b, &eb, err);
	if (rc == 0)
		rc = vl_neighbour_measure(ctx, sp, a, b, p->resource, empty(&lift) ? NULL : &lift,
		                          &run, err);
	snprintf(prefix, sizeof(prefix), "policy=%s ", p->name);
	if (rc == 0)
		rc = vl_neighbour_write(ctx, vl_resource_figure(p->resource), prefix, &run, &ratio,
		                        err);
	if (rc == 0 && strcmp(p->name, "none") == 0)
		none_ratio[p->resource] = ratio;
	/* How much of the unmanaged slowdown the policy wins back; 1 = all. */
	if (rc == 0 && strcmp(p->name, "none") != 0 && none_ratio[p->resource] > 1 && ratio > 0) {
		json_t *rows = json_object_get(
		        json_object_get(json_object_get(ctx->results->root, "experiments"),
		                        ctx->experiment),
		        "rows");
		json_t *stressed = json_array_get(rows, json_array_size(rows) - 2);
		json_object_set_new(stressed, "restored",
		                    json_real(1 - (ratio - 1) / (none_ratio[p->resource] - 1)));
		rc = vl_results_save(ctx->results, err);
	}
	vl_neighbour_release(&run);
	vl_guests_down(&set);
	if (rc < 0)
		return vl_error_wrap(err, "policy %s", p->name);
	return 0;
}

struct policies {
	char names[8][64];
	size_t n;
};

/* A policy that fails (a limit the platform refuses) gives a failed row;
 * the other policies still run. */
static int try_policy(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                      const struct policy *p, double none_ratio[VL_N_RESOURCES], vl_error *err)
{
	vl_error policy_err = {0};

	if (!sp->platform->apply_entitlement)
		return missing(ctx, sp, p, VL_STATUS_UNSUPPORTED,
		               "the platform has no entitlement operation", err);
	if (run_policy(ctx, sp, p, none_ratio, &policy_err) == 0)
		return 0;
	if (vl_study_interrupted()) {
		*err = policy_err;
		return -1;
	}
	return missing(ctx, sp, p, VL_STATUS_FAILED, policy_err.msg, err);
}

static int run_platform(struct vl_study_ctx *ctx, const struct vl_study_platform *sp, void *arg,
                        vl_error *err)
{
	const struct policies *pol = arg;
	double none_ratio[VL_N_RESOURCES] = {0};
	bool used[VL_N_RESOURCES] = {false};

	/* The unmanaged run of every resource a policy needs, first. */
	for (size_t i = 0; i < pol->n; i++)
		used[find_policy(pol->names[i])->resource] = true;
	for (int r = 0; r < VL_N_RESOURCES; r++) {
		struct policy none = {"none", r};
		if (used[r] && sp->platform->apply_entitlement &&
		    try_policy(ctx, sp, &none, none_ratio, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < pol->n; i++)
		if (try_policy(ctx, sp, find_policy(pol->names[i]), none_ratio, err) < 0)
			return vl_error_wrap(err, "%s", sp->label);
	return 0;
}

static int run(struct vl_study_ctx *ctx, vl_error *err)
{
	struct policies pol;

	pol.n = vl_study_split(vl_study_size(ctx->plan, "entitlement.policies"), pol.names, 8);
	for (size_t i = 0; i < pol.n; i++)
		if (!find_policy(pol.names[i]) || strcmp(pol.names[i], "none") == 0)
			return vl_error_input(
			        err,
			        "entitlement.policies: '%s' is not cpu-weight, cpu-max, "
			        "cpuset, memory or io",
			        pol.names[i]);
	return vl_study_each_platform(ctx, "6.2", run_platform, &pol, err);
}

const struct vl_experiment vl_experiment_entitlement = {
        .name = "entitlement",
        .figures = "6.2-6.5 with policies",
        .summary = "the isolation runs with entitlement policies, and what each restores",
        .run = run,
};
