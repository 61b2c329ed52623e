/*
 * Unit tests for listen.c: listen_tune() sets on a listening socket the
 * TCP options its accepted connections have, so that a connection costs no
 * setsockopt(2) of its own; listen_parse() words each way an address can
 * be wrong as it always has (tests/unit/test_config.c checks what it
 * accepts).
 */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pfhttpd.h"

/* A listening socket on 127.0.0.1, a port the kernel picks. */
static int
open_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd != -1);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

/* Connect to sin and return the server's end of the connection. */
static int
accept_one(int lfd, const struct sockaddr_in *sin, int *client)
{
	int fd;

	*client = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*client != -1);
	assert_int_equal(
	    connect(*client, (const struct sockaddr *)sin, sizeof(*sin)), 0);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd != -1);
	return fd;
}

/* Return the integer TCP option opt of fd. */
static int
tcp_option(int fd, int opt)
{
	socklen_t len;
	int v;

	len = sizeof(v);
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, opt, &v, &len), 0);
	return v;
}

/* A connection accepted after listen_tune() has its options. */
static void
test_accepted_connection_inherits_tuned_options(void **state)
{
	struct sockaddr_in sin;
	int lfd, fd, client;

	(void)state;
	lfd = open_listener(&sin);
	assert_int_equal(tcp_option(lfd, TCP_NODELAY), 0);
	assert_int_equal(listen_tune(lfd, 16384), 0);
	fd = accept_one(lfd, &sin, &client);
	assert_int_not_equal(tcp_option(fd, TCP_NODELAY), 0);
	assert_int_equal(tcp_option(fd, TCP_NOTSENT_LOWAT), 16384);
	/* 0: delayed ACKs (pingpong mode), not quick ones. */
	assert_int_equal(tcp_option(fd, TCP_QUICKACK), 0);
	close(fd);
	close(client);
	close(lfd);
}

/* notsent_lowat 0 gives the limit back to the sysctl, as on a reload. */
static void
test_zero_notsent_lowat_gives_the_limit_back_to_the_sysctl(void **state)
{
	struct sockaddr_in sin;
	int lfd, fd, client;

	(void)state;
	lfd = open_listener(&sin);
	assert_int_equal(listen_tune(lfd, 16384), 0);
	assert_int_equal(listen_tune(lfd, 0), 0);
	fd = accept_one(lfd, &sin, &client);
	assert_int_equal(tcp_option(fd, TCP_NOTSENT_LOWAT), 0);
	close(fd);
	close(client);
	close(lfd);
}

/*
 * listen_bind() tunes the socket before it listens: a connection whose
 * handshake completes before anyone accepts it has the options too.
 */
static void
test_listen_bind_tunes_before_a_connection_completes(void **state)
{
	struct listen_addr la;
	struct sockaddr_in sin;
	char text[64], reason[256];
	int fd, client;

	(void)state;
	close(open_listener(&sin)); /* a free port */
	snprintf(text, sizeof(text), "127.0.0.1:%d", ntohs(sin.sin_port));
	assert_int_equal(listen_parse(text, &la, reason, sizeof(reason)), 0);
	assert_int_equal(listen_bind(&la, 0, 8192), 0);
	/* Blocking connect: the handshake is done before the accept. */
	fd = accept_one(la.la_fd, &sin, &client);
	assert_int_not_equal(tcp_option(fd, TCP_NODELAY), 0);
	assert_int_equal(tcp_option(fd, TCP_NOTSENT_LOWAT), 8192);
	assert_int_equal(tcp_option(fd, TCP_QUICKACK), 0);
	close(fd);
	close(client);
	listen_close(&la);
}

/* listen_tune() on something that is not a TCP socket fails with errno. */
static void
test_tune_fails_on_a_non_socket(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(listen_tune(p[0], 16384), -1);
	assert_int_equal(errno, ENOTSOCK);
	close(p[0]);
	close(p[1]);
}

/*
 * Each way an address can be wrong gets its own message, whole, and the
 * form decides which check comes first (the port before the host).
 */
static void
test_listen_parse_words_each_error_exactly(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
	    {"", "bad listen address '': empty address"},
	    {"http",
		"bad listen address 'http': port must be a decimal number"},
	    {"65536",
		"bad listen address '65536': port out of range (1..65535)"},
	    {"0", "bad listen address '0': port out of range (1..65535)"},
	    {"*:", "bad listen address '*:': missing port"},
	    {":80",
		"bad listen address ':80': missing host (use *:port for any "
		"address)"},
	    {":0", "bad listen address ':0': port out of range (1..65535)"},
	    {"::1:80",
		"bad listen address '::1:80': an IPv6 address must be in "
		"brackets: [addr]:port"},
	    {"300.1.1.1:80",
		"bad listen address '300.1.1.1:80': not a valid IPv4 address"},
	    {"[::1:80",
		"bad listen address '[::1:80': missing ']' after IPv6 address"},
	    {"[::1]80",
		"bad listen address '[::1]80': expected ':port' after ']'"},
	    {"[::1]:x",
		"bad listen address '[::1]:x': port must be a decimal number"},
	    {"[]:80", "bad listen address '[]:80': empty IPv6 address"},
	    {"[]:", "bad listen address '[]:': missing port"},
	    {"[1.2.3.4]:80",
		"bad listen address '[1.2.3.4]:80': not a numeric IPv6 "
		"address"},
	};
	struct listen_addr la;
	char err[256], text[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    listen_parse(cases[i].text, &la, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
	}
	memset(text, '1', 128);
	text[128] = '\0';
	assert_int_equal(listen_parse(text, &la, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "bad listen address '1111111111111111111111111111111111111111...': "
	    "longer than 127 characters");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepted_connection_inherits_tuned_options),
	    cmocka_unit_test(
		test_zero_notsent_lowat_gives_the_limit_back_to_the_sysctl),
	    cmocka_unit_test(
		test_listen_bind_tunes_before_a_connection_completes),
	    cmocka_unit_test(test_tune_fails_on_a_non_socket),
	    cmocka_unit_test(test_listen_parse_words_each_error_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
