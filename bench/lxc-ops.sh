#!/bin/bash
# LXC's operations timed two ways on the same machine, interleaved round by
# round (alternating which goes first) so that both see the same host load:
#   virtlab  the study's operations experiment on the lxc platform, one round
#            per `virtlab study -e operations --set operations.repeat=1`: the
#            figures the study reports, each timed in-process around the
#            platform's call (start and reboot end at the agent's hello);
#   lxc-*    LXC's own commands, on the same life cycle as the experiment's
#            round: a fresh guest that virtlab provisions (untimed), cloned
#            before it first starts (lxc-copy -s -B overlayfs, lxc-copy -B
#            dir; each clone then removed, untimed), lxc-start (it returns
#            once the container is RUNNING; then until the agent's socket
#            appears, as below), a reboot, lxc-stop, lxc-destroy.
# Reboot is a stop and a start on both sides: LXC reboots a container in
# place only when its init dies of SIGHUP (a reboot(2) in its PID
# namespace), and virtlab's init, the agent, exits instead (docs/design.md).
#
# Each lxc-* figure is given twice: whole (from bash's fork to the program's
# exit) and without the program's start-up, i.e. less the time each lxc-*
# program spends outside main(): execve, the dynamic linker loading and
# relocating liblxc and its libraries, and the process's teardown. An
# in-process call pays none of that, and it is the same for any program, so
# the comparison of the operations is the second column; the first is what
# a user of the commands waits. The time in main() comes from
# bench/main_timer.c, preloaded into the lxc-* programs (and only them).
# Times come from bash's $EPOCHREALTIME: no process is forked to read the
# clock.
# Prints every round, then the median [min, max] of each operation and the
# ratios virtlab / lxc-*.
# Usage: bench/lxc-ops.sh [BUILD_DIR] [ROUNDS]   (root; default build, 5)
# Time it alone: flock /tmp/virtlab-measure.lock bench/lxc-ops.sh ...
set -eu

. "$(dirname "$0")/lib.sh"
bench_init lxc-ops.sh 5 5 "LXC's privileged containers" "$@"
lg="virtlab-bench-lxcref"
for tool in lxc-start lxc-stop lxc-copy lxc-destroy rsync jq; do
	command -v "$tool" >/dev/null || fail "no $tool (scripts/deps test installs it)"
done
timer=$(realpath "$build/libvirtlab-bench-main-timer.so" 2>/dev/null) ||
	fail "no $build/libvirtlab-bench-main-timer.so: build first (ninja -C $build)"

