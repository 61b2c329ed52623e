/*
 * The shared-memory segment (layout and contract in shm.h): created and
 * laid out by the master, attached read-only by statsdump, and summed into
 * totals that never go backwards.
 */

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/futex.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
	struct shm_chat_geom sg_chat; /* the chat region's parameters */
	uint64_t sg_chat_offset;      /* struct shm_chat */
	uint64_t sg_cslots_offset;    /* shm_chat_slot[] */
	uint64_t sg_cring_offset;     /* the first chat-in ring */
	uint64_t sg_cring_stride;     /* from one to the next */
	uint64_t sg_bcast_offset;     /* the broadcast ring */
	uint64_t sg_rooms_offset;     /* shm_chat_room[] */
	uint64_t sg_members_offset;   /* shm_chat_member[] */
	uint64_t sg_history_offset;   /* the rooms' history */
	uint64_t sg_entry_size;	      /* bytes of one history entry */
	uint64_t sg_ip_offset;	      /* shm_ipgroup[] */
	uint64_t sg_ip_groups;	      /* its groups */
} shm_geom;

static uint64_t shm_ip_seed(void);

/* The chat eventfds (shm_chat_wake_init()): the hub's, then a slot's. */
static int *shm_wake_fds;

_Static_assert(sizeof(struct shm_chat_room) == 128, "room entry size");
_Static_assert(sizeof(struct shm_chat_member) == 96, "member entry size");
_Static_assert(offsetof(struct shm_header, sh_retired) % SHM_CACHELINE == 0,
    "sh_retired starts a cache line");

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

/* Tell whether the chat parameters are within what the layout allows. */
static int
shm_chat_geom_ok(const struct shm_chat_geom *cg)
{
	return cg->cg_ring_size >= 4096 && cg->cg_ring_size <= (1ULL << 30) &&
	    (cg->cg_ring_size & (cg->cg_ring_size - 1)) == 0 &&
	    cg->cg_bcast_size >= 65536 && cg->cg_bcast_size <= (1ULL << 32) &&
	    (cg->cg_bcast_size & (cg->cg_bcast_size - 1)) == 0 &&
	    cg->cg_max_rooms >= 1 && cg->cg_max_rooms <= 65536 &&
	    cg->cg_max_members >= 1 && cg->cg_max_members <= (1 << 24) &&
	    cg->cg_history >= 1 && cg->cg_history <= 100000 &&
	    cg->cg_max_message >= 1 && cg->cg_max_message <= CHAT_TEXT_MAX &&
	    bcast_max_payload(cg->cg_bcast_size) >= CHATMSG_OUT_MAX;
}

/*
 * Lay out the chat region from offset start into shm_geom; return the
 * segment's total size.
 */
static uint64_t
shm_chat_layout(uint64_t start, uint32_t nslots, const struct shm_chat_geom *cg)
{
	struct shm_chat_geom c = *cg;
	uint64_t off;

	shm_geom.sg_chat = c;
	shm_geom.sg_chat_offset = SHM_ROUND(start, SHM_PAGE);
	shm_geom.sg_cslots_offset = SHM_ROUND(
	    shm_geom.sg_chat_offset + sizeof(struct shm_chat), SHM_CACHELINE);
	shm_geom.sg_cring_offset = SHM_ROUND(
	    shm_geom.sg_cslots_offset + nslots * sizeof(struct shm_chat_slot),
	    SHM_PAGE);
	shm_geom.sg_cring_stride =
	    SHM_ROUND(sizeof(struct shm_ring) + c.cg_ring_size, SHM_PAGE);
	shm_geom.sg_bcast_offset =
	    shm_geom.sg_cring_offset + nslots * shm_geom.sg_cring_stride;
	shm_geom.sg_rooms_offset = SHM_ROUND(shm_geom.sg_bcast_offset +
		sizeof(struct bcast_ring) + c.cg_bcast_size,
	    SHM_PAGE);
	shm_geom.sg_members_offset = shm_geom.sg_rooms_offset +
	    c.cg_max_rooms * sizeof(struct shm_chat_room);
	shm_geom.sg_history_offset = SHM_ROUND(shm_geom.sg_members_offset +
		c.cg_max_members * sizeof(struct shm_chat_member),
	    SHM_PAGE);
	shm_geom.sg_entry_size = SHM_ROUND(sizeof(struct shm_chat_entry) +
		CHATMSG_OUT_EVENT_MAX(c.cg_max_message),
	    SHM_CACHELINE);
	off = shm_geom.sg_history_offset +
	    c.cg_max_rooms * SHM_CHAT_ENTRIES(c.cg_history) *
		shm_geom.sg_entry_size;
	return SHM_ROUND(off, SHM_PAGE);
}

