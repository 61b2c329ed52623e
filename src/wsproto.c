/*
 * The WebSocket protocol (RFC 6455) without I/O: frame headers in and
 * out, masking, the rules a client frame must follow, close codes, and
 * the opening handshake's checks and Sec-WebSocket-Accept. ws.c drives it
 * on a connection.
 */

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "pfhttpd.h"

/* Appended to the client's key before hashing (RFC 6455, 1.3). */
#define WSPROTO_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#define WSPROTO_KEY_LEN 24 /* base64 of 16 bytes, "==" included */

/*
 * Parse the frame header at p[0..n) into *fh. Return its length (2 to 14
 * bytes), 0 if more bytes are needed, or -1 if the length is not valid:
 * a 64-bit length with its top bit set, or a length in a longer form than
 * it needs (RFC 6455, 5.2: "the minimal number of bytes MUST be used").
 */
ssize_t
wsproto_parse_header(const void *buf, size_t n, struct ws_frame *fh)
{
	const unsigned char *p = buf;
	size_t need = 2;
	uint64_t len;
	int i;

	if (n < 2)
		return 0;
	fh->wf_fin = (p[0] & 0x80) != 0;
	fh->wf_rsv = (p[0] >> 4) & 0x07;
	fh->wf_opcode = p[0] & 0x0f;
	fh->wf_masked = (p[1] & 0x80) != 0;
	len = p[1] & 0x7f;
	if (len == 126)
		need += 2;
	else if (len == 127)
		need += 8;
	if (fh->wf_masked)
		need += 4;
	if (n < need)
		return 0;
	if (len == 126) {
		len = (uint64_t)p[2] << 8 | p[3];
		if (len < 126)
			return -1;
	} else if (len == 127) {
		len = 0;
		for (i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		if (len >> 63 || len <= 0xffff)
			return -1;
	}
	fh->wf_len = len;
	if (fh->wf_masked)
		memcpy(fh->wf_mask, p + need - 4, 4);
	else
		memset(fh->wf_mask, 0, 4);
	return (ssize_t)need;
}

/*
 * Check a client frame against the protocol, given whether a fragmented
 * message is open and whether permessage-deflate was agreed (then RSV1 may
 * mark the first frame of a data message: RFC 7692, 6). Return 0 or the
 * close code to fail with (1002).
 */
int
wsproto_check_frame(const struct ws_frame *fh, int in_message, int deflate)
{
	if (!fh->wf_masked || (fh->wf_rsv & ~WS_RSV1) != 0)
		return WS_CLOSE_PROTOCOL;
	if ((fh->wf_rsv & WS_RSV1) &&
	    (!deflate ||
		(fh->wf_opcode != WS_OP_TEXT && fh->wf_opcode != WS_OP_BINARY)))
		return WS_CLOSE_PROTOCOL;
	switch (fh->wf_opcode) {
	case WS_OP_CONTINUATION:
		return in_message ? 0 : WS_CLOSE_PROTOCOL;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		return in_message ? WS_CLOSE_PROTOCOL : 0;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!fh->wf_fin || fh->wf_len > WS_CONTROL_MAX)
			return WS_CLOSE_PROTOCOL;
		return 0;
	default:
		return WS_CLOSE_PROTOCOL; /* reserved opcode */
	}
}

/*
 * Write an unmasked server frame header for a payload of len bytes into
 * buf (WS_HEADER_MAX bytes); return its length.
 */
