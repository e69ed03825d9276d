#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Read a qshm ring from Python, in place, without the C library.

A read-only, lossy reader written from docs/protocol.md and docs/format.md
alone: it maps /dev/shm/qshm.NAME read-only (it never writes to the
segment), checks the header against the object's size, and follows the
records from the oldest one still in the ring. Payloads are numpy views of
the mapping (no copies); each view is validated after use against the
ring's head position, as the protocol's seqlock rule requires, so a record
the producer overwrote while it was being read is counted as lost, never
used.

Memory ordering: CPython gives no fences. On x86-64 (TSO: loads are not
reordered with loads, stores not with stores) reading a position, then the
bytes below it, then the head again is enough for a reader. On other
architectures use the C library.

    python3 tools/python/qshm_reader.py hist NAME    # counts as JSON
    python3 tools/python/qshm_reader.py info NAME    # header as JSON

Only rings owned by you or root are read; add --owner USER (a name or a
uid) after NAME to also trust that user's.
"""

import json
import mmap
import os
import platform
import pwd
import stat
import struct
import sys
import time

import numpy as np

MAGIC = 0x474E49524D485351
LAYOUT_X86_64 = 8 | (64 << 8) | (16 << 16) | (1 << 24)
FORMAT_MAJOR = 2
OFF_PROD, OFF_SLOTS = 256, 768
TYPE_PAD = 0
REC_RUN_BEGIN, REC_SHOTS, REC_PROBS, REC_STATE, REC_RUN_END, REC_ERROR = \
    range(0x100, 0x106)


class RingError(Exception):
    """The ring is missing, not a qshm ring, or fails validation."""


def _rec_size(length):
    return (16 + length + 15) & ~15


def _proc_start(pid):
    """Start time (clock ticks since boot) of a live process, else None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    if rest[0] in (b"Z", b"X", b"x"):
        return None
    return int(rest[19])


def _kind_of(mode):
    for test, what in ((stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISREG, "a regular file")):
        if test(mode):
            return what
    return "an object of unknown type"


def _kind(path):
    try:
        return _kind_of(os.lstat(path).st_mode)
    except OSError:
        return None


class Ring:
    """A read-only view of ring NAME."""

    def __init__(self, name, owner=None):
        self.name = name
        path = "/dev/shm/qshm." + name
        # /dev/shm is writable by everyone: what holds the name may be a
        # FIFO (a plain open would block for ever), a symbolic link, or a
        # ring forged by another user. Never block, never follow a link,
        # only regular files, only trusted owners.
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
                         | os.O_NOCTTY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise RingError("no ring named %r (%s)" % (name, path))
        except OSError as e:
            what = _kind(path)
            if what:
                raise RingError("%r is %s, not a qshm ring" % (name, what))
            raise RingError("open ring %r: %s" % (name, e.strerror))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise RingError("%r is %s, not a qshm ring"
                                % (name, _kind_of(st.st_mode)))
            if st.st_uid not in (os.geteuid(), 0, owner):
                raise RingError("ring %r is owned by uid %d, not by uid %d "
                                "or root: anyone who can write it may have "
                                "forged its contents (--owner UID allows "
                                "it)" % (name, st.st_uid, os.geteuid()))
            size = st.st_size
            if size < OFF_SLOTS + 4096:
                raise RingError("'%s' is %d bytes: not a qshm ring"
                                % (name, size))
            self.mm = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
        self._check(size)

    def _u64(self, off):
        return struct.unpack_from("<Q", self.mm, off)[0]

    def _check(self, size):
        (magic, major, minor, layout, state, hsize, seg_size, cap, maxrec,
         ncons, slot_size, off_prod, off_wake, off_stats, off_slots,
         off_data) = struct.unpack_from("<QHHIIIQQQIIQQQQQ", self.mm, 0)
        if state != 0x52454459:
            raise RingError("ring '%s' is still being created" % self.name)
        if magic != MAGIC:
            raise RingError("'%s' is not a qshm ring" % self.name)
        if major != FORMAT_MAJOR:
            raise RingError("ring '%s': reader knows format %d, segment is "
                            "%d.%d" % (self.name, FORMAT_MAJOR, major, minor))
        if layout != LAYOUT_X86_64 or platform.machine() != "x86_64":
            raise RingError("ring '%s': layout word 0x%08x; this reader "
                            "supports x86-64 only" % (self.name, layout))
        meta_size = self._u64(152)
        want_data = (OFF_SLOTS + ncons * 128 + 64 + meta_size + 4095) & ~4095
        if (hsize != 256 or slot_size != 128 or cap < 4096
                or cap & (cap - 1) or not 0 < maxrec <= cap // 2 - 64
                or not 0 < ncons <= 1024 or off_prod != OFF_PROD
                or off_slots != OFF_SLOTS or off_data != want_data
                or seg_size != off_data + cap or seg_size != size):
            raise RingError("ring '%s': header fails validation" % self.name)
        self.capacity, self.max_record, self.data = cap, maxrec, off_data
        self.version = "%d.%d" % (major, minor)
        self.creator_pid = struct.unpack_from("<i", self.mm, 104)[0]
        self.creator_start = self._u64(112)
        self.generation = self._u64(128)
        self.key = self._u64(136)

    # Positions, each read once (an aligned 8-byte load on x86-64).
    def write_pos(self):
        return self._u64(OFF_PROD)

    def head_pos(self):
        return self._u64(OFF_PROD + 8)

    def closed(self):
        return struct.unpack_from("<I", self.mm, OFF_PROD + 20)[0] != 0

    def producer_alive(self):
        return _proc_start(self.creator_pid) == self.creator_start

    def info(self):
        return {"name": self.name, "format": self.version,
                "capacity": self.capacity, "max_record": self.max_record,
                "generation": self.generation,
                "producer": {"pid": self.creator_pid,
                             "alive": self.producer_alive()},
                "closed": self.closed(), "write_pos": self.write_pos(),
                "oldest_pos": self.head_pos()}

    def records(self, poll=0.001):
        """Yields (type, seq, lost, pos, view): view is a memoryview of the
        payload in the mapping. After using a view, call valid(pos): if it
        says False the data must be discarded (and counts as lost)."""
        mask = self.capacity - 1
        pos = self.head_pos()
        expected = 0 if pos == 0 else None
        while True:
            wp = self.write_pos()
            if pos >= wp:
                if self.closed() or not self.producer_alive():
                    if pos >= self.write_pos():
                        return
                    continue
                time.sleep(poll)
                continue
            if wp - pos > self.capacity or pos < self.head_pos():
                pos = max(self.head_pos(), wp - self.capacity)
                continue
            if pos & 15:
                raise RingError("ring '%s': misaligned position %d"
                                % (self.name, pos))
            off = pos & mask
            length, rtype, _flags, word = struct.unpack_from(
                "<IHHQ", self.mm, self.data + off)
            if self.head_pos() > pos:      # header overwritten while read
                continue
            size = _rec_size(length)
            if rtype == TYPE_PAD:
                if off + size != self.capacity:
                    raise RingError("ring '%s': bad pad at %d"
                                    % (self.name, pos))
                pos += size
                continue
            if not 0 < length <= self.max_record or off + size > \
                    self.capacity or rtype < 16:
                raise RingError("ring '%s': bad record header at %d"
                                % (self.name, pos))
            seq = word ^ self.key
            lost = 0 if expected is None else seq - expected
            expected = seq + 1
            start = self.data + off + 16
            yield rtype, seq, lost, pos, \
                memoryview(self.mm)[start:start + length]
            pos += size

    def valid(self, pos):
        """True while the record at pos has not been overwritten."""
        return self.head_pos() <= pos


