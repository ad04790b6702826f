/* One static table pairs each workload with its reference tool: our
 * parameters, the tool's argv built from the same resolved parameters (so
 * the two cannot drift apart), its output parser and the metric compared. */
#include "study/calibrate.h"
#include "study/workload_run.h"
#include "core/cleanup.h"
#include "core/clock.h"
#include "core/command.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/proc.h"
#include "core/stats.h"
#include "platforms/platform.h"
#include "workloads/disk_fileio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_RUNS   5
#define OURS_TIMEOUT_S 900.0
#define TOOL_TIMEOUT_S 900.0
#define SERVER_WAIT_S  5.0
#define MBW_ITERATIONS 30
#define MAX_ARGS       40
#define MAX_RUNS       1000

struct argv_buf {
	const char *argv[MAX_ARGS + 1];
	char store[4096];
	size_t used;
	unsigned argc;
};

/* One reference run's scratch directory and what its setup started. */
struct ref_env {
	char dir[PATH_MAX];
	unsigned port;
	pid_t server;
	const volatile int *stop;
};

struct pair {
	const char *workload;
	const char *variant;
	const char *params;       /* ours, as `-p` takes them, space-separated */
	const char *quick_params; /* applied on top with --quick */
	const char *metric;       /* ours; the parser gives the same unit */
	const char *tool;         /* the program, argv[0] */
	/* The tool runs once per unit of this parameter (openssl: one key per
	 * process); NULL: once. */
	const char *repeat_param;
	bool quiet_stderr; /* anything on stderr is a failure */
	void (*build)(const struct vl_params *p, const struct ref_env *env, struct argv_buf *a);
	vl_ref_parser *parse;
	/* Optional, around each reference run, in its scratch directory. */
	int (*setup)(const struct vl_params *p, struct ref_env *env, vl_error *err);
	void (*teardown)(const struct vl_params *p, struct ref_env *env);
	const char *note; /* what differs by design */
};

/* --- argv builders --- */

