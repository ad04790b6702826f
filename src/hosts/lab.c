/* Lab hosts: a qemu guest (platforms/qemu.c does the booting, stopping and
 * tracking) whose initramfs is a small system of its own: busybox, the agent,
 * virtlab's bundle, kernel modules and what the lab's kind stages. The lab's
 * record is a qemu guest record named lab-NAME, so that `virtlab cleanup`
 * releases a crashed lab like any guest; the record's "boot" gives qemu the
 * kind's machine, CPU and command line. */
#include "hosts/lab.h"
#include "agent/client.h"
#include "core/cleanup.h"
#include "core/file.h"
#include "hosts/bundle.h"
#include "hosts/host.h"
#include "platforms/cleanup.h"
#include "platforms/image.h"
#include "platforms/platform.h"
#include "platforms/qemu_image.h"
#include "platforms/state.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump when the lab image's layout or /init changes. */
#define LAB_LAYOUT      "virtlab-lab-1"
#define MODULE_LIST     "etc/virtlab-lab-modules"
#define KIND_SCRIPT     "etc/virtlab-lab.sh"
#define BUNDLE_IN_LAB   "opt/virtlab"
#define LAB_DATA        "/var/lib/virtlab"
#define LAB_WORKDIR     LAB_DATA "/work"
#define WORK_DISK_BYTES (32ull << 30)
/* Beyond the command's own timeout: the reply has to cross the channel. */
#define EXEC_SLACK_S 60.0
/* The agent's longest timeout, and its limit when asked for none: a day. */
#define EXEC_NO_LIMIT_S 86400.0
#define RUN_OUTPUT      (16u << 20)
/* base64 of a file, with its JSON escapes, must fit the client's 64 MiB
 * reply limit: files up to 45 MiB. */
#define FETCH_OUTPUT     (60u << 20)
#define FETCH_TIMEOUT_S  600.0
#define ANSWER_TIMEOUT_S 10.0

extern const struct vl_lab_kind vl_lab_kind_kvm;
extern const struct vl_lab_kind vl_lab_kind_xen;

/* Adding a kind: one line here. */
static const struct vl_lab_kind *const kinds[] = {
        &vl_lab_kind_xen,
        &vl_lab_kind_kvm,
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

const struct vl_lab_kind *const *vl_lab_kinds(size_t *count)
{
	*count = N_KINDS;
	return kinds;
}

void vl_lab_kind_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_KINDS && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		                         kinds[i]->name);
}

const struct vl_lab_kind *vl_lab_kind_find(const char *name)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

/* The modules every lab needs: the console, disk and network devices, and
 * ext4 (with its crc32c) for the work disk. */
static const char *const base_modules[] = {
        "crc32c_generic", "virtio_pci", "virtio_console", "virtio_blk", "ext4", "virtio_net",
};

/* A script for the reason qemu_image.c gives: busybox sh is there, and the
 * steps are mounts and insmods. The agent is not pid 1, so that its exit
 * (the host's shutdown request) powers the lab off. The kind's script runs
 * before the agent serves, so that the lab is ready once it says hello. */
static const char init_script[] =
        "#!/bin/sh\n"
        "export PATH=/" BUNDLE_IN_LAB "/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "export VIRTLAB_AGENT=/virtlab-agent\n"
        "mount -t proc proc /proc\n"
        "mount -t sysfs sysfs /sys\n"
        "mount -t devtmpfs devtmpfs /dev\n"
        "mkdir -p /dev/pts /dev/shm /run /tmp " LAB_DATA "\n"
        "mount -t tmpfs tmpfs /run\n"
        "mount -t tmpfs tmpfs /tmp\n"
        "mount -t cgroup2 cgroup2 /sys/fs/cgroup\n"
        "while read -r m; do\n"
        "\tinsmod \"/lib/modules/$m\" || echo \"virtlab-lab: insmod $m failed\"\n"
        "done < /" MODULE_LIST "\n"
        "[ -b /dev/vda ] && mount -t ext4 /dev/vda " LAB_DATA "\n"
        "mkdir -p " LAB_WORKDIR "\n"
        "hostname virtlab-lab\n"
        "ip link set lo up 2>/dev/null\n"
        "echo 'virtlab-lab: set-up'\n"
        "sh /" KIND_SCRIPT " || echo \"virtlab-lab: set-up failed ($?)\"\n"
        "port=\n"
        "for i in $(seq 1 100); do\n"
        "\tfor d in /sys/class/virtio-ports/*; do\n"
        "\t\t[ \"$(cat \"$d/name\" 2>/dev/null)\" = " VL_QEMU_AGENT_PORT
        " ] && port=/dev/${d##*/}\n"
        "\tdone\n"
        "\t[ -n \"$port\" ] && [ -e \"$port\" ] && break\n"
        "\tsleep 0.05\n"
        "done\n"
        "echo \"virtlab-lab: agent on $port\"\n"
        "cd " LAB_WORKDIR "\n"
        "/virtlab-agent --device \"$port\" --workdir " LAB_WORKDIR "\n"
        "cd /\n"
        "sync\n"
        "umount " LAB_DATA " 2>/dev/null\n"
        "poweroff -f\n";

