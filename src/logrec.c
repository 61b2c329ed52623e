/*
 * Log records: the binary encoding that workers put in their shared-memory
 * log ring and the logger takes out. Both sides run on the same machine
 * from the same binary, so integers are in native byte order.
 *
 * Layout (no padding, no alignment assumed):
 *
 *	u8	type		LOGREC_ACCESS or LOGREC_ERROR
 *   LOGREC_ACCESS:
 *	u64	time		lr_time_usec
 *	u64	duration	lr_duration_usec
 *	u64	bytes		lr_bytes
 *	i32	status		lr_status
 *	str	addr, method, target, protocol, referer, agent,
 *		tls_version, tls_cipher, tls_subject ("" on a plain
 *		connection; tls_subject "" without a verified client
 *		certificate), host (the host that answered, "" if
 *		none), port (the local port, decimal), user (the Basic
 *		auth user, "" if none)
 *   LOGREC_ERROR:
 *	u64	time		lr_time_usec
 *	str	message
 *
 * where a str is a u16 length followed by that many bytes, no NUL, at
 * most the field's LOGREC_*_MAX bound, with no NUL byte inside. A record
 * is exactly its fields: a decoder rejects anything shorter or longer.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pfhttpd.h"

/* The longest access record: every string at its bound. */
#define LOGREC_ACCESS_WORST                                                    \
	(1 + 3 * sizeof(uint64_t) + sizeof(int32_t) +                          \
	    LOGREC_NSTR * sizeof(uint16_t) + LOGREC_ADDR_MAX +                 \
	    LOGREC_METHOD_MAX + LOGREC_TARGET_MAX + LOGREC_PROTO_MAX +         \
	    LOGREC_REFERER_MAX + LOGREC_AGENT_MAX + LOGREC_TLS_VERSION_MAX +   \
	    LOGREC_TLS_CIPHER_MAX + LOGREC_TLS_SUBJECT_MAX + LOGREC_HOST_MAX + \
	    LOGREC_PORT_MAX + LOGREC_USER_MAX)

_Static_assert(LOGREC_ACCESS_WORST <= LOGREC_MAX, "an access record fits");
_Static_assert(
    1 + sizeof(uint64_t) + sizeof(uint16_t) + LOGREC_MESSAGE_MAX <= LOGREC_MAX,
    "an error record fits");

/* A string field of an access record: its member and bound, in order. */
struct logrec_field {
	size_t lf_off; /* offsetof the char array in struct logrec */
	size_t lf_max; /* LOGREC_*_MAX: longest string, bytes */
};

static const struct logrec_field logrec_fields[LOGREC_NSTR] = {
    {offsetof(struct logrec, lr_addr), LOGREC_ADDR_MAX},
    {offsetof(struct logrec, lr_method), LOGREC_METHOD_MAX},
    {offsetof(struct logrec, lr_target), LOGREC_TARGET_MAX},
    {offsetof(struct logrec, lr_protocol), LOGREC_PROTO_MAX},
    {offsetof(struct logrec, lr_referer), LOGREC_REFERER_MAX},
    {offsetof(struct logrec, lr_agent), LOGREC_AGENT_MAX},
    {offsetof(struct logrec, lr_tls_version), LOGREC_TLS_VERSION_MAX},
    {offsetof(struct logrec, lr_tls_cipher), LOGREC_TLS_CIPHER_MAX},
    {offsetof(struct logrec, lr_tls_subject), LOGREC_TLS_SUBJECT_MAX},
    {offsetof(struct logrec, lr_host), LOGREC_HOST_MAX},
    {offsetof(struct logrec, lr_port), LOGREC_PORT_MAX},
    {offsetof(struct logrec, lr_user), LOGREC_USER_MAX},
};

/* Append the string s, cut at its NUL or at max bytes, as a str field. */
static void
logrec_put_str(struct wire_out *w, const char *s, size_t max)
{
	uint16_t n;

	n = (uint16_t)strnlen(s, max);
	wire_put(w, &n, sizeof(n));
	wire_put(w, s, n);
}

