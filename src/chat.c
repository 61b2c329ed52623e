/*
 * A worker's side of the chat: its chat clients (WebSocket, wschat.c, and
 * telnet, telnetchat.c), what they ask of the hub, and what the hub
 * publishes for them.
 *
 * Requests go into the slot's chat-in ring (chatmsg.c records) and wake
 * the hub if it sleeps. A full ring refuses the request: the client gets
 * `unavailable` (a leave is kept and tried again, so that no member is
 * left behind at the hub).
 *
 * The worker reads the broadcast ring with a cursor of its own, when its
 * eventfd says the hub published (the hub writes it only after the worker
 * said it waits: cs_waiting). Each event is rendered once per form (a
 * WebSocket frame of JSON, a telnet line) into a shared frame queued on
 * every local member of its room; the members are flushed once per batch.
 * A WebSocket client with permessage-deflate gets the event compressed
 * (when it is at least compression_min_size): chat connections always
 * agree on server_no_context_takeover, so the compressed frame is the same
 * bytes for all of them and is made once per event and window size, with
 * the worker's shared compressor (wsdeflate.c).
 * A room's events are delivered in sequence order exactly once: the
 * worker remembers the last sequence number it delivered in each room and
 * skips anything at or below it.
 *
 * A client that joins is shown nothing until the hub has sequenced its
 * join: then it gets its welcome (the room's sequence number before the
 * join), the history (from the room's entries in shared memory, or from
 * since), and, live, its own join and what follows.
 *
 * Lapped: if the hub lapped the worker in the broadcast ring (it was
 * stopped, or starved), the worker catches each of its rooms up from the
 * history (what the room still holds is delivered, the rest is told as a
 * gap), finds the joins it missed in the member table, and goes on from
 * the oldest record the ring holds. No torn record is ever used (bcast.c,
 * and the history's seqlock).
 */

#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pfhttpd.h"
#include "shm.h"

#define CHAT_RETRY_MS	100  /* a refused leave is tried again after */
#define CHAT_BATCH	1024 /* broadcast records read before flushing */
#define CHAT_WS_HDR_MAX 10   /* header of an unmasked server frame */
#define CHAT_FORM_WS	0    /* chat_render forms: WebSocket, plain */
#define CHAT_FORM_LINE	1    /* telnet line */
#define CHAT_FORM_DEFL	2    /* compressed WebSocket, window 9 (to 15) */
#define CHAT_FORMS	9

TAILQ_HEAD(chat_client_list, chat_client);

/* What the worker keeps of a room: its members here, what they got. */
struct chat_room {
	uint32_t cr_epoch; /* the room entry's epoch it is of */
	uint64_t cr_seq;   /* the last event delivered here */
	struct chat_client_list cr_clients; /* members here */
	unsigned cr_nclients;
};

/* A leave the hub's full ring refused, to try again. */
struct chat_leave {
	uint64_t cl_conn;
	uint32_t cl_member;
};

/* The worker's chat state. */
static struct {
	struct worker *cw_w;
	struct shm_header *cw_sh;
	uint32_t cw_slot;
	uint32_t cw_pid;
	struct bcast_ring *cw_bcast;
	uint64_t cw_bcast_size;
	struct bcast_cursor cw_cursor;
	struct shm_ring *cw_ring;
	uint64_t cw_ring_size;
	struct event *cw_wake;	/* the slot's eventfd */
	struct event *cw_retry; /* leaves to try again */
	struct chat_room *cw_rooms;
	uint32_t cw_nrooms;
	struct chat_client **cw_table; /* by id: open addressing */
	size_t cw_cap;		       /* entries, a power of two */
	size_t cw_count;	       /* clients in it */
	uint64_t cw_next_id;
	struct chat_client_list cw_dirty; /* output queued, to flush */
	struct chat_leave *cw_leaves;	  /* refused leaves */
	size_t cw_nleaves, cw_leaves_cap;
	unsigned char cw_rec[CHATMSG_OUT_MAX];	/* a record being read */
	unsigned char cw_hist[CHATMSG_OUT_MAX]; /* a history entry read */
	unsigned char cw_req[CHATMSG_REQ_MAX];	/* a request being made */
	char cw_text[CHATFMT_JSON_WHO_MAX(CHATMSG_WHO_MAX) + CHATFMT_JSON_MAX];
} chat;

/* Return the worker counters. */
static struct shm_counters *
chat_counters(void)
{
	return &chat.cw_w->w_slot->ss_c;
}

/* ------------------------------------------------------------------ */
/* Clients by id */

/* Return the table entry where id is, or the free one it would go in. */
static struct chat_client **
chat_table_slot(uint64_t id)
{
	size_t i = (size_t)(id * 0x9e3779b97f4a7c15ULL) & (chat.cw_cap - 1);

	while (chat.cw_table[i] != NULL && chat.cw_table[i]->cc_id != id)
		i = (i + 1) & (chat.cw_cap - 1);
	return &chat.cw_table[i];
}

/* Return the client of id, or NULL. */
static struct chat_client *
chat_find(uint64_t id)
{
	return *chat_table_slot(id);
}

/* Double the table. 0, or -1 if out of memory. */
static int
chat_table_grow(void)
{
	struct chat_client **old = chat.cw_table;
	size_t i, cap = chat.cw_cap;

	chat.cw_cap = cap == 0 ? 64 : 2 * cap;
	if ((chat.cw_table = calloc(
		 chat.cw_cap, sizeof(struct chat_client *))) == NULL) {
		chat.cw_table = old;
		chat.cw_cap = cap;
		return -1;
	}
	for (i = 0; i < cap; i++)
		if (old[i] != NULL)
			*chat_table_slot(old[i]->cc_id) = old[i];
	free(old);
	return 0;
}

/* Put cc in the table. 0, or -1 if out of memory. */
static int
chat_table_add(struct chat_client *cc)
{
	if (2 * (chat.cw_count + 1) > chat.cw_cap && chat_table_grow() == -1)
		return -1;
	*chat_table_slot(cc->cc_id) = cc;
	chat.cw_count++;
	return 0;
}

