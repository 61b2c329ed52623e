/*
 * Unit tests for fcache.c: the worker's open-file cache. Its entries are
 * reference-counted; what a test can see of one is fe_refs while it holds
 * a reference, and its descriptor: an entry given a descriptor the test
 * opened closes it when it goes, which fcntl(F_GETFD) tells (nothing is
 * opened in between, so the number is not reused). Each test starts and
 * ends with an empty table.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
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

#define MAX_TRIES 100000 /* candidates tried for a path sharing a slot */

static struct fcache_entry *new_entry(const char *path);
static struct fcache_entry *new_entry_with_fd(const char *path);
static void put_entry(const char *path);
static int fd_is_open(int fd);
static void colliding_path(const char *path, char *buf, size_t size);
static long long now_ms(void);
static void sleep_ms(int ms);
static int teardown(void **state);

/* Return a new entry for the NUL-terminated path. */
static struct fcache_entry *
new_entry(const char *path)
{
	struct fcache_entry *fe;

	fe = fcache_new(path, strlen(path));
	assert_non_null(fe);
	return fe;
}

/* Return a new entry for path holding a descriptor of /dev/null. */
static struct fcache_entry *
new_entry_with_fd(const char *path)
{
	struct fcache_entry *fe = new_entry(path);

	fe->fe_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_not_equal(fe->fe_fd, -1);
	return fe;
}

/* Put a new entry for path in the table, keeping no reference to it. */
static void
put_entry(const char *path)
{
	struct fcache_entry *fe = new_entry(path);

	fcache_put(fe);
	fcache_release(fe);
}

/* Return 1 if fd is an open descriptor, 0 if it is closed. */
static int
fd_is_open(int fd)
{
	if (fcntl(fd, F_GETFD) != -1)
		return 1;
	assert_int_equal(errno, EBADF);
	return 0;
}

/*
 * Put into buf a path that starts with path and whose entry takes the
 * slot of path's (the table is direct-mapped): the first of path0, path1,
 * ... whose put replaces path's entry, seen as that entry losing the
 * table's reference. Leaves the table empty.
 */
static void
colliding_path(const char *path, char *buf, size_t size)
{
	struct fcache_entry *first;
	int i;

	first = new_entry(path);
	fcache_put(first);
	for (i = 0; i < MAX_TRIES && first->fe_refs == 2; i++) {
		snprintf(buf, size, "%s%d", path, i);
		put_entry(buf);
	}
	assert_int_equal(first->fe_refs, 1);
	fcache_release(first);
	fcache_flush();
}

/* Return the monotonic clock in milliseconds. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Return the coarse monotonic clock in milliseconds, as fcache.c reads it. */
static long long
coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Sleep ms milliseconds: the pace of a polling loop. */
static void
sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* Empty the table after each test. */
static int
teardown(void **state)
{
	(void)state;
	fcache_flush();
	return 0;
}

/*
 * A new entry has the caller's one reference, no file and its path as
 * key, and is not in the table until put.
 */
static void
test_new_entry_has_one_reference_and_no_file(void **state)
{
	struct fcache_entry *fe;

	(void)state;
	fe = fcache_new("/index.html?q", 11);
	assert_non_null(fe);
	assert_int_equal(fe->fe_refs, 1);
	assert_int_equal(fe->fe_fd, -1);
	assert_int_equal(fe->fe_status, 0);
	assert_null(fe->fe_body);
	assert_int_equal(fe->fe_pathlen, 11);
	assert_string_equal(fe->fe_path, "/index.html");
	assert_null(fcache_get("/index.html", 11));
	fcache_release(fe);
}

/* A put entry is found by get, which adds a reference for its caller. */
static void
test_get_finds_put_entry_with_a_reference(void **state)
{
	struct fcache_entry *fe, *got;

	(void)state;
	fe = new_entry("/a/b.html");
	fcache_put(fe);
	assert_int_equal(fe->fe_refs, 2); /* the caller's and the table's */
	got = fcache_get("/a/b.html", 9);
	assert_ptr_equal(got, fe);
	assert_int_equal(fe->fe_refs, 3);
	fcache_release(got);
	fcache_release(fe);
	assert_int_equal(fe->fe_refs, 1); /* the table's */
	assert_ptr_equal(fcache_get("/a/b.html", 9), fe);
	fcache_release(fe);
}

/* The key is path[0..len): what follows it in the buffer is no part. */
static void
test_get_key_is_bounded_by_length(void **state)
{
	struct fcache_entry *fe;

	(void)state;
	put_entry("/a/b.html");
	fe = fcache_get("/a/b.html?x=1", 9);
	assert_non_null(fe);
	assert_int_equal(fe->fe_pathlen, 9);
	fcache_release(fe);
	assert_null(fcache_get("/a/b.html?x=1", 13));
	assert_null(fcache_get("/a/b.htmlx", 10));
}