/*
 * Read a str field into s, which has room for max bytes and a NUL; 0, or
 * -1 if it is truncated, longer than max or holds a NUL byte.
 */
static int
logrec_get_str(struct wire_in *r, char *s, size_t max)
{
	uint16_t n;

	if (wire_get(r, &n, sizeof(n)) == -1 || n > max ||
	    wire_get(r, s, n) == -1 || memchr(s, '\0', n) != NULL)
		return -1;
	s[n] = '\0';
	return 0;
}

/*
 * Encode lr into buf[0..len). Strings are read up to their NUL or their
 * LOGREC_*_MAX bound, whichever comes first, and stored truncated to that
 * bound. Return the encoded length, or 0 if it does not fit in len or the
 * type is unknown. With len >= LOGREC_MAX a known type always fits.
 */
size_t
logrec_encode(const struct logrec *lr, void *buf, size_t len)
{
	struct wire_out w;
	uint8_t type;
	int32_t status;
	int i;

	wire_out_init(&w, buf, len);

	if (lr->lr_type != LOGREC_ACCESS && lr->lr_type != LOGREC_ERROR)
		return 0;
	type = (uint8_t)lr->lr_type;
	wire_put(&w, &type, sizeof(type));
	wire_put(&w, &lr->lr_time_usec, sizeof(lr->lr_time_usec));
	if (lr->lr_type == LOGREC_ERROR)
		logrec_put_str(&w, lr->lr_message, LOGREC_MESSAGE_MAX);
	else {
		status = (int32_t)lr->lr_status;
		wire_put(
		    &w, &lr->lr_duration_usec, sizeof(lr->lr_duration_usec));
		wire_put(&w, &lr->lr_bytes, sizeof(lr->lr_bytes));
		wire_put(&w, &status, sizeof(status));
		for (i = 0; i < LOGREC_NSTR; i++)
			logrec_put_str(&w,
			    (const char *)lr + logrec_fields[i].lf_off,
			    logrec_fields[i].lf_max);
	}
	return w.wo_full ? 0 : w.wo_pos;
}

/* Set a string field to the NUL-terminated s. */
static void
logrec_str_set(struct logrec_str *str, const char *s)
{
	str->lstr_ptr = s;
	str->lstr_len = strlen(s);
}

/* Set a string field to the n bytes at s. */
static void
logrec_str_span(struct logrec_str *str, const char *s, size_t n)
{
	str->lstr_ptr = s;
	str->lstr_len = n;
}

/* Keep n bytes of p in the field buf (room for max and a NUL), cut to max. */
static uint16_t
logrec_line_put(char *buf, size_t max, const char *p, size_t n)
{
	if (n > max)
		n = max;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return (uint16_t)n;
}

/*
 * Keep the request line that starts at p (len bytes at most, up to its
 * first CR, LF or NUL) split into method, target and protocol, each cut
 * to its bound: as the parser split it (req, whose hr_line is p), or, for
 * a line the parser refused (req NULL), at its first two spaces. A line
 * without two spaces is not a request line: all of it is the target, so
 * that nothing is hidden.
 */
