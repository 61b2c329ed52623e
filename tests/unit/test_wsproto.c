/*
 * Unit tests for wsproto.c: frame headers, frame rules, masking, close
 * codes and the opening handshake.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define RFC_KEY	   "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455, 1.3 */

/* The lines of a good handshake request, to assemble variants from. */
#define REQ_LINE    "GET /ws HTTP/1.1\r\n"
#define HOST	    "Host: example.com\r\n"
#define UPGRADE	    "Upgrade: websocket\r\n"
#define CONNECTION  "Connection: Upgrade\r\n"
#define KEY	    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
#define VERSION	    "Sec-WebSocket-Version: 13\r\n"
#define GOOD_FIELDS HOST UPGRADE CONNECTION KEY VERSION

#define ORIGINS "http://a.example https://b.example:8443"

/* Length forms of a frame header, to write non-minimal ones too. */
enum t_form {
	T_FORM_7 = 7,	/* length in the second byte */
	T_FORM_16 = 16, /* 126, then 16 bits */
	T_FORM_64 = 64, /* 127, then 64 bits */
};

static const uint8_t t_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/*
 * Write a frame header with first byte b0, the length len in form, and
 * the mask key if masked; return its length.
 */
static size_t
t_header(
    unsigned char *p, unsigned b0, int masked, enum t_form form, uint64_t len)
{
	size_t n = 2;
	int i;

	p[0] = (unsigned char)b0;
	p[1] = masked ? 0x80 : 0;
	switch (form) {
	case T_FORM_7:
		p[1] |= (unsigned char)len;
		break;
	case T_FORM_16:
		p[1] |= 126;
		p[n++] = (unsigned char)(len >> 8);
		p[n++] = (unsigned char)len;
		break;
	case T_FORM_64:
		p[1] |= 127;
		for (i = 0; i < 8; i++)
			p[n++] = (unsigned char)(len >> (56 - 8 * i));
		break;
	}
	if (masked) {
		memcpy(p + n, t_mask, 4);
		n += 4;
	}
	return n;
}

/* Parse p[0..n) into a frame header filled with garbage first. */
static ssize_t
t_parse(const unsigned char *p, size_t n, struct ws_frame *fh)
{
	memset(fh, 0xa5, sizeof(*fh));
	return wsproto_parse_header(p, n, fh);
}

/* Assert that a header of form and len parses to want_len bytes. */
static void
t_parses_len(enum t_form form, uint64_t len, int masked)
{
	unsigned char buf[WS_HEADER_MAX + 4];
	struct ws_frame fh;
	size_t n;

	n = t_header(buf, 0x82, masked, form, len);
	memset(buf + n, 0xee, sizeof(buf) - n); /* payload follows */
	assert_int_equal(t_parse(buf, sizeof(buf), &fh), n);
	assert_int_equal(fh.wf_fin, 1);
	assert_int_equal(fh.wf_rsv, 0);
	assert_int_equal(fh.wf_opcode, WS_OP_BINARY);
	assert_int_equal(fh.wf_masked, masked);
	assert_true(fh.wf_len == len);
	if (masked)
		assert_memory_equal(fh.wf_mask, t_mask, 4);
	else
		assert_memory_equal(fh.wf_mask, "\0\0\0\0", 4);
}

/* Assert that a header of form and len is rejected as not minimal. */
static void
t_rejects_len(enum t_form form, uint64_t len)
{
	unsigned char buf[WS_HEADER_MAX];
	struct ws_frame fh;
	size_t n;

	n = t_header(buf, 0x81, 0, form, len);
	assert_int_equal(t_parse(buf, n, &fh), -1);
	n = t_header(buf, 0x81, 1, form, len);
	assert_int_equal(t_parse(buf, n, &fh), -1);
}

/* A masked client frame with the given fields. */
static struct ws_frame
t_frame(int fin, int opcode, uint64_t len)
{
	struct ws_frame fh;

	memset(&fh, 0, sizeof(fh));
	fh.wf_fin = fin;
	fh.wf_opcode = opcode;
	fh.wf_masked = 1;
	fh.wf_len = len;
	memcpy(fh.wf_mask, t_mask, 4);
	return fh;
}

/* Check a frame with the given fields, message open or not. */
static int
t_check(int fin, int opcode, uint64_t len, int in_message)
{
	struct ws_frame fh = t_frame(fin, opcode, len);

	return wsproto_check_frame(&fh, in_message, 0);
}

/* Run wsproto_accept() on the NUL-terminated key. */
static int
t_accept(const char *key, char accept[WS_ACCEPT_LEN])
{
	memset(accept, 'X', WS_ACCEPT_LEN);
	return wsproto_accept(key, strlen(key), accept);
}

/* Parse the request text (which must parse) and check the handshake. */
static int
t_handshake(const char *text, const char *origins, char accept[WS_ACCEPT_LEN])
{
	struct http_request req;

	memset(accept, 'X', WS_ACCEPT_LEN);
	assert_int_equal(http_parse_request(text, strlen(text), &req), 0);
	return wsproto_handshake(&req, origins, accept);
}

/* The handshake status of text, with the allowed origins. */
static int
t_status(const char *text, const char *origins)
{
	char accept[WS_ACCEPT_LEN];

	return t_handshake(text, origins, accept);
}

/* ---- wsproto_parse_header ---- */

/* A length below 126 is read from the second byte. */
static void
test_parse_7bit_length(void **state)
{
	(void)state;
	t_parses_len(T_FORM_7, 0, 0);
	t_parses_len(T_FORM_7, 1, 0);
	t_parses_len(T_FORM_7, 125, 0);
	t_parses_len(T_FORM_7, 0, 1);
	t_parses_len(T_FORM_7, 125, 1);
}

/* Lengths 126..65535 are read from 16 bits after 126. */
static void
test_parse_16bit_length(void **state)
{
	(void)state;
	t_parses_len(T_FORM_16, 126, 0);
	t_parses_len(T_FORM_16, 256, 0);
	t_parses_len(T_FORM_16, 0x1234, 0);
	t_parses_len(T_FORM_16, 65535, 0);
	t_parses_len(T_FORM_16, 126, 1);
	t_parses_len(T_FORM_16, 65535, 1);
}

