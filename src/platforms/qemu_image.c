/* The guest's boot files and disk. The initramfs is cached under the data
 * root by a hash of everything that goes in, so provisioning a second guest
 * (or the same one again) is a lookup. */
#include "platforms/qemu_image.h"
#include "agent/guest_init.h"
#include "core/cleanup.h"
#include "core/command.h"
#include "core/file.h"
#include "platforms/image.h"
#include "platforms/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Bump when the initramfs layout or its scripts change. */
#define INITRAMFS_LAYOUT "virtlab-qemu-initramfs-7"
#define MODULE_LIST      "etc/virtlab-modules"
#define PREPARE_SCRIPT   VL_GUEST_PREPARE_SCRIPT
/* The modules only the prepare script loads are stored gzipped: the kernel
 * unpacks the whole initramfs before /init runs, at 9 to 20 ms per MiB under
 * TCG, and ext4 with jbd2 is 2.4 MiB of it; gunzip costs the first workload
 * about 0.1 s instead. */
#define PACKED_GROUP       "disk"
#define QEMU_IMG_TIMEOUT_S 300.0
#define MKFS_TIMEOUT_S     300.0

/* Which modules the guest loads when: "agent" ones before the agent starts
 * (virtio-pci carries the virtio-serial port), "net" ones too when the guest
 * has a virtio NIC, "disk" ones only when the agent's first request that
 * starts work runs the prepare script. Under TCG every module costs boot time,
 * and hello waits only for the first group. ext4 needs a crc32c
 * implementation that the kernel would otherwise ask modprobe for. A Xen
 * guest (xen.c) boots this same initramfs: its disk needs the "xen" group. */
static const struct {
	const char *name;
	const char *group;
} guest_modules[] = {
        {"virtio_pci", "agent"},    {"virtio_console", "agent"},
        {"crc32c_generic", "disk"}, {"virtio_blk", "disk"},
        {"ext4", "disk"},           {"virtio_net", "net"},
        {"xen-blkfront", "xen"},
};
/* The groups init loads (VL_GUEST_INIT_MODULES) come first, so that none of
 * their files is one of the packed group's. */
static const char *const module_groups[] = {"agent", "net", "disk", "xen"};
static const char *const boot_groups[] = {"agent", "net"};

/* No /init script: /init is a link to the static agent, which as pid 1 mounts,
 * loads the "agent" and "net" groups itself (agent/guest_init.h) and serves
 * the port in a child, then powers off. A script took 0.07 s more under TCG:
 * busybox's start, mount -a, a modprobe exec reading modules.dep, a PCI scan
 * and a port wait in shell, then the agent's exec. What stays a script runs
 * rarely: the network set-up (only with a virtio NIC) and the prepare step. */
static const char net_script[] = "#!/bin/sh\n"
                                 "ip link set lo up\n"
                                 "ip addr add \"${1%,*}\" dev eth0 && ip link set eth0 up &&\n"
                                 "\tip route add default via \"${1#*,}\"\n";

/* What the agent runs (with its workdir) before the first request that starts
 * work: the disk is made ready then, not before hello. It may run again after
 * a failure, so each step may find itself done. */
static const char prepare_script[] =
        "#!/bin/sh\n"
        "workdir=$1\n"
        ". /" MODULE_LIST "\n"
        "set --\n"
        "for f in $packed_modules; do [ -e \"$f\" ] && set -- \"$@\" \"$f\"; done\n"
        "[ $# -eq 0 ] || gunzip \"$@\" || exit 1\n"
        "modprobe -a $disk_modules || exit 1\n"
        "ip link set lo up\n"
        "disk=/dev/vda\n"
        "if [ ! -b $disk ] && [ -d /sys/bus/xen/devices ]; then\n"
        "\tmodprobe -a $xen_modules || exit 1\n"
        "\tdisk=/dev/xvda\n"
        "\ti=0\n"
        "\twhile [ ! -b $disk ] && [ -e /sys/bus/xen/devices/vbd-51712 ] && [ $i -lt 250 ]; do\n"
        "\t\tsleep 0.02\n"
        "\t\ti=$((i + 1))\n"
        "\tdone\n"
        "fi\n"
        "if [ -b $disk ]; then\n"
        "\tmounted=\n"
        "\twhile read -r dev dir rest; do\n"
        "\t\t[ \"$dir\" = /mnt/disk ] && mounted=1\n"
        "\tdone < /proc/mounts\n"
        "\t[ -n \"$mounted\" ] || mount -t ext4 $disk /mnt/disk || exit 1\n"
        "fi\n"
        "mkdir -p \"$workdir\"\n";

