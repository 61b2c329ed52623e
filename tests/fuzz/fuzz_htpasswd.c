/*
 * fuzz_htpasswd: htpasswd files (htpasswd.c) and Basic credentials
 * (auth.c). The input is read as the text of an htpasswd file and as the
 * value of an Authorization field.
 *
 * It asserts:
 *
 * - htpasswd_parse() either refuses the text, leaving no users and a
 *   line number no greater than the text's lines, or gives users whose
 *   names are 1 to HTPASSWD_USER_MAX bytes of printable ASCII other
 *   than space and ':', whose
 *   hashes are bcrypt (60 bytes) or SHA-512-crypt, sorted by name with
 *   no name twice, one of them the costliest (for unknown users);
 *   htpasswd_find() finds each, and htpasswd_copy() gives the same users.
 * - auth_basic_parse() either refuses the value or gives a user without
 *   ':' and a password, NUL-terminated, within AUTH_CRED_MAX bytes; the
 *   two encoded again as "Basic BASE64" parse back to themselves.
 * - Nothing reads past the input (exact-size copies).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

/* Count the lines of text[0..n) as htpasswd_parse() numbers them. */
static int
count_lines(const char *text, size_t n)
{
	size_t i;
	int lines = n > 0;

	for (i = 0; i + 1 < n; i++)
		lines += text[i] == '\n';
	return lines;
}

/* Check one user of a parsed file. */
static void
check_user(const struct htpasswd *hp, const struct htpasswd_user *hu)
{
	size_t n = strlen(hu->hu_name), h = strlen(hu->hu_hash), i;

	FUZZ_ASSERT(n >= 1 && n <= HTPASSWD_USER_MAX);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(hu->hu_name[i] > ' ' && hu->hu_name[i] < 0x7f &&
		    hu->hu_name[i] != ':');
	FUZZ_ASSERT((h == 60 && strncmp(hu->hu_hash, "$2", 2) == 0) ||
	    strncmp(hu->hu_hash, "$6$", 3) == 0);
	FUZZ_ASSERT(htpasswd_find(hp, hu->hu_name, n) == hu);
}

/* Check htpasswd_parse() on the input as a file's text. */
static void
check_file(const uint8_t *data, size_t size)
{
	struct htpasswd hp, copy;
	char *text = fuzz_copy(data, size), why[256];
	size_t i;
	int line;

	memset(&hp, 0, sizeof(hp));
	if (htpasswd_parse(&hp, text, size, &line, why, sizeof(why)) == -1) {
		FUZZ_ASSERT(hp.hp_n == 0 && hp.hp_users == NULL);
		FUZZ_ASSERT(line >= 0 && line <= count_lines(text, size));
		free(text);
		return;
	}
	for (i = 0; i < hp.hp_n; i++) {
		check_user(&hp, &hp.hp_users[i]);
		if (i > 0)
			FUZZ_ASSERT(strcmp(hp.hp_users[i - 1].hu_name,
					hp.hp_users[i].hu_name) < 0);
	}
	FUZZ_ASSERT(hp.hp_n == 0 || hp.hp_costliest < hp.hp_n);
	FUZZ_ASSERT(htpasswd_copy(&copy, &hp) == 0);
	FUZZ_ASSERT(copy.hp_n == hp.hp_n);
	FUZZ_ASSERT(copy.hp_costliest == hp.hp_costliest);
	if (hp.hp_n > 0)
		FUZZ_ASSERT(memcmp(copy.hp_users, hp.hp_users,
				hp.hp_n * sizeof(hp.hp_users[0])) == 0);
	htpasswd_free(&copy);
	htpasswd_free(&hp);
	free(text);
}

/* Encode in[0..n) as base64 into out (room for 4 * (n + 2) / 3 + 1). */
static void
b64(const char *in, size_t n, char *out)
{
	static const char d[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)(unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = d[v >> 18 & 63];
		out[o++] = d[v >> 12 & 63];
		out[o++] = i + 1 < n ? d[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? d[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Check auth_basic_parse() on the input as an Authorization value. */
static void
check_basic(const uint8_t *data, size_t size)
{
	struct auth_basic ab, again;
	char *value = fuzz_copy(data, size);
	char plain[AUTH_CRED_MAX + 1],
	    field[6 + 4 * (AUTH_CRED_MAX + 2) / 3 + 1];
	size_t plen, n;

	if (auth_basic_parse(value, size, &ab) == -1) {
		free(value);
		return;
	}
	plen = strlen(ab.ab_pass);
	FUZZ_ASSERT(ab.ab_buf[ab.ab_user_len] == '\0');
	FUZZ_ASSERT(memchr(ab.ab_buf, ':', ab.ab_user_len) == NULL);
	FUZZ_ASSERT(ab.ab_pass == ab.ab_buf + ab.ab_user_len + 1);
	n = ab.ab_user_len + 1 + plen;
	FUZZ_ASSERT(n <= AUTH_CRED_MAX);
	memcpy(plain, ab.ab_buf, n);
	plain[ab.ab_user_len] = ':';
	memcpy(field, "Basic ", 6);
	b64(plain, n, field + 6);
	FUZZ_ASSERT(auth_basic_parse(field, strlen(field), &again) == 0);
	FUZZ_ASSERT(again.ab_user_len == ab.ab_user_len);
	FUZZ_ASSERT(memcmp(again.ab_buf, ab.ab_buf, n + 1) == 0);
	free(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_file(data, size);
	check_basic(data, size);
	return 0;
}