/* Lengths from 65536 to 2^63-1 are read from 64 bits after 127. */
static void
test_parse_64bit_length(void **state)
{
	(void)state;
	t_parses_len(T_FORM_64, 65536, 0);
	t_parses_len(T_FORM_64, 0x0102030405060708ULL, 0);
	t_parses_len(T_FORM_64, (1ULL << 32) + 1, 0);
	t_parses_len(T_FORM_64, INT64_MAX, 0);
	t_parses_len(T_FORM_64, 65536, 1);
	t_parses_len(T_FORM_64, INT64_MAX, 1);
}

/* The header's exact bytes give the fields and the header length. */
static void
test_parse_known_bytes(void **state)
{
	/* RFC 6455, 5.7: a masked "Hello" and a 256-byte binary frame. */
	static const unsigned char hello[] = {
	    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	static const unsigned char bin[] = {0x82, 0x7e, 0x01, 0x00};
	struct ws_frame fh;

	(void)state;
	assert_int_equal(t_parse(hello, sizeof(hello), &fh), 6);
	assert_int_equal(fh.wf_fin, 1);
	assert_int_equal(fh.wf_opcode, WS_OP_TEXT);
	assert_int_equal(fh.wf_masked, 1);
	assert_int_equal(fh.wf_len, 5);
	assert_memory_equal(fh.wf_mask, "\x37\xfa\x21\x3d", 4);
	assert_int_equal(t_parse(bin, sizeof(bin), &fh), 4);
	assert_int_equal(fh.wf_masked, 0);
	assert_int_equal(fh.wf_len, 256);
}

/* FIN, the three RSV bits and the opcode come from the first byte. */
static void
test_parse_first_byte_fields(void **state)
{
	unsigned char buf[2];
	struct ws_frame fh;
	unsigned b;

	(void)state;
	for (b = 0; b < 256; b++) {
		buf[0] = (unsigned char)b;
		buf[1] = 0x03;
		assert_int_equal(t_parse(buf, 2, &fh), 2);
		assert_int_equal(fh.wf_fin, b >> 7);
		assert_int_equal(fh.wf_rsv, (b >> 4) & 7);
		assert_int_equal(fh.wf_opcode, b & 0x0f);
		assert_int_equal(fh.wf_masked, 0);
		assert_int_equal(fh.wf_len, 3);
	}
}

/* The mask key is the four bytes after the length, in every form. */
static void
test_parse_extracts_mask_key(void **state)
{
	unsigned char buf[WS_HEADER_MAX];
	struct ws_frame fh;
	size_t n;

	(void)state;
	n = t_header(buf, 0x81, 1, T_FORM_7, 5);
	assert_int_equal(n, 6);
	assert_int_equal(t_parse(buf, n, &fh), 6);
	assert_memory_equal(fh.wf_mask, t_mask, 4);
	n = t_header(buf, 0x81, 1, T_FORM_16, 300);
	assert_int_equal(n, 8);
	assert_int_equal(t_parse(buf, n, &fh), 8);
	assert_memory_equal(fh.wf_mask, t_mask, 4);
	n = t_header(buf, 0x81, 1, T_FORM_64, 70000);
	assert_int_equal(n, WS_HEADER_MAX);
	assert_int_equal(t_parse(buf, n, &fh), WS_HEADER_MAX);
	assert_memory_equal(fh.wf_mask, t_mask, 4);
}

/* An unmasked header leaves a zero mask key, whatever was there. */
static void
test_parse_unmasked_zeroes_mask_key(void **state)
{
	static const unsigned char buf[] = {0x81, 0x05, 1, 2, 3, 4, 5};
	struct ws_frame fh;

	(void)state;
	assert_int_equal(t_parse(buf, sizeof(buf), &fh), 2);
	assert_int_equal(fh.wf_masked, 0);
	assert_memory_equal(fh.wf_mask, "\0\0\0\0", 4);
}

/* Every prefix shorter than the header asks for more bytes (0). */
static void
test_parse_incomplete_header_returns_zero(void **state)
{
	static const struct {
		enum t_form form;
		uint64_t len;
	} cases[] = {{T_FORM_7, 0}, {T_FORM_7, 125}, {T_FORM_16, 126},
	    {T_FORM_16, 65535}, {T_FORM_64, 65536}, {T_FORM_64, INT64_MAX}};
	unsigned char buf[WS_HEADER_MAX];
	struct ws_frame fh;
	size_t c, n, k;
	int masked;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (masked = 0; masked <= 1; masked++) {
			n = t_header(
			    buf, 0x81, masked, cases[c].form, cases[c].len);
			for (k = 0; k < n; k++)
				assert_int_equal(t_parse(buf, k, &fh), 0);
			assert_int_equal(t_parse(buf, n, &fh), n);
		}
	}
}

/* A 16-bit length below 126 is not minimal and is rejected. */
static void
test_parse_rejects_nonminimal_16bit_length(void **state)
{
	(void)state;
	t_rejects_len(T_FORM_16, 0);
	t_rejects_len(T_FORM_16, 1);
	t_rejects_len(T_FORM_16, 125);
}

/* A 64-bit length below 65536 is not minimal and is rejected. */
static void
test_parse_rejects_nonminimal_64bit_length(void **state)
{
	(void)state;
	t_rejects_len(T_FORM_64, 0);
	t_rejects_len(T_FORM_64, 125);
	t_rejects_len(T_FORM_64, 126);
	t_rejects_len(T_FORM_64, 65535);
}

/* A 64-bit length with its most significant bit set is rejected. */
static void
test_parse_rejects_64bit_length_with_top_bit(void **state)
{
	(void)state;
	t_rejects_len(T_FORM_64, 1ULL << 63);
	t_rejects_len(T_FORM_64, (1ULL << 63) + 65536);
	t_rejects_len(T_FORM_64, UINT64_MAX);
}

/* ---- wsproto_check_frame ---- */

