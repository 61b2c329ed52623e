/*
 * wsclient: the WebSocket client pieces that wsload, chatload and wsidle
 * share (see wsclient.h). Functions that can fail before a tool starts
 * print why on stderr, prefixed with the tool's name; the per-connection ones
 * (the handshake check, frame headers) write their reason into a buffer
 * instead, so that the tool counts it against the connection.
 */

#include <sys/types.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "wsclient.h"

#define WSCLIENT_FD_SPARE 32 /* descriptors besides the connections */

static int wsclient_probe(const char *prog, const char *host, const char *port,
    double timeout, struct wsclient_addr *wa);
static unsigned wsclient_hist_index(uint64_t v);
static uint64_t wsclient_hist_value(unsigned i);
static int wsclient_header_value(
    const char *name, const char *line, size_t len, char *value, size_t vlen);
static int wsclient_extensions_add(char *ext, size_t extlen, const char *value);
static size_t wsclient_json_item(
    char *item, size_t size, unsigned k, uint64_t *rng);

/* Parse a count with an optional k or m suffix (times 1024, 1024^2). */
int
wsclient_count(const char *s, long long min, long long max, long long *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || n < 0)
		return -1;
	if (*end == 'k' || *end == 'K') {
		if (n > max / 1024)
			return -1;
		n *= 1024;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		if (n > max / (1024 * 1024))
			return -1;
		n *= 1024 * 1024;
		end++;
	}
	if (*end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

/* Parse a number of seconds, fractions allowed, from min to a day. */
int
wsclient_seconds(const char *s, double min, double *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(d) || d < min ||
	    d > WSCLIENT_MAX_SECS)
		return -1;
	*v = d;
	return 0;
}

/*
 * Split HOST:PORT (HOST may be [an IPv6 address]), resolve it and keep
 * the first address that accepts a connection within timeout seconds in
 * wa, with target as its Host header. Print why on failure.
 */
int
wsclient_resolve(const char *prog, const char *target, double timeout,
    struct wsclient_addr *wa)
{
	char host[256];
	const char *colon, *hs;
	size_t hlen;

	if (strlen(target) >= sizeof(wa->wa_host)) {
		fprintf(stderr, "%s: %s: too long\n", prog, target);
		return -1;
	}
	memcpy(wa->wa_host, target, strlen(target) + 1);
	if ((colon = strrchr(target, ':')) == NULL || colon[1] == '\0') {
		fprintf(stderr, "%s: %s: expected HOST:PORT\n", prog, target);
		return -1;
	}
	hs = target;
	hlen = (size_t)(colon - target);
	if (hlen >= 2 && hs[0] == '[' && hs[hlen - 1] == ']') {
		hs++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		fprintf(stderr, "%s: %s: bad host\n", prog, target);
		return -1;
	}
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	return wsclient_probe(prog, host, colon + 1, timeout, wa);
}

/*
 * Connect once to each address of host and port in turn, within the
 * timeout, and keep the first that answers: a server that is not there
 * is reported here, clearly, before any load starts.
 */
static int
wsclient_probe(const char *prog, const char *host, const char *port,
    double timeout, struct wsclient_addr *wa)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	socklen_t slen;
	int error, fd, err = 0, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(
		    stderr, "%s: %s: %s\n", prog, wa->wa_host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(wa->wa_addr))
			continue;
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		error = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			error = errno;
			if (error == EINPROGRESS) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				r = poll(&pfd, 1, (int)(timeout * 1000));
				slen = sizeof(error);
				if (r == 0)
					error = ETIMEDOUT;
				else if (r == -1)
					error = errno;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR,
					     &error, &slen) == -1)
					error = errno;
			}
		}
		close(fd);
		if (error == 0) {
			memcpy(&wa->wa_addr, ai->ai_addr, ai->ai_addrlen);
			wa->wa_addrlen = ai->ai_addrlen;
			freeaddrinfo(res);
			return 0;
		}
		err = error;
	}
	freeaddrinfo(res);
	fprintf(stderr, "%s: connect to %s: %s\n", prog, wa->wa_host,
	    strerror(err != 0 ? err : EADDRNOTAVAIL));
	return -1;
}

