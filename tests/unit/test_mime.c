/*
 * Unit tests for mime.c: the extension of a path's last name to its
 * Content-Type, from the built-in table and /etc/mime.types over it.
 *
 * mime_init() reads /etc/mime.types, which differs from one machine to
 * the next. So that every result is known, this file defines fopen():
 * the test binary's definition takes the place of the C library's for
 * mime.c (and for cmocka), and it hands mime.c a file written by the test
 * instead of /etc/mime.types, or ENOENT to stand for a machine without one.
 * Any other path goes to the C library's fopen().
 *
 * mime_init() builds the table once per process, as in the master before
 * the workers fork, and only ever adds to it. So the tests come in three
 * groups, each run in a process of its own with its own mime_init() in
 * its setup: without the file, with a small one, with one too big for
 * the table.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pfhttpd.h"

#define SYSTEM_FILE "/etc/mime.types"	       /* what mime.c opens */
#define OCTET	    "application/octet-stream" /* the default type */
#define BIG_EXTS    3000 /* extensions of the big file: above 4096 / 2 */

/*
 * The file that stands for /etc/mime.types: ico changes its type, the
 * other built-in extensions are not named, and the rest tries the
 * parser's corners.
 */
static const char small_text[] = "# comment line: text/x-comment cmt\n"
				 "\n"
				 "image/vnd.microsoft.icon\tico\n"
				 "application/x-one\tone\n"
				 "application/x-three\tfirst second  third\n"
				 "application/x-upper\tUPPER\n"
				 "text/x-crlf\tcrlf\r\n"
				 "image/x-no-extension\n"
				 "application/x-fifteen\tabcdefghijklmno\n"
				 "application/x-sixteen\tabcdefghijklmnop\n"
				 "application/ld+json\tjsonld\n"
				 "application/atom+xml\tatom\n"
				 "application/x-xml-not-a-suffix\txmlish\n";

static char test_dir[64];    /* the group's private mkdtemp directory */
static char test_file[128];  /* the group's file in it */
static const char *stand_in; /* what SYSTEM_FILE opens; NULL: ENOENT */
static int system_opens;     /* fopen() calls for SYSTEM_FILE */

static int make_file(const char *text);
static int init_with(const char *file);
static int setup_no_file(void **state);
static int setup_small_file(void **state);
static int setup_big_file(void **state);
static int teardown_file(void **state);
static void assert_type(const char *path, const char *type);
static int group_no_system_file(void);
static int group_small_system_file(void);
static int group_big_system_file(void);
static int run_alone(int (*group)(void));

/*
 * fopen() for the whole test binary: SYSTEM_FILE opens stand_in, or fails
 * with ENOENT when there is none; any other path is the C library's.
 */
