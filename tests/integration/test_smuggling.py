"""Request smuggling: the known desync vectors, each sent together with a
second request in one write.

Every vector is a request whose framing a lenient or differently lenient
parser (a proxy in front of pfhttpd, say) could read another way. The
server must either reject it (400, or 501 for a transfer coding it does
not implement, RFC 9112 6.1) and close, or frame it the one way RFC 9112
allows, so that the bytes after it are exactly what that reading says:

  REJECT     [status], Connection: close, then the server closes: nothing
             after the vector is ever parsed
  BOTH       [first, 404]: the vector's body is framed as declared and the
             marker request behind it is answered as a request of its own
  CLOSE      [first], then the server closes: the body framing is broken
             after the header was accepted, so the connection cannot be
             reused and nothing after it is parsed
  SWALLOWED  [first], and the marker is body of the first request (the
             declared length covers it): never answered
  GARBAGE    [first, 400], then the server closes: the vector has no body
             (its framing field is not a framing field), so the bytes
             after its header are the next request, which is malformed
  UPGRADED   [101]: the bytes after the handshake are WebSocket frames,
             and the marker, read as one, fails the connection (a close
             frame, then the server closes); never an HTTP response

The marker is a GET of /secret-probe (404 when parsed as a request). After
the expected responses the client shuts its sending side: a server that
had parsed the marker would still answer it (a half-closed client gets
answers to what it sent), so "no further response" is a fact, not a
timeout.
"""

import socket

import pytest

from conftest import Reader, Server, make_docroot

MARKER = b"GET /secret-probe HTTP/1.1\r\nHost: localhost\r\n\r\n"

REJECT, BOTH, CLOSE, SWALLOWED, GARBAGE, UPGRADED = (
    "reject", "both", "close", "swallowed", "garbage", "upgraded")

