#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_service.sh - `qshm serve` with real client processes:
#   counts of N clients x M jobs equal `qshm sim --counts` for the same
#   circuits and seeds; garbage in one request ring earns that client
#   QSHM_EREFUSED replies while another is served; a passed deadline gives
#   ETIMEDOUT; a full queue QSHM_EQUEUEFULL and cancel ECANCELED; a killed
#   client's running job is dropped (its rings removed) and the service
#   serves the next; a killed service gives every waiting client
#   QSHM_ESERVICEDEAD and a restarted one serves again; SIGTERM stops it
#   cleanly.
# Every ring is named ts<pid>-..., removed on exit, failure included.
set -euo pipefail

: "${QSHM:?}" "${SVCCLIENT:?}" "${QASM_DIR:?}"
PYTHON3=${PYTHON3:-python3}
P="ts$$"
T=$(mktemp -d "${TMPDIR:-/tmp}/qshm-svc-test.XXXXXX")
BG_PIDS=()

cleanup() {
	local rc=$?
	for pid in "${BG_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -f /dev/shm/qshm."$P"-* 2>/dev/null || true
	if [ "$rc" -ne 0 ]; then
		for f in "$T"/*; do
			[ -f "$f" ] || continue
			echo "=== $f" >&2
			head -c 3000 "$f" >&2 || true
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# serve NAME ARGS...: starts `qshm serve`, pid in $SVC, waits until ready.
serve() {
	local name=$1
	shift
	# Emptied here, before the fork: the redirection below empties it
	# only once the child runs, and wait_for could meanwhile find the
	# "serving" line of an earlier service of the same name.
	: >"$T/serve-$name.err"
	"$QSHM" serve "$P-$name" "$@" >"$T/serve-$name.out" \
		2>"$T/serve-$name.err" &
	SVC=$!
	BG_PIDS+=("$SVC")
	wait_for "$T/serve-$name.err" "serving"
}

wait_for() {
	local f=$1 pat=$2 i=0
	while ! grep -qE -- "$pat" "$f" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le 600 ] || fail "timed out waiting for '$pat' in $f"
		sleep 0.05
	done
}

wait_file() {
	local i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ "$i" -le 600 ] || fail "timed out waiting for $1"
		sleep 0.05
	done
}

# stats_until NAME FIELDS WANT WHAT: until fields FIELDS (cut -f) of
# `svcclient stats NAME` read WANT (30 s at most; else fail with WHAT).
stats_until() {
	local i=0
	until [ "$("$SVCCLIENT" stats "$1" | cut -d' ' -f"$2")" = "$3" ]; do
		i=$((i + 1))
		[ "$i" -le 600 ] || fail "$4: $("$SVCCLIENT" stats "$1")"
		sleep 0.05
	done
}

# no_rings PATTERN: no /dev/shm/qshm.PATTERN (waits up to 30 s).
no_rings() {
	local i=0
	while compgen -G "/dev/shm/qshm.$1" >/dev/null; do
		i=$((i + 1))
		[ "$i" -le 600 ] || { ls /dev/shm >&2; fail "rings left: $1"; }
		sleep 0.05
	done
}

Q="$QASM_DIR/small"
CIRCUITS=("$Q/bell_n4.qasm" "$Q/adder_n4.qasm" "$Q/qft_n4.qasm"
	  "$Q/grover_n2.qasm" "$Q/ipea_n2.qasm" "$Q/qec_sm_n5.qasm")
for f in "${CIRCUITS[@]}"; do [ -f "$f" ] || fail "missing circuit $f"; done

# ---- N clients x M jobs: exactly the counts of qshm sim ----
serve a --workers 2 --queue 64
SVC_A=$SVC
for k in 1 2 3; do
	timeout 60 "$SVCCLIENT" multi "$P-a" 3000 $((k * 100)) "${CIRCUITS[@]}" \
		>"$T/multi$k.out" 2>"$T/multi$k.err" &
	BG_PIDS+=($!)
	eval "M$k=$!"
done
for k in 1 2 3; do
	eval "wait \$M$k" || fail "client $k failed: $(cat "$T/multi$k.err")"
done
n=0
for k in 1 2 3; do
	while read -r file seed json; do
		want=$("$QSHM" sim "$file" --shots 3000 --seed "$seed" --counts)
		[ "$json" = "$want" ] || fail "counts of $file seed $seed: service '$json', sim '$want'"
		n=$((n + 1))
	done <"$T/multi$k.out"
done
[ "$n" -eq $((3 * ${#CIRCUITS[@]})) ] || fail "$n results, expected $((3 * ${#CIRCUITS[@]}))"
ok "3 clients x ${#CIRCUITS[@]} jobs in flight: counts equal qshm sim --counts ($n results)"

timeout 30 "$QSHM" submit "$P-a" "$Q/qft_n4.qasm" --shots 777 --seed 0x2a \
	>"$T/submit.out" 2>"$T/submit.err" || fail "qshm submit failed"
[ "$(cat "$T/submit.out")" = "$("$QSHM" sim "$Q/qft_n4.qasm" --shots 777 --seed 0x2a --counts)" ] ||
	fail "qshm submit differs from qshm sim --counts"
ok "qshm submit prints what qshm sim --counts prints"

# metrics: 19 done, nothing queued, running, failed or refused, no client
# (a worker counts a job just after its reply: look for up to 30 s)
stats_until "$P-a" 1-8 "0 0 19 0 0 0 0 0" "metrics after 19 jobs"
"$QSHM" stat --interval 0 --json "$P-a" >"$T/stat.json" || fail "qshm stat --json on a service"
"$PYTHON3" - "$T/stat.json" <<'PYEOF' || fail "qshm stat --json: $(cat "$T/stat.json")"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["rings"][0] if "rings" in d else d
s = r["service"]
assert s["done"] == 19 and s["workers"] == 2 and s["queue"] == 64, s
b = s["latency_buckets"]
assert len(b) == 7 and b[-1] == 19 and b == sorted(b), b
assert len(s["latency_le_seconds"]) == 6 and s["latency_sum_seconds"] > 0, s
assert "memory" not in r and "run" not in r, r
PYEOF
"$QSHM" stat --interval 0 "$P-a" | grep -q "jobs         19 done" || fail "qshm stat text on a service"
ok "metrics in the control ring: 19 done; qshm stat (text, JSON) shows the service's counters and latency histogram"

# a bad circuit: its file:line:col message comes back, exit 1
printf 'OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n' >"$T/bad.qasm"
rc=0
timeout 30 "$QSHM" submit "$P-a" "$T/bad.qasm" --shots 5 >"$T/bad.out" 2>"$T/bad.err" || rc=$?
[ "$rc" -eq 1 ] || fail "bad circuit: exit $rc, expected 1"
grep -qE 'job:3:1: error' "$T/bad.err" || fail "bad circuit: no job:3:1 message: $(cat "$T/bad.err")"
printf 'OPENQASM 2.0;\ninclude "/etc/passwd";\nqreg q[1];\n' >"$T/incl.qasm"
rc=0
timeout 30 "$QSHM" submit "$P-a" "$T/incl.qasm" --shots 5 >"$T/incl.out" 2>"$T/incl.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'only .include' "$T/incl.err" || fail "include of a file was not refused: $(cat "$T/incl.err")"
ok "a bad circuit and an include of a file are refused with a message"

# ---- registered circuits: a 200-step sweep without re-parsing ----
timeout 120 "$SVCCLIENT" sweep "$P-a" 200 >"$T/sweep.out" 2>"$T/sweep.err" ||
	fail "sweep: $(cat "$T/sweep.err")"
grep -qx "sweep ok 200" "$T/sweep.out" || fail "sweep did not finish"
grep -qx "errors ok" "$T/sweep.out" || fail "sweep: error cases"
i=0
while read -r tag theta phi json; do
	[ "$tag" = sweep ] && [ "$theta" != ok ] || continue
	# The same circuit with the values written in: same counts.
	printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nry(%s) q[0];\ncx q[0], q[1];\nrz(%s/2) q[1];\nry(%s) q[1];\nmeasure q -> c;\n' \
		"$theta" "$phi" "$phi" >"$T/bound$i.qasm"
	want=$("$QSHM" sim "$T/bound$i.qasm" --shots 1000 --seed "$i" --counts)
	[ "$json" = "$want" ] || fail "sweep job $i: service '$json', sim '$want'"
	i=$((i + 1))
done <"$T/sweep.out"
[ "$i" -eq 3 ] || fail "sweep printed $i bound jobs, expected 3"
ok "a registered 2-parameter circuit, 200 values bound: probs and <Z> exact; counts equal qshm sim --counts of the bound text; bad registrations refused"

# ---- every kind of result, read in place, and the event-loop descriptor ----
timeout 60 "$SVCCLIENT" view "$P-a" >"$T/view.out" 2>"$T/view.err" ||
	fail "view: $(cat "$T/view.err")"
grep -qx "view ok" "$T/view.out" || fail "view"
ok "counts, shots, probs, state and <Z> of one job: in place (EBUSY while held), or copied"
timeout 60 "$SVCCLIENT" fd "$P-a" "$Q/qft_n4.qasm" >"$T/fd.out" 2>"$T/fd.err" ||
	fail "fd: $(cat "$T/fd.err")"
grep -qx "fd 4 results" "$T/fd.out" || fail "fd: $(cat "$T/fd.out")"
ok "qshm_client_fd: 4 results through poll() and process()"

# ---- garbage in one request ring; another client served meanwhile ----
timeout 60 "$SVCCLIENT" multi "$P-a" 500 7 "${CIRCUITS[@]}" >"$T/beside.out" 2>"$T/beside.err" &
BESIDE=$!
BG_PIDS+=("$BESIDE")
timeout 30 "$SVCCLIENT" garbage "$P-a" >"$T/garbage.out" 2>"$T/garbage.err" ||
	fail "garbage client could not send its records"
[ "$(grep -c '^reply QSHM_EREFUSED' "$T/garbage.out")" -eq 6 ] ||
	fail "expected 6 QSHM_EREFUSED replies: $(cat "$T/garbage.out")"
wait "$BESIDE" || fail "client beside the garbage failed"
while read -r file seed json; do
	[ "$json" = "$("$QSHM" sim "$file" --shots 500 --seed "$seed" --counts)" ] ||
		fail "client beside the garbage: wrong counts for $file"
done <"$T/beside.out"
[ "$(wc -l <"$T/beside.out")" -eq ${#CIRCUITS[@]} ] || fail "client beside the garbage: missing results"
kill -0 "$SVC" || fail "the service died of garbage"
i=0
while :; do
	read -r _ _ done failed _ _ refused _ <<<"$("$SVCCLIENT" stats "$P-a")"
	[ "$done" -eq 234 ] && [ "$failed" -eq 4 ] && [ "$refused" -eq 6 ] && break
	i=$((i + 1))
	[ "$i" -le 600 ] || break
	sleep 0.05
done
# done: 25 + the sweep's registration and 200 jobs + view's 4 + fd's 4;
# failed: 2 + a bad registration + probs of a branching circuit.
[ "$done" -eq 234 ] && [ "$failed" -eq 4 ] && [ "$refused" -eq 6 ] ||
	fail "metrics after garbage: $("$SVCCLIENT" stats "$P-a")"
ok "6 malformed records get 6 QSHM_EREFUSED replies; another client is served meanwhile"

# ---- the waiting of kernels without io_uring futex waits ----
QSHM_SERVE_NO_POLL=1 serve np --workers 2 --inline-qubits 0
NP=$SVC
timeout 60 "$SVCCLIENT" multi "$P-np" 400 55 "${CIRCUITS[@]}" >"$T/np.out" 2>"$T/np.err" ||
	fail "client of the no-poll service failed: $(cat "$T/np.err")"
while read -r file seed json; do
	[ "$json" = "$("$QSHM" sim "$file" --shots 400 --seed "$seed" --counts)" ] ||
		fail "no-poll service: wrong counts for $file"
done <"$T/np.out"
[ "$(wc -l <"$T/np.out")" -eq ${#CIRCUITS[@]} ] || fail "no-poll service: missing results"
kill -TERM "$NP"; wait "$NP" || fail "no-poll service: bad exit"
SVC=$SVC_A
ok "without qshm_poll (as before Linux 6.7), every job on a worker (--inline-qubits 0): ${#CIRCUITS[@]} jobs, right counts"

# ---- a deadline that passes ----
out=$(timeout 30 "$SVCCLIENT" deadline "$P-a" "$Q/bell_n4.qasm" 200)
[ "$out" = ETIMEDOUT ] || fail "deadline: got '$out'"
ok "a job past its 200 ms deadline gives ETIMEDOUT"

# ---- SIGTERM: a clean stop, every ring removed ----
kill -TERM "$SVC"
rc=0
wait "$SVC" || rc=$?
[ "$rc" -eq 0 ] || fail "serve exited $rc on SIGTERM"
no_rings "$P-a*"
ok "SIGTERM stops the service with status 0 and removes its rings"

# ---- a full queue, then cancel ----
serve c --workers 1 --queue 1
out=$(timeout 30 "$SVCCLIENT" queue "$P-c" "$Q/bell_n4.qasm")
[ "$out" = "$(printf 'second QSHM_EQUEUEFULL\nfirst ECANCELED')" ] || fail "queue/cancel: got '$out'"
ok "a full queue gives QSHM_EQUEUEFULL; cancelling a running job gives ECANCELED"

kill -TERM "$SVC"; wait "$SVC" || true
serve f --workers 1 --queue 8

# ---- fairness: round robin across clients ----
# One worker. Client A queues four endless jobs; client B one small job.
# When A's running job is cancelled, B's job (its client never served)
# runs before A's next: B finishes while A's three jobs still wait. In
# FIFO order B would wait behind an endless job until the 20 s timeout.
"$SVCCLIENT" fair "$P-f" "$Q/bell_n4.qasm" "$T/fair.ready" "$T/fair.go" "$T/fair.go2" \
	>"$T/fair.out" 2>"$T/fair.err" &
A=$!
BG_PIDS+=("$A")
wait_file "$T/fair.ready"
"$QSHM" submit "$P-f" "$Q/grover_n2.qasm" --shots 100 --seed 9 --timeout 20 \
	>"$T/fairB.out" 2>"$T/fairB.err" &
B=$!
BG_PIDS+=("$B")
stats_until "$P-f" 1-2 "4 1" "fairness: B's job never queued"
touch "$T/fair.go"
wait "$B" || fail "fairness: B's job not served before A's queued jobs: $(cat "$T/fairB.err")"
[ "$(cat "$T/fairB.out")" = "$("$QSHM" sim "$Q/grover_n2.qasm" --shots 100 --seed 9 --counts)" ] ||
	fail "fairness: wrong counts for B"
# The worker takes A's next job just after B's reply (B may have exited
# before that): 2 queued and 1 running, within 30 s.
stats_until "$P-f" 1-2 "2 1" "fairness: A's jobs not waiting"
touch "$T/fair.go2"
wait "$A" || fail "fairness: client A failed"
[ "$(grep -c ECANCELED "$T/fair.out")" -eq 4 ] || fail "fairness: A's jobs: $(cat "$T/fair.out")"
ok "round robin: another client's job runs before a client's queued backlog"

# ---- a killed client: its job stops, its rings go, others are served ----
"$SVCCLIENT" hang "$P-f" "$Q/bell_n4.qasm" "$T/hang.ready" >"$T/hang.out" 2>&1 &
H=$!
BG_PIDS+=("$H")
wait_file "$T/hang.ready"
kill -KILL "$H"
wait "$H" 2>/dev/null || true
# one worker: this job runs only once the killed client's job has stopped
timeout 30 "$QSHM" submit "$P-f" "$Q/grover_n2.qasm" --shots 100 --seed 3 >"$T/after.out" 2>"$T/after.err" ||
	fail "no service after a client was killed: $(cat "$T/after.err")"
[ "$(cat "$T/after.out")" = "$("$QSHM" sim "$Q/grover_n2.qasm" --shots 100 --seed 3 --counts)" ] ||
	fail "wrong counts after a client was killed"
no_rings "$P-f.[qr].$H-*"
grep -q "client $H-0 left (QSHM_EPRODUCERDEAD" "$T/serve-f.err" || fail "service did not log the dead client"
ok "a killed client's running job is dropped, its rings removed, the next client served"
kill -TERM "$SVC"; wait "$SVC" || true
grep -q "stopping ([1-9][0-9]* jobs ran on the main thread" "$T/serve-f.err" ||
	fail "small jobs did not take the inline lane: $(grep stopping "$T/serve-f.err")"

# ---- the inline lane: a small job does not wait for the only worker ----
# One worker, busy with an endless job (2^40 shots: never inline). A small
# job of another client is answered meanwhile, by the main thread; with
# --inline-qubits 0 the same job waits behind the endless one.
for lane in on off; do
	if [ "$lane" = on ]; then serve l --workers 1; else serve l --workers 1 --inline-qubits 0; fi
	"$SVCCLIENT" hang "$P-l" "$Q/bell_n4.qasm" "$T/lane.ready" >"$T/lane-hang.out" 2>&1 &
	H=$!
	BG_PIDS+=("$H")
	wait_file "$T/lane.ready"
	stats_until "$P-l" 2 "1" "inline lane: the endless job never ran"
	rc=0
	timeout 30 "$QSHM" submit "$P-l" "$Q/grover_n2.qasm" --shots 100 --seed 5 --timeout 2 \
		>"$T/lane-$lane.out" 2>"$T/lane-$lane.err" || rc=$?
	[ "$("$SVCCLIENT" stats "$P-l" | cut -d' ' -f2)" = 1 ] ||
		fail "inline lane ($lane): the endless job is no longer running"
	if [ "$lane" = on ]; then
		[ "$rc" -eq 0 ] || fail "inline lane: the small job waited: $(cat "$T/lane-on.err")"
		[ "$(cat "$T/lane-on.out")" = "$("$QSHM" sim "$Q/grover_n2.qasm" --shots 100 --seed 5 --counts)" ] ||
			fail "inline lane: wrong counts"
	else
		[ "$rc" -ne 0 ] && grep -q "not done yet" "$T/lane-off.err" ||
			fail "--inline-qubits 0: the small job did not wait for the worker (rc $rc): $(cat "$T/lane-off.err")"
	fi
	kill -KILL "$H"; wait "$H" 2>/dev/null || true
	rm -f "$T/lane.ready"
	kill -TERM "$SVC"; wait "$SVC" || true
done
grep -q "stopping (0 jobs ran on the main thread" "$T/serve-l.err" ||
	fail "--inline-qubits 0: $(grep stopping "$T/serve-l.err")"
ok "the inline lane: a small job is answered while the only worker runs an endless job; with --inline-qubits 0 it waits"

# A registered circuit whose bind expands 8192 applications (over the
# lane's 4096) is bound and run by a worker, 5 runs out of 5; a small
# registered circuit takes the lane (at least once in 5 runs 20 ms apart:
# a run sent the instant a worker's reply arrives can find that worker
# still holding the client's reply lock, and go to a worker as well).
# Counts as qshm sim's of the bound text.
{
	printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nparam t;\ngate g0(x) a { rx(x) a; }\n'
	for k in $(seq 1 13); do printf 'gate g%d(x) a { g%d(x) a; g%d(x) a; }\n' "$k" $((k - 1)) $((k - 1)); done
	printf 'qreg q[1];\ncreg c[1];\ng13(t) q[0];\nmeasure q -> c;\n'
} >"$T/deep.qasm"
sed 's/^param t;$//; s/g13(t)/g13(0.0001)/' "$T/deep.qasm" >"$T/deep-bound.qasm"
printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nparam t;\nqreg q[2];\ncreg c[2];\nry(t) q[0];\ncx q[0], q[1];\nmeasure q -> c;\n' >"$T/small.qasm"
sed 's/^param t;$//; s/ry(t)/ry(0.0001)/' "$T/small.qasm" >"$T/small-bound.qasm"
for kind in deep small; do
	serve b --workers 1
	out=$(timeout 60 "$SVCCLIENT" regrun "$P-b" "$T/$kind.qasm" 5 0.0001) ||
		fail "registered $kind circuit: $out"
	[ "$out" = "$("$QSHM" sim "$T/$kind-bound.qasm" --shots 300 --seed 2 --counts)" ] ||
		fail "registered $kind circuit: wrong counts: $out"
	kill -TERM "$SVC"; wait "$SVC" || true
	n=$(sed -n 's/.*stopping (\([0-9]*\) jobs ran on the main thread.*/\1/p' "$T/serve-b.err")
	if [ "$kind" = deep ]; then
		[ "$n" = 0 ] || fail "a bind over the lane's budget ran inline ($n of 5)"
	else
		[ -n "$n" ] && [ "$n" -ge 1 ] || fail "a small registered circuit took the lane $n times of 5"
	fi
done
ok "a registered circuit whose bind expands past the lane's budget runs on a worker; a small one takes the lane"

# ---- the text cache (docs/service.md, "The text cache") ----
# Jobs sent as text, from real client processes, each compared with
# `qshm sim --counts`: texts sent again take the cached parse; a text that
# differs in one byte (h -> x) or only in a comment is its own entry; 40
# distinct texts, each sent twice (so each is cached), leave at most 16
# entries (the log's figures) and the first texts still right after their
# eviction.
printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n' >"$T/tc-a.qasm"
sed 's/^h q\[0\];$/x q[0];/' "$T/tc-a.qasm" >"$T/tc-x.qasm"
cmp -s "$T/tc-a.qasm" "$T/tc-x.qasm" && fail "text cache: the changed text is the same"
{ cat "$T/tc-a.qasm"; printf '// another text, the same circuit\n'; } >"$T/tc-c.qasm"
serve tc --workers 1
for round in 1 2 3; do
	timeout 60 "$SVCCLIENT" multi "$P-tc" 300 $((round * 10)) "$T/tc-a.qasm" "$T/tc-x.qasm" \
		"$T/tc-c.qasm" "$T/tc-a.qasm" >"$T/tc$round.out" 2>"$T/tc$round.err" ||
		fail "text cache: client failed: $(cat "$T/tc$round.err")"
	[ "$(wc -l <"$T/tc$round.out")" -eq 4 ] || fail "text cache: $(cat "$T/tc$round.out")"
	while read -r file seed json; do
		[ "$json" = "$("$QSHM" sim "$file" --shots 300 --seed "$seed" --counts)" ] ||
			fail "text cache: wrong counts for $file seed $seed: $json"
	done <"$T/tc$round.out"
done
files=()
for k in $(seq 1 40); do
	{ cat "$T/tc-a.qasm"; printf '// text %d\n' "$k"; } >"$T/tc-n$k.qasm"
	files+=("$T/tc-n$k.qasm" "$T/tc-n$k.qasm")
done
timeout 60 "$SVCCLIENT" multi "$P-tc" 100 1 "${files[@]}" "$T/tc-x.qasm" >"$T/tcn.out" 2>"$T/tcn.err" ||
	fail "text cache: client of 81 texts failed: $(cat "$T/tcn.err")"
[ "$(wc -l <"$T/tcn.out")" -eq 81 ] || fail "text cache: $(wc -l <"$T/tcn.out") replies of 81"
while read -r file seed json; do
	[ "$json" = "$("$QSHM" sim "$file" --shots 100 --seed "$seed" --counts)" ] ||
		fail "text cache: wrong counts for $file seed $seed: $json"
done <"$T/tcn.out"
kill -TERM "$SVC"; wait "$SVC" || true
line=$(grep -o 'text cache: [0-9]* hits, [0-9]* misses, [0-9]* evicted, [0-9]* of 16 entries' "$T/serve-tc.err") ||
	fail "text cache: no figures in the log: $(grep stopping "$T/serve-tc.err")"
read -r hits misses evicted entries < <(echo "$line" | sed 's/[^0-9 ]//g; s/  */ /g; s/^ //' | cut -d' ' -f1,2,3,4)
[ "$entries" -le 16 ] || fail "text cache: $entries entries: $line"
[ "$hits" -ge 3 ] || fail "text cache: texts sent again were parsed again: $line"
[ "$evicted" -ge 1 ] || fail "text cache: 44 distinct texts evicted nothing: $line"
ok "the text cache: repeated texts hit ($line); changed texts are their own entries; counts as qshm sim's throughout"

# A cached text keeps the lane's bounds: a parameter-less text of 14
# qubits (over --inline-qubits 10) and one whose parse expands 8192 gate
# applications (over the lane's 4096), each sent four times by separate
# clients, so cached after the second: none runs on the main thread, and
# the counts are qshm sim's.
{ printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[14];\ncreg c[14];\n'
  for i in $(seq 0 13); do printf 'h q[%d];\n' "$i"; done
  printf 'measure q -> c;\n'; } >"$T/tc-wide.qasm"
sed 's/^param t;$//; s/g13(t)/g13(0.0001)/' "$T/deep.qasm" >"$T/tc-deep.qasm"
for kind in wide deep; do
	serve tb --workers 1
	for k in 1 2 3 4; do
		out=$(timeout 60 "$SVCCLIENT" multi "$P-tb" 200 "$k" "$T/tc-$kind.qasm") ||
			fail "text cache over the lane's bounds ($kind): $out"
		read -r file seed json <<<"$out"
		[ "$json" = "$("$QSHM" sim "$file" --shots 200 --seed "$seed" --counts)" ] ||
			fail "text cache over the lane's bounds ($kind): wrong counts: $out"
	done
	kill -TERM "$SVC"; wait "$SVC" || true
	grep -q "stopping (0 jobs ran on the main thread" "$T/serve-tb.err" ||
		fail "a cached $kind text over the lane's bounds ran inline: $(grep stopping "$T/serve-tb.err")"
done
ok "cached texts over the lane's bounds (14 qubits; 8192 gate applications) run on a worker, 4 times of 4 each"

# ---- client policy: retries with backoff, the circuit breaker ----
serve p --workers 1 --queue 1
timeout 60 "$SVCCLIENT" policy "$P-p" "$Q/bell_n4.qasm" >"$T/policy.out" 2>"$T/policy.err" ||
	fail "policy: $(cat "$T/policy.err")"
grep -qx "retry ok" "$T/policy.out" && grep -qx "breaker ok" "$T/policy.out" ||
	fail "policy: $(cat "$T/policy.out")"
ok "a full queue: a retried job gets in with backoff, a no-retry job does not; the breaker opens after 2 failures, refuses, closes after a trial"
printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nparam t, u;\nqreg q[2];\ncreg c[2];\nry(t) q[0];\ncx q[0], q[1];\nrz(u) q[1];\nmeasure q -> c;\n' >"$T/param.qasm"
printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nry(0.5) q[0];\ncx q[0], q[1];\nrz(-2) q[1];\nmeasure q -> c;\n' >"$T/param-bound.qasm"
out=$(timeout 30 "$QSHM" submit "$P-p" "$T/param.qasm" --shots 800 --seed 4 --param u=-2 --param t=0.5 --expect 0) ||
	fail "qshm submit --param"
want=$("$QSHM" sim "$T/param-bound.qasm" --shots 800 --seed 4 --counts)
[ "${out%%, \"expect\"*}}" = "$want" ] || fail "submit --param: '$out', sim: '$want'"
"$PYTHON3" - "$out" <<'PYEOF' || fail "submit --expect: $out"
import json, math, sys
d = json.loads(sys.argv[1])
assert abs(d["expect"][0] - math.cos(0.5)) < 1e-12, d
PYEOF
rc=0
timeout 30 "$QSHM" submit "$P-p" "$T/param.qasm" --shots 8 --param t=1 2>"$T/param.err" >/dev/null || rc=$?
[ "$rc" -eq 1 ] && grep -q "no --param u=VALUE" "$T/param.err" || fail "a missing --param: $rc $(cat "$T/param.err")"
ok "qshm submit --param NAME=VALUE --expect: registered, bound by name, counts equal qshm sim of the bound text, <Z0> = cos(t)"
kill -TERM "$SVC"; wait "$SVC" || true

# ---- reconnection to a restarted service ----
# (no inline lane: the client's second job must wait in the queue behind
# its first when the service dies)
serve r --workers 1 --inline-qubits 0
"$SVCCLIENT" reconnect "$P-r" "$Q/bell_n4.qasm" "$T/rc.ready" "$T/rc.go" \
	>"$T/rc.out" 2>"$T/rc.err" &
RC=$!
BG_PIDS+=("$RC")
wait_file "$T/rc.ready"
kill -KILL "$SVC"
wait "$SVC" 2>/dev/null || true
touch "$T/rc.go"
sleep 0.3
serve r --workers 1 --inline-qubits 0
timeout 60 tail --pid="$RC" -f /dev/null || fail "reconnecting client hangs"
wait "$RC" || fail "reconnect: $(cat "$T/rc.err")"
grep -qx "reconnect ok" "$T/rc.out" || fail "reconnect: $(cat "$T/rc.out")"
want=$("$QSHM" sim "$Q/bell_n4.qasm" --shots 100 --seed 9 --counts)
grep -qxF "pending $want" "$T/rc.out" || fail "job queued at the kill: $(cat "$T/rc.out"), sim $want"
ok "a client reconnects to a restarted service by itself: its queued job is sent again (counts of qshm sim), its no-retry job fails with QSHM_ESERVICEDEAD, its circuit is registered again"
kill -TERM "$SVC"; wait "$SVC" || true

# ---- memory-aware scheduling ----
serve m --workers 2 --memory 2M
"$SVCCLIENT" memory "$P-m" "$Q/bell_n4.qasm" "$T/mem.go" "$T/serve-m.err" \
	>"$T/mem.out" 2>"$T/mem.err" &
MC=$!
BG_PIDS+=("$MC")
wait_for "$T/serve-m.err" "waits for memory"
wait_for "$T/mem.out" "efbig ok"
wait_for "$T/serve-m.err" "got its memory"
touch "$T/mem.go"
timeout 60 tail --pid="$MC" -f /dev/null || fail "memory client hangs"
wait "$MC" || fail "memory: $(cat "$T/mem.err")"
grep -qx "memory ok" "$T/mem.out" || fail "memory: $(cat "$T/mem.out")"
ok "--memory 2M: a second 17-qubit job waits for memory while a small job runs beside the first, gets it when the first ends; 18 qubits: EFBIG"
kill -TERM "$SVC"; wait "$SVC" || true

# ---- the main thread never waits for a worker's reply lock ----
serve s --workers 2
timeout 120 "$SVCCLIENT" stall "$P-s" >"$T/stall.out" 2>"$T/stall.err" ||
	fail "stall: $(cat "$T/stall.err")"
grep -qx "stall ok" "$T/stall.out" || fail "stall"
grep -q "a reply waits for the client's reply lock" "$T/serve-s.err" ||
	fail "the main thread did not keep the reply: $(cat "$T/serve-s.err")"
kill -TERM "$SVC"; wait "$SVC" || true
ok "a reply owed while a worker holds the client's reply lock is kept, another client is served, the client gets it later"

# ---- busy polling ----
serve b --workers 1 --busy-poll
timeout 60 "$SVCCLIENT" multi "$P-b" 500 9 "${CIRCUITS[@]}" >"$T/busy.out" 2>"$T/busy.err" ||
	fail "busy-poll client: $(cat "$T/busy.err")"
n=0
while read -r file seed json; do
	want=$("$QSHM" sim "$file" --shots 500 --seed "$seed" --counts)
	[ "$json" = "$want" ] || fail "busy-poll: counts of $file"
	n=$((n + 1))
done <"$T/busy.out"
[ "$n" -eq ${#CIRCUITS[@]} ] || fail "busy-poll: $n results"
"$QSHM" stat --interval 0 "$P-b" | grep -q -- "--busy-poll" || fail "stat does not say --busy-poll"
kill -TERM "$SVC"; wait "$SVC" || fail "busy-polling service did not stop cleanly"
ok "--busy-poll: ${#CIRCUITS[@]} jobs with the counts of qshm sim; stops on SIGTERM"

# ---- a killed service: every waiting client gets QSHM_ESERVICEDEAD ----
serve d --workers 3
for k in 1 2 3; do
	"$SVCCLIENT" hang "$P-d" "$Q/bell_n4.qasm" "$T/d$k.ready" >"$T/d$k.out" 2>"$T/d$k.err" &
	BG_PIDS+=($!)
	eval "D$k=$!"
done
for k in 1 2 3; do wait_file "$T/d$k.ready"; done
# the three jobs are running (the clients wait on jobs the service holds)
stats_until "$P-d" 1-2 "0 3" "the 3 hanging jobs never ran"
# A fourth client asks qshm_client_alive() (no wait, no process()); its
# job waits in the queue behind the three.
"$SVCCLIENT" alive "$P-d" "$Q/bell_n4.qasm" "$T/d4.ready" >"$T/d4.out" 2>"$T/d4.err" &
BG_PIDS+=($!)
D4=$!
wait_file "$T/d4.ready"
stats_until "$P-d" 1-2 "1 3" "the fourth job never queued"
t0=$(date +%s%6N)
kill -KILL "$SVC"
for k in 1 2 3; do
	eval "timeout 10 tail --pid=\$D$k -f /dev/null" || fail "client $k still waits after the service died"
done
worst=0
for k in 1 2 3; do
	read -r word code t <"$T/d$k.out" || fail "client $k printed nothing"
	[ "$code" = QSHM_ESERVICEDEAD ] || fail "client $k: $code, expected QSHM_ESERVICEDEAD"
	d=$((t - t0))
	[ "$d" -gt "$worst" ] && worst=$d
done
wait "$D4" || fail "alive client: $(cat "$T/d4.err")"
read -r word n code <"$T/d4.out" || fail "alive client printed nothing"
[ "$word $n $code" = "alive 0 QSHM_ESERVICEDEAD" ] || fail "alive client: $word $n $code"
ok "qshm_client_alive() says 0 once the service is killed; the job is ready with QSHM_ESERVICEDEAD"
no_rings "$P-d.r.*"
ok "a killed service: 3 waiting clients get QSHM_ESERVICEDEAD (slowest ${worst} us after kill -9, loaded machine; not asserted); reply rings removed"
serve d --workers 1
timeout 30 "$QSHM" submit "$P-d" "$Q/bell_n4.qasm" --shots 10 --seed 1 >/dev/null 2>"$T/restart.err" ||
	fail "restarted service does not serve: $(cat "$T/restart.err")"
ok "a restarted service replaces the stale one and serves"
kill -TERM "$SVC"; wait "$SVC" || true
no_rings "$P-*"
# sanitizer builds: no report in any process's output
if grep -lE 'Sanitizer|runtime error:' "$T"/* 2>/dev/null; then
	fail "a sanitizer reported an error (files above)"
fi
ok "no sanitizer report from any process"
