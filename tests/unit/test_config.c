/*
 * Unit tests for config.c and listen.c. Each test writes its config file
 * and document root into a private mkdtemp directory:
 *
 *	DIR/conf/pfhttpd.ini	the config file under test
 *	DIR/htdocs/		the default root (../htdocs from conf/)
 *	DIR/tls			the [tls] tests' files (../tls from conf/), a
 *				link to the files the group setup made once
 *				with the openssl command (tls_make_files())
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
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

static char test_dir[256];	 /* realpath of the mkdtemp directory */
static char conf_dir[512];	 /* test_dir/conf */
static char conf_file[1024];	 /* test_dir/conf/pfhttpd.ini */
static char saved_cwd[PATH_MAX]; /* restored after each test */
static char err[CONFIG_ERR_LEN]; /* the last config_load() error */
static char tls_dir[256];	 /* the [tls] tests' files, or "" */
static int tls_have_openssl;	 /* the openssl command made them */

static void write_file(const char *path, const char *text);
static void make_dir(const char *fmt, ...) PRINTFLIKE(1, 2);
static struct config *load(const char *text);
static void expect_error(const char *text, int line, const char *message);
static struct config *load_chat(const char *key, const char *value);
static void expect_chat_range_error(
    const char *key, const char *value, const char *range);
static void assert_same_path(const char *got, const char *expected);
static long long online_cpus(void);
static int find_free_port(void);
static int setup(void **state);
static int teardown(void **state);
static int remove_entry(
    const char *path, const struct stat *st, int flag, struct FTW *ftw);
static int run_openssl(const char *fmt, ...) PRINTFLIKE(1, 2);
static int tls_make_files(void);
static int group_setup(void **state);
static int group_teardown(void **state);
static int setup_tls(void **state);
static void need_tls_files(void);
static struct config *load_tls(const char *tls_keys);
static void expect_tls_error(
    const char *tls_keys, int line, const char *message);

/* Write text to path, replacing the file. */
static void
write_file(const char *path, const char *text)
{
	FILE *fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Create a directory whose path is formatted from fmt. */
static void
make_dir(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* Write text as the config file and load it; the error goes to err. */
static struct config *
load(const char *text)
{
	write_file(conf_file, text);
	memset(err, 0, sizeof(err));
	return config_load(conf_file, err, sizeof(err));
}

/*
 * Load text and check that it fails with "FILE:LINE: " (or "FILE: " when
 * line is 0) followed by a message containing the given text.
 */
static void
expect_error(const char *text, int line, const char *message)
{
	struct config *cf;
	char prefix[PATH_MAX + 32];

	cf = load(text);
	if (cf != NULL) {
		config_free(cf);
		fail_msg("config loaded, expected an error at line %d", line);
	}
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", conf_file, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", conf_file);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error '%s' does not start with '%s'", err, prefix);
	if (strstr(err + strlen(prefix), message) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, message);
}

/* Check that got is absolute and names the same file as expected. */
static void
assert_same_path(const char *got, const char *expected)
{
	char a[PATH_MAX], b[PATH_MAX], ga[PATH_MAX], gb[PATH_MAX];
	char *ra, *rb;

	assert_non_null(got);
	assert_int_equal(got[0], '/');
	ra = realpath(got, NULL);
	rb = realpath(expected, NULL);
	if (ra != NULL || rb != NULL) {
		if (ra == NULL || rb == NULL || strcmp(ra, rb) != 0)
			fail_msg("'%s' is not '%s'", got, expected);
		free(ra);
		free(rb);
		return;
	}
	/* The file does not exist: compare its directory and name. */
	snprintf(a, sizeof(a), "%s", got);
	snprintf(b, sizeof(b), "%s", expected);
	snprintf(ga, sizeof(ga), "%s", got);
	snprintf(gb, sizeof(gb), "%s", expected);
	assert_string_equal(basename(ga), basename(gb));
	ra = realpath(dirname(a), NULL);
	rb = realpath(dirname(b), NULL);
	assert_non_null(ra);
	assert_non_null(rb);
	assert_string_equal(ra, rb);
	free(ra);
	free(rb);
}

/* Return the worker count "auto" should give on this machine. */
static long long
online_cpus(void)
{
	long n;

	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	if (n > 256)
		return 256;
	return n;
}

/* Return a TCP port on 127.0.0.1 that was free a moment ago. */
static int
find_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	len = sizeof(sin);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* Create the private directory, conf/ and the default htdocs/. */
static int
setup(void **state)
{
	char tmpl[] = "/tmp/pfhttpd-test-config.XXXXXX";
	char path[PATH_MAX];
	char *real;

	(void)state;
	if (getcwd(saved_cwd, sizeof(saved_cwd)) == NULL)
		return -1;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	if ((real = realpath(tmpl, NULL)) == NULL)
		return -1;
	snprintf(test_dir, sizeof(test_dir), "%s", real);
	free(real);
	snprintf(conf_dir, sizeof(conf_dir), "%s/conf", test_dir);
	snprintf(conf_file, sizeof(conf_file), "%s/pfhttpd.ini", conf_dir);
	if (mkdir(conf_dir, 0755) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/htdocs", test_dir);
	if (mkdir(path, 0755) == -1)
		return -1;
	return 0;
}

/* Remove one entry of the private directory (an nftw callback). */
static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Go back to the original directory and remove the private one. */
static int
teardown(void **state)
{
	(void)state;
	if (chdir(saved_cwd) == -1)
		return -1;
	return nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Run "openssl ARGS" (formatted from fmt), quietly; 0 if it succeeded. */
static int
run_openssl(const char *fmt, ...)
{
	char args[1024], cmd[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "openssl %s >/dev/null 2>&1", args);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * Make the [tls] tests' files in tls_dir: server.pem and server.key (a
 * self-signed ECDSA P-256 certificate for localhost), other.key (another
 * P-256 key), ed25519.key (a key of another type), expired.pem
 * (server.key's, expired yesterday), secret.key (server.key under a
 * passphrase), garbage.pem (no PEM). Return 0 or -1.
 */
static int
tls_make_files(void)
{
	const char *d = tls_dir;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/garbage.pem", d);
	write_file(path, "this is no certificate\n");
	if (run_openssl("req -x509 -newkey ec -pkeyopt "
			"ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
			"-days 30 -keyout %s/server.key -out %s/server.pem",
		d, d) == -1 ||
	    run_openssl("genpkey -algorithm EC -pkeyopt "
			"ec_paramgen_curve:P-256 -out %s/other.key",
		d) == -1 ||
	    run_openssl("genpkey -algorithm ED25519 -out %s/ed25519.key", d) ==
		-1 ||
	    run_openssl("req -new -key %s/server.key -subj /CN=localhost "
			"-out %s/server.csr",
		d, d) == -1 ||
	    run_openssl("x509 -req -in %s/server.csr -signkey %s/server.key "
			"-days -1 -out %s/expired.pem",
		d, d, d) == -1 ||
	    run_openssl("pkey -in %s/server.key -aes256 -passout pass:secret "
			"-out %s/secret.key",
		d, d) == -1)
		return -1;
	return 0;
}

/*
 * Make the [tls] tests' files once for all tests, if there is an openssl
 * command; without one, the tests that need them are skipped.
 */
static int
group_setup(void **state)
{
	char tmpl[] = "/tmp/pfhttpd-test-tls.XXXXXX";

	(void)state;
	if (system("command -v openssl >/dev/null 2>&1") != 0)
		return 0;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(tls_dir, sizeof(tls_dir), "%s", tmpl);
	tls_have_openssl = 1;
	return tls_make_files();
}

/* Remove the [tls] tests' files. */
static int
group_teardown(void **state)
{
	(void)state;
	if (tls_dir[0] == '\0')
		return 0;
	return nftw(tls_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* setup(), then link DIR/tls to the [tls] tests' files. */
static int
setup_tls(void **state)
{
	char path[PATH_MAX];

	if (setup(state) == -1)
		return -1;
	if (!tls_have_openssl)
		return 0;
	snprintf(path, sizeof(path), "%s/tls", test_dir);
	return symlink(tls_dir, path);
}

/* Skip the test when there is no openssl command to make its files. */
static void
need_tls_files(void)
{
	if (!tls_have_openssl)
		skip();
}

/*
 * Load a config with a TLS listener on line 2 and tls_keys from line 4 on
 * ("[tls]" is line 3); it must succeed.
 */
static struct config *
load_tls(const char *tls_keys)
{
	struct config *cf;
	char text[2048];

	snprintf(text, sizeof(text),
	    "[server]\nlisten = 127.0.0.1:8443 tls\n[tls]\n%s", tls_keys);
	if ((cf = load(text)) == NULL)
		fail_msg("%s", err);
	return cf;
}

/* As load_tls(), but the load must fail at line with message. */
static void
expect_tls_error(const char *tls_keys, int line, const char *message)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "[server]\nlisten = 127.0.0.1:8443 tls\n[tls]\n%s", tls_keys);
	expect_error(text, line, message);
}

/* The [log] and [stats] keys of the shared-memory log have defaults. */
static void
test_log_and_stats_defaults(void **state)
{
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	make_dir("%s/var", test_dir);
	make_dir("%s/var/log", test_dir);
	cf = load("[server]\nlisten = 127.0.0.1:8181\n");
	assert_non_null(cf);
	snprintf(path, sizeof(path), "%s/var/log/access.log", test_dir);
	assert_same_path(cf->cf_access_log, path);
	assert_int_equal(cf->cf_log_format, LOG_FORMAT_COMBINED);
	assert_int_equal(cf->cf_ring_size, 1024 * 1024);
	/* The segment is named after the first listen port. */
	assert_string_equal(cf->cf_shm_path, "/dev/shm/pfhttpd-8181");
	config_free(cf);
}

/*
 * format takes combined, common, json or vhost_combined; shm_path and
 * access_log are set.
 */
static void
test_log_format_and_shm_path_are_read(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[log]\nformat = json\naccess_log =\n"
		  "[stats]\nshm_path = /tmp/x.shm\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_log_format, LOG_FORMAT_JSON);
	assert_null(cf->cf_access_log);
	assert_string_equal(cf->cf_shm_path, "/tmp/x.shm");
	config_free(cf);
	cf = load("[log]\nformat = common\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_log_format, LOG_FORMAT_COMMON);
	config_free(cf);
	cf = load("[log]\nformat = vhost_combined\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_log_format, LOG_FORMAT_VHOST_COMBINED);
	config_free(cf);
}

/* An unknown log format is an error at its line. */
static void
test_unknown_log_format_is_rejected(void **state)
{
	(void)state;
	expect_error("[log]\n\nformat = apache\n", 3,
	    "[log] format: expected combined, common, json or "
	    "vhost_combined, got 'apache'");
}

/* ring_size is bounded and rounded up to a power of two. */
static void
test_ring_size_is_bounded_and_rounded_to_a_power_of_two(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[log]\nring_size = 100k\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_ring_size, 128 * 1024);
	config_free(cf);
	expect_error("[log]\nring_size = 1k\n", 2,
	    "[log] ring_size: 1k is out of range (64k..64m)");
}

/* notsent_lowat takes 0 (the kernel's value) up to 64m. */
static void
test_notsent_lowat_takes_zero_to_64m(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[http]\nnotsent_lowat = 0\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_notsent_lowat, 0);
	config_free(cf);
	cf = load("[http]\nnotsent_lowat = 64m\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_notsent_lowat, 64 * 1024 * 1024);
	config_free(cf);
	expect_error("[http]\nnotsent_lowat = 65m\n", 2,
	    "[http] notsent_lowat: 65m is out of range (0..64m)");
}

/* An empty file gives every default of the key table (pfhttpd.ini(5)). */
static void
test_empty_file_gives_defaults(void **state)
{
	struct sockaddr_in *sin;
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	make_dir("%s/var", test_dir);
	make_dir("%s/var/log", test_dir);
	cf = load("");
	assert_non_null(cf);
	assert_string_equal(cf->cf_file, conf_file);

	assert_int_equal(cf->cf_nlisten, 1);
	assert_string_equal(cf->cf_listen[0].la_name, "127.0.0.1:8080");
	assert_int_equal(cf->cf_listen[0].la_fd, -1);
	sin = (struct sockaddr_in *)&cf->cf_listen[0].la_ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8080);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(cf->cf_listen[0].la_sslen, sizeof(*sin));

	assert_int_equal(cf->cf_workers, online_cpus());
	assert_null(cf->cf_user);
	assert_null(cf->cf_group);
	snprintf(path, sizeof(path), "%s/pfhttpd.pid", conf_dir);
	assert_same_path(cf->cf_pid_file, path);
	assert_int_equal(cf->cf_daemon, 0);
	assert_int_equal(cf->cf_max_connections, 4096);
	assert_int_equal(cf->cf_shutdown_timeout, 10000);

	snprintf(path, sizeof(path), "%s/htdocs", test_dir);
	assert_same_path(cf->cf_root, path);
	assert_string_equal(cf->cf_index, "index.html");
	assert_int_equal(cf->cf_keepalive_timeout, 15000);
	assert_int_equal(cf->cf_header_timeout, 10000);
	assert_int_equal(cf->cf_send_timeout, 60000);
	assert_int_equal(cf->cf_max_header_size, 8192);
	assert_int_equal(cf->cf_max_keepalive_requests, 1000);
	assert_int_equal(cf->cf_serve_dotfiles, 0);
	assert_int_equal(cf->cf_notsent_lowat, 32 * 1024);

	snprintf(path, sizeof(path), "%s/var/log/error.log", test_dir);
	assert_same_path(cf->cf_error_log, path);
	config_free(cf);
}

/* cf_file is absolute even when the file is named relative to the cwd. */
static void
test_cf_file_is_absolute_for_relative_name(void **state)
{
	struct config *cf;

	(void)state;
	write_file(conf_file, "");
	assert_int_equal(chdir(test_dir), 0);
	cf = config_load("conf/pfhttpd.ini", err, sizeof(err));
	assert_non_null(cf);
	assert_string_equal(cf->cf_file, conf_file);
	config_free(cf);
}

/* A relative root is relative to the config file, not to the cwd. */
static void
test_relative_root_resolves_against_config_dir(void **state)
{
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	make_dir("%s/site", conf_dir);
	write_file(conf_file, "[http]\nroot = site\n");
	assert_int_equal(chdir("/"), 0);
	snprintf(path, sizeof(path), "%s/conf/pfhttpd.ini", test_dir + 1);
	cf = config_load(path, err, sizeof(err));
	assert_non_null(cf);
	snprintf(path, sizeof(path), "%s/site", conf_dir);
	assert_same_path(cf->cf_root, path);
	config_free(cf);
}

/* Relative pid_file and error_log are relative to the config file. */
static void
test_relative_pid_file_and_error_log_resolve_against_config_dir(void **state)
{
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	make_dir("%s/run", test_dir);
	assert_int_equal(chdir("/"), 0);
	cf = load("[server]\npid_file = ../run/p.pid\n"
		  "[log]\nerror_log = err.log\n");
	assert_non_null(cf);
	snprintf(path, sizeof(path), "%s/run/p.pid", test_dir);
	assert_same_path(cf->cf_pid_file, path);
	snprintf(path, sizeof(path), "%s/err.log", conf_dir);
	assert_same_path(cf->cf_error_log, path);
	config_free(cf);
}

/* Absolute paths are kept as written. */
static void
test_absolute_paths_are_kept(void **state)
{
	struct config *cf;
	char text[PATH_MAX * 2];

	(void)state;
	snprintf(text, sizeof(text),
	    "[server]\npid_file = /run/x.pid\n[http]\nroot = %s\n"
	    "[log]\nerror_log = /var/log/x.log\n",
	    conf_dir);
	cf = load(text);
	assert_non_null(cf);
	assert_string_equal(cf->cf_pid_file, "/run/x.pid");
	assert_string_equal(cf->cf_root, conf_dir);
	assert_string_equal(cf->cf_error_log, "/var/log/x.log");
	config_free(cf);
}

/* An empty pid_file or error_log means none (NULL). */
static void
test_empty_pid_file_and_error_log_mean_none(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\npid_file =\n[log]\nerror_log =\n");
	assert_non_null(cf);
	assert_null(cf->cf_pid_file);
	assert_null(cf->cf_error_log);
	config_free(cf);
}

/* Integers are read in decimal, bounds included. */
static void
test_integer_values_are_parsed(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nmax_connections = 1\n"
		  "[http]\nmax_keepalive_requests = 10000000\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_max_connections, 1);
	assert_int_equal(cf->cf_max_keepalive_requests, 10000000);
	config_free(cf);

	cf = load("[server]\nmax_connections = 1000000\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_max_connections, 1000000);
	config_free(cf);
}

/* An integer out of range names the key and shows the bounds. */
static void
test_integer_out_of_range_reports_bounds(void **state)
{
	(void)state;
	expect_error("[server]\nmax_connections = 0\n", 2,
	    "[server] max_connections: 0 is out of range (1..1000000)");
	expect_error("[server]\nmax_connections = 1000001\n", 2,
	    "[server] max_connections: 1000001 is out of range (1..1000000)");
	expect_error(
	    "[http]\nmax_keepalive_requests = 10000001\n", 2, "(1..10000000)");
}

/* An integer with a sign, spaces, a fraction or junk is rejected. */
static void
test_integer_with_sign_or_junk_is_rejected(void **state)
{
	static const char *const bad[] = {
	    "+5", "-1", "5x", "x5", "5 5", "0x10", "1.5", "1e3", "5k"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[server]\nmax_connections = %s\n",
		    bad[i]);
		expect_error(text, 2,
		    "[server] max_connections: expected an integer from 1 to 1000000");
		assert_non_null(strstr(err, bad[i]));
	}
}

/* A number too large for a long long is an error, not a wrap-around. */
static void
test_integer_overflow_is_rejected(void **state)
{
	(void)state;
	expect_error("[server]\nmax_connections = 18446744073709551617\n", 2,
	    "out of range");
	expect_error("[http]\nmax_header_size = 9223372036854775807k\n", 2,
	    "out of range");
	/* 2^54 + 8 kilobytes would wrap around to 8k. */
	expect_error("[http]\nmax_header_size = 18014398509481992k\n", 2,
	    "out of range");
	/* 2^64 + 4096 would wrap around to 4096. */
	expect_error("[server]\nmax_connections = 18446744073709555712\n", 2,
	    "out of range");
	expect_error(
	    "[http]\nsend_timeout = 9223372036854775807m\n", 2, "out of range");
}

/* An empty value for a numeric key is an error, not zero. */
static void
test_empty_numeric_value_is_rejected(void **state)
{
	(void)state;
	expect_error("[http]\nmax_header_size =\n", 2,
	    "[http] max_header_size: missing value");
	expect_error(
	    "[server]\nworkers =   \n", 2, "[server] workers: missing value");
	expect_error(
	    "[server]\ndaemon =\n", 2, "[server] daemon: missing value");
}

/* Sizes take k/K (1024) and m/M (1048576) suffixes. */
static void
test_size_suffixes_multiply(void **state)
{
	static const struct {
		const char *text;
		long long bytes;
	} cases[] = {{"2k", 2048}, {"3K", 3072}, {"1m", 1048576},
	    {"1M", 1048576}, {"4096", 4096}, {"1024", 1024}};
	struct config *cf;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[http]\nmax_header_size = %s\n",
		    cases[i].text);
		cf = load(text);
		if (cf == NULL)
			fail_msg("'%s': %s", cases[i].text, err);
		assert_int_equal(cf->cf_max_header_size, cases[i].bytes);
		config_free(cf);
	}
}

/* A size out of range shows the bounds in k and m. */
static void
test_size_out_of_range_reports_bounds(void **state)
{
	(void)state;
	expect_error("[http]\nmax_header_size = 2m\n", 2,
	    "[http] max_header_size: 2m is out of range (1k..1m)");
	expect_error("[http]\nmax_header_size = 1023\n", 2,
	    "1023 is out of range (1k..1m)");
}

/* A size with another unit or junk is rejected. */
static void
test_bad_size_is_rejected(void **state)
{
	static const char *const bad[] = {
	    "8kb", "k", "8 k", "1g", "-8k", "8kk"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[http]\nmax_header_size = %s\n",
		    bad[i]);
		expect_error(text, 2,
		    "[http] max_header_size: expected a size from 1k to 1m");
	}
}

