#!/bin/sh
# The virtlab command line as a user meets it: help, exit codes, one-line
# errors for bad input, `virtlab run` on the bare platform, and no agent left
# behind, also after SIGINT or SIGTERM. No root needed.
# Usage: cli.sh PATH-TO-VIRTLAB
set -u
VIRTLAB=${1:?usage: cli.sh PATH-TO-VIRTLAB}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Each run gets its own workdir: the bare agent runs there, which is how we
# find any agent left behind (by its cwd) without confusing it with others.
WORK="$TMP/work"
mkdir "$WORK"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# one_line_naming WORD...: stderr is a single line mentioning every WORD.
one_line_naming() {
	lines=$(wc -l <"$TMP/err")
	[ "$lines" -eq 1 ] || fail "expected one line on stderr, got $lines: $(cat "$TMP/err")"
	for word in "$@"; do
		grep -q -- "$word" "$TMP/err" || fail "stderr does not name '$word': $(cat "$TMP/err")"
	done
}

agents_in_workdir() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$WORK" ] && echo "${p#/proc/}"
	done
}

no_agent_left() {
	left=$(agents_in_workdir)
	[ -z "$left" ] || fail "$1: processes left in $WORK: $left"
}

# wait_for PID: waits for a child at most 15 s (a hang is a failure, not a
# stuck test) and returns its exit status.
wait_for() {
	tries=0
	while [ -e "/proc/$1" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ] &&
		[ $tries -lt 150 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	if [ $tries -ge 150 ]; then
		fail "process $1 did not exit within 15 s"
		kill -KILL "$1"
	fi
	wait "$1"
}

json_check() { # json_check PYTHON-EXPRESSION over the JSON `d` in $TMP/out
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
		"$TMP/out" || fail "JSON check failed: $1"
}

expect 0 "virtlab --help" -- "$VIRTLAB" --help && grep -q '^  run ' "$TMP/out" ||
	fail "--help lists no run command"
expect 0 "virtlab --version" -- "$VIRTLAB" --version &&
	grep -Eq '^virtlab [0-9]+\.[0-9]+' "$TMP/out" || fail "--version: $(cat "$TMP/out")"
expect 2 "virtlab with no command" -- "$VIRTLAB"
expect 2 "unknown command" -- "$VIRTLAB" frobnicate && one_line_naming frobnicate 'virtlab --help'
expect 2 "unknown global option" -- "$VIRTLAB" --frobnicate run null && one_line_naming frobnicate
for cmd in run agent serve calibrate info; do
	expect 0 "virtlab $cmd --help" -- "$VIRTLAB" "$cmd" --help &&
		grep -q "virtlab $cmd" "$TMP/out" || fail "virtlab $cmd --help shows no usage"
done

expect 0 "run --list" -- "$VIRTLAB" run --list && grep -q '^cpu.primes' "$TMP/out" ||
	fail "run --list lacks cpu.primes"
expect 2 "run without a workload" -- "$VIRTLAB" run
expect 2 "run an unknown workload" -- "$VIRTLAB" run nosuch && one_line_naming nosuch
expect 2 "run on an unknown platform" -- "$VIRTLAB" run null --platform nosuch &&
	one_line_naming nosuch
expect 2 "run --repeat 0" -- "$VIRTLAB" run null --repeat 0 && one_line_naming --repeat
expect 2 "run --workdir that is not a directory" -- "$VIRTLAB" run null --workdir "$TMP/none" &&
	one_line_naming --workdir
expect 2 "cpu.primes threads=0" -- "$VIRTLAB" run cpu.primes -p threads=0 &&
	one_line_naming threads 'from 1 to'
expect 2 "an unknown parameter" -- "$VIRTLAB" run cpu.primes -p nope=1 && one_line_naming nope
expect 2 "a negative size" -- "$VIRTLAB" run mem.copy -p size=-1 && one_line_naming size 'from'
expect 2 "a parameter without =" -- "$VIRTLAB" run null -p value && one_line_naming value

if expect 0 "run null --repeat 3 --json" -- "$VIRTLAB" run null --repeat 3 --warmup 1 \
	-p value=7 --json --workdir "$WORK"; then
	json_check 'd["workload"] == "null" and d["platform"] == "bare" and d["primary"] == "value"'
	json_check 'len(d["samples"]) == 3 and all(s["status"] == "ok" for s in d["samples"])'
	json_check 'd["summary"]["value"]["n"] == 3 and d["summary"]["value"]["median"] == 7'
	json_check 'all(k in d["summary"]["value"] for k in
		("median", "min", "max", "cov", "ci_low", "ci_high", "unit"))'
	json_check 'd["params"]["value"] == 7'
fi
no_agent_left "after run --json"

expect 0 "run null as a table" -- "$VIRTLAB" run null --repeat 2 --workdir "$WORK" &&
	grep -q '^value ' "$TMP/out" || fail "the table has no row for value"
expect 0 "run null on the null platform" -- "$VIRTLAB" run null --platform null --json &&
	json_check 'd["platform"] == "null" and len(d["samples"]) == 5'

if expect 1 "failed samples" -- "$VIRTLAB" run null -p status=failed --repeat 2 --json \
	--workdir "$WORK"; then
	json_check 'len(d["samples"]) == 2 and d["samples"][0]["status"] == "failed"'
	json_check 'd["summary"] == {}'
fi
no_agent_left "after failed samples"

# A signal stops the guest: the agent is gone and the exit code says which signal.
for pair in TERM:15 INT:2; do
	sig=${pair%:*}
	"$VIRTLAB" run null -p sleep=60 --repeat 1 --warmup 0 --workdir "$WORK" \
		>/dev/null 2>"$TMP/err" &
	pid=$!
	tries=0
	while [ -z "$(agents_in_workdir)" ] && [ $tries -lt 100 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	[ -n "$(agents_in_workdir)" ] || fail "SIG$sig: the agent never started"
	start=$(date +%s)
	kill -s "$sig" "$pid"
	wait_for "$pid"
	code=$?
	took=$(($(date +%s) - start))
	expected=$((128 + ${pair#*:}))
	[ "$code" -eq "$expected" ] || fail "SIG$sig: exit $code, expected $expected"
	[ "$took" -le 10 ] || fail "SIG$sig: took ${took}s to stop"
	no_agent_left "after SIG$sig"
	echo "ok: SIG$sig stops the run (exit $code, ${took}s)"
done

# serve prints its port, accepts connections and ends on SIGTERM with status 0.
"$VIRTLAB" serve --address 127.0.0.1 >"$TMP/serve" 2>&1 &
pid=$!
tries=0
while ! grep -q port "$TMP/serve" && [ $tries -lt 50 ]; do
	sleep 0.1
	tries=$((tries + 1))
done
port=$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$TMP/serve")
if [ -n "$port" ] && python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2).close()" "$port"; then
	echo "ok: serve listens on port $port"
else
	fail "serve: no port or no connection: $(cat "$TMP/serve")"
fi
kill -TERM "$pid"
wait_for "$pid"
code=$?
[ "$code" -eq 0 ] || fail "serve: exit $code after SIGTERM"
expect 2 "serve --port 70000" -- "$VIRTLAB" serve --port 70000 && one_line_naming --port

[ "$failures" -eq 0 ] || {
	echo "$failures failure(s)"
	exit 1
}
echo "all cli checks passed"