/* ---- the kernel ---- */

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int vl_qemu_find_kernel(struct vl_qemu_kernel *out, vl_error *err)
{
	cleanup_dir DIR *d = opendir("/boot");
	struct dirent *e;
	char path[PATH_MAX];

	memset(out, 0, sizeof(*out));
	if (!d)
		return vl_error_errno(err, errno, "looking for a kernel in /boot");
	while ((e = readdir(d))) {
		const char *rel = e->d_name + strlen("vmlinuz-");
		if (strncmp(e->d_name, "vmlinuz-", 8) != 0 || strlen(rel) >= sizeof(out->release))
			continue;
		snprintf(path, sizeof(path), "/var/lib/dpkg/info/linux-image-%s.list", rel);
		if (!exists(path))
			continue;
		snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", rel);
		if (!exists(path))
			continue;
		if (out->release[0] && strverscmp(rel, out->release) <= 0)
			continue;
		snprintf(out->release, sizeof(out->release), "%s", rel);
	}
	if (!out->release[0])
		return vl_error_input(err,
		                      "no kernel of an installed Debian linux-image package with "
		                      "its modules in /boot; run scripts/deps (installs "
		                      "linux-image-amd64)");
	snprintf(out->path, sizeof(out->path), "/boot/vmlinuz-%s", out->release);
	snprintf(out->modules, sizeof(out->modules), "/lib/modules/%s", out->release);
	return 0;
}

/* The x86 boot protocol's setup header: where the compressed kernel is. */
#define SETUP_SECTS_OFFSET    0x1f1
#define PAYLOAD_OFFSET_OFFSET 0x248
#define PAYLOAD_LENGTH_OFFSET 0x24c
#define VMLINUX_MAX           (512u << 20)

