/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - Prometheus text exposition of the watched rings (see
 * metrics.h). Every family is written once, with all its samples
 * together (the format requires it), rings in the set's order.
 */
#include <math.h>
#include <string.h>

#include "metrics.h"
#include "qshm/client.h"

/* A sample value: exact for integers, a double for rates. */
struct mval {
	int is_int;
	uint64_t u;
	double d;
};

static struct mval mu(uint64_t u)
{
	return (struct mval){ .is_int = 1, .u = u };
}

static struct mval md(double d)
{
	return (struct mval){ .is_int = 0, .d = d };
}

enum m_ring {
	M_UP, M_PRODUCER_ALIVE, M_PRODUCER_PID, M_GENERATION, M_CREATED,
	M_SIZE, M_CAPACITY, M_MAX_RECORD, M_SLOTS,
	M_WRITE_POS, M_OLDEST_POS, M_USED,
	M_RECORDS, M_BYTES, M_FULL_WAITS, M_WAKES, M_EVICTIONS,
	M_RECORDS_RATE, M_BYTES_RATE, M_FULL_WAITS_RATE, M_WAKES_RATE,
	M_ALLOCATED, M_ACTIVE, M_RESIDENT, M_SHOTS, M_SHOTS_REQUESTED,
	M_STATE_BYTES,
};

enum m_cons {
	MC_ALIVE, MC_POSITION, MC_LAG_BYTES, MC_LAG_RECORDS, MC_RECORDS,
	MC_LOST, MC_RECORDS_RATE, MC_LOST_RATE,
};

struct m_fam {
	const char *name, *type, *help;
	int id;
};

static const struct m_fam ring_fams[] = {
	{ "qshm_up", "gauge", "1 if the ring could be attached and read, "
	  "else 0.", M_UP },
	{ "qshm_producer_alive", "gauge", "1 if the ring's producer "
	  "(creator) process is alive.", M_PRODUCER_ALIVE },
	{ "qshm_producer_pid", "gauge", "Process id of the ring's producer.",
	  M_PRODUCER_PID },
	{ "qshm_ring_generation", "gauge", "Generation of the ring (1, or "
	  "the replaced stale ring's + 1).", M_GENERATION },
	{ "qshm_ring_created_timestamp_seconds", "gauge", "When the ring was "
	  "created, seconds since the Unix epoch.", M_CREATED },
	{ "qshm_ring_size_bytes", "gauge", "Size of the shared memory "
	  "object.", M_SIZE },
	{ "qshm_ring_capacity_bytes", "gauge", "Bytes of the ring's data "
	  "area.", M_CAPACITY },
	{ "qshm_ring_max_record_bytes", "gauge", "Largest record payload "
	  "the ring accepts.", M_MAX_RECORD },
	{ "qshm_ring_consumer_slots", "gauge", "Slots in the ring's consumer "
	  "table.", M_SLOTS },
	{ "qshm_ring_write_position_bytes", "gauge", "Committed end of the "
	  "ring, a free-running byte position.", M_WRITE_POS },
	{ "qshm_ring_oldest_position_bytes", "gauge", "Position of the "
	  "oldest intact record.", M_OLDEST_POS },
	{ "qshm_ring_used_bytes", "gauge", "Bytes between the oldest intact "
	  "record and the committed end.", M_USED },
	{ "qshm_records_total", "counter", "Records the producer committed.",
	  M_RECORDS },
	{ "qshm_payload_bytes_total", "counter", "Payload bytes the producer "
	  "committed.", M_BYTES },
	{ "qshm_full_waits_total", "counter", "Claims that found the ring "
	  "full (back-pressure from reliable consumers).", M_FULL_WAITS },
	{ "qshm_wakeups_total", "counter", "Futex wake calls the producer "
	  "made for sleeping consumers.", M_WAKES },
	{ "qshm_evictions_total", "counter", "Dead reliable consumers the "
	  "producer evicted.", M_EVICTIONS },
	{ "qshm_records_per_second", "gauge", "Records committed per second "
	  "over the last stat interval.", M_RECORDS_RATE },
	{ "qshm_payload_bytes_per_second", "gauge", "Payload bytes committed "
	  "per second over the last stat interval.", M_BYTES_RATE },
	{ "qshm_full_waits_per_second", "gauge", "Full-ring waits per second "
	  "over the last stat interval.", M_FULL_WAITS_RATE },
	{ "qshm_wakeups_per_second", "gauge", "Wake calls per second over "
	  "the last stat interval.", M_WAKES_RATE },
	{ "qshm_producer_allocated_bytes", "gauge", "Bytes the producer has "
	  "allocated (jemalloc stats.allocated, user counter 0).",
	  M_ALLOCATED },
	{ "qshm_producer_active_bytes", "gauge", "Bytes in the producer's "
	  "active pages (jemalloc stats.active, user counter 1).",
	  M_ACTIVE },
	{ "qshm_producer_resident_bytes", "gauge", "Producer memory resident "
	  "per its allocator (jemalloc stats.resident, user counter 2).",
	  M_RESIDENT },
	{ "qshm_run_shots_published", "gauge", "Shots published so far in "
	  "the current run (user counter 3).", M_SHOTS },
	{ "qshm_run_shots_requested", "gauge", "Shots requested for the "
	  "current run (user counter 4).", M_SHOTS_REQUESTED },
	{ "qshm_state_vector_bytes", "gauge", "Bytes of the producer's state "
	  "vector (user counter 5).", M_STATE_BYTES },
};

