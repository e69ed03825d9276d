/*
 * fuzz_segment.c - libFuzzer target: attaching to and inspecting a hostile
 * segment. The input is the whole image of a shared-memory object and one
 * more byte, the action: the image is written to /dev/shm/qshm.fuzz<pid>
 * and then looked at in one of the ways a consumer and the inspection
 * tools do, through the public API only (so the target does not depend on
 * the segment's internal layout), as the action byte says (mod 8):
 *   0-3  qshm_consumer_attach() read-only, lossy, reliable, read-only from
 *        the newest; then ring_info, ring_stats, consumer slots, reading
 *        (in place with validation, and by copy) up to 64 records
 *        (0 also qshm_ring_info() first);
 *   4, 5 `qshm dump` (text; --json with 64 records) in-process;
 *   6    `qshm stat --json` and `qshm ls --json` in-process;
 *   7    qshm_ring_info(), and a stale image replaced by a new producer
 *        (QSHM_CREATE_REPLACE_STALE).
 * One action per execution (not all eight): each costs system calls on
 * the shared-memory file (open, mmap, munmap), which dominate; the fuzzer
 * steers the action byte like any other. Outputs are discarded. Every call
 * must return (no wait: timeouts are 0), with no sanitizer report. Seeds
 * come from gen_seeds, which makes real rings (each with every action).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qshm/qshm.h"
#include "tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_SEGMENT_ACTIONS 8

static char name[64], path[128];
static int devnull = -1;
static int image_fd = -1; /* the object, kept open between inputs */

static void remove_image(void)
{
	if (name[0])
		unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(name, sizeof(name), "fuzz%ld", (long)getpid());
	snprintf(path, sizeof(path), "/dev/shm/qshm.%s", name);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	atexit(remove_image);
	return 0;
}

/* Makes the object hold exactly the image: sized, then overwritten in
 * place (no create, truncate to 0 and refill per input). */
static int write_image(const uint8_t *data, size_t size)
{
	size_t done = 0;

	struct stat fd_st, name_st;

	/* Someone may have removed or replaced the name (`qshm rm --stale`
	 * elsewhere on the machine removes a stale image): every look would
	 * then find no ring. Reopen when the name no longer leads to ours. */
	if (image_fd >= 0 &&
	    (fstat(image_fd, &fd_st) < 0 || stat(path, &name_st) < 0 ||
	     fd_st.st_ino != name_st.st_ino || fd_st.st_dev != name_st.st_dev)) {
		close(image_fd);
		image_fd = -1;
	}
	if (image_fd < 0) {
		image_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				0600);
		if (image_fd < 0)
			return -errno;
	}
	if (ftruncate(image_fd, (off_t)size) < 0)
		return -errno;
	while (done < size) {
		ssize_t n = pwrite(image_fd, data + done, size - done,
				   (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The name may now lead to another object (a producer replaced it):
 * start from a fresh one at the next input. */
static void drop_image(void)
{
	if (image_fd >= 0)
		close(image_fd);
	image_fd = -1;
	unlink(path);
}

static void inspect(qshm_consumer *c)
{
	struct qshm_ring_info info;
	struct qshm_ring_stats st;
	struct qshm_slot_info slots[16];
	struct qshm_consumer_stats cst;
	struct qshm_record rec;
	static uint8_t copy[1 << 16];
	volatile uint8_t sink = 0;

	(void)qshm_consumer_ring_info(c, &info);
	(void)qshm_consumer_ring_stats(c, &st);
	(void)qshm_consumer_slots(c, slots, 16);
	for (int i = 0; i < 64; i++) {
		int rc = i & 1 ? qshm_consumer_read_copy(c, copy, sizeof(copy),
							 &rec, 0)
			       : qshm_consumer_read(c, &rec, 0);

		if (rc < 0)
			break;
		if (!(i & 1)) {
			const uint8_t *p = rec.data;

			/* Touch the payload as a reader would. */
			for (uint32_t k = 0; k < rec.len; k += 64)
				sink ^= p[k];
			if (rec.len)
				sink ^= p[rec.len - 1];
			(void)qshm_consumer_validate(c, &rec);
		}
		(void)qshm_consumer_release(c);
	}
	(void)qshm_consumer_stats(c, &cst);
	(void)sink;
}

/* Runs a qshm command in-process with its stdout discarded. */
static void command(int (*fn)(int, char **), int argc, const char **args)
{
	char *argv[8];
	int saved;
	struct sigaction old_int, old_term;

	/* `qshm stat` installs its own SIGINT/SIGTERM handlers: put
	 * libFuzzer's back after it, or the fuzzer ignores both. */
	sigaction(SIGINT, NULL, &old_int);
	sigaction(SIGTERM, NULL, &old_term);
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)args[i];
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(1);
	dup2(devnull, 1);
	(void)fn(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned modes[] = {
		QSHM_CONSUMER_READONLY,
		QSHM_CONSUMER_LOSSY,
		QSHM_CONSUMER_RELIABLE,
		QSHM_CONSUMER_READONLY | QSHM_CONSUMER_FROM_NEWEST,
	};
	static const char *dump_text[] = { "dump", "-n", "16", name };
	static const char *dump_json[] = { "dump", "--json", "-n", "64",
					   "--shots", "4", name };
	static const char *stat_json[] = { "stat", "--json", "-i", "0", name };
	static const char *ls_json[] = { "ls", "--json", name };
	struct qshm_ring_info info;
	qshm_consumer *c;
	unsigned action;

	if (size < 1 || size > (1u << 22))
		return 0;
	action = data[--size] % FUZZ_SEGMENT_ACTIONS;
	if (write_image(data, size) < 0) {
		drop_image();
		return 0;
	}
	switch (action) {
	case 0:
		(void)qshm_ring_info(name, &info);
		/* fall through */
	case 1:
	case 2:
	case 3:
		if (qshm_consumer_attach(name, modes[action], &c) == 0) {
			inspect(c);
			qshm_consumer_close(c);
		}
		break;
	case 4:
		command(qshm_cmd_dump, 4, dump_text);
		break;
	case 5:
		command(qshm_cmd_dump, 7, dump_json);
		break;
	case 6:
		command(qshm_cmd_stat, 5, stat_json);
		command(qshm_cmd_ls, 3, ls_json);
		break;
	case 7:
		if (qshm_ring_info(name, &info) == 0 &&
		    info.state == QSHM_RING_STALE) {
			struct qshm_create_opts o = {
				.capacity = 4096,
				.flags = QSHM_CREATE_REPLACE_STALE };
			qshm_producer *p;

			if (qshm_producer_create(name, &o, &p) == 0)
				qshm_producer_close(p, 0);
			drop_image();
		}
		break;
	}
	return 0;
}
