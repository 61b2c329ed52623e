/*
 * A driver that replays inputs through a fuzz harness without libFuzzer,
 * so that the corpus runs as a plain, deterministic test with any C
 * compiler: each argument is a file or a directory whose regular files
 * (in name order) are each passed once to LLVMFuzzerTestOneInput(), in a
 * heap buffer of exactly their size. A failed assertion or a sanitizer
 * report ends the process with a non-zero status; otherwise it prints how
 * many inputs ran and exits 0.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) ||                                        \
    __has_feature(undefined_behavior_sanitizer)
#define REPLAY_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_SANITIZER 1
#endif
#ifdef REPLAY_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

static const char *replay_current; /* the input being run, for messages */

/* Read the whole file path into a new exact-size buffer; 0 or -1. */
static int
replay_read(const char *path, uint8_t **data, size_t *size)
{
	FILE *fp;
	uint8_t *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(fp);
				return -1;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	/* Exactly len bytes, so that ASan sees a read past the end. */
	*data = (uint8_t *)fuzz_copy(buf, len);
	*size = len;
	free(buf);
	return 0;
}

/* Run one file through the harness; 0 or -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	uint8_t *data;
	size_t size;

	if (replay_read(path, &data, &size) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	replay_current = path;
	LLVMFuzzerTestOneInput(data, size);
	replay_current = NULL;
	free(data);
	return 0;
}

/* Compare two directory entries by name, for a deterministic order. */
static int
replay_by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Run every regular file of dir; return how many, or -1. */
static long
replay_dir(const char *dir)
{
	struct dirent **names;
	struct stat st;
	char path[4096];
	long count = 0;
	int i, n;

	if ((n = scandir(dir, &names, NULL, replay_by_name)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (replay_file(path) == -1)
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

/*
 * Name the input being run when the process dies: a failed FUZZ_ASSERT
 * (SIGABRT) or a sanitizer report (its death callback). Async-signal-safe.
 */
static void
replay_report(void)
{
	static const char msg[] = "replay: failed on ";
	ssize_t rv;

	if (replay_current == NULL)
		return;
	rv = write(2, msg, sizeof(msg) - 1);
	rv = write(2, replay_current, strlen(replay_current));
	rv = write(2, "\n", 1);
	(void)rv;
}

/* SIGABRT: report, then die of the signal as abort() intended. */
static void
replay_abort(int sig)
{
	replay_report();
	signal(sig, SIG_DFL);
	raise(sig);
}

int
main(int argc, char *argv[])
{
	struct stat st;
	long total = 0, n;
	int i, bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR ...\n", argv[0]);
		return 2;
	}
	signal(SIGABRT, replay_abort);
#ifdef REPLAY_SANITIZER
	__sanitizer_set_death_callback(replay_report);
#endif
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			bad = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			fprintf(stderr, "replay: %s\n", argv[i]);
			n = replay_dir(argv[i]);
		} else {
			fprintf(stderr, "replay: %s\n", argv[i]);
			n = replay_file(argv[i]) == 0 ? 1 : -1;
		}
		if (n < 0)
			bad = 1;
		else
			total += n;
	}
	printf("%s: %ld inputs replayed%s\n", argv[0], total,
	    bad ? ", some could not be read" : "");
	return bad ? 1 : 0;
}
