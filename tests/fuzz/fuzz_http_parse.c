/*
 * fuzz_http_parse: the HTTP/1.1 request parser of http_parse.c, fed bytes
 * as a client would send them on one connection.
 *
 * It asserts, for any input:
 *
 * - Scanning: http_scan_header() over the whole buffer returns 0 or a
 *   block length in 1..size ending in LF, with hs_line_end in 1..that
 *   length, just past the request line (after any empty lines). It gives
 *   up (hs_bad) exactly where a reference says no request can start so,
 *   and http_parse_request() then answers 400 to the input. Fed
 *   incrementally as conn.c does (the same scanner state, a longer buffer
 *   each call), one byte more at a time, and in two pieces split at every
 *   offset of the block (64 sampled offsets beyond 1024 bytes) with the
 *   first piece in an exact-size copy at another address (as a moved
 *   evbuffer gives it, and so that a read past the length given is
 *   caught), it finds the same block end, the same hs_line_end (which
 *   http.c uses to choose 414 or 431) and gives up at the same byte.
 * - Parsing: http_parse_request() on the block, in an exact-size copy,
 *   returns 0, 400, 431, 501 or 505. On 0, every pointer of struct
 *   http_request points inside the block and every length stays within
 *   it; the request line has no CR or LF; field names are tokens; values
 *   have no CR, LF or NUL and no surrounding whitespace; the version is
 *   1.x; an HTTP/1.1 request has a host; the body kind agrees with
 *   hr_content_length. The same text parsed at another address gives the
 *   same result at the same offsets. http_header_find() and
 *   http_token_list_has() agree with simple references, and
 *   wsproto_handshake() returns 0 (with a 28-character base64 accept
 *   value), 400, 403 or 426.
 * - Framing, what request smuggling would exploit: the fields agree with
 *   the verdict. At most one Host; a length body only with Content-Length,
 *   every element of which states that length; a chunked body only with
 *   Transfer-Encoding and without Content-Length, in HTTP/1.1; no
 *   Transfer-Encoding otherwise; keep-alive as Connection and the version
 *   say.
 * - Pipelining: the requests in the buffer, each parsed from where the
 *   previous one (and its Content-Length or chunked body) ended, obey all
 *   of the above, until one is rejected or the input runs out.
 * - Chunked bodies: http_chunked_consume() over the body after a chunked
 *   request, and over the whole input as a body, returns -1 or a count
 *   within the buffer (all of it unless the body ended), never reads past
 *   the buffer, and gives the same count, end and error fed whole, one
 *   byte at a time and in pieces of random sizes. An error is sticky; an
 *   ended body consumes nothing more.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define FUZZ_MAX_REQUESTS 64   /* pipelined requests followed per input */
#define FUZZ_ALL_SPLITS	  1024 /* every split offset up to this block size */
#define FUZZ_SOME_SPLITS  64   /* sampled split offsets beyond it */

/* Scan buf[0..len) from a fresh scanner in one call. */
static size_t
scan_whole(const char *buf, size_t len, struct http_scan *hs)
{
	http_scan_init(hs);
	return http_scan_header(hs, buf, len);
}

/*
 * Scan the first k bytes, in an exact-size copy at another address (as a
 * growing, possibly moved evbuffer would give them), then all len bytes
 * of buf, which ends where the fuzzer's buffer ends.
 */
static size_t
scan_split(const char *buf, size_t len, size_t k, struct http_scan *hs)
{
	char *c;
	size_t n;

	http_scan_init(hs);
	c = fuzz_copy(buf, k);
	n = http_scan_header(hs, c, k);
	free(c);
	FUZZ_ASSERT(n <= k);
	if (n != 0)
		return n; /* found in the first piece: must not change */
	return http_scan_header(hs, buf, len);
}

/* Tell whether c is a tchar (RFC 9110 5.6.2). */
static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * The reference for hs_line_end: past the first LF of the request line,
 * which starts after any empty lines ("\n" or "\r\n"); 0 if none yet.
 */
