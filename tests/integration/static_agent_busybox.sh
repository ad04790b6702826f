#!/bin/sh
# The static agent in a root holding nothing but busybox and itself: it must
# answer hello and run a workload there, with no libc, /proc or /dev.
# Usage: static_agent_busybox.sh PATH/TO/virtlab-agent
set -eu

agent=${1:?usage: $0 PATH/TO/virtlab-agent}
skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root for unshare --root"
[ -x /bin/busybox ] || skip "needs /bin/busybox (apt-get install busybox-static)"
case "$(ldd /bin/busybox 2>&1 || true)" in
*"not a dynamic executable"*) ;;
*) skip "/bin/busybox is dynamic; install busybox-static" ;;
esac
command -v unshare >/dev/null || skip "needs unshare (util-linux)"
case "$(ldd "$agent" 2>&1 || true)" in
*"not a dynamic executable"*) ;;
*) echo "FAIL: $agent is dynamically linked"; exit 1 ;;
esac

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
cp "$agent" "$root/virtlab-agent"

fail() {
	echo "FAIL: $*"
	exit 1
}

# 1. hello on stdin, as pid 1 of a new pid namespace with its own /proc.
reply=$(printf '{"id":1,"op":"hello"}\n' |
	timeout 30 unshare --root "$root" --mount --pid --fork --mount-proc=/proc /virtlab-agent) ||
	fail "the agent exited with status $?"
echo "hello: $reply"
case "$reply" in
*'"id":1,"ok":true'*) ;;
*) fail "hello did not succeed" ;;
esac
case "$reply" in
*'"pid":1,'*) ;;
*) fail "the agent does not see itself as pid 1" ;;
esac

# 2. busybox's shell feeds the agent inside the root, with no /proc at all.
reply=$(timeout 60 unshare --root "$root" --mount /bin/busybox sh -c \
	'printf "%s\n" "{\"id\":2,\"op\":\"run\",\"workload\":\"null\",\"repeat\":2}" \
	"{\"id\":3,\"op\":\"hello\"}" | /virtlab-agent --workdir /tmp') ||
	fail "busybox sh | agent exited with status $?"
echo "run + hello: $reply"
case "$reply" in
*'"id":2,"ok":true'*'"samples":[{"status":"ok"'*) ;;
*) fail "run of null did not succeed" ;;
esac
case "$reply" in
*'"id":3,"ok":true'*) ;;
*) fail "hello without /proc did not succeed" ;;
esac
echo "PASS"
