/* SPDX-License-Identifier: MIT */
/*
 * svc_job.c - one job on a worker of `qshm serve` (docs/service.md, "A
 * job", "Replies"): parse or take the registered template, bind the
 * parameter values, simulate, and write the reply: a JOB header, then the
 * records of docs/format.md (encoded by libqshmresults) and the counts and
 * expectation records, all under the client's rep_lock so that one job's
 * records are contiguous in its reply ring.
 *
 * Counting goes through libqshmresults' qshm_counts, as `qshm sim
 * --counts` does: one counting path, and the client lists the counts
 * with qshm_counts_list() as sim does, so the outcome strings and their
 * order are the same.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "publish.h"
#include "qshm/client.h"
#include "qshm/results.h"
#include "sim.h"
#include "svc_internal.h"

/* ---- reply records ---- */

/* Claims and fills one record of up to three parts (no commit: the
 * caller commits the job's records together). */
static int put3(struct svc_client *cl, int64_t wait_ns, uint16_t type,
		const void *a, size_t alen, const void *b, size_t blen,
		const void *c, size_t clen)
{
	void *buf;
	char *p;
	int rc;

	/* An inline job's reply had room checked before it ran: no wait. */
	rc = qshm_producer_claim(cl->rep, alen + blen + clen, type,
				 wait_ns == SVC_REPLY_HELD ? 0 : wait_ns, &buf);
	if (rc)
		return rc;
	p = buf;
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	if (clen)
		memcpy(p + alen + blen, c, clen);
	return 0;
}

/* The reply lock: taken by workers (wait_ns > 0); only tried by the main
 * thread (wait_ns 0), which must never wait for a worker that streams a
 * large reply to the same client; already held by the main thread for an
 * inline job (SVC_REPLY_HELD). Returns 0 or -EBUSY. */
static int rep_lock(struct svc_client *cl, int64_t wait_ns)
{
	if (wait_ns == SVC_REPLY_HELD)
		return 0;
	if (wait_ns == 0)
		return pthread_mutex_trylock(&cl->rep_lock) ? -EBUSY : 0;
	pthread_mutex_lock(&cl->rep_lock);
	return 0;
}

static void rep_unlock(struct svc_client *cl, int64_t wait_ns)
{
	if (wait_ns != SVC_REPLY_HELD)
		pthread_mutex_unlock(&cl->rep_lock);
}

int svc_reply_error(struct svc_client *cl, int64_t wait_ns, uint64_t job,
		    int status, const char *msg)
{
	struct svc_job_hdr h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.status = status, .job = job,
	};
	int rc;

	h.msg_len = msg ? (uint32_t)strnlen(msg, SVC_MSG_MAX) : 0;
	if (rep_lock(cl, wait_ns))
		return -EBUSY;
	rc = put3(cl, wait_ns, SVC_REC_JOB, &h, sizeof(h), msg, h.msg_len,
		  NULL, 0);
	if (rc == 0)
		qshm_producer_commit(cl->rep);
	rep_unlock(cl, wait_ns);
	return rc;
}

int svc_reply_registered(struct svc_client *cl, int64_t wait_ns,
			 uint64_t circuit, int status,
			 const struct qasm_template *t, const char *msg)
{
	struct svc_registered h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.status = status, .circuit = circuit,
	};
	char *names = NULL;
	size_t nlen = 0;
	int rc;

	if (status == 0) {
		const struct qasm_circuit *c = qasm_template_shape(t);
		h.nqubits = c->nqubits;
		h.nclbits = c->nclbits;
		h.nparams = qasm_template_nparams(t);
		for (uint32_t i = 0; i < h.nparams; i++)
			nlen += strlen(qasm_template_param_name(t, i)) + 1;
		names = malloc(nlen ? nlen : 1);
		if (!names)
			return svc_reply_registered(cl, wait_ns, circuit,
						    -ENOMEM, NULL,
						    "service: out of memory");
		nlen = 0;
		for (uint32_t i = 0; i < h.nparams; i++) {
			const char *n = qasm_template_param_name(t, i);
			memcpy(names + nlen, n, strlen(n) + 1);
			nlen += strlen(n) + 1;
		}
		msg = NULL;
	}
	h.names_len = (uint32_t)nlen;
	h.msg_len = msg ? (uint32_t)strnlen(msg, SVC_MSG_MAX) : 0;
	if (rep_lock(cl, wait_ns)) {
		free(names);
		return -EBUSY;
	}
	rc = put3(cl, wait_ns, SVC_REC_REGISTERED, &h, sizeof(h), names, nlen,
		  msg, h.msg_len);
	if (rc == 0)
		qshm_producer_commit(cl->rep);
	rep_unlock(cl, wait_ns);
	free(names);
	return rc;
}

