/*
 * The requests of the metrics endpoint ([stats] listen): a pure parser of
 * one HTTP/1.x request head that says what to answer. Only GET and HEAD
 * of /metrics (a query is ignored) are served; another path is 404,
 * another method on /metrics 405. A head that is not HTTP/1.x is 400 (a
 * version other than 1.x: 505), an HTTP/1.1 one needs one Host field, and
 * a head longer than METRICSHTTP_MAX_HEAD is 431. The whole head must be
 * there: the process answers once per connection and closes it.
 */

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "pfhttpd.h"
#include "shm.h"
#include "stats.h"

#define METRICSHTTP_PATH "/metrics"

/* Tell whether c may be in a token (RFC 9110 tchar). */
static int
metricshttp_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Return the length of the token at p (up to end), 0 if there is none. */
static size_t
metricshttp_token(const char *p, const char *end)
{
	const char *s = p;

	while (s < end && metricshttp_tchar((unsigned char)*s))
		s++;
	return (size_t)(s - p);
}

/*
 * Find the end of the head in buf: the blank line after it. Return the
 * head's length, the blank line included, or 0 if it is not all there.
 */
static size_t
metricshttp_head_len(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Return the length of the line at p up to end, its CRLF or LF excluded. */
static size_t
metricshttp_line(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n;

	/* The caller passes a head, whose every line ends in LF. */
	*next = nl + 1;
	n = (size_t)(nl - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

/*
 * Take the target of the request line: the path of an origin-form or an
 * absolute-form target (http://host/path). Set *path and *plen to it, its
 * query excluded. Return 0, or -1 if it is neither.
 */
static int
metricshttp_target(const char *t, size_t n, const char **path, size_t *plen)
{
	const char *q;

	if (n > 7 && strncasecmp(t, "http://", 7) == 0) {
		if ((q = memchr(t + 7, '/', n - 7)) == NULL) {
			*path = "/";
			*plen = 1;
			return 0;
		}
		n -= (size_t)(q - t);
		t = q;
	}
	if (n == 0 || t[0] != '/')
		return -1;
	if ((q = memchr(t, '?', n)) != NULL)
		n = (size_t)(q - t);
	*path = t;
	*plen = n;
	return 0;
}

/*
 * Check the version ("HTTP/1.1") of the request line; set *http11. Return
 * 0, or the status to answer: 505 for another HTTP version, 400.
 */
static int
metricshttp_version(const char *v, size_t n, int *http11)
{
	if (n != 8 || strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	*http11 = v[7] >= '1';
	return 0;
}

/*
 * Parse the request line "METHOD SP target SP version" (n bytes at p)
 * into mr. Return 0, or the status to answer for a bad one.
 */
static int
metricshttp_request_line(
    const char *p, size_t n, struct metricshttp_req *mr, int *http11)
{
	const char *end = p + n, *sp, *path;
	size_t mlen, plen;
	int status;

	if ((mlen = metricshttp_token(p, end)) == 0 || p + mlen == end ||
	    p[mlen] != ' ')
		return 400;
	mr->mr_head = mlen == 4 && memcmp(p, "HEAD", 4) == 0;
	sp = memchr(p + mlen + 1, ' ', (size_t)(end - (p + mlen + 1)));
	if (sp == NULL || memchr(sp + 1, ' ', (size_t)(end - sp - 1)) != NULL)
		return 400;
	if ((status = metricshttp_version(
		 sp + 1, (size_t)(end - sp - 1), http11)) != 0)
		return status;
	if (metricshttp_target(
		p + mlen + 1, (size_t)(sp - p - mlen - 1), &path, &plen) == -1)
		return 400;
	if (plen != strlen(METRICSHTTP_PATH) ||
	    memcmp(path, METRICSHTTP_PATH, plen) != 0)
		return 404;
	if (!mr->mr_head && !(mlen == 3 && memcmp(p, "GET", 3) == 0))
		return 405;
	return 200;
}

/*
 * Check the field lines between p and end: "name: value", no fold. Count
 * the Host fields into *hosts. Return 0, or -1 if one is malformed.
 */
static int
metricshttp_fields(const char *p, const char *end, int *hosts)
{
	const char *next;
	size_t n, name, i;

	for (; p < end; p = next) {
		n = metricshttp_line(p, end, &next);
		if (n == 0)
			break; /* the blank line */
		name = metricshttp_token(p, p + n);
		if (name == 0 || name == n || p[name] != ':')
			return -1;
		for (i = name + 1; i < n; i++)
			if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
				return -1;
		if (name == 4 && strncasecmp(p, "Host", 4) == 0)
			(*hosts)++;
	}
	return 0;
}

/*
 * Parse the request head at the start of buf (len bytes read so far).
 * Return 0 if it is not complete yet (and not too long), else 1 with
 * mr_status (and mr_head, mr_len) set.
 */
int
metricshttp_parse(const char *buf, size_t len, struct metricshttp_req *mr)
{
	const char *end, *next;
	size_t n;
	int http11 = 0, hosts = 0;

	memset(mr, 0, sizeof(*mr));
	if ((mr->mr_len = metricshttp_head_len(buf, len)) == 0 ||
	    mr->mr_len > METRICSHTTP_MAX_HEAD) {
		if (len < METRICSHTTP_MAX_HEAD && mr->mr_len == 0)
			return 0;
		mr->mr_status = 431;
		return 1;
	}
	end = buf + mr->mr_len;
	n = metricshttp_line(buf, end, &next);
	if (memchr(buf, '\r', n) != NULL || memchr(buf, '\0', n) != NULL)
		mr->mr_status = 400;
	else
		mr->mr_status = metricshttp_request_line(buf, n, mr, &http11);
	if (mr->mr_status == 505 || mr->mr_status == 400)
		return 1;
	if (metricshttp_fields(next, end, &hosts) == -1 || hosts > 1 ||
	    (http11 && hosts == 0))
		mr->mr_status = 400;
	return 1;
}

/* Return the reason phrase of a status the metrics endpoint answers. */
const char *
metricshttp_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Bad Request";
	}
}
