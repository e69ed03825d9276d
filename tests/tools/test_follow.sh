#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_follow.sh - dump --follow prints records as they come, each exactly
# once, as a lossy reader: when it falls behind (stopped with SIGSTOP
# while the producer overwrites the ring) it reports exactly how many
# records it lost (followed + lost = published). It stops when the ring
# closes, on SIGINT, and after --duration.
. "$(dirname "$0")/common.sh"

# ---- losses, JSON lines ----
R="$P-lossy"
bg "$T/prod" "$RINGCTL" produce "$R" --capacity 16384 --records 10 \
	--len 100 --then 500
PROD=$BG
wait_for "$T/prod" '^ready'
bg "$T/follow.json" "$QSHM" dump --follow --json -n 5 "$R"
DUMP=$BG
wait_for "$T/follow.json" '^{'
kill -STOP "$DUMP"
kill -USR1 "$PROD"
wait_for "$T/prod" '^then 510$'
kill -CONT "$DUMP"
# Let it catch up (it polls; up to a few ms between looks), then stop it.
for _ in $(seq 600); do # 30 s at most
	tail -n 1 "$T/follow.json" | grep -q '"seq":509,' && break
	sleep 0.05
done
kill -INT "$DUMP"
rc=0
wait "$DUMP" || rc=$?
[ "$rc" -eq 0 ] || fail "dump --follow exited $rc after SIGINT"
expect_grep "^qshm dump: $R: interrupted; followed [0-9]+ records, [0-9]+ lost\$" "$T/follow.json.err"
"$PY" - "$T/follow.json" "$T/follow.json.err" <<'PYEOF' || fail "follow output wrong"
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
first = json.loads(lines[0])
assert [r["seq"] for r in first["records"]] == [5, 6, 7, 8, 9], first["records"]
recs = [json.loads(l) for l in lines[1:]]
m = re.search(r"followed (\d+) records, (\d+) lost", open(sys.argv[2]).read())
followed, lost = int(m.group(1)), int(m.group(2))
assert len(recs) == followed, (len(recs), followed)
assert followed + lost == 500, (followed, lost)
assert sum(r["lost_before"] for r in recs) == lost, lost
seqs = [r["seq"] for r in recs]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
assert seqs[-1] == 509, seqs[-1]
# every seq is either shown or counted lost, once
assert seqs[0] - 10 == recs[0]["lost_before"], (seqs[0], recs[0])
for a, b in zip(recs, recs[1:]):
    assert b["seq"] - a["seq"] - 1 == b["lost_before"], (a["seq"], b)
assert lost > 0, "the ring (16 KiB) cannot hold 500 records of 128 bytes"
print("followed %d, lost %d" % (followed, lost))
PYEOF
ok "--follow --json: followed + lost = published, losses where they happened"
kill -TERM "$PROD"
wait "$PROD" || fail "producer failed"

# ---- text, until the producer closes the ring ----
R="$P-close"
bg "$T/prod2" "$RINGCTL" produce "$R" --records 10 --then 3
PROD=$BG
wait_for "$T/prod2" '^ready'
bg "$T/follow.txt" "$QSHM" dump --follow -n 0 "$R"
DUMP=$BG
wait_for "$T/follow.txt" "^following '$R'"
kill -USR1 "$PROD"
wait_for "$T/prod2" '^then 13$'
wait_for "$T/follow.txt" '^  seq 12 '
kill -TERM "$PROD"
wait "$PROD" || fail "producer failed"
rc=0
timeout 10 tail --pid="$DUMP" -f /dev/null || fail "dump --follow did not stop when the ring closed"
wait "$DUMP" || rc=$?
[ "$rc" -eq 0 ] || fail "dump --follow exited $rc"
expect_grep "^qshm dump: $R: the producer closed the ring; followed 3 records, 0 lost\$" "$T/follow.txt.err"
[ "$(grep -c '^  seq ' "$T/follow.txt")" -eq 3 ] || fail "expected 3 records"
expect_grep "^  seq 10  pos [0-9]+  type 0x0200 \\(application\\)  len 100\$" "$T/follow.txt"
ok "--follow (text) prints new records and stops when the ring closes"

# ---- --duration ----
R="$P-idle"
bg "$T/prod3" "$RINGCTL" produce "$R" --records 2
wait_for "$T/prod3" '^ready'
expect_rc 0 "$QSHM" dump --follow --duration 0.3 -n 1 "$R"
expect_grep "time is up; followed 0 records, 0 lost" "$T/err"
ok "--follow --duration stops on time"
