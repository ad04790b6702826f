/* Thesis 4.4 (Fig 4.8) and 6.4: network bandwidth and latency from each
 * platform's guest to an "outside host", in NAT and bridged mode, on the test
 * topology of runtime/topology.h; then a guest's bandwidth while its
 * neighbour floods the same path with stress.net, and under a rate policy on
 * the guest's host-side device. The baseline is the host itself talking to
 * the outside host: the path every guest's traffic ends on.
 *
 * The outside host's endpoint runs on threads of the study (their sockets
 * live in the outside namespace), and the topology is tracked in a record of
 * its own, so that `virtlab cleanup` removes it after a crash. Guests under
 * TCG get one short run per cell: an emulated NIC is slow enough that the
 * interleaved repeats of the others would take minutes per cell. */
#include "study/neighbour.h"
#include "agent/client.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/interrupt.h"
#include "platforms/guest_net.h"
#include "platforms/state.h"
#include "runtime/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STRESS_TIMEOUT_S 30.0
/* The class the net_cls policy gives a guest: major 0x10, minor 1 (tc's 10:1). */
#define GUEST_CLASSID 0x00100001u
#define TCG_NOTE      "one short run per cell: the guest runs under TCG"
#define RATE_REPEATS  3

struct mode_run {
	enum vl_topology_mode mode;
	const char *name;
	struct vl_topology *t;
	unsigned port;
	struct vl_guests set;
	/* Per platform of ctx: guest A (measured), B (the neighbour). */
	struct vl_guest *a[VL_STUDY_MAX_PLATFORMS];
	struct vl_guest *b[VL_STUDY_MAX_PLATFORMS];
	char down[VL_STUDY_MAX_PLATFORMS][VL_DOWN_MAX];
};

static bool under_tcg(const struct vl_study_platform *sp)
{
	return strcmp(sp->probe.accel, "tcg") == 0;
}

/* Samples cells with the plan's repeats or, when fixed is not 0, exactly
 * fixed times each without a warmup. */
static int sample_n(struct vl_study_ctx *ctx, struct vl_cell *cells, size_t n, unsigned fixed,
                    struct vl_series *series, vl_error *err)
{
	const struct vl_study_plan *plan = ctx->plan;
	struct vl_study_plan exact = *plan;
	int rc;

	if (!fixed)
		return vl_cells_sample(ctx, cells, n, series, err);
	exact.repeat_min = exact.repeat_max = fixed;
	exact.warmup = 0;
	ctx->plan = &exact;
	rc = vl_cells_sample(ctx, cells, n, series, err);
	ctx->plan = plan;
	return rc;
}

/* With the plan's repeats, or once each under TCG. */
static int sample(struct vl_study_ctx *ctx, struct vl_cell *cells, size_t n, bool tcg,
                  struct vl_series *series, vl_error *err)
{
	return sample_n(ctx, cells, n, tcg ? 1 : 0, series, err);
}

/* Marks the rows just written for TCG platforms. */
static void note_tcg_rows(struct vl_study_ctx *ctx, size_t n_rows)
{
	json_t *rows =
	        json_object_get(json_object_get(json_object_get(ctx->results->root, "experiments"),
	                                        ctx->experiment),
	                        "rows");
	size_t total = json_array_size(rows);

	for (size_t i = total >= n_rows ? total - n_rows : 0; i < total; i++) {
		json_t *row = json_array_get(rows, i);
		const char *label = json_string_value(json_object_get(row, "platform"));

		for (size_t p = 0; label && p < ctx->n_platforms; p++)
			if (strcmp(ctx->platforms[p]->label, label) == 0 &&
			    under_tcg(ctx->platforms[p]))
				json_object_set_new(row, "note", json_string(TCG_NOTE));
	}
}

static int stream_cell(struct vl_study_ctx *ctx, const struct mode_run *m, size_t i,
                       const char *direction, const char *streams, const char *variant_prefix,
                       struct vl_cell *cell, vl_error *err)
{
	char x[4][96], variant[96];
	const char *args[] = {x[0], x[1], x[2], x[3], NULL};

	snprintf(x[0], 96, "host=%s", vl_topology_outside_address(m->t));
	snprintf(x[1], 96, "port=%u", m->port);
	snprintf(x[2], 96, "direction=%s", direction);
	snprintf(x[3], 96, "streams=%s", streams);
	snprintf(variant, sizeof(variant), "%smode=%s direction=%s streams=%s", variant_prefix,
	         m->name, direction, streams);
	if (vl_cell_init(cell, ctx->platforms[i], m->a[i], "net.stream", variant, args, err) < 0)
		return -1;
	cell->down = m->down[i];
	return vl_params_set(&cell->params, "duration",
	                     vl_study_size(ctx->plan, "network.duration"), err);
}

