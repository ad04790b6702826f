#!/bin/sh
# report.html as a reader's browser shows it: renders a report of the
# hand-written results in headless Chromium, checks that every chart is in the
# DOM with bars of non-zero size, and keeps a screenshot as an artifact.
# No root needed. Usage: report_chromium.sh VIRTLAB RESULTS-DIR ARTIFACT-DIR
set -u
VIRTLAB=${1:?usage: report_chromium.sh VIRTLAB RESULTS-DIR ARTIFACT-DIR}
DATA=${2:?usage: report_chromium.sh VIRTLAB RESULTS-DIR ARTIFACT-DIR}
ARTIFACTS=${3:?usage: report_chromium.sh VIRTLAB RESULTS-DIR ARTIFACT-DIR}

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	echo "SKIP: chromium is not installed (scripts/deps installs Debian's chromium)"
	exit 77
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP: python3 is not installed (scripts/deps installs it)"
	exit 77
fi

TMP=$(mktemp -d /tmp/virtlab-report-chromium.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# chromium_run ARGS...: headless, nothing fetched, a profile of its own.
chromium_run() {
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$TMP/profile" "$@" 2>>"$TMP/chromium.log"
}

if ! "$VIRTLAB" report "$DATA" --out "$TMP/out" >"$TMP/report.out" 2>"$TMP/report.err"; then
	fail "virtlab report: $(cat "$TMP/report.err")"
	exit 1
fi
PAGE="file://$TMP/out/report.html"

chromium_run --dump-dom "$PAGE" >"$TMP/dom.html" || fail "chromium --dump-dom failed: $(tail -3 "$TMP/chromium.log")"
chromium_run --screenshot="$TMP/report.png" --window-size=1280,4000 "$PAGE" >/dev/null ||
	fail "chromium --screenshot failed: $(tail -3 "$TMP/chromium.log")"

# The DOM as the browser built it: as many charts as the page has figures,
# each with an accessible title and bars of positive height.
python3 - "$TMP/out/report.html" "$TMP/dom.html" <<'PY' || failures=$((failures + 1))
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
dom = open(sys.argv[2], encoding="utf-8").read()
figures = re.findall(r'<h3>(Figure [^<]*)</h3>', page)
charts = re.findall(r'<svg\b.*?</svg>', dom, re.S)
bad = 0
if not figures or len(charts) != len(figures):
    print(f"FAIL: {len(figures)} figures in the page but {len(charts)} charts in the DOM")
    bad = 1
for chart in charts:
    title = re.search(r'<title id="[^"]*">([^<]*)</title>', chart)
    name = title.group(1) if title else "(untitled chart)"
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]*height="([0-9.]+)"', chart)]
    if not title:
        print("FAIL: a chart without an accessible title")
        bad = 1
    if not heights or max(heights) <= 0:
        print(f"FAIL: {name}: no bars")
        bad = 1
    else:
        print(f"ok: {name}: {len(heights)} bars")
sys.exit(bad)
PY

# A blank page compresses to almost nothing; a drawn one does not.
size=$(stat -c %s "$TMP/report.png" 2>/dev/null || echo 0)
[ "$size" -gt 50000 ] || fail "screenshot is $size bytes: nothing drawn?"
cp "$TMP/report.png" "$ARTIFACTS/report_chromium.png" 2>/dev/null &&
	cp "$TMP/out/report.html" "$ARTIFACTS/report_chromium.html" &&
	echo "screenshot: $ARTIFACTS/report_chromium.png"

[ "$failures" -eq 0 ] || exit 1
echo "ok: report.html renders in $("$CHROMIUM" --version 2>/dev/null)"