static void arg(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv_buf *a, const char *fmt, ...)
{
	size_t room = sizeof(a->store) - a->used;
	va_list ap;
	int n;

	if (a->argc >= MAX_ARGS)
		abort();
	va_start(ap, fmt);
	n = vsnprintf(a->store + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		abort();
	a->argv[a->argc++] = a->store + a->used;
	a->argv[a->argc] = NULL;
	a->used += (size_t)n + 1;
}

static long long ival(const struct vl_params *p, const char *name)
{
	return (long long)vl_param_int(p, name);
}

static bool has_param(const struct vl_params *p, const char *name)
{
	for (const struct vl_param_spec *s = p->workload->params; s && s->name; s++)
		if (strcmp(s->name, name) == 0)
			return true;
	return false;
}

static void build_sysbench_cpu(const struct vl_params *p, const struct ref_env *env,
                               struct argv_buf *a)
{
	(void)env;
	arg(a, "sysbench");
	arg(a, "cpu");
	arg(a, "--cpu-max-prime=%lld", ival(p, "max_prime"));
	arg(a, "--threads=%lld", ival(p, "threads"));
	arg(a, "--events=%lld", ival(p, "events"));
	arg(a, "--time=%.0f", vl_param_double(p, "time"));
	arg(a, "run");
}

static void build_sysbench_mutex(const struct vl_params *p, const struct ref_env *env,
                                 struct argv_buf *a)
{
	(void)env;
	arg(a, "sysbench");
	arg(a, "mutex");
	arg(a, "--threads=%lld", ival(p, "threads"));
	arg(a, "--mutex-num=%lld", ival(p, "mutexes"));
	arg(a, "--mutex-locks=%lld", ival(p, "locks"));
	arg(a, "--mutex-loops=%lld", ival(p, "loops"));
	arg(a, "run");
}

/* Ends with "run"; setup and teardown swap in "prepare" and "cleanup". */
static void build_sysbench_fileio(const struct vl_params *p, const struct ref_env *env,
                                  struct argv_buf *a)
{
	(void)env;
	arg(a, "sysbench");
	arg(a, "fileio");
	arg(a, "--file-test-mode=%s", vl_param_str(p, "mode"));
	arg(a, "--file-num=%lld", ival(p, "file_num"));
	arg(a, "--file-total-size=%lld", ival(p, "file_total_size"));
	arg(a, "--file-block-size=%lld", ival(p, "block"));
	arg(a, "--events=%lld", ival(p, "events"));
	arg(a, "--time=%.0f", vl_param_double(p, "time"));
	arg(a, "--file-fsync-freq=%lld", ival(p, "fsync_freq"));
	arg(a, "--file-fsync-end=%s", vl_param_bool(p, "fsync_end") ? "on" : "off");
	arg(a, "--file-fsync-mode=%s", vl_param_str(p, "fsync_mode"));
	if (has_param(p, "rw_ratio"))
		arg(a, "--file-rw-ratio=%g", vl_param_double(p, "rw_ratio"));
	if (vl_param_bool(p, "direct"))
		arg(a, "--file-extra-flags=direct");
	arg(a, "run");
}

static void build_mbw(const struct vl_params *p, const struct ref_env *env, struct argv_buf *a)
{
	/* mbw -t numbers its tests in the order of our `methods` choices. */
	static const char *const methods[] = {"memcpy", "dumb", "mcblock"};
	const char *method = vl_param_str(p, "methods");
	int t = 0;

	(void)env;
	while (t < 2 && strcmp(methods[t], method) != 0)
		t++;
	arg(a, "mbw");
	arg(a, "-q");
	arg(a, "-n");
	arg(a, "%d", MBW_ITERATIONS);
	arg(a, "-t%d", t);
	if (t == 2) {
		arg(a, "-b");
		arg(a, "%lld", ival(p, "block"));
	}
	arg(a, "%lld", ival(p, "size") / (1024 * 1024));
}

static void build_iperf3(const struct vl_params *p, const struct ref_env *env, struct argv_buf *a)
{
	arg(a, "iperf3");
	arg(a, "-c");
	arg(a, "%s", vl_param_str(p, "host"));
	arg(a, "-p");
	arg(a, "%u", env->port);
	arg(a, "-t");
	arg(a, "%.0f", vl_param_double(p, "duration"));
	arg(a, "-P");
	arg(a, "%lld", ival(p, "streams"));
	arg(a, "-l");
	arg(a, "%lld", ival(p, "buffer"));
	if (strcmp(vl_param_str(p, "direction"), "recv") == 0)
		arg(a, "-R");
	arg(a, "-J");
}

static void build_ioping(const struct vl_params *p, const struct ref_env *env, struct argv_buf *a)
{
	arg(a, "ioping");
	arg(a, "-B");
	arg(a, "-c");
	arg(a, "%lld", ival(p, "count"));
	arg(a, "-s");
	arg(a, "%lld", ival(p, "size"));
	arg(a, "-S");
	arg(a, "%lld", ival(p, "file_size"));
	arg(a, "-i");
	arg(a, "%g", vl_param_double(p, "interval"));
	arg(a, "-a");
	arg(a, "%lld", ival(p, "warmup"));
	if (vl_param_bool(p, "direct"))
		arg(a, "-D");
	arg(a, "%s", env->dir);
}

static void build_dd(const struct vl_params *p, const struct ref_env *env, struct argv_buf *a)
{
	arg(a, "dd");
	arg(a, "if=%s/source", env->dir);
	arg(a, "of=%s/copy", env->dir);
	arg(a, "bs=%lld", ival(p, "block"));
	arg(a, "%s",
	    strcmp(vl_param_str(p, "mode"), "dsync") == 0 ? "oflag=dsync" : "conv=fdatasync");
}

static void build_openssl_genrsa(const struct vl_params *p, const struct ref_env *env,
                                 struct argv_buf *a)
{
	(void)env;
	arg(a, "openssl");
	arg(a, "genrsa");
	arg(a, "-out");
	arg(a, "/dev/null");
	arg(a, "%lld", ival(p, "bits"));
}

/* --- setup and teardown --- */

static int run_checked(const char *const argv[], const struct ref_env *env,
                       struct vl_command_result *res, vl_error *err)
{
	char why[512];

	if (vl_command_run(argv, env->dir, TOOL_TIMEOUT_S, env->stop, res, err) < 0)
		return -1;
	if (res->exit_code != 0) {
		vl_command_describe_failure(res, why, sizeof(why));
		vl_command_result_release(res);
		return vl_error_set(err, "%s %s", argv[0], why);
	}
	return 0;
}

static int fileio_command(const struct vl_params *p, struct ref_env *env, const char *command,
                          vl_error *err)
{
	struct argv_buf a = {0};
	struct vl_command_result res;

	build_sysbench_fileio(p, env, &a);
	a.argv[a.argc - 1] = command;
	if (run_checked(a.argv, env, &res, err) < 0)
		return vl_error_wrap(err, "sysbench fileio %s", command);
	vl_command_result_release(&res);
	return 0;
}

static int setup_fileio(const struct vl_params *p, struct ref_env *env, vl_error *err)
{
	return fileio_command(p, env, "prepare", err);
}

static void teardown_fileio(const struct vl_params *p, struct ref_env *env)
{
	fileio_command(p, env, "cleanup", NULL);
}

/* As our disk.copy does, the source is written and synced before the copy,
 * so both read it from the page cache. */
static int setup_dd(const struct vl_params *p, struct ref_env *env, vl_error *err)
{
	struct argv_buf a = {0};
	struct vl_command_result res;

	arg(&a, "dd");
	/* Random data: storage may store or move zeros faster than data. */
	arg(&a, "if=/dev/urandom");
	arg(&a, "of=%s/source", env->dir);
	arg(&a, "bs=%lld", ival(p, "block"));
	arg(&a, "count=%lld", (ival(p, "size") + ival(p, "block") - 1) / ival(p, "block"));
	arg(&a, "iflag=fullblock");
	arg(&a, "conv=fsync");
	if (run_checked(a.argv, env, &res, err) < 0)
		return vl_error_wrap(err, "writing the source file for dd");
	vl_command_result_release(&res);
	return 0;
}

static int free_port(const char *host, unsigned *port, vl_error *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	cleanup_close int fd = -1;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return vl_error_input(err, "calibrating net.stream needs an IPv4 host, not '%s'",
		                      host);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return vl_error_errno(err, errno, "finding a free port on %s", host);
	*port = ntohs(sa.sin_port);
	return 0;
}

/* Watching /proc/net/tcp for the listener: connecting to test it would be
 * taken by `iperf3 -s -1` as its one client. */
static bool port_listening(unsigned port)
{
	cleanup_file FILE *f = fopen("/proc/net/tcp", "re");
	char line[512];

	while (f && fgets(line, sizeof(line), f)) {
		unsigned local_port, state;
		if (sscanf(line, " %*u: %*x:%x %*x:%*x %x", &local_port, &state) == 2 &&
		    local_port == port && state == 0x0A)
			return true;
	}
	return false;
}

static void teardown_iperf3(const struct vl_params *p, struct ref_env *env)
{
	bool exited = false;
	int status;

	(void)p;
	if (env->server <= 0)
		return;
	vl_proc_wait_exit(env->server, 1.0, &exited, NULL);
	if (!exited) {
		vl_proc_kill_group(env->server, SIGTERM, NULL);
		vl_proc_wait_exit(env->server, 2.0, &exited, NULL);
	}
	vl_proc_kill_group(env->server, SIGKILL, NULL);
	vl_proc_reap(env->server, &status, NULL);
	vl_interrupt_forget(env->server);
	env->server = 0;
}

/* The log goes with the scratch directory, so its last line goes in the message. */
static int server_failed(const char *log, vl_error *err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	const char *last;

	if (vl_read_file(log, &text, &len, NULL) < 0)
		return vl_error_set(err, "the iperf3 server exited at once");
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	last = strrchr(text, '\n');
	return vl_error_set(err, "the iperf3 server exited at once: %s", last ? last + 1 : text);
}

static int setup_iperf3(const struct vl_params *p, struct ref_env *env, vl_error *err)
{
	struct vl_spawn_options opts = {.new_group = true, .cwd = env->dir};
	char path[PATH_MAX], port[16], log[PATH_MAX + 32];
	const char *host = vl_param_str(p, "host");
	char *argv[] = {"iperf3", "-s", "-1",        "-B", (char *)host,
	                "-p",     port, "--logfile", log,  NULL};
	uint64_t start = vl_now_ns();
	bool exited = false;

	if (free_port(host, &env->port, err) < 0)
		return -1;
	snprintf(port, sizeof(port), "%u", env->port);
	snprintf(log, sizeof(log), "%s/iperf3-server.log", env->dir);
	if (!vl_find_program("iperf3", path, sizeof(path)))
		return vl_error_set(err, "iperf3 is not in PATH");
	if (vl_spawn(path, argv, &opts, &env->server, err) < 0)
		return vl_error_wrap(err, "starting the iperf3 server");
	if (vl_interrupt_forward_to(env->server, err) < 0)
		return -1;
	while (!port_listening(env->port)) {
		if (env->stop && *env->stop)
			return vl_error_set(err, "interrupted");
		if (vl_proc_wait_exit(env->server, 0, &exited, err) < 0 || exited)
			return server_failed(log, err);
		if (vl_seconds_since(start) > SERVER_WAIT_S)
			return vl_error_set(err,
			                    "the iperf3 server did not listen on %s:%u within "
			                    "%.0f s",
			                    host, env->port, SERVER_WAIT_S);
		vl_sleep_ns(10 * 1000 * 1000, env->stop);
	}
	return 0;
}

/* --- the pairs --- */

/* The fileio pairs differ only in mode, label and the parameters that pick them. */
#define FILEIO_PAIR(workload_name, label, mode_params)                                             \
	{                                                                                          \
		.workload = workload_name, .variant = label,                                       \
		.params = mode_params " file_num=128 file_total_size=256M block=16K events=10000 " \
		                      "time=0 fsync_freq=100 fsync_end=true fsync_mode=fsync",     \
		.quick_params = "file_total_size=64M events=4000", .metric = "iops",               \
		.tool = "sysbench", .quiet_stderr = true, .build = build_sysbench_fileio,          \
		.parse = vl_parse_sysbench_fileio_iops, .setup = setup_fileio,                     \
		.teardown = teardown_fileio,                                                       \
		.note = "files of 256 MiB in all (64 MiB with --quick) rather than the "           \
		        "workload's 1 GiB, as they are made again before every run; buffered "     \
		        "reads come from the page cache, where each tool's cost per event shows; " \
		        "direct ones from the device"                                              \
	}

static const struct pair pairs[] = {
        {
                .workload = "cpu.primes",
                .params = "max_prime=10000 threads=1 events=10000 time=0",
                .quick_params = "events=2000",
                .metric = "events_per_sec",
                .tool = "sysbench",
                .quiet_stderr = true,
                .build = build_sysbench_cpu,
                .parse = vl_parse_sysbench_events_per_sec,
        },
        {
                .workload = "cpu.mutex",
                .params = "threads=4 mutexes=4096 locks=50000 loops=10000",
                .metric = "seconds",
                .tool = "sysbench",
                .quiet_stderr = true,
                .build = build_sysbench_mutex,
                .parse = vl_parse_sysbench_total_time,
                .note = "sysbench runs one thread unless told; both get the same --threads",
        },
        {
                .workload = "cpu.rsa",
                .params = "keys=50 bits=2048 threads=1 seed=0",
                .quick_params = "keys=20",
                .metric = "seconds",
                .tool = "openssl",
                .repeat_param = "keys",
                .build = build_openssl_genrsa,
                .parse = vl_parse_wall_time,
                .note = "one `openssl genrsa` process per key, as a shell loop runs it: its "
                        "start-up (a few ms) counts against the reference; the time of one key "
                        "depends on the primes drawn, so small counts are noisy",
        },
        {
                .workload = "mem.copy",
                .variant = "memcpy",
                .params = "size=64M methods=memcpy min_time=0.1",
                .metric = "memcpy_mibps",
                .tool = "mbw",
                .quiet_stderr = true,
                .build = build_mbw,
                .parse = vl_parse_mbw_avg,
                .note = "mbw averages 30 copies (-n 30, about 0.1 s at 64 MiB); ours repeats the "
                        "copy for min_time = 0.1 s",
        },
        {
                .workload = "mem.copy",
                .variant = "dumb",
                .params = "size=64M methods=dumb min_time=0.1",
                .metric = "dumb_mibps",
                .tool = "mbw",
                .quiet_stderr = true,
                .build = build_mbw,
                .parse = vl_parse_mbw_avg,
                .note = "mbw averages 30 copies (-n 30); ours repeats the copy for min_time",
        },
        {
                .workload = "mem.copy",
                .variant = "mcblock",
                .params = "size=64M methods=mcblock block=262144 min_time=0.1",
                .metric = "mcblock_mibps",
                .tool = "mbw",
                .quiet_stderr = true,
                .build = build_mbw,
                .parse = vl_parse_mbw_avg,
                .note = "mbw averages 30 copies (-n 30); ours repeats the copy for min_time",
        },
        FILEIO_PAIR("disk.seq", "seqrd", "mode=seqrd direct=false"),
        FILEIO_PAIR("disk.seq", "seqrd direct", "mode=seqrd direct=true"),
        FILEIO_PAIR("disk.seq", "seqwr", "mode=seqwr direct=false"),
        FILEIO_PAIR("disk.rand", "rndrd", "mode=rndrd direct=false"),
        FILEIO_PAIR("disk.rand", "rndrd direct", "mode=rndrd direct=true"),
        FILEIO_PAIR("disk.rand", "rndrw", "mode=rndrw rw_ratio=1.5 direct=false"),
        {
                .workload = "disk.latency",
                .params = "count=20 size=4K file_size=1M interval=0.25 warmup=1 direct=true",
                .quick_params = "interval=0.05",
                .metric = "avg_us",
                .tool = "ioping",
                .quiet_stderr = true,
                .build = build_ioping,
                .parse = vl_parse_ioping_avg_us,
                .note = "requests 0.25 s apart (0.05 s with --quick) rather than ioping's "
                        "default 1 s, to keep the run short; both get the same -i",
        },
        {
                .workload = "disk.copy",
                .variant = "fdatasync",
                .params = "size=256M block=1M mode=fdatasync",
                .quick_params = "size=128M",
                .metric = "mbps",
                .tool = "dd",
                .build = build_dd,
                .parse = vl_parse_dd_mbps,
                .setup = setup_dd,
                .note = "256 MiB rather than the workload's 1 GiB: larger copies hit a throttle "
                        "of this VM's storage that depends on what ran before; dd's source "
                        "comes from /dev/urandom, ours is pseudo-random data it checks after "
                        "the copy; both are written and synced just before the copy",
        },
        {
                .workload = "disk.copy",
                .variant = "dsync",
                .params = "size=256M block=1M mode=dsync",
                .quick_params = "size=128M",
                .metric = "mbps",
                .tool = "dd",
                .build = build_dd,
                .parse = vl_parse_dd_mbps,
                .setup = setup_dd,
                .note = "256 MiB rather than the workload's 1 GiB: larger copies hit a throttle "
                        "of this VM's storage that depends on what ran before; dd's source "
                        "comes from /dev/urandom, ours is pseudo-random data it checks after "
                        "the copy; both are written and synced just before the copy",
        },
        {
                .workload = "net.stream",
                .params = "host=127.0.0.1 port=0 duration=5 streams=1 direction=send buffer=128K",
                .quick_params = "duration=2",
                .metric = "gbps",
                .tool = "iperf3",
                .quiet_stderr = true,
                .build = build_iperf3,
                .parse = vl_parse_iperf3_gbps,
                .setup = setup_iperf3,
                .teardown = teardown_iperf3,
                .note = "loopback; iperf3's server is its own process (`iperf3 -s -1`), ours a "
                        "thread of the agent that also runs the client",
        },
};

#define N_PAIRS (sizeof(pairs) / sizeof(pairs[0]))

const char *vl_calibrate_workloads(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_PAIRS; i++) {
		if (i > 0 && strcmp(pairs[i].workload, pairs[i - 1].workload) == 0)
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s",
		                        len ? ", " : "", pairs[i].workload);
	}
	return buf;
}

