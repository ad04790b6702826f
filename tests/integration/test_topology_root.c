/* The network test topology on this host: both modes carry traffic from the
 * host and from a guest namespace to the outside host, a rate policy holds,
 * and nothing of virtlab is left afterwards, also after kill -9 and
 * `virtlab cleanup` (vl_cleanup_guest on the killed run's record). Each run
 * uses ids and slots of its own (t<pid>, slots 100..103), so that other
 * virtlab runs on the host are not touched. Needs root, veth, bridge, tbf
 * and nf_tables. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/cleanup.h"
#include "platforms/cleanup.h"
#include "platforms/guest_net.h"
#include "platforms/platform.h"
#include "platforms/state.h"
#include "runtime/nat.h"
#include "runtime/netlink.h"
#include "runtime/netns.h"
#include "runtime/topology.h"
#include "study/workload_run.h"
#include "workloads/workload.h"

#define SLOT_BASE  100
#define RATE_BPS   100000000ull
#define RATE_LIMIT 110e6
#define STREAM_S   "1"
#define RATE_S     "3"

static char ip_forward_before[8];
/* The crash test's child while it lives, for teardown after a failure. */
static pid_t crash_pid;

static void read_ip_forward(char *buf, size_t size)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "re");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)size, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

static void make_id(char *id, size_t size, char tag)
{
	snprintf(id, size, "%c%05d", tag, (int)(getpid() % 100000));
}

static struct vl_topology *create(enum vl_topology_mode mode, const char *id, unsigned slot)
{
	struct vl_topology_opts opts = {.id = id, .slot = SLOT_BASE + slot};
	struct vl_topology *t = NULL;
	vl_error err = {0};

	if (vl_topology_create(mode, &opts, &t, &err) < 0)
		fail_msg("%s", err.msg);
	return t;
}

static void stream_params(struct vl_params *p, const char *host, unsigned port,
                          const char *direction, const char *duration)
{
	const struct vl_workload *w = vl_workload_find("net.stream");
	char port_text[16];
	vl_error err = {0};

	assert_non_null(w);
	snprintf(port_text, sizeof(port_text), "%u", port);
	if (vl_params_init(p, w, &err) < 0 || vl_params_set(p, "host", host, &err) < 0 ||
	    vl_params_set(p, "port", port_text, &err) < 0 ||
	    vl_params_set(p, "duration", duration, &err) < 0 ||
	    vl_params_set(p, "direction", direction, &err) < 0)
		fail_msg("net.stream parameters: %s", err.msg);
}

/* net.stream once, in netns_fd (-1: on the host); gives bit/s. */
static double stream(int netns_fd, const char *host, unsigned port, const char *direction,
                     const char *duration)
{
	struct vl_params p;
	struct vl_result r;
	struct vl_run_ctx ctx = {.workdir = "/tmp"};
	vl_error err = {0};
	double bps = -1;

	stream_params(&p, host, port, direction, duration);
	if (vl_topology_run_workload(netns_fd, &p, &ctx, &r, &err) < 0)
		fail_msg("net.stream: %s", err.msg);
	if (r.status != VL_STATUS_OK)
		print_error("net.stream: %s\n", r.reason);
	else
		bps = r.values[0] * 1e9;
	vl_result_release(&r);
	return bps;
}

struct guest {
	char netns[64];
	int fd;
	struct vl_topology_port port;
};

static void guest_up(struct vl_topology *t, const char *id, struct guest *g)
{
	vl_error err = {0};

	snprintf(g->netns, sizeof(g->netns), VL_TOPOLOGY_STAND_IN_PREFIX "%s", id);
	g->fd = -1;
	if (vl_netns_create(g->netns, &err) < 0 || vl_netns_open(g->netns, &g->fd, &err) < 0 ||
	    vl_topology_attach_netns(t, g->fd, &g->port, &err) < 0)
		fail_msg("guest %s: %s", g->netns, err.msg);
}

