/* The study's shares on other hosts: split, run there, fetch, merge. */
#include "study/study_hosts.h"
#include "core/cleanup.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "platforms/platform.h"
#include "study/study.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A host's whole study, however long: a hung host is caught by ssh's keep-
 * alives or the lab's agent, not by this bound. */
#define HOST_STUDY_TIMEOUT_S (48 * 3600.0)
#define HOST_MAX_ARGS        160

static struct vl_study_host *find(struct vl_study_hosts *hs, const char *name, size_t len)
{
	for (size_t i = 0; i < hs->n; i++)
		if (strlen(hs->h[i].host->name) == len &&
		    strncmp(hs->h[i].host->name, name, len) == 0)
			return &hs->h[i];
	return NULL;
}

int vl_study_hosts_add(struct vl_study_hosts *hs, const char *spec, vl_error *err)
{
	struct vl_host *h;
	const char *eq = strchr(spec, '=');

	if (hs->n == VL_STUDY_MAX_HOSTS)
		return vl_error_input(err, "at most %d hosts per study", VL_STUDY_MAX_HOSTS);
	if (vl_host_parse(spec, &h, err) < 0)
		return -1;
	if (find(hs, h->name, strlen(h->name))) {
		vl_error_input(err, "host '%s' is given twice", h->name);
		vl_host_free(h);
		return -1;
	}
	memset(&hs->h[hs->n], 0, sizeof(hs->h[0]));
	hs->h[hs->n].host = h;
	snprintf(hs->h[hs->n].spec, sizeof(hs->h[0].spec), "%s", eq + 1);
	hs->n++;
	return 0;
}

static int append_item(char *list, size_t size, const char *item, size_t len, vl_error *err)
{
	size_t used = strlen(list);

	if (used + len + 2 > size)
		return vl_error_input(err, "the platform list is too long");
	if (used)
		list[used++] = ',';
	memcpy(list + used, item, len);
	list[used + len] = '\0';
	return 0;
}

static bool in_list(const char *list, const char *item, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, item, len) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

/* item is "P@HOST" of a known host: P joins the host's list, bare first. */
static int add_to_host(struct vl_study_host *sh, const char *item, size_t len, vl_error *err)
{
	char name[VL_NAME_MAX];

	if (len >= sizeof(name))
		return vl_error_input(err, "platform '%.*s' is too long", (int)len, item);
	memcpy(name, item, len);
	name[len] = '\0';
	if (!vl_platform_find(name))
		return vl_error_input(err,
		                      "platform '%s' (of host %s) is unknown: see virtlab info",
		                      name, sh->host->name);
	if (!sh->platforms[0] &&
	    append_item(sh->platforms, sizeof(sh->platforms), "bare", 4, err) < 0)
		return -1;
	if (in_list(sh->platforms, name, len)) {
		if (strcmp(name, "bare") == 0)
			return 0; /* every host runs bare anyway */
		return vl_error_input(err, "platform '%s@%s' is listed twice", name,
		                      sh->host->name);
	}
	return append_item(sh->platforms, sizeof(sh->platforms), name, len, err);
}

int vl_study_hosts_split(struct vl_study_hosts *hs, const char *list, char *local, size_t size,
                         vl_error *err)
{
	local[0] = '\0';
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		const char *at = memchr(p, '@', n);
		struct vl_study_host *sh = at ? find(hs, at + 1, (size_t)(p + n - at - 1)) : NULL;

		if (n == 0)
			return vl_error_input(err, "'%s' has an empty item", list);
		if (sh ? add_to_host(sh, p, (size_t)(at - p), err) < 0
		       : append_item(local, size, p, n, err) < 0)
			return -1;
		p += n + (p[n] == ',');
	}
	return 0;
}

int vl_study_hosts_add_labs(struct vl_study_hosts *hs, vl_error *err)
{
	char local[8];

	if (vl_study_hosts_add(hs, "xenlab=lab:xen", err) < 0 ||
	    vl_study_hosts_add(hs, "kvmlab=lab:kvm", err) < 0)
		return vl_error_wrap(err, "--with-labs");
	return vl_study_hosts_split(hs, "xen@xenlab,qemu@kvmlab", local, sizeof(local), err);
}