static const struct m_fam cons_fams[] = {
	{ "qshm_consumer_alive", "gauge", "1 if the consumer process is "
	  "alive.", MC_ALIVE },
	{ "qshm_consumer_position_bytes", "gauge", "Position the consumer "
	  "has released (lossy: read) up to.", MC_POSITION },
	{ "qshm_consumer_lag_bytes", "gauge", "Bytes between the consumer's "
	  "position and the committed end.", MC_LAG_BYTES },
	{ "qshm_consumer_lag_records", "gauge", "Records the consumer is "
	  "behind, from the sequence number it publishes (estimated from its "
	  "lag in bytes before it has read anything).", MC_LAG_RECORDS },
	{ "qshm_consumer_records_total", "counter", "Records the consumer "
	  "has read.", MC_RECORDS },
	{ "qshm_consumer_lost_total", "counter", "Records a lossy consumer "
	  "lost (overwritten before it read them).", MC_LOST },
	{ "qshm_consumer_records_per_second", "gauge", "Records read per "
	  "second over the last stat interval.", MC_RECORDS_RATE },
	{ "qshm_consumer_lost_per_second", "gauge", "Records lost per second "
	  "over the last stat interval.", MC_LOST_RATE },
};

static const char *const slot_kinds[] = { "reliable", "lossy", "evicted",
					  "attaching" };
static const uint32_t slot_kind_states[] = {
	QSHM_SLOT_STATE_RELIABLE, QSHM_SLOT_STATE_LOSSY,
	QSHM_SLOT_STATE_EVICTED, QSHM_SLOT_STATE_CLAIMED,
};

