/*
 * TLS with OpenSSL 3, directly on the socket.
 *
 * The master builds the SSL_CTX from [tls] when it reads the
 * configuration (tls_context_new()), as root and before it forks, so the
 * key file may be readable by root alone and every worker inherits the
 * same context: the session-ticket keys with it, so a session resumes on
 * whichever worker the client lands; a reload hands the keys on to the
 * new context (tls_context_keep_tickets()).
 *
 * A [host "NAME"] with a certificate of its own gets a context of its own
 * (tls_context_host()), built by the same steps with that certificate.
 * Every connection starts on the [tls] context, and the client hello
 * callback moves it to the context of the host its server name (SNI)
 * names. The [tls] context stays the connection's session context, whose
 * ticket keys seal and open the tickets of every host.
 *
 * A TLS connection moves its bytes through io_tls, the struct conn_io of
 * this file. conn.c drives the handshake (ci_handshake) before the kind
 * starts, and the kinds never know which io they have.
 *
 * Output leaves in records of at most TLS_RECORD bytes, built in the
 * connection's record buffer: what the kind hands over is copied there (a
 * file part is read there with pread(2)) and SSL_write() sends it. Bytes
 * copied there count as sent. When the socket is full, OpenSSL keeps the
 * record it made and SSL_write() must be called again with the same bytes;
 * they stay in the buffer until then (tl_sealed), whatever the kind does
 * with its queues meanwhile. So memory per connection is bounded by one
 * record, freed once all is sent. Kernel TLS is not used: it cannot be tested
 * where pfhttpd is built (no tls module), see the design document.
 */

#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "pfhttpd.h"
#include "shm.h"

#define TLS_RECORD	   16384 /* plaintext bytes of one record at most */
#define TLS_SESSION_ID_CTX "pfhttpd"
#define TLS_SUBJECT_MAX	   1024 /* bytes of a client subject kept */
#define TLS_LABEL_MAX	   (VHOST_NAME_MAX + 32) /* a certificate's key */

/* The certificate of a context, and how an error names it. */
struct tls_pair {
	const char *tp_certificate; /* PEM: the certificate and its chain */
	const char *tp_key;	    /* PEM: its private key */
	const char *tp_label;	    /* the certificate's key: "[tls]
				     * certificate" */
	const char *tp_host;	    /* the host's name, NULL for [tls]'s */
};

/* The TLS state of one connection (c_tls). */
struct tls_conn {
	SSL *tl_ssl;	  /* OpenSSL's connection */
	char *tl_rec;	  /* the record being built or sent, or NULL */
	size_t tl_len;	  /* bytes in tl_rec */
	int tl_sealed;	  /* SSL_write() took tl_rec and wants it again */
	int tl_peeked;	  /* the client's first byte was looked at */
	int tl_broken;	  /* a fatal error: no close_notify may follow */
	char *tl_subject; /* verified client certificate's subject, or NULL */
};

/* Write what failed and OpenSSL's reason for it into why; clear errors. */
static void
tls_why(char *why, size_t len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (reason != NULL)
		snprintf(why, len, "%s: %s", what, reason);
	else
		snprintf(why, len, "%s", what);
	ERR_clear_error();
}

/* OpenSSL's reason for the last error in the queue, for a log line. */
static const char *
tls_reason(void)
{
	const char *reason = ERR_reason_error_string(ERR_peek_last_error());

	return reason != NULL ? reason : "protocol error";
}

/* Open path for reading; NULL, saying why in why. */
static FILE *
tls_fopen(const char *path, char *why, size_t len)
{
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		snprintf(why, len, "%s: %s", path, strerror(errno));
	return fp;
}

/* Tell whether path can be opened for reading; else say why in why. */
static int
tls_readable(const char *path, char *why, size_t len)
{
	FILE *fp;

	if ((fp = tls_fopen(path, why, len)) == NULL)
		return 0;
	fclose(fp);
	return 1;
}

