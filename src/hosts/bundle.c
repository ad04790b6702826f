/* virtlab's bundle (bundle.h): the running virtlab, the libraries the
 * dynamic loader resolves for it, the loader itself, the static agent and
 * busybox, in one directory that runs wherever it is copied. */
#include "hosts/bundle.h"
#include "core/cleanup.h"
#include "core/command.h"
#include "core/dynlib.h"
#include "core/file.h"
#include "platforms/image.h"
#include "platforms/state.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump when the layout changes, so that old cached bundles are not reused. */
#define BUNDLE_LAYOUT    "virtlab-bundle-1"
#define BUNDLE_MAX_LIBS  64
#define LIST_TIMEOUT_S   30.0
#define BUSYBOX_FALLBACK "/bin/busybox"

struct lib {
	char name[128]; /* as the program asks for it (DT_NEEDED) */
	char path[PATH_MAX];
};

struct inputs {
	char exe[PATH_MAX];
	char interp[PATH_MAX]; /* empty: a static virtlab */
	char agent[PATH_MAX];
	char busybox[PATH_MAX];
	struct lib libs[BUNDLE_MAX_LIBS];
	size_t nlibs;
};

int vl_bundle_interp(const char *path, char *out, size_t size, vl_error *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	out[0] = '\0';
	if (fd < 0)
		return vl_error_errno(err, errno, "opening %s", path);
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return vl_error_set(err, "%s is not a 64-bit ELF executable", path);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (off_t)i * eh.e_phentsize)) !=
		    (ssize_t)sizeof(ph))
			return vl_error_set(err, "%s has a truncated program header", path);
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz > size ||
		    pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz ||
		    out[ph.p_filesz - 1] != '\0')
			return vl_error_set(err, "%s has a bad program interpreter", path);
		return 0;
	}
	return 0;
}

/* One line of `ld.so --list`: "\tlibjansson.so.4 => /lib/.../libjansson.so.4 (0x...)".
 * Lines without "=>" are the vDSO and the loader itself. */
static int parse_list_line(const char *line, const char *program, vl_bundle_library_fn each,
                           void *arg, vl_error *err)
{
	const char *arrow = strstr(line, " => "), *path, *end;
	char name[128], file[PATH_MAX];
	size_t name_len;

	if (!arrow)
		return 0;
	while (*line == ' ' || *line == '\t')
		line++;
	path = arrow + 4;
	if (strncmp(path, "not found", 9) == 0)
		return vl_error_set(err, "the loader finds no %.*s for %s", (int)(arrow - line),
		                    line, program);
	end = strstr(path, " (");
	end = end ? end : path + strlen(path);
	name_len = (size_t)(arrow - line);
	if (name_len == 0 || name_len >= sizeof(name) || memchr(line, '/', name_len) ||
	    (size_t)(end - path) >= sizeof(file) || path[0] != '/')
		return vl_error_set(err, "cannot read the loader's line '%s'", line);
	memcpy(name, line, name_len);
	name[name_len] = '\0';
	memcpy(file, path, (size_t)(end - path));
	file[end - path] = '\0';
	return each(name, file, arg, err);
}

int vl_bundle_each_library(const char *interp, const char *program, vl_bundle_library_fn each,
                           void *arg, vl_error *err)
{
	const char *const argv[] = {interp, "--list", program, NULL};
	struct vl_command_result res = {0};
	char why[512];
	int rc = 0;

	if (vl_command_run(argv, NULL, LIST_TIMEOUT_S, NULL, &res, err) < 0)
		return vl_error_wrap(err, "listing the libraries of %s", program);
	if (res.exit_code != 0) {
		rc = vl_error_set(err, "%s --list %s: %s", interp, program,
		                  vl_command_describe_failure(&res, why, sizeof(why)));
		goto out;
	}
	for (char *save = NULL, *line = strtok_r(res.out, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save))
		rc = parse_list_line(line, program, each, arg, err);
out:
	vl_command_result_release(&res);
	return rc;
}

static int add_library(const char *name, const char *path, void *arg, vl_error *err)
{
	struct inputs *in = arg;
	struct lib *lib;

	/* Libraries loaded on first use share dependencies with the program. */
	for (size_t i = 0; i < in->nlibs; i++)
		if (strcmp(in->libs[i].name, name) == 0)
			return 0;
	if (in->nlibs == BUNDLE_MAX_LIBS)
		return vl_error_set(err, "%s needs more than %d libraries", in->exe,
		                    BUNDLE_MAX_LIBS);
	lib = &in->libs[in->nlibs++];
	snprintf(lib->name, sizeof(lib->name), "%s", name);
	snprintf(lib->path, sizeof(lib->path), "%s", path);
	return 0;
}

