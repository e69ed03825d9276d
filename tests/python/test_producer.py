# SPDX-License-Identifier: MIT
"""Python producers: zero-copy claims, whole runs that the C tools read."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import qshm
from conftest import PY, QSHM, Rings


def test_claim_is_writable_in_place(rings: Rings) -> None:
    name = rings.name()
    with qshm.Producer(name, capacity=1 << 16) as p:
        with qshm.Consumer(name) as c:
            buf = p.claim(64, 0x200)
            assert isinstance(buf, memoryview) and not buf.readonly
            buf[:] = bytes(range(64))           # written in the ring
            p.commit()
            a = p.claim(80, 0x201, dtype=np.float64)
            assert a.shape == (10,) and a.flags.writeable
            a[:] = np.arange(10) / 4
            p.commit()
            r1 = c.read(timeout=1)
            assert r1 is not None and r1.type == 0x200
            assert bytes(r1.data) == bytes(range(64))
            r2 = c.read(timeout=1)
            assert r2 is not None and r2.type == 0x201
            assert list(np.frombuffer(r2.data, dtype=np.float64)) == \
                list(np.arange(10) / 4)


def test_claim_errors(rings: Rings) -> None:
    name = rings.name()
    with qshm.Producer(name, capacity=4096) as p:
        with pytest.raises(qshm.TooBig):
            p.claim(p.max_record + 1, 0x200)
        with pytest.raises(qshm.InvalidArgument):
            p.claim(16, 3)      # a library type
    with pytest.raises(qshm.InvalidArgument):
        qshm.Producer(rings.name(), capacity=5000)
    with pytest.raises(qshm.InvalidArgument):
        qshm.Producer("bad/name")


def test_second_producer_of_a_live_ring_is_refused(rings: Rings) -> None:
    name = rings.name()
    with qshm.Producer(name):
        with pytest.raises(qshm.RingExists):
            qshm.Producer(name)


def test_publish_run_read_by_qshm_hist(rings: Rings) -> None:
    """A Python producer's run, in the project's format, read by the C
    `qshm hist --json` as any simulator's run."""
    name = rings.name()
    rng = np.random.default_rng(3)
    # 3 registers: a[2], b[3], c[1]; global bits 0-1, 2-4, 5.
    shots = rng.integers(0, 64, size=50000, dtype=np.uint64)
    qshm.publish_run(name, shots=shots,
                     registers=[("a", 2), ("b", 3), ("c", 1)], nqubits=6,
                     capacity=1 << 22, circuit="mine.qasm", seed=42)
    out = subprocess.run([QSHM, "hist", name, "--json"], capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["counts"]
    values, n = np.unique(shots, return_counts=True)
    want = {}
    for v, k in zip(values.tolist(), n.tolist()):
        s = format(v, "06b")          # bit 5 .. bit 0
        want[f"{s[0]} {s[1:4]} {s[4:6]}"] = k
    assert got == want
    text = subprocess.run([QSHM, "hist", name], capture_output=True,
                          timeout=60).stdout.decode()
    assert text.startswith("mine.qasm: 50000 shots, 64 outcomes")


def test_publish_run_streams_to_a_waiting_consumer(rings: Rings) -> None:
    """publish_run in another process waits for the reliable consumer and
    streams through a ring far smaller than the run."""
    name = rings.name()
    script = ("import qshm, numpy as np, sys; "
              "qshm.publish_run(sys.argv[1], shots=np.arange(200000, "
              "dtype=np.uint64) % 5, registers=[('c', 3)], capacity=8192, "
              "wait_consumers=1, unlink=True)")
    prod = rings.spawn(PY, "-c", script, name)
    got = qshm.counts(name, timeout=60)
    assert prod.wait(60) == 0
    assert got == {format(v, "03b"): 40000 for v in range(5)}


def test_publish_run_with_vectors(rings: Rings) -> None:
    name = rings.name()
    probs = np.linspace(0, 1, 256)
    probs /= probs.sum()
    state = np.sqrt(probs) * np.exp(1j * np.arange(256))
    qshm.publish_run(name, shots=np.zeros(10, dtype=np.uint64),
                     registers=[("c", 8)], nqubits=8, probs=probs,
                     state=state, capacity=1 << 16)
    got_p = np.zeros(256)
    got_s = np.zeros(256, dtype=np.complex128)
    with qshm.Consumer(name) as c:
        assert c.run is not None and c.run.probs and c.run.state
        for rec in c:
            if rec.probs is not None:
                got_p[rec.first:rec.first + len(rec.probs)] = rec.probs
            if rec.state is not None:
                got_s[rec.first:rec.first + len(rec.state)] = rec.state
    assert np.array_equal(got_p, probs)
    assert np.array_equal(got_s, state)
    out = subprocess.run([QSHM, "dump", name], capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr


def test_producer_close_ends_the_consumers_iteration(rings: Rings) -> None:
    """Raw records (an application's own types): the iteration ends when
    the producer closes the ring."""
    name = rings.name()
    p = qshm.Producer(name)
    c = qshm.Consumer(name).open()
    for i in range(3):
        p.publish(0x300, bytes([i]) * 16)
    p.close()
    assert [bytes(r.data)[0] for r in c] == [0, 1, 2]
    c.close()


def test_batch_records(rings: Rings) -> None:
    """claim_batch: many small messages in one record, read as items."""
    name = rings.name()
    with qshm.Producer(name) as p:
        with qshm.Consumer(name) as c:
            items = p.claim_batch(100, 24, 0x200)
            assert items.shape == (100, 24) and items.flags.writeable
            items[:] = np.arange(100, dtype=np.uint8)[:, None]
            p.commit()
            rec = c.read(timeout=1)
            assert rec is not None and rec.item_len == 24
            assert rec.items.shape == (100, 24)
            assert (rec.items[:, 0] == np.arange(100)).all()
            assert (rec.items == rec.items[:, :1]).all()
