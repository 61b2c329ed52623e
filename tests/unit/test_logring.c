/*
 * Unit tests for logring.c: framing, padding at the end of the data,
 * refusal when full or oversized, recovery from corruption, and two real
 * concurrency tests (two processes on a MAP_SHARED mapping, and two
 * threads) pushing a million records through a 64 KiB ring.
 */

#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pfhttpd.h"
#include "shm.h"

#define SMALL	    4096	    /* the smallest ring allowed */
#define BIG	    65536	    /* the ring of the concurrency tests */
#define MAX_PAYLOAD (SMALL / 2 - 4) /* largest payload of a SMALL ring */
#define DUO_RECORDS 1000000	    /* records through the concurrency tests */
#define DUO_SECONDS 10		    /* they fail if not done by then */
#define DUO_MAXLEN  256		    /* their longest record */

/* Two sides of a concurrency test and what they share. */
struct duo {
	struct shm_ring *du_ring; /* the ring under test */
	uint64_t du_size;	  /* its data bytes */
	uint64_t du_records;	  /* records to pass */
	int du_stop;		  /* set by the consumer when it gives up */
};

static struct shm_ring *ring_new(uint64_t size);
static void *ring_snapshot(const struct shm_ring *rg, uint64_t size);
static uint64_t mix(uint64_t x);
static uint64_t framed(uint64_t len);
static size_t record_len(uint64_t seq, size_t max);
static void record_fill(uint8_t *buf, uint64_t seq, size_t len);
static int record_check(const uint8_t *buf, uint64_t seq, size_t len);
static void put_record(
    struct shm_ring *rg, uint64_t size, uint64_t seq, size_t len);
static void get_record(
    struct shm_ring *rg, uint64_t size, uint64_t seq, size_t len);
static uint64_t need(const struct shm_ring *rg, size_t len);
static void set_header(struct shm_ring *rg, uint64_t at, uint32_t len);
static double now(void);
static int duo_produce(struct duo *du);
static int duo_consume(struct duo *du);
static void *duo_producer_thread(void *arg);

/* Return a zeroed ring of size data bytes, as shm_create() would make it. */
static struct shm_ring *
ring_new(uint64_t size)
{
	struct shm_ring *rg;

	rg = aligned_alloc(SHM_CACHELINE, sizeof(*rg) + size);
	assert_non_null(rg);
	memset(rg, 0, sizeof(*rg) + size);
	return rg;
}

/* Return a copy of ring rg, counters and data, to compare with later. */
static void *
ring_snapshot(const struct shm_ring *rg, uint64_t size)
{
	void *copy;

	copy = malloc(sizeof(*rg) + size);
	assert_non_null(copy);
	memcpy(copy, rg, sizeof(*rg) + size);
	return copy;
}

/* Return a well-mixed 64-bit hash of x (splitmix64 finaliser). */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Return the ring bytes a len-byte payload takes: header, padded to 8. */
static uint64_t
framed(uint64_t len)
{
	return (4 + len + 7) & ~(uint64_t)7;
}

/* Return the length, 1..max, of record number seq (skewed to short). */
static size_t
record_len(uint64_t seq, size_t max)
{
	uint64_t h = mix(seq);

	if (h % 8 == 0)
		return 1 + (size_t)((h >> 8) % max);
	return 1 + (size_t)((h >> 8) % (max < 300 ? max : 300));
}

/* Fill buf with the len bytes of record number seq. */
static void
record_fill(uint8_t *buf, uint64_t seq, size_t len)
{
	uint64_t h = mix(seq ^ 0x5555);
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)((h >> (8 * (i % 8))) + i);
}

/* Return 1 if buf holds the len bytes of record number seq, else 0. */
static int
record_check(const uint8_t *buf, uint64_t seq, size_t len)
{
	uint8_t want[SMALL];

	record_fill(want, seq, len);
	return memcmp(buf, want, len) == 0;
}

/* Put record number seq of len bytes; it must be accepted. */
static void
put_record(struct shm_ring *rg, uint64_t size, uint64_t seq, size_t len)
{
	uint8_t buf[SMALL];

	record_fill(buf, seq, len);
	assert_int_equal(logring_put(rg, size, buf, len), 0);
}