/*
 * An entry is not found under a path that is a prefix of its own, nor
 * under one its own is a prefix of, even when both take the same slot.
 */
static void
test_get_tells_prefix_from_path(void **state)
{
	char longer[64];

	(void)state;
	colliding_path("/dir/page", longer, sizeof(longer));
	put_entry(longer);
	assert_null(fcache_get("/dir/page", 9));
	assert_null(fcache_get(longer, strlen(longer) - 1));
	fcache_flush();
	put_entry("/dir/page");
	assert_null(fcache_get(longer, strlen(longer)));
	assert_null(fcache_get("/dir/pag", 8));
}

/*
 * Entries in different slots are found side by side: a put replaces only
 * the entry of its own slot.
 */
static void
test_entries_of_different_slots_coexist(void **state)
{
	struct fcache_entry *first, *got;
	char other[64];
	int i;

	(void)state;
	first = new_entry("/one");
	fcache_put(first);
	for (i = 0; i < MAX_TRIES; i++) {
		snprintf(other, sizeof(other), "/two%d", i);
		put_entry(other);
		if (first->fe_refs == 2)
			break;	   /* other took a slot of its own */
		fcache_put(first); /* other replaced it: try another */
	}
	assert_int_equal(first->fe_refs, 2);
	got = fcache_get("/one", 4);
	assert_ptr_equal(got, first);
	fcache_release(got);
	got = fcache_get(other, strlen(other));
	assert_non_null(got);
	assert_string_equal(got->fe_path, other);
	fcache_release(got);
	fcache_release(first);
}

/*
 * A new entry for the same path replaces the old one in the table; the
 * old one, still held, keeps its file open until its last release.
 */
static void
test_replaced_entry_lives_until_last_release(void **state)
{
	struct fcache_entry *old, *new, *got;
	int fd;

	(void)state;
	old = new_entry_with_fd("/f.txt");
	fd = old->fe_fd;
	fcache_put(old);
	new = new_entry("/f.txt");
	fcache_put(new);
	fcache_release(new);
	assert_int_equal(old->fe_refs, 1); /* ours alone */
	assert_true(fd_is_open(fd));
	got = fcache_get("/f.txt", 6);
	assert_ptr_equal(got, new);
	fcache_release(got);
	fcache_release(old);
	assert_false(fd_is_open(fd));
}

/*
 * An entry for another path that takes the same slot replaces the one
 * there, which goes (its file closed) when nobody holds it.
 */
static void
test_entry_of_same_slot_replaces_and_frees(void **state)
{
	struct fcache_entry *fe, *got;
	char other[64];
	int fd;

	(void)state;
	colliding_path("/x", other, sizeof(other));
	fe = new_entry_with_fd("/x");
	fd = fe->fe_fd;
	fcache_put(fe);
	fcache_release(fe);
	assert_true(fd_is_open(fd));
	put_entry(other);
	assert_false(fd_is_open(fd));
	assert_null(fcache_get("/x", 2));
	got = fcache_get(other, strlen(other));
	assert_non_null(got);
	fcache_release(got);
}

/* The last release closes the entry's file. */
static void
test_last_release_closes_descriptor(void **state)
{
	struct fcache_entry *fe;
	int fd;

	(void)state;
	fe = new_entry_with_fd("/r");
	fd = fe->fe_fd;
	fe->fe_body = strdup("the bytes, freed too (LeakSanitizer checks)");
	assert_non_null(fe->fe_body);
	fcache_put(fe);
	fcache_release(fe);
	assert_true(fd_is_open(fd));
	fe = fcache_get("/r", 2);
	assert_non_null(fe);
	fcache_release(fe);
	assert_true(fd_is_open(fd)); /* the table still holds it */
	fcache_flush();
	assert_false(fd_is_open(fd));
}

/* Flush empties the table and closes the files of entries nobody holds. */
static void
test_flush_empties_table_and_closes_files(void **state)
{
	struct fcache_entry *a, *b;
	int fda, fdb;

	(void)state;
	a = new_entry_with_fd("/a");
	b = new_entry_with_fd("/b");
	fda = a->fe_fd;
	fdb = b->fe_fd;
	fcache_put(a);
	fcache_put(b);
	fcache_release(a);
	fcache_release(b);
	fcache_flush();
	assert_null(fcache_get("/a", 2));
	assert_null(fcache_get("/b", 2));
	assert_false(fd_is_open(fda));
	assert_false(fd_is_open(fdb));
	fcache_flush(); /* an empty table flushes too */
}

/*
 * An entry a response still holds survives a flush with its file open,
 * no longer in the table, and goes at its last release.
 */
static void
test_flush_spares_entry_in_use(void **state)
{
	struct fcache_entry *fe;
	int fd;

	(void)state;
	fe = new_entry_with_fd("/busy");
	fd = fe->fe_fd;
	fcache_put(fe);
	fcache_flush();
	assert_int_equal(fe->fe_refs, 1);
	assert_true(fd_is_open(fd));
	assert_null(fcache_get("/busy", 5));
	fcache_release(fe);
	assert_false(fd_is_open(fd));
}

