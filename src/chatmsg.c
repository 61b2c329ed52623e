/*
 * The two records that travel between the workers and the chat hub, both
 * in native byte order (one machine, one binary), bounded, and checked
 * whole when decoded (a record is exactly its fields):
 *
 * A request, in a slot's chat-in ring (worker to hub):
 *
 *	u8	op		CHATREQ_JOIN .. CHATREQ_WHO
 *	u8	flags		CHATMSG_TELNET
 *	u32	pid		the worker's
 *	u64	conn		the client's connection id, not 0
 *	u32	member		the member the hub made it (its join's
 *				out-record says), or SHM_CHAT_NONE
 *	name	room		CHATREQ_JOIN: the room; else empty
 *	name	nick		CHATREQ_JOIN: the nick asked for, or empty;
 *				CHATREQ_NICK: the new nick; else empty
 *	u16	text length	CHATREQ_SAY, CHATREQ_ME; else absent
 *	...	text		valid UTF-8, whole
 *
 * An out-record, in the broadcast ring and the rooms' history (hub to
 * every worker):
 *
 *	u8	kind		CHATOUT_EVENT, CHATOUT_WHO, CHATOUT_ERROR,
 *				CHATOUT_WELCOME
 *	u8	flags		CHATOUT_NICK_TAKEN on a join
 *	u16	slot		the event's origin, or the reply's addressee
 *	u32	pid		likewise (0: the hub's own event)
 *	u64	conn		likewise (0: none)
 *	u32	member		the origin's member index (a join tells
 *				the worker its client's), or SHM_CHAT_NONE
 *	u32	room		the room's index in the room table
 *	u32	epoch		the room entry's epoch (rm_epoch)
 *   CHATOUT_EVENT, CHATOUT_WELCOME (a join event, not sequenced):
 *	...	the event	chatev.c, the rest of the record
 *   CHATOUT_WHO:
 *	name	room
 *	u16	count		at most CHATMSG_WHO_MAX
 *	...	that many names, each a name then a NUL
 *   CHATOUT_ERROR:
 *	u8	code		enum chatout_error
 *
 * where a name is a u8 length and that many bytes (chatev.c's names; an
 * empty one is length 0 where allowed).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pfhttpd.h"

/* Tell whether requests of op carry a text. */
static int
chatmsg_has_text(enum chatreq_op op)
{
	return op == CHATREQ_SAY || op == CHATREQ_ME;
}

/* Tell whether the name array s is empty or a valid name. */
static int
chatmsg_name_ok(const char *s, int empty_ok)
{
	size_t n = strnlen(s, CHAT_NAME_MAX + 1);

	return n == 0 ? empty_ok : chatev_name_valid(s, n);
}

/*
 * Tell whether a request of op may have room and nick: a join has a room
 * and maybe a nick, a nick change a nick, the others neither.
 */
static int
chatmsg_names_ok(enum chatreq_op op, const char *room, const char *nick)
{
	if (op == CHATREQ_JOIN)
		return chatmsg_name_ok(room, 0) && chatmsg_name_ok(nick, 1);
	if (op == CHATREQ_NICK)
		return room[0] == '\0' && chatmsg_name_ok(nick, 0);
	return room[0] == '\0' && nick[0] == '\0';
}

/* Tell whether text[0..len) is whole, valid UTF-8. */
static int
chatmsg_utf8(const char *text, size_t len)
{
	uint32_t state = UTF8_ACCEPT;

	return len == 0 ||
	    (utf8_validate(&state, text, len) == len && utf8_complete(state));
}

/* Tell whether req may be encoded. */
static int
chatmsg_req_valid(const struct chat_req *req)
{
	if (req->cr_op < CHATREQ_JOIN || req->cr_op > CHATREQ_WHO ||
	    req->cr_conn == 0 || (req->cr_flags & ~CHATMSG_TELNET) != 0)
		return 0;
	if (!chatmsg_names_ok(req->cr_op, req->cr_room, req->cr_nick))
		return 0;
	if (chatmsg_has_text(req->cr_op))
		return req->cr_text_len <= CHAT_TEXT_MAX &&
		    (req->cr_text != NULL || req->cr_text_len == 0) &&
		    chatmsg_utf8(req->cr_text, req->cr_text_len);
	return 1;
}

