/*
 * HTTP/1.1 as a connection kind (struct conn_kind, see conn.c): reading
 * request headers, answering each request (a file, the WebSocket
 * handshake, an error), discarding request bodies, keep-alive,
 * pipelining, and the request's access record.
 *
 * One request is handled at a time: the next pipelined request is parsed
 * only once the previous response has been handed to the kernel, so
 * responses go out in order and a request's end is well defined. Input
 * beyond twice max_header_size stays in the kernel meanwhile.
 *
 * The timer (conn_timer_set()) bounds:
 *   waiting for a request's first byte   keepalive_timeout (header_timeout
 *                                        on a new connection)
 *   reading a request header             header_timeout, for the whole
 *                                        header, not reset by progress
 *   discarding a body after a response   header_timeout, for the rest of
 *                                        the body, not reset by progress
 *   idle while the worker drains         HTTP_DRAIN_GRACE_MS, or
 *                                        keepalive_timeout if shorter
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pfhttpd.h"

#define HTTP_DRAIN_GRACE_MS 1000	/* an idle connection's last chance */
#define HTTP_BODY_CHUNK	    (64 * 1024) /* chunked body bytes per step */

static int http_run(struct conn *c);

/* Tell whether the connection may stay open after answering req. */
static int
http_keepalive(const struct conn *c, const struct http_request *req)
{
	const struct config *cf = c->c_worker->w_cf;

	return req->hr_keepalive && !c->c_close_after &&
	    !c->c_worker->w_draining && cf->cf_keepalive_timeout > 0 &&
	    c->c_nrequests + 1 < cf->cf_max_keepalive_requests;
}

/*
 * How long an idle connection of a draining worker may still send a
 * request: HTTP_DRAIN_GRACE_MS, or keepalive_timeout if shorter once the
 * connection has been kept alive.
 */
static long long
http_drain_grace(const struct conn *c)
{
	long long keepalive = c->c_worker->w_cf->cf_keepalive_timeout;

	return c->c_nrequests > 0 && keepalive < HTTP_DRAIN_GRACE_MS
	    ? keepalive
	    : HTTP_DRAIN_GRACE_MS;
}

/* Wait for the next request on the connection (http_run() reads it). */
static void
http_next_request(struct conn *c)
{
	c->c_http_state = HTTP_READ_HEADER;
	http_scan_init(&c->c_scan);
	c->c_have_bytes = 0;
	c->c_head = 0;
	c->c_http10 = 0;
	logrec_line_clear(&c->c_line);
	c->c_referer[0] = '\0';
	c->c_agent[0] = '\0';
	c->c_host = c->c_worker->w_cf->cf_host_default; /* until one is named */
	c->c_user[0] = '\0';
	c->c_reqhost[0] = '\0';
	conn_timer_set(c,
	    c->c_worker->w_draining ? http_drain_grace(c)
				    : c->c_worker->w_cf->cf_keepalive_timeout);
}

/*
 * Tell whether the client may still send after this response: an error
 * answered mid-request, or a body not yet discarded.
 */
static int
http_peer_may_send(const struct conn *c)
{
	return c->c_status >= 400 || c->c_body != HTTP_BODY_NONE;
}

/* Mark that a response is queued: http_run() sends it. */
static void
http_responding(struct conn *c)
{
	c->c_http_state = HTTP_WRITE;
	conn_timer_stop(c);
}

/* Answer with an error status and close after it. */
static void
http_reject(struct conn *c, int status)
{
	c->c_close_after = 1;
	c->c_body = HTTP_BODY_NONE;
	http_response_error(c, status, NULL);
	http_responding(c);
}

/* Discard request body bytes: 1 when the body is done, 0 for more, -1. */
static int
http_discard_body(struct conn *c)
{
	size_t len, n;
	ssize_t used;
	int done = 0;

	while ((len = buf_len(&c->c_in)) > 0) {
		if (c->c_body == HTTP_BODY_LENGTH) {
			n = len < c->c_body_left ? len : c->c_body_left;
			buf_drain(&c->c_in, n);
			c->c_body_left -= n;
			done = c->c_body_left == 0;
		} else {
			n = len < HTTP_BODY_CHUNK ? len : HTTP_BODY_CHUNK;
			used = http_chunked_consume(
			    &c->c_chunked, buf_data(&c->c_in), n, &done);
			if (used == -1)
				return -1;
			buf_drain(&c->c_in, (size_t)used);
		}
		if (done) {
			c->c_body = HTTP_BODY_NONE;
			return 1;
		}
	}
	return c->c_body == HTTP_BODY_NONE ? 1 : 0;
}

