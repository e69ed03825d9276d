#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_stale.sh - after kill -9 of a producer its ring is stale: ls shows
# it as such, dump still decodes every record and shows the producer dead,
# stat reports it; rm refuses a live ring (unless --force) and removes
# stale ones, by name and with --stale.
#
# `rm --stale` is always given a pattern here ("$P-*"): other tests on this
# machine make stale rings on purpose and must keep them.
. "$(dirname "$0")/common.sh"

mk_stale() { # NAME: a ring with a run and 5 raw records, producer killed
	bg "$T/$1" "$RINGCTL" produce "$P-$1" --results 32 --records 5
	local pid=$BG
	wait_for "$T/$1" '^ready'
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$pid"
}
STALE_PID=$(mk_stale stale)
mk_stale stale2 >/dev/null
bg "$T/alive" "$RINGCTL" produce "$P-alive" --records 3
ALIVE=$BG
bg "$T/closed" "$RINGCTL" produce "$P-closed" --records 3 --hold 0 --keep
CLOSED=$BG
wait_for "$T/alive" '^ready'
wait "$CLOSED" || fail "closing producer failed"

# ---- ls ----
expect_rc 0 "$QSHM" ls --json "$P-*"
jcheck "$T/out" \
	"{r['name']: r['state'] for r in d} == {'$P-stale': 'stale', '$P-stale2': 'stale', '$P-alive': 'live', '$P-closed': 'closed'}" \
	"[r['producer'] for r in d if r['name'] == '$P-stale'] == [{'pid': $STALE_PID, 'alive': False}]" \
	"[r['producer']['alive'] for r in d if r['name'] == '$P-alive'] == [True]" \
	"[r['producer']['alive'] for r in d if r['name'] == '$P-closed'] == [False]"
expect_rc 0 "$QSHM" ls "$P-stale"
expect_grep "^$P-stale +stale +[0-9.]+ KiB +3\\.0 +$STALE_PID +no " "$T/out"
ok "ls shows the killed producer's ring as stale"

# ---- dump of a stale ring ----
expect_rc 0 "$QSHM" dump --json -n 100 "$P-stale"
jcheck "$T/out" \
	"d['state'] == 'stale'" \
	"d['producer'] == {'pid': $STALE_PID, 'alive': False, 'start_ticks': d['producer']['start_ticks'], 'closed': False}" \
	"d['counters']['records'] == 12" \
	"[r['seq'] for r in d['records']] == list(range(12))" \
	"d['records'][0]['run']['circuit'] == 'bell.qasm'" \
	"d['records'][-1]['type'] == 0x200"
expect_rc 0 "$QSHM" dump "$P-stale"
expect_grep "^  state +stale\$" "$T/out"
expect_grep "^  producer +pid $STALE_PID, dead\$" "$T/out"
ok "dump reads a stale ring: producer dead, every record decoded"

expect_rc 0 "$QSHM" stat --json --interval 0 "$P-stale"
jcheck "$T/out" "d['rings'][0]['state'] == 'stale'" \
	"d['rings'][0]['producer'] == {'pid': $STALE_PID, 'alive': False}" \
	"d['rings'][0]['records'] == 12"
expect_rc 0 "$QSHM" stat --prometheus --interval 0 "$P-stale"
expect_grep "^qshm_producer_alive\\{ring=\"$P-stale\"\\} 0\$" "$T/out"
expect_grep "^qshm_ring_state\\{ring=\"$P-stale\",state=\"stale\"\\} 1\$" "$T/out"
ok "stat reports the stale ring"

# ---- rm ----
expect_rc 3 "$QSHM" rm "$P-alive"
expect_grep "ring '$P-alive' is live and its producer \\(pid $ALIVE\\) is alive; not removed" "$T/err"
[ -e "/dev/shm/qshm.$P-alive" ] || fail "rm removed a live ring"
expect_rc 0 "$QSHM" rm --stale --dry-run "$P-*"
expect_grep "^would remove $P-stale \\(stale\\)\$" "$T/out"
grep -q "$P-alive\|$P-closed" "$T/out" && fail "dry run would remove a live or closed ring"
[ -e "/dev/shm/qshm.$P-stale" ] || fail "--dry-run removed something"
expect_rc 0 "$QSHM" rm "$P-stale2"
expect_grep "^removed $P-stale2 \\(stale, producer pid [0-9]+ dead\\)\$" "$T/out"
expect_rc 0 "$QSHM" rm --stale "$P-*"
expect_grep "^removed $P-stale \\(stale, producer pid $STALE_PID dead\\)\$" "$T/out"
[ ! -e "/dev/shm/qshm.$P-stale" ] || fail "rm --stale left the stale ring"
[ -e "/dev/shm/qshm.$P-alive" ] || fail "rm --stale removed a live ring"
[ -e "/dev/shm/qshm.$P-closed" ] || fail "rm --stale removed a closed ring"
expect_rc 0 "$QSHM" rm --stale "$P-*"
[ ! -s "$T/out" ] || fail "second rm --stale found something: $(cat "$T/out")"
expect_rc 0 "$QSHM" rm --stale --closed -q "$P-*"
[ ! -e "/dev/shm/qshm.$P-closed" ] || fail "rm --stale --closed left the closed ring"
ok "rm refuses a live ring, removes stale ones by name and with --stale"

expect_rc 0 "$QSHM" rm --force "$P-alive"
expect_grep "^removed $P-alive \\(live, producer pid $ALIVE alive\\)\$" "$T/out"
[ ! -e "/dev/shm/qshm.$P-alive" ] || fail "rm --force left the ring"
kill -TERM "$ALIVE"
wait "$ALIVE" || fail "producer of the removed ring failed"
ok "rm --force removes a live ring; its producer carries on and exits"
