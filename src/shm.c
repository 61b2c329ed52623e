/*
 * The shared-memory segment (layout and contract in shm.h): created and
 * laid out by the master, attached read-only by statsdump, and summed into
 * totals that never go backwards.
 */

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/futex.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfhttpd.h"
#include "shm.h"

#define SHM_PAGE 4096

#define SHM_ROUND(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))

/*
 * The layout as this process made or checked it. Every address in the
 * segment is computed from this copy, never from the header, which the
 * workers (unprivileged, possibly compromised) can write: a bogus offset
 * there must not steer the root master's writes or crash the logger.
 */
static struct {
	uint64_t sg_size; /* of the mapping: what shm_detach() unmaps */
	uint32_t sg_nslots;
	uint64_t sg_slots_offset;
	uint64_t sg_rings_offset;
	uint64_t sg_ring_size;
	uint64_t sg_ring_stride;
} shm_geom;

/* Compute the offsets of the slots and rings; return the total size. */
static uint64_t
shm_layout(uint32_t nslots, uint64_t ring_size, uint64_t *slots_offset,
    uint64_t *rings_offset, uint64_t *ring_stride)
{
	*slots_offset = SHM_ROUND(sizeof(struct shm_header), SHM_CACHELINE);
	*rings_offset = SHM_ROUND(
	    *slots_offset + nslots * sizeof(struct shm_slot), SHM_PAGE);
	*ring_stride = SHM_ROUND(sizeof(struct shm_ring) + ring_size, SHM_PAGE);
	return *rings_offset + nslots * *ring_stride;
}

/*
 * Create the segment at path (replacing a stale one) with nslots slots and
 * rings of ring_size bytes (a power of two). Mode 0640: the owner and the
 * group may read it; priv_chown() hands it to the configured user/group.
 */
struct shm_header *
shm_create(const char *path, uint32_t nslots, uint64_t ring_size, char *err,
    size_t errlen)
{
	uint64_t size, slots_offset, rings_offset, ring_stride;
	struct shm_header *sh;
	int fd;

	size = shm_layout(
	    nslots, ring_size, &slots_offset, &rings_offset, &ring_stride);
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot replace: %s", path,
		    strerror(errno));
		return NULL;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fchmod(fd, 0640) == -1 || ftruncate(fd, (off_t)size) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return NULL;
	}
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (sh == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		unlink(path);
		return NULL;
	}

	/* ftruncate zero-filled everything: rings are empty, slots free. */
	sh->sh_version = SHM_VERSION;
	sh->sh_header_size = sizeof(struct shm_header);
	sh->sh_size = size;
	sh->sh_master_pid = (uint64_t)getpid();
	sh->sh_start_time = (uint64_t)time(NULL);
	sh->sh_generation = 1;
	sh->sh_nslots = nslots;
	sh->sh_slot_size = sizeof(struct shm_slot);
	sh->sh_slots_offset = slots_offset;
	sh->sh_rings_offset = rings_offset;
	sh->sh_ring_size = ring_size;
	sh->sh_ring_stride = ring_stride;
	shm_geom.sg_size = size;
	shm_geom.sg_nslots = nslots;
	shm_geom.sg_slots_offset = slots_offset;
	shm_geom.sg_rings_offset = rings_offset;
	shm_geom.sg_ring_size = ring_size;
	shm_geom.sg_ring_stride = ring_stride;
	/* The magic last: a reader never sees a half-made header as valid. */
	__atomic_store_n(&sh->sh_magic, SHM_MAGIC, __ATOMIC_RELEASE);
	return sh;
}

/*
 * Check that the header's layout is the one shm_layout() makes for its
 * slot count and ring size, and that it spans file_size bytes, and
 * remember it: 1 if so, else 0. Each field is read once: a worker may
 * write the header meanwhile, and what is checked must be what is kept.
 */
static int
shm_geometry_fits(const struct shm_header *sh, uint64_t file_size)
{
	uint64_t size, slots_offset, rings_offset, ring_stride, ring_size;
	uint32_t nslots;

	nslots = __atomic_load_n(&sh->sh_nslots, __ATOMIC_RELAXED);
	ring_size = __atomic_load_n(&sh->sh_ring_size, __ATOMIC_RELAXED);
	if (nslots == 0 || nslots > 65536 || ring_size < 4096 ||
	    ring_size > (1ULL << 32) || (ring_size & (ring_size - 1)) != 0)
		return 0;
	size = shm_layout(
	    nslots, ring_size, &slots_offset, &rings_offset, &ring_stride);
	if (size != file_size ||
	    size != __atomic_load_n(&sh->sh_size, __ATOMIC_RELAXED) ||
	    slots_offset !=
		__atomic_load_n(&sh->sh_slots_offset, __ATOMIC_RELAXED) ||
	    rings_offset !=
		__atomic_load_n(&sh->sh_rings_offset, __ATOMIC_RELAXED) ||
	    ring_stride !=
		__atomic_load_n(&sh->sh_ring_stride, __ATOMIC_RELAXED))
		return 0;
	shm_geom.sg_size = size;
	shm_geom.sg_nslots = nslots;
	shm_geom.sg_slots_offset = slots_offset;
	shm_geom.sg_rings_offset = rings_offset;
	shm_geom.sg_ring_size = ring_size;
	shm_geom.sg_ring_stride = ring_stride;
	return 1;
}