/* --- running --- */

static int resolve_params(const struct pair *pr, bool quick, struct vl_params *p, vl_error *err)
{
	const struct vl_workload *w = vl_workload_find(pr->workload);
	const char *lists[2] = {pr->params, quick ? pr->quick_params : NULL};

	if (!w)
		return vl_error_set(err, "no workload %s in this build", pr->workload);
	if (vl_params_init(p, w, err) < 0)
		return -1;
	for (int l = 0; l < 2; l++) {
		char buf[512];
		char *save = NULL;
		if (!lists[l])
			continue;
		snprintf(buf, sizeof(buf), "%s", lists[l]);
		for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (vl_params_set_assignment(p, tok, err) < 0)
				return vl_error_wrap(err, "calibration parameters of %s",
				                     pr->workload);
	}
	return vl_params_validate(p, err);
}

static int run_ours(struct vl_guest *g, const struct pair *pr, const struct vl_params *p,
                    double *value, vl_error *err)
{
	cleanup_json json_t *res = NULL;
	json_t *sample, *v;
	const char *status;

	if (vl_run_workload(g, p, 1, 0, OURS_TIMEOUT_S, &res, err) < 0)
		return -1;
	sample = json_array_get(json_object_get(res, "samples"), 0);
	status = json_string_value(json_object_get(sample, "status"));
	if (!status || strcmp(status, "ok") != 0)
		return vl_error_set(
		        err, "%s %s: %s", pr->workload, status ? status : "gave no sample",
		        json_string_value(json_object_get(sample, "reason")) ?: "no reason given");
	v = json_object_get(json_object_get(sample, "metrics"), pr->metric);
	if (!json_is_number(v))
		return vl_error_set(err, "%s reported no %s", pr->workload, pr->metric);
	*value = json_number_value(v);
	return 0;
}

