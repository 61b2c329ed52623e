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
 * Writing is bounded by send_timeout without progress (the write event's
 * write timeout).
 *
 * The timer is armed lazily: setting it only moves c_deadline, and the
 * libevent timer is re-armed only for a deadline earlier than the one it
 * is armed for; a timer that fires before c_deadline arms itself again
 * for the rest. Deadlines mostly move later (each keep-alive request, each
 * WebSocket message), so those cost no timer operation.
 */

#include <sys/sendfile.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "pfhttpd.h"
#include "shm.h"

#define CONN_LINGER_MS	      2000 /* discard input this long at most */
#define CONN_DRAIN_GRACE_MS   1000 /* an idle connection's last chance */
#define CONN_MAX_SINGLE_WRITE (512 * 1024) /* bytes per sendfile(2) */
#define CONN_BODY_CHUNK	      (64 * 1024)  /* chunked body bytes per step */
#define CONN_IN_INITIAL	      4096	   /* input buffer to start with */
#define CONN_OUT_INITIAL      4096	   /* output buffer to start with */
#define CONN_BUF_KEEP	      (64 * 1024)  /* kept by an idle buffer */

/* What conn_flush() and the steps after it report. */
#define CONN_GONE    (-1) /* the connection is closed and freed */
#define CONN_PENDING 0	  /* output waits for the socket */
#define CONN_FLUSHED 1	  /* all output is sent */

static void conn_run(struct conn *c);

/* Return the monotonic time ts in milliseconds. */
static long long
conn_ms(const struct timespec *ts)
{
	return ts->tv_sec * 1000LL + ts->tv_nsec / 1000000;
}

/* Return the monotonic time now in milliseconds. */
static long long
conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return conn_ms(&ts);
}

/* Arm the libevent timer of c to fire ms milliseconds from now. */
static void
conn_timer_arm(struct conn *c, long long now, long long ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	/* If it cannot be armed, the next deadline set tries again. */
	c->c_timer_due = evtimer_add(c->c_timer, &tv) == 0 ? now + ms : 0;
}

/* Make the connection's timer go off at deadline (monotonic ms). */
static void
conn_timer_until(struct conn *c, long long now, long long deadline)
{
	c->c_deadline = deadline;
	if (c->c_timer_due == 0 || deadline < c->c_timer_due)
		conn_timer_arm(c, now, deadline - now);
}

/* Make the connection's timer go off ms milliseconds from now. */
void
conn_timer_set(struct conn *c, long long ms)
{
	long long now = conn_now_ms();

	conn_timer_until(c, now, now + ms);
}

/* Stop the connection's timer (it may still fire, and do nothing). */
void
conn_timer_stop(struct conn *c)
{
	c->c_deadline = 0;
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
	event_free(c->c_rev);
	event_free(c->c_wev);
	close(c->c_fd);
	if (c->c_file != NULL)
		fcache_release(c->c_file);
	buf_free(&c->c_in);
	buf_free(&c->c_out);
	TAILQ_REMOVE(&w->w_conns, c, c_entry);
	w->w_nconns--;
	free(c);
	worker_conn_closed(w);
}

/* Return how many input bytes the connection buffers at most. */
static size_t
conn_in_limit(const struct conn *c)
{
	if (c->c_state == CONN_WEBSOCKET)
		return WS_READ_MAX;
	return (size_t)c->c_worker->w_cf->cf_max_header_size * 2;
}

/*
 * Watch the socket for input exactly when input can be taken: not after
 * the client's end of input, not while the WebSocket output is backed up,
 * and not while the input buffer is at its limit (what the client sends
 * beyond it waits in the kernel). The event is changed only when this
 * changes, so a keep-alive request costs no epoll_ctl(2).
 */
void
conn_read_update(struct conn *c)
{
	int want = !c->c_eof && !c->c_paused &&
	    (c->c_state == CONN_LINGER || buf_len(&c->c_in) < conn_in_limit(c));

	if (want == c->c_reading)
		return;
	if (want)
		event_add(c->c_rev, NULL);
	else
		event_del(c->c_rev);
	c->c_reading = want;
}

/*
 * Write the queued output, the buffer then the file part, until done or
 * the socket is full. A head followed by a file goes with MSG_MORE, so
 * that both leave in one segment when they fit; so does the last response
 * of a connection that closes after it, so that the FIN that conn_linger()
 * sends at once rides on the response's last segment. CONN_FLUSHED, or
 * CONN_PENDING with the write event armed for send_timeout (restarted only
 * by progress), or CONN_GONE.
 */
