#include "core/file.h"
#include "core/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_replace(const char *path, const void *data, size_t len, bool durable,
                         vl_error *err)
{
	char tmp[PATH_MAX];
	char dir_buf[PATH_MAX];
	cleanup_close int fd = -1;
	cleanup_close int dir_fd = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return vl_error_input(err, "path too long: %s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return vl_error_errno(err, errno, "creating %s", tmp);
	if (write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
		int saved = errno;
		unlink(tmp);
		return vl_error_errno(err, saved, "writing %s", tmp);
	}
	if (close(vl_steal_fd(fd)) < 0) {
		int saved = errno;
		unlink(tmp);
		return vl_error_errno(err, saved, "closing %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return vl_error_errno(err, saved, "renaming %s to %s", tmp, path);
	}
	if (!durable)
		return 0;
	/* The rename is durable only once the directory entry is on disk. */
	snprintf(dir_buf, sizeof(dir_buf), "%s", path);
	dir_fd = open(dirname(dir_buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd >= 0)
		fsync(dir_fd);
	return 0;
}

int vl_write_file_atomic(const char *path, const void *data, size_t len, vl_error *err)
{
	return write_replace(path, data, len, true, err);
}

int vl_write_file_replace(const char *path, const void *data, size_t len, vl_error *err)
{
	return write_replace(path, data, len, false, err);
}

int vl_read_file(const char *path, char **out, size_t *len, vl_error *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	size_t used = 0, cap = 0;

	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	for (;;) {
		ssize_t n;
		if (used + 4096 + 1 > cap) {
			char *grown;
			cap = cap ? cap * 2 : 8192;
			grown = realloc(buf, cap);
			if (!grown)
				return vl_error_errno(err, ENOMEM, "reading %s", path);
			buf = grown;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vl_error_errno(err, errno, "reading %s", path);
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return vl_error_errno(err, ENOMEM, "reading %s", path);
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = vl_steal_ptr(buf);
	return 0;
}

int vl_read_line(const char *path, char *buf, size_t size, vl_error *err)
{
	cleanup_file FILE *f = fopen(path, "re");

	if (!f)
		return vl_error_errno(err, errno, "opening %s", path);
	if (!fgets(buf, (int)size, f)) {
		buf[0] = '\0';
		if (ferror(f))
			return vl_error_errno(err, errno, "reading %s", path);
		return 0;
	}
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int vl_write_string(const char *path, const char *value, vl_error *err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	if (write_all(fd, value, strlen(value)) < 0)
		return vl_error_errno(err, errno, "writing '%s' to %s", value, path);
	return 0;
}

int vl_mkdir_p(const char *path, unsigned mode, vl_error *err)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return vl_error_input(err, "path too long: %s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return vl_error_errno(err, errno, "creating %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return vl_error_errno(err, errno, "creating %s", buf);
	return 0;
}

int vl_copy_file(const char *src, const char *dst, unsigned mode, vl_error *err)
{
	cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
	cleanup_close int out = -1;
	struct stat st;

	if (in < 0 || fstat(in, &st) < 0)
		return vl_error_errno(err, errno, "opening %s", src);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0)
		return vl_error_errno(err, errno, "creating %s", dst);
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);

		/* Different filesystem types: sendfile also copies in the kernel. */
		if (n < 0 && errno == EXDEV)
			n = sendfile(out, in, NULL, (size_t)left);

		if (n <= 0)
			return vl_error_errno(err, n < 0 ? errno : EIO, "copying %s to %s", src,
			                      dst);
		left -= n;
	}
	/* The umask may have narrowed the mode. */
	if (fchmod(out, mode) < 0)
		return vl_error_errno(err, errno, "setting the mode of %s", dst);
	return 0;
}
