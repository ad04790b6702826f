/* What outlives one virtlab command, and what a crash leaves behind.
 *
 * Two roots:
 *  - state ($VIRTLAB_STATE, default /run/virtlab): per-guest records, locks and
 *    sockets. Small; gone at reboot, as the guests are.
 *  - data ($VIRTLAB_DATA, default /var/lib/virtlab): golden images, root
 *    filesystems, disk images. On disk, not tmpfs, so that disk workloads in
 *    a guest measure a disk.
 *
 * Each guest has <state>/guests/<name>/ with `lock` (flock: two virtlab
 * processes never change one guest at once) and `guest.json` (platform, spec,
 * status, the platform's own record, and the resources it owns). A resource is
 * tracked BEFORE it is created and untracked after it is released, so that
 * `virtlab cleanup` can release whatever a killed run left (cleanup.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>
#include "core/error.h"
#include "platforms/platform.h"

/* Resource kinds `virtlab cleanup` knows how to release. */
#define VL_RES_PROCESS "process"   /* id: "PID:STARTTIME" (start time guards pid reuse) */
#define VL_RES_CGROUP  "cgroup"    /* id: cgroup name, e.g. "virtlab/web1" */
#define VL_RES_MOUNT   "mount"     /* id: absolute mount point */
#define VL_RES_DIR     "dir"       /* id: absolute directory, removed recursively */
#define VL_RES_FILE    "file"      /* id: absolute path (sockets, pid files, images) */
#define VL_RES_NETNS   "netns"     /* id: name under /run/netns */
#define VL_RES_LINK    "link"      /* id: interface name */
#define VL_RES_NFT     "nft-table" /* id: "FAMILY NAME", e.g. "inet virtlab_nat" */
#define VL_RES_XEN     "xen"       /* id: Xen domain name (xl), e.g. "virtlab-web1" */

const char *vl_state_root(void);
const char *vl_data_root(void);

/* <state>/guests/<name>, created with its lock file. Holds the lock until
 * vl_state_unlock; wait=false fails at once ("guest NAME is busy", errnum
 * EBUSY). The lock is flock(2): a child forked without exec shares it. */
int vl_state_lock(const char *name, bool wait, int *lock_fd, vl_error *err);
void vl_state_unlock(int lock_fd);

/* guest.json, written atomically: {"name", "platform", "spec", "status",
 * "owner", "files": g->state_dir, "record": g->record, "resources": [{"kind",
 * "id"}...]}. "owner" ("PID:STARTTIME") is the process that wrote it first:
 * while that runs, `virtlab cleanup` leaves the guest be (virtlab run and the
 * study hold their guests without the lock).
 * The caller holds the guest's lock. The resources already on disk are kept.
 * status: "provisioned", "running" or "stopped"; a guest that tracked a
 * resource before its first save is "provisioning". */
int vl_state_save(const struct vl_guest *g, const char *status, vl_error *err);
/* <state>/guests/<name>: the place for the guest's lock, record and sockets. */
int vl_state_dir(const char *name, char *buf, size_t size, vl_error *err);
/* The raw guest.json. No record: an input error with errnum ENOENT. */
int vl_state_read(const char *name, json_t **doc, vl_error *err);
/* Loads a guest by name (platform looked up by name). */
int vl_state_load(const char *name, struct vl_guest **out, vl_error *err);
/* Names of guests that have a record; free with vl_state_names_free. */
int vl_state_list(char ***names, size_t *count, vl_error *err);
void vl_state_names_free(char **names, size_t count);
/* Removes the guest's record directory (after destroy). */
int vl_state_remove(const char *name, vl_error *err);

/* Adds / removes one resource in g's record and saves it at once. A record
 * still "provisioning" (never saved: a transient guest of virtlab run or the
 * study) is removed when its last resource is untracked. */
int vl_state_track(struct vl_guest *g, const char *kind, const char *id, vl_error *err);
int vl_state_untrack(struct vl_guest *g, const char *kind, const char *id, vl_error *err);
/* The same for n resources of one kind, in one save. */
int vl_state_track_all(struct vl_guest *g, const char *kind, const char *const ids[], size_t n,
                       vl_error *err);
int vl_state_untrack_all(struct vl_guest *g, const char *kind, const char *const ids[], size_t n,
                         vl_error *err);

/* A process's start time (clock ticks since boot, /proc/PID/stat field 22)
 * and state letter ('Z' for a zombie); ESRCH in err->errnum when it is gone. */
int vl_state_process_start(pid_t pid, unsigned long long *start, char *state, vl_error *err);
/* The VL_RES_PROCESS id of a live process: "PID:STARTTIME". */
int vl_state_process_id(pid_t pid, char *buf, size_t size, vl_error *err);
