/* The network endpoint, net.stream, net.rr and the stressors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "workloads/net_endpoint.h"
#include "workloads/workload.h"

/* Runs a workload with "key=value" settings (NULL-terminated). */
static int run_workload(const char *name, const char *const *settings, const volatile int *stop,
                        const char *workdir, struct vl_result *r, vl_error *err)
{
	const struct vl_workload *w = vl_workload_find(name);
	struct vl_run_ctx ctx = {.stop = stop, .workdir = workdir};
	struct vl_params p;

	assert_non_null(w);
	if (vl_params_init(&p, w, err) < 0)
		return -1;
	for (size_t i = 0; settings && settings[i]; i++)
		if (vl_params_set_assignment(&p, settings[i], err) < 0)
			return -1;
	return vl_workload_run_once(&p, &ctx, r, err);
}

static double metric(const struct vl_result *r, const char *name)
{
	for (int i = 0; r->workload->metrics[i].name; i++)
		if (strcmp(r->workload->metrics[i].name, name) == 0) {
			assert_true(r->set[i]);
			return r->values[i];
		}
	fail_msg("no metric %s", name);
	return 0;
}

static void assert_ok(const struct vl_result *r)
{
	if (r->status != VL_STATUS_OK)
		fail_msg("%s: %s: %s", r->workload->name, vl_status_name(r->status), r->reason);
}

