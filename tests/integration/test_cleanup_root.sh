#!/bin/sh
# `virtlab cleanup` after a crash, for real: a guest record (as a killed
# virtlab leaves it) tracking a cgroup with a sleeping process in it, a tmpfs
# mount and a directory under the data root, a network namespace, a dummy link
# (or veth) link and an nftables table. Cleanup removes them all, and a second cleanup finds
# nothing. Then the orphans: a cgroup, a mount and a guest directory without
# any record, beside cgroups that are not orphans: marked by a guest of
# another state root whose record lists it or whose lock is held, unmarked
# with a process, unmarked and new. Needs root, ip(8) and python3 (to set the
# owner mark, an extended attribute); exits 77 without them.
# Usage: test_cleanup_root.sh PATH-TO-VIRTLAB
set -u
VIRTLAB=${1:?usage: test_cleanup_root.sh PATH-TO-VIRTLAB}
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (cgroups, mounts, netns, links)"
	exit 77
fi
if ! command -v ip >/dev/null; then
	echo "SKIP: needs ip(8) from iproute2"
	exit 77
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP: needs python3 (scripts/deps)"
	exit 77
fi

TMP=$(mktemp -d /tmp/virtlab-cleanup-test-XXXXXX)
export VIRTLAB_STATE="$TMP/state" VIRTLAB_DATA="$TMP/data"
NAME="crashed-$$"
CG="virtlab/test-cleanup-$$"
ORPHAN_CG="virtlab/test-orphan-$$"
LIVE_CG="virtlab/test-orphan-live-$$"
CLAIMED_CG="virtlab/test-claimed-$$"
LOCKED_CG="virtlab/test-locked-$$"
FRESH_CG="virtlab/test-fresh-$$"
OTHER="$TMP/other-state"
NETNS="virtlab-test-$$"
LINK="vl-test-$$"
TABLE="virtlab_nat_test$$"
GUEST_DIR="$VIRTLAB_DATA/guests/$NAME"
MNT="$GUEST_DIR/rootfs"
ORPHAN_DIR="$VIRTLAB_DATA/guests/orphan-$$"
ORPHAN_MNT="$ORPHAN_DIR/merged"
SLEEPER=
LIVE_SLEEPER=
failures=0

# The v1 hierarchies (and the cgroup2 one of a hybrid host) that hold
# processes; virtlab fills in the others when it opens the group.
hierarchies() {
	for h in /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/memory /sys/fs/cgroup/pids \
		/sys/fs/cgroup/unified /sys/fs/cgroup; do
		if [ -e "$h/cgroup.procs" ]; then echo "$h"; fi
	done
}

