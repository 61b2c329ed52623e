/*
 * Unit tests for bcast.c, the broadcast ring: order, framing and padding,
 * lapped readers and their missed counts, a copy overwritten in the middle
 * (made deterministic with a protected page), corrupt headers and
 * counters, and a writer and a reader process racing on two cores.
 *
 * Every ring lives in a MAP_SHARED mapping with an inaccessible page after
 * its data, so that a read or write past the data crashes the test.
 * Expected positions and event numbers come from model_*(), which lays the
 * records out by the rules at the top of bcast.c, independently of it.
 */

#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
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

#define SMALL	    4096	     /* the smallest ring allowed */
#define MAX_PAYLOAD (SMALL / 2 - 16) /* largest payload of a SMALL ring */
#define MODEL_MAX   4096	     /* events a model follows */

#define STRESS_SIZE    65536   /* the ring of the two-process test */
#define STRESS_EVENTS  2000000 /* the writer stops after these... */
#define STRESS_SECONDS 2.0     /* ...or after this long */
#define STRESS_LIMIT   30.0    /* the reader fails if not done by then */
#define STRESS_MAXLEN  (STRESS_SIZE / 2 - 16)

/* Where a model of a ring puts each record. */
struct model {
	uint64_t md_size;		   /* data bytes of the ring */
	uint64_t md_head;		   /* br_head it should have */
	uint64_t md_events;		   /* events published */
	uint64_t md_pads;		   /* padding markers written */
	uint64_t md_start[MODEL_MAX + 1];  /* record start, by event */
	uint64_t md_length[MODEL_MAX + 1]; /* payload length, by event */
};

/* What the two processes of the stress test share. */
struct stress {
	uint64_t st_published; /* writer: events published so far */
	int st_done;	       /* writer: set (release) when it stops */
	int st_stop;	       /* reader: asks the writer to stop early */
};

/* The reader's tally in the stress test. */
struct tally {
	uint64_t ty_delivered; /* records read intact */
	uint64_t ty_missed;    /* events reported lost */
	uint64_t ty_laps;      /* reads that reported a loss */
	uint64_t ty_last;      /* number of the last record read */
};

/* The copy the SIGSEGV handler of the torn-read test lets the writer spoil. */
static struct {
	struct bcast_ring *tn_ring; /* ring being read */
	uint64_t tn_size;	    /* its data bytes */
	uint8_t *tn_page;	    /* protected page of its data */
	size_t tn_pagelen;	    /* bytes of the page */
	struct model *tn_model;	    /* follows what the writer publishes */
	int tn_faults;		    /* faults taken on the page */
	int tn_failed;		    /* the handler's publish failed */
} torn;

static size_t page_size(void);
static struct bcast_ring *ring_new(uint64_t size);
static void ring_free(struct bcast_ring *br, uint64_t size);
static uint64_t *data_word(struct bcast_ring *br, uint64_t off);
static uint64_t mix(uint64_t x);
static size_t payload_len(uint64_t event, size_t max);
static size_t stress_len(uint64_t event);
static void payload_fill(uint8_t *buf, uint64_t event, size_t len);
static int payload_ok(const uint8_t *buf, uint64_t event, size_t len);
static uint64_t model_framed(uint64_t len);
static void model_init(struct model *md, uint64_t size);
static uint64_t model_publish(struct model *md, uint64_t len);
static uint64_t model_oldest(const struct model *md);
static uint64_t publish(
    struct bcast_ring *br, struct model *md, uint64_t event, size_t len);
static void expect_event(struct bcast_ring *br, uint64_t size,
    struct bcast_cursor *bc, uint64_t event, size_t len, uint64_t missed);
static void expect_nothing(
    struct bcast_ring *br, uint64_t size, struct bcast_cursor *bc);
static void torn_handler(int sig, siginfo_t *si, void *ctx);
static double now(void);
static void pause_reader(uint64_t reads);
static int stress_write(struct bcast_ring *br, struct stress *st);
static int stress_read(struct bcast_ring *br, struct stress *st,
    struct bcast_cursor *bc, struct tally *ty);

/* Return the system's page size. */
static size_t
page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * Return an initialised ring of size data bytes in a MAP_SHARED mapping:
 * the header ends where a page starts, the data starts there, and a page
 * after the data (rounded up to pages) is inaccessible.
 */
