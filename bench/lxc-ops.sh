#!/bin/sh
# LXC's operations timed two ways on the same machine, interleaved round by
# round (alternating which goes first) so that both see the same host load:
#   virtlab  the study's operations experiment on the lxc platform, one round
#            per `virtlab study -e operations --set operations.repeat=1`: the
#            figures the study reports, each timed in-process around the
#            platform's call (start and reboot end at the agent's hello);
#   lxc-*    LXC's own commands on a guest of the same configuration, which
#            virtlab made but never starts: lxc-start + lxc-wait -s RUNNING
#            (then until the agent's socket appears, as below), lxc-stop,
#            lxc-copy -s -B overlayfs (and -B dir for the full copy),
#            lxc-destroy; each a whole program, start-up included.
# Reboot is a stop and a start on both sides: LXC reboots a container in
# place only when its init dies of SIGHUP (a reboot(2) in its PID
# namespace), and virtlab's init, the agent, exits instead (docs/design.md).
# Each lxc-* figure includes the start-up of its programs (liblxc loaded,
# the container's configuration parsed), which an in-process call does not
# pay; every round also times `lxc-info -s` on the same container to show
# that cost (lxc-start + lxc-wait pay it twice, reboot three times), which
# weighs on the operations of a few milliseconds.
# Prints every round, then the median [min, max] of each operation and the
# ratio virtlab / lxc-*.
# Usage: bench/lxc-ops.sh [BUILD_DIR] [ROUNDS]   (root; default build, 5)
# Time it alone: flock /tmp/virtlab-measure.lock bench/lxc-ops.sh ...
set -eu

. "$(dirname "$0")/lib.sh"
bench_init lxc-ops.sh 5 5 "LXC's privileged containers" "$@"
lg="virtlab-bench-lxcref"
for tool in lxc-start lxc-wait lxc-stop lxc-copy lxc-destroy rsync jq; do
	command -v "$tool" >/dev/null || fail "no $tool (scripts/deps test installs it)"
done

