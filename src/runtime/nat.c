/* NAT through libnftables (see nat.h). Names are checked before they go into
 * a ruleset, so that no caller can inject a rule. */
#include "runtime/nat.h"
#include "runtime/netlink.h"
#include "core/cleanup.h"
#include "core/dynlib.h"
#include "core/file.h"
#include "platforms/state.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IP_FORWARD   "/proc/sys/net/ipv4/ip_forward"
#define FORWARD_FILE "net-ip_forward.saved"

static bool plain_name(const char *s, size_t max, const char *extra)
{
	if (!s[0] || strlen(s) > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && !strchr(extra, *s))
			return false;
	return true;
}

static int check_table(const char *table, vl_error *err)
{
	if (!plain_name(table, 64, ""))
		return vl_error_input(err, "bad nft table name '%s': use letters, digits and '_'",
		                      table);
	return 0;
}

/* libnftables (and libnftnl, libxtables, libgmp behind it) is loaded by the
 * first nft script: only the network topology's NAT needs it. */
static struct {
	VL_DYNLIB_FN(nft_ctx_new);
	VL_DYNLIB_FN(nft_ctx_free);
	VL_DYNLIB_FN(nft_ctx_buffer_output);
	VL_DYNLIB_FN(nft_ctx_buffer_error);
	VL_DYNLIB_FN(nft_ctx_get_output_buffer);
	VL_DYNLIB_FN(nft_ctx_get_error_buffer);
	VL_DYNLIB_FN(nft_run_cmd_from_buffer);
} nft;
static const struct vl_dynlib_sym nft_syms[] = {
        VL_DYNLIB_SYM(nft, nft_ctx_new),
        VL_DYNLIB_SYM(nft, nft_ctx_free),
        VL_DYNLIB_SYM(nft, nft_ctx_buffer_output),
        VL_DYNLIB_SYM(nft, nft_ctx_buffer_error),
        VL_DYNLIB_SYM(nft, nft_ctx_get_output_buffer),
        VL_DYNLIB_SYM(nft, nft_ctx_get_error_buffer),
        VL_DYNLIB_SYM(nft, nft_run_cmd_from_buffer),
};
static struct vl_dynlib libnftables = VL_DYNLIB(VL_SONAME_NFTABLES, "libnftables1", nft_syms);

/* Runs one nft script as a transaction; the error carries nft's own message. */
static int run_nft(const char *script, char **output, vl_error *err)
{
	struct nft_ctx *ctx;
	int rc;

	if (vl_dynlib_load(&libnftables, err) < 0)
		return vl_error_wrap(err, "nft");
	ctx = nft.nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return vl_error_set(err, "nft: cannot create a libnftables context");
	if (nft.nft_ctx_buffer_output(ctx) < 0 || nft.nft_ctx_buffer_error(ctx) < 0) {
		nft.nft_ctx_free(ctx);
		return vl_error_set(err, "nft: cannot buffer libnftables output");
	}
	rc = nft.nft_run_cmd_from_buffer(ctx, script);
	if (rc != 0) {
		const char *msg = nft.nft_ctx_get_error_buffer(ctx);
		size_t len = msg ? strcspn(msg, "\n") : 0;

		vl_error_set(err, "nft: %.*s", (int)len, len ? msg : "failed");
	} else if (output && !(*output = strdup(nft.nft_ctx_get_output_buffer(ctx)))) {
		rc = vl_error_errno(err, ENOMEM, "nft: keeping its output");
	}
	nft.nft_ctx_free(ctx);
	return rc ? -1 : 0;
}

static void forward_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/" FORWARD_FILE, vl_state_root());
}

static int forward_acquire(const char *save_path, vl_error *err)
{
	char value[16];

	if (vl_mkdir_p(vl_state_root(), 0755, err) < 0)
		return vl_error_wrap(err, "saving ip_forward");
	if (access(save_path, F_OK) < 0) {
		if (vl_read_line(IP_FORWARD, value, sizeof(value), err) < 0)
			return vl_error_wrap(err, "saving ip_forward");
		if (vl_write_file_atomic(save_path, value, strlen(value), err) < 0)
			return vl_error_wrap(err, "saving ip_forward");
	}
	if (vl_write_string(IP_FORWARD, "1", err) < 0)
		return vl_error_wrap(err, "enabling ip_forward");
	return 0;
}