static struct bcast_ring *
ring_new(uint64_t size)
{
	size_t page = page_size(), data = (size + page - 1) / page * page;
	uint8_t *map;
	struct bcast_ring *br;

	map = mmap(NULL, page + data + page, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + page + data, page, PROT_NONE), 0);
	br = (struct bcast_ring *)(map + page) - 1;
	assert_int_equal(bcast_init(br, size), 0);
	return br;
}

/* Unmap ring br of size data bytes, made by ring_new(). */
static void
ring_free(struct bcast_ring *br, uint64_t size)
{
	size_t page = page_size(), data = (size + page - 1) / page * page;

	assert_int_equal(
	    munmap((uint8_t *)(br + 1) - page, page + data + page), 0);
}

/* Return the data word of ring br at byte offset off. */
static uint64_t *
data_word(struct bcast_ring *br, uint64_t off)
{
	return (uint64_t *)(void *)(br + 1) + off / 8;
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

/* Return the payload length, 1..max, of event number event. */
static size_t
payload_len(uint64_t event, size_t max)
{
	uint64_t h = mix(event ^ 0x1111);

	if (h % 64 == 0)
		return max - (size_t)((h >> 8) % 64); /* near the largest */
	if (h % 8 == 0)
		return 1 + (size_t)((h >> 8) % max);
	return 1 + (size_t)((h >> 8) % (max < 300 ? max : 300));
}

/*
 * Return the payload length of event number event in the stress test: a
 * chat line mostly, 1..256 bytes; one in 256 up to 8 KiB; one in 4096
 * near the largest.
 */
static size_t
stress_len(uint64_t event)
{
	uint64_t h = mix(event ^ 0x2222);

	if (h % 4096 == 0)
		return STRESS_MAXLEN - (size_t)((h >> 8) % 64);
	if (h % 256 == 0)
		return 1 + (size_t)((h >> 8) % 8192);
	return 1 + (size_t)((h >> 8) % 256);
}

/*
 * Fill buf with the len payload bytes of event number event: each byte
 * depends on the event and on its place, so that no two events share a
 * payload and a copy mixing two is told from both.
 */
static void
payload_fill(uint8_t *buf, uint64_t event, size_t len)
{
	uint64_t h = mix(event);
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)((h >> (8 * (i % 8))) + i / 8);
}

/* Return 1 if buf holds the len payload bytes of event number event. */
static int
payload_ok(const uint8_t *buf, uint64_t event, size_t len)
{
	uint64_t h = mix(event);
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != (uint8_t)((h >> (8 * (i % 8))) + i / 8))
			return 0;
	return 1;
}

/* Return the ring bytes of a len-byte payload: 16-byte header, to 8. */
static uint64_t
model_framed(uint64_t len)
{
	return 16 + (len + 7) / 8 * 8;
}

/* Start model md of an empty ring of size data bytes. */
static void
model_init(struct model *md, uint64_t size)
{
	memset(md, 0, sizeof(*md));
	md->md_size = size;
}

/*
 * Lay out the next record, of a len-byte payload, in model md: it starts
 * at offset 0 if it does not fit before the end. Return its number.
 */
static uint64_t
model_publish(struct model *md, uint64_t len)
{
	uint64_t room = md->md_size - md->md_head % md->md_size;

	assert_true(md->md_events < MODEL_MAX);
	if (room < model_framed(len)) {
		md->md_head += room;
		md->md_pads++;
	}
	md->md_events++;
	md->md_start[md->md_events] = md->md_head;
	md->md_length[md->md_events] = len;
	md->md_head += model_framed(len);
	return md->md_events;
}

/*
 * Return the number of the oldest intact record of model md: the first
 * that starts at most a ring before the head (each record overwrote the
 * ones that start more than a ring before its end).
 */
static uint64_t
model_oldest(const struct model *md)
{
	uint64_t e = 1;

	while (
	    e <= md->md_events && md->md_start[e] + md->md_size < md->md_head)
		e++;
	return e;
}

/* Publish the len-byte payload of event number event into br and md. */
static uint64_t
publish(struct bcast_ring *br, struct model *md, uint64_t event, size_t len)
{
	uint8_t buf[STRESS_MAXLEN];

	payload_fill(buf, event, len);
	assert_int_equal(bcast_publish(br, md->md_size, buf, len), event);
	assert_int_equal(model_publish(md, len), event);
	assert_int_equal(br->br_head, md->md_head);
	return event;
}

