/*
 * Connection lifecycle: reading request headers, discarding request
 * bodies, waiting for a response to drain, keep-alive and pipelining, the
 * timeouts, lingering close, and the one destructor, conn_close().
 *
 * One request is handled at a time: the next pipelined request is parsed
 * only once the previous response has been handed to the kernel, so
 * responses go out in order and a request's end is well defined. Input
 * beyond the read high-water mark stays in the kernel meanwhile.
 *
 * Timers (c_timer, one at a time):
 *   waiting for a request's first byte   keepalive_timeout (header_timeout
 *                                        on a new connection)
 *   reading a request header             header_timeout, for the whole
 *                                        header, not reset by progress
 *   discarding a body after a response   header_timeout, for the rest of
 *                                        the body, not reset by progress
 *   lingering before close               CONN_LINGER_MS
 *   idle while the worker drains         CONN_DRAIN_GRACE_MS, or
 *                                        keepalive_timeout if shorter
 * Writing is bounded by send_timeout without progress (the bufferevent's
 * write timeout).
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "pfhttpd.h"
#include "shm.h"

#define CONN_LINGER_MS	      2000 /* discard input this long at most */
#define CONN_DRAIN_GRACE_MS   1000 /* an idle connection's last chance */
#define CONN_MAX_SINGLE_WRITE (512 * 1024) /* bytes per write(2)/sendfile */
#define CONN_BODY_CHUNK	      (64 * 1024)  /* chunked body bytes per step */
#define CONN_WRITE_RETRIES    8 /* 0-byte writes in a row before giving up */

static void conn_process(struct conn *c);

/* Arm the connection's timer for ms milliseconds. */
static void
conn_timer_set(struct conn *c, long long ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->c_timer, &tv);
}

/* Return the connection's socket. */
int
conn_fd(const struct conn *c)
{
	return bufferevent_getfd(c->c_bev);
}

/* Tell whether the connection may stay open after answering req. */
int
conn_keepalive(const struct conn *c, const struct http_request *req)
{
	const struct config *cf = c->c_worker->w_cf;

	return req->hr_keepalive && !c->c_close_after &&
	    !c->c_worker->w_draining && cf->cf_keepalive_timeout > 0 &&
	    c->c_nrequests + 1 < cf->cf_max_keepalive_requests;
}

/* Free a connection and everything it holds; the one destructor. */
void
conn_close(struct conn *c, const char *reason)
{
	struct worker *w = c->c_worker;

	log_debug("%s: closed: %s", c->c_peer, reason);
	ws_free(c);
	shm_count(&w->w_slot->ss_c.sc_conn_active, (uint64_t)-1);
	event_free(c->c_timer);
	bufferevent_free(c->c_bev);
	TAILQ_REMOVE(&w->w_conns, c, c_entry);
	w->w_nconns--;
	free(c);
	worker_conn_closed(w);
}

/*
 * How long an idle connection of a draining worker may still send a
 * request: CONN_DRAIN_GRACE_MS, or keepalive_timeout if shorter once the
 * connection has been kept alive.
 */
static long long
conn_drain_grace(const struct conn *c)
{
	long long keepalive = c->c_worker->w_cf->cf_keepalive_timeout;

	return c->c_nrequests > 0 && keepalive < CONN_DRAIN_GRACE_MS
	    ? keepalive
	    : CONN_DRAIN_GRACE_MS;
}

/* Wait for the next request on the connection. */
static void
conn_next_request(struct conn *c)
{
	c->c_state = CONN_READ_HEADER;
	http_scan_init(&c->c_scan);
	c->c_have_bytes = 0;
	c->c_head = 0;
	c->c_http10 = 0;
	c->c_line[0] = '\0';
	c->c_referer[0] = '\0';
	c->c_agent[0] = '\0';
	conn_timer_set(c,
	    c->c_worker->w_draining ? conn_drain_grace(c)
				    : c->c_worker->w_cf->cf_keepalive_timeout);
	if (evbuffer_get_length(bufferevent_get_input(c->c_bev)) > 0)
		conn_process(c);
	/* A client that shut its side gets answers to what it sent, only. */
	if (c->c_state == CONN_READ_HEADER && c->c_eof)
		conn_close(c, "client closed");
}

/*
 * Close once everything is sent. When the client may still be sending
 * (peer_may_send, or input is unread), shut the write side and discard
 * input for a while first: closing a socket with unread data sends a
 * reset that can destroy the last response before the client reads it.
 */
