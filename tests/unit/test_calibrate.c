/* The reference tools' parsers against outputs captured on the development
 * machine (sysbench 1.0.20, mbw 1.2.2, iperf 3.12, ioping 1.3, coreutils dd
 * 9.1), and the host facts' shape. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "study/calibrate.h"
#include "study/host_facts.h"
#include "workloads/registry.h"

static const char sysbench_cpu[] = "sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)\n"
                                   "\n"
                                   "Running the test with following options:\n"
                                   "Number of threads: 1\n"
                                   "Initializing random number generator from current time\n"
                                   "\n"
                                   "\n"
                                   "Prime numbers limit: 10000\n"
                                   "\n"
                                   "Initializing worker threads...\n"
                                   "\n"
                                   "Threads started!\n"
                                   "\n"
                                   "CPU speed:\n"
                                   "    events per second:  4875.27\n"
                                   "\n"
                                   "General statistics:\n"
                                   "    total time:                          0.4093s\n"
                                   "    total number of events:              2000\n"
                                   "\n"
                                   "Latency (ms):\n"
                                   "         min:                                    0.20\n"
                                   "         avg:                                    0.20\n"
                                   "         max:                                    0.28\n"
                                   "         95th percentile:                        0.22\n"
                                   "         sum:                                  408.63\n"
                                   "\n"
                                   "Threads fairness:\n"
                                   "    events (avg/stddev):           2000.0000/0.00\n"
                                   "    execution time (avg/stddev):   0.4086/0.00\n"
                                   "\n";

static const char sysbench_mutex[] = "sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)\n"
                                     "\n"
                                     "Running the test with following options:\n"
                                     "Number of threads: 2\n"
                                     "Initializing random number generator from current time\n"
                                     "\n"
                                     "\n"
                                     "Initializing worker threads...\n"
                                     "\n"
                                     "Threads started!\n"
                                     "\n"
                                     "\n"
                                     "General statistics:\n"
                                     "    total time:                          0.1383s\n"
                                     "    total number of events:              2\n"
                                     "\n"
                                     "Latency (ms):\n"
                                     "         min:                                  136.94\n"
                                     "         avg:                                  137.53\n"
                                     "         max:                                  138.12\n"
                                     "         95th percentile:                      137.35\n"
                                     "         sum:                                  275.06\n"
                                     "\n"
                                     "Threads fairness:\n"
                                     "    events (avg/stddev):           1.0000/0.00\n"
                                     "    execution time (avg/stddev):   0.1375/0.00\n"
                                     "\n";

/* --file-extra-flags=direct rndrd, 128 files of 2 MiB, 10000 events. */
static const char sysbench_fileio_rndrd[] =
        "sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)\n"
        "\n"
        "Running the test with following options:\n"
        "Number of threads: 1\n"
        "Initializing random number generator from current time\n"
        "\n"
        "\n"
        "Extra file open flags: directio\n"
        "128 files, 2MiB each\n"
        "256MiB total file size\n"
        "Block size 16KiB\n"
        "Number of IO requests: 10000\n"
        "Read/Write ratio for combined random IO test: 1.50\n"
        "Periodic FSYNC enabled, calling fsync() each 100 requests.\n"
        "Calling fsync() at the end of test, Enabled.\n"
        "Using synchronous I/O mode\n"
        "Doing random read test\n"
        "Initializing worker threads...\n"
        "\n"
        "Threads started!\n"
        "\n"
        "\n"
        "File operations:\n"
        "    reads/s:                      16823.36\n"
        "    writes/s:                     0.00\n"
        "    fsyncs/s:                     0.00\n"
        "\n"
        "Throughput:\n"
        "    read, MiB/s:                  262.87\n"
        "    written, MiB/s:               0.00\n"
        "\n"
        "General statistics:\n"
        "    total time:                          0.5934s\n"
        "    total number of events:              10000\n"
        "\n"
        "Latency (ms):\n"
        "         min:                                    0.05\n"
        "         avg:                                    0.06\n"
        "         max:                                    1.04\n"
        "         95th percentile:                        0.07\n"
        "         sum:                                  590.84\n"
        "\n"
        "Threads fairness:\n"
        "    events (avg/stddev):           10000.0000/0.00\n"
        "    execution time (avg/stddev):   0.5908/0.00\n"
        "\n";