int vl_study_hosts_check(const struct vl_study_hosts *hs, vl_error *err)
{
	for (size_t i = 0; i < hs->n; i++)
		if (!hs->h[i].platforms[0])
			return vl_error_input(
			        err,
			        "host %s runs no platform: name one in --platforms as "
			        "PLATFORM@%s (e.g. container@%s)",
			        hs->h[i].host->name, hs->h[i].host->name, hs->h[i].host->name);
	return 0;
}

void vl_study_hosts_release(struct vl_study_hosts *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		vl_host_free(hs->h[i].host);
	hs->n = 0;
}

static json_t *hosts_of(struct vl_results *r)
{
	json_t *hosts = json_object_get(r->root, "hosts");

	if (!hosts) {
		hosts = json_object();
		json_object_set_new(r->root, "hosts", hosts);
	}
	return hosts;
}

static json_t *split_json(const char *list)
{
	json_t *a = json_array();

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return a;
}

int vl_study_hosts_record(const struct vl_study_hosts *hs, struct vl_results *r, vl_error *err)
{
	json_t *hosts = hosts_of(r);

	for (size_t i = 0; i < hs->n; i++) {
		const struct vl_study_host *sh = &hs->h[i];
		json_t *e = json_pack("{s:s, s:s, s:o, s:s, s:n, s:n, s:n, s:n, s:n, s:{}}", "spec",
		                      sh->spec, "kind", sh->host->kind->name, "platforms",
		                      split_json(sh->platforms), "status", "pending", "reason",
		                      "accel", "started", "finished", "facts", "experiments");
		if (!e)
			return vl_error_set(err, "recording host %s", sh->host->name);
		json_object_set_new(hosts, sh->host->name, e);
	}
	return vl_results_save(r, err);
}

int vl_study_hosts_load(struct vl_study_hosts *hs, struct vl_results *r, vl_error *err)
{
	const char *name;
	json_t *e, *p;
	size_t i;
	char spec[VL_HOST_NAME_MAX + 300];

	json_object_foreach(hosts_of(r), name, e)
	{
		struct vl_study_host *sh;
		snprintf(spec, sizeof(spec), "%s=%s", name,
		         json_string_value(json_object_get(e, "spec")) ?: "");
		if (vl_study_hosts_add(hs, spec, err) < 0)
			return vl_error_wrap(err, "resuming the hosts of %s", r->dir);
		sh = &hs->h[hs->n - 1];
		json_array_foreach(json_object_get(e, "platforms"), i, p)
		{
			const char *s = json_string_value(p);
			if (!s || append_item(sh->platforms, sizeof(sh->platforms), s, strlen(s),
			                      err) < 0)
				return vl_error_wrap(err, "resuming host %s", name);
		}
	}
	return 0;
}

/* --- merging --- */

static bool is_host_platform(json_t *p, const char *host)
{
	const char *h = json_string_value(json_object_get(p, "host"));

	return h && strcmp(h, host) == 0;
}

static bool names_platform(json_t *names, const char *name)
{
	size_t i;
	json_t *n;

	json_array_foreach(names, i, n) if (strcmp(json_string_value(n), name) == 0) return true;
	return false;
}

/* Drops what an earlier merge of host added: its platforms, rows, features. */
static void unmerge(json_t *root, const char *host)
{
	json_t *platforms = json_object_get(root, "platforms"), *names = json_array(), *e;
	const char *exp;

	for (size_t i = json_array_size(platforms); i-- > 0;) {
		json_t *p = json_array_get(platforms, i);
		if (is_host_platform(p, host)) {
			json_array_append(names, json_object_get(p, "name"));
			json_array_remove(platforms, i);
		}
	}
	json_object_foreach(json_object_get(root, "experiments"), exp, e)
	{
		for (const char *const *list = (const char *const[]){"rows", "features", NULL};
		     *list; list++) {
			json_t *items = json_object_get(e, *list);
			for (size_t i = json_array_size(items); i-- > 0;) {
				const char *pl = json_string_value(
				        json_object_get(json_array_get(items, i), "platform"));
				if (pl && names_platform(names, pl))
					json_array_remove(items, i);
			}
		}
	}
	json_decref(names);
}