def outcome_string(bits_row, cregs):
    """Qiskit order: registers last-declared first, each c[n-1]..c[0]."""
    parts = []
    for size, first in reversed(cregs):
        s = []
        for i in range(size - 1, -1, -1):
            j = first + i
            s.append("1" if (int(bits_row[j // 64]) >> (j % 64)) & 1
                     else "0")
        parts.append("".join(s))
    return " ".join(parts)


def hist(ring):
    """Counts of the first complete run in the ring: (counts, lost)."""
    counts, cregs, wps, lost, done = {}, None, 1, 0, False
    for rtype, seq, rlost, pos, view in ring.records():
        lost += rlost
        if rtype == REC_RUN_BEGIN:
            h = struct.unpack_from("<IIQQQIIIIIIII", view, 0)
            ncregs, wps, creg_off = h[6], h[7], h[11]
            cregs = [struct.unpack_from("<II", view, creg_off + 16 * i)
                     for i in range(ncregs)]
            if not ring.valid(pos):
                raise RingError("RUN_BEGIN overwritten while read")
            counts = {}
        elif rtype == REC_SHOTS and cregs is not None:
            _first, count, w = struct.unpack_from("<QII", view, 0)
            if w != wps or 16 + 8 * count * w > len(view):
                raise RingError("bad SHOTS record at %d" % pos)
            shots = np.frombuffer(view, dtype="<u8", count=count * w,
                                  offset=16).reshape(count, w)
            rows, n = np.unique(shots, axis=0, return_counts=True)
            if not ring.valid(pos):       # overwritten while counted
                lost += 1
                continue
            for row, k in zip(rows, n):
                key = outcome_string(row, cregs)
                counts[key] = counts.get(key, 0) + int(k)
        elif rtype == REC_RUN_END and cregs is not None:
            done = True
            break
    return counts, lost, done


def main(argv):
    owner = None
    if len(argv) == 5 and argv[3] == "--owner":
        try:
            owner = int(argv[4])
        except ValueError:
            try:
                owner = pwd.getpwnam(argv[4]).pw_uid
            except KeyError:
                sys.stderr.write("qshm_reader: --owner: no user %r\n"
                                 % argv[4])
                return 2
        argv = argv[:3]
    if len(argv) != 3 or argv[1] not in ("hist", "info"):
        sys.stderr.write(__doc__)
        return 2
    try:
        ring = Ring(argv[2], owner)
        if argv[1] == "info":
            print(json.dumps(ring.info()))
            return 0
        counts, lost, done = hist(ring)
    except RingError as e:
        sys.stderr.write("qshm_reader: %s\n" % e)
        return 1
    if lost:
        sys.stderr.write("qshm_reader: %d records lost\n" % lost)
    if not done:
        sys.stderr.write("qshm_reader: ring %r: the run ended without "
                         "RUN_END (its producer died or stopped); counts "
                         "are partial\n" % argv[2])
    print(json.dumps({"counts": dict(sorted(counts.items()))}))
    return 0 if done and not lost else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
