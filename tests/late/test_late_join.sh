#!/bin/bash
# Consumers that join at any moment (suite 'late'), real processes:
#   1. ten reliable `qshm hist` joiners at ten moments of a 10^7-shot
#      `qshm sim` run through a 64 KiB ring: each exits 0 and reports
#      "joined at shot X of N; counted K" with X + K = N; a consumer there
#      from the start counts the same as `qshm sim --counts`;
#   2. the same with ten lossy joiners: X + K + lost = N exactly;
#   3. --from-start on a late joiner: exit 4;
#   4. consecutive runs in one ring: a consumer there from the start
#      counts run 1; one that attaches with --newest between runs counts
#      run 2 whole; one that comes after the ring closed counts the tail of
#      the last run (its RUN_BEGIN long gone) from the run descriptor.
# Rings te<pid>-..., removed on exit; every step under timeout.
# Usage: test_late_join.sh QSHM JOIN_AT MULTIRUN SOURCE_DIR
set -u
QSHM=$1 JOIN_AT=$2 MULTIRUN=$3 S=$4
QASM=$S/tests/qasm/small/bell_n4.qasm
N=10000000
P=tl$$
TMP=$(mktemp -d)
pass=0 failed=0
cleanup() {
	jobs -p | xargs -r kill 2>/dev/null
	wait 2>/dev/null
	rm -f /dev/shm/qshm.$P-*
	rm -rf "$TMP"
}
trap cleanup EXIT
ok() { echo "ok: $*"; pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# "joined at shot X of N; counted K[; lost L]" -> "X K L"
joined() {
	sed -n 's/.*joined at shot \([0-9]*\) of [0-9]*; counted \([0-9]*\)\(; lost \([0-9]*\)\)\{0,1\}.*/\1 \2 \4/p' "$1" |
		head -1 | awk '{ print $1, $2, ($3 == "" ? 0 : $3) }'
}

# Ten joiners at shots k N / 11, k = 1..10, of a run in ring $1; $2: extra
# hist options. Checks each; $3 says whether losses may happen.
joiners() {
	local ring=$1 opts=$2 lossy=$3 k pids=() xs=""
	for k in 1 2 3 4 5 6 7 8 9 10; do
		timeout 120 "$JOIN_AT" "$ring" $((k * N / 11)) \
			"$QSHM" hist $opts --wait 30 "$ring" \
			>"$TMP/$ring.$k.out" 2>"$TMP/$ring.$k.err" &
		pids+=($!)
	done
	for k in 1 2 3 4 5 6 7 8 9 10; do
		wait "${pids[$((k - 1))]}"
		echo $? >"$TMP/$ring.$k.rc"
	done
	local bad=0
	for k in 1 2 3 4 5 6 7 8 9 10; do
		local rc x kk l
		rc=$(cat "$TMP/$ring.$k.rc")
		read -r x kk l <<<"$(joined "$TMP/$ring.$k.err")"
		if [ "$rc" != 0 ] || [ -z "$x" ]; then
			fail "$ring joiner $k: rc $rc: $(tail -2 "$TMP/$ring.$k.err")"
			bad=1
			continue
		fi
		if [ "$lossy" = 0 ] && { [ "$l" != 0 ] || [ $((x + kk)) != $N ]; }; then
			fail "$ring joiner $k (reliable): joined at $x, counted $kk, lost $l: X + K != $N"
			bad=1
		elif [ $((x + kk + l)) != $N ]; then
			fail "$ring joiner $k: joined at $x, counted $kk, lost $l: X + K + lost != $N"
			bad=1
		fi
		# The table adds up to what the line says.
		local sum
		sum=$(tail -n +3 "$TMP/$ring.$k.out" | awk '{ s += $NF } END { print s + 0 }')
		[ "$sum" = "$kk" ] || { fail "$ring joiner $k: table sums to $sum, not $kk"; bad=1; }
		xs="$xs $x"
	done
	local distinct
	distinct=$(echo $xs | tr ' ' '\n' | sort -u | wc -l)
	echo "  $ring: first shots:$xs ($distinct distinct)"
	local sum_what="X + K = N"
	[ "$lossy" = 1 ] && sum_what="X + K + lost = N"
	if [ $bad = 0 ] && [ "$distinct" -ge 2 ]; then
		ok "$ring: ten ${opts:-reliable} joiners of a 10^7-shot run through a 64 KiB ring each exit 0, $sum_what"
	elif [ $bad = 0 ]; then
		fail "$ring: the joiners all joined at the same shot:$xs"
	fi
}

# 1. reliable joiners, and one consumer there from the start
want=$(timeout 120 "$QSHM" sim "$QASM" --shots $N --seed 5 --counts)
timeout 120 "$QSHM" sim "$QASM" --shots $N --seed 5 --capacity 64K \
	--ring $P-rel --wait-consumers 1 -q 2>"$TMP/sim1.err" &
simpid=$!
timeout 120 "$QSHM" hist --json --from-start --wait 30 $P-rel \
	>"$TMP/full.out" 2>"$TMP/full.err" &
fullpid=$!
joiners $P-rel "" 0
wait $fullpid; frc=$?
wait $simpid; src=$?
if [ $frc = 0 ] && [ $src = 0 ] && [ "$(cat "$TMP/full.out")" = "$want" ] &&
   grep -q "joined at shot 0 of $N; counted $N" "$TMP/full.err"; then
	ok "a consumer there from the start (--from-start) counts what qshm sim --counts does"
else
	fail "full consumer rc $frc, sim rc $src: $(tail -2 "$TMP/full.err")"
fi

# 2. lossy joiners (nobody holds the producer back)
timeout 120 "$QSHM" sim "$QASM" --shots $N --seed 6 --capacity 64K \
	--ring $P-lossy -q 2>"$TMP/sim2.err" &
simpid=$!
joiners $P-lossy "--lossy" 1
wait $simpid || fail "sim into $P-lossy: $(cat "$TMP/sim2.err")"

# 3. --from-start, joined late: its own exit status
timeout 120 "$QSHM" sim "$QASM" --shots $N --seed 7 --capacity 64K \
	--ring $P-fs -q 2>/dev/null &
simpid=$!
timeout 120 "$JOIN_AT" $P-fs $((N / 2)) "$QSHM" hist --from-start $P-fs \
	>/dev/null 2>"$TMP/fs.err"
rc=$?
wait $simpid
if [ $rc = 4 ] && grep -q -- "--from-start: shots" "$TMP/fs.err"; then
	ok "hist --from-start joined mid-run: exit 4, says which shots it missed"
else
	fail "hist --from-start late: rc $rc: $(cat "$TMP/fs.err")"
fi

# 4. consecutive runs in one ring (multirun waits for $TMP/runN before
# run N >= 2, so a consumer can be placed between two runs)
timeout 90 "$MULTIRUN" $P-multi "$QASM" 3 200000 "$TMP" 1 >"$TMP/multi.out" \
	2>"$TMP/multi.err" &
mpid=$!
timeout 60 "$QSHM" hist --wait 30 $P-multi >"$TMP/m1.out" 2>"$TMP/m1.err"
m1=$?
# Run 1 is over and its consumer gone: one from the next record on.
timeout 60 "$QSHM" hist --newest $P-multi >"$TMP/m2.out" 2>"$TMP/m2.err" &
m2pid=$!
for _ in $(seq 600); do
	[ "$("$QSHM" ls --json $P-multi 2>/dev/null |
	     python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("consumers", {}).get("reliable", 0))' 2>/dev/null)" = 1 ] && break
	sleep 0.05
done
touch "$TMP/run2"
wait $m2pid
m2=$?
touch "$TMP/run3"
wait $mpid
mrc=$?
timeout 30 "$QSHM" hist $P-multi >"$TMP/m3.out" 2>"$TMP/m3.err"
m3=$?
if [ $m1 = 0 ] && grep -q "run 1: joined at shot 0 of 200000; counted 200000" "$TMP/m1.err"; then
	ok "consecutive runs: a consumer from the start counts run 1 whole"
else
	fail "consecutive runs, run 1: rc $m1: $(cat "$TMP/m1.err")"
fi
if [ $m2 = 0 ] && grep -q "run 2: joined at shot 0 of 200000; counted 200000" "$TMP/m2.err"; then
	ok "consecutive runs: a consumer attached between runs counts run 2 whole"
else
	fail "consecutive runs, run 2: rc $m2: $(cat "$TMP/m2.err")"
fi
read -r x3 k3 l3 <<<"$(joined "$TMP/m3.err")"
if [ $mrc = 0 ] && [ $m3 = 0 ] && grep -q "run 3: joined at shot" "$TMP/m3.err" &&
   [ -n "$x3" ] && [ "$x3" -gt 0 ] && [ $((x3 + k3)) = 200000 ]; then
	ok "consecutive runs: after the close, the tail of run 3 decodes from the descriptor (joined at $x3)"
else
	fail "consecutive runs, after close: rc $m3, producer rc $mrc: $(cat "$TMP/m3.err" "$TMP/multi.err")"
fi

echo "$pass passed, $failed failed"
[ $failed = 0 ]
