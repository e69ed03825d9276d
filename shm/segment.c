/* SPDX-License-Identifier: MIT */
/*
 * segment.c - named segments: create, attach (with validation of every
 * header field against the object's real size), look, unlink.
 *
 * A segment is untrusted input to everyone but its creator. Attach copies
 * the geometry out of the header once, after checking it, and never
 * re-reads it; everything later is bounds-checked against those copies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "internal.h"
#include "object.h"

int qshm__shm_path(const char *name, char *buf, size_t size)
{
	int err = qshm_name_check(name);
	if (err)
		return err;
	snprintf(buf, size, "/qshm.%s", name);
	return 0;
}

static void qshm__map_geometry(struct qshm_map *m)
{
	struct qshm_kheader *h = (struct qshm_kheader *)m->base;

	m->khdr = h;
	m->kprod = (struct qshm_kprod *)(m->base + QSHM_OFF_PROD);
	m->kwake = (struct qshm_kwake *)(m->base + QSHM_OFF_WAKE);
	m->kstats = (struct qshm_kstats *)(m->base + QSHM_OFF_STATS);
	m->kslots = (struct qshm_kslot *)(m->base + QSHM_OFF_SLOTS);
	m->kparked = (_Atomic uint64_t *)(m->base +
					  qshm__off_parked(m->max_consumers));
	m->kmeta = (struct qshm_kmeta *)(m->base +
					 qshm__off_meta(m->max_consumers));
	m->kmeta_words = (_Atomic uint64_t *)(m->kmeta + 1);
	m->kdata = m->base + qshm__off_data(m->max_consumers, m->meta_size);
	m->mask = m->capacity - 1;
}

/* Also for the producer, which fills in the same fields at create. */
void qshm__map_set_geometry(struct qshm_map *m)
{
	qshm__map_geometry(m);
}

/*
 * Checks a header against the object's size. On success copies the
 * geometry into m. The caller has loaded kh_state with acquire (A0) and
 * seen READY, so the plain fields below are the creator's final values.
 */
