/*
 * fuzz_chatev: the chat event record (chatev.c) and its renderings
 * (chatfmt.c). The input is read two ways: as a record, and as the text
 * of a message (cut to CHAT_TEXT_MAX bytes), valid UTF-8 or not.
 *
 * It asserts, for any input:
 *
 * - chatev_decode() never reads past the input (an exact-size copy). What
 *   it accepts has valid names, a text inside the input, and encodes
 *   back to the same bytes (chatev_size() and chatev_encode() agree).
 * - chatev_encode() of a message with the input as text succeeds exactly
 *   when the reference decoder here finds it valid UTF-8.
 * - Every rendering of a decoded event, and of a message and an error
 *   with the input as text, fits its CHATFMT_*_MAX bound, and into a
 *   buffer one byte short of it yields 0 and "" without writing past it
 *   (exact-size heap buffers).
 * - JSON: the output is valid UTF-8 with no raw control, DEL, U+2028 or
 *   U+2029; the "text" value, decoded by the JSON string decoder here,
 *   is the text with each byte that starts no valid sequence replaced by
 *   U+FFFD.
 * - Line: the output is valid UTF-8 ending in CRLF with no other control
 *   (C0, DEL, C1), and its text is the reference's: the tab a space, each
 *   other control and each byte that starts no valid sequence a '?'.
 *
 * The reference decoder reads a sequence's length from its lead byte's
 * bit pattern and checks the code point's range (no overlong form,
 * surrogate, or value past U+10FFFF), unlike utf8.c's state machine.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

/*
 * The reference: return the length of the valid UTF-8 sequence that
 * starts p[0..n) and set *cp to its code point, or return 0.
 */
static size_t
ref_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	*cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	if (*cp < min_cp[len] || *cp > 0x10ffff ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* Tell whether p[0..n) is valid UTF-8, by the reference. */
static int
ref_valid(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t i, k;

	for (i = 0; i < n; i += k)
		if ((k = ref_seq(p + i, n - i, &cp)) == 0)
			return 0;
	return 1;
}

/* Append cp to out at *o as UTF-8. */
static void
ref_put_cp(char *out, size_t *o, uint32_t cp)
{
	if (cp < 0x80)
		out[(*o)++] = (char)cp;
	else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | cp >> 6);
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | cp >> 12);
		out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | cp >> 18);
		out[(*o)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/*
 * The text p[0..n) as JSON must carry it (bad = 0xfffd) or as a line
 * shows it (bad = '?', controls replaced) into out; return its length.
 * out has room for 3 * n bytes.
 */
static size_t
ref_text(const unsigned char *p, size_t n, uint32_t bad, int line, char *out)
{
	uint32_t cp;
	size_t i, k, o = 0;

	for (i = 0; i < n; i += k) {
		if ((k = ref_seq(p + i, n - i, &cp)) == 0) {
			k = 1;
			cp = bad;
		} else if (line && cp == '\t')
			cp = ' ';
		else if (line && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)))
			cp = '?';
		ref_put_cp(out, &o, cp);
	}
	return o;
}

/* Return the value of the hex digit c, or -1. */
static int
ref_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the JSON string whose inside starts at s (NUL-terminated JSON)
 * into out; return its length, with *end past the closing quote.
 */
static size_t
ref_json_string(const char *s, char *out, const char **end)
{
	uint32_t cp;
	size_t o = 0;
	int i, h;

	while (*s != '"') {
		FUZZ_ASSERT(*s != '\0');
		if (*s != '\\') {
			out[o++] = *s++;
			continue;
		}
		s++;
		switch (*s++) {
		case '"':
		case '\\':
		case '/':
			out[o++] = s[-1];
			break;
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u':
			cp = 0;
			for (i = 0; i < 4; i++) {
				h = ref_hex(*s++);
				FUZZ_ASSERT(h >= 0);
				cp = cp << 4 | (uint32_t)h;
			}
			FUZZ_ASSERT(cp < 0xd800 || cp > 0xdfff);
			ref_put_cp(out, &o, cp);
			break;
		default:
			FUZZ_ASSERT(0);
		}
	}
	*end = s + 1;
	return o;
}

