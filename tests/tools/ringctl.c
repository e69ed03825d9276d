/* SPDX-License-Identifier: MIT */
/*
 * ringctl.c - the processes the tools tests inspect: a producer that
 * publishes a known set of records and then stays alive (so dump, stat,
 * ls and rm see a live ring in a known state), consumers that read a known
 * number of records and stay attached, and helpers that damage segments.
 *
 *   ringctl produce NAME [options]   create, publish, print "ready ...",
 *                                    hold; SIGTERM closes and unlinks
 *   ringctl consume NAME [options]   attach, read K, release, print
 *                                    "ready K", hold
 *   ringctl poke NAME OFFSET VALUE [WIDTH]  write a little-endian
 *                                    integer of WIDTH bytes (default 8)
 *   ringctl junk NAME SIZE           create a non-qshm object of SIZE
 *                                    bytes (a text pattern)
 *
 * Every process dies after --hold seconds (default 60) at the latest, so
 * a failed test cannot leave it running for long.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <qshm/format.h>
#include <qshm/qshm.h>

#define RAW_TYPE 0x200

static volatile sig_atomic_t got_term, got_usr1;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };
	nanosleep(&ts, NULL);
}

static int die(const char *what, int err)
{
	fprintf(stderr, "ringctl: %s: %s (%s)\n", what, qshm_strerror(err),
		qshm_last_error());
	return 1;
}

/* Raw record seq: len bytes, byte i = 'A' + (seq + i) % 26. */
static int publish_raw(qshm_producer *p, uint64_t seq, size_t len)
{
	uint8_t *b;
	int err = qshm_producer_claim(p, len, RAW_TYPE, 10000000000ll,
				      (void **)&b);
	if (err)
		return err;
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)('A' + (seq + i) % 26);
	return qshm_producer_commit(p);
}

/*
 * A results run: RUN_BEGIN (circuit "bell.qasm", 2 qubits, registers
 * c[2] then d[1]), SHOTS (shot i: c = i % 4, d = (i / 4) % 2, so it reads
 * "d c", e.g. shot 5 is "1 01"), PROBS [0.5, 0.1, 0.15, 0.25], STATE (the
 * square roots, index 3 imaginary), ERROR (-5, "disk on fire"), RUN_END.
 */
static int publish_results(qshm_producer *p, uint64_t shots, uint32_t batch,
			   uint64_t *records)
{
	uint8_t buf[4096];
	int err;

	memset(buf, 0, sizeof(buf));
	struct qshm_run_begin rb = {
		.version = QSHM_RESULTS_VERSION, .nqubits = 2, .shots = shots,
		.seed = 7, .circuit_hash = 0x0123456789abcdefull,
		.nclbits = 3, .ncregs = 2, .words_per_shot = 1,
		.options = QSHM_RUN_PROBS | QSHM_RUN_STATE,
		.creg_off = 64,
	};
	struct qshm_creg cr[2] = {
		{ .size = 2, .first_bit = 0, .name_off = 96, .name_len = 1 },
		{ .size = 1, .first_bit = 2, .name_off = 97, .name_len = 1 },
	};
	rb.name_off = 98;
	rb.name_len = 9;
	memcpy(buf, &rb, sizeof(rb));
	memcpy(buf + 64, cr, sizeof(cr));
	memcpy(buf + 96, "cd", 2);
	memcpy(buf + 98, "bell.qasm", 9);
	if ((err = qshm_producer_publish(p, QSHM_REC_RUN_BEGIN, buf, 107,
					 10000000000ll)))
		return err;
	(*records)++;
	for (uint64_t s = 0; s < shots; s += batch) {
		uint32_t n = (uint32_t)(shots - s < batch ? shots - s : batch);
		struct qshm_shots h = { .first_shot = s, .count = n,
					.words_per_shot = 1 };
		memcpy(buf, &h, sizeof(h));
		for (uint32_t i = 0; i < n; i++) {
			uint64_t k = s + i;
			uint64_t w = (k % 4) | ((k / 4) % 2) << 2;
			memcpy(buf + 16 + 8 * i, &w, 8);
		}
		if ((err = qshm_producer_publish(p, QSHM_REC_SHOTS, buf,
						 16 + 8 * (size_t)n,
						 10000000000ll)))
			return err;
		(*records)++;
	}
	double probs[4] = { 0.5, 0.1, 0.15, 0.25 };
	struct qshm_chunk ch = { .nqubits = 2, .first = 0, .count = 4,
				 .total = 4 };
	memcpy(buf, &ch, sizeof(ch));
	memcpy(buf + 32, probs, sizeof(probs));
	if ((err = qshm_producer_publish(p, QSHM_REC_PROBS, buf, 64,
					 10000000000ll)))
		return err;
	(*records)++;
	double amps[8];
	for (int i = 0; i < 4; i++) {
		amps[2 * i] = i == 3 ? 0 : sqrt(probs[i]);
		amps[2 * i + 1] = i == 3 ? sqrt(probs[i]) : 0;
	}
	memcpy(buf + 32, amps, sizeof(amps));
	if ((err = qshm_producer_publish(p, QSHM_REC_STATE, buf, 96,
					 10000000000ll)))
		return err;
	(*records)++;
	struct qshm_run_error e = { .code = -5, .len = 12 };
	memcpy(buf, &e, sizeof(e));
	memcpy(buf + 8, "disk on fire", 12);
	if ((err = qshm_producer_publish(p, QSHM_REC_ERROR, buf, 20,
					 10000000000ll)))
		return err;
	(*records)++;
	struct qshm_run_end re = { .status = QSHM_RUN_OK, .shots = shots,
				   .elapsed_ns = 1234567, .sim_ns = 1000000 };
	if ((err = qshm_producer_publish(p, QSHM_REC_RUN_END, &re, sizeof(re),
					 10000000000ll)))
		return err;
	(*records)++;
	return 0;
}