static int
conn_flush(struct conn *c)
{
	const struct config *cf = c->c_worker->w_cf;
	struct timeval tv;
	size_t len, chunk;
	ssize_t n;
	int progress = 0, more;

	more = c->c_state == CONN_WRITE && c->c_close_after && !c->c_upgrade;
	for (;;) {
		if ((len = buf_len(&c->c_out)) > 0) {
			n = send(c->c_fd, buf_data(&c->c_out), len,
			    MSG_NOSIGNAL |
				(more || c->c_file_left > 0 ? MSG_MORE : 0));
			if (n == -1)
				goto error;
			buf_drain(&c->c_out, (size_t)n);
		} else if (c->c_file_left > 0) {
			chunk = c->c_file_left < CONN_MAX_SINGLE_WRITE
			    ? (size_t)c->c_file_left
			    : CONN_MAX_SINGLE_WRITE;
			n = sendfile(
			    c->c_fd, c->c_file->fe_fd, &c->c_file_off, chunk);
			if (n == -1)
				goto error;
			if (n == 0) {
				/* The file shrank under us: the length sent
				 * in the head cannot be kept. */
				conn_close(c, "file ended early");
				return CONN_GONE;
			}
			c->c_file_left -= n;
		} else
			break;
		progress = 1;
	}
	if (c->c_file != NULL) {
		fcache_release(c->c_file);
		c->c_file = NULL;
	}
	if (c->c_writing) {
		event_del(c->c_wev);
		c->c_writing = 0;
	}
	buf_trim(&c->c_out, CONN_BUF_KEEP);
	return CONN_FLUSHED;

error:
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		if (progress || !c->c_writing) {
			tv.tv_sec = cf->cf_send_timeout / 1000;
			tv.tv_usec = (cf->cf_send_timeout % 1000) * 1000;
			event_add(c->c_wev, &tv);
			c->c_writing = 1;
		}
		return CONN_PENDING;
	}
	conn_close(c, strerror(errno));
	return CONN_GONE;
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

/* Wait for the next request on the connection (conn_run() reads it). */
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
}

/*
 * Close once everything is sent. When the client may still be sending
 * (peer_may_send, or input is unread), shut the write side and discard
 * input for a while first: closing a socket with unread data sends a
 * reset that can destroy the last response before the client reads it.
 * CONN_GONE if the connection closed at once, else 0.
 */
