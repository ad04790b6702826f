#!/bin/sh
# A kvm lab host for real: `virtlab lab create` builds its image, `start`
# boots it (TCG here), `virtlab info` inside finds a usable /dev/kvm, and the
# lab's own virtlab runs cpu.primes in a qemu guest with -accel kvm (nested).
# stop, destroy, and a `virtlab start` killed with -9 followed by `virtlab
# cleanup`, each leave no qemu process, image or socket behind. Needs root,
# qemu, qemu-img, mkfs.ext4, jq, a Debian kernel and the static agent; exits
# 77 without them. Takes about a minute under TCG.
# Usage: lab_kvm.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT
set -u
VIRTLAB=${1:?usage: lab_kvm.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT}
AGENT=${2:?usage: lab_kvm.sh PATH-TO-VIRTLAB PATH-TO-STATIC-AGENT}

. "$(dirname "$0")/lab_lib.sh"
lab_needs
lab_setup lab-test "virtlab-kvm-$$"

leftovers() {
	lab_check_clean "$1"
	if [ -n "$(ls -A "$VIRTLAB_DATA/guests" 2>/dev/null)" ]; then
		fail "$1: guest files are left: $(ls "$VIRTLAB_DATA/guests")"
	fi
}

expect 0 "lab create" -- "$VIRTLAB" lab create "$LAB" --kind kvm || exit 1
expect 0 "lab start" -- "$VIRTLAB" lab start "$LAB" || exit 1
cat "$TMP/out"
expect 0 "lab list says running" -- "$VIRTLAB" lab list --json
jq -e --arg n "$LAB" '.[] | select(.name == $n) | .status == "running"' "$TMP/out" >/dev/null ||
	fail "lab list: $LAB is not running"

expect 0 "virtlab info in the lab" -- "$VIRTLAB" guest exec "lab-$LAB" -- virtlab info --json
jq -e '.kvm.usable == true' "$TMP/out" >/dev/null ||
	fail "virtlab info in the lab: KVM is not usable: $(jq -c .kvm "$TMP/out")"

# -vv: the nested qemu platform says which accelerator its guest got.
expect 0 "cpu.primes in a qemu guest inside the lab" -- "$VIRTLAB" guest exec "lab-$LAB" \
	--timeout 600 -- virtlab -vv run cpu.primes --platform qemu -p time=1 --repeat 2 \
	--warmup 0 --json
jq -e '.platform == "qemu" and (.samples | length == 2) and
	all(.samples[]; .status == "ok" and .metrics.events_per_sec > 0)' "$TMP/out" >/dev/null ||
	fail "nested cpu.primes: not two good samples"
grep 'agent answered' "$TMP/err"
grep -q 'agent answered .* (kvm)' "$TMP/err" || fail "the nested guest did not run under kvm"

expect 0 "lab stop" -- "$VIRTLAB" lab stop "$LAB"
if qemu_of_lab >/dev/null; then fail "lab stop: qemu is still running"; fi
if [ -n "$(find "$TMP" -type s 2>/dev/null)" ]; then fail "lab stop: a socket is left"; fi
expect 0 "lab destroy" -- "$VIRTLAB" lab destroy "$LAB"
leftovers "lab destroy"

# A crash: the virtlab that starts the lab is killed once qemu runs.
expect 0 "lab create again" -- "$VIRTLAB" lab create "$LAB" --kind kvm || exit 1
"$VIRTLAB" lab start "$LAB" >/dev/null 2>&1 &
starter=$!
for _ in $(seq 1 300); do
	if qemu_of_lab >/dev/null; then break; fi
	sleep 0.1
done
qemu_of_lab >/dev/null || fail "qemu of the lab never started"
kill -9 "$starter"
wait "$starter" 2>/dev/null
expect 0 "virtlab cleanup after kill -9" -- "$VIRTLAB" cleanup "lab-$LAB"
leftovers "cleanup after kill -9"

lab_done "all lab checks passed"