static int forward_release(const char *save_path, vl_error *err)
{
	char value[16];
	char **tables;
	size_t n;

	if (vl_nat_list_tables(VL_NAT_TABLE_PREFIX, &tables, &n, err) < 0)
		return vl_error_wrap(err, "restoring ip_forward");
	vl_netlink_names_free(tables, n);
	if (n > 0 || access(save_path, F_OK) < 0)
		return 0;
	if (vl_read_line(save_path, value, sizeof(value), err) < 0)
		return vl_error_wrap(err, "restoring ip_forward");
	if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
		return vl_error_set(err, "restoring ip_forward: %s holds '%s', not 0 or 1",
		                    save_path, value);
	if (vl_write_string(IP_FORWARD, value, err) < 0)
		return vl_error_wrap(err, "restoring ip_forward to %s", value);
	if (unlink(save_path) < 0)
		return vl_error_errno(err, errno, "removing %s", save_path);
	return 0;
}

int vl_nat_create(const char *table, const char *subnet, const char *out_dev, vl_error *err)
{
	char script[1024], path[PATH_MAX];
	uint32_t addr;
	unsigned prefix;

	if (check_table(table, err) < 0 || vl_netlink_parse_cidr(subnet, &addr, &prefix, err) < 0)
		return vl_error_wrap(err, "creating NAT table %s", table);
	if (!plain_name(out_dev, 15, "-."))
		return vl_error_input(err, "creating NAT table %s: bad interface name '%s'", table,
		                      out_dev);
	snprintf(script, sizeof(script),
	         "add table inet %s\n"
	         "add chain inet %s postrouting { type nat hook postrouting priority srcnat; }\n"
	         "add rule inet %s postrouting ip saddr %s oifname \"%s\" masquerade\n",
	         table, table, table, subnet, out_dev);
	if (run_nft(script, NULL, err) < 0)
		return vl_error_wrap(err, "creating NAT table inet %s", table);
	forward_path(path, sizeof(path));
	if (forward_acquire(path, err) < 0) {
		vl_error ignored = {0};
		vl_nat_delete(table, &ignored);
		return vl_error_wrap(err, "creating NAT table inet %s", table);
	}
	return 0;
}

int vl_nat_delete(const char *table, vl_error *err)
{
	char script[256], path[PATH_MAX];

	if (check_table(table, err) < 0)
		return vl_error_wrap(err, "deleting NAT table %s", table);
	/* Adding first makes the deletion succeed when the table is gone
	 * already (nft 1.0.6 has no `destroy`); both are one transaction. */
	snprintf(script, sizeof(script), "add table inet %s\ndelete table inet %s\n", table, table);
	if (run_nft(script, NULL, err) < 0)
		return vl_error_wrap(err, "deleting NAT table inet %s", table);
	forward_path(path, sizeof(path));
	if (forward_release(path, err) < 0)
		return vl_error_wrap(err, "deleting NAT table inet %s", table);
	return 0;
}

int vl_nat_list_tables(const char *prefix, char ***names, size_t *count, vl_error *err)
{
	cleanup_free char *out = NULL;
	char **list = NULL;
	size_t n = 0;
	char *line, *save = NULL;

	*names = NULL;
	*count = 0;
	if (run_nft("list tables inet\n", &out, err) < 0)
		return vl_error_wrap(err, "listing nft tables");
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];
		char **grown;

		if (sscanf(line, "table inet %127s", name) != 1 ||
		    strncmp(name, prefix, strlen(prefix)) != 0)
			continue;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown || !(grown[n] = strdup(name))) {
			vl_netlink_names_free(grown ? grown : list, n);
			return vl_error_errno(err, ENOMEM, "listing nft tables");
		}
		list = grown;
		n++;
	}
	*names = list;
	*count = n;
	return 0;
}
