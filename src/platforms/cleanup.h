/* `virtlab cleanup`: releases what guests own, found through their state
 * records (state.h), and what a crash left without a record.
 *
 * A guest's resources are released newest first, each by its kind; a
 * resource already gone is skipped silently, so a second cleanup finds
 * nothing. The record is removed only once every resource is released; a
 * failure keeps it (with every resource still listed) for the next try.
 * Orphans are empty virtlab/ cgroups in any hierarchy, mounts under the data
 * root, guest file directories (<data>/guests/NAME) and state directories
 * without a record; those of a busy guest are kept. A cgroup is an orphan
 * only when no state root claims it: one marked (vl_cleanup_mark_cgroup) by
 * a guest of another state root is left be while that guest's record lists
 * it or its lock is held; an unmarked one with processes, or made moments
 * ago, is reported and kept. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "core/error.h"
#include "runtime/cgroup.h"

#define VL_CLEANUP_RECORD "record" /* kind of the event for a record's removal */

struct vl_cleanup_event {
	const char *guest; /* NULL: an orphan */
	const char *kind;  /* VL_RES_*, or VL_CLEANUP_RECORD */
	const char *id;
	bool dry_run;      /* nothing was changed: it would have been released */
	const char *error; /* NULL: released; otherwise why not (it stays) */
};

typedef void (*vl_cleanup_report_fn)(const struct vl_cleanup_event *ev, void *arg);

/* Releases one resource; *existed says whether there was anything to
 * release. dry_run only looks. */
int vl_cleanup_resource(const char *kind, const char *id, bool dry_run, bool *existed,
                        vl_error *err);

/* Releases every resource of guest `name` and removes its record; the
 * caller holds the guest's lock (vl_state_lock). Fails with the first error
 * after trying every resource. */
int vl_cleanup_record(const char *name, bool dry_run, vl_cleanup_report_fn report, void *arg,
                      vl_error *err);
/* Same, taking the lock without waiting (a busy guest fails). */
int vl_cleanup_guest(const char *name, bool dry_run, vl_cleanup_report_fn report, void *arg,
                     vl_error *err);
/* Every guest that is not busy, then the orphans. Goes on after a failure
 * and fails with the first error at the end; a busy guest is reported as an
 * error event and fails the call too. */
int vl_cleanup_all(bool dry_run, vl_cleanup_report_fn report, void *arg, vl_error *err);

/* Marks cgroup `name` (made in every hierarchy of host) as guest `guest`'s,
 * of this state root: an extended attribute naming the guest's state
 * directory, which a cleanup under another VIRTLAB_STATE checks. */
int vl_cleanup_mark_cgroup(const struct vl_cgroup_host *host, const char *name, const char *guest,
                           vl_error *err);
/* Whether a guest of another state root claims cgroup `name` (see above);
 * *owner is then its state directory. */
bool vl_cleanup_cgroup_claimed_elsewhere(const struct vl_cgroup_host *host, const char *name,
                                         char *owner, size_t size);

/* Removes a directory tree without following symlinks or crossing a mount
 * point (a mount point inside fails the removal: unmount it first). A
 * missing path is fine. */
int vl_remove_tree(const char *path, vl_error *err);
