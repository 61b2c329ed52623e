/*
 * fuzz_wsinflate: the permessage-deflate codec of wsdeflate.c, as ws.c
 * drives it for one connection.
 *
 * The input: one byte of settings (bit 0: no context takeover; bits 1-3:
 * the client's window bits, 8 + 0..7; bits 4-7: the level to compress
 * with, 1 + 0..15 % 9), two bytes of max (little-endian, 0..65535), then
 * up to FUZZ_MESSAGES messages, each a 16-bit little-endian length and
 * that many bytes (the last one takes what is left if it is short).
 *
 * It asserts, for any input:
 *
 * - Inflate: each message, taken as compressed bytes, fed to
 *   wsinflate_data() in pieces split at points the input's hash chooses
 *   (each an exact-size copy), then wsinflate_end(), never crashes or
 *   reads past a piece; the sink is never handed an empty chunk nor,
 *   over the message, more than max + 1 bytes; the result is 0, 1007 or
 *   1009 (1011, out of memory, cannot happen here) and is the verdict of
 *   a reference written with plain zlib: the message whole, then 00 00 ff
 *   ff unless a final block ended it, inflated with room for max + 1
 *   bytes (no bytes at all: the empty message): an error, bytes after a
 *   final block or an end inside a block are 1007, more than max
 *   bytes 1009 (either, for invalid data after more than max bytes: the
 *   split decides which shows first; and with a window under 2^15 the
 *   reference's 0 may be 1007, for a distance past the window that zlib
 *   lets reach into what one call wrote); after a final block a new stream
 *   starts, its dictionary the connection's last 2^bits bytes when the
 *   context is kept. The bytes out are the reference's (up to max of
 *   them on 1009). The connection ends at the first non-zero result, as
 *   ws.c closes it.
 * - Round trip: each message, taken as a message's text, compressed with
 *   wsdeflate_message() (a compressor of the connection's own with
 *   context takeover, the process's shared one without; the text split
 *   into iovec pieces) fits wsdeflate_bound() (an exact-size buffer),
 *   and inflates back to itself with max set to its length; the shared
 *   compressor gives the same bytes for it a second time, split the same
 *   way (zlib's output may depend on how its input is fed in pieces).
 */

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define FUZZ_MESSAGES 8	    /* messages per input */
#define FUZZ_PIECES   4	    /* pieces per message, at most */
#define FUZZ_MAX_OUT  65537 /* max + 1, max being 16 bits */

static const unsigned char fuzz_tail[4] = {0x00, 0x00, 0xff, 0xff};

/* One connection: its settings and messages. */
struct fuzz_conn {
	int fc_no_ctx;
	int fc_bits; /* the client's window bits as negotiated, 8..15 */
	int fc_level;
	uint64_t fc_max;
	const uint8_t *fc_msg[FUZZ_MESSAGES];
	size_t fc_len[FUZZ_MESSAGES];
	int fc_count;
	uint64_t fc_rng; /* split points */
};

/* What the sink collected of one message. */
struct fuzz_sink {
	unsigned char fs_out[FUZZ_MAX_OUT];
	size_t fs_len;
	uint64_t fs_max;
};

/* The reference inflater: plain zlib and the connection's history. */
struct fuzz_ref {
	z_stream fr_z;
	int fr_bits;
	int fr_no_ctx;
	unsigned char fr_hist[1 << 15]; /* the last output, for dictionaries */
	size_t fr_hist_len;
	unsigned char fr_out[FUZZ_MAX_OUT];
	size_t fr_len;
};

/* Read the input into c; 0, or -1 if it is too short to have settings. */
static int
fuzz_split(const uint8_t *data, size_t size, struct fuzz_conn *c)
{
	size_t off = 3, len;

	if (size < 3)
		return -1;
	c->fc_no_ctx = data[0] & 1;
	c->fc_bits = 8 + ((data[0] >> 1) & 7);
	c->fc_level = 1 + (data[0] >> 4) % 9;
	c->fc_max = (uint64_t)data[1] | (uint64_t)data[2] << 8;
	c->fc_rng = fuzz_hash(data, size);
	for (c->fc_count = 0; c->fc_count < FUZZ_MESSAGES && off < size;
	     c->fc_count++) {
		len = data[off];
		if (off + 1 < size)
			len |= (size_t)data[off + 1] << 8;
		off = off + 2 < size ? off + 2 : size;
		if (len > size - off)
			len = size - off;
		c->fc_msg[c->fc_count] = data + off;
		c->fc_len[c->fc_count] = len;
		off += len;
	}
	return 0;
}

/* The sink: check and keep what the codec hands over. */
static int
fuzz_sink(void *arg, const unsigned char *p, size_t n)
{
	struct fuzz_sink *fs = arg;

	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(fs->fs_len + n <= fs->fs_max + 1);
	memcpy(fs->fs_out + fs->fs_len, p, n);
	fs->fs_len += n;
	return 0;
}

