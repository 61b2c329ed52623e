/*
 * tlsclient: the TLS client pieces that the load tools (tlsload.c, and
 * wsload.c for wss) share: one client context, and what a nonblocking
 * SSL call that did not succeed asks for. The tools measure servers, they
 * do not authenticate them: no certificate is verified (as wrk does not),
 * and no server name is sent.
 */

#ifndef TLSCLIENT_H
#define TLSCLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

/* What an SSL call that did not succeed asks for, as tlsclient_status(). */
#define TLSCLIENT_WANT_READ  1 /* call it again once the socket is readable */
#define TLSCLIENT_WANT_WRITE 2 /* ... once it is writable */
#define TLSCLIENT_EOF	     3 /* the server closed the connection */
#define TLSCLIENT_FAILED     4 /* a TLS or socket error: see the message */

SSL_CTX *tlsclient_ctx(const char *prog);
int tlsclient_status(SSL *ssl, int ret, char *msg, size_t msglen);

#endif /* TLSCLIENT_H */
