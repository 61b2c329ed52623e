/*
 * The permessage-deflate codec (RFC 7692, 7.2) over zlib, without I/O.
 *
 * Inflating: a message's compressed bytes go in as they arrive, and the
 * inflated bytes come out in chunks of at most WSDEFLATE_CHUNK to a sink,
 * never more in all than the caller's bound plus one byte: a compression
 * bomb is stopped after that much output, not after all of it. The zlib
 * state is made at the first compressed message, so a connection that
 * never sends one costs nothing; it is kept across messages (context
 * takeover) or reset after each.
 *
 * Deflating: a whole message in, its compressed payload out (the final
 * 00 00 ff ff of the sync flush removed). A connection with context
 * takeover has a compressor of its own; without it, every connection of a
 * process with the same window shares one, reset before each message, so
 * that a message compresses to the same bytes for all of them.
 */

#include <sys/uio.h>

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "pfhttpd.h"

#define WSDEFLATE_CHUNK 16384 /* inflated bytes handed to a sink at once */
#define WSDEFLATE_NBITS 7     /* window sizes 9..15 */

/* The four bytes a sync flush ends with, removed from every message. */
static const unsigned char wsdeflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

/* A connection's decompressor. */
struct wsinflate {
	z_stream wi_z;
	int wi_ready;	 /* wi_z is initialised */
	int wi_bits;	 /* the client's window */
	int wi_no_ctx;	 /* reset after each message */
	int wi_ended;	 /* this message's stream had its final block */
	uint64_t wi_in;	 /* compressed bytes of this message so far */
	uint64_t wi_out; /* bytes this message inflated to so far */
};

/* A compressor: a connection's own, or a shared one. */
struct wsdeflate {
	z_stream wd_z;
	int wd_level;  /* zlib level it was made with */
	int wd_no_ctx; /* reset before each message */
};

/* The shared compressors of this process, by window (9..15). */
static struct wsdeflate *wsdeflate_shared_by_bits[WSDEFLATE_NBITS];

/*
 * Make a decompressor for a client window of bits (8..15), no_ctx if the
 * client resets its context after each message. NULL if out of memory.
 */
struct wsinflate *
wsinflate_new(int bits, int no_ctx)
{
	struct wsinflate *wi;

	if ((wi = calloc(1, sizeof(*wi))) == NULL)
		return NULL;
	/* A larger window inflates anything a smaller one made; zlib's raw
	 * deflate has no 8-bit window, so clients that offered 8 write 9. */
	wi->wi_bits = bits < WS_DEFLATE_MIN_BITS ? WS_DEFLATE_MIN_BITS : bits;
	wi->wi_no_ctx = no_ctx;
	return wi;
}

/* Free a decompressor (NULL is fine). */
void
wsinflate_free(struct wsinflate *wi)
{
	if (wi == NULL)
		return;
	if (wi->wi_ready)
		inflateEnd(&wi->wi_z);
	free(wi);
}

/*
 * Start a new stream after a final block, keeping the window when the
 * context is taken over. 0, or a close code.
 */
static int
wsinflate_restart(struct wsinflate *wi)
{
	static unsigned char dict[1 << 15];
	uInt n = 0;

	if (!wi->wi_no_ctx && inflateGetDictionary(&wi->wi_z, dict, &n) != Z_OK)
		return WS_CLOSE_INTERNAL;
	if (inflateReset(&wi->wi_z) != Z_OK)
		return WS_CLOSE_INTERNAL;
	if (n > 0 && inflateSetDictionary(&wi->wi_z, dict, n) != Z_OK)
		return WS_CLOSE_INTERNAL;
	return 0;
}

/*
 * Inflate in[0..n) and hand the output to sink, while the message's
 * output stays within max bytes. 0, or the close code to fail with: the
 * sink's, 1009 past max, 1007 for invalid data (bytes after a final
 * block among them, unless in is the sync flush's tail, which a final
 * block may end within), 1011 out of memory.
 */
static int
wsinflate_run(struct wsinflate *wi, const void *in, size_t n, uint64_t max,
    wsinflate_sink sink, void *arg)
{
	static unsigned char out[WSDEFLATE_CHUNK];
	z_stream *z = &wi->wi_z;
	uint64_t room;
	size_t got;
	int rv, code, tail = in == wsdeflate_tail;

	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)n;
	/* A full chunk may leave output behind in zlib: go on until not. */
	do {
		if (wi->wi_ended && z->avail_in > 0)
			return tail ? 0 : WS_CLOSE_INVALID_DATA;
		/* One byte past max tells that the message is too big. */
		room = max - wi->wi_out + 1;
		z->next_out = out;
		z->avail_out = room < sizeof(out) ? (uInt)room : sizeof(out);
		rv = inflate(z, Z_SYNC_FLUSH);
		if (rv == Z_MEM_ERROR)
			return WS_CLOSE_INTERNAL;
		if (rv != Z_OK && rv != Z_STREAM_END && rv != Z_BUF_ERROR)
			return WS_CLOSE_INVALID_DATA;
		got = (size_t)(z->next_out - out);
		if ((wi->wi_out += got) > max)
			return WS_CLOSE_TOO_BIG;
		if (got > 0 && (code = sink(arg, out, got)) != 0)
			return code;
		if (rv == Z_STREAM_END)
			wi->wi_ended = 1;
		else if (got == 0 && z->avail_in > 0)
			return WS_CLOSE_INVALID_DATA; /* no progress */
	} while (z->avail_in > 0 || z->avail_out == 0);
	return 0;
}

/*
 * Inflate in[0..n), compressed bytes of the message being received, as
 * wsinflate_run() does. 0 or a close code.
 */
