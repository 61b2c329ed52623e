/*
 * wsload: a WebSocket echo load generator. It opens N connections to a
 * server, upgrades each with the RFC 6455 opening handshake, then keeps
 * exactly one message in flight on each: send one masked frame, wait for
 * the whole echo, check it, send the next. After a warm-up that is not
 * counted it measures for a fixed time, then prints the messages per
 * second, the round-trip latency percentiles (from a log-linear histogram)
 * and the errors, and closes each connection with a close frame (1000).
 *
 * One thread, one libevent loop over nonblocking sockets, TCP_NODELAY,
 * and every buffer allocated before the first message: the tool costs
 * about what the server's side of an echo costs, a recv() and a send().
 * The handshake, framing, clock and histogram are wsclient.c's, shared
 * with chatload. With --tls (wss) each connection makes a TLS handshake
 * before the upgrade, and its bytes go through SSL_read and SSL_write
 * (tlsclient.c's context, shared with tlsload).
 *
 * With --deflate each connection offers permessage-deflate (pmdclient.c)
 * and fails unless the server agrees; it then sends every message
 * compressed (RSV1) with a deflate stream of its own, kept from message
 * to message unless the server answered client_no_context_takeover, and
 * inflates each compressed echo with an inflate stream of its own (kept
 * unless server_no_context_takeover) as it comes, checking the bytes
 * that come out; an uncompressed echo is checked as it is. With
 * --payload json the messages are JSON-like documents (wsclient_json(),
 * WSLOAD_DOCS of them in turn, each numbered in its "seq") instead of
 * ASCII letters, so that compression has what real traffic gives it. The
 * WebSocket bytes each way (frame headers and payloads) are counted per
 * message.
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
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "pmdclient.h"
#include "tlsclient.h"
#include "wsclient.h"

#define WSLOAD_NAME	 "wsload"
#define WSLOAD_MAX_CONNS 100000
#define WSLOAD_MAX_SIZE	 (64LL * 1024 * 1024) /* bytes of one message */
#define WSLOAD_RBUF_MIN	 8192  /* receive buffer; holds the handshake */
#define WSLOAD_RBUF_MAX	 65536 /* receive buffer for large messages */
#define WSLOAD_READS	 16    /* recv() calls per readable event */
#define WSLOAD_SHOWN	 10    /* error messages printed, at most */
#define WSLOAD_STAMP_LEN 16    /* hex digits that number each message */
#define WSLOAD_OPT_JSON	 256   /* getopt_long value of --json */
#define WSLOAD_OPT_TLS	 257   /* getopt_long value of --tls */

#define WSLOAD_OPT_DEFLATE 258	     /* getopt_long value of --deflate */
#define WSLOAD_OPT_PAYLOAD 259	     /* getopt_long value of --payload */
#define WSLOAD_DOCS	   16	     /* --payload json: documents, at most */
#define WSLOAD_DOCS_BYTES  (1 << 20) /* and their bytes, at most */

/* What the messages say (--payload). */
enum wsload_payload {
	WSLOAD_ASCII = 0, /* letters and digits, a connection's own */
	WSLOAD_JSON,	  /* JSON-like documents, in turn */
};

/* Where a connection is in its life. */
enum wsload_state {
	WSLOAD_CONNECTING = 0, /* connect() in progress */
	WSLOAD_SECURING,       /* --tls: TLS handshake in progress */
	WSLOAD_UPGRADING,      /* handshake request sent, reading response */
	WSLOAD_READY,	       /* upgraded, no message in flight */
	WSLOAD_BUSY,	       /* one message in flight */
	WSLOAD_CLOSING,	       /* close frame sent, awaiting the server's */
	WSLOAD_DONE,	       /* socket closed */
};

/* Where the whole run is. */
enum wsload_phase {
	WSLOAD_SETUP = 0, /* connecting and upgrading every connection */
	WSLOAD_WARMUP,	  /* messages flow, not counted */
	WSLOAD_MEASURE,	  /* messages counted */
	WSLOAD_DRAIN,	  /* last echoes arrive, then close frames */
};

struct wsload;

/* One WebSocket connection. */
struct wsload_conn {
	struct wsload *wc_wl;	      /* the run it belongs to */
	unsigned wc_id;		      /* index, 0..N-1 */
	int wc_fd;		      /* socket, -1 once closed */
	SSL *wc_ssl;		      /* --tls: its TLS connection, or NULL */
	enum wsload_state wc_state;   /* see the enum */
	struct event *wc_rev;	      /* readable, persistent */
	struct event *wc_wev;	      /* writable, added when send() is short */
	const unsigned char *wc_wptr; /* bytes left to send */
	size_t wc_wleft;	      /* how many */
	unsigned char *wc_sbuf;	      /* frame: header, mask, masked payload */
	unsigned char *wc_payload;    /* the payload in clear */
	unsigned char *wc_rbuf;	      /* received, not yet parsed */
	size_t wc_rlen;		      /* bytes in wc_rbuf */
	uint64_t wc_seq;	      /* messages sent */
	uint64_t wc_sent;	      /* when the message in flight was sent */
	uint64_t wc_deadline;	      /* fail if still waiting then; 0: none */
	int wc_in_frame;	      /* a frame header was parsed */
	int wc_fr_opcode;	      /* its opcode */
	int wc_fr_fin;		      /* its FIN bit */
	uint64_t wc_fr_left;	      /* its payload bytes still to come */
	int wc_in_msg;		      /* inside a data message (fragments) */
	uint64_t wc_msg_got;	      /* echo bytes of the message so far */
	unsigned char wc_ctl[WSCLIENT_CTL_MAX]; /* control frame payload */
	size_t wc_ctl_len;			/* bytes in wc_ctl */
	unsigned char wc_cbuf[8];		/* our close frame */
	int wc_z;				/* --deflate: agreed */
	struct pmdclient_params wc_pmd;		/* what the server agreed */
	z_stream wc_def;		 /* our messages' deflate stream */
	int wc_def_on;			 /* made: compress what we send */
	struct pmdclient_inflate wc_inf; /* the echoes' inflate stream */
	int wc_msg_z;			 /* the echo coming is compressed */
	uint64_t wc_up;			 /* bytes of the frame in flight */
	uint64_t wc_down;		 /* bytes of its echo's frames so far */
};

/* The run: options, connections, counters. */
struct wsload {
	struct event_base *wl_base;
	struct wsclient_addr wl_server; /* where to connect, Host header */
	const char *wl_path;		/* request path */
	char *wl_request;		/* the handshake request */
	size_t wl_request_len;
	unsigned wl_nconns;		/* -c */
	size_t wl_size;			/* -s */
	int wl_opcode;			/* text, or binary with -b */
	double wl_duration;		/* -d, seconds */
	double wl_warmup;		/* -w, seconds */
	double wl_timeout;		/* -t, seconds */
	uint64_t wl_timeout_ns;		/* the same in ns */
	int wl_json;			/* --json */
	int wl_deflate;			/* --deflate */
	enum wsload_payload wl_payload; /* --payload */
	unsigned char *wl_docs;		/* --payload json: the documents */
	size_t wl_ndocs;		/* how many */
	size_t wl_stamp_off;		/* where a message's number goes */
	size_t wl_frame_max;		/* a connection's frame area */
	char wl_ext[WSCLIENT_EXT_MAX];	/* --deflate: the first answer */
	SSL_CTX *wl_ctx; /* --tls: the TLS context; NULL: plain */
	char wl_tls_msg[WSCLIENT_MSG_MAX]; /* the last TLS error (EPROTO) */
	size_t wl_hdrlen;    /* frame header of a message, mask included */
	size_t wl_rbuf_size; /* receive buffer of a connection */
	struct wsload_conn *wl_conns;
	unsigned wl_nready; /* connections upgraded during setup */
	unsigned wl_nopen;  /* connections not done */
	enum wsload_phase wl_phase;
	int wl_setup_failed;	/* a connection failed before the start */
	int wl_interrupted;	/* SIGINT or SIGTERM */
	uint64_t wl_t0, wl_t1;	/* measurement start and end, ns */
	uint64_t wl_messages;	/* echoes completed while measuring */
	uint64_t wl_up_bytes;	/* their messages' frame bytes */
	uint64_t wl_down_bytes; /* their echoes' frame bytes */
	uint64_t wl_zsent;	/* of those messages, compressed */
	uint64_t wl_zechoes;	/* of those echoes, compressed */
	uint64_t wl_errors;	/* connections that failed */
	uint64_t wl_pings;	/* pings and pongs from the server */
	unsigned wl_shown;	/* error messages printed */
	uint64_t wl_rng;	/* xorshift64* state for masks */
	struct event *wl_timer; /* end of warm-up, end of measurement */
	struct event *wl_tick;	/* once a second: deadlines */
	struct event *wl_sigint, *wl_sigterm;
	struct wsclient_hist wl_hist; /* round-trip latencies */
};