/* Keep the connection's last output, the window a new stream starts from. */
static void
fuzz_ref_keep(struct fuzz_ref *r, const unsigned char *p, size_t n)
{
	size_t cap = sizeof(r->fr_hist), keep;

	if (n >= cap) {
		memcpy(r->fr_hist, p + n - cap, cap);
		r->fr_hist_len = cap;
		return;
	}
	keep = r->fr_hist_len + n > cap ? cap - n : r->fr_hist_len;
	memmove(r->fr_hist, r->fr_hist + r->fr_hist_len - keep, keep);
	memcpy(r->fr_hist + keep, p, n);
	r->fr_hist_len = keep + n;
}

/*
 * Inflate in[0..n) with the reference into fr_out, room for max + 1
 * bytes in all. 0, or 1007 or 1009; *ended when a final block ended and
 * *left the bytes after it.
 */
static int
fuzz_ref_run(struct fuzz_ref *r, const void *in, size_t n, uint64_t max,
    int *ended, size_t *left)
{
	z_stream *z = &r->fr_z;
	int rv;

	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)n;
	z->next_out = r->fr_out + r->fr_len;
	z->avail_out = (uInt)(max + 1 - r->fr_len);
	rv = inflate(z, Z_SYNC_FLUSH);
	FUZZ_ASSERT(rv != Z_MEM_ERROR && rv != Z_STREAM_ERROR);
	r->fr_len = (size_t)(z->next_out - r->fr_out);
	if (rv != Z_OK && rv != Z_STREAM_END && rv != Z_BUF_ERROR)
		return 1007;
	if (r->fr_len > max)
		return 1009;
	*ended = rv == Z_STREAM_END;
	*left = z->avail_in;
	return 0;
}

/* The reference's verdict on one message m[0..n); its output in fr_out. */
static int
fuzz_ref_message(struct fuzz_ref *r, const uint8_t *m, size_t n, uint64_t max)
{
	size_t left, dict;
	int ended = 0, code;

	r->fr_len = 0;
	if (n == 0)
		return 0; /* no compressed bytes: the empty message */
	if ((code = fuzz_ref_run(r, m, n, max, &ended, &left)) != 0)
		return code;
	if (ended && left > 0)
		return 1007; /* bytes after the final block */
	/* The tail, unless the final block came first; after it, unread. */
	if (!ended &&
	    (code = fuzz_ref_run(
		 r, fuzz_tail, sizeof(fuzz_tail), max, &ended, &left)) != 0)
		return code;
	/* Cut short inside a block: zlib stopped elsewhere than between. */
	if (!ended && !(r->fr_z.data_type & 128))
		return 1007;
	fuzz_ref_keep(r, r->fr_out, r->fr_len);
	if (ended || r->fr_no_ctx)
		FUZZ_ASSERT(inflateReset(&r->fr_z) == Z_OK);
	if (ended && !r->fr_no_ctx && r->fr_hist_len > 0) {
		dict = r->fr_hist_len < (1u << r->fr_bits) ? r->fr_hist_len
							   : (1u << r->fr_bits);
		FUZZ_ASSERT(inflateSetDictionary(&r->fr_z,
				r->fr_hist + r->fr_hist_len - dict,
				(uInt)dict) == Z_OK);
	}
	return 0;
}

/* Feed m[0..n) to wsinflate in pieces, then end the message. */
static int
fuzz_inflate_message(struct wsinflate *wi, const struct fuzz_conn *c,
    uint64_t *rng, const uint8_t *m, size_t n, struct fuzz_sink *fs)
{
	size_t off = 0, k;
	int pieces = 1 + (int)(fuzz_next(rng) % FUZZ_PIECES), i, code = 0;
	char *piece;

	fs->fs_len = 0;
	for (i = 0; i < pieces && code == 0; i++) {
		k = i == pieces - 1 || n == off
		    ? n - off
		    : (size_t)(fuzz_next(rng) % (n - off + 1));
		piece = fuzz_copy(m + off, k);
		code = wsinflate_data(wi, piece, k, c->fc_max, fuzz_sink, fs);
		free(piece);
		off += k;
	}
	if (code == 0)
		code = wsinflate_end(wi, c->fc_max, fuzz_sink, fs);
	return code;
}