static int rr_cell(struct vl_study_ctx *ctx, const struct mode_run *m, size_t i,
                   struct vl_cell *cell, vl_error *err)
{
	char x[4][96], variant[96];
	const char *args[] = {x[0], x[1], x[2], x[3], NULL};

	snprintf(x[0], 96, "host=%s", vl_topology_outside_address(m->t));
	snprintf(x[1], 96, "port=%u", m->port);
	snprintf(x[2], 96, "size=%s", vl_study_size(ctx->plan, "network.rr_size"));
	snprintf(x[3], 96, "duration=%s", vl_study_size(ctx->plan, "network.duration"));
	snprintf(variant, sizeof(variant), "mode=%s", m->name);
	if (vl_cell_init(cell, ctx->platforms[i], m->a[i], "net.rr", variant, args, err) < 0)
		return -1;
	cell->down = m->down[i];
	return 0;
}

/* Samples the cells whose platform is (tcg) or is not under TCG, together. */
static int sample_group(struct vl_study_ctx *ctx, const struct vl_cell *cells, size_t n, bool tcg,
                        struct vl_series *series, vl_error *err)
{
	struct vl_cell *sub = calloc(n ? n : 1, sizeof(*sub));
	struct vl_series *ss = calloc(n ? n : 1, sizeof(*ss));
	size_t *map = calloc(n ? n : 1, sizeof(*map));
	size_t k = 0;
	int rc = sub && ss && map ? 0 : vl_error_set(err, "allocating the network cells");

	for (size_t c = 0; rc == 0 && c < n; c++)
		if (under_tcg(cells[c].sp) == tcg) {
			map[k] = c;
			sub[k++] = cells[c];
		}
	if (rc == 0 && k)
		rc = sample(ctx, sub, k, tcg, ss, err);
	for (size_t c = 0; ss && c < k; c++)
		series[map[c]] = ss[c];
	free(sub);
	free(ss);
	free(map);
	return rc;
}

/* Fig 4.8: every platform's cells, the fast platforms interleaved, the TCG
 * ones once each; written as one set, so that every row has its overhead
 * against the host's. */
static int bandwidth(struct vl_study_ctx *ctx, struct mode_run *m, vl_error *err)
{
	char dirs[2][64], streams[4][64];
	size_t n_dirs = vl_study_split(vl_study_size(ctx->plan, "network.directions"), dirs, 2);
	size_t n_streams = vl_study_split(vl_study_size(ctx->plan, "network.streams"), streams, 4);
	size_t n = 0, max = ctx->n_platforms * (n_dirs * n_streams + 1);
	struct vl_cell *cells = calloc(max ? max : 1, sizeof(*cells));
	struct vl_series *series = calloc(max ? max : 1, sizeof(*series));
	int rc = cells && series ? 0 : vl_error_set(err, "allocating the network cells");

	for (size_t i = 0; rc == 0 && i < ctx->n_platforms; i++) {
		for (size_t d = 0; rc == 0 && d < n_dirs; d++)
			for (size_t s = 0; rc == 0 && s < n_streams; s++)
				rc = stream_cell(ctx, m, i, dirs[d], streams[s], "", &cells[n++],
				                 err);
		if (rc == 0)
			rc = rr_cell(ctx, m, i, &cells[n++], err);
	}
	if (rc == 0)
		rc = sample_group(ctx, cells, n, false, series, err);
	if (rc == 0)
		rc = sample_group(ctx, cells, n, true, series, err);
	if (rc == 0)
		rc = vl_cells_write(ctx, "4.8", cells, n, series, NULL, err);
	if (rc == 0)
		note_tcg_rows(ctx, n);
	for (size_t c = 0; series && c < n; c++)
		vl_series_release(&series[c]);
	free(cells);
	free(series);
	return rc;
}

