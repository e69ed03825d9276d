# SPDX-License-Identifier: MIT
"""The package's side of libqshmresults, the project's one results codec
(include/qshm/results.h): decoding the records of a ring (RUN_BEGIN,
SHOTS, PROBS, STATE, RUN_END, ERROR, through its late-join decoder),
outcome strings and counts, and encoding for producers. This module only
converts between the C structs and Python objects; every check of a
record's bytes happens in C, and a malformed record raises
:class:`qshm.Corrupt` with the codec's message.
"""
from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ._lib import ffi, rlib
from .errors import Corrupt, InvalidArgument, QshmError, VersionMismatch

REC_RUN_BEGIN = 0x100
REC_SHOTS = 0x101
REC_PROBS = 0x102
REC_STATE = 0x103
REC_RUN_END = 0x104
REC_ERROR = 0x105

RUN_PROBS = 1 << 0
RUN_STATE = 1 << 1
RUN_PER_SHOT = 1 << 2

RUN_OK, RUN_FAILED, RUN_STOPPED = 0, 1, 2

# enum qshm_decoded_kind, enum qshm_skip_reason
DECODED_SKIPPED, DECODED_RUN_BEGIN, DECODED_SHOTS, DECODED_PROBS, \
    DECODED_STATE, DECODED_ERROR, DECODED_RUN_END = range(7)
SKIP_NONE, SKIP_TYPE, SKIP_NO_RUN = range(3)
COUNTS_BY_OUTCOME = 0
COUNTS_BY_COUNT = 1
SEQ_NONE = (1 << 64) - 1


def codec_error(code: int, context: str = "") -> QshmError:
    """The exception for a negative libqshmresults code."""
    msg = ffi.string(rlib.qshm_results_last_error()).decode("utf-8",
                                                             "replace")
    if not msg:
        msg = f"error {code}"
    if context:
        msg = f"{context}: {msg}"
    if -code == errno.EBADMSG:
        return Corrupt(msg, code)
    if -code == errno.EPROTO:
        return VersionMismatch(msg, code)
    if -code in (errno.EINVAL, errno.ENOSPC, errno.EOVERFLOW):
        return InvalidArgument(msg, code)
    return QshmError(msg, code)


def ccheck(code: int, context: str = "") -> int:
    if code < 0:
        raise codec_error(code, context)
    return code


@dataclass(frozen=True)
class Register:
    """A classical register: its bit ``i`` is global classical bit
    ``first_bit + i``."""
    name: str
    size: int
    first_bit: int


@dataclass(frozen=True)
class RunInfo:
    """A run's description, from its RUN_BEGIN record (or the ring's run
    descriptor, for a consumer that joined mid-run)."""
    name: str
    nqubits: int
    shots: int
    seed: int
    circuit_hash: int
    nclbits: int
    words_per_shot: int
    options: int
    registers: tuple[Register, ...] = field(default_factory=tuple)
    run: int = 0
    #: the codec's decoded run (owned by this object)
    _handle: Any = field(default=None, repr=False, compare=False)

    @property
    def probs(self) -> bool:
        """PROBS records follow the shots."""
        return bool(self.options & RUN_PROBS)

    @property
    def state(self) -> bool:
        """STATE records follow the shots."""
        return bool(self.options & RUN_STATE)

    @property
    def per_shot(self) -> bool:
        """The shots were re-executed one by one."""
        return bool(self.options & RUN_PER_SHOT)

    @classmethod
    def describe(cls, registers: Sequence[tuple[str, int]], *,
                 name: str = "python", nqubits: int = 0, shots: int = 0,
                 seed: int = 0, options: int = 0) -> "RunInfo":
        """A run description made here (encoded and decoded by the codec,
        with the same checks as a received one): for counting shots that
        did not come through a ring."""
        payload = encode_run_begin(name=name, nqubits=nqubits, shots=shots,
                                   seed=seed, circuit_hash=0,
                                   registers=registers, options=options,
                                   run=0)
        out = ffi.new("qshm_run **")
        ccheck(rlib.qshm_run_decode(payload, len(payload), out), "RUN_BEGIN")
        try:
            return run_info(out[0])
        finally:
            rlib.qshm_run_free(out[0])

    def outcome(self, shot: np.ndarray) -> str:
        """The outcome string of one shot (its words_per_shot words), in
        OpenQASM/Qiskit order: registers last-declared first, each
        ``c[n-1]..c[0]``."""
        w = np.ascontiguousarray(shot, dtype=np.uint64).reshape(-1)
        size = rlib.qshm_run_outcome_size(self._handle)
        buf = ffi.new("char[]", size)
        n = ccheck(rlib.qshm_run_outcome(
            self._handle, ffi.cast("const uint64_t *", w.ctypes.data),
            len(w), buf, size), "outcome")
        return ffi.string(buf, n).decode("ascii")


@dataclass(frozen=True)
class RunEnd:
    """A run's RUN_END record."""
    status: int
    shots: int
    elapsed_ns: int
    sim_ns: int

    @property
    def ok(self) -> bool:
        return self.status == RUN_OK