static int connect_to(unsigned port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* True when the peer closes fd within timeout_ms. */
static bool closed_by_peer(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char c;

	return poll(&pfd, 1, timeout_ms) == 1 && recv(fd, &c, 1, 0) == 0;
}

static void test_endpoint_start_stop(void **state)
{
	struct vl_net_endpoint *ep = NULL;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_net_endpoint_start("127.0.0.1", 0, &ep, &err), 0);
	assert_true(vl_net_endpoint_port(ep) > 0);
	vl_net_endpoint_stop(ep);
	/* IPv6 may be missing in a sandbox; when it is there, it must work. */
	if (vl_net_endpoint_start("::1", 0, &ep, &err) == 0) {
		assert_true(vl_net_endpoint_port(ep) > 0);
		vl_net_endpoint_stop(ep);
	}
	assert_int_equal(vl_net_endpoint_start("localhost.invalid", 0, &ep, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

static void test_endpoint_survives_bad_clients(void **state)
{
	static const char garbage[VL_NET_HELLO_SIZE] = "GET / HTTP/1.0\r\n";
	unsigned char hello[VL_NET_HELLO_SIZE];
	struct vl_net_endpoint *ep = NULL;
	vl_error err = {0};
	char echo[4];
	int bad, slow, vanishing, good;
	uint64_t t;

	(void)state;
	assert_int_equal(vl_net_endpoint_start("127.0.0.1", 0, &ep, &err), 0);
	bad = connect_to(vl_net_endpoint_port(ep));
	assert_int_equal(send(bad, garbage, sizeof(garbage), 0), sizeof(garbage));
	assert_true(closed_by_peer(bad, 2000));
	close(bad);

	vanishing = connect_to(vl_net_endpoint_port(ep));
	vl_net_hello_encode(hello, VL_NET_SOURCE, 65536);
	assert_int_equal(send(vanishing, hello, sizeof(hello), 0), sizeof(hello));
	close(vanishing);

	slow = connect_to(vl_net_endpoint_port(ep));
	assert_int_equal(send(slow, hello, 5, 0), 5);

	good = connect_to(vl_net_endpoint_port(ep));
	vl_net_hello_encode(hello, VL_NET_RR, sizeof(echo));
	assert_int_equal(send(good, hello, sizeof(hello), 0), sizeof(hello));
	assert_int_equal(send(good, "ping", 4, 0), 4);
	assert_int_equal(recv(good, echo, sizeof(echo), MSG_WAITALL), 4);
	assert_memory_equal(echo, "ping", 4);

	/* stop() must not wait for the slow client's hello. */
	t = vl_now_ns();
	vl_net_endpoint_stop(ep);
	assert_true(vl_seconds_since(t) < 0.5);
	assert_true(closed_by_peer(slow, 1000));
	close(slow);
	close(good);
}

static void test_stream_both_directions(void **state)
{
	static const char *const send2[] = {"duration=0.3", "streams=2", NULL};
	static const char *const recv1[] = {"duration=0.3", "direction=recv", NULL};
	const char *const *cases[] = {send2, recv1};
	volatile int stop = 0;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct vl_result r;
		vl_error err = {0};
		assert_int_equal(run_workload("net.stream", cases[i], &stop, NULL, &r, &err), 0);
		assert_ok(&r);
		assert_true(metric(&r, "gbps") > 0);
		assert_true(metric(&r, "bytes") > 0);
		assert_true(metric(&r, "seconds") > 0.25 && metric(&r, "seconds") < 1.0);
		vl_result_release(&r);
	}
}

static void test_rr_percentiles(void **state)
{
	struct vl_net_endpoint *ep = NULL;
	struct vl_result r;
	vl_error err = {0};
	volatile int stop = 0;
	char port[32];
	const char *const settings[] = {"count=300", "size=64", port, NULL};

	(void)state;
	/* Through a separately started endpoint, as the agent's serve op runs it. */
	assert_int_equal(vl_net_endpoint_start("127.0.0.1", 0, &ep, &err), 0);
	snprintf(port, sizeof(port), "port=%u", vl_net_endpoint_port(ep));
	assert_int_equal(run_workload("net.rr", settings, &stop, NULL, &r, &err), 0);
	vl_net_endpoint_stop(ep);
	assert_ok(&r);
	assert_true(metric(&r, "p50_us") > 0);
	assert_true(metric(&r, "p50_us") <= metric(&r, "p99_us"));
	assert_true(metric(&r, "mean_us") > 0);
	assert_true(metric(&r, "transactions_per_sec") > 0);
	vl_result_release(&r);
}

static void test_unreachable_endpoint_fails(void **state)
{
	struct vl_net_endpoint *ep = NULL;
	struct vl_result r;
	vl_error err = {0};
	volatile int stop = 0;
	char port[32];
	const char *const settings[] = {"duration=0.1", port, NULL};

	(void)state;
	/* A port that was free a moment ago: nothing listens there. */
	assert_int_equal(vl_net_endpoint_start("127.0.0.1", 0, &ep, &err), 0);
	snprintf(port, sizeof(port), "port=%u", vl_net_endpoint_port(ep));
	vl_net_endpoint_stop(ep);
	assert_int_equal(run_workload("net.stream", settings, &stop, NULL, &r, &err), 0);
	assert_int_equal(r.status, VL_STATUS_FAILED);
	assert_non_null(strstr(r.reason, "connecting"));
	vl_result_release(&r);
}

struct stopper {
	volatile int *stop;
	uint64_t delay_ns;
	uint64_t stopped_at;
};

static void *stop_later(void *arg)
{
	struct stopper *s = arg;

	vl_sleep_ns(s->delay_ns, NULL);
	s->stopped_at = vl_now_ns();
	*s->stop = 1;
	return NULL;
}

/* Runs a workload, sets its stop flag from another thread after 0.2 s and
 * returns how long the run took to end after that. */
static double seconds_to_stop(const char *name, const char *const *settings, const char *workdir,
                              struct vl_result *r)
{
	volatile int stop = 0;
	struct stopper s = {.stop = &stop, .delay_ns = 200000000};
	vl_error err = {0};
	pthread_t thread;
	double late;

	assert_int_equal(pthread_create(&thread, NULL, stop_later, &s), 0);
	assert_int_equal(run_workload(name, settings, &stop, workdir, r, &err), 0);
	late = vl_seconds_since(s.stopped_at);
	pthread_join(thread, NULL);
	assert_ok(r);
	return late;
}

static void test_stream_stops_early(void **state)
{
	static const char *const settings[] = {"duration=60", NULL};
	struct vl_result r;

	(void)state;
	assert_true(seconds_to_stop("net.stream", settings, NULL, &r) < 0.5);
	assert_true(metric(&r, "seconds") < 1.0);
	vl_result_release(&r);
}

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

static void test_stressors_stop_promptly(void **state)
{
	static const char *const cpu[] = {"workers=2", NULL};
	static const char *const vm[] = {"vm_bytes=16M", NULL};
	static const char *const io[] = {NULL};
	static const char *const hdd[] = {"hdd_bytes=4M", "workers=2", NULL};
	static const char *const net[] = {"workers=2", NULL};
	static const struct {
		const char *name;
		const char *const *settings;
	} cases[] = {{"stress.cpu", cpu},
	             {"stress.vm", vm},
	             {"stress.io", io},
	             {"stress.hdd", hdd},
	             {"stress.net", net}};
	char workdir[] = "/tmp/vl-test-stress.XXXXXX";
	double sync_s;
	uint64_t t;

	(void)state;
	assert_non_null(mkdtemp(workdir));
	/* A sync() cannot be interrupted, so stress.io may finish the one it is
	 * in; other tests running alongside can make that slow. */
	t = vl_now_ns();
	sync();
	sync_s = vl_seconds_since(t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vl_result r;
		double late, allowed = 0.5 + (strcmp(cases[i].name, "stress.io") ? 0 : 4 * sync_s);

		assert_true(vl_workload_find(cases[i].name)->is_stressor);
		late = seconds_to_stop(cases[i].name, cases[i].settings, workdir, &r);
		if (late >= allowed)
			fail_msg("%s took %.3f s to stop", cases[i].name, late);
		assert_true(metric(&r, "ops") > 0);
		assert_true(metric(&r, "ops_per_sec") > 0);
		vl_result_release(&r);
	}
	assert_true(dir_is_empty(workdir));
	rmdir(workdir);
}

static void test_stressor_duration(void **state)
{
	static const char *const settings[] = {"duration=0.2", NULL};
	volatile int stop = 0;
	struct vl_result r;
	vl_error err = {0};
	uint64_t t = vl_now_ns();

	(void)state;
	assert_int_equal(run_workload("stress.cpu", settings, &stop, NULL, &r, &err), 0);
	assert_ok(&r);
	assert_true(vl_seconds_since(t) >= 0.2 && vl_seconds_since(t) < 0.7);
	vl_result_release(&r);
}

static void test_bad_params_rejected(void **state)
{
	static const struct {
		const char *workload, *setting, *param;
	} cases[] = {
	        {"net.stream", "streams=0", "'streams'"},
	        {"net.stream", "duration=0", "'duration'"},
	        {"net.stream", "direction=both", "'direction'"},
	        {"net.stream", "buffer=1", "'buffer'"},
	        {"net.stream", "port=70000", "'port'"},
	        {"net.rr", "size=0", "'size'"},
	        {"net.rr", "count=-1", "'count'"},
	        {"stress.cpu", "workers=0", "'workers'"},
	        {"stress.vm", "vm_bytes=-1", "'vm_bytes'"},
	        {"stress.hdd", "duration=-1", "'duration'"},
	        {"stress.net", "nope=1", "'nope'"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const settings[] = {cases[i].setting, NULL};
		struct vl_result r;
		vl_error err = {0};
		assert_int_equal(run_workload(cases[i].workload, settings, NULL, NULL, &r, &err),
		                 -1);
		assert_int_equal(err.kind, VL_ERR_INPUT);
		if (!strstr(err.msg, cases[i].param))
			fail_msg("%s %s: '%s'", cases[i].workload, cases[i].setting, err.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_endpoint_start_stop),
	        cmocka_unit_test(test_endpoint_survives_bad_clients),
	        cmocka_unit_test(test_stream_both_directions),
	        cmocka_unit_test(test_rr_percentiles),
	        cmocka_unit_test(test_unreachable_endpoint_fails),
	        cmocka_unit_test(test_stream_stops_early),
	        cmocka_unit_test(test_stressors_stop_promptly),
	        cmocka_unit_test(test_stressor_duration),
	        cmocka_unit_test(test_bad_params_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
