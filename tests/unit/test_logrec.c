/*
 * Unit tests for logrec.c: the binary log record, encoded and decoded.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define T_FIXED_LEN	 (1 + 8 + 8 + 8 + 4) /* type, numbers of an access */
#define T_GARBAGE_ROUNDS 200000

/* A string field of an access record, for tests that visit each one. */
struct t_field {
	const char *tf_name;
	size_t tf_off;
	size_t tf_max;
};

static const struct t_field t_fields[] = {
    {"addr", offsetof(struct logrec, lr_addr), LOGREC_ADDR_MAX},
    {"method", offsetof(struct logrec, lr_method), LOGREC_METHOD_MAX},
    {"target", offsetof(struct logrec, lr_target), LOGREC_TARGET_MAX},
    {"protocol", offsetof(struct logrec, lr_protocol), LOGREC_PROTO_MAX},
    {"referer", offsetof(struct logrec, lr_referer), LOGREC_REFERER_MAX},
    {"agent", offsetof(struct logrec, lr_agent), LOGREC_AGENT_MAX},
    {"tls_version", offsetof(struct logrec, lr_tls_version),
	LOGREC_TLS_VERSION_MAX},
    {"tls_cipher", offsetof(struct logrec, lr_tls_cipher),
	LOGREC_TLS_CIPHER_MAX},
    {"tls_subject", offsetof(struct logrec, lr_tls_subject),
	LOGREC_TLS_SUBJECT_MAX},
    {"host", offsetof(struct logrec, lr_host), LOGREC_HOST_MAX},
    {"port", offsetof(struct logrec, lr_port), LOGREC_PORT_MAX},
    {"user", offsetof(struct logrec, lr_user), LOGREC_USER_MAX},
};

#define T_NFIELDS (sizeof(t_fields) / sizeof(t_fields[0]))

/* Return the storage of string field i of lr. */
static char *
t_field(struct logrec *lr, size_t i)
{
	return (char *)lr + t_fields[i].tf_off;
}

/* Fill lr with a typical access record, over TLS with a client certificate. */
static void
t_sample_access(struct logrec *lr)
{
	memset(lr, 0, sizeof(*lr));
	lr->lr_type = LOGREC_ACCESS;
	lr->lr_time_usec = 1795257790123456ULL;
	lr->lr_duration_usec = 456;
	lr->lr_bytes = 1234;
	lr->lr_status = 200;
	strcpy(lr->lr_addr, "2001:db8::7");
	strcpy(lr->lr_method, "GET");
	strcpy(lr->lr_target, "/index.html?q=1");
	strcpy(lr->lr_protocol, "HTTP/1.1");
	strcpy(lr->lr_referer, "https://example.com/");
	strcpy(lr->lr_agent, "curl/8.0");
	strcpy(lr->lr_tls_version, "TLSv1.3");
	strcpy(lr->lr_tls_cipher, "TLS_AES_256_GCM_SHA384");
	strcpy(lr->lr_tls_subject, "CN=Zo\xc3\xab \\\"Q\\\",O=Example\\, Inc.");
	strcpy(lr->lr_host, "www.example.com");
	strcpy(lr->lr_port, "8443");
	strcpy(lr->lr_user, "Zo\xc3\xab \"q\"");
}

/* Fill lr with a typical error record. */
static void
t_sample_error(struct logrec *lr)
{
	memset(lr, 0, sizeof(*lr));
	lr->lr_type = LOGREC_ERROR;
	lr->lr_time_usec = 1795257790000001ULL;
	strcpy(lr->lr_message, "worker 3: open \"/x\": Permission denied");
}

/* Assert that two records hold the same fields. */
static void
t_assert_same(const struct logrec *a, const struct logrec *b)
{
	assert_int_equal(a->lr_type, b->lr_type);
	assert_true(a->lr_time_usec == b->lr_time_usec);
	assert_true(a->lr_duration_usec == b->lr_duration_usec);
	assert_true(a->lr_bytes == b->lr_bytes);
	assert_int_equal(a->lr_status, b->lr_status);
	assert_string_equal(a->lr_addr, b->lr_addr);
	assert_string_equal(a->lr_method, b->lr_method);
	assert_string_equal(a->lr_target, b->lr_target);
	assert_string_equal(a->lr_protocol, b->lr_protocol);
	assert_string_equal(a->lr_referer, b->lr_referer);
	assert_string_equal(a->lr_agent, b->lr_agent);
	assert_string_equal(a->lr_tls_version, b->lr_tls_version);
	assert_string_equal(a->lr_tls_cipher, b->lr_tls_cipher);
	assert_string_equal(a->lr_tls_subject, b->lr_tls_subject);
	assert_string_equal(a->lr_host, b->lr_host);
	assert_string_equal(a->lr_port, b->lr_port);
	assert_string_equal(a->lr_user, b->lr_user);
	assert_string_equal(a->lr_message, b->lr_message);
}

