/* Sizes and durations as people write them: 16M, 1GiB, 512k; 10s, 250ms. */
#pragma once
#include <stdint.h>
#include "core/error.h"

/* Binary multiples (k = 1024). Accepts an optional B/iB suffix. */
int vl_parse_size(const char *text, uint64_t *out, vl_error *err);
/* Seconds with optional unit: ns, us, ms, s, m, h. */
int vl_parse_duration(const char *text, double *seconds, vl_error *err);
/* "1.5 GiB" into buf. */
const char *vl_format_size(uint64_t bytes, char *buf, unsigned size);
