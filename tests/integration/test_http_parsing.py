"""HTTP/1.1 request parsing, over raw sockets."""

import json
import ssl
import time

import pytest

from conftest import DOCROOT_FILES, Reader, poll, request_bytes
from test_shm_log import access_lines


def exchange(server, data, **kw):
    """Send data on a new connection; return (first response, reader)."""
    sock = server.connect()
    sock.sendall(data)
    reader = Reader(sock)
    return reader.read_response(**kw), reader


def assert_rejected_and_closed(server, data, status):
    """data draws status with Connection: close, and the server closes."""
    resp, reader = exchange(server, data)
    assert resp.status == status, resp
    assert resp.header("Connection") == "close", resp
    assert reader.at_eof(5), "connection left open after the error"
    reader.sock.close()
    return resp


def tls_client_hello():
    """The first flight of a real TLS client: a record holding its
    ClientHello, made in memory."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = ssl.MemoryBIO()
    tls = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = out.read()
    assert hello[:3] == b"\x16\x03\x01", hello[:16]  # a handshake record
    return hello


# No line end comes; the bytes cannot begin a request line (a method is a
# token) and get 400 without the wait for header_timeout, which far
# exceeds the read timeout here: a late answer fails the read.
@pytest.mark.parametrize("data", [
    tls_client_hello(),
    b"GET\x00",
], ids=["tls_client_hello", "nul_in_unfinished_method"])
def test_bytes_no_request_starts_with_get_400_at_once(start_server, data):
    server = start_server(header_timeout="30s")
    sock = server.connect()
    sock.sendall(data)
    reader = Reader(sock, timeout=5)
    resp = reader.read_response()
    assert resp.status == 400, resp
    assert resp.header("Connection") == "close", resp
    assert reader.at_eof(5), "connection left open after the error"
    sock.close()


def test_tls_client_hello_is_logged_as_400_with_its_first_bytes(
        start_server):
    # The record keeps what came, up to the first NUL (the length of a
    # record under 16 KiB, or of the ClientHello in it): all the target.
    server = start_server(format="json")
    hello = tls_client_hello()
    sock = server.connect()
    sock.sendall(hello)
    assert Reader(sock).read_response().status == 400
    sock.close()
    poll(lambda: access_lines(server), 5, what="the access-log line")
    record = json.loads(access_lines(server)[0])
    assert record["status"] == 400
    assert (record["method"], record["protocol"]) == ("", "")
    assert record["target"].encode("latin-1") == hello[:hello.index(0)]


def test_request_split_one_byte_per_send_is_answered(server):
    data = request_bytes("/hello.txt", headers=["Connection: close"])
    sock = server.connect()
    sock.setsockopt(6, 1, 1)  # TCP_NODELAY: one segment per byte
    for i in range(len(data)):
        sock.sendall(data[i:i + 1])
        time.sleep(0.002)
    resp = Reader(sock).read_response()
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]
    sock.close()


def test_header_over_max_header_size_is_431(start_server):
    server = start_server(max_header_size="1k")
    data = request_bytes("/hello.txt", headers=["X-Big: " + "a" * 2000])
    assert_rejected_and_closed(server, data, 431)


def test_header_just_under_max_header_size_is_served(start_server):
    server = start_server(max_header_size="1k")
    pad = 1024 - len(request_bytes("/hello.txt", headers=["X-Big: "]))
    data = request_bytes("/hello.txt", headers=["X-Big: " + "a" * pad])
    assert len(data) == 1024  # the whole header, final CRLF included
    resp, _ = exchange(server, data)
    assert resp.status == 200, resp


def test_request_line_longer_than_max_header_size_is_414(start_server):
    server = start_server(max_header_size="1k")
    data = request_bytes("/" + "a" * 2000)
    assert_rejected_and_closed(server, data, 414)


def test_whitespace_before_colon_is_400(server):
    data = request_bytes("/hello.txt", headers=["X-Foo : bar"])
    assert_rejected_and_closed(server, data, 400)


def test_two_different_content_lengths_are_400(server):
    data = request_bytes("/hello.txt",
                         headers=["Content-Length: 3", "Content-Length: 4"],
                         body=b"abcd")
    assert_rejected_and_closed(server, data, 400)


def test_content_length_with_transfer_encoding_is_400(server):
    data = request_bytes(
        "/hello.txt", method="POST",
        headers=["Content-Length: 5", "Transfer-Encoding: chunked"],
        body=b"0\r\n\r\n")
    assert_rejected_and_closed(server, data, 400)


def test_invalid_char_in_method_is_400(server):
    assert_rejected_and_closed(server, request_bytes("/", method="GE(T"), 400)


def test_invalid_char_in_field_name_is_400(server):
    data = request_bytes("/hello.txt", headers=["X@Bad: value"])
    assert_rejected_and_closed(server, data, 400)


def test_bare_cr_in_header_is_400_and_close(server):
    data = request_bytes("/hello.txt", headers=["X-Foo: a\rb"])
    assert_rejected_and_closed(server, data, 400)


def test_http11_without_host_is_400(server):
    data = request_bytes("/hello.txt", host=None)
    assert_rejected_and_closed(server, data, 400)


def test_http10_without_host_is_served(server):
    resp, _ = exchange(server,
                       request_bytes("/hello.txt", version="HTTP/1.0",
                                     host=None))
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]


def test_http_2_0_request_is_505(server):
    data = request_bytes("/hello.txt", version="HTTP/2.0")
    resp = assert_rejected_and_closed(server, data, 505)
    assert resp.reason == "HTTP Version Not Supported"


def test_absolute_form_target_is_served(server):
    data = request_bytes("http://example.com/hello.txt", host="example.com")
    resp, _ = exchange(server, data)
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]


def test_unknown_method_is_501(server):
    resp, _ = exchange(server, request_bytes("/hello.txt", method="BREW"))
    assert resp.status == 501, resp
    assert resp.reason == "Not Implemented"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_write_method_is_405_with_allow_get_head(server, method):
    data = request_bytes("/hello.txt", method=method,
                         headers=["Content-Length: 0"])
    resp, _ = exchange(server, data)
    assert resp.status == 405, resp
    assert resp.header("Allow") == "GET, HEAD"
    assert resp.body != DOCROOT_FILES["hello.txt"]


@pytest.mark.parametrize("path,status", [
    ("/missing.txt", 404), ("/%00", 400)])
def test_error_response_has_small_html_body(server, path, status):
    resp = server.get(path)
    assert resp.status == status
    assert resp.header("Content-Type") == "text/html; charset=utf-8"
    assert int(resp.header("Content-Length")) == len(resp.body)
    assert 0 < len(resp.body) < 1024
    text = resp.body.decode()
    assert text.startswith("<!DOCTYPE html>")
    assert f"{status} {resp.reason}" in text


def test_head_error_response_has_no_body(server):
    sock = server.connect()
    sock.sendall(request_bytes("/missing.txt", method="HEAD")
                 + request_bytes("/hello.txt"))
    reader = Reader(sock)
    first = reader.read_response(head=True)
    assert first.status == 404
    assert int(first.header("Content-Length")) > 0
    second = reader.read_response()  # would be garbled by a 404 body
    assert second.status == 200
    assert second.body == DOCROOT_FILES["hello.txt"]
    sock.close()


# A body that would be answered 404 if it were taken for a request.
DECOY = request_bytes("/decoy-must-not-be-requested.txt")


def test_content_length_body_on_get_is_discarded_before_next_request(
        server):
    data = (request_bytes("/hello.txt",
                          headers=[f"Content-Length: {len(DECOY)}"],
                          body=DECOY)
            + request_bytes("/a.txt", headers=["Connection: close"]))
    responses = server.exchange(data)
    assert [r.status for r in responses] == [200, 200]
    assert responses[0].body == DOCROOT_FILES["hello.txt"]
    assert responses[1].body == DOCROOT_FILES["a.txt"]


def test_content_length_body_on_post_is_discarded_after_405(server):
    data = (request_bytes("/hello.txt", method="POST",
                          headers=[f"Content-Length: {len(DECOY)}"],
                          body=DECOY)
            + request_bytes("/a.txt", headers=["Connection: close"]))
    responses = server.exchange(data)
    assert [r.status for r in responses] == [405, 200]
    assert responses[1].body == DOCROOT_FILES["a.txt"]


def chunked(payload, size=7):
    """payload in chunks of size bytes, with an extension and a trailer."""
    out = b""
    for i in range(0, len(payload), size):
        part = payload[i:i + size]
        out += b"%x;ext=1\r\n%s\r\n" % (len(part), part)
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


def test_chunked_body_on_post_is_discarded_after_405(server):
    data = (request_bytes("/hello.txt", method="POST",
                          headers=["Transfer-Encoding: chunked"],
                          body=chunked(DECOY))
            + request_bytes("/b.txt", headers=["Connection: close"]))
    responses = server.exchange(data)
    assert [r.status for r in responses] == [405, 200]
    assert responses[1].body == DOCROOT_FILES["b.txt"]


def test_chunked_body_on_get_is_discarded_before_next_request(server):
    data = (request_bytes("/hello.txt",
                          headers=["Transfer-Encoding: chunked"],
                          body=chunked(DECOY))
            + request_bytes("/c.txt", headers=["Connection: close"]))
    responses = server.exchange(data)
    assert [r.status for r in responses] == [200, 200]
    assert responses[0].body == DOCROOT_FILES["hello.txt"]
    assert responses[1].body == DOCROOT_FILES["c.txt"]


def test_body_arriving_after_the_response_is_still_discarded(server):
    sock = server.connect()
    sock.sendall(request_bytes("/hello.txt", method="POST",
                               headers=[f"Content-Length: {len(DECOY)}"]))
    reader = Reader(sock)
    first = reader.read_response()
    assert first.status == 405
    sock.sendall(DECOY[:10])
    time.sleep(0.05)  # let the two parts travel apart
    sock.sendall(DECOY[10:] + request_bytes("/a.txt",
                                            headers=["Connection: close"]))
    rest = reader.read_all_responses()
    assert [r.status for r in rest] == [200]
    assert rest[0].body == DOCROOT_FILES["a.txt"]
    sock.close()


def test_large_content_length_body_is_discarded_before_next_request(server):
    body = (DECOY * (1 + (1 << 20) // len(DECOY)))[:1 << 20]  # 1 MiB
    data = (request_bytes("/hello.txt", method="POST",
                          headers=[f"Content-Length: {len(body)}"],
                          body=body)
            + request_bytes("/a.txt", headers=["Connection: close"]))
    responses = server.exchange(data)
    assert [r.status for r in responses] == [405, 200]
    assert responses[1].body == DOCROOT_FILES["a.txt"]


def test_large_chunked_body_is_discarded_before_next_request(server):
    payload = (DECOY * (1 + (1 << 20) // len(DECOY)))[:1 << 20]  # 1 MiB
    data = (request_bytes("/hello.txt", method="POST",
                          headers=["Transfer-Encoding: chunked"],
                          body=chunked(payload, size=10000))
            + request_bytes("/a.txt", headers=["Connection: close"]))
    responses = server.exchange(data)
    assert [r.status for r in responses] == [405, 200]
    assert responses[1].body == DOCROOT_FILES["a.txt"]


def test_malformed_chunked_body_is_400_and_closes(server):
    data = (request_bytes("/hello.txt", method="POST",
                          headers=["Transfer-Encoding: chunked"],
                          body=b"zz\r\nnot hex\r\n0\r\n\r\n")
            + request_bytes("/a.txt"))
    sock = server.connect()
    sock.sendall(data)
    responses = Reader(sock).read_all_responses()
    # The framing is lost: nothing after the 400 may be taken as a request.
    assert [r.status for r in responses] == [400]
    assert responses[0].header("Connection") == "close"
    sock.close()


def test_chunk_size_of_2_pow_64_is_400_and_closes(server):
    # A GET, which would be answered 200: the size cannot be represented,
    # so the request is malformed (nginx answers 400 too).
    assert_rejected_and_closed(
        server, request_bytes("/hello.txt",
                              headers=["Transfer-Encoding: chunked"],
                              body=b"10000000000000000\r\nhello\r\n"),
        400)


def test_malformed_chunk_after_the_response_closes_the_connection(server):
    sock = server.connect()
    sock.sendall(request_bytes("/hello.txt",
                               headers=["Transfer-Encoding: chunked"]))
    reader = Reader(sock)
    first = reader.read_response()
    assert first.status == 200  # answered before the body came
    sock.sendall(b"10000000000000000\r\nhello\r\n" + request_bytes("/a.txt"))
    # The framing is lost: the connection closes, nothing more is answered.
    assert reader.read_all_responses() == []
    sock.close()
