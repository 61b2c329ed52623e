/*
 * Unit tests for logfmt.c: access-log lines in combined, common, JSON and
 * vhost_combined.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define T_BUF_LEN  65536 /* more than any line needs */
#define T_VAL_MAX  8192	 /* a decoded JSON string value and NUL */
#define T_MAX_VALS 16	 /* JSON string values kept by the checker */
#define T_SMALL	   12	 /* less than any line's fixed text */

#define T_TIME 1795257790123456ULL /* 2026-11-21T10:43:10.123456Z */

#define T_COMBINED                                                             \
	"192.0.2.7 - - [21/Nov/2026:10:43:10 +0000] "                          \
	"\"GET /index.html?q=1 HTTP/1.1\" 200 1234 "                           \
	"\"https://example.com/\" \"curl/8.0\"\n"
#define T_VHOST_COMBINED "www.example.com:8080 " T_COMBINED
#define T_COMMON                                                               \
	"192.0.2.7 - - [21/Nov/2026:10:43:10 +0000] "                          \
	"\"GET /index.html?q=1 HTTP/1.1\" 200 1234\n"
#define T_JSON_KEYS                                                            \
	"{\"time\":\"2026-11-21T10:43:10.123456Z\","                           \
	"\"remote_addr\":\"192.0.2.7\",\"method\":\"GET\","                    \
	"\"target\":\"/index.html?q=1\",\"protocol\":\"HTTP/1.1\","            \
	"\"status\":200,\"bytes\":1234,\"duration_us\":456,"                   \
	"\"referer\":\"https://example.com/\",\"user_agent\":\"curl/8.0\","    \
	"\"host\":\"www.example.com\",\"port\":\"8080\",\"user\":\"\""
#define T_JSON T_JSON_KEYS "}\n"
#define T_JSON_TLS                                                             \
	T_JSON_KEYS ",\"tls_protocol\":\"TLSv1.3\","                           \
		    "\"tls_cipher\":\"TLS_AES_256_GCM_SHA384\","               \
		    "\"tls_client_subject\":\"CN=client,O=Example\"}\n"

/* JSON string values of a line, in order, as the checker decoded them. */
struct t_json {
	char tj_val[T_MAX_VALS][T_VAL_MAX];
	size_t tj_len[T_MAX_VALS];
	int tj_nvals;
};