/* Take cc out of the table, moving back the entries probed past it. */
static void
chat_table_del(struct chat_client *cc)
{
	struct chat_client **hole = chat_table_slot(cc->cc_id), *e;
	size_t i = (size_t)(hole - chat.cw_table), j = i, home;

	if (*hole == NULL)
		return;
	chat.cw_table[i] = NULL;
	chat.cw_count--;
	for (;;) {
		j = (j + 1) & (chat.cw_cap - 1);
		if ((e = chat.cw_table[j]) == NULL)
			return;
		home = (size_t)(e->cc_id * 0x9e3779b97f4a7c15ULL) &
		    (chat.cw_cap - 1);
		/* e may move to the hole if its home is not in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			chat.cw_table[i] = e;
			chat.cw_table[j] = NULL;
			i = j;
		}
	}
}

static void chat_unlink(struct chat_client *cc);
static void chat_leave(uint64_t conn, uint32_t member);

/* ------------------------------------------------------------------ */
/* Output */

/* Mark cc to be flushed at the end of the batch. */
static void
chat_dirty(struct chat_client *cc)
{
	if (cc->cc_dirty)
		return;
	cc->cc_dirty = 1;
	TAILQ_INSERT_TAIL(&chat.cw_dirty, cc, cc_dirty_entry);
}

/* Send what every marked client has queued. */
static void
chat_flush(void)
{
	struct chat_client *cc;
	struct conn *c;

	while ((cc = TAILQ_FIRST(&chat.cw_dirty)) != NULL) {
		TAILQ_REMOVE(&chat.cw_dirty, cc, cc_dirty_entry);
		cc->cc_dirty = 0;
		c = cc->cc_conn;
		/* Either may close it. A client that just joined takes the
		 * input it sent meanwhile. */
		if (cc->cc_resume) {
			cc->cc_resume = 0;
			(void)c->c_kind->kd_readable(c);
		} else
			(void)c->c_kind->kd_writable(c);
	}
}

/*
 * The client stopped reading: its output reached max_queue. What waits is
 * dropped; it is told why and closed (1008, or a last line).
 */
static void
chat_slow(struct chat_client *cc)
{
	shm_count(&chat_counters()->sc_chat_slow_closed, 1);
	log_info("%s: chat client too slow: over %lld bytes queued; closed",
	    cc->cc_conn->c_peer, chat.cw_w->w_cf->cf_chat_max_queue);
	conn_queue_clear(cc->cc_conn);
	cc->cc_closing = 1;
	cc->cc_close(cc->cc_conn, WS_CLOSE_POLICY, "too slow");
	chat_dirty(cc);
	/* It leaves now, not once its socket drains or send_timeout ends
	 * the connection: the room must not wait on it. */
	chat_unlink(cc);
	if (cc->cc_member != SHM_CHAT_NONE)
		chat_leave(cc->cc_id, cc->cc_member);
	cc->cc_member = SHM_CHAT_NONE;
}

/*
 * Tell whether n more bytes would take cc over its bound (it is closed).
 * The bound is max_queue, plus the history a newcomer was shown, until
 * what waits is back under max_queue: a history (history entries of
 * max_message_size at most) may well be larger, and a client reading it
 * is no slow client.
 */
static int
chat_over(struct chat_client *cc, size_t n)
{
	size_t max = (size_t)chat.cw_w->w_cf->cf_chat_max_queue;

	if (cc->cc_closing)
		return 1;
	if (cc->cc_in_history)
		return 0;
	if (conn_out_pending(cc->cc_conn) <= max)
		cc->cc_history_bytes = 0;
	max += cc->cc_history_bytes;
	if (conn_out_pending(cc->cc_conn) + n <= max)
		return 0;
	/* A burst: what the socket takes now is not this client's fault. */
	conn_send_some(cc->cc_conn);
	if (conn_out_pending(cc->cc_conn) + n <= max)
		return 0;
	chat_slow(cc);
	return 1;
}

/*
 * Return the window cc's WebSocket messages of n bytes are compressed
 * with, or 0 if they go as they are (telnet, no permessage-deflate, a
 * window of 8, or shorter than compression_min_size).
 */
static int
chat_deflate_bits(const struct chat_client *cc, size_t n)
{
	const struct conn *c = cc->cc_conn;

	if (cc->cc_telnet ||
	    n < (size_t)c->c_worker->w_cf->cf_ws_compression_min_size)
		return 0;
	return c->c_deflate.dp_server_bits;
}

/* Return the bytes chat_frame() may write for text of n bytes. */
static size_t
chat_frame_max(size_t n)
{
	return CHAT_WS_HDR_MAX + wsdeflate_bound(n);
}

/* Write a plain WebSocket text frame of text[0..n) at p; its length. */
static size_t
chat_frame_plain(char *p, const char *text, size_t n)
{
	size_t hlen = wsproto_build_header(p, 1, WS_OP_TEXT, n);

	memcpy(p + hlen, text, n);
	return hlen + n;
}

/*
 * Write the output of text[0..n) at p (chat_frame_max(n) bytes): a telnet
 * line as it is, or a WebSocket text frame, compressed for a window of
 * bits if that is set and it shrinks (if compression fails, plain: no
 * context is kept, so the client takes either). Return its length.
 */
static size_t
chat_frame(char *p, const char *text, size_t n, int telnet, int bits)
{
	const struct config *cf = chat.cw_w->w_cf;
	struct wsdeflate *wd;
	struct iovec iov = {(void *)(uintptr_t)text, n};
	size_t hlen;
	ssize_t z;

	if (telnet) {
		memcpy(p, text, n);
		return n;
	}
	if (bits == 0)
		return chat_frame_plain(p, text, n);
	wd = wsdeflate_shared(bits, (int)cf->cf_ws_compression_level);
	z = wd == NULL ? -1
		       : wsdeflate_message(wd, &iov, 1, p + CHAT_WS_HDR_MAX,
			     wsdeflate_bound(n));
	if (z == -1 || (size_t)z >= n) /* failed, or no gain */
		return chat_frame_plain(p, text, n);
	hlen = wsproto_build_header(p, 1, WS_OP_TEXT, (uint64_t)z);
	p[0] |= WS_HDR_RSV1;
	memmove(p + hlen, p + CHAT_WS_HDR_MAX, (size_t)z);
	return hlen + (size_t)z;
}

/* Queue text[0..n) for cc alone: a frame of its own, or a line. */
static void
chat_send(struct chat_client *cc, const char *text, size_t n)
{
	size_t len;
	char *p;

	if (n == 0 || chat_over(cc, n + CHAT_WS_HDR_MAX))
		return;
	if ((p = conn_out_reserve(cc->cc_conn, chat_frame_max(n))) == NULL) {
		log_warnx(
		    "%s: out of memory for chat output", cc->cc_conn->c_peer);
		return;
	}
	len = chat_frame(p, text, n, cc->cc_telnet, chat_deflate_bits(cc, n));
	conn_out_commit(cc->cc_conn, len);
	cc->cc_bytes_out += len;
	shm_count(&chat_counters()->sc_bytes_out, len);
	if (!cc->cc_telnet) {
		shm_count(&chat_counters()->sc_ws_messages_out, 1);
		shm_count(&chat_counters()->sc_ws_bytes_out, n);
	}
	chat_dirty(cc);
}

/* Send cc an error reply: code (a contract name) and a sentence. */
void
chat_client_error(struct chat_client *cc, const char *code, const char *text)
{
	size_t n;

	n = cc->cc_telnet
	    ? chatfmt_line_error(code, text, chat.cw_text, sizeof(chat.cw_text))
	    : chatfmt_json_error(
		  code, text, chat.cw_text, sizeof(chat.cw_text));
	chat_send(cc, chat.cw_text, n);
}

/* Send cc a gap reply: missed events of its room are lost to it. */
static void
chat_gap(struct chat_client *cc, const char *room, uint64_t missed)
{
	size_t n;

	n = cc->cc_telnet
	    ? chatfmt_line_gap(missed, chat.cw_text, sizeof(chat.cw_text))
	    : chatfmt_json_gap(
		  room, missed, chat.cw_text, sizeof(chat.cw_text));
	chat_send(cc, chat.cw_text, n);
}

/* Send cc one event of history. */
static void
chat_send_history(struct chat_client *cc, const struct chat_event *ev)
{
	size_t n;

	n = cc->cc_telnet
	    ? chatfmt_line(ev, chat.cw_text, sizeof(chat.cw_text))
	    : chatfmt_json(ev, 1, chat.cw_text, sizeof(chat.cw_text));
	chat_send(cc, chat.cw_text, n);
}

/* An event rendered for the members of its room, each form once. */
struct chat_render {
	const struct chat_event *rd_ev;
	struct outq_frame *rd_frame[CHAT_FORMS]; /* by CHAT_FORM_* */
	int rd_text;	      /* what cw_text holds: -1 nothing of it, 0
			       * its JSON, 1 its telnet line */
	size_t rd_text_len;   /* its length */
	size_t rd_ws_payload; /* the JSON's length, once rendered */
};

/* Render the event's JSON (telnet 0) or line (1) into cw_text; its size. */
static size_t
chat_render_text(struct chat_render *rd, int telnet)
{
	if (rd->rd_text == telnet)
		return rd->rd_text_len;
	rd->rd_text_len = telnet
	    ? chatfmt_line(rd->rd_ev, chat.cw_text, sizeof(chat.cw_text))
	    : chatfmt_json(rd->rd_ev, 0, chat.cw_text, sizeof(chat.cw_text));
	rd->rd_text = telnet;
	if (!telnet)
		rd->rd_ws_payload = rd->rd_text_len;
	return rd->rd_text_len;
}

/* Return the form cc takes of a text of n bytes (CHAT_FORM_*). */
static int
chat_form(const struct chat_client *cc, size_t n)
{
	int bits;

	if (cc->cc_telnet)
		return CHAT_FORM_LINE;
	bits = chat_deflate_bits(cc, n);
	return bits == 0 ? CHAT_FORM_WS
			 : CHAT_FORM_DEFL + bits - WS_DEFLATE_MIN_BITS;
}

/* Return the event's shared frame in cc's form, rendering it if needed. */
static struct outq_frame *
chat_render_for(struct chat_render *rd, const struct chat_client *cc)
{
	struct outq_frame *f;
	size_t n = rd->rd_ws_payload;
	int form = CHAT_FORM_LINE;

	/* Whether a WebSocket client's copy is compressed hangs on the size
	 * of the JSON: render it first. */
	if (!cc->cc_telnet) {
		if (n == 0 && (n = chat_render_text(rd, 0)) == 0)
			return NULL;
		form = chat_form(cc, n);
	}
	if (rd->rd_frame[form] != NULL)
		return rd->rd_frame[form];
	if ((n = chat_render_text(rd, cc->cc_telnet)) == 0 ||
	    (f = outq_frame_new(chat_frame_max(n))) == NULL)
		return NULL;
	f->of_len = chat_frame(f->of_data, chat.cw_text, n, cc->cc_telnet,
	    form >= CHAT_FORM_DEFL ? form - CHAT_FORM_DEFL + WS_DEFLATE_MIN_BITS
				   : 0);
	rd->rd_frame[form] = f;
	return f;
}

/* Queue the rendered event on every member of room r here. */
static void
chat_deliver(struct chat_room *r, const struct chat_event *ev)
{
	struct chat_render rd = {.rd_ev = ev, .rd_text = -1};
	struct chat_client *cc, *next;
	struct outq_frame *f;
	uint64_t n = 0, nws = 0;
	int i;

	for (cc = TAILQ_FIRST(&r->cr_clients); cc != NULL; cc = next) {
		next = TAILQ_NEXT(cc, cc_room_entry);
		if ((f = chat_render_for(&rd, cc)) == NULL)
			continue;
		if (chat_over(cc, f->of_len)) {
			rd.rd_text = -1; /* closing it may have used cw_text */
			continue;
		}
		if (conn_queue_frame(cc->cc_conn, f) == -1)
			continue;
		cc->cc_bytes_out += f->of_len;
		shm_count(&chat_counters()->sc_bytes_out, f->of_len);
		chat_dirty(cc);
		n++;
		nws += !cc->cc_telnet;
	}
	shm_count(&chat_counters()->sc_chat_deliveries, n);
	shm_count(&chat_counters()->sc_ws_messages_out, nws);
	shm_count(&chat_counters()->sc_ws_bytes_out, nws * rd.rd_ws_payload);
	for (i = 0; i < CHAT_FORMS; i++)
		outq_frame_unref(rd.rd_frame[i]);
}

/* ------------------------------------------------------------------ */
/* Requests */

/*
 * Hand a request for cc (op; room, nick, text as the op needs) to the hub.
 * 0, or -1 if its ring is full (counted; the caller answers).
 */
static int
chat_request(uint64_t conn, uint32_t member, int telnet, enum chatreq_op op,
    const char *room, const char *nick, const char *text, size_t len)
{
	struct chat_req req;
	size_t n;

	memset(&req, 0, sizeof(req));
	req.cr_op = op;
	req.cr_flags = telnet ? CHATMSG_TELNET : 0;
	req.cr_pid = chat.cw_pid;
	req.cr_conn = conn;
	req.cr_member = member;
	if (room != NULL)
		snprintf(req.cr_room, sizeof(req.cr_room), "%s", room);
	if (nick != NULL)
		snprintf(req.cr_nick, sizeof(req.cr_nick), "%s", nick);
	req.cr_text = text;
	req.cr_text_len = len;
	if ((n = chatmsg_req_encode(&req, chat.cw_req, sizeof(chat.cw_req))) ==
	    0)
		return -1;
	if (logring_put(chat.cw_ring, chat.cw_ring_size, chat.cw_req, n) ==
	    -1) {
		shm_count(&chat_counters()->sc_chat_unavailable, 1);
		return -1;
	}
	shm_count(&chat_counters()->sc_chat_in, 1);
	shm_chat_wake_hub(chat.cw_sh);
	return 0;
}

/* Hand cc's request to the hub, or tell cc it is unavailable. */
static void
chat_ask(struct chat_client *cc, enum chatreq_op op, const char *room,
    const char *nick, const char *text, size_t len)
{
	if (chat_request(cc->cc_id, cc->cc_member, cc->cc_telnet, op, room,
		nick, text, len) == -1)
		chat_client_error(
		    cc, "unavailable", "the chat is overloaded; try again");
}

/* Ask the hub for a leave; keep it to try again if the ring is full. */
static void
chat_leave(uint64_t conn, uint32_t member)
{
	struct chat_leave *l;
	struct timeval tv = {0, CHAT_RETRY_MS * 1000};

	if (chat_request(conn, member, 0, CHATREQ_LEAVE, NULL, NULL, NULL, 0) ==
	    0)
		return;
	if (chat.cw_nleaves == chat.cw_leaves_cap) {
		l = realloc(
		    chat.cw_leaves, (2 * chat.cw_leaves_cap + 16) * sizeof(*l));
		if (l == NULL) {
			log_warnx("chat: a leave is lost (out of memory)");
			return;
		}
		chat.cw_leaves = l;
		chat.cw_leaves_cap = 2 * chat.cw_leaves_cap + 16;
	}
	chat.cw_leaves[chat.cw_nleaves].cl_conn = conn;
	chat.cw_leaves[chat.cw_nleaves++].cl_member = member;
	evtimer_add(chat.cw_retry, &tv);
}

/* Retry timer: hand the refused leaves over again. */
static void
chat_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chat_leave *old = chat.cw_leaves;
	size_t i, n = chat.cw_nleaves;

	(void)fd;
	(void)what;
	(void)arg;
	chat.cw_leaves = NULL;
	chat.cw_nleaves = chat.cw_leaves_cap = 0;
	for (i = 0; i < n; i++)
		chat_leave(old[i].cl_conn, old[i].cl_member);
	free(old);
}

/* ------------------------------------------------------------------ */
/* Clients */

/*
 * Start chat client cc on connection c: ask the hub to let it join room
 * as nick (NULL: a guest name; bad_nick: the one asked for was not a
 * name). close is how its kind sends a close (a WebSocket close code and
 * reason, or a last line). With since, the history shown is what follows
 * it. 0, or -1 if the hub cannot take it (cc is not started).
 */
int
chat_client_start(struct chat_client *cc, struct conn *c, int telnet,
    const char *room, const char *nick, const struct chat_since *since,
    void (*close)(struct conn *, int, const char *))
{
	memset(cc, 0, sizeof(*cc));
	cc->cc_conn = c;
	cc->cc_telnet = telnet;
	cc->cc_close = close;
	cc->cc_member = SHM_CHAT_NONE;
	cc->cc_room = SHM_CHAT_NONE;
	cc->cc_id =
	    (uint64_t)chat.cw_pid << 32 | (++chat.cw_next_id & 0xffffffff);
	if (since != NULL)
		cc->cc_since = *since;
	snprintf(cc->cc_want, sizeof(cc->cc_want), "%s", room);
	rate_init(&cc->cc_rate, (unsigned)chat.cw_w->w_cf->cf_chat_rate,
	    (unsigned)chat.cw_w->w_cf->cf_chat_burst);
	if (chat_table_add(cc) == -1)
		return -1;
	if (chat_request(cc->cc_id, SHM_CHAT_NONE, telnet, CHATREQ_JOIN, room,
		nick, NULL, 0) == -1) {
		chat_table_del(cc);
		return -1;
	}
	cc->cc_started = 1;
	shm_count(telnet ? &chat_counters()->sc_chat_members_telnet
			 : &chat_counters()->sc_chat_members_ws,
	    1);
	return 0;
}

/*
 * The nick a client with a verified TLS certificate gets when it asks for
 * none: its certificate's common name, if that is a valid nick. buf (len
 * bytes) or NULL.
 */
const char *
chat_tls_nick(const struct conn *c, char *buf, size_t len)
{
	if (tls_client_cn(c, buf, len) == -1 ||
	    !chatev_name_valid(buf, strlen(buf)))
		return NULL;
	return buf;
}

/* Take cc out of its room here. */
static void
chat_unlink(struct chat_client *cc)
{
	struct chat_room *r;

	if (cc->cc_room == SHM_CHAT_NONE)
		return;
	r = &chat.cw_rooms[cc->cc_room];
	TAILQ_REMOVE(&r->cr_clients, cc, cc_room_entry);
	r->cr_nclients--;
	cc->cc_room = SHM_CHAT_NONE;
}

/*
 * The client's connection ends: it leaves its room (or, if the hub has
 * not answered its join yet, it will leave once the join is seen).
 */
void
chat_client_end(struct chat_client *cc)
{
	if (!cc->cc_started)
		return;
	cc->cc_started = 0;
	if (cc->cc_dirty)
		TAILQ_REMOVE(&chat.cw_dirty, cc, cc_dirty_entry);
	cc->cc_dirty = 0;
	chat_unlink(cc);
	chat_table_del(cc);
	if (cc->cc_member != SHM_CHAT_NONE)
		chat_leave(cc->cc_id, cc->cc_member);
	shm_count(cc->cc_telnet ? &chat_counters()->sc_chat_members_telnet
				: &chat_counters()->sc_chat_members_ws,
	    (uint64_t)-1);
}

/* What /help shows a telnet user. */
static const char chat_help[] =
    "* commands: /nick NAME, /join ROOM, /me ACTION, /who, /help, /quit\r\n";

/* Refuse a message: counted, and the client told why. */
static void
chat_refuse(struct chat_client *cc, uint64_t *counter, const char *code,
    const char *text)
{
	shm_count(counter, 1);
	chat_client_error(cc, code, text);
}

/* Carry out a parsed command of a joined client. */
static void
chat_command(struct chat_client *cc, const struct chat_cmd *cmd)
{
	char name[CHAT_NAME_MAX + 1];

	if (cmd->cc_arg != NULL && cmd->cc_arg_len <= CHAT_NAME_MAX) {
		memcpy(name, cmd->cc_arg, cmd->cc_arg_len);
		name[cmd->cc_arg_len] = '\0';
	} else
		name[0] = '\0';
	switch (cmd->cc_kind) {
	case CHATCMD_MESSAGE:
	case CHATCMD_ME:
		chat_ask(cc,
		    cmd->cc_kind == CHATCMD_ME ? CHATREQ_ME : CHATREQ_SAY, NULL,
		    NULL, cmd->cc_arg, cmd->cc_arg_len);
		break;
	case CHATCMD_NICK:
		if (cc->cc_nick_fixed)
			chat_client_error(cc, "bad_command",
			    "your nick is your user name: it cannot change");
		else if (chatauth_reserved(chat.cw_w->w_cf, name))
			chat_client_error(cc, "nick_taken",
			    "that nick is the name of a user of this server");
		else
			chat_ask(cc, CHATREQ_NICK, NULL, name, NULL, 0);
		break;
	case CHATCMD_JOIN:
		if (strcmp(name, cc->cc_want) == 0)
			chat_client_error(
			    cc, "bad_command", "you are in that room already");
		else if (!chatauth_may_join(
			     chat.cw_w->w_cf, cc->cc_auth_rule, name))
			chat_client_error(cc, "forbidden",
			    cc->cc_telnet
				? "that room needs a password, which telnet "
				  "cannot send"
				: "that room needs other credentials: connect "
				  "to its own path with them");
		else
			chat_ask(cc, CHATREQ_JOIN, name, cc->cc_nick, NULL, 0);
		break;
	case CHATCMD_WHO:
		chat_ask(cc, CHATREQ_WHO, NULL, NULL, NULL, 0);
		break;
	case CHATCMD_HELP:
		if (cc->cc_telnet)
			chat_send(cc, chat_help, sizeof(chat_help) - 1);
		else
			chat_client_error(cc, "bad_command",
			    "/help is for telnet; the commands are /nick NAME, "
			    "/me ACTION, /who, /join ROOM and /quit");
		break;
	case CHATCMD_QUIT:
		cc->cc_closing = 1;
		cc->cc_close(cc->cc_conn, WS_CLOSE_NORMAL, "bye");
		break;
	default:
		break;
	}
}

/*
 * A message from the client: text[0..len), whole and valid UTF-8 (the
 * kind checked). A message or a command, checked for size, rate and
 * syntax; what is wrong is answered with an error.
 */
void
chat_client_input(struct chat_client *cc, const char *text, size_t len)
{
	const struct config *cf = chat.cw_w->w_cf;
	struct timespec now;
	struct chat_cmd cmd;
	char why[128];

	if (cc->cc_closing)
		return;
	if (len > (size_t)cf->cf_chat_max_message) {
		snprintf(why, sizeof(why),
		    "a message may have %lld bytes at most; it was not sent",
		    cf->cf_chat_max_message);
		chat_refuse(
		    cc, &chat_counters()->sc_chat_oversize, "too_long", why);
		return;
	}
	switch (chatcmd_parse(text, len, &cmd)) {
	case CHATCMD_NONE:
		return;
	case CHATCMD_BAD:
		chat_refuse(cc, &chat_counters()->sc_chat_refused,
		    "bad_command", cmd.cc_reason);
		return;
	case CHATCMD_BAD_NAME:
		chat_refuse(cc, &chat_counters()->sc_chat_refused,
		    cmd.cc_arg != NULL && text[1] == 'j' ? "bad_command"
							 : "bad_nick",
		    cmd.cc_reason);
		return;
	default:
		break;
	}
	if (cc->cc_room == SHM_CHAT_NONE && cmd.cc_kind != CHATCMD_QUIT &&
	    cmd.cc_kind != CHATCMD_HELP) {
		chat_client_error(
		    cc, "unavailable", "you are not in a room yet; try again");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (!rate_allow(
		&cc->cc_rate, now.tv_sec * 1000LL + now.tv_nsec / 1000000)) {
		snprintf(why, sizeof(why),
		    "at most %lld messages a second (bursts of %lld); "
		    "this one was not sent",
		    cf->cf_chat_rate, cf->cf_chat_burst);
		chat_refuse(cc, &chat_counters()->sc_chat_rate_limited,
		    "rate_limited", why);
		return;
	}
	chat_command(cc, &cmd);
}

/* ------------------------------------------------------------------ */
/* What the hub published */

/* Read the history entry of room r for seq into ev: 0, or -1 if gone. */
static int
chat_history_get(uint32_t r, uint64_t seq, struct chat_out *out)
{
	struct shm_chat_entry *he = shm_chat_entry(chat.cw_sh, r, seq);
	uint64_t lock, len;

	lock = __atomic_load_n(&he->he_lock, __ATOMIC_ACQUIRE);
	len = he->he_len;
	if ((lock & 1) || he->he_seq != seq || len > sizeof(chat.cw_hist) ||
	    len > shm_chat_entry_room())
		return -1;
	memcpy(chat.cw_hist, he + 1, len);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&he->he_lock, __ATOMIC_RELAXED) != lock)
		return -1;
	return chatmsg_out_decode(chat.cw_hist, len, out);
}

