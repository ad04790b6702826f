/* Host specs ("NAME=KIND:TARGET") and the table of host kinds. */
#include "hosts/host.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct vl_host_kind vl_host_kind_lab;
extern const struct vl_host_kind vl_host_kind_ssh;

/* Adding a kind: one file and one line here. */
static const struct vl_host_kind *const kinds[] = {
        &vl_host_kind_ssh,
        &vl_host_kind_lab,
};

const struct vl_host_kind *vl_host_kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

/* A host name is part of platform names (qemu@NAME), file names and
 * results keys: letters, digits, '-' and '_', starting with a letter. */
static bool valid_name(const char *name, size_t len)
{
	if (len == 0 || len >= VL_HOST_NAME_MAX || !isalpha((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
			return false;
	return true;
}

static void kind_names(char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? ", " : "",
		         kinds[i]->name);
}

int vl_host_parse(const char *spec, struct vl_host **out, vl_error *err)
{
	const char *eq = strchr(spec, '='), *colon;
	char kind[32], names[128];
	struct vl_host *h;

	*out = NULL;
	if (!eq)
		return vl_error_input(err,
		                      "host '%s' is not NAME=KIND:TARGET (e.g. "
		                      "remote=ssh:root@192.0.2.7 or xenlab=lab:xen)",
		                      spec);
	if (!valid_name(spec, (size_t)(eq - spec)))
		return vl_error_input(
		        err,
		        "host name '%.*s' is not valid: use up to %d letters, digits, "
		        "'-' or '_', starting with a letter",
		        (int)(eq - spec), spec, VL_HOST_NAME_MAX - 1);
	colon = strchr(eq + 1, ':');
	kind_names(names, sizeof(names));
	if (!colon || (size_t)(colon - eq - 1) >= sizeof(kind))
		return vl_error_input(err, "host '%s' has no KIND:TARGET after '=' (kinds: %s)",
		                      spec, names);
	memcpy(kind, eq + 1, (size_t)(colon - eq - 1));
	kind[colon - eq - 1] = '\0';
	h = calloc(1, sizeof(*h));
	if (!h)
		return vl_error_errno(err, ENOMEM, "parsing host '%s'", spec);
	memcpy(h->name, spec, (size_t)(eq - spec));
	h->kind = vl_host_kind_find(kind);
	if (!h->kind) {
		free(h);
		return vl_error_input(err, "host '%s': unknown kind '%s' (kinds: %s)", spec, kind,
		                      names);
	}
	if (!colon[1] || strlen(colon + 1) >= sizeof(h->target)) {
		free(h);
		return vl_error_input(err, "host '%s': the target after '%s:' is empty or too long",
		                      spec, kind);
	}
	snprintf(h->target, sizeof(h->target), "%s", colon + 1);
	if (h->kind->check && h->kind->check(h->target, err) < 0) {
		free(h);
		return vl_error_wrap(err, "host '%s'", spec);
	}
	*out = h;
	return 0;
}

void vl_host_free(struct vl_host *h)
{
	free(h);
}
