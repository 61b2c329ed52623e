/*
 * Access-log lines: a struct logrec formatted as combined, common, JSON or
 * vhost_combined (Apache's: "HOST:PORT " then the combined line).
 *
 * A line is built in two passes over the same code: one that only
 * measures, one that writes. When the whole line does not fit the caller's
 * buffer, the fixed text (punctuation, time, numbers) is kept and the
 * string fields share what room is left, each cut at an escape or UTF-8
 * sequence boundary, so a short line is still one well-formed line.
 *
 * Month names come from our own table, never from the locale.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pfhttpd.h"

/*
 * Longer than the longest line any record can make, every byte of every
 * field escaped (18710 bytes in JSON, TLS, host, port and user fields
 * included): with a buffer this large, as the logger's LOGFMT_LINE_MAX,
 * the measuring pass is skipped.
 */
#define LOGFMT_WORST_LINE 19000

_Static_assert(LOGFMT_WORST_LINE < LOGFMT_LINE_MAX, "one pass a logger line");

#define LOGFMT_UNIT_MAX 8  /* longest output of one input unit */
#define LOGFMT_TIME_MAX 32 /* time text and NUL */
#define LOGFMT_NUM_MAX	24 /* a 64-bit integer and NUL */

/* 9999-12-31T23:59:59Z: later times are shown as this one. */
#define LOGFMT_LAST_SEC 253402300799ULL

/* The string fields of a line. */
enum logfmt_field_id {
	LOGFMT_ADDR,
	LOGFMT_METHOD,
	LOGFMT_TARGET,
	LOGFMT_PROTO,
	LOGFMT_REFERER,
	LOGFMT_AGENT,
	LOGFMT_TLS_VERSION,
	LOGFMT_TLS_CIPHER,
	LOGFMT_TLS_SUBJECT,
	LOGFMT_HOST,
	LOGFMT_PORT,
	LOGFMT_USER,
	LOGFMT_NFIELDS
};

/* How the bytes of a field are escaped. */
enum logfmt_esc {
	LOGFMT_ESC_CLF,	 /* combined and common, in quotes: \xHH */
	LOGFMT_ESC_ADDR, /* unquoted (address, host, port, user): \xHH,
			  * space too */
	LOGFMT_ESC_JSON, /* a JSON string: \" \\ \n \r \t \u00XX, UTF-8 */
};

/* An output buffer; with l_buf NULL only l_pos is counted. */
struct logfmt_buf {
	char *l_buf;
	size_t l_len; /* room in l_buf, the NUL excluded */
	size_t l_pos; /* bytes the line has so far, even past l_len */
};

/* One line being built: its record, its fields and their room. */
struct logfmt_line {
	const struct logrec *ll_lr;
	enum log_format ll_fmt;
	char ll_time[LOGFMT_TIME_MAX];	    /* the time, formatted */
	size_t ll_time_len;		    /* its length */
	const char *ll_str[LOGFMT_NFIELDS]; /* NULL if not on this line */
	size_t ll_max[LOGFMT_NFIELDS];	    /* LOGREC_*_MAX of the field */
	size_t ll_min[LOGFMT_NFIELDS];	    /* room it takes when empty */
	size_t ll_cap[LOGFMT_NFIELDS];	    /* room it may take */
	size_t ll_got[LOGFMT_NFIELDS];	    /* room it took, last pass */
	struct logfmt_buf ll_out;
};

