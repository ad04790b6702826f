# Shared by the bench scripts that time virtlab against a reference tool.
# POSIX sh; sourced first, then bench_init.

fail() {
	echo "$bench: $*" >&2
	exit 1
}

# bench_init NAME DEFAULT_ROUNDS MIN_ROUNDS WHY [BUILD_DIR [ROUNDS]]: the
# script's name (for messages), its arguments as build (default "build"),
# rounds and virtlab ($build/virtlab), then its needs: root (WHY says what
# for), the build's virtlab and static agent, ROUNDS a number of at least
# MIN_ROUNDS.
bench_init() {
	bench=$1
	build=${5:-build}
	rounds=${6:-$2}
	virtlab="$build/virtlab"
	[ "$(id -u)" = 0 ] || fail "needs root ($4)"
	[ -x "$virtlab" ] || fail "no $virtlab: build first (meson setup $build && ninja -C $build)"
	[ -x "$build/virtlab-agent" ] || fail "no $build/virtlab-agent (static agent; no sanitizers)"
	case "$rounds" in '' | *[!0-9]*) fail "ROUNDS must be a number, not '$rounds'" ;; esac
	[ "$rounds" -ge "$3" ] || fail "ROUNDS must be at least $3"
}

# Seconds since the epoch, to the nanosecond.
now() { date +%s.%N; }

# median FILE [DECIMALS]: the median of FILE's numbers, one a line (the mean
# of the middle two for an even count), rounded when DECIMALS is given.
median() {
	sort -n "$1" | awk -v d="${2:-}" '{v[NR] = $1}
		END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		     if (d == "") print m; else printf "%.*f\n", d, m}'
}

# range FILE [DECIMALS]: "[min, max]" of FILE's numbers (1 decimal by default).
range() {
	sort -n "$1" | awk -v d="${2:-1}" '{v[NR] = $1} END {printf "[%.*f, %.*f]", d, v[1], d, v[NR]}'
}

# summary FILE UNIT [DECIMALS]: "median UNIT [min, max]".
summary() {
	printf '%s %s %s' "$(median "$1" "${3:-1}")" "$2" "$(range "$1" "${3:-1}")"
}
