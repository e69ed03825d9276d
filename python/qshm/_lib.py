# SPDX-License-Identifier: MIT
"""Loading libqshm (the rings), libqshmresults (the results codec) and,
on first use, libqshmclient (the client of `qshm serve`) through cffi, in
ABI mode: no compiler needed at install.

Each shared library is looked for, in order, at:

1. ``$QSHM_LIBRARY`` / ``$QSHM_RESULTS_LIBRARY`` /
   ``$QSHM_CLIENT_LIBRARY`` (a path to the .so);
2. ``$QSHM_BUILD_DIR/shm/libqshm.so``, ``$QSHM_BUILD_DIR/results/
   libqshmresults.so``, ``$QSHM_BUILD_DIR/service/libqshmclient.so`` (a
   meson build directory);
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
    QSHM_EOVERRUN, QSHM_EEVICTED, QSHM_ENOSLOT, QSHM_ETOOBIG,
    QSHM_ETRUNCATED
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
    uint32_t meta_size;
};

struct qshm_record {
    const void *data;
    uint32_t len;
    uint16_t type;
    uint16_t item_len;
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
    uint64_t meta_size;
    uint64_t meta_len;
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
int qshm_producer_claim_batch(qshm_producer *p, uint32_t count,
                              uint32_t item_len, uint16_t type,
                              int64_t timeout_ns, void **items);
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
int qshm_allow_owner(long uid);
int qshm_unlink(const char *name);

int qshm_waiter_create(qshm_consumer *c, qshm_waiter **out);
int qshm_waiter_fd(const qshm_waiter *w);
int qshm_waiter_arm(qshm_waiter *w);
int qshm_waiter_disarm(qshm_waiter *w);
int qshm_waiter_close(qshm_waiter *w);
int qshm_consumer_mapping(qshm_consumer *c, const void **base, uint64_t *size);
"""

# libqshmresults (include/qshm/results.h) and the wire structs of
# include/qshm/format.h that the package fills in place.
RESULTS_CDEF = r"""
struct qshm_run_begin {
    uint32_t version; uint32_t nqubits; uint64_t shots; uint64_t seed;
    uint64_t circuit_hash; uint32_t nclbits; uint32_t ncregs;
    uint32_t words_per_shot; uint32_t options; uint32_t name_off;
    uint32_t name_len; uint32_t creg_off; uint32_t run;
};
struct qshm_shots { uint64_t first_shot; uint32_t count;
                    uint32_t words_per_shot; };
struct qshm_chunk { uint32_t nqubits; uint32_t reserved; uint64_t first;
                    uint64_t count; uint64_t total; };
struct qshm_run_end { uint32_t status; uint32_t reserved; uint64_t shots;
                      uint64_t elapsed_ns; uint64_t sim_ns; };
struct qshm_run_meta { uint32_t magic; uint32_t version; uint64_t run;
                       uint64_t begin_seq; uint64_t end_seq;
                       uint32_t begin_len; uint32_t status;
                       uint64_t shots_done; };

int qshm_results_version(int *major, int *minor, int *patch, int *format);
const char *qshm_results_last_error(void);

typedef struct qshm_run qshm_run;
struct qshm_run_creg_info {
    uint32_t size; uint32_t first_bit; const char *name; uint32_t name_len;
    uint32_t reserved;
};
int qshm_run_decode(const void *data, size_t len, qshm_run **out);
void qshm_run_free(qshm_run *run);
int qshm_run_header(const qshm_run *run, struct qshm_run_begin *out);
const char *qshm_run_name(const qshm_run *run);
uint32_t qshm_run_ncregs(const qshm_run *run);
uint32_t qshm_run_words_per_shot(const qshm_run *run);
int qshm_run_creg(const qshm_run *run, uint32_t index,
                  struct qshm_run_creg_info *out);
int qshm_run_payload(const qshm_run *run, const void **data, size_t *len);
size_t qshm_run_outcome_size(const qshm_run *run);
int qshm_run_outcome(const qshm_run *run, const uint64_t *words,
                     size_t nwords, char *buf, size_t size);

struct qshm_run_desc_creg { const char *name; uint32_t size;
                            uint32_t reserved; };
struct qshm_run_desc {
    const char *name; uint32_t nqubits; uint32_t options; uint64_t shots;
    uint64_t seed; uint64_t circuit_hash; uint32_t run; uint32_t ncregs;
    const struct qshm_run_desc_creg *cregs;
};
int qshm_run_begin_encode(const struct qshm_run_desc *d, void *buf,
                          size_t size);

struct qshm_shots_view {
    uint64_t first_shot; uint32_t count; uint32_t words_per_shot;
    const uint64_t *words;
};
uint32_t qshm_shots_per_record(uint64_t max_record, uint32_t words_per_shot);
struct qshm_vector_view {
    uint32_t type; uint32_t nqubits; uint64_t first; uint64_t count;
    uint64_t total; const double *values;
};
struct qshm_error_view { int32_t code; uint32_t len; const char *text; };
int qshm_error_encode(int32_t code, const char *msg, size_t msglen,
                      void *buf, size_t size);
int qshm_run_meta_encode(const struct qshm_run_meta *hdr, const void *begin,
                         size_t begin_len, void *buf, size_t size);

typedef struct qshm_counts qshm_counts;
int qshm_counts_new(uint32_t words_per_shot, qshm_counts **out);
void qshm_counts_free(qshm_counts *k);
int qshm_counts_add(qshm_counts *k, const uint64_t *words, size_t nshots);
uint64_t qshm_counts_distinct(const qshm_counts *k);
uint64_t qshm_counts_total(const qshm_counts *k);
int64_t qshm_counts_export(const qshm_counts *k, uint64_t *keys,
                           uint64_t *counts, size_t max);
struct qshm_count_entry { const char *outcome; uint64_t count;
                          const uint64_t *words; };
int qshm_counts_list(const qshm_counts *k, const qshm_run *run,
                     unsigned order, size_t max,
                     struct qshm_count_entry **out, size_t *n);
void qshm_counts_list_free(struct qshm_count_entry *list);

typedef struct qshm_decoder qshm_decoder;
struct qshm_decoded {
    uint32_t kind; uint32_t skip; uint64_t seq; const qshm_run *run;
    uint32_t words_per_shot; uint32_t new_run;
    struct qshm_shots_view shots;
    struct qshm_vector_view vector;
    struct qshm_error_view error;
    struct qshm_run_end end;
};
struct qshm_progress {
    uint64_t run; uint64_t shots; uint64_t first_shot; uint64_t next_shot;
    uint64_t shots_seen; uint64_t shots_missed; uint64_t records_skipped;
    uint64_t shots_delivered; uint32_t have_run; uint32_t ended;
    uint32_t status; uint32_t from_begin;
};
int qshm_decoder_progress(const qshm_decoder *d, struct qshm_progress *out);
const char *qshm_run_status_name(uint32_t status);
int qshm_decoder_new(qshm_decoder **out);
void qshm_decoder_free(qshm_decoder *d);
int qshm_decoder_meta(qshm_decoder *d, const void *data, size_t len);
int qshm_decoder_record(qshm_decoder *d, uint32_t type, uint64_t seq,
                        const void *data, size_t len,
                        struct qshm_decoded *out);
"""

