# SPDX-License-Identifier: MIT
"""Counting the outcomes of a run's shots (the results codec's counts
table, fed with the numpy views of SHOTS records)."""
from __future__ import annotations

import numpy as np

from . import _results as R
from .consumer import Consumer
from .errors import QshmError


class Histogram:
    """Counts of the outcomes of one run's shots.

    Backed by libqshmresults' counts table: :meth:`add` hands it a SHOTS
    array (in place in the ring, no copy) in one call; :meth:`counts` gives
    the outcome strings exactly as ``qshm sim --counts`` and ``qshm hist``
    print them.
    """

    def __init__(self, run: R.RunInfo) -> None:
        self.run = run
        self._t = R.Counts(run)

    @property
    def shots(self) -> int:
        """Shots counted."""
        return self._t.total

    @property
    def distinct(self) -> int:
        """Distinct outcomes seen."""
        return self._t.distinct

    def add(self, shots: np.ndarray) -> None:
        """Counts the rows of a (n, words_per_shot) uint64 array."""
        self._t.add(shots)

    def tally(self, shots: np.ndarray) -> np.ndarray:
        """Lossy readers: a private copy of the shots, taken before the
        record is validated; :meth:`apply` counts it once validated."""
        return np.array(shots, dtype=np.uint64, copy=True)

    def apply(self, tally: np.ndarray) -> None:
        """Counts what :meth:`tally` copied."""
        self._t.add(tally)

    def counts(self) -> dict[str, int]:
        """{outcome string: count}, sorted by outcome string."""
        return self._t.as_dict()

    def most_common(self, n: int = 0) -> list[tuple[str, int]]:
        """The n most frequent outcomes (0: all), most frequent first, ties
        by outcome string."""
        return self._t.rows(R.COUNTS_BY_COUNT, n)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(outcomes as (k, words) uint64, counts as (k,) uint64), in no
        particular order: for numpy analysis."""
        return self._t.arrays()


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
        if rec.run is not None and (hist is None or rec.kind == "begin"):
            hist = Histogram(rec.run)
        if rec.kind == "shots" and hist is not None:
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
