# SPDX-License-Identifier: MIT
"""Counts through a ring equal `qshm sim --counts`, across processes."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import qshm
from conftest import PY, QSHM, Rings, qasm, sim_counts, sim_ring


def test_reliable_10m_shots_equal_sim_counts(rings: Rings) -> None:
    """A reliable Python consumer of a 10^7-shot run, four registers,
    streamed through a small ring by another process."""
    want = sim_counts("small/bell_n4", 10_000_000, 7)
    name = rings.name()
    prod = sim_ring(rings, "small/bell_n4", 10_000_000, 7, name,
                    "--capacity", "256K", "--wait-consumers", "1",
                    "--unlink")
    got = qshm.counts(name, timeout=20)
    assert prod.wait(60) == 0
    assert got == want
    assert sum(got.values()) == 10_000_000


@pytest.mark.parametrize("circuit", ["small/teleportation_n3",
                                     "small/qec_sm_n5", "small/adder_n10",
                                     "medium/ghz_state_n23"])
def test_counts_equal_sim_counts(rings: Rings, circuit: str) -> None:
    """Several registers, mid-circuit measurement, `if`, 23 qubits."""
    want = sim_counts(circuit, 200_000, 11)
    name = rings.name()
    prod = sim_ring(rings, circuit, 200_000, 11, name, "--capacity", "256K",
                    "--wait-consumers", "1", "--unlink")
    got = qshm.counts(name, timeout=20)
    assert prod.wait(60) == 0
    assert got == want


def test_run_description(rings: Rings) -> None:
    name = rings.name()
    prod = sim_ring(rings, "small/bell_n4", 1000, 3, name, "--capacity",
                    "64K", "--wait-consumers", "1", "--unlink")
    with qshm.Consumer(name, timeout=20) as c:
        run = c.run      # reads ahead to RUN_BEGIN
        assert run is not None
        assert (run.name, run.nqubits, run.shots, run.seed) == \
            ("bell_n4.qasm", 4, 1000, 3)
        assert [r.size for r in run.registers] == [1, 1, 1, 1]
        assert [r.first_bit for r in run.registers] == [0, 1, 2, 3]
        kinds = [rec.kind for rec in c]
    assert kinds[0] == "begin" and kinds[-1] == "end"
    assert set(kinds[1:-1]) == {"shots"}
    assert prod.wait(30) == 0


def test_lossy_counts_exact_accounting(rings: Rings) -> None:
    """A lossy consumer on a finished run that filled its ring: every
    record is either counted or lost, never both, never torn."""
    name = rings.name()
    subprocess.run([QSHM, "sim", qasm("small/qft_n4"), "--shots", "300000",
                    "--seed", "5", "--ring", name, "--capacity", "8M"],
                   check=True, capture_output=True, timeout=60)
    want = sim_counts("small/qft_n4", 300_000, 5)
    with qshm.Consumer(name, reliable=False) as c:
        hist, end = qshm.count_run(c)
        assert c.lost == 0
    assert hist.counts() == want
    assert end is not None and end.ok and end.shots == 300_000


@pytest.mark.parametrize("circuit", ["small/teleportation_n3",
                                     "small/bell_n4"])
@pytest.mark.parametrize("args", [[], ["--json"], ["--sort", "outcome"],
                                  ["--from-start"]])
def test_python_hist_prints_what_qshm_hist_prints(rings: Rings, circuit: str,
                                                  args: list[str]) -> None:
    """stdout, stderr and exit status as the C `qshm hist`."""
    name = rings.name()
    subprocess.run([QSHM, "sim", qasm(circuit), "--shots", "50000", "--seed",
                    "3", "--ring", name, "--capacity", "8M"], check=True,
                   capture_output=True, timeout=60)
    c_out = subprocess.run([QSHM, "hist", name, *args], capture_output=True,
                           timeout=60)
    py_out = subprocess.run([PY, "-m", "qshm", "hist", name, *args],
                            capture_output=True, timeout=60)
    assert c_out.returncode == 0 and py_out.returncode == 0, py_out.stderr
    assert py_out.stdout == c_out.stdout
    assert py_out.stderr == c_out.stderr
    if args == ["--json"]:
        assert sum(json.loads(py_out.stdout)["counts"].values()) == 50000


def test_histogram_matches_numpy_for_wide_registers() -> None:
    """Counting 70-bit shots (two words, three registers) with the codec's
    table equals counting them with numpy; outcome strings in Qiskit
    order."""
    rng = np.random.default_rng(1)
    base = rng.integers(0, 4, size=(6, 2), dtype=np.uint64)
    base[:, 1] &= np.uint64(0x3f)
    shots = base[rng.integers(0, 6, size=10000)]
    run = qshm.RunInfo.describe([("a", 60), ("b", 4), ("c", 6)])
    assert run.words_per_shot == 2 and run.nclbits == 70
    h = qshm.Histogram(run)
    h.add(shots)
    rows, n = np.unique(shots, axis=0, return_counts=True)

    def outcome(row: np.ndarray) -> str:
        bits = [(int(row[j // 64]) >> (j % 64)) & 1 for j in range(70)]
        regs = [(0, 60), (60, 4), (64, 6)]
        return " ".join("".join(str(bits[f + i]) for i in reversed(range(s)))
                        for f, s in reversed(regs))

    want = dict(sorted((outcome(r), int(k)) for r, k in zip(rows, n)))
    assert h.counts() == want
    assert h.shots == 10000
    assert run.outcome(rows[0]) == outcome(rows[0])