/* "container" -> "container@host" in field key of obj. */
static int rename_field(json_t *obj, const char *key, const char *host)
{
	const char *v = json_string_value(json_object_get(obj, key));

	if (!v)
		return -1;
	return json_object_set_new(obj, key, json_sprintf("%s@%s", v, host));
}

static int merge_items(json_t *mine, json_t *theirs, const char *list, const char *host,
                       json_t *their_platforms)
{
	json_t *items = json_object_get(mine, list), *item;
	size_t i;

	if (!json_is_array(json_object_get(theirs, list)))
		return 0;
	if (!items) {
		items = json_array();
		json_object_set_new(mine, list, items);
	}
	json_array_foreach(json_object_get(theirs, list), i, item)
	{
		json_t *copy = json_deep_copy(item);
		json_t *overhead = json_object_get(copy, "overhead");
		const char *against = json_string_value(json_object_get(overhead, "against"));

		if (!copy || rename_field(copy, "platform", host) < 0) {
			json_decref(copy);
			return -1;
		}
		/* Against a platform of theirs (bare): the one of the same host; a
		 * variant ("neighbour=none") stays as it is. */
		if (against && names_platform(their_platforms, against))
			rename_field(overhead, "against", host);
		json_array_append_new(items, copy);
	}
	return 0;
}

static int merge_experiments(json_t *root, json_t *theirs, const char *host, json_t *names,
                             json_t *entry)
{
	json_t *experiments = json_object_get(root, "experiments"), *e;
	json_t *statuses = json_object();
	const char *name;

	json_object_set_new(entry, "experiments", statuses);
	json_object_foreach(json_object_get(theirs, "experiments"), name, e)
	{
		json_t *mine = json_object_get(experiments, name);
		json_object_set_new(statuses, name,
		                    json_pack("{s:O?, s:O?}", "status",
		                              json_object_get(e, "status"), "reason",
		                              json_object_get(e, "reason")));
		if (!mine) {
			/* Not run here: the host's status stands for it. */
			mine = json_pack("{s:O?, s:O?, s:O?, s:O?, s:[]}", "status",
			                 json_object_get(e, "status"), "reason",
			                 json_object_get(e, "reason"), "started",
			                 json_object_get(e, "started"), "finished",
			                 json_object_get(e, "finished"), "rows");
			if (!mine)
				return -1;
			json_object_set_new(experiments, name, mine);
		}
		if (merge_items(mine, e, "rows", host, names) < 0 ||
		    merge_items(mine, e, "features", host, names) < 0)
			return -1;
	}
	return 0;
}

int vl_study_merge_host(struct vl_results *r, const char *host, json_t *theirs, vl_error *err)
{
	json_t *entry = json_object_get(hosts_of(r), host);
	json_t *platforms = json_object_get(r->root, "platforms"), *p;
	cleanup_json json_t *names = json_array();
	size_t i;

	if (!json_is_object(json_object_get(theirs, "experiments")) ||
	    !json_is_array(json_object_get(theirs, "platforms")))
		return vl_error_input(err, "the results of host %s are not a %s file", host,
		                      VL_RESULTS_SCHEMA);
	if (!entry) {
		entry = json_object();
		json_object_set_new(hosts_of(r), host, entry);
	}
	unmerge(r->root, host);
	json_array_foreach(json_object_get(theirs, "platforms"), i, p)
	{
		json_t *copy = json_deep_copy(p);
		json_array_append(names, json_object_get(p, "name"));
		if (!copy || rename_field(copy, "name", host) < 0) {
			json_decref(copy);
			return vl_error_input(err, "host %s: platforms[%zu] has no name", host, i);
		}
		json_object_set_new(copy, "host", json_string(host));
		json_array_append_new(platforms, copy);
	}
	if (merge_experiments(r->root, theirs, host, names, entry) < 0)
		return vl_error_set(err, "merging the results of host %s", host);
	json_object_set(entry, "facts", json_object_get(theirs, "host"));
	json_object_set(entry, "virtlab_version", json_object_get(theirs, "virtlab_version"));
	json_object_set(entry, "started", json_object_get(theirs, "started"));
	json_object_set(entry, "finished", json_object_get(theirs, "finished"));
	return 0;
}

