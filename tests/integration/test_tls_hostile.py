"""Hostile TLS clients (issue 15, "Bad input"): garbage instead of a
ClientHello, a handshake that stalls, a truncated record, a client that
vanishes mid-handshake or closes without close_notify, an oversized
record, renegotiation and KeyUpdate (also while the server cannot send),
a crowd of stalled handshakes, and thousands of failed handshakes of
every kind. Each connection is answered (a TLS alert at most) or closed
within a bound, a failed handshake is counted in the right class of
statsdump's tls.failed, and none costs the worker more than that
connection: the same workers run afterwards and serve a normal TLS
request, with no descriptor or memory left behind.

Handshake bytes are real: Python's ssl over memory BIOs builds a
ClientHello or a sealed record that the test sends, cuts or stops
sending as it likes; renegotiation and KeyUpdate come from `openssl
s_client`. Outside the tests of stalls, header_timeout is long
(LONG_HEADER_TIMEOUT), so a close within CLOSE_BOUND is not the timer's.
"""

import os
import select
import selectors
import socket
import ssl
import struct
import subprocess
import threading
import time
import warnings

import pytest

from conftest import (DOCROOT_FILES, IO_TIMEOUT, SANITIZED, fd_count,
                      open_connections, poll, request_bytes, tcp_queues)
from hostile_util import proc_status_kib, run_clients, statsdump

CLOSE_BOUND = IO_TIMEOUT  # seconds the server may take to answer or close
LONG_HEADER_TIMEOUT = "60s"  # far beyond CLOSE_BOUND
HEADER_TIMEOUT = 1.0  # seconds: header_timeout of the tests of stalls
EARLY = 0.1  # seconds a timed close may come before header_timeout
FAIL_CLASSES = ("protocol", "client_cert", "plain_http", "timeout",
                "closed")
HELLO = DOCROOT_FILES["hello.txt"]
GET = request_bytes("/hello.txt")
ALERT = 0x15  # TLS record content type of an alert
RECORD_OVERFLOW = b"\x02\x16"  # a fatal record_overflow alert
PROTOCOL_VERSION = b"\x02\x46"  # a fatal protocol_version alert
WORKER_DEATHS = ("killed by signal", "exited with status", "died soon")


# -- counters and workers ---------------------------------------------------


def tls_counters(server):
    """The "tls" object of statsdump --json."""
    return statsdump(server)["tls"]


def assert_counted(server, before, cls=None, n=1, full=0):
    """Wait until the failure class cls has grown by n since before (a
    "tls" object), and full handshakes by full; no other class moves."""
    want = dict(before["failed"])
    if cls is not None:
        want[cls] += n
    poll(lambda: tls_counters(server)["failed"] == want, IO_TIMEOUT,
         what=f"tls.failed == {want}")
    after = tls_counters(server)
    assert after["failed"] == want, after
    assert after["full"] == before["full"] + full, (before, after)


def tls_get(server, path="/hello.txt"):
    """One request on a new TLS connection: (status, body)."""
    with server.connect_tls() as s:
        s.sendall(request_bytes(path, headers=["Connection: close"]))
        raw = bytearray()
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = bytes(raw).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def assert_unharmed(server, workers):
    """The workers are the ones of before, none died, no connection is
    left open, and a normal TLS request is served."""
    assert sorted(server.workers()) == workers, "a worker was replaced"
    serving = sorted(w["pid"] for w in statsdump(server)["workers"]
                     if w["state"] == "serving")
    assert serving == workers, serving
    log = server.error_log_text()
    for sign in WORKER_DEATHS:
        assert sign not in log, f"error log: {sign!r}:\n{log[-2000:]}"
    poll(lambda: statsdump(server)["connections_active"] == 0, IO_TIMEOUT,
         what="every connection to be closed")
    assert tls_get(server) == (200, HELLO)


def ms(seconds):
    """A duration for the configuration."""
    return f"{round(seconds * 1000)}ms"