/* The tail of a seqwr run: writes and fsyncs, no reads. */
static const char sysbench_fileio_seqwr[] =
        "File operations:\n"
        "    reads/s:                      0.00\n"
        "    writes/s:                     14981.89\n"
        "    fsyncs/s:                     19503.70\n"
        "\n"
        "Throughput:\n"
        "    read, MiB/s:                  0.00\n"
        "    written, MiB/s:               234.09\n"
        "\n"
        "General statistics:\n"
        "    total time:                          0.2928s\n"
        "    total number of events:              10000\n"
        "\n"
        "Latency (ms):\n"
        "         min:                                    0.00\n"
        "         avg:                                    0.03\n"
        "         max:                                    1.14\n"
        "         95th percentile:                        0.05\n"
        "         sum:                                  286.47\n"
        "\n"
        "Threads fairness:\n"
        "    events (avg/stddev):           10000.0000/0.00\n"
        "    execution time (avg/stddev):   0.2865/0.00\n"
        "\n";

/* mbw -n 3 -t0 64 (not -q: its preamble must not confuse the parser). */
static const char mbw_memcpy[] =
        "Long uses 8 bytes. Allocating 2*8388608 elements = 134217728 bytes of memory.\n"
        "Getting down to business... Doing 3 runs per test.\n"
        "0\tMethod: MEMCPY\tElapsed: 0.00465\tMiB: 64.00000\tCopy: 13760.482 MiB/s\n"
        "1\tMethod: MEMCPY\tElapsed: 0.00337\tMiB: 64.00000\tCopy: 18968.583 MiB/s\n"
        "2\tMethod: MEMCPY\tElapsed: 0.00318\tMiB: 64.00000\tCopy: 20106.817 MiB/s\n"
        "AVG\tMethod: MEMCPY\tElapsed: 0.00374\tMiB: 64.00000\tCopy: 17130.621 MiB/s\n";

static const char mbw_dumb[] =
        "0\tMethod: DUMB\tElapsed: 0.00438\tMiB: 64.00000\tCopy: 14615.209 MiB/s\n"
        "1\tMethod: DUMB\tElapsed: 0.00974\tMiB: 64.00000\tCopy: 6574.217 MiB/s\n"
        "2\tMethod: DUMB\tElapsed: 0.00381\tMiB: 64.00000\tCopy: 16775.885 MiB/s\n"
        "AVG\tMethod: DUMB\tElapsed: 0.00598\tMiB: 64.00000\tCopy: 10708.907 MiB/s\n";

static const char mbw_mcblock[] =
        "0\tMethod: MCBLOCK\tElapsed: 0.00691\tMiB: 64.00000\tCopy: 9267.304 MiB/s\n"
        "1\tMethod: MCBLOCK\tElapsed: 0.00231\tMiB: 64.00000\tCopy: 27657.736 MiB/s\n"
        "2\tMethod: MCBLOCK\tElapsed: 0.00210\tMiB: 64.00000\tCopy: 30432.715 MiB/s\n"
        "AVG\tMethod: MCBLOCK\tElapsed: 0.00377\tMiB: 64.00000\tCopy: 16956.637 MiB/s\n";

/* dd's statistics go to stderr. */
static const char dd_fdatasync[] =
        "256+0 records in\n"
        "256+0 records out\n"
        "268435456 bytes (268 MB, 256 MiB) copied, 0.777816 s, 345 MB/s\n";

static const char dd_dsync[] = "64+0 records in\n"
                               "64+0 records out\n"
                               "67108864 bytes (67 MB, 64 MiB) copied, 0.0442304 s, 1.5 GB/s\n";

/* ioping -B -c 20 -s 4096 -S 1048576 -i 0.05 -a 1 -D . */
static const char ioping_batch[] =
        "19 9386821 2024 8290773 104397 494043 3736643 850275 20 950261992\n";