/* Get the next record; it must be number seq of len bytes. */
static void
get_record(struct shm_ring *rg, uint64_t size, uint64_t seq, size_t len)
{
	uint8_t buf[SMALL];

	assert_int_equal(logring_get(rg, size, buf, sizeof(buf)), len);
	assert_true(record_check(buf, seq, len));
}

/* Return the bytes a put of len bytes needs now, padding included. */
static uint64_t
need(const struct shm_ring *rg, size_t len)
{
	uint64_t room = SMALL - rg->rg_head % SMALL;

	return framed(len) + (room < framed(len) ? room : 0);
}

/* Overwrite the length header of the record at data offset at. */
static void
set_header(struct shm_ring *rg, uint64_t at, uint32_t len)
{
	memcpy((uint8_t *)(rg + 1) + at, &len, sizeof(len));
}

/* Return the monotonic clock in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Producer side of a concurrency test: put records 0..du_records-1, each
 * starting with its 8-byte sequence number, retrying while the ring is
 * full. Return 0, or -1 if the consumer gave up. No cmocka here: it may
 * run in a forked child.
 */
static int
duo_produce(struct duo *du)
{
	uint8_t buf[DUO_MAXLEN];
	uint64_t seq;
	size_t len;

	for (seq = 0; seq < du->du_records; seq++) {
		len = 8 + record_len(seq, DUO_MAXLEN - 8);
		memcpy(buf, &seq, 8);
		record_fill(buf + 8, seq, len - 8);
		while (logring_put(du->du_ring, du->du_size, buf, len) == -1) {
			if (__atomic_load_n(&du->du_stop, __ATOMIC_RELAXED))
				return -1;
			sched_yield();
		}
	}
	return 0;
}

/*
 * Consumer side of a concurrency test: get du_records records and check
 * each one's sequence number, length and bytes. Return 0, or -1 on the
 * first wrong record or after DUO_SECONDS, telling the producer to stop.
 */
static int
duo_consume(struct duo *du)
{
	uint8_t buf[DUO_MAXLEN];
	uint64_t seq = 0, got_seq, idle = 0;
	double deadline = now() + DUO_SECONDS;
	size_t n;

	while (seq < du->du_records) {
		n = logring_get(du->du_ring, du->du_size, buf, sizeof(buf));
		if (n == 0) {
			if (++idle % 1024 == 0 && now() > deadline) {
				print_error("timeout at record %llu\n",
				    (unsigned long long)seq);
				goto fail;
			}
			sched_yield();
			continue;
		}
		memcpy(&got_seq, buf, 8);
		if (n != 8 + record_len(seq, DUO_MAXLEN - 8) ||
		    got_seq != seq || !record_check(buf + 8, seq, n - 8)) {
			print_error("bad record %llu (length %zu, seq %llu)\n",
			    (unsigned long long)seq, n,
			    (unsigned long long)got_seq);
			goto fail;
		}
		seq++;
	}
	if (logring_pending(du->du_ring) != 0)
		goto fail;
	return 0;

fail:
	__atomic_store_n(&du->du_stop, 1, __ATOMIC_RELAXED);
	return -1;
}

/* Thread entry: run the producer side; the result is the pointer. */
static void *
duo_producer_thread(void *arg)
{
	return duo_produce(arg) == 0 ? arg : NULL;
}

/* A record comes out of get exactly as it went into put. */
static void
test_put_then_get_returns_same_bytes(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[100];

	(void)state;
	put_record(rg, SMALL, 7, 100);
	memset(buf, 0, sizeof(buf));
	/* A buffer of exactly the record's length is enough. */
	assert_int_equal(logring_get(rg, SMALL, buf, 100), 100);
	assert_true(record_check(buf, 7, 100));
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 0);
	free(rg);
}

/*
 * A reserved record is invisible until committed, then reads back as
 * written; a reservation that cannot fit reserves nothing.
 */
