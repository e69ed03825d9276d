/* SPDX-License-Identifier: MIT */
/*
 * test_inspect.c - the read-only inspection API the tools are built on:
 * qshm_consumer_ring_info() agrees with qshm_ring_info(),
 * qshm_consumer_ring_stats() counts what was committed and shows the user
 * counters and the close, qshm_consumer_slots() lists the consumers with
 * their kind, pid, liveness, position, reads and losses, a READONLY
 * consumer takes no slot and never writes a byte of the segment, and
 * qshm_ring_info() names every state a ring name can be in.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

TestSuite(ring_inspect, .init = t_init, .fini = t_fini, .timeout = 30);

/* Publishes n records of len bytes each (type 16). */
static void publish_n(qshm_producer *p, unsigned n, size_t len)
{
	uint8_t buf[4096];

	cr_assert_leq(len, sizeof(buf));
	for (unsigned i = 0; i < n; i++) {
		memset(buf, (int)i, len);
		int err = qshm_producer_publish(p, 16, buf, len, 0);
		cr_assert_eq(err, 0, "publish %u: %s", i, t_errname(err));
	}
}

static int slot_of_state(const struct qshm_slot_info *s, int n, uint32_t st)
{
	for (int i = 0; i < n; i++)
		if (s[i].state == st)
			return i;
	return -1;
}

