#!/bin/sh
# A container guest's life when things go wrong, through the CLI:
#  1. `kill -9` of the `virtlab guest start` at three points of the start (as
#     soon as the guest's cgroup exists, as soon as its init is recorded, and
#     a few milliseconds in), then `virtlab cleanup`: no cgroup, mount,
#     process or overlay directory of the guest remains.
#  2. The init is in the guest's cgroup in every hierarchy, the root of its
#     cgroup namespace.
#  3. The agent as the guest's PID 1 reaps orphans that are not its own
#     children: a daemon (setsid) that a command left exits, and no zombie
#     is left in the guest.
# Needs root, busybox-static and the static agent (VIRTLAB_AGENT); exits 77
# without them. Usage: container_crash_root.sh PATH-TO-VIRTLAB
set -u
VIRTLAB=${1:?usage: container_crash_root.sh PATH-TO-VIRTLAB}
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (namespaces, cgroups, overlay mounts)"
	exit 77
fi
if [ ! -x /bin/busybox ]; then
	echo "SKIP: needs /bin/busybox (apt-get install busybox-static)"
	exit 77
fi
if [ -z "${VIRTLAB_AGENT:-}" ] || [ ! -x "$VIRTLAB_AGENT" ]; then
	echo "SKIP: needs the static agent in VIRTLAB_AGENT (not built with sanitizers)"
	exit 77
fi

TMP=$(mktemp -d /tmp/virtlab-crash-test-XXXXXX)
export VIRTLAB_STATE="$TMP/state" VIRTLAB_DATA="$TMP/data"
NAME="virtlab-crash-$$"
STARTER=
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

tidy() {
	if [ -n "$STARTER" ]; then kill -9 "$STARTER" 2>/dev/null; fi
	"$VIRTLAB" -q guest destroy "$NAME" >/dev/null 2>&1
	"$VIRTLAB" -q cleanup >/dev/null 2>&1
	rm -rf "$TMP"
}
trap tidy EXIT
trap 'exit 130' INT TERM

cgroup_present() {
	for h in /sys/fs/cgroup/*; do
		if [ -d "$h/virtlab/$NAME" ]; then return 0; fi
	done
	return 1
}

# Processes whose root is inside the data directory: the guest's.
guest_processes() {
	for p in /proc/[0-9]*; do
		case "$(readlink "$p/root" 2>/dev/null)" in
		"$VIRTLAB_DATA"/*) echo "${p#/proc/}" ;;
		esac
	done
}

# Nothing of the guest is left.
check_clean() {
	what=$1
	left=""
	if cgroup_present; then left="$left cgroup"; fi
	if grep -q "$TMP" /proc/mounts; then left="$left mount"; fi
	if [ -n "$(guest_processes)" ]; then left="$left process"; fi
	if [ -e "$VIRTLAB_DATA/guests/$NAME" ]; then left="$left directory"; fi
	if [ -e "$VIRTLAB_STATE/guests/$NAME" ]; then left="$left record"; fi
	if [ -n "$left" ]; then
		fail "$what: left:$left"
		grep "$TMP" /proc/mounts
	else
		echo "ok: $what: nothing left"
	fi
}

# Starts the guest in the background and SIGKILLs the starter once `ready`
# succeeds (or after a deadline: the start may be over by then).
crash_start() {
	how=$1
	ready=$2
	"$VIRTLAB" -q guest create "$NAME" --platform container >"$TMP/out" 2>&1 ||
		{ fail "create: $(cat "$TMP/out")"; return; }
	"$VIRTLAB" -q guest start "$NAME" >/dev/null 2>&1 &
	STARTER=$!
	tries=0
	until $ready || [ "$tries" -ge 20000 ]; do tries=$((tries + 1)); done
	kill -9 "$STARTER" 2>/dev/null
	wait "$STARTER" 2>/dev/null
	status=$?
	STARTER=
	echo "killed $how (start exit status $status)"
	# Other runs' live groups on the host are reported as kept (and fail the
	# exit status): only what it says of this guest counts.
	"$VIRTLAB" cleanup >"$TMP/out" 2>&1
	if grep "^virtlab cleanup: kept" "$TMP/out" | cut -d' ' -f5 | grep -q -e "$NAME" -e "$TMP"; then
		fail "cleanup after kill $how"
		cat "$TMP/out"
	fi
	check_clean "kill -9 $how, then cleanup"
}

has_cgroup() { cgroup_present; }
has_init() { grep -q '"process"' "$VIRTLAB_STATE/guests/$NAME/guest.json" 2>/dev/null; }
soon() { sleep 0.005; }

crash_start "once the cgroup exists" has_cgroup
crash_start "once the init is recorded" has_init
crash_start "5 ms in" soon

# --- the agent as PID 1 reaps orphans ---
expect 0 "create a guest" -- "$VIRTLAB" guest create "$NAME" --platform container
expect 0 "start it" -- "$VIRTLAB" guest start "$NAME"
# The init joined its cgroups itself (v1 tasks files, clone3 into the cgroup2
# one): it is in the guest's group in every hierarchy, which is the root of
# its cgroup namespace.
init=$(sed -n 's/.*"init_pid": *\([0-9]*\).*/\1/p' "$VIRTLAB_STATE/guests/$NAME/guest.json")
if [ -n "$init" ] && [ -r "/proc/$init/cgroup" ] &&
	! grep -v ":/virtlab/$NAME\$" "/proc/$init/cgroup" | grep -q .; then
	echo "ok: the init is in virtlab/$NAME in every hierarchy"
else
	fail "the init's cgroups"
	cat "/proc/$init/cgroup"
fi
expect 0 "read the guest's own cgroups" -- "$VIRTLAB" guest exec "$NAME" -- cat /proc/self/cgroup
if grep -v ':/$' "$TMP/out" | grep -q .; then
	fail "the guest sees cgroups above its own"
	cat "$TMP/out"
else
	echo "ok: the guest's cgroup namespace starts at its group"
fi
# The daemon leaves the command's process group, so exec does not kill it;
# it exits later, an orphan of the agent.
expect 0 "a command leaves a daemon" -- "$VIRTLAB" guest exec "$NAME" -- \
	sh -c 'setsid sleep 0.2 & exit 0'
sleep 0.6
expect 0 "list the guest's processes" -- "$VIRTLAB" guest exec "$NAME" -- \
	sh -c 'cat /proc/[0-9]*/stat'
if awk '$3 == "Z"' "$TMP/out" | grep -q .; then
	fail "a zombie is left in the guest"
	cat "$TMP/out"
elif grep -q '^1 (virtlab-agent)' "$TMP/out"; then
	echo "ok: no zombie under the agent"
else
	fail "the guest's process list has no agent as PID 1"
	cat "$TMP/out"
fi
expect 0 "stop" -- "$VIRTLAB" guest stop "$NAME"
expect 0 "destroy" -- "$VIRTLAB" guest destroy "$NAME"
check_clean "after destroy"

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
exit 0