/* Fig 6.4: A's single stream alone, then while B floods the outside host. */
static int isolation(struct vl_study_ctx *ctx, struct mode_run *m, size_t i, vl_error *err)
{
	const struct vl_study_platform *sp = ctx->platforms[i];
	cleanup_json json_t *params =
	        json_pack("{s:i, s:s, s:i}", "workers", 1, "host",
	                  vl_topology_outside_address(m->t), "port", (int)m->port);
	struct vl_neighbour_run run = {.stressor = "stress.net", .neighbour_ops = -1};
	struct vl_agent_client *c = NULL;
	cleanup_json json_t *stopped = NULL;
	vl_error stop_err = {0};
	char prefix[64];
	double ratio;
	unsigned id;
	int fd, rc;

	snprintf(prefix, sizeof(prefix), "mode=%s ", m->name);
	if (!m->a[i] || !m->b[i])
		return vl_study_add_row(ctx,
		                        vl_study_row_missing("6.4", sp->label, "net.stream", prefix,
		                                             "gbps", "Gbit/s", 1, VL_STATUS_FAILED,
		                                             m->down[i]),
		                        err);
	rc = stream_cell(ctx, m, i, "send", "1", "", &run.cell, err);
	if (rc == 0) {
		snprintf(run.cell.variant, sizeof(run.cell.variant), "neighbour=none");
		rc = sample(ctx, &run.cell, 1, under_tcg(sp), &run.alone, err);
	}
	if (rc == 0 &&
	    (sp->platform->open_channel(m->b[i], &fd, err) < 0 ||
	     vl_agent_client_new(fd, &c, err) < 0 ||
	     vl_agent_stress_start(c, run.stressor, params, STRESS_TIMEOUT_S, &id, err) < 0)) {
		vl_agent_client_free(c);
		vl_neighbour_release(&run);
		return vl_error_wrap(err, "starting stress.net in the neighbour");
	}
	if (rc == 0) {
		vl_sleep_ns((uint64_t)(vl_study_size_double(ctx->plan, "isolation.settle") * 1e9),
		            vl_interrupt_flag());
		snprintf(run.cell.variant, sizeof(run.cell.variant), "neighbour=stress.net");
		rc = sample(ctx, &run.cell, 1, under_tcg(sp), &run.stressed, err);
		/* Stopped on every path; its own figure is kept when it can be. */
		if (vl_agent_stress_stop(c, id, STRESS_TIMEOUT_S, &stopped, &stop_err) < 0) {
			snprintf(run.neighbour_reason, sizeof(run.neighbour_reason), "%s",
			         stop_err.msg);
		} else {
			json_t *ops =
			        json_object_get(json_object_get(stopped, "metrics"), "ops_per_sec");
			const char *status = json_string_value(json_object_get(stopped, "status"));

			run.survived = status && strcmp(status, "ok") == 0;
			if (!run.survived)
				snprintf(run.neighbour_reason, sizeof(run.neighbour_reason), "%s",
				         status ? status : "no status");
			if (json_is_number(ops))
				run.neighbour_ops = json_number_value(ops);
		}
		vl_agent_client_free(c);
	}
	if (rc == 0)
		rc = vl_neighbour_write(ctx, "6.4", prefix, &run, &ratio, err);
	vl_neighbour_release(&run);
	return rc;
}

/* Fig 6.4 with a policy: a rate limit on A's host-side device (both ways)
 * and, where the host has cgroup v1's net_cls, A's traffic class. */
