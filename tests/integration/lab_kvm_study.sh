#!/bin/sh
# The study on a kvm lab host, end to end: `virtlab study --host
# kvmlab=lab:kvm --platforms bare,qemu@kvmlab` boots the lab (TCG here), runs
# the cpu experiment for qemu with -accel kvm inside it against the lab's own
# bare, fetches its results and merges them with this machine's bare into one
# report, which names the host. Then `virtlab lab destroy` leaves no qemu
# process, image or socket. Needs root, qemu, qemu-img, mkfs.ext4, jq, a
# Debian kernel and the static agent; exits 77 without them. Takes minutes.
# Usage: lab_kvm_study.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT
set -u
VIRTLAB=${1:?usage: lab_kvm_study.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT}
AGENT=${2:?usage: lab_kvm_study.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT}

. "$(dirname "$0")/lab_lib.sh"
lab_needs
lab_setup labstudy-test kvmlab
OUT="$TMP/study"

expect 0 "study with qemu@kvmlab" -- "$VIRTLAB" study --host "$LAB=lab:kvm" \
	--platforms "bare,qemu@$LAB" --experiments cpu --repeat 1 --out "$OUT"
grep -E 'host|warning' "$TMP/err"
if ! jq -e --arg h "$LAB" '.hosts[$h].status == "done"' "$OUT/results.json" >/dev/null; then
	fail "host $LAB did not finish: $(jq -c --arg h "$LAB" '.hosts[$h].reason' "$OUT/results.json")"
	echo "the lab's console and qemu's log:"
	tail -30 "$VIRTLAB_STATE/guests/lab-$LAB/console.log"
	tail -5 "$VIRTLAB_STATE/guests/lab-$LAB/qemu.log"
fi
jq -e --arg p "qemu@$LAB" '[.experiments.cpu.rows[] | select(.platform == $p)] | length > 0' \
	"$OUT/results.json" >/dev/null || fail "no cpu rows for qemu@$LAB"
jq -e '[.experiments.cpu.rows[] | select(.platform == "bare")] | length > 0' \
	"$OUT/results.json" >/dev/null || fail "no cpu rows for this machine's bare"
grep -q "qemu@$LAB" "$OUT/report.md" 2>/dev/null || fail "report.md does not show qemu@$LAB"

expect 0 "lab destroy" -- "$VIRTLAB" lab destroy "$LAB"
lab_check_clean "after lab destroy"

lab_done "all lab study checks passed"