/* Return the local state of room r at epoch, reset if the room is new. */
static struct chat_room *
chat_room(uint32_t r, uint32_t epoch)
{
	struct chat_room *room = &chat.cw_rooms[r];

	if (room->cr_epoch != epoch && room->cr_nclients == 0) {
		room->cr_epoch = epoch;
		room->cr_seq = 0;
	}
	return room;
}

/* Show joining client cc its room's history up to seq last. */
static void
chat_history(
    struct chat_client *cc, uint32_t r, const char *room, uint64_t last)
{
	uint64_t hist = shm_chat_geometry()->cg_history, from, oldest, s;
	uint64_t missed = 0;
	struct chat_out out;
	size_t before = conn_out_pending(cc->cc_conn);

	oldest = last >= hist ? last - hist + 1 : 1;
	from = oldest;
	if (cc->cc_since.cs_set) {
		if (cc->cc_since.cs_seq >= last)
			return;
		from = cc->cc_since.cs_seq + 1;
		if (from < oldest) {
			missed = oldest - from;
			from = oldest;
		}
	}
	cc->cc_in_history = 1;
	for (s = from; s <= last && s != 0; s++) { /* s wraps at the top */
		if (chat_history_get(r, s, &out) == -1 ||
		    out.co_kind != CHATOUT_EVENT) {
			missed++; /* overwritten meanwhile: a busy room */
			continue;
		}
		if (missed > 0) {
			chat_gap(cc, room, missed);
			missed = 0;
		}
		chat_send_history(cc, &out.co_ev);
	}
	if (missed > 0)
		chat_gap(cc, room, missed);
	cc->cc_in_history = 0;
	cc->cc_history_bytes = conn_out_pending(cc->cc_conn) > before
	    ? conn_out_pending(cc->cc_conn) - before
	    : 0;
}

