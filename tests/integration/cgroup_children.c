#include "cgroup_children.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* More than any pids limit the tests set. */
#define FORK_LOOP_MAX 64

pid_t vl_test_spawn_in(struct vl_cgroup *cg, int (*fn)(void), vl_error *err)
{
	char byte = 0;
	int go[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		return vl_error_errno(err, errno, "pipe");
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		_exit(read(go[0], &byte, 1) == 1 ? fn() : 126);
	}
	close(go[0]);
	if (pid < 0) {
		vl_error_errno(err, errno, "fork");
	} else if (vl_cgroup_attach_pid(cg, pid, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	} else if (write(go[1], &byte, 1) != 1) {
		vl_error_errno(err, errno, "releasing child %d", (int)pid);
		pid = -1;
	}
	close(go[1]);
	return pid;
}

int vl_test_spin(void)
{
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}

int vl_test_fork_loop(void)
{
	int n = 0;

	for (; n < FORK_LOOP_MAX; n++) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0)
			return errno == EAGAIN ? n : 255;
	}
	return n;
}
