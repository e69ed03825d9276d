# SPDX-License-Identifier: MIT
"""The package as users install it: `meson install` into the prefix's
site-packages, and pip into a venv that uses Debian's numpy and cffi."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PY, ROOT, QSHM, Rings, qasm

BUILD = os.environ.get("QSHM_BUILD_DIR")

CHECK = ("import qshm, sys; "
         "print(qshm.__file__); "
         "print(sorted(qshm.counts(sys.argv[1]).items())[:1])")


def small_run(rings: Rings) -> str:
    name = rings.name()
    subprocess.run([QSHM, "sim", qasm("small/bell_n4"), "--shots", "1000",
                    "--seed", "1", "--ring", name], check=True,
                   capture_output=True, timeout=60)
    return name


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("QSHM_") and k != "PYTHONPATH"}
    return env


@pytest.mark.skipif(not BUILD, reason="needs QSHM_BUILD_DIR (meson test)")
def test_meson_install_puts_the_package_in_site_packages(
        rings: Rings, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild",
                    "--destdir", str(dest)], check=True, capture_output=True,
                   timeout=300)
    pkgs = glob.glob(str(dest / "**" / "qshm" / "__init__.py"),
                     recursive=True)
    assert len(pkgs) == 1, pkgs
    pkg = Path(pkgs[0]).parent
    assert (pkg / "py.typed").exists()
    paths = (pkg / "_paths.py").read_text()
    libs = glob.glob(str(dest / "**" / "libqshm.so.0"), recursive=True)
    rlibs = glob.glob(str(dest / "**" / "libqshmresults.so.0"),
                      recursive=True)
    assert len(libs) == 1 and len(rlibs) == 1
    libdir = os.path.dirname(libs[0])[len(str(dest)):]
    assert f'LIBDIR: str | None = "{libdir}"' in paths
    # Imported from there (the libraries from the staging area, as the
    # recorded libdir only exists after a real install).
    env = clean_env()
    env["PYTHONPATH"] = str(pkg.parent)
    env["QSHM_LIBRARY"] = libs[0]
    env["QSHM_RESULTS_LIBRARY"] = rlibs[0]
    name = small_run(rings)
    out = subprocess.run([PY, "-c", CHECK, name], env=env, cwd=tmp_path,
                         capture_output=True, timeout=60, check=True)
    assert out.stdout.decode().startswith(str(pkg))


@pytest.mark.skipif(not BUILD, reason="needs QSHM_BUILD_DIR (meson test)")
def test_pip_install_into_a_venv(rings: Rings, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "python", src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                  "__pycache__"))
    venv = tmp_path / "v"
    subprocess.run([PY, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, capture_output=True, timeout=120)
    r = subprocess.run([str(venv / "bin" / "pip"), "install",
                        "--no-build-isolation", "--no-index", str(src)],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    env = clean_env()
    env["QSHM_BUILD_DIR"] = str(BUILD)
    name = small_run(rings)
    out = subprocess.run([str(venv / "bin" / "python"), "-c", CHECK, name],
                         env=env, cwd=tmp_path, capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    assert str(venv) in out.stdout.decode()
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "qshm", "hist",
                        name, "--json"], env=env, capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(b'{"counts": {')
