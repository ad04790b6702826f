/* virtlab agent: serves the agent protocol on stdin/stdout, an inherited fd, a
 * unix socket or a character device (virtio-serial). Also the whole of the
 * static virtlab-agent. */
#include "agent/agent.h"
#include "agent/guest_init.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/cleanup.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* A device whose host side is not connected reads as EOF at once. A
 * virtio-serial port signals SIGIO when the host connects; this is how often
 * we look again without one. */
#define DEVICE_RETRY_MS 250

enum mode { MODE_STDIO, MODE_FD, MODE_SOCKET, MODE_CONNECT, MODE_DEVICE };

static volatile int stop_flag;
static bool workdir_prepared;
static volatile sig_atomic_t stop_signal;
static int wake_pipe[2] = {-1, -1};
static int host_pipe[2] = {-1, -1};

/* The pipe wakes a serve loop blocked in poll whichever thread the signal
 * was delivered to; the flag ends a running workload. */
static void on_signal(int sig)
{
	int saved = errno;

	stop_flag = 1;
	if (!stop_signal)
		stop_signal = sig;
	if (write(wake_pipe[1], "", 1) < 0) {
		/* Full pipe: it is readable already. */
	}
	errno = saved;
}

static void on_sigio(int sig)
{
	int saved = errno;

	(void)sig;
	if (write(host_pipe[1], "", 1) < 0) {
		/* Full pipe: it is readable already. */
	}
	errno = saved;
}

/* Asks the device for SIGIO when the host connects or goes. A device that
 * cannot is looked at every DEVICE_RETRY_MS. */
static int watch_host(int fd, vl_error *err)
{
	struct sigaction sa = {.sa_handler = on_sigio, .sa_flags = SA_RESTART};
	int flags = fcntl(fd, F_GETFL);

	if (pipe2(host_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return vl_error_errno(err, errno, "creating the host pipe");
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGIO, &sa, NULL) < 0)
		return vl_error_errno(err, errno, "installing the SIGIO handler");
	if (flags < 0 || fcntl(fd, F_SETOWN, getpid()) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_ASYNC) < 0)
		vl_debug("agent: no SIGIO from the device (%s): polling", strerror(errno));
	return 0;
}

static void drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static int install_signals(vl_error *err)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct sigaction ignore = {.sa_handler = SIG_IGN};

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return vl_error_errno(err, errno, "creating the signal pipe");
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGPIPE, &ignore, NULL) < 0)
		return vl_error_errno(err, errno, "installing signal handlers");
	return 0;
}

/* Waits up to ms for fd to become readable; 0 when a signal came first. */
static int wait_readable(int fd, int ms, vl_error *err)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = wake_pipe[0], .events = POLLIN},
		                      {.fd = fd, .events = POLLIN}};
		int n;
		if (stop_flag)
			return 0;
		n = poll(p, fd >= 0 ? 2 : 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vl_error_errno(err, errno, "waiting");
		return p[0].revents ? 0 : 1;
	}
}