FILE *
fopen(const char *path, const char *mode)
{
	FILE *(*libc_fopen)(const char *, const char *);

	if (strcmp(path, SYSTEM_FILE) == 0) {
		system_opens++;
		if (stand_in == NULL) {
			errno = ENOENT;
			return NULL;
		}
		path = stand_in;
	}
	libc_fopen =
	    (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
	if (libc_fopen == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	return libc_fopen(path, mode);
}

/* Write text to test_file in a new private directory: 0, or -1. */
static int
make_file(const char *text)
{
	FILE *fp;
	int rc;

	snprintf(test_dir, sizeof(test_dir), "/tmp/pfhttpd-test-mime.XXXXXX");
	if (mkdtemp(test_dir) == NULL)
		return -1;
	snprintf(test_file, sizeof(test_file), "%s/mime.types", test_dir);
	if ((fp = fopen(test_file, "w")) == NULL)
		return -1;
	rc = fputs(text, fp) >= 0 ? 0 : -1;
	return fclose(fp) == 0 ? rc : -1;
}

/* Run mime_init() with file (or none) standing for SYSTEM_FILE. */
static int
init_with(const char *file)
{
	stand_in = file;
	system_opens = 0;
	mime_init();
	return system_opens == 1 ? 0 : -1;
}

/* Group setup: the built-in table alone, as without /etc/mime.types. */
static int
setup_no_file(void **state)
{
	(void)state;
	return init_with(NULL);
}

/* Group setup: the built-in table, then small_text over it. */
static int
setup_small_file(void **state)
{
	(void)state;
	if (make_file(small_text) == -1)
		return -1;
	return init_with(test_file);
}

/*
 * Group setup: the built-in table, then BIG_EXTS new extensions x0, x1,
 * ... (more than the table takes), then html given a new type.
 */
static int
setup_big_file(void **state)
{
	char *text, *p;
	size_t size = BIG_EXTS * 32 + 64;
	int i, rc;

	(void)state;
	if ((text = malloc(size)) == NULL)
		return -1;
	p = text;
	for (i = 0; i < BIG_EXTS; i++)
		p += snprintf(p, size - (size_t)(p - text),
		    "application/x-big-%d\tx%d\n", i, i);
	snprintf(p, size - (size_t)(p - text), "application/x-late\thtml\n");
	rc = make_file(text);
	free(text);
	return rc == -1 ? -1 : init_with(test_file);
}

/* Group teardown: remove the file and the private directory. */
static int
teardown_file(void **state)
{
	(void)state;
	stand_in = NULL;
	if (unlink(test_file) == -1)
		return -1;
	return rmdir(test_dir);
}

/* Assert that path's Content-Type is type. */
static void
assert_type(const char *path, const char *type)
{
	assert_string_equal(mime_type(path), type);
}

/* Without /etc/mime.types, the built-in table gives the usual types. */
static void
test_builtin_table_without_system_file(void **state)
{
	(void)state;
	assert_type("/index.html", "text/html; charset=utf-8");
	assert_type("/style.css", "text/css; charset=utf-8");
	assert_type("/app.js", "text/javascript; charset=utf-8");
	assert_type("/logo.png", "image/png");
	assert_type("/favicon.ico", "image/x-icon");
	assert_type("/font.woff2", "font/woff2");
	assert_type("/a.tar", "application/x-tar");
	assert_type("/a.csv", "text/csv; charset=utf-8");
}

/* Text, and JSON, XML and their +json/+xml kin, carry a charset. */
static void
test_text_types_carry_charset(void **state)
{
	(void)state;
	assert_type("/data.json", "application/json; charset=utf-8");
	assert_type("/feed.xml", "application/xml; charset=utf-8");
	assert_type("/pic.svg", "image/svg+xml; charset=utf-8");
	assert_type("/notes.md", "text/markdown; charset=utf-8");
	assert_type("/doc.pdf", "application/pdf");
	assert_type("/a.wasm", "application/wasm");
}

/* The extension is matched whatever its case. */
static void
test_extension_is_case_insensitive(void **state)
{
	(void)state;
	assert_type("/INDEX.HTML", "text/html; charset=utf-8");
	assert_type("/Photo.JpG", "image/jpeg");
	assert_type("/a.Woff2", "font/woff2");
}

/* An unknown extension gives the default type. */
static void
test_unknown_extension_is_octet_stream(void **state)
{
	(void)state;
	assert_type("/a.unknownext", OCTET);
	assert_type("/a.htmlx", OCTET);
	assert_type("/a.ht", OCTET);
}

/* A name without a dot, or no name at all, gives the default type. */
static void
test_no_extension_is_octet_stream(void **state)
{
	(void)state;
	assert_type("/README", OCTET);
	assert_type("/dir/", OCTET);
	assert_type("/", OCTET);
	assert_type("", OCTET);
	assert_type("html", OCTET);
}

/* Only the last name counts: a dot in a directory is no extension. */
static void
test_dot_in_directory_is_not_an_extension(void **state)
{
	(void)state;
	assert_type("/site.html/README", OCTET);
	assert_type("/v1.2/page.css", "text/css; charset=utf-8");
	assert_type("/a.png/b.gif", "image/gif");
	assert_type("/a.png/", OCTET);
}

/* Only the last dot counts: a.tar.gz is gzip. */
static void
test_last_dot_gives_the_extension(void **state)
{
	(void)state;
	assert_type("/a.tar.gz", "application/gzip");
	assert_type("/a.gz.tar", "application/x-tar");
	assert_type("/a..png", "image/png");
}

/* A dotfile is typed by what follows its last dot, like any name. */
static void
test_dotfile_gets_type_of_its_last_extension(void **state)
{
	(void)state;
	assert_type("/.bashrc", OCTET);
	assert_type("/dir/.profile", OCTET);
	assert_type("/.config.json", "application/json; charset=utf-8");
	assert_type(".gitignore", OCTET);
}

/* A name ending in a dot has an empty extension: the default type. */
static void
test_trailing_dot_is_octet_stream(void **state)
{
	(void)state;
	assert_type("/index.", OCTET);
	assert_type("/index.html.", OCTET);
	assert_type("/.", OCTET);
}

/*
 * A long name with a short extension is found; an extension of 16 bytes
 * or more is no known one (none is that long), without reading past it.
 */
static void
test_long_names_and_extensions(void **state)
{
	char path[4096];

	(void)state;
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	memcpy(path + sizeof(path) - 6, ".html", 6);
	assert_type(path, "text/html; charset=utf-8");
	assert_type("/a.htmlhtmlhtmlhtml", OCTET);
	assert_type("/a.abcdefghijklmnopqrstuvwxyz0123456789", OCTET);
	memset(path + 2, 'h', sizeof(path) - 3);
	path[1] = '.';
	path[sizeof(path) - 1] = '\0';
	assert_type(path, OCTET);
}

/* The system file is read, and its type for an extension wins. */
static void
test_system_file_overrides_builtin(void **state)
{
	(void)state;
	assert_type("/favicon.ico", "image/vnd.microsoft.icon");
	assert_type("/FAVICON.ICO", "image/vnd.microsoft.icon");
	assert_type("/a.one", "application/x-one");
}

/* A built-in extension the system file does not name stays. */
static void
test_builtin_kept_when_file_silent(void **state)
{
	(void)state;
	assert_type("/index.html", "text/html; charset=utf-8");
	assert_type("/logo.png", "image/png");
	assert_type("/a.wasm", "application/wasm");
}

/* Every extension on a line, after tabs or spaces, gets its type. */
static void
test_file_line_with_several_extensions(void **state)
{
	(void)state;
	assert_type("/a.first", "application/x-three");
	assert_type("/a.second", "application/x-three");
	assert_type("/a.third", "application/x-three");
}

/* Comment lines, blank lines and types without extensions add nothing. */
static void
test_file_comments_and_bare_types_add_nothing(void **state)
{
	(void)state;
	assert_type("/a.cmt", OCTET);
	assert_type("/a.comment", OCTET);
	assert_type("/a.no-extension", OCTET);
	assert_type("/a.x-no-extension", OCTET);
}

/* An upper-case extension in the file is stored lower-case. */
static void
test_file_extension_case_is_folded(void **state)
{
	(void)state;
	assert_type("/a.upper", "application/x-upper");
	assert_type("/a.UPPER", "application/x-upper");
}

/* A CR before the line's LF is not part of the extension. */
static void
test_file_crlf_line_end(void **state)
{
	(void)state;
	assert_type("/a.crlf", "text/x-crlf; charset=utf-8");
}

/* A 15-byte extension is taken; a 16-byte one is skipped. */
static void
test_file_extension_length_limit(void **state)
{
	(void)state;
	assert_type("/a.abcdefghijklmno", "application/x-fifteen");
	assert_type("/a.abcdefghijklmnop", OCTET);
}

/* The file's +json and +xml types carry a charset; others do not. */
static void
test_file_suffix_types_carry_charset(void **state)
{
	(void)state;
	assert_type("/a.jsonld", "application/ld+json; charset=utf-8");
	assert_type("/a.atom", "application/atom+xml; charset=utf-8");
	assert_type("/a.xmlish", "application/x-xml-not-a-suffix");
}

/*
 * A file with more extensions than the table takes keeps the table at
 * most half full: the first ones are taken, the last are not, a lookup
 * of an extension not there still ends (an alarm fails the test if it
 * does not), and an extension already there still takes a new type.
 */
static void
test_big_file_fills_half_the_table(void **state)
{
	char path[32];
	int i, found = 0;

	(void)state;
	alarm(10);
	for (i = 0; i < BIG_EXTS; i++) {
		snprintf(path, sizeof(path), "/a.x%d", i);
		if (strcmp(mime_type(path), OCTET) != 0)
			found++;
	}
	assert_type("/a.x0", "application/x-big-0");
	assert_type("/a.x2999", OCTET);
	assert_type("/a.nowhere", OCTET);
	assert_true(found > 1900);
	assert_true(found < 2048);
	assert_type("/index.html", "application/x-late");
	alarm(0);
}

/* The group without a system file. */
static int
group_no_system_file(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtin_table_without_system_file),
	    cmocka_unit_test(test_text_types_carry_charset),
	    cmocka_unit_test(test_extension_is_case_insensitive),
	    cmocka_unit_test(test_unknown_extension_is_octet_stream),
	    cmocka_unit_test(test_no_extension_is_octet_stream),
	    cmocka_unit_test(test_dot_in_directory_is_not_an_extension),
	    cmocka_unit_test(test_last_dot_gives_the_extension),
	    cmocka_unit_test(test_dotfile_gets_type_of_its_last_extension),
	    cmocka_unit_test(test_trailing_dot_is_octet_stream),
	    cmocka_unit_test(test_long_names_and_extensions),
	};

	return cmocka_run_group_tests(tests, setup_no_file, NULL);
}

/* The group with small_text as the system file. */
static int
group_small_system_file(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_system_file_overrides_builtin),
	    cmocka_unit_test(test_builtin_kept_when_file_silent),
	    cmocka_unit_test(test_file_line_with_several_extensions),
	    cmocka_unit_test(test_file_comments_and_bare_types_add_nothing),
	    cmocka_unit_test(test_file_extension_case_is_folded),
	    cmocka_unit_test(test_file_crlf_line_end),
	    cmocka_unit_test(test_file_extension_length_limit),
	    cmocka_unit_test(test_file_suffix_types_carry_charset),
	};

	return cmocka_run_group_tests(tests, setup_small_file, teardown_file);
}

/* The group with a system file too big for the table. */
static int
group_big_system_file(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_big_file_fills_half_the_table),
	};

	return cmocka_run_group_tests(tests, setup_big_file, teardown_file);
}

/* Run group in a child process, with a table of its own: 0 if it passed. */
static int
run_alone(int (*group)(void))
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0)
		exit(group() == 0 ? 0 : 1);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
main(void)
{
	int failed = 0;

	failed |= run_alone(group_no_system_file);
	failed |= run_alone(group_small_system_file);
	failed |= run_alone(group_big_system_file);
	return failed != 0;
}