/* ---- staging ---- */

static int join_root(const char *root, const char *path, char *buf, size_t size, vl_error *err)
{
	if (path[0] != '/')
		return vl_error_input(err, "'%s' is not an absolute path", path);
	if ((size_t)snprintf(buf, size, "%s%s", root, path) >= size)
		return vl_error_input(err, "path %s%s is too long", root, path);
	return 0;
}

static int parent_dirs(const char *path, vl_error *err)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return vl_mkdir_p(dir, 0755, err);
}

/* An existing destination is the same file staged twice (a library two
 * programs share): kept. */
static int copy_file(const char *src, const char *dst, const struct stat *st, vl_error *err)
{
	cleanup_close int in = -1, out = -1;
	off_t done = 0;

	if (parent_dirs(dst, err) < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return errno == EEXIST ? 0 : vl_error_errno(err, errno, "creating %s", dst);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return vl_error_errno(err, errno, "opening %s", src);
	while (done < st->st_size) {
		ssize_t n = sendfile(out, in, NULL, (size_t)(st->st_size - done));
		if (n <= 0)
			return vl_error_errno(err, n < 0 ? errno : EIO, "copying %s", src);
		done += n;
	}
	return 0;
}

static int stage_at(const char *root, const char *path, unsigned depth, vl_error *err)
{
	char dst[PATH_MAX];
	struct stat st;

	if (depth > 32)
		return vl_error_set(err, "%s is nested too deep", path);
	if (stat(path, &st) < 0)
		return vl_error_errno(err, errno, "staging %s", path);
	if (join_root(root, path, dst, sizeof(dst), err) < 0)
		return -1;
	if (S_ISREG(st.st_mode))
		return copy_file(path, dst, &st, err);
	if (!S_ISDIR(st.st_mode))
		return vl_error_set(err, "staging %s: neither a file nor a directory", path);
	if (vl_mkdir_p(dst, 0755, err) < 0)
		return -1;
	cleanup_dir DIR *d = opendir(path);
	struct dirent *e;
	if (!d)
		return vl_error_errno(err, errno, "reading %s", path);
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub))
			return vl_error_set(err, "path %s/%s is too long", path, e->d_name);
		if (stage_at(root, sub, depth + 1, err) < 0)
			return -1;
	}
	return 0;
}

int vl_lab_stage_path(const char *root, const char *path, vl_error *err)
{
	return stage_at(root, path, 0, err);
}

static int stage_library(const char *name, const char *path, void *root, vl_error *err)
{
	(void)name;
	return vl_lab_stage_path(root, path, err);
}

int vl_lab_stage_program(const char *root, const char *path, vl_error *err)
{
	static const char *const runtime_libs[] = {"/lib/x86_64-linux-gnu/libgcc_s.so.1"};
	char interp[PATH_MAX];
	int rc = 0;

	if (vl_lab_stage_path(root, path, err) < 0 ||
	    vl_bundle_interp(path, interp, sizeof(interp), err) < 0)
		return vl_error_wrap(err, "staging %s", path);
	/* A static program needs nothing more. */
	if (interp[0] &&
	    (vl_lab_stage_path(root, interp, err) < 0 ||
	     vl_bundle_each_library(interp, path, stage_library, (void *)root, err) < 0))
		return vl_error_wrap(err, "staging %s", path);
	for (size_t i = 0; rc == 0 && i < sizeof(runtime_libs) / sizeof(runtime_libs[0]); i++)
		if (access(runtime_libs[i], F_OK) == 0)
			rc = vl_lab_stage_path(root, runtime_libs[i], err);
	return rc < 0 ? vl_error_wrap(err, "staging %s", path) : 0;
}

