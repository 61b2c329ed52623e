/*
 * The log ring: a lock-free single-producer / single-consumer ring of
 * variable-length byte records in shared memory (layout: struct shm_ring
 * in shm.h, followed by `size` data bytes). The producer is a worker, the
 * consumer the logger; they are separate processes and share no lock.
 *
 * Counters. rg_head (bytes ever published) is written only by the
 * producer, rg_tail (bytes ever consumed) only by the consumer. Both start
 * at 0, only grow, and never wrap (2^64 bytes is centuries of logging).
 * The data position of a count is count & (size - 1); size is a power of
 * two, at least 4096. Bytes [tail, head) hold published records; bytes
 * [head, tail + size) belong to the producer. The consumer's cache line
 * also holds the logger's count of the access lines it wrote and the
 * journal that makes counting and releasing one step (rg_written,
 * rg_jwritten, rg_jtail; contract in shm.h): logger.c writes them around
 * logring_release(), which moves rg_tail alone.
 *
 * Framing. A record is a 4-byte header holding the payload length in host
 * byte order, then the payload, the whole padded with unspecified bytes to
 * a multiple of 8 (LOGRING_ALIGN). Counters therefore stay multiples of 8
 * and a header always fits before the end of the data. A record never
 * wraps: when it does not fit before the end, the producer writes the
 * padding marker LOGRING_PAD as the header at the current position, and
 * the record starts at offset 0; the skipped bytes count as used. (Were a
 * counter ever misaligned by corruption, fewer than 4 bytes could remain
 * before the end: both sides then skip them without a marker, and the
 * counters are aligned again from offset 0.) A framed record may be at
 * most size / 2 bytes, so the largest one always fits in an empty ring
 * whatever the position; payloads are 1 .. size / 2 - 4 bytes.
 *
 * Memory ordering (the contract between the two processes):
 *  - the producer loads rg_tail with acquire before writing bytes: the
 *    consumer's copies out of the bytes it released happen before the
 *    producer overwrites them;
 *  - the producer stores rg_head with release after writing bytes: a
 *    consumer that sees the new head sees the whole record (and its
 *    padding marker);
 *  - the consumer loads rg_head with acquire, copies, then stores rg_tail
 *    with release: the mirror of the two above.
 * Each side reads its own counter with a relaxed load: nobody else
 * writes it.
 *
 * Neither side ever waits for the other: a full ring refuses the record
 * (the worker counts it as dropped), an empty ring returns 0 (the logger
 * sleeps elsewhere). The consumer treats a header it cannot believe as
 * corruption: it drops everything pending and carries on, so a stray write
 * into the segment loses records but never wedges the ring.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pfhttpd.h"
#include "shm.h"

#define LOGRING_HDR   4		  /* bytes of a record's length header */
#define LOGRING_ALIGN 8		  /* records are padded to this multiple */
#define LOGRING_PAD   0xffffffffU /* header of the skip-to-offset-0 marker */

/*
 * The counters are shared between processes: their atomics must be real
 * instructions, not libatomic's process-local locks.
 */
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
    "64-bit atomics must be lock-free to be shared between processes");

/* Each side's fields on a cache line of their own, the consumer's on one. */
_Static_assert(offsetof(struct shm_ring, rg_tail) == SHM_CACHELINE &&
	offsetof(struct shm_ring, rg_jtail) + 8 <= 2 * SHM_CACHELINE &&
	sizeof(struct shm_ring) == 2 * SHM_CACHELINE,
    "struct shm_ring: the producer's and the consumer's cache lines");

/* Return the first data byte of ring rg. */
static uint8_t *
logring_data(struct shm_ring *rg)
{
	return (uint8_t *)(rg + 1);
}

/* Return the bytes a record of a len-byte payload takes, framing included. */
static uint64_t
logring_framed(uint64_t len)
{
	return (LOGRING_HDR + len + LOGRING_ALIGN - 1) &
	    ~(uint64_t)(LOGRING_ALIGN - 1);
}

/*
 * Producer: make room in ring rg of size data bytes for a record of a
 * len-byte payload and point ls at it; the caller writes the payload at
 * ls->ls_payload, then logring_commit() publishes it. Nothing is visible
 * to the consumer before that. Return 0, or -1 without reserving anything
 * if it does not fit in the free space now (errno ENOBUFS) or ever (errno
 * EMSGSIZE: empty, or framed larger than size / 2). Never blocks.
 */
int
logring_reserve(
    struct shm_ring *rg, uint64_t size, size_t len, struct logring_slot *ls)
{
	uint8_t *data = logring_data(rg);
	uint64_t head, tail, used, pos, room, pad, framed;
	uint32_t hdr;

	if (len == 0 || len > size / 2 - LOGRING_HDR) {
		errno = EMSGSIZE;
		return -1;
	}
	framed = logring_framed(len);

	/* Our own counter: only this process writes it. */
	head = __atomic_load_n(&rg->rg_head, __ATOMIC_RELAXED);
	/*
	 * Acquire: pairs with the consumer's release store of rg_tail, so
	 * its reads of the bytes before tail are complete before we reuse
	 * them below.
	 */
	tail = __atomic_load_n(&rg->rg_tail, __ATOMIC_ACQUIRE);
	used = head - tail;
	if (used > size) {
		/* Impossible counters: the consumer will reset them. */
		errno = ENOBUFS;
		return -1;
	}

	pos = head & (size - 1);
	room = size - pos;
	pad = room < framed ? room : 0;
	if (pad + framed > size - used) {
		errno = ENOBUFS;
		return -1;
	}