/* Raise the open-file limit to fit nconns sockets, or say why not. */
int
wsclient_files(const char *prog, unsigned nconns)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)nconns + WSCLIENT_FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
			fprintf(stderr,
			    "%s: %u connections need %ju open files; the "
			    "limit is %ju (ulimit -n)\n",
			    prog, nconns, (uintmax_t)need,
			    (uintmax_t)rl.rlim_max);
			return -1;
		}
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			fprintf(stderr, "%s: setrlimit: %s\n", prog,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Return CLOCK_MONOTONIC in nanoseconds. */
uint64_t
wsclient_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * WSCLIENT_NSEC + (uint64_t)ts.tv_nsec;
}

/* Return a non-zero seed for wsclient_random(). */
uint64_t
wsclient_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = wsclient_now() ^ ((uint64_t)getpid() << 32);
	return seed | 1; /* xorshift must not start at 0 */
}

/* Return 64 pseudo-random bits (xorshift64*), for masking keys. */
uint64_t
wsclient_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Return the histogram bucket of v. */
static unsigned
wsclient_hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < WSCLIENT_HIST_SUB)
		return (unsigned)v;
	msb = 63U - (unsigned)__builtin_clzll(v);
	shift = msb - WSCLIENT_HIST_SUB_BITS;
	return (shift + 1) * WSCLIENT_HIST_SUB + (unsigned)(v >> shift) -
	    WSCLIENT_HIST_SUB;
}

/* Return the middle of the values of histogram bucket i. */
static uint64_t
wsclient_hist_value(unsigned i)
{
	unsigned shift;

	if (i < WSCLIENT_HIST_SUB)
		return i;
	shift = i / WSCLIENT_HIST_SUB - 1;
	return ((uint64_t)(i % WSCLIENT_HIST_SUB + WSCLIENT_HIST_SUB)
		   << shift) +
	    (((uint64_t)1 << shift) >> 1);
}

/* Record the duration v (ns) in h. */
void
wsclient_hist_add(struct wsclient_hist *h, uint64_t v)
{
	h->wh_bucket[wsclient_hist_index(v)]++;
	h->wh_count++;
	h->wh_sum += (double)v;
	if (v > h->wh_max)
		h->wh_max = v;
}

/*
 * Return the q quantile (0 < q <= 1) of h in nanoseconds: the middle of
 * the bucket that holds the duration of that rank, never above the
 * longest duration seen. h must not be empty.
 */
double
wsclient_hist_percentile(const struct wsclient_hist *h, double q)
{
	uint64_t rank, seen = 0, v;
	unsigned i;

	rank = (uint64_t)ceil(q * (double)h->wh_count);
	if (rank == 0)
		rank = 1;
	for (i = 0; i < WSCLIENT_HIST_BUCKETS - 1; i++) {
		seen += h->wh_bucket[i];
		if (seen >= rank)
			break;
	}
	v = wsclient_hist_value(i);
	return (double)(v < h->wh_max ? v : h->wh_max);
}

/*
 * Write the header of a masked client frame (FIN set) for a payload of
 * len bytes into buf; return its length including the 4-byte masking
 * key, which the caller fills in last.
 */
size_t
wsclient_frame_prefix(unsigned char *buf, int opcode, uint64_t len)
{
	size_t n;
	int i;

	buf[0] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		buf[1] = (unsigned char)(0x80 | len);
		n = 2;
	} else if (len <= 0xffff) {
		buf[1] = 0x80 | 126;
		buf[2] = (unsigned char)(len >> 8);
		buf[3] = (unsigned char)len;
		n = 4;
	} else {
		buf[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			buf[2 + i] = (unsigned char)(len >> (56 - 8 * i));
		n = 10;
	}
	return n + 4;
}

