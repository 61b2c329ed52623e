/*
 * The chat commands, as WebSocket and telnet clients type them: one
 * message or command per text, parsed into a struct chat_cmd whose
 * pointers point into the caller's text. No allocation, no state.
 *
 *   text                  a message: the text as sent, not trimmed; one
 *                         with nothing but SP, HT, CR and LF is ignored
 *                         (CHATCMD_NONE), never broadcast
 *   //text                the message "/text" (a message starting with /)
 *   /nick NAME            a new nick
 *   /join ROOM            another room
 *   /me ACTION            an action: the text after the blanks that follow
 *                         the command, as sent; it must not be blank
 *   /who, /help, /quit    no argument
 *
 * Command words are case-insensitive. A command and its argument are
 * separated by one or more SP or HT; blanks after the command, or after a
 * NAME or ROOM, are ignored. A NAME or ROOM is 1 to CHAT_NAME_MAX of
 * A-Z a-z 0-9 _ - (chatev_name_valid()), else CHATCMD_BAD_NAME. An unknown
 * command, a missing argument or one too many is CHATCMD_BAD. Both carry
 * a short reason in English for the client.
 */

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "pfhttpd.h"

/* One command word and what it takes. */
struct chatcmd_word {
	const char *cw_word;	   /* after the '/', lower case */
	enum chatcmd_kind cw_kind; /* what it is */
	int cw_arg;		   /* CHATCMD_ARG_* */
	const char *cw_bad_name;   /* reason for CHATCMD_BAD_NAME, or NULL */
};

#define CHATCMD_ARG_NONE 0 /* nothing may follow */
#define CHATCMD_ARG_NAME 1 /* one name */
#define CHATCMD_ARG_TEXT 2 /* any text that is not blank */

#define CHATCMD_STR(x)	CHATCMD_STR1(x) /* x expanded, as a string */
#define CHATCMD_STR1(x) #x
#define CHATCMD_NAME_RULE                                                      \
	" is 1 to " CHATCMD_STR(CHAT_NAME_MAX) " letters, digits, _ or -"

static const struct chatcmd_word chatcmd_words[] = {
    {"nick", CHATCMD_NICK, CHATCMD_ARG_NAME, "a nick" CHATCMD_NAME_RULE},
    {"join", CHATCMD_JOIN, CHATCMD_ARG_NAME, "a room" CHATCMD_NAME_RULE},
    {"me", CHATCMD_ME, CHATCMD_ARG_TEXT, NULL},
    {"who", CHATCMD_WHO, CHATCMD_ARG_NONE, NULL},
    {"help", CHATCMD_HELP, CHATCMD_ARG_NONE, NULL},
    {"quit", CHATCMD_QUIT, CHATCMD_ARG_NONE, NULL},
};

/* Tell whether c separates a command from its argument (SP or HT). */
static int
chatcmd_is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Return the length of the longest prefix of s[0..len) that is all blanks
 * (want 1) or has none (want 0).
 */
static size_t
chatcmd_span(const char *s, size_t len, int want)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (chatcmd_is_blank((unsigned char)s[i]) != want)
			break;
	return i;
}

/* Set *cmd to kind, with the argument s[0..len) or the reason given. */
static enum chatcmd_kind
chatcmd_set(struct chat_cmd *cmd, enum chatcmd_kind kind, const char *s,
    size_t len, const char *reason)
{
	cmd->cc_kind = kind;
	cmd->cc_arg = s;
	cmd->cc_arg_len = len;
	cmd->cc_reason = reason;
	return kind;
}

/* Tell whether s[0..len) holds nothing but SP, HT, CR and LF. */
static int
chatcmd_blank_text(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/*
 * Parse the argument part arg[0..len) of the command cw (what follows its
 * word, blanks first) into *cmd.
 */
static enum chatcmd_kind
chatcmd_argument(const struct chatcmd_word *cw, const char *arg, size_t len,
    struct chat_cmd *cmd)
{
	size_t skip, name_len, rest;

	skip = chatcmd_span(arg, len, 1);
	arg += skip;
	len -= skip;
	switch (cw->cw_arg) {
	case CHATCMD_ARG_NONE:
		if (len > 0)
			return chatcmd_set(
			    cmd, CHATCMD_BAD, arg, len, "extra argument");
		return chatcmd_set(cmd, cw->cw_kind, NULL, 0, NULL);
	case CHATCMD_ARG_TEXT:
		if (chatcmd_blank_text(arg, len))
			return chatcmd_set(
			    cmd, CHATCMD_BAD, NULL, 0, "missing argument");
		return chatcmd_set(cmd, cw->cw_kind, arg, len, NULL);
	default: /* CHATCMD_ARG_NAME */
		if (len == 0)
			return chatcmd_set(
			    cmd, CHATCMD_BAD, NULL, 0, "missing argument");
		name_len = chatcmd_span(arg, len, 0);
		rest = chatcmd_span(arg + name_len, len - name_len, 1);
		if (name_len + rest < len)
			return chatcmd_set(
			    cmd, CHATCMD_BAD, arg, len, "extra argument");
		if (!chatev_name_valid(arg, name_len))
			return chatcmd_set(cmd, CHATCMD_BAD_NAME, arg, name_len,
			    cw->cw_bad_name);
		return chatcmd_set(cmd, cw->cw_kind, arg, name_len, NULL);
	}
}

/*
 * Parse the text[0..len) a client sent into *cmd and return its kind.
 * cc_arg points into text (the message, the action, the name or what was
 * wrong), cc_reason to a constant string with CHATCMD_BAD*.
 */
enum chatcmd_kind
chatcmd_parse(const char *text, size_t len, struct chat_cmd *cmd)
{
	const struct chatcmd_word *cw;
	size_t word_len, i;

	if (len == 0 || text[0] != '/') {
		if (chatcmd_blank_text(text, len))
			return chatcmd_set(cmd, CHATCMD_NONE, NULL, 0, NULL);
		return chatcmd_set(cmd, CHATCMD_MESSAGE, text, len, NULL);
	}
	if (len >= 2 && text[1] == '/')
		return chatcmd_set(
		    cmd, CHATCMD_MESSAGE, text + 1, len - 1, NULL);
	word_len = chatcmd_span(text + 1, len - 1, 0);
	for (i = 0; i < sizeof(chatcmd_words) / sizeof(chatcmd_words[0]); i++) {
		cw = &chatcmd_words[i];
		if (strlen(cw->cw_word) == word_len &&
		    strncasecmp(cw->cw_word, text + 1, word_len) == 0)
			return chatcmd_argument(
			    cw, text + 1 + word_len, len - 1 - word_len, cmd);
	}
	return chatcmd_set(
	    cmd, CHATCMD_BAD, text, word_len + 1, "unknown command");
}
