/* Chapter 6's policies on a guest's cgroup: the mapping every cgroup-based
 * platform (container, qemu) shares. */
#include "platforms/entitlement.h"

int vl_entitlement_apply_cgroup(struct vl_cgroup *cg, const struct vl_entitlement *e, vl_error *err)
{
	const struct vl_cgroup_memory memory = {(int64_t)e->memory_bytes, VL_CGROUP_UNCHANGED,
	                                        VL_CGROUP_UNCHANGED};

	if (e->cpu_weight && vl_cgroup_set_cpu_weight(cg, e->cpu_weight, err) < 0)
		return -1;
	if (e->cpu_max_pct > 0 && vl_cgroup_set_cpu_max(cg, e->cpu_max_pct, err) < 0)
		return -1;
	if ((e->cpuset[0] || e->mems[0]) && vl_cgroup_set_cpuset(cg, e->cpuset, e->mems, err) < 0)
		return -1;
	if (e->memory_bytes && vl_cgroup_set_memory(cg, &memory, err) < 0)
		return -1;
	if (e->io_read_bps || e->io_write_bps) {
		if (!e->io_device[0])
			return vl_error_input(err, "an I/O throttle needs a device (MAJ:MIN)");
		/* Zero leaves a direction as it is, like every other field. */
		if (vl_cgroup_set_io_bps(
		            cg, e->io_device,
		            e->io_read_bps ? (int64_t)e->io_read_bps : VL_CGROUP_UNCHANGED,
		            e->io_write_bps ? (int64_t)e->io_write_bps : VL_CGROUP_UNCHANGED,
		            err) < 0)
			return -1;
	}
	if (e->pids_max && vl_cgroup_set_pids_max(cg, e->pids_max, err) < 0)
		return -1;
	if (e->net_classid && vl_cgroup_set_net_classid(cg, e->net_classid, err) < 0)
		return -1;
	return 0;
}