/* ---- running a job ---- */

/* Asked between batches of shots. */
static int job_should_stop(void *ctx)
{
	struct svc_job *j = ctx;

	if (atomic_load_explicit(&j->cancel, memory_order_relaxed))
		return -ECANCELED;
	if (j->h.deadline_ns && svc_mono_ns() >= j->h.deadline_ns)
		return -ETIMEDOUT;
	return 0;
}

/* Only `include "qelib1.inc"` (built in): the service reads no file a
 * client names. Conservative: any other occurrence of the word, even in
 * a comment, refuses the job. */
static int check_includes(const char *text, size_t len, char *msg,
			  size_t msglen)
{
	static const char kw[] = "include", lib[] = "\"qelib1.inc\"";
	const char *p = text, *end = text + len;

	while ((p = memmem(p, (size_t)(end - p), kw, sizeof(kw) - 1))) {
		const char *q = p + sizeof(kw) - 1;
		while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' ||
				   *q == '\n'))
			q++;
		if ((size_t)(end - q) < sizeof(lib) - 1 ||
		    memcmp(q, lib, sizeof(lib) - 1) != 0) {
			snprintf(msg, msglen, "job: error: only 'include "
				 "\"qelib1.inc\";' is allowed in a service "
				 "job (offset %zu)", (size_t)(p - text));
			return -EINVAL;
		}
		p = q;
	}
	return 0;
}

int svc_parse_text(struct svc *s, const char *name, const char *text,
		   size_t len, uint64_t max_gates, struct qasm_template **out,
		   struct rt_error *err)
{
	struct qasm_parse_opts po = { .max_gates = max_gates };
	int rc = check_includes(text, len, err->msg, sizeof(err->msg));

	if (rc) {
		err->code = rc;
		return rc;
	}
	rc = qasm_template_parse(name, text, len, &po, out, err);
	if (rc)
		return rc;
	if (qasm_template_shape(*out)->nqubits > s->cfg->max_qubits) {
		rc = rt_error_set(err, -EFBIG, "%s: error: %u qubits, the "
				  "service takes at most %u (--max-qubits)",
				  name, qasm_template_shape(*out)->nqubits,
				  s->cfg->max_qubits);
		qasm_template_free(*out);
		*out = NULL;
	}
	return rc;
}

struct shots_ctx {
	struct svc_job *j;
	qshm_counts *k;          /* COUNTS */
	uint64_t *words;         /* SHOTS: every outcome */
	size_t nwords;
};

static int job_shots(void *ctx, const uint64_t *bits, size_t n, size_t wps)
{
	struct shots_ctx *x = ctx;
	int rc = job_should_stop(x->j);

	if (rc)
		return rc;
	if (x->k && (rc = qshm_counts_add(x->k, bits, n)) != 0)
		return rc;
	if (x->words) {
		memcpy(x->words + x->nwords, bits, n * wps * 8);
		x->nwords += n * wps;
	}
	return 0;
}

/* What a job made, to be written as records. */
struct job_out {
	qshm_run *run;
	const void *begin;       /* RUN_BEGIN payload */
	size_t begin_len;
	uint64_t *cwords;        /* COUNTS: keys then counts */
	uint64_t ncounts;
	uint32_t wps;
	struct shots_ctx sh;
	const double *amps;      /* final state */
	size_t namps;
	double *probs;
	double *expect;
	uint64_t sim_ns, elapsed_ns;
};

static uint64_t vec_per_record(size_t elem)
{
	return (SVC_REPLY_MAX - sizeof(struct qshm_chunk)) / elem;
}

static uint64_t shots_per_record(uint32_t wps)
{
	return (SVC_REPLY_MAX - sizeof(struct qshm_shots)) / (8ull * wps);
}

/* Records and payload bytes of the job's reply (after the JOB header). */
static void reply_size(const struct svc_job *j, const struct job_out *o,
		       uint32_t *nrec, uint64_t *bytes)
{
	uint32_t want = j->h.want;
	uint64_t n = 2, b = o->begin_len + sizeof(struct qshm_run_end);

	if (want & SVC_WANT_COUNTS) {
		n++;
		b += sizeof(struct svc_counts_hdr) + o->ncounts * 8 *
		     ((uint64_t)o->wps + 1);
	}
	if (want & SVC_WANT_SHOTS) {
		uint64_t per = shots_per_record(o->wps);
		uint64_t k = (j->h.shots + per - 1) / per;
		n += k;
		b += k * sizeof(struct qshm_shots) + j->h.shots * 8 * o->wps;
	}
	if (want & SVC_WANT_PROBS) {
		uint64_t k = (o->namps + vec_per_record(8) - 1) /
			     vec_per_record(8);
		n += k;
		b += k * sizeof(struct qshm_chunk) + o->namps * 8;
	}
	if (want & SVC_WANT_STATE) {
		uint64_t k = (o->namps + vec_per_record(16) - 1) /
			     vec_per_record(16);
		n += k;
		b += k * sizeof(struct qshm_chunk) + o->namps * 16;
	}
	if (want & SVC_WANT_EXPECT) {
		n++;
		b += sizeof(struct svc_expect_hdr) + 16ull * j->h.nexpect;
	}
	*nrec = (uint32_t)n;
	*bytes = b;
}

