/* Host kind `ssh`: another machine reached with the OpenSSH client, in batch
 * mode (no prompts: the host key must be known and a key authorized). open
 * copies virtlab's bundle into a fresh work directory there; every command
 * runs in it with the bundle's virtlab first in PATH and the work directory
 * as virtlab's state and data, so that close leaves nothing behind.
 * VIRTLAB_SSH_CONFIG names an ssh_config file to use instead of the user's. */
#include "hosts/bundle.h"
#include "hosts/host.h"
#include "core/cleanup.h"
#include "core/command.h"
#include "core/interrupt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define CONNECT_TIMEOUT "ConnectTimeout=10"
#define COPY_TIMEOUT_S  600.0
#define CLOSE_TIMEOUT_S 180.0
#define TAR_TIMEOUT_S   120.0
#define SSH_MAX_ARGS    200

struct ssh_target {
	char user[64]; /* "" when not given: ssh's configuration decides */
	char addr[192];
	bool ipv6;
	unsigned port; /* 0 when not given */
};

struct ssh_priv {
	struct ssh_target t;
};

static bool valid_chars(const char *s, size_t len, const char *extra)
{
	if (len == 0 || s[0] == '-') /* never an option to ssh */
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

/* "[USER@]ADDR[:PORT]", ADDR a name, an IPv4 address or [an IPv6 address]. */
static int parse_target(const char *target, struct ssh_target *t, vl_error *err)
{
	const char *at = strchr(target, '@'), *addr = at ? at + 1 : target, *end, *port = NULL;

	memset(t, 0, sizeof(*t));
	if (at) {
		size_t len = (size_t)(at - target);
		if (len >= sizeof(t->user) || !valid_chars(target, len, "._-"))
			return vl_error_input(err, "ssh user '%.*s' is not a valid user name",
			                      (int)len, target);
		memcpy(t->user, target, len);
	}
	if (addr[0] == '[') {
		end = strchr(addr, ']');
		if (!end || !valid_chars(addr + 1, (size_t)(end - addr - 1), ":.%"))
			return vl_error_input(err, "ssh address '%s' is not [IPv6-ADDRESS]", addr);
		t->ipv6 = true;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return vl_error_input(err, "ssh target '%s': junk after ']'", target);
		addr++;
	} else {
		end = strchr(addr, ':');
		if (end)
			port = end + 1;
		else
			end = addr + strlen(addr);
		if (!valid_chars(addr, (size_t)(end - addr), ".-_"))
			return vl_error_input(err,
			                      "ssh address '%.*s' is not a host name or IPv4 "
			                      "address (write IPv6 addresses in brackets)",
			                      (int)(end - addr), addr);
	}
	if ((size_t)(end - addr) >= sizeof(t->addr))
		return vl_error_input(err, "ssh address in '%s' is too long", target);
	memcpy(t->addr, addr, (size_t)(end - addr));
	if (port) {
		char *stop;
		unsigned long p;
		errno = 0;
		p = strtoul(port, &stop, 10);
		if (errno || stop == port || *stop || p < 1 || p > 65535)
			return vl_error_input(err, "ssh port '%s' is not a number from 1 to 65535",
			                      port);
		t->port = (unsigned)p;
	}
	return 0;
}

static int check(const char *target, vl_error *err)
{
	struct ssh_target t;

	return parse_target(target, &t, err);
}

/* Everything ssh and scp share: no prompts, a bounded connect, a dead peer
 * noticed within a minute. */
static size_t common_options(const char **argv, size_t n)
{
	const char *config = getenv("VIRTLAB_SSH_CONFIG");

	if (config && config[0]) {
		argv[n++] = "-F";
		argv[n++] = config;
	}
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	argv[n++] = "-o";
	argv[n++] = CONNECT_TIMEOUT;
	argv[n++] = "-o";
	argv[n++] = "ServerAliveInterval=15";
	argv[n++] = "-o";
	argv[n++] = "ServerAliveCountMax=4";
	return n;
}

/* Quotes s for the remote POSIX shell. */
static int append_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	return fputc('\'', f) == EOF ? -1 : 0;
}

/* "sh -c SCRIPT sh ARG...", quoted: whatever the user's login shell, the
 * script runs in sh and sees its arguments unchanged. */
static char *remote_command(const char *script, const char *const *args)
{
	char *cmd = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&cmd, &len);

	if (!f)
		return NULL;
	fputs("sh -c ", f);
	append_quoted(f, script);
	fputs(" sh", f);
	for (size_t i = 0; args[i]; i++) {
		fputc(' ', f);
		append_quoted(f, args[i]);
	}
	if (fclose(f) != 0) {
		free(cmd);
		return NULL;
	}
	return cmd;
}

