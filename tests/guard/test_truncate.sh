#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_truncate.sh - rings truncated under processes that embed libqshm.
# A producer and reliable, lossy and read-only consumers (tests/guard/
# embed.c, each with qshm_install_sigbus_guard()) run on one ring; the
# ring's object is cut to 4096 bytes, then (another ring) to 0; each
# process must end with -QSHM_ETRUNCATED (its exit status 3) and "segment
# 'X' was truncated under us" on stderr: no death by SIGBUS, no record
# with wrong bytes accepted. The same without the guard dies by SIGBUS (so
# the test can tell). The Python package (which installs the guard at
# import) reading records in place gets qshm.Truncated. A SIGBUS that is
# not libqshm's still reaches the earlier handler, or kills when sent.
. "$(dirname "$0")/../tools/common.sh"
: "${EMBED:?EMBED must name the embed test program}"

# end_status PID: waits (at most 20 s) for PID; its exit status in $rc.
end_status() {
	local pid=$1
	timeout 20 tail --pid="$pid" -f /dev/null ||
		fail "process $pid did not end within 20 s of the truncation"
	rc=0
	wait "$pid" || rc=$?
}

# truncated_run SIZE: the four processes on ring $P-cutSIZE, cut to SIZE.
truncated_run() {
	local size=$1 R="$P-cut$1" who pids=() names=()
	bg "$T/prod$size" "$EMBED" produce "$R"
	pids+=("$BG"); names+=(producer)
	wait_for "$T/prod$size" '^ready$'
	for mode in reliable lossy readonly; do
		bg "$T/$mode$size" "$EMBED" consume "$R" "$mode"
		pids+=("$BG"); names+=("$mode")
		wait_for "$T/$mode$size" '^reading$'
	done
	truncate -s "$size" "/dev/shm/qshm.$R"
	for i in "${!pids[@]}"; do
		who=${names[$i]}
		end_status "${pids[$i]}"
		[ "$rc" -lt 128 ] || fail "$who died by signal $((rc - 128)) after the cut to $size"
		[ "$rc" -ne 4 ] || fail "$who accepted a record with wrong bytes"
		[ "$rc" -eq 3 ] || fail "$who exited $rc after the cut to $size, expected 3"
		f=$T/prod$size.err
		[ "$who" = producer ] || f=$T/$who$size.err
		grep -q "segment '$R' was truncated under us" "$f" ||
			fail "$who: no truncation message: $(cat "$f")"
	done
	rm -f "/dev/shm/qshm.$R"
	ok "cut to $size bytes: the producer and the reliable, lossy and read-only consumers end with QSHM_ETRUNCATED and a message"
}

truncated_run 4096
truncated_run 0

# ---- without the guard: SIGBUS kills (what the guard prevents) ----
R="$P-noguard"
bg "$T/ngp" "$EMBED" produce "$R" --no-guard
NGP=$BG
wait_for "$T/ngp" '^ready$'
bg "$T/ngc" "$EMBED" consume "$R" reliable --no-guard
NGC=$BG
wait_for "$T/ngc" '^reading$'
truncate -s 4096 "/dev/shm/qshm.$R"
end_status "$NGC"
[ "$rc" -eq $((128 + 7)) ] || fail "unguarded consumer exited $rc, expected death by SIGBUS (135)"
end_status "$NGP"
[ "$rc" -eq $((128 + 7)) ] || fail "unguarded producer exited $rc, expected death by SIGBUS (135)"
ok "without the guard the same cut kills both by SIGBUS"

# ---- the Python package, reading records in place ----
if ! "$PY" -c 'import numpy, cffi' 2>/dev/null; then
	echo "skip: the Python package's part (no numpy or cffi for $PY)"
else
# (a run of `qshm sim`: the package reads runs, and skips other records)
R="$P-py"
bg "$T/pyp" "$QSHM" sim "$QASM_DIR/small/bell_n4.qasm" --shots 4000000000 \
	--ring "$R" --wait-consumers 1 --quiet
PYP=$BG
cat >"$T/pyc.py" <<'PYEOF'
import sys
import qshm

name = sys.argv[1]
total = 0
try:
    with qshm.Consumer(name, reliable=True, timeout=10) as c:
        for n, rec in enumerate(c):
            total += sum(rec.data)  # the interpreter reads the ring
            if n == 0:
                print("reading", flush=True)
except qshm.Truncated as e:
    print(f"py consume: {e}", file=sys.stderr)
    sys.exit(3)
print("py consume: ended without Truncated", file=sys.stderr)
sys.exit(1)
PYEOF
bg "$T/pyc" "${PYRUN[@]}" "$T/pyc.py" "$R"
PYC=$BG
wait_for "$T/pyc" '^reading$' 30
truncate -s 4096 "/dev/shm/qshm.$R"
end_status "$PYC"
[ "$rc" -eq 3 ] || fail "the Python consumer exited $rc, expected 3 (Truncated)"
grep -q "segment '$R' was truncated under us" "$T/pyc.err" ||
	fail "Python: no truncation message"
end_status "$PYP"
[ "$rc" -eq 1 ] || fail "qshm sim under the Python consumer exited $rc, expected 1"
grep -q "segment '$R' was truncated under us" "$T/pyp.err" ||
	fail "qshm sim: no truncation message"
ok "the Python package raises Truncated, the interpreter lives"
fi

# ---- SIGBUS that is not libqshm's ----
expect_rc 0 "$EMBED" chain
ok "a SIGBUS outside libqshm's mappings reaches the handler installed before"
rc=0; "$EMBED" sent 2>/dev/null || rc=$?
[ "$rc" -eq $((128 + 7)) ] || fail "a sent SIGBUS: exit $rc, expected 135"
ok "a SIGBUS sent with kill() keeps its default action"
