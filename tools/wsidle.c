/*
 * wsidle: hold many idle WebSocket connections open, so that what each
 * costs a server can be measured (tools/wsmem reads the server's RSS
 * before and while they are held). It opens N connections, at most
 * WSIDLE_AT_ONCE at a time being set up, each with the opening handshake
 * (with --deflate offering permessage-deflate, and failing unless the
 * server agrees) and then, with -m SIZE, K messages (-n) of SIZE bytes of
 * JSON-like text, one at a time: each carries a marker of its own,
 * "@W<connection>:<number>@", goes compressed if the extension was
 * agreed, and is answered once a message with that marker comes back
 * (the echo, or the chat event that carries it), inflated if it came
 * compressed. A connection's zlib streams (one deflate, one inflate,
 * contexts kept as agreed) live only while it exchanges its messages, and
 * its send buffer too, so that the client side of 10,000 connections
 * stays small; what comes once it is set up (other members' chat events)
 * is read and not looked at.
 *
 * When every connection is set up and no frame came for WSIDLE_QUIET_NS,
 * it prints "idle N" on a line of its own and holds them, answering
 * pings, until SIGINT or SIGTERM (or -d SECONDS); then it closes each
 * with a close frame, waits for the server's (at most -t), and prints
 * what it did (one JSON object with --json). Every wait is bounded by -t:
 * a connection that does not connect, upgrade or get its answers in time
 * fails, and any failure before the hold ends the run with status 1.
 *
 * One thread, one libevent loop, nonblocking sockets with TCP_NODELAY;
 * frames are parsed whole in each connection's receive buffer.
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

#include "pmdclient.h"
#include "wsclient.h"

#define WSIDLE_NAME	   "wsidle"
#define WSIDLE_MAX_CONNS   100000
#define WSIDLE_MAX_SIZE	   (64 * 1024) /* bytes of a message */
#define WSIDLE_MAX_COUNT   1000	       /* messages per connection */
#define WSIDLE_AT_ONCE	   64	       /* connections set up at once */
#define WSIDLE_RBUF_MIN	   4096	       /* receive buffer, at least */
#define WSIDLE_POOL	   (2 * WSIDLE_MAX_SIZE)  /* JSON-like padding */
#define WSIDLE_MARK_MAX	   32			  /* "@W<n>:<k>@", NUL too */
#define WSIDLE_QUIET_NS	   (300 * 1000 * 1000ULL) /* idle: no frame */
#define WSIDLE_TICK_US	   50000		  /* deadlines: 50 ms */
#define WSIDLE_SHOWN	   10			  /* error messages */
#define WSIDLE_PATH_MAX	   1024
#define WSIDLE_OPT_DEFLATE 256 /* getopt_long values of long options */
#define WSIDLE_OPT_JSON	   257

/* Where a connection is in its life. */
enum wsidle_state {
	WSIDLE_CONNECTING = 0, /* connect() in progress */
	WSIDLE_UPGRADING,      /* handshake request sent */
	WSIDLE_EXCHANGING,     /* a message sent, its answer awaited */
	WSIDLE_READY,	       /* set up: held */
	WSIDLE_CLOSING,	       /* close frame sent */
	WSIDLE_DONE,	       /* socket closed, or never opened */
};

/* Where the whole run is. */
enum wsidle_phase {
	WSIDLE_SETUP = 0, /* connecting, upgrading, exchanging */
	WSIDLE_SETTLE,	  /* all set up: until no frame comes */
	WSIDLE_HOLD,	  /* "idle" said: holding them */
	WSIDLE_CLOSE,	  /* close frames */
};

struct wsidle;

/* A connection's zlib streams, while it exchanges its messages. */
struct wsidle_zlib {
	z_stream iz_def;		 /* what it sends */
	int iz_def_on;			 /* made */
	struct pmdclient_inflate iz_inf; /* what it gets */
};

/* One WebSocket connection. */
struct wsidle_conn {
	struct wsidle *ic_wi;	      /* the run it belongs to */
	unsigned ic_id;		      /* 0..N-1 */
	int ic_fd;		      /* socket, -1 once closed */
	enum wsidle_state ic_state;   /* see the enum */
	struct event *ic_rev;	      /* readable, persistent */
	struct event *ic_wev;	      /* writable, added when send() is short */
	unsigned char *ic_rbuf;	      /* received, not yet parsed */
	size_t ic_rlen;		      /* bytes in it */
	uint64_t ic_skip;	      /* bytes of a too long frame to skip */
	unsigned char *ic_sbuf;	      /* request, message; until set up */
	const unsigned char *ic_wptr; /* bytes left to send */
	size_t ic_wleft;	      /* how many */
	unsigned char ic_ctl[WSCLIENT_HDR_MAX + WSCLIENT_CTL_MAX]; /* pong,
								      close */
	uint64_t ic_deadline; /* fail if still waiting then; 0: none */
	unsigned ic_sent;     /* messages sent */
	int ic_z;	      /* --deflate: agreed */
	struct pmdclient_params ic_pmd; /* what the server agreed */
	struct wsidle_zlib *ic_zlib;	/* while exchanging, if agreed */
	char ic_mark[WSIDLE_MARK_MAX];	/* the marker awaited */
};