def start(start_server, **overrides):
    """A TLS server with one worker (every hostile connection lands on
    it); return it with [its pid] and the "tls" counters now."""
    values = {"workers": 1, "header_timeout": LONG_HEADER_TIMEOUT}
    values.update(overrides)
    server = start_server(tls=True, **values)
    return server, sorted(server.workers()), tls_counters(server)


# -- raw clients ------------------------------------------------------------


def tls_connect(server):
    """A plain TCP connection to the TLS listener."""
    return socket.create_connection(("127.0.0.1", server.tls_port),
                                    IO_TIMEOUT)


def read_to_close(sock, timeout=CLOSE_BOUND):
    """Read until the server closes; return what it sent. A reset counts
    as a close. Raises socket.timeout past timeout."""
    t0 = time.monotonic()
    got = bytearray()
    while True:
        left = t0 + timeout - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"no close after {timeout}s: got "
                                 f"{bytes(got[:40])!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return bytes(got)
        got += chunk


def reset(sock):
    """Close sock with a RST (SO_LINGER 0) instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


def alerts_only(data):
    """True if data is nothing, or TLS alert records only."""
    while data:
        if data[0] != ALERT or len(data) < 5:
            return False
        data = data[5 + int.from_bytes(data[3:5], "big"):]
    return True


def client_hello(server, context=None):
    """The bytes of a real ClientHello (of no connection)."""
    out = ssl.MemoryBIO()
    ctx = context if context is not None else server.tls_context()
    tls = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return out.read()


class BioClient:
    """A TLS client whose bytes pass through the test: Python's ssl on
    memory BIOs over a plain socket, so the test can cut a record, stop
    sending or close without close_notify."""

    def __init__(self, server, context=None):
        self.sock = tls_connect(server)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        ctx = context if context is not None else server.tls_context()
        self.tls = ctx.wrap_bio(self.inc, self.out,
                                server_hostname="localhost")

    def hello(self):
        """The ClientHello, as bytes to send (not sent)."""
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.out.read()

    def receive(self):
        """Feed what the server sent next to the TLS object; False at
        the end of the stream."""
        data = self.sock.recv(65536)
        self.inc.write(data)
        return bool(data)

    def handshake(self):
        """Run the whole handshake."""
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.sock.sendall(self.out.read())
                if not self.receive():
                    raise EOFError("closed during the handshake")
        self.sock.sendall(self.out.read())

    def seal(self, data):
        """The records that carry data (not sent)."""
        self.tls.write(data)
        return self.out.read()

    def read_until(self, marker):
        """Decrypt until marker arrived; return the plaintext."""
        got = bytearray()
        while marker not in got:
            try:
                got += self.tls.read(65536)
            except ssl.SSLWantReadError:
                if not self.receive():
                    raise EOFError(f"closed before {marker!r}: {got!r}")
        return bytes(got)

    def read_to_close(self, timeout=CLOSE_BOUND):
        """Read until the server closes; return the plaintext it sent
        (a close_notify or none ends it alike)."""
        rest = read_to_close(self.sock, timeout)
        self.inc.write(rest)
        self.inc.write_eof()
        got = bytearray()
        try:
            while chunk := self.tls.read(65536):
                got += chunk
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            pass
        return bytes(got)


# -- garbage, oversized records ---------------------------------------------

GARBAGE = {
    # A handshake record type, then no TLS version (OpenSSL says "wrong
    # version number" and, on a first record, sends no alert).
    "handshake_type_then_junk": b"\x16" + b"\xde\xad\xbe\xef" * 64,
    # An SSLv2-style record header announcing a ClientHello, then junk.
    "sslv2_hello_of_junk": b"\x80\x2e\x01" + b"\x5a\xa5" * 23,
    # A byte above 127, then junk.
    "high_bytes": bytes(range(0x80, 0x100)) * 2,
    # Control characters (not printable: not taken for plain HTTP).
    "control_bytes": b"\x00\x01\x02\r\n\x1b[0m" * 32,
    # Well-formed records of every type but a handshake, first.
    "heartbeat_request": b"\x18\x03\x03\x00\x03\x01\x40\x00",
    "alert_first": b"\x15\x03\x03\x00\x02\x02\x28",
    "change_cipher_spec_first": b"\x14\x03\x03\x00\x01\x01",
    "application_data_first": b"\x17\x03\x03\x00\x05hello",
    # Empty handshake records, over and over.
    "empty_records": b"\x16\x03\x01\x00\x00" * 100,
}


@pytest.mark.parametrize("name", GARBAGE)
def test_garbage_instead_of_a_hello_is_closed_and_counted_as_protocol(
        start_server, name):
    server, workers, before = start(start_server)
    with tls_connect(server) as s:
        s.sendall(GARBAGE[name])
        got = read_to_close(s)
    assert alerts_only(got), got[:40]
    assert_counted(server, before, "protocol")
    assert_unharmed(server, workers)


def test_junk_after_a_real_hello_is_closed_and_counted_as_protocol(
        start_server):
    server, workers, before = start(start_server)
    with tls_connect(server) as s:
        s.sendall(client_hello(server) + b"\x17\x03\x03\x00\x05junk!"
                  + b"\xff" * 64)
        got = read_to_close(s)
    assert got[:1] == b"\x16", got[:40]  # the ServerHello came first
    assert_counted(server, before, "protocol")
    assert_unharmed(server, workers)


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_hello_of_an_old_protocol_is_refused_with_protocol_version(
        start_server, version):
    server, workers, before = start(start_server)
    ctx = server.tls_context()
    with warnings.catch_warnings():  # (the versions are deprecated)
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = \
            getattr(ssl.TLSVersion, version)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with tls_connect(server) as s:
        s.sendall(client_hello(server, ctx))
        got = read_to_close(s)
    assert got[:1] == bytes([ALERT]) and got[5:7] == PROTOCOL_VERSION, got
    assert alerts_only(got), got
    assert_counted(server, before, "protocol")
    assert_unharmed(server, workers)


OVERSIZED = {
    # A record header announcing more than any TLS record may hold
    # (2^14 + 2048, TLS 1.2 ciphertext): refused before its body comes.
    "18432_header_alone": b"\x16\x03\x03\x48\x00",
    "65535_header_alone": b"\x16\x03\x03\xff\xff",
    # A handshake record one byte over 2^14, with its body: refused once
    # it is read.
    "16385_with_body": b"\x16\x03\x01\x40\x01\x01" + bytes(16384),
}


@pytest.mark.parametrize("name", OVERSIZED)
def test_oversized_record_is_refused_with_record_overflow(
        start_server, name):
    server, workers, before = start(start_server)
    with tls_connect(server) as s:
        s.sendall(OVERSIZED[name])
        got = read_to_close(s)
    assert got[:1] == bytes([ALERT]) and got[5:7] == RECORD_OVERFLOW, got
    assert alerts_only(got), got
    assert_counted(server, before, "protocol")
    assert_unharmed(server, workers)


# -- stalls -----------------------------------------------------------------


def stall_nothing(sock, hello):
    """Send nothing at all."""


def stall_half_hello(sock, hello):
    """Send the first half of the ClientHello, then nothing."""
    sock.sendall(hello[:len(hello) // 2])


def trickle_hello(sock, hello):
    """Send the ClientHello one byte every 50 ms while the connection
    lasts (it would take 25 s): progress does not extend the bound."""
    for b in hello:
        try:
            sock.sendall(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            return
        if select.select([sock], [], [], 0.05)[0]:
            return  # the server closed (or said something): stop


STALLS = {"nothing": stall_nothing, "half_hello": stall_half_hello,
          "trickled_hello": trickle_hello}


@pytest.mark.parametrize("name", STALLS)
def test_stalled_handshake_is_closed_after_header_timeout_and_counted(
        start_server, name):
    server, workers, before = start(start_server,
                                    header_timeout=ms(HEADER_TIMEOUT))
    hello = client_hello(server)
    t0 = time.monotonic()
    with tls_connect(server) as s:
        STALLS[name](s, hello)
        got = read_to_close(s, HEADER_TIMEOUT + CLOSE_BOUND)
        took = time.monotonic() - t0
    assert got == b"", got[:40]
    assert took >= HEADER_TIMEOUT - EARLY, took
    assert_counted(server, before, "timeout")
    assert_unharmed(server, workers)


def test_200_stalled_handshakes_do_not_stop_other_clients(start_server):
    """200 clients open TLS connections and stall (half of them after
    half a ClientHello): a normal client is served meanwhile, and each
    stalled one is closed after header_timeout."""
    crowd, timeout = 200, 6.0
    server = start_server(tls=True, workers=2, header_timeout=ms(timeout))
    workers = sorted(server.workers())
    before = tls_counters(server)
    hello = client_hello(server)
    socks, opened = [], []
    for i in range(crowd):
        s = tls_connect(server)
        if i % 2:
            s.sendall(hello[:len(hello) // 2])
        socks.append(s)
        opened.append(time.monotonic())
    poll(lambda: statsdump(server)["connections_active"] == crowd,
         IO_TIMEOUT, what=f"the workers to accept all {crowd}")

    t0 = time.monotonic()
    assert tls_get(server) == (200, HELLO)
    served = time.monotonic() - t0
    still = statsdump(server)["connections_active"]

    closed = [None] * crowd
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    deadline = opened[-1] + timeout + CLOSE_BOUND
    while None in closed and time.monotonic() < deadline:
        for key, _ in sel.select(0.1):
            try:
                data = key.fileobj.recv(4096)
            except ConnectionResetError:
                data = b""
            assert data == b"", (key.data, data[:40])
            closed[key.data] = time.monotonic()
            sel.unregister(key.fileobj)
    for s in socks:
        s.close()
    missing = [i for i, t in enumerate(closed) if t is None]
    assert not missing, f"{len(missing)} stalled clients never closed"
    lived = [closed[i] - opened[i] for i in range(crowd)]
    print(f"\nthe other client was served in {served:.3f}s with {still} "
          f"connections open; the stalled ones lived "
          f"{min(lived):.2f}..{max(lived):.2f}s")
    assert still >= crowd, "the crowd was closed before the timeout"
    assert min(lived) >= timeout - EARLY, min(lived)
    assert_counted(server, before, "timeout", crowd, full=1)
    assert_unharmed(server, workers)


# -- truncated records ------------------------------------------------------


def test_truncated_hello_then_eof_is_closed_and_counted_as_closed(
        start_server):
    server, workers, before = start(start_server)
    client = BioClient(server)
    hello = client.hello()
    assert int.from_bytes(hello[3:5], "big") > 200, hello[:5]
    client.sock.sendall(hello[:5 + 100])  # the header and 100 bytes
    client.sock.shutdown(socket.SHUT_WR)
    got = read_to_close(client.sock)
    client.sock.close()
    assert got == b"", got[:40]
    assert_counted(server, before, "closed")
    assert_unharmed(server, workers)


def test_record_header_alone_then_eof_is_counted_as_closed(start_server):
    server, workers, before = start(start_server)
    with tls_connect(server) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01")
        s.shutdown(socket.SHUT_WR)
        got = read_to_close(s)
    assert got == b"", got[:40]
    assert_counted(server, before, "closed")
    assert_unharmed(server, workers)


def test_truncated_request_record_then_eof_ends_the_connection(
        start_server):
    """Half the record of a request, then the client's FIN: the server
    takes it as the end of input (no close_notify was required), answers
    nothing, closes, and counts no failure."""
    server, workers, before = start(start_server, format="json")
    client = BioClient(server)
    client.handshake()
    record = client.seal(GET)
    client.sock.sendall(record[:len(record) // 2])
    client.sock.shutdown(socket.SHUT_WR)
    assert client.read_to_close() == b""
    client.sock.close()
    assert_counted(server, before, full=1)
    assert_unharmed(server, workers)
    assert statsdump(server)["requests"] == 1  # tls_get's


def test_corrupt_request_record_is_refused_and_counted_as_an_error(
        start_server):
    """A whole record of a request with one ciphertext byte flipped: the
    server finds it forged (bad_record_mac), answers with an alert (under
    TLS 1.3 an encrypted one, after the session tickets), closes, serves
    nothing and counts a TLS error after the handshake."""
    server, workers, before = start(start_server)
    client = BioClient(server)
    client.handshake()
    record = bytearray(client.seal(GET))
    record[-1] ^= 0x01
    client.sock.sendall(record)
    with pytest.raises(ssl.SSLError, match="BAD_RECORD_MAC"):
        client.read_to_close()
    client.sock.close()
    poll(lambda: tls_counters(server)["errors"] == before["errors"] + 1,
         IO_TIMEOUT, what="the TLS error to be counted")
    assert_counted(server, before, full=1)
    assert_unharmed(server, workers)


def test_truncated_request_record_then_stall_is_closed_by_header_timeout(
        start_server):
    """Not one byte of a request could be decrypted: the connection is
    idle, and closed without an answer once header_timeout has passed
    since the handshake."""
    server, workers, before = start(start_server,
                                    header_timeout=ms(HEADER_TIMEOUT))
    t0 = time.monotonic()
    client = BioClient(server)
    client.handshake()
    record = client.seal(GET)
    client.sock.sendall(record[:len(record) // 2])
    got = client.read_to_close(HEADER_TIMEOUT + CLOSE_BOUND)
    took = time.monotonic() - t0
    client.sock.close()
    assert got == b"", got
    assert took >= HEADER_TIMEOUT - EARLY, took
    assert_counted(server, before, full=1)
    assert_unharmed(server, workers)


# -- clients that vanish ----------------------------------------------------


@pytest.mark.parametrize("how", ["rst_after_server_hello",
                                 "fin_after_server_hello",
                                 "rst_right_after_hello",
                                 "rst_before_hello", "fin_before_hello"])
def test_client_vanishing_mid_handshake_is_counted_as_closed(
        start_server, how):
    server, workers, before = start(start_server)
    client = BioClient(server)
    hello = client.hello()
    if not how.endswith("before_hello"):
        client.sock.sendall(hello)
    if how.endswith("after_server_hello"):
        assert client.receive(), "no ServerHello"
    if how.startswith("rst"):
        reset(client.sock)
    else:
        client.sock.close()
    assert_counted(server, before, "closed")
    assert_unharmed(server, workers)


def test_close_without_close_notify_after_a_request_is_a_normal_end(
        start_server):
    server, workers, before = start(start_server, format="json")
    client = BioClient(server)
    client.handshake()
    client.sock.sendall(client.seal(GET))
    assert client.read_until(HELLO).endswith(HELLO)
    client.sock.close()  # a FIN, no close_notify
    poll(lambda: statsdump(server)["connections_active"] == 0, IO_TIMEOUT,
         what="the server to close the connection")
    poll(lambda: '"status":200' in server.access_log.read_text(),
         IO_TIMEOUT, what="the request in the access log")
    line = server.access_log.read_text().splitlines()[0]
    assert '"target":"/hello.txt"' in line and '"tls_protocol":"TLSv1.3"' \
        in line, line
    assert_counted(server, before, full=1)
    assert_unharmed(server, workers)


# -- renegotiation, KeyUpdate -----------------------------------------------


class SClient:
    """openssl s_client on the TLS port, its input a pipe (one-letter
    lines are its commands: R renegotiates, k/K send a KeyUpdate). What
    it receives from the server is collected from its output, what it
    says (and with -msg every TLS message, both ways) from its error
    output, each by a thread."""

    def __init__(self, server, *args):
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-connect",
             f"127.0.0.1:{server.tls_port}", "-servername", "localhost",
             "-CAfile", str(server.tls.ca_pem), "-crlf", "-quiet",
             "-no_ign_eof", "-msg", "-msgfile", "/dev/stderr", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self.data, self.diag = bytearray(), bytearray()
        self.reading = threading.Event()  # clear: its output is not read
        self.reading.set()
        always = threading.Event()
        always.set()
        self.readers = [
            threading.Thread(target=self._read, args=(f, buf, ev),
                             daemon=True)
            for f, buf, ev in ((self.proc.stdout, self.data, self.reading),
                               (self.proc.stderr, self.diag, always))]
        for t in self.readers:
            t.start()

    @staticmethod
    def _read(f, buf, reading):
        while reading.wait() and (chunk := os.read(f.fileno(), 1 << 16)):
            buf += chunk

    def said(self):
        """What s_client said so far, with the TLS messages."""
        return self.diag.decode(errors="replace")

    def send(self, line):
        self.proc.stdin.write(line)
        self.proc.stdin.flush()

    def command(self, letter, echo, times=1):
        """Send a one-letter command; wait until s_client has said echo
        that many times (it reads its input in blocks: what came with
        the letter would be lost)."""
        self.send(letter + b"\n")
        poll(lambda: self.said().count(echo) >= times, IO_TIMEOUT,
             what=f"s_client to say {echo} ({times})")

    def request(self, n):
        """Send a GET; wait for the n-th response body."""
        self.send(b"GET /hello.txt HTTP/1.1\nHost: localhost\n\n")
        poll(lambda: self.data.count(HELLO) >= n, IO_TIMEOUT,
             what=f"response {n}: {bytes(self.data[-500:])!r}")

    def wait(self):
        """Wait for s_client to end on its own; return its status."""
        return self.proc.wait(CLOSE_BOUND)

    def close(self):
        """End s_client: end of input, then a kill if it outstays."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(CLOSE_BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reading.set()
        for t in self.readers:
            t.join(CLOSE_BOUND)


