/*
 * HTTP responses: dispatch a parsed request by method, write response
 * heads (with a Date header formatted at most once a second), and answer
 * errors with a small HTML page.
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "pfhttpd.h"

/* Return the reason phrase of a status code. */
const char *
http_status_text(int status)
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
	case 426:
		return "Upgrade Required";
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
http_date_now(void)
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

/*
 * Queue a response head. length < 0 omits Content-Length; headers holds
 * extra fields, each ending in CRLF, or is NULL.
 */
void
http_response_head(struct conn *c, int status, const char *type, off_t length,
    const char *headers)
{
	struct evbuffer *out = bufferevent_get_output(c->c_bev);
	size_t before = evbuffer_get_length(out);

	evbuffer_add_printf(out,
	    "HTTP/1.1 %d %s\r\n"
	    "Server: " PFHTTPD_SERVER "\r\n"
	    "Date: %s\r\n",
	    status, http_status_text(status), http_date_now());
	if (type != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", type);
	if (length >= 0)
		evbuffer_add_printf(
		    out, "Content-Length: %lld\r\n", (long long)length);
	if (headers != NULL)
		evbuffer_add(out, headers, strlen(headers));
	if (c->c_close_after)
		evbuffer_add(out, "Connection: close\r\n", 19);
	else if (c->c_http10)
		evbuffer_add(out, "Connection: keep-alive\r\n", 24);
	evbuffer_add(out, "\r\n", 2);
	c->c_status = status;
	c->c_resp_bytes = evbuffer_get_length(out) - before;
	c->c_head_bytes = c->c_resp_bytes;
}

/* Answer with an error status and a small HTML page. */
void
http_error(struct conn *c, int status, const char *headers)
{
	char body[512];
	int len;

	len = snprintf(body, sizeof(body),
	    "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
	    "<body><h1>%d %s</h1><hr><p>" PFHTTPD_SERVER "</p></body></html>\n",
	    status, http_status_text(status), status, http_status_text(status));
	http_response_head(c, status, "text/html; charset=utf-8", len, headers);
	if (!c->c_head) {
		evbuffer_add(
		    bufferevent_get_output(c->c_bev), body, (size_t)len);
		c->c_resp_bytes += (size_t)len;
	}
}

/* Tell whether the request is for the WebSocket echo endpoint. */
static int
http_is_echo(const struct conn *c, const struct http_request *req)
{
	const char *echo = c->c_worker->w_cf->cf_ws_echo_path;
	char path[PATH_MAX];

	return echo != NULL &&
	    path_normalize(
		req->hr_path, req->hr_path_len, path, sizeof(path)) == 0 &&
	    strcmp(path, echo) == 0;
}

/* Answer a parsed request. */
void
http_request_handle(struct conn *c, struct http_request *req)
{
	if (!conn_keepalive(c, req))
		c->c_close_after = 1;
	if (http_is_echo(c, req)) {
		ws_handshake(c, req);
		return;
	}
	switch (req->hr_method) {
	case HTTP_METHOD_GET:
	case HTTP_METHOD_HEAD:
		file_serve(c, req);
		break;
	case HTTP_METHOD_UNKNOWN:
		http_error(c, 501, NULL);
		break;
	default:
		http_error(c, 405, "Allow: GET, HEAD\r\n");
		break;
	}
}