# Format 2 rings' descriptor blob (the run descriptor), libqshm 0.2.
META_CDEF = r"""
int qshm_producer_set_meta(qshm_producer *p, const void *data, size_t len);
int qshm_consumer_meta(qshm_consumer *c, void *buf, size_t size,
                       uint64_t *version);
"""

# libqshmclient (include/qshm/client.h): the client of `qshm serve`, and
# libqshm's qshm_poll item that it hands out for event loops.
CLIENT_CDEF = r"""
#define QSHM_POLL_DATA 1
#define QSHM_POLL_FD 2
struct qshm_pollitem {
    qshm_consumer *c;
    int fd;
    unsigned revents;
};
int qshm_poll(struct qshm_pollitem *items, unsigned n, int64_t timeout_ns);

enum {
    QSHM_EQUEUEFULL = 4352, QSHM_ESERVICEDEAD, QSHM_ESERVICEGONE,
    QSHM_EREFUSED, QSHM_EBREAKER
};

typedef struct qshm_client qshm_client;
struct qshm_job_spec {
    uint64_t shots;
    uint64_t seed;
    int64_t deadline_ns;
    uint32_t flags;
    uint32_t reserved;
};
struct qshm_job_entry { const char *outcome; uint64_t count; };
struct qshm_job_result {
    uint64_t job;
    uint64_t shots;
    uint64_t sim_ns;
    size_t n;
    struct qshm_job_entry *entries;
};

int qshm_client_connect(const char *name, int64_t timeout_ns,
                        qshm_client **out);
int qshm_client_submit(qshm_client *cl, const char *qasm, size_t len,
                       const struct qshm_job_spec *spec, uint64_t *job);
int qshm_client_wait(qshm_client *cl, uint64_t job, int64_t timeout_ns,
                     struct qshm_job_result **out);
void qshm_job_result_free(struct qshm_job_result *r);
int qshm_client_cancel(qshm_client *cl, uint64_t job);
int qshm_client_pollitem(qshm_client *cl, struct qshm_pollitem *item);
int qshm_client_process(qshm_client *cl);
int qshm_client_ready(qshm_client *cl, uint64_t job);
int qshm_client_alive(qshm_client *cl);
const char *qshm_client_error(const qshm_client *cl);
const char *qshm_client_strerror(int err);
int qshm_client_close(qshm_client *cl);

int qshm_client_register(qshm_client *cl, const char *qasm, size_t len,
                         int64_t timeout_ns, uint64_t *circuit);
struct qshm_circuit_info {
    uint32_t nqubits;
    uint32_t nclbits;
    uint32_t nparams;
    uint32_t reserved;
    const char *const *param_names;
};
int qshm_client_circuit_info(qshm_client *cl, uint64_t circuit,
                             struct qshm_circuit_info *out);
int qshm_client_unregister(qshm_client *cl, uint64_t circuit);

#define QSHM_WANT_COUNTS 0x01
#define QSHM_WANT_SHOTS 0x02
#define QSHM_WANT_PROBS 0x04
#define QSHM_WANT_STATE 0x08
#define QSHM_WANT_EXPECT 0x10
#define QSHM_WANT_COPY 0x100
#define QSHM_WANT_NO_RETRY 0x200

struct qshm_run_spec {
    uint64_t shots;
    uint64_t seed;
    int64_t deadline_ns;
    uint32_t want;
    uint32_t nparams;
    const double *params;
    uint32_t nexpect;
    uint32_t reserved;
    const uint64_t *expect;
};
int qshm_client_submit_circuit(qshm_client *cl, uint64_t circuit,
                               const struct qshm_run_spec *spec,
                               uint64_t *job);
int qshm_client_submit_qasm(qshm_client *cl, const char *qasm, size_t len,
                            const struct qshm_run_spec *spec, uint64_t *job);

struct qshm_job_view {
    uint64_t job;
    uint64_t shots;
    uint64_t sim_ns;
    uint32_t want;
    uint32_t in_place;
    uint32_t nqubits;
    uint32_t words_per_shot;
    size_t ncounts;
    const struct qshm_job_entry *counts;
    const uint64_t *shot_words;
    const double *probs;
    uint64_t nprobs;
    const double *state;
    uint64_t namps;
    size_t nexpect;
    const uint64_t *expect_masks;
    const double *expect;
    const void *run;
};
int qshm_client_wait_view(qshm_client *cl, uint64_t job, int64_t timeout_ns,
                          const struct qshm_job_view **out);
int qshm_client_view_release(qshm_client *cl,
                             const struct qshm_job_view *view);
int qshm_client_fd(qshm_client *cl);
"""