static size_t
ref_line_end(const char *buf, size_t len)
{
	const char *lf;
	size_t i = 0;

	for (;;) {
		if (i < len && buf[i] == '\n')
			i++;
		else if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
			i += 2;
		else
			break;
	}
	if (i == len || (i + 1 == len && buf[i] == '\r'))
		return 0; /* the request line has not begun */
	lf = memchr(buf + i, '\n', len - i);
	return lf == NULL ? 0 : (size_t)(lf - buf) + 1;
}

/*
 * The reference for hs_bad: the offset of the first byte that shows no
 * request starts so, after any empty lines (a CR not followed by LF, a
 * byte of the method other than a tchar before its SP), or -1 if none.
 */
static long
ref_bad_at(const char *buf, size_t len)
{
	size_t i = 0, start;

	for (;;) {
		if (i < len && buf[i] == '\n')
			i++;
		else if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
			i += 2;
		else
			break;
	}
	if (i < len && buf[i] == '\r')
		return i + 1 < len ? (long)i + 1 : -1;
	for (start = i; i < len && is_tchar((unsigned char)buf[i]); i++)
		;
	if (i == len || (buf[i] == ' ' && i > start))
		return -1;
	return (long)i;
}

/* Assert that a scan hs gave up as the whole scan did, where it did. */
static void
check_same_bad(const struct http_scan *hs, const struct http_scan *whole)
{
	FUZZ_ASSERT(hs->hs_bad == whole->hs_bad);
	if (whole->hs_bad)
		FUZZ_ASSERT(hs->hs_off == whole->hs_off);
}

/* The scanner gave up on buf[0..len): the parser refuses it too. */
static void
check_bad(const char *buf, size_t len)
{
	struct http_request req;
	char *c;

	c = fuzz_copy(buf, len);
	FUZZ_ASSERT(http_parse_request(c, len, &req) == 400);
	free(c);
}

/* Check the incremental scans of buf[0..len) against the whole scan. */
static size_t
check_scan(const char *buf, size_t len, uint64_t *rng)
{
	struct http_scan whole, hs;
	size_t n, m, k, limit, i;
	long bad;

	n = scan_whole(buf, len, &whole);
	FUZZ_ASSERT(n <= len);
	bad = ref_bad_at(buf, len);
	FUZZ_ASSERT(whole.hs_bad == (bad >= 0));
	if (whole.hs_bad) {
		FUZZ_ASSERT(n == 0 && whole.hs_off == (size_t)bad);
		FUZZ_ASSERT(whole.hs_line_end == 0);
		check_bad(buf, len);
	} else if (n > 0) {
		/* The block ends with LF, after the request line. */
		FUZZ_ASSERT(buf[n - 1] == '\n');
		FUZZ_ASSERT(whole.hs_line_end > 0 && whole.hs_line_end <= n);
		FUZZ_ASSERT(buf[whole.hs_line_end - 1] == '\n');
		/* Once done, the scanner answers the same again. */
		FUZZ_ASSERT(http_scan_header(&whole, buf, len) == n);
	} else
		FUZZ_ASSERT(whole.hs_line_end <= len);
	if (!whole.hs_bad)
		FUZZ_ASSERT(
		    whole.hs_line_end == ref_line_end(buf, n > 0 ? n : len));

	/* One byte more each call, on the same buffer. */
	http_scan_init(&hs);
	m = 0;
	for (i = 0; i <= len && m == 0; i++)
		m = http_scan_header(&hs, buf, i);
	FUZZ_ASSERT(m == n);
	FUZZ_ASSERT(hs.hs_line_end == whole.hs_line_end);
	check_same_bad(&hs, &whole);

	/* Two pieces, split at every offset within the block. */
	limit = n > 0 ? n : len;
	if (limit <= FUZZ_ALL_SPLITS) {
		for (k = 0; k <= limit && k <= len; k++) {
			m = scan_split(buf, len, k, &hs);
			FUZZ_ASSERT(m == n);
			FUZZ_ASSERT(hs.hs_line_end == whole.hs_line_end);
			check_same_bad(&hs, &whole);
		}
	} else {
		for (i = 0; i < FUZZ_SOME_SPLITS; i++) {
			k = (size_t)(fuzz_next(rng) % (limit + 1));
			m = scan_split(buf, len, k, &hs);
			FUZZ_ASSERT(m == n);
			FUZZ_ASSERT(hs.hs_line_end == whole.hs_line_end);
			check_same_bad(&hs, &whole);
		}
	}
	return n;
}