static const char *const t_months[12] = {"Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static char t_buf[T_BUF_LEN];
static struct t_json t_js;

/* Fill lr with the sample access record of the exact-line tests. */
static void
t_sample(struct logrec *lr)
{
	memset(lr, 0, sizeof(*lr));
	lr->lr_type = LOGREC_ACCESS;
	lr->lr_time_usec = T_TIME;
	lr->lr_duration_usec = 456;
	lr->lr_bytes = 1234;
	lr->lr_status = 200;
	strcpy(lr->lr_addr, "192.0.2.7");
	strcpy(lr->lr_method, "GET");
	strcpy(lr->lr_target, "/index.html?q=1");
	strcpy(lr->lr_protocol, "HTTP/1.1");
	strcpy(lr->lr_referer, "https://example.com/");
	strcpy(lr->lr_agent, "curl/8.0");
	strcpy(lr->lr_host, "www.example.com");
	strcpy(lr->lr_port, "8080");
}

/* Make lr's connection a TLS one with a verified client certificate. */
static void
t_sample_tls(struct logrec *lr)
{
	strcpy(lr->lr_tls_version, "TLSv1.3");
	strcpy(lr->lr_tls_cipher, "TLS_AES_256_GCM_SHA384");
	strcpy(lr->lr_tls_subject, "CN=client,O=Example");
}

/*
 * Fill every string field of lr, the TLS and site ones too, to its bound
 * with c.
 */
static void
t_fill(struct logrec *lr, int c)
{
	memset(lr->lr_addr, c, LOGREC_ADDR_MAX);
	memset(lr->lr_method, c, LOGREC_METHOD_MAX);
	memset(lr->lr_target, c, LOGREC_TARGET_MAX);
	memset(lr->lr_protocol, c, LOGREC_PROTO_MAX);
	memset(lr->lr_referer, c, LOGREC_REFERER_MAX);
	memset(lr->lr_agent, c, LOGREC_AGENT_MAX);
	memset(lr->lr_tls_version, c, LOGREC_TLS_VERSION_MAX);
	memset(lr->lr_tls_cipher, c, LOGREC_TLS_CIPHER_MAX);
	memset(lr->lr_tls_subject, c, LOGREC_TLS_SUBJECT_MAX);
	memset(lr->lr_host, c, LOGREC_HOST_MAX);
	memset(lr->lr_port, c, LOGREC_PORT_MAX);
	memset(lr->lr_user, c, LOGREC_USER_MAX);
}

/*
 * Format lr in fmt into t_buf with room len (at most T_BUF_LEN); assert
 * the return value is the string's length and nothing past len changed.
 */
static const char *
t_fmt_len(const struct logrec *lr, enum log_format fmt, size_t len)
{
	size_t n;

	memset(t_buf, 0xa5, sizeof(t_buf));
	n = logfmt_access(lr, fmt, t_buf, len);
	assert_true(n < len);
	assert_int_equal(strlen(t_buf), n);
	if (len < sizeof(t_buf))
		assert_int_equal((unsigned char)t_buf[len], 0xa5);
	return t_buf;
}

/* Format lr in fmt with room to spare; assert one line came out. */
static const char *
t_fmt(const struct logrec *lr, enum log_format fmt)
{
	const char *s;
	size_t n;

	s = t_fmt_len(lr, fmt, sizeof(t_buf));
	n = strlen(s);
	assert_true(n > 0);
	assert_ptr_equal(strchr(s, '\n'), s + n - 1);
	return s;
}

/* Return the length of the valid UTF-8 sequence at s, or 0. */
static size_t
t_utf8_len(const unsigned char *s)
{
	unsigned long cp, min;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Return 1 if the NUL-terminated s is valid UTF-8, else 0. */
static int
t_utf8_valid(const char *s)
{
	const unsigned char *p;
	size_t n;

	for (p = (const unsigned char *)s; *p != '\0'; p += n)
		if ((n = t_utf8_len(p)) == 0)
			return 0;
	return 1;
}

/* Append code point cp to v at *len as UTF-8. */
static void
t_utf8_put(char *v, size_t *len, unsigned long cp)
{
	if (cp < 0x80)
		v[(*len)++] = (char)cp;
	else if (cp < 0x800) {
		v[(*len)++] = (char)(0xc0 | cp >> 6);
		v[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		v[(*len)++] = (char)(0xe0 | cp >> 12);
		v[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		v[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		v[(*len)++] = (char)(0xf0 | cp >> 18);
		v[(*len)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		v[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		v[(*len)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/*
 * Parse the JSON string at *sp, decode it into v (NUL-terminated, length
 * in *len) and advance *sp past it; 0, or -1 if it is not a valid string.
 */
static int
t_json_string(const char **sp, char *v, size_t *len)
{
	const char *s;
	unsigned long cp;
	int i;

	s = *sp;
	*len = 0;
	if (*s++ != '"')
		return -1;
	while (*s != '"') {
		if (*len + 4 >= T_VAL_MAX || (unsigned char)*s < 0x20)
			return -1;
		if (*s != '\\') {
			v[(*len)++] = *s++;
			continue;
		}
		s++;
		switch (*s++) {
		case '"':
			v[(*len)++] = '"';
			break;
		case '\\':
			v[(*len)++] = '\\';
			break;
		case '/':
			v[(*len)++] = '/';
			break;
		case 'b':
			v[(*len)++] = '\b';
			break;
		case 'f':
			v[(*len)++] = '\f';
			break;
		case 'n':
			v[(*len)++] = '\n';
			break;
		case 'r':
			v[(*len)++] = '\r';
			break;
		case 't':
			v[(*len)++] = '\t';
			break;
		case 'u':
			cp = 0;
			for (i = 0; i < 4; i++, s++) {
				if (*s >= '0' && *s <= '9')
					cp =
					    cp * 16 + (unsigned long)(*s - '0');
				else if (*s >= 'a' && *s <= 'f')
					cp = cp * 16 +
					    (unsigned long)(*s - 'a' + 10);
				else if (*s >= 'A' && *s <= 'F')
					cp = cp * 16 +
					    (unsigned long)(*s - 'A' + 10);
				else
					return -1;
			}
			/* No surrogate pairs: the formatter never writes one.
			 */
			if (cp >= 0xd800 && cp <= 0xdfff)
				return -1;
			t_utf8_put(v, len, cp);
			break;
		default:
			return -1;
		}
	}
	v[*len] = '\0';
	*sp = s + 1;
	return 0;
}

/* Parse the JSON integer at *sp and advance past it; 0 or -1. */
static int
t_json_int(const char **sp)
{
	const char *s;

	s = *sp;
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return -1;
	*sp = s;
	return 0;
}

/*
 * Check that line is valid UTF-8 and exactly one flat JSON object of
 * string and integer members followed by "\n"; decode its string values
 * (keys excluded) into t_js. Return 0 or -1.
 */
static int
t_json_check(const char *line)
{
	char key[T_VAL_MAX];
	const char *s;
	size_t klen;
	int i;

	memset(&t_js, 0, sizeof(t_js));
	if (!t_utf8_valid(line))
		return -1;
	s = line;
	if (*s++ != '{')
		return -1;
	for (;;) {
		if (t_json_string(&s, key, &klen) == -1 || *s++ != ':')
			return -1;
		if (*s == '"') {
			i = t_js.tj_nvals;
			if (i == T_MAX_VALS ||
			    t_json_string(
				&s, t_js.tj_val[i], &t_js.tj_len[i]) == -1)
				return -1;
			t_js.tj_nvals++;
		} else if (t_json_int(&s) == -1)
			return -1;
		if (*s == '}')
			break;
		if (*s++ != ',')
			return -1;
	}
	return strcmp(s, "}\n") == 0 ? 0 : -1;
}

/* Assert that line passes t_json_check(). */
static void
t_assert_json(const char *line)
{
	if (t_json_check(line) == -1)
		fail_msg("not one JSON object line: %s", line);
}

/* Return 1 if c is an upper-case hex digit, else 0. */
static int
t_upper_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/*
 * Check a quoted or bare combined/common field at *sp up to the byte
 * stop: printable ASCII only, every backslash the start of \xHH (upper
 * case hex), no '"'; bare fields also no space. Advance *sp to stop.
 */
static int
t_clf_field(const char **sp, int stop, int bare)
{
	const char *s;

	for (s = *sp; *s != stop; s++) {
		if (*s < 0x20 || *s > 0x7e || *s == '"' || (bare && *s == ' '))
			return -1;
		if (*s == '\\') {
			if (s[1] != 'x' || !t_upper_hex(s[2]) ||
			    !t_upper_hex(s[3]))
				return -1;
			s += 3;
		}
	}
	if (s == *sp)
		return -1; /* empty: should have been "-" */
	*sp = s;
	return 0;
}

/* Check "DD/Mon/YYYY:HH:MM:SS +0000" at s; 0 or -1. */
static int
t_clf_time(const char *s)
{
	static const char shape[] = "00/Mon/0000:00:00:00 +0000";
	int i, m;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == '0' && (s[i] < '0' || s[i] > '9'))
			return -1;
		if (shape[i] != '0' && (i < 3 || i > 5) && s[i] != shape[i])
			return -1;
	}
	for (m = 0; m < 12; m++)
		if (memcmp(s + 3, t_months[m], 3) == 0)
			return 0;
	return -1;
}

/*
 * Check the HOST:PORT prefix of a vhost_combined line at *sp, each part a
 * bare field, the port after the last colon; advance *sp past its space.
 */
static int
t_clf_vhost(const char **sp)
{
	char prefix[T_VAL_MAX], *colon;
	const char *sp_end, *p;

	if ((sp_end = strchr(*sp, ' ')) == NULL ||
	    (size_t)(sp_end - *sp) >= sizeof(prefix))
		return -1;
	memcpy(prefix, *sp, (size_t)(sp_end - *sp));
	prefix[sp_end - *sp] = '\0';
	if ((colon = strrchr(prefix, ':')) == NULL)
		return -1;
	*colon = '\0';
	p = prefix;
	if (t_clf_field(&p, '\0', 1) == -1)
		return -1;
	p = colon + 1;
	if (t_clf_field(&p, '\0', 1) == -1)
		return -1;
	*sp = sp_end + 1;
	return 0;
}

/*
 * Check that line is one well-formed line in fmt, combined, common or
 * vhost_combined: [HOST:PORT ]ADDR - USER [TIME] "REQUEST" STATUS BYTES
 * ["REFERER" "AGENT"] and "\n".
 */
static int
t_clf_check(const char *line, enum log_format fmt)
{
	const char *s;

	s = line;
	if (fmt == LOG_FORMAT_VHOST_COMBINED && t_clf_vhost(&s) == -1)
		return -1;
	if (t_clf_field(&s, ' ', 1) == -1 || strncmp(s, " - ", 3) != 0)
		return -1;
	s += 3;
	if (t_clf_field(&s, ' ', 1) == -1 || strncmp(s, " [", 2) != 0)
		return -1;
	s += 2;
	if (t_clf_time(s) == -1 || strncmp(s + 26, "] \"", 3) != 0)
		return -1;
	s += 29;
	if (t_clf_field(&s, '"', 0) == -1 || strncmp(s, "\" ", 2) != 0)
		return -1;
	s += 2;
	if (t_json_int(&s) == -1 || *s++ != ' ' || t_json_int(&s) == -1)
		return -1;
	if (fmt != LOG_FORMAT_COMMON) {
		if (strncmp(s, " \"", 2) != 0)
			return -1;
		s += 2;
		if (t_clf_field(&s, '"', 0) == -1 ||
		    strncmp(s, "\" \"", 3) != 0)
			return -1;
		s += 3;
		if (t_clf_field(&s, '"', 0) == -1 || *s++ != '"')
			return -1;
	}
	return strcmp(s, "\n") == 0 ? 0 : -1;
}

/* Assert that line is well-formed in fmt. */
static void
t_assert_form(const char *line, enum log_format fmt)
{
	int rc;

	if (fmt == LOG_FORMAT_JSON)
		rc = t_json_check(line);
	else
		rc = t_clf_check(line, fmt);
	if (rc == -1)
		fail_msg("format %d, malformed line: %s", (int)fmt, line);
}

/* Return the combined line's request, between the first two quotes. */
static const char *
t_request(const char *line)
{
	static char req[T_VAL_MAX];
	const char *a, *b;

	a = strchr(line, '"');
	assert_non_null(a);
	b = strchr(a + 1, '"');
	assert_non_null(b);
	assert_true((size_t)(b - a - 1) < sizeof(req));
	memcpy(req, a + 1, (size_t)(b - a - 1));
	req[b - a - 1] = '\0';
	return req;
}

/* A sample record formats as the exact combined line. */
static void
test_combined_line_is_exact(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMBINED), T_COMBINED);
}

/* A sample record formats as the exact common line. */
static void
test_common_line_is_exact(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMMON), T_COMMON);
}

/* A sample record formats as the exact JSON line, which parses. */
static void
test_json_line_is_exact(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_JSON), T_JSON);
	t_assert_json(t_buf);
	assert_int_equal(t_js.tj_nvals, 10);
}

/* A sample record formats as the exact vhost_combined line. */
static void
test_vhost_combined_line_is_exact(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	assert_string_equal(
	    t_fmt(&lr, LOG_FORMAT_VHOST_COMBINED), T_VHOST_COMBINED);
}

/* Without a host, vhost_combined shows "-" before the port. */
static void
test_vhost_combined_without_host_is_dash(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_host[0] = '\0';
	assert_string_equal(
	    t_fmt(&lr, LOG_FORMAT_VHOST_COMBINED), "-:8080 " T_COMBINED);
}

/* The user takes the place of %u in every CLF format. */
static void
test_user_is_the_third_clf_field(void **state)
{
	static const char *const lines[] = {
	    "192.0.2.7 - alice [21/Nov/2026:10:43:10 +0000] "
	    "\"GET /index.html?q=1 HTTP/1.1\" 200 1234 "
	    "\"https://example.com/\" \"curl/8.0\"\n",
	    "192.0.2.7 - alice [21/Nov/2026:10:43:10 +0000] "
	    "\"GET /index.html?q=1 HTTP/1.1\" 200 1234\n",
	    NULL,
	    "www.example.com:8080 192.0.2.7 - alice "
	    "[21/Nov/2026:10:43:10 +0000] "
	    "\"GET /index.html?q=1 HTTP/1.1\" 200 1234 "
	    "\"https://example.com/\" \"curl/8.0\"\n"};
	enum log_format fmt;
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_user, "alice");
	for (fmt = LOG_FORMAT_COMBINED; fmt <= LOG_FORMAT_VHOST_COMBINED; fmt++)
		if (lines[fmt] != NULL)
			assert_string_equal(t_fmt(&lr, fmt), lines[fmt]);
}

/*
 * A user is an unquoted CLF field: a space, a quote, a backslash and a
 * control byte in it are \xHH, so that it stays one field.
 */
static void
test_clf_escapes_user(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_user, "a b\"c\\d\x01\xc3\xa9");
	assert_non_null(strstr(t_fmt(&lr, LOG_FORMAT_COMMON),
	    "192.0.2.7 - a\\x20b\\x22c\\x5Cd\\x01\\xC3\\xA9 [21/Nov/"));
	t_assert_form(t_buf, LOG_FORMAT_COMMON);
	t_assert_form(
	    t_fmt(&lr, LOG_FORMAT_VHOST_COMBINED), LOG_FORMAT_VHOST_COMBINED);
}

