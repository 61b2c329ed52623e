/*
 * fuzz_path: request path normalisation and the helpers that use its
 * result (path.c). The input is a request path as it appears in a target.
 *
 * It asserts, for any input:
 *
 * - path_normalize() returns 0, 400 or 414 and agrees with a reference
 *   written here from the contract (decode %XX first, then drop empty and
 *   "." segments, pop one for "..", 400 above the root; a trailing slash
 *   when the last segment is empty, "." or ".."): same status, same
 *   output.
 * - A result starts with '/', has no NUL before its end, no "//", no "."
 *   or ".." segment (so it stays beneath the root), and is idempotent:
 *   normalising it again (when it has no '%', which would be decoded
 *   again) or normalising its path_encode() form gives it back.
 * - With a smaller output buffer the status is the same unless the result
 *   does not fit (414, never for a bad path: 400 wins), and a result that
 *   fits is the same; nothing is written past the buffer (an exact-size
 *   heap buffer).
 * - path_has_dotfile() is true iff a segment of the result starts with
 *   '.'.
 * - path_encode() keeps only unreserved characters, sub-delims, ':', '@'
 *   and '/', writes every other byte as %XX, never starts with "//", and
 *   decodes back to its input; with a buffer too small it returns -1 and
 *   leaves an empty string, and never writes past the buffer.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define FUZZ_OUT_MAX 4096 /* PATH_MAX, as file.c and http.c use */

/* Value of a hex digit, or -1. */
static int
ref_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The reference normaliser: decode the whole path, split it into segments
 * and keep a stack. Return 0 with the result in out (cap bytes, NUL
 * included; the result is built without bound first), 400 or 414.
 */
