#!/usr/bin/env bash
# Cross-process tests of `qshm sim --ring` with its consumers: `qshm hist`
# (C, reliable) and the Python package qshm (python3 -m qshm hist; the
# environment names the build: QSHM_BUILD_DIR, PYTHONPATH).
# Usage: test_sim_ring.sh QSHM_BINARY SOURCE_ROOT
set -u
QSHM=$1
ROOT=$2
QASM=$ROOT/tests/qasm
PY=/usr/bin/python3
have_py=1
if ! "$PY" -c 'import qshm' 2>/dev/null; then
	have_py=0
	echo "skip: the Python parts (python3, numpy or cffi missing)"
fi
info() { # RING FIELD...: fields of qshm.ring_info(), space-separated
	"$PY" -c 'import qshm, sys
i = qshm.ring_info(sys.argv[1])
print(*(i[k] for k in sys.argv[2:]))' "$@"
}
TMP=$(mktemp -d)
TAG="st$$"
fails=0 passes=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -f /dev/shm/qshm."$TAG"* 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# until_stat RING REGEX: until `qshm stat --json` of RING matches REGEX
# (30 s at most; then 1).
until_stat() {
	local i
	for i in $(seq 600); do
		[[ "$("$QSHM" stat --json -i 0 "$1" 2>/dev/null)" =~ $2 ]] && return 0
		sleep 0.05
	done
	return 1
}

ok()   { passes=$((passes + 1)); echo "ok: $*"; }
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }

# 1. The counts that reach a consumer through a ring equal --counts, for
#    circuits with several registers, mid-circuit measurement and `if`.
for c in small/teleportation_n3 small/qec_sm_n5 small/bell_n4 \
	 small/adder_n10 medium/ghz_state_n23; do
	ring=$TAG.$(basename "$c")
	want=$("$QSHM" sim "$QASM/$c.qasm" --shots 200000 --seed 11 --counts)
	"$QSHM" sim "$QASM/$c.qasm" --shots 200000 --seed 11 --ring "$ring" \
		--capacity 256K --wait-consumers 1 --unlink \
		2>"$TMP/sim.err" &
	pids+=($!)
	got=$("$QSHM" hist "$ring" --json --wait 20)
	hist_rc=$?
	wait "${pids[-1]}"; sim_rc=$?
	if [ "$hist_rc" = 0 ] && [ "$sim_rc" = 0 ] && [ "$got" = "$want" ]; then
		ok "$c: hist --json through ring == sim --counts"
	else
		fail "$c: hist rc $hist_rc sim rc $sim_rc"
		echo "  want $want"; echo "  got  $got"; cat "$TMP/sim.err"
	fi
	[ -e /dev/shm/qshm.$ring ] && fail "$c: --unlink left the ring"
done

# 2. A late Python consumer (the qshm package), zero-copy through numpy, on
#    a ring that kept the whole run (the ring stays after the producer
#    exits).
ring=$TAG.py
want=$("$QSHM" sim "$QASM/small/qft_n4.qasm" --shots 300000 --seed 5 \
	--ring "$ring" --capacity 8M --counts)
if [ $have_py = 1 ]; then
	got=$("$PY" -m qshm hist "$ring" --json)
	if [ $? = 0 ] && [ "$got" = "$want" ]; then
		ok "python -m qshm hist counts == sim --counts"
	else
		fail "python -m qshm hist: got $got want $want"
	fi
	state=$(info "$ring" state producer_alive)
	[ "$state" = "closed False" ] && ok "ring stays, closed, after the run" ||
		fail "ring state after the run: $state"
fi

# 3. The next run of the same name replaces the closed ring, generation + 1.
"$QSHM" sim "$QASM/small/qft_n4.qasm" --shots 10 --seed 5 --ring "$ring" \
	2>"$TMP/replace.err" >/dev/null
if [ $have_py = 1 ]; then
	gen=$(info "$ring" generation)
	if grep -q "replacing closed ring" "$TMP/replace.err" && [ "$gen" = 2 ]; then
		ok "closed ring replaced with a notice, generation 2"
	else
		fail "replace: generation $gen, stderr: $(cat "$TMP/replace.err")"
	fi
