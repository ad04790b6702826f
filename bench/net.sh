#!/bin/sh
# Interleaves virtlab's net.stream and iperf3 on the same paths of the
# network test topology (`virtlab net up`): host -> outside host and
# stand-in guest namespace -> outside host, in bridged and NAT mode.
# Prints every run and, per path, the medians and their ratio virtlab/iperf3.
# Usage: bench/net.sh [--virtlab PATH] [--runs N] [--duration S] [--mode nat|bridged|both]
# Needs root, iperf3 and python3. Everything it starts is stopped on exit.
set -eu

virtlab=virtlab
runs=3
duration=5
modes="bridged nat"
while [ $# -gt 0 ]; do
	case "$1" in
	--virtlab) virtlab=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--mode)
		case "$2" in
		both) modes="bridged nat" ;;
		nat | bridged) modes=$2 ;;
		*) echo "bench/net.sh: --mode '$2': use nat, bridged or both" >&2; exit 2 ;;
		esac
		shift 2
		;;
	-h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/net.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench/net.sh: needs root" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "bench/net.sh: iperf3 is not installed" >&2; exit 2; }

tmp=$(mktemp -d /tmp/virtlab-bench-net.XXXXXX)
net_pid=""
iperf_pid=""
stop_all() {
	[ -n "$iperf_pid" ] && kill "$iperf_pid" 2>/dev/null && wait "$iperf_pid" 2>/dev/null || true
	# SIGTERM: `net up` removes its topology before it exits.
	[ -n "$net_pid" ] && kill "$net_pid" 2>/dev/null && wait "$net_pid" 2>/dev/null || true
	iperf_pid=""
	net_pid=""
}
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

field() { sed -n "s/^$1 //p" "$tmp/up"; }

ours() { # PREFIX...: net.stream through the bare platform, Gbit/s
	"$@" "$virtlab" -q run net.stream -p host="$out" -p port="$port" -p duration="$duration" \
		--repeat 1 --warmup 0 --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["samples"][0]["metrics"]["gbps"])'
}

theirs() { # PREFIX...: iperf3 with the same connection count and write size, Gbit/s
	"$@" iperf3 -c "$out" -p 5201 -t "$duration" -P 1 -l 131072 -J |
		python3 -c 'import json,sys
print(json.load(sys.stdin)["end"]["sum_sent"]["bits_per_second"] / 1e9)'
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

slot=120
for mode in $modes; do
	"$virtlab" -q net up --mode "$mode" --guest --id "b$(($$ % 100000))" --slot "$slot" >"$tmp/up" &
	net_pid=$!
	i=0
	until grep -q '^ready' "$tmp/up"; do
		i=$((i + 1))
		kill -0 "$net_pid" 2>/dev/null && [ $i -lt 100 ] ||
			{ echo "bench/net.sh: virtlab net up failed" >&2; exit 1; }
		sleep 0.1
	done
	out=$(field outside-address)
	port=$(field port)
	guest_ns=$(field guest-netns)
	ip netns exec "$(field outside-netns)" iperf3 -s -B "$out" -p 5201 >/dev/null 2>&1 &
	iperf_pid=$!
	sleep 0.5
	for path in host guest; do
		if [ $path = host ]; then set --; else set -- ip netns exec "$guest_ns"; fi
		: >"$tmp/ours"
		: >"$tmp/theirs"
		for run in $(seq "$runs"); do
			a=$(ours "$@")
			b=$(theirs "$@")
			echo "$a" >>"$tmp/ours"
			echo "$b" >>"$tmp/theirs"
			printf '%-8s %-6s run %s: virtlab %6.2f  iperf3 %6.2f Gbit/s\n' "$mode" "$path" "$run" "$a" "$b"
		done
		a=$(median <"$tmp/ours")
		b=$(median <"$tmp/theirs")
		printf '%-8s %-6s median: virtlab %6.2f  iperf3 %6.2f Gbit/s  ratio %.3f\n' \
			"$mode" "$path" "$a" "$b" "$(echo "$a $b" | awk '{print $1/$2}')"
	done
	stop_all
	slot=$((slot + 1))
done
