/*
 * tlsload: a load generator for TLS handshakes. N connections at a time,
 * each of them: connect, TLS handshake, one GET with Connection: close,
 * read the response to the server's close, close; then the next. With -r
 * each connection offers the session (TLS 1.3 ticket, or TLS 1.2 session
 * or ticket) that the last connection of its slot got, so that every
 * handshake but a slot's first is a resumption; without it every
 * handshake is a full one. After a warm-up that is not counted it
 * measures for a fixed time (or a number of requests), then prints the
 * requests per second, the latency percentiles of a request (from
 * connect() to the server's close), the handshakes resumed and those that
 * offered a session (so that a caller can check resumption happened),
 * and the errors.
 *
 * wrk cannot do this: it keeps each connection's SSL object and its
 * session across reconnects, so that with Connection: close every
 * handshake after the first is resumed, and no full handshake is ever
 * measured.
 *
 * One thread, one libevent loop over nonblocking sockets, as wsload; the
 * address, clock and histogram are wsclient.c's, the TLS context
 * tlsclient.c's.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include "tlsclient.h"
#include "wsclient.h"

#define TLSLOAD_NAME	    "tlsload"
#define TLSLOAD_MAX_CONNS   10000
#define TLSLOAD_HEAD_MAX    8192  /* bytes of a response header */
#define TLSLOAD_SCRATCH	    65536 /* where response bodies are read */
#define TLSLOAD_SHOWN	    10	  /* error messages printed, at most */
#define TLSLOAD_OPT_JSON    256	  /* getopt_long value of --json */
#define TLSLOAD_MAX_REQUEST 4096  /* bytes of the request */

/* Where a connection slot is. */
enum tlsload_state {
	TLSLOAD_IDLE = 0,   /* no connection: before, between, after */
	TLSLOAD_CONNECTING, /* connect() in progress */
	TLSLOAD_HANDSHAKE,  /* SSL_connect() in progress */
	TLSLOAD_SENDING,    /* the request being written */
	TLSLOAD_READING,    /* the response, until the server's close */
};

/* Where the whole run is. */
enum tlsload_phase {
	TLSLOAD_WARMUP = 0, /* requests made, not counted */
	TLSLOAD_MEASURE,    /* requests counted */
	TLSLOAD_DRAIN,	    /* no new connection; the last ones end */
};

struct tlsload;

/* One connection slot, which makes one connection after another. */
struct tlsload_conn {
	struct tlsload *tc_tl;	     /* the run it belongs to */
	unsigned tc_id;		     /* index, 0..N-1 */
	enum tlsload_state tc_state; /* see the enum */
	int tc_fd;		     /* socket, -1 when idle */
	SSL *tc_ssl;		     /* its TLS connection, NULL when idle */
	SSL_SESSION *tc_session;     /* -r: to offer next; NULL: none */
	int tc_offered;		     /* this connection offered one */
	struct event tc_ev;	     /* readiness the connection waits for */
	short tc_waiting;	     /* EV_READ or EV_WRITE pending; 0: none */
	uint64_t tc_start;	     /* when connect() was called */
	uint64_t tc_deadline;	     /* fail if not done by then */
	size_t tc_sent;		     /* request bytes written */
	char *tc_head;		     /* the response header so far */
	size_t tc_hlen;		     /* bytes in tc_head */
	size_t tc_hend;		     /* header length; 0 until whole */
	int tc_status;		     /* the response's status */
	long long tc_clen;	     /* its Content-Length; -1: none */
	uint64_t tc_body;	     /* body bytes read */
};

/* The run: options, connection slots, counters. */
struct tlsload {
	struct event_base *tl_base;
	SSL_CTX *tl_ctx;
	struct wsclient_addr tl_server; /* where to connect, Host header */
	const char *tl_path;		/* -p */
	char tl_request[TLSLOAD_MAX_REQUEST];
	size_t tl_request_len;
	unsigned tl_nconns;	/* -c */
	uint64_t tl_limit;	/* -n; 0: none */
	int tl_resume;		/* -r */
	int tl_expect;		/* -S: the status every response has */
	double tl_duration;	/* -d, seconds */
	double tl_warmup;	/* -w, seconds */
	double tl_timeout;	/* -t, seconds */
	uint64_t tl_timeout_ns; /* the same in ns */
	int tl_json;		/* --json */
	struct tlsload_conn *tl_conns;
	unsigned tl_nbusy; /* slots with a connection */
	enum tlsload_phase tl_phase;
	int tl_interrupted;	   /* SIGINT or SIGTERM */
	uint64_t tl_t0, tl_t1;	   /* measurement start and end, ns */
	uint64_t tl_requests;	   /* responses whole while measuring */
	uint64_t tl_offered;	   /* of which offered a session (-r) */
	uint64_t tl_resumed;	   /* of which over a resumed session */
	uint64_t tl_bytes;	   /* their bytes, header and body */
	uint64_t tl_errors;	   /* connections that failed */
	unsigned tl_shown;	   /* error messages printed */
	const char *tl_protocol;   /* of the last measured connection */
	const char *tl_cipher;	   /* the same */
	unsigned char *tl_scratch; /* response bodies, read and dropped */
	struct event *tl_timer;	   /* end of warm-up, end of measurement */
	struct event *tl_tick;	   /* once a second: deadlines, restarts */
	struct event *tl_sigint, *tl_sigterm;
	struct wsclient_hist tl_hist; /* request latencies */
};