/* The hub sequenced cc's join into room r at seq: welcome, history. */
static void
chat_welcome(struct chat_client *cc, const struct chat_out *out)
{
	const struct chat_event *ev = &out->co_ev;
	size_t n;

	chat_unlink(cc); /* a /join: the leave went before */
	cc->cc_member = out->co_member;
	snprintf(cc->cc_nick, sizeof(cc->cc_nick), "%s", ev->ce_nick);
	snprintf(cc->cc_want, sizeof(cc->cc_want), "%s", ev->ce_room);
	n = cc->cc_telnet
	    ? chatfmt_line_welcome(
		  ev->ce_room, ev->ce_nick, chat.cw_text, sizeof(chat.cw_text))
	    : chatfmt_json_welcome(ev->ce_room, ev->ce_nick, ev->ce_seq - 1,
		  chat.cw_text, sizeof(chat.cw_text));
	chat_send(cc, chat.cw_text, n);
	if (out->co_flags & CHATOUT_NICK_TAKEN)
		chat_client_error(cc, "nick_taken",
		    "that nick is taken in this room; you have a guest name");
	else if (cc->cc_bad_nick)
		chat_client_error(cc, "bad_nick",
		    "a nick is 1 to 32 of A-Z a-z 0-9 _ -; you have a guest "
		    "name");
	else if (cc->cc_nick_reserved)
		chat_client_error(cc, "nick_taken",
		    "that nick is the name of a user of this server; you have "
		    "a guest name");
	cc->cc_bad_nick = 0;
	cc->cc_nick_reserved = 0;
	chat_history(cc, out->co_room, ev->ce_room, ev->ce_seq - 1);
	cc->cc_since.cs_set = 0;
	cc->cc_room = out->co_room;
	TAILQ_INSERT_TAIL(
	    &chat.cw_rooms[out->co_room].cr_clients, cc, cc_room_entry);
	chat.cw_rooms[out->co_room].cr_nclients++;
	cc->cc_resume = 1; /* its input waited for this: chat_flush() */
	chat_dirty(cc);
}

