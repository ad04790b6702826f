#!/bin/sh
# The network experiment end to end on bare and container (root): both
# modes carry traffic from every platform to the outside host, the isolation
# rows have their neighbour's figure, a 100 Mbit/s rate policy holds the
# container's net.stream to at most 110 Mbit/s both ways, bare says why it has
# no device to shape, and nothing of the topologies or guests is left, with
# ip_forward as it was. Prints the container's bandwidth over bare's per mode
# (not asserted: it needs an idle host).
# Usage: study_network.sh PATH-TO-VIRTLAB
set -u
VIRTLAB=${1:?usage: study_network.sh PATH-TO-VIRTLAB}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (namespaces, links, nftables)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed (apt-get install jq)"; exit 77; }
TMP=$(mktemp -d /tmp/virtlab-study-network-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/lib.sh"
export VIRTLAB_STATE="$TMP/state" VIRTLAB_DATA="$TMP/data"
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)

if ! "$VIRTLAB" study --platforms bare,container --experiments network \
	--set network.isolation_modes=nat --set network.streams=1,4 --out "$TMP/net" --no-report \
	>"$TMP/net.out" 2>"$TMP/net.err"; then
	fail "network study failed: $(tail -n 3 "$TMP/net.err")"
	exit 1
fi
R="$TMP/net/results.json"
usable=$(jq -r '.platforms[] | select(.name == "container") | .usable' "$R")
if [ "$usable" != true ]; then
	echo "SKIP: the container platform is not usable here: $(jq -r \
		'.platforms[] | select(.name == "container") | .reason' "$R")"
	exit 77
fi
rows() { jq -r ".experiments.network.rows[] | $1" "$R"; }

for mode in bridged nat; do
	for p in bare container; do
		n=$(rows "select(.figure == \"4.8\" and .platform == \"$p\" and .workload == \"net.stream\"
			and (.variant | startswith(\"mode=$mode \")) and .summary.median > 0) | .variant" | wc -l)
		[ "$n" -eq 4 ] && echo "ok: $p, $mode: 4 net.stream cells measured" ||
			fail "$p, $mode: $n of 4 net.stream cells measured"
	done
	ratio=$(rows "select(.figure == \"4.8\" and .platform == \"container\" and
		.variant == \"mode=$mode direction=send streams=1\") | 1 / .overhead.ratio")
	echo "container/bare, $mode, one stream sent: $ratio"
done
ops=$(rows 'select(.figure == "6.4" and .platform == "container" and .workload == "stress.net") |
	.summary.median')
[ -n "$ops" ] && echo "ok: the container neighbour's stress.net ran ($ops ops/s)" ||
	fail "no stress.net row for the container neighbour"
for dir in send recv; do
	mbit=$(rows "select(.figure == \"6.4b\" and .platform == \"container\" and
		(.variant | endswith(\"direction=$dir streams=1\"))) | .summary.median * 1000")
	if [ -n "$mbit" ] && awk "BEGIN {exit !($mbit > 0 && $mbit <= 110)}"; then
		echo "ok: under a 100 Mbit/s policy the container's $dir ran at $mbit Mbit/s"
	else
		fail "under a 100 Mbit/s policy the container's $dir ran at '$mbit' Mbit/s"
	fi
done
status=$(rows 'select(.figure == "6.4b" and .platform == "bare") | .status')
[ "$status" = unsupported ] && echo "ok: bare has no device to shape" ||
	fail "bare's rate policy row is '$status', not unsupported"

# Nothing left: the study's ids are s[bn]<pid>.
left=$(ip -o link show | grep -c -E ' vl-[a-z0-9]+-s[bn][0-9]+[@:]')
[ "$left" -eq 0 ] || fail "$left links of the study left"
ls /run/netns 2>/dev/null | grep -q -E '^virtlab-outside-s[bn][0-9]+$' &&
	fail "an outside host namespace of the study is left"
[ -z "$(ls "$VIRTLAB_STATE/guests" 2>/dev/null)" ] ||
	fail "guest records left: $(ls "$VIRTLAB_STATE/guests")"
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$forward_before" ] ||
	fail "ip_forward is $(cat /proc/sys/net/ipv4/ip_forward), was $forward_before"
[ "$failures" -eq 0 ] || exit 1
echo "ok: the network experiment"
