# SPDX-License-Identifier: MIT
# common.sh - sourced by the tools tests (tests/tools/test_*.sh).
#
# Environment (from meson): QSHM (the qshm binary), RINGCTL (ringctl).
# Every ring a test makes is named "$P-..." with P = tt<pid>, and is
# removed on exit, failure included, together with every background
# process the test started (bg). Each step that could hang runs under
# `timeout`; meson adds its own timeout on the whole test.
set -euo pipefail

: "${QSHM:?QSHM must name the qshm binary}"
: "${RINGCTL:?RINGCTL must name the ringctl helper}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# The interpreter that imports the qshm package (PYRUN) and the package's
# command line (PYQSHM): in a sanitizer build the interpreter needs the
# sanitizer runtimes preloaded to load the instrumented libraries
# (QSHM_PY_PRELOAD, from meson; empty otherwise).
PYRUN=("$PY")
[ -z "${QSHM_PY_PRELOAD:-}" ] ||
	PYRUN=(env "LD_PRELOAD=$QSHM_PY_PRELOAD" ASAN_OPTIONS=detect_leaks=0
	       "$PY")
PYQSHM=("${PYRUN[@]}" -m qshm)
P="tt$$"
T=$(mktemp -d "${TMPDIR:-/tmp}/qshm-tools-test.XXXXXX")
BG_PIDS=()

