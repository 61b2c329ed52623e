/*
 * Chat renderings: a chat event, or a reply to one client, as the text of
 * a WebSocket message (JSON) and as a telnet line. A worker renders each
 * event once in each form and shares the bytes among its clients.
 *
 * JSON, one object without spaces; the keys and their order are the
 * WebSocket protocol's contract:
 *
 *	{"type":"message","room":R,"seq":S,"time":T,"nick":N,"text":X}
 *	{"type":"me", ... the same keys}
 *	{"type":"join","room":R,"seq":S,"time":T,"nick":N}	(and "leave")
 *	{"type":"nick","room":R,"seq":S,"time":T,"nick":N,"old":O}
 *
 * with ,"history":true before the brace for an event replayed from the
 * room's history; T is RFC 3339 UTC with milliseconds,
 * "2026-12-05T21:07:04.123Z" (times after year 9999 show as its last
 * millisecond). The replies, not sequenced, are welcome, who, gap and
 * error (see their functions). In strings, '"' and '\' are escaped, the
 * C0 controls as \b \f \n \r \t or \u00XX, DEL as \u007f, U+2028 and
 * U+2029 (line ends to JavaScript) as \u2028 and \u2029; the rest of the
 * UTF-8 is copied as it is. A byte that is not part of valid UTF-8 (the
 * texts are validated before they get here; this is a second net) becomes
 * \ufffd, so the output is always valid JSON.
 *
 * Lines (telnet), each ending in CRLF, times in UTC:
 *
 *	[21:07:04] <alice> hi			message
 *	[21:07:04] * alice waves		me
 *	* alice joined lobby			join (left: leave)
 *	* bob is now bobby			nick
 *
 * Terminal safety: a text can never reach a terminal as a control. In a
 * line the C0 controls (CR and LF too) become '?', except the tab, which
 * becomes a space; DEL and the C1 controls (U+0080..U+009F, C2 80..C2 9F
 * in UTF-8, of which 9B is a CSI) become '?', as does each byte that is
 * not valid UTF-8. Other characters are copied, so a line is never longer
 * than its parts.
 *
 * Every function writes its rendering into buf[0..len), NUL-terminated,
 * and returns its length, the NUL excluded. A room, nick or error code
 * must be a valid name (chatev_name_valid()). If it is not, the event's
 * type is unknown, or the rendering does not fit, buf gets "" (if len >
 * 0) and 0 is returned. Nothing is written past len. The CHATFMT_*_MAX
 * macros of pfhttpd.h say what len always suffices.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "pfhttpd.h"

#define CHATFMT_NUM_MAX	 20 /* digits of a 64-bit integer */
#define CHATFMT_TIME_LEN HTTPDATE_RFC3339_LEN(3) /* "...:04.123Z" */
#define CHATFMT_HMS_LEN	 8			 /* "21:07:04" */

/* 9999-12-31T23:59:59Z: later times are shown as this second. */
#define CHATFMT_LAST_SEC 253402300799ULL

/* An output buffer: what does not fit marks it bad, and is not written. */
struct chatfmt_buf {
	char *cb_buf;
	size_t cb_len; /* room in cb_buf, the NUL excluded */
	size_t cb_pos; /* bytes written */
	int cb_bad;    /* something did not fit, or the input is not valid */
	int cb_nul;    /* cb_buf has room for a NUL at least (len > 0) */
};

/* Start writing into buf[0..len). */
static void
chatfmt_init(struct chatfmt_buf *b, char *buf, size_t len)
{
	b->cb_buf = buf;
	b->cb_len = len > 0 ? len - 1 : 0;
	b->cb_pos = 0;
	b->cb_bad = len == 0; /* not even the NUL fits */
	b->cb_nul = len > 0;
}

/* Append the n bytes at p, or mark the buffer bad if they do not fit. */
static void
chatfmt_put(struct chatfmt_buf *b, const char *p, size_t n)
{
	if (b->cb_bad || n > b->cb_len - b->cb_pos) {
		b->cb_bad = 1;
		return;
	}
	memcpy(b->cb_buf + b->cb_pos, p, n);
	b->cb_pos += n;
}

/* Append the string literal s (its length is known when compiling). */
#define CHATFMT_PUT_LITERAL(b, s) chatfmt_put((b), (s), sizeof(s) - 1)

