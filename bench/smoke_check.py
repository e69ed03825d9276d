#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""smoke_check.py QSHM - runs `QSHM bench --quick --json F --plots D` in a
temporary directory and checks what it leaves: exit status 0, a JSON report
that parses, with the machine, every figure group, a verdict per target and
latency histograms, and the PNG plots (exit 77, skipped, when gnuplot is
not installed and everything else is in order)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

PNGS = ["latency_cdf.png", "latency_rate_cdf.png", "throughput_gbps.png",
        "throughput_msgs.png"]
GROUPS = ["latency", "rate", "throughput", "bandwidth", "idle", "sim",
          "service"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: smoke_check.py QSHM")
    qshm = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="qshm-bench-smoke.")
    try:
        report = os.path.join(tmp, "bench.json")
        plots = os.path.join(tmp, "plots")
        cmd = [qshm, "bench", "--quick", "--json", report, "--plots", plots]
        print("running: " + " ".join(cmd), flush=True)
        try:
            r = subprocess.run(cmd, timeout=170)
        except subprocess.TimeoutExpired:
            fail("qshm bench --quick took more than 170 s")
        if r.returncode != 0:
            fail("qshm bench --quick exited %d" % r.returncode)
        with open(report) as f:
            data = json.load(f)
        for key in ("cpu_model", "nproc", "kernel", "compiler",
                    "build_flags"):
            if key not in data.get("machine", {}):
                fail("the report's machine has no " + key)
        figs = data.get("figures", {})
        seen = {fig.get("group") for fig in figs.values()}
        for g in GROUPS:
            if g not in seen:
                fail("the report has no figure of group " + g)
        for key, fig in figs.items():
            if fig.get("status") == "failed":
                fail("figure %s failed: %s" % (key, fig.get("error")))
            if fig.get("status") == "ok" and not fig.get("metrics"):
                fail("figure %s has no metrics" % key)
            if fig.get("group") in ("latency", "rate") and \
                    fig.get("status") == "ok":
                h = fig.get("histogram", {})
                if h.get("significant_digits", 0) < 3 or not h.get("buckets"):
                    fail("figure %s has no 3-digit histogram" % key)
        targets = data.get("targets", {})
        if not targets:
            fail("the report has no targets")
        for key, t in targets.items():
            if t.get("verdict") not in ("PASS", "FALLS SHORT", "n/a"):
                fail("target %s has verdict %r" % (key, t.get("verdict")))
        print("report: %d figures, %d targets" % (len(figs), len(targets)))
        if shutil.which("gnuplot") is None:
            print("gnuplot not installed: PNGs not checked (skipped)")
            sys.exit(77)
        for png in PNGS:
            path = os.path.join(plots, png)
            if not os.path.isfile(path) or os.path.getsize(path) < 1000:
                fail("no plot " + path)
            with open(path, "rb") as f:
                if f.read(8) != b"\x89PNG\r\n\x1a\n":
                    fail(path + " is not a PNG")
        print("plots: " + ", ".join(PNGS))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