static void tlsload_usage(FILE *fp);
static void tlsload_fail(struct tlsload_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tlsload_wait(struct tlsload_conn *c, short what);
static int tlsload_status(struct tlsload_conn *c, int ret, const char *what);
static void tlsload_close(struct tlsload_conn *c, int clean);
static int tlsload_may_open(const struct tlsload *tl);
static void tlsload_open(struct tlsload_conn *c);
static int tlsload_connected(struct tlsload_conn *c);
static int tlsload_handshake(struct tlsload_conn *c);
static int tlsload_send(struct tlsload_conn *c);
static int tlsload_head(struct tlsload_conn *c);
static int tlsload_take(struct tlsload_conn *c, size_t n);
static int tlsload_read(struct tlsload_conn *c);
static void tlsload_finish(struct tlsload_conn *c);
static void tlsload_event_cb(evutil_socket_t fd, short what, void *arg);
static void tlsload_stop(struct tlsload *tl);
static void tlsload_timer_cb(evutil_socket_t fd, short what, void *arg);
static void tlsload_tick_cb(evutil_socket_t fd, short what, void *arg);
static void tlsload_signal_cb(evutil_socket_t fd, short what, void *arg);
static int tlsload_setup(struct tlsload *tl);
static void tlsload_start(struct tlsload *tl);
static void tlsload_report(struct tlsload *tl);
static void tlsload_free(struct tlsload *tl);
static int tlsload_options(struct tlsload *tl, int argc, char *argv[]);

/* Print the usage message to fp. */
static void
tlsload_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-r] [-c CONNECTIONS] [-d SECONDS] [-n REQUESTS] "
	    "[-p PATH]\n"
	    "               [-S STATUS] [-t SECONDS] [-w WARMUP_SECONDS] "
	    "[--json] HOST:PORT\n"
	    "  -c N        N connections at a time, each: connect, TLS "
	    "handshake,\n"
	    "              GET with Connection: close, read to the close "
	    "(default 1)\n"
	    "  -d SECONDS  measure for SECONDS (default 5)\n"
	    "  -n N        ... or until N requests, if sooner\n"
	    "  -p PATH     request PATH (default /)\n"
	    "  -r          resume: offer the session of the slot's last "
	    "connection\n"
	    "              (default: a full handshake every time)\n"
	    "  -S STATUS   the status every response must have (default "
	    "200)\n"
	    "  -t SECONDS  fail a request that takes longer (default 10)\n"
	    "  -w SECONDS  warm up for SECONDS first, not counted (default "
	    "1)\n"
	    "  --json      print the result as one JSON object\n"
	    "  -h          print this help and exit\n"
	    "No certificate is verified and no server name is sent.\n",
	    TLSLOAD_NAME);
}

/*
 * Fail the connection of slot c: count and print why (at most
 * TLSLOAD_SHOWN times), drop the session it would have offered, close it
 * without a close_notify. The slot makes its next connection on the next
 * tick, so that a server that refuses them costs no busy loop.
 */
static void
tlsload_fail(struct tlsload_conn *c, const char *fmt, ...)
{
	struct tlsload *tl = c->tc_tl;
	va_list ap;

	tl->tl_errors++;
	if (tl->tl_shown++ < TLSLOAD_SHOWN) {
		fprintf(stderr, "%s: %s%s connection %u: ", TLSLOAD_NAME,
		    tl->tl_server.wa_host, tl->tl_path, c->tc_id + 1);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	} else if (tl->tl_shown == TLSLOAD_SHOWN + 1)
		fprintf(stderr, "%s: further errors not shown\n", TLSLOAD_NAME);
	SSL_SESSION_free(c->tc_session);
	c->tc_session = NULL;
	tlsload_close(c, 0);
}

