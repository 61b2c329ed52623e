/*
 * The connection lifecycle, whatever the connection speaks: accepting,
 * reading into the input buffer, sending the output buffer and a file
 * part, the one timer, the switch from one kind to another, the lingering
 * close, and the one destructor, conn_close().
 *
 * What the bytes mean is the kind's business (struct conn_kind): HTTP
 * (http.c), the WebSocket echo (ws.c), and the lingering close below.
 * conn.c calls the kind's handlers when input arrives, when output that
 * waited for the socket is sent, when the timer runs out, when the worker
 * drains and when the client shuts its side; it never looks at the kind.
 * Every byte moves through the connection's struct conn_io: io_plain
 * (io.c) or io_tls (tls.c). An io with a handshake runs it first, here,
 * bounded by header_timeout, and the kind starts once it is done. TLS
 * brings two things a plain socket does not have: bytes read from the
 * socket and held by the io (ci_pending), which no read event announces,
 * so they are read at once; and a read that waits for the socket to take
 * output (TLS answering a KeyUpdate: c_io_wants_write), for which the
 * write event stands in.
 *
 * The timer is armed lazily: setting it only moves c_deadline, and the
 * libevent timer is re-armed only for a deadline earlier than the one it
 * is armed for; a timer that fires before c_deadline arms itself again
 * for the rest. Deadlines mostly move later (each keep-alive request, each
 * WebSocket message), so those cost no timer operation. Writing is
 * bounded by send_timeout without progress (the write event's timeout).
 */

#include <sys/ioctl.h>
#include <sys/uio.h>

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

#define CONN_LINGER_MS	      2000	   /* discard input this long at most */
#define CONN_MAX_SINGLE_WRITE (512 * 1024) /* bytes per sendfile(2) */
#define CONN_IN_INITIAL	      4096	   /* input buffer to start with */
#define CONN_OUT_INITIAL      4096	   /* output buffer to start with */
#define CONN_BUF_KEEP	      (64 * 1024)  /* kept by an idle buffer */
#define CONN_LINGER_IN_MAX    (64 * 1024)  /* read at once while lingering */
#define CONN_IOV_MAX	      64	   /* frames sent by one writev */

/* Return the monotonic time now in milliseconds. */
static long long
conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Return the monotonic time now in microseconds. */
static uint64_t
conn_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
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

/* Make the kind's kd_timer run at deadline (monotonic ms). */
void
conn_timer_until(struct conn *c, long long deadline)
{
	long long now;

	c->c_deadline = deadline;
	if (c->c_timer_due == 0 || deadline < c->c_timer_due) {
		now = conn_now_ms();
		conn_timer_arm(c, now, deadline - now);
	}
}

/* Make the kind's kd_timer run ms milliseconds from now. */
void
conn_timer_set(struct conn *c, long long ms)
{
	conn_timer_until(c, conn_now_ms() + ms);
}

/* Stop the connection's timer (it may still fire, and do nothing). */
void
conn_timer_stop(struct conn *c)
{
	c->c_deadline = 0;
}

/* Free a connection and everything it holds; the one destructor. */
void
conn_close(struct conn *c, const char *reason)
{
	struct worker *w = c->c_worker;

	log_debug("%s: closed (%s): %s", c->c_peer,
	    c->c_handshaking ? "handshake" : c->c_kind->kd_name, reason);
	if (!c->c_handshaking)
		c->c_kind->kd_free(c);
	if (c->c_io->ci_close != NULL)
		c->c_io->ci_close(c);
	shm_count(&w->w_slot->ss_c.sc_conn_active, (uint64_t)-1);
	if (c->c_ip_entry != NULL)
		iplimit_conn_give(
		    shm_ip_table(w->w_sh), shm_ip_ngroups(), c->c_ip_entry);
	event_free(c->c_timer);
	event_free(c->c_rev);
	event_free(c->c_wev);
	close(c->c_fd);
	if (c->c_file != NULL)
		fcache_release(c->c_file);
	buf_free(&c->c_in);
	buf_free(&c->c_out);
	outq_free(&c->c_q);
	outq_frame_unref(c->c_reserved);
	TAILQ_REMOVE(&w->w_conns, c, c_entry);
	w->w_nconns--;
	free(c);
	worker_conn_closed(w);
}

