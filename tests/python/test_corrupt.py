# SPDX-License-Identifier: MIT
"""Hostile segments and records: clear exceptions (qshm.Corrupt and its
kin) with the library's message, never a traceback from inside the
package. The damaged segments are those of tests/tools/test_damaged.sh."""
from __future__ import annotations

import os
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qshm
from conftest import Rings

# Segment offsets (docs/protocol.md): format major at 8, capacity at 32;
# with 64 consumer slots and the default 4 KiB descriptor the data area
# starts at 16384.
OFF_MAJOR, OFF_CAPACITY, OFF_DATA = 8, 32, 16384


def closed_run(name: str) -> None:
    """A closed ring holding one small run (two registers)."""
    qshm.publish_run(name, shots=np.arange(100, dtype=np.uint64) % 8,
                     registers=[("a", 2), ("b", 1)], nqubits=3)


def poke(name: str, offset: int, value: int, width: int = 8) -> None:
    with open(f"/dev/shm/qshm.{name}", "r+b") as f:
        f.seek(offset)
        f.write(value.to_bytes(width, "little"))


def test_intact_ring_reads(rings: Rings) -> None:
    name = rings.name()
    closed_run(name)
    assert sum(qshm.counts(name).values()) == 100


def test_bad_capacity_is_corrupt(rings: Rings) -> None:
    name = rings.name()
    closed_run(name)
    poke(name, OFF_CAPACITY, 12345)
    with pytest.raises(qshm.Corrupt) as e:
        qshm.Consumer(name).open()
    assert name in str(e.value) and "12345" in str(e.value)
    assert e.value.code == -qshm._lib.QSHM_ECORRUPT


def test_other_format_major_is_a_version_mismatch(rings: Rings) -> None:
    name = rings.name()
    closed_run(name)
    poke(name, OFF_MAJOR, 1, 2)   # format 1, the one before
    with pytest.raises(qshm.VersionMismatch) as e:
        qshm.counts(name)
    assert name in str(e.value)


def test_truncated_ring_is_corrupt(rings: Rings) -> None:
    name = rings.name()
    closed_run(name)
    os.truncate(f"/dev/shm/qshm.{name}", 6000)
    with pytest.raises(qshm.Corrupt):
        qshm.Consumer(name).open()


def test_foreign_object_is_not_qshm(rings: Rings) -> None:
    name = rings.name()
    with open(f"/dev/shm/qshm.{name}", "wb") as f:
        f.write(b"not a ring, just text. " * 400)
    with pytest.raises(qshm.NotQshm):
        qshm.Consumer(name).open()


def test_bad_record_length_is_corrupt(rings: Rings) -> None:
    name = rings.name()
    closed_run(name)
    poke(name, OFF_DATA, 0xfffffff0, 4)   # the first record's length
    with pytest.raises(qshm.Corrupt) as e:
        with qshm.Consumer(name) as c:
            for _ in c:
                pass
    assert name in str(e.value)


def test_register_table_past_the_record_is_corrupt(rings: Rings) -> None:
    """A RUN_BEGIN whose register table points past the record: the
    codec's message, as qshm.Corrupt."""
    name = rings.name()
    good = qshm._results.encode_run_begin(
        name="x", nqubits=2, shots=4, seed=0, circuit_hash=0,
        registers=[("c", 2)], options=0, run=1)
    bad = bytearray(good)
    struct.pack_into("<I", bad, 56, 4000)     # creg_off
    with qshm.Producer(name) as p:
        p.publish(qshm.REC_RUN_BEGIN, bytes(bad))
        p.close()
    with pytest.raises(qshm.Corrupt) as e:
        qshm.counts(name)
    assert "RUN_BEGIN" in str(e.value) and name in str(e.value)


def test_shots_overflowing_their_record_are_corrupt(rings: Rings) -> None:
    name = rings.name()
    with qshm.Producer(name) as p:
        w = qshm.RunWriter(p, registers=[("c", 2)], shots=4)
        # count 1000 in a record of 3 shots
        p.publish(qshm.REC_SHOTS, struct.pack("<QII", 0, 1000, 1)
                  + bytes(24))
        w.end()
        p.close()
    with pytest.raises(qshm.Corrupt) as e:
        qshm.counts(name)
    assert "SHOTS" in str(e.value)


RESULT_TYPES = [qshm.REC_RUN_BEGIN, qshm.REC_SHOTS, qshm.REC_PROBS,
                qshm.REC_STATE, qshm.REC_RUN_END, qshm.REC_ERROR]
_n = [0]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(st.sampled_from(RESULT_TYPES),
                                  st.binary(min_size=1, max_size=200)),
                        min_size=1, max_size=5),
       valid_begin=st.booleans())
def test_random_records_give_qshm_errors_only(rings: Rings,
                                              records: list[tuple[int, bytes]],
                                              valid_begin: bool) -> None:
    """Any bytes in result records: the consumer yields records or raises
    a qshm exception, nothing else (no IndexError, struct.error, ...)."""
    _n[0] += 1
    name = f"{rings.prefix}-h{_n[0]}"
    with qshm.Producer(name, capacity=65536) as p:
        if valid_begin:
            qshm.RunWriter(p, registers=[("c", 3), ("d", 2)], shots=10,
                           nqubits=3)
        for rtype, data in records:
            p.publish(rtype, data)
        p.close()
    try:
        with qshm.Consumer(name) as c:
            for rec in c:
                if rec.shots is not None:
                    int(rec.shots.sum())
                if rec.probs is not None:
                    float(np.nansum(rec.probs))
                if rec.state is not None:
                    complex(np.nansum(rec.state))
    except qshm.QshmError:
        pass
    finally:
        qshm.unlink(name)
