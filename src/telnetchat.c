/*
 * Chat over a plain line protocol, on the [chat] listen addresses: what
 * `telnet host port` or `nc host port` speaks. A client joins
 * default_room as a guest when it connects; each line it sends is a
 * message or a command (chatcmd.c), and it is sent the room's events as
 * lines (chatfmt.c). Lines end in LF or CRLF; telnet negotiation is
 * skipped (telnet.c). A line longer than max_message_size or not valid
 * UTF-8 is refused with an error line and never sent on.
 *
 * The timer is the idle timer: a client that sends nothing for
 * idle_timeout is told so and closed (there is no ping in the protocol).
 * A session is one access-log record, written when it ends: "TELNET" and
 * the room as the request, 200, the bytes sent, and its duration.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pfhttpd.h"
#include "shm.h"

#define TELNETCHAT_READ_MAX (64 * 1024) /* input buffered at once */

/* A telnet chat connection's state. */
struct telnetchat {
	struct chat_client tc_cc; /* the chat's side */
	struct telnet tc_tn;	  /* the line reader */
	struct timespec tc_start; /* when it connected */
	struct timespec tc_input; /* when input last came */
	int tc_closing;		  /* the last line is queued */
	int tc_status;		  /* of the session, for the log: 200, or
				     400 for a client that did not speak
				     TLS on a TLS port */
};

/* Return the real time now, unix microseconds. */
static uint64_t
telnetchat_usec(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000 + (uint64_t)ts->tv_nsec / 1000;
}

/*
 * Close the connection the protocol's way: a last line saying why (an
 * error line, but for a /quit), sent before the end.
 */
static void
telnetchat_close(struct conn *c, int code, const char *reason)
{
	struct telnetchat *tc = c->c_telnet;

	if (tc->tc_closing)
		return;
	if (code != WS_CLOSE_NORMAL)
		chat_client_error(&tc->tc_cc, "closed", reason);
	tc->tc_closing = 1;
	tc->tc_cc.cc_closing = 1;
	c->c_paused = 1;
	conn_read_update(c);
}

/*
 * Send what is queued; once a closing connection's last line is out, end.
 * A client refused for speaking in the clear has sent what was never
 * read: the end lingers, so that no reset destroys the line it is sent.
 */
static int
telnetchat_writable(struct conn *c)
{
	if (conn_flush(c) == CONN_GONE)
		return CONN_GONE;
	if (c->c_telnet->tc_closing && conn_out_pending(c) == 0)
		return conn_linger(c, c->c_cleartext);
	return CONN_OK;
}

/* Handle one line the reader completed. */
static void
telnetchat_line(struct conn *c, const struct telnet_line *tl)
{
	struct telnetchat *tc = c->c_telnet;
	char why[96];

	if (tl->tl_too_long) {
		shm_count(&c->c_worker->w_slot->ss_c.sc_chat_oversize, 1);
		snprintf(why, sizeof(why),
		    "a line may have %lld bytes at most; it was not sent",
		    c->c_worker->w_cf->cf_chat_max_message);
		chat_client_error(&tc->tc_cc, "too_long", why);
	} else if (tl->tl_bad_utf8) {
		shm_count(&c->c_worker->w_slot->ss_c.sc_chat_refused, 1);
		chat_client_error(&tc->tc_cc, "bad_utf8",
		    "the line was not valid UTF-8; it was not sent");
	} else {
		chat_client_input(&tc->tc_cc, tl->tl_text, tl->tl_len);
	}
}

/* Input arrived: read every whole line in it. */
static int
telnetchat_readable(struct conn *c)
{
	struct telnetchat *tc = c->c_telnet;
	struct telnet_line tl;
	size_t used;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &tc->tc_input);
	/* Its lines wait in c_in until it has joined a room. */
	while (buf_len(&c->c_in) > 0 && !tc->tc_closing &&
	    chat_client_ready(&tc->tc_cc)) {
		used = telnet_scan(
		    &tc->tc_tn, buf_data(&c->c_in), buf_len(&c->c_in), &tl);
		buf_drain(&c->c_in, used);
		if (!tl.tl_complete)
			break;
		telnetchat_line(c, &tl);
	}
	if (tc->tc_closing)
		buf_drain(&c->c_in, buf_len(&c->c_in));
	else if (c->c_eof && buf_len(&c->c_in) == 0) {
		/* The lines sent before the end are taken: now it ends. */
		tc->tc_closing = 1;
		tc->tc_cc.cc_closing = 1;
	}
	return telnetchat_writable(c);
}

/* Arm the idle timer, if idle_timeout is set. */
static void
telnetchat_idle_arm(struct conn *c, long long ms)
{
	if (c->c_worker->w_cf->cf_chat_idle_timeout > 0)
		conn_timer_set(c, ms);
}

/* The idle timer: close a client silent for idle_timeout. */
static int
telnetchat_timer(struct conn *c)
{
	struct telnetchat *tc = c->c_telnet;
	long long idle = c->c_worker->w_cf->cf_chat_idle_timeout, quiet;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	quiet = (now.tv_sec - tc->tc_input.tv_sec) * 1000LL +
	    (now.tv_nsec - tc->tc_input.tv_nsec) / 1000000;
	if (quiet < idle) {
		telnetchat_idle_arm(c, idle - quiet);
		return CONN_OK;
	}
	telnetchat_close(c, WS_CLOSE_GOING_AWAY, "idle for too long");
	return telnetchat_writable(c);
}