/* Runs script on the host with args; stdin_fd feeds it (-1: a pipe that
 * stays open until the call returns, so that the script notices when this
 * virtlab is gone). stop (may be NULL) ends the call early. */
static int ssh_script(struct vl_host *h, const char *script, const char *const *args, int stdin_fd,
                      double timeout_s, const volatile int *stop, struct vl_command_result *res,
                      vl_error *err)
{
	struct ssh_priv *p = h->priv;
	const char *argv[SSH_MAX_ARGS];
	cleanup_free char *cmd = remote_command(script, args);
	cleanup_close int keep_r = -1;
	cleanup_close int keep_w = -1;
	char port[16];
	size_t n = 0;

	if (!cmd)
		return vl_error_errno(err, ENOMEM, "building a command for host %s", h->name);
	if (stdin_fd < 0) {
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) < 0)
			return vl_error_errno(err, errno, "creating a pipe for host %s", h->name);
		keep_r = fds[0];
		keep_w = fds[1];
		stdin_fd = keep_r;
	}
	argv[n++] = "ssh";
	n = common_options(argv, n);
	if (p->t.port) {
		snprintf(port, sizeof(port), "%u", p->t.port);
		argv[n++] = "-p";
		argv[n++] = port;
	}
	if (p->t.user[0]) {
		argv[n++] = "-l";
		argv[n++] = p->t.user;
	}
	argv[n++] = "--";
	argv[n++] = p->t.addr;
	argv[n++] = cmd;
	argv[n] = NULL;
	return vl_command_run_input(argv, NULL, stdin_fd, timeout_s, stop, res, err);
}

/* ssh itself failed (status 255): name the host and say what usually helps. */
static int ssh_failure(struct vl_host *h, const struct vl_command_result *res, const char *what,
                       vl_error *err)
{
	char why[512];
	const char *hint = "";

	vl_command_describe_failure(res, why, sizeof(why));
	if (strstr(res->err, "Host key verification failed") ||
	    strstr(res->err, "REMOTE HOST IDENTIFICATION"))
		hint = " (virtlab runs ssh in batch mode: add the host's key to known_hosts, "
		       "e.g. by connecting once with ssh)";
	else if (strstr(res->err, "Permission denied"))
		hint = " (virtlab runs ssh in batch mode: authorize a key without a passphrase, "
		       "or load it into ssh-agent)";
	return vl_error_set(err, "%s on host %s (ssh %s): %s%s", what, h->name, h->target, why,
	                    hint);
}

