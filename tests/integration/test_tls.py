"""TLS listeners serving HTTP: static files over https (curl and raw
ssl sockets, pipelining), Strict-Transport-Security, plain HTTP sent to a
TLS port, the protocol and cipher floor and ALPN (openssl s_client), and
the TLS fields of the JSON access log. Sessions, client certificates and
the handshake counters are in test_tls_handshakes.py."""

import hashlib
import os
import socket
import ssl

import pytest

from conftest import (BIG_SIZE, DOCROOT_FILES, Reader, curl,
                      parse_curl_head, request_bytes)
from tlsprobe import (raw_tls_connect, s_client, s_client_refused, tls_get,
                      wait_counts, wait_records)

PLAIN_HTTP_MESSAGE = (b"The plain HTTP request was sent to an HTTPS port: "
                      b"use https://.")
HSTS = "max-age=31536000; includeSubDomains"  # "; " is no comment
SLICE = 1 << 20  # bytes of the Range slice of big.bin
SLICE_START = 12345678  # on no record or page boundary
PADDED = 200  # bytes of a padded pipelined request
RECORD = 16384  # plaintext bytes of a full TLS record
PIPELINE_TIMEOUT = 5  # seconds for a pipeline's answers (a stall fails)
STALL_HEADER_TIMEOUT = "60s"  # no 408 before the client gives up on a stall


def https(server, path):
    """The https URL of path on the TLS listener (the certificate names
    127.0.0.1, and curl goes there without trying ::1 first)."""
    return f"https://127.0.0.1:{server.tls_port}{path}"


def tls_curl(server, *args, **kw):
    """Run curl trusting the test CA; return the CompletedProcess."""
    return curl("--cacert", str(server.tls.ca_pem), *args, **kw)


# -- static files ----------------------------------------------------------


def test_small_file_is_served_over_tls(start_server):
    server = start_server(tls=True)
    r = tls_curl(server, "-D", "-", https(server, "/hello.txt"))
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    status, headers = parse_curl_head(head.decode())
    assert (status, body) == (200, DOCROOT_FILES["hello.txt"])
    assert headers["content-length"] == str(len(body))