/* Append the one byte c. */
static void
chatfmt_putc(struct chatfmt_buf *b, char c)
{
	chatfmt_put(b, &c, 1);
}

/*
 * Finish the rendering: NUL-terminate it and return its length, or, if
 * the buffer is bad, leave "" and return 0.
 */
static size_t
chatfmt_end(struct chatfmt_buf *b)
{
	if (b->cb_bad) {
		if (b->cb_nul)
			b->cb_buf[0] = '\0';
		return 0;
	}
	b->cb_buf[b->cb_pos] = '\0';
	return b->cb_pos;
}

/* Append v in decimal. */
static void
chatfmt_putu(struct chatfmt_buf *b, uint64_t v)
{
	char num[CHATFMT_NUM_MAX];
	size_t i = sizeof(num);

	do {
		num[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	chatfmt_put(b, num + i, sizeof(num) - i);
}

/* Tell whether the NUL-terminated s is a valid name. */
static int
chatfmt_name_ok(const char *s)
{
	return chatev_name_valid(s, strnlen(s, CHAT_NAME_MAX + 1));
}

/* Append the NUL-terminated name s, or mark the buffer bad if invalid. */
static void
chatfmt_name(struct chatfmt_buf *b, const char *s)
{
	if (!chatfmt_name_ok(s)) {
		b->cb_bad = 1;
		return;
	}
	chatfmt_put(b, s, strlen(s));
}

/*
 * Return the length of the valid UTF-8 sequence that starts s[0..n), or
 * 0 if none does.
 */
static size_t
chatfmt_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t st = UTF8_ACCEPT;
	size_t k;

	for (k = 0; k < n && k < 4; k++) {
		if (utf8_validate(&st, s + k, 1) != 1)
			return 0;
		if (utf8_complete(st))
			return k + 1;
	}
	return 0;
}

/* Tell whether the byte c is copied into a JSON string as it is. */
static int
chatfmt_json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/*
 * Append the JSON escape of the character that starts s[0..n), which is
 * not plain; return the input bytes it stood for.
 */
static size_t
chatfmt_json_char(struct chatfmt_buf *b, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = {'\\', 'u', '0', '0'};
	size_t k;

	switch (s[0]) {
	case '"':
		CHATFMT_PUT_LITERAL(b, "\\\"");
		return 1;
	case '\\':
		CHATFMT_PUT_LITERAL(b, "\\\\");
		return 1;
	case '\b':
		CHATFMT_PUT_LITERAL(b, "\\b");
		return 1;
	case '\f':
		CHATFMT_PUT_LITERAL(b, "\\f");
		return 1;
	case '\n':
		CHATFMT_PUT_LITERAL(b, "\\n");
		return 1;
	case '\r':
		CHATFMT_PUT_LITERAL(b, "\\r");
		return 1;
	case '\t':
		CHATFMT_PUT_LITERAL(b, "\\t");
		return 1;
	}
	if (s[0] < 0x80) { /* the other C0 controls and DEL */
		u[4] = hex[s[0] >> 4];
		u[5] = hex[s[0] & 0x0f];
		chatfmt_put(b, u, sizeof(u));
		return 1;
	}
	if ((k = chatfmt_utf8_len(s, n)) == 0) {
		CHATFMT_PUT_LITERAL(b, "\\ufffd");
		return 1;
	}
	if (k == 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] == 0xa8 || s[2] == 0xa9))
		chatfmt_put(b, s[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
	else
		chatfmt_put(b, (const char *)s, k);
	return k;
}

/* Append s[0..n) as the inside of a JSON string, escaped. */
static void
chatfmt_json_str(struct chatfmt_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;

	while (i < n) {
		for (run = i; run < n && chatfmt_json_plain(p[run]); run++)
			;
		chatfmt_put(b, s + i, run - i);
		if (run < n)
			run += chatfmt_json_char(b, p + run, n - run);
		i = run;
	}
}

/* Tell whether the byte c is copied into a line as it is. */
static int
chatfmt_line_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

/*
 * Append the character that starts s[0..n), which is not plain, as a
 * line shows it; return the input bytes it stood for.
 */
static size_t
chatfmt_line_char(struct chatfmt_buf *b, const unsigned char *s, size_t n)
{
	size_t k;

	if (s[0] == '\t') {
		chatfmt_putc(b, ' ');
		return 1;
	}
	if (s[0] < 0x80 || (k = chatfmt_utf8_len(s, n)) == 0) {
		chatfmt_putc(b, '?'); /* C0, DEL, or not UTF-8 */
		return 1;
	}
	if (k == 2 && s[0] == 0xc2 && s[1] <= 0x9f)
		chatfmt_putc(b, '?'); /* C1 */
	else
		chatfmt_put(b, (const char *)s, k);
	return k;
}

/* Append s[0..n) to a line, made safe for a terminal. */
static void
chatfmt_line_str(struct chatfmt_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;

	while (i < n) {
		for (run = i; run < n && chatfmt_line_plain(p[run]); run++)
			;
		chatfmt_put(b, s + i, run - i);
		if (run < n)
			run += chatfmt_line_char(b, p + run, n - run);
		i = run;
	}
}

/* Return the second of ms (unix milliseconds), at most CHATFMT_LAST_SEC. */
static uint64_t
chatfmt_sec(uint64_t ms)
{
	return ms / 1000 > CHATFMT_LAST_SEC ? CHATFMT_LAST_SEC : ms / 1000;
}

/* Append the time ms (unix milliseconds) in RFC 3339, UTC. */
static void
chatfmt_time(struct chatfmt_buf *b, uint64_t ms)
{
	char t[CHATFMT_TIME_LEN];
	time_t sec;
	struct tm tm;
	unsigned long milli;

	sec = (time_t)chatfmt_sec(ms);
	milli = ms / 1000 > CHATFMT_LAST_SEC ? 999 : (unsigned long)(ms % 1000);
	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm)); /* cannot happen in range */
	httpdate_rfc3339(&tm, milli, 3, t);
	chatfmt_put(b, t, sizeof(t));
}

