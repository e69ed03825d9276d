# SPDX-License-Identifier: MIT
"""Consumers: attach to a ring by name and read its records in place."""
from __future__ import annotations

import asyncio
import errno
import time
from typing import Any, AsyncIterator, Iterator, Literal

import numpy as np

from . import _results as R
from ._lib import ffi, has_meta, lib
from .errors import (Closed, Corrupt, Overrun, ProducerDied, QshmError,
                     RingNotFound, RunFailed, Timeout, check, library_error)

FLAG_LOSSY = 1 << 0
FLAG_FROM_NEWEST = 1 << 2

# Blocking reads wait in slices so that signals (Ctrl-C) are seen.
_SLICE_NS = 200_000_000
# An armed asyncio wait also wakes after this long and looks again: a
# safety net under the producer's pidfd, which normally reports its death
# at once.
_ASYNC_LIVENESS_S = 1.0

KINDS = {
    R.DECODED_RUN_BEGIN: "begin",
    R.DECODED_SHOTS: "shots",
    R.DECODED_PROBS: "probs",
    R.DECODED_STATE: "state",
    R.DECODED_RUN_END: "end",
    R.DECODED_ERROR: "error",
}


def _ns(seconds: float | None) -> int:
    if seconds is None:
        return -1
    return max(0, int(seconds * 1e9))


class Record:
    """One record, read in place in the ring.

    ``kind`` is ``"begin"``, ``"shots"``, ``"probs"``, ``"state"``,
    ``"end"``, ``"error"`` or ``"other"`` (a type this package does not
    know; ``type`` gives it). ``data`` is the raw payload. The arrays
    (``shots``, ``probs``, ``state``) and ``data`` view the ring's memory:
    they are valid until the consumer moves to the next record (or closes),
    after which the producer may reuse the space. Copy what you keep
    (``rec.shots.copy()``).
    """

    __slots__ = ("type", "kind", "seq", "lost", "data", "first_shot",
                 "shots", "first", "total", "probs", "state", "run", "end",
                 "error", "item_len", "_consumer", "_pos", "_live",
                 "_checked")

    def __init__(self, consumer: "Consumer", rtype: int, seq: int, lost: int,
                 pos: int, data: memoryview) -> None:
        self.type = rtype
        self.kind: str = "other"
        self.seq = seq
        self.lost = lost
        self.data = data
        #: a batch record (qshm_producer_claim_batch()): bytes per item,
        #: else 0
        self.item_len = 0
        #: SHOTS: index of the first shot in the run
        self.first_shot: int = 0
        #: SHOTS: (n, words_per_shot) uint64 view
        self.shots: np.ndarray | None = None
        #: PROBS/STATE: index of the first element, length of the vector
        self.first: int = 0
        self.total: int = 0
        #: PROBS: float64 view; STATE: complex128 view
        self.probs: np.ndarray | None = None
        self.state: np.ndarray | None = None
        #: RUN_BEGIN: the run; RUN_END: its end record; ERROR: (code, text)
        self.run: R.RunInfo | None = None
        self.end: R.RunEnd | None = None
        self.error: tuple[int, str] | None = None
        self._consumer = consumer
        self._pos = pos
        self._live = True
        self._checked = False  # the caller asked valid()

    @property
    def items(self) -> np.ndarray:
        """A batch record's items as a (count, item_len) uint8 array in
        place (a plain record: one item of all its bytes)."""
        n = self.item_len or len(self.data)
        return np.frombuffer(self.data, dtype=np.uint8).reshape(-1, n)

    def valid(self) -> bool:
        """Lossy consumers: True if the record's bytes have been intact
        since it was read (then what was computed from the views may be
        used); False if the producer overwrote it meanwhile (the record
        then counts in ``Consumer.lost``). Always True for reliable
        consumers while the record is current."""
        return self._consumer._validate(self)

    def __repr__(self) -> str:
        return (f"<qshm.Record {self.kind} seq={self.seq} "
                f"len={len(self.data)}>")


