/* SPDX-License-Identifier: MIT */
/*
 * cmd_stat.c - `qshm stat NAME...`: rates and counters of rings, for a
 * terminal (text), for scripts (--json), for Prometheus (--prometheus
 * prints the text exposition format once; --listen serves it on
 * /metrics). Rates come from two snapshots of the producer's counters and
 * the consumer table taken --interval apart; the producer's memory comes
 * from the user counters `qshm sim` publishes (docs/format.md). Attaches
 * read-only: watching a ring never disturbs it.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "qshm/client.h"
#include "json.h"
#include "metrics.h"
#include "qshm/qshm.h"
#include "ringstat.h"
#include "snapshot.h"
#include "tools.h"

static const char stat_usage[] =
	"usage: qshm stat [options] NAME...\n"
	"       qshm stat --all [options]\n"
	"\n"
	"Record and byte rates, lag, losses, evictions, wake-ups and the\n"
	"producer's memory for each ring. Rates come from two snapshots\n"
	"--interval apart. Read-only: never writes to a ring.\n"
	"\n"
	"  -i, --interval SEC  seconds between the snapshots rates come from\n"
	"                      (default 1; 0: one snapshot, no rates)\n"
	"  -c, --count N       reports to print, one per interval (default 1;\n"
	"                      0: until interrupted)\n"
	"  --all               every qshm ring in /dev/shm (rediscovered at\n"
	"                      each sample)\n"
	"  --json              one JSON object per report (schema: qshm-stat(1))\n"
	"  --prometheus        the Prometheus text exposition format, once\n"
	"  --listen ADDR:PORT  serve the exposition format on GET /metrics\n"
	"                      (e.g. 127.0.0.1:9477; PORT 0 picks a free port;\n"
	"                      the URL is printed on stdout); loopback only\n"
	"  --allow-remote      let --listen use a non-loopback address\n"
	"  --duration SEC      with --listen: exit after SEC seconds\n"
	"  --max-requests N    with --listen: exit after N responses\n"
	"  --owner USER        also trust rings owned by USER (by default\n"
	"                      only your own and root's are read)\n"
	"  -h, --help          this text\n"
	"\n"
	"With --listen, rings that do not exist (yet) are reported with\n"
	"qshm_up 0; SIGINT or SIGTERM stop the server cleanly.\n"
	"\n"
	"Exit status: 0 ok; 1 error (no such ring, cannot listen); 2 usage;\n"
	"3 a NAME is not a usable qshm ring (not a qshm segment, corrupt,\n"
	"other format version, being created).\n";

struct stat_opts {
	double interval;
	uint64_t count;
	int json, prom, all, allow_remote;
	const char *listen;
	double duration;
	uint64_t max_requests;
};

static volatile sig_atomic_t stat_stop;

static void on_signal(int sig)
{
	(void)sig;
	stat_stop = 1;
}

/* Sleeps s seconds unless a signal stops us. */
static void stat_sleep(double s)
{
	uint64_t end = tools_now_ns() + (uint64_t)(s * 1e9);

	while (!stat_stop) {
		uint64_t now = tools_now_ns();
		if (now >= end)
			return;
		uint64_t left = end - now;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000u),
				       .tv_nsec = (long)(left % 1000000000u) };
		nanosleep(&ts, NULL);
	}
}

/* Prints why a ring is not attached. Returns the exit status for it. */
static int stat_report_error(const struct rs_ring *r)
{
	if (r->err == -ENOENT)
		fprintf(stderr, "qshm stat: no ring named '%s' (%s%s%s)\n",
			r->name, SNAP_SHM_DIR "/", SNAP_SHM_PREFIX, r->name);
	else if (r->errmsg[0])
		fprintf(stderr, "qshm stat: %s\n", r->errmsg);
	else
		fprintf(stderr, "qshm stat: ring '%s': %s%s%s\n", r->name,
			qshm_strerror(r->err), r->state >= 0 ? "; state " : "",
			r->state >= 0 ?
			qshm_ring_state_name((enum qshm_ring_state)r->state) :
			"");
	return snap_exit_for(r->err);
}

/* ------------------------------------------------------------------ */
/* Text and JSON reports                                                */

static void text_rate(double v, const char *unit)
{
	if (isnan(v))
		printf("%14s", "-");
	else
		printf("%12.1f%s", v, unit);
}