/* Encode req into buf; return its size, or 0 if invalid or too long. */
size_t
chatmsg_req_encode(const struct chat_req *req, void *buf, size_t len)
{
	struct wire_out w;
	uint8_t op = (uint8_t)req->cr_op, flags = (uint8_t)req->cr_flags;
	uint16_t n;

	if (!chatmsg_req_valid(req))
		return 0;
	wire_out_init(&w, buf, len);
	wire_put(&w, &op, sizeof(op));
	wire_put(&w, &flags, sizeof(flags));
	wire_put(&w, &req->cr_pid, sizeof(req->cr_pid));
	wire_put(&w, &req->cr_conn, sizeof(req->cr_conn));
	wire_put(&w, &req->cr_member, sizeof(req->cr_member));
	chatev_put_name(&w, req->cr_room);
	chatev_put_name(&w, req->cr_nick);
	if (chatmsg_has_text(req->cr_op)) {
		n = (uint16_t)req->cr_text_len;
		wire_put(&w, &n, sizeof(n));
		if (n > 0)
			wire_put(&w, req->cr_text, n);
	}
	return w.wo_full ? 0 : w.wo_pos;
}

/* Decode a request; its text points into buf. 0, or -1 if malformed. */
int
chatmsg_req_decode(const void *buf, size_t len, struct chat_req *req)
{
	struct wire_in r;
	uint8_t op, flags;
	uint16_t n;

	wire_in_init(&r, buf, len);
	memset(req, 0, sizeof(*req));
	if (wire_get(&r, &op, sizeof(op)) == -1 || op < CHATREQ_JOIN ||
	    op > CHATREQ_WHO || wire_get(&r, &flags, sizeof(flags)) == -1 ||
	    (flags & ~CHATMSG_TELNET) != 0 ||
	    wire_get(&r, &req->cr_pid, sizeof(req->cr_pid)) == -1 ||
	    wire_get(&r, &req->cr_conn, sizeof(req->cr_conn)) == -1 ||
	    req->cr_conn == 0 ||
	    wire_get(&r, &req->cr_member, sizeof(req->cr_member)) == -1)
		return -1;
	req->cr_op = (enum chatreq_op)op;
	req->cr_flags = flags;
	if (chatev_get_name(&r, req->cr_room, 1) == -1 ||
	    chatev_get_name(&r, req->cr_nick, 1) == -1 ||
	    !chatmsg_names_ok(req->cr_op, req->cr_room, req->cr_nick))
		return -1;
	if (chatmsg_has_text(req->cr_op)) {
		if (wire_get(&r, &n, sizeof(n)) == -1 || n > CHAT_TEXT_MAX ||
		    (req->cr_text = wire_take(&r, n)) == NULL ||
		    !chatmsg_utf8(req->cr_text, n))
			return -1;
		req->cr_text_len = n;
	}
	return r.wi_pos == r.wi_len ? 0 : -1;
}

/* Write the fields every out-record starts with. */
static void
chatmsg_put_head(struct wire_out *w, const struct chat_out *out)
{
	uint8_t kind = (uint8_t)out->co_kind, flags = (uint8_t)out->co_flags;
	uint16_t slot = (uint16_t)out->co_slot;

	wire_put(w, &kind, sizeof(kind));
	wire_put(w, &flags, sizeof(flags));
	wire_put(w, &slot, sizeof(slot));
	wire_put(w, &out->co_pid, sizeof(out->co_pid));
	wire_put(w, &out->co_conn, sizeof(out->co_conn));
	wire_put(w, &out->co_member, sizeof(out->co_member));
	wire_put(w, &out->co_room, sizeof(out->co_room));
	wire_put(w, &out->co_epoch, sizeof(out->co_epoch));
}

/*
 * Encode an out-record; a CHATOUT_WHO takes its names from nicks[0..n).
 * Return its size, or 0 if it is invalid or does not fit.
 */
