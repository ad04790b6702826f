#!/bin/sh
# Cold start of a qemu guest: virtlab's (launch to the agent's hello, through
# `virtlab guest start`) against a plain qemu boot of the same kernel with a
# busybox initramfs that prints one line and powers off (launch to that line),
# interleaved so that all see the same host load. The plain boot is timed
# twice: with the kernel as Debian installs it (/boot/vmlinuz-*) and with the
# uncompressed vmlinux that virtlab extracts from it and boots (PVH entry, no
# decompression). Prints every round and the medians.
# Usage: bench/qemu-boot.sh [BUILD_DIR] [ROUNDS]   (root; default build, 5)
set -eu

build=${1:-build}
rounds=${2:-5}
virtlab="$build/virtlab"
marker="virtlab-plain-boot-up"
name="virtlab-bench-boot"

fail() {
	echo "qemu-boot.sh: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (cgroups)"
[ -x "$virtlab" ] || fail "no $virtlab: build first (meson setup $build && ninja -C $build)"
[ -x "$build/virtlab-agent" ] || fail "no $build/virtlab-agent (static agent; no sanitizers)"
command -v qemu-system-x86_64 >/dev/null || fail "no qemu-system-x86_64 (scripts/deps)"
[ -x /bin/busybox ] || fail "no /bin/busybox (apt-get install busybox-static)"
case "$rounds" in '' | *[!0-9]*) fail "ROUNDS must be a number, not '$rounds'" ;; esac
[ "$rounds" -ge 5 ] || fail "ROUNDS must be at least 5 for a median"

tmp=$(mktemp -d /tmp/virtlab-bench-boot.XXXXXX)
export VIRTLAB_STATE="$tmp/state" VIRTLAB_DATA="$tmp/data" VIRTLAB_AGENT="$build/virtlab-agent"
cleanup() {
	"$virtlab" -q guest destroy "$name" >/dev/null 2>&1 || true
	"$virtlab" -q cleanup "$name" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }

"$virtlab" -q guest create "$name" --platform qemu --cpus 1 --memory 256M
# The first start builds nothing more, but fills the page cache for both.
"$virtlab" -q guest start "$name"
"$virtlab" -q guest stop "$name"
record=$("$virtlab" guest info "$name" --json)
field() { printf '%s' "$record" | python3 -c "import json,sys; print(json.load(sys.stdin)['record']['$1'])"; }
kernel=$(field kernel)
vmlinuz=/boot/vmlinuz-$(field kernel_release)
accel=$(field accel)
echo "kernel $kernel, accel $accel"

# The plain guest: busybox, an /init that prints the marker and powers off.
mkdir -p "$tmp/plain/bin" "$tmp/plain/proc"
cp /bin/busybox "$tmp/plain/bin/busybox"
ln -s busybox "$tmp/plain/bin/sh"
printf '#!/bin/sh\n/bin/busybox echo %s\n/bin/busybox poweroff -f\n' "$marker" >"$tmp/plain/init"
chmod 755 "$tmp/plain/init"
(cd "$tmp/plain" && find . | /bin/busybox cpio -o -H newc >"$tmp/plain.cpio" 2>/dev/null)
cpu=max
[ "$accel" = kvm ] && cpu=host

plain_boot() {
	t0=$(now)
	timeout 120 qemu-system-x86_64 -machine pc -accel "$accel" -cpu "$cpu" -smp 1 -m 256M \
		-nodefaults -no-user-config -display none -kernel "$1" -initrd "$tmp/plain.cpio" \
		-append "console=ttyS0 quiet no_timer_check" -serial stdio </dev/null |
		{
			grep -m1 -q "$marker" && now >"$tmp/t_plain"
			cat >/dev/null
		}
	[ -s "$tmp/t_plain" ] || fail "the plain guest never printed its line"
	elapsed "$t0" "$(cat "$tmp/t_plain")"
	rm -f "$tmp/t_plain"
}

virtlab_boot() {
	t0=$(now)
	"$virtlab" -q guest start "$name"
	t1=$(now)
	"$virtlab" -q guest stop "$name"
	elapsed "$t0" "$t1"
}

: >"$tmp/virtlab.txt"
: >"$tmp/vmlinuz.txt"
: >"$tmp/vmlinux.txt"
i=1
while [ "$i" -le "$rounds" ]; do
	v=$(virtlab_boot)
	z=$(plain_boot "$vmlinuz")
	x=$(plain_boot "$kernel")
	echo "$v" >>"$tmp/virtlab.txt"
	echo "$z" >>"$tmp/vmlinuz.txt"
	echo "$x" >>"$tmp/vmlinux.txt"
	printf 'round %d: virtlab start-to-hello %.2f s; plain boot-to-line: vmlinuz %.2f s, vmlinux %.2f s\n' \
		"$i" "$v" "$z" "$x"
	i=$((i + 1))
done

median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf 'median of %d (%s): virtlab %.2f s; plain qemu: vmlinuz %.2f s, vmlinux %.2f s\n' \
	"$rounds" "$accel" "$(median "$tmp/virtlab.txt")" "$(median "$tmp/vmlinuz.txt")" \
	"$(median "$tmp/vmlinux.txt")"
