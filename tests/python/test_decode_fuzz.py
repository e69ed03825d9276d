# SPDX-License-Identifier: MIT
"""Property tests of the package's record decoding (qshm._results, the
path every Consumer takes: Decoder.meta / Decoder.record, then the numpy
views, RunInfo, counts and outcome strings), fed arbitrary bytes and
mutated valid records (docs/format.md) without a ring.

Each record is placed so that it ends where a page with no access begins
(and starts one page after another), so that a read past either end of
the record kills the process (the test fails) instead of reading a
neighbour's bytes; every view the decoder returns must also lie inside
the record. The only exceptions allowed are the documented ones:
Corrupt (malformed) and VersionMismatch (another results format). A
watchdog (faulthandler) ends the process if one example runs for 60 s
(one takes well under a millisecond: a hang, not a slow machine).
QSHM_DECODE_EXAMPLES=N sets the examples per property (200)."""
from __future__ import annotations

import ctypes
import faulthandler
import mmap
import os
import struct
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qshm
from qshm import _results as R
from qshm._lib import ffi
from conftest import Rings

PAGE = mmap.PAGESIZE
DATA_PAGES = 2
MAX_RECORD = DATA_PAGES * PAGE
ALLOWED = (qshm.Corrupt, qshm.VersionMismatch)
# 200 examples per property in the suite; QSHM_DECODE_EXAMPLES=N runs more.
SETTINGS = settings(max_examples=int(os.environ.get("QSHM_DECODE_EXAMPLES",
                                                    "200")),
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


class Guarded:
    """DATA_PAGES pages between two pages with no access."""

    def __init__(self) -> None:
        self.m = mmap.mmap(-1, (DATA_PAGES + 2) * PAGE)
        self.base = ctypes.addressof(ctypes.c_char.from_buffer(self.m))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                  ctypes.c_int]
        for page in (0, DATA_PAGES + 1):
            if libc.mprotect(self.base + page * PAGE, PAGE, 0) != 0:
                raise OSError(ctypes.get_errno(), "mprotect")

    def place(self, data: bytes) -> tuple[Any, int, int]:
        """Copies data so that it starts 8-byte aligned and ends at most 7
        bytes before the upper guard page (the bytes between are 0xA5):
        (pointer, first address, address past the end)."""
        assert len(data) <= MAX_RECORD
        end = (DATA_PAGES + 1) * PAGE
        start = end - ((len(data) + 7) & ~7)
        self.m[start:start + len(data)] = data
        self.m[start + len(data):end] = b"\xa5" * (end - start - len(data))
        lo = self.base + start
        return ffi.cast("void *", lo), lo, lo + len(data)


GUARD = Guarded()


def inside(p: Any, nbytes: int, lo: int, hi: int, what: str) -> None:
    """A view of nbytes at p lies within the record [lo, hi)."""
    if nbytes == 0:
        return
    a = int(ffi.cast("uintptr_t", p))
    assert lo <= a and a + nbytes <= hi, \
        f"{what}: {nbytes} bytes at {a - lo:+d} outside a {hi - lo}-byte " \
        f"record"