/* Read the next event of br for bc: it must be event, len bytes, missed. */
static void
expect_event(struct bcast_ring *br, uint64_t size, struct bcast_cursor *bc,
    uint64_t event, size_t len, uint64_t missed)
{
	uint8_t buf[STRESS_MAXLEN];
	uint64_t got = 0, lost = 99;

	assert_int_equal(
	    bcast_read(br, size, bc, buf, sizeof(buf), &got, &lost), len);
	assert_int_equal(got, event);
	assert_int_equal(lost, missed);
	assert_true(payload_ok(buf, event, len));
}

/* Read br for bc: there must be nothing, and nothing copied. */
static void
expect_nothing(struct bcast_ring *br, uint64_t size, struct bcast_cursor *bc)
{
	uint8_t buf[64];
	uint64_t got = 77, lost = 77;

	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(
	    bcast_read(br, size, bc, buf, sizeof(buf), &got, &lost), 0);
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(got, 77);
	assert_int_equal(lost, 77);
}

/*
 * SIGSEGV on the protected page of the torn-read test: the reader is in
 * the middle of its copy. Open the page and publish more than a ring, then
 * return: the copy goes on over the new bytes. Any other fault gets the
 * default action (the test crashes).
 */
static void
torn_handler(int sig, siginfo_t *si, void *ctx)
{
	uint8_t buf[128];
	uint8_t *addr = si->si_addr;
	uint64_t from, event;

	(void)ctx;
	if (addr < torn.tn_page || addr >= torn.tn_page + torn.tn_pagelen ||
	    torn.tn_faults++ > 0) {
		signal(sig, SIG_DFL);
		return;
	}
	if (mprotect(torn.tn_page, torn.tn_pagelen, PROT_READ | PROT_WRITE))
		torn.tn_failed = 1;
	from = torn.tn_model->md_head;
	while (torn.tn_model->md_head - from <= torn.tn_size) {
		event = torn.tn_model->md_events + 1;
		payload_fill(buf, event, 100);
		if (bcast_publish(torn.tn_ring, torn.tn_size, buf, 100) !=
		    event)
			torn.tn_failed = 1;
		model_publish(torn.tn_model, 100);
	}
}

/* Return the monotonic clock in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Slow the stress reader down after read number reads: now and then a
 * millisecond, long enough to be lapped many times over; and in every
 * other stretch of 8192 reads a busy wait of up to 2 microseconds after
 * each, which makes it slower than the writer, so that it rides the edge
 * of the ring, lapped again and again, where the writer overwrites what
 * it reads.
 */
static void
pause_reader(uint64_t reads)
{
	struct timespec ms = {0, 1000000};
	uint64_t h = mix(reads);
	double until;

	if (h % 4096 == 0)
		nanosleep(&ms, NULL);
	else if (reads / 8192 % 2 == 1) {
		until = now() + (double)((h >> 32) % 2000) / 1e9;
		while (now() < until)
			continue;
	}
}

/*
 * Writer of the stress test: publish events 1, 2... with self-checking
 * payloads until STRESS_EVENTS or STRESS_SECONDS, then say how many. No
 * cmocka: it runs in the forked child. Return 0, or -1 if an event got
 * the wrong number.
 */
static int
stress_write(struct bcast_ring *br, struct stress *st)
{
	static uint8_t buf[STRESS_MAXLEN];
	double deadline = now() + STRESS_SECONDS;
	uint64_t event;
	size_t len;
	int rc = 0;

	for (event = 1; event <= STRESS_EVENTS; event++) {
		len = stress_len(event);
		payload_fill(buf, event, len);
		if (bcast_publish(br, STRESS_SIZE, buf, len) != event) {
			rc = -1;
			break;
		}
		__atomic_store_n(&st->st_published, event, __ATOMIC_RELAXED);
		if (event % 1024 == 0 &&
		    (now() > deadline ||
			__atomic_load_n(&st->st_stop, __ATOMIC_RELAXED)))
			break;
	}
	__atomic_store_n(&st->st_done, 1, __ATOMIC_RELEASE);
	return rc;
}

/*
 * Reader of the stress test: read as fast as it can, pausing now and then,
 * until the writer is done and everything is read. Every record must be
 * intact, numbered above the last, and its missed count must be the gap.
 * Return 0, or -1 on the first fault or after STRESS_LIMIT, telling the
 * writer to stop.
 */