static int put_vector(struct svc_client *cl, int64_t wait_ns,
		      uint32_t type, unsigned nqubits, const double *v,
		      uint64_t total, size_t elem)
{
	uint64_t per = vec_per_record(elem);
	int rc = 0;

	for (uint64_t first = 0; first < total && rc == 0; first += per) {
		struct qshm_chunk ch = {
			.nqubits = nqubits, .first = first,
			.count = total - first < per ? total - first : per,
			.total = total,
		};
		rc = put3(cl, wait_ns, (uint16_t)type, &ch,
			  sizeof(ch), (const char *)v + first * elem,
			  ch.count * elem, NULL, 0);
	}
	return rc;
}

/* The JOB header and every record, then one commit. */
static int reply_ok(struct svc_job *j, const struct qasm_circuit *c,
		    struct job_out *o)
{
	struct svc_client *cl = j->cl;
	struct svc_job_hdr h = {
		.major = SVC_WIRE_MAJOR, .minor = SVC_WIRE_MINOR,
		.job = j->h.job, .shots = j->h.shots, .sim_ns = o->sim_ns,
		.want = j->h.want, .nqubits = c->nqubits,
	};
	const int64_t w = j->inline_run ? SVC_REPLY_HELD : SVC_REPLY_WAIT_NS;
	int rc;

	reply_size(j, o, &h.nrecords, &h.bytes);
	rep_lock(cl, w);
	rc = put3(cl, w, SVC_REC_JOB, &h, sizeof(h), NULL, 0, NULL, 0);
	if (rc == 0)
		rc = put3(cl, w, QSHM_REC_RUN_BEGIN, o->begin, o->begin_len,
			  NULL, 0, NULL, 0);
	if (rc == 0 && (j->h.want & SVC_WANT_COUNTS)) {
		struct svc_counts_hdr ch = { .words_per_shot = o->wps,
					     .n = o->ncounts };
		rc = put3(cl, w, SVC_REC_COUNTS, &ch, sizeof(ch), o->cwords,
			  o->ncounts * 8 * ((size_t)o->wps + 1), NULL, 0);
	}
	if (rc == 0 && (j->h.want & SVC_WANT_SHOTS)) {
		uint64_t per = shots_per_record(o->wps);
		for (uint64_t f = 0; f < j->h.shots && rc == 0; f += per) {
			struct qshm_shots sh = {
				.first_shot = f, .words_per_shot = o->wps,
				.count = (uint32_t)(j->h.shots - f < per ?
						    j->h.shots - f : per),
			};
			rc = put3(cl, w, QSHM_REC_SHOTS, &sh, sizeof(sh),
				  o->sh.words + f * o->wps,
				  (size_t)sh.count * o->wps * 8, NULL, 0);
		}
	}
	if (rc == 0 && (j->h.want & SVC_WANT_PROBS))
		rc = put_vector(cl, w, QSHM_REC_PROBS, c->nqubits, o->probs,
				o->namps, 8);
	if (rc == 0 && (j->h.want & SVC_WANT_STATE))
		rc = put_vector(cl, w, QSHM_REC_STATE, c->nqubits, o->amps,
				o->namps, 16);
	if (rc == 0 && (j->h.want & SVC_WANT_EXPECT)) {
		struct svc_expect_hdr eh = { .n = j->h.nexpect };
		rc = put3(cl, w, SVC_REC_EXPECT, &eh, sizeof(eh), j->expect,
			  8ull * j->h.nexpect, o->expect,
			  8ull * j->h.nexpect);
	}
	if (rc == 0) {
		struct qshm_run_end e = {
			.status = QSHM_RUN_OK, .shots = j->h.shots,
			.elapsed_ns = o->elapsed_ns, .sim_ns = o->sim_ns,
		};
		rc = put3(cl, w, QSHM_REC_RUN_END, &e, sizeof(e), NULL, 0,
			  NULL, 0);
	}
	/* On a failure part of the job may be committed already (a claim
	 * that waits commits what came before): the client sees a job cut
	 * short and reports it (docs/service.md, "Replies"). */
	qshm_producer_commit(cl->rep);
	rep_unlock(cl, w);
	return rc;
}

