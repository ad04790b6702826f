/* The escape checks as a static program, for guests that can only run
 * programs: `escape_checks HOST_PID GUEST_MARKER HOST_MARKER`; the exit
 * status is vl_escape_checks'. */
#include <stdio.h>
#include <stdlib.h>
#include "escape_checks.h"

int main(int argc, char **argv)
{
	struct vl_escape_target t;

	if (argc != 4) {
		fprintf(stderr, "usage: escape_checks HOST_PID GUEST_MARKER HOST_MARKER\n");
		return 2;
	}
	t.host_pid = (pid_t)atoi(argv[1]);
	t.guest_marker = argv[2];
	t.host_marker = argv[3];
	return vl_escape_checks(&t);
}
