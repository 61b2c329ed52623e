"""Chat rooms (issue 14) when things go wrong: a worker or the hub killed,
a reload, a client that stops reading, a worker stopped long enough to be
lapped in the broadcast ring. Each test checks what the clients see: who
left, which sequence numbers came, what they were told of what they
missed."""

import os
import signal
import time

from chatclient import (CHAT_TIMEOUT, FAST, TelnetChat, WsChat, brief,
                        consecutive, is_event, of_type, seqs, sequenced,
                        spread_ws)
from conftest import IO_TIMEOUT, pid_alive, poll, tcp_queues
from wsclient import OP_CLOSE, OP_TEXT, frame

HUB_RESPAWN = 1.0  # seconds: the master restarts a dead hub within this


def live_seqs_ok(client):
    """The live events client received: consecutive, none told missing."""
    events = client.snapshot()
    assert not [e for e in events if e.get("type") == "gap"], events
    got = seqs(sequenced(events, history=False))
    assert consecutive(got), got
    return got


def new_hub(server, old, timeout=HUB_RESPAWN):
    """Wait for a hub other than old; return its pid."""
    return poll(lambda: (p := server.hub()) not in (None, old) and p,
                timeout, interval=0.01, what="a new chat hub")


# -- a worker killed ---------------------------------------------------------

def test_killed_worker_members_leave_for_the_others(start_server):
    srv = start_server(workers=2)
    placed = spread_ws(srv, "r1", per_worker=2)
    victim, survivor = list(placed)
    doomed, (b1, b2) = placed[victim], placed[survivor]
    nicks = {c.nick for c in doomed}
    os.kill(victim, signal.SIGKILL)

    def doomed_leave(e):
        return of_type("leave")(e) and e["nick"] in nicks
    for b in (b1, b2):
        b.wait_count(doomed_leave, len(nicks))
        left = [e["nick"] for e in b.snapshot() if doomed_leave(e)]
        assert sorted(left) == sorted(nicks), left  # each one, once
    for c in doomed:
        c.wait_ended()
    # The chat goes on: the survivors talk, a newcomer joins and talks.
    b1.say("still here")
    b2.until(of_type("message", text="still here"))
    srv.wait_workers(2, exclude=[victim])
    with WsChat(srv, "r1", nick="carol") as carol:
        carol.joined()
        carol.say("hello after the crash")
        b1.until(of_type("message", text="hello after the crash"))
        b1.send("/who")
        who = b1.until(of_type("who"))[-1]
        assert sorted(who["nicks"]) == sorted([b1.nick, b2.nick, "carol"])
    for b in (b1, b2):
        live_seqs_ok(b)
        b.close()


# -- the hub killed ----------------------------------------------------------

