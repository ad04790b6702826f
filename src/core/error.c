#include "core/error.h"

#include <stdio.h>
#include <string.h>

static int set_message(vl_error *err, enum vl_error_kind kind, int errnum, const char *fmt,
                       va_list ap)
{
	if (!err)
		return -1;
	err->kind = kind;
	err->errnum = errnum;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (errnum) {
		size_t len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	}
	return -1;
}

int vl_error_set(vl_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_message(err, VL_ERR_FAILURE, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int vl_error_errno(vl_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_message(err, VL_ERR_FAILURE, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int vl_error_input(vl_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_message(err, VL_ERR_INPUT, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int vl_error_wrap(vl_error *err, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return -1;
	if (err->kind == VL_ERR_NONE)
		err->kind = VL_ERR_FAILURE;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return -1;
}

void vl_error_clear(vl_error *err)
{
	if (!err)
		return;
	err->kind = VL_ERR_NONE;
	err->errnum = 0;
	err->msg[0] = '\0';
}

int vl_error_exit_code(const vl_error *err)
{
	if (!err || err->kind == VL_ERR_NONE)
		return 0;
	return err->kind == VL_ERR_INPUT ? 2 : 1;
}
