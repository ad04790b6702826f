/* The one table of experiments, in the order the study runs them. Adding an
 * experiment: one file, one line here. */
#include "study/experiment.h"

#include <string.h>

extern const struct vl_experiment vl_experiment_cpu;
extern const struct vl_experiment vl_experiment_memory;
extern const struct vl_experiment vl_experiment_disk;
extern const struct vl_experiment vl_experiment_operations;
extern const struct vl_experiment vl_experiment_features;
extern const struct vl_experiment vl_experiment_isolation;
extern const struct vl_experiment vl_experiment_entitlement;
extern const struct vl_experiment vl_experiment_network;

static const struct vl_experiment *const experiments[] = {
        &vl_experiment_cpu,         &vl_experiment_memory,   &vl_experiment_disk,
        &vl_experiment_operations,  &vl_experiment_features, &vl_experiment_isolation,
        &vl_experiment_entitlement, &vl_experiment_network,
};

const struct vl_experiment *vl_experiment_find(const char *name)
{
	for (size_t i = 0; i < sizeof(experiments) / sizeof(experiments[0]); i++)
		if (strcmp(experiments[i]->name, name) == 0)
			return experiments[i];
	return NULL;
}

const struct vl_experiment *const *vl_experiment_all(size_t *count)
{
	*count = sizeof(experiments) / sizeof(experiments[0]);
	return experiments;
}
