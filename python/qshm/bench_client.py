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


# The variational step as a template: registered once, bound each step.
VQE_TEMPLATE = ('OPENQASM 2.0;\ninclude "qelib1.inc";\n'
                'param t0, t1, t2, t3, t4, t5, t6, t7;\n'
                'qreg q[4];\ncreg c[4];\n'
                'ry(t0) q[0];\nry(t1) q[1];\nry(t2) q[2];\nry(t3) q[3];\n'
                'cx q[0],q[1];\ncx q[1],q[2];\ncx q[2],q[3];\n'
                'ry(t4) q[0];\nry(t5) q[1];\nry(t6) q[2];\nry(t7) q[3];\n'
                'measure q -> c;\n')


def angles(i: int) -> list[float]:
    return [0.1 + 0.37 * k + 0.001 * (i % 5000) for k in range(8)]


def job_text(kind: str, i: int) -> tuple[str, int]:
    """Step i's circuit and shots: the jobs of bench/bench_service.c."""
    if kind == "trivial":
        return TRIVIAL, 1
    return VQE.format(*angles(i)), 1000


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
    p.add_argument("--wake", choices=("waiter", "fd"), default="waiter",
                   help="what the event loop watches (qshm.Client's wake)")
    p.add_argument("--text", action="store_true",
                   help="vqe: send the text every step instead of binding "
                   "the angles to a template registered once")
    p.add_argument("--summary", action="store_true",
                   help="print p50/p99 of end to end and overhead, in us")
    return p


async def _run_async(client, kind: str, n: int, first: int,  # type: ignore[no-untyped-def]
                     out: list[tuple[int, int]] | None, circ=None) -> None:
    for i in range(first, first + n):
        text, shots = job_text(kind, i)
        t0 = time.perf_counter_ns()
        if circ is not None:
            res = await client.run(circ, params=angles(i), shots=shots,
                                   seed=i)
        else:
            res = await client.run(text, shots=shots, seed=i)
        t1 = time.perf_counter_ns()
        if sum(res.counts.values()) != shots:
            raise RuntimeError(f"job {i}: {res.counts} is not {shots} shots")
        if out is not None:
            out.append((t1 - t0, res.sim_ns))


def _run_sync(client, kind: str, n: int, first: int,  # type: ignore[no-untyped-def]
              out: list[tuple[int, int]] | None, circ=None) -> None:
    for i in range(first, first + n):
        text, shots = job_text(kind, i)
        t0 = time.perf_counter_ns()
        if circ is not None:
            res = client.run_sync(circ, params=angles(i), shots=shots,
                                  seed=i)
        else:
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
    with qshm.Client(a.service, wake=a.wake) as client:
        circ = client.register(VQE_TEMPLATE) \
            if a.kind == "vqe" and not a.text else None
        if a.sync:
            _run_sync(client, a.kind, a.warmup, 0, None, circ)
            _run_sync(client, a.kind, a.iters, a.warmup, samples, circ)
        else:
            async def go() -> None:
                await _run_async(client, a.kind, a.warmup, 0, None, circ)
                await _run_async(client, a.kind, a.iters, a.warmup, samples,
                                 circ)
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