/* JSON shows the host, port and user, the user escaped as any string. */
static void
test_json_shows_host_port_and_escaped_user(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_user, "Zo\xc3\xab \"q\"\\\x01\xff");
	t_fmt(&lr, LOG_FORMAT_JSON);
	assert_non_null(strstr(t_buf,
	    ",\"host\":\"www.example.com\",\"port\":\"8080\","
	    "\"user\":\"Zo\xc3\xab \\\"q\\\"\\\\\\u0001\\ufffd\"}\n"));
	t_assert_json(t_buf);
	assert_string_equal(t_js.tj_val[7], "www.example.com");
	assert_string_equal(t_js.tj_val[8], "8080");
}

/* The return value is the line's length, the NUL excluded. */
static void
test_return_value_is_line_length(void **state)
{
	struct logrec lr;
	char buf[512];

	(void)state;
	t_sample(&lr);
	assert_int_equal(
	    logfmt_access(&lr, LOG_FORMAT_COMBINED, buf, sizeof(buf)),
	    strlen(T_COMBINED));
	assert_int_equal(logfmt_access(&lr, LOG_FORMAT_JSON, buf, sizeof(buf)),
	    strlen(T_JSON));
}

/* Numbers print exactly at their extremes: 0, 2^64 - 1, INT_MIN. */
static void
test_numbers_print_exactly_at_extremes(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_status = 0;
	lr.lr_bytes = 0;
	assert_non_null(strstr(t_fmt(&lr, LOG_FORMAT_COMMON), "\" 0 0"));
	lr.lr_status = INT_MIN;
	lr.lr_bytes = UINT64_MAX;
	lr.lr_duration_usec = UINT64_MAX;
	assert_non_null(strstr(t_fmt(&lr, LOG_FORMAT_COMMON),
	    "\" -2147483648 18446744073709551615"));
	assert_non_null(strstr(t_fmt(&lr, LOG_FORMAT_JSON),
	    "\"status\":-2147483648,\"bytes\":18446744073709551615,"
	    "\"duration_us\":18446744073709551615"));
}

/* An empty referer and agent show as "-" in combined. */
static void
test_empty_referer_and_agent_are_dashes(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_referer[0] = '\0';
	lr.lr_agent[0] = '\0';
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMBINED),
	    "192.0.2.7 - - [21/Nov/2026:10:43:10 +0000] "
	    "\"GET /index.html?q=1 HTTP/1.1\" 200 1234 \"-\" \"-\"\n");
}

