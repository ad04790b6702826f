/* __attribute__((cleanup)) helpers, as crun does: a variable declared with one
 * of these is released on every path out of its scope. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <jansson.h>

static inline void vl_freep(void *p)
{
	free(*(void **)p);
}
static inline void vl_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void vl_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void vl_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void vl_json_decrefp(json_t **j)
{
	json_decref(*j);
}

#define cleanup_free  __attribute__((cleanup(vl_freep)))
#define cleanup_close __attribute__((cleanup(vl_closep)))
#define cleanup_file  __attribute__((cleanup(vl_fclosep)))
#define cleanup_dir   __attribute__((cleanup(vl_closedirp)))
#define cleanup_json  __attribute__((cleanup(vl_json_decrefp)))

/* Hands ownership out of a cleanup variable. */
#define vl_steal_ptr(p)                                                                            \
	({                                                                                         \
		__typeof__(p) _tmp = (p);                                                          \
		(p) = NULL;                                                                        \
		_tmp;                                                                              \
	})
#define vl_steal_fd(fd)                                                                            \
	({                                                                                         \
		int _tmp = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_tmp;                                                                              \
	})
