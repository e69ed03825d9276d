# SPDX-License-Identifier: MIT
"""The client of a running simulator service (``qshm serve NAME``).

A :class:`Client` submits OpenQASM 2.0 jobs to the service through the C
client (libqshmclient, ``qshm/client.h``: per-client request and reply
rings, docs/service.md) and awaits their counts::

    client = qshm.Client("sim1")
    res = await client.run(qasm, shots=1000, seed=7, timeout=5.0)
    res.counts                     # {"00": 503, "11": 497}
    res = client.run_sync(qasm, shots=1000, seed=7)

Under asyncio nothing blocks the event loop: while jobs are pending the
client watches one file descriptor with ``loop.add_reader``, a libqshm
waiter (``qshm_waiter_*``) on the client's reply ring, readable when the
service publishes a reply (the ring's own futex wake-up) or when the
service process dies (its pidfd). Cancelling the awaiting task cancels the
job in the service. Retries with exponential backoff and jitter
(:class:`Retry`) and a circuit breaker (:class:`CircuitBreaker`) are off
unless given.
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
# An armed wait also wakes after this long and looks again: a safety net
# under the waiter's pidfd poll (as the asyncio consumer's).
_SAFETY_S = 1.0
# run_sync() waits in slices this long, so that a signal (Ctrl-C) is
# handled between them; a reply ends a slice at once.
_SYNC_SLICE_NS = 200_000_000
# How long the client lets the C client notice a dead service (its reply
# ring's pidfd is already readable then: this is an upper bound).
_DEAD_NOTICE_NS = 50_000_000
_RING_STALE = 2          # enum qshm_ring_state: QSHM_RING_STALE
_MAX_SHOTS = 1 << 40


@dataclass(frozen=True)
class Result:
    """A job's result: ``counts`` maps each outcome string (as ``qshm sim
    --counts`` writes it, OpenQASM order) to its count, in string order;
    ``sim_ns`` is the simulator's own time for the job."""

    job: int
    shots: int
    sim_ns: int
    counts: dict[str, int]


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
    the connection, and again after the service died or stopped. One
    client serves any number of concurrent :meth:`run` calls of one event
    loop; it is not thread-safe (use one per thread).

    ``retry``: a :class:`Retry` policy for every job (default: none);
    ``breaker``: a :class:`CircuitBreaker` (default: none).
    """

    def __init__(self, name: str, *, connect_timeout: float = 5.0,
                 retry: Retry | None = None,
                 breaker: CircuitBreaker | None = None) -> None:
        self.name = name
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.breaker = breaker
        self._clib = client_lib()
        self._cl: Any = None
        self._rep: Any = None             # the reply ring's consumer
        self._waiter: Any = None
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._armed = False
        self._safety: asyncio.TimerHandle | None = None
        self._soon: asyncio.Handle | None = None
        self._pending: dict[int, asyncio.Future[Result]] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._orphans: set[int] = set()   # cancelled, reply not read yet
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.waits = 0                    # times the loop waited on the fd

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
        item = ffi.new("struct qshm_pollitem *")
        self._clib.qshm_client_pollitem(cl, item)
        self._cl = cl
        self._rep = item.c

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

    def _drop_connection(self) -> None:
        """Closes the C client (its rings) and the waiter; the next job
        connects again."""
        self._unwatch()
        if self._waiter is not None:
            lib.qshm_waiter_close(self._waiter)
            self._waiter = None
            self._fd = -1
        if self._cl is not None:
            self._clib.qshm_client_close(self._cl)
            self._cl = None
            self._rep = None
        self._orphans.clear()

    def close(self) -> None:
        """Closes the connection: the service drops this client's queued
        jobs; run() calls still waiting fail with :class:`qshm.Closed`.
        Idempotent."""
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

    # -- one job, in C ---------------------------------------------------

    def _error(self, rc: int) -> QshmError:
        msg = ffi.string(self._clib.qshm_client_error(self._cl)).decode(
            "utf-8", "replace") if self._cl is not None else ""
        return client_error(rc, msg)

    def _submit(self, text: bytes, shots: int, seed: int,
                timeout: float | None) -> int:
        if not 1 <= shots <= _MAX_SHOTS:
            raise InvalidArgument(f"shots must be 1 .. 2^40, not {shots}")
        if timeout is not None and timeout <= 0:
            raise InvalidArgument(f"timeout must be > 0 or None, not "
                                  f"{timeout}")
        spec = ffi.new("struct qshm_job_spec *")
        spec.shots = shots
        spec.seed = seed
        spec.deadline_ns = -1 if timeout is None else int(timeout * _NS)
        job = ffi.new("uint64_t *")
        rc = self._clib.qshm_client_submit(self._cl, text, len(text), spec,
                                           job)
        if rc:
            raise self._error(rc)
        return int(job[0])

    def _take(self, job: int, timeout_ns: int) -> Result:
        """qshm_client_wait(): the result, or its error raised."""
        out = ffi.new("struct qshm_job_result **")
        rc = self._clib.qshm_client_wait(self._cl, job, timeout_ns, out)
        if rc:
            raise self._error(rc)
        r = out[0]
        try:
            counts = {ffi.string(e.outcome).decode(): int(e.count)
                      for e in (r.entries[i] for i in range(r.n))}
            return Result(job=int(r.job), shots=int(r.shots),
                          sim_ns=int(r.sim_ns), counts=counts)
        finally:
            self._clib.qshm_job_result_free(r)

    def _known(self, job: int) -> bool:
        """Whether the C client still holds the job (not taken, not
        forgotten at its deadline)."""
        return self._cl is not None and \
            self._clib.qshm_client_ready(self._cl, job) >= 0

    def _abandon(self, job: int) -> None:
        """The caller gave up on job: cancel it in the service; its reply
        is read and dropped when it comes."""
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
                        self._take(job, 0)
                    except QshmError:
                        pass

    # -- run, synchronously ----------------------------------------------

    def _run_once_sync(self, text: bytes, shots: int, seed: int,
                       timeout: float | None) -> Result:
        self.connect()
        self._clib.qshm_client_process(self._cl)
        self._reap_orphans()
        try:
            job = self._submit(text, shots, seed, timeout)
        except (ServiceDead, ServiceGone):
            self._drop_connection()
            raise
        try:
            while True:
                try:
                    return self._take(job, _SYNC_SLICE_NS)
                except Timeout:
                    if not self._known(job):
                        raise          # its deadline passed
        except (ServiceDead, ServiceGone):
            self._drop_connection()
            raise
        except BaseException:
            self._abandon(job)         # KeyboardInterrupt and the like
            raise

    def run_sync(self, circuit: str | bytes | os.PathLike[str], *,
                 shots: int = 1024, seed: int | None = None,
                 timeout: float | None = None,
                 retry: Retry | bool | None = None) -> Result:
        """As :meth:`run`, blocking the calling thread (not for use inside
        a running event loop; use ``await run()`` there)."""
        text = _circuit_bytes(circuit)
        seed = random.getrandbits(63) if seed is None else seed
        policy = self._policy(retry)
        attempt = 0
        while True:
            if self.breaker is not None:
                self.breaker.allow()
            try:
                res = self._run_once_sync(text, shots, seed, timeout)
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

    def _policy(self, retry: Retry | bool | None) -> Retry | None:
        if retry is None or retry is True:
            return self.retry
        if retry is False:
            return None
        return retry

    # -- run, under asyncio ----------------------------------------------

    async def run(self, circuit: str | bytes | os.PathLike[str], *,
                  shots: int = 1024, seed: int | None = None,
                  timeout: float | None = None,
                  retry: Retry | bool | None = None) -> Result:
        """Runs circuit (OpenQASM 2.0 text, bytes, or a path) on the
        service and returns its :class:`Result`.

        ``seed``: the same circuit and seed give the counts of ``qshm sim
        FILE --shots N --seed S --counts``; None draws one (kept across
        retries). ``timeout``: seconds; the job's deadline in the service
        (which then drops it) and here (:class:`qshm.Timeout`); None: none.
        ``retry``: a :class:`Retry` for this call, False for none, None for
        the client's. Cancelling the awaiting task cancels the job.

        Errors (all :class:`qshm.QshmError`): ServiceNotFound, ServiceDead,
        ServiceGone, QueueFull, Refused, CircuitError (the service's
        ``job:LINE:COL`` message), TooManyQubits, ResultTooBig, Timeout,
        CircuitOpen, TooBig (circuit text too long for the service).
        """
        text = _circuit_bytes(circuit)
        seed = random.getrandbits(63) if seed is None else seed
        policy = self._policy(retry)
        attempt = 0
        while True:
            if self.breaker is not None:
                self.breaker.allow()
            try:
                res = await self._run_once(text, shots, seed, timeout)
            except asyncio.CancelledError:
                if self.breaker is not None:
                    self.breaker.release()
                raise
            except QshmError as e:
                if self.breaker is not None:
                    self.breaker.failure(e)
                if policy is None or not policy.retries(e, attempt):
                    raise
                await asyncio.sleep(policy.delay(attempt))
                attempt += 1
                continue
            if self.breaker is not None:
                self.breaker.success()
            return res

    async def _run_once(self, text: bytes, shots: int, seed: int,
                        timeout: float | None) -> Result:
        await self.connect_async()
        loop = asyncio.get_running_loop()
        try:
            job = self._submit(text, shots, seed, timeout)
        except (ServiceDead, ServiceGone):
            self._drop_connection()
            raise
        fut: asyncio.Future[Result] = loop.create_future()
        self._pending[job] = fut
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
            raise

    def _resolve(self, job: int, res: Result) -> None:
        fut = self._pending.pop(job, None)
        t = self._timers.pop(job, None)
        if t is not None:
            t.cancel()
        if fut is not None and not fut.done():
            fut.set_result(res)

    def _reject(self, job: int, exc: BaseException) -> None:
        fut = self._pending.pop(job, None)
        t = self._timers.pop(job, None)
        if t is not None:
            t.cancel()
        if fut is not None and not fut.done():
            fut.set_exception(exc)

    def _finish(self, job: int, timeout_ns: int = 0) -> None:
        try:
            res = self._take(job, timeout_ns)
        except QshmError as e:
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
        try:
            res = self._take(job, 0)
        except Timeout as e:
            if self._known(job) and self._loop is not None:
                self._timers[job] = self._loop.call_later(
                    0.001, self._expire, job)
                return
            self._reject(job, e)
        except QshmError as e:
            self._reject(job, e)
        else:
            self._resolve(job, res)
        self._after_wake()

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:
            self._unwatch()
            self._loop = loop
        if not (self._armed or self._soon is not None):
            self._arm()

    def _unwatch(self) -> None:
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        if self._safety is not None:
            self._safety.cancel()
            self._safety = None
        if self._armed:
            self._armed = False
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
            if self._waiter is not None:
                lib.qshm_waiter_disarm(self._waiter)

    def _arm(self) -> None:
        loop = self._loop
        assert loop is not None and self._cl is not None
        if self._waiter is None:
            out = ffi.new("qshm_waiter **")
            rc = lib.qshm_waiter_create(self._rep, out)
            if rc:
                raise client_error(rc, f"service '{self.name}': waiter on "
                                   f"the reply ring")
            self._waiter = out[0]
            self._fd = lib.qshm_waiter_fd(self._waiter)
        rc = lib.qshm_waiter_arm(self._waiter)
        if rc == 1:
            self._armed = True
            self.waits += 1
            loop.add_reader(self._fd, self._on_wake)
            self._safety = loop.call_later(_SAFETY_S, self._on_wake)
        else:
            # 0: a reply is there; < 0: the ring ended (the C client
            # reports how), or no io_uring futex waits (-ENOSYS).
            self._soon = loop.call_soon(self._on_wake, rc if rc < 0
                                        else None)

    def _service_dead(self) -> bool:
        info = ffi.new("struct qshm_ring_info *")
        if lib.qshm_consumer_ring_info(self._rep, info):
            return False
        return info.state == _RING_STALE or not info.creator_alive

    def _on_wake(self, end: int | None = None) -> None:
        self._unwatch()
        if self._cl is None:
            return
        self._clib.qshm_client_process(self._cl)
        done = 0
        for job in list(self._pending):
            if self._clib.qshm_client_ready(self._cl, job) == 1:
                self._finish(job)
                done += 1
        if end == -errno.ENOSYS:
            for job in list(self._pending):
                self._reject(job, client_error(end, "qshm.Client under "
                                               "asyncio needs io_uring "
                                               "futex waits (Linux 6.7+)"))
        elif self._pending and (end is not None or
                                (done == 0 and self._service_dead())):
            # The service is gone: the C client notices at once now (the
            # pidfd is ready), or within its liveness interval.
            for job in list(self._pending):
                if not self._known(job):
                    continue
                self._finish(job, _DEAD_NOTICE_NS)
                if job in self._pending:
                    self._reject(job, ServiceDead(
                        f"service '{self.name}': its process died", -4353))
        self._after_wake()

    def _after_wake(self) -> None:
        self._reap_orphans()
        if self._cl is None:
            return
        # Negative only when the connection is over and the C client holds
        # no job (every pending one was answered with how it ended).
        if self._clib.qshm_client_process(self._cl) < 0:
            self._drop_connection()
            return
        if (self._pending or self._orphans) and not self._armed and \
                self._soon is None:
            self._arm()


__all__ = ["CircuitBreaker", "Client", "Result", "Retry", "SERVICE_FAULTS"]
