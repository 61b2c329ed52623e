/*
 * A chat event as an entry of its room's Redis stream: field-value
 * pairs that redis-cli shows as they are, read back strictly. The
 * entry's ID is the event's sequence number ("<seq>-0"), given by the
 * publish script; the fields are the rest:
 *
 *	type	message, me, join, leave or nick
 *	nick	who (for nick: the new nick)
 *	old	for nick, and only for nick: the previous nick
 *	text	for message and me, and only for them: valid UTF-8
 *	time	unix milliseconds, decimal (the origin's clock)
 *	origin	INSTANCE:SLOT:PID:CONN:MEMBER:FLAGS, the client that made
 *		it: INSTANCE the hub's instance id (16 hex digits), the
 *		rest decimal as in struct chat_out
 *
 * Each field at most once; fields a later version may add are skipped.
 * The origin lets the instance the client is on address it (its
 * welcome, its own nick); every other instance sees no origin.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

/* Append field name = value[0..len) to f. */
static void
chatredis_put(
    struct chatredis_fields *f, const char *name, const char *value, size_t len)
{
	f->cf_argv[f->cf_n] = name;
	f->cf_len[f->cf_n++] = strlen(name);
	f->cf_argv[f->cf_n] = value;
	f->cf_len[f->cf_n++] = len;
}

/*
 * Write the fields of event out (a valid one, from instance) into f; they
 * point into out, which must outlive f's use. Return the count of argv
 * strings (names and values).
 */
int
chatredis_encode(
    const struct chat_out *out, uint64_t instance, struct chatredis_fields *f)
{
	const struct chat_event *ev = &out->co_ev;
	int n;

	f->cf_n = 0;
	chatredis_put(f, "type", chatev_type_name(ev->ce_type),
	    strlen(chatev_type_name(ev->ce_type)));
	chatredis_put(f, "nick", ev->ce_nick, strlen(ev->ce_nick));
	if (ev->ce_type == CHAT_NICK)
		chatredis_put(f, "old", ev->ce_old, strlen(ev->ce_old));
	if (ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME)
		chatredis_put(f, "text", ev->ce_text, ev->ce_text_len);
	n = snprintf(
	    f->cf_time, sizeof(f->cf_time), "%" PRIu64, ev->ce_time_ms);
	chatredis_put(f, "time", f->cf_time, (size_t)n);
	n = snprintf(f->cf_origin, sizeof(f->cf_origin),
	    "%016" PRIx64 ":%" PRIu32 ":%" PRIu32 ":%" PRIu64 ":%" PRIu32
	    ":%" PRIu32,
	    instance, out->co_slot, out->co_pid, out->co_conn, out->co_member,
	    out->co_flags);
	chatredis_put(f, "origin", f->cf_origin, (size_t)n);
	return f->cf_n;
}

