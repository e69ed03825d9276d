#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_faults.sh - every command's exit status after a fault is the one
# docs/tools.md and the man pages give, and comes with a message on
# stderr: a bad name, no such ring, the producer killed under hist, dump
# --follow and the Python reader, the ring truncated under them and under
# sim, the ring removed under a run; and `stat --all` and `ls` report rings
# they cannot use (another format, being created, not ours) and go on.
. "$(dirname "$0")/common.sh"

BELL=$QASM_DIR/small/bell_n4.qasm

# more_readers RING OUT: beside sim_with_hist's hist, `dump --follow` and
# the Python package's lossy hist on RING (OUT-dump, OUT-py; pids in $DUMP
# and $PYH).
more_readers() {
	bg "$2-dump" "$QSHM" dump --follow -n 0 "$1"
	DUMP=$BG
	bg "$2-py" "${PYQSHM[@]}" hist --json --lossy --wait 10 "$1"
	PYH=$BG
}

# ---- a bad name: usage, status 2, for every command that takes one ----
for cmd in dump stat hist rm; do
	expect_rc 2 "$QSHM" "$cmd" "bad/name"
	expect_msg "$cmd bad/name"
done
expect_rc 2 "$QSHM" sim "$BELL" --ring "bad/name"
expect_msg "sim --ring bad/name"
expect_rc 2 "${PYQSHM[@]}" hist "bad/name"
expect_msg "python hist bad/name"
ok "a bad name: status 2 and a message (dump, stat, hist, rm, sim, python hist)"

# ---- no such ring: status 1 ----
for cmd in dump stat rm; do
	expect_rc 1 "$QSHM" "$cmd" "$P-none"
	expect_grep "'$P-none'" "$T/err"
done
expect_rc 1 "$QSHM" hist --wait 0 "$P-none"
expect_grep "'$P-none'" "$T/err"
expect_rc 1 "${PYQSHM[@]}" hist --wait 0 "$P-none"
expect_msg "python hist of no ring"
expect_rc 1 "$QSHM" ls "$P-none*"
expect_msg "ls of no match"
ok "no such ring: status 1 naming it (dump, stat, rm, hist, python hist; ls for a pattern that matches nothing)"

# ---- the producer killed under its consumers ----
R="$P-kill"
sim_with_hist "$R" "$T/k"
more_readers "$R" "$T/k"
# Both readers are attached before the fault (the Python one starts slowly).
wait_for "$T/k-dump" "^following '$R'" 30
wait_consumer "$R" "$PYH"
kill -KILL "$SIM"
wait "$SIM" 2>/dev/null || true
ended "$HIST" 3 "hist (producer killed)" "$T/k-hist.err" "died"
ended "$DUMP" 0 "dump --follow (producer killed)" "$T/k-dump.err" "died|dead|gone"
ended "$PYH" 3 "python hist (producer killed)" "$T/k-py.err" "died"
expect_rc 0 "$QSHM" dump "$R"
expect_grep "stale" "$T/out"
expect_rc 0 "$QSHM" stat -i 0 "$R"
expect_rc 0 "$QSHM" ls "$R"
expect_grep "stale" "$T/out"
expect_rc 0 "$QSHM" rm --stale "$P-*" # ours only: others run beside us
[ ! -e "/dev/shm/qshm.$R" ] || fail "rm --stale left the killed producer's ring"
ok "producer killed: hist 3, dump --follow 0, python hist 3, each with a message; dump, stat, ls 0 on the stale ring; rm --stale removes it"

# ---- the ring truncated under a run ----
R="$P-cut"
sim_with_hist "$R" "$T/c"
more_readers "$R" "$T/c"
# Both readers are attached before the fault (the Python one starts slowly).
wait_for "$T/c-dump" "^following '$R'" 30
wait_consumer "$R" "$PYH"
truncate -s 4096 "/dev/shm/qshm.$R"
CUT="segment '$R' was truncated under us"
ended "$SIM" 1 "sim (ring truncated)" "$T/c-sim.err" "^qshm sim: .*$CUT"
ended "$HIST" 1 "hist (ring truncated)" "$T/c-hist.err" "^qshm hist: .*$CUT"
ended "$DUMP" 1 "dump --follow (ring truncated)" "$T/c-dump.err" "^qshm dump: .*$CUT"
ended "$PYH" 1 "python hist (ring truncated)" "$T/c-py.err" "^qshm hist: .*($CUT|truncated to 4096)"
expect_rc 3 "$QSHM" dump "$R"
expect_grep "truncated to 4096 bytes" "$T/err"
expect_rc 3 "$QSHM" stat -i 0 "$R"
expect_grep "truncated to 4096 bytes" "$T/err"
expect_rc 0 "$QSHM" ls "$R"
expect_grep "corrupt" "$T/out"
expect_rc 0 "$QSHM" rm "$R" # corrupt: no producer can use it
[ ! -e "/dev/shm/qshm.$R" ] || fail "rm left the truncated ring"
ok "ring truncated: sim, hist, dump --follow, python hist 1 with the message; dump, stat 3; ls 0 (corrupt); rm 0"