int
conn_linger(struct conn *c, int peer_may_send)
{
	if (c->c_eof || (!peer_may_send && buf_len(&c->c_in) == 0)) {
		conn_close(c, "done");
		return CONN_GONE;
	}
	c->c_state = CONN_LINGER;
	c->c_body = HTTP_BODY_NONE;
	c->c_paused = 0;
	shutdown(c->c_fd, SHUT_WR);
	buf_drain(&c->c_in, buf_len(&c->c_in));
	conn_read_update(c);
	conn_timer_set(c, CONN_LINGER_MS);
	return 0;
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

/* Mark that a response is queued: conn_run() sends it. */
static void
conn_responding(struct conn *c)
{
	c->c_state = CONN_WRITE;
	conn_timer_stop(c);
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
			n = len < CONN_BODY_CHUNK ? len : CONN_BODY_CHUNK;
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

/*
 * Parse the request header in the input buffer, if complete, and queue
 * the answer: 1 when a response is queued (CONN_WRITE), 0 when the header
 * is not all here yet.
 */
static int
conn_process(struct conn *c)
{
	const struct config *cf = c->c_worker->w_cf;
	struct http_request req;
	size_t avail, n;
	const char *p;
	int status;

	if ((avail = buf_len(&c->c_in)) == 0)
		return 0;
	if (!c->c_have_bytes) {
		c->c_have_bytes = 1;
		clock_gettime(CLOCK_MONOTONIC, &c->c_req_start);
		/* A fresh connection's header_timeout runs since accept,
		 * unless a drain's grace window replaced it: decided now,
		 * not when a drain begins halfway through the header. */
		c->c_header_timer =
		    c->c_nrequests > 0 || c->c_worker->w_draining;
	}
	if (avail > (size_t)cf->cf_max_header_size + 1)
		avail = (size_t)cf->cf_max_header_size + 1;
	p = buf_data(&c->c_in);
	n = http_scan_header(&c->c_scan, p, avail);
	if (n == 0 && avail <= (size_t)cf->cf_max_header_size) {
		/* Wait for more, header_timeout from the first byte. A header
		 * that arrives whole, the common case, sets no timer. */
		if (c->c_header_timer)
			conn_timer_until(c, conn_now_ms(),
			    conn_ms(&c->c_req_start) + cf->cf_header_timeout);
		return 0;
	}
	if (n == 0 || n > (size_t)cf->cf_max_header_size) {
		conn_save_line(c, p, avail);
		conn_reject(c, c->c_scan.hs_line_end != 0 ? 431 : 414);
		return 1;
	}

	status = http_parse_request(p, n, &req);
	if (status != 0) {
		conn_save_line(c, p, n);
		conn_reject(c, status);
		return 1;
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
	    conn_chunked_broken(c, p + n, buf_len(&c->c_in) - n))
		c->c_close_after = 1; /* known before the head is queued */

	http_request_handle(c, &req);
	conn_responding(c);
	buf_drain(&c->c_in, n);
	if (c->c_body != HTTP_BODY_NONE && conn_discard_body(c) == -1) {
		/* The response is on its way; the framing is lost: close. */
		c->c_close_after = 1;
		c->c_body = HTTP_BODY_NONE;
	}
	return 1;
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

/*
 * The response is all sent: log it and go on to what follows it, the
 * WebSocket, a close, the rest of a body, or the next request. CONN_GONE
 * if the connection closed.
 */
static int
conn_sent(struct conn *c)
{
	conn_request_done(c);
	if (c->c_upgrade) {
		if (ws_start(c) == CONN_GONE)
			return CONN_GONE;
		return conn_ws_send(c);
	}
	if (c->c_close_after)
		return conn_linger(c, conn_peer_may_send(c));
	if (c->c_body != HTTP_BODY_NONE) {
		c->c_state = CONN_READ_BODY;
		conn_timer_set(c, c->c_worker->w_cf->cf_header_timeout);
	} else
		conn_next_request(c);
	return 0;
}

/*
 * Send what the WebSocket code queued, and let it react to output that
 * drained (resume reading, or close after a close frame). CONN_GONE if
 * the connection closed, else 0.
 */
int
conn_ws_send(struct conn *c)
{
	int rv;

	for (;;) {
		if (conn_flush(c) == CONN_GONE)
			return CONN_GONE;
		if ((rv = ws_written(c)) != 1)
			return rv;
	}
}

/*
 * Move the connection on as far as it goes without waiting: answer each
 * complete request in the input, send each answer, and stop where input
 * or the socket has to be waited for. Requests are answered one at a
 * time, in order; the next is parsed only once the previous response is
 * all in the kernel.
 */
static void
conn_run(struct conn *c)
{
	int rv;

	for (;;) {
		switch (c->c_state) {
		case CONN_READ_HEADER:
			if (!conn_process(c)) {
				/* A client that shut its side gets answers to
				 * what it sent, only. */
				if (c->c_eof) {
					conn_close(c, "client closed");
					return;
				}
				conn_read_update(c);
				return;
			}
			break;
		case CONN_WRITE:
			if (conn_flush(c) != CONN_FLUSHED)
				return;
			if (conn_sent(c) == CONN_GONE)
				return;
			break;
		case CONN_READ_BODY:
			if ((rv = conn_discard_body(c)) == -1) {
				/* The response may still be in flight. */
				conn_linger(c, 1);
				return;
			}
			if (rv == 0) {
				/* The timer set in conn_sent() runs on: a body
				 * that trickles in must not hold the
				 * connection for ever. */
				conn_read_update(c);
				return;
			}
			conn_next_request(c);
			break;
		case CONN_LINGER:
			buf_drain(&c->c_in, buf_len(&c->c_in));
			return;
		case CONN_WEBSOCKET:
			conn_read_update(c);
			return;
		}
	}
}

/*
 * Read once from the socket into the input buffer, as much as fits below
 * the input limit: 1 if bytes came, 0 if none (nothing there, or the
 * client's end of input: c_eof is set), CONN_GONE if the read failed.
 */
static int
conn_fill(struct conn *c)
{
	size_t limit = conn_in_limit(c), len, want;
	char *room;
	ssize_t n;

	if (c->c_state == CONN_LINGER)
		buf_drain(&c->c_in, buf_len(&c->c_in));
	if ((len = buf_len(&c->c_in)) >= limit)
		return 0;
	/* Grow (double) only when the buffer is full. */
	want = limit - len < c->c_in.b_cap ? limit - len : c->c_in.b_cap;
	if ((room = buf_space(&c->c_in, want)) == NULL) {
		conn_close(c, "out of memory");
		return CONN_GONE;
	}
	want = c->c_in.b_cap - c->c_in.b_end; /* all the room there is */
	if (want > limit - len)
		want = limit - len;
	n = read(c->c_fd, room, want);
	if (n > 0) {
		buf_commit(&c->c_in, (size_t)n);
		shm_count(&c->c_worker->w_slot->ss_c.sc_bytes_in, (uint64_t)n);
		return 1;
	}
	if (n == 0) {
		c->c_eof = 1;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	conn_close(c, strerror(errno));
	return CONN_GONE;
}

/* The client's end of input arrived: finish what can be finished. */
static void
conn_eof(struct conn *c)
{
	conn_read_update(c);
	switch (c->c_state) {
	case CONN_WRITE:
		/* A half-closed client still gets its answers. */
		if (c->c_body == HTTP_BODY_NONE)
			return;
		break;
	case CONN_READ_HEADER:
		/* Requests already buffered are answered, then it closes. */
		conn_run(c);
		return;
	case CONN_WEBSOCKET:
		ws_eof(c);
		return;
	case CONN_READ_BODY:
	case CONN_LINGER:
		break;
	}
	conn_close(c, "client closed");
}

/* The socket is readable. */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int rv;

	(void)fd;
	(void)what;
	if ((rv = conn_fill(c)) == CONN_GONE)
		return;
	if (rv == 0) {
		if (c->c_eof)
			conn_eof(c);
		else
			conn_read_update(c); /* at the limit: wait */
		return;
	}
	switch (c->c_state) {
	case CONN_WRITE:
		/* A body arriving while the response waits is discarded; the
		 * next request waits in the buffer. */
		if (c->c_body != HTTP_BODY_NONE && conn_discard_body(c) == -1) {
			c->c_close_after = 1;
			c->c_body = HTTP_BODY_NONE;
		}
		conn_read_update(c);
		break;
	case CONN_WEBSOCKET:
		ws_readable(c);
		conn_ws_send(c);
		break;
	case CONN_READ_HEADER:
	case CONN_READ_BODY:
	case CONN_LINGER:
		conn_run(c);
		break;
	}
}

/* The socket is writable again, or send_timeout passed without progress. */
static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		conn_close(c, "send timeout");
		return;
	}
	c->c_writing = 0; /* the event fired: it is no longer added */
	if (c->c_state == CONN_WEBSOCKET)
		conn_ws_send(c);
	else
		conn_run(c);
}

/*
 * Timer: header, keep-alive, body, linger or WebSocket idle time ran out,
 * unless the deadline moved meanwhile: then wait for it.
 */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	long long now;

	(void)fd;
	(void)what;
	c->c_timer_due = 0;
	if (c->c_deadline == 0)
		return;
	if ((now = conn_now_ms()) < c->c_deadline) {
		conn_timer_arm(c, now, c->c_deadline - now);
		return;
	}
	c->c_deadline = 0;
	switch (c->c_state) {
	case CONN_READ_HEADER:
		if (c->c_have_bytes) {
			conn_reject(c, 408);
			conn_run(c);
		} else
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
		conn_ws_send(c);
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
		conn_ws_send(c);
		break;
	case CONN_WRITE:     /* its head is sent: keep-alive or close */
	case CONN_READ_BODY: /* discarding a body, then idle */
	case CONN_LINGER:    /* closing anyway */
		break;
	}
}

