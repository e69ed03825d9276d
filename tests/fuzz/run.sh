#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for a bounded time.
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET [TARGET...]]
# BUILD_DIR is a build with -Dfuzz=true (see README.md, "Fuzzing"). The
# corpora grow under BUILD_DIR/fuzz/: run it again to continue from them.
# Exits 1 if a target found a crash, a leak or a slow input (the input is
# saved as BUILD_DIR/fuzz/artifacts/TARGET-*); prints each target's runs.
set -euo pipefail
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS [TARGET...]]}
secs=${2:-60}
shift $(($# < 2 ? $# : 2))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(qasm segment results wire)
src=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$src/../.." && pwd)
work=$build/fuzz
mkdir -p "$work/artifacts" "$work/seeds-qasm"
for t in "${targets[@]}"; do mkdir -p "$work/corpus-$t"; done

# Seeds: the small circuits of tests/qasm (a few KiB at most), the crafted
# ones of tests/fuzz/corpus/qasm, and rings and result records that
# gen_seeds makes through the public API (never committed images: they
# follow the segment format the library writes now).
find "$root/tests/qasm/small" "$src/corpus/qasm" -name '*.qasm' -size -8k \
	-exec cp {} "$work/seeds-qasm/" \;
cp "$root/tests/qasm/small/qelib1.inc" "$work/seeds-qasm/" 2>/dev/null || true
rm -rf "$work/seeds-segment" "$work/seeds-results"
"$build/tests/fuzz/gen_seeds" "$work/seeds-segment" "$work/seeds-results"
# Inputs that found a bug, kept as regression seeds (tests/fuzz/corpus/
# segment: a segment image and its action byte, see docs/fuzzing.md).
cp "$src/corpus/segment/"* "$work/seeds-segment/"
# (corpus/results: a record stream and its late-join decoder case.)
cp "$src/corpus/results/"* "$work/seeds-results/"
# The service's records: the committed seeds (gen_wire_seeds' output and
# any regression inputs), and gen_wire_seeds' records as the structs of
# service/svc_wire.h are now.
rm -rf "$work/seeds-wire"
mkdir -p "$work/seeds-wire"
cp "$src/corpus/wire/"* "$work/seeds-wire/"
"$build/tests/fuzz/gen_wire_seeds" "$work/seeds-wire"

# A small quarantine (ASan's default is 256 MiB): every input allocates
# anew, and fresh memory costs a page fault per page; 8 MiB still catches
# a use after free within the same input. Overridable from outside.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=8}

status=0
for t in "${targets[@]}"; do
	case $t in
	qasm) extra=(-max_len=8192 "-dict=$src/qasm.dict") ;;
	segment) extra=(-max_len=65536) ;;
	results) extra=(-max_len=8192) ;;
	wire) extra=(-max_len=16384) ;;
	*) echo "run.sh: unknown target $t" >&2; exit 2 ;;
	esac
	log=$work/$t.log
	echo "=== fuzz_$t for ${secs}s (log: $log)"
	# close_fd_mask=2: the commands' messages about hostile input are not
	# shown (sanitizer reports still are).
	if "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/$t-" "${extra[@]}" \
		"$work/corpus-$t" "$work/seeds-$t" >"$log" 2>&1; then
		grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
	else
		status=1
		echo "fuzz_$t FAILED:"
		tail -40 "$log"
	fi
	rm -f /dev/shm/qshm.fuzz[0-9]*
done
exit $status