void
conn_linger(struct conn *c, int peer_may_send)
{
	if (c->c_eof ||
	    (!peer_may_send &&
		evbuffer_get_length(bufferevent_get_input(c->c_bev)) == 0)) {
		conn_close(c, "done");
		return;
	}
	c->c_state = CONN_LINGER;
	c->c_body = HTTP_BODY_NONE;
	shutdown(conn_fd(c), SHUT_WR);
	evbuffer_drain(bufferevent_get_input(c->c_bev),
	    evbuffer_get_length(bufferevent_get_input(c->c_bev)));
	bufferevent_setwatermark(c->c_bev, EV_READ, 0, 0);
	bufferevent_enable(c->c_bev, EV_READ);
	conn_timer_set(c, CONN_LINGER_MS);
}

/*
 * Tell whether the client may still send after this response: an error
 * answered mid-request, or a body not yet discarded.
 */
static int
conn_peer_may_send(const struct conn *c)
{
	return c->c_status >= 400 || c->c_body != HTTP_BODY_NONE;
}

/* Mark that a response is queued: wait for it to drain. */
static void
conn_responding(struct conn *c)
{
	c->c_state = CONN_WRITE;
	evtimer_del(c->c_timer);
}

/* Answer with an error status and close after it. */
static void
conn_reject(struct conn *c, int status)
{
	c->c_close_after = 1;
	c->c_body = HTTP_BODY_NONE;
	http_error(c, status, NULL);
	conn_responding(c);
}

/* Discard request body bytes: 1 when the body is done, 0 for more, -1. */
static int
conn_discard_body(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->c_bev);
	size_t len, n;
	ssize_t used;
	int done = 0;

	while ((len = evbuffer_get_length(in)) > 0) {
		if (c->c_body == HTTP_BODY_LENGTH) {
			n = len < c->c_body_left ? len : c->c_body_left;
			evbuffer_drain(in, n);
			c->c_body_left -= n;
			done = c->c_body_left == 0;
		} else {
			n = len < CONN_BODY_CHUNK ? len : CONN_BODY_CHUNK;
			used = http_chunked_consume(&c->c_chunked,
			    (const char *)evbuffer_pullup(in, (ssize_t)n), n,
			    &done);
			if (used == -1)
				return -1;
			evbuffer_drain(in, (size_t)used);
		}
		if (done) {
			c->c_body = HTTP_BODY_NONE;
			return 1;
		}
	}
	return c->c_body == HTTP_BODY_NONE ? 1 : 0;
}

/* Tell whether buffered bytes already break the chunked body framing. */
static int
conn_chunked_broken(const struct conn *c, const char *p, size_t len)
{
	struct http_chunked probe = c->c_chunked;
	int done;

	return len > 0 && http_chunked_consume(&probe, p, len, &done) == -1;
}

/* Copy the first line of a header into c_line, for the log. */
static void
conn_save_line(struct conn *c, const char *p, size_t len)
{
	size_t n;

	for (n = 0; n < len && p[n] != '\r' && p[n] != '\n'; n++)
		;
	if (n >= sizeof(c->c_line))
		n = sizeof(c->c_line) - 1;
	memcpy(c->c_line, p, n);
	c->c_line[n] = '\0';
}