void
logrec_line_save(struct logrec_line *rl, const char *p, size_t len,
    const struct http_request *req)
{
	const char *sp1, *sp2, *end;
	size_t n;

	for (n = 0; n < len && p[n] != '\r' && p[n] != '\n' && p[n] != '\0';
	     n++)
		;
	end = p + n;
	if (req != NULL) {
		sp1 = req->hr_target - 1;
		sp2 = req->hr_target + req->hr_target_len;
	} else if ((sp1 = memchr(p, ' ', n)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL) {
		logrec_line_clear(rl);
		rl->rl_target_len =
		    logrec_line_put(rl->rl_target, LOGREC_TARGET_MAX, p, n);
		return;
	}
	rl->rl_method_len = logrec_line_put(
	    rl->rl_method, LOGREC_METHOD_MAX, p, (size_t)(sp1 - p));
	rl->rl_target_len = logrec_line_put(
	    rl->rl_target, LOGREC_TARGET_MAX, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	rl->rl_protocol_len = logrec_line_put(rl->rl_protocol, LOGREC_PROTO_MAX,
	    sp2 + 1, (size_t)(end - sp2 - 1));
}

/* Forget the kept line: an empty one (no request was read). */
void
logrec_line_clear(struct logrec_line *rl)
{
	rl->rl_method[0] = rl->rl_target[0] = rl->rl_protocol[0] = '\0';
	rl->rl_method_len = rl->rl_target_len = rl->rl_protocol_len = 0;
}

/*
 * Point the string fields of an access record at where the worker has
 * them: the client address, the kept request line's method, target and
 * protocol, the Referer and the User-Agent (NUL-terminated, "" if none).
 * The TLS fields are set to "", a plain connection's: logrec_access_tls()
 * sets them for a TLS one; host, port and user too: logrec_access_site()
 * sets them.
 */
void
logrec_access_strings(struct logrec_access *ac, const char *addr,
    const struct logrec_line *rl, const char *referer, const char *agent)
{
	logrec_str_set(&ac->ac_addr, addr);
	logrec_str_span(&ac->ac_method, rl->rl_method, rl->rl_method_len);
	logrec_str_span(&ac->ac_target, rl->rl_target, rl->rl_target_len);
	logrec_str_span(&ac->ac_protocol, rl->rl_protocol, rl->rl_protocol_len);
	logrec_str_set(&ac->ac_referer, referer);
	logrec_str_set(&ac->ac_agent, agent);
	logrec_access_tls(ac, NULL, NULL, NULL);
	logrec_access_site(ac, NULL, NULL, NULL);
}

/*
 * Point the TLS fields of an access record at the connection's protocol
 * version ("TLSv1.3"), cipher (OpenSSL's name) and verified client
 * certificate's subject (RFC 2253), each NUL-terminated or NULL for "".
 * They must outlive the record's encoding, as the other fields.
 */
void
logrec_access_tls(struct logrec_access *ac, const char *version,
    const char *cipher, const char *subject)
{
	logrec_str_set(&ac->ac_tls_version, version != NULL ? version : "");
	logrec_str_set(&ac->ac_tls_cipher, cipher != NULL ? cipher : "");
	logrec_str_set(&ac->ac_tls_subject, subject != NULL ? subject : "");
}

/*
 * Point the site fields of an access record at the host that answered
 * (its first name, or the implicit host's normalised Host field), the
 * local port in decimal and the Basic auth user, each NUL-terminated or
 * NULL for "". They must outlive the record's encoding.
 */
void
logrec_access_site(struct logrec_access *ac, const char *host, const char *port,
    const char *user)
{
	logrec_str_set(&ac->ac_host, host != NULL ? host : "");
	logrec_str_set(&ac->ac_port, port != NULL ? port : "");
	logrec_str_set(&ac->ac_user, user != NULL ? user : "");
}

/* Fill fields[] with the string fields of ac, in the encoding's order. */
static void
logrec_access_fields(
    const struct logrec_access *ac, const struct logrec_str *fields[])
{
	fields[0] = &ac->ac_addr;
	fields[1] = &ac->ac_method;
	fields[2] = &ac->ac_target;
	fields[3] = &ac->ac_protocol;
	fields[4] = &ac->ac_referer;
	fields[5] = &ac->ac_agent;
	fields[6] = &ac->ac_tls_version;
	fields[7] = &ac->ac_tls_cipher;
	fields[8] = &ac->ac_tls_subject;
	fields[9] = &ac->ac_host;
	fields[10] = &ac->ac_port;
	fields[11] = &ac->ac_user;
}

/* Return the bytes of string field i of ac as encoded: cut to its bound. */
static size_t
logrec_access_len(const struct logrec_str *str, int i)
{
	return str->lstr_len < logrec_fields[i].lf_max
	    ? str->lstr_len
	    : logrec_fields[i].lf_max;
}

/*
 * Return the encoded length of the access record ac (at most LOGREC_MAX):
 * the bytes logrec_encode_access() writes.
 */
size_t
logrec_access_size(const struct logrec_access *ac)
{
	const struct logrec_str *fields[LOGREC_NSTR];
	size_t n = 1 + 3 * sizeof(uint64_t) + sizeof(int32_t);
	int i;

	logrec_access_fields(ac, fields);
	for (i = 0; i < LOGREC_NSTR; i++)
		n += sizeof(uint16_t) + logrec_access_len(fields[i], i);
	return n;
}

/*
 * Encode the access record ac into buf, which has room for
 * logrec_access_size(ac) bytes: the same bytes logrec_encode() makes of
 * the same fields, read from where the caller has them (no copy first).
 * A string longer than its bound is cut to it.
 */
void
logrec_encode_access(const struct logrec_access *ac, void *buf)
{
	const struct logrec_str *fields[LOGREC_NSTR];
	struct wire_out w;
	uint8_t type = LOGREC_ACCESS;
	int32_t status = (int32_t)ac->ac_status;
	uint16_t n;
	int i;

	wire_out_init(&w, buf, logrec_access_size(ac));
	wire_put(&w, &type, sizeof(type));
	wire_put(&w, &ac->ac_time_usec, sizeof(ac->ac_time_usec));
	wire_put(&w, &ac->ac_duration_usec, sizeof(ac->ac_duration_usec));
	wire_put(&w, &ac->ac_bytes, sizeof(ac->ac_bytes));
	wire_put(&w, &status, sizeof(status));
	logrec_access_fields(ac, fields);
	for (i = 0; i < LOGREC_NSTR; i++) {
		n = (uint16_t)logrec_access_len(fields[i], i);
		wire_put(&w, &n, sizeof(n));
		wire_put(&w, fields[i]->lstr_ptr, n);
	}
}

/*
 * Decode the record in buf[0..len) into *lr, strings NUL-terminated and
 * fields the record type does not have empty or zero. Return 0, or -1 if
 * the input is not exactly one well-formed record; *lr is then undefined.
 * Reads nothing outside buf[0..len), whatever the bytes.
 */
int
logrec_decode(const void *buf, size_t len, struct logrec *lr)
{
	struct wire_in r;
	uint8_t type;
	int32_t status;
	int i;

	wire_in_init(&r, buf, len);
	/* Each field, not the whole 4.1 KB struct: this runs once a line. */
	lr->lr_duration_usec = 0;
	lr->lr_bytes = 0;
	lr->lr_status = 0;
	lr->lr_message[0] = '\0';
	for (i = 0; i < LOGREC_NSTR; i++)
		((char *)lr + logrec_fields[i].lf_off)[0] = '\0';

	if (wire_get(&r, &type, sizeof(type)) == -1 ||
	    (type != LOGREC_ACCESS && type != LOGREC_ERROR))
		return -1;
	lr->lr_type = (enum logrec_type)type;
	if (wire_get(&r, &lr->lr_time_usec, sizeof(lr->lr_time_usec)) == -1)
		return -1;
	if (type == LOGREC_ERROR) {
		if (logrec_get_str(&r, lr->lr_message, LOGREC_MESSAGE_MAX) ==
		    -1)
			return -1;
	} else {
		if (wire_get(&r, &lr->lr_duration_usec,
			sizeof(lr->lr_duration_usec)) == -1 ||
		    wire_get(&r, &lr->lr_bytes, sizeof(lr->lr_bytes)) == -1 ||
		    wire_get(&r, &status, sizeof(status)) == -1)
			return -1;
		lr->lr_status = (int)status;
		for (i = 0; i < LOGREC_NSTR; i++)
			if (logrec_get_str(&r,
				(char *)lr + logrec_fields[i].lf_off,
				logrec_fields[i].lf_max) == -1)
				return -1;
	}
	return r.wi_pos == r.wi_len ? 0 : -1;
}