static void wsload_usage(FILE *fp);
static void wsload_stamp(unsigned char *p, size_t size, uint64_t v);
static void wsload_error(struct wsload_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void wsload_conn_fail(struct wsload_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void wsload_conn_done(struct wsload_conn *c);
static int wsload_tls_status(struct wsload_conn *c, int ret, int eof);
static ssize_t wsload_recv(struct wsload_conn *c, void *buf, size_t len);
static ssize_t wsload_send(struct wsload_conn *c, const void *buf, size_t len);
static const char *wsload_strerror(int err, const struct wsload_conn *c);
static int wsload_pending(const struct wsload_conn *c);
static void wsload_secure(struct wsload_conn *c);
static int wsload_flush(struct wsload_conn *c);
static int wsload_write(
    struct wsload_conn *c, const unsigned char *buf, size_t len);
static long wsload_deflate_frame(
    struct wsload_conn *c, uint32_t k, unsigned char **frame);
static int wsload_send_message(struct wsload_conn *c);
static int wsload_send_close(struct wsload_conn *c);
static void wsload_start(struct wsload *wl);
static void wsload_stop(struct wsload *wl);
static int wsload_handshake_check(struct wsload_conn *c, size_t hlen);
static int wsload_deflate_agreed(struct wsload_conn *c, const char *ext);
static int wsload_handshake_read(struct wsload_conn *c);
static int wsload_frame_header(
    struct wsload_conn *c, const unsigned char *p, size_t avail);
static int wsload_echo_check(void *arg, const unsigned char *p, size_t n);
static int wsload_inflate(
    struct wsload_conn *c, const unsigned char *p, size_t n, int fin);
static int wsload_frame_payload(
    struct wsload_conn *c, const unsigned char *p, size_t n);
static int wsload_message_done(struct wsload_conn *c);
static int wsload_frame_end(struct wsload_conn *c);
static int wsload_frames(struct wsload_conn *c);
static void wsload_read_cb(evutil_socket_t fd, short what, void *arg);
static void wsload_write_cb(evutil_socket_t fd, short what, void *arg);
static void wsload_timer_cb(evutil_socket_t fd, short what, void *arg);
static void wsload_tick_cb(evutil_socket_t fd, short what, void *arg);
static void wsload_signal_cb(evutil_socket_t fd, short what, void *arg);
static int wsload_connect(struct wsload_conn *c);
static int wsload_docs(struct wsload *wl);
static int wsload_setup(struct wsload *wl);
static void wsload_report_json(struct wsload *wl, double secs, double rate);
static void wsload_report(struct wsload *wl);
static void wsload_free(struct wsload *wl);

/* Print the usage message to fp. */
static void
wsload_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-b] [-c CONNECTIONS] [-d SECONDS] [-p PATH] "
	    "[-s MESSAGE_SIZE]\n"
	    "              [-t SECONDS] [-w WARMUP_SECONDS] [--deflate] "
	    "[--json]\n"
	    "              [--payload ascii|json] [--tls] HOST:PORT\n"
	    "  -b          send binary messages (default: text)\n"
	    "  -c N        open N connections, one message in flight on "
	    "each (default 1)\n"
	    "  -d SECONDS  measure for SECONDS (default 5)\n"
	    "  -p PATH     request PATH in the handshake (default /echo)\n"
	    "  -s SIZE     payload bytes of a message; k or m for KiB, MiB "
	    "(default 32)\n"
	    "  -t SECONDS  fail a connection that waits longer than this for\n"
	    "              a handshake, an echo or a close (default 10)\n"
	    "  -w SECONDS  warm up for SECONDS first, not counted (default "
	    "1)\n"
	    "  --deflate   offer permessage-deflate, fail unless the server "
	    "agrees,\n"
	    "              compress every message and inflate the echoes\n"
	    "  --json      print the result as one JSON object\n"
	    "  --payload ascii|json\n"
	    "              what a message says: letters and digits "
	    "(default), or\n"
	    "              JSON-like documents, as an API or a chat sends\n"
	    "  --tls       connect with TLS (wss); no certificate is "
	    "verified\n"
	    "  -h          print this help and exit\n",
	    WSLOAD_NAME);
}

/*
 * Number a payload: its first bytes (up to 16) become the low hex digits
 * of v, so an echo of another message or connection differs.
 */
static void
wsload_stamp(unsigned char *p, size_t size, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = size < WSLOAD_STAMP_LEN ? size : WSLOAD_STAMP_LEN; i > 0;
	     i--) {
		p[i - 1] = (unsigned char)hex[v & 0xf];
		v >>= 4;
	}
}

/*
 * Count an error on connection c and print it: always before the start
 * (each is fatal then), at most WSLOAD_SHOWN times after.
 */