static int unix_address(const char *path, struct sockaddr_un *sa, vl_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return vl_error_input(err, "socket path '%s' is longer than %zu bytes", path,
		                      sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

static int connect_unix(const char *path, int *out, vl_error *err)
{
	struct sockaddr_un sa;
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (unix_address(path, &sa, err) < 0)
		return -1;
	if (fd < 0)
		return vl_error_errno(err, errno, "creating a unix socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vl_error_errno(err, errno, "connecting to %s", path);
	*out = vl_steal_fd(fd);
	return 0;
}

static int listen_unix(const char *path, int *out, vl_error *err)
{
	struct sockaddr_un sa;
	struct stat st;
	int probe;
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (unix_address(path, &sa, err) < 0)
		return -1;
	if (fd < 0)
		return vl_error_errno(err, errno, "creating a unix socket");
	/* A socket file nobody listens on is left over from a crash. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		vl_error ignored = {0};
		if (connect_unix(path, &probe, &ignored) == 0) {
			close(probe);
			return vl_error_input(err, "another agent is listening on %s", path);
		}
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return vl_error_errno(err, errno, "binding %s", path);
	if (listen(fd, 4) < 0) {
		unlink(path);
		return vl_error_errno(err, errno, "listening on %s", path);
	}
	*out = vl_steal_fd(fd);
	return 0;
}

static int serve(int in_fd, int out_fd, const struct vl_agent_options *opts, enum vl_agent_end *end,
                 vl_error *err)
{
	if (vl_agent_serve_channel(in_fd, out_fd, opts, end, err) < 0)
		return -1;
	vl_info("agent: %s", *end == VL_AGENT_END_SHUTDOWN ? "shutdown requested"
	                     : *end == VL_AGENT_END_EOF    ? "end of input"
	                                                   : "stopped by a signal");
	return 0;
}

/* One connection at a time, until shutdown or a signal. */
static int serve_socket(const char *path, const struct vl_agent_options *opts, vl_error *err)
{
	cleanup_close int lfd = -1;
	enum vl_agent_end end = VL_AGENT_END_EOF;
	int rc = 0;

	if (listen_unix(path, &lfd, err) < 0)
		return -1;
	vl_info("agent: listening on %s", path);
	while (rc == 0 && end == VL_AGENT_END_EOF) {
		cleanup_close int fd = -1;
		rc = wait_readable(lfd, -1, err);
		if (rc <= 0)
			break;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) {
			rc = 0;
			continue;
		}
		if (fd < 0) {
			rc = vl_error_errno(err, errno, "accepting on %s", path);
			break;
		}
		rc = serve(fd, fd, opts, &end, err);
	}
	unlink(path);
	return rc < 0 ? -1 : 0;
}

/* The host may connect, go away and come back: serve each time it is there. */
static int serve_device(const char *path, const struct vl_agent_options *opts, vl_error *err)
{
	cleanup_close int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	enum vl_agent_end end = VL_AGENT_END_EOF;

	struct termios raw;

	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	/* A console channel (Xen's /dev/hvcN) is a tty: cooked mode would echo
	 * the host's requests back to it and hold lines; its mode does not
	 * survive a close, so it is set here and not by /init. */
	if (isatty(fd)) {
		if (tcgetattr(fd, &raw) < 0)
			return vl_error_errno(err, errno, "reading the mode of %s", path);
		cfmakeraw(&raw);
		if (tcsetattr(fd, TCSANOW, &raw) < 0)
			return vl_error_errno(err, errno, "making %s raw", path);
	}
	if (watch_host(fd, err) < 0)
		return -1;
	vl_info("agent: serving %s", path);
	for (;;) {
		/* Drained before the read that may find the host away, so that a
		 * SIGIO after it still wakes the wait below. */
		drain(host_pipe[0]);
		if (serve(fd, fd, opts, &end, err) < 0)
			return -1;
		if (end != VL_AGENT_END_EOF)
			return 0;
		if (wait_readable(host_pipe[0], DEVICE_RETRY_MS, err) <= 0)
			return stop_flag ? 0 : -1;
	}
}

static int check_fd(unsigned fd, vl_error *err)
{
	if (fcntl((int)fd, F_GETFD) < 0)
		return vl_error_input(err, "--fd %u is not an open file descriptor", fd);
	/* Children we start (stressors) must not hold the channel. */
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

static int check_workdir(const char *dir, vl_error *err)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return vl_error_input(err, "--workdir %s is not a directory", dir);
	if (access(dir, W_OK) < 0)
		return vl_error_input(err, "--workdir %s is not writable", dir);
	return 0;
}

/* pid 1 of a VM guest: boots, serves the port in a child and powers off when
 * that child ends (after the host's shutdown request), so that the guest stops
 * rather than panics. Reaps every orphan meanwhile, as an init must. */
static _Noreturn void run_init(struct vl_agent_options *opts)
{
	struct vl_guest_boot boot;
	vl_error err = {0};
	pid_t agent, w;
	int status;

	if (vl_guest_init_boot(&boot, &err) < 0) {
		vl_cli_report(&err);
		vl_guest_init_poweroff();
	}
	/* Only the network experiment needs the NIC: the agent serves anyway. */
	if (vl_guest_init_network(&boot, &err) < 0) {
		vl_cli_report(&err);
		vl_error_clear(&err);
	}
	agent = fork();
	if (agent == 0) {
		opts->workdir = boot.workdir;
		if (!opts->prepare) {
			opts->prepare = "/" VL_GUEST_PREPARE_SCRIPT;
			opts->prepared = &workdir_prepared;
		}
		int rc = install_signals(&err);
		opts->stop_fd = wake_pipe[0];
		if (rc == 0)
			rc = serve_device(boot.port, opts, &err);
		_exit(rc < 0 ? vl_cli_report(&err) : 0);
	}
	if (agent < 0) {
		vl_error_errno(&err, errno, "starting the agent");
		vl_cli_report(&err);
	}
	while (agent > 0 && (w = wait(&status)) != agent)
		if (w < 0 && errno != EINTR)
			break;
	vl_guest_init_poweroff();
}

static void usage(void)
{
	printf("Usage: virtlab agent [--fd N | --socket PATH | --connect PATH | --device PATH]\n"
	       "                     [--workdir DIR] [--prepare PROG] [-v]\n\n"
	       "Serves the agent protocol (docs/agent-protocol.md): JSON requests, one per line,\n"
	       "each answered by one JSON line. Ends on the shutdown request, at end of input or\n"
	       "on SIGINT/SIGTERM (a running workload stops early and removes its files).\n\n"
	       "  -f, --fd N          serve an inherited bidirectional file descriptor\n"
	       "  -s, --socket PATH   listen on a unix socket, one connection at a time\n"
	       "  -c, --connect PATH  connect to a unix socket and serve it\n"
	       "  -d, --device PATH   serve a character device such as /dev/vport0p1, again\n"
	       "                      whenever the host reconnects\n"
	       "  -w, --workdir DIR   where disk workloads create their files (default .)\n"
	       "  -p, --prepare PROG  run PROG WORKDIR before the first request that starts\n"
	       "                      work (run, stress-start, serve, exec), e.g. to mount it\n"
	       "  -i, --init          be a VM guest's init (pid 1 of virtlab's initramfs): mount,\n"
	       "                      load modules, serve the virtio port, power off after\n"
	       "  -v, --verbose       say more (repeat for debug output)\n"
	       "  -h, --help          show this help\n\n"
	       "Without a channel option the agent serves stdin and stdout.\n"
	       "Exit status: 0 after shutdown or end of input, 1 failure, 2 bad usage,\n"
	       "128+N after signal N.\n");
}

static int set_mode(enum mode *mode, enum mode m, const char **target, const char *arg)
{
	if (*mode != MODE_STDIO)
		return vl_cli_usage_error("agent", "--fd, --socket, --connect and --device "
		                                   "exclude each other");
	*mode = m;
	*target = arg;
	return 0;
}

int vl_cmd_agent(int argc, char **argv)
{
	static const struct option options[] = {
	        {"fd", required_argument, NULL, 'f'},
	        {"socket", required_argument, NULL, 's'},
	        {"connect", required_argument, NULL, 'c'},
	        {"device", required_argument, NULL, 'd'},
	        {"workdir", required_argument, NULL, 'w'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {"prepare", required_argument, NULL, 'p'},
	        {"init", no_argument, NULL, 'i'},
	        {NULL, 0, NULL, 0},
	};
	struct vl_agent_options opts = {.stop = &stop_flag};
	enum vl_agent_end end = VL_AGENT_END_EOF;
	enum mode mode = MODE_STDIO;
	const char *target = NULL;
	cleanup_close int conn = -1;
	unsigned fd = 0;
	vl_error err = {0};
	bool init = false;
	int opt, rc = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":f:s:c:d:w:p:ivh", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (vl_cli_parse_uint("--fd", optarg, 0, 1u << 20, &fd, &err) < 0)
				return vl_cli_report(&err);
			rc = set_mode(&mode, MODE_FD, &target, optarg);
			break;
		case 's':
			rc = set_mode(&mode, MODE_SOCKET, &target, optarg);
			break;
		case 'c':
			rc = set_mode(&mode, MODE_CONNECT, &target, optarg);
			break;
		case 'd':
			rc = set_mode(&mode, MODE_DEVICE, &target, optarg);
			break;
		case 'w':
			opts.workdir = optarg;
			break;
		case 'p':
			opts.prepare = optarg;
			opts.prepared = &workdir_prepared;
			break;
		case 'i':
			init = true;
			break;
		case 'v':
			vl_log_set_level(vl_log_get_level() >= VL_LOG_INFO ? VL_LOG_DEBUG
			                                                   : VL_LOG_INFO);
			break;
		case 'h':
			usage();
			return 0;
		case ':':
			return vl_cli_usage_error("agent", "%s needs a value", argv[optind - 1]);
		default:
			return vl_cli_usage_error("agent", "unknown option '%s'", argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	if (optind != argc)
		return vl_cli_usage_error("agent", "unexpected argument '%s'", argv[optind]);
	if (init && (mode != MODE_STDIO || opts.workdir))
		return vl_cli_usage_error("agent", "--init finds its channel and workdir itself");
	/* It mounts over /proc, /sys and /dev. */
	if (init && getpid() != 1)
		return vl_cli_usage_error("agent", "--init is only for a guest's pid 1");
	if (init)
		run_init(&opts);
	/* A prepare program may be what makes the workdir. */
	if ((opts.workdir && !opts.prepare && check_workdir(opts.workdir, &err) < 0) ||
	    (mode == MODE_FD && check_fd(fd, &err) < 0) || install_signals(&err) < 0)
		return vl_cli_report(&err);
	opts.stop_fd = wake_pipe[0];
	switch (mode) {
	case MODE_STDIO:
		rc = serve(STDIN_FILENO, STDOUT_FILENO, &opts, &end, &err);
		break;
	case MODE_FD:
		rc = serve((int)fd, (int)fd, &opts, &end, &err);
		break;
	case MODE_CONNECT:
		rc = connect_unix(target, &conn, &err);
		if (rc == 0)
			rc = serve(conn, conn, &opts, &end, &err);
		break;
	case MODE_SOCKET:
		rc = serve_socket(target, &opts, &err);
		break;
	case MODE_DEVICE:
		rc = serve_device(target, &opts, &err);
		break;
	}
	if (rc < 0)
		return vl_cli_report(&err);
	return stop_signal ? vl_cli_interrupted(stop_signal) : 0;
}
