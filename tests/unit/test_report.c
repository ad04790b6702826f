/* The report from a hand-written results.json (tests/unit/data/report/): every
 * format is written, the HTML draws one chart with bars per figure, the
 * Markdown has the tables, the CSV parses, and bad files give one-line errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/file.h"
#include "report/report.h"
#include "report/report_model.h"
#include "report/report_view.h"
#include "report/svg_chart.h"

static const char *data_dir(void)
{
	const char *d = getenv("VL_REPORT_DATA");
	return d ? d : "tests/unit/data/report";
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_tmp(void **state)
{
	char *dir = strdup("/tmp/virtlab-test-report.XXXXXX");

	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown_tmp(void **state)
{
	nftw(*state, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

static char *slurp(const char *dir, const char *file)
{
	char path[512];
	char *data = NULL;
	size_t len;
	vl_error err = {0};

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (vl_read_file(path, &data, &len, &err) < 0)
		fail_msg("%s", err.msg);
	return data;
}

static size_t count(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void write_report(const char *out, unsigned formats)
{
	const char *dirs[] = {data_dir()};
	vl_error err = {0};

	if (vl_report_write(dirs, 1, out, formats, &err) < 0)
		fail_msg("%s", err.msg);
}

/* The figures the fixture has rows for that are charts (not chapter 5's tables). */
static size_t expected_charts(char ids[][8], size_t max)
{
	char path[512];
	cleanup_json json_t *root = NULL;
	json_t *e, *row;
	const char *name;
	size_t n = 0, i;

	snprintf(path, sizeof(path), "%s/results.json", data_dir());
	root = json_load_file(path, 0, NULL);
	assert_non_null(root);
	json_object_foreach(json_object_get(root, "experiments"), name, e)
	        json_array_foreach(json_object_get(e, "rows"), i, row)
	{
		const char *fig = json_string_value(json_object_get(row, "figure"));
		size_t j;
		if (strncmp(fig, "5.", 2) == 0)
			continue;
		for (j = 0; j < n && strcmp(ids[j], fig) != 0; j++)
			;
		if (j == n && n < max)
			snprintf(ids[n++], 8, "%s", fig);
	}
	return n;
}

static void test_every_format_written(void **state)
{
	const char *out = *state;
	const char *files[] = {"report.html", "report.md", "results.csv", "report.json"};

	write_report(out, VL_REPORT_ALL);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		cleanup_free char *data = slurp(out, files[i]);
		assert_true(strlen(data) > 100);
	}
}

static void test_html_one_chart_with_bars_per_figure(void **state)
{
	const char *out = *state;
	char ids[32][8], title[64];
	size_t n = expected_charts(ids, 32);
	cleanup_free char *html = NULL;
	const char *p;

	write_report(out, VL_REPORT_HTML);
	html = slurp(out, "report.html");
	assert_true(n >= 5);
	assert_int_equal(count(html, "<svg"), n);
	for (size_t i = 0; i < n; i++) {
		snprintf(title, sizeof(title), "Figure %s:", ids[i]);
		assert_non_null(strstr(html, title));
	}
	/* Every chart has bars of its own. */
	for (p = strstr(html, "<svg"); p; p = strstr(p + 1, "<svg")) {
		const char *end = strstr(p, "</svg>");
		const char *bar = strstr(p, "class=\"bar\"");
		assert_non_null(end);
		assert_non_null(bar);
		assert_true(bar < end);
	}
	/* Self-contained: no script, nothing fetched. */
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, " src="));
	assert_null(strstr(html, "href=\"http"));
	/* The fixture's qemu ran under TCG. */
	assert_non_null(strstr(html, "software emulation, not representative of KVM"));
	/* An unsupported figure says why. */
	assert_non_null(strstr(html, "memory overcommit needs KVM"));
}

static void test_md_has_the_tables(void **state)
{
	const char *out = *state;
	cleanup_free char *md = NULL;

	write_report(out, VL_REPORT_MD);
	md = slurp(out, "report.md");
	assert_non_null(strstr(md, "## At a glance"));
	assert_non_null(strstr(md, "| bare | native | the baseline | the baseline |"));
	assert_non_null(strstr(md, "## Table 5.2: Operational features and constraints"));
	assert_non_null(strstr(md, "| feature | bare | container | qemu |"));
	assert_non_null(strstr(md, "### Table 5.1: Operational metrics"));
	assert_non_null(strstr(md, "| provision |"));
	assert_non_null(strstr(md, "| platform | usable | acceleration | host | reason |"));
	assert_non_null(strstr(md, "| xen | no | none | this study's machine"));
	assert_non_null(strstr(md, "| xen: not a Xen dom0 |"));
	assert_non_null(strstr(md, "no significant difference"));
	/* Nothing in the fixture measures memory isolation. */
	assert_non_null(strstr(md, "isolates memory best (figure 6.3)?** not measured"));
}

