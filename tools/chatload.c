/*
 * chatload: a load generator for WebSocket chat rooms (pfhttpd's [chat],
 * nginx's nchan, tools/bench-node/chat.js). It opens S subscriber and P
 * publisher connections, each to a URL of its own kind ("{n}" in a URL
 * becomes the connection's number: ?nick=s{n}), upgrades them, and lets
 * them settle. Each kind may have several URLs (servers sharing a room:
 * chaturl.h): subscriber i connects to the subscribers' URL i mod their
 * count, publisher j to the publishers' URL j mod theirs. Settled means:
 * every connection has had a first frame (pfhttpd and node send a welcome
 * first) and no frame came for CHATLOAD_QUIET_NS, or the settle time is
 * over. Then it measures for a fixed time:
 *
 *  - saturation (-r 0): each publisher keeps up to W messages in flight.
 *    A message is in flight from its sending until every subscriber has
 *    received it (or a later one of the same publisher, which makes it
 *    lost for that subscriber), so that no server can let a queue grow
 *    without bound. The publishers' own copies (pfhttpd and node send a
 *    room's messages to the sender too) are read and ignored.
 *  - fixed rate (-r R): the publishers together send R messages a second,
 *    evenly spaced and in turn.
 *
 * Each message's text is a marker (chatmark.h: publisher, number, send
 * time) padded to the message size; a receiver finds it anywhere in a
 * frame, so the server may wrap it (JSON) or not. Frames without one
 * (welcome, join, leave) are ignored, as are marked frames sent before
 * this run started (another run's, from the history). The figures:
 * deliveries (a subscriber received a marked frame) per second while
 * measuring, the latency of every delivery (receive time minus the
 * marker's send time, CLOCK_MONOTONIC, same machine) as percentiles,
 * lost messages (a subscriber missed a number, or never got it by the
 * end of the drain) and duplicates (a number at or below one it had: a
 * duplicate or a message out of order). A marker split across the
 * fragments of a message is not found (servers send chat messages
 * whole).
 *
 * When the time is up the publishers stop; the subscribers drain what is
 * still coming (until each has every message sent, at most -t), then
 * every connection closes with a close frame. Every phase is bounded in
 * time and every loop in count. With --phases it prints "measuring" and
 * "measured" on lines of their own as those moments pass, so that a
 * caller can read the server's CPU time over exactly that window.
 *
 * With --deflate every connection offers permessage-deflate (pmdclient.c)
 * and fails unless the server agrees. Publishers send their messages
 * compressed (with a deflate stream each, kept from message to message
 * unless the server answered client_no_context_takeover) and ignore what
 * they receive without inflating it; subscribers inflate each compressed
 * frame (with an inflate stream each, reset at every message when the
 * server keeps no context, as a chat server should, so that it can
 * compress a message once for all) and look for the marker in what comes
 * out. The WebSocket bytes that subscribers receive (frame headers and
 * payloads) are counted per delivery, and publishers' per message. With
 * --payload json the padding after the marker is JSON-like text
 * (wsclient_json(): a slice of CHATLOAD_POOL bytes of it, from an offset
 * of the message's own) instead of 'x', so that compression has what
 * real traffic gives it.
 *
 * One thread, one libevent loop, nonblocking sockets with TCP_NODELAY;
 * frames are parsed in place in each connection's receive buffer.
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

#include "chatmark.h"
#include "chaturl.h"
#include "pmdclient.h"
#include "wsclient.h"

#define CHATLOAD_NAME	    "chatload"
#define CHATLOAD_MAX_CONNS  100000	/* subscribers + publishers */
#define CHATLOAD_MAX_SIZE   (64 * 1024) /* bytes of a message's text */
#define CHATLOAD_MAX_RATE   1000000	/* messages a second */
#define CHATLOAD_MAX_WINDOW 4096	/* messages in flight */
#define CHATLOAD_RBUF_MIN   16384	/* receive buffer, at least */
#define CHATLOAD_SBUF	    4096	/* a subscriber's send buffer */
#define CHATLOAD_QUEUE	    256		/* fixed rate: unsent msgs */
#define CHATLOAD_SLACK	    (2 * (WSCLIENT_HDR_MAX + WSCLIENT_CTL_MAX))
#define CHATLOAD_READS	    16 /* recv() per readable event */
#define CHATLOAD_SHOWN	    10 /* error messages, at most */
#define CHATLOAD_AT_ONCE    64 /* connections set up at once */
#define CHATLOAD_QUIET_NS   (100 * 1000 * 1000ULL) /* settled: no frame */
#define CHATLOAD_TICK_US    50000 /* deadlines, phases: 50 ms */
#define CHATLOAD_OPT_JSON   256	  /* getopt_long values of the long options */
#define CHATLOAD_OPT_PHASES 257

#define CHATLOAD_OPT_DEFLATE 258
#define CHATLOAD_OPT_PAYLOAD 259
#define CHATLOAD_POOL	     (2 * CHATLOAD_MAX_SIZE) /* --payload json */

/* Where a connection is in its life. */
enum chatload_state {
	CHATLOAD_CONNECTING = 0, /* connect() in progress */
	CHATLOAD_UPGRADING,	 /* handshake request sent */
	CHATLOAD_OPEN,		 /* upgraded */
	CHATLOAD_CLOSING,	 /* close frame sent, awaiting the server's */
	CHATLOAD_DONE,		 /* socket closed, or never opened */
};

/* Where the whole run is. */
enum chatload_phase {
	CHATLOAD_SETUP = 0, /* connecting and upgrading */
	CHATLOAD_SETTLE,    /* all upgraded: welcome, history, joins */
	CHATLOAD_MEASURE,   /* publishing, deliveries counted */
	CHATLOAD_DRAIN,	    /* not publishing; the last deliveries */
	CHATLOAD_CLOSE,	    /* close frames */
};

/* A URL to connect to: ws://HOST:PORT/PATH. */
struct chatload_url {
	struct chaturl cu_url;		/* split */
	struct wsclient_addr cu_server; /* where, and the Host header */
};

struct chatload;

/* One WebSocket connection, a subscriber's or a publisher's. */
struct chatload_conn {
	struct chatload *cc_cl;		   /* the run it belongs to */
	const struct chatload_url *cc_url; /* where it connects */
	unsigned cc_id;		      /* 0..S-1 subscribers, then publishers */
	unsigned cc_pub;	      /* publisher 1..P; 0: a subscriber */
	int cc_fd;		      /* socket, -1 once closed */
	enum chatload_state cc_state; /* see the enum */
	struct event *cc_rev;	      /* readable, persistent */
	struct event *cc_wev;	      /* writable, added when send() is short */
	unsigned char *cc_rbuf;	      /* received, not yet parsed */
	size_t cc_rlen;		      /* bytes in cc_rbuf */
	uint64_t cc_skip;	      /* bytes of a too long frame to skip */
	unsigned char *cc_sbuf;	      /* to send: frames, handshake */
	size_t cc_ssize;	      /* its size */
	size_t cc_spos;		      /* bytes of it sent */
	size_t cc_slen;		      /* bytes of it queued */
	uint64_t cc_frames;	      /* frames received */
	uint64_t cc_deadline;	      /* fail if still waiting then; 0: none */
	uint64_t *cc_seen;	      /* subscriber: highest number seen, per
					 publisher */
	uint64_t cc_sent;	      /* publisher: messages sent */
	uint64_t cc_done;	      /* publisher: messages 1..cc_done every
					 open subscriber has, or went past */
	uint32_t *cc_got;	      /* publisher: subscribers that have or
					 went past each message in flight,
					 by number % window */
	uint64_t cc_progress;	      /* publisher: when cc_done last grew,
					 or a send into an empty window */
	int cc_z;		      /* --deflate: agreed */
	struct pmdclient_params cc_pmd;	 /* what the server agreed */
	z_stream cc_def;		 /* publisher: its messages' deflate */
	int cc_def_on;			 /* made: compress what it sends */
	struct pmdclient_inflate cc_inf; /* subscriber: what it gets */
	int cc_msg_z;			 /* the message coming is compressed */
};

/* The run: options, connections, counters. */
struct chatload {
	struct event_base *cl_base;
	const char *cl_sub_arg; /* the subscribers' URLs as given */
	struct chatload_url cl_sub_urls[CHATURL_LIST_MAX]; /* and split */
	unsigned cl_nsub_urls;				   /* how many */
	struct chatload_url cl_pub_urls[CHATURL_LIST_MAX]; /* publishers' */
	unsigned cl_npub_urls; /* how many (the subscribers' if not given) */