/*
 * An entry is found until FCACHE_TTL_MS after it was made, then no more
 * (polled, the test failing after five times that). The bound is checked
 * on the cache's own clock, the coarse one: it may lag the precise clock
 * by more than a tick after the CPU idled, but never runs backwards.
 */
static void
test_entry_expires_after_ttl(void **state)
{
	struct fcache_entry *fe;
	long long start, coarse_start;

	(void)state;
	start = now_ms();
	coarse_start = coarse_ms();
	put_entry("/ttl");
	fe = fcache_get("/ttl", 4);
	assert_non_null(fe);
	do {
		fcache_release(fe);
		assert_true(now_ms() - start < 5 * FCACHE_TTL_MS);
		sleep_ms(5);
	} while ((fe = fcache_get("/ttl", 4)) != NULL);
	assert_true(coarse_ms() - coarse_start >= FCACHE_TTL_MS);
}

/* An expired entry's file stays open until the entry is replaced. */
static void
test_expired_entry_keeps_file_until_replaced(void **state)
{
	struct fcache_entry *fe;
	long long start;
	int fd;

	(void)state;
	start = now_ms();
	fe = new_entry_with_fd("/old");
	fd = fe->fe_fd;
	fcache_put(fe);
	fcache_release(fe);
	while ((fe = fcache_get("/old", 4)) != NULL) {
		fcache_release(fe);
		assert_true(now_ms() - start < 5 * FCACHE_TTL_MS);
		sleep_ms(20);
	}
	assert_true(fd_is_open(fd));
	put_entry("/old");
	assert_false(fd_is_open(fd));
	fe = fcache_get("/old", 4);
	assert_non_null(fe); /* the new one is fresh */
	fcache_release(fe);
}

/* A kept body up to FCACHE_INLINE_MAX stays in memory, with no file. */
static void
test_keep_small_body_inline(void **state)
{
	struct fcache_entry *fe;
	char *bytes = strdup("<p>a small page</p>");

	(void)state;
	assert_non_null(bytes);
	fe = new_entry("/small/");
	assert_int_equal(fcache_keep(fe, bytes, strlen(bytes)), 0);
	assert_ptr_equal(fe->fe_body, bytes);
	assert_int_equal(fe->fe_fd, -1);
	assert_int_equal(fe->fe_size, (off_t)strlen(bytes));
	fcache_release(fe);
}

/*
 * A larger kept body moves into a sealed memory file: its bytes read
 * back, it cannot be written, and the last release closes it.
 */
static void
test_keep_large_body_in_sealed_memfd(void **state)
{
	struct fcache_entry *fe;
	size_t len = FCACHE_INLINE_MAX + 1;
	char *bytes = malloc(len), *back = malloc(len);
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(bytes);
	assert_non_null(back);
	memset(bytes, 'x', len);
	fe = new_entry("/large/");
	assert_int_equal(fcache_keep(fe, bytes, len), 0);
	assert_null(fe->fe_body);
	fd = fe->fe_fd;
	assert_int_not_equal(fd, -1);
	assert_int_equal(fe->fe_size, (off_t)len);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)len);
	assert_int_equal(pread(fd, back, len, 0), (ssize_t)len);
	assert_true(back[0] == 'x' && back[len - 1] == 'x');
	assert_int_equal(pwrite(fd, "y", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE, F_SEAL_WRITE);
	fcache_release(fe);
	assert_false(fd_is_open(fd));
	free(back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(
		test_new_entry_has_one_reference_and_no_file, teardown),
	    cmocka_unit_test_teardown(
		test_get_finds_put_entry_with_a_reference, teardown),
	    cmocka_unit_test_teardown(
		test_get_key_is_bounded_by_length, teardown),
	    cmocka_unit_test_teardown(
		test_get_tells_prefix_from_path, teardown),
	    cmocka_unit_test_teardown(
		test_entries_of_different_slots_coexist, teardown),
	    cmocka_unit_test_teardown(
		test_replaced_entry_lives_until_last_release, teardown),
	    cmocka_unit_test_teardown(
		test_entry_of_same_slot_replaces_and_frees, teardown),
	    cmocka_unit_test_teardown(
		test_last_release_closes_descriptor, teardown),
	    cmocka_unit_test_teardown(
		test_flush_empties_table_and_closes_files, teardown),
	    cmocka_unit_test_teardown(test_flush_spares_entry_in_use, teardown),
	    cmocka_unit_test_teardown(test_entry_expires_after_ttl, teardown),
	    cmocka_unit_test_teardown(
		test_expired_entry_keeps_file_until_replaced, teardown),
	    cmocka_unit_test_teardown(test_keep_small_body_inline, teardown),
	    cmocka_unit_test_teardown(
		test_keep_large_body_in_sealed_memfd, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