/* The run: options, connections, counters. */
struct wsidle {
	struct event_base *wi_base;
	struct wsclient_addr wi_server; /* where to connect, Host header */
	const char *wi_path;		/* -p, {n} and {g} as given */
	unsigned wi_nconns;		/* -c */
	unsigned wi_group;		/* -g */
	size_t wi_size;			/* -m */
	unsigned wi_count;		/* -n */
	double wi_hold;			/* -d, seconds; 0: until a signal */
	double wi_timeout;		/* -t, seconds */
	uint64_t wi_timeout_ns;		/* the same in ns */
	int wi_deflate;			/* --deflate */
	int wi_json;			/* --json */
	size_t wi_rbuf_size;		/* receive buffer of a connection */
	size_t wi_sbuf_size;		/* send buffer, while setting up */
	unsigned char *wi_pool;		/* JSON-like padding */
	unsigned char *wi_text;		/* a message, being built */
	unsigned char *wi_zout;		/* a frame, inflated */
	size_t wi_zout_len;		/* bytes in it */
	struct wsidle_conn *wi_conns;
	unsigned wi_nstarted; /* connections started */
	unsigned wi_nready;   /* connections set up */
	unsigned wi_nopen;    /* connections not done */
	enum wsidle_phase wi_phase;
	int wi_failed;		       /* a connection failed before the hold */
	int wi_interrupted;	       /* SIGINT or SIGTERM */
	uint64_t wi_last_frame;	       /* when the last frame came */
	uint64_t wi_phase_end;	       /* settle or close gives up then */
	uint64_t wi_hold_end;	       /* -d: the hold ends then; 0: never */
	uint64_t wi_messages;	       /* answered */
	uint64_t wi_zsent;	       /* of those, sent compressed */
	uint64_t wi_zanswers;	       /* their answers, compressed */
	uint64_t wi_others;	       /* data frames not looked at */
	uint64_t wi_oversized;	       /* frames too long to look at */
	uint64_t wi_pings;	       /* pings and pongs */
	uint64_t wi_errors;	       /* connections that failed */
	unsigned wi_shown;	       /* error messages printed */
	uint64_t wi_rng;	       /* xorshift64* state for masks */
	char wi_ext[WSCLIENT_EXT_MAX]; /* --deflate: the first answer */
	struct event *wi_tick;	       /* every WSIDLE_TICK_US */
	struct event *wi_sigint, *wi_sigterm;
};

static void wsidle_usage(FILE *fp);
static void wsidle_conn_fail(struct wsidle_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void wsidle_conn_done(struct wsidle_conn *c);
static void wsidle_zlib_free(struct wsidle_conn *c);
static int wsidle_flush(struct wsidle_conn *c);
static int wsidle_write(
    struct wsidle_conn *c, const unsigned char *buf, size_t len);
static char *wsidle_request(struct wsidle_conn *c, size_t *len);
static int wsidle_send_message(struct wsidle_conn *c);
static int wsidle_exchange(struct wsidle_conn *c);
static void wsidle_ready(struct wsidle_conn *c);
static void wsidle_send_close(struct wsidle_conn *c);
static int wsidle_collect(void *arg, const unsigned char *p, size_t n);
static int wsidle_data(struct wsidle_conn *c, const struct wsclient_frame *f,
    const unsigned char *p);
static int wsidle_frame(struct wsidle_conn *c, const struct wsclient_frame *f,
    const unsigned char *p);
static int wsidle_frames(struct wsidle_conn *c);
static int wsidle_agreed(struct wsidle_conn *c, const char *ext);
static void wsidle_handshake_read(struct wsidle_conn *c);
static void wsidle_read_cb(evutil_socket_t fd, short what, void *arg);
static void wsidle_write_cb(evutil_socket_t fd, short what, void *arg);
static void wsidle_close_all(struct wsidle *wi);
static void wsidle_tick_cb(evutil_socket_t fd, short what, void *arg);
static void wsidle_signal_cb(evutil_socket_t fd, short what, void *arg);
static int wsidle_connect(struct wsidle_conn *c);
static void wsidle_connect_more(struct wsidle *wi);
static int wsidle_setup(struct wsidle *wi);
static void wsidle_report(const struct wsidle *wi);
static void wsidle_free(struct wsidle *wi);
static int wsidle_options(struct wsidle *wi, int argc, char *argv[]);

/* Print the usage message to fp. */
static void
wsidle_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-c CONNECTIONS] [-d SECONDS] [-g GROUP] [-m SIZE] "
	    "[-n COUNT]\n"
	    "              [-p PATH] [-t SECONDS] [--deflate] [--json] "
	    "HOST:PORT\n"
	    "  -c N        open N connections (default 1000)\n"
	    "  -d SECONDS  hold them this long once idle (default: until "
	    "SIGINT\n"
	    "              or SIGTERM)\n"
	    "  -g N        {g} in PATH becomes the connection's group: "
	    "connections\n"
	    "              1 to N are group 1, and so on (default 100)\n"
	    "  -m SIZE     after the handshake, send messages of SIZE bytes "
	    "of\n"
	    "              JSON-like text, each once the last one came back;\n"
	    "              k for KiB (default 0: none)\n"
	    "  -n COUNT    how many messages each, with -m (default 1)\n"
	    "  -p PATH     request PATH; {n} becomes the connection's number "
	    "(1..)\n"
	    "              (default /echo; a chat: /chat/r{g}?nick=c{n})\n"
	    "  -t SECONDS  fail a connection that waits longer than this for a\n"
	    "              connect, a handshake, an answer or a close "
	    "(default 30)\n"
	    "  --deflate   offer permessage-deflate, fail unless the server "
	    "agrees\n"
	    "  --json      print the result as one JSON object\n"
	    "  -h          print this help and exit\n",
	    WSIDLE_NAME);
}

/*
 * Fail connection c: print (at most WSIDLE_SHOWN times) and count why,
 * close it. Before the hold any failure ends the run.
 */