/* <Z on mask> of the state: sum |a_i|^2 (-1)^popcount(i & mask). */
static double z_expect(const double *a, size_t n, uint64_t mask)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		double p = a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];
		sum += __builtin_parityll(i & mask) ? -p : p;
	}
	return sum;
}

static void mem_release(struct svc *s, struct svc_job *j);

static int simulate(struct svc *s, struct svc_job *j,
		    const struct qasm_circuit *c, struct job_out *o,
		    struct rt_error *err)
{
	struct sim_config cfg = SIM_CONFIG_INIT;
	struct sim_run *run = NULL;
	uint32_t want = j->h.want;
	uint64_t t0 = svc_mono_ns();
	int rc;

	if (want & SVC_WANT_EXPECT)
		for (uint32_t i = 0; i < j->h.nexpect; i++)
			if (c->nqubits < 64 && (j->expect[i] >> c->nqubits))
				return rt_error_set(err, -EINVAL, "job: error: "
						    "expectation %u names a "
						    "qubit beyond the %u of "
						    "the circuit", i,
						    c->nqubits);
	/* The configuration of `qshm sim`: same seed, same shots (results
	 * do not depend on the thread count). */
	cfg.seed = j->h.seed;
	if (j->inline_run)
		cfg.threads = 1;
	/* Batches of at most the job's shots: a one-shot job does not make
	 * the run's 4096-shot buffer (the outcomes do not depend on the
	 * batch size, sim.h). */
	if (j->h.shots && j->h.shots < SIM_DEFAULT_BATCH)
		cfg.batch_shots = (size_t)j->h.shots;
	rc = sim_run_create(&run, c, &cfg, err);
	if (rc)
		return rc;
	o->wps = (uint32_t)sim_run_words_per_shot(run);
	o->sh.j = j;
	if (want & SVC_WANT_SHOTS) {
		if (j->h.shots > SVC_SHOTS_BYTES_MAX / 8 / o->wps) {
			rc = rt_error_set(err, -E2BIG, "job: error: %llu "
					  "shots of %u words: more than the "
					  "%u MiB a job may return",
					  (unsigned long long)j->h.shots,
					  o->wps, SVC_SHOTS_BYTES_MAX >> 20);
			goto out;
		}
		o->sh.words = malloc(j->h.shots * o->wps * 8);
		if (!o->sh.words) {
			rc = rt_error_set(err, -ENOMEM, "job: error: out of "
					  "memory for the shots");
			goto out;
		}
	}
	if ((want & SVC_WANT_COUNTS) &&
	    qshm_counts_new(o->wps, &o->sh.k) != 0) {
		rc = rt_error_set(err, -ENOMEM, "job: error: out of memory");
		goto out;
	}
	if (want & (SVC_WANT_COUNTS | SVC_WANT_SHOTS)) {
		rc = job_should_stop(j);
		if (rc == 0)
			rc = sim_run_shots(run, j->h.shots, job_shots, &o->sh,
					   err);
		if (rc)
			goto out;
	}
	if (want & SVC_WANT_FINAL) {
		const double *amps;
		size_t n;

		rc = sim_run_is_deterministic(run);
		if (rc == 0)
			rc = rt_error_set(err, -ENOTSUP, "job: error: the "
					  "final state depends on random "
					  "mid-circuit outcomes: no probs, "
					  "state or expectations");
		else if (rc == 1)
			rc = sim_run_final_state(run, &amps, &n);
		if (rc) {
			rt_error_set(err, rc < 0 ? rc : -EIO, "job: error: "
				     "no final state");
			rc = rc < 0 ? rc : -EIO;
			goto out;
		}
		o->namps = n;
		o->amps = amps;        /* valid while the run lives */
		if (want & SVC_WANT_PROBS) {
			o->probs = malloc(n * sizeof(double));
			if (!o->probs) {
				rc = rt_error_set(err, -ENOMEM, "job: error: "
						  "out of memory");
				goto out;
			}
			for (size_t i = 0; i < n; i++)
				o->probs[i] = amps[2 * i] * amps[2 * i] +
					      amps[2 * i + 1] * amps[2 * i + 1];
		}
		if (want & SVC_WANT_EXPECT) {
			o->expect = malloc((j->h.nexpect ? j->h.nexpect : 1) *
					   sizeof(double));
			if (!o->expect) {
				rc = rt_error_set(err, -ENOMEM, "job: error: "
						  "out of memory");
				goto out;
			}
			/* Up to 4096 passes over the state: the cancel
			 * flag and deadline are asked between them. */
			for (uint32_t i = 0; i < j->h.nexpect; i++) {
				if ((rc = job_should_stop(j)) != 0)
					goto out;
				o->expect[i] = z_expect(amps, n, j->expect[i]);
			}
		}
	}
	if (o->sh.k) {
		o->ncounts = qshm_counts_distinct(o->sh.k);
		o->cwords = malloc(o->ncounts * 8 * ((size_t)o->wps + 1) + 8);
		if (!o->cwords) {
			rc = rt_error_set(err, -ENOMEM, "job: error: out of "
					  "memory");
			goto out;
		}
		qshm_counts_export(o->sh.k, o->cwords,
				   o->cwords + o->ncounts * o->wps,
				   o->ncounts);
	}
	o->sim_ns = svc_mono_ns() - t0;
	rc = publisher_describe(c, j->h.shots, j->h.seed,
				((want & SVC_WANT_PROBS) ? QSHM_RUN_PROBS : 0) |
				((want & SVC_WANT_STATE) ? QSHM_RUN_STATE : 0),
				0, &o->run);
	if (rc == 0)
		rc = qshm_run_payload(o->run, &o->begin, &o->begin_len);
	if (rc) {
		rt_error_set(err, rc, "job: error: cannot describe the run");
		goto out;
	}
	o->elapsed_ns = svc_mono_ns() - t0;
	if (o->ncounts * 8 * ((uint64_t)o->wps + 1) +
	    sizeof(struct svc_counts_hdr) > SVC_REPLY_MAX) {
		rc = rt_error_set(err, -E2BIG, "job: error: %llu distinct "
				  "outcomes do not fit a reply record (%u "
				  "MiB)", (unsigned long long)o->ncounts,
				  (SVC_REPLY_MAX + 64) >> 20);
		goto out;
	}
	/* The job's place in the queue and its memory go before its reply:
	 * a client that has its answer may send the next job at once. */
	mem_release(s, j);
	svc_job_leave(s, j);
	rc = reply_ok(j, c, o);
	if (rc) {
		/* The client left its reply ring full: the reply is lost. */
		rc = rt_error_set(err, -ENOBUFS, "job: error: its reply did "
				  "not fit the client's reply ring in time");
	}
	if (rc == 0)
		rc = 1;         /* replied */
out:
	qshm_counts_free(o->sh.k);
	free(o->sh.words);
	free(o->probs);
	free(o->expect);
	free(o->cwords);
	qshm_run_free(o->run);
	sim_run_destroy(run);
	return rc;
}

