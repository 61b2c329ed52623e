/*
 * wsclient: the WebSocket client pieces that the load tools (wsload.c,
 * chatload.c, wsidle.c) share: option parsing, finding the server, the
 * opening handshake, client frames, server frame headers, the clock, a
 * latency histogram and JSON-like payloads. Nothing here keeps state
 * between calls; each tool owns its connections and its event loop.
 */

#ifndef WSCLIENT_H
#define WSCLIENT_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define WSCLIENT_KEY	  "dGhlIHNhbXBsZSBub25jZQ=="	 /* RFC 6455 1.3 */
#define WSCLIENT_ACCEPT	  "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* its accept value */
#define WSCLIENT_MAX_SECS 86400.0 /* the longest duration an option takes */
#define WSCLIENT_NSEC	  1000000000ULL
#define WSCLIENT_CTL_MAX  125 /* payload bytes of a control frame */
#define WSCLIENT_HDR_MAX  14  /* a client frame's header, mask included */
#define WSCLIENT_MSG_MAX  512 /* an error message, NUL included */

#define WSCLIENT_EXT_MAX    256 /* an extensions answer, NUL included */
#define WSCLIENT_JSON_STAMP 8	/* wsclient_json(): where "seq" is */

#define WSCLIENT_OP_CONT   0x0
#define WSCLIENT_OP_TEXT   0x1
#define WSCLIENT_OP_BINARY 0x2
#define WSCLIENT_OP_CLOSE  0x8
#define WSCLIENT_OP_PING   0x9
#define WSCLIENT_OP_PONG   0xa

/*
 * The latency histogram is log-linear over nanoseconds: values below
 * 2^SUB_BITS have a bucket each, and each further power of two is split
 * into 2^SUB_BITS buckets, so a bucket is at most 1/64 (1.6%) wide
 * relative to its values, over the whole 64-bit range.
 */
#define WSCLIENT_HIST_SUB_BITS 6
#define WSCLIENT_HIST_SUB      (1U << WSCLIENT_HIST_SUB_BITS)
#define WSCLIENT_HIST_BUCKETS                                                  \
	((64U - WSCLIENT_HIST_SUB_BITS + 1) * WSCLIENT_HIST_SUB)

/* Durations, in nanoseconds. */
struct wsclient_hist {
	uint64_t wh_bucket[WSCLIENT_HIST_BUCKETS]; /* counts, log-linear */
	uint64_t wh_count;			   /* durations recorded */
	uint64_t wh_max;			   /* longest */
	double wh_sum;				   /* sum of all */
};

/* The header of a frame from the server, as wsclient_frame_parse() read. */
struct wsclient_frame {
	int wf_fin;	 /* FIN bit */
	int wf_rsv1;	 /* RSV1 bit: a compressed message */
	int wf_opcode;	 /* WSCLIENT_OP_* or another value */
	uint64_t wf_len; /* payload bytes */
};

/* Where a server is: its address, and the Host header that names it. */
struct wsclient_addr {
	struct sockaddr_storage wa_addr;
	socklen_t wa_addrlen;
	char wa_host[300]; /* HOST:PORT as given, [brackets] kept */
};

int wsclient_count(const char *s, long long min, long long max, long long *v);
int wsclient_seconds(const char *s, double min, double *v);
int wsclient_resolve(const char *prog, const char *target, double timeout,
    struct wsclient_addr *wa);
int wsclient_files(const char *prog, unsigned nconns);
uint64_t wsclient_now(void);
uint64_t wsclient_seed(void);
uint64_t wsclient_random(uint64_t *state);
void wsclient_hist_add(struct wsclient_hist *h, uint64_t v);
double wsclient_hist_percentile(const struct wsclient_hist *h, double q);
size_t wsclient_frame_prefix(unsigned char *buf, int opcode, uint64_t len);
void wsclient_mask(unsigned char *dst, const unsigned char *src, size_t n,
    const unsigned char key[4]);
size_t wsclient_frame(unsigned char *dst, int opcode, const void *payload,
    size_t len, uint32_t key);
char *wsclient_request(const char *prog, const char *path, const char *host,
    const char *extensions, size_t *len);
int wsclient_handshake_check(const unsigned char *buf, size_t hlen, char *ext,
    size_t extlen, char *msg, size_t msglen);
int wsclient_frame_parse(const unsigned char *p, size_t avail, int rsv1_ok,
    struct wsclient_frame *f, char *msg, size_t msglen);
void wsclient_json(unsigned char *buf, size_t size, uint64_t seed);
void wsclient_print_string(const char *s);

#endif /* WSCLIENT_H */
