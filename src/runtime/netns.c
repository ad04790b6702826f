/* Named network namespaces (see netns.h for why a helper thread). */
#include "runtime/netns.h"
#include "runtime/netlink.h"
#include "core/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_name(const char *name, vl_error *err)
{
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > 200)
		return vl_error_input(err,
		                      "bad network namespace name '%s': use letters, digits "
		                      "and '-'",
		                      name);
	return 0;
}

/* Like ip-netns: /run/netns is a shared mount point, so that namespaces
 * mounted later also appear in mount namespaces made after it (containers). */
static int prepare_dir(vl_error *err)
{
	if (mkdir(VL_NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return vl_error_errno(err, errno, "creating %s", VL_NETNS_DIR);
	if (mount("", VL_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return vl_error_errno(err, errno, "making %s a shared mount", VL_NETNS_DIR);
	/* Not a mount point yet: make it one. */
	if (mount(VL_NETNS_DIR, VL_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
		return vl_error_errno(err, errno, "bind-mounting %s on itself", VL_NETNS_DIR);
	if (mount("", VL_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
		return vl_error_errno(err, errno, "making %s a shared mount", VL_NETNS_DIR);
	return 0;
}

struct thread_call {
	int netns_fd; /* -1: unshare a new namespace instead */
	int (*fn)(void *arg, vl_error *err);
	void *arg;
	int rc;
	vl_error err;
};

static void *thread_main(void *data)
{
	struct thread_call *c = data;

	if (c->netns_fd >= 0) {
		if (setns(c->netns_fd, CLONE_NEWNET) < 0) {
			c->rc = vl_error_errno(&c->err, errno, "entering a network namespace");
			return NULL;
		}
	} else if (unshare(CLONE_NEWNET) < 0) {
		c->rc = vl_error_errno(&c->err, errno, "creating a network namespace");
		return NULL;
	}
	c->rc = c->fn(c->arg, &c->err);
	return NULL;
}

static int run_thread(struct thread_call *c, vl_error *err)
{
	pthread_t t;
	int e;

	c->rc = -1;
	vl_error_clear(&c->err);
	e = pthread_create(&t, NULL, thread_main, c);
	if (e)
		return vl_error_errno(err, e, "starting a network namespace thread");
	pthread_join(t, NULL);
	if (c->rc < 0)
		*err = c->err;
	return c->rc;
}

static int bind_own_netns(void *arg, vl_error *err)
{
	const char *path = arg;

	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
		return vl_error_errno(err, errno, "bind-mounting a new network namespace on %s",
		                      path);
	return 0;
}

int vl_netns_create(const char *name, vl_error *err)
{
	char path[PATH_MAX];
	struct thread_call c = {.netns_fd = -1, .fn = bind_own_netns, .arg = path};
	int fd;

	if (check_name(name, err) < 0 || prepare_dir(err) < 0)
		return vl_error_wrap(err, "creating network namespace %s", name);
	snprintf(path, sizeof(path), "%s/%s", VL_NETNS_DIR, name);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return vl_error_errno(err, errno, "creating network namespace %s: %s", name, path);
	close(fd);
	if (run_thread(&c, err) < 0) {
		unlink(path);
		return vl_error_wrap(err, "creating network namespace %s", name);
	}
	return 0;
}

int vl_netns_delete(const char *name, vl_error *err)
{
	char path[PATH_MAX];

	if (check_name(name, err) < 0)
		return vl_error_wrap(err, "deleting network namespace %s", name);
	snprintf(path, sizeof(path), "%s/%s", VL_NETNS_DIR, name);
	/* EINVAL: not mounted (a half-made one); ENOENT: already gone. */
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return vl_error_errno(err, errno, "deleting network namespace %s: unmounting %s",
		                      name, path);
	if (unlink(path) < 0 && errno != ENOENT)
		return vl_error_errno(err, errno, "deleting network namespace %s: removing %s",
		                      name, path);
	return 0;
}

bool vl_netns_exists(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", VL_NETNS_DIR, name);
	return access(path, F_OK) == 0;
}

int vl_netns_open(const char *name, int *fd, vl_error *err)
{
	char path[PATH_MAX];

	if (check_name(name, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", VL_NETNS_DIR, name);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return vl_error_errno(err, errno, "opening network namespace %s", name);
	return 0;
}

int vl_netns_enter(int netns_fd, vl_error *err)
{
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return vl_error_errno(err, errno, "entering a network namespace");
	return 0;
}

int vl_netns_run(int netns_fd, int (*fn)(void *arg, vl_error *err), void *arg, vl_error *err)
{
	struct thread_call c = {.netns_fd = netns_fd, .fn = fn, .arg = arg};

	return run_thread(&c, err);
}

int vl_netns_list(const char *prefix, char ***names, size_t *count, vl_error *err)
{
	cleanup_dir DIR *d = opendir(VL_NETNS_DIR);
	char **list = NULL;
	size_t n = 0;
	struct dirent *de;

	*names = NULL;
	*count = 0;
	if (!d)
		return errno == ENOENT ? 0 : vl_error_errno(err, errno, "listing %s", VL_NETNS_DIR);
	while ((de = readdir(d))) {
		char **grown;

		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown || !(grown[n] = strdup(de->d_name))) {
			vl_netlink_names_free(grown ? grown : list, n);
			return vl_error_errno(err, ENOMEM, "listing %s", VL_NETNS_DIR);
		}
		list = grown;
		n++;
	}
	*names = list;
	*count = n;
	return 0;
}
