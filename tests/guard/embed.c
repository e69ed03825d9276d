/* SPDX-License-Identifier: MIT */
/*
 * embed.c - an application embedding libqshm, for test_truncate.sh: a
 * producer or a consumer that installs the SIGBUS guard and runs until an
 * error, and two checks of what the guard leaves alone.
 *
 *   embed produce NAME [--no-guard]    publishes 256-byte records (each
 *       byte the record's seq mod 251) until an error; "ready" on stdout
 *       once the ring exists
 *   embed consume NAME reliable|lossy|readonly [--no-guard]
 *       reads and checks every record (in place), validating and
 *       releasing as the header says, until an error; "reading" on
 *       stdout after the first record
 *   embed chain      a SIGBUS outside libqshm's mappings reaches the
 *       handler installed before the guard
 *   embed sent       a SIGBUS sent with kill() keeps its default action
 *
 * Exit status: 3 -QSHM_ETRUNCATED seen (its message on stderr), 4 a record
 * whose bytes were wrong although validate and release said nothing, 1 any
 * other error, 0 for chain when the earlier handler ran.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "qshm/qshm.h"

#define REC_LEN 256
#define REC_TYPE 0x100

static int ended(const char *who, int err)
{
	fprintf(stderr, "embed %s: %s\n", who,
		qshm_last_error()[0] ? qshm_last_error() : qshm_strerror(err));
	return err == -QSHM_ETRUNCATED ? 3 : 1;
}

static int produce(const char *name)
{
	struct qshm_create_opts o = { .capacity = 1 << 16 };
	qshm_producer *p;
	uint64_t seq = 0;
	int err;

	err = qshm_producer_create(name, &o, &p);
	if (err)
		return ended("produce", err);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		void *buf;

		err = qshm_producer_claim(p, REC_LEN, REC_TYPE, QSHM_FOREVER,
					  &buf);
		if (!err) {
			memset(buf, (int)(seq % 251), REC_LEN);
			seq++;
			err = qshm_producer_commit(p);
		}
		if (err)
			break;
		if (seq % 64 == 0) { /* a paced stream, not a busy loop */
			struct timespec ts = { 0, 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	int rc = ended("produce", err);
	/* The handle can still be closed (it says truncated again). */
	qshm_producer_close(p, 0);
	return rc;
}

static int bad_bytes(const struct qshm_record *r)
{
	const uint8_t *b = r->data;

	if (r->len != REC_LEN)
		return 1;
	for (uint32_t i = 0; i < r->len; i++)
		if (b[i] != (uint8_t)(r->seq % 251))
			return 1;
	return 0;
}

static int consume(const char *name, const char *mode)
{
	unsigned flags = !strcmp(mode, "lossy") ? QSHM_CONSUMER_LOSSY :
			 !strcmp(mode, "readonly") ? QSHM_CONSUMER_READONLY :
			 QSHM_CONSUMER_RELIABLE;
	qshm_consumer *c;
	struct qshm_record r;
	int err, said = 0;

	for (int i = 0; (err = qshm_consumer_attach(name, flags, &c)) ==
			-ENOENT && i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (err)
		return ended("consume", err);
	while ((err = qshm_consumer_read(c, &r, QSHM_FOREVER)) == 0) {
		int bad = bad_bytes(&r);
		int v = qshm_consumer_validate(c, &r);

		if (v == -QSHM_EOVERRUN)
			continue; /* lossy: overwritten while read */
		if (v) {
			err = v;
			break;
		}
		err = qshm_consumer_release(c);
		if (err)
			break;
		if (bad) {
			fprintf(stderr, "embed consume: record %llu has wrong "
				"bytes and nothing said so\n",
				(unsigned long long)r.seq);
			qshm_consumer_close(c);
			return 4;
		}
		if (!said++) {
			printf("reading\n");
			fflush(stdout);
		}
	}
	int rc = ended("consume", err);
	qshm_consumer_close(c);
	return rc;
}

static sigjmp_buf chain_jmp;
static volatile sig_atomic_t chain_seen;

static void chain_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	chain_seen = 1;
	siglongjmp(chain_jmp, 1);
}

/* A file of ours, not a ring, truncated under its mapping: the fault is
 * not libqshm's, so the handler installed before the guard gets it. */
static int chain(void)
{
	struct sigaction sa;
	char path[64];
	long page = sysconf(_SC_PAGESIZE);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = chain_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	if (qshm_install_sigbus_guard())
		return 1;
	snprintf(path, sizeof(path), "/dev/shm/embed-chain.%ld",
		 (long)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, 4 * page) < 0)
		return 1;
	volatile uint8_t *m = mmap(NULL, (size_t)(4 * page),
				   PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unlink(path);
	if (m == MAP_FAILED || ftruncate(fd, page) < 0)
		return 1;
	if (sigsetjmp(chain_jmp, 1) == 0)
		(void)m[2 * page];
	if (!chain_seen) {
		fprintf(stderr, "embed chain: the earlier handler never ran\n");
		return 1;
	}
	printf("earlier handler ran\n");
	return 0;
}

int main(int argc, char **argv)
{
	int guard = !(argc > 1 && !strcmp(argv[argc - 1], "--no-guard"));

	if (argc >= 2 && !strcmp(argv[1], "chain"))
		return chain();
	if (guard && qshm_install_sigbus_guard()) {
		fprintf(stderr, "embed: %s\n", qshm_last_error());
		return 1;
	}
	if (argc >= 2 && !strcmp(argv[1], "sent")) {
		raise(SIGBUS);
		return 1; /* not reached: the default action ends us */
	}
	if (argc >= 3 && !strcmp(argv[1], "produce"))
		return produce(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "consume"))
		return consume(argv[2], argv[3]);
	fprintf(stderr, "usage: embed produce NAME | consume NAME "
		"reliable|lossy|readonly [--no-guard] | chain | sent\n");
	return 2;
}
