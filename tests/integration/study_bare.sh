#!/bin/sh
# virtlab study on the bare platform, end to end (no root needed):
# - the A/A known answer: bare against itself under a second label
#   (bare@bare2) shows no significant difference;
# - kill -9 in the middle of a study, then --resume: finished experiments are
#   not rerun, results.json is valid JSON at every moment, no agent is left.
# Usage: study_bare.sh PATH-TO-VIRTLAB
set -u
VIRTLAB=${1:?usage: study_bare.sh PATH-TO-VIRTLAB}
command -v jq >/dev/null || { echo "SKIP: jq is not installed (apt-get install jq)"; exit 77; }
TMP=$(mktemp -d /tmp/virtlab-study-test-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# Sizes small enough for a test, large enough to time (tenths of a second).
TINY="--set cpu.vcpus=1 --set cpu.primes.events=400 --set cpu.whetstone.duration=0.1
      --set cpu.mutex.locks=500 --set cpu.rsa.keys=1 --set cpu.rsa.bits=1024
      --set operations.repeat=3"

# --- A/A: bare against bare ---
# shellcheck disable=SC2086
# Five a side: the fewest with which a difference can be called (methodology).
if ! "$VIRTLAB" study --profile quick --platforms bare,bare@bare2 --experiments cpu \
	--repeat 5 $TINY --out "$TMP/aa" --no-report >"$TMP/aa.out" 2>"$TMP/aa.err"; then
	fail "A/A study failed: $(tail -n 3 "$TMP/aa.err")"
fi
R="$TMP/aa/results.json"
jq -e '.schema == "virtlab-results/1" and .finished != null' "$R" >/dev/null ||
	fail "A/A results.json is not a finished virtlab-results/1 file"
jq -e '.experiments.cpu.status == "done" and (.experiments.cpu.rows | length) == 8' "$R" \
	>/dev/null || fail "A/A: cpu is not done with 8 rows"
jq -e '[.experiments.cpu.rows[] | .samples | length == 5] | all' "$R" >/dev/null ||
	fail "A/A: a row does not have its 5 samples"
# The deterministic tasks (a fixed count of primes, calibrated whetstone
# loops): their overhead interval must contain 1.
jq -e '[.experiments.cpu.rows[] | select(.platform == "bare2" and
	(.workload == "cpu.primes" or .workload == "cpu.whetstone")) |
	.overhead.against == "bare" and .overhead.significant == false] |
	length == 2 and all' "$R" >/dev/null ||
	fail "A/A: bare against bare shows a significant difference: $(jq -c \
		'[.experiments.cpu.rows[] | select(.platform == "bare2") | [.workload, .overhead]]' "$R")"

# --- kill -9, then --resume ---
S="$TMP/killed"
# shellcheck disable=SC2086
"$VIRTLAB" study --profile quick --platforms bare --experiments cpu,operations,features \
	--repeat 3 $TINY --out "$S" --no-report >"$TMP/k.out" 2>"$TMP/k.err" &
pid=$!
# A random point between 0.5 and 3 s, polling the file meanwhile.
delay=$(($(od -An -N1 -tu1 /dev/urandom) % 50 + 10))
bad=0
i=0
while [ $i -lt $delay ] && kill -0 $pid 2>/dev/null; do
	if [ -e "$S/results.json" ] && ! jq -e . "$S/results.json" >/dev/null 2>&1; then
		bad=$((bad + 1))
	fi
	sleep 0.05
	i=$((i + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ $bad -eq 0 ] || fail "results.json was not valid JSON $bad times during the study"
if [ -e "$S/results.json" ]; then
	jq -e . "$S/results.json" >/dev/null || fail "results.json is not valid after kill -9"
	jq -c '.experiments | to_entries | map(select(.value.status == "done")) |
		map({(.key): .value.started}) | add // {}' "$S/results.json" >"$TMP/done-before"
	echo "killed at a random point; done then: $(cat "$TMP/done-before")"
	if ! "$VIRTLAB" study --resume "$S" --no-report >"$TMP/r.out" 2>"$TMP/r.err"; then
		fail "--resume failed: $(tail -n 3 "$TMP/r.err")"
	fi
	jq -e '[.experiments[] | .status == "done"] | length == 3 and all' "$S/results.json" \
		>/dev/null || fail "after --resume not every experiment is done"
	# Experiments done before the kill keep their start time: not rerun.
	jq -e --argjson before "$(cat "$TMP/done-before")" \
		'. as $r | [$before | to_entries[] | $r.experiments[.key].started == .value] | all' \
		"$S/results.json" >/dev/null || fail "--resume ran a finished experiment again"
else
	echo "killed before results.json existed; nothing to resume"
fi

# No agent of ours is left: they ran in the study's work directory.
i=0
while [ $i -lt 50 ]; do
	left=$(for p in /proc/[0-9]*; do
		case "$(readlink "$p/cwd" 2>/dev/null)" in "$TMP"*) echo "${p#/proc/}" ;; esac
	done)
	[ -z "$left" ] && break
	sleep 0.1
	i=$((i + 1))
done
[ -z "$left" ] || fail "processes left in the study's directory: $left"

# Sanitizer builds report and go on: their reports are failures here.
for f in "$TMP"/*.err; do
	grep -q -e 'runtime error:' -e 'Sanitizer' "$f" && fail "sanitizer report in $f: $(head -n 5 "$f")"
done

[ $failures -eq 0 ] || exit 1
echo "ok"