static int qshm__validate(const char *name, const struct qshm_kheader *h,
			  uint64_t size, struct qshm_map *m)
{
	if (h->kh_magic != QSHM_MAGIC)
		return qshm__fail(QSHM_ENOTQSHM, "ring '%s': bad magic "
				  "0x%016llx", name,
				  (unsigned long long)h->kh_magic);
	if (h->kh_format_major != QSHM_FORMAT_MAJOR)
		return qshm__fail(QSHM_EVERSION, "ring '%s' is format %u.%u; "
				  "this library reads format %d.x (it writes "
				  "%d.%d)", name, h->kh_format_major,
				  h->kh_format_minor, QSHM_FORMAT_MAJOR,
				  QSHM_FORMAT_MAJOR, QSHM_FORMAT_MINOR);
	if (h->kh_features & ~QSHM_FEAT_KNOWN)
		return qshm__fail(QSHM_EVERSION, "ring '%s' (format %u.%u) uses "
				  "features 0x%llx this library does not know "
				  "(it writes format %d.%d)", name,
				  h->kh_format_major, h->kh_format_minor,
				  (unsigned long long)(h->kh_features &
						       ~QSHM_FEAT_KNOWN),
				  QSHM_FORMAT_MAJOR, QSHM_FORMAT_MINOR);
	if (h->kh_layout != QSHM_LAYOUT_WORD)
		return qshm__fail(QSHM_ELAYOUT, "ring '%s': layout word "
				  "0x%08x, library 0x%08x", name,
				  h->kh_layout, QSHM_LAYOUT_WORD);
	if (h->kh_header_size != sizeof(*h) ||
	    h->kh_slot_size != sizeof(struct qshm_kslot))
		return qshm__fail(QSHM_ECORRUPT, "ring '%s': header size %u "
				  "or slot size %u wrong", name,
				  h->kh_header_size, h->kh_slot_size);
	uint64_t cap = h->kh_capacity;
	if (cap < 4096 || (cap & (cap - 1)) || cap > (UINT64_C(1) << 40))
		return qshm__fail(QSHM_ECORRUPT, "ring '%s': capacity %llu "
				  "not a power of two in [4096, 2^40]", name,
				  (unsigned long long)cap);
	if (h->kh_max_record == 0 || h->kh_max_record > cap / 2 - 64)
		return qshm__fail(QSHM_ECORRUPT, "ring '%s': max record %llu "
				  "out of range for capacity %llu", name,
				  (unsigned long long)h->kh_max_record,
				  (unsigned long long)cap);
	uint32_t nc = h->kh_max_consumers;
	if (nc == 0 || nc > QSHM_MAX_CONSUMERS)
		return qshm__fail(QSHM_ECORRUPT, "ring '%s': %u consumer "
				  "slots", name, nc);
	uint64_t msize = h->kh_meta_size;
	if (msize > QSHM_META_MAX || (msize & (QSHM_CACHELINE - 1)))
		return qshm__fail(QSHM_ECORRUPT, "ring '%s': descriptor size "
				  "%llu", name, (unsigned long long)msize);
	uint64_t off_data = qshm__off_data(nc, msize);
	if (h->kh_off_prod != QSHM_OFF_PROD || h->kh_off_wake != QSHM_OFF_WAKE ||
	    h->kh_off_stats != QSHM_OFF_STATS ||
	    h->kh_off_slots != QSHM_OFF_SLOTS ||
	    h->kh_off_parked != qshm__off_parked(nc) ||
	    h->kh_off_meta != qshm__off_meta(nc) || h->kh_off_data != off_data)
		return qshm__fail(QSHM_ECORRUPT, "ring '%s': offsets table "
				  "does not match the format", name);
	if (h->kh_seg_size != off_data + cap || h->kh_seg_size != size)
		return qshm__fail(QSHM_ECORRUPT, "ring '%s': header says %llu "
				  "bytes, layout needs %llu, object has %llu",
				  name, (unsigned long long)h->kh_seg_size,
				  (unsigned long long)(off_data + cap),
				  (unsigned long long)size);
	m->capacity = cap;
	m->max_record = h->kh_max_record;
	m->max_consumers = nc;
	m->generation = h->kh_generation;
	m->seq_key = h->kh_seq_key;
	m->meta_size = msize;
	m->creator_pid = h->kh_creator_pid;
	m->creator_start = h->kh_creator_start;
	m->features = h->kh_features;
	return 0;
}

/* Opens and maps NAME, validated. QSHM__MAP_READONLY maps PROT_READ from an
 * O_RDONLY descriptor, so an inspector cannot write even by mistake; the
 * object must be a regular file (qshm__object_open) owned by a trusted
 * user unless QSHM__MAP_ANY_OWNER (a look that reports, never trusts). */