static bool has_pvh_entry(const struct vl_qemu_kernel *k)
{
	cleanup_free char *config = NULL;
	char path[PATH_MAX];
	vl_error ignored = {0};
	size_t len;

	snprintf(path, sizeof(path), "/boot/config-%s", k->release);
	return vl_read_file(path, &config, &len, &ignored) == 0 &&
	       strstr(config, "\nCONFIG_PVH=y\n");
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Decompresses the xz payload of the bzImage in image into tmp. Returns 1
 * when the payload is not xz (the caller boots the vmlinuz). */
static int write_vmlinux(const unsigned char *image, size_t len, const char *tmp, vl_error *err)
{
	static const unsigned char xz_magic[] = {0xfd, '7', 'z', 'X', 'Z', 0};
	lzma_stream xz = LZMA_STREAM_INIT;
	cleanup_free unsigned char *out = NULL;
	size_t start, plen;
	lzma_ret r;
	int rc;

	if (len < 0x260)
		return 1;
	start = ((size_t)(image[SETUP_SECTS_OFFSET] ? image[SETUP_SECTS_OFFSET] : 4) + 1) * 512 +
	        le32(image + PAYLOAD_OFFSET_OFFSET);
	plen = le32(image + PAYLOAD_LENGTH_OFFSET);
	if (start + plen > len || plen < sizeof(xz_magic) ||
	    memcmp(image + start, xz_magic, sizeof(xz_magic)) != 0)
		return 1;
	out = malloc(VMLINUX_MAX);
	if (!out)
		return vl_error_errno(err, errno, "decompressing the kernel");
	if (lzma_stream_decoder(&xz, UINT64_MAX, 0) != LZMA_OK)
		return vl_error_set(err, "starting the xz decoder");
	xz.next_in = image + start;
	xz.avail_in = plen;
	xz.next_out = out;
	xz.avail_out = VMLINUX_MAX;
	r = lzma_code(&xz, LZMA_FINISH);
	lzma_end(&xz);
	if (r != LZMA_STREAM_END)
		return vl_error_set(err, "decompressing the kernel's xz payload failed (%d)",
		                    (int)r);
	rc = vl_write_file_atomic(tmp, out, VMLINUX_MAX - xz.avail_out, err);
	return rc;
}

int vl_qemu_boot_kernel(const struct vl_qemu_kernel *k, char *path, size_t size, vl_error *err)
{
	cleanup_free char *image = NULL;
	char dir[PATH_MAX];
	struct stat st;
	size_t len;
	int rc;

	if (!has_pvh_entry(k) || stat(k->path, &st) < 0) {
		snprintf(path, size, "%s", k->path);
		return 0;
	}
	/* Size and time of the vmlinuz name one build of the kernel. */
	snprintf(dir, sizeof(dir), "%s/images", vl_data_root());
	snprintf(path, size, "%s/qemu-vmlinux-%s-%lld-%lld", dir, k->release, (long long)st.st_size,
	         (long long)st.st_mtime);
	if (exists(path))
		return 0;
	if (vl_mkdir_p(dir, 0755, err) < 0 || vl_read_file(k->path, &image, &len, err) < 0)
		return vl_error_wrap(err, "extracting the kernel");
	rc = write_vmlinux((const unsigned char *)image, len, path, err);
	if (rc < 0)
		return vl_error_wrap(err, "extracting the kernel from %s", k->path);
	if (rc == 1)
		snprintf(path, size, "%s", k->path);
	return 0;
}

/* ---- modules ---- */

static char *next_line(char *line)
{
	char *nl = strchr(line, '\n');
	return nl ? nl + 1 : NULL;
}

/* The modules.dep line of module `name` ("kernel/.../name.ko: deps..."), in
 * place in text; NULL when absent. Names compare with '-' and '_' alike. */
static char *dep_line(char *text, const char *name)
{
	size_t n = strlen(name);

	for (char *line = text; line && *line; line = next_line(line)) {
		char *colon = strchr(line, ':');
		char *base;
		if (!colon)
			break;
		base = memrchr(line, '/', (size_t)(colon - line));
		base = base ? base + 1 : line;
		if ((size_t)(colon - base) < n + 3 || strncmp(base + n, ".ko", 3) != 0)
			continue;
		bool same = true;
		for (size_t i = 0; i < n && same; i++)
			same = base[i] == name[i] ||
			       (strchr("-_", base[i]) && strchr("-_", name[i]));
		if (same)
			return line;
	}
	return NULL;
}

static bool listed(json_t *order, const char *rel)
{
	size_t i;
	json_t *v;

	json_array_foreach(order, i, v) if (strcmp(json_string_value(v), rel) == 0) return true;
	return false;
}

/* Appends rel's dependencies, then rel, to order (paths relative to the
 * modules directory); modprobe loads a modules.dep list in reverse. */
static int add_module_path(char *text, const char *rel, json_t *order, unsigned depth,
                           vl_error *err)
{
	char *line = NULL;
	char key[PATH_MAX], deps[4096];
	char *words[64];
	size_t n = 0;

	if (depth > 32)
		return vl_error_set(err, "module dependencies of %s are too deep", rel);
	if (listed(order, rel))
		return 0;
	snprintf(key, sizeof(key), "%s:", rel);
	for (char *l = text; l && *l; l = next_line(l))
		if (strncmp(l, key, strlen(key)) == 0) {
			line = l;
			break;
		}
	if (!line)
		return vl_error_set(err, "module %s is not in modules.dep", rel);
	snprintf(deps, sizeof(deps), "%.*s", (int)strcspn(line + strlen(key), "\n"),
	         line + strlen(key));
	for (char *save = NULL, *w = strtok_r(deps, " ", &save); w && n < 64;
	     w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	while (n-- > 0)
		if (add_module_path(text, words[n], order, depth + 1, err) < 0)
			return -1;
	if (!strstr(rel, ".ko") || strcmp(strstr(rel, ".ko"), ".ko") != 0)
		return vl_error_set(err,
		                    "module %s is compressed; only uncompressed modules "
		                    "are supported",
		                    rel);
	json_array_append_new(order, json_string(rel));
	return 0;
}

/* What the initramfs holds of the kernel's modules: the files in load order
 * (paths relative to the modules directory), MODULE_LIST (one shell variable
 * per group naming its modules, built-in ones left out) and a modules.dep of
 * just these files, which busybox modprobe reads for the prepare script, and
 * init's list of the boot groups' files (VL_GUEST_INIT_MODULES), each group
 * with all its dependencies. */
struct module_set {
	json_t *files;
	json_t *packed; /* {file: true} for those stored gzipped */
	char *groups;
	char *dep;
	char *boot;
};

static void module_set_release(struct module_set *m)
{
	json_decref(m->files);
	json_decref(m->packed);
	free(m->groups);
	free(m->dep);
	free(m->boot);
}

static bool is_boot_group(const char *group)
{
	for (size_t i = 0; i < sizeof(boot_groups) / sizeof(boot_groups[0]); i++)
		if (strcmp(boot_groups[i], group) == 0)
			return true;
	return false;
}

/* Appends "GROUP /lib/modules/R/FILE" lines for the named modules and all
 * their dependencies, in load order. */
static int boot_list(const struct vl_qemu_kernel *k, const char *group, const char *const *names,
                     size_t n, FILE *f, vl_error *err)
{
	cleanup_json json_t *order = json_array();
	size_t i;
	json_t *v;

	if (vl_qemu_module_deps(k, names, n, order, err) < 0)
		return -1;
	json_array_foreach(order, i, v)
	        fprintf(f, "%s /lib/modules/%s/%s\n", group, k->release, json_string_value(v));
	return 0;
}

static int module_set(const struct vl_qemu_kernel *k, struct module_set *out, vl_error *err)
{
	const size_t n_modules = sizeof(guest_modules) / sizeof(guest_modules[0]);
	cleanup_free char *dep = NULL;
	struct module_set m = {.files = json_array(), .packed = json_object()};
	char path[PATH_MAX];
	size_t len, size, boot_size, i;
	const char *rel;
	FILE *f, *boot;
	json_t *v;

	snprintf(path, sizeof(path), "%s/modules.dep", k->modules);
	if (vl_read_file(path, &dep, &len, err) < 0)
		return -1;
	if (!(f = open_memstream(&m.groups, &size)))
		return vl_error_errno(err, errno, "listing modules");
	if (!(boot = open_memstream(&m.boot, &boot_size))) {
		fclose(f);
		module_set_release(&m);
		return vl_error_errno(err, errno, "listing modules");
	}
	for (size_t g = 0; g < sizeof(module_groups) / sizeof(module_groups[0]); g++) {
		const char *names[sizeof(guest_modules) / sizeof(guest_modules[0])];
		size_t n = 0, first = json_array_size(m.files);
		fprintf(f, "%s_modules=\"", module_groups[g]);
		for (i = 0; i < n_modules; i++)
			if (strcmp(guest_modules[i].group, module_groups[g]) == 0 &&
			    dep_line(dep, guest_modules[i].name)) {
				fprintf(f, "%s%s", n ? " " : "", guest_modules[i].name);
				names[n++] = guest_modules[i].name;
			}
		fprintf(f, "\"\n");
		if (vl_qemu_module_deps(k, names, n, m.files, err) < 0 ||
		    (is_boot_group(module_groups[g]) &&
		     boot_list(k, module_groups[g], names, n, boot, err) < 0)) {
			fclose(f);
			fclose(boot);
			module_set_release(&m);
			return -1;
		}
		for (i = first;
		     strcmp(module_groups[g], PACKED_GROUP) == 0 && i < json_array_size(m.files);
		     i++)
			json_object_set_new(m.packed, json_string_value(json_array_get(m.files, i)),
			                    json_true());
	}
	fprintf(f, "packed_modules=\"");
	i = 0;
	json_object_foreach(m.packed, rel, v)
	        fprintf(f, "%s/lib/modules/%s/%s.gz", i++ ? " " : "", k->release, rel);
	fprintf(f, "\"\n");
	fclose(f);
	fclose(boot);
	if (!(f = open_memstream(&m.dep, &size))) {
		module_set_release(&m);
		return vl_error_errno(err, errno, "listing modules");
	}
	json_array_foreach(m.files, i, v)
	{
		size_t n = strlen(json_string_value(v));
		for (char *l = dep; l && *l; l = next_line(l))
			if (strncmp(l, json_string_value(v), n) == 0 && l[n] == ':') {
				fprintf(f, "%.*s\n", (int)strcspn(l, "\n"), l);
				break;
			}
	}
	fclose(f);
	*out = m;
	return 0;
}

size_t vl_qemu_guest_modules(const char **names, size_t max)
{
	const size_t n = sizeof(guest_modules) / sizeof(guest_modules[0]);

	for (size_t i = 0; i < n && i < max; i++)
		names[i] = guest_modules[i].name;
	return n;
}

int vl_qemu_module_deps(const struct vl_qemu_kernel *k, const char *const *names, size_t n,
                        json_t *order, vl_error *err)
{
	cleanup_free char *dep = NULL;
	char path[PATH_MAX];
	size_t len;

	snprintf(path, sizeof(path), "%s/modules.dep", k->modules);
	if (vl_read_file(path, &dep, &len, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *line = dep_line(dep, names[i]);
		char rel[PATH_MAX];
		if (!line)
			continue;
		snprintf(rel, sizeof(rel), "%.*s", (int)(strchr(line, ':') - line), line);
		if (add_module_path(dep, rel, order, 0, err) < 0)
			return vl_error_wrap(err, "kernel %s", k->release);
	}
	return 0;
}

/* ---- cpio newc ---- */

struct vl_cpio {
	FILE *f;
	unsigned ino;
	unsigned depth;
};

int vl_cpio_open(const char *path, struct vl_cpio **out, vl_error *err)
{
	struct vl_cpio *c = calloc(1, sizeof(*c));

	if (!c)
		return vl_error_errno(err, errno, "writing %s", path);
	c->f = fopen(path, "we");
	if (!c->f) {
		free(c);
		return vl_error_errno(err, errno, "creating %s", path);
	}
	c->ino = 1;
	*out = c;
	return 0;
}

void vl_cpio_free(struct vl_cpio *c)
{
	if (!c)
		return;
	if (c->f)
		fclose(c->f);
	free(c);
}

static void pad4(FILE *f)
{
	long pos = ftell(f);

	while (pos > 0 && pos % 4) {
		fputc(0, f);
		pos++;
	}
}

static int header(struct vl_cpio *c, const char *name, unsigned mode, size_t size, vl_error *err)
{
	size_t namesize = strlen(name) + 1;

	fprintf(c->f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", c->ino++,
	        mode, 0u, 0u, 1u, 0u, size, 0u, 0u, 0u, 0u, namesize, 0u);
	fwrite(name, 1, namesize, c->f);
	pad4(c->f);
	if (ferror(c->f))
		return vl_error_errno(err, errno, "writing the cpio entry %s", name);
	return 0;
}

int vl_cpio_add_data(struct vl_cpio *c, const char *name, unsigned mode, const void *data,
                     size_t len, vl_error *err)
{
	if (header(c, name, mode, len, err) < 0)
		return -1;
	fwrite(data, 1, len, c->f);
	pad4(c->f);
	if (ferror(c->f))
		return vl_error_errno(err, errno, "writing the cpio entry %s", name);
	return 0;
}

int vl_cpio_add_dir(struct vl_cpio *c, const char *name, unsigned mode, vl_error *err)
{
	return header(c, name, S_IFDIR | (mode & 07777), 0, err);
}

static int add_file(struct vl_cpio *c, const char *src, const char *name, const struct stat *st,
                    vl_error *err)
{
	cleanup_file FILE *in = fopen(src, "re");
	char buf[65536];
	size_t n, total = 0;

	if (!in)
		return vl_error_errno(err, errno, "opening %s", src);
	if (header(c, name, (unsigned)st->st_mode, (size_t)st->st_size, err) < 0)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0 && total < (size_t)st->st_size) {
		if (n > (size_t)st->st_size - total)
			n = (size_t)st->st_size - total;
		fwrite(buf, 1, n, c->f);
		total += n;
	}
	if (ferror(in) || total != (size_t)st->st_size)
		return vl_error_set(err, "%s changed while it was being archived", src);
	pad4(c->f);
	if (ferror(c->f))
		return vl_error_errno(err, errno, "writing the cpio entry %s", name);
	return 0;
}

int vl_cpio_add_path(struct vl_cpio *c, const char *src, const char *name, vl_error *err)
{
	struct stat st;

	if (lstat(src, &st) < 0)
		return vl_error_errno(err, errno, "archiving %s", src);
	if (S_ISREG(st.st_mode))
		return add_file(c, src, name, &st, err);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(src, target, sizeof(target));
		if (n < 0 || n == sizeof(target))
			return vl_error_errno(err, errno, "reading the link %s", src);
		return vl_cpio_add_data(c, name, (unsigned)st.st_mode, target, (size_t)n, err);
	}
	if (!S_ISDIR(st.st_mode))
		return vl_error_set(err, "%s is neither a file, a link nor a directory", src);
	if (c->depth > 64)
		return vl_error_set(err, "%s is nested too deep", src);
	if (name[0] && vl_cpio_add_dir(c, name, (unsigned)st.st_mode, err) < 0)
		return -1;
	cleanup_dir DIR *d = opendir(src);
	struct dirent *e;
	if (!d)
		return vl_error_errno(err, errno, "reading %s", src);
	c->depth++;
	while ((e = readdir(d))) {
		char sub_src[PATH_MAX], sub_name[PATH_MAX];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub_src, sizeof(sub_src), "%s/%s", src, e->d_name);
		snprintf(sub_name, sizeof(sub_name), "%s%s%s", name, name[0] ? "/" : "", e->d_name);
		if (vl_cpio_add_path(c, sub_src, sub_name, err) < 0) {
			c->depth--;
			return -1;
		}
	}
	c->depth--;
	return 0;
}