static void
wsload_error(struct wsload_conn *c, const char *fmt, ...)
{
	struct wsload *wl = c->wc_wl;
	va_list ap;

	if (wl->wl_phase != WSLOAD_SETUP)
		wl->wl_errors++;
	if (wl->wl_phase != WSLOAD_SETUP && wl->wl_shown++ >= WSLOAD_SHOWN) {
		if (wl->wl_shown == WSLOAD_SHOWN + 1)
			fprintf(stderr, "%s: further errors not shown\n",
			    WSLOAD_NAME);
		return;
	}
	fprintf(stderr, "%s: %s%s connection %u: ", WSLOAD_NAME,
	    wl->wl_server.wa_host, wl->wl_path, c->wc_id + 1);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Fail connection c: print and count why, close it. Before the start any
 * failure ends the run.
 */
static void
wsload_conn_fail(struct wsload_conn *c, const char *fmt, ...)
{
	struct wsload *wl = c->wc_wl;
	char msg[512];
	va_list ap;

	if (c->wc_state == WSLOAD_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wsload_error(c, "%s", msg);
	if (wl->wl_phase == WSLOAD_SETUP) {
		wl->wl_setup_failed = 1;
		event_base_loopbreak(wl->wl_base);
	}
	wsload_conn_done(c);
}

/*
 * Close connection c. Its events stay allocated until the end of the
 * run, so a callback still on the stack may look at it.
 */
static void
wsload_conn_done(struct wsload_conn *c)
{
	struct wsload *wl = c->wc_wl;

	if (c->wc_state == WSLOAD_DONE)
		return;
	event_del(c->wc_rev);
	event_del(c->wc_wev);
	/* No close_notify: the server closes first, and one sent to a
	 * closed socket would only draw a reset. */
	SSL_free(c->wc_ssl);
	c->wc_ssl = NULL;
	close(c->wc_fd);
	c->wc_fd = -1;
	c->wc_state = WSLOAD_DONE;
	c->wc_deadline = 0;
	c->wc_wleft = 0;
	if (--wl->wl_nopen == 0)
		event_base_loopbreak(wl->wl_base);
}

/*
 * Map an SSL call of c that returned ret without success to what recv()
 * and send() would say: 0 at the end of the stream (-1 with EPIPE if not
 * eof, for a write), or -1 with errno EAGAIN (wait: for a write the read
 * event is always there, for a read the write event is added) or EPROTO
 * (the reason in wl_tls_msg).
 */
static int
wsload_tls_status(struct wsload_conn *c, int ret, int eof)
{
	struct wsload *wl = c->wc_wl;

	switch (tlsclient_status(
	    c->wc_ssl, ret, wl->wl_tls_msg, sizeof(wl->wl_tls_msg))) {
	case TLSCLIENT_WANT_WRITE:
		event_add(c->wc_wev, NULL);
		/* FALLTHROUGH */
	case TLSCLIENT_WANT_READ:
		errno = EAGAIN;
		return -1;
	case TLSCLIENT_EOF:
		if (eof)
			return 0;
		errno = EPIPE;
		return -1;
	default:
		errno = EPROTO;
		return -1;
	}
}

/* Receive up to len bytes on c, as recv() does, with TLS if it has it. */
static ssize_t
wsload_recv(struct wsload_conn *c, void *buf, size_t len)
{
	size_t n;
	int r;

	if (c->wc_ssl == NULL)
		return recv(c->wc_fd, buf, len, 0);
	if ((r = SSL_read_ex(c->wc_ssl, buf, len, &n)) == 1)
		return (ssize_t)n;
	return wsload_tls_status(c, r, 1);
}

/*
 * Send up to len bytes on c, as send() does, with TLS if it has it; with
 * TLS, an EAGAIN has its event added already.
 */
static ssize_t
wsload_send(struct wsload_conn *c, const void *buf, size_t len)
{
	size_t n;
	int r;

	if (c->wc_ssl == NULL)
		return send(c->wc_fd, buf, len, MSG_NOSIGNAL);
	if ((r = SSL_write_ex(c->wc_ssl, buf, len, &n)) == 1)
		return (ssize_t)n;
	return wsload_tls_status(c, r, 0);
}

/* Return the message of err for c: the TLS error's own for EPROTO. */
static const char *
wsload_strerror(int err, const struct wsload_conn *c)
{
	if (err == EPROTO && c->wc_ssl != NULL)
		return c->wc_wl->wl_tls_msg;
	return strerror(err);
}

/*
 * Return whether TLS holds bytes of c that it read from the socket ahead
 * (tlsclient.c): no event announces them, so a read goes on until none.
 */
static int
wsload_pending(const struct wsload_conn *c)
{
	return c->wc_ssl != NULL && SSL_has_pending(c->wc_ssl);
}

/*
 * Go on with the TLS handshake of c (whose read event is added); once it
 * is done, send the upgrade request.
 */
static void
wsload_secure(struct wsload_conn *c)
{
	struct wsload *wl = c->wc_wl;
	int r;

	if ((r = SSL_connect(c->wc_ssl)) != 1) {
		if (wsload_tls_status(c, r, 1) == 0)
			wsload_conn_fail(
			    c, "connection closed during the TLS handshake");
		else if (errno != EAGAIN)
			wsload_conn_fail(
			    c, "TLS handshake: %s", wsload_strerror(errno, c));
		return;
	}
	c->wc_state = WSLOAD_UPGRADING;
	wsload_write(
	    c, (const unsigned char *)wl->wl_request, wl->wl_request_len);
}

/*
 * Send what is left of the current frame; wait for POLLOUT if short
 * (with TLS, for what the call asked).
 */
static int
wsload_flush(struct wsload_conn *c)
{
	ssize_t n;

	while (c->wc_wleft > 0) {
		n = wsload_send(c, c->wc_wptr, c->wc_wleft);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->wc_ssl == NULL)
					event_add(c->wc_wev, NULL);
				return 0;
			}
			wsload_conn_fail(
			    c, "send: %s", wsload_strerror(errno, c));
			return -1;
		}
		c->wc_wptr += n;
		c->wc_wleft -= (size_t)n;
	}
	return 0;
}

/* Start sending len bytes of buf, which must live until they are sent. */
static int
wsload_write(struct wsload_conn *c, const unsigned char *buf, size_t len)
{
	if (c->wc_wleft > 0) {
		wsload_conn_fail(c,
		    "internal error: a frame is still being "
		    "sent");
		return -1;
	}
	c->wc_wptr = buf;
	c->wc_wleft = len;
	return wsload_flush(c);
}

/*
 * Deflate the payload of c into a masked compressed frame (RSV1) that
 * ends where the payload area of its frame area ends; point frame at it.
 * Return its length, or fail c and return -1.
 */
static long
wsload_deflate_frame(struct wsload_conn *c, uint32_t k, unsigned char **frame)
{
	struct wsload *wl = c->wc_wl;
	unsigned char hdr[WSCLIENT_HDR_MAX];
	unsigned char *z = c->wc_sbuf + WSCLIENT_HDR_MAX;
	size_t hlen;
	long n;

	n = pmdclient_deflate(&c->wc_def, &c->wc_pmd, c->wc_payload,
	    wl->wl_size, z, wl->wl_frame_max - WSCLIENT_HDR_MAX);
	if (n == -1) {
		wsload_conn_fail(c, "deflate failed");
		return -1;
	}
	hlen = wsclient_frame_prefix(hdr, wl->wl_opcode, (uint64_t)n);
	hdr[0] |= 0x40; /* RSV1: compressed */
	memcpy(hdr + hlen - 4, &k, sizeof(k));
	wsclient_mask(z, z, (size_t)n, hdr + hlen - 4);
	*frame = z - hlen;
	memcpy(*frame, hdr, hlen);
	return (long)hlen + n;
}

/*
 * Number, compress (with --deflate), mask and send the next message on
 * c; with --payload json, the next document in turn.
 */
static int
wsload_send_message(struct wsload_conn *c)
{
	struct wsload *wl = c->wc_wl;
	unsigned char *frame = c->wc_sbuf, *key = frame + wl->wl_hdrlen - 4;
	uint32_t k = (uint32_t)(wsclient_random(&wl->wl_rng) >> 32);
	long len = (long)(wl->wl_hdrlen + wl->wl_size);

	c->wc_seq++;
	if (wl->wl_docs != NULL)
		memcpy(c->wc_payload,
		    wl->wl_docs +
			(c->wc_id + c->wc_seq) % wl->wl_ndocs * wl->wl_size,
		    wl->wl_size);
	wsload_stamp(c->wc_payload + wl->wl_stamp_off,
	    wl->wl_size - wl->wl_stamp_off,
	    ((uint64_t)c->wc_id << 40) | (c->wc_seq & 0xffffffffffULL));
	if (c->wc_def_on) {
		if ((len = wsload_deflate_frame(c, k, &frame)) == -1)
			return -1;
	} else {
		memcpy(key, &k, sizeof(k));
		wsclient_mask(c->wc_sbuf + wl->wl_hdrlen, c->wc_payload,
		    wl->wl_size, key);
	}
	c->wc_state = WSLOAD_BUSY;
	c->wc_msg_got = 0;
	c->wc_up = (uint64_t)len;
	c->wc_down = 0;
	c->wc_sent = wsclient_now();
	c->wc_deadline = c->wc_sent + wl->wl_timeout_ns;
	return wsload_write(c, frame, (size_t)len);
}

