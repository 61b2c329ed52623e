/*
 * fuzz_wsext: permessage-deflate negotiation (wsext.c) on any
 * Sec-WebSocket-Extensions value.
 *
 * The input: one byte of policy (bit 0: shared, as chat; bits 1-7: the
 * server's window, 9 + 0..127 % 7), then the header value; split at each
 * '\n' it is the value of several header lines.
 *
 * It asserts, for any input:
 *
 * - wsext_negotiate_value() on the value (an exact-size copy) reads
 *   nothing past it, and writes nothing past WSEXT_ANSWER_MAX bytes of
 *   answer (an exact-size buffer). When it accepts: the input names
 *   permessage-deflate; the answer starts with it and is NUL-terminated;
 *   the windows are 9..15 for the server (at most the policy's) or 0,
 *   8..15 for the client; on chat the answer holds
 *   server_no_context_takeover.
 * - The answer, offered back under the default policy (window 15, not
 *   shared), is accepted with the same answer and the same parameters:
 *   the server never answers what it could not accept itself, and the
 *   client gets a valid, consistent reply.
 * - wsext_negotiate() on a request whose Sec-WebSocket-Extensions lines
 *   are the input's lines (other fields between them, which do not
 *   count) takes the first line that wsext_negotiate_value() accepts,
 *   with the same answer; with compression off it takes none.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pfhttpd.h"
#include "fuzz.h"

#define FUZZ_LINES 8 /* header lines, at most */

static const char fuzz_pmd[] = "permessage-deflate";

/* Tell whether p[0..n) contains "permessage-deflate", in any case. */
static int
fuzz_names_pmd(const char *p, size_t n)
{
	size_t i, k = sizeof(fuzz_pmd) - 1;

	for (i = 0; i + k <= n; i++)
		if (strncasecmp(p + i, fuzz_pmd, k) == 0)
			return 1;
	return 0;
}

/*
 * Negotiate value[0..n) under pol into *dp and a new exact-size answer,
 * *answer (freed by the caller). The result of wsext_negotiate_value().
 */
static int
fuzz_negotiate(const char *value, size_t n, const struct wsext_policy *pol,
    struct wsdeflate_params *dp, char **answer)
{
	char *copy = fuzz_copy(value, n);
	int rv;

	if ((*answer = malloc(WSEXT_ANSWER_MAX)) == NULL)
		abort();
	memset(dp, 0xa5, sizeof(*dp));
	rv = wsext_negotiate_value(copy, n, pol, dp, *answer);
	free(copy);
	FUZZ_ASSERT(rv == 0 || rv == 1);
	return rv;
}

/* Check an accepted negotiation of value[0..n) under pol. */
static void
fuzz_check_agreed(const char *value, size_t n, const struct wsext_policy *pol,
    const struct wsdeflate_params *dp, const char *answer)
{
	static const struct wsext_policy def = {1, 15, 0};
	struct wsdeflate_params dp2;
	char *answer2;
	size_t alen;

	FUZZ_ASSERT(fuzz_names_pmd(value, n));
	FUZZ_ASSERT(memchr(answer, '\0', WSEXT_ANSWER_MAX) != NULL);
	alen = strlen(answer);
	FUZZ_ASSERT(strncmp(answer, fuzz_pmd, sizeof(fuzz_pmd) - 1) == 0);
	FUZZ_ASSERT(dp->dp_on == 1);
	FUZZ_ASSERT(dp->dp_server_bits == 0 ||
	    (dp->dp_server_bits >= 9 &&
		dp->dp_server_bits <= pol->wx_window_bits));
	FUZZ_ASSERT(dp->dp_client_bits >= 8 && dp->dp_client_bits <= 15);
	FUZZ_ASSERT(!pol->wx_shared || dp->dp_server_no_ctx);
	FUZZ_ASSERT(dp->dp_server_no_ctx ==
	    (strstr(answer,
		 "; server_no_context_"
		 "takeover") != NULL));
	FUZZ_ASSERT(dp->dp_client_no_ctx ==
	    (strstr(answer,
		 "; client_no_context_"
		 "takeover") != NULL));
	/* The answer as an offer: accepted, and answered the same. */
	FUZZ_ASSERT(fuzz_negotiate(answer, alen, &def, &dp2, &answer2) == 1);
	FUZZ_ASSERT(strcmp(answer2, answer) == 0);
	FUZZ_ASSERT(dp2.dp_server_no_ctx == dp->dp_server_no_ctx);
	FUZZ_ASSERT(dp2.dp_client_no_ctx == dp->dp_client_no_ctx);
	FUZZ_ASSERT(dp2.dp_client_bits == dp->dp_client_bits);
	if (dp2.dp_server_bits == 0)
		FUZZ_ASSERT(dp->dp_server_bits == 0);
	else
		FUZZ_ASSERT(dp->dp_server_bits ==
		    (dp2.dp_server_bits < pol->wx_window_bits
			    ? dp2.dp_server_bits
			    : pol->wx_window_bits));
	free(answer2);
}

