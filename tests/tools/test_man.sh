#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_man.sh - every subcommand `qshm --help` lists has a man page in
# docs/man, named in qshm.1; each page names the options its --help
# lists and has an EXIT STATUS section; groff formats each one without
# warnings (skipped when groff is not installed).
. "$(dirname "$0")/common.sh"

: "${MAN_DIR:?MAN_DIR must name docs/man}"
[ -f "$MAN_DIR/qshm.1" ] || fail "no $MAN_DIR/qshm.1"
cmds=$("$QSHM" --help | sed -n 's/^  \([a-z]*\) .*/\1/p')
[ -n "$cmds" ] || fail "qshm --help lists no commands"
for c in $cmds; do
	page="$MAN_DIR/qshm-$c.1"
	[ -f "$page" ] || fail "subcommand $c has no man page ($page)"
	grep -q "qshm\\\\-$c (1)" "$MAN_DIR/qshm.1" ||
		fail "qshm.1 does not refer to qshm-$c(1)"
	grep -q '^\.SH EXIT STATUS' "$page" || fail "$page: no EXIT STATUS"
	# Every long option of --help appears in the page (as \-\-opt).
	for opt in $("$QSHM" "$c" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		[ "$opt" = --help ] && continue
		esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
		grep -q -- "$esc" "$page" || fail "$page does not document $opt"
	done
done
ok "a page per subcommand, each documenting its options and exit status"

if command -v groff >/dev/null; then
	for page in "$MAN_DIR"/*.1; do
		out=$(groff -man -ww -z "$page" 2>&1) || fail "groff failed on $page"
		[ -z "$out" ] || fail "groff warns on $page: $out"
	done
	ok "groff formats every page without warnings"
else
	echo "note: groff not installed; pages not formatted"
fi
