/* What the subcommands share when they parse arguments and report. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
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
/* A size such as 512M or 2GiB, or an input error naming option. */
int vl_cli_parse_size(const char *option, const char *text, uint64_t *out, vl_error *err);
/* A number within [min, max], or an input error naming option. */
int vl_cli_parse_double(const char *option, const char *text, double min, double max, double *out,
                        vl_error *err);
/* A CPU or memory node list such as "0-3,6" (copied to out), or an input error. */
int vl_cli_parse_list(const char *option, const char *text, char *out, size_t size, vl_error *err);
/* Prints doc as indented JSON (--json) or else through print_text; returns
 * the exit code: 1 when stdout fails. */
int vl_cli_print(json_t *doc, bool json, void (*print_text)(json_t *doc));
