"""WebSocket and chat over TLS (issue 15): the echo endpoint over wss with
a real client library (python3-websockets) and with the raw client of
wsclient.py on an ssl-wrapped socket, the chat rooms over wss, the telnet
chat on a TLS port (a Python TLS client, openssl s_client), and a chat
member over wss that stops reading. These are behaviours the plain tests
(test_ws.py, test_ws_conformance.py, test_chat.py, test_chat_faults.py)
prove without TLS, checked again through the TLS connection code
(src/tls.c, src/conn.c). Besides, what only TLS has: the nick taken from
the client certificate, a cleartext client refused on the TLS chat port,
and the server's close_notify alert at the end of a stream.

The chat clients reach the TLS ports through tlsclient.TlsEndpoint: its
TlsSocket lets chatclient.py's reader threads read while the test writes.
"""

import asyncio
import json
import os
import select
import socket
import ssl
import subprocess
import time

import pytest
import websockets

from chatclient import (FAST, TelnetChat, WsChat, brief, consecutive,
                        message_line, of_type, seqs, sequenced)
from conftest import IO_TIMEOUT, pid_alive, poll
from test_chat_faults import overrun_slow_reader, read_frames
from test_ws_conformance import run_case, utf8_text
from tlsclient import TlsEndpoint
from wsclient import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,
                      OP_TEXT, close_body, connect, frame)

MIB = 1 << 20
WAIT = 10.0  # seconds for anything awaited
SIZES = [0, 1, 125, 126, 65535, 65536, 256 * 1024, MIB]
CLEARTEXT_LINE = ("! this port speaks TLS: connect with a TLS client "
                  "(openssl s_client, socat OPENSSL:...)")


def run_async(coro, timeout=WAIT):
    """Run coro to completion, bounded by timeout seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def wss_url(server, path="/echo"):
    return f"wss://127.0.0.1:{server.tls_port}{path}"


def text_of(n):
    """A str whose UTF-8 form is n bytes, with 1- to 4-byte sequences."""
    unit = "aκ€\U0001d11e"  # 1 + 2 + 3 + 4 bytes
    return unit * (n // 10) + "a" * (n % 10)


def access_json(server):
    """The server's access log (format = json), one dict a whole line."""
    try:
        text = server.access_log.read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.split("\n")[:-1]]


def with_cert(server):
    """A client context presenting the CN=alice certificate."""
    return server.tls_context(server.tls.client_pem, server.tls.client_key)


# -- the echo endpoint over wss: python3-websockets ------------------------

@pytest.mark.parametrize("kind", ["text", "binary"])
@pytest.mark.parametrize("size", SIZES)
def test_wss_message_is_echoed_exactly(start_server, size, kind):
    srv = start_server(tls=True)
    msg = text_of(size) if kind == "text" else os.urandom(size)

    # Compressed with context takeover, 1 MiB of random bytes comes back
    # a little longer than 1 MiB, websockets' default max_size.
    async def session():
        async with websockets.connect(wss_url(srv), ssl=srv.tls_context(),
                                      max_size=2 << 20) as ws:
            await ws.send(msg)
            return await ws.recv()

    got = run_async(session(), timeout=30)
    assert type(got) is type(msg) and len(got) == len(msg)
    assert got == msg


def test_wss_fragmented_messages_are_reassembled(start_server):
    srv = start_server(tls=True)

    async def session():
        async with websockets.connect(wss_url(srv),
                                      ssl=srv.tls_context()) as ws:
            await ws.send(["κό", "σμ", "", "ε", "!"])
            text = await ws.recv()
            big = [os.urandom(100 * 1024) for _ in range(5)]
            await ws.send(big)
            data = await ws.recv()
        return text, data == b"".join(big)

    assert run_async(session()) == ("κόσμε!", True)


def test_wss_ping_gets_its_pong(start_server):
    srv = start_server(tls=True)

    async def session():
        async with websockets.connect(wss_url(srv),
                                      ssl=srv.tls_context()) as ws:
            for payload in (b"", b"are you there", os.urandom(125)):
                waiter = await ws.ping(payload)
                await asyncio.wait_for(waiter, WAIT)
            await ws.send("still here")
            return await ws.recv()

    assert run_async(session()) == "still here"