static void
wsidle_conn_fail(struct wsidle_conn *c, const char *fmt, ...)
{
	struct wsidle *wi = c->ic_wi;
	va_list ap;

	if (c->ic_state == WSIDLE_DONE)
		return;
	wi->wi_errors++;
	if (wi->wi_shown++ < WSIDLE_SHOWN) {
		fprintf(
		    stderr, "%s: connection %u: ", WSIDLE_NAME, c->ic_id + 1);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (wi->wi_phase < WSIDLE_HOLD) {
		wi->wi_failed = 1;
		event_base_loopbreak(wi->wi_base);
	}
	wsidle_conn_done(c);
}

/*
 * Close connection c and free what it holds but its events, which stay
 * until the end of the run: a callback still on the stack may look.
 */
static void
wsidle_conn_done(struct wsidle_conn *c)
{
	struct wsidle *wi = c->ic_wi;

	if (c->ic_state == WSIDLE_DONE)
		return;
	event_del(c->ic_rev);
	event_del(c->ic_wev);
	close(c->ic_fd);
	c->ic_fd = -1;
	c->ic_state = WSIDLE_DONE;
	c->ic_deadline = 0;
	c->ic_wleft = 0;
	wsidle_zlib_free(c);
	free(c->ic_sbuf);
	c->ic_sbuf = NULL;
	if (--wi->wi_nopen == 0)
		event_base_loopbreak(wi->wi_base);
}

/* Free the zlib streams of c, if it has them. */
static void
wsidle_zlib_free(struct wsidle_conn *c)
{
	if (c->ic_zlib == NULL)
		return;
	pmdclient_deflate_end(&c->ic_zlib->iz_def);
	pmdclient_inflate_end(&c->ic_zlib->iz_inf);
	free(c->ic_zlib);
	c->ic_zlib = NULL;
}

/* Send what is left to send on c; wait until writable if it is short. */
static int
wsidle_flush(struct wsidle_conn *c)
{
	ssize_t n;

	while (c->ic_wleft > 0) {
		n = send(c->ic_fd, c->ic_wptr, c->ic_wleft, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->ic_wev, NULL);
				return 0;
			}
			wsidle_conn_fail(c, "send: %s", strerror(errno));
			return -1;
		}
		c->ic_wptr += n;
		c->ic_wleft -= (size_t)n;
	}
	return 0;
}

/*
 * Start sending len bytes of buf, which must live until they are sent.
 * Return 0, or fail c and return -1.
 */
static int
wsidle_write(struct wsidle_conn *c, const unsigned char *buf, size_t len)
{
	if (c->ic_wleft > 0) {
		wsidle_conn_fail(c,
		    "internal error: a frame is still being "
		    "sent");
		return -1;
	}
	c->ic_wptr = buf;
	c->ic_wleft = len;
	return wsidle_flush(c);
}

/*
 * Return the handshake request of c, allocated, with {n} and {g} of the
 * path replaced; its length in len. NULL if out of memory or too long.
 */
static char *
wsidle_request(struct wsidle_conn *c, size_t *len)
{
	struct wsidle *wi = c->ic_wi;
	char path[2 * WSIDLE_PATH_MAX], num[16];
	const char *p = wi->wi_path;
	size_t pos = 0, nlen;

	while (*p != '\0' && pos + 16 < sizeof(path)) {
		if (p[0] == '{' && (p[1] == 'n' || p[1] == 'g') &&
		    p[2] == '}') {
			nlen = (size_t)snprintf(num, sizeof(num), "%u",
			    p[1] == 'n' ? c->ic_id + 1
					: c->ic_id / wi->wi_group + 1);
			memcpy(path + pos, num, nlen);
			pos += nlen;
			p += 3;
		} else
			path[pos++] = *p++;
	}
	if (*p != '\0')
		return NULL;
	path[pos] = '\0';
	return wsclient_request(WSIDLE_NAME, path, wi->wi_server.wa_host,
	    wi->wi_deflate ? PMDCLIENT_OFFER : NULL, len);
}

/*
 * Send the next message of c: its marker, then JSON-like text to the
 * size, compressed if c compresses. Return 0, or -1 if c failed.
 */
static int
wsidle_send_message(struct wsidle_conn *c)
{
	struct wsidle *wi = c->ic_wi;
	unsigned char *z = c->ic_sbuf + WSCLIENT_HDR_MAX;
	uint32_t key = (uint32_t)(wsclient_random(&wi->wi_rng) >> 32);
	size_t n, len;
	long zlen;

	n = (size_t)snprintf(c->ic_mark, sizeof(c->ic_mark), "@W%u:%u@",
	    c->ic_id + 1, c->ic_sent + 1);
	len = n > wi->wi_size ? n : wi->wi_size;
	memcpy(wi->wi_text, c->ic_mark, n);
	memcpy(wi->wi_text + n,
	    wi->wi_pool +
		(c->ic_id * 7919U + c->ic_sent * 104729U) %
		    (WSIDLE_POOL - WSIDLE_MAX_SIZE),
	    len - n);
	c->ic_sent++;
	c->ic_state = WSIDLE_EXCHANGING;
	c->ic_deadline = wsclient_now() + wi->wi_timeout_ns;
	if (c->ic_zlib == NULL || !c->ic_zlib->iz_def_on)
		return wsidle_write(c, c->ic_sbuf,
		    wsclient_frame(
			c->ic_sbuf, WSCLIENT_OP_TEXT, wi->wi_text, len, key));
	zlen = pmdclient_deflate(&c->ic_zlib->iz_def, &c->ic_pmd, wi->wi_text,
	    len, z, wi->wi_sbuf_size - WSCLIENT_HDR_MAX);
	if (zlen == -1) {
		wsidle_conn_fail(c, "deflate failed");
		return -1;
	}
	/* Framed in place: the header goes right before the payload. */
	memcpy(wi->wi_text, z, (size_t)zlen);
	n = wsclient_frame(
	    c->ic_sbuf, WSCLIENT_OP_TEXT, wi->wi_text, (size_t)zlen, key);
	c->ic_sbuf[0] |= 0x40; /* RSV1: compressed */
	wi->wi_zsent++;
	return wsidle_write(c, c->ic_sbuf, n);
}

