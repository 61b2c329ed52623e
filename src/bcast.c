/*
 * The broadcast ring: one writer and any number of readers, each with a
 * private cursor, over a ring of variable-length records in shared memory
 * (layout: struct bcast_ring in pfhttpd.h, followed by `size` data bytes).
 * The writer is the chat hub, the readers the workers. The writer never
 * waits for a reader and does not know that one exists: a reader that
 * falls more than a ring behind (stopped, starved) is lapped; it learns
 * how many events it lost and carries on from the oldest record still
 * intact. A reader never delivers a torn record, one that the writer
 * overwrote while the reader was copying it.
 *
 * Events. Each record is one event, numbered 1, 2, 3... in the order
 * published; br_next_event is the number the next one gets (2^64 never
 * wraps). A reader's cursor holds the byte position it reads next (bc_pos)
 * and the event number it expects there (bc_next). Each record carries its
 * own number, so what a reader lost is always that number minus bc_next,
 * whatever the reason: it was lapped, a torn copy was discarded, or a
 * corrupt record was dropped. A new cursor starts at the head with
 * bc_next = br_next_event; the two cannot be loaded as a pair without a
 * lock, so bc_next may run ahead of the record at that head, and a reader
 * skips, without counting them, records numbered below bc_next.
 *
 * Counters. br_head (bytes ever published) and br_oldest (the position of
 * the oldest record still intact) count bytes, only grow, never wrap and
 * stay multiples of 8; br_head - size <= br_oldest <= br_head at every
 * instant. The data position of a count is count & (size - 1); size is a
 * power of two, at least 4096. The records in [br_oldest, br_head) are
 * published and intact; bytes before br_oldest may change at any time.
 *
 * Framing. A record is a header of two 64-bit words, the payload length
 * and the event number, then the payload, zero-padded to a multiple of 8
 * (BCAST_ALIGN). A record never wraps: when it does not fit before the end,
 * the writer stores the marker BCAST_PAD in the first word at the current
 * position (8 bytes at least remain, as counts are multiples of 8) and the
 * record starts at offset 0; the skipped bytes count as used. A framed
 * record is at most size / 2 bytes, so payloads are 1 .. size / 2 - 16
 * bytes (bcast_max_payload()). Why 64-bit words and not a 32-bit length
 * with 32 reserved bits: every access to the data, header or payload, is
 * then one 64-bit atomic of a single size (below), and there is no field
 * without a use.
 *
 * The writer publishes a record in four steps (bcast_publish()):
 *  W1. advance br_oldest past every record that the new one and its
 *      padding will overwrite, the ones that start less than a ring before
 *      its end; store br_oldest with release;
 *  W2. a release fence;
 *  W3. store the padding marker, the header and the payload;
 *  W4. store br_next_event, then br_head with release.
 * A reader takes the next record in three (bcast_read()):
 *  R1. load br_oldest, then br_head, with acquire; a cursor before
 *      br_oldest was lapped and starts at br_oldest instead;
 *  R2. copy the header and payload, checking every length against the data
 *      area, the head and its buffer (a torn header may hold anything);
 *  R3. an acquire fence, then load br_oldest again: if it passed the start
 *      of R2, the writer may have changed bytes during the copy, so the
 *      copy is discarded and R1 runs again, at most BCAST_TRIES times.
 * This is a seqlock (Documentation/locking/seqlock.rst in Linux) whose
 * sequence is br_oldest, and whose readers retry from the new oldest.
 *
 * Memory ordering, the contract. Only the writer stores anything shared;
 * readers only load, so any number of them costs the writer nothing.
 *  - W4's release store of br_head pairs with R1's acquire load of it: a
 *    reader that sees a head sees every byte of the records before it
 *    (their headers, payloads and padding markers), and a br_next_event
 *    above every number among them.
 *  - W2's release fence pairs with R3's acquire fence: if any load in R2
 *    read a byte stored after W2 (an overwrite), the br_oldest stored
 *    before W2 happens before R3's load, which sees it or a later value:
 *    above every overwritten record, so above R2's start. A copy that
 *    passes R3 therefore read no overwritten byte: every byte it read is
 *    the one published.
 *  - W1's release store of br_oldest pairs with R1's acquire load of it,
 *    which also keeps R1's load of br_head after it: the head a reader
 *    sees is at least the oldest it saw (the writer stores br_oldest only
 *    up to the head it already published).
 * The data words are read and written only as relaxed 64-bit atomics, by
 * both sides: the racing copy is then no data race in C11, the fences have
 * their standard meaning, and on x86-64 and arm64 these are the plain
 * loads and stores a memcpy would do. The writer's three fields share one
 * cache line that readers only read.
 *
 * Corruption. Every worker maps the segment writable, so a stray write may
 * put anything here. A reader checks every header (length, room before the
 * end, the head, an event number below br_next_event), never reads outside
 * the data area and never copies more than its buffer; a header it cannot
 * believe, and that R3 does not explain as torn, makes it drop to the head,
 * and the next event's number counts the loss. The writer, walking old
 * headers in W1, drops every old record when it meets one it cannot
 * believe, and starts afresh at the head on impossible counters. A stray
 * write loses events; it never makes either side read out of bounds or
 * loop.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pfhttpd.h"
#include "shm.h"

#define BCAST_HDR      16	  /* header bytes: length word, event word */
#define BCAST_ALIGN    8	  /* records are padded to this multiple */
#define BCAST_PAD      UINT64_MAX /* length word of the skip-to-0 marker */
#define BCAST_MIN_SIZE 4096	  /* smallest ring */
#define BCAST_TRIES    4	  /* torn copies retried by one bcast_read() */

