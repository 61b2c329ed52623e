/*
 * Unit tests for chatcmd.c: chat messages and commands, their arguments
 * and errors, and the name rule for nicks and rooms.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pfhttpd.h"

/* A string literal and its length, without the terminating NUL. */
#define LIT(s) (s), (sizeof(s) - 1)

/*
 * Parse the NUL-terminated text, check that it is of kind want with the
 * argument want_arg (NULL: none), and return the command.
 */
static struct chat_cmd
t_parse(const char *text, enum chatcmd_kind want, const char *want_arg)
{
	struct chat_cmd cmd;
	size_t len = strlen(text);

	memset(&cmd, 0xa5, sizeof(cmd));
	assert_int_equal(chatcmd_parse(text, len, &cmd), want);
	assert_int_equal(cmd.cc_kind, want);
	if (want_arg == NULL) {
		assert_null(cmd.cc_arg);
		assert_int_equal(cmd.cc_arg_len, 0);
	} else {
		assert_true(cmd.cc_arg >= text);
		assert_true(cmd.cc_arg + cmd.cc_arg_len <= text + len);
		assert_int_equal(cmd.cc_arg_len, strlen(want_arg));
		assert_memory_equal(cmd.cc_arg, want_arg, cmd.cc_arg_len);
	}
	if (want == CHATCMD_BAD || want == CHATCMD_BAD_NAME)
		assert_non_null(cmd.cc_reason);
	else
		assert_null(cmd.cc_reason);
	return cmd;
}

static void
test_text_is_message_as_sent(void **state)
{
	struct chat_cmd cmd;
	const char *text = "  hello, world \t";

	(void)state;
	cmd = t_parse(text, CHATCMD_MESSAGE, text);
	assert_ptr_equal(cmd.cc_arg, text);
	t_parse("x", CHATCMD_MESSAGE, "x");
	t_parse("h\xc3\xa9 /nick x", CHATCMD_MESSAGE, "h\xc3\xa9 /nick x");
}

static void
test_blank_message_is_ignored(void **state)
{
	(void)state;
	t_parse("", CHATCMD_NONE, NULL);
	t_parse(" ", CHATCMD_NONE, NULL);
	t_parse(" \t\r\n ", CHATCMD_NONE, NULL);
}

static void
test_double_slash_is_message_with_one_slash(void **state)
{
	struct chat_cmd cmd;
	const char *text = "//nick is a command";

	(void)state;
	cmd = t_parse(text, CHATCMD_MESSAGE, "/nick is a command");
	assert_ptr_equal(cmd.cc_arg, text + 1);
	t_parse("//", CHATCMD_MESSAGE, "/");
	t_parse("// ", CHATCMD_MESSAGE, "/ ");
}

static void
test_nick_takes_a_name(void **state)
{
	(void)state;
	t_parse("/nick alice", CHATCMD_NICK, "alice");
	t_parse("/nick \t  Bob_the-2nd", CHATCMD_NICK, "Bob_the-2nd");
}

static void
test_name_trailing_blanks_are_ignored(void **state)
{
	(void)state;
	t_parse("/nick alice  \t", CHATCMD_NICK, "alice");
	t_parse("/join lobby ", CHATCMD_JOIN, "lobby");
}

static void
test_join_takes_a_room(void **state)
{
	(void)state;
	t_parse("/join lobby", CHATCMD_JOIN, "lobby");
	t_parse("/join\t42", CHATCMD_JOIN, "42");
}

static void
test_command_words_ignore_case(void **state)
{
	(void)state;
	t_parse("/NICK alice", CHATCMD_NICK, "alice");
	t_parse("/Join lobby", CHATCMD_JOIN, "lobby");
	t_parse("/mE waves", CHATCMD_ME, "waves");
	t_parse("/WHO", CHATCMD_WHO, NULL);
	t_parse("/Help", CHATCMD_HELP, NULL);
	t_parse("/QuIt", CHATCMD_QUIT, NULL);
}

static void
test_me_takes_the_rest_as_sent(void **state)
{
	(void)state;
	t_parse("/me waves  at   you ", CHATCMD_ME, "waves  at   you ");
	t_parse("/me\t\t/nick", CHATCMD_ME, "/nick");
}

static void
test_commands_without_argument(void **state)
{
	(void)state;
	t_parse("/who", CHATCMD_WHO, NULL);
	t_parse("/help", CHATCMD_HELP, NULL);
	t_parse("/quit", CHATCMD_QUIT, NULL);
	t_parse("/quit \t ", CHATCMD_QUIT, NULL);
}

static void
test_missing_argument_is_bad(void **state)
{
	struct chat_cmd cmd;

	(void)state;
	cmd = t_parse("/nick", CHATCMD_BAD, NULL);
	assert_string_equal(cmd.cc_reason, "missing argument");
	t_parse("/nick   ", CHATCMD_BAD, NULL);
	t_parse("/join", CHATCMD_BAD, NULL);
	t_parse("/join\t", CHATCMD_BAD, NULL);
	t_parse("/me", CHATCMD_BAD, NULL);
	t_parse("/me  \t", CHATCMD_BAD, NULL);
}