/* Send a close frame with code 1000 on c and wait for the server's. */
static int
wsload_send_close(struct wsload_conn *c)
{
	struct wsload *wl = c->wc_wl;
	uint32_t k = (uint32_t)(wsclient_random(&wl->wl_rng) >> 32);
	unsigned char code[2] = {1000 >> 8, 1000 & 0xff};

	wsclient_frame(c->wc_cbuf, WSCLIENT_OP_CLOSE, code, sizeof(code), k);
	c->wc_state = WSLOAD_CLOSING;
	c->wc_deadline = wsclient_now() + wl->wl_timeout_ns;
	return wsload_write(c, c->wc_cbuf, sizeof(c->wc_cbuf));
}

/* Every connection is upgraded: put one message in flight on each. */
static void
wsload_start(struct wsload *wl)
{
	struct timeval tv;
	double secs;
	unsigned i;

	if (wl->wl_warmup > 0) {
		wl->wl_phase = WSLOAD_WARMUP;
		secs = wl->wl_warmup;
	} else {
		wl->wl_phase = WSLOAD_MEASURE;
		wl->wl_t0 = wsclient_now();
		secs = wl->wl_duration;
	}
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(wl->wl_timer, &tv);
	for (i = 0; i < wl->wl_nconns; i++)
		if (wl->wl_conns[i].wc_state == WSLOAD_READY)
			wsload_send_message(&wl->wl_conns[i]);
}

/*
 * End the measurement: connections with a message in flight close once
 * its echo is in, the others now.
 */
static void
wsload_stop(struct wsload *wl)
{
	unsigned i;

	if (wl->wl_phase == WSLOAD_MEASURE)
		wl->wl_t1 = wsclient_now();
	wl->wl_phase = WSLOAD_DRAIN;
	event_del(wl->wl_timer);
	for (i = 0; i < wl->wl_nconns; i++)
		if (wl->wl_conns[i].wc_state == WSLOAD_READY)
			wsload_send_close(&wl->wl_conns[i]);
}

/*
 * Check the handshake response of c, whose header is the first hlen
 * bytes of its buffer (wsclient_handshake_check()), and with --deflate
 * the extension's answer. Return 0, or fail the connection and return -1.
 */
static int
wsload_handshake_check(struct wsload_conn *c, size_t hlen)
{
	struct wsload *wl = c->wc_wl;
	char msg[WSCLIENT_MSG_MAX], ext[WSCLIENT_EXT_MAX] = "";

	if (wsclient_handshake_check(c->wc_rbuf, hlen,
		wl->wl_deflate ? ext : NULL, sizeof(ext), msg,
		sizeof(msg)) == -1) {
		wsload_conn_fail(c, "%s", msg);
		return -1;
	}
	return wl->wl_deflate ? wsload_deflate_agreed(c, ext) : 0;
}

/*
 * --deflate: take the server's answer ext (empty if none) on c: fail
 * unless it agrees to permessage-deflate; make the deflate stream unless
 * the window agreed is 8 bits, which zlib cannot write (messages go
 * uncompressed then). Return 0, or -1 if c failed.
 */
static int
wsload_deflate_agreed(struct wsload_conn *c, const char *ext)
{
	struct wsload *wl = c->wc_wl;
	char msg[WSCLIENT_MSG_MAX];

	if (ext[0] == '\0') {
		wsload_conn_fail(c,
		    "the server did not agree to permessage-deflate (no "
		    "Sec-WebSocket-Extensions in its 101)");
		return -1;
	}
	if (pmdclient_parse(ext, &c->wc_pmd, msg, sizeof(msg)) == -1) {
		wsload_conn_fail(c, "%s", msg);
		return -1;
	}
	c->wc_z = 1;
	if (wl->wl_ext[0] == '\0')
		snprintf(wl->wl_ext, sizeof(wl->wl_ext), "%s", ext);
	if (c->wc_pmd.pp_client_bits > 8) {
		if (pmdclient_deflate_init(&c->wc_def, &c->wc_pmd) == -1) {
			wsload_conn_fail(c, "deflateInit2 failed");
			return -1;
		}
		c->wc_def_on = 1;
	}
	return 0;
}

/*
 * Read the handshake response of c. Once it is whole and good, keep any
 * bytes after it as frames, and start the run if c was the last one.
 * Return whether bytes came and c is still open.
 */
static int
wsload_handshake_read(struct wsload_conn *c)
{
	struct wsload *wl = c->wc_wl;
	const unsigned char *eoh;
	size_t hlen;
	ssize_t n;

	n = wsload_recv(
	    c, c->wc_rbuf + c->wc_rlen, wl->wl_rbuf_size - c->wc_rlen);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			wsload_conn_fail(c, "handshake: recv: %s",
			    wsload_strerror(errno, c));
		return 0;
	}
	if (n == 0) {
		wsload_conn_fail(c, "connection closed during the handshake");
		return 0;
	}
	c->wc_rlen += (size_t)n;
	eoh = memmem(c->wc_rbuf, c->wc_rlen, "\r\n\r\n", 4);
	if (eoh == NULL) {
		if (c->wc_rlen < wl->wl_rbuf_size)
			return 1;
		wsload_conn_fail(c,
		    "handshake: response header longer than %zu bytes",
		    wl->wl_rbuf_size);
		return 0;
	}
	hlen = (size_t)(eoh - c->wc_rbuf) + 2; /* up to the last CRLF */
	if (wsload_handshake_check(c, hlen) == -1)
		return 0;
	hlen += 2;
	c->wc_rlen -= hlen;
	memmove(c->wc_rbuf, c->wc_rbuf + hlen, c->wc_rlen);
	c->wc_state = WSLOAD_READY;
	c->wc_deadline = 0;
	if (c->wc_rlen > 0 && wsload_frames(c) == -1)
		return 0;
	if (++wl->wl_nready == wl->wl_nconns)
		wsload_start(wl);
	return c->wc_state != WSLOAD_DONE;
}

/*
 * Parse a frame header at p (avail bytes) for c and check it against
 * what the echo may contain. Return its length, 0 if incomplete, or -1
 * if the connection failed.
 */
static int
wsload_frame_header(struct wsload_conn *c, const unsigned char *p, size_t avail)
{
	struct wsload *wl = c->wc_wl;
	struct wsclient_frame f;
	char msg[WSCLIENT_MSG_MAX];
	int hlen, opcode;

	hlen = wsclient_frame_parse(p, avail, c->wc_z, &f, msg, sizeof(msg));
	if (hlen <= 0) {
		if (hlen == -1)
			wsload_conn_fail(c, "%s", msg);
		return hlen;
	}
	opcode = f.wf_opcode;
	switch (opcode) {
	case WSCLIENT_OP_CONT:
		if (!c->wc_in_msg) {
			wsload_conn_fail(c,
			    "continuation frame outside a "
			    "message");
			return -1;
		}
		break;
	case WSCLIENT_OP_TEXT:
	case WSCLIENT_OP_BINARY:
		if (c->wc_in_msg) {
			wsload_conn_fail(c,
			    "new message before the end of "
			    "the fragmented echo");
			return -1;
		}
		c->wc_in_msg = 1;
		c->wc_msg_got = 0;
		c->wc_msg_z = f.wf_rsv1;
		if (c->wc_state == WSLOAD_CLOSING)
			break; /* data after our close: ignored */
		if (c->wc_state != WSLOAD_BUSY) {
			wsload_conn_fail(c,
			    "message with no message in "
			    "flight");
			return -1;
		}
		if (opcode != wl->wl_opcode) {
			wsload_conn_fail(c, "echo is a %s message, sent %s",
			    opcode == WSCLIENT_OP_TEXT ? "text" : "binary",
			    opcode == WSCLIENT_OP_TEXT ? "binary" : "text");
			return -1;
		}
		break;
	case WSCLIENT_OP_CLOSE:
	case WSCLIENT_OP_PING:
	case WSCLIENT_OP_PONG:
		c->wc_ctl_len = 0;
		break;
	default:
		wsload_conn_fail(c, "unexpected opcode 0x%x", opcode);
		return -1;
	}
	if (opcode < WSCLIENT_OP_CLOSE && c->wc_state != WSLOAD_CLOSING) {
		if (c->wc_msg_z ? f.wf_len > PMDCLIENT_BOUND(wl->wl_size)
				: f.wf_len > wl->wl_size - c->wc_msg_got) {
			wsload_conn_fail(c,
			    "echo%s longer than the %zu bytes "
			    "sent",
			    c->wc_msg_z ? " frame, compressed, much" : "",
			    wl->wl_size);
			return -1;
		}
		c->wc_down += (uint64_t)hlen + f.wf_len;
	}
	c->wc_in_frame = 1;
	c->wc_fr_opcode = opcode;
	c->wc_fr_fin = f.wf_fin;
	c->wc_fr_left = f.wf_len;
	return hlen;
}