static void join_argv(const struct argv_buf *a, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < a->argc; i++)
		len += (size_t)snprintf(out + len, len < size ? size - len : 0, "%s%s",
		                        i ? " " : "", a->argv[i]);
}

/* Invokes the tool (repeat_param times), keeping the last output. */
static int invoke_tool(const struct pair *pr, const struct vl_params *p, struct ref_env *env,
                       char *argv_text, size_t argv_size, double *value, vl_error *err)
{
	long long times = pr->repeat_param ? ival(p, pr->repeat_param) : 1;
	struct vl_command_result res = {0};
	struct argv_buf a = {0};
	double elapsed = 0;
	int rc;

	pr->build(p, env, &a);
	join_argv(&a, argv_text, argv_size);
	for (long long i = 0; i < times; i++) {
		vl_command_result_release(&res);
		if (run_checked(a.argv, env, &res, err) < 0)
			return -1;
		elapsed += res.elapsed_s;
		if (pr->quiet_stderr && res.err[0]) {
			vl_error_set(err, "%s wrote to stderr: %.*s", pr->tool,
			             (int)strcspn(res.err, "\n"), res.err);
			vl_command_result_release(&res);
			return -1;
		}
	}
	rc = pr->parse(
	        &(struct vl_ref_output){.out = res.out, .err = res.err, .elapsed_s = elapsed}, p,
	        value, err);
	vl_command_result_release(&res);
	if (rc < 0)
		return vl_error_wrap(err, "reading %s's output", pr->tool);
	return 0;
}

