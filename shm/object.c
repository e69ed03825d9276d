/* SPDX-License-Identifier: MIT */
/*
 * object.c - opening objects in /dev/shm as the hostile input they may be.
 *
 * /dev/shm is writable by every local user, so whatever holds a ring's name
 * may be a FIFO (an open() for reading would wait for a writer for ever), a
 * symbolic link to some other file, a directory, or a ring file made by
 * another user to be read by us. Every open of a ring by name goes through
 * qshm__object_open(); attaching consumers also check the owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "object.h"

/* The owner allowed by qshm_allow_owner(); -1: none. Relaxed: a setting
 * made before attaching, read once per attach; nothing else pairs with it. */
static _Atomic long qshm__allowed_owner = -1;

const char *qshm__object_kind(const struct stat *st)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	}
	return "an object of unknown type";
}

void qshm__creator_mark(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 1 };

	/* A new object: nobody else can hold a conflicting lock. */
	(void)fcntl(fd, F_OFD_SETLK, &fl);
}

void qshm__creator_unmark(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 1 };

	(void)fcntl(fd, F_OFD_SETLK, &fl);
}

int qshm__creating_abandoned(int fd, const struct stat *st, int pid,
			     unsigned long long start)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 1 };
	struct timespec now;

	struct stat again;

	if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		return 0;  /* the creator's mark: it is alive */
	/* No mark now: but @st may be older than the creator's progress
	 * (it may have sized, published and unmarked the object since). */
	if (fstat(fd, &again) < 0 || again.st_size != st->st_size ||
	    again.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    again.st_mtim.tv_nsec != st->st_mtim.tv_nsec)
		return 0;
	if (pid > 0 && start != 0)
		return !qshm__proc_alive(pid, start);
	clock_gettime(CLOCK_REALTIME, &now);
	long long age_ms = (long long)(now.tv_sec - again.st_mtim.tv_sec) * 1000 +
			   (now.tv_nsec - again.st_mtim.tv_nsec) / 1000000;
	return age_ms >= QSHM__CREATING_GRACE_MS;
}

const char *qshm__object_what(const char *name)
{
	char dev_path[QSHM_NAME_MAX + 24];
	struct stat st;

	snprintf(dev_path, sizeof(dev_path), "/dev/shm/qshm.%s", name);
	if (lstat(dev_path, &st) < 0)
		return "nothing";
	return qshm__object_kind(&st);
}

int qshm__object_open(const char *name, const char *path, int flags,
		      struct stat *st)
{
	char dev_path[QSHM_NAME_MAX + 24];
	struct stat lst;
	int fd, err;

	fd = shm_open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY |
		      O_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		if (err == ELOOP || err == EISDIR || err == EINVAL ||
		    err == ENXIO) {
			/* A symbolic link (O_NOFOLLOW), a directory opened
			 * for writing (EISDIR, which shm_open reports as
			 * EINVAL), a FIFO opened for writing without a
			 * reader: say what is there. */
			snprintf(dev_path, sizeof(dev_path), "/dev/shm%s", path);
			if (lstat(dev_path, &lst) == 0 && !S_ISREG(lst.st_mode))
				return qshm__fail(QSHM_ENOTQSHM, "'%s' is %s, "
						  "not a qshm ring", name,
						  qshm__object_kind(&lst));
		}
		if (err == ENOENT)
			return qshm__fail(ENOENT, "no ring named '%s' "
					  "(/dev/shm%s)", name, path);
		return qshm__fail(err, "open ring '%s'", name);
	}
	if (fstat(fd, st) < 0) {
		err = qshm__fail(errno, "fstat ring '%s'", name);
		close(fd);
		return err;
	}
	if (!S_ISREG(st->st_mode)) {
		err = qshm__fail(QSHM_ENOTQSHM, "'%s' is %s, not a qshm ring",
				 name, qshm__object_kind(st));
		close(fd);
		return err;
	}
	/* Regular files never block; clear the flag anyway so the
	 * descriptor behaves as a plain one wherever it is passed. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int qshm__object_owner_ok(const char *name, const struct stat *st)
{
	long allowed = atomic_load_explicit(&qshm__allowed_owner,
					    memory_order_relaxed);
	uid_t me = geteuid();
	char who[64];

	if (st->st_uid == me || st->st_uid == 0 ||
	    (allowed >= 0 && (uid_t)allowed == st->st_uid))
		return 0;
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(st->st_uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(who, sizeof(who), "uid %u (%s)", (unsigned)st->st_uid,
			 pw.pw_name);
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)st->st_uid);
	return qshm__fail(EACCES, "ring '%s' is owned by %s, not by uid %u or "
			  "root: anyone who can write it may have forged its "
			  "contents; allow that owner with qshm_allow_owner() "
			  "(the tools' --owner option)", name, who,
			  (unsigned)me);
}

QSHM_EXPORT int qshm_allow_owner(long uid)
{
	if (uid < -1 || uid > (long)UINT32_MAX - 1)
		return qshm__fail(EINVAL, "uid %ld out of range", uid);
	atomic_store_explicit(&qshm__allowed_owner, uid,
			      memory_order_relaxed);
	return 0;
}

QSHM_EXPORT const char *qshm_quote(const char *s, char *buf, size_t size)
{
	return qshm__quote(s ? s : "(null)", buf, size);
}

const char *qshm__quote(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];
		size_t n;

		if (*p == '\\' || *p == '\'' || *p == '"')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
		else
			n = (size_t)snprintf(esc, sizeof(esc), "%c", *p);
		if (o + n + 4 > size) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		memcpy(buf + o, esc, n);
		o += n;
	}
	buf[o] = '\0';
	return buf;
}
