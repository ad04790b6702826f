/* Hosts: where a share of the study runs. `local` is this machine; `ssh`
 * is another machine reached through OpenSSH; `lab` is a QEMU VM that
 * virtlab boots itself to host a platform this machine lacks (Xen dom0,
 * nested KVM). One file per kind, one line in the table in host.c.
 *
 * A remote host runs virtlab's bundle (bundle.h): nothing is installed
 * there. The study asks a host to run `virtlab study` for its platforms,
 * fetches its results.json and merges it (study/study_hosts.h). */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include "core/error.h"

#define VL_HOST_NAME_MAX 32

struct vl_host;

struct vl_host_kind {
	const char *name; /* "ssh", "lab" */
	const char *summary;
	/* Optional: checks the target (after "ssh:", "lab:") when the host is
	 * parsed, so that a typo is an input error before anything runs. */
	int (*check)(const char *target, vl_error *err);
	/* Makes the host reachable and its bundle present (ssh: check, copy;
	 * lab: build the lab image if not cached, boot, wait for its agent). */
	int (*open)(struct vl_host *h, vl_error *err);
	/* Runs argv on the host with the bundle's virtlab first in PATH; gives
	 * the exit status, stdout and stderr (caller frees). A status other
	 * than 0 is not an error of run itself. */
	int (*run)(struct vl_host *h, const char *const *argv, double timeout_s, int *status,
	           char **out, char **errout, vl_error *err);
	/* Copies a file from the host to a local path (atomically). */
	int (*fetch)(struct vl_host *h, const char *remote_path, const char *local_path,
	             vl_error *err);
	/* Releases what open made (lab: powers off, removes runtime files). */
	int (*close)(struct vl_host *h, vl_error *err);
};

struct vl_host {
	char name[VL_HOST_NAME_MAX]; /* as in `qemu@NAME` */
	const struct vl_host_kind *kind;
	char target[256];       /* after "ssh:" or "lab:": "user@addr[:port]", "xen", "kvm" */
	char workdir[PATH_MAX]; /* on the host: bundle and results live here */
	/* How the host runs, set by open: "real" (a machine virtlab did not
	 * make), "kvm" or "tcg" (a lab VM and its accelerator); "" unknown. */
	char accel[16];
	void *priv;
};

/* "NAME=ssh:USER@ADDR[:PORT]" or "NAME=lab:xen|kvm"; errors are input errors
 * naming the part that is wrong. */
int vl_host_parse(const char *spec, struct vl_host **out, vl_error *err);
/* Frees the host; close it first if it was opened. */
void vl_host_free(struct vl_host *h);
/* The kind named name ("ssh", "lab"), NULL when there is none. */
const struct vl_host_kind *vl_host_kind_find(const char *name);
