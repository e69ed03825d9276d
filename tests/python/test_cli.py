# SPDX-License-Identifier: MIT
"""`python3 -m qshm`: help, usage errors, exit statuses as `qshm hist`."""
from __future__ import annotations

import subprocess

import qshm
from conftest import PY, QSHM, Rings, kill9, qasm, sim_ring, wait_for


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PY, "-m", "qshm", *args], capture_output=True,
                          timeout=60)


def test_help() -> None:
    for args in (["--help"], ["hist", "--help"]):
        r = run(*args)
        assert r.returncode == 0
        assert b"usage: python3 -m qshm" in r.stdout
    assert b"--json" in run("hist", "--help").stdout


def test_usage_errors() -> None:
    assert run().returncode == 2
    assert run("hist").returncode == 2
    assert run("hist", "x", "--top", "0").returncode == 2
    assert run("nonsense").returncode == 2
    assert run("hist", "x", "--owner", "no-such-user-here").returncode == 2


def test_missing_ring(rings: Rings) -> None:
    name = rings.name()
    r = run("hist", name, "--wait", "0")
    assert r.returncode == 1
    assert name.encode() in r.stderr
    assert b"Traceback" not in r.stderr


def written(name: str) -> int:
    try:
        return int(qshm.ring_info(name)["write_pos"])  # type: ignore[call-overload]
    except qshm.QshmError:
        return 0


def test_producer_killed_exit_3(rings: Rings) -> None:
    name = rings.name()
    prod = sim_ring(rings, "small/qft_n4", 10**9, 1, name, "--capacity",
                    "64K", "--wait-consumers", "1")
    cons = subprocess.Popen([PY, "-m", "qshm", "hist", name, "--json",
                             "--wait", "20"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # Kill the producer once a few MiB went through the ring.
    assert wait_for(lambda: written(name) > 4 << 20, 30)
    kill9(prod)
    out, err = cons.communicate(timeout=30)
    assert cons.returncode == 3
    assert f"producer (pid {prod.pid}) died".encode() in err
    assert out.startswith(b'{"counts": {')


def test_corrupt_ring_exit_1(rings: Rings) -> None:
    name = rings.name()
    subprocess.run([QSHM, "sim", qasm("small/bell_n4"), "--shots", "100",
                    "--ring", name], check=True, capture_output=True)
    with open(f"/dev/shm/qshm.{name}", "r+b") as f:
        f.seek(32)
        f.write((12345).to_bytes(8, "little"))
    r = run("hist", name)
    assert r.returncode == 1
    assert b"12345" in r.stderr and b"Traceback" not in r.stderr
