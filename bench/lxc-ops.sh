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
#            once the container is RUNNING; then until the agent answers
#            hello, as below), a reboot, lxc-stop, lxc-destroy.
# Reboot is a stop and a start on both sides: LXC reboots a container in
# place only when its init dies of SIGHUP (a reboot(2) in its PID
# namespace), and virtlab's init, the agent, exits instead (docs/design.md).
#
# Each lxc-* figure is given three ways:
#   whole          from bash's fork to the program's exit: what a user of the
#                  commands waits;
#   less start-up  less each program's time before main(): fork, execve, the
#                  dynamic linker loading and relocating liblxc and its
#                  libraries (the same for any program, and never paid by an
#                  in-process call);
#   in main()      less its time after exit() too (the last destructors, the
#                  kernel's teardown of the process). This over-corrects
#                  where the guest's own work goes on meanwhile: lxc-start
#                  exits while the agent boots, lxc-stop while LXC's monitor
#                  tears the container down, and a reboot's lxc-start loads
#                  while the stopped container's namespaces are released.
# virtlab's figures are in-process, so "less start-up" is the comparison of
# the operations. The times before and after main() come from
# bench/main_timer.c, preloaded into the lxc-* programs (and only them).
# Times come from bash's $EPOCHREALTIME: no process is forked to read the
# clock.
# Prints every round, then the median [min, max] of each operation, and the
# median and quartiles of the rounds' ratios virtlab / lxc-*.
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
hello="$build/virtlab-bench-agent-hello"
[ -x "$hello" ] || fail "no $hello: build first (ninja -C $build)"

tmp=$(mktemp -d /tmp/virtlab-bench-lxc.XXXXXX)
# The state root on a tmpfs, as /run is on a Debian host (on a disk mounted
# with discard, every replaced record costs a synchronous discard); the
# guests' data, LXC's containers among it, on disk.
state=$(mktemp -d /dev/shm/virtlab-bench-lxc.XXXXXX)
export VIRTLAB_STATE="$state" VIRTLAB_DATA="$tmp/data" VIRTLAB_AGENT="$build/virtlab-agent"
export VIRTLAB_BENCH_MAIN_LOG="$tmp/main.log"
lxcpath="$VIRTLAB_DATA/guests"
# virtlab's destroy also releases what lxc-destroy did not know of (virtlab's
# records) and the group LXC's monitors pass through at a stop.
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

# lxc PROGRAM ARG...: runs an lxc-* program with the timer preloaded and
# keeps its wall time ("start end" in s) in $walls for timed's accounting.
walls=()
lxc() {
	local t0=$EPOCHREALTIME
	LD_PRELOAD="$timer" "$@" -P "$lxcpath" >/dev/null || return 1
	walls+=("$t0 $EPOCHREALTIME")
}

