#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_live.sh - dump and stat on a live ring while its producer and two
# consumers (one reliable, one lossy) run: every number agrees with what
# was published and consumed, records are decoded by type, and dump
# leaves the segment's bytes unchanged.
. "$(dirname "$0")/common.sh"

R="$P-live"
# 1 RUN_BEGIN + 4 SHOTS (64 shots, 16 a batch) + PROBS + STATE + ERROR +
# RUN_END, then 20 raw records of 100 bytes.
N=29
PAYLOAD=$((107 + 4 * (16 + 128) + 64 + 96 + 20 + 32 + 20 * 100))

bg "$T/prod" "$RINGCTL" produce "$R" --capacity 65536 --results 64 \
	--batch 16 --records 20 --len 100 --consumers 1 \
	--user 0=1048576 --user 1=2097152 --user 2=3145728 --user 3=64 \
	--user 4=64 --user 5=65536
PROD=$BG
bg "$T/rel" "$RINGCTL" consume "$R" --read 5
REL=$BG
wait_for "$T/prod" '^ready'
bg "$T/lossy" "$RINGCTL" consume "$R" --lossy --read 10
LOSSY=$BG
wait_for "$T/rel" '^ready'
wait_for "$T/lossy" '^ready'
grep -q "^ready $PROD $N\$" "$T/prod" || fail "producer: $(cat "$T/prod")"

SEG=/dev/shm/qshm.$R
cp "$SEG" "$T/seg.before"

# ---- dump, JSON ----
expect_rc 0 "$QSHM" dump --json -n 100 "$R"
cp "$T/out" "$T/dump.json"
jcheck "$T/dump.json" \
	"d['ring'] == '$R' and d['state'] == 'live'" \
	"d['producer']['pid'] == $PROD and d['producer']['alive'] is True" \
	"d['producer']['closed'] is False" \
	"d['format'] == {'major': 3, 'minor': 0}" \
	"d['capacity'] == 65536 and d['max_record'] == 16384" \
	"d['generation'] == 1" \
	"d['counters']['records'] == $N" \
	"d['counters']['bytes'] == $PAYLOAD" \
	"d['counters']['evictions'] == 0" \
	"d['counters']['user'][:6] == [1048576, 2097152, 3145728, 64, 64, 65536]" \
	"d['positions']['oldest'] == 0" \
	"d['positions']['records_in_ring'] == $N" \
	"len(d['consumers']) == 2" \
	"d['reader'] == {'read': $N, 'lost': 0}"
jcheck "$T/dump.json" \
	"[c for c in d['consumers'] if c['pid'] == $REL][0]['kind'] == 'reliable'" \
	"[c for c in d['consumers'] if c['pid'] == $REL][0]['lag'] == $N - 5" \
	"[c for c in d['consumers'] if c['pid'] == $REL][0]['lag_exact'] is True" \
	"[c for c in d['consumers'] if c['pid'] == $REL][0]['records'] == 5" \
	"[c for c in d['consumers'] if c['pid'] == $REL][0]['lost'] == 0" \
	"[c for c in d['consumers'] if c['pid'] == $REL][0]['alive'] is True" \
	"[c for c in d['consumers'] if c['pid'] == $REL][0]['lag_bytes'] == d['positions']['write'] - [c for c in d['consumers'] if c['pid'] == $REL][0]['position']" \
	"[c for c in d['consumers'] if c['pid'] == $LOSSY][0]['kind'] == 'lossy'" \
	"[c for c in d['consumers'] if c['pid'] == $LOSSY][0]['lag'] == $N - 10" \
	"[c for c in d['consumers'] if c['pid'] == $LOSSY][0]['records'] == 10" \
	"[c for c in d['consumers'] if c['pid'] == $LOSSY][0]['lost'] == 0"
