#!/bin/sh
# An ssh host on this machine (root): an sshd started by this test in a
# network namespace of its own, with a throwaway host key and an authorized
# key made here. Checks that
# - `virtlab study --host remote=ssh:root@ADDR` runs bare and container there
#   through virtlab's bundle, and merges them as bare@remote and
#   container@remote, each overhead against the bare of its own host;
# - the report names the host and warns that hosts compare hardware too;
# - an unknown host key fails the host (not the study) with the reason;
# - SIGTERM while the host's study runs, or kill -9 of this virtlab, stops
#   it there and removes its guests and work directory.
# sshd enters only the network namespace: `ip netns exec` would also remount
# /sys, hiding the cgroup hierarchies the container platform needs.
# Everything (sshd, namespace, link, keys, directories) goes on every path.
# Usage: study_ssh.sh PATH-TO-VIRTLAB
set -u
VIRTLAB=$(realpath "${1:?usage: study_ssh.sh PATH-TO-VIRTLAB}")
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (sshd, network namespace, containers)"; exit 77; }
for tool in jq ssh scp ssh-keygen ip; do
	command -v $tool >/dev/null ||
		{ echo "SKIP: $tool is not installed (apt-get install jq openssh-client iproute2)"; exit 77; }
done
[ -x /usr/sbin/sshd ] || { echo "SKIP: no sshd (apt-get install openssh-server)"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: no static busybox (apt-get install busybox-static)"; exit 77; }
# The bundle carries the static agent, which sanitized builds do not link.
[ -x "$(dirname "$VIRTLAB")/virtlab-agent" ] || [ -n "${VIRTLAB_AGENT:-}" ] ||
	{ echo "SKIP: no static virtlab-agent beside $VIRTLAB (sanitized build?)"; exit 77; }

TMP=$(mktemp -d /tmp/virtlab-study-ssh-XXXXXX)
NS=virtlab-ssh-$$
LINK=vl-ssh$$
NET=10.251.$(($$ % 250))
ADDR=$NET.2
made_run_sshd=0
before=$(ls -d /var/tmp/virtlab-host.* 2>/dev/null)
cleanup() {
	[ -s "$TMP/sshd.pid" ] && kill "$(cat "$TMP/sshd.pid")" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip link del "$LINK" 2>/dev/null
	[ $made_run_sshd = 1 ] && rmdir /run/sshd 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$(dirname "$0")/lib.sh"

# sshd's privilege separation directory.
[ -d /run/sshd ] || { mkdir -m 0755 /run/sshd && made_run_sshd=1; }
ip netns add "$NS" && ip link add "$LINK" type veth peer name "${LINK}g" &&
	ip link set "${LINK}g" netns "$NS" && ip addr add "$NET.1/30" dev "$LINK" &&
	ip link set "$LINK" up && ip -n "$NS" addr add "$ADDR/30" dev "${LINK}g" &&
	ip -n "$NS" link set "${LINK}g" up && ip -n "$NS" link set lo up ||
	{ echo "FAIL: cannot build the namespace $NS"; exit 1; }
ssh-keygen -q -t ed25519 -N '' -C virtlab-test-host -f "$TMP/host_key" &&
	ssh-keygen -q -t ed25519 -N '' -C virtlab-test-user -f "$TMP/id" || exit 1
cp "$TMP/id.pub" "$TMP/authorized_keys"
cat >"$TMP/sshd_config" <<EOF
ListenAddress $ADDR
HostKey $TMP/host_key
AuthorizedKeysFile $TMP/authorized_keys
PidFile $TMP/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOF
nsenter --net="/run/netns/$NS" /usr/sbin/sshd -f "$TMP/sshd_config" -E "$TMP/sshd.log" ||
	{ echo "FAIL: sshd did not start: $(tail -n 3 "$TMP/sshd.log")"; exit 1; }
echo "$ADDR $(cat "$TMP/host_key.pub")" >"$TMP/known_hosts"
cat >"$TMP/ssh_config" <<EOF
Host *
  IdentityFile $TMP/id
  IdentitiesOnly yes
  UserKnownHostsFile $TMP/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
EOF
export VIRTLAB_SSH_CONFIG="$TMP/ssh_config"
export VIRTLAB_STATE="$TMP/state" VIRTLAB_DATA="$TMP/data"
for i in 1 2 3 4 5 6 7 8 9 10; do
	ssh -F "$TMP/ssh_config" -o BatchMode=yes root@"$ADDR" true 2>/dev/null && break
	sleep 0.5
done

# The study: cpu, one vCPU, five samples a side (the least that can call a
# difference significant).
start=$(date +%s)
expect 0 "study with an ssh host" -- "$VIRTLAB" study --host "remote=ssh:root@$ADDR" \
	--platforms bare,container,bare@remote,container@remote --experiments cpu --repeat 5 \
	--set cpu.vcpus=1 --set cpu.rsa.keys=1 --out "$TMP/study" ||
	sed 's/^/  /' "$TMP/err" | tail -n 15
echo "study with an ssh host: $(($(date +%s) - start)) s"
R=$TMP/study/results.json
if [ -e "$R" ]; then
	usable=$(jq -r '.platforms[] | select(.name == "container@remote") | .usable' "$R")
	[ "$usable" = true ] || [ "$usable" = false ] ||
		fail "no platform container@remote in results.json"
	if [ "$usable" = false ]; then
		why=$(jq -r '.platforms[] | select(.name == "container@remote") | .reason' "$R")
		echo "SKIP: the container platform is not usable on the ssh host: $why"
		exit 77
	fi
	[ "$(jq -r '.hosts.remote.status' "$R")" = done ] ||
		fail "host remote: $(jq -r '.hosts.remote | "\(.status): \(.reason)"' "$R")"
	[ "$(jq -r '.hosts.remote.accel' "$R")" = real ] || fail "host remote's accel is not real"
	[ "$(jq -r '.hosts.remote.facts.hostname' "$R")" = "$(hostname)" ] ||
		fail "host remote's facts are missing"
	[ "$(jq -r '.platforms[] | select(.name == "bare@remote") | .host' "$R")" = remote ] ||
		fail "bare@remote is not marked as host remote's"
	for p in bare container bare@remote container@remote; do
		n=$(jq "[.experiments.cpu.rows[] | select(.platform == \"$p\" and .summary != null)] |
			length" "$R")
		[ "$n" -gt 0 ] || fail "no measured cpu rows for $p"
	done
	bad=$(jq -r '.experiments.cpu.rows[] | select(.platform == "container@remote" and
		.overhead != null and .overhead.against != "bare@remote") | .workload' "$R")
	[ -z "$bad" ] || fail "container@remote rows not against bare@remote: $bad"
	n=$(jq '[.experiments.cpu.rows[] | select(.platform == "container@remote" and
		.overhead.against == "bare@remote")] | length' "$R")
	[ "$n" -gt 0 ] || fail "no container@remote overhead against bare@remote"
	bad=$(jq -r '.experiments.cpu.rows[] | select(.platform == "container" and
		.overhead != null and .overhead.against != "bare") | .workload' "$R")
	[ -z "$bad" ] || fail "container rows not against bare: $bad"
	[ -s "$TMP/study/hosts/remote/results.json" ] || fail "the host's own results.json is not kept"
	grep -q "container@remote" "$TMP/study/report.md" || fail "report.md has no container@remote"
	grep -q "compares their hardware" "$TMP/study/report.md" ||
		fail "report.md does not warn that hosts compare hardware"
	echo "$(jq -r '.experiments.cpu.rows[] | select(.workload == "cpu.primes" and
		.overhead != null) | "\(.platform) cpu.primes against \(.overhead.against):" +
		" \(.overhead.ratio)"' "$R")"
fi

# An unknown host key: the host fails with the reason, the study goes on.
: >"$TMP/known_hosts"
expect 0 "study with an ssh host whose key is unknown" -- "$VIRTLAB" study \
	--host "remote=ssh:root@$ADDR" --platforms bare,bare@remote --experiments features \
	--out "$TMP/nokey" --no-report
reason=$(jq -r '.hosts.remote | "\(.status): \(.reason)"' "$TMP/nokey/results.json")
case "$reason" in
failed:*known_hosts*) echo "ok: unknown host key: $reason" ;;
*) fail "unknown host key: host recorded as '$reason'" ;;
esac
echo "$ADDR $(cat "$TMP/host_key.pub")" >"$TMP/known_hosts"
# --resume runs the host that failed, and merges it.
expect 0 "--resume of the study whose host failed" -- "$VIRTLAB" study --resume "$TMP/nokey" \
	--no-report
