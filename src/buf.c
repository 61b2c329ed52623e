/*
 * Byte buffers for connection input and output: the bytes in use lie in
 * b_data[b_start .. b_end), contiguous, so that a parser sees one array
 * and a write is one system call. The buffer grows when asked for more
 * room than it has and keeps its memory afterwards, so a connection in a
 * steady state allocates nothing; buf_trim() gives back what a burst (a
 * large WebSocket frame, a long header) made it take.
 */

#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

/* Make b an empty buffer of cap bytes; -1 if memory ran out. */
int
buf_init(struct buf *b, size_t cap)
{
	b->b_start = b->b_end = 0;
	b->b_cap = cap;
	if ((b->b_data = malloc(cap)) == NULL) {
		b->b_cap = 0;
		return -1;
	}
	return 0;
}

/* Free the memory of b; it can be freed again, or initialised. */
void
buf_free(struct buf *b)
{
	free(b->b_data);
	b->b_data = NULL;
	b->b_start = b->b_end = b->b_cap = 0;
}

/* Drop n bytes from the front of b (n at most its length). */
void
buf_drain(struct buf *b, size_t n)
{
	b->b_start += n;
	if (b->b_start == b->b_end)
		b->b_start = b->b_end = 0;
}

/*
 * Make room for n more bytes after the data: move the data to the front
 * if that is enough, else grow. The room, or NULL if memory ran out.
 */
char *
buf_space(struct buf *b, size_t n)
{
	size_t len = b->b_end - b->b_start, cap;
	char *p;

	if (b->b_cap - b->b_end >= n)
		return b->b_data + b->b_end;
	if (b->b_start > 0) {
		memmove(b->b_data, b->b_data + b->b_start, len);
		b->b_start = 0;
		b->b_end = len;
		if (b->b_cap - b->b_end >= n)
			return b->b_data + b->b_end;
	}
	for (cap = b->b_cap > 0 ? b->b_cap : 256; cap - len < n; cap *= 2)
		if (cap > (size_t)-1 / 4)
			return NULL;
	if ((p = realloc(b->b_data, cap)) == NULL)
		return NULL;
	b->b_data = p;
	b->b_cap = cap;
	return b->b_data + b->b_end;
}

/* Append n bytes; -1 if memory ran out (b is unchanged then). */
int
buf_add(struct buf *b, const void *p, size_t n)
{
	char *room;

	if ((room = buf_space(b, n)) == NULL)
		return -1;
	memcpy(room, p, n);
	b->b_end += n;
	return 0;
}

/* Give back memory past cap bytes once b is empty. */
void
buf_trim(struct buf *b, size_t cap)
{
	char *p;

	if (b->b_start != b->b_end || b->b_cap <= cap)
		return;
	if ((p = realloc(b->b_data, cap)) != NULL) {
		b->b_data = p;
		b->b_cap = cap;
	}
	b->b_start = b->b_end = 0;
}
