/*
 * The open-file cache of a worker: what a request path resolved to (an
 * open file with its metadata, a small file's bytes, a directory to
 * redirect, or the error to answer), kept for FCACHE_TTL_MS so that a busy
 * path costs no open(2), fstat(2) or read(2) per request. An older entry
 * is looked up again, so a change on disk shows within FCACHE_TTL_MS.
 *
 * The table is direct-mapped: a path's hash picks its slot, and a new
 * entry replaces whatever was there. Entries are reference-counted: the
 * table holds one reference, and a response that sends from an entry's
 * descriptor holds another, so that a replaced entry lives (and its file
 * stays open) until the last response using it is sent. An entry for a
 * file holds one reference on each of its precompressed siblings' entries
 * (fe_coded[]), which are in no slot of their own.
 *
 * Each worker process has its own table; nothing here is shared.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfhttpd.h"

#define FCACHE_SLOTS 256 /* entries at most; a power of two */

static struct fcache_entry *fcache_table[FCACHE_SLOTS];

/* Return the monotonic clock in milliseconds, at the clock tick's grain. */
static long long
fcache_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Return the FNV-1a hash of path[0..len). */
static uint64_t
fcache_hash(const char *path, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)path[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Return the fresh entry for path[0..len) with a reference for the
 * caller, or NULL when there is none (never looked up, replaced, or
 * older than FCACHE_TTL_MS).
 */
struct fcache_entry *
fcache_get(const char *path, size_t len)
{
	uint64_t h = fcache_hash(path, len);
	struct fcache_entry *fe = fcache_table[h & (FCACHE_SLOTS - 1)];

	if (fe == NULL || fe->fe_hash != h || fe->fe_pathlen != len ||
	    memcmp(fe->fe_path, path, len) != 0)
		return NULL;
	if (fcache_now_ms() - fe->fe_born >= FCACHE_TTL_MS)
		return NULL;
	fe->fe_refs++;
	return fe;
}

/*
 * Return a new entry for path[0..len), not yet in the table, with one
 * reference for the caller and no file (fe_fd -1, fe_status 0), or NULL
 * if memory ran out.
 */
struct fcache_entry *
fcache_new(const char *path, size_t len)
{
	struct fcache_entry *fe;

	if ((fe = calloc(1, sizeof(*fe) + len + 1)) == NULL)
		return NULL;
	fe->fe_refs = 1;
	fe->fe_fd = -1;
	fe->fe_hash = fcache_hash(path, len);
	fe->fe_pathlen = len;
	memcpy(fe->fe_path, path, len);
	fe->fe_born = fcache_now_ms();
	return fe;
}

/* Put fe in the table, in place of what its slot held. */
void
fcache_put(struct fcache_entry *fe)
{
	struct fcache_entry **slot =
	    &fcache_table[fe->fe_hash & (FCACHE_SLOTS - 1)];

	if (*slot != NULL)
		fcache_release(*slot);
	fe->fe_refs++;
	*slot = fe;
}

/* Close fe's file and free it: its last reference is gone. */
static void
fcache_free(struct fcache_entry *fe)
{
	if (fe->fe_fd != -1)
		close(fe->fe_fd);
	free(fe->fe_body);
	free(fe);
}

/*
 * Drop a reference to fe; the last one drops those it holds on its
 * siblings (which hold none themselves), closes its file and frees it.
 */
void
fcache_release(struct fcache_entry *fe)
{
	struct fcache_entry *se;
	size_t i;

	if (--fe->fe_refs > 0)
		return;
	for (i = 0; i < ACCENC_NCODINGS; i++)
		if ((se = fe->fe_coded[i]) != NULL && --se->fe_refs == 0)
			fcache_free(se);
	fcache_free(fe);
}

/* Empty the table (to give back descriptors when they run out). */
void
fcache_flush(void)
{
	size_t i;

	for (i = 0; i < FCACHE_SLOTS; i++)
		if (fcache_table[i] != NULL) {
			fcache_release(fcache_table[i]);
			fcache_table[i] = NULL;
		}
}