Test(ring_inspect, consumer_ring_info_agrees_with_ring_info)
{
	qshm_producer *p = t_create(t_ring, 65536, 4000, 8);
	publish_n(p, 5, 100);
	qshm_consumer *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	struct qshm_ring_info a, b;
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	cr_assert_eq(qshm_consumer_ring_info(ro, &a), 0);
	cr_assert_eq(qshm_ring_info(t_ring, &b), 0);
	cr_expect_eq(a.state, QSHM_RING_LIVE);
	cr_expect_eq(a.state, b.state);
	cr_expect_eq(a.format_major, b.format_major);
	cr_expect_eq(a.format_minor, b.format_minor);
	cr_expect_eq(a.size, b.size);
	cr_expect_eq(a.capacity, 65536);
	cr_expect_eq(a.max_record, 4000);
	cr_expect_eq(a.max_consumers, 8);
	cr_expect_eq(a.creator_pid, getpid());
	cr_expect_eq(a.creator_alive, 1);
	cr_expect_eq(a.creator_start, b.creator_start);
	cr_expect_eq(a.created_ns, b.created_ns);
	cr_expect_eq(a.generation, b.generation);
	cr_expect_eq(a.write_pos, b.write_pos);
	cr_expect_eq(a.oldest_pos, b.oldest_pos);
	cr_expect_eq(a.reliable_consumers, 0);
	cr_expect_eq(a.lossy_consumers, 0, "READONLY takes no slot");
	qshm_consumer_close(ro);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_inspect, ring_stats_count_committed_records_and_bytes)
{
	qshm_producer *p = t_create(t_ring, 65536, 4000, 8);
	qshm_consumer *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	struct qshm_ring_stats st;
	cr_assert_eq(qshm_consumer_ring_stats(ro, &st), 0);
	cr_expect_eq(st.records, 0);
	cr_expect_eq(st.bytes, 0);
	cr_expect_eq(st.write_pos, st.oldest_pos, "empty");
	cr_expect_eq(st.closed, 0);

	publish_n(p, 7, 100);
	publish_n(p, 3, 1000);
	cr_assert_eq(qshm_consumer_ring_stats(ro, &st), 0);
	cr_expect_eq(st.records, 10);
	cr_expect_eq(st.bytes, 7 * 100 + 3 * 1000);
	/* Each record is a 16-byte header plus its payload padded to 16. */
	cr_expect_eq(st.write_pos, 7 * (16 + 112) + 3 * (16 + 1008),
		     "write_pos %llu", (unsigned long long)st.write_pos);
	cr_expect_eq(st.oldest_pos, 0);
	cr_expect_eq(st.evictions, 0);
	struct qshm_producer_stats ps;
	cr_assert_eq(qshm_producer_stats(p, &ps), 0);
	cr_expect_eq(st.records, ps.records);
	cr_expect_eq(st.bytes, ps.bytes);
	cr_expect_eq(st.full_waits, ps.full_waits);
	cr_expect_eq(st.wakes, ps.wakes);

	cr_assert_eq(qshm_producer_close(p, 0), 0);
	cr_assert_eq(qshm_consumer_ring_stats(ro, &st), 0);
	cr_expect_eq(st.closed, 1, "the close shows in the counters");
	struct qshm_ring_info info;
	cr_assert_eq(qshm_consumer_ring_info(ro, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_CLOSED, "state %s",
		     qshm_ring_state_name(info.state));
	qshm_consumer_close(ro);
}

Test(ring_inspect, user_counters_are_visible_to_inspectors)
{
	qshm_producer *p = t_create(t_ring, 65536, 0, 0);
	for (unsigned i = 0; i < 16; i++) {
		uint64_t *u = qshm_producer_user_counter(p, i);
		cr_assert_not_null(u, "user counter %u", i);
		__atomic_store_n(u, 1000 + i, __ATOMIC_RELAXED);
	}
	cr_expect_null(qshm_producer_user_counter(p, 16));
	qshm_consumer *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	struct qshm_ring_stats st;
	cr_assert_eq(qshm_consumer_ring_stats(ro, &st), 0);
	for (unsigned i = 0; i < 16; i++)
		cr_expect_eq(st.user[i], 1000 + i, "user[%u] = %llu", i,
			     (unsigned long long)st.user[i]);
	qshm_consumer_close(ro);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_inspect, slots_list_consumers_with_kind_position_reads_and_losses)
{
	qshm_producer *p = t_create(t_ring, 65536, 4000, 8);
	qshm_consumer *rel, *lossy, *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_RELIABLE, &rel),
		     0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_LOSSY, &lossy),
		     0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	publish_n(p, 10, 100);
	struct qshm_record r;
	for (int i = 0; i < 4; i++)
		cr_assert_eq(qshm_consumer_read(rel, &r, 0), 0);
	qshm_consumer_release(rel);
	uint64_t rel_pos = r.pos + 16 + 112;
	for (int i = 0; i < 6; i++)
		cr_assert_eq(qshm_consumer_read(lossy, &r, 0), 0);
	qshm_consumer_release(lossy);
	uint64_t lossy_pos = r.pos + 16 + 112;

	struct qshm_slot_info s[8];
	memset(s, 0x5a, sizeof(s));
	int n = qshm_consumer_slots(ro, s, 8);
	cr_assert_eq(n, 2, "two slots (READONLY takes none), got %d", n);
	int ir = slot_of_state(s, n, QSHM_SLOT_STATE_RELIABLE);
	int il = slot_of_state(s, n, QSHM_SLOT_STATE_LOSSY);
	cr_assert(ir >= 0 && il >= 0, "a reliable and a lossy slot");
	cr_expect_lt(s[0].index, s[1].index, "table order");
	for (int i = 0; i < n; i++) {
		cr_expect_eq(s[i].pid, getpid());
		cr_expect_eq(s[i].alive, 1);
		cr_expect_neq(s[i].start, 0);
		cr_expect_neq(s[i].attach_ns, 0);
	}
	cr_expect_eq(s[ir].position, rel_pos, "reliable released up to %llu",
		     (unsigned long long)s[ir].position);
	cr_expect_eq(s[ir].records, 4);
	cr_expect_eq(s[ir].lost, 0);
	cr_expect_eq(s[il].position, lossy_pos);
	cr_expect_eq(s[il].records, 6);
	cr_expect_eq(s[il].lost, 0);

	/* max below the count: the count is still returned. */
	memset(s, 0, sizeof(s));
	cr_expect_eq(qshm_consumer_slots(ro, s, 1), 2);
	cr_expect_eq(s[0].state != 0, 1, "the first slot was filled");
	cr_expect_eq(s[1].state, 0, "nothing written past max");
	cr_expect_eq(qshm_consumer_slots(ro, NULL, 0), 2);

	/* The lossy consumer falls behind: its losses show once it
	 * releases. The reliable one holds the producer back, so it is
	 * released first. */
	for (int i = 0; i < 6; i++)
		cr_assert_eq(qshm_consumer_read(rel, &r, 0), 0);
	qshm_consumer_release(rel);
	qshm_consumer_close(rel);
	publish_n(p, 400, 1000); /* ~400 KiB through a 64 KiB ring */
	cr_assert_eq(qshm_consumer_read(lossy, &r, 0), 0);
	cr_expect_gt(r.lost, 0, "the lossy consumer lost records");
	qshm_consumer_release(lossy);
	n = qshm_consumer_slots(ro, s, 8);
	cr_assert_eq(n, 1, "the reliable consumer's slot is free");
	cr_expect_eq(s[0].state, QSHM_SLOT_STATE_LOSSY);
	cr_expect_eq(s[0].lost, r.lost, "slot lost %llu, read says %llu",
		     (unsigned long long)s[0].lost,
		     (unsigned long long)r.lost);
	cr_expect_eq(s[0].records, 7);
	qshm_consumer_close(lossy);
	qshm_consumer_close(ro);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