/*
 * Check n bytes at p of the echo on connection arg (inflated if it came
 * compressed) against what was sent. Return 0, or fail it and return -1.
 */
static int
wsload_echo_check(void *arg, const unsigned char *p, size_t n)
{
	struct wsload_conn *c = arg;
	struct wsload *wl = c->wc_wl;
	size_t i;

	if (n > wl->wl_size - c->wc_msg_got) {
		wsload_conn_fail(
		    c, "echo longer than the %zu bytes sent", wl->wl_size);
		return -1;
	}
	if (memcmp(p, c->wc_payload + c->wc_msg_got, n) != 0) {
		for (i = 0; i < n && p[i] == c->wc_payload[c->wc_msg_got + i];
		     i++)
			;
		wsload_conn_fail(c,
		    "echo differs from message %" PRIu64 " at byte %" PRIu64,
		    c->wc_seq, c->wc_msg_got + i);
		return -1;
	}
	c->wc_msg_got += n;
	return 0;
}

/*
 * Inflate n bytes at p of the compressed echo on c (with fin, its end)
 * and check what comes out. Return 0, or fail c and return -1.
 */
static int
wsload_inflate(struct wsload_conn *c, const unsigned char *p, size_t n, int fin)
{
	if (pmdclient_inflate_data(
		&c->wc_inf, p, n, fin, wsload_echo_check, c) == -1) {
		if (c->wc_inf.pi_err != NULL)
			wsload_conn_fail(c, "echo of message %" PRIu64 ": %s",
			    c->wc_seq, c->wc_inf.pi_err);
		return -1;
	}
	if (fin &&
	    pmdclient_inflate_reset(
		&c->wc_inf, !c->wc_pmd.pp_server_no_context) == -1) {
		wsload_conn_fail(c, "inflateReset failed");
		return -1;
	}
	return 0;
}

/* Take n payload bytes at p of the current frame of c. */
static int
wsload_frame_payload(struct wsload_conn *c, const unsigned char *p, size_t n)
{
	if (c->wc_fr_opcode >= WSCLIENT_OP_CLOSE) {
		memcpy(c->wc_ctl + c->wc_ctl_len, p, n);
		c->wc_ctl_len += n;
		return 0;
	}
	if (c->wc_state == WSLOAD_CLOSING)
		return 0;
	if (c->wc_msg_z)
		return wsload_inflate(c, p, n, 0);
	return wsload_echo_check(c, p, n);
}

/* The echo of the message in flight on c is whole: count it, go on. */
static int
wsload_message_done(struct wsload_conn *c)
{
	struct wsload *wl = c->wc_wl;

	if (c->wc_msg_got != wl->wl_size) {
		wsload_conn_fail(c, "echo of %" PRIu64 " bytes, sent %zu",
		    c->wc_msg_got, wl->wl_size);
		return -1;
	}
	if (wl->wl_phase == WSLOAD_MEASURE) {
		wsclient_hist_add(&wl->wl_hist, wsclient_now() - c->wc_sent);
		wl->wl_messages++;
		wl->wl_up_bytes += c->wc_up;
		wl->wl_down_bytes += c->wc_down;
		wl->wl_zsent += c->wc_def_on;
		wl->wl_zechoes += c->wc_msg_z;
	}
	c->wc_state = WSLOAD_READY;
	c->wc_deadline = 0;
	if (wl->wl_phase == WSLOAD_WARMUP || wl->wl_phase == WSLOAD_MEASURE)
		return wsload_send_message(c);
	return wsload_send_close(c);
}

/*
 * The current frame of c is whole. Return 0, or -1 if the connection is
 * gone (failed, or closed after the server's close frame).
 */
static int
wsload_frame_end(struct wsload_conn *c)
{
	unsigned code;

	c->wc_in_frame = 0;
	switch (c->wc_fr_opcode) {
	case WSCLIENT_OP_PING:
	case WSCLIENT_OP_PONG:
		c->wc_wl->wl_pings++;
		return 0;
	case WSCLIENT_OP_CLOSE:
		if (c->wc_state == WSLOAD_CLOSING) {
			wsload_conn_done(c);
			return -1;
		}
		code = c->wc_ctl_len >= 2
		    ? (unsigned)c->wc_ctl[0] << 8 | c->wc_ctl[1]
		    : 1005;
		wsload_conn_fail(c, "the server closed (code %u%s%.*s)", code,
		    c->wc_ctl_len > 2 ? ": " : "",
		    c->wc_ctl_len > 2 ? (int)c->wc_ctl_len - 2 : 0,
		    (const char *)c->wc_ctl + 2);
		return -1;
	default:
		if (!c->wc_fr_fin)
			return 0;
		c->wc_in_msg = 0;
		if (c->wc_state == WSLOAD_CLOSING)
			return 0;
		if (c->wc_msg_z && wsload_inflate(c, NULL, 0, 1) == -1)
			return -1;
		return wsload_message_done(c);
	}
}

/*
 * Parse every whole frame header and every payload byte in the buffer of
 * c; keep an incomplete header for the next read. Return -1 if the
 * connection is gone.
 */
static int
wsload_frames(struct wsload_conn *c)
{
	unsigned char *p = c->wc_rbuf, *end = c->wc_rbuf + c->wc_rlen;
	size_t n;
	int r;

	/* Each turn takes a header or payload bytes, or ends the loop. */
	for (;;) {
		if (!c->wc_in_frame) {
			r = wsload_frame_header(c, p, (size_t)(end - p));
			if (r == -1)
				return -1;
			if (r == 0)
				break;
			p += r;
		} else {
			if (p == end)
				break;
			n = (size_t)(end - p);
			if (n > c->wc_fr_left)
				n = (size_t)c->wc_fr_left;
			if (wsload_frame_payload(c, p, n) == -1)
				return -1;
			p += n;
			c->wc_fr_left -= n;
		}
		if (c->wc_fr_left == 0 && wsload_frame_end(c) == -1)
			return -1;
	}
	c->wc_rlen = (size_t)(end - p);
	if (c->wc_rlen > 0 && p != c->wc_rbuf)
		memmove(c->wc_rbuf, p, c->wc_rlen);
	return 0;
}

/*
 * c is readable: read and parse, a bounded number of times, and then as
 * long as TLS holds bytes it read ahead (wsload_pending()). With TLS,
 * first retry a write that waited for this.
 */
