# SPDX-License-Identifier: MIT
"""Decoding and encoding of the result records of docs/format.md.

Interim: the project's results decoder is to be one C library that every
consumer binds. Until the package binds it, this module is the package's
only place that knows the payload layouts; every offset and length is
checked before use and a bad record raises :class:`qshm.Corrupt`, never an
IndexError or a struct error.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import Corrupt

RESULTS_VERSION = 1
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

MAX_CREGS = 4096
_BEGIN = struct.Struct("<IIQQQIIIIIIII")   # 64 bytes
_CREG = struct.Struct("<IIII")
_SHOTS = struct.Struct("<QII")
_CHUNK = struct.Struct("<IIQQQ")
_END = struct.Struct("<IIQQQ")
_ERROR = struct.Struct("<iI")


@dataclass(frozen=True)
class Register:
    """A classical register: its bit ``i`` is global classical bit
    ``first_bit + i``."""
    name: str
    size: int
    first_bit: int


@dataclass(frozen=True)
class RunInfo:
    """A run's description, from its RUN_BEGIN record."""
    name: str
    nqubits: int
    shots: int
    seed: int
    circuit_hash: int
    nclbits: int
    words_per_shot: int
    options: int
    registers: tuple[Register, ...] = field(default_factory=tuple)

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


def _text(buf: memoryview, off: int, n: int, what: str) -> str:
    if off + n > len(buf):
        raise Corrupt(f"RUN_BEGIN: {what} lies past the end of the record")
    return bytes(buf[off:off + n]).decode("utf-8", "replace")


def decode_run_begin(buf: memoryview) -> RunInfo:
    """Decodes and checks a RUN_BEGIN payload (copying what it keeps)."""
    if len(buf) < _BEGIN.size:
        raise Corrupt(f"RUN_BEGIN of {len(buf)} bytes, need {_BEGIN.size}")
    (version, nqubits, shots, seed, chash, nclbits, ncregs, wps, options,
     name_off, name_len, creg_off, _res) = _BEGIN.unpack_from(buf, 0)
    if version != RESULTS_VERSION:
        raise Corrupt(f"results format version {version}, this package "
                      f"reads {RESULTS_VERSION}")
    if ncregs > MAX_CREGS or nclbits > 64 * 4096:
        raise Corrupt(f"RUN_BEGIN: {ncregs} registers, {nclbits} bits")
    if wps != (nclbits + 63) // 64 and not (nclbits == 0 and wps == 1):
        raise Corrupt(f"RUN_BEGIN: {wps} words per shot for {nclbits} bits")
    if creg_off + ncregs * _CREG.size > len(buf):
        raise Corrupt("RUN_BEGIN: register table past the end of the "
                      "record")
    name = _text(buf, name_off, name_len, "the circuit name")
    regs = []
    bits = 0
    for i in range(ncregs):
        size, first, roff, rlen = _CREG.unpack_from(buf, creg_off + 16 * i)
        if first != bits or size == 0 or bits + size > nclbits:
            raise Corrupt(f"RUN_BEGIN: register {i} (bits {first}..+{size})"
                          f" does not fit {nclbits} bits")
        bits += size
        regs.append(Register(_text(buf, roff, rlen, f"register {i}'s name"),
                             size, first))
    if bits != nclbits:
        raise Corrupt(f"RUN_BEGIN: registers hold {bits} bits, header says "
                      f"{nclbits}")
    return RunInfo(name, nqubits, shots, seed, chash, nclbits, wps, options,
                   tuple(regs))


def shots_header(buf: memoryview, run: RunInfo | None) -> tuple[int, int, int]:
    """Checks a SHOTS payload; returns (first_shot, count, words)."""
    if len(buf) < _SHOTS.size:
        raise Corrupt(f"SHOTS record of {len(buf)} bytes")
    first, count, w = _SHOTS.unpack_from(buf, 0)
    if run is not None and w != run.words_per_shot:
        raise Corrupt(f"SHOTS: {w} words per shot, RUN_BEGIN said "
                      f"{run.words_per_shot}")
    if w == 0 or count * w * 8 > len(buf) - _SHOTS.size:
        raise Corrupt(f"SHOTS: {count} shots of {w} words do not fit "
                      f"{len(buf)} bytes")
    return first, count, w


def shots_array(buf: memoryview, count: int, words: int) -> np.ndarray:
    """The shots of a checked SHOTS payload: a (count, words) uint64 view."""
    return np.frombuffer(buf, dtype="<u8", count=count * words,
                         offset=_SHOTS.size).reshape(count, words)