static int run_reference(const struct pair *pr, const struct vl_params *p, const char *workdir,
                         const volatile int *stop, char *argv_text, size_t argv_size, double *value,
                         vl_error *err)
{
	struct ref_env env = {.stop = stop};
	int rc;

	if (vl_disk_scratch_create(workdir, "calibrate", env.dir, sizeof(env.dir), err) < 0)
		return -1;
	rc = pr->setup ? pr->setup(p, &env, err) : 0;
	if (rc == 0)
		rc = invoke_tool(pr, p, &env, argv_text, argv_size, value, err);
	if (pr->teardown)
		pr->teardown(p, &env);
	vl_disk_scratch_remove(env.dir);
	return rc;
}

static const char *unit_of(const struct vl_workload *w, const char *metric)
{
	for (const struct vl_metric_spec *m = w->metrics; m && m->name; m++)
		if (strcmp(m->name, metric) == 0)
			return m->unit;
	return "";
}

static json_t *samples_json(const double *v, unsigned n)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *number_or_null(bool ok, double v)
{
	return ok ? json_real(v) : json_null();
}

struct outcome {
	const char *status;
	char error[1024];
	char argv_text[1024];
	double ours[MAX_RUNS], ref[MAX_RUNS];
	unsigned n_ours, n_ref;
};