/*
 * Make the connection speak another kind from now on: the old kind's
 * state is freed, then the new kind starts on what is buffered. CONN_GONE
 * if the new kind closed the connection.
 */
int
conn_set_kind(struct conn *c, const struct conn_kind *kind)
{
	c->c_kind->kd_free(c);
	c->c_kind = kind;
	c->c_paused = 0;
	c->c_out_last = 0;
	conn_timer_stop(c);
	return kind->kd_start(c);
}

/*
 * Watch the socket for input exactly when input can be taken: not after
 * the client's end of input, not while the kind paused reading, and not
 * while the input buffer is at its limit (what the client sends beyond it
 * waits in the kernel). The event is changed only when this changes, so a
 * keep-alive request costs no epoll_ctl(2).
 */
void
conn_read_update(struct conn *c)
{
	int want = !c->c_eof && !c->c_paused && buf_len(&c->c_in) < c->c_in_max;

	/* Input the io holds (the rest of a record the input buffer had no
	 * room for): no event would say it is there. */
	if (want && c->c_io->ci_pending != NULL && c->c_io->ci_pending(c) > 0)
		event_active(c->c_rev, EV_READ, 0);
	if (want == c->c_reading)
		return;
	if (want)
		event_add(c->c_rev, NULL);
	else
		event_del(c->c_rev);
	c->c_reading = want;
}

/* Queue len bytes of a cached file from off, sent after c_out. */
void
conn_send_file(struct conn *c, struct fcache_entry *fe, off_t off, off_t len)
{
	fe->fe_refs++;
	c->c_file = fe;
	c->c_file_off = off;
	c->c_file_left = len;
}

/*
 * Tell whether output is still on its way to the client: queued here,
 * waiting for the socket (in the io, too), or sent but not yet
 * acknowledged in the kernel's send queue.
 */
int
conn_output_queued(const struct conn *c)
{
	int unsent;

	return buf_len(&c->c_out) > 0 || c->c_q.oq_len > 0 ||
	    c->c_file_left > 0 || c->c_writing ||
	    (ioctl(c->c_fd, TIOCOUTQ, &unsent) == 0 && unsent > 0);
}

/*
 * Return the bytes queued here and not yet sent (the file part aside),
 * those the io holds (a TLS record) included.
 */
size_t
conn_out_pending(const struct conn *c)
{
	return buf_len(&c->c_out) + c->c_q.oq_bytes +
	    (c->c_io->ci_held != NULL ? c->c_io->ci_held(c) : 0);
}

/*
 * Queue a reference to the shared frame f after everything queued; the
 * kind sends it with conn_flush(). 0, or -1 if out of memory.
 */
int
conn_queue_frame(struct conn *c, struct outq_frame *f)
{
	return outq_push(&c->c_q, f);
}

/* Drop the queued frames not yet started (see outq_clear()). */
void
conn_queue_clear(struct conn *c)
{
	outq_clear(&c->c_q);
}

/*
 * Return room for n bytes of the kind's own output, to fill and then
 * count with conn_out_commit(n): in c_out, or, while shared frames wait,
 * in a frame of its own queued after them, so that the output keeps its
 * order. NULL if out of memory.
 */
char *
conn_out_reserve(struct conn *c, size_t n)
{
	/* A reservation never committed is dropped, wherever it was. */
	outq_frame_unref(c->c_reserved);
	c->c_reserved = NULL;
	if (c->c_q.oq_len == 0)
		return buf_space(&c->c_out, n);
	if ((c->c_reserved = outq_frame_new(n)) == NULL)
		return NULL;
	return c->c_reserved->of_data;
}

/* Count the n bytes written where conn_out_reserve() said as queued. */
void
conn_out_commit(struct conn *c, size_t n)
{
	if (c->c_reserved == NULL) {
		buf_commit(&c->c_out, n);
		return;
	}
	c->c_reserved->of_len = n;
	if (outq_push(&c->c_q, c->c_reserved) == -1)
		log_warnx("%s: out of memory: output dropped", c->c_peer);
	outq_frame_unref(c->c_reserved);
	c->c_reserved = NULL;
}