static void
test_reserve_then_commit_publishes_the_record(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	struct logring_slot ls;
	uint8_t buf[100];

	(void)state;
	assert_int_equal(logring_reserve(rg, SMALL, 100, &ls), 0);
	record_fill(ls.ls_payload, 9, 100);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 0);
	logring_commit(rg, &ls);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 100);
	assert_true(record_check(buf, 9, 100));
	assert_int_equal(logring_reserve(rg, SMALL, SMALL, &ls), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 0);
	free(rg);
}

/*
 * A read without a release leaves the record in the ring: the space stays
 * taken and the next reader (a restarted logger) reads it again; after the
 * release it is gone.
 */
static void
test_read_without_release_keeps_the_record_for_the_next_reader(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[100];
	uint64_t cursor, again;

	(void)state;
	put_record(rg, SMALL, 1, 100);
	put_record(rg, SMALL, 2, 100);
	cursor = logring_cursor(rg);
	assert_int_equal(
	    logring_read(rg, SMALL, &cursor, buf, sizeof(buf)), 100);
	assert_true(record_check(buf, 1, 100));
	assert_int_equal(
	    logring_read(rg, SMALL, &cursor, buf, sizeof(buf)), 100);
	assert_true(record_check(buf, 2, 100));
	assert_int_not_equal(logring_pending(rg), 0);

	/* Another reader starts where the released tail stands. */
	again = logring_cursor(rg);
	assert_int_equal(
	    logring_read(rg, SMALL, &again, buf, sizeof(buf)), 100);
	assert_true(record_check(buf, 1, 100));

	logring_release(rg, cursor);
	assert_int_equal(logring_pending(rg), 0);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 0);
	free(rg);
}

/* Many records of varied sizes come out in the order they went in. */
static void
test_records_come_out_in_fifo_order(void **state)
{
	struct shm_ring *rg = ring_new(BIG);
	uint64_t seq, first, end = 0;
	int round;

	(void)state;
	for (round = 0; round < 3; round++) {
		first = end;
		for (seq = first; logring_pending(rg) < BIG / 2; seq++)
			put_record(rg, BIG, seq, record_len(seq, 1000));
		end = seq;
		assert_true(end - first > 100);
		for (seq = first; seq < end; seq++)
			get_record(rg, BIG, seq, record_len(seq, 1000));
		assert_int_equal(logring_pending(rg), 0);
	}
	free(rg);
}

/*
 * A full ring refuses a put and changes nothing, not even a padding
 * marker; once a get makes room, the put is accepted and order is kept.
 */
static void
test_full_ring_refuses_put_and_changes_nothing(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[SMALL];
	uint64_t seq, n;
	void *before;

	(void)state;
	for (n = 0; logring_pending(rg) + framed(100) <= SMALL; n++)
		put_record(rg, SMALL, n, 100);
	/* 39 records of 104 bytes; 40 bytes left, too few without a wrap. */
	assert_int_equal(n, SMALL / framed(100));

	before = ring_snapshot(rg, SMALL);
	record_fill(buf, n, 100);
	errno = 0;
	assert_int_equal(logring_put(rg, SMALL, buf, 100), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_memory_equal(rg, before, sizeof(*rg) + SMALL);
	free(before);

	/*
	 * One get frees 104 bytes: 144 with the 40. A 112-byte record
	 * would fit in 144 but not after the 40 bytes of padding it needs.
	 */
	get_record(rg, SMALL, 0, 100);
	before = ring_snapshot(rg, SMALL);
	record_fill(buf, n, 108);
	assert_int_equal(logring_put(rg, SMALL, buf, 108), -1);
	assert_memory_equal(rg, before, sizeof(*rg) + SMALL);
	free(before);
	/* The 104-byte one fits exactly with its padding. */
	put_record(rg, SMALL, n, 100);
	assert_int_equal(logring_pending(rg), SMALL);
	for (seq = 1; seq <= n; seq++)
		get_record(rg, SMALL, seq, 100);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 0);
	free(rg);
}

/*
 * Thousands of records of random sizes, put and got in random bursts over
 * hundreds of laps of the ring, keep their order and bytes across the
 * padding at the end.
 */
