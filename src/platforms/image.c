/* Golden images. An image directory is never changed once renamed into place:
 * guests use it as an overlay's lower layer, so it is built under a temporary
 * name and renamed atomically, and its name carries the hash of everything
 * that went in. A lookup is then one stat of the expected name. */
#include "platforms/image.h"
#include "core/cleanup.h"
#include "core/command.h"
#include "core/file.h"
#include "platforms/state.h"
#include "runtime/rootfs.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump when the layout below changes, so that old cached images are not reused. */
#define BUSYBOX_LAYOUT        "virtlab-busybox-layout-1"
#define DEBIAN_LAYOUT         "virtlab-debian-layout-1"
#define BUSYBOX_PATH          "/bin/busybox"
#define AGENT_IN_GUEST        "virtlab-agent"
#define DEBOOTSTRAP_TIMEOUT_S 1800.0

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group[] = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n";
static const char hosts[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n";

/* The busybox copied into images: $VIRTLAB_BUSYBOX (virtlab's bundle brings
 * its own to hosts without busybox-static), else the one installed. */
static const char *busybox_source(void)
{
	const char *env = getenv("VIRTLAB_BUSYBOX");

	return env && env[0] ? env : BUSYBOX_PATH;
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int vl_image_agent_path(char *buf, size_t size, vl_error *err)
{
	const char *env = getenv("VIRTLAB_AGENT");
	char exe[PATH_MAX], cand[PATH_MAX];
	ssize_t n;

	if (env && env[0]) {
		if (!is_executable(env))
			return vl_error_input(err,
			                      "VIRTLAB_AGENT '%s' is not an executable file; point "
			                      "it at a static virtlab-agent",
			                      env);
		snprintf(buf, size, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		const char *const rel[] = {"virtlab-agent", "../libexec/virtlab/virtlab-agent"};

		exe[n] = '\0';
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			char copy[PATH_MAX];

			snprintf(copy, sizeof(copy), "%s", exe);
			snprintf(cand, sizeof(cand), "%s/%s", dirname(copy), rel[i]);
			if (is_executable(cand) && realpath(cand, copy)) {
				snprintf(buf, size, "%s", copy);
				return 0;
			}
		}
	}
	/* meson's default prefixes: the agent installs into bindir. */
	for (const char *const *p = (const char *const[]){"/usr/local/bin/virtlab-agent",
	                                                  "/usr/bin/virtlab-agent", NULL};
	     *p; p++)
		if (is_executable(*p)) {
			snprintf(buf, size, "%s", *p);
			return 0;
		}
	return vl_error_input(err,
	                      "no virtlab-agent found beside %s or installed; build it "
	                      "(-Dstatic_agent=true, no sanitizer) or set VIRTLAB_AGENT",
	                      n > 0 ? exe : "virtlab");
}

/* A guest image holds no libc, so a dynamic agent would fail there with a
 * baffling ENOENT from execve: refuse it here instead. */
static int check_static(const char *path, vl_error *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return vl_error_input(err, "%s is not a 64-bit ELF executable", path);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (off_t)i * eh.e_phentsize) !=
		    (ssize_t)sizeof(ph))
			return vl_error_input(err, "%s has a truncated program header", path);
		if (ph.p_type == PT_INTERP)
			return vl_error_input(
			        err,
			        "%s is dynamically linked; guests need a static one "
			        "(apt-get install busybox-static; build virtlab-agent "
			        "without sanitizers)",
			        path);
	}
	return 0;
}