/* The libraries virtlab loads on first use (core/dynlib.h), which no listing
 * of the program names, with what they need; one the host lacks is left out,
 * as the host's own virtlab goes without it. */
static int add_ondemand_libraries(struct inputs *in, vl_error *err)
{
	char path[PATH_MAX];
	vl_error missing = {0};

	for (const char *const *soname = vl_dynlib_sonames; *soname; soname++) {
		if (vl_dynlib_locate(*soname, path, sizeof(path), &missing) < 0)
			continue;
		if (add_library(*soname, path, in, err) < 0 ||
		    vl_bundle_each_library(in->interp, path, add_library, in, err) < 0)
			return -1;
	}
	return 0;
}

static int gather(struct inputs *in, vl_error *err)
{
	const char *busybox = getenv("VIRTLAB_BUSYBOX");

	/* The running file itself, not the path it was started from: a rebuild
	 * replaces that path (its link reads "... (deleted)") while we run.
	 * Through our pid, since the loader reads it in a process of its own. */
	snprintf(in->exe, sizeof(in->exe), "/proc/%d/exe", (int)getpid());
	if (vl_bundle_interp(in->exe, in->interp, sizeof(in->interp), err) < 0)
		return -1;
	if (in->interp[0] && vl_bundle_each_library(in->interp, in->exe, add_library, in, err) < 0)
		return -1;
	if (in->interp[0] && add_ondemand_libraries(in, err) < 0)
		return -1;
	if (vl_image_agent_path(in->agent, sizeof(in->agent), err) < 0)
		return vl_error_wrap(err, "the bundle needs the static agent");
	snprintf(in->busybox, sizeof(in->busybox), "%s",
	         busybox && busybox[0] ? busybox : BUSYBOX_FALLBACK);
	if (access(in->busybox, X_OK) < 0)
		return vl_error_input(err,
		                      "the bundle needs a static busybox and %s is missing: "
		                      "apt-get install busybox-static",
		                      in->busybox);
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The layout and every name a file gets, so that the same files under
 * other names make another bundle. */
static char *layout_key(const struct inputs *in)
{
	char *key = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&key, &len);

	if (!f)
		return NULL;
	fprintf(f, "%s\n%s\n", BUNDLE_LAYOUT, base_name(in->interp));
	for (size_t i = 0; i < in->nlibs; i++)
		fprintf(f, "%s\n", in->libs[i].name);
	if (fclose(f) != 0) {
		free(key);
		return NULL;
	}
	return key;
}

static int bundle_hash(const struct inputs *in, char hex[65], vl_error *err)
{
	const char *files[BUNDLE_MAX_LIBS + 5];
	cleanup_free char *key = layout_key(in);
	size_t n = 0;

	if (!key)
		return vl_error_errno(err, ENOMEM, "naming the bundle");
	files[n++] = in->exe;
	files[n++] = in->agent;
	files[n++] = in->busybox;
	if (in->interp[0])
		files[n++] = in->interp;
	for (size_t i = 0; i < in->nlibs; i++)
		files[n++] = in->libs[i].path;
	files[n] = NULL;
	return vl_image_hash_inputs(key, files, false, hex, err);
}

/* Why a shell wrapper: the bundled loader must run virtlab (the host's may
 * be another glibc), and /proc/self/exe is then the loader, so the wrapper
 * tells virtlab how to start itself again (VIRTLAB_SELF). */