def check_run(run: R.RunInfo) -> None:
    """What the codec promises of a decoded RUN_BEGIN."""
    assert run.words_per_shot == max(1, -(-run.nclbits // 64))
    bit = 0
    for reg in run.registers:
        assert reg.size > 0 and reg.first_bit == bit
        assert isinstance(reg.name, str)
        bit += reg.size
    assert bit == run.nclbits
    assert isinstance(run.name, str)


def same_run(dec: R.Decoder) -> None:
    """The run the package reports (Decoder.run) is the run the codec
    decodes the records against (out.run), also after a refused record
    that started one."""
    out = dec.out
    if out.run == ffi.NULL:
        return
    hdr = ffi.new("struct qshm_run_begin *")
    R.ccheck(R.rlib.qshm_run_header(out.run, hdr))
    run = dec.run
    assert run is not None, "the codec is in a run the package lost"
    assert (run.run, run.shots, run.seed, run.circuit_hash, run.nclbits,
            run.words_per_shot, run.nqubits) == \
        (hdr.run, hdr.shots, hdr.seed, hdr.circuit_hash, hdr.nclbits,
         hdr.words_per_shot, hdr.nqubits), "Decoder.run is another run"


def feed(dec: R.Decoder, rtype: int, seq: int, data: bytes) -> str:
    """One record through the decoder and everything the package builds
    from it; the kind, or "refused" with a documented error."""
    ptr, lo, hi = GUARD.place(data)
    try:
        out = dec.record(rtype, seq, ptr, len(data))
    except ALLOWED as e:
        assert e.code < 0 and isinstance(e.message, str) and e.message
        same_run(dec)
        return "refused"
    same_run(dec)
    run = dec.run
    if out.new_run:
        assert run is not None
        check_run(run)
    kind = out.kind
    if kind == R.DECODED_RUN_BEGIN:
        assert out.new_run and run is not None
    elif kind == R.DECODED_SHOTS:
        v = out.shots
        assert run is not None and v.words_per_shot == run.words_per_shot
        assert v.first_shot + v.count <= max(run.shots, v.first_shot)
        inside(v.words, 8 * v.count * v.words_per_shot, lo, hi, "SHOTS")
        shots = R.shots_array(v)
        k = R.Counts(run)
        k.add(shots)
        assert k.total == v.count
        for outcome, _ in k.rows(R.COUNTS_BY_COUNT, 4):
            assert isinstance(outcome, str)
        if v.count:
            run.outcome(shots[0])
    elif kind in (R.DECODED_PROBS, R.DECODED_STATE):
        v = out.vector
        size = 16 if kind == R.DECODED_STATE else 8
        assert v.nqubits <= 63 and v.total == 1 << v.nqubits
        assert v.first + v.count <= v.total
        inside(v.values, size * v.count, lo, hi, "PROBS/STATE")
        with np.errstate(all="ignore"):   # arbitrary floats overflow
            float(np.abs(R.vector_array(v)).sum())
    elif kind == R.DECODED_ERROR:
        inside(out.error.text, out.error.len, lo, hi, "ERROR")
        ffi.buffer(out.error.text, out.error.len)[:].decode("utf-8",
                                                            "replace")
    elif kind == R.DECODED_RUN_END:
        assert out.end.status >= 0
    else:
        assert kind == R.DECODED_SKIPPED
    dec.progress()
    return str(kind)


def feed_meta(dec: R.Decoder, blob: bytes) -> None:
    try:
        dec.meta(blob)
    except ALLOWED as e:
        assert e.code < 0 and e.message


class Watchdog:
    """Ends the process (with every thread's traceback) if an example
    runs for a minute."""

    def __enter__(self) -> None:
        faulthandler.dump_traceback_later(60, exit=True)

    def __exit__(self, *exc: object) -> None:
        faulthandler.cancel_dump_traceback_later()


# -- valid records (docs/format.md), to be mutated ----------------------

names = st.text(st.characters(min_codepoint=32, max_codepoint=0x2fff),
                max_size=12)


@st.composite
def valid_run(draw: Any) -> tuple[R.RunInfo, bytes]:
    regs = draw(st.lists(st.tuples(names.filter(bool),
                                   st.integers(1, 80)), max_size=4))
    payload = R.encode_run_begin(
        name=draw(names), nqubits=draw(st.integers(0, 8)),
        shots=draw(st.integers(1, 40)), seed=draw(st.integers(0, 2**64 - 1)),
        circuit_hash=draw(st.integers(0, 2**64 - 1)), registers=regs,
        options=draw(st.integers(0, 7)), run=draw(st.integers(0, 5)))
    out = ffi.new("qshm_run **")
    R.ccheck(R.rlib.qshm_run_decode(payload, len(payload), out))
    try:
        return R.run_info(out[0]), payload
    finally:
        R.rlib.qshm_run_free(out[0])


def shots_record(draw: Any, run: R.RunInfo, first: int) -> bytes:
    count = draw(st.integers(0, max(0, min(16, run.shots - first))))
    words = draw(st.lists(st.integers(0, 2**64 - 1),
                          min_size=count * run.words_per_shot,
                          max_size=count * run.words_per_shot))
    return struct.pack(f"<QII{len(words)}Q", first, count,
                       run.words_per_shot, *words)


def vector_record(draw: Any, nqubits: int, state: bool) -> bytes:
    total = 1 << nqubits
    first = draw(st.integers(0, total - 1))
    count = draw(st.integers(0, min(32, total - first)))
    n = count * (2 if state else 1)
    values = draw(st.lists(st.floats(width=64), min_size=n, max_size=n))
    return struct.pack(f"<IIQQQ{n}d", nqubits, 0, first, count, total,
                       *values)


@st.composite
def valid_stream(draw: Any) -> tuple[bytes, list[tuple[int, bytes]]]:
    """(run descriptor, records) of one run as a producer writes them."""
    run, begin = draw(valid_run())
    recs: list[tuple[int, bytes]] = [(R.REC_RUN_BEGIN, begin)]
    first = 0
    for _ in range(draw(st.integers(0, 4))):
        rec = shots_record(draw, run, first)
        first += struct.unpack_from("<I", rec, 8)[0]
        recs.append((R.REC_SHOTS, rec))
    for t in draw(st.lists(st.sampled_from([R.REC_PROBS, R.REC_STATE]),
                           max_size=3)):
        recs.append((t, vector_record(draw, run.nqubits,
                                      t == R.REC_STATE)))
    if draw(st.booleans()):
        recs.append((R.REC_ERROR, R.encode_error(
            draw(st.integers(-200, -1)), draw(names))))
    recs.append((R.REC_RUN_END, struct.pack(
        "<IIQQQ", draw(st.integers(0, 2)), 0, first,
        draw(st.integers(0, 2**40)), draw(st.integers(0, 2**40)))))
    meta = R.encode_run_meta(run=run.run, begin_seq=0,
                             end_seq=len(recs) - 1, begin=begin)
    return meta, recs


INTERESTING = [0, 1, 2, 7, 8, 15, 16, 63, 64, 65, 0x7f, 0x80, 0xff, 0x100,
               0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffff0,
               0xffffffff, 2**32, 2**40, 2**63 - 1, 2**63, 2**64 - 16,
               2**64 - 1]


@st.composite
def mutated(draw: Any, rec: bytes) -> bytes:
    """rec with a few bytes or fields changed, cut or extended."""
    b = bytearray(rec)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["byte", "u32", "u64", "cut", "grow"]))
        at = draw(st.integers(0, max(0, len(b) - 1)))
        if op == "byte" and b:
            b[at] = draw(st.integers(0, 255))
        elif op in ("u32", "u64"):
            width = 4 if op == "u32" else 8
            at &= ~3
            value = draw(st.sampled_from(INTERESTING)) % (1 << 8 * width)
            if at + width > len(b):
                b.extend(bytes(at + width - len(b)))
            b[at:at + width] = value.to_bytes(width, "little")
        elif op == "cut":
            del b[at:]
        else:
            b.extend(draw(st.binary(max_size=64)))
    return bytes(b[:MAX_RECORD])


