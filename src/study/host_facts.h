/* What the host is: recorded with every study run, shown by `virtlab info`.
 * JSON shape (docs/results-schema.md, "host"):
 *   {"hostname", "kernel": {"release", "version"},
 *    "cpu": {"model", "logical_cpus", "cores", "sockets",
 *            "numa_nodes": [{"node", "cpus" ("0-3,8"), "memory_bytes"}],
 *            "virtualization_flag" ("svm", "vmx", null), "hypervisor",
 *            "frequency_governor"},
 *    "memory": {"total_bytes", "available_bytes"},
 *    "cgroup": {"version", "v1_controllers", "v2_controllers", "v2_mount"},
 *    "kvm": {"present", "usable", "api_version", "vm_created", "guest_ran", "reason"},
 *    "load_average": [1 min, 5 min, 15 min],
 *    "tools": {NAME: {"installed", "path", "version"}}}  (the reference tools
 *             and runtimes: sysbench, mbw, iperf3, ioping, dd, openssl, stress,
 *             stress-ng, qemu-system-x86_64, lxc-start, crun; in that order)
 * Unknown values are null, never guessed. */
#pragma once
#include <stddef.h>
#include <jansson.h>
#include "core/error.h"

/* Gathers every fact; *out is a new reference. */
int vl_host_facts(json_t **out, vl_error *err);

/* The pieces, for callers that need one fact (the study records load and
 * memory before each run). Each returns a new reference. */
json_t *vl_host_cpu_facts(void);
json_t *vl_host_memory_facts(void);
json_t *vl_host_cgroup_facts(void);
json_t *vl_host_kvm_facts(void);
json_t *vl_host_load_average(void);
/* {"installed", "path", "version"} for one program; version is its own
 * report (or its Debian package's version), null when unknown. */
json_t *vl_host_tool_facts(const char *name);
/* The first dotted number on the first line of a tool's version output
 * ("iperf 3.12 (cJSON 1.7.15)" -> "3.12"); -1 when there is none. */
int vl_host_version_from_text(const char *text, char *out, size_t size);
