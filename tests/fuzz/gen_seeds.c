/*
 * gen_seeds.c - writes the seed corpora of the segment and results fuzz
 * targets: real rings made through the public API (so the seeds follow
 * whatever segment format the library writes), and streams of result
 * records as the run publisher writes them.
 *
 * usage: gen_seeds SEGMENT_DIR RESULTS_DIR
 * Rings are created as /dev/shm/qshm.fuzzseed<pid>-N, copied and removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qshm/format.h"
#include "qshm/qshm.h"

static const char *segdir, *resdir;
static int nseg;

static void die(const char *what, int rc)
{
	fprintf(stderr, "gen_seeds: %s: %s\n", what, qshm_strerror(rc));
	exit(1);
}

static void write_file(const char *dir, const char *name, const void *data,
		       size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* Copies the object behind ring @ring into SEGMENT_DIR/@seed. */
static void copy_ring(const char *ring, const char *seed)
{
	char path[256];
	struct stat st;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/qshm.%s", ring);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "gen_seeds: %s: cannot read\n", path);
		exit(1);
	}
	buf = malloc((size_t)st.st_size);
	if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		fprintf(stderr, "gen_seeds: %s: short read\n", path);
		exit(1);
	}
	close(fd);
	/* fuzz_segment's input: the image, then one byte that picks what
	 * it runs on it (FUZZ_SEGMENT_ACTIONS of them): one seed each. */
	buf = realloc(buf, (size_t)st.st_size + 1);
	if (!buf)
		die("realloc", -ENOMEM);
	for (int a = 0; a < 8; a++) {
		char name[128];

		snprintf(name, sizeof(name), "%s-%d", seed, a);
		buf[st.st_size] = (char)a;
		write_file(segdir, name, buf, (size_t)st.st_size + 1);
	}
	free(buf);
}

/* ---- result records ---- */

struct stream {
	uint8_t buf[1 << 16];
	size_t len;
};

/* Appends a record to @s (the results target's input format) and, when
 * @p is not NULL, publishes it to the ring. */
static void emit(struct stream *s, qshm_producer *p, uint16_t type,
		 const void *data, size_t len)
{
	if (s && s->len + 4 + len <= sizeof(s->buf)) {
		s->buf[s->len++] = (uint8_t)type;
		s->buf[s->len++] = (uint8_t)(type >> 8);
		s->buf[s->len++] = (uint8_t)len;
		s->buf[s->len++] = (uint8_t)(len >> 8);
		memcpy(s->buf + s->len, data, len);
		s->len += len;
	}
	if (p) {
		int rc = qshm_producer_publish(p, type, data, len, 0);

		if (rc < 0)
			die("publish", rc);
	}
}

/* A run of @nq qubits, two registers c (nq - 1 bits) and f (1 bit),
 * @nshots shots, optionally PROBS and STATE of the final state. */
static void run_records(struct stream *s, qshm_producer *p, uint32_t nq,
			uint32_t nshots, int probs, int state)
{
	uint8_t b[4096];
	struct qshm_run_begin rb;
	struct qshm_creg cr[2];
	const char *name = "ghz.qasm";
	uint32_t nclbits = nq, words = (nclbits + 63) / 64;
	size_t off;

	memset(&rb, 0, sizeof(rb));
	rb.version = QSHM_RESULTS_VERSION;
	rb.nqubits = nq;
	rb.shots = nshots;
	rb.seed = 42;
	rb.circuit_hash = 0x123456789abcdefull;
	rb.nclbits = nclbits;
	rb.ncregs = 2;
	rb.words_per_shot = words;
	rb.options = (probs ? QSHM_RUN_PROBS : 0) | (state ? QSHM_RUN_STATE : 0);
	rb.creg_off = sizeof(rb);
	off = sizeof(rb) + sizeof(cr);
	cr[0] = (struct qshm_creg){ nq - 1, 0, (uint32_t)off, 1 };
	memcpy(b + off, "c", 1);
	off += 1;
	cr[1] = (struct qshm_creg){ 1, nq - 1, (uint32_t)off, 1 };
	memcpy(b + off, "f", 1);
	off += 1;
	rb.name_off = (uint32_t)off;
	rb.name_len = (uint32_t)strlen(name);
	memcpy(b + off, name, strlen(name));
	off += strlen(name);
	memcpy(b, &rb, sizeof(rb));
	memcpy(b + sizeof(rb), cr, sizeof(cr));
	emit(s, p, QSHM_REC_RUN_BEGIN, b, off);

	for (uint32_t first = 0; first < nshots; first += 8) {
		struct qshm_shots sh = { first, nshots - first < 8 ?
					 nshots - first : 8, words };
		uint64_t bits[8 * 2];

		for (uint32_t i = 0; i < sh.count * words; i++)
			bits[i] = (first + i) & 1 ? (1ull << nq) - 1 : 0;
		memcpy(b, &sh, sizeof(sh));
		memcpy(b + sizeof(sh), bits, sh.count * words * 8);
		emit(s, p, QSHM_REC_SHOTS, b, sizeof(sh) + sh.count * words * 8);
	}
	for (int k = 0; k < 2; k++) {
		if (!(k ? state : probs))
			continue;
		size_t es = k ? 16 : 8;
		uint64_t total = 1ull << nq, count = total < 64 ? total : 64;
		struct qshm_chunk ch = { nq, 0, 0, count, total };
		double v[128];

		memset(v, 0, sizeof(v));
		v[0] = 0.5;
		v[(count - 1) * es / 8] = 0.5;
		memcpy(b, &ch, sizeof(ch));
		memcpy(b + sizeof(ch), v, count * es);
		emit(s, p, k ? QSHM_REC_STATE : QSHM_REC_PROBS, b,
		     sizeof(ch) + count * es);
	}
	struct qshm_run_end re = { QSHM_RUN_OK, 0, nshots, 1000, 900 };

	emit(s, p, QSHM_REC_RUN_END, &re, sizeof(re));
}

