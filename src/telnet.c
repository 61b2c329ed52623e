/*
 * The line reader of a chat client on a raw TCP connection (telnet or
 * nc): it takes the bytes in any pieces, removes the telnet commands
 * (RFC 854, 855) and hands out complete lines, one per call, each checked
 * to be UTF-8. No socket, no event loop: the caller feeds it what it read.
 *
 * The data stream is the input without its telnet commands:
 *
 *   IAC IAC                     the data byte 0xFF
 *   IAC WILL|WONT|DO|DONT opt   skipped (three bytes); nothing is answered
 *   IAC SB ... IAC SE           skipped; a subnegotiation longer than
 *                               TELNET_SB_MAX bytes is abandoned and what
 *                               follows is data again (a client that never
 *                               sends IAC SE cannot swallow the session);
 *                               IAC and another command inside one ends it
 *                               and is that command
 *   IAC cmd                     any other command: skipped (two bytes)
 *
 * In the data stream, LF ends a line, and so does CR, at once: an LF
 * that comes next (CR LF) belongs to the same line end. NUL is the NVT's
 * no-op, dropped wherever it is, so CR NUL (telnet's bare CR) ends one
 * line too, as does CR NUL LF. Telnet commands between a CR and its LF
 * change nothing. A line holds no CR, LF or NUL; an empty one is reported
 * (the caller ignores it).
 *
 * A line is kept in tn_buf (max_line bytes and a NUL), each byte copied
 * once; bytes beyond max_line are discarded up to the line's end, which
 * is then reported once as too long. A line that fits but is not valid
 * UTF-8 (an IAC IAC in it, say) is reported as such, without its text.
 * The reader holds max_line + 1 bytes and a few counters, whatever it is
 * sent. A line is reported only once it has ended: at EOF, the caller
 * drops what is left.
 *
 * The caller's loop, over its input buffer:
 *
 *	for (;;) {
 *		used = telnet_scan(&t, buf_data(in), buf_len(in), &line);
 *		buf_drain(in, used);
 *		if (!line.tl_complete)
 *			break;
 *		... line.tl_too_long, line.tl_bad_utf8, or line.tl_text ...
 *	}
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

#define TELNET_IAC  0xff /* interpret as command */
#define TELNET_DONT 0xfe
#define TELNET_WILL 0xfb /* WILL, WONT, DO, DONT: 0xfb..0xfe, an option */
#define TELNET_SB   0xfa /* subnegotiation begins */
#define TELNET_SE   0xf0 /* subnegotiation ends */

/* Where the reader stands in the telnet command syntax (tn_state). */
enum telnet_state {
	TELNET_DATA = 0, /* data bytes */
	TELNET_CMD,	 /* after IAC */
	TELNET_OPT,	 /* after IAC WILL, WONT, DO or DONT: the option */
	TELNET_SUB,	 /* inside IAC SB ... IAC SE */
	TELNET_SUB_IAC,	 /* IAC inside a subnegotiation */
};

/*
 * Make t an empty reader of lines of at most max_line bytes; -1 if memory
 * ran out (ENOMEM) or max_line is SIZE_MAX (EINVAL).
 */
int
telnet_init(struct telnet *t, size_t max_line)
{
	memset(t, 0, sizeof(*t));
	if (max_line == SIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((t->tn_buf = malloc(max_line + 1)) == NULL)
		return -1;
	t->tn_max = max_line;
	t->tn_utf8 = UTF8_ACCEPT;
	return 0;
}

/* Free the memory of t; it can be freed again, or initialised. */
void
telnet_free(struct telnet *t)
{
	free(t->tn_buf);
	memset(t, 0, sizeof(*t));
}

/* Return the length of the run at p[0..n) of data bytes with no role. */
static size_t
telnet_plain(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '\n' || p[i] == '\r' || p[i] == '\0' ||
		    p[i] == TELNET_IAC)
			break;
	return i;
}