	if (pad > 0) {
		/* Ours until the head moves past it: the consumer stops at
		 * the head, so it cannot see the marker early. */
		if (pad >= LOGRING_HDR) {
			hdr = LOGRING_PAD;
			memcpy(data + pos, &hdr, sizeof(hdr));
		}
		pos = 0;
	}
	ls->ls_header = data + pos;
	ls->ls_payload = data + pos + LOGRING_HDR;
	ls->ls_len = len;
	ls->ls_next_head = head + pad + framed;
	return 0;
}

/* Producer: publish the record reserved in ls, its payload written. */
void
logring_commit(struct shm_ring *rg, const struct logring_slot *ls)
{
	uint32_t hdr = (uint32_t)ls->ls_len;

	memcpy(ls->ls_header, &hdr, sizeof(hdr));
	/*
	 * Release: pairs with the consumer's acquire load of rg_head; the
	 * marker, header and payload written before are visible to it
	 * before the head that covers them.
	 */
	__atomic_store_n(&rg->rg_head, ls->ls_next_head, __ATOMIC_RELEASE);
}

/*
 * Producer: append the len-byte record rec to ring rg of size data bytes
 * (logring_reserve(), a copy, logring_commit()). Return 0 once it is
 * published, or -1 as logring_reserve() does, without writing anything.
 */
int
logring_put(struct shm_ring *rg, uint64_t size, const void *rec, size_t len)
{
	struct logring_slot ls;

	if (logring_reserve(rg, size, len, &ls) == -1)
		return -1;
	memcpy(ls.ls_payload, rec, len);
	logring_commit(rg, &ls);
	return 0;
}

/*
 * Consumer: read the record at *cursor (a position at or after rg_tail)
 * in ring rg of size data bytes without releasing it: copy its payload
 * into buf, move *cursor past it and return its length, skipping padding
 * markers; return 0 if nothing is published past *cursor. Return
 * (size_t)-1 if the record is longer than buflen (it is skipped, not
 * copied), or if the ring holds an impossible header or counters:
 * *cursor then moves to the head, so that releasing it drops everything
 * pending and the ring cannot get stuck. The producer may not reuse the
 * bytes until logring_release() hands them back.
 */
size_t
logring_read(struct shm_ring *rg, uint64_t size, uint64_t *cursor, void *buf,
    size_t buflen)
{
	const uint8_t *data = logring_data(rg);
	uint64_t head, tail, avail, pos, room, framed;
	uint32_t len;

	/*
	 * Acquire: pairs with the producer's release store of rg_head; every
	 * byte before head is written and visible before we read it.
	 */
	head = __atomic_load_n(&rg->rg_head, __ATOMIC_ACQUIRE);
	tail = *cursor;

	for (;;) {
		avail = head - tail;
		if (avail == 0) {
			*cursor = tail;
			return 0;
		}
		if (avail > size)
			goto corrupt;
		pos = tail & (size - 1);
		room = size - pos;
		if (room < LOGRING_HDR) {
			/* No header fits: an implicit marker. */
			if (room > avail)
				goto corrupt;
			tail += room;
			continue;
		}
		memcpy(&len, data + pos, sizeof(len));
		if (len == LOGRING_PAD) {
			if (room > avail)
				goto corrupt;
			tail += room;
			continue;
		}
		framed = logring_framed(len);
		if (len == 0 || framed > size / 2 || framed > avail ||
		    framed > room)
			goto corrupt;
		*cursor = tail + framed;
		if (len > buflen)
			return (size_t)-1;
		memcpy(buf, data + pos + LOGRING_HDR, len);
		return len;
	}

corrupt:
	*cursor = head;
	return (size_t)-1;
}

/* Consumer: where the next read starts (rg_tail; only we move it). */
uint64_t
logring_cursor(const struct shm_ring *rg)
{
	return __atomic_load_n(&rg->rg_tail, __ATOMIC_RELAXED);
}

/*
 * Consumer: hand the bytes before cursor back to the producer. Release:
 * pairs with the producer's acquire load of rg_tail, so our copies of
 * those bytes are complete before the producer may overwrite them. The
 * store is skipped when nothing moved, so polling an empty ring does not
 * bounce the cache line.
 */
void
logring_release(struct shm_ring *rg, uint64_t cursor)
{
	if (cursor != __atomic_load_n(&rg->rg_tail, __ATOMIC_RELAXED))
		__atomic_store_n(&rg->rg_tail, cursor, __ATOMIC_RELEASE);
}

/*
 * Consumer: take the next record out of ring rg at once (read it, then
 * release it); the same returns as logring_read().
 */
size_t
logring_get(struct shm_ring *rg, uint64_t size, void *buf, size_t buflen)
{
	uint64_t cursor = logring_cursor(rg);
	size_t ret;

	ret = logring_read(rg, size, &cursor, buf, buflen);
	logring_release(rg, cursor);
	return ret;
}

/*
 * Return the bytes published in ring rg and not yet consumed, padding
 * included; 0 for a drained ring. Safe from any process.
 */
uint64_t
logring_pending(const struct shm_ring *rg)
{
	uint64_t head, tail;

	/*
	 * Tail first, with acquire so the head load cannot move before it:
	 * tail never passes head, and head only grows, so the head read
	 * afterwards is at least the tail read. The other order could see
	 * a tail that overtook an older head.
	 */
	tail = __atomic_load_n(&rg->rg_tail, __ATOMIC_ACQUIRE);
	head = __atomic_load_n(&rg->rg_head, __ATOMIC_ACQUIRE);
	return head >= tail ? head - tail : 0;
}