/* iperf3 -c 127.0.0.1 -t 1 -J, re-serialised without whitespace. */
static const char iperf3_json[] =
        "{\"start\":{\"connected\":[{\"socket\":5,\"local_host\":\"127.0.0.1\",\"local_port\":"
        "43346,\"remote_h"
        "ost\":\"127.0.0.1\",\"remote_port\":35124}],\"version\":\"iperf "
        "3.12\",\"system_info\":\"Linux vm 6."
        "18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0 x86_64\",\"timestamp\":{\"time\":\"Wed, 25 Nov "
        "2026 20"
        ":55:32 "
        "GMT\",\"timesecs\":1795640132},\"connecting_to\":{\"host\":\"127.0.0.1\",\"port\":35124},"
        "\"co"
        "okie\":\"v2ik6gw6lmdhf4pgo4dd3lhwzwxlluvey36b\",\"tcp_mss_default\":32768,\"target_"
        "bitrate\":0,"
        "\"sock_bufsize\":0,\"sndbuf_actual\":16384,\"rcvbuf_actual\":131072,\"test_start\":{"
        "\"protocol\":\""
        "TCP\",\"num_streams\":1,\"blksize\":131072,\"omit\":0,\"duration\":1,\"bytes\":0,"
        "\"blocks\":0,\"revers"
        "e\":0,\"tos\":0,\"target_bitrate\":0}},\"intervals\":[{\"streams\":[{\"socket\":5,"
        "\"start\":0,\"end\":1"
        ".004083,\"seconds\":1.0040830373764038,\"bytes\":1221591040,\"bits_per_second\":"
        "9732988165.536"
        "02,\"retransmits\":9,\"snd_cwnd\":916762,\"snd_wnd\":5120,\"rtt\":72,\"rttvar\":34,"
        "\"pmtu\":65535,\"o"
        "mitted\":false,\"sender\":true}],\"sum\":{\"start\":0,\"end\":1.004083,\"seconds\":1."
        "00408303737640"
        "38,\"bytes\":1221591040,\"bits_per_second\":9732988165.53602,\"retransmits\":9,"
        "\"omitted\":false"
        ",\"sender\":true}}],\"end\":{\"streams\":[{\"sender\":{\"socket\":5,\"start\":0,\"end\":1."
        "004083,\"seco"
        "nds\":1.004083,\"bytes\":1221591040,\"bits_per_second\":9732988527.840826,\"retransmits\":"
        "9,\"ma"
        "x_snd_cwnd\":916762,\"max_snd_wnd\":5120,\"max_rtt\":72,\"min_rtt\":72,\"mean_rtt\":72,"
        "\"sender\":t"
        "rue},\"receiver\":{\"socket\":5,\"start\":0,\"end\":1.004851,\"seconds\":1.004083,"
        "\"bytes\":12150374"
        "40,\"bits_per_second\":9673373982.809393,\"sender\":true}}],\"sum_sent\":{\"start\":0,"
        "\"end\":1.00"
        "4083,\"seconds\":1.004083,\"bytes\":1221591040,\"bits_per_second\":9732988527.840826,"
        "\"retransm"
        "its\":9,\"sender\":true},\"sum_received\":{\"start\":0,\"end\":1.004851,\"seconds\":1."
        "004851,\"bytes"
        "\":1215037440,\"bits_per_second\":9673373982.809393,\"sender\":true},\"cpu_utilization_"
        "percent"
        "\":{\"host_total\":6.104814174073853,\"host_user\":0,\"host_system\":6.104814174073853,"
        "\"remote_"
        "total\":37.19463407837908,\"remote_user\":0.8098640606651673,\"remote_system\":36."
        "38457098501"
        "2836},\"sender_tcp_congestion\":\"bbr\",\"receiver_tcp_congestion\":\"bbr\"}}";

static struct vl_ref_output out_of(const char *out, const char *err)
{
	return (struct vl_ref_output){.out = out, .err = err, .elapsed_s = 0};
}

/* Resolved parameters of a workload with one assignment applied. */
static void params_with(struct vl_params *p, const char *workload, const char *assignment)
{
	vl_error err = {0};

	assert_int_equal(vl_params_init(p, vl_workload_find(workload), &err), 0);
	if (assignment)
		assert_int_equal(vl_params_set_assignment(p, assignment, &err), 0);
}

