/* File helpers. Results are written atomically: temp file in the same
 * directory, fsync, rename, fsync of the directory. */
#pragma once
#include <stddef.h>
#include "core/error.h"

int vl_write_file_atomic(const char *path, const void *data, size_t len, vl_error *err);
/* Atomic against a killed process but not a power cut (no fsync): for state
 * records that are written on every step and die with a reboot anyway. */
int vl_write_file_replace(const char *path, const void *data, size_t len, vl_error *err);
/* Reads a whole (small) file; *out is NUL-terminated and must be freed. */
int vl_read_file(const char *path, char **out, size_t *len, vl_error *err);
/* Reads the first line of a file (sysfs, procfs, cgroup files), trailing
 * newline removed. */
int vl_read_line(const char *path, char *buf, size_t size, vl_error *err);
/* Writes a string to an existing file (sysfs, cgroup knobs) without O_CREAT. */
int vl_write_string(const char *path, const char *value, vl_error *err);
/* mkdir -p with the given mode. */
int vl_mkdir_p(const char *path, unsigned mode, vl_error *err);
/* Copies a regular file's contents to dst (created, must not exist) with
 * mode, in the kernel (copy_file_range, else sendfile). */
int vl_copy_file(const char *src, const char *dst, unsigned mode, vl_error *err);
