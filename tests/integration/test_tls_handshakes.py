"""TLS handshakes: session resumption across workers (openssl s_client
-sess_out / -sess_in), client certificates ([tls] verify_client), and
the handshake counters statsdump reports: full and resumed apart, the
failures by class."""

import re
import select
import ssl
import subprocess
import time

import pytest

from conftest import Reader
from test_statsdump import parse_prometheus, value
from tlsprobe import (FAIL_CLASSES, client_hello, raw_tls_connect, s_client,
                      s_client_refused, statsdump, statsdump_text, tls_counts,
                      tls_get, tls_refusal, wait_counts, wait_records)

RESUMES = 20  # -sess_in runs at least, each on a new connection
MAX_RUNS = 200  # -sess_in runs at most, for every worker to get some
SESSION_NEW = 5  # handshakes where no session may be handed out
ALICE = "O=pfhttpd tests,CN=alice"  # the client certificate's subject
# A subject with what RFC 2253 escapes (quote, backslash, comma, + ; < >)
# and UTF-8: openssl -subj syntax, and the subject as the log has it.
ODD_SUBJECT = r'/CN=Zoë "the \\ tester", x/O=a\+b;c<d>'
ODD_LOGGED = r'O=a\+b\;c\<d\>,CN=Zoë \"the \\ tester\"\, x'
DRIP = 0.05  # seconds between the bytes of a dripped hello
DRIP_LIMIT = 6  # seconds a 1s header_timeout may take on a loaded machine
VERSIONS = {"-tls1_2": ssl.TLSVersion.TLSv1_2,
            "-tls1_3": ssl.TLSVersion.TLSv1_3}
# The alert that refuses a client without a certificate, by version.
NO_CERTIFICATE_ALERT = {"-tls1_2": "SSLV3_ALERT_HANDSHAKE_FAILURE",
                        "-tls1_3": "TLSV13_ALERT_CERTIFICATE_REQUIRED"}
# Each test so marked runs once a protocol version (s_client's option).
EACH_VERSION = pytest.mark.parametrize("version", sorted(VERSIONS))


# -- resumption ----------------------------------------------------------


def resumed_by_worker(server):
    """{pid: resumed handshakes} of the serving workers."""
    return {w["pid"]: w["tls_resumed"] for w in statsdump(server)["workers"]
            if w["state"] == "serving"}


@EACH_VERSION
def test_session_resumes_on_every_worker(start_server, tmp_path, version):
    # One full handshake makes the session; then new connections land on
    # either worker, and each resumes it, whichever worker made it.
    server = start_server(tls=True, workers=2)
    sess = tmp_path / "session.pem"
    first = s_client(server, version, "-sess_out", sess)
    assert first.served and first.session == "New", first
    assert "TLS session ticket" in first.out, first
    runs = 0
    while runs < RESUMES or not (
            len(by := resumed_by_worker(server)) == 2 and all(by.values())):
        assert runs < MAX_RUNS, f"resumed only on some workers: {by}"
        r = s_client(server, version, "-sess_in", sess)
        assert r.served and r.session == "Reused", r
        runs += 1
    wait_counts(server, full=1, resumed=runs)


@EACH_VERSION
def test_no_session_is_handed_out_without_session_tickets(start_server,
                                                          tmp_path, version):
    # Neither a ticket nor a session id (no per-worker cache): s_client
    # has nothing it could resume, and -sess_out writes no file; every
    # handshake is a full one.
    server = start_server(tls=True, workers=2, tls_session_tickets="no")
    sess = tmp_path / "session.pem"
    for _ in range(SESSION_NEW):
        r = s_client(server, version, "-sess_out", sess)
        assert r.served and r.session == "New", r
        assert "TLS session ticket" not in r.out, r
        assert not re.search(r"^ *Session-ID: \S", r.out, re.M), r
        assert not sess.exists(), r
    wait_counts(server, full=SESSION_NEW)


# -- client certificates -------------------------------------------------


