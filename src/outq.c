/*
 * A connection's queue of shared output frames. A chat event goes to
 * every member of a room that a worker holds: the worker renders it once
 * into a frame and queues a reference to that frame on each connection,
 * instead of a copy each. A frame is immutable once made, freed when the
 * last queue lets it go; a queue is a ring of frame pointers and the
 * count of bytes already sent of the first.
 *
 * conn.c sends a queue after the connection's own buffer and before a
 * file part, with one writev per call (outq_iov()); what a kind writes
 * while frames wait goes into a frame of its own at the queue's tail
 * (conn_out_reserve()), so the bytes leave in the order they were queued.
 */

#include <sys/uio.h>

#include <stdlib.h>

#include "pfhttpd.h"

#define OUTQ_INITIAL 8 /* ring entries to start with */

/* Make a frame of len bytes, with one reference: the caller's. */
struct outq_frame *
outq_frame_new(size_t len)
{
	struct outq_frame *f;

	if ((f = malloc(sizeof(*f) + len)) == NULL)
		return NULL;
	f->of_refs = 1;
	f->of_len = len;
	return f;
}

/* Let go of a reference to f; the last one frees it. */
void
outq_frame_unref(struct outq_frame *f)
{
	if (f != NULL && --f->of_refs == 0)
		free(f);
}

/* Double the ring, keeping its order. 0, or -1 if out of memory. */
static int
outq_grow(struct outq *q)
{
	unsigned cap = q->oq_cap == 0 ? OUTQ_INITIAL : 2 * q->oq_cap, i;
	struct outq_frame **ring;

	if ((ring = calloc(cap, sizeof(struct outq_frame *))) == NULL)
		return -1;
	for (i = 0; i < q->oq_len; i++)
		ring[i] = q->oq_ring[(q->oq_head + i) % q->oq_cap];
	free(q->oq_ring);
	q->oq_ring = ring;
	q->oq_cap = cap;
	q->oq_head = 0;
	return 0;
}

/* Queue f at the tail, taking a reference. 0, or -1 if out of memory. */
int
outq_push(struct outq *q, struct outq_frame *f)
{
	if (q->oq_len == q->oq_cap && outq_grow(q) == -1)
		return -1;
	q->oq_ring[(q->oq_head + q->oq_len) % q->oq_cap] = f;
	q->oq_len++;
	q->oq_bytes += f->of_len;
	f->of_refs++;
	return 0;
}

/* Point iov[0..max) at the unsent bytes, in order; return the count. */
int
outq_iov(const struct outq *q, struct iovec *iov, int max)
{
	struct outq_frame *f;
	unsigned i;
	int n = 0;

	for (i = 0; i < q->oq_len && n < max; i++, n++) {
		f = q->oq_ring[(q->oq_head + i) % q->oq_cap];
		iov[n].iov_base = f->of_data + (i == 0 ? q->oq_off : 0);
		iov[n].iov_len = f->of_len - (i == 0 ? q->oq_off : 0);
	}
	return n;
}

/* Drop the first frame. */
static void
outq_pop(struct outq *q)
{
	outq_frame_unref(q->oq_ring[q->oq_head]);
	q->oq_head = (q->oq_head + 1) % q->oq_cap;
	q->oq_len--;
	q->oq_off = 0;
}

/* Count n bytes from the head as sent, letting go of whole frames. */
void
outq_sent(struct outq *q, size_t n)
{
	struct outq_frame *f;
	size_t left;

	q->oq_bytes -= n;
	while (n > 0 && q->oq_len > 0) {
		f = q->oq_ring[q->oq_head];
		left = f->of_len - q->oq_off;
		if (n < left) {
			q->oq_off += n;
			return;
		}
		n -= left;
		outq_pop(q);
	}
}

/*
 * Drop what is queued, but for the first frame if part of it is sent
 * (a frame cut short would break the stream): with a close to send, the
 * rest need not go.
 */
void
outq_clear(struct outq *q)
{
	unsigned keep = q->oq_len > 0 && q->oq_off > 0;

	while (q->oq_len > keep) {
		q->oq_len--;
		q->oq_bytes -=
		    q->oq_ring[(q->oq_head + q->oq_len) % q->oq_cap]->of_len;
		outq_frame_unref(
		    q->oq_ring[(q->oq_head + q->oq_len) % q->oq_cap]);
	}
}

/* Let go of every frame and of the ring. */
void
outq_free(struct outq *q)
{
	while (q->oq_len > 0)
		outq_pop(q);
	free(q->oq_ring);
	q->oq_ring = NULL;
	q->oq_cap = 0;
	q->oq_bytes = 0;
}