def run_info(run: Any) -> RunInfo:
    """A RunInfo owning its own copy of a codec run (the decoder's run is
    freed when the next run starts)."""
    data = ffi.new("const void **")
    n = ffi.new("size_t *")
    ccheck(rlib.qshm_run_payload(run, data, n))
    out = ffi.new("qshm_run **")
    ccheck(rlib.qshm_run_decode(data[0], n[0], out), "RUN_BEGIN")
    own = ffi.gc(out[0], rlib.qshm_run_free)
    hdr = ffi.new("struct qshm_run_begin *")
    ccheck(rlib.qshm_run_header(own, hdr))
    regs = []
    info = ffi.new("struct qshm_run_creg_info *")
    for i in range(rlib.qshm_run_ncregs(own)):
        ccheck(rlib.qshm_run_creg(own, i, info))
        regs.append(Register(
            ffi.string(info.name, info.name_len).decode("utf-8", "replace"),
            int(info.size), int(info.first_bit)))
    name = ffi.string(rlib.qshm_run_name(own)).decode("utf-8", "replace")
    return RunInfo(name, int(hdr.nqubits), int(hdr.shots), int(hdr.seed),
                   int(hdr.circuit_hash), int(hdr.nclbits),
                   int(hdr.words_per_shot), int(hdr.options), tuple(regs),
                   int(hdr.run), own)


@dataclass(frozen=True)
class Progress:
    """Where the current run stands, as this consumer saw it (the codec's
    qshm_progress): a consumer that joined mid-run starts at
    ``first_shot``."""
    run: int
    shots: int
    first_shot: int | None
    next_shot: int
    shots_seen: int
    shots_missed: int
    records_skipped: int
    shots_delivered: int
    have_run: bool
    ended: bool
    status: int
    from_begin: bool

    @property
    def status_name(self) -> str:
        """"ok", "failed", "stopped" or "unknown"."""
        return ffi.string(rlib.qshm_run_status_name(self.status)).decode()


class Decoder:
    """A ring's records, run after run (the codec's qshm_decoder)."""

    def __init__(self) -> None:
        out = ffi.new("qshm_decoder **")
        ccheck(rlib.qshm_decoder_new(out))
        self._d = ffi.gc(out[0], rlib.qshm_decoder_free)
        self.out = ffi.new("struct qshm_decoded *")
        self.run: RunInfo | None = None

    def meta(self, blob: bytes) -> None:
        """Gives the decoder the ring's run descriptor."""
        ccheck(rlib.qshm_decoder_meta(self._d, blob, len(blob)),
               "run descriptor")

    def progress(self) -> Progress:
        """The codec's progress of the current run."""
        p = ffi.new("struct qshm_progress *")
        ccheck(rlib.qshm_decoder_progress(self._d, p))
        return Progress(int(p.run), int(p.shots),
                        None if p.first_shot == SEQ_NONE
                        else int(p.first_shot), int(p.next_shot),
                        int(p.shots_seen), int(p.shots_missed),
                        int(p.records_skipped), int(p.shots_delivered),
                        bool(p.have_run), bool(p.ended), int(p.status),
                        bool(p.from_begin))

    def record(self, rtype: int, seq: int, data: Any, length: int) -> Any:
        """Decodes one record in place; returns the qshm_decoded struct
        (valid until the next call). Raises Corrupt on a malformed record."""
        out = self.out
        err = rlib.qshm_decoder_record(self._d, rtype, seq, data, length,
                                       out)
        exc = codec_error(err, f"record {seq}") if err < 0 else None
        # A malformed record may still start a run (the first record of a
        # run known from the descriptor): the decoder has entered it, so
        # self.run follows it even when the record itself is refused.
        if out.new_run and out.run != ffi.NULL:
            self.run = run_info(out.run)
        if exc is not None:
            raise exc
        return out


def shots_array(view: Any) -> np.ndarray:
    """A decoded SHOTS view as a (count, words) uint64 array, in place."""
    n = int(view.count) * int(view.words_per_shot)
    buf = ffi.buffer(ffi.cast("char *", view.words), 8 * n)
    a = np.frombuffer(buf, dtype=np.uint64, count=n).reshape(
        int(view.count), int(view.words_per_shot))
    a.flags.writeable = False  # the ring's memory: read only
    return a


def vector_array(view: Any) -> np.ndarray:
    """A decoded PROBS (float64) or STATE (complex128) chunk, in place."""
    count = int(view.count)
    state = view.type == REC_STATE
    size = 16 if state else 8
    buf = ffi.buffer(ffi.cast("char *", view.values), size * count)
    a = np.frombuffer(buf, dtype=np.complex128 if state else np.float64,
                      count=count)
    a.flags.writeable = False  # the ring's memory: read only
    return a