/* Encode lr into buf (LOGREC_MAX bytes), decode it back into out. */
static size_t
t_round_trip(const struct logrec *lr, unsigned char *buf, struct logrec *out)
{
	size_t n;

	n = logrec_encode(lr, buf, LOGREC_MAX);
	assert_true(n > 0 && n <= LOGREC_MAX);
	memset(out, 'X', sizeof(*out));
	assert_int_equal(logrec_decode(buf, n, out), 0);
	return n;
}

/*
 * Decode a copy of buf[0..len) held in a heap block of exactly len bytes,
 * so that a read past the end is caught by a memory checker.
 */
static int
t_decode_exact(const void *buf, size_t len, struct logrec *lr)
{
	void *copy;
	int rc;

	copy = malloc(len == 0 ? 1 : len);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	rc = logrec_decode(len == 0 ? (char *)copy + 1 : copy, len, lr);
	free(copy);
	return rc;
}

/* Append n bytes at p to buf at *pos, a test-side encoder. */
static void
t_put(unsigned char *buf, size_t *pos, const void *p, size_t n)
{
	memcpy(buf + *pos, p, n);
	*pos += n;
}

/* Append a string field of length n, filled with c, to buf at *pos. */
static void
t_put_str(unsigned char *buf, size_t *pos, size_t n, int c)
{
	uint16_t len;

	len = (uint16_t)n;
	t_put(buf, pos, &len, sizeof(len));
	memset(buf + *pos, c, n);
	*pos += n;
}

/*
 * Build by hand an access record of nstr string fields, field i of length
 * n[i], into buf; return its length.
 */
static size_t
t_build_access_n(unsigned char *buf, const size_t *n, size_t nstr)
{
	uint64_t u;
	int32_t status;
	uint8_t type;
	size_t pos, i;

	pos = 0;
	type = LOGREC_ACCESS;
	t_put(buf, &pos, &type, 1);
	u = 7;
	t_put(buf, &pos, &u, 8);
	t_put(buf, &pos, &u, 8);
	t_put(buf, &pos, &u, 8);
	status = 200;
	t_put(buf, &pos, &status, 4);
	for (i = 0; i < nstr; i++)
		t_put_str(buf, &pos, n[i], 'a');
	return pos;
}

/* Build by hand an access record whose string field i has length n[i]. */
static size_t
t_build_access(unsigned char *buf, const size_t n[T_NFIELDS])
{
	return t_build_access_n(buf, n, T_NFIELDS);
}

/* An access record survives encoding and decoding unchanged. */
static void
test_access_record_round_trips(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr, out;

	(void)state;
	t_sample_access(&lr);
	t_round_trip(&lr, buf, &out);
	t_assert_same(&lr, &out);
}

/*
 * Encoding an access record from its fields where they lie gives the very
 * bytes logrec_encode() gives, at the size logrec_access_size() says,
 * strings longer than their bounds cut as there.
 */
static void
test_encode_access_matches_encode(void **state)
{
	unsigned char want[LOGREC_MAX], got[LOGREC_MAX + 1];
	struct logrec_access ac;
	struct logrec_str *fields[] = {&ac.ac_addr, &ac.ac_method,
	    &ac.ac_target, &ac.ac_protocol, &ac.ac_referer, &ac.ac_agent,
	    &ac.ac_tls_version, &ac.ac_tls_cipher, &ac.ac_tls_subject,
	    &ac.ac_host, &ac.ac_port, &ac.ac_user};
	struct logrec lr;
	size_t n, i, round;

	(void)state;
	for (round = 0; round < 2; round++) {
		t_sample_access(&lr);
		if (round == 1) /* every string over its bound */
			for (i = 0; i < T_NFIELDS; i++) {
				memset(t_field(&lr, i), 'q',
				    t_fields[i].tf_max + 1);
				t_field(&lr, i)[t_fields[i].tf_max] = '\0';
			}
		n = logrec_encode(&lr, want, sizeof(want));
		assert_true(n > 0);
		ac.ac_time_usec = lr.lr_time_usec;
		ac.ac_duration_usec = lr.lr_duration_usec;
		ac.ac_bytes = lr.lr_bytes;
		ac.ac_status = lr.lr_status;
		for (i = 0; i < T_NFIELDS; i++) {
			fields[i]->lstr_ptr = t_field(&lr, i);
			fields[i]->lstr_len = round == 1
			    ? t_fields[i].tf_max + 1
			    : strlen(t_field(&lr, i));
		}
		assert_int_equal(logrec_access_size(&ac), n);
		memset(got, 0xee, sizeof(got));
		logrec_encode_access(&ac, got);
		assert_memory_equal(got, want, n);
		assert_int_equal(got[n], 0xee); /* nothing written past it */
	}
}