/* Wait for the connection of c to become readable or writable (what). */
static void
tlsload_wait(struct tlsload_conn *c, short what)
{
	if (c->tc_waiting == what)
		return;
	if (c->tc_waiting != 0)
		event_del(&c->tc_ev);
	event_assign(&c->tc_ev, c->tc_tl->tl_base, c->tc_fd,
	    (short)(what | EV_PERSIST), tlsload_event_cb, c);
	event_add(&c->tc_ev, NULL);
	c->tc_waiting = what;
}

/*
 * Act on an SSL call of c, during what, that returned ret without
 * success: wait for the socket as it asks (return 1), or fail the
 * connection (return -1). The end of the stream is a failure here.
 */
static int
tlsload_status(struct tlsload_conn *c, int ret, const char *what)
{
	char msg[WSCLIENT_MSG_MAX];

	switch (tlsclient_status(c->tc_ssl, ret, msg, sizeof(msg))) {
	case TLSCLIENT_WANT_READ:
		tlsload_wait(c, EV_READ);
		return 1;
	case TLSCLIENT_WANT_WRITE:
		tlsload_wait(c, EV_WRITE);
		return 1;
	case TLSCLIENT_EOF:
		tlsload_fail(c, "%s: the server closed the connection", what);
		return -1;
	default:
		tlsload_fail(c, "%s: %s", what, msg);
		return -1;
	}
}

/*
 * Close the connection of c, if any, and leave the slot idle. A clean
 * one ended with the server's close: its side is closed already, and a
 * close_notify sent now would draw a reset, so none is sent; marking the
 * shutdown done keeps its session resumable, which OpenSSL withdraws from
 * a connection freed in the middle.
 */
static void
tlsload_close(struct tlsload_conn *c, int clean)
{
	struct tlsload *tl = c->tc_tl;

	if (c->tc_state == TLSLOAD_IDLE)
		return;
	if (c->tc_waiting != 0)
		event_del(&c->tc_ev);
	c->tc_waiting = 0;
	if (c->tc_ssl != NULL) {
		if (clean)
			SSL_set_shutdown(c->tc_ssl,
			    SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->tc_ssl);
		c->tc_ssl = NULL;
	}
	close(c->tc_fd);
	c->tc_fd = -1;
	c->tc_state = TLSLOAD_IDLE;
	if (--tl->tl_nbusy == 0 && tl->tl_phase == TLSLOAD_DRAIN)
		event_base_loopbreak(tl->tl_base);
}

/* Return whether a new connection may start. */
static int
tlsload_may_open(const struct tlsload *tl)
{
	if (tl->tl_phase == TLSLOAD_DRAIN)
		return 0;
	return tl->tl_phase == TLSLOAD_WARMUP || tl->tl_limit == 0 ||
	    tl->tl_requests + tl->tl_nbusy < tl->tl_limit;
}