/*
 * The fields and data are shared between processes: their atomics must be
 * real instructions, not libatomic's process-local locks.
 */
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
    "64-bit atomics must be lock-free to be shared between processes");

/* The writer's fields on one cache line; the data starts on the next. */
_Static_assert(BCAST_CACHELINE == SHM_CACHELINE &&
	sizeof(struct bcast_ring) == BCAST_CACHELINE,
    "struct bcast_ring: one cache line");

/* What bcast_fetch() found at a reader's position. */
enum bcast_found {
	BCAST_NONE,   /* nothing published there yet */
	BCAST_RECORD, /* a record, copied */
	BCAST_SMALL,  /* a record longer than the buffer, not copied */
	BCAST_BAD,    /* a header that cannot be true */
};

/* A record as bcast_fetch() found it. */
struct bcast_rec {
	uint64_t rc_end;   /* position past it, or where the fetch stopped */
	uint64_t rc_len;   /* payload bytes */
	uint64_t rc_event; /* its event number */
};

/* Return the data words of ring br, for the writer. */
static uint64_t *
bcast_words(struct bcast_ring *br)
{
	return (uint64_t *)(void *)(br + 1);
}

/* Return the data words of ring br, for a reader. */
static const uint64_t *
bcast_rwords(const struct bcast_ring *br)
{
	return (const uint64_t *)(const void *)(br + 1);
}

/* Return the bytes a record of a len-byte payload takes, header included. */
static uint64_t
bcast_framed(uint64_t len)
{
	return BCAST_HDR +
	    ((len + BCAST_ALIGN - 1) & ~(uint64_t)(BCAST_ALIGN - 1));
}

/* Return the largest payload a ring of size data bytes takes. */
size_t
bcast_max_payload(uint64_t size)
{
	return (size_t)(size / 2 - BCAST_HDR);
}

/*
 * Make ring br of size data bytes empty, its first event numbered 1, before
 * any reader or writer uses it. Return 0, or -1 with errno EINVAL if size
 * is not a power of two of at least 4096 bytes.
 */
int
bcast_init(struct bcast_ring *br, uint64_t size)
{
	if (size < BCAST_MIN_SIZE || (size & (size - 1)) != 0) {
		errno = EINVAL;
		return -1;
	}
	memset(br, 0, sizeof(*br));
	br->br_next_event = 1;
	return 0;
}

/*
 * Writer: load our own counters into *head, *oldest and *event (relaxed:
 * nobody else stores them). Counters that cannot be true (a stray write)
 * start afresh at the head rounded up to 8, dropping every old record.
 */
static void
bcast_counters(const struct bcast_ring *br, uint64_t size, uint64_t *head,
    uint64_t *oldest, uint64_t *event)
{
	*head = __atomic_load_n(&br->br_head, __ATOMIC_RELAXED);
	*oldest = __atomic_load_n(&br->br_oldest, __ATOMIC_RELAXED);
	*event = __atomic_load_n(&br->br_next_event, __ATOMIC_RELAXED);
	if (*head % BCAST_ALIGN != 0 || *oldest % BCAST_ALIGN != 0 ||
	    *oldest > *head || *head - *oldest > size) {
		*head =
		    (*head + BCAST_ALIGN - 1) & ~(uint64_t)(BCAST_ALIGN - 1);
		*oldest = *head;
	}
	if (*event == 0)
		*event = 1;
}

/*
 * Writer: return the first record start at or after limit, walking the
 * records from oldest (a record start, at most head). A header that cannot
 * be true ends the walk at head: every older record counts as overwritten.
 */
