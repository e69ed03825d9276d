# SPDX-License-Identifier: MIT
"""The client of a running simulator service (``qshm serve NAME``).

A :class:`Client` submits OpenQASM 2.0 jobs to the service through the C
client (libqshmclient, ``qshm/client.h``: per-client request and reply
rings, docs/service.md) and awaits their counts::

    client = qshm.Client("sim1")
    res = await client.run(qasm, shots=1000, seed=7, timeout=5.0)
    res.counts                     # {"00": 503, "11": 497}
    res = client.run_sync(qasm, shots=1000, seed=7)

Circuits registered once run many times with new parameter values
(:meth:`Client.register`); results come back as counts and, on request,
as numpy arrays (shots, probabilities, state, Pauli-Z expectations), copied
or read in place from the reply ring.

Under asyncio nothing blocks the event loop: while jobs are pending the
client watches a descriptor with ``loop.add_reader``: by default a libqshm
waiter on the client's reply ring (``qshm_waiter_*``, through
``qshm_client_pollitem()``), readable when the service publishes a reply
(the ring's own futex wake-up, through an io_uring wait) or when the
service process dies (its pidfd); with ``wake="fd"`` the C client's own
descriptor (``qshm_client_fd()``). Cancelling the awaiting task cancels the
job in the service. Retries with exponential backoff and jitter
(:class:`Retry`) and a circuit breaker (:class:`CircuitBreaker`) are off
unless given; they are the Python client's own (asyncio sleeps), and the
C client's policy (``qshm_client_connect_opts()``) is not used.
"""
from __future__ import annotations

import asyncio
import errno
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ._lib import client_lib, ffi, lib
from .errors import (CircuitOpen, Closed, InvalidArgument, QshmError,
                     QueueFull, ServiceDead, ServiceGone, ServiceNotFound,
                     Timeout, client_error)

_NS = 1_000_000_000
# While jobs are pending the loop also looks every this long: a safety
# net under the descriptor (as the asyncio consumer's).
_SAFETY_S = 1.0
# run_sync() waits in slices this long, so that a signal (Ctrl-C) is
# handled between them; a reply ends a slice at once.
_SYNC_SLICE_NS = 200_000_000
# How long the C client may take to notice a dead service once its pidfd
# is ready (it returns at once then; this bounds it).
_DEAD_NOTICE_NS = 50_000_000
_MAX_SHOTS = 1 << 40


_WANTS = {"counts": 0x01, "shots": 0x02, "probs": 0x04, "state": 0x08,
          "expect": 0x10}


class Result:
    """A job's result.

    ``counts``: outcome string (as ``qshm sim --counts`` writes it) to
    count, in string order (None unless counts were asked); ``shots``:
    shots run; ``sim_ns``: the simulator's own time for the job. The other
    kinds, when asked (``want=``), are numpy arrays: ``shot_words``
    ``(shots, words_per_shot)`` uint64, each shot's outcome packed as the
    SHOTS records of docs/format.md (global classical bit j is bit j % 64
    of word j // 64); ``probs`` float64 (basis state i: bit q is qubit q);
    ``state`` complex128 amplitudes; ``expect`` float64, ``<Z...Z>`` of
    each mask in ``expect_masks``.

    By default the arrays are copies and the result holds nothing of the
    service's. With ``run(..., view=True)`` they are read-only views of
    the reply ring where the service wrote them (``in_place`` names
    those; larger arrays are assembled by the C client): then the client
    reads no further reply until :meth:`release` (or the end of a
    ``with`` block), and the arrays must not be used after it.
    """

    __slots__ = ("job", "shots", "sim_ns", "nqubits", "want", "counts",
                 "shot_words", "probs", "state", "expect", "expect_masks",
                 "in_place", "_release")

    def __init__(self, job: int, shots: int, sim_ns: int,
                 counts: dict[str, int] | None, **kw: Any) -> None:
        self.job = job
        self.shots = shots
        self.sim_ns = sim_ns
        self.counts = counts
        self.nqubits: int = kw.get("nqubits", 0)
        self.want: frozenset[str] = kw.get("want", frozenset({"counts"}))
        self.shot_words: Any = kw.get("shot_words")
        self.probs: Any = kw.get("probs")
        self.state: Any = kw.get("state")
        self.expect: Any = kw.get("expect")
        self.expect_masks: tuple[int, ...] = kw.get("expect_masks", ())
        self.in_place: frozenset[str] = kw.get("in_place", frozenset())
        self._release: Callable[[], None] | None = kw.get("release")

    def release(self) -> None:
        """Gives the view back (a no-op for copies). Idempotent."""
        r, self._release = self._release, None
        if r is not None:
            for k in ("shot_words", "probs", "state", "expect"):
                setattr(self, k, None)
            r()

    def __enter__(self) -> "Result":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        # A view dropped without release() would hold the client's
        # replies back for good.
        try:
            self.release()
        except Exception:
            pass

    def __repr__(self) -> str:
        return (f"Result(job={self.job}, shots={self.shots}, "
                f"sim_ns={self.sim_ns}, want={sorted(self.want)}, "
                f"counts={self.counts})")


