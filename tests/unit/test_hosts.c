/* Hosts without a host: specs, splitting a platform list between hosts,
 * merging a host's results into a study's, and the report's view of them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hosts/host.h"
#include "report/report_model.h"
#include "report/report_view.h"
#include "study/study_hosts.h"

/* --- specs --- */

static void parse_ok(const char *spec, const char *name, const char *kind, const char *target)
{
	struct vl_host *h = NULL;
	vl_error err = {0};

	if (vl_host_parse(spec, &h, &err) < 0)
		fail_msg("'%s': %s", spec, err.msg);
	assert_string_equal(h->name, name);
	assert_string_equal(h->kind->name, kind);
	assert_string_equal(h->target, target);
	vl_host_free(h);
}

static void parse_bad(const char *spec, const char *says)
{
	struct vl_host *h = NULL;
	vl_error err = {0};

	assert_int_equal(vl_host_parse(spec, &h, &err), -1);
	assert_null(h);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	if (!strstr(err.msg, says))
		fail_msg("'%s': '%s' does not say '%s'", spec, err.msg, says);
}

static void specs(void **state)
{
	(void)state;
	parse_ok("remote=ssh:root@192.0.2.7", "remote", "ssh", "root@192.0.2.7");
	parse_ok("r2=ssh:bench.example.org:2222", "r2", "ssh", "bench.example.org:2222");
	parse_ok("v6=ssh:me@[2001:db8::7]:22", "v6", "ssh", "me@[2001:db8::7]:22");
	parse_ok("kvmlab=lab:kvm", "kvmlab", "lab", "kvm");
	parse_bad("remote", "NAME=KIND:TARGET");
	parse_bad("1st=ssh:a", "host name '1st'");
	parse_bad("a@b=ssh:a", "host name");
	parse_bad("remote=ftp:a", "unknown kind 'ftp'");
	parse_bad("remote=ssh:", "empty");
	/* Never an option to ssh. */
	parse_bad("remote=ssh:-oProxyCommand=x", "not a host name");
	parse_bad("remote=ssh:-oProxyCommand=x@a", "not a valid user");
	parse_bad("remote=ssh:a:0", "port '0'");
	parse_bad("remote=ssh:a:22x", "port '22x'");
	parse_bad("remote=ssh:[2001:db8::7", "[IPv6-ADDRESS]");
}

/* --- splitting --- */

static void split(void **state)
{
	struct vl_study_hosts hs = {0};
	char local[256];
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_study_hosts_add(&hs, "remote=ssh:root@192.0.2.7", &err), 0);
	assert_int_equal(vl_study_hosts_add(&hs, "remote=ssh:x", &err), -1);
	assert_int_equal(vl_study_hosts_check(&hs, &err), -1);
	assert_non_null(strstr(err.msg, "runs no platform"));
	/* P@LABEL that names no host stays a label of this machine. */
	assert_int_equal(vl_study_hosts_split(&hs, "bare,null@remote,bare@bare2,bare@remote", local,
	                                      sizeof(local), &err),
	                 0);
	assert_string_equal(local, "bare,bare@bare2");
	/* Each host measures its own bare, first. */
	assert_string_equal(hs.h[0].platforms, "bare,null");
	assert_string_equal(hs.h[0].spec, "ssh:root@192.0.2.7");
	assert_int_equal(vl_study_hosts_check(&hs, &err), 0);
	assert_int_equal(vl_study_hosts_split(&hs, "null@remote", local, sizeof(local), &err), -1);
	assert_non_null(strstr(err.msg, "listed twice"));
	assert_int_equal(vl_study_hosts_split(&hs, "nosuch@remote", local, sizeof(local), &err),
	                 -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	vl_study_hosts_release(&hs);
}