/* Tell whether an address table of groups groups fits the layout. */
static int
shm_ip_groups_ok(uint64_t groups)
{
	return groups >= 1 && groups <= SHM_IP_GROUPS_MAX &&
	    (groups & (groups - 1)) == 0;
}

/*
 * Lay out the address table of groups groups from offset start into
 * shm_geom; return the segment's total size.
 */
static uint64_t
shm_ip_layout(uint64_t start, uint64_t groups)
{
	shm_geom.sg_ip_offset = SHM_ROUND(start, SHM_PAGE);
	shm_geom.sg_ip_groups = groups;
	return SHM_ROUND(
	    shm_geom.sg_ip_offset + groups * sizeof(struct shm_ipgroup),
	    SHM_PAGE);
}

/* Write the chat region's header and empty broadcast ring. */
static void
shm_chat_init(struct shm_header *sh)
{
	struct shm_chat *ch = shm_chat(sh);
	uint64_t i;

	ch->ch_ring_size = shm_geom.sg_chat.cg_ring_size;
	ch->ch_bcast_size = shm_geom.sg_chat.cg_bcast_size;
	ch->ch_max_rooms = shm_geom.sg_chat.cg_max_rooms;
	ch->ch_max_members = shm_geom.sg_chat.cg_max_members;
	ch->ch_history = shm_geom.sg_chat.cg_history;
	ch->ch_max_message = shm_geom.sg_chat.cg_max_message;
	ch->ch_entry_size = shm_geom.sg_entry_size;
	ch->ch_guest_next = 1;
	for (i = 0; i < ch->ch_max_rooms; i++)
		shm_chat_room(sh, (uint32_t)i)->rm_first = SHM_CHAT_NONE;
	bcast_init(shm_chat_bcast(sh), ch->ch_bcast_size);
	sh->sh_chat_offset = shm_geom.sg_chat_offset;
}

/*
 * Create the segment at path (replacing a stale one) with nslots slots,
 * rings of ring_size bytes (a power of two) and an address table of
 * ip_groups groups (a power of two). Mode 0640: the owner and the
 * group may read it; priv_chown() hands it to the configured user/group.
 */
struct shm_header *
shm_create(const char *path, uint32_t nslots, uint64_t ring_size,
    const struct shm_chat_geom *cg, uint64_t ip_groups, char *err,
    size_t errlen)
{
	uint64_t size, slots_offset, rings_offset, ring_stride;
	struct shm_header *sh;
	int fd;

	if (!shm_chat_geom_ok(cg) || !shm_ip_groups_ok(ip_groups)) {
		snprintf(
		    err, errlen, "%s: chat or table sizes out of range", path);
		return NULL;
	}
	size = shm_layout(
	    nslots, ring_size, &slots_offset, &rings_offset, &ring_stride);
	size = shm_chat_layout(size, nslots, cg);
	size = shm_ip_layout(size, ip_groups);
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
	shm_chat_init(sh);
	sh->sh_ip_offset = shm_geom.sg_ip_offset;
	sh->sh_ip_groups = ip_groups;
	sh->sh_ip_seed = shm_ip_seed();
	/* The magic last: a reader never sees a half-made header as valid. */
	__atomic_store_n(&sh->sh_magic, SHM_MAGIC, __ATOMIC_RELEASE);
	return sh;
}

