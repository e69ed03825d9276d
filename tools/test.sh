#!/usr/bin/env bash
# Builds qshm and runs its test suite (all suites but the benchmarks' and
# the slow ones: runtime-slow, torture).
# Usage: tools/test.sh [BUILD_DIR] [extra meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$@"
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2 \
	--no-suite bench --no-suite bench-smoke --no-suite runtime-slow \
	--no-suite ring-slow --no-suite torture
