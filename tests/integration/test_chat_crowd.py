"""Chat rooms (issue 14) with many members: thousands of idle members in
one room, and a storm of members that join and leave. The daemon must
deliver to all of them in bounded time and come out of it healthy, with
the room's members right."""

import resource
import selectors
import socket
import time

import pytest

from chatclient import WsChat, of_type, sequenced
from conftest import IO_TIMEOUT, poll
from wsclient import OP_CLOSE, close_body, frame

CROWD = 2000
CROWD_TIMEOUT = 120.0  # seconds for the whole crowd to join
DELIVERY_TIMEOUT = 10.0  # seconds for one message to reach every member


def raise_nofile(need):
    """Raise this process's soft RLIMIT_NOFILE to need (skip if the hard
    limit does not allow it); return the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return hard


class Crowd:
    """Many telnet members read at once with one selector; each keeps only
    the tail of what it received and whether a wanted text came."""

    def __init__(self, server):
        self.server = server
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.tail = {}  # socket -> the last bytes received
        self.seen = {}  # socket -> set of wanted texts found
        self.wanted = [b"* welcome to "]
        self.closed = []  # sockets the server closed

    def connect(self, n):
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.server.chat_port),
                                         IO_TIMEOUT)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
            self.socks.append(s)
            self.tail[s] = b""
            self.seen[s] = set()
            self.pump(0)  # read as they come: none of them is slow

    def want(self, text):
        self.wanted.append(text)

    def pump(self, timeout):
        for key, _ in self.sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                self.sel.unregister(s)
                self.closed.append(s)
                continue
            buf = self.tail[s] + data
            for w in self.wanted:
                if w in buf:
                    self.seen[s].add(w)
            self.tail[s] = buf[-256:]

    def count(self, text):
        return sum(1 for s in self.socks if text in self.seen[s])

    def wait_all(self, text, timeout):
        """Pump until every member has received text; return the time it
        took."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while self.count(text) < len(self.socks):
            assert not self.closed, f"{len(self.closed)} members closed"
            left = deadline - time.monotonic()
            assert left > 0, (f"{self.count(text)} of {len(self.socks)} "
                              f"members got {text!r} in {timeout}s")
            self.pump(min(left, 0.1))
        return time.monotonic() - t0

    def close(self):
        self.sel.close()
        for s in self.socks:
            s.close()


def test_one_message_reaches_two_thousand_idle_members(start_server):
    raise_nofile(CROWD + 512)
    srv = start_server(telnet=True, workers=2, max_connections=CROWD + 64,
                       rlimit_nofile=2 * CROWD + 1024,
                       chat_max_members=CROWD + 64)
    crowd = Crowd(srv)
    try:
        crowd.connect(CROWD)
        crowd.wait_all(b"* welcome to ", CROWD_TIMEOUT)
        with WsChat(srv, "lobby", nick="herald") as herald:
            herald.joined(timeout=CROWD_TIMEOUT)
            text = "hear ye, all two thousand"
            crowd.want(f"<herald> {text}\r\n".encode())
            herald.send(text)
            took = crowd.wait_all(f"<herald> {text}\r\n".encode(),
                                  DELIVERY_TIMEOUT)
            assert took < DELIVERY_TIMEOUT
    finally:
        crowd.close()


def test_join_leave_storm_leaves_the_room_and_daemon_healthy(start_server):
    srv = start_server(telnet=True, workers=2)
    workers = set(srv.workers())
    observer = WsChat(srv, "lobby", nick="observer")
    observer.joined()
    steady = WsChat(srv, "lobby", nick="steady")
    steady.joined()
    for i in range(300):
        kind = i % 3
        if kind == 0:  # telnet: connect, close at once (maybe before the
            #            join is answered)
            socket.create_connection(("127.0.0.1", srv.chat_port),
                                     IO_TIMEOUT).close()
        elif kind == 1:  # WebSocket: handshake, a close frame, gone
            c = WsChat(srv, "lobby", read=False)
            c.sock.sendall(frame(OP_CLOSE, close_body(1000)))
            c.sock.close()
        else:  # WebSocket: joined, then the connection dropped
            c = WsChat(srv, "lobby")
            c.joined()
            c.abort()

    # Every member that joined leaves again, each once.
    def balanced():
        events = sequenced(observer.snapshot(), history=False)
        joins = [e["nick"] for e in events if e["type"] == "join"
                 and e["nick"] not in ("observer", "steady")]
        leaves = [e["nick"] for e in events if e["type"] == "leave"]
        return sorted(joins) == sorted(leaves) and joins
    joins = poll(balanced, 30, interval=0.1, what="a leave for every join")
    assert len(joins) >= 200, len(joins)  # the joined ones at least
    assert len(set(joins)) == len(joins), "a nick joined twice"
    got = [e["seq"] for e in sequenced(observer.snapshot(), history=False)]
    assert got == list(range(got[0], got[0] + len(got))), got
    observer.send("/who")
    who = observer.until(of_type("who"))[-1]
    assert sorted(who["nicks"]) == ["observer", "steady"], who
    steady.say("the room still works")
    observer.until(of_type("message", text="the room still works"))
    assert set(srv.workers()) == workers  # none crashed
    assert srv.get("/hello.txt").status == 200
    observer.close()
    steady.close()