/* Masked data and control frames that follow the rules pass. */
static void
test_check_accepts_valid_frames(void **state)
{
	int in;

	(void)state;
	assert_int_equal(t_check(1, WS_OP_TEXT, 0, 0), 0);
	assert_int_equal(t_check(1, WS_OP_BINARY, 1ULL << 40, 0), 0);
	assert_int_equal(t_check(0, WS_OP_TEXT, 10, 0), 0);
	assert_int_equal(t_check(0, WS_OP_BINARY, 10, 0), 0);
	assert_int_equal(t_check(0, WS_OP_CONTINUATION, 10, 1), 0);
	assert_int_equal(t_check(1, WS_OP_CONTINUATION, 0, 1), 0);
	for (in = 0; in <= 1; in++) {
		assert_int_equal(t_check(1, WS_OP_CLOSE, 0, in), 0);
		assert_int_equal(t_check(1, WS_OP_CLOSE, 125, in), 0);
		assert_int_equal(t_check(1, WS_OP_PING, 125, in), 0);
		assert_int_equal(t_check(1, WS_OP_PONG, 0, in), 0);
	}
}

/* An unmasked client frame is a protocol error, whatever its opcode. */
static void
test_check_unmasked_frame_is_protocol_error(void **state)
{
	static const int ops[] = {
	    WS_OP_TEXT, WS_OP_BINARY, WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG};
	struct ws_frame fh;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		fh = t_frame(1, ops[i], 5);
		fh.wf_masked = 0;
		memset(fh.wf_mask, 0, 4);
		assert_int_equal(
		    wsproto_check_frame(&fh, 0, 0), WS_CLOSE_PROTOCOL);
	}
	fh = t_frame(1, WS_OP_CONTINUATION, 5);
	fh.wf_masked = 0;
	assert_int_equal(wsproto_check_frame(&fh, 1, 0), WS_CLOSE_PROTOCOL);
}

/* Any RSV bit set (no extension is negotiated) is a protocol error. */
static void
test_check_rsv_bit_is_protocol_error(void **state)
{
	struct ws_frame fh;
	int rsv;

	(void)state;
	for (rsv = 1; rsv <= 7; rsv++) {
		fh = t_frame(1, WS_OP_TEXT, 5);
		fh.wf_rsv = rsv;
		assert_int_equal(
		    wsproto_check_frame(&fh, 0, 0), WS_CLOSE_PROTOCOL);
		fh = t_frame(1, WS_OP_PING, 5);
		fh.wf_rsv = rsv;
		assert_int_equal(
		    wsproto_check_frame(&fh, 1, 0), WS_CLOSE_PROTOCOL);
	}
}

/* Reserved opcodes 3-7 and 0xB-0xF are protocol errors. */
static void
test_check_reserved_opcode_is_protocol_error(void **state)
{
	int op, in;

	(void)state;
	for (in = 0; in <= 1; in++) {
		for (op = 3; op <= 7; op++)
			assert_int_equal(
			    t_check(1, op, 0, in), WS_CLOSE_PROTOCOL);
		for (op = 0xb; op <= 0xf; op++)
			assert_int_equal(
			    t_check(1, op, 0, in), WS_CLOSE_PROTOCOL);
	}
}

/* A control frame with more than 125 payload bytes is a protocol error. */
static void
test_check_long_control_frame_is_protocol_error(void **state)
{
	(void)state;
	assert_int_equal(t_check(1, WS_OP_CLOSE, 126, 0), WS_CLOSE_PROTOCOL);
	assert_int_equal(t_check(1, WS_OP_PING, 126, 0), WS_CLOSE_PROTOCOL);
	assert_int_equal(t_check(1, WS_OP_PONG, 126, 1), WS_CLOSE_PROTOCOL);
	assert_int_equal(
	    t_check(1, WS_OP_PING, 1ULL << 32, 0), WS_CLOSE_PROTOCOL);
}

/* A fragmented control frame (FIN clear) is a protocol error. */
static void
test_check_fragmented_control_frame_is_protocol_error(void **state)
{
	(void)state;
	assert_int_equal(t_check(0, WS_OP_CLOSE, 0, 0), WS_CLOSE_PROTOCOL);
	assert_int_equal(t_check(0, WS_OP_PING, 5, 0), WS_CLOSE_PROTOCOL);
	assert_int_equal(t_check(0, WS_OP_PONG, 5, 1), WS_CLOSE_PROTOCOL);
}

/* A continuation frame with no message open is a protocol error. */
static void
test_check_continuation_without_message_is_protocol_error(void **state)
{
	(void)state;
	assert_int_equal(
	    t_check(1, WS_OP_CONTINUATION, 5, 0), WS_CLOSE_PROTOCOL);
	assert_int_equal(
	    t_check(0, WS_OP_CONTINUATION, 5, 0), WS_CLOSE_PROTOCOL);
}

/* A new text or binary frame while a message is open is an error. */
static void
test_check_new_message_inside_message_is_protocol_error(void **state)
{
	(void)state;
	assert_int_equal(t_check(1, WS_OP_TEXT, 5, 1), WS_CLOSE_PROTOCOL);
	assert_int_equal(t_check(0, WS_OP_TEXT, 5, 1), WS_CLOSE_PROTOCOL);
	assert_int_equal(t_check(1, WS_OP_BINARY, 5, 1), WS_CLOSE_PROTOCOL);
	assert_int_equal(t_check(0, WS_OP_BINARY, 5, 1), WS_CLOSE_PROTOCOL);
}

/* A valid ping between the fragments of a message passes. */
static void
test_check_ping_between_fragments_passes(void **state)
{
	(void)state;
	assert_int_equal(t_check(0, WS_OP_TEXT, 3, 0), 0);
	assert_int_equal(t_check(1, WS_OP_PING, 4, 1), 0);
	assert_int_equal(t_check(0, WS_OP_CONTINUATION, 3, 1), 0);
	assert_int_equal(t_check(1, WS_OP_PONG, 0, 1), 0);
	assert_int_equal(t_check(1, WS_OP_CONTINUATION, 3, 1), 0);
}