/* With no request line read, the request shows as "-". */
static void
test_no_request_line_is_dash(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_method[0] = '\0';
	lr.lr_target[0] = '\0';
	lr.lr_protocol[0] = '\0';
	lr.lr_status = 400;
	lr.lr_bytes = 0;
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMBINED),
	    "192.0.2.7 - - [21/Nov/2026:10:43:10 +0000] \"-\" 400 0 "
	    "\"https://example.com/\" \"curl/8.0\"\n");
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMMON),
	    "192.0.2.7 - - [21/Nov/2026:10:43:10 +0000] \"-\" 400 0\n");
}

/* An empty method hides whatever target and protocol the record has. */
static void
test_no_method_hides_target_and_protocol(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_method[0] = '\0';
	assert_string_equal(t_request(t_fmt(&lr, LOG_FORMAT_COMBINED)), "-");
}

/* A request without a protocol (HTTP/0.9 form) shows as "GET /x". */
static void
test_empty_protocol_is_left_out(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_protocol[0] = '\0';
	assert_string_equal(
	    t_request(t_fmt(&lr, LOG_FORMAT_COMBINED)), "GET /index.html?q=1");
}

/* Empty address and target show as "-", keeping the fields apart. */
static void
test_empty_address_and_target_are_dashes(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_addr[0] = '\0';
	lr.lr_target[0] = '\0';
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMMON),
	    "- - - [21/Nov/2026:10:43:10 +0000] \"GET - HTTP/1.1\" 200 "
	    "1234\n");
}

/* JSON shows empty fields as empty strings. */
static void
test_json_empty_fields_are_empty_strings(void **state)
{
	struct logrec lr;

	(void)state;
	memset(&lr, 0, sizeof(lr));
	lr.lr_type = LOGREC_ACCESS;
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_JSON),
	    "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"remote_addr\":\"\","
	    "\"method\":\"\",\"target\":\"\",\"protocol\":\"\",\"status\":0,"
	    "\"bytes\":0,\"duration_us\":0,\"referer\":\"\","
	    "\"user_agent\":\"\",\"host\":\"\",\"port\":\"\",\"user\":\"\"}\n");
}

/* A TLS record's JSON line ends in its protocol, cipher and subject. */
static void
test_json_tls_line_is_exact(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_sample_tls(&lr);
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_JSON), T_JSON_TLS);
	t_assert_json(t_buf);
	assert_int_equal(t_js.tj_nvals, 13);
}

/* Without a client certificate the line has no tls_client_subject. */
static void
test_json_tls_without_client_certificate_has_no_subject(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_sample_tls(&lr);
	lr.lr_tls_subject[0] = '\0';
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_JSON),
	    T_JSON_KEYS ",\"tls_protocol\":\"TLSv1.3\","
			"\"tls_cipher\":\"TLS_AES_256_GCM_SHA384\"}\n");
}

/*
 * Without a TLS version (a plain connection) the line has no TLS key at
 * all, whatever else the record holds: it is the plain line.
 */
static void
test_json_without_tls_version_has_no_tls_keys(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_sample_tls(&lr);
	lr.lr_tls_version[0] = '\0';
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_JSON), T_JSON);
}

/* A TLS version with an empty cipher shows the cipher as "". */
static void
test_json_tls_empty_cipher_is_empty_string(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_sample_tls(&lr);
	lr.lr_tls_cipher[0] = '\0';
	assert_non_null(strstr(t_fmt(&lr, LOG_FORMAT_JSON),
	    ",\"tls_protocol\":\"TLSv1.3\",\"tls_cipher\":\"\","
	    "\"tls_client_subject\":\"CN=client,O=Example\"}\n"));
}

/* Combined and common lines are the same over TLS as in the clear. */
static void
test_combined_and_common_leave_tls_out(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_sample_tls(&lr);
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMBINED), T_COMBINED);
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMMON), T_COMMON);
}

/*
 * A subject as OpenSSL prints it (RFC 2253: \" and \, escaped with a
 * backslash), with UTF-8, a control byte and a byte that is not UTF-8, is
 * one JSON string: backslashes and quotes escaped, UTF-8 kept, the
 * control as \u00XX, the stray byte as \ufffd.
 */
static void
test_json_escapes_tls_subject(void **state)
{
	static const char subject[] =
	    "CN=Zo\xc3\xab \\\"Q\\\",O=Example\\, Inc.,L=M\xc3\xbcnchen\x01";
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_sample_tls(&lr);
	strcpy(lr.lr_tls_subject, subject);
	t_fmt(&lr, LOG_FORMAT_JSON);
	assert_non_null(strstr(t_buf,
	    "\"tls_client_subject\":\"CN=Zo\xc3\xab \\\\\\\"Q\\\\\\\","
	    "O=Example\\\\, Inc.,L=M\xc3\xbcnchen\\u0001\"}\n"));
	t_assert_json(t_buf);
	assert_string_equal(t_js.tj_val[12], subject);

	strcpy(lr.lr_tls_subject, "CN=\xff");
	t_fmt(&lr, LOG_FORMAT_JSON);
	assert_non_null(
	    strstr(t_buf, "\"tls_client_subject\":\"CN=\\ufffd\"}\n"));
	t_assert_json(t_buf);
}

/* Quote and backslash in combined are written as \x22 and \x5C. */
static void
test_combined_escapes_quote_and_backslash(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_target, "/a\"b\\c");
	assert_string_equal(t_request(t_fmt(&lr, LOG_FORMAT_COMBINED)),
	    "GET /a\\x22b\\x5Cc HTTP/1.1");
}

/* CR and LF in combined are written as \x0D and \x0A. */
static void
test_combined_escapes_cr_lf(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_target, "/a\r\nb");
	assert_string_equal(t_request(t_fmt(&lr, LOG_FORMAT_COMBINED)),
	    "GET /a\\x0D\\x0Ab HTTP/1.1");
}

/* Every other byte below 0x20 is written as \xHH. */
static void
test_combined_escapes_control_bytes(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_target, "\x01\x08\x09\x1b\x1f");
	assert_string_equal(t_request(t_fmt(&lr, LOG_FORMAT_COMBINED)),
	    "GET \\x01\\x08\\x09\\x1B\\x1F HTTP/1.1");
}

/*
 * A NUL ends a field: what follows it in the record's array, here a quote
 * and a newline, is never logged.
 */
static void
test_combined_field_ends_at_nul(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	memcpy(lr.lr_target, "/a\0\"\n", 6);
	assert_string_equal(
	    t_request(t_fmt(&lr, LOG_FORMAT_COMBINED)), "GET /a HTTP/1.1");
}

/* DEL and every byte >= 0x80, UTF-8 included, are written as \xHH. */
static void
test_combined_escapes_del_and_high_bytes(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_target, "/\x7f\x80\xff\xc3\xa9");
	assert_string_equal(t_request(t_fmt(&lr, LOG_FORMAT_COMBINED)),
	    "GET /\\x7F\\x80\\xFF\\xC3\\xA9 HTTP/1.1");
}