/* Append "[HH:MM:SS] ", the time of day of ms (unix milliseconds), UTC. */
static void
chatfmt_hms(struct chatfmt_buf *b, uint64_t ms)
{
	char t[CHATFMT_HMS_LEN];
	unsigned long day_sec;

	day_sec = (unsigned long)(chatfmt_sec(ms) % 86400);
	httpdate_digits(t, day_sec / 3600, 2);
	t[2] = ':';
	httpdate_digits(t + 3, day_sec / 60 % 60, 2);
	t[5] = ':';
	httpdate_digits(t + 6, day_sec % 60, 2);
	chatfmt_putc(b, '[');
	chatfmt_put(b, t, sizeof(t));
	CHATFMT_PUT_LITERAL(b, "] ");
}

/*
 * Tell whether ev can be rendered: a known type, valid names (the old
 * nick for CHAT_NICK), a text where there is one.
 */
static int
chatfmt_event_ok(const struct chat_event *ev)
{
	if (ev->ce_type < CHAT_MESSAGE || ev->ce_type > CHAT_NICK ||
	    !chatfmt_name_ok(ev->ce_room) || !chatfmt_name_ok(ev->ce_nick) ||
	    (ev->ce_type == CHAT_NICK && !chatfmt_name_ok(ev->ce_old)))
		return 0;
	if (ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME)
		return ev->ce_text != NULL || ev->ce_text_len == 0;
	return 1;
}

/*
 * Render the event ev as its JSON text, with ,"history":true if history
 * is set (an event replayed from the room's history). CHATFMT_JSON_MAX
 * bytes always suffice.
 */
size_t
chatfmt_json(const struct chat_event *ev, int history, char *buf, size_t len)
{
	struct chatfmt_buf b;
	const char *type;

	chatfmt_init(&b, buf, len);
	if (!chatfmt_event_ok(ev))
		b.cb_bad = 1;
	else {
		type = chatev_type_name(ev->ce_type);
		CHATFMT_PUT_LITERAL(&b, "{\"type\":\"");
		chatfmt_put(&b, type, strlen(type));
		CHATFMT_PUT_LITERAL(&b, "\",\"room\":\"");
		chatfmt_name(&b, ev->ce_room);
		CHATFMT_PUT_LITERAL(&b, "\",\"seq\":");
		chatfmt_putu(&b, ev->ce_seq);
		CHATFMT_PUT_LITERAL(&b, ",\"time\":\"");
		chatfmt_time(&b, ev->ce_time_ms);
		CHATFMT_PUT_LITERAL(&b, "\",\"nick\":\"");
		chatfmt_name(&b, ev->ce_nick);
		if (ev->ce_type == CHAT_NICK) {
			CHATFMT_PUT_LITERAL(&b, "\",\"old\":\"");
			chatfmt_name(&b, ev->ce_old);
		}
		if (ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME) {
			CHATFMT_PUT_LITERAL(&b, "\",\"text\":\"");
			chatfmt_json_str(&b, ev->ce_text, ev->ce_text_len);
		}
		CHATFMT_PUT_LITERAL(&b, "\"");
		if (history)
			CHATFMT_PUT_LITERAL(&b, ",\"history\":true");
		CHATFMT_PUT_LITERAL(&b, "}");
	}
	return chatfmt_end(&b);
}

