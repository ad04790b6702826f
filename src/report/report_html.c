/* report.html: one self-contained page (inline CSS and SVG, no script, no
 * network) that a reader takes in at a glance: warnings first, then the
 * answers, then one chart per figure. */
#include "report/report.h"
#include "report/report_view.h"

#include <math.h>
#include <string.h>

static const char style[] =
        "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2430;"
        "background:#f4f6f9;margin:0}"
        "main{max-width:1000px;margin:0 auto;padding:24px 20px 60px}"
        "h1{font-size:28px;margin:0 0 4px}h2{font-size:21px;margin:36px 0 12px;"
        "border-bottom:2px solid #d5dbe3;padding-bottom:4px}h3{font-size:17px;margin:0}"
        ".lead{color:#556;margin:0 0 16px}"
        ".banner{background:#fff4e0;border:1px solid #e5a84b;border-left:6px solid #d9822b;"
        "border-radius:6px;padding:10px 16px;margin:16px 0}"
        ".banner p{margin:4px 0}.banner strong{color:#8a4b00}"
        "nav ol{columns:2;margin:0;padding-left:20px}nav a{color:#0b5cad}"
        ".card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:16px 18px;"
        "margin:0 0 20px;box-shadow:0 1px 2px rgba(0,0,0,.04)}"
        "figure{margin:0}.aside{color:#556;font-style:italic;margin:0 0 4px}figcaption "
        "p{margin:2px 0 8px;color:#556}"
        "svg.chart{width:100%;height:auto;display:block;margin:6px 0}"
        "svg .grid{stroke:#e4e8ee}svg .grid.zero{stroke:#667}"
        "svg .tick{fill:#556;font-size:11px}svg .axis{fill:#333;font-size:12.5px}svg "
        ".cat{fill:#1d2430}"
        "svg .val{fill:#1d2430;font-size:10.5px}"
        "svg .seg{fill:#fff;font-size:10.5px;font-weight:600;paint-order:stroke;"
        "stroke:rgba(0,0,0,.35);stroke-width:2px}"
        "svg .seg.dim{fill:#1d2430;stroke:rgba(255,255,255,.8)}"
        "svg .err{stroke:#1d2430;stroke-width:1.4;fill:none}"
        "svg .missing{fill:#a33;font-size:11px;font-style:italic}"
        "svg .legend text{fill:#1d2430}"
        "table{border-collapse:collapse;width:100%;font-size:13.5px;margin:8px 0}"
        "th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e8ee;"
        "vertical-align:top}th{background:#eef1f5;font-weight:600}"
        "td.better{color:#1a7f37;font-weight:600}td.worse{color:#b42318;font-weight:600}"
        "td.noise{color:#556;font-style:italic}"
        "dl.answers dt{font-weight:600;margin-top:10px}dl.answers dd{margin:2px 0 0 0}"
        "dd.none{color:#888;font-style:italic}"
        "ul.notes{color:#3d4450;font-size:13.5px;margin:6px 0 0;padding-left:20px}"
        "details summary{cursor:pointer;font-weight:600;margin:6px 0}"
        "footer{color:#778;font-size:13px;margin-top:40px}";

static void esc(FILE *out, const char *s)
{
	vl_xml_escape(out, s);
}

static const char *verdict_class(const char *text)
{
	if (strcmp(text, "worse") == 0)
		return "worse";
	if (strcmp(text, "better") == 0)
		return "better";
	if (strcmp(text, "no significant difference") == 0)
		return "noise";
	return NULL;
}