	unsigned cl_nsubs;		/* -S */
	unsigned cl_npubs;		/* -P */
	unsigned cl_nconns;		/* both */
	unsigned cl_rate;		/* -r; 0: saturation */
	unsigned cl_window;		/* -W */
	size_t cl_size;			/* -s */
	size_t cl_text_max;		/* longest text: size or a marker */
	double cl_duration;		/* -d, seconds */
	double cl_settle;		/* -w, seconds */
	double cl_timeout;		/* -t, seconds */
	uint64_t cl_timeout_ns;		/* the same in ns */
	int cl_json;			/* --json */
	int cl_phases;			/* --phases */
	int cl_deflate;			/* --deflate */
	int cl_payload_json;		/* --payload json */
	unsigned char *cl_pool;		/* its padding */
	size_t cl_frame_max;		/* a message's frame, at most */
	unsigned char *cl_zbuf;		/* a message deflated */
	unsigned char *cl_zout;		/* a frame inflated */
	size_t cl_zout_size;		/* its size */
	size_t cl_zout_len;		/* bytes in it */
	int cl_zout_over;		/* more came than it holds */
	char cl_ext[WSCLIENT_EXT_MAX];	/* --deflate: the first answer */
	size_t cl_rbuf_size;		/* receive buffer of a connection */
	struct chatload_conn *cl_conns; /* subscribers, then publishers */
	uint64_t *cl_seen;		/* every subscriber's cc_seen */
	uint32_t *cl_got;		/* every publisher's cc_got */
	unsigned cl_nsubs_open;		/* subscribers not done */
	char *cl_text;			/* a message's text, being built */
	unsigned cl_nstarted;		/* connections started in setup */
	unsigned cl_nready;		/* connections upgraded in setup */
	unsigned cl_nfirst;		/* connections that had a frame */
	unsigned cl_nopen;		/* connections not done */
	enum chatload_phase cl_phase;
	int cl_setup_failed;	/* a connection failed before the start */
	int cl_interrupted;	/* SIGINT or SIGTERM */
	uint64_t cl_start;	/* when the run started: older is stale */
	uint64_t cl_phase_end;	/* settle or drain gives up then */
	uint64_t cl_last_frame; /* when the last frame came */
	uint64_t cl_t0, cl_t1;	/* measurement start and end, ns */
	uint64_t cl_next;	/* fixed rate: the next message's index */
	uint64_t cl_total;	/* fixed rate: messages to send */
	uint64_t cl_sent;	/* messages sent, all publishers */
	uint64_t cl_unsent;	/* fixed rate: left out, buffer full */
	uint64_t cl_delivered;	/* deliveries while measuring */
	uint64_t cl_lost;	/* messages subscribers missed */
	uint64_t cl_dups;	/* duplicate or out-of-order deliveries */
	uint64_t cl_stale;	/* marked frames of an earlier run */
	uint64_t cl_oversized;	/* frames too long to look at */
	uint64_t cl_pings;	/* pings and pongs from the server */
	uint64_t cl_up_bytes;	/* frame bytes publishers sent, measuring */
	uint64_t cl_down_bytes; /* frame bytes subscribers got, measuring */
	uint64_t cl_dframes;	/* data frames subscribers got, measuring */
	uint64_t cl_zframes;	/* of those, compressed */
	uint64_t cl_errors;	/* connections that failed */
	unsigned cl_shown;	/* error messages printed */
	uint64_t cl_rng;	/* xorshift64* state for masks */
	struct event *cl_timer; /* end of measurement */
	struct event *cl_pace;	/* fixed rate: the next message is due */
	struct event *cl_tick;	/* every CHATLOAD_TICK_US */
	struct event *cl_sigint, *cl_sigterm;
	struct wsclient_hist cl_hist; /* delivery latencies */
};

static void chatload_usage(FILE *fp);
static int chatload_urls(
    const char *arg, double timeout, struct chatload_url *urls);
static char *chatload_url_request(
    const struct chatload_url *cu, unsigned n, const char *offer, size_t *len);
static void chatload_error(struct chatload_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void chatload_conn_fail(struct chatload_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void chatload_conn_done(struct chatload_conn *c);
static int chatload_flush(struct chatload_conn *c);
static int chatload_room(struct chatload_conn *c, size_t len, size_t keep);
static int chatload_queue(
    struct chatload_conn *c, const void *buf, size_t len, size_t keep);
static int chatload_queue_frame(struct chatload_conn *c, int opcode,
    const void *payload, size_t len, size_t keep);
static size_t chatload_text(struct chatload *cl, const struct chatmark *m);
static int chatload_queue_deflated(
    struct chatload_conn *c, const void *text, size_t len);
static int chatload_publish(struct chatload_conn *c, uint64_t now);
static void chatload_fill(struct chatload_conn *c, uint64_t now);
static void chatload_send_close(struct chatload_conn *c);
static uint64_t chatload_due(const struct chatload *cl, uint64_t k);
static void chatload_pace_cb(evutil_socket_t fd, short what, void *arg);
static void chatload_phase_line(const struct chatload *cl, const char *s);
static void chatload_start(struct chatload *cl, uint64_t now);
static void chatload_stop(struct chatload *cl, uint64_t now);
static int chatload_drained(const struct chatload *cl);
static void chatload_close_all(struct chatload *cl);
static void chatload_delivered(
    struct chatload_conn *c, const struct chatmark *m, uint64_t now);
static void chatload_advance(struct chatload_conn *c, uint64_t now);
static void chatload_data(
    struct chatload_conn *c, const unsigned char *p, size_t n, uint64_t now);
static int chatload_collect(void *arg, const unsigned char *p, size_t n);
static int chatload_message(struct chatload_conn *c,
    const struct wsclient_frame *f, const unsigned char *p, uint64_t now);
static int chatload_frame(struct chatload_conn *c,
    const struct wsclient_frame *f, const unsigned char *p, uint64_t now);
static int chatload_frames(struct chatload_conn *c, uint64_t now);
static int chatload_deflate_agreed(struct chatload_conn *c, const char *ext);
static void chatload_handshake_read(struct chatload_conn *c);
static void chatload_read_cb(evutil_socket_t fd, short what, void *arg);
static void chatload_write_cb(evutil_socket_t fd, short what, void *arg);
static void chatload_timer_cb(evutil_socket_t fd, short what, void *arg);
static void chatload_deadlines(struct chatload *cl, uint64_t now);
static void chatload_tick_cb(evutil_socket_t fd, short what, void *arg);
static void chatload_signal_cb(evutil_socket_t fd, short what, void *arg);
static int chatload_connect(struct chatload_conn *c);
static void chatload_connect_more(struct chatload *cl);
static int chatload_conn_init(struct chatload *cl, unsigned id);
static int chatload_setup(struct chatload *cl);
static void chatload_report_json(struct chatload *cl, double secs, double rate);
static void chatload_report(struct chatload *cl);
static void chatload_free(struct chatload *cl);
static int chatload_opt_count(int ch, unsigned min, unsigned max, unsigned *v);
static int chatload_opt_seconds(int ch, double min, double *v);
static int chatload_options(struct chatload *cl, int argc, char *argv[]);

/* Print the usage message to fp. */
static void
chatload_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-P PUBLISHERS] [-r RATE] [-S SUBSCRIBERS] [-s SIZE]\n"
	    "                [-W WINDOW] [-d SECONDS] [-t SECONDS] [-w SECONDS]\n"
	    "                [--deflate] [--json] [--payload ascii|json] "
	    "[--phases]\n"
	    "                SUB_URL[,SUB_URL...] [PUB_URL[,PUB_URL...]]\n"
	    "  SUB_URL     ws://HOST:PORT/PATH the subscribers connect to;\n"
	    "              {n} in it becomes the connection's number\n"
	    "              (?nick=s{n}); with several (at most 16), the\n"
	    "              subscribers take them in turn\n"
	    "  PUB_URL     the same for the publishers (default SUB_URL)\n"
	    "  -S N        subscribers (default 100)\n"
	    "  -P N        publishers (default 1)\n"
	    "  -r N        messages a second from all publishers together,\n"
	    "              evenly spaced; 0: saturation (default)\n"
	    "  -W N        saturation: messages a publisher has in flight,\n"
	    "              sent and not yet received by every subscriber\n"
	    "              (default 8)\n"
	    "  -s SIZE     bytes of a message's text: its marker padded to\n"
	    "              SIZE (a longer marker whole); k for KiB (default 64)\n"
	    "  -d SECONDS  measure for SECONDS (default 5)\n"
	    "  -t SECONDS  fail a connection that waits longer than this for\n"
	    "              a connect, a handshake, a close or (saturation)\n"
	    "              its messages' delivery; the most the drain after\n"
	    "              the measurement takes (default 10)\n"
	    "  -w SECONDS  settle at most this long before measuring\n"
	    "              (default 1)\n"
	    "  --deflate   offer permessage-deflate, fail unless the server "
	    "agrees;\n"
	    "              publishers compress, subscribers inflate\n"
	    "  --json      print the result as one JSON object\n"
	    "  --payload ascii|json\n"
	    "              pad the marker with 'x' (default) or with "
	    "JSON-like text\n"
	    "  --phases    print a line \"measuring\" when the measurement\n"
	    "              starts and \"measured\" when it ends\n"
	    "  -h          print this help and exit\n",
	    CHATLOAD_NAME);
}