static json_t *row_json(const struct pair *pr, const struct vl_params *p, const char *unit,
                        unsigned runs, const struct outcome *oc)
{
	struct vl_summary so, sr;
	bool ok = strcmp(oc->status, "ok") == 0;
	json_t *row;

	vl_summarize(oc->ours, oc->n_ours, &so);
	vl_summarize(oc->ref, oc->n_ref, &sr);
	row = json_pack("{s:s, s:o, s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:I}", "workload",
	                pr->workload, "variant",
	                pr->variant ? json_string(pr->variant) : json_null(), "metric", pr->metric,
	                "unit", unit, "params", p ? vl_params_to_json(p) : json_null(),
	                "reference_tool", pr->tool, "reference_argv",
	                oc->argv_text[0] ? json_string(oc->argv_text) : json_null(), "note",
	                pr->note ? json_string(pr->note) : json_null(), "status", oc->status,
	                "runs", (json_int_t)runs);
	if (!row)
		abort();
	if (oc->error[0])
		json_object_set_new(row, "error", json_string(oc->error));
	json_object_set_new(row, "ours", number_or_null(ok, so.median));
	json_object_set_new(row, "reference", number_or_null(ok, sr.median));
	json_object_set_new(row, "ratio",
	                    number_or_null(ok && sr.median != 0, so.median / sr.median));
	json_object_set_new(row, "ours_min", number_or_null(oc->n_ours, so.min));
	json_object_set_new(row, "ours_max", number_or_null(oc->n_ours, so.max));
	json_object_set_new(row, "reference_min", number_or_null(oc->n_ref, sr.min));
	json_object_set_new(row, "reference_max", number_or_null(oc->n_ref, sr.max));
	json_object_set_new(row, "ours_samples", samples_json(oc->ours, oc->n_ours));
	json_object_set_new(row, "reference_samples", samples_json(oc->ref, oc->n_ref));
	return row;
}