/* Send queued frames, a writev at a time: 1 for progress, 0 for none. */
static int
conn_flush_frames(struct conn *c)
{
	struct iovec iov[CONN_IOV_MAX];
	ssize_t n;
	int cnt;

	cnt = outq_iov(&c->c_q, iov, CONN_IOV_MAX);
	if ((n = c->c_io->ci_sendv(c, iov, cnt)) <= 0)
		return 0;
	outq_sent(&c->c_q, (size_t)n);
	return 1;
}

/*
 * Send what the buffer and the frame queue hold while the socket takes
 * it, now, without waiting and without closing: an error is left for the
 * next conn_flush() to find. A kind queueing much at once (a batch of
 * chat events) calls it to keep what waits here small.
 */
void
conn_send_some(struct conn *c)
{
	size_t len;
	ssize_t n;

	for (;;) {
		if ((len = buf_len(&c->c_out)) > 0) {
			n = c->c_io->ci_send(c, buf_data(&c->c_out), len, 1);
			if (n <= 0)
				return;
			buf_drain(&c->c_out, (size_t)n);
		} else if (c->c_q.oq_len == 0 || conn_flush_frames(c) == 0)
			break;
	}
	if (c->c_io->ci_flush != NULL)
		c->c_io->ci_flush(c);
}

/* Wait for the socket to take more output, for send_timeout at most. */
static void
conn_wait_writable(struct conn *c, int progress)
{
	long long timeout = c->c_worker->w_cf->cf_send_timeout;
	struct timeval tv;

	/* The timeout restarts only with progress. */
	if (!progress && c->c_writing)
		return;
	tv.tv_sec = timeout / 1000;
	tv.tv_usec = (timeout % 1000) * 1000;
	event_add(c->c_wev, &tv);
	c->c_writing = 1;
}

/* Send the file part: 1 for progress, 0 for none, CONN_GONE. */
static int
conn_flush_file(struct conn *c)
{
	size_t chunk;
	ssize_t n;

	chunk = c->c_file_left < CONN_MAX_SINGLE_WRITE ? (size_t)c->c_file_left
						       : CONN_MAX_SINGLE_WRITE;
	n = c->c_io->ci_sendfile(c, c->c_file->fe_fd, &c->c_file_off, chunk);
	if (n == 0) {
		/* The file shrank under us: the length sent in the head
		 * cannot be kept. */
		conn_close(c, "file ended early");
		return CONN_GONE;
	}
	if (n > 0)
		c->c_file_left -= n;
	return n > 0;
}

/*
 * Write the queued output, the buffer then the file part, until done or
 * the socket is full. A head followed by a file goes with MSG_MORE, so
 * that both leave in one segment when they fit; so does the last output
 * of a connection that closes after it (c_out_last), so that the FIN sent
 * at once rides on its last segment. CONN_FLUSHED, or CONN_PENDING with
 * the write event armed (the kind's kd_writable runs when the socket takes
 * more), or CONN_GONE.
 */