def test_wss_close_1000_is_answered_1000(start_server):
    srv = start_server(tls=True)

    async def session():
        async with websockets.connect(wss_url(srv),
                                      ssl=srv.tls_context()) as ws:
            await ws.send("bye")
            await ws.recv()
            await ws.close(1000, "done")
        # The server echoes the code without the reason, as without TLS
        # (test_ws_conformance.py, case 7.3.4).
        return ws.close_code, ws.close_reason

    assert run_async(session()) == (1000, "")


def test_wss_upgrade_is_logged_101_with_the_tls_fields(start_server):
    srv = start_server(tls=True, format="json")

    async def session():
        async with websockets.connect(wss_url(srv),
                                      ssl=srv.tls_context()) as ws:
            await ws.send("logged")
            return await ws.recv()

    assert run_async(session()) == "logged"
    lines = poll(lambda: access_json(srv), WAIT, what="the access log line")
    assert len(lines) == 1, lines
    line = lines[0]
    assert (line["method"], line["target"], line["status"]) == (
        "GET", "/echo", 101), line
    assert line["tls_protocol"] == "TLSv1.3", line
    assert line["tls_cipher"], line
    assert "tls_client_subject" not in line, line


# -- the raw client of wsclient.py on an ssl-wrapped socket -----------------
# The conformance cases take a "server" whose connect() gives the socket:
# TlsEndpoint(shared=False) gives an ssl.SSLSocket to the TLS listener.

@pytest.fixture
def tls_echo(start_server):
    """The TLS listener of a daemon, as wsclient's server argument."""
    srv = start_server(tls=True)
    return TlsEndpoint(srv, shared=False)


def test_raw_client_over_tls_frames_in_1_byte_records_are_echoed(
        tls_echo):
    # Each byte in a TLS record of its own: the frame parser sees input
    # arrive a byte at a time after decryption too.
    frames = [(True, OP_TEXT, utf8_text(300)), (True, OP_PING, b"p"),
              (False, OP_BINARY, b"\x00\x01"), (True, OP_CONT, b"\x02")]
    data = b"".join(frame(op, p, fin=fin) for fin, op, p in frames)
    want = [f if f[1] != OP_PING else (True, OP_PONG, b"p") for f in frames]
    run_case(tls_echo, data, want, chunk=1)


def test_raw_client_over_tls_unmasked_frame_fails_1002(tls_echo):
    run_case(tls_echo, frame(OP_TEXT, b"bare", mask=False), [], close=1002)


def test_raw_client_over_tls_reserved_bit_fails_1002(tls_echo):
    run_case(tls_echo, frame(OP_TEXT, b"ok") + frame(OP_TEXT, b"x", rsv=4),
             [(True, OP_TEXT, b"ok")], close=1002)


def test_raw_client_over_tls_invalid_utf8_fails_1007(tls_echo):
    run_case(tls_echo, frame(OP_TEXT, b"caf\xc3("), [], close=1007)


def test_raw_client_over_tls_invalid_utf8_in_a_fragment_fails_1007(
        tls_echo):
    send = frame(OP_TEXT, "κό".encode(), fin=False) + \
        frame(OP_CONT, b"\xed\xa0\x80", fin=False)  # a surrogate
    run_case(tls_echo, send, [(False, OP_TEXT, "κό".encode())], close=1007)


def tls_end(sock, timeout=WAIT):
    """Read a close_notify=True socket to the end of its stream: return
    "close_notify" if the server sent one, else "no close_notify"."""
    sock.settimeout(timeout)
    try:
        while sock.recv(1 << 16):
            pass
    except ssl.SSLError as e:
        if e.reason != "UNEXPECTED_EOF_WHILE_READING":
            raise
        return "no close_notify"
    return "close_notify"


