/* A QMP client (the QEMU Machine Protocol: JSON over a unix socket). One
 * connection, one command at a time; events that arrive meanwhile are kept
 * so that a later vl_qmp_wait_event() sees them. */
#pragma once
#include <jansson.h>
#include "core/error.h"

struct vl_qmp;

/* Connects to the monitor socket at path, retrying until it exists (QEMU
 * makes it while starting) or timeout_s passes, reads the greeting and
 * leaves capabilities negotiation. */
int vl_qmp_connect(const char *path, double timeout_s, struct vl_qmp **out, vl_error *err);
void vl_qmp_free(struct vl_qmp *q);

/* Runs command with args (may be NULL; not stolen) and stores the "return"
 * member (new reference) in *ret when ret is not NULL. An "error" reply
 * fails with QEMU's class and description. */
int vl_qmp_execute(struct vl_qmp *q, const char *command, json_t *args, double timeout_s,
                   json_t **ret, vl_error *err);

/* Waits for an event named name, taking a kept one first; *event (may be
 * NULL) is the whole message. */
int vl_qmp_wait_event(struct vl_qmp *q, const char *name, double timeout_s, json_t **event,
                      vl_error *err);