def test_tls12_renegotiation_is_refused_and_the_worker_goes_on(
        start_server):
    """OpenSSL refuses it (SSL_OP_NO_RENEGOTIATION) with a warning
    no_renegotiation alert; s_client takes that as fatal, answers
    handshake_failure and exits: the connection is served no further,
    the server closes it, nothing counts as a failed handshake, and the
    refusal is counted."""
    server, workers, before = start(start_server)
    client = SClient(server, "-tls1_2")
    try:
        client.request(1)
        client.command(b"R", "RENEGOTIATING")
        status = client.wait()
    finally:
        client.close()
    out = client.said()
    assert "Alert [length 0002], warning no_renegotiation" in out, out
    assert "ServerHello" not in out.split("RENEGOTIATING", 1)[1], out
    assert status != 0
    assert_counted(server, before, full=1)
    poll(lambda: tls_counters(server)["renegotiations_refused"] ==
         before["renegotiations_refused"] + 1, IO_TIMEOUT,
         what="the renegotiation refused to be counted")
    assert_unharmed(server, workers)


@pytest.mark.parametrize("letter,requested", [(b"K", True), (b"k", False)],
                         ids=["update_requested", "update_not_requested"])
def test_tls13_key_update_keeps_the_connection_serving(
        start_server, letter, requested):
    """s_client's K sends a KeyUpdate that asks the peer to update its
    keys too, k one that does not. Either way the next request on the
    connection is answered; asked, the server sends its own KeyUpdate
    first."""
    server, workers, before = start(start_server)
    client = SClient(server, "-tls1_3")
    try:
        client.request(1)
        client.command(letter, "KEYUPDATE")
        client.request(2)
        out = client.said()
    finally:
        client.close()
    after_update = out.split("KEYUPDATE", 1)[1]
    assert ">>> TLS 1.3, Handshake [length 0005], KeyUpdate" in after_update
    answered = "<<< TLS 1.3, Handshake [length 0005], KeyUpdate"
    assert (answered in after_update) == requested, after_update
    assert_counted(server, before, full=1)
    assert_unharmed(server, workers)