/* Discard body bytes that arrive while the response waits. */
static void
http_discard_early_body(struct conn *c)
{
	if (c->c_body != HTTP_BODY_NONE && http_discard_body(c) == -1) {
		/* The response is on its way; the framing is lost: close. */
		c->c_close_after = 1;
		c->c_body = HTTP_BODY_NONE;
	}
}

/* Tell whether buffered bytes already break the chunked body framing. */
static int
http_chunked_broken(const struct conn *c, const char *p, size_t len)
{
	struct http_chunked probe = c->c_chunked;
	int done;

	return len > 0 && http_chunked_consume(&probe, p, len, &done) == -1;
}

/* Copy a request field into dst (size bytes) for the log, or "". */
static void
http_save_field(
    char *dst, size_t size, const struct http_request *req, const char *name)
{
	const struct http_header *h;
	size_t n = 0;

	if ((h = http_header_find(req, name)) != NULL) {
		n = h->hh_value_len < size - 1 ? h->hh_value_len : size - 1;
		memcpy(dst, h->hh_value, n);
	}
	dst[n] = '\0';
}

/*
 * Start timing the request when its first byte is here; a fresh
 * connection's header_timeout runs since accept, unless a drain's grace
 * window replaced it: decided now, not when a drain begins halfway
 * through the header.
 */
static void
http_first_byte(struct conn *c)
{
	if (c->c_have_bytes)
		return;
	c->c_have_bytes = 1;
	clock_gettime(CLOCK_MONOTONIC, &c->c_req_start);
	c->c_header_timer = c->c_nrequests > 0 || c->c_worker->w_draining;
}

/*
 * Keep the request's Host field, normalised, for the log: only the
 * implicit host (no [host] section) is logged by it, "" if it has none or
 * it is not a host name, and only the formats that show a host need it.
 */
static void
http_save_host(struct conn *c, const struct http_request *req)
{
	const struct config *cf = c->c_worker->w_cf;
	size_t n;

	if (cf->cf_hosts[cf->cf_host_default].vh_nnames != 0 ||
	    req->hr_host == NULL || cf->cf_access_log == NULL ||
	    (cf->cf_log_format != LOG_FORMAT_JSON &&
		cf->cf_log_format != LOG_FORMAT_VHOST_COMBINED))
		return;
	if (vhost_host_normalize(req->hr_host, req->hr_host_len, c->c_reqhost,
		sizeof(c->c_reqhost)) == -1)
		c->c_reqhost[0] = '\0';
	else if (strchr(c->c_reqhost, ':') != NULL &&
	    (n = strlen(c->c_reqhost)) + 2 < sizeof(c->c_reqhost)) {
		/* an IPv6 literal keeps its brackets: "[::1]:8080" is read
		 * back whole in a vhost_combined line */
		memmove(c->c_reqhost + 1, c->c_reqhost, n);
		c->c_reqhost[0] = '[';
		c->c_reqhost[n + 1] = ']';
		c->c_reqhost[n + 2] = '\0';
	}
}

/*
 * Take in a parsed request: what its response and its body depend on.
 * Return 0, or 400 when the body bytes already here break the chunked
 * framing: the request is malformed, as nginx also answers.
 */
static int
http_take_request(struct conn *c, const struct http_request *req,
    const char *rest, size_t rest_len)
{
	logrec_line_save(&c->c_line, req->hr_line, req->hr_line_len, req);
	http_save_field(c->c_referer, sizeof(c->c_referer), req, "Referer");
	http_save_field(c->c_agent, sizeof(c->c_agent), req, "User-Agent");
	http_save_host(c, req);
	c->c_head = req->hr_method == HTTP_METHOD_HEAD;
	c->c_http10 = req->hr_version_major == 1 && req->hr_version_minor == 0;
	c->c_body = req->hr_body;
	if (req->hr_body != HTTP_BODY_NONE && req->hr_expect_continue) {
		/* The client may or may not send the body: do not guess. */
		c->c_close_after = 1;
		c->c_body = HTTP_BODY_NONE;
	}
	c->c_body_left = req->hr_content_length;
	http_chunked_init(&c->c_chunked);
	if (c->c_body == HTTP_BODY_CHUNKED &&
	    http_chunked_broken(c, rest, rest_len))
		return 400; /* known before a response is chosen */
	return 0;
}

