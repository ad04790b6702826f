#include "report/report.h"
#include "core/cleanup.h"
#include "core/file.h"
#include "report/report_model.h"
#include "report/report_view.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* Adding a format: one file and one line here. */
const struct vl_report_format vl_report_formats[] = {
        {"html", VL_REPORT_HTML, "report.html", vl_report_write_html},
        {"md", VL_REPORT_MD, "report.md", vl_report_write_md},
        {"csv", VL_REPORT_CSV, "results.csv", vl_report_write_csv},
        {"json", VL_REPORT_JSON, "report.json", vl_report_write_json},
};
const size_t vl_report_nformats = sizeof(vl_report_formats) / sizeof(vl_report_formats[0]);

int vl_report_parse_formats(const char *list, unsigned *formats, vl_error *err)
{
	cleanup_free char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return vl_error_errno(err, ENOMEM, "parsing formats");
	*formats = 0;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < vl_report_nformats; i++)
			if (strcmp(vl_report_formats[i].name, name) == 0)
				break;
		if (i == vl_report_nformats)
			return vl_error_input(
			        err, "unknown report format '%s' (use html, md, csv or json)",
			        name);
		*formats |= vl_report_formats[i].flag;
	}
	if (!*formats)
		return vl_error_input(err, "no report format given (use html, md, csv or json)");
	return 0;
}

static int default_out_dir(const char *arg, char *buf, size_t size, vl_error *err)
{
	struct stat st;

	if (stat(arg, &st) < 0)
		return vl_error_input(err, "%s: %s", arg, strerror(errno));
	snprintf(buf, size, "%s", arg);
	if (!S_ISDIR(st.st_mode))
		snprintf(buf, size, "%s", dirname(buf));
	return 0;
}

static int write_format(const struct vl_report_format *f, const struct vl_report_view *view,
                        const char *out_dir, vl_error *err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	char path[PATH_MAX];
	FILE *out = open_memstream(&data, &len);
	int rc;

	if (!out)
		return vl_error_errno(err, errno, "rendering %s", f->file);
	rc = f->write(out, view, err);
	if (fclose(out) != 0 && rc == 0)
		rc = vl_error_errno(err, errno, "rendering %s", f->file);
	if (rc < 0)
		return vl_error_wrap(err, "rendering %s", f->file);
	snprintf(path, sizeof(path), "%s/%s", out_dir, f->file);
	return vl_write_file_atomic(path, data, len, err);
}

int vl_report_write(const char *const *dirs, size_t ndirs, const char *out_dir, unsigned formats,
                    vl_error *err)
{
	struct vl_report_model model;
	struct vl_report_view view;
	char dir[PATH_MAX];
	int rc = 0;

	if (!out_dir && ndirs > 1)
		return vl_error_input(err, "several results merged: say where the report goes "
		                           "with --out DIR");
	if (vl_report_model_load(&model, dirs, ndirs, err) < 0)
		return -1;
	if (!out_dir) {
		if (default_out_dir(dirs[0], dir, sizeof(dir), err) < 0) {
			vl_report_model_free(&model);
			return -1;
		}
		out_dir = dir;
	}
	if (vl_report_view_build(&view, &model, err) < 0) {
		vl_report_model_free(&model);
		return -1;
	}
	if (vl_mkdir_p(out_dir, 0755, err) < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < vl_report_nformats; i++)
		if (formats & vl_report_formats[i].flag)
			rc = write_format(&vl_report_formats[i], &view, out_dir, err);
	vl_report_view_free(&view);
	vl_report_model_free(&model);
	return rc;
}