/* Copy n bytes from src to dst masked with key, eight at a time. */
void
wsclient_mask(unsigned char *dst, const unsigned char *src, size_t n,
    const unsigned char key[4])
{
	unsigned char k8[8];
	uint64_t k, w;
	size_t i;

	memcpy(k8, key, 4);
	memcpy(k8 + 4, key, 4);
	memcpy(&k, k8, sizeof(k));
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, sizeof(w));
		w ^= k;
		memcpy(dst + i, &w, sizeof(w));
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ key[i & 3];
}

/*
 * Write a whole masked client frame (FIN set) of len payload bytes into
 * dst, which has room for WSCLIENT_HDR_MAX + len; return its length.
 */
size_t
wsclient_frame(unsigned char *dst, int opcode, const void *payload, size_t len,
    uint32_t key)
{
	size_t n = wsclient_frame_prefix(dst, opcode, len);

	memcpy(dst + n - 4, &key, sizeof(key));
	wsclient_mask(dst + n, payload, len, dst + n - 4);
	return n + len;
}

/*
 * Return the opening handshake request for path on host, offering
 * extensions (a Sec-WebSocket-Extensions value) unless NULL, allocated,
 * and its length in len; NULL if out of memory.
 */
char *
wsclient_request(const char *prog, const char *path, const char *host,
    const char *extensions, size_t *len)
{
	char *req;
	int n;

	n = asprintf(&req,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " WSCLIENT_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "%s%s%s"
	    "User-Agent: %s\r\n"
	    "\r\n",
	    path, host, extensions ? "Sec-WebSocket-Extensions: " : "",
	    extensions ? extensions : "", extensions ? "\r\n" : "", prog);
	if (n == -1)
		return NULL;
	*len = (size_t)n;
	return req;
}

/*
 * If the header line (len bytes, no CRLF) is name, copy its value, without
 * the spaces around it, into value; return 1, or 0 if it is another.
 */
static int
wsclient_header_value(
    const char *name, const char *line, size_t len, char *value, size_t vlen)
{
	size_t nlen = strlen(name), b, e;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return 0;
	b = nlen + 1;
	e = len;
	while (b < e && (line[b] == ' ' || line[b] == '\t'))
		b++;
	while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t'))
		e--;
	if (e - b >= vlen)
		e = b + vlen - 1;
	memcpy(value, line + b, e - b);
	value[e - b] = '\0';
	return 1;
}

/*
 * Append the value of a Sec-WebSocket-Extensions line to ext (extlen
 * bytes, NUL-terminated), after ", " if it has one already: several
 * lines are one list. Return -1 if it does not fit.
 */
static int
wsclient_extensions_add(char *ext, size_t extlen, const char *value)
{
	size_t have = strlen(ext), vlen = strlen(value);

	if (have + 2 + vlen >= extlen)
		return -1;
	if (have > 0) {
		memcpy(ext + have, ", ", 2);
		have += 2;
	}
	memcpy(ext + have, value, vlen + 1);
	return 0;
}

/*
 * Check a handshake response whose header is the first hlen bytes of buf,
 * up to and with its last CRLF: status 101 and the headers RFC 6455 4.1
 * asks the client to check. With ext, extensions were offered: their
 * answer goes into ext (extlen bytes; "" if none), for the caller to
 * check; without, an answer is an error. Return 0, or -1 with the reason
 * in msg.
 */
