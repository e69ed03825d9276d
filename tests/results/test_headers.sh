#!/bin/sh
# Every public header compiles alone, warning-free, as C11 and as C++17
# (with whichever of gcc/g++/clang/clang++ are installed; at least one C
# and one C++ compiler must be). Usage: test_headers.sh INCLUDE_DIR
set -u
inc=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0 cc_seen=0 cxx_seen=0
for h in "$inc"/qshm/*.h; do
	name=qshm/$(basename "$h")
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' \
		"$name" "$name" > "$tmp/t.c"
	for cc in gcc clang; do
		command -v $cc >/dev/null 2>&1 || continue
		cc_seen=1
		$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$inc" -c \
			"$tmp/t.c" -o "$tmp/t.o" || { echo "FAIL: $cc C11 $name"; fail=1; }
	done
	for cxx in g++ clang++; do
		command -v $cxx >/dev/null 2>&1 || continue
		cxx_seen=1
		$cxx -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$inc" -x c++ -c \
			"$tmp/t.c" -o "$tmp/t.o" || { echo "FAIL: $cxx C++17 $name"; fail=1; }
	done
	[ $fail = 0 ] && echo "ok: $name"
done
[ $cc_seen = 1 ] || { echo "no C compiler found"; exit 1; }
[ $cxx_seen = 1 ] || { echo "no C++ compiler found"; exit 77; }
exit $fail