/*
 * c is upgraded: exchange its messages (making its zlib streams if the
 * extension was agreed), or with none it is set up. Return 0, or -1 if
 * it failed.
 */
static int
wsidle_exchange(struct wsidle_conn *c)
{
	struct wsidle *wi = c->ic_wi;

	if (wi->wi_count == 0) {
		wsidle_ready(c);
		return 0;
	}
	if (c->ic_z) {
		if ((c->ic_zlib = calloc(1, sizeof(*c->ic_zlib))) == NULL) {
			wsidle_conn_fail(c, "out of memory");
			return -1;
		}
		if (c->ic_pmd.pp_client_bits > 8) {
			if (pmdclient_deflate_init(
				&c->ic_zlib->iz_def, &c->ic_pmd) == -1) {
				wsidle_conn_fail(c, "deflateInit2 failed");
				return -1;
			}
			c->ic_zlib->iz_def_on = 1;
		}
	}
	return wsidle_send_message(c);
}

/*
 * c is set up: free what only the setup needed, count it, start the next
 * connection, and once all are set up wait for quiet.
 */
static void
wsidle_ready(struct wsidle_conn *c)
{
	struct wsidle *wi = c->ic_wi;

	c->ic_state = WSIDLE_READY;
	c->ic_deadline = 0;
	wsidle_zlib_free(c);
	if (c->ic_wleft == 0) { /* always: the server answered it all */
		free(c->ic_sbuf);
		c->ic_sbuf = NULL;
	}
	if (++wi->wi_nready == wi->wi_nconns) {
		wi->wi_phase = WSIDLE_SETTLE;
		wi->wi_phase_end = wsclient_now() + wi->wi_timeout_ns;
	} else
		wsidle_connect_more(wi);
}

/* Send a close frame with code 1000 on c and wait for the server's. */
static void
wsidle_send_close(struct wsidle_conn *c)
{
	struct wsidle *wi = c->ic_wi;
	uint32_t key = (uint32_t)(wsclient_random(&wi->wi_rng) >> 32);
	unsigned char code[2] = {1000 >> 8, 1000 & 0xff};
	size_t n;

	if (c->ic_state != WSIDLE_READY)
		return;
	if (c->ic_wleft > 0) {
		wsidle_conn_done(c); /* a pong still going: no close frame */
		return;
	}
	c->ic_state = WSIDLE_CLOSING;
	c->ic_deadline = wsclient_now() + wi->wi_timeout_ns;
	n = wsclient_frame(c->ic_ctl, WSCLIENT_OP_CLOSE, code, 2, key);
	wsidle_write(c, c->ic_ctl, n);
}

/* Keep n inflated bytes at p in the run's wi_zout (arg), as many fit. */
static int
wsidle_collect(void *arg, const unsigned char *p, size_t n)
{
	struct wsidle *wi = arg;
	size_t room = 2 * wi->wi_rbuf_size - wi->wi_zout_len;

	if (n > room)
		n = room;
	memcpy(wi->wi_zout + wi->wi_zout_len, p, n);
	wi->wi_zout_len += n;
	return 0;
}

/*
 * Take the data frame f, payload at p, of c: while it exchanges, inflate
 * it if compressed and look for the marker awaited; once it is set up,
 * ignore it. Return 0, or -1 if c failed.
 */
static int
wsidle_data(struct wsidle_conn *c, const struct wsclient_frame *f,
    const unsigned char *p)
{
	struct wsidle *wi = c->ic_wi;
	const unsigned char *text = p;
	size_t len = (size_t)f->wf_len;

	if (c->ic_state != WSIDLE_EXCHANGING) {
		wi->wi_others++;
		return 0;
	}
	if (f->wf_rsv1) {
		if (!f->wf_fin) {
			wsidle_conn_fail(c, "a fragmented compressed message");
			return -1;
		}
		wi->wi_zout_len = 0;
		if (pmdclient_inflate_data(&c->ic_zlib->iz_inf, p, len, 1,
			wsidle_collect, wi) == -1 ||
		    pmdclient_inflate_reset(&c->ic_zlib->iz_inf,
			!c->ic_pmd.pp_server_no_context) == -1) {
			wsidle_conn_fail(c, "compressed message: %s",
			    c->ic_zlib->iz_inf.pi_err != NULL
				? c->ic_zlib->iz_inf.pi_err
				: "inflateReset failed");
			return -1;
		}
		text = wi->wi_zout;
		len = wi->wi_zout_len;
	}
	if (memmem(text, len, c->ic_mark, strlen(c->ic_mark)) == NULL) {
		wi->wi_others++;
		return 0;
	}
	wi->wi_messages++;
	wi->wi_zanswers += (uint64_t)f->wf_rsv1;
	if (c->ic_sent < wi->wi_count)
		return wsidle_send_message(c);
	wsidle_ready(c);
	return 0;
}

/*
 * Take the whole frame f, payload at p, of c. Return 0, or -1 if c is
 * gone.
 */