/*
 * Split arg, one URL ws://HOST:PORT/PATH or several separated by commas,
 * into urls and find each server (within timeout seconds). Return how
 * many, or -1 after printing why not.
 */
static int
chatload_urls(const char *arg, double timeout, struct chatload_url *urls)
{
	struct chaturl split[CHATURL_LIST_MAX];
	const char *why;
	int i, n;

	if ((n = chaturl_list(arg, split, &why)) == -1) {
		fprintf(stderr, "%s: %s: %s\n", CHATLOAD_NAME, arg, why);
		return -1;
	}
	for (i = 0; i < n; i++) {
		urls[i].cu_url = split[i];
		if (wsclient_resolve(CHATLOAD_NAME, split[i].cu_target, timeout,
			&urls[i].cu_server) == -1)
			return -1;
	}
	return n;
}

/*
 * Return the handshake request of connection number n (1..) to cu, with
 * each {n} of its path replaced by n and offering the extensions offer
 * (NULL: none), allocated; its length in len.
 */
static char *
chatload_url_request(
    const struct chatload_url *cu, unsigned n, const char *offer, size_t *len)
{
	char path[2 * CHATURL_PATH_MAX];

	if (chaturl_path(&cu->cu_url, n, path, sizeof(path)) == -1)
		return NULL;
	return wsclient_request(
	    CHATLOAD_NAME, path, cu->cu_server.wa_host, offer, len);
}

/*
 * Count an error on connection c and print it: always before the start
 * (each is fatal then), at most CHATLOAD_SHOWN times after.
 */
static void
chatload_error(struct chatload_conn *c, const char *fmt, ...)
{
	struct chatload *cl = c->cc_cl;
	va_list ap;

	if (cl->cl_phase != CHATLOAD_SETUP && cl->cl_phase != CHATLOAD_SETTLE)
		cl->cl_errors++;
	if (cl->cl_errors > 0 && cl->cl_shown++ >= CHATLOAD_SHOWN) {
		if (cl->cl_shown == CHATLOAD_SHOWN + 1)
			fprintf(stderr, "%s: further errors not shown\n",
			    CHATLOAD_NAME);
		return;
	}
	fprintf(stderr, "%s: %s %u: ", CHATLOAD_NAME,
	    c->cc_pub ? "publisher" : "subscriber",
	    c->cc_pub ? c->cc_pub : c->cc_id + 1);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Fail connection c: print and count why, close it. Before the
 * measurement any failure ends the run.
 */
static void
chatload_conn_fail(struct chatload_conn *c, const char *fmt, ...)
{
	struct chatload *cl = c->cc_cl;
	char msg[WSCLIENT_MSG_MAX];
	va_list ap;

	if (c->cc_state == CHATLOAD_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	chatload_error(c, "%s", msg);
	if (cl->cl_phase == CHATLOAD_SETUP || cl->cl_phase == CHATLOAD_SETTLE) {
		cl->cl_setup_failed = 1;
		event_base_loopbreak(cl->cl_base);
	}
	chatload_conn_done(c);
}

/*
 * Close connection c. Its events stay allocated until the end of the
 * run, so a callback still on the stack may look at it.
 */
static void
chatload_conn_done(struct chatload_conn *c)
{
	struct chatload *cl = c->cc_cl;

	if (c->cc_state == CHATLOAD_DONE)
		return;
	event_del(c->cc_rev);
	event_del(c->cc_wev);
	close(c->cc_fd);
	c->cc_fd = -1;
	c->cc_state = CHATLOAD_DONE;
	c->cc_deadline = 0;
	c->cc_spos = c->cc_slen = 0;
	if (c->cc_pub == 0)
		cl->cl_nsubs_open--;
	if (--cl->cl_nopen == 0)
		event_base_loopbreak(cl->cl_base);
}

/* Send what c has queued; wait until writable if it is not all taken. */
static int
chatload_flush(struct chatload_conn *c)
{
	ssize_t n;

	while (c->cc_spos < c->cc_slen) {
		n = send(c->cc_fd, c->cc_sbuf + c->cc_spos,
		    c->cc_slen - c->cc_spos, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->cc_wev, NULL);
				return 0;
			}
			chatload_conn_fail(c, "send: %s", strerror(errno));
			return -1;
		}
		c->cc_spos += (size_t)n;
	}
	c->cc_spos = c->cc_slen = 0;
	return 0;
}

/*
 * Make room for len more bytes at the end of what c has queued, with keep
 * bytes of its buffer still free after them for what must fit later
 * (control frames). Return 0, or -1 if there is not that much room.
 */
static int
chatload_room(struct chatload_conn *c, size_t len, size_t keep)
{
	if (c->cc_slen + len + keep > c->cc_ssize && c->cc_spos > 0) {
		memmove(c->cc_sbuf, c->cc_sbuf + c->cc_spos,
		    c->cc_slen - c->cc_spos);
		c->cc_slen -= c->cc_spos;
		c->cc_spos = 0;
	}
	return c->cc_slen + len + keep > c->cc_ssize ? -1 : 0;
}

/* Queue len bytes of buf on c, if there is room (chatload_room()). */
static int
chatload_queue(
    struct chatload_conn *c, const void *buf, size_t len, size_t keep)
{
	if (chatload_room(c, len, keep) == -1)
		return -1;
	memcpy(c->cc_sbuf + c->cc_slen, buf, len);
	c->cc_slen += len;
	return 0;
}

/* Queue a masked frame of len payload bytes on c, if there is room. */
static int
chatload_queue_frame(struct chatload_conn *c, int opcode, const void *payload,
    size_t len, size_t keep)
{
	struct chatload *cl = c->cc_cl;
	uint32_t key = (uint32_t)(wsclient_random(&cl->cl_rng) >> 32);

	if (chatload_room(c, WSCLIENT_HDR_MAX + len, keep) == -1)
		return -1;
	c->cc_slen +=
	    wsclient_frame(c->cc_sbuf + c->cc_slen, opcode, payload, len, key);
	return 0;
}

/*
 * Write the text of the message m says into cl_text: its marker, padded
 * to the message size with 'x' or (--payload json) with a slice of the
 * JSON-like pool from an offset of the message's own. Return its length.
 */
static size_t
chatload_text(struct chatload *cl, const struct chatmark *m)
{
	size_t n, pad;

	if (cl->cl_pool == NULL)
		return chatmark_format(m, cl->cl_size, cl->cl_text);
	n = chatmark_format(m, 0, cl->cl_text);
	if (n >= cl->cl_size)
		return n;
	pad = cl->cl_size - n;
	memcpy(cl->cl_text + n,
	    cl->cl_pool +
		(m->cm_num * 7919 + m->cm_pub * 104729) %
		    (CHATLOAD_POOL - pad + 1),
	    pad);
	return cl->cl_size;
}

/*
 * Queue len bytes of text on publisher c as a compressed message (RSV1),
 * if there is room for any that it could deflate to: the deflate stream
 * must not take a message that is then not sent. Return 0, or -1 (the
 * buffer full, or c failed).
 */
static int
chatload_queue_deflated(struct chatload_conn *c, const void *text, size_t len)
{
	struct chatload *cl = c->cc_cl;
	uint32_t key = (uint32_t)(wsclient_random(&cl->cl_rng) >> 32);
	size_t start;
	long n;

	if (chatload_room(c, WSCLIENT_HDR_MAX + PMDCLIENT_BOUND(len),
		CHATLOAD_SLACK) == -1)
		return -1;
	n = pmdclient_deflate(&c->cc_def, &c->cc_pmd, text, len, cl->cl_zbuf,
	    PMDCLIENT_BOUND(cl->cl_text_max));
	if (n == -1) {
		chatload_conn_fail(c, "deflate failed");
		return -1;
	}
	start = c->cc_slen;
	c->cc_slen += wsclient_frame(
	    c->cc_sbuf + start, WSCLIENT_OP_TEXT, cl->cl_zbuf, (size_t)n, key);
	c->cc_sbuf[start] |= 0x40; /* RSV1: compressed */
	return 0;
}

/*
 * Queue the next message of publisher c, sent at now, compressed if c
 * compresses; do not flush. Return -1 if its buffer is full (nothing
 * queued, nothing numbered) or c failed.
 */
static int
chatload_publish(struct chatload_conn *c, uint64_t now)
{
	struct chatload *cl = c->cc_cl;
	struct chatmark m;
	size_t n, queued = c->cc_slen - c->cc_spos; /* a move keeps it */

	m.cm_pub = c->cc_pub;
	m.cm_num = c->cc_sent + 1;
	m.cm_sent = now;
	n = chatload_text(cl, &m);
	if ((c->cc_def_on ? chatload_queue_deflated(c, cl->cl_text, n)
			  : chatload_queue_frame(c, WSCLIENT_OP_TEXT,
				cl->cl_text, n, CHATLOAD_SLACK)) == -1)
		return -1;
	if (cl->cl_phase == CHATLOAD_MEASURE)
		cl->cl_up_bytes += c->cc_slen - c->cc_spos - queued;
	if (c->cc_sent == c->cc_done)
		c->cc_progress = now;
	c->cc_sent++;
	cl->cl_sent++;
	return 0;
}

