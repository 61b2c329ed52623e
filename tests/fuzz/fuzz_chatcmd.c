/*
 * fuzz_chatcmd: the chat command parser of chatcmd.c, on what a WebSocket
 * or telnet client sends as one message.
 *
 * A reference written here from the rules in chatcmd.c's comment, by
 * splitting the text into blank-separated words, gives the kind of the
 * input. It asserts, for any input (in an exact-size copy):
 *
 * - chatcmd_parse() returns the reference's kind, and cc_kind is the same.
 * - cc_arg, when set, lies inside the input; it is NULL for CHATCMD_NONE,
 *   /who, /help and /quit, set for the other kinds but CHATCMD_BAD.
 * - A message is the whole input, or all of it after the first '/' of
 *   "//", and is not blank; an action runs to the end of the input, starts
 *   with no blank and is not blank; a nick or room satisfies the name
 *   rule, with only blanks after it; a bad name does not; both follow a
 *   blank.
 * - cc_reason is set exactly for CHATCMD_BAD and CHATCMD_BAD_NAME.
 * - chatev_name_valid() agrees with a reference on the whole input.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"
#include "fuzz.h"

/* Tell whether c is SP or HT. */
static int
ref_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Tell whether p[0..n) is nothing but SP, HT, CR and LF. */
static int
ref_blank_text(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ref_blank(p[i]) && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* The reference name rule. */
static int
ref_name(const unsigned char *p, size_t n)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	size_t i;

	if (n < 1 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] == '\0' || strchr(ok, p[i]) == NULL)
			return 0;
	return 1;
}

/* Tell whether p[0..n) is word, with ASCII letters in any case. */
static int
ref_word_is(const unsigned char *p, size_t n, const char *word)
{
	size_t i;

	if (n != strlen(word))
		return 0;
	for (i = 0; i < n; i++)
		if ((p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]) !=
		    (unsigned char)word[i])
			return 0;
	return 1;
}

/*
 * The words of p[0..n), as offsets and lengths into w[0..max); return
 * how many there are (up to max).
 */
static size_t
ref_words(const unsigned char *p, size_t n, size_t w[][2], size_t max)
{
	size_t i = 0, nw = 0;

	while (i < n && nw < max) {
		while (i < n && ref_blank(p[i]))
			i++;
		if (i == n)
			break;
		w[nw][0] = i;
		while (i < n && !ref_blank(p[i]))
			i++;
		w[nw][1] = i - w[nw][0];
		nw++;
	}
	return nw;
}

/* The reference: the kind of p[0..n). */
static enum chatcmd_kind
ref_kind(const unsigned char *p, size_t n)
{
	size_t w[3][2], nw;

	if (n == 0 || p[0] != '/')
		return ref_blank_text(p, n) ? CHATCMD_NONE : CHATCMD_MESSAGE;
	if (n > 1 && p[1] == '/')
		return CHATCMD_MESSAGE;
	if (n == 1 || ref_blank(p[1]))
		return CHATCMD_BAD; /* no command word */
	nw = ref_words(p + 1, n - 1, w, 3);
	if (ref_word_is(p + 1, w[0][1], "me")) {
		return ref_blank_text(p + 1 + w[0][1], n - 1 - w[0][1])
		    ? CHATCMD_BAD
		    : CHATCMD_ME;
	}
	if (ref_word_is(p + 1, w[0][1], "nick") ||
	    ref_word_is(p + 1, w[0][1], "join")) {
		if (nw != 2)
			return CHATCMD_BAD;
		if (!ref_name(p + 1 + w[1][0], w[1][1]))
			return CHATCMD_BAD_NAME;
		return p[1] == 'n' || p[1] == 'N' ? CHATCMD_NICK : CHATCMD_JOIN;
	}
	if (ref_word_is(p + 1, w[0][1], "who"))
		return nw == 1 ? CHATCMD_WHO : CHATCMD_BAD;
	if (ref_word_is(p + 1, w[0][1], "help"))
		return nw == 1 ? CHATCMD_HELP : CHATCMD_BAD;
	if (ref_word_is(p + 1, w[0][1], "quit"))
		return nw == 1 ? CHATCMD_QUIT : CHATCMD_BAD;
	return CHATCMD_BAD;
}

/* Check cmd's argument against the input c[0..n) for its kind. */
static void
check_arg(const struct chat_cmd *cmd, const char *c, size_t n)
{
	const unsigned char *a = (const unsigned char *)cmd->cc_arg;
	size_t len = cmd->cc_arg_len;

	switch (cmd->cc_kind) {
	case CHATCMD_MESSAGE:
		FUZZ_ASSERT(a + len == (const unsigned char *)c + n);
		FUZZ_ASSERT(a == (const unsigned char *)c ||
		    (a == (const unsigned char *)c + 1 && c[0] == '/'));
		FUZZ_ASSERT(!ref_blank_text(a, len));
		break;
	case CHATCMD_ME:
		FUZZ_ASSERT(a + len == (const unsigned char *)c + n);
		FUZZ_ASSERT(!ref_blank_text(a, len) && !ref_blank(a[0]));
		break;
	case CHATCMD_NICK:
	case CHATCMD_JOIN:
		FUZZ_ASSERT(ref_name(a, len));
		FUZZ_ASSERT(ref_blank(a[-1]));
		FUZZ_ASSERT(ref_blank_text(
		    a + len, (size_t)((const unsigned char *)c + n - a) - len));
		break;
	case CHATCMD_BAD_NAME:
		FUZZ_ASSERT(!ref_name(a, len));
		FUZZ_ASSERT(len > 0 && ref_blank(a[-1]));
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chat_cmd cmd;
	enum chatcmd_kind want, got;
	char *c;

	c = fuzz_copy(data, size);
	want = ref_kind(data, size);
	memset(&cmd, 0xa5, sizeof(cmd));
	got = chatcmd_parse(c, size, &cmd);
	FUZZ_ASSERT(got == want);
	FUZZ_ASSERT(cmd.cc_kind == got);

	if (cmd.cc_arg != NULL)
		FUZZ_ASSERT(fuzz_inside(cmd.cc_arg, cmd.cc_arg_len, c, size));
	else
		FUZZ_ASSERT(cmd.cc_arg_len == 0);
	if (got == CHATCMD_NONE || got == CHATCMD_WHO || got == CHATCMD_HELP ||
	    got == CHATCMD_QUIT)
		FUZZ_ASSERT(cmd.cc_arg == NULL);
	else if (got != CHATCMD_BAD)
		FUZZ_ASSERT(cmd.cc_arg != NULL);
	FUZZ_ASSERT((cmd.cc_reason != NULL) ==
	    (got == CHATCMD_BAD || got == CHATCMD_BAD_NAME));
	check_arg(&cmd, c, size);

	FUZZ_ASSERT(chatev_name_valid(c, size) == ref_name(data, size));
	free(c);
	return 0;
}