/* ---- wsproto_build_header ---- */

/* A built header parses back to the same fields, unmasked. */
static void
test_build_header_round_trips(void **state)
{
	static const uint64_t lens[] = {
	    0, 1, 125, 126, 127, 65535, 65536, (1ULL << 32) + 1, INT64_MAX};
	unsigned char buf[WS_HEADER_MAX];
	struct ws_frame fh;
	size_t i, n;
	int fin, op;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (fin = 0; fin <= 1; fin++) {
			for (op = 0; op < 16; op++) {
				n = wsproto_build_header(buf, fin, op, lens[i]);
				assert_int_equal(t_parse(buf, n, &fh), n);
				assert_int_equal(fh.wf_fin, fin);
				assert_int_equal(fh.wf_rsv, 0);
				assert_int_equal(fh.wf_opcode, op);
				assert_int_equal(fh.wf_masked, 0);
				assert_true(fh.wf_len == lens[i]);
				assert_memory_equal(fh.wf_mask, "\0\0\0\0", 4);
			}
		}
	}
}

/* The built header uses the shortest length form: 2, 4 or 10 bytes. */
static void
test_build_header_uses_minimal_length_form(void **state)
{
	unsigned char buf[WS_HEADER_MAX];

	(void)state;
	assert_int_equal(wsproto_build_header(buf, 1, WS_OP_TEXT, 0), 2);
	assert_int_equal(wsproto_build_header(buf, 1, WS_OP_TEXT, 125), 2);
	assert_int_equal(wsproto_build_header(buf, 1, WS_OP_TEXT, 126), 4);
	assert_int_equal(wsproto_build_header(buf, 1, WS_OP_TEXT, 65535), 4);
	assert_int_equal(wsproto_build_header(buf, 1, WS_OP_TEXT, 65536), 10);
	assert_int_equal(
	    wsproto_build_header(buf, 1, WS_OP_TEXT, (1ULL << 32) + 1), 10);
}

/* The built header's bytes are the wire format, big-endian lengths. */
static void
test_build_header_known_bytes(void **state)
{
	unsigned char buf[WS_HEADER_MAX];

	(void)state;
	assert_int_equal(wsproto_build_header(buf, 1, WS_OP_TEXT, 5), 2);
	assert_memory_equal(buf, "\x81\x05", 2);
	assert_int_equal(wsproto_build_header(buf, 0, WS_OP_BINARY, 126), 4);
	assert_memory_equal(buf, "\x02\x7e\x00\x7e", 4);
	assert_int_equal(wsproto_build_header(buf, 1, WS_OP_CLOSE, 65535), 4);
	assert_memory_equal(buf, "\x88\x7e\xff\xff", 4);
	assert_int_equal(wsproto_build_header(buf, 1, WS_OP_BINARY, 65536), 10);
	assert_memory_equal(buf, "\x82\x7f\0\0\0\0\0\x01\0\0", 10);
	assert_int_equal(
	    wsproto_build_header(buf, 1, WS_OP_BINARY, (1ULL << 32) + 1), 10);
	assert_memory_equal(buf, "\x82\x7f\0\0\0\x01\0\0\0\x01", 10);
}

/* ---- wsproto_unmask ---- */

/* Reference: unmask byte by byte. */
static void
t_ref_unmask(unsigned char *dst, const unsigned char *src, size_t n,
    const uint8_t mask[4], uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] ^ mask[(off + i) % 4];
}

/* Fill p[0..n) with bytes that differ from one position to the next. */
static void
t_fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31 + i * 97 + (i >> 3));
}

/* Unmasking in place matches the reference at every phase and length. */
static void
test_unmask_in_place_matches_reference(void **state)
{
	static const uint64_t offs[] = {
	    0, 1, 2, 3, 4, 7, (1ULL << 32) + 1, (1ULL << 32) + 2, UINT64_MAX};
	unsigned char buf[48 + 8], want[48 + 8];
	size_t o, n, align;

	(void)state;
	for (o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
		for (n = 0; n <= 40; n++) {
			for (align = 0; align < 8; align++) {
				t_fill(buf, sizeof(buf), (unsigned)(n + o));
				memcpy(want, buf, sizeof(buf));
				t_ref_unmask(want + align, buf + align, n,
				    t_mask, offs[o]);
				wsproto_unmask(buf + align, buf + align, n,
				    t_mask, offs[o]);
				assert_memory_equal(buf, want, sizeof(buf));
			}
		}
	}
}

/* Unmasking to another buffer matches the reference; src is kept. */
static void
test_unmask_out_of_place_matches_reference(void **state)
{
	unsigned char src[48], keep[48], dst[48 + 8], want[48 + 8];
	size_t n, align;
	uint64_t off;

	(void)state;
	for (off = 0; off < 4; off++) {
		for (n = 0; n <= 40; n++) {
			for (align = 0; align < 8; align++) {
				t_fill(src, sizeof(src), (unsigned)n);
				memcpy(keep, src, sizeof(src));
				memset(dst, 0x5a, sizeof(dst));
				memset(want, 0x5a, sizeof(want));
				t_ref_unmask(
				    want + align, src + 1, n, t_mask, off);
				wsproto_unmask(
				    dst + align, src + 1, n, t_mask, off);
				assert_memory_equal(dst, want, sizeof(dst));
				assert_memory_equal(src, keep, sizeof(src));
			}
		}
	}
}

/* A payload unmasked in pieces, each at its offset, equals it whole. */
static void
test_unmask_in_pieces_matches_whole(void **state)
{
	unsigned char whole[40], pieces[40];
	size_t cut;

	(void)state;
	t_fill(whole, sizeof(whole), 3);
	memcpy(pieces, whole, sizeof(whole));
	wsproto_unmask(whole, whole, sizeof(whole), t_mask, 0);
	for (cut = 0; cut <= sizeof(pieces); cut++) {
		t_fill(pieces, sizeof(pieces), 3);
		wsproto_unmask(pieces, pieces, cut, t_mask, 0);
		wsproto_unmask(pieces + cut, pieces + cut, sizeof(pieces) - cut,
		    t_mask, cut);
		assert_memory_equal(pieces, whole, sizeof(whole));
	}
}