/*
 * Read the chat parameters of a segment whose chat region starts at the
 * page after base (file_size bytes in all) into cg: 1 if they are sane.
 */
static int
shm_chat_geom_read(const struct shm_header *sh, uint64_t base,
    uint64_t file_size, struct shm_chat_geom *cg)
{
	const struct shm_chat *ch;
	uint64_t off = SHM_ROUND(base, SHM_PAGE);

	if (__atomic_load_n(&sh->sh_chat_offset, __ATOMIC_RELAXED) != off ||
	    off + sizeof(*ch) > file_size)
		return 0;
	ch = (const struct shm_chat *)(const void *)((const char *)sh + off);
	cg->cg_ring_size = __atomic_load_n(&ch->ch_ring_size, __ATOMIC_RELAXED);
	cg->cg_bcast_size =
	    __atomic_load_n(&ch->ch_bcast_size, __ATOMIC_RELAXED);
	cg->cg_max_rooms = __atomic_load_n(&ch->ch_max_rooms, __ATOMIC_RELAXED);
	cg->cg_max_members =
	    __atomic_load_n(&ch->ch_max_members, __ATOMIC_RELAXED);
	cg->cg_history = __atomic_load_n(&ch->ch_history, __ATOMIC_RELAXED);
	cg->cg_max_message =
	    __atomic_load_n(&ch->ch_max_message, __ATOMIC_RELAXED);
	return shm_chat_geom_ok(cg);
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
	uint64_t ip_groups;
	struct shm_chat_geom cg;
	uint32_t nslots;

	nslots = __atomic_load_n(&sh->sh_nslots, __ATOMIC_RELAXED);
	ring_size = __atomic_load_n(&sh->sh_ring_size, __ATOMIC_RELAXED);
	if (nslots == 0 || nslots > 65536 || ring_size < 4096 ||
	    ring_size > (1ULL << 32) || (ring_size & (ring_size - 1)) != 0)
		return 0;
	size = shm_layout(
	    nslots, ring_size, &slots_offset, &rings_offset, &ring_stride);
	if (!shm_chat_geom_read(sh, size, file_size, &cg))
		return 0;
	size = shm_chat_layout(size, nslots, &cg);
	ip_groups = __atomic_load_n(&sh->sh_ip_groups, __ATOMIC_RELAXED);
	if (!shm_ip_groups_ok(ip_groups))
		return 0;
	size = shm_ip_layout(size, ip_groups);
	if (size != file_size ||
	    shm_geom.sg_ip_offset !=
		__atomic_load_n(&sh->sh_ip_offset, __ATOMIC_RELAXED) ||
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

/* Return a seed for the address table's hash, random if the kernel can. */
static uint64_t
shm_ip_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)getpid();
	return seed;
}

/* Return the address table's first group (shm.h, iplimit.c). */
struct shm_ipgroup *
shm_ip_table(struct shm_header *sh)
{
	return (
	    struct shm_ipgroup *)(void *)((char *)sh + shm_geom.sg_ip_offset);
}

/* Return the groups of the address table (of this process's copy). */
uint64_t
shm_ip_ngroups(void)
{
	return shm_geom.sg_ip_groups;
}

/* Return the chat parameters the segment was laid out with. */
const struct shm_chat_geom *
shm_chat_geometry(void)
{
	return &shm_geom.sg_chat;
}

/* Return the chat region's header. */
struct shm_chat *
shm_chat(struct shm_header *sh)
{
	return (
	    struct shm_chat *)(void *)((char *)sh + shm_geom.sg_chat_offset);
}

/* Return the chat wake flag of slot i. */
struct shm_chat_slot *
shm_chat_slot(struct shm_header *sh, uint32_t i)
{
	return (struct shm_chat_slot *)(void *)((char *)sh +
	    shm_geom.sg_cslots_offset +
	    (uint64_t)i * sizeof(struct shm_chat_slot));
}