[ "$(jq -r '.hosts.remote.status' "$TMP/nokey/results.json")" = done ] ||
	fail "--resume: host remote is $(jq -r '.hosts.remote.status' "$TMP/nokey/results.json")"
n=$(jq '[.experiments.features.features[] | select(.platform == "bare@remote")] | length' \
	"$TMP/nokey/results.json")
[ "$n" -gt 0 ] || fail "--resume: no features of bare@remote merged"

# Starts a study whose host part runs long (isolation), in the background,
# and waits until the host's study runs: $pid, $running (its run file).
start_long_study() {
	"$VIRTLAB" study --host "remote=ssh:root@$ADDR" --platforms bare,container@remote \
		--experiments isolation --out "$TMP/$1" --no-report >/dev/null 2>"$TMP/$1.err" &
	pid=$!
	running=""
	for i in $(seq 1 120); do
		running=$(ls /var/tmp/virtlab-host.*/run.* 2>/dev/null | head -n 1)
		[ -n "$running" ] && break
		sleep 0.5
	done
	[ -n "$running" ] || fail "$1: the host's study did not start within 60 s"
	remote_pid=$(cat "$running" 2>/dev/null)
	sleep 2
}

# Nothing of the host's study is left: its process, guests, work directory.
check_host_gone() {
	for i in $(seq 1 180); do
		[ "$(ls -d /var/tmp/virtlab-host.* 2>/dev/null)" = "$before" ] && break
		sleep 0.5
	done
	[ -n "$remote_pid" ] && kill -0 "$remote_pid" 2>/dev/null &&
		fail "$1: the host's study (pid $remote_pid) still runs"
	after=$(ls -d /var/tmp/virtlab-host.* 2>/dev/null)
	[ "$after" = "$before" ] || fail "$1: work directories left on the host: $after"
}

# SIGTERM while the host's study runs: it stops there, its guests and work
# directory go, and the host is left pending for --resume.
start_long_study killed
kill -TERM $pid
wait $pid
[ $? -ne 0 ] || fail "a study stopped by SIGTERM exited 0"
[ "$(jq -r '.hosts.remote.status' "$TMP/killed/results.json")" = pending ] ||
	fail "an interrupted host is not left pending for --resume"
check_host_gone SIGTERM && echo "ok: SIGTERM stops the host's study and removes its work directory"

# kill -9: nobody closes the host; its study notices, stops and removes the
# work directory itself.
start_long_study killed9
kill -KILL $pid
wait $pid 2>/dev/null
check_host_gone "kill -9" && echo "ok: after kill -9 the host's study stops and cleans up"

[ $failures -eq 0 ] || exit 1
echo "all ssh host checks passed"