/* Add the data bytes p[0..n) to the line, or discard them if it is full. */
static void
telnet_append(struct telnet *t, const unsigned char *p, size_t n)
{
	t->tn_cr = 0;
	if (t->tn_too_long)
		return;
	if (n > t->tn_max - t->tn_len) {
		t->tn_too_long = 1;
		return;
	}
	memcpy(t->tn_buf + t->tn_len, p, n);
	utf8_validate(&t->tn_utf8, t->tn_buf + t->tn_len, n);
	t->tn_len += n;
}

/* The line has ended: describe it in *line and start the next one. */
static void
telnet_end(struct telnet *t, struct telnet_line *line)
{
	line->tl_complete = 1;
	if (t->tn_too_long) {
		line->tl_too_long = 1;
	} else if (!utf8_complete(t->tn_utf8)) {
		line->tl_bad_utf8 = 1;
	} else {
		t->tn_buf[t->tn_len] = '\0';
		line->tl_text = t->tn_buf;
		line->tl_len = t->tn_len;
	}
	t->tn_len = 0;
	t->tn_too_long = 0;
	t->tn_utf8 = UTF8_ACCEPT;
}

/* Take the byte c after an IAC outside a subnegotiation. */
static void
telnet_command(struct telnet *t, unsigned char c)
{
	if (c == TELNET_IAC) {
		t->tn_state = TELNET_DATA;
		telnet_append(t, &c, 1);
	} else if (c >= TELNET_WILL && c <= TELNET_DONT) {
		t->tn_state = TELNET_OPT;
	} else if (c == TELNET_SB) {
		t->tn_state = TELNET_SUB;
		t->tn_sb_len = 0;
	} else {
		t->tn_state = TELNET_DATA;
	}
}

/*
 * Take the byte c in a command state (not TELNET_DATA); return 1, or 0 if
 * it ended a runaway subnegotiation and is to be read again as data.
 */
static int
telnet_control(struct telnet *t, unsigned char c)
{
	switch (t->tn_state) {
	case TELNET_CMD:
		telnet_command(t, c);
		return 1;
	case TELNET_OPT:
		t->tn_state = TELNET_DATA;
		return 1;
	case TELNET_SUB:
		if (t->tn_sb_len == TELNET_SB_MAX) {
			t->tn_state = TELNET_DATA;
			return 0;
		}
		t->tn_sb_len++;
		if (c == TELNET_IAC)
			t->tn_state = TELNET_SUB_IAC;
		return 1;
	default: /* TELNET_SUB_IAC */
		if (c == TELNET_SE)
			t->tn_state = TELNET_DATA;
		else if (c == TELNET_IAC)
			t->tn_state = TELNET_SUB; /* an escaped 0xFF */
		else
			telnet_command(t, c);
		return 1;
	}
}

/*
 * Read in[0..n) on from where the last call stopped, up to and including
 * the end of the next line. Return the bytes consumed: all n unless a line
 * ended, and then at least 1. *line is cleared, and filled when a line
 * ended (tl_complete); its text is valid until the next call.
 */
size_t
telnet_scan(
    struct telnet *t, const char *in, size_t n, struct telnet_line *line)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, run;

	memset(line, 0, sizeof(*line));
	while (i < n) {
		if (t->tn_state != TELNET_DATA) {
			i += (size_t)telnet_control(t, p[i]);
			continue;
		}
		if ((run = telnet_plain(p + i, n - i)) > 0) {
			telnet_append(t, p + i, run);
			i += run;
			continue;
		}
		switch (p[i++]) {
		case TELNET_IAC:
			t->tn_state = TELNET_CMD;
			break;
		case '\r':
			telnet_end(t, line);
			t->tn_cr = 1;
			return i;
		case '\n':
			if (t->tn_cr) {
				t->tn_cr = 0;
				break;
			}
			telnet_end(t, line);
			return i;
		default: /* NUL */
			break;
		}
	}
	return i;
}
