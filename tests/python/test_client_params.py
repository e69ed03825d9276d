# SPDX-License-Identifier: MIT
"""qshm.Client with registered circuits and bound parameters, and every
kind of result (counts, shots, probs, state, Pauli-Z expectations) as
numpy arrays, copied or read in place, against a real `qshm serve`."""
from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qshm
from conftest import QSHM

ANSATZ = """OPENQASM 2.0;
include "qelib1.inc";
param t0, t1, t2, t3;
qreg q[4];
creg c[4];
ry(t0) q[0];
ry(t1) q[1];
ry(t2) q[2];
ry(t3) q[3];
cx q[0],q[1];
cx q[1],q[2];
cx q[2],q[3];
rz(t0 / 2 + t3) q[3];
measure q -> c;
"""

ONE = """OPENQASM 2.0;
include "qelib1.inc";
param theta;
qreg q[1];
creg c[1];
ry(theta) q[0];
measure q[0] -> c[0];
"""

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""


def written(text: str, names: list[str], values: list[float]) -> str:
    """The circuit with the values written in (repr: exact doubles)."""
    out = []
    for line in text.splitlines():
        if line.startswith("param "):
            continue
        for n, v in sorted(zip(names, values), key=lambda p: -len(p[0])):
            line = line.replace(n, f"({v!r})")
        out.append(line)
    return "\n".join(out) + "\n"


def sim_text_counts(tmp: Path, text: str, shots: int, seed: int) -> dict:
    f = tmp / "c.qasm"
    f.write_text(text)
    out = subprocess.run([QSHM, "sim", str(f), "--shots", str(shots),
                          "--seed", str(seed), "--counts"], check=True,
                         capture_output=True, timeout=120).stdout
    return json.loads(out)["counts"]