/* An error record survives unchanged, access fields empty. */
static void
test_error_record_round_trips(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr, out;

	(void)state;
	t_sample_error(&lr);
	t_round_trip(&lr, buf, &out);
	t_assert_same(&lr, &out);
	assert_int_equal(out.lr_type, LOGREC_ERROR);
	assert_string_equal(out.lr_target, "");
	assert_int_equal(out.lr_status, 0);
}

/* The first byte of an encoding is its type. */
static void
test_first_byte_is_the_type(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr;

	(void)state;
	t_sample_access(&lr);
	assert_true(logrec_encode(&lr, buf, sizeof(buf)) > 0);
	assert_int_equal(buf[0], LOGREC_ACCESS);
	t_sample_error(&lr);
	assert_true(logrec_encode(&lr, buf, sizeof(buf)) > 0);
	assert_int_equal(buf[0], LOGREC_ERROR);
}

/* The encoded length is the fixed part plus 2 + length per string. */
static void
test_encoded_length_is_compact(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr;
	size_t want, i;

	(void)state;
	t_sample_access(&lr);
	want = T_FIXED_LEN;
	for (i = 0; i < T_NFIELDS; i++)
		want += 2 + strlen(t_field(&lr, i));
	assert_int_equal(logrec_encode(&lr, buf, sizeof(buf)), want);

	t_sample_error(&lr);
	want = 1 + 8 + 2 + strlen(lr.lr_message);
	assert_int_equal(logrec_encode(&lr, buf, sizeof(buf)), want);
}

/* Extreme numbers, a negative status included, survive unchanged. */
static void
test_numeric_extremes_round_trip(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr, out;

	(void)state;
	t_sample_access(&lr);
	lr.lr_time_usec = UINT64_MAX;
	lr.lr_duration_usec = UINT64_MAX - 1;
	lr.lr_bytes = 0x0102030405060708ULL;
	lr.lr_status = INT_MIN;
	t_round_trip(&lr, buf, &out);
	t_assert_same(&lr, &out);
	lr.lr_status = INT_MAX;
	t_round_trip(&lr, buf, &out);
	t_assert_same(&lr, &out);
}

/* Empty strings everywhere round trip as empty strings. */
static void
test_empty_strings_round_trip(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr, out;

	(void)state;
	memset(&lr, 0, sizeof(lr));
	lr.lr_type = LOGREC_ACCESS;
	assert_int_equal(
	    t_round_trip(&lr, buf, &out), T_FIXED_LEN + 2 * T_NFIELDS);
	t_assert_same(&lr, &out);
}

/* Every field at its bound round trips and fits in LOGREC_MAX. */
static void
test_maximal_fields_round_trip(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr, out;
	size_t i;

	(void)state;
	t_sample_access(&lr);
	for (i = 0; i < T_NFIELDS; i++) {
		memset(t_field(&lr, i), 'a' + (int)i, t_fields[i].tf_max);
		t_field(&lr, i)[t_fields[i].tf_max] = '\0';
	}
	t_round_trip(&lr, buf, &out);
	t_assert_same(&lr, &out);

	t_sample_error(&lr);
	memset(lr.lr_message, 'm', LOGREC_MESSAGE_MAX);
	lr.lr_message[LOGREC_MESSAGE_MAX] = '\0';
	t_round_trip(&lr, buf, &out);
	t_assert_same(&lr, &out);
}

/*
 * Strings with no NUL in their whole array are cut at their bound: the
 * encoder never reads past it.
 */
static void
test_unterminated_strings_are_cut_to_bounds(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr, out;
	size_t i;

	(void)state;
	t_sample_access(&lr);
	for (i = 0; i < T_NFIELDS; i++)
		memset(t_field(&lr, i), 'z', t_fields[i].tf_max + 1);
	t_round_trip(&lr, buf, &out);
	for (i = 0; i < T_NFIELDS; i++)
		if (strlen(t_field(&out, i)) != t_fields[i].tf_max)
			fail_msg("%s: %zu bytes", t_fields[i].tf_name,
			    strlen(t_field(&out, i)));

	t_sample_error(&lr);
	memset(lr.lr_message, 'z', sizeof(lr.lr_message));
	t_round_trip(&lr, buf, &out);
	assert_int_equal(strlen(out.lr_message), LOGREC_MESSAGE_MAX);
}

/* Bytes after a string's NUL are not encoded. */
static void
test_strings_end_at_their_nul(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr, out;
	size_t i;

	(void)state;
	t_sample_access(&lr);
	for (i = 0; i < T_NFIELDS; i++) {
		memset(t_field(&lr, i), 'q', t_fields[i].tf_max + 1);
		memcpy(t_field(&lr, i), "ab", 3);
	}
	assert_int_equal(
	    t_round_trip(&lr, buf, &out), T_FIXED_LEN + T_NFIELDS * 4);
	for (i = 0; i < T_NFIELDS; i++)
		assert_string_equal(t_field(&out, i), "ab");
}

