/* SPDX-License-Identifier: MIT */
/*
 * object.h - opening a shared-memory object that anyone may have put in
 * /dev/shm (object.c): never blocking, never following a symbolic link,
 * only regular files, and only owners the caller trusts. Private to libqshm.
 */
#ifndef QSHM_OBJECT_H
#define QSHM_OBJECT_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * Opens the object at @path ("/qshm.NAME", as for shm_open) with @flags
 * (O_RDONLY or O_RDWR) plus O_NONBLOCK and O_NOFOLLOW, and fstat()s it into
 * *@st. Returns the descriptor (blocking mode restored), or -ENOENT,
 * -QSHM_ENOTQSHM with a message saying what is there when it is a
 * symbolic link, a FIFO, a directory or anything else not a regular file,
 * or another -errno; the message names ring @name.
 */
int qshm__object_open(const char *name, const char *path, int flags,
		      struct stat *st);

/* What kind of object @st describes, as words ("a FIFO", ...). */
const char *qshm__object_kind(const struct stat *st);

/*
 * The creator's mark on an object it is creating: an open-file-description
 * write lock on byte 0, taken right after the exclusive create and dropped
 * once the header is published. The kernel drops it when the creator dies,
 * so an observer of a half-created object can tell a live creator from a
 * dead one. (OFD locks and flock() do not interact: remove_if's flock is
 * unaffected.)
 */
void qshm__creator_mark(int fd);
void qshm__creator_unmark(int fd);

/*
 * Whether the half-created object open as @fd (state CREATING, or size 0)
 * was abandoned by a creator that died: nobody holds the creator's mark,
 * and its creator @pid (0: not written yet) is dead, or, with no pid, the
 * object has not changed for QSHM__CREATING_GRACE_MS (the time between a
 * creator's create and its mark is microseconds, but a loaded machine can
 * preempt the creator in between for tens of milliseconds: 50 ms made
 * attachers racing a live creator see it as dead).
 */
#define QSHM__CREATING_GRACE_MS 2000
int qshm__creating_abandoned(int fd, const struct stat *st, int pid,
			     unsigned long long start);

/* What holds ring @name's object, as words for messages ("a FIFO", "a
 * regular file", ...; "nothing" when lstat() finds nothing). */
const char *qshm__object_what(const char *name);

/*
 * Whether a consumer may trust an object owned by st->st_uid: its own
 * effective uid, root, or the owner allowed by qshm_allow_owner().
 * Returns 0 or -EACCES with a message naming the owner.
 */
int qshm__object_owner_ok(const char *name, const struct stat *st);

/* Writes @s into @buf (@size bytes) printable: bytes outside 0x20..0x7e,
 * quotes and backslashes as C escapes; cut with "..." when too long. */
const char *qshm__quote(const char *s, char *buf, size_t size);

#endif /* QSHM_OBJECT_H */
