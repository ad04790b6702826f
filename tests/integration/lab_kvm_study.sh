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

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (qemu's cgroup, the lab's state)"
	exit 77
fi
for tool in qemu-system-x86_64 qemu-img mkfs.ext4 jq; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: needs $tool (scripts/deps installs it)"
		exit 77
	fi
done
if ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
	echo "SKIP: needs a Debian kernel in /boot (linux-image-amd64)"
	exit 77
fi
if ! [ -x "$AGENT" ] || ldd "$AGENT" >/dev/null 2>&1; then
	echo "SKIP: needs the static agent (sanitized builds have none)"
	exit 77
fi

TMP=$(mktemp -d /tmp/virtlab-labstudy-test-XXXXXX)
export VIRTLAB_STATE="$TMP/state" VIRTLAB_DATA="$TMP/data" VIRTLAB_AGENT="$AGENT"
LAB="kvmlab"
OUT="$TMP/study"
. "$(dirname "$0")/lib.sh"

qemu_of_lab() {
	pgrep -f -- "-name virtlab-lab-$LAB .*$TMP"
}

finish() {
	"$VIRTLAB" cleanup "lab-$LAB" >/dev/null 2>&1
	pids=$(qemu_of_lab)
	if [ -n "$pids" ]; then kill -9 $pids; fi
	rm -rf "$TMP"
}
trap finish EXIT
trap 'exit 130' INT TERM

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
if qemu_of_lab >/dev/null; then fail "a qemu process of the lab is left"; fi
if [ -n "$(find "$TMP/state" "$TMP/data" -type s 2>/dev/null)" ]; then fail "a socket is left"; fi
if ls "$VIRTLAB_DATA"/images/lab-* >/dev/null 2>&1; then fail "the lab image is left"; fi
if [ -e "$VIRTLAB_STATE/guests/lab-$LAB" ]; then fail "the lab's record is left"; fi

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all lab study checks passed"
