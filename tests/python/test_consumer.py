# SPDX-License-Identifier: MIT
"""The blocking consumer: zero-copy views, release, lossy accounting, slots,
errors."""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

import qshm
from conftest import (PY, QSHM, Rings, go, kill9, python_producer, qasm,
                      sim_ring, wait_for)


def test_views_share_the_ring_memory(rings: Rings) -> None:
    name = rings.name()
    subprocess.run([QSHM, "sim", qasm("small/qft_n4"), "--shots", "20000",
                    "--seed", "5", "--probs", "--state", "--ring", name,
                    "--capacity", "1M"], check=True, capture_output=True,
                   timeout=60)
    seen = set()
    with qshm.Consumer(name) as c:
        ring = c.mapping()
        first = 0
        for rec in c:
            seen.add(rec.kind)
            if rec.kind == "shots":
                assert rec.shots is not None
                assert rec.shots.dtype == np.uint64
                assert rec.shots.shape[1] == 1
                assert np.shares_memory(rec.shots, ring)
                assert not rec.shots.flags.writeable
                assert rec.first_shot == first
                first += len(rec.shots)
                assert int(rec.shots.max()) < 16
            elif rec.kind == "probs":
                assert rec.probs is not None
                assert rec.probs.dtype == np.float64
                assert np.shares_memory(rec.probs, ring)
                assert rec.total == 16
                assert np.isclose(rec.probs.sum(), 1.0)
            elif rec.kind == "state":
                assert rec.state is not None
                assert rec.state.dtype == np.complex128
                assert np.shares_memory(rec.state, ring)
                assert np.isclose(np.sum(np.abs(rec.state) ** 2), 1.0)
        assert first == 20000
    assert seen == {"begin", "shots", "probs", "state", "end"}


def test_record_released_on_next_iteration(rings: Rings) -> None:
    """A record is valid until the iteration moves on; then released, so a
    reliable producer of a tiny ring can go on."""
    name = rings.name()
    prod = sim_ring(rings, "small/qft_n4", 200_000, 1, name, "--capacity",
                    "4K", "--wait-consumers", "1", "--unlink")
    with qshm.Consumer(name, timeout=20) as c:
        prev = None
        n = 0
        for rec in c:
            assert rec.valid()
            if prev is not None:
                assert not prev.valid()
            prev = rec
            n += 1
        assert n > 100
    assert prod.wait(30) == 0


def test_consumer_takes_and_frees_a_slot(rings: Rings) -> None:
    name = rings.name()
    with qshm.Producer(name) as p:
        assert p.consumers == 0
        with qshm.Consumer(name):
            assert p.consumers == 1
            assert qshm.ring_info(name)["reliable_consumers"] == 1
        assert p.consumers == 0
        c = qshm.Consumer(name, reliable=False).open()
        assert qshm.ring_info(name)["lossy_consumers"] == 1
        c.close()
        assert qshm.ring_info(name)["lossy_consumers"] == 0


def test_producer_waiting_for_a_consumer_sees_the_python_one(
        rings: Rings) -> None:
    """`--wait-consumers 1` starts once the Python consumer attached."""
    name = rings.name()
    prod = sim_ring(rings, "small/bell_n4", 1000, 2, name,
                    "--wait-consumers", "1", "--unlink")
    assert wait_for(lambda: qshm_exists(name))
    with qshm.Consumer(name, timeout=10) as c:
        shots = sum(len(r.shots) for r in c if r.shots is not None)
    assert shots == 1000
    assert prod.wait(30) == 0


def qshm_exists(name: str) -> bool:
    try:
        qshm.ring_info(name)
        return True
    except qshm.QshmError:
        return False


def test_lossy_accounting_is_exact(rings: Rings) -> None:
    """A slow lossy consumer of a fast producer in another process: every
    record is either returned intact or counted in `lost`, exactly."""
    name = rings.name()
    total = 20000
    prod = python_producer(rings, name, total, 0.0, capacity=4096,
                           wait_go=True)
    got = 0
    with qshm.Consumer(name, reliable=False) as c:
        go(prod)
        for rec in c:
            assert rec.kind == "other" and rec.type == 0x200
            words = np.frombuffer(rec.data, dtype=np.uint64)
            value = int(words[0])
            same = bool((words == words[0]).all())
            if got % 64 == 0:
                time.sleep(0.001)  # fall behind now and then
            if rec.valid():
                assert same, "a validated record was torn"
                assert value == rec.seq
                got += 1
        lost = c.lost
    assert prod.wait(30) == 0
    assert lost > 0, "the consumer never fell behind: the test proves little"
    assert got + lost == total