static int rate_policy(struct vl_study_ctx *ctx, struct mode_run *m, size_t i, vl_error *err)
{
	const struct vl_study_platform *sp = ctx->platforms[i];
	struct vl_entitlement e = {.net_classid = GUEST_CLASSID};
	struct vl_topology_port port;
	struct vl_cell cells[2];
	struct vl_series series[2] = {{0}};
	double mbit = vl_study_size_double(ctx->plan, "network.rate_mbit");
	char prefix[64], note[160] = "";
	vl_error cls = {0};
	int rc;

	if (mbit <= 0)
		return vl_error_input(err, "network.rate_mbit: give a rate above 0 (Mbit/s)");
	snprintf(prefix, sizeof(prefix), "policy=rate-%gM mode=%s", mbit, m->name);
	if (!m->a[i] || !vl_guest_net_port(m->a[i], &port))
		return vl_study_add_row(
		        ctx,
		        vl_study_row_missing("6.4b", sp->label, "net.stream", prefix, "gbps",
		                             "Gbit/s", 1,
		                             m->a[i] ? VL_STATUS_UNSUPPORTED : VL_STATUS_FAILED,
		                             m->a[i] ? "the guest has no host-side network device "
		                                       "to shape (the host itself)"
		                                     : m->down[i]),
		        err);
	if (vl_topology_set_rate(m->t, &port, (uint64_t)(mbit * 1e6), err) < 0)
		return -1;
	if (sp->platform->apply_entitlement &&
	    sp->platform->apply_entitlement(m->a[i], &e, &cls) == 0)
		snprintf(note, sizeof(note), "net_cls.classid 10:1 set; the tbf limits");
	else
		snprintf(note, sizeof(note), "no net_cls here (%s); the tbf limits",
		         sp->platform->apply_entitlement ? cls.msg : "no entitlement operation");
	snprintf(prefix, sizeof(prefix), "policy=rate-%gM ", mbit);
	rc = stream_cell(ctx, m, i, "send", "1", prefix, &cells[0], err);
	if (rc == 0)
		rc = stream_cell(ctx, m, i, "recv", "1", prefix, &cells[1], err);
	/* Longer runs, fewer of them: a sender counts what it wrote into its
	 * socket, so a short run overstates a limited rate by the buffer's worth. */
	for (size_t c = 0; rc == 0 && c < 2; c++)
		rc = vl_params_set(&cells[c].params, "duration",
		                   vl_study_size(ctx->plan, "network.rate_duration"), err);
	if (rc == 0)
		rc = sample_n(ctx, cells, 2, under_tcg(sp) ? 1 : RATE_REPEATS, series, err);
	if (rc == 0) {
		cleanup_json json_t *extra =
		        json_pack("{s:f, s:s}", "rate_mbit", mbit, "policy_note", note);
		rc = vl_cells_write(ctx, "6.4b", cells, 2, series, extra, err);
	}
	vl_series_release(&series[0]);
	vl_series_release(&series[1]);
	return rc;
}

static int track(void *data, const char *kind, const char *id, bool add, vl_error *err)
{
	struct vl_guest *g = data;

	return add ? vl_state_track(g, kind, id, err) : vl_state_untrack(g, kind, id, err);
}

/* Guests A and B of every platform, attached to the mode's topology. A
 * platform whose guests do not start gets failed rows; the others go on. */
static int guests_up(struct vl_study_ctx *ctx, struct mode_run *m, vl_error *err)
{
	for (size_t i = 0; i < ctx->n_platforms; i++) {
		const struct vl_study_platform *sp = ctx->platforms[i];
		struct vl_guest_spec spec;
		vl_error up_err = {0};

		vl_study_spec(ctx, sp, &spec);
		snprintf(spec.net_topology, sizeof(spec.net_topology), "%s", vl_topology_id(m->t));
		snprintf(spec.net_mode, sizeof(spec.net_mode), "%s", m->name);
		if (vl_guests_up(ctx, &m->set, sp, &spec, &m->a[i], &up_err) == 0 &&
		    vl_guests_up(ctx, &m->set, sp, &spec, &m->b[i], &up_err) == 0)
			continue;
		m->a[i] = m->b[i] = NULL;
		if (vl_study_interrupted())
			return vl_error_set(err, "%s", up_err.msg);
		snprintf(m->down[i], VL_DOWN_MAX, "%s", up_err.msg);
	}
	return 0;
}

static bool wanted(const char *list, const char *item)
{
	char items[4][64];
	size_t n = vl_study_split(list, items, 4);

	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i], item) == 0)
			return true;
	return false;
}

/* A platform whose part fails gets a failed row; the others still run.
 * Fails only when interrupted or the results cannot be written. */
static int each_platform(struct vl_study_ctx *ctx, struct mode_run *m, const char *figure,
                         int (*fn)(struct vl_study_ctx *, struct mode_run *, size_t, vl_error *),
                         vl_error *err)
{
	char variant[64];

	snprintf(variant, sizeof(variant), "mode=%s", m->name);
	for (size_t i = 0; i < ctx->n_platforms; i++) {
		vl_error e = {0};

		if (fn(ctx, m, i, &e) == 0)
			continue;
		if (vl_study_interrupted()) {
			*err = e;
			return -1;
		}
		if (vl_study_add_row(ctx,
		                     vl_study_row_missing(figure, ctx->platforms[i]->label,
		                                          "net.stream", variant, "gbps", "Gbit/s",
		                                          1, VL_STATUS_FAILED, e.msg),
		                     err) < 0)
			return -1;
	}
	return 0;
}