size_t
chatmsg_out_encode(const struct chat_out *out, const char *const nicks[],
    size_t n, void *buf, size_t len)
{
	struct wire_out w;
	uint16_t count = (uint16_t)n;
	uint8_t code = (uint8_t)out->co_error;
	size_t i, evlen;

	if ((out->co_flags & ~CHATOUT_NICK_TAKEN) != 0 ||
	    out->co_slot > UINT16_MAX)
		return 0;
	wire_out_init(&w, buf, len);
	chatmsg_put_head(&w, out);
	switch (out->co_kind) {
	case CHATOUT_EVENT:
	case CHATOUT_WELCOME:
		if (w.wo_full ||
		    (evlen = chatev_encode(&out->co_ev, w.wo_buf + w.wo_pos,
			 w.wo_len - w.wo_pos)) == 0)
			return 0;
		return w.wo_pos + evlen;
	case CHATOUT_WHO:
		if (n > CHATMSG_WHO_MAX ||
		    !chatmsg_name_ok(out->co_ev.ce_room, 0))
			return 0;
		chatev_put_name(&w, out->co_ev.ce_room);
		wire_put(&w, &count, sizeof(count));
		for (i = 0; i < n; i++) {
			if (!chatmsg_name_ok(nicks[i], 0))
				return 0;
			chatev_put_name(&w, nicks[i]);
			wire_put(&w, "", 1);
		}
		break;
	case CHATOUT_ERROR:
		if (out->co_error < CHATERR_NICK_TAKEN ||
		    out->co_error > CHATERR_UNAVAILABLE)
			return 0;
		wire_put(&w, &code, sizeof(code));
		break;
	default:
		return 0;
	}
	return w.wo_full ? 0 : w.wo_pos;
}

/* Check the names of a who reply and point co_nicks at the first. */
static int
chatmsg_get_who(struct wire_in *r, struct chat_out *out)
{
	uint16_t count, i;
	const uint8_t *nul;
	char name[CHAT_NAME_MAX + 1];

	if (chatev_get_name(r, out->co_ev.ce_room, 0) == -1 ||
	    wire_get(r, &count, sizeof(count)) == -1 || count > CHATMSG_WHO_MAX)
		return -1;
	out->co_nicks = (const char *)r->wi_buf + r->wi_pos;
	out->co_nnicks = count;
	for (i = 0; i < count; i++)
		if (chatev_get_name(r, name, 0) == -1 ||
		    (nul = wire_take(r, 1)) == NULL || *nul != '\0')
			return -1;
	return 0;
}

/*
 * Decode an out-record; an event's text and a who reply's names point
 * into buf. 0, or -1 if malformed.
 */
int
chatmsg_out_decode(const void *buf, size_t len, struct chat_out *out)
{
	struct wire_in r;
	uint8_t kind, flags, code;
	uint16_t slot;

	wire_in_init(&r, buf, len);
	memset(out, 0, sizeof(*out));
	if (wire_get(&r, &kind, sizeof(kind)) == -1 ||
	    wire_get(&r, &flags, sizeof(flags)) == -1 ||
	    (flags & ~CHATOUT_NICK_TAKEN) != 0 ||
	    wire_get(&r, &slot, sizeof(slot)) == -1 ||
	    wire_get(&r, &out->co_pid, sizeof(out->co_pid)) == -1 ||
	    wire_get(&r, &out->co_conn, sizeof(out->co_conn)) == -1 ||
	    wire_get(&r, &out->co_member, sizeof(out->co_member)) == -1 ||
	    wire_get(&r, &out->co_room, sizeof(out->co_room)) == -1 ||
	    wire_get(&r, &out->co_epoch, sizeof(out->co_epoch)) == -1)
		return -1;
	out->co_kind = (enum chatout_kind)kind;
	out->co_flags = flags;
	out->co_slot = slot;
	switch (kind) {
	case CHATOUT_EVENT:
	case CHATOUT_WELCOME:
		return chatev_decode(
		    r.wi_buf + r.wi_pos, r.wi_len - r.wi_pos, &out->co_ev);
	case CHATOUT_WHO:
		if (chatmsg_get_who(&r, out) == -1)
			return -1;
		break;
	case CHATOUT_ERROR:
		if (wire_get(&r, &code, sizeof(code)) == -1 ||
		    code < CHATERR_NICK_TAKEN || code > CHATERR_UNAVAILABLE)
			return -1;
		out->co_error = code;
		break;
	default:
		return -1;
	}
	return r.wi_pos == r.wi_len ? 0 : -1;
}

/*
 * Point names[0..co_nnicks) at the nicks of a decoded who reply (names
 * has room for CHATMSG_WHO_MAX). Return the count.
 */
size_t
chatmsg_who_names(const struct chat_out *out, const char *names[])
{
	const char *p = out->co_nicks;
	size_t i;

	for (i = 0; i < out->co_nnicks; i++) {
		names[i] = p + 1;
		p += 1 + (uint8_t)p[0] + 1;
	}
	return out->co_nnicks;
}