/*
 * Tell whether the client's input may be taken: it is in a room (its
 * input waits in the connection until the hub has it join).
 */
int
chat_client_ready(const struct chat_client *cc)
{
	return cc->cc_room != SHM_CHAT_NONE;
}

/* What an event of one of this worker's clients changes for it. */
static void
chat_own_event(const struct chat_out *out)
{
	struct chat_client *cc = chat_find(out->co_conn);

	if (out->co_ev.ce_type == CHAT_JOIN && cc == NULL) {
		/* It closed before the hub had it join: it leaves now. */
		chat_leave(out->co_conn, out->co_member);
		return;
	}
	if (cc == NULL)
		return;
	switch (out->co_ev.ce_type) {
	case CHAT_JOIN:
		if (cc->cc_member != out->co_member ||
		    cc->cc_room != out->co_room)
			chat_welcome(cc, out);
		break;
	case CHAT_NICK:
		snprintf(
		    cc->cc_nick, sizeof(cc->cc_nick), "%s", out->co_ev.ce_nick);
		break;
	default:
		break;
	}
}

/* Handle one sequenced event: deliver it to the room's members here. */
static void
chat_event(const struct chat_out *out)
{
	struct chat_room *room;
	struct chat_client *cc;

	if (out->co_room >= chat.cw_nrooms)
		return;
	room = chat_room(out->co_room, out->co_epoch);
	if (room->cr_epoch != out->co_epoch ||
	    out->co_ev.ce_seq <= room->cr_seq)
		return; /* delivered already (caught up from the history) */
	room->cr_seq = out->co_ev.ce_seq;
	if (out->co_slot == chat.cw_slot && out->co_pid == chat.cw_pid &&
	    out->co_conn != 0)
		chat_own_event(out);
	chat_deliver(room, &out->co_ev);
	/* A member that left (a /join elsewhere) saw its leave go. */
	if (out->co_ev.ce_type == CHAT_LEAVE && out->co_slot == chat.cw_slot &&
	    out->co_pid == chat.cw_pid &&
	    (cc = chat_find(out->co_conn)) != NULL &&
	    cc->cc_room == out->co_room)
		chat_unlink(cc);
}