/* Durations take ms, s and m, and a bare number means seconds. */
static void
test_duration_units_become_milliseconds(void **state)
{
	static const struct {
		const char *text;
		long long ms;
	} cases[] = {{"250ms", 250}, {"3s", 3000}, {"2m", 120000}, {"7", 7000},
	    {"1ms", 1}, {"60m", 3600000}};
	struct config *cf;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[http]\nheader_timeout = %s\n",
		    cases[i].text);
		cf = load(text);
		if (cf == NULL)
			fail_msg("'%s': %s", cases[i].text, err);
		assert_int_equal(cf->cf_header_timeout, cases[i].ms);
		config_free(cf);
	}
}

/* Every duration key is stored in milliseconds. */
static void
test_every_duration_key_is_set(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nshutdown_timeout = 1m\n"
		  "[http]\nkeepalive_timeout = 5s\nheader_timeout = 20s\n"
		  "send_timeout = 1500ms\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_shutdown_timeout, 60000);
	assert_int_equal(cf->cf_keepalive_timeout, 5000);
	assert_int_equal(cf->cf_header_timeout, 20000);
	assert_int_equal(cf->cf_send_timeout, 1500);
	config_free(cf);
}

/* keepalive_timeout and shutdown_timeout accept 0. */
static void
test_zero_keepalive_and_shutdown_timeouts_are_accepted(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nshutdown_timeout = 0\n"
		  "[http]\nkeepalive_timeout = 0ms\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_shutdown_timeout, 0);
	assert_int_equal(cf->cf_keepalive_timeout, 0);
	config_free(cf);
}

/* A duration out of range shows the bounds in units the file accepts. */
static void
test_duration_out_of_range_reports_bounds(void **state)
{
	(void)state;
	expect_error("[http]\nheader_timeout = 0\n", 2,
	    "[http] header_timeout: 0 is out of range (1ms..60m)");
	expect_error("[http]\nsend_timeout = 0ms\n", 2,
	    "[http] send_timeout: 0ms is out of range (1ms..60m)");
	expect_error("[server]\nshutdown_timeout = 3601s\n", 2,
	    "[server] shutdown_timeout: 3601s is out of range (0..60m)");
	expect_error("[http]\nkeepalive_timeout = 61m\n", 2, "(0..60m)");
}

/* A duration with another unit or junk is rejected. */
static void
test_bad_duration_is_rejected(void **state)
{
	static const char *const bad[] = {
	    "5h", "ms", "5 s", "1.5s", "5S", "10sec", "-1s", "5mss"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(
		    text, sizeof(text), "[http]\nsend_timeout = %s\n", bad[i]);
		expect_error(text, 2,
		    "[http] send_timeout: expected a duration from 1ms to 60m");
	}
}

/* Booleans accept yes/no, on/off, true/false and 1/0 in any case. */
static void
test_bool_values_are_case_insensitive(void **state)
{
	static const struct {
		const char *text;
		int value;
	} cases[] = {{"yes", 1}, {"YES", 1}, {"on", 1}, {"On", 1}, {"true", 1},
	    {"TRUE", 1}, {"1", 1}, {"no", 0}, {"No", 0}, {"off", 0}, {"OFF", 0},
	    {"false", 0}, {"False", 0}, {"0", 0}};
	struct config *cf;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
		    "[server]\ndaemon = %s\n[http]\nserve_dotfiles = %s\n",
		    cases[i].text, cases[i].text);
		cf = load(text);
		if (cf == NULL)
			fail_msg("'%s': %s", cases[i].text, err);
		assert_int_equal(cf->cf_daemon, cases[i].value);
		assert_int_equal(cf->cf_serve_dotfiles, cases[i].value);
		config_free(cf);
	}
}

/* Anything else for a boolean is an error. */
static void
test_bad_bool_is_rejected(void **state)
{
	(void)state;
	expect_error("[server]\ndaemon = maybe\n", 2,
	    "[server] daemon: expected yes or no");
	expect_error("[http]\nserve_dotfiles = 2\n", 2,
	    "[http] serve_dotfiles: expected yes or no");
	expect_error("[http]\nserve_dotfiles = y\n", 2, "got 'y'");
}

/* workers = auto is the number of online CPUs. */
static void
test_auto_workers_uses_online_cpus(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nworkers = 7\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_workers, 7);
	config_free(cf);

	cf = load("[server]\nworkers = auto\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_workers, online_cpus());
	config_free(cf);
}

/* workers is 1..256. */
static void
test_workers_out_of_range_reports_bounds(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nworkers = 256\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_workers, 256);
	config_free(cf);
	expect_error("[server]\nworkers = 0\n", 2,
	    "[server] workers: 0 is out of range (1..256)");
	expect_error("[server]\nworkers = 257\n", 2,
	    "[server] workers: 257 is out of range (1..256)");
	expect_error("[server]\nworkers = many\n", 2,
	    "[server] workers: expected auto or an integer from 1 to 256");
}

/* Several listen lines are kept in order and replace the default. */
static void
test_repeated_listen_keeps_every_address(void **state)
{
	struct config *cf;
	int i;

	(void)state;
	cf = load("[server]\nlisten = 127.0.0.1:8001\nlisten = 127.0.0.1:8002\n"
		  "listen = 127.0.0.1:8003\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_nlisten, 3);
	assert_string_equal(cf->cf_listen[0].la_name, "127.0.0.1:8001");
	assert_string_equal(cf->cf_listen[1].la_name, "127.0.0.1:8002");
	assert_string_equal(cf->cf_listen[2].la_name, "127.0.0.1:8003");
	for (i = 0; i < 3; i++)
		assert_int_equal(cf->cf_listen[i].la_fd, -1);
	config_free(cf);
}

/* listen accepts [v6]:port, *:port and a bare port. */
static void
test_listen_ipv6_star_and_port_forms(void **state)
{
	struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;
	struct config *cf;

	(void)state;
	cf = load("[server]\nlisten = [::1]:8081\nlisten = *:8082\n"
		  "listen = 8083\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_nlisten, 3);
	sin6 = (struct sockaddr_in6 *)&cf->cf_listen[0].la_ss;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 8081);
	assert_memory_equal(
	    &sin6->sin6_addr, &in6addr_loopback, sizeof(in6addr_loopback));
	sin = (struct sockaddr_in *)&cf->cf_listen[1].la_ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8082);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_ANY);
	sin = (struct sockaddr_in *)&cf->cf_listen[2].la_ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8083);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_ANY);
	config_free(cf);
}

/* The same address twice, however written, is an error. */
static void
test_duplicate_listen_address_is_rejected(void **state)
{
	(void)state;
	expect_error("[server]\nlisten = 8080\n\nlisten = *:8080\n", 4,
	    "[server] listen: '*:8080' is the same address as '8080' at line 2");
	expect_error(
	    "[server]\nlisten = 0.0.0.0:80\nlisten = 80\n", 3, "same address");
}

/* More than CONFIG_MAX_LISTEN listen lines is an error at the extra one. */
static void
test_too_many_listen_addresses_is_rejected(void **state)
{
	struct config *cf;
	char text[2048];
	size_t len;
	int i;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text), "[server]\n");
	for (i = 0; i < CONFIG_MAX_LISTEN; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "listen = 127.0.0.1:%d\n", 9000 + i);
	cf = load(text);
	assert_non_null(cf);
	assert_int_equal(cf->cf_nlisten, CONFIG_MAX_LISTEN);
	config_free(cf);

	snprintf(text + len, sizeof(text) - len, "listen = 127.0.0.1:9999\n");
	expect_error(text, CONFIG_MAX_LISTEN + 2,
	    "[server] listen: too many listen addresses (at most 16)");
}

/* A bad listen address gives listen_parse's reason at its line. */
static void
test_bad_listen_address_reports_reason(void **state)
{
	(void)state;
	expect_error("[server]\nlisten = 127.0.0.1:99999\n", 2,
	    "[server] listen: bad listen address '127.0.0.1:99999': port out of range");
	expect_error("[server]\nworkers = 1\nlisten = ::1:80\n", 3,
	    "[server] listen: bad listen address '::1:80': an IPv6 address must be in brackets");
	expect_error("[server]\nlisten =\n", 2,
	    "[server] listen: bad listen address ''");
}

/* Existing user and group names are kept. */
static void
test_existing_user_and_group_are_accepted(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nuser = root\ngroup = root\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_string_equal(cf->cf_user, "root");
	assert_string_equal(cf->cf_group, "root");
	config_free(cf);
}

/* An empty user or group means none (NULL). */
static void
test_empty_user_and_group_mean_none(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nuser =\ngroup =\n");
	assert_non_null(cf);
	assert_null(cf->cf_user);
	assert_null(cf->cf_group);
	config_free(cf);
}

/* A user that does not exist is an error at its line. */
static void
test_unknown_user_is_rejected(void **state)
{
	(void)state;
	expect_error("[server]\n\nuser = pfhttpd-no-such-user\n", 3,
	    "[server] user: unknown user 'pfhttpd-no-such-user'");
}

/* A group that does not exist is an error at its line. */
static void
test_unknown_group_is_rejected(void **state)
{
	(void)state;
	expect_error("[server]\ngroup = pfhttpd-no-such-group\n", 2,
	    "[server] group: unknown group 'pfhttpd-no-such-group'");
}