/* A reference for http_token_list_has(): split at ',', trim OWS. */
static int
ref_token_list_has(const char *list, size_t len, const char *token)
{
	size_t start = 0, end, b, e;

	while (start <= len) {
		for (end = start; end < len && list[end] != ','; end++)
			;
		b = start;
		e = end;
		while (b < e && (list[b] == ' ' || list[b] == '\t'))
			b++;
		while (e > b && (list[e - 1] == ' ' || list[e - 1] == '\t'))
			e--;
		if (e - b == strlen(token) &&
		    strncasecmp(list + b, token, e - b) == 0)
			return 1;
		start = end + 1;
	}
	return 0;
}

/* Offset of p from base, for comparing two parses; -1 for NULL. */
static long
offset_of(const char *p, const char *base)
{
	return p == NULL ? -1 : (long)(p - base);
}

/* Assert that two parses of the same text at a and b agree. */
static void
check_same(const struct http_request *ra, const char *a,
    const struct http_request *rb, const char *b)
{
	int i;

	FUZZ_ASSERT(ra->hr_method == rb->hr_method);
	FUZZ_ASSERT(
	    offset_of(ra->hr_method_str, a) == offset_of(rb->hr_method_str, b));
	FUZZ_ASSERT(ra->hr_method_len == rb->hr_method_len);
	FUZZ_ASSERT(offset_of(ra->hr_target, a) == offset_of(rb->hr_target, b));
	FUZZ_ASSERT(ra->hr_target_len == rb->hr_target_len);
	FUZZ_ASSERT(offset_of(ra->hr_path, a) == offset_of(rb->hr_path, b));
	FUZZ_ASSERT(ra->hr_path_len == rb->hr_path_len);
	FUZZ_ASSERT(offset_of(ra->hr_query, a) == offset_of(rb->hr_query, b));
	FUZZ_ASSERT(ra->hr_query_len == rb->hr_query_len);
	FUZZ_ASSERT(offset_of(ra->hr_line, a) == offset_of(rb->hr_line, b));
	FUZZ_ASSERT(ra->hr_line_len == rb->hr_line_len);
	FUZZ_ASSERT(ra->hr_version_major == rb->hr_version_major);
	FUZZ_ASSERT(ra->hr_version_minor == rb->hr_version_minor);
	FUZZ_ASSERT(offset_of(ra->hr_host, a) == offset_of(rb->hr_host, b));
	FUZZ_ASSERT(ra->hr_host_len == rb->hr_host_len);
	FUZZ_ASSERT(ra->hr_nheaders == rb->hr_nheaders);
	for (i = 0; i < ra->hr_nheaders; i++) {
		FUZZ_ASSERT(offset_of(ra->hr_headers[i].hh_name, a) ==
		    offset_of(rb->hr_headers[i].hh_name, b));
		FUZZ_ASSERT(ra->hr_headers[i].hh_name_len ==
		    rb->hr_headers[i].hh_name_len);
		FUZZ_ASSERT(offset_of(ra->hr_headers[i].hh_value, a) ==
		    offset_of(rb->hr_headers[i].hh_value, b));
		FUZZ_ASSERT(ra->hr_headers[i].hh_value_len ==
		    rb->hr_headers[i].hh_value_len);
	}
	FUZZ_ASSERT(ra->hr_keepalive == rb->hr_keepalive);
	FUZZ_ASSERT(ra->hr_expect_continue == rb->hr_expect_continue);
	FUZZ_ASSERT(ra->hr_body == rb->hr_body);
	FUZZ_ASSERT(ra->hr_content_length == rb->hr_content_length);
}