def client_context(server, version, who=None):
    """A client context speaking only version, presenting the certificate
    of who ("client", "stranger") or none."""
    if who is None:
        ctx = server.tls_context()
    else:
        ctx = server.tls_context(getattr(server.tls, f"{who}_pem"),
                                 getattr(server.tls, f"{who}_key"))
    ctx.minimum_version = ctx.maximum_version = VERSIONS[version]
    return ctx


@EACH_VERSION
@pytest.mark.parametrize("verify", ["require", "optional"])
def test_stranger_certificate_is_refused(start_server, version, verify):
    server = start_server(tls=True, tls_verify_client=verify)
    e = tls_refusal(server, client_context(server, version, "stranger"))
    assert e.reason == "TLSV1_ALERT_UNKNOWN_CA", e
    wait_counts(server, client_cert=1)


@EACH_VERSION
def test_require_refuses_a_client_without_certificate(start_server,
                                                      version):
    server = start_server(tls=True, tls_verify_client="require")
    e = tls_refusal(server, client_context(server, version))
    assert e.reason == NO_CERTIFICATE_ALERT[version], e
    wait_counts(server, client_cert=1)


@EACH_VERSION
@pytest.mark.parametrize("verify", ["require", "optional"])
def test_client_certificate_is_served_and_its_subject_logged(
        start_server, version, verify):
    server = start_server(tls=True, tls_verify_client=verify,
                          format="json")
    resp = tls_get(server, "/hello.txt",
                   context=client_context(server, version, "client"))
    assert resp.status == 200
    (record,) = wait_records(server, 1)
    assert record["tls_client_subject"] == ALICE, record
    wait_counts(server, full=1)


@EACH_VERSION
def test_optional_serves_a_client_without_certificate_unnamed(start_server,
                                                              version):
    server = start_server(tls=True, tls_verify_client="optional",
                          format="json")
    resp = tls_get(server, "/hello.txt", context=client_context(server,
                                                                version))
    assert resp.status == 200
    (record,) = wait_records(server, 1)
    assert "tls_protocol" in record, record
    assert "tls_client_subject" not in record, record
    wait_counts(server, full=1)


@EACH_VERSION
def test_no_client_certificate_is_asked_for_without_verify_client(
        start_server, version):
    server = start_server(tls=True, format="json")
    resp = tls_get(server, "/hello.txt",
                   context=client_context(server, version, "client"))
    assert resp.status == 200
    (record,) = wait_records(server, 1)
    assert "tls_client_subject" not in record, record


def issue_client_certificate(certs, d, subject):
    """A client certificate for subject signed by the test CA, in d;
    return (certificate, key)."""
    key, csr, pem = d / "odd.key", d / "odd.csr", d / "odd.pem"
    ext = d / "odd.ext"
    ext.write_text("basicConstraints=CA:FALSE\n")
    for args in (["ecparam", "-name", "prime256v1", "-genkey", "-noout",
                  "-out", key],
                 ["req", "-new", "-utf8", "-key", key, "-subj", subject,
                  "-out", csr],
                 ["x509", "-req", "-in", csr, "-CA", certs.ca_pem,
                  "-CAkey", certs.ca_key, "-set_serial", "4242", "-days",
                  "2", "-extfile", ext, "-out", pem]):
        subprocess.run(["openssl", *map(str, args)], check=True,
                       capture_output=True, timeout=30)
    return pem, key


def test_client_subject_with_escapes_and_utf8_is_logged_exactly(
        start_server, tmp_path):
    server = start_server(tls=True, tls_verify_client="require",
                          format="json")
    pem, key = issue_client_certificate(server.tls, tmp_path, ODD_SUBJECT)
    resp = tls_get(server, "/hello.txt", context=server.tls_context(pem, key))
    assert resp.status == 200
    (record,) = wait_records(server, 1)
    assert record["tls_client_subject"] == ODD_LOGGED