static int
wsidle_frame(struct wsidle_conn *c, const struct wsclient_frame *f,
    const unsigned char *p)
{
	struct wsidle *wi = c->ic_wi;
	uint32_t key;
	unsigned code;

	wi->wi_last_frame = wsclient_now();
	switch (f->wf_opcode) {
	case WSCLIENT_OP_CONT:
	case WSCLIENT_OP_TEXT:
	case WSCLIENT_OP_BINARY:
		return wsidle_data(c, f, p);
	case WSCLIENT_OP_PING:
		wi->wi_pings++;
		key = (uint32_t)(wsclient_random(&wi->wi_rng) >> 32);
		if (c->ic_state == WSIDLE_READY && c->ic_wleft == 0)
			wsidle_write(c, c->ic_ctl,
			    wsclient_frame(c->ic_ctl, WSCLIENT_OP_PONG, p,
				(size_t)f->wf_len, key));
		return c->ic_state == WSIDLE_DONE ? -1 : 0;
	case WSCLIENT_OP_PONG:
		wi->wi_pings++;
		return 0;
	case WSCLIENT_OP_CLOSE:
		if (c->ic_state == WSIDLE_CLOSING) {
			wsidle_conn_done(c);
			return -1;
		}
		code = f->wf_len >= 2 ? (unsigned)p[0] << 8 | p[1] : 1005;
		wsidle_conn_fail(c, "the server closed (code %u%s%.*s)", code,
		    f->wf_len > 2 ? ": " : "",
		    f->wf_len > 2 ? (int)f->wf_len - 2 : 0,
		    (const char *)p + 2);
		return -1;
	default:
		wsidle_conn_fail(c, "unexpected opcode 0x%x", f->wf_opcode);
		return -1;
	}
}

/*
 * Take every whole frame in the buffer of c, and skip the bytes of any
 * frame too long for it; keep an incomplete frame for the next read.
 * Return -1 if c is gone.
 */
static int
wsidle_frames(struct wsidle_conn *c)
{
	struct wsidle *wi = c->ic_wi;
	struct wsclient_frame f;
	char msg[WSCLIENT_MSG_MAX];
	unsigned char *p = c->ic_rbuf, *end = c->ic_rbuf + c->ic_rlen;
	size_t n;
	int hlen;

	/* Each turn takes a frame or skipped bytes, or ends the loop. */
	while (p < end) {
		if (c->ic_skip > 0) {
			n = (size_t)(end - p);
			if (n > c->ic_skip)
				n = (size_t)c->ic_skip;
			p += n;
			c->ic_skip -= n;
			continue;
		}
		hlen = wsclient_frame_parse(
		    p, (size_t)(end - p), c->ic_z, &f, msg, sizeof(msg));
		if (hlen == -1) {
			wsidle_conn_fail(c, "%s", msg);
			return -1;
		}
		if (hlen == 0)
			break;
		if (f.wf_len > wi->wi_rbuf_size - (size_t)hlen) {
			wi->wi_oversized++;
			c->ic_skip = f.wf_len;
			p += hlen;
			continue;
		}
		if ((uint64_t)(end - p - hlen) < f.wf_len)
			break;
		if (wsidle_frame(c, &f, p + hlen) == -1 ||
		    c->ic_state == WSIDLE_DONE)
			return -1;
		p += (size_t)hlen + (size_t)f.wf_len;
	}
	c->ic_rlen = (size_t)(end - p);
	if (c->ic_rlen > 0 && p != c->ic_rbuf)
		memmove(c->ic_rbuf, p, c->ic_rlen);
	return 0;
}

/*
 * --deflate: take the server's answer ext (empty if none) on c: fail
 * unless it agrees to permessage-deflate. Return 0, or -1 if c failed.
 */
static int
wsidle_agreed(struct wsidle_conn *c, const char *ext)
{
	struct wsidle *wi = c->ic_wi;
	char msg[WSCLIENT_MSG_MAX];

	if (ext[0] == '\0') {
		wsidle_conn_fail(c,
		    "the server did not agree to permessage-deflate (no "
		    "Sec-WebSocket-Extensions in its 101)");
		return -1;
	}
	if (pmdclient_parse(ext, &c->ic_pmd, msg, sizeof(msg)) == -1) {
		wsidle_conn_fail(c, "%s", msg);
		return -1;
	}
	c->ic_z = 1;
	if (wi->wi_ext[0] == '\0')
		snprintf(wi->wi_ext, sizeof(wi->wi_ext), "%s", ext);
	return 0;
}

/*
 * Read the handshake response of c. Once it is whole and good, take any
 * frames after it and start its exchange.
 */
static void
wsidle_handshake_read(struct wsidle_conn *c)
{
	struct wsidle *wi = c->ic_wi;
	const unsigned char *eoh;
	char msg[WSCLIENT_MSG_MAX], ext[WSCLIENT_EXT_MAX] = "";
	size_t hlen;
	ssize_t n;

	n = recv(c->ic_fd, c->ic_rbuf + c->ic_rlen,
	    wi->wi_rbuf_size - c->ic_rlen, 0);
	if (n <= 0) {
		if (n == 0)
			wsidle_conn_fail(
			    c, "connection closed during the handshake");
		else if (errno != EAGAIN && errno != EINTR)
			wsidle_conn_fail(
			    c, "handshake: recv: %s", strerror(errno));
		return;
	}
	c->ic_rlen += (size_t)n;
	eoh = memmem(c->ic_rbuf, c->ic_rlen, "\r\n\r\n", 4);
	if (eoh == NULL) {
		if (c->ic_rlen == wi->wi_rbuf_size)
			wsidle_conn_fail(c, "handshake: response too long");
		return;
	}
	hlen = (size_t)(eoh - c->ic_rbuf) + 2; /* up to the last CRLF */
	if (wsclient_handshake_check(c->ic_rbuf, hlen,
		wi->wi_deflate ? ext : NULL, sizeof(ext), msg,
		sizeof(msg)) == -1) {
		wsidle_conn_fail(c, "%s", msg);
		return;
	}
	if (wi->wi_deflate && wsidle_agreed(c, ext) == -1)
		return;
	hlen += 2;
	c->ic_rlen -= hlen;
	memmove(c->ic_rbuf, c->ic_rbuf + hlen, c->ic_rlen);
	if (wsidle_exchange(c) == -1 || c->ic_rlen == 0)
		return;
	wsidle_frames(c);
}