# timed OP FUNCTION ARG...: runs the lxc-* side of OP and appends its wall
# time in ms to lxc.OP, that time less its programs' time before main() to
# pre.OP, and less their time after exit() too to net.OP.
timed() {
	local op=$1 t0 t1 before after
	shift
	walls=()
	: >"$VIRTLAB_BENCH_MAIN_LOG"
	t0=$EPOCHREALTIME
	"$@" || fail "the lxc-* side of $op ($*) failed"
	t1=$EPOCHREALTIME
	mapfile -t mains <"$VIRTLAB_BENCH_MAIN_LOG"
	[ "${#mains[@]}" = "${#walls[@]}" ] ||
		fail "$op: ${#walls[@]} lxc-* programs ran but ${#mains[@]} reported their time in main()"
	# "fork exit main exit()" per program, in s.
	read -r before after < <(printf '%s\n' "${walls[@]}" |
		paste -d' ' - "$VIRTLAB_BENCH_MAIN_LOG" |
		awk '{ b += ($3 - $1) * 1000; a += ($2 - $4) * 1000 } END { print b, a }')
	awk -v a="$t0" -v b="$t1" -v pre="$before" -v post="$after" -v d="$tmp" -v op="$op" '
		BEGIN { w = (b - a) * 1000
		        printf "%.3f\n", w >>(d "/lxc." op)
		        printf "%.3f\n", w - pre >>(d "/pre." op)
		        printf "%.3f\n", w - pre - post >>(d "/net." op) }'
	n=${#walls[@]}
	awk -v b="$before" -v n="$n" 'BEGIN { printf "%.3f\n", b / n }' >>"$tmp/before"
	awk -v a="$after" -v n="$n" 'BEGIN { printf "%.3f\n", a / n }' >>"$tmp/after"
}

# virtlab's start ends when the agent answers hello; lxc-start returns when
# LXC has exec'd the init (RUNNING), before the agent listens (and before it
# handles SIGTERM: a stop sent then is ignored by the PID-1 agent, and
# lxc-stop waits 60 s before SIGKILL). So the lxc-* start and reboot end,
# timed, when the agent answers hello too, asked by bench/agent_hello.c
# (virtlab's agent client), started here once, untimed.
coproc HELLO { "$hello"; }
agent_up() {
	local reply
	echo "$lxcpath/$lg/channel/agent.sock" >&"${HELLO[1]}"
	read -r reply <&"${HELLO[0]}" || fail "bench/agent_hello.c ended"
	[ "$reply" = ok ] || fail "the agent of $lg did not answer: $reply"
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
for op in $ops; do
	for side in virtlab lxc pre net; do : >"$tmp/$side.$op"; done
done
: >"$tmp/before"
: >"$tmp/after"

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
sides="virtlab lxc pre net"
i=1
while [ "$i" -le "$rounds" ]; do
	if [ $((i % 2)) = 1 ]; then order="virtlab lxc"; else order="lxc virtlab"; fi
	for side in $order; do "round_$side"; done
	line="round $i:"
	for op in $ops; do
		fig=""
		for side in $sides; do fig="$fig${fig:+/}$(last "$tmp/$side.$op")"; done
		line="$line $op $fig;"
	done
	echo "$line ms (virtlab/lxc-*/less start-up/in main())"
	i=$((i + 1))
done

echo "median [min, max] in ms of $rounds rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "an lxc-* program's time before main(): $(summary "$tmp/before" ms 2)," \
	"after exit(): $(summary "$tmp/after" ms 2)"
row() { printf '  %-11s %-21s %-21s %-21s %s\n' "$@"; }
row operation virtlab "lxc-*, whole" "less start-up" "in main()"
for op in $ops; do
	figures=()
	for side in $sides; do figures+=("$(median "$tmp/$side.$op" 1) $(range "$tmp/$side.$op")"); done
	row "$op" "${figures[@]}"
done

# The rounds' own ratios: the two sides of a round ran back to back, so the
# ratio leaves out what drifts from round to round (the disk's state after
# the full copies, the host's load), which the ratio of the two medians keeps.
# paired SIDE OP: "median [first quartile, third quartile]" of virtlab / SIDE.
paired() {
	paste "$tmp/virtlab.$2" "$tmp/$1.$2" | awk '{ print $1 / $2 }' >"$tmp/ratio"
	sort -n "$tmp/ratio" | awk '{ v[NR] = $1 }
		END { printf "%.2f [%.2f, %.2f]", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2,
		      v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }'
}
within() { awk -v r="$1" 'BEGIN { exit !(r >= 0.8 && r <= 1.2) }'; }
echo "virtlab / lxc-*, the median of the $rounds rounds' ratios [quartiles]:"
row operation "whole" "less start-up" "in main()"
declare -A outside=([lxc]=0 [pre]=0 [net]=0)
for op in $ops; do
	ratios=()
	for side in lxc pre net; do
		r=$(paired "$side" "$op")
		within "${r%% *}" || { outside[$side]=$((outside[$side] + 1)) && r="$r*"; }
		ratios+=("$r")
	done
	row "$op" "${ratios[@]}"
done
n=$(echo "$ops" | wc -w)
echo "outside 20% (*), of $n: ${outside[lxc]} against the whole programs, ${outside[pre]} less" \
	"their start-up, ${outside[net]} against their time in main()"
