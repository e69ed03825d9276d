# SPDX-License-Identifier: MIT
"""qshm.Client against a real `qshm serve` process: counts equal to
`qshm sim --counts`, concurrent awaits, cancellation, deadlines, a service
killed with kill -9 and started again, errors, retries and the circuit
breaker."""
from __future__ import annotations

import asyncio
import glob
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

import qshm
from conftest import PY, ROOT, Service, qasm, sim_counts

# A job that never ends by itself: 2^40 shots of one qubit (the service
# checks cancel flags and deadlines between batches of 4096 shots).
ENDLESS = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\n'
           'h q[0];\nmeasure q[0] -> c[0];\n')
ENDLESS_SHOTS = 1 << 40
TRIVIAL = ENDLESS


def text(name: str) -> str:
    with open(qasm(name)) as f:
        return f.read()


CIRCUITS = ["small/bell_n4", "small/adder_n10", "small/qft_n4"]


def existing(names: list[str]) -> list[str]:
    return [n for n in names if os.path.exists(qasm(n))]


def test_run_sync_counts_equal_sim_counts(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve()
    names = existing(CIRCUITS)
    assert len(names) >= 2
    with qshm.Client(svc.name) as c:
        for i, name in enumerate(names):
            res = c.run_sync(text(name), shots=1000, seed=11 + i)
            assert res.counts == sim_counts(name, 1000, 11 + i), name
            assert res.shots == 1000
            assert sum(res.counts.values()) == 1000
            assert res.sim_ns > 0
        # A path works as well as the text.
        res = c.run_sync(Path(qasm(names[0])), shots=300, seed=5)
        assert res.counts == sim_counts(names[0], 300, 5)


@pytest.mark.asyncio
async def test_concurrent_awaits_of_several_clients(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve("--workers", "2")
    names = existing(CIRCUITS)
    jobs = [(name, 500 + 100 * k, 100 * k + j)
            for k, name in enumerate(names) for j in range(4)]
    clients = [qshm.Client(svc.name) for _ in range(3)]
    try:
        # Every job of every client in flight at once.
        results = await asyncio.gather(*[
            clients[i % 3].run(text(name), shots=shots, seed=seed)
            for i, (name, shots, seed) in enumerate(jobs)])
        for (name, shots, seed), res in zip(jobs, results):
            assert res.counts == sim_counts(name, shots, seed), \
                (name, shots, seed)
        assert all(c.pending == 0 for c in clients)
        # The loop waited on the reply rings' descriptors.
        assert sum(c.wakeups for c in clients) > 0
    finally:
        for c in clients:
            c.close()


@pytest.mark.asyncio
async def test_the_loop_runs_while_a_job_is_pending(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    async with qshm.Client(svc.name) as c:
        t = asyncio.create_task(ticker())
        with pytest.raises(qshm.Timeout):
            await c.run(ENDLESS, shots=ENDLESS_SHOTS, timeout=1.0)
        t.cancel()
        # A blocking wait would have stopped the ticker for the whole
        # second; in the loop it ticked (up to 200 times, fewer on a busy
        # machine).
        assert ticks >= 10, ticks


@pytest.mark.asyncio
async def test_cancelling_the_task_cancels_the_job(serve) -> None:  # type: ignore[no-untyped-def]
    # One worker: the next job can only run once the endless one is gone.
    svc = serve("--workers", "1")
    async with qshm.Client(svc.name) as c:
        task = asyncio.create_task(c.run(ENDLESS, shots=ENDLESS_SHOTS))
        await asyncio.sleep(0.3)
        assert c.pending == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert c.pending == 0
        res = await asyncio.wait_for(c.run(TRIVIAL, shots=10, seed=1), 30)
        assert sum(res.counts.values()) == 10
        # asyncio.wait_for's timeout cancels the same way.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(c.run(ENDLESS, shots=ENDLESS_SHOTS), 0.3)
        res = await asyncio.wait_for(c.run(TRIVIAL, shots=10, seed=2), 30)
        assert sum(res.counts.values()) == 10


def test_a_deadline_gives_timeout_and_the_service_drops_the_job(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve("--workers", "1")
    with qshm.Client(svc.name) as c:
        t0 = time.monotonic()
        with pytest.raises(qshm.Timeout) as ei:
            c.run_sync(ENDLESS, shots=ENDLESS_SHOTS, timeout=0.3)
        assert time.monotonic() - t0 >= 0.3
        assert isinstance(ei.value, TimeoutError)
        assert "deadline" in str(ei.value)
        # The only worker is free again: the service dropped the job.
        res = c.run_sync(TRIVIAL, shots=7, seed=3, timeout=30)
        assert sum(res.counts.values()) == 7


@pytest.mark.asyncio
async def test_async_deadline(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve("--workers", "1")
    async with qshm.Client(svc.name) as c:
        with pytest.raises(qshm.Timeout):
            await c.run(ENDLESS, shots=ENDLESS_SHOTS, timeout=0.2)
        assert c.pending == 0
        res = await c.run(TRIVIAL, shots=5, seed=1, timeout=30)
        assert sum(res.counts.values()) == 5


@pytest.mark.asyncio
async def test_kill9_gives_service_dead_then_reconnects(serve, rings) -> None:  # type: ignore[no-untyped-def]
    svc = serve("--workers", "2")
    async with qshm.Client(svc.name) as c:
        tasks = [asyncio.create_task(c.run(ENDLESS, shots=ENDLESS_SHOTS))
                 for _ in range(2)]
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        os.kill(svc.proc.pid, signal.SIGKILL)
        for t in tasks:
            with pytest.raises(qshm.ServiceDead) as ei:
                await asyncio.wait_for(t, 10)
            assert "died" in str(ei.value)
        noticed = time.monotonic() - t0
        print(f"service killed: both awaits failed after "
              f"{noticed * 1e3:.0f} ms")
        # Well under the 1 s safety timer: the waiter's pidfd poll.
        assert noticed < 0.9, noticed
        svc.proc.wait()
        assert not c.connected
        # No stale reply ring of this client is left behind.
        assert not glob.glob(f"/dev/shm/qshm.{svc.name}.r.*")
        # A new service under the same name: the client connects again.
        svc.start()
        res = await c.run(TRIVIAL, shots=20, seed=4)
        assert sum(res.counts.values()) == 20


def test_kill9_sync(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve()
    c = qshm.Client(svc.name)
    c.connect()

    import threading
    threading.Timer(0.3, svc.kill9).start()
    t0 = time.monotonic()
    with pytest.raises(qshm.ServiceDead):
        c.run_sync(ENDLESS, shots=ENDLESS_SHOTS)
    assert time.monotonic() - t0 < 10
    c.close()


def test_errors(serve, rings) -> None:  # type: ignore[no-untyped-def]
    svc = serve("--max-qubits", "4")
    with qshm.Client(svc.name) as c:
        with pytest.raises(qshm.CircuitError) as ei:
            c.run_sync("OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n", shots=1)
        assert "job:3:" in str(ei.value)
        assert isinstance(ei.value, ValueError)
        big = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[6];\n'
               'creg c[6];\nmeasure q -> c;\n')
        with pytest.raises(qshm.TooManyQubits):
            c.run_sync(big, shots=1)
        with pytest.raises(qshm.InvalidArgument):
            c.run_sync(TRIVIAL, shots=0)
        # The connection is still good.
        assert sum(c.run_sync(TRIVIAL, shots=3).counts.values()) == 3
    t0 = time.monotonic()
    with pytest.raises(qshm.ServiceNotFound):
        qshm.Client(rings.name(), connect_timeout=0.2).run_sync(TRIVIAL)
    assert time.monotonic() - t0 < 10
    c2 = qshm.Client(svc.name)
    c2.close()
    with pytest.raises(qshm.Closed):
        c2.run_sync(TRIVIAL)


@pytest.mark.asyncio
async def test_queue_full_and_retry_with_backoff(serve) -> None:  # type: ignore[no-untyped-def]
    svc = serve("--workers", "1", "--queue", "1")
    async with qshm.Client(svc.name) as a, qshm.Client(svc.name) as b:
        hog = asyncio.create_task(a.run(ENDLESS, shots=ENDLESS_SHOTS))
        await asyncio.sleep(0.3)
        # No retry (the default): the full queue is an error at once.
        with pytest.raises(qshm.QueueFull):
            await b.run(TRIVIAL, shots=1)
        # With retries: the queue frees up when the hog is cancelled.
        asyncio.get_running_loop().call_later(0.4, hog.cancel)
        delays: list[float] = []

        class Counted(qshm.Retry):
            def delay(self, attempt: int) -> float:
                d = super().delay(attempt)
                delays.append(d)
                return d

        policy = Counted(attempts=30, base=0.05, factor=2.0,
                         max_delay=0.2, rng=random.Random(1))
        t0 = time.monotonic()
        res = await b.run(TRIVIAL, shots=9, seed=1, retry=policy)
        assert sum(res.counts.values()) == 9
        assert time.monotonic() - t0 >= 0.3
        # It was refused (queue full) and retried, with growing delays
        # (jittered, so compared with the backoff's ceilings).
        assert len(delays) >= 2, delays
        assert delays[0] <= 0.05 and max(delays) <= 0.2
        with pytest.raises(asyncio.CancelledError):
            await hog


def test_retry_schedule() -> None:
    p = qshm.Retry(attempts=6, base=0.1, factor=2.0, max_delay=1.0,
                   jitter=0.5, rng=random.Random(7))
    for k, full in enumerate([0.1, 0.2, 0.4, 0.8, 1.0, 1.0]):
        for _ in range(50):
            d = p.delay(k)
            assert full * 0.5 <= d <= full
    assert p.retries(qshm.ServiceDead("x"), 0)
    assert p.retries(qshm.QueueFull("x"), 4)
    assert not p.retries(qshm.QueueFull("x"), 5)       # 6 tries in all
    assert not p.retries(qshm.CircuitError("x"), 0)    # the job's fault
    assert not p.retries(qshm.Timeout("x"), 0)
    with pytest.raises(qshm.InvalidArgument):
        qshm.Retry(attempts=0)


def test_circuit_breaker_states() -> None:
    now = [100.0]
    br = qshm.CircuitBreaker(failures=3, reset=10.0, clock=lambda: now[0])
    for _ in range(2):
        br.allow()
        br.failure(qshm.ServiceDead("x"))
    br.allow()
    br.failure(qshm.CircuitError("bad circuit"))    # not the service's
    assert br.state == "closed"
    br.allow()
    br.failure(qshm.QueueFull("x"))
    assert br.state == "open"
    with pytest.raises(qshm.CircuitOpen):
        br.allow()
    now[0] += 10.0
    br.allow()                                       # the trial
    assert br.state == "half-open"
    with pytest.raises(qshm.CircuitOpen):
        br.allow()                                   # one trial at a time
    br.failure(qshm.ServiceGone("x"))
    assert br.state == "open"
    with pytest.raises(qshm.CircuitOpen):
        br.allow()
    now[0] += 10.0
    br.allow()
    br.success()
    assert br.state == "closed"


def test_circuit_breaker_on_a_missing_service(serve, rings) -> None:  # type: ignore[no-untyped-def]
    name = rings.name()
    br = qshm.CircuitBreaker(failures=2, reset=0.5)
    c = qshm.Client(name, connect_timeout=0.05, breaker=br)
    for _ in range(2):
        with pytest.raises(qshm.ServiceNotFound):
            c.run_sync(TRIVIAL, shots=1)
    t0 = time.monotonic()
    with pytest.raises(qshm.CircuitOpen):
        c.run_sync(TRIVIAL, shots=1)
    # Fails at once, without trying to connect.
    assert time.monotonic() - t0 < 0.05
    # The service comes up under that name; after the reset time the
    # trial job goes through and closes the breaker.
    serve(name=name)
    c.connect_timeout = 20.0   # the connection itself may take a while
    time.sleep(0.5)
    assert sum(c.run_sync(TRIVIAL, shots=4).counts.values()) == 4
    assert br.state == "closed"
    c.close()


def test_the_docs_example_runs(serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import re
    text = (ROOT / "docs" / "python.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S)
              if b.startswith("# service-client example")]
    assert len(blocks) == 1
    svc = serve()
    code = blocks[0].replace('asyncio.run(main("sim1"))',
                             f'asyncio.run(main("{svc.name}"))')
    assert svc.name in code
    out = subprocess.run([PY, "-c", code], capture_output=True, timeout=120,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    import ast
    assert ast.literal_eval(lines[0]) == sim_counts_text(tmp_path)
    # <Z> = cos(theta) for theta in 0 .. 0.49: the least is cos(0.49).
    assert abs(float(lines[1]) - __import__("math").cos(0.49)) < 1e-12


def sim_counts_text(tmp: Path) -> dict:
    import json
    f = tmp / "bell.qasm"
    f.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n'
                 'creg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n')
    out = subprocess.run([os.environ.get("QSHM") or str(
        ROOT / "build" / "tools" / "qshm"), "sim", str(f), "--shots", "1000",
        "--seed", "7", "--counts"], check=True, capture_output=True,
        timeout=60).stdout
    return json.loads(out)["counts"]


@pytest.mark.asyncio
async def test_the_client_descriptor_mode(serve) -> None:  # type: ignore[no-untyped-def]
    """wake="fd": the loop watches qshm_client_fd() instead of a waiter."""
    svc = serve("--workers", "2")
    names = existing(CIRCUITS)
    async with qshm.Client(svc.name, wake="fd") as c:
        results = await asyncio.gather(*[
            c.run(text(n), shots=400, seed=k) for k, n in enumerate(names)])
        for k, (n, r) in enumerate(zip(names, results)):
            assert r.counts == sim_counts(n, 400, k)
        assert c.fileno() >= 0 and c.wakeups > 0
        task = asyncio.create_task(c.run(ENDLESS, shots=ENDLESS_SHOTS))
        await asyncio.sleep(0.3)
        svc.kill9()
        with pytest.raises(qshm.ServiceDead):
            await asyncio.wait_for(task, 10)
    with pytest.raises(qshm.InvalidArgument):
        qshm.Client(svc.name, wake="poll")


@pytest.mark.asyncio
async def test_spin_takes_quick_replies_without_the_loop(serve) -> None:  # type: ignore[no-untyped-def]
    """spin: run() first waits for the reply in C; spin=0 always goes
    through the event loop. Both give the counts of `qshm sim`."""
    svc = serve()
    name = existing(CIRCUITS)[0]
    n = 20
    async with qshm.Client(svc.name, spin=0) as c:
        for k in range(n):
            r = await c.run(text(name), shots=200, seed=k)
            assert r.counts == sim_counts(name, 200, k)
        assert c.wakeups >= n          # every reply came through the loop
    # 10 ms: a small job is answered within it unless the machine stalls
    # for that long on most of them.
    async with qshm.Client(svc.name, spin=0.01) as c:
        for k in range(n):
            r = await c.run(text(name), shots=200, seed=k)
            assert r.counts == sim_counts(name, 200, k)
        assert c.wakeups <= n // 2, c.wakeups
        # A job longer than the spin still arrives through the loop.
        r = await c.run(TRIVIAL, shots=1 << 22, seed=1)
        assert sum(r.counts.values()) == 1 << 22
    for bad in (-1.0, 0.5):
        with pytest.raises(qshm.InvalidArgument):
            qshm.Client(svc.name, spin=bad)