/* Assert what a successful parse of blk[0..n) promises. */
static void
check_request(const struct http_request *req, const char *blk, size_t n)
{
	static const char *const tokens[] = {
	    "close", "keep-alive", "upgrade", "chunked", "websocket"};
	const struct http_header *hh, *found;
	size_t i, t;
	int j;

	/* The request line: method SP target SP HTTP/1.x, no CR or LF. */
	FUZZ_ASSERT(fuzz_inside(req->hr_line, req->hr_line_len, blk, n));
	FUZZ_ASSERT(req->hr_line_len >= 12); /* "M / HTTP/1.1" at least */
	FUZZ_ASSERT(memchr(req->hr_line, '\r', req->hr_line_len) == NULL);
	FUZZ_ASSERT(memchr(req->hr_line, '\n', req->hr_line_len) == NULL);
	FUZZ_ASSERT(req->hr_method_str == req->hr_line);
	FUZZ_ASSERT(req->hr_method_len > 0);
	FUZZ_ASSERT(fuzz_inside(req->hr_method_str, req->hr_method_len,
	    req->hr_line, req->hr_line_len));
	for (i = 0; i < req->hr_method_len; i++)
		FUZZ_ASSERT(is_tchar((unsigned char)req->hr_method_str[i]));
	FUZZ_ASSERT((req->hr_method == HTTP_METHOD_GET) ==
	    (req->hr_method_len == 3 &&
		memcmp(req->hr_method_str, "GET", 3) == 0));
	FUZZ_ASSERT((req->hr_method == HTTP_METHOD_HEAD) ==
	    (req->hr_method_len == 4 &&
		memcmp(req->hr_method_str, "HEAD", 4) == 0));
	FUZZ_ASSERT(req->hr_target_len > 0);
	FUZZ_ASSERT(fuzz_inside(req->hr_target, req->hr_target_len,
	    req->hr_line, req->hr_line_len));
	for (i = 0; i < req->hr_target_len; i++)
		FUZZ_ASSERT((unsigned char)req->hr_target[i] > 0x20 &&
		    (unsigned char)req->hr_target[i] < 0x7f);
	FUZZ_ASSERT(req->hr_version_major == 1);
	FUZZ_ASSERT(req->hr_version_minor >= 0 && req->hr_version_minor <= 9);

	/* The path and the query lie inside the target. */
	FUZZ_ASSERT(req->hr_path != NULL && req->hr_path_len > 0);
	FUZZ_ASSERT(fuzz_inside(req->hr_path, req->hr_path_len, req->hr_target,
	    req->hr_target_len));
	FUZZ_ASSERT(req->hr_path[0] == '/' ||
	    req->hr_method == HTTP_METHOD_OPTIONS ||
	    req->hr_method == HTTP_METHOD_CONNECT);
	if (req->hr_query != NULL)
		FUZZ_ASSERT(fuzz_inside(req->hr_query, req->hr_query_len,
		    req->hr_target, req->hr_target_len));
	else
		FUZZ_ASSERT(req->hr_query_len == 0);
	FUZZ_ASSERT(memchr(req->hr_path, '?', req->hr_path_len) == NULL ||
	    req->hr_method == HTTP_METHOD_CONNECT);

	/* Host: from the target or a field, inside the block either way. */
	if (req->hr_host != NULL)
		FUZZ_ASSERT(
		    fuzz_inside(req->hr_host, req->hr_host_len, blk, n));
	else
		FUZZ_ASSERT(req->hr_host_len == 0);
	if (req->hr_version_minor >= 1)
		FUZZ_ASSERT(req->hr_host != NULL);

	/* Fields: token names, clean values, after the request line. */
	FUZZ_ASSERT(
	    req->hr_nheaders >= 0 && req->hr_nheaders <= HTTP_MAX_HEADERS);
	for (j = 0; j < req->hr_nheaders; j++) {
		hh = &req->hr_headers[j];
		FUZZ_ASSERT(hh->hh_name > req->hr_line);
		FUZZ_ASSERT(fuzz_inside(hh->hh_name, hh->hh_name_len, blk, n));
		FUZZ_ASSERT(
		    fuzz_inside(hh->hh_value, hh->hh_value_len, blk, n));
		FUZZ_ASSERT(hh->hh_value >= hh->hh_name + hh->hh_name_len + 1);
		FUZZ_ASSERT(hh->hh_name_len > 0);
		for (i = 0; i < hh->hh_name_len; i++)
			FUZZ_ASSERT(is_tchar((unsigned char)hh->hh_name[i]));
		for (i = 0; i < hh->hh_value_len; i++)
			FUZZ_ASSERT(hh->hh_value[i] != '\r' &&
			    hh->hh_value[i] != '\n' && hh->hh_value[i] != '\0');
		if (hh->hh_value_len > 0) {
			FUZZ_ASSERT(
			    hh->hh_value[0] != ' ' && hh->hh_value[0] != '\t');
			FUZZ_ASSERT(hh->hh_value[hh->hh_value_len - 1] != ' ' &&
			    hh->hh_value[hh->hh_value_len - 1] != '\t');
		}
		for (t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++)
			FUZZ_ASSERT(http_token_list_has(hh->hh_value,
					hh->hh_value_len, tokens[t]) ==
			    ref_token_list_has(
				hh->hh_value, hh->hh_value_len, tokens[t]));
		/* http_header_find() returns the first of that name. */
		found = http_header_find(req, "Host");
		if (hh->hh_name_len == 4 &&
		    strncasecmp(hh->hh_name, "host", 4) == 0)
			FUZZ_ASSERT(found != NULL && found <= hh);
	}
	found = http_header_find(req, "Content-Length");
	FUZZ_ASSERT(found == NULL ||
	    (found >= req->hr_headers &&
		found < req->hr_headers + req->hr_nheaders));

	/* The body kind and its length agree. */
	switch (req->hr_body) {
	case HTTP_BODY_NONE:
	case HTTP_BODY_CHUNKED:
		FUZZ_ASSERT(req->hr_content_length == 0);
		break;
	case HTTP_BODY_LENGTH:
		FUZZ_ASSERT(req->hr_content_length > 0);
		break;
	default:
		FUZZ_ASSERT(!"bad hr_body");
	}
	FUZZ_ASSERT(req->hr_keepalive == 0 || req->hr_keepalive == 1);
	FUZZ_ASSERT(
	    req->hr_expect_continue == 0 || req->hr_expect_continue == 1);
}