class Consumer:
    """A consumer of ring ``name``.

    Args:
        name: the ring's name (``/dev/shm/qshm.NAME``).
        reliable: True (default): the producer never overwrites what this
            consumer has not released (it waits for it). False: a lossy
            consumer that never slows the producer and may lose records.
        timeout: seconds to wait for the ring to appear when attaching
            (0: fail at once with :class:`RingNotFound`).
        newest: start at the next record published, not the oldest.
        read_timeout: seconds to wait for each record (None: forever);
            :class:`Timeout` when it runs out.
        overrun: lossy consumers, what to do with a record the producer
            overwrote while it was in use: ``"skip"`` (default) skips records
            found overwritten before they are returned and counts them in
            ``lost``; a record found overwritten after use (when the
            iteration moves on) is counted in ``lost`` (check
            ``rec.valid()`` before trusting a result); ``"raise"`` raises
            :class:`Overrun` in both cases.
        corrupt: a malformed result record (the codec refuses it):
            ``"raise"`` (default) raises :class:`Corrupt`; ``"skip"`` skips
            it and counts it in ``bad_records`` (as ``qshm hist`` does). A
            damaged ring (segment or record header) always raises.
        errors: an ERROR record (the producer reports a failure):
            ``"raise"`` (default) raises :class:`RunFailed`; ``"yield"``
            returns it as a record of kind ``"error"`` (``rec.error`` is
            (code, text)) and goes on to the run's RUN_END, whose status
            says how the run ended.

    Use it as a context manager (``with`` or ``async with``); iteration
    (``for`` or ``async for``) yields :class:`Record` objects and ends after
    the run's RUN_END. It raises :class:`ProducerDied` if the producer dies
    first, :class:`RunFailed` on an ERROR record, :class:`Closed` if the
    ring is closed without RUN_END.
    """

    def __init__(self, name: str, *, reliable: bool = True,
                 timeout: float = 0.0, newest: bool = False,
                 read_timeout: float | None = None,
                 overrun: Literal["skip", "raise"] = "skip",
                 corrupt: Literal["raise", "skip"] = "raise",
                 errors: Literal["raise", "yield"] = "raise") -> None:
        if overrun not in ("skip", "raise"):
            raise ValueError("overrun must be 'skip' or 'raise'")
        if corrupt not in ("skip", "raise"):
            raise ValueError("corrupt must be 'raise' or 'skip'")
        if errors not in ("raise", "yield"):
            raise ValueError("errors must be 'raise' or 'yield'")
        self.corrupt = corrupt
        self.errors = errors
        self._bad = 0
        # A run begun by a record that was skipped as malformed: the next
        # record returned carries it (rec.run).
        self._run_unseen = False
        self.name = name
        self.reliable = reliable
        self.timeout = timeout
        self.read_timeout = read_timeout
        self.overrun = overrun
        self._flags = (0 if reliable else FLAG_LOSSY) | \
            (FLAG_FROM_NEWEST if newest else 0)
        self._c: Any = None
        self._waiter: Any = None
        self._rec = ffi.new("struct qshm_record *")
        self._vrec = ffi.new("struct qshm_record *")
        self._dec = R.Decoder()
        self._scratch: Any = None
        self._last_seq = -1
        self._last_kind = ""
        self._cur: Record | None = None
        self._pending: Record | None = None
        self._run: R.RunInfo | None = None
        self._ended = False
        self._overruns = 0
        self._waits = 0

    # -- attaching and closing ------------------------------------------

    def _try_attach(self) -> int:
        out = ffi.new("qshm_consumer **")
        err = lib.qshm_consumer_attach(self.name.encode(), self._flags, out)
        if err == 0:
            self._c = out[0]
        return err

    def _attach_failed(self, err: int) -> QshmError:
        e = library_error(err, f"attach '{self.name}'")
        if err in (-errno.ENOENT, -lib.QSHM_ECREATING):
            return RingNotFound(f"attach '{self.name}': no such ring"
                                + (f" after {self.timeout:g} s"
                                   if self.timeout else ""), err)
        return e

    def open(self) -> "Consumer":
        """Attaches (waiting up to ``timeout`` seconds for the ring to
        appear). Called by ``with`` and by the first iteration."""
        if self._c is not None:
            return self
        deadline = time.monotonic() + self.timeout
        while True:
            err = self._try_attach()
            if err == 0:
                return self
            if err not in (-errno.ENOENT, -lib.QSHM_ECREATING) or \
                    time.monotonic() >= deadline:
                raise self._attach_failed(err)
            time.sleep(0.01)

    async def open_async(self) -> "Consumer":
        """As :meth:`open`, waiting in the event loop."""
        if self._c is not None:
            return self
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            err = self._try_attach()
            if err == 0:
                return self
            if err not in (-errno.ENOENT, -lib.QSHM_ECREATING) or \
                    loop.time() >= deadline:
                raise self._attach_failed(err)
            await asyncio.sleep(0.01)

    def close(self) -> None:
        """Releases the consumer's slot and unmaps the ring. Arrays of the
        current record must not be used afterwards. Idempotent."""
        self._cur = None
        self._pending = None
        if self._waiter is not None:
            lib.qshm_waiter_close(self._waiter)
            self._waiter = None
        if self._c is not None:
            lib.qshm_consumer_close(self._c)
            self._c = None

    def __enter__(self) -> "Consumer":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Consumer":
        return await self.open_async()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- state ------------------------------------------------------------

    def _handle(self) -> Any:
        if self._c is None:
            raise QshmError(f"consumer of '{self.name}' is not open")
        return self._c

    @property
    def run(self) -> R.RunInfo | None:
        """The current run's description, from its RUN_BEGIN or, for a
        consumer that joined mid-run, the ring's run descriptor. If no
        record has been read yet, reads ahead to the first one of a run
        (waiting up to ``read_timeout``; the iteration still returns it);
        None if no run could be attributed (the ring ended first)."""
        if self._run is None and self._cur is None and \
                self._pending is None and not self._ended:
            self.open()
            rec = self._next_record(self._blocking_read)
            if rec is not None:
                self._pending = rec
        return self._run

    async def wait_run(self) -> R.RunInfo | None:
        """As :attr:`run`, waiting in the event loop."""
        if self._run is None and self._cur is None and \
                self._pending is None and not self._ended:
            await self.open_async()
            rec = await self._next_record_async()
            if rec is not None:
                self._pending = rec
        return self._run

    @property
    def lost(self) -> int:
        """Records lost so far (lossy consumers), records that failed
        validation included; exact, as the library counts them."""
        st = ffi.new("struct qshm_consumer_stats *")
        check(lib.qshm_consumer_stats(self._handle(), st))
        return int(st.lost)

    @property
    def records(self) -> int:
        """Records read so far."""
        st = ffi.new("struct qshm_consumer_stats *")
        check(lib.qshm_consumer_stats(self._handle(), st))
        return int(st.records)

    @property
    def bad_records(self) -> int:
        """Malformed result records skipped (``corrupt="skip"``)."""
        return self._bad

    @property
    def overruns(self) -> int:
        """Records found overwritten while in use (included in ``lost``)."""
        return self._overruns

    @property
    def progress(self) -> R.Progress:
        """Where the current run stands as this consumer saw it: the run
        counter, shots requested, the first shot seen (a consumer that
        joined mid-run starts later than 0), shots seen and missed, and
        the RUN_END's status once ended."""
        return self._dec.progress()

    @property
    def waits(self) -> int:
        """How many times asyncio iteration waited on the waiter's file
        descriptor (for tests and monitoring)."""
        return self._waits

    @property
    def producer_pid(self) -> int:
        """The producer's process id."""
        return int(lib.qshm_consumer_producer_pid(self._handle()))

    def mapping(self) -> np.ndarray:
        """The whole shared segment as a read-only uint8 array (the memory
        every record view lies in)."""
        base = ffi.new("const void **")
        size = ffi.new("uint64_t *")
        check(lib.qshm_consumer_mapping(self._handle(), base, size))
        a = np.frombuffer(ffi.buffer(ffi.cast("char *", base[0]), size[0]),
                          dtype=np.uint8)
        a.flags.writeable = False
        return a

    # -- reading ----------------------------------------------------------

    def _validate(self, rec: Record) -> bool:
        if not rec._live or self._c is None:
            return False
        if self.reliable:
            return True
        ok = lib.qshm_consumer_validate(self._c, self._rec_for(rec)) == 0
        if not ok and not rec._checked:
            self._overruns += 1
        rec._checked = True
        return ok

    def _rec_for(self, rec: Record) -> Any:
        r = self._vrec
        r.pos = rec._pos
        r.seq = rec.seq
        r.len = len(rec.data)
        r.type = rec.type
        return r

    def _retire(self) -> None:
        """Done with the current record: validate it (lossy), release it."""
        cur = self._cur
        if cur is None:
            return
        self._cur = None
        # A record the caller validated after use is settled: used intact,
        # or known to be lost (and counted once, by the library).
        if not self.reliable and cur._live and not cur._checked and \
                lib.qshm_consumer_validate(self._c, self._rec_for(cur)) != 0:
            self._overruns += 1
            cur._live = False
            if self.overrun == "raise":
                lib.qshm_consumer_release(self._c)
                raise Overrun(f"ring '{self.name}': record {cur.seq} "
                              f"({cur.kind}) was overwritten while in use",
                              -lib.QSHM_EOVERRUN)
        cur._live = False
        err = lib.qshm_consumer_release(self._c)
        if err == -lib.QSHM_ETRUNCATED:  # what the caller read may be zeros
            raise library_error(err, f"ring '{self.name}'")

    def _truncated(self, r: Any) -> None:
        """Raises Truncated if the ring was cut under the record just
        decoded in place (the decoder may have read zeros)."""
        if self.reliable:
            err = lib.qshm_consumer_validate(self._c, r)
            if err == -lib.QSHM_ETRUNCATED:
                raise library_error(err, f"ring '{self.name}'")

    def _blocking_read(self) -> int:
        deadline = None if self.read_timeout is None else \
            time.monotonic() + self.read_timeout
        while True:
            slice_ns = _SLICE_NS
            if deadline is not None:
                left = deadline - time.monotonic()
                slice_ns = min(slice_ns, max(0, int(left * 1e9)))
            err = lib.qshm_consumer_read(self._c, self._rec, slice_ns)
            if err == -errno.ETIMEDOUT or err == -errno.EAGAIN or \
                    err == -errno.EINTR:
                if deadline is not None and time.monotonic() >= deadline:
                    return -errno.ETIMEDOUT
                continue
            return err

    def _end_error(self, err: int) -> QshmError | None:
        """The exception for a read's error, None for a clean end."""
        if err == -lib.QSHM_ECLOSED:
            if self._run is None or self._last_kind == "end":
                # The ring ended after a complete run, or it carries no
                # runs (records of an application's own types).
                return None
            return Closed(f"ring '{self.name}': closed by the producer "
                          f"before the run ended", err)
        if err == -lib.QSHM_EPRODUCERDEAD:
            return ProducerDied(
                f"ring '{self.name}': producer (pid {self.producer_pid}) "
                f"died before the run ended", err)
        if err == -errno.ETIMEDOUT:
            return Timeout(f"ring '{self.name}': no record within "
                           f"{self.read_timeout:g} s", err)
        return library_error(err, f"ring '{self.name}'")

    def _meta(self) -> None:
        """Gives the decoder the ring's run descriptor (format 2 rings),
        so that a consumer that joined mid-run knows the run."""
        if self._c is None or not has_meta():
            return
        size = 4096
        while True:
            buf = ffi.new("char[]", size)
            version = ffi.new("uint64_t *")
            n = lib.qshm_consumer_meta(self._c, buf, size, version)
            if n <= 0:
                return  # none (yet), or not a format 2 ring
            if n <= size:
                self._dec.meta(bytes(ffi.buffer(buf, n)))
                return
            size = n

    def _make(self) -> Record | None:
        """Builds a Record from self._rec; None when it is to be skipped
        (a lossy record overwritten before it was returned, a malformed
        one with corrupt="skip", a record of a run whose start this
        consumer did not see).

        Lossy consumers feed the decoder a private copy of the record,
        taken and validated first, so the decoder's state (the run, shot
        positions) never comes from torn bytes; the views handed out still
        point into the ring, at the same offsets, and are validated again
        after use (Record.valid())."""
        r = self._rec
        seq = int(r.seq)
        if seq != self._last_seq + 1:
            self._meta()  # first record, or records were lost
        self._last_seq = seq
        length = int(r.len)
        data = memoryview(ffi.buffer(ffi.cast("char *", r.data), length))
        data = data.toreadonly()
        rec = Record(self, int(r.type), seq, int(r.lost), int(r.pos), data)
        rec.item_len = int(r.item_len)
        src = r.data
        if not self.reliable:
            if self._scratch is None or len(self._scratch) * 8 < length:
                self._scratch = ffi.new("uint64_t[]", (length + 7) // 8)
            ffi.memmove(self._scratch, r.data, length)
            if lib.qshm_consumer_validate(self._c, r) != 0:
                return self._skip_overrun(rec)  # torn while copied
            src = self._scratch
        try:
            self._decode(rec, src)
        except Corrupt:
            self._truncated(r)
            if self.corrupt == "raise":
                raise
            self._bad += 1
            if self._dec.out.new_run and self._dec.run is not None:
                self._run_unseen = True
            lib.qshm_consumer_release(self._c)
            return None
        self._truncated(r)
        if rec.run is not None:
            self._run = rec.run
            self._ended = False
        return rec

    def _skip_overrun(self, rec: Record) -> None:
        self._overruns += 1
        lib.qshm_consumer_release(self._c)
        if self.overrun == "raise":
            raise Overrun(f"ring '{self.name}': record {rec.seq} was "
                          f"overwritten before it could be read",
                          -lib.QSHM_EOVERRUN)
        return None

    def _decode(self, rec: Record, src: Any) -> None:
        """Decodes rec with the results codec, fed from src (the record in
        the ring, or a private copy of it): its kind, and views at the same
        offsets in the ring."""
        r = self._rec
        delta = int(ffi.cast("uintptr_t", r.data)) - \
            int(ffi.cast("uintptr_t", src))

        def ring(p: Any, ctype: str) -> Any:
            return ffi.cast(ctype, int(ffi.cast("uintptr_t", p)) + delta)

        try:
            out = self._dec.record(rec.type, rec.seq, src, r.len)
        except Corrupt as e:
            raise Corrupt(f"ring '{self.name}': {e.message}", e.code) \
                from None
        kind = out.kind
        if (out.new_run or self._run_unseen) and self._dec.run is not None:
            rec.run = self._dec.run
            self._run_unseen = False
        if kind == R.DECODED_SKIPPED:
            rec.kind = "skip" if out.skip == R.SKIP_NO_RUN else "other"
            return
        rec.kind = KINDS[kind]
        if kind == R.DECODED_SHOTS:
            rec.first_shot = int(out.shots.first_shot)
            if delta:
                out.shots.words = ring(out.shots.words, "uint64_t *")
            rec.shots = R.shots_array(out.shots)
        elif kind == R.DECODED_PROBS or kind == R.DECODED_STATE:
            rec.first = int(out.vector.first)
            rec.total = int(out.vector.total)
            if delta:
                out.vector.values = ring(out.vector.values, "double *")
            if kind == R.DECODED_PROBS:
                rec.probs = R.vector_array(out.vector)
            else:
                rec.state = R.vector_array(out.vector)
        elif kind == R.DECODED_RUN_END:
            e = out.end
            rec.end = R.RunEnd(int(e.status), int(e.shots),
                               int(e.elapsed_ns), int(e.sim_ns))
        elif kind == R.DECODED_ERROR:
            text = ffi.buffer(out.error.text, out.error.len)[:]
            rec.error = (int(out.error.code),
                         text.decode("utf-8", "replace"))

    def _accept(self, rec: Record) -> Record | None:
        """Policy on a decoded record: records of a run whose start this
        consumer did not see are skipped; ERROR raises; RUN_END ends the
        iteration after it is returned."""
        if rec.kind == "skip":
            lib.qshm_consumer_release(self._c)
            return None
        if rec.kind == "error" and self.errors == "raise":
            code, text = rec.error or (0, "")
            lib.qshm_consumer_release(self._c)
            raise RunFailed(f"ring '{self.name}': producer reports: {text}",
                            code)
        return rec

    def _after_read(self, err: int) -> tuple[bool, Record | None]:
        """What one read (its code) gives, for the sync and the async
        loop alike: (True, record) to return; (True, None) when the stream
        ended cleanly; (False, None) to read again (a record skipped).
        Raises the stream's end error."""
        if err:
            exc = self._end_error(err)
            if exc is None:
                return True, None
            raise exc
        rec = self._make()
        if rec is not None:
            rec = self._accept(rec)
        return rec is not None, rec

    def _next_record(self, read: Any) -> Record | None:
        """The next record to return (None: the stream ended cleanly)."""
        while True:
            done, rec = self._after_read(read())
            if done:
                return rec

    def _after(self, rec: Record) -> Record:
        self._cur = rec
        self._last_kind = rec.kind
        if rec.kind == "end":
            self._ended = True
        return rec

    def __iter__(self) -> Iterator[Record]:
        """Iterates over the records of one run (the next one, if the
        previous iteration ended with a run's RUN_END)."""
        self.open()
        self._ended = False
        return self

    def __next__(self) -> Record:
        self._handle()
        self._retire()
        if self._pending is not None:
            rec, self._pending = self._pending, None
            return self._after(rec)
        if self._ended:
            raise StopIteration
        rec = self._next_record(self._blocking_read)
        if rec is None:
            raise StopIteration
        return self._after(rec)

    def read(self, timeout: float | None = None) -> Record | None:
        """The next record, waiting up to timeout seconds (None: forever);
        None once the run has ended. Releases the previous record."""
        saved = self.read_timeout
        self.read_timeout = timeout
        try:
            return next(self)
        except StopIteration:
            return None
        finally:
            self.read_timeout = saved

    # -- asyncio ----------------------------------------------------------

    async def _wait_readable(self) -> None:
        """Waits in the event loop until the ring may have a record (or
        ended): the waiter's descriptor, watched with add_reader."""
        if self._waiter is None:
            out = ffi.new("qshm_waiter **")
            check(lib.qshm_waiter_create(self._c, out),
                  f"ring '{self.name}'")
            self._waiter = out[0]
        w = self._waiter
        armed = lib.qshm_waiter_arm(w)
        if armed != 1:
            return  # ready, or an end that the next read reports
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        fd = lib.qshm_waiter_fd(w)
        self._waits += 1
        loop.add_reader(fd, wake)
        timer = loop.call_later(_ASYNC_LIVENESS_S, wake)
        try:
            await fut
        finally:
            timer.cancel()
            loop.remove_reader(fd)
            if self._waiter is not None:
                lib.qshm_waiter_disarm(w)

    async def _async_read(self, deadline: float | None) -> int:
        loop = asyncio.get_running_loop()
        while True:
            err = lib.qshm_consumer_read(self._c, self._rec, 0)
            if err != -errno.EAGAIN and err != -errno.ETIMEDOUT:
                return err
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    return -errno.ETIMEDOUT
                try:
                    await asyncio.wait_for(self._wait_readable(), left)
                except asyncio.TimeoutError:
                    return -errno.ETIMEDOUT
            else:
                await self._wait_readable()

    async def _next_record_async(self) -> Record | None:
        loop = asyncio.get_running_loop()
        deadline = None if self.read_timeout is None else \
            loop.time() + self.read_timeout
        while True:
            done, rec = self._after_read(await self._async_read(deadline))
            if done:
                return rec

    def __aiter__(self) -> AsyncIterator[Record]:
        """As :meth:`__iter__`, waiting in the event loop."""
        self._ended = False
        return self

    async def __anext__(self) -> Record:
        if self._c is None:
            await self.open_async()
        self._retire()
        if self._pending is not None:
            rec, self._pending = self._pending, None
            return self._after(rec)
        if self._ended:
            raise StopAsyncIteration
        rec = await self._next_record_async()
        if rec is None:
            raise StopAsyncIteration
        return self._after(rec)
