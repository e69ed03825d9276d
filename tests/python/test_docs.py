# SPDX-License-Identifier: MIT
"""docs/python.md's live-histogram example runs as written, against a live
`qshm sim` run, and saves its PNG."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import PY, ROOT, Rings, sim_ring


def example() -> str:
    text = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    found = [b for b in blocks if b.startswith("# live-histogram example")]
    assert len(found) == 1
    return found[0]


def test_live_histogram_example(rings: Rings, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    code = example()
    name = rings.name()
    png = tmp_path / "h.png"
    code = code.replace('RING = "ghz"', f'RING = "{name}"')
    code = code.replace('OUT = "histogram.png"', f'OUT = "{png}"')
    assert name in code and str(png) in code
    prod = sim_ring(rings, "medium/ghz_state_n23", 300_000, 4, name,
                    "--capacity", "256K", "--wait-consumers", "1",
                    "--unlink")
    out = subprocess.run([PY, "-c", code], capture_output=True, timeout=120,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    assert prod.wait(60) == 0
    assert out.stdout.decode().split() == [str(png), "300000", "shots,", "2",
                                           "outcomes"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