/*
 * The hub had a client join without an event (its join could not reach
 * Redis): the same welcome as chat_own_event() gives on its join.
 */
static void
chat_welcome_reply(const struct chat_out *out)
{
	struct chat_client *cc = chat_find(out->co_conn);

	if (cc == NULL) {
		/* It closed before the hub had it join: it leaves now. */
		chat_leave(out->co_conn, out->co_member);
		return;
	}
	if (out->co_room >= chat.cw_nrooms)
		return;
	chat_room(out->co_room, out->co_epoch);
	if (cc->cc_member != out->co_member || cc->cc_room != out->co_room)
		chat_welcome(cc, out);
}

/* Handle a reply of the hub to one of this worker's clients. */
static void
chat_reply(const struct chat_out *out)
{
	static const char *names[CHATMSG_WHO_MAX];
	struct chat_client *cc;
	size_t n;

	if (out->co_slot != chat.cw_slot || out->co_pid != chat.cw_pid)
		return;
	if (out->co_kind == CHATOUT_WELCOME) {
		chat_welcome_reply(out);
		return;
	}
	if ((cc = chat_find(out->co_conn)) == NULL)
		return;
	if (out->co_kind == CHATOUT_WHO) {
		n = chatmsg_who_names(out, names);
		n = cc->cc_telnet ? chatfmt_line_who(out->co_ev.ce_room, names,
					n, chat.cw_text, sizeof(chat.cw_text))
				  : chatfmt_json_who(out->co_ev.ce_room, names,
					n, chat.cw_text, sizeof(chat.cw_text));
		chat_send(cc, chat.cw_text, n);
		return;
	}
	switch (out->co_error) {
	case CHATERR_UNAVAILABLE:
		chat_client_error(cc, "unavailable",
		    "the chat cannot reach its store (Redis) now; not sent, "
		    "try again");
		break;
	case CHATERR_NICK_TAKEN:
		chat_client_error(cc, "nick_taken",
		    "another member of the room has that nick");
		break;
	case CHATERR_TOO_MANY_ROOMS:
	case CHATERR_FULL:
		if (out->co_error == CHATERR_FULL)
			chat_client_error(cc, "unavailable",
			    "the chat is full; try again later");
		else
			chat_client_error(cc, "too_many_rooms",
			    "no room can be made now: too many rooms have "
			    "members");
		if (cc->cc_room == SHM_CHAT_NONE) {
			cc->cc_closing = 1;
			cc->cc_close(cc->cc_conn, WS_CLOSE_TRY_AGAIN,
			    out->co_error == CHATERR_FULL ? "the chat is full"
							  : "too many rooms");
		}
		break;
	}
}