/*
 * Check the output s[0..n) as the JSON or the line form: valid UTF-8 and
 * no raw control, DEL or C1; JSON also no raw U+2028/9; a line ends in
 * CRLF, its only controls.
 */
static void
check_safe(const char *s, size_t n, int line)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t i, k, body;

	body = n;
	if (line) {
		FUZZ_ASSERT(n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n');
		body = n - 2;
	}
	for (i = 0; i < body; i += k) {
		k = ref_seq(p + i, body - i, &cp);
		FUZZ_ASSERT(k > 0);
		FUZZ_ASSERT(cp >= 0x20 && cp != 0x7f);
		if (line)
			FUZZ_ASSERT(cp < 0x7f || cp > 0x9f);
		else
			FUZZ_ASSERT(cp != 0x2028 && cp != 0x2029);
	}
}

/* What a rendering renders: an event, or a text for an error. */
struct render_arg {
	const struct chat_event *ra_ev;
	int ra_history;
	const char *ra_text; /* NUL-terminated, for the errors */
};

/* A rendering of a struct render_arg into buf[0..len). */
typedef size_t render_fn(const struct render_arg *ra, char *buf, size_t len);

/*
 * Render ra with fn into an exact-size heap buffer of max bytes,
 * asserting it fits, and check it (line: as a line, else as JSON); then
 * into one byte less than it needs, asserting 0 and "". Return the
 * rendering, a heap string of length *len.
 */
static char *
render_checked(render_fn *fn, const struct render_arg *ra, size_t max, int line,
    size_t *len)
{
	char *buf, *small;
	size_t n;

	buf = malloc(max);
	FUZZ_ASSERT(buf != NULL);
	n = fn(ra, buf, max);
	FUZZ_ASSERT(n > 0 && n < max && strlen(buf) == n);
	check_safe(buf, n, line);
	small = malloc(n);
	FUZZ_ASSERT(small != NULL);
	FUZZ_ASSERT(fn(ra, small, n) == 0 && small[0] == '\0');
	free(small);
	*len = n;
	return buf;
}

/* Render ra's event as JSON. */
static size_t
call_json(const struct render_arg *ra, char *buf, size_t len)
{
	return chatfmt_json(ra->ra_ev, ra->ra_history, buf, len);
}

/* Render ra's event as a line. */
static size_t
call_line(const struct render_arg *ra, char *buf, size_t len)
{
	return chatfmt_line(ra->ra_ev, buf, len);
}

/* Render ra's text as a JSON error. */
static size_t
call_json_error(const struct render_arg *ra, char *buf, size_t len)
{
	return chatfmt_json_error("bad_command", ra->ra_text, buf, len);
}

/* Render ra's text as an error line. */
static size_t
call_line_error(const struct render_arg *ra, char *buf, size_t len)
{
	return chatfmt_line_error("bad_command", ra->ra_text, buf, len);
}

/*
 * Assert that the JSON s holds "text":"..." whose decoded value is the
 * reference's for p[0..n).
 */
static void
check_json_text(const char *s, const unsigned char *p, size_t n)
{
	const char *t, *end;
	char *got, *want;
	size_t glen, wlen;

	t = strstr(s, "\"text\":\"");
	FUZZ_ASSERT(t != NULL);
	got = malloc(3 * n + 1);
	want = malloc(3 * n + 1);
	FUZZ_ASSERT(got != NULL && want != NULL);
	glen = ref_json_string(t + 8, got, &end);
	FUZZ_ASSERT(
	    strcmp(end, "}") == 0 || strcmp(end, ",\"history\":true}") == 0);
	wlen = ref_text(p, n, 0xfffd, 0, want);
	FUZZ_ASSERT(glen == wlen && memcmp(got, want, glen) == 0);
	free(got);
	free(want);
}

/*
 * Assert that the line s of length len ends with the reference line text
 * of p[0..n) and CRLF.
 */