/* A key with a passphrase cannot be loaded by a daemon: refuse it. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* Set the protocol versions and the TLS 1.2 ciphers; *key blames one. */
static int
tls_context_protocols(SSL_CTX *ctx, const struct config *cf, const char **key,
    char *why, size_t len)
{
	int bits = cf->cf_tls_protocols;
	int min = bits & TLS_PROTO_TLSV1_2 ? TLS1_2_VERSION : TLS1_3_VERSION;
	int max = bits & TLS_PROTO_TLSV1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;

	*key = "protocols";
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, max) != 1) {
		tls_why(why, len, "cannot set the protocol versions");
		return -1;
	}
	*key = "ciphers";
	if (SSL_CTX_set_cipher_list(ctx, cf->cf_tls_ciphers) != 1) {
		tls_why(why, len, "no usable cipher in the list");
		return -1;
	}
	return 0;
}

/* Refuse a certificate outside its validity period; 0 or -1. */
static int
tls_check_dates(X509 *x, char *why, size_t len)
{
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		snprintf(why, len, "the certificate has expired");
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		snprintf(why, len, "the certificate is not valid yet");
		return -1;
	}
	return 0;
}

/*
 * Load the private key of the certificate already loaded from path, and
 * check that they match (before OpenSSL would refuse it for a reason of
 * its own); label names the certificate's key. 0 or -1.
 */
static int
tls_context_key(
    SSL_CTX *ctx, const char *path, const char *label, char *why, size_t len)
{
	char what[TLS_LABEL_MAX + 32];
	EVP_PKEY *pkey;
	FILE *fp;
	int rv = -1;

	if ((fp = tls_fopen(path, why, len)) == NULL)
		return -1;
	pkey = PEM_read_PrivateKey(fp, NULL, tls_no_passphrase, NULL);
	fclose(fp);
	if (pkey == NULL)
		tls_why(why, len,
		    "not a PEM private key (or one with a passphrase)");
	else if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), pkey) !=
	    1) {
		snprintf(what, sizeof(what), "does not match %s", label);
		tls_why(why, len, what);
	} else if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1)
		tls_why(why, len, "cannot use the key");
	else
		rv = 0;
	EVP_PKEY_free(pkey);
	return rv;
}

/*
 * Load the certificate with its chain and the private key, and check that
 * they match and that the certificate is valid now; *key blames one.
 */
static int
tls_context_certificate(SSL_CTX *ctx, const struct tls_pair *tp,
    const char **key, char *why, size_t len)
{
	*key = "certificate";
	if (!tls_readable(tp->tp_certificate, why, len))
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, tp->tp_certificate) != 1) {
		tls_why(why, len, "not a PEM certificate chain");
		return -1;
	}
	if (tls_check_dates(SSL_CTX_get0_certificate(ctx), why, len) == -1)
		return -1;
	*key = "key";
	return tls_context_key(ctx, tp->tp_key, tp->tp_label, why, len);
}