tmp=$(mktemp -d /tmp/virtlab-bench-lxc.XXXXXX)
# The state root on a tmpfs, as /run is on a Debian host (on a disk mounted
# with discard, every replaced record costs a synchronous discard); the
# guests' data, LXC's containers among it, on disk.
state=$(mktemp -d /dev/shm/virtlab-bench-lxc.XXXXXX)
export VIRTLAB_STATE="$state" VIRTLAB_DATA="$tmp/data" VIRTLAB_AGENT="$build/virtlab-agent"
lxcpath="$VIRTLAB_DATA/guests"
cleanup() {
	for c in "$lg-snap" "$lg-full"; do
		lxc-destroy -P "$lxcpath" -n "$c" >/dev/null 2>&1 || true
	done
	lxc-stop -P "$lxcpath" -n "$lg" -k >/dev/null 2>&1 || true
	# A start by virtlab releases what lxc-start left (the monitor's pivot
	# cgroup); the destroy releases the rest.
	"$virtlab" -q guest start "$lg" >/dev/null 2>&1 || true
	"$virtlab" -q guest destroy "$lg" >/dev/null 2>&1 || true
	"$virtlab" -q cleanup "$lg" >/dev/null 2>&1 || true
	rm -rf "$tmp" "$state" "/run/lxc/lock$tmp"
	rmdir /run/lxc/lock/tmp 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs "$@" and prints its wall time in milliseconds; a failure ends the run.
timed() {
	t0=$(now)
	"$@" >/dev/null || fail "'$*' failed"
	awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
}

lxc_start() { lxc-start -P "$lxcpath" -n "$lg" && lxc-wait -P "$lxcpath" -n "$lg" -s RUNNING; }
lxc_stop() { lxc-stop -P "$lxcpath" -n "$lg"; }
lxc_start_agent() { lxc_start && agent_up; }
lxc_reboot() { lxc_stop && lxc_start && agent_up; }
# virtlab's start ends when the agent answers; lxc-wait's RUNNING comes when
# LXC has exec'd the init, before the agent listens (and before it handles
# SIGTERM: a stop sent then is ignored by the PID-1 agent, and lxc-stop waits
# 60 s before SIGKILL). So the lxc-* start and reboot end, timed, when the
# agent's socket appears, polled every millisecond.
agent_up() {
	n=0
	while [ ! -S "$lxcpath/$lg/channel/agent.sock" ]; do
		n=$((n + 1))
		[ "$n" -le 10000 ] || fail "the agent of $lg never made its socket"
		sleep 0.001
	done
}

"$virtlab" -q guest create "$lg" --platform lxc
# Warm up: the golden image, the page cache, LXC's first-start work.
"$virtlab" -q study -P lxc -e operations --set operations.repeat=1 --no-report \
	-o "$tmp/warmup" >/dev/null 2>&1 || fail "the warm-up study failed"
lxc_start
agent_up
lxc_stop

# The operations experiment's names; lxc-*'s counterparts below.
ops="start reboot stop clone-cow clone-full destroy"
for side in virtlab lxc; do
	for op in $ops; do : >"$tmp/$side.$op"; done
done

# One round of every operation on one side; the guest is stopped before and after.
round_virtlab() {
	out="$tmp/study.$i"
	"$virtlab" -q study -P lxc -e operations --set operations.repeat=1 --no-report \
		-o "$out" >/dev/null 2>&1 || fail "virtlab study failed (see $out)"
	for op in $ops; do
		jq -r --arg v "op=$op" '.experiments.operations.rows[] |
			select(.platform == "lxc" and .variant == $v) | .samples[0] * 1000' \
			"$out/results.json" >>"$tmp/virtlab.$op"
	done
}

round_lxc() {
	timed lxc-info -P "$lxcpath" -n "$lg" -s >>"$tmp/lxc.startup"
	timed lxc_start_agent >>"$tmp/lxc.start"
	timed lxc_reboot >>"$tmp/lxc.reboot"
	timed lxc_stop >>"$tmp/lxc.stop"
	timed lxc-copy -P "$lxcpath" -n "$lg" -N "$lg-snap" -s -B overlayfs >>"$tmp/lxc.clone-cow"
	timed lxc-copy -P "$lxcpath" -n "$lg" -N "$lg-full" -B dir >>"$tmp/lxc.clone-full"
	lxc-destroy -P "$lxcpath" -n "$lg-full" >/dev/null || fail "lxc-destroy $lg-full failed"
	timed lxc-destroy -P "$lxcpath" -n "$lg-snap" >>"$tmp/lxc.destroy"
}

i=1
while [ "$i" -le "$rounds" ]; do
	if [ $((i % 2)) = 1 ]; then order="virtlab lxc"; else order="lxc virtlab"; fi
	for side in $order; do "round_$side"; done
	line="round $i:"
	for op in $ops; do
		line="$line $op $(tail -n1 "$tmp/virtlab.$op" | cut -d. -f1)/$(tail -n1 "$tmp/lxc.$op" | cut -d. -f1) ms;"
	done
	echo "$line"
	i=$((i + 1))
done

startup=$(median "$tmp/lxc.startup")
echo "median [min, max] in ms of $rounds rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "an lxc-* program's start-up (lxc-info -s): $startup $(range "$tmp/lxc.startup")"
printf '  %-11s %-22s %-22s %s\n' operation virtlab "lxc-*" "virtlab/lxc-*"
outside=0
for op in $ops; do
	v=$(median "$tmp/virtlab.$op")
	l=$(median "$tmp/lxc.$op")
	ratio=$(awk -v v="$v" -v l="$l" 'BEGIN { printf "%.2f", v / l }')
	flag=""
	if ! awk -v r="$ratio" 'BEGIN { exit !(r >= 0.8 && r <= 1.2) }'; then
		flag=" (outside 20%)"
		outside=$((outside + 1))
	fi
	printf '  %-11s %-22s %-22s %s%s\n' "$op" "$(printf %.1f "$v") $(range "$tmp/virtlab.$op")" \
		"$l $(range "$tmp/lxc.$op")" "$ratio" "$flag"
done
echo "$outside of $(echo "$ops" | wc -w) operations outside 20%"