/*
 * Parse the request header in the input buffer, if complete, and queue
 * the answer: 1 when a response is queued (HTTP_WRITE), 0 when the header
 * is not all here yet.
 */
static int
http_process(struct conn *c)
{
	const struct config *cf = c->c_worker->w_cf;
	long long header_deadline;
	struct http_request req;
	size_t avail, n;
	const char *p;
	int status;

	if ((avail = buf_len(&c->c_in)) == 0)
		return 0;
	http_first_byte(c);
	if (avail > (size_t)cf->cf_max_header_size + 1)
		avail = (size_t)cf->cf_max_header_size + 1;
	p = buf_data(&c->c_in);
	n = http_scan_header(&c->c_scan, p, avail);
	if (c->c_scan.hs_bad) {
		/* No request starts so (a TLS ClientHello on a plain port,
		 * say): answer now rather than wait header_timeout for more. */
		logrec_line_save(&c->c_line, p, avail, NULL);
		http_reject(c, 400);
		return 1;
	}
	if (n == 0 && avail <= (size_t)cf->cf_max_header_size) {
		/* Wait for more, header_timeout from the first byte. A header
		 * that arrives whole, the common case, sets no timer. */
		header_deadline = c->c_req_start.tv_sec * 1000LL +
		    c->c_req_start.tv_nsec / 1000000 + cf->cf_header_timeout;
		if (c->c_header_timer)
			conn_timer_until(c, header_deadline);
		return 0;
	}
	if (n == 0 || n > (size_t)cf->cf_max_header_size) {
		logrec_line_save(&c->c_line, p, avail, NULL);
		http_reject(c, c->c_scan.hs_line_end != 0 ? 431 : 414);
		return 1;
	}
	if ((status = http_parse_request(p, n, &req)) != 0) {
		logrec_line_save(&c->c_line, p, n, NULL);
		http_reject(c, status);
		return 1;
	}
	if ((status = http_take_request(
		 c, &req, p + n, buf_len(&c->c_in) - n)) != 0) {
		http_reject(c, status);
		return 1;
	}
	http_request_handle(c, &req);
	http_responding(c);
	buf_drain(&c->c_in, n);
	http_discard_early_body(c);
	return 1;
}

/*
 * Count the finished request and hand its access record to the worker.
 * Its host is Apache's %v: the first name of the [host] section that
 * answered, or with none the request's own Host field.
 */
static void
http_request_done(struct conn *c)
{
	const struct vhost *vh = conn_host(c);
	struct logrec_access ac;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	logrec_access_strings(
	    &ac, c->c_peer, &c->c_line, c->c_referer, c->c_agent);
	logrec_access_site(&ac,
	    vh->vh_nnames > 0 ? vh->vh_names[0] : c->c_reqhost, c->c_port,
	    c->c_user);
	if (c->c_tls != NULL)
		logrec_access_tls(
		    &ac, tls_version(c), tls_cipher(c), tls_client_subject(c));
	ac.ac_status = c->c_status;
	ac.ac_bytes = c->c_resp_bytes - c->c_head_bytes;
	ac.ac_duration_usec =
	    (uint64_t)((now.tv_sec - c->c_req_start.tv_sec) * 1000000LL +
		(now.tv_nsec - c->c_req_start.tv_nsec) / 1000);
	worker_request_done(c->c_worker, &ac, c->c_resp_bytes);
	c->c_nrequests++;
}

/*
 * The response is all sent: log it and go on to what follows it, another
 * kind (the WebSocket), a close, the rest of a body, or the next request.
 * 1 if the connection is still HTTP, CONN_GONE if it closed, CONN_OK if it
 * is of another kind now.
 */
static int
http_sent(struct conn *c)
{
	http_request_done(c);
	if (c->c_upgrade != NULL)
		return conn_set_kind(c, c->c_upgrade);
	if (c->c_close_after)
		return conn_linger(c, http_peer_may_send(c));
	if (c->c_body != HTTP_BODY_NONE) {
		c->c_http_state = HTTP_READ_BODY;
		conn_timer_set(c, c->c_worker->w_cf->cf_header_timeout);
	} else
		http_next_request(c);
	return 1;
}