/* Load the CAs client certificates are verified against; 0 or -1. */
static int
tls_context_client_ca(SSL_CTX *ctx, const struct config *cf, const char **key,
    char *why, size_t len)
{
	STACK_OF(X509_NAME) * names;
	int mode = SSL_VERIFY_PEER;

	*key = "client_ca";
	if (cf->cf_tls_client_ca == NULL)
		return 0;
	if (!tls_readable(cf->cf_tls_client_ca, why, len))
		return -1;
	if (SSL_CTX_load_verify_locations(ctx, cf->cf_tls_client_ca, NULL) !=
		1 ||
	    (names = SSL_load_client_CA_file(cf->cf_tls_client_ca)) == NULL) {
		tls_why(why, len, "no PEM certificate in it");
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	if (cf->cf_tls_verify_client == TLS_VERIFY_REQUIRE)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	if (cf->cf_tls_verify_client != TLS_VERIFY_NO)
		SSL_CTX_set_verify(ctx, mode, NULL);
	return 0;
}

/*
 * Set the session id context to a digest of the client certificate policy
 * (verify_client and the bytes of client_ca): a session resumes only
 * under the policy it was made under. Ticket keys outlive a reload, and a
 * resumed session skips the certificate request; without this, a ticket
 * from before a reload that began to require certificates, or dropped a
 * CA, would still let its holder in. A host's context adds its name
 * (host, NULL for [tls]'s): a session made under one certificate does
 * not resume under another host's, where the client would not have seen
 * that host's certificate. 0, or -1 with why.
 */
static int
tls_context_sid(SSL_CTX *ctx, const struct config *cf, const char *host,
    char *why, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[4096];
	unsigned int mdlen = 0;
	EVP_MD_CTX *m;
	FILE *fp = NULL;
	size_t n;
	int ok;

	if ((m = EVP_MD_CTX_new()) == NULL) {
		tls_why(why, len, "cannot make the session id context");
		return -1;
	}
	ok = EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(
		m, TLS_SESSION_ID_CTX, sizeof(TLS_SESSION_ID_CTX)) == 1 &&
	    EVP_DigestUpdate(m, &cf->cf_tls_verify_client,
		sizeof(cf->cf_tls_verify_client)) == 1 &&
	    (host == NULL || EVP_DigestUpdate(m, host, strlen(host) + 1) == 1);
	if (ok && cf->cf_tls_client_ca != NULL &&
	    (fp = tls_fopen(cf->cf_tls_client_ca, why, len)) == NULL) {
		EVP_MD_CTX_free(m);
		return -1;
	}
	while (ok && fp != NULL && (n = fread(buf, 1, sizeof(buf), fp)) > 0)
		ok = EVP_DigestUpdate(m, buf, n) == 1;
	if (fp != NULL)
		fclose(fp);
	ok = ok && EVP_DigestFinal_ex(m, md, &mdlen) == 1 &&
	    SSL_CTX_set_session_id_context(ctx, md,
		mdlen < SSL_MAX_SID_CTX_LENGTH ? mdlen
					       : SSL_MAX_SID_CTX_LENGTH) == 1;
	EVP_MD_CTX_free(m);
	if (!ok)
		tls_why(why, len, "cannot set the session id context");
	return ok ? 0 : -1;
}

/*
 * ALPN: choose http/1.1 when the client offers it; otherwise answer
 * without ALPN, and the client decides whether it goes on.
 */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const char http11[] = "http/1.1";
	unsigned int i;

	(void)ssl;
	(void)arg;
	for (i = 0; i < inlen; i += 1 + in[i]) {
		if (in[i] == sizeof(http11) - 1 && i + 1 + in[i] <= inlen &&
		    memcmp(in + i + 1, http11, in[i]) == 0) {
			*out = in + i + 1;
			*outlen = in[i];
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/*
 * The info callback: count the renegotiations refused, which OpenSSL
 * answers on its own with a no_renegotiation alert.
 */
static void
tls_info(const SSL *ssl, int where, int value)
{
	struct conn *c;

	if (!(where & SSL_CB_WRITE_ALERT) ||
	    (value & 0xff) != SSL_AD_NO_RENEGOTIATION ||
	    (c = SSL_get_app_data(ssl)) == NULL)
		return;
	shm_count(&c->c_worker->w_slot->ss_c.sc_tls_renegotiations, 1);
	log_debug("%s: TLS renegotiation refused", c->c_peer);
}

/*
 * Find the host_name of the client hello's server_name extension (RFC 6066
 * section 3) into *name and *len. 0 if there is none (or it is malformed:
 * OpenSSL refuses the hello then).
 */
static int
tls_hello_server_name(SSL *ssl, const unsigned char **name, size_t *len)
{
	const unsigned char *p;
	size_t n, namelen;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &n) !=
		1 ||
	    n < 2 || ((size_t)p[0] << 8 | p[1]) != n - 2)
		return 0;
	for (p += 2, n -= 2; n >= 3; p += 3 + namelen, n -= 3 + namelen) {
		namelen = (size_t)p[1] << 8 | p[2];
		if (namelen > n - 3)
			return 0;
		if (p[0] == TLSEXT_NAMETYPE_host_name) {
			*name = p + 3;
			*len = namelen;
			return 1;
		}
	}
	return 0;
}

/*
 * The client hello callback: remember which host the server name (SNI)
 * names (c_sni_host), and move the connection to the context of that
 * host's certificate, or of the default host's for no name or a name no
 * host has. It runs before OpenSSL looks for a session to resume (a
 * servername callback would run after): the session is then looked up
 * under the host's session id context, so it resumes only on the host it
 * was made on (tls_context_sid()).
 */
static int
tls_client_hello(SSL *ssl, int *alert, void *arg)
{
	struct conn *c = SSL_get_app_data(ssl);
	const struct config *cf;
	const struct vhost *vh;
	const unsigned char *name;
	size_t len;

	(void)arg;
	if (c == NULL)
		return SSL_CLIENT_HELLO_SUCCESS;
	cf = c->c_worker->w_cf;
	c->c_sni_host = -1;
	if (tls_hello_server_name(ssl, &name, &len))
		c->c_sni_host = vhost_match(
		    cf->cf_hosts, cf->cf_nhosts, (const char *)name, len);
	vh = &cf->cf_hosts[c->c_sni_host >= 0 ? c->c_sni_host
					      : cf->cf_host_default];
	if (SSL_set_SSL_CTX(ssl,
		vh->vh_tls_ctx != NULL ? vh->vh_tls_ctx : cf->cf_tls_ctx) ==
	    NULL) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * Set what every connection gets: no renegotiation (counted), no compression,
 * the server's cipher order (strongest first), a peer that closes without
 * close_notify is an end of input like any other; partial writes from a
 * buffer that may move; buffers released while a connection is idle. Resumption
 * is by session ticket only: no per-process cache, which would resume on one
 * worker in N.
 */
static void
tls_context_options(SSL_CTX *ctx, const struct config *cf)
{
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
		SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
		SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_timeout(ctx, (long)(cf->cf_tls_session_timeout / 1000));
	if (!cf->cf_tls_tickets) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
	}
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
	SSL_CTX_set_info_callback(ctx, tls_info);
	SSL_CTX_set_client_hello_cb(ctx, tls_client_hello, NULL);
}

/*
 * Build a TLS context of cf's [tls] keys with the certificate of tp,
 * reading the files now. NULL on failure, with the key to blame in *key
 * (a [tls] key's name; "certificate" and "key" are tp's) and the reason in
 * why.
 */
static SSL_CTX *
tls_context_build(const struct config *cf, const struct tls_pair *tp,
    const char **key, char *why, size_t len)
{
	SSL_CTX *ctx;

	*key = "certificate";
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_why(why, len, "cannot create a TLS context");
		return NULL;
	}
	if (tls_context_protocols(ctx, cf, key, why, len) == -1 ||
	    tls_context_certificate(ctx, tp, key, why, len) == -1 ||
	    tls_context_client_ca(ctx, cf, key, why, len) == -1 ||
	    tls_context_sid(ctx, cf, tp->tp_host, why, len) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	tls_context_options(ctx, cf);
	return ctx;
}

/*
 * Build the TLS context of cf's [tls] keys, reading the files now. NULL on
 * failure, with the key to blame in *key and the reason in why.
 */
SSL_CTX *
tls_context_new(
    const struct config *cf, const char **key, char *why, size_t len)
{
	struct tls_pair tp = {
	    cf->cf_tls_certificate, cf->cf_tls_key, "[tls] certificate", NULL};

	return tls_context_build(cf, &tp, key, why, len);
}

/*
 * Build the TLS context of host vh, which has a certificate of its own:
 * the [tls] keys of cf with vh's certificate and key. NULL on failure,
 * with the key to blame in *key ("certificate" and "key" are vh's
 * tls_certificate and tls_key, any other a [tls] key) and the reason in
 * why.
 */
SSL_CTX *
tls_context_host(const struct config *cf, const struct vhost *vh,
    const char **key, char *why, size_t len)
{
	char label[TLS_LABEL_MAX];
	struct tls_pair tp = {
	    vh->vh_tls_certificate, vh->vh_tls_key, label, vh->vh_names[0]};

	snprintf(label, sizeof(label), "[host \"%s\"] tls_certificate",
	    vh->vh_names[0]);
	return tls_context_build(cf, &tp, key, why, len);
}

/* Free a context built by tls_context_new(); NULL is none. */
void
tls_context_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/*
 * A reload: give the next context the running one's session-ticket keys,
 * so that sessions resume across the reload as they do across workers.
 */
void
tls_context_keep_tickets(SSL_CTX *next, SSL_CTX *running)
{
	unsigned char keys[80];

	if (next == NULL || running == NULL)
		return;
	if (SSL_CTX_get_tlsext_ticket_keys(running, keys, sizeof(keys)) == 1)
		SSL_CTX_set_tlsext_ticket_keys(next, keys, sizeof(keys));
	OPENSSL_cleanse(keys, sizeof(keys));
	ERR_clear_error();
}

/* Count a failed handshake of class, and say why at debug level. */
static void
tls_failed(struct conn *c, enum shm_tls_fail class, const char *why)
{
	shm_count(&c->c_worker->w_slot->ss_c.sc_tls_failed[class], 1);
	log_debug("%s: TLS handshake failed: %s", c->c_peer, why);
	c->c_tls->tl_broken = 1;
	ERR_clear_error();
}

/* Start a TLS connection on c's socket, server side; 0 or -1. */
static int
tls_open(struct conn *c)
{
	struct tls_conn *tl;

	if ((tl = calloc(1, sizeof(*tl))) == NULL)
		return -1;
	if ((tl->tl_ssl = SSL_new(c->c_worker->w_cf->cf_tls_ctx)) == NULL ||
	    SSL_set_fd(tl->tl_ssl, c->c_fd) != 1) {
		SSL_free(tl->tl_ssl);
		free(tl);
		ERR_clear_error();
		return -1;
	}
	SSL_set_accept_state(tl->tl_ssl);
	SSL_set_app_data(tl->tl_ssl, c);
	c->c_tls = tl;
	return 0;
}

/*
 * Send a close_notify alert, once, if the connection can carry one: not
 * broken, its handshake done, no record waiting before it. Best effort:
 * a full socket loses it, and the FIN or the close follows anyway.
 */
static void
tls_notify_close(struct tls_conn *tl)
{
	if (tl->tl_broken || tl->tl_len > 0 ||
	    !SSL_is_init_finished(tl->tl_ssl) ||
	    (SSL_get_shutdown(tl->tl_ssl) & SSL_SENT_SHUTDOWN))
		return;
	ERR_clear_error();
	if (SSL_shutdown(tl->tl_ssl) < 0)
		ERR_clear_error();
}

/*
 * Free the connection's TLS state; the client is told of the close first
 * (the socket is conn.c's to close).
 */
static void
tls_close(struct conn *c)
{
	struct tls_conn *tl = c->c_tls;

	tls_notify_close(tl);
	SSL_free(tl->tl_ssl);
	free(tl->tl_rec);
	free(tl->tl_subject);
	free(tl);
	c->c_tls = NULL;
}

/*
 * Look at the client's first byte before OpenSSL does: a TLS record
 * starts with a content type (20..24), or an SSLv2-style hello with a
 * byte above 127, never with printable ASCII, which is someone speaking
 * in the clear (plain HTTP, a telnet client). CONN_IO_DONE to go on with
 * the handshake, or CONN_IO_CLEARTEXT, CONN_IO_WAIT, -1 (closed).
 */
static int
tls_peek(struct conn *c)
{
	unsigned char b;
	ssize_t n;

	if ((n = recv(c->c_fd, &b, 1, MSG_PEEK)) == 1) {
		c->c_tls->tl_peeked = 1;
		if (b < 0x20 || b > 0x7e)
			return CONN_IO_DONE;
		tls_failed(c, SHM_TLS_FAIL_PLAIN_HTTP, "plain text, not TLS");
		return CONN_IO_CLEARTEXT;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		c->c_io_wants_write = 0;
		return CONN_IO_WAIT;
	}
	tls_failed(c, SHM_TLS_FAIL_CLOSED,
	    n == 0 ? "closed before a hello" : strerror(errno));
	return -1;
}

/* The class of the handshake failure OpenSSL just reported. */
static enum shm_tls_fail
tls_failure_class(const struct tls_conn *tl)
{
	int reason = ERR_GET_REASON(ERR_peek_last_error());

	if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return SHM_TLS_FAIL_CLOSED;
	if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
	    reason == SSL_R_CERTIFICATE_VERIFY_FAILED ||
	    SSL_get_verify_result(tl->tl_ssl) != X509_V_OK)
		return SHM_TLS_FAIL_CERT;
	return SHM_TLS_FAIL_PROTOCOL;
}

