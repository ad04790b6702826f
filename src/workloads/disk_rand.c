/* disk.rand: random file I/O with sysbench 1.0 `fileio` semantics (thesis
 * w4, "10000 each of random reads, random writes and mixed"); the engine is
 * disk_fileio.c. IOPS is the primary metric. */
#include "workloads/registry.h"
#include "workloads/disk_fileio.h"

const struct vl_workload vl_workload_disk_rand = {
        .name = "disk.rand",
        .summary = "random file I/O (sysbench fileio rndrd, rndwr, rndrw)",
        .thesis = "w4 (random file I/O)",
        .params = vl_fileio_rand_params,
        .metrics = vl_fileio_rand_metrics,
        .validate = vl_fileio_validate,
        .run = vl_fileio_run,
};