static void
test_wrap_around_with_padding_keeps_contents(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint64_t put = 0, got = 0, pads = 0, r, before;
	uint8_t buf[SMALL];
	size_t len;
	int i, burst;

	(void)state;
	for (r = 1; got < 30000; r++) {
		burst = 1 + (int)(mix(r) % 6);
		if (mix(r) >> 63) {
			for (i = 0; i < burst; i++) {
				len = record_len(put, MAX_PAYLOAD);
				record_fill(buf, put, len);
				before = logring_pending(rg);
				if (logring_put(rg, SMALL, buf, len) == -1) {
					/* Refused only when it cannot fit. */
					assert_true(
					    need(rg, len) > SMALL - before);
					break;
				}
				if (logring_pending(rg) - before > framed(len))
					pads++;
				put++;
			}
		} else {
			for (i = 0; i < burst && got < put; i++) {
				get_record(rg, SMALL, got,
				    record_len(got, MAX_PAYLOAD));
				got++;
			}
		}
	}
	assert_true(rg->rg_head / SMALL > 500); /* laps */
	assert_true(pads > 500);
	free(rg);
}

/*
 * A record whose framing exceeds half the ring is refused and not
 * written; the largest allowed one round-trips.
 */
static void
test_oversize_record_is_refused(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[SMALL];
	void *before;

	(void)state;
	before = ring_snapshot(rg, SMALL);
	record_fill(buf, 1, sizeof(buf));
	errno = 0;
	assert_int_equal(logring_put(rg, SMALL, buf, MAX_PAYLOAD + 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(logring_put(rg, SMALL, buf, SMALL), -1);
	assert_int_equal(logring_put(rg, SMALL, buf, (size_t)-1), -1);
	assert_memory_equal(rg, before, sizeof(*rg) + SMALL);
	free(before);

	put_record(rg, SMALL, 1, MAX_PAYLOAD);
	assert_int_equal(logring_pending(rg), SMALL / 2);
	get_record(rg, SMALL, 1, MAX_PAYLOAD);
	free(rg);
}

/* The largest record fits in an empty ring wherever the counters stand. */
static void
test_largest_record_fits_empty_ring_at_any_offset(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint64_t off;
	uint8_t buf[8];

	(void)state;
	for (off = 0; off < SMALL; off += 8) {
		/* One 4-byte record moves the counters 8 bytes on. */
		while (rg->rg_head % SMALL != off) {
			put_record(rg, SMALL, 0, 4);
			assert_int_equal(logring_get(rg, SMALL, buf, 8), 4);
		}
		put_record(rg, SMALL, off, MAX_PAYLOAD);
		get_record(rg, SMALL, off, MAX_PAYLOAD);
	}
	free(rg);
}

/* An empty record is refused: get could not tell it from an empty ring. */
static void
test_empty_record_is_refused(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[1] = {0};

	(void)state;
	assert_int_equal(logring_put(rg, SMALL, buf, 0), -1);
	assert_int_equal(logring_pending(rg), 0);
	free(rg);
}

/*
 * A record longer than the buffer is consumed and reported as -1, and
 * the next record is intact.
 */
static void
test_small_buffer_consumes_record_and_returns_error(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[SMALL];

	(void)state;
	put_record(rg, SMALL, 1, 100);
	put_record(rg, SMALL, 2, 50);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(logring_get(rg, SMALL, buf, 99), (size_t)-1);
	assert_int_equal(buf[0], 0xaa); /* nothing copied */
	assert_int_equal(logring_pending(rg), framed(50));
	get_record(rg, SMALL, 2, 50);
	assert_int_equal(logring_pending(rg), 0);
	free(rg);
}

/*
 * A length beyond the published data drops all pending records; the
 * ring then works again.
 */
static void
test_length_beyond_published_data_drops_pending(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[SMALL];

	(void)state;
	put_record(rg, SMALL, 1, 100);
	put_record(rg, SMALL, 2, 10);
	set_header(rg, 0, 200); /* 208 bytes, only 120 published */
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), (size_t)-1);
	assert_int_equal(logring_pending(rg), 0);
	assert_int_equal(rg->rg_tail, rg->rg_head);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 0);
	put_record(rg, SMALL, 3, 30);
	get_record(rg, SMALL, 3, 30);
	free(rg);
}

