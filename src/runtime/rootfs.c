#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <unistd.h>
#include "core/cleanup.h"
#include "core/file.h"

int vl_rootfs_overlay_prepare(const char *state_dir, struct vl_rootfs_overlay *out, vl_error *err)
{
	snprintf(out->upper, sizeof(out->upper), "%s/upper", state_dir);
	snprintf(out->work, sizeof(out->work), "%s/work", state_dir);
	snprintf(out->merged, sizeof(out->merged), "%s/merged", state_dir);
	if (vl_mkdir_p(out->upper, 0755, err) < 0 || vl_mkdir_p(out->work, 0700, err) < 0 ||
	    vl_mkdir_p(out->merged, 0755, err) < 0)
		return vl_error_wrap(err, "preparing the overlay in %s", state_dir);
	return 0;
}

int vl_rootfs_overlay_mount(const char *image_dir, const struct vl_rootfs_overlay *o, vl_error *err)
{
	char data[3 * PATH_MAX + 64];

	snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s", image_dir, o->upper,
	         o->work);
	if (mount("overlay", o->merged, "overlay", 0, data) < 0)
		return vl_error_errno(err, errno, "mounting the overlay of %s on %s", image_dir,
		                      o->merged);
	return 0;
}

int vl_rootfs_overlay_remove(const struct vl_rootfs_overlay *o, vl_error *err)
{
	if (umount2(o->merged, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return vl_error_errno(err, errno, "unmounting %s", o->merged);
	if (vl_rootfs_remove(o->merged, err) < 0 || vl_rootfs_remove(o->work, err) < 0 ||
	    vl_rootfs_remove(o->upper, err) < 0)
		return vl_error_wrap(err, "removing an overlay clone");
	return 0;
}

static int copy_data(int in, int out, off_t size)
{
	/* A reflink shares the extents: constant time on btrfs and XFS. */
	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	while (size > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, size, 0);

		if (n < 0 && errno == EINTR)
			continue;
		/* Across filesystem types (an overlay's merged view to disk)
		 * copy_file_range refuses; sendfile copies in the kernel too. */
		if (n < 0 && errno == EXDEV)
			n = sendfile(out, in, NULL, size);
		if (n <= 0)
			return n == 0 ? (errno = EIO, -1) : -1;
		size -= n;
	}
	return 0;
}

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st)
{
	cleanup_close int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int out = -1;

	if (in < 0)
		return -1;
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	             st->st_mode & 07777);
	if (out < 0)
		return -1;
	return copy_data(in, out, st->st_size);
}

static int copy_symlink(int sdir, int ddir, const char *name, const struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);

	if (n < 0)
		return -1;
	if (n >= (ssize_t)sizeof(target) - 1 || n != st->st_size)
		return errno = ENAMETOOLONG, -1;
	target[n] = '\0';
	return symlinkat(target, ddir, name);
}

static int copy_tree(int sdir, int ddir);

static int copy_entry(int sdir, int ddir, const char *name)
{
	struct stat st;
	int rc;

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: {
		cleanup_close int s = -1;
		cleanup_close int d = -1;

		if (mkdirat(ddir, name, 0700) < 0)
			return -1;
		s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return -1;
		rc = copy_tree(s, d);
		/* The mode last: a read-only directory must still be filled. */
		if (rc == 0)
			rc = fchmod(d, st.st_mode & 07777);
		break;
	}
	case S_IFREG:
		rc = copy_file(sdir, ddir, name, &st);
		break;
	case S_IFLNK:
		rc = copy_symlink(sdir, ddir, name, &st);
		break;
	default:
		rc = mknodat(ddir, name, st.st_mode, st.st_rdev);
		break;
	}
	if (rc == 0)
		rc = fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
	/* setuid bits fall on chown; set the mode again after it. */
	if (rc == 0 && S_ISREG(st.st_mode))
		rc = fchmodat(ddir, name, st.st_mode & 07777, 0);
	if (rc == 0)
		rc = utimensat(ddir, name, (const struct timespec[2]){st.st_atim, st.st_mtim},
		               AT_SYMLINK_NOFOLLOW);
	return rc;
}

static int copy_tree(int sdir, int ddir)
{
	int dup_fd = dup(sdir);
	cleanup_dir DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	while ((errno = 0, e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (copy_entry(sdir, ddir, e->d_name) < 0)
			return -1;
	}
	return errno ? -1 : 0;
}

int vl_rootfs_copy(const char *src, const char *dst, vl_error *err)
{
	cleanup_close int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int d = -1;
	struct stat st;

	if (s < 0 || fstat(s, &st) < 0)
		return vl_error_errno(err, errno, "opening the image %s", src);
	if (mkdir(dst, st.st_mode & 07777) < 0)
		return vl_error_errno(err, errno, "creating %s", dst);
	d = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return vl_error_errno(err, errno, "opening %s", dst);
	if (copy_tree(s, d) < 0)
		return vl_error_errno(err, errno, "copying %s to %s", src, dst);
	if (fchown(d, st.st_uid, st.st_gid) < 0)
		return vl_error_errno(err, errno, "setting the owner of %s", dst);
	return 0;
}

static int remove_tree(int dfd, dev_t dev)
{
	int dup_fd = dup(dfd);
	cleanup_dir DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	while ((errno = 0, e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		if (S_ISDIR(st.st_mode)) {
			cleanup_close int sub = -1;

			if (st.st_dev != dev)
				return errno = EBUSY, -1;
			sub = openat(dfd, e->d_name,
			             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || remove_tree(sub, dev) < 0)
				return -1;
		}
		if (unlinkat(dfd, e->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
			return -1;
	}
	return errno ? -1 : 0;
}

int vl_rootfs_remove(const char *dir, vl_error *err)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return vl_error_errno(err, errno, "opening %s", dir);
	if (remove_tree(fd, st.st_dev) < 0 || rmdir(dir) < 0)
		return vl_error_errno(err, errno, "removing %s", dir);
	return 0;
}