int
conn_flush(struct conn *c)
{
	size_t len;
	ssize_t n;
	int progress = 0, rv;

	for (;;) {
		if ((len = buf_len(&c->c_out)) > 0) {
			n = c->c_io->ci_send(c, buf_data(&c->c_out), len,
			    c->c_out_last || c->c_file_left > 0);
			if (n == -1)
				goto error;
			buf_drain(&c->c_out, (size_t)n);
		} else if (c->c_q.oq_len > 0) {
			if (conn_flush_frames(c) == 0)
				goto error;
		} else if (c->c_file_left > 0) {
			if ((rv = conn_flush_file(c)) == CONN_GONE)
				return CONN_GONE;
			if (rv == 0)
				goto error;
		} else if (c->c_io->ci_flush != NULL) {
			if ((rv = c->c_io->ci_flush(c)) == -1)
				goto error;
			if (rv == 0)
				break;
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
		conn_wait_writable(c, progress);
		return CONN_PENDING;
	}
	conn_close(c, strerror(errno));
	return CONN_GONE;
}

/*
 * The lingering close, a kind of its own: the write side is shut, and
 * input is read and thrown away until the client closes or
 * CONN_LINGER_MS pass, so that closing with unread input does not send a
 * reset that could destroy the last response before the client reads it.
 */

/* Lingering starts: shut the write side, discard what is buffered. */
static int
conn_linger_start(struct conn *c)
{
	c->c_in_max = CONN_LINGER_IN_MAX;
	c->c_io->ci_shutdown(c);
	buf_drain(&c->c_in, buf_len(&c->c_in));
	conn_read_update(c);
	conn_timer_set(c, CONN_LINGER_MS);
	return CONN_OK;
}

/* Input while lingering: thrown away. */
static int
conn_linger_readable(struct conn *c)
{
	buf_drain(&c->c_in, buf_len(&c->c_in));
	conn_read_update(c);
	return CONN_OK;
}

/* Nothing is sent while lingering; nothing waits to be written. */
static int
conn_linger_writable(struct conn *c)
{
	(void)c;
	return CONN_OK;
}

/* The client did not close within CONN_LINGER_MS. */
static int
conn_linger_timer(struct conn *c)
{
	conn_close(c, "linger timeout");
	return CONN_GONE;
}

/* The worker drains: a lingering connection closes anyway, soon. */
static int
conn_linger_drain(struct conn *c)
{
	(void)c;
	return CONN_OK;
}

/* The client closed: lingering is over. */
static int
conn_linger_eof(struct conn *c)
{
	conn_close(c, "done");
	return CONN_GONE;
}

/* Lingering holds no state of its own. */
static void
conn_linger_free(struct conn *c)
{
	(void)c;
}

static const struct conn_kind conn_linger_kind = {
    .kd_name = "linger",
    .kd_start = conn_linger_start,
    .kd_readable = conn_linger_readable,
    .kd_writable = conn_linger_writable,
    .kd_timer = conn_linger_timer,
    .kd_drain = conn_linger_drain,
    .kd_eof = conn_linger_eof,
    .kd_free = conn_linger_free,
};

/*
 * Close once everything is sent, which it must be. When the client may
 * still be sending (peer_may_send, or input is unread), linger first (see
 * conn_linger_kind). CONN_GONE if the connection closed at once, else
 * CONN_OK: it is no longer of the caller's kind.
 */
int
conn_linger(struct conn *c, int peer_may_send)
{
	if (c->c_eof || (!peer_may_send && buf_len(&c->c_in) == 0)) {
		conn_close(c, "done");
		return CONN_GONE;
	}
	return conn_set_kind(c, &conn_linger_kind);
}

/*
 * Read once from the socket into the input buffer, as much as fits below
 * c_in_max: 1 if bytes came, 0 if none (nothing there, or the client's
 * end of input: c_eof is set), CONN_GONE if the read failed.
 */
static int
conn_fill_once(struct conn *c)
{
	size_t limit = c->c_in_max, len, want;
	char *room;
	ssize_t n;

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
	n = c->c_io->ci_read(c, room, want);
	if (n > 0) {
		buf_commit(&c->c_in, (size_t)n);
		shm_count(&c->c_worker->w_slot->ss_c.sc_bytes_in, (uint64_t)n);
		return 1;
	}
	if (n == 0) {
		c->c_eof = 1;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		if (c->c_io_wants_write)
			conn_wait_writable(c, 0);
		return 0;
	}
	conn_close(c, strerror(errno));
	return CONN_GONE;
}

/*
 * Read from the socket into the input buffer, and go on with what the io
 * still holds while there is room: no read event would announce it.
 * What conn_fill_once() returns.
 */
static int
conn_fill(struct conn *c)
{
	int rv, got = 0;

	while ((rv = conn_fill_once(c)) == 1) {
		got = 1;
		if (c->c_io->ci_pending == NULL || c->c_io->ci_pending(c) == 0)
			break;
	}
	return rv == CONN_GONE ? CONN_GONE : got;
}

/*
 * The handshake is over: the kind starts, on the io it has now, and a
 * drain that came meanwhile reaches it. CONN_GONE or CONN_OK.
 */
static int
conn_handshake_done(struct conn *c)
{
	c->c_handshaking = 0;
	c->c_io_wants_write = 0;
	conn_timer_stop(c);
	if (c->c_writing) {
		event_del(c->c_wev);
		c->c_writing = 0;
	}
	event_del(c->c_rev);
	c->c_reading = 0;
	if (c->c_kind->kd_start(c) == CONN_GONE)
		return CONN_GONE;
	return c->c_drain_later ? conn_drain(c) : CONN_OK;
}

/* The handshake ran out of time (header_timeout, or send_timeout waiting
 * to write): count it and close. */
static void
conn_handshake_expired(struct conn *c)
{
	shm_count(
	    &c->c_worker->w_slot->ss_c.sc_tls_failed[SHM_TLS_FAIL_TIMEOUT], 1);
	conn_close(c, "handshake timeout");
}

/* Take the io's handshake as far as it goes now. */
static void
conn_handshake(struct conn *c)
{
	switch (c->c_io->ci_handshake(c)) {
	case CONN_IO_DONE:
		conn_handshake_done(c);
		return;
	case CONN_IO_CLEARTEXT:
		c->c_io->ci_close(c);
		c->c_io = &io_plain;
		c->c_cleartext = 1;
		conn_handshake_done(c);
		return;
	case CONN_IO_WAIT:
		/* The read event stays added all along the handshake. */
		if (c->c_io_wants_write)
			conn_wait_writable(c, 1);
		return;
	default:
		conn_close(c, "handshake failed");
		return;
	}
}

/* The socket is readable: read, and hand the input to the kind. */
static int
conn_readable(struct conn *c)
{
	int rv;

	if ((rv = conn_fill(c)) == CONN_GONE)
		return CONN_GONE;
	if (rv == 1)
		return c->c_kind->kd_readable(c);
	conn_read_update(c); /* at the limit, or at the end of input */
	if (c->c_eof)
		return c->c_kind->kd_eof(c);
	return CONN_OK;
}

/* Read event. */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->c_handshaking)
		conn_handshake(c);
	else
		conn_readable(c);
}