/* Handle one record of the broadcast ring (or of a room's history). */
static void
chat_record(const void *rec, size_t len)
{
	struct chat_out out;

	if (chatmsg_out_decode(rec, len, &out) == -1) {
		log_warnx("chat: a malformed broadcast record");
		return;
	}
	if (out.co_kind == CHATOUT_EVENT)
		chat_event(&out);
	else
		chat_reply(&out);
}

/* ------------------------------------------------------------------ */
/* Lapped: catching up from the history */

/* Tell every member of room here that missed events are lost to it. */
static void
chat_room_gap(struct chat_room *room, const char *name, uint64_t missed)
{
	struct chat_client *cc;

	for (cc = TAILQ_FIRST(&room->cr_clients); cc != NULL;
	     cc = TAILQ_NEXT(cc, cc_room_entry))
		chat_gap(cc, name, missed);
	shm_count(&chat_counters()->sc_chat_missed, missed);
}

/* Deliver what room r holds after what was delivered here; gap the rest. */
static void
chat_room_catch_up(uint32_t r)
{
	struct shm_chat_room *rm = shm_chat_room(chat.cw_sh, r);
	struct chat_room *room = &chat.cw_rooms[r];
	uint64_t span = SHM_CHAT_ENTRIES(shm_chat_geometry()->cg_history);
	uint64_t now, s, missed = 0;
	struct chat_out out;
	char name[CHAT_NAME_MAX + 1];

	if (room->cr_nclients == 0 ||
	    __atomic_load_n(&rm->rm_epoch, __ATOMIC_ACQUIRE) != room->cr_epoch)
		return;
	now = __atomic_load_n(&rm->rm_seq, __ATOMIC_ACQUIRE);
	snprintf(name, sizeof(name), "%.*s", CHAT_NAME_MAX, rm->rm_name);
	s = room->cr_seq + 1;
	if (now >= span && s < now - span + 1) {
		missed = now - span + 1 - s; /* not held: a jump (Redis) */
		s = now - span + 1;
	}
	for (; s <= now && s != 0; s++) { /* s wraps at the top */
		if (chat_history_get(r, s, &out) == -1 ||
		    out.co_kind != CHATOUT_EVENT) {
			missed++;
			continue;
		}
		if (missed > 0) {
			chat_room_gap(room, name, missed);
			missed = 0;
		}
		chat_event(&out);
	}
	if (missed > 0)
		chat_room_gap(room, name, missed);
	if (room->cr_seq < now)
		room->cr_seq = now;
}