/* Printable ASCII other than quote and backslash is written as is. */
static void
test_combined_keeps_printable_ascii(void **state)
{
	struct logrec lr;
	char want[LOGREC_TARGET_MAX + 32], *p;
	int c;

	(void)state;
	t_sample(&lr);
	p = lr.lr_target;
	for (c = 0x20; c < 0x7f; c++)
		if (c != '"' && c != '\\')
			*p++ = (char)c;
	*p = '\0';
	snprintf(want, sizeof(want), "GET %s HTTP/1.1", lr.lr_target);
	assert_string_equal(t_request(t_fmt(&lr, LOG_FORMAT_COMBINED)), want);
}

/* Every string field of combined is escaped, the address too. */
static void
test_combined_escapes_every_field(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_addr, "a\"\n");
	strcpy(lr.lr_method, "G\"T");
	strcpy(lr.lr_target, "/\"");
	strcpy(lr.lr_protocol, "H\"");
	strcpy(lr.lr_referer, "r\"\\");
	strcpy(lr.lr_agent, "u\"\r");
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMBINED),
	    "a\\x22\\x0A - - [21/Nov/2026:10:43:10 +0000] "
	    "\"G\\x22T /\\x22 H\\x22\" 200 1234 \"r\\x22\\x5C\" "
	    "\"u\\x22\\x0D\"\n");
	t_assert_form(t_buf, LOG_FORMAT_COMBINED);
}

/* A space in the unquoted address is escaped so fields stay apart. */
static void
test_combined_escapes_space_in_address(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_addr, "a b");
	assert_int_equal(
	    strncmp(t_fmt(&lr, LOG_FORMAT_COMBINED), "a\\x20b - - [", 12), 0);
}

/* JSON escapes quote, backslash, CR, LF, tab and other controls. */
static void
test_json_escapes_quote_backslash_and_controls(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_agent, "\"\\\n\r\t\x01\x1f\x7f/");
	t_fmt(&lr, LOG_FORMAT_JSON);
	assert_non_null(strstr(t_buf,
	    "\"user_agent\":\"\\\"\\\\\\n\\r\\t\\u0001\\u001f\\u007f/\","));
	t_assert_json(t_buf);
	assert_string_equal(t_js.tj_val[6], lr.lr_agent);
}

/* C1 controls, valid UTF-8 but no text, are written as \u00XX. */
static void
test_json_escapes_c1_controls(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_agent,
	    "a\xc2\x85\xc2\x9f"
	    "b\xc2\xa0");
	t_fmt(&lr, LOG_FORMAT_JSON);
	assert_non_null(
	    strstr(t_buf, "\"user_agent\":\"a\\u0085\\u009fb\xc2\xa0\","));
	t_assert_json(t_buf);
}

/* Valid UTF-8 of every length passes through JSON unchanged. */
static void
test_json_passes_valid_utf8(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	strcpy(lr.lr_target, "/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80");
	t_fmt(&lr, LOG_FORMAT_JSON);
	assert_non_null(strstr(t_buf,
	    "\"target\":\"/caf\xc3\xa9/\xe2\x82\xac/"
	    "\xf0\x9f\x98\x80\","));
	t_assert_json(t_buf);
}

/* Each byte that is not part of valid UTF-8 becomes \ufffd. */
static void
test_json_invalid_utf8_becomes_replacement(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"\x80", "\\ufffd"}, {"\xff", "\\ufffd"},
	    {"a\xe2\x82"
	     "b",
		"a\\ufffd\\ufffdb"},		       /* cut short */
	    {"\xc0\xaf", "\\ufffd\\ufffd"},	       /* overlong */
	    {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"}, /* overlong */
	    {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"}, /* surrogate */
	    {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* big */
	    {"\xf8\x88\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"},
	    {"\xf0\x9f\x98", "\\ufffd\\ufffd\\ufffd"}, /* cut at the end */
	    {"\xc3\xa9\xa9", "\xc3\xa9\\ufffd"},       /* extra byte */
	};
	struct logrec lr;
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_sample(&lr);
		strcpy(lr.lr_referer, cases[i].in);
		snprintf(
		    want, sizeof(want), "\"referer\":\"%s\",", cases[i].out);
		t_fmt(&lr, LOG_FORMAT_JSON);
		if (strstr(t_buf, want) == NULL)
			fail_msg("case %zu: %s", i, t_buf);
		t_assert_json(t_buf);
	}
}

/* Random bytes in every field still make one valid JSON object line. */
static void
test_json_of_random_bytes_is_valid(void **state)
{
	struct logrec lr;
	size_t i, n;
	int round;

	(void)state;
	srandom(1121);
	for (round = 0; round < 2000; round++) {
		t_sample(&lr);
		n = (size_t)(random() % LOGREC_TARGET_MAX);
		for (i = 0; i < n; i++)
			lr.lr_target[i] = (char)(1 + random() % 255);
		lr.lr_target[n] = '\0';
		n = (size_t)(random() % LOGREC_AGENT_MAX);
		for (i = 0; i < n; i++)
			lr.lr_agent[i] = (char)(1 + random() % 255);
		lr.lr_agent[n] = '\0';
		t_assert_json(t_fmt(&lr, LOG_FORMAT_JSON));
	}
}