@EACH_VERSION
def test_resumed_session_keeps_the_client_subject(start_server, tmp_path,
                                                  version):
    server = start_server(tls=True, tls_verify_client="require",
                          format="json")
    sess = tmp_path / "session.pem"
    cert = ("-cert", server.tls.client_pem, "-key", server.tls.client_key)
    first = s_client(server, version, *cert, "-sess_out", sess)
    assert first.served and first.session == "New", first
    again = s_client(server, version, *cert, "-sess_in", sess)
    assert again.served and again.session == "Reused", again
    records = wait_records(server, 2)
    assert [x.get("tls_client_subject") for x in records] == [ALICE] * 2
    wait_counts(server, full=1, resumed=1)


# -- failure classes -------------------------------------------------------


def test_silent_client_is_counted_as_handshake_timeout(start_server):
    server = start_server(tls=True, header_timeout="1s")
    with raw_tls_connect(server) as s:
        assert Reader(s).at_eof(), "not closed after header_timeout"
    wait_counts(server, timeout=1)


def test_stalled_hello_is_counted_as_handshake_timeout(start_server):
    # Half a ClientHello: past the first byte, OpenSSL waits for the rest.
    server = start_server(tls=True, header_timeout="1s")
    with raw_tls_connect(server) as s:
        hello = client_hello()
        s.sendall(hello[:len(hello) // 2])
        assert Reader(s).at_eof(), "not closed after header_timeout"
    wait_counts(server, timeout=1)


@pytest.mark.parametrize("send_hello", [False, True],
                         ids=["nothing_sent", "after_the_hello"])
def test_client_closing_in_the_handshake_is_counted_as_closed(
        start_server, send_hello):
    server = start_server(tls=True)
    with raw_tls_connect(server) as s:
        if send_hello:
            s.sendall(client_hello())
    wait_counts(server, closed=1)


def test_each_failure_class_is_counted_apart(start_server):
    server = start_server(tls=True, tls_verify_client="require",
                          header_timeout="1s")
    s_client_refused(server, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    tls_refusal(server, client_context(server, "-tls1_3"))
    with raw_tls_connect(server) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert Reader(s).read_response().status == 400
    with raw_tls_connect(server) as s:
        assert Reader(s).at_eof(), "not closed after header_timeout"
    raw_tls_connect(server).close()
    assert tls_get(server, "/hello.txt", context=client_context(
        server, "-tls1_3", "client")).status == 200
    wait_counts(server, full=1, **{c: 1 for c in FAIL_CLASSES})
    fams = parse_prometheus(statsdump_text(server, "--prometheus"))
    for cls in FAIL_CLASSES:
        assert value(fams, "pfhttpd_tls_handshake_failures_total",
                     **{"class": cls}) == 1, cls
    assert value(fams, "pfhttpd_tls_handshakes_total", kind="full") == 1
    assert value(fams, "pfhttpd_tls_handshakes_total", kind="resumed") == 0
    assert tls_counts(server)["failed"] == {c: 1 for c in FAIL_CLASSES}


def test_handshake_dripped_byte_by_byte_is_cut_off_at_header_timeout(
        start_server):
    # Each byte is progress for OpenSSL, but the handshake as a whole has
    # header_timeout: the drip (a byte every DRIP seconds, the hello
    # would take far longer) is cut off near it.
    server = start_server(tls=True, header_timeout="1s")
    hello = client_hello()
    assert len(hello) * DRIP > 2 * DRIP_LIMIT
    start = time.monotonic()
    with raw_tls_connect(server) as s:
        for i in range(len(hello)):
            try:
                s.sendall(hello[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([s], [], [], DRIP)[0]:
                break  # the server closed (or, wrongly, answered)
            assert time.monotonic() - start < DRIP_LIMIT, "not cut off"
        assert Reader(s).at_eof(), "the server answered a partial hello"
    wait_counts(server, timeout=1)


def test_idle_client_after_the_handshake_is_no_handshake_failure(
        start_server):
    # header_timeout passes again, now waiting for a request: that is the
    # HTTP timeout, and the handshake counts as a full one, not a failure.
    server = start_server(tls=True, header_timeout="1s")
    with server.connect_tls() as s:
        assert Reader(s).at_eof(), "not closed after header_timeout"
    wait_counts(server, full=1)
