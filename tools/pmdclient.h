/*
 * pmdclient: the client side of permessage-deflate (RFC 7692) that the
 * load tools share (wsload, chatload, wsidle): the offer, the check of
 * the server's answer, and a whole message deflated or a message's
 * frames inflated with zlib (raw deflate, Z_SYNC_FLUSH, the trailing
 * 00 00 ff ff taken off or put back). Each tool owns its z_streams; this
 * keeps no state between calls.
 */

#ifndef PMDCLIENT_H
#define PMDCLIENT_H

#include <stddef.h>

#define ZLIB_CONST /* next_in is const */
#include <zlib.h>

/* What every tool offers, as Chromium does. */
#define PMDCLIENT_OFFER "permessage-deflate; client_max_window_bits"
#define PMDCLIENT_LEVEL 1     /* the client's zlib level: cheap for the load */
#define PMDCLIENT_CHUNK 16384 /* inflated bytes handed on at a time */

/* The most bytes a message of len bytes deflates to, with the flush. */
#define PMDCLIENT_BOUND(len) ((len) + (len) / 8 + (len) / 64 + 64)

/* What the server's answer agreed. */
struct pmdclient_params {
	int pp_server_no_context; /* server_no_context_takeover */
	int pp_client_no_context; /* client_no_context_takeover */
	int pp_client_bits;	  /* client_max_window_bits, 15 if absent */
};

/*
 * Called with each run of inflated bytes of a message; return 0, or -1
 * to stop (the caller says why).
 */
typedef int (*pmdclient_out_fn)(void *arg, const unsigned char *p, size_t n);

/* One compressed message being inflated: its stream and how far. */
struct pmdclient_inflate {
	z_stream pi_zs;	    /* raw inflate, 15-bit window */
	int pi_ready;	    /* inflateInit2 done */
	int pi_ended;	    /* the message had a final block */
	const char *pi_err; /* why the last call failed */
};

int pmdclient_parse(
    const char *answer, struct pmdclient_params *pp, char *msg, size_t msglen);
int pmdclient_deflate_init(z_stream *zs, const struct pmdclient_params *pp);
long pmdclient_deflate(z_stream *zs, const struct pmdclient_params *pp,
    const void *in, size_t len, unsigned char *out, size_t outsize);
void pmdclient_deflate_end(z_stream *zs);
int pmdclient_inflate_data(struct pmdclient_inflate *pi,
    const unsigned char *in, size_t n, int fin, pmdclient_out_fn out,
    void *arg);
int pmdclient_inflate_reset(struct pmdclient_inflate *pi, int context);
void pmdclient_inflate_end(struct pmdclient_inflate *pi);

#endif /* PMDCLIENT_H */