/*
 * Send the queued response; once it is all out, go on past it. 1 if the
 * connection is still HTTP and may go on, else CONN_OK (it waits for the
 * socket, or is of another kind now) or CONN_GONE.
 */
static int
http_send(struct conn *c)
{
	int rv;

	/* The last response of a connection carries its FIN. */
	c->c_out_last = c->c_close_after && c->c_upgrade == NULL;
	if ((rv = conn_flush(c)) == CONN_GONE)
		return CONN_GONE;
	if (rv == CONN_PENDING)
		return CONN_OK; /* http_writable() goes on */
	return http_sent(c);
}

/*
 * Read the header of the next request. 1 if a response is queued, else
 * CONN_OK (waiting for input) or CONN_GONE: a client that shut its side
 * gets answers to what it sent, only.
 */
static int
http_read_header(struct conn *c)
{
	if (http_process(c))
		return 1;
	if (c->c_eof) {
		conn_close(c, "client closed");
		return CONN_GONE;
	}
	conn_read_update(c);
	return CONN_OK;
}

/*
 * Discard the rest of a body after the response. 1 once it is done, else
 * CONN_OK (waiting for input) or CONN_GONE.
 */
static int
http_read_body(struct conn *c)
{
	int rv;

	if ((rv = http_discard_body(c)) == -1)
		/* The response may still be in flight. */
		return conn_linger(c, 1);
	if (rv == 0) {
		/* The timer set in http_sent() runs on: a body that trickles
		 * in must not hold the connection for ever. */
		conn_read_update(c);
		return CONN_OK;
	}
	http_next_request(c);
	return 1;
}

/*
 * Move the connection on as far as it goes without waiting: answer each
 * complete request in the input, send each answer, and stop where input
 * or the socket has to be waited for. Requests are answered one at a
 * time, in order; the next is parsed only once the previous response is
 * all in the kernel. CONN_GONE or CONN_OK.
 */
static int
http_run(struct conn *c)
{
	int rv;

	do {
		switch (c->c_http_state) {
		case HTTP_READ_HEADER:
			rv = http_read_header(c);
			break;
		case HTTP_WRITE:
			rv = http_send(c);
			break;
		case HTTP_READ_BODY:
		default:
			rv = http_read_body(c);
			break;
		}
	} while (rv == 1);
	return rv;
}

/* The connection starts speaking HTTP: wait for its first request. */
static int
http_start(struct conn *c)
{
	c->c_in_max = (size_t)c->c_worker->w_cf->cf_max_header_size * 2;
	c->c_http_state = HTTP_READ_HEADER;
	http_scan_init(&c->c_scan);
	conn_timer_set(c, c->c_worker->w_cf->cf_header_timeout);
	conn_read_update(c);
	return CONN_OK;
}

/* Input arrived. */
static int
http_readable(struct conn *c)
{
	if (c->c_http_state != HTTP_WRITE)
		return http_run(c);
	/* A body arriving while the response waits is discarded; the next
	 * request waits in the buffer. */
	http_discard_early_body(c);
	conn_read_update(c);
	return CONN_OK;
}

/* The socket takes more of the response. */
static int
http_writable(struct conn *c)
{
	return http_run(c);
}

/* The timer ran out: header, keep-alive or body time. */
static int
http_timer(struct conn *c)
{
	switch (c->c_http_state) {
	case HTTP_READ_HEADER:
		if (!c->c_have_bytes) {
			conn_close(c, "idle timeout");
			return CONN_GONE;
		}
		http_reject(c, 408);
		return http_run(c);
	case HTTP_READ_BODY:
		/* The response is sent but maybe not yet read: a lingering
		 * close keeps a reset from destroying it. */
		log_debug("%s: body timeout", c->c_peer);
		return conn_linger(c, 1);
	case HTTP_WRITE:
	default:
		return CONN_OK; /* send_timeout bounds writing */
	}
}

/*
 * The worker stops: every request not yet answered is answered with
 * "Connection: close". A connection is never closed under a client that
 * may be sending its next request, which would reset that request: one
 * that is idle, or becomes idle after a keep-alive response already under
 * way, gets a short grace window (http_drain_grace()) to send it.
 */
static int
http_drain(struct conn *c)
{
	if (c->c_http_state == HTTP_READ_HEADER && !c->c_have_bytes)
		conn_timer_set(c, http_drain_grace(c));
	return CONN_OK;
}

