/* The one table of workloads. Adding a workload: one file, one line here. */
#include "workloads/registry.h"

#include <string.h>

static const struct vl_workload *const workloads[] = {
        &vl_workload_cpu_primes,   &vl_workload_cpu_whetstone, &vl_workload_cpu_mutex,
        &vl_workload_cpu_rsa,      &vl_workload_mem_copy,      &vl_workload_net_stream,
        &vl_workload_net_rr,       &vl_workload_disk_seq,      &vl_workload_disk_rand,
        &vl_workload_disk_latency, &vl_workload_disk_copy,     &vl_workload_stress_cpu,
        &vl_workload_stress_vm,    &vl_workload_stress_io,     &vl_workload_stress_hdd,
        &vl_workload_stress_net,   &vl_workload_null,
};

const struct vl_workload *vl_workload_find(const char *name)
{
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strcmp(workloads[i]->name, name) == 0)
			return workloads[i];
	return NULL;
}

const struct vl_workload *const *vl_workload_all(size_t *count)
{
	*count = sizeof(workloads) / sizeof(workloads[0]);
	return workloads;
}