/* Encoding into too small a buffer returns 0 and writes nothing past it. */
static void
test_encode_fails_when_buffer_too_small(void **state)
{
	unsigned char buf[LOGREC_MAX + 1];
	struct logrec lr;
	size_t n, len;

	(void)state;
	t_sample_access(&lr);
	n = logrec_encode(&lr, buf, sizeof(buf));
	assert_true(n > 0);
	for (len = 0; len < n; len++) {
		memset(buf, 0xa5, sizeof(buf));
		assert_int_equal(logrec_encode(&lr, buf, len), 0);
		assert_int_equal(buf[len], 0xa5);
	}
	assert_int_equal(logrec_encode(&lr, buf, n), n);
}

/* A record of an unknown type is not encoded. */
static void
test_encode_rejects_unknown_type(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr;

	(void)state;
	t_sample_access(&lr);
	lr.lr_type = (enum logrec_type)3;
	assert_int_equal(logrec_encode(&lr, buf, sizeof(buf)), 0);
	lr.lr_type = (enum logrec_type)0;
	assert_int_equal(logrec_encode(&lr, buf, sizeof(buf)), 0);
}

/* A first byte other than a known type is rejected. */
static void
test_decode_rejects_unknown_type(void **state)
{
	static const unsigned char bad[] = {0, 3, 4, 0x7f, 0x80, 0xff};
	unsigned char buf[LOGREC_MAX];
	struct logrec lr;
	size_t n, i;

	(void)state;
	t_sample_access(&lr);
	n = logrec_encode(&lr, buf, sizeof(buf));
	for (i = 0; i < sizeof(bad); i++) {
		buf[0] = bad[i];
		if (t_decode_exact(buf, n, &lr) != -1)
			fail_msg("type %u accepted", bad[i]);
	}
}

/* Empty input is rejected. */
static void
test_decode_rejects_empty_input(void **state)
{
	struct logrec lr;

	(void)state;
	assert_int_equal(t_decode_exact("", 0, &lr), -1);
}

/* Every proper prefix of a valid encoding is rejected. */
static void
test_decode_rejects_every_truncated_prefix(void **state)
{
	unsigned char buf[LOGREC_MAX];
	struct logrec lr, out;
	size_t n, len;
	int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0)
			t_sample_access(&lr);
		else
			t_sample_error(&lr);
		n = logrec_encode(&lr, buf, sizeof(buf));
		assert_true(n > 0);
		for (len = 0; len < n; len++)
			if (t_decode_exact(buf, len, &out) != -1)
				fail_msg("pass %d: prefix %zu of %zu accepted",
				    pass, len, n);
		assert_int_equal(t_decode_exact(buf, n, &out), 0);
	}
}

/* A valid encoding followed by any byte is rejected. */
static void
test_decode_rejects_trailing_bytes(void **state)
{
	unsigned char buf[LOGREC_MAX + 2];
	struct logrec lr;
	size_t n;

	(void)state;
	t_sample_access(&lr);
	n = logrec_encode(&lr, buf, LOGREC_MAX);
	buf[n] = 0;
	buf[n + 1] = 0;
	assert_int_equal(t_decode_exact(buf, n + 1, &lr), -1);
	assert_int_equal(t_decode_exact(buf, n + 2, &lr), -1);

	t_sample_error(&lr);
	n = logrec_encode(&lr, buf, LOGREC_MAX);
	buf[n] = 'x';
	assert_int_equal(t_decode_exact(buf, n + 1, &lr), -1);
}

/* A string one byte over its bound is rejected; at the bound it is not. */
static void
test_decode_rejects_string_over_bound(void **state)
{
	static unsigned char buf[1 + 8 + 2 + 0xffff];
	size_t n[T_NFIELDS], len, i, pos;
	struct logrec lr;
	uint64_t t;
	uint8_t type;

	(void)state;
	for (i = 0; i < T_NFIELDS; i++) {
		memset(n, 0, sizeof(n));
		n[i] = t_fields[i].tf_max;
		len = t_build_access(buf, n);
		assert_int_equal(t_decode_exact(buf, len, &lr), 0);
		assert_int_equal(strlen(t_field(&lr, i)), t_fields[i].tf_max);
		n[i] = t_fields[i].tf_max + 1;
		len = t_build_access(buf, n);
		if (t_decode_exact(buf, len, &lr) != -1)
			fail_msg(
			    "%s over its bound accepted", t_fields[i].tf_name);
	}

	type = LOGREC_ERROR;
	t = 1;
	pos = 0;
	t_put(buf, &pos, &type, 1);
	t_put(buf, &pos, &t, 8);
	t_put_str(buf, &pos, LOGREC_MESSAGE_MAX + 1, 'm');
	assert_int_equal(t_decode_exact(buf, pos, &lr), -1);
	pos = 0;
	t_put(buf, &pos, &type, 1);
	t_put(buf, &pos, &t, 8);
	t_put_str(buf, &pos, 0xffff, 'm');
	assert_int_equal(t_decode_exact(buf, pos, &lr), -1);
}

