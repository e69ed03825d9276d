# SPDX-License-Identifier: MIT
"""The torture run's Python consumer (see torture.c).

usage: pyconsumer.py RING reliable|lossy FD

Reads the run on RING with the qshm package (qshm.Consumer, in place),
checks every shot (shot i's one word is mix(i), as the producer wrote it;
reliable: every shot once, in order; lossy: increasing, each record valid
after use), writes "r" on FD after the first record and "e NS" (the
CLOCK_MONOTONIC time it ended) before exiting with torture.c's statuses:
0 the run ended (RUN_END), 10 ProducerDied (with a message), 20 a torn or
invented shot, 30 anything else, 50 no ring.
"""
import os
import sys
import time

import numpy as np

import qshm

X_CLOSED, X_DEAD, X_TORN, X_ERROR, X_NORING = 0, 10, 20, 30, 50
M1 = np.uint64(0xFF51AFD7ED558CCD)
M2 = np.uint64(0xC4CEB9FE1A85EC53)
S33 = np.uint64(33)


def mix(x: np.ndarray) -> np.ndarray:
    """torture.c's mix(), on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> S33)
    x = x * M1
    x = x ^ (x >> S33)
    x = x * M2
    return x ^ (x >> S33)


def main() -> int:
    ring, mode, fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
    reliable = mode == "reliable"
    said = False
    next_shot = None
    status = X_ERROR
    try:
        with qshm.Consumer(ring, reliable=reliable, timeout=5.0,
                           overrun="skip") as c:
            with np.errstate(over="ignore"):
                for rec in c:
                    if not said:
                        os.write(fd, b"r")
                        said = True
                    if rec.kind != "shots":
                        continue
                    shots = rec.shots[:, 0]
                    first = rec.first_shot
                    want = mix(np.arange(first, first + len(shots),
                                         dtype=np.uint64))
                    good = np.array_equal(shots, want)
                    if not reliable and not rec.valid():
                        continue  # overwritten while checked: lost
                    if not good:
                        print(f"pyconsumer {mode}: shots {first}.."
                              f"{first + len(shots) - 1} torn",
                              file=sys.stderr)
                        return X_TORN
                    if next_shot is not None and (
                            first != next_shot if reliable
                            else first < next_shot):
                        print(f"pyconsumer {mode}: shot {first}, expected "
                              f"{next_shot}", file=sys.stderr)
                        return X_TORN
                    next_shot = first + len(shots)
        status = X_CLOSED
    except qshm.ProducerDied as e:
        status = X_DEAD if str(e) else X_ERROR
    except qshm.RingNotFound:
        status = X_NORING
    except qshm.QshmError as e:
        print(f"pyconsumer {mode}: {e}", file=sys.stderr)
        status = X_ERROR
    finally:
        os.write(fd, b"e %d\n" % time.clock_gettime_ns(time.CLOCK_MONOTONIC))
    return status


if __name__ == "__main__":
    sys.exit(main())