int
wsclient_handshake_check(const unsigned char *buf, size_t hlen, char *ext,
    size_t extlen, char *msg, size_t msglen)
{
	const char *p = (const char *)buf, *end = p + hlen, *eol;
	char value[256];
	int status, upgrade = 0, connection = 0, accept = 0;
	size_t len;

	if (ext != NULL)
		ext[0] = '\0';
	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	len = (size_t)(eol - p);
	if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    p[9] < '0' || p[9] > '9' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9') {
		snprintf(msg, msglen, "handshake: not an HTTP response: %.*s",
		    (int)(len > 80 ? 80 : len), p);
		return -1;
	}
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (status != 101) {
		snprintf(msg, msglen,
		    "handshake rejected with status %d (%.*s)", status,
		    (int)(len > 80 ? 80 : len), p);
		return -1;
	}
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		len = (size_t)(eol - p);
		if (wsclient_header_value(
			"Upgrade", p, len, value, sizeof(value)))
			upgrade = strcasecmp(value, "websocket") == 0;
		else if (wsclient_header_value(
			     "Connection", p, len, value, sizeof(value)))
			connection = strcasestr(value, "upgrade") != NULL;
		else if (wsclient_header_value("Sec-WebSocket-Accept", p, len,
			     value, sizeof(value)))
			accept = strcmp(value, WSCLIENT_ACCEPT) == 0;
		else if ((wsclient_header_value("Sec-WebSocket-Extensions", p,
			      len, value, sizeof(value)) &&
			     (ext == NULL ||
				 wsclient_extensions_add(ext, extlen, value) ==
				     -1)) ||
		    wsclient_header_value("Sec-WebSocket-Protocol", p, len,
			value, sizeof(value))) {
			snprintf(msg, msglen, "handshake: %.*s, %s",
			    (int)(len > 80 ? 80 : len), p,
			    ext == NULL ? "which was not asked for"
					: "too long");
			return -1;
		}
	}
	if (!upgrade || !connection || !accept) {
		snprintf(msg, msglen, "handshake: 101 without %s",
		    !upgrade	      ? "Upgrade: websocket"
			: !connection ? "Connection: upgrade"
				      : "the right Sec-WebSocket-Accept");
		return -1;
	}
	return 0;
}

/*
 * Parse the header of a frame from the server at p (avail bytes) into f,
 * and check what any frame from a server must satisfy: no RSV bit but
 * RSV1 on a text or binary frame if rsv1_ok (permessage-deflate was
 * agreed; on a continuation frame the caller checks), no mask, a length
 * without the top bit, a close, ping or pong whole and of at most 125
 * bytes. Return the header's length, 0 if it is incomplete, or -1 with
 * the reason in msg.
 */
int
wsclient_frame_parse(const unsigned char *p, size_t avail, int rsv1_ok,
    struct wsclient_frame *f, char *msg, size_t msglen)
{
	size_t hlen;
	uint64_t len;
	int i;

