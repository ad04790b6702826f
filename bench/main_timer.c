/* LD_PRELOAD'ed into a reference tool by bench/lxc-ops.sh: appends to the
 * file named by $VIRTLAB_BENCH_MAIN_LOG when the process reached main() and
 * when it began its exit, "START END" in seconds of CLOCK_REALTIME (the clock
 * of bash's $EPOCHREALTIME). What a program spends before main() (execve,
 * the dynamic linker loading and relocating its libraries) is not part of
 * the operation it performs, and a library call timed in-process does not
 * pay it; nor does it pay what follows exit() (the remaining destructors,
 * the kernel's teardown of the process).
 * Only the process that was exec'd reports: forks (a daemonizing
 * lxc-start's monitor) inherit the destructor but not the pid, and what it
 * execs (rsync for a copy) runs without the timer, its start-up part of the
 * operation. A program that ends with _exit() reports nothing; the bench
 * counts the lines. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct timespec started;
static pid_t started_pid;

/* The highest priority number runs last among the constructors of this
 * object; the program's own run after the preloaded library's. */
__attribute__((constructor(65535))) static void main_timer_start(void)
{
	started_pid = getpid();
	unsetenv("LD_PRELOAD");
	clock_gettime(CLOCK_REALTIME, &started);
}

__attribute__((destructor(101))) static void main_timer_report(void)
{
	const char *log = getenv("VIRTLAB_BENCH_MAIN_LOG");
	struct timespec now;
	char line[64];
	int fd, len;

	if (!log || getpid() != started_pid)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	len = snprintf(line, sizeof(line), "%lld.%06ld %lld.%06ld\n", (long long)started.tv_sec,
	               started.tv_nsec / 1000, (long long)now.tv_sec, now.tv_nsec / 1000);
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) < 0)
		perror("main_timer: writing $VIRTLAB_BENCH_MAIN_LOG");
	close(fd);
}
