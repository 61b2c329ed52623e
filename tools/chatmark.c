/*
 * chatmark: writing and finding the benchmark marker of a chat message
 * (see chatmark.h). Pure functions: chatload calls them once per message
 * it sends and once per frame it receives.
 */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "chatmark.h"

static const unsigned char *chatmark_number(const unsigned char *p,
    const unsigned char *end, uint64_t max, uint64_t *v);

/*
 * Write the text of the message m says into buf: the marker, padded with
 * 'x' to size bytes (a marker longer than size is written whole). buf has
 * room for the larger of size and CHATMARK_LEN_MAX; nothing is
 * NUL-terminated. Return the text's length.
 */
size_t
chatmark_format(const struct chatmark *m, size_t size, char *buf)
{
	char mark[CHATMARK_LEN_MAX + 1];
	int n;

	n = snprintf(mark, sizeof(mark), "@B%u:%" PRIu64 ":%" PRIu64 "@",
	    m->cm_pub, m->cm_num, m->cm_sent);
	if (n < 0)
		n = 0; /* cannot happen: the digits always fit */
	memcpy(buf, mark, (size_t)n);
	if ((size_t)n >= size)
		return (size_t)n;
	memset(buf + n, 'x', size - (size_t)n);
	return size;
}

/*
 * Read a decimal number of at least one digit at p, before end, no
 * larger than max, into v. Return the byte after it, or NULL.
 */
static const unsigned char *
chatmark_number(
    const unsigned char *p, const unsigned char *end, uint64_t max, uint64_t *v)
{
	const unsigned char *start = p;
	uint64_t n = 0, d;

	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		d = (uint64_t)(*p - '0');
		if (n > (max - d) / 10)
			return NULL;
		n = n * 10 + d;
	}
	if (p == start)
		return NULL;
	*v = n;
	return p;
}

/*
 * Find the first well-formed marker anywhere in buf[0..len) and read it
 * into m: "@B" then the publisher (1..CHATMARK_PUB_MAX), the number and
 * the time, each decimal and separated by ':', then '@'. Return 1 if
 * found, else 0 (m untouched).
 */
int
chatmark_find(const void *buf, size_t len, struct chatmark *m)
{
	const unsigned char *p = buf, *end = p + len, *q;
	uint64_t pub, num, sent;

	while ((p = memmem(p, (size_t)(end - p), "@B", 2)) != NULL) {
		p += 2;
		q = chatmark_number(p, end, CHATMARK_PUB_MAX, &pub);
		if (q == NULL || pub == 0 || q == end || *q++ != ':')
			continue;
		q = chatmark_number(q, end, UINT64_MAX, &num);
		if (q == NULL || q == end || *q++ != ':')
			continue;
		q = chatmark_number(q, end, UINT64_MAX, &sent);
		if (q == NULL || q == end || *q != '@')
			continue;
		m->cm_pub = (unsigned)pub;
		m->cm_num = num;
		m->cm_sent = sent;
		return 1;
	}
	return 0;
}