static void
test_extra_argument_is_bad(void **state)
{
	struct chat_cmd cmd;

	(void)state;
	cmd = t_parse("/nick alice bob", CHATCMD_BAD, "alice bob");
	assert_string_equal(cmd.cc_reason, "extra argument");
	t_parse("/join a b ", CHATCMD_BAD, "a b ");
	t_parse("/who lobby", CHATCMD_BAD, "lobby");
	t_parse("/help me", CHATCMD_BAD, "me");
	t_parse("/quit bye", CHATCMD_BAD, "bye");
}

static void
test_unknown_command_is_bad(void **state)
{
	struct chat_cmd cmd;

	(void)state;
	cmd = t_parse("/msg bob hi", CHATCMD_BAD, "/msg");
	assert_string_equal(cmd.cc_reason, "unknown command");
	t_parse("/", CHATCMD_BAD, "/");
	t_parse("/ nick alice", CHATCMD_BAD, "/");
	t_parse("/nickalice", CHATCMD_BAD, "/nickalice");
	t_parse("/nick\xc2\xa0"
		"alice",
	    CHATCMD_BAD,
	    "/nick\xc2\xa0"
	    "alice");
	t_parse("/whois", CHATCMD_BAD, "/whois");
	t_parse("/wh", CHATCMD_BAD, "/wh");
}

static void
test_bad_name_is_bad_name(void **state)
{
	struct chat_cmd cmd;

	(void)state;
	cmd = t_parse("/nick al.ice", CHATCMD_BAD_NAME, "al.ice");
	assert_string_equal(
	    cmd.cc_reason, "a nick is 1 to 32 letters, digits, _ or -");
	cmd = t_parse("/join #lobby", CHATCMD_BAD_NAME, "#lobby");
	assert_non_null(strstr(cmd.cc_reason, "room"));
	t_parse("/nick \xc3\xa9mile", CHATCMD_BAD_NAME, "\xc3\xa9mile");
	t_parse("/nick 012345678901234567890123456789012", CHATCMD_BAD_NAME,
	    "012345678901234567890123456789012");
	t_parse("/nick 01234567890123456789012345678901", CHATCMD_NICK,
	    "01234567890123456789012345678901");
}

static void
test_nul_in_text_is_not_the_end(void **state)
{
	struct chat_cmd cmd;

	(void)state;
	assert_int_equal(chatcmd_parse(LIT("/me\0x"), &cmd), CHATCMD_BAD);
	assert_int_equal(
	    chatcmd_parse(LIT("/nick a\0b"), &cmd), CHATCMD_BAD_NAME);
	assert_int_equal(chatcmd_parse(LIT("a\0b"), &cmd), CHATCMD_MESSAGE);
	assert_int_equal(cmd.cc_arg_len, 3);
}

static void
test_name_rule_lengths(void **state)
{
	char name[CHAT_NAME_MAX + 2];

	(void)state;
	memset(name, 'a', sizeof(name));
	assert_false(chatev_name_valid(name, 0));
	assert_true(chatev_name_valid(name, 1));
	assert_true(chatev_name_valid(name, CHAT_NAME_MAX));
	assert_false(chatev_name_valid(name, CHAT_NAME_MAX + 1));
}

static void
test_name_rule_characters(void **state)
{
	char c[1];
	unsigned b;
	int want;

	(void)state;
	assert_true(chatev_name_valid(LIT("AZaz09_-")));
	for (b = 0; b < 256; b++) {
		c[0] = (char)b;
		want = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
		    (b >= '0' && b <= '9') || b == '_' || b == '-';
		assert_int_equal(chatev_name_valid(c, 1), want);
	}
	assert_false(chatev_name_valid(LIT("al ice")));
	assert_false(chatev_name_valid(LIT("caf\xc3\xa9")));
	assert_false(chatev_name_valid(LIT("a\0")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_is_message_as_sent),
	    cmocka_unit_test(test_blank_message_is_ignored),
	    cmocka_unit_test(test_double_slash_is_message_with_one_slash),
	    cmocka_unit_test(test_nick_takes_a_name),
	    cmocka_unit_test(test_name_trailing_blanks_are_ignored),
	    cmocka_unit_test(test_join_takes_a_room),
	    cmocka_unit_test(test_command_words_ignore_case),
	    cmocka_unit_test(test_me_takes_the_rest_as_sent),
	    cmocka_unit_test(test_commands_without_argument),
	    cmocka_unit_test(test_missing_argument_is_bad),
	    cmocka_unit_test(test_extra_argument_is_bad),
	    cmocka_unit_test(test_unknown_command_is_bad),
	    cmocka_unit_test(test_bad_name_is_bad_name),
	    cmocka_unit_test(test_nul_in_text_is_not_the_end),
	    cmocka_unit_test(test_name_rule_lengths),
	    cmocka_unit_test(test_name_rule_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