int qshm__map_attach(const char *name, int mode, struct qshm_map *m)
{
	char path[QSHM_NAME_MAX + 8];
	struct stat st;
	int readonly = mode & QSHM__MAP_READONLY;
	int err;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	err = qshm__shm_path(name, path, sizeof(path));
	if (err)
		return err;
	snprintf(m->name, sizeof(m->name), "%s", name);

	m->fd = qshm__object_open(name, path, readonly ? O_RDONLY : O_RDWR,
				  &st);
	if (m->fd < 0) {
		err = m->fd;
		m->fd = -1;
		return err;
	}
	if (!(mode & QSHM__MAP_ANY_OWNER)) {
		err = qshm__object_owner_ok(name, &st);
		if (err)
			goto fail;
	}
	if (st.st_size == 0) {
		/* The creator has not sized it yet, or died before it did. */
		if (qshm__creating_abandoned(m->fd, &st, 0, 0))
			err = qshm__fail(QSHM_ESTALE, "ring '%s' has size 0 and "
					 "no creator: it died while creating "
					 "it", name);
		else
			err = qshm__fail(QSHM_ECREATING, "ring '%s' has size 0",
					 name);
		goto fail;
	}
	if ((uint64_t)st.st_size < QSHM_OFF_SLOTS + QSHM_PAGE) {
		uint64_t magic = 0;
		/* Our magic on a too-small object: a ring cut short. */
		if (pread(m->fd, &magic, sizeof(magic), 0) == sizeof(magic) &&
		    magic == QSHM_MAGIC)
			err = qshm__fail(QSHM_ECORRUPT, "ring '%s' is truncated "
					 "to %lld bytes", name,
					 (long long)st.st_size);
		else
			err = qshm__fail(QSHM_ENOTQSHM, "'%s' is %lld bytes, too "
					 "small for a qshm ring", name,
					 (long long)st.st_size);
		goto fail;
	}
	m->size = (uint64_t)st.st_size;
	m->base = mmap(NULL, m->size, readonly ? PROT_READ :
		       PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		err = qshm__fail(errno, "mmap ring '%s' (%llu bytes)", name,
				 (unsigned long long)m->size);
		goto fail;
	}
	qshm__guard_register(m, readonly ? PROT_READ : PROT_READ | PROT_WRITE);
	struct qshm_kheader *h = (struct qshm_kheader *)m->base;
	/* A0: pairs with P0 in qshm__map_create(): once READY is seen, every
	 * header field the creator wrote before it is visible. */
	uint32_t state = atomic_load_explicit(&h->kh_state,
					      memory_order_acquire);
	if (state != QSHM_KSTATE_READY) {
		if (state == QSHM_KSTATE_CREATING &&
		    (h->kh_magic == QSHM_MAGIC || h->kh_magic == 0)) {
			/* A-pid: pairs with P-pid in qshm__map_create(). The
			 * creator writes its pid first; 0 means not yet, or
			 * that it died just before. */
			int32_t pid = __atomic_load_n(&h->kh_creator_pid,
						      __ATOMIC_ACQUIRE);
			uint64_t start = __atomic_load_n(&h->kh_creator_start,
							 __ATOMIC_RELAXED);
			m->creator_pid = pid;
			/* Acquire reload: a creator that published since
			 * the first load is not a dead one (retry). */
			if (!qshm__creating_abandoned(m->fd, &st, pid, start) ||
			    atomic_load_explicit(&h->kh_state,
						 memory_order_acquire) !=
			    QSHM_KSTATE_CREATING)
				err = qshm__fail(QSHM_ECREATING, "ring '%s' is "
						 "still being created", name);
			else if (pid > 0)
				err = qshm__fail(QSHM_ESTALE, "ring '%s' was "
						 "left half-created: its creator "
						 "(pid %d) died while creating it",
						 name, pid);
			else
				err = qshm__fail(QSHM_ESTALE, "ring '%s' was "
						 "left half-created: its creator "
						 "died while creating it", name);
		} else
			err = qshm__fail(QSHM_ENOTQSHM, "'%s' is not a qshm "
					 "ring (state word 0x%08x)", name,
					 state);
		goto fail;
	}
	err = qshm__validate(name, h, m->size, m);
	if (err || qshm__truncated(m))
		goto fail;
	qshm__map_geometry(m);
	return 0;
fail:
	if (qshm__truncated(m)) /* cut while we looked: the guard caught it */
		err = qshm__truncated_fail(m);
	qshm__map_release(m);
	return err;
}

void qshm__map_release(struct qshm_map *m)
{
	qshm__guard_unregister(m);
	if (m->base)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	m->base = NULL;
	m->fd = -1;
}

/*
 * Slowest reliable consumer's position, UINT64_MAX if there is none.
 * A1: each kc_read_pos load pairs with R1 in qshm_consumer_release(): the
 * consumer's reads of the bytes below the position it published happened
 * before, so the producer may overwrite them.
 */