/* c is readable: read and parse, a bounded number of times. */
static void
wsidle_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsidle_conn *c = arg;
	struct wsidle *wi = c->ic_wi;
	size_t space;
	ssize_t n;
	int i;

	(void)what;
	if (c->ic_state == WSIDLE_UPGRADING) {
		wsidle_handshake_read(c);
		return;
	}
	for (i = 0; i < 16 && c->ic_state != WSIDLE_DONE; i++) {
		space = wi->wi_rbuf_size - c->ic_rlen;
		n = recv(fd, c->ic_rbuf + c->ic_rlen, space, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				wsidle_conn_fail(
				    c, "recv: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			if (c->ic_state == WSIDLE_CLOSING)
				wsidle_conn_done(c);
			else
				wsidle_conn_fail(
				    c, "the server closed the connection");
			return;
		}
		c->ic_rlen += (size_t)n;
		if (wsidle_frames(c) == -1 || (size_t)n < space)
			return;
	}
}

/* c is writable: finish connecting, or send the rest. */
static void
wsidle_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsidle_conn *c = arg;
	socklen_t slen;
	size_t len;
	char *req;
	int error = 0;

	(void)what;
	if (c->ic_state != WSIDLE_CONNECTING) {
		wsidle_flush(c);
		return;
	}
	slen = sizeof(error);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &slen) == -1)
		error = errno;
	if (error != 0) {
		wsidle_conn_fail(c, "connect: %s", strerror(error));
		return;
	}
	if ((req = wsidle_request(c, &len)) == NULL ||
	    len > c->ic_wi->wi_sbuf_size) {
		free(req);
		wsidle_conn_fail(c, "out of memory, or the path too long");
		return;
	}
	memcpy(c->ic_sbuf, req, len);
	free(req);
	c->ic_state = WSIDLE_UPGRADING;
	event_add(c->ic_rev, NULL);
	wsidle_write(c, c->ic_sbuf, len);
}

/* The hold is over: close every connection. */
static void
wsidle_close_all(struct wsidle *wi)
{
	unsigned i;

	wi->wi_phase = WSIDLE_CLOSE;
	wi->wi_phase_end = wsclient_now() + wi->wi_timeout_ns;
	for (i = 0; i < wi->wi_nconns; i++)
		wsidle_send_close(&wi->wi_conns[i]);
}

/*
 * Every WSIDLE_TICK_US: fail the connections past their deadline; say
 * "idle" once all are set up and no frame came for WSIDLE_QUIET_NS; end
 * the hold after -d; give up on the close after -t.
 */
static void
wsidle_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsidle *wi = arg;
	struct wsidle_conn *c;
	uint64_t now = wsclient_now();
	unsigned i;

	(void)fd;
	(void)what;
	for (i = 0; i < wi->wi_nstarted; i++) {
		c = &wi->wi_conns[i];
		if (c->ic_state != WSIDLE_DONE && c->ic_deadline != 0 &&
		    now >= c->ic_deadline)
			wsidle_conn_fail(c, "no %s within %g s",
			    c->ic_state == WSIDLE_CONNECTING ? "connection"
				: c->ic_state == WSIDLE_UPGRADING
				? "handshake response"
				: c->ic_state == WSIDLE_EXCHANGING
				? "answer to its message"
				: "close frame",
			    wi->wi_timeout);
	}
	if (wi->wi_phase == WSIDLE_SETTLE &&
	    (now - wi->wi_last_frame >= WSIDLE_QUIET_NS ||
		now >= wi->wi_phase_end)) {
		wi->wi_phase = WSIDLE_HOLD;
		if (wi->wi_hold > 0)
			wi->wi_hold_end =
			    now + (uint64_t)(wi->wi_hold * WSCLIENT_NSEC);
		printf("idle %u\n", wi->wi_nready);
		fflush(stdout);
	} else if (wi->wi_phase == WSIDLE_HOLD && wi->wi_hold_end != 0 &&
	    now >= wi->wi_hold_end)
		wsidle_close_all(wi);
	else if (wi->wi_phase == WSIDLE_CLOSE && now >= wi->wi_phase_end)
		event_base_loopbreak(wi->wi_base);
}

/* SIGINT or SIGTERM: end the hold (a second one, or before, at once). */
static void
wsidle_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wsidle *wi = arg;

	(void)fd;
	(void)what;
	if (wi->wi_interrupted++ > 0 || wi->wi_phase != WSIDLE_HOLD) {
		event_base_loopbreak(wi->wi_base);
		return;
	}
	wsidle_close_all(wi);
}

