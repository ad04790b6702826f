/* Parsers of the reference tools' output (declared in calibrate.h): each
 * gives the figure in the unit of the metric it is compared with. */
#include "study/calibrate.h"
#include "core/cleanup.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number after `key` at its first occurrence. */
static int number_after(const char *text, const char *key, double *value, vl_error *err)
{
	const char *at = text ? strstr(text, key) : NULL;
	char *end;

	if (!at)
		return vl_error_set(err, "no '%s' in the output", key);
	*value = strtod(at + strlen(key), &end);
	if (end == at + strlen(key) || !isfinite(*value))
		return vl_error_set(err, "no number after '%s' in the output", key);
	return 0;
}

/* Copies the line starting at `line` into buf; returns the next line or NULL. */
static const char *take_line(const char *line, char *buf, size_t size)
{
	size_t len = strcspn(line, "\n");

	snprintf(buf, size, "%.*s", (int)len, line);
	return line[len] ? line + len + 1 : NULL;
}

int vl_parse_sysbench_events_per_sec(const struct vl_ref_output *o, const struct vl_params *p,
                                     double *value, vl_error *err)
{
	(void)p;
	return number_after(o->out, "events per second:", value, err);
}

int vl_parse_sysbench_total_time(const struct vl_ref_output *o, const struct vl_params *p,
                                 double *value, vl_error *err)
{
	(void)p;
	return number_after(o->out, "total time:", value, err);
}

/* sysbench 1.0 reports fsyncs apart; like ours, IOPS counts reads and writes. */
int vl_parse_sysbench_fileio_iops(const struct vl_ref_output *o, const struct vl_params *p,
                                  double *value, vl_error *err)
{
	double reads, writes;

	(void)p;
	if (number_after(o->out, "reads/s:", &reads, err) < 0 ||
	    number_after(o->out, "writes/s:", &writes, err) < 0)
		return -1;
	*value = reads + writes;
	return 0;
}

/* "AVG\tMethod: MEMCPY\tElapsed: ...\tCopy: 17130.621 MiB/s" for p's method. */
int vl_parse_mbw_avg(const struct vl_ref_output *o, const struct vl_params *p, double *value,
                     vl_error *err)
{
	char key[32], line[512];
	const char *next = o->out;
	size_t len;

	len = (size_t)snprintf(key, sizeof(key), "Method: %s\t", vl_param_str(p, "methods"));
	for (size_t i = strlen("Method: "); i < len; i++)
		key[i] = (char)toupper((unsigned char)key[i]);
	while (next && *next) {
		next = take_line(next, line, sizeof(line));
		if (strncmp(line, "AVG", 3) == 0 && strstr(line, key))
			return number_after(line, "Copy:", value, err);
	}
	key[len - 1] = '\0';
	return vl_error_set(err, "no 'AVG %s' line in mbw's output", key);
}

int vl_parse_iperf3_gbps(const struct vl_ref_output *o, const struct vl_params *p, double *value,
                         vl_error *err)
{
	const char *sum = p && strcmp(vl_param_str(p, "direction"), "recv") == 0 ? "sum_received"
	                                                                         : "sum_sent";
	json_error_t jerr;
	cleanup_json json_t *doc = json_loads(o->out ? o->out : "", 0, &jerr);
	json_t *bps;

	if (!doc)
		return vl_error_set(err, "iperf3 -J output is not JSON: %s (line %d)", jerr.text,
		                    jerr.line);
	if (json_is_string(json_object_get(doc, "error")))
		return vl_error_set(err, "iperf3: %s",
		                    json_string_value(json_object_get(doc, "error")));
	bps = json_object_get(json_object_get(json_object_get(doc, "end"), sum), "bits_per_second");
	if (!json_is_number(bps))
		return vl_error_set(err, "no end.%s.bits_per_second in iperf3's output", sum);
	*value = json_number_value(bps) / 1e9;
	return 0;
}

/* -B: count, time, iops, B/s, min, avg, max, mdev, total count, total time;
 * times in ns. */
int vl_parse_ioping_avg_us(const struct vl_ref_output *o, const struct vl_params *p, double *value,
                           vl_error *err)
{
	double f[10];

	(void)p;
	if (!o->out || sscanf(o->out, "%lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", &f[0], &f[1],
	                      &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]) != 10)
		return vl_error_set(err, "ioping -B gave no line of 10 numbers");
	if (f[0] < 1)
		return vl_error_set(err, "ioping measured no request");
	*value = f[5] / 1000.0;
	return 0;
}

/* From bytes and seconds rather than dd's rounded "345 MB/s". */
int vl_parse_dd_mbps(const struct vl_ref_output *o, const struct vl_params *p, double *value,
                     vl_error *err)
{
	const char *next = o->err;
	char line[512];

	(void)p;
	while (next && *next) {
		unsigned long long bytes;
		const char *copied;
		double seconds;

		next = take_line(next, line, sizeof(line));
		copied = strstr(line, " copied, ");
		if (!copied || sscanf(line, "%llu bytes", &bytes) != 1 ||
		    sscanf(copied, " copied, %lf s", &seconds) != 1)
			continue;
		if (seconds <= 0)
			return vl_error_set(err, "dd reports a copy of %llu bytes in no time",
			                    bytes);
		*value = (double)bytes / seconds / 1e6;
		return 0;
	}
	return vl_error_set(err, "no 'N bytes ... copied, S s' line in dd's output");
}

int vl_parse_wall_time(const struct vl_ref_output *o, const struct vl_params *p, double *value,
                       vl_error *err)
{
	(void)p;
	if (o->elapsed_s <= 0)
		return vl_error_set(err, "no time measured");
	*value = o->elapsed_s;
	return 0;
}
