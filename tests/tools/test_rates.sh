#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_rates.sh - stat and dump while a producer publishes at a steady
# 1000 records/s and two consumers keep up: the rates stat measures agree
# with the producer's pace, dump's snapshot is consistent, and when the
# run is over every total agrees with what was published and consumed.
. "$(dirname "$0")/common.sh"

R="$P-rate"
N=3000
bg "$T/prod" "$RINGCTL" produce "$R" --capacity 1048576 --records $N \
	--rate 1000 --len 200 --consumers 1
PROD=$BG
# Both consumers are attached before the first record: the lossy one
# first (the producer does not wait for it), then the reliable one the
# producer waits for. Then the run is under way (3 s at 1000/s).
bg "$T/lossy" "$RINGCTL" consume "$R" --lossy --read $N
wait_consumer "$R" "$BG"
bg "$T/rel" "$RINGCTL" consume "$R" --read $N
wait_records "$R"

# Rates over one second, in the middle of the run. The producer paces
# itself by the clock, so even a busy machine sees about 1000/s.
expect_rc 0 "$QSHM" stat --json --interval 1 "$R"
cp "$T/out" "$T/stat.json"
jcheck "$T/stat.json" \
	"d['rings'][0]['state'] == 'live'" \
	"600 <= d['rings'][0]['rates']['records_per_s'] <= 1400" \
	"600 * 200 <= d['rings'][0]['rates']['bytes_per_s'] <= 1400 * 200" \
	"0 < d['rings'][0]['records'] < $N" \
	"len(d['rings'][0]['consumers']) == 2" \
	"all(c['records_per_s'] is not None and 500 <= c['records_per_s'] <= 1500 for c in d['rings'][0]['consumers'])" \
	"all(c['lost'] == 0 for c in d['rings'][0]['consumers'])"
ok "stat measures the producer's pace and the consumers'"

expect_rc 0 "$QSHM" dump --json -n 3 "$R"
jcheck "$T/out" \
	"d['state'] == 'live'" \
	"len(d['records']) == 3" \
	"[r['seq'] for r in d['records']] == list(range(d['records'][0]['seq'], d['records'][0]['seq'] + 3))" \
	"all(c['position'] <= d['positions']['write'] for c in d['consumers'])" \
	"all(c['lag'] < 1000 for c in d['consumers'])" \
	"d['reader']['lost'] == 0"
ok "dump while records flow: a consistent snapshot"

expect_rc 0 "$QSHM" stat --json --interval 0.3 --count 2 "$R"
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "--count 2 printed $(wc -l <"$T/out") reports"
ok "stat --count"

wait_for "$T/prod" '^ready' 20
wait_for "$T/rel" '^ready' 20
wait_for "$T/lossy" '^ready' 20
expect_rc 0 "$QSHM" stat --json --interval 0.2 "$R"
jcheck "$T/out" \
	"d['rings'][0]['records'] == $N and d['rings'][0]['bytes'] == $N * 200" \
	"d['rings'][0]['rates']['records_per_s'] == 0" \
	"sorted((c['kind'], c['records'], c['lost'], c['lag_bytes']) for c in d['rings'][0]['consumers']) == [('lossy', $N, 0, 0), ('reliable', $N, 0, 0)]"
expect_rc 0 "$QSHM" dump --json -n 1 "$R"
jcheck "$T/out" \
	"d['counters']['records'] == $N" \
	"d['records'][0]['seq'] == $N - 1" \
	"all(c['lag'] == 0 and c['lag_bytes'] == 0 for c in d['consumers'])"
ok "after the run: totals agree with what was published and consumed"
kill -TERM "$PROD"
wait "$PROD" || fail "producer failed"
