/*
 * Chat events: the binary record the chat hub puts in its broadcast ring
 * for the workers (and the transcript is made of), one sequenced event of
 * one room. Both sides run on the same machine from the same binary, so
 * integers are in native byte order.
 *
 * Layout (no padding, no alignment assumed):
 *
 *	u8	type		CHAT_MESSAGE .. CHAT_NICK
 *	u64	seq		ce_seq
 *	u64	time		ce_time_ms
 *	name	room
 *	name	nick
 *   CHAT_NICK:
 *	name	old
 *   CHAT_MESSAGE, CHAT_ME:
 *	u16	text length	at most CHAT_TEXT_MAX
 *	...	text		valid UTF-8 (RFC 3629), complete
 *
 * where a name is a u8 length followed by that many bytes, no NUL: 1 to
 * CHAT_NAME_MAX of A-Za-z0-9_- (chatev_name_valid()). A record is exactly
 * its fields: a decoder rejects anything shorter or longer, and anything
 * an encoder would not have written. seq and time are not checked.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pfhttpd.h"

_Static_assert(CHAT_NAME_MAX <= UINT8_MAX, "a name's length is a u8");
_Static_assert(CHAT_TEXT_MAX <= UINT16_MAX, "a text's length is a u16");

/* Each event type's name (JSON, the transcript, Redis), by enum chat_type. */
static const char *const chatev_type_names[] = {
    [CHAT_MESSAGE] = "message",
    [CHAT_ME] = "me",
    [CHAT_JOIN] = "join",
    [CHAT_LEAVE] = "leave",
    [CHAT_NICK] = "nick",
};

/* Return the name of event type type (a valid one). */
const char *
chatev_type_name(enum chat_type type)
{
	return chatev_type_names[type];
}

/* Find the type named s[0..n) into *type; 0, or -1 if there is none. */
int
chatev_type_parse(const char *s, size_t n, enum chat_type *type)
{
	int t;

	for (t = CHAT_MESSAGE; t <= CHAT_NICK; t++)
		if (strlen(chatev_type_names[t]) == n &&
		    memcmp(chatev_type_names[t], s, n) == 0) {
			*type = (enum chat_type)t;
			return 0;
		}
	return -1;
}

/* Tell whether events of the type carry the previous nick. */
static int
chatev_has_old(enum chat_type type)
{
	return type == CHAT_NICK;
}

/* Tell whether events of the type carry a text. */
static int
chatev_has_text(enum chat_type type)
{
	return type == CHAT_MESSAGE || type == CHAT_ME;
}

/*
 * Tell whether s[0..len) is a room or nick name: 1 to CHAT_NAME_MAX
 * characters of A-Za-z0-9, '_' and '-'.
 */