def test_raw_client_over_tls_server_close_ends_with_close_notify(
        start_server):
    srv = start_server(tls=True)
    with connect(TlsEndpoint(srv, shared=False, close_notify=True)) as ws:
        ws.send_frame(OP_TEXT, b"x", mask=False)  # the server closes 1002
        fin, op, payload = ws.recv_frame()
        assert (op, payload[:2]) == (OP_CLOSE, close_body(1002)), payload
        ws.send_frame(OP_CLOSE, close_body(1002))
        assert not ws.reader.buf
        assert tls_end(ws.sock) == "close_notify"


def test_raw_client_over_tls_client_close_ends_with_close_notify(
        start_server):
    srv = start_server(tls=True)
    with connect(TlsEndpoint(srv, shared=False, close_notify=True)) as ws:
        ws.send_frame(OP_TEXT, b"before the close")
        ws.expect_frame(True, OP_TEXT, b"before the close")
        ws.send_frame(OP_CLOSE, close_body(1000, "done"))
        ws.expect_frame(True, OP_CLOSE, close_body(1000))
        assert not ws.reader.buf
        assert tls_end(ws.sock) == "close_notify"


# -- chat over wss ----------------------------------------------------------

def test_two_wss_members_see_each_others_messages_in_one_order(
        start_server):
    srv = start_server(tls=True, **FAST)
    tls = TlsEndpoint(srv)
    with WsChat(tls, "r1", nick="ann") as ann:
        ann.joined()  # before bob comes: his join is live for her
        with WsChat(tls, "r1", nick="bob") as bob:
            bob.joined()
            ann.until(of_type("join", nick="bob"))
            for i in range(10):
                ann.send(f"ann {i}")
                bob.send(f"bob {i}")
            for c in (ann, bob):
                c.wait_count(of_type("message"), 20)
            views = [said_in_order(c) for c in (ann, bob)]
    assert views[0] == views[1]


def said_in_order(client):
    """The live messages client got, as (seq, nick, text): without gap,
    each member's own in the order sent (ann i, bob i for i < 10)."""
    live = [e for e in sequenced(client.snapshot(), history=False)
            if e["type"] == "message"]
    assert consecutive(seqs(live)), seqs(live)
    for nick in ("ann", "bob"):
        assert [e["text"] for e in live if e["nick"] == nick] == \
            [f"{nick} {i}" for i in range(10)], brief(live)
    return [(e["seq"], e["nick"], e["text"]) for e in live]


def test_wss_client_certificate_cn_is_the_nick_without_nick_param(
        start_server):
    srv = start_server(tls=True, tls_verify_client="optional")
    with WsChat(TlsEndpoint(srv, with_cert(srv)), "r1") as c:
        wel, _, own = c.joined()
        assert wel["nick"] == "alice", wel
        assert own["nick"] == "alice", own


def test_wss_nick_param_wins_over_the_certificate_cn(start_server):
    srv = start_server(tls=True, tls_verify_client="optional")
    with WsChat(TlsEndpoint(srv, with_cert(srv)), "r1", nick="bob") as c:
        wel, _, _ = c.joined()
        assert wel["nick"] == "bob", wel


def test_wss_client_without_certificate_gets_a_guest_nick(start_server):
    srv = start_server(tls=True, tls_verify_client="optional")
    with WsChat(TlsEndpoint(srv), "r1") as c:
        wel, _, _ = c.joined()
        assert wel["nick"].startswith("guest-"), wel


def test_wss_certificate_is_not_asked_for_when_verify_client_is_no(
        start_server):
    # verify_client = no (the default): no certificate is requested, so
    # the client's is never sent and cannot name it.
    srv = start_server(tls=True)
    with WsChat(TlsEndpoint(srv, with_cert(srv)), "r1") as c:
        wel, _, _ = c.joined()
        assert wel["nick"].startswith("guest-"), wel


def test_wss_certificate_nick_already_in_the_room_is_nick_taken(
        start_server):
    srv = start_server(tls=True, tls_verify_client="optional")
    tls = TlsEndpoint(srv, with_cert(srv))
    with WsChat(tls, "r1") as first:
        assert first.joined()[0]["nick"] == "alice"
        with WsChat(tls, "r1") as second:
            wel = second.welcome()
            assert wel["nick"].startswith("guest-"), wel
            err = second.next()
            assert (err["type"], err["code"]) == ("error", "nick_taken"), \
                err