cgroup_present() {
	for h in /sys/fs/cgroup/*; do
		if [ -d "$h/$1" ]; then return 0; fi
	done
	return 1
}

remove_cgroup() {
	for h in /sys/fs/cgroup/*; do
		if [ -d "$h/$1" ]; then rmdir "$h/$1" 2>/dev/null; fi
		rmdir "$h/virtlab" 2>/dev/null
	done
}

# Whatever the test made goes, whether virtlab removed it or not.
tidy() {
	for p in $SLEEPER $LIVE_SLEEPER; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	for m in "$MNT" "$ORPHAN_MNT"; do
		if mountpoint -q "$m" 2>/dev/null; then umount -l "$m"; fi
	done
	ip netns del "$NETNS" 2>/dev/null
	ip link del "$LINK" 2>/dev/null
	if command -v nft >/dev/null; then nft delete table inet "$TABLE" 2>/dev/null; fi
	remove_cgroup "$CG"
	remove_cgroup "$ORPHAN_CG"
	for cg in "$LIVE_CG" "$CLAIMED_CG" "$LOCKED_CG" "$FRESH_CG"; do remove_cgroup "$cg"; done
	rm -rf "$TMP"
}
trap tidy EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

ok() {
	echo "ok: $*"
}

# --- what a crashed start leaves: resources and the record naming them ---
mkdir -p "$MNT" "$VIRTLAB_STATE/guests/$NAME" || exit 1
resources="{\"kind\": \"dir\", \"id\": \"$GUEST_DIR\"}"
for h in $(hierarchies); do mkdir -p "$h/$CG" || exit 1; done
resources="$resources, {\"kind\": \"cgroup\", \"id\": \"$CG\"}"
sleep 600 &
SLEEPER=$!
for h in $(hierarchies); do echo "$SLEEPER" >"$h/$CG/cgroup.procs" || exit 1; done
mount -t tmpfs virtlab-test "$MNT" || exit 1
echo data >"$MNT/file"
resources="$resources, {\"kind\": \"mount\", \"id\": \"$MNT\"}"
ip netns add "$NETNS" || exit 1
resources="$resources, {\"kind\": \"netns\", \"id\": \"$NETNS\"}"
# A dummy link where the kernel has the module; otherwise a veth pair, whose
# peer goes with it.
ip link add "$LINK" type dummy 2>/dev/null || ip link add "$LINK" type veth peer name "$LINK-p" ||
	exit 1
resources="$resources, {\"kind\": \"link\", \"id\": \"$LINK\"}"
if command -v nft >/dev/null && nft add table inet "$TABLE"; then
	resources="$resources, {\"kind\": \"nft-table\", \"id\": \"inet $TABLE\"}"
fi
cat >"$VIRTLAB_STATE/guests/$NAME/guest.json" <<EOF
{"name": "$NAME", "platform": "bare", "status": "running", "files": "$GUEST_DIR",
 "spec": {"name": "$NAME"}, "record": {}, "resources": [$resources]}
EOF

"$VIRTLAB" cleanup --dry-run "$NAME" >"$TMP/dry" 2>&1
if [ "$(grep '^would remove' "$TMP/dry" | grep -vc '^would remove record')" -eq "$(echo "$resources" | grep -o '"kind"' | wc -l)" ] &&
	grep -q '^would remove record' "$TMP/dry" && kill -0 "$SLEEPER" &&
	mountpoint -q "$MNT" && ip netns list | grep -q "$NETNS"; then
	ok "dry run lists everything and changes nothing"
else
	fail "dry run"
	cat "$TMP/dry"
fi

"$VIRTLAB" cleanup "$NAME" >"$TMP/out" 2>&1 || fail "cleanup $NAME: exit $?"
cat "$TMP/out"
wait "$SLEEPER" 2>/dev/null
status=$?
SLEEPER=
if [ "$status" -eq 137 ]; then ok "the process in the cgroup was killed"; else fail "sleeper: $status"; fi
if cgroup_present "$CG"; then fail "cgroup $CG is still there"; else ok "cgroup removed"; fi
if mountpoint -q "$MNT" 2>/dev/null || [ -e "$GUEST_DIR" ]; then
	fail "$GUEST_DIR or its mount is still there"
else
	ok "mount and directory removed"
fi
if ip netns list | grep -q "$NETNS"; then fail "netns $NETNS"; else ok "netns removed"; fi
if ip link show "$LINK" >/dev/null 2>&1; then fail "link $LINK"; else ok "link removed"; fi
if command -v nft >/dev/null && nft list table inet "$TABLE" >/dev/null 2>&1; then
	fail "nft table $TABLE"
else
	ok "nft table removed (or no nft)"
fi
if [ -e "$VIRTLAB_STATE/guests/$NAME" ]; then fail "record kept"; else ok "record removed"; fi

"$VIRTLAB" cleanup "$NAME" >"$TMP/again" 2>&1
status=$?
if [ "$status" -eq 2 ] && grep -q "no guest named" "$TMP/again"; then
	ok "a second cleanup finds nothing"
else
	fail "second cleanup: exit $status"
	cat "$TMP/again"
fi

# --- orphans: nothing records them ---
# mark CGROUP STATE-DIR: what a guest of another state root writes.
mark() {
	for h in /sys/fs/cgroup/*; do
		if [ -d "$h/$1" ]; then
			python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.virtlab.owner", sys.argv[2].encode())' \
				"$h/$1" "$2" || exit 1
		fi
	done
}
mkdir -p "$ORPHAN_MNT" "$OTHER/guests/claimer" "$OTHER/guests/locker" || exit 1
mount -t tmpfs virtlab-test "$ORPHAN_MNT" || exit 1
for h in $(hierarchies); do
	mkdir -p "$h/$ORPHAN_CG" "$h/$LIVE_CG" "$h/$CLAIMED_CG" "$h/$LOCKED_CG" "$h/$FRESH_CG" || exit 1
done
# The orphan's owner is gone: its state root no longer exists.
mark "$ORPHAN_CG" "$TMP/gone-state/guests/crashed"
cat >"$OTHER/guests/claimer/guest.json" <<EOF
{"name": "claimer", "platform": "container", "status": "provisioning", "record": {},
 "resources": [{"kind": "cgroup", "id": "$CLAIMED_CG"}]}
EOF
mark "$CLAIMED_CG" "$OTHER/guests/claimer"
# A guest of the other root being made: its lock is held (here, by this
# shell on fd 9), no record yet.
exec 9>"$OTHER/guests/locker/lock"
flock -n 9 || exit 1
mark "$LOCKED_CG" "$OTHER/guests/locker"
sleep 600 &
LIVE_SLEEPER=$!
for h in $(hierarchies); do echo "$LIVE_SLEEPER" >"$h/$LIVE_CG/cgroup.procs" || exit 1; done
sleep 0.2
"$VIRTLAB" cleanup --dry-run >"$TMP/dry" 2>&1
if grep -q "would remove cgroup $ORPHAN_CG (no record)" "$TMP/dry" &&
	grep -q "would remove mount $ORPHAN_MNT (no record)" "$TMP/dry" &&
	grep -q "would remove dir $ORPHAN_DIR (no record)" "$TMP/dry" &&
	mountpoint -q "$ORPHAN_MNT" && cgroup_present "$ORPHAN_CG"; then
	ok "dry run finds the orphans"
else
	fail "orphans in the dry run"
	cat "$TMP/dry"
fi
if grep -q -e "$CLAIMED_CG" -e "$LOCKED_CG" "$TMP/dry"; then
	fail "groups claimed by another state root's guests are not this cleanup's business"
	cat "$TMP/dry"
else
	ok "groups claimed by another state root's record or lock are left be"
fi
# A group with processes but no record may be a live guest of another state root.
if grep -q "kept cgroup $LIVE_CG (no record): it has processes" "$TMP/dry" &&
	kill -0 "$LIVE_SLEEPER"; then
	ok "a record-less group with processes is kept"
else
	fail "the group with processes in the dry run"
	cat "$TMP/dry"
fi
# Unmarked and new: another run may be about to fill it.
if grep -q "kept cgroup $FRESH_CG (no record): it has no owner mark and was made" "$TMP/dry"; then
	ok "an unmarked new group is kept"
else
	fail "the unmarked new group in the dry run"
	cat "$TMP/dry"
fi

# The sweep for real. Other runs' groups on the host are safe beside it; what
# it says about them is not checked here.
"$VIRTLAB" cleanup >"$TMP/out" 2>&1
cat "$TMP/out"
if cgroup_present "$ORPHAN_CG" || mountpoint -q "$ORPHAN_MNT" || [ -e "$ORPHAN_DIR" ]; then
	fail "orphans left"
else
	ok "orphans removed"
fi
if cgroup_present "$CLAIMED_CG" && cgroup_present "$LOCKED_CG" && cgroup_present "$LIVE_CG" &&
	cgroup_present "$FRESH_CG" && kill -0 "$LIVE_SLEEPER"; then
	ok "the groups that are not orphans are all there"
else
	fail "a group that is not an orphan was removed"
fi
"$VIRTLAB" cleanup >"$TMP/again" 2>&1
if grep "^removed" "$TMP/again" | grep -q -e "$TMP" -e "-$$"; then
	fail "second sweep"
	cat "$TMP/again"
else
	ok "a second sweep finds nothing of this test's"
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
exit 0