static int
stress_read(struct bcast_ring *br, struct stress *st, struct bcast_cursor *bc,
    struct tally *ty)
{
	static uint8_t buf[STRESS_MAXLEN];
	double limit = now() + STRESS_LIMIT;
	uint64_t event, missed, reads = 0;
	ssize_t n;
	int done;

	for (;;) {
		done = __atomic_load_n(&st->st_done, __ATOMIC_ACQUIRE);
		n = bcast_read(
		    br, STRESS_SIZE, bc, buf, sizeof(buf), &event, &missed);
		if (n == 0) {
			if (done)
				return 0;
			if (++reads % 1024 == 0 && now() > limit) {
				print_error("timeout after event %llu\n",
				    (unsigned long long)ty->ty_last);
				goto fail;
			}
			continue;
		}
		if (n < 0 || event <= ty->ty_last ||
		    missed != event - ty->ty_last - 1 ||
		    (size_t)n != stress_len(event) ||
		    !payload_ok(buf, event, (size_t)n)) {
			print_error("bad record: %zd bytes, event %llu after "
				    "%llu, missed %llu\n",
			    n, (unsigned long long)event,
			    (unsigned long long)ty->ty_last,
			    (unsigned long long)missed);
			goto fail;
		}
		ty->ty_delivered++;
		ty->ty_missed += missed;
		ty->ty_laps += missed > 0;
		ty->ty_last = event;
		pause_reader(++reads);
	}

fail:
	__atomic_store_n(&st->st_stop, 1, __ATOMIC_RELAXED);
	return -1;
}

/* bcast_init() takes only powers of two from 4096 on, and empties. */
static void
test_init_takes_powers_of_two_from_4096(void **state)
{
	static const uint64_t bad[] = {0, 8, 2048, 4095, 4097, 6144, 65535};
	struct bcast_ring *br = ring_new(2 * SMALL);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(bcast_init(br, bad[i]), -1);
		assert_int_equal(errno, EINVAL);
	}
	br->br_head = br->br_oldest = 800;
	br->br_next_event = 9;
	assert_int_equal(bcast_init(br, SMALL), 0);
	assert_int_equal(br->br_head, 0);
	assert_int_equal(br->br_oldest, 0);
	assert_int_equal(br->br_next_event, 1);
	assert_int_equal(bcast_init(br, 2 * SMALL), 0);
	assert_int_equal(bcast_max_payload(SMALL), MAX_PAYLOAD);
	ring_free(br, 2 * SMALL);
}

/* A new ring, and one read to its end, give nothing. */
static void
test_empty_ring_reads_nothing(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	struct model md;

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &bc);
	expect_nothing(br, SMALL, &bc);
	publish(br, &md, 1, 10);
	expect_event(br, SMALL, &bc, 1, 10, 0);
	expect_nothing(br, SMALL, &bc);
	expect_nothing(br, SMALL, &bc);
	ring_free(br, SMALL);
}

/* Events come out numbered 1, 2, 3..., in order, their bytes exact. */
static void
test_events_arrive_in_order_with_exact_bytes(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	struct model md;
	uint64_t e;

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &bc);
	for (e = 1; e <= 20; e++)
		publish(br, &md, e, payload_len(e, 150));
	for (e = 1; e <= 20; e++)
		expect_event(br, SMALL, &bc, e, payload_len(e, 150), 0);
	expect_nothing(br, SMALL, &bc);
	ring_free(br, SMALL);
}

/* A cursor started after some events sees only the later ones. */
static void
test_new_cursor_sees_only_later_events(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor early, late;
	struct model md;
	uint64_t e;

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &early);
	for (e = 1; e <= 5; e++)
		publish(br, &md, e, 40);
	bcast_cursor_init(br, &late);
	assert_int_equal(bcast_lag(br, &late), 0);
	expect_nothing(br, SMALL, &late);
	for (e = 6; e <= 8; e++)
		publish(br, &md, e, 40);
	for (e = 6; e <= 8; e++)
		expect_event(br, SMALL, &late, e, 40, 0);
	expect_nothing(br, SMALL, &late);
	/* The earlier cursor still has them all. */
	for (e = 1; e <= 8; e++)
		expect_event(br, SMALL, &early, e, 40, 0);
	ring_free(br, SMALL);
}

/*
 * A cursor skips, without counting them lost, the records numbered below
 * the one it expects: those bcast_cursor_init() saw numbered but not yet
 * at the head it took.
 */
