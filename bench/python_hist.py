#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python consumer against the C `qshm hist`: shots counted per second.

One 20-qubit run (all 20 qubits measured: ten in superposition, ten
entangled with them, 1024 distinct outcomes) is simulated once by
`qshm sim --ring` into a ring large enough to keep all of it. Then, in
interleaved passes over that same closed ring, each a reliable consumer
attaching from its oldest record:

  C        `qshm hist NAME --json` (a process; wall time, start-up included)
  py-codec qshm.counts(NAME): the package, counting the numpy views of the
           SHOTS records with the results codec's table (in-process time,
           from attach to the finished dict of outcome strings)
  py-numpy the package's Consumer, counting with numpy only (np.bincount
           over the views), then outcome strings for the outcomes seen

and prints shots/s of each and the ratios Python / C (median of the
per-pass ratios). Needs the qshm package importable (PYTHONPATH=python,
QSHM_BUILD_DIR=build) and the qshm command (--qshm).

    python3 bench/python_hist.py --qshm build/tools/qshm [--shots N]
        [--passes N] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import qshm

CIRCUIT = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[20];
creg c[20];
"""
CIRCUIT += "".join(f"h q[{i}];\n" for i in range(10))
CIRCUIT += "".join(f"cx q[{i}],q[{i + 10}];\n" for i in range(10))
CIRCUIT += "measure q -> c;\n"


def count_numpy(name: str) -> dict[str, int]:
    """Counts with numpy alone: the shots' words gathered (one memcpy a
    record) into a buffer, a dense np.bincount per million shots."""
    batch = np.empty(1 << 20, dtype=np.int64)
    with qshm.Consumer(name) as c:
        dense = None
        run = None
        fill = 0
        for rec in c:
            if rec.kind == "begin":
                run = rec.run
                assert run is not None and run.nclbits <= 24
                dense = np.zeros(1 << run.nclbits, dtype=np.int64)
            elif rec.kind == "shots" and dense is not None:
                col = rec.shots[:, 0].view(np.int64)
                if fill + len(col) > len(batch):
                    dense += np.bincount(batch[:fill], minlength=len(dense))
                    fill = 0
                batch[fill:fill + len(col)] = col
                fill += len(col)
        assert run is not None and dense is not None
        dense += np.bincount(batch[:fill], minlength=len(dense))
        idx = np.nonzero(dense)[0]
        return dict(sorted((run.outcome(np.array([i], dtype=np.uint64)),
                            int(dense[i])) for i in idx))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--qshm", required=True, help="the qshm command")
    ap.add_argument("--shots", type=int, default=4_000_000)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--json", metavar="FILE", help="also write the figures")
    args = ap.parse_args()

    name = f"pybench{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mix20.qasm")
        with open(path, "w") as f:
            f.write(CIRCUIT)
        # Ring data: 8 bytes a shot plus 16 per 4096-shot record, rounded
        # up to a power of two.
        need = args.shots * 8 * 1.01 + (1 << 20)
        cap = 1 << int(np.ceil(np.log2(need)))
        want = subprocess.run(
            [args.qshm, "sim", path, "--shots", str(args.shots), "--seed",
             "1", "--ring", name, "--capacity", str(cap), "--counts"],
            check=True, capture_output=True).stdout
    want_counts = json.loads(want)["counts"]
    rows: dict[str, list[float]] = {"C": [], "py-codec": [], "py-numpy": []}
    try:
        for _ in range(args.passes):
            t = time.perf_counter()
            out = subprocess.run([args.qshm, "hist", name, "--json"],
                                 check=True, capture_output=True).stdout
            rows["C"].append(time.perf_counter() - t)
            assert json.loads(out)["counts"] == want_counts

            t = time.perf_counter()
            got = qshm.counts(name)
            rows["py-codec"].append(time.perf_counter() - t)
            assert got == want_counts

            t = time.perf_counter()
            got = count_numpy(name)
            rows["py-numpy"].append(time.perf_counter() - t)
            assert got == want_counts
    finally:
        qshm.unlink(name)

    print(f"python_hist: {args.shots} shots of a 20-qubit run (20 clbits, "
          f"{len(want_counts)} outcomes), {args.passes} interleaved passes, "
          f"reliable consumers of one closed ring")
    print(f"{'consumer':<10} {'median s':>9} {'Mshots/s':>9} "
          f"{'ratio to C':>11}")
    report = {"shots": args.shots, "outcomes": len(want_counts),
              "passes": args.passes, "results": {}}
    for k, ts in rows.items():
        ratios = [c / p for c, p in zip(rows["C"], ts)]
        med = statistics.median(ts)
        ratio = statistics.median(ratios)
        print(f"{k:<10} {med:9.4f} {args.shots / med / 1e6:9.1f} "
              f"{ratio:10.2f}x")
        report["results"][k] = {"seconds": ts, "median_s": med,
                                "shots_per_s": args.shots / med,
                                "ratio_to_c": ratio}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
