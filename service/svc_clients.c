/* SPDX-License-Identifier: MIT */
/*
 * svc_clients.c - finding the clients of `qshm serve`: a scan of /dev/shm
 * for NAME.q.ID, S2 (create the reply ring) then S3 (attach the request
 * ring), and what is done with rings half made or left by dead clients
 * (docs/service.md, "Connecting").
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qshm/client.h"
#include "qshm/qshm.h"
#include "svc_internal.h"

/* ---- finding clients ---- */

static bool is_ignored(struct svc *s, const char *name)
{
	for (size_t i = 0; i < s->nignored; i++)
		if (!strcmp(s->ignored[i], name))
			return true;
	return false;
}

static void ignore(struct svc *s, const char *name, const char *why)
{
	char **v = realloc(s->ignored, (s->nignored + 1) * sizeof(*v));

	svc_log(s, "not serving '%s': %s", name, why);
	if (!v)
		return;
	s->ignored = v;
	if ((v[s->nignored] = strdup(name)))
		s->nignored++;
}

/* Milliseconds since the object /dev/shm/qshm.NAME last changed. */
static int64_t object_age_ms(const char *name)
{
	char path[QSHM_NAME_MAX + 24];
	struct timespec now;
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm/qshm.%s", name);
	if (stat(path, &st) < 0)
		return INT64_MAX;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
	       (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
}

static int decide_stale(void *ctx, const struct qshm_ring_info *info)
{
	(void)ctx;
	return info->state == QSHM_RING_STALE;
}

/* S2 then S3 for request ring NAME.q.ID. */
static void client_add(struct svc *s, const char *id)
{
	struct qshm_create_opts co = {
		.capacity = SVC_REPLY_CAPACITY, .max_record = SVC_REPLY_MAX,
		.max_consumers = 4, .flags = QSHM_CREATE_REPLACE_STALE,
	};
	struct qshm_ring_info ri;
	struct svc_client *cl;
	int rc;

	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return;
	snprintf(cl->id, sizeof(cl->id), "%s", id);
	snprintf(cl->req_name, sizeof(cl->req_name), "%s.q.%s", s->cfg->name,
		 id);
	snprintf(cl->rep_name, sizeof(cl->rep_name), "%s.r.%s", s->cfg->name,
		 id);
	rc = qshm_ring_info(cl->req_name, &ri);
	if (rc == 0 && ri.state == QSHM_RING_CREATING) {
		s->rescan = true;
		goto out;
	}
	if (rc == 0 && ri.state == QSHM_RING_STALE) {
		/* A client that died before we saw it: removed when its pid
		 * is known to be dead. Without a pid the object may be one
		 * whose creator has not yet marked it (a creator preempted
		 * between shm_open and its lock, on a loaded machine, looks
		 * abandoned): look again for a while, never remove it. */
		if (ri.creator_pid > 0 &&
		    qshm_ring_remove_if(cl->req_name, decide_stale, NULL,
					NULL) == 1)
			svc_log(s, "removed '%s': its client (pid %d) died "
				"before it was served", cl->req_name,
				ri.creator_pid);
		else if (object_age_ms(cl->req_name) < SVC_CREATING_PATIENCE_MS)
			s->rescan = true;
		else
			ignore(s, cl->req_name, "left half-created");
		goto out;
	}
	if (rc || ri.state != QSHM_RING_LIVE) {
		if (rc != -ENOENT)
			ignore(s, cl->req_name, rc ? qshm_strerror(rc) :
			       qshm_ring_state_name(ri.state));
		goto out;
	}
	if (s->nclients >= (s->cfg->max_clients ? s->cfg->max_clients : 256)) {
		ignore(s, cl->req_name, "too many clients");
		goto out;
	}
	rc = qshm_producer_create(cl->rep_name, &co, &cl->rep);       /* S2 */
	if (rc) {
		ignore(s, cl->req_name, qshm_last_error());
		goto out;
	}
	rc = qshm_consumer_attach(cl->req_name, QSHM_CONSUMER_RELIABLE,
				  &cl->req);                          /* S3 */
	if (rc) {
		qshm_producer_close(cl->rep, QSHM_CLOSE_UNLINK);
		if (rc == -QSHM_ECREATING)
			s->rescan = true;
		else if (rc != -ENOENT)
			ignore(s, cl->req_name, qshm_last_error());
		goto out;
	}
	pthread_mutex_init(&cl->rep_lock, NULL);
	cl->refs = 1;
	cl->next = s->clients;
	s->clients = cl;
	s->nclients++;
	pthread_mutex_lock(&s->lock);
	svc_ctr_add(s, SVC_CTR_CLIENTS, 1);
	pthread_mutex_unlock(&s->lock);
	svc_log(s, "client %s connected (pid %d)", id,
		qshm_consumer_producer_pid(cl->req));
	return;
out:
	free(cl);
}

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > SVC_ID_MAX)
		return false;
	return strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") == n;
}

void svc_scan(struct svc *s)
{
	char prefix[QSHM_NAME_MAX + 16];
	size_t plen;
	struct dirent *d;
	DIR *dir;

	s->rescan = false;
	s->last_scan = svc_mono_ns();
	plen = (size_t)snprintf(prefix, sizeof(prefix), "qshm.%s.q.",
				s->cfg->name);
	dir = opendir("/dev/shm");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		const char *id = d->d_name + plen;
		bool known = false;

		if (strncmp(d->d_name, prefix, plen) != 0 || !id_ok(id) ||
		    is_ignored(s, d->d_name + 5))
			continue;
		for (struct svc_client *cl = s->clients; cl; cl = cl->next)
			known |= !strcmp(cl->id, id);
		if (!known)
			client_add(s, id);
	}
	closedir(dir);
}