# The records, decoded by type.
jcheck "$T/dump.json" \
	"[r['seq'] for r in d['records']] == list(range($N))" \
	"[r['lost_before'] for r in d['records']] == [0] * $N" \
	"[r['type_name'] for r in d['records'][:9]] == ['RUN_BEGIN'] + ['SHOTS'] * 4 + ['PROBS', 'STATE', 'ERROR', 'RUN_END']" \
	"d['records'][0]['run'] == {'circuit': 'bell.qasm', 'hash': '0x0123456789abcdef', 'qubits': 2, 'clbits': 3, 'shots': 64, 'seed': 7, 'words_per_shot': 1, 'options': ['probs', 'state'], 'cregs': [{'name': 'c', 'size': 2}, {'name': 'd', 'size': 1}]}" \
	"d['records'][1]['first_shot'] == 0 and d['records'][1]['count'] == 16" \
	"d['records'][1]['outcomes'] == ['0 00', '0 01', '0 10', '0 11', '1 00', '1 01', '1 10', '1 11']" \
	"d['records'][1]['truncated'] is True" \
	"d['records'][4]['first_shot'] == 48" \
	"[(t['outcome'], t['p']) for t in d['records'][5]['top']] == [('00', 0.5), ('11', 0.25), ('10', 0.15), ('01', 0.1)]" \
	"d['records'][5]['total'] == 4 and d['records'][5]['qubits'] == 2" \
	"[t['outcome'] for t in d['records'][6]['top']] == ['00', '11', '10', '01']" \
	"abs(d['records'][6]['top'][1]['im'] - 0.5) < 1e-12 and d['records'][6]['top'][1]['re'] == 0" \
	"d['records'][7]['code'] == -5 and d['records'][7]['message'] == 'disk on fire'" \
	"d['records'][8]['status'] == 'ok' and d['records'][8]['shots'] == 64 and d['records'][8]['elapsed_ns'] == 1234567" \
	"all(r['type'] == 0x200 and r['type_name'] is None and r['len'] == 100 for r in d['records'][9:])" \
	"all(bytes.fromhex(r['hex']) == bytes(65 + (r['seq'] + i) % 26 for i in range(64)) for r in d['records'][9:])" \
	"all(r['hex_truncated'] for r in d['records'][9:])"
ok "dump --json: producer, consumers with lag and losses, decoded records"

# ---- dump, text ----
expect_rc 0 "$QSHM" dump -n 100 --shots 4 --hex 32 "$R"
cp "$T/out" "$T/dump.txt"
expect_grep "^ring '$R' \\(/dev/shm/qshm\\.$R\\)\$" "$T/dump.txt"
expect_grep "^  state +live\$" "$T/dump.txt"
expect_grep "^  producer +pid $PROD, alive\$" "$T/dump.txt"
expect_grep "^  records +$N committed\$" "$T/dump.txt"
expect_grep "^consumers: 2 \\(1 reliable, 1 lossy\\)\$" "$T/dump.txt"
expect_grep "^  [0-9]+ +$REL +yes +reliable +[0-9]+ +$((N - 5)) +[0-9]+ +5 +0\$" "$T/dump.txt"
expect_grep "^  [0-9]+ +$LOSSY +yes +lossy +[0-9]+ +$((N - 10)) +[0-9]+ +10 +0\$" "$T/dump.txt"
expect_grep "^records: last $N of $N read\$" "$T/dump.txt"
expect_grep "circuit bell\\.qasm  hash 0x0123456789abcdef  qubits 2  shots 64  seed 7" "$T/dump.txt"
expect_grep "classical bits 3 in 2 registers: c\\[2\\] d\\[1\\]" "$T/dump.txt"
expect_grep "^      shots 0\\.\\.15 \\(16\\):\$" "$T/dump.txt"
expect_grep "^        0 00, 0 01, 0 10, 0 11\$" "$T/dump.txt"
expect_grep "\\.\\.\\. 12 more\$" "$T/dump.txt"
expect_grep "probabilities 0\\.\\.\\+4 of 4 \\(2 qubits\\), top 4:" "$T/dump.txt"
expect_grep "^        00  0\\.500000\$" "$T/dump.txt"
expect_grep "^        11  \\+0\\.000000\\+0\\.500000i  p 0\\.250000\$" "$T/dump.txt"
expect_grep "code -5: disk on fire" "$T/dump.txt"
expect_grep "status ok \\(0\\)  shots 64  elapsed 1\\.235 ms" "$T/dump.txt"
expect_grep "^  seq 9  pos [0-9]+  type 0x0200 \\(application\\)  len 100\$" "$T/dump.txt"
expect_grep "^      0000  4a 4b 4c 4d 4e 4f 50 51 52 53 54 55 56 57 58 59  \\|JKLMNOPQRSTUVWXY\\|\$" "$T/dump.txt"
expect_grep "^      \\.\\.\\. 68 more bytes\$" "$T/dump.txt"
expect_rc 0 "$QSHM" dump -n 3 "$R"
expect_grep "^records: last 3 of $N read\$" "$T/out"
expect_grep "^  seq $((N - 1))  " "$T/out"
expect_rc 0 "$QSHM" dump -n 0 "$R"
grep -q '^records' "$T/out" && fail "dump -n 0 printed records"
ok "dump text: header, consumers, decoded records, hexdump"

# ---- dump wrote nothing ----
cmp "$SEG" "$T/seg.before" || fail "dump changed the segment's bytes"
ok "dump left the segment's bytes unchanged"

