/*
 * tlsclient: the TLS client pieces that tlsload and wsload share (see
 * tlsclient.h).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tlsclient.h"

/*
 * Return a client context for nonblocking connections: TLS 1.2 and 1.3
 * (OpenSSL's default ciphers and groups, the server choosing among them as
 * it is configured), no verification, partial writes (a short write is
 * retried with the rest, as with send()), a close without close_notify
 * taken as the end of the stream (a response cut short shows in its
 * length), and reading ahead: a read takes what the socket has, not a
 * record's header and then its body, which halves the read calls; then
 * no event says that TLS holds bytes already, so the caller reads until
 * a read asks to wait, or SSL_has_pending() is false. NULL, said on
 * stderr, if it cannot be made.
 */
SSL_CTX *
tlsclient_ctx(const char *prog)
{
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		fprintf(stderr, "%s: cannot make a TLS context: %s\n", prog,
		    ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

/*
 * Say what the SSL call on ssl that returned ret (not a success) asks
 * for: TLSCLIENT_WANT_READ or _WANT_WRITE, TLSCLIENT_EOF, or
 * TLSCLIENT_FAILED with the reason in msg. Call it at once, before
 * anything else changes errno; it leaves the thread's error queue empty.
 */
int
tlsclient_status(SSL *ssl, int ret, char *msg, size_t msglen)
{
	int saved = errno, err = SSL_get_error(ssl, ret);
	unsigned long e;
	const char *why;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		return TLSCLIENT_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLSCLIENT_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLSCLIENT_EOF;
	default:
		break;
	}
	e = ERR_get_error();
	if (e != 0) {
		why = ERR_reason_error_string(e);
		if (why != NULL)
			snprintf(msg, msglen, "TLS: %s", why);
		else
			ERR_error_string_n(e, msg, msglen);
	} else if (err == SSL_ERROR_SYSCALL && saved != 0)
		snprintf(msg, msglen, "%s", strerror(saved));
	else
		snprintf(msg, msglen, "TLS error %d", err);
	ERR_clear_error();
	return TLSCLIENT_FAILED;
}