/* index must be a plain file name. */
static void
test_index_must_be_a_file_name(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[http]\nindex = default.htm\n");
	assert_non_null(cf);
	assert_string_equal(cf->cf_index, "default.htm");
	config_free(cf);
	expect_error("[http]\nindex = a/b.html\n", 2,
	    "[http] index: expected a file name without '/', got 'a/b.html'");
	expect_error("[http]\nindex = ..\n", 2, "[http] index: expected");
	expect_error("[http]\nindex =\n", 2, "[http] index: missing value");
}

/* An unknown section is reported at its header line. */
static void
test_unknown_section_reports_file_and_line(void **state)
{
	(void)state;
	expect_error("[server]\nworkers = 2\n\n[nosuch]\nx = 1\n", 4,
	    "unknown section [nosuch] (expected [server], [http], [log], "
	    "[websocket], [chat], [stats], [tls] or [host \"NAME\"])");
	/* Even when nothing follows the header. */
	expect_error("[ws]\n", 1, "unknown section [ws]");
}

/* The [websocket] keys have their documented defaults. */
static void
test_websocket_defaults(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nworkers = 1\n");
	assert_non_null(cf);
	assert_string_equal(cf->cf_ws_echo_path, "/echo");
	assert_int_equal(cf->cf_ws_max_message, 16 * 1024 * 1024);
	assert_int_equal(cf->cf_ws_idle_timeout, 60 * 1000);
	assert_null(cf->cf_ws_origins);
	config_free(cf);
}

/* The [websocket] keys are read; an empty echo_path disables the echo. */
static void
test_websocket_keys_are_read(void **state)
{
	struct config *cf;

	(void)state;
	cf =
	    load("[websocket]\necho_path = /ws/echo\nmax_message_size = 1k\n"
		 "idle_timeout = 0\n"
		 "allowed_origins = http://a.example https://b.example:8443\n");
	assert_non_null(cf);
	assert_string_equal(cf->cf_ws_echo_path, "/ws/echo");
	assert_int_equal(cf->cf_ws_max_message, 1024);
	assert_int_equal(cf->cf_ws_idle_timeout, 0);
	assert_string_equal(
	    cf->cf_ws_origins, "http://a.example https://b.example:8443");
	config_free(cf);
	cf = load("[websocket]\necho_path =\n");
	assert_non_null(cf);
	assert_null(cf->cf_ws_echo_path);
	config_free(cf);
}

/* A bad echo_path, origin list or message size is a FILE:LINE: error. */
static void
test_websocket_bad_values_are_errors(void **state)
{
	(void)state;
	expect_error("[websocket]\necho_path = echo\n", 2,
	    "[websocket] echo_path: expected a normalised URL path");
	expect_error("[websocket]\necho_path = /e?x=1\n", 2,
	    "[websocket] echo_path: expected a normalised URL path");
	expect_error("[websocket]\necho_path = /%65cho\n", 2,
	    "[websocket] echo_path: expected a normalised URL path");
	expect_error("[websocket]\necho_path = /a b\n", 2,
	    "[websocket] echo_path: expected a normalised URL path");
	expect_error("[websocket]\necho_path = /a/../echo\n", 2,
	    "[websocket] echo_path: expected a normalised URL path");
	expect_error("[websocket]\necho_path = /a//echo\n", 2,
	    "[websocket] echo_path: expected a normalised URL path");
	expect_error("[websocket]\necho_path = /echo/.\n", 2,
	    "[websocket] echo_path: expected a normalised URL path");
	expect_error("[websocket]\nallowed_origins = example.com\n", 2,
	    "[websocket] allowed_origins: expected origins");
	expect_error("[websocket]\nallowed_origins = http://a/path\n", 2,
	    "[websocket] allowed_origins: expected origins");
	expect_error("[websocket]\nallowed_origins = https://\n", 2,
	    "[websocket] allowed_origins: expected origins");
	expect_error("[websocket]\nmax_message_size = 100\n", 2,
	    "[websocket] max_message_size: 100 is out of range");
}

/* An unknown key is reported with its section at its line. */
static void
test_unknown_key_reports_file_and_line(void **state)
{
	(void)state;
	expect_error("[http]\n\n; comment\nrot = /x\n", 4,
	    "unknown key 'rot' in section [http]");
	/* A key of another section is unknown here. */
	expect_error("[http]\nworkers = 2\n", 2,
	    "unknown key 'workers' in section [http]");
}

/* A key before any [section] line is an error. */
static void
test_key_before_any_section_is_rejected(void **state)
{
	(void)state;
	expect_error("; comment\nlisten = 80\n[server]\n", 2,
	    "key 'listen' is outside of any section");
}

/* A non-repeatable key given twice is an error at the second line. */
static void
test_duplicate_key_is_rejected(void **state)
{
	(void)state;
	expect_error("[server]\nworkers = 2\ndaemon = no\nworkers = 3\n", 4,
	    "[server] workers: duplicate key (already set at line 2)");
	/* Also across two headers of the same section. */
	expect_error("[http]\nindex = a\n[log]\n[http]\nindex = b\n", 5,
	    "[http] index: duplicate key");
}

/* A root that does not exist is an error at the root line. */
static void
test_missing_root_reports_key_line(void **state)
{
	char message[PATH_MAX + 64];

	(void)state;
	snprintf(message, sizeof(message),
	    "[http] root %s/nowhere: No such file or directory", conf_dir);
	expect_error("[server]\n\n[http]\nroot = nowhere\n", 4, message);
}

/* A root that is not a directory is an error at the root line. */
static void
test_root_that_is_a_file_is_rejected(void **state)
{
	char message[PATH_MAX + 64], path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/file", conf_dir);
	write_file(path, "x");
	snprintf(
	    message, sizeof(message), "[http] root %s: not a directory", path);
	expect_error("[http]\nroot = file\n", 2, message);
}

/* [http] cache and error_page lines are read, in order, from the file. */
static void
test_cache_rules_and_error_pages_are_read(void **state)
{
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	make_dir("%s/site", conf_dir);
	make_dir("%s/site/errors", conf_dir);
	snprintf(path, sizeof(path), "%s/site/errors/404.html", conf_dir);
	write_file(path, "gone");
	cf =
	    load("[http]\nroot = site\ncache = /assets/ public, max-age=60\n"
		 "cache = .html no-cache\nerror_page = 404 /errors/404.html\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_cache.cc_n, 2);
	assert_string_equal(cachectl_match(&cf->cf_cache, "/assets/x.html", 14),
	    "public, max-age=60");
	assert_string_equal(
	    errpage_path(&cf->cf_errpages, 404), "/errors/404.html");
	assert_null(errpage_path(&cf->cf_errpages, 403));
	config_free(cf);
}

/* By default there are no cache rules and no error pages. */
static void
test_no_cache_rules_or_error_pages_by_default(void **state)
{
	struct config *cf;
	int status;

	(void)state;
	make_dir("%s/site", conf_dir);
	cf = load("[http]\nroot = site\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_cache.cc_n, 0);
	for (status = ERRPAGE_FIRST; status <= ERRPAGE_LAST; status++)
		assert_null(errpage_path(&cf->cf_errpages, status));
	config_free(cf);
}

/* A bad cache rule is an error at its line. */
static void
test_bad_cache_rule_reports_its_line(void **state)
{
	(void)state;
	expect_error("[http]\ncache = .html no-cache\ncache = /assets/\n", 3,
	    "[http] cache: expected a path prefix or an extension");
	expect_error("[http]\n\ncache = assets max-age=1\n", 3,
	    "[http] cache: 'assets': expected a path prefix");
	expect_error("[http]\ncache =\n", 2, "[http] cache: expected");
}

/* A bad or repeated error_page is an error at its line. */
static void
test_bad_error_page_reports_its_line(void **state)
{
	(void)state;
	expect_error("[http]\nerror_page = 302 /moved.html\n", 2,
	    "[http] error_page: expected a status from 400 to 599");
	expect_error("[http]\nerror_page = 404 ../x.html\n", 2,
	    "[http] error_page: '../x.html': expected a path");
	expect_error("[http]\nerror_page = 404 /a\nerror_page = 404 /b\n", 3,
	    "[http] error_page: status 404 already has a page (line 2)");
}

/* [http] auth rules read their htpasswd files; realm and TLS-only too. */
static void
test_auth_rules_read_their_users(void **state)
{
	const struct auth_rule *ar;
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	make_dir("%s/site", conf_dir);
	snprintf(path, sizeof(path), "%s/users", conf_dir);
	write_file(path,
	    "alice:$2y$04$OO55adaRsiIkhOR4KKXzqeEbRSnLOzldR9VcJC6OT7"
	    "XFT.URuS03q\n");
	cf = load("[http]\nroot = site\nauth = /a/open/ off\n"
		  "auth = /a/ users\nauth_realm = Staff\nauth_tls_only = no\n");
	assert_non_null(cf);
	assert_null(auth_match(&cf->cf_auth, "/a/open/x", 9));
	ar = auth_match(&cf->cf_auth, "/a/x", 4);
	assert_non_null(ar);
	assert_non_null(htpasswd_find(&ar->ar_users, "alice", 5));
	assert_string_equal(cf->cf_auth.au_realm, "Staff");
	assert_int_equal(cf->cf_auth.au_tls_only, 0);
	config_free(cf);
	cf = load("[http]\nroot = site\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_auth.au_n, 0);
	assert_string_equal(cf->cf_auth.au_realm, "pfhttpd");
	assert_int_equal(cf->cf_auth.au_tls_only, 1);
	config_free(cf);
}

/* Bad auth rules and realms are errors at their line. */
static void
test_bad_auth_reports_its_line(void **state)
{
	(void)state;
	expect_error("[http]\n\nauth = /admin/\n", 3,
	    "[http] auth: expected a path prefix, then an htpasswd file");
	expect_error("[http]\nauth = /admin/ nope\n", 2,
	    "/nope: No such file or directory");
	expect_error("[http]\nauth_realm = a\"b\n", 2,
	    "[http] auth_realm: expected 1 to 127 characters");
	expect_error("[http]\nauth_tls_only = maybe\n", 2,
	    "[http] auth_tls_only: expected yes or no");
}

/* A bad htpasswd line is an error at that line of that file. */
static void
test_bad_htpasswd_line_reports_the_file_and_its_line(void **state)
{
	char path[PATH_MAX], want[PATH_MAX + 64];

	(void)state;
	snprintf(path, sizeof(path), "%s/users", conf_dir);
	write_file(path, "# users\nbob:$1$salt$abcdefghijklmnopqrstuv\n");
	assert_null(load("[http]\nauth = /a/ users\n"));
	snprintf(want, sizeof(want), "%s:2: user 'bob': an MD5-crypt", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error '%s' does not start with '%s'", err, want);
	snprintf(want, sizeof(want), "(%s:2: [http] auth)", conf_file);
	assert_non_null(strstr(err, want));
}

/* An error page missing from the root is an error at its line. */
static void
test_missing_error_page_reports_its_line(void **state)
{
	(void)state;
	make_dir("%s/site", conf_dir);
	expect_error("[http]\nerror_page = 404 /nope.html\nroot = site\n", 2,
	    "[http] error_page 404 /nope.html: No such file or directory");
}

/* An error page must be a regular file inside the root. */
static void
test_error_page_must_be_a_file_beneath_the_root(void **state)
{
	char path[PATH_MAX], target[PATH_MAX];

	(void)state;
	make_dir("%s/site", conf_dir);
	make_dir("%s/site/dir", conf_dir);
	expect_error("[http]\nroot = site\nerror_page = 403 /dir\n", 3,
	    "[http] error_page 403 /dir: not a regular file");
	snprintf(target, sizeof(target), "%s/outside.html", conf_dir);
	write_file(target, "outside");
	snprintf(path, sizeof(path), "%s/site/out.html", conf_dir);
	assert_int_equal(symlink(target, path), 0);
	expect_error("[http]\nroot = site\nerror_page = 404 /out.html\n", 3,
	    "[http] error_page 404 /out.html: ");
}

/* A missing default root is reported against the file, without a line. */
static void
test_missing_default_root_reports_file_without_line(void **state)
{
	char message[PATH_MAX + 64], path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/htdocs", test_dir);
	assert_int_equal(rmdir(path), 0);
	snprintf(message, sizeof(message),
	    "[http] root %s/../htdocs: No such file or directory", conf_dir);
	expect_error("[server]\nworkers = 1\n", 0, message);
}

/* A line inih cannot parse is a syntax error at that line. */
static void
test_syntax_error_reports_line(void **state)
{
	(void)state;
	expect_error(
	    "[server]\nworkers = 1\nthis is not a key\n", 3, "syntax error");
	expect_error("[server\nworkers = 1\n", 1, "syntax error");
}

/* Text after a section header other than a comment is a syntax error. */
static void
test_section_header_with_trailing_text_is_rejected(void **state)
{
	struct config *cf;

	(void)state;
	expect_error("[server] workers = 2\n", 1, "syntax error");
	cf = load("[server] ; the server\nworkers = 2\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_workers, 2);
	config_free(cf);
}

/* A line of more than 199 characters is an error; 199 is fine. */
static void
test_line_too_long_is_rejected(void **state)
{
	struct config *cf;
	char text[512], name[256];

	(void)state;
	/* "index = " is 8 characters: 8 + 191 = 199. */
	memset(name, 'a', 191);
	name[191] = '\0';
	snprintf(text, sizeof(text), "[http]\nindex = %s\n", name);
	cf = load(text);
	if (cf == NULL)
		fail_msg("%s", err);
	assert_string_equal(cf->cf_index, name);
	config_free(cf);

	name[191] = 'a';
	name[192] = '\0';
	snprintf(text, sizeof(text), "[http]\n\nindex = %s\n", name);
	expect_error(text, 3, "line too long (more than 199 characters)");
}

/* Indented lines are ordinary lines, not continuations of a value. */
static void
test_indented_lines_are_not_continuations(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("  [server]\n\tworkers = 3\n    max_connections = 5\n"
		  "\t[http]\n  index = i.html\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_workers, 3);
	assert_int_equal(cf->cf_max_connections, 5);
	assert_string_equal(cf->cf_index, "i.html");
	config_free(cf);
	/* An indented unknown section is still caught at its line. */
	expect_error("[server]\n   [bogus]\n", 2, "unknown section [bogus]");
}

/* Comments, blank lines, inline comments and CRLF are accepted. */
static void
test_comments_blank_lines_and_crlf_are_accepted(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("; comment\r\n# comment\r\n\r\n[server]\r\n"
		  "workers = 3 ; inline comment\r\nmax_connections = 9\r\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_workers, 3);
	assert_int_equal(cf->cf_max_connections, 9);
	config_free(cf);
}

/* Only the first error is reported, whoever finds it. */
static void
test_first_error_is_reported(void **state)
{
	(void)state;
	/* A syntax error before a bad key. */
	expect_error("[server]\njunk\nbogus = 1\n", 2, "syntax error");
	/* A bad key before a syntax error. */
	expect_error("[server]\nbogus = 1\njunk\n", 2, "unknown key 'bogus'");
	/* A syntax error before an unknown section and a long line. */
	expect_error("[server]\njunk\n[nosuch]\n", 2, "syntax error");
	/* A bad value before an unknown section. */
	expect_error("[server]\nworkers = 0\n[nosuch]\n", 2, "workers");
	/* One message, one line. */
	assert_null(strchr(err, '\n'));
}

/* The error names the file as it was given, not its absolute path. */
static void
test_error_names_file_as_given(void **state)
{
	(void)state;
	write_file(conf_file, "[server]\nbogus = 1\n");
	assert_int_equal(chdir(conf_dir), 0);
	assert_null(config_load("pfhttpd.ini", err, sizeof(err)));
	assert_string_equal(
	    err, "pfhttpd.ini:2: unknown key 'bogus' in section [server]");
}

/* A file that cannot be opened gives "FILE: strerror". */
static void
test_unopenable_file_reports_strerror(void **state)
{
	char path[PATH_MAX], expected[PATH_MAX + 64];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.ini", conf_dir);
	assert_null(config_load(path, err, sizeof(err)));
	snprintf(expected, sizeof(expected), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(err, expected);

	assert_null(config_load(conf_dir, err, sizeof(err)));
	snprintf(
	    expected, sizeof(expected), "%s: %s", conf_dir, strerror(EISDIR));
	assert_string_equal(err, expected);
}

/* listen_parse reads host:port with a numeric IPv4 host. */
static void
test_listen_parse_ipv4_host_and_port(void **state)
{
	struct listen_addr la;
	struct sockaddr_in *sin;
	char reason[256];

	(void)state;
	assert_int_equal(
	    listen_parse("10.1.2.3:8443", &la, reason, sizeof(reason)), 0);
	assert_string_equal(la.la_name, "10.1.2.3:8443");
	assert_int_equal(la.la_fd, -1);
	assert_int_equal(la.la_sslen, sizeof(*sin));
	sin = (struct sockaddr_in *)&la.la_ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8443);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x0a010203);
}

/* listen_parse reads [v6addr]:port. */
static void
test_listen_parse_ipv6_in_brackets(void **state)
{
	struct listen_addr la;
	struct sockaddr_in6 *sin6;
	struct in6_addr addr;
	char reason[256];

	(void)state;
	assert_int_equal(
	    listen_parse("[2001:db8::1]:443", &la, reason, sizeof(reason)), 0);
	assert_int_equal(la.la_sslen, sizeof(*sin6));
	sin6 = (struct sockaddr_in6 *)&la.la_ss;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 443);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &addr), 1);
	assert_memory_equal(&sin6->sin6_addr, &addr, sizeof(addr));

	assert_int_equal(
	    listen_parse("[::]:80", &la, reason, sizeof(reason)), 0);
	sin6 = (struct sockaddr_in6 *)&la.la_ss;
	assert_memory_equal(
	    &sin6->sin6_addr, &in6addr_any, sizeof(in6addr_any));
}

/* "*:port" and a bare "port" both mean any IPv4 address. */
static void
test_listen_parse_star_and_bare_port_mean_ipv4_any(void **state)
{
	static const char *const forms[] = {"*:8080", "8080"};
	struct listen_addr la;
	struct sockaddr_in *sin;
	char reason[256];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(
		    listen_parse(forms[i], &la, reason, sizeof(reason)), 0);
		assert_string_equal(la.la_name, forms[i]);
		assert_int_equal(la.la_sslen, sizeof(*sin));
		sin = (struct sockaddr_in *)&la.la_ss;
		assert_int_equal(sin->sin_family, AF_INET);
		assert_int_equal(ntohs(sin->sin_port), 8080);
		assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_ANY);
	}
}

/* listen_parse resolves a host name (localhost, from /etc/hosts). */
static void
test_listen_parse_resolves_host_names(void **state)
{
	struct listen_addr la;
	struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;
	char reason[256];

	(void)state;
	if (listen_parse("localhost:8080", &la, reason, sizeof(reason)) != 0)
		fail_msg("%s", reason);
	if (la.la_ss.ss_family == AF_INET) {
		sin = (struct sockaddr_in *)&la.la_ss;
		assert_int_equal(ntohs(sin->sin_port), 8080);
		assert_int_equal(ntohl(sin->sin_addr.s_addr) >> 24, 127);
	} else {
		assert_int_equal(la.la_ss.ss_family, AF_INET6);
		sin6 = (struct sockaddr_in6 *)&la.la_ss;
		assert_int_equal(ntohs(sin6->sin6_port), 8080);
		assert_memory_equal(&sin6->sin6_addr, &in6addr_loopback,
		    sizeof(in6addr_loopback));
	}
}

/* Ports 1 and 65535 are accepted, 0 and 65536 are not. */
static void
test_listen_parse_port_bounds(void **state)
{
	struct listen_addr la;
	char reason[256];

	(void)state;
	assert_int_equal(listen_parse("1", &la, reason, sizeof(reason)), 0);
	assert_int_equal(
	    listen_parse("127.0.0.1:65535", &la, reason, sizeof(reason)), 0);
	assert_int_equal(listen_parse("0", &la, reason, sizeof(reason)), -1);
	assert_string_equal(
	    reason, "bad listen address '0': port out of range (1..65535)");
	assert_int_equal(
	    listen_parse("[::1]:65536", &la, reason, sizeof(reason)), -1);
	assert_string_equal(reason,
	    "bad listen address '[::1]:65536': port out of range (1..65535)");
}

/* Malformed addresses fail with a reason and leave la untouched. */
static void
test_listen_parse_rejects_malformed_addresses(void **state)
{
	static const struct {
		const char *text;
		const char *reason;
	} cases[] = {
	    {"", "empty"},
	    {"http", "port must be a decimal number"},
	    {"-1", "port must be a decimal number"},
	    {"+80", "port must be a decimal number"},
	    {"80x", "port must be a decimal number"},
	    {"99999999999999999999", "port out of range"},
	    {"127.0.0.1:", "missing port"},
	    {":80", "missing host"},
	    {"::1:80", "brackets"},
	    {"[::1]", "expected ':port' after ']'"},
	    {"[::1]80", "expected ':port' after ']'"},
	    {"[::1:80", "missing ']'"},
	    {"[]:80", "empty IPv6 address"},
	    {"[127.0.0.1]:80", "not a numeric IPv6 address"},
	    {"300.1.1.1:80", "not a valid IPv4 address"},
	    {"1.2.3:80", "not a valid IPv4 address"},
	};
	struct listen_addr la;
	char reason[256], prefix[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&la, 0x5a, sizeof(la));
		la.la_fd = 42;
		reason[0] = '\0';
		if (listen_parse(cases[i].text, &la, reason, sizeof(reason)) !=
		    -1)
			fail_msg("'%s' was accepted", cases[i].text);
		snprintf(prefix, sizeof(prefix),
		    "bad listen address '%s': ", cases[i].text);
		if (strncmp(reason, prefix, strlen(prefix)) != 0 ||
		    strstr(reason, cases[i].reason) == NULL)
			fail_msg("'%s': got '%s'", cases[i].text, reason);
		assert_int_equal(la.la_fd, 42);
	}
}