/* Return the chat-in ring of slot i. */
struct shm_ring *
shm_chat_ring(struct shm_header *sh, uint32_t i)
{
	return (struct shm_ring *)(void *)((char *)sh +
	    shm_geom.sg_cring_offset + (uint64_t)i * shm_geom.sg_cring_stride);
}

/* Return the broadcast ring. */
struct bcast_ring *
shm_chat_bcast(struct shm_header *sh)
{
	return (
	    struct bcast_ring *)(void *)((char *)sh + shm_geom.sg_bcast_offset);
}

/* Return room i (i < cg_max_rooms). */
struct shm_chat_room *
shm_chat_room(struct shm_header *sh, uint32_t i)
{
	return (struct shm_chat_room *)(void *)((char *)sh +
	    shm_geom.sg_rooms_offset +
	    (uint64_t)i * sizeof(struct shm_chat_room));
}

/* Return member i (i < cg_max_members). */
struct shm_chat_member *
shm_chat_member(struct shm_header *sh, uint32_t i)
{
	return (struct shm_chat_member *)(void *)((char *)sh +
	    shm_geom.sg_members_offset +
	    (uint64_t)i * sizeof(struct shm_chat_member));
}

/* Return the history entry of room for sequence number seq. */
struct shm_chat_entry *
shm_chat_entry(struct shm_header *sh, uint32_t room, uint64_t seq)
{
	uint64_t n = SHM_CHAT_ENTRIES(shm_geom.sg_chat.cg_history);
	uint64_t i = (uint64_t)room * n + seq % n;

	return (struct shm_chat_entry *)(void *)((char *)sh +
	    shm_geom.sg_history_offset + i * shm_geom.sg_entry_size);
}

/* Return the bytes an entry holds after its header. */
size_t
shm_chat_entry_room(void)
{
	return shm_geom.sg_entry_size - sizeof(struct shm_chat_entry);
}

/*
 * In the master, before any child: make the hub's eventfd and one for
 * each of nslots slots. Every child inherits them all.
 */
int
shm_chat_wake_init(uint32_t nslots)
{
	uint32_t i;

	if ((shm_wake_fds = calloc(nslots + 1, sizeof(int))) == NULL)
		return -1;
	for (i = 0; i <= nslots; i++)
		if ((shm_wake_fds[i] =
			    eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
			return -1;
	return 0;
}

/* Return the eventfd that wakes the hub. */
int
shm_chat_hub_fd(void)
{
	return shm_wake_fds[0];
}

/* Return the eventfd that wakes the worker of slot i. */
int
shm_chat_slot_fd(uint32_t i)
{
	return shm_wake_fds[1 + i];
}

/* Write 1 to an eventfd (a wake-up; a full counter is already one). */
static void
shm_eventfd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("eventfd");
}

/* Take the wake-ups an eventfd holds, so that it is quiet again. */
void
shm_chat_wake_take(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("chat eventfd");
}

/*
 * After publishing a request: wake the hub if it sleeps. The fence pairs
 * with the hub's (hub_sleep()), as shm_logger_wake() does.
 */
void
shm_chat_wake_hub(struct shm_header *sh)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&shm_chat(sh)->ch_hub_asleep, __ATOMIC_RELAXED))
		shm_eventfd_signal(shm_chat_hub_fd());
}

/*
 * In the hub, after publishing: wake the worker of slot i if it waits,
 * taking its flag (it sets it again once it has read all).
 */
void
shm_chat_wake_slot(struct shm_header *sh, uint32_t i)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(
		&shm_chat_slot(sh, i)->cs_waiting, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(
		&shm_chat_slot(sh, i)->cs_waiting, 0, __ATOMIC_SEQ_CST))
		shm_eventfd_signal(shm_chat_slot_fd(i));
}