# The SIGBUS guard for rings truncated under their mapping, libqshm 0.2.
GUARD_CDEF = r"""
int qshm_install_sigbus_guard(void);
"""

ffi = cffi.FFI()
ffi.cdef(CDEF)
ffi.cdef(RESULTS_CDEF)
ffi.cdef(META_CDEF)
ffi.cdef(CLIENT_CDEF)
ffi.cdef(GUARD_CDEF)


def _candidates(env_var: str, subdir: str, soname: str) -> list[str]:
    out: list[str] = []
    env = os.environ.get(env_var)
    if env:
        out.append(env)
    build = os.environ.get("QSHM_BUILD_DIR")
    if build:
        out.append(os.path.join(build, subdir, soname))
    if _paths.LIBDIR:
        out.append(os.path.join(_paths.LIBDIR, soname))
    out.append(soname)
    for d in ("/usr/local/lib", "/usr/local/lib/x86_64-linux-gnu",
              "/usr/local/lib64"):
        out.append(os.path.join(d, soname))
    return out


def _load(env_var: str, subdir: str, soname: str) -> Any:
    errors = []
    for path in _candidates(env_var, subdir, soname):
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: not found")
            continue
        try:
            return ffi.dlopen(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError(f"qshm: cannot load {soname} (set {env_var} to its "
                      f"path); tried:\n  " + "\n  ".join(errors))


lib: Any = _load("QSHM_LIBRARY", "shm", "libqshm.so.0")
rlib: Any = _load("QSHM_RESULTS_LIBRARY", "results", "libqshmresults.so.0")


_clib: Any = None


def client_lib() -> Any:
    """libqshmclient, loaded on first use (``import qshm`` does not need
    it); ImportError, listing what was tried, when it is not found."""
    global _clib
    if _clib is None:
        _clib = _load("QSHM_CLIENT_LIBRARY", "service", "libqshmclient.so.0")
    return _clib


def _install_guard() -> None:
    """Installs libqshm's SIGBUS guard (qshm_install_sigbus_guard()): a
    ring truncated under this process then raises Truncated from the next
    call on its consumer or producer instead of killing the interpreter.
    It chains to any SIGBUS handler installed before (faulthandler's);
    QSHM_NO_SIGBUS_GUARD=1 leaves SIGBUS alone."""
    if os.environ.get("QSHM_NO_SIGBUS_GUARD") == "1":
        return
    try:
        install = lib.qshm_install_sigbus_guard
    except AttributeError:
        return  # an older libqshm
    install()


_install_guard()


def has_meta() -> bool:
    """Whether the loaded libqshm has the metadata blob (format 2)."""
    try:
        lib.qshm_consumer_meta
        lib.qshm_producer_set_meta
    except AttributeError:
        return False
    return True