/* Saturation: fill the window of publisher c, then send. */
static void
chatload_fill(struct chatload_conn *c, uint64_t now)
{
	struct chatload *cl = c->cc_cl;
	unsigned i;

	if (c->cc_state != CHATLOAD_OPEN)
		return;
	for (i = 0;
	     i < cl->cl_window && c->cc_sent - c->cc_done < cl->cl_window; i++)
		if (chatload_publish(c, now) == -1)
			break;
	chatload_flush(c);
}

/* Send a close frame with code 1000 on c and wait for the server's. */
static void
chatload_send_close(struct chatload_conn *c)
{
	struct chatload *cl = c->cc_cl;
	unsigned char code[2] = {1000 >> 8, 1000 & 0xff};

	if (c->cc_state != CHATLOAD_OPEN)
		return;
	c->cc_state = CHATLOAD_CLOSING;
	c->cc_deadline = wsclient_now() + cl->cl_timeout_ns;
	if (chatload_queue_frame(c, WSCLIENT_OP_CLOSE, code, sizeof(code), 0) ==
	    -1) {
		chatload_conn_done(c); /* cannot happen: the slack */
		return;
	}
	chatload_flush(c);
}

/* Fixed rate: return when message k (0..) is due. */
static uint64_t
chatload_due(const struct chatload *cl, uint64_t k)
{
	return cl->cl_t0 +
	    (uint64_t)((double)k * (double)WSCLIENT_NSEC / cl->cl_rate);
}

/*
 * Fixed rate: send every message that is due, each from the next
 * publisher in turn, then wait for the next one.
 */
static void
chatload_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chatload *cl = arg;
	struct chatload_conn *c;
	struct timeval tv;
	uint64_t now = wsclient_now(), due;
	unsigned i;

	(void)fd;
	(void)what;
	if (cl->cl_phase != CHATLOAD_MEASURE)
		return;
	while (cl->cl_next < cl->cl_total &&
	    chatload_due(cl, cl->cl_next) <= now) {
		c = &cl->cl_conns[cl->cl_nsubs + cl->cl_next % cl->cl_npubs];
		if (c->cc_state != CHATLOAD_OPEN ||
		    chatload_publish(c, now) == -1)
			cl->cl_unsent++;
		cl->cl_next++;
	}
	for (i = cl->cl_nsubs; i < cl->cl_nconns; i++)
		if (cl->cl_conns[i].cc_state == CHATLOAD_OPEN)
			chatload_flush(&cl->cl_conns[i]);
	if (cl->cl_next >= cl->cl_total)
		return;
	due = chatload_due(cl, cl->cl_next) - now;
	tv.tv_sec = (time_t)(due / WSCLIENT_NSEC);
	tv.tv_usec = (suseconds_t)(due % WSCLIENT_NSEC / 1000);
	evtimer_add(cl->cl_pace, &tv);
}

/* With --phases, print s on a line of its own at once. */
static void
chatload_phase_line(const struct chatload *cl, const char *s)
{
	if (!cl->cl_phases)
		return;
	printf("%s\n", s);
	fflush(stdout);
}

/* Settled: start publishing and counting. */
static void
chatload_start(struct chatload *cl, uint64_t now)
{
	struct timeval tv;
	unsigned i;

	chatload_phase_line(cl, "measuring");
	cl->cl_phase = CHATLOAD_MEASURE;
	cl->cl_t0 = now;
	tv.tv_sec = (time_t)cl->cl_duration;
	tv.tv_usec = (suseconds_t)((cl->cl_duration - (double)tv.tv_sec) * 1e6);
	evtimer_add(cl->cl_timer, &tv);
	if (cl->cl_rate > 0) {
		cl->cl_total = (uint64_t)(cl->cl_duration * cl->cl_rate);
		chatload_pace_cb(-1, 0, cl);
		return;
	}
	for (i = cl->cl_nsubs; i < cl->cl_nconns; i++)
		chatload_fill(&cl->cl_conns[i], now);
}

/* The time is up: stop publishing, drain what is still coming. */
static void
chatload_stop(struct chatload *cl, uint64_t now)
{
	cl->cl_t1 = now;
	chatload_phase_line(cl, "measured");
	cl->cl_phase = CHATLOAD_DRAIN;
	cl->cl_phase_end = now + cl->cl_timeout_ns;
	event_del(cl->cl_timer);
	event_del(cl->cl_pace);
}

/* Return whether every open subscriber has every message sent. */
static int
chatload_drained(const struct chatload *cl)
{
	const struct chatload_conn *c;
	unsigned s, p;

	for (s = 0; s < cl->cl_nsubs; s++) {
		c = &cl->cl_conns[s];
		if (c->cc_state != CHATLOAD_OPEN)
			continue;
		for (p = 0; p < cl->cl_npubs; p++)
			if (c->cc_seen[p] <
			    cl->cl_conns[cl->cl_nsubs + p].cc_sent)
				return 0;
	}
	return 1;
}

/*
 * The drain is over: count what each open subscriber never got as lost,
 * and close every connection.
 */
static void
chatload_close_all(struct chatload *cl)
{
	const struct chatload_conn *c;
	unsigned s, p;
	uint64_t sent;

	cl->cl_phase = CHATLOAD_CLOSE;
	for (s = 0; s < cl->cl_nsubs; s++) {
		c = &cl->cl_conns[s];
		if (c->cc_state != CHATLOAD_OPEN)
			continue;
		for (p = 0; p < cl->cl_npubs; p++) {
			sent = cl->cl_conns[cl->cl_nsubs + p].cc_sent;
			if (c->cc_seen[p] < sent)
				cl->cl_lost += sent - c->cc_seen[p];
		}
	}
	for (s = 0; s < cl->cl_nconns; s++)
		chatload_send_close(&cl->cl_conns[s]);
}

/* Subscriber c received the message m says at now: count it. */
static void
chatload_delivered(
    struct chatload_conn *c, const struct chatmark *m, uint64_t now)
{
	struct chatload *cl = c->cc_cl;
	struct chatload_conn *pub = &cl->cl_conns[cl->cl_nsubs + m->cm_pub - 1];
	uint64_t *seen = &c->cc_seen[m->cm_pub - 1], n;

	if (m->cm_num <= *seen) {
		cl->cl_dups++;
		return;
	}
	cl->cl_lost += m->cm_num - *seen - 1;
	if (cl->cl_rate == 0) {
		/* Those in flight, done < n <= sent <= done + window. */
		for (n = *seen > pub->cc_done ? *seen + 1 : pub->cc_done + 1;
		     n <= m->cm_num; n++)
			pub->cc_got[n % cl->cl_window]++;
	}
	*seen = m->cm_num;
	if (cl->cl_phase == CHATLOAD_MEASURE)
		cl->cl_delivered++;
	wsclient_hist_add(
	    &cl->cl_hist, now > m->cm_sent ? now - m->cm_sent : 0);
	if (cl->cl_rate == 0)
		chatload_advance(pub, now);
}

/*
 * Saturation: count as done the messages of publisher c that every open
 * subscriber has, or went past; send more if that opened its window.
 */
static void
chatload_advance(struct chatload_conn *c, uint64_t now)
{
	struct chatload *cl = c->cc_cl;
	uint32_t *got;
	uint64_t done = c->cc_done;

	while (c->cc_done < c->cc_sent) {
		got = &c->cc_got[(c->cc_done + 1) % cl->cl_window];
		if (*got < cl->cl_nsubs_open)
			break;
		*got = 0;
		c->cc_done++;
	}
	if (c->cc_done == done)
		return;
	c->cc_progress = now;
	if (cl->cl_phase == CHATLOAD_MEASURE)
		chatload_fill(c, now);
}

/*
 * A data frame of n bytes at p came to c at now: if c is a subscriber,
 * look for a marker of this run.
 */
static void
chatload_data(
    struct chatload_conn *c, const unsigned char *p, size_t n, uint64_t now)
{
	struct chatload *cl = c->cc_cl;
	struct chatmark m;

	if (c->cc_pub != 0 || !chatmark_find(p, n, &m))
		return;
	if (m.cm_sent < cl->cl_start || m.cm_pub > cl->cl_npubs ||
	    m.cm_num == 0 ||
	    m.cm_num > cl->cl_conns[cl->cl_nsubs + m.cm_pub - 1].cc_sent) {
		cl->cl_stale++;
		return;
	}
	chatload_delivered(c, &m, now);
}

/*
 * Keep n inflated bytes at p of a frame in the run's cl_zout (arg), as
 * many as it holds; note it if more came.
 */
