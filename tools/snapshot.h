/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h - what the inspecting subcommands (dump, ls, rm, stat) share:
 * read-only snapshots of a ring (header, counters, consumer table), the
 * list of rings in /dev/shm, and small formatting helpers.
 *
 * Every value in a snapshot is a relaxed load of memory another process
 * changes: the fields are each a moment old and not mutually consistent to
 * the record. They are for display and for rates, never for reading data.
 */
#ifndef QSHM_TOOLS_SNAPSHOT_H
#define QSHM_TOOLS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qshm/qshm.h"

/* Exit statuses shared by the inspecting subcommands. */
#define SNAP_EXIT_OK      0
#define SNAP_EXIT_ERROR   1 /* no such ring, permissions, system error */
#define SNAP_EXIT_USAGE   2
#define SNAP_EXIT_NOTRING 3 /* not a usable qshm ring (not-qshm, corrupt,
			       other version, still being created) */
#define SNAP_EXIT_REFUSED 3 /* rm: not removed (producer alive, ...) */

/* Where POSIX shared memory objects show up on Linux. */
#define SNAP_SHM_DIR "/dev/shm"
#define SNAP_SHM_PREFIX "qshm."

/* One look at a ring through a consumer handle. */
struct snap {
	uint64_t t_ns;                 /* CLOCK_MONOTONIC when taken */
	struct qshm_ring_info info;
	struct qshm_ring_stats st;
	struct qshm_slot_info *slots;  /* occupied slots, table order */
	unsigned nslots;
};

/* Fills s from c (slots allocated; free with snap_free()). Returns 0 or a
 * negative error code. */
int snap_take(qshm_consumer *c, struct snap *s);
void snap_free(struct snap *s);

/* "reliable", "lossy", "attaching", "evicted" for enum qshm_slot_state. */
const char *snap_kind_name(uint32_t slot_state);

/*
 * Attaches to NAME read-only (QSHM_CONSUMER_READONLY: PROT_READ mapping,
 * no slot taken, nothing written). On failure prints "qshm CMD: ..." with
 * the library's message and returns the exit status (SNAP_EXIT_ERROR or
 * SNAP_EXIT_NOTRING); returns 0 on success.
 */
int snap_attach(const char *cmd, const char *name, qshm_consumer **out);

/* Exit status for an attach error code. */
int snap_exit_for(int err);

/*
 * Names of the objects "/dev/shm/qshm.*", sorted, without the prefix, also
 * those that are not valid ring names. *names is a malloc'd array of
 * malloc'd strings; free with snap_names_free(). Returns the count or
 * -errno.
 */
int snap_list_names(char ***names);
void snap_names_free(char **names, int n);

/* "/dev/shm/qshm.NAME" into buf. */
const char *snap_shm_path(const char *name, char *buf, size_t size);

/* Formatting. */
void snap_fmt_time(uint64_t realtime_ns, char *buf, size_t size); /* UTC */
void snap_fmt_bytes(uint64_t n, char *buf, size_t size); /* "1.5 MiB" */

#endif