tmp=$(mktemp -d /tmp/virtlab-bench-lxc.XXXXXX)
# The state root on a tmpfs, as /run is on a Debian host (on a disk mounted
# with discard, every replaced record costs a synchronous discard); the
# guests' data, LXC's containers among it, on disk.
state=$(mktemp -d /dev/shm/virtlab-bench-lxc.XXXXXX)
export VIRTLAB_STATE="$state" VIRTLAB_DATA="$tmp/data" VIRTLAB_AGENT="$build/virtlab-agent"
export VIRTLAB_BENCH_MAIN_LOG="$tmp/main.log"
lxcpath="$VIRTLAB_DATA/guests"
# virtlab's destroy also releases what lxc-start left (the monitor's pivot
# cgroup) and what lxc-destroy did not know of (virtlab's records).
forget_guest() {
	lxc-stop -P "$lxcpath" -n "$lg" -k >/dev/null 2>&1 || true
	"$virtlab" -q guest destroy "$lg" >/dev/null 2>&1 || true
	"$virtlab" -q cleanup "$lg" >/dev/null 2>&1 || true
}
cleanup() {
	for c in "$lg-snap" "$lg-full"; do
		lxc-destroy -P "$lxcpath" -n "$c" >/dev/null 2>&1 || true
	done
	forget_guest
	rm -rf "$tmp" "$state" "/run/lxc/lock$tmp"
	rmdir /run/lxc/lock/tmp 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A sleep of 0.2 ms without a fork: a read that times out on an empty pipe.
exec {idle}<> <(:)
nap() { read -r -t 0.0002 -u "$idle" _ || true; }

# lxc PROGRAM ARG...: runs an lxc-* program with the timer preloaded and
# keeps its wall time ("start end" in s) in $walls for timed's accounting.
walls=()
lxc() {
	local t0=$EPOCHREALTIME
	LD_PRELOAD="$timer" "$@" -P "$lxcpath" >/dev/null || return 1
	walls+=("$t0 $EPOCHREALTIME")
}

# timed OP FUNCTION ARG...: runs the lxc-* side of OP and appends its wall
# time in ms to lxc.OP, and that time less its programs' time outside main()
# to net.OP.
timed() {
	local op=$1 t0 t1 outside
	shift
	walls=()
	: >"$VIRTLAB_BENCH_MAIN_LOG"
	t0=$EPOCHREALTIME
	"$@" || fail "the lxc-* side of $op ($*) failed"
	t1=$EPOCHREALTIME
	mapfile -t mains <"$VIRTLAB_BENCH_MAIN_LOG"
	[ "${#mains[@]}" = "${#walls[@]}" ] ||
		fail "$op: ${#walls[@]} lxc-* programs ran but ${#mains[@]} reported their time in main()"
	outside=$(printf '%s\n' "${walls[@]}" | paste -d' ' - "$VIRTLAB_BENCH_MAIN_LOG" |
		awk '{ s += ($2 - $1) * 1000 - $3 } END { print s }')
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$tmp/lxc.$op"
	awk -v a="$t0" -v b="$t1" -v o="$outside" 'BEGIN { printf "%.3f\n", (b - a) * 1000 - o }' \
		>>"$tmp/net.$op"
	printf '%s\n' "$outside" >>"$tmp/outside"
}

# virtlab's start ends when the agent answers; lxc-start returns when LXC has
# exec'd the init (RUNNING), before the agent listens (and before it handles
# SIGTERM: a stop sent then is ignored by the PID-1 agent, and lxc-stop waits
# 60 s before SIGKILL). So the lxc-* start and reboot end, timed, when the
# agent's socket appears.
agent_up() {
	local n=0
	while [ ! -S "$lxcpath/$lg/channel/agent.sock" ]; do
		n=$((n + 1))
		[ "$n" -le 50000 ] || fail "the agent of $lg never made its socket"
		nap
	done
}
lxc_start() { lxc lxc-start -n "$lg" && agent_up; }
lxc_stop() { lxc lxc-stop -n "$lg"; }
lxc_reboot() { lxc_stop && lxc_start; }

# Warm up: the golden image, the page cache, LXC's first-start work.
"$virtlab" -q study -P lxc -e operations --set operations.repeat=1 --no-report \
	-o "$tmp/warmup" >/dev/null 2>&1 || fail "the warm-up study failed"
"$virtlab" -q guest create "$lg" --platform lxc
lxc_start
lxc_stop
forget_guest

# The operations experiment's names; lxc-*'s counterparts below.
ops="start reboot stop clone-cow clone-full destroy"
for op in $ops; do : >"$tmp/virtlab.$op" && : >"$tmp/lxc.$op" && : >"$tmp/net.$op"; done
: >"$tmp/outside"

# One round of every operation on one side; virtlab's ends with its guest
# destroyed, as lxc-*'s does.
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
	"$virtlab" -q guest create "$lg" --platform lxc || fail "virtlab guest create $lg failed"
	timed clone-cow lxc lxc-copy -n "$lg" -N "$lg-snap" -s -B overlayfs
	lxc-destroy -P "$lxcpath" -n "$lg-snap" >/dev/null || fail "lxc-destroy $lg-snap failed"
	timed clone-full lxc lxc-copy -n "$lg" -N "$lg-full" -B dir
	lxc-destroy -P "$lxcpath" -n "$lg-full" >/dev/null || fail "lxc-destroy $lg-full failed"
	timed start lxc_start
	timed reboot lxc_reboot
	timed stop lxc_stop
	timed destroy lxc lxc-destroy -n "$lg"
	forget_guest
}

last() { printf %.1f "$(tail -n1 "$1")"; }
i=1
while [ "$i" -le "$rounds" ]; do
	if [ $((i % 2)) = 1 ]; then order="virtlab lxc"; else order="lxc virtlab"; fi
	for side in $order; do "round_$side"; done
	line="round $i:"
	for op in $ops; do
		line="$line $op $(last "$tmp/virtlab.$op")/$(last "$tmp/lxc.$op")/$(last "$tmp/net.$op");"
	done
	echo "$line ms (virtlab/lxc-*/lxc-* in main)"
	i=$((i + 1))
done

echo "median [min, max] in ms of $rounds rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "an lxc-* program's time outside main(): $(summary "$tmp/outside" ms 2)"
printf '  %-11s %-22s %-22s %-22s %-8s %s\n' operation virtlab "lxc-*" "lxc-*, in main()" \
	ratio "ratio to in main()"
outside=0
outside_main=0
ratio() { awk -v v="$1" -v l="$2" 'BEGIN { printf "%.2f", v / l }'; }
within() { awk -v r="$1" 'BEGIN { exit !(r >= 0.8 && r <= 1.2) }'; }
for op in $ops; do
	v=$(median "$tmp/virtlab.$op")
	r=$(ratio "$v" "$(median "$tmp/lxc.$op")")
	rm=$(ratio "$v" "$(median "$tmp/net.$op")")
	within "$r" || { outside=$((outside + 1)) && r="$r*"; }
	within "$rm" || { outside_main=$((outside_main + 1)) && rm="$rm*"; }
	printf '  %-11s %-22s %-22s %-22s %-8s %s\n' "$op" \
		"$(median "$tmp/virtlab.$op" 1) $(range "$tmp/virtlab.$op")" \
		"$(median "$tmp/lxc.$op" 1) $(range "$tmp/lxc.$op")" \
		"$(median "$tmp/net.$op" 1) $(range "$tmp/net.$op")" "$r" "$rm"
done
n=$(echo "$ops" | wc -w)
echo "outside 20% (*): $outside of $n against the whole lxc-* programs," \
	"$outside_main of $n against their time in main()"