def test_lossy_overrun_policy_raise(rings: Rings) -> None:
    """overrun='raise': a record found overwritten when the iteration moves
    on raises; one the caller checked with valid() is settled."""
    name = rings.name()
    with qshm.Producer(name, capacity=4096) as p:
        with qshm.Consumer(name, reliable=False, overrun="raise") as c:
            p.publish(0x200, b"x" * 64)
            rec = c.read(timeout=1)
            assert rec is not None
            for _ in range(200):       # lap the ring under the record
                p.publish(0x200, b"y" * 64)
            with pytest.raises(qshm.Overrun):
                c.read(timeout=1)
            assert c.lost >= 1 and c.overruns == 1
            rec = c.read(timeout=1)
            assert rec is not None
            for _ in range(200):
                p.publish(0x200, b"z" * 64)
            assert not rec.valid()     # the caller knows: no exception
            lost = c.lost
            assert c.read(timeout=1) is not None
            assert c.overruns == 2 and c.lost >= lost


def test_ring_not_found_waits_then_names_the_ring(rings: Rings) -> None:
    name = rings.name()
    t = time.monotonic()
    with pytest.raises(qshm.RingNotFound) as e:
        qshm.Consumer(name, timeout=0.3).open()
    assert time.monotonic() - t >= 0.3
    assert name in str(e.value)