void vl_study_hosts_warnings(json_t *warnings, json_t *root)
{
	const char *name, *exp;
	json_t *h, *e;

	json_object_foreach(json_object_get(root, "hosts"), name, h)
	{
		const char *status = json_string_value(json_object_get(h, "status"));
		const char *reason = json_string_value(json_object_get(h, "reason"));

		if (status && strcmp(status, "failed") == 0)
			json_array_append_new(warnings,
			                      json_sprintf("host %s failed: %s", name,
			                                   reason ? reason : "no reason given"));
		json_object_foreach(json_object_get(h, "experiments"), exp, e)
		{
			const char *s = json_string_value(json_object_get(e, "status"));
			const char *why = json_string_value(json_object_get(e, "reason"));
			if (s && strcmp(s, "done") != 0)
				json_array_append_new(warnings,
				                      json_sprintf("host %s: experiment %s %s%s%s",
				                                   name, exp, s, why ? ": " : "",
				                                   why ? why : ""));
		}
	}
}

/* --- running --- */

/* The remote study's command line: the plan's profile and experiments, and
 * every setting that differs from the profile's default, so that the host
 * runs the same plan. */
static int study_argv(const struct vl_study_plan *plan, const struct vl_study_host *sh,
                      const char *out, const char **argv, char (*texts)[512], vl_error *err)
{
	struct vl_study_plan def;
	size_t n = 0, t = 0;
	const char *key;
	json_t *value;
	char *exps = texts[t++];

	if (vl_study_plan_init(&def, plan->profile, err) < 0)
		return -1;
	exps[0] = '\0';
	for (size_t i = 0; i < plan->n_experiments; i++)
		snprintf(exps + strlen(exps), 512 - strlen(exps), "%s%s", i ? "," : "",
		         plan->experiments[i]);
	argv[n++] = "virtlab";
	argv[n++] = "study";
	argv[n++] = "--profile";
	argv[n++] = plan->profile;
	argv[n++] = "--platforms";
	argv[n++] = sh->platforms;
	argv[n++] = "--experiments";
	argv[n++] = exps;
	argv[n++] = "--out";
	argv[n++] = out;
	argv[n++] = "--no-report";
#define SET(...)                                                                                   \
	do {                                                                                       \
		snprintf(texts[t], 512, __VA_ARGS__);                                              \
		argv[n++] = "--set";                                                               \
		argv[n++] = texts[t++];                                                            \
	} while (0)
	if (plan->repeat_min != def.repeat_min || plan->repeat_max != def.repeat_max) {
		SET("repeat_min=%u", plan->repeat_min);
		SET("repeat_max=%u", plan->repeat_max);
	}
	if (plan->warmup != def.warmup)
		SET("warmup=%u", plan->warmup);
	if (plan->ci_target != def.ci_target)
		SET("ci_target=%.17g", plan->ci_target);
	json_object_foreach(plan->sizes, key, value)
	{
		if (json_equal(value, json_object_get(def.sizes, key)))
			continue;
		if (n + 3 >= HOST_MAX_ARGS) {
			vl_study_plan_release(&def);
			return vl_error_input(err, "too many settings to pass to host %s",
			                      sh->host->name);
		}
		SET("%s=%s", key, json_string_value(value));
	}
#undef SET
	argv[n] = NULL;
	vl_study_plan_release(&def);
	return 0;
}

/* The last non-empty line of a command's stderr: virtlab's own error. */
static void last_line(const char *text, char *buf, size_t size)
{
	const char *end = text + strlen(text), *start;

	while (end > text && end[-1] == '\n')
		end--;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	snprintf(buf, size, "%.*s", (int)(end - start), start);
}

