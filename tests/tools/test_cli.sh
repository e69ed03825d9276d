#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_cli.sh - conventions of the inspecting subcommands: --help on each
# (exit 0, on stdout, with the exit statuses), usage errors (exit 2, on
# stderr, naming the subcommand), bad ring names, missing rings (exit 1,
# naming the ring).
. "$(dirname "$0")/common.sh"

for cmd in dump ls rm stat hist; do
	expect_rc 0 "$QSHM" "$cmd" --help
	expect_grep "^usage: qshm $cmd" "$T/out"
	expect_grep "^Exit status: " "$T/out"
	[ ! -s "$T/err" ] || fail "$cmd --help wrote to stderr"
	expect_rc 0 "$QSHM" "$cmd" -h
done
# One usage-error style: "qshm SUB: what", then "Try 'qshm SUB --help'."
for cmd in dump ls rm stat hist sim; do
	expect_rc 2 "$QSHM" "$cmd" --no-such-option
	expect_grep "^qshm $cmd: .*--no-such-option" "$T/err"
	expect_grep "^Try 'qshm $cmd --help'.\$" "$T/err"
	[ "$(wc -l <"$T/err")" = 2 ] || fail "$cmd: more than the two lines: $(cat "$T/err")"
done
expect_rc 0 "$QSHM" --help
for cmd in dump ls rm stat; do
	expect_grep "^  $cmd " "$T/out"
done
ok "--help on every subcommand; unknown options give exit 2"

# Usage errors: exit 2, message names the subcommand.
expect_rc 2 "$QSHM" dump
expect_grep "^qshm dump: one ring name expected" "$T/err"
expect_rc 2 "$QSHM" dump a b
expect_rc 2 "$QSHM" dump -n x "$P-x"
expect_rc 2 "$QSHM" dump --duration 1 "$P-x"
expect_grep "needs --follow" "$T/err"
expect_rc 2 "$QSHM" dump 'bad/name'
expect_grep "qshm dump: .*bad/name" "$T/err"
expect_rc 2 "$QSHM" rm
expect_rc 2 "$QSHM" rm --stale --force
expect_rc 2 "$QSHM" rm --closed "$P-x"
expect_rc 2 "$QSHM" rm 'bad name'
expect_rc 2 "$QSHM" stat
expect_rc 2 "$QSHM" stat --all "$P-x"
expect_rc 2 "$QSHM" stat --json --prometheus "$P-x"
expect_rc 2 "$QSHM" stat --interval -1 "$P-x"
expect_rc 2 "$QSHM" stat --interval 0 --count 3 "$P-x"
expect_rc 2 "$QSHM" stat --duration 3 "$P-x"
expect_rc 2 "$QSHM" stat --max-requests 0 --listen 127.0.0.1:0 "$P-x"
# Sizes: one parser for every command; a second suffix is refused
# (tests/tools/test_parse.c has the cases).
expect_rc 2 "$QSHM" demo --capacity 4KK
expect_rc 2 "$QSHM" hist --top 5x "$P-x"
expect_rc 2 "$QSHM" demo --max-size 1MK
if "$QSHM" --help 2>&1 | grep -q serve; then
	expect_rc 2 "$QSHM" serve "$P-s" --memory 4KK
	expect_rc 2 "$QSHM" serve "$P-s" --memory 20000000T
	expect_rc 2 "$QSHM" sim "$QASM_DIR/small/bell_n4.qasm" --ring "$P-s" --capacity 4KK
fi
expect_rc 2 "$QSHM" stat '../etc'
ok "usage errors give exit 2 with a message"

# A ring that does not exist: exit 1, the message names it.
expect_rc 1 "$QSHM" dump "$P-missing"
expect_grep "no ring named '$P-missing'" "$T/err"
expect_rc 1 "$QSHM" stat --interval 0 "$P-missing"
expect_grep "no ring named '$P-missing'" "$T/err"
expect_rc 1 "$QSHM" rm "$P-missing"
expect_grep "ring '$P-missing'.*no such ring" "$T/err"
expect_rc 1 "$QSHM" ls "$P-missing"
expect_grep "no ring matches '$P-missing'" "$T/err"
ok "missing rings: exit 1, named in the message"

# ls without patterns: exit 0 whatever there is. JSON is an array of
# objects with at least name and state.
expect_rc 0 "$QSHM" ls
expect_rc 0 "$QSHM" ls --json
jcheck "$T/out" "isinstance(d, list)" "all('name' in r and 'state' in r for r in d)"
bg "$T/prod" "$RINGCTL" produce "$P-one" --records 3 --hold 30
wait_for "$T/prod" '^ready'
expect_rc 0 "$QSHM" ls --json "$P-*"
jcheck "$T/out" "[(r['name'], r['state']) for r in d] == [('$P-one', 'live')]"
expect_rc 0 "$QSHM" ls "$P-*"
expect_grep "^NAME +STATE +SIZE +FORMAT +PRODUCER +ALIVE +REL +LOSSY +GEN +AGE +CREATED\$" "$T/out"
expect_grep "^$P-one +live +80\\.0 KiB +3\\.0 +$BG +yes +0 +0 +1 +[0-9]+[smhd] +[0-9T:-]+Z\$" "$T/out"
expect_rc 0 "$QSHM" ls -H "$P-*"
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "ls -H printed a header"
# --all sees every ring on the machine: other programs' unusable rings
# are reported (not usable, why) and leave the status 0.
expect_rc 0 "$QSHM" stat --all --interval 0
expect_grep "^ring '$P-one': live" "$T/out"
! grep -q "^ring '$P-.*not usable" "$T/out" || fail "stat --all: $(cat "$T/out")"
ok "ls: text and JSON; stat --all"