/* Start connecting c, with its buffers. */
static int
wsidle_connect(struct wsidle_conn *c)
{
	struct wsidle *wi = c->ic_wi;
	int fd, one = 1;

	c->ic_rbuf = malloc(wi->wi_rbuf_size);
	c->ic_sbuf = malloc(wi->wi_sbuf_size);
	fd = socket(wi->wi_server.wa_addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ic_rbuf == NULL || c->ic_sbuf == NULL || fd == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
		fprintf(stderr, "%s: connection %u: %s\n", WSIDLE_NAME,
		    c->ic_id + 1, fd == -1 ? strerror(errno) : "out of memory");
		if (fd != -1)
			close(fd);
		return -1;
	}
	c->ic_fd = fd;
	c->ic_rev =
	    event_new(wi->wi_base, fd, EV_READ | EV_PERSIST, wsidle_read_cb, c);
	c->ic_wev = event_new(wi->wi_base, fd, EV_WRITE, wsidle_write_cb, c);
	if (c->ic_rev == NULL || c->ic_wev == NULL) {
		fprintf(stderr, "%s: event_new failed\n", WSIDLE_NAME);
		return -1;
	}
	wi->wi_nopen++;
	c->ic_state = WSIDLE_CONNECTING;
	c->ic_deadline = wsclient_now() + wi->wi_timeout_ns;
	if (connect(fd, (const struct sockaddr *)&wi->wi_server.wa_addr,
		wi->wi_server.wa_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			wsidle_conn_fail(c, "connect: %s", strerror(errno));
			return -1;
		}
		event_add(c->ic_wev, NULL);
		return 0;
	}
	wsidle_write_cb(fd, EV_WRITE, c);
	return c->ic_state == WSIDLE_DONE ? -1 : 0;
}

/* Start connections until WSIDLE_AT_ONCE are being set up, or all are. */
static void
wsidle_connect_more(struct wsidle *wi)
{
	while (wi->wi_nstarted < wi->wi_nconns &&
	    wi->wi_nstarted - wi->wi_nready < WSIDLE_AT_ONCE) {
		if (wsidle_connect(&wi->wi_conns[wi->wi_nstarted++]) == -1) {
			wi->wi_failed = 1;
			event_base_loopbreak(wi->wi_base);
			return;
		}
	}
}

/* Allocate what the run shares and start the first connections. */
static int
wsidle_setup(struct wsidle *wi)
{
	struct timeval tick = {0, WSIDLE_TICK_US};
	size_t zmax = PMDCLIENT_BOUND(wi->wi_size + WSIDLE_MARK_MAX);
	unsigned i;

	wi->wi_rbuf_size = 2 * wi->wi_size + 1024;
	if (wi->wi_rbuf_size < WSIDLE_RBUF_MIN)
		wi->wi_rbuf_size = WSIDLE_RBUF_MIN;
	wi->wi_sbuf_size = WSCLIENT_HDR_MAX + zmax + WSIDLE_PATH_MAX * 3;
	wi->wi_conns = calloc(wi->wi_nconns, sizeof(*wi->wi_conns));
	wi->wi_pool = malloc(WSIDLE_POOL);
	wi->wi_text = malloc(zmax);
	wi->wi_zout = malloc(2 * wi->wi_rbuf_size);
	if (wi->wi_conns == NULL || wi->wi_pool == NULL ||
	    wi->wi_text == NULL || wi->wi_zout == NULL)
		return -1;
	wsclient_json(wi->wi_pool, WSIDLE_POOL, 1);
	for (i = 0; i < wi->wi_nconns; i++) {
		wi->wi_conns[i].ic_wi = wi;
		wi->wi_conns[i].ic_id = i;
		wi->wi_conns[i].ic_fd = -1;
		wi->wi_conns[i].ic_state = WSIDLE_DONE;
	}
	wi->wi_tick =
	    event_new(wi->wi_base, -1, EV_PERSIST, wsidle_tick_cb, wi);
	wi->wi_sigint = evsignal_new(wi->wi_base, SIGINT, wsidle_signal_cb, wi);
	wi->wi_sigterm =
	    evsignal_new(wi->wi_base, SIGTERM, wsidle_signal_cb, wi);
	if (wi->wi_tick == NULL || wi->wi_sigint == NULL ||
	    wi->wi_sigterm == NULL)
		return -1;
	event_add(wi->wi_tick, &tick);
	event_add(wi->wi_sigint, NULL);
	event_add(wi->wi_sigterm, NULL);
	wsidle_connect_more(wi);
	return 0;
}

/* Print what the run did, as text or as one JSON object. */
static void
wsidle_report(const struct wsidle *wi)
{
	if (wi->wi_json) {
		printf("{\"connections\":%u,\"ready\":%u,\"message_size\":%zu,"
		       "\"messages_each\":%u,\"deflate\":%s,\"extension\":",
		    wi->wi_nconns, wi->wi_nready, wi->wi_size, wi->wi_count,
		    wi->wi_deflate ? "true" : "false");
		wsclient_print_string(wi->wi_deflate ? wi->wi_ext : NULL);
		printf(",\"messages\":%" PRIu64 ",\"compressed_sent\":%" PRIu64
		       ",\"compressed_answers\":%" PRIu64
		       ",\"other_frames\":%" PRIu64 ",\"oversized\":%" PRIu64
		       ",\"pings\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
		    wi->wi_messages, wi->wi_zsent, wi->wi_zanswers,
		    wi->wi_others, wi->wi_oversized, wi->wi_pings,
		    wi->wi_errors);
		return;
	}
	printf("%s%s: %u of %u connections set up%s%s\n", wi->wi_server.wa_host,
	    wi->wi_path, wi->wi_nready, wi->wi_nconns,
	    wi->wi_deflate ? ", " : "", wi->wi_deflate ? wi->wi_ext : "");
	printf("  messages  %" PRIu64 " answered (%u of %zu bytes each); "
	       "%" PRIu64 " sent and %" PRIu64 " answers compressed\n",
	    wi->wi_messages, wi->wi_count, wi->wi_size, wi->wi_zsent,
	    wi->wi_zanswers);
	printf("  other data frames %" PRIu64 ", oversized %" PRIu64
	       ", pings %" PRIu64 "\n",
	    wi->wi_others, wi->wi_oversized, wi->wi_pings);
	printf("  errors    %" PRIu64 "\n", wi->wi_errors);
}