static int measure_mode(struct vl_study_ctx *ctx, struct mode_run *m, vl_error *err)
{
	int rc = guests_up(ctx, m, err);

	if (rc == 0)
		rc = bandwidth(ctx, m, err);
	if (rc < 0 || !wanted(vl_study_size(ctx->plan, "network.isolation_modes"), m->name))
		return rc;
	if (each_platform(ctx, m, "6.4", isolation, err) < 0)
		return -1;
	/* Last: the policy stays on A's device until the guest goes. */
	return each_platform(ctx, m, "6.4b", rate_policy, err);
}

/* Rows saying why no platform could be measured in a mode. */
static int mode_missing(struct vl_study_ctx *ctx, const char *mode, enum vl_status status,
                        const char *reason, vl_error *err)
{
	char variant[64];

	snprintf(variant, sizeof(variant), "mode=%s", mode);
	for (size_t i = 0; i < ctx->n_platforms; i++)
		if (vl_study_add_row(ctx,
		                     vl_study_row_missing("4.8", ctx->platforms[i]->label,
		                                          "net.stream", variant, "gbps", "Gbit/s",
		                                          1, status, reason),
		                     err) < 0)
			return -1;
	return 0;
}

/* One mode: its topology (tracked in a record of its own), the outside
 * host's endpoint, the guests, the measurements; all of it removed again. */
static int run_mode(struct vl_study_ctx *ctx, enum vl_topology_mode mode, unsigned index,
                    vl_error *err)
{
	struct mode_run *m;
	struct vl_guest_spec holder_spec = {0};
	struct vl_guest *holder = NULL;
	char id[VL_TOPOLOGY_ID_MAX + 1];
	const char *range = vl_study_size(ctx->plan, "network.range");
	struct vl_topology_opts opts = {.id = id, .range = range[0] ? range : NULL, .track = track};
	vl_error ignored = {0}, setup = {0};
	int rc;

	if (geteuid() != 0)
		return mode_missing(ctx, vl_topology_mode_name(mode), VL_STATUS_UNSUPPORTED,
		                    "the network topology needs root (namespaces, links, nftables)",
		                    err);
	m = calloc(1, sizeof(*m));
	if (!m)
		return vl_error_set(err, "allocating the network run");
	m->mode = mode;
	m->name = vl_topology_mode_name(mode);
	/* Ids and slots from the pid: two studies at once do not meet. */
	snprintf(id, sizeof(id), "s%c%04d", m->name[0], (int)(getpid() % 10000));
	opts.slot = 10 + 2 * (unsigned)(getpid() % 40) + index;
	snprintf(holder_spec.name, sizeof(holder_spec.name), "virtlab-%d-net-%s", (int)getpid(),
	         m->name);
	rc = vl_guest_new(vl_platform_find("null"), &holder_spec, &holder, err);
	opts.track_data = holder;
	if (rc == 0 && (vl_topology_create(mode, &opts, &m->t, &setup) < 0 ||
	                vl_topology_serve(m->t, &m->port, &setup) < 0)) {
		rc = vl_study_interrupted()
		             ? -1
		             : mode_missing(ctx, m->name, VL_STATUS_FAILED, setup.msg, err);
		if (vl_study_interrupted())
			*err = setup;
	} else if (rc == 0) {
		rc = measure_mode(ctx, m, err);
	}
	vl_guests_down(&m->set);
	if (vl_topology_destroy(m->t, &ignored) < 0 && rc == 0) {
		*err = ignored;
		rc = -1;
	}
	vl_guest_free(holder);
	free(m);
	return rc;
}

static int run(struct vl_study_ctx *ctx, vl_error *err)
{
	char modes[2][64];
	size_t n = vl_study_split(vl_study_size(ctx->plan, "network.modes"), modes, 2);
	enum vl_topology_mode mode[2];

	for (size_t i = 0; i < n; i++)
		if (vl_topology_mode_parse(modes[i], &mode[i], err) < 0)
			return vl_error_wrap(err, "network.modes");
	for (size_t i = 0; i < n; i++) {
		ctx->fraction = (double)i / (double)n;
		if (run_mode(ctx, mode[i], (unsigned)i, err) < 0)
			return vl_error_wrap(err, "network, %s mode", modes[i]);
	}
	return 0;
}

const struct vl_experiment vl_experiment_network = {
        .name = "network",
        .figures = "4.8, 6.4",
        .summary = "bandwidth and latency to an outside host in NAT and bridged mode, a "
                   "flooding neighbour, a rate policy",
        .run = run,
};
