/*
 * WebSocket extension negotiation (RFC 6455, 9.1) for permessage-deflate
 * (RFC 7692, 7), without I/O: the client's Sec-WebSocket-Extensions
 * offers in, the parameters agreed and the answer out.
 *
 * The offers of every Sec-WebSocket-Extensions line, in order, are one
 * list. The first permessage-deflate offer the server can accept is
 * taken; an offer with a syntax error, an unknown or repeated parameter,
 * or a value out of its range is skipped, as are other extensions.
 *
 * The answer never holds a parameter the client cannot accept: it echoes
 * the client's own requests, adds server_no_context_takeover (which every
 * client must accept) when the endpoint shares one compressor between
 * connections, and names client_max_window_bits only when the client
 * offered it.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pfhttpd.h"

#define WSEXT_NAME	"permessage-deflate"
#define WSEXT_VALUE_MAX 8 /* longest parameter value kept, unquoted */

/* One permessage-deflate offer as read. */
struct wsext_offer {
	int wo_server_no_ctx;	 /* server_no_context_takeover */
	int wo_client_no_ctx;	 /* client_no_context_takeover */
	int wo_server_bits;	 /* server_max_window_bits, 0 if absent */
	int wo_client_bits_seen; /* client_max_window_bits present */
	int wo_client_bits;	 /* its value, 0 if it had none */
};

/* A cursor over one header value. */
struct wsext_scan {
	const char *ws_p;   /* next byte */
	const char *ws_end; /* end of the value */
};