/* Tell whether the field hh is named name (any case). */
static int
named(const struct http_header *hh, const char *name)
{
	return hh->hh_name_len == strlen(name) &&
	    strncasecmp(hh->hh_name, name, hh->hh_name_len) == 0;
}

/*
 * Check the fields that frame the message against the request's verdict,
 * the smuggling-relevant part: one Host (HTTP/1.1), a body length that
 * every Content-Length element states, chunked only as the last and only
 * coding and never with Content-Length, keep-alive from Connection.
 */
static void
check_framing(const struct http_request *req)
{
	const struct http_header *hh;
	unsigned long long v;
	size_t i, start, end;
	unsigned d;
	int j, nhost = 0, ncl = 0, nte = 0, want_close = 0, keep = 0, digits;

	for (j = 0; j < req->hr_nheaders; j++) {
		hh = &req->hr_headers[j];
		if (named(hh, "Host"))
			nhost++;
		if (named(hh, "Transfer-Encoding"))
			nte++;
		if (named(hh, "Connection")) {
			want_close |= ref_token_list_has(
			    hh->hh_value, hh->hh_value_len, "close");
			keep |= ref_token_list_has(
			    hh->hh_value, hh->hh_value_len, "keep-alive");
		}
		if (!named(hh, "Content-Length"))
			continue;
		ncl++;
		/* Every element: digits whose value is the length. */
		for (start = 0; start <= hh->hh_value_len; start = end + 1) {
			for (end = start;
			     end < hh->hh_value_len && hh->hh_value[end] != ',';
			     end++)
				;
			v = 0;
			digits = 0;
			for (i = start; i < end; i++) {
				if (hh->hh_value[i] == ' ' ||
				    hh->hh_value[i] == '\t')
					continue;
				FUZZ_ASSERT(hh->hh_value[i] >= '0' &&
				    hh->hh_value[i] <= '9');
				d = (unsigned)(hh->hh_value[i] - '0');
				FUZZ_ASSERT(v <= (~0ULL - d) / 10);
				v = v * 10 + d;
				digits++;
			}
			FUZZ_ASSERT(digits > 0);
			FUZZ_ASSERT(v == req->hr_content_length);
		}
	}
	FUZZ_ASSERT(nhost <= 1);
	if (req->hr_version_minor >= 1)
		FUZZ_ASSERT(nhost == 1 || req->hr_host != NULL);
	switch (req->hr_body) {
	case HTTP_BODY_CHUNKED:
		FUZZ_ASSERT(nte > 0 && ncl == 0 && req->hr_version_minor >= 1);
		break;
	case HTTP_BODY_LENGTH:
		FUZZ_ASSERT(nte == 0 && ncl > 0);
		break;
	case HTTP_BODY_NONE:
		FUZZ_ASSERT(nte == 0);
		break;
	}
	if (req->hr_version_minor >= 1)
		FUZZ_ASSERT(req->hr_keepalive == !want_close);
	else
		FUZZ_ASSERT(req->hr_keepalive == (keep && !want_close));
}