/* la_name holds at most 127 characters; a longer address is an error. */
static void
test_listen_parse_rejects_too_long_address(void **state)
{
	struct listen_addr la;
	char text[256], reason[256];

	(void)state;
	/* 125 zeros and "80": a valid 127-character port. */
	memset(text, '0', 125);
	snprintf(text + 125, sizeof(text) - 125, "80");
	assert_int_equal(listen_parse(text, &la, reason, sizeof(reason)), 0);
	assert_string_equal(la.la_name, text);

	memset(text, '0', 126);
	snprintf(text + 126, sizeof(text) - 126, "80");
	assert_int_equal(listen_parse(text, &la, reason, sizeof(reason)), -1);
	assert_non_null(strstr(reason, "longer than 127 characters"));
}

/* listen_bind opens a non-blocking listening socket; listen_close ends it. */
static void
test_listen_bind_and_close_on_free_port(void **state)
{
	struct listen_addr la;
	struct sockaddr_in sin;
	char text[64], reason[256];
	int fd, c, on;
	socklen_t len;

	(void)state;
	snprintf(text, sizeof(text), "127.0.0.1:%d", find_free_port());
	assert_int_equal(listen_parse(text, &la, reason, sizeof(reason)), 0);
	if (listen_bind(&la, 0, 0) == -1)
		fail_msg("listen_bind %s: %s", text, strerror(errno));
	fd = la.la_fd;
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	len = sizeof(on);
	assert_int_equal(
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len), 0);
	assert_int_equal(on, 1);
	len = sizeof(on);
	assert_int_equal(
	    getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, &len), 0);
	assert_int_equal(on, 1);

	/* A client can connect to it. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c >= 0);
	memcpy(&sin, &la.la_ss, sizeof(sin));
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	close(c);

	listen_close(&la);
	assert_int_equal(la.la_fd, -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	listen_close(&la); /* closing twice is harmless */
	assert_int_equal(la.la_fd, -1);
}