/*
 * Negotiate the input's lines as a request's header lines, with another
 * field before each, and check the first accepted line wins.
 */
static void
fuzz_request(const char *p, size_t n, const struct wsext_policy *pol)
{
	static const char *const names[] = {"Sec-WebSocket-Extensions",
	    "sec-websocket-extensions", "SEC-WEBSOCKET-EXTENSIONS"};
	struct wsext_policy off = *pol;
	struct wsdeflate_params dp, dpl;
	struct http_request req;
	char *copy = fuzz_copy(p, n), *answer, *al = NULL, *nl;
	size_t off_line = 0, len;
	int lines = 0, want = 0, rv;

	if ((answer = malloc(WSEXT_ANSWER_MAX)) == NULL)
		abort();
	req.hr_nheaders = 0;
	while (lines < FUZZ_LINES && off_line <= n) {
		nl = memchr(copy + off_line, '\n', n - off_line);
		len =
		    nl != NULL ? (size_t)(nl - copy) - off_line : n - off_line;
		req.hr_headers[req.hr_nheaders++] = (struct http_header){
		    "X-Extensions", 12, copy + off_line, len};
		req.hr_headers[req.hr_nheaders++] =
		    (struct http_header){names[lines % 3],
			strlen(names[lines % 3]), copy + off_line, len};
		if (!want &&
		    fuzz_negotiate(copy + off_line, len, pol, &dpl, &al) == 1)
			want = 1;
		else if (!want)
			free(al);
		lines++;
		off_line += len + 1;
	}
	rv = wsext_negotiate(&req, pol, &dp, answer);
	FUZZ_ASSERT(rv == want);
	if (want) {
		FUZZ_ASSERT(strcmp(answer, al) == 0);
		FUZZ_ASSERT(memcmp(&dp, &dpl, sizeof(dp)) == 0);
		free(al);
	} else
		FUZZ_ASSERT(dp.dp_on == 0);
	off.wx_enabled = 0;
	FUZZ_ASSERT(wsext_negotiate(&req, &off, &dp, answer) == 0);
	FUZZ_ASSERT(dp.dp_on == 0);
	free(answer);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsext_policy pol;
	struct wsdeflate_params dp;
	const char *value = (const char *)data + 1;
	char *answer;

	if (size < 1)
		return 0;
	pol.wx_enabled = 1;
	pol.wx_shared = data[0] & 1;
	pol.wx_window_bits = 9 + (data[0] >> 1) % 7;
	if (fuzz_negotiate(value, size - 1, &pol, &dp, &answer) == 1)
		fuzz_check_agreed(value, size - 1, &pol, &dp, answer);
	free(answer);
	fuzz_request(value, size - 1, &pol);
	return 0;
}
