#!/bin/bash
# Container operations against crun, interleaved so that both see the same
# host load (issue 3's acceptance):
#   start   `virtlab guest start` (returns once the agent answered hello) and
#           `virtlab guest stop`, against `crun run` of /bin/true on a bundle
#           whose root is the same golden busybox image;
#   clone   `virtlab guest clone` of a stopped overlay guest (<= 20 ms);
#   image   provisioning: `virtlab guest create` with no cached image, which
#           builds the golden image (<= 1 s), and with it cached (<= 50 ms).
# Prints every round, then median [min, max] of each and whether the targets
# hold. Times come from bash's $EPOCHREALTIME: no process is forked to read
# the clock.
#
# crun on a cgroup v1 hybrid host: crun 1.8 refuses to run when the cgroup2
# mount at /sys/fs/cgroup/unified has a controller ("cgroups in hybrid mode
# not supported"; here it holds hugetlb), with the cgroupfs and the disabled
# cgroup managers alike. What works is a private mount namespace in which that
# mount is gone: `unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun
# run ...'`. The host's mounts are untouched, and crun then sees a plain v1
# host. That wrapper has a cost of its own, so it is timed alone too ("wrapper")
# and crun's rows are given both with it (what a user of this host pays) and
# without it (the wrapper's median subtracted). The acceptance compares against
# the wrapped crun, as issue 3 asks, and the net figure is printed next to it.
#
# State: virtlab's state root and crun's (--root) are on a tmpfs that the
# bench mounts, as /run (both tools' default) is on a standard Debian host.
# Where they are on disk instead, each replacement of a state file frees a
# block; on an ext4 mounted with `discard` (this development VM's root) that
# is a synchronous discard of 2-5 ms, a few per operation for either tool.
# Guest data (the overlay's upper and work directories) stays on disk.
#
# Usage: bench/container-ops.sh [BUILD_DIR] [ROUNDS]   (root; default build, 20)
# Run it under the shared lock: flock /tmp/virtlab-measure.lock bench/container-ops.sh
set -eu

. "$(dirname "$0")/lib.sh"
bench_init container-ops.sh 20 20 "namespaces, cgroups, overlay mounts" "$@"
name="virtlab-bench-ops"
command -v crun >/dev/null || fail "no crun (apt-get install crun, or scripts/deps --reference)"
command -v python3 >/dev/null || fail "no python3 (scripts/deps)"

tmp=$(mktemp -d /tmp/virtlab-bench-ops.XXXXXX)
mkdir "$tmp/run"
mount -t tmpfs -o size=16m,mode=0700 virtlab-bench-run "$tmp/run" || fail "mounting a tmpfs"
export VIRTLAB_STATE="$tmp/run/virtlab" VIRTLAB_DATA="$tmp/data" VIRTLAB_AGENT="$build/virtlab-agent"
crun_root="$tmp/run/crun"
cleanup() {
	for g in "$name" "$name-clone" "$name-new"; do
		"$virtlab" -q guest destroy "$g" >/dev/null 2>&1 || true
		"$virtlab" -q cleanup "$g" >/dev/null 2>&1 || true
	done
	crun --root "$crun_root" delete -f "$name-crun" >/dev/null 2>&1 || true
	umount "$tmp/run"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$virtlab" -q guest create "$name" --platform container
image=$("$virtlab" guest info "$name" --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["record"]["image"])')
[ -d "$image/bin" ] || fail "guest $name has no image directory ($image)"

# The bundle: crun's default spec with the image as its root, /bin/true as
# the process, and the namespaces a virtlab guest gets (crun's default plus
# cgroup).
mkdir -p "$tmp/bundle" "$crun_root"
(cd "$tmp/bundle" && crun spec)
ln -s "$image" "$tmp/bundle/rootfs"
python3 - "$tmp/bundle/config.json" <<'EOF'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["args"] = ["/bin/true"]
spec["process"]["terminal"] = False
spec["linux"]["namespaces"].append({"type": "cgroup"})
json.dump(spec, open(path, "w"), indent=1)
EOF

# Wrapped only where crun needs it: a cgroup2 mount at unified with controllers.
wrap=0
if [ -r /sys/fs/cgroup/unified/cgroup.controllers ] &&
	[ -n "$(tr -d ' \n' </sys/fs/cgroup/unified/cgroup.controllers)" ]; then
	wrap=1
fi
crun_once() {
	if [ "$wrap" = 1 ]; then
		unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun --root "$1" run --bundle "$2" "$3"' \
			sh "$crun_root" "$tmp/bundle" "$name-crun"
	else
		crun --root "$crun_root" run --bundle "$tmp/bundle" "$name-crun"
	fi
}
wrapper_once() {
	unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec true'
}
crun_once || fail "crun run failed on this host (see above)"
echo "crun $(crun --version | head -1 | cut -d' ' -f3)$([ "$wrap" = 1 ] && echo ", wrapped: unshare -m, /sys/fs/cgroup/unified unmounted")"

# Milliseconds from $1 to $2 (or now), both $EPOCHREALTIME values; called
# once the timed commands are done, so that no awk runs between them.
since() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }'; }