/* Unmasking the RFC 6455 example gives "Hello"; twice gives it back. */
static void
test_unmask_rfc_example(void **state)
{
	unsigned char buf[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};

	(void)state;
	wsproto_unmask(buf, buf, 5, t_mask, 0);
	assert_memory_equal(buf, "Hello", 5);
	wsproto_unmask(buf, buf, 5, t_mask, 0);
	assert_memory_equal(buf, "\x7f\x9f\x4d\x51\x58", 5);
}

/* ---- close codes ---- */

/* 1000-1003, 1007-1014 and 3000-4999 may be sent in a close frame. */
static void
test_close_codes_valid(void **state)
{
	static const unsigned codes[] = {1000, 1001, 1002, 1003, 1007, 1008,
	    1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!wsproto_close_code_valid(codes[i]))
			fail_msg("%u should be valid", codes[i]);
}

/* Reserved, unassigned and out-of-range codes are invalid. */
static void
test_close_codes_invalid(void **state)
{
	static const unsigned codes[] = {0, 1, 999, 1004, 1005, 1006, 1015,
	    1016, 2000, 2999, 5000, 65535, 65536, 0x10000 + 1000, UINT32_MAX};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (wsproto_close_code_valid(codes[i]))
			fail_msg("%u should be invalid", codes[i]);
}

/* Every 16-bit code is valid exactly when it is in the allowed ranges. */
static void
test_close_code_validity_every_code(void **state)
{
	unsigned code;
	int want;

	(void)state;
	for (code = 0; code <= 0xffff; code++) {
		want = (code >= 1000 && code <= 1003) ||
		    (code >= 1007 && code <= 1014) ||
		    (code >= 3000 && code <= 4999);
		if (!wsproto_close_code_valid(code) != !want)
			fail_msg("code %u: want %d", code, want);
	}
}

/* Close codes count as 1000, 1001, 1002-1011, 3000-4999 or other. */
static void
test_close_class(void **state)
{
	unsigned code;

	(void)state;
	assert_int_equal(wsproto_close_class(1000), 0);
	assert_int_equal(wsproto_close_class(1001), 1);
	for (code = 1002; code <= 1011; code++)
		assert_int_equal(wsproto_close_class(code), 2);
	assert_int_equal(wsproto_close_class(3000), 3);
	assert_int_equal(wsproto_close_class(4999), 3);
	assert_int_equal(wsproto_close_class(0), 4);
	assert_int_equal(wsproto_close_class(999), 4);
	assert_int_equal(wsproto_close_class(1012), 4);
	assert_int_equal(wsproto_close_class(1015), 4);
	assert_int_equal(wsproto_close_class(2999), 4);
	assert_int_equal(wsproto_close_class(5000), 4);
	assert_int_equal(wsproto_close_class(65535), 4);
}

/* ---- wsproto_accept ---- */

/* The RFC 6455 example key gives the RFC's accept value. */
static void
test_accept_rfc_example(void **state)
{
	char accept[WS_ACCEPT_LEN];

	(void)state;
	assert_int_equal(t_accept(RFC_KEY, accept), 0);
	assert_string_equal(accept, RFC_ACCEPT);
}

/* Other keys give SHA-1 of key and GUID, in base64, NUL-terminated. */
static void
test_accept_other_keys(void **state)
{
	char accept[WS_ACCEPT_LEN];

	(void)state;
	assert_int_equal(t_accept("x3JJHMbDL1EzLkh9GBhXDw==", accept), 0);
	assert_string_equal(accept, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
	assert_int_equal(t_accept("AAAAAAAAAAAAAAAAAAAAAA==", accept), 0);
	assert_string_equal(accept, "ICX+Yqv66kxgM0FcWaLWlFLwTAI=");
	assert_int_equal(t_accept("/////////////////////w==", accept), 0);
	assert_string_equal(accept, "XXpj4jYzLM2yUE0C7TIgMwTQh2g=");
	assert_int_equal(strlen(accept), WS_ACCEPT_LEN - 1);
}

/* Only the key's first len bytes are used. */
static void
test_accept_uses_only_len_bytes(void **state)
{
	char accept[WS_ACCEPT_LEN];

	(void)state;
	assert_int_equal(
	    wsproto_accept(RFC_KEY "trailing", strlen(RFC_KEY), accept), 0);
	assert_string_equal(accept, RFC_ACCEPT);
}

/* Every base64 digit is accepted in the key's first 21 places. */
static void
test_accept_takes_every_base64_digit(void **state)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char key[] = RFC_KEY, accept[WS_ACCEPT_LEN];
	size_t pos, d;

	(void)state;
	for (pos = 0; pos < 21; pos++) {
		for (d = 0; d < sizeof(digits) - 1; d++) {
			memcpy(key, RFC_KEY, sizeof(key));
			key[pos] = digits[d];
			if (t_accept(key, accept) != 0)
				fail_msg("key %s rejected", key);
		}
	}
}

/* A key of any length but 24 is rejected. */
static void
test_accept_rejects_wrong_length(void **state)
{
	char accept[WS_ACCEPT_LEN];

	(void)state;
	assert_int_equal(t_accept("", accept), -1);
	assert_int_equal(t_accept("dGhlIHNhbXBsZSBub25jZQ=", accept), -1);
	assert_int_equal(t_accept("dGhlIHNhbXBsZSBub25jZQ", accept), -1);
	assert_int_equal(t_accept("dGhlIHNhbXBsZSBub25jZQ===", accept), -1);
	assert_int_equal(t_accept("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", accept), -1);
	assert_int_equal(t_accept("AAAAAAAAAAAAAAAAAAAAAA", accept), -1);
	assert_int_equal(
	    wsproto_accept(RFC_KEY, strlen(RFC_KEY) - 1, accept), -1);
}