static void guest_down(struct guest *g)
{
	vl_error err = {0};

	if (g->fd >= 0)
		close(g->fd);
	if (vl_netns_delete(g->netns, &err) < 0)
		fail_msg("%s", err.msg);
}

/* --- container guests, attached by the platform (guest_net.h) --- */

static bool container_usable(void)
{
	const struct vl_platform *p = vl_platform_find("container");
	struct vl_probe probe = {0};

	if (p)
		p->probe(&probe);
	if (!probe.usable)
		print_message("container guests skipped: %s\n",
		              p ? probe.reason : "no container platform");
	return probe.usable;
}

static struct vl_guest *container_up(const char *name, const char *id, enum vl_topology_mode mode)
{
	const struct vl_platform *p = vl_platform_find("container");
	struct vl_guest_spec spec = {0};
	struct vl_guest *g = NULL;
	vl_error err = {0};

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	snprintf(spec.net_topology, sizeof(spec.net_topology), "%s", id);
	snprintf(spec.net_mode, sizeof(spec.net_mode), "%s", vl_topology_mode_name(mode));
	if (vl_guest_new(p, &spec, &g, &err) < 0 || p->provision(g, &err) < 0 ||
	    p->start(g, &err) < 0)
		fail_msg("container guest %s: %s", name, err.msg);
	return g;
}

static void container_down(struct vl_guest *g)
{
	vl_error err = {0};

	if (g->platform->destroy(g, &err) < 0)
		fail_msg("destroying %s: %s", g->spec.name, err.msg);
	vl_guest_free(g);
}

/* net.stream once through the guest's agent; gives bit/s. */
static double guest_stream(struct vl_guest *g, const char *host, unsigned port,
                           const char *direction, const char *duration)
{
	cleanup_json json_t *out = NULL;
	struct vl_params p;
	vl_error err = {0};
	json_t *sample;

	stream_params(&p, host, port, direction, duration);
	if (vl_run_workload(g, &p, 1, 0, 60, &out, &err) < 0)
		fail_msg("net.stream in %s: %s", g->spec.name, err.msg);
	sample = json_array_get(json_object_get(out, "samples"), 0);
	if (strcmp(json_string_value(json_object_get(sample, "status")), "ok") != 0) {
		print_error("net.stream in %s: %s\n", g->spec.name,
		            json_string_value(json_object_get(sample, "reason")));
		return -1;
	}
	return json_number_value(json_object_get(json_object_get(sample, "metrics"), "gbps")) * 1e9;
}

static bool link_exists(const char *name)
{
	struct vl_netlink *nl = NULL;
	vl_error err = {0};
	bool exists = false;

	if (vl_netlink_open(-1, &nl, &err) < 0 ||
	    vl_netlink_link_exists(nl, name, &exists, &err) < 0)
		fail_msg("%s", err.msg);
	vl_netlink_close(nl);
	return exists;
}

static size_t count_links(const char *id)
{
	struct vl_netlink *nl = NULL;
	char **names = NULL;
	size_t n = 0, found = 0;
	vl_error err = {0};
	char suffix[16];

	snprintf(suffix, sizeof(suffix), "-%s", id);
	if (vl_netlink_open(-1, &nl, &err) < 0 ||
	    vl_netlink_list_links(nl, "vl-", &names, &n, &err) < 0)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (len > strlen(suffix) && strcmp(names[i] + len - strlen(suffix), suffix) == 0) {
			print_error("left: link %s\n", names[i]);
			found++;
		}
	}
	vl_netlink_names_free(names, n);
	vl_netlink_close(nl);
	return found;
}

static size_t count_tables(const char *id)
{
	char **names = NULL;
	size_t n = 0, found = 0;
	vl_error err = {0};
	char name[64];

	snprintf(name, sizeof(name), VL_NAT_TABLE_PREFIX "_%s", id);
	if (vl_nat_list_tables(VL_NAT_TABLE_PREFIX, &names, &n, &err) < 0)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < n; i++)
		found += strcmp(names[i], name) == 0;
	vl_netlink_names_free(names, n);
	return found;
}