uint64_t qshm__scan_min(struct qshm_map *m, uint32_t *nreliable)
{
	uint64_t min = UINT64_MAX;
	uint32_t n = 0;
	/* seq_cst: pairs with the consumer's raise of the mark before R3
	 * (see qshm__register): a scan that may see its state sees it. */
	uint32_t hwm = qshm__slot_hwm(m, memory_order_seq_cst);
	for (uint32_t i = 0; i < hwm; i++) {
		struct qshm_kslot *s = &m->kslots[i];
		/* Acquire: pairs with the consumer's R3 (seq_cst store of
		 * RELIABLE) so kc_read_pos written before it is seen. */
		if (qshm__slot_state(atomic_load_explicit(
			    &s->kc_word, memory_order_acquire)) !=
		    QSHM_SLOT_RELIABLE)
			continue;
		uint64_t rp = atomic_load_explicit(&s->kc_read_pos,
						   memory_order_acquire);
		if (rp < min)
			min = rp;
		n++;
	}
	if (nreliable)
		*nreliable = n;
	return min;
}

QSHM_EXPORT const char *qshm_ring_state_name(enum qshm_ring_state s)
{
	switch (s) {
	case QSHM_RING_LIVE: return "live";
	case QSHM_RING_CLOSED: return "closed";
	case QSHM_RING_STALE: return "stale";
	case QSHM_RING_CREATING: return "creating";
	case QSHM_RING_NOTQSHM: return "not-qshm";
	case QSHM_RING_CORRUPT: return "corrupt";
	case QSHM_RING_VERSION: return "version";
	}
	return "unknown";
}

QSHM_EXPORT int qshm_ring_info(const char *name, struct qshm_ring_info *info)
{
	struct qshm_map m;
	int err;

	if (!info)
		return qshm__fail(EINVAL, "info is NULL");
	memset(info, 0, sizeof(*info));
	err = qshm__map_attach(name, QSHM__MAP_READONLY | QSHM__MAP_ANY_OWNER,
			       &m);
	switch (-err) {
	case 0:
		break;
	case QSHM_ECREATING:
		info->state = QSHM_RING_CREATING;
		return 0;
	case QSHM_ESTALE:
		/* Half-created by a creator that died: stale, so that rm
		 * --stale removes it and a new producer replaces it. */
		info->state = QSHM_RING_STALE;
		info->creator_pid = m.creator_pid;
		return 0;
	case QSHM_ENOTQSHM:
		info->state = QSHM_RING_NOTQSHM;
		return 0;
	case QSHM_EVERSION:
	case QSHM_ELAYOUT: {
		info->state = QSHM_RING_VERSION;
		/* Read-only peek at the version fields, which every format
		 * keeps at offset 8. */
		char path[QSHM_NAME_MAX + 8];
		struct stat st;
		qshm__shm_path(name, path, sizeof(path));
		int fd = qshm__object_open(name, path, O_RDONLY, &st);
		if (fd >= 0) {
			uint16_t v[2];
			if (pread(fd, v, sizeof(v), 8) == sizeof(v)) {
				info->format_major = v[0];
				info->format_minor = v[1];
			}
			close(fd);
		}
		return 0;
	}
	case QSHM_ECORRUPT:
	case QSHM_ETRUNCATED: /* cut while looked at: as a look after */
		info->state = QSHM_RING_CORRUPT;
		return 0;
	default:
		return err;
	}
	qshm__info_from_map(&m, info);
	if (qshm__truncated(&m)) { /* read zeros after the cut */
		memset(info, 0, sizeof(*info));
		info->state = QSHM_RING_CORRUPT;
	}
	qshm__map_release(&m);
	return 0;
}

QSHM_EXPORT int qshm_unlink(const char *name)
{
	char path[QSHM_NAME_MAX + 8];
	int err = qshm__shm_path(name, path, sizeof(path));

	if (err)
		return err;
	if (shm_unlink(path) < 0)
		return qshm__fail(errno, "remove ring '%s'", name);
	return 0;
}

