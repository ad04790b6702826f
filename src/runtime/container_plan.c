#include "runtime/container_plan.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static struct vl_container_step *add_step(struct vl_container_plan *plan, enum vl_step_kind kind,
                                          vl_error *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static struct vl_container_step *add_step(struct vl_container_plan *plan, enum vl_step_kind kind,
                                          vl_error *err, const char *fmt, ...)
{
	struct vl_container_step *step;
	va_list ap;

	if (plan->n_steps == plan->cap_steps) {
		size_t cap = plan->cap_steps ? plan->cap_steps * 2 : 32;
		struct vl_container_step *grown = realloc(plan->steps, cap * sizeof(*grown));

		if (!grown) {
			vl_error_errno(err, ENOMEM, "building the container plan");
			return NULL;
		}
		plan->steps = grown;
		plan->cap_steps = cap;
	}
	step = &plan->steps[plan->n_steps++];
	memset(step, 0, sizeof(*step));
	step->kind = kind;
	va_start(ap, fmt);
	vsnprintf(step->name, sizeof(step->name), fmt, ap);
	va_end(ap);
	return step;
}

static int dup_field(char **field, const char *value, vl_error *err)
{
	if (!value)
		return 0;
	*field = strdup(value);
	if (!*field)
		return vl_error_errno(err, ENOMEM, "building the container plan");
	return 0;
}

/* A mount into the new root: target is relative to it. */
static int add_mount(struct vl_container_plan *plan, const char *source, const char *target,
                     const char *fstype, unsigned long flags, const char *data, vl_error *err)
{
	struct vl_container_step *s = add_step(plan, VL_STEP_MOUNT, err, "mount /%s", target);

	if (!s)
		return -1;
	s->flags = flags;
	if (dup_field(&s->source, source, err) < 0 || dup_field(&s->target, target, err) < 0 ||
	    dup_field(&s->fstype, fstype, err) < 0 || dup_field(&s->data, data, err) < 0)
		return -1;
	return 0;
}

static int add_path_step(struct vl_container_plan *plan, enum vl_step_kind kind, const char *verb,
                         const char *source, const char *target, vl_error *err)
{
	struct vl_container_step *s = add_step(plan, kind, err, "%s %s", verb, target);

	if (!s)
		return -1;
	if (dup_field(&s->source, source, err) < 0 || dup_field(&s->target, target, err) < 0)
		return -1;
	return 0;
}

static int add_simple(struct vl_container_plan *plan, enum vl_step_kind kind, const char *name,
                      vl_error *err)
{
	return add_step(plan, kind, err, "%s", name) ? 0 : -1;
}

static int validate(const struct vl_container_spec *spec, vl_error *err)
{
	bool has_null = false;

	if (!spec->rootfs || spec->rootfs[0] != '/')
		return vl_error_input(err, "container rootfs must be an absolute directory path");
	if (!spec->init_fn && (!spec->argv || !spec->argv[0] || spec->argv[0][0] != '/'))
		return vl_error_input(err,
		                      "container init must be an absolute path inside the guest");
	if (spec->keep_fd >= 0 && spec->keep_fd <= 2)
		return vl_error_input(err,
		                      "container keep_fd %d collides with stdio; pass a fd > 2",
		                      spec->keep_fd);
	if (spec->hostname && (strlen(spec->hostname) == 0 || strlen(spec->hostname) > 64))
		return vl_error_input(err, "container hostname '%s' must be 1 to 64 characters",
		                      spec->hostname);
	if (spec->hostname && !(spec->namespaces & VL_NS_UTS))
		return vl_error_input(err, "a container hostname needs the UTS namespace");
	if (!(spec->namespaces & VL_NS_MOUNT))
		return vl_error_input(err, "a container needs the mount namespace for its rootfs");
	if (!(spec->namespaces & VL_NS_USER) && geteuid() != 0)
		return vl_error_input(err,
		                      "creating namespaces needs root; run as root or enable the "
		                      "user namespace (rootless: no cgroup limits, no veth)");
	if (spec->overlay.lower && (!spec->overlay.upper || !spec->overlay.work))
		return vl_error_input(err, "an overlay rootfs needs upper and work directories");
	if (spec->n_uid_map > VL_CONTAINER_MAX_ID_MAPS ||
	    spec->n_gid_map > VL_CONTAINER_MAX_ID_MAPS)
		return vl_error_input(err, "at most %d uid and gid map lines",
		                      VL_CONTAINER_MAX_ID_MAPS);
	for (const char *const *d = spec->devices; d && *d; d++) {
		unsigned major, minor;

		if (vl_container_device_lookup(*d, &major, &minor, err) < 0)
			return -1;
		has_null |= strcmp(*d, "null") == 0;
	}
	if (spec->masked_paths && spec->masked_paths[0] && !has_null)
		return vl_error_input(err, "masked paths need the 'null' device in the allow-list");
	return 0;
}

