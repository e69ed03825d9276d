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
# The inline claim of qshm.h, used through its macro, through the library
# function and with QSHM_NO_INLINE, in C and C++.
cat > "$tmp/claim.c" <<'EOF2'
#include <qshm/qshm.h>
int use(qshm_producer *p, void **b)
{
	int e = qshm_producer_claim(p, 64, QSHM_TYPE_USER_MIN, 0, b);
	int (*fn)(qshm_producer *, size_t, uint16_t, int64_t, void **) =
		qshm_producer_claim;
	return e ? e : (qshm_producer_claim)(p, 8, 16, 0, b) + (fn != 0);
}
EOF2
for def in "" -DQSHM_NO_INLINE; do
	for cc in gcc clang; do
		command -v $cc >/dev/null 2>&1 || continue
		$cc -std=c11 -Wall -Wextra -Wpedantic -Werror $def -I"$inc" -c \
			"$tmp/claim.c" -o "$tmp/t.o" ||
			{ echo "FAIL: $cc C11 claim $def"; fail=1; }
	done
	for cxx in g++ clang++; do
		command -v $cxx >/dev/null 2>&1 || continue
		$cxx -std=c++17 -Wall -Wextra -Wpedantic -Werror $def -I"$inc" \
			-x c++ -c "$tmp/claim.c" -o "$tmp/t.o" ||
			{ echo "FAIL: $cxx C++17 claim $def"; fail=1; }
	done
done
[ $fail = 0 ] && echo "ok: the inline claim"
[ $cc_seen = 1 ] || { echo "no C compiler found"; exit 1; }
[ $cxx_seen = 1 ] || { echo "no C++ compiler found"; exit 77; }
exit $fail
