/*
 * fuzz_transcript: transcript_parse_line() (transcript.c) on the input as
 * one line of the chat hub's transcript, its "\n" removed.
 *
 * It asserts, for any input:
 *
 * - The parser reads nothing past the line and writes nothing past the
 *   text buffer (exact-size heap copies of both).
 * - What it accepts is an event the hub could have appended: one that
 *   chatev_size() takes (a known type, valid names, ce_old exactly for
 *   nick, a text exactly for message and me, valid UTF-8 of at most
 *   CHAT_TEXT_MAX bytes), seq from 1, a time up to 9999; its text is the
 *   start of the text buffer, no longer than the line.
 * - Rendered again with chatfmt_json() (history or not, as the input's
 *   hash says), it parses back to the same event, and that rendering of
 *   it is the one of the event parsed back (a fixed point).
 * - With a text buffer one byte shorter than the text, the line is
 *   refused.
 * - The input with a "\r" appended parses exactly when the input does
 *   (unless it ends in "\r" already), to the same event.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

/* 9999-12-31T23:59:59.999Z, the last time chatfmt writes as it is. */
#define TIME_MAX 253402300799999ULL

/* Assert that a and b are the same event, text bytes included. */
static void
same_event(const struct chat_event *a, const struct chat_event *b)
{
	FUZZ_ASSERT(a->ce_type == b->ce_type);
	FUZZ_ASSERT(a->ce_seq == b->ce_seq);
	FUZZ_ASSERT(a->ce_time_ms == b->ce_time_ms);
	FUZZ_ASSERT(strcmp(a->ce_room, b->ce_room) == 0);
	FUZZ_ASSERT(strcmp(a->ce_nick, b->ce_nick) == 0);
	FUZZ_ASSERT(strcmp(a->ce_old, b->ce_old) == 0);
	FUZZ_ASSERT((a->ce_text == NULL) == (b->ce_text == NULL));
	FUZZ_ASSERT(a->ce_text_len == b->ce_text_len);
	if (a->ce_text_len > 0)
		FUZZ_ASSERT(
		    memcmp(a->ce_text, b->ce_text, a->ce_text_len) == 0);
}

/*
 * Parse line[0..len), copied to an exact-size heap buffer, with a text
 * buffer of exactly textlen bytes (*text, which the caller frees);
 * return what the parser returned.
 */
static int
parse(const char *line, size_t len, size_t textlen, struct chat_event *ev,
    char **text)
{
	char *copy;
	int rc;

	copy = fuzz_copy(line, len);
	*text = malloc(textlen > 0 ? textlen : 1);
	FUZZ_ASSERT(*text != NULL);
	rc = transcript_parse_line(copy, len, ev, *text, textlen);
	free(copy);
	return rc;
}

/* Assert that ev, parsed from a line of len bytes into text, is valid. */
static void
check_event(const struct chat_event *ev, const char *text, size_t len)
{
	int has_text = ev->ce_type == CHAT_MESSAGE || ev->ce_type == CHAT_ME;

	FUZZ_ASSERT(chatev_size(ev) > 0);
	FUZZ_ASSERT(ev->ce_seq > 0 && ev->ce_time_ms <= TIME_MAX);
	FUZZ_ASSERT(has_text ? ev->ce_text == text : ev->ce_text == NULL);
	FUZZ_ASSERT(ev->ce_text_len <= len);
}

/* Render ev with chatfmt_json(); return the heap rendering, *n bytes. */
static char *
render(const struct chat_event *ev, int history, size_t *n)
{
	char *json;

	json = malloc(CHATFMT_JSON_MAX);
	FUZZ_ASSERT(json != NULL);
	*n = chatfmt_json(ev, history, json, CHATFMT_JSON_MAX);
	FUZZ_ASSERT(*n > 0);
	return json;
}

/* The parsed event ev: render it, parse it back, render that again. */
static void
round_trip(const struct chat_event *ev, int history)
{
	struct chat_event again;
	char *json, *json2, *text;
	size_t n, n2;

	json = render(ev, history, &n);
	FUZZ_ASSERT(parse(json, n, CHAT_TEXT_MAX, &again, &text) == 0);
	same_event(ev, &again);
	json2 = render(&again, history, &n2);
	FUZZ_ASSERT(n2 == n && memcmp(json, json2, n) == 0);
	free(json);
	free(json2);
	free(text);
}

/* The input with a "\r" after it: parsed iff the input is, the same. */
static void
with_cr(const uint8_t *data, size_t size, int rc, const struct chat_event *ev)
{
	struct chat_event cr_ev;
	char *line, *text;

	if (size > 0 && data[size - 1] == '\r')
		return;
	line = malloc(size + 1);
	FUZZ_ASSERT(line != NULL);
	if (size > 0)
		memcpy(line, data, size);
	line[size] = '\r';
	FUZZ_ASSERT(parse(line, size + 1, CHAT_TEXT_MAX, &cr_ev, &text) == rc);
	if (rc == 0)
		same_event(ev, &cr_ev);
	free(text);
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chat_event ev, small_ev;
	char *text, *small;
	int rc;

	rc = parse((const char *)data, size, CHAT_TEXT_MAX, &ev, &text);
	if (rc == 0) {
		check_event(&ev, text, size);
		round_trip(&ev, (int)(fuzz_hash(data, size) & 1));
		if (ev.ce_text_len > 0) {
			FUZZ_ASSERT(
			    parse((const char *)data, size, ev.ce_text_len - 1,
				&small_ev, &small) == -1);
			free(small);
		}
	}
	with_cr(data, size, rc, &ev);
	free(text);
	return 0;
}