static int attach_and_die(void *arg)
{
	qshm_consumer *c;
	(void)arg;
	if (qshm_consumer_attach(t_ring, QSHM_CONSUMER_RELIABLE, &c))
		return T_CHILD_FAIL;
	_exit(T_CHILD_OK); /* no close: the slot stays behind */
}

Test(ring_inspect, slots_show_a_dead_consumer_as_not_alive)
{
	qshm_producer *p = t_create(t_ring, 65536, 0, 8);
	pid_t pid = t_fork(attach_and_die, NULL, 10);
	cr_assert_eq(t_wait(pid, 10 * T_SEC), T_CHILD_OK);
	qshm_consumer *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	struct qshm_slot_info s[8];
	int n = qshm_consumer_slots(ro, s, 8);
	cr_assert_eq(n, 1);
	cr_expect_eq(s[0].pid, pid);
	cr_expect_eq(s[0].state, QSHM_SLOT_STATE_RELIABLE);
	cr_expect_eq(s[0].alive, 0, "the consumer's process is gone");
	qshm_consumer_close(ro);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_inspect, readonly_inspection_never_writes_the_segment)
{
	qshm_producer *p = t_create(t_ring, 65536, 4000, 8);
	qshm_consumer *rel;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_RELIABLE, &rel),
		     0);
	publish_n(p, 20, 300);
	char path[256];
	void *before, *after;
	size_t lb, la;
	t_shm_path(t_ring, path, sizeof(path));
	cr_assert_eq(t_read_file(path, &before, &lb), 0);

	qshm_consumer *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	struct qshm_record r;
	uint8_t buf[4096];
	int got = 0;
	while (qshm_consumer_read_copy(ro, buf, sizeof(buf), &r, 0) >= 0)
		got++;
	cr_expect_eq(got, 20);
	struct qshm_ring_info info;
	struct qshm_ring_stats st;
	struct qshm_slot_info s[8];
	cr_assert_eq(qshm_consumer_ring_info(ro, &info), 0);
	cr_assert_eq(qshm_consumer_ring_stats(ro, &st), 0);
	cr_assert_eq(qshm_consumer_slots(ro, s, 8), 1);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	qshm_consumer_release(ro);
	qshm_consumer_close(ro);

	cr_assert_eq(t_read_file(path, &after, &la), 0);
	cr_assert_eq(la, lb);
	cr_expect_eq(memcmp(before, after, lb), 0,
		     "a READONLY consumer changed the segment");
	free(before);
	free(after);
	qshm_consumer_close(rel);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

static int create_and_die(void *arg)
{
	qshm_producer *p;
	(void)arg;
	if (qshm_producer_create(t_ring, NULL, &p))
		return T_CHILD_FAIL;
	if (qshm_producer_publish(p, 16, "x", 1, 0))
		return T_CHILD_FAIL;
	_exit(T_CHILD_OK); /* no close: the ring goes stale */
}

