"""The WebSocket echo endpoint as a daemon feature: the opening handshake
and its every answer, a real client library (python3-websockets), the
back-pressure on a client that does not read, the idle timeout, a graceful
stop, and the counters statsdump reads. The protocol itself, frame by
frame, is test_ws_conformance.py."""

import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import time

import pytest
import websockets

from conftest import (IO_TIMEOUT, REPO, SANITIZED, Reader, connect_refused,
                      poll, request_bytes, request_read_by_server, tcp_queues,
                      vm_rss_kib)
from wsclient import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,
                      OP_TEXT, WsConn, accept_for, close_body, connect, frame,
                      handshake, handshake_request, join_sender, make_key)

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))
MIB = 1 << 20
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455, 1.3
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def statsdump(server):
    """Run statsdump on the server's segment; return its JSON report."""
    out = subprocess.run([STATSDUMP, "-s", str(server.shm_path), "--json"],
                         capture_output=True, text=True, timeout=10,
                         check=True)
    return json.loads(out.stdout)


def ws_stats(server):
    return statsdump(server)["websocket"]


def access_lines(server):
    """The lines of the server's access log (none if it does not exist)."""
    try:
        return server.access_log.read_text().splitlines()
    except FileNotFoundError:
        return []


def status_of(server, **fields):
    """The status a handshake (fields as in handshake_request()) gets."""
    ws, resp = handshake(server, **fields)
    if ws is not None:
        ws.close()
    return resp.status


