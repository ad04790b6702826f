/* The study's shares on other hosts (docs/design.md, "Hosts"). A platform
 * named P@HOST, HOST given with --host NAME=KIND:TARGET, runs in a study on
 * that host, which measures its own bare baseline; its results.json is
 * fetched into <dir>/hosts/HOST/ and merged into this study's under the
 * names P@HOST and bare@HOST, every overhead staying against the bare run of
 * the same host. results.json records each host under "hosts"
 * (docs/results-schema.md). */
#pragma once
#include <stddef.h>
#include <jansson.h>
#include "core/error.h"
#include "hosts/host.h"
#include "study/plan.h"
#include "study/results.h"

#define VL_STUDY_MAX_HOSTS 4

struct vl_study_host {
	struct vl_host *host;
	char spec[300];      /* "ssh:root@192.0.2.7" as given */
	char platforms[256]; /* what runs there, bare first: "bare,container" */
};

struct vl_study_hosts {
	struct vl_study_host h[VL_STUDY_MAX_HOSTS];
	size_t n;
};

/* What a host is doing, for the command line to show. */
typedef void (*vl_study_hosts_progress_fn)(void *arg, const char *host, const char *what);

/* Adds the host of "NAME=KIND:TARGET" (--host); input errors name the
 * part that is wrong. */
int vl_study_hosts_add(struct vl_study_hosts *hs, const char *spec, vl_error *err);
/* Splits a platform list: an item P@HOST whose HOST was added goes to that
 * host; the others are copied to local (comma-separated, "" when none). */
int vl_study_hosts_split(struct vl_study_hosts *hs, const char *list, char *local, size_t size,
                         vl_error *err);
/* --with-labs: the lab hosts xenlab (lab:xen) and kvmlab (lab:kvm), with
 * xen@xenlab and qemu@kvmlab. */
int vl_study_hosts_add_labs(struct vl_study_hosts *hs, vl_error *err);
/* Fails (input error) when a host was added but runs no platform. */
int vl_study_hosts_check(const struct vl_study_hosts *hs, vl_error *err);
void vl_study_hosts_release(struct vl_study_hosts *hs);

/* Records every host in r as pending and saves. */
int vl_study_hosts_record(const struct vl_study_hosts *hs, struct vl_results *r, vl_error *err);
/* The hosts r recorded, for --resume. */
int vl_study_hosts_load(struct vl_study_hosts *hs, struct vl_results *r, vl_error *err);
/* For each host not done: opens it, runs `virtlab study` there with the
 * plan's profile, experiments and settings, fetches and merges its results,
 * and closes it on every path. A host that fails is recorded as failed and
 * the others still run; fails only when interrupted (the host is then left
 * pending for --resume) or r cannot be written. */
int vl_study_hosts_run(struct vl_study_hosts *hs, const struct vl_study_plan *plan,
                       struct vl_results *r, vl_study_hosts_progress_fn progress,
                       void *progress_arg, vl_error *err);

/* Merges theirs (the results.json root of host's study) into r: platforms
 * and rows renamed P@host, overheads against bare@host, the host's facts
 * under hosts.host. Replaces what an earlier merge of host left. */
int vl_study_merge_host(struct vl_results *r, const char *host, json_t *theirs, vl_error *err);
/* Appends to warnings what the hosts of results root make misleading: a
 * busy host, a failed host or experiment. */
void vl_study_hosts_warnings(json_t *warnings, json_t *root);