static uint64_t
bcast_advance(const struct bcast_ring *br, uint64_t size, uint64_t oldest,
    uint64_t head, uint64_t limit)
{
	const uint64_t *words = bcast_rwords(br);
	uint64_t off, len, step;

	while (oldest < limit) {
		off = oldest & (size - 1);
		len = __atomic_load_n(&words[off / 8], __ATOMIC_RELAXED);
		if (len == BCAST_PAD)
			step = size - off;
		else if (len == 0 || len > bcast_max_payload(size))
			return head;
		else
			step = bcast_framed(len);
		if (step > size - off || step > head - oldest)
			return head;
		oldest += step;
	}
	return oldest;
}

/* Writer: store the len bytes at p as words from data offset off on. */
static void
bcast_store(uint64_t *words, uint64_t off, const uint8_t *p, size_t len)
{
	uint64_t w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = 0;
		memcpy(&w, p + i, len - i < 8 ? len - i : 8);
		__atomic_store_n(&words[(off + i) / 8], w, __ATOMIC_RELAXED);
	}
}

/*
 * Writer: publish the len-byte payload in ring br of size data bytes,
 * overwriting the oldest records as needed (steps W1-W4 above). Return
 * the event number it was given, or 0 without writing anything if len is
 * 0 or above bcast_max_payload(size). Never blocks, never fails otherwise.
 */
uint64_t
bcast_publish(
    struct bcast_ring *br, uint64_t size, const void *payload, size_t len)
{
	uint64_t *words = bcast_words(br);
	uint64_t head, oldest, event, off, room, framed, start, end;

	if (len == 0 || len > bcast_max_payload(size))
		return 0;
	bcast_counters(br, size, &head, &oldest, &event);
	framed = bcast_framed(len);
	off = head & (size - 1);
	room = size - off;
	start = room < framed ? head + room : head;
	end = start + framed;

	/*
	 * W1. The bytes [head, end) were last used by the records that start
	 * before end - size. Release: pairs with a reader's acquire load of
	 * br_oldest in R1; the head published before is visible with it.
	 */
	if (end > size)
		oldest = bcast_advance(br, size, oldest, head, end - size);
	__atomic_store_n(&br->br_oldest, oldest, __ATOMIC_RELEASE);
	/*
	 * W2. Release fence: pairs with the reader's acquire fence in R3. A
	 * reader whose copy sees any byte stored below sees the br_oldest
	 * above (or a later one) when it checks.
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);

	/* W3. */
	if (start != head)
		__atomic_store_n(&words[off / 8], BCAST_PAD, __ATOMIC_RELAXED);
	off = start & (size - 1);
	__atomic_store_n(&words[off / 8], (uint64_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&words[off / 8 + 1], event, __ATOMIC_RELAXED);
	bcast_store(words, off + BCAST_HDR, payload, len);

	/*
	 * W4. Release: pairs with a reader's acquire load of br_head in R1;
	 * the marker, header, payload and br_next_event stored before are
	 * visible with the head that covers them.
	 */
	__atomic_store_n(&br->br_next_event, event + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&br->br_head, end, __ATOMIC_RELEASE);
	return event;
}

/*
 * Reader: start cursor bc at the head of ring br, so that it delivers only
 * the events published from now on. The head and br_next_event cannot be
 * loaded as a pair without a lock, so the cursor takes the head first
 * (acquire: pairs with the writer's release store of br_head, and keeps
 * the next load after it), then br_next_event, which is at least the
 * number of the record at that head; bcast_read() skips the records
 * numbered below bc_next, published while this ran.
 */
void
bcast_cursor_init(const struct bcast_ring *br, struct bcast_cursor *bc)
{
	bc->bc_pos = __atomic_load_n(&br->br_head, __ATOMIC_ACQUIRE);
	bc->bc_next = __atomic_load_n(&br->br_next_event, __ATOMIC_RELAXED);
}

/* Reader: copy len bytes from the words at data offset off on into buf. */
static void
bcast_load(const uint64_t *words, uint64_t off, uint8_t *buf, size_t len)
{
	uint64_t w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = __atomic_load_n(&words[(off + i) / 8], __ATOMIC_RELAXED);
		memcpy(buf + i, &w, len - i < 8 ? len - i : 8);
	}
}

/*
 * Reader (R2): find the record at pos (at most head), after a padding
 * marker if there is one, and fill rc with its end, length and number;
 * copy its payload into buf if it fits in buflen. Every length is checked
 * against the data area and head before it is used, and the number against
 * next_event: a torn or corrupt header returns BCAST_BAD, never a read
 * outside the data or a write past buflen. What this returns is true only
 * if R3 then finds that nothing changed under it.
 */
static enum bcast_found
bcast_fetch(const struct bcast_ring *br, uint64_t size, uint64_t pos,
    uint64_t head, uint64_t next_event, void *buf, size_t buflen,
    struct bcast_rec *rc)
{
	const uint64_t *words = bcast_rwords(br);
	uint64_t off = pos & (size - 1), len;