/* A `qshm serve` control ring: the service's own counters. */
static void text_service(const struct qshm_service_metrics *m)
{
	static const char *const le[] = { "10us", "100us", "1ms", "10ms",
					  "100ms", "1s", "all" };
	char b[32];

	snap_fmt_bytes(m->memory_budget, b, sizeof(b));
	printf("  %-12s pid %d, %u workers, --max-qubits %u, --queue %u, "
	       "--memory %s%s\n", "service", m->pid, m->workers,
	       m->max_qubits, m->queue, b, m->busy_poll ? ", --busy-poll" :
	       "");
	printf("  %-12s %llu queued, %llu running, %llu clients\n", "now",
	       (unsigned long long)m->queued, (unsigned long long)m->running,
	       (unsigned long long)m->clients);
	printf("  %-12s %llu done, %llu failed, %llu timed out, %llu "
	       "cancelled, %llu refused\n", "jobs",
	       (unsigned long long)m->done, (unsigned long long)m->failed,
	       (unsigned long long)m->timed_out,
	       (unsigned long long)m->cancelled,
	       (unsigned long long)m->refused);
	printf("  %-12s", "latency");
	for (unsigned i = 0; i < QSHM_SVC_LATENCY_BUCKETS; i++)
		printf("%s <=%s %llu", i ? "," : "", le[i],
		       (unsigned long long)m->latency_le[i]);
	if (m->latency_le[QSHM_SVC_LATENCY_BUCKETS - 1])
		printf("; mean %.1f us", m->latency_sum_s * 1e6 /
		       (double)m->latency_le[QSHM_SVC_LATENCY_BUCKETS - 1]);
	putchar('\n');
}

static void text_ring(const struct rs_ring *r)
{
	const struct snap *n = &r->cur;
	const struct qshm_ring_info *in = &n->info;
	const struct qshm_ring_stats *st = &n->st;
	const struct qshm_ring_stats *a = &r->prev.st;
	double dt = rs_dt(r);
	char b1[32], b2[32], b3[32];

	printf("ring '%s': %s, producer pid %d %s, generation %llu", r->name,
	       qshm_ring_state_name(in->state), in->creator_pid,
	       in->creator_alive ? "alive" : "dead",
	       (unsigned long long)in->generation);
	if (dt > 0)
		printf(", rates over %.2f s\n", dt);
	else
		printf(", no rates (one snapshot)\n");
	printf("  %-12s %16llu total", "records",
	       (unsigned long long)st->records);
	text_rate(rs_rate(a->records, st->records, dt), "/s");
	printf("\n  %-12s %16llu total", "bytes",
	       (unsigned long long)st->bytes);
	double br = rs_rate(a->bytes, st->bytes, dt);
	if (isnan(br)) {
		text_rate(br, "");
	} else {
		snap_fmt_bytes((uint64_t)br, b1, sizeof(b1));
		printf("%12s/s", b1);
	}
	printf("\n  %-12s %16llu total", "full waits",
	       (unsigned long long)st->full_waits);
	text_rate(rs_rate(a->full_waits, st->full_waits, dt), "/s");
	printf("\n  %-12s %16llu total", "wake-ups",
	       (unsigned long long)st->wakes);
	text_rate(rs_rate(a->wakes, st->wakes, dt), "/s");
	printf("\n  %-12s %16llu total\n", "evictions",
	       (unsigned long long)st->evictions);
	printf("  %-12s write %llu, oldest %llu, %llu bytes in ring of "
	       "%llu\n", "positions", (unsigned long long)st->write_pos,
	       (unsigned long long)st->oldest_pos,
	       (unsigned long long)(st->write_pos - st->oldest_pos),
	       (unsigned long long)in->capacity);
	struct qshm_service_metrics m;
	if (r->is_service && qshm_service_metrics_decode(st->user, r->meta,
							 r->meta_len,
							 &m) == 0) {
		text_service(&m);
	} else if (st->user[0] || st->user[1] || st->user[2]) {
		snap_fmt_bytes(st->user[0], b1, sizeof(b1));
		snap_fmt_bytes(st->user[1], b2, sizeof(b2));
		snap_fmt_bytes(st->user[2], b3, sizeof(b3));
		printf("  %-12s allocated %s, active %s, resident %s\n",
		       "memory", b1, b2, b3);
	} else {
		printf("  %-12s not published by this producer\n", "memory");
	}
	if (!r->is_service && (st->user[4] || st->user[3])) {
		printf("  %-12s %llu of %llu shots published", "run",
		       (unsigned long long)st->user[3],
		       (unsigned long long)st->user[4]);
		if (st->user[5]) {
			snap_fmt_bytes(st->user[5], b1, sizeof(b1));
			printf("; state vector %s", b1);
		}
		putchar('\n');
	}
	unsigned nrel = 0, nlossy = 0;
	for (unsigned i = 0; i < n->nslots; i++) {
		nrel += n->slots[i].state == QSHM_SLOT_STATE_RELIABLE;
		nlossy += n->slots[i].state == QSHM_SLOT_STATE_LOSSY;
	}
	printf("  %-12s %u reliable, %u lossy\n", "consumers", nrel, nlossy);
	if (!n->nslots)
		return;
	printf("    %-4s %-8s %-5s %-9s %12s %10s %12s %12s %10s %10s\n",
	       "SLOT", "PID", "ALIVE", "KIND", "LAG-BYTES", "LAG-REC",
	       "READ", "READ/S", "LOST", "LOST/S");
	for (unsigned i = 0; i < n->nslots; i++) {
		const struct qshm_slot_info *si = &n->slots[i];
		const struct qshm_slot_info *p = rs_same_slot(&r->prev, si);
		uint64_t lag = si->position < st->write_pos ?
			       st->write_pos - si->position : 0;
		double rr = p ? rs_rate(p->records, si->records, dt) : NAN;
		double lr = p ? rs_rate(p->lost, si->lost, dt) : NAN;
		printf("    %-4u %-8d %-5s %-9s %12llu %10llu %12llu ",
		       si->index, si->pid, si->alive ? "yes" : "no",
		       snap_kind_name(si->state), (unsigned long long)lag,
		       (unsigned long long)rs_lag_records(n, si, lag),
		       (unsigned long long)si->records);
		if (isnan(rr))
			printf("%12s", "-");
		else
			printf("%12.1f", rr);
		printf(" %10llu ", (unsigned long long)si->lost);
		if (isnan(lr))
			printf("%10s\n", "-");
		else
			printf("%10.1f\n", lr);
	}
}

