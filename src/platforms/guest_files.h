/* What the platforms share about a guest's files and its record: the guest's
 * directory under the data root (g->state_dir), files in its state directory
 * (sockets, configurations), the last line of a log, the agent's unix
 * socket, and the processes its record names. Each file and directory is
 * tracked in the guest's state record (state.h) before it is made. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/error.h"
#include "platforms/platform.h"
#include "runtime/cgroup.h"

/* g->record's string, integer (0 when absent) under key. */
const char *vl_guest_rec_str(const struct vl_guest *g, const char *key);
long long vl_guest_rec_int(const struct vl_guest *g, const char *key);
/* Sets g->record's key to value (a new reference, taken even on failure). */
int vl_guest_rec_set(struct vl_guest *g, const char *key, json_t *value, vl_error *err);

/* Makes g->state_dir (0700), tracked as one VL_RES_DIR: everything the
 * platform makes for the guest there goes with it. */
int vl_guest_files_make(struct vl_guest *g, vl_error *err);
/* Removes g->state_dir and untracks it; a failure leaves it tracked, for
 * `virtlab cleanup`. */
void vl_guest_files_remove(struct vl_guest *g);

/* <state>/guests/<name>/FILE, tracked as a VL_RES_FILE and recorded under
 * key; a stale one (a killed run's) is removed. */
int vl_guest_state_file(struct vl_guest *g, const char *key, const char *file, vl_error *err);
/* Removes the file the record names under key, and untracks and forgets it. */
void vl_guest_state_file_remove(struct vl_guest *g, const char *key);

/* The last line of a text file (a console log), without its line end; NULL
 * when the file is missing or empty. */
const char *vl_guest_log_tail(const char *path, char *buf, size_t size);

/* A connection to the unix socket at path, or to the socket an O_PATH
 * descriptor names (reached through /proc/self/fd, so that the path is
 * resolved only once, by whoever opened the descriptor); `what` names it in
 * errors. */
int vl_guest_connect_path(const char *path, int *fd, vl_error *err);
int vl_guest_connect_node(int node, const char *what, int *fd, vl_error *err);

/* A pidfd on the process the record names (pid under pid_key, its start
 * time under start_key) while it is still that process: alive, or exited
 * and not yet reaped (*alive tells). -1 when it is gone or never was. */
int vl_guest_open_process(const struct vl_guest *g, const char *pid_key, const char *start_key,
                          pid_t *pid, bool *alive);

/* Connects the caller's way to the agent (arg is the caller's); fails with
 * errnum ENOENT or ECONNREFUSED while the agent has no socket yet. */
typedef int (*vl_guest_connect_fn)(const struct vl_guest *g, void *arg, int *fd, vl_error *err);
/* Waits up to timeout_s for the agent's socket, then for its hello; fails
 * early when pidfd (the guest's init) ends, with the last line of
 * <g->state_dir>/console.log, or when virtlab is interrupted. */
int vl_guest_wait_agent(struct vl_guest *g, int pidfd, vl_guest_connect_fn reach, void *arg,
                        double timeout_s, vl_error *err);

/* What both container platforms need of the host: overlayfs, usable cgroups
 * (detected into *host) and the static agent, their guests' init. False,
 * with out->reason set, when one is missing; no_overlay is the reason given
 * for a missing overlayfs. */
bool vl_guest_probe_container_host(struct vl_probe *out, struct vl_cgroup_host *host,
                                   const char *no_overlay);
