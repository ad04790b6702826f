# Shared by the shell tests: sourced after TMP is set.
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, output in $TMP/out and $TMP/err.
expect() {
	code=$1
	what=$2
	shift 3
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	# Sanitizer builds report and go on: their reports are failures here.
	if grep -q -e 'runtime error:' -e 'Sanitizer' "$TMP/err"; then
		fail "$what: sanitizer report"
		head -5 "$TMP/err"
	fi
	if [ "$got" -ne "$code" ]; then
		fail "$what: exit $got, expected $code"
		sed 's/^/  stderr: /' "$TMP/err" | head -5
		return 1
	fi
	echo "ok: $what"
}