fi

# 4. A live producer's ring is refused; a stale one (kill -9) is replaced.
ring=$TAG.live
"$QSHM" sim "$QASM/small/bell_n4.qasm" --shots 1000 --ring "$ring" \
	--wait-consumers 1 2>/dev/null &
live=$!; pids+=($live)
# live, not just there: a ring still being created is not "in use"
until_stat "$ring" '"state":"live"' || fail "the first producer's ring never went live"
"$QSHM" sim "$QASM/small/bell_n4.qasm" --shots 10 --ring "$ring" \
	2>"$TMP/live.err" >/dev/null
rc=$?
if [ $rc = 1 ] && grep -q "is in use" "$TMP/live.err"; then
	ok "a live producer's ring is refused"
else
	fail "live ring: rc $rc, $(cat "$TMP/live.err")"
fi
kill -9 $live; wait $live 2>/dev/null
"$QSHM" sim "$QASM/small/bell_n4.qasm" --shots 10 --ring "$ring" \
	2>"$TMP/stale.err" >/dev/null
if [ $? = 0 ] && grep -q "replacing stale ring" "$TMP/stale.err"; then
	ok "a stale ring (producer killed) is replaced with a notice"
else
	fail "stale ring: $(cat "$TMP/stale.err")"
fi

# 5. hist reports a producer that dies mid-run, after what it received.
ring=$TAG.kill
"$QSHM" sim "$QASM/small/qft_n4.qasm" --shots 1000000000 --seed 1 \
	--ring "$ring" --capacity 64K --wait-consumers 1 2>/dev/null &
prod=$!; pids+=($prod)
"$QSHM" hist "$ring" --json --wait 20 >"$TMP/kill.out" 2>"$TMP/kill.err" &
cons=$!; pids+=($cons)
# The run has begun, so hist is attached (--wait-consumers 1): one that
# attached after the kill would find no run ("no run seen").
until_stat "$ring" '"records":[1-9]' || fail "the run never began"
kill -9 $prod
wait $prod 2>/dev/null
start=$(date +%s%N)
wait $cons; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ $rc = 3 ] && grep -q "producer (pid $prod) died" "$TMP/kill.err"; then
	ok "hist: producer killed mid-run reported, exit 3, ${ms} ms after the kill"
else
	fail "hist after kill: rc $rc, $(cat "$TMP/kill.err")"
fi

# 6. Bad input: clear messages, non-zero exit, no ring left behind.
"$QSHM" sim /nonexistent.qasm --counts 2>"$TMP/e1"; rc=$?
[ $rc = 1 ] && grep -q "nonexistent.qasm" "$TMP/e1" &&
	ok "missing file: exit 1, names the file" || fail "missing file: rc $rc"
printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0],q[1];\n' \
	>"$TMP/bad.qasm"
"$QSHM" sim "$TMP/bad.qasm" --ring "$TAG.bad" 2>"$TMP/e2"; rc=$?
if [ $rc = 1 ] && grep -q "bad.qasm:5:1: error" "$TMP/e2" &&
   [ ! -e /dev/shm/qshm.$TAG.bad ]; then
	ok "parse error: file:line:col, no ring created"
else
	fail "parse error: rc $rc, $(cat "$TMP/e2")"
fi
printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[60];\nh q;\n' >"$TMP/big.qasm"
"$QSHM" sim "$TMP/big.qasm" --ring "$TAG.big" 2>"$TMP/e3"; rc=$?
if [ $rc = 1 ] && grep -qi "qubit" "$TMP/e3" &&
   [ ! -e /dev/shm/qshm.$TAG.big ]; then
	ok "too many qubits: exit 1 before any ring exists ($(head -c 120 "$TMP/e3"))"
else
	fail "too many qubits: rc $rc, $(cat "$TMP/e3")"
fi
"$QSHM" sim "$QASM/small/bell_n4.qasm" --ring 'bad/name' 2>"$TMP/e4"; rc=$?
[ $rc = 2 ] && grep -q "bad/name" "$TMP/e4" &&
	ok "bad ring name: usage error" || fail "bad ring name: rc $rc"

echo "$passes passed, $fails failed"
[ $fails = 0 ]