/* A key with a character outside base64 is rejected, wherever it is. */
static void
test_accept_rejects_bad_characters(void **state)
{
	static const char bad[] = "-_.!*~ \t=%:,\"\x7f\x80\xff";
	char key[] = RFC_KEY, accept[WS_ACCEPT_LEN];
	size_t pos, b;

	(void)state;
	for (pos = 0; pos < 22; pos++) {
		for (b = 0; b < sizeof(bad) - 1; b++) {
			memcpy(key, RFC_KEY, sizeof(key));
			key[pos] = bad[b];
			if (t_accept(key, accept) != -1)
				fail_msg("key with %#x at %zu accepted",
				    (unsigned char)bad[b], pos);
		}
	}
	/* A NUL inside the key, given its full length. */
	memcpy(key, RFC_KEY, sizeof(key));
	key[5] = '\0';
	assert_int_equal(wsproto_accept(key, strlen(RFC_KEY), accept), -1);
}

/* A 24-character key that decodes to other than 16 bytes is rejected. */
static void
test_accept_rejects_keys_not_16_bytes(void **state)
{
	static const char *keys[] = {
	    "AAAAAAAAAAAAAAAAAAAAAAA=", /* 17 bytes */
	    "AAAAAAAAAAAAAAAAAAAAAAAA", /* 18 bytes: no padding */
	    "dGhlIHNhbXBsZSBub25jZQAA",
	    "AAAAAAAAAAAAAAAAAAAA====", /* 15 bytes, or nonsense */
	    "AAAAAAAAAAAAAAAAAAA=A===", /* padding in the middle */
	    "AAAA=AAAAAAAAAAAAAAAAA==",
	    "========================",
	    "dGhlIHNhbXBsZSBub25jZQ=A", /* padding cut short */
	    "dGhlIHNhbXBsZSBub25jZQA=",
	};
	char accept[WS_ACCEPT_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(strlen(keys[i]), 24);
		if (t_accept(keys[i], accept) != -1)
			fail_msg("key %s accepted", keys[i]);
	}
}

/* Whitespace in a 24-character key is not base64 and is rejected. */
static void
test_accept_rejects_whitespace(void **state)
{
	static const char *keys[] = {
	    " GhlIHNhbXBsZSBub25jZQ==", /* OpenSSL skips leading blanks */
	    "\tGhlIHNhbXBsZSBub25jZQ==",
	    "dGhlIHNhbXBsZSB b25jZQ==",
	    "dGhlIHNhbXBsZSBub25jZ ==",
	    "dGhlIHNhbXBsZSBub25jZ\n==",
	};
	char accept[WS_ACCEPT_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(strlen(keys[i]), 24);
		if (t_accept(keys[i], accept) != -1)
			fail_msg("key \"%s\" accepted", keys[i]);
	}
}

/* ---- wsproto_handshake ---- */

/* A good upgrade request switches, with the accept value for its key. */
static void
test_handshake_good_request(void **state)
{
	char accept[WS_ACCEPT_LEN];

	(void)state;
	assert_int_equal(
	    t_handshake(REQ_LINE GOOD_FIELDS "\r\n", NULL, accept), 0);
	assert_string_equal(accept, RFC_ACCEPT);
	assert_int_equal(
	    t_handshake(REQ_LINE GOOD_FIELDS "\r\n", ORIGINS, accept), 0);
	assert_string_equal(accept, RFC_ACCEPT);
}

/* The accept value follows the request's key. */
static void
test_handshake_accept_follows_key(void **state)
{
	char accept[WS_ACCEPT_LEN];

	(void)state;
	assert_int_equal(
	    t_handshake(REQ_LINE HOST UPGRADE CONNECTION
		"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" VERSION
		"\r\n",
		NULL, accept),
	    0);
	assert_string_equal(accept, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

/* Field names, Upgrade and Connection are matched in any case. */
static void
test_handshake_is_case_insensitive(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE HOST "Upgrade: WebSocket\r\n"
				   "Connection: upgrade\r\n" KEY VERSION "\r\n",
		NULL),
	    0);
	assert_int_equal(
	    t_status(REQ_LINE HOST "UPGRADE: WEBSOCKET\r\n"
				   "CONNECTION: UPGRADE\r\n" KEY VERSION "\r\n",
		NULL),
	    0);
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE CONNECTION
			     "sec-websocket-key: " RFC_KEY "\r\n"
			     "SEC-WEBSOCKET-VERSION: 13\r\n\r\n",
			     NULL),
	    0);
}

/* Upgrade and Connection are token lists; any token may be the one. */
static void
test_handshake_reads_token_lists(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE HOST UPGRADE
		"Connection: keep-alive, Upgrade\r\n" KEY VERSION "\r\n",
		NULL),
	    0);
	assert_int_equal(
	    t_status(REQ_LINE HOST UPGRADE
		"Connection: Upgrade,keep-alive\r\n" KEY VERSION "\r\n",
		NULL),
	    0);
	assert_int_equal(
	    t_status(REQ_LINE HOST
		"Upgrade: h2c, websocket\r\n" CONNECTION KEY VERSION "\r\n",
		NULL),
	    0);
}

/* A Connection or Upgrade field repeated on two lines is one list. */
static void
test_handshake_reads_repeated_fields(void **state)
{
	(void)state;
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE
			     "Connection: keep-alive\r\n"
			     "Connection: Upgrade\r\n" KEY VERSION "\r\n",
			     NULL),
	    0);
	assert_int_equal(
	    t_status(REQ_LINE HOST
		"Upgrade: h2c\r\n"
		"Upgrade: websocket\r\n" CONNECTION KEY VERSION "\r\n",
		NULL),
	    0);
}

