#include "cli/options.h"
#include "core/log.h"

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