/*
 * Render the reply to a client that entered room as nick, the room's
 * last event being seq: {"type":"welcome","room":R,"nick":N,"seq":S}.
 */
size_t
chatfmt_json_welcome(
    const char *room, const char *nick, uint64_t seq, char *buf, size_t len)
{
	struct chatfmt_buf b;

	chatfmt_init(&b, buf, len);
	CHATFMT_PUT_LITERAL(&b, "{\"type\":\"welcome\",\"room\":\"");
	chatfmt_name(&b, room);
	CHATFMT_PUT_LITERAL(&b, "\",\"nick\":\"");
	chatfmt_name(&b, nick);
	CHATFMT_PUT_LITERAL(&b, "\",\"seq\":");
	chatfmt_putu(&b, seq);
	CHATFMT_PUT_LITERAL(&b, "}");
	return chatfmt_end(&b);
}

/*
 * Render who is in room, the n nicks in their order:
 * {"type":"who","room":R,"nicks":["a","b"]}. CHATFMT_JSON_WHO_MAX(n)
 * bytes always suffice.
 */
size_t
chatfmt_json_who(const char *room, const char *const nicks[], size_t n,
    char *buf, size_t len)
{
	struct chatfmt_buf b;
	size_t i;

	chatfmt_init(&b, buf, len);
	CHATFMT_PUT_LITERAL(&b, "{\"type\":\"who\",\"room\":\"");
	chatfmt_name(&b, room);
	CHATFMT_PUT_LITERAL(&b, "\",\"nicks\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			chatfmt_putc(&b, ',');
		chatfmt_putc(&b, '"');
		chatfmt_name(&b, nicks[i]);
		chatfmt_putc(&b, '"');
	}
	CHATFMT_PUT_LITERAL(&b, "]}");
	return chatfmt_end(&b);
}

/*
 * Render that missed events of room were lost to this client (it fell
 * behind the broadcast ring): {"type":"gap","room":R,"missed":N}.
 */
size_t
chatfmt_json_gap(const char *room, uint64_t missed, char *buf, size_t len)
{
	struct chatfmt_buf b;

	chatfmt_init(&b, buf, len);
	CHATFMT_PUT_LITERAL(&b, "{\"type\":\"gap\",\"room\":\"");
	chatfmt_name(&b, room);
	CHATFMT_PUT_LITERAL(&b, "\",\"missed\":");
	chatfmt_putu(&b, missed);
	CHATFMT_PUT_LITERAL(&b, "}");
	return chatfmt_end(&b);
}

/*
 * Render an error: {"type":"error","code":C,"text":X}. code is one of
 * rate_limited, too_long, bad_nick, nick_taken, bad_command,
 * too_many_rooms, unavailable (any valid name is taken); text, a
 * NUL-terminated human-readable explanation, is escaped.
 */
size_t
chatfmt_json_error(const char *code, const char *text, char *buf, size_t len)
{
	struct chatfmt_buf b;

	chatfmt_init(&b, buf, len);
	CHATFMT_PUT_LITERAL(&b, "{\"type\":\"error\",\"code\":\"");
	chatfmt_name(&b, code);
	CHATFMT_PUT_LITERAL(&b, "\",\"text\":\"");
	chatfmt_json_str(&b, text, strlen(text));
	CHATFMT_PUT_LITERAL(&b, "\"}");
	return chatfmt_end(&b);
}

/*
 * Render the event ev as a telnet line (see the top of the file).
 * CHATFMT_LINE_MAX bytes always suffice.
 */