static void
test_cursor_skips_events_numbered_before_it_started(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc = {0, 3};
	struct model md;
	uint64_t e;

	(void)state;
	model_init(&md, SMALL);
	for (e = 1; e <= 4; e++)
		publish(br, &md, e, 30);
	expect_event(br, SMALL, &bc, 3, 30, 0);
	expect_event(br, SMALL, &bc, 4, 30, 0);
	expect_nothing(br, SMALL, &bc);
	ring_free(br, SMALL);
}

/*
 * Every payload size from 1 to the largest round-trips, laid out as the
 * model says (head included), across hundreds of paddings at the end.
 */
static void
test_every_size_round_trips_across_padding(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	struct model md;
	uint64_t e;

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &bc);
	for (e = 1; e <= MAX_PAYLOAD; e++) {
		publish(br, &md, e, e);
		expect_event(br, SMALL, &bc, e, e, 0);
	}
	assert_true(md.md_pads > 500);
	expect_nothing(br, SMALL, &bc);
	ring_free(br, SMALL);
}

/*
 * The largest payload fits in an empty ring wherever its head stands,
 * padding to offset 0 when it does not fit before the end.
 */
static void
test_largest_payload_fits_at_any_offset(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	struct model md;
	uint64_t off;

	(void)state;
	for (off = 0; off < SMALL; off += 8) {
		/* An empty ring whose head stands at off, a lap on. */
		assert_int_equal(bcast_init(br, SMALL), 0);
		br->br_head = br->br_oldest = SMALL + off;
		model_init(&md, SMALL);
		md.md_head = SMALL + off;
		bcast_cursor_init(br, &bc);
		publish(br, &md, 1, MAX_PAYLOAD);
		expect_event(br, SMALL, &bc, 1, MAX_PAYLOAD, 0);
		expect_nothing(br, SMALL, &bc);
		assert_int_equal(md.md_pads, off > SMALL / 2);
	}
	ring_free(br, SMALL);
}

/* An empty or too-big payload is refused, and the ring is unchanged. */
static void
test_too_big_or_empty_payload_is_refused(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	struct model md;
	uint8_t buf[SMALL], before[sizeof(*br) + SMALL];

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &bc);
	publish(br, &md, 1, 10);
	memcpy(before, br, sizeof(before));
	payload_fill(buf, 2, sizeof(buf));
	assert_int_equal(bcast_publish(br, SMALL, buf, MAX_PAYLOAD + 1), 0);
	assert_int_equal(bcast_publish(br, SMALL, buf, SMALL), 0);
	assert_int_equal(bcast_publish(br, SMALL, buf, (size_t)-1), 0);
	assert_int_equal(bcast_publish(br, SMALL, buf, 0), 0);
	assert_memory_equal(br, before, sizeof(before));
	publish(br, &md, 2, MAX_PAYLOAD);
	expect_event(br, SMALL, &bc, 1, 10, 0);
	expect_event(br, SMALL, &bc, 2, MAX_PAYLOAD, 0);
	ring_free(br, SMALL);
}

/*
 * A reader that sleeps while 100 records of 128 bytes go through a
 * 4096-byte ring (32 of them fit) misses exactly the first 68, resumes at
 * number 69, the oldest still held, then reads on in order.
 */
static void
test_lapped_reader_misses_exactly_what_was_overwritten(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	struct model md;
	uint64_t e;

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &bc);
	for (e = 1; e <= 100; e++)
		publish(br, &md, e, 112);
	assert_int_equal(bcast_lag(br, &bc), 100);
	expect_event(br, SMALL, &bc, 69, 112, 68);
	for (e = 70; e <= 100; e++)
		expect_event(br, SMALL, &bc, e, 112, 0);
	expect_nothing(br, SMALL, &bc);
	for (e = 101; e <= 105; e++)
		publish(br, &md, e, 112);
	for (e = 101; e <= 105; e++)
		expect_event(br, SMALL, &bc, e, 112, 0);
	ring_free(br, SMALL);
}

/*
 * Bursts of records of mixed sizes, some over a ring long, some shorter:
 * after each, the reader resumes at the oldest record the model says is
 * intact, counts exactly the ones before it as missed, and reads the rest
 * in order; read and missed always add up to what was published.
 */
