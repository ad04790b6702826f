/* disk.seq: sequential file I/O with sysbench 1.0 `fileio` semantics (thesis
 * w4, "10,000 sequential reads, writes and mixed"); the engine is
 * disk_fileio.c. MiB/s is the primary metric, as sequential I/O is about
 * bandwidth; IOPS is proportional to it (block bytes per operation). */
#include "workloads/registry.h"
#include "workloads/disk_fileio.h"

const struct vl_workload vl_workload_disk_seq = {
        .name = "disk.seq",
        .summary = "sequential file I/O (sysbench fileio seqrd, seqwr, seqrewr)",
        .thesis = "w4 (sequential file I/O)",
        .params = vl_fileio_seq_params,
        .metrics = vl_fileio_seq_metrics,
        .validate = vl_fileio_validate,
        .run = vl_fileio_run,
};
