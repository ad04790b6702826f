#!/bin/sh
# `virtlab guest`, `entitle` and `cleanup` as a user meets them, on the bare
# platform (no root): create, info, list, destroy, the exit codes of bad input
# and of operations a platform lacks, and the per-guest lock.
# Usage: guest_cli.sh PATH-TO-VIRTLAB
set -u
VIRTLAB=${1:?usage: guest_cli.sh PATH-TO-VIRTLAB}
TMP=$(mktemp -d /tmp/virtlab-guest-cli-XXXXXX)
export VIRTLAB_STATE="$TMP/state" VIRTLAB_DATA="$TMP/data"
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# Each error is one line naming the problem.
one_line_naming() {
	if [ "$(wc -l <"$TMP/err")" -ne 1 ] || ! grep -q -- "$1" "$TMP/err"; then
		fail "error should be one line naming '$1'"
		cat "$TMP/err"
	fi
}

expect 0 "guest --help" -- "$VIRTLAB" guest --help
expect 0 "list with no guests" -- "$VIRTLAB" guest list
expect 0 "create a bare guest" -- "$VIRTLAB" guest create b1 --platform bare --cpus 2 --memory 64M \
	--pids 100
expect 2 "create it again" -- "$VIRTLAB" guest create b1 --platform bare
one_line_naming "exists already"
expect 0 "info" -- "$VIRTLAB" guest info b1
grep -q '^status: *provisioned' "$TMP/out" || fail "info: status provisioned"
grep -q '^memory: *64 MiB' "$TMP/out" || fail "info: memory"
expect 0 "info --json" -- "$VIRTLAB" guest info b1 --json
grep -q '"platform": "bare"' "$TMP/out" || fail "info --json: platform"
grep -q '"memory_bytes": 67108864' "$TMP/out" || fail "info --json: memory_bytes"
expect 0 "create a second" -- "$VIRTLAB" guest create a2 --platform bare
expect 0 "list" -- "$VIRTLAB" guest list
if [ "$(sed -n 2p "$TMP/out" | cut -d' ' -f1)" != a2 ] || ! grep -q '^b1 ' "$TMP/out"; then
	fail "list: both guests, sorted"
	cat "$TMP/out"
fi
expect 0 "list --json" -- "$VIRTLAB" guest list --json
[ "$(grep -c '"status": "provisioned"' "$TMP/out")" -eq 2 ] || fail "list --json: two guests"

# What bare cannot do is said, with exit 1.
expect 1 "clone on bare" -- "$VIRTLAB" guest clone b1 b3
one_line_naming "platform bare cannot clone"
expect 1 "entitle on a guest not running" -- "$VIRTLAB" entitle b1 --cpu-max 50
one_line_naming "not running"
expect 1 "exec on a guest not running" -- "$VIRTLAB" guest exec b1 -- true
one_line_naming "not running"
expect 1 "stop a guest not running" -- "$VIRTLAB" guest stop b1
expect 1 "run --guest on a guest not running" -- "$VIRTLAB" run null --guest b1

# Bad input: exit 2, one line.
expect 2 "no such guest" -- "$VIRTLAB" guest info nosuch
one_line_naming "no guest named 'nosuch'"
expect 2 "bad name" -- "$VIRTLAB" guest create ../x --platform bare
expect 2 "--cpus with --cpuset" -- "$VIRTLAB" guest create c1 --platform bare --cpus 1 --cpuset 0
expect 2 "bad cpuset" -- "$VIRTLAB" guest create c1 --platform bare --cpuset 3-1
one_line_naming "--cpuset"
expect 2 "bad memory" -- "$VIRTLAB" guest create c1 --platform bare --memory lots
one_line_naming "--memory"
expect 2 "unknown platform" -- "$VIRTLAB" guest create c1 --platform vmware
one_line_naming "unknown platform 'vmware'"
expect 2 "entitle without limits" -- "$VIRTLAB" entitle b1
expect 2 "entitle two devices" -- "$VIRTLAB" entitle b1 --io-read-bps 8:0=1M --io-write-bps 8:16=1M
expect 2 "unknown operation" -- "$VIRTLAB" guest frobnicate b1
expect 2 "exec without a command" -- "$VIRTLAB" guest exec b1 --
[ -e "$VIRTLAB_STATE/guests/c1" ] && fail "bad input left a record for c1"

# Another virtlab holding the lock (here: this shell): busy, at once.
exec 9>>"$VIRTLAB_STATE/guests/b1/lock"
flock -n 9 || fail "taking the lock of b1"
expect 1 "destroy a busy guest" -- "$VIRTLAB" guest destroy b1
one_line_naming "busy"
expect 0 "info reads a busy guest" -- "$VIRTLAB" guest info b1
exec 9>&-

expect 0 "cleanup --dry-run of one guest" -- "$VIRTLAB" cleanup --dry-run a2
grep -q "^would remove record" "$TMP/out" || fail "dry run names the record"
expect 0 "cleanup of one guest" -- "$VIRTLAB" cleanup a2
expect 0 "destroy" -- "$VIRTLAB" guest destroy b1
expect 0 "list after destroy" -- "$VIRTLAB" guest list
[ -s "$TMP/out" ] && fail "list after destroy is empty"
if [ -n "$(ls -A "$VIRTLAB_STATE/guests")" ]; then
	fail "state left behind"
	ls -la "$VIRTLAB_STATE/guests"
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
exit 0
