/*
 * fuzz_wsproto: the WebSocket framing of wsproto.c. The input is a stream
 * of client frames (header, payload, header, ...), as ws.c reads it.
 *
 * It asserts, for any input:
 *
 * - wsproto_parse_header() returns -1, 0 (more bytes needed) or a header
 *   length of 2 to 14 that the first byte pair implies; it reads nothing
 *   past the bytes it is given (an exact-size copy), and every shorter
 *   prefix of a complete header gives 0. The fields match the bits on the
 *   wire; the length is in its shortest form (7-bit, 16-bit >= 126,
 *   64-bit > 0xffff with the top bit clear; anything else is -1); an
 *   unmasked frame has a zero mask.
 * - Round trip: wsproto_build_header() from the parsed fin, opcode and
 *   length gives back the same header bytes (MASK and RSV bits aside),
 *   and parsing what it built gives the same fields, unmasked.
 * - wsproto_check_frame() agrees with the rules of RFC 6455 5.2-5.5 (a
 *   client frame is masked, RSV bits clear, opcodes known, control
 *   frames final and at most 125 bytes, continuation only inside a
 *   message, data frames only outside one) and RFC 7692 6 (RSV1 only on
 *   a text or binary frame, and only with permessage-deflate agreed):
 *   0 or 1002, never another.
 * - wsproto_unmask() gives payload[i] ^ mask[(off + i) % 4] for any
 *   offset, in place or not; unmasking twice is the identity; unmasking in
 *   two pieces at any split point (the second with the offset moved on)
 *   equals unmasking at once.
 * - Close frames: the code of a payload of two or more bytes is valid by
 *   wsproto_close_code_valid() iff it is 1000-1003, 1007-1014 or
 *   3000-4999, and wsproto_close_class() gives an index of sc_ws_closes[]
 *   (and so for every code from 0 to 65535, once per process).
 * - wsproto_accept() on the first 24 bytes: 0 only for 22 base64 digits
 *   and "==", then a 28-character base64 value.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "shm.h"
#include "fuzz.h"

#define FUZZ_MAX_FRAMES 256 /* frames followed per input */

static const char fuzz_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The reference for wsproto_check_frame(). */
static int
ref_check(const struct ws_frame *fh, int in_message, int deflate)
{
	int control = fh->wf_opcode >= 0x8;

	if (!fh->wf_masked || (fh->wf_rsv & 3) != 0)
		return 1002;
	/* RSV1: the first frame of a compressed message, nothing else. */
	if ((fh->wf_rsv & 4) &&
	    (!deflate ||
		(fh->wf_opcode != WS_OP_TEXT && fh->wf_opcode != WS_OP_BINARY)))
		return 1002;
	if (fh->wf_opcode != WS_OP_CONTINUATION &&
	    fh->wf_opcode != WS_OP_TEXT && fh->wf_opcode != WS_OP_BINARY &&
	    fh->wf_opcode != WS_OP_CLOSE && fh->wf_opcode != WS_OP_PING &&
	    fh->wf_opcode != WS_OP_PONG)
		return 1002;
	if (control)
		return fh->wf_fin && fh->wf_len <= 125 ? 0 : 1002;
	if (fh->wf_opcode == WS_OP_CONTINUATION)
		return in_message ? 0 : 1002;
	return in_message ? 1002 : 0;
}

