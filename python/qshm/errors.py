# SPDX-License-Identifier: MIT
"""Exceptions raised by the qshm package.

Every error from libqshm becomes a :class:`QshmError` subclass carrying the
library's negative code (``code``) and its message (``qshm_last_error()``,
which names the ring and the field at fault).
"""
from __future__ import annotations

import errno

from ._lib import client_lib, ffi, lib


class QshmError(Exception):
    """Base class of the package's errors.

    Attributes:
        code: the library's negative error code (``-errno`` or ``-QSHM_E*``),
            0 where the error was found by the package itself.
        message: the text, as the library gave it.
    """

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RingNotFound(QshmError):
    """No ring has that name (``-ENOENT``), or it never appeared in time."""


class RingExists(QshmError):
    """A live ring already has that name (``-EEXIST``, ``-QSHM_ESTALE``)."""


class NotQshm(QshmError):
    """The shared-memory object is not a qshm ring."""


class VersionMismatch(QshmError):
    """The segment's format or layout is not one this library reads."""


class Corrupt(QshmError):
    """A segment header, a record header or a result record fails
    validation. Raised instead of using the bad data."""


class ProducerDied(QshmError):
    """The producer died before the run ended; every complete record was
    read first."""


class Closed(QshmError):
    """The producer closed the ring before a run ended (no RUN_END)."""


class Overrun(QshmError):
    """Lossy consumers, ``overrun="raise"``: a record was overwritten by the
    producer while in use; what was read from it must be discarded."""


class Evicted(QshmError):
    """The producer evicted this consumer."""


class NoSlot(QshmError):
    """The ring's consumer table is full."""


class TooBig(QshmError):
    """A record is longer than the ring's largest payload."""


class Timeout(QshmError, TimeoutError):
    """A wait ran out of time."""


class RunFailed(QshmError):
    """The producer published an ERROR record: the run failed. ``code`` is
    the producer's code, ``message`` its text."""


class Truncated(QshmError):
    """The ring's object was made smaller while mapped (``truncate``): the
    rest of the ring is lost. Records read since the last successful call
    may hold zeros and are not returned."""


class Unsupported(QshmError):
    """The kernel lacks something needed (io_uring futex waits, Linux 6.7+)."""


def _code_map() -> dict[int, type[QshmError]]:
    return {
        errno.ENOENT: RingNotFound,
        errno.EEXIST: RingExists,
        lib.QSHM_ESTALE: RingExists,
        lib.QSHM_ENOTQSHM: NotQshm,
        lib.QSHM_EVERSION: VersionMismatch,
        lib.QSHM_ELAYOUT: VersionMismatch,
        lib.QSHM_ECORRUPT: Corrupt,
        lib.QSHM_EPRODUCERDEAD: ProducerDied,
        lib.QSHM_ECLOSED: Closed,
        lib.QSHM_EOVERRUN: Overrun,
        lib.QSHM_EEVICTED: Evicted,
        lib.QSHM_ENOSLOT: NoSlot,
        lib.QSHM_ETOOBIG: TooBig,
        lib.QSHM_ETRUNCATED: Truncated,
        errno.ETIMEDOUT: Timeout,
        errno.ENOSYS: Unsupported,
    }


_CODES = _code_map()


def library_error(code: int, context: str = "") -> QshmError:
    """The exception for a negative libqshm return code, with the library's
    message for the calling thread's last failure (or the code's
    description when there is none)."""
    msg = ""
    # These codes come back without a message of their own: a message in
    # qshm_last_error() would be an older failure's.
    if -code not in (lib.QSHM_ECLOSED, errno.ETIMEDOUT, errno.EAGAIN,
                     errno.EINTR):
        msg = ffi.string(lib.qshm_last_error()).decode("utf-8", "replace")
    if not msg:
        msg = ffi.string(lib.qshm_strerror(code)).decode("utf-8", "replace")
    if context:
        msg = f"{context}: {msg}"
    cls = _CODES.get(-code, QshmError)
    if cls is QshmError and -code == errno.EINVAL:
        return InvalidArgument(msg, code)
    return cls(msg, code)