static void ring_name(char *buf, size_t size)
{
	snprintf(buf, size, "fuzzseed%ld-%d", (long)getpid(), nseg++);
}

/* A ring with a run in it, in several states. */
static void segment_seeds(void)
{
	char name[64];
	qshm_producer *p;
	qshm_consumer *rel, *lossy;
	struct qshm_create_opts o = { .capacity = 4096, .max_consumers = 4 };
	int rc;

	/* 1: empty, just created (the creator, this process, will be dead:
	 * the image reads as stale). */
	ring_name(name, sizeof(name));
	if ((rc = qshm_producer_create(name, &o, &p)) < 0)
		die("create", rc);
	copy_ring(name, "empty");
	/* 2: a run, with a reliable and a lossy consumer attached, one of
	 * which has read part of it. */
	run_records(NULL, p, 3, 16, 1, 1);
	if ((rc = qshm_consumer_attach(name, QSHM_CONSUMER_RELIABLE, &rel)) < 0 ||
	    (rc = qshm_consumer_attach(name, QSHM_CONSUMER_LOSSY, &lossy)) < 0)
		die("attach", rc);
	struct qshm_record rec;

	for (int i = 0; i < 3; i++)
		qshm_consumer_read(rel, &rec, 0);
	qshm_consumer_release(rel);
	copy_ring(name, "run-consumers");
	qshm_consumer_close(rel);
	qshm_consumer_close(lossy);
	/* 3: closed by its producer. */
	qshm_producer_close(p, 0);
	copy_ring(name, "run-closed");
	qshm_unlink(name);

	/* 4: wrapped: more records than fit, with only a lossy reader. */
	ring_name(name, sizeof(name));
	if ((rc = qshm_producer_create(name, &o, &p)) < 0)
		die("create", rc);
	if ((rc = qshm_consumer_attach(name, QSHM_CONSUMER_LOSSY, &lossy)) < 0)
		die("attach", rc);
	for (int i = 0; i < 6; i++)
		run_records(NULL, p, 5, 24, 1, 0);
	copy_ring(name, "wrapped");
	qshm_consumer_close(lossy);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);

	/* 5: a larger ring, a larger record. */
	ring_name(name, sizeof(name));
	o.capacity = 16384;
	if ((rc = qshm_producer_create(name, &o, &p)) < 0)
		die("create", rc);
	run_records(NULL, p, 6, 40, 1, 1);
	copy_ring(name, "run-16k");
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
}

static void results_seeds(void)
{
	static struct stream s;

	s.len = 0;
	run_records(&s, NULL, 3, 16, 1, 1);
	write_file(resdir, "run-3q", s.buf, s.len);
	s.len = 0;
	run_records(&s, NULL, 5, 20, 0, 1);
	write_file(resdir, "run-5q-state", s.buf, s.len);
	s.len = 0;
	run_records(&s, NULL, 2, 4, 1, 0);
	run_records(&s, NULL, 6, 9, 0, 0);
	write_file(resdir, "two-runs", s.buf, s.len);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: gen_seeds SEGMENT_DIR RESULTS_DIR\n", stderr);
		return 2;
	}
	segdir = argv[1];
	resdir = argv[2];
	mkdir(segdir, 0755);
	mkdir(resdir, 0755);
	segment_seeds();
	results_seeds();
	return 0;
}