static void register_run(struct svc *s, struct svc_job *j)
{
	struct qasm_template *t = NULL;
	struct svc_tpl *st = NULL;
	struct rt_error err;
	bool found = false;
	int rc;

	rt_error_clear(&err);
	rc = svc_parse_text(s, "circuit", j->qasm, j->qasm_len, 0, &t, &err);
	if (rc == 0 && !(st = calloc(1, sizeof(*st))))
		rc = rt_error_set(&err, -ENOMEM, "service: out of memory");
	if (rc == 0) {
		st->t = t;
		st->refs = 1;
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < j->cl->ncircs; i++)
		if (j->cl->circs[i].id == j->h.job && !j->cl->circs[i].tpl) {
			found = true;
			if (rc == 0)
				j->cl->circs[i].tpl = st;
			else
				j->cl->circs[i] = j->cl->circs[--j->cl->ncircs];
			break;
		}
	svc_ctr_add(s, rc == 0 ? SVC_CTR_DONE : SVC_CTR_FAILED, 1);
	pthread_mutex_unlock(&s->lock);
	svc_job_leave(s, j);
	if (!atomic_load_explicit(&j->cl->gone, memory_order_relaxed))
		svc_reply_registered(j->cl, SVC_REPLY_WAIT_NS, j->h.job, rc,
				     t, err.msg[0] ? err.msg :
				     strerror(rc < 0 ? -rc : EIO));

	if (rc == 0 && !found) {      /* unregistered while parsing */
		st->refs = 0;
		svc_tpl_free(st);
	} else if (rc) {
		qasm_template_free(t);
		free(st);
	}
}

/*
 * Memory for the job's state (its need), or a place in the memory FIFO.
 * Returns 0 (reserved), 1 (queued on memwait: the worker moves on) or
 * -EFBIG (more than the whole budget).
 */
