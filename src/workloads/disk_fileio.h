/* The file I/O engine behind disk.seq and disk.rand (sysbench 1.0 `fileio`
 * semantics), and the scratch-directory helpers every disk workload uses. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "workloads/workload.h"

/* Parameter and metric tables: disk.seq offers seqrd, seqwr and seqrewr and
 * reports MiB/s first; disk.rand offers rndrd, rndwr and rndrw (with
 * rw_ratio) and reports IOPS first. */
extern const struct vl_param_spec vl_fileio_seq_params[];
extern const struct vl_param_spec vl_fileio_rand_params[];
extern const struct vl_metric_spec vl_fileio_seq_metrics[];
extern const struct vl_metric_spec vl_fileio_rand_metrics[];

int vl_fileio_validate(const struct vl_params *p, vl_error *err);
int vl_fileio_run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
                  vl_error *err);

/* Creates a new, uniquely named directory "<workdir>/virtlab-<tag>-XXXXXX"
 * and writes its path to path[size]. */
int vl_disk_scratch_create(const char *workdir, const char *tag, char *path, size_t size,
                           vl_error *err);
/* Removes the files in a scratch directory and the directory itself; a
 * no-op on an empty path, so it can run on every exit path. */
void vl_disk_scratch_remove(const char *path);

/* splitmix64: fast, well-mixed 64-bit values for offsets and file contents
 * (not for anything secret). */
static inline uint64_t vl_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