# -- the properties ------------------------------------------------------

RESULT_TYPES = [R.REC_RUN_BEGIN, R.REC_SHOTS, R.REC_PROBS, R.REC_STATE,
                R.REC_RUN_END, R.REC_ERROR]


@SETTINGS
@given(meta=st.none() | st.binary(max_size=300),
       records=st.lists(st.tuples(st.sampled_from(RESULT_TYPES)
                                  | st.integers(0, 2**32 - 1),
                                  st.binary(max_size=600)),
                        min_size=1, max_size=8),
       run=valid_run())
def test_arbitrary_bytes_decode_or_raise_documented_errors(
        meta: bytes | None, records: list[tuple[int, bytes]],
        run: tuple[R.RunInfo, bytes]) -> None:
    """Arbitrary bytes in records of any type (after a valid RUN_BEGIN,
    so that SHOTS, PROBS and STATE reach their checks against a run), and
    an arbitrary run descriptor."""
    with Watchdog():
        dec = R.Decoder()
        if meta is not None:
            feed_meta(dec, meta)
        assert feed(dec, R.REC_RUN_BEGIN, 0, run[1]) != "refused"
        for seq, (rtype, data) in enumerate(records, 1):
            feed(dec, rtype, seq, data)


@SETTINGS
@given(stream=valid_stream(), data=st.data(),
       late=st.booleans(), mutate_meta=st.booleans())