/* Random valid UTF-8 text comes back unchanged from the JSON line. */
static void
test_json_round_trips_valid_utf8(void **state)
{
	struct logrec lr;
	unsigned long cp;
	size_t n;
	int round;

	(void)state;
	srandom(2026);
	for (round = 0; round < 2000; round++) {
		t_sample(&lr);
		n = 0;
		while (n + 4 < LOGREC_TARGET_MAX) {
			switch (random() % 4) {
			case 0:
				cp = 1 + (unsigned long)(random() % 0xa0);
				break;
			case 1:
				cp = 0x80 + (unsigned long)(random() % 0x780);
				break;
			case 2:
				cp = 0x800 + (unsigned long)(random() % 0xf800);
				break;
			default:
				cp = 0x10000 +
				    (unsigned long)(random() % 0x100000);
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				continue;
			t_utf8_put(lr.lr_target, &n, cp);
			if (random() % 64 == 0)
				break;
		}
		lr.lr_target[n] = '\0';
		t_assert_json(t_fmt(&lr, LOG_FORMAT_JSON));
		assert_string_equal(t_js.tj_val[3], lr.lr_target);
	}
}

/* Every month has its English abbreviation. */
static void
test_every_month_name(void **state)
{
	struct logrec lr;
	struct tm tm;
	char want[32];
	int m;

	(void)state;
	t_sample(&lr);
	for (m = 0; m < 12; m++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 2026 - 1900;
		tm.tm_mon = m;
		tm.tm_mday = 15;
		lr.lr_time_usec = (uint64_t)timegm(&tm) * 1000000;
		snprintf(want, sizeof(want), "[15/%s/2026:00:00:00 +0000]",
		    t_months[m]);
		if (strstr(t_fmt(&lr, LOG_FORMAT_COMBINED), want) == NULL)
			fail_msg("month %d: %s", m, t_buf);
	}
}

/*
 * Make a German locale current, building it with localedef into dir if
 * the system has none; return 0, or -1 if there is no way to get one.
 */
static int
t_german_locale(char *dir, size_t dirlen)
{
	char cmd[256];

	dir[0] = '\0';
	if (setlocale(LC_ALL, "de_DE.UTF-8") != NULL)
		return 0;
	snprintf(dir, dirlen, "/tmp/test_logfmt_XXXXXX");
	if (mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		return -1;
	}
	snprintf(cmd, sizeof(cmd),
	    "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", dir);
	if (system(cmd) == -1)
		return -1;
	setenv("LOCPATH", dir, 1);
	return setlocale(LC_ALL, "de_DE.UTF-8") != NULL ? 0 : -1;
}

/* Month names are English whatever the locale (here German: "Mär"). */
static void
test_month_names_do_not_depend_on_locale(void **state)
{
	struct logrec lr;
	struct tm tm;
	char dir[64], cmd[128], name[32];
	const char *line;
	int rc;

	(void)state;
	name[0] = '\0';
	rc = t_german_locale(dir, sizeof(dir));
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 2;
	tm.tm_mday = 5;
	if (rc == 0)
		strftime(name, sizeof(name), "%b", &tm);
	t_sample(&lr);
	lr.lr_time_usec = (uint64_t)timegm(&tm) * 1000000;
	line = t_fmt(&lr, LOG_FORMAT_COMBINED);
	rc = rc == 0 && strcmp(name, "Mar") != 0 ? 0 : -1;

	setlocale(LC_ALL, "C");
	unsetenv("LOCPATH");
	if (dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			print_message("could not remove %s\n", dir);
	}
	if (rc == -1)
		skip(); /* no non-English locale to try */
	assert_non_null(strstr(line, "[05/Mar/2026:00:00:00 +0000]"));
}

/* The time is UTC whatever TZ says. */
static void
test_time_is_utc_whatever_tz(void **state)
{
	struct logrec lr;
	const char *old;
	char saved[128];

	(void)state;
	old = getenv("TZ");
	snprintf(saved, sizeof(saved), "%s", old != NULL ? old : "");
	setenv("TZ", "XYZ-5:30", 1);
	tzset();
	t_sample(&lr);
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_COMBINED), T_COMBINED);
	assert_string_equal(t_fmt(&lr, LOG_FORMAT_JSON), T_JSON);
	if (old != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
}

/* Small times are zero-padded: the epoch and a few microseconds. */
static void
test_time_fields_are_zero_padded(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_time_usec = 5;
	assert_non_null(strstr(
	    t_fmt(&lr, LOG_FORMAT_COMBINED), "[01/Jan/1970:00:00:00 +0000]"));
	assert_non_null(strstr(t_fmt(&lr, LOG_FORMAT_JSON),
	    "\"time\":\"1970-01-01T00:00:00.000005Z\""));
}

/* A time past year 9999 shows as the last microsecond of 9999. */
static void
test_time_after_year_9999_is_clamped(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_time_usec = UINT64_MAX;
	assert_non_null(strstr(
	    t_fmt(&lr, LOG_FORMAT_COMBINED), "[31/Dec/9999:23:59:59 +0000]"));
	assert_non_null(strstr(t_fmt(&lr, LOG_FORMAT_JSON),
	    "\"time\":\"9999-12-31T23:59:59.999999Z\""));
}

/* The largest numbers are written in full. */
static void
test_numbers_are_written_in_full(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	lr.lr_bytes = UINT64_MAX;
	lr.lr_duration_usec = UINT64_MAX;
	lr.lr_status = 599;
	assert_non_null(strstr(
	    t_fmt(&lr, LOG_FORMAT_COMBINED), "\" 599 18446744073709551615 \""));
	assert_non_null(strstr(t_fmt(&lr, LOG_FORMAT_JSON),
	    "\"status\":599,\"bytes\":18446744073709551615,"
	    "\"duration_us\":18446744073709551615,"));
}

/* Fields with no NUL in their whole array are read up to their bound. */
static void
test_fields_are_read_up_to_their_bounds(void **state)
{
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	memset(lr.lr_target, 'a', sizeof(lr.lr_target));
	memset(lr.lr_agent, 'b', sizeof(lr.lr_agent));
	memset(lr.lr_tls_version, 'v', sizeof(lr.lr_tls_version));
	memset(lr.lr_tls_cipher, 'c', sizeof(lr.lr_tls_cipher));
	memset(lr.lr_tls_subject, 's', sizeof(lr.lr_tls_subject));
	memset(lr.lr_host, 'h', sizeof(lr.lr_host));
	memset(lr.lr_port, '9', sizeof(lr.lr_port));
	memset(lr.lr_user, 'u', sizeof(lr.lr_user));
	t_assert_json(t_fmt(&lr, LOG_FORMAT_JSON));
	assert_int_equal(t_js.tj_len[3], LOGREC_TARGET_MAX);
	assert_int_equal(t_js.tj_len[6], LOGREC_AGENT_MAX);
	assert_int_equal(t_js.tj_len[7], LOGREC_HOST_MAX);
	assert_int_equal(t_js.tj_len[8], LOGREC_PORT_MAX);
	assert_int_equal(t_js.tj_len[9], LOGREC_USER_MAX);
	assert_int_equal(t_js.tj_len[10], LOGREC_TLS_VERSION_MAX);
	assert_int_equal(t_js.tj_len[11], LOGREC_TLS_CIPHER_MAX);
	assert_int_equal(t_js.tj_len[12], LOGREC_TLS_SUBJECT_MAX);
}

/* With 8192 bytes, a record of maximal fields fits whole. */
static void
test_maximal_fields_fit_in_8192(void **state)
{
	static char whole[T_BUF_LEN];
	enum log_format fmt;
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_fill(&lr, 'a');
	lr.lr_bytes = UINT64_MAX;
	lr.lr_duration_usec = UINT64_MAX;
	lr.lr_status = INT_MIN;
	for (fmt = LOG_FORMAT_COMBINED; fmt <= LOG_FORMAT_VHOST_COMBINED;
	     fmt++) {
		strcpy(whole, t_fmt(&lr, fmt));
		assert_true(strlen(whole) > LOGREC_TARGET_MAX);
		assert_string_equal(t_fmt_len(&lr, fmt, 8192), whole);
	}
}

/*
 * The longest line, every byte of every field escaped to six, TLS and
 * site fields included, is the 18710 bytes logfmt.c's comments say and
 * fits whole in the logger's LOGFMT_LINE_MAX; one byte less than it needs
 * still gives a line, cut.
 */
