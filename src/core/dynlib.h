/* Shared libraries loaded on first use. Each library a program links costs
 * every run of it start-up time (mapping, relocation, the libraries it pulls
 * in), whether or not the run calls it; those that only a few commands need
 * (liblxc, libnftables: see docs/design.md, "Start-up") are
 * loaded by the code that calls them instead. The caller still compiles
 * against the library's header: its table holds pointers typed after the
 * header's prototypes, so every call stays checked.
 *
 *   static struct { VL_DYNLIB_FN(nft_ctx_new); ... } nft;
 *   static const struct vl_dynlib_sym nft_syms[] = {VL_DYNLIB_SYM(nft, nft_ctx_new), ...};
 *   static struct vl_dynlib libnft = VL_DYNLIB(VL_SONAME_NFTABLES, "libnftables1", nft_syms);
 *   if (vl_dynlib_load(&libnft, err) < 0) ... nft.nft_ctx_new(...)
 */
#pragma once
#include <stddef.h>
#include "core/error.h"

/* clang-format off */
/* A table field named after the library's function, of its pointer type. */
#define VL_DYNLIB_FN(name) __typeof__(name) *name
/* The entry that fills that field: the name is written once. */
#define VL_DYNLIB_SYM(table, name) {#name, (void **)&(table).name}
#define VL_DYNLIB(soname, package, syms) \
	{(soname), (package), (syms), sizeof(syms) / sizeof((syms)[0]), NULL}
/* clang-format on */

/* Every library virtlab loads on first use: whoever ships virtlab with its
 * libraries (hosts/bundle.c) ships these too, since the loader's listing of
 * the program does not name them. */
#define VL_SONAME_LXC      "liblxc.so.1"
#define VL_SONAME_NFTABLES "libnftables.so.1"
extern const char *const vl_dynlib_sonames[]; /* NULL-terminated */

struct vl_dynlib_sym {
	const char *name;
	void **fn;
};

struct vl_dynlib {
	const char *soname;  /* what dlopen() is given: "liblxc.so.1" */
	const char *package; /* the Debian package that ships it, for the error */
	const struct vl_dynlib_sym *syms;
	size_t n_syms;
	void *handle; /* set once every symbol is resolved; never unloaded */
};

/* Loads lib and fills its table, once (later calls return at once; safe from
 * any thread). A missing library or symbol is an error naming the package to
 * install, and leaves the table empty. */
int vl_dynlib_load(struct vl_dynlib *lib, vl_error *err);

/* The file the dynamic loader would map for `soname` on this machine; -1
 * (with the loader's reason) when it has none. */
int vl_dynlib_locate(const char *soname, char *path, size_t size, vl_error *err);