/* Map an existing segment read-only, refusing a wrong magic or version. */
struct shm_header *
shm_attach(const char *path, char *err, size_t errlen)
{
	struct shm_header *sh;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == EACCES)
			snprintf(err, errlen,
			    "%s: permission denied: the segment is readable "
			    "by its owner and group only (see ls -l %s)",
			    path, path);
		else if (errno == ENOENT)
			snprintf(err, errlen,
			    "%s: no such segment: is pfhttpd running with "
			    "this [stats] shm_path?",
			    path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if ((size_t)st.st_size < sizeof(struct shm_header)) {
		snprintf(
		    err, errlen, "%s: not a pfhttpd segment (too small)", path);
		close(fd);
		return NULL;
	}
	sh = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (sh == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		return NULL;
	}
	if (__atomic_load_n(&sh->sh_magic, __ATOMIC_ACQUIRE) != SHM_MAGIC) {
		snprintf(
		    err, errlen, "%s: not a pfhttpd segment (bad magic)", path);
	} else if (sh->sh_version != SHM_VERSION) {
		snprintf(err, errlen,
		    "%s: segment layout version %u, this program reads %u",
		    path, sh->sh_version, (unsigned)SHM_VERSION);
	} else if (sh->sh_header_size != sizeof(struct shm_header) ||
	    sh->sh_slot_size != sizeof(struct shm_slot) ||
	    !shm_geometry_fits(sh, (uint64_t)st.st_size)) {
		snprintf(err, errlen,
		    "%s: corrupt segment header (its sizes and offsets do "
		    "not match)",
		    path);
	} else
		return sh;
	munmap(sh, (size_t)st.st_size);
	return NULL;
}

/*
 * Unmap the segment this process made or attached last, by the size it
 * had then: a worker may have written another into sh_size since.
 */
void
shm_detach(struct shm_header *sh)
{
	if (sh != NULL)
		munmap(sh, shm_geom.sg_size);
}

/* Return the number of worker slots (of this process's copy). */
uint32_t
shm_nslots(void)
{
	return shm_geom.sg_nslots;
}

/* Return the data bytes of each log ring (of this process's copy). */
uint64_t
shm_ring_size(void)
{
	return shm_geom.sg_ring_size;
}

/* Return worker slot i (i < shm_nslots()). */
struct shm_slot *
shm_slot_at(struct shm_header *sh, uint32_t i)
{
	return (struct shm_slot *)((char *)sh + shm_geom.sg_slots_offset +
	    (uint64_t)i * sizeof(struct shm_slot));
}

/* Return the log ring of slot i (i < shm_nslots()). */
struct shm_ring *
shm_ring_at(struct shm_header *sh, uint32_t i)
{
	return (struct shm_ring *)((char *)sh + shm_geom.sg_rings_offset +
	    (uint64_t)i * shm_geom.sg_ring_stride);
}

/* Tell whether the master that owns the segment still runs. */
int
shm_master_alive(const struct shm_header *sh)
{
	pid_t pid = (pid_t)sh->sh_master_pid;

	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/*
 * Add the counters of from to to, reading each from-field whole (another
 * process may be writing it). Gauges are added too: callers fold only
 * counters whose gauges they have zeroed.
 */
void
shm_counters_add(struct shm_counters *to, const struct shm_counters *from)
{
	const uint64_t *f = (const uint64_t *)(const void *)from;
	uint64_t *t = (uint64_t *)(void *)to;
	size_t i, n = sizeof(*from) / sizeof(uint64_t);

	for (i = 0; i < n; i++)
		t[i] += __atomic_load_n(&f[i], __ATOMIC_RELAXED);
}

/*
 * Sum the retired totals and every live slot into out. The master folds a
 * reaped worker into sh_retired under sh_fold_seq (odd while folding), so
 * a sum taken across a fold is retried: a worker is never counted twice or
 * not at all, and totals never go backwards.
 */
void
shm_totals(const struct shm_header *sh, struct shm_counters *out)
{
	struct shm_header *h = (struct shm_header *)(uintptr_t)sh;
	struct shm_slot *slot;
	uint64_t seq, state;
	uint32_t i;

	for (;;) {
		seq = __atomic_load_n(&sh->sh_fold_seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			sched_yield();
			continue;
		}
		memset(out, 0, sizeof(*out));
		shm_counters_add(out, &sh->sh_retired);
		for (i = 0; i < shm_geom.sg_nslots; i++) {
			slot = shm_slot_at(h, i);
			state =
			    __atomic_load_n(&slot->ss_state, __ATOMIC_ACQUIRE);
			if (state == SHM_SLOT_STARTING ||
			    state == SHM_SLOT_SERVING ||
			    state == SHM_SLOT_DRAINING)
				shm_counters_add(out, &slot->ss_c);
		}
		/* The reads above happen before the second look at seq. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&sh->sh_fold_seq, __ATOMIC_RELAXED) == seq)
			return;
	}
}

/*
 * Wake the logger after publishing a record, if it sleeps. The fence pairs
 * with the one in the logger's logger_sleep() (Dekker's pattern): either
 * the logger, checking the rings after saying it sleeps, sees our record,
 * or we see it asleep and bump the futex word, which makes its FUTEX_WAIT
 * return at once or wakes it. A logger that is awake costs the worker one
 * fence and one read of a line that rarely changes: no shared write, no
 * system call.
 */
void
shm_logger_wake(struct shm_header *sh)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&sh->sh_logger_asleep, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&sh->sh_logger_wake, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &sh->sh_logger_wake, FUTEX_WAKE, 1, NULL,
		    NULL, 0);
	}
}