/*
 * A length above half the ring is corruption even when that much data is
 * published.
 */
static void
test_length_above_half_ring_drops_pending(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[SMALL];
	int i;

	(void)state;
	for (i = 0; i < 30; i++)
		put_record(rg, SMALL, (uint64_t)i, 100);
	assert_true(logring_pending(rg) > SMALL / 2 + 8);
	set_header(rg, 0, MAX_PAYLOAD + 1);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), (size_t)-1);
	assert_int_equal(logring_pending(rg), 0);
	put_record(rg, SMALL, 3, 30);
	get_record(rg, SMALL, 3, 30);
	free(rg);
}

/* A zero length header is corruption: put never writes one. */
static void
test_zero_length_header_drops_pending(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[SMALL];

	(void)state;
	put_record(rg, SMALL, 1, 100);
	put_record(rg, SMALL, 2, 100);
	set_header(rg, framed(100), 0);
	get_record(rg, SMALL, 1, 100);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), (size_t)-1);
	assert_int_equal(logring_pending(rg), 0);
	free(rg);
}

/*
 * A head more than a ring ahead of the tail is refused by put and
 * dropped by get; the ring then works from there.
 */
static void
test_impossible_counters_recover(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[SMALL];
	void *before;

	(void)state;
	/* A valid record at the tail, then a stray write to the head. */
	put_record(rg, SMALL, 1, 10);
	rg->rg_head += 2 * SMALL;
	before = ring_snapshot(rg, SMALL);
	record_fill(buf, 1, 10);
	assert_int_equal(logring_put(rg, SMALL, buf, 10), -1);
	assert_memory_equal(rg, before, sizeof(*rg) + SMALL);
	free(before);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), (size_t)-1);
	assert_int_equal(rg->rg_tail, 2 * SMALL + framed(10));
	assert_int_equal(logring_pending(rg), 0);
	put_record(rg, SMALL, 1, 10);
	get_record(rg, SMALL, 1, 10);
	free(rg);
}

/*
 * Counters that a stray write left misaligned (as the reset above may)
 * still work, whatever the misalignment: when fewer than 4 bytes remain
 * before the end, both sides skip them without a marker, and the wrap
 * aligns the counters again. Nothing is written past the ring's end.
 */
static void
test_misaligned_counters_keep_working(void **state)
{
	struct shm_ring *rg = ring_new(2 * SMALL);
	uint8_t *guard = (uint8_t *)(rg + 1) + SMALL;
	uint64_t off, seq, i;

	(void)state;
	/* A ring of SMALL bytes followed by a guard neither side may touch. */
	memset(guard, 0xa5, SMALL);
	for (off = 1; off < 8; off++) {
		rg->rg_head = rg->rg_tail = 3 * SMALL - off;
		for (seq = 0; seq < 100; seq++) {
			put_record(rg, SMALL, seq, 1 + seq % 100);
			get_record(rg, SMALL, seq, 1 + seq % 100);
		}
		assert_int_equal(rg->rg_head % 8, 0);
	}
	for (i = 0; i < SMALL; i++)
		assert_int_equal(guard[i], 0xa5);
	free(rg);
}

/* An empty ring, new or drained, returns 0 and copies nothing. */
static void
test_empty_ring_returns_zero(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[16];

	(void)state;
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 0);
	put_record(rg, SMALL, 1, 16);
	get_record(rg, SMALL, 1, 16);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(rg->rg_tail, framed(16));
	free(rg);
}