static void row_label(const struct pair *pr, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", pr->workload, pr->variant ? " " : "",
	         pr->variant ? pr->variant : "");
}

/* Fails only on interruption; everything else ends up in the row. */
static int calibrate_pair(struct vl_guest *g, const struct pair *pr,
                          const struct vl_calibrate_options *o, unsigned runs, const char *workdir,
                          json_t **row, vl_error *err)
{
	struct vl_params p = {0};
	char path[PATH_MAX], label[96];
	struct outcome *oc = calloc(1, sizeof(*oc));
	bool resolved = false;
	const char *unit = "";
	vl_error e = {0};

	if (!oc)
		return vl_error_errno(err, ENOMEM, "calibrating %s", pr->workload);
	row_label(pr, label, sizeof(label));
	oc->status = "ok";
	if (resolve_params(pr, o->quick, &p, &e) < 0) {
		oc->status = "failed";
		snprintf(oc->error, sizeof(oc->error), "%s", e.msg);
	} else if (!vl_find_program(pr->tool, path, sizeof(path))) {
		resolved = true;
		oc->status = "reference not installed";
	} else {
		resolved = true;
	}
	if (resolved)
		unit = unit_of(p.workload, pr->metric);
	for (unsigned r = 0; strcmp(oc->status, "ok") == 0 && r < runs; r++) {
		int rc = run_ours(g, pr, &p, &oc->ours[oc->n_ours], &e);
		if (rc == 0 && o->progress)
			o->progress(o->progress_arg, label, r + 1, runs, "ours",
			            oc->ours[oc->n_ours], unit);
		if (rc == 0)
			oc->n_ours++;
		if (rc == 0)
			rc = run_reference(pr, &p, workdir, o->stop, oc->argv_text,
			                   sizeof(oc->argv_text), &oc->ref[oc->n_ref], &e);
		if (rc == 0 && o->progress)
			o->progress(o->progress_arg, label, r + 1, runs, pr->tool,
			            oc->ref[oc->n_ref], unit);
		if (rc == 0)
			oc->n_ref++;
		if (o->stop && *o->stop) {
			free(oc);
			return vl_error_set(err, "interrupted while calibrating %s", label);
		}
		if (rc < 0) {
			oc->status = "failed";
			snprintf(oc->error, sizeof(oc->error), "%s", e.msg);
		}
	}
	*row = row_json(pr, resolved ? &p : NULL, unit, runs, oc);
	free(oc);
	return 0;
}

