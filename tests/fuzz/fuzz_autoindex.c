/*
 * fuzz_autoindex: the directory listing's escaping and page (autoindex.c).
 * The input is a list of names separated by '/' (a name has no '/' and
 * no NUL, as in a directory); the first is also the listed path's last
 * segment, and a hash of the input picks which names are directories,
 * their sizes and times, whether entries were left unread and the page's
 * bound.
 *
 * It asserts, for any input:
 *
 * - autoindex_escape_html() of a name is valid UTF-8 with no control
 *   byte, no < > " or ', and every & starting one of the five references
 *   it writes; with a buffer one byte short it returns -1 and leaves an
 *   empty string, never writing past it (an exact-size heap buffer).
 * - autoindex_encode_url() of a name keeps only unreserved characters,
 *   writes every other byte as %XX in uppercase, and decodes back to the
 *   name; one byte short, -1 and an empty string.
 * - autoindex_render() gives a page no longer than its bound that is
 *   valid UTF-8 and ends the HTML document; with the bound at
 *   AUTOINDEX_PAGE_MAX and nothing left unread it has a link per entry
 *   (and ../ below the root) and no note that the listing is incomplete.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define FUZZ_NAMES_MAX 64 /* names taken from one input */

/* Value of an uppercase hex digit, or -1. */
static int
ref_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Tell whether the n bytes at p are valid UTF-8. */
static int
valid_utf8(const char *p, size_t n)
{
	uint32_t state = UTF8_ACCEPT;

	return utf8_validate(&state, p, n) == n && utf8_complete(state);
}

/* Check that fn refuses s with a buffer one byte short of need. */
static void
check_short(int (*fn)(const char *, char *, size_t), const char *s, size_t need)
{
	char *small;

	small = malloc(need - 1 > 0 ? need - 1 : 1);
	if (small == NULL)
		abort();
	FUZZ_ASSERT(fn(s, small, need - 1) == -1);
	FUZZ_ASSERT(need - 1 == 0 || small[0] == '\0');
	free(small);
}

/* Check the HTML escaping of name. */
static void
check_html(const char *name)
{
	size_t cap = strlen(name) * 6 + 1, i, n;
	char *out;

	out = malloc(cap);
	if (out == NULL)
		abort();
	FUZZ_ASSERT(autoindex_escape_html(name, out, cap) == 0);
	n = strlen(out);
	FUZZ_ASSERT(valid_utf8(out, n));
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
		FUZZ_ASSERT(strchr("<>\"'", out[i]) == NULL);
		if (out[i] == '&')
			FUZZ_ASSERT(strncmp(out + i, "&amp;", 5) == 0 ||
			    strncmp(out + i, "&lt;", 4) == 0 ||
			    strncmp(out + i, "&gt;", 4) == 0 ||
			    strncmp(out + i, "&quot;", 6) == 0 ||
			    strncmp(out + i, "&#39;", 5) == 0);
	}
	check_short(autoindex_escape_html, name, n + 1);
	free(out);
}

/* Check the percent-encoding of name and its round trip. */
static void
check_url(const char *name)
{
	size_t cap = strlen(name) * 3 + 1, i, n, o = 0;
	char *out, *back;
	int hi, lo;

	out = malloc(cap);
	back = malloc(cap);
	if (out == NULL || back == NULL)
		abort();
	FUZZ_ASSERT(autoindex_encode_url(name, out, cap) == 0);
	n = strlen(out);
	for (i = 0; i < n; i++) {
		if (out[i] == '%') {
			FUZZ_ASSERT(i + 2 < n);
			hi = ref_hex((unsigned char)out[i + 1]);
			lo = ref_hex((unsigned char)out[i + 2]);
			FUZZ_ASSERT(hi >= 0 && lo >= 0);
			back[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			FUZZ_ASSERT(strchr("-._~", out[i]) != NULL ||
			    (out[i] >= 'A' && out[i] <= 'Z') ||
			    (out[i] >= 'a' && out[i] <= 'z') ||
			    (out[i] >= '0' && out[i] <= '9'));
			back[o++] = out[i];
		}
	}
	back[o] = '\0';
	FUZZ_ASSERT(strcmp(back, name) == 0);
	check_short(autoindex_encode_url, name, n + 1);
	free(out);
	free(back);
}

/* Count the occurrences of the string s in page[0..len). */
static size_t
count(const char *page, size_t len, const char *s)
{
	const char *p = page, *q;
	size_t n = 0, sl = strlen(s);

	while ((q = memmem(p, len - (size_t)(p - page), s, sl)) != NULL) {
		n++;
		p = q + sl;
	}
	return n;
}

/* Render the entries under path with bound max and check the page. */
static void
check_render(const char *path, struct autoindex_entry *ents, size_t n, int more,
    size_t max)
{
	size_t len;
	char *page;

	page = autoindex_render(path, ents, n, more, max, &len);
	if (page == NULL) {
		FUZZ_ASSERT(errno == ENOBUFS && max < AUTOINDEX_PAGE_MAX);
		return;
	}
	FUZZ_ASSERT(len <= max);
	FUZZ_ASSERT(valid_utf8(page, len));
	FUZZ_ASSERT(len >= 8 && memcmp(page + len - 8, "</html>\n", 8) == 0);
	if (max == AUTOINDEX_PAGE_MAX && !more) {
		FUZZ_ASSERT(count(page, len, "<a href=\"") ==
		    n + (strcmp(path, "/") != 0));
		FUZZ_ASSERT(count(page, len, "<p>The directory has more") == 0);
	}
	free(page);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = {64, 600, 2048, AUTOINDEX_PAGE_MAX};
	struct autoindex_entry ents[FUZZ_NAMES_MAX];
	char *copy, *s, *end, *path;
	uint64_t x = fuzz_hash(data, size);
	size_t n = 0, i;

	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	/* The names: '/'-separated, up to the first NUL, none empty. */
	for (s = copy, end = copy + strlen(copy); s < end && n < FUZZ_NAMES_MAX;
	     s += strlen(s) + 1) {
		s[strcspn(s, "/")] = '\0';
		if (*s == '\0')
			continue;
		ents[n].ae_name = fuzz_copy(s, strlen(s) + 1);
		ents[n].ae_dir = (int)(fuzz_next(&x) & 1);
		ents[n].ae_size = (off_t)(fuzz_next(&x) >> 2);
		ents[n].ae_mtime = (time_t)(fuzz_next(&x) >> 30);
		check_html(ents[n].ae_name);
		check_url(ents[n].ae_name);
		n++;
	}
	path = malloc(n > 0 ? strlen(ents[0].ae_name) + 3 : 2);
	if (path == NULL)
		abort();
	strcpy(path, "/");
	if (n > 0 && (fuzz_next(&x) & 1)) {
		strcat(path, ents[0].ae_name);
		strcat(path, "/");
	}
	check_render(path, ents, n, 0, AUTOINDEX_PAGE_MAX);
	check_render(path, ents, n, (int)(fuzz_next(&x) & 1),
	    maxes[fuzz_next(&x) % (sizeof(maxes) / sizeof(maxes[0]))]);
	for (i = 0; i < n; i++)
		free(ents[i].ae_name);
	free(path);
	free(copy);
	return 0;
}
