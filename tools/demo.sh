#!/usr/bin/env bash
# The main job, end to end: set up, build, then a producer simulating a real
# circuit (a 23-qubit GHZ state from QASMBench) streams its shots into ring
# "demo", and a consumer attached by name shows what it receives.
# Usage: tools/demo.sh [CIRCUIT.qasm] [SHOTS]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
circuit=${1:-tests/qasm/medium/ghz_state_n23.qasm}
shots=${2:-2000000}
ring=demo.$$
qshm=build/tools/qshm
# The producer creates the ring, waits for one reliable consumer, then runs.
"$qshm" sim "$circuit" --shots "$shots" --seed 7 --ring "$ring" \
	--wait-consumers 1 --unlink &
producer=$!
trap 'kill $producer 2>/dev/null || true' EXIT
"$qshm" hist "$ring" --wait 30
wait $producer
trap - EXIT