int vl_lab_stage_modules(const char *root, const char *const *names, size_t n, vl_error *err)
{
	cleanup_json json_t *order = json_array();
	cleanup_free char *list = NULL;
	struct vl_qemu_kernel k;
	char list_path[PATH_MAX];
	size_t len = 0, i;
	json_t *v;

	if (vl_qemu_find_kernel(&k, err) < 0 || vl_qemu_module_deps(&k, names, n, order, err) < 0)
		return vl_error_wrap(err, "staging kernel modules");
	snprintf(list_path, sizeof(list_path), "%s/" MODULE_LIST, root);
	if (access(list_path, F_OK) == 0 && vl_read_file(list_path, &list, &len, err) < 0)
		return -1;
	cleanup_file FILE *f = fopen(list_path, "ae");
	if (!f)
		return vl_error_errno(err, errno, "opening %s", list_path);
	json_array_foreach(order, i, v)
	{
		char src[PATH_MAX], entry[PATH_MAX + 2];
		snprintf(src, sizeof(src), "%s/%s", k.modules, json_string_value(v));
		snprintf(entry, sizeof(entry), "%s/%s\n", k.release, json_string_value(v));
		if (list && strstr(list, entry))
			continue;
		if (vl_lab_stage_path(root, src, err) < 0)
			return vl_error_wrap(err, "staging kernel modules");
		fputs(entry, f);
	}
	if (fflush(f) != 0)
		return vl_error_errno(err, errno, "writing %s", list_path);
	return 0;
}

#define GUEST_MODULES_MAX 32