static void
wsload_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsload_conn *c = arg;
	struct wsload *wl = c->wc_wl;
	size_t space;
	ssize_t n;
	int i;

	(void)fd;
	(void)what;
	if (c->wc_state == WSLOAD_SECURING) {
		wsload_secure(c);
		return;
	}
	if (c->wc_ssl != NULL && c->wc_wleft > 0 && wsload_flush(c) == -1)
		return;
	while (c->wc_state == WSLOAD_UPGRADING)
		if (!wsload_handshake_read(c) || !wsload_pending(c))
			return;
	for (i = 0; c->wc_state != WSLOAD_DONE &&
	     (i < WSLOAD_READS || wsload_pending(c));
	     i++) {
		space = wl->wl_rbuf_size - c->wc_rlen;
		n = wsload_recv(c, c->wc_rbuf + c->wc_rlen, space);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				wsload_conn_fail(
				    c, "recv: %s", wsload_strerror(errno, c));
			return;
		}
		if (n == 0) {
			wsload_conn_fail(c,
			    "the server closed the connection "
			    "%s",
			    c->wc_state == WSLOAD_CLOSING
				? "without a close frame"
				: "with a message in flight");
			return;
		}
		c->wc_rlen += (size_t)n;
		if (wsload_frames(c) == -1 ||
		    ((size_t)n < space && !wsload_pending(c)))
			return;
	}
}

/*
 * c is writable: finish connecting (and start TLS with --tls), go on
 * with the TLS handshake, or send the rest of a frame (with TLS, then
 * retry a read that waited for this).
 */
static void
wsload_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsload_conn *c = arg;
	struct wsload *wl = c->wc_wl;
	socklen_t len;
	int error = 0;

	(void)what;
	if (c->wc_state == WSLOAD_SECURING) {
		wsload_secure(c);
		return;
	}
	if (c->wc_state != WSLOAD_CONNECTING) {
		if (wsload_flush(c) == 0 && c->wc_ssl != NULL)
			wsload_read_cb(fd, EV_READ, c);
		return;
	}
	len = sizeof(error);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		error = errno;
	if (error != 0) {
		wsload_conn_fail(c, "connect: %s", strerror(error));
		return;
	}
	event_add(c->wc_rev, NULL);
	if (wl->wl_ctx == NULL) {
		c->wc_state = WSLOAD_UPGRADING;
		wsload_write(c, (const unsigned char *)wl->wl_request,
		    wl->wl_request_len);
		return;
	}
	if ((c->wc_ssl = SSL_new(wl->wl_ctx)) == NULL ||
	    SSL_set_fd(c->wc_ssl, fd) != 1) {
		wsload_conn_fail(c, "cannot make a TLS connection");
		return;
	}
	SSL_set_connect_state(c->wc_ssl);
	c->wc_state = WSLOAD_SECURING;
	wsload_secure(c);
}

/* The warm-up or the measurement is over. */
static void
wsload_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsload *wl = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (wl->wl_phase == WSLOAD_WARMUP) {
		wl->wl_phase = WSLOAD_MEASURE;
		wl->wl_t0 = wsclient_now();
		tv.tv_sec = (time_t)wl->wl_duration;
		tv.tv_usec =
		    (suseconds_t)((wl->wl_duration - (double)tv.tv_sec) * 1e6);
		evtimer_add(wl->wl_timer, &tv);
	} else if (wl->wl_phase == WSLOAD_MEASURE)
		wsload_stop(wl);
}

/* Once a second: fail every connection past its deadline. */
static void
wsload_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsload *wl = arg;
	struct wsload_conn *c;
	uint64_t now = wsclient_now();
	unsigned i;

	(void)fd;
	(void)what;
	for (i = 0; i < wl->wl_nconns; i++) {
		c = &wl->wl_conns[i];
		if (c->wc_state == WSLOAD_DONE || c->wc_deadline == 0 ||
		    now < c->wc_deadline)
			continue;
		switch (c->wc_state) {
		case WSLOAD_CONNECTING:
			wsload_conn_fail(
			    c, "connect: timed out after %g s", wl->wl_timeout);
			break;
		case WSLOAD_SECURING:
			wsload_conn_fail(
			    c, "no TLS handshake within %g s", wl->wl_timeout);
			break;
		case WSLOAD_UPGRADING:
			wsload_conn_fail(c, "no handshake response within %g s",
			    wl->wl_timeout);
			break;
		case WSLOAD_BUSY:
			wsload_conn_fail(c,
			    "no whole echo of message %" PRIu64 " within %g s "
			    "(%" PRIu64 " of %zu bytes)",
			    c->wc_seq, wl->wl_timeout, c->wc_msg_got,
			    wl->wl_size);
			break;
		default:
			wsload_conn_fail(
			    c, "no close frame within %g s", wl->wl_timeout);
			break;
		}
	}
}

/* SIGINT or SIGTERM: stop measuring now; a second one stops at once. */
static void
wsload_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsload *wl = arg;

	(void)fd;
	(void)what;
	if (wl->wl_interrupted++ > 0 || wl->wl_phase == WSLOAD_SETUP) {
		if (wl->wl_phase == WSLOAD_MEASURE)
			wl->wl_t1 = wsclient_now();
		event_base_loopbreak(wl->wl_base);
		return;
	}
	wsload_stop(wl);
}

