/* SPDX-License-Identifier: MIT */
/*
 * cmd_ls.c - `qshm ls`: every qshm ring on the machine (the objects
 * /dev/shm/qshm.*) with its state, size, producer and consumer counts.
 * Each object is looked at read-only through qshm_ring_info(), which also
 * describes what is not a usable ring (being created, not a qshm segment,
 * corrupt, another format version).
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "json.h"
#include "qshm/qshm.h"
#include "snapshot.h"
#include "tools.h"

static const char ls_usage[] =
	"usage: qshm ls [options] [PATTERN...]\n"
	"\n"
	"List the qshm rings on this machine (/dev/shm/qshm.*): name, state,\n"
	"size, format, producer pid and whether it is alive, reliable and\n"
	"lossy consumer counts, generation, creation time. PATTERNs (shell\n"
	"globs such as 'ghz*') restrict the list to matching names.\n"
	"\n"
	"States: live (producer alive), closed (producer closed it), stale\n"
	"(producer died without closing: 'qshm rm --stale' removes it),\n"
	"creating (not yet published), not-qshm (another kind of object),\n"
	"corrupt (header fails validation), version (another format version),\n"
	"bad-name (not a valid ring name), unreadable (no permission).\n"
	"\n"
	"  --json         a JSON array of objects (schema: qshm-ls(1))\n"
	"  -H, --no-header  omit the header line\n"
	"  -h, --help     this text\n"
	"\n"
	"Exit status: 0 ok (also when there are no rings); 1 error (cannot\n"
	"read /dev/shm, or a PATTERN matched nothing); 2 usage.\n";

/* One row: a ring's info, or why there is none. */
struct ls_row {
	const char *name;
	const char *state;     /* word */
	int have_info;         /* info holds a qshm header's facts */
	struct qshm_ring_info info;
	uint64_t size;         /* from stat(), for every kind of object */
	int err;               /* qshm_ring_info() error, if any */
};

static void ls_look(const char *name, struct ls_row *r)
{
	char path[QSHM_NAME_MAX + 300];
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->name = name;
	/* lstat: a symbolic link's target is not what holds the name. */
	if (lstat(snap_shm_path(name, path, sizeof(path)), &st) == 0)
		r->size = (uint64_t)st.st_size;
	if (qshm_name_check(name)) {
		r->state = "bad-name";
		return;
	}
	r->err = qshm_ring_info(name, &r->info);
	if (r->err == -EACCES || r->err == -EPERM) {
		r->state = "unreadable";
		return;
	}
	if (r->err) {
		r->state = r->err == -ENOENT ? "gone" : "error";
		return;
	}
	r->state = qshm_ring_state_name(r->info.state);
	r->have_info = r->info.state == QSHM_RING_LIVE ||
		       r->info.state == QSHM_RING_CLOSED ||
		       r->info.state == QSHM_RING_STALE;
}

/* Time since realtime_ns as "42s", "17m", "5h" or "3d"; "-" unknown. */
static void fmt_age(uint64_t realtime_ns, char *buf, size_t size)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t t = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;

	if (!realtime_ns || realtime_ns > t) {
		snprintf(buf, size, "-");
		return;
	}
	uint64_t s = (t - realtime_ns) / 1000000000u;
	if (s < 60)
		snprintf(buf, size, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%llum", (unsigned long long)(s / 60));
	else if (s < 86400)
		snprintf(buf, size, "%lluh", (unsigned long long)(s / 3600));
	else
		snprintf(buf, size, "%llud", (unsigned long long)(s / 86400));
}

static void ls_text(const struct ls_row *rows, int n, int header)
{
	int w = 4;

	for (int i = 0; i < n; i++) {
		int l = (int)strlen(rows[i].name);
		if (l > w)
			w = l < 48 ? l : 48;
	}
	if (header)
		printf("%-*s  %-10s %10s %6s %8s %-5s %4s %5s %4s %5s  %s\n",
		       w, "NAME", "STATE", "SIZE", "FORMAT", "PRODUCER",
		       "ALIVE", "REL", "LOSSY", "GEN", "AGE", "CREATED");
	for (int i = 0; i < n; i++) {
		const struct ls_row *r = &rows[i];
		char size[32], fmt[16] = "-", pid[16] = "-", created[40] = "-";
		char rel[12] = "-", lossy[12] = "-", gen[24] = "-", age[24] = "-";
		const char *alive = "-";

		snap_fmt_bytes(r->size, size, sizeof(size));
		if (r->have_info || r->info.state == QSHM_RING_VERSION)
			snprintf(fmt, sizeof(fmt), "%u.%u",
				 r->info.format_major, r->info.format_minor);
		if (r->have_info) {
			snprintf(pid, sizeof(pid), "%d", r->info.creator_pid);
			alive = r->info.creator_alive ? "yes" : "no";
			snprintf(rel, sizeof(rel), "%u",
				 r->info.reliable_consumers);
			snprintf(lossy, sizeof(lossy), "%u",
				 r->info.lossy_consumers);
			snprintf(gen, sizeof(gen), "%llu",
				 (unsigned long long)r->info.generation);
			snap_fmt_time(r->info.created_ns, created,
				      sizeof(created));
			fmt_age(r->info.created_ns, age, sizeof(age));
		}
		/* Names come from a directory listing: show controls as '?'
		 * so a hostile name cannot drive the terminal. */
		char shown[256];
		size_t k = 0;
		for (const char *p = r->name; *p && k + 1 < sizeof(shown); p++)
			shown[k++] = (unsigned char)*p >= 0x20 &&
				     (unsigned char)*p < 0x7f ? *p : '?';
		shown[k] = '\0';
		printf("%-*s  %-10s %10s %6s %8s %-5s %4s %5s %4s %5s  %s\n",
		       w, shown, r->state, size, fmt, pid, alive, rel, lossy,
		       gen, age, created);
	}
}