/* listen_bind on a busy port fails with EADDRINUSE and no open socket. */
static void
test_listen_bind_reports_errno_when_port_busy(void **state)
{
	struct listen_addr a, b;
	char text[64], reason[256];
	int fd, next_fd;

	(void)state;
	snprintf(text, sizeof(text), "127.0.0.1:%d", find_free_port());
	assert_int_equal(listen_parse(text, &a, reason, sizeof(reason)), 0);
	assert_int_equal(listen_parse(text, &b, reason, sizeof(reason)), 0);
	assert_int_equal(listen_bind(&a, 0, 0), 0);
	next_fd = dup(0);
	close(next_fd);
	errno = 0;
	assert_int_equal(listen_bind(&b, 0, 0), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_int_equal(b.la_fd, -1);
	/* The failed socket was closed: the lowest free fd is unchanged. */
	fd = dup(0);
	close(fd);
	assert_int_equal(fd, next_fd);
	listen_close(&a);
}

/*
 * With reuseport the master only claims the address (bound, not listening:
 * a connection is refused until a worker listens), each worker opens its
 * own listening socket there, and nothing else can bind the address.
 */
static void
test_listen_reuseport_claims_and_shares_the_address(void **state)
{
	struct listen_addr master, other;
	struct sockaddr_in sin;
	char text[64], reason[256];
	int port, w1, w2, client, accepted;

	(void)state;
	port = find_free_port();
	snprintf(text, sizeof(text), "127.0.0.1:%d", port);
	assert_int_equal(
	    listen_parse(text, &master, reason, sizeof(reason)), 0);
	assert_int_equal(listen_parse(text, &other, reason, sizeof(reason)), 0);
	assert_int_equal(listen_bind(&master, 1, 0), 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(
	    connect(client, (struct sockaddr *)&sin, sizeof(sin)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(client);

	w1 = listen_reuseport(&master, 0);
	w2 = listen_reuseport(&master, 0);
	assert_true(w1 >= 0 && w2 >= 0);
	assert_int_equal(listen_bind(&other, 0, 0), -1);
	assert_int_equal(errno, EADDRINUSE);

	/* A connection reaches one of the workers' sockets. */
	client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(
	    connect(client, (struct sockaddr *)&sin, sizeof(sin)), 0);
	accepted = accept4(w1, NULL, NULL, 0);
	if (accepted == -1)
		accepted = accept4(w2, NULL, NULL, 0);
	assert_true(accepted >= 0);
	close(accepted);
	close(client);
	close(w1);
	close(w2);
	listen_close(&master);
}

/* An IPv6 wildcard socket is IPv6-only: *:port can still be bound. */
static void
test_listen_bind_ipv6_is_v6only(void **state)
{
	struct listen_addr v6, v4;
	char text[64], reason[256];
	socklen_t len;
	int fd, on, port;

	(void)state;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd == -1)
		skip();
	close(fd);
	port = find_free_port();
	snprintf(text, sizeof(text), "[::]:%d", port);
	assert_int_equal(listen_parse(text, &v6, reason, sizeof(reason)), 0);
	if (listen_bind(&v6, 0, 0) == -1) {
		if (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)
			skip();
		fail_msg("listen_bind %s: %s", text, strerror(errno));
	}
	on = 0;
	len = sizeof(on);
	assert_int_equal(
	    getsockopt(v6.la_fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, &len), 0);
	assert_int_equal(on, 1);

	snprintf(text, sizeof(text), "*:%d", port);
	assert_int_equal(listen_parse(text, &v4, reason, sizeof(reason)), 0);
	if (listen_bind(&v4, 0, 0) == -1)
		fail_msg("listen_bind %s: %s", text, strerror(errno));
	listen_close(&v4);
	listen_close(&v6);
}

/* A UTF-8 byte order mark before the first line is ignored. */
static void
test_utf8_bom_is_skipped(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("\xef\xbb\xbf[server]\nworkers = 2\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_workers, 2);
	config_free(cf);
	/* The section check still sees the header behind the mark. */
	expect_error("\xef\xbb\xbf[nosuch]\n", 1, "unknown section [nosuch]");
}

/* A reload keeps the running value of every key it cannot change. */
static void
test_restart_keys_keep_running_values_and_name_them(void **state)
{
	struct config *running, *next;
	char keys[CONFIG_ERR_LEN];

	(void)state;
	running = load("[server]\nuser = root\ndaemon = no\n"
		       "[log]\nring_size = 64k\nerror_log = a.log\n");
	if (running == NULL)
		fail_msg("%s", err);
	next = load("[server]\nuser = nobody\ndaemon = yes\n"
		    "[log]\nring_size = 128k\nerror_log = b.log\n"
		    "[http]\nkeepalive_timeout = 3s\n");
	if (next == NULL)
		fail_msg("%s", err);
	assert_int_equal(
	    config_restart_keys(next, running, keys, sizeof(keys)), 4);
	assert_string_equal(keys,
	    "[server] user, [server] daemon, "
	    "[log] error_log, [log] ring_size");
	assert_string_equal(next->cf_user, "root");
	assert_int_equal(next->cf_daemon, 0);
	assert_int_equal(next->cf_ring_size, 64 * 1024);
	assert_string_equal(next->cf_error_log, running->cf_error_log);
	/* A key a reload may change keeps its new value. */
	assert_int_equal(next->cf_keepalive_timeout, 3000);
	config_free(running);
	config_free(next);
}

/* Unset and set (NULL and a string) differ; the same file differs in none. */
static void
test_restart_keys_compare_unset_strings(void **state)
{
	struct config *running, *next, *same;
	char keys[CONFIG_ERR_LEN];

	(void)state;
	running = load("[server]\npid_file =\n");
	next = load("[server]\npid_file = x.pid\n");
	if (running == NULL || next == NULL)
		fail_msg("%s", err);
	assert_null(running->cf_pid_file);
	assert_int_equal(
	    config_restart_keys(next, running, keys, sizeof(keys)), 1);
	assert_string_equal(keys, "[server] pid_file");
	assert_null(next->cf_pid_file);
	same = load("[server]\npid_file =\n");
	if (same == NULL)
		fail_msg("%s", err);
	assert_int_equal(
	    config_restart_keys(same, running, keys, sizeof(keys)), 0);
	assert_string_equal(keys, "");
	config_free(running);
	config_free(next);
	config_free(same);
}

/* The list of keys is cut to the buffer, never overflowing it. */
static void
test_restart_keys_list_fits_a_small_buffer(void **state)
{
	struct config *running, *next;
	char keys[20];

	(void)state;
	running = load("[server]\nuser = root\ndaemon = no\n");
	next = load("[server]\nuser = nobody\ndaemon = yes\n");
	if (running == NULL || next == NULL)
		fail_msg("%s", err);
	memset(keys, 'x', sizeof(keys));
	assert_int_equal(
	    config_restart_keys(next, running, keys, sizeof(keys)), 2);
	assert_true(strlen(keys) < sizeof(keys));
	assert_string_equal(keys, "[server] user");
	config_free(running);
	config_free(next);
}

/* A derived shm_path that changes with the port says where it came from. */
static void
test_restart_keys_name_a_derived_shm_path(void **state)
{
	struct config *running, *next;
	char keys[CONFIG_ERR_LEN];

	(void)state;
	running = load("[server]\nlisten = 127.0.0.1:8081\n");
	next = load("[server]\nlisten = 127.0.0.1:8082\n");
	if (running == NULL || next == NULL)
		fail_msg("%s", err);
	assert_int_equal(
	    config_restart_keys(next, running, keys, sizeof(keys)), 1);
	assert_string_equal(keys,
	    "[stats] shm_path (derived from the first [server] listen port)");
	assert_string_equal(next->cf_shm_path, running->cf_shm_path);
	config_free(running);
	config_free(next);
}

/* Load "[chat]\nKEY = VALUE\n", which must succeed. */
static struct config *
load_chat(const char *key, const char *value)
{
	struct config *cf;
	char text[256];

	snprintf(text, sizeof(text), "[chat]\n%s = %s\n", key, value);
	if ((cf = load(text)) == NULL)
		fail_msg("%s = %s: %s", key, value, err);
	return cf;
}

/* Check that "[chat]\nKEY = VALUE\n" is out of range (range) at line 2. */
static void
expect_chat_range_error(const char *key, const char *value, const char *range)
{
	char text[256], message[256];

	snprintf(text, sizeof(text), "[chat]\n%s = %s\n", key, value);
	snprintf(message, sizeof(message), "[chat] %s: %s is out of range (%s)",
	    key, value, range);
	expect_error(text, 2, message);
}

/* The [chat] keys have their documented defaults. */
static void
test_chat_defaults(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("");
	assert_non_null(cf);
	assert_string_equal(cf->cf_chat_path, "/chat");
	assert_string_equal(cf->cf_chat_default_room, "lobby");
	assert_int_equal(cf->cf_chat_history, 100);
	assert_int_equal(cf->cf_chat_max_rooms, 256);
	assert_int_equal(cf->cf_chat_max_members, 65536);
	assert_int_equal(cf->cf_chat_max_message, 4096);
	assert_int_equal(cf->cf_chat_rate, 5);
	assert_int_equal(cf->cf_chat_burst, 10);
	assert_int_equal(cf->cf_chat_idle_timeout, 5 * 60 * 1000);
	assert_int_equal(cf->cf_chat_max_queue, 256 * 1024);
	assert_null(cf->cf_chat_transcript);
	assert_int_equal(cf->cf_chat_ring_size, 1024 * 1024);
	assert_int_equal(cf->cf_chat_bcast_size, 4 * 1024 * 1024);
	/* No telnet listener: only the default [server] listen. */
	assert_int_equal(cf->cf_nlisten, 1);
	assert_int_equal(cf->cf_listen[0].la_chat, 0);
	config_free(cf);
}

/* history is 1..10000. */
static void
test_chat_history_is_1_to_10000(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("history", "1");
	assert_int_equal(cf->cf_chat_history, 1);
	config_free(cf);
	cf = load_chat("history", "10000");
	assert_int_equal(cf->cf_chat_history, 10000);
	config_free(cf);
	expect_chat_range_error("history", "0", "1..10000");
	expect_chat_range_error("history", "10001", "1..10000");
}

/* max_rooms is 1..65536. */
static void
test_chat_max_rooms_is_1_to_65536(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("max_rooms", "1");
	assert_int_equal(cf->cf_chat_max_rooms, 1);
	config_free(cf);
	cf = load_chat("max_rooms", "65536");
	assert_int_equal(cf->cf_chat_max_rooms, 65536);
	config_free(cf);
	expect_chat_range_error("max_rooms", "0", "1..65536");
	expect_chat_range_error("max_rooms", "65537", "1..65536");
}

/* max_members is 16..1048576. */
static void
test_chat_max_members_is_16_to_1048576(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("max_members", "16");
	assert_int_equal(cf->cf_chat_max_members, 16);
	config_free(cf);
	cf = load_chat("max_members", "1048576");
	assert_int_equal(cf->cf_chat_max_members, 1048576);
	config_free(cf);
	expect_chat_range_error("max_members", "15", "16..1048576");
	expect_chat_range_error("max_members", "1048577", "16..1048576");
}

/* max_message_size is 1 byte to 16k, the longest text a chat event holds. */
static void
test_chat_max_message_size_is_1_to_16k(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("max_message_size", "1");
	assert_int_equal(cf->cf_chat_max_message, 1);
	config_free(cf);
	cf = load_chat("max_message_size", "16k");
	assert_int_equal(cf->cf_chat_max_message, CHAT_TEXT_MAX);
	config_free(cf);
	expect_chat_range_error("max_message_size", "0", "1..16k");
	expect_chat_range_error("max_message_size", "16385", "1..16k");
}

/* burst is 0..10000. */
static void
test_chat_burst_is_0_to_10000(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("burst", "10000");
	assert_int_equal(cf->cf_chat_burst, 10000);
	config_free(cf);
	expect_chat_range_error("burst", "10001", "0..10000");
}

/* idle_timeout is 0 (none) to 24 hours. */
static void
test_chat_idle_timeout_is_0_to_24_hours(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("idle_timeout", "0");
	assert_int_equal(cf->cf_chat_idle_timeout, 0);
	config_free(cf);
	cf = load_chat("idle_timeout", "1440m");
	assert_int_equal(cf->cf_chat_idle_timeout, 24LL * 3600 * 1000);
	config_free(cf);
	expect_chat_range_error("idle_timeout", "1441m", "0..1440m");
}

/* max_queue is 64k..64m. */
static void
test_chat_max_queue_is_64k_to_64m(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("max_queue", "64k");
	assert_int_equal(cf->cf_chat_max_queue, 64 * 1024);
	config_free(cf);
	cf = load_chat("max_queue", "64m");
	assert_int_equal(cf->cf_chat_max_queue, 64 * 1024 * 1024);
	config_free(cf);
	expect_chat_range_error("max_queue", "63k", "64k..64m");
	expect_chat_range_error("max_queue", "65m", "64k..64m");
}

/* ring_size is 64k..64m, rounded up to a power of two. */
static void
test_chat_ring_size_is_bounded_and_rounded_to_a_power_of_two(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("ring_size", "100k");
	assert_int_equal(cf->cf_chat_ring_size, 128 * 1024);
	config_free(cf);
	cf = load_chat("ring_size", "64m");
	assert_int_equal(cf->cf_chat_ring_size, 64 * 1024 * 1024);
	config_free(cf);
	expect_chat_range_error("ring_size", "63k", "64k..64m");
	expect_chat_range_error("ring_size", "65m", "64k..64m");
}

/* broadcast_size is 1m..1024m, rounded up to a power of two. */
static void
test_chat_broadcast_size_is_bounded_and_rounded_to_a_power_of_two(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("broadcast_size", "1025k");
	assert_int_equal(cf->cf_chat_bcast_size, 2 * 1024 * 1024);
	config_free(cf);
	cf = load_chat("broadcast_size", "1024m");
	assert_int_equal(cf->cf_chat_bcast_size, 1024LL * 1024 * 1024);
	config_free(cf);
	expect_chat_range_error("broadcast_size", "1023k", "1m..1024m");
	expect_chat_range_error("broadcast_size", "1025m", "1m..1024m");
}

/* rate takes "N/s" or a bare N, meaning N/s, from 1 to 1000. */
static void
test_chat_rate_takes_n_per_second_or_a_bare_n(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("rate", "20/s");
	assert_int_equal(cf->cf_chat_rate, 20);
	config_free(cf);
	cf = load_chat("rate", "7");
	assert_int_equal(cf->cf_chat_rate, 7);
	config_free(cf);
	cf = load_chat("rate", "1/s");
	assert_int_equal(cf->cf_chat_rate, 1);
	config_free(cf);
	cf = load_chat("rate", "1000/s");
	assert_int_equal(cf->cf_chat_rate, 1000);
	config_free(cf);
}

/* A rate of 0 or above 1000 a second is out of range. */
static void
test_chat_rate_of_zero_or_above_1000_is_rejected(void **state)
{
	(void)state;
	expect_chat_range_error("rate", "0", "1/s..1000/s");
	expect_chat_range_error("rate", "0/s", "1/s..1000/s");
	expect_chat_range_error("rate", "1001/s", "1/s..1000/s");
}

/* A rate in another syntax than N/s or N is rejected with the expected form. */
static void
test_chat_rate_with_bad_syntax_is_rejected(void **state)
{
	static const char *const bad[] = {"off", "5/m", "5 /s", "5/", "/s",
	    "5/s/s", "-5/s", "5/sec", "5s", "five"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[chat]\nrate = %s\n", bad[i]);
		expect_error(text, 2,
		    "[chat] rate: expected a rate from 1/s to 1000/s "
		    "(messages a second: N/s or N), got");
		assert_non_null(strstr(err, bad[i]));
	}
	expect_error("[chat]\nrate =\n", 2, "[chat] rate: missing value");
}

/* A burst of 0, the default, is twice the rate. */
static void
test_chat_burst_of_zero_is_twice_the_rate(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[chat]\nrate = 30/s\nburst = 0\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_chat_burst, 60);
	config_free(cf);
	cf = load_chat("rate", "1000/s");
	assert_int_equal(cf->cf_chat_burst, 2000);
	config_free(cf);
}

/* A burst that is set is kept as it is, even below the rate. */
static void
test_chat_burst_that_is_set_is_kept(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[chat]\nrate = 30/s\nburst = 3\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_chat_burst, 3);
	config_free(cf);
}

/* The per-address limits are off by default, the table 8192 entries. */
static void
test_ip_limits_are_off_by_default(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_max_conns_per_ip, 0);
	assert_int_equal(cf->cf_limit_rate, 0);
	assert_int_equal(cf->cf_limit_burst, 0);
	assert_null(cf->cf_limit_exempt);
	assert_int_equal(cf->cf_nexempt, 0);
	assert_int_equal(cf->cf_ip_table_size, 8192);
	config_free(cf);
}

/* The address burst defaults to twice the rate; exempt ranges parse. */
static void
test_ip_limit_keys_are_read(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nmax_connections_per_ip = 16\n"
		  "limit_rate_per_ip = 20/s\n"
		  "limit_exempt = 10.0.0.0/8 2001:db8::/32\n"
		  "ip_table_size = 100\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_max_conns_per_ip, 16);
	assert_int_equal(cf->cf_limit_rate, 20);
	assert_int_equal(cf->cf_limit_burst, 40);
	assert_int_equal(cf->cf_nexempt, 2);
	assert_int_equal(cf->cf_exempt[0].ic_bits, 104);
	/* 100 entries: 12 groups of 8, rounded up to 16 groups. */
	assert_int_equal(cf->cf_ip_table_size, 128);
	config_free(cf);
	cf = load("[server]\nlimit_rate_per_ip = 5\nlimit_burst_per_ip = 1\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_limit_burst, 1);
	config_free(cf);
}

/* Bad limit values are FILE:LINE errors. */
static void
test_bad_ip_limit_values_name_their_line(void **state)
{
	(void)state;
	expect_error("[server]\nmax_connections_per_ip = -1\n", 2,
	    "[server] max_connections_per_ip:");
	expect_error("[server]\n\nlimit_rate_per_ip = 5/m\n", 3,
	    "[server] limit_rate_per_ip:");
	expect_error("[server]\nlimit_burst_per_ip = x\n", 2,
	    "[server] limit_burst_per_ip:");
	expect_error("[server]\nlimit_exempt = 10.0.0.1/8\n", 2,
	    "[server] limit_exempt: '10.0.0.1/8' is not an address or a "
	    "range");
	expect_error("[server]\nlimit_exempt = ::1 nowhere\n", 2,
	    "[server] limit_exempt: 'nowhere'");
	expect_error(
	    "[server]\nip_table_size = 4\n", 2, "[server] ip_table_size:");
}

/* default_room takes a chat name: 1 to 32 of A-Za-z0-9_-. */
static void
test_chat_default_room_takes_a_chat_name(void **state)
{
	struct config *cf;

	(void)state;
	cf = load_chat("default_room", "Main_hall-2");
	assert_string_equal(cf->cf_chat_default_room, "Main_hall-2");
	config_free(cf);
	cf = load_chat("default_room", "abcdefghijklmnopqrstuvwxyz012345");
	assert_string_equal(
	    cf->cf_chat_default_room, "abcdefghijklmnopqrstuvwxyz012345");
	config_free(cf);
}

/* A default_room that is no chat name is a FILE:LINE: error. */
static void
test_chat_bad_default_room_is_rejected(void **state)
{
	static const char *const bad[] = {"two words", "a.b", "caf\xc3\xa9",
	    "abcdefghijklmnopqrstuvwxyz0123456", "#lobby", "a/b"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[chat]\n\ndefault_room = %s\n",
		    bad[i]);
		expect_error(text, 3,
		    "[chat] default_room: expected a name of 1 to 32 "
		    "letters, digits, '_' or '-', got");
		assert_non_null(strstr(err, bad[i]));
	}
	expect_error("[chat]\ndefault_room =\n", 2,
	    "[chat] default_room: missing value");
}

/* An empty path turns the WebSocket chat off. */
static void
test_chat_empty_path_turns_the_chat_off(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[chat]\npath =\n");
	assert_non_null(cf);
	assert_null(cf->cf_chat_path);
	config_free(cf);
	cf = load_chat("path", "/talk/room");
	assert_string_equal(cf->cf_chat_path, "/talk/room");
	config_free(cf);
}

/* A path that is no normalised URL path is rejected, as echo_path is. */
static void
test_chat_bad_path_is_rejected(void **state)
{
	(void)state;
	expect_error("[chat]\npath = chat\n", 2,
	    "[chat] path: expected a normalised URL path");
	expect_error("[chat]\npath = /a/../chat\n", 2,
	    "[chat] path: expected a normalised URL path");
}

/* The chat and the echo cannot share a path; the error names a line. */
static void
test_chat_path_equal_to_echo_path_is_rejected(void **state)
{
	(void)state;
	expect_error("[websocket]\necho_path = /talk\n[chat]\npath = /talk\n",
	    4, "[chat] path: '/talk' is also [websocket] echo_path at line 2");
	expect_error("[chat]\n\npath = /echo\n", 3,
	    "[chat] path: '/echo' is also the default [websocket] echo_path");
	expect_error("[websocket]\necho_path = /chat\n", 2,
	    "[websocket] echo_path: '/chat' is also the default [chat] path");
}

/* Both endpoints may be off at once: two NULL paths do not clash. */
static void
test_chat_and_echo_may_both_be_off(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[websocket]\necho_path =\n[chat]\npath =\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_null(cf->cf_chat_path);
	assert_null(cf->cf_ws_echo_path);
	config_free(cf);
}

/* transcript is a path relative to the config file; empty means none. */
static void
test_chat_transcript_resolves_against_config_dir(void **state)
{
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	cf = load_chat("transcript", "../var/log/chat.log");
	snprintf(path, sizeof(path), "%s/../var/log/chat.log", conf_dir);
	assert_string_equal(cf->cf_chat_transcript, path);
	config_free(cf);
	cf = load_chat("transcript", "");
	assert_null(cf->cf_chat_transcript);
	config_free(cf);
}

/* A [chat] listen sets la_chat and keeps the [server] default listener. */
static void
test_chat_listen_sets_la_chat_and_keeps_the_server_default(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[chat]\nlisten = 127.0.0.1:7000\nlisten = 7001\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_nlisten, 3);
	assert_string_equal(cf->cf_listen[0].la_name, "127.0.0.1:7000");
	assert_int_equal(cf->cf_listen[0].la_chat, 1);
	assert_int_equal(cf->cf_listen[0].la_line, 2);
	assert_string_equal(cf->cf_listen[1].la_name, "7001");
	assert_int_equal(cf->cf_listen[1].la_chat, 1);
	assert_string_equal(cf->cf_listen[2].la_name, "127.0.0.1:8080");
	assert_int_equal(cf->cf_listen[2].la_chat, 0);
	assert_int_equal(cf->cf_listen[2].la_line, 0);
	config_free(cf);
}

