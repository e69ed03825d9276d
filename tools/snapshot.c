/* SPDX-License-Identifier: MIT */
/* snapshot.c - read-only snapshots of rings and the /dev/shm listing (see
 * snapshot.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapshot.h"
#include "tools.h"

int snap_take(qshm_consumer *c, struct snap *s)
{
	int err, n;

	memset(s, 0, sizeof(*s));
	s->t_ns = tools_now_ns();
	err = qshm_consumer_ring_info(c, &s->info);
	if (err)
		return err;
	err = qshm_consumer_ring_stats(c, &s->st);
	if (err)
		return err;
	unsigned max = s->info.max_consumers ? s->info.max_consumers : 1;
	s->slots = calloc(max, sizeof(*s->slots));
	if (!s->slots)
		return -ENOMEM;
	n = qshm_consumer_slots(c, s->slots, max);
	if (n < 0) {
		snap_free(s);
		return n;
	}
	s->nslots = (unsigned)n < max ? (unsigned)n : max;
	/* A consumer learns that a record is complete from its commit word,
	 * which the producer stores just before kp_write_pos (protocol.md,
	 * C0/C1): a position a little past the write position read above is
	 * committed all the same. Show the committed end as the furthest
	 * either says. */
	for (unsigned i = 0; i < s->nslots; i++)
		if ((s->slots[i].state == QSHM_SLOT_STATE_RELIABLE ||
		     s->slots[i].state == QSHM_SLOT_STATE_LOSSY) &&
		    s->slots[i].position > s->st.write_pos &&
		    s->slots[i].position - s->st.write_pos <=
			    s->info.capacity)
			s->st.write_pos = s->slots[i].position;
	return 0;
}

void snap_free(struct snap *s)
{
	free(s->slots);
	s->slots = NULL;
	s->nslots = 0;
}

const char *snap_kind_name(uint32_t slot_state)
{
	switch (slot_state) {
	case QSHM_SLOT_STATE_CLAIMED: return "attaching";
	case QSHM_SLOT_STATE_RELIABLE: return "reliable";
	case QSHM_SLOT_STATE_LOSSY: return "lossy";
	case QSHM_SLOT_STATE_EVICTED: return "evicted";
	}
	return "unknown";
}

int snap_exit_for(int err)
{
	switch (-err) {
	case 0:
		return SNAP_EXIT_OK;
	case EINVAL:
		return SNAP_EXIT_USAGE;
	case QSHM_ENOTQSHM:
	case QSHM_ECORRUPT:
	case QSHM_EVERSION:
	case QSHM_ELAYOUT:
	case QSHM_ECREATING:
	case QSHM_ESTALE: /* left half-created by a dead creator */
		return SNAP_EXIT_NOTRING;
	}
	return SNAP_EXIT_ERROR;
}

int snap_attach(const char *cmd, const char *name, qshm_consumer **out)
{
	int err;

	err = qshm_consumer_attach(name, QSHM_CONSUMER_READONLY, out);
	if (!err)
		return 0;
	const char *msg = qshm_last_error();
	if (msg[0])
		fprintf(stderr, "qshm %s: %s\n", cmd, msg);
	else
		fprintf(stderr, "qshm %s: ring '%s': %s\n", cmd, name,
			qshm_strerror(err));
	return snap_exit_for(err);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int snap_list_names(char ***names)
{
	DIR *d = opendir(SNAP_SHM_DIR);
	struct dirent *e;
	char **v = NULL;
	int n = 0, cap = 0;
	size_t plen = strlen(SNAP_SHM_PREFIX);

	*names = NULL;
	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, SNAP_SHM_PREFIX, plen) != 0 ||
		    !e->d_name[plen])
			continue;
		if (n == cap) {
			int ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, (size_t)ncap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
			cap = ncap;
		}
		v[n] = strdup(e->d_name + plen);
		if (!v[n])
			goto nomem;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), by_name);
	*names = v;
	return n;
nomem:
	closedir(d);
	snap_names_free(v, n);
	return -ENOMEM;
}

void snap_names_free(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

const char *snap_shm_path(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s%s", SNAP_SHM_DIR, SNAP_SHM_PREFIX, name);
	return buf;
}

void snap_fmt_time(uint64_t realtime_ns, char *buf, size_t size)
{
	time_t t = (time_t)(realtime_ns / 1000000000u);
	struct tm tm;

	if (!realtime_ns || !gmtime_r(&t, &tm) ||
	    !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "-");
}

void snap_fmt_bytes(uint64_t n, char *buf, size_t size)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", v, unit[u]);
}