/* Sleeps until SIGTERM/SIGINT, SIGUSR1 (if wake_on_usr1), or the end. */
static void hold(uint64_t end, int wake_on_usr1)
{
	while (!got_term && now_ns() < end && !(wake_on_usr1 && got_usr1))
		sleep_ns(5000000);
}

static int produce(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "records", required_argument, NULL, 'n' },
		{ "len", required_argument, NULL, 'l' },
		{ "rate", required_argument, NULL, 'r' },
		{ "results", required_argument, NULL, 'R' },
		{ "batch", required_argument, NULL, 'b' },
		{ "user", required_argument, NULL, 'u' },
		{ "consumers", required_argument, NULL, 'k' },
		{ "then", required_argument, NULL, 't' },
		{ "hold", required_argument, NULL, 'H' },
		{ "keep", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	struct qshm_create_opts co = { .capacity = 65536 };
	uint64_t nraw = 0, len = 100, shots = 0, then = 0, records = 0;
	double rate = 0, hold_s = 60;
	uint32_t batch = 16;
	int consumers = 0, keep = 0, ch, err;
	struct { unsigned idx; uint64_t v; } users[16];
	int nusers = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': co.capacity = strtoull(optarg, NULL, 0); break;
		case 'n': nraw = strtoull(optarg, NULL, 0); break;
		case 'l': len = strtoull(optarg, NULL, 0); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'R': shots = strtoull(optarg, NULL, 0); break;
		case 'b': batch = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'u':
			if (nusers < 16 && sscanf(optarg, "%u=%llu",
						  &users[nusers].idx,
						  (unsigned long long *)
						  &users[nusers].v) == 2)
				nusers++;
			break;
		case 'k': consumers = atoi(optarg); break;
		case 't': then = strtoull(optarg, NULL, 0); break;
		case 'H': hold_s = strtod(optarg, NULL); break;
		case 'K': keep = 1; break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !batch || batch > 500)
		return 2;
	const char *name = argv[optind];
	uint64_t end = now_ns() + (uint64_t)(hold_s * 1e9);

	qshm_producer *p;
	if ((err = qshm_producer_create(name, &co, &p)))
		return die("create", err);
	for (int i = 0; i < nusers; i++) {
		uint64_t *u = qshm_producer_user_counter(p, users[i].idx);
		if (u)
			__atomic_store_n(u, users[i].v, __ATOMIC_RELAXED);
	}
	if (consumers && (err = qshm_producer_wait_consumers(p, consumers,
						10000000000ll)))
		return die("wait_consumers", err);
	if (shots && (err = publish_results(p, shots, batch, &records)))
		return die("publish results", err);
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < nraw && !got_term; i++) {
		if (rate > 0) {
			uint64_t due = t0 + (uint64_t)((double)i / rate * 1e9);
			uint64_t now = now_ns();
			if (due > now)
				sleep_ns(due - now);
		}
		if ((err = publish_raw(p, records, (size_t)len)))
			return die("publish", err);
		records++;
	}
	printf("ready %d %llu\n", (int)getpid(), (unsigned long long)records);
	fflush(stdout);
	if (then) {
		hold(end, 1);
		for (uint64_t i = 0; i < then && !got_term; i++) {
			if ((err = publish_raw(p, records, (size_t)len)))
				return die("publish", err);
			records++;
		}
		printf("then %llu\n", (unsigned long long)records);
		fflush(stdout);
	}
	hold(end, 0);
	qshm_producer_close(p, keep ? 0 : QSHM_CLOSE_UNLINK);
	return 0;
}

