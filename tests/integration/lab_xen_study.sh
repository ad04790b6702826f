#!/bin/sh
# The study on a xen lab host, end to end: `virtlab study --host
# xenlab=lab:xen --platforms bare,container,xen@xenlab` boots a Xen dom0 under
# QEMU (TCG here), runs the cpu and operations experiments for Xen PV domains
# made by virtlab's xen platform inside it against the dom0's own bare, and
# merges them with this machine's bare and container into one report with a
# Xen row. Then a study killed with SIGKILL while the lab runs, followed by
# `virtlab cleanup`, and `virtlab lab destroy`, leave no qemu process, image or
# socket. Needs root, qemu, qemu-img, mkfs.ext4, jq, a Debian kernel, Debian's
# Xen 4.17 (scripts/deps, group lab) and the static agent; exits 77 without
# them. Takes minutes.
# Usage: lab_xen_study.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT
set -u
VIRTLAB=${1:?usage: lab_xen_study.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT}
AGENT=${2:?usage: lab_xen_study.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT}

. "$(dirname "$0")/lab_lib.sh"
lab_needs
for file in /boot/xen-4.17-amd64.gz /usr/lib/xen-4.17/bin/xl /usr/libexec/xen-qemu-system-i386; do
	if ! [ -e "$file" ]; then
		echo "SKIP: needs $file (scripts/deps lab: xen-hypervisor-4.17-amd64 xen-utils-4.17 qemu-system-xen)"
		exit 77
	fi
done
lab_setup xenstudy-test xenlab
OUT="$TMP/study"

expect 0 "study with xen@xenlab" -- "$VIRTLAB" study --host "$LAB=lab:xen" \
	--platforms "bare,container,xen@$LAB" --experiments cpu,operations --repeat 1 --out "$OUT"
grep -E 'host|warning: .*xen' "$TMP/err"
jq -e --arg h "$LAB" '.hosts[$h].status == "done"' "$OUT/results.json" >/dev/null ||
	fail "host $LAB did not finish: $(jq -c --arg h "$LAB" '.hosts[$h].reason' "$OUT/results.json")"
# Measured rows (operations under TCG are often too noisy to converge:
# "untrustworthy" still carries the samples); a failed row is an error, and a
# failed cpu.primes check would be one.
for exp in cpu operations; do
	jq -e --arg p "xen@$LAB" --arg e "$exp" '[.experiments[$e].rows[] | select(.platform == $p and
		(.status == "ok" or .status == "untrustworthy"))] | length > 0' \
		"$OUT/results.json" >/dev/null || fail "no measured $exp rows for xen@$LAB"
	jq -e --arg p "xen@$LAB" --arg e "$exp" \
		'[.experiments[$e].rows[] | select(.platform == $p and .status == "failed")] | length == 0' \
		"$OUT/results.json" >/dev/null || fail "failed $exp rows for xen@$LAB: $(jq -c --arg p "xen@$LAB" \
		--arg e "$exp" '[.experiments[$e].rows[] | select(.platform == $p and .status == "failed") |
		.reason]' "$OUT/results.json")"
done
for p in bare container; do
	jq -e --arg p "$p" '[.experiments.cpu.rows[] | select(.platform == $p)] | length > 0' \
		"$OUT/results.json" >/dev/null || fail "no cpu rows for this machine's $p"
done
grep -q "xen@$LAB" "$OUT/report.md" 2>/dev/null || fail "report.md has no xen@$LAB row"
jq -r --arg p "xen@$LAB" '.experiments.operations.rows[] | select(.platform == $p) |
	"\(.platform) \(.variant): median \(.summary.median // "-") s"' "$OUT/results.json"

expect 0 "lab destroy" -- "$VIRTLAB" lab destroy "$LAB"
lab_check_clean "after lab destroy"

# SIGKILL while the lab runs a Xen domain: cleanup must still release it all.
"$VIRTLAB" study --host "$LAB=lab:xen" --platforms "bare,xen@$LAB" --experiments operations \
	--repeat 1 --out "$TMP/killed" >"$TMP/killed.log" 2>&1 &
study=$!
waited=0
until qemu_of_lab >/dev/null || [ $waited -ge 300 ]; do
	sleep 1
	waited=$((waited + 1))
done
# The lab's dom0 boots in about 10 s, its bare operations take seconds more;
# by then its study is making Xen domains.
sleep 60
kill -9 "$study"
wait "$study" 2>/dev/null
qemu_of_lab >/dev/null || fail "the lab was not running when its study was killed"
# By name: a host-wide cleanup would also judge other runs' cgroups on a
# shared machine (and keep them, exit 1).
expect 0 "cleanup after SIGKILL" -- "$VIRTLAB" cleanup "lab-$LAB"
lab_check_clean "after SIGKILL and cleanup"

lab_done "all xen lab study checks passed"