/* The client's end of input arrived: finish what can be finished. */
static int
http_eof(struct conn *c)
{
	switch (c->c_http_state) {
	case HTTP_WRITE:
		/* A half-closed client still gets its answers. */
		if (c->c_body == HTTP_BODY_NONE)
			return CONN_OK;
		break;
	case HTTP_READ_HEADER:
		/* Requests already buffered are answered, then it closes. */
		return http_run(c);
	case HTTP_READ_BODY:
	default:
		break;
	}
	conn_close(c, "client closed");
	return CONN_GONE;
}

/* HTTP keeps its state in the connection itself: nothing to free. */
static void
http_free(struct conn *c)
{
	(void)c;
}

const struct conn_kind http_kind = {
    .kd_name = "http",
    .kd_start = http_start,
    .kd_readable = http_readable,
    .kd_writable = http_writable,
    .kd_timer = http_timer,
    .kd_drain = http_drain,
    .kd_eof = http_eof,
    .kd_free = http_free,
};

/*
 * Answer 429 and close if the client's address is over a limit: it held
 * max_connections_per_ip when this connection came (it may come back in a
 * second), or it sent requests faster than limit_rate_per_ip.
 */
static int
http_ip_limited(struct conn *c)
{
	char retry[48];
	uint64_t secs = 1;

	if (!c->c_ip_refused && conn_ip_rate_ok(c, &secs))
		return 0;
	snprintf(retry, sizeof(retry), "Retry-After: %llu\r\n",
	    (unsigned long long)secs);
	c->c_close_after = 1;
	http_response_error_why(c, 429, retry,
	    c->c_ip_refused ? "Too many connections from your address."
			    : "Too many requests from your address.");
	return 1;
}

/*
 * Answer 421 if the connection's TLS server name named one host and the
 * Host field names another (by its name or a wildcard, not by falling
 * back to the default): the client was shown the first host's certificate,
 * not the second's. The connection stays open, as after a 404: its next
 * request may be for the host it was made for, and the client opens
 * another one for the host it wants (RFC 9110, section 15.5.20).
 */
static int
http_misdirected(struct conn *c, const struct http_request *req)
{
	const struct config *cf = c->c_worker->w_cf;

	if (c->c_sni_host < 0 || c->c_host == c->c_sni_host ||
	    vhost_match(cf->cf_hosts, cf->cf_nhosts, req->hr_host,
		req->hr_host_len) < 0)
		return 0;
	c->c_host = c->c_sni_host; /* its error page, if any: the host the
				    * connection was made for */
	http_response_error_why(c, 421, NULL,
	    "This connection was made for another host: make a new one "
	    "for this host.");
	return 1;
}

/*
 * Answer a parsed request. Its path is normalised once, here, for the
 * echo endpoint and the document root alike.
 */
void
http_request_handle(struct conn *c, struct http_request *req)
{
	const struct config *cf = c->c_worker->w_cf;
	const char *echo = cf->cf_ws_echo_path;
	char path[PATH_MAX];
	int status;

	c->c_host = vhost_select(cf->cf_hosts, cf->cf_nhosts,
	    cf->cf_host_default, req->hr_host, req->hr_host_len);
	if (req->hr_host == NULL && c->c_sni_host >= 0)
		c->c_host =
		    c->c_sni_host; /* HTTP/1.0: the handshake named it */
	if (!http_keepalive(c, req))
		c->c_close_after = 1;
	if (c->c_cleartext) {
		c->c_close_after = 1;
		http_response_error_why(c, 400, NULL,
		    "The plain HTTP request was sent to an HTTPS port: "
		    "use https://.");
		return;
	}
	if (http_ip_limited(c) || http_misdirected(c, req))
		return;
	status =
	    path_normalize(req->hr_path, req->hr_path_len, path, sizeof(path));
	if (status == 0 && authcheck_request(c, req, path))
		return;
	if (status == 0 && echo != NULL && strcmp(path, echo) == 0) {
		ws_handshake(c, req);
		return;
	}
	if (status == 0 && wschat_route(c, req, path))
		return;
	switch (req->hr_method) {
	case HTTP_METHOD_GET:
	case HTTP_METHOD_HEAD:
		if (status != 0)
			http_response_error(c, status, NULL);
		else
			file_serve(c, req, path);
		break;
	case HTTP_METHOD_UNKNOWN:
		http_response_error(c, 501, NULL);
		break;
	default:
		http_response_error(c, 405, "Allow: GET, HEAD\r\n");
		break;
	}
}