	rc->rc_end = pos;
	if (pos % BCAST_ALIGN != 0 || head - pos > size)
		return BCAST_BAD;
	if (pos == head)
		return BCAST_NONE;
	len = __atomic_load_n(&words[off / 8], __ATOMIC_RELAXED);
	if (len == BCAST_PAD) {
		if (size - off > head - pos)
			return BCAST_BAD;
		pos += size - off;
		off = 0;
		rc->rc_end = pos;
		if (pos == head)
			return BCAST_NONE;
		len = __atomic_load_n(&words[0], __ATOMIC_RELAXED);
	}
	if (len == 0 || len > bcast_max_payload(size) ||
	    bcast_framed(len) > size - off || bcast_framed(len) > head - pos)
		return BCAST_BAD;
	rc->rc_event = __atomic_load_n(&words[off / 8 + 1], __ATOMIC_RELAXED);
	if (rc->rc_event == 0 || rc->rc_event >= next_event)
		return BCAST_BAD;
	rc->rc_len = len;
	rc->rc_end = pos + bcast_framed(len);
	if (len > buflen)
		return BCAST_SMALL;
	bcast_load(words, off + BCAST_HDR, buf, (size_t)len);
	return BCAST_RECORD;
}

/*
 * Reader: take the next event from ring br of size data bytes for cursor
 * bc (steps R1-R3 above). Return its payload length, the payload copied
 * into buf, with *event set to its number and *missed to the events lost
 * since the last one read: 0, or more when the writer lapped the reader,
 * which then resumed at the oldest intact record. Return 0 if nothing new
 * is published, or if the writer overwrote BCAST_TRIES copies in a row (a
 * reader that cannot keep up at all; the cursor stands at the oldest
 * record, and the next call goes on from there; bcast_lag() is not 0).
 * Return -1 if the record is longer than buflen: it is skipped, not
 * copied, and *event and *missed are set as for a delivered one (1 +
 * *missed events are lost); a buffer of bcast_max_payload(size) bytes
 * never gets -1. *event and *missed are untouched when 0 is returned.
 * Never blocks.
 *
 * The loop ends: each pass either counts a torn copy, returns, or skips a
 * record numbered below bc_next, and the cursor passes those only once.
 */
ssize_t
bcast_read(const struct bcast_ring *br, uint64_t size, struct bcast_cursor *bc,
    void *buf, size_t buflen, uint64_t *event, uint64_t *missed)
{
	struct bcast_rec rc;
	enum bcast_found found;
	uint64_t oldest, head, next_event, start;
	int torn = 0;

	while (torn < BCAST_TRIES) {
		/*
		 * R1. Acquire: pairs with the writer's release store of
		 * br_oldest (W1), and keeps the head load after this one.
		 * Acquire on the head: pairs with the writer's release store
		 * of br_head (W4); the records before it are visible, and
		 * br_next_event loaded after it is above their numbers.
		 */
		oldest = __atomic_load_n(&br->br_oldest, __ATOMIC_ACQUIRE);
		head = __atomic_load_n(&br->br_head, __ATOMIC_ACQUIRE);
		next_event =
		    __atomic_load_n(&br->br_next_event, __ATOMIC_RELAXED);
		start = bc->bc_pos < oldest ? oldest : bc->bc_pos;
		if (start > head) /* a cursor no head ever reached */
			start = head;

		found = bcast_fetch(
		    br, size, start, head, next_event, buf, buflen, &rc);

		/*
		 * R3. Acquire fence: pairs with the writer's release fence
		 * (W2). If the copy read any overwritten byte, the br_oldest
		 * the writer stored before overwriting it, above start, is
		 * what this load sees at least.
		 */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		oldest = __atomic_load_n(&br->br_oldest, __ATOMIC_RELAXED);
		if (start < oldest) {
			bc->bc_pos = oldest;
			torn++;
			continue;
		}

		if (found == BCAST_BAD) {
			bc->bc_pos = head;
			return 0;
		}
		bc->bc_pos = rc.rc_end;
		if (found == BCAST_NONE)
			return 0;
		if (rc.rc_event < bc->bc_next)
			continue;
		*event = rc.rc_event;
		*missed = rc.rc_event - bc->bc_next;
		bc->bc_next = rc.rc_event + 1;
		return found == BCAST_SMALL ? -1 : (ssize_t)rc.rc_len;
	}
	return 0;
}

/*
 * Return how many events cursor bc is behind the writer of ring br: those
 * numbered, not yet read (lost ones included); for a lag counter.
 */
uint64_t
bcast_lag(const struct bcast_ring *br, const struct bcast_cursor *bc)
{
	uint64_t next_event;

	next_event = __atomic_load_n(&br->br_next_event, __ATOMIC_RELAXED);
	return next_event > bc->bc_next ? next_event - bc->bc_next : 0;
}