WS_FIELDS = (b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Version: 13\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


def req(fields, body=b"", method="POST", target="/hello.txt",
        version="HTTP/1.1", host=b"Host: localhost\r\n"):
    """A request head with host and fields (raw bytes, CRLF-joined by the
    caller where it matters) followed by body."""
    head = b"%s %s %s\r\n" % (method.encode(), target.encode(),
                              version.encode())
    return head + host + fields + b"\r\n" + body


def te(value, body=b"0\r\n\r\n", **kw):
    """A request with one Transfer-Encoding field of value."""
    return req(b"Transfer-Encoding: " + value + b"\r\n", body, **kw)


def cl(value, body=b"hello", **kw):
    """A request with one Content-Length field of value."""
    return req(b"Content-Length: " + value + b"\r\n", body, **kw)


def chunked(body):
    """A POST with Transfer-Encoding: chunked and the raw body."""
    return te(b"chunked", body)


# (id, bytes of the vector, expected outcome, first status)
VECTORS = [
    # -- CL.TE, TE.CL: both framings at once (RFC 9112 6.1: reject) --------
    ("cl_te", req(b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
                  b"0\r\n\r\nG"), REJECT, 400),
    ("te_cl", req(b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                  b"1\r\nG\r\n0\r\n\r\n"), REJECT, 400),
    ("cl_0_te", req(b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
                    b"0\r\n\r\n"), REJECT, 400),
    ("cl_te_obfuscated_te", req(
        b"Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n",
        b"hello"), REJECT, 400),
    # -- TE.TE: obfuscated Transfer-Encoding ---------------------------------
    # Not chunked as the final coding: the length cannot be determined.
    ("te_xchunked", te(b"xchunked"), REJECT, 400),
    ("te_chunked_identity", te(b"chunked, identity"), REJECT, 400),
    ("te_chunked_twice_in_list", te(b"chunked, chunked"), REJECT, 400),
    ("te_quoted_chunked", te(b'"chunked"'), REJECT, 400),
    ("te_empty_value", te(b""), REJECT, 400),
    ("te_comma_only", te(b","), REJECT, 400),
    # A coding before chunked that the server does not implement: 501.
    ("te_identity_chunked", te(b"identity, chunked"), REJECT, 501),
    ("te_gzip_chunked", te(b"gzip, chunked"), REJECT, 501),
    # Two fields: their values form one list (RFC 9110 5.3).
    ("te_duplicate_chunked", req(b"Transfer-Encoding: chunked\r\n"
                                 b"Transfer-Encoding: chunked\r\n",
                                 b"0\r\n\r\n"), REJECT, 400),
    ("te_duplicate_chunked_then_identity", req(
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        b"0\r\n\r\n"), REJECT, 400),
    ("te_duplicate_identity_then_chunked", req(
        b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
        b"0\r\n\r\n"), REJECT, 501),
    # Whitespace or junk in the field name: not a valid field line.
    ("te_space_before_colon", req(b"Transfer-Encoding : chunked\r\n",
                                  b"0\r\n\r\n"), REJECT, 400),
    ("te_tab_before_colon", req(b"Transfer-Encoding\t: chunked\r\n",
                                b"0\r\n\r\n"), REJECT, 400),
    ("te_leading_space_in_first_field", req(
        b" Transfer-Encoding: chunked\r\n", b"0\r\n\r\n",
        host=b""), REJECT, 400),
    ("te_nul_in_name", req(b"Transfer-Encoding\x00: chunked\r\n",
                           b"0\r\n\r\n"), REJECT, 400),
    # Control characters in the value.
    ("te_vertical_tab_value", te(b"\x0bchunked"), REJECT, 400),
    ("te_form_feed_value", te(b"chunked\x0c"), REJECT, 400),
    ("te_nul_after_value", te(b"chunked\x00"), REJECT, 400),
    ("te_bare_cr_in_value", te(b"chunked\rX: y"), REJECT, 400),
    # Obsolete line folding (RFC 9112 5.2: a server may reject; it does).
    ("te_obs_fold_value", req(b"Transfer-Encoding:\r\n chunked\r\n",
                              b"0\r\n\r\n"), REJECT, 400),
    ("te_obs_fold_tab_value", req(b"Transfer-Encoding:\r\n\tchunked\r\n",
                                  b"0\r\n\r\n"), REJECT, 400),
    ("te_folded_into_previous_field", req(
        b"X-Foo: bar\r\n Transfer-Encoding: chunked\r\n",
        b"0\r\n\r\n"), REJECT, 400),
    # HTTP/1.0 has no chunked coding (RFC 9112 6.1: faulty, close).
    ("te_in_http10", te(b"chunked", version="HTTP/1.0"), REJECT, 400),
    ("te_and_cl_in_http10", req(
        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        b"0\r\n\r\n", version="HTTP/1.0"), REJECT, 400),
    # Valid spellings of chunked: whitespace is OWS, names are
    # case-insensitive; the body is framed as chunked, the marker follows.
    ("te_leading_space_value", te(b" chunked"), BOTH, 405),
    ("te_tab_value", req(b"Transfer-Encoding:\tchunked\r\n",
                         b"0\r\n\r\n"), BOTH, 405),
    ("te_trailing_space_value", te(b"chunked "), BOTH, 405),
    ("te_uppercase_value", te(b"CHUNKED"), BOTH, 405),
    ("te_lowercase_name", req(b"transfer-encoding: chunked\r\n",
                              b"0\r\n\r\n"), BOTH, 405),
    # Not the Transfer-Encoding field at all: the request has no body.
    ("te_underscore_name", req(b"Transfer_Encoding: chunked\r\n",
                               b"0\r\n\r\n"), GARBAGE, 405),
    ("te_hyphen_suffix_name", req(b"Transfer-Encoding-: chunked\r\n",
                                  b"0\r\n\r\n"), GARBAGE, 405),

    # -- Content-Length: duplicates and malformed values ---------------------
    ("cl_two_different_fields", req(b"Content-Length: 5\r\n"
                                    b"Content-Length: 6\r\n", b"hello"),
     REJECT, 400),
    ("cl_list_different", cl(b"5, 6"), REJECT, 400),
    ("cl_list_1_2", cl(b"1, 2"), REJECT, 400),
    ("cl_plus_sign", cl(b"+5"), REJECT, 400),
    ("cl_negative", cl(b"-5"), REJECT, 400),
    ("cl_hex", cl(b"0x5"), REJECT, 400),
    ("cl_decimal_point", cl(b"5.0"), REJECT, 400),
    ("cl_inner_space", cl(b"5 5"), REJECT, 400),
    ("cl_empty", cl(b""), REJECT, 400),
    ("cl_list_empty_element", cl(b"5,"), REJECT, 400),
    ("cl_2_pow_64", cl(b"18446744073709551616"), REJECT, 400),
    ("cl_huge", cl(b"9" * 40), REJECT, 400),
    ("cl_space_before_colon", req(b"Content-Length : 5\r\n", b"hello"),
     REJECT, 400),
    ("cl_nul_in_value", cl(b"5\x00"), REJECT, 400),
    ("cl_vertical_tab_value", cl(b"\x0b5"), REJECT, 400),
    ("cl_bare_cr_in_value", cl(b"5\rX: y"), REJECT, 400),
    ("cl_obs_fold_value", req(b"Content-Length:\r\n 5\r\n", b"hello"),
     REJECT, 400),
    # Valid: equal duplicates may be taken as one (RFC 9110 8.6), OWS
    # around the value and leading zeros are allowed by the grammar.
    ("cl_two_equal_fields", req(b"Content-Length: 5\r\n"
                                b"Content-Length: 5\r\n", b"hello"),
     BOTH, 405),
    ("cl_list_equal", cl(b"5, 5"), BOTH, 405),
    ("cl_leading_space_value", cl(b" 5"), BOTH, 405),
    ("cl_tab_value", req(b"Content-Length:\t5\r\n", b"hello"), BOTH, 405),
    ("cl_leading_zeros", cl(b"005"), BOTH, 405),
    ("cl_zero", cl(b"0", body=b""), BOTH, 405),
    # A length that covers the marker: it is body, never a request.
    ("cl_covers_marker", cl(str(5 + len(MARKER)).encode()), SWALLOWED, 405),
    ("cl_1e18", cl(b"1000000000000000000"), SWALLOWED, 405),
    # A GET's body is framed and discarded like any other.
    ("cl_on_get", cl(b"5", method="GET"), BOTH, 200),

    # -- Chunked bodies --------------------------------------------------
    ("chunked_valid_with_ext_and_trailer", chunked(
        b"5;name=value\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"), BOTH, 405),
    ("chunked_trailer_names_te", chunked(
        b"0\r\nTransfer-Encoding: chunked\r\n\r\n"), BOTH, 405),
    ("chunked_on_get", te(b"chunked", method="GET"), BOTH, 200),
    ("chunk_size_hex_prefix", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"),
     REJECT, 400),
    ("chunk_size_negative", chunked(b"-5\r\nhello\r\n0\r\n\r\n"),
     REJECT, 400),
    ("chunk_size_plus", chunked(b"+5\r\nhello\r\n0\r\n\r\n"), REJECT, 400),
    ("chunk_size_leading_space", chunked(b" 5\r\nhello\r\n0\r\n\r\n"),
     REJECT, 400),
    ("chunk_size_2_pow_64", chunked(b"10000000000000000\r\nhello\r\n"),
     REJECT, 400),
    ("chunk_size_not_hex", chunked(b"5g\r\nhello\r\n0\r\n\r\n"), REJECT, 400),
    ("chunk_size_empty", chunked(b"\r\nhello\r\n0\r\n\r\n"), REJECT, 400),
    ("chunk_data_longer_than_size", chunked(b"3\r\nhello\r\n0\r\n\r\n"),
     REJECT, 400),
    ("chunk_ext_bare_cr", chunked(b"5;a\rb\r\nhello\r\n0\r\n\r\n"),
     REJECT, 400),
    ("chunk_trailer_bare_cr", chunked(b"0\r\nX: a\rb\r\n\r\n"), REJECT, 400),
    ("chunk_last_missing", chunked(b"5\r\nhello\r\n"), REJECT, 400),
    # RFC 9112 7.1: chunk lines end in CRLF, and only the header section
    # may accept a bare LF (2.2). A server that ends a chunk-size or
    # chunk-ext line at a bare LF desyncs with a proxy that reads on to
    # the CRLF ("funky chunks", TERM.EXT / EXT.TERM).
    ("chunk_ext_bare_lf", chunked(b"5;a\nhello\r\n0\r\n\r\n"), REJECT, 400),
    ("chunk_size_bare_lf", chunked(b"5\nhello\n0\n\n"), REJECT, 400),
    # Expect: 100-continue with a body: the server answers without asking
    # for the body and closes, rather than guess whether it will come.
    ("expect_continue_with_body", req(
        b"Expect: 100-continue\r\nContent-Length: 5\r\n", b"hello"),
     CLOSE, 405),

    # -- Line endings and control characters elsewhere ---------------------
    # A bare LF ends a header line (RFC 9112 2.2 allows it), consistently:
    # a field after it is a field of its own.
    ("bare_lf_request", b"GET /hello.txt HTTP/1.1\nHost: localhost\n\n",
     BOTH, 200),
    ("bare_lf_before_te", req(b"X-Foo: a\nTransfer-Encoding: chunked\r\n",
                              b"0\r\n\r\n"), BOTH, 405),
    ("bare_lf_before_cl", req(b"X-Foo: a\nContent-Length: 5\r\n", b"hello"),
     BOTH, 405),
    ("bare_cr_line_end", b"GET /hello.txt HTTP/1.1\rHost: localhost\r\n\r\n",
     REJECT, 400),
    ("bare_cr_in_field_value", req(b"X-Foo: a\rContent-Length: 5\r\n",
                                   b"hello"), REJECT, 400),
    ("cr_cr_lf_line_end", req(b"X-Foo: a\r\r\n"), REJECT, 400),
    ("nul_in_field_value", req(b"X-Foo: a\x00b\r\n", method="GET"),
     REJECT, 400),
    ("soh_in_field_value", req(b"X-Foo: a\x01b\r\n", method="GET"),
     REJECT, 400),
    ("del_in_field_value", req(b"X-Foo: a\x7fb\r\n", method="GET"),
     REJECT, 400),
    ("escape_in_field_value", req(b"X-Foo: a\x1b[0mb\r\n", method="GET"),
     REJECT, 400),
    ("nul_in_field_name", req(b"X-F\x00oo: a\r\n", method="GET"),
     REJECT, 400),
    ("nul_in_request_target", b"GET /hello.txt\x00 HTTP/1.1\r\n"
     b"Host: localhost\r\n\r\n", REJECT, 400),
    ("obs_fold_any_field", req(b"X-Foo: a\r\n b\r\n", method="GET"),
     REJECT, 400),
    ("field_line_without_colon", req(b"X-Foo a\r\n", method="GET"),
     REJECT, 400),
    ("duplicate_host", req(b"Host: other\r\n", method="GET"), REJECT, 400),
    ("request_line_double_space", b"GET  /hello.txt HTTP/1.1\r\n"
     b"Host: localhost\r\n\r\n", REJECT, 400),
    ("request_line_tab", b"GET\t/hello.txt HTTP/1.1\r\n"
     b"Host: localhost\r\n\r\n", REJECT, 400),
    ("http09_request_line", b"GET /hello.txt\r\n\r\n", REJECT, 400),
    # WebSocket: a handshake with a body is refused (400) and its body
    # framed and discarded; after a 101, what follows is frames.
    ("ws_upgrade_with_body", req(WS_FIELDS + b"Content-Length: 5\r\n",
                                 b"hello", method="GET", target="/echo"),
     BOTH, 400),
    ("ws_upgrade_then_request", req(WS_FIELDS, method="GET",
                                    target="/echo"), UPGRADED, 101),
    # HTTP/1.0 without keep-alive: the connection ends after the answer.
    ("http10_cl_without_keepalive", cl(b"5", version="HTTP/1.0"),
     CLOSE, 405),
]


PARAMS = [v if hasattr(v, "values") else pytest.param(*v, id=v[0])
          for v in VECTORS]


@pytest.fixture(scope="module")
def smuggle_server(tmp_path_factory, big_file):
    """One daemon for every vector (each gets a fresh connection)."""
    tmp = tmp_path_factory.mktemp("smuggling")
    make_docroot(tmp, big_file[0])
    srv = Server(tmp, {"workers": 2})
    srv.start()
    pids = sorted(srv.workers())
    yield srv
    try:
        assert sorted(srv.workers()) == pids, "a worker was replaced"
    finally:
        srv.stop()


@pytest.mark.parametrize("name,data,outcome,first", PARAMS)
def test_vector_followed_by_request_has_one_safe_reading(
        smuggle_server, name, data, outcome, first):
    server = smuggle_server
    with server.connect() as sock:
        sock.sendall(data + MARKER)
        reader = Reader(sock)
        resp = reader.read_response()
        got = [resp.status]
        assert resp.status == first, (name, resp)
        if outcome == UPGRADED:
            rest = reader.read_until_close()
            assert rest[:1] == b"\x88", f"not a close frame: {rest[:40]!r}"
            assert b"HTTP/1.1" not in rest, rest
            return
        if outcome == REJECT:
            assert resp.header("Connection") == "close", resp
            assert reader.at_eof(5), "more than the rejection was sent"
            return
        if outcome in (BOTH, GARBAGE):
            second = reader.read_response()
            got.append(second.status)
            assert got == [first, 404 if outcome == BOTH else 400], got
            if outcome == GARBAGE:
                assert second.header("Connection") == "close", second
                assert reader.at_eof(5), "more than two responses"
                return
        if outcome == CLOSE:
            # Closed without the client's help: nothing more is parsed.
            assert reader.at_eof(5), f"{got} and the connection stays open"
            return
        # BOTH, SWALLOWED: nothing more may come, even once the client
        # says it has sent everything.
        sock.shutdown(socket.SHUT_WR)
        rest = reader.read_all_responses()
        assert [r.status for r in rest] == [], (got, rest)
