/* What the network topology checks before it touches the kernel: prefixes,
 * modes, ids, address plans, nft names and rates (runtime/topology.h,
 * netlink.h, nat.h). No root needed: every case fails on input first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "platforms/guest_net.h"
#include "runtime/nat.h"
#include "runtime/netlink.h"
#include "runtime/topology.h"

static void test_cidr_parses_address_and_length(void **state)
{
	uint32_t addr;
	unsigned prefix;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_netlink_parse_cidr("10.213.0.0/16", &addr, &prefix, &err), 0);
	assert_int_equal(ntohl(addr), 0x0ad50000);
	assert_int_equal(prefix, 16);
	assert_int_equal(vl_netlink_parse_cidr("192.168.1.7/32", &addr, &prefix, &err), 0);
	assert_int_equal(prefix, 32);
}

static void test_bad_cidr_is_input_error(void **state)
{
	const char *bad[] = {"10.213.0.0",    "10.213.0.0/33", "10.213.0/16", "10.213.0.0/",
	                     "10.213.0.0/1x", "/16",           "fe80::1/64"};
	uint32_t addr;
	unsigned prefix;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vl_error err = {0};
		assert_int_equal(vl_netlink_parse_cidr(bad[i], &addr, &prefix, &err), -1);
		assert_int_equal(err.kind, VL_ERR_INPUT);
		assert_non_null(strstr(err.msg, bad[i]));
	}
}

static void test_modes(void **state)
{
	enum vl_topology_mode mode;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_topology_mode_parse("nat", &mode, &err), 0);
	assert_int_equal(mode, VL_TOPOLOGY_NAT);
	assert_string_equal(vl_topology_mode_name(mode), "nat");
	assert_int_equal(vl_topology_mode_parse("bridged", &mode, &err), 0);
	assert_string_equal(vl_topology_mode_name(mode), "bridged");
	assert_int_equal(vl_topology_mode_parse("routed", &mode, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "nat or bridged"));
}

/* These fail before any namespace or link exists. */
static void expect_input_error(const char *id, const char *range, unsigned slot, const char *what)
{
	struct vl_topology_opts opts = {.id = id, .range = range, .slot = slot};
	struct vl_topology *t = NULL;
	vl_error err = {0};

	assert_int_equal(vl_topology_create(VL_TOPOLOGY_NAT, &opts, &t, &err), -1);
	assert_null(t);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, what));
}

static void test_bad_ids_ranges_and_slots(void **state)
{
	(void)state;
	expect_input_error("", NULL, 0, "bad topology id");
	expect_input_error("toolong7", NULL, 0, "bad topology id");
	expect_input_error("Ab", NULL, 0, "bad topology id");
	expect_input_error("a-b", NULL, 0, "bad topology id");
	expect_input_error("ok1", "10.213.0.0/24", 0, "too small");
	expect_input_error("ok1", "10.213.0.0/23", 1, "slot 1 does not fit");
	expect_input_error("ok1", "10.213.0.0/16", 128, "slot 128 does not fit");
	expect_input_error("ok1", "10.213.0.0", 0, "bad IPv4 prefix");
}

static void test_nft_names_cannot_inject(void **state)
{
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_nat_create("x; flush ruleset", "10.0.0.0/24", "vl-o-a", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	vl_error_clear(&err);
	assert_int_equal(vl_nat_create("virtlab_nat_a", "10.0.0.0/24", "eth0\" accept", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	vl_error_clear(&err);
	assert_int_equal(vl_nat_create("virtlab_nat_a", "10.0.0.0", "vl-o-a", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	vl_error_clear(&err);
	assert_int_equal(vl_nat_delete("../x", &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

/* A topology that is not up: an input error naming the command that makes it. */
static void test_open_missing_topology(void **state)
{
	struct vl_topology_opts opts = {.id = "nx0000"};
	struct vl_topology *t = NULL;
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_topology_open(&opts, &t, &err), -1);
	assert_null(t);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "virtlab net up --id nx0000"));
	opts.id = "Bad/Id";
	assert_int_equal(vl_topology_open(&opts, &t, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
}

/* What a guest got comes back from its record, as a later command reads it. */
static void test_guest_port_from_record(void **state)
{
	struct vl_guest g = {.record = json_object()};
	struct vl_topology_port port;

	(void)state;
	assert_false(vl_guest_net_wanted(&g));
	assert_false(vl_guest_net_port(&g, &port));
	snprintf(g.spec.net_topology, sizeof(g.spec.net_topology), "s1");
	assert_true(vl_guest_net_wanted(&g));
	json_object_set_new(g.record, "net",
	                    json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:s}", "topology", "s1",
	                              "mode", "nat", "index", 3, "host_dev", "vl-g3-s1", "address",
	                              "10.213.1.13", "prefix", 24, "gateway", "10.213.1.1"));
	assert_true(vl_guest_net_port(&g, &port));
	assert_int_equal(port.index, 3);
	assert_int_equal(port.prefix, 24);
	assert_string_equal(port.host_dev, "vl-g3-s1");
	assert_string_equal(port.address, "10.213.1.13");
	assert_string_equal(port.gateway, "10.213.1.1");
	json_decref(g.record);
}

static void test_rate_below_a_byte_is_input_error(void **state)
{
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_netlink_set_rate(NULL, "vl-g0-a", 7, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "vl-g0-a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cidr_parses_address_and_length),
	        cmocka_unit_test(test_bad_cidr_is_input_error),
	        cmocka_unit_test(test_modes),
	        cmocka_unit_test(test_bad_ids_ranges_and_slots),
	        cmocka_unit_test(test_nft_names_cannot_inject),
	        cmocka_unit_test(test_rate_below_a_byte_is_input_error),
	        cmocka_unit_test(test_open_missing_topology),
	        cmocka_unit_test(test_guest_port_from_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