static int
chatload_collect(void *arg, const unsigned char *p, size_t n)
{
	struct chatload *cl = arg;
	size_t room = cl->cl_zout_size - cl->cl_zout_len;

	if (n > room) {
		cl->cl_zout_over = 1;
		n = room;
	}
	memcpy(cl->cl_zout + cl->cl_zout_len, p, n);
	cl->cl_zout_len += n;
	return 0;
}

/*
 * Take the whole data frame f, payload at p, that came to c at now:
 * inflate it if its message is compressed (unless c is a publisher,
 * which ignores what it gets), look for a marker. Return 0, or -1 if the
 * connection is gone.
 */
static int
chatload_message(struct chatload_conn *c, const struct wsclient_frame *f,
    const unsigned char *p, uint64_t now)
{
	struct chatload *cl = c->cc_cl;

	if (f->wf_opcode != WSCLIENT_OP_CONT)
		c->cc_msg_z = f->wf_rsv1;
	if (c->cc_pub == 0 && cl->cl_phase == CHATLOAD_MEASURE) {
		cl->cl_dframes++;
		cl->cl_zframes += (uint64_t)c->cc_msg_z;
	}
	if (!c->cc_msg_z) {
		chatload_data(c, p, (size_t)f->wf_len, now);
		return 0;
	}
	if (c->cc_pub != 0)
		return 0;
	cl->cl_zout_len = 0;
	cl->cl_zout_over = 0;
	if (pmdclient_inflate_data(&c->cc_inf, p, (size_t)f->wf_len, f->wf_fin,
		chatload_collect, cl) == -1 ||
	    (f->wf_fin &&
		pmdclient_inflate_reset(
		    &c->cc_inf, !c->cc_pmd.pp_server_no_context) == -1)) {
		chatload_conn_fail(c, "compressed frame: %s",
		    c->cc_inf.pi_err != NULL ? c->cc_inf.pi_err
					     : "inflateReset failed");
		return -1;
	}
	if (cl->cl_zout_over)
		cl->cl_oversized++;
	chatload_data(c, cl->cl_zout, cl->cl_zout_len, now);
	return 0;
}

/*
 * Take the whole frame f, payload at p, that came to c at now. Return 0,
 * or -1 if the connection is gone.
 */
static int
chatload_frame(struct chatload_conn *c, const struct wsclient_frame *f,
    const unsigned char *p, uint64_t now)
{
	struct chatload *cl = c->cc_cl;
	unsigned code;

	if (c->cc_frames++ == 0)
		cl->cl_nfirst++;
	cl->cl_last_frame = now;
	switch (f->wf_opcode) {
	case WSCLIENT_OP_CONT:
	case WSCLIENT_OP_TEXT:
	case WSCLIENT_OP_BINARY:
		return chatload_message(c, f, p, now);
	case WSCLIENT_OP_PING:
		cl->cl_pings++;
		if (c->cc_state != CHATLOAD_OPEN ||
		    chatload_queue_frame(c, WSCLIENT_OP_PONG, p,
			(size_t)f->wf_len, CHATLOAD_SLACK / 2) == -1)
			return 0;
		return chatload_flush(c);
	case WSCLIENT_OP_PONG:
		cl->cl_pings++;
		return 0;
	case WSCLIENT_OP_CLOSE:
		if (c->cc_state == CHATLOAD_CLOSING) {
			chatload_conn_done(c);
			return -1;
		}
		code = f->wf_len >= 2 ? (unsigned)p[0] << 8 | p[1] : 1005;
		chatload_conn_fail(c, "the server closed (code %u%s%.*s)", code,
		    f->wf_len > 2 ? ": " : "",
		    f->wf_len > 2 ? (int)f->wf_len - 2 : 0,
		    (const char *)p + 2);
		return -1;
	default:
		chatload_conn_fail(c, "unexpected opcode 0x%x", f->wf_opcode);
		return -1;
	}
}

/*
 * Take every whole frame in the buffer of c, received at now, and skip
 * the bytes of any frame too long for the buffer; keep an incomplete
 * frame for the next read. Return -1 if the connection is gone.
 */
static int
chatload_frames(struct chatload_conn *c, uint64_t now)
{
	struct chatload *cl = c->cc_cl;
	struct wsclient_frame f;
	char msg[WSCLIENT_MSG_MAX];
	unsigned char *p = c->cc_rbuf, *end = c->cc_rbuf + c->cc_rlen;
	size_t n;
	int hlen;

	/* Each turn takes a frame or skipped bytes, or ends the loop. */
	while (p < end) {
		if (c->cc_skip > 0) {
			n = (size_t)(end - p);
			if (n > c->cc_skip)
				n = (size_t)c->cc_skip;
			p += n;
			c->cc_skip -= n;
			continue;
		}
		hlen = wsclient_frame_parse(
		    p, (size_t)(end - p), c->cc_z, &f, msg, sizeof(msg));
		if (hlen == -1) {
			chatload_conn_fail(c, "%s", msg);
			return -1;
		}
		if (hlen == 0)
			break;
		if (f.wf_len > cl->cl_rbuf_size - (size_t)hlen) {
			if (c->cc_pub == 0 &&
			    (f.wf_rsv1 ||
				(f.wf_opcode == WSCLIENT_OP_CONT &&
				    c->cc_msg_z))) {
				chatload_conn_fail(c,
				    "a compressed frame of %" PRIu64
				    " bytes, too long to inflate",
				    f.wf_len);
				return -1;
			}
			cl->cl_oversized++;
			c->cc_skip = f.wf_len;
			p += hlen;
			continue;
		}
		if ((uint64_t)(end - p - hlen) < f.wf_len)
			break;
		if (c->cc_pub == 0 && cl->cl_phase == CHATLOAD_MEASURE)
			cl->cl_down_bytes += (uint64_t)hlen + f.wf_len;
		if (chatload_frame(c, &f, p + hlen, now) == -1 ||
		    c->cc_state == CHATLOAD_DONE)
			return -1;
		p += (size_t)hlen + (size_t)f.wf_len;
	}
	c->cc_rlen = (size_t)(end - p);
	if (c->cc_rlen > 0 && p != c->cc_rbuf)
		memmove(c->cc_rbuf, p, c->cc_rlen);
	return 0;
}

/*
 * --deflate: take the server's answer ext (empty if none) on c: fail
 * unless it agrees to permessage-deflate; a publisher makes its deflate
 * stream unless the window agreed is 8 bits, which zlib cannot write (it
 * sends uncompressed then). Return 0, or -1 if c failed.
 */
static int
chatload_deflate_agreed(struct chatload_conn *c, const char *ext)
{
	struct chatload *cl = c->cc_cl;
	char msg[WSCLIENT_MSG_MAX];

	if (ext[0] == '\0') {
		chatload_conn_fail(c,
		    "the server did not agree to permessage-deflate (no "
		    "Sec-WebSocket-Extensions in its 101)");
		return -1;
	}
	if (pmdclient_parse(ext, &c->cc_pmd, msg, sizeof(msg)) == -1) {
		chatload_conn_fail(c, "%s", msg);
		return -1;
	}
	c->cc_z = 1;
	if (cl->cl_ext[0] == '\0' && c->cc_pub == 0)
		snprintf(cl->cl_ext, sizeof(cl->cl_ext), "%s", ext);
	if (c->cc_pub != 0 && c->cc_pmd.pp_client_bits > 8) {
		if (pmdclient_deflate_init(&c->cc_def, &c->cc_pmd) == -1) {
			chatload_conn_fail(c, "deflateInit2 failed");
			return -1;
		}
		c->cc_def_on = 1;
	}
	return 0;
}

/*
 * Read the handshake response of c. Once it is whole and good, take any
 * bytes after it as frames, and start setting up the next connection.
 */
static void
chatload_handshake_read(struct chatload_conn *c)
{
	struct chatload *cl = c->cc_cl;
	const unsigned char *eoh;
	char msg[WSCLIENT_MSG_MAX], ext[WSCLIENT_EXT_MAX] = "";
	size_t hlen;
	ssize_t n;

	n = recv(c->cc_fd, c->cc_rbuf + c->cc_rlen,
	    cl->cl_rbuf_size - c->cc_rlen, 0);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			chatload_conn_fail(
			    c, "handshake: recv: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		chatload_conn_fail(c, "connection closed during the handshake");
		return;
	}
	c->cc_rlen += (size_t)n;
	eoh = memmem(c->cc_rbuf, c->cc_rlen, "\r\n\r\n", 4);
	if (eoh == NULL) {
		if (c->cc_rlen == cl->cl_rbuf_size)
			chatload_conn_fail(c,
			    "handshake: response header longer than %zu bytes",
			    cl->cl_rbuf_size);
		return;
	}
	hlen = (size_t)(eoh - c->cc_rbuf) + 2; /* up to the last CRLF */
	if (wsclient_handshake_check(c->cc_rbuf, hlen,
		cl->cl_deflate ? ext : NULL, sizeof(ext), msg,
		sizeof(msg)) == -1) {
		chatload_conn_fail(c, "%s", msg);
		return;
	}
	if (cl->cl_deflate && chatload_deflate_agreed(c, ext) == -1)
		return;
	hlen += 2;
	c->cc_rlen -= hlen;
	memmove(c->cc_rbuf, c->cc_rbuf + hlen, c->cc_rlen);
	c->cc_state = CHATLOAD_OPEN;
	c->cc_deadline = 0;
	if (c->cc_rlen > 0 && chatload_frames(c, wsclient_now()) == -1)
		return;
	if (++cl->cl_nready == cl->cl_nconns) {
		cl->cl_phase = CHATLOAD_SETTLE;
		cl->cl_phase_end = wsclient_now() +
		    (uint64_t)(cl->cl_settle * (double)WSCLIENT_NSEC);
	} else
		chatload_connect_more(cl);
}