static int select_pairs(const struct vl_calibrate_options *o, bool *chosen, vl_error *err)
{
	char names[512];

	for (size_t i = 0; i < N_PAIRS; i++)
		chosen[i] = o->n_only == 0;
	for (size_t k = 0; k < o->n_only; k++) {
		bool found = false;
		for (size_t i = 0; i < N_PAIRS; i++) {
			if (strcmp(pairs[i].workload, o->only[k]) == 0)
				chosen[i] = found = true;
		}
		if (found)
			continue;
		vl_calibrate_workloads(names, sizeof(names));
		if (vl_workload_find(o->only[k]))
			return vl_error_input(err,
			                      "workload '%s' has no reference tool to calibrate "
			                      "against; choose from %s",
			                      o->only[k], names);
		return vl_error_input(err, "unknown workload '%s'; choose from %s", o->only[k],
		                      names);
	}
	return 0;
}

static int start_guest(const char *workdir, struct vl_guest **out, vl_error *err)
{
	const struct vl_platform *bare = vl_platform_find("bare");
	struct vl_guest_spec spec = {.name = "calibrate"};
	struct vl_guest *g;

	if (!bare)
		return vl_error_set(err, "the bare platform is missing from this build");
	snprintf(spec.workdir, sizeof(spec.workdir), "%s", workdir);
	if (vl_guest_new(bare, &spec, &g, err) < 0)
		return -1;
	if ((bare->provision && bare->provision(g, err) < 0) || bare->start(g, err) < 0) {
		vl_error ignored = {0};
		vl_guest_destroy(g, &ignored);
		vl_guest_free(g);
		return vl_error_wrap(err, "starting the bare platform's agent");
	}
	*out = g;
	return 0;
}

static void end_guest(struct vl_guest *g)
{
	vl_error ignored = {0};

	if (g->platform->destroy)
		vl_guest_destroy(g, &ignored);
	else
		g->platform->stop(g, &ignored);
	vl_guest_free(g);
}

int vl_calibrate(const struct vl_calibrate_options *o, json_t **rows, vl_error *err)
{
	const char *given = o->workdir && *o->workdir ? o->workdir : ".";
	char workdir[PATH_MAX];
	unsigned runs = o->runs ? o->runs : DEFAULT_RUNS;
	bool chosen[N_PAIRS];
	struct vl_guest *g = NULL;
	cleanup_json json_t *out = NULL;
	struct stat st;
	int rc = 0;

	if (runs > MAX_RUNS)
		return vl_error_input(err, "--runs must be from 1 to %d (got %u)", MAX_RUNS, runs);
	/* Absolute, since each tool runs in its own scratch directory. */
	if (!realpath(given, workdir) || stat(workdir, &st) < 0 || !S_ISDIR(st.st_mode))
		return vl_error_input(err,
		                      "work directory %s is not a directory; give an existing "
		                      "one with --workdir",
		                      given);
	if (select_pairs(o, chosen, err) < 0)
		return -1;
	if (start_guest(workdir, &g, err) < 0)
		return -1;
	out = json_array();
	for (size_t i = 0; rc == 0 && i < N_PAIRS; i++) {
		json_t *row = NULL;
		if (!chosen[i])
			continue;
		rc = calibrate_pair(g, &pairs[i], o, runs, workdir, &row, err);
		if (rc == 0)
			json_array_append_new(out, row);
	}
	end_guest(g);
	if (rc < 0)
		return -1;
	*rows = vl_steal_ptr(out);
	return 0;
}