/* A label value: backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void value(FILE *f, struct mval v)
{
	if (v.is_int)
		fprintf(f, " %llu\n", (unsigned long long)v.u);
	else if (isnan(v.d))
		fputs(" NaN\n", f);
	else if (isinf(v.d))
		fputs(v.d > 0 ? " +Inf\n" : " -Inf\n", f);
	else
		fprintf(f, " %.17g\n", v.d);
}

static void family(FILE *f, const struct m_fam *m)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
		m->type);
}

/* Value of a ring family; returns 0 if the ring has none now. */
static int ring_value(int id, const struct rs_ring *r, struct mval *v)
{
	const struct snap *n = &r->now;
	const struct qshm_ring_info *in = &n->info;
	const struct qshm_ring_stats *st = &n->st;
	double dt = rs_dt(r);

	if (id == M_UP) {
		*v = mu(r->have_now ? 1 : 0);
		return 1;
	}
	if (!r->have_now)
		return 0;
	/* A service's user counters are its own metrics, not a sim's. */
	if (r->is_service && id >= M_ALLOCATED && id <= M_STATE_BYTES)
		return 0;
	switch (id) {
	case M_PRODUCER_ALIVE: *v = mu(in->creator_alive ? 1 : 0); break;
	case M_PRODUCER_PID: *v = mu((uint64_t)(uint32_t)in->creator_pid);
		break;
	case M_GENERATION: *v = mu(in->generation); break;
	case M_CREATED: *v = md((double)in->created_ns / 1e9); break;
	case M_SIZE: *v = mu(in->size); break;
	case M_CAPACITY: *v = mu(in->capacity); break;
	case M_MAX_RECORD: *v = mu(in->max_record); break;
	case M_SLOTS: *v = mu(in->max_consumers); break;
	case M_WRITE_POS: *v = mu(st->write_pos); break;
	case M_OLDEST_POS: *v = mu(st->oldest_pos); break;
	case M_USED: *v = mu(st->write_pos >= st->oldest_pos ?
			     st->write_pos - st->oldest_pos : 0); break;
	case M_RECORDS: *v = mu(st->records); break;
	case M_BYTES: *v = mu(st->bytes); break;
	case M_FULL_WAITS: *v = mu(st->full_waits); break;
	case M_WAKES: *v = mu(st->wakes); break;
	case M_EVICTIONS: *v = mu(st->evictions); break;
	case M_RECORDS_RATE:
	case M_BYTES_RATE:
	case M_FULL_WAITS_RATE:
	case M_WAKES_RATE: {
		if (!(dt > 0))
			return 0;
		const struct qshm_ring_stats *a = &r->prev.st, *b = &r->cur.st;
		*v = md(id == M_RECORDS_RATE ? rs_rate(a->records, b->records,
						       dt) :
			id == M_BYTES_RATE ? rs_rate(a->bytes, b->bytes, dt) :
			id == M_FULL_WAITS_RATE ? rs_rate(a->full_waits,
							  b->full_waits, dt) :
			rs_rate(a->wakes, b->wakes, dt));
		break;
	}
	case M_ALLOCATED: *v = mu(st->user[0]); break;
	case M_ACTIVE: *v = mu(st->user[1]); break;
	case M_RESIDENT: *v = mu(st->user[2]); break;
	case M_SHOTS: *v = mu(st->user[3]); break;
	case M_SHOTS_REQUESTED: *v = mu(st->user[4]); break;
	case M_STATE_BYTES: *v = mu(st->user[5]); break;
	default: return 0;
	}
	return 1;
}

static int cons_value(int id, const struct rs_ring *r,
		      const struct qshm_slot_info *si, struct mval *v)
{
	const struct snap *n = &r->now;
	uint64_t end = n->st.write_pos;
	uint64_t lag = si->position < end ? end - si->position : 0;
	double dt = rs_dt(r);

	switch (id) {
	case MC_ALIVE: *v = mu(si->alive ? 1 : 0); return 1;
	case MC_POSITION: *v = mu(si->position); return 1;
	case MC_LAG_BYTES: *v = mu(lag); return 1;
	case MC_LAG_RECORDS: *v = mu(rs_lag_records(n, si, lag));
		return 1;
	case MC_RECORDS: *v = mu(si->records); return 1;
	case MC_LOST: *v = mu(si->lost); return 1;
	case MC_RECORDS_RATE:
	case MC_LOST_RATE: {
		if (!(dt > 0))
			return 0;
		const struct qshm_slot_info *b = rs_same_slot(&r->cur, si);
		const struct qshm_slot_info *a = b ? rs_same_slot(&r->prev, b)
						   : NULL;
		if (!a)
			return 0;
		*v = md(id == MC_RECORDS_RATE ?
			rs_rate(a->records, b->records, dt) :
			rs_rate(a->lost, b->lost, dt));
		return 1;
	}
	}
	return 0;
}

