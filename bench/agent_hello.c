/* bench/lxc-ops.sh's end of a start on the lxc-* side: the moment the agent
 * answers hello, as virtlab's start ends (vl_guest_wait_agent), with
 * virtlab's own agent client. Started once, before any timing, as a
 * coprocess: for each agent socket path read from standard input it tries to
 * connect every 0.1 ms (virtlab waits up to 1 ms between tries: the reference
 * side is not made slower), says hello, and then writes "ok" (or the error)
 * as one line to standard output. */
#include "agent/client.h"
#include "core/clock.h"
#include "platforms/guest_files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HELLO_TIMEOUT 10.0
#define RETRY_NS      100000

static int hello(const char *path, vl_error *err)
{
	uint64_t t0 = vl_now_ns();
	struct vl_agent_client *c = NULL;
	int fd, rc;

	while (vl_guest_connect_path(path, &fd, err) < 0) {
		if (err->errnum != ENOENT && err->errnum != ECONNREFUSED)
			return -1;
		if (vl_seconds_since(t0) > HELLO_TIMEOUT)
			return vl_error_set(err, "no agent at %s after %.0f s", path,
			                    HELLO_TIMEOUT);
		vl_error_clear(err);
		vl_sleep_ns(RETRY_NS, NULL);
	}
	if (vl_agent_client_new(fd, &c, err) < 0)
		return -1;
	rc = vl_agent_hello(c, HELLO_TIMEOUT, NULL, err);
	vl_agent_client_free(c);
	return rc;
}

int main(void)
{
	char path[4096];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(path, sizeof(path), stdin)) {
		vl_error err = {0};

		path[strcspn(path, "\n")] = '\0';
		if (hello(path, &err) < 0)
			printf("%s\n", err.msg);
		else
			printf("ok\n");
	}
	return 0;
}