/* Check the WebSocket handshake checks on a parsed request. */
static void
check_handshake(const struct http_request *req)
{
	char accept[WS_ACCEPT_LEN];
	size_t i;
	int rc;

	memset(accept, 'x', sizeof(accept));
	rc = wsproto_handshake(req, NULL, accept);
	FUZZ_ASSERT(rc == 0 || rc == 400 || rc == 426);
	if (rc == 0) {
		FUZZ_ASSERT(accept[WS_ACCEPT_LEN - 1] == '\0');
		FUZZ_ASSERT(strlen(accept) == WS_ACCEPT_LEN - 1);
		for (i = 0; i < WS_ACCEPT_LEN - 2; i++)
			FUZZ_ASSERT(accept[i] != '=' &&
			    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				   "qrstuvwxyz0123456789+/",
				accept[i]) != NULL);
		FUZZ_ASSERT(accept[WS_ACCEPT_LEN - 2] == '=');
	}
	rc = wsproto_handshake(req, "http://a https://b.example:8080", accept);
	FUZZ_ASSERT(rc == 0 || rc == 400 || rc == 403 || rc == 426);
}

/*
 * Feed buf[0..len) to a fresh chunked decoder in pieces: piece sizes come
 * from rng, or are all 1 when rng is NULL. Each piece is an exact-size
 * copy; like conn.c, the caller keeps only what the decoder did not
 * consume. Return the bytes consumed, or -1; *done as the decoder says.
 */