/* Makes <bundle>.tar beside the bundle once: what open streams to hosts. */
static int bundle_tar(const char *bundle, char *tar, size_t size, vl_error *err)
{
	char tmp[PATH_MAX + 16];
	const char *argv[] = {"tar", "-C", bundle, "-cf", tmp, ".", NULL};
	struct vl_command_result res = {0};
	char why[512];
	int rc = 0;

	snprintf(tar, size, "%s.tar", bundle);
	if (access(tar, R_OK) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", tar, (int)getpid());
	if (vl_command_run(argv, NULL, TAR_TIMEOUT_S, vl_interrupt_flag(), &res, err) < 0) {
		unlink(tmp);
		return vl_error_wrap(err, "packing the bundle");
	}
	if (res.exit_code != 0)
		rc = vl_error_set(err, "tar of %s: %s", bundle,
		                  vl_command_describe_failure(&res, why, sizeof(why)));
	else if (rename(tmp, tar) < 0)
		rc = vl_error_errno(err, errno, "renaming %s", tmp);
	if (rc < 0)
		unlink(tmp);
	vl_command_result_release(&res);
	return rc;
}

/* A fresh work directory under /var/tmp (on disk, unlike /tmp on many
 * hosts: the disk experiments write there), the bundle unpacked into it.
 * The host must be of this machine's architecture. */
static const char open_script[] =
        "[ \"$(uname -m)\" = \"$1\" ] || { echo \"the host is $(uname -m), virtlab's bundle is "
        "$1\" >&2; exit 3; }\n"
        "umask 022\n"
        "w=$(mktemp -d /var/tmp/virtlab-host.XXXXXX) || exit 3\n"
        "mkdir \"$w/bundle\" \"$w/state\" \"$w/data\" && tar -C \"$w/bundle\" -xf - &&\n"
        "\"$w/bundle/bin/virtlab\" --version >/dev/null || { rm -rf \"$w\"; exit 3; }\n"
        "echo \"$w\"\n";

static int ssh_open(struct vl_host *h, vl_error *err)
{
	struct ssh_priv *p = calloc(1, sizeof(*p));
	struct vl_command_result res = {0};
	cleanup_close int tar_fd = -1;
	char bundle[PATH_MAX], tar[PATH_MAX + 8], why[512];
	struct utsname u;
	const char *args[2] = {u.machine, NULL};
	size_t len;
	int rc = 0;

	if (!p)
		return vl_error_errno(err, ENOMEM, "opening host %s", h->name);
	h->priv = p;
	if (parse_target(h->target, &p->t, err) < 0 || uname(&u) < 0 ||
	    vl_bundle_build(bundle, sizeof(bundle), err) < 0 ||
	    bundle_tar(bundle, tar, sizeof(tar), err) < 0)
		goto fail;
	tar_fd = open(tar, O_RDONLY | O_CLOEXEC);
	if (tar_fd < 0) {
		vl_error_errno(err, errno, "opening %s", tar);
		goto fail;
	}
	if (ssh_script(h, open_script, args, tar_fd, COPY_TIMEOUT_S, vl_interrupt_flag(), &res,
	               err) < 0)
		goto fail;
	len = strcspn(res.out, "\n");
	if (res.exit_code == 255)
		rc = ssh_failure(h, &res, "connecting", err);
	else if (res.exit_code != 0)
		rc = vl_error_set(err, "copying virtlab to host %s: %s", h->name,
		                  vl_command_describe_failure(&res, why, sizeof(why)));
	else if (strncmp(res.out, "/var/tmp/virtlab-host.", 22) != 0 || len >= sizeof(h->workdir))
		rc = vl_error_set(err, "host %s gave no work directory (got '%.*s')", h->name,
		                  (int)len, res.out);
	else
		snprintf(h->workdir, sizeof(h->workdir), "%.*s", (int)len, res.out);
	vl_command_result_release(&res);
	if (rc < 0)
		goto fail;
	snprintf(h->accel, sizeof(h->accel), "real");
	return 0;
fail:
	free(h->priv);
	h->priv = NULL;
	return vl_error_wrap(err, "opening host %s", h->name);
}

/* Removes the work directory $w: first the guests a stopped command left
 * (by name: a host-wide cleanup would touch other runs' cgroups), then the
 * directory, unless something is still mounted under it. */
#define REMOVE_WORKDIR                                                                             \
	"remove_workdir() {\n"                                                                     \
	"  [ -d \"$w\" ] || return 0\n"                                                            \
	"  g=$(ls \"$w/state/guests\" 2>/dev/null)\n"                                              \
	"  [ -z \"$g\" ] || VIRTLAB_STATE=\"$w/state\" VIRTLAB_DATA=\"$w/data\" "                  \
	"\"$w/bundle/bin/virtlab\" cleanup $g >/dev/null\n"                                        \
	"  if grep -q \" $w/\" /proc/mounts; then echo \"mounts are left under $w\" >&2; "         \
	"return 1; fi\n"                                                                           \
	"  rm -rf \"$w\"\n"                                                                        \
	"}\n"

/* Runs the command in the work directory with the bundle first in PATH.
 * When this virtlab goes away (interrupted, or killed outright) its end of
 * stdin closes: the watcher marks the run orphaned and sends SIGTERM, so
 * that the command removes its guests, and the script then removes the work
 * directory, which nobody will close. run.<script pid> holds the command's
 * pid for close. */
static const char run_script[] =
        "w=$1; shift\n" REMOVE_WORKDIR "cd \"$w\" || exit 127\n"
        "PATH=\"$w/bundle/bin:$PATH\" VIRTLAB_STATE=\"$w/state\" VIRTLAB_DATA=\"$w/data\"\n"
        "export PATH VIRTLAB_STATE VIRTLAB_DATA\n"
        "exec 3<&0\n"
        "\"$@\" </dev/null 3<&- &\n"
        "p=$!\n"
        "echo $p >\"$w/run.$$\"\n"
        "{ while read -r x; do :; done; : >\"$w/orphaned\"; kill -TERM $p; } <&3 >/dev/null 2>&1 "
        "&\n"
        "k=$!\n"
        "exec 3<&-\n"
        "wait $p\n"
        "s=$?\n"
        "kill $k 2>/dev/null\n"
        "cd /\n"
        "if [ -e \"$w/orphaned\" ]; then remove_workdir; else rm -f \"$w/run.$$\"; fi\n"
        "exit $s\n";

static int ssh_run(struct vl_host *h, const char *const *argv, double timeout_s, int *status,
                   char **out, char **errout, vl_error *err)
{
	struct vl_command_result res = {0};
	const char *args[SSH_MAX_ARGS];
	size_t n = 0;

	args[n++] = h->workdir;
	for (size_t i = 0; argv[i]; i++) {
		if (n == SSH_MAX_ARGS - 1)
			return vl_error_set(err, "too many arguments for host %s", h->name);
		args[n++] = argv[i];
	}
	args[n] = NULL;
	if (ssh_script(h, run_script, args, -1, timeout_s, vl_interrupt_flag(), &res, err) < 0)
		return vl_error_wrap(err, "running %s on host %s", argv[0], h->name);
	if (res.exit_code == 255) {
		ssh_failure(h, &res, "running", err);
		vl_command_result_release(&res);
		return -1;
	}
	*status = res.exit_code;
	*out = vl_steal_ptr(res.out);
	*errout = vl_steal_ptr(res.err);
	return 0;
}

static int ssh_fetch(struct vl_host *h, const char *remote_path, const char *local_path,
                     vl_error *err)
{
	struct ssh_priv *p = h->priv;
	struct vl_command_result res = {0};
	const char *argv[SSH_MAX_ARGS];
	char src[PATH_MAX + 300], tmp[PATH_MAX], port[16], why[512];
	size_t n = 0;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", local_path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return vl_error_errno(err, errno, "creating %s", tmp);
	close(fd);
	snprintf(src, sizeof(src), "%s%s%s%s%s:%s", p->t.user, p->t.user[0] ? "@" : "",
	         p->t.ipv6 ? "[" : "", p->t.addr, p->t.ipv6 ? "]" : "", remote_path);
	argv[n++] = "scp";
	argv[n++] = "-q";
	/* The scp protocol: hosts may lack the sftp subsystem, never scp
	 * itself (Debian's openssh-server depends on the client). */
	argv[n++] = "-O";
	n = common_options(argv, n);
	if (p->t.port) {
		snprintf(port, sizeof(port), "%u", p->t.port);
		argv[n++] = "-P";
		argv[n++] = port;
	}
	argv[n++] = "--";
	argv[n++] = src;
	argv[n++] = tmp;
	argv[n] = NULL;
	if (vl_command_run(argv, NULL, COPY_TIMEOUT_S, vl_interrupt_flag(), &res, err) < 0)
		rc = vl_error_wrap(err, "fetching %s from host %s", remote_path, h->name);
	else if (res.exit_code != 0)
		rc = vl_error_set(err, "fetching %s from host %s: %s", remote_path, h->name,
		                  vl_command_describe_failure(&res, why, sizeof(why)));
	else if (chmod(tmp, 0644) < 0 || rename(tmp, local_path) < 0)
		rc = vl_error_errno(err, errno, "moving %s to %s", tmp, local_path);
	vl_command_result_release(&res);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Waits (90 s at most) for commands still running, which remove the work
 * directory themselves when this virtlab was interrupted, then removes it. */
static const char close_script[] =
        "w=$1\n" REMOVE_WORKDIR "for f in \"$w\"/run.*; do\n"
        "  [ -e \"$f\" ] || continue\n"
        "  r=${f##*.} p=$(cat \"$f\") i=0\n"
        "  while kill -0 \"$r\" 2>/dev/null && [ $i -lt 90 ]; do sleep 1; i=$((i + 1)); done\n"
        "  kill -KILL \"$p\" \"$r\" 2>/dev/null\n"
        "done\n"
        "remove_workdir\n";

static int ssh_close(struct vl_host *h, vl_error *err)
{
	struct vl_command_result res = {0};
	const char *args[] = {h->workdir, NULL};
	char why[512];
	int rc = 0;

	if (!h->priv)
		return 0;
	if (h->workdir[0]) {
		/* Also after an interruption: this is what removes the remote side. */
		if (ssh_script(h, close_script, args, -1, CLOSE_TIMEOUT_S, NULL, &res, err) < 0)
			rc = vl_error_wrap(err, "closing host %s", h->name);
		else if (res.exit_code != 0)
			rc = vl_error_set(err, "removing %s on host %s: %s", h->workdir, h->name,
			                  vl_command_describe_failure(&res, why, sizeof(why)));
		vl_command_result_release(&res);
	}
	h->workdir[0] = '\0';
	free(h->priv);
	h->priv = NULL;
	return rc;
}

const struct vl_host_kind vl_host_kind_ssh = {
        .name = "ssh",
        .summary = "another machine reached with OpenSSH (batch mode); virtlab is copied there",
        .check = check,
        .open = ssh_open,
        .run = ssh_run,
        .fetch = ssh_fetch,
        .close = ssh_close,
};
