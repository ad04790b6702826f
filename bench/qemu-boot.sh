#!/bin/sh
# Cold start of a qemu guest: virtlab's (launch to the agent's hello, timed
# around `virtlab guest start`, so virtlab's own start-up and exit count)
# against a plain qemu boot (launch to the line its /init prints), interleaved
# in a rotating order so that all see the same host load.
#
# The plain guest: the same kernel file virtlab boots (the uncompressed vmlinux
# it extracts from Debian's vmlinuz: PVH entry, no decompression), the same
# machine type, accelerator, CPU model, vCPUs and memory, -nodefaults, and an
# initramfs of the same busybox whose /init only prints a line and powers off.
# What differs, and why:
#   - virtlab's guest also has its virtio-serial and virtio-blk devices, a
#     larger initramfs (the agent, modules) and an /init that loads modules
#     and starts the agent: the work a plain boot does not do;
#   - the kernel command line. "plain" gets a stock one: console=ttyS0 (its
#     line is read from the serial port), quiet, and no_timer_check, without
#     which a busy host can make any TCG boot panic ("IO-APIC + timer doesn't
#     work"). "plain+opts" gets virtlab's own options too (the record's
#     cmdline without its virtlab.* parameters), to show how much of virtlab's
#     time is its kernel options and how much the rest.
# Prints every round, then the median [min, max] of each.
# Usage: bench/qemu-boot.sh [BUILD_DIR] [ROUNDS]   (root; default build, 5)
# Time it alone: flock /tmp/virtlab-measure.lock bench/qemu-boot.sh ...
set -eu

. "$(dirname "$0")/lib.sh"
bench_init qemu-boot.sh 5 5 cgroups "$@"
marker="virtlab-plain-boot-up"
name="virtlab-bench-boot"
command -v qemu-system-x86_64 >/dev/null || fail "no qemu-system-x86_64 (scripts/deps)"
command -v jq >/dev/null || fail "no jq (apt-get install jq)"
[ -x /bin/busybox ] || fail "no /bin/busybox (apt-get install busybox-static)"

tmp=$(mktemp -d /tmp/virtlab-bench-boot.XXXXXX)
export VIRTLAB_STATE="$tmp/state" VIRTLAB_DATA="$tmp/data" VIRTLAB_AGENT="$build/virtlab-agent"
cleanup() {
	"$virtlab" -q guest destroy "$name" >/dev/null 2>&1 || true
	"$virtlab" -q cleanup "$name" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }

"$virtlab" -q guest create "$name" --platform qemu --cpus 1 --memory 256M
# The first start builds the kernel and initramfs and fills the page cache.
"$virtlab" -q guest start "$name"
"$virtlab" -q guest stop "$name"
record=$("$virtlab" guest info "$name" --json)
field() { printf '%s' "$record" | jq -r ".record.$1"; }
kernel=$(field kernel)
accel=$(field accel)
opts=$(field cmdline | tr ' ' '\n' | grep -v '^virtlab\.' | tr '\n' ' ')
if [ "$kernel" = null ] || [ "$opts" = "null " ]; then
	fail "the guest's record has no kernel or cmdline"
fi
plain_opts="console=ttyS0 quiet no_timer_check"
echo "kernel $kernel, accel $accel"
echo "plain: $plain_opts"
echo "plain+opts and virtlab: $opts"

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
		-nodefaults -no-user-config -display none -kernel "$kernel" -initrd "$tmp/plain.cpio" \
		-append "$1" -serial stdio </dev/null |
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

one() {
	case "$1" in
	virtlab) virtlab_boot ;;
	plain) plain_boot "$plain_opts" ;;
	plain+opts) plain_boot "$opts" ;;
	esac
}

: >"$tmp/virtlab.txt"
: >"$tmp/plain.txt"
: >"$tmp/plain+opts.txt"
i=1
while [ "$i" -le "$rounds" ]; do
	case $((i % 3)) in
	1) order="virtlab plain plain+opts" ;;
	2) order="plain plain+opts virtlab" ;;
	0) order="plain+opts virtlab plain" ;;
	esac
	line="round $i:"
	for what in $order; do
		t=$(one "$what")
		echo "$t" >>"$tmp/$what.txt"
		line="$line $what $t s;"
	done
	echo "$line"
	i=$((i + 1))
done

echo "median [min, max] of $rounds rounds ($accel):"
echo "  virtlab start to hello:      $(summary "$tmp/virtlab.txt" s 2)"
echo "  plain boot to line:          $(summary "$tmp/plain.txt" s 2)"
echo "  plain+opts boot to line:     $(summary "$tmp/plain+opts.txt" s 2)"
if awk -v v="$(median "$tmp/virtlab.txt")" -v p="$(median "$tmp/plain.txt")" \
	'BEGIN { exit !(v <= p) }'; then
	echo "virtlab's median is no slower than the plain boot's"
else
	echo "virtlab's median is slower than the plain boot's"
fi