/* IPv4 routes of the main table through a device of topology id. */
static size_t count_routes(const char *id)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[512], dev[32], suffix[16];
	size_t found = 0;

	assert_non_null(f);
	snprintf(suffix, sizeof(suffix), "-%s", id);
	while (fgets(line, sizeof(line), f)) {
		size_t len;
		if (sscanf(line, "%31s", dev) != 1 || strncmp(dev, "vl-", 3) != 0)
			continue;
		len = strlen(dev);
		if (len > strlen(suffix) && strcmp(dev + len - strlen(suffix), suffix) == 0) {
			print_error("left: route %s", line);
			found++;
		}
	}
	fclose(f);
	return found;
}

/* No netns, link, bridge, route or table of topology id, and ip_forward as
 * it was. */
static void assert_nothing_left(const char *id)
{
	char ns[64], now[8];

	snprintf(ns, sizeof(ns), VL_TOPOLOGY_NETNS_PREFIX "%s", id);
	assert_false(vl_netns_exists(ns));
	snprintf(ns, sizeof(ns), VL_TOPOLOGY_STAND_IN_PREFIX "%s", id);
	assert_false(vl_netns_exists(ns));
	assert_int_equal(count_links(id), 0);
	assert_int_equal(count_routes(id), 0);
	assert_int_equal(count_tables(id), 0);
	read_ip_forward(now, sizeof(now));
	assert_string_equal(now, ip_forward_before);
}

/* Both ways under a 100 Mbit/s policy on the port; run(direction) streams. */
static void check_rate(struct vl_topology *t, const struct vl_topology_port *port,
                       double (*run)(void *arg, const char *direction), void *arg)
{
	double to_guest, from_guest;
	vl_error err = {0};

	if (vl_topology_set_rate(t, port, RATE_BPS, &err) < 0)
		fail_msg("%s", err.msg);
	to_guest = run(arg, "recv");
	from_guest = run(arg, "send");
	print_message("%s: rate policy 100 Mbit/s on %s: outside to guest %.1f Mbit/s, "
	              "guest to outside %.1f Mbit/s\n",
	              vl_topology_mode_name(vl_topology_mode(t)), port->host_dev, to_guest / 1e6,
	              from_guest / 1e6);
	assert_true(to_guest > 0 && to_guest <= RATE_LIMIT);
	assert_true(from_guest > 0 && from_guest <= RATE_LIMIT);
}

struct rate_run {
	struct vl_topology *t;
	unsigned port;
	int netns_fd;         /* the stand-in's */
	struct vl_guest *ctr; /* or the container */
};

static double rate_stream(void *arg, const char *direction)
{
	struct rate_run *r = arg;
	const char *out = vl_topology_outside_address(r->t);

	if (r->ctr)
		return guest_stream(r->ctr, out, r->port, direction, RATE_S);
	return stream(r->netns_fd, out, r->port, direction, RATE_S);
}

static void container_name(char *buf, size_t size, char tag)
{
	snprintf(buf, size, "virtlab-nettest-%c%d", tag, (int)getpid());
}