/* Close what is open and free everything. */
static void
wsidle_free(struct wsidle *wi)
{
	struct wsidle_conn *c;
	unsigned n;

	for (n = 0; wi->wi_conns != NULL && n < wi->wi_nconns; n++) {
		c = &wi->wi_conns[n];
		if (c->ic_fd != -1)
			close(c->ic_fd);
		if (c->ic_rev != NULL)
			event_free(c->ic_rev);
		if (c->ic_wev != NULL)
			event_free(c->ic_wev);
		wsidle_zlib_free(c);
		free(c->ic_rbuf);
		free(c->ic_sbuf);
	}
	free(wi->wi_conns);
	free(wi->wi_pool);
	free(wi->wi_text);
	free(wi->wi_zout);
	if (wi->wi_tick != NULL)
		event_free(wi->wi_tick);
	if (wi->wi_sigint != NULL)
		event_free(wi->wi_sigint);
	if (wi->wi_sigterm != NULL)
		event_free(wi->wi_sigterm);
	if (wi->wi_base != NULL)
		event_base_free(wi->wi_base);
}

/*
 * Parse the command line into wi; return the index of HOST:PORT, -1 on
 * an error (said), or 0 after --help.
 */
static int
wsidle_options(struct wsidle *wi, int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"deflate", no_argument, NULL, WSIDLE_OPT_DEFLATE},
	    {"json", no_argument, NULL, WSIDLE_OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long long v = 0;
	int ch, bad = 0;

	while (!bad &&
	    (ch = getopt_long(argc, argv, "c:d:g:hm:n:p:t:", longopts, NULL)) !=
		-1) {
		switch (ch) {
		case 'c':
		case 'g':
			bad = wsclient_count(optarg, 1, WSIDLE_MAX_CONNS, &v);
			*(ch == 'c' ? &wi->wi_nconns : &wi->wi_group) =
			    (unsigned)v;
			break;
		case 'm':
			bad = wsclient_count(optarg, 0, WSIDLE_MAX_SIZE, &v);
			wi->wi_size = (size_t)v;
			break;
		case 'n':
			bad = wsclient_count(optarg, 1, WSIDLE_MAX_COUNT, &v);
			wi->wi_count = (unsigned)v;
			break;
		case 'd':
		case 't':
			bad = wsclient_seconds(optarg, ch == 't' ? 0.1 : 0.001,
			    ch == 't' ? &wi->wi_timeout : &wi->wi_hold);
			break;
		case 'p':
			bad = optarg[0] != '/' ||
			    strlen(optarg) >= WSIDLE_PATH_MAX ||
			    strpbrk(optarg, " \t\r\n") != NULL;
			wi->wi_path = optarg;
			break;
		case WSIDLE_OPT_DEFLATE:
			wi->wi_deflate = 1;
			break;
		case WSIDLE_OPT_JSON:
			wi->wi_json = 1;
			break;
		case 'h':
			wsidle_usage(stdout);
			return 0;
		default:
			wsidle_usage(stderr);
			return -1;
		}
		if (bad)
			fprintf(stderr,
			    "%s: -%c %s: out of range, or not one\n",
			    WSIDLE_NAME, ch, optarg);
	}
	if (bad)
		return -1;
	if (argc - optind != 1) {
		wsidle_usage(stderr);
		return -1;
	}
	return optind;
}

/* Run wsidle. */
int
main(int argc, char *argv[])
{
	static struct wsidle wi;
	int first, status;

	wi.wi_nconns = 1000;
	wi.wi_group = 100;
	wi.wi_count = 1;
	wi.wi_timeout = 30;
	wi.wi_path = "/echo";
	if ((first = wsidle_options(&wi, argc, argv)) <= 0)
		return first == 0 ? 0 : 1;
	if (wi.wi_size == 0)
		wi.wi_count = 0;
	wi.wi_timeout_ns = (uint64_t)(wi.wi_timeout * 1e9);
	wi.wi_rng = wsclient_seed();
	signal(SIGPIPE, SIG_IGN);
	if (wsclient_files(WSIDLE_NAME, wi.wi_nconns) == -1 ||
	    wsclient_resolve(
		WSIDLE_NAME, argv[first], wi.wi_timeout, &wi.wi_server) == -1)
		return 1;
	if ((wi.wi_base = event_base_new()) == NULL ||
	    wsidle_setup(&wi) == -1) {
		fprintf(stderr, "%s: out of memory\n", WSIDLE_NAME);
		wsidle_free(&wi);
		return 1;
	}
	if (!wi.wi_failed)
		event_base_dispatch(wi.wi_base);
	if (wi.wi_phase < WSIDLE_HOLD && !wi.wi_failed)
		fprintf(stderr,
		    "%s: interrupted before every connection was "
		    "set up\n",
		    WSIDLE_NAME);
	status = wi.wi_failed || wi.wi_phase < WSIDLE_HOLD || wi.wi_errors > 0;
	wsidle_report(&wi);
	wsidle_free(&wi);
	return status;
}