static unsigned long clone_flags_of(unsigned ns)
{
	/* CLONE_NEWCGROUP is left out on purpose: the child unshares it after
	 * the parent has moved it into the guest's cgroup (VL_STEP_UNSHARE_CGROUP),
	 * so that the namespace's root is that cgroup. */
	return ((ns & VL_NS_MOUNT) ? CLONE_NEWNS : 0) | ((ns & VL_NS_UTS) ? CLONE_NEWUTS : 0) |
	       ((ns & VL_NS_IPC) ? CLONE_NEWIPC : 0) | ((ns & VL_NS_PID) ? CLONE_NEWPID : 0) |
	       ((ns & VL_NS_NET) ? CLONE_NEWNET : 0) | ((ns & VL_NS_USER) ? CLONE_NEWUSER : 0);
}

static int add_root_steps(struct vl_container_plan *plan, const struct vl_container_spec *spec,
                          vl_error *err)
{
	struct vl_container_step *s;

	if (add_simple(plan, VL_STEP_MAKE_PRIVATE, "make-private", err) < 0)
		return -1;
	if (spec->overlay.lower) {
		char data[3 * PATH_MAX + 64];

		snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s",
		         spec->overlay.lower, spec->overlay.upper, spec->overlay.work);
		s = add_step(plan, VL_STEP_MOUNT, err, "mount-overlay");
		if (!s || dup_field(&s->source, "overlay", err) < 0 ||
		    dup_field(&s->target, spec->rootfs, err) < 0 ||
		    dup_field(&s->fstype, "overlay", err) < 0 || dup_field(&s->data, data, err) < 0)
			return -1;
	}
	s = add_step(plan, VL_STEP_BIND_ROOTFS, err, "bind-rootfs");
	if (!s || dup_field(&s->source, spec->rootfs, err) < 0 ||
	    dup_field(&s->target, spec->rootfs, err) < 0)
		return -1;
	return 0;
}

static int add_kernel_fs(struct vl_container_plan *plan, const struct vl_container_spec *spec,
                         vl_error *err)
{
	const unsigned long nosuid = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	if (add_mount(plan, "proc", "proc", "proc", nosuid, NULL, err) < 0)
		return -1;
	/* As crun: a fresh read-only sysfs, which shows only the devices of the
	 * guest's network namespace. sysfs cannot be mounted from a user
	 * namespace that does not own the network namespace; then the host's is
	 * bound in read-only. */
	if ((spec->namespaces & VL_NS_USER) && !(spec->namespaces & VL_NS_NET))
		return add_mount(plan, "/sys", "sys", NULL, MS_BIND | MS_REC | MS_RDONLY | nosuid,
		                 NULL, err);
	return add_mount(plan, "sysfs", "sys", "sysfs", MS_RDONLY | nosuid, NULL, err);
}