/* The reference for wsproto_close_code_valid(). */
static int
ref_code_valid(unsigned code)
{
	if (code < 1000 || code >= 5000)
		return 0;
	if (code >= 3000)
		return 1;
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/* Check the close code helpers on code. */
static void
check_code(unsigned code)
{
	FUZZ_ASSERT(wsproto_close_code_valid(code) == ref_code_valid(code));
	/* The class indexes sc_ws_closes[]; its boundaries are unit-tested. */
	FUZZ_ASSERT(wsproto_close_class(code) >= 0 &&
	    wsproto_close_class(code) < SHM_WS_CLOSE_CLASSES);
}

/* Check wsproto_unmask() on p[0..n) with mask at offset off. */
static void
check_unmask(const unsigned char *p, size_t n, const uint8_t mask[4],
    uint64_t off, size_t split)
{
	unsigned char *a, *b, *c;
	size_t i;

	a = (unsigned char *)fuzz_copy(p, n);
	b = (unsigned char *)fuzz_copy(p, n);
	c = (unsigned char *)fuzz_copy(p, n);

	/* Out of place, against the definition. */
	wsproto_unmask(a, p, n, mask, off);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(a[i] == (p[i] ^ mask[(off + i) & 3]));
	/* In place gives the same. */
	wsproto_unmask(b, b, n, mask, off);
	FUZZ_ASSERT(n == 0 || memcmp(a, b, n) == 0);
	/* Twice is the identity. */
	wsproto_unmask(b, b, n, mask, off);
	FUZZ_ASSERT(n == 0 || memcmp(b, p, n) == 0);
	/* Two pieces, the second at its offset in the payload. */
	if (split > n)
		split = n;
	wsproto_unmask(c, c, split, mask, off);
	wsproto_unmask(c + split, c + split, n - split, mask, off + split);
	FUZZ_ASSERT(n == 0 || memcmp(a, c, n) == 0);

	free(a);
	free(b);
	free(c);
}

/* Check wsproto_accept() on key[0..len). */
static void
check_accept(const char *key, size_t len)
{
	char accept[WS_ACCEPT_LEN];
	size_t i;
	int rc, shaped;

	shaped = len == 24 && key[22] == '=' && key[23] == '=';
	for (i = 0; shaped && i < 22; i++)
		shaped = strchr(fuzz_b64, key[i]) != NULL && key[i] != '\0';
	memset(accept, 'x', sizeof(accept));
	rc = wsproto_accept(key, len, accept);
	/* 22 digits hold 132 bits: any last digit gives 16 bytes. */
	FUZZ_ASSERT(rc == (shaped ? 0 : -1));
	if (rc == 0) {
		FUZZ_ASSERT(accept[WS_ACCEPT_LEN - 1] == '\0');
		FUZZ_ASSERT(strlen(accept) == WS_ACCEPT_LEN - 1);
		for (i = 0; i < WS_ACCEPT_LEN - 2; i++)
			FUZZ_ASSERT(strchr(fuzz_b64, accept[i]) != NULL);
		FUZZ_ASSERT(accept[WS_ACCEPT_LEN - 2] == '=');
	}
}

/* Check one parsed header at p[0..hlen) against the wire bytes. */
static void
check_fields(const unsigned char *p, size_t hlen, const struct ws_frame *fh)
{
	unsigned char built[WS_HEADER_MAX];
	struct ws_frame again;
	size_t blen, ext, i;
	uint64_t wire;
	ssize_t r;

	FUZZ_ASSERT(fh->wf_fin == ((p[0] & 0x80) != 0));
	FUZZ_ASSERT(fh->wf_rsv == ((p[0] >> 4) & 7));
	FUZZ_ASSERT(fh->wf_opcode == (p[0] & 0x0f));
	FUZZ_ASSERT(fh->wf_masked == ((p[1] & 0x80) != 0));
	switch (p[1] & 0x7f) {
	case 126:
		ext = 2;
		wire = (uint64_t)p[2] << 8 | p[3];
		FUZZ_ASSERT(wire >= 126);
		break;
	case 127:
		ext = 8;
		wire = 0;
		for (i = 0; i < 8; i++)
			wire = wire << 8 | p[2 + i];
		FUZZ_ASSERT(wire > 0xffff && wire >> 63 == 0);
		break;
	default:
		ext = 0;
		wire = p[1] & 0x7f;
		break;
	}
	FUZZ_ASSERT(hlen == 2 + ext + (fh->wf_masked ? 4u : 0u));
	FUZZ_ASSERT(fh->wf_len == wire);
	if (fh->wf_masked)
		FUZZ_ASSERT(memcmp(fh->wf_mask, p + hlen - 4, 4) == 0);
	else
		FUZZ_ASSERT(fh->wf_mask[0] == 0 && fh->wf_mask[1] == 0 &&
		    fh->wf_mask[2] == 0 && fh->wf_mask[3] == 0);

	/* Build it again: the same bytes, MASK, RSV and key aside. */
	memset(built, 0xee, sizeof(built));
	blen =
	    wsproto_build_header(built, fh->wf_fin, fh->wf_opcode, fh->wf_len);
	FUZZ_ASSERT(blen == hlen - (fh->wf_masked ? 4u : 0u));
	FUZZ_ASSERT(built[0] == (p[0] & 0x8f));
	FUZZ_ASSERT(built[1] == (p[1] & 0x7f));
	FUZZ_ASSERT(memcmp(built + 2, p + 2, blen - 2) == 0);
	for (i = blen; i < sizeof(built); i++)
		FUZZ_ASSERT(built[i] == 0xee);
	r = wsproto_parse_header(built, blen, &again);
	FUZZ_ASSERT(r == (ssize_t)blen);
	FUZZ_ASSERT(again.wf_fin == fh->wf_fin);
	FUZZ_ASSERT(again.wf_rsv == 0);
	FUZZ_ASSERT(again.wf_opcode == fh->wf_opcode);
	FUZZ_ASSERT(again.wf_masked == 0);
	FUZZ_ASSERT(again.wf_len == fh->wf_len);
}

/* Check the builder on a length of the input's choosing. */
static void
check_build(uint64_t len, int fin, int opcode)
{
	unsigned char built[WS_HEADER_MAX];
	struct ws_frame fh;
	size_t blen;

	len &= ~((uint64_t)1 << 63); /* the largest a frame may carry */
	blen = wsproto_build_header(built, fin, opcode, len);
	FUZZ_ASSERT(blen == (len < 126 ? 2u : len <= 0xffff ? 4u : 10u));
	FUZZ_ASSERT(wsproto_parse_header(built, blen, &fh) == (ssize_t)blen);
	FUZZ_ASSERT(fh.wf_len == len);
	FUZZ_ASSERT(fh.wf_fin == (fin != 0));
	FUZZ_ASSERT(fh.wf_opcode == (opcode & 0x0f));
	FUZZ_ASSERT(wsproto_parse_header(built, blen - 1, &fh) == 0);
}

/* Check every close code from 0 to 65535 against the references, once. */
static void
check_all_codes(void)
{
	static int done;
	unsigned code;

	if (done)
		return;
	for (code = 0; code <= 0xffff; code++)
		check_code(code);
	done = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_frame fh, fh2;
	unsigned char *c;
	size_t pos = 0, hlen, k, n, avail;
	uint64_t rng, off, len64;
	ssize_t r;
	int frames, in_message = 0, cr, i;

	check_all_codes();
	rng = fuzz_hash(data, size);
	if (size >= 24)
		check_accept((const char *)data, 24);
	check_accept((const char *)data, size);
	if (size >= 8) {
		memcpy(&len64, data, sizeof(len64));
		check_build(len64, data[0] & 1, data[1]);
	}

	for (frames = 0; frames < FUZZ_MAX_FRAMES && pos < size; frames++) {
		avail = size - pos;
		c = (unsigned char *)fuzz_copy(data + pos, avail);
		memset(&fh, 0xa5, sizeof(fh));
		r = wsproto_parse_header(c, avail, &fh);
		FUZZ_ASSERT(
		    r == -1 || r == 0 || (r >= 2 && r <= WS_HEADER_MAX));
		if (r <= 0) {
			/* Incomplete: so is every shorter prefix. */
			for (k = 0; r == 0 && k < avail; k++)
				FUZZ_ASSERT(
				    wsproto_parse_header(c, k, &fh2) == 0);
			free(c);
			break;
		}
		hlen = (size_t)r;
		/* Complete: every shorter prefix needs more. */
		for (k = 0; k < hlen; k++) {
			free(c);
			c = (unsigned char *)fuzz_copy(data + pos, k);
			FUZZ_ASSERT(wsproto_parse_header(c, k, &fh2) == 0);
		}
		free(c);
		c = (unsigned char *)fuzz_copy(data + pos, hlen);
		FUZZ_ASSERT(wsproto_parse_header(c, hlen, &fh2) == r);
		FUZZ_ASSERT(fh.wf_fin == fh2.wf_fin &&
		    fh.wf_rsv == fh2.wf_rsv && fh.wf_opcode == fh2.wf_opcode &&
		    fh.wf_masked == fh2.wf_masked && fh.wf_len == fh2.wf_len &&
		    memcmp(fh.wf_mask, fh2.wf_mask, 4) == 0);
		free(c);
		check_fields(data + pos, hlen, &fh);

		for (i = 0; i < 4; i++) {
			cr = wsproto_check_frame(&fh, i & 1, i >> 1);
			FUZZ_ASSERT(cr == 0 || cr == WS_CLOSE_PROTOCOL);
			FUZZ_ASSERT(cr == ref_check(&fh, i & 1, i >> 1));
		}
		cr = wsproto_check_frame(&fh, in_message, 0);

		pos += hlen;
		n = size - pos;
		if (fh.wf_len < n)
			n = (size_t)fh.wf_len;
		off = fuzz_next(&rng);
		if (off & 1)
			off &= 7;
		check_unmask(data + pos, n, fh.wf_mask, off,
		    (size_t)(fuzz_next(&rng) % (n + 1)));

		if (fh.wf_opcode == WS_OP_CLOSE && n >= 2 && fh.wf_len == n) {
			c = (unsigned char *)fuzz_copy(data + pos, n);
			wsproto_unmask(c, c, n, fh.wf_mask, 0);
			check_code((unsigned)c[0] << 8 | c[1]);
			free(c);
		}
		if (n >= 2)
			check_code((unsigned)data[pos] << 8 | data[pos + 1]);

		/* Follow the message state as ws.c does; stop on an error. */
		if (cr != 0)
			break;
		if (fh.wf_opcode < 0x8)
			in_message = !fh.wf_fin;
		if (fh.wf_len > size - pos)
			break;
		pos += (size_t)fh.wf_len;
	}
	return 0;
}