/* Copy a request field into dst (size bytes) for the log, or "". */
static void
conn_save_field(
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

/* Parse the request header in the input buffer, if complete, and answer. */
static void
conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->c_bev);
	const struct config *cf = c->c_worker->w_cf;
	struct http_request req;
	size_t len, avail, n;
	const char *p;
	int status;

	if ((len = evbuffer_get_length(in)) == 0)
		return;
	if (!c->c_have_bytes) {
		c->c_have_bytes = 1;
		clock_gettime(CLOCK_MONOTONIC, &c->c_req_start);
		/* A fresh connection's header_timeout runs since accept,
		 * unless a drain's grace window replaced it. */
		if (c->c_nrequests > 0 || c->c_worker->w_draining)
			conn_timer_set(c, cf->cf_header_timeout);
	}
	avail = len;
	if (avail > (size_t)cf->cf_max_header_size + 1)
		avail = (size_t)cf->cf_max_header_size + 1;
	p = (const char *)evbuffer_pullup(in, (ssize_t)avail);
	n = http_scan_header(&c->c_scan, p, avail);
	if (n == 0 && avail <= (size_t)cf->cf_max_header_size)
		return; /* wait for more */
	if (n == 0 || n > (size_t)cf->cf_max_header_size) {
		conn_save_line(c, p, avail);
		conn_reject(c, c->c_scan.hs_line_end != 0 ? 431 : 414);
		return;
	}

	status = http_parse_request(p, n, &req);
	if (status != 0) {
		conn_save_line(c, p, n);
		conn_reject(c, status);
		return;
	}
	conn_save_line(c, req.hr_line, req.hr_line_len);
	conn_save_field(c->c_referer, sizeof(c->c_referer), &req, "Referer");
	conn_save_field(c->c_agent, sizeof(c->c_agent), &req, "User-Agent");
	c->c_head = req.hr_method == HTTP_METHOD_HEAD;
	c->c_http10 = req.hr_version_major == 1 && req.hr_version_minor == 0;
	c->c_body = req.hr_body;
	if (req.hr_body != HTTP_BODY_NONE && req.hr_expect_continue) {
		/* The client may or may not send the body: do not guess. */
		c->c_close_after = 1;
		c->c_body = HTTP_BODY_NONE;
	}
	c->c_body_left = req.hr_content_length;
	http_chunked_init(&c->c_chunked);
	if (c->c_body == HTTP_BODY_CHUNKED &&
	    conn_chunked_broken(c, p + n, avail - n))
		c->c_close_after = 1; /* known before the head is queued */

	http_request_handle(c, &req);
	conn_responding(c);
	evbuffer_drain(in, n);
	if (c->c_body != HTTP_BODY_NONE && conn_discard_body(c) == -1) {
		/* The response is on its way; the framing is lost: close. */
		c->c_close_after = 1;
		c->c_body = HTTP_BODY_NONE;
	}
}

/* Input arrived. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	int rv;

	switch (c->c_state) {
	case CONN_READ_HEADER:
		conn_process(c);
		break;
	case CONN_WRITE:
		if (c->c_body != HTTP_BODY_NONE && conn_discard_body(c) == -1) {
			c->c_close_after = 1;
			c->c_body = HTTP_BODY_NONE;
		}
		break;
	case CONN_READ_BODY:
		if ((rv = conn_discard_body(c)) == -1)
			conn_linger(
			    c, 1); /* the response may still be queued */
		else if (rv == 1)
			conn_next_request(c);
		/* Otherwise the timer set in conn_write_cb() runs on: a body
		 * that trickles in must not hold the connection for ever. */
		break;
	case CONN_LINGER:
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		break;
	case CONN_WEBSOCKET:
		ws_readable(c);
		break;
	}
}

/* Report a finished request to the worker. */
static void
conn_request_done(struct conn *c)
{
	struct request_done rd;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	rd.rd_peer = c->c_peer;
	rd.rd_line = c->c_line;
	rd.rd_referer = c->c_referer;
	rd.rd_agent = c->c_agent;
	rd.rd_status = c->c_status;
	rd.rd_bytes = c->c_resp_bytes;
	rd.rd_body_bytes = c->c_resp_bytes - c->c_head_bytes;
	rd.rd_usec = (unsigned long long)((now.tv_sec - c->c_req_start.tv_sec) *
		1000000LL +
	    (now.tv_nsec - c->c_req_start.tv_nsec) / 1000);
	worker_request_done(c->c_worker, &rd);
	c->c_nrequests++;
}

/* The output buffer drained: the response is sent. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->c_state == CONN_WEBSOCKET) {
		ws_written(c);
		return;
	}
	if (c->c_state != CONN_WRITE)
		return;
	conn_request_done(c);
	if (c->c_upgrade)
		ws_start(c);
	else if (c->c_close_after)
		conn_linger(c, conn_peer_may_send(c));
	else if (c->c_body != HTTP_BODY_NONE) {
		c->c_state = CONN_READ_BODY;
		conn_timer_set(c, c->c_worker->w_cf->cf_header_timeout);
	} else
		conn_next_request(c);
}

/* End of input, an error, or a send timeout. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char reason[128];
	size_t left;

	if (what & BEV_EVENT_TIMEOUT) {
		conn_close(c, "send timeout");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		snprintf(reason, sizeof(reason), "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		conn_close(c, reason);
		return;
	}
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_WRITING)) {
		/*
		 * libevent reports a sendfile(2) EAGAIN as a 0-byte write,
		 * just as it reports a file that shrank under us: write again,
		 * and give up only when nothing moves, time after time.
		 */
		left = evbuffer_get_length(bufferevent_get_output(bev));
		if (left != c->c_stuck_len) {
			c->c_stuck_len = left;
			c->c_stuck_count = 0;
		}
		if (++c->c_stuck_count <= CONN_WRITE_RETRIES) {
			bufferevent_enable(bev, EV_WRITE);
			return;
		}
		conn_close(c, "file ended early");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		c->c_eof = 1;
		/* A half-closed client still gets its answers. */
		if (c->c_state == CONN_WRITE && c->c_body == HTTP_BODY_NONE)
			return;
		if (c->c_state == CONN_WEBSOCKET) {
			ws_eof(c);
			return;
		}
		conn_close(c, "client closed");
	}
}