/* Parse s[0..n), decimal digits only, into *v (at most max); 0 or -1. */
static int
chatredis_number(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t d;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (*v = 0, i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (d > max || *v > (max - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return 0;
}

/* Copy name s[0..n) into dst (CHAT_NAME_MAX + 1) if it is one; 0 or -1. */
static int
chatredis_name(const char *s, size_t n, char *dst)
{
	if (s == NULL || !chatev_name_valid(s, n))
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/*
 * Parse 16 lowercase hex digits at s (as "%016" PRIx64 writes an instance
 * id or an epoch) into *v; 0 or -1.
 */
int
chatredis_hex16(const char *s, uint64_t *v)
{
	int i, d;

	for (*v = 0, i = 0; i < 16; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | (uint64_t)d;
	}
	return 0;
}

/*
 * Parse an origin into out's addressing fields, if it is this instance's;
 * otherwise leave out addressed to no one. 0, or -1 if malformed.
 */
static int
chatredis_origin(
    const char *s, size_t n, uint64_t instance, struct chat_out *out)
{
	static const uint64_t max[6] = {UINT64_MAX, UINT16_MAX, UINT32_MAX,
	    UINT64_MAX, UINT32_MAX, CHATOUT_NICK_TAKEN};
	const char *end = s + n, *p, *q;
	uint64_t v[6];
	int i;

	if (n < 16 || chatredis_hex16(s, &v[0]) == -1)
		return -1;
	for (p = s + 16, i = 1; i < 6; i++) {
		if (p == end || *p != ':')
			return -1;
		for (q = ++p; q < end && *q != ':'; q++)
			;
		if (chatredis_number(p, (size_t)(q - p), max[i], &v[i]) == -1)
			return -1;
		p = q;
	}
	if (p != end)
		return -1;
	if (v[0] != instance)
		return 0;
	out->co_slot = (uint32_t)v[1];
	out->co_pid = (uint32_t)v[2];
	out->co_conn = v[3];
	out->co_member = (uint32_t)v[4];
	out->co_flags = (uint32_t)v[5];
	return 0;
}

/* Tell whether the type's events carry field name (beyond the common). */
static int
chatredis_field_fits(enum chat_type type, const char *name, const void *val)
{
	if (strcmp(name, "old") == 0)
		return (type == CHAT_NICK) == (val != NULL);
	return (type == CHAT_MESSAGE || type == CHAT_ME) == (val != NULL);
}

/* Find field name among the n pairs of argv/len; NULL if absent. */
static const char *
chatredis_find(const char *const argv[], const size_t len[], size_t n,
    const char *name, size_t *vlen, int *twice)
{
	const char *found = NULL;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		if (len[i] == strlen(name) &&
		    memcmp(argv[i], name, len[i]) == 0) {
			*twice |= found != NULL;
			found = argv[i + 1];
			*vlen = len[i + 1];
		}
	return found;
}

/*
 * Read the n strings argv/len (field, value, ...) of an entry into out, an
 * event of room room with sequence number seq, addressed to its origin if
 * that is this instance; its text (at most max_text bytes) points into
 * argv. 0, or -1 if the entry is not an event.
 */
int
chatredis_decode(const char *const argv[], const size_t len[], size_t n,
    const struct chatredis_entry *en, struct chat_out *out)
{
	struct chat_event *ev = &out->co_ev;
	const char *type, *nick, *old, *text, *time, *origin;
	size_t tl = 0, nl = 0, ol = 0, xl = 0, ml = 0, gl = 0;
	uint32_t st = UTF8_ACCEPT;
	int twice = 0;

	memset(out, 0, sizeof(*out));
	out->co_kind = CHATOUT_EVENT;
	out->co_member = UINT32_MAX; /* no origin here: no conn either */
	type = chatredis_find(argv, len, n, "type", &tl, &twice);
	nick = chatredis_find(argv, len, n, "nick", &nl, &twice);
	old = chatredis_find(argv, len, n, "old", &ol, &twice);
	text = chatredis_find(argv, len, n, "text", &xl, &twice);
	time = chatredis_find(argv, len, n, "time", &ml, &twice);
	origin = chatredis_find(argv, len, n, "origin", &gl, &twice);
	if (twice || n % 2 != 0 || type == NULL || time == NULL ||
	    origin == NULL || chatev_type_parse(type, tl, &ev->ce_type) == -1 ||
	    !chatredis_field_fits(ev->ce_type, "old", old) ||
	    !chatredis_field_fits(ev->ce_type, "text", text) ||
	    chatredis_name(nick, nl, ev->ce_nick) == -1 ||
	    (old != NULL && chatredis_name(old, ol, ev->ce_old) == -1) ||
	    chatredis_number(time, ml, UINT64_MAX, &ev->ce_time_ms) == -1 ||
	    chatredis_origin(origin, gl, en->re_instance, out) == -1)
		return -1;
	if (text != NULL &&
	    (xl > en->re_max_text || xl > CHAT_TEXT_MAX ||
		utf8_validate(&st, text, xl) != xl || !utf8_complete(st)))
		return -1;
	ev->ce_text = text;
	ev->ce_text_len = text != NULL ? xl : 0;
	ev->ce_seq = en->re_seq;
	snprintf(ev->ce_room, sizeof(ev->ce_room), "%s", en->re_room);
	return 0;
}

/*
 * Parse a stream entry ID, "<seq>-<n>", into its sequence number (1 to
 * CHATREDIS_SEQ_MAX). 0, or -1 if it is not one.
 */
int
chatredis_id_seq(const char *id, size_t len, uint64_t *seq)
{
	const char *dash = memchr(id, '-', len);
	uint64_t sub;

	if (dash == NULL ||
	    chatredis_number(id, (size_t)(dash - id), CHATREDIS_SEQ_MAX, seq) ==
		-1 ||
	    chatredis_number(dash + 1, len - (size_t)(dash - id) - 1,
		UINT64_MAX, &sub) == -1 ||
	    *seq == 0)
		return -1;
	return 0;
}