static int hash_file(EVP_MD_CTX *ctx, const char *path, vl_error *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_free unsigned char *buf = malloc(1 << 20);
	ssize_t n;

	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	if (!buf)
		return vl_error_errno(err, ENOMEM, "hashing %s", path);
	while ((n = read(fd, buf, 1 << 20)) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			return vl_error_set(err, "hashing %s: EVP_DigestUpdate failed", path);
	if (n < 0)
		return vl_error_errno(err, errno, "reading %s", path);
	/* A separator, so that moving bytes between inputs changes the hash. */
	if (EVP_DigestUpdate(ctx, "\0", 1) != 1)
		return vl_error_set(err, "hashing %s: EVP_DigestUpdate failed", path);
	return 0;
}

/* What identifies a file's current contents without reading them: its inode
 * and sizes and times (ctime changes with every write, and cannot be set). */
static int hash_file_stat(EVP_MD_CTX *ctx, const char *path, vl_error *err)
{
	struct stat st;
	char key[PATH_MAX + 160];
	int len;

	if (stat(path, &st) < 0)
		return vl_error_errno(err, errno, "looking at %s", path);
	len = snprintf(key, sizeof(key), "%s %ju %ju %jd %jd.%09ld %jd.%09ld", path,
	               (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
	               (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec,
	               st.st_ctim.tv_nsec);
	if (EVP_DigestUpdate(ctx, key, (size_t)len + 1) != 1)
		return vl_error_set(err, "hashing %s: EVP_DigestUpdate failed", path);
	return 0;
}

/* sha256 over the layout version, then each input file's contents, or, with
 * by_stat, each file's identity (hash_file_stat). */
int vl_image_hash_inputs(const char *layout, const char *const *files, bool by_stat, char hex[65],
                         vl_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	int rc = -1;

	if (!ctx)
		return vl_error_set(err, "allocating a sha256 context");
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, layout, strlen(layout) + 1) != 1) {
		vl_error_set(err, "starting a sha256 digest");
		goto out;
	}
	for (const char *const *f = files; *f; f++)
		if ((by_stat ? hash_file_stat(ctx, *f, err) : hash_file(ctx, *f, err)) < 0)
			goto out;
	if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != 32) {
		vl_error_set(err, "finishing a sha256 digest");
		goto out;
	}
	for (unsigned i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int write_text(const char *root, const char *rel, const char *text, vl_error *err)
{
	char path[PATH_MAX];
	cleanup_close int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return vl_error_errno(err, errno, "creating %s", path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return vl_error_errno(err, errno, "writing %s", path);
	return 0;
}

static int make_dirs(const char *root, vl_error *err)
{
	static const struct {
		const char *rel;
		mode_t mode;
	} dirs[] = {
	        {"bin", 0755}, {"sbin", 0755}, {"usr/bin", 0755}, {"usr/sbin", 0755},
	        {"etc", 0755}, {"root", 0700}, {"proc", 0555},    {"sys", 0555},
	        {"dev", 0755}, {"run", 0755},  {"tmp", 01777},    {"var/tmp", 01777},
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i].rel);
		if (vl_mkdir_p(path, 0755, err) < 0)
			return -1;
		if (chmod(path, dirs[i].mode) < 0)
			return vl_error_errno(err, errno, "setting the mode of %s", path);
	}
	return 0;
}

/* One symlink per applet, where busybox itself says it belongs. */
static int link_applets(const char *root, vl_error *err)
{
	const char *const argv[] = {busybox_source(), "--list-full", NULL};
	struct vl_command_result res = {0};
	char path[PATH_MAX], buf[256];
	int rc = 0;

	if (vl_command_run(argv, NULL, 10.0, NULL, &res, err) < 0)
		return vl_error_wrap(err, "listing busybox applets");
	if (res.exit_code != 0) {
		rc = vl_error_set(err, "busybox --list-full %s",
		                  vl_command_describe_failure(&res, buf, sizeof(buf)));
		goto out;
	}
	for (char *save = NULL, *line = strtok_r(res.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!line[0] || strstr(line, "..") || strcmp(line, "bin/busybox") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, line);
		if (symlink(BUSYBOX_PATH, path) < 0 && errno != EEXIST) {
			rc = vl_error_errno(err, errno, "linking %s", path);
			goto out;
		}
	}
out:
	vl_command_result_release(&res);
	return rc;
}

static int fill_busybox(const char *root, const char *agent, vl_error *err)
{
	char path[PATH_MAX];

	if (make_dirs(root, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s" BUSYBOX_PATH, root);
	if (vl_copy_file(busybox_source(), path, 0755, err) < 0 || link_applets(root, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/" AGENT_IN_GUEST, root);
	if (vl_copy_file(agent, path, 0755, err) < 0)
		return -1;
	if (write_text(root, "etc/passwd", passwd, err) < 0 ||
	    write_text(root, "etc/group", group, err) < 0 ||
	    write_text(root, "etc/hosts", hosts, err) < 0)
		return -1;
	return 0;
}

/* The first "deb" line of the host's apt sources: mirror and suite. Both the
 * one-line format and deb822 (.sources) are read. */
static int host_apt_source(char mirror[1024], char suite[64], vl_error *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	vl_error ignored = {0};

	if (vl_read_file("/etc/apt/sources.list", &text, &len, &ignored) == 0) {
		for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			const char *rest = l + 4, *opts_end;

			if (strncmp(l, "deb ", 4) != 0)
				continue;
			/* "deb [signed-by=...] URI SUITE": options come first. */
			if (rest[0] == '[' && (opts_end = strchr(rest, ']')))
				rest = opts_end + 1;
			if (sscanf(rest, "%1023s %63s", mirror, suite) == 2)
				return 0;
		}
		free(vl_steal_ptr(text));
	}
	if (vl_read_file("/etc/apt/sources.list.d/debian.sources", &text, &len, &ignored) == 0) {
		char *uris = strstr(text, "URIs:"), *suites = strstr(text, "Suites:");

		if (uris && suites && sscanf(uris, "URIs: %1023s", mirror) == 1 &&
		    sscanf(suites, "Suites: %63s", suite) == 1)
			return 0;
	}
	return vl_error_input(err, "no 'deb' source in /etc/apt/sources.list or "
	                           "sources.list.d/debian.sources; the debian image is built "
	                           "from the host's apt source");
}

static int fill_debian(const char *root, const char *agent, const char *mirror, const char *suite,
                       vl_error *err)
{
	const char *const argv[] = {"debootstrap", "--variant=minbase", suite, root, mirror, NULL};
	struct vl_command_result res = {0};
	char path[PATH_MAX], buf[256];
	int rc = 0;

	if (vl_command_run(argv, NULL, DEBOOTSTRAP_TIMEOUT_S, NULL, &res, err) < 0)
		return vl_error_wrap(err, "running debootstrap");
	if (res.exit_code != 0)
		rc = vl_error_set(err, "debootstrap %s %s %s", suite, mirror,
		                  vl_command_describe_failure(&res, buf, sizeof(buf)));
	vl_command_result_release(&res);
	if (rc < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/" AGENT_IN_GUEST, root);
	return vl_copy_file(agent, path, 0755, err);
}

/* Reading the inputs takes milliseconds (more on a busy host); a memo named
 * by their identity (hash_file_stat) remembers their content hash, so that a
 * cached image is found with a few stats. */
static void memo_path(const char *kind, const char *key, char *buf, size_t size)
{
	snprintf(buf, size, "%s/images/.hash/%s-%s", vl_data_root(), kind, key);
}

static bool memo_read(const char *path, char hex[65])
{
	vl_error ignored = {0};

	if (vl_read_line(path, hex, 65, &ignored) < 0 || strlen(hex) != 64)
		return false;
	return strspn(hex, "0123456789abcdef") == 64;
}

/* Best effort: without the memo the next lookup reads the inputs again. */
static void memo_write(const char *path, const char *hex)
{
	char dir[PATH_MAX], line[66];
	vl_error ignored = {0};

	snprintf(dir, sizeof(dir), "%s/images/.hash", vl_data_root());
	snprintf(line, sizeof(line), "%s\n", hex);
	if (vl_mkdir_p(dir, 0755, &ignored) == 0)
		vl_write_file_atomic(path, line, strlen(line), &ignored);
}

/* On disk before it is published: a crash must not leave an image under its
 * final name with files still unwritten. Left to the kernel, the writeback
 * falls on whatever next syncs the filesystem, such as the unmount of a
 * guest's overlay (its upper layer is on the same filesystem): a guest
 * stopped after a fresh image build took 5 ms longer. */
static int flush_image(const char *dir, vl_error *err)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", dir);
	if (syncfs(fd) < 0)
		return vl_error_errno(err, errno, "writing %s to disk", dir);
	return 0;
}

int vl_image_golden(const char *kind, struct vl_image *out, vl_error *err)
{
	char agent[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX], memo[PATH_MAX], mirror[1024], suite[64];
	char key[65];
	bool debian = strcmp(kind, "debian") == 0;
	const char *inputs[3] = {NULL};
	cleanup_free char *layout = NULL;
	struct stat st;
	vl_error ignored = {0};

	memset(out, 0, sizeof(*out));
	if (!debian && strcmp(kind, "busybox") != 0)
		return vl_error_input(err, "unknown image '%s'; use busybox or debian", kind);
	if (vl_image_agent_path(agent, sizeof(agent), err) < 0 || check_static(agent, err) < 0)
		return vl_error_wrap(err, "finding the guest agent");
	if (debian) {
		if (!vl_find_program("debootstrap", tmp, sizeof(tmp)))
			return vl_error_input(err, "the debian image is unsupported here: no "
			                           "debootstrap (apt-get install debootstrap)");
		if (host_apt_source(mirror, suite, err) < 0)
			return -1;
		if (asprintf(&layout, "%s %s %s", DEBIAN_LAYOUT, mirror, suite) < 0)
			return vl_error_errno(err, ENOMEM, "naming the image");
		inputs[0] = agent;
	} else {
		if (!is_executable(busybox_source()) || check_static(busybox_source(), err) < 0)
			return vl_error_input(err,
			                      "the busybox image needs a static %s: "
			                      "apt-get install busybox-static",
			                      busybox_source());
		layout = strdup(BUSYBOX_LAYOUT);
		if (!layout)
			return vl_error_errno(err, ENOMEM, "naming the image");
		inputs[0] = busybox_source();
		inputs[1] = agent;
	}
	snprintf(out->kind, sizeof(out->kind), "%s", kind);
	if (vl_image_hash_inputs(layout, inputs, true, key, err) < 0)
		return vl_error_wrap(err, "hashing the %s image's inputs", kind);
	memo_path(kind, key, memo, sizeof(memo));
	if (memo_read(memo, out->hash)) {
		snprintf(dir, sizeof(dir), "%s/images/%s-%s", vl_data_root(), kind, out->hash);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(out->path, sizeof(out->path), "%s", dir);
			out->from_cache = true;
			return 0;
		}
	}
	if (vl_image_hash_inputs(layout, inputs, false, out->hash, err) < 0)
		return vl_error_wrap(err, "hashing the %s image's inputs", kind);
	snprintf(dir, sizeof(dir), "%s/images/%s-%s", vl_data_root(), kind, out->hash);
	snprintf(out->path, sizeof(out->path), "%s", dir);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		memo_write(memo, out->hash);
		out->from_cache = true;
		return 0;
	}

	snprintf(tmp, sizeof(tmp), "%s/images", vl_data_root());
	if (vl_mkdir_p(tmp, 0755, err) < 0)
		return vl_error_wrap(err, "creating the image cache");
	snprintf(tmp, sizeof(tmp), "%s/images/.build-%s-XXXXXX", vl_data_root(), kind);
	if (!mkdtemp(tmp))
		return vl_error_errno(err, errno, "creating a build directory under %s/images",
		                      vl_data_root());
	if (chmod(tmp, 0755) < 0 || (debian ? fill_debian(tmp, agent, mirror, suite, err)
	                                    : fill_busybox(tmp, agent, err)) < 0)
		goto fail;
	if (flush_image(tmp, err) < 0)
		goto fail;
	if (rename(tmp, dir) < 0) {
		/* Another virtlab built the same image meanwhile: use theirs. */
		if (errno != EEXIST && errno != ENOTEMPTY) {
			vl_error_errno(err, errno, "renaming %s to %s", tmp, dir);
			goto fail;
		}
		vl_rootfs_remove(tmp, &ignored);
	}
	memo_write(memo, out->hash);
	return 0;
fail:
	vl_rootfs_remove(tmp, &ignored);
	return vl_error_wrap(err, "building the %s image", kind);
}
