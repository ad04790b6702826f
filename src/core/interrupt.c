#include "core/interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <unistd.h>

#define MAX_GROUPS 64

static volatile int stop_flag;
static volatile sig_atomic_t first_signal;
static volatile sig_atomic_t signal_count;
/* Written only with the signals blocked, so the handler never sees a torn slot. */
static volatile sig_atomic_t groups[MAX_GROUPS];
/* The signal may be delivered to any thread, so waiting is on a pipe the
 * handler writes to, not on sigsuspend() in one thread. */
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	int forward = signal_count++ ? SIGKILL : SIGTERM;

	if (!first_signal)
		first_signal = sig;
	stop_flag = 1;
	for (size_t i = 0; i < MAX_GROUPS; i++)
		if (groups[i] > 1)
			kill(-(pid_t)groups[i], forward);
	if (write(wake_pipe[1], "", 1) < 0) {
		/* Full: it is readable already. */
	}
	errno = saved;
}

static void block_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, old);
}

int vl_interrupt_install(vl_error *err)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct sigaction ignore = {.sa_handler = SIG_IGN};

	if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return vl_error_errno(err, errno, "creating the signal pipe");
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGPIPE, &ignore, NULL) < 0)
		return vl_error_errno(err, errno, "installing signal handlers");
	return 0;
}

int vl_interrupt_signal(void)
{
	return first_signal;
}

const volatile int *vl_interrupt_flag(void)
{
	return &stop_flag;
}

void vl_interrupt_wait(void)
{
	struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};

	while (!first_signal)
		poll(&p, 1, -1);
}

int vl_interrupt_forward_to(pid_t pgid, vl_error *err)
{
	sigset_t old;
	size_t i;

	block_signals(&old);
	for (i = 0; i < MAX_GROUPS && groups[i]; i++)
		;
	if (i < MAX_GROUPS) {
		groups[i] = pgid;
		/* A signal that came before the group was known must still reach it. */
		if (first_signal)
			kill(-pgid, SIGTERM);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (i == MAX_GROUPS)
		return vl_error_set(err, "more than %d guest process groups", MAX_GROUPS);
	return 0;
}

void vl_interrupt_forget(pid_t pgid)
{
	sigset_t old;

	block_signals(&old);
	for (size_t i = 0; i < MAX_GROUPS; i++)
		if (groups[i] == pgid)
			groups[i] = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
}