/* Without Upgrade: websocket, the request is not a handshake (400). */
static void
test_handshake_without_upgrade_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE HOST CONNECTION KEY VERSION "\r\n", NULL), 400);
	assert_int_equal(t_status(REQ_LINE HOST
			     "Upgrade: h2c\r\n" CONNECTION KEY VERSION "\r\n",
			     NULL),
	    400);
	assert_int_equal(
	    t_status(REQ_LINE HOST
		"Upgrade: websockets\r\n" CONNECTION KEY VERSION "\r\n",
		NULL),
	    400);
	/* A field whose name is a prefix of Upgrade is another field. */
	assert_int_equal(
	    t_status(REQ_LINE HOST
		"Upgrad: websocket\r\n" CONNECTION KEY VERSION "\r\n",
		NULL),
	    400);
	assert_int_equal(
	    t_status(REQ_LINE HOST "Upgrade:\r\n" CONNECTION KEY VERSION "\r\n",
		NULL),
	    400);
}

/* Without Connection: upgrade, the request is not a handshake (400). */
static void
test_handshake_without_connection_upgrade_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE HOST UPGRADE KEY VERSION "\r\n", NULL), 400);
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE
			     "Connection: keep-alive\r\n" KEY VERSION "\r\n",
			     NULL),
	    400);
	/* "upgrade" inside a longer token does not count. */
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE
			     "Connection: upgraded\r\n" KEY VERSION "\r\n",
			     NULL),
	    400);
	/* Upgrade named in another field does not count. */
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE
			     "Connect: Upgrade\r\n" KEY VERSION "\r\n",
			     NULL),
	    400);
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE
			     "X-Connection: Upgrade\r\n" KEY VERSION "\r\n",
			     NULL),
	    400);
}

/* A method other than GET is not a handshake (400). */
static void
test_handshake_method_not_get_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status("POST /ws HTTP/1.1\r\n" GOOD_FIELDS "\r\n", NULL), 400);
	assert_int_equal(
	    t_status("HEAD /ws HTTP/1.1\r\n" GOOD_FIELDS "\r\n", NULL), 400);
	assert_int_equal(
	    t_status("PUT /ws HTTP/1.1\r\n" GOOD_FIELDS "\r\n", NULL), 400);
	assert_int_equal(
	    t_status("OPTIONS /ws HTTP/1.1\r\n" GOOD_FIELDS "\r\n", NULL), 400);
}

/* An HTTP/1.0 request is not a handshake (400). */
static void
test_handshake_http10_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status("GET /ws HTTP/1.0\r\n" GOOD_FIELDS "\r\n", NULL), 400);
}

/* A request with a body is not a handshake (400). */
static void
test_handshake_with_body_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Content-Length: 5\r\n\r\n", NULL),
	    400);
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Transfer-Encoding: chunked\r\n\r\n",
		NULL),
	    400);
}

/* Content-Length: 0 declares no body and does not stop the handshake. */
static void
test_handshake_with_zero_content_length_passes(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Content-Length: 0\r\n\r\n", NULL),
	    0);
}

/* Without Sec-WebSocket-Key, the request is not a handshake (400). */
static void
test_handshake_without_key_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE HOST UPGRADE CONNECTION VERSION "\r\n", NULL),
	    400);
}

/* A malformed Sec-WebSocket-Key is refused (400). */
static void
test_handshake_malformed_key_is_400(void **state)
{
	(void)state;
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE CONNECTION
			     "Sec-WebSocket-Key:\r\n" VERSION "\r\n",
			     NULL),
	    400);
	assert_int_equal(
	    t_status(REQ_LINE HOST UPGRADE CONNECTION
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" VERSION "\r\n",
		NULL),
	    400);
	assert_int_equal(
	    t_status(REQ_LINE HOST UPGRADE CONNECTION
		"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n" VERSION
		"\r\n",
		NULL),
	    400);
	assert_int_equal(
	    t_status(REQ_LINE HOST UPGRADE CONNECTION
		"Sec-WebSocket-Key: dGhlIHNhbX-sZSBub25jZQ==\r\n" VERSION
		"\r\n",
		NULL),
	    400);
}

/* Whitespace around the key's value is not part of the key. */
static void
test_handshake_trims_key(void **state)
{
	char accept[WS_ACCEPT_LEN];

	(void)state;
	assert_int_equal(
	    t_handshake(REQ_LINE HOST UPGRADE CONNECTION
		"Sec-WebSocket-Key: \t " RFC_KEY " \t\r\n" VERSION "\r\n",
		NULL, accept),
	    0);
	assert_string_equal(accept, RFC_ACCEPT);
}

/* Another protocol version asks the client to retry with 13 (426). */
static void
test_handshake_other_version_is_426(void **state)
{
	(void)state;
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE CONNECTION KEY
			     "Sec-WebSocket-Version: 8\r\n\r\n",
			     NULL),
	    426);
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE CONNECTION KEY
			     "Sec-WebSocket-Version: 14\r\n\r\n",
			     NULL),
	    426);
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE CONNECTION KEY
			     "Sec-WebSocket-Version: 130\r\n\r\n",
			     NULL),
	    426);
	assert_int_equal(t_status(REQ_LINE HOST UPGRADE CONNECTION KEY
			     "Sec-WebSocket-Version: 1\r\n\r\n",
			     NULL),
	    426);
}

/* Without Sec-WebSocket-Version, the request is not a handshake (400). */
static void
test_handshake_without_version_is_400(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE HOST UPGRADE CONNECTION KEY "\r\n", NULL), 400);
}

/* An Origin in the allowed list passes, compared without case. */
static void
test_handshake_allowed_origin_passes(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: http://a.example\r\n\r\n",
		ORIGINS),
	    0);
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: HTTP://A.EXAMPLE\r\n\r\n",
		ORIGINS),
	    0);
	assert_int_equal(t_status(REQ_LINE GOOD_FIELDS
			     "Origin: https://b.example:8443\r\n\r\n",
			     ORIGINS),
	    0);
}

/* An Origin not in the allowed list is forbidden (403). */
static void
test_handshake_other_origin_is_403(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: http://c.example\r\n\r\n",
		ORIGINS),
	    403);
	/* Prefixes and extensions of an allowed origin are others. */
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: http://a.exampl\r\n\r\n",
		ORIGINS),
	    403);
	assert_int_equal(t_status(REQ_LINE GOOD_FIELDS
			     "Origin: http://a.example.evil\r\n\r\n",
			     ORIGINS),
	    403);
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: https://b.example\r\n\r\n",
		ORIGINS),
	    403);
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: https://a.example\r\n\r\n",
		ORIGINS),
	    403);
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: null\r\n\r\n", ORIGINS),
	    403);
	/* Two allowed origins together are not one allowed origin. */
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: http://a.example "
					  "https://b.example:8443\r\n\r\n",
		ORIGINS),
	    403);
}