static void
test_lapped_reader_resumes_at_oldest_intact_record(void **state)
{
	static struct model md;
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	uint64_t e, first, next = 1, read = 0, missed = 0, laps = 0;
	int round, burst;

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &bc);
	for (round = 0; round < 60; round++) {
		burst = 1 + (int)(mix((uint64_t)round) % 80);
		for (e = md.md_events + 1; burst-- > 0; e++)
			publish(br, &md, e, payload_len(e, MAX_PAYLOAD));
		first = model_oldest(&md);
		if (first < next)
			first = next;
		laps += first > next;
		expect_event(
		    br, SMALL, &bc, first, md.md_length[first], first - next);
		missed += first - next;
		read++;
		for (e = first + 1; e <= md.md_events; e++, read++)
			expect_event(br, SMALL, &bc, e, md.md_length[e], 0);
		expect_nothing(br, SMALL, &bc);
		next = md.md_events + 1;
		assert_int_equal(read + missed, md.md_events);
	}
	assert_true(laps > 10 && laps < 60);
	ring_free(br, SMALL);
}

/*
 * The writer overwrites a record while a reader copies it: the record
 * straddles a page boundary and the page after is protected, so the copy
 * faults halfway; the fault handler publishes over a ring's worth, then
 * lets the copy go on over the new bytes. The half-old, half-new copy is
 * not delivered: the reader resumes at the oldest intact record instead,
 * counting the lost ones.
 */
static void
test_copy_overwritten_mid_read_is_never_delivered(void **state)
{
	static struct model md;
	size_t page = page_size();
	uint64_t size = 4 * page, e, victim, first, got = 0, lost = 0;
	struct bcast_ring *br = ring_new(size);
	static uint8_t buf[STRESS_MAXLEN];
	struct sigaction sa, old;
	struct bcast_cursor bc;
	ssize_t n;

	(void)state;
	model_init(&md, size);
	/* One record up to 64 bytes before the boundary. */
	publish(br, &md, 1, page - 64 - 16);
	bcast_cursor_init(br, &bc);
	/* The victim: header and 48 bytes before, 152 after it. */
	victim = publish(br, &md, 2, 200);
	assert_int_equal(md.md_start[victim], page - 64);

	memset(&torn, 0, sizeof(torn));
	torn.tn_ring = br;
	torn.tn_size = size;
	torn.tn_page = (uint8_t *)(br + 1) + page;
	torn.tn_pagelen = page;
	torn.tn_model = &md;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = torn_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGSEGV, &sa, &old), 0);
	assert_int_equal(mprotect(torn.tn_page, page, PROT_NONE), 0);

	n = bcast_read(br, size, &bc, buf, sizeof(buf), &got, &lost);
	assert_int_equal(sigaction(SIGSEGV, &old, NULL), 0);
	assert_int_equal(torn.tn_faults, 1);
	assert_false(torn.tn_failed);
	first = model_oldest(&md);
	assert_true(first > victim);
	assert_int_equal(got, first);
	assert_int_equal(n, md.md_length[first]);
	assert_true(payload_ok(buf, got, (size_t)n));
	assert_int_equal(lost, first - victim);
	for (e = first + 1; e <= md.md_events; e++)
		expect_event(br, size, &bc, e, md.md_length[e], 0);
	expect_nothing(br, size, &bc);
	ring_free(br, size);
}

/*
 * A record longer than the buffer is skipped, not copied, and reported as
 * -1 with its number; the next one reads normally.
 */
static void
test_small_buffer_skips_the_record_and_reports_it(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	struct model md;
	uint8_t buf[100];
	uint64_t event = 0, missed = 9;

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &bc);
	publish(br, &md, 1, 100);
	publish(br, &md, 2, 50);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(
	    bcast_read(br, SMALL, &bc, buf, 99, &event, &missed), -1);
	assert_int_equal(event, 1);
	assert_int_equal(missed, 0);
	assert_int_equal(buf[0], 0xaa);
	expect_event(br, SMALL, &bc, 2, 50, 0);
	expect_nothing(br, SMALL, &bc);
	ring_free(br, SMALL);
}

/* The lag counts the events numbered and not yet read, lost ones too. */
static void
test_lag_counts_events_not_yet_read(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	struct bcast_cursor bc;
	struct model md;
	uint64_t e;

	(void)state;
	model_init(&md, SMALL);
	bcast_cursor_init(br, &bc);
	assert_int_equal(bcast_lag(br, &bc), 0);
	for (e = 1; e <= 3; e++)
		publish(br, &md, e, 112);
	assert_int_equal(bcast_lag(br, &bc), 3);
	expect_event(br, SMALL, &bc, 1, 112, 0);
	assert_int_equal(bcast_lag(br, &bc), 2);
	/* 40 more of 128 bytes: the ring holds events 12..43. */
	for (e = 4; e <= 43; e++)
		publish(br, &md, e, 112);
	assert_int_equal(bcast_lag(br, &bc), 42);
	expect_event(br, SMALL, &bc, 12, 112, 10);
	assert_int_equal(bcast_lag(br, &bc), 31);
	ring_free(br, SMALL);
}

