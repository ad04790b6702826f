/* Two guests of one platform sharing the host (thesis chapter 6): guest A
 * runs a workload alone, then while guest B runs the matching stressor.
 * Shared by the isolation and entitlement experiments. */
#pragma once
#include "study/experiment.h"

enum vl_resource { VL_RESOURCE_CPU, VL_RESOURCE_MEMORY, VL_RESOURCE_DISK, VL_N_RESOURCES };

struct vl_neighbour_run {
	struct vl_cell cell; /* A's workload */
	const char *stressor;
	struct vl_series alone;
	struct vl_series stressed;
	bool survived;        /* B's stressor answered its stop with an ok sample */
	double neighbour_ops; /* B's own figure, ops/s; < 0 when it has none */
	char neighbour_reason[256];
};

/* "cpu", "memory", "disk"; -1 for another name. */
int vl_resource_from_name(const char *name);
const char *vl_resource_name(enum vl_resource r);
/* The thesis's figure of the resource's isolation (6.2, 6.3, 6.5). */
const char *vl_resource_figure(enum vl_resource r);

/* Measures A alone and stressed. lift (may be NULL) is applied to B before
 * its stressor is stopped: a writer held by an I/O throttle takes minutes to
 * die otherwise. Release the series with vl_neighbour_release. */
int vl_neighbour_measure(struct vl_study_ctx *ctx, const struct vl_study_platform *sp,
                         struct vl_guest *a, struct vl_guest *b, enum vl_resource r,
                         const struct vl_entitlement *lift, struct vl_neighbour_run *out,
                         vl_error *err);
void vl_neighbour_release(struct vl_neighbour_run *run);
/* Writes A's two rows (variants "<prefix>neighbour=none" and
 * "<prefix>neighbour=STRESSOR", the second with its overhead against the
 * first: the thesis's % increase) and B's row. *ratio gets the stressed row's
 * cost ratio (0 when there is none). */
int vl_neighbour_write(struct vl_study_ctx *ctx, const char *figure, const char *prefix,
                       const struct vl_neighbour_run *run, double *ratio, vl_error *err);