def test_wss_newcomer_is_shown_the_history(start_server):
    srv = start_server(tls=True)
    tls = TlsEndpoint(srv)
    with WsChat(tls, "r1", nick="ann") as ann:
        ann.joined()
        for text in ("one", "two", "three"):
            ann.say(text)
        with WsChat(tls, "r1", nick="bob") as bob:
            wel, before, own = bob.joined()
            assert wel["seq"] == 4, wel
            assert [(e["type"], e["seq"], e.get("text"), e["history"])
                    for e in before] == [
                ("join", 1, None, True), ("message", 2, "one", True),
                ("message", 3, "two", True), ("message", 4, "three", True)]
            assert own["seq"] == 5


# -- the telnet chat on a TLS port ------------------------------------------

def test_tls_telnet_line_reaches_a_wss_member_of_the_room(start_server):
    srv = start_server(tls=True, telnet=True)
    tls = TlsEndpoint(srv)
    with WsChat(tls, "lobby", nick="watcher") as w:
        w.joined()
        with TelnetChat(tls) as t:
            _, nick = t.joined()
            assert nick.startswith("guest-"), nick
            w.until(of_type("join", nick=nick))
            t.send("hello over TLS")
            ev = w.until(of_type("message"))[-1]
            assert (ev["nick"], ev["text"]) == (nick, "hello over TLS")
            w.say("hello back")
            t.until(message_line("watcher", "hello back"))


def test_tls_telnet_client_certificate_cn_is_the_nick(start_server):
    srv = start_server(tls=True, telnet=True, tls_verify_client="optional")
    with TelnetChat(TlsEndpoint(srv, with_cert(srv))) as t:
        assert t.joined() == ("lobby", "alice")