/* An empty [chat] listen adds no listener ([server]'s is an error). */
static void
test_empty_chat_listen_adds_no_listener(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[chat]\nlisten =\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_nlisten, 1);
	assert_int_equal(cf->cf_listen[0].la_chat, 0);
	config_free(cf);
}

/* [server] and [chat] listen lines mix, each marked with its kind. */
static void
test_server_and_chat_listen_are_told_apart(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[server]\nlisten = 127.0.0.1:8001\n"
		  "[chat]\nlisten = 127.0.0.1:7000\n"
		  "[server]\nlisten = 127.0.0.1:8002\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_nlisten, 3);
	assert_int_equal(cf->cf_listen[0].la_chat, 0);
	assert_int_equal(cf->cf_listen[1].la_chat, 1);
	assert_int_equal(cf->cf_listen[2].la_chat, 0);
	assert_string_equal(cf->cf_listen[2].la_name, "127.0.0.1:8002");
	config_free(cf);
}

/* One address cannot be both a [server] and a [chat] listener. */
static void
test_chat_listen_on_a_server_address_is_rejected(void **state)
{
	(void)state;
	expect_error("[server]\nlisten = 8080\n[chat]\nlisten = *:8080\n", 4,
	    "[chat] listen: '*:8080' is the same address as '8080' at line 2");
	/* The [server] default comes last: the [chat] line is blamed. */
	expect_error("[chat]\nlisten = 127.0.0.1:8080\n", 2,
	    "[chat] listen: '127.0.0.1:8080' is the same address as the "
	    "default [server] listen '127.0.0.1:8080'");
}

/* The derived shm_path names the first [server] port, whatever comes first. */
static void
test_shm_path_is_derived_from_the_http_listener_when_chat_comes_first(
    void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[chat]\nlisten = 127.0.0.1:7000\n"
		  "[server]\nlisten = 127.0.0.1:8181\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_string_equal(cf->cf_shm_path, "/dev/shm/pfhttpd-8181");
	config_free(cf);
	cf = load("[chat]\nlisten = 127.0.0.1:7000\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_string_equal(cf->cf_shm_path, "/dev/shm/pfhttpd-8080");
	config_free(cf);
}

/* A reload keeps the chat's shared-memory geometry, not its other keys. */
static void
test_restart_keys_keep_the_chat_geometry(void **state)
{
	struct config *running, *next;
	char keys[CONFIG_ERR_LEN];

	(void)state;
	running = load("[chat]\n");
	next = load("[chat]\nhistory = 50\nmax_rooms = 16\nmax_members = 64\n"
		    "ring_size = 2m\nbroadcast_size = 16m\nrate = 9/s\n"
		    "max_message_size = 1k\nlisten = 127.0.0.1:7000\n");
	if (running == NULL || next == NULL)
		fail_msg("%s", err);
	assert_int_equal(
	    config_restart_keys(next, running, keys, sizeof(keys)), 6);
	assert_string_equal(keys,
	    "[chat] history, [chat] max_rooms, [chat] max_members, "
	    "[chat] max_message_size, [chat] ring_size, "
	    "[chat] broadcast_size");
	assert_int_equal(next->cf_chat_history, 100);
	assert_int_equal(next->cf_chat_max_rooms, 256);
	assert_int_equal(next->cf_chat_max_members, 65536);
	assert_int_equal(next->cf_chat_max_message, 4096);
	assert_int_equal(next->cf_chat_ring_size, 1024 * 1024);
	assert_int_equal(next->cf_chat_bcast_size, 4 * 1024 * 1024);
	/* The keys a reload may change keep their new values. */
	assert_int_equal(next->cf_chat_rate, 9);
	assert_int_equal(next->cf_nlisten, 2);
	config_free(running);
	config_free(next);
}

/* The certificate and key of the [tls] tests, as [tls] lines. */
#define TLS_PAIR "certificate = ../tls/server.pem\nkey = ../tls/server.key\n"

/* protocols takes TLSv1.2, TLSv1.3 or both, in any case; both by default. */
static void
test_tls_protocols_take_tlsv12_tlsv13_or_both(void **state)
{
	static const struct {
		const char *value;
		int bits;
	} good[] = {
	    {"TLSv1.2", TLS_PROTO_TLSV1_2},
	    {"TLSv1.3", TLS_PROTO_TLSV1_3},
	    {"TLSv1.2 TLSv1.3", TLS_PROTO_TLSV1_2 | TLS_PROTO_TLSV1_3},
	    {"tlsv1.3 \t TLSV1.2", TLS_PROTO_TLSV1_2 | TLS_PROTO_TLSV1_3},
	    {"TLSv1.3 TLSv1.3", TLS_PROTO_TLSV1_3},
	};
	struct config *cf;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[tls]\nprotocols = %s\n",
		    good[i].value);
		if ((cf = load(text)) == NULL)
			fail_msg("%s: %s", good[i].value, err);
		assert_int_equal(cf->cf_tls_protocols, good[i].bits);
		config_free(cf);
	}
	cf = load("");
	assert_non_null(cf);
	assert_int_equal(
	    cf->cf_tls_protocols, TLS_PROTO_TLSV1_2 | TLS_PROTO_TLSV1_3);
	config_free(cf);
}

/* Any other protocol word is an error that lists what is accepted. */
static void
test_tls_unknown_protocol_lists_what_is_accepted(void **state)
{
	static const char *const bad[] = {"TLSv1.1", "SSLv3", "TLSv1",
	    "TLSv1.2,TLSv1.3", "TLSv1.2 junk", "TLSv1.3x", "1.3"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(
		    text, sizeof(text), "[tls]\n\nprotocols = %s\n", bad[i]);
		expect_error(text, 3,
		    "[tls] protocols: expected TLSv1.2, TLSv1.3 or both, "
		    "got '");
		assert_non_null(strstr(err, bad[i]));
	}
	expect_error("[tls]\nprotocols =\n", 2,
	    "[tls] protocols: missing value, expected TLSv1.2, TLSv1.3 or "
	    "both");
}

/* verify_client takes no, optional or require; no by default. */
static void
test_tls_verify_client_takes_no_optional_or_require(void **state)
{
	static const char *const words[] = {"no", "optional", "require"};
	static const int modes[] = {
	    TLS_VERIFY_NO, TLS_VERIFY_OPTIONAL, TLS_VERIFY_REQUIRE};
	struct config *cf;
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		snprintf(text, sizeof(text),
		    "[tls]\nclient_ca = ca.pem\nverify_client = %s\n",
		    words[i]);
		if ((cf = load(text)) == NULL)
			fail_msg("%s: %s", words[i], err);
		assert_int_equal(cf->cf_tls_verify_client, modes[i]);
		config_free(cf);
	}
	cf = load("");
	assert_non_null(cf);
	assert_int_equal(cf->cf_tls_verify_client, TLS_VERIFY_NO);
	config_free(cf);
}

/* Any other verify_client word is an error that lists the three. */
static void
test_tls_bad_verify_client_is_rejected(void **state)
{
	static const char *const bad[] = {
	    "yes", "required", "Require", "optional require", "1"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "[tls]\nclient_ca = ca.pem\nverify_client = %s\n", bad[i]);
		expect_error(text, 3,
		    "[tls] verify_client: expected no, optional or require, "
		    "got '");
		assert_non_null(strstr(err, bad[i]));
	}
}

/* hsts is kept as written; empty (the default) means none. */
static void
test_tls_hsts_takes_printable_text(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[tls]\nhsts = max-age=63072000; includeSubDomains\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_string_equal(
	    cf->cf_tls_hsts, "max-age=63072000; includeSubDomains");
	config_free(cf);
	cf = load("[tls]\nhsts =\n");
	assert_non_null(cf);
	assert_null(cf->cf_tls_hsts);
	config_free(cf);
	cf = load("");
	assert_non_null(cf);
	assert_null(cf->cf_tls_hsts);
	config_free(cf);
}

/* An hsts value with a control or non-ASCII byte is refused. */
static void
test_tls_hsts_with_control_characters_is_rejected(void **state)
{
	static const char *const bad[] = {"max-age=60\x01",
	    "max-age=60;\tpreload", "max-age=60\x1b[2J", "max-age=60\x7f",
	    "max-age=60 caf\xc3\xa9"};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[tls]\nhsts = %s\n", bad[i]);
		expect_error(
		    text, 2, "[tls] hsts: expected printable ASCII text, got");
	}
}

