/*
 * The chat transcript: every event the hub sequences, one a line, as
 * chatfmt_json() renders it (without history) followed by "\n". The hub
 * appends to it, and when it starts reads it back to restore each room's
 * history and last sequence number.
 *
 * A line is read back strictly, as chatfmt writes it, so that what is
 * restored is what was written or nothing:
 *
 *	{"type":T,"room":R,"seq":S,"time":"2026-12-05T21:07:04.123Z","nick":N
 *	then ,"old":O		for nick, and only for nick
 *	then ,"text":X		for message and me, and only for them
 *	then ,"history":true	optional (tolerated, ignored)
 *	then }
 *
 * the keys in that order, each once, nothing else, no white space. T is
 * one of message, me, join, leave, nick; the names are valid names
 * (chatev_name_valid()) written as they are (a name has nothing to
 * escape, so an escape in one is refused); S is from 1, in decimal
 * without a leading zero, at most 2^64 - 1; the time is RFC 3339 UTC with
 * milliseconds exactly as chatfmt writes it, 1970 to 9999. X is a JSON
 * string: every JSON escape is decoded (\uXXXX too, a surrogate pair as
 * its one character, a lone surrogate refused), a raw control refused,
 * and the result must be valid UTF-8 of at most CHAT_TEXT_MAX bytes. One
 * trailing "\r" is tolerated.
 *
 * Crashes: the hub is the transcript's only writer, and each line goes
 * out in one write(2) on an O_APPEND descriptor, so a crash leaves at
 * worst a torn last line. transcript_restore() skips it, as any line that
 * does not parse, and counts it; transcript_open() ends it with a "\n" so
 * that the next event starts a line of its own. transcript_append()
 * writes only events that read back as they are, and takes back a short
 * write.
 *
 * What start-up costs for a large transcript: transcript_restore() reads
 * it in blocks of at least TRANSCRIPT_BLOCK bytes into one buffer of a
 * longest line and a block (176 KiB with the text, one allocation),
 * whatever the file's size, and parses each line once. On a generated
 * transcript of 1,000,000 events (the five types in turn; texts of 0 to
 * 200 bytes with quotes, tabs, newlines, backslashes and 2- to 4-byte
 * UTF-8; 145 MB), read from the page cache, it ran at 650 to 680 MB/s,
 * 4.5 to 4.7 million lines/s (gcc -O2, one core of the 2-core AMD EPYC
 * development machine, a callback that only counted): about 0.2 s per
 * million events, before what the hub does with them. A cold cache adds
 * the disk's read time.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"

/* The longest line that can parse: chatfmt's longest rendering and "\r". */
#define TRANSCRIPT_LINE_MAX ((CHATFMT_JSON_MAX - 1) + 1)
#define TRANSCRIPT_BLOCK    (64 * 1024) /* bytes read at a time, at least */
#define TRANSCRIPT_TIME_LEN HTTPDATE_RFC3339_LEN(3)
/* 9999-12-31T23:59:59.999Z: chatfmt writes any later time as this one. */
#define TRANSCRIPT_TIME_MAX 253402300799999ULL

/* A transcript being read back: tr_fn gets its events, one by one. */
struct transcript_reader {
	void (*tr_fn)(void *, const struct chat_event *);
	void *tr_arg;		     /* tr_fn's first argument */
	long tr_events;		     /* events given to tr_fn */
	unsigned long tr_bad;	     /* lines that did not parse */
	int tr_skip;		     /* the line being read is too long */
	size_t tr_len;		     /* bytes in tr_buf: one line's start */
	char tr_text[CHAT_TEXT_MAX]; /* the text of the event given */
	char tr_buf[TRANSCRIPT_LINE_MAX + TRANSCRIPT_BLOCK];
};

/* Consume the n bytes at s if the input goes on with them; 0 or -1. */
static int
transcript_lit(struct wire_in *in, const char *s, size_t n)
{
	const void *p;

	if ((p = wire_take(in, n)) == NULL || memcmp(p, s, n) != 0)
		return -1;
	return 0;
}

/* Consume the string literal s (its length is known when compiling). */
#define TRANSCRIPT_LIT(in, s) transcript_lit((in), (s), sizeof(s) - 1)

