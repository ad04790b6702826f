/* Socket addresses from IP literals. No name resolution: the static agent
 * cannot use glibc's NSS, and every address virtlab uses is a literal. */
#pragma once
#include <sys/socket.h>
#include "core/error.h"

int vl_sockaddr_parse(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len,
                      vl_error *err);
