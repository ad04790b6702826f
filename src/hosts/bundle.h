/* virtlab's bundle: everything a remote host or a lab host needs to run
 * virtlab without installing anything. A directory:
 *   bin/virtlab        a /bin/sh wrapper that runs lib/virtlab.bin through
 *                      the bundled dynamic loader with --library-path lib,
 *                      setting VIRTLAB_BUNDLE (this directory), VIRTLAB_SELF
 *                      (itself: /proc/self/exe is then the loader),
 *                      VIRTLAB_AGENT and VIRTLAB_BUSYBOX to the bundle's
 *   bin/virtlab-agent  the static agent (VIRTLAB_AGENT points here)
 *   bin/busybox        Debian's busybox-static (golden images are built
 *                      from it on the host that runs the guests)
 *   lib/               virtlab.bin, the loader, every library ldd lists and
 *                      those virtlab loads on first use (core/dynlib.h),
 *                      with theirs
 * Built once per content and cached under <data>/bundles/. */
#pragma once
#include <stddef.h>
#include "core/error.h"

/* Builds (or finds) the bundle of the running virtlab (/proc/self/exe and
 * the agent it would use) and gives its directory; a virtlab running from
 * a bundle gives that one. */
int vl_bundle_build(char *dir, size_t size, vl_error *err);

/* The program interpreter (PT_INTERP) of the 64-bit ELF `path`: the dynamic
 * loader that runs it; "" for a static program. */
int vl_bundle_interp(const char *path, char *out, size_t size, vl_error *err);

/* One library of a program: `name` as the program asks for it (DT_NEEDED),
 * `path` the file the loader maps for it. Nonzero stops the listing. */
typedef int (*vl_bundle_library_fn)(const char *name, const char *path, void *arg, vl_error *err);
/* Calls `each` for every library the dynamic loader `interp` resolves for
 * `program` on this machine (`INTERP --list PROGRAM`, as ldd does); a
 * library it cannot find is an error. */
int vl_bundle_each_library(const char *interp, const char *program, vl_bundle_library_fn each,
                           void *arg, vl_error *err);