int vl_cpio_finish(struct vl_cpio *c, vl_error *err)
{
	FILE *f;

	if (header(c, "TRAILER!!!", 0, 0, err) < 0)
		return -1;
	f = c->f;
	c->f = NULL;
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		int e = errno;
		fclose(f);
		return vl_error_errno(err, e, "writing the cpio archive");
	}
	if (fclose(f) != 0)
		return vl_error_errno(err, errno, "writing the cpio archive");
	return 0;
}

/* ---- the initramfs ---- */

static void hash_string(EVP_MD_CTX *md, const char *s)
{
	EVP_DigestUpdate(md, s, strlen(s) + 1);
}

/* Everything that goes in: the golden image's own hash, /init, and each
 * module's path, size and modification time (a kernel update changes them). */
static int initramfs_hash(const struct vl_image *img, const struct vl_qemu_kernel *k,
                          const struct module_set *m, char hex[65], vl_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	size_t i;
	json_t *v;

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return vl_error_set(err, "hashing the initramfs inputs");
	}
	hash_string(md, INITRAMFS_LAYOUT);
	hash_string(md, img->hash);
	hash_string(md, net_script);
	hash_string(md, prepare_script);
	hash_string(md, m->groups);
	hash_string(md, m->boot);
	hash_string(md, k->release);
	json_array_foreach(m->files, i, v)
	{
		char path[PATH_MAX], facts[64];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", k->modules, json_string_value(v));
		if (stat(path, &st) < 0) {
			EVP_MD_CTX_free(md);
			return vl_error_errno(err, errno, "reading %s", path);
		}
		snprintf(facts, sizeof(facts), "%lld %lld", (long long)st.st_size,
		         (long long)st.st_mtime);
		hash_string(md, path);
		hash_string(md, facts);
	}
	EVP_DigestFinal_ex(md, digest, &len);
	EVP_MD_CTX_free(md);
	for (unsigned b = 0; b < len && b < 32; b++)
		sprintf(hex + 2 * b, "%02x", digest[b]);
	return 0;
}

