# SPDX-License-Identifier: MIT
"""``python3 -m qshm bench-client SERVICE``: the round trip of jobs through
:class:`qshm.Client` against a running ``qshm serve SERVICE``, the Python
row of ``qshm bench``'s service figures (which starts the service and runs
this). Prints one line per timed job, ``END_TO_END_NS SIM_NS`` (the time
from calling run() to holding the result, and the simulator's own time
for the job as the service measured it), or with ``--summary`` the
percentiles."""
from __future__ import annotations

import argparse
import asyncio
import sys
import time

TRIVIAL = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\n'
           'h q[0];\nmeasure q[0] -> c[0];\n')

VQE = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[4];\ncreg c[4];\n'
       'ry({0!r}) q[0];\nry({1!r}) q[1];\nry({2!r}) q[2];\nry({3!r}) q[3];\n'
       'cx q[0],q[1];\ncx q[1],q[2];\ncx q[2],q[3];\n'
       'ry({4!r}) q[0];\nry({5!r}) q[1];\nry({6!r}) q[2];\nry({7!r}) q[3];\n'
       'measure q -> c;\n')


def job_text(kind: str, i: int) -> tuple[str, int]:
    """Step i's circuit and shots: the jobs of bench/bench_service.c."""
    if kind == "trivial":
        return TRIVIAL, 1
    t = [0.1 + 0.37 * k + 0.001 * (i % 5000) for k in range(8)]
    return VQE.format(*t), 1000


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m qshm bench-client",
        description="Time jobs through qshm.Client against a running "
        "'qshm serve SERVICE': one line per timed job, 'END_TO_END_NS "
        "SIM_NS' (or percentiles with --summary).")
    p.add_argument("service", help="the service's name")
    p.add_argument("--kind", choices=("trivial", "vqe"), default="trivial",
                   help="trivial: 1 qubit, 1 shot; vqe: a 4-qubit ansatz "
                   "with new angles each step, 1000 shots")
    p.add_argument("--iters", type=int, default=1000,
                   help="timed jobs (default 1000)")
    p.add_argument("--warmup", type=int, default=100,
                   help="untimed jobs first (default 100)")
    p.add_argument("--sync", action="store_true",
                   help="run_sync() instead of await run()")
    p.add_argument("--summary", action="store_true",
                   help="print p50/p99 of end to end and overhead, in us")
    return p


async def _run_async(client, kind: str, n: int, first: int,  # type: ignore[no-untyped-def]
                     out: list[tuple[int, int]] | None) -> None:
    for i in range(first, first + n):
        text, shots = job_text(kind, i)
        t0 = time.perf_counter_ns()
        res = await client.run(text, shots=shots, seed=i)
        t1 = time.perf_counter_ns()
        if sum(res.counts.values()) != shots:
            raise RuntimeError(f"job {i}: {res.counts} is not {shots} shots")
        if out is not None:
            out.append((t1 - t0, res.sim_ns))


def _run_sync(client, kind: str, n: int, first: int,  # type: ignore[no-untyped-def]
              out: list[tuple[int, int]] | None) -> None:
    for i in range(first, first + n):
        text, shots = job_text(kind, i)
        t0 = time.perf_counter_ns()
        res = client.run_sync(text, shots=shots, seed=i)
        t1 = time.perf_counter_ns()
        if sum(res.counts.values()) != shots:
            raise RuntimeError(f"job {i}: {res.counts} is not {shots} shots")
        if out is not None:
            out.append((t1 - t0, res.sim_ns))


def _pct(v: list[int], p: float) -> float:
    import math
    s = sorted(v)
    return s[max(1, min(len(s), math.ceil(p * len(s)))) - 1]


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    import qshm
    samples: list[tuple[int, int]] = []
    with qshm.Client(a.service) as client:
        if a.sync:
            _run_sync(client, a.kind, a.warmup, 0, None)
            _run_sync(client, a.kind, a.iters, a.warmup, samples)
        else:
            async def go() -> None:
                await _run_async(client, a.kind, a.warmup, 0, None)
                await _run_async(client, a.kind, a.iters, a.warmup, samples)
            asyncio.run(go())
    if a.summary:
        e2e = [e for e, _ in samples]
        ovh = [max(0, e - s) for e, s in samples]
        print(f"{a.kind} x {a.iters} ({'sync' if a.sync else 'asyncio'}): "
              f"p50 {_pct(e2e, .5) / 1e3:.1f} us, p99 {_pct(e2e, .99) / 1e3:.1f}"
              f" us; overhead p50 {_pct(ovh, .5) / 1e3:.1f} us, p99 "
              f"{_pct(ovh, .99) / 1e3:.1f} us")
    else:
        sys.stdout.write("".join(f"{e} {s}\n" for e, s in samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
