/* Thesis figures 4.9-4.11: sequential and random file I/O (execution time of
 * a fixed number of requests, as the thesis plots it), request latency
 * (ioping's figure, with the random I/O of 4.10) and file copies (4.11). */
#include "study/experiment.h"

#include <stdio.h>
#include <string.h>

struct disk_figure {
	const char *figure;
	const char *workload;
	const char *modes_key; /* NULL: one run, no mode */
	const char *mode_param;
	const char *metric;
};

static const struct disk_figure figures[] = {
        {"4.9", "disk.seq", "disk.seq.modes", "mode", "seconds"},
        {"4.10", "disk.rand", "disk.rand.modes", "mode", "seconds"},
        {"4.10", "disk.latency", NULL, NULL, "avg_us"},
        {"4.11", "disk.copy", "disk.copy.modes", "mode", "mbps"},
};

#define N_FIGURES (sizeof(figures) / sizeof(figures[0]))

static void args_for(const struct vl_study_plan *p, const char *workload, char a[][96],
                     const char **args)
{
	size_t n = 0;

	if (strcmp(workload, "disk.latency") == 0) {
		snprintf(a[n++], 96, "count=%s", vl_study_size(p, "disk.latency.count"));
		snprintf(a[n++], 96, "interval=%s", vl_study_size(p, "disk.latency.interval"));
	} else if (strcmp(workload, "disk.copy") == 0) {
		snprintf(a[n++], 96, "size=%s", vl_study_size(p, "disk.copy.size"));
	} else {
		snprintf(a[n++], 96, "file_num=%s", vl_study_size(p, "disk.file_num"));
		snprintf(a[n++], 96, "file_total_size=%s",
		         vl_study_size(p, "disk.file_total_size"));
		snprintf(a[n++], 96, "events=%s", vl_study_size(p, "disk.events"));
	}
	for (size_t i = 0; i < n; i++)
		args[i] = a[i];
	args[n] = NULL;
}

static int measure(struct vl_study_ctx *ctx, struct vl_guest **g, char down[][VL_DOWN_MAX],
                   const struct disk_figure *f, const char *mode, vl_error *err)
{
	struct vl_cell cells[VL_STUDY_MAX_PLATFORMS];
	char a[5][96], variant[64];
	const char *args[6];

	args_for(ctx->plan, f->workload, a, args);
	variant[0] = '\0';
	if (mode) {
		size_t n = 0;
		while (args[n])
			n++;
		snprintf(a[n], 96, "%s=%s", f->mode_param, mode);
		args[n] = a[n];
		args[n + 1] = NULL;
		snprintf(variant, sizeof(variant), "mode=%s", mode);
	}
	for (size_t i = 0; i < ctx->n_platforms; i++) {
		if (vl_cell_init(&cells[i], ctx->platforms[i], g[i], f->workload, variant, args,
		                 err) < 0)
			return -1;
		cells[i].metric = f->metric;
		cells[i].down = down[i];
	}
	return vl_cells_measure(ctx, f->figure, cells, ctx->n_platforms, err);
}

static int run(struct vl_study_ctx *ctx, vl_error *err)
{
	struct vl_guests set = {0};
	struct vl_guest *g[VL_STUDY_MAX_PLATFORMS];
	char down[VL_STUDY_MAX_PLATFORMS][VL_DOWN_MAX];
	int rc = vl_guests_up_each(ctx, &set, NULL, g, down, err);

	for (size_t f = 0; rc == 0 && f < N_FIGURES; f++) {
		char modes[8][64];
		size_t n_modes = 1;

		ctx->fraction = (double)f / N_FIGURES;
		if (figures[f].modes_key)
			n_modes = vl_study_split(vl_study_size(ctx->plan, figures[f].modes_key),
			                         modes, 8);
		for (size_t m = 0; rc == 0 && m < n_modes; m++)
			rc = measure(ctx, g, down, &figures[f],
			             figures[f].modes_key ? modes[m] : NULL, err);
	}
	vl_guests_down(&set);
	return rc;
}

const struct vl_experiment vl_experiment_disk = {
        .name = "disk",
        .figures = "4.9-4.11",
        .summary = "sequential and random file I/O, request latency and file copies",
        .run = run,
};
