/*
 * Unit tests for tools/pmdclient.c, the load tools' permessage-deflate:
 * the check of a server's answer, and messages deflated and inflated
 * (with zlib itself on the other side), so that a fault the benchmark
 * reports is the server's and not the tool's.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pmdclient.h"

/* What the inflate callback collected. */
struct t_out {
	unsigned char to_buf[65536];
	size_t to_len;
};

/* The callback of pmdclient_inflate_data(): append to a struct t_out. */
static int
t_collect(void *arg, const unsigned char *p, size_t n)
{
	struct t_out *o = arg;

	assert_true(o->to_len + n <= sizeof(o->to_buf));
	memcpy(o->to_buf + o->to_len, p, n);
	o->to_len += n;
	return 0;
}

/* Parse answer; return pmdclient_parse()'s result, the params in pp. */
static int
t_parse(const char *answer, struct pmdclient_params *pp)
{
	char msg[256];

	return pmdclient_parse(answer, pp, msg, sizeof(msg));
}

/* Assert that answer is refused. */
static void
t_refused(const char *answer)
{
	struct pmdclient_params pp;

	if (t_parse(answer, &pp) != -1)
		fail_msg("accepted: %s", answer);
}

/*
 * Fill buf with n random letters: they compress a little alone, and a
 * repeat of them to almost nothing with the context.
 */
static void
t_text(unsigned char *buf, size_t n, unsigned seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)('a' + rand() % 26);
}

static void
test_parse_bare_answer_keeps_contexts_and_15_bits(void **state)
{
	struct pmdclient_params pp;

	(void)state;
	assert_int_equal(t_parse("permessage-deflate", &pp), 0);
	assert_int_equal(pp.pp_server_no_context, 0);
	assert_int_equal(pp.pp_client_no_context, 0);
	assert_int_equal(pp.pp_client_bits, 15);
}

static void
test_parse_takes_every_parameter_with_spaces_and_quotes(void **state)
{
	struct pmdclient_params pp;

	(void)state;
	assert_int_equal(t_parse(" PerMessage-Deflate ;server_no_context_"
				 "takeover; client_no_context_takeover ; "
				 "client_max_window_bits=\"10\"",
			     &pp),
	    0);
	assert_int_equal(pp.pp_server_no_context, 1);
	assert_int_equal(pp.pp_client_no_context, 1);
	assert_int_equal(pp.pp_client_bits, 10);
	assert_int_equal(
	    t_parse("permessage-deflate; client_max_window_bits=8", &pp), 0);
	assert_int_equal(pp.pp_client_bits, 8);
}

static void
test_parse_refuses_what_a_client_must_not_accept(void **state)
{
	(void)state;
	t_refused("");
	t_refused("x-webkit-deflate-frame");
	t_refused("permessage-deflate, permessage-deflate");
	t_refused("permessage-deflate; server_max_window_bits=10");
	t_refused("permessage-deflate; mystery");
	t_refused("permessage-deflate; server_no_context_takeover; "
		  "server_no_context_takeover");
	t_refused("permessage-deflate; server_no_context_takeover=1");
	t_refused("permessage-deflate; client_max_window_bits");
	t_refused("permessage-deflate; client_max_window_bits=7");
	t_refused("permessage-deflate; client_max_window_bits=16");
	t_refused("permessage-deflate; client_max_window_bits=08");
	t_refused("permessage-deflate; client_max_window_bits=\"9");
	t_refused("permessage-deflate;");
}

static void
test_deflate_init_refuses_8_bit_window(void **state)
{
	struct pmdclient_params pp = {0, 0, 8};
	z_stream zs;

	(void)state;
	assert_int_equal(pmdclient_deflate_init(&zs, &pp), -1);
	pp.pp_client_bits = 9;
	assert_int_equal(pmdclient_deflate_init(&zs, &pp), 0);
	pmdclient_deflate_end(&zs);
}

/*
 * Deflate three messages with pp's context rule and inflate them with
 * context kept or not; assert that each comes back whole and return the
 * bytes of the third compressed.
 */
