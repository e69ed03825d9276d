#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_sim.sh - dump decodes what `qshm sim` really publishes: a run of a
# QASMBench circuit into a ring, read back by dump, gives the same counts
# as `qshm sim --counts` with the same seed, and stat shows the producer
# counters sim keeps. Skipped (77) while `qshm sim --ring` is not built.
. "$(dirname "$0")/common.sh"

: "${QASM_DIR:?QASM_DIR must name tests/qasm}"
CIRCUIT="$QASM_DIR/small/bell_n4.qasm"
R="$P-sim"
rc=0
timeout 60 "$QSHM" sim "$CIRCUIT" --shots 1000 --seed 11 --ring "$R" \
	--probs >"$T/sim.out" 2>"$T/sim.err" || rc=$?
if [ "$rc" -ne 0 ]; then
	grep -qiE 'not available|unknown command' "$T/sim.err" &&
		skip "qshm sim cannot publish to a ring in this build"
	fail "qshm sim --ring failed ($rc)"
fi
timeout 60 "$QSHM" sim "$CIRCUIT" --shots 1000 --seed 11 --counts \
	>"$T/counts.json" || fail "qshm sim --counts failed"

expect_rc 0 "$QSHM" dump --json -n 100000 --shots 100000 "$R"
cp "$T/out" "$T/dump.json"
"$PY" - "$T/dump.json" "$T/counts.json" <<'PYEOF' || fail "dump disagrees with sim --counts"
import collections, json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[0])
want = json.load(open(sys.argv[2]))["counts"]
recs = d["records"]
assert d["state"] in ("closed", "stale"), d["state"]
assert d["reader"]["lost"] == 0
types = [r["type_name"] for r in recs]
assert types[0] == "RUN_BEGIN" and types[-1] == "RUN_END", types
run = recs[0]["run"]
assert run["circuit"].endswith("bell_n4.qasm"), run
assert run["shots"] == 1000 and run["seed"] == 11, run
assert "probs" in run["options"], run
got = collections.Counter()
for r in recs:
    if r["type_name"] == "SHOTS":
        assert not r["truncated"]
        got.update(r["outcomes"])
assert sum(got.values()) == 1000, sum(got.values())
assert dict(got) == want, (dict(got), want)
probs = [t for r in recs if r["type_name"] == "PROBS" for t in r["top"]]
assert probs and all(0 <= t["p"] <= 1 for t in probs), probs
assert recs[-1]["status"] == "ok" and recs[-1]["shots"] == 1000, recs[-1]
print("dump's outcomes match sim --counts: %s" % dict(got))
PYEOF
ok "dump decodes a real run: same counts as qshm sim --counts"

expect_rc 0 "$QSHM" stat --json --interval 0 "$R"
jcheck "$T/out" \
	"d['rings'][0]['run']['shots_requested'] == 1000" \
	"d['rings'][0]['run']['shots_published'] == 1000" \
	"d['rings'][0]['memory']['allocated'] > 0"
ok "stat shows the counters sim publishes (memory, shots)"

# The CLI as a newcomer meets it (issue: --shots 0, circuits without
# outcomes, stdin, --capacity, --keep/--unlink, --mode, usage style).
expect_rc 2 "$QSHM" sim "$CIRCUIT" --shots 0 --counts
expect_grep "^qshm sim: --shots 0: nothing to simulate" "$T/err"
expect_grep "^Try 'qshm sim --help'.$" "$T/err"
expect_rc 2 "$QSHM" sim "$CIRCUIT" --ring "$P-cap" --capacity 3M
expect_grep "power of two" "$T/err"
expect_rc 2 "$QSHM" sim "$CIRCUIT" --ring "$P-cap" --keep --unlink
printf 'OPENQASM 2.0;\nqreg q[2];\n' >"$T/nocreg.qasm"
expect_rc 1 "$QSHM" sim "$T/nocreg.qasm" --counts
expect_grep "declares no classical register" "$T/err"
printf 'OPENQASM 2.0;\nqreg q[2];\ncreg c[2];\n' >"$T/nomeasure.qasm"
expect_rc 0 "$QSHM" sim "$T/nomeasure.qasm" --counts --shots 5
expect_grep "never measures" "$T/err"
expect_grep '^\{"counts": \{"00": 5\}\}$' "$T/out"
ok "sim refuses --shots 0 and circuits without registers, explains ones that never measure"

want=$(timeout 30 "$QSHM" sim "$CIRCUIT" --shots 500 --seed 3 --counts)
got=$(timeout 30 "$QSHM" sim - --shots 500 --seed 3 --counts <"$CIRCUIT")
[ -n "$want" ] && [ "$got" = "$want" ] || fail "sim - (stdin) gave '$got', want '$want'"
ok "sim - reads the circuit from standard input"

expect_rc 0 "$QSHM" sim "$CIRCUIT" --shots 100 --ring "$P-mode" \
	--capacity 64KiB --mode 0640 --group "$(id -g)" -q
[ "$(stat -c '%a %g' "/dev/shm/qshm.$P-mode")" = "640 $(id -g)" ] ||
	fail "ring mode/group: $(stat -c '%a %g' "/dev/shm/qshm.$P-mode")"
expect_rc 0 "$QSHM" ls "$P-mode"
expect_grep " 80.0 KiB .* [0-9]+s  " "$T/out"
expect_rc 0 "$QSHM" sim "$CIRCUIT" --shots 100 --ring "$P-unl" --unlink -q
[ ! -e "/dev/shm/qshm.$P-unl" ] || fail "--unlink left the ring"
ok "sim --mode/--group set the ring's permissions, --capacity 64KiB, --unlink removes it, ls shows size and age"