static void test_sysbench(void **state)
{
	struct vl_ref_output o;
	vl_error err = {0};
	double v = 0;

	(void)state;
	o = out_of(sysbench_cpu, "");
	assert_int_equal(vl_parse_sysbench_events_per_sec(&o, NULL, &v, &err), 0);
	assert_float_equal(v, 4875.27, 1e-9);
	o = out_of(sysbench_mutex, "");
	assert_int_equal(vl_parse_sysbench_total_time(&o, NULL, &v, &err), 0);
	assert_float_equal(v, 0.1383, 1e-9);
	o = out_of(sysbench_fileio_rndrd, "");
	assert_int_equal(vl_parse_sysbench_fileio_iops(&o, NULL, &v, &err), 0);
	assert_float_equal(v, 16823.36, 1e-9);
	o = out_of(sysbench_fileio_seqwr, "");
	assert_int_equal(vl_parse_sysbench_fileio_iops(&o, NULL, &v, &err), 0);
	assert_float_equal(v, 14981.89, 1e-9);
}

static void test_sysbench_missing_figure(void **state)
{
	struct vl_ref_output o = out_of("FATAL: something went wrong\n", "");
	vl_error err = {0};
	double v = 0;

	(void)state;
	/* The mutex output has a total time but no events per second. */
	assert_int_equal(vl_parse_sysbench_events_per_sec(&o, NULL, &v, &err), -1);
	assert_non_null(strstr(err.msg, "events per second:"));
	o = out_of(sysbench_mutex, "");
	assert_int_equal(vl_parse_sysbench_events_per_sec(&o, NULL, &v, &err), -1);
	assert_int_equal(vl_parse_sysbench_fileio_iops(&o, NULL, &v, &err), -1);
}

static void test_mbw_methods(void **state)
{
	struct vl_params p;
	struct vl_ref_output o;
	vl_error err = {0};
	double v = 0;

	(void)state;
	params_with(&p, "mem.copy", "methods=memcpy");
	o = out_of(mbw_memcpy, "");
	assert_int_equal(vl_parse_mbw_avg(&o, &p, &v, &err), 0);
	assert_float_equal(v, 17130.621, 1e-9);
	params_with(&p, "mem.copy", "methods=dumb");
	o = out_of(mbw_dumb, "");
	assert_int_equal(vl_parse_mbw_avg(&o, &p, &v, &err), 0);
	assert_float_equal(v, 10708.907, 1e-9);
	params_with(&p, "mem.copy", "methods=mcblock");
	o = out_of(mbw_mcblock, "");
	assert_int_equal(vl_parse_mbw_avg(&o, &p, &v, &err), 0);
	assert_float_equal(v, 16956.637, 1e-9);
	/* Another method's AVG line is not taken for this one. */
	o = out_of(mbw_memcpy, "");
	assert_int_equal(vl_parse_mbw_avg(&o, &p, &v, &err), -1);
	assert_non_null(strstr(err.msg, "MCBLOCK"));
}

static void test_dd(void **state)
{
	struct vl_ref_output o;
	vl_error err = {0};
	double v = 0;

	(void)state;
	o = out_of("", dd_fdatasync);
	assert_int_equal(vl_parse_dd_mbps(&o, NULL, &v, &err), 0);
	/* From bytes and seconds, not dd's rounded "345 MB/s". */
	assert_float_equal(v, 268435456 / 0.777816 / 1e6, 1e-9);
	o = out_of("", dd_dsync);
	assert_int_equal(vl_parse_dd_mbps(&o, NULL, &v, &err), 0);
	assert_float_equal(v, 67108864 / 0.0442304 / 1e6, 1e-9);
	o = out_of("", "dd: failed to open 'x': No such file or directory\n");
	assert_int_equal(vl_parse_dd_mbps(&o, NULL, &v, &err), -1);
}

static void test_ioping(void **state)
{
	struct vl_ref_output o = out_of(ioping_batch, "");
	vl_error err = {0};
	double v = 0;

	(void)state;
	assert_int_equal(vl_parse_ioping_avg_us(&o, NULL, &v, &err), 0);
	assert_float_equal(v, 494.043, 1e-9);
	o = out_of("4 KiB <<< . (ext4 /dev/vda): request=1 time=111.5 us\n", "");
	assert_int_equal(vl_parse_ioping_avg_us(&o, NULL, &v, &err), -1);
}