/*
 * A header that cannot be true (a stray write: a length of 0 or beyond
 * the largest, a number not yet given) drops the reader to the head; the
 * next event's number then counts the dropped ones as missed.
 */
static void
test_corrupt_header_drops_to_head_and_counts_the_loss(void **state)
{
	static const uint64_t bad[][2] = {
	    {0, MAX_PAYLOAD + 1}, /* length word, beyond the largest */
	    {0, 0},		  /* length word, empty */
	    {0, 3 * SMALL},	  /* length word, past the head */
	    {8, 4},		  /* event word, not yet given */
	    {8, 0},		  /* event word, never given */
	};
	struct bcast_ring *br;
	struct bcast_cursor bc;
	struct model md;
	size_t i;
	uint64_t e;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		br = ring_new(SMALL);
		model_init(&md, SMALL);
		bcast_cursor_init(br, &bc);
		for (e = 1; e <= 3; e++)
			publish(br, &md, e, 100);
		*data_word(br, md.md_start[2] + bad[i][0]) = bad[i][1];
		expect_event(br, SMALL, &bc, 1, 100, 0);
		expect_nothing(br, SMALL, &bc);
		assert_int_equal(bc.bc_pos, md.md_head);
		publish(br, &md, 4, 100);
		expect_event(br, SMALL, &bc, 4, 100, 2);
		ring_free(br, SMALL);
	}
}

/*
 * Counters a stray write made impossible (a head not a multiple of 8, an
 * oldest past the head or more than a ring behind it) make the writer
 * start afresh at the head: the old records are dropped, and a reader
 * counts them as missed.
 */
static void
test_impossible_counters_make_the_writer_start_afresh(void **state)
{
	struct bcast_ring *br;
	struct bcast_cursor bc;
	struct model md;
	uint8_t buf[100];
	uint64_t e;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		br = ring_new(SMALL);
		model_init(&md, SMALL);
		bcast_cursor_init(br, &bc);
		for (e = 1; e <= 3; e++)
			publish(br, &md, e, 100);
		if (i == 0)
			br->br_head += 3;
		else if (i == 1)
			br->br_oldest = br->br_head + 8;
		else
			br->br_head += 2 * SMALL;
		payload_fill(buf, 4, 100);
		assert_int_equal(bcast_publish(br, SMALL, buf, 100), 4);
		assert_int_equal(br->br_oldest % 8, 0);
		assert_int_equal(
		    br->br_head - br->br_oldest, model_framed(100));
		expect_event(br, SMALL, &bc, 4, 100, 3);
		expect_nothing(br, SMALL, &bc);
		ring_free(br, SMALL);
	}
}

/*
 * Garbage everywhere (data, counters, cursors, buffer sizes): reads return
 * -1, 0 or at most the buffer's length, never write past the buffer nor
 * touch the page after the data (the test would crash), and the writer
 * still publishes, which a fresh cursor then reads.
 */