/*
 * The socket is writable again, or send_timeout passed without progress.
 * A read that waited for it goes on first.
 */
static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		if (c->c_handshaking)
			conn_handshake_expired(c);
		else
			conn_close(c, "send timeout");
		return;
	}
	c->c_writing = 0; /* the event fired: it is no longer added */
	if (c->c_handshaking) {
		conn_handshake(c);
		return;
	}
	if (c->c_io_wants_write) {
		c->c_io_wants_write = 0;
		if (conn_readable(c) == CONN_GONE)
			return;
	}
	c->c_kind->kd_writable(c);
}

/* Timer: the kind's deadline passed, unless it moved: then wait for it. */
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
	if (c->c_handshaking) {
		conn_handshake_expired(c);
		return;
	}
	c->c_kind->kd_timer(c);
}

/*
 * Begin a graceful stop (or a reload's drain) on this connection: the
 * kind finishes what it is doing and closes. A handshake goes on (within
 * header_timeout): the kind hears of the drain when it starts.
 * CONN_GONE if it closed now.
 */
int
conn_drain(struct conn *c)
{
	if (c->c_handshaking) {
		c->c_drain_later = 1;
		return CONN_OK;
	}
	return c->c_kind->kd_drain(c);
}

/* Write the client's address as text into c_peer. */
static void
conn_peer_name(struct conn *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    c->c_peer, sizeof(c->c_peer));
	else
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    c->c_peer, sizeof(c->c_peer));
}

