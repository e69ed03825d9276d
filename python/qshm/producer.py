# SPDX-License-Identifier: MIT
"""Producers: create a ring and publish records into it, zero-copy."""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from . import _results as R
from ._lib import ffi, lib
from .errors import QshmError, TooBig, check

CREATE_REPLACE_STALE = 1 << 0
CLOSE_UNLINK = 1 << 0
TYPE_USER_MIN = 16


def _ns(seconds: float | None) -> int:
    return -1 if seconds is None else max(0, int(seconds * 1e9))


class Producer:
    """The producer of a new ring ``name``.

    Args:
        name: the ring's name (``/dev/shm/qshm.NAME``).
        capacity: data bytes, a power of two >= 4096 (default 1 MiB).
        max_record: largest payload (default capacity / 4).
        max_consumers: size of the consumer table (default 64).
        mode: permission bits (default 0o600).
        replace_stale: replace a ring of that name whose producer is dead
            or closed it (else :class:`RingExists`).

    Records are written in place::

        with qshm.Producer("demo", capacity=1 << 20) as p:
            buf = p.claim(4096, 0x200)      # writable view into the ring
            buf[:] = payload
            p.commit()                      # consumers see it now
    """

    def __init__(self, name: str, *, capacity: int = 0, max_record: int = 0,
                 max_consumers: int = 0, mode: int = 0,
                 replace_stale: bool = False) -> None:
        self.name = name
        opts = ffi.new("struct qshm_create_opts *")
        opts.capacity = capacity
        opts.max_record = max_record
        opts.max_consumers = max_consumers
        opts.mode = mode
        opts.flags = CREATE_REPLACE_STALE if replace_stale else 0
        out = ffi.new("qshm_producer **")
        check(lib.qshm_producer_create(name.encode(), opts, out),
              f"create '{name}'")
        self._p: Any = out[0]
        self._runs = 0

    def _handle(self) -> Any:
        if self._p is None:
            raise QshmError(f"producer of '{self.name}' is closed")
        return self._p

    @property
    def max_record(self) -> int:
        """The ring's largest payload in bytes."""
        return int(lib.qshm_producer_max_record(self._handle()))

    @property
    def consumers(self) -> int:
        """Reliable consumers attached now."""
        return int(lib.qshm_producer_consumers(self._handle()))

    def claim(self, nbytes: int, type: int, *, timeout: float | None = None,
              dtype: Any = None) -> Any:
        """Claims a record of ``nbytes`` payload bytes and record type
        ``type`` (>= 16) and returns its payload in the ring, writable: a
        memoryview, or a 1-D numpy array of ``dtype`` if given. Fill it,
        then :meth:`commit`; do not use it after the commit. Waits up to
        timeout seconds (None: forever) while reliable consumers hold the
        space; :class:`Timeout` when it runs out."""
        if nbytes > self.max_record:
            raise TooBig(f"ring '{self.name}': record of {nbytes} bytes, "
                         f"the ring's maximum is {self.max_record}",
                         -lib.QSHM_ETOOBIG)
        out = ffi.new("void **")
        check(lib.qshm_producer_claim(self._handle(), nbytes, type,
                                      _ns(timeout), out),
              f"ring '{self.name}': claim")
        mv = memoryview(ffi.buffer(ffi.cast("char *", out[0]), nbytes))
        if dtype is None:
            return mv
        dt = np.dtype(dtype)
        return np.frombuffer(mv, dtype=dt, count=nbytes // dt.itemsize)

    def claim_batch(self, count: int, item_len: int, type: int, *,
                    timeout: float | None = None) -> np.ndarray:
        """Claims one record holding ``count`` items of ``item_len`` bytes
        (many small messages for the cost of one) and returns them as a
        writable (count, item_len) uint8 array in the ring; consumers see
        ``rec.item_len`` and ``rec.items``. Fill, then :meth:`commit`."""
        out = ffi.new("void **")
        check(lib.qshm_producer_claim_batch(self._handle(), count, item_len,
                                            type, _ns(timeout), out),
              f"ring '{self.name}': claim_batch")
        buf = ffi.buffer(ffi.cast("char *", out[0]), count * item_len)
        return np.frombuffer(buf, dtype=np.uint8).reshape(count, item_len)

    def trim(self, nbytes: int) -> None:
        """Shrinks the last uncommitted claim to ``nbytes``."""
        check(lib.qshm_producer_trim(self._handle(), nbytes),
              f"ring '{self.name}': trim")

    def commit(self) -> None:
        """Publishes every claimed record."""
        check(lib.qshm_producer_commit(self._handle()))

    def publish(self, type: int, data: Any, *,
                timeout: float | None = None) -> None:
        """Publishes one record holding a copy of ``data`` (bytes-like)."""
        mv = memoryview(data).cast("B")
        buf = self.claim(len(mv), type, timeout=timeout)
        buf[:] = mv
        self.commit()

    @property
    def records(self) -> int:
        """Records committed so far."""
        st = ffi.new("struct qshm_producer_stats *")
        check(lib.qshm_producer_stats(self._handle(), st))
        return int(st.records)

    def set_meta(self, data: bytes) -> None:
        """Publishes ``data`` as the ring's descriptor blob, which any
        consumer can read at any moment (``b""`` clears it)."""
        check(lib.qshm_producer_set_meta(self._handle(), data, len(data)),
              f"ring '{self.name}': descriptor")

    def wait_consumers(self, n: int, timeout: float | None = None) -> None:
        """Waits until at least n reliable consumers are attached."""
        check(lib.qshm_producer_wait_consumers(self._handle(), n,
                                               _ns(timeout)),
              f"ring '{self.name}': waiting for {n} consumers")

    def drain(self, timeout: float | None = None) -> None:
        """Waits until every reliable consumer has released everything."""
        check(lib.qshm_producer_drain(self._handle(), _ns(timeout)),
              f"ring '{self.name}': drain")

    def close(self, unlink: bool = False) -> None:
        """Commits what is pending and closes the ring (consumers read what
        is left); ``unlink`` also removes the name. Idempotent."""
        if self._p is not None:
            p, self._p = self._p, None
            check(lib.qshm_producer_close(p, CLOSE_UNLINK if unlink else 0))

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class RunWriter:
    """Writes one run into a producer's ring in the project's record format
    (docs/format.md): RUN_BEGIN, SHOTS, PROBS / STATE, ERROR, RUN_END, and
    the ring's run descriptor (at RUN_BEGIN and RUN_END) for consumers that
    join mid-run. The RUN_BEGIN, ERROR and descriptor payloads come from the
    results codec's encoders;
    SHOTS and vector chunks are claimed in the ring and filled in place
    through the structs of qshm/format.h.

    Shots are (n, words) uint64 arrays, global classical bit j of a shot in
    bit j % 64 of word j // 64 (a 1-D array is one word per shot).
    """

    def __init__(self, producer: Producer, *,
                 registers: Sequence[tuple[str, int]], shots: int,
                 nqubits: int = 0, seed: int = 0, circuit: str = "python",
                 circuit_hash: int = 0, options: int = 0, run: int = 0,
                 timeout: float | None = None) -> None:
        self.p = producer
        self.timeout = timeout
        self.registers = [(str(n), int(s)) for n, s in registers]
        nclbits = sum(s for _, s in self.registers)
        self.words = max(1, (nclbits + 63) // 64)
        self.nqubits = nqubits
        self.next_shot = 0
        self._t0 = time.monotonic_ns()
        if not run:
            producer._runs += 1
            run = producer._runs
        begin = R.encode_run_begin(name=circuit, nqubits=nqubits,
                                   shots=shots, seed=seed,
                                   circuit_hash=circuit_hash,
                                   registers=self.registers, options=options,
                                   run=run)
        self.p.publish(R.REC_RUN_BEGIN, begin, timeout=timeout)
        # The run descriptor, so that consumers joining mid-run know the
        # run (docs/format.md): published right after RUN_BEGIN, before
        # any other record of the run.
        self.run = run
        self._begin = begin
        self._begin_seq = self.p.records - 1
        self.p.set_meta(R.encode_run_meta(run=run, begin_seq=self._begin_seq,
                                          end_seq=None, begin=begin))
        self.per_record = R.shots_per_record(self.p.max_record, self.words)
        if self.per_record == 0:
            raise TooBig(f"ring '{self.p.name}': not even one shot of "
                         f"{self.words} words fits a record",
                         -lib.QSHM_ETOOBIG)

    def shots(self, bits: np.ndarray) -> None:
        """Appends shots: each SHOTS record is claimed in the ring and
        filled in place from ``bits``."""
        a = np.asarray(bits, dtype=np.uint64)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[1] != self.words:
            raise ValueError(f"shots must be (n, {self.words}) uint64")
        hsize = ffi.sizeof("struct qshm_shots")
        for i in range(0, len(a), self.per_record):
            part = a[i:i + self.per_record]
            n = len(part)
            buf = self.p.claim(hsize + 8 * n * self.words, R.REC_SHOTS,
                               timeout=self.timeout)
            h = ffi.cast("struct qshm_shots *", ffi.from_buffer(buf))
            h.first_shot = self.next_shot
            h.count = n
            h.words_per_shot = self.words
            np.frombuffer(buf, dtype=np.uint64, offset=hsize)[:] = \
                part.reshape(-1)
            self.p.commit()
            self.next_shot += n

    def vector(self, values: np.ndarray, *, state: bool) -> None:
        """Publishes a 2^nqubits probability (float64) or state
        (complex128) vector in chunks."""
        elem = 16 if state else 8
        v = np.asarray(values, dtype=np.complex128 if state else np.float64)
        if len(v) != 1 << self.nqubits:
            raise ValueError(f"a vector of {1 << self.nqubits} elements "
                             f"expected, got {len(v)}")
        hsize = ffi.sizeof("struct qshm_chunk")
        per = max(1, (self.p.max_record - hsize) // elem)
        rtype = R.REC_STATE if state else R.REC_PROBS
        for first in range(0, len(v), per):
            part = v[first:first + per]
            buf = self.p.claim(hsize + elem * len(part), rtype,
                               timeout=self.timeout)
            h = ffi.cast("struct qshm_chunk *", ffi.from_buffer(buf))
            h.nqubits = self.nqubits
            h.reserved = 0
            h.first = first
            h.count = len(part)
            h.total = 1 << self.nqubits
            np.frombuffer(buf, dtype=v.dtype, offset=hsize)[:] = part
            self.p.commit()

    def error(self, code: int, message: str) -> None:
        """Publishes an ERROR record."""
        self.p.publish(R.REC_ERROR, R.encode_error(code, message),
                       timeout=self.timeout)

    def end(self, status: int = R.RUN_OK, sim_ns: int = 0) -> None:
        """Publishes RUN_END."""
        buf = self.p.claim(ffi.sizeof("struct qshm_run_end"), R.REC_RUN_END,
                           timeout=self.timeout)
        e = ffi.cast("struct qshm_run_end *", ffi.from_buffer(buf))
        e.status = status
        e.reserved = 0
        e.shots = self.next_shot
        e.elapsed_ns = time.monotonic_ns() - self._t0
        e.sim_ns = sim_ns
        self.p.commit()
        self.p.set_meta(R.encode_run_meta(
            run=self.run, begin_seq=self._begin_seq,
            end_seq=self.p.records - 1, begin=self._begin, status=status,
            shots_done=self.next_shot))


def publish_run(name: str, *, shots: np.ndarray,
                registers: Sequence[tuple[str, int]] | None = None,
                nqubits: int = 0, seed: int = 0, circuit: str = "python",
                probs: np.ndarray | None = None,
                state: np.ndarray | None = None, capacity: int = 0,
                wait_consumers: int = 0, timeout: float | None = 30.0,
                replace_stale: bool = True, unlink: bool = False) -> None:
    """Creates ring ``name`` and writes a whole run into it, so that
    ``qshm hist``, ``dump``, ``stat`` and every other consumer read it.

    Args:
        shots: (n, words) uint64 packed classical bits (or 1-D, one word).
        registers: [(name, size), ...] in declaration order (default: one
            register ``c`` of 64 * words bits... of ``nqubits`` bits if
            given).
        probs / state: the final probability / state vector, 2^nqubits.
        capacity: ring data bytes (default: 1 MiB).
        wait_consumers: wait for this many reliable consumers first.
        timeout: seconds to wait for consumers and for space.
        replace_stale: replace a closed or stale ring of that name.
        unlink: remove the name when done (late readers then miss it).
    """
    a = np.asarray(shots, dtype=np.uint64)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if registers is None:
        nbits = nqubits if 0 < nqubits <= 64 * a.shape[1] else 64 * a.shape[1]
        registers = [("c", nbits)]
    options = (R.RUN_PROBS if probs is not None else 0) | \
        (R.RUN_STATE if state is not None else 0)
    with Producer(name, capacity=capacity,
                  replace_stale=replace_stale) as p:
        if wait_consumers:
            p.wait_consumers(wait_consumers, timeout)
        w = RunWriter(p, registers=registers, shots=len(a), nqubits=nqubits,
                      seed=seed, circuit=circuit, options=options,
                      timeout=timeout)
        w.shots(a)
        if probs is not None:
            w.vector(probs, state=False)
        if state is not None:
            w.vector(state, state=True)
        w.end()
        if wait_consumers:
            p.drain(timeout)
        p.close(unlink=unlink)
