/*
 * The open-file cache of a worker: what a request path resolved to (an
 * open file with its metadata, a small file's bytes, a directory to
 * redirect, a directory's listing page, or the error to answer), kept for
 * FCACHE_TTL_MS so that a busy path costs no open(2), fstat(2), read(2) or
 * rendering per request. An older entry is looked up again, so a change on
 * disk shows within FCACHE_TTL_MS.
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

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
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

/*
 * Return a descriptor of a new sealed memory file holding bytes[0..len),
 * or -1 with errno. The kernel keeps the bytes once, however many
 * responses send them with sendfile(2); the seals make the file
 * immutable, as a cached body must be.
 */
static int
fcache_memfd(const char *bytes, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int fd, error;

	if ((fd = memfd_create(
		 "pfhttpd-page", MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	while (done < len) {
		if ((n = write(fd, bytes + done, len - done)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		done += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS,
		F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == -1)
		goto fail;
	return fd;
fail:
	error = errno;
	close(fd);
	errno = error;
	return -1;
}

/*
 * Make bytes[0..len) (malloc'd; fe takes them) the body of fe, which has
 * none yet: kept in memory up to FCACHE_INLINE_MAX like a small file's,
 * else moved into a sealed memory file that fe holds as fe_fd and that is
 * sent like a large file's. 0, or -1 with errno (the bytes are freed).
 */
int
fcache_keep(struct fcache_entry *fe, char *bytes, size_t len)
{
	fe->fe_size = (off_t)len;
	if (len <= FCACHE_INLINE_MAX) {
		fe->fe_body = bytes;
		return 0;
	}
	fe->fe_fd = fcache_memfd(bytes, len);
	free(bytes);
	return fe->fe_fd == -1 ? -1 : 0;
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