static void
test_garbage_never_reads_outside_the_ring(void **state)
{
	struct bcast_ring *br = ring_new(SMALL);
	static uint8_t buf[SMALL + 64];
	struct bcast_cursor bc;
	uint64_t r = 0, off, h, event, missed, *w;
	size_t buflen;
	ssize_t n;
	int round, i;

	(void)state;
	for (round = 0; round < 300; round++) {
		for (off = 0; off < SMALL; off += 8) {
			h = mix(++r);
			w = data_word(br, off);
			if (h % 4 == 0)
				*w = 1 + (h >> 8) % (MAX_PAYLOAD + 64);
			else if (h % 8 == 1)
				*w = UINT64_MAX;
			else if (h % 8 == 3)
				*w = (h >> 8) % 64;
			else
				*w = h;
		}
		h = mix(++r);
		br->br_head = (h >> 8) % (8 * SMALL);
		if (h % 2)
			br->br_head &= ~(uint64_t)7;
		br->br_oldest = br->br_head - (h >> 40) % (SMALL + 64);
		br->br_next_event = (h >> 16) % 64;
		for (i = 0; i < 50; i++) {
			h = mix(++r);
			bc.bc_pos = br->br_head - (h >> 8) % (2 * SMALL) +
			    (h >> 40) % 64;
			bc.bc_next = (h >> 24) % 64;
			buflen = (h >> 48) % (MAX_PAYLOAD + 64);
			memset(buf + buflen, 0x5a, 64);
			n = bcast_read(
			    br, SMALL, &bc, buf, buflen, &event, &missed);
			assert_true(n >= -1 && n <= (ssize_t)buflen);
			assert_int_equal(buf[buflen], 0x5a);
			assert_int_equal(buf[buflen + 63], 0x5a);
		}
		payload_fill(buf, 1, 40);
		event = bcast_publish(br, SMALL, buf, 40);
		assert_int_not_equal(event, 0);
		bc.bc_pos = br->br_head - model_framed(40);
		bc.bc_next = event;
		n = bcast_read(
		    br, SMALL, &bc, buf, sizeof(buf), &event, &missed);
		assert_int_equal(n, 40);
		assert_int_equal(missed, 0);
		assert_true(payload_ok(buf, 1, 40));
	}
	ring_free(br, SMALL);
}

/*
 * The stress test: a writer process publishes up to STRESS_EVENTS
 * self-checking records through a 64 KiB ring as fast as it can, for at
 * most STRESS_SECONDS, while a reader process (this one) reads as fast as
 * it can, now and then pausing long enough to be lapped. Every record read
 * is intact, numbers strictly grow, each missed count is the gap, the
 * reader was lapped, and once it caught up read + missed == published.
 */
static void
test_racing_writer_never_delivers_a_torn_record(void **state)
{
	struct bcast_ring *br = ring_new(STRESS_SIZE);
	struct bcast_cursor bc;
	struct tally ty;
	struct stress *st;
	pid_t pid;
	int status, rc;

	(void)state;
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(st != MAP_FAILED);
	memset(st, 0, sizeof(*st));
	memset(&ty, 0, sizeof(ty));
	bcast_cursor_init(br, &bc);

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		alarm((unsigned)STRESS_LIMIT); /* never outlive the test */
		_exit(stress_write(br, st) == 0 ? 0 : 1);
	}
	rc = stress_read(br, st, &bc, &ty);
	if (rc == -1)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(rc, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	print_message("      %llu events: %llu read, %llu missed in %llu "
		      "laps\n",
	    (unsigned long long)st->st_published,
	    (unsigned long long)ty.ty_delivered,
	    (unsigned long long)ty.ty_missed, (unsigned long long)ty.ty_laps);
	assert_int_equal(ty.ty_last, st->st_published);
	assert_int_equal(ty.ty_delivered + ty.ty_missed, st->st_published);
	assert_true(ty.ty_laps > 0);
	assert_int_equal(munmap(st, sizeof(*st)), 0);
	ring_free(br, STRESS_SIZE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_takes_powers_of_two_from_4096),
	    cmocka_unit_test(test_empty_ring_reads_nothing),
	    cmocka_unit_test(test_events_arrive_in_order_with_exact_bytes),
	    cmocka_unit_test(test_new_cursor_sees_only_later_events),
	    cmocka_unit_test(
		test_cursor_skips_events_numbered_before_it_started),
	    cmocka_unit_test(test_every_size_round_trips_across_padding),
	    cmocka_unit_test(test_largest_payload_fits_at_any_offset),
	    cmocka_unit_test(test_too_big_or_empty_payload_is_refused),
	    cmocka_unit_test(
		test_lapped_reader_misses_exactly_what_was_overwritten),
	    cmocka_unit_test(
		test_lapped_reader_resumes_at_oldest_intact_record),
	    cmocka_unit_test(test_copy_overwritten_mid_read_is_never_delivered),
	    cmocka_unit_test(test_small_buffer_skips_the_record_and_reports_it),
	    cmocka_unit_test(test_lag_counts_events_not_yet_read),
	    cmocka_unit_test(
		test_corrupt_header_drops_to_head_and_counts_the_loss),
	    cmocka_unit_test(
		test_impossible_counters_make_the_writer_start_afresh),
	    cmocka_unit_test(test_garbage_never_reads_outside_the_ring),
	    cmocka_unit_test(test_racing_writer_never_delivers_a_torn_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
