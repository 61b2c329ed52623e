/*
 * HTTP responses: the head, built in one pass into the connection's output
 * buffer (with a Date field formatted at most once a second), and error
 * responses with a small HTML page.
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pfhttpd.h"

/* Return the reason phrase of a status code. */
static const char *
http_response_reason(int status)
{
	switch (status) {
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 412:
		return "Precondition Failed";
	case 414:
		return "URI Too Long";
	case 416:
		return "Range Not Satisfiable";
	case 421:
		return "Misdirected Request";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* Return the current time as an HTTP date, formatted once a second. */
static const char *
http_response_date(void)
{
	static char date[HTTPDATE_LEN];
	static time_t date_sec = -1;
	time_t now = time(NULL);

	if (now != date_sec) {
		httpdate_format(now, date);
		date_sec = now;
	}
	return date;
}

/* Append n bytes of s at p; return the byte after them. */
static char *
http_response_put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* Append the decimal digits of v at p; return the byte after them. */
static char *
http_response_put_number(char *p, unsigned long long v)
{
	char digits[24];
	size_t n = 0;

	do
		digits[sizeof(digits) - ++n] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	return http_response_put(p, digits + sizeof(digits) - n, n);
}

#define HTTP_RESPONSE_LITERAL(p, s) http_response_put((p), (s), sizeof(s) - 1)

/* The Strict-Transport-Security value of c's responses, or NULL. */
static const char *
http_response_hsts(const struct conn *c)
{
	return c->c_tls != NULL ? c->c_worker->w_cf->cf_tls_hsts : NULL;
}

/*
 * Queue a response head, built in one pass into the output buffer.
 * length < 0 omits Content-Length; headers holds extra fields, each ending
 * in CRLF, or is NULL. A response over TLS carries [tls] hsts. If memory
 * runs out the connection closes instead.
 */
void
http_response_head(struct conn *c, int status, const char *type, off_t length,
    const char *headers)
{
	const char *reason = http_response_reason(status);
	const char *hsts = http_response_hsts(c);
	size_t type_len = type != NULL ? strlen(type) : 0;
	size_t headers_len = headers != NULL ? strlen(headers) : 0;
	size_t hsts_len = hsts != NULL ? strlen(hsts) : 0;
	size_t max;
	char *start, *p;

	max = sizeof("HTTP/1.1 999 \r\nServer: " PFHTTPD_SERVER "\r\nDate: "
		     "\r\nContent-Type: \r\nContent-Length: "
		     "\r\nStrict-Transport-Security: \r\n"
		     "\r\nConnection: keep-alive\r\n\r\n") +
	    strlen(reason) + HTTPDATE_LEN + type_len + 20 + headers_len +
	    hsts_len;
	c->c_status = status;
	if ((start = p = buf_space(&c->c_out, max)) == NULL) {
		log_warnx("%s: out of memory for a response", c->c_peer);
		c->c_close_after = 1;
		c->c_resp_bytes = c->c_head_bytes = 0;
		return;
	}
	p = HTTP_RESPONSE_LITERAL(p, "HTTP/1.1 ");
	p = http_response_put_number(p, (unsigned)status);
	*p++ = ' ';
	p = http_response_put(p, reason, strlen(reason));
	p = HTTP_RESPONSE_LITERAL(
	    p, "\r\nServer: " PFHTTPD_SERVER "\r\nDate: ");
	p = http_response_put(p, http_response_date(), HTTPDATE_LEN - 1);
	p = HTTP_RESPONSE_LITERAL(p, "\r\n");
	if (type != NULL) {
		p = HTTP_RESPONSE_LITERAL(p, "Content-Type: ");
		p = http_response_put(p, type, type_len);
		p = HTTP_RESPONSE_LITERAL(p, "\r\n");
	}
	if (length >= 0) {
		p = HTTP_RESPONSE_LITERAL(p, "Content-Length: ");
		p = http_response_put_number(p, (unsigned long long)length);
		p = HTTP_RESPONSE_LITERAL(p, "\r\n");
	}
	p = http_response_put(p, headers != NULL ? headers : "", headers_len);
	if (hsts != NULL) {
		p = HTTP_RESPONSE_LITERAL(p, "Strict-Transport-Security: ");
		p = http_response_put(p, hsts, hsts_len);
		p = HTTP_RESPONSE_LITERAL(p, "\r\n");
	}
	if (c->c_close_after)
		p = HTTP_RESPONSE_LITERAL(p, "Connection: close\r\n");
	else if (c->c_http10)
		p = HTTP_RESPONSE_LITERAL(p, "Connection: keep-alive\r\n");
	p = HTTP_RESPONSE_LITERAL(p, "\r\n");
	buf_commit(&c->c_out, (size_t)(p - start));
	c->c_resp_bytes = (unsigned long long)(p - start);
	c->c_head_bytes = c->c_resp_bytes;
}

/* Answer with an error status and a small HTML page. */
void
http_response_error(struct conn *c, int status, const char *headers)
{
	http_response_error_why(c, status, headers, NULL);
}

/*
 * Answer with an error status and a small HTML page that says why (a
 * sentence of plain text, or NULL for none), or with the status's
 * [http] error_page instead if it has one that can be served.
 */
void
http_response_error_why(
    struct conn *c, int status, const char *headers, const char *why)
{
	char body[768];
	int len;

	if (status >= ERRPAGE_FIRST && file_error_page(c, status, headers) == 0)
		return;

	len = snprintf(body, sizeof(body),
	    "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
	    "<body><h1>%d %s</h1>%s%s%s<hr><p>" PFHTTPD_SERVER
	    "</p></body></html>\n",
	    status, http_response_reason(status), status,
	    http_response_reason(status), why != NULL ? "<p>" : "",
	    why != NULL ? why : "", why != NULL ? "</p>" : "");
	if (len < 0 || (size_t)len >= sizeof(body))
		len = 0;
	http_response_head(c, status, "text/html; charset=utf-8", len, headers);
	if (!c->c_head && c->c_resp_bytes > 0) {
		if (buf_add(&c->c_out, body, (size_t)len) == -1)
			c->c_close_after = 1;
		else
			c->c_resp_bytes += (size_t)len;
	}
}