/* --- merging --- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static json_t *row(const char *platform, const char *variant, const char *against)
{
	json_t *r =
	        json_pack("{s:s, s:s, s:s, s:s, s:{}, s:s, s:s, s:i, s:s, s:n, s:[f,f], "
	                  "s:{s:f, s:f, s:f, s:i}, s:n}",
	                  "figure", "4.1", "platform", platform, "workload", "cpu.primes",
	                  "variant", variant, "params", "metric", "seconds", "unit", "s", "better",
	                  -1, "status", "ok", "reason", "samples", 1.0, 1.1, "summary", "median",
	                  1.05, "ci_low", 1.0, "ci_high", 1.1, "n", 2, "overhead");
	if (against)
		json_object_set_new(r, "overhead",
		                    json_pack("{s:s, s:f, s:f, s:f, s:b}", "against", against,
		                              "ratio", 1.2, "ci_low", 1.1, "ci_high", 1.3,
		                              "significant", 1));
	return r;
}

/* A study of this machine with one cpu experiment of bare and container. */
static void local_results(struct vl_results *r, const char *dir)
{
	vl_error err = {0};
	json_t *host = json_pack("{s:s}", "hostname", "here");
	json_t *plan = json_pack("{s:s}", "profile", "quick");
	json_t *platforms = json_pack("[{s:s, s:s, s:b, s:n, s:s}, {s:s, s:s, s:b, s:n, s:s}]",
	                              "name", "bare", "platform", "bare", "usable", 1, "reason",
	                              "accel", "native", "name", "container", "platform",
	                              "container", "usable", 1, "reason", "accel", "native");

	assert_int_equal(vl_results_create(r, dir, host, plan, platforms, &err), 0);
	json_decref(host);
	json_decref(plan);
	assert_int_equal(vl_results_begin(r, "cpu", &err), 0);
	assert_int_equal(vl_results_add_row(r, "cpu", row("bare", "vcpus=1", NULL), &err), 0);
	assert_int_equal(vl_results_add_row(r, "cpu", row("container", "vcpus=1", "bare"), &err),
	                 0);
	assert_int_equal(vl_results_end(r, "cpu", "done", NULL, &err), 0);
}

/* What a host's study wrote: bare and container, an overhead against bare
 * and one against a variant (a neighbour run), and an experiment this
 * machine did not run. */
static json_t *their_results(void)
{
	json_t *theirs = json_pack(
	        "{s:s, s:s, s:s, s:s, s:{s:s}, s:{}, s:[{s:s, s:s, s:b, s:n, s:s}, "
	        "{s:s, s:s, s:b, s:n, s:s}], s:{s:{s:s, s:n, s:[]}, s:{s:s, s:s, s:[]}}}",
	        "schema", VL_RESULTS_SCHEMA, "virtlab_version", "0.1.0", "started",
	        "2026-01-01T00:00:00Z", "finished", "2026-01-01T00:10:00Z", "host", "hostname",
	        "there", "plan", "platforms", "name", "bare", "platform", "bare", "usable", 1,
	        "reason", "accel", "native", "name", "container", "platform", "container", "usable",
	        1, "reason", "accel", "native", "experiments", "cpu", "status", "done", "reason",
	        "rows", "isolation", "status", "failed", "reason", "no cgroups", "rows");
	json_t *rows = json_object_get(
	        json_object_get(json_object_get(theirs, "experiments"), "cpu"), "rows");

	json_array_append_new(rows, row("bare", "vcpus=1", NULL));
	json_array_append_new(rows, row("container", "vcpus=1", "bare"));
	json_array_append_new(rows, row("container", "neighbour=stress", "neighbour=none"));
	return theirs;
}

static const char *field(json_t *rows, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(rows, i), key));
}