static int add_parents(struct vl_cpio *c, const char *rel, json_t *made, vl_error *err)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", rel);
	for (char *s = strchr(dir, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (!json_object_get(made, dir)) {
			if (vl_cpio_add_dir(c, dir, 0755, err) < 0)
				return -1;
			json_object_set_new(made, dir, json_true());
		}
		*s = '/';
	}
	return 0;
}

static int add_text(struct vl_cpio *c, const char *name, unsigned mode, const char *text,
                    vl_error *err)
{
	return vl_cpio_add_data(c, name, S_IFREG | mode, text, strlen(text), err);
}

/* Adds host file src as name, gzipped (busybox gunzip reads it back). */
static int add_gzipped(struct vl_cpio *c, const char *src, const char *name, vl_error *err)
{
	cleanup_free char *data = NULL;
	cleanup_free unsigned char *out = NULL;
	z_stream z = {0};
	size_t len;
	int rc;

	if (vl_read_file(src, &data, &len, err) < 0)
		return -1;
	/* 15 + 16: the largest window, with a gzip header and trailer. */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return vl_error_set(err, "compressing %s: %s", src, z.msg ? z.msg : "zlib failed");
	out = malloc(deflateBound(&z, len));
	if (!out) {
		deflateEnd(&z);
		return vl_error_errno(err, ENOMEM, "compressing %s", src);
	}
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)deflateBound(&z, len);
	rc = deflate(&z, Z_FINISH);
	deflateEnd(&z);
	if (rc != Z_STREAM_END)
		return vl_error_set(err, "compressing %s failed (%d)", src, rc);
	return vl_cpio_add_data(c, name, S_IFREG | 0644, out, z.total_out, err);
}