static void json_rate(struct json *j, const char *key, double v)
{
	if (isnan(v))
		json_null(j, key);
	else
		json_double(j, key, v);
}

static void json_ring(struct json *j, const struct rs_ring *r)
{
	json_obj(j, NULL);
	json_str(j, "ring", r->name);
	if (!r->c || !r->nsamples) {
		json_str(j, "state", r->state >= 0 ?
			 qshm_ring_state_name((enum qshm_ring_state)r->state) :
			 "absent");
		json_bool(j, "up", 0);
		json_str(j, "error", r->errmsg[0] ? r->errmsg :
			 qshm_strerror(r->err));
		json_end(j);
		return;
	}
	const struct snap *n = &r->cur;
	const struct qshm_ring_info *in = &n->info;
	const struct qshm_ring_stats *st = &n->st, *a = &r->prev.st;
	double dt = rs_dt(r);

	json_str(j, "state", qshm_ring_state_name(in->state));
	json_bool(j, "up", 1);
	json_obj(j, "producer");
	json_i64(j, "pid", in->creator_pid);
	json_bool(j, "alive", in->creator_alive);
	json_end(j);
	json_u64(j, "generation", in->generation);
	json_u64(j, "capacity", in->capacity);
	json_u64(j, "records", st->records);
	json_u64(j, "bytes", st->bytes);
	json_u64(j, "full_waits", st->full_waits);
	json_u64(j, "wakes", st->wakes);
	json_u64(j, "evictions", st->evictions);
	json_obj(j, "rates");
	json_rate(j, "records_per_s", rs_rate(a->records, st->records, dt));
	json_rate(j, "bytes_per_s", rs_rate(a->bytes, st->bytes, dt));
	json_rate(j, "full_waits_per_s", rs_rate(a->full_waits,
						 st->full_waits, dt));
	json_rate(j, "wakes_per_s", rs_rate(a->wakes, st->wakes, dt));
	json_rate(j, "evictions_per_s", rs_rate(a->evictions, st->evictions,
						dt));
	json_end(j);
	json_obj(j, "positions");
	json_u64(j, "write", st->write_pos);
	json_u64(j, "oldest", st->oldest_pos);
	json_end(j);
	if (!r->is_service) {   /* a service's counters are its own */
		json_obj(j, "memory");
		json_u64(j, "allocated", st->user[0]);
		json_u64(j, "active", st->user[1]);
		json_u64(j, "resident", st->user[2]);
		json_end(j);
		json_obj(j, "run");
		json_u64(j, "shots_published", st->user[3]);
		json_u64(j, "shots_requested", st->user[4]);
		json_u64(j, "state_vector_bytes", st->user[5]);
		json_end(j);
	}
	struct qshm_service_metrics m;
	if (r->is_service && qshm_service_metrics_decode(st->user, r->meta,
							 r->meta_len,
							 &m) == 0) {
		json_obj(j, "service");
		json_i64(j, "pid", m.pid);
		json_u64(j, "workers", m.workers);
		json_u64(j, "max_qubits", m.max_qubits);
		json_u64(j, "queue", m.queue);
		json_u64(j, "memory_budget", m.memory_budget);
		json_bool(j, "busy_poll", (int)m.busy_poll);
		json_u64(j, "queued", m.queued);
		json_u64(j, "running", m.running);
		json_u64(j, "clients", m.clients);
		json_u64(j, "done", m.done);
		json_u64(j, "failed", m.failed);
		json_u64(j, "timed_out", m.timed_out);
		json_u64(j, "cancelled", m.cancelled);
		json_u64(j, "refused", m.refused);
		json_arr(j, "latency_le_seconds");
		for (unsigned i = 0; i + 1 < QSHM_SVC_LATENCY_BUCKETS; i++)
			json_double(j, NULL, qshm_service_latency_bound(i));
		json_end(j);
		json_arr(j, "latency_buckets");
		for (unsigned i = 0; i < QSHM_SVC_LATENCY_BUCKETS; i++)
			json_u64(j, NULL, m.latency_le[i]);
		json_end(j);
		json_double(j, "latency_sum_seconds", m.latency_sum_s);
		json_end(j);
	}
	json_arr(j, "user");
	for (unsigned i = 0; i < 16; i++)
		json_u64(j, NULL, st->user[i]);
	json_end(j);
	json_arr(j, "consumers");
	for (unsigned i = 0; i < n->nslots; i++) {
		const struct qshm_slot_info *si = &n->slots[i];
		const struct qshm_slot_info *p = rs_same_slot(&r->prev, si);
		uint64_t lag = si->position < st->write_pos ?
			       st->write_pos - si->position : 0;
		json_obj(j, NULL);
		json_u64(j, "slot", si->index);
		json_i64(j, "pid", si->pid);
		json_bool(j, "alive", si->alive);
		json_str(j, "kind", snap_kind_name(si->state));
		json_u64(j, "position", si->position);
		json_u64(j, "lag_bytes", lag);
		json_u64(j, "lag_records", rs_lag_records(n, si, lag));
		json_bool(j, "lag_records_exact",
			  si->next_seq != QSHM_SEQ_UNKNOWN);
		json_u64(j, "records", si->records);
		json_u64(j, "lost", si->lost);
		json_rate(j, "records_per_s", p ? rs_rate(p->records,
							  si->records, dt) :
			  NAN);
		json_rate(j, "lost_per_s", p ? rs_rate(p->lost, si->lost, dt) :
			  NAN);
		json_end(j);
	}
	json_end(j);
	json_end(j);
}

