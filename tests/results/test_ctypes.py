# SPDX-License-Identifier: MIT
"""libqshmresults bound from Python with ctypes alone (no compiler, no
callbacks): describe a run, encode its RUN_BEGIN, decode it, count shots
and list them as outcome strings; a malformed record gives -EBADMSG and a
message. Usage: test_ctypes.py PATH/libqshmresults.so"""
import ctypes as C
import errno
import sys

lib = C.CDLL(sys.argv[1])


class DescCreg(C.Structure):
    _fields_ = [("name", C.c_char_p), ("size", C.c_uint32),
                ("reserved", C.c_uint32)]


class Desc(C.Structure):
    _fields_ = [("name", C.c_char_p), ("nqubits", C.c_uint32),
                ("options", C.c_uint32), ("shots", C.c_uint64),
                ("seed", C.c_uint64), ("circuit_hash", C.c_uint64),
                ("run", C.c_uint32), ("ncregs", C.c_uint32),
                ("cregs", C.POINTER(DescCreg))]


class Entry(C.Structure):
    _fields_ = [("outcome", C.c_char_p), ("count", C.c_uint64),
                ("words", C.POINTER(C.c_uint64))]


lib.qshm_results_last_error.restype = C.c_char_p
lib.qshm_run_name.restype = C.c_char_p
lib.qshm_counts_distinct.restype = C.c_uint64

regs = (DescCreg * 2)(DescCreg(b"a", 2, 0), DescCreg(b"b", 1, 0))
d = Desc(b"ab.qasm", 3, 0, 100, 7, 0, 1, 2, regs)
n = lib.qshm_run_begin_encode(C.byref(d), None, C.c_size_t(0))
buf = (C.c_uint64 * ((n + 7) // 8))()      # 8-byte aligned
assert lib.qshm_run_begin_encode(C.byref(d), buf, C.c_size_t(n)) == n

run = C.c_void_p()
assert lib.qshm_run_decode(buf, C.c_size_t(n), C.byref(run)) == 0
assert lib.qshm_run_name(run) == b"ab.qasm"

k = C.c_void_p()
assert lib.qshm_counts_new(C.c_uint32(1), C.byref(k)) == 0
shots = (C.c_uint64 * 4)(5, 1, 5, 2)       # a[0]=1,b[0]=1; a[0]=1; ...
assert lib.qshm_counts_add(k, shots, C.c_size_t(4)) == 0
assert lib.qshm_counts_distinct(k) == 3
entries = C.POINTER(Entry)()
count = C.c_size_t()
assert lib.qshm_counts_list(k, run, C.c_uint(0), C.c_size_t(0),
                            C.byref(entries), C.byref(count)) == 0
got = {entries[i].outcome.decode(): entries[i].count
       for i in range(count.value)}
assert got == {"0 01": 1, "0 10": 1, "1 01": 2}, got
lib.qshm_counts_list_free(entries)

# A RUN_BEGIN cut short is refused with a message, not a crash.
bad = C.c_void_p()
assert lib.qshm_run_decode(buf, C.c_size_t(n - 1), C.byref(bad)) == -errno.EBADMSG
assert b"past the end" in lib.qshm_results_last_error()

lib.qshm_counts_free(k)
lib.qshm_run_free(run)
print("ok: libqshmresults from ctypes:", got)
