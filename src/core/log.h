/* Logging to stderr, for the CLI and the agent's diagnostics. Library code logs
 * only at debug level; it reports failures through vl_error. */
#pragma once

enum vl_log_level { VL_LOG_QUIET = 0, VL_LOG_ERROR, VL_LOG_WARN, VL_LOG_INFO, VL_LOG_DEBUG };

void vl_log_set_level(enum vl_log_level level);
enum vl_log_level vl_log_get_level(void);
void vl_log(enum vl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vl_debug(...) vl_log(VL_LOG_DEBUG, __VA_ARGS__)
#define vl_info(...)  vl_log(VL_LOG_INFO, __VA_ARGS__)
#define vl_warn(...)  vl_log(VL_LOG_WARN, __VA_ARGS__)
