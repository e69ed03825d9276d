# SPDX-License-Identifier: MIT
"""qshm: read and publish quantum-simulation results through named
shared-memory rings, in place, from Python.

The package binds libqshm (the project's C library) through cffi: the ring
protocol exists once, in C. Shots, probabilities and state vectors arrive as
numpy arrays that view the ring's memory (no copies)::

    import qshm
    with qshm.Consumer("ghz", reliable=True, timeout=10.0) as c:
        print(c.run)
        for rec in c:
            if rec.kind == "shots":
                use(rec.shots)          # (n, words) uint64, in the ring
    counts = qshm.counts("ghz", timeout=10.0)
    client = qshm.Client("sim1")            # a running `qshm serve sim1`
    res = await client.run(qasm, shots=1000, seed=7)   # res.counts

See docs/python.md.
"""
from __future__ import annotations

from ._lib import ffi as _ffi, lib as _lib
from ._results import Progress, Register, RunEnd, RunInfo
from .client import Circuit, CircuitBreaker, Client, Result, Retry
from .consumer import Consumer, Record
from .counts import Histogram, count_run, counts
from .errors import (CircuitError, CircuitOpen, Closed, Corrupt, Evicted,
                     InvalidArgument, JobCancelled, NoSlot, NotQshm, Overrun,
                     ProducerDied, QshmError, QueueFull, Refused,
                     ReplyLost, ResultTooBig, RingExists, RingNotFound, RunFailed,
                     ServiceDead, ServiceError, ServiceGone, ServiceNotFound,
                     Timeout, TooBig, TooManyQubits, Truncated, Unsupported,
                     VersionMismatch)
from .producer import Producer, RunWriter, publish_run

REC_RUN_BEGIN = 0x100
REC_SHOTS = 0x101
REC_PROBS = 0x102
REC_STATE = 0x103
REC_RUN_END = 0x104
REC_ERROR = 0x105

__version__ = "0.1.0"


def library_version() -> tuple[int, int, int]:
    """The loaded libqshm's version (major, minor, patch)."""
    v = _ffi.new("int[3]")
    _lib.qshm_version(v, v + 1, v + 2)
    return (v[0], v[1], v[2])


_RING_STATES = ("live", "closed", "stale", "creating", "not-qshm", "corrupt",
                "version")


def ring_info(name: str) -> dict[str, object]:
    """A read-only look at ring ``name``'s header (also for stale, corrupt
    or foreign objects: ``state`` says which), as a dict."""
    from .errors import check
    info = _ffi.new("struct qshm_ring_info *")
    check(_lib.qshm_ring_info(name.encode(), info), f"ring '{name}'")
    st = int(info.state)
    return {
        "name": name,
        "state": _RING_STATES[st] if 0 <= st < len(_RING_STATES) else st,
        "format": (int(info.format_major), int(info.format_minor)),
        "size": int(info.size),
        "capacity": int(info.capacity),
        "max_record": int(info.max_record),
        "max_consumers": int(info.max_consumers),
        "producer_pid": int(info.creator_pid),
        "producer_alive": bool(info.creator_alive),
        "generation": int(info.generation),
        "write_pos": int(info.write_pos),
        "oldest_pos": int(info.oldest_pos),
        "reliable_consumers": int(info.reliable_consumers),
        "lossy_consumers": int(info.lossy_consumers),
    }


def allow_owner(user: str | int) -> None:
    """Also trusts rings owned by ``user`` (a name or a uid): by default
    libqshm attaches only to rings owned by this process's user or root.
    Process-wide; call it before attaching."""
    import pwd
    from .errors import InvalidArgument, check
    if isinstance(user, str) and not user.isdigit():
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            raise InvalidArgument(f"no user '{user}'") from None
    else:
        uid = int(user)
    check(_lib.qshm_allow_owner(uid), f"allow owner {user}")


def unlink(name: str) -> None:
    """Removes ring ``name`` (whatever it holds)."""
    from .errors import check
    check(_lib.qshm_unlink(name.encode()), f"remove '{name}'")


__all__ = [
    "Circuit", "CircuitBreaker", "CircuitError", "CircuitOpen", "Client",
    "JobCancelled",
    "QueueFull", "Refused", "ReplyLost", "Result", "ResultTooBig", "Retry", "ServiceDead",
    "ServiceError", "ServiceGone", "ServiceNotFound", "TooManyQubits",
    "Closed", "Consumer", "Corrupt", "Evicted", "Histogram",
    "InvalidArgument", "NoSlot", "NotQshm", "Overrun", "Producer",
    "Progress", "ProducerDied", "QshmError", "Record", "Register", "RingExists",
    "RingNotFound", "RunEnd", "RunFailed", "RunInfo", "RunWriter",
    "Timeout", "TooBig", "Truncated", "Unsupported", "VersionMismatch", "allow_owner", "count_run",
    "counts", "library_version", "publish_run", "ring_info", "unlink",
    "REC_RUN_BEGIN", "REC_SHOTS", "REC_PROBS", "REC_STATE", "REC_RUN_END",
    "REC_ERROR",
]