/*
 * Consume the input up to the next '"' and the quote; point *s at those
 * bytes, *n of them. 0, or -1 if there is no quote.
 */
static int
transcript_token(struct wire_in *in, const char **s, size_t *n)
{
	const char *p, *q;

	p = (const char *)in->wi_buf + in->wi_pos;
	if ((q = memchr(p, '"', in->wi_len - in->wi_pos)) == NULL)
		return -1;
	*s = p;
	*n = (size_t)(q - p);
	in->wi_pos += *n + 1;
	return 0;
}

/* Read an event type and its closing quote into *type; 0 or -1. */
static int
transcript_type(struct wire_in *in, enum chat_type *type)
{
	const char *s;
	size_t n;

	if (transcript_token(in, &s, &n) == -1)
		return -1;
	return chatev_type_parse(s, n, type);
}

/*
 * Read a name and its closing quote into name (CHAT_NAME_MAX + 1 bytes),
 * NUL-terminated; 0, or -1 if it is not a valid name.
 */
static int
transcript_name(struct wire_in *in, char *name)
{
	const char *s;
	size_t n;

	if (transcript_token(in, &s, &n) == -1 || !chatev_name_valid(s, n))
		return -1;
	memcpy(name, s, n);
	name[n] = '\0';
	return 0;
}

/*
 * Read a sequence number into *seq: from 1, no leading zero, at most
 * UINT64_MAX; 0 or -1.
 */
