#!/usr/bin/env bash
# Installs what qshm needs to build, test and benchmark, from Debian's
# packages. Idempotent: does nothing when everything is there.
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc clang liburing-dev libcriterion-dev
      g++ # results suite: the public headers compile as C++17
      libjemalloc-dev python3 python3-numpy libzmq3-dev
      # the Python package (python/), its tests, docs example, venv install
      python3-cffi python3-pytest python3-pytest-asyncio python3-hypothesis
      python3-matplotlib python3-venv python3-setuptools python3-pip
      prometheus groff-base # tools tests: a real Prometheus; man page lint
      gnuplot-nox # qshm bench --plots
      spin # tests/model: the ring protocol model checks
      libfuzzer-14-dev) # tests/fuzz (with clang): -Dfuzz=true
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q "${missing[@]}"