Test(ring_inspect, ring_info_names_every_state)
{
	struct qshm_ring_info info;

	/* stale */
	pid_t pid = t_fork(create_and_die, NULL, 10);
	cr_assert_eq(t_wait(pid, 10 * T_SEC), T_CHILD_OK);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_STALE, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(info.creator_pid, pid);
	cr_expect_eq(info.creator_alive, 0);
	qshm_consumer *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0, "a stale ring can be inspected");
	struct qshm_ring_stats st;
	cr_assert_eq(qshm_consumer_ring_stats(ro, &st), 0);
	cr_expect_eq(st.records, 1);
	qshm_consumer_close(ro);
	cr_assert_eq(qshm_unlink(t_ring), 0);
	cr_expect_eq(qshm_ring_info(t_ring, &info), -ENOENT);
	cr_expect_eq(qshm_unlink(t_ring), -ENOENT);

	/* corrupt: capacity not a power of two */
	qshm_producer *p = t_create(t_ring, 65536, 0, 0);
	cr_assert_eq(qshm_producer_close(p, 0), 0);
	size_t len;
	uint8_t *m = t_map_rw(t_ring, &len);
	cr_assert_not_null(m);
	uint64_t cap = 12345;
	memcpy(m + 32, &cap, 8);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_CORRUPT, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     -QSHM_ECORRUPT);
	/* another format major */
	cap = 65536;
	memcpy(m + 32, &cap, 8);
	uint16_t major = 1; /* the format before this one */
	memcpy(m + 8, &major, 2);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_VERSION, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(info.format_major, 1);
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     -QSHM_EVERSION);
	/* not a qshm ring: the magic is gone */
	memset(m, 'x', 8);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_NOTQSHM, "state %s",
		     qshm_ring_state_name(info.state));
	munmap(m, len);
	cr_assert_eq(qshm_unlink(t_ring), 0);

	/* being created: the object exists with size 0 */
	char obj[T_NAME_LEN + 8];
	snprintf(obj, sizeof(obj), "/qshm.%s", t_ring);
	int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(qshm_ring_info(t_ring, &info), 0);
	cr_expect_eq(info.state, QSHM_RING_CREATING, "state %s",
		     qshm_ring_state_name(info.state));
	cr_expect_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     -QSHM_ECREATING);
	cr_assert_eq(qshm_unlink(t_ring), 0);
}

Test(ring_inspect, inspection_rejects_null_arguments)
{
	qshm_producer *p = t_create(t_ring, 65536, 0, 0);
	qshm_consumer *ro;
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	struct qshm_ring_info info;
	struct qshm_ring_stats st;
	struct qshm_slot_info s[1];
	cr_expect_eq(qshm_consumer_ring_info(NULL, &info), -EINVAL);
	cr_expect_eq(qshm_consumer_ring_info(ro, NULL), -EINVAL);
	cr_expect_eq(qshm_consumer_ring_stats(NULL, &st), -EINVAL);
	cr_expect_eq(qshm_consumer_ring_stats(ro, NULL), -EINVAL);
	cr_expect_eq(qshm_consumer_slots(NULL, s, 1), -EINVAL);
	cr_expect_eq(qshm_consumer_slots(ro, NULL, 1), -EINVAL);
	cr_expect_eq(qshm_ring_info(t_ring, NULL), -EINVAL);
	cr_expect_eq(qshm_ring_info("bad/name", &info), -EINVAL);
	cr_expect_eq(qshm_unlink("bad/name"), -EINVAL);
	qshm_consumer_close(ro);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

Test(ring_inspect, slots_publish_the_next_seq_for_exact_lag)
{
	qshm_producer *p = t_create(t_ring, 65536, 0, 0);
	qshm_consumer *c, *ro;
	struct qshm_slot_info si[4];
	struct qshm_ring_stats st;
	struct qshm_record r;

	cr_assert_eq(qshm_consumer_attach(t_ring, 0, &c), 0);
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_READONLY, &ro),
		     0);
	for (uint64_t s = 0; s < 10; s++)
		cr_assert_eq(t_publish_seq(p, s, 200, 0, 1), 0);
	cr_assert_eq(qshm_consumer_slots(ro, si, 4), 1);
	cr_expect_eq(si[0].next_seq, 0, "attached at position 0: seq 0 next");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_assert_eq(qshm_consumer_release(c), 0);
	cr_assert_eq(qshm_consumer_slots(ro, si, 4), 1);
	cr_assert_eq(qshm_consumer_ring_stats(ro, &st), 0);
	cr_expect_eq(si[0].next_seq, 4);
	cr_expect_eq(st.records - si[0].next_seq, 6, "lag in records");
	qshm_consumer_close(c);

	/* Attached mid-ring: unknown until its first release after a read. */
	cr_assert_eq(qshm_consumer_attach(t_ring, QSHM_CONSUMER_FROM_NEWEST,
					  &c), 0);
	cr_assert_eq(qshm_consumer_slots(ro, si, 4), 1);
	cr_expect_eq(si[0].next_seq, QSHM_SEQ_UNKNOWN);
	cr_assert_eq(t_publish_seq(p, 10, 200, 0, 1), 0);
	cr_assert_eq(qshm_consumer_read(c, &r, 0), 0);
	cr_expect_eq(r.seq, 10);
	cr_assert_eq(qshm_consumer_release(c), 0);
	cr_assert_eq(qshm_consumer_slots(ro, si, 4), 1);
	cr_expect_eq(si[0].next_seq, 11);
	qshm_consumer_close(c);
	qshm_consumer_close(ro);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}