# ---- stat ----
expect_rc 0 "$QSHM" stat --json --interval 0.2 "$R"
cp "$T/out" "$T/stat.json"
jcheck "$T/stat.json" \
	"len(d['rings']) == 1" \
	"d['rings'][0]['ring'] == '$R' and d['rings'][0]['state'] == 'live'" \
	"d['rings'][0]['up'] is True" \
	"d['rings'][0]['producer'] == {'pid': $PROD, 'alive': True}" \
	"d['rings'][0]['records'] == $N and d['rings'][0]['bytes'] == $PAYLOAD" \
	"d['rings'][0]['rates']['records_per_s'] == 0" \
	"d['rings'][0]['rates']['bytes_per_s'] == 0" \
	"d['rings'][0]['memory'] == {'allocated': 1048576, 'active': 2097152, 'resident': 3145728}" \
	"d['rings'][0]['run'] == {'shots_published': 64, 'shots_requested': 64, 'state_vector_bytes': 65536}" \
	"sorted((c['kind'], c['records'], c['lost']) for c in d['rings'][0]['consumers']) == [('lossy', 10, 0), ('reliable', 5, 0)]" \
	"all(c['records_per_s'] == 0 for c in d['rings'][0]['consumers'])"
"$PY" - "$T/stat.json" "$T/dump.json" <<'PYEOF' || fail "stat and dump disagree on lag"
import json, sys
s = json.load(open(sys.argv[1]))["rings"][0]
d = json.load(open(sys.argv[2]))
lag = {c["pid"]: c["lag_bytes"] for c in d["consumers"]}
for c in s["consumers"]:
    assert c["lag_bytes"] == lag[c["pid"]], (c, lag)
    assert c["lag_records"] > 0 and c["lag_records_exact"]
PYEOF
expect_rc 0 "$QSHM" stat --interval 0.2 "$R"
expect_grep "^ring '$R': live, producer pid $PROD alive, generation 1, rates over 0\\.[0-9]+ s\$" "$T/out"
expect_grep "^  records +$N total +0\\.0/s\$" "$T/out"
expect_grep "^  memory +allocated 1\\.0 MiB, active 2\\.0 MiB, resident 3\\.0 MiB\$" "$T/out"
expect_grep "^  run +64 of 64 shots published; state vector 64\\.0 KiB\$" "$T/out"
expect_grep "^  consumers +1 reliable, 1 lossy\$" "$T/out"
expect_rc 0 "$QSHM" stat --interval 0 "$R"
expect_grep "no rates \\(one snapshot\\)" "$T/out"
ok "stat: totals, rates, memory, consumers agree"

# ---- Prometheus text ----
expect_rc 0 "$QSHM" stat --prometheus --interval 0.2 "$R"
cp "$T/out" "$T/metrics.txt"
expect_grep "^# TYPE qshm_records_total counter\$" "$T/metrics.txt"
expect_grep "^qshm_records_total\\{ring=\"$R\"\\} $N\$" "$T/metrics.txt"
expect_grep "^qshm_payload_bytes_total\\{ring=\"$R\"\\} $PAYLOAD\$" "$T/metrics.txt"
expect_grep "^qshm_producer_allocated_bytes\\{ring=\"$R\"\\} 1048576\$" "$T/metrics.txt"
expect_grep "^qshm_producer_pid\\{ring=\"$R\"\\} $PROD\$" "$T/metrics.txt"
expect_grep "^qshm_ring_state\\{ring=\"$R\",state=\"live\"\\} 1\$" "$T/metrics.txt"
expect_grep "^qshm_consumers\\{ring=\"$R\",kind=\"reliable\"\\} 1\$" "$T/metrics.txt"
expect_grep "^qshm_consumer_records_total\\{ring=\"$R\",slot=\"[0-9]+\",pid=\"$REL\",kind=\"reliable\"\\} 5\$" "$T/metrics.txt"
expect_grep "^qshm_records_per_second\\{ring=\"$R\"\\} 0\$" "$T/metrics.txt"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics.txt" || fail "promtool rejects the metrics"
	ok "promtool check metrics accepts the output"
else
	echo "note: promtool not installed; exposition not linted"
fi
ok "stat --prometheus"

cmp "$SEG" "$T/seg.before" || fail "stat changed the segment's bytes"

# ---- the producer closes: dump shows it ----
kill -TERM "$REL" "$LOSSY"
wait "$REL" "$LOSSY" || fail "a consumer failed"
expect_rc 0 "$QSHM" dump --json -n 0 "$R"
jcheck "$T/out" "d['consumers'] == []"
kill -TERM "$PROD"
wait "$PROD" || fail "the producer failed"
[ ! -e "$SEG" ] || fail "producer did not unlink $R"
expect_rc 1 "$QSHM" dump "$R"
expect_grep "no ring named '$R'" "$T/err"
ok "consumers leave, producer closes; dump of a missing ring says so (exit 1)"