def chunk_header(buf: memoryview, elem: int) -> tuple[int, int, int, int]:
    """Checks a PROBS (elem 8) or STATE (elem 16) payload; returns
    (nqubits, first, count, total)."""
    what = "STATE" if elem == 16 else "PROBS"
    if len(buf) < _CHUNK.size:
        raise Corrupt(f"{what} record of {len(buf)} bytes")
    nq, _res, first, count, total = _CHUNK.unpack_from(buf, 0)
    if nq > 63 or total != 1 << nq:
        raise Corrupt(f"{what}: {nq} qubits but {total} elements in all")
    if first > total or count > total - first:
        raise Corrupt(f"{what}: elements {first}..+{count} outside "
                      f"0..{total}")
    if count > (len(buf) - _CHUNK.size) // elem:
        raise Corrupt(f"{what}: {count} elements do not fit {len(buf)} "
                      f"bytes")
    return nq, first, count, total


def chunk_array(buf: memoryview, elem: int, count: int) -> np.ndarray:
    """The elements of a checked chunk: float64 or complex128 view."""
    dtype = "<c16" if elem == 16 else "<f8"
    return np.frombuffer(buf, dtype=dtype, count=count, offset=_CHUNK.size)


def decode_run_end(buf: memoryview) -> RunEnd:
    """Decodes a RUN_END payload (a short one reads as zeros past its end,
    as the C tools do)."""
    raw = bytes(buf[:_END.size]).ljust(_END.size, b"\0")
    status, _res, shots, elapsed, sim = _END.unpack(raw)
    return RunEnd(status, shots, elapsed, sim)


def decode_error(buf: memoryview) -> tuple[int, str]:
    """Decodes an ERROR payload: (code, message)."""
    if len(buf) < _ERROR.size:
        raise Corrupt(f"ERROR record of {len(buf)} bytes")
    code, n = _ERROR.unpack_from(buf, 0)
    n = min(n, len(buf) - _ERROR.size)
    return code, bytes(buf[8:8 + n]).decode("utf-8", "replace")


def outcome_strings(run: RunInfo, keys: np.ndarray) -> list[str]:
    """Outcome strings of shots (rows of words) in OpenQASM/Qiskit order:
    registers last-declared first, each ``c[n-1] .. c[0]``."""
    keys = np.asarray(keys, dtype=np.uint64).reshape(len(keys), -1)
    if len(keys) == 0:
        return []
    nbits = run.nclbits
    # bits[k, j] = global clbit j of row k
    shifts = np.arange(64, dtype=np.uint64)
    bits = ((keys[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8)
    bits = bits.reshape(len(keys), -1)[:, :nbits]
    chars = np.where(bits == 1, ord("1"), ord("0")).astype(np.uint8)
    out = []
    for row in chars:
        parts = []
        for r in reversed(run.registers):
            seg = row[r.first_bit:r.first_bit + r.size][::-1]
            parts.append(seg.tobytes().decode("ascii"))
        out.append(" ".join(parts))
    return out


def encode_run_begin(*, name: str, nqubits: int, shots: int, seed: int,
                     circuit_hash: int, registers: Sequence[tuple[str, int]],
                     options: int) -> bytes:
    """A RUN_BEGIN payload for registers [(name, size), ...] in declaration
    order."""
    nclbits = sum(size for _, size in registers)
    wps = max(1, (nclbits + 63) // 64)
    creg_off = _BEGIN.size
    strings = bytearray()
    off = creg_off + len(registers) * _CREG.size
    cname = name.encode()
    name_off = off
    strings += cname
    table = bytearray()
    first = 0
    for rname, size in registers:
        b = rname.encode()
        table += _CREG.pack(size, first, off + len(strings), len(b))
        strings += b
        first += size
    head = _BEGIN.pack(RESULTS_VERSION, nqubits, shots, seed, circuit_hash,
                       nclbits, len(registers), wps, options, name_off,
                       len(cname), creg_off, 0)
    return head + bytes(table) + bytes(strings)


def pack_shots_header(first_shot: int, count: int, words: int) -> bytes:
    return _SHOTS.pack(first_shot, count, words)


def pack_chunk_header(nqubits: int, first: int, count: int) -> bytes:
    return _CHUNK.pack(nqubits, 0, first, count, 1 << nqubits)


def encode_run_end(status: int, shots: int, elapsed_ns: int,
                   sim_ns: int) -> bytes:
    return _END.pack(status, 0, shots, elapsed_ns, sim_ns)


def encode_error(code: int, message: str) -> bytes:
    b = message.encode()
    return _ERROR.pack(code, len(b)) + b