def test_killed_hub_is_restarted_within_a_second(start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        old = poll(srv.hub, IO_TIMEOUT, what="the chat hub")
        os.kill(old, signal.SIGKILL)
        new_hub(srv, old)
        alice.say("after the restart")


def test_killed_hub_keeps_sequence_and_delivers_what_was_sent_meanwhile(
        start_server):
    srv = start_server(workers=2, **FAST)
    placed = spread_ws(srv, "r1", per_worker=1)
    a, b = [cs[0] for cs in placed.values()]
    ev, _ = a.say("before")
    b.until(of_type("message", text="before"))
    old = poll(srv.hub, IO_TIMEOUT, what="the chat hub")
    # The master is stopped, so that the hub stays dead while the
    # messages are sent: they wait in the workers' rings.
    os.kill(srv.pid, signal.SIGSTOP)
    try:
        os.kill(old, signal.SIGKILL)
        poll(lambda: not pid_alive(old), IO_TIMEOUT, what="the hub's end")
        a.send("sent while the hub was down")
        b.send("this one too")
    finally:
        os.kill(srv.pid, signal.SIGCONT)
    new_hub(srv, old)
    for c in (a, b):
        c.until(of_type("message", text="sent while the hub was down"))
        c.until(of_type("message", text="this one too"))
        c.wait_count(of_type("message"), 3)
    after, _ = a.say("after")
    b.until(of_type("message", text="after"))
    views = []
    for c in (a, b):
        got = live_seqs_ok(c)
        assert after["seq"] == ev["seq"] + 3 == got[-1], (ev, after, got)
        views.append([(e["seq"], e.get("text")) for e in
                      sequenced(c.snapshot(), history=False)
                      if e["seq"] > ev["seq"]])
    assert views[0] == views[1], views
    a.close()
    b.close()


def test_hub_killed_amid_a_flood_loses_and_repeats_nothing(start_server):
    srv = start_server(workers=1, **FAST)
    pub = WsChat(srv, "r1", nick="pub")
    pub.joined()
    sub = WsChat(srv, "r1", nick="sub")
    sub.joined()
    old = poll(srv.hub, IO_TIMEOUT, what="the chat hub")
    for i in range(300):
        pub.send(f"flood {i}")
        if i == 150:
            os.kill(old, signal.SIGKILL)
    new_hub(srv, old, timeout=IO_TIMEOUT)
    sub.wait_count(of_type("message"), 300, timeout=30)
    texts = [e["text"] for e in sub.snapshot() if of_type("message")(e)]
    assert texts == [f"flood {i}" for i in range(300)], texts
    live_seqs_ok(sub)
    pub.close()
    sub.close()


# -- reload ------------------------------------------------------------------

def test_reload_closes_chat_clients_1001_and_since_resumes_exactly(
        start_server):
    srv = start_server(workers=2)
    placed = spread_ws(srv, "r1", per_worker=1)
    a, b = [cs[0] for cs in placed.values()]
    a.say("one")
    b.until(of_type("message", text="one"))
    old = srv.workers()
    srv.signal(signal.SIGHUP)
    assert a.wait_closed() == 1001
    assert b.wait_closed() == 1001
    last = {c.nick: max(seqs(c.snapshot())) for c in (a, b)}
    srv.wait_workers(2, exclude=old)
    carol = WsChat(srv, "r1", nick="carol")
    carol.joined()
    carol.say("while they were away")
    # The leaves of a and b may come after carol's join: wait for both.
    carol.wait_count(lambda e: of_type("leave")(e) and e["nick"] in last, 2)
    for c in (a, b):
        with WsChat(srv, "r1", nick=c.nick, since=last[c.nick]) as again:
            wel, before, own = again.joined()
            assert wel["nick"] == c.nick
            assert not [e for e in before if e["type"] == "gap"], before
            assert all(e.get("history") for e in before), before
            assert seqs(before) == list(range(last[c.nick] + 1,
                                              wel["seq"] + 1)), before
            assert own["seq"] == wel["seq"] + 1
            # What it saw before the close and what it was shown now
            # hold every event: the other's leave may be in either.
            resumed = {(e["type"], e["nick"]) for e in before}
            seen = {(e["type"], e["nick"]) for e in sequenced(c.snapshot())}
            assert {("leave", c.nick), ("join", "carol"),
                    ("message", "carol")} <= resumed, resumed
            assert {("leave", a.nick), ("leave", b.nick)} <= \
                resumed | seen, (resumed, seen)
    carol.close()


def test_reload_tells_telnet_clients_and_closes_them(start_server):
    srv = start_server(telnet=True)
    t = TelnetChat(srv)
    t.joined()
    srv.signal(signal.SIGHUP)
    t.wait_ended()
    lines = t.taken()
    assert lines and lines[-1].startswith("! "), lines
    t.close()


# -- a client that stops reading --------------------------------------------

def read_frames(sock, leftover, timeout=IO_TIMEOUT):
    """Every frame the server sent on sock until it ends: [(opcode,
    payload)]; a torn frame at the end is an AssertionError."""
    data = bytearray(leftover)
    deadline = time.monotonic() + timeout
    sock.settimeout(timeout)
    while True:
        if time.monotonic() > deadline:
            raise AssertionError("the server never ended the stream")
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        data += chunk
    frames, i = [], 0
    while i < len(data):
        b1 = data[i + 1]
        n, h = b1 & 0x7F, 2
        if n == 126:
            n, h = int.from_bytes(data[i + 2:i + 4], "big"), 4
        elif n == 127:
            n, h = int.from_bytes(data[i + 2:i + 10], "big"), 10
        assert i + h + n <= len(data), \
            f"a torn frame: {len(data) - i} of {h + n} bytes"
        frames.append((data[i] & 0x0F, bytes(data[i + h:i + h + n])))
        i += h + n
    return frames


SLOW_MESSAGES, SLOW_SIZE = 300, 3000  # 900 KB: far over max_queue = 64k


def overrun_slow_reader(srv, endpoint=None, server_port=None):
    """A member that stops reading after its join, a normal member and a
    publisher who says SLOW_MESSAGES messages of SLOW_SIZE bytes, all on
    one worker: return (slow, normal, pub). The messages are more than
    max_queue and what the kernel holds for the slow one together, so the
    server must have found it too slow by then. endpoint and server_port:
    where the clients connect (a TlsEndpoint and srv.tls_port for wss),
    srv and srv.port by default."""
    srv, server_port = endpoint or srv, server_port or srv.port
    slow = WsChat(srv, "r1", nick="slow", rcvbuf=4096, read=False)
    while True:  # read up to its own join, then nothing
        _, payload = slow.ws.recv_message()
        if b'"type":"join"' in payload:
            break
    normal = WsChat(srv, "r1", nick="normal")
    normal.joined()
    pub = WsChat(srv, "r1", nick="pub")
    pub.joined()
    for i in range(0, SLOW_MESSAGES, 10):  # under max_queue at a time
        for j in range(i, i + 10):
            pub.send(f"{j} " + "x" * SLOW_SIZE)
        normal.wait_count(of_type("message"), i + 10)
    port = slow.sock.getsockname()[1]
    tx = tcp_queues(server_port, port)
    rx = tcp_queues(port, server_port)
    held = (tx[0] if tx else 0) + (rx[1] if rx else 0)
    assert held + 64 * 1024 < SLOW_MESSAGES * SLOW_SIZE, \
        f"the kernel holds {held} bytes: the test proves nothing"
    return slow, normal, pub


def test_slow_reader_is_closed_1008_and_others_are_unaffected(
        start_server):
    srv = start_server(workers=1, chat_max_queue="64k", **FAST)
    slow, normal, pub = overrun_slow_reader(srv)
    # Now the slow one reads: what the kernel held, then the close.
    frames = read_frames(slow.sock, bytes(slow.ws.reader.buf))
    assert frames and frames[-1][0] == OP_CLOSE, brief(frames[-1:])
    assert frames[-1][1][:2] == (1008).to_bytes(2, "big"), frames[-1]
    assert all(op == OP_TEXT for op, _ in frames[:-1])
    normal.until(of_type("leave", nick="slow"))
    pub.say("after the slow one")
    normal.until(of_type("message", text="after the slow one"))
    texts = [e["text"].split(" ", 1)[0] for e in normal.snapshot()
             if of_type("message", nick="pub")(e)]
    assert texts == [str(i) for i in range(SLOW_MESSAGES)] + ["after"], \
        texts[-5:]
    live_seqs_ok(normal)
    slow.sock.close()
    normal.close()
    pub.close()


def test_slow_reader_that_never_reads_again_leaves_the_room(start_server):
    srv = start_server(workers=1, chat_max_queue="64k", **FAST)
    slow, normal, pub = overrun_slow_reader(srv)
    # Found too slow, it is no member any more (well before send_timeout,
    # 60 s, could end a connection that takes nothing).
    normal.until(of_type("leave", nick="slow"), timeout=CHAT_TIMEOUT)
    normal.send("/who")
    who = normal.until(of_type("who"))[-1]
    assert sorted(who["nicks"]) == ["normal", "pub"], who
    slow.sock.close()
    normal.close()
    pub.close()


def test_reader_that_keeps_up_outlasts_a_burst_under_max_queue(
        start_server):
    srv = start_server(workers=1, chat_max_queue="256k", **FAST)
    reader = WsChat(srv, "r1", nick="reader")
    reader.joined()
    pub = WsChat(srv, "r1", nick="pub")
    pub.joined()
    n = 70  # 70 frames of ~3.1 KB, published at once: ~220 KB < 256k
    pub.send_raw(b"".join(frame(OP_TEXT, f"{i:02} " + "z" * 3000)
                          for i in range(n)))
    for c in (reader, pub):
        c.wait_count(of_type("message", nick="pub"), n)
        live_seqs_ok(c)
    pub.close()
    reader.close()


# -- a worker stopped: lapped in the broadcast ring -------------------------

def test_stopped_worker_tells_its_clients_of_the_gap(start_server):
    srv = start_server(workers=2, chat_broadcast_size="1m", chat_history=10,
                       **FAST)
    placed = spread_ws(srv, "r1", per_worker=1)
    (wa, (pub,)), (wb, (sub,)) = list(placed.items())
    start, _ = pub.say("before")
    sub.until(of_type("message", text="before"))
    n = 600  # ~3 KB each: 1.8 MB through a 1 MB ring
    text = "y" * 3000
    os.kill(wb, signal.SIGSTOP)
    try:
        for i in range(0, n, 20):  # 60 KB at a time: under max_queue
            for j in range(i, i + 20):
                pub.send(f"{j} {text}")
            pub.wait_count(of_type("message"), i + 21, timeout=30)
    finally:
        os.kill(wb, signal.SIGCONT)
    last = pub.snapshot()[-1]
    assert last["type"] == "message" and last["text"].startswith(f"{n - 1} ")
    sub.until(lambda e: e.get("seq") == last["seq"], timeout=30)
    events = [e for e in sub.snapshot()
              if e.get("type") == "gap" or
              (is_event(e) and e["seq"] >= start["seq"])]
    assert events[0]["seq"] == start["seq"], events[:2]
    gaps = [e for e in events if e["type"] == "gap"]
    assert gaps, "no gap told"
    prev, missed = start["seq"], 0
    for e in events[1:]:
        if e["type"] == "gap":
            assert e["room"] == "r1" and e["missed"] > 0, e
            missed += e["missed"]
            continue
        assert e["seq"] == prev + 1 + missed, (prev, missed, e["seq"])
        prev, missed = e["seq"], 0
    got = [e for e in events[1:] if e["type"] != "gap"]
    assert len(got) + sum(g["missed"] for g in gaps) == \
        last["seq"] - start["seq"]
    pub.close()
    sub.close()