static void traffic(enum vl_topology_mode mode, char tag, unsigned slot, bool with_rate)
{
	char id[8], name[64];
	struct vl_topology *t;
	struct guest g;
	struct vl_topology_port tap, cport;
	struct vl_guest *ctr = NULL;
	unsigned port = 0;
	double host_bps, guest_bps;
	vl_error err = {0};

	make_id(id, sizeof(id), tag);
	t = create(mode, id, slot);
	if (vl_topology_serve(t, &port, &err) < 0)
		fail_msg("%s", err.msg);
	guest_up(t, id, &g);
	host_bps = stream(-1, vl_topology_outside_address(t), port, "send", STREAM_S);
	guest_bps = stream(g.fd, vl_topology_outside_address(t), port, "send", STREAM_S);
	print_message("%s: host to outside %.2f Gbit/s, guest %s to outside %.2f Gbit/s\n",
	              vl_topology_mode_name(mode), host_bps / 1e9, g.port.address, guest_bps / 1e9);
	assert_true(host_bps > 0);
	assert_true(guest_bps > 0);
	if (access("/dev/net/tun", F_OK) == 0) {
		if (vl_topology_attach_tap(t, &tap, &err) < 0)
			fail_msg("%s", err.msg);
		assert_true(link_exists(tap.host_dev));
	}
	if (container_usable()) {
		double ctr_bps;

		container_name(name, sizeof(name), tag);
		ctr = container_up(name, id, mode);
		assert_true(vl_guest_net_port(ctr, &cport));
		assert_true(link_exists(cport.host_dev));
		ctr_bps = guest_stream(ctr, vl_topology_outside_address(t), port, "send", STREAM_S);
		print_message("%s: container %s to outside %.2f Gbit/s (%.2f of the host)\n",
		              vl_topology_mode_name(mode), cport.address, ctr_bps / 1e9,
		              ctr_bps / host_bps);
		assert_true(ctr_bps > 0);
	}
	if (with_rate) {
		struct rate_run r = {t, port, g.fd, ctr};

		check_rate(t, ctr ? &cport : &g.port, rate_stream, &r);
	}
	if (ctr) {
		container_down(ctr);
		assert_false(link_exists(cport.host_dev));
	}
	if (vl_topology_destroy(t, &err) < 0)
		fail_msg("%s", err.msg);
	guest_down(&g);
	assert_nothing_left(id);
}

static void test_bridged(void **state)
{
	(void)state;
	traffic(VL_TOPOLOGY_BRIDGED, 'b', 0, true);
}

static void test_nat(void **state)
{
	(void)state;
	traffic(VL_TOPOLOGY_NAT, 'n', 1, true);
}

static int track(void *data, const char *kind, const char *id, bool add, vl_error *err)
{
	struct vl_guest *g = data;

	return add ? vl_state_track(g, kind, id, err) : vl_state_untrack(g, kind, id, err);
}

/* The child: a NAT topology tracked in a guest record and, when containers
 * work here, a container guest attached to it; then waits to be killed. */
static void crash_child(const char *name, const char *id, const char *container, int ready_fd)
{
	struct vl_guest_spec spec = {0};
	struct vl_guest *g = NULL;
	struct vl_topology *t = NULL;
	struct vl_topology_opts opts = {.id = id, .slot = SLOT_BASE + 2, .track = track};
	vl_error err = {0};
	int lock_fd;

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	if (vl_guest_new(vl_platform_find("null"), &spec, &g, &err) < 0 ||
	    vl_state_lock(name, false, &lock_fd, &err) < 0 || vl_state_save(g, "running", &err) < 0)
		goto out;
	opts.track_data = g;
	if (vl_topology_create(VL_TOPOLOGY_NAT, &opts, &t, &err) < 0)
		goto out;
	if (container) {
		const struct vl_platform *p = vl_platform_find("container");
		struct vl_guest *c = NULL;

		snprintf(spec.name, sizeof(spec.name), "%s", container);
		snprintf(spec.net_topology, sizeof(spec.net_topology), "%s", id);
		if (vl_guest_new(p, &spec, &c, &err) < 0 || p->provision(c, &err) < 0 ||
		    p->start(c, &err) < 0)
			goto out;
	}
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	for (;;)
		pause();
out:
	fprintf(stderr, "child: %s\n", err.msg);
	_exit(2);
}

/* The pid of a guest's tracked process ("PID:STARTTIME"); 0 when there is none. */
static pid_t init_pid_of(const char *name)
{
	cleanup_json json_t *doc = NULL;
	vl_error err = {0};
	json_t *r;
	size_t i;

	if (vl_state_read(name, &doc, &err) < 0)
		return 0;
	json_array_foreach(json_object_get(doc, "resources"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "kind")), VL_RES_PROCESS) == 0)
			return (pid_t)atoi(json_string_value(json_object_get(r, "id")));
	}
	return 0;
}

/* What `virtlab cleanup` does, for every record of this test's state root;
 * false after a failure (printed). */
