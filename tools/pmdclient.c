/*
 * pmdclient: permessage-deflate for the load tools (see pmdclient.h).
 * The answer check is strict, as a client of RFC 7692 section 7 must be:
 * one extension, known parameters once each, values in range; a server
 * that answers anything else fails the connection with the reason.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pmdclient.h"

#define PMDCLIENT_NAME	   "permessage-deflate"
#define PMDCLIENT_MAX_BITS 15
#define PMDCLIENT_MIN_BITS 8
#define PMDCLIENT_MEMLEVEL 8  /* zlib's default */
#define PMDCLIENT_WORD_MAX 64 /* a parameter's name or value */

static const unsigned char pmdclient_tail[4] = {0x00, 0x00, 0xff, 0xff};

static int pmdclient_tchar(int ch);
static const char *pmdclient_skip(const char *p);
static const char *pmdclient_token(const char *p, char *buf, size_t size);
static const char *pmdclient_value(const char *p, char *buf, size_t size);
static int pmdclient_bits(const char *value);
static int pmdclient_param(const char *name, const char *value, int has_value,
    struct pmdclient_params *pp, unsigned *seen, char *msg, size_t msglen);
static int pmdclient_inflate_feed(struct pmdclient_inflate *pi,
    const unsigned char *in, size_t n, pmdclient_out_fn out, void *arg);