static void merge(void **state)
{
	char dir[] = "/tmp/virtlab-test-hosts-XXXXXX";
	struct vl_results r;
	struct vl_study_hosts hs = {0};
	json_t *theirs = their_results(), *rows, *entry, *warnings;
	vl_error err = {0};
	char local[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	local_results(&r, dir);
	assert_int_equal(vl_study_hosts_add(&hs, "remote=ssh:root@192.0.2.7", &err), 0);
	assert_int_equal(vl_study_hosts_split(&hs, "container@remote", local, sizeof(local), &err),
	                 0);
	assert_int_equal(vl_study_hosts_record(&hs, &r, &err), 0);
	/* Twice: a second merge (--resume) replaces the first. */
	for (int round = 0; round < 2; round++)
		if (vl_study_merge_host(&r, "remote", theirs, &err) < 0)
			fail_msg("merging: %s", err.msg);

	assert_int_equal(json_array_size(json_object_get(r.root, "platforms")), 4);
	assert_string_equal(field(json_object_get(r.root, "platforms"), 2, "name"), "bare@remote");
	assert_string_equal(field(json_object_get(r.root, "platforms"), 3, "host"), "remote");
	rows = json_object_get(json_object_get(json_object_get(r.root, "experiments"), "cpu"),
	                       "rows");
	assert_int_equal(json_array_size(rows), 5);
	assert_string_equal(field(rows, 1, "platform"), "container");
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_object_get(json_array_get(rows, 1), "overhead"), "against")),
	        "bare");
	assert_string_equal(field(rows, 3, "platform"), "container@remote");
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_object_get(json_array_get(rows, 3), "overhead"), "against")),
	        "bare@remote");
	/* A variant is not a platform: it stays. */
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_object_get(json_array_get(rows, 4), "overhead"), "against")),
	        "neighbour=none");
	entry = json_object_get(json_object_get(r.root, "hosts"), "remote");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(entry, "facts"), "hostname")),
	        "there");
	assert_string_equal(json_string_value(json_object_get(entry, "spec")),
	                    "ssh:root@192.0.2.7");
	/* Not run here: the host's experiment comes with its status. */
	assert_string_equal(
	        json_string_value(json_object_get(
	                json_object_get(json_object_get(r.root, "experiments"), "isolation"),
	                "status")),
	        "failed");
	warnings = json_array();
	vl_study_hosts_warnings(warnings, r.root);
	assert_int_equal(json_array_size(warnings), 1);
	assert_non_null(strstr(json_string_value(json_array_get(warnings, 0)),
	                       "host remote: experiment isolation failed: no cgroups"));
	json_decref(warnings);
	assert_int_equal(vl_results_save(&r, &err), 0);

	/* The report reads it: host and acceleration per platform, and the
	 * warning that hosts compare hardware. */
	json_object_set_new(entry, "accel", json_string("real"));
	assert_int_equal(vl_results_save(&r, &err), 0);
	{
		struct vl_report_model m;
		struct vl_report_view v;
		const char *const paths[] = {dir};
		bool warned = false;

		assert_int_equal(vl_report_model_load(&m, paths, 1, &err), 0);
		assert_string_equal(m.platforms[3].name, "container@remote");
		assert_string_equal(m.platforms[3].host, "remote");
		assert_string_equal(m.platforms[3].host_accel, "real");
		assert_null(m.platforms[0].host);
		assert_int_equal(vl_report_view_build(&v, &m, &err), 0);
		for (size_t i = 0; i < v.nwarnings; i++)
			warned |= strstr(v.warnings[i], "compares their hardware") != NULL;
		assert_true(warned);
		assert_non_null(strstr(vl_report_cell(&v.platforms, 4, 3), "remote (there)"));
		vl_report_view_free(&v);
		vl_report_model_free(&m);
	}

	/* --resume finds the hosts again. */
	{
		struct vl_study_hosts again = {0};
		assert_int_equal(vl_study_hosts_load(&again, &r, &err), 0);
		assert_int_equal(again.n, 1);
		assert_string_equal(again.h[0].platforms, "bare,container");
		vl_study_hosts_release(&again);
	}
	json_decref(theirs);
	vl_results_release(&r);
	vl_study_hosts_release(&hs);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(specs),
	        cmocka_unit_test(split),
	        cmocka_unit_test(merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