def test_mutated_records_decode_or_raise_documented_errors(
        stream: tuple[bytes, list[tuple[int, bytes]]], data: st.DataObject,
        late: bool, mutate_meta: bool) -> None:
    """A producer's run with some records damaged (fields set to edge
    values, bytes changed, records cut or extended); read from its
    RUN_BEGIN, or joining late from the run descriptor (mutated too)."""
    meta, recs = stream
    with Watchdog():
        # The stream as written decodes in full.
        dec = R.Decoder()
        kinds = [feed(dec, t, seq, rec) for seq, (t, rec) in enumerate(recs)]
        assert "refused" not in kinds
        # The same, some of it damaged.
        hit = data.draw(st.sets(st.integers(0, len(recs) - 1), min_size=1))
        dec = R.Decoder()
        if late:
            feed_meta(dec, data.draw(mutated(meta)) if mutate_meta
                      else meta)
        for seq, (t, rec) in enumerate(recs):
            if late and seq == 0:
                continue
            feed(dec, t, seq, data.draw(mutated(rec)) if seq in hit
                 else rec)


# -- what the properties found -------------------------------------------

def late_run() -> tuple[bytes, bytes]:
    """(run descriptor, RUN_BEGIN) of a 4-shot run with one 2-bit
    register, RUN_BEGIN at seq 0."""
    begin = R.encode_run_begin(name="late", nqubits=2, shots=4, seed=1,
                               circuit_hash=0, registers=[("c", 2)],
                               options=0, run=7)
    return R.encode_run_meta(run=7, begin_seq=0, end_seq=None,
                             begin=begin), begin


def test_refused_first_record_of_a_late_run_keeps_the_run() -> None:
    """A decoder that joins from the descriptor enters the run at the first
    record after RUN_BEGIN even when that record is malformed; Decoder.run
    used to stay None (or the previous run), so the package described the
    next records with no run or another run's registers."""
    meta, _ = late_run()
    dec = R.Decoder()
    dec.meta(meta)
    bad = struct.pack("<QII", 0, 1000, 1) + bytes(24)   # 1000 shots in 3
    assert feed(dec, R.REC_SHOTS, 1, bad) == "refused"
    assert dec.run is not None and dec.run.run == 7
    good = struct.pack("<QII2Q", 0, 2, 1, 1, 3)
    assert feed(dec, R.REC_SHOTS, 2, good) == str(R.DECODED_SHOTS)


def test_consumer_skipping_a_malformed_first_record_reports_the_run(
        rings: Rings) -> None:
    """The same through a ring: a consumer that joins after RUN_BEGIN with
    corrupt="skip" skips the malformed first record and still hands the
    run (rec.run) with the next one, so counting works."""
    name = rings.name()
    with qshm.Producer(name, capacity=65536) as p:
        w = qshm.RunWriter(p, registers=[("c", 2)], shots=4, nqubits=2,
                           run=7)
        c = qshm.Consumer(name, newest=True, corrupt="skip").open()
        try:
            p.publish(qshm.REC_SHOTS, struct.pack("<QII", 0, 1000, 1)
                      + bytes(24))
            w.shots(np.array([1, 3, 3, 2], dtype=np.uint64))
            w.end()
            p.close()
            hist, end = qshm.count_run(c)
            assert c.bad_records == 1
            assert hist.run.run == 7 and end is not None
            assert hist.counts() == {"01": 1, "10": 1, "11": 2}
        finally:
            c.close()