/* The allowed list may be separated by several spaces and tabs. */
static void
test_handshake_origin_list_whitespace(void **state)
{
	static const char *list =
	    "  http://a.example \t https://b.example:8443 ";

	(void)state;
	assert_int_equal(t_status(REQ_LINE GOOD_FIELDS
			     "Origin: https://b.example:8443\r\n\r\n",
			     list),
	    0);
	assert_int_equal(
	    t_status(
		REQ_LINE GOOD_FIELDS "Origin: http://a.example\r\n\r\n", list),
	    0);
	assert_int_equal(
	    t_status(
		REQ_LINE GOOD_FIELDS "Origin: http://c.example\r\n\r\n", list),
	    403);
}

/* A request without Origin (not a browser) passes the origin check. */
static void
test_handshake_without_origin_passes(void **state)
{
	(void)state;
	assert_int_equal(t_status(REQ_LINE GOOD_FIELDS "\r\n", ORIGINS), 0);
}

/* With no allowed list, any Origin passes. */
static void
test_handshake_any_origin_without_list(void **state)
{
	(void)state;
	assert_int_equal(
	    t_status(
		REQ_LINE GOOD_FIELDS "Origin: http://c.example\r\n\r\n", NULL),
	    0);
	assert_int_equal(
	    t_status(REQ_LINE GOOD_FIELDS "Origin: null\r\n\r\n", NULL), 0);
}

/* Run every wsproto.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_7bit_length),
	    cmocka_unit_test(test_parse_16bit_length),
	    cmocka_unit_test(test_parse_64bit_length),
	    cmocka_unit_test(test_parse_known_bytes),
	    cmocka_unit_test(test_parse_first_byte_fields),
	    cmocka_unit_test(test_parse_extracts_mask_key),
	    cmocka_unit_test(test_parse_unmasked_zeroes_mask_key),
	    cmocka_unit_test(test_parse_incomplete_header_returns_zero),
	    cmocka_unit_test(test_parse_rejects_nonminimal_16bit_length),
	    cmocka_unit_test(test_parse_rejects_nonminimal_64bit_length),
	    cmocka_unit_test(test_parse_rejects_64bit_length_with_top_bit),
	    cmocka_unit_test(test_check_accepts_valid_frames),
	    cmocka_unit_test(test_check_unmasked_frame_is_protocol_error),
	    cmocka_unit_test(test_check_rsv_bit_is_protocol_error),
	    cmocka_unit_test(test_check_reserved_opcode_is_protocol_error),
	    cmocka_unit_test(test_check_long_control_frame_is_protocol_error),
	    cmocka_unit_test(
		test_check_fragmented_control_frame_is_protocol_error),
	    cmocka_unit_test(
		test_check_continuation_without_message_is_protocol_error),
	    cmocka_unit_test(
		test_check_new_message_inside_message_is_protocol_error),
	    cmocka_unit_test(test_check_ping_between_fragments_passes),
	    cmocka_unit_test(test_build_header_round_trips),
	    cmocka_unit_test(test_build_header_uses_minimal_length_form),
	    cmocka_unit_test(test_build_header_known_bytes),
	    cmocka_unit_test(test_unmask_in_place_matches_reference),
	    cmocka_unit_test(test_unmask_out_of_place_matches_reference),
	    cmocka_unit_test(test_unmask_in_pieces_matches_whole),
	    cmocka_unit_test(test_unmask_rfc_example),
	    cmocka_unit_test(test_close_codes_valid),
	    cmocka_unit_test(test_close_codes_invalid),
	    cmocka_unit_test(test_close_code_validity_every_code),
	    cmocka_unit_test(test_close_class),
	    cmocka_unit_test(test_accept_rfc_example),
	    cmocka_unit_test(test_accept_other_keys),
	    cmocka_unit_test(test_accept_uses_only_len_bytes),
	    cmocka_unit_test(test_accept_takes_every_base64_digit),
	    cmocka_unit_test(test_accept_rejects_wrong_length),
	    cmocka_unit_test(test_accept_rejects_bad_characters),
	    cmocka_unit_test(test_accept_rejects_keys_not_16_bytes),
	    cmocka_unit_test(test_accept_rejects_whitespace),
	    cmocka_unit_test(test_handshake_good_request),
	    cmocka_unit_test(test_handshake_accept_follows_key),
	    cmocka_unit_test(test_handshake_is_case_insensitive),
	    cmocka_unit_test(test_handshake_reads_token_lists),
	    cmocka_unit_test(test_handshake_reads_repeated_fields),
	    cmocka_unit_test(test_handshake_without_upgrade_is_400),
	    cmocka_unit_test(test_handshake_without_connection_upgrade_is_400),
	    cmocka_unit_test(test_handshake_method_not_get_is_400),
	    cmocka_unit_test(test_handshake_http10_is_400),
	    cmocka_unit_test(test_handshake_with_body_is_400),
	    cmocka_unit_test(test_handshake_with_zero_content_length_passes),
	    cmocka_unit_test(test_handshake_without_key_is_400),
	    cmocka_unit_test(test_handshake_malformed_key_is_400),
	    cmocka_unit_test(test_handshake_trims_key),
	    cmocka_unit_test(test_handshake_other_version_is_426),
	    cmocka_unit_test(test_handshake_without_version_is_400),
	    cmocka_unit_test(test_handshake_allowed_origin_passes),
	    cmocka_unit_test(test_handshake_other_origin_is_403),
	    cmocka_unit_test(test_handshake_origin_list_whitespace),
	    cmocka_unit_test(test_handshake_without_origin_passes),
	    cmocka_unit_test(test_handshake_any_origin_without_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