/* RFC 4180: returns the number of fields of the record at *p and moves past it. */
static size_t csv_record(const char **p)
{
	size_t fields = 1;
	const char *s = *p;

	while (*s && !(s[0] == '\r' && s[1] == '\n')) {
		if (*s == '"') {
			for (s++; *s && !(s[0] == '"' && s[1] != '"'); s += s[0] == '"' ? 2 : 1)
				;
			assert_int_equal(*s, '"');
			s++;
			continue;
		}
		if (*s == ',')
			fields++;
		else
			assert_true(*s != '\n' && *s != '\r');
		s++;
	}
	assert_true(s[0] == '\r' && s[1] == '\n');
	*p = s + 2;
	return fields;
}

static void test_csv_parses(void **state)
{
	const char *out = *state;
	cleanup_free char *csv = NULL;
	char path[512];
	cleanup_json json_t *root = NULL;
	json_t *e;
	const char *p, *name;
	size_t header, records = 0, rows = 0;

	write_report(out, VL_REPORT_CSV);
	csv = slurp(out, "results.csv");
	p = csv;
	header = csv_record(&p);
	assert_true(header > 20);
	while (*p) {
		assert_int_equal(csv_record(&p), header);
		records++;
	}
	snprintf(path, sizeof(path), "%s/results.json", data_dir());
	root = json_load_file(path, 0, NULL);
	json_object_foreach(json_object_get(root, "experiments"), name, e) rows +=
	        json_array_size(json_object_get(e, "rows"));
	assert_int_equal(records, rows);
}

static void test_json_normalised(void **state)
{
	const char *out = *state;
	char path[512];
	cleanup_json json_t *doc = NULL;

	write_report(out, VL_REPORT_JSON);
	snprintf(path, sizeof(path), "%s/report.json", out);
	doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), "virtlab-report/1");
	assert_true(json_array_size(json_object_get(doc, "rows")) > 50);
	assert_true(json_array_size(json_object_get(doc, "answers")) > 5);
}

/* The answers follow from the data, not from the platforms' names. */
static void test_answers(void **state)
{
	const char *dirs[] = {data_dir()};
	struct vl_report_model m;
	struct vl_report_view v;
	vl_error err = {0};
	const char *provision = NULL, *cpu = NULL, *memory = NULL;

	(void)state;
	assert_int_equal(vl_report_model_load(&m, dirs, 1, &err), 0);
	assert_int_equal(vl_report_view_build(&v, &m, &err), 0);
	for (size_t i = 0; i < v.nanswers; i++) {
		if (strstr(v.answers[i].question, "provisions"))
			provision = v.answers[i].answer;
		if (strstr(v.answers[i].question, "isolates CPU"))
			cpu = v.answers[i].answer;
		if (strstr(v.answers[i].question, "isolates memory"))
			memory = v.answers[i].answer;
	}
	assert_non_null(provision);
	assert_true(strncmp(provision, "container (", 11) == 0);
	assert_non_null(strstr(cpu, ": container ("));
	assert_string_equal(memory, "not measured");
	vl_report_view_free(&v);
	vl_report_model_free(&m);
}

/* Writes text as DIR/results.json and expects a one-line input error naming
 * the file and containing what. */
