#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_hostile.sh - what any local user can put in /dev/shm under a ring's
# name. A FIFO: every command returns at once (a blocking open would hang
# it: each step runs under `timeout`, exit 124 fails), saying what is there.
# A symbolic link: ls --json and stat --json agree on its state, nothing
# follows it, rm --force removes the link and not its target. A file that
# is not a ring: sim says what holds the name. A ring owned by another user
# (as root only): hist, dump, stat and the Python package's hist refuse it,
# naming the owner, unless --owner allows that user. Invalid names are
# quoted. (The environment names the build for the package: PYTHONPATH,
# QSHM_BUILD_DIR.)
. "$(dirname "$0")/common.sh"

BELL=$QASM_DIR/small/bell_n4.qasm
ESC=$(printf '\033')

# ---- a FIFO ----
F="$P-fifo"
mkfifo -m 0666 "/dev/shm/qshm.$F"
expect_rc 0 "$QSHM" ls "$P-*"
expect_grep "^$F +not-qshm " "$T/out"
expect_rc 0 "$QSHM" ls --json "$P-*"
jcheck "$T/out" "[(r['name'], r['state']) for r in d] == [('$F', 'not-qshm')]"
expect_rc 3 "$QSHM" dump "$F"
expect_grep "'$F' is a FIFO, not a qshm ring" "$T/err"
expect_rc 3 "$QSHM" stat "$F"
expect_grep "'$F' is a FIFO, not a qshm ring" "$T/err"
expect_rc 3 "$QSHM" stat --json -i 0 "$F"
jcheck "$T/out" "d['rings'][0]['state'] == 'not-qshm'"
expect_rc 0 "$QSHM" stat --all -i 0 --json # reported, not an error
jcheck "$T/out" "[r['state'] for r in d['rings'] if r['ring'] == '$F'] == ['not-qshm']"
expect_rc 1 "$QSHM" hist --wait 0 "$F"
expect_grep "'$F' is a FIFO, not a qshm ring" "$T/err"
expect_rc 1 "$QSHM" sim "$BELL" --shots 4 --ring "$F"
expect_grep "'$F' exists and is a FIFO, not a qshm ring; not replaced" "$T/err"
expect_rc 1 "${PYQSHM[@]}" hist "$F"
expect_grep "'$F' is a FIFO, not a qshm ring" "$T/err"
expect_rc 0 "$QSHM" rm --stale "$P-*"
[ -p "/dev/shm/qshm.$F" ] || fail "rm --stale removed the FIFO"
expect_rc 3 "$QSHM" rm "$F"
expect_grep "is not a qshm ring; not removed" "$T/err"
expect_rc 0 "$QSHM" rm --force "$F"
[ ! -e "/dev/shm/qshm.$F" ] || fail "rm --force left the FIFO"
ok "a FIFO holding a name: every command returns at once and says so"

# ---- a symbolic link ----
L="$P-link"
echo "precious" >"$T/target"
ln -s "$T/target" "/dev/shm/qshm.$L"
expect_rc 0 "$QSHM" ls --json "$L"
jcheck "$T/out" "[r['state'] for r in d] == ['not-qshm']"
expect_rc 3 "$QSHM" stat --json -i 0 "$L"
jcheck "$T/out" "d['rings'][0]['state'] == 'not-qshm'"
expect_rc 3 "$QSHM" dump "$L"
expect_grep "'$L' is a symbolic link, not a qshm ring" "$T/err"
expect_rc 1 "$QSHM" sim "$BELL" --shots 4 --ring "$L"
expect_grep "'$L' exists and is a symbolic link, not a qshm ring" "$T/err"
expect_rc 0 "$QSHM" rm --force "$L"
[ ! -L "/dev/shm/qshm.$L" ] || fail "rm --force left the link"
[ "$(cat "$T/target")" = precious ] || fail "the link's target changed"
ok "a symbolic link: ls and stat agree (not-qshm), rm --force removes the link only"