class Circuit:
    """A circuit registered with a client's service (:meth:`Client.register`):
    parsed once by the service; each run binds new parameter values.
    ``params`` are its parameter names in declaration order."""

    def __init__(self, client: "Client", text: bytes) -> None:
        self.client = client
        self.text = text
        self.nqubits = 0
        self.nclbits = 0
        self.params: tuple[str, ...] = ()
        self._id = 0
        self._gen = -1          # the client connection it is registered on

    def values(self, params: Any) -> list[float]:
        """The values in declaration order, from a sequence or a mapping
        of name to value."""
        if params is None:
            params = ()
        if hasattr(params, "keys"):
            missing = [n for n in self.params if n not in params]
            extra = [n for n in params if n not in self.params]
            if missing or extra:
                raise InvalidArgument(
                    f"parameters: missing {missing}, unknown {extra} (the "
                    f"circuit declares {list(self.params)})")
            return [float(params[n]) for n in self.params]
        vals = [float(v) for v in params]
        if len(vals) != len(self.params):
            raise InvalidArgument(f"{len(vals)} parameter values for "
                                  f"{len(self.params)} parameters "
                                  f"{list(self.params)}")
        return vals

    def __repr__(self) -> str:
        return (f"Circuit(id={self._id}, nqubits={self.nqubits}, "
                f"params={self.params})")


def _wants(want: str | Any, expect: Any) -> tuple[int, frozenset[str]]:
    names = {want} if isinstance(want, str) else set(want)
    if expect is not None:
        names.add("expect")
    bad = names - _WANTS.keys()
    if bad or not names:
        raise InvalidArgument(f"want: {sorted(bad) or 'nothing'}; takes "
                              f"{sorted(_WANTS)}")
    bits = 0
    for n in names:
        bits |= _WANTS[n]
    return bits, frozenset(names)


def _masks(expect: Any) -> list[int]:
    """Pauli-Z strings: an int mask (bit q: Z on qubit q) or an iterable
    of qubit indices, each."""
    out = []
    for e in expect or ():
        if isinstance(e, int):
            m = e
        else:
            m = 0
            for q in e:
                m |= 1 << int(q)
        if not 0 <= m < 1 << 64:
            raise InvalidArgument(f"expect: bad qubit mask {e!r}")
        out.append(m)
    return out


# Errors that say the service is unhealthy or unreachable (what retries
# and the circuit breaker react to), as opposed to a bad job.
SERVICE_FAULTS: tuple[type[QshmError], ...] = (
    ServiceDead, ServiceGone, QueueFull, ServiceNotFound)