class Counts:
    """The codec's counts table (outcome -> count) for one run."""

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        out = ffi.new("qshm_counts **")
        ccheck(rlib.qshm_counts_new(run.words_per_shot, out))
        self._k = ffi.gc(out[0], rlib.qshm_counts_free)

    def add(self, shots: np.ndarray) -> None:
        """Counts the rows of a C-contiguous (n, words) uint64 array."""
        if shots.dtype != np.uint64 or shots.ndim != 2 or \
                shots.shape[1] != self.run.words_per_shot:
            raise InvalidArgument(f"shots must be (n, "
                                  f"{self.run.words_per_shot}) uint64")
        a = np.ascontiguousarray(shots)
        ccheck(rlib.qshm_counts_add(
            self._k, ffi.cast("const uint64_t *", a.ctypes.data), len(a)),
            "counting")

    @property
    def total(self) -> int:
        return int(rlib.qshm_counts_total(self._k))

    @property
    def distinct(self) -> int:
        return int(rlib.qshm_counts_distinct(self._k))

    def rows(self, order: int = COUNTS_BY_OUTCOME,
             limit: int = 0) -> list[tuple[str, int]]:
        """(outcome string, count) pairs in the codec's order: outcome
        strings in strcmp order, or most frequent first (ties by outcome);
        the first ``limit`` (0: all)."""
        out = ffi.new("struct qshm_count_entry **")
        n = ffi.new("size_t *")
        ccheck(rlib.qshm_counts_list(self._k, self.run._handle, order, limit,
                                     out, n), "listing counts")
        try:
            e = out[0]
            return [(ffi.string(e[i].outcome).decode("ascii"),
                     int(e[i].count)) for i in range(n[0])]
        finally:
            rlib.qshm_counts_list_free(out[0])

    def as_dict(self) -> dict[str, int]:
        """{outcome string: count}, in outcome-string order (as
        ``qshm sim --counts``)."""
        return dict(self.rows(COUNTS_BY_OUTCOME))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys (k, words) uint64, counts (k,) uint64), in no order."""
        k = self.distinct
        w = self.run.words_per_shot
        keys = np.empty((k, w), dtype=np.uint64)
        counts = np.empty(k, dtype=np.uint64)
        got = rlib.qshm_counts_export(
            self._k, ffi.cast("uint64_t *", keys.ctypes.data),
            ffi.cast("uint64_t *", counts.ctypes.data), k)
        ccheck(int(got))
        return keys, counts


def encode_run_begin(*, name: str, nqubits: int, shots: int, seed: int,
                     circuit_hash: int, registers: Sequence[tuple[str, int]],
                     options: int, run: int) -> bytes:
    """A RUN_BEGIN payload (the codec's encoder) for registers
    [(name, size), ...] in declaration order."""
    keep = []
    cregs = ffi.new("struct qshm_run_desc_creg[]", max(1, len(registers)))
    for i, (rname, size) in enumerate(registers):
        b = ffi.new("char[]", rname.encode())
        keep.append(b)
        cregs[i].name = b
        cregs[i].size = size
    cname = ffi.new("char[]", name.encode())
    d = ffi.new("struct qshm_run_desc *")
    d.name = cname
    d.nqubits = nqubits
    d.options = options
    d.shots = shots
    d.seed = seed
    d.circuit_hash = circuit_hash
    d.run = run
    d.ncregs = len(registers)
    d.cregs = cregs
    n = ccheck(rlib.qshm_run_begin_encode(d, ffi.NULL, 0), "RUN_BEGIN")
    buf = ffi.new("char[]", n)
    ccheck(rlib.qshm_run_begin_encode(d, buf, n), "RUN_BEGIN")
    return bytes(ffi.buffer(buf, n))


def encode_run_meta(*, run: int, begin_seq: int, end_seq: int | None,
                    begin: bytes, status: int = 0,
                    shots_done: int = 0) -> bytes:
    """A run descriptor (the ring's metadata blob, docs/format.md): the
    codec's encoder."""
    h = ffi.new("struct qshm_run_meta *")
    h.run = run
    h.begin_seq = begin_seq
    h.end_seq = SEQ_NONE if end_seq is None else end_seq
    h.status = status
    h.shots_done = shots_done
    n = ccheck(rlib.qshm_run_meta_encode(h, begin, len(begin), ffi.NULL, 0),
               "run descriptor")
    buf = ffi.new("char[]", n)
    ccheck(rlib.qshm_run_meta_encode(h, begin, len(begin), buf, n),
           "run descriptor")
    return bytes(ffi.buffer(buf, n))


def encode_error(code: int, message: str) -> bytes:
    """An ERROR payload (the codec's encoder)."""
    b = message.encode()
    size = 8 + max(1, len(b))
    buf = ffi.new("char[]", size)
    n = ccheck(rlib.qshm_error_encode(code, b, len(b), buf, size), "ERROR")
    return bytes(ffi.buffer(buf, n))


def shots_per_record(max_record: int, words: int) -> int:
    """Shots per SHOTS record that fit the ring (the codec's rule)."""
    return int(rlib.qshm_shots_per_record(max_record, words))