# ---- the ring removed under a run: the mapping lives on ----
R="$P-gone"
sim_with_hist "$R" "$T/g"
expect_rc 3 "$QSHM" rm "$R"
expect_grep "'$R'" "$T/err"
expect_rc 0 "$QSHM" rm --force "$R"
[ ! -e "/dev/shm/qshm.$R" ] || fail "rm --force left the ring"
expect_rc 1 "$QSHM" dump "$R"
expect_grep "'$R'" "$T/err"
sleep 0.5
kill -0 "$SIM" 2>/dev/null || fail "sim stopped when its ring was removed"
kill -0 "$HIST" 2>/dev/null || fail "hist stopped when the ring was removed"
kill -INT "$SIM"
ended "$SIM" 130 "sim (interrupted)" "$T/g-sim.err" "interrupted"
ended "$HIST" 3 "hist (run stopped)" "$T/g-hist.err" "STOPPED|stopped"
ok "ring removed under a run: rm 3 (producer alive), rm --force 0, dump then 1; sim and hist go on; sim stopped: 130, hist 3, with messages"

# ---- stat --all and ls go on past rings they cannot use ----
"$RINGCTL" produce "$P-ok" --records 4 --hold 30 >"$T/okring" &
BG_PIDS+=($!)
wait_for "$T/okring" "ready"
"$RINGCTL" produce "$P-ver" --records 4 --hold 0 --keep >/dev/null
"$RINGCTL" poke "$P-ver" 8 1 2 # format 1.0
: >"/dev/shm/qshm.$P-new" # size 0, just made: being created
"$RINGCTL" produce "$P-theirs" --records 4 --hold 0 --keep >/dev/null
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 "/dev/shm/qshm.$P-theirs"
	THEIRS=1
else
	THEIRS=0 # cannot give a ring away: not-ours is tested as root only
fi
expect_rc 0 "$QSHM" stat --all -i 0 --json
jcheck "$T/out" \
	"{r['ring']: r['state'] for r in d['rings'] if r['ring'].startswith('$P-')}['$P-ok'] in ('live', 'closed')" \
	"[r['state'] for r in d['rings'] if r['ring'] == '$P-ver'] == ['version']" \
	"[r['up'] for r in d['rings'] if r['ring'] == '$P-ver'] == [False]" \
	"'format 1.0' in [r['error'] for r in d['rings'] if r['ring'] == '$P-ver'][0]" \
	"[r['state'] for r in d['rings'] if r['ring'] == '$P-new'] in (['creating'], ['stale'])"
if [ "$THEIRS" = 1 ]; then
	jcheck "$T/out" \
		"'uid 65534' in [r['error'] for r in d['rings'] if r['ring'] == '$P-theirs'][0] or 'owned by' in [r['error'] for r in d['rings'] if r['ring'] == '$P-theirs'][0]"
fi
expect_rc 0 "$QSHM" stat --all -i 0
expect_grep "^ring '$P-ok': " "$T/out"
expect_grep "^ring '$P-ver': not usable \(version\): .*format 1\.0" "$T/out"
[ "$THEIRS" = 0 ] || expect_grep "^ring '$P-theirs': not usable" "$T/out"
expect_rc 3 "$QSHM" stat -i 0 "$P-ver"
expect_grep "^qshm stat: .*'$P-ver'" "$T/err"
expect_rc 0 "$QSHM" ls --json "$P-*"
jcheck "$T/out" \
	"{r['name']: r['state'] for r in d}['$P-ver'] == 'version'" \
	"{r['name']: r['state'] for r in d}['$P-new'] in ('creating', 'stale')"
ok "stat --all and ls report rings they cannot use (version, creating, not ours) and exit 0; stat NAME on one exits 3"

# ---- images the fuzzer found bugs with (tests/fuzz/corpus/segment) ----
# dump-lag-estimate-overflow: a records counter of 2^64 - 1 made dump's
# lag estimate convert 2^64 (a double) to u64, undefined behaviour
# (UBSan, in an ASan+UBSan build). The image is the file less its last
# byte (the fuzz target's action byte).
SEED=$(dirname "$0")/../fuzz/corpus/segment/dump-lag-estimate-overflow
head -c "$(($(stat -c %s "$SEED") - 1))" "$SEED" >"/dev/shm/qshm.$P-lag"
expect_rc 1 "$QSHM" dump -n 16 "$P-lag"
expect_grep "~18446744073709551615" "$T/out"
expect_grep "^qshm dump: ring '$P-lag': reading records: .*bad length" "$T/err"
# stat estimates the same lag (one estimator, tools/ringstat.c).
expect_rc 0 "$QSHM" stat --json "$P-lag"
expect_grep '"lag_records": *18446744073709551615' "$T/out"
ok "fuzzer-found images: dump and stat report them without undefined behaviour"