static void
test_worst_json_line_fits_the_loggers_line(void **state)
{
	static char whole[T_BUF_LEN];
	struct logrec lr;
	size_t n;

	(void)state;
	t_sample(&lr);
	t_fill(&lr, '\x01');
	lr.lr_bytes = UINT64_MAX;
	lr.lr_duration_usec = UINT64_MAX;
	lr.lr_status = INT_MIN;
	lr.lr_time_usec = UINT64_MAX;
	strcpy(whole, t_fmt(&lr, LOG_FORMAT_JSON));
	n = strlen(whole);
	assert_int_equal(n, 18710);
	assert_true(n < LOGFMT_LINE_MAX);
	assert_string_equal(
	    t_fmt_len(&lr, LOG_FORMAT_JSON, LOGFMT_LINE_MAX), whole);
	t_fmt_len(&lr, LOG_FORMAT_JSON, n);
	assert_true(strlen(t_buf) > 0 && strlen(t_buf) < n);
	t_assert_json(t_buf);
}

/*
 * Cut to every room from nothing to the whole line, a line keeps its form
 * and its newline, grows with the room, and once it can be written at all
 * is never empty again.
 */
static void
t_sweep(const struct logrec *lr, enum log_format fmt)
{
	static char whole[T_BUF_LEN];
	size_t len, full, n, prev;
	int seen;

	strcpy(whole, t_fmt(lr, fmt));
	full = strlen(whole);
	t_assert_form(whole, fmt);
	seen = 0;
	prev = 0;
	for (len = 1; len <= full + 1; len += len < 700 ? 1 : 11) {
		n = strlen(t_fmt_len(lr, fmt, len));
		if (n == 0) {
			if (seen)
				fail_msg(
				    "format %d: empty at %zu", (int)fmt, len);
			continue;
		}
		seen = 1;
		assert_true(n >= prev);
		prev = n;
		t_assert_form(t_buf, fmt);
		assert_ptr_equal(strchr(t_buf, '\n'), t_buf + n - 1);
	}
	assert_true(seen);
	assert_string_equal(t_fmt_len(lr, fmt, full + 1), whole);
	assert_true(strlen(t_fmt_len(lr, fmt, full)) < full);
}

/* A short buffer cuts plain fields but keeps the line's form. */
static void
test_truncation_keeps_one_well_formed_line(void **state)
{
	enum log_format fmt;
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_fill(&lr, 'a');
	for (fmt = LOG_FORMAT_COMBINED; fmt <= LOG_FORMAT_VHOST_COMBINED; fmt++)
		t_sweep(&lr, fmt);
}

/* Cutting never splits an escape: fields made only of quotes. */
static void
test_truncation_never_splits_an_escape(void **state)
{
	enum log_format fmt;
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_fill(&lr, '"');
	for (fmt = LOG_FORMAT_COMBINED; fmt <= LOG_FORMAT_VHOST_COMBINED; fmt++)
		t_sweep(&lr, fmt);
	t_fill(&lr, '\x01');
	t_sweep(&lr, LOG_FORMAT_JSON);
	t_fill(&lr, '\xff');
	for (fmt = LOG_FORMAT_COMBINED; fmt <= LOG_FORMAT_VHOST_COMBINED; fmt++)
		t_sweep(&lr, fmt);
}

/* Cutting never splits a UTF-8 sequence in JSON. */
static void
test_truncation_never_splits_utf8(void **state)
{
	struct logrec lr;
	char *f[12];
	size_t max[12], i, n;

	(void)state;
	t_sample(&lr);
	f[0] = lr.lr_addr;
	max[0] = LOGREC_ADDR_MAX;
	f[1] = lr.lr_method;
	max[1] = LOGREC_METHOD_MAX;
	f[2] = lr.lr_target;
	max[2] = LOGREC_TARGET_MAX;
	f[3] = lr.lr_protocol;
	max[3] = LOGREC_PROTO_MAX;
	f[4] = lr.lr_referer;
	max[4] = LOGREC_REFERER_MAX;
	f[5] = lr.lr_agent;
	max[5] = LOGREC_AGENT_MAX;
	f[6] = lr.lr_tls_version;
	max[6] = LOGREC_TLS_VERSION_MAX;
	f[7] = lr.lr_tls_cipher;
	max[7] = LOGREC_TLS_CIPHER_MAX;
	f[8] = lr.lr_tls_subject;
	max[8] = LOGREC_TLS_SUBJECT_MAX;
	f[9] = lr.lr_host;
	max[9] = LOGREC_HOST_MAX;
	f[10] = lr.lr_port; /* too short for the sequence: left empty */
	max[10] = LOGREC_PORT_MAX;
	f[11] = lr.lr_user;
	max[11] = LOGREC_USER_MAX;
	for (i = 0; i < 12; i++) {
		for (n = 0; n + 9 <= max[i]; n += 9)
			memcpy(f[i] + n, "\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9",
			    9);
		f[i][n] = '\0';
	}
	t_sweep(&lr, LOG_FORMAT_JSON);
}