# ---- a plain file ----
"$RINGCTL" junk "$P-junk" 9000
expect_rc 1 "$QSHM" sim "$BELL" --shots 4 --ring "$P-junk"
expect_grep "'$P-junk' exists and is a regular file, not a qshm ring; not replaced" "$T/err"
ok "sim says what holds the name"

# ---- invalid names are quoted ----
for cmd in "dump" "stat" "rm" "ls" "hist --wait 0"; do
	expect_rc_any() { timeout 30 "$@" >"$T/out" 2>"$T/err" || true; }
	# shellcheck disable=SC2086
	expect_rc_any "$QSHM" $cmd "bad${ESC}[2Jname"
	if grep -q "$ESC" "$T/err" "$T/out"; then
		fail "qshm $cmd echoed a raw escape byte"
	fi
	expect_grep 'bad\\x1b\[2Jname' "$T/err"
done
expect_rc 2 "$QSHM" sim "$BELL" --ring "bad${ESC}[2Jname"
if grep -q "$ESC" "$T/err"; then fail "sim echoed a raw escape byte"; fi
ok "invalid names are quoted in every message"

# ---- a ring truncated under a live run ----
R="$P-trunc"
sim_with_hist "$R" "$T/trunc"
truncate -s 4096 "/dev/shm/qshm.$R"
ended "$SIM" 1 "sim (ring truncated)" "$T/trunc-sim.err" \
	"^qshm sim: .*segment '$R' was truncated under us"
ended "$HIST" 1 "hist (ring truncated)" "$T/trunc-hist.err" "qshm hist: "
expect_rc 3 "$QSHM" dump "$R"
expect_grep "truncated to 4096 bytes" "$T/err"
ok "a ring truncated under a run: sim and hist end with a message, not a signal"

# ---- the Python package's hist says why it stops when its producer dies ----
R="$P-pydead"
bg "$T/pyd-sim" "$QSHM" sim "$BELL" --shots 4000000000 --ring "$R" --quiet
SIM=$BG
# The run has begun (a reader attached after the kill with no record seen
# would say "no run seen"), and the reader is attached when the producer
# dies.
wait_records "$R"
bg "$T/pyd-reader" "${PYQSHM[@]}" hist "$R"
READ=$BG
wait_consumer "$R" "$READ"
kill -KILL "$SIM"
ended "$READ" 3 "python3 -m qshm hist (producer killed)" "$T/pyd-reader.err" \
	"qshm hist: $R: producer \\(pid $SIM\\) died before the run ended"
ok "python3 -m qshm hist exits 3 with a message when its producer dies"

# ---- a ring owned by someone else ----
if [ "$(id -u)" -ne 0 ]; then
	ok "(owner checks skipped: not root)"
	exit 0
fi
O="$P-owned"
"$RINGCTL" produce "$O" --results 32 --hold 0 --keep >"$T/owned" 2>&1 ||
	fail "ringctl produce failed"
chown 65534 "/dev/shm/qshm.$O"
expect_rc 1 "$QSHM" hist --json --wait 0 "$O"
expect_grep "ring '$O' is owned by uid 65534" "$T/err"
expect_rc 1 "$QSHM" dump "$O"
expect_grep "ring '$O' is owned by uid 65534" "$T/err"
expect_rc 1 "${PYQSHM[@]}" hist "$O"
expect_grep "ring '$O' is owned by uid 65534" "$T/err"
expect_rc 0 "$QSHM" ls --json "$O"
jcheck "$T/out" "[r['state'] for r in d] == ['closed']"
expect_rc 0 "$QSHM" hist --json --wait 0 --owner 65534 "$O"
jcheck "$T/out" "sum(d['counts'].values()) == 32"
expect_rc 0 "$QSHM" dump --owner 65534 "$O"
expect_rc 0 "${PYQSHM[@]}" hist --json "$O" --owner 65534
jcheck "$T/out" "sum(d['counts'].values()) == 32"
expect_rc 2 "$QSHM" hist --owner no-such-user-here "$O"
ok "another user's ring is refused, naming the owner, unless --owner allows it"