/* Keep the subject of a verified client certificate, RFC 2253 style. */
static void
tls_keep_subject(struct tls_conn *tl)
{
	X509 *peer = SSL_get0_peer_certificate(tl->tl_ssl);
	char buf[TLS_SUBJECT_MAX];
	BIO *bio;
	int n;

	if (peer == NULL || SSL_get_verify_result(tl->tl_ssl) != X509_V_OK)
		return;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0,
		XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_read(bio, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		tl->tl_subject = strdup(buf);
	}
	BIO_free(bio);
	ERR_clear_error();
}

/* Take the handshake a step; see ci_handshake in struct conn_io. */
static int
tls_handshake(struct conn *c)
{
	struct tls_conn *tl = c->c_tls;
	struct shm_counters *sc = &c->c_worker->w_slot->ss_c;
	int rv;

	if (!tl->tl_peeked && (rv = tls_peek(c)) != CONN_IO_DONE)
		return rv;
	ERR_clear_error();
	errno = 0;
	if ((rv = SSL_do_handshake(tl->tl_ssl)) == 1) {
		if (SSL_session_reused(tl->tl_ssl))
			shm_count(&sc->sc_tls_resumed, 1);
		else
			shm_count(&sc->sc_tls_full, 1);
		tls_keep_subject(tl);
		return CONN_IO_DONE;
	}
	switch (SSL_get_error(tl->tl_ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		c->c_io_wants_write = 0;
		return CONN_IO_WAIT;
	case SSL_ERROR_WANT_WRITE:
		c->c_io_wants_write = 1;
		return CONN_IO_WAIT;
	case SSL_ERROR_SYSCALL:
	case SSL_ERROR_ZERO_RETURN:
		tls_failed(c, SHM_TLS_FAIL_CLOSED,
		    errno != 0 ? strerror(errno) : "closed");
		return -1;
	default:
		tls_failed(c, tls_failure_class(tl), tls_reason());
		return -1;
	}
}

/*
 * Map a failed SSL_read() or SSL_write() to what a system call returns:
 * 0 for the end of input (a read), or -1 with errno: EAGAIN to wait for
 * the socket (c_io_wants_write says which way, for a read), else the
 * connection is broken.
 */
static ssize_t
tls_io_error(struct conn *c, int rv, int writing)
{
	struct tls_conn *tl = c->c_tls;

	switch (SSL_get_error(tl->tl_ssl, rv)) {
	case SSL_ERROR_ZERO_RETURN:
		if (!writing)
			return 0;
		errno = EPIPE;
		break;
	case SSL_ERROR_WANT_READ:
		if (!writing) {
			c->c_io_wants_write = 0;
			errno = EAGAIN;
			return -1;
		}
		/* Only a renegotiation, which is refused, makes a write wait
		 * for input: it cannot happen once the handshake is done. */
		errno = EPROTO;
		break;
	case SSL_ERROR_WANT_WRITE:
		if (!writing)
			c->c_io_wants_write = 1; /* a KeyUpdate to answer */
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = ECONNRESET;
		break;
	default:
		log_debug("%s: TLS: %s", c->c_peer, tls_reason());
		shm_count(&c->c_worker->w_slot->ss_c.sc_tls_errors, 1);
		errno = EPROTO;
		break;
	}
	tl->tl_broken = 1;
	ERR_clear_error();
	return -1;
}

/* Read up to len bytes of the client's data. */
static ssize_t
tls_read(struct conn *c, void *buf, size_t len)
{
	int n;

	ERR_clear_error();
	errno = 0;
	n = SSL_read(c->c_tls->tl_ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	return n > 0 ? n : tls_io_error(c, n, 0);
}

/*
 * Send the record buffer. 1 once it is all sent, or -1 with errno: with
 * EAGAIN the record is sealed, its bytes may not change until it is sent.
 * The buffer stays for the next record (a file goes out in many):
 * tls_flush() frees it once nothing more is to send.
 */
static int
tls_push(struct conn *c)
{
	struct tls_conn *tl = c->c_tls;
	int n;

	if (tl->tl_broken) {
		errno = EPIPE;
		return -1;
	}
	while (tl->tl_len > 0) {
		ERR_clear_error();
		errno = 0;
		n = SSL_write(tl->tl_ssl, tl->tl_rec, (int)tl->tl_len);
		if (n <= 0) {
			if (tls_io_error(c, n, 1) == -1 && errno == EAGAIN)
				tl->tl_sealed = 1;
			return -1;
		}
		/* A client's max_fragment_length may have cut the record. */
		tl->tl_sealed = 0;
		memmove(tl->tl_rec, tl->tl_rec + n, tl->tl_len - (size_t)n);
		tl->tl_len -= (size_t)n;
	}
	return 1;
}

/*
 * Make room in the record buffer for more output: a sealed record is sent
 * first. Return the bytes free, or 0 with errno (EAGAIN: wait).
 */
static size_t
tls_room(struct conn *c)
{
	struct tls_conn *tl = c->c_tls;

	if (tl->tl_broken) {
		errno = EPIPE;
		return 0;
	}
	if (tl->tl_sealed && tls_push(c) == -1)
		return 0;
	if (tl->tl_rec == NULL && (tl->tl_rec = malloc(TLS_RECORD)) == NULL) {
		errno = ENOMEM;
		return 0;
	}
	return TLS_RECORD - tl->tl_len;
}

/*
 * The bytes just added to the record are taken: send it now, unless more
 * output follows at once and there is room for it. Return n, or -1 if
 * the connection broke (a full socket is no error: the record waits).
 */
static ssize_t
tls_taken(struct conn *c, size_t n, int more)
{
	if (more && c->c_tls->tl_len < TLS_RECORD)
		return (ssize_t)n;
	if (tls_push(c) == -1 && errno != EAGAIN)
		return -1;
	return (ssize_t)n;
}

/* Send len bytes of buf (some of them); more: output follows at once. */
static ssize_t
tls_send(struct conn *c, const void *buf, size_t len, int more)
{
	struct tls_conn *tl = c->c_tls;
	size_t n;

	if ((n = tls_room(c)) == 0)
		return -1;
	if (n > len)
		n = len;
	memcpy(tl->tl_rec + tl->tl_len, buf, n);
	tl->tl_len += n;
	return tls_taken(c, n, more && n == len);
}

/* Send the buffers of iov in order, as many bytes as one record holds. */
static ssize_t
tls_sendv(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct tls_conn *tl = c->c_tls;
	size_t room, n, total = 0;
	int i;

	if ((room = tls_room(c)) == 0)
		return -1;
	for (i = 0; i < iovcnt && room > 0; i++) {
		n = iov[i].iov_len < room ? iov[i].iov_len : room;
		memcpy(tl->tl_rec + tl->tl_len, iov[i].iov_base, n);
		tl->tl_len += n;
		total += n;
		room -= n;
	}
	return tls_taken(c, total, 0);
}

/* Send up to len bytes of the file fd from *off, read into the record. */
static ssize_t
tls_sendfile(struct conn *c, int fd, off_t *off, size_t len)
{
	struct tls_conn *tl = c->c_tls;
	size_t room;
	ssize_t n;

	if ((room = tls_room(c)) == 0)
		return -1;
	if ((n = pread(fd, tl->tl_rec + tl->tl_len, len < room ? len : room,
		 *off)) <= 0)
		return n;
	tl->tl_len += (size_t)n;
	*off += n;
	return tls_taken(c, (size_t)n, 0);
}

/*
 * Send the record held back: 1 if there was one and it is sent, 0 if
 * none was held, -1 with errno. conn.c calls it once the queues are
 * empty: with none held, the record buffer is freed until more output.
 */
static int
tls_flush(struct conn *c)
{
	struct tls_conn *tl = c->c_tls;

	if (tl->tl_len == 0) {
		free(tl->tl_rec);
		tl->tl_rec = NULL;
		return 0;
	}
	return tls_push(c);
}

/* Return the bytes taken from the kind and not yet sent: the record. */
static size_t
tls_held(const struct conn *c)
{
	return c->c_tls->tl_len;
}

/* Return the bytes OpenSSL has decrypted and not yet handed over. */
static size_t
tls_pending(struct conn *c)
{
	int n = SSL_pending(c->c_tls->tl_ssl);

	return n > 0 ? (size_t)n : 0;
}

/*
 * No more output: a close_notify alert, unless the connection broke or
 * never finished its handshake, then the FIN.
 */
static int
tls_shutdown(struct conn *c)
{
	tls_notify_close(c->c_tls);
	return shutdown(c->c_fd, SHUT_WR);
}

const struct conn_io io_tls = {
    .ci_open = tls_open,
    .ci_close = tls_close,
    .ci_handshake = tls_handshake,
    .ci_read = tls_read,
    .ci_pending = tls_pending,
    .ci_send = tls_send,
    .ci_sendv = tls_sendv,
    .ci_sendfile = tls_sendfile,
    .ci_flush = tls_flush,
    .ci_held = tls_held,
    .ci_shutdown = tls_shutdown,
};

/* The protocol version of a TLS connection ("TLSv1.3"), or NULL. */
const char *
tls_version(const struct conn *c)
{
	return c->c_tls != NULL ? SSL_get_version(c->c_tls->tl_ssl) : NULL;
}

/* The cipher of a TLS connection (OpenSSL's name), or NULL. */
const char *
tls_cipher(const struct conn *c)
{
	return c->c_tls != NULL ? SSL_get_cipher_name(c->c_tls->tl_ssl) : NULL;
}

/* The subject of the client's verified certificate, or NULL. */
const char *
tls_client_subject(const struct conn *c)
{
	return c->c_tls != NULL ? c->c_tls->tl_subject : NULL;
}

/*
 * Write the common name of the client's verified certificate into buf
 * (len bytes), as UTF-8. 0, or -1 if there is none or it does not fit.
 */
int
tls_client_cn(const struct conn *c, char *buf, size_t len)
{
	unsigned char *utf8;
	X509_NAME *name;
	X509 *peer;
	int i, n;

	if (c->c_tls == NULL || c->c_tls->tl_subject == NULL ||
	    (peer = SSL_get0_peer_certificate(c->c_tls->tl_ssl)) == NULL)
		return -1;
	name = X509_get_subject_name(peer);
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return -1;
	n = ASN1_STRING_to_UTF8(
	    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0) {
		ERR_clear_error();
		return -1;
	}
	if ((size_t)n >= len || memchr(utf8, '\0', (size_t)n) != NULL) {
		OPENSSL_free(utf8);
		return -1;
	}
	memcpy(buf, utf8, (size_t)n);
	buf[n] = '\0';
	OPENSSL_free(utf8);
	return 0;
}
