/* Thesis figures 4.5-4.7: mem.copy at several array sizes with the guest's
 * memory equal to the host's (4.5), below it (4.6: 5/8, the thesis's 5 GB of
 * 8) and above it (4.7: 5/4, overcommit). A platform that cannot start a
 * guest that size gets unsupported rows saying why. */
#include "study/experiment.h"
#include "core/units.h"

#include <stdio.h>
#include <string.h>

struct guest_memory {
	const char *name;
	const char *figure;
	unsigned num, den; /* of the host's memory */
};

static const struct guest_memory variants[] = {
        {"equal", "4.5", 1, 1},
        {"below", "4.6", 5, 8},
        {"above", "4.7", 5, 4},
};

static const struct guest_memory *find_variant(const char *name)
{
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (strcmp(variants[i].name, name) == 0)
			return &variants[i];
	return NULL;
}

static const char *metric_of(const char *method)
{
	if (strcmp(method, "dumb") == 0)
		return "dumb_mibps";
	if (strcmp(method, "mcblock") == 0)
		return "mcblock_mibps";
	return "memcpy_mibps";
}

static int unsupported_rows(struct vl_study_ctx *ctx, const struct guest_memory *v,
                            const struct vl_study_platform *sp, char sizes[][64], size_t n_sizes,
                            char methods[][64], size_t n_methods, const char *reason, vl_error *err)
{
	for (size_t s = 0; s < n_sizes; s++)
		for (size_t m = 0; m < n_methods; m++) {
			char variant[96];
			snprintf(variant, sizeof(variant), "size=%s method=%s", sizes[s],
			         methods[m]);
			if (vl_study_add_row(ctx,
			                     vl_study_row_missing(v->figure, sp->label, "mem.copy",
			                                          variant, metric_of(methods[m]),
			                                          "MiB/s", 1, VL_STATUS_UNSUPPORTED,
			                                          reason),
			                     err) < 0)
				return -1;
		}
	return 0;
}

static int run_variant(struct vl_study_ctx *ctx, const struct guest_memory *v, char sizes[][64],
                       size_t n_sizes, char methods[][64], size_t n_methods, vl_error *err)
{
	const struct vl_study_platform *up[VL_STUDY_MAX_PLATFORMS];
	struct vl_guest *g[VL_STUDY_MAX_PLATFORMS], *live[VL_STUDY_MAX_PLATFORMS];
	const char *why[VL_STUDY_MAX_PLATFORMS];
	char down[VL_STUDY_MAX_PLATFORMS][VL_DOWN_MAX];
	struct vl_guest_spec spec = {.memory_bytes = vl_study_host_memory(ctx) / v->den * v->num};
	struct vl_guests set = {0};
	size_t n_up = 0;
	char min_time[64];
	int rc;

	snprintf(min_time, sizeof(min_time), "min_time=%s",
	         vl_study_size(ctx->plan, "mem.min_time"));
	rc = vl_guests_up_each(ctx, &set, &spec, g, down, err);
	/* A guest bigger than the host that does not start is what the
	 * platform cannot do (unsupported); any other that does not start is
	 * a failure, shown in its cells' rows. */
	for (size_t i = 0; rc == 0 && i < ctx->n_platforms; i++) {
		if (!g[i] && v->num > v->den) {
			rc = unsupported_rows(ctx, v, ctx->platforms[i], sizes, n_sizes, methods,
			                      n_methods, down[i], err);
			continue;
		}
		up[n_up] = ctx->platforms[i];
		why[n_up] = down[i];
		live[n_up++] = g[i];
	}
	for (size_t s = 0; rc == 0 && s < n_sizes; s++)
		for (size_t m = 0; rc == 0 && m < n_methods; m++) {
			struct vl_cell cells[VL_STUDY_MAX_PLATFORMS];
			char size[80], method[80], variant[96];
			const char *args[] = {size, method, min_time, NULL};

			snprintf(size, sizeof(size), "size=%s", sizes[s]);
			snprintf(method, sizeof(method), "methods=%s", methods[m]);
			snprintf(variant, sizeof(variant), "size=%s method=%s", sizes[s],
			         methods[m]);
			for (size_t i = 0; rc == 0 && i < n_up; i++) {
				rc = vl_cell_init(&cells[i], up[i], live[i], "mem.copy", variant,
				                  args, err);
				cells[i].metric = metric_of(methods[m]);
				cells[i].down = why[i];
			}
			if (rc == 0)
				rc = vl_cells_measure(ctx, v->figure, cells, n_up, err);
		}
	vl_guests_down(&set);
	if (rc < 0)
		return vl_error_wrap(err, "guest memory %s", v->name);
	return 0;
}

static int run(struct vl_study_ctx *ctx, vl_error *err)
{
	char guests[3][64], sizes[16][64], methods[3][64];
	size_t n_guests = vl_study_split(vl_study_size(ctx->plan, "mem.guest"), guests, 3);
	size_t n_sizes = vl_study_split(vl_study_size(ctx->plan, "mem.sizes"), sizes, 16);
	size_t n_methods = vl_study_split(vl_study_size(ctx->plan, "mem.methods"), methods, 3);

	for (size_t m = 0; m < n_methods; m++)
		if (strcmp(methods[m], "memcpy") && strcmp(methods[m], "dumb") &&
		    strcmp(methods[m], "mcblock"))
			return vl_error_input(err,
			                      "mem.methods: '%s' is not memcpy, dumb or mcblock",
			                      methods[m]);
	for (size_t i = 0; i < n_guests; i++) {
		const struct guest_memory *v = find_variant(guests[i]);
		if (!v)
			return vl_error_input(err, "mem.guest: '%s' is not equal, below or above",
			                      guests[i]);
		ctx->fraction = (double)i / (double)n_guests;
		if (run_variant(ctx, v, sizes, n_sizes, methods, n_methods, err) < 0)
			return -1;
	}
	return 0;
}

const struct vl_experiment vl_experiment_memory = {
        .name = "memory",
        .figures = "4.5-4.7",
        .summary = "mem.copy with the guest's memory equal to, below and above the host's",
        .run = run,
};