static void table(FILE *out, const struct vl_report_table *t)
{
	if (!t->nrows)
		return;
	fputs("<table>\n<thead><tr>", out);
	for (size_t c = 0; c < t->ncols; c++) {
		fputs("<th scope=\"col\">", out);
		esc(out, vl_report_cell(t, 0, c));
		fputs("</th>", out);
	}
	fputs("</tr></thead>\n<tbody>\n", out);
	for (size_t r = 1; r <= t->nrows; r++) {
		fputs("<tr>", out);
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = vl_report_cell(t, r, c), *cls = verdict_class(s);
			if (cls)
				fprintf(out, "<td class=\"%s\">", cls);
			else
				fputs(c ? "<td>" : "<th scope=\"row\">", out);
			esc(out, s);
			fputs(c || cls ? "</td>" : "</th>", out);
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
}

static void anchor(FILE *out, const struct vl_report_figure *f)
{
	fputs("fig-", out);
	for (const char *p = f->title; *p; p++)
		fputc((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		                      (*p >= '0' && *p <= '9')
		              ? *p
		              : '-',
		      out);
}

static bool has_bars(const struct vl_chart *c)
{
	for (size_t k = 0; k < c->ncat * c->nser; k++)
		if (!isnan(c->value[k]))
			return true;
	return false;
}

static void notes(FILE *out, const char *const *list, size_t n)
{
	if (!n)
		return;
	fputs("<ul class=\"notes\">", out);
	for (size_t i = 0; i < n; i++) {
		fputs("<li>", out);
		esc(out, list[i]);
		fputs("</li>", out);
	}
	fputs("</ul>\n", out);
}

static void figure(FILE *out, const struct vl_report_figure *f)
{
	fputs("<section class=\"card\"><figure id=\"", out);
	anchor(out, f);
	fputs("\"><figcaption><h3>", out);
	esc(out, f->title);
	fputs("</h3>", out);
	if (f->subtitle) {
		fputs("<p>All rows: ", out);
		esc(out, f->subtitle);
		fputs("</p>", out);
	}
	fputs("</figcaption>\n", out);
	if (f->has_chart && !has_bars(&f->chart)) {
		fputs("<p class=\"aside\">Nothing to draw: no row of this figure ran (see below)."
		      "</p>\n",
		      out);
		table(out, &f->values);
	} else if (f->has_chart) {
		vl_svg_chart_write(out, &f->chart);
		if (f->aside) {
			fputs("<p class=\"aside\">", out);
			esc(out, f->aside);
			fputs(" (in the values below).</p>\n", out);
		}
		fputs("<details><summary>Values (medians with confidence intervals)</summary>\n",
		      out);
		table(out, &f->values);
		fputs("</details>\n", out);
	} else {
		table(out, &f->values);
	}
	if (f->overheads.nrows) {
		fputs("<p class=\"caption\">", out);
		esc(out, f->overheads_caption);
		fputs(":</p>\n", out);
		table(out, &f->overheads);
	}
	notes(out, f->notes, f->nnotes);
	if (f->ndetails) {
		fprintf(out,
		        "<details><summary>%zu more note%s: noisy results and the neighbours"
		        "</summary>\n",
		        f->ndetails, f->ndetails == 1 ? "" : "s");
		notes(out, f->details, f->ndetails);
		fputs("</details>\n", out);
	}
	fputs("</figure></section>\n", out);
}

static void header(FILE *out, const struct vl_report_view *v)
{
	const struct vl_report_model *m = v->model;

	fputs("<h1>virtlab report</h1>\n<p class=\"lead\">KVM, Xen and Linux containers against "
	      "bare metal, from ",
	      out);
	for (size_t i = 0; i < m->nsources; i++) {
		fputs(i ? ", " : "", out);
		esc(out, m->sources[i].path);
	}
	fputs(".</p>\n", out);
	if (v->nwarnings) {
		fputs("<div class=\"banner\" role=\"alert\">", out);
		for (size_t i = 0; i < v->nwarnings; i++) {
			fputs("<p><strong>Warning:</strong> ", out);
			esc(out, v->warnings[i]);
			fputs("</p>", out);
		}
		if (v->nrecorded) {
			fputs("<details><summary>Warnings recorded by the study</summary><ul>",
			      out);
			for (size_t i = 0; i < v->nrecorded; i++) {
				fputs("<li>", out);
				esc(out, v->recorded[i]);
				fputs("</li>", out);
			}
			fputs("</ul></details>", out);
		}
		fputs("</div>\n", out);
	}
	fputs("<nav class=\"card\"><strong>Contents</strong><ol><li><a href=\"#glance\">At a "
	      "glance</a></li><li><a href=\"#answers\">Answers</a></li><li><a href=\"#setup\">"
	      "Host, plan and platforms</a></li>",
	      out);
	for (size_t i = 0; i < v->nfigures; i++) {
		fputs("<li><a href=\"#", out);
		anchor(out, &v->figures[i]);
		fputs("\">", out);
		esc(out, v->figures[i].title);
		fputs("</a></li>", out);
	}
	fputs("<li><a href=\"#features\">Table 5.2: features</a></li></ol></nav>\n", out);
}

int vl_report_write_html(FILE *out, const struct vl_report_view *v, vl_error *err)
{
	(void)err;
	fprintf(out,
	        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	        "<title>virtlab report</title><style>%s</style></head>\n<body><main>\n",
	        style);
	header(out, v);
	if (v->glance.nrows) {
		fputs("<h2 id=\"glance\">At a glance</h2>\n<section class=\"card\">\n", out);
		table(out, &v->glance);
		fputs("</section>\n", out);
	}
	fputs("<h2 id=\"answers\">Answers</h2>\n<section class=\"card\"><dl class=\"answers\">\n",
	      out);
	for (size_t i = 0; i < v->nanswers; i++) {
		bool none = strncmp(v->answers[i].answer, "not measured", 12) == 0;
		fputs("<dt>", out);
		esc(out, v->answers[i].question);
		fprintf(out, "</dt><dd%s>", none ? " class=\"none\"" : "");
		esc(out, v->answers[i].answer);
		fputs(".</dd>\n", out);
	}
	fputs("</dl></section>\n<h2 id=\"setup\">Host, plan and platforms</h2>\n"
	      "<section class=\"card\">\n",
	      out);
	table(out, &v->platforms);
	table(out, &v->host);
	fputs("<details><summary>Plan and experiments</summary>\n", out);
	table(out, &v->plan);
	table(out, &v->experiments);
	fputs("</details></section>\n<h2>Figures</h2>\n", out);
	if (!v->nfigures)
		fputs("<p>No figure rows in the results.</p>\n", out);
	for (size_t i = 0; i < v->nfigures; i++)
		figure(out, &v->figures[i]);
	fputs("<h2 id=\"features\">Table 5.2: Operational features and constraints</h2>\n"
	      "<section class=\"card\">",
	      out);
	if (v->features.nrows)
		table(out, &v->features);
	else
		fputs("<p>Not measured.</p>", out);
	fprintf(out,
	        "</section>\n<footer>Written by virtlab %s from results files only; every "
	        "figure keeps its raw samples in results.json.</footer>\n</main></body></html>\n",
	        VL_VERSION);
	return 0;
}