/* Pending counts published, unconsumed bytes, framing and padding too. */
static void
test_pending_counts_unconsumed_bytes(void **state)
{
	struct shm_ring *rg = ring_new(SMALL);
	uint8_t buf[SMALL];
	uint64_t i;

	(void)state;
	assert_int_equal(logring_pending(rg), 0);
	put_record(rg, SMALL, 1, 10);
	assert_int_equal(logring_pending(rg), 16);
	put_record(rg, SMALL, 2, 100);
	assert_int_equal(logring_pending(rg), 16 + 104);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 10);
	assert_int_equal(logring_pending(rg), 104);
	assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 100);
	assert_int_equal(logring_pending(rg), 0);

	/* From a new ring, bring the counters 40 bytes before the end. */
	memset(rg, 0, sizeof(*rg) + SMALL);
	for (i = 0; i < 39; i++) {
		put_record(rg, SMALL, i, 100);
		assert_int_equal(logring_get(rg, SMALL, buf, sizeof(buf)), 100);
	}
	assert_int_equal(rg->rg_head % SMALL, SMALL - 40);
	assert_int_equal(logring_pending(rg), 0);
	put_record(rg, SMALL, 3, 100);
	assert_int_equal(logring_pending(rg), 40 + 104);
	get_record(rg, SMALL, 3, 100);
	assert_int_equal(logring_pending(rg), 0);
	free(rg);
}

/*
 * A producer process and a consumer process sharing a MAP_SHARED mapping
 * pass a million sequence-numbered records through a 64 KiB ring, the
 * producer retrying when it is full; every record arrives once, in order,
 * intact, within DUO_SECONDS.
 */
static void
test_two_processes_pass_million_records_in_order(void **state)
{
	struct duo *du;
	void *map;
	pid_t pid;
	int status, rc;

	(void)state;
	map = mmap(NULL, 4096 + sizeof(struct shm_ring) + BIG,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	du = map;
	du->du_ring = (struct shm_ring *)((uint8_t *)map + 4096);
	du->du_size = BIG;
	du->du_records = DUO_RECORDS;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		alarm(DUO_SECONDS * 2); /* never outlive a failed test */
		_exit(duo_produce(du) == 0 ? 0 : 1);
	}
	rc = duo_consume(du);
	if (rc == -1)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(rc, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(munmap(map, 4096 + sizeof(struct shm_ring) + BIG), 0);
}

/*
 * The same between two threads. Build this file with -fsanitize=thread
 * to have the ordering of the copies checked.
 */
static void
test_two_threads_pass_million_records_in_order(void **state)
{
	struct duo du;
	pthread_t tid;
	void *res;
	int rc;

	(void)state;
	memset(&du, 0, sizeof(du));
	du.du_ring = ring_new(BIG);
	du.du_size = BIG;
	du.du_records = DUO_RECORDS;
	assert_int_equal(
	    pthread_create(&tid, NULL, duo_producer_thread, &du), 0);
	rc = duo_consume(&du);
	assert_int_equal(pthread_join(tid, &res), 0);
	assert_int_equal(rc, 0);
	assert_ptr_equal(res, &du);
	free(du.du_ring);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_then_get_returns_same_bytes),
	    cmocka_unit_test(test_reserve_then_commit_publishes_the_record),
	    cmocka_unit_test(
		test_read_without_release_keeps_the_record_for_the_next_reader),
	    cmocka_unit_test(test_records_come_out_in_fifo_order),
	    cmocka_unit_test(test_full_ring_refuses_put_and_changes_nothing),
	    cmocka_unit_test(test_wrap_around_with_padding_keeps_contents),
	    cmocka_unit_test(test_oversize_record_is_refused),
	    cmocka_unit_test(test_largest_record_fits_empty_ring_at_any_offset),
	    cmocka_unit_test(test_empty_record_is_refused),
	    cmocka_unit_test(
		test_small_buffer_consumes_record_and_returns_error),
	    cmocka_unit_test(test_length_beyond_published_data_drops_pending),
	    cmocka_unit_test(test_length_above_half_ring_drops_pending),
	    cmocka_unit_test(test_zero_length_header_drops_pending),
	    cmocka_unit_test(test_impossible_counters_recover),
	    cmocka_unit_test(test_misaligned_counters_keep_working),
	    cmocka_unit_test(test_empty_ring_returns_zero),
	    cmocka_unit_test(test_pending_counts_unconsumed_bytes),
	    cmocka_unit_test(test_two_processes_pass_million_records_in_order),
	    cmocka_unit_test(test_two_threads_pass_million_records_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