/* Return |a - b|. */
static size_t
t_diff(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/* Short fields stay whole and long ones share the room evenly. */
static void
test_truncation_shares_room_among_fields(void **state)
{
	struct logrec lr;
	const char *line, *p;
	size_t t, r, a;

	(void)state;
	t_sample(&lr);
	memset(lr.lr_target, 'x', LOGREC_TARGET_MAX);
	memset(lr.lr_referer, 'y', LOGREC_REFERER_MAX);
	memset(lr.lr_agent, 'z', LOGREC_AGENT_MAX);
	line = t_fmt_len(&lr, LOG_FORMAT_COMBINED, 300);
	t_assert_form(line, LOG_FORMAT_COMBINED);
	assert_int_equal(strncmp(line, "192.0.2.7 - - [", 15), 0);
	assert_non_null(strstr(line, "\"GET x"));
	assert_non_null(strstr(line, "x HTTP/1.1\" 200 1234 \"y"));
	assert_non_null(strstr(line, "y\" \"z"));
	t = r = a = 0;
	for (p = line; *p != '\0'; p++) {
		t += *p == 'x';
		r += *p == 'y';
		a += *p == 'z';
	}
	assert_true(t > 50 && r > 50 && a > 50);
	assert_true(t_diff(t, r) <= 1 && t_diff(t, a) <= 1);
	assert_int_equal(strlen(line), 299);
}

/* Return how many times c occurs in s. */
static size_t
t_count(const char *s, int c)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

/*
 * Over TLS, a short JSON line keeps the protocol and cipher whole, and
 * the long subject gets the same room as the other long fields.
 */
static void
test_truncation_shares_room_with_tls_subject(void **state)
{
	struct logrec lr;
	const char *line;
	size_t t, r, a, s;

	(void)state;
	t_sample(&lr);
	t_sample_tls(&lr);
	memset(lr.lr_target, 'x', LOGREC_TARGET_MAX);
	memset(lr.lr_referer, 'y', LOGREC_REFERER_MAX);
	memset(lr.lr_agent, 'z', LOGREC_AGENT_MAX);
	memset(lr.lr_tls_subject, 'w', LOGREC_TLS_SUBJECT_MAX);
	line = t_fmt_len(&lr, LOG_FORMAT_JSON, 700);
	t_assert_json(line);
	assert_int_equal(strlen(line), 699);
	assert_string_equal(t_js.tj_val[10], "TLSv1.3");
	assert_string_equal(t_js.tj_val[11], "TLS_AES_256_GCM_SHA384");
	t = t_count(t_js.tj_val[3], 'x');
	r = t_count(t_js.tj_val[5], 'y');
	a = t_count(t_js.tj_val[6], 'z');
	s = t_count(t_js.tj_val[12], 'w');
	assert_true(t > 50 && t == t_js.tj_len[3] && s == t_js.tj_len[12]);
	assert_true(
	    t_diff(t, r) <= 1 && t_diff(t, a) <= 1 && t_diff(t, s) <= 1);
}

/*
 * The fixed text of the worst record (every field at its bound, the
 * longest numbers and time) and a "-" for each field need the room
 * logfmt.c's comment says, 85, 77, 297 and 89 bytes with the NUL: with it
 * a line comes out, with one byte less none.
 */
static void
test_fixed_text_needs_the_room_logfmt_says(void **state)
{
	static const size_t room[] = {85, 77, 297, 89};
	enum log_format fmt;
	struct logrec lr;

	(void)state;
	t_sample(&lr);
	t_sample_tls(&lr);
	t_fill(&lr, '\x01');
	lr.lr_bytes = UINT64_MAX;
	lr.lr_duration_usec = UINT64_MAX;
	lr.lr_status = INT_MIN;
	lr.lr_time_usec = UINT64_MAX;
	for (fmt = LOG_FORMAT_COMBINED; fmt <= LOG_FORMAT_VHOST_COMBINED;
	     fmt++) {
		assert_true(strlen(t_fmt_len(&lr, fmt, room[fmt])) > 0);
		t_assert_form(t_buf, fmt);
		assert_int_equal(strlen(t_fmt_len(&lr, fmt, room[fmt] - 1)), 0);
	}
}

/* Too small a buffer for the fixed text gets an empty string and 0. */
static void
test_too_small_buffer_gives_empty_string(void **state)
{
	enum log_format fmt;
	struct logrec lr;
	char buf[T_SMALL];

	(void)state;
	t_sample(&lr);
	for (fmt = LOG_FORMAT_COMBINED; fmt <= LOG_FORMAT_VHOST_COMBINED;
	     fmt++) {
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(logfmt_access(&lr, fmt, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "");
		buf[0] = 'X';
		assert_int_equal(logfmt_access(&lr, fmt, buf, 0), 0);
		assert_int_equal(buf[0], 'X');
	}
}

/* An unknown format gets an empty string and 0. */
static void
test_unknown_format_gives_empty_string(void **state)
{
	struct logrec lr;
	char buf[512];

	(void)state;
	t_sample(&lr);
	buf[0] = 'X';
	assert_int_equal(
	    logfmt_access(&lr, (enum log_format)7, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

/* Run every logfmt.c test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_combined_line_is_exact),
	    cmocka_unit_test(test_common_line_is_exact),
	    cmocka_unit_test(test_json_line_is_exact),
	    cmocka_unit_test(test_vhost_combined_line_is_exact),
	    cmocka_unit_test(test_vhost_combined_without_host_is_dash),
	    cmocka_unit_test(test_user_is_the_third_clf_field),
	    cmocka_unit_test(test_clf_escapes_user),
	    cmocka_unit_test(test_json_shows_host_port_and_escaped_user),
	    cmocka_unit_test(test_return_value_is_line_length),
	    cmocka_unit_test(test_numbers_print_exactly_at_extremes),
	    cmocka_unit_test(test_empty_referer_and_agent_are_dashes),
	    cmocka_unit_test(test_no_request_line_is_dash),
	    cmocka_unit_test(test_no_method_hides_target_and_protocol),
	    cmocka_unit_test(test_empty_protocol_is_left_out),
	    cmocka_unit_test(test_empty_address_and_target_are_dashes),
	    cmocka_unit_test(test_json_empty_fields_are_empty_strings),
	    cmocka_unit_test(test_json_tls_line_is_exact),
	    cmocka_unit_test(
		test_json_tls_without_client_certificate_has_no_subject),
	    cmocka_unit_test(test_json_without_tls_version_has_no_tls_keys),
	    cmocka_unit_test(test_json_tls_empty_cipher_is_empty_string),
	    cmocka_unit_test(test_combined_and_common_leave_tls_out),
	    cmocka_unit_test(test_json_escapes_tls_subject),
	    cmocka_unit_test(test_combined_escapes_quote_and_backslash),
	    cmocka_unit_test(test_combined_escapes_cr_lf),
	    cmocka_unit_test(test_combined_escapes_control_bytes),
	    cmocka_unit_test(test_combined_field_ends_at_nul),
	    cmocka_unit_test(test_combined_escapes_del_and_high_bytes),
	    cmocka_unit_test(test_combined_keeps_printable_ascii),
	    cmocka_unit_test(test_combined_escapes_every_field),
	    cmocka_unit_test(test_combined_escapes_space_in_address),
	    cmocka_unit_test(test_json_escapes_quote_backslash_and_controls),
	    cmocka_unit_test(test_json_escapes_c1_controls),
	    cmocka_unit_test(test_json_passes_valid_utf8),
	    cmocka_unit_test(test_json_invalid_utf8_becomes_replacement),
	    cmocka_unit_test(test_json_of_random_bytes_is_valid),
	    cmocka_unit_test(test_json_round_trips_valid_utf8),
	    cmocka_unit_test(test_every_month_name),
	    cmocka_unit_test(test_month_names_do_not_depend_on_locale),
	    cmocka_unit_test(test_time_is_utc_whatever_tz),
	    cmocka_unit_test(test_time_fields_are_zero_padded),
	    cmocka_unit_test(test_time_after_year_9999_is_clamped),
	    cmocka_unit_test(test_numbers_are_written_in_full),
	    cmocka_unit_test(test_fields_are_read_up_to_their_bounds),
	    cmocka_unit_test(test_maximal_fields_fit_in_8192),
	    cmocka_unit_test(test_worst_json_line_fits_the_loggers_line),
	    cmocka_unit_test(test_truncation_keeps_one_well_formed_line),
	    cmocka_unit_test(test_truncation_never_splits_an_escape),
	    cmocka_unit_test(test_truncation_never_splits_utf8),
	    cmocka_unit_test(test_truncation_shares_room_among_fields),
	    cmocka_unit_test(test_truncation_shares_room_with_tls_subject),
	    cmocka_unit_test(test_fixed_text_needs_the_room_logfmt_says),
	    cmocka_unit_test(test_too_small_buffer_gives_empty_string),
	    cmocka_unit_test(test_unknown_format_gives_empty_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