/* Take over an accepted socket. */
void
conn_accept(
    struct worker *w, int fd, const struct sockaddr *sa, socklen_t salen)
{
	const struct config *cf = w->w_cf;
	struct conn *c;

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
	c->c_fd = fd;
	c->c_rev =
	    event_new(w->w_base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->c_wev = event_new(w->w_base, fd, EV_WRITE, conn_write_cb, c);
	c->c_timer = evtimer_new(w->w_base, conn_timer_cb, c);
	if (c->c_rev == NULL || c->c_wev == NULL || c->c_timer == NULL ||
	    buf_init(&c->c_in, CONN_IN_INITIAL) == -1 ||
	    buf_init(&c->c_out, CONN_OUT_INITIAL) == -1) {
		log_warnx("cannot set up a connection");
		if (c->c_rev != NULL)
			event_free(c->c_rev);
		if (c->c_wev != NULL)
			event_free(c->c_wev);
		if (c->c_timer != NULL)
			event_free(c->c_timer);
		buf_free(&c->c_in);
		buf_free(&c->c_out);
		close(fd);
		free(c);
		return;
	}
	/* TCP options come from the listening socket (listen_tune()). */
	TAILQ_INSERT_TAIL(&w->w_conns, c, c_entry);
	w->w_nconns++;
	shm_count(&w->w_slot->ss_c.sc_conn_accepted, 1);
	shm_count(&w->w_slot->ss_c.sc_conn_active, 1);
	c->c_state = CONN_READ_HEADER;
	http_scan_init(&c->c_scan);
	conn_timer_set(c, cf->cf_header_timeout);
	conn_read_update(c);
}