def test_attach_waits_for_the_ring_to_appear(rings: Rings) -> None:
    name = rings.name()
    prod = rings.spawn("sh", "-c", f"sleep 0.3; exec {QSHM} sim "
                       f"{qasm('small/bell_n4')} --shots 500 --ring {name}",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert len(qshm.counts(name, timeout=20)) > 0
    assert prod.wait(30) == 0


def test_read_timeout(rings: Rings) -> None:
    name = rings.name()
    with qshm.Producer(name):
        with qshm.Consumer(name, read_timeout=0.2) as c:
            t = time.monotonic()
            with pytest.raises(qshm.Timeout):
                next(iter(c))
            assert time.monotonic() - t >= 0.2


def test_producer_killed_raises_producer_died(rings: Rings) -> None:
    name = rings.name()
    prod = sim_ring(rings, "small/qft_n4", 10**9, 1, name, "--capacity",
                    "64K", "--wait-consumers", "1")
    n = 0
    with pytest.raises(qshm.ProducerDied) as e:
        with qshm.Consumer(name, timeout=20) as c:
            for rec in c:
                n += 1
                if n == 100:
                    kill9(prod)
    assert str(prod.pid) in str(e.value)
    assert n >= 100


def test_error_record_raises_run_failed(rings: Rings) -> None:
    name = rings.name()
    with qshm.Producer(name) as p:
        w = qshm.RunWriter(p, registers=[("c", 2)], shots=10)
        w.shots(np.arange(4, dtype=np.uint64))
        w.error(-22, "the device caught fire")
        w.end(status=1)
        p.close()
    with qshm.Consumer(name) as c:
        with pytest.raises(qshm.RunFailed) as e:
            for _ in c:
                pass
    assert "the device caught fire" in str(e.value)
    assert e.value.code == -22


def test_joining_mid_run_skips_to_the_next_run(rings: Rings) -> None:
    """Records before the first RUN_BEGIN seen belong to a run whose start
    this consumer missed: skipped, as format.md says."""
    name = rings.name()
    with qshm.Producer(name) as p:
        with qshm.Consumer(name) as c:
            p.publish(qshm.REC_SHOTS, np.array([0, 1 | (1 << 32), 3],
                                               dtype=np.uint64).tobytes())
            w = qshm.RunWriter(p, registers=[("c", 2)], shots=3)
            w.shots(np.array([1, 2, 3], dtype=np.uint64))
            w.end()
            kinds = [r.kind for r in c]
    assert kinds == ["begin", "shots", "end"]


FLOOD = r"""
import sys, numpy as np, qshm
name = sys.argv[1]
rng = np.random.default_rng(5)
with qshm.Producer(name, capacity=16384) as p:
    print("ready", flush=True)
    sys.stdin.readline()
    w = qshm.RunWriter(p, registers=[("c", 4)], shots=2000 * 256)
    sys.stdin.readline()
    for _ in range(2000):
        w.shots(rng.integers(0, 16, size=256, dtype=np.uint64))
    w.end()
    p.close()
"""


def test_lossy_consumer_of_a_fast_run_survives_overruns(rings: Rings) -> None:
    """A slow lossy consumer of a result stream that laps it: records
    overwritten while read are skipped or found invalid, never reported as
    corrupt, and what was counted is a sub-multiset of the real run."""
    name = rings.name()
    rng = np.random.default_rng(5)
    values, n = np.unique(np.concatenate(
        [rng.integers(0, 16, size=256, dtype=np.uint64)
         for _ in range(2000)]), return_counts=True)
    want = {format(int(v), "04b"): int(k) for v, k in zip(values, n)}
    prod = rings.spawn(PY, "-c", FLOOD, name, stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE)
    assert prod.stdout is not None and prod.stdin is not None
    assert prod.stdout.readline() == b"ready\n"
    with qshm.Consumer(name, reliable=False) as c:
        go(prod)                          # RUN_BEGIN
        run = c.run
        assert run is not None
        hist = qshm.Histogram(run)
        go(prod)                          # then shots as fast as it can
        for rec in c:
            if rec.kind == "shots":
                part = hist.tally(rec.shots)
                time.sleep(0.0005)            # slower than the producer
                if rec.valid():
                    hist.apply(part)
        lost = c.lost
        pg = c.progress
    assert prod.wait(60) == 0
    assert lost > 0
    assert 0 < hist.shots < 2000 * 256
    got = hist.counts()
    assert all(got[k] <= want[k] for k in got)
    assert pg.shots_seen >= hist.shots


LATE = r"""
import sys, numpy as np, qshm
name = sys.argv[1]
rng = np.random.default_rng(8)
with qshm.Producer(name, capacity=16384) as p:
    w = qshm.RunWriter(p, registers=[("a", 3), ("b", 2)], shots=500 * 64,
                       nqubits=5, circuit="late.qasm")
    for _ in range(200):                  # laps the ring: RUN_BEGIN is gone
        w.shots(rng.integers(0, 32, size=64, dtype=np.uint64))
    print("half", flush=True)
    sys.stdin.readline()
    for _ in range(300):
        w.shots(rng.integers(0, 32, size=64, dtype=np.uint64))
    w.end()
    p.close()
"""


def test_late_join_knows_the_run_from_the_descriptor(rings: Rings) -> None:
    """A consumer that attaches long after RUN_BEGIN was overwritten knows
    the run from the ring's run descriptor (published by the Python
    producer) and counts exactly the shots from where it joined."""
    name = rings.name()
    rng = np.random.default_rng(8)
    shots = np.concatenate([rng.integers(0, 32, size=64, dtype=np.uint64)
                            for _ in range(500)])
    prod = rings.spawn(PY, "-c", LATE, name, stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE)
    assert prod.stdout is not None
    assert prod.stdout.readline() == b"half\n"
    with qshm.Consumer(name) as c:
        go(prod)
        first = None
        hist = None
        for rec in c:
            if first is None:
                first = rec
                assert rec.kind == "shots" and rec.run is not None
                hist = qshm.Histogram(rec.run)
            if rec.kind == "shots":
                assert hist is not None
                hist.add(rec.shots)
        pg = c.progress
        run = c.run
    assert prod.wait(30) == 0
    assert run is not None and run.name == "late.qasm"
    assert [r.name for r in run.registers] == ["a", "b"]
    assert not pg.from_begin and pg.ended and pg.status_name == "ok"
    assert pg.first_shot is not None and 0 < pg.first_shot < 200 * 64
    assert hist is not None and hist.shots == 500 * 64 - pg.first_shot
    values, n = np.unique(shots[pg.first_shot:], return_counts=True)
    want = {}
    for v, k in zip(values.tolist(), n.tolist()):
        s = format(v, "05b")
        want[f"{s[:2]} {s[2:]}"] = k
    assert hist.counts() == want
