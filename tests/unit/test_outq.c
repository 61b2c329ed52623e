/*
 * Unit tests for outq.c: a connection's queue of shared, reference-
 * counted output frames. Sends in order, partial sends across frames,
 * references counted through of_refs as frames are shared, sent, cleared
 * and freed, the ring growing (from a wrapped position too), outq_iov()'s
 * bound.
 *
 * Every test lets go of what it made, so a leak or a use after free shows
 * under ASan (build with CC=clang and -fsanitize=address) or valgrind.
 */

#include <sys/uio.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define T_MANY	    1000       /* frames of the growth tests */
#define T_GUARD_LEN 0x5a5a5a5a /* an iov_len no frame has */

/* Make a frame holding the bytes of s, with its maker's reference. */
static struct outq_frame *
t_frame(const char *s)
{
	struct outq_frame *f;

	f = outq_frame_new(strlen(s));
	assert_non_null(f);
	memcpy(f->of_data, s, strlen(s));
	return f;
}

/* Make a frame holding the 4 bytes of the number i. */
static struct outq_frame *
t_frame_num(uint32_t i)
{
	struct outq_frame *f;

	f = outq_frame_new(sizeof(i));
	assert_non_null(f);
	memcpy(f->of_data, &i, sizeof(i));
	return f;
}

/* Push f onto q, asserting success. */
static void
t_push(struct outq *q, struct outq_frame *f)
{
	assert_int_equal(outq_push(q, f), 0);
}

/*
 * Assert that the unsent bytes of q, as outq_iov() gives them (max
 * entries), are want, in nframes entries.
 */