static int mem_acquire(struct svc *s, struct svc_job *j, bool waited,
		       struct rt_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (j->need > s->budget && j->need > SVC_MEM_SMALL) {
		rc = rt_error_set(err, -EFBIG, "job: error: a state of %llu "
				  "bytes is more than the service's memory "
				  "budget (%llu bytes, --memory)",
				  (unsigned long long)j->need,
				  (unsigned long long)s->budget);
	} else if (j->need <= SVC_MEM_SMALL ||
		   ((!s->mw_head || s->mw_head == j) &&
		    s->mem_used + j->need <= s->budget)) {
		/* Small states always start (at most one per worker); a
		 * larger one starts if it fits and none waits before it. */
		s->mem_used += j->need;
		j->mem_held = true;
		if (waited)
			svc_log(s, "client %s job %llu got its memory",
				j->cl->id, (unsigned long long)j->h.job);
	} else {
		svc_log(s, "client %s job %llu waits for memory (%llu bytes "
			"of state; %llu of %llu in use)", j->cl->id,
			(unsigned long long)j->h.job,
			(unsigned long long)j->need,
			(unsigned long long)s->mem_used,
			(unsigned long long)s->budget);
		j->mw_next = NULL;
		if (s->mw_tail)
			s->mw_tail->mw_next = j;
		else
			s->mw_head = j;
		s->mw_tail = j;
		j->memwaited = true;
		rc = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void mem_release(struct svc *s, struct svc_job *j)
{
	if (!j->mem_held)
		return;
	pthread_mutex_lock(&s->lock);
	s->mem_used -= j->need;
	j->mem_held = false;
	if (s->mw_head)
		svc_wake_locked(s);
	pthread_mutex_unlock(&s->lock);
}

bool svc_job_run(struct svc *s, struct svc_job *j)
{
	static const uint64_t bounds[6] = SVC_LAT_BOUNDS_NS;
	const struct qasm_template *t;
	struct job_out o;
	struct rt_error err;
	uint64_t lat;
	int rc;

	if (j->kind == SVC_JOB_REGISTER) {
		register_run(s, j);
		return false;
	}
	memset(&o, 0, sizeof(o));
	rt_error_clear(&err);
	bool waited = j->memwaited;

	/* Back from memwait (the worker took it off under svc.lock, which
	 * orders the flag set there): say so when it starts. */
	j->memwaited = false;
	rc = job_should_stop(j);
	if (rc)
		goto done;
	if (!j->c) {
		if (j->tpl) {
			t = j->tpl->t;
		} else {
			rc = svc_parse_text(s, "job", j->qasm, j->qasm_len, 0,
					&j->own, &err);
			if (rc)
				goto done;
			t = j->own;
		}
		rc = qasm_template_bind(t, j->params, j->h.nparams, &j->c,
					&err);
		if (rc)
			goto done;
	}
	j->need = (uint64_t)16 << j->c->nqubits;
	rc = mem_acquire(s, j, waited, &err);
	if (rc == 1)
		return true;
	if (rc)
		goto done;
	rc = simulate(s, j, j->c, &o, &err);
done:
	mem_release(s, j);
	svc_job_leave(s, j);
	const int64_t w = j->inline_run ? SVC_REPLY_HELD : SVC_REPLY_WAIT_NS;
	if (rc == 1) {
		rc = 0;
	} else if (rc == -ECANCELED &&
		   atomic_load_explicit(&j->cl->gone, memory_order_relaxed)) {
		;       /* nobody to tell */
	} else if (rc == -ETIMEDOUT) {
		svc_reply_error(j->cl, w, j->h.job, rc,
				"job: its deadline passed");
	} else if (rc == -ECANCELED) {
		svc_reply_error(j->cl, w, j->h.job, rc,
				"job: cancelled");
	} else {
		if (rc >= 0)
			rc = -EIO;
		svc_reply_error(j->cl, w, j->h.job, rc,
				err.msg[0] ? err.msg : strerror(-rc));
	}
	lat = svc_mono_ns() - j->t_recv;
	pthread_mutex_lock(&s->lock);
	svc_ctr_add(s, rc == 0 ? SVC_CTR_DONE : rc == -ETIMEDOUT ?
		    SVC_CTR_TIMEDOUT : rc == -ECANCELED ? SVC_CTR_CANCELLED :
		    SVC_CTR_FAILED, 1);
	for (unsigned i = 0; i < 6; i++)
		if (lat <= bounds[i]) {
			svc_ctr_add(s, SVC_CTR_LAT0 + i, 1);
			break;
		}
	svc_ctr_add(s, SVC_CTR_LAT_COUNT, 1);
	svc_ctr_add(s, SVC_CTR_LAT_SUM_NS, (int64_t)lat);
	pthread_mutex_unlock(&s->lock);
	if (!j->c_shared)
		qasm_circuit_free(j->c);
	qasm_template_free(j->own);
	j->c = NULL;
	j->c_shared = false;
	j->own = NULL;
	return false;
}

/* ---- the inline lane: small jobs on the main thread ---- */

/* A text job gives back the cached template it took and any circuit
 * bound from it: a worker parses its text again. */
static void job_untemplate(struct svc *s, struct svc_job *j)
{
	bool last;

	if (!j->c_shared)
		qasm_circuit_free(j->c);
	j->c = NULL;
	j->c_shared = false;
	pthread_mutex_lock(&s->lock);
	last = svc_tpl_unref_locked(j->tpl);
	pthread_mutex_unlock(&s->lock);
	if (last)
		svc_tpl_free(j->tpl);
	j->tpl = NULL;
}

/* Whether a shot may take a path of its own: a reset, a classical
 * condition, or an operation after a measurement. Such a circuit is
 * simulated shot by shot (sim.h), so its cost grows with the shots. */
static bool circuit_branches(const struct qasm_circuit *c)
{
	bool measured = false;

	for (size_t i = 0; i < c->nops; i++) {
		const struct qasm_op *op = &c->ops[i];

		if (op->kind == QASM_OP_RESET || op->cond ||
		    (measured && op->kind != QASM_OP_MEASURE))
			return true;
		measured |= op->kind == QASM_OP_MEASURE;
	}
	return false;
}

/* An upper bound of the reply's bytes, record headers included, from the
 * job's request and its circuit (reply_size() needs the results). The
 * RUN_BEGIN record describes every register: 16 bytes and the name each
 * (counted here as 32 and the name). */
static uint64_t reply_bound(const struct svc_job *j,
			    const struct qasm_circuit *c)
{
	uint64_t wps = (c->nclbits + 63) / 64, n = 1024;
	uint64_t namps = (uint64_t)1 << c->nqubits, outcomes = j->h.shots;

	for (uint32_t r = 0; r < c->nqregs; r++)
		n += 32 + strlen(c->qregs[r].name);
	for (uint32_t r = 0; r < c->ncregs; r++)
		n += 32 + strlen(c->cregs[r].name);
	if (wps == 0)
		wps = 1;
	if (c->nclbits < 32 && outcomes > (uint64_t)1 << c->nclbits)
		outcomes = (uint64_t)1 << c->nclbits;
	if (j->h.want & SVC_WANT_COUNTS)
		n += outcomes * 8 * (wps + 1) + 256;
	if (j->h.want & SVC_WANT_SHOTS)
		n += j->h.shots * 8 * wps + 256;
	if (j->h.want & SVC_WANT_PROBS)
		n += namps * 8 + 256;
	if (j->h.want & SVC_WANT_STATE)
		n += namps * 16 + 256;
	if (j->h.want & SVC_WANT_EXPECT)
		n += 16ull * j->h.nexpect + 256;
	return n;
}

/*
 * Runs J on the calling (main) thread when it is small and nothing waits,
 * instead of handing it to a worker: a blocking round trip then costs the
 * client's wake-up of the main thread and the main thread's wake-up of the
 * client, and no third one of a worker; with --busy-poll, none at all
 * (docs/service.md, "The inline lane").
 *
 * Small, each bound checked before the work it bounds: at most
 * s->inline_qubits qubits (--inline-qubits); a text of at most
 * SVC_INLINE_TEXT bytes parsed, and a bind that expands, at most
 * SVC_INLINE_GATES gate applications; at most SVC_INLINE_WORK amplitude
 * updates (operations x 2^qubits, times the shots when shots branch, plus
 * 2^qubits per expectation) and SVC_INLINE_SHOTS shots; a reply of at most
 * SVC_INLINE_REPLY bytes that the reply ring has room for twice over, so
 * that writing it never waits. Nothing waits: no job queued or waiting
 * for memory (an inline job never passes a queued one), and the client's
 * reply lock free (taken, and held through the job: no worker writes to
 * the client meanwhile). One thread (the
 * main thread never starts the simulator's thread team).
 *
 * Returns true when J was run and answered (J is gone), false when it goes
 * to the queue (parsed and bound, if that was done here).
 */
bool svc_job_try_inline(struct svc *s, struct svc_client *cl,
			struct svc_job *j)
{
	const struct qasm_template *t;
	const struct qasm_circuit *shape;
	struct rt_error err;
	uint64_t room, work, bound;
	bool idle, cached = false;

	if (!s->inline_qubits || j->kind != SVC_JOB_RUN || cl->pend ||
	    j->h.shots > SVC_INLINE_SHOTS)
		return false;
	pthread_mutex_lock(&s->lock);
	idle = !s->qhead && !s->mw_head &&
	       s->nqueued + s->nrunning < s->cfg->queue;
	pthread_mutex_unlock(&s->lock);
	if (!idle)
		return false;
	/* A text job takes its template from the text cache when its bytes
	 * were seen before (parsed there on a miss, within the lane's gate
	 * budget); from there on, as a registered circuit's. A text seen
	 * for the first time is parsed for this job alone. A text that does
	 * not parse is left to a worker, which parses it with the full
	 * budget and reports. */
	if (!j->tpl) {
		int rc;

		if (j->qasm_len > SVC_INLINE_TEXT)
			return false;
		rt_error_clear(&err);
		rc = svc_text_cache_get(s, j->qasm, j->qasm_len, &j->tpl,
					&err);
		if (rc < 0)
			return false;
		cached = rc == 0;
	}
	rt_error_clear(&err);
	if (j->tpl) {
		t = j->tpl->t;
		shape = qasm_template_shape(t);
		if (j->tpl->fixed && j->h.nparams == 0) {
			/* A cached text without parameters: its circuit as
			 * is (bound once, when it was cached), checked below
			 * like any other. */
			j->c = j->tpl->fixed;
			j->c_shared = true;
		} else if (shape->nqubits > s->inline_qubits ||
			   ((uint64_t)shape->nops << shape->nqubits) >
			   SVC_INLINE_WORK ||
			   qasm_template_bind_budget(t, j->params,
						     j->h.nparams,
						     SVC_INLINE_GATES, &j->c,
						     &err)) {
			/* Its fixed operations are copied by the bind:
			 * bounded by the work check, before binding. Over a
			 * bound, or an error that a worker reports: a cached
			 * text's template goes (the worker parses the text
			 * with its own budget). */
			if (cached)
				job_untemplate(s, j);
			return false;
		}
	} else if (j->h.nparams == 0) {
		/* No values: the circuit a template of the text would bind
		 * to is the plain parse's (qasm.h), without the copy (a text
		 * that declares parameters fails here and the worker says
		 * why). */
		struct qasm_parse_opts po = { .max_gates = SVC_INLINE_GATES };

		if (check_includes(j->qasm, j->qasm_len, err.msg,
				   sizeof(err.msg)) ||
		    qasm_parse_string_opts("job", j->qasm, j->qasm_len, &po,
					   &j->c, &err))
			return false;
		if (j->c->nqubits > s->cfg->max_qubits) {
			qasm_circuit_free(j->c);
			j->c = NULL;
			return false;
		}
	} else {
		if (svc_parse_text(s, "job", j->qasm, j->qasm_len,
				   SVC_INLINE_GATES, &j->own, &err))
			return false;
		rt_error_clear(&err);
		if (qasm_template_bind_budget(j->own, j->params, j->h.nparams,
					      SVC_INLINE_GATES, &j->c, &err)) {
			/* over the budget, or an error a worker reports */
			qasm_template_free(j->own);
			j->own = NULL;
			return false;
		}
	}
	work = (uint64_t)j->c->nops << j->c->nqubits;
	if (circuit_branches(j->c))
		work *= j->h.shots ? j->h.shots : 1;
	if (j->h.want & SVC_WANT_EXPECT)
		work += (uint64_t)j->h.nexpect << j->c->nqubits;
	bound = reply_bound(j, j->c);
	if (j->c->nqubits > s->inline_qubits || work > SVC_INLINE_WORK ||
	    bound > SVC_INLINE_REPLY || qshm_producer_room(cl->rep, &room) ||
	    room < 2 * bound)
		return false;   /* a worker runs the parsed job */
	/* Held for the whole job: no worker writes to this client meanwhile
	 * (one that finishes a job of it waits, briefly); the main thread
	 * itself never waits for one. Lock order: a rep_lock, then svc.lock;
	 * never a rep_lock under svc.lock. */
	if (pthread_mutex_trylock(&cl->rep_lock))
		return false;
	j->inline_run = true;
	pthread_mutex_lock(&s->lock);
	j->cl = cl;
	cl->refs++;
	cl->served = ++s->tick;   /* for the round robin, as a worker's */
	s->inlined++;
	svc_job_enter_locked(s, j);
	pthread_mutex_unlock(&s->lock);
	if (svc_job_run(s, j)) {
		/* waits for memory (not for a state this small): a worker
		 * ends it, writing its reply as workers do */
		j->inline_run = false;
		pthread_mutex_unlock(&cl->rep_lock);
		return true;
	}
	pthread_mutex_unlock(&cl->rep_lock);
	svc_job_leave(s, j);
	svc_job_release(s, j);
	return true;
}

bool svc_tpl_unref_locked(struct svc_tpl *t)
{
	return --t->refs == 0;
}

void svc_tpl_free(struct svc_tpl *t)
{
	if (!t)
		return;
	qasm_circuit_free(t->fixed);
	qasm_template_free(t->t);
	free(t);
}

void svc_job_free(struct svc_job *j)
{
	if (!j->c_shared)
		qasm_circuit_free(j->c);
	qasm_template_free(j->own);
	free(j->qasm);
	free(j->params);
	free(j->expect);
	free(j);
}
