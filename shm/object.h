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