static ssize_t
chunked_pieces(const char *buf, size_t len, uint64_t *rng, int *done)
{
	struct http_chunked hc;
	size_t pos = 0, piece;
	ssize_t r;
	char *c;

	http_chunked_init(&hc);
	*done = 0;
	while (pos < len && !*done) {
		piece = rng == NULL ? 1 : 1 + (size_t)(fuzz_next(rng) % 97);
		if (piece > len - pos)
			piece = len - pos;
		c = fuzz_copy(buf + pos, piece);
		r = http_chunked_consume(&hc, c, piece, done);
		free(c);
		if (r == -1)
			return -1;
		FUZZ_ASSERT(r >= 0 && (size_t)r <= piece);
		FUZZ_ASSERT(*done || (size_t)r == piece);
		pos += (size_t)r;
	}
	return (ssize_t)pos;
}

/*
 * Check the chunked decoder on buf[0..len) whole, byte by byte and in
 * pieces; return what the whole feed consumed (or -1) and set *done.
 */
static ssize_t
check_chunked(const char *buf, size_t len, uint64_t *rng, int *done)
{
	struct http_chunked hc;
	ssize_t r, r2;
	int done2;
	char *c;

	http_chunked_init(&hc);
	c = fuzz_copy(buf, len);
	r = http_chunked_consume(&hc, c, len, done);
	free(c);
	FUZZ_ASSERT(*done == 0 || *done == 1);
	if (r == -1) {
		FUZZ_ASSERT(*done == 0);
		/* An error is sticky. */
		FUZZ_ASSERT(
		    http_chunked_consume(&hc, "0\r\n\r\n", 5, &done2) == -1);
		FUZZ_ASSERT(done2 == 0);
	} else {
		FUZZ_ASSERT(r >= 0 && (size_t)r <= len);
		if (*done) {
			FUZZ_ASSERT(r >= 3); /* "0\n\n" at least */
			FUZZ_ASSERT(buf[r - 1] == '\n');
			/* An ended body takes nothing more. */
			FUZZ_ASSERT(
			    http_chunked_consume(&hc, "x", 1, &done2) == 0);
			FUZZ_ASSERT(done2 == 1);
		} else
			FUZZ_ASSERT((size_t)r == len);
	}

	r2 = chunked_pieces(buf, len, NULL, &done2);
	FUZZ_ASSERT(r2 == r);
	FUZZ_ASSERT(done2 == *done);
	r2 = chunked_pieces(buf, len, rng, &done2);
	FUZZ_ASSERT(r2 == r);
	FUZZ_ASSERT(done2 == *done);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req, req2;
	size_t pos = 0, n, rest;
	uint64_t rng;
	ssize_t used;
	char *blk;
	int rc, rc2, done, count;

	rng = fuzz_hash(data, size);

	/* The whole input as a chunked body. */
	check_chunked(buf, size, &rng, &done);

	for (count = 0; count < FUZZ_MAX_REQUESTS && pos < size; count++) {
		rest = size - pos;
		n = check_scan(buf + pos, rest, &rng);
		if (n == 0)
			break;

		blk = fuzz_copy(buf + pos, n);
		rc = http_parse_request(blk, n, &req);
		FUZZ_ASSERT(rc == 0 || rc == 400 || rc == 431 || rc == 501 ||
		    rc == 505);
		rc2 = http_parse_request(buf + pos, n, &req2);
		FUZZ_ASSERT(rc2 == rc);
		if (rc != 0) {
			free(blk);
			break; /* conn.c answers and closes */
		}
		check_request(&req, blk, n);
		check_framing(&req);
		check_same(&req, blk, &req2, buf + pos);
		check_handshake(&req);
		free(blk);

		pos += n;
		if (req.hr_expect_continue && req.hr_body != HTTP_BODY_NONE)
			break; /* conn.c closes rather than guess */
		if (req.hr_body == HTTP_BODY_LENGTH) {
			if (req.hr_content_length > size - pos)
				break;
			pos += (size_t)req.hr_content_length;
		} else if (req.hr_body == HTTP_BODY_CHUNKED) {
			used =
			    check_chunked(buf + pos, size - pos, &rng, &done);
			if (used == -1 || !done)
				break;
			pos += (size_t)used;
		}
		if (!req.hr_keepalive)
			break;
	}
	return 0;
}