/*
 * A record with more or fewer string fields than the layout has is
 * rejected: the six of the layout before TLS, the nine of the layout
 * before the host, port and user, one short, one too many.
 */
static void
test_decode_rejects_wrong_string_count(void **state)
{
	static const size_t counts[] = {6, 9, T_NFIELDS - 1, T_NFIELDS + 1};
	unsigned char buf[LOGREC_MAX];
	size_t n[T_NFIELDS + 1], len, i;
	struct logrec lr;

	(void)state;
	memset(n, 0, sizeof(n));
	len = t_build_access_n(buf, n, T_NFIELDS);
	assert_int_equal(t_decode_exact(buf, len, &lr), 0);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		len = t_build_access_n(buf, n, counts[i]);
		if (t_decode_exact(buf, len, &lr) != -1)
			fail_msg("%zu string fields accepted", counts[i]);
	}
}

/* A string holding a NUL byte, which no encoder writes, is rejected. */
static void
test_decode_rejects_nul_inside_string(void **state)
{
	unsigned char buf[LOGREC_MAX];
	size_t n[T_NFIELDS], len, i, pos;
	struct logrec lr;

	(void)state;
	for (i = 0; i < T_NFIELDS; i++) {
		memset(n, 0, sizeof(n));
		n[i] = 3;
		len = t_build_access(buf, n);
		assert_int_equal(t_decode_exact(buf, len, &lr), 0);
		/* Fields before i take 2 bytes each; then i's length. */
		pos = T_FIXED_LEN + 2 * i + 2 + 1; /* field i, byte 2 */
		buf[pos] = '\0';
		if (t_decode_exact(buf, len, &lr) != -1)
			fail_msg("NUL inside %s accepted", t_fields[i].tf_name);
	}
}

/*
 * Random bytes never crash the decoder, and whatever it accepts encodes
 * back to exactly the same bytes.
 */
static void
test_decode_survives_random_garbage(void **state)
{
	unsigned char buf[LOGREC_MAX], again[LOGREC_MAX];
	struct logrec lr;
	size_t len, i;
	int round, accepted;

	(void)state;
	srandom(20261121);
	accepted = 0;
	for (round = 0; round < T_GARBAGE_ROUNDS; round++) {
		len = (size_t)(random() % 96);
		for (i = 0; i < len; i++)
			buf[i] = (unsigned char)random();
		/* Bias towards short strings of a known type. */
		if (len > 0 && round % 2 == 0)
			buf[0] = (unsigned char)(1 + round % 4 / 2);
		for (i = T_FIXED_LEN; i + 1 < len && round % 4 == 0; i += 7) {
			buf[i] = (unsigned char)(random() % 6);
			buf[i + 1] = 0;
		}
		if (t_decode_exact(buf, len, &lr) == 0) {
			accepted++;
			assert_int_equal(
			    logrec_encode(&lr, again, sizeof(again)), len);
			assert_memory_equal(again, buf, len);
		}
	}
	/* The bias above must have produced some valid records. */
	assert_true(accepted > 0);
}

/*
 * Random corruptions of a valid encoding never crash the decoder, and
 * whatever it accepts encodes back to the same bytes.
 */
static void
test_decode_survives_corrupted_records(void **state)
{
	unsigned char good[LOGREC_MAX], buf[LOGREC_MAX], again[LOGREC_MAX];
	struct logrec lr;
	size_t n, len;
	int round, k;

	(void)state;
	srandom(4242);
	t_sample_access(&lr);
	n = logrec_encode(&lr, good, sizeof(good));
	for (round = 0; round < T_GARBAGE_ROUNDS; round++) {
		memcpy(buf, good, n);
		len = n;
		for (k = 0; k < 1 + round % 3; k++)
			buf[random() % (long)n] = (unsigned char)random();
		if (round % 5 == 0)
			len = (size_t)(random() % (long)(n + 1));
		if (t_decode_exact(buf, len, &lr) == 0) {
			assert_int_equal(
			    logrec_encode(&lr, again, sizeof(again)), len);
			assert_memory_equal(again, buf, len);
		}
	}
}

/* Run every logrec.c test. */
/* Assert that the access strings of rl are method, target and protocol. */
static void
t_assert_line(const struct logrec_line *rl, const char *method,
    const char *target, const char *protocol)
{
	struct logrec_access ac;

	logrec_access_strings(&ac, "192.0.2.1", rl, "", "");
	assert_int_equal(ac.ac_method.lstr_len, strlen(method));
	assert_memory_equal(ac.ac_method.lstr_ptr, method, strlen(method));
	assert_int_equal(ac.ac_target.lstr_len, strlen(target));
	assert_memory_equal(ac.ac_target.lstr_ptr, target, strlen(target));
	assert_int_equal(ac.ac_protocol.lstr_len, strlen(protocol));
	assert_memory_equal(
	    ac.ac_protocol.lstr_ptr, protocol, strlen(protocol));
}