/*
 * remove_if for a name held by something that is not a regular file (a
 * symbolic link, a FIFO, a directory...): decide sees state not-qshm; the
 * name is removed only if lstat() still finds the same object just before.
 */
static int qshm__remove_odd(const char *name, const char *path,
			    qshm_remove_fn decide, void *ctx,
			    struct qshm_ring_info *info_out)
{
	char dev_path[QSHM_NAME_MAX + 24];
	struct qshm_ring_info info;
	struct stat before, after;
	int err;

	snprintf(dev_path, sizeof(dev_path), "/dev/shm%s", path);
	if (lstat(dev_path, &before) < 0)
		return qshm__fail(errno, "ring '%s'%s", name,
				  errno == ENOENT ? ": no such ring" : "");
	memset(&info, 0, sizeof(info));
	info.state = QSHM_RING_NOTQSHM;
	info.size = S_ISREG(before.st_mode) ? (uint64_t)before.st_size : 0;
	if (info_out)
		*info_out = info;
	err = decide(ctx, &info);
	if (err <= 0)
		return err;
	if (lstat(dev_path, &after) < 0 || after.st_ino != before.st_ino ||
	    after.st_dev != before.st_dev)
		return qshm__fail(EAGAIN, "ring '%s' was replaced or removed "
				  "while being looked at", name);
	if ((S_ISDIR(after.st_mode) ? rmdir(dev_path) : unlink(dev_path)) < 0 &&
	    errno != ENOENT)
		return qshm__fail(errno, "remove '%s'", name);
	return 1;
}

QSHM_EXPORT int qshm_ring_remove_if(const char *name, qshm_remove_fn decide,
				    void *ctx, struct qshm_ring_info *info_out)
{
	char path[QSHM_NAME_MAX + 8], dev_path[QSHM_NAME_MAX + 24];
	struct qshm_ring_info info;
	struct stat st_fd, st_name;
	int fd, err;

	if (!decide)
		return qshm__fail(EINVAL, "decide is NULL");
	err = qshm__shm_path(name, path, sizeof(path));
	if (err)
		return err;
	/* A symbolic link or a FIFO holding the name is not opened (that
	 * could block or reach another file): it is looked at as not-qshm
	 * without the lock, and removed by name if decide says so. */
	fd = qshm__object_open(name, path, O_RDONLY, &st_fd);
	if (fd == -QSHM_ENOTQSHM)
		return qshm__remove_odd(name, path, decide, ctx, info_out);
	if (fd < 0) {
		if (fd == -ENOENT)
			return qshm__fail(ENOENT, "ring '%s': no such ring",
					  name);
		return fd;
	}
	/* The lock qshm_producer_create() takes to replace a stale ring:
	 * while held, nobody else replaces or removes this object. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = qshm__fail(EBUSY, "ring '%s' is being replaced or "
				 "removed by another process", name);
		goto out;
	}
	err = qshm_ring_info(name, &info);
	snprintf(dev_path, sizeof(dev_path), "/dev/shm%s", path);
	/* The look above went by name: it is a look at our object only if
	 * the name still leads to it (our descriptor keeps its inode number
	 * from being reused). */
	if (fstat(fd, &st_fd) < 0 || stat(dev_path, &st_name) < 0 ||
	    st_fd.st_ino != st_name.st_ino || st_fd.st_dev != st_name.st_dev) {
		err = qshm__fail(EAGAIN, "ring '%s' was replaced or removed "
				 "while being looked at", name);
		goto out;
	}
	if (err)
		goto out;
	if (info_out)
		*info_out = info;
	err = decide(ctx, &info);
	if (err <= 0)
		goto out;
	if (shm_unlink(path) < 0 && errno != ENOENT) {
		err = qshm__fail(errno, "remove ring '%s'", name);
		goto out;
	}
	err = 1;
out:
	close(fd); /* drops the flock */
	return err;
}