static void test_iperf3(void **state)
{
	struct vl_params p;
	struct vl_ref_output o = out_of(iperf3_json, "");
	vl_error err = {0};
	double v = 0;

	(void)state;
	params_with(&p, "net.stream", "direction=send");
	assert_int_equal(vl_parse_iperf3_gbps(&o, &p, &v, &err), 0);
	assert_float_equal(v, 9.732988527840826, 1e-12);
	/* With -R the client is the receiver. */
	params_with(&p, "net.stream", "direction=recv");
	assert_int_equal(vl_parse_iperf3_gbps(&o, &p, &v, &err), 0);
	assert_float_equal(v, 9.673373982809393, 1e-12);
	o = out_of(
	        "{\"start\": {}, \"error\": \"unable to connect to server: Connection refused\"}",
	        "");
	assert_int_equal(vl_parse_iperf3_gbps(&o, &p, &v, &err), -1);
	assert_non_null(strstr(err.msg, "Connection refused"));
	o = out_of("iperf3: error", "");
	assert_int_equal(vl_parse_iperf3_gbps(&o, &p, &v, &err), -1);
}

static void test_wall_time(void **state)
{
	struct vl_ref_output o = {.out = "", .err = "", .elapsed_s = 9.25};
	vl_error err = {0};
	double v = 0;

	(void)state;
	assert_int_equal(vl_parse_wall_time(&o, NULL, &v, &err), 0);
	assert_float_equal(v, 9.25, 1e-12);
	o.elapsed_s = 0;
	assert_int_equal(vl_parse_wall_time(&o, NULL, &v, &err), -1);
}

static void test_selection_errors(void **state)
{
	const char *unknown[] = {"cpu.nope"};
	const char *no_reference[] = {"cpu.whetstone"};
	struct vl_calibrate_options o = {.only = unknown, .n_only = 1};
	json_t *rows = NULL;
	vl_error err = {0};
	char names[512];

	(void)state;
	vl_calibrate_workloads(names, sizeof(names));
	assert_non_null(strstr(names, "cpu.primes"));
	assert_non_null(strstr(names, "net.stream"));
	assert_null(strstr(names, "cpu.whetstone"));
	/* Bad selections are refused before any guest starts. */
	assert_int_equal(vl_calibrate(&o, &rows, &err), -1);
	assert_int_equal(vl_error_exit_code(&err), 2);
	assert_non_null(strstr(err.msg, "cpu.nope"));
	o.only = no_reference;
	assert_int_equal(vl_calibrate(&o, &rows, &err), -1);
	assert_int_equal(vl_error_exit_code(&err), 2);
	assert_non_null(strstr(err.msg, "no reference tool"));
	o.only = NULL;
	o.n_only = 0;
	o.workdir = "/nonexistent/virtlab";
	assert_int_equal(vl_calibrate(&o, &rows, &err), -1);
	assert_int_equal(vl_error_exit_code(&err), 2);
	assert_null(rows);
}

static void test_version_text(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(vl_host_version_from_text("sysbench 1.0.20\n", v, sizeof(v)), 0);
	assert_string_equal(v, "1.0.20");
	assert_int_equal(vl_host_version_from_text("iperf 3.12 (cJSON 1.7.15)\n", v, sizeof(v)), 0);
	assert_string_equal(v, "3.12");
	assert_int_equal(vl_host_version_from_text("dd (coreutils) 9.1\nCopyright", v, sizeof(v)),
	                 0);
	assert_string_equal(v, "9.1");
	assert_int_equal(
	        vl_host_version_from_text("OpenSSL 3.0.19 27 Jan 2026 (Library: x)", v, sizeof(v)),
	        0);
	assert_string_equal(v, "3.0.19");
	assert_int_equal(
	        vl_host_version_from_text("stress-ng, version 0.15.06 (gcc 12.2)", v, sizeof(v)),
	        0);
	assert_string_equal(v, "0.15.06");
	assert_int_equal(vl_host_version_from_text("crun version 1.8.1\ncommit: abc", v, sizeof(v)),
	                 0);
	assert_string_equal(v, "1.8.1");
	assert_int_equal(vl_host_version_from_text("Usage: mbw [options]\n1.2", v, sizeof(v)), -1);
}

