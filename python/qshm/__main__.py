# SPDX-License-Identifier: MIT
"""``python3 -m qshm``: the package's command line (``hist``, as
``qshm hist``)."""
from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Sequence

from . import _results as R
from ._lib import ffi, lib
from .consumer import Consumer
from .counts import Histogram
from .errors import Closed, Overrun, ProducerDied, QshmError, RunFailed

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NO_END, EXIT_PARTIAL = 0, 1, 2, 3, 4

HIST_EPILOG = """\
Exit status: 0 the run ended OK (also when joined mid-run); 1 error;
2 usage; 3 the producer died or stopped, or the run failed or ended
without RUN_END; 4 with --from-start, shots of the run were missed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: {message}\n"
                         f"Try '{self.prog} --help'.\n")
        sys.exit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python3 -m qshm",
                description="Read qshm rings from Python (the qshm "
                "package).")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND",
                           parser_class=_Parser)
    h = sub.add_parser(
        "hist", help="count the shots of a ring's run (as qshm hist)",
        description="Attach to ring NAME at any moment, count the shots of "
        "the run it carries from there on, and print the counts when the "
        "run ends (as `qshm hist` does). On a terminal, a live histogram "
        "on stderr. A consumer that joins mid-run counts from its first "
        "shot on and says so.",
        epilog=HIST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    h.add_argument("name", metavar="NAME", help="ring name")
    h.add_argument("--json", action="store_true",
                   help='print {"counts": {...}} (as `qshm sim --counts`)')
    h.add_argument("--from-start", action="store_true",
                   help="the whole run is wanted: exit 4 if any of its "
                   "shots were not counted (joined late, or lost)")
    h.add_argument("--lossy", action="store_true",
                   help="attach as a lossy consumer (never slows the "
                   "producer; reports the shots it lost)")
    h.add_argument("--newest", action="store_true",
                   help="start at the next record, not the oldest")
    h.add_argument("--sort", choices=("count", "outcome"), default="count",
                   metavar="KEY", help="order of the table: count (most "
                   "frequent first, the default) or outcome")
    h.add_argument("--wait", type=float, default=5.0, metavar="SEC",
                   help="wait up to SEC seconds for the ring to appear "
                   "(default 5)")
    h.add_argument("--top", type=int, default=16, metavar="N",
                   help="outcomes shown live (default 16)")
    h.add_argument("--owner", metavar="USER",
                   help="also trust rings owned by USER (by default only "
                   "your own and root's are read)")
    sub.add_parser("bench-client", add_help=False,
                   help="time jobs through qshm.Client against a running "
                   "`qshm serve` (bench-client --help)")
    return p


def _table(hist: Histogram, order: int, limit: int = 0,
           total: int | None = None) -> list[str]:
    """The table `qshm hist` prints: a column per register (as the
    outcome strings show them, last-declared first), then the count."""
    regs = list(reversed(hist.run.registers))
    widths = [max(len(r.name), r.size) for r in regs]
    lines = ["".join(f"{r.name:<{w}}  " for r, w in zip(regs, widths))
             + f"{'count':>10}"]
    for outcome, n in hist._t.rows(order, limit):
        parts = outcome.split(" ") if regs else []
        num = str(n) if total is None else \
            f"{n} {100 * n / max(1, total):5.1f}%"
        lines.append("".join(f"{p:<{w}}  " for p, w in zip(parts, widths))
                     + f"{num:>10}")
    return lines


def _draw(hist: Histogram, c: Consumer, order: int, top: int,
          lines_before: int) -> int:
    pg = c.progress
    out = sys.stderr
    if lines_before:
        out.write(f"\033[{lines_before}A")
    out.write(f"\033[J{hist.run.name}: {pg.shots_seen} shots counted (from "
              f"shot {pg.first_shot or 0} of {pg.shots}), {hist.distinct} "
              f"outcomes\n")
    rows = _table(hist, order, top, pg.shots_seen)
    out.write("\n".join(rows) + "\n")
    out.flush()
    return len(rows) + 1


def _summary(name: str, pg: R.Progress) -> str:
    first = pg.first_shot if pg.first_shot is not None else \
        pg.shots_delivered if pg.ended else pg.next_shot
    s = (f"qshm hist: {name}: run {pg.run}: joined at shot {first} of "
         f"{pg.shots}; counted {pg.shots_seen}")
    if pg.shots_missed:
        s += f"; lost {pg.shots_missed}"
    if pg.ended:
        s += f"; run ended {pg.status_name} with {pg.shots_delivered} shots"
    return s


def hist(args: argparse.Namespace) -> int:
    """`hist`: counts the shots of the run in ring args.name."""
    name = args.name
    err = sys.stderr
    order = R.COUNTS_BY_COUNT if args.sort == "count" else \
        R.COUNTS_BY_OUTCOME

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    live = not args.json and err.isatty()
    if lib.qshm_name_check(name.encode()) != 0:  # as the C command: usage
        msg = ffi.string(lib.qshm_last_error()).decode("utf-8", "replace")
        err.write(f"qshm hist: {msg}\n")
        return EXIT_USAGE
    if args.owner:
        from . import allow_owner
        try:
            allow_owner(args.owner)
        except QshmError as e:
            err.write(f"qshm hist: --owner: {e}\n")
            return EXIT_USAGE
    try:
        c = Consumer(name, reliable=not args.lossy, timeout=args.wait,
                     newest=args.newest, overrun="skip",
                     corrupt="skip", errors="yield").open()
    except QshmError as e:
        err.write(f"qshm hist: {e}\n")
        return EXIT_ERROR
    h: Histogram | None = None
    end = None
    new_run = False
    failure = None
    status = EXIT_ERROR
    drawn = 0
    next_draw = 0.0
    with c:
        try:
            for rec in c:
                if rec.run is not None:
                    if h is not None:
                        new_run = True  # this run's RUN_END was lost
                        break
                    h = Histogram(rec.run)
                if rec.kind == "shots" and h is not None:
                    assert rec.shots is not None
                    part = h.tally(rec.shots) if not c.reliable else None
                    if part is None:
                        h.add(rec.shots)
                    elif rec.valid():
                        h.apply(part)
                elif rec.kind == "end":
                    end = rec.end
                elif rec.kind == "error" and rec.error is not None:
                    err.write(f"qshm hist: {name}: producer reports: "
                              f"{rec.error[1]}\n")
                if live and h is not None and time.monotonic() >= next_draw:
                    drawn = _draw(h, c, order, args.top, drawn)
                    next_draw = time.monotonic() + 0.2
        except ProducerDied:
            failure = (f"qshm hist: {name}: producer (pid {c.producer_pid})"
                       f" died before the run ended")
        except RunFailed as e:
            err.write(f"qshm hist: {name}: producer reports: "
                      f"{e.message.split('producer reports: ', 1)[-1]}\n")
            failure = f"qshm hist: {name}: the run failed"
        except Closed:
            failure = (f"qshm hist: {name}: ring closed without the run's "
                       f"RUN_END")
        except KeyboardInterrupt:
            failure = f"qshm hist: {name}: interrupted"
        except (Overrun, QshmError) as e:
            err.write(f"qshm hist: {e}\n")
            return EXIT_ERROR
        if live and drawn and h is not None:
            _draw(h, c, order, args.top, drawn)
        if h is None:
            why = "interrupted" if failure and "interrupted" in failure \
                else "producer died" if failure and "died" in failure \
                else "ring closed"
            err.write(f"qshm hist: {name}: no run seen ({why})\n")
            return EXIT_NO_END
        pg = c.progress
        err.write(_summary(name, pg) + "\n")
        if args.json:
            body = ", ".join(f'"{k}": {v}' for k, v in
                             h._t.rows(R.COUNTS_BY_OUTCOME))
            sys.stdout.write('{"counts": {' + body + '}}\n')
        else:
            lines = [f"{h.run.name}: {h.shots} shots, {h.distinct} "
                     f"outcomes"] + _table(h, order)
            sys.stdout.write("\n".join(lines) + "\n")
        if end is not None and end.ok:
            status = EXIT_OK
        elif end is not None:
            err.write(f"qshm hist: {name}: the run "
                      f"{'was stopped' if end.status == R.RUN_STOPPED else 'failed'}\n")
            status = EXIT_NO_END
        elif new_run:
            err.write(f"qshm hist: {name}: a new run began; this one's "
                      f"RUN_END was lost\n")
            status = EXIT_NO_END
        else:
            err.write((failure or f"qshm hist: {name}: ring closed without "
                       f"the run's RUN_END") + "\n")
            status = EXIT_NO_END
        if status == EXIT_OK and c.bad_records:
            err.write(f"qshm hist: {name}: {c.bad_records} malformed "
                      f"records: the counts are incomplete\n")
            status = EXIT_ERROR
        if status == EXIT_OK and args.from_start and (
                pg.first_shot not in (0, None) or pg.shots_missed or
                pg.shots_seen != pg.shots_delivered):
            err.write(f"qshm hist: {name}: --from-start: shots "
                      f"{pg.shots_delivered - pg.shots_seen} of the run's "
                      f"{pg.shots_delivered} not counted\n")
            status = EXIT_PARTIAL
        if not c.reliable and c.lost:
            err.write(f"qshm hist: {name}: {c.lost} records lost in all\n")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit status."""
    p = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench-client"]:
        from . import bench_client
        try:
            return bench_client.main(argv[1:])
        except SystemExit as e:
            return int(e.code or 0)
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.cmd is None:
        p.print_usage(sys.stderr)
        return EXIT_USAGE
    if not 1 <= args.top <= 1000:
        p.error(f"--top wants 1..1000, got '{args.top}'")
    if args.wait < 0:
        p.error(f"--wait wants seconds, got '{args.wait}'")
    return hist(args)


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
