#!/bin/sh
# Every C file is as clang-format (the repo's .clang-format) writes it.
set -eu
top=${1:?usage: clang_format.sh SOURCE-ROOT}
command -v clang-format >/dev/null || { echo "SKIP: clang-format is not installed"; exit 77; }
cd "$top"
files=$(find src tests -name '*.[ch]' | sort)
# shellcheck disable=SC2086
if ! clang-format --dry-run --Werror $files; then
	echo "FAIL: run: clang-format -i \$(find src tests -name '*.[ch]')" >&2
	exit 1
fi
