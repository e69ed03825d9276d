/* SPDX-License-Identifier: MIT */
/*
 * cmd_rm.c - `qshm rm NAME...` and `qshm rm --stale`: remove rings.
 *
 * A ring whose producer is alive is refused unless --force, and so is an
 * object that cannot be identified as a qshm ring (another kind of object,
 * another format version, one still being created). The check and the
 * unlink are made under an exclusive flock on the object, the same lock
 * qshm_producer_create(QSHM_CREATE_REPLACE_STALE) takes, and the name is
 * checked to still point at the locked object: a ring replaced meanwhile
 * is never removed by mistake.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qshm/qshm.h"
#include "snapshot.h"
#include "tools.h"

static const char rm_usage[] =
	"usage: qshm rm [options] NAME...\n"
	"       qshm rm --stale [options] [PATTERN...]\n"
	"\n"
	"Remove rings. A ring whose producer is alive is refused unless\n"
	"--force; so is an object that is not a qshm ring, one of another\n"
	"format version, and one still being created. Stale rings (producer\n"
	"died without closing), closed rings whose producer is gone and\n"
	"corrupt rings are removed. Consumers still attached keep their\n"
	"mapping; the name is gone.\n"
	"\n"
	"  --stale        remove every stale ring on the machine (and, with\n"
	"                 --closed, every closed ring whose producer is gone);\n"
	"                 PATTERNs (shell globs) restrict it to matching names\n"
	"  --closed       with --stale: closed rings too\n"
	"  -f, --force    remove even if the producer is alive or the object\n"
	"                 is not a recognisable qshm ring\n"
	"  -n, --dry-run  say what would be removed, remove nothing\n"
	"  -q, --quiet    print only errors\n"
	"  -h, --help     this text\n"
	"\n"
	"Exit status: 0 every ring named (or every stale ring) removed,\n"
	"also when --stale finds none; 1 error (no such ring, permission);\n"
	"2 usage; 3 at least one ring refused (producer alive, not a qshm\n"
	"ring, being created) and left in place.\n";

struct rm_opts {
	int force, dry, quiet, closed;
};

/* Whether a ring in this state may be removed without --force; if not,
 * why not (into why). */
static int rm_allowed(const char *name, const struct qshm_ring_info *in,
		      char *why, size_t n)
{
	switch (in->state) {
	case QSHM_RING_STALE:
	case QSHM_RING_CORRUPT:
		return 1;
	case QSHM_RING_CLOSED:
	case QSHM_RING_LIVE:
		if (!in->creator_alive)
			return 1;
		snprintf(why, n, "ring '%s' is %s and its producer (pid %d) "
			 "is alive", name, qshm_ring_state_name(in->state),
			 in->creator_pid);
		return 0;
	case QSHM_RING_CREATING:
		snprintf(why, n, "ring '%s' is still being created", name);
		return 0;
	case QSHM_RING_NOTQSHM:
		snprintf(why, n, "'%s' (%s%s) is not a qshm ring", name,
			 SNAP_SHM_DIR "/" SNAP_SHM_PREFIX, name);
		return 0;
	case QSHM_RING_VERSION:
		snprintf(why, n, "ring '%s' has format %u.%u (this tool reads "
			 "%d.x); its producer cannot be checked", name,
			 in->format_major, in->format_minor,
			 QSHM_FORMAT_MAJOR);
		return 0;
	}
	snprintf(why, n, "ring '%s' is in an unknown state", name);
	return 0;
}

struct rm_decision {
	const char *name;
	int stale_only;           /* the --stale sweep */
	const struct rm_opts *o;
	char why[400];            /* why not, when refused */
	int refused;
};

/* The policy, applied by qshm_ring_remove_if() to a look at the ring taken
 * under the lock that ring replacement takes. */
static int rm_decide(void *ctx, const struct qshm_ring_info *in)
{
	struct rm_decision *d = ctx;

	if (d->stale_only)
		return in->state == QSHM_RING_STALE ||
		       (d->o->closed && in->state == QSHM_RING_CLOSED &&
			!in->creator_alive);
	return 1;
}

/* rm_decide, plus the refusal of live rings and the like unless --force. */
static int rm_decide_checked(void *ctx, const struct qshm_ring_info *in)
{
	struct rm_decision *d = ctx;

	if (d->stale_only)
		return rm_decide(ctx, in);
	if (!d->o->force && !rm_allowed(d->name, in, d->why,
					sizeof(d->why))) {
		d->refused = 1;
		return 0;
	}
	return 1;
}

/*
 * Removes NAME (stale_only: the --stale sweep, which removes only stale
 * rings, and closed ones with a dead producer if o->closed, and says
 * nothing about the others). Returns an exit status.
 */