size_t
wsproto_build_header(void *buf, int fin, int opcode, uint64_t len)
{
	unsigned char *p = buf;
	int i;

	p[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		p[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		p[1] = 126;
		p[2] = (unsigned char)(len >> 8);
		p[3] = (unsigned char)len;
		return 4;
	}
	p[1] = 127;
	for (i = 0; i < 8; i++)
		p[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return 10;
}

/*
 * Unmask n payload bytes from src into dst (which may be src), where src
 * starts at byte offset off of the payload masked with mask.
 */
void
wsproto_unmask(
    void *dst, const void *src, size_t n, const uint8_t mask[4], uint64_t off)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	unsigned char m[8];
	uint64_t m64, v;
	size_t i = 0;
	int k;

	for (k = 0; k < 8; k++)
		m[k] = mask[(off + (uint64_t)k) & 3];
	memcpy(&m64, m, sizeof(m64));
	for (; i + 8 <= n; i += 8) {
		memcpy(&v, s + i, sizeof(v));
		v ^= m64;
		memcpy(d + i, &v, sizeof(v));
	}
	for (; i < n; i++)
		d[i] = s[i] ^ m[i & 7];
}

/*
 * Tell whether a close frame may carry code (RFC 6455, 7.4): 1000-1003,
 * 1007-1014 and 3000-4999. 1004-1006 and 1015 are reserved or must never
 * be sent; 1016-2999 are unassigned; 5000 and up do not exist.
 */
int
wsproto_close_code_valid(unsigned code)
{
	if (code >= 1000 && code <= 1003)
		return 1;
	if (code >= 1007 && code <= 1014)
		return 1;
	return code >= 3000 && code <= 4999;
}

/*
 * Return the counter class of a close code: the index into sc_ws_closes
 * of shm.h (1000, 1001, 1002-1011, 3000-4999, other).
 */
int
wsproto_close_class(unsigned code)
{
	if (code == 1000)
		return 0;
	if (code == 1001)
		return 1;
	if (code >= 1002 && code <= 1011)
		return 2;
	if (code >= 3000 && code <= 4999)
		return 3;
	return 4;
}

/* Tell whether any field named name has token in its comma list. */
static int
wsproto_any_has(
    const struct http_request *req, const char *name, const char *token)
{
	const struct http_header *h;
	int i;

	for (i = 0; i < req->hr_nheaders; i++) {
		h = &req->hr_headers[i];
		if (strlen(name) == h->hh_name_len &&
		    strncasecmp(h->hh_name, name, h->hh_name_len) == 0 &&
		    http_token_list_has(h->hh_value, h->hh_value_len, token))
			return 1;
	}
	return 0;
}

/* Tell whether the Origin value[0..len) is one of the words in list. */
static int
wsproto_origin_allowed(const char *list, const char *value, size_t len)
{
	const char *p = list, *word;
	size_t n;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		word = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		n = (size_t)(p - word);
		/* Scheme and host are case-insensitive (RFC 6454, 4). */
		if (n > 0 && n == len && strncasecmp(word, value, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Compute the Sec-WebSocket-Accept value for the key[0..len) into accept
 * (WS_ACCEPT_LEN bytes, NUL included). Return 0, or -1 if the key is not
 * the base64 form of 16 bytes.
 */
int
wsproto_accept(const char *key, size_t len, char accept[WS_ACCEPT_LEN])
{
	unsigned char raw[WSPROTO_KEY_LEN], digest[SHA_DIGEST_LENGTH];
	char buf[WSPROTO_KEY_LEN + sizeof(WSPROTO_GUID)];

	/* 16 bytes are 22 base64 digits and "==": nothing else decodes so. */
	if (len != WSPROTO_KEY_LEN || key[22] != '=' || key[23] != '=' ||
	    memchr(key, '=', 22) != NULL)
		return -1;
	if (EVP_DecodeBlock(raw, (const unsigned char *)key, (int)len) != 18)
		return -1;
	memcpy(buf, key, len);
	memcpy(buf + len, WSPROTO_GUID, sizeof(WSPROTO_GUID) - 1);
	SHA1(
	    (const unsigned char *)buf, len + sizeof(WSPROTO_GUID) - 1, digest);
	EVP_EncodeBlock((unsigned char *)accept, digest, sizeof(digest));
	return 0;
}

/*
 * Check an upgrade request to the echo endpoint (RFC 6455, 4.2.1). Return
 * 0 and fill accept when the server may switch protocols; otherwise the
 * status to answer: 400 (not a valid WebSocket handshake), 426 (another
 * protocol version: answer with Sec-WebSocket-Version: 13) or 403 (an
 * Origin not in origins, a list of allowed values or NULL for any).
 */
int
wsproto_handshake(const struct http_request *req, const char *origins,
    char accept[WS_ACCEPT_LEN])
{
	const struct http_header *key, *version, *origin;

	if (req->hr_method != HTTP_METHOD_GET || req->hr_version_major != 1 ||
	    req->hr_version_minor < 1 || req->hr_body != HTTP_BODY_NONE)
		return 400;
	if (!wsproto_any_has(req, "Upgrade", "websocket") ||
	    !wsproto_any_has(req, "Connection", "upgrade"))
		return 400;
	version = http_header_find(req, "Sec-WebSocket-Version");
	if (version == NULL || version->hh_value_len != 2 ||
	    memcmp(version->hh_value, "13", 2) != 0)
		return version == NULL ? 400 : 426;
	key = http_header_find(req, "Sec-WebSocket-Key");
	if (key == NULL ||
	    wsproto_accept(key->hh_value, key->hh_value_len, accept) == -1)
		return 400;
	origin = http_header_find(req, "Origin");
	if (origins != NULL && origin != NULL &&
	    !wsproto_origin_allowed(
		origins, origin->hh_value, origin->hh_value_len))
		return 403;
	return 0;
}