/*
 * Welcome the clients whose join was lost in the lap: the member table
 * has them; they see the room from its present number.
 */
static void
chat_joins_catch_up(void)
{
	const struct shm_chat_geom *g = shm_chat_geometry();
	struct shm_chat_member *mb;
	struct shm_chat_room *rm;
	struct chat_client *cc;
	struct chat_out out;
	uint32_t m;

	for (m = 0; m < g->cg_max_members && chat.cw_count > 0; m++) {
		mb = shm_chat_member(chat.cw_sh, m);
		if (mb->mb_slot != chat.cw_slot || mb->mb_pid != chat.cw_pid ||
		    mb->mb_room >= chat.cw_nrooms ||
		    (cc = chat_find(__atomic_load_n(
			 &mb->mb_conn, __ATOMIC_ACQUIRE))) == NULL ||
		    cc->cc_room != SHM_CHAT_NONE)
			continue;
		rm = shm_chat_room(chat.cw_sh, mb->mb_room);
		memset(&out, 0, sizeof(out));
		out.co_kind = CHATOUT_EVENT;
		out.co_member = m;
		out.co_room = mb->mb_room;
		out.co_epoch = __atomic_load_n(&rm->rm_epoch, __ATOMIC_ACQUIRE);
		out.co_ev.ce_type = CHAT_JOIN;
		out.co_ev.ce_seq =
		    __atomic_load_n(&rm->rm_seq, __ATOMIC_ACQUIRE) + 1;
		snprintf(out.co_ev.ce_nick, sizeof(out.co_ev.ce_nick), "%.*s",
		    CHAT_NAME_MAX, mb->mb_nick);
		snprintf(out.co_ev.ce_room, sizeof(out.co_ev.ce_room), "%.*s",
		    CHAT_NAME_MAX, rm->rm_name);
		chat_room(out.co_room, out.co_epoch);
		chat_welcome(cc, &out);
	}
}

/* The hub lapped this worker by missed records: catch every room up. */
static void
chat_lapped(uint64_t missed)
{
	uint32_t r;

	log_warnx("chat: lapped in the broadcast ring: %llu record(s) lost; "
		  "catching up from the rooms' history",
	    (unsigned long long)missed);
	shm_count(&chat_counters()->sc_chat_gaps, 1);
	for (r = 0; r < chat.cw_nrooms; r++)
		chat_room_catch_up(r);
	chat_joins_catch_up();
}

/* ------------------------------------------------------------------ */
/* Reading the broadcast ring */

/*
 * Read and handle what the broadcast ring holds (a batch at most), flush
 * the clients, and say the worker waits once it has read all: 1 if more
 * is left for another turn.
 */
static int
chat_poll(void)
{
	uint64_t event, missed;
	ssize_t n;
	int i;

	for (i = 0; i < CHAT_BATCH; i++) {
		missed = 0;
		n = bcast_read(chat.cw_bcast, chat.cw_bcast_size,
		    &chat.cw_cursor, chat.cw_rec, sizeof(chat.cw_rec), &event,
		    &missed);
		if (missed > 0)
			chat_lapped(missed);
		if (n == 0) {
			/* Say so, then look once more (the hub's side is
			 * shm_chat_wake_slot()). */
			__atomic_store_n(
			    &shm_chat_slot(chat.cw_sh, chat.cw_slot)
				 ->cs_waiting,
			    1, __ATOMIC_SEQ_CST);
			if (bcast_lag(chat.cw_bcast, &chat.cw_cursor) == 0)
				break;
			continue;
		}
		if (n > 0)
			chat_record(chat.cw_rec, (size_t)n);
		__atomic_store_n(
		    &chat_counters()->sc_chat_read, event, __ATOMIC_RELAXED);
	}
	chat_flush();
	return i == CHAT_BATCH;
}

/* The eventfd: the hub published. */
static void
chat_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	shm_chat_wake_take(fd);
	if (chat_poll())
		event_active(chat.cw_wake, EV_READ, 0);
}

/*
 * Set up the worker's chat: its rooms, its place in the broadcast ring
 * (the head: what was published before it started is history), and its
 * eventfd's event.
 */
void
chat_init(struct worker *w, uint32_t slot)
{
	const struct shm_chat_geom *g = shm_chat_geometry();
	uint32_t i;

	chat.cw_w = w;
	chat.cw_sh = w->w_sh;
	chat.cw_slot = slot;
	chat.cw_pid = (uint32_t)getpid();
	chat.cw_bcast = shm_chat_bcast(w->w_sh);
	chat.cw_bcast_size = g->cg_bcast_size;
	chat.cw_ring = shm_chat_ring(w->w_sh, slot);
	chat.cw_ring_size = g->cg_ring_size;
	chat.cw_nrooms = (uint32_t)g->cg_max_rooms;
	TAILQ_INIT(&chat.cw_dirty);
	if ((chat.cw_rooms = calloc(chat.cw_nrooms, sizeof(*chat.cw_rooms))) ==
		NULL ||
	    chat_table_grow() == -1)
		fatal("calloc");
	for (i = 0; i < chat.cw_nrooms; i++)
		TAILQ_INIT(&chat.cw_rooms[i].cr_clients);
	bcast_cursor_init(chat.cw_bcast, &chat.cw_cursor);
	/* What was published before it started is not its lag. */
	__atomic_store_n(&chat_counters()->sc_chat_read,
	    chat.cw_cursor.bc_next - 1, __ATOMIC_RELAXED);
	chat.cw_wake = event_new(w->w_base, shm_chat_slot_fd(slot),
	    EV_READ | EV_PERSIST, chat_wake_cb, NULL);
	chat.cw_retry = evtimer_new(w->w_base, chat_retry_cb, NULL);
	if (chat.cw_wake == NULL || chat.cw_retry == NULL ||
	    event_add(chat.cw_wake, NULL) == -1)
		fatalx("cannot set up the chat events");
	__atomic_store_n(
	    &shm_chat_slot(w->w_sh, slot)->cs_waiting, 1, __ATOMIC_SEQ_CST);
}