/* Timer: header, keep-alive, body or linger time ran out. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	switch (c->c_state) {
	case CONN_READ_HEADER:
		if (c->c_have_bytes)
			conn_reject(c, 408);
		else
			conn_close(c, "idle timeout");
		break;
	case CONN_READ_BODY:
		/* The response is sent but maybe not yet read: a lingering
		 * close keeps a reset from destroying it. */
		log_debug("%s: body timeout", c->c_peer);
		conn_linger(c, 1);
		break;
	case CONN_LINGER:
		conn_close(c, "linger timeout");
		break;
	case CONN_WEBSOCKET:
		ws_timer(c);
		break;
	case CONN_WRITE:
		break;
	}
}

/*
 * Begin a graceful stop (or a reload's drain) on this connection. Every
 * request not yet answered is answered with "Connection: close". A
 * connection is never closed under a client that may be sending its next
 * request, which would reset that request: one that is idle, or becomes
 * idle after a keep-alive response already under way, gets a short grace
 * window (conn_drain_grace) to send it, then closes.
 */
void
conn_drain(struct conn *c)
{
	switch (c->c_state) {
	case CONN_READ_HEADER:
		if (!c->c_have_bytes)
			conn_timer_set(c, conn_drain_grace(c));
		break;
	case CONN_WEBSOCKET:
		ws_drain(c);
		break;
	case CONN_WRITE:     /* its head is sent: keep-alive or close */
	case CONN_READ_BODY: /* discarding a body, then idle */
	case CONN_LINGER:    /* closing anyway */
		break;
	}
}

/* Input buffer callback: count the bytes read from the client. */
static void
conn_input_cb(
    struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)buf;
	if (info->n_added > 0)
		shm_count(
		    &c->c_worker->w_slot->ss_c.sc_bytes_in, info->n_added);
}

/* Take over an accepted socket. */
void
conn_accept(
    struct worker *w, int fd, const struct sockaddr *sa, socklen_t salen)
{
	const struct config *cf = w->w_cf;
	struct timeval send_tv;
	struct conn *c;
	int one = 1;

	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("calloc");
		close(fd);
		return;
	}
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    c->c_peer, sizeof(c->c_peer));
	else
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    c->c_peer, sizeof(c->c_peer));

	c->c_worker = w;
	c->c_bev = bufferevent_socket_new(w->w_base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->c_timer = evtimer_new(w->w_base, conn_timer_cb, c);
	if (c->c_bev == NULL || c->c_timer == NULL) {
		log_warnx("cannot set up a connection");
		if (c->c_bev != NULL)
			bufferevent_free(c->c_bev);
		else
			close(fd);
		if (c->c_timer != NULL)
			event_free(c->c_timer);
		free(c);
		return;
	}
	/*
	 * A head and its sendfile body are two writes: do not let Nagle hold
	 * the body back for the client's delayed ACK (about 40 ms).
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bufferevent_setcb(
	    c->c_bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(
	    c->c_bev, EV_READ, 0, (size_t)cf->cf_max_header_size * 2);
	bufferevent_set_max_single_write(c->c_bev, CONN_MAX_SINGLE_WRITE);
	send_tv.tv_sec = cf->cf_send_timeout / 1000;
	send_tv.tv_usec = (cf->cf_send_timeout % 1000) * 1000;
	bufferevent_set_timeouts(c->c_bev, NULL, &send_tv);
	bufferevent_enable(c->c_bev, EV_READ | EV_WRITE);

	evbuffer_add_cb(bufferevent_get_input(c->c_bev), conn_input_cb, c);
	TAILQ_INSERT_TAIL(&w->w_conns, c, c_entry);
	w->w_nconns++;
	shm_count(&w->w_slot->ss_c.sc_conn_accepted, 1);
	shm_count(&w->w_slot->ss_c.sc_conn_active, 1);
	c->c_state = CONN_READ_HEADER;
	http_scan_init(&c->c_scan);
	conn_timer_set(c, cf->cf_header_timeout);
}
