#!/bin/sh
# Known answers of the study on the container platform (root):
# - a container guest held at cpu-max 50% of a CPU shows a cpu.primes
#   overhead of +100% +-10 points against bare;
# - isolation: under stress.cpu in its neighbour a container guest slows
#   down, and less so with disjoint cpusets or a CPU weight policy.
# - kill -9 of a study, then virtlab cleanup of its guests: nothing is left.
# The known answers need an idle host: on a busy one bare itself gets less
# than a CPU and the figures mean nothing, so they are skipped (77, said so).
# Usage: study_container.sh PATH-TO-VIRTLAB
set -u
VIRTLAB=${1:?usage: study_container.sh PATH-TO-VIRTLAB}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (container guests)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed (apt-get install jq)"; exit 77; }
TMP=$(mktemp -d /tmp/virtlab-study-container-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# kill -9 in the middle, then virtlab cleanup of the study's guests: nothing
# of them is left (records, cgroups, mounts).
"$VIRTLAB" study --platforms container --experiments isolation --out "$TMP/killed" \
	--no-report >/dev/null 2>&1 &
pid=$!
sleep 4
kill -9 $pid
wait $pid 2>/dev/null
jq -e . "$TMP/killed/results.json" >/dev/null 2>&1 || [ ! -e "$TMP/killed/results.json" ] ||
	fail "results.json is not valid JSON after kill -9"
state=${VIRTLAB_STATE:-/run/virtlab}
names=$(ls "$state/guests" 2>/dev/null | grep "^virtlab-$pid-")
# Only the killed study's guests: other guests on this host are not ours.
[ -z "$names" ] || "$VIRTLAB" cleanup $names >/dev/null 2>"$TMP/cleanup.err" ||
	fail "virtlab cleanup failed: $(tail -n 3 "$TMP/cleanup.err")"
left=$(ls "$state/guests" 2>/dev/null | grep "^virtlab-$pid-")
[ -z "$left" ] || fail "records left after cleanup: $left"
cgroups=$(ls -d /sys/fs/cgroup/*/virtlab/virtlab-$pid-* /sys/fs/cgroup/virtlab/virtlab-$pid-* \
	2>/dev/null)
[ -z "$cgroups" ] || fail "cgroups left after cleanup: $cgroups"
grep -q "virtlab-$pid-" /proc/mounts && fail "mounts left after cleanup"

# How busy the CPUs are right now, over one second (the load average would
# still count this script's own study above).
cpu_busy_pct() {
	set -- $(head -n 1 /proc/stat)
	shift
	busy1=$(($1 + $2 + $3 + $6 + $7 + $8)) total1=$(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8))
	sleep 1
	set -- $(head -n 1 /proc/stat)
	shift
	busy2=$(($1 + $2 + $3 + $6 + $7 + $8)) total2=$(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8))
	echo $((100 * (busy2 - busy1) / (total2 - total1 + 1)))
}
busy=$(cpu_busy_pct)
if [ "$busy" -gt 25 ]; then
	[ $failures -eq 0 ] || exit 1
	echo "SKIP: the host is busy ($busy% of its CPU time); known answers need an idle host"
	exit 77
fi

if ! "$VIRTLAB" study --platforms bare,container --experiments cpu --set cpu.vcpus=1 \
	--set cpu.cpu_max_pct=50 --set cpu.primes.events=10000 --out "$TMP/max" --no-report \
	>"$TMP/max.out" 2>"$TMP/max.err"; then
	grep -q "skipping container" "$TMP/max.err" &&
		{ echo "SKIP: $(grep "skipping container" "$TMP/max.err")"; exit 77; }
	fail "cpu-max study failed: $(tail -n 3 "$TMP/max.err")"
fi
usable=$(jq -r '.platforms[] | select(.name == "container") | .usable' "$TMP/max/results.json")
if [ "$usable" != true ]; then
	why=$(jq -r '.platforms[] | select(.name == "container") | .reason' "$TMP/max/results.json")
	echo "SKIP: the container platform is not usable here: $why"
	exit 77
fi
ratio=$(jq -r '.experiments.cpu.rows[] | select(.platform == "container" and
	.workload == "cpu.primes") | .overhead.ratio' "$TMP/max/results.json")
echo "cpu.primes at cpu-max 50%: cost ratio $ratio against bare"
echo "$ratio" | awk '{exit !($1 >= 1.9 && $1 <= 2.1)}' ||
	fail "cpu-max 50%: expected a ratio of 2 +-0.1, got $ratio"

if ! "$VIRTLAB" study --platforms container --experiments entitlement \
	--set entitlement.policies=cpuset,cpu-weight --out "$TMP/iso" --no-report >"$TMP/iso.out" \
	2>"$TMP/iso.err"; then
	fail "isolation study failed: $(tail -n 3 "$TMP/iso.err")"
fi
R="$TMP/iso/results.json"
none=$(jq -r '.experiments.entitlement.rows[] | select(.variant ==
	"policy=none neighbour=stress.cpu") | .overhead.ratio' "$R")
pinned=$(jq -r '.experiments.entitlement.rows[] | select(.variant ==
	"policy=cpuset neighbour=stress.cpu") | .overhead.ratio' "$R")
weighted=$(jq -r '.experiments.entitlement.rows[] | select(.variant ==
	"policy=cpu-weight neighbour=stress.cpu") | .overhead.ratio' "$R")
echo "slowdown under stress.cpu: unmanaged $none, disjoint cpusets $pinned, weight $weighted"
echo "$none $pinned $weighted" | awk '{exit !($1 > 1.05 && $2 < $1 && $3 < $1)}' ||
	fail "expected a slowdown that cpusets and weights shrink, got $none, $pinned, $weighted"

[ $failures -eq 0 ] || exit 1
echo "ok"
