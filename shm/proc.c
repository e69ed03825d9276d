/* SPDX-License-Identifier: MIT */
/*
 * proc.c - clocks, and whether a process is still the one we recorded.
 *
 * A pid alone can be reused; the pair (pid, start time in clock ticks since
 * boot, field 22 of /proc/PID/stat) names one process for the life of the
 * machine. These run only on slow paths (attach, and at most every
 * QSHM_LIVENESS_NS while waiting): each costs a few syscalls.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

uint64_t qshm__now_ns(void)
{
	struct timespec ts;

	/* vDSO: no syscall. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads state and start time of pid. Returns 0, -ESRCH if there is no such
 * process or it is a zombie (dead, not reaped), or another -errno. */
static int qshm__proc_stat(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the last
	 * ')'. Then: state (3), ppid (4) ... starttime (22). */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	char state = *p;
	if (state == 'Z' || state == 'X' || state == 'x')
		return -ESRCH;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

int qshm__proc_start(pid_t pid, uint64_t *start)
{
	return qshm__proc_stat(pid, start);
}

/* 1 if pid is alive and started at start, 0 if not. An unreadable /proc
 * counts as alive: never evict or give up on a peer we cannot see. */
int qshm__proc_alive(pid_t pid, uint64_t start)
{
	uint64_t now_start;
	int err;

	if (pid <= 0)
		return 0;
	err = qshm__proc_stat(pid, &now_start);
	if (err == -ESRCH)
		return 0;
	if (err < 0)
		return 1;
	return now_start == start;
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/*
 * A pidfd for the process (pid, start), or -1 when there is none (no such
 * process, another process now has the pid, or the kernel lacks pidfds).
 * The start time is checked after opening, so the descriptor names the
 * process we recorded, not a later holder of its pid.
 */
int qshm__pidfd_open(pid_t pid, uint64_t start)
{
	if (pid <= 0)
		return -1;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	if (!qshm__proc_alive(pid, start)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 while the process behind pidfd runs; a pidfd polls readable once it
 * has exited (reaped or not). One syscall. */
int qshm__pidfd_alive(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 0;
}