/* Opened host: runs the study there and fetches its results.json to local. */
static int study_on(struct vl_study_host *sh, const struct vl_study_plan *plan, const char *local,
                    vl_study_hosts_progress_fn progress, void *arg, vl_error *err)
{
	struct vl_host *h = sh->host;
	cleanup_free char *out = NULL;
	cleanup_free char *errout = NULL;
	cleanup_free char(*texts)[512] = calloc(HOST_MAX_ARGS / 2, sizeof(*texts));
	const char *argv[HOST_MAX_ARGS];
	char remote[PATH_MAX + 32], line[512];
	int status = 0;

	if (!texts)
		return vl_error_errno(err, ENOMEM, "running the study on host %s", h->name);
	snprintf(remote, sizeof(remote), "%s/study", h->workdir);
	if (study_argv(plan, sh, remote, argv, texts, err) < 0)
		return -1;
	if (progress)
		progress(arg, h->name, "study");
	if (h->kind->run(h, argv, HOST_STUDY_TIMEOUT_S, &status, &out, &errout, err) < 0)
		return vl_error_wrap(err, "running the study on host %s", h->name);
	/* A study that stopped early still wrote what it measured. */
	snprintf(remote, sizeof(remote), "%s/study/results.json", h->workdir);
	if (h->kind->fetch(h, remote, local, err) < 0 || status != 0) {
		last_line(errout, line, sizeof(line));
		if (status != 0)
			vl_error_set(err, "virtlab study on host %s exited with %d: %s", h->name,
			             status, line[0] ? line : "no message");
		return -1;
	}
	return 0;
}

static void set_status(json_t *entry, const char *status, const char *reason)
{
	json_object_set_new(entry, "status", json_string(status));
	json_object_set_new(entry, "reason", reason ? json_string(reason) : json_null());
}

/* Merges the results fetched to local, even those of a failed study. */
static int merge_file(struct vl_results *r, const char *name, const char *local, vl_error *err)
{
	json_error_t jerr;
	cleanup_json json_t *theirs = json_load_file(local, 0, &jerr);

	if (!theirs)
		return vl_error_input(err, "%s: %s (line %d)", local, jerr.text, jerr.line);
	return vl_study_merge_host(r, name, theirs, err);
}

static int run_one(struct vl_study_host *sh, const struct vl_study_plan *plan, struct vl_results *r,
                   vl_study_hosts_progress_fn progress, void *arg, vl_error *err)
{
	struct vl_host *h = sh->host;
	json_t *entry = json_object_get(hosts_of(r), h->name);
	char dir[PATH_MAX], local[PATH_MAX + 16];
	vl_error run_err = {0}, close_err = {0};
	int rc;

	snprintf(dir, sizeof(dir), "%s/hosts/%s", r->dir, h->name);
	snprintf(local, sizeof(local), "%s/results.json", dir);
	set_status(entry, "running", NULL);
	if (vl_mkdir_p(dir, 0755, err) < 0 || vl_results_save(r, err) < 0)
		return -1;
	if (progress)
		progress(arg, h->name, "opening");
	rc = h->kind->open(h, &run_err);
	if (rc == 0) {
		json_object_set_new(entry, "accel",
		                    h->accel[0] ? json_string(h->accel) : json_null());
		rc = study_on(sh, plan, local, progress, arg, &run_err);
		if (progress)
			progress(arg, h->name, "closing");
		if (h->kind->close(h, &close_err) < 0 && rc == 0) {
			run_err = close_err;
			rc = -1;
		}
	}
	if (access(local, R_OK) == 0 && merge_file(r, h->name, local, &run_err) < 0)
		rc = -1;
	if (vl_study_interrupted())
		set_status(entry, "pending", "interrupted");
	else
		set_status(entry, rc == 0 ? "done" : "failed", rc == 0 ? NULL : run_err.msg);
	json_object_set_new(r->root, "warnings", vl_study_warnings(r));
	return vl_results_save(r, err);
}

int vl_study_hosts_run(struct vl_study_hosts *hs, const struct vl_study_plan *plan,
                       struct vl_results *r, vl_study_hosts_progress_fn progress,
                       void *progress_arg, vl_error *err)
{
	json_t *hosts = hosts_of(r);

	for (size_t i = 0; i < hs->n; i++) {
		json_t *entry = json_object_get(hosts, hs->h[i].host->name);
		const char *status = json_string_value(json_object_get(entry, "status"));

		if (status && strcmp(status, "done") == 0)
			continue;
		json_object_set_new(r->root, "finished", json_null());
		if (run_one(&hs->h[i], plan, r, progress, progress_arg, err) < 0)
			return -1;
		if (vl_study_interrupted())
			return vl_error_set(err, "interrupted during host %s", hs->h[i].host->name);
	}
	return vl_results_finish(r, err);
}