/* Property 1: the messages as compressed bytes, against the reference. */
static void
fuzz_inflate(const struct fuzz_conn *c)
{
	static struct fuzz_sink fs;
	static struct fuzz_ref r;
	uint64_t rng = c->fc_rng;
	struct wsinflate *wi;
	int i, code, want;

	r.fr_bits = c->fc_bits < 9 ? 9 : c->fc_bits;
	r.fr_no_ctx = c->fc_no_ctx;
	r.fr_hist_len = 0;
	memset(&r.fr_z, 0, sizeof(r.fr_z));
	FUZZ_ASSERT(inflateInit2(&r.fr_z, -r.fr_bits) == Z_OK);
	fs.fs_max = c->fc_max;
	wi = wsinflate_new(c->fc_bits, c->fc_no_ctx);
	FUZZ_ASSERT(wi != NULL);
	for (i = 0; i < c->fc_count; i++) {
		code = fuzz_inflate_message(
		    wi, c, &rng, c->fc_msg[i], c->fc_len[i], &fs);
		want =
		    fuzz_ref_message(&r, c->fc_msg[i], c->fc_len[i], c->fc_max);
		FUZZ_ASSERT(code == 0 || code == 1007 || code == 1009);
		/* Past max and invalid later: which shows first depends on
		 * where the message was split. */
		/* A distance past a window under 2^15 is invalid, but zlib
		 * lets it reach into what the same call wrote: whether it
		 * fails hangs on the split (the server may well refuse). */
		FUZZ_ASSERT(code == want ||
		    (code == 1009 && want == 1007 && r.fr_len > c->fc_max) ||
		    (code == 1007 && want == 0 && r.fr_bits < 15));
		FUZZ_ASSERT(fs.fs_len <= r.fr_len);
		FUZZ_ASSERT(code != 0 || fs.fs_len == r.fr_len);
		FUZZ_ASSERT(memcmp(fs.fs_out, r.fr_out, fs.fs_len) == 0);
		if (code != 0)
			break;
	}
	wsinflate_free(wi);
	inflateEnd(&r.fr_z);
}

/*
 * Compress m[0..n), split into iovec pieces, with wd into a new buffer of
 * exactly wsdeflate_bound(n) bytes, *out; the payload's length.
 */
static size_t
fuzz_deflate_message(struct wsdeflate *wd, uint64_t *rng, const uint8_t *m,
    size_t n, unsigned char **out)
{
	struct iovec iov[FUZZ_PIECES];
	size_t off = 0, bound = wsdeflate_bound(n);
	int cnt = (int)(fuzz_next(rng) % (FUZZ_PIECES + 1)), i;
	ssize_t z;

	if (cnt == 0 && n > 0)
		cnt = 1;
	for (i = 0; i < cnt; i++) {
		iov[i].iov_base = (void *)(uintptr_t)(m + off);
		iov[i].iov_len = i == cnt - 1 || n == off
		    ? n - off
		    : (size_t)(fuzz_next(rng) % (n - off + 1));
		off += iov[i].iov_len;
	}
	if ((*out = malloc(bound)) == NULL)
		abort();
	z = wsdeflate_message(wd, iov, cnt, *out, bound);
	FUZZ_ASSERT(z >= 0);
	FUZZ_ASSERT((size_t)z <= bound);
	return (size_t)z;
}

/* Property 2: the messages as text, through wsdeflate and back. */
static void
fuzz_round_trip(const struct fuzz_conn *c)
{
	static struct fuzz_sink fs;
	int bits = c->fc_bits < 9 ? 9 : c->fc_bits, i;
	uint64_t rng = ~c->fc_rng, split;
	struct fuzz_conn rc = *c;
	unsigned char *pay, *again;
	struct wsdeflate *own = NULL, *wd;
	struct wsinflate *wi;
	size_t n, n2;

	if (!c->fc_no_ctx) {
		own = wsdeflate_new(bits, c->fc_level, 0);
		FUZZ_ASSERT(own != NULL);
	}
	wi = wsinflate_new(bits, c->fc_no_ctx);
	FUZZ_ASSERT(wi != NULL);
	for (i = 0; i < c->fc_count; i++) {
		wd = own != NULL ? own : wsdeflate_shared(bits, c->fc_level);
		FUZZ_ASSERT(wd != NULL);
		split = rng;
		n = fuzz_deflate_message(
		    wd, &rng, c->fc_msg[i], c->fc_len[i], &pay);
		if (own == NULL) {
			/* Split the same way: zlib's output may hang on how
			 * the input is fed to it (the server feeds one piece).
			 */
			n2 = fuzz_deflate_message(
			    wd, &split, c->fc_msg[i], c->fc_len[i], &again);
			FUZZ_ASSERT(n2 == n && memcmp(again, pay, n) == 0);
			free(again);
		}
		rc.fc_max = c->fc_len[i];
		fs.fs_max = rc.fc_max;
		FUZZ_ASSERT(
		    fuzz_inflate_message(wi, &rc, &rng, pay, n, &fs) == 0);
		FUZZ_ASSERT(fs.fs_len == c->fc_len[i]);
		FUZZ_ASSERT(memcmp(fs.fs_out, c->fc_msg[i], fs.fs_len) == 0);
		free(pay);
	}
	wsinflate_free(wi);
	wsdeflate_free(own);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conn c;

	if (fuzz_split(data, size, &c) == -1)
		return 0;
	fuzz_inflate(&c);
	fuzz_round_trip(&c);
	return 0;
}