# Prints start-to-hello and start-to-hello-to-stop.
run_virtlab() {
	local t0=$EPOCHREALTIME t1 t2
	"$virtlab" -q guest start "$name"
	t1=$EPOCHREALTIME
	"$virtlab" -q guest stop "$name"
	t2=$EPOCHREALTIME
	echo "$(since "$t0" "$t1") $(since "$t0" "$t2")"
}
run_crun() {
	local t0=$EPOCHREALTIME
	crun_once
	since "$t0"
}
run_wrapper() {
	local t0=$EPOCHREALTIME
	wrapper_once
	since "$t0"
}
run_clone() {
	local t0=$EPOCHREALTIME t1
	"$virtlab" -q guest clone "$name" "$name-clone"
	t1=$EPOCHREALTIME
	"$virtlab" -q guest destroy "$name-clone"
	since "$t0" "$t1"
}
# Cold: the image cache emptied first, so that create builds the image.
run_provision() {
	local t0 t1
	[ "$1" = cold ] && rm -rf "$VIRTLAB_DATA/images"
	t0=$EPOCHREALTIME
	"$virtlab" -q guest create "$name-new" --platform container
	t1=$EPOCHREALTIME
	"$virtlab" -q guest destroy "$name-new"
	since "$t0" "$t1"
}

for f in virtlab start crun wrapper clone cold cached; do : >"$tmp/$f.txt"; done
# A first start warms the page cache for both sides.
"$virtlab" -q guest start "$name"
"$virtlab" -q guest stop "$name"
i=1
while [ "$i" -le "$rounds" ]; do
	if [ $((i % 2)) = 1 ]; then order="virtlab crun"; else order="crun virtlab"; fi
	line="round $i:"
	for what in $order; do
		if [ "$what" = virtlab ]; then
			t=$(run_virtlab)
			echo "${t% *}" >>"$tmp/start.txt"
			echo "${t#* }" >>"$tmp/virtlab.txt"
			line="$line virtlab ${t#* } ms (hello at ${t% *});"
		else
			t=$(run_crun)
			echo "$t" >>"$tmp/crun.txt"
			line="$line crun $t ms;"
		fi
	done
	t=$(run_wrapper)
	echo "$t" >>"$tmp/wrapper.txt"
	line="$line wrapper $t ms;"
	t=$(run_clone)
	echo "$t" >>"$tmp/clone.txt"
	line="$line clone $t ms;"
	for what in cold cached; do
		t=$(run_provision "$what")
		echo "$t" >>"$tmp/$what.txt"
		line="$line image $what $t ms;"
	done
	echo "$line"
	i=$((i + 1))
done

net=$(awk -v c="$(median "$tmp/crun.txt" 1)" -v w="$(median "$tmp/wrapper.txt" 1)" \
	'BEGIN { printf "%.1f", c - w }')
echo "median [min, max] of $rounds interleaved rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  virtlab start to hello:          $(summary "$tmp/start.txt" ms)"
echo "  virtlab start to hello to stop:  $(summary "$tmp/virtlab.txt" ms)"
if [ "$wrap" = 1 ]; then
	echo "  crun run /bin/true, wrapped:     $(summary "$tmp/crun.txt" ms)"
	echo "  the wrapper alone:               $(summary "$tmp/wrapper.txt" ms)"
	echo "  crun run /bin/true, net:         $net ms (wrapped median - wrapper median)"
else
	echo "  crun run /bin/true:              $(summary "$tmp/crun.txt" ms)"
fi
echo "  overlay clone:                   $(summary "$tmp/clone.txt" ms)"
echo "  provision, image built:          $(summary "$tmp/cold.txt" ms)"
echo "  provision, image cached:         $(summary "$tmp/cached.txt" ms)"

verdict() { # name value limit
	if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v <= l) }'; then
		echo "  ok: $1 ($2 <= $3 ms)"
	else
		echo "  NOT MET: $1 ($2 > $3 ms)"
		met=0
	fi
}
met=1
echo "targets (medians):"
verdict "start-hello-stop no longer than crun run" "$(median "$tmp/virtlab.txt" 1)" \
	"$(median "$tmp/crun.txt" 1)"
verdict "overlay clone" "$(median "$tmp/clone.txt" 1)" 20
verdict "provision, image built" "$(median "$tmp/cold.txt" 1)" 1000
verdict "provision, image cached" "$(median "$tmp/cached.txt" 1)" 50
[ "$met" = 1 ]