static int
transcript_seq(struct wire_in *in, uint64_t *seq)
{
	const unsigned char *p = in->wi_buf;
	uint64_t v = 0;
	unsigned d;

	if (in->wi_pos == in->wi_len || p[in->wi_pos] < '1' ||
	    p[in->wi_pos] > '9')
		return -1;
	while (in->wi_pos < in->wi_len && p[in->wi_pos] >= '0' &&
	    p[in->wi_pos] <= '9') {
		d = (unsigned)(p[in->wi_pos++] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*seq = v;
	return 0;
}

/* Read exactly n decimal digits at s into *v; 0 or -1. */
static int
transcript_digits(const char *s, int n, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

/*
 * Return the days from 1970-01-01 to the valid date y-m-d, y >= 1970
 * (Howard Hinnant's days_from_civil: years that start in March, so that
 * a leap day ends its year, in eras of 400 years).
 */
static uint64_t
transcript_days(unsigned y, unsigned m, unsigned d)
{
	unsigned era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (uint64_t)era * 146097 + doe - 719468; /* 0000-03-01 */
}

/* Return the days of month m (1-12) of year y. */
static unsigned
transcript_month_days(unsigned y, unsigned m)
{
	static const unsigned char mdays[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mdays[m - 1] + (m == 2 && leap);
}

/*
 * Parse s[0..n), "2026-12-05T21:07:04.123Z" (a real date and time, 1970
 * to 9999, no leap second), into *ms, unix milliseconds; 0 or -1.
 */
static int
transcript_time(const char *s, size_t n, uint64_t *ms)
{
	unsigned y, mo, d, h, mi, sec, milli;

	if (n != TRANSCRIPT_TIME_LEN || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' ||
	    s[23] != 'Z' || transcript_digits(s, 4, &y) == -1 ||
	    transcript_digits(s + 5, 2, &mo) == -1 ||
	    transcript_digits(s + 8, 2, &d) == -1 ||
	    transcript_digits(s + 11, 2, &h) == -1 ||
	    transcript_digits(s + 14, 2, &mi) == -1 ||
	    transcript_digits(s + 17, 2, &sec) == -1 ||
	    transcript_digits(s + 20, 3, &milli) == -1)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > transcript_month_days(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	*ms = transcript_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*ms = *ms * 1000 + milli;
	return 0;
}

/* Read a quoted time into *ms (see transcript_time()); 0 or -1. */
static int
transcript_time_field(struct wire_in *in, uint64_t *ms)
{
	const char *s;
	size_t n;

	if (transcript_token(in, &s, &n) == -1)
		return -1;
	return transcript_time(s, n, ms);
}

/* Read the four hex digits of a \u escape into *v; 0 or -1. */
static int
transcript_hex4(struct wire_in *in, uint32_t *v)
{
	const unsigned char *p;
	unsigned c;
	int i;

	if ((p = wire_take(in, 4)) == NULL)
		return -1;
	*v = 0;
	for (i = 0; i < 4; i++) {
		c = p[i] | 0x20; /* lower case, for the letters */
		if (p[i] >= '0' && p[i] <= '9')
			*v = *v << 4 | (uint32_t)(p[i] - '0');
		else if (c >= 'a' && c <= 'f')
			*v = *v << 4 | (c - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * Read the code point of a \u escape, its "\u" consumed, into *cp: a
 * surrogate pair as one; 0, or -1 (a bad digit, a lone surrogate).
 */
static int
transcript_unicode(struct wire_in *in, uint32_t *cp)
{
	uint32_t lo;

	if (transcript_hex4(in, cp) == -1 || (*cp >= 0xdc00 && *cp <= 0xdfff))
		return -1;
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 0;
	if (TRANSCRIPT_LIT(in, "\\u") == -1 || transcript_hex4(in, &lo) == -1 ||
	    lo < 0xdc00 || lo > 0xdfff)
		return -1;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

/* Append the code point cp (not a surrogate, at most U+10FFFF) as UTF-8. */
static void
transcript_put_cp(struct wire_out *out, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		n = 4;
	}
	if (n >= 4)
		u[n - 3] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	if (n >= 3)
		u[n - 2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	if (n >= 2)
		u[n - 1] = (unsigned char)(0x80 | (cp & 0x3f));
	wire_put(out, u, n);
}

/* Decode the escape after a backslash into out; 0 or -1. */
static int
transcript_escape(struct wire_in *in, struct wire_out *out)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *c, *hit;
	uint32_t cp;

	if ((c = wire_take(in, 1)) == NULL)
		return -1;
	if (*c == 'u') {
		if (transcript_unicode(in, &cp) == -1)
			return -1;
		transcript_put_cp(out, cp);
		return 0;
	}
	if (*c == '\0' || (hit = strchr(from, *c)) == NULL)
		return -1;
	wire_put(out, &to[hit - from], 1);
	return 0;
}

/* Tell whether the byte c stands for itself in a JSON string. */
static int
transcript_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

/*
 * Decode a JSON string, its opening quote consumed, and its closing
 * quote, into out; 0, or -1 if it is malformed, does not fit or is not
 * valid UTF-8.
 */
static int
transcript_text(struct wire_in *in, struct wire_out *out)
{
	const unsigned char *p, *c;
	uint32_t st = UTF8_ACCEPT;
	size_t run;

	for (;;) {
		p = in->wi_buf + in->wi_pos;
		for (run = 0;
		     run < in->wi_len - in->wi_pos && transcript_plain(p[run]);
		     run++)
			;
		wire_put(out, p, run);
		in->wi_pos += run;
		if (out->wo_full || (c = wire_take(in, 1)) == NULL)
			return -1;
		if (*c == '"')
			break;
		if (*c != '\\' || transcript_escape(in, out) == -1)
			return -1; /* a raw control, or a bad escape */
	}
	/* Not full here: the loop returns as soon as something did not fit. */
	if (utf8_validate(&st, out->wo_buf, out->wo_pos) != out->wo_pos)
		return -1;
	return utf8_complete(st) ? 0 : -1;
}

/*
 * Read the keys every event has, type to nick, into ev (ce_old "", no
 * text); 0 or -1.
 */
static int
transcript_head(struct wire_in *in, struct chat_event *ev)
{
	ev->ce_old[0] = '\0';
	ev->ce_text = NULL;
	ev->ce_text_len = 0;
	if (TRANSCRIPT_LIT(in, "{\"type\":\"") == -1 ||
	    transcript_type(in, &ev->ce_type) == -1 ||
	    TRANSCRIPT_LIT(in, ",\"room\":\"") == -1 ||
	    transcript_name(in, ev->ce_room) == -1 ||
	    TRANSCRIPT_LIT(in, ",\"seq\":") == -1 ||
	    transcript_seq(in, &ev->ce_seq) == -1 ||
	    TRANSCRIPT_LIT(in, ",\"time\":\"") == -1 ||
	    transcript_time_field(in, &ev->ce_time_ms) == -1 ||
	    TRANSCRIPT_LIT(in, ",\"nick\":\"") == -1 ||
	    transcript_name(in, ev->ce_nick) == -1)
		return -1;
	return 0;
}

/* Tell whether the rest of the input is "}" or ",\"history\":true}". */
static int
transcript_tail(const struct wire_in *in)
{
	static const char plain[] = "}", history[] = ",\"history\":true}";
	const unsigned char *p = in->wi_buf + in->wi_pos;
	size_t n = in->wi_len - in->wi_pos;

	return (n == sizeof(plain) - 1 && memcmp(p, plain, n) == 0) ||
	    (n == sizeof(history) - 1 && memcmp(p, history, n) == 0);
}

/*
 * Parse the transcript line line[0..len), its "\n" removed (one trailing
 * "\r" is tolerated), into ev: names NUL-terminated, ce_old "" but for
 * CHAT_NICK, for CHAT_MESSAGE and CHAT_ME ce_text pointing at the text
 * decoded into text[0..textlen) (textlen at least CHAT_TEXT_MAX, or the
 * longer texts do not fit), NULL for the others. Return 0, or -1 if the
 * line is not an event as the top of the file describes; ev and text are
 * then undefined. Reads nothing outside line[0..len), whatever the bytes.
 */
int
transcript_parse_line(const char *line, size_t len, struct chat_event *ev,
    char *text, size_t textlen)
{
	struct wire_in in;
	struct wire_out out;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	wire_in_init(&in, line, len);
	if (transcript_head(&in, ev) == -1)
		return -1;
	if (ev->ce_type == CHAT_NICK &&
	    (TRANSCRIPT_LIT(&in, ",\"old\":\"") == -1 ||
		transcript_name(&in, ev->ce_old) == -1))
		return -1;
	if (ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME) {
		wire_out_init(&out, text,
		    textlen < CHAT_TEXT_MAX ? textlen : CHAT_TEXT_MAX);
		if (TRANSCRIPT_LIT(&in, ",\"text\":\"") == -1 ||
		    transcript_text(&in, &out) == -1)
			return -1;
		ev->ce_text = text;
		ev->ce_text_len = out.wo_pos;
	}
	return transcript_tail(&in) ? 0 : -1;
}

/*
 * End the file's last line with a "\n" if a crash tore it; 0, or -1
 * (errno). fd is open for reading and appending.
 */
static int
transcript_end_torn(int fd)
{
	struct stat st;
	ssize_t n;
	char last;

	if (fstat(fd, &st) == -1)
		return -1;
	if (st.st_size == 0)
		return 0;
	if ((n = pread(fd, &last, 1, st.st_size - 1)) == -1)
		return -1;
	if (n == 0 || last == '\n') /* n == 0: it shrank meanwhile */
		return 0;
	if ((n = write(fd, "\n", 1)) != 1) {
		if (n != -1)
			errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Open the transcript at path for appending, creating it with mode 0640
 * (less the umask) if there is none, and end a torn last line (see the
 * top of the file). Return the descriptor (close-on-exec), or -1 (errno).
 */
int
transcript_open(const char *path)
{
	int fd, saved_errno;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	if (transcript_end_torn(fd) == -1) {
		saved_errno = errno;
		close(fd);
		errno = saved_errno;
		return -1;
	}
	return fd;
}

/*
 * Tell whether ev reads back from the transcript as it is: an event
 * chatev_encode() takes (valid UTF-8 text within CHAT_TEXT_MAX, ...), a
 * seq from 1, a time chatfmt writes as it is.
 */
static int
transcript_event_ok(const struct chat_event *ev)
{
	return chatev_size(ev) != 0 && ev->ce_seq > 0 &&
	    ev->ce_time_ms <= TRANSCRIPT_TIME_MAX;
}

/*
 * Take back the w bytes a short write appended to fd, as the only writer
 * may; 0 or -1.
 */
static int
transcript_unwrite(int fd, ssize_t w)
{
	off_t end;

	if ((end = lseek(fd, 0, SEEK_END)) == -1 || end < w)
		return -1;
	return ftruncate(fd, end - w);
}

/*
 * Append ev to the transcript fd (from transcript_open()) as one line,
 * in one write(2). Return 0, or -1: EINVAL if ev would not read back as
 * it is (see transcript_event_ok()), EIO for a short write (whose bytes
 * are taken back, if the file lets them), or write(2)'s errno. Not
 * reentrant: one static line buffer (the hub has one thread).
 */
int
transcript_append(int fd, const struct chat_event *ev)
{
	static char line[CHATFMT_JSON_MAX];
	size_t n;
	ssize_t w;

	if (!transcript_event_ok(ev) ||
	    (n = chatfmt_json(ev, 0, line, sizeof(line))) == 0) {
		errno = EINVAL;
		return -1;
	}
	line[n++] = '\n'; /* in place of the NUL */
	while ((w = write(fd, line, n)) == -1 && errno == EINTR)
		;
	if (w == -1)
		return -1;
	if ((size_t)w != n) {
		(void)transcript_unwrite(fd, w);
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Give the line line[0..len) to the reader: an event, or a bad line. */
static void
transcript_line(struct transcript_reader *tr, const char *line, size_t len)
{
	struct chat_event ev;

	if (tr->tr_skip) { /* the end of a line too long to parse */
		tr->tr_skip = 0;
		tr->tr_bad++;
	} else if (transcript_parse_line(
		       line, len, &ev, tr->tr_text, sizeof(tr->tr_text)) == 0) {
		tr->tr_fn(tr->tr_arg, &ev);
		tr->tr_events++;
	} else
		tr->tr_bad++;
}

/*
 * Give the reader the complete lines in its buffer, then keep the start
 * of the next line at the front, or drop it if it is already too long to
 * parse (the rest of it is dropped as it comes).
 */
static void
transcript_lines(struct transcript_reader *tr)
{
	char *p = tr->tr_buf, *end = tr->tr_buf + tr->tr_len, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		transcript_line(tr, p, (size_t)(nl - p));
		p = nl + 1;
	}
	tr->tr_len = (size_t)(end - p);
	if (tr->tr_len > TRANSCRIPT_LINE_MAX) {
		tr->tr_skip = 1;
		tr->tr_len = 0;
	} else
		memmove(tr->tr_buf, p, tr->tr_len);
}

/*
 * Read fd to its end through the reader, the last line with or without
 * its "\n"; 0, or -1 on a read error (errno).
 */
static int
transcript_read(int fd, struct transcript_reader *tr)
{
	ssize_t n;

	for (;;) {
		/* tr_len <= TRANSCRIPT_LINE_MAX: a block at least fits */
		n = read(fd, tr->tr_buf + tr->tr_len,
		    sizeof(tr->tr_buf) - tr->tr_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		tr->tr_len += (size_t)n;
		transcript_lines(tr);
	}
	if (tr->tr_len > 0 || tr->tr_skip)
		transcript_line(tr, tr->tr_buf, tr->tr_len);
	return 0;
}

/*
 * Read the transcript at path and call fn(arg, ev) for each event, in
 * file order; ev and its text last until fn returns. Lines that do not
 * parse (a torn last line, garbage, one longer than any event) are
 * skipped and counted in *bad (if bad is not NULL). Return the number of
 * events given to fn; 0 if there is no file; -1 if it cannot be read
 * (errno), after the events before the error. Memory: one allocation of
 * 176 KiB, whatever the file.
 */
long
transcript_restore(const char *path,
    void (*fn)(void *arg, const struct chat_event *ev), void *arg,
    unsigned long *bad)
{
	struct transcript_reader *tr;
	long events;
	int fd, rc, saved_errno;

	if (bad != NULL)
		*bad = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((tr = calloc(1, sizeof(*tr))) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	tr->tr_fn = fn;
	tr->tr_arg = arg;
	rc = transcript_read(fd, tr);
	saved_errno = errno;
	close(fd);
	if (bad != NULL)
		*bad = tr->tr_bad;
	events = tr->tr_events;
	free(tr);
	errno = saved_errno;
	return rc == -1 ? -1 : events;
}
