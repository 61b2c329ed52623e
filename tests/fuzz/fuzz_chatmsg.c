/*
 * fuzz_chatmsg: the records between the workers and the chat hub
 * (chatmsg.c). The input is decoded both as a request and as an
 * out-record.
 *
 * It asserts, for any input:
 *
 * - chatmsg_req_decode() and chatmsg_out_decode() never read past the
 *   input (an exact-size copy).
 * - A decoded request has a known op, a conn other than 0, a room and a
 *   nick each empty or a valid name (the room not empty on a join, the
 *   nick not on a nick change), and for a say or /me a text inside the
 *   input of at most CHAT_TEXT_MAX bytes; no text for the other ops.
 * - A decoded out-record has a known kind. An event's text lies inside
 *   the input. A who reply has a valid room and at most CHATMSG_WHO_MAX
 *   names; chatmsg_who_names() gives that many, in order, each inside the
 *   input, a valid name ended by its NUL. An error's code is a known one.
 * - Whatever decodes encodes back to the same bytes, into an exact-size
 *   buffer, and into one byte less gives 0 without writing past it
 *   (exact-size heap buffers): the encoding is canonical.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

/* Tell whether the array s (CHAT_NAME_MAX + 1) is a name, or empty if ok. */
static int
name_ok(const char *s, int empty_ok)
{
	size_t n = strnlen(s, CHAT_NAME_MAX + 1);

	return n == 0 ? empty_ok : chatev_name_valid(s, n);
}

/* Re-encode a decoded request; it must give the input, copy[0..size). */
static void
req_encode_back(const struct chat_req *req, const char *copy, size_t size)
{
	unsigned char *again, *shorter;

	again = malloc(size);
	shorter = malloc(size - 1);
	FUZZ_ASSERT(again != NULL && shorter != NULL);
	FUZZ_ASSERT(chatmsg_req_encode(req, again, size) == size);
	FUZZ_ASSERT(memcmp(again, copy, size) == 0);
	FUZZ_ASSERT(chatmsg_req_encode(req, shorter, size - 1) == 0);
	free(again);
	free(shorter);
}

/* The input as a request. */
static void
fuzz_req(const uint8_t *data, size_t size)
{
	struct chat_req req;
	char *copy;
	int text;

	copy = fuzz_copy(data, size);
	if (chatmsg_req_decode(copy, size, &req) == 0) {
		FUZZ_ASSERT(
		    req.cr_op >= CHATREQ_JOIN && req.cr_op <= CHATREQ_WHO);
		FUZZ_ASSERT(req.cr_conn != 0);
		FUZZ_ASSERT(name_ok(req.cr_room, req.cr_op != CHATREQ_JOIN));
		FUZZ_ASSERT(name_ok(req.cr_nick, req.cr_op != CHATREQ_NICK));
		text = req.cr_op == CHATREQ_SAY || req.cr_op == CHATREQ_ME;
		if (text)
			FUZZ_ASSERT(req.cr_text != NULL &&
			    req.cr_text_len <= CHAT_TEXT_MAX &&
			    fuzz_inside(
				req.cr_text, req.cr_text_len, copy, size));
		else
			FUZZ_ASSERT(
			    req.cr_text == NULL && req.cr_text_len == 0);
		req_encode_back(&req, copy, size);
	}
	free(copy);
}

/*
 * Check the names of a decoded who reply from copy[0..size) and point
 * names[] at them; return their count.
 */
static size_t
who_names_checked(const struct chat_out *out, const char *copy, size_t size,
    const char **names)
{
	const char *end = copy + size, *prev = copy;
	size_t i, n, len;

	FUZZ_ASSERT(out->co_nnicks <= CHATMSG_WHO_MAX);
	FUZZ_ASSERT(name_ok(out->co_ev.ce_room, 0));
	n = chatmsg_who_names(out, names);
	FUZZ_ASSERT(n == out->co_nnicks);
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(names[i] > prev && names[i] < end);
		len = strnlen(names[i], (size_t)(end - names[i]));
		FUZZ_ASSERT(len < (size_t)(end - names[i]));
		FUZZ_ASSERT(chatev_name_valid(names[i], len));
		prev = names[i] + len;
	}
	return n;
}

/* Re-encode a decoded out-record; it must give copy[0..size). */
static void
out_encode_back(const struct chat_out *out, const char *const names[], size_t n,
    const char *copy, size_t size)
{
	unsigned char *again, *shorter;

	again = malloc(size);
	shorter = malloc(size - 1);
	FUZZ_ASSERT(again != NULL && shorter != NULL);
	FUZZ_ASSERT(chatmsg_out_encode(out, names, n, again, size) == size);
	FUZZ_ASSERT(memcmp(again, copy, size) == 0);
	FUZZ_ASSERT(chatmsg_out_encode(out, names, n, shorter, size - 1) == 0);
	free(again);
	free(shorter);
}

/* The input as an out-record. */
static void
fuzz_out(const uint8_t *data, size_t size)
{
	static const char *names[CHATMSG_WHO_MAX];
	struct chat_out out;
	size_t n = 0;
	char *copy;

	copy = fuzz_copy(data, size);
	if (chatmsg_out_decode(copy, size, &out) == 0) {
		switch (out.co_kind) {
		case CHATOUT_EVENT:
			if (out.co_ev.ce_text != NULL)
				FUZZ_ASSERT(fuzz_inside(out.co_ev.ce_text,
				    out.co_ev.ce_text_len, copy, size));
			break;
		case CHATOUT_WHO:
			n = who_names_checked(&out, copy, size, names);
			break;
		case CHATOUT_ERROR:
			FUZZ_ASSERT(out.co_error >= CHATERR_NICK_TAKEN &&
			    out.co_error <= CHATERR_UNAVAILABLE);
			break;
		default:
			FUZZ_ASSERT(0);
		}
		out_encode_back(&out, names, n, copy, size);
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_req(data, size);
	fuzz_out(data, size);
	return 0;
}