static long
t_roundtrip(struct pmdclient_params *pp, int context)
{
	static unsigned char msg[4096], z[PMDCLIENT_BOUND(4096)];
	static struct t_out out;
	struct pmdclient_inflate pi = {0};
	z_stream zs;
	long n = 0;
	int i;

	assert_int_equal(pmdclient_deflate_init(&zs, pp), 0);
	for (i = 0; i < 3; i++) {
		t_text(msg, sizeof(msg), 7); /* the same: context shows */
		n = pmdclient_deflate(&zs, pp, msg, sizeof(msg), z, sizeof(z));
		assert_true(n > 0 && (size_t)n < sizeof(msg));
		out.to_len = 0;
		/* In two pieces, the end of the message with the second. */
		assert_int_equal(pmdclient_inflate_data(
				     &pi, z, (size_t)n / 2, 0, t_collect, &out),
		    0);
		assert_int_equal(pmdclient_inflate_data(&pi, z + n / 2,
				     (size_t)(n - n / 2), 1, t_collect, &out),
		    0);
		assert_int_equal(pmdclient_inflate_reset(&pi, context), 0);
		assert_int_equal(out.to_len, sizeof(msg));
		assert_memory_equal(out.to_buf, msg, sizeof(msg));
	}
	pmdclient_deflate_end(&zs);
	pmdclient_inflate_end(&pi);
	return n;
}

static void
test_context_takeover_makes_a_repeat_small_and_inflates(void **state)
{
	struct pmdclient_params pp = {0, 0, 15};
	long with, without;

	(void)state;
	with = t_roundtrip(&pp, 1);
	pp.pp_client_no_context = 1;
	without = t_roundtrip(&pp, 0);
	assert_true(with < without / 4);
}

static void
test_inflate_takes_a_final_block_and_keeps_its_window(void **state)
{
	static const unsigned char text[] = "hello hello hello hello";
	unsigned char z[256];
	struct pmdclient_inflate pi = {0};
	struct t_out out = {{0}, 0};
	z_stream zs;
	size_t n;
	int i;

	(void)state;
	/*
	 * Each message a whole raw stream (BFINAL set, no 00 00 ff ff); the
	 * second refers to the first, its dictionary, as a server that
	 * keeps its context may.
	 */
	for (i = 0; i < 2; i++) {
		memset(&zs, 0, sizeof(zs));
		assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8,
				     Z_DEFAULT_STRATEGY),
		    Z_OK);
		if (i == 1)
			assert_int_equal(
			    deflateSetDictionary(&zs, text, sizeof(text) - 1),
			    Z_OK);
		zs.next_in = text;
		zs.avail_in = sizeof(text) - 1;
		zs.next_out = z;
		zs.avail_out = sizeof(z);
		assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
		n = sizeof(z) - zs.avail_out;
		deflateEnd(&zs);
		if (i == 1)
			assert_true(n < 8); /* a reference, nearly */
		out.to_len = 0;
		assert_int_equal(
		    pmdclient_inflate_data(&pi, z, n, 1, t_collect, &out), 0);
		assert_int_equal(pmdclient_inflate_reset(&pi, 1), 0);
		assert_int_equal(out.to_len, sizeof(text) - 1);
		assert_memory_equal(out.to_buf, text, sizeof(text) - 1);
	}
	pmdclient_inflate_end(&pi);
}

static void
test_inflate_refuses_data_after_a_final_block(void **state)
{
	/* A final empty fixed block (03 00), then a byte more. */
	static const unsigned char z[] = {0x03, 0x00, 0x00};
	struct pmdclient_inflate pi = {0};
	struct t_out out = {{0}, 0};

	(void)state;
	assert_int_equal(
	    pmdclient_inflate_data(&pi, z, sizeof(z), 1, t_collect, &out), -1);
	assert_non_null(pi.pi_err);
	pmdclient_inflate_end(&pi);
}

static void
test_inflate_refuses_invalid_data(void **state)
{
	static const unsigned char z[] = {0xff, 0xff, 0xff, 0xff};
	struct pmdclient_inflate pi = {0};
	struct t_out out = {{0}, 0};

	(void)state;
	assert_int_equal(
	    pmdclient_inflate_data(&pi, z, sizeof(z), 1, t_collect, &out), -1);
	assert_non_null(pi.pi_err);
	pmdclient_inflate_end(&pi);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_bare_answer_keeps_contexts_and_15_bits),
	    cmocka_unit_test(
		test_parse_takes_every_parameter_with_spaces_and_quotes),
	    cmocka_unit_test(test_parse_refuses_what_a_client_must_not_accept),
	    cmocka_unit_test(test_deflate_init_refuses_8_bit_window),
	    cmocka_unit_test(
		test_context_takeover_makes_a_repeat_small_and_inflates),
	    cmocka_unit_test(
		test_inflate_takes_a_final_block_and_keeps_its_window),
	    cmocka_unit_test(test_inflate_refuses_data_after_a_final_block),
	    cmocka_unit_test(test_inflate_refuses_invalid_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