/* Start connecting c. */
static int
wsload_connect(struct wsload_conn *c)
{
	struct wsload *wl = c->wc_wl;
	int fd, one = 1;

	fd = socket(wl->wl_server.wa_addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(
		    stderr, "%s: socket: %s\n", WSLOAD_NAME, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
		fprintf(stderr, "%s: TCP_NODELAY: %s\n", WSLOAD_NAME,
		    strerror(errno));
		close(fd);
		return -1;
	}
	c->wc_fd = fd;
	c->wc_rev =
	    event_new(wl->wl_base, fd, EV_READ | EV_PERSIST, wsload_read_cb, c);
	c->wc_wev = event_new(wl->wl_base, fd, EV_WRITE, wsload_write_cb, c);
	if (c->wc_rev == NULL || c->wc_wev == NULL) {
		fprintf(stderr, "%s: event_new failed\n", WSLOAD_NAME);
		return -1;
	}
	wl->wl_nopen++;
	c->wc_state = WSLOAD_CONNECTING;
	c->wc_deadline = wsclient_now() + wl->wl_timeout_ns;
	if (connect(fd, (struct sockaddr *)&wl->wl_server.wa_addr,
		wl->wl_server.wa_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			wsload_conn_fail(c, "connect: %s", strerror(errno));
			return -1;
		}
		event_add(c->wc_wev, NULL);
		return 0;
	}
	wsload_write_cb(fd, EV_WRITE, c);
	return c->wc_state == WSLOAD_DONE ? -1 : 0;
}

/*
 * --payload json: make the documents that the messages take in turn, as
 * many as fit in WSLOAD_DOCS_BYTES (1 to WSLOAD_DOCS), and number each
 * message in its "seq". Return -1 if out of memory.
 */
static int
wsload_docs(struct wsload *wl)
{
	size_t d;

	if (wl->wl_payload != WSLOAD_JSON || wl->wl_size == 0)
		return 0;
	wl->wl_ndocs = WSLOAD_DOCS_BYTES / wl->wl_size;
	if (wl->wl_ndocs > WSLOAD_DOCS)
		wl->wl_ndocs = WSLOAD_DOCS;
	if (wl->wl_ndocs == 0)
		wl->wl_ndocs = 1;
	if ((wl->wl_docs = malloc(wl->wl_ndocs * wl->wl_size)) == NULL)
		return -1;
	for (d = 0; d < wl->wl_ndocs; d++)
		wsclient_json(
		    wl->wl_docs + d * wl->wl_size, wl->wl_size, d + 1);
	if (wl->wl_size >= WSCLIENT_JSON_STAMP + WSLOAD_STAMP_LEN)
		wl->wl_stamp_off = WSCLIENT_JSON_STAMP;
	return 0;
}

/*
 * Allocate every buffer, build the request, and start connecting every
 * connection; the loop does the rest. A connection's buffer is its frame
 * area (the frame it sends: header, masked payload; with --deflate room
 * for the largest compressed payload after WSCLIENT_HDR_MAX bytes), then
 * its payload in clear, then its receive buffer.
 */
static int
wsload_setup(struct wsload *wl)
{
	static const unsigned char alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct wsload_conn *c;
	unsigned char hdr[16];
	struct timeval sec = {1, 0};
	size_t i, zmax;
	unsigned n;

	wl->wl_request =
	    wsclient_request(WSLOAD_NAME, wl->wl_path, wl->wl_server.wa_host,
		wl->wl_deflate ? PMDCLIENT_OFFER : NULL, &wl->wl_request_len);
	if (wl->wl_request == NULL || wsload_docs(wl) == -1)
		return -1;

	wl->wl_hdrlen = wsclient_frame_prefix(hdr, wl->wl_opcode, wl->wl_size);
	wl->wl_frame_max = wl->wl_hdrlen + wl->wl_size;
	zmax = PMDCLIENT_BOUND(wl->wl_size);
	if (wl->wl_deflate)
		wl->wl_frame_max = WSCLIENT_HDR_MAX +
		    (zmax > wl->wl_size ? zmax : wl->wl_size);
	wl->wl_rbuf_size = wl->wl_size + 64;
	if (wl->wl_rbuf_size < WSLOAD_RBUF_MIN)
		wl->wl_rbuf_size = WSLOAD_RBUF_MIN;
	if (wl->wl_rbuf_size > WSLOAD_RBUF_MAX)
		wl->wl_rbuf_size = WSLOAD_RBUF_MAX;
	if ((wl->wl_conns = calloc(wl->wl_nconns, sizeof(*c))) == NULL)
		return -1;
	for (n = 0; n < wl->wl_nconns; n++) {
		c = &wl->wl_conns[n];
		c->wc_wl = wl;
		c->wc_id = n;
		c->wc_fd = -1;
		c->wc_state = WSLOAD_DONE;
		c->wc_sbuf =
		    malloc(wl->wl_frame_max + wl->wl_size + wl->wl_rbuf_size);
		if (c->wc_sbuf == NULL)
			return -1;
		memcpy(c->wc_sbuf, hdr, wl->wl_hdrlen);
		c->wc_payload = c->wc_sbuf + wl->wl_frame_max;
		c->wc_rbuf = c->wc_payload + wl->wl_size;
		for (i = 0; wl->wl_docs == NULL && i < wl->wl_size; i++)
			c->wc_payload[i] =
			    alphabet[(i + n) % (sizeof(alphabet) - 1)];
	}

	wl->wl_timer = evtimer_new(wl->wl_base, wsload_timer_cb, wl);
	wl->wl_tick =
	    event_new(wl->wl_base, -1, EV_PERSIST, wsload_tick_cb, wl);
	wl->wl_sigint = evsignal_new(wl->wl_base, SIGINT, wsload_signal_cb, wl);
	wl->wl_sigterm =
	    evsignal_new(wl->wl_base, SIGTERM, wsload_signal_cb, wl);
	if (wl->wl_timer == NULL || wl->wl_tick == NULL ||
	    wl->wl_sigint == NULL || wl->wl_sigterm == NULL)
		return -1;
	event_add(wl->wl_tick, &sec);
	event_add(wl->wl_sigint, NULL);
	event_add(wl->wl_sigterm, NULL);

	for (n = 0; n < wl->wl_nconns; n++)
		if (wsload_connect(&wl->wl_conns[n]) == -1) {
			wl->wl_setup_failed = 1;
			return 0;
		}
	return 0;
}

/*
 * Print the result as one JSON object: secs measured, rate messages a
 * second.
 */
static void
wsload_report_json(struct wsload *wl, double secs, double rate)
{
	const struct wsclient_hist *h = &wl->wl_hist;
	double m = wl->wl_messages > 0 ? (double)wl->wl_messages : 1;

	printf("{\"connections\":%u,\"message_size\":%zu,"
	       "\"binary\":%s,\"payload\":\"%s\",\"seconds\":%.3f,"
	       "\"messages\":%" PRIu64
	       ",\"msgs_per_sec\":%.1f,\"mbytes_per_sec\":%.3f",
	    wl->wl_nconns, wl->wl_size,
	    wl->wl_opcode == WSCLIENT_OP_BINARY ? "true" : "false",
	    wl->wl_payload == WSLOAD_JSON ? "json" : "ascii", secs,
	    wl->wl_messages, rate, rate * (double)wl->wl_size / 1e6);
	if (h->wh_count > 0)
		printf(",\"mean_us\":%.1f,\"p50_us\":%.1f,"
		       "\"p90_us\":%.1f,\"p99_us\":%.1f,"
		       "\"p999_us\":%.1f,\"max_us\":%.1f",
		    h->wh_sum / (double)h->wh_count / 1e3,
		    wsclient_hist_percentile(h, 0.50) / 1e3,
		    wsclient_hist_percentile(h, 0.90) / 1e3,
		    wsclient_hist_percentile(h, 0.99) / 1e3,
		    wsclient_hist_percentile(h, 0.999) / 1e3,
		    (double)h->wh_max / 1e3);
	else
		printf(",\"mean_us\":null,\"p50_us\":null,"
		       "\"p90_us\":null,\"p99_us\":null,"
		       "\"p999_us\":null,\"max_us\":null");
	printf(",\"deflate\":%s,\"extension\":",
	    wl->wl_deflate ? "true" : "false");
	wsclient_print_string(wl->wl_deflate ? wl->wl_ext : NULL);
	printf(",\"compressed_sent\":%" PRIu64 ",\"compressed_echoes\":%" PRIu64
	       ",\"up_bytes_per_msg\":%.1f,\"down_bytes_per_msg\":%.1f",
	    wl->wl_zsent, wl->wl_zechoes, (double)wl->wl_up_bytes / m,
	    (double)wl->wl_down_bytes / m);
	printf(",\"pings\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n", wl->wl_pings,
	    wl->wl_errors);
}

/* Print the result, as text or as one JSON object. */
static void
wsload_report(struct wsload *wl)
{
	const struct wsclient_hist *h = &wl->wl_hist;
	double secs = 0, rate = 0, m;

	if (wl->wl_t1 > wl->wl_t0 && wl->wl_t0 != 0)
		secs = (double)(wl->wl_t1 - wl->wl_t0) / 1e9;
	if (secs > 0)
		rate = (double)wl->wl_messages / secs;
	if (wl->wl_json) {
		wsload_report_json(wl, secs, rate);
		return;
	}
	m = wl->wl_messages > 0 ? (double)wl->wl_messages : 1;
	printf("%s%s: %u connection%s, %zu-byte %s %s messages, %.3f s "
	       "measured\n",
	    wl->wl_server.wa_host, wl->wl_path, wl->wl_nconns,
	    wl->wl_nconns == 1 ? "" : "s", wl->wl_size,
	    wl->wl_payload == WSLOAD_JSON ? "JSON-like" : "ASCII",
	    wl->wl_opcode == WSCLIENT_OP_BINARY ? "binary" : "text", secs);
	printf("  messages  %" PRIu64 ", %.1f/s, %.3f MB/s each way\n",
	    wl->wl_messages, rate, rate * (double)wl->wl_size / 1e6);
	if (h->wh_count > 0)
		printf("  latency   mean %.1f us, p50 %.1f us, p90 %.1f us, "
		       "p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
		    h->wh_sum / (double)h->wh_count / 1e3,
		    wsclient_hist_percentile(h, 0.50) / 1e3,
		    wsclient_hist_percentile(h, 0.90) / 1e3,
		    wsclient_hist_percentile(h, 0.99) / 1e3,
		    wsclient_hist_percentile(h, 0.999) / 1e3,
		    (double)h->wh_max / 1e3);
	else
		printf("  latency   no echo measured\n");
	printf("  wire      %.1f bytes up, %.1f down per message (frames)\n",
	    (double)wl->wl_up_bytes / m, (double)wl->wl_down_bytes / m);
	if (wl->wl_deflate)
		printf("  deflate   %s; %" PRIu64 " messages and %" PRIu64
		       " echoes compressed\n",
		    wl->wl_ext, wl->wl_zsent, wl->wl_zechoes);
	if (wl->wl_pings > 0)
		printf("  pings     %" PRIu64 " (ignored)\n", wl->wl_pings);
	printf("  errors    %" PRIu64 "\n", wl->wl_errors);
}

/* Close what is open and free everything. */
static void
wsload_free(struct wsload *wl)
{
	struct wsload_conn *c;
	unsigned n;

	for (n = 0; wl->wl_conns != NULL && n < wl->wl_nconns; n++) {
		c = &wl->wl_conns[n];
		SSL_free(c->wc_ssl);
		if (c->wc_fd != -1)
			close(c->wc_fd);
		if (c->wc_rev != NULL)
			event_free(c->wc_rev);
		if (c->wc_wev != NULL)
			event_free(c->wc_wev);
		free(c->wc_sbuf);
		pmdclient_deflate_end(&c->wc_def);
		pmdclient_inflate_end(&c->wc_inf);
	}
	free(wl->wl_conns);
	free(wl->wl_docs);
	if (wl->wl_timer != NULL)
		event_free(wl->wl_timer);
	if (wl->wl_tick != NULL)
		event_free(wl->wl_tick);
	if (wl->wl_sigint != NULL)
		event_free(wl->wl_sigint);
	if (wl->wl_sigterm != NULL)
		event_free(wl->wl_sigterm);
	free(wl->wl_request);
	SSL_CTX_free(wl->wl_ctx);
	if (wl->wl_base != NULL)
		event_base_free(wl->wl_base);
}

/* Run wsload. */
int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"deflate", no_argument, NULL, WSLOAD_OPT_DEFLATE},
	    {"json", no_argument, NULL, WSLOAD_OPT_JSON},
	    {"payload", required_argument, NULL, WSLOAD_OPT_PAYLOAD},
	    {"tls", no_argument, NULL, WSLOAD_OPT_TLS},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct wsload wl; /* the histogram is large: not on stack */
	const char *p;
	long long v;
	int ch, tls = 0, status = 0;

	wl.wl_nconns = 1;
	wl.wl_size = 32;
	wl.wl_opcode = WSCLIENT_OP_TEXT;
	wl.wl_duration = 5;
	wl.wl_warmup = 1;
	wl.wl_timeout = 10;
	wl.wl_path = "/echo";
	while ((ch = getopt_long(
		    argc, argv, "bc:d:hp:s:t:w:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			wl.wl_opcode = WSCLIENT_OP_BINARY;
			break;
		case 'c':
			if (wsclient_count(optarg, 1, WSLOAD_MAX_CONNS, &v) ==
			    -1) {
				fprintf(stderr,
				    "%s: -c %s: expected 1 to %d "
				    "connections\n",
				    WSLOAD_NAME, optarg, WSLOAD_MAX_CONNS);
				return 1;
			}
			wl.wl_nconns = (unsigned)v;
			break;
		case 'd':
			if (wsclient_seconds(optarg, 0.001, &wl.wl_duration) ==
			    -1) {
				fprintf(stderr,
				    "%s: -d %s: expected 0.001 to %.0f "
				    "seconds\n",
				    WSLOAD_NAME, optarg, WSCLIENT_MAX_SECS);
				return 1;
			}
			break;
		case 'p':
			for (p = optarg; *p > ' ' && *p < 0x7f; p++)
				;
			if (optarg[0] != '/' || *p != '\0') {
				fprintf(stderr,
				    "%s: -p %s: expected a path that "
				    "starts with / and has no spaces\n",
				    WSLOAD_NAME, optarg);
				return 1;
			}
			wl.wl_path = optarg;
			break;
		case 's':
			if (wsclient_count(optarg, 0, WSLOAD_MAX_SIZE, &v) ==
			    -1) {
				fprintf(stderr,
				    "%s: -s %s: expected 0 to %lld bytes\n",
				    WSLOAD_NAME, optarg, WSLOAD_MAX_SIZE);
				return 1;
			}
			wl.wl_size = (size_t)v;
			break;
		case 't':
			if (wsclient_seconds(optarg, 0.1, &wl.wl_timeout) ==
			    -1) {
				fprintf(stderr,
				    "%s: -t %s: expected 0.1 to %.0f "
				    "seconds\n",
				    WSLOAD_NAME, optarg, WSCLIENT_MAX_SECS);
				return 1;
			}
			break;
		case 'w':
			if (wsclient_seconds(optarg, 0, &wl.wl_warmup) == -1) {
				fprintf(stderr,
				    "%s: -w %s: expected 0 to %.0f seconds\n",
				    WSLOAD_NAME, optarg, WSCLIENT_MAX_SECS);
				return 1;
			}
			break;
		case WSLOAD_OPT_DEFLATE:
			wl.wl_deflate = 1;
			break;
		case WSLOAD_OPT_JSON:
			wl.wl_json = 1;
			break;
		case WSLOAD_OPT_PAYLOAD:
			if (strcmp(optarg, "ascii") != 0 &&
			    strcmp(optarg, "json") != 0) {
				fprintf(stderr,
				    "%s: --payload %s: expected ascii or "
				    "json\n",
				    WSLOAD_NAME, optarg);
				return 1;
			}
			wl.wl_payload =
			    optarg[0] == 'j' ? WSLOAD_JSON : WSLOAD_ASCII;
			break;
		case WSLOAD_OPT_TLS:
			tls = 1;
			break;
		case 'h':
			wsload_usage(stdout);
			return 0;
		default:
			wsload_usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 1) {
		if (argc - optind > 1)
			fprintf(stderr, "%s: unexpected argument: %s\n",
			    WSLOAD_NAME, argv[optind + 1]);
		wsload_usage(stderr);
		return 1;
	}
	wl.wl_timeout_ns = (uint64_t)(wl.wl_timeout * 1e9);
	wl.wl_rng = wsclient_seed();
	signal(SIGPIPE, SIG_IGN);

	if (wsclient_files(WSLOAD_NAME, wl.wl_nconns) == -1 ||
	    wsclient_resolve(WSLOAD_NAME, argv[optind], wl.wl_timeout,
		&wl.wl_server) == -1 ||
	    (tls && (wl.wl_ctx = tlsclient_ctx(WSLOAD_NAME)) == NULL))
		return 1;
	if ((wl.wl_base = event_base_new()) == NULL) {
		fprintf(stderr, "%s: event_base_new failed\n", WSLOAD_NAME);
		SSL_CTX_free(wl.wl_ctx);
		return 1;
	}
	if (wsload_setup(&wl) == -1) {
		fprintf(stderr, "%s: out of memory\n", WSLOAD_NAME);
		wsload_free(&wl);
		return 1;
	}
	if (!wl.wl_setup_failed)
		event_base_dispatch(wl.wl_base);
	if (wl.wl_setup_failed || wl.wl_phase == WSLOAD_SETUP) {
		if (!wl.wl_setup_failed)
			fprintf(stderr, "%s: interrupted before the start\n",
			    WSLOAD_NAME);
		wsload_free(&wl);
		return 1;
	}
	if (wl.wl_phase == WSLOAD_MEASURE)
		wl.wl_t1 = wsclient_now(); /* every connection failed */
	wsload_report(&wl);
	if (wl.wl_interrupted && wl.wl_t0 == 0)
		fprintf(stderr, "%s: interrupted during the warm-up\n",
		    WSLOAD_NAME);
	else if (wl.wl_messages == 0 && wl.wl_errors == 0)
		fprintf(stderr, "%s: no echo came back while measuring\n",
		    WSLOAD_NAME);
	if (wl.wl_errors > 0 || wl.wl_messages == 0)
		status = 1;
	wsload_free(&wl);
	return status;
}