cleanup() {
	local rc=$?
	if [ "$rc" -eq 0 ] && grep -lE 'Sanitizer|runtime error:' "$T"/*.err >&2 2>/dev/null; then
		echo "FAIL: a sanitizer reported an error in a background process" >&2
		rc=1
	fi
	for pid in "${BG_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -f /dev/shm/qshm."$P"-* 2>/dev/null || true
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "--- test failed (exit $rc); files in $T:" >&2
		for f in "$T"/*; do
			[ -f "$f" ] || continue
			grep -Iq . "$f" 2>/dev/null || continue # binary
			echo "=== $f" >&2
			head -c 4000 "$f" >&2 || true
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok: $*"
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# bg OUTFILE CMD...: runs CMD in the background, stdout to OUTFILE;
# its pid is in $BG.
bg() {
	local out=$1
	shift
	"$@" >"$out" 2>"$out.err" &
	BG=$!
	BG_PIDS+=("$BG")
}

# wait_for FILE PATTERN [SECONDS]: until FILE has a line matching PATTERN
# (30 s unless told).
wait_for() {
	local f=$1 pat=$2 secs=${3:-30} i=0
	while ! grep -qE -- "$pat" "$f" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $((secs * 20)) ] || fail "timed out waiting for '$pat' in $f"
		sleep 0.05
	done
}

# wait_consumer RING PID [SECONDS]: until RING lists a consumer (a slot,
# reliable or lossy) of process PID: it has attached.
wait_consumer() {
	local r=$1 pid=$2 secs=${3:-30} i=0
	# (the whole output first: grep -q leaving early would be SIGPIPE)
	until [[ "$("$QSHM" dump --json -n 0 "$r" 2>/dev/null || true)" == \
		 *"\"pid\":$pid,\"alive\":true,\"kind\":"* ]]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 20)) ] ||
			fail "timed out: process $pid never attached to ring $r"
		kill -0 "$pid" 2>/dev/null ||
			fail "process $pid ended before it attached to ring $r"
		sleep 0.05
	done
}

# wait_records RING [SECONDS]: until RING has published records.
wait_records() {
	local r=$1 secs=${2:-30} i=0
	until [[ "$("$QSHM" stat --json -i 0 "$r" 2>/dev/null || true)" =~ \"records\":[1-9] ]]; do
		i=$((i + 1))
		[ "$i" -le $((secs * 20)) ] || fail "ring $r never got records"
		sleep 0.05
	done
}

# expect_rc RC CMD...: runs CMD (stdout to $T/out, stderr to $T/err) and
# checks its exit status.
expect_rc() {
	local want=$1 got=0
	shift
	timeout 30 "$@" >"$T/out" 2>"$T/err" || got=$?
	if [ "$got" -ne "$want" ]; then
		echo "command: $*" >&2
		echo "stdout:" >&2; head -c 3000 "$T/out" >&2 || true
		echo "stderr:" >&2; head -c 3000 "$T/err" >&2 || true
		fail "exit status $got, expected $want: $*"
	fi
	no_sanitizer_report "$T/err"
}

# no_sanitizer_report FILE...: fails if a sanitizer reported anything.
no_sanitizer_report() {
	if grep -lE 'Sanitizer|runtime error:' "$@" 2>/dev/null; then
		cat "$@" >&2
		fail "a sanitizer reported an error"
	fi
}

# expect_msg WHAT: the last expect_rc's command said something on stderr.
expect_msg() {
	[ -s "$T/err" ] || fail "no message on stderr: $*"
}

# ended PID WANT WHAT FILE PATTERN: PID (a bg process) ends, within 20 s,
# with status WANT, not by a signal, and FILE (its stderr) matches PATTERN.
ended() {
	local pid=$1 want=$2 what=$3 f=$4 pat=$5 rc=0
	timeout 20 tail --pid="$pid" -f /dev/null ||
		fail "$what did not end within 20 s"
	wait "$pid" || rc=$?
	# (130, sim's documented status when stopped, reads as SIGINT to
	# the shell: its message tells them apart)
	[ "$rc" -lt 128 ] || [ "$rc" -eq "$want" ] ||
		fail "$what died by signal $((rc - 128))"
	[ "$rc" -eq "$want" ] || { cat "$f" >&2; fail "$what exited $rc, expected $want"; }
	grep -qE -- "$pat" "$f" || { cat "$f" >&2; fail "$what: no /$pat/ on stderr"; }
}

# wait_records RING: until the ring has published records (10 s at most).
wait_records() {
	for _ in $(seq 200); do
		"$QSHM" stat --json -i 0 "$1" >"$T/wr" 2>/dev/null &&
			grep -q '"records":[1-9]' "$T/wr" && return 0
		sleep 0.05
	done
	fail "ring $1 never got records"
}

# sim_with_hist RING OUT: an endless `qshm sim` of bell_n4 into RING that
# waits for one consumer, and `qshm hist --json` on it (stdout in OUT-sim
# and OUT-hist, stderr in OUT-sim.err and OUT-hist.err); their pids in
# $SIM and $HIST. Returns once records flow.
sim_with_hist() {
	bg "$2-sim" "$QSHM" sim "$QASM_DIR/small/bell_n4.qasm" \
		--shots 4000000000 --ring "$1" --wait-consumers 1 --quiet
	SIM=$BG
	bg "$2-hist" "$QSHM" hist --json --wait 10 "$1"
	HIST=$BG
	wait_records "$1"
}

# expect_grep PATTERN FILE: FILE has a line matching the extended regex.
expect_grep() {
	grep -qE -- "$1" "$2" || { cat "$2" >&2; fail "no line matches /$1/ in $2"; }
}

# jcheck FILE PYTHON-EXPRESSION...: each expression, with d = the parsed
# JSON of FILE, must be true.
jcheck() {
	local f=$1
	shift
	"$PY" - "$f" "$@" <<'PYEOF'
import json, sys
path = sys.argv[1]
with open(path) as fh:
    text = fh.read()
try:
    d = json.loads(text.splitlines()[0]) if text.strip() else None
except Exception as e:
    sys.exit("invalid JSON in %s: %s\n%s" % (path, e, text[:2000]))
for expr in sys.argv[2:]:
    try:
        ok = eval(expr, {"d": d, "json": json})
    except Exception as e:
        sys.exit("%s: %r raised %s: %s\n%s" % (path, expr, type(e).__name__, e, text[:3000]))
    if not ok:
        sys.exit("%s: check failed: %s\n%s" % (path, expr, text[:3000]))
PYEOF
}
