/*
 * chatmark: the marker that chatload puts in the text of each chat message
 * it publishes, and finds again in whatever frame a server delivers it
 * in (pfhttpd's and node's JSON, nchan's raw text):
 *
 *	@B<publisher>:<number>:<send_ns>@
 *
 * in decimal, with the publisher (1..CHATMARK_PUB_MAX), the number it gave
 * the message (1, 2, ...) and when it sent it, CLOCK_MONOTONIC in
 * nanoseconds (the receivers are on the same machine). The text is the
 * marker padded with 'x' to the message size.
 */

#ifndef CHATMARK_H
#define CHATMARK_H

#include <stddef.h>
#include <stdint.h>

#define CHATMARK_PUB_MAX 99999 /* the highest publisher number */
#define CHATMARK_LEN_MAX                                                       \
	50 /* the longest marker: 2 + 5 + 1 + 20 + 1 + 20 + 1 */

/* What a marker says. */
struct chatmark {
	unsigned cm_pub;  /* publisher, 1..CHATMARK_PUB_MAX */
	uint64_t cm_num;  /* its message number, 1.. */
	uint64_t cm_sent; /* when it was sent, CLOCK_MONOTONIC ns */
};

size_t chatmark_format(const struct chatmark *m, size_t size, char *buf);
int chatmark_find(const void *buf, size_t len, struct chatmark *m);

#endif /* CHATMARK_H */