/* A parsed request line is kept as the parser split it. */
static void
test_line_parsed_keeps_the_parsers_split(void **state)
{
	static const char head[] = "\r\nGET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_request req;
	struct logrec_line rl;

	(void)state;
	assert_int_equal(http_parse_request(head, sizeof(head) - 1, &req), 0);
	logrec_line_save(&rl, req.hr_line, req.hr_line_len, &req);
	t_assert_line(&rl, "GET", "/a?b=c", "HTTP/1.1");
}

/* A line the parser refused is split at its first two spaces. */
static void
test_line_refused_is_split_at_spaces(void **state)
{
	static const char line[] = "GET /x HTTP/2.0\r\nHost: x\r\n";
	struct logrec_line rl;

	(void)state;
	logrec_line_save(&rl, line, sizeof(line) - 1, NULL);
	t_assert_line(&rl, "GET", "/x", "HTTP/2.0");
}

/* A line is kept up to a NUL byte: a record holds no NUL. */
static void
test_line_ends_at_a_nul_byte(void **state)
{
	static const char line[] = "GET /a\0b HTTP/1.1\r\n";
	struct logrec_line rl;

	(void)state;
	logrec_line_save(&rl, line, sizeof(line) - 1, NULL);
	t_assert_line(&rl, "", "GET /a", "");
}

/* A line without two spaces is all target, so that nothing is hidden. */
static void
test_line_without_two_spaces_is_all_target(void **state)
{
	static const char line[] = "GARBAGE/x\n";
	struct logrec_line rl;

	(void)state;
	logrec_line_save(&rl, line, sizeof(line) - 1, NULL);
	t_assert_line(&rl, "", "GARBAGE/x", "");
}

/*
 * A target longer than its bound is cut to it, and the method and the
 * protocol are kept: the line still reads as a request.
 */
