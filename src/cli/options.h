/* What the subcommands share when they parse arguments and report. */
#pragma once
#include "core/error.h"

/* Prints "virtlab: error: MESSAGE" and returns the exit code for err. */
int vl_cli_report(const vl_error *err);
/* Prints a one-line usage error with a hint at `virtlab CMD --help`; returns 2. */
int vl_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An integer option value within [min, max], or an input error naming option. */
int vl_cli_parse_uint(const char *option, const char *text, unsigned min, unsigned max,
                      unsigned *out, vl_error *err);
/* The exit code after an interruption by signal sig: 128 + sig, as shells do. */
int vl_cli_interrupted(int sig);