static void report(const struct rs_set *s, int json)
{
	if (json) {
		struct json j;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_u64(&j, "time_ns", (uint64_t)now.tv_sec * 1000000000u +
			 (uint64_t)now.tv_nsec);
		json_arr(&j, "rings");
		for (size_t i = 0; i < s->n; i++)
			json_ring(&j, &s->v[i]);
		json_end(&j);
		json_done(&j);
		return;
	}
	int shown = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct rs_ring *r = &s->v[i];
		if (!r->c || !r->nsamples) {
			/* Listed, but not usable (another format, being
			 * created, not ours, truncated...): say why, go on. */
			if (r->err == -ENOENT && !r->errmsg[0])
				continue;
			if (shown++)
				putchar('\n');
			printf("ring '%s': not usable (%s): %s\n", r->name,
			       r->state >= 0 ? qshm_ring_state_name(
				       (enum qshm_ring_state)r->state) :
					       "absent",
			       r->errmsg[0] ? r->errmsg :
					      qshm_strerror(r->err));
			continue;
		}
		if (shown++)
			putchar('\n');
		text_ring(r);
	}
	if (!shown && s->all)
		printf("no rings\n");
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* --listen                                                             */

struct server_ctx {
	struct rs_set *set;
	uint64_t scrapes;
};