/* Write the local port of the listener la, in decimal, into c_port. */
static void
conn_port_name(struct conn *c, const struct listen_addr *la)
{
	const void *sa = &la->la_ss;
	unsigned port;

	if (la->la_ss.ss_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	else
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	snprintf(c->c_port, sizeof(c->c_port), "%u", port);
}

/*
 * Count a new HTTP connection against [server] max_connections_per_ip,
 * unless its address is exempt: one over the limit is marked to get 429.
 */
static void
conn_ip_take(struct conn *c, const struct sockaddr *sa)
{
	const struct config *cf = c->c_worker->w_cf;
	struct shm_counters *sc = &c->c_worker->w_slot->ss_c;
	struct shm_header *sh = c->c_worker->w_sh;

	if ((cf->cf_max_conns_per_ip == 0 && cf->cf_limit_rate == 0) ||
	    iplimit_key(sa, c->c_ip_key) == -1 ||
	    iplimit_cidr_match(cf->cf_exempt, cf->cf_nexempt, c->c_ip_key))
		return;
	c->c_ip_limited = 1;
	if (cf->cf_max_conns_per_ip == 0)
		return;
	switch (iplimit_conn_take(shm_ip_table(sh), shm_ip_ngroups(),
	    sh->sh_ip_seed, c->c_ip_key, (uint32_t)cf->cf_max_conns_per_ip,
	    conn_now_us(), &c->c_ip_entry)) {
	case IPLIMIT_REFUSED:
		c->c_ip_refused = 1;
		shm_count(&sc->sc_limit_conn_refused, 1);
		break;
	case IPLIMIT_UNTRACKED:
		shm_count(&sc->sc_limit_untracked, 1);
		break;
	default:
		break;
	}
}

/*
 * Meter a request of c against [server] limit_rate_per_ip: 1 if it may
 * be answered, 0 if not, with the seconds to wait in *retry_s.
 */
int
conn_ip_rate_ok(struct conn *c, uint64_t *retry_s)
{
	const struct config *cf = c->c_worker->w_cf;
	struct shm_counters *sc = &c->c_worker->w_slot->ss_c;
	struct shm_header *sh = c->c_worker->w_sh;

	if (!c->c_ip_limited || cf->cf_limit_rate == 0)
		return 1;
	switch (iplimit_rate_take(shm_ip_table(sh), shm_ip_ngroups(),
	    sh->sh_ip_seed, c->c_ip_key, (uint64_t)cf->cf_limit_rate,
	    (uint64_t)cf->cf_limit_burst, conn_now_us(), retry_s)) {
	case IPLIMIT_REFUSED:
		shm_count(&sc->sc_limit_rate_refused, 1);
		return 0;
	case IPLIMIT_UNTRACKED:
		shm_count(&sc->sc_limit_untracked, 1);
		return 1;
	default:
		return 1;
	}
}

/* Free what conn_accept() set up before it failed. */
static void
conn_abandon(struct conn *c)
{
	if (c->c_rev != NULL)
		event_free(c->c_rev);
	if (c->c_wev != NULL)
		event_free(c->c_wev);
	if (c->c_timer != NULL)
		event_free(c->c_timer);
	buf_free(&c->c_in);
	buf_free(&c->c_out);
	close(c->c_fd);
	free(c);
}

/* Return the virtual host of the request c is answering. */
const struct vhost *
conn_host(const struct conn *c)
{
	return &c->c_worker->w_cf->cf_hosts[c->c_host];
}

/*
 * Take over a socket accepted on la, whose bytes move through io and which
 * speaks kind from the start, or once the io's handshake is done.
 */
void
conn_accept(struct worker *w, int fd, const struct sockaddr *sa,
    const struct listen_addr *la, const struct conn_kind *kind,
    const struct conn_io *io)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("calloc");
		close(fd);
		return;
	}
	conn_peer_name(c, sa);
	conn_port_name(c, la);
	c->c_worker = w;
	c->c_fd = fd;
	c->c_host = w->w_cf->cf_host_default;
	c->c_sni_host = -1;
	c->c_io = io;
	c->c_kind = kind;
	c->c_rev =
	    event_new(w->w_base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->c_wev = event_new(w->w_base, fd, EV_WRITE, conn_write_cb, c);
	c->c_timer = evtimer_new(w->w_base, conn_timer_cb, c);
	if (c->c_rev == NULL || c->c_wev == NULL || c->c_timer == NULL ||
	    buf_init(&c->c_in, CONN_IN_INITIAL) == -1 ||
	    buf_init(&c->c_out, CONN_OUT_INITIAL) == -1 ||
	    (io->ci_open != NULL && io->ci_open(c) == -1)) {
		log_warnx("cannot set up a connection");
		conn_abandon(c);
		return;
	}
	/* TCP options come from the listening socket (listen_tune()). */
	if (kind == &http_kind)
		conn_ip_take(c, sa);
	TAILQ_INSERT_TAIL(&w->w_conns, c, c_entry);
	w->w_nconns++;
	shm_count(&w->w_slot->ss_c.sc_conn_accepted, 1);
	shm_count(&w->w_slot->ss_c.sc_conn_active, 1);
	if (io->ci_handshake == NULL) {
		kind->kd_start(c);
		return;
	}
	c->c_handshaking = 1;
	conn_timer_set(c, w->w_cf->cf_header_timeout);
	event_add(c->c_rev, NULL);
	c->c_reading = 1;
	if (w->w_draining)
		c->c_drain_later = 1;
}