int
wsinflate_data(struct wsinflate *wi, const void *in, size_t n, uint64_t max,
    wsinflate_sink sink, void *arg)
{
	if (!wi->wi_ready) {
		memset(&wi->wi_z, 0, sizeof(wi->wi_z));
		if (inflateInit2(&wi->wi_z, -wi->wi_bits) != Z_OK)
			return WS_CLOSE_INTERNAL;
		wi->wi_ready = 1;
	}
	wi->wi_in += n;
	return n > 0 ? wsinflate_run(wi, in, n, max, sink, arg) : 0;
}

/*
 * The message's last compressed bytes are in: inflate what the sync
 * flush's tail releases, check the data ended on a block boundary (a
 * message cut short in a block is invalid), then ready the stream for the
 * next message. A message of no compressed bytes at all is taken as the
 * empty message. 0 or a close code.
 */
int
wsinflate_end(
    struct wsinflate *wi, uint64_t max, wsinflate_sink sink, void *arg)
{
	int code = 0;

	if ((code = wsinflate_data(wi, NULL, 0, max, sink, arg)) != 0)
		return code;
	if (wi->wi_in == 0)
		return 0;
	wi->wi_in = 0;
	if (!wi->wi_ended)
		code = wsinflate_run(
		    wi, wsdeflate_tail, sizeof(wsdeflate_tail), max, sink, arg);
	/* zlib: data_type has 128 when inflate stopped between blocks. */
	if (code == 0 && !wi->wi_ended && !(wi->wi_z.data_type & 128))
		code = WS_CLOSE_INVALID_DATA;
	if (code == 0 && wi->wi_ended)
		code = wsinflate_restart(wi);
	else if (code == 0 && wi->wi_no_ctx && inflateReset(&wi->wi_z) != Z_OK)
		code = WS_CLOSE_INTERNAL;
	wi->wi_ended = 0;
	wi->wi_out = 0;
	return code;
}

/*
 * Make a compressor for a window of bits (9..15) at level, no_ctx if it
 * starts afresh for each message. NULL if out of memory. Its memory is
 * about 2^(bits+3) bytes: memLevel follows the window (bits - 7).
 */
struct wsdeflate *
wsdeflate_new(int bits, int level, int no_ctx)
{
	struct wsdeflate *wd;

	if ((wd = calloc(1, sizeof(*wd))) == NULL)
		return NULL;
	if (deflateInit2(&wd->wd_z, level, Z_DEFLATED, -bits, bits - 7,
		Z_DEFAULT_STRATEGY) != Z_OK) {
		free(wd);
		return NULL;
	}
	wd->wd_level = level;
	wd->wd_no_ctx = no_ctx;
	return wd;
}

/* Free a compressor (NULL is fine). */
void
wsdeflate_free(struct wsdeflate *wd)
{
	if (wd == NULL)
		return;
	deflateEnd(&wd->wd_z);
	free(wd);
}

/*
 * Return this process's shared compressor (no context takeover) for a
 * window of bits at level, made at its first use. NULL if out of memory.
 */
struct wsdeflate *
wsdeflate_shared(int bits, int level)
{
	struct wsdeflate **slot =
	    &wsdeflate_shared_by_bits[bits - WS_DEFLATE_MIN_BITS];

	/* A worker's level never changes (a reload starts new workers), but
	 * the level asked for is the level given, whoever asks. */
	if (*slot != NULL && (*slot)->wd_level != level) {
		wsdeflate_free(*slot);
		*slot = NULL;
	}
	if (*slot == NULL)
		*slot = wsdeflate_new(bits, level, 1);
	return *slot;
}

/* Return the most bytes a message of n bytes can compress to. */
size_t
wsdeflate_bound(size_t n)
{
	/*
	 * zlib writes each block the smallest way, never larger than stored:
	 * 5 bytes of header per block, and a block ends after at most
	 * 2^(memLevel + 6) symbols, at least 256 bytes with memLevel 2 (a
	 * window of 9, the smallest) and more with more. The sync flush adds
	 * an empty stored block and a partial byte.
	 */
	return n + (n >> 5) + 64;
}

/*
 * Compress one message, iov[0..cnt), into out (wsdeflate_bound() of its
 * length). Return the payload's length, or -1 (the compressor is then
 * unusable: with context takeover, close the connection).
 */
ssize_t
wsdeflate_message(struct wsdeflate *wd, const struct iovec *iov, int cnt,
    void *out, size_t size)
{
	z_stream *z = &wd->wd_z;
	size_t len = 0;
	int i;

	for (i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	if (len == 0 && size > 0) {
		/* An empty stored block (RFC 7692, 7.2.3.6): zlib has no
		 * output for an empty sync flush right after another. */
		*(unsigned char *)out = 0x00;
		return 1;
	}
	if (wd->wd_no_ctx && deflateReset(z) != Z_OK)
		return -1;
	z->next_out = out;
	z->avail_out = (uInt)size;
	for (i = 0; i < cnt; i++) {
		z->next_in = iov[i].iov_base;
		z->avail_in = (uInt)iov[i].iov_len;
		if (deflate(z, i == cnt - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH) ==
			Z_STREAM_ERROR ||
		    z->avail_in > 0)
			return -1;
	}
	if (z->avail_out == 0)
		return -1; /* the flush may not have finished */
	len = size - z->avail_out;
	if (len < sizeof(wsdeflate_tail) ||
	    memcmp((unsigned char *)out + len - sizeof(wsdeflate_tail),
		wsdeflate_tail, sizeof(wsdeflate_tail)) != 0)
		return -1;
	return (ssize_t)(len - sizeof(wsdeflate_tail));
}