/* Tell whether ch may appear in a token (RFC 9110, 5.6.2). */
static int
wsext_tchar(int ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Skip spaces and tabs. */
static void
wsext_ows(struct wsext_scan *s)
{
	while (s->ws_p < s->ws_end && (*s->ws_p == ' ' || *s->ws_p == '\t'))
		s->ws_p++;
}

/* Read a token: its length (0 if there is none). */
static size_t
wsext_token(struct wsext_scan *s, const char **tok)
{
	*tok = s->ws_p;
	while (s->ws_p < s->ws_end && wsext_tchar((unsigned char)*s->ws_p))
		s->ws_p++;
	return (size_t)(s->ws_p - *tok);
}

/*
 * Read a parameter value, a token or a quoted-string, unquoted into
 * val[WSEXT_VALUE_MAX + 1]. 0, or -1 if malformed or too long to be one
 * this extension knows.
 */
static int
wsext_value(struct wsext_scan *s, char *val)
{
	const char *tok;
	size_t n = 0, len;

	if (s->ws_p == s->ws_end)
		return -1;
	if (*s->ws_p != '"') {
		if ((len = wsext_token(s, &tok)) == 0 || len > WSEXT_VALUE_MAX)
			return -1;
		memcpy(val, tok, len);
		val[len] = '\0';
		return 0;
	}
	/* Read the whole string, however long, to end outside it. */
	for (s->ws_p++; s->ws_p < s->ws_end && *s->ws_p != '"'; s->ws_p++) {
		if (*s->ws_p == '\\' && ++s->ws_p == s->ws_end)
			return -1;
		if (n <= WSEXT_VALUE_MAX)
			val[n++] = *s->ws_p;
	}
	if (s->ws_p == s->ws_end)
		return -1; /* no closing quote */
	s->ws_p++;
	if (n > WSEXT_VALUE_MAX)
		return -1;
	val[n] = '\0';
	/* RFC 7692, 7.1: a quoted value must still be a token. */
	for (len = 0; len < n; len++)
		if (!wsext_tchar((unsigned char)val[len]))
			return -1;
	return n > 0 ? 0 : -1;
}

/* Parse window bits: 8 to 15 without leading zeros, else -1. */
static int
wsext_bits(const char *v)
{
	if (v[0] >= '8' && v[0] <= '9' && v[1] == '\0')
		return v[0] - '0';
	if (v[0] == '1' && v[1] >= '0' && v[1] <= '5' && v[2] == '\0')
		return 10 + v[1] - '0';
	return -1;
}

/*
 * Take one parameter name[0..nlen) with value val (NULL if none) into
 * the offer. 0, or -1 if the offer cannot be accepted for it.
 */
static int
wsext_param(
    struct wsext_offer *o, const char *name, size_t nlen, const char *val)
{
	int bits = val != NULL ? wsext_bits(val) : 0;

#define WSEXT_IS(s) (nlen == sizeof(s) - 1 && strncasecmp(name, s, nlen) == 0)
	if (WSEXT_IS("server_no_context_takeover")) {
		if (val != NULL || o->wo_server_no_ctx)
			return -1;
		o->wo_server_no_ctx = 1;
	} else if (WSEXT_IS("client_no_context_takeover")) {
		if (val != NULL || o->wo_client_no_ctx)
			return -1;
		o->wo_client_no_ctx = 1;
	} else if (WSEXT_IS("server_max_window_bits")) {
		if (val == NULL || bits == -1 || o->wo_server_bits != 0)
			return -1;
		o->wo_server_bits = bits;
	} else if (WSEXT_IS("client_max_window_bits")) {
		if (bits == -1 || o->wo_client_bits_seen)
			return -1;
		o->wo_client_bits_seen = 1;
		o->wo_client_bits = bits;
	} else
		return -1;
#undef WSEXT_IS
	return 0;
}

/*
 * Read the parameters of one element, up to the comma that ends it or
 * the end. 0 when they are all well-formed and acceptable to permessage-
 * deflate (known is 0 for another extension: only the syntax counts), -1
 * otherwise.
 */
static int
wsext_params(struct wsext_scan *s, int known, struct wsext_offer *o)
{
	char val[WSEXT_VALUE_MAX + 1];
	const char *name;
	size_t nlen;
	int has_value, bad = 0;

	for (;;) {
		wsext_ows(s);
		if (s->ws_p == s->ws_end || *s->ws_p == ',')
			return bad ? -1 : 0;
		if (*s->ws_p++ != ';')
			return -1;
		wsext_ows(s);
		if ((nlen = wsext_token(s, &name)) == 0)
			return -1;
		wsext_ows(s);
		has_value = s->ws_p < s->ws_end && *s->ws_p == '=';
		if (has_value) {
			s->ws_p++;
			wsext_ows(s);
			if (wsext_value(s, val) == -1)
				return -1;
		}
		if (known && wsext_param(o, name, nlen, has_value ? val : NULL))
			bad = 1;
	}
}

/* Skip to the comma ending a malformed element (quoted commas skipped). */
static void
wsext_skip(struct wsext_scan *s)
{
	int quoted = 0;

	for (; s->ws_p < s->ws_end; s->ws_p++) {
		if (quoted && *s->ws_p == '\\' && s->ws_p + 1 < s->ws_end)
			s->ws_p++;
		else if (*s->ws_p == '"')
			quoted = !quoted;
		else if (!quoted && *s->ws_p == ',')
			return;
	}
}

/*
 * Find the first acceptable permessage-deflate offer in the list
 * value[0..len) into *o: 1 if there is one, else 0.
 */
static int
wsext_find(const char *value, size_t len, struct wsext_offer *o)
{
	struct wsext_scan s = {value, value + len};
	const char *name, *start;
	size_t nlen;
	int known;

	while (s.ws_p < s.ws_end) {
		wsext_ows(&s);
		if (s.ws_p < s.ws_end && *s.ws_p == ',') {
			s.ws_p++;
			continue;
		}
		start = s.ws_p;
		nlen = wsext_token(&s, &name);
		known = nlen == sizeof(WSEXT_NAME) - 1 &&
		    strncasecmp(name, WSEXT_NAME, nlen) == 0;
		memset(o, 0, sizeof(*o));
		if (nlen == 0 || wsext_params(&s, known, o) == -1) {
			/* Skip it from its start: quotes are then paired. */
			s.ws_p = start;
			wsext_skip(&s);
		} else if (known)
			return 1;
	}
	return 0;
}

/* Agree on an accepted offer: the parameters and the answer's text. */
static void
wsext_agree(const struct wsext_offer *o, const struct wsext_policy *pol,
    struct wsdeflate_params *dp, char *answer, size_t size)
{
	int bits = pol->wx_window_bits, n;

	memset(dp, 0, sizeof(*dp));
	dp->dp_on = 1;
	dp->dp_server_no_ctx = o->wo_server_no_ctx || pol->wx_shared;
	dp->dp_client_no_ctx = o->wo_client_no_ctx;
	if (o->wo_server_bits != 0 && o->wo_server_bits < bits)
		bits = o->wo_server_bits;
	/* zlib cannot write a raw stream for a 256-byte window: accept, and
	 * send every message uncompressed (RFC 7692, 6: a sender may). */
	dp->dp_server_bits = bits >= 9 ? bits : 0;
	dp->dp_client_bits = 15;
	if (o->wo_client_bits_seen) {
		dp->dp_client_bits =
		    o->wo_client_bits != 0 ? o->wo_client_bits : 15;
		if (pol->wx_window_bits < dp->dp_client_bits)
			dp->dp_client_bits = pol->wx_window_bits;
	}
	n = snprintf(answer, size, "%s%s%s", WSEXT_NAME,
	    dp->dp_server_no_ctx ? "; server_no_context_takeover" : "",
	    dp->dp_client_no_ctx ? "; client_no_context_takeover" : "");
	if (o->wo_server_bits != 0)
		n += snprintf(answer + n, size - (size_t)n,
		    "; server_max_window_bits=%d", o->wo_server_bits);
	if (o->wo_client_bits_seen &&
	    (o->wo_client_bits != 0 || dp->dp_client_bits < 15))
		snprintf(answer + n, size - (size_t)n,
		    "; client_max_window_bits=%d", dp->dp_client_bits);
}

/*
 * Negotiate permessage-deflate on the offer list value[0..len) (one
 * Sec-WebSocket-Extensions line) under pol. 1 and *dp and the answer's
 * text (WSEXT_ANSWER_MAX bytes) when an offer is accepted, else 0.
 */
int
wsext_negotiate_value(const char *value, size_t len,
    const struct wsext_policy *pol, struct wsdeflate_params *dp, char *answer)
{
	struct wsext_offer o;

	if (!wsext_find(value, len, &o))
		return 0;
	wsext_agree(&o, pol, dp, answer, WSEXT_ANSWER_MAX);
	return 1;
}

/*
 * Negotiate permessage-deflate on a handshake request: every
 * Sec-WebSocket-Extensions line in order, the first acceptable offer of
 * them all. 1 with *dp and the answer filled, or 0 (dp_on clear).
 */
int
wsext_negotiate(const struct http_request *req, const struct wsext_policy *pol,
    struct wsdeflate_params *dp, char *answer)
{
	const struct http_header *h;
	int i;

	memset(dp, 0, sizeof(*dp));
	if (!pol->wx_enabled)
		return 0;
	for (i = 0; i < req->hr_nheaders; i++) {
		h = &req->hr_headers[i];
		if (h->hh_name_len == sizeof("Sec-WebSocket-Extensions") - 1 &&
		    strncasecmp(h->hh_name, "Sec-WebSocket-Extensions",
			h->hh_name_len) == 0 &&
		    wsext_negotiate_value(
			h->hh_value, h->hh_value_len, pol, dp, answer))
			return 1;
	}
	return 0;
}