static int add_dev(struct vl_container_plan *plan, const struct vl_container_spec *spec,
                   vl_error *err)
{
	static const char *const links[][2] = {
	        {"pts/ptmx", "dev/ptmx"},          {"/proc/self/fd", "dev/fd"},
	        {"/proc/self/fd/0", "dev/stdin"},  {"/proc/self/fd/1", "dev/stdout"},
	        {"/proc/self/fd/2", "dev/stderr"},
	};
	bool userns = spec->namespaces & VL_NS_USER;

	if (add_mount(plan, "tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
	              "mode=755,size=65536k", err) < 0)
		return -1;
	for (const char *const *d = spec->devices; d && *d; d++) {
		char host[64], target[64];
		unsigned major, minor;
		struct vl_container_step *s;

		if (vl_container_device_lookup(*d, &major, &minor, err) < 0)
			return -1;
		snprintf(host, sizeof(host), "/dev/%s", *d);
		snprintf(target, sizeof(target), "dev/%s", *d);
		/* The kernel refuses mknod in a user namespace; binding the
		 * host's node gives the same device. */
		s = add_step(plan, userns ? VL_STEP_BIND_DEV : VL_STEP_MKNOD, err, "%s %s",
		             userns ? "bind-dev" : "mknod", host);
		if (!s || dup_field(&s->source, host, err) < 0 ||
		    dup_field(&s->target, target, err) < 0)
			return -1;
		s->dev = makedev(major, minor);
	}
	/* gid=5 is the tty group, which a user namespace may not map. */
	if (add_mount(plan, "devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	              userns ? "newinstance,ptmxmode=0666,mode=0620"
	                     : "newinstance,ptmxmode=0666,mode=0620,gid=5",
	              err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (add_path_step(plan, VL_STEP_SYMLINK, "symlink", links[i][0], links[i][1], err) <
		    0)
			return -1;
	if (add_mount(plan, "shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	              "mode=1777,size=65536k", err) < 0)
		return -1;
	if (spec->namespaces & VL_NS_IPC)
		return add_mount(plan, "mqueue", "dev/mqueue", "mqueue",
		                 MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
	return 0;
}

static int add_paths(struct vl_container_plan *plan, const struct vl_container_spec *spec,
                     vl_error *err)
{
	for (const char *const *p = spec->readonly_paths; p && *p; p++)
		if (add_path_step(plan, VL_STEP_READONLY_PATH, "readonly", NULL, *p, err) < 0)
			return -1;
	for (const char *const *p = spec->masked_paths; p && *p; p++)
		if (add_path_step(plan, VL_STEP_MASK_PATH, "mask", "/dev/null", *p, err) < 0)
			return -1;
	return 0;
}

static int add_security(struct vl_container_plan *plan, const struct vl_container_spec *spec,
                        vl_error *err)
{
	if (spec->seccomp && vl_seccomp_default_program(&plan->seccomp, err) < 0)
		return -1;
	if (vl_caps_prepare(spec->capabilities, &plan->caps, err) < 0)
		return -1;
	if (spec->no_new_privs) {
		/* Seccomp last, so that no set-up call has to pass it. */
		if (add_simple(plan, VL_STEP_DROP_CAPS, "drop-caps", err) < 0 ||
		    add_simple(plan, VL_STEP_NO_NEW_PRIVS, "no-new-privs", err) < 0)
			return -1;
		return spec->seccomp ? add_simple(plan, VL_STEP_LOAD_SECCOMP, "load-seccomp", err)
		                     : 0;
	}
	/* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, which
	 * the default set drops: load it first. */
	if (spec->seccomp && add_simple(plan, VL_STEP_LOAD_SECCOMP, "load-seccomp", err) < 0)
		return -1;
	return add_simple(plan, VL_STEP_DROP_CAPS, "drop-caps", err);
}

int vl_container_plan_build(const struct vl_container_spec *spec, struct vl_container_plan *plan,
                            vl_error *err)
{
	memset(plan, 0, sizeof(*plan));
	plan->spec = spec;
	if (validate(spec, err) < 0)
		return vl_error_wrap(err, "checking the container spec");
	plan->clone_flags = clone_flags_of(spec->namespaces);
	if (((spec->namespaces & VL_NS_CGROUP) &&
	     add_simple(plan, VL_STEP_UNSHARE_CGROUP, "unshare-cgroup", err) < 0) ||
	    add_root_steps(plan, spec, err) < 0 || add_kernel_fs(plan, spec, err) < 0 ||
	    add_dev(plan, spec, err) < 0 ||
	    add_simple(plan, VL_STEP_PIVOT_ROOT, "pivot-root", err) < 0 ||
	    add_paths(plan, spec, err) < 0)
		goto fail;
	if (spec->hostname && add_simple(plan, VL_STEP_SET_HOSTNAME, "set-hostname", err) < 0)
		goto fail;
	if ((spec->namespaces & VL_NS_NET) &&
	    add_simple(plan, VL_STEP_LOOPBACK_UP, "loopback-up", err) < 0)
		goto fail;
	if (add_simple(plan, VL_STEP_RESET_SIGNALS, "reset-signals", err) < 0 ||
	    add_simple(plan, VL_STEP_SETUP_FDS, "setup-fds", err) < 0 ||
	    add_security(plan, spec, err) < 0)
		goto fail;
	return 0;
fail:
	vl_container_plan_free(plan);
	return vl_error_wrap(err, "building the container plan");
}

void vl_container_plan_free(struct vl_container_plan *plan)
{
	for (size_t i = 0; i < plan->n_steps; i++) {
		free(plan->steps[i].source);
		free(plan->steps[i].target);
		free(plan->steps[i].fstype);
		free(plan->steps[i].data);
	}
	free(plan->steps);
	vl_seccomp_program_free(&plan->seccomp);
	if (plan->caps)
		cap_free(plan->caps);
	memset(plan, 0, sizeof(*plan));
}

const struct vl_container_step *vl_container_plan_find(const struct vl_container_plan *plan,
                                                       enum vl_step_kind kind)
{
	for (size_t i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].kind == kind)
			return &plan->steps[i];
	return NULL;
}
