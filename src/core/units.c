#include "core/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int vl_parse_size(const char *text, uint64_t *out, vl_error *err)
{
	static const char suffixes[] = "kmgtp";
	char *end;
	double value;
	uint64_t mult = 1;

	if (!text || !*text || text[0] == '-')
		return vl_error_input(err, "'%s' is not a size (use a number with k, M, G or T)",
		                      text ? text : "");
	errno = 0;
	value = strtod(text, &end);
	if (errno || end == text || !isfinite(value) || value < 0)
		return vl_error_input(err, "'%s' is not a size (use a number with k, M, G or T)",
		                      text);
	if (*end) {
		const char *s = strchr(suffixes, tolower((unsigned char)*end));
		if (s) {
			for (long i = 0; i <= s - suffixes; i++)
				mult *= 1024;
			end++;
			if (strcasecmp(end, "ib") == 0 || strcasecmp(end, "b") == 0)
				end += strlen(end);
		} else if (strcasecmp(end, "b") == 0) {
			end++;
		}
	}
	if (*end)
		return vl_error_input(err, "'%s' is not a size (use a number with k, M, G or T)",
		                      text);
	if (value * (double)mult > 18446744073709549568.0)
		return vl_error_input(err, "size '%s' is too large", text);
	*out = (uint64_t)(value * (double)mult);
	return 0;
}

int vl_parse_duration(const char *text, double *seconds, vl_error *err)
{
	static const struct {
		const char *suffix;
		double scale;
	} units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1},
	             {"m", 60},    {"h", 3600},  {"", 1}};
	char *end;
	double value;

	if (!text || !*text)
		return vl_error_input(err, "empty duration (use e.g. 10s or 250ms)");
	errno = 0;
	value = strtod(text, &end);
	if (errno || end == text || !isfinite(value) || value < 0)
		return vl_error_input(err, "'%s' is not a duration (use e.g. 10s or 250ms)", text);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			*seconds = value * units[i].scale;
			return 0;
		}
	}
	return vl_error_input(err, "'%s' is not a duration (use e.g. 10s or 250ms)", text);
}

const char *vl_format_size(uint64_t bytes, char *buf, unsigned size)
{
	static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	unsigned i = 0;

	while (v >= 1024.0 && i + 1 < sizeof(names) / sizeof(names[0])) {
		v /= 1024.0;
		i++;
	}
	if (i == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.4g %s", v, names[i]);
	return buf;
}