static void ring_label(FILE *f, const char *name, const char *more)
{
	fputs("{ring=", f);
	label_value(f, name);
	if (more)
		fputs(more, f);
}

/* `qshm serve` control rings: the service's own metrics
 * (docs/service.md, "Metrics"). */
enum m_svc {
	MS_WORKERS, MS_BUDGET, MS_BUSY, MS_QUEUED, MS_RUNNING, MS_CLIENTS,
	MS_DONE, MS_FAILED, MS_TIMEDOUT, MS_CANCELLED, MS_REFUSED,
};

static const struct m_fam svc_fams[] = {
	{ "qshm_service_workers", "gauge", "Worker threads of the service "
	  "(serve --workers).", MS_WORKERS },
	{ "qshm_service_memory_budget_bytes", "gauge", "Bytes of state "
	  "vectors the service runs at once (serve --memory).", MS_BUDGET },
	{ "qshm_service_busy_poll", "gauge", "1 if the service spins "
	  "instead of sleeping (serve --busy-poll).", MS_BUSY },
	{ "qshm_service_jobs_queued", "gauge", "Jobs waiting for a worker.",
	  MS_QUEUED },
	{ "qshm_service_jobs_running", "gauge", "Jobs on a worker or waiting "
	  "for memory.", MS_RUNNING },
	{ "qshm_service_clients", "gauge", "Clients connected.",
	  MS_CLIENTS },
	{ "qshm_service_jobs_done_total", "counter", "Jobs (and "
	  "registrations) that returned their result.", MS_DONE },
	{ "qshm_service_jobs_failed_total", "counter", "Jobs that returned "
	  "an error (bad circuit, too large, ...).", MS_FAILED },
	{ "qshm_service_jobs_timed_out_total", "counter", "Jobs dropped at "
	  "their deadline.", MS_TIMEDOUT },
	{ "qshm_service_jobs_cancelled_total", "counter", "Jobs cancelled "
	  "by their client or its end.", MS_CANCELLED },
	{ "qshm_service_requests_refused_total", "counter", "Malformed "
	  "requests and jobs refused for a full queue.", MS_REFUSED },
};

static uint64_t svc_value(int id, const struct qshm_service_metrics *m)
{
	switch (id) {
	case MS_WORKERS: return m->workers;
	case MS_BUDGET: return m->memory_budget;
	case MS_BUSY: return m->busy_poll;
	case MS_QUEUED: return m->queued;
	case MS_RUNNING: return m->running;
	case MS_CLIENTS: return m->clients;
	case MS_DONE: return m->done;
	case MS_FAILED: return m->failed;
	case MS_TIMEDOUT: return m->timed_out;
	case MS_CANCELLED: return m->cancelled;
	default: return m->refused;
	}
}

static void service_families(FILE *f, const struct rs_set *s)
{
	struct qshm_service_metrics m;
	int any;

	for (size_t k = 0; k < sizeof(svc_fams) / sizeof(svc_fams[0]); k++) {
		any = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (rs_service_metrics(&s->v[i], &m))
				continue;
			if (!any++)
				family(f, &svc_fams[k]);
			fputs(svc_fams[k].name, f);
			ring_label(f, s->v[i].name, NULL);
			fputc('}', f);
			value(f, mu(svc_value(svc_fams[k].id, &m)));
		}
	}
	any = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (rs_service_metrics(&s->v[i], &m))
			continue;
		if (!any++)
			fputs("# HELP qshm_service_job_latency_seconds Time "
			      "from the service reading a job's request to "
			      "its reply committed.\n# TYPE "
			      "qshm_service_job_latency_seconds histogram\n",
			      f);
		for (unsigned b = 0; b < QSHM_SVC_LATENCY_BUCKETS; b++) {
			char le[64];
			double bound = qshm_service_latency_bound(b);
			if (isinf(bound))
				snprintf(le, sizeof(le), ",le=\"+Inf\"");
			else
				snprintf(le, sizeof(le), ",le=\"%g\"", bound);
			fputs("qshm_service_job_latency_seconds_bucket", f);
			ring_label(f, s->v[i].name, le);
			fputc('}', f);
			value(f, mu(m.latency_le[b]));
		}
		fputs("qshm_service_job_latency_seconds_sum", f);
		ring_label(f, s->v[i].name, NULL);
		fputc('}', f);
		value(f, md(m.latency_sum_s));
		fputs("qshm_service_job_latency_seconds_count", f);
		ring_label(f, s->v[i].name, NULL);
		fputc('}', f);
		value(f, mu(m.latency_le[QSHM_SVC_LATENCY_BUCKETS - 1]));
	}
}