def server_blocked(server):
    """A condition for poll(): true once the server's side of the one
    connection to the TLS port has bytes it cannot send, and neither
    side's queues moved since the last call."""
    last = [None]

    def blocked():
        with open("/proc/net/tcp") as f:
            ports = [int(line.split()[1].split(":")[1], 16)
                     for line in f.readlines()[1:]
                     if line.split()[2].endswith(f":{server.tls_port:04X}")]
        assert len(ports) == 1, ports
        now = (tcp_queues(server.tls_port, ports[0]),
               tcp_queues(ports[0], server.tls_port))
        moved, last[0] = now != last[0], now
        return not moved and now[0] is not None and now[0][0] > 0
    return blocked


def test_tls13_key_update_while_the_server_cannot_send_is_answered(
        start_server):
    """A KeyUpdate that asks for the server's own comes while the server
    holds a record it cannot send (the client stopped reading a large
    response): once the client reads again, the server's KeyUpdate and
    every byte of the response arrive, and the connection serves on."""
    server, workers, before = start(start_server)
    size = 10_000_000
    want = (server.root / "big.bin").read_bytes()[:size]
    client = SClient(server, "-tls1_3")
    try:
        client.send(b"GET /big.bin HTTP/1.1\nHost: localhost\n"
                    + f"Range: bytes=0-{size - 1}\n\n".encode())
        poll(lambda: len(client.data) > 1_000_000, IO_TIMEOUT,
             what="the response to begin")
        client.reading.clear()
        poll(server_blocked(server), IO_TIMEOUT, interval=0.2,
             what="the server to wait for room")
        client.command(b"K", ">>> TLS 1.3, Handshake [length 0005], "
                       "KeyUpdate")
        client.reading.set()
        poll(lambda: len(client.data) >= size and client.data.find(
            b"\r\n\r\n") + 4 + size <= len(client.data), IO_TIMEOUT,
             what="the whole response")
        client.request(1)
        said = client.said()
    finally:
        client.close()
    head, _, body = bytes(client.data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206 "), head
    assert body[:size] == want
    assert said.count("<<< TLS 1.3, Handshake [length 0005], KeyUpdate") \
        == 1, said[-2000:]
    assert_counted(server, before, full=1)
    assert_unharmed(server, workers)


# -- leaks ------------------------------------------------------------------

LEAK_WARMUP = 100  # failed handshakes of each kind, in each warm-up round
LEAK_MEASURED = 300  # failed handshakes of each kind measured
LEAK_THREADS = 4
STALL_BATCH = 50  # stalled handshakes at once (their memory peaks then)
LEAK_HEADER_TIMEOUT = 2.0  # seconds; the stalls wait that long
RSS_BOUND_KIB = 1024


def fail_garbage(server, ctx):
    """Junk where a ClientHello belongs."""
    with tls_connect(server) as s:
        s.sendall(GARBAGE["handshake_type_then_junk"])
        read_to_close(s)


def fail_oversized(server, ctx):
    """A record header announcing 65535 bytes."""
    with tls_connect(server) as s:
        s.sendall(b"\x16\x03\x03\xff\xff")
        read_to_close(s)


def fail_plain_http(server, ctx):
    """A plain HTTP request (answered 400)."""
    with tls_connect(server) as s:
        s.sendall(GET)
        read_to_close(s)


def fail_truncated(server, ctx):
    """Part of a ClientHello, then the client's FIN."""
    client = BioClient(server, ctx["plain"])
    with client.sock:
        client.sock.sendall(client.hello()[:105])
        client.sock.shutdown(socket.SHUT_WR)
        read_to_close(client.sock)


def fail_vanish(server, ctx):
    """A ClientHello; the server's answer; a RST."""
    client = BioClient(server, ctx["plain"])
    client.sock.sendall(client.hello())
    client.receive()
    reset(client.sock)


def fail_stranger(server, ctx):
    """A client certificate from a CA the server does not trust."""
    client = BioClient(server, ctx["stranger"])
    with client.sock:
        try:
            client.handshake()
            client.read_until(b"never")  # TLS 1.3: the alert comes later
        except (ssl.SSLError, EOFError, ConnectionResetError):
            pass


LEAK_KINDS = {  # kind -> (one failed handshake, class counted)
    "garbage": (fail_garbage, "protocol"),
    "oversized": (fail_oversized, "protocol"),
    "plain_http": (fail_plain_http, "plain_http"),
    "truncated": (fail_truncated, "closed"),
    "vanish": (fail_vanish, "closed"),
    "stranger": (fail_stranger, "client_cert"),
}


def fail_many(server, ctx, fail, n):
    """n failed handshakes of one kind over LEAK_THREADS clients."""
    errors = []

    def run(count):
        try:
            for _ in range(count):
                fail(server, ctx)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    run_clients(run, [(n // LEAK_THREADS,)] * LEAK_THREADS)
    assert not errors, errors[:3]


def stall_many(server, n):
    """n connections that send nothing until the server closes them,
    STALL_BATCH at a time."""
    for _ in range(n // STALL_BATCH):
        socks = [tls_connect(server) for _ in range(STALL_BATCH)]
        try:
            for s in socks:
                read_to_close(s, LEAK_HEADER_TIMEOUT + CLOSE_BOUND)
        finally:
            for s in socks:
                s.close()


def fail_every_kind(server, ctx, n):
    """n failed handshakes of every kind; return {class: count}."""
    counted = dict.fromkeys(FAIL_CLASSES, 0)
    for fail, cls in LEAK_KINDS.values():
        fail_many(server, ctx, fail, n)
        counted[cls] += n
    stall_many(server, n)
    counted["timeout"] += n
    return counted


def settle(server, workers):
    """Wait until the workers hold no connection; return their state:
    {pid: (VmRSS in KiB, descriptors)}."""
    poll(lambda: all(open_connections(p) == 0 for p in workers), IO_TIMEOUT,
         what="the workers to close every connection")
    poll(lambda: statsdump(server)["connections_active"] == 0, IO_TIMEOUT,
         what="connections_active to return to 0")
    return {p: (proc_status_kib(p, "VmRSS"), fd_count(p)) for p in workers}


def test_failed_handshakes_leak_no_descriptor_and_no_memory(
        start_server, tls_certs):
    """300 failed handshakes of every kind on one worker (so that all of
    them land on the worker measured), after a warm-up of the same kinds
    at the same concurrency: the worker's memory peaks with the
    handshakes it holds at once, and must not grow past that peak.
    VmRSS from /proc; the log ring is at its minimum (64k) and filled by
    the warm-up, as in test_hostile_leaks.py."""
    server = start_server(tls=True, workers=1, ring_size="64k",
                          tls_verify_client="optional",
                          header_timeout=ms(LEAK_HEADER_TIMEOUT))
    workers = sorted(server.workers())
    ctx = {"plain": server.tls_context(),
           "stranger": server.tls_context(tls_certs.stranger_pem,
                                          tls_certs.stranger_key)}
    for _ in range(2):
        fail_every_kind(server, ctx, LEAK_WARMUP)
    before = settle(server, workers)
    counters = tls_counters(server)

    counted = fail_every_kind(server, ctx, LEAK_MEASURED)
    after = settle(server, workers)

    want = {c: counters["failed"][c] + counted[c] for c in FAIL_CLASSES}
    assert tls_counters(server)["failed"] == want
    assert tls_counters(server)["full"] == counters["full"]
    (rss0, fd0), (rss1, fd1) = before[workers[0]], after[workers[0]]
    print(f"\nover {sum(counted.values())} failed handshakes: VmRSS "
          f"{rss0} -> {rss1} KiB ({rss1 - rss0:+d}), descriptors "
          f"{fd0} -> {fd1}")
    assert_unharmed(server, workers)
    assert fd1 == fd0, "the worker leaks descriptors"
    if SANITIZED:
        pytest.skip("descriptors checked; the RSS bound is not, under a "
                    "sanitizer (PFHTTPD_SANITIZED=1)")
    assert rss1 - rss0 < RSS_BOUND_KIB, f"RSS grew {rss1 - rss0} KiB"