static const char *const logfmt_month[12] = {"Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Append the n bytes at p; past the room, only count them. */
static void
logfmt_put(struct logfmt_buf *lb, const char *p, size_t n)
{
	if (lb->l_buf != NULL && lb->l_pos <= lb->l_len &&
	    n <= lb->l_len - lb->l_pos)
		memcpy(lb->l_buf + lb->l_pos, p, n);
	lb->l_pos += n;
}

/* Append the string literal s (its length is known when compiling). */
#define LOGFMT_PUT_LITERAL(lb, s) logfmt_put((lb), (s), sizeof(s) - 1)

/* Append v in decimal (by hand: snprintf was a sixth of the logger). */
static void
logfmt_putu(struct logfmt_buf *lb, unsigned long long v)
{
	char num[LOGFMT_NUM_MAX];
	size_t i = sizeof(num);

	do {
		num[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	logfmt_put(lb, num + i, sizeof(num) - i);
}

/* Append v in decimal, with a sign if negative. */
static void
logfmt_puti(struct logfmt_buf *lb, int v)
{
	if (v < 0) {
		logfmt_put(lb, "-", 1);
		logfmt_putu(lb, -(unsigned long long)v);
	} else
		logfmt_putu(lb, (unsigned long long)v);
}

/*
 * Return the length of the valid UTF-8 sequence at s[0..n), or 0 if s
 * does not start with one: no overlong forms, no surrogates, nothing past
 * U+10FFFF (RFC 3629). *cp is set to the code point.
 */
static size_t
logfmt_utf8(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned char lo, hi;
	size_t len, i;

	lo = 0x80;
	hi = 0xbf;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		*cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		*cp = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		*cp = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return len;
}

/*
 * The bytes each escaping copies as they are, by value: printable ASCII
 * but for '"' and '\\' (LOGFMT_PLAIN_QUOTED, the quoted fields and JSON),
 * and of those all but the space (LOGFMT_PLAIN_ADDR, the address). Filled
 * by logfmt_plain_init().
 */
#define LOGFMT_PLAIN_QUOTED 1
#define LOGFMT_PLAIN_ADDR   2
static unsigned char logfmt_plain[256];

/* Fill logfmt_plain[] once. */
static void
logfmt_plain_init(void)
{
	static int done;
	int b;

	if (done)
		return;
	for (b = 0x20; b < 0x7f; b++)
		if (b != '"' && b != '\\')
			logfmt_plain[b] = LOGFMT_PLAIN_QUOTED |
			    (b != ' ' ? LOGFMT_PLAIN_ADDR : 0);
	done = 1;
}

/*
 * Return how many bytes from the start of s[0..n) the escaping esc copies
 * as they are.
 */
static size_t
logfmt_plain_run(const unsigned char *s, size_t n, enum logfmt_esc esc)
{
	unsigned char mask;
	size_t i;

	mask = esc == LOGFMT_ESC_ADDR ? LOGFMT_PLAIN_ADDR : LOGFMT_PLAIN_QUOTED;
	for (i = 0; i < n && (logfmt_plain[s[i]] & mask); i++)
		;
	return i;
}

/*
 * Escape the unit that starts s[0..n) into out[0..LOGFMT_UNIT_MAX) as
 * esc asks; return the output length and set *used to the input bytes it
 * stands for. A unit is one byte, or one UTF-8 sequence for JSON.
 */
static size_t
logfmt_unit(enum logfmt_esc esc, const unsigned char *s, size_t n, char *out,
    size_t *used)
{
	static const char hex_upper[] = "0123456789ABCDEF";
	static const char hex_lower[] = "0123456789abcdef";
	unsigned long cp;
	size_t len;

	*used = 1;
	if (esc != LOGFMT_ESC_JSON) {
		if (logfmt_plain_run(s, 1, esc) == 0) {
			out[0] = '\\';
			out[1] = 'x';
			out[2] = hex_upper[s[0] >> 4];
			out[3] = hex_upper[s[0] & 0x0f];
			return 4;
		}
		out[0] = (char)s[0];
		return 1;
	}

	if ((len = logfmt_utf8(s, n, &cp)) == 0) {
		memcpy(out, "\\ufffd", 6);
		return 6;
	}
	*used = len;
	switch (cp) {
	case '"':
		memcpy(out, "\\\"", 2);
		return 2;
	case '\\':
		memcpy(out, "\\\\", 2);
		return 2;
	case '\n':
		memcpy(out, "\\n", 2);
		return 2;
	case '\r':
		memcpy(out, "\\r", 2);
		return 2;
	case '\t':
		memcpy(out, "\\t", 2);
		return 2;
	}
	/* C0, DEL and C1 controls; C1 is valid UTF-8 but no text. */
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
		memcpy(out, "\\u00", 4);
		out[4] = hex_lower[cp >> 4];
		out[5] = hex_lower[cp & 0x0f];
		return 6;
	}
	memcpy(out, s, len);
	return len;
}

/*
 * Append the string s, read up to its NUL or max bytes, escaped as esc
 * asks, in at most cap bytes: the units that do not fit are left out,
 * never cut. If nothing was written and dash is set, append "-" instead.
 * Runs of bytes that need no escaping are copied whole.
 */
static void
logfmt_field(struct logfmt_buf *lb, const char *s, size_t max, size_t cap,
    enum logfmt_esc esc, int dash)
{
	const unsigned char *p;
	char out[LOGFMT_UNIT_MAX];
	size_t n, i, used, olen, wrote, run;

	p = (const unsigned char *)s;
	n = strnlen(s, max);
	wrote = 0;
	for (i = 0; i < n; i += used) {
		if ((run = logfmt_plain_run(p + i, n - i, esc)) > 0) {
			if (run > cap - wrote)
				run = cap - wrote;
			logfmt_put(lb, s + i, run);
			wrote += run;
			if (i + run < n && wrote == cap)
				break;
			used = run;
			continue;
		}
		olen = logfmt_unit(esc, p + i, n - i, out, &used);
		if (olen > cap - wrote)
			break;
		logfmt_put(lb, out, olen);
		wrote += olen;
	}
	if (wrote == 0 && dash)
		logfmt_put(lb, "-", 1);
}

/*
 * gmtime_r() with a one-entry cache: the logger formats many records of
 * the same second. Return 1, or 0 if the time cannot be broken down.
 */
static int
logfmt_gmtime(time_t sec, struct tm *tm)
{
	static time_t cached_sec = -1;
	static struct tm cached_tm;

	if (sec != cached_sec) {
		if (gmtime_r(&sec, &cached_tm) == NULL) {
			cached_sec = -1;
			return 0;
		}
		cached_sec = sec;
	}
	*tm = cached_tm;
	return 1;
}

/*
 * Format the time t (unix microseconds, UTC) into buf, NUL-terminated:
 * the CLF form, "21/Nov/2026:10:43:10 +0000", or with iso set the ISO 8601
 * form, "2026-11-21T10:43:10.123456Z". Times after year 9999 show as its
 * last microsecond.
 */
static void
logfmt_time(uint64_t t, int iso, char buf[LOGFMT_TIME_MAX])
{
	struct tm tm;
	time_t sec;
	unsigned long usec;

	if (t / 1000000 > LOGFMT_LAST_SEC) {
		sec = (time_t)LOGFMT_LAST_SEC;
		usec = 999999;
	} else {
		sec = (time_t)(t / 1000000);
		usec = (unsigned long)(t % 1000000);
	}
	if (!logfmt_gmtime(sec, &tm))
		memset(&tm, 0, sizeof(tm)); /* cannot happen in range */
	if (tm.tm_mon < 0 || tm.tm_mon > 11)
		tm.tm_mon = 0;
	if (iso) {
		buf[httpdate_rfc3339(&tm, usec, 6, buf)] = '\0';
	} else {
		httpdate_digits(buf, (unsigned long)tm.tm_mday, 2);
		buf[2] = '/';
		memcpy(buf + 3, logfmt_month[tm.tm_mon], 3);
		buf[6] = '/';
		httpdate_digits(buf + 7, (unsigned long)tm.tm_year + 1900, 4);
		buf[11] = ':';
		httpdate_digits(buf + 12, (unsigned long)tm.tm_hour, 2);
		buf[14] = ':';
		httpdate_digits(buf + 15, (unsigned long)tm.tm_min, 2);
		buf[17] = ':';
		httpdate_digits(buf + 18, (unsigned long)tm.tm_sec, 2);
		memcpy(buf + 20, " +0000", 7);
	}
}

/*
 * Set up the TLS fields of ll for lr: JSON alone shows them, and only for
 * a TLS connection (a version), the subject only when there is one. The
 * keys are fixed text, there or not whatever room the line has.
 */
static void
logfmt_line_tls(struct logfmt_line *ll, const struct logrec *lr)
{
	ll->ll_max[LOGFMT_TLS_VERSION] = LOGREC_TLS_VERSION_MAX;
	ll->ll_max[LOGFMT_TLS_CIPHER] = LOGREC_TLS_CIPHER_MAX;
	ll->ll_max[LOGFMT_TLS_SUBJECT] = LOGREC_TLS_SUBJECT_MAX;
	if (ll->ll_fmt != LOG_FORMAT_JSON || lr->lr_tls_version[0] == '\0')
		return;
	ll->ll_str[LOGFMT_TLS_VERSION] = lr->lr_tls_version;
	ll->ll_str[LOGFMT_TLS_CIPHER] = lr->lr_tls_cipher;
	if (lr->lr_tls_subject[0] != '\0')
		ll->ll_str[LOGFMT_TLS_SUBJECT] = lr->lr_tls_subject;
}

/*
 * Set up the site fields of ll for lr: the user on every line, the host
 * and port in JSON and vhost_combined.
 */
static void
logfmt_line_site(struct logfmt_line *ll, const struct logrec *lr)
{
	ll->ll_max[LOGFMT_HOST] = LOGREC_HOST_MAX;
	ll->ll_max[LOGFMT_PORT] = LOGREC_PORT_MAX;
	ll->ll_max[LOGFMT_USER] = LOGREC_USER_MAX;
	ll->ll_str[LOGFMT_USER] = lr->lr_user;
	if (ll->ll_fmt != LOG_FORMAT_JSON &&
	    ll->ll_fmt != LOG_FORMAT_VHOST_COMBINED)
		return;
	ll->ll_str[LOGFMT_HOST] = lr->lr_host;
	ll->ll_str[LOGFMT_PORT] = lr->lr_port;
}

/*
 * Set up ll for lr in fmt: the fields fmt shows and the room each takes
 * when empty, one byte for the "-" of the CLF formats, none for the "" of
 * JSON. The CLF formats show the request as "-" when no request line was
 * read, and leave out an empty protocol (HTTP/0.9 style).
 */
static void
logfmt_line_init(
    struct logfmt_line *ll, const struct logrec *lr, enum log_format fmt)
{
	int i, json, request;

	logfmt_plain_init();
	memset(ll, 0, sizeof(*ll));
	ll->ll_lr = lr;
	ll->ll_fmt = fmt;
	json = fmt == LOG_FORMAT_JSON;
	request = lr->lr_method[0] != '\0';
	logfmt_time(lr->lr_time_usec, json, ll->ll_time);
	ll->ll_time_len = strlen(ll->ll_time);

	ll->ll_str[LOGFMT_ADDR] = lr->lr_addr;
	ll->ll_max[LOGFMT_ADDR] = LOGREC_ADDR_MAX;
	ll->ll_str[LOGFMT_METHOD] = lr->lr_method;
	ll->ll_max[LOGFMT_METHOD] = LOGREC_METHOD_MAX;
	if (json || request)
		ll->ll_str[LOGFMT_TARGET] = lr->lr_target;
	ll->ll_max[LOGFMT_TARGET] = LOGREC_TARGET_MAX;
	if (json || (request && lr->lr_protocol[0] != '\0'))
		ll->ll_str[LOGFMT_PROTO] = lr->lr_protocol;
	ll->ll_max[LOGFMT_PROTO] = LOGREC_PROTO_MAX;
	if (fmt != LOG_FORMAT_COMMON) {
		ll->ll_str[LOGFMT_REFERER] = lr->lr_referer;
		ll->ll_str[LOGFMT_AGENT] = lr->lr_agent;
	}
	ll->ll_max[LOGFMT_REFERER] = LOGREC_REFERER_MAX;
	ll->ll_max[LOGFMT_AGENT] = LOGREC_AGENT_MAX;
	logfmt_line_tls(ll, lr);
	logfmt_line_site(ll, lr);

	for (i = 0; i < LOGFMT_NFIELDS; i++) {
		ll->ll_min[i] = ll->ll_str[i] != NULL && !json ? 1 : 0;
		ll->ll_cap[i] = SIZE_MAX;
	}
}

/* Append field f of ll in its room, if the line shows it. */
static void
logfmt_str(struct logfmt_line *ll, enum logfmt_field_id f)
{
	enum logfmt_esc esc;
	size_t start;

	if (ll->ll_str[f] == NULL)
		return;
	if (ll->ll_fmt == LOG_FORMAT_JSON)
		esc = LOGFMT_ESC_JSON;
	else if (f == LOGFMT_ADDR || f == LOGFMT_HOST || f == LOGFMT_PORT ||
	    f == LOGFMT_USER)
		esc = LOGFMT_ESC_ADDR;
	else
		esc = LOGFMT_ESC_CLF;
	start = ll->ll_out.l_pos;
	logfmt_field(&ll->ll_out, ll->ll_str[f], ll->ll_max[f], ll->ll_cap[f],
	    esc, ll->ll_fmt != LOG_FORMAT_JSON);
	ll->ll_got[f] = ll->ll_out.l_pos - start;
}

/*
 * Write a combined or common line: ADDR - USER [TIME] "REQUEST" STATUS
 * BYTES then, for combined, "REFERER" "AGENT"; a vhost_combined line is
 * HOST:PORT and a space, then the combined line.
 */
static void
logfmt_render_clf(struct logfmt_line *ll)
{
	struct logfmt_buf *lb;

	lb = &ll->ll_out;
	if (ll->ll_fmt == LOG_FORMAT_VHOST_COMBINED) {
		logfmt_str(ll, LOGFMT_HOST);
		LOGFMT_PUT_LITERAL(lb, ":");
		logfmt_str(ll, LOGFMT_PORT);
		LOGFMT_PUT_LITERAL(lb, " ");
	}
	logfmt_str(ll, LOGFMT_ADDR);
	LOGFMT_PUT_LITERAL(lb, " - ");
	logfmt_str(ll, LOGFMT_USER);
	LOGFMT_PUT_LITERAL(lb, " [");
	logfmt_put(lb, ll->ll_time, ll->ll_time_len);
	LOGFMT_PUT_LITERAL(lb, "] \"");
	logfmt_str(ll, LOGFMT_METHOD);
	if (ll->ll_str[LOGFMT_TARGET] != NULL) {
		LOGFMT_PUT_LITERAL(lb, " ");
		logfmt_str(ll, LOGFMT_TARGET);
	}
	if (ll->ll_str[LOGFMT_PROTO] != NULL) {
		LOGFMT_PUT_LITERAL(lb, " ");
		logfmt_str(ll, LOGFMT_PROTO);
	}
	LOGFMT_PUT_LITERAL(lb, "\" ");
	logfmt_puti(lb, ll->ll_lr->lr_status);
	LOGFMT_PUT_LITERAL(lb, " ");
	logfmt_putu(lb, ll->ll_lr->lr_bytes);
	if (ll->ll_fmt != LOG_FORMAT_COMMON) {
		LOGFMT_PUT_LITERAL(lb, " \"");
		logfmt_str(ll, LOGFMT_REFERER);
		LOGFMT_PUT_LITERAL(lb, "\" \"");
		logfmt_str(ll, LOGFMT_AGENT);
		LOGFMT_PUT_LITERAL(lb, "\"");
	}
	LOGFMT_PUT_LITERAL(lb, "\n");
}

/*
 * Write a JSON line: one object, keys in a fixed order; the TLS keys last,
 * on the lines that show them. The port is a string, as it is kept ("" in
 * a record that has none), so that any record makes valid JSON.
 */
static void
logfmt_render_json(struct logfmt_line *ll)
{
	struct logfmt_buf *lb;

	lb = &ll->ll_out;
	LOGFMT_PUT_LITERAL(lb, "{\"time\":\"");
	logfmt_put(lb, ll->ll_time, ll->ll_time_len);
	LOGFMT_PUT_LITERAL(lb, "\",\"remote_addr\":\"");
	logfmt_str(ll, LOGFMT_ADDR);
	LOGFMT_PUT_LITERAL(lb, "\",\"method\":\"");
	logfmt_str(ll, LOGFMT_METHOD);
	LOGFMT_PUT_LITERAL(lb, "\",\"target\":\"");
	logfmt_str(ll, LOGFMT_TARGET);
	LOGFMT_PUT_LITERAL(lb, "\",\"protocol\":\"");
	logfmt_str(ll, LOGFMT_PROTO);
	LOGFMT_PUT_LITERAL(lb, "\",\"status\":");
	logfmt_puti(lb, ll->ll_lr->lr_status);
	LOGFMT_PUT_LITERAL(lb, ",\"bytes\":");
	logfmt_putu(lb, ll->ll_lr->lr_bytes);
	LOGFMT_PUT_LITERAL(lb, ",\"duration_us\":");
	logfmt_putu(lb, ll->ll_lr->lr_duration_usec);
	LOGFMT_PUT_LITERAL(lb, ",\"referer\":\"");
	logfmt_str(ll, LOGFMT_REFERER);
	LOGFMT_PUT_LITERAL(lb, "\",\"user_agent\":\"");
	logfmt_str(ll, LOGFMT_AGENT);
	LOGFMT_PUT_LITERAL(lb, "\",\"host\":\"");
	logfmt_str(ll, LOGFMT_HOST);
	LOGFMT_PUT_LITERAL(lb, "\",\"port\":\"");
	logfmt_str(ll, LOGFMT_PORT);
	LOGFMT_PUT_LITERAL(lb, "\",\"user\":\"");
	logfmt_str(ll, LOGFMT_USER);
	LOGFMT_PUT_LITERAL(lb, "\"");
	if (ll->ll_str[LOGFMT_TLS_VERSION] != NULL) {
		LOGFMT_PUT_LITERAL(lb, ",\"tls_protocol\":\"");
		logfmt_str(ll, LOGFMT_TLS_VERSION);
		LOGFMT_PUT_LITERAL(lb, "\",\"tls_cipher\":\"");
		logfmt_str(ll, LOGFMT_TLS_CIPHER);
		LOGFMT_PUT_LITERAL(lb, "\"");
	}
	if (ll->ll_str[LOGFMT_TLS_SUBJECT] != NULL) {
		LOGFMT_PUT_LITERAL(lb, ",\"tls_client_subject\":\"");
		logfmt_str(ll, LOGFMT_TLS_SUBJECT);
		LOGFMT_PUT_LITERAL(lb, "\"");
	}
	LOGFMT_PUT_LITERAL(lb, "}\n");
}

/*
 * Build the line of ll into buf[0..len), NUL excluded, or with buf NULL
 * only measure it. Return its length.
 */
static size_t
logfmt_pass(struct logfmt_line *ll, char *buf, size_t len)
{
	ll->ll_out.l_buf = buf;
	ll->ll_out.l_len = len;
	ll->ll_out.l_pos = 0;
	if (ll->ll_fmt == LOG_FORMAT_JSON)
		logfmt_render_json(ll);
	else
		logfmt_render_clf(ll);
	return ll->ll_out.l_pos;
}

/*
 * Share budget bytes among the fields of ll beyond their minimum room, so
 * that field i gets at most need[i] and no field that wants more gets less
 * than any other (max-min fairness): short fields stay whole, long ones
 * are cut to the same length.
 */
static void
logfmt_share(struct logfmt_line *ll, const size_t *need, size_t budget)
{
	size_t want[LOGFMT_NFIELDS], share, give;
	int i, left;

	for (i = 0; i < LOGFMT_NFIELDS; i++) {
		ll->ll_cap[i] = ll->ll_min[i];
		want[i] = need[i] > ll->ll_min[i] ? need[i] - ll->ll_min[i] : 0;
	}
	for (;;) {
		left = 0;
		for (i = 0; i < LOGFMT_NFIELDS; i++)
			if (want[i] > 0)
				left++;
		if (left == 0 || budget == 0)
			break;
		share = budget / (size_t)left;
		for (i = 0; i < LOGFMT_NFIELDS; i++) {
			if (want[i] == 0)
				continue;
			give = share == 0 ? 1 : share;
			if (give > want[i])
				give = want[i];
			if (give > budget)
				give = budget;
			ll->ll_cap[i] += give;
			want[i] -= give;
			budget -= give;
		}
	}
}

/*
 * Format the access record lr as one line in fmt into buf[0..len): the
 * line ends in a newline and is NUL-terminated. Return its length, the
 * NUL excluded. When the whole line does not fit, the string fields are
 * cut (at escape and UTF-8 boundaries) so that the line keeps its form;
 * if len cannot hold even the fixed text, or fmt is unknown, buf gets ""
 * and 0 is returned (with its NUL, the fixed text and a "-" for each field
 * take at most 85, 77, 297 and 89 bytes of len in combined, common, JSON
 * and vhost_combined). With len >= 8192 fields at their LOGREC_*_MAX
 * bounds fit whole unless escaping grows them past it; with LOGFMT_LINE_MAX
 * every record fits whole (the worst, each byte escaped to 6 in JSON, is
 * 18710).
 */
size_t
logfmt_access(
    const struct logrec *lr, enum log_format fmt, char *buf, size_t len)
{
	struct logfmt_line ll;
	size_t need[LOGFMT_NFIELDS], n, base;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (fmt != LOG_FORMAT_COMBINED && fmt != LOG_FORMAT_COMMON &&
	    fmt != LOG_FORMAT_JSON && fmt != LOG_FORMAT_VHOST_COMBINED)
		return 0;

	logfmt_line_init(&ll, lr, fmt);
	/* Room for any line of any record: one pass writes it. */
	n = len > LOGFMT_WORST_LINE ? 0 : logfmt_pass(&ll, NULL, 0);
	if (n >= len) {
		memcpy(need, ll.ll_got, sizeof(need));
		memcpy(ll.ll_cap, ll.ll_min, sizeof(ll.ll_cap));
		base = logfmt_pass(&ll, NULL, 0);
		if (base >= len)
			return 0;
		logfmt_share(&ll, need, len - 1 - base);
	}
	n = logfmt_pass(&ll, buf, len - 1);
	if (n >= len) {
		buf[0] = '\0'; /* cannot happen: the room was measured */
		return 0;
	}
	buf[n] = '\0';
	return n;
}