void metrics_write(FILE *f, const struct rs_set *s, uint64_t scrapes)
{
	struct mval v;

	for (size_t k = 0; k < sizeof(ring_fams) / sizeof(ring_fams[0]); k++) {
		const struct m_fam *m = &ring_fams[k];
		int any = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (!ring_value(m->id, &s->v[i], &v))
				continue;
			if (!any++)
				family(f, m);
			fputs(m->name, f);
			ring_label(f, s->v[i].name, NULL);
			fputc('}', f);
			value(f, v);
		}
		if (k == 0 && s->n) {
			/* After qshm_up: the state set, one sample per
			 * state, 1 for the ring's current one. */
			fputs("# HELP qshm_ring_state 1 for the ring's state "
			      "(live, closed, stale, creating, not-qshm, "
			      "corrupt, version, absent), 0 for the others.\n"
			      "# TYPE qshm_ring_state gauge\n", f);
			for (size_t i = 0; i < s->n; i++) {
				const struct rs_ring *r = &s->v[i];
				for (int st = -1; st <= QSHM_RING_VERSION;
				     st++) {
					fputs("qshm_ring_state", f);
					ring_label(f, r->name, ",state=");
					label_value(f, st < 0 ? "absent" :
						    qshm_ring_state_name(
							(enum qshm_ring_state)
							st));
					fputc('}', f);
					value(f, mu(r->state == st));
				}
			}
		}
	}
	/* Consumers per kind. */
	int any = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct rs_ring *r = &s->v[i];
		if (!r->have_now)
			continue;
		if (!any++)
			fputs("# HELP qshm_consumers Consumers in the ring's "
			      "table, by kind.\n# TYPE qshm_consumers gauge\n",
			      f);
		for (size_t k = 0; k < 4; k++) {
			uint64_t n = 0;
			for (unsigned j = 0; j < r->now.nslots; j++)
				n += r->now.slots[j].state ==
				     slot_kind_states[k];
			fputs("qshm_consumers", f);
			ring_label(f, r->name, ",kind=");
			label_value(f, slot_kinds[k]);
			fputc('}', f);
			value(f, mu(n));
		}
	}
	for (size_t k = 0; k < sizeof(cons_fams) / sizeof(cons_fams[0]); k++) {
		const struct m_fam *m = &cons_fams[k];
		any = 0;
		for (size_t i = 0; i < s->n; i++) {
			const struct rs_ring *r = &s->v[i];
			if (!r->have_now)
				continue;
			for (unsigned j = 0; j < r->now.nslots; j++) {
				const struct qshm_slot_info *si =
					&r->now.slots[j];
				if (!cons_value(m->id, r, si, &v))
					continue;
				if (!any++)
					family(f, m);
				char more[96];
				snprintf(more, sizeof(more), ",slot=\"%u\","
					 "pid=\"%d\",kind=", si->index,
					 si->pid);
				fputs(m->name, f);
				ring_label(f, r->name, more);
				label_value(f, snap_kind_name(si->state));
				fputc('}', f);
				value(f, v);
			}
		}
	}
	service_families(f, s);
	if (scrapes)
		fprintf(f, "# HELP qshm_exporter_scrapes_total Requests for "
			"/metrics this exporter has answered.\n"
			"# TYPE qshm_exporter_scrapes_total counter\n"
			"qshm_exporter_scrapes_total %llu\n",
			(unsigned long long)scrapes);
}