static json_t *path(json_t *root, const char *a, const char *b)
{
	json_t *v = json_object_get(root, a);
	return b ? json_object_get(v, b) : v;
}

static void test_host_facts_keys(void **state)
{
	static const char *const cgroup_versions[] = {"v1", "v2", "hybrid", "none"};
	json_t *f = NULL, *tools, *nodes;
	const char *version;
	vl_error err = {0};
	bool known = false;

	(void)state;
	assert_int_equal(vl_host_facts(&f, &err), 0);
	assert_true(json_is_string(path(f, "hostname", NULL)));
	assert_true(json_is_string(path(f, "kernel", "release")));
	assert_true(json_is_string(path(f, "cpu", "model")) ||
	            json_is_null(path(f, "cpu", "model")));
	assert_int_equal(json_integer_value(path(f, "cpu", "logical_cpus")),
	                 sysconf(_SC_NPROCESSORS_ONLN));
	assert_true(json_integer_value(path(f, "cpu", "cores")) >= 1);
	assert_true(json_integer_value(path(f, "cpu", "sockets")) >= 1);
	nodes = path(f, "cpu", "numa_nodes");
	assert_true(json_array_size(nodes) >= 1);
	assert_true(json_is_string(json_object_get(json_array_get(nodes, 0), "cpus")));
	assert_non_null(path(f, "cpu", "virtualization_flag"));
	assert_true(json_is_boolean(path(f, "cpu", "hypervisor")));
	assert_non_null(path(f, "cpu", "frequency_governor"));
	assert_true(json_integer_value(path(f, "memory", "total_bytes")) > 0);
	assert_true(json_integer_value(path(f, "memory", "available_bytes")) > 0);
	version = json_string_value(path(f, "cgroup", "version"));
	assert_non_null(version);
	for (size_t i = 0; i < 4; i++)
		known = known || strcmp(version, cgroup_versions[i]) == 0;
	assert_true(known);
	assert_true(json_is_array(path(f, "cgroup", "v1_controllers")));
	assert_true(json_is_array(path(f, "cgroup", "v2_controllers")));
	assert_true(json_is_boolean(path(f, "kvm", "present")));
	assert_true(json_is_boolean(path(f, "kvm", "usable")));
	assert_true(json_is_boolean(path(f, "kvm", "vm_created")));
	assert_true(json_is_boolean(path(f, "kvm", "guest_ran")));
	assert_non_null(path(f, "kvm", "reason"));
	/* Usable means a guest ran on a KVM that boots ordinary kernels (not
	 * kvm-pvm), and the reason says why when it is not usable. */
	assert_true(!json_is_true(path(f, "kvm", "usable")) ||
	            json_is_true(path(f, "kvm", "guest_ran")));
	assert_true(json_is_string(path(f, "kvm", "module")));
	assert_true(json_is_true(path(f, "kvm", "usable")) ||
	            json_is_string(path(f, "kvm", "reason")));
	assert_int_equal(json_array_size(path(f, "load_average", NULL)), 3);
	tools = path(f, "tools", NULL);
	assert_int_equal(json_object_size(tools), 11);
	assert_true(json_is_boolean(path(tools, "sysbench", "installed")));
	assert_true(json_is_boolean(path(tools, "qemu-system-x86_64", "installed")));
	/* dd is in coreutils, which every Debian system has. */
	assert_true(json_is_true(path(tools, "dd", "installed")));
	assert_true(json_is_string(path(tools, "dd", "version")));
	json_decref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sysbench),     cmocka_unit_test(test_sysbench_missing_figure),
	        cmocka_unit_test(test_mbw_methods),  cmocka_unit_test(test_dd),
	        cmocka_unit_test(test_ioping),       cmocka_unit_test(test_iperf3),
	        cmocka_unit_test(test_wall_time),    cmocka_unit_test(test_selection_errors),
	        cmocka_unit_test(test_version_text), cmocka_unit_test(test_host_facts_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