static int handle(void *arg, const char *path, FILE *body,
		  const char **ctype)
{
	struct server_ctx *ctx = arg;

	if (!strcmp(path, "/metrics")) {
		rs_refresh(ctx->set);
		rs_snap_now(ctx->set);
		metrics_write(body, ctx->set, ++ctx->scrapes);
		*ctype = METRICS_CONTENT_TYPE;
		return 200;
	}
	if (!strcmp(path, "/")) {
		fputs("<html><head><title>qshm stat</title></head><body>\n"
		      "<h1>qshm stat</h1><p><a href=\"/metrics\">metrics</a>"
		      "</p>\n</body></html>\n", body);
		*ctype = "text/html; charset=utf-8";
		return 200;
	}
	fputs("not found; the metrics are at /metrics\n", body);
	return 404;
}

static int serve(struct rs_set *set, const struct stat_opts *o)
{
	struct http_server srv;
	struct server_ctx ctx = { .set = set };
	char err[256];
	sigset_t block, old;

	if (http_listen(o->listen, o->allow_remote, &srv, err, sizeof(err))) {
		fprintf(stderr, "qshm stat: --listen %s\n", err);
		return SNAP_EXIT_ERROR;
	}
	/* SIGINT and SIGTERM are blocked except inside ppoll(), so one that
	 * arrives between the flag check and the wait is not missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigset_t wait_mask = old;
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);

	printf("listening on %s/metrics\n", srv.url);
	fflush(stdout);
	uint64_t t0 = tools_now_ns();
	uint64_t end = o->duration > 0 ? t0 + (uint64_t)(o->duration * 1e9)
				       : 0;
	uint64_t step = (uint64_t)(o->interval * 1e9);
	uint64_t next = t0, served = 0;
	const char *why = "signal";

	for (;;) {
		if (stat_stop)
			break;
		if (o->max_requests && served >= o->max_requests) {
			why = "--max-requests reached";
			break;
		}
		uint64_t now = tools_now_ns();
		if (end && now >= end) {
			why = "--duration elapsed";
			break;
		}
		if (now >= next) {
			rs_refresh(set);
			rs_sample(set);
			next += step;
			if (next <= now)
				next = now + step;
		}
		uint64_t wake = next;
		if (end && end < wake)
			wake = end;
		now = tools_now_ns();
		uint64_t left = wake > now ? wake - now : 0;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000u),
				       .tv_nsec = (long)(left % 1000000000u) };
		struct pollfd p = { .fd = srv.fd, .events = POLLIN };
		int n = ppoll(&p, 1, &ts, &wait_mask);
		if (n <= 0)
			continue; /* timeout, or EINTR from a signal */
		int r = http_serve_one(&srv, handle, &ctx);
		if (r > 0) {
			served++;
		} else if (r < 0) {
			fprintf(stderr, "qshm stat: accept: %s\n",
				strerror(errno));
			stat_sleep(0.1);
		}
	}
	http_close(&srv);
	sigprocmask(SIG_SETMASK, &old, NULL);
	fprintf(stderr, "qshm stat: stopping (%s) after %llu responses\n",
		why, (unsigned long long)served);
	return SNAP_EXIT_OK;
}

/* ------------------------------------------------------------------ */