/* c is readable: read and parse, a bounded number of times. */
static void
chatload_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chatload_conn *c = arg;
	struct chatload *cl = c->cc_cl;
	uint64_t now;
	size_t space;
	ssize_t n;
	int i;

	(void)what;
	if (c->cc_state == CHATLOAD_UPGRADING) {
		chatload_handshake_read(c);
		return;
	}
	for (i = 0; i < CHATLOAD_READS && c->cc_state != CHATLOAD_DONE; i++) {
		space = cl->cl_rbuf_size - c->cc_rlen;
		n = recv(fd, c->cc_rbuf + c->cc_rlen, space, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				chatload_conn_fail(
				    c, "recv: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			if (c->cc_state == CHATLOAD_CLOSING)
				chatload_conn_done(c);
			else
				chatload_conn_fail(
				    c, "the server closed the connection");
			return;
		}
		now = wsclient_now();
		c->cc_rlen += (size_t)n;
		if (chatload_frames(c, now) == -1 || (size_t)n < space)
			return;
	}
}

/* c is writable: finish connecting, or send the rest of what is queued. */
static void
chatload_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chatload_conn *c = arg;
	socklen_t len;
	int error = 0;

	(void)what;
	if (c->cc_state != CHATLOAD_CONNECTING) {
		chatload_flush(c);
		return;
	}
	len = sizeof(error);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		error = errno;
	if (error != 0) {
		chatload_conn_fail(c, "connect: %s", strerror(error));
		return;
	}
	c->cc_state = CHATLOAD_UPGRADING;
	event_add(c->cc_rev, NULL);
	chatload_flush(c);
}

/* The measurement is over. */
static void
chatload_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chatload *cl = arg;

	(void)fd;
	(void)what;
	if (cl->cl_phase == CHATLOAD_MEASURE)
		chatload_stop(cl, wsclient_now());
}

/*
 * Fail every connection past its deadline, and every saturated
 * publisher whose own message did not come back in time.
 */
static void
chatload_deadlines(struct chatload *cl, uint64_t now)
{
	struct chatload_conn *c;
	unsigned i;

	for (i = 0; i < cl->cl_nconns; i++) {
		c = &cl->cl_conns[i];
		if (c->cc_state == CHATLOAD_DONE)
			continue;
		if (c->cc_deadline != 0 && now >= c->cc_deadline)
			chatload_conn_fail(c, "%s within %g s",
			    c->cc_state == CHATLOAD_CONNECTING ? "no connection"
				: c->cc_state == CHATLOAD_UPGRADING
				? "no handshake response"
				: "no close frame",
			    cl->cl_timeout);
		else if (c->cc_pub != 0 && cl->cl_rate == 0 &&
		    cl->cl_phase == CHATLOAD_MEASURE &&
		    c->cc_sent > c->cc_done &&
		    now - c->cc_progress >= cl->cl_timeout_ns)
			chatload_conn_fail(c,
			    "message %" PRIu64 " not delivered to every "
			    "subscriber within %g s",
			    c->cc_done + 1, cl->cl_timeout);
	}
}

/*
 * Every CHATLOAD_TICK_US: the deadlines; in saturation, the windows that
 * a subscriber gone opened; the ends of the settle and of the drain.
 */
static void
chatload_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chatload *cl = arg;
	uint64_t now = wsclient_now();
	unsigned i;

	(void)fd;
	(void)what;
	chatload_deadlines(cl, now);
	if (cl->cl_setup_failed)
		return;
	if (cl->cl_phase == CHATLOAD_MEASURE && cl->cl_rate == 0)
		for (i = cl->cl_nsubs; i < cl->cl_nconns; i++)
			chatload_advance(&cl->cl_conns[i], now);
	if (cl->cl_phase == CHATLOAD_SETTLE &&
	    ((cl->cl_nfirst >= cl->cl_nconns &&
		 now - cl->cl_last_frame >= CHATLOAD_QUIET_NS) ||
		now >= cl->cl_phase_end))
		chatload_start(cl, now);
	else if (cl->cl_phase == CHATLOAD_DRAIN &&
	    (chatload_drained(cl) || now >= cl->cl_phase_end))
		chatload_close_all(cl);
}

/*
 * SIGINT or SIGTERM: stop measuring now (a second one stops at once);
 * before the measurement, stop at once.
 */
static void
chatload_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chatload *cl = arg;

	(void)fd;
	(void)what;
	if (cl->cl_interrupted++ > 0 || cl->cl_phase < CHATLOAD_MEASURE) {
		event_base_loopbreak(cl->cl_base);
		return;
	}
	if (cl->cl_phase == CHATLOAD_MEASURE)
		chatload_stop(cl, wsclient_now());
	cl->cl_phase_end = wsclient_now(); /* the drain ends at the tick */
}

