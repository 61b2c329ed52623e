/*
 * HTTP Basic authentication of a request, in the worker: the [http] auth
 * rule of its path, the TLS-only rule (403), the credentials verified
 * with libcrypt's crypt_r against the htpasswd hash (401 if wrong), and
 * the authenticated user kept on the connection for the log and the chat.
 *
 * A hash costs what its file says (bcrypt at cost 10: ~70 ms of CPU, in
 * the worker's loop), so each worker keeps two small caches of SHA-256
 * digests of (stored hash, user, password): credentials verified good,
 * and credentials found wrong, AUTHCHECK_CACHE each, least recently used
 * replaced. A browser sending the same field on every request costs one
 * hash per worker; repeating one wrong password costs one. Distinct
 * wrong passwords each cost a hash: only [server] limit_rate_per_ip
 * bounds how fast one address may try them. A reload starts new workers,
 * and so empty caches for the new files.
 */

#include <crypt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "pfhttpd.h"
#include "shm.h"

#define AUTHCHECK_CACHE 64 /* digests in each cache */

_Static_assert(HTPASSWD_USER_MAX == LOGREC_USER_MAX,
    "an authenticated user is logged whole");

/* A cached digest of credentials. */
struct authcheck_entry {
	unsigned char ae_key[SHA256_DIGEST_LENGTH]; /* authcheck_key() */
	uint64_t ae_used; /* authcheck_tick when last used; 0: empty */
};

/* The worker's caches: credentials verified good, found bad. */
static struct authcheck_entry authcheck_good[AUTHCHECK_CACHE];
static struct authcheck_entry authcheck_bad[AUTHCHECK_CACHE];
static uint64_t authcheck_tick;
/* crypt_r's work area (32 KiB): one for the worker, never on the stack. */
static struct crypt_data authcheck_cd;

