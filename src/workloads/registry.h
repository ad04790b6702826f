/* Each workload file defines exactly one of these. */
#pragma once
#include "workloads/workload.h"

extern const struct vl_workload vl_workload_cpu_primes;
extern const struct vl_workload vl_workload_cpu_whetstone;
extern const struct vl_workload vl_workload_cpu_mutex;
extern const struct vl_workload vl_workload_cpu_rsa;
extern const struct vl_workload vl_workload_mem_copy;
extern const struct vl_workload vl_workload_net_stream;
extern const struct vl_workload vl_workload_net_rr;
extern const struct vl_workload vl_workload_disk_seq;
extern const struct vl_workload vl_workload_disk_rand;
extern const struct vl_workload vl_workload_disk_latency;
extern const struct vl_workload vl_workload_disk_copy;
extern const struct vl_workload vl_workload_stress_cpu;
extern const struct vl_workload vl_workload_stress_vm;
extern const struct vl_workload vl_workload_stress_io;
extern const struct vl_workload vl_workload_stress_hdd;
extern const struct vl_workload vl_workload_stress_net;
extern const struct vl_workload vl_workload_null;
