/* Named network namespaces, made the way `ip netns add` makes them: a
 * namespace held by a bind mount on /run/netns/NAME, so that `ip netns`
 * shows it and `virtlab cleanup` can remove it by name after a crash.
 *
 * Entering one: setns(CLONE_NEWNET) changes only the calling thread, and a
 * socket keeps the namespace it was created in for good. So virtlab enters
 * a namespace on a short-lived helper thread (vl_netns_run) rather than
 * forking: the function's sockets, and any threads it starts, stay in that
 * namespace while the rest of the process stays where it was, and nothing
 * needs reaping. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "core/error.h"

#define VL_NETNS_DIR "/run/netns"

/* Fails if NAME exists already. */
int vl_netns_create(const char *name, vl_error *err);
/* Unmounts and removes /run/netns/NAME; a missing one is not an error. The
 * namespace itself ends once no process, socket or fd holds it. */
int vl_netns_delete(const char *name, vl_error *err);
bool vl_netns_exists(const char *name);
/* An fd for setns / vl_netlink_open, close-on-exec. */
int vl_netns_open(const char *name, int *fd, vl_error *err);
/* Moves the calling thread into netns_fd (a forked child, a helper thread). */
int vl_netns_enter(int netns_fd, vl_error *err);
/* Runs fn(arg, err) on a helper thread inside netns_fd and returns its result. */
int vl_netns_run(int netns_fd, int (*fn)(void *arg, vl_error *err), void *arg, vl_error *err);
/* Names under /run/netns starting with prefix; free with vl_netlink_names_free. */
int vl_netns_list(const char *prefix, char ***names, size_t *count, vl_error *err);