int qshm_cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "allow-remote", no_argument, NULL, 'R' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-requests", required_argument, NULL, 'm' },
		{ "owner", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat_opts o = { .interval = 1, .count = 1 };
	int ch, rc = SNAP_EXIT_OK;

	optind = 1;
	opterr = 0; /* our own message, in the common style */
	while ((ch = getopt_long(argc, argv, "i:c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			if (tools_parse_double(optarg, &o.interval) ||
			    !(o.interval >= 0) || o.interval > 86400)
				return tools_usage_error("stat", "--interval "
							 "wants seconds, got "
							 "'%s'", optarg);
			break;
		case 'c':
			if (tools_parse_u64(optarg, &o.count))
				return tools_usage_error(
					"stat", "--count wants a count, got "
					"'%s'", optarg);
			break;
		case 'a': o.all = 1; break;
		case 'j': o.json = 1; break;
		case 'p': o.prom = 1; break;
		case 'l': o.listen = optarg; break;
		case 'R': o.allow_remote = 1; break;
		case 'd':
			if (tools_parse_double(optarg, &o.duration) ||
			    !(o.duration > 0))
				return tools_usage_error("stat", "--duration "
							 "wants seconds > 0, "
							 "got '%s'", optarg);
			break;
		case 'm':
			if (tools_parse_u64(optarg, &o.max_requests) ||
			    !o.max_requests)
				return tools_usage_error(
					"stat", "--max-requests wants a count "
					"> 0, got '%s'", optarg);
			break;
		case 'o':
			if (tools_allow_owner("stat", optarg))
				return SNAP_EXIT_USAGE;
			break;
		case 'h': fputs(stat_usage, stdout); return SNAP_EXIT_OK;
		default:
			return tools_usage_error("stat", "unknown option "
						 "or missing value: '%s'",
						 argv[optind - 1]);
		}
	}
	if (o.all == (optind < argc))
		return tools_usage_error("stat", "%s", o.all ?
					 "--all takes no names" :
					 "a ring name (or --all) expected");
	if (o.json + o.prom + (o.listen != NULL) > 1)
		return tools_usage_error("stat", "--json, --prometheus and "
					 "--listen exclude each other");
	if ((o.duration > 0 || o.max_requests || o.allow_remote) && !o.listen)
		return tools_usage_error("stat", "--duration, --max-requests "
					 "and --allow-remote go with --listen");
	if (o.listen && !(o.interval > 0))
		return tools_usage_error("stat", "--listen needs an interval "
					 "> 0");
	if (o.interval == 0 && o.count != 1)
		return tools_usage_error("stat", "--count needs an interval "
					 "> 0");
	if ((o.prom || o.listen) && o.count != 1)
		return tools_usage_error("stat", "--count goes with text and "
					 "--json reports");

	struct rs_set set = { .all = o.all };
	for (int i = optind; i < argc; i++) {
		if (qshm_name_check(argv[i])) {
			rs_free(&set);
			return tools_usage_error("stat", "%s",
						 qshm_last_error());
		}
		if (rs_add(&set, argv[i])) {
			rs_free(&set);
			fprintf(stderr, "qshm stat: out of memory\n");
			return SNAP_EXIT_ERROR;
		}
	}

	if (o.listen) {
		rc = serve(&set, &o);
		rs_free(&set);
		return rc;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rs_refresh(&set);
	/* Named rings that cannot be used: a message and status 3 (or 1).
	 * With --all they are part of the report (state and reason) and do
	 * not change the status: a foreign object in /dev/shm is not an
	 * error of the command. */
	for (size_t i = 0; i < set.n && !o.all; i++)
		if (!set.v[i].c) {
			int r = stat_report_error(&set.v[i]);
			if (r > rc)
				rc = r;
		}
	rs_sample(&set);
	if (o.prom) {
		if (o.interval > 0) {
			stat_sleep(o.interval);
			rs_sample(&set);
		}
		rs_snap_now(&set);
		metrics_write(stdout, &set, 0);
		fflush(stdout);
		rs_free(&set);
		return stat_stop ? SNAP_EXIT_ERROR : rc;
	}
	if (o.interval == 0) {
		report(&set, o.json);
	} else {
		for (uint64_t k = 0; !stat_stop && (!o.count || k < o.count);
		     k++) {
			stat_sleep(o.interval);
			if (stat_stop)
				break;
			/* Picks up rings that appeared or were replaced (a
			 * replaced ring starts its rates over). */
			rs_refresh(&set);
			rs_sample(&set);
			report(&set, o.json);
		}
	}
	rs_free(&set);
	return rc;
}
