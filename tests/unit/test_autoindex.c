/*
 * Unit tests for autoindex.c: HTML escaping and percent-encoding of names,
 * the listing page (order, ../, hostile names, bounds), and the reading of
 * a directory beneath a root (what is left out).
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define FFFD "\xef\xbf\xbd" /* U+FFFD */

/* Return s HTML-escaped, in a static buffer. */
static const char *
test_html(const char *s)
{
	static char out[1024];

	assert_int_equal(autoindex_escape_html(s, out, sizeof(out)), 0);
	return out;
}

/* Return s percent-encoded, in a static buffer. */
static const char *
test_url(const char *s)
{
	static char out[1024];

	assert_int_equal(autoindex_encode_url(s, out, sizeof(out)), 0);
	return out;
}

/* Render path with entries ents[0..n) and no bound worth the name. */
static char *
test_render(const char *path, struct autoindex_entry *ents, size_t n)
{
	size_t len;
	char *page, *s;

	page = autoindex_render(path, ents, n, 0, AUTOINDEX_PAGE_MAX, &len);
	assert_non_null(page);
	s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, page, len);
	s[len] = '\0';
	free(page);
	return s;
}

/* Tell whether the n bytes at p are valid UTF-8. */
static int
test_utf8(const char *p, size_t n)
{
	uint32_t state = UTF8_ACCEPT;

	return utf8_validate(&state, p, n) == n && utf8_complete(state);
}

static void
test_html_escape_replaces_the_five_characters(void **state)
{
	(void)state;
	assert_string_equal(
	    test_html("<script>\"&'x"), "&lt;script&gt;&quot;&amp;&#39;x");
	assert_string_equal(test_html("a b%c"), "a b%c");
}