@dataclass
class Retry:
    """Retries of a job that failed for a reason of the service's.

    A retry submits the same circuit, shots and seed again, so it gives the
    same counts as the first try would have; but the job may have run
    already (a service killed after its run, before its reply), so it costs
    a run, and the job must be one that may run twice. Retries are off
    unless a policy is given.

    attempts: tries in all (1: no retry). The delay before retry ``k``
    (0, 1, ...) is ``d = min(max_delay, base * factor**k)`` less a uniform
    random part of up to ``jitter * d`` ("full jitter" for jitter=1), so
    that clients failing together do not come back together. ``on``: the
    exception classes retried (by default the service's faults; add
    :class:`qshm.Timeout` to retry jobs whose deadline passed).
    """

    attempts: int = 3
    base: float = 0.05
    factor: float = 2.0
    max_delay: float = 2.0
    jitter: float = 1.0
    on: tuple[type[BaseException], ...] = SERVICE_FAULTS
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.factor < 1 or \
                self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise InvalidArgument("Retry: attempts >= 1, base >= 0, "
                                  "factor >= 1, max_delay >= 0, "
                                  "0 <= jitter <= 1")

    def retries(self, exc: BaseException, attempt: int) -> bool:
        """Whether try ``attempt`` (0 = the first) that failed with exc is
        tried again."""
        return attempt + 1 < self.attempts and isinstance(exc, self.on)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0 = the first)."""
        d = min(self.max_delay, self.base * self.factor ** attempt)
        return d - self.rng.uniform(0.0, self.jitter * d)


class CircuitBreaker:
    """Stops sending jobs to a service that keeps failing.

    Closed (normal) until ``failures`` jobs in a row fail with one of
    ``on`` (the service's faults and timeouts); then open: every job fails
    at once with :class:`qshm.CircuitOpen` for ``reset`` seconds; then
    half-open: one job is let through as a trial; its success closes the
    breaker, its failure opens it again. A job that fails for a reason of
    its own (a bad circuit) does not count either way. One breaker may be
    shared by several clients (of one thread).
    """

    def __init__(self, failures: int = 5, reset: float = 5.0, *,
                 on: tuple[type[BaseException], ...] = SERVICE_FAULTS
                 + (Timeout,),
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1 or reset < 0:
            raise InvalidArgument("CircuitBreaker: failures >= 1, "
                                  "reset >= 0")
        self.failures = failures
        self.reset = reset
        self.on = on
        self._clock = clock
        self._count = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"``."""
        if self._opened_at is None:
            return "closed"
        if self._trial or self._clock() - self._opened_at >= self.reset:
            return "half-open"
        return "open"

    def allow(self) -> None:
        """Raises CircuitOpen unless a job may go now."""
        if self._opened_at is None:
            return
        left = self._opened_at + self.reset - self._clock()
        if left > 0:
            raise CircuitOpen(f"circuit breaker open after {self._count} "
                              f"failures in a row; next trial in "
                              f"{left:.3g} s", 0)
        if self._trial:
            raise CircuitOpen("circuit breaker half-open: a trial job is "
                              "in flight", 0)
        self._trial = True

    def success(self) -> None:
        self._count = 0
        self._opened_at = None
        self._trial = False

    def failure(self, exc: BaseException) -> None:
        if not isinstance(exc, self.on):
            self._trial = False     # no news about the service
            return
        self._count += 1
        if self._trial or self._count >= self.failures:
            self._opened_at = self._clock()
        self._trial = False

    def release(self) -> None:
        """A job let through ended without a verdict (cancelled)."""
        self._trial = False


def _circuit_bytes(circuit: str | bytes | os.PathLike[str]) -> bytes:
    if isinstance(circuit, bytes):
        return circuit
    if isinstance(circuit, str):
        return circuit.encode()
    with open(circuit, "rb") as f:
        return f.read()


class Client:
    """A connection to service ``name`` (``qshm serve NAME``).

    It connects on first use (or :meth:`connect` / ``async with``), waiting
    up to ``connect_timeout`` seconds for the service to appear and take
    the connection, and again after the service died or stopped
    (circuits registered through it are registered again then). One
    client serves any number of concurrent :meth:`run` calls of one event
    loop; it is not thread-safe (use one per thread).

    ``retry``: a :class:`Retry` policy for every job (default: none);
    ``breaker``: a :class:`CircuitBreaker` (default: none). ``wake``: what
    the event loop watches: ``"waiter"`` (default), a libqshm waiter on
    the reply ring (``qshm_waiter_*``); ``"fd"``, the C client's
    descriptor (``qshm_client_fd()``) (figures in docs/python.md).
    ``spin``: seconds :meth:`run` waits for the reply in C right after it
    sends a job, when no other job of this client is in flight, before it
    yields to the event loop (default 20e-6; 0: never). A small job is
    often answered within it (the service runs small jobs at once on its
    main thread), which saves the event loop's wake-up; otherwise it
    holds the loop that long.
    """

    def __init__(self, name: str, *, connect_timeout: float = 5.0,
                 retry: Retry | None = None,
                 breaker: CircuitBreaker | None = None,
                 wake: str = "waiter", spin: float = 20e-6) -> None:
        if wake not in ("waiter", "fd"):
            raise InvalidArgument("wake must be 'waiter' or 'fd'")
        if not 0 <= spin <= 0.01:
            raise InvalidArgument("spin must be 0 .. 0.01 seconds")
        self.spin = spin
        self.wake = wake
        self._waiter: Any = None
        self._rep: Any = None
        self._armed = False
        self._soon: asyncio.Handle | None = None
        self.name = name
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.breaker = breaker
        self._clib = client_lib()
        self._lib = lib
        self._cl: Any = None
        self._gen = 0                     # connections made so far
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = False
        self._safety: asyncio.TimerHandle | None = None
        self._pending: dict[int, asyncio.Future[Result]] = {}
        self._want: dict[int, tuple[frozenset[str], bool]] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._orphans: set[int] = set()   # cancelled, reply not read yet
        self._views = 0                   # views held in place
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._conn_over = False           # the C client's connection ended
        self.wakeups = 0                  # times the loop woke on the fd

    # -- connection --------------------------------------------------------

    def _connect_blocking(self) -> tuple[Any, int, str]:
        """Connects (in whatever thread calls it): (handle, 0, "") or
        (NULL, code, message). A service not there yet (no control ring)
        is waited for up to connect_timeout."""
        out = ffi.new("qshm_client **")
        end = time.monotonic() + self.connect_timeout
        while True:
            left = max(end - time.monotonic(), 0.0)
            rc = self._clib.qshm_client_connect(self.name.encode(),
                                                int(left * _NS), out)
            if rc == 0:
                return out[0], 0, ""
            # The message is thread-local: read it in this thread.
            msg = ffi.string(self._clib.qshm_client_error(ffi.NULL)).decode(
                "utf-8", "replace")
            if rc != -errno.ENOENT or time.monotonic() >= end:
                return ffi.NULL, rc, msg
            time.sleep(0.01)

    def _adopt(self, res: tuple[Any, int, str]) -> None:
        cl, rc, msg = res
        if rc:
            if rc == -errno.ENOENT:
                raise ServiceNotFound(
                    f"{msg} (waited {self.connect_timeout:g} s)", rc)
            raise client_error(rc, msg or f"connect to '{self.name}'")
        self._cl = cl
        self._gen += 1

    def connect(self) -> "Client":
        """Connects now if not connected (blocking)."""
        if self._closed:
            raise Closed(f"client of '{self.name}' is closed", 0)
        if self._cl is None:
            self._adopt(self._connect_blocking())
        return self

    async def connect_async(self) -> "Client":
        """Connects now if not connected; the wait is done in the loop's
        default executor, not in the loop."""
        if self._closed:
            raise Closed(f"client of '{self.name}' is closed", 0)
        if self._cl is not None:
            return self
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        async with self._lock:
            if self._cl is None:
                res = await loop.run_in_executor(None,
                                                 self._connect_blocking)
                if self._closed:
                    if res[0] != ffi.NULL:
                        self._clib.qshm_client_close(res[0])
                    raise Closed(f"client of '{self.name}' is closed", 0)
                self._adopt(res)
        return self

    @property
    def connected(self) -> bool:
        return self._cl is not None

    @property
    def pending(self) -> int:
        """Jobs submitted by run() and not yet answered."""
        return len(self._pending)

    def fileno(self) -> int:
        """The descriptor the event loop watches (the waiter's, or
        ``qshm_client_fd()`` with ``wake="fd"``): readable when a reply may
        be there or the service ended; -1 before the first asyncio job of a
        connection."""
        return self._fd

    def _drop_connection(self) -> None:
        """Closes the C client (its rings and descriptor); the next job
        connects again."""
        self._unwatch()
        if self._waiter is not None:
            self._lib.qshm_waiter_close(self._waiter)
            self._waiter = None
            self._rep = None
        self._fd = -1
        if self._cl is not None:
            self._clib.qshm_client_close(self._cl)
            self._cl = None
        self._orphans.clear()
        self._views = 0
        self._conn_over = False

    def close(self) -> None:
        """Closes the connection: the service drops this client's queued
        jobs; run() calls still waiting fail with :class:`qshm.Closed`;
        views still held end. Idempotent."""
        self._closed = True
        for job in list(self._pending):
            self._reject(job, Closed(f"client of '{self.name}' closed "
                                     f"while job {job} was pending", 0))
        self._drop_connection()

    def __enter__(self) -> "Client":
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Client":
        return await self.connect_async()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- registered circuits ---------------------------------------------

    def register(self, circuit: str | bytes | os.PathLike[str], *,
                 timeout: float | None = None) -> Circuit:
        """Registers an OpenQASM 2.0 circuit, which may declare parameters
        (``param theta, phi;``, docs/service.md), with the service: it is
        parsed once there; each :meth:`run` of the returned
        :class:`Circuit` sends only the parameter values. Waits for the
        service's answer (one round trip, up to ``timeout`` or the connect
        timeout), also under asyncio, so register before the loop's hot
        path. A circuit that does not parse raises CircuitError with the
        front end's ``circuit:LINE:COL`` message."""
        c = Circuit(self, _circuit_bytes(circuit))
        self._register(c, timeout)
        return c

    def _register(self, c: Circuit, timeout: float | None = None) -> None:
        self.connect()
        t = self.connect_timeout if timeout is None else timeout
        cid = ffi.new("uint64_t *")
        rc = self._clib.qshm_client_register(self._cl, c.text, len(c.text),
                                             int(t * _NS), cid)
        if rc:
            e = self._error(rc)
            if isinstance(e, (ServiceDead, ServiceGone)):
                self._drop_connection()
            raise e
        info = ffi.new("struct qshm_circuit_info *")
        rc = self._clib.qshm_client_circuit_info(self._cl, cid[0], info)
        if rc:
            raise self._error(rc)
        c._id = int(cid[0])
        c._gen = self._gen
        c.nqubits = int(info.nqubits)
        c.nclbits = int(info.nclbits)
        c.params = tuple(ffi.string(info.param_names[i]).decode()
                         for i in range(info.nparams))

    def unregister(self, circuit: Circuit) -> None:
        """Forgets a registered circuit here and in the service."""
        if circuit._gen == self._gen and self._cl is not None:
            self._clib.qshm_client_unregister(self._cl, circuit._id)
        circuit._gen = -1

    # -- one job, in C ---------------------------------------------------

    def _error(self, rc: int) -> QshmError:
        msg = ffi.string(self._clib.qshm_client_error(self._cl)).decode(
            "utf-8", "replace") if self._cl is not None else ""
        return client_error(rc, msg)

    def _submit(self, circuit: bytes | Circuit, shots: int, seed: int,
                timeout: float | None, params: Any, want: int,
                expect: list[int]) -> int:
        if not (want & 0x03 and 1 <= shots <= _MAX_SHOTS or
                not want & 0x03 and 0 <= shots <= _MAX_SHOTS):
            raise InvalidArgument(f"shots must be 1 .. 2^40, not {shots}")
        if timeout is not None and timeout <= 0:
            raise InvalidArgument(f"timeout must be > 0 or None, not "
                                  f"{timeout}")
        if isinstance(circuit, Circuit):
            if circuit.client is not self:
                raise InvalidArgument("the circuit is registered with "
                                      "another client")
            values = circuit.values(params)
            if circuit._gen != self._gen:
                self._register(circuit)   # after a reconnection
        else:
            values = [float(v) for v in (params or ())]
        spec = ffi.new("struct qshm_run_spec *")
        spec.shots = shots
        spec.seed = seed
        spec.deadline_ns = -1 if timeout is None else int(timeout * _NS)
        spec.want = want
        keep = []
        if values:
            keep.append(ffi.new("double[]", values))
            spec.nparams = len(values)
            spec.params = keep[-1]
        if expect:
            keep.append(ffi.new("uint64_t[]", expect))
            spec.nexpect = len(expect)
            spec.expect = keep[-1]
        job = ffi.new("uint64_t *")
        if isinstance(circuit, Circuit):
            rc = self._clib.qshm_client_submit_circuit(self._cl, circuit._id,
                                                       spec, job)
        else:
            rc = self._clib.qshm_client_submit_qasm(self._cl, circuit,
                                                    len(circuit), spec, job)
        if rc:
            raise self._error(rc)
        return int(job[0])

    def _take(self, job: int, timeout_ns: int, names: frozenset[str],
              view: bool) -> Result:
        """qshm_client_wait_view(): the result (arrays copied, or views
        held until release()), or its error raised."""
        out = ffi.new("const struct qshm_job_view **")
        rc = self._clib.qshm_client_wait_view(self._cl, job, timeout_ns, out)
        if rc:
            raise self._error(rc)
        v = out[0]
        try:
            res = self._result(v, names, view)
        except BaseException:
            self._clib.qshm_client_view_release(self._cl, v)
            raise
        if not view:
            self._clib.qshm_client_view_release(self._cl, v)
        return res

    def _result(self, v: Any, names: frozenset[str], view: bool) -> Result:
        import numpy as np

        def arr(ptr: Any, n: int, dtype: Any, nbytes: int) -> Any:
            if ptr == ffi.NULL or n == 0:
                return np.empty(0, dtype=dtype)
            a = np.frombuffer(ffi.buffer(ptr, nbytes), dtype=dtype)
            if view:
                a.flags.writeable = False
                return a
            return a.copy()

        kw: dict[str, Any] = {"nqubits": int(v.nqubits), "want": names}
        counts = None
        w = int(v.want)
        if w & 0x01:
            counts = {ffi.string(v.counts[i].outcome).decode():
                      int(v.counts[i].count) for i in range(v.ncounts)}
        if w & 0x02:
            wps = int(v.words_per_shot)
            n = int(v.shots) * wps
            kw["shot_words"] = arr(v.shot_words, n, np.uint64,
                                   8 * n).reshape(int(v.shots), wps)
        if w & 0x04:
            kw["probs"] = arr(v.probs, int(v.nprobs), np.float64,
                              8 * int(v.nprobs))
        if w & 0x08:
            kw["state"] = arr(v.state, int(v.namps), np.complex128,
                              16 * int(v.namps))
        if w & 0x10:
            kw["expect"] = arr(v.expect, int(v.nexpect), np.float64,
                               8 * int(v.nexpect))
            kw["expect_masks"] = tuple(int(v.expect_masks[i])
                                       for i in range(v.nexpect))
        inp = int(v.in_place)
        kw["in_place"] = frozenset(k for k, b in (("shots", 0x02),
                                                  ("probs", 0x04),
                                                  ("state", 0x08))
                                   if inp & b and view)
        if view:
            self._views += 1
            gen = self._gen

            def release() -> None:
                if self._cl is not None and self._gen == gen:
                    self._clib.qshm_client_view_release(self._cl, v)
                    self._views -= 1
                    # Replies held back behind the view: read them now.
                    if self._reading and self._loop is not None and \
                            self._soon is None:
                        self._soon = self._loop.call_soon(self._on_wake)
            kw["release"] = release
        return Result(int(v.job), int(v.shots), int(v.sim_ns), counts, **kw)

    def _known(self, job: int) -> bool:
        """Whether the C client still holds the job (not taken, not
        forgotten at its deadline)."""
        return self._cl is not None and \
            self._clib.qshm_client_ready(self._cl, job) >= 0

    def _abandon(self, job: int) -> None:
        """The caller gave up on job: cancel it in the service; its reply
        is read and dropped when it comes."""
        self._want.pop(job, None)
        if self._known(job):
            self._clib.qshm_client_cancel(self._cl, job)
            self._orphans.add(job)

    def _reap_orphans(self) -> None:
        for job in list(self._orphans):
            if self._cl is None or \
                    self._clib.qshm_client_ready(self._cl, job) != 0:
                self._orphans.discard(job)
                if self._known(job):
                    try:
                        self._take(job, 0, frozenset(), False)
                    except QshmError:
                        pass

    def _policy(self, retry: Retry | bool | None) -> Retry | None:
        if retry is None or retry is True:
            return self.retry
        if retry is False:
            return None
        return retry

    def _job_args(self, circuit: Any, seed: int | None, want: Any,
                  expect: Any, view: bool) -> tuple[Any, int, int,
                                                    frozenset[str],
                                                    list[int]]:
        c = circuit if isinstance(circuit, Circuit) else \
            _circuit_bytes(circuit)
        bits, names = _wants(want, expect)
        s = random.getrandbits(63) if seed is None else seed
        return c, s, bits, names, _masks(expect)

    # -- run, synchronously ----------------------------------------------

    def _run_once_sync(self, c: Any, shots: int, seed: int,
                       timeout: float | None, params: Any, bits: int,
                       names: frozenset[str], masks: list[int],
                       view: bool) -> Result:
        self.connect()
        self._clib.qshm_client_process(self._cl)
        self._reap_orphans()
        try:
            job = self._submit(c, shots, seed, timeout, params, bits, masks)
        except (ServiceDead, ServiceGone):
            self._drop_connection()
            raise
        try:
            while True:
                try:
                    return self._take(job, _SYNC_SLICE_NS, names, view)
                except Timeout:
                    if not self._known(job):
                        raise          # its deadline passed
        except (ServiceDead, ServiceGone):
            self._drop_connection()
            raise
        except BaseException:
            self._abandon(job)         # KeyboardInterrupt and the like
            raise

    def run_sync(self, circuit: str | bytes | os.PathLike[str] | Circuit, *,
                 shots: int = 1024, seed: int | None = None,
                 params: Any = None, want: Any = "counts",
                 expect: Any = None, timeout: float | None = None,
                 view: bool = False,
                 retry: Retry | bool | None = None) -> Result:
        """As :meth:`run`, blocking the calling thread (not for use inside
        a running event loop; use ``await run()`` there)."""
        c, seed, bits, names, masks = self._job_args(circuit, seed, want,
                                                     expect, view)
        policy = self._policy(retry)
        attempt = 0
        while True:
            if self.breaker is not None:
                self.breaker.allow()
            try:
                res = self._run_once_sync(c, shots, seed, timeout, params,
                                          bits, names, masks, view)
            except BaseException as e:
                if self.breaker is not None:
                    if isinstance(e, QshmError):
                        self.breaker.failure(e)
                    else:
                        self.breaker.release()
                if policy is None or not isinstance(e, QshmError) or \
                        not policy.retries(e, attempt):
                    raise
                time.sleep(policy.delay(attempt))
                attempt += 1
                continue
            if self.breaker is not None:
                self.breaker.success()
            return res

    # -- run, under asyncio ----------------------------------------------

    async def run(self, circuit: str | bytes | os.PathLike[str] | Circuit,
                  *, shots: int = 1024, seed: int | None = None,
                  params: Any = None, want: Any = "counts",
                  expect: Any = None, timeout: float | None = None,
                  view: bool = False,
                  retry: Retry | bool | None = None) -> Result:
        """Runs circuit on the service and returns its :class:`Result`.

        ``circuit``: OpenQASM 2.0 text, bytes, a path, or a registered
        :class:`Circuit`. ``params``: parameter values, in declaration
        order or as a mapping of name to value. ``want``: what to return,
        one or several of ``"counts"`` (the default), ``"shots"``,
        ``"probs"``, ``"state"``, ``"expect"``; ``expect``: Pauli-Z strings
        (each an int mask, bit q for qubit q, or a list of qubits), implies
        ``"expect"``. ``seed``: the same circuit, values and seed give the
        same shots, and the counts of ``qshm sim FILE --shots N --seed S
        --counts`` for a text job; None draws one (kept across retries).
        ``timeout``: seconds; the job's deadline in the service (which then
        drops it) and here (:class:`qshm.Timeout`); None: none. ``view``:
        arrays read in place (see :class:`Result`). ``retry``: a
        :class:`Retry` for this call, False for none, None for the
        client's. Cancelling the awaiting task cancels the job.

        Errors (all :class:`qshm.QshmError`): ServiceNotFound, ServiceDead,
        ServiceGone, QueueFull, Refused, CircuitError (the service's
        ``job:LINE:COL`` message), TooManyQubits, ResultTooBig, Timeout,
        CircuitOpen, TooBig (circuit text too long for the service),
        InvalidArgument.
        """
        c, seed, bits, names, masks = self._job_args(circuit, seed, want,
                                                     expect, view)
        policy = self._policy(retry)
        attempt = 0
        while True:
            if self.breaker is not None:
                self.breaker.allow()
            try:
                res = await self._run_once(c, shots, seed, timeout, params,
                                           bits, names, masks, view)
            except QshmError as e:
                if self.breaker is not None:
                    self.breaker.failure(e)
                if policy is None or not policy.retries(e, attempt):
                    raise
                await asyncio.sleep(policy.delay(attempt))
                attempt += 1
                continue
            except BaseException:
                # Cancelled, or not the service's doing (a bad parameter
                # value): the trial slot goes back, as in run_sync().
                if self.breaker is not None:
                    self.breaker.release()
                raise
            if self.breaker is not None:
                self.breaker.success()
            return res

    async def _run_once(self, c: Any, shots: int, seed: int,
                        timeout: float | None, params: Any, bits: int,
                        names: frozenset[str], masks: list[int],
                        view: bool) -> Result:
        await self.connect_async()
        loop = asyncio.get_running_loop()
        try:
            job = self._submit(c, shots, seed, timeout, params, bits, masks)
        except (ServiceDead, ServiceGone):
            self._drop_connection()
            raise
        spin_ns = int(self.spin * _NS)
        if spin_ns and not self._pending and not self._armed and \
                not self._views and not self._orphans:
            # Nothing else in flight, nothing armed on the reply ring: wait
            # for this reply briefly in C. A Timeout only says "not yet"
            # (the job stays with the C client, and the loop waits on).
            try:
                return self._take(job, spin_ns, names, view)
            except Timeout:
                if not self._known(job):
                    raise
            except (ServiceDead, ServiceGone):
                self._drop_connection()
                raise
        fut: asyncio.Future[Result] = loop.create_future()
        self._pending[job] = fut
        self._want[job] = (names, view)
        if timeout is not None:
            self._timers[job] = loop.call_later(timeout, self._expire, job)
        self._watch(loop)
        try:
            return await fut
        except asyncio.CancelledError:
            if self._pending.pop(job, None) is not None:
                t = self._timers.pop(job, None)
                if t is not None:
                    t.cancel()
                self._abandon(job)
            elif fut.done() and not fut.cancelled() and \
                    fut.exception() is None:
                fut.result().release()   # taken, never handed over
            raise

    def _resolve(self, job: int, res: Result) -> None:
        fut = self._pending.pop(job, None)
        self._want.pop(job, None)
        t = self._timers.pop(job, None)
        if t is not None:
            t.cancel()
        if fut is not None and not fut.done():
            fut.set_result(res)
        else:
            res.release()

    def _reject(self, job: int, exc: BaseException) -> None:
        if isinstance(exc, (ServiceDead, ServiceGone)):
            self._conn_over = True
        fut = self._pending.pop(job, None)
        self._want.pop(job, None)
        t = self._timers.pop(job, None)
        if t is not None:
            t.cancel()
        if fut is not None and not fut.done():
            fut.set_exception(exc)

    def _finish(self, job: int) -> None:
        names, view = self._want.get(job, (frozenset({"counts"}), False))
        try:
            res = self._take(job, 0, names, view)
        except QshmError as e:
            if e.code == -errno.EBUSY:
                return                 # behind a view held: later
            self._reject(job, e)
        else:
            self._resolve(job, res)

    def _expire(self, job: int) -> None:
        """The job's deadline (timer): the C client forgets it and says
        -ETIMEDOUT; a timer a hair early is set again."""
        self._timers.pop(job, None)
        if job not in self._pending or self._cl is None:
            return
        self._clib.qshm_client_process(self._cl)
        names, view = self._want.get(job, (frozenset({"counts"}), False))
        try:
            res = self._take(job, 0, names, view)
        except Timeout as e:
            if self._known(job) and self._loop is not None:
                self._timers[job] = self._loop.call_later(
                    0.001, self._expire, job)
                return
            self._reject(job, e)
        except QshmError as e:
            if e.code == -errno.EBUSY and self._loop is not None:
                self._timers[job] = self._loop.call_later(
                    0.001, self._expire, job)
                return
            self._reject(job, e)
        else:
            self._resolve(job, res)
        self._after()

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:
            self._unwatch()
            self._loop = loop
        if self._reading:
            if self._safety is None:
                self._safety = loop.call_later(_SAFETY_S, self._on_safety)
            if self.wake == "waiter" and not self._armed and \
                    self._soon is None:
                self._arm()
            return
        if self._fd < 0:
            if self.wake == "waiter":
                fd = self._new_waiter()
            else:
                fd = self._clib.qshm_client_fd(self._cl)
            if fd < 0:
                e = self._error(fd)
                for job in list(self._pending):
                    self._reject(job, e)
                return
            self._fd = fd
        # The descriptor stays in the loop for the connection's life (added
        # and removed for every job, it woke late).
        loop.add_reader(self._fd, self._on_wake)
        self._reading = True
        self._safety = loop.call_later(_SAFETY_S, self._on_safety)
        # A reply read by an earlier call (a sync one, a cancel) leaves
        # nothing on the descriptor: look once now.
        self._soon = loop.call_soon(self._on_wake)

    def _new_waiter(self) -> int:
        item = ffi.new("struct qshm_pollitem *")
        self._clib.qshm_client_pollitem(self._cl, item)
        out = ffi.new("qshm_waiter **")
        rc = self._lib.qshm_waiter_create(item.c, out)
        if rc:
            return rc
        self._rep = item.c
        self._waiter = out[0]
        return self._lib.qshm_waiter_fd(self._waiter)

    def _arm(self) -> None:
        """Waiter: arms it (the descriptor becomes readable on a reply or
        the service's death), or looks at once when a reply is there."""
        if self._views or self._loop is None:
            return      # nothing is read while a view is held: release()
        rc = self._lib.qshm_waiter_arm(self._waiter)
        if rc == 1:
            self._armed = True
        else:
            # 0: a reply is there; < 0: the ring ended (the C client
            # reports how when it reads).
            self._soon = self._loop.call_soon(self._on_wake, rc < 0)

    def _unwatch(self) -> None:
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        if self._safety is not None:
            self._safety.cancel()
            self._safety = None
        if self._armed:
            self._armed = False
            self._lib.qshm_waiter_disarm(self._waiter)
        if self._reading:
            self._reading = False
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._fd)

    def _on_safety(self) -> None:
        self._safety = None
        if self._reading and self._loop is not None:
            self._safety = self._loop.call_later(_SAFETY_S, self._on_safety)
            self._on_wake()

    def _service_dead(self) -> bool:
        """Waiter: whether the reply ring's producer (the service) died;
        the C client notices by itself only at its ring's next liveness
        check."""
        info = ffi.new("struct qshm_ring_info *")
        if self._rep is None or \
                self._lib.qshm_consumer_ring_info(self._rep, info):
            return False
        return info.state == 2 or not info.creator_alive  # 2: stale

    def _on_wake(self, ended: bool = False) -> None:
        self._soon = None
        if self._cl is None or not self._reading:
            return
        self.wakeups += 1
        if self._armed:
            self._armed = False
            self._lib.qshm_waiter_disarm(self._waiter)
        # Negative only when the connection is over and the C client holds
        # no job; with jobs, each one's wait reports how it ended.
        if self._clib.qshm_client_process(self._cl) < 0:
            self._conn_over = True
        done = 0
        for job in list(self._pending):
            if self._clib.qshm_client_ready(self._cl, job) == 1:
                self._finish(job)
                done += 1
        if self.wake == "waiter" and self._pending and not done and \
                (ended or self._service_dead()):
            # The service died: let the C client see it (its pidfd is
            # ready: this returns at once), then fail what is left.
            for job in list(self._pending):
                if not self._known(job):
                    continue
                names, view = self._want.get(job, (frozenset(), False))
                try:
                    res = self._take(job, _DEAD_NOTICE_NS, names, view)
                except Timeout:
                    self._reject(job, ServiceDead(
                        f"service '{self.name}': its process died",
                        -4353))
                except QshmError as e:
                    self._reject(job, e)
                else:
                    self._resolve(job, res)
        self._after()

    def _after(self) -> None:
        self._reap_orphans()
        if self._cl is None:
            return
        if self._conn_over and not self._pending and not self._views:
            self._drop_connection()
            return
        if not self._pending and not self._orphans:
            if self._safety is not None:
                self._safety.cancel()
                self._safety = None
        elif self.wake == "waiter" and self._reading and not self._armed \
                and self._soon is None:
            self._arm()


__all__ = ["Circuit", "CircuitBreaker", "Client", "Result", "Retry",
           "SERVICE_FAULTS"]
