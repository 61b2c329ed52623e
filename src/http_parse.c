/*
 * HTTP/1.1 request parsing: finding the end of a request header block,
 * parsing that block into a struct http_request, and skipping a chunked
 * request body. Pure code over the caller's buffers: no allocation, no I/O.
 *
 * Header lines end with LF, optionally preceded by CR (RFC 9112 2.2); a
 * CR anywhere else is an error. The lines of a chunked body must end with
 * CRLF (RFC 9112 7.1): a decoder that ended them at a bare LF would frame
 * the body differently from a proxy that reads on to the CRLF, which is
 * how a request is smuggled ("funky chunks").
 */

#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "pfhttpd.h"

#define HTTP_CHUNK_LINE_MAX    4096	    /* chunk-size line, extensions */
#define HTTP_CHUNK_TRAILER_MAX 8192	    /* trailer field lines */
#define HTTP_CHUNK_SIZE_MAX    (1ULL << 62) /* largest chunk-size */

enum http_scan_state {
	HTTP_SCAN_START = 0, /* before the request line */
	HTTP_SCAN_START_CR,  /* CR before the request line */
	HTTP_SCAN_METHOD,    /* in the method, before its SP */
	HTTP_SCAN_LINE,	     /* inside the request line or a field line */
	HTTP_SCAN_BOL,	     /* at the start of a line after the request line */
	HTTP_SCAN_BOL_CR,    /* CR at the start of such a line */
	HTTP_SCAN_DONE,	     /* block found; hs_off is its length */
	HTTP_SCAN_BAD,	     /* not a request; hs_off is the bad byte */
};

enum http_chunked_state {
	HTTP_CHUNKED_SIZE_START = 0, /* first digit of a chunk-size */
	HTTP_CHUNKED_SIZE,	     /* further digits of a chunk-size */
	HTTP_CHUNKED_EXT,	     /* chunk extensions, skipped */
	HTTP_CHUNKED_SIZE_CR,	     /* CR ending the chunk-size line */
	HTTP_CHUNKED_DATA,	     /* chunk data */
	HTTP_CHUNKED_DATA_END,	     /* line end after chunk data */
	HTTP_CHUNKED_DATA_CR,	     /* CR after chunk data */
	HTTP_CHUNKED_TRAILER_BOL,    /* start of a trailer line */
	HTTP_CHUNKED_TRAILER,	     /* inside a trailer field line */
	HTTP_CHUNKED_TRAILER_CR,     /* CR ending a trailer field line */
	HTTP_CHUNKED_END_CR,	     /* CR of the final empty line */
	HTTP_CHUNKED_DONE,	     /* body complete */
	HTTP_CHUNKED_ERROR,	     /* malformed body; stays so */
};