static void ls_json(const struct ls_row *rows, int n)
{
	struct json j;

	json_init(&j, stdout);
	json_arr(&j, NULL);
	for (int i = 0; i < n; i++) {
		const struct ls_row *r = &rows[i];
		json_obj(&j, NULL);
		json_str(&j, "name", r->name);
		json_str(&j, "state", r->state);
		json_u64(&j, "size", r->size);
		if (r->have_info || r->info.state == QSHM_RING_VERSION) {
			json_obj(&j, "format");
			json_u64(&j, "major", r->info.format_major);
			json_u64(&j, "minor", r->info.format_minor);
			json_end(&j);
		}
		if (r->have_info) {
			const struct qshm_ring_info *in = &r->info;
			json_u64(&j, "capacity", in->capacity);
			json_u64(&j, "max_record", in->max_record);
			json_u64(&j, "max_consumers", in->max_consumers);
			json_obj(&j, "producer");
			json_i64(&j, "pid", in->creator_pid);
			json_bool(&j, "alive", in->creator_alive);
			json_end(&j);
			json_obj(&j, "consumers");
			json_u64(&j, "reliable", in->reliable_consumers);
			json_u64(&j, "lossy", in->lossy_consumers);
			json_end(&j);
			json_u64(&j, "generation", in->generation);
			json_u64(&j, "created_ns", in->created_ns);
			json_u64(&j, "write_pos", in->write_pos);
			json_u64(&j, "oldest_pos", in->oldest_pos);
		}
		if (r->err && r->err != -ENOENT)
			json_str(&j, "error", qshm_strerror(r->err));
		json_end(&j);
	}
	json_end(&j);
	json_done(&j);
}

int qshm_cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, header = 1, ch;

	optind = 1;
	opterr = 0; /* our own message, in the common style */
	while ((ch = getopt_long(argc, argv, "Hh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 'H': header = 0; break;
		case 'h': fputs(ls_usage, stdout); return SNAP_EXIT_OK;
		default:
			return tools_usage_error("ls", "unknown option "
						 "or missing value: '%s'",
						 argv[optind - 1]);
		}
	}
	char **names;
	int n = snap_list_names(&names);
	if (n < 0) {
		fprintf(stderr, "qshm ls: cannot list %s: %s\n", SNAP_SHM_DIR,
			strerror(-n));
		return SNAP_EXIT_ERROR;
	}
	int npat = argc - optind, rc = SNAP_EXIT_OK;
	char *matched = calloc(npat ? (size_t)npat : 1, 1);
	struct ls_row *rows = calloc(n ? (size_t)n : 1, sizeof(*rows));
	int nrows = 0;
	if (!matched || !rows) {
		fprintf(stderr, "qshm ls: out of memory\n");
		rc = SNAP_EXIT_ERROR;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int want = npat == 0;
		for (int k = 0; k < npat; k++)
			if (fnmatch(argv[optind + k], names[i], 0) == 0) {
				matched[k] = 1;
				want = 1;
			}
		if (!want)
			continue;
		ls_look(names[i], &rows[nrows]);
		if (!strcmp(rows[nrows].state, "gone"))
			continue; /* removed since the listing */
		nrows++;
	}
	if (json)
		ls_json(rows, nrows);
	else
		ls_text(rows, nrows, header);
	for (int k = 0; k < npat; k++)
		if (!matched[k]) {
			char q[256];

			fprintf(stderr, "qshm ls: no ring matches '%s'\n",
				qshm_quote(argv[optind + k], q, sizeof(q)));
			rc = SNAP_EXIT_ERROR;
		}
out:
	free(rows);
	free(matched);
	snap_names_free(names, n);
	return rc;
}