class SClient:
    """openssl s_client -quiet as a telnet chat client: lines typed on
    its standard input, lines read from its standard output."""

    def __init__(self, server, *extra):
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-quiet", "-crlf", "-connect",
             f"127.0.0.1:{server.chat_port}", "-servername", "localhost",
             "-CAfile", str(server.tls.ca_pem), "-verify_return_error",
             *map(str, extra)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self.buf = b""

    def line(self, timeout=WAIT):
        """The next line it printed, CRLF stripped."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            assert ready, f"s_client printed no line in {timeout}s"
            data = os.read(fd, 4096)
            assert data, "s_client ended: " + \
                self.proc.stderr.read().decode(errors="replace")
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode()

    def type(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def close(self):
        self.proc.kill()
        self.proc.wait(WAIT)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


def test_openssl_s_client_chats_on_the_tls_chat_port(start_server):
    srv = start_server(tls=True, telnet=True)
    with WsChat(TlsEndpoint(srv), "lobby", nick="watcher") as w:
        w.joined()
        sc = SClient(srv)
        try:
            greeting = sc.line()
            assert greeting.startswith("* welcome to lobby, guest-"), \
                greeting
            nick = greeting.split(", ", 1)[1].split(" ", 1)[0]
            w.until(of_type("join", nick=nick))
            sc.type("typed into s_client")
            ev = w.until(of_type("message"))[-1]
            assert (ev["nick"], ev["text"]) == (nick, "typed into s_client")
        finally:
            sc.close()


def test_openssl_s_client_with_the_client_certificate_is_alice(
        start_server):
    srv = start_server(tls=True, telnet=True, tls_verify_client="require")
    sc = SClient(srv, "-cert", srv.tls.client_pem, "-key",
                 srv.tls.client_key)
    try:
        assert sc.line().startswith("* welcome to lobby, alice "), sc.buf
    finally:
        sc.close()


def test_tls_telnet_quit_ends_with_close_notify(start_server):
    srv = start_server(tls=True, telnet=True)
    with TlsEndpoint(srv, shared=False, close_notify=True) \
            .connect_telnet() as sock:
        sock.sendall(b"/quit\r\n")
        assert tls_end(sock) == "close_notify"


def cleartext_session(server, data):
    """Send data in clear on the TLS chat port; return (what came back
    before the end, how it ended: "eof" or "reset")."""
    s = socket.create_connection(("127.0.0.1", server.chat_port),
                                 IO_TIMEOUT)
    got = b""
    with s:
        s.sendall(data)
        deadline = time.monotonic() + WAIT
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                return got, "reset"
            if not chunk:
                return got, "eof"
            got += chunk


def test_cleartext_client_on_the_tls_chat_port_is_told_and_closed(
        start_server):
    srv = start_server(tls=True, telnet=True, format="json")
    got, _end = cleartext_session(srv, b"hello\r\n")
    assert got == CLEARTEXT_LINE.encode() + b"\r\n"
    line = poll(lambda: [x for x in access_json(srv)
                         if x["method"] == "TELNET"], WAIT,
                what="the session's access log line")
    assert len(line) == 1 and line[0]["status"] == 400, line
    assert "tls_protocol" not in line[0], line


def test_cleartext_client_does_not_join_the_room(start_server):
    srv = start_server(tls=True, telnet=True)
    with WsChat(TlsEndpoint(srv), "lobby", nick="watcher") as w:
        w.joined()
        got, _end = cleartext_session(srv, b"/nick intruder\r\nhi\r\n")
        assert got == CLEARTEXT_LINE.encode() + b"\r\n"
        with TelnetChat(TlsEndpoint(srv)) as t:  # a marker after it
            _, nick = t.joined()
            got = w.until(of_type("join", nick=nick))
        assert [e for e in got if e.get("type") == "join"] == [got[-1]], got


def test_cleartext_client_gets_an_orderly_end_not_a_reset(start_server):
    srv = start_server(tls=True, telnet=True)
    got, end = cleartext_session(srv, b"hello\r\n")
    assert got == CLEARTEXT_LINE.encode() + b"\r\n"
    assert end == "eof"


# -- a member over wss that stops reading -----------------------------------

def overrun_tls_slow_reader(srv):
    """test_chat_faults.overrun_slow_reader over wss."""
    return overrun_slow_reader(srv, TlsEndpoint(srv), srv.tls_port)


def test_wss_slow_reader_is_closed_1008_too_slow_and_the_worker_survives(
        start_server):
    srv = start_server(workers=1, tls=True, chat_max_queue="64k", **FAST)
    worker = srv.workers()[0]
    slow, normal, pub = overrun_tls_slow_reader(srv)
    normal.until(of_type("leave", nick="slow"))
    # Now the slow one reads: whole records and frames, then the close.
    frames = read_frames(slow.sock, bytes(slow.ws.reader.buf))
    assert frames and frames[-1][0] == OP_CLOSE, brief(frames[-1:])
    assert frames[-1][1] == close_body(1008, "too slow"), frames[-1]
    assert all(op == OP_TEXT for op, _ in frames[:-1])
    for _, payload in frames[:-1]:
        json.loads(payload)  # whole events, none torn
    assert pid_alive(worker) and srv.workers() == [worker]
    pub.say("after the slow one")
    normal.until(of_type("message", text="after the slow one"))
    # (In another room: r1's history is more than max_queue.)
    with WsChat(TlsEndpoint(srv), "r2", nick="late") as late:
        late.joined()
        late.say("a newcomer on the same worker")
    slow.sock.close()
    normal.close()
    pub.close()


def test_wss_slow_reader_that_never_reads_again_leaves_the_room(
        start_server):
    srv = start_server(workers=1, tls=True, chat_max_queue="64k", **FAST)
    slow, normal, pub = overrun_tls_slow_reader(srv)
    normal.until(of_type("leave", nick="slow"))
    normal.send("/who")
    who = normal.until(of_type("who"))[-1]
    assert sorted(who["nicks"]) == ["normal", "pub"], who
    slow.sock.close()
    normal.close()
    pub.close()

