/* stress.vm: stress --vm semantics. Each worker allocates vm_bytes, writes
 * one byte every vm_stride bytes (touching every page at the default 4096),
 * checks those bytes as stress 1.0.4 does, frees, and starts again. One bogo
 * op is one full allocate-touch-check-free cycle. Workers are threads, not
 * stress's processes: each cycle still maps and unmaps its own memory, but
 * the unmaps of threads sharing one address space also flush each other's
 * TLBs, a cost that stays inside the stressed guest. */
#include "workloads/registry.h"
#include "workloads/stress_runner.h"

#include <errno.h>
#include <stdlib.h>

static const struct vl_param_spec params[] = {
        VL_STRESS_PARAMS,
        {.name = "vm_bytes",
         .type = VL_PARAM_SIZE,
         .def = "256M",
         .min = 4096,
         .max = 1ull << 40,
         .help = "bytes each worker allocates per cycle (stress --vm-bytes)"},
        {.name = "vm_stride",
         .type = VL_PARAM_SIZE,
         .def = "4096",
         .min = 1,
         .max = 1ull << 30,
         .help = "distance between touched bytes (stress --vm-stride)"},
        {0},
};

struct vm_job {
	size_t bytes;
	size_t stride;
};

static int cycle(void *arg, unsigned worker, const volatile int *quit, uint64_t *ops, vl_error *err)
{
	const struct vm_job *job = arg;
	uint64_t n = 0;

	(void)worker;
	while (!*quit) {
		/* volatile: the stores and loads must really happen, although the
		 * memory is freed unread by anyone else. */
		volatile char *mem = malloc(job->bytes);
		size_t touched = 0;

		if (!mem) {
			*ops = n;
			return vl_error_errno(err, ENOMEM, "allocating %zu bytes", job->bytes);
		}
		for (; touched < job->bytes && !*quit; touched += job->stride)
			mem[touched] = 'Z';
		for (size_t i = 0; i < touched; i += job->stride) {
			if (mem[i] != 'Z') {
				free((void *)mem);
				*ops = n;
				return vl_error_set(err, "memory check failed at offset %zu", i);
			}
		}
		free((void *)mem);
		if (touched >= job->bytes)
			n++;
	}
	*ops = n;
	return 0;
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	struct vm_job job = {.bytes = (size_t)vl_param_int(p, "vm_bytes"),
	                     .stride = (size_t)vl_param_int(p, "vm_stride")};

	return vl_stress_run(p, ctx, cycle, &job, r, err);
}

const struct vl_workload vl_workload_stress_vm = {
        .name = "stress.vm",
        .summary =
                "memory stressor: workers allocate, touch, check and free vm_bytes (stress --vm)",
        .thesis = "isolation experiments (chapter 6)",
        .params = params,
        .metrics = vl_stress_metrics,
        .run = run,
        .is_stressor = true,
};