static int rm_one(const char *name, int stale_only, const struct rm_opts *o)
{
	struct rm_decision d = { .name = name, .stale_only = stale_only,
				  .o = o };
	struct qshm_ring_info in;
	int err;

	err = qshm_name_check(name);
	if (err) {
		if (stale_only)
			return SNAP_EXIT_OK;
		char q[256];

		fprintf(stderr, "qshm rm: '%s': %s\n",
			qshm_quote(name, q, sizeof(q)), qshm_last_error());
		return SNAP_EXIT_USAGE;
	}
	if (o->dry) {
		/* A look without the lock: nothing is removed. */
		err = qshm_ring_info(name, &in);
		if (err) {
			if (stale_only)
				return SNAP_EXIT_OK;
			fprintf(stderr, "qshm rm: %s\n", qshm_last_error());
			return SNAP_EXIT_ERROR;
		}
		if (!rm_decide(&d, &in))
			return SNAP_EXIT_OK;
		if (!stale_only && !o->force &&
		    !rm_allowed(name, &in, d.why, sizeof(d.why))) {
			fprintf(stderr, "qshm rm: %s; not removed (--force "
				"removes it anyway)\n", d.why);
			return SNAP_EXIT_REFUSED;
		}
		if (!o->quiet)
			printf("would remove %s (%s)\n", name,
			       qshm_ring_state_name(in.state));
		return SNAP_EXIT_OK;
	}
	err = qshm_ring_remove_if(name, rm_decide_checked, &d, &in);
	if (err == 1) {
		if (o->quiet)
			return SNAP_EXIT_OK;
		if (in.state == QSHM_RING_LIVE || in.state == QSHM_RING_CLOSED ||
		    in.state == QSHM_RING_STALE)
			printf("removed %s (%s, producer pid %d %s)\n", name,
			       qshm_ring_state_name(in.state), in.creator_pid,
			       in.creator_alive ? "alive" : "dead");
		else
			printf("removed %s (%s)\n", name,
			       qshm_ring_state_name(in.state));
		return SNAP_EXIT_OK;
	}
	if (err == 0) {
		if (!d.refused)
			return SNAP_EXIT_OK; /* the sweep passes it by */
		fprintf(stderr, "qshm rm: %s; not removed (--force removes "
			"it anyway)\n", d.why);
		return SNAP_EXIT_REFUSED;
	}
	if (stale_only)
		return SNAP_EXIT_OK; /* gone, replaced, or not ours to judge */
	if (err == -EBUSY || err == -EAGAIN) {
		fprintf(stderr, "qshm rm: %s; not removed\n",
			qshm_last_error());
		return SNAP_EXIT_REFUSED;
	}
	if (err == -ENOENT) {
		fprintf(stderr, "qshm rm: ring '%s': no such ring\n", name);
		return SNAP_EXIT_ERROR;
	}
	fprintf(stderr, "qshm rm: %s\n", qshm_last_error()[0] ?
		qshm_last_error() : qshm_strerror(err));
	return SNAP_EXIT_ERROR;
}

/* Keeps the most serious exit status: usage, then refused, then error. */
static int rm_worse(int a, int b)
{
	static const int rank[] = { 0, 1, 3, 2 }; /* by status 0..3 */
	return rank[b] > rank[a] ? b : a;
}

int qshm_cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stale", no_argument, NULL, 's' },
		{ "closed", no_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rm_opts o = { 0 };
	int stale = 0, ch, rc = SNAP_EXIT_OK;

	optind = 1;
	opterr = 0; /* our own message, in the common style */
	while ((ch = getopt_long(argc, argv, "fnqh", opts, NULL)) != -1) {
		switch (ch) {
		case 's': stale = 1; break;
		case 'c': o.closed = 1; break;
		case 'f': o.force = 1; break;
		case 'n': o.dry = 1; break;
		case 'q': o.quiet = 1; break;
		case 'h': fputs(rm_usage, stdout); return SNAP_EXIT_OK;
		default:
			return tools_usage_error("rm", "unknown option "
						 "or missing value: '%s'",
						 argv[optind - 1]);
		}
	}
	if (!stale && optind == argc)
		return tools_usage_error("rm", "a ring name (or --stale) "
					 "expected");
	if (o.closed && !stale)
		return tools_usage_error("rm", "--closed goes with --stale");
	if (stale && o.force)
		return tools_usage_error("rm", "--force does not go with "
					 "--stale");
	if (!stale) {
		for (int i = optind; i < argc; i++)
			rc = rm_worse(rc, rm_one(argv[i], 0, &o));
		return rc;
	}
	char **names;
	int n = snap_list_names(&names);
	if (n < 0) {
		fprintf(stderr, "qshm rm: cannot list %s: %s\n", SNAP_SHM_DIR,
			strerror(-n));
		return SNAP_EXIT_ERROR;
	}
	for (int i = 0; i < n; i++) {
		int want = optind == argc;
		for (int k = optind; k < argc && !want; k++)
			want = fnmatch(argv[k], names[i], 0) == 0;
		if (want)
			rc = rm_worse(rc, rm_one(names[i], 1, &o));
	}
	snap_names_free(names, n);
	return rc;
}