size_t
chatfmt_line(const struct chat_event *ev, char *buf, size_t len)
{
	struct chatfmt_buf b;

	chatfmt_init(&b, buf, len);
	if (!chatfmt_event_ok(ev))
		b.cb_bad = 1;
	else if (ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME) {
		chatfmt_hms(&b, ev->ce_time_ms);
		if (ev->ce_type == CHAT_MESSAGE)
			chatfmt_putc(&b, '<');
		else
			CHATFMT_PUT_LITERAL(&b, "* ");
		chatfmt_name(&b, ev->ce_nick);
		if (ev->ce_type == CHAT_MESSAGE)
			chatfmt_putc(&b, '>');
		chatfmt_putc(&b, ' ');
		chatfmt_line_str(&b, ev->ce_text, ev->ce_text_len);
	} else if (ev->ce_type == CHAT_NICK) {
		CHATFMT_PUT_LITERAL(&b, "* ");
		chatfmt_name(&b, ev->ce_old);
		CHATFMT_PUT_LITERAL(&b, " is now ");
		chatfmt_name(&b, ev->ce_nick);
	} else {
		CHATFMT_PUT_LITERAL(&b, "* ");
		chatfmt_name(&b, ev->ce_nick);
		if (ev->ce_type == CHAT_JOIN)
			CHATFMT_PUT_LITERAL(&b, " joined ");
		else
			CHATFMT_PUT_LITERAL(&b, " left ");
		chatfmt_name(&b, ev->ce_room);
	}
	CHATFMT_PUT_LITERAL(&b, "\r\n");
	return chatfmt_end(&b);
}

/*
 * Render the greeting of a client that entered room as nick:
 * "* welcome to lobby, alice (type /help for the commands)".
 */
size_t
chatfmt_line_welcome(const char *room, const char *nick, char *buf, size_t len)
{
	struct chatfmt_buf b;

	chatfmt_init(&b, buf, len);
	CHATFMT_PUT_LITERAL(&b, "* welcome to ");
	chatfmt_name(&b, room);
	CHATFMT_PUT_LITERAL(&b, ", ");
	chatfmt_name(&b, nick);
	CHATFMT_PUT_LITERAL(&b, " (type /help for the commands)\r\n");
	return chatfmt_end(&b);
}

/*
 * Render who is in room, the n nicks in their order:
 * "* in lobby: alice, bob". CHATFMT_LINE_WHO_MAX(n) bytes always suffice.
 */
size_t
chatfmt_line_who(const char *room, const char *const nicks[], size_t n,
    char *buf, size_t len)
{
	struct chatfmt_buf b;
	size_t i;

	chatfmt_init(&b, buf, len);
	CHATFMT_PUT_LITERAL(&b, "* in ");
	chatfmt_name(&b, room);
	chatfmt_putc(&b, ':');
	for (i = 0; i < n; i++) {
		if (i > 0)
			chatfmt_putc(&b, ',');
		chatfmt_putc(&b, ' ');
		chatfmt_name(&b, nicks[i]);
	}
	CHATFMT_PUT_LITERAL(&b, "\r\n");
	return chatfmt_end(&b);
}

/* Render that missed events were lost: "! missed 3 events" ("1 event"). */
size_t
chatfmt_line_gap(uint64_t missed, char *buf, size_t len)
{
	struct chatfmt_buf b;

	chatfmt_init(&b, buf, len);
	CHATFMT_PUT_LITERAL(&b, "! missed ");
	chatfmt_putu(&b, missed);
	if (missed == 1)
		CHATFMT_PUT_LITERAL(&b, " event\r\n");
	else
		CHATFMT_PUT_LITERAL(&b, " events\r\n");
	return chatfmt_end(&b);
}

/*
 * Render an error: "! too_long: text", code a valid name as for
 * chatfmt_json_error(), text NUL-terminated, made safe for a terminal.
 */
size_t
chatfmt_line_error(const char *code, const char *text, char *buf, size_t len)
{
	struct chatfmt_buf b;

	chatfmt_init(&b, buf, len);
	CHATFMT_PUT_LITERAL(&b, "! ");
	chatfmt_name(&b, code);
	CHATFMT_PUT_LITERAL(&b, ": ");
	chatfmt_line_str(&b, text, strlen(text));
	CHATFMT_PUT_LITERAL(&b, "\r\n");
	return chatfmt_end(&b);
}