/* Return whether ch may be in a token (RFC 7230 section 3.2.6). */
static int
pmdclient_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Return p past any spaces and tabs. */
static const char *
pmdclient_skip(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * Copy the token at p into buf (size bytes, NUL-terminated); return the
 * byte after it, or NULL if there is none or it does not fit.
 */
static const char *
pmdclient_token(const char *p, char *buf, size_t size)
{
	size_t n = 0;

	while (pmdclient_tchar((unsigned char)p[n])) {
		if (n + 1 >= size)
			return NULL;
		buf[n] = p[n];
		n++;
	}
	if (n == 0)
		return NULL;
	buf[n] = '\0';
	return p + n;
}

/*
 * Copy the value at p, a token or a quoted-string (unquoted), into buf;
 * return the byte after it, or NULL if it is malformed or too long.
 */
static const char *
pmdclient_value(const char *p, char *buf, size_t size)
{
	size_t n = 0;

	if (*p != '"')
		return pmdclient_token(p, buf, size);
	for (p++; *p != '"'; p++) {
		if (*p == '\\')
			p++;
		if (*p == '\0' || n + 1 >= size)
			return NULL;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	return p + 1;
}

/* Return the window bits a plain decimal value says, 8..15, or -1. */
static int
pmdclient_bits(const char *value)
{
	int v;

	if (value[0] < '1' || value[0] > '9')
		return -1;
	v = value[0] - '0';
	if (value[1] != '\0') {
		if (value[1] < '0' || value[1] > '9' || value[2] != '\0')
			return -1;
		v = v * 10 + (value[1] - '0');
	}
	return v < PMDCLIENT_MIN_BITS || v > PMDCLIENT_MAX_BITS ? -1 : v;
}

/*
 * Take the parameter name (with value if has_value) of an answer into
 * pp; seen marks the names taken. Return 0, or -1 with the reason in msg.
 */
static int
pmdclient_param(const char *name, const char *value, int has_value,
    struct pmdclient_params *pp, unsigned *seen, char *msg, size_t msglen)
{
	static const char *const names[] = {"server_no_context_takeover",
	    "client_no_context_takeover", "client_max_window_bits"};
	unsigned i;

	for (i = 0; i < 3 && strcmp(name, names[i]) != 0; i++)
		;
	if (i == 3) {
		snprintf(msg, msglen, "%s, %s", name,
		    strcmp(name, "server_max_window_bits") == 0
			? "which was not offered"
			: "an unknown parameter");
		return -1;
	}
	if ((*seen & (1U << i)) != 0 || (i < 2) == has_value) {
		snprintf(msg, msglen, "%s %s", name,
		    (*seen & (1U << i)) != 0 ? "twice"
			: has_value	     ? "with a value"
					     : "without a value");
		return -1;
	}
	*seen |= 1U << i;
	if (i == 0)
		pp->pp_server_no_context = 1;
	else if (i == 1)
		pp->pp_client_no_context = 1;
	else if ((pp->pp_client_bits = pmdclient_bits(value)) == -1) {
		snprintf(msg, msglen, "client_max_window_bits=%s", value);
		return -1;
	}
	return 0;
}

/*
 * Check the value of the Sec-WebSocket-Extensions answer to
 * PMDCLIENT_OFFER and say what it agreed in pp. Return 0, or -1 with the
 * reason in msg.
 */
int
pmdclient_parse(
    const char *answer, struct pmdclient_params *pp, char *msg, size_t msglen)
{
	char name[PMDCLIENT_WORD_MAX], value[PMDCLIENT_WORD_MAX], why[128];
	const char *p;
	unsigned seen = 0;
	int has_value;

	memset(pp, 0, sizeof(*pp));
	pp->pp_client_bits = PMDCLIENT_MAX_BITS;
	p = pmdclient_token(pmdclient_skip(answer), name, sizeof(name));
	if (p == NULL || strcasecmp(name, PMDCLIENT_NAME) != 0) {
		snprintf(why, sizeof(why), "not %s", PMDCLIENT_NAME);
		goto bad;
	}
	for (p = pmdclient_skip(p); *p != '\0'; p = pmdclient_skip(p)) {
		if (*p != ';') {
			snprintf(why, sizeof(why), "%s",
			    *p == ',' ? "more than one extension"
				      : "a syntax error");
			goto bad;
		}
		p = pmdclient_token(pmdclient_skip(p + 1), name, sizeof(name));
		if (p == NULL) {
			snprintf(why, sizeof(why), "a syntax error");
			goto bad;
		}
		p = pmdclient_skip(p);
		value[0] = '\0';
		if ((has_value = *p == '=') &&
		    (p = pmdclient_value(pmdclient_skip(p + 1), value,
			 sizeof(value))) == NULL) {
			snprintf(why, sizeof(why), "a syntax error");
			goto bad;
		}
		if (pmdclient_param(name, value, has_value, pp, &seen, why,
			sizeof(why)) == -1)
			goto bad;
	}
	return 0;
bad:
	snprintf(msg, msglen, "Sec-WebSocket-Extensions: %s: %s", answer, why);
	return -1;
}

/*
 * Make zs a deflate stream for the messages a client sends under pp.
 * Return -1 if zlib cannot (an 8-bit window: send them uncompressed).
 */
int
pmdclient_deflate_init(z_stream *zs, const struct pmdclient_params *pp)
{
	memset(zs, 0, sizeof(*zs));
	if (pp->pp_client_bits < PMDCLIENT_MIN_BITS + 1)
		return -1;
	return deflateInit2(zs, PMDCLIENT_LEVEL, Z_DEFLATED,
		   -pp->pp_client_bits, PMDCLIENT_MEMLEVEL,
		   Z_DEFAULT_STRATEGY) == Z_OK
	    ? 0
	    : -1;
}

/*
 * Deflate the whole message in[0..len) into out (outsize bytes, at least
 * PMDCLIENT_BOUND(len)) as a compressed message's payload: flushed, its
 * trailing 00 00 ff ff taken off; without context takeover, reset zs for
 * the next. Return the payload's length, or -1.
 */
long
pmdclient_deflate(z_stream *zs, const struct pmdclient_params *pp,
    const void *in, size_t len, unsigned char *out, size_t outsize)
{
	size_t n;

	zs->next_in = in;
	zs->avail_in = (uInt)len;
	zs->next_out = out;
	zs->avail_out = (uInt)outsize;
	if (deflate(zs, Z_SYNC_FLUSH) != Z_OK || zs->avail_in != 0 ||
	    zs->avail_out == 0)
		return -1;
	n = outsize - zs->avail_out;
	if (n < sizeof(pmdclient_tail) ||
	    memcmp(out + n - sizeof(pmdclient_tail), pmdclient_tail,
		sizeof(pmdclient_tail)) != 0)
		return -1;
	if (pp->pp_client_no_context && deflateReset(zs) != Z_OK)
		return -1;
	return (long)(n - sizeof(pmdclient_tail));
}

/* Free what a deflate stream holds (nothing if it was never made). */
void
pmdclient_deflate_end(z_stream *zs)
{
	if (zs->state != NULL)
		deflateEnd(zs);
}

/*
 * Inflate n bytes at in with the stream of pi; hand the bytes that come
 * out to out. Return 0, or -1 (pi_err says why, or NULL if out failed).
 */
static int
pmdclient_inflate_feed(struct pmdclient_inflate *pi, const unsigned char *in,
    size_t n, pmdclient_out_fn out, void *arg)
{
	unsigned char buf[PMDCLIENT_CHUNK];
	z_stream *zs = &pi->pi_zs;
	size_t got;
	int r;

	zs->next_in = in;
	zs->avail_in = (uInt)n;
	do {
		zs->next_out = buf;
		zs->avail_out = sizeof(buf);
		r = inflate(zs, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
			pi->pi_err =
			    zs->msg != NULL ? zs->msg : "invalid deflate data";
			return -1;
		}
		got = sizeof(buf) - zs->avail_out;
		pi->pi_err = NULL;
		if (got > 0 && out(arg, buf, got) == -1)
			return -1;
		if (r == Z_STREAM_END) {
			pi->pi_ended = 1;
			if (zs->avail_in == 0)
				return 0;
			pi->pi_err = "data after the final deflate block";
			return -1;
		}
	} while (r != Z_BUF_ERROR && (zs->avail_in > 0 || zs->avail_out == 0));
	return 0;
}

/*
 * Inflate n bytes of a compressed message's payload at in (a frame's, or
 * part of one) with pi, making its stream at the first call; with fin
 * (the message ends there), the trailing 00 00 ff ff too. Hand the bytes
 * that come out to out. Return 0, or -1 (pi_err says why, or NULL if
 * out failed).
 */
int
pmdclient_inflate_data(struct pmdclient_inflate *pi, const unsigned char *in,
    size_t n, int fin, pmdclient_out_fn out, void *arg)
{
	if (!pi->pi_ready) {
		memset(&pi->pi_zs, 0, sizeof(pi->pi_zs));
		if (inflateInit2(&pi->pi_zs, -PMDCLIENT_MAX_BITS) != Z_OK) {
			pi->pi_err = "out of memory";
			return -1;
		}
		pi->pi_ready = 1;
	}
	if (n > 0 && pi->pi_ended) {
		pi->pi_err = "data after the final deflate block";
		return -1;
	}
	if (n > 0 && pmdclient_inflate_feed(pi, in, n, out, arg) == -1)
		return -1;
	if (fin && !pi->pi_ended)
		return pmdclient_inflate_feed(
		    pi, pmdclient_tail, sizeof(pmdclient_tail), out, arg);
	return 0;
}

/*
 * A message ended: ready pi for the next one, keeping its window if
 * context (the server keeps its context). Return 0, or -1.
 */
int
pmdclient_inflate_reset(struct pmdclient_inflate *pi, int context)
{
	unsigned char dict[1U << PMDCLIENT_MAX_BITS];
	uInt len = 0;

	if (!pi->pi_ready || (context && !pi->pi_ended))
		return 0;
	pi->pi_ended = 0;
	if (!context)
		return inflateReset(&pi->pi_zs) == Z_OK ? 0 : -1;
	/* A final block ended the stream: a new one, with its window. */
	if (inflateGetDictionary(&pi->pi_zs, dict, &len) != Z_OK ||
	    inflateReset(&pi->pi_zs) != Z_OK ||
	    (len > 0 && inflateSetDictionary(&pi->pi_zs, dict, len) != Z_OK))
		return -1;
	return 0;
}

/* Free what pi holds. */
void
pmdclient_inflate_end(struct pmdclient_inflate *pi)
{
	if (pi->pi_ready)
		inflateEnd(&pi->pi_zs);
	pi->pi_ready = 0;
	pi->pi_ended = 0;
}