static int write_wrapper(const char *dir, const struct inputs *in, vl_error *err)
{
	cleanup_free char *text = NULL;
	char path[PATH_MAX];
	int len;

	if (in->interp[0])
		len = asprintf(&text,
		               "#!/bin/sh\n"
		               "# virtlab's bundle (docs/design.md, \"Hosts\"): virtlab with its "
		               "own loader and libraries.\n"
		               "d=$(cd \"${0%%/*}/..\" && pwd -P) || exit 127\n"
		               "export VIRTLAB_BUNDLE=\"$d\" VIRTLAB_SELF=\"$d/bin/virtlab\"\n"
		               "export VIRTLAB_AGENT=\"$d/bin/virtlab-agent\" "
		               "VIRTLAB_BUSYBOX=\"$d/bin/busybox\"\n"
		               "exec \"$d/lib/%s\" --library-path \"$d/lib\" --argv0 virtlab "
		               "\"$d/lib/virtlab.bin\" \"$@\"\n",
		               base_name(in->interp));
	else
		len = asprintf(&text,
		               "#!/bin/sh\n"
		               "# virtlab's bundle (docs/design.md, \"Hosts\"): a static virtlab.\n"
		               "d=$(cd \"${0%%/*}/..\" && pwd -P) || exit 127\n"
		               "export VIRTLAB_BUNDLE=\"$d\" VIRTLAB_SELF=\"$d/bin/virtlab\"\n"
		               "export VIRTLAB_AGENT=\"$d/bin/virtlab-agent\" "
		               "VIRTLAB_BUSYBOX=\"$d/bin/busybox\"\n"
		               "exec \"$d/lib/virtlab.bin\" \"$@\"\n");
	if (len < 0)
		return vl_error_errno(err, ENOMEM, "writing the bundle's wrapper");
	snprintf(path, sizeof(path), "%s/bin/virtlab", dir);
	if (vl_write_file_atomic(path, text, (size_t)len, err) < 0)
		return -1;
	if (chmod(path, 0755) < 0)
		return vl_error_errno(err, errno, "making %s executable", path);
	return 0;
}

static int fill(const char *dir, const struct inputs *in, vl_error *err)
{
	char path[PATH_MAX];

	for (const char *const *sub = (const char *const[]){"bin", "lib", NULL}; *sub; sub++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *sub);
		if (mkdir(path, 0755) < 0)
			return vl_error_errno(err, errno, "creating %s", path);
	}
	snprintf(path, sizeof(path), "%s/lib/virtlab.bin", dir);
	if (vl_copy_file(in->exe, path, 0755, err) < 0)
		return -1;
	if (in->interp[0]) {
		snprintf(path, sizeof(path), "%s/lib/%s", dir, base_name(in->interp));
		if (vl_copy_file(in->interp, path, 0755, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < in->nlibs; i++) {
		snprintf(path, sizeof(path), "%s/lib/%s", dir, in->libs[i].name);
		if (vl_copy_file(in->libs[i].path, path, 0644, err) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/bin/virtlab-agent", dir);
	if (vl_copy_file(in->agent, path, 0755, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/bin/busybox", dir);
	if (vl_copy_file(in->busybox, path, 0755, err) < 0)
		return -1;
	return write_wrapper(dir, in, err);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static bool is_bundle(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bin/virtlab", dir);
	return access(path, X_OK) == 0;
}

int vl_bundle_build(char *dir, size_t size, vl_error *err)
{
	const char *running = getenv("VIRTLAB_BUNDLE");
	cleanup_free struct inputs *in = calloc(1, sizeof(*in));
	char hex[65], root[PATH_MAX], tmp[PATH_MAX];
	int len, rc;

	/* A virtlab that runs from a bundle passes that bundle on. */
	if (running && running[0] && is_bundle(running)) {
		if ((size_t)snprintf(dir, size, "%s", running) >= size)
			return vl_error_set(err, "the bundle's path %s is too long", running);
		return 0;
	}
	if (!in)
		return vl_error_errno(err, ENOMEM, "building the bundle");
	if (gather(in, err) < 0 || bundle_hash(in, hex, err) < 0)
		return vl_error_wrap(err, "building virtlab's bundle");
	snprintf(root, sizeof(root), "%s/bundles", vl_data_root());
	len = snprintf(dir, size, "%s/%.16s", root, hex);
	if (len < 0 || (size_t)len >= size)
		return vl_error_input(err, "VIRTLAB_DATA '%s' is too long", vl_data_root());
	if (is_bundle(dir))
		return 0;
	if (vl_mkdir_p(root, 0755, err) < 0)
		return vl_error_wrap(err, "creating the bundle cache");
	snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", root);
	if (!mkdtemp(tmp))
		return vl_error_errno(err, errno, "creating a directory in %s", root);
	/* mkdtemp made it 0700; the bundle is read by guests' other users. */
	rc = chmod(tmp, 0755) < 0 ? vl_error_errno(err, errno, "opening up %s", tmp)
	                          : fill(tmp, in, err);
	if (rc < 0) {
		nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		return vl_error_wrap(err, "building virtlab's bundle");
	}
	/* Another virtlab may have built the same bundle meanwhile: theirs is
	 * as good as ours. */
	if (rename(tmp, dir) < 0) {
		int e = errno;
		nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		if ((e != EEXIST && e != ENOTEMPTY) || !is_bundle(dir))
			return vl_error_errno(err, e, "moving the bundle to %s", dir);
	}
	return 0;
}