/* Return 1 if c is SP or HTAB. */
static int
http_is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Return 1 if c is an ASCII decimal digit. */
static int
http_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Return 1 if c is an ASCII letter or digit. */
static int
http_is_alnum(unsigned char c)
{
	return http_is_digit(c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* Return the value of hex digit c (HEXDIG), or -1 if c is not one. */
int
http_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Return 1 if c is a tchar (RFC 9110 5.6.2). */
static int
http_is_tchar(unsigned char c)
{
	return http_is_alnum(c) ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Return 1 if s[0..len) is a non-empty token. */
static int
http_is_token(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!http_is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Return 1 if c may appear in a reg-name or, with ':', an IP-literal. */
static int
http_is_host_byte(unsigned char c, int literal)
{
	if (http_is_alnum(c))
		return 1;
	if (c == '\0')
		return 0;
	if (literal && c == ':')
		return 1;
	return strchr("-._~!$&'()*+,;=%", c) != NULL;
}

/*
 * Return 1 if s[0..len) is uri-host [ ":" port ] (RFC 9112 3.2, RFC 3986
 * 3.2.2): an IP-literal in brackets or a reg-name (an IPv4 address is
 * one), then an optional port of digits. Empty is allowed (a Host field
 * with no authority to name).
 */
static int
http_is_host(const char *s, size_t len)
{
	size_t i = 0;

	if (len > 0 && s[0] == '[') {
		for (i = 1; i < len && s[i] != ']'; i++)
			if (!http_is_host_byte((unsigned char)s[i], 1))
				return 0;
		if (i == len || i == 1)
			return 0; /* no closing bracket, or nothing inside */
		i++;
	} else {
		for (; i < len && s[i] != ':'; i++)
			if (!http_is_host_byte((unsigned char)s[i], 0))
				return 0;
	}
	if (i == len)
		return 1;
	if (s[i] != ':')
		return 0;
	for (i++; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Return 1 if s[0..len) equals the NUL-terminated word, ignoring case. */
static int
http_equal_nocase(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* Narrow s[0..*len) to exclude leading and trailing SP and HTAB. */
static void
http_trim(const char **s, size_t *len)
{
	while (*len > 0 && http_is_ows((unsigned char)(*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && http_is_ows((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/*
 * Return the next element of the comma-separated list[0..len) in *elem,
 * without surrounding OWS (it may be empty), and advance *pos past it;
 * return 0 when the list is exhausted. Start with *pos = 0.
 */
static int
http_list_next(const char *list, size_t len, size_t *pos, const char **elem,
    size_t *elem_len)
{
	size_t start, end;

	if (*pos > len)
		return 0;
	start = *pos;
	end = start;
	while (end < len && list[end] != ',')
		end++;
	*pos = end + 1;
	*elem = list + start;
	*elem_len = end - start;
	http_trim(elem, elem_len);
	return 1;
}

/* Reset a header scanner for a new buffer. */
void
http_scan_init(struct http_scan *hs)
{
	memset(hs, 0, sizeof(*hs));
}

/* Stop the scan at the byte buf[i] that no request can have there. */
static size_t
http_scan_fail(struct http_scan *hs, size_t i)
{
	hs->hs_state = HTTP_SCAN_BAD;
	hs->hs_bad = 1;
	hs->hs_off = i;
	return 0;
}

/*
 * Look for the empty line ending the header block in buf[0..len), going on
 * from where the previous call stopped; return the block's length or 0.
 * hs_line_end becomes the offset just past the request line's LF.
 *
 * hs_bad becomes 1, for good, at the first byte that shows the input is no
 * request, to which http_parse_request() would answer 400 however it went
 * on: after any empty lines ("\n" or "\r\n", RFC 9112 2.2), a byte of the
 * method other than a tchar before its SP (a TLS ClientHello's 0x16, a NUL,
 * a CR or LF), or a CR not followed by LF.
 */
size_t
http_scan_header(struct http_scan *hs, const char *buf, size_t len)
{
	const char *lf;
	size_t i;

	if (hs->hs_state == HTTP_SCAN_DONE)
		return hs->hs_off;
	i = hs->hs_off;
	while (i < len) {
		switch (hs->hs_state) {
		case HTTP_SCAN_START:
			if (buf[i] == '\r')
				hs->hs_state = HTTP_SCAN_START_CR;
			else if (http_is_tchar((unsigned char)buf[i]))
				hs->hs_state = HTTP_SCAN_METHOD;
			else if (buf[i] != '\n')
				return http_scan_fail(hs, i);
			i++;
			break;
		case HTTP_SCAN_START_CR:
			/* CR LF is an empty line; a CR alone is a bare CR. */
			if (buf[i] != '\n')
				return http_scan_fail(hs, i);
			hs->hs_state = HTTP_SCAN_START;
			i++;
			break;
		case HTTP_SCAN_METHOD:
			if (buf[i] == ' ')
				hs->hs_state = HTTP_SCAN_LINE;
			else if (!http_is_tchar((unsigned char)buf[i]))
				return http_scan_fail(hs, i);
			i++;
			break;
		case HTTP_SCAN_LINE:
			lf = memchr(buf + i, '\n', len - i);
			if (lf == NULL) {
				i = len;
				break;
			}
			i = (size_t)(lf - buf) + 1;
			if (hs->hs_line_end == 0)
				hs->hs_line_end = i;
			hs->hs_state = HTTP_SCAN_BOL;
			break;
		case HTTP_SCAN_BOL:
		case HTTP_SCAN_BOL_CR:
			if (buf[i] == '\n') {
				hs->hs_state = HTTP_SCAN_DONE;
				hs->hs_off = i + 1;
				return hs->hs_off;
			}
			if (buf[i] == '\r' && hs->hs_state == HTTP_SCAN_BOL)
				hs->hs_state = HTTP_SCAN_BOL_CR;
			else
				hs->hs_state = HTTP_SCAN_LINE;
			i++;
			break;
		case HTTP_SCAN_BAD:
		default:
			return 0;
		}
	}
	hs->hs_off = i;
	return 0;
}

/*
 * Take the line starting at *pos in buf[0..len) into *line without its
 * terminator and move *pos past it; -1 if it has no LF or has a bare CR.
 */
static int
http_parse_line(const char *buf, size_t len, size_t *pos, const char **line,
    size_t *line_len)
{
	const char *lf;
	size_t start, end;

	start = *pos;
	if (start >= len)
		return -1;
	lf = memchr(buf + start, '\n', len - start);
	if (lf == NULL)
		return -1;
	end = (size_t)(lf - buf);
	*pos = end + 1;
	if (end > start && buf[end - 1] == '\r')
		end--;
	if (memchr(buf + start, '\r', end - start) != NULL)
		return -1;
	*line = buf + start;
	*line_len = end - start;
	return 0;
}

/* Map a method name to its enum; names are case-sensitive. */
static enum http_method
http_parse_method(const char *s, size_t len)
{
	static const struct {
		const char *name;
		enum http_method method;
	} methods[] = {
	    {"GET", HTTP_METHOD_GET},
	    {"HEAD", HTTP_METHOD_HEAD},
	    {"POST", HTTP_METHOD_POST},
	    {"PUT", HTTP_METHOD_PUT},
	    {"DELETE", HTTP_METHOD_DELETE},
	    {"CONNECT", HTTP_METHOD_CONNECT},
	    {"OPTIONS", HTTP_METHOD_OPTIONS},
	    {"TRACE", HTTP_METHOD_TRACE},
	    {"PATCH", HTTP_METHOD_PATCH},
	};
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == len &&
		    memcmp(methods[i].name, s, len) == 0)
			return methods[i].method;
	return HTTP_METHOD_UNKNOWN;
}

/* Split a target at '?' into hr_path and hr_query. */
static void
http_parse_split_query(const char *path, size_t len, struct http_request *req)
{
	const char *q;

	q = memchr(path, '?', len);
	req->hr_path = path;
	if (q == NULL) {
		req->hr_path_len = len;
		return;
	}
	req->hr_path_len = (size_t)(q - path);
	req->hr_query = q + 1;
	req->hr_query_len = len - req->hr_path_len - 1;
}

/*
 * Classify the request target (RFC 9112 3.2) and fill hr_path, hr_query
 * and, for absolute-form, hr_host; return 0 or 400.
 */
static int
http_parse_target(struct http_request *req)
{
	const char *t = req->hr_target, *auth, *rest;
	size_t len = req->hr_target_len, skip, auth_len, rest_len;
	const char *colon;

	if (t[0] == '/') {
		http_parse_split_query(t, len, req);
		return 0;
	}
	if (len == 1 && t[0] == '*') {
		if (req->hr_method != HTTP_METHOD_OPTIONS)
			return 400;
		req->hr_path = t;
		req->hr_path_len = len;
		return 0;
	}
	skip = 0;
	if (len >= 7 && strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else if (len >= 8 && strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	if (skip != 0) {
		auth = t + skip;
		auth_len = 0;
		while (skip + auth_len < len && auth[auth_len] != '/' &&
		    auth[auth_len] != '?')
			auth_len++;
		if (auth_len == 0 || !http_is_host(auth, auth_len))
			return 400;
		req->hr_host = auth;
		req->hr_host_len = auth_len;
		rest = auth + auth_len;
		rest_len = len - skip - auth_len;
		if (rest_len > 0 && rest[0] == '/') {
			http_parse_split_query(rest, rest_len, req);
		} else {
			/* Empty path: "/", and the query if any. The '/'
			 * ending "//" keeps hr_path inside the buffer. */
			req->hr_path = auth - 1;
			req->hr_path_len = 1;
			if (rest_len > 0) {
				req->hr_query = rest + 1;
				req->hr_query_len = rest_len - 1;
			}
		}
		return 0;
	}
	if (req->hr_method == HTTP_METHOD_CONNECT) {
		/* authority-form: uri-host ":" port */
		colon = NULL;
		for (rest = t; rest < t + len; rest++)
			if (*rest == ':')
				colon = rest;
		if (colon == NULL || colon == t || !http_is_host(t, len))
			return 400;
		for (rest = colon + 1; rest < t + len; rest++)
			if (!http_is_digit((unsigned char)*rest))
				return 400;
		req->hr_path = t;
		req->hr_path_len = len;
		return 0;
	}
	return 400;
}

/*
 * Parse "method SP target SP version" into *req; return 0, 400 or 505.
 */
static int
http_parse_request_line(const char *line, size_t len, struct http_request *req)
{
	const char *sp, *v;
	size_t i, v_len;
	unsigned char c;

	req->hr_line = line;
	req->hr_line_len = len;

	sp = memchr(line, ' ', len);
	if (sp == NULL)
		return 400;
	req->hr_method_str = line;
	req->hr_method_len = (size_t)(sp - line);
	if (!http_is_token(line, req->hr_method_len))
		return 400;

	req->hr_target = sp + 1;
	sp = memchr(req->hr_target, ' ', len - req->hr_method_len - 1);
	if (sp == NULL)
		return 400;
	req->hr_target_len = (size_t)(sp - req->hr_target);
	if (req->hr_target_len == 0)
		return 400;
	for (i = 0; i < req->hr_target_len; i++) {
		c = (unsigned char)req->hr_target[i];
		if (c < 0x21 || c > 0x7e || c == '#')
			return 400;
	}

	v = sp + 1;
	v_len = len - (size_t)(v - line);
	if (v_len != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    !http_is_digit((unsigned char)v[5]) || v[6] != '.' ||
	    !http_is_digit((unsigned char)v[7]))
		return 400;
	req->hr_version_major = v[5] - '0';
	req->hr_version_minor = v[7] - '0';
	if (req->hr_version_major != 1)
		return 505;

	req->hr_method =
	    http_parse_method(req->hr_method_str, req->hr_method_len);
	return http_parse_target(req);
}

/* Parse one field line into the next slot of hr_headers; 0, 400 or 431. */
static int
http_parse_field(const char *line, size_t len, struct http_request *req)
{
	struct http_header *hh;
	const char *colon, *value;
	size_t name_len, value_len, i;
	unsigned char c;

	/* obs-fold, or whitespace before the first field. */
	if (http_is_ows((unsigned char)line[0]))
		return 400;
	colon = memchr(line, ':', len);
	if (colon == NULL)
		return 400;
	name_len = (size_t)(colon - line);
	if (name_len == 0 || http_is_ows((unsigned char)line[name_len - 1]) ||
	    !http_is_token(line, name_len))
		return 400;
	value = colon + 1;
	value_len = len - name_len - 1;
	for (i = 0; i < value_len; i++) {
		c = (unsigned char)value[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 400;
	}
	http_trim(&value, &value_len);

	if (req->hr_nheaders >= HTTP_MAX_HEADERS)
		return 431;
	hh = &req->hr_headers[req->hr_nheaders++];
	hh->hh_name = line;
	hh->hh_name_len = name_len;
	hh->hh_value = value;
	hh->hh_value_len = value_len;
	return 0;
}

/*
 * Parse a Content-Length value (one number or a list of them) and check
 * it against any earlier one; return 0 or -1.
 */
static int
http_parse_content_length(
    const char *value, size_t len, int *seen, unsigned long long *length)
{
	const char *e;
	size_t pos = 0, e_len, i;
	unsigned long long n;
	unsigned int d;

	while (http_list_next(value, len, &pos, &e, &e_len)) {
		if (e_len == 0)
			return -1;
		n = 0;
		for (i = 0; i < e_len; i++) {
			if (!http_is_digit((unsigned char)e[i]))
				return -1;
			d = (unsigned int)(e[i] - '0');
			if (n > (ULLONG_MAX - d) / 10)
				return -1;
			n = n * 10 + d;
		}
		if (*seen && n != *length)
			return -1;
		*seen = 1;
		*length = n;
	}
	return 0;
}

/*
 * Count the transfer codings of one Transfer-Encoding value, noting chunked
 * ones and whether the last so far is chunked; return 0 or -1.
 */
static int
http_parse_transfer_encoding(const char *value, size_t len, int *ncodings,
    int *nchunked, int *last_chunked)
{
	const char *e, *semi;
	size_t pos = 0, e_len;

	while (http_list_next(value, len, &pos, &e, &e_len)) {
		if (e_len == 0)
			continue;
		/* Parameters after ';' do not name the coding. */
		semi = memchr(e, ';', e_len);
		if (semi != NULL)
			e_len = (size_t)(semi - e);
		http_trim(&e, &e_len);
		if (!http_is_token(e, e_len))
			return -1;
		(*ncodings)++;
		*last_chunked = http_equal_nocase(e, e_len, "chunked");
		if (*last_chunked)
			(*nchunked)++;
	}
	return 0;
}

/*
 * Apply the fields that shape the request: Host, Content-Length,
 * Transfer-Encoding, Connection and Expect; return 0, 400 or 501.
 */
static int
http_parse_semantics(struct http_request *req)
{
	const char *name, *val;
	size_t nlen, vlen;
	int i, nhost = 0, cl_seen = 0, nte = 0;
	int ncodings = 0, nchunked = 0, last_chunked = 0;
	int conn_close = 0, conn_keepalive = 0, http11;
	unsigned long long length = 0;

	http11 = req->hr_version_minor >= 1;
	for (i = 0; i < req->hr_nheaders; i++) {
		name = req->hr_headers[i].hh_name;
		nlen = req->hr_headers[i].hh_name_len;
		val = req->hr_headers[i].hh_value;
		vlen = req->hr_headers[i].hh_value_len;
		if (http_equal_nocase(name, nlen, "host")) {
			if (++nhost > 1 || !http_is_host(val, vlen))
				return 400;
			/* An absolute-form authority overrides Host. */
			if (req->hr_host == NULL) {
				req->hr_host = val;
				req->hr_host_len = vlen;
			}
		} else if (http_equal_nocase(name, nlen, "content-length")) {
			if (http_parse_content_length(
				val, vlen, &cl_seen, &length) == -1)
				return 400;
		} else if (http_equal_nocase(name, nlen, "transfer-encoding")) {
			nte++;
			if (http_parse_transfer_encoding(val, vlen, &ncodings,
				&nchunked, &last_chunked) == -1)
				return 400;
		} else if (http_equal_nocase(name, nlen, "connection")) {
			conn_close |= http_token_list_has(val, vlen, "close");
			conn_keepalive |=
			    http_token_list_has(val, vlen, "keep-alive");
		} else if (http_equal_nocase(name, nlen, "expect")) {
			/* RFC 9110 10.1.1: ignored in an HTTP/1.0 request. */
			if (http11 &&
			    http_equal_nocase(val, vlen, "100-continue"))
				req->hr_expect_continue = 1;
		}
	}

	if (http11 && nhost == 0)
		return 400;
	if (nte > 0) {
		/* RFC 9112 6.1: Transfer-Encoding with Content-Length, or
		 * in HTTP/1.0, may be a smuggling attempt. */
		if (!http11 || cl_seen)
			return 400;
		if (ncodings == 0 || !last_chunked || nchunked > 1)
			return 400;
		if (ncodings > 1)
			return 501;
		req->hr_body = HTTP_BODY_CHUNKED;
	} else if (cl_seen && length > 0) {
		req->hr_body = HTTP_BODY_LENGTH;
		req->hr_content_length = length;
	}

	if (http11)
		req->hr_keepalive = !conn_close;
	else
		req->hr_keepalive = conn_keepalive && !conn_close;
	return 0;
}

/*
 * Parse the header block buf[0..len) found by http_scan_header() into
 * *req; return 0 or the HTTP status code that rejects it.
 */
int
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	const char *line;
	size_t pos = 0, line_len;
	int rc;

	/* All but hr_headers[], of which hr_nheaders (0) are in use: a
	 * request costs no 2 KiB memset. */
	memset(req, 0, offsetof(struct http_request, hr_headers));

	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (pos < len) {
		if (buf[pos] == '\n')
			pos++;
		else if (buf[pos] == '\r' && pos + 1 < len &&
		    buf[pos + 1] == '\n')
			pos += 2;
		else
			break;
	}

	if (http_parse_line(buf, len, &pos, &line, &line_len) == -1 ||
	    line_len == 0)
		return 400;
	if ((rc = http_parse_request_line(line, line_len, req)) != 0)
		return rc;

	for (;;) {
		if (http_parse_line(buf, len, &pos, &line, &line_len) == -1)
			return 400;
		if (line_len == 0)
			break;
		if ((rc = http_parse_field(line, line_len, req)) != 0)
			return rc;
	}

	return http_parse_semantics(req);
}

/* Return the first field named name (any case), or NULL. */
const struct http_header *
http_header_find(const struct http_request *req, const char *name)
{
	int i;

	for (i = 0; i < req->hr_nheaders; i++)
		if (http_equal_nocase(req->hr_headers[i].hh_name,
			req->hr_headers[i].hh_name_len, name))
			return &req->hr_headers[i];
	return NULL;
}

/* Return 1 if the comma-separated list holds token (any case), else 0. */
int
http_token_list_has(const char *list, size_t len, const char *token)
{
	const char *e;
	size_t pos = 0, e_len;

	while (http_list_next(list, len, &pos, &e, &e_len))
		if (http_equal_nocase(e, e_len, token))
			return 1;
	return 0;
}

/* Reset a chunked-body decoder for a new body. */
void
http_chunked_init(struct http_chunked *hc)
{
	memset(hc, 0, sizeof(*hc));
}

/* Count one byte of the chunk-size line; -1 once it is too long. */
static int
http_chunked_line_byte(struct http_chunked *hc)
{
	if (++hc->hc_line_len > HTTP_CHUNK_LINE_MAX)
		return -1;
	return 0;
}

/* Count one byte of the trailer section; -1 once it is too long. */
static int
http_chunked_trailer_byte(struct http_chunked *hc)
{
	if (++hc->hc_trailer_len > HTTP_CHUNK_TRAILER_MAX)
		return -1;
	return 0;
}

/* The chunk-size line has ended: expect its data, or the trailer. */
static void
http_chunked_size_done(struct http_chunked *hc)
{
	hc->hc_line_len = 0;
	if (hc->hc_remaining == 0)
		hc->hc_state = HTTP_CHUNKED_TRAILER_BOL;
	else
		hc->hc_state = HTTP_CHUNKED_DATA;
}

/* Advance the decoder over one byte c that is not chunk data; 0 or -1. */
static int
http_chunked_byte(struct http_chunked *hc, unsigned char c)
{
	int d;

	switch (hc->hc_state) {
	case HTTP_CHUNKED_SIZE_START:
	case HTTP_CHUNKED_SIZE:
		d = http_hex_value(c);
		if (d >= 0) {
			if (hc->hc_remaining >
			    (HTTP_CHUNK_SIZE_MAX - (unsigned int)d) / 16)
				return -1;
			hc->hc_remaining =
			    hc->hc_remaining * 16 + (unsigned int)d;
			hc->hc_state = HTTP_CHUNKED_SIZE;
			return http_chunked_line_byte(hc);
		}
		if (hc->hc_state == HTTP_CHUNKED_SIZE_START)
			return -1;
		if (c == '\r') {
			hc->hc_state = HTTP_CHUNKED_SIZE_CR;
		} else if (c == ';' || http_is_ows(c)) {
			/* BWS and chunk-ext: skipped up to the line end. */
			hc->hc_state = HTTP_CHUNKED_EXT;
			return http_chunked_line_byte(hc);
		} else {
			return -1;
		}
		return 0;
	case HTTP_CHUNKED_EXT:
		if (c == '\r')
			hc->hc_state = HTTP_CHUNKED_SIZE_CR;
		else if (c == '\n')
			return -1;
		else
			return http_chunked_line_byte(hc);
		return 0;
	case HTTP_CHUNKED_SIZE_CR:
		if (c != '\n')
			return -1;
		http_chunked_size_done(hc);
		return 0;
	case HTTP_CHUNKED_DATA_END:
		if (c != '\r')
			return -1;
		hc->hc_state = HTTP_CHUNKED_DATA_CR;
		return 0;
	case HTTP_CHUNKED_DATA_CR:
		if (c != '\n')
			return -1;
		hc->hc_state = HTTP_CHUNKED_SIZE_START;
		return 0;
	case HTTP_CHUNKED_TRAILER_BOL:
		if (c == '\r') {
			hc->hc_state = HTTP_CHUNKED_END_CR;
			return 0;
		}
		if (c == '\n')
			return -1;
		hc->hc_state = HTTP_CHUNKED_TRAILER;
		return http_chunked_trailer_byte(hc);
	case HTTP_CHUNKED_TRAILER:
		if (c == '\r')
			hc->hc_state = HTTP_CHUNKED_TRAILER_CR;
		else if (c == '\n')
			return -1;
		return http_chunked_trailer_byte(hc);
	case HTTP_CHUNKED_TRAILER_CR:
		if (c != '\n')
			return -1;
		hc->hc_state = HTTP_CHUNKED_TRAILER_BOL;
		return http_chunked_trailer_byte(hc);
	case HTTP_CHUNKED_END_CR:
		if (c != '\n')
			return -1;
		hc->hc_state = HTTP_CHUNKED_DONE;
		return 0;
	default:
		return -1;
	}
}

/*
 * Skip the chunked body bytes in buf[0..len); return how many belong to
 * the body, setting *done once it has ended, or -1 if it is malformed.
 */
ssize_t
http_chunked_consume(
    struct http_chunked *hc, const char *buf, size_t len, int *done)
{
	size_t i = 0, n;

	*done = 0;
	if (hc->hc_state == HTTP_CHUNKED_ERROR)
		return -1;
	while (i < len && hc->hc_state != HTTP_CHUNKED_DONE) {
		if (hc->hc_state == HTTP_CHUNKED_DATA) {
			n = len - i;
			if (n > hc->hc_remaining)
				n = (size_t)hc->hc_remaining;
			i += n;
			hc->hc_remaining -= n;
			if (hc->hc_remaining == 0)
				hc->hc_state = HTTP_CHUNKED_DATA_END;
			continue;
		}
		if (http_chunked_byte(hc, (unsigned char)buf[i]) == -1) {
			hc->hc_state = HTTP_CHUNKED_ERROR;
			return -1;
		}
		i++;
	}
	if (hc->hc_state == HTTP_CHUNKED_DONE)
		*done = 1;
	return (ssize_t)i;
}
