/* The error idiom: every fallible call returns int (0 ok, -1 failed) and takes
 * vl_error *err last. Callers add context with vl_error_wrap() and pass it up;
 * only src/cli/ prints. */
#pragma once
#include <stdarg.h>

enum vl_error_kind {
	VL_ERR_NONE = 0,
	VL_ERR_FAILURE = 1, /* something went wrong at run time: exit 1 */
	VL_ERR_INPUT = 2,   /* bad usage, parameter, config or message: exit 2 */
};

typedef struct vl_error {
	enum vl_error_kind kind;
	int errnum; /* errno at the failure, 0 when none */
	char msg[1024];
} vl_error;

/* Records a run-time failure; returns -1 so callers can `return vl_error_set(...)`. */
int vl_error_set(vl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like vl_error_set() and appends strerror(errnum). */
int vl_error_errno(vl_error *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Records bad input (exit code 2). */
int vl_error_input(vl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes context: "starting x: <previous message>"; keeps kind and errnum. Returns -1. */
int vl_error_wrap(vl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vl_error_clear(vl_error *err);
/* The documented process exit code for this error (docs/cli.md). */
int vl_error_exit_code(const vl_error *err);