static void
test_html_escape_keeps_utf8_and_replaces_what_is_not(void **state)
{
	(void)state;
	assert_string_equal(
	    test_html("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
	assert_string_equal(test_html("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
	/* a lone byte, a cut sequence, an overlong form, a surrogate */
	assert_string_equal(test_html("a\xff"), "a" FFFD);
	assert_string_equal(test_html("\xc3"), FFFD);
	assert_string_equal(test_html("\xe2\x82z"), FFFD FFFD "z");
	assert_string_equal(test_html("\xc0\xaf"), FFFD FFFD);
	assert_string_equal(test_html("\xed\xa0\x80"), FFFD FFFD FFFD);
}

static void
test_html_escape_replaces_control_bytes(void **state)
{
	(void)state;
	assert_string_equal(
	    test_html("a\nb\rc\td\x7f"), "a" FFFD "b" FFFD "c" FFFD "d" FFFD);
}

static void
test_html_escape_refuses_a_short_buffer(void **state)
{
	char out[8];

	(void)state;
	/* "&amp;x" and its NUL: 7 bytes */
	assert_int_equal(autoindex_escape_html("&x", out, 7), 0);
	assert_string_equal(out, "&amp;x");
	assert_int_equal(autoindex_escape_html("&x", out, 6), -1);
	assert_string_equal(out, "");
	assert_int_equal(autoindex_escape_html("&", out, 5), -1);
	assert_int_equal(autoindex_escape_html("", NULL, 0), -1);
}

static void
test_url_encode_keeps_only_unreserved_bytes(void **state)
{
	(void)state;
	assert_string_equal(test_url("aZ09-._~"), "aZ09-._~");
	assert_string_equal(test_url("a b%/:?#&\"<'\n\xff\xc3\xa9"),
	    "a%20b%25%2F%3A%3F%23%26%22%3C%27%0A%FF%C3%A9");
	/* a ':' would make "javascript:x" a scheme */
	assert_string_equal(test_url("javascript:x"), "javascript%3Ax");
}

static void
test_url_encode_refuses_a_short_buffer(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(autoindex_encode_url("a b", out, 6), 0);
	assert_string_equal(out, "a%20b");
	assert_int_equal(autoindex_encode_url("a b", out, 5), -1);
	assert_string_equal(out, "");
}

static void
test_render_lists_directories_first_then_files_by_name(void **state)
{
	struct autoindex_entry e[] = {
	    {"b", 0, 1, 0},
	    {"z", 1, 0, 0},
	    {"B", 0, 1, 0},
	    {"a", 0, 1, 0},
	    {"c", 1, 0, 0},
	    {"\xc3\xa9", 0, 1, 0},
	};
	const char *order[] = {
	    ">c/<", ">z/<", ">B<", ">a<", ">b<", ">\xc3\xa9<"};
	char *page, *p, *q;
	size_t i;

	(void)state;
	page = test_render("/d/", e, 6);
	for (p = page, i = 0; i < 6; i++, p = q) {
		q = strstr(page, order[i]);
		assert_non_null(q);
		assert_true(q > p);
	}
	free(page);
}

static void
test_render_has_parent_link_except_at_root(void **state)
{
	char *page;

	(void)state;
	page = test_render("/", NULL, 0);
	assert_null(strstr(page, "../"));
	assert_non_null(strstr(page, "<title>Index of /</title>"));
	free(page);
	page = test_render("/a/b/", NULL, 0);
	assert_non_null(strstr(page, "<a href=\"../\">../</a>"));
	assert_non_null(strstr(page, "<h1>Index of /a/b/</h1>"));
	free(page);
}

static void
test_render_escapes_hostile_names(void **state)
{
	struct autoindex_entry e[] = {
	    {"<script>alert(1)</script>", 0, 1, 0},
	    {"x\" onmouseover=\"y", 1, 0, 0},
	    {"100% & more's", 0, 1, 0},
	};
	char *page;

	(void)state;
	page = test_render("/", e, 3);
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "\" onmouseover"));
	assert_non_null(strstr(page,
	    "<a href=\"%3Cscript%3Ealert%281%29%3C%2Fscript%3E\">"
	    "&lt;script&gt;alert(1)&lt;/script&gt;</a>"));
	assert_non_null(strstr(page,
	    "<a href=\"x%22%20onmouseover%3D%22y/\">"
	    "x&quot; onmouseover=&quot;y/</a>"));
	assert_non_null(strstr(page,
	    "<a href=\"100%25%20%26%20more%27s\">100% &amp; more&#39;s</a>"));
	free(page);
}

static void
test_render_escapes_the_path(void **state)
{
	char *page;

	(void)state;
	page = test_render("/<b>&\"/", NULL, 0);
	assert_non_null(
	    strstr(page, "<title>Index of /&lt;b&gt;&amp;&quot;/</title>"));
	assert_non_null(
	    strstr(page, "<h1>Index of /&lt;b&gt;&amp;&quot;/</h1>"));
	assert_null(strstr(page, "<b>"));
	free(page);
}

static void
test_render_keeps_names_that_are_not_utf8_reachable(void **state)
{
	struct autoindex_entry e[] = {
	    {"a\xff\xfe", 0, 1, 0},
	    {"new\nline", 0, 1, 0},
	};
	char *page;

	(void)state;
	page = test_render("/\xff/", e, 2);
	assert_true(test_utf8(page, strlen(page)));
	assert_non_null(strstr(page, "<a href=\"a%FF%FE\">a" FFFD FFFD "</a>"));
	assert_non_null(
	    strstr(page, "<a href=\"new%0Aline\">new" FFFD "line</a>"));
	assert_non_null(strstr(page, "Index of /" FFFD "/"));
	free(page);
}

static void
test_render_gives_size_and_utc_time(void **state)
{
	struct autoindex_entry e[] = {
	    {"f", 0, 1234567, 86400 + 3723},
	    {"d", 1, 4096, 0},
	};
	char *page;

	(void)state;
	page = test_render("/", e, 2);
	assert_non_null(strstr(
	    page, ">f</a></td><td>1234567</td><td>1970-01-02 01:02:03</td>"));
	assert_non_null(
	    strstr(page, ">d/</a></td><td>-</td><td>1970-01-01 00:00:00</td>"));
	free(page);
}

static void
test_render_leaves_out_rows_past_the_bound_and_says_so(void **state)
{
	struct autoindex_entry e[200];
	char names[200][8];
	size_t i, len, max = 4096;
	char *page;

	(void)state;
	for (i = 0; i < 200; i++) {
		snprintf(names[i], sizeof(names[i]), "f%03zu", i);
		e[i] = (struct autoindex_entry){names[i], 0, 1, 0};
	}
	page = autoindex_render("/", e, 200, 0, max, &len);
	assert_non_null(page);
	assert_true(len <= max);
	assert_non_null(memmem(page, len, ">f000<", 6));
	assert_null(memmem(page, len, ">f199<", 6));
	assert_non_null(memmem(page, len, "more entries than", 17));
	assert_memory_equal(page + len - 8, "</html>\n", 8);
	free(page);

	page = autoindex_render("/", e, 200, 0, AUTOINDEX_PAGE_MAX, &len);
	assert_non_null(memmem(page, len, ">f199<", 6));
	assert_null(memmem(page, len, "more entries than", 17));
	free(page);
}

static void
test_render_says_when_entries_were_left_unread(void **state)
{
	size_t len;
	char *page;

	(void)state;
	page = autoindex_render("/", NULL, 0, 1, AUTOINDEX_PAGE_MAX, &len);
	assert_non_null(memmem(page, len, "more entries than", 17));
	free(page);
}

static void
test_render_refuses_a_bound_below_the_head(void **state)
{
	size_t len;

	(void)state;
	errno = 0;
	assert_null(autoindex_render("/", NULL, 0, 0, 100, &len));
	assert_int_equal(errno, ENOBUFS);
}

/* A private directory for the autoindex_read() tests, and its root fd. */
struct test_tree {
	char tt_dir[64];
	int tt_rootfd;
};

/* Make a tree: root/{a.txt, .hidden, sub/, sub/f, in -> sub, out ->
 * /etc/passwd, up -> ../x (leaves), fifo}, and x beside root. */
static int
test_tree_setup(void **state)
{
	struct test_tree *t = calloc(1, sizeof(*t));
	char p[256];
	int fd;

	assert_non_null(t);
	snprintf(t->tt_dir, sizeof(t->tt_dir), "/tmp/test_autoindex.XXXXXX");
	assert_non_null(mkdtemp(t->tt_dir));
	snprintf(p, sizeof(p), "%s/root", t->tt_dir);
	assert_int_equal(mkdir(p, 0755), 0);
	t->tt_rootfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->tt_rootfd >= 0);
	assert_int_equal(mkdirat(t->tt_rootfd, "sub", 0755), 0);
	fd = openat(t->tt_rootfd, "a.txt", O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	close(openat(t->tt_rootfd, ".hidden", O_WRONLY | O_CREAT, 0644));
	close(openat(t->tt_rootfd, "sub/f", O_WRONLY | O_CREAT, 0644));
	snprintf(p, sizeof(p), "%s/x", t->tt_dir);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	assert_int_equal(symlinkat("sub", t->tt_rootfd, "in"), 0);
	assert_int_equal(symlinkat("/etc/passwd", t->tt_rootfd, "out"), 0);
	assert_int_equal(symlinkat("../x", t->tt_rootfd, "up"), 0);
	assert_int_equal(symlinkat("../a.txt", t->tt_rootfd, "sub/back"), 0);
	assert_int_equal(mkfifoat(t->tt_rootfd, "fifo", 0644), 0);
	*state = t;
	return 0;
}

/* Remove the tree. */
static int
test_tree_teardown(void **state)
{
	struct test_tree *t = *state;
	char cmd[128];

	close(t->tt_rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->tt_dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

/* Return the names autoindex_read() keeps, sorted, comma-separated. */
static const char *
test_read(const struct test_tree *t, const char *path, int dotfiles)
{
	static char names[256];
	struct autoindex_dir ad;
	size_t len;
	char *page, *p, *q;

	assert_int_equal(autoindex_read(t->tt_rootfd, path, dotfiles, &ad), 0);
	page = autoindex_render(
	    path, ad.ad_ents, ad.ad_n, ad.ad_more, AUTOINDEX_PAGE_MAX, &len);
	names[0] = '\0';
	for (p = page;
	     (p = memmem(p, len - (size_t)(p - page), "<a href=", 8)) != NULL;
	     p = q) {
		p = (char *)memmem(p, len - (size_t)(p - page), "\">", 2) + 2;
		q = memchr(p, '<', len - (size_t)(p - page));
		strncat(names, p, (size_t)(q - p));
		strcat(names, ",");
	}
	free(page);
	autoindex_dir_free(&ad);
	return names;
}

static void
test_read_keeps_only_what_would_be_served(void **state)
{
	/* no .hidden, out, up or fifo; in is the directory it names */
	assert_string_equal(test_read(*state, "/", 0), "in/,sub/,a.txt,");
}

static void
test_read_keeps_dotfiles_when_they_are_served(void **state)
{
	assert_string_equal(
	    test_read(*state, "/", 1), "in/,sub/,.hidden,a.txt,");
}

static void
test_read_follows_a_link_that_stays_beneath_the_root(void **state)
{
	/* sub/back -> ../a.txt leaves sub/ but not the root */
	assert_string_equal(test_read(*state, "/sub/", 0), "../,back,f,");
	assert_string_equal(test_read(*state, "/in/", 0), "../,back,f,");
}

static void
test_read_refuses_what_is_not_a_directory_beneath_the_root(void **state)
{
	const struct test_tree *t = *state;
	struct autoindex_dir ad;

	assert_int_equal(autoindex_read(t->tt_rootfd, "/nope/", 0, &ad), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(autoindex_read(t->tt_rootfd, "/a.txt/", 0, &ad), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(autoindex_read(t->tt_rootfd, "/out/", 0, &ad), -1);
	assert_true(errno == EXDEV || errno == ELOOP);
}

static void
test_read_stops_after_the_entry_bound(void **state)
{
	const struct test_tree *t = *state;
	struct autoindex_dir ad;
	char name[32];
	int dfd, i;

	assert_int_equal(mkdirat(t->tt_rootfd, "big", 0755), 0);
	dfd = openat(t->tt_rootfd, "big", O_PATH | O_DIRECTORY);
	for (i = 0; i <= AUTOINDEX_ENTRIES_MAX; i++) {
		snprintf(name, sizeof(name), "%d", i);
		close(openat(dfd, name, O_WRONLY | O_CREAT, 0644));
	}
	close(dfd);
	assert_int_equal(autoindex_read(t->tt_rootfd, "/big/", 0, &ad), 0);
	assert_int_equal(ad.ad_n, AUTOINDEX_ENTRIES_MAX);
	assert_int_equal(ad.ad_more, 1);
	autoindex_dir_free(&ad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html_escape_replaces_the_five_characters),
	    cmocka_unit_test(
		test_html_escape_keeps_utf8_and_replaces_what_is_not),
	    cmocka_unit_test(test_html_escape_replaces_control_bytes),
	    cmocka_unit_test(test_html_escape_refuses_a_short_buffer),
	    cmocka_unit_test(test_url_encode_keeps_only_unreserved_bytes),
	    cmocka_unit_test(test_url_encode_refuses_a_short_buffer),
	    cmocka_unit_test(
		test_render_lists_directories_first_then_files_by_name),
	    cmocka_unit_test(test_render_has_parent_link_except_at_root),
	    cmocka_unit_test(test_render_escapes_hostile_names),
	    cmocka_unit_test(test_render_escapes_the_path),
	    cmocka_unit_test(
		test_render_keeps_names_that_are_not_utf8_reachable),
	    cmocka_unit_test(test_render_gives_size_and_utc_time),
	    cmocka_unit_test(
		test_render_leaves_out_rows_past_the_bound_and_says_so),
	    cmocka_unit_test(test_render_says_when_entries_were_left_unread),
	    cmocka_unit_test(test_render_refuses_a_bound_below_the_head),
	    cmocka_unit_test_setup_teardown(
		test_read_keeps_only_what_would_be_served, test_tree_setup,
		test_tree_teardown),
	    cmocka_unit_test_setup_teardown(
		test_read_keeps_dotfiles_when_they_are_served, test_tree_setup,
		test_tree_teardown),
	    cmocka_unit_test_setup_teardown(
		test_read_follows_a_link_that_stays_beneath_the_root,
		test_tree_setup, test_tree_teardown),
	    cmocka_unit_test_setup_teardown(
		test_read_refuses_what_is_not_a_directory_beneath_the_root,
		test_tree_setup, test_tree_teardown),
	    cmocka_unit_test_setup_teardown(
		test_read_stops_after_the_entry_bound, test_tree_setup,
		test_tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