/* session_timeout is a duration from 1s to 24 hours, 5m by default. */
static void
test_tls_session_timeout_is_1s_to_24_hours(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("");
	assert_non_null(cf);
	assert_int_equal(cf->cf_tls_session_timeout, 5 * 60 * 1000);
	config_free(cf);
	cf = load("[tls]\nsession_timeout = 1s\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_tls_session_timeout, 1000);
	config_free(cf);
	cf = load("[tls]\nsession_timeout = 1440m\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_tls_session_timeout, 24 * 3600 * 1000);
	config_free(cf);
	expect_error("[tls]\nsession_timeout = 0\n", 2,
	    "[tls] session_timeout: 0 is out of range (1s..1440m)");
	expect_error("[tls]\nsession_timeout = 999ms\n", 2,
	    "[tls] session_timeout: 999ms is out of range (1s..1440m)");
	expect_error("[tls]\nsession_timeout = 1441m\n", 2,
	    "[tls] session_timeout: 1441m is out of range (1s..1440m)");
	expect_error("[tls]\nsession_timeout = 1h\n", 2,
	    "[tls] session_timeout: expected a duration from 1s to 1440m");
}

/* "ADDRESS tls" marks a TLS listener of [server] or [chat]. */
static void
test_listen_tls_marks_a_tls_listener(void **state)
{
	struct config *cf;

	(void)state;
	need_tls_files();
	cf = load("[server]\nlisten = 127.0.0.1:8443 tls\n"
		  "listen = 127.0.0.1:8080\n"
		  "[chat]\nlisten = 127.0.0.1:7000\ttls\n"
		  "[tls]\n" TLS_PAIR);
	if (cf == NULL)
		fail_msg("%s", err);
	assert_int_equal(cf->cf_nlisten, 3);
	assert_string_equal(cf->cf_listen[0].la_name, "127.0.0.1:8443");
	assert_int_equal(cf->cf_listen[0].la_tls, 1);
	assert_int_equal(cf->cf_listen[1].la_tls, 0);
	assert_string_equal(cf->cf_listen[2].la_name, "127.0.0.1:7000");
	assert_int_equal(cf->cf_listen[2].la_tls, 1);
	assert_int_equal(cf->cf_listen[2].la_chat, 1);
	config_free(cf);
}

/* A word after the address other than tls is an error at its line. */
static void
test_unknown_listen_option_is_rejected(void **state)
{
	(void)state;
	expect_error("[server]\nlisten = 127.0.0.1:8080\nlisten = 8443 junk\n",
	    3,
	    "[server] listen: unknown listen option 'junk' (expected tls or "
	    "nothing)");
	expect_error("[server]\nlisten = 8443 TLS\n", 2,
	    "[server] listen: unknown listen option 'TLS'");
	expect_error("[server]\nlisten = 8443 tls tls\n", 2,
	    "[server] listen: unknown listen option 'tls tls'");
	expect_error("[chat]\nlisten = 7000 ssl\n", 2,
	    "[chat] listen: unknown listen option 'ssl'");
}

/* A TLS listener without [tls] certificate is an error at its line. */
static void
test_tls_listener_without_certificate_is_an_error_at_its_line(void **state)
{
	(void)state;
	expect_error("[server]\nlisten = 8080\n\nlisten = 8443 tls\n", 4,
	    "a tls listener needs [tls] certificate and key");
	expect_error("[server]\nlisten = 8080\n[chat]\nlisten = 7000 tls\n"
		     "[tls]\nkey = server.key\n",
	    4, "a tls listener needs [tls] certificate and key");
}

/* A certificate needs a key and a key a certificate, at its own line. */
static void
test_tls_certificate_and_key_need_each_other(void **state)
{
	(void)state;
	expect_tls_error("protocols = TLSv1.3\ncertificate = server.pem\n", 5,
	    "[tls] certificate: needs [tls] key too");
	expect_error("[tls]\nhsts = max-age=60\nkey = server.key\n", 3,
	    "[tls] key: needs [tls] certificate too");
}

/* verify_client optional or require needs client_ca, at its line. */
static void
test_tls_verify_client_without_client_ca_is_rejected(void **state)
{
	(void)state;
	expect_error("[tls]\n\nverify_client = require\n", 3,
	    "[tls] verify_client: needs [tls] client_ca");
	expect_error("[tls]\nverify_client = optional\n", 2,
	    "[tls] verify_client: needs [tls] client_ca");
}

/* No certificate, no context: a server without TLS builds none. */
static void
test_no_tls_certificate_builds_no_context(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[tls]\nprotocols = TLSv1.3\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_null(cf->cf_tls_ctx);
	assert_null(cf->cf_tls_certificate);
	config_free(cf);
}

/* A good [tls] section loads its files into a context at config load. */
static void
test_tls_good_section_builds_the_context(void **state)
{
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	need_tls_files();
	cf = load_tls(TLS_PAIR "protocols = TLSv1.2 TLSv1.3\n"
			       "ciphers = ECDHE+AESGCM\n"
			       "session_tickets = no\nsession_timeout = 10m\n"
			       "client_ca = ../tls/server.pem\n"
			       "verify_client = require\nhsts = max-age=60\n");
	assert_non_null(cf->cf_tls_ctx);
	snprintf(path, sizeof(path), "%s/tls/server.pem", test_dir);
	assert_same_path(cf->cf_tls_certificate, path);
	assert_same_path(cf->cf_tls_client_ca, path);
	snprintf(path, sizeof(path), "%s/tls/server.key", test_dir);
	assert_same_path(cf->cf_tls_key, path);
	assert_string_equal(cf->cf_tls_ciphers, "ECDHE+AESGCM");
	assert_int_equal(cf->cf_tls_tickets, 0);
	assert_int_equal(cf->cf_tls_session_timeout, 10 * 60 * 1000);
	config_free(cf);
}

/* Missing certificate, key or client_ca files: FILE:LINE at that key. */
static void
test_tls_missing_file_is_an_error_at_its_key(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error("hsts = max-age=60\ncertificate = ../tls/none.pem\n"
			 "key = ../tls/server.key\n",
	    5, "[tls] certificate: ");
	assert_non_null(strstr(err, "none.pem: No such file or directory"));
	expect_tls_error("certificate = ../tls/server.pem\n\n"
			 "key = ../tls/none.key\n",
	    6, "[tls] key: ");
	assert_non_null(strstr(err, "none.key: No such file or directory"));
	expect_tls_error(
	    TLS_PAIR "client_ca = ../tls/none.pem\n", 6, "[tls] client_ca: ");
	assert_non_null(strstr(err, "none.pem: No such file or directory"));
}

/* A file that is no PEM is an error at the key that names it. */
static void
test_tls_file_that_is_not_pem_is_an_error_at_its_key(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error("certificate = ../tls/garbage.pem\n"
			 "key = ../tls/server.key\n",
	    4, "[tls] certificate: not a PEM certificate chain");
	expect_tls_error("certificate = ../tls/server.pem\n"
			 "key = ../tls/garbage.pem\n",
	    5, "[tls] key: not a PEM private key");
	/* A certificate where the key belongs is no key either. */
	expect_tls_error("certificate = ../tls/server.pem\n"
			 "key = ../tls/server.pem\n",
	    5, "[tls] key: not a PEM private key");
	expect_tls_error(TLS_PAIR "\nclient_ca = ../tls/garbage.pem\n", 7,
	    "[tls] client_ca: no PEM certificate in it");
}

/*
 * A key of another certificate is an error at the key line, whether it is
 * of the certificate's type or not.
 */
static void
test_tls_key_that_does_not_match_is_an_error_at_the_key_line(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error("key = ../tls/ed25519.key\nsession_tickets = yes\n"
			 "certificate = ../tls/server.pem\n",
	    4, "[tls] key: does not match [tls] certificate");
	expect_tls_error("key = ../tls/other.key\nsession_tickets = yes\n"
			 "certificate = ../tls/server.pem\n",
	    4, "[tls] key: does not match [tls] certificate");
}

/* An expired certificate is an error at the certificate line. */
static void
test_tls_expired_certificate_is_rejected(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error("key = ../tls/server.key\n"
			 "certificate = ../tls/expired.pem\n",
	    5, "[tls] certificate: the certificate has expired");
}

/* A key under a passphrase is refused, never asked for. */
static void
test_tls_key_with_passphrase_is_rejected(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error("certificate = ../tls/server.pem\n"
			 "key = ../tls/secret.key\n",
	    5, "[tls] key: not a PEM private key (or one with a passphrase)");
}

/* A cipher list that matches no cipher is an error at its line. */
static void
test_tls_cipher_list_matching_nothing_is_rejected(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error(TLS_PAIR "ciphers = NOSUCH\n", 6,
	    "[tls] ciphers: no usable cipher in the list");
	expect_tls_error("ciphers = !ALL\n" TLS_PAIR, 4,
	    "[tls] ciphers: no usable cipher in the list");
}

#define T(f)	 cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TLS_T(f) cmocka_unit_test_setup_teardown(f, setup_tls, teardown)

/* Without a [host] section, one implicit host serves [http]'s root. */
static void
test_no_host_section_makes_one_implicit_host(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[http]\nindex = home.html\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_nhosts, 1);
	assert_int_equal(cf->cf_host_default, 0);
	assert_int_equal(cf->cf_hosts[0].vh_nnames, 0);
	assert_string_equal(cf->cf_hosts[0].vh_root, cf->cf_root);
	assert_string_equal(cf->cf_hosts[0].vh_index, "home.html");
	config_free(cf);
}

/* Host sections keep their names, aliases, root and index, in order. */
static void
test_host_sections_are_read_in_order(void **state)
{
	char path[PATH_MAX];
	struct config *cf;

	(void)state;
	make_dir("%s/a", test_dir);
	cf = load("[host \"Example.COM\"]\n"
		  "alias = www.example.com\n"
		  "alias = *.Example.com.\n"
		  "root = ../a\n"
		  "index = start.html\n"
		  "[http]\n"
		  "index = home.html\n"
		  "[host \"other.org\"]\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_nhosts, 2);
	assert_int_equal(cf->cf_host_default, 0);
	assert_int_equal(cf->cf_hosts[0].vh_nnames, 3);
	assert_string_equal(cf->cf_hosts[0].vh_names[0], "example.com");
	assert_string_equal(cf->cf_hosts[0].vh_names[1], "www.example.com");
	assert_string_equal(cf->cf_hosts[0].vh_names[2], "*.example.com");
	snprintf(path, sizeof(path), "%s/a", test_dir);
	assert_same_path(cf->cf_hosts[0].vh_root, path);
	assert_string_equal(cf->cf_hosts[0].vh_index, "start.html");
	assert_int_equal(cf->cf_hosts[0].vh_line, 1);
	assert_string_equal(cf->cf_hosts[1].vh_names[0], "other.org");
	config_free(cf);
}

/* A host that sets no root or index takes [http]'s, wherever it is. */
static void
test_host_takes_http_root_and_index_it_does_not_set(void **state)
{
	char path[PATH_MAX];
	struct config *cf;

	(void)state;
	make_dir("%s/b", test_dir);
	cf = load("[host \"a.test\"]\n"
		  "[http]\n"
		  "root = ../b\n"
		  "index = i.html\n");
	assert_non_null(cf);
	snprintf(path, sizeof(path), "%s/b", test_dir);
	assert_same_path(cf->cf_hosts[0].vh_root, path);
	assert_string_equal(cf->cf_hosts[0].vh_index, "i.html");
	config_free(cf);
}

/* default = yes makes that host the default instead of the first. */
static void
test_host_default_yes_makes_the_default(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[host \"a.test\"]\n"
		  "[host \"b.test\"]\n"
		  "default = yes\n"
		  "[host \"c.test\"]\n"
		  "default = no\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_host_default, 1);
	assert_int_equal(vhost_select(cf->cf_hosts, cf->cf_nhosts,
			     cf->cf_host_default, "nope.test", 9),
	    1);
	assert_int_equal(vhost_select(cf->cf_hosts, cf->cf_nhosts,
			     cf->cf_host_default, "c.test", 6),
	    2);
	config_free(cf);
}

/* A name given twice, in one host or two, is an error at its line. */
static void
test_host_name_given_twice_is_rejected(void **state)
{
	(void)state;
	expect_error("[host \"a.test\"]\n[host \"A.test.\"]\n", 2,
	    "host name 'a.test' is already given at line 1");
	expect_error("[host \"a.test\"]\n[host \"b.test\"]\nalias = a.test\n",
	    3, "host name 'a.test' is already given at line 1");
	expect_error("[host \"a.test\"]\nalias = *.a.test\n"
		     "alias = *.A.TEST\n",
	    3, "host name '*.a.test' is already given at line 2");
}

/* Names that are not host names are errors at their line. */
static void
test_bad_host_names_are_rejected(void **state)
{
	char text[128];

	(void)state;
	expect_error("[host \"a_b.test\"]\n", 1, "bad host name 'a_b.test'");
	expect_error("[host \"a.*.test\"]\n", 1, "bad host name");
	expect_error("[host \"\"]\n", 1, "bad host name");
	expect_error("[http]\n[host \"a.test\"]\nalias = x..test\n", 3,
	    "bad host name 'x..test'");
	expect_error("[host \"a.test\"]\nalias =\n", 2, "bad host name");
	expect_error("[host a.test]\n", 1, "unknown section [host a.test]");
	expect_error("[host \"a\"b\"]\n", 1, "bad section");
	/* a label of 64 bytes is one too many */
	memset(text, 0, sizeof(text));
	memcpy(text, "[host \"", 7);
	memset(text + 7, 'a', 64);
	memcpy(text + 71, ".test\"]\n", 8);
	expect_error(text, 1, "bad host name");
}

/* Two hosts saying default = yes is an error at the second. */
static void
test_two_default_hosts_are_rejected(void **state)
{
	(void)state;
	expect_error("[host \"a.test\"]\ndefault = yes\n"
		     "[host \"b.test\"]\ndefault = yes\n",
	    4, "another host is the default (line 2)");
}

/* A key a host section does not know, or one set twice, is an error. */
static void
test_unknown_or_duplicate_host_key_is_rejected(void **state)
{
	(void)state;
	expect_error("[host \"a.test\"]\nkeepalive_timeout = 1s\n", 2,
	    "unknown key 'keepalive_timeout' in section [host \"a.test\"]");
	expect_error("[host \"a.test\"]\nindex = a.html\nindex = b.html\n", 3,
	    "[host \"a.test\"] index: duplicate key (already set at line 2)");
	expect_error("[host \"a.test\"]\nindex = a/b.html\n", 2,
	    "[host \"a.test\"] index");
	expect_error("[host \"a.test\"]\nroot = ../missing\n", 2,
	    "[host \"a.test\"] root");
	expect_error("[host \"a.test\"]\ndefault = maybe\n", 2,
	    "[host \"a.test\"] default");
}

/* At most VHOST_MAX host sections. */
static void
test_too_many_hosts_are_rejected(void **state)
{
	char text[VHOST_MAX * 24 + 32];
	size_t used = 0;
	int i;

	(void)state;
	for (i = 0; i <= VHOST_MAX; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "[host \"h%d.test\"]\n", i);
	expect_error(text, VHOST_MAX + 1, "too many [host] sections");
}

/*
 * A host that sets no cache, error_page or precompressed has copies of
 * [http]'s; one that sets a key has its own lines instead, not both.
 */
static void
test_host_site_settings_default_to_http_ones(void **state)
{
	char path[PATH_MAX];
	struct config *cf;
	struct vhost *a, *b;

	(void)state;
	make_dir("%s/b", conf_dir);
	snprintf(path, sizeof(path), "%s/b/404.html", conf_dir);
	write_file(path, "a");
	snprintf(path, sizeof(path), "%s/b/e.html", conf_dir);
	write_file(path, "b");
	cf = load("[http]\nroot = b\ncache = /x/ no-cache\n"
		  "error_page = 404 /404.html\nprecompressed = gzip\n"
		  "[host \"a.test\"]\n"
		  "[host \"b.test\"]\ncache = .css max-age=60\n"
		  "error_page = 500 /e.html\nprecompressed =\n");
	assert_non_null(cf);
	a = &cf->cf_hosts[0];
	b = &cf->cf_hosts[1];
	assert_string_equal(
	    cachectl_match(&a->vh_cache, "/x/y", 4), "no-cache");
	assert_string_equal(errpage_path(&a->vh_errpages, 404), "/404.html");
	assert_int_equal(a->vh_precompressed.al_n, 1);
	assert_null(cachectl_match(&b->vh_cache, "/x/y", 4));
	assert_string_equal(
	    cachectl_match(&b->vh_cache, "/s.css", 6), "max-age=60");
	assert_null(errpage_path(&b->vh_errpages, 404));
	assert_string_equal(errpage_path(&b->vh_errpages, 500), "/e.html");
	assert_int_equal(b->vh_precompressed.al_n, 0);
	config_free(cf);
}

/* autoindex is off by default; a host that does not set it takes [http]'s. */
static void
test_host_autoindex_defaults_to_the_http_one(void **state)
{
	struct config *cf;

	(void)state;
	cf = load("[host \"a.test\"]\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_autoindex, 0);
	assert_int_equal(cf->cf_hosts[0].vh_autoindex, 0);
	config_free(cf);
	cf = load("[http]\nautoindex = yes\n"
		  "[host \"a.test\"]\n[host \"b.test\"]\nautoindex = no\n"
		  "[host \"c.test\"]\nautoindex = yes\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_hosts[0].vh_autoindex, 1);
	assert_int_equal(cf->cf_hosts[1].vh_autoindex, 0);
	assert_int_equal(cf->cf_hosts[2].vh_autoindex, 1);
	config_free(cf);
	cf = load("[http]\nautoindex = on\n");
	assert_non_null(cf);
	assert_int_equal(cf->cf_hosts[0].vh_autoindex, 1);
	config_free(cf);
}

/* A bad autoindex value is an error at its line, in [http] or a host. */
static void
test_autoindex_bad_value_is_rejected(void **state)
{
	(void)state;
	expect_error("[http]\nautoindex = maybe\n", 2,
	    "[http] autoindex: expected yes or no");
	expect_error("[host \"a.test\"]\nautoindex = 2\n", 2,
	    "[host \"a.test\"] autoindex: expected yes or no");
}

/* Every host's error pages are checked in its own root, at their line. */
static void
test_error_page_missing_from_a_host_root_is_rejected(void **state)
{
	char path[PATH_MAX];

	(void)state;
	make_dir("%s/site", conf_dir);
	make_dir("%s/other", conf_dir);
	snprintf(path, sizeof(path), "%s/site/404.html", conf_dir);
	write_file(path, "a");
	expect_error("[http]\nroot = site\nerror_page = 404 /404.html\n"
		     "[host \"a.test\"]\n[host \"b.test\"]\nroot = other\n",
	    3,
	    "[host \"b.test\"] error_page 404 /404.html: No such file or "
	    "directory in root ");
	expect_error("[http]\nroot = site\n"
		     "[host \"a.test\"]\nroot = other\n"
		     "error_page = 403 /404.html\n",
	    5, "[host \"a.test\"] error_page 403 /404.html: No such file");
}

/* A host's tls_certificate needs its tls_key and the other way round. */
static void
test_host_tls_certificate_and_key_need_each_other(void **state)
{
	(void)state;
	expect_error("[host \"a.test\"]\ntls_certificate = a.pem\n", 2,
	    "[host \"a.test\"] tls_certificate: needs [host \"a.test\"] "
	    "tls_key too");
	expect_error("[host \"a.test\"]\n[host \"b.test\"]\n\n"
		     "tls_key = b.key\n",
	    4,
	    "[host \"b.test\"] tls_key: needs [host \"b.test\"] "
	    "tls_certificate too");
}

/* A host's missing certificate or key file: FILE:LINE at that key. */
static void
test_host_tls_missing_file_is_an_error_at_its_key(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error(TLS_PAIR "[host \"a.test\"]\n"
				  "tls_certificate = ../tls/none.pem\n"
				  "tls_key = ../tls/server.key\n",
	    7, "[host \"a.test\"] tls_certificate: ");
	assert_non_null(strstr(err, "none.pem: No such file or directory"));
	expect_tls_error(TLS_PAIR "[host \"a.test\"]\n"
				  "tls_key = ../tls/none.key\n"
				  "tls_certificate = ../tls/server.pem\n",
	    7, "[host \"a.test\"] tls_key: ");
	assert_non_null(strstr(err, "none.key: No such file or directory"));
}

/* A host's key of another certificate is an error at its tls_key line. */
static void
test_host_tls_key_that_does_not_match_is_an_error_at_its_line(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error(TLS_PAIR "[host \"a.test\"]\n"
				  "tls_key = ../tls/other.key\n"
				  "tls_certificate = ../tls/server.pem\n",
	    7,
	    "[host \"a.test\"] tls_key: does not match [host \"a.test\"] "
	    "tls_certificate");
}

/* A host's expired certificate is an error at its tls_certificate line. */
static void
test_host_tls_expired_certificate_is_rejected(void **state)
{
	(void)state;
	need_tls_files();
	expect_tls_error(TLS_PAIR "[host \"a.test\"]\n"
				  "tls_key = ../tls/server.key\n"
				  "tls_certificate = ../tls/expired.pem\n",
	    8,
	    "[host \"a.test\"] tls_certificate: the certificate has expired");
}

/* A host with a certificate gets a context of its own; one without none. */
static void
test_host_with_certificate_gets_a_context_of_its_own(void **state)
{
	struct config *cf;
	char path[PATH_MAX];

	(void)state;
	need_tls_files();
	cf = load_tls(TLS_PAIR "[host \"a.test\"]\n"
			       "tls_certificate = ../tls/server.pem\n"
			       "tls_key = ../tls/server.key\n"
			       "[host \"b.test\"]\n");
	assert_non_null(cf->cf_hosts[0].vh_tls_ctx);
	assert_ptr_not_equal(cf->cf_hosts[0].vh_tls_ctx, cf->cf_tls_ctx);
	assert_null(cf->cf_hosts[1].vh_tls_ctx);
	assert_null(cf->cf_hosts[1].vh_tls_certificate);
	snprintf(path, sizeof(path), "%s/tls/server.pem", test_dir);
	assert_same_path(cf->cf_hosts[0].vh_tls_certificate, path);
	snprintf(path, sizeof(path), "%s/tls/server.key", test_dir);
	assert_same_path(cf->cf_hosts[0].vh_tls_key, path);
	config_free(cf);
}

/*
 * As a [tls] certificate, a host's is loaded and checked without a TLS
 * listener to use it.
 */
static void
test_host_certificate_without_tls_listener_is_checked(void **state)
{
	struct config *cf;

	(void)state;
	need_tls_files();
	cf = load("[host \"a.test\"]\ntls_certificate = ../tls/server.pem\n"
		  "tls_key = ../tls/server.key\n");
	if (cf == NULL)
		fail_msg("%s", err);
	assert_non_null(cf->cf_hosts[0].vh_tls_ctx);
	config_free(cf);
	expect_error("[host \"a.test\"]\ntls_certificate = ../tls/server.pem\n"
		     "tls_key = ../tls/other.key\n",
	    3, "[host \"a.test\"] tls_key: does not match");
}

/* With a root in every host section, [http]'s (here missing) is unused. */
static void
test_http_root_is_needed_only_by_a_host_that_takes_it(void **state)
{
	char path[PATH_MAX];
	struct config *cf;

	(void)state;
	snprintf(path, sizeof(path), "%s/htdocs", test_dir);
	assert_int_equal(rmdir(path), 0);
	make_dir("%s/a", conf_dir);
	cf = load("[http]\nindex = i.html\n[host \"a.test\"]\nroot = a\n");
	assert_non_null(cf);
	config_free(cf);
	expect_error("[host \"a.test\"]\nroot = a\n[host \"b.test\"]\n", 3,
	    "[http] root ");
}

/* An error in a host section names the host whole, however long. */
static void
test_host_error_names_a_long_host_whole(void **state)
{
	(void)state;
	expect_error(
	    "[host \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "example.test\"]\nbogus = 1\n",
	    2,
	    "unknown key 'bogus' in section [host "
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example."
	    "test\"]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_empty_file_gives_defaults),
	    T(test_cf_file_is_absolute_for_relative_name),
	    T(test_relative_root_resolves_against_config_dir),
	    T(test_relative_pid_file_and_error_log_resolve_against_config_dir),
	    T(test_absolute_paths_are_kept),
	    T(test_empty_pid_file_and_error_log_mean_none),
	    T(test_integer_values_are_parsed),
	    T(test_integer_out_of_range_reports_bounds),
	    T(test_integer_with_sign_or_junk_is_rejected),
	    T(test_integer_overflow_is_rejected),
	    T(test_empty_numeric_value_is_rejected),
	    T(test_size_suffixes_multiply),
	    T(test_size_out_of_range_reports_bounds),
	    T(test_bad_size_is_rejected),
	    T(test_duration_units_become_milliseconds),
	    T(test_every_duration_key_is_set),
	    T(test_zero_keepalive_and_shutdown_timeouts_are_accepted),
	    T(test_duration_out_of_range_reports_bounds),
	    T(test_bad_duration_is_rejected),
	    T(test_bool_values_are_case_insensitive),
	    T(test_bad_bool_is_rejected),
	    T(test_auto_workers_uses_online_cpus),
	    T(test_workers_out_of_range_reports_bounds),
	    T(test_repeated_listen_keeps_every_address),
	    T(test_listen_ipv6_star_and_port_forms),
	    T(test_duplicate_listen_address_is_rejected),
	    T(test_too_many_listen_addresses_is_rejected),
	    T(test_bad_listen_address_reports_reason),
	    T(test_existing_user_and_group_are_accepted),
	    T(test_empty_user_and_group_mean_none),
	    T(test_unknown_user_is_rejected),
	    T(test_unknown_group_is_rejected),
	    T(test_index_must_be_a_file_name),
	    T(test_unknown_section_reports_file_and_line),
	    T(test_websocket_defaults),
	    T(test_websocket_keys_are_read),
	    T(test_websocket_bad_values_are_errors),
	    T(test_log_and_stats_defaults),
	    T(test_log_format_and_shm_path_are_read),
	    T(test_unknown_log_format_is_rejected),
	    T(test_ring_size_is_bounded_and_rounded_to_a_power_of_two),
	    T(test_notsent_lowat_takes_zero_to_64m),
	    T(test_unknown_key_reports_file_and_line),
	    T(test_key_before_any_section_is_rejected),
	    T(test_duplicate_key_is_rejected),
	    T(test_missing_root_reports_key_line),
	    T(test_root_that_is_a_file_is_rejected),
	    T(test_cache_rules_and_error_pages_are_read),
	    T(test_no_cache_rules_or_error_pages_by_default),
	    T(test_bad_cache_rule_reports_its_line),
	    T(test_auth_rules_read_their_users),
	    T(test_bad_auth_reports_its_line),
	    T(test_bad_htpasswd_line_reports_the_file_and_its_line),
	    T(test_bad_error_page_reports_its_line),
	    T(test_missing_error_page_reports_its_line),
	    T(test_error_page_must_be_a_file_beneath_the_root),
	    T(test_missing_default_root_reports_file_without_line),
	    T(test_syntax_error_reports_line),
	    T(test_section_header_with_trailing_text_is_rejected),
	    T(test_line_too_long_is_rejected),
	    T(test_indented_lines_are_not_continuations),
	    T(test_comments_blank_lines_and_crlf_are_accepted),
	    T(test_first_error_is_reported),
	    T(test_error_names_file_as_given),
	    T(test_unopenable_file_reports_strerror),
	    T(test_listen_parse_ipv4_host_and_port),
	    T(test_listen_parse_ipv6_in_brackets),
	    T(test_listen_parse_star_and_bare_port_mean_ipv4_any),
	    T(test_listen_parse_resolves_host_names),
	    T(test_listen_parse_port_bounds),
	    T(test_listen_parse_rejects_malformed_addresses),
	    T(test_listen_parse_rejects_too_long_address),
	    T(test_listen_bind_and_close_on_free_port),
	    T(test_listen_bind_reports_errno_when_port_busy),
	    T(test_listen_reuseport_claims_and_shares_the_address),
	    T(test_listen_bind_ipv6_is_v6only),
	    T(test_utf8_bom_is_skipped),
	    T(test_restart_keys_keep_running_values_and_name_them),
	    T(test_restart_keys_compare_unset_strings),
	    T(test_restart_keys_list_fits_a_small_buffer),
	    T(test_restart_keys_name_a_derived_shm_path),
	    T(test_chat_defaults),
	    T(test_chat_history_is_1_to_10000),
	    T(test_chat_max_rooms_is_1_to_65536),
	    T(test_chat_max_members_is_16_to_1048576),
	    T(test_chat_max_message_size_is_1_to_16k),
	    T(test_chat_burst_is_0_to_10000),
	    T(test_chat_idle_timeout_is_0_to_24_hours),
	    T(test_chat_max_queue_is_64k_to_64m),
	    T(test_chat_ring_size_is_bounded_and_rounded_to_a_power_of_two),
	    T(test_chat_broadcast_size_is_bounded_and_rounded_to_a_power_of_two),
	    T(test_chat_rate_takes_n_per_second_or_a_bare_n),
	    T(test_chat_rate_of_zero_or_above_1000_is_rejected),
	    T(test_chat_rate_with_bad_syntax_is_rejected),
	    T(test_chat_burst_of_zero_is_twice_the_rate),
	    T(test_chat_burst_that_is_set_is_kept),
	    T(test_ip_limits_are_off_by_default),
	    T(test_ip_limit_keys_are_read),
	    T(test_bad_ip_limit_values_name_their_line),
	    T(test_chat_default_room_takes_a_chat_name),
	    T(test_chat_bad_default_room_is_rejected),
	    T(test_chat_empty_path_turns_the_chat_off),
	    T(test_chat_bad_path_is_rejected),
	    T(test_chat_path_equal_to_echo_path_is_rejected),
	    T(test_chat_and_echo_may_both_be_off),
	    T(test_chat_transcript_resolves_against_config_dir),
	    T(test_chat_listen_sets_la_chat_and_keeps_the_server_default),
	    T(test_empty_chat_listen_adds_no_listener),
	    T(test_server_and_chat_listen_are_told_apart),
	    T(test_chat_listen_on_a_server_address_is_rejected),
	    T(test_shm_path_is_derived_from_the_http_listener_when_chat_comes_first),
	    T(test_restart_keys_keep_the_chat_geometry),
	    T(test_tls_protocols_take_tlsv12_tlsv13_or_both),
	    T(test_tls_unknown_protocol_lists_what_is_accepted),
	    T(test_tls_verify_client_takes_no_optional_or_require),
	    T(test_tls_bad_verify_client_is_rejected),
	    T(test_tls_hsts_takes_printable_text),
	    T(test_tls_hsts_with_control_characters_is_rejected),
	    T(test_tls_session_timeout_is_1s_to_24_hours),
	    TLS_T(test_listen_tls_marks_a_tls_listener),
	    T(test_unknown_listen_option_is_rejected),
	    T(test_tls_listener_without_certificate_is_an_error_at_its_line),
	    T(test_tls_certificate_and_key_need_each_other),
	    T(test_tls_verify_client_without_client_ca_is_rejected),
	    T(test_no_tls_certificate_builds_no_context),
	    TLS_T(test_tls_good_section_builds_the_context),
	    TLS_T(test_tls_missing_file_is_an_error_at_its_key),
	    TLS_T(test_tls_file_that_is_not_pem_is_an_error_at_its_key),
	    TLS_T(test_tls_key_that_does_not_match_is_an_error_at_the_key_line),
	    TLS_T(test_tls_expired_certificate_is_rejected),
	    TLS_T(test_tls_key_with_passphrase_is_rejected),
	    TLS_T(test_tls_cipher_list_matching_nothing_is_rejected),
	    T(test_no_host_section_makes_one_implicit_host),
	    T(test_host_sections_are_read_in_order),
	    T(test_host_takes_http_root_and_index_it_does_not_set),
	    T(test_host_default_yes_makes_the_default),
	    T(test_host_name_given_twice_is_rejected),
	    T(test_bad_host_names_are_rejected),
	    T(test_two_default_hosts_are_rejected),
	    T(test_unknown_or_duplicate_host_key_is_rejected),
	    T(test_too_many_hosts_are_rejected),
	    T(test_host_site_settings_default_to_http_ones),
	    T(test_http_root_is_needed_only_by_a_host_that_takes_it),
	    T(test_host_error_names_a_long_host_whole),
	    T(test_error_page_missing_from_a_host_root_is_rejected),
	    T(test_host_tls_certificate_and_key_need_each_other),
	    TLS_T(test_host_tls_missing_file_is_an_error_at_its_key),
	    TLS_T(
		test_host_tls_key_that_does_not_match_is_an_error_at_its_line),
	    TLS_T(test_host_tls_expired_certificate_is_rejected),
	    TLS_T(test_host_with_certificate_gets_a_context_of_its_own),
	    TLS_T(test_host_certificate_without_tls_listener_is_checked),
	    T(test_host_autoindex_defaults_to_the_http_one),
	    T(test_autoindex_bad_value_is_rejected),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