static int consume(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lossy", no_argument, NULL, 'l' },
		{ "read", required_argument, NULL, 'n' },
		{ "hold", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned flags = QSHM_CONSUMER_RELIABLE;
	uint64_t nread = 0;
	double hold_s = 60;
	int ch, err;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': flags |= QSHM_CONSUMER_LOSSY; break;
		case 'n': nread = strtoull(optarg, NULL, 0); break;
		case 'H': hold_s = strtod(optarg, NULL); break;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return 2;
	const char *name = argv[optind];
	uint64_t end = now_ns() + (uint64_t)(hold_s * 1e9);
	qshm_consumer *c;
	for (;;) {
		err = qshm_consumer_attach(name, flags, &c);
		if ((err != -ENOENT && err != -QSHM_ECREATING) ||
		    now_ns() > end)
			break;
		sleep_ns(10000000);
	}
	if (err)
		return die("attach", err);
	struct qshm_record r;
	for (uint64_t i = 0; i < nread; i++) {
		if ((err = qshm_consumer_read(c, &r, 10000000000ll)))
			return die("read", err);
		qshm_consumer_release(c); /* publishes position and count */
	}
	qshm_consumer_release(c);
	printf("ready %llu\n", (unsigned long long)nread);
	fflush(stdout);
	hold(end, 0);
	qshm_consumer_close(c);
	return 0;
}

static int poke(int argc, char **argv)
{
	if (argc != 4 && argc != 5)
		return 2;
	size_t width = argc == 5 ? strtoul(argv[4], NULL, 0) : 8;
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return 2;
	char path[512];
	snprintf(path, sizeof(path), "/qshm.%s", argv[1]);
	int fd = shm_open(path, O_RDWR, 0);
	if (fd < 0) {
		perror("ringctl poke: shm_open");
		return 1;
	}
	uint64_t off = strtoull(argv[2], NULL, 0);
	uint64_t v = strtoull(argv[3], NULL, 0);
	/* Little-endian: the low bytes of v are the value at that width. */
	ssize_t n = pwrite(fd, &v, width, (off_t)off);
	close(fd);
	return n == (ssize_t)width ? 0 : 1;
}

static int junk(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	char path[512];
	snprintf(path, sizeof(path), "/qshm.%s", argv[1]);
	int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		perror("ringctl junk: shm_open");
		return 1;
	}
	size_t size = strtoull(argv[2], NULL, 0);
	static const char text[] = "this is not a qshm ring, just bytes. ";
	for (size_t off = 0; off < size;) {
		size_t n = size - off < sizeof(text) - 1 ? size - off :
			   sizeof(text) - 1;
		if (pwrite(fd, text, n, (off_t)off) != (ssize_t)n) {
			close(fd);
			return 1;
		}
		off += n;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "produce"))
		return produce(argc - 1, argv + 1);
	if (!strcmp(argv[1], "consume"))
		return consume(argc - 1, argv + 1);
	if (!strcmp(argv[1], "poke"))
		return poke(argc - 1, argv + 1);
	if (!strcmp(argv[1], "junk"))
		return junk(argc - 1, argv + 1);
usage:
	fprintf(stderr, "usage: ringctl produce|consume|poke|junk ...\n");
	return 2;
}
