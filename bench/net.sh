#!/bin/sh
# Interleaves virtlab's net.stream and iperf3 on the same paths of the
# network test topology (`virtlab net up`): host -> outside host, stand-in
# guest namespace -> outside host and container guest -> outside host, in
# bridged and NAT mode. Prints every run and, per path, the medians and their
# ratio virtlab/iperf3, and per mode the container's median over the host's.
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
	-h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

ours() { # PREFIX...: net.stream through the bare platform (or --guest's agent), Gbit/s
	[ -z "$guest_opt" ] || set --
	"$@" "$virtlab" -q run net.stream -p host="$out" -p port="$port" -p duration="$duration" \
		--repeat 1 --warmup 0 --json $guest_opt |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["samples"][0]["metrics"]["gbps"])'
}

theirs() { # PREFIX...: iperf3 with the same connection count and write size, Gbit/s
	"$@" iperf3 -c "$out" -p 5201 -t "$duration" -P 1 -l 131072 -J |
		python3 -c 'import json,sys
print(json.load(sys.stdin)["end"]["sum_sent"]["bits_per_second"] / 1e9)'
}

# in_cgroups PID CMD...: CMD in the cgroups of process PID (the container's
# init), so that iperf3 competes for the CPU as the guest's own agent does.
in_cgroups() {
	target=$1
	shift
	sh -c 'while IFS=: read -r _ ctrl path; do
		case $ctrl in
		"") dir=/sys/fs/cgroup/unified; [ -d "$dir" ] || dir=/sys/fs/cgroup ;;
		name=*) dir=/sys/fs/cgroup/${ctrl#name=} ;;
		*) dir=/sys/fs/cgroup/$ctrl ;;
		esac
		echo $$ >"$dir$path/cgroup.procs" 2>/dev/null || true
	done <"/proc/$0/cgroup"
	exec "$@"' "$target" "$@"
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

slot=120
for mode in $modes; do
	"$virtlab" -q net up --mode "$mode" --guest --container --id "b$(($$ % 100000))" \
		--slot "$slot" >"$tmp/up" &
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
	for path in host guest container; do
		guest_opt=""
		case $path in
		host) set -- ;;
		guest) set -- ip netns exec "$guest_ns" ;;
		# Ours through the container's own agent, iperf3 in its namespace.
		container)
			set -- in_cgroups "$(field container-pid)" nsenter -t "$(field container-pid)" -n
			guest_opt="--guest $(field container)"
			;;
		esac
		: >"$tmp/ours"
		: >"$tmp/theirs"
		for run in $(seq "$runs"); do
			a=$(ours "$@")
			b=$(theirs "$@")
			echo "$a" >>"$tmp/ours"
			echo "$b" >>"$tmp/theirs"
			printf '%-8s %-9s run %s: virtlab %6.2f  iperf3 %6.2f Gbit/s\n' "$mode" "$path" "$run" "$a" "$b"
		done
		a=$(median <"$tmp/ours")
		b=$(median <"$tmp/theirs")
		echo "$a" >"$tmp/median-$path"
		printf '%-8s %-9s median: virtlab %6.2f  iperf3 %6.2f Gbit/s  ratio %.3f\n' \
			"$mode" "$path" "$a" "$b" "$(echo "$a $b" | awk '{print $1/$2}')"
	done
	printf '%-8s container/host (virtlab medians): %.3f\n' "$mode" \
		"$(cat "$tmp/median-container" "$tmp/median-host" | paste -sd' ' | awk '{print $1/$2}')"
	stop_all
	slot=$((slot + 1))
done