def test_big_file_arrives_whole_over_tls(start_server, big_sha256, tmp_path):
    server = start_server(tls=True)
    out = tmp_path / "big.out"
    r = tls_curl(server, "-o", str(out), https(server, "/big.bin"),
                 timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size == BIG_SIZE
    assert hashlib.sha256(out.read_bytes()).hexdigest() == big_sha256


def test_range_slice_of_big_file_is_exact_over_tls(start_server, big_file):
    server = start_server(tls=True)
    last = SLICE_START + SLICE - 1
    r = tls_curl(server, "-D", "-", "-r", f"{SLICE_START}-{last}",
                 https(server, "/big.bin"))
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    status, headers = parse_curl_head(head.decode())
    assert status == 206
    assert headers["content-range"] == \
        f"bytes {SLICE_START}-{last}/{BIG_SIZE}"
    with open(big_file[0], "rb") as f:
        f.seek(SLICE_START)
        want = f.read(SLICE)
    assert len(body) == SLICE
    assert hashlib.sha256(body).digest() == hashlib.sha256(want).digest()


def test_head_over_tls_has_the_length_and_no_body(start_server):
    server = start_server(tls=True)
    r = tls_curl(server, "-I", https(server, "/digits.txt"))
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    status, headers = parse_curl_head(head.decode())
    assert status == 200
    assert headers["content-length"] == str(len(DOCROOT_FILES["digits.txt"]))
    assert body == b""


def test_matching_etag_gets_304_over_tls(start_server):
    server = start_server(tls=True)
    first = tls_curl(server, "-D", "-", "-o", "/dev/null",
                     https(server, "/a.txt"))
    etag = parse_curl_head(first.stdout.decode())[1]["etag"]
    r = tls_curl(server, "-D", "-", "-H", f"If-None-Match: {etag}",
                 https(server, "/a.txt"))
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    status, headers = parse_curl_head(head.decode())
    assert (status, body) == (304, b"")
    assert headers["etag"] == etag


def test_keepalive_serves_several_urls_on_one_tls_connection(start_server,
                                                             tmp_path):
    server = start_server(tls=True)
    names = ["a.txt", "b.txt", "c.txt", "hello.txt"]
    args = []
    for name in names:
        args += ["-o", str(tmp_path / f"{name}.out"),
                 https(server, f"/{name}")]
    r = tls_curl(server, "-w", "%{num_connects} %{http_code}\n", *args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split("\n") == \
        ["1 200"] + ["0 200"] * (len(names) - 1) + [""]
    for name in names:
        assert (tmp_path / f"{name}.out").read_bytes() == DOCROOT_FILES[name]


def test_pipelined_requests_in_one_write_are_answered_in_order(start_server):
    server = start_server(tls=True)
    names = ["a.txt", "b.txt", "c.txt", "hello.txt"]
    data = b"".join(request_bytes(f"/{n}") for n in names)
    data += request_bytes("/digits.txt", method="HEAD")
    with server.connect_tls() as s:
        s.sendall(data)
        reader = Reader(s)
        for name in names:
            resp = reader.read_response()
            assert (resp.status, resp.body) == (200, DOCROOT_FILES[name])
        resp = reader.read_response(head=True)
        assert resp.status == 200
        assert resp.header("Content-Length") == \
            str(len(DOCROOT_FILES["digits.txt"]))
        # The connection is still good for more.
        s.sendall(request_bytes("/hello.txt"))
        assert reader.read_response().body == DOCROOT_FILES["hello.txt"]


def padded_requests(names, last_headers=(), total=None):
    """Pipelined GETs of names, each padded to about PADDED bytes, the
    last one with last_headers and, with total, padded to make total."""
    pad = "X-Pad: " + "p" * (PADDED - 50)
    data = b"".join(request_bytes(f"/{n}", headers=[pad])
                    for n in names[:-1])
    last = request_bytes(f"/{names[-1]}", headers=[pad, *last_headers])
    if total is not None:
        last = last.replace(pad.encode(), pad.encode() + b"p" * (
            total - len(data) - len(last)))
        assert len(data) + len(last) == total
    return data + last


def read_pipelined(server, data):
    """Send data in one write on a new TLS connection; return every
    response until the server closes it."""
    with server.connect_tls() as s:
        s.sendall(data)
        return Reader(s, PIPELINE_TIMEOUT).read_all_responses()


def test_pipeline_in_one_record_beyond_the_input_buffer_is_answered(
        start_server):
    # One TLS record (under 16 KiB), many times the input buffer (2 *
    # max_header_size): what does not fit waits in OpenSSL, decrypted,
    # with nothing left on the socket for a read event to announce.
    server = start_server(tls=True, max_header_size="1k",
                          header_timeout=STALL_HEADER_TIMEOUT)
    names = ["a.txt", "b.txt", "c.txt"] * 20
    data = padded_requests(names, ["Connection: close"])
    assert 5 * 2048 < len(data) < RECORD
    got = read_pipelined(server, data)
    assert [(r.status, r.body) for r in got] == \
        [(200, DOCROOT_FILES[n]) for n in names]


def test_pipeline_ending_in_a_full_record_is_answered(start_server):
    # The default configuration: two full records. The second does not
    # fit in the buffer behind the partial request the first left there.
    server = start_server(tls=True, header_timeout=STALL_HEADER_TIMEOUT)
    names = ["a.txt", "b.txt", "c.txt"] * 50
    data = padded_requests(names, ["Connection: close"], total=2 * RECORD)
    got = read_pipelined(server, data)
    assert [(r.status, r.body) for r in got] == \
        [(200, DOCROOT_FILES[n]) for n in names]


def test_pipeline_of_several_records_in_one_write_is_answered(
        start_server):
    # Three records, the requests cut across them, the last one short
    # enough to be read whole into the input buffer.
    server = start_server(tls=True)
    names = ["a.txt", "b.txt", "c.txt"] * 55
    data = padded_requests(names, ["Connection: close"],
                           total=2 * RECORD + 1000)
    got = read_pipelined(server, data)
    assert [(r.status, r.body) for r in got] == \
        [(200, DOCROOT_FILES[n]) for n in names]


def test_requests_pipelined_behind_a_big_response_are_answered(
        start_server, big_file):
    # The slice fills the socket: the server waits to write, then comes
    # back to the requests that came with it.
    server = start_server(tls=True)
    last = SLICE_START + 4 * SLICE - 1
    names = ["a.txt", "b.txt"] * 20
    data = request_bytes("/big.bin", headers=[
        f"Range: bytes={SLICE_START}-{last}"]) + padded_requests(names)
    with server.connect_tls() as s:
        s.sendall(data)
        reader = Reader(s)
        resp = reader.read_response()
        assert (resp.status, len(resp.body)) == (206, 4 * SLICE)
        with open(big_file[0], "rb") as f:
            f.seek(SLICE_START)
            assert resp.body == f.read(4 * SLICE)
        for name in names:
            assert reader.read_response().body == DOCROOT_FILES[name]


def test_half_close_without_close_notify_still_gets_the_answers(
        start_server):
    # The client's TCP FIN with no close_notify before it: the end of its
    # input, as on a plain connection; what it asked for is answered.
    server = start_server(tls=True)
    names = ["a.txt", "b.txt", "c.txt"]
    with server.connect_tls() as s:
        s.sendall(b"".join(request_bytes(f"/{n}") for n in names))
        with socket.socket(fileno=os.dup(s.fileno())) as raw:
            raw.shutdown(socket.SHUT_WR)
        got = Reader(s).read_all_responses()
    assert [(r.status, r.body) for r in got] == \
        [(200, DOCROOT_FILES[n]) for n in names]


# The server closes without close_notify unless the connection lingers
# (conn_close() never calls ci_shutdown; only conn_linger_start() does):
# after a 400 the client may still be sending, so it lingers, but not
# after Connection: close nor at the keep-alive timeout.
@pytest.mark.parametrize("how", [
    "connection_close",
    "bad_request",
    "keepalive_timeout",
])
def test_server_closes_tls_connection_with_close_notify(start_server, how):
    # Without OP_IGNORE_UNEXPECTED_EOF, a FIN with no close_notify before
    # it raises SSLError (unexpected eof); a clean close reads as b"".
    server = start_server(tls=True, keepalive_timeout="1s")
    ctx = server.tls_context()
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    with server.connect_tls(context=ctx) as s:
        if how == "connection_close":
            s.sendall(request_bytes("/a.txt", headers=["Connection: close"]))
        elif how == "bad_request":
            s.sendall(b"GET /a.txt HTTP/1.1\r\nno colon here\r\n\r\n")
        else:
            s.sendall(request_bytes("/a.txt"))
        reader = Reader(s)
        resp = reader.read_response()
        assert resp.status == (400 if how == "bad_request" else 200)
        assert reader.at_eof(), "not closed"


# -- Strict-Transport-Security ----------------------------------------------


def test_hsts_is_sent_on_tls_responses_when_set(start_server):
    server = start_server(tls=True, tls_hsts=HSTS)
    ok = tls_get(server, "/hello.txt")
    missing = tls_get(server, "/no-such-file")
    assert (ok.status, missing.status) == (200, 404)
    assert ok.headers_named("Strict-Transport-Security") == [HSTS]
    assert missing.headers_named("Strict-Transport-Security") == [HSTS]


def test_hsts_is_not_sent_on_the_plain_listener(start_server):
    server = start_server(tls=True, tls_hsts=HSTS)
    resp = server.get("/hello.txt")
    assert resp.status == 200
    assert resp.header("Strict-Transport-Security") is None, resp


@pytest.mark.parametrize("hsts", [None, ""], ids=["unset", "empty"])
def test_hsts_is_not_sent_when_not_configured(start_server, hsts):
    server = start_server(tls=True, tls_hsts=hsts)
    resp = tls_get(server, "/hello.txt")
    assert resp.status == 200
    assert resp.header("Strict-Transport-Security") is None, resp


# -- plain HTTP on the TLS port -----------------------------------------


def plain_to_tls_port(server):
    """Send a plain GET to the TLS port; return (response, whether the
    server closed the connection after it)."""
    with raw_tls_connect(server) as s:
        s.sendall(request_bytes("/hello.txt"))
        reader = Reader(s)
        return reader.read_response(), reader.at_eof()


def test_plain_http_to_tls_port_gets_400_saying_so_and_close(start_server):
    server = start_server(tls=True, tls_hsts=HSTS)
    resp, closed = plain_to_tls_port(server)
    assert resp.status == 400
    assert PLAIN_HTTP_MESSAGE in resp.body
    assert resp.header("Connection") == "close"
    assert closed, "connection left open after the 400"
    # Not over TLS: no Strict-Transport-Security either (RFC 6797 7.2).
    assert resp.header("Strict-Transport-Security") is None, resp


def test_plain_http_to_tls_port_is_logged_with_status_400(start_server):
    server = start_server(tls=True, format="json")
    plain_to_tls_port(server)
    (record,) = wait_records(server, 1)
    assert (record["method"], record["target"], record["status"]) == \
        ("GET", "/hello.txt", 400)
    assert "tls_protocol" not in record, record


def test_plain_http_to_tls_port_is_counted_as_plain_http(start_server):
    server = start_server(tls=True)
    plain_to_tls_port(server)
    plain_to_tls_port(server)
    wait_counts(server, plain_http=2)


# -- protocols, ciphers, ALPN ----------------------------------------------

# The client's own floor (SECLEVEL) would refuse TLS 1.0 and 1.1 before
# sending anything: lowered, the client offers them and the server says no.
OLD_CLIENT = ("-cipher", "DEFAULT:@SECLEVEL=0")


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls_before_1_2_is_refused(start_server, version):
    server = start_server(tls=True)
    r = s_client_refused(server, version, *OLD_CLIENT)
    assert "alert protocol version" in r.out, r
    wait_counts(server, protocol=1)


@pytest.mark.parametrize("version,protocol", [("-tls1_2", "TLSv1.2"),
                                              ("-tls1_3", "TLSv1.3")])
def test_tls_1_2_and_1_3_are_accepted(start_server, version, protocol):
    server = start_server(tls=True)
    r = s_client(server, version)
    assert r.served and r.protocol == protocol, r
    wait_counts(server, full=1)


@pytest.mark.parametrize("cipher", [
    "AES128-SHA",  # RSA key exchange, CBC, SHA-1
    "ECDHE-ECDSA-AES128-SHA",  # forward secret, but CBC and SHA-1
    "ECDHE-ECDSA-AES256-SHA384",  # forward secret, but CBC
])
def test_weak_tls_1_2_cipher_is_refused(start_server, cipher):
    server = start_server(tls=True)
    r = s_client_refused(server, "-tls1_2", "-cipher", cipher)
    assert "alert handshake failure" in r.out, r
    wait_counts(server, protocol=1)


def test_strong_tls_1_2_cipher_is_accepted(start_server):
    server = start_server(tls=True)
    r = s_client(server, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert r.served and r.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256", r


def test_protocols_tls_1_3_only_refuses_a_tls_1_2_client(start_server):
    server = start_server(tls=True, tls_protocols="TLSv1.3")
    s_client_refused(server, "-tls1_2")
    r = s_client(server, "-tls1_3")
    assert r.served and r.protocol == "TLSv1.3", r
    wait_counts(server, full=1, protocol=1)


def test_alpn_selects_http_1_1_among_the_offers(start_server):
    server = start_server(tls=True)
    r = s_client(server, "-alpn", "h2,http/1.1")
    assert r.served and r.alpn == "http/1.1", r


def test_alpn_without_http_1_1_gets_no_answer_and_goes_on(start_server):
    server = start_server(tls=True)
    r = s_client(server, "-alpn", "h2")
    assert r.served, r
    assert r.alpn is None and "No ALPN negotiated" in r.out, r


# -- the JSON access log -------------------------------------------------


def test_json_log_lines_over_tls_have_protocol_and_cipher(start_server):
    server = start_server(tls=True, format="json")
    r12 = s_client(server, "-tls1_2")
    r13 = s_client(server, "-tls1_3")
    assert r12.served and r13.served, (r12, r13)
    records = wait_records(server, 2)
    got = sorted((x["tls_protocol"], x["tls_cipher"]) for x in records)
    assert got == [(r12.protocol, r12.cipher), (r13.protocol, r13.cipher)]
    assert all("tls_client_subject" not in x for x in records), records


def test_json_log_lines_of_plain_requests_have_no_tls_fields(start_server):
    server = start_server(tls=True, format="json")
    assert server.get("/hello.txt").status == 200
    (record,) = wait_records(server, 1)
    assert record["status"] == 200
    assert not [k for k in record if k.startswith("tls_")], record
