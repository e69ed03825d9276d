# SPDX-License-Identifier: MIT
"""Counting the outcomes of a run's shots with numpy."""
from __future__ import annotations

import numpy as np

from . import _results as R
from .consumer import Consumer
from .errors import QshmError

# Up to this many classical bits, counts live in a dense array indexed by
# the shot's bits (np.bincount: one pass, no sort).
_DENSE_BITS = 24


class Histogram:
    """Counts of outcomes, fed with SHOTS arrays of one run."""

    def __init__(self, run: R.RunInfo) -> None:
        self.run = run
        self.shots = 0
        self._dense: np.ndarray | None = None
        self._sparse: dict[bytes, int] = {}
        if run.words_per_shot == 1 and run.nclbits <= _DENSE_BITS:
            self._dense = np.zeros(1 << run.nclbits, dtype=np.int64)

    def tally(self, shots: np.ndarray) -> object:
        """Counts the rows of a (n, words_per_shot) uint64 array without
        adding them yet (see :meth:`apply`): lossy readers tally, check
        that the record was intact, then apply."""
        if self._dense is not None:
            # The bits beyond nclbits are zero in valid records; a value
            # out of range means a corrupt record, which must not count.
            col = shots[:, 0].view(np.int64)
            if len(col) and col.min() < 0:
                raise R.Corrupt("SHOTS: a shot has bits set past the "
                                "run's classical bits")
            part = np.bincount(col, minlength=len(self._dense))
            if len(part) > len(self._dense):
                raise R.Corrupt("SHOTS: a shot has bits set past the "
                                "run's classical bits")
            return (len(shots), part)
        rows, k = np.unique(shots, axis=0, return_counts=True)
        return (len(shots), [(row.tobytes(), c)
                             for row, c in zip(rows, k.tolist())])

    def apply(self, tally: object) -> None:
        """Adds what :meth:`tally` counted."""
        n, part = tally  # type: ignore[misc]
        if self._dense is not None:
            self._dense += part
        else:
            d = self._sparse
            for key, c in part:
                d[key] = d.get(key, 0) + c
        self.shots += n

    def add(self, shots: np.ndarray) -> None:
        """Counts the rows of a (n, words_per_shot) uint64 array."""
        self.apply(self.tally(shots))

    def counts(self) -> dict[str, int]:
        """Outcome string -> count, sorted by outcome string (as
        ``qshm sim --counts`` prints them)."""
        if self._dense is not None:
            idx = np.nonzero(self._dense)[0]
            keys = idx.astype(np.uint64).reshape(-1, 1)
            vals = self._dense[idx].tolist()
        else:
            items = list(self._sparse.items())
            keys = np.frombuffer(b"".join(k for k, _ in items),
                                 dtype=np.uint64).reshape(
                                     len(items), self.run.words_per_shot)
            vals = [v for _, v in items]
        names = R.outcome_strings(self.run, keys)
        return dict(sorted(zip(names, vals)))


def counts(name: str, *, timeout: float = 5.0, reliable: bool = True,
           newest: bool = False,
           read_timeout: float | None = None) -> dict[str, int]:
    """Attaches to ring ``name`` (waiting up to ``timeout`` seconds for it),
    counts the shots of the run it carries and returns
    ``{outcome: count}`` sorted by outcome, exactly the ``counts`` of
    ``qshm sim --counts`` for the same circuit and seed when reliable.

    Raises :class:`ProducerDied`, :class:`RunFailed`, :class:`Closed`
    (no complete run), and for lossy consumers :class:`Overrun` if a batch
    was overwritten while counted.
    """
    with Consumer(name, reliable=reliable, timeout=timeout, newest=newest,
                  read_timeout=read_timeout, overrun="raise") as c:
        return count_run(c)[0].counts()


def count_run(c: Consumer) -> tuple[Histogram, R.RunEnd | None]:
    """Counts one run from an open consumer: (histogram, its RUN_END)."""
    hist: Histogram | None = None
    end = None
    for rec in c:
        if rec.kind == "begin":
            assert rec.run is not None
            hist = Histogram(rec.run)
        elif rec.kind == "shots" and hist is not None:
            assert rec.shots is not None
            if c.reliable:
                hist.add(rec.shots)
            else:
                part = hist.tally(rec.shots)
                if rec.valid():
                    hist.apply(part)
        elif rec.kind == "end":
            end = rec.end
    if hist is None:
        raise QshmError(f"ring '{c.name}': no run seen")
    return hist, end