int vl_lab_stage_guest_boot(const char *root, vl_error *err)
{
	static const char *const files[] = {"/boot/config-%s",
	                                    "/var/lib/dpkg/info/linux-image-%s.list"};
	cleanup_json json_t *order = json_array();
	const char *names[GUEST_MODULES_MAX];
	size_t n = vl_qemu_guest_modules(names, GUEST_MODULES_MAX), i;
	struct vl_qemu_kernel k;
	char path[PATH_MAX];
	json_t *v;

	if (n > GUEST_MODULES_MAX)
		return vl_error_set(err, "guests need more than %d modules", GUEST_MODULES_MAX);
	if (vl_qemu_find_kernel(&k, err) < 0 || vl_lab_stage_path(root, k.path, err) < 0 ||
	    vl_qemu_module_deps(&k, names, n, order, err) < 0)
		return vl_error_wrap(err, "staging the guests' kernel");
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), files[i], k.release);
		if (access(path, F_OK) == 0 && vl_lab_stage_path(root, path, err) < 0)
			return -1;
	}
	json_array_foreach(order, i, v)
	{
		snprintf(path, sizeof(path), "%s/%s", k.modules, json_string_value(v));
		if (vl_lab_stage_path(root, path, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- the lab image ---- */

static void hash_string(EVP_MD_CTX *md, const char *s)
{
	EVP_DigestUpdate(md, s, strlen(s) + 1);
}

static void hash_stat(EVP_MD_CTX *md, const char *path)
{
	char facts[PATH_MAX + 64];
	struct stat st = {0};

	stat(path, &st);
	snprintf(facts, sizeof(facts), "%s %lld %lld", path, (long long)st.st_size,
	         (long long)st.st_mtime);
	hash_string(md, facts);
}

/* What goes in, without staging it: the layout, the kind, the kernel, the
 * golden image, the bundle (named by its content, so this virtlab and the
 * kinds' code) and dpkg's status, which changes when a package the kind
 * copies does. */
static int image_hash(const struct vl_lab_kind *kind, const struct vl_qemu_kernel *k,
                      const struct vl_image *img, const char *bundle, char hex[65], vl_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	char modules_dep[PATH_MAX];
	unsigned len = 0;

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return vl_error_set(err, "hashing the lab image's inputs");
	}
	snprintf(modules_dep, sizeof(modules_dep), "%s/modules.dep", k->modules);
	hash_string(md, LAB_LAYOUT);
	hash_string(md, init_script);
	hash_string(md, kind->name);
	hash_string(md, k->release);
	hash_stat(md, modules_dep);
	hash_string(md, img->hash);
	hash_string(md, bundle);
	hash_stat(md, "/var/lib/dpkg/status");
	EVP_DigestFinal_ex(md, digest, &len);
	EVP_MD_CTX_free(md);
	for (unsigned b = 0; b < len && b < 32; b++)
		sprintf(hex + 2 * b, "%02x", digest[b]);
	return 0;
}

static int stage_base(const char *root, const struct vl_qemu_kernel *k, vl_error *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/etc", root);
	if (vl_mkdir_p(path, 0755, err) < 0 ||
	    vl_lab_stage_modules(root, base_modules, sizeof(base_modules) / sizeof(base_modules[0]),
	                         err) < 0)
		return -1;
	/* modprobe in the kind's script, and a nested virtlab's own initramfs,
	 * read the dependency list. */
	for (const char *const *f = (const char *const[]){"modules.dep", "modules.builtin", NULL};
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", k->modules, *f);
		if (access(path, F_OK) == 0 && vl_lab_stage_path(root, path, err) < 0)
			return -1;
	}
	return 0;
}

static int write_image(const char *tmp, const char *root, const struct vl_image *img,
                       const char *bundle, vl_error *err)
{
	struct vl_cpio *c = NULL;
	int rc = -1;

	if (vl_cpio_open(tmp, &c, err) < 0)
		return -1;
	if (vl_cpio_add_path(c, img->path, "", err) == 0 &&
	    vl_cpio_add_dir(c, "opt", 0755, err) == 0 &&
	    vl_cpio_add_path(c, bundle, BUNDLE_IN_LAB, err) == 0 &&
	    vl_cpio_add_path(c, root, "", err) == 0 &&
	    vl_cpio_add_data(c, "init", S_IFREG | 0755, init_script, strlen(init_script), err) == 0)
		rc = vl_cpio_finish(c, err);
	vl_cpio_free(c);
	return rc;
}

/* Stages into a directory the lab's record owns (so that cleanup removes
 * what a killed build left), then writes the archive beside the cache. */
static int build_image(struct vl_guest *g, const struct vl_lab_kind *kind,
                       const struct vl_qemu_kernel *k, const struct vl_image *img,
                       const char *bundle, const char *path, vl_error *err)
{
	char root[PATH_MAX], tmp[PATH_MAX], script[PATH_MAX];
	vl_error ignored = {0};
	int rc = -1;

	snprintf(root, sizeof(root), "%s/stage", g->state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	snprintf(script, sizeof(script), "%s/" KIND_SCRIPT, root);
	if (vl_state_track(g, VL_RES_DIR, root, err) < 0 ||
	    vl_state_track(g, VL_RES_FILE, tmp, err) < 0)
		return -1;
	if (vl_remove_tree(root, err) < 0 || vl_mkdir_p(root, 0755, err) < 0)
		goto out;
	if (stage_base(root, k, err) < 0 || kind->stage(root, err) < 0)
		goto out;
	if (access(script, F_OK) < 0) {
		vl_error_set(err, "lab kind %s staged no %s", kind->name, KIND_SCRIPT);
		goto out;
	}
	if (write_image(tmp, root, img, bundle, err) < 0)
		goto out;
	if (rename(tmp, path) < 0) {
		vl_error_errno(err, errno, "renaming %s into place", tmp);
		goto out;
	}
	rc = 0;
out:
	unlink(tmp);
	if (vl_remove_tree(root, rc < 0 ? &ignored : err) < 0)
		rc = -1;
	vl_state_untrack(g, VL_RES_FILE, tmp, &ignored);
	vl_state_untrack(g, VL_RES_DIR, root, &ignored);
	return rc;
}

static const char *rec_str(const struct vl_guest *g, const char *key)
{
	return json_string_value(json_object_get(g->record, key));
}

/* Finds or builds the kind's image, tracks it (cleanup removes it with the
 * lab) and records how to boot it. */
static int prepare_boot(struct vl_guest *g, const struct vl_lab_kind *kind, vl_error *err)
{
	struct vl_qemu_kernel k;
	struct vl_image img;
	struct vl_lab_boot boot = {0};
	char bundle[PATH_MAX], hash[65], dir[PATH_MAX], path[PATH_MAX], kernel[PATH_MAX];
	const char *old = rec_str(g, "lab_image");
	vl_error ignored = {0};

	if (vl_qemu_find_kernel(&k, err) < 0 ||
	    vl_qemu_boot_kernel(&k, kernel, sizeof(kernel), err) < 0 ||
	    vl_image_golden("busybox", &img, err) < 0 ||
	    vl_bundle_build(bundle, sizeof(bundle), err) < 0 ||
	    image_hash(kind, &k, &img, bundle, hash, err) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/images", vl_data_root());
	snprintf(path, sizeof(path), "%s/lab-%s-%.16s.cpio", dir, kind->name, hash);
	if (vl_mkdir_p(dir, 0755, err) < 0 || vl_state_track(g, VL_RES_FILE, path, err) < 0)
		return -1;
	if (access(path, F_OK) < 0 && build_image(g, kind, &k, &img, bundle, path, err) < 0)
		return vl_error_wrap(err, "building the %s lab image", kind->name);
	/* An image of older inputs is no longer this lab's. */
	if (old && strcmp(old, path) != 0) {
		unlink(old);
		vl_state_untrack(g, VL_RES_FILE, old, &ignored);
	}
	json_object_set_new(g->record, "lab_image", json_string(path));
	if (kind->boot(kernel, path, &boot, err) < 0)
		return vl_error_wrap(err, "lab kind %s", kind->name);
	g->spec.cpus = boot.cpus;
	g->spec.memory_bytes = boot.memory_bytes;
	json_object_set_new(g->record, "kernel", json_string(boot.kernel));
	json_object_set_new(g->record, "kernel_release", json_string(k.release));
	json_object_set_new(g->record, "initramfs", json_string(boot.initrd));
	json_object_set_new(g->record, "boot",
	                    json_pack("{s:s, s:s, s:s}", "machine", boot.machine, "cpu", boot.cpu,
	                              "append", boot.append));
	return 0;
}

/* ---- records ---- */

static int record_name(const char *name, char *buf, size_t size, vl_error *err)
{
	if ((size_t)snprintf(buf, size, VL_LAB_RECORD_PREFIX "%s", name) >= size)
		return vl_error_input(err, "lab name '%s' is too long (at most %zu characters)",
		                      name, size - sizeof(VL_LAB_RECORD_PREFIX));
	return 0;
}

struct lab {
	struct vl_guest *g;
	const struct vl_lab_kind *kind;
	char status[32];
	int lock_fd;
};

static void lab_close(struct lab *l)
{
	vl_guest_free(l->g);
	vl_state_unlock(l->lock_fd);
	l->g = NULL;
	l->lock_fd = -1;
}

/* Locks and loads lab `name`; a record that is not a lab's is refused. */
static int lab_open(const char *name, struct lab *l, vl_error *err)
{
	cleanup_json json_t *doc = NULL;
	char rec[VL_NAME_MAX];
	const char *kind, *status;

	memset(l, 0, sizeof(*l));
	l->lock_fd = -1;
	if (record_name(name, rec, sizeof(rec), err) < 0)
		return -1;
	/* Read first: locking a name that has no record would make its directory. */
	if (vl_state_read(rec, &doc, err) < 0) {
		if (err->errnum == ENOENT)
			vl_error_input(err, "no lab named '%s' (virtlab lab list shows them)",
			               name);
		return -1;
	}
	json_decref(vl_steal_ptr(doc));
	if (vl_state_lock(rec, false, &l->lock_fd, err) < 0)
		return -1;
	if (vl_state_read(rec, &doc, err) < 0 || vl_state_load(rec, &l->g, err) < 0) {
		lab_close(l);
		return -1;
	}
	kind = rec_str(l->g, "lab_kind");
	l->kind = kind ? vl_lab_kind_find(kind) : NULL;
	if (!l->kind) {
		lab_close(l);
		return vl_error_set(err, "guest %s is not a lab of a kind this virtlab knows", rec);
	}
	status = json_string_value(json_object_get(doc, "status"));
	snprintf(l->status, sizeof(l->status), "%s", status ? status : "unknown");
	return 0;
}

/* The record after an operation on the lab (which changed it either way):
 * saved with the new status when the operation worked, else with the old. */
static int save_after(struct lab *l, int rc, const char *status, vl_error *err)
{
	vl_error ignored = {0};

	if (rc < 0) {
		vl_state_save(l->g, l->status, &ignored);
		return -1;
	}
	return vl_state_save(l->g, status, err);
}

/* ---- life cycle ---- */

int vl_lab_create(const char *name, const struct vl_lab_kind *kind, vl_error *err)
{
	const struct vl_platform *qemu = vl_platform_find("qemu");
	struct vl_guest_spec spec = {0};
	cleanup_json json_t *doc = NULL;
	struct vl_guest *g = NULL;
	char disk[PATH_MAX];
	vl_error undo = {0};
	int lock_fd, rc;

	if (record_name(name, spec.name, sizeof(spec.name), err) < 0 ||
	    vl_guest_new(qemu, &spec, &g, err) < 0)
		return vl_error_wrap(err, "lab %s", name);
	if (vl_state_lock(spec.name, false, &lock_fd, err) < 0) {
		vl_guest_free(g);
		return -1;
	}
	if (vl_state_read(spec.name, &doc, err) == 0) {
		rc = vl_error_input(err, "lab %s exists already (virtlab lab destroy %s)", name,
		                    name);
		goto out;
	}
	vl_error_clear(err);
	json_object_set_new(g->record, "lab_kind", json_string(kind->name));
	snprintf(disk, sizeof(disk), "%s/work.qcow2", g->state_dir);
	/* The work disk holds the lab's own data root: what a nested platform
	 * writes goes to a disk, not to the lab's memory. */
	rc = vl_state_save(g, "provisioning", err);
	if (rc == 0)
		rc = vl_state_track(g, VL_RES_DIR, g->state_dir, err);
	if (rc == 0)
		rc = vl_mkdir_p(g->state_dir, 0700, err);
	if (rc == 0)
		rc = vl_state_track(g, VL_RES_FILE, disk, err);
	if (rc == 0)
		rc = vl_qemu_disk_create(disk, WORK_DISK_BYTES, err);
	if (rc == 0) {
		json_object_set_new(g->record, "disk", json_string(disk));
		json_object_set_new(g->record, "disk_format", json_string("qcow2"));
		rc = prepare_boot(g, kind, err);
	}
	if (rc == 0)
		rc = vl_state_save(g, "provisioned", err);
	if (rc < 0) {
		vl_cleanup_record(spec.name, false, NULL, NULL, &undo);
		vl_error_wrap(err, "creating lab %s", name);
	}
out:
	vl_guest_free(g);
	vl_state_unlock(lock_fd);
	return rc;
}

int vl_lab_start(const char *name, vl_error *err)
{
	struct lab l;
	int rc;

	if (lab_open(name, &l, err) < 0)
		return -1;
	/* qemu's start refuses a lab whose qemu runs; a record that says
	 * "running" after a crash is started afresh. The image is looked up
	 * again: its cache may have been cleaned, or its inputs (packages,
	 * virtlab) changed since create. */
	rc = prepare_boot(l.g, l.kind, err);
	if (rc == 0)
		rc = l.g->platform->start(l.g, err);
	rc = save_after(&l, rc, "running", err);
	lab_close(&l);
	return rc < 0 ? vl_error_wrap(err, "starting lab %s", name) : 0;
}

int vl_lab_stop(const char *name, vl_error *err)
{
	struct lab l;
	int rc;

	if (lab_open(name, &l, err) < 0)
		return -1;
	rc = save_after(&l, l.g->platform->stop(l.g, err), "stopped", err);
	lab_close(&l);
	return rc < 0 ? vl_error_wrap(err, "stopping lab %s", name) : 0;
}

/* qemu's destroy first (process, sockets, disk), then what the record still
 * lists (the lab image), then the record. */
int vl_lab_destroy(const char *name, vl_error *err)
{
	struct lab l;
	int rc;

	if (lab_open(name, &l, err) < 0)
		return -1;
	rc = save_after(&l, l.g->platform->destroy(l.g, err), l.status, err);
	if (rc == 0)
		rc = vl_cleanup_record(l.g->spec.name, false, NULL, NULL, err);
	lab_close(&l);
	return rc < 0 ? vl_error_wrap(err, "destroying lab %s", name) : 0;
}

int vl_lab_list(json_t **labs, vl_error *err)
{
	cleanup_json json_t *all = json_array();
	char **names = NULL;
	size_t n = 0;
	const size_t prefix = strlen(VL_LAB_RECORD_PREFIX);

	if (vl_state_list(&names, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cleanup_json json_t *doc = NULL;
		vl_error gone = {0};
		json_t *rec;
		if (strncmp(names[i], VL_LAB_RECORD_PREFIX, prefix) != 0 ||
		    vl_state_read(names[i], &doc, &gone) < 0)
			continue;
		rec = json_object_get(doc, "record");
		if (!json_is_string(json_object_get(rec, "lab_kind")))
			continue;
		json_array_append_new(
		        all,
		        json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "name", names[i] + prefix,
		                  "kind", json_object_get(rec, "lab_kind"), "status",
		                  json_object_get(doc, "status"), "accel",
		                  json_object_get(rec, "accel") ?: json_null(), "image",
		                  json_object_get(rec, "lab_image") ?: json_null(), "start_seconds",
		                  json_object_get(rec, "start_seconds") ?: json_null()));
	}
	vl_state_names_free(names, n);
	*labs = vl_steal_ptr(all);
	return 0;
}

int vl_lab_find(const char *name, json_t **lab, vl_error *err)
{
	cleanup_json json_t *labs = NULL;
	size_t i;
	json_t *l;

	*lab = NULL;
	if (vl_lab_list(&labs, err) < 0)
		return -1;
	json_array_foreach(labs, i, l) if (strcmp(json_string_value(json_object_get(l, "name")),
	                                          name) == 0) *lab = json_incref(l);
	return 0;
}

/* No lock: exec does not change the lab, and a study holds none while its
 * commands run in the lab. */
int vl_lab_exec(const char *name, const char *const *argv, double timeout_s, size_t max_output,
                json_t **result, vl_error *err)
{
	/* The agent takes at most a day, and 0 for no limit. */
	bool limited = timeout_s > 0 && timeout_s <= EXEC_NO_LIMIT_S;
	cleanup_json json_t *args =
	        json_pack("{s:[], s:f, s:I}", "argv", "timeout", limited ? timeout_s : 0.0,
	                  "max_output", (json_int_t)max_output);
	struct vl_agent_client *c = NULL;
	struct vl_guest *g = NULL;
	char rec[VL_NAME_MAX];
	vl_error gone = {0};
	int fd, rc = -1;

	if (!args || record_name(name, rec, sizeof(rec), err) < 0)
		return vl_error_set(err, "lab %s: building the exec request", name);
	for (size_t i = 0; argv[i]; i++)
		json_array_append_new(json_object_get(args, "argv"), json_string(argv[i]));
	if (vl_state_load(rec, &g, err) < 0) {
		if (err->errnum == ENOENT)
			vl_error_input(err, "no lab named '%s' (virtlab lab list shows them)",
			               name);
		return -1;
	}
	if (g->platform->open_channel(g, &fd, err) == 0 && vl_agent_client_new(fd, &c, err) == 0)
		rc = vl_agent_call(c, "exec", args,
		                   (limited ? timeout_s : EXEC_NO_LIMIT_S) + EXEC_SLACK_S, result,
		                   err);
	vl_agent_client_free(c);
	/* A lab that died under the command (its kernel, or qemu itself) says
	 * where to look. */
	if (rc < 0 && vl_guest_agent_call(g, "hello", ANSWER_TIMEOUT_S, NULL, &gone) < 0)
		vl_error_wrap(err, "the lab is down (its console: %s)",
		              json_string_value(json_object_get(g->record, "console")) ?: "none");
	vl_guest_free(g);
	return rc < 0 ? vl_error_wrap(err, "running %s in lab %s", argv[0], name) : 0;
}

/* ---- the host kind ---- */

static int host_check(const char *target, vl_error *err)
{
	char names[128];

	if (vl_lab_kind_find(target))
		return 0;
	vl_lab_kind_names(names, sizeof(names));
	return vl_error_input(err, "no lab kind '%s' (kinds: %s)", target, names);
}

/* A lab recorded as running whose agent runs a command: one whose qemu
 * died (killed, or a crash of the machine's qemu) is started again. */
static bool answers(const char *name, const char *status)
{
	const char *const argv[] = {"true", NULL};
	cleanup_json json_t *res = NULL;
	vl_error ignored = {0};

	return status && strcmp(status, "running") == 0 &&
	       vl_lab_exec(name, argv, ANSWER_TIMEOUT_S, 0, &res, &ignored) == 0 &&
	       json_integer_value(json_object_get(res, "exit_status")) == 0;
}

/* The lab named as the host: made if there is none, started if it is not
 * running, and refused if it is of another kind. */
static int host_open(struct vl_host *h, vl_error *err)
{
	const struct vl_lab_kind *kind = vl_lab_kind_find(h->target);
	cleanup_json json_t *lab = NULL, *started = NULL;
	const char *has_kind, *accel;

	if (host_check(h->target, err) < 0 || vl_lab_find(h->name, &lab, err) < 0)
		return vl_error_wrap(err, "host %s", h->name);
	has_kind = json_string_value(json_object_get(lab, "kind"));
	if (has_kind && strcmp(has_kind, kind->name) != 0)
		return vl_error_input(err, "lab %s is a %s lab, not %s (virtlab lab destroy %s)",
		                      h->name, has_kind, kind->name, h->name);
	if (!lab && vl_lab_create(h->name, kind, err) < 0)
		return -1;
	if (!answers(h->name, json_string_value(json_object_get(lab, "status"))) &&
	    vl_lab_start(h->name, err) < 0)
		return -1;
	if (vl_lab_find(h->name, &started, err) < 0)
		return -1;
	accel = json_string_value(json_object_get(started, "accel"));
	snprintf(h->accel, sizeof(h->accel), "%s", accel ? accel : "");
	snprintf(h->workdir, sizeof(h->workdir), "%s", LAB_WORKDIR);
	return 0;
}

static int host_run(struct vl_host *h, const char *const *argv, double timeout_s, int *status,
                    char **out, char **errout, vl_error *err)
{
	cleanup_json json_t *res = NULL;
	json_t *code, *sig;

	if (vl_lab_exec(h->name, argv, timeout_s, RUN_OUTPUT, &res, err) < 0)
		return -1;
	if (json_is_true(json_object_get(res, "stdout_truncated")) ||
	    json_is_true(json_object_get(res, "stderr_truncated")))
		return vl_error_set(err, "%s in lab %s printed more than %u MiB", argv[0], h->name,
		                    RUN_OUTPUT >> 20);
	if (json_is_true(json_object_get(res, "timed_out")))
		return vl_error_set(err, "%s in lab %s did not finish within %g s", argv[0],
		                    h->name, timeout_s);
	code = json_object_get(res, "exit_status");
	sig = json_object_get(res, "signal");
	*status = json_is_integer(code) ? (int)json_integer_value(code)
	                                : 128 + (int)json_integer_value(sig);
	*out = strdup(json_string_value(json_object_get(res, "stdout")) ?: "");
	*errout = strdup(json_string_value(json_object_get(res, "stderr")) ?: "");
	if (!*out || !*errout) {
		free(*out);
		free(*errout);
		*out = *errout = NULL;
		return vl_error_errno(err, ENOMEM, "output of %s in lab %s", argv[0], h->name);
	}
	return 0;
}

/* The exec op's output is text, so the file crosses in base64. */
static int host_fetch(struct vl_host *h, const char *remote_path, const char *local_path,
                      vl_error *err)
{
	const char *const argv[] = {"base64", remote_path, NULL};
	cleanup_json json_t *res = NULL;
	cleanup_free unsigned char *data = NULL;
	EVP_ENCODE_CTX *ctx = NULL;
	const char *text;
	int n = 0, tail = 0, rc;
	size_t len;

	if (vl_lab_exec(h->name, argv, FETCH_TIMEOUT_S, FETCH_OUTPUT, &res, err) < 0)
		return vl_error_wrap(err, "fetching %s", remote_path);
	if (!json_is_integer(json_object_get(res, "exit_status")) ||
	    json_integer_value(json_object_get(res, "exit_status")) != 0)
		return vl_error_set(err, "fetching %s from lab %s: %s", remote_path, h->name,
		                    json_string_value(json_object_get(res, "stderr")) ?: "failed");
	if (json_is_true(json_object_get(res, "stdout_truncated")))
		return vl_error_set(err, "fetching %s from lab %s: larger than %u MiB", remote_path,
		                    h->name, (FETCH_OUTPUT >> 20) * 3 / 4);
	text = json_string_value(json_object_get(res, "stdout"));
	len = strlen(text);
	data = malloc(len / 4 * 3 + 4);
	ctx = EVP_ENCODE_CTX_new();
	if (!data || !ctx) {
		EVP_ENCODE_CTX_free(ctx);
		return vl_error_errno(err, ENOMEM, "fetching %s", remote_path);
	}
	EVP_DecodeInit(ctx);
	rc = EVP_DecodeUpdate(ctx, data, &n, (const unsigned char *)text, (int)len);
	if (rc >= 0)
		rc = EVP_DecodeFinal(ctx, data + n, &tail);
	EVP_ENCODE_CTX_free(ctx);
	if (rc < 0)
		return vl_error_set(err, "fetching %s from lab %s: bad base64", remote_path,
		                    h->name);
	if (vl_write_file_atomic(local_path, data, (size_t)(n + tail), err) < 0)
		return vl_error_wrap(err, "fetching %s", remote_path);
	return 0;
}

static int host_close(struct vl_host *h, vl_error *err)
{
	return vl_lab_stop(h->name, err);
}

const struct vl_host_kind vl_host_kind_lab = {
        .name = "lab",
        .summary = "a QEMU VM that virtlab boots to host xen or nested kvm (lab:xen, lab:kvm)",
        .check = host_check,
        .open = host_open,
        .run = host_run,
        .fetch = host_fetch,
        .close = host_close,
};