static int write_initramfs(const char *tmp, const struct vl_image *img,
                           const struct vl_qemu_kernel *k, const struct module_set *m,
                           vl_error *err)
{
	struct vl_cpio *c = NULL;
	cleanup_json json_t *made = json_object();
	char dep[PATH_MAX];
	size_t i;
	json_t *v;
	int rc = -1;

	snprintf(dep, sizeof(dep), "lib/modules/%s/modules.dep", k->release);
	if (vl_cpio_open(tmp, &c, err) < 0)
		return -1;
	if (vl_cpio_add_path(c, img->path, "", err) < 0 ||
	    vl_cpio_add_data(c, "init", S_IFLNK | 0777, "virtlab-agent", strlen("virtlab-agent"),
	                     err) < 0 ||
	    add_text(c, VL_GUEST_NET_SCRIPT, 0755, net_script, err) < 0 ||
	    add_text(c, PREPARE_SCRIPT, 0755, prepare_script, err) < 0 ||
	    add_text(c, MODULE_LIST, 0644, m->groups, err) < 0 ||
	    add_text(c, VL_GUEST_INIT_MODULES, 0644, m->boot, err) < 0 ||
	    add_parents(c, dep, made, err) < 0 || add_text(c, dep, 0644, m->dep, err) < 0 ||
	    vl_cpio_add_dir(c, "mnt", 0755, err) < 0 ||
	    vl_cpio_add_dir(c, "mnt/disk", 0755, err) < 0)
		goto out;
	json_array_foreach(m->files, i, v)
	{
		bool packed = json_object_get(m->packed, json_string_value(v));
		char rel[PATH_MAX], src[PATH_MAX];
		snprintf(rel, sizeof(rel), "lib/modules/%s/%s%s", k->release, json_string_value(v),
		         packed ? ".gz" : "");
		snprintf(src, sizeof(src), "%s/%s", k->modules, json_string_value(v));
		if (add_parents(c, rel, made, err) < 0 ||
		    (packed ? add_gzipped(c, src, rel, err) : vl_cpio_add_path(c, src, rel, err)) <
		            0)
			goto out;
	}
	rc = vl_cpio_finish(c, err);
out:
	vl_cpio_free(c);
	return rc;
}

