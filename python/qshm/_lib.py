# SPDX-License-Identifier: MIT
"""Loading libqshm through cffi (ABI mode: no compiler needed).

The shared library is looked for, in order, at:

1. ``$QSHM_LIBRARY`` (a path to ``libqshm.so``);
2. ``$QSHM_BUILD_DIR/shm/libqshm.so`` (a meson build directory);
3. the library directory recorded when meson installed this package;
4. the dynamic linker's search path (``libqshm.so.0``, ``LD_LIBRARY_PATH``,
   ``ldconfig``), then ``/usr/local/lib``.
"""
from __future__ import annotations

import os
from typing import Any

import cffi

from . import _paths

CDEF = r"""
enum {
    QSHM_ENOTQSHM = 4096, QSHM_EVERSION, QSHM_ELAYOUT, QSHM_ECORRUPT,
    QSHM_ECREATING, QSHM_ESTALE, QSHM_ECLOSED, QSHM_EPRODUCERDEAD,
    QSHM_EOVERRUN, QSHM_EEVICTED, QSHM_ENOSLOT, QSHM_ETOOBIG
};

typedef struct qshm_producer qshm_producer;
typedef struct qshm_consumer qshm_consumer;
typedef struct qshm_waiter qshm_waiter;

struct qshm_create_opts {
    uint64_t capacity;
    uint64_t max_record;
    uint32_t max_consumers;
    uint32_t mode;
    uint32_t flags;
    uint32_t reserved;
};

struct qshm_record {
    const void *data;
    uint32_t len;
    uint16_t type;
    uint16_t flags;
    uint64_t seq;
    uint64_t lost;
    uint64_t pos;
};

struct qshm_consumer_stats {
    uint64_t records;
    uint64_t lost;
    uint64_t position;
    uint64_t generation;
};

struct qshm_producer_stats {
    uint64_t records, bytes, full_waits, wakes, evictions;
};

struct qshm_ring_info {
    int state;
    uint32_t format_major, format_minor;
    uint64_t size;
    uint64_t capacity, max_record;
    uint32_t max_consumers;
    int32_t creator_pid;
    int creator_alive;
    uint64_t creator_start;
    uint64_t created_ns;
    uint64_t generation;
    uint64_t write_pos, oldest_pos;
    uint32_t reliable_consumers, lossy_consumers;
};

int qshm_version(int *major, int *minor, int *patch);
const char *qshm_strerror(int err);
const char *qshm_last_error(void);
int qshm_name_check(const char *name);

int qshm_producer_create(const char *name, const struct qshm_create_opts *opts,
                         qshm_producer **out);
int qshm_producer_claim(qshm_producer *p, size_t len, uint16_t type,
                        int64_t timeout_ns, void **payload);
int qshm_producer_trim(qshm_producer *p, size_t len);
int qshm_producer_commit(qshm_producer *p);
int qshm_producer_publish(qshm_producer *p, uint16_t type, const void *data,
                          size_t len, int64_t timeout_ns);
uint64_t qshm_producer_max_record(qshm_producer *p);
int qshm_producer_consumers(qshm_producer *p);
int qshm_producer_wait_consumers(qshm_producer *p, int n, int64_t timeout_ns);
int qshm_producer_drain(qshm_producer *p, int64_t timeout_ns);
int qshm_producer_stats(qshm_producer *p, struct qshm_producer_stats *st);
int qshm_producer_close(qshm_producer *p, unsigned flags);

int qshm_consumer_attach(const char *name, unsigned flags, qshm_consumer **out);
int qshm_consumer_read(qshm_consumer *c, struct qshm_record *rec,
                       int64_t timeout_ns);
int qshm_consumer_release(qshm_consumer *c);
int qshm_consumer_validate(qshm_consumer *c, const struct qshm_record *rec);
int qshm_consumer_stats(qshm_consumer *c, struct qshm_consumer_stats *st);
int qshm_consumer_close(qshm_consumer *c);
int qshm_consumer_producer_pid(qshm_consumer *c);
int qshm_consumer_ring_info(qshm_consumer *c, struct qshm_ring_info *info);

int qshm_ring_info(const char *name, struct qshm_ring_info *info);
int qshm_unlink(const char *name);

int qshm_waiter_create(qshm_consumer *c, qshm_waiter **out);
int qshm_waiter_fd(const qshm_waiter *w);
int qshm_waiter_arm(qshm_waiter *w);
int qshm_waiter_disarm(qshm_waiter *w);
int qshm_waiter_close(qshm_waiter *w);
int qshm_consumer_mapping(qshm_consumer *c, const void **base, uint64_t *size);
"""

ffi = cffi.FFI()
ffi.cdef(CDEF)


def _candidates() -> list[str]:
    out: list[str] = []
    env = os.environ.get("QSHM_LIBRARY")
    if env:
        out.append(env)
    build = os.environ.get("QSHM_BUILD_DIR")
    if build:
        out.append(os.path.join(build, "shm", "libqshm.so"))
    if _paths.LIBDIR:
        out.append(os.path.join(_paths.LIBDIR, "libqshm.so.0"))
    out.append("libqshm.so.0")
    for d in ("/usr/local/lib", "/usr/local/lib/x86_64-linux-gnu",
              "/usr/local/lib64"):
        out.append(os.path.join(d, "libqshm.so.0"))
    return out


def _load() -> Any:
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: not found")
            continue
        try:
            return ffi.dlopen(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("qshm: cannot load libqshm (set QSHM_LIBRARY to the "
                      "path of libqshm.so); tried:\n  " + "\n  ".join(errors))


lib: Any = _load()