/* Digest (stored hash, user, password) into key. */
static void
authcheck_key(const char *hash, const struct auth_basic *ab,
    unsigned char key[SHA256_DIGEST_LENGTH])
{
	char buf[HTPASSWD_HASH_MAX + 1 + AUTH_CRED_MAX + 1];
	size_t hlen = strnlen(hash, HTPASSWD_HASH_MAX), plen;

	plen = strnlen(ab->ab_pass, AUTH_CRED_MAX - ab->ab_user_len - 1);
	memcpy(buf, hash, hlen);
	buf[hlen++] = '\0';
	memcpy(buf + hlen, ab->ab_buf, ab->ab_user_len + 1 + plen);
	SHA256(
	    (const unsigned char *)buf, hlen + ab->ab_user_len + 1 + plen, key);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* Tell whether key is in cache, and mark it used if it is. */
static int
authcheck_cached(struct authcheck_entry *cache, const unsigned char *key)
{
	int i;

	for (i = 0; i < AUTHCHECK_CACHE; i++)
		if (cache[i].ae_used != 0 &&
		    memcmp(cache[i].ae_key, key, SHA256_DIGEST_LENGTH) == 0) {
			cache[i].ae_used = ++authcheck_tick;
			return 1;
		}
	return 0;
}

/* Put key in cache, over the least recently used entry. */
static void
authcheck_remember(struct authcheck_entry *cache, const unsigned char *key)
{
	int i, lru = 0;

	for (i = 1; i < AUTHCHECK_CACHE; i++)
		if (cache[i].ae_used < cache[lru].ae_used)
			lru = i;
	memcpy(cache[lru].ae_key, key, SHA256_DIGEST_LENGTH);
	cache[lru].ae_used = ++authcheck_tick;
}

/*
 * Hash password with the setting of hash and tell, in constant time,
 * whether the result is hash.
 */
static int
authcheck_crypt(const char *hash, const char *password)
{
	char setting[HTPASSWD_HASH_MAX + 1];
	const char *out;
	size_t n = strnlen(hash, HTPASSWD_HASH_MAX);

	/* crypt_r writes its result into authcheck_cd, which must never
	 * hold the setting it reads: hand it a copy of its own, never more
	 * than a hash may be (htpasswd.c refuses a longer one). */
	memcpy(setting, hash, n);
	setting[n] = '\0';
	out = crypt_r(password, setting, &authcheck_cd);
	return out != NULL && strlen(out) == n &&
	    CRYPTO_memcmp(out, hash, n) == 0;
}

/*
 * Verify credentials ab against users: 1 if right, 0 if not. An unknown
 * user costs a hash too, with the file's costliest setting, so that it
 * takes no less time than any user who exists (one who exists with a
 * cheaper hash answers faster: a file's users should share one setting).
 */
static int
authcheck_verify(struct shm_counters *sc, const struct htpasswd *users,
    const struct auth_basic *ab)
{
	unsigned char key[SHA256_DIGEST_LENGTH];
	const struct htpasswd_user *hu;
	const char *hash;
	int ok;

	if (users->hp_n == 0)
		return 0;
	hu = htpasswd_find(users, ab->ab_buf, ab->ab_user_len);
	hash = hu != NULL ? hu->hu_hash
			  : users->hp_users[users->hp_costliest].hu_hash;
	authcheck_key(hu != NULL ? hash : "", ab, key);
	if (hu != NULL && authcheck_cached(authcheck_good, key)) {
		shm_count(&sc->sc_auth_cached, 1);
		return 1;
	}
	if (authcheck_cached(authcheck_bad, key)) {
		shm_count(&sc->sc_auth_cached, 1);
		return 0;
	}
	shm_count(&sc->sc_auth_hashed, 1);
	ok = authcheck_crypt(hash, ab->ab_pass) && hu != NULL;
	authcheck_remember(ok ? authcheck_good : authcheck_bad, key);
	return ok;
}

/* Answer 401, asking for credentials of au's realm. */
static void
authcheck_unauthorized(struct conn *c, const struct auth *au)
{
	char field[sizeof("WWW-Authenticate: Basic realm=\"\", "
			  "charset=\"UTF-8\"\r\n") +
	    AUTH_REALM_MAX];

	shm_count(&c->c_worker->w_slot->ss_c.sc_auth_refused, 1);
	snprintf(field, sizeof(field),
	    "WWW-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"\r\n",
	    au->au_realm);
	http_response_error_why(
	    c, 401, field, "This page needs a user name and a password.");
}

/*
 * Check the request for path (normalised) against the rules au. 0 if it
 * may be answered (c_user holds the user if one was authenticated); 1 if
 * a 401 or 403 is queued instead.
 */
int
authcheck_path(struct conn *c, const struct http_request *req,
    const struct auth *au, const char *path)
{
	const struct http_header *h;
	const struct auth_rule *ar;
	struct auth_basic ab;

	if (au->au_n == 0 || (ar = auth_match(au, path, strlen(path))) == NULL)
		return 0;
	if (au->au_tls_only && c->c_tls == NULL) {
		http_response_error_why(c, 403, NULL,
		    "This page needs a password, which is only sent over "
		    "TLS: use https://.");
		return 1;
	}
	if ((h = http_header_find(req, "Authorization")) == NULL ||
	    auth_basic_parse(h->hh_value, h->hh_value_len, &ab) == -1 ||
	    !authcheck_verify(&c->c_worker->w_slot->ss_c, &ar->ar_users, &ab)) {
		authcheck_unauthorized(c, au);
		return 1;
	}
	memcpy(c->c_user, ab.ab_buf, ab.ab_user_len + 1);
	return 0;
}

/*
 * Check the request for path (normalised) against its host's auth rules,
 * as authcheck_path(). The chat endpoint is left to wschat_route(), which
 * checks the room against [http]'s (chatauth.c).
 */
int
authcheck_request(
    struct conn *c, const struct http_request *req, const char *path)
{
	if (wschat_is_endpoint(c->c_worker->w_cf, path))
		return 0;
	return authcheck_path(c, req, &conn_host(c)->vh_auth, path);
}