class InvalidArgument(QshmError, ValueError):
    """A bad name, size or option (``-EINVAL``)."""


def check(code: int, context: str = "") -> int:
    """Returns code if it is not negative, else raises its exception."""
    if code < 0:
        raise library_error(code, context)
    return code


# -- the service (`qshm serve`) and its client (qshm.Client) -------------

class ServiceError(QshmError):
    """Base class of the errors of a service's client (:class:`qshm.Client`):
    the connection's and the jobs'."""


class ServiceNotFound(ServiceError, RingNotFound):
    """No service of that name (no control ring), or none appeared within
    the connect timeout."""


class ServiceDead(ServiceError):
    """The service process died (``QSHM_ESERVICEDEAD``): every pending job
    of the connection fails with it. The client connects again on its next
    job."""


class ServiceGone(ServiceError):
    """The service stopped and closed its rings (``QSHM_ESERVICEGONE``)."""


class QueueFull(ServiceError):
    """The service's queue was full: the job was not taken
    (``QSHM_EQUEUEFULL``)."""


class Refused(ServiceError):
    """The service refused a request as malformed (``QSHM_EREFUSED``)."""


class CircuitError(ServiceError, ValueError):
    """The service could not run the circuit (``-EINVAL``): it does not
    parse (``message`` has the front end's ``job:LINE:COL: error: ...``), or
    it includes a file other than ``qelib1.inc``."""


class TooManyQubits(ServiceError):
    """More qubits than the service's ``--max-qubits``, or no memory for the
    state (``-EFBIG``)."""


class ResultTooBig(ServiceError):
    """The result does not fit the reply ring (``-E2BIG``)."""


class JobCancelled(ServiceError):
    """The job was cancelled (``-ECANCELED``) before its result was made."""


class CircuitOpen(ServiceError):
    """The client's circuit breaker is open: after repeated failures of the
    service, jobs fail at once until its reset time has passed."""


class ReplyLost(ServiceError):
    """The service could not deliver the job's result: its reply was cut
    short (``-EIO``) or dropped because the reply ring stayed full
    (``-ENOBUFS``). A transient fault of the service, as the C client's
    policy counts it."""


def _client_code_map() -> dict[int, type[QshmError]]:
    # The codes are the C library's (qshm/client.h, through the cffi
    # declarations of _lib.py; tests/python/test_client.py checks each one
    # against qshm_client_strerror()).
    return {
        lib.QSHM_ECLOSED: ServiceGone,
        lib.QSHM_EPRODUCERDEAD: ServiceDead,
        lib.QSHM_EQUEUEFULL: QueueFull,
        lib.QSHM_ESERVICEDEAD: ServiceDead,
        lib.QSHM_ESERVICEGONE: ServiceGone,
        lib.QSHM_EREFUSED: Refused,
        lib.QSHM_EBREAKER: CircuitOpen,
        errno.EFBIG: TooManyQubits,
        errno.E2BIG: ResultTooBig,
        errno.ECANCELED: JobCancelled,
        errno.EIO: ReplyLost,
        errno.ENOBUFS: ReplyLost,
    }


_CLIENT_CODES = _client_code_map()


def client_error(code: int, message: str, verdict: bool = False
                 ) -> QshmError:
    """The exception for a negative code of libqshmclient, with the
    client's message (``qshm_client_error()``).

    ``verdict``: the code is the service's answer to a job or a
    registration (``qshm_client_wait*()``, ``qshm_client_register()``),
    where ``-EINVAL`` means the service could not run the circuit
    (CircuitError). Elsewhere the C client gives ``-EINVAL`` for its own
    argument checks (a parameter value that is not finite, a circuit not
    registered, an unknown job): InvalidArgument."""
    if -code == errno.EINVAL:
        cls: type[QshmError] = CircuitError if verdict else InvalidArgument
    else:
        cls = _CLIENT_CODES.get(-code) or _CODES.get(-code, QshmError)
    return cls(message or ffi.string(client_lib().qshm_client_strerror(
        code)).decode("utf-8", "replace"), code)