def test_register_and_bind_equals_sim_of_the_written_text(
        serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    svc = serve()
    with qshm.Client(svc.name) as c:
        circ = c.register(ANSATZ)
        assert circ.params == ("t0", "t1", "t2", "t3")
        assert (circ.nqubits, circ.nclbits) == (4, 4)
        for step, vals in enumerate([[0.1, 0.2, 0.3, 0.4],
                                     [1.5, -0.7, 2.25, 0.05]]):
            res = c.run_sync(circ, params=vals, shots=2000, seed=step)
            want = sim_text_counts(tmp_path,
                                   written(ANSATZ, list(circ.params), vals),
                                   2000, step)
            assert res.counts == want, step
        # A mapping binds by name.
        m = c.run_sync(circ, params={"t3": 0.4, "t2": 0.3, "t1": 0.2,
                                     "t0": 0.1}, shots=2000, seed=0)
        assert m.counts == c.run_sync(circ, params=[0.1, 0.2, 0.3, 0.4],
                                      shots=2000, seed=0).counts
        with pytest.raises(qshm.InvalidArgument):
            c.run_sync(circ, params=[0.1, 0.2], shots=10)
        with pytest.raises(qshm.InvalidArgument):
            c.run_sync(circ, params={"t0": 1.0}, shots=10)
        # A text job may declare parameters too.
        t = c.run_sync(ANSATZ, params=[0.1, 0.2, 0.3, 0.4], shots=2000,
                       seed=0)
        assert t.counts == m.counts


@pytest.mark.asyncio
async def test_a_1000_step_parameter_sweep(serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 100 jobs in flight at once: more than the default --queue of 64.
    svc = serve("--workers", "2", "--queue", "256")
    async with qshm.Client(svc.name) as c:
        one = c.register(ONE)
        ansatz = c.register(ANSATZ)
        # 1000 steps, each binding a new angle to the one registration:
        # <Z> of ry(theta)|0> is cos(theta), exactly, at every step.
        thetas = np.linspace(-math.pi, math.pi, 1000)
        for k in range(0, 1000, 100):        # 100 jobs in flight at once
            rs = await asyncio.gather(*[
                c.run(one, params=[float(t)], shots=0, want="expect",
                      expect=[1]) for t in thetas[k:k + 100]])
            got = np.array([r.expect[0] for r in rs])
            np.testing.assert_allclose(got, np.cos(thetas[k:k + 100]),
                                       atol=1e-12)
        assert one._id == 1 and ansatz._id == 2   # registered once each
        # The variational loop's own shape: counts of the 4-qubit ansatz,
        # a step at a time; three steps checked against `qshm sim`.
        checked = {}
        for step in range(200):
            vals = [0.01 * step + 0.3 * k for k in range(4)]
            r = await c.run(ansatz, params=vals, shots=100, seed=step)
            assert sum(r.counts.values()) == 100
            if step in (0, 99, 199):
                checked[step] = (vals, r.counts)
        for step, (vals, counts) in checked.items():
            assert counts == sim_text_counts(
                tmp_path, written(ANSATZ, list(ansatz.params), vals), 100,
                step), step


def test_result_kinds(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve()
    with qshm.Client(svc.name) as c:
        r = c.run_sync(BELL, shots=500, seed=9,
                       want=["counts", "shots", "probs", "state"],
                       expect=[0b11, 0b01, [1]])
        assert r.want == {"counts", "shots", "probs", "state", "expect"}
        np.testing.assert_allclose(r.probs, [0.5, 0, 0, 0.5], atol=1e-12)
        assert r.state.dtype == np.complex128
        np.testing.assert_allclose(np.abs(r.state) ** 2, r.probs,
                                   atol=1e-12)
        np.testing.assert_allclose(r.expect, [1.0, 0.0, 0.0], atol=1e-12)
        assert r.expect_masks == (3, 1, 2)
        # Every shot's outcome, as the counts count them.
        assert r.shot_words.shape == (500, 1)
        assert r.shot_words.dtype == np.uint64
        outcomes = [format(int(w), "02b") for w in r.shot_words[:, 0]]
        assert {o: outcomes.count(o) for o in set(outcomes)} == r.counts
        assert set(r.counts) <= {"00", "11"}
        # Copies by default: they outlive the result.
        assert r.probs.flags.writeable and r.in_place == frozenset()
        # Only the probabilities: no shots needed.
        p = c.run_sync(BELL, shots=0, want="probs")
        assert p.counts is None and p.shot_words is None
        np.testing.assert_allclose(p.probs, [0.5, 0, 0, 0.5], atol=1e-12)


def test_views_read_in_place(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve()
    lib = sys.modules["qshm._lib"]
    with qshm.Client(svc.name) as c:
        with c.run_sync(BELL, shots=64, seed=1, want=["probs", "shots"],
                        view=True) as v:
            assert "probs" in v.in_place and "shots" in v.in_place
            assert not v.probs.flags.writeable
            np.testing.assert_allclose(v.probs, [0.5, 0, 0, 0.5],
                                       atol=1e-12)
            # The array's memory is the reply ring's mapping.
            item = lib.ffi.new("struct qshm_pollitem *")
            lib.client_lib().qshm_client_pollitem(c._cl, item)
            base = lib.ffi.new("void **")
            size = lib.ffi.new("uint64_t *")
            assert lib.lib.qshm_consumer_mapping(item.c, base, size) == 0
            lo = int(lib.ffi.cast("uintptr_t", base[0]))
            for a in (v.probs, v.shot_words):
                addr = a.__array_interface__["data"][0]
                assert lo <= addr and addr + a.nbytes <= lo + size[0]
        assert v.probs is None           # released with the block
        # The client goes on reading replies after the release.
        assert sum(c.run_sync(BELL, shots=10).counts.values()) == 10


def test_errors_of_registration(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve("--max-qubits", "3")
    with qshm.Client(svc.name) as c:
        with pytest.raises(qshm.CircuitError) as ei:
            c.register("OPENQASM 2.0;\nparam a;\nqreg q[1];\nfoo(a) q[0];\n")
        assert ":4:" in str(ei.value)
        with pytest.raises(qshm.TooManyQubits):
            c.register(ANSATZ)
        with pytest.raises(qshm.InvalidArgument):
            c.run_sync(BELL, want="nothing")
        other = qshm.Client(svc.name)
        circ = other.register(ONE)
        with pytest.raises(qshm.InvalidArgument):
            c.run_sync(circ, params=[0.1])
        other.close()


@pytest.mark.asyncio
async def test_a_registered_circuit_survives_a_restarted_service(
        serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve()
    async with qshm.Client(svc.name) as c:
        circ = c.register(ONE)
        r = await c.run(circ, params=[math.pi], shots=50, seed=1)
        assert r.counts == {"1": 50}
        svc.kill9()
        with pytest.raises(qshm.ServiceDead):
            await c.run(circ, params=[0.0], shots=50)
        svc.start()
        # Registered again on the new connection, transparently.
        r = await c.run(circ, params=[0.0], shots=50, seed=1)
        assert r.counts == {"0": 50}


def test_a_trial_job_that_fails_on_its_arguments_gives_the_trial_back(
        serve) -> None:  # type: ignore[no-untyped-def]
    # A half-open breaker lets one trial job through. A trial that fails
    # before reaching the service (a parameter that is not a number) is no
    # verdict on the service: the slot goes back, for await run() as for
    # run_sync(), and the next job is the trial.
    svc = serve()
    now = [100.0]
    br = qshm.CircuitBreaker(failures=1, reset=1.0, clock=lambda: now[0])
    with qshm.Client(svc.name, breaker=br) as c:
        circ = c.register(ONE)
        for run in ("async", "sync"):
            br.allow()
            br.failure(qshm.ServiceDead("x"))
            assert br.state == "open"
            now[0] += 1.0
            with pytest.raises(ValueError):
                if run == "async":
                    asyncio.run(c.run(circ, shots=8, params=["x"]))
                else:
                    c.run_sync(circ, shots=8, params=["x"])
            assert br.state == "half-open"
            res = c.run_sync(circ, shots=8, seed=1, params=[0.0])
            assert res.counts == {"0": 8}
            assert br.state == "closed"
