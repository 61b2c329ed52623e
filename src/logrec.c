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
 *	str	addr, method, target, protocol, referer, agent
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
};

/* Encoder state: a caller buffer and how much of it is used. */
struct logrec_wbuf {
	unsigned char *w_buf;
	size_t w_len; /* size of w_buf */
	size_t w_pos; /* bytes written */
	int w_full;   /* something did not fit */
};

/* Decoder state: the input and how much of it is consumed. */
struct logrec_rbuf {
	const unsigned char *r_buf;
	size_t r_len; /* size of r_buf */
	size_t r_pos; /* bytes consumed */
};

/* Append the n bytes at p, or mark the buffer full if they do not fit. */
static void
logrec_put(struct logrec_wbuf *w, const void *p, size_t n)
{
	if (w->w_full || n > w->w_len - w->w_pos) {
		w->w_full = 1;
		return;
	}
	memcpy(w->w_buf + w->w_pos, p, n);
	w->w_pos += n;
}

/* Append the string s, cut at its NUL or at max bytes, as a str field. */
static void
logrec_put_str(struct logrec_wbuf *w, const char *s, size_t max)
{
	uint16_t n;

	n = (uint16_t)strnlen(s, max);
	logrec_put(w, &n, sizeof(n));
	logrec_put(w, s, n);
}

/* Copy the next n bytes of the input to p; 0, or -1 if they are missing. */
static int
logrec_get(struct logrec_rbuf *r, void *p, size_t n)
{
	if (n > r->r_len - r->r_pos)
		return -1;
	memcpy(p, r->r_buf + r->r_pos, n);
	r->r_pos += n;
	return 0;
}

/*
 * Read a str field into s, which has room for max bytes and a NUL; 0, or
 * -1 if it is truncated, longer than max or holds a NUL byte.
 */
static int
logrec_get_str(struct logrec_rbuf *r, char *s, size_t max)
{
	uint16_t n;

	if (logrec_get(r, &n, sizeof(n)) == -1 || n > max ||
	    logrec_get(r, s, n) == -1 || memchr(s, '\0', n) != NULL)
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
	struct logrec_wbuf w;
	uint8_t type;
	int32_t status;
	int i;

	w.w_buf = buf;
	w.w_len = len;
	w.w_pos = 0;
	w.w_full = 0;

	if (lr->lr_type != LOGREC_ACCESS && lr->lr_type != LOGREC_ERROR)
		return 0;
	type = (uint8_t)lr->lr_type;
	logrec_put(&w, &type, sizeof(type));
	logrec_put(&w, &lr->lr_time_usec, sizeof(lr->lr_time_usec));
	if (lr->lr_type == LOGREC_ERROR)
		logrec_put_str(&w, lr->lr_message, LOGREC_MESSAGE_MAX);
	else {
		status = (int32_t)lr->lr_status;
		logrec_put(
		    &w, &lr->lr_duration_usec, sizeof(lr->lr_duration_usec));
		logrec_put(&w, &lr->lr_bytes, sizeof(lr->lr_bytes));
		logrec_put(&w, &status, sizeof(status));
		for (i = 0; i < LOGREC_NSTR; i++)
			logrec_put_str(&w,
			    (const char *)lr + logrec_fields[i].lf_off,
			    logrec_fields[i].lf_max);
	}
	return w.w_full ? 0 : w.w_pos;
}

/*
 * Return the encoded length of the access record la (at most LOGREC_MAX):
 * the bytes logrec_encode_access() writes.
 */
size_t
logrec_access_size(const struct logrec_access *la)
{
	size_t n = 1 + 3 * sizeof(uint64_t) + sizeof(int32_t);
	int i;

	for (i = 0; i < LOGREC_NSTR; i++)
		n += sizeof(uint16_t) +
		    (la->la_len[i] < logrec_fields[i].lf_max
			    ? la->la_len[i]
			    : logrec_fields[i].lf_max);
	return n;
}

/*
 * Encode the access record la into buf, which has room for
 * logrec_access_size(la) bytes: the same bytes logrec_encode() makes of
 * the same fields, read from where the caller has them (no copy first).
 * A string longer than its bound is cut to it.
 */
void
logrec_encode_access(const struct logrec_access *la, void *buf)
{
	struct logrec_wbuf w;
	uint8_t type = LOGREC_ACCESS;
	int32_t status = (int32_t)la->la_status;
	uint16_t n;
	size_t len;
	int i;

	w.w_buf = buf;
	w.w_len = logrec_access_size(la);
	w.w_pos = 0;
	w.w_full = 0;
	logrec_put(&w, &type, sizeof(type));
	logrec_put(&w, &la->la_time_usec, sizeof(la->la_time_usec));
	logrec_put(&w, &la->la_duration_usec, sizeof(la->la_duration_usec));
	logrec_put(&w, &la->la_bytes, sizeof(la->la_bytes));
	logrec_put(&w, &status, sizeof(status));
	for (i = 0; i < LOGREC_NSTR; i++) {
		len = la->la_len[i] < logrec_fields[i].lf_max
		    ? la->la_len[i]
		    : logrec_fields[i].lf_max;
		n = (uint16_t)len;
		logrec_put(&w, &n, sizeof(n));
		logrec_put(&w, la->la_str[i], len);
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
	struct logrec_rbuf r;
	uint8_t type;
	int32_t status;
	int i;

	r.r_buf = buf;
	r.r_len = len;
	r.r_pos = 0;
	/* Each field, not the whole 2.7 KB struct: this runs once a line. */
	lr->lr_duration_usec = 0;
	lr->lr_bytes = 0;
	lr->lr_status = 0;
	lr->lr_message[0] = '\0';
	for (i = 0; i < LOGREC_NSTR; i++)
		((char *)lr + logrec_fields[i].lf_off)[0] = '\0';

	if (logrec_get(&r, &type, sizeof(type)) == -1 ||
	    (type != LOGREC_ACCESS && type != LOGREC_ERROR))
		return -1;
	lr->lr_type = (enum logrec_type)type;
	if (logrec_get(&r, &lr->lr_time_usec, sizeof(lr->lr_time_usec)) == -1)
		return -1;
	if (type == LOGREC_ERROR) {
		if (logrec_get_str(&r, lr->lr_message, LOGREC_MESSAGE_MAX) ==
		    -1)
			return -1;
	} else {
		if (logrec_get(&r, &lr->lr_duration_usec,
			sizeof(lr->lr_duration_usec)) == -1 ||
		    logrec_get(&r, &lr->lr_bytes, sizeof(lr->lr_bytes)) == -1 ||
		    logrec_get(&r, &status, sizeof(status)) == -1)
			return -1;
		lr->lr_status = (int)status;
		for (i = 0; i < LOGREC_NSTR; i++)
			if (logrec_get_str(&r,
				(char *)lr + logrec_fields[i].lf_off,
				logrec_fields[i].lf_max) == -1)
				return -1;
	}
	return r.r_pos == r.r_len ? 0 : -1;
}
