/* SPDX-License-Identifier: MIT */
/*
 * cmd_demo.c - `qshm demo`: a producer process and a consumer process
 * exchanging records through a named ring, the consumer attached by name,
 * verifying every byte in place and showing what it receives.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qshm/qshm.h"
#include "tools.h"

#define DEMO_TYPE 0x200

static const char demo_usage[] =
	"usage: qshm demo [--records N] [--max-size BYTES] [--capacity BYTES]\n"
	"\n"
	"Creates ring demo.PID, forks a consumer that attaches to it by name as\n"
	"a reliable consumer, and publishes N records (default 5000000) of\n"
	"1..BYTES bytes (default 1000) with a pattern derived from each record's\n"
	"sequence number. The consumer checks every byte in place, prints its\n"
	"progress every 250 ms and a summary; the ring is removed at the end.\n"
	"Exit status 0 when every record arrived intact and in order.\n";

static uint8_t demo_byte(uint64_t seq, uint64_t i)
{
	uint64_t x = (seq + 1) * 0x9e3779b97f4a7c15u + i;
	return (uint8_t)(x ^ (x >> 29));
}

static size_t demo_len(uint64_t seq, size_t max)
{
	return 1 + (size_t)((seq * 2654435761u) % max);
}

static int demo_consume(const char *name, uint64_t n, size_t max)
{
	qshm_consumer *c;
	struct qshm_record r;
	uint64_t got = 0, bytes = 0, bad = 0;
	uint64_t t0, last, now;
	int err;

	if (tools_attach("demo", name, QSHM_CONSUMER_RELIABLE, 5, &c))
		return 1;
	t0 = last = tools_now_ns();
	for (;;) {
		/* Release what is held before waiting: a producer blocked on a
		 * full ring waits for exactly that. */
		err = qshm_consumer_read(c, &r, 0);
		if (err == -EAGAIN) {
			qshm_consumer_release(c);
			err = qshm_consumer_read(c, &r, QSHM_FOREVER);
		}
		if (err)
			break;
		const uint8_t *p = r.data;
		size_t len = demo_len(r.seq, max);
		if (r.seq != got || r.len != len)
			bad++;
		else
			for (size_t i = 0; i < r.len; i++)
				if (p[i] != demo_byte(r.seq, i)) {
					bad++;
					break;
				}
		got++;
		bytes += r.len;
		if ((got & 63) == 0) {
			qshm_consumer_release(c);
			now = tools_now_ns();
			if (now - last >= 250000000u) {
				double s = (double)(now - t0) / 1e9;
				printf("consumer: %10llu records  %8.1f MB  "
				       "%6.2f M rec/s  %7.1f MB/s  bad %llu\n",
				       (unsigned long long)got, bytes / 1e6,
				       got / s / 1e6, bytes / s / 1e6,
				       (unsigned long long)bad);
				fflush(stdout);
				last = now;
			}
		}
	}
	qshm_consumer_release(c);
	double s = (double)(tools_now_ns() - t0) / 1e9;
	printf("consumer: done (%s): %llu of %llu records, %.1f MB in %.2f s "
	       "(%.2f M rec/s, %.1f MB/s), %llu bad\n",
	       err == -QSHM_ECLOSED ? "producer closed the ring" :
	       qshm_strerror(err), (unsigned long long)got,
	       (unsigned long long)n, bytes / 1e6, s, got / s / 1e6,
	       bytes / s / 1e6, (unsigned long long)bad);
	qshm_consumer_close(c);
	return (err == -QSHM_ECLOSED && got == n && !bad) ? 0 : 1;
}

int qshm_cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "records", required_argument, NULL, 'n' },
		{ "max-size", required_argument, NULL, 's' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n = 5000000, max = 1000, cap = 1 << 20;
	int ch;

	optind = 1;
	opterr = 0; /* our own message, in the common style */
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (tools_parse_u64(optarg, &n))
				return tools_usage_error("demo", "bad --records "
							 "'%s'", optarg);
			break;
		case 's':
			if (tools_parse_size(optarg, &max) || !max)
				return tools_usage_error("demo", "bad --max-size "
							 "'%s'", optarg);
			break;
		case 'c':
			if (tools_parse_size(optarg, &cap))
				return tools_usage_error("demo", "bad --capacity "
							 "'%s'", optarg);
			break;
		case 'h': fputs(demo_usage, stdout); return 0;
		default:
			return tools_usage_error("demo", "unknown option "
						 "or missing value: '%s'",
						 argv[optind - 1]);
		}
	}
	if (optind != argc)
		return tools_usage_error("demo", "no arguments expected");

	char name[64];
	snprintf(name, sizeof(name), "demo.%d", (int)getpid());
	struct qshm_create_opts o = { .capacity = cap };
	qshm_producer *p;
	int err = qshm_producer_create(name, &o, &p);
	if (err) {
		fprintf(stderr, "qshm demo: %s\n", qshm_last_error());
		return 1;
	}
	if (max > qshm_producer_max_record(p)) {
		fprintf(stderr, "qshm demo: --max-size %llu exceeds the ring's "
			"maximum record %llu\n", (unsigned long long)max,
			(unsigned long long)qshm_producer_max_record(p));
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
		return 2;
	}
	printf("producer: pid %d created ring '%s' (/dev/shm/qshm.%s, %llu "
	       "bytes of data); publishing %llu records\n", (int)getpid(),
	       name, name, (unsigned long long)cap, (unsigned long long)n);
	fflush(stdout);
	pid_t child = fork();
	if (child < 0) {
		perror("qshm demo: fork");
		qshm_producer_close(p, QSHM_CLOSE_UNLINK);
		return 1;
	}
	if (child == 0) {
		int rc = demo_consume(name, n, (size_t)max);
		fflush(stdout);
		_exit(rc);
	}

	err = qshm_producer_wait_consumers(p, 1, 10 * 1000000000ll);
	for (uint64_t seq = 0; !err && seq < n; seq++) {
		size_t len = demo_len(seq, (size_t)max);
		uint8_t *b;
		err = qshm_producer_claim(p, len, DEMO_TYPE, QSHM_FOREVER,
					  (void **)&b);
		if (err)
			break;
		for (size_t i = 0; i < len; i++)
			b[i] = demo_byte(seq, i);
		if ((seq & 15) == 15)
			qshm_producer_commit(p);
	}
	if (err)
		fprintf(stderr, "qshm demo: producer: %s\n",
			qshm_last_error()[0] ? qshm_last_error() :
			qshm_strerror(err));
	struct qshm_producer_stats st;
	qshm_producer_commit(p);
	qshm_producer_stats(p, &st);
	printf("producer: %llu records committed, ring full %llu times, %llu "
	       "wake-ups\n", (unsigned long long)st.records,
	       (unsigned long long)st.full_waits,
	       (unsigned long long)st.wakes);
	qshm_producer_close(p, QSHM_CLOSE_UNLINK);
	int status = 1;
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
		return 1;
	return err ? 1 : WEXITSTATUS(status);
}