static bool cleanup_records(void)
{
	char **names = NULL;
	size_t n = 0;
	vl_error err = {0};
	bool ok = true;

	if (vl_state_list(&names, &n, &err) < 0) {
		print_error("cleanup: %s\n", err.msg);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (vl_cleanup_guest(names[i], false, NULL, NULL, &err) == 0)
			continue;
		print_error("cleanup of %s: %s\n", names[i], err.msg);
		ok = false;
	}
	vl_state_names_free(names, n);
	return ok;
}

/* The killed run's guest is reparented to init, which reaps it soon after
 * cleanup kills it. */
static bool gone(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_kill9_then_cleanup(void **state)
{
	char id[8], name[64], ctr[64], ns[64], table[64], c;
	int pipefd[2], status;
	bool with_container = container_usable();
	pid_t pid, init = 0;

	(void)state;
	make_id(id, sizeof(id), 'k');
	snprintf(name, sizeof(name), "virtlab-nettest-%d", (int)getpid());
	container_name(ctr, sizeof(ctr), 'k');
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	crash_pid = pid;
	if (pid == 0) {
		close(pipefd[0]);
		crash_child(name, id, with_container ? ctr : NULL, pipefd[1]);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1) {
		waitpid(pid, &status, 0);
		close(pipefd[0]);
		fail_msg("the child did not build its topology");
	}
	close(pipefd[0]);
	snprintf(ns, sizeof(ns), VL_TOPOLOGY_NETNS_PREFIX "%s", id);
	snprintf(table, sizeof(table), "vl-br-%s", id);
	assert_true(vl_netns_exists(ns));
	assert_true(link_exists(table));
	assert_int_equal(count_tables(id), 1);
	if (with_container) {
		char veth[16];

		init = init_pid_of(ctr);
		assert_true(init > 0);
		snprintf(veth, sizeof(veth), "vl-g0-%s", id);
		assert_true(link_exists(veth));
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	crash_pid = 0;
	/* The guest outlives the killed virtlab, as a persistent guest does. */
	if (with_container)
		assert_int_equal(kill(init, 0), 0);
	assert_true(cleanup_records());
	assert_nothing_left(id);
	if (with_container)
		assert_true(gone(init));
}

/* After a failed assertion, by name: whatever the test left. */
static int teardown(void **state)
{
	const char tags[] = "bnk";
	char id[8];
	vl_error err = {0};

	(void)state;
	if (crash_pid > 0) {
		kill(crash_pid, SIGKILL);
		waitpid(crash_pid, NULL, 0);
		crash_pid = 0;
	}
	cleanup_records();
	for (size_t i = 0; i < sizeof(tags) - 1; i++) {
		make_id(id, sizeof(id), tags[i]);
		if (vl_topology_cleanup(id, &err) < 0)
			print_error("teardown: %s\n", err.msg);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_teardown(test_bridged, teardown),
	        cmocka_unit_test_teardown(test_nat, teardown),
	        cmocka_unit_test_teardown(test_kill9_then_cleanup, teardown),
	};
	char state_dir[] = "/tmp/virtlab-nettest-XXXXXX";
	vl_error err = {0};
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (geteuid() != 0) {
		printf("SKIP: needs root (network namespaces, links, nftables)\n");
		return 77;
	}
	if (vl_nat_list_tables(VL_NAT_TABLE_PREFIX, &names, &n, &err) < 0) {
		printf("SKIP: nftables is not usable here: %s\n", err.msg);
		return 77;
	}
	vl_netlink_names_free(names, n);
	/* A state root of our own: the crash test's record, and the saved
	 * ip_forward of our NAT tables, stay away from other runs. */
	if (!mkdtemp(state_dir)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("VIRTLAB_STATE", state_dir, 1);
	setenv("VIRTLAB_DATA", state_dir, 1);
	read_ip_forward(ip_forward_before, sizeof(ip_forward_before));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	vl_remove_tree(state_dir, &err);
	return rc;
}
