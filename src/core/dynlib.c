/* Libraries loaded on first use (see dynlib.h). */
#include "core/dynlib.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

const char *const vl_dynlib_sonames[] = {VL_SONAME_LXC, VL_SONAME_NFTABLES, NULL};

static void clear_table(const struct vl_dynlib *lib)
{
	for (size_t i = 0; i < lib->n_syms; i++)
		*lib->syms[i].fn = NULL;
}

static int load(struct vl_dynlib *lib, vl_error *err)
{
	char missing[256];
	const char *why;
	void *handle;

	/* RTLD_NOW: a library that cannot be bound whole fails here, with a
	 * message, rather than aborting the process at its first call. */
	handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		why = dlerror();
		snprintf(missing, sizeof(missing), "%s: cannot open shared object file",
		         lib->soname);
		if (why && strncmp(why, missing, strlen(missing)) == 0)
			return vl_error_set(err, "%s not found: apt-get install %s", lib->soname,
			                    lib->package);
		return vl_error_set(err, "cannot load %s (%s): reinstall %s", lib->soname,
		                    why ? why : "no reason given", lib->package);
	}
	for (size_t i = 0; i < lib->n_syms; i++) {
		*lib->syms[i].fn = dlsym(handle, lib->syms[i].name);
		if (!*lib->syms[i].fn) {
			clear_table(lib);
			dlclose(handle);
			return vl_error_set(err, "%s has no %s: a newer %s is needed", lib->soname,
			                    lib->syms[i].name, lib->package);
		}
	}
	__atomic_store_n(&lib->handle, handle, __ATOMIC_RELEASE);
	return 0;
}

int vl_dynlib_load(struct vl_dynlib *lib, vl_error *err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int rc = 0;

	if (__atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&lock);
	if (!lib->handle)
		rc = load(lib, err);
	pthread_mutex_unlock(&lock);
	return rc;
}

int vl_dynlib_locate(const char *soname, char *path, size_t size, vl_error *err)
{
	struct link_map *map = NULL;
	void *handle = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
	int rc = 0;

	if (!handle)
		return vl_error_set(err, "%s", dlerror());
	if (dlinfo(handle, RTLD_DI_LINKMAP, &map) < 0 || !map->l_name[0])
		rc = vl_error_set(err, "the loader gives no file for %s", soname);
	else
		snprintf(path, size, "%s", map->l_name);
	dlclose(handle);
	return rc;
}
