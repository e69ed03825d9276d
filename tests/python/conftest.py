# SPDX-License-Identifier: MIT
"""Fixtures of the Python package's tests: ring names that are removed
after each test (also on failure), the `qshm` binary of this build, and
helpers that run real producer processes."""
from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
QSHM = os.environ.get("QSHM") or str(ROOT / "build" / "tools" / "qshm")
QASM = Path(os.environ.get("QASM_DIR") or ROOT / "tests" / "qasm")
PY = sys.executable


def qasm(name: str) -> str:
    """Path of a test circuit, e.g. qasm('small/bell_n4')."""
    return str(QASM / f"{name}.qasm")


class Rings:
    """Hands out ring names unique to this test; removes them after."""

    def __init__(self, tag: str) -> None:
        self.prefix = f"pyt{os.getpid()}-{tag}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.n = 0

    def name(self) -> str:
        self.n += 1
        return f"{self.prefix}-{self.n}"

    def spawn(self, *args: str, **kw: object) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(list(args), **kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    def cleanup(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for path in glob.glob(f"/dev/shm/qshm.{self.prefix}-*"):
            try:
                os.unlink(path)
            except OSError:
                pass


@pytest.fixture
def rings(request: pytest.FixtureRequest) -> Iterator[Rings]:
    tag = "".join(ch for ch in request.node.name if ch.isalnum())[:40]
    r = Rings(tag)
    try:
        yield r
    finally:
        r.cleanup()


def sim_counts(circuit: str, shots: int, seed: int) -> dict[str, int]:
    """`qshm sim --counts` of a circuit."""
    out = subprocess.run([QSHM, "sim", qasm(circuit), "--shots", str(shots),
                          "--seed", str(seed), "--counts"], check=True,
                         capture_output=True, timeout=120).stdout
    return json.loads(out)["counts"]


def sim_ring(rings: Rings, circuit: str, shots: int, seed: int, ring: str,
             *extra: str) -> subprocess.Popen[bytes]:
    """Starts `qshm sim --ring` as a separate process."""
    return rings.spawn(QSHM, "sim", qasm(circuit), "--shots", str(shots),
                       "--seed", str(seed), "--ring", ring, *extra,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


PRODUCER_SCRIPT = r"""
import sys, time, qshm, numpy as np
name, n, interval, cap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
with qshm.Producer(name, capacity=cap) as p:
    print("ready", flush=True)
    if sys.argv[5] == "go":
        sys.stdin.readline()
    for i in range(n):
        a = p.claim(64, 0x200, dtype=np.uint64)
        a[:] = i
        p.commit()
        if interval:
            time.sleep(interval)
    p.close()
"""


def python_producer(rings: Rings, name: str, records: int,
                    interval: float = 0.0, capacity: int = 4096,
                    wait_go: bool = False) -> subprocess.Popen[bytes]:
    """A Python producer process publishing `records` records of type
    0x200 (8 uint64 words, all equal to the record's index), one every
    `interval` seconds; returns once the ring exists. With wait_go it
    starts publishing when a line is written to its stdin (go())."""
    p = rings.spawn(PY, "-c", PRODUCER_SCRIPT, name, str(records),
                    str(interval), str(capacity),
                    "go" if wait_go else "now", stdout=subprocess.PIPE,
                    stdin=subprocess.PIPE)
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line == b"ready\n", line
    return p


def wait_for(pred, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return bool(pred())


def kill9(p: subprocess.Popen[bytes]) -> None:
    os.kill(p.pid, signal.SIGKILL)
    p.wait()


def go(p: subprocess.Popen[bytes]) -> None:
    """Lets a python_producer(wait_go=True) start publishing."""
    assert p.stdin is not None
    p.stdin.write(b"go\n")
    p.stdin.flush()


class Service:
    """`qshm serve NAME ARGS` as a child process; ready once it logs
    'serving'. Its rings carry the test's prefix, removed by `rings`."""

    def __init__(self, rings: Rings, tmp: Path, *args: str,
                 name: str | None = None) -> None:
        self.rings = rings
        self.name = name or rings.name()
        self.args = args
        self.log = tmp / f"serve-{self.name}.err"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with open(self.log, "wb") as err:
            self.proc = self.rings.spawn(QSHM, "serve", self.name,
                                         *self.args, stdout=subprocess.DEVNULL,
                                         stderr=err)
        deadline = time.monotonic() + 20
        while b"serving" not in self.log.read_bytes():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "qshm serve did not start"
            time.sleep(0.02)
        # A fresh log for the next start.
        self.log.write_bytes(b"")

    def wait_jobs(self, running: int, queued: int = 0,
                  timeout: float = 30.0) -> None:
        """Until the service's metrics (`qshm stat --json`) show
        `running` jobs running and `queued` queued: it has taken what
        was submitted, however slowly this machine runs."""
        deadline = time.monotonic() + timeout
        while True:
            out = subprocess.run([QSHM, "stat", "--json", "-i", "0",
                                  self.name], capture_output=True,
                                 timeout=60).stdout
            d = json.loads(out) if out.strip() else {}
            r = d["rings"][0] if "rings" in d else d
            s = r.get("service", {})
            if (s.get("running"), s.get("queued")) == (running, queued):
                return
            assert time.monotonic() < deadline, (
                f"service {self.name}: {s} after {timeout} s; expected "
                f"{running} running, {queued} queued")
            time.sleep(0.02)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=20) == 0


@pytest.fixture
def serve(rings: Rings, tmp_path: Path):  # type: ignore[no-untyped-def]
    def start(*args: str, name: str | None = None) -> Service:
        return Service(rings, tmp_path, *args, name=name)
    return start
