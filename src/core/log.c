#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static enum vl_log_level current_level = VL_LOG_WARN;

void vl_log_set_level(enum vl_log_level level)
{
	current_level = level;
}

enum vl_log_level vl_log_get_level(void)
{
	return current_level;
}

void vl_log(enum vl_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {"", "error", "warning", "info", "debug"};
	va_list ap;

	if (level > current_level || level == VL_LOG_QUIET)
		return;
	fprintf(stderr, "virtlab: %s: ", prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