static void expect_bad(const char *dir, const char *text, const char *what)
{
	char path[512];
	const char *dirs[] = {dir};
	vl_error err = {0};

	snprintf(path, sizeof(path), "%s/results.json", dir);
	assert_int_equal(vl_write_file_atomic(path, text, strlen(text), &err), 0);
	assert_int_equal(vl_report_write(dirs, 1, dir, VL_REPORT_ALL, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_int_equal(vl_error_exit_code(&err), 2);
	assert_null(strchr(err.msg, '\n'));
	assert_non_null(strstr(err.msg, path));
	if (!strstr(err.msg, what))
		fail_msg("'%s' does not say '%s'", err.msg, what);
}

#define HEAD                                                                                       \
	"{\"schema\": \"virtlab-results/1\", \"host\": {}, \"plan\": {}, \"platforms\": "          \
	"[{\"name\": \"bare\", \"usable\": true, \"accel\": \"native\"}], "

static void test_malformed_files(void **state)
{
	const char *dir = *state;
	const char *dirs[] = {dir};
	char sub[512];
	vl_error err = {0};

	expect_bad(dir, "{\"schema\": ", "not valid JSON");
	expect_bad(dir, "{\"schema\": \"virtlab-results/9\"}", "virtlab-results/9");
	expect_bad(dir, HEAD "\"experiments\": 3}", "experiments");
	expect_bad(dir,
	           HEAD "\"experiments\": {\"cpu\": {\"status\": \"done\", \"rows\": [{\"figure\": "
	                "\"4.1\", \"platform\": \"kvm\"}]}}}",
	           "experiments.cpu.rows[0]: platform 'kvm' is not in \"platforms\"");
	expect_bad(dir,
	           HEAD
	           "\"experiments\": {\"cpu\": {\"status\": \"done\", \"rows\": [{\"figure\": "
	           "\"4.1\", \"platform\": \"bare\", \"workload\": \"cpu.primes\", \"metric\": "
	           "\"seconds\", \"unit\": \"s\", \"better\": -1, \"status\": \"ok\", "
	           "\"samples\": [1, \"x\"], \"summary\": null}]}}}",
	           "\"samples\"[1] must be a number");
	expect_bad(dir, HEAD "\"experiments\": {\"cpu\": {\"status\": \"finished\"}}}",
	           "expected one of done, partial");
	/* A directory without results. */
	snprintf(sub, sizeof(sub), "%s/empty", dir);
	assert_int_equal(vl_mkdir_p(sub, 0755, &err), 0);
	dirs[0] = sub;
	assert_int_equal(vl_report_write(dirs, 1, NULL, VL_REPORT_ALL, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_non_null(strstr(err.msg, "no results.json"));
}

static void test_merge_hosts(void **state)
{
	const char *dir = *state;
	char a[512], b[512], path[512];
	cleanup_free char *text = slurp(data_dir(), "results.json");
	cleanup_free char *md = NULL;
	cleanup_free char *other = NULL;
	const char *dirs[2] = {a, b};
	vl_error err = {0};
	char *host;

	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	assert_int_equal(vl_mkdir_p(a, 0755, &err), 0);
	assert_int_equal(vl_mkdir_p(b, 0755, &err), 0);
	snprintf(path, sizeof(path), "%s/results.json", a);
	assert_int_equal(vl_write_file_atomic(path, text, strlen(text), &err), 0);
	/* The same study from another host. */
	host = strstr(text, "virtlab-fixture");
	assert_non_null(host);
	other = strdup(text);
	memcpy(other + (host - text), "virtlab-otherhs", strlen("virtlab-fixture"));
	snprintf(path, sizeof(path), "%s/results.json", b);
	assert_int_equal(vl_write_file_atomic(path, other, strlen(other), &err), 0);
	/* Merged reports need a home of their own. */
	assert_int_equal(vl_report_write(dirs, 2, NULL, VL_REPORT_MD, &err), -1);
	assert_int_equal(err.kind, VL_ERR_INPUT);
	assert_int_equal(vl_report_write(dirs, 2, dir, VL_REPORT_MD, &err), 0);
	md = slurp(dir, "report.md");
	assert_non_null(strstr(md, "container @ virtlab-fixture"));
	assert_non_null(strstr(md, "container @ virtlab-otherhs"));
}

static void test_chart_marks_missing_bars(void **state)
{
	const char *cats[] = {"16M", "64M"}, *sers[] = {"bare", "qemu"};
	const double value[] = {10, NAN, 8, 4}, lo[] = {9, NAN, 7, 3}, hi[] = {11, NAN, 9, 5};
	const char *missing[] = {NULL, "unsupported", NULL, NULL};
	struct vl_chart c = {
	        .kind = VL_CHART_GROUPED,
	        .id = "t",
	        .title = "T <&>",
	        .desc = "d",
	        .unit = "MiB/s",
	        .ncat = 2,
	        .nser = 2,
	        .categories = cats,
	        .series = sers,
	        .value = value,
	        .ci_low = lo,
	        .ci_high = hi,
	        .missing = missing,
	};
	char *svg = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&svg, &len);

	(void)state;
	vl_svg_chart_write(out, &c);
	fclose(out);
	assert_int_equal(count(svg, "class=\"bar\""), 3);
	assert_int_equal(count(svg, "class=\"err\""), 3);
	assert_non_null(strstr(svg, ">unsupported<"));
	assert_non_null(strstr(svg, "T &lt;&amp;&gt;"));
	free(svg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_every_format_written, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_html_one_chart_with_bars_per_figure, setup_tmp,
	                                        teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_md_has_the_tables, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_csv_parses, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_json_normalised, setup_tmp, teardown_tmp),
	        cmocka_unit_test(test_answers),
	        cmocka_unit_test_setup_teardown(test_malformed_files, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_merge_hosts, setup_tmp, teardown_tmp),
	        cmocka_unit_test(test_chart_marks_missing_bars),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