static void
test_line_long_target_is_cut_method_and_protocol_kept(void **state)
{
	char head[LOGREC_TARGET_MAX + 600], target[LOGREC_TARGET_MAX + 500];
	struct http_request req;
	struct logrec_line rl;
	size_t n;

	(void)state;
	memset(target, 'a', sizeof(target));
	target[0] = '/';
	target[sizeof(target) - 1] = '\0';
	n = (size_t)snprintf(
	    head, sizeof(head), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
	assert_int_equal(http_parse_request(head, n, &req), 0);
	logrec_line_save(&rl, req.hr_line, req.hr_line_len, &req);
	target[LOGREC_TARGET_MAX] = '\0';
	t_assert_line(&rl, "GET", target, "HTTP/1.1");
	/* The same line refused by the parser is split alike. */
	logrec_line_save(&rl, head, n, NULL);
	t_assert_line(&rl, "GET", target, "HTTP/1.1");
}

/* Every part is cut to its own bound, not only the target. */
static void
test_line_parts_are_cut_to_their_bounds(void **state)
{
	char line[256], method[64], protocol[64];
	struct logrec_line rl;
	int n;

	(void)state;
	memset(method, 'M', sizeof(method) - 1);
	method[sizeof(method) - 1] = '\0';
	memset(protocol, 'P', sizeof(protocol) - 1);
	protocol[sizeof(protocol) - 1] = '\0';
	n = snprintf(line, sizeof(line), "%s /x %s", method, protocol);
	logrec_line_save(&rl, line, (size_t)n, NULL);
	method[LOGREC_METHOD_MAX] = '\0';
	protocol[LOGREC_PROTO_MAX] = '\0';
	t_assert_line(&rl, method, "/x", protocol);
}

/* A cleared line has no method, target or protocol. */
static void
test_line_cleared_is_empty(void **state)
{
	struct logrec_line rl;

	(void)state;
	logrec_line_save(&rl, "GET / HTTP/1.1", 14, NULL);
	logrec_line_clear(&rl);
	t_assert_line(&rl, "", "", "");
}

/* The address, Referer and User-Agent are taken whole. */
static void
test_access_strings_take_address_and_fields(void **state)
{
	struct logrec_access ac;
	struct logrec_line rl;

	(void)state;
	logrec_line_clear(&rl);
	logrec_access_strings(&ac, "2001:db8::1", &rl, "https://r/", "UA 1");
	assert_int_equal(ac.ac_addr.lstr_len, 11);
	assert_memory_equal(ac.ac_addr.lstr_ptr, "2001:db8::1", 11);
	assert_int_equal(ac.ac_referer.lstr_len, 10);
	assert_memory_equal(ac.ac_referer.lstr_ptr, "https://r/", 10);
	assert_int_equal(ac.ac_agent.lstr_len, 4);
	assert_memory_equal(ac.ac_agent.lstr_ptr, "UA 1", 4);
}

/* The access strings set the TLS fields to "": a plain connection's. */
static void
test_access_strings_leave_tls_fields_empty(void **state)
{
	struct logrec_access ac;
	struct logrec_line rl;

	(void)state;
	memset(&ac, 0xa5, sizeof(ac));
	logrec_line_clear(&rl);
	logrec_access_strings(&ac, "192.0.2.1", &rl, "", "");
	assert_int_equal(ac.ac_tls_version.lstr_len, 0);
	assert_int_equal(ac.ac_tls_cipher.lstr_len, 0);
	assert_int_equal(ac.ac_tls_subject.lstr_len, 0);
	assert_string_equal(ac.ac_tls_version.lstr_ptr, "");
	assert_string_equal(ac.ac_tls_cipher.lstr_ptr, "");
	assert_string_equal(ac.ac_tls_subject.lstr_ptr, "");
}

/* The TLS fields point at the connection's strings; NULL stands for "". */
static void
test_access_tls_takes_version_cipher_and_subject(void **state)
{
	static const char subject[] = "CN=a\\,b";
	struct logrec_access ac;
	struct logrec_line rl;

	(void)state;
	logrec_line_clear(&rl);
	logrec_access_strings(&ac, "192.0.2.1", &rl, "", "");
	logrec_access_tls(
	    &ac, "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", subject);
	assert_int_equal(ac.ac_tls_version.lstr_len, 7);
	assert_memory_equal(ac.ac_tls_version.lstr_ptr, "TLSv1.2", 7);
	assert_int_equal(ac.ac_tls_cipher.lstr_len, 29);
	assert_memory_equal(
	    ac.ac_tls_cipher.lstr_ptr, "ECDHE-ECDSA-AES128-GCM-SHA256", 29);
	assert_ptr_equal(ac.ac_tls_subject.lstr_ptr, subject);
	assert_int_equal(ac.ac_tls_subject.lstr_len, sizeof(subject) - 1);

	logrec_access_tls(&ac, "TLSv1.3", "TLS_AES_128_GCM_SHA256", NULL);
	assert_int_equal(ac.ac_tls_subject.lstr_len, 0);
	assert_string_equal(ac.ac_tls_subject.lstr_ptr, "");
	logrec_access_tls(&ac, NULL, NULL, NULL);
	assert_int_equal(ac.ac_tls_version.lstr_len, 0);
	assert_int_equal(ac.ac_tls_cipher.lstr_len, 0);
}

/*
 * A TLS access record encoded from where the worker has its fields
 * decodes to them, a subject over its bound cut to it.
 */
static void
test_access_tls_record_decodes_to_its_fields(void **state)
{
	char subject[LOGREC_TLS_SUBJECT_MAX + 10];
	unsigned char buf[LOGREC_MAX];
	struct logrec_access ac;
	struct logrec_line rl;
	struct logrec lr;
	size_t n;

	(void)state;
	memset(subject, 's', sizeof(subject) - 1);
	subject[sizeof(subject) - 1] = '\0';
	memset(&ac, 0, sizeof(ac));
	logrec_line_save(&rl, "GET / HTTP/1.1", 14, NULL);
	logrec_access_strings(&ac, "192.0.2.1", &rl, "", "");
	logrec_access_tls(
	    &ac, "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", subject);
	n = logrec_access_size(&ac);
	assert_true(n <= sizeof(buf));
	logrec_encode_access(&ac, buf);
	assert_int_equal(t_decode_exact(buf, n, &lr), 0);
	assert_string_equal(lr.lr_tls_version, "TLSv1.3");
	assert_string_equal(lr.lr_tls_cipher, "TLS_CHACHA20_POLY1305_SHA256");
	subject[LOGREC_TLS_SUBJECT_MAX] = '\0';
	assert_string_equal(lr.lr_tls_subject, subject);
	assert_string_equal(lr.lr_target, "/");
}

/* The access strings set the host, port and user to "" too. */
static void
test_access_strings_leave_site_fields_empty(void **state)
{
	struct logrec_access ac;
	struct logrec_line rl;

	(void)state;
	memset(&ac, 0xa5, sizeof(ac));
	logrec_line_clear(&rl);
	logrec_access_strings(&ac, "192.0.2.1", &rl, "", "");
	assert_int_equal(ac.ac_host.lstr_len, 0);
	assert_int_equal(ac.ac_port.lstr_len, 0);
	assert_int_equal(ac.ac_user.lstr_len, 0);
	assert_string_equal(ac.ac_host.lstr_ptr, "");
	assert_string_equal(ac.ac_port.lstr_ptr, "");
	assert_string_equal(ac.ac_user.lstr_ptr, "");
}

/* The site fields point at the caller's strings; NULL stands for "". */
static void
test_access_site_takes_host_port_and_user(void **state)
{
	static const char host[] = "www.example.com";
	struct logrec_access ac;
	struct logrec_line rl;

	(void)state;
	logrec_line_clear(&rl);
	logrec_access_strings(&ac, "192.0.2.1", &rl, "", "");
	logrec_access_site(&ac, host, "8080", "alice");
	assert_ptr_equal(ac.ac_host.lstr_ptr, host);
	assert_int_equal(ac.ac_host.lstr_len, sizeof(host) - 1);
	assert_int_equal(ac.ac_port.lstr_len, 4);
	assert_memory_equal(ac.ac_port.lstr_ptr, "8080", 4);
	assert_int_equal(ac.ac_user.lstr_len, 5);
	assert_memory_equal(ac.ac_user.lstr_ptr, "alice", 5);
	logrec_access_site(&ac, NULL, NULL, NULL);
	assert_int_equal(ac.ac_host.lstr_len, 0);
	assert_int_equal(ac.ac_port.lstr_len, 0);
	assert_int_equal(ac.ac_user.lstr_len, 0);
}

/*
 * An access record with a host, port and user, encoded from where the
 * worker has them, decodes to them; a host and a user over their bounds
 * are cut to them, the other fields untouched.
 */
static void
test_access_site_record_decodes_to_its_fields(void **state)
{
	char host[LOGREC_HOST_MAX + 10], user[LOGREC_USER_MAX + 10];
	unsigned char buf[LOGREC_MAX];
	struct logrec_access ac;
	struct logrec_line rl;
	struct logrec lr;
	size_t n;

	(void)state;
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	logrec_line_save(&rl, "GET / HTTP/1.1", 14, NULL);
	logrec_access_strings(&ac, "192.0.2.1", &rl, "", "curl");
	logrec_access_site(&ac, "a.example", "65535", "bob");
	n = logrec_access_size(&ac);
	logrec_encode_access(&ac, buf);
	assert_int_equal(t_decode_exact(buf, n, &lr), 0);
	assert_string_equal(lr.lr_host, "a.example");
	assert_string_equal(lr.lr_port, "65535");
	assert_string_equal(lr.lr_user, "bob");
	assert_string_equal(lr.lr_agent, "curl");

	logrec_access_site(&ac, host, "1", user);
	n = logrec_access_size(&ac);
	assert_true(n <= sizeof(buf));
	logrec_encode_access(&ac, buf);
	assert_int_equal(t_decode_exact(buf, n, &lr), 0);
	host[LOGREC_HOST_MAX] = '\0';
	user[LOGREC_USER_MAX] = '\0';
	assert_string_equal(lr.lr_host, host);
	assert_string_equal(lr.lr_user, user);
	assert_string_equal(lr.lr_port, "1");
	assert_string_equal(lr.lr_target, "/");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_access_record_round_trips),
	    cmocka_unit_test(test_encode_access_matches_encode),
	    cmocka_unit_test(test_line_parsed_keeps_the_parsers_split),
	    cmocka_unit_test(test_line_refused_is_split_at_spaces),
	    cmocka_unit_test(test_line_without_two_spaces_is_all_target),
	    cmocka_unit_test(test_line_ends_at_a_nul_byte),
	    cmocka_unit_test(
		test_line_long_target_is_cut_method_and_protocol_kept),
	    cmocka_unit_test(test_line_parts_are_cut_to_their_bounds),
	    cmocka_unit_test(test_line_cleared_is_empty),
	    cmocka_unit_test(test_access_strings_take_address_and_fields),
	    cmocka_unit_test(test_access_strings_leave_tls_fields_empty),
	    cmocka_unit_test(test_access_tls_takes_version_cipher_and_subject),
	    cmocka_unit_test(test_access_tls_record_decodes_to_its_fields),
	    cmocka_unit_test(test_access_strings_leave_site_fields_empty),
	    cmocka_unit_test(test_access_site_takes_host_port_and_user),
	    cmocka_unit_test(test_access_site_record_decodes_to_its_fields),
	    cmocka_unit_test(test_error_record_round_trips),
	    cmocka_unit_test(test_first_byte_is_the_type),
	    cmocka_unit_test(test_encoded_length_is_compact),
	    cmocka_unit_test(test_numeric_extremes_round_trip),
	    cmocka_unit_test(test_empty_strings_round_trip),
	    cmocka_unit_test(test_maximal_fields_round_trip),
	    cmocka_unit_test(test_unterminated_strings_are_cut_to_bounds),
	    cmocka_unit_test(test_strings_end_at_their_nul),
	    cmocka_unit_test(test_encode_fails_when_buffer_too_small),
	    cmocka_unit_test(test_encode_rejects_unknown_type),
	    cmocka_unit_test(test_decode_rejects_unknown_type),
	    cmocka_unit_test(test_decode_rejects_empty_input),
	    cmocka_unit_test(test_decode_rejects_every_truncated_prefix),
	    cmocka_unit_test(test_decode_rejects_trailing_bytes),
	    cmocka_unit_test(test_decode_rejects_string_over_bound),
	    cmocka_unit_test(test_decode_rejects_wrong_string_count),
	    cmocka_unit_test(test_decode_rejects_nul_inside_string),
	    cmocka_unit_test(test_decode_survives_random_garbage),
	    cmocka_unit_test(test_decode_survives_corrupted_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
