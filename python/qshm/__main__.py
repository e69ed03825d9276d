# SPDX-License-Identifier: MIT
"""``python3 -m qshm``: the package's command line (``hist``)."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Sequence

from . import _results as R
from .consumer import Consumer
from .counts import Histogram
from .errors import (Closed, Overrun, ProducerDied, QshmError, RunFailed)

HIST_EPILOG = """\
Exit status: 0 run complete; 1 error; 2 usage; 3 producer died or
the run ended without RUN_END."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m qshm",
        description="Read qshm rings from Python (the qshm package).")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    h = sub.add_parser(
        "hist", help="count the shots of a ring's run",
        description="Attach to ring NAME, count the shots of the run it "
        "carries, and print the counts when the run ends (as `qshm hist`). "
        "On a terminal, a live histogram.",
        epilog=HIST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    h.add_argument("name", metavar="NAME", help="ring name")
    h.add_argument("--json", action="store_true",
                   help='print {"counts": {...}} (as `qshm sim --counts`)')
    h.add_argument("--lossy", action="store_true",
                   help="attach as a lossy consumer (never slows the "
                   "producer; reports lost records)")
    h.add_argument("--newest", action="store_true",
                   help="start at the next record, not the oldest")
    h.add_argument("--wait", type=float, default=5.0, metavar="SEC",
                   help="wait up to SEC seconds for the ring to appear "
                   "(default 5)")
    h.add_argument("--top", type=int, default=16, metavar="N",
                   help="outcomes shown live (default 16)")
    return p


def _draw(hist: Histogram, top: int, lines_before: int) -> int:
    counts = hist.counts()
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    out = sys.stderr
    if lines_before:
        out.write(f"\033[{lines_before}A")
    out.write(f"\033[J{hist.run.name}: {hist.shots} / {hist.run.shots} "
              f"shots, {len(counts)} outcomes\n")
    most = order[0][1] if order else 1
    for s, n in order:
        bar = "#" * int(40 * n / most)
        out.write(f"  {s} {n:10d} {100 * n / max(1, hist.shots):5.1f}% "
                  f"{bar}\n")
    out.flush()
    return len(order) + 1


def hist(args: argparse.Namespace) -> int:
    """`hist`: counts the shots of the run in ring args.name."""
    name = args.name
    err = sys.stderr
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    live = not args.json and sys.stderr.isatty()
    h: Histogram | None = None
    status = 0
    ended = False
    drawn = 0
    next_draw = 0.0
    try:
        c = Consumer(name, reliable=not args.lossy, timeout=args.wait,
                     newest=args.newest, overrun="skip").open()
    except QshmError as e:
        err.write(f"qshm: {e}\n")
        return 1
    with c:
        try:
            for rec in c:
                if rec.lost:
                    err.write(f"qshm hist: {name}: {rec.lost} records "
                              f"lost\n")
                if rec.kind == "begin":
                    assert rec.run is not None
                    h = Histogram(rec.run)
                elif rec.kind == "shots" and h is not None:
                    assert rec.shots is not None
                    part = h.tally(rec.shots)
                    if rec.valid():
                        h.apply(part)
                    else:
                        err.write(f"qshm hist: {name}: a batch was "
                                  f"overwritten while counted; counts are "
                                  f"approximate\n")
                elif rec.kind == "end":
                    assert rec.end is not None
                    if rec.end.status != R.RUN_OK:
                        status = 3
                    ended = True
                if live and h is not None and time.monotonic() >= next_draw:
                    drawn = _draw(h, args.top, drawn)
                    next_draw = time.monotonic() + 0.2
        except ProducerDied:
            shots = h.shots if h else 0
            err.write(f"qshm hist: {name}: producer (pid {c.producer_pid}) "
                      f"died before the run ended; {shots} shots "
                      f"received\n")
            status = 3
        except RunFailed as e:
            err.write(f"qshm hist: {name}: {e.message.split(': ', 1)[-1]}\n")
            status = 3
        except Closed:
            err.write(f"qshm hist: {name}: ring closed without RUN_END\n")
            status = 3
        except KeyboardInterrupt:
            err.write(f"qshm hist: {name}: interrupted\n")
            status = 3
        except Overrun as e:
            err.write(f"qshm hist: {e}\n")
            status = 1
        except QshmError as e:
            err.write(f"qshm hist: {name}: {e}\n")
            return 1
        if live and drawn and h is not None:
            _draw(h, args.top, drawn)
        if h is not None:
            counts = h.counts()
            if args.json:
                sys.stdout.write(json.dumps({"counts": counts},
                                            ensure_ascii=False) + "\n")
            else:
                lines = [f"{h.run.name}: {h.shots} shots, {len(counts)} "
                         f"outcomes"]
                lines += [f"{s} {n}" for s, n in counts.items()]
                sys.stdout.write("\n".join(lines) + "\n")
        elif status == 0:
            err.write(f"qshm hist: {name}: no run seen\n")
            status = 3
        if not ended and status == 0:
            status = 3
        lost = c.lost
        if lost:
            err.write(f"qshm hist: {name}: {lost} records lost in all\n")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit status."""
    p = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.cmd is None:
        p.print_usage(sys.stderr)
        return 2
    if args.cmd == "hist":
        if not 1 <= args.top <= 1000:
            sys.stderr.write(f"qshm hist: --top wants 1..1000, got "
                             f"'{args.top}'\n")
            return 2
        if args.wait < 0:
            sys.stderr.write("qshm hist: --wait wants seconds\n")
            return 2
        return hist(args)
    return 2


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