def run_async(coro, timeout=IO_TIMEOUT):
    """Run coro to completion, bounded by timeout seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def ws_url(server, path="/echo"):
    return f"ws://127.0.0.1:{server.port}{path}"


# -- The opening handshake ----------------------------------------------------

def test_handshake_answers_101_with_the_rfc_accept_value(server):
    ws, resp = handshake(server, key=RFC_KEY)
    assert resp.status == 101, resp
    assert resp.reason == "Switching Protocols"
    assert resp.header("Sec-WebSocket-Accept") == RFC_ACCEPT
    assert resp.header("Upgrade").lower() == "websocket"
    assert resp.header("Connection").lower() == "upgrade"
    # A 1xx response has no body and says nothing of one.
    assert resp.header("Content-Length") is None
    assert resp.header("Transfer-Encoding") is None
    ws.send_frame(OP_CLOSE, close_body(1000))
    ws.expect_close(1000)
    ws.close()


def test_handshake_accept_value_follows_the_key(server):
    for _ in range(3):
        key = make_key()
        ws, resp = handshake(server, key=key)
        assert resp.header("Sec-WebSocket-Accept") == accept_for(key)
        ws.close()


def test_frames_sent_right_behind_the_handshake_are_echoed(server):
    ws, resp = handshake(server, extra=frame(OP_TEXT, b"early"))
    assert resp.status == 101
    ws.expect_frame(True, OP_TEXT, b"early")
    ws.close()


@pytest.mark.parametrize("version", ["8", "12", "14", "13, 8", "1a"])
def test_other_version_is_426_naming_version_13(server, version):
    ws, resp = handshake(server, version=version)
    assert ws is None
    assert resp.status == 426, resp
    assert resp.header("Sec-WebSocket-Version") == "13"


def test_missing_version_is_400(server):
    assert status_of(server, version=None) == 400


def test_missing_key_is_400(server):
    resp = server.request(handshake_request(key=None))
    assert resp.status == 400, resp


@pytest.mark.parametrize("key", [
    "dGhlIHNhbXBsZSBub25jZQ",  # no padding
    "dGhlIHNhbXBsZSBub25j",  # 15 bytes
    "dGhlIHNhbXBsZSBub25jZQ==AA",  # trailing data
    "dGhlIHNhbXBsZSBub25jZQA=",  # 17 bytes
    "dGhlIHNhbXBsZSBub25j!Q==",  # not base64
    "",
], ids=["no-padding", "15-bytes", "trailing", "17-bytes", "not-base64",
        "empty"])
def test_malformed_key_is_400(server, key):
    resp = server.request(handshake_request(key=key))
    assert resp.status == 400, resp


def test_post_with_upgrade_is_400(server):
    assert status_of(server, method="POST") == 400


def test_http10_upgrade_is_400(server):
    assert status_of(server, http_version="HTTP/1.0") == 400


def test_upgrade_to_another_protocol_is_400(server):
    assert status_of(server, upgrade="h2c") == 400


def test_connection_without_upgrade_token_is_400(server):
    assert status_of(server, connection="keep-alive") == 400


def test_plain_request_to_echo_path_is_426_asking_for_websocket(server):
    resp = server.get("/echo")
    assert resp.status == 426, resp
    assert resp.header("Upgrade").lower() == "websocket"


def test_upgrade_tokens_are_case_insensitive_and_listed(server):
    ws, resp = handshake(server, upgrade="foo/1, WebSocket",
                         connection="keep-alive, UPGRADE")
    assert resp.status == 101, resp
    ws.close()


def test_upgrade_token_in_a_second_connection_line(server):
    ws, resp = handshake(server, connection="keep-alive",
                         headers=["Connection: Upgrade"])
    assert resp.status == 101, resp
    ws.close()


def test_upgrade_on_another_path_gets_the_static_answer(server):
    ws, resp = handshake(server, path="/nope")
    assert ws is None
    assert resp.status == 404, resp
    ws, resp = handshake(server, path="/hello.txt")
    assert ws is None
    assert (resp.status, resp.body) == (200, b"Hello, world!\n")


def test_echo_path_setting_moves_the_endpoint(start_server):
    server = start_server(echo_path="/ws/echo")
    assert status_of(server, path="/echo") == 404
    ws = connect(server, path="/ws/echo")
    ws.send_frame(OP_TEXT, b"moved")
    ws.expect_frame(True, OP_TEXT, b"moved")
    ws.close()


def test_empty_echo_path_disables_the_endpoint(start_server):
    server = start_server(echo_path="")
    assert status_of(server) == 404
    assert server.get("/echo").status == 404


ORIGINS = "http://a.example https://b.example:8443"


@pytest.mark.parametrize("origin", [
    "http://a.example", "https://b.example:8443", "HTTPS://B.Example:8443"])
def test_allowed_origin_is_accepted(start_server, origin):
    server = start_server(allowed_origins=ORIGINS)
    ws, resp = handshake(server, headers=[f"Origin: {origin}"])
    assert resp.status == 101, resp
    ws.close()


@pytest.mark.parametrize("origin", [
    "http://evil.example", "https://b.example", "http://b.example:8443",
    "http://a.example.evil.example", "http://a.exampl", "null",
    "http://a.example https://b.example:8443"])
def test_origin_not_allowed_is_403(start_server, origin):
    server = start_server(allowed_origins=ORIGINS)
    assert status_of(server, headers=[f"Origin: {origin}"]) == 403


def test_request_without_origin_is_accepted_when_origins_are_listed(
        start_server):
    server = start_server(allowed_origins=ORIGINS)
    ws, resp = handshake(server)
    assert resp.status == 101, resp
    ws.close()


def test_any_origin_is_accepted_when_none_are_listed(server):
    ws, resp = handshake(server, headers=["Origin: http://anything.example"])
    assert resp.status == 101, resp
    ws.close()


def test_upgrade_is_one_access_log_line_with_101_and_one_request(server):
    ws = connect(server, headers=["User-Agent: ws-probe/1"])
    for i in range(3):
        ws.send_frame(OP_TEXT, b"message %d" % i)
        ws.expect_frame(True, OP_TEXT, b"message %d" % i)
    ws.send_frame(OP_CLOSE, close_body(1000))
    ws.expect_close(1000)
    ws.close()
    poll(lambda: ws_stats(server)["open"] == 0, 5,
         what="the connection to be closed")
    poll(lambda: access_lines(server), 5, what="the access-log line")
    lines = access_lines(server)
    assert len(lines) == 1, lines
    assert lines[0].endswith('"GET /echo HTTP/1.1" 101 0 "-" "ws-probe/1"'), \
        lines
    report = statsdump(server)
    assert report["requests"] == 1
    assert report["responses"] == {"101": 1}


def test_upgrade_after_a_keepalive_request_on_the_same_connection(server):
    sock = server.connect()
    sock.sendall(request_bytes("/hello.txt"))
    reader = Reader(sock)
    assert reader.read_response().body == b"Hello, world!\n"
    key = make_key()
    sock.sendall(handshake_request(key=key))
    resp = reader.read_response()
    assert resp.status == 101, resp
    assert resp.header("Sec-WebSocket-Accept") == accept_for(key)
    ws = WsConn(sock, bytes(reader.buf))
    ws.send_frame(OP_BINARY, b"\x00\x01")
    ws.expect_frame(True, OP_BINARY, b"\x00\x01")
    ws.close()


def test_handshake_during_graceful_stop_is_503(start_server):
    server = start_server(workers=1, shutdown_timeout="10s")
    sock = server.connect()
    data = handshake_request(key=make_key())
    sock.sendall(data[:20])  # a request begun before the stop
    poll(lambda: request_read_by_server(server.port, sock), 5,
         what="the worker to read the partial request")
    server.signal(signal.SIGQUIT)
    poll(lambda: connect_refused(server), 5, what="the listener to close")
    sock.sendall(data[20:])
    resp = Reader(sock).read_response()
    sock.close()
    assert resp.status == 503, resp
    assert server.wait_exit(10) == 0


# -- A real client: python3-websockets ----------------------------------------

def test_websockets_client_gets_text_and_binary_echoed(server):
    async def session():
        # Compressed with context takeover, 1 MiB of random bytes comes
        # back a little longer than 1 MiB, websockets' default max_size.
        async with websockets.connect(ws_url(server), max_size=2 * MIB) as ws:
            await ws.send("Hello-µ@ßöäüàá-UTF-8!!")
            text = await ws.recv()
            await ws.send(b"\x00\xff\xfe binary")
            data = await ws.recv()
            big = os.urandom(MIB)
            await ws.send(big)
            big_back = await ws.recv()
        return text, data, big_back == big, ws.close_code

    assert run_async(session()) == (
        "Hello-µ@ßöäüàá-UTF-8!!", b"\x00\xff\xfe binary", True, 1000)


def test_websockets_client_fragmented_send_is_reassembled(server):
    async def session():
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(["κό", "σμ", "ε", "!"])
            text = await ws.recv()
            await ws.send([b"\x01", b"", b"\x02\x03"])
            data = await ws.recv()
        return text, data

    assert run_async(session()) == ("κόσμε!", b"\x01\x02\x03")


def test_websockets_client_ping_gets_its_pong(server):
    async def session():
        async with websockets.connect(ws_url(server)) as ws:
            waiter = await ws.ping(b"are you there")
            await asyncio.wait_for(waiter, 5)
            await ws.send("still here")
            return await ws.recv()

    assert run_async(session()) == "still here"


def test_websockets_client_sees_1009_for_a_message_over_the_limit(
        start_server):
    server = start_server(max_message_size="1k")

    async def session():
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send(b"x" * 1024)
            ok = await ws.recv()
            await ws.send(b"x" * 1025)
            try:
                await ws.recv()
            except websockets.ConnectionClosed as e:
                return len(ok), e.rcvd.code if e.rcvd else None
        return None

    assert run_async(session()) == (1024, 1009)


# -- Back-pressure ------------------------------------------------------------

def wait_for_stall(sender, quiet=0.5, timeout=20):
    """Wait until a send_in_background() thread makes no progress for
    quiet seconds; return how much it sent."""
    last = {"sent": -1, "since": time.monotonic()}

    def stalled():
        now = time.monotonic()
        if sender.sent != last["sent"]:
            last.update(sent=sender.sent, since=now)
            return False
        return now - last["since"] >= quiet

    poll(stalled, timeout, interval=0.05, what="the sender to stall")
    return sender.sent


def test_client_that_does_not_read_is_throttled_alone_and_gets_it_all(
        start_server):
    server = start_server(workers=1)
    worker = server.workers()[0]
    base = os.urandom(MIB)
    msgs = [struct.pack(">I", i) + base[4:] for i in range(64)]
    data = b"".join(frame(OP_BINARY, m) for m in msgs)
    slow = connect(server, timeout=60)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    rss_before = vm_rss_kib(worker)

    # 64 MiB without reading: the server stops reading this client, so
    # the sender stalls far short of the end, with input waiting unread
    # in the server's socket.
    sender = slow.send_in_background(data, chunk=64 * 1024)
    sent = wait_for_stall(sender)
    assert sent < 40 * MIB, f"the server read on: {sent} B sent"
    client_port = slow.sock.getsockname()[1]
    queues = tcp_queues(server.port, client_port)
    assert queues is not None and queues[1] > 0, queues
    growth = vm_rss_kib(worker) - rss_before
    if not SANITIZED:  # ASan's quarantine and redzones inflate RSS
        assert growth < 32 * 1024, f"worker grew by {growth} KiB"

    # Another client of the same worker is echoed at once.
    with connect(server) as other:
        t0 = time.monotonic()
        other.send_frame(OP_TEXT, b"not stuck behind the slow client")
        other.expect_frame(True, OP_TEXT, b"not stuck behind the slow client",
                           timeout=5)
        assert time.monotonic() - t0 < 2
        other.send_frame(OP_CLOSE, close_body(1000))
        other.expect_close(1000)
    assert sender.is_alive() and sender.sent < len(data)

    # The slow client reads at last: everything comes back, in order.
    for i, m in enumerate(msgs):
        fin, op, payload = slow.recv_frame()
        assert (fin, op, len(payload)) == (True, OP_BINARY, MIB), i
        assert payload == m, f"message {i} differs"
    join_sender(sender, 60)
    slow.send_frame(OP_CLOSE, close_body(1000))
    slow.expect_close(1000)
    slow.close()


# -- Idle timeout -------------------------------------------------------------

def test_idle_client_gets_a_ping_after_idle_timeout(start_server):
    server = start_server(idle_timeout="1s")
    t0 = time.monotonic()  # the server's timer starts after this
    ws = connect(server)
    ws.expect_frame(True, OP_PING, b"pfhttpd", timeout=5)
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 4, f"ping after {elapsed:.2f}s"
    ws.close()


def test_answering_the_idle_ping_keeps_the_connection(start_server):
    server = start_server(idle_timeout="1s")
    ws = connect(server)
    for _ in range(2):
        ws.expect_frame(True, OP_PING, b"pfhttpd", timeout=5)
        ws.send_frame(OP_PONG, b"pfhttpd")
    # Still open and echoing after more than twice the timeout.
    ws.send_frame(OP_TEXT, b"alive")
    ws.expect_frame(True, OP_TEXT, b"alive")
    ws.send_frame(OP_CLOSE, close_body(1000))
    ws.expect_close(1000)
    ws.close()


def test_messages_keep_an_idle_ping_away(start_server):
    server = start_server(idle_timeout="1s")
    ws = connect(server)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        time.sleep(0.3)  # the client's pace: well under the timeout
        ws.send_frame(OP_TEXT, b"busy")
        ws.expect_frame(True, OP_TEXT, b"busy")  # a ping would fail this
    ws.close()


def test_silent_client_is_closed_1001_after_the_idle_ping(start_server):
    server = start_server(idle_timeout="1s")
    t0 = time.monotonic()
    ws = connect(server)
    ws.expect_frame(True, OP_PING, b"pfhttpd", timeout=5)
    ws.expect_close(1001, timeout=5)
    elapsed = time.monotonic() - t0
    assert 1.8 <= elapsed < 6, f"closed after {elapsed:.2f}s"
    ws.close()


# -- Graceful stop ------------------------------------------------------------

def test_sigquit_sends_1001_to_open_websockets_and_exits(start_server):
    server = start_server(shutdown_timeout="5s")
    clients = [connect(server) for _ in range(3)]
    for ws in clients:  # every one is upgraded and working
        ws.send_frame(OP_TEXT, b"before")
        ws.expect_frame(True, OP_TEXT, b"before")
    t0 = time.monotonic()
    server.signal(signal.SIGQUIT)
    for ws in clients:
        fin, op, payload = ws.recv_frame(timeout=5)
        assert (op, payload[:2]) == (OP_CLOSE, close_body(1001)), payload
        ws.send_frame(OP_CLOSE, close_body(1001))
        ws.expect_eof(5)
        ws.close()
    assert server.wait_exit(5) == 0
    assert time.monotonic() - t0 < 5
    assert "shutdown_timeout reached" not in server.error_log_text()


def test_sigquit_exits_in_time_when_a_client_never_answers_the_close(
        start_server):
    server = start_server(shutdown_timeout="4s")
    ws = connect(server)
    t0 = time.monotonic()
    server.signal(signal.SIGQUIT)
    fin, op, payload = ws.recv_frame(timeout=5)
    assert (op, payload[:2]) == (OP_CLOSE, close_body(1001))
    assert server.wait_exit(6) == 0  # the client stays silent, socket open
    assert time.monotonic() - t0 < 4
    ws.close()


def test_websockets_client_sees_1001_on_sigquit(start_server):
    server = start_server(shutdown_timeout="5s")

    async def session():
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send("hi")
            await ws.recv()
            server.signal(signal.SIGQUIT)
            try:
                await ws.recv()
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
        return None

    assert run_async(session()) == 1001
    assert server.wait_exit(5) == 0


# -- Counters -----------------------------------------------------------------

def test_counters_follow_a_known_sequence(server):
    assert ws_stats(server)["upgrades"] == 0

    one = connect(server)  # three messages, one of them in two fragments
    one.send(frame(OP_TEXT, b"hello") + frame(OP_BINARY, b"\0" * 1000)
             + frame(OP_TEXT, b"abc", fin=False)
             + frame(OP_CONT, b"defg") + frame(OP_PING, b"not a message"))
    one.expect_frame(True, OP_TEXT, b"hello")
    one.expect_frame(True, OP_BINARY, b"\0" * 1000)
    one.expect_frame(False, OP_TEXT, b"abc")
    one.expect_frame(True, OP_CONT, b"defg")
    one.expect_frame(True, OP_PONG, b"not a message")
    two = connect(server)
    three = connect(server)
    poll(lambda: ws_stats(server)["open"] == 3, 5, what="3 open")

    one.send_frame(OP_CLOSE, close_body(1000))  # class 1000
    one.expect_close(1000)
    two.send_frame(OP_TEXT, b"x")  # one message, then a protocol error
    two.expect_frame(True, OP_TEXT, b"x")
    two.send_frame(OP_TEXT, b"y", mask=False)  # class 1002-1011
    two.expect_close(1002)
    three.send_frame(OP_CLOSE, close_body(4321))  # class 3000-4999
    three.expect_close(4321)
    four = connect(server)
    four.send_frame(OP_CLOSE, close_body(1001))  # class 1001
    four.expect_close(1001)
    five = connect(server)
    five.send_frame(OP_CLOSE, close_body(999))  # invalid: 1002
    five.expect_close(1002)
    six = connect(server)
    six.close()  # no close frame from the server: other
    for ws in (one, two, three, four, five):
        ws.close()

    want_closes = {"1000": 1, "1001": 1, "1002-1011": 2, "3000-4999": 1,
                   "other": 1}
    stats = poll(lambda: (s := ws_stats(server))["open"] == 0
                 and sum(s["closes"].values()) == 6 and s, 5,
                 what="every connection to be counted closed")
    assert stats == {"upgrades": 6, "open": 0, "messages_in": 4,
                     "messages_out": 4, "bytes_in": 5 + 1000 + 7 + 1,
                     "bytes_out": 5 + 1000 + 7 + 1, "closes": want_closes}
    report = statsdump(server)
    assert report["requests"] == 6
    assert report["responses"] == {"101": 6}


def test_open_counter_returns_to_zero_after_an_abrupt_close(server):
    clients = [connect(server) for _ in range(5)]
    poll(lambda: ws_stats(server)["open"] == 5, 5, what="5 open")
    for ws in clients:
        ws.send(frame(OP_TEXT, b"partial", length=100)[:10])  # mid-frame
        ws.close()
    stats = poll(lambda: (s := ws_stats(server))["open"] == 0 and s, 5,
                 what="open to return to 0")
    assert stats["closes"]["other"] == 5


def test_tiny_frames_from_a_client_that_does_not_read_keep_memory_bounded(
        start_server):
    # Each 1-byte frame is echoed as a 3-byte frame: queued output must
    # cost what it holds, not a memory chunk per frame.
    server = start_server(workers=1)
    worker = server.workers()[0]
    slow = connect(server, timeout=60)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    rss_before = vm_rss_kib(worker)
    data = frame(OP_BINARY, b"x") * (1_500_000)  # about 10 MB
    sender = slow.send_in_background(data, chunk=64 * 1024)
    wait_for_stall(sender)
    growth = vm_rss_kib(worker) - rss_before
    if not SANITIZED:  # ASan's quarantine and redzones inflate RSS
        assert growth < 24 * 1024, f"worker grew by {growth} KiB"
    slow.close()


def test_idle_timer_spares_a_client_that_is_still_reading(start_server):
    # 3 MiB of echoes queued behind a client that reads slowly for longer
    # than twice idle_timeout: it is busy, not idle, and gets everything.
    server = start_server(workers=1, idle_timeout="1s")
    ws = connect(server, timeout=30)
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    msgs = [os.urandom(256 * 1024) for _ in range(12)]
    sender = ws.send_in_background(b"".join(frame(OP_BINARY, m)
                                            for m in msgs))
    join_sender(sender, 30)
    deadline = time.monotonic() + 2.5  # 2.5 idle periods of reading
    for i, m in enumerate(msgs):
        fin, op, payload = ws.recv_frame()
        assert (fin, op) == (True, OP_BINARY), (i, op, payload[:40])
        assert payload == m, f"message {i} differs"
        if time.monotonic() < deadline:
            time.sleep(0.25)
    # Idle now, it may be pinged, but it was not closed while reading.
    ws.send_frame(OP_CLOSE, close_body(1000))
    fin, op, payload = ws.recv_frame()
    while op == OP_PING:
        fin, op, payload = ws.recv_frame()
    assert (op, payload) == (OP_CLOSE, close_body(1000))
    ws.close()


def test_websocket_open_at_a_fast_stop_is_counted_closed(start_server):
    server = start_server(workers=1)
    worker = server.workers()[0]
    ws = connect(server)
    poll(lambda: ws_stats(server)["open"] == 1, 5, what="1 open")
    os.kill(worker, signal.SIGTERM)  # the master starts a new worker
    stats = poll(lambda: (s := ws_stats(server))["open"] == 0 and s, 10,
                 what="the closed WebSocket in the totals")
    assert stats["upgrades"] == 1
    assert sum(stats["closes"].values()) == 1, stats["closes"]
    ws.close()