static void
t_assert_unsent(const struct outq *q, int max, const char *want, int nframes)
{
	struct iovec iov[8];
	char got[256];
	size_t len = 0;
	int i, n;

	assert_true(max <= 8);
	n = outq_iov(q, iov, max);
	assert_int_equal(n, nframes);
	for (i = 0; i < n; i++) {
		assert_true(len + iov[i].iov_len <= sizeof(got));
		memcpy(got + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
}

/* A new frame has its length and one reference, its maker's. */
static void
test_new_frame_has_one_reference(void **state)
{
	struct outq_frame *f;

	(void)state;
	f = outq_frame_new(10);
	assert_non_null(f);
	assert_int_equal(f->of_refs, 1);
	assert_int_equal(f->of_len, 10);
	outq_frame_unref(f);
}

/* Letting go of NULL does nothing. */
static void
test_unref_null_is_harmless(void **state)
{
	(void)state;
	outq_frame_unref(NULL);
}

/* A push takes a reference and counts the frame's bytes as queued. */
static void
test_push_takes_reference_and_counts_bytes(void **state)
{
	struct outq q = {0};
	struct outq_frame *a = t_frame("abc"), *b = t_frame("de");

	(void)state;
	t_push(&q, a);
	t_push(&q, b);
	assert_int_equal(a->of_refs, 2);
	assert_int_equal(b->of_refs, 2);
	assert_int_equal(q.oq_len, 2);
	assert_int_equal(q.oq_bytes, 5);
	outq_free(&q);
	outq_frame_unref(a);
	outq_frame_unref(b);
}

/* outq_iov() points at the frames themselves, in the order pushed. */
static void
test_iov_points_at_frames_in_push_order(void **state)
{
	struct outq q = {0};
	struct outq_frame *f[3] = {
	    t_frame("abc"), t_frame("de"), t_frame("fghij")};
	struct iovec iov[4];
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		t_push(&q, f[i]);
	assert_int_equal(outq_iov(&q, iov, 4), 3);
	for (i = 0; i < 3; i++) {
		assert_ptr_equal(iov[i].iov_base, f[i]->of_data);
		assert_int_equal(iov[i].iov_len, f[i]->of_len);
	}
	outq_free(&q);
	for (i = 0; i < 3; i++)
		outq_frame_unref(f[i]);
}

/* Sending whole frames lets go of them, and the rest follows in order. */
static void
test_sent_whole_frames_lets_them_go(void **state)
{
	struct outq q = {0};
	struct outq_frame *a = t_frame("abc"), *b = t_frame("de"),
			  *c = t_frame("fghij");

	(void)state;
	t_push(&q, a);
	t_push(&q, b);
	t_push(&q, c);
	outq_sent(&q, 5);
	assert_int_equal(a->of_refs, 1);
	assert_int_equal(b->of_refs, 1);
	assert_int_equal(c->of_refs, 2);
	assert_int_equal(q.oq_len, 1);
	assert_int_equal(q.oq_bytes, 5);
	t_assert_unsent(&q, 8, "fghij", 1);
	outq_free(&q);
	outq_frame_unref(a);
	outq_frame_unref(b);
	outq_frame_unref(c);
}

/* A partial send keeps the frame and resumes in its middle. */
static void
test_partial_send_resumes_mid_frame(void **state)
{
	struct outq q = {0};
	struct outq_frame *a = t_frame("abc"), *b = t_frame("de");
	struct iovec iov[2];

	(void)state;
	t_push(&q, a);
	t_push(&q, b);
	outq_sent(&q, 2);
	assert_int_equal(a->of_refs, 2);
	assert_int_equal(q.oq_bytes, 3);
	assert_int_equal(outq_iov(&q, iov, 2), 2);
	assert_ptr_equal(iov[0].iov_base, a->of_data + 2);
	assert_int_equal(iov[0].iov_len, 1);
	t_assert_unsent(&q, 8, "cde", 2);
	outq_free(&q);
	outq_frame_unref(a);
	outq_frame_unref(b);
}

/*
 * Partial sends that cross frame boundaries, several at a time, leave
 * exactly the bytes not yet sent, each frame let go of once passed.
 */
static void
test_partial_sends_across_frame_boundaries(void **state)
{
	struct outq q = {0};
	struct outq_frame *a = t_frame("abc"), *b = t_frame("de"),
			  *c = t_frame("fghij"), *d = t_frame("k");

	(void)state;
	t_push(&q, a);
	t_push(&q, b);
	t_push(&q, c);
	t_push(&q, d);
	outq_sent(&q, 2); /* ab */
	t_assert_unsent(&q, 8, "cdefghijk", 4);
	outq_sent(&q, 2); /* c|d */
	assert_int_equal(a->of_refs, 1);
	t_assert_unsent(&q, 8, "efghijk", 3);
	outq_sent(&q, 5); /* e|fghi */
	assert_int_equal(b->of_refs, 1);
	assert_int_equal(c->of_refs, 2);
	t_assert_unsent(&q, 8, "jk", 2);
	assert_int_equal(q.oq_bytes, 2);
	outq_sent(&q, 2); /* j|k */
	assert_int_equal(c->of_refs, 1);
	assert_int_equal(d->of_refs, 1);
	assert_int_equal(q.oq_len, 0);
	assert_int_equal(q.oq_bytes, 0);
	t_assert_unsent(&q, 8, "", 0);
	outq_free(&q);
	outq_frame_unref(a);
	outq_frame_unref(b);
	outq_frame_unref(c);
	outq_frame_unref(d);
}

/*
 * A frame queued on several connections lives until the last lets go,
 * whether by sending it, clearing or freeing its queue: each takes one
 * reference away, and the others still read its bytes.
 */
static void
test_shared_frame_freed_only_by_last_queue(void **state)
{
	struct outq q[3] = {{0}, {0}, {0}};
	struct outq_frame *f = t_frame("shared");
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		t_push(&q[i], f);
	assert_int_equal(f->of_refs, 4);
	outq_frame_unref(f); /* the maker's, as chat_deliver() does */
	assert_int_equal(f->of_refs, 3);
	outq_sent(&q[0], 3);
	assert_int_equal(f->of_refs, 3);
	outq_sent(&q[0], 3);
	assert_int_equal(f->of_refs, 2);
	outq_clear(&q[1]);
	assert_int_equal(f->of_refs, 1);
	t_assert_unsent(&q[2], 8, "shared", 1);
	outq_free(&q[2]); /* frees f: ASan or valgrind see a leak if not */
	outq_free(&q[0]);
	outq_free(&q[1]);
}

/*
 * outq_clear() keeps a first frame of which part is sent, so the stream
 * stays whole, drops the others, and counts only its rest as queued.
 */
static void
test_clear_keeps_partly_sent_first_frame(void **state)
{
	struct outq q = {0};
	struct outq_frame *a = t_frame("abc"), *b = t_frame("de"),
			  *c = t_frame("fghij");

	(void)state;
	t_push(&q, a);
	t_push(&q, b);
	t_push(&q, c);
	outq_sent(&q, 1);
	outq_clear(&q);
	assert_int_equal(q.oq_len, 1);
	assert_int_equal(q.oq_bytes, 2);
	assert_int_equal(a->of_refs, 2);
	assert_int_equal(b->of_refs, 1);
	assert_int_equal(c->of_refs, 1);
	t_assert_unsent(&q, 8, "bc", 1);
	outq_sent(&q, 2);
	assert_int_equal(q.oq_len, 0);
	assert_int_equal(q.oq_bytes, 0);
	assert_int_equal(a->of_refs, 1);
	outq_free(&q);
	outq_frame_unref(a);
	outq_frame_unref(b);
	outq_frame_unref(c);
}

/* outq_clear() with nothing of the first frame sent drops every frame. */
static void
test_clear_drops_everything_not_started(void **state)
{
	struct outq q = {0};
	struct outq_frame *a = t_frame("abc"), *b = t_frame("de");

	(void)state;
	t_push(&q, a);
	t_push(&q, b);
	outq_sent(&q, 3); /* a, whole: b is not started */
	outq_clear(&q);
	assert_int_equal(q.oq_len, 0);
	assert_int_equal(q.oq_bytes, 0);
	assert_int_equal(a->of_refs, 1);
	assert_int_equal(b->of_refs, 1);
	t_assert_unsent(&q, 8, "", 0);
	outq_free(&q);
	outq_frame_unref(a);
	outq_frame_unref(b);
}

/*
 * Move the head of the empty queue q to entry h of its ring, making the
 * ring first if need be, by pushing and sending one frame at a time.
 */
static void
t_move_head(struct outq *q, unsigned h)
{
	struct outq_frame *f = t_frame("x");

	do {
		t_push(q, f);
		outq_sent(q, 1);
	} while (q->oq_head != h);
	assert_int_equal(q->oq_len, 0);
	assert_int_equal(f->of_refs, 1);
	outq_frame_unref(f);
}

/* Return the entries of the ring a queue starts with. */
static unsigned
t_initial_cap(void)
{
	struct outq q = {0};
	unsigned cap;

	t_move_head(&q, 1);
	cap = q.oq_cap;
	outq_free(&q);
	return cap;
}

/*
 * outq_clear() on a ring whose frames wrap past its end drops the right
 * ones and keeps the partly sent first.
 */
static void
test_clear_on_wrapped_ring(void **state)
{
	struct outq q = {0};
	struct outq_frame *f[3];
	unsigned cap = t_initial_cap();
	uint32_t i;

	(void)state;
	assert_true(cap >= 3);
	t_move_head(&q, cap - 1);
	for (i = 0; i < 3; i++) {
		f[i] = t_frame_num(i);
		t_push(&q, f[i]);
	}
	assert_int_equal(q.oq_cap, cap); /* not grown: it wraps */
	outq_sent(&q, 4 + 1);
	outq_clear(&q);
	assert_int_equal(q.oq_len, 1);
	assert_int_equal(q.oq_bytes, 3);
	assert_int_equal(f[0]->of_refs, 1);
	assert_int_equal(f[1]->of_refs, 2);
	assert_int_equal(f[2]->of_refs, 1);
	outq_free(&q);
	for (i = 0; i < 3; i++)
		outq_frame_unref(f[i]);
}

/*
 * Assert that q holds the frames numbered first .. first + n - 1, in
 * order, and nothing else.
 */
static void
t_assert_numbered(const struct outq *q, uint32_t first, int n)
{
	static struct iovec iov[T_MANY];
	uint32_t v;
	int i;

	assert_int_equal(q->oq_len, n);
	assert_int_equal(q->oq_bytes, (size_t)n * sizeof(v));
	assert_int_equal(outq_iov(q, iov, T_MANY), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(iov[i].iov_len, sizeof(v));
		memcpy(&v, iov[i].iov_base, sizeof(v));
		assert_int_equal(v, first + (uint32_t)i);
	}
}

/* Push frames numbered 0 .. n - 1 on q, letting go of the makers' refs. */
static void
t_push_numbered(struct outq *q, int n)
{
	struct outq_frame *f;
	int i;

	for (i = 0; i < n; i++) {
		f = t_frame_num((uint32_t)i);
		t_push(q, f);
		outq_frame_unref(f);
	}
}

/* The ring grows as frames are pushed, keeping them in order. */
static void
test_ring_grows_keeping_order(void **state)
{
	struct outq q = {0};

	(void)state;
	t_push_numbered(&q, T_MANY);
	assert_true(q.oq_cap >= T_MANY);
	t_assert_numbered(&q, 0, T_MANY);
	outq_sent(&q, 4 * 10);
	t_assert_numbered(&q, 10, T_MANY - 10);
	outq_free(&q);
}

/*
 * The ring grows from a head at any entry of its first ring, so with the
 * frames wrapped around its end, keeping them in order.
 */
static void
test_ring_grows_from_any_head_keeping_order(void **state)
{
	struct outq q;
	unsigned h, cap = t_initial_cap();

	(void)state;
	for (h = 0; h < cap; h++) {
		memset(&q, 0, sizeof(q));
		t_move_head(&q, h);
		t_push_numbered(&q, T_MANY);
		t_assert_numbered(&q, 0, T_MANY);
		outq_sent(&q, 4 * 500);
		t_assert_numbered(&q, 500, T_MANY - 500);
		outq_free(&q);
	}
}

/* outq_iov() fills at most max entries, the first ones, none past. */
static void
test_iov_respects_max(void **state)
{
	struct outq q = {0};
	struct outq_frame *f[5];
	struct iovec iov[5];
	uint32_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		f[i] = t_frame_num(i);
		t_push(&q, f[i]);
	}
	for (i = 0; i < 5; i++)
		iov[i].iov_len = T_GUARD_LEN;
	assert_int_equal(outq_iov(&q, iov, 3), 3);
	for (i = 0; i < 3; i++)
		assert_ptr_equal(iov[i].iov_base, f[i]->of_data);
	assert_int_equal(iov[3].iov_len, T_GUARD_LEN);
	iov[0].iov_len = T_GUARD_LEN;
	assert_int_equal(outq_iov(&q, iov, 0), 0);
	assert_int_equal(iov[0].iov_len, T_GUARD_LEN);
	iov[1].iov_len = T_GUARD_LEN;
	assert_int_equal(outq_iov(&q, iov, 1), 1);
	assert_int_equal(iov[0].iov_len, sizeof(uint32_t));
	assert_int_equal(iov[1].iov_len, T_GUARD_LEN);
	outq_free(&q);
	for (i = 0; i < 5; i++)
		outq_frame_unref(f[i]);
}

/* An empty queue, new or sent out, gives no iovec. */
static void
test_iov_of_empty_queue_is_empty(void **state)
{
	struct outq q = {0};
	struct outq_frame *f = t_frame("abc");
	struct iovec iov[1] = {{NULL, T_GUARD_LEN}};

	(void)state;
	assert_int_equal(outq_iov(&q, iov, 1), 0);
	t_push(&q, f);
	outq_sent(&q, 3);
	assert_int_equal(outq_iov(&q, iov, 1), 0);
	assert_int_equal(iov[0].iov_len, T_GUARD_LEN);
	outq_free(&q);
	outq_frame_unref(f);
}

/*
 * outq_free() lets go of every frame, the partly sent one too, and of
 * the ring, leaving the queue empty.
 */
static void
test_free_releases_every_frame(void **state)
{
	struct outq q = {0};
	struct outq_frame *a = t_frame("abc"), *b = t_frame("de");

	(void)state;
	t_push(&q, a);
	t_push(&q, b);
	t_push(&q, a);
	outq_sent(&q, 1);
	assert_int_equal(a->of_refs, 3);
	outq_free(&q);
	assert_int_equal(a->of_refs, 1);
	assert_int_equal(b->of_refs, 1);
	assert_null(q.oq_ring);
	assert_int_equal(q.oq_len, 0);
	assert_int_equal(q.oq_cap, 0);
	assert_int_equal(q.oq_bytes, 0);
	outq_frame_unref(a);
	outq_frame_unref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_frame_has_one_reference),
	    cmocka_unit_test(test_unref_null_is_harmless),
	    cmocka_unit_test(test_push_takes_reference_and_counts_bytes),
	    cmocka_unit_test(test_iov_points_at_frames_in_push_order),
	    cmocka_unit_test(test_sent_whole_frames_lets_them_go),
	    cmocka_unit_test(test_partial_send_resumes_mid_frame),
	    cmocka_unit_test(test_partial_sends_across_frame_boundaries),
	    cmocka_unit_test(test_shared_frame_freed_only_by_last_queue),
	    cmocka_unit_test(test_clear_keeps_partly_sent_first_frame),
	    cmocka_unit_test(test_clear_drops_everything_not_started),
	    cmocka_unit_test(test_clear_on_wrapped_ring),
	    cmocka_unit_test(test_ring_grows_keeping_order),
	    cmocka_unit_test(test_ring_grows_from_any_head_keeping_order),
	    cmocka_unit_test(test_iov_respects_max),
	    cmocka_unit_test(test_iov_of_empty_queue_is_empty),
	    cmocka_unit_test(test_free_releases_every_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