/* Start connecting c; its handshake request is queued already. */
static int
chatload_connect(struct chatload_conn *c)
{
	struct chatload *cl = c->cc_cl;
	const struct wsclient_addr *wa = &c->cc_url->cu_server;
	int fd, one = 1;

	fd = socket(wa->wa_addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		fprintf(
		    stderr, "%s: socket: %s\n", CHATLOAD_NAME, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
		fprintf(stderr, "%s: TCP_NODELAY: %s\n", CHATLOAD_NAME,
		    strerror(errno));
		close(fd);
		return -1;
	}
	c->cc_fd = fd;
	c->cc_rev = event_new(
	    cl->cl_base, fd, EV_READ | EV_PERSIST, chatload_read_cb, c);
	c->cc_wev = event_new(cl->cl_base, fd, EV_WRITE, chatload_write_cb, c);
	if (c->cc_rev == NULL || c->cc_wev == NULL) {
		fprintf(stderr, "%s: event_new failed\n", CHATLOAD_NAME);
		return -1;
	}
	cl->cl_nopen++;
	if (c->cc_pub == 0)
		cl->cl_nsubs_open++;
	c->cc_state = CHATLOAD_CONNECTING;
	c->cc_deadline = wsclient_now() + cl->cl_timeout_ns;
	if (connect(fd, (const struct sockaddr *)&wa->wa_addr,
		wa->wa_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			chatload_conn_fail(c, "connect: %s", strerror(errno));
			return -1;
		}
		event_add(c->cc_wev, NULL);
		return 0;
	}
	chatload_write_cb(fd, EV_WRITE, c);
	return c->cc_state == CHATLOAD_DONE ? -1 : 0;
}

/*
 * Start setting up connections until CHATLOAD_AT_ONCE are under way
 * or all are started: subscribers first, then publishers.
 */
static void
chatload_connect_more(struct chatload *cl)
{
	while (cl->cl_nstarted < cl->cl_nconns &&
	    cl->cl_nstarted - cl->cl_nready < CHATLOAD_AT_ONCE) {
		if (chatload_connect(&cl->cl_conns[cl->cl_nstarted++]) == -1) {
			cl->cl_setup_failed = 1;
			event_base_loopbreak(cl->cl_base);
			return;
		}
	}
}

/*
 * Allocate the buffers of connection id and queue its handshake request.
 * Return -1 if out of memory or the request does not fit.
 */
static int
chatload_conn_init(struct chatload *cl, unsigned id)
{
	struct chatload_conn *c = &cl->cl_conns[id];
	char *req;
	size_t len;

	c->cc_cl = cl;
	c->cc_id = id;
	c->cc_fd = -1;
	c->cc_state = CHATLOAD_DONE;
	if (id < cl->cl_nsubs) {
		c->cc_seen = cl->cl_seen + (size_t)id * cl->cl_npubs;
		c->cc_ssize = CHATLOAD_SBUF;
		c->cc_url = &cl->cl_sub_urls[id % cl->cl_nsub_urls];
		req = chatload_url_request(c->cc_url, id + 1,
		    cl->cl_deflate ? PMDCLIENT_OFFER : NULL, &len);
	} else {
		c->cc_pub = id - cl->cl_nsubs + 1;
		c->cc_got =
		    cl->cl_got + (size_t)(c->cc_pub - 1) * cl->cl_window;
		c->cc_ssize =
		    (cl->cl_rate > 0 ? CHATLOAD_QUEUE : cl->cl_window) *
			cl->cl_frame_max +
		    CHATLOAD_SBUF;
		c->cc_url =
		    &cl->cl_pub_urls[(c->cc_pub - 1) % cl->cl_npub_urls];
		req = chatload_url_request(c->cc_url, c->cc_pub,
		    cl->cl_deflate ? PMDCLIENT_OFFER : NULL, &len);
	}
	c->cc_rbuf = malloc(cl->cl_rbuf_size);
	c->cc_sbuf = malloc(c->cc_ssize);
	if (req == NULL || c->cc_rbuf == NULL || c->cc_sbuf == NULL ||
	    chatload_queue(c, req, len, 0) == -1) {
		free(req);
		return -1;
	}
	free(req);
	return 0;
}

/*
 * Allocate everything, and start setting up the first connections; the
 * loop does the rest.
 */
static int
chatload_setup(struct chatload *cl)
{
	struct timeval tick = {0, CHATLOAD_TICK_US};
	unsigned i;

	cl->cl_nconns = cl->cl_nsubs + cl->cl_npubs;
	cl->cl_text_max =
	    cl->cl_size > CHATMARK_LEN_MAX ? cl->cl_size : CHATMARK_LEN_MAX;
	cl->cl_rbuf_size = 2 * cl->cl_text_max + 4096;
	if (cl->cl_rbuf_size < CHATLOAD_RBUF_MIN)
		cl->cl_rbuf_size = CHATLOAD_RBUF_MIN;
	cl->cl_frame_max = WSCLIENT_HDR_MAX +
	    (cl->cl_deflate ? PMDCLIENT_BOUND(cl->cl_text_max)
			    : cl->cl_text_max);
	if (cl->cl_deflate) {
		cl->cl_zout_size = 2 * cl->cl_rbuf_size;
		if ((cl->cl_zbuf = malloc(PMDCLIENT_BOUND(cl->cl_text_max))) ==
			NULL ||
		    (cl->cl_zout = malloc(cl->cl_zout_size)) == NULL)
			return -1;
	}
	if (cl->cl_payload_json) {
		if ((cl->cl_pool = malloc(CHATLOAD_POOL)) == NULL)
			return -1;
		wsclient_json(cl->cl_pool, CHATLOAD_POOL, 1);
	}
	cl->cl_conns = calloc(cl->cl_nconns, sizeof(*cl->cl_conns));
	cl->cl_seen =
	    calloc((size_t)cl->cl_nsubs * cl->cl_npubs, sizeof(*cl->cl_seen));
	cl->cl_got =
	    calloc((size_t)cl->cl_npubs * cl->cl_window, sizeof(*cl->cl_got));
	cl->cl_text = malloc(cl->cl_text_max);
	if (cl->cl_conns == NULL || cl->cl_seen == NULL || cl->cl_got == NULL ||
	    cl->cl_text == NULL)
		return -1;
	for (i = 0; i < cl->cl_nconns; i++)
		if (chatload_conn_init(cl, i) == -1)
			return -1;

	cl->cl_timer = evtimer_new(cl->cl_base, chatload_timer_cb, cl);
	cl->cl_pace = evtimer_new(cl->cl_base, chatload_pace_cb, cl);
	cl->cl_tick =
	    event_new(cl->cl_base, -1, EV_PERSIST, chatload_tick_cb, cl);
	cl->cl_sigint =
	    evsignal_new(cl->cl_base, SIGINT, chatload_signal_cb, cl);
	cl->cl_sigterm =
	    evsignal_new(cl->cl_base, SIGTERM, chatload_signal_cb, cl);
	if (cl->cl_timer == NULL || cl->cl_pace == NULL ||
	    cl->cl_tick == NULL || cl->cl_sigint == NULL ||
	    cl->cl_sigterm == NULL)
		return -1;
	event_add(cl->cl_tick, &tick);
	event_add(cl->cl_sigint, NULL);
	event_add(cl->cl_sigterm, NULL);
	cl->cl_start = wsclient_now();
	chatload_connect_more(cl);
	return 0;
}

/*
 * Print the result as one JSON object: secs measured, rate deliveries a
 * second.
 */
static void
chatload_report_json(struct chatload *cl, double secs, double rate)
{
	const struct wsclient_hist *h = &cl->cl_hist;

	printf("{\"subscribers\":%u,\"publishers\":%u,\"mode\":\"%s\","
	       "\"rate\":%u,\"window\":%u,\"message_size\":%zu,"
	       "\"payload\":\"%s\",\"seconds\":%.3f,\"sent\":%" PRIu64
	       ",\"delivered\":%" PRIu64 ",\"delivered_per_sec\":%.1f",
	    cl->cl_nsubs, cl->cl_npubs, cl->cl_rate ? "rate" : "saturation",
	    cl->cl_rate, cl->cl_rate ? 0 : cl->cl_window, cl->cl_size,
	    cl->cl_payload_json ? "json" : "ascii", secs, cl->cl_sent,
	    cl->cl_delivered, rate);
	if (h->wh_count > 0)
		printf(",\"mean_us\":%.1f,\"p50_us\":%.1f,"
		       "\"p99_us\":%.1f,\"p999_us\":%.1f,"
		       "\"max_us\":%.1f",
		    h->wh_sum / (double)h->wh_count / 1e3,
		    wsclient_hist_percentile(h, 0.50) / 1e3,
		    wsclient_hist_percentile(h, 0.99) / 1e3,
		    wsclient_hist_percentile(h, 0.999) / 1e3,
		    (double)h->wh_max / 1e3);
	else
		printf(",\"mean_us\":null,\"p50_us\":null,"
		       "\"p99_us\":null,\"p999_us\":null,"
		       "\"max_us\":null");
	printf(",\"deflate\":%s,\"extension\":",
	    cl->cl_deflate ? "true" : "false");
	wsclient_print_string(cl->cl_deflate ? cl->cl_ext : NULL);
	printf(",\"data_frames\":%" PRIu64 ",\"compressed_frames\":%" PRIu64
	       ",\"down_bytes_per_delivery\":%.1f"
	       ",\"up_bytes_per_msg\":%.1f",
	    cl->cl_dframes, cl->cl_zframes,
	    (double)cl->cl_down_bytes /
		(double)(cl->cl_delivered ? cl->cl_delivered : 1),
	    (double)cl->cl_up_bytes / (double)(cl->cl_sent ? cl->cl_sent : 1));
	printf(",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64
	       ",\"stale\":%" PRIu64 ",\"unsent\":%" PRIu64
	       ",\"oversized\":%" PRIu64 ",\"pings\":%" PRIu64
	       ",\"errors\":%" PRIu64 "}\n",
	    cl->cl_lost, cl->cl_dups, cl->cl_stale, cl->cl_unsent,
	    cl->cl_oversized, cl->cl_pings, cl->cl_errors);
}

/* Print the result, as text or as one JSON object. */
static void
chatload_report(struct chatload *cl)
{
	const struct wsclient_hist *h = &cl->cl_hist;
	double secs = 0, rate = 0;

	if (cl->cl_t1 > cl->cl_t0 && cl->cl_t0 != 0)
		secs = (double)(cl->cl_t1 - cl->cl_t0) / 1e9;
	if (secs > 0)
		rate = (double)cl->cl_delivered / secs;
	if (cl->cl_json) {
		chatload_report_json(cl, secs, rate);
		return;
	}
	printf("%s: %u subscriber%s, %u publisher%s, %s, %zu-byte %stexts, "
	       "%.3f s measured\n",
	    cl->cl_sub_arg, cl->cl_nsubs, cl->cl_nsubs == 1 ? "" : "s",
	    cl->cl_npubs, cl->cl_npubs == 1 ? "" : "s",
	    cl->cl_rate ? "fixed rate" : "saturation", cl->cl_size,
	    cl->cl_payload_json ? "JSON-like " : "", secs);
	if (cl->cl_rate)
		printf("  sent       %" PRIu64 " at %u/s (%" PRIu64
		       " left out: buffer full)\n",
		    cl->cl_sent, cl->cl_rate, cl->cl_unsent);
	else
		printf("  sent       %" PRIu64 ", at most %u in flight per "
		       "publisher\n",
		    cl->cl_sent, cl->cl_window);
	printf("  delivered  %" PRIu64 ", %.1f/s\n", cl->cl_delivered, rate);
	if (h->wh_count > 0)
		printf("  latency    mean %.1f us, p50 %.1f us, p99 %.1f us, "
		       "p99.9 %.1f us, max %.1f us\n",
		    h->wh_sum / (double)h->wh_count / 1e3,
		    wsclient_hist_percentile(h, 0.50) / 1e3,
		    wsclient_hist_percentile(h, 0.99) / 1e3,
		    wsclient_hist_percentile(h, 0.999) / 1e3,
		    (double)h->wh_max / 1e3);
	else
		printf("  latency    nothing delivered\n");
	printf("  wire       %.1f bytes per delivery (frames to subscribers), "
	       "%.1f per message sent\n",
	    (double)cl->cl_down_bytes /
		(double)(cl->cl_delivered ? cl->cl_delivered : 1),
	    (double)cl->cl_up_bytes / (double)(cl->cl_sent ? cl->cl_sent : 1));
	if (cl->cl_deflate)
		printf("  deflate    %s; %" PRIu64 " of %" PRIu64
		       " data frames to subscribers compressed\n",
		    cl->cl_ext, cl->cl_zframes, cl->cl_dframes);
	printf("  lost %" PRIu64 ", duplicates %" PRIu64 ", stale %" PRIu64
	       ", oversized %" PRIu64 ", pings %" PRIu64 "\n",
	    cl->cl_lost, cl->cl_dups, cl->cl_stale, cl->cl_oversized,
	    cl->cl_pings);
	printf("  errors     %" PRIu64 "\n", cl->cl_errors);
}

/* Close what is open and free everything. */
static void
chatload_free(struct chatload *cl)
{
	struct chatload_conn *c;
	unsigned n;

	for (n = 0; cl->cl_conns != NULL && n < cl->cl_nconns; n++) {
		c = &cl->cl_conns[n];
		if (c->cc_fd != -1)
			close(c->cc_fd);
		if (c->cc_rev != NULL)
			event_free(c->cc_rev);
		if (c->cc_wev != NULL)
			event_free(c->cc_wev);
		free(c->cc_rbuf);
		free(c->cc_sbuf);
		pmdclient_deflate_end(&c->cc_def);
		pmdclient_inflate_end(&c->cc_inf);
	}
	free(cl->cl_conns);
	free(cl->cl_pool);
	free(cl->cl_zbuf);
	free(cl->cl_zout);
	free(cl->cl_seen);
	free(cl->cl_got);
	free(cl->cl_text);
	if (cl->cl_timer != NULL)
		event_free(cl->cl_timer);
	if (cl->cl_pace != NULL)
		event_free(cl->cl_pace);
	if (cl->cl_tick != NULL)
		event_free(cl->cl_tick);
	if (cl->cl_sigint != NULL)
		event_free(cl->cl_sigint);
	if (cl->cl_sigterm != NULL)
		event_free(cl->cl_sigterm);
	if (cl->cl_base != NULL)
		event_base_free(cl->cl_base);
}

/* Parse the count optarg of option ch, min to max, into v; say why not. */
static int
chatload_opt_count(int ch, unsigned min, unsigned max, unsigned *v)
{
	long long n;

	if (wsclient_count(optarg, min, max, &n) == -1) {
		fprintf(stderr, "%s: -%c %s: expected %u to %u\n",
		    CHATLOAD_NAME, ch, optarg, min, max);
		return -1;
	}
	*v = (unsigned)n;
	return 0;
}

/* Parse the seconds optarg of option ch, from min, into v; say why not. */
static int
chatload_opt_seconds(int ch, double min, double *v)
{
	if (wsclient_seconds(optarg, min, v) == -1) {
		fprintf(stderr, "%s: -%c %s: expected %g to %.0f seconds\n",
		    CHATLOAD_NAME, ch, optarg, min, WSCLIENT_MAX_SECS);
		return -1;
	}
	return 0;
}

/*
 * Parse the command line into cl; return the index of the first URL, -1
 * on an error (said), or 0 after --help.
 */
static int
chatload_options(struct chatload *cl, int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"deflate", no_argument, NULL, CHATLOAD_OPT_DEFLATE},
	    {"json", no_argument, NULL, CHATLOAD_OPT_JSON},
	    {"payload", required_argument, NULL, CHATLOAD_OPT_PAYLOAD},
	    {"phases", no_argument, NULL, CHATLOAD_OPT_PHASES},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned size;
	int ch, r = 0;

	while (r == 0 &&
	    (ch = getopt_long(
		 argc, argv, "P:S:W:d:hr:s:t:w:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'P':
			r = chatload_opt_count(
			    ch, 1, CHATMARK_PUB_MAX, &cl->cl_npubs);
			break;
		case 'S':
			r = chatload_opt_count(
			    ch, 1, CHATLOAD_MAX_CONNS / 2, &cl->cl_nsubs);
			break;
		case 'W':
			r = chatload_opt_count(
			    ch, 1, CHATLOAD_MAX_WINDOW, &cl->cl_window);
			break;
		case 'r':
			r = chatload_opt_count(
			    ch, 0, CHATLOAD_MAX_RATE, &cl->cl_rate);
			break;
		case 's':
			r = chatload_opt_count(ch, 1, CHATLOAD_MAX_SIZE, &size);
			if (r == 0)
				cl->cl_size = size;
			break;
		case 'd':
			r = chatload_opt_seconds(ch, 0.1, &cl->cl_duration);
			break;
		case 't':
			r = chatload_opt_seconds(ch, 0.1, &cl->cl_timeout);
			break;
		case 'w':
			r = chatload_opt_seconds(ch, 0, &cl->cl_settle);
			break;
		case CHATLOAD_OPT_DEFLATE:
			cl->cl_deflate = 1;
			break;
		case CHATLOAD_OPT_JSON:
			cl->cl_json = 1;
			break;
		case CHATLOAD_OPT_PAYLOAD:
			if (strcmp(optarg, "ascii") != 0 &&
			    strcmp(optarg, "json") != 0) {
				fprintf(stderr,
				    "%s: --payload %s: expected ascii or "
				    "json\n",
				    CHATLOAD_NAME, optarg);
				r = -1;
			}
			cl->cl_payload_json = optarg[0] == 'j';
			break;
		case CHATLOAD_OPT_PHASES:
			cl->cl_phases = 1;
			break;
		case 'h':
			chatload_usage(stdout);
			return 0;
		default:
			chatload_usage(stderr);
			return -1;
		}
	}
	if (r == -1)
		return -1;
	if (argc - optind < 1 || argc - optind > 2) {
		if (argc - optind > 2)
			fprintf(stderr, "%s: unexpected argument: %s\n",
			    CHATLOAD_NAME, argv[optind + 2]);
		chatload_usage(stderr);
		return -1;
	}
	return optind;
}

/* Run chatload. */
int
main(int argc, char *argv[])
{
	static struct chatload cl; /* the histogram is large: not on stack */
	int first, nsub, npub, status = 0;

	cl.cl_nsubs = 100;
	cl.cl_npubs = 1;
	cl.cl_window = 8;
	cl.cl_size = 64;
	cl.cl_duration = 5;
	cl.cl_settle = 1;
	cl.cl_timeout = 10;
	if ((first = chatload_options(&cl, argc, argv)) <= 0)
		return first == 0 ? 0 : 1;
	cl.cl_timeout_ns = (uint64_t)(cl.cl_timeout * 1e9);
	cl.cl_rng = wsclient_seed();
	signal(SIGPIPE, SIG_IGN);

	cl.cl_sub_arg = argv[first];
	if (wsclient_files(CHATLOAD_NAME, cl.cl_nsubs + cl.cl_npubs) == -1 ||
	    (nsub = chatload_urls(
		 argv[first], cl.cl_timeout, cl.cl_sub_urls)) == -1 ||
	    (npub = chatload_urls(argv[first + (argc - first > 1)],
		 cl.cl_timeout, cl.cl_pub_urls)) == -1)
		return 1;
	cl.cl_nsub_urls = (unsigned)nsub;
	cl.cl_npub_urls = (unsigned)npub;
	if ((cl.cl_base = event_base_new()) == NULL) {
		fprintf(stderr, "%s: event_base_new failed\n", CHATLOAD_NAME);
		return 1;
	}
	if (chatload_setup(&cl) == -1) {
		fprintf(stderr, "%s: out of memory, or a URL too long\n",
		    CHATLOAD_NAME);
		chatload_free(&cl);
		return 1;
	}
	if (!cl.cl_setup_failed)
		event_base_dispatch(cl.cl_base);
	if (cl.cl_setup_failed || cl.cl_phase < CHATLOAD_MEASURE) {
		if (!cl.cl_setup_failed)
			fprintf(stderr, "%s: interrupted before the start\n",
			    CHATLOAD_NAME);
		chatload_free(&cl);
		return 1;
	}
	if (cl.cl_phase == CHATLOAD_MEASURE) {
		/* Every connection failed, or a second signal came. */
		cl.cl_t1 = wsclient_now();
		chatload_phase_line(&cl, "measured");
	}
	chatload_report(&cl);
	if (cl.cl_delivered == 0 && cl.cl_errors == 0)
		fprintf(stderr, "%s: nothing delivered while measuring\n",
		    CHATLOAD_NAME);
	if (cl.cl_errors > 0 || cl.cl_delivered == 0)
		status = 1;
	chatload_free(&cl);
	return status;
}