	if (avail < 2)
		return 0;
	hlen = 2 + ((p[1] & 0x7f) == 126 ? 2 : (p[1] & 0x7f) == 127 ? 8 : 0);
	if (avail < hlen)
		return 0;
	f->wf_fin = (p[0] & 0x80) != 0;
	f->wf_rsv1 = (p[0] & 0x40) != 0;
	f->wf_opcode = p[0] & 0x0f;
	len = p[1] & 0x7f;
	if (len == 126)
		len = (uint64_t)p[2] << 8 | p[3];
	else if (len == 127)
		for (len = 0, i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
	f->wf_len = len;
	if ((p[0] & 0x30) != 0 ||
	    (f->wf_rsv1 &&
		(!rsv1_ok ||
		    (f->wf_opcode != WSCLIENT_OP_TEXT &&
			f->wf_opcode != WSCLIENT_OP_BINARY)))) {
		snprintf(msg, msglen,
		    "frame (opcode 0x%x) with RSV bits 0x%02x", f->wf_opcode,
		    p[0] & 0x70);
		return -1;
	}
	if ((p[1] & 0x80) != 0) {
		snprintf(msg, msglen, "masked frame from the server");
		return -1;
	}
	if (len >> 63 != 0) {
		snprintf(msg, msglen, "frame length with the top bit set");
		return -1;
	}
	if ((f->wf_opcode == WSCLIENT_OP_CLOSE ||
		f->wf_opcode == WSCLIENT_OP_PING ||
		f->wf_opcode == WSCLIENT_OP_PONG) &&
	    (!f->wf_fin || len > WSCLIENT_CTL_MAX)) {
		snprintf(msg, msglen, "control frame 0x%x %s", f->wf_opcode,
		    !f->wf_fin ? "fragmented" : "longer than 125 bytes");
		return -1;
	}
	return (int)hlen;
}

/*
 * Write the JSON of item k of a wsclient_json() document into item (size
 * bytes, enough for any), with what it says drawn from rng; return its
 * length.
 */
static size_t
wsclient_json_item(char *item, size_t size, unsigned k, uint64_t *rng)
{
	static const char *const words[] = {"the", "a", "to", "and", "is", "it",
	    "we", "you", "can", "now", "hello", "thanks", "build", "deploy",
	    "release", "review", "merge", "ticket", "meeting", "today",
	    "tomorrow", "server", "client", "message", "update", "ready",
	    "done", "looks", "good", "please", "check", "fixed"};
	static const char *const types[] = {
	    "message", "message", "message", "edit", "reaction"};
	static const char *const rooms[] = {
	    "general", "random", "dev", "ops", "design", "support"};
	char text[256];
	size_t tlen = 0, wlen;
	uint64_t r = wsclient_random(rng);
	unsigned i, nwords = 3 + (unsigned)(r % 12);
	int n;

	for (i = 0; i < nwords; i++) {
		r = wsclient_random(rng);
		wlen = strlen(words[r % 32]);
		if (i > 0)
			text[tlen++] = ' ';
		memcpy(text + tlen, words[r % 32], wlen);
		tlen += wlen;
	}
	text[tlen] = '\0';
	r = wsclient_random(rng);
	n = snprintf(item, size,
	    "{\"id\":%u,\"user\":\"user_%04u\",\"type\":\"%s\","
	    "\"room\":\"%s\",\"ts\":\"2026-12-02T%02u:%02u:%02u.%03uZ\","
	    "\"text\":\"%s\",\"likes\":%u,\"read\":%s}",
	    1048576U + (unsigned)(r >> 44) + k, (unsigned)(r % 500),
	    types[(r >> 9) % 5], rooms[(r >> 12) % 6], (unsigned)(r >> 15) % 24,
	    (unsigned)(r >> 20) % 60, (unsigned)(r >> 26) % 60,
	    (unsigned)(r >> 32) % 1000, text, (unsigned)(r >> 42) % 20,
	    (r >> 50) % 2 ? "true" : "false");
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/*
 * Fill buf with size bytes of JSON-like text from seed: a document as a
 * chat or API server sends them, {"seq":"0000000000000000","items":[...]},
 * objects of the same keys with ids, names, times and texts of common
 * words; spaces before the closing "]}" make the size exact (a size too
 * small for that gets the document's start). The 16 zeros are at
 * WSCLIENT_JSON_STAMP, for a caller to number the document.
 */
void
wsclient_json(unsigned char *buf, size_t size, uint64_t seed)
{
	static const char head[] = "{\"seq\":\"0000000000000000\",\"items\":[";
	char item[512];
	size_t pos = sizeof(head) - 1, n;
	uint64_t rng = seed * 2 + 1; /* odd, and one per seed */
	unsigned k;

	for (k = 0; k < 4; k++) /* away from the seeds' likeness */
		wsclient_random(&rng);
	if (size < pos + 2) {
		memcpy(buf, head, size);
		return;
	}
	memcpy(buf, head, pos);
	for (k = 0;; k++) {
		n = wsclient_json_item(item, sizeof(item), k, &rng);
		if (pos + (k > 0) + n + 2 > size)
			break;
		if (k > 0)
			buf[pos++] = ',';
		memcpy(buf + pos, item, n);
		pos += n;
	}
	memset(buf + pos, ' ', size - 2 - pos);
	memcpy(buf + size - 2, "]}", 2);
}

/*
 * Print s on standard output as a JSON string (bytes outside printable
 * ASCII as \u00XX), or null if s is NULL.
 */
void
wsclient_print_string(const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}
