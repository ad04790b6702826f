# Shared by the lab host tests (lab_kvm.sh, lab_kvm_study.sh,
# lab_xen_study.sh): sourced after VIRTLAB and AGENT are set.

# Exits 77 with the reason when root, qemu's tools, jq, a Debian kernel or
# the static agent is missing.
lab_needs() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: needs root (qemu's cgroup, the lab's state)"
		exit 77
	fi
	for tool in qemu-system-x86_64 qemu-img mkfs.ext4 jq; do
		if ! command -v "$tool" >/dev/null; then
			echo "SKIP: needs $tool (scripts/deps installs it)"
			exit 77
		fi
	done
	if ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
		echo "SKIP: needs a Debian kernel in /boot (linux-image-amd64)"
		exit 77
	fi
	if ! [ -x "$AGENT" ] || ldd "$AGENT" >/dev/null 2>&1; then
		echo "SKIP: needs the static agent (sanitized builds have none)"
		exit 77
	fi
}

# lab_setup TAG LAB: a directory of the test's own ($TMP, named after TAG)
# holding the state and data roots, the lab's name ($LAB), lib.sh's fail and
# expect, and a trap that cleans up the lab and kills its qemu on exit.
lab_setup() {
	TMP=$(mktemp -d "/tmp/virtlab-$1-XXXXXX")
	export VIRTLAB_STATE="$TMP/state" VIRTLAB_DATA="$TMP/data" VIRTLAB_AGENT="$AGENT"
	LAB=$2
	. "$(dirname "$0")/lib.sh"
	trap lab_finish EXIT
	trap 'exit 130' INT TERM
}

# The lab's qemu: its -name, and its sockets under this test's directory.
qemu_of_lab() {
	pgrep -f -- "-name virtlab-lab-$LAB .*$TMP"
}

lab_finish() {
	"$VIRTLAB" cleanup "lab-$LAB" >/dev/null 2>&1
	pids=$(qemu_of_lab)
	if [ -n "$pids" ]; then kill -9 $pids; fi
	rm -rf "$TMP"
}

# lab_check_clean WHEN: no qemu of the lab, no socket, no lab image, no lab
# record.
lab_check_clean() {
	if qemu_of_lab >/dev/null; then fail "$1: a qemu process of the lab is left"; fi
	if [ -n "$(find "$TMP" -type s 2>/dev/null)" ]; then fail "$1: a socket is left"; fi
	if ls "$VIRTLAB_DATA"/images/lab-* >/dev/null 2>&1; then fail "$1: the lab image is left"; fi
	if [ -e "$VIRTLAB_STATE/guests/lab-$LAB" ]; then fail "$1: the lab's record is left"; fi
}

# lab_done MESSAGE: exits 1 with the count of failures, if any; else prints MESSAGE.
lab_done() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures failure(s)"
		exit 1
	fi
	echo "$1"
}