int
chatev_name_valid(const char *s, size_t len)
{
	size_t i;
	char c;

	if (len == 0 || len > CHAT_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Tell whether the NUL-terminated array s (CHAT_NAME_MAX + 1) is a name. */
static int
chatev_name_ok(const char *s)
{
	return chatev_name_valid(s, strnlen(s, CHAT_NAME_MAX + 1));
}

/* Tell whether the text[0..len) may be an event's text. */
static int
chatev_text_ok(const char *text, size_t len)
{
	uint32_t st = UTF8_ACCEPT;

	if (len == 0)
		return 1;
	return text != NULL && len <= CHAT_TEXT_MAX &&
	    utf8_validate(&st, text, len) == len && utf8_complete(st);
}

/*
 * Tell whether ev is an event chatev_encode() writes: a known type, valid
 * names, an old nick exactly for CHAT_NICK, a text only for the types
 * that have one, within its bound and valid UTF-8.
 */
static int
chatev_valid(const struct chat_event *ev)
{
	if (ev->ce_type < CHAT_MESSAGE || ev->ce_type > CHAT_NICK ||
	    !chatev_name_ok(ev->ce_room) || !chatev_name_ok(ev->ce_nick))
		return 0;
	if (chatev_has_old(ev->ce_type) ? !chatev_name_ok(ev->ce_old)
					: ev->ce_old[0] != '\0')
		return 0;
	if (chatev_has_text(ev->ce_type))
		return chatev_text_ok(ev->ce_text, ev->ce_text_len);
	return ev->ce_text_len == 0;
}

/*
 * Return the encoded length of ev (at most CHATEV_MAX): the bytes
 * chatev_encode() writes; 0 if ev is not a valid event.
 */
size_t
chatev_size(const struct chat_event *ev)
{
	size_t n;

	if (!chatev_valid(ev))
		return 0;
	n = 1 + 2 * sizeof(uint64_t) + 2 + strlen(ev->ce_room) +
	    strlen(ev->ce_nick);
	if (chatev_has_old(ev->ce_type))
		n += 1 + strlen(ev->ce_old);
	if (chatev_has_text(ev->ce_type))
		n += sizeof(uint16_t) + ev->ce_text_len;
	return n;
}

/*
 * Write a name from the NUL-terminated array s (CHAT_NAME_MAX + 1): its
 * length as a u8, then its bytes (none for an empty one).
 */
void
chatev_put_name(struct wire_out *w, const char *s)
{
	uint8_t n = (uint8_t)strnlen(s, CHAT_NAME_MAX);

	wire_put(w, &n, sizeof(n));
	wire_put(w, s, n);
}

/*
 * Encode ev into buf[0..len). Return the encoded length, or 0 if it does
 * not fit in len or ev is not a valid event (see chatev_valid()): what
 * this writes, chatev_decode() takes back. With len >= CHATEV_MAX, or
 * chatev_size(ev), a valid event always fits.
 */
size_t
chatev_encode(const struct chat_event *ev, void *buf, size_t len)
{
	struct wire_out w;
	uint8_t type;
	uint16_t n;

	if (!chatev_valid(ev))
		return 0;
	wire_out_init(&w, buf, len);
	type = (uint8_t)ev->ce_type;
	wire_put(&w, &type, sizeof(type));
	wire_put(&w, &ev->ce_seq, sizeof(ev->ce_seq));
	wire_put(&w, &ev->ce_time_ms, sizeof(ev->ce_time_ms));
	chatev_put_name(&w, ev->ce_room);
	chatev_put_name(&w, ev->ce_nick);
	if (chatev_has_old(ev->ce_type))
		chatev_put_name(&w, ev->ce_old);
	if (chatev_has_text(ev->ce_type)) {
		n = (uint16_t)ev->ce_text_len;
		wire_put(&w, &n, sizeof(n));
		if (n > 0)
			wire_put(&w, ev->ce_text, n);
	}
	return w.wo_full ? 0 : w.wo_pos;
}

/*
 * Read a name into s (CHAT_NAME_MAX + 1 bytes, NUL-terminated): a valid
 * one, or an empty one if empty_ok. 0, or -1 if it is truncated or not
 * such a name.
 */
int
chatev_get_name(struct wire_in *r, char *s, int empty_ok)
{
	uint8_t n;

	if (wire_get(r, &n, sizeof(n)) == -1 || n > CHAT_NAME_MAX ||
	    wire_get(r, s, n) == -1)
		return -1;
	s[n] = '\0';
	if (n == 0)
		return empty_ok ? 0 : -1;
	return chatev_name_valid(s, n) ? 0 : -1;
}

/*
 * Point ev's text at the text field of the input, without copying it; 0,
 * or -1 if it is truncated, over CHAT_TEXT_MAX or not valid UTF-8.
 */
static int
chatev_get_text(struct wire_in *r, struct chat_event *ev)
{
	uint16_t n;

	if (wire_get(r, &n, sizeof(n)) == -1 || n > CHAT_TEXT_MAX ||
	    (ev->ce_text = wire_take(r, n)) == NULL)
		return -1;
	ev->ce_text_len = n;
	return chatev_text_ok(ev->ce_text, n) ? 0 : -1;
}

/*
 * Decode the record in buf[0..len) into *ev: names NUL-terminated, ce_old
 * "" unless CHAT_NICK, ce_text pointing into buf (which must outlive the
 * use of ev) or NULL with length 0 for the types without text. Return 0,
 * or -1 if the input is not exactly one well-formed record (see the
 * layout); *ev is then undefined. Reads nothing outside buf[0..len),
 * whatever the bytes.
 */
int
chatev_decode(const void *buf, size_t len, struct chat_event *ev)
{
	struct wire_in r;
	uint8_t type;

	wire_in_init(&r, buf, len);
	ev->ce_old[0] = '\0';
	ev->ce_text = NULL;
	ev->ce_text_len = 0;

	if (wire_get(&r, &type, sizeof(type)) == -1 || type < CHAT_MESSAGE ||
	    type > CHAT_NICK)
		return -1;
	ev->ce_type = (enum chat_type)type;
	if (wire_get(&r, &ev->ce_seq, sizeof(ev->ce_seq)) == -1 ||
	    wire_get(&r, &ev->ce_time_ms, sizeof(ev->ce_time_ms)) == -1 ||
	    chatev_get_name(&r, ev->ce_room, 0) == -1 ||
	    chatev_get_name(&r, ev->ce_nick, 0) == -1)
		return -1;
	if (chatev_has_old(ev->ce_type) &&
	    chatev_get_name(&r, ev->ce_old, 0) == -1)
		return -1;
	if (chatev_has_text(ev->ce_type) && chatev_get_text(&r, ev) == -1)
		return -1;
	return r.wi_pos == r.wi_len ? 0 : -1;
}
