#!/usr/bin/env bash
# The main job, end to end: set up, build, then a producer process streams
# records into a named ring and a consumer process attached by name shows
# what it receives.
#  - With the simulator built (`qshm sim`): a circuit (default: QASMBench's
#    23-qubit GHZ state) is simulated and its shots stream to `qshm hist`.
#  - Without it: `qshm demo`, a producer publishing patterned records and a
#    consumer verifying every byte in place.
# Usage: tools/demo.sh [CIRCUIT.qasm] [SHOTS]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
qshm=build/tools/qshm
if ! "$qshm" --help | grep -q '^  sim '; then
	echo "demo: the simulator is not built yet; running the ring demo" >&2
	exec "$qshm" demo
fi
circuit=${1:-tests/qasm/medium/ghz_state_n23.qasm}
shots=${2:-20000000}
ring=demo.$$
echo "demo: qshm sim streams $shots shots of $(basename "$circuit") into ring $ring;" \
     "qshm hist reads them in place" >&2
# The producer creates the ring, waits for one reliable consumer, then runs.
"$qshm" sim "$circuit" --shots "$shots" --seed 7 --ring "$ring" \
	--wait-consumers 1 --unlink --quiet &
producer=$!
trap 'kill $producer 2>/dev/null || true' EXIT
"$qshm" hist "$ring" --wait 30
wait $producer
trap - EXIT