/* Start the next connection of idle slot c: socket and connect(). */
static void
tlsload_open(struct tlsload_conn *c)
{
	struct tlsload *tl = c->tc_tl;
	int fd, one = 1;

	fd = socket(tl->tl_server.wa_addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		tl->tl_errors++;
		fprintf(
		    stderr, "%s: socket: %s\n", TLSLOAD_NAME, strerror(errno));
		return; /* the next tick tries again */
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->tc_fd = fd;
	c->tc_state = TLSLOAD_CONNECTING;
	c->tc_start = wsclient_now();
	c->tc_deadline = c->tc_start + tl->tl_timeout_ns;
	c->tc_sent = c->tc_hlen = c->tc_hend = 0;
	c->tc_status = 0;
	c->tc_clen = -1;
	c->tc_body = 0;
	tl->tl_nbusy++;
	if (connect(fd, (struct sockaddr *)&tl->tl_server.wa_addr,
		tl->tl_server.wa_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		tlsload_fail(c, "connect: %s", strerror(errno));
		return;
	}
	tlsload_wait(c, EV_WRITE);
}

/*
 * The connect() of c ended: if it succeeded, make its TLS connection,
 * with the session to resume if there is one. Return 0, or -1 if failed.
 */
static int
tlsload_connected(struct tlsload_conn *c)
{
	socklen_t len = sizeof(int);
	int error = 0;

	if (getsockopt(c->tc_fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		error = errno;
	if (error != 0) {
		tlsload_fail(c, "connect: %s", strerror(error));
		return -1;
	}
	if ((c->tc_ssl = SSL_new(c->tc_tl->tl_ctx)) == NULL ||
	    SSL_set_fd(c->tc_ssl, c->tc_fd) != 1 ||
	    (c->tc_session != NULL &&
		SSL_set_session(c->tc_ssl, c->tc_session) != 1)) {
		tlsload_fail(c, "cannot make a TLS connection");
		return -1;
	}
	SSL_set_connect_state(c->tc_ssl);
	c->tc_offered = c->tc_session != NULL;
	c->tc_state = TLSLOAD_HANDSHAKE;
	return 0;
}

/* Go on with the handshake of c. Return 0 once done, 1 to wait, or -1. */
static int
tlsload_handshake(struct tlsload_conn *c)
{
	int r = SSL_connect(c->tc_ssl);

	if (r != 1)
		return tlsload_status(c, r, "handshake");
	c->tc_state = TLSLOAD_SENDING;
	return 0;
}

/* Write the rest of the request on c. Return 0 once sent, 1, or -1. */
static int
tlsload_send(struct tlsload_conn *c)
{
	struct tlsload *tl = c->tc_tl;
	size_t n;
	int r;

	while (c->tc_sent < tl->tl_request_len) {
		r = SSL_write_ex(c->tc_ssl, tl->tl_request + c->tc_sent,
		    tl->tl_request_len - c->tc_sent, &n);
		if (r != 1)
			return tlsload_status(c, r, "request");
		c->tc_sent += n;
	}
	c->tc_state = TLSLOAD_READING;
	return 0;
}

/*
 * Parse the response header of c, whole in its first tc_hend bytes: the
 * status and Content-Length. Return 0, or fail the connection (-1).
 */
static int
tlsload_head(struct tlsload_conn *c)
{
	const char *p = c->tc_head, *end = c->tc_head + c->tc_hend, *eol;
	char *num_end;
	size_t len;

	if (c->tc_hend < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5') {
		tlsload_fail(c, "not an HTTP response: %.*s",
		    (int)(c->tc_hend < 40 ? c->tc_hend : 40), p);
		return -1;
	}
	c->tc_status = (int)strtol(p + 9, NULL, 10);
	eol = memmem(p, c->tc_hend, "\r\n", 2);
	while (eol != NULL && (p = eol + 2) < end) {
		if ((eol = memmem(p, (size_t)(end - p), "\r\n", 2)) == NULL)
			break;
		len = (size_t)(eol - p);
		if (len > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
			errno = 0;
			c->tc_clen = strtoll(p + 15, &num_end, 10);
			if (errno != 0 || c->tc_clen < 0 || num_end == p + 15) {
				tlsload_fail(c, "bad Content-Length: %.*s",
				    (int)(len > 60 ? 60 : len), p);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Take n bytes just read on c: into the header until it is whole, then
 * the body. Return 0, or fail the connection (-1).
 */
static int
tlsload_take(struct tlsload_conn *c, size_t n)
{
	const char *eoh;
	size_t from;

	if (c->tc_hend == 0) {
		from = c->tc_hlen > 3 ? c->tc_hlen - 3 : 0;
		c->tc_hlen += n;
		eoh =
		    memmem(c->tc_head + from, c->tc_hlen - from, "\r\n\r\n", 4);
		if (eoh == NULL) {
			if (c->tc_hlen < TLSLOAD_HEAD_MAX)
				return 0;
			tlsload_fail(c, "response header longer than %d bytes",
			    TLSLOAD_HEAD_MAX);
			return -1;
		}
		c->tc_hend = (size_t)(eoh - c->tc_head) + 4;
		if (tlsload_head(c) == -1)
			return -1;
		n = c->tc_hlen - c->tc_hend;
	}
	c->tc_body += n;
	if (c->tc_clen >= 0 && c->tc_body > (uint64_t)c->tc_clen) {
		tlsload_fail(c, "more than the %lld bytes of Content-Length",
		    c->tc_clen);
		return -1;
	}
	return 0;
}

/*
 * Read the response on c until the server's close, then finish it.
 * Return 1 to wait, or -1 once the connection is closed.
 */
static int
tlsload_read(struct tlsload_conn *c)
{
	struct tlsload *tl = c->tc_tl;
	char msg[WSCLIENT_MSG_MAX];
	unsigned char *buf;
	size_t n, space;
	int r;

	/* Until the SSL buffer and the socket are empty: no event
	 * would say that the SSL buffer still holds a record. */
	for (;;) {
		if (c->tc_hend == 0) {
			buf = (unsigned char *)c->tc_head + c->tc_hlen;
			space = TLSLOAD_HEAD_MAX - c->tc_hlen;
		} else {
			buf = tl->tl_scratch;
			space = TLSLOAD_SCRATCH;
		}
		r = SSL_read_ex(c->tc_ssl, buf, space, &n);
		if (r != 1)
			break;
		if (tlsload_take(c, n) == -1)
			return -1;
	}
	switch (tlsclient_status(c->tc_ssl, r, msg, sizeof(msg))) {
	case TLSCLIENT_WANT_READ:
		tlsload_wait(c, EV_READ);
		return 1;
	case TLSCLIENT_WANT_WRITE:
		tlsload_wait(c, EV_WRITE);
		return 1;
	case TLSCLIENT_EOF:
		tlsload_finish(c);
		return -1;
	default:
		tlsload_fail(c, "response: %s", msg);
		return -1;
	}
}

/*
 * The server closed the connection of c: check the response, count it
 * while measuring, keep its session to resume with -r, close, and start
 * the next one.
 */
static void
tlsload_finish(struct tlsload_conn *c)
{
	struct tlsload *tl = c->tc_tl;

	if (c->tc_hend == 0) {
		tlsload_fail(c, "closed before a whole response header");
		return;
	}
	if (c->tc_clen >= 0 && c->tc_body != (uint64_t)c->tc_clen) {
		tlsload_fail(c, "closed after %" PRIu64 " of %lld body bytes",
		    c->tc_body, c->tc_clen);
		return;
	}
	if (c->tc_status != tl->tl_expect) {
		tlsload_fail(
		    c, "status %d, expected %d", c->tc_status, tl->tl_expect);
		return;
	}
	if (tl->tl_phase == TLSLOAD_MEASURE) {
		wsclient_hist_add(&tl->tl_hist, wsclient_now() - c->tc_start);
		tl->tl_requests++;
		tl->tl_offered += c->tc_offered ? 1 : 0;
		tl->tl_resumed += SSL_session_reused(c->tc_ssl) ? 1 : 0;
		tl->tl_bytes += c->tc_hend + c->tc_body;
		tl->tl_protocol = SSL_get_version(c->tc_ssl);
		tl->tl_cipher = SSL_get_cipher_name(c->tc_ssl);
	}
	if (tl->tl_resume) {
		SSL_SESSION_free(c->tc_session);
		c->tc_session = SSL_get1_session(c->tc_ssl);
	}
	tlsload_close(c, 1);
	if (tl->tl_phase == TLSLOAD_MEASURE && tl->tl_limit != 0 &&
	    tl->tl_requests >= tl->tl_limit)
		tlsload_stop(tl);
	else if (tlsload_may_open(tl))
		tlsload_open(c);
}

/* The connection of slot arg is ready as it waited for: go on. */
static void
tlsload_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tlsload_conn *c = arg;
	int r = 0;

	(void)fd;
	(void)what;
	while (r == 0) {
		switch (c->tc_state) {
		case TLSLOAD_CONNECTING:
			r = tlsload_connected(c);
			break;
		case TLSLOAD_HANDSHAKE:
			r = tlsload_handshake(c);
			break;
		case TLSLOAD_SENDING:
			r = tlsload_send(c);
			break;
		case TLSLOAD_READING:
			r = tlsload_read(c);
			break;
		default:
			return;
		}
	}
}

/* End the measurement: no new connection; the loop ends with the last. */
static void
tlsload_stop(struct tlsload *tl)
{
	if (tl->tl_phase == TLSLOAD_MEASURE)
		tl->tl_t1 = wsclient_now();
	tl->tl_phase = TLSLOAD_DRAIN;
	event_del(tl->tl_timer);
	if (tl->tl_nbusy == 0)
		event_base_loopbreak(tl->tl_base);
}

/* The warm-up or the measurement is over. */
static void
tlsload_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tlsload *tl = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (tl->tl_phase != TLSLOAD_WARMUP) {
		tlsload_stop(tl);
		return;
	}
	tl->tl_phase = TLSLOAD_MEASURE;
	tl->tl_t0 = wsclient_now();
	tv.tv_sec = (time_t)tl->tl_duration;
	tv.tv_usec = (suseconds_t)((tl->tl_duration - (double)tv.tv_sec) * 1e6);
	evtimer_add(tl->tl_timer, &tv);
}

/*
 * Once a second: fail every connection past its deadline, and start a
 * connection on every idle slot (one whose last connection failed).
 */
static void
tlsload_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	static const char *const doing[] = {
	    "", "connect", "handshake", "request", "response"};
	struct tlsload *tl = arg;
	struct tlsload_conn *c;
	uint64_t now = wsclient_now();
	unsigned i;

	(void)fd;
	(void)what;
	for (i = 0; i < tl->tl_nconns; i++) {
		c = &tl->tl_conns[i];
		if (c->tc_state != TLSLOAD_IDLE && now >= c->tc_deadline)
			tlsload_fail(c, "%s: not done within %g s",
			    doing[c->tc_state], tl->tl_timeout);
		if (c->tc_state == TLSLOAD_IDLE && tlsload_may_open(tl))
			tlsload_open(c);
	}
}

/* SIGINT or SIGTERM: stop measuring now; a second one stops at once. */
static void
tlsload_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tlsload *tl = arg;

	(void)fd;
	(void)what;
	if (tl->tl_interrupted++ > 0) {
		event_base_loopbreak(tl->tl_base);
		return;
	}
	tlsload_stop(tl);
}

/*
 * Build the request, allocate the slots and the events. Return 0, or -1
 * if out of memory.
 */
static int
tlsload_setup(struct tlsload *tl)
{
	struct timeval sec = {1, 0};
	unsigned n;
	int len;

	len = snprintf(tl->tl_request, sizeof(tl->tl_request),
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: " TLSLOAD_NAME "\r\n"
	    "Connection: close\r\n"
	    "\r\n",
	    tl->tl_path, tl->tl_server.wa_host);
	if (len < 0 || (size_t)len >= sizeof(tl->tl_request))
		return -1;
	tl->tl_request_len = (size_t)len;
	tl->tl_conns = calloc(tl->tl_nconns, sizeof(*tl->tl_conns));
	tl->tl_scratch = malloc(TLSLOAD_SCRATCH);
	if (tl->tl_conns == NULL || tl->tl_scratch == NULL)
		return -1;
	for (n = 0; n < tl->tl_nconns; n++) {
		tl->tl_conns[n].tc_tl = tl;
		tl->tl_conns[n].tc_id = n;
		tl->tl_conns[n].tc_fd = -1;
		if ((tl->tl_conns[n].tc_head = malloc(TLSLOAD_HEAD_MAX)) ==
		    NULL)
			return -1;
	}
	tl->tl_timer = evtimer_new(tl->tl_base, tlsload_timer_cb, tl);
	tl->tl_tick =
	    event_new(tl->tl_base, -1, EV_PERSIST, tlsload_tick_cb, tl);
	tl->tl_sigint =
	    evsignal_new(tl->tl_base, SIGINT, tlsload_signal_cb, tl);
	tl->tl_sigterm =
	    evsignal_new(tl->tl_base, SIGTERM, tlsload_signal_cb, tl);
	if (tl->tl_timer == NULL || tl->tl_tick == NULL ||
	    tl->tl_sigint == NULL || tl->tl_sigterm == NULL)
		return -1;
	event_add(tl->tl_tick, &sec);
	event_add(tl->tl_sigint, NULL);
	event_add(tl->tl_sigterm, NULL);
	return 0;
}

/* Start the warm-up (or the measurement) and every slot's connection. */
static void
tlsload_start(struct tlsload *tl)
{
	struct timeval tv;
	double secs = tl->tl_warmup;
	unsigned n;

	if (secs > 0)
		tl->tl_phase = TLSLOAD_WARMUP;
	else {
		tl->tl_phase = TLSLOAD_MEASURE;
		tl->tl_t0 = wsclient_now();
		secs = tl->tl_duration;
	}
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(tl->tl_timer, &tv);
	for (n = 0; n < tl->tl_nconns && tlsload_may_open(tl); n++)
		tlsload_open(&tl->tl_conns[n]);
}

/* Print the result, as text or as one JSON object. */
static void
tlsload_report(struct tlsload *tl)
{
	const struct wsclient_hist *h = &tl->tl_hist;
	double secs = 0, rate = 0, resumed = 0, p50 = 0, p90 = 0, p99 = 0;
	double p999 = 0, mean = 0, max = 0;
	int have = h->wh_count > 0;

	if (tl->tl_t1 > tl->tl_t0 && tl->tl_t0 != 0)
		secs = (double)(tl->tl_t1 - tl->tl_t0) / 1e9;
	if (secs > 0)
		rate = (double)tl->tl_requests / secs;
	if (have) {
		resumed = (double)tl->tl_resumed / (double)tl->tl_requests;
		p50 = wsclient_hist_percentile(h, 0.50) / 1e3;
		p90 = wsclient_hist_percentile(h, 0.90) / 1e3;
		p99 = wsclient_hist_percentile(h, 0.99) / 1e3;
		p999 = wsclient_hist_percentile(h, 0.999) / 1e3;
		mean = h->wh_sum / (double)h->wh_count / 1e3;
		max = (double)h->wh_max / 1e3;
	}
	if (tl->tl_json) {
		printf("{\"connections\":%u,\"resume\":%s,\"seconds\":%.3f,"
		       "\"requests\":%" PRIu64 ",\"requests_per_sec\":%.1f,"
		       "\"offered\":%" PRIu64 ",\"resumed\":%" PRIu64
		       ",\"resumed_fraction\":%.4f,\"bytes\":%" PRIu64,
		    tl->tl_nconns, tl->tl_resume ? "true" : "false", secs,
		    tl->tl_requests, rate, tl->tl_offered, tl->tl_resumed,
		    resumed, tl->tl_bytes);
		if (have)
			printf(",\"mean_us\":%.1f,\"p50_us\":%.1f,"
			       "\"p90_us\":%.1f,\"p99_us\":%.1f,"
			       "\"p999_us\":%.1f,\"max_us\":%.1f,"
			       "\"protocol\":\"%s\",\"cipher\":\"%s\"",
			    mean, p50, p90, p99, p999, max, tl->tl_protocol,
			    tl->tl_cipher);
		else
			printf(",\"mean_us\":null,\"p50_us\":null,"
			       "\"p90_us\":null,\"p99_us\":null,"
			       "\"p999_us\":null,\"max_us\":null,"
			       "\"protocol\":null,\"cipher\":null");
		printf(",\"errors\":%" PRIu64 "}\n", tl->tl_errors);
		return;
	}
	printf("%s%s: %u connection%s at a time, %s handshakes, %.3f s "
	       "measured\n",
	    tl->tl_server.wa_host, tl->tl_path, tl->tl_nconns,
	    tl->tl_nconns == 1 ? "" : "s", tl->tl_resume ? "resumed" : "full",
	    secs);
	printf("  requests  %" PRIu64 ", %.1f/s, %.3f MB/s\n", tl->tl_requests,
	    rate, secs > 0 ? (double)tl->tl_bytes / secs / 1e6 : 0);
	printf("  resumed   %" PRIu64 " (%.1f%%), of %" PRIu64
	       " that offered a session\n",
	    tl->tl_resumed, 100 * resumed, tl->tl_offered);
	if (have) {
		printf("  latency   mean %.1f us, p50 %.1f us, p90 %.1f us, "
		       "p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
		    mean, p50, p90, p99, p999, max);
		printf("  TLS       %s, %s\n", tl->tl_protocol, tl->tl_cipher);
	} else
		printf("  latency   no request measured\n");
	printf("  errors    %" PRIu64 "\n", tl->tl_errors);
}

/* Close what is open and free everything. */
static void
tlsload_free(struct tlsload *tl)
{
	struct tlsload_conn *c;
	unsigned n;

	for (n = 0; tl->tl_conns != NULL && n < tl->tl_nconns; n++) {
		c = &tl->tl_conns[n];
		if (c->tc_state != TLSLOAD_IDLE) {
			if (c->tc_waiting != 0)
				event_del(&c->tc_ev);
			SSL_free(c->tc_ssl);
			close(c->tc_fd);
		}
		SSL_SESSION_free(c->tc_session);
		free(c->tc_head);
	}
	free(tl->tl_conns);
	free(tl->tl_scratch);
	if (tl->tl_timer != NULL)
		event_free(tl->tl_timer);
	if (tl->tl_tick != NULL)
		event_free(tl->tl_tick);
	if (tl->tl_sigint != NULL)
		event_free(tl->tl_sigint);
	if (tl->tl_sigterm != NULL)
		event_free(tl->tl_sigterm);
	SSL_CTX_free(tl->tl_ctx);
	if (tl->tl_base != NULL)
		event_base_free(tl->tl_base);
}

/*
 * Parse the command line into tl. Return 0, 1 after -h, or -1 after
 * saying what is wrong.
 */
static int
tlsload_options(struct tlsload *tl, int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, TLSLOAD_OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *p;
	long long v;
	int ch;

	while ((ch = getopt_long(
		    argc, argv, "c:d:hn:p:rS:t:w:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (wsclient_count(optarg, 1, TLSLOAD_MAX_CONNS, &v) ==
			    -1) {
				fprintf(stderr,
				    "%s: -c %s: expected 1 to %d "
				    "connections\n",
				    TLSLOAD_NAME, optarg, TLSLOAD_MAX_CONNS);
				return -1;
			}
			tl->tl_nconns = (unsigned)v;
			break;
		case 'd':
			if (wsclient_seconds(optarg, 0.001, &tl->tl_duration) ==
			    -1) {
				fprintf(stderr,
				    "%s: -d %s: expected 0.001 to %.0f "
				    "seconds\n",
				    TLSLOAD_NAME, optarg, WSCLIENT_MAX_SECS);
				return -1;
			}
			break;
		case 'n':
			if (wsclient_count(optarg, 1, INT64_MAX, &v) == -1) {
				fprintf(stderr,
				    "%s: -n %s: expected 1 request or more\n",
				    TLSLOAD_NAME, optarg);
				return -1;
			}
			tl->tl_limit = (uint64_t)v;
			break;
		case 'p':
			for (p = optarg; *p > ' ' && *p < 0x7f; p++)
				;
			if (optarg[0] != '/' || *p != '\0' ||
			    strlen(optarg) > TLSLOAD_MAX_REQUEST / 2) {
				fprintf(stderr,
				    "%s: -p %s: expected a path that "
				    "starts with / and has no spaces\n",
				    TLSLOAD_NAME, optarg);
				return -1;
			}
			tl->tl_path = optarg;
			break;
		case 'r':
			tl->tl_resume = 1;
			break;
		case 'S':
			if (wsclient_count(optarg, 100, 599, &v) == -1) {
				fprintf(stderr,
				    "%s: -S %s: expected a status, 100 to "
				    "599\n",
				    TLSLOAD_NAME, optarg);
				return -1;
			}
			tl->tl_expect = (int)v;
			break;
		case 't':
			if (wsclient_seconds(optarg, 0.1, &tl->tl_timeout) ==
			    -1) {
				fprintf(stderr,
				    "%s: -t %s: expected 0.1 to %.0f "
				    "seconds\n",
				    TLSLOAD_NAME, optarg, WSCLIENT_MAX_SECS);
				return -1;
			}
			break;
		case 'w':
			if (wsclient_seconds(optarg, 0, &tl->tl_warmup) == -1) {
				fprintf(stderr,
				    "%s: -w %s: expected 0 to %.0f seconds\n",
				    TLSLOAD_NAME, optarg, WSCLIENT_MAX_SECS);
				return -1;
			}
			break;
		case TLSLOAD_OPT_JSON:
			tl->tl_json = 1;
			break;
		case 'h':
			tlsload_usage(stdout);
			return 1;
		default:
			tlsload_usage(stderr);
			return -1;
		}
	}
	if (argc - optind != 1) {
		if (argc - optind > 1)
			fprintf(stderr, "%s: unexpected argument: %s\n",
			    TLSLOAD_NAME, argv[optind + 1]);
		tlsload_usage(stderr);
		return -1;
	}
	return 0;
}

/* Run tlsload. */
int
main(int argc, char *argv[])
{
	static struct tlsload tl; /* the histogram is large: not on stack */
	int r, status = 0;

	tl.tl_nconns = 1;
	tl.tl_duration = 5;
	tl.tl_warmup = 1;
	tl.tl_timeout = 10;
	tl.tl_path = "/";
	tl.tl_expect = 200;
	if ((r = tlsload_options(&tl, argc, argv)) != 0)
		return r == 1 ? 0 : 1;
	tl.tl_timeout_ns = (uint64_t)(tl.tl_timeout * 1e9);
	signal(SIGPIPE, SIG_IGN);

	if (wsclient_files(TLSLOAD_NAME, tl.tl_nconns) == -1 ||
	    wsclient_resolve(TLSLOAD_NAME, argv[optind], tl.tl_timeout,
		&tl.tl_server) == -1 ||
	    (tl.tl_ctx = tlsclient_ctx(TLSLOAD_NAME)) == NULL)
		return 1;
	if ((tl.tl_base = event_base_new()) == NULL) {
		fprintf(stderr, "%s: event_base_new failed\n", TLSLOAD_NAME);
		SSL_CTX_free(tl.tl_ctx);
		return 1;
	}
	if (tlsload_setup(&tl) == -1) {
		fprintf(stderr, "%s: out of memory\n", TLSLOAD_NAME);
		tlsload_free(&tl);
		return 1;
	}
	tlsload_start(&tl);
	event_base_dispatch(tl.tl_base);
	if (tl.tl_phase == TLSLOAD_MEASURE)
		tl.tl_t1 = wsclient_now(); /* every slot stopped */
	tlsload_report(&tl);
	if (tl.tl_interrupted && tl.tl_t0 == 0)
		fprintf(stderr, "%s: interrupted during the warm-up\n",
		    TLSLOAD_NAME);
	else if (tl.tl_requests == 0 && tl.tl_errors == 0)
		fprintf(stderr, "%s: no request measured\n", TLSLOAD_NAME);
	if (tl.tl_errors > 0 || tl.tl_requests == 0)
		status = 1;
	tlsload_free(&tl);
	return status;
}