int vl_qemu_initramfs(const struct vl_qemu_kernel *k, char *path, size_t size, bool *from_cache,
                      vl_error *err)
{
	struct vl_image img;
	struct module_set m = {0};
	char hash[65] = "", dir[PATH_MAX], tmp[PATH_MAX];
	int rc;

	*from_cache = false;
	if (vl_image_golden("busybox", &img, err) < 0 || module_set(k, &m, err) < 0)
		return vl_error_wrap(err, "building the guest's initramfs");
	rc = initramfs_hash(&img, k, &m, hash, err);
	if (rc < 0) {
		module_set_release(&m);
		return vl_error_wrap(err, "building the guest's initramfs");
	}
	snprintf(dir, sizeof(dir), "%s/images", vl_data_root());
	snprintf(path, size, "%s/qemu-initramfs-%.16s.cpio", dir, hash);
	if (exists(path)) {
		module_set_release(&m);
		*from_cache = true;
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	rc = vl_mkdir_p(dir, 0755, err);
	if (rc == 0)
		rc = write_initramfs(tmp, &img, k, &m, err);
	module_set_release(&m);
	if (rc < 0) {
		unlink(tmp);
		return vl_error_wrap(err, "building the guest's initramfs");
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return vl_error_errno(err, e, "renaming %s into place", tmp);
	}
	return 0;
}

/* ---- disks ---- */

static int run_tool(const char *const argv[], double timeout_s, vl_error *err)
{
	struct vl_command_result res = {0};
	char buf[512];
	int rc = 0;

	if (vl_command_run(argv, NULL, timeout_s, NULL, &res, err) < 0)
		return vl_error_wrap(err, "running %s", argv[0]);
	if (res.exit_code != 0)
		rc = vl_error_set(err, "%s %s", argv[0],
		                  vl_command_describe_failure(&res, buf, sizeof(buf)));
	vl_command_result_release(&res);
	return rc;
}

int vl_qemu_disk_create(const char *path, uint64_t bytes, vl_error *err)
{
	char raw[PATH_MAX], size[32];
	int rc;

	/* The file system is made on the host (mkfs.ext4 needs no loop device),
	 * so the guest needs no mkfs and its first boot mounts at once. */
	snprintf(raw, sizeof(raw), "%s.raw", path);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)bytes);
	{
		cleanup_close int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return vl_error_errno(err, errno, "creating %s", raw);
		if (ftruncate(fd, (off_t)bytes) < 0) {
			rc = vl_error_errno(err, errno, "sizing %s", raw);
			unlink(raw);
			return rc;
		}
	}
	const char *const mkfs[] = {"mkfs.ext4", "-q", "-F", "-m", "0", "-L", "virtlab", raw, NULL};
	const char *const convert[] = {"qemu-img", "convert", "-f", "raw", "-O",
	                               "qcow2",    raw,       path, NULL};
	rc = run_tool(mkfs, MKFS_TIMEOUT_S, err);
	if (rc == 0)
		rc = run_tool(convert, QEMU_IMG_TIMEOUT_S, err);
	unlink(raw);
	if (rc < 0)
		return vl_error_wrap(err, "making the disk image %s", path);
	return 0;
}

int vl_qemu_disk_clone(const char *src, const char *src_format, const char *dst, bool full_copy,
                       vl_error *err)
{
	const char *const overlay[] = {"qemu-img", "create", "-q",       "-f", "qcow2", "-b",
	                               src,        "-F",     src_format, dst,  NULL};
	const char *const copy[] = {"qemu-img", "convert", "-f", src_format, "-O",
	                            "raw",      src,       dst,  NULL};

	if (run_tool(full_copy ? copy : overlay, QEMU_IMG_TIMEOUT_S, err) < 0)
		return vl_error_wrap(err, "cloning the disk %s", src);
	return 0;
}
