#include "cli/options.h"
#include "core/log.h"
#include "core/units.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vl_cli_report(const vl_error *err)
{
	vl_log(VL_LOG_ERROR, "%s", err->msg);
	return vl_error_exit_code(err);
}

int vl_cli_print(json_t *doc, bool json, void (*print_text)(json_t *doc))
{
	if (json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		print_text(doc);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int vl_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "virtlab%s%s: %s (see virtlab%s%s --help)\n", cmd ? " " : "",
	        cmd ? cmd : "", msg, cmd ? " " : "", cmd ? cmd : "");
	return 2;
}

int vl_cli_parse_uint(const char *option, const char *text, unsigned min, unsigned max,
                      unsigned *out, vl_error *err)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end || v < (long long)min || v > (long long)max)
		return vl_error_input(err, "%s must be an integer from %u to %u (got '%s')", option,
		                      min, max, text);
	*out = (unsigned)v;
	return 0;
}

int vl_cli_interrupted(int sig)
{
	vl_info("interrupted (%s)", strsignal(sig));
	return 128 + sig;
}

int vl_cli_parse_size(const char *option, const char *text, uint64_t *out, vl_error *err)
{
	if (vl_parse_size(text, out, err) < 0 || *out == 0)
		return vl_error_input(err, "%s must be a size such as 512M or 2G (got '%s')",
		                      option, text);
	return 0;
}

int vl_cli_parse_double(const char *option, const char *text, double min, double max, double *out,
                        vl_error *err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !(v >= min && v <= max))
		return vl_error_input(err, "%s must be a number from %g to %g (got '%s')", option,
		                      min, max, text);
	*out = v;
	return 0;
}

int vl_cli_parse_list(const char *option, const char *text, char *out, size_t size, vl_error *err)
{
	const char *p = text;

	/* N or N-M, comma-separated, ranges ascending. */
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi;
		if (end == p || *p == '-' || *p == '+')
			goto bad;
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p || *p == '-' || *p == '+' || hi < lo)
				goto bad;
		}
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			goto bad;
		p = end;
	}
	if (!text[0] || strlen(text) >= size)
		goto bad;
	snprintf(out, size, "%s", text);
	return 0;
bad:
	return vl_error_input(
	        err, "%s must be a list such as 0-3,6 of at most %zu characters (got '%s')", option,
	        size - 1, text);
}