/* The worker stops: say so, then close. */
static int
telnetchat_drain(struct conn *c)
{
	telnetchat_close(c, WS_CLOSE_GOING_AWAY, "the server is restarting");
	return telnetchat_writable(c);
}

/* The client shut its side: send what is queued, then close. */
static int
telnetchat_eof(struct conn *c)
{
	struct telnetchat *tc = c->c_telnet;

	/* Lines sent before the join are taken once it is done (echo hi |
	 * nc host port): telnetchat_readable() ends the session then. */
	if (!chat_client_ready(&tc->tc_cc) && buf_len(&c->c_in) > 0 &&
	    !tc->tc_closing)
		return CONN_OK;
	if (conn_out_pending(c) == 0) {
		conn_close(c, "client closed");
		return CONN_GONE;
	}
	c->c_telnet->tc_closing = 1;
	c->c_telnet->tc_cc.cc_closing = 1;
	return CONN_OK;
}

/* Send a last line, then close: the session never joins the chat. */
static int
telnetchat_refuse(struct conn *c, const char *line, int status)
{
	buf_add(&c->c_out, line, strlen(line));
	c->c_telnet->tc_closing = 1;
	c->c_telnet->tc_status = status;
	return telnetchat_writable(c);
}

/* A new connection: join default_room as a guest. */
static int
telnetchat_start(struct conn *c)
{
	const struct config *cf = c->c_worker->w_cf;
	struct telnetchat *tc;
	char nick[CHAT_NAME_MAX + 1];
	const char *want;
	int reserved;
	static const char busy[] = "! unavailable: the chat is overloaded; "
				   "try again later\r\n";
	static const char protected[] =
	    "! forbidden: this chat's room needs a password, which telnet "
	    "cannot send\r\n";
	static const char cleartext[] =
	    "! this port speaks TLS: connect with a TLS client (openssl "
	    "s_client, socat OPENSSL:...)\r\n";

	if ((tc = calloc(1, sizeof(*tc))) == NULL ||
	    telnet_init(&tc->tc_tn, (size_t)cf->cf_chat_max_message) == -1) {
		free(tc);
		conn_close(c, "out of memory");
		return CONN_GONE;
	}
	c->c_telnet = tc;
	c->c_in_max = TELNETCHAT_READ_MAX;
	tc->tc_status = 200;
	clock_gettime(CLOCK_REALTIME, &tc->tc_start);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &tc->tc_input);
	if (c->c_cleartext)
		return telnetchat_refuse(c, cleartext, 400);
	if (!chatauth_may_join(cf, -1, cf->cf_chat_default_room))
		return telnetchat_refuse(c, protected, 403);
	want = chat_tls_nick(c, nick, sizeof(nick));
	reserved = want != NULL && chatauth_reserved(cf, want);
	if (c->c_worker->w_draining ||
	    chat_client_start(&tc->tc_cc, c, 1, cf->cf_chat_default_room,
		reserved ? NULL : want, NULL, telnetchat_close) == -1)
		return telnetchat_refuse(c, busy, 200);
	tc->tc_cc.cc_auth_rule = -1;
	tc->tc_cc.cc_nick_reserved = reserved;
	conn_read_update(c);
	telnetchat_idle_arm(c, cf->cf_chat_idle_timeout);
	return telnetchat_readable(c);
}

/* The session ends: the client leaves, and the session is logged. */
static void
telnetchat_free(struct conn *c)
{
	struct telnetchat *tc = c->c_telnet;
	struct logrec_access ac;
	struct timespec now;
	char room[CHAT_NAME_MAX + 1];

	if (tc == NULL)
		return;
	/* Copied: the record is written once the state is freed. */
	memcpy(room, tc->tc_cc.cc_want, sizeof(room));
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&ac, 0, sizeof(ac));
	ac.ac_status = tc->tc_status;
	ac.ac_duration_usec =
	    telnetchat_usec(&now) - telnetchat_usec(&tc->tc_start);
	ac.ac_bytes = tc->tc_cc.cc_bytes_out;
	ac.ac_addr = (struct logrec_str){c->c_peer, strlen(c->c_peer)};
	ac.ac_method = (struct logrec_str){"TELNET", 6};
	ac.ac_target = (struct logrec_str){room, strlen(room)};
	ac.ac_protocol = (struct logrec_str){"", 0};
	ac.ac_referer = (struct logrec_str){"", 0};
	ac.ac_agent = (struct logrec_str){"", 0};
	logrec_access_tls(
	    &ac, tls_version(c), tls_cipher(c), tls_client_subject(c));
	logrec_access_site(&ac, NULL, c->c_port, NULL);
	chat_client_end(&tc->tc_cc);
	telnet_free(&tc->tc_tn);
	free(tc);
	c->c_telnet = NULL;
	worker_request_done(c->c_worker, &ac, 0);
}

const struct conn_kind telnetchat_kind = {
    .kd_name = "telnet chat",
    .kd_start = telnetchat_start,
    .kd_readable = telnetchat_readable,
    .kd_writable = telnetchat_writable,
    .kd_timer = telnetchat_timer,
    .kd_drain = telnetchat_drain,
    .kd_eof = telnetchat_eof,
    .kd_free = telnetchat_free,
};