static int
ref_normalize(const char *path, size_t len, char *out, size_t cap)
{
	char *dec, *res;
	size_t *starts, *lens;
	size_t i, n = 0, nseg = 0, s, seg_len, o;
	int hi, lo, trailing = 0, rc = 0;

	if (len == 0 || path[0] != '/')
		return 400;
	dec = malloc(len + 1);
	starts = malloc((len + 1) * sizeof(*starts));
	lens = malloc((len + 1) * sizeof(*lens));
	res = malloc(len + 2);
	if (dec == NULL || starts == NULL || lens == NULL || res == NULL)
		abort();

	/* Decode: %XX with two hex digits, no NUL either way. */
	for (i = 0; i < len; i++) {
		if (path[i] == '%') {
			if (len - i < 3 ||
			    (hi = ref_hex((unsigned char)path[i + 1])) < 0 ||
			    (lo = ref_hex((unsigned char)path[i + 2])) < 0) {
				rc = 400;
				goto done;
			}
			dec[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			dec[n++] = path[i];
		if (dec[n - 1] == '\0') {
			rc = 400;
			goto done;
		}
	}

	/* Segments after each '/', the first '/' being path[0]. */
	for (s = 1; s <= n;) {
		for (i = s; i < n && dec[i] != '/'; i++)
			;
		seg_len = i - s;
		trailing = seg_len == 0 || (seg_len == 1 && dec[s] == '.') ||
		    (seg_len == 2 && dec[s] == '.' && dec[s + 1] == '.');
		if (seg_len == 2 && dec[s] == '.' && dec[s + 1] == '.') {
			if (nseg == 0) {
				rc = 400;
				goto done;
			}
			nseg--;
		} else if (!trailing) {
			starts[nseg] = s;
			lens[nseg] = seg_len;
			nseg++;
		}
		s = i + 1;
	}

	o = 0;
	for (i = 0; i < nseg; i++) {
		res[o++] = '/';
		memcpy(res + o, dec + starts[i], lens[i]);
		o += lens[i];
	}
	if (o == 0 || trailing)
		res[o++] = '/';
	if (o + 1 > cap) {
		rc = 414;
		goto done;
	}
	memcpy(out, res, o);
	out[o] = '\0';
done:
	free(dec);
	free(starts);
	free(lens);
	free(res);
	return rc;
}

/* Tell whether c stays unencoded in path_encode()'s output. */
static int
ref_encode_keep(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._~/!$&'()*+,;=:@", c) != NULL);
}

/* Normalise into an exact-size heap buffer of outlen bytes. */
static int
normalize_into(const char *path, size_t len, size_t outlen, char *copy_out)
{
	char *out;
	int rc;

	out = malloc(outlen > 0 ? outlen : 1);
	if (out == NULL)
		abort();
	rc = path_normalize(path, len, out, outlen);
	if (rc == 0) {
		FUZZ_ASSERT(memchr(out, '\0', outlen) != NULL);
		memcpy(copy_out, out, strlen(out) + 1);
	}
	free(out);
	return rc;
}

/* Check the properties of a normalised path p. */
static void
check_result(const char *p)
{
	const char *seg, *end;
	size_t n;

	FUZZ_ASSERT(p[0] == '/');
	FUZZ_ASSERT(strstr(p, "//") == NULL);
	for (seg = p + 1; *seg != '\0'; seg = end + 1) {
		end = strchr(seg, '/');
		n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		FUZZ_ASSERT(!(n == 1 && seg[0] == '.'));
		FUZZ_ASSERT(!(n == 2 && seg[0] == '.' && seg[1] == '.'));
		if (end == NULL)
			break;
	}
}

/* Check path_encode() on the normalised path p, and its round trip. */
static void
check_encode(const char *p, size_t plen)
{
	char enc[3 * FUZZ_OUT_MAX + 1], back[FUZZ_OUT_MAX];
	char *small;
	size_t i, elen, need;
	int hi, lo;

	FUZZ_ASSERT(path_encode(p, enc, sizeof(enc)) == 0);
	elen = strlen(enc);
	FUZZ_ASSERT(elen >= plen);
	FUZZ_ASSERT(!(elen >= 2 && enc[0] == '/' && enc[1] == '/'));
	for (i = 0; i < elen; i++) {
		if (enc[i] == '%') {
			FUZZ_ASSERT(i + 2 < elen);
			hi = ref_hex((unsigned char)enc[i + 1]);
			lo = ref_hex((unsigned char)enc[i + 2]);
			FUZZ_ASSERT(hi >= 0 && lo >= 0);
			/* Uppercase hex, and only for what must be. */
			FUZZ_ASSERT(!(enc[i + 1] >= 'a' && enc[i + 1] <= 'f'));
			FUZZ_ASSERT(!(enc[i + 2] >= 'a' && enc[i + 2] <= 'f'));
			FUZZ_ASSERT(
			    !ref_encode_keep((unsigned char)(hi << 4 | lo)));
			i += 2;
		} else
			FUZZ_ASSERT(ref_encode_keep((unsigned char)enc[i]));
	}
	FUZZ_ASSERT(strchr(enc, '\\') == NULL);

	/* Round trip: the encoded form normalises back to p. */
	FUZZ_ASSERT(path_normalize(enc, elen, back, sizeof(back)) == 0);
	FUZZ_ASSERT(strcmp(back, p) == 0);

	/* Exactly enough room, then one byte short. */
	need = elen + 1;
	small = malloc(need);
	if (small == NULL)
		abort();
	FUZZ_ASSERT(path_encode(p, small, need) == 0);
	FUZZ_ASSERT(strcmp(small, enc) == 0);
	free(small);
	small = malloc(need - 1);
	if (small == NULL)
		abort();
	FUZZ_ASSERT(path_encode(p, small, need - 1) == -1);
	FUZZ_ASSERT(small[0] == '\0');
	free(small);
	FUZZ_ASSERT(path_encode(p, NULL, 0) == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[FUZZ_OUT_MAX], ref[FUZZ_OUT_MAX], again[FUZZ_OUT_MAX],
	    small[FUZZ_OUT_MAX];
	static const size_t lens[] = {0, 1, 2, 3, 4, 5, 8, 16};
	const char *path;
	char *copy;
	size_t len, i, outlen;
	int rc, rrc, src, dot;
	const char *q;

	copy = fuzz_copy(data, size);
	path = copy;
	len = size;

	rc = normalize_into(path, len, sizeof(out), out);
	FUZZ_ASSERT(rc == 0 || rc == 400 || rc == 414);
	rrc = ref_normalize(path, len, ref, sizeof(ref));
	FUZZ_ASSERT(rc == rrc);
	if (rc == 0) {
		FUZZ_ASSERT(strcmp(out, ref) == 0);
		check_result(out);
		FUZZ_ASSERT(strlen(out) <= len);

		/* Idempotent: nothing left to decode or remove. */
		if (strchr(out, '%') == NULL) {
			FUZZ_ASSERT(path_normalize(out, strlen(out), again,
					sizeof(again)) == 0);
			FUZZ_ASSERT(strcmp(again, out) == 0);
		}

		/* A dotfile is a segment that starts with '.'. */
		dot = 0;
		for (q = out; *q != '\0'; q++)
			if (*q == '.' && q[-1] == '/')
				dot = 1;
		FUZZ_ASSERT(path_has_dotfile(out) == dot);

		check_encode(out, strlen(out));
	}

	/* Smaller buffers: 414 exactly when the result does not fit. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]) + 3; i++) {
		if (i < sizeof(lens) / sizeof(lens[0]))
			outlen = lens[i];
		else if (rc == 0)
			outlen =
			    strlen(out) + (i - sizeof(lens) / sizeof(lens[0]));
		else
			outlen = len / (i - sizeof(lens) / sizeof(lens[0]) + 1);
		if (outlen > sizeof(small))
			continue;
		src = normalize_into(path, len, outlen, small);
		if (rc == 400)
			FUZZ_ASSERT(src == 400);
		else if (rc == 0 && strlen(out) + 1 <= outlen) {
			FUZZ_ASSERT(src == 0);
			FUZZ_ASSERT(strcmp(small, out) == 0);
		} else
			FUZZ_ASSERT(src == 414);
	}
	free(copy);
	return 0;
}