static void
check_line_text(const char *s, size_t len, const unsigned char *p, size_t n)
{
	char *want;
	size_t wlen;

	want = malloc(3 * n + 2);
	FUZZ_ASSERT(want != NULL);
	wlen = ref_text(p, n, '?', 1, want);
	memcpy(want + wlen, "\r\n", 2);
	FUZZ_ASSERT(len >= wlen + 2);
	FUZZ_ASSERT(memcmp(s + len - wlen - 2, want, wlen + 2) == 0);
	free(want);
}

/* Render ev both ways, checking each; history as given. */
static void
render_event(const struct chat_event *ev, int history)
{
	struct render_arg ra = {ev, history, NULL};
	char *s;
	size_t n;

	s = render_checked(call_json, &ra, CHATFMT_JSON_MAX, 0, &n);
	if (ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME)
		check_json_text(
		    s, (const unsigned char *)ev->ce_text, ev->ce_text_len);
	free(s);
	s = render_checked(call_line, &ra, CHATFMT_LINE_MAX, 1, &n);
	if (ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME)
		check_line_text(
		    s, n, (const unsigned char *)ev->ce_text, ev->ce_text_len);
	free(s);
}

/* The input as a record: decode, encode back, render. */
static void
fuzz_record(const uint8_t *data, size_t size)
{
	struct chat_event ev;
	unsigned char *again;
	char *copy;
	size_t n;

	copy = fuzz_copy(data, size);
	if (chatev_decode(copy, size, &ev) == 0) {
		FUZZ_ASSERT(chatev_name_valid(ev.ce_room, strlen(ev.ce_room)));
		FUZZ_ASSERT(chatev_name_valid(ev.ce_nick, strlen(ev.ce_nick)));
		FUZZ_ASSERT(ev.ce_type == CHAT_NICK
			? chatev_name_valid(ev.ce_old, strlen(ev.ce_old))
			: ev.ce_old[0] == '\0');
		if (ev.ce_text != NULL)
			FUZZ_ASSERT(fuzz_inside(
			    ev.ce_text, ev.ce_text_len, copy, size));
		FUZZ_ASSERT(chatev_size(&ev) == size);
		again = malloc(size);
		FUZZ_ASSERT(again != NULL);
		n = chatev_encode(&ev, again, size);
		FUZZ_ASSERT(n == size && memcmp(again, copy, size) == 0);
		free(again);
		render_event(&ev, (int)(fuzz_hash(data, size) & 1));
	}
	free(copy);
}

/* The input as the text of a message and of an error. */
static void
fuzz_text(const uint8_t *data, size_t size)
{
	unsigned char rec[CHATEV_MAX];
	struct chat_event ev;
	struct render_arg ra = {&ev, 0, NULL};
	char *copy, *s;
	size_t n, len;

	if (size > CHAT_TEXT_MAX)
		size = CHAT_TEXT_MAX;
	copy = fuzz_copy(data, size);
	memset(&ev, 0, sizeof(ev));
	ev.ce_type = size % 2 == 0 ? CHAT_MESSAGE : CHAT_ME;
	ev.ce_seq = fuzz_hash(data, size);
	ev.ce_time_ms = ev.ce_seq >> 1;
	memcpy(ev.ce_room, "lobby", 6);
	memcpy(ev.ce_nick, "alice", 6);
	ev.ce_text = copy;
	ev.ce_text_len = size;
	n = chatev_encode(&ev, rec, sizeof(rec));
	FUZZ_ASSERT((n != 0) == ref_valid(data, size));
	render_event(&ev, (int)(size & 2));
	free(copy);

	/* An error's text ends at a NUL. */
	copy = malloc(size + 1);
	FUZZ_ASSERT(copy != NULL);
	if (size > 0)
		memcpy(copy, data, size);
	copy[size] = '\0';
	len = strlen(copy);
	ra.ra_text = copy;
	s = render_checked(call_json_error, &ra, CHATFMT_JSON_MAX, 0, &n);
	check_json_text(s, (const unsigned char *)copy, len);
	free(s);
	s = render_checked(call_line_error, &ra, CHATFMT_LINE_MAX, 1, &n);
	check_line_text(s, n, (const unsigned char *)copy, len);
	free(s);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_record(data, size);
	fuzz_text(data, size);
	return 0;
}
