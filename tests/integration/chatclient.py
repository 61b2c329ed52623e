"""Chat clients for the tests: WebSocket (on wsclient.py's raw frames) and
telnet lines, each read by a thread of its own from the moment it
connects, so that no client of a test ever stops reading (the server
closes one that does, as too slow) unless the test means it to.

  WsChat(server, room, nick=, since=)   a WebSocket chat client; .events
                                        holds the JSON objects received
  TelnetChat(server)                    a telnet client; .events holds
                                        its lines (str, CRLF stripped)
  .next(), .until(pred), .wait_count()  wait for what comes next
  .wait_closed()                        the close code (WebSocket) once
                                        the server closed the connection
  sequenced(), seqs(), of_type(), message_line()   filters, predicates
  consecutive(numbers)                  no gap, no duplicate, in order
  FAST                                  [chat] keys: no rate limit
  conn_owner(server, sock)              the worker holding a connection
  spread_ws(server, ...)                clients placed on every worker

Every wait has a deadline; none sleeps blindly.
"""

import json
import os
import socket
import struct
import threading
import time
import urllib.parse

from conftest import IO_TIMEOUT, Reader, poll
from wsclient import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, \
    Pmd, WsConn, accept_for, close_body, frame, handshake_request, make_key

CHAT_TIMEOUT = 10.0  # seconds for any one awaited event
EVENT_TYPES = ("message", "me", "join", "leave", "nick")
# [chat] overrides with no rate limit to speak of.
FAST = {"chat_rate": "1000/s", "chat_burst": 10000}


def brief(items):
    """items (events or lines) as a short string for a failure message:
    long texts cut."""
    def cut(v):
        if isinstance(v, str) and len(v) > 40:
            return v[:30] + f"...({len(v)} chars)"
        if isinstance(v, dict):
            return {k: cut(x) for k, x in v.items()}
        return v
    return repr([cut(i) for i in items])


class Closed(AssertionError):
    """The connection ended while a test waited for more."""


class Inbox:
    """What a client received, in order, and a cursor of what was taken."""

    def __init__(self):
        self.events = []
        self.pos = 0  # events before it were taken by next()/until()
        self.ended = False  # the stream ended: nothing more comes
        self.error = None  # what ended the reader, if not the stream
        self.cond = threading.Condition()

    def _push(self, item):
        with self.cond:
            self.events.append(item)
            self.cond.notify_all()

    def _end(self, error=None):
        with self.cond:
            self.ended = True
            self.error = error
            self.cond.notify_all()

    def next(self, timeout=CHAT_TIMEOUT):
        """The next item not taken yet; Closed if the stream ended."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.pos >= len(self.events):
                left = deadline - time.monotonic()
                if self.ended:
                    raise Closed(f"{self!r} ended ({self.error!r}, close "
                                 f"{self.close_state()}) after "
                                 f"{brief(self.events[-5:])}")
                if left <= 0:
                    raise AssertionError(
                        f"{self!r}: nothing within {timeout}s; last "
                        f"{brief(self.events[-5:])}")
                self.cond.wait(left)
            item = self.events[self.pos]
            self.pos += 1
            return item

    def until(self, pred, timeout=CHAT_TIMEOUT):
        """Take items up to the first for which pred is true; return them
        all, that one last."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            left = max(0.0, deadline - time.monotonic())
            try:
                item = self.next(left)
            except AssertionError as e:
                raise AssertionError(
                    f"{e}; waited for a match after {brief(out[-5:])}") \
                    from None
            out.append(item)
            if pred(item):
                return out

    def wait_count(self, pred, n, timeout=CHAT_TIMEOUT):
        """Wait until n received items (taken or not) satisfy pred."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = sum(1 for e in self.events if pred(e))
                if got >= n:
                    return got
                left = deadline - time.monotonic()
                if self.ended or left <= 0:
                    raise AssertionError(
                        f"{self!r}: {got} of {n} matching items "
                        f"(ended={self.ended}, close {self.close_state()}); "
                        f"last {brief(self.events[-3:])}")
                self.cond.wait(left)

    def close_state(self):
        """How the stream ended, for a failure message."""
        return getattr(self, "close_code", None), \
            getattr(self, "close_reason", None)

    def snapshot(self):
        """A copy of every item received so far."""
        with self.cond:
            return list(self.events)

    def taken(self):
        """The items received and not yet taken are skipped: return them."""
        with self.cond:
            out = self.events[self.pos:]
            self.pos = len(self.events)
            return out

    def wait_ended(self, timeout=CHAT_TIMEOUT):
        """Wait for the end of the stream."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self!r} still open after {timeout}s; last "
                        f"{brief(self.events[-3:])}")
                self.cond.wait(left)


def shut(sock):
    """Close sock, and the connection with it (a reader thread holds a
    duplicate of the descriptor, which close() alone would leave open)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected any more
    sock.close()


def ws_connect(server, target, timeout=IO_TIMEOUT, rcvbuf=None,
               extensions=None):
    """Open a WebSocket on target (SO_RCVBUF rcvbuf, if given), offering
    extensions (see handshake_request()); return the WsConn, which holds
    the permessage-deflate agreement (.pmd) and the answer (.response).
    The answer must be 101."""
    key = make_key()
    sock = server.connect(timeout, rcvbuf=rcvbuf)
    try:
        sock.sendall(handshake_request(target, key=key,
                                       extensions=extensions))
        reader = Reader(sock, timeout)
        resp = reader.read_response()
        if resp.status != 101:
            raise AssertionError(f"{target}: handshake answered {resp}")
        assert resp.header("Sec-WebSocket-Accept") == accept_for(key), resp
        conn = WsConn(sock, bytes(reader.buf), timeout,
                      Pmd.from_response(resp))
    except BaseException:
        sock.close()
        raise
    conn.response = resp
    return conn


class WsChat(Inbox):
    """A WebSocket chat client: GET PATH/ROOM?nick=&since=.

    With extensions (e.g. "permessage-deflate") offered and agreed, .pmd
    holds the agreement; compressed frames are inflated as they come, and
    .wire holds, for each item of .events, (compressed, the payload as it
    came) of its frame.
    """

    def __init__(self, server, room=None, nick=None, since=None,
                 path="/chat", query=None, rcvbuf=None, read=True,
                 timeout=IO_TIMEOUT, extensions=None):
        super().__init__()
        self.wire = []
        target = path if room is None else f"{path}/{room}"
        params = []
        if nick is not None:
            params.append(("nick", nick))
        if since is not None:
            params.append(("since", str(since)))
        if query is not None:
            target += "?" + query
        elif params:
            target += "?" + urllib.parse.urlencode(params)
        self.target = target
        self.close_code = None  # the server's close code, once it came
        self.close_reason = None
        self.nick = None  # the nick the welcome gave
        self.ws = ws_connect(server, target, timeout, rcvbuf, extensions)
        self.pmd = self.ws.pmd
        self.response = self.ws.response
        self.sock = self.ws.sock
        self._send_lock = threading.Lock()
        self._thread = None
        if read:
            self.start_reading()

    def __repr__(self):
        return f"<WsChat {self.target}>"

    def start_reading(self):
        """Read in a thread of its own from now on."""
        rsock = self.sock.dup()
        self._reader = WsConn(rsock, bytes(self.ws.reader.buf),
                              pmd=self.pmd)
        self.ws.reader.buf.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        conn = self._reader
        try:
            while True:
                try:
                    _fin, rsv, opcode, payload = conn.recv_frame_rsv(3600)
                except EOFError:
                    self._end()
                    return
                if opcode == OP_TEXT:
                    text = conn.decompressor.decompress(payload) if rsv \
                        else payload
                    with self.cond:
                        self.wire.append((bool(rsv), payload))
                    self._push(json.loads(text.decode("utf-8")))
                elif opcode == OP_CLOSE:
                    self.close_code = struct.unpack(">H", payload[:2])[0] \
                        if len(payload) >= 2 else None
                    self.close_reason = payload[2:]
                    self._reply_close(payload[:2])
                    self._drain_to_eof(conn)
                    return
                elif opcode == OP_PING:
                    self.send_frame(OP_PONG, payload)
                else:
                    raise AssertionError(f"a frame of opcode {opcode:#x}")
        except Exception as e:  # noqa: BLE001 (recorded for the test)
            self._end(e)
        finally:
            conn.sock.close()

    def _reply_close(self, body):
        try:
            self.send_frame(OP_CLOSE, body)
        except OSError:
            pass  # the server closed first

    def _drain_to_eof(self, conn):
        try:
            conn.reader.read_until_close(IO_TIMEOUT)
        except (OSError, socket.timeout):
            pass
        self._end()

    def send_frame(self, opcode, payload=b"", **kw):
        """Build a frame (wsclient.frame()) and send it."""
        self.send_raw(frame(opcode, payload, **kw))

    def send_raw(self, data):
        """Send bytes as they are (frames built by the caller)."""
        with self._send_lock:
            self.sock.settimeout(IO_TIMEOUT)
            self.sock.sendall(data)

    def send(self, text, compress=False):
        """Send one text message (str, or raw bytes as they are); with
        compress, deflated (permessage-deflate must have been agreed)."""
        if isinstance(text, str):
            text = text.encode("utf-8")
        if compress:
            with self._send_lock:
                data = self.ws.message_bytes(OP_TEXT, text, compress=True)
            self.send_raw(data)
            return
        self.send_frame(OP_TEXT, text)

    def send_binary(self, data):
        """Send one binary message."""
        self.send_frame(OP_BINARY, data)

    def wait_closed(self, timeout=CHAT_TIMEOUT):
        """Wait until the server closed; return its close code."""
        self.wait_ended(timeout)
        return self.close_code

    def welcome(self, timeout=CHAT_TIMEOUT):
        """The first event, which must be the welcome."""
        ev = self.next(timeout)
        assert ev.get("type") == "welcome", f"{self!r}: first {ev!r}"
        self.nick = ev["nick"]
        return ev

    def joined(self, timeout=CHAT_TIMEOUT):
        """Wait for the welcome and this client's own join; return
        (welcome, events before the join, the join)."""
        wel = self.welcome(timeout)
        before = self.until(
            lambda e: e.get("type") == "join" and not e.get("history")
            and e.get("nick") == wel["nick"], timeout)
        return wel, before[:-1], before[-1]

    def say(self, text, timeout=CHAT_TIMEOUT, compress=False):
        """Send a message and wait until it comes back; return its event
        and what came before it."""
        self.send(text, compress)
        got = self.until(lambda e: e.get("type") == "message"
                         and e.get("text") == text
                         and not e.get("history"), timeout)
        return got[-1], got[:-1]

    def close(self):
        """Send a close frame and end the connection, without waiting."""
        try:
            self.send_frame(OP_CLOSE, close_body(1000))
        except OSError:
            pass
        shut(self.sock)
        if self._thread is not None:
            self._thread.join(IO_TIMEOUT)

    def leave(self, timeout=CHAT_TIMEOUT):
        """Close the WebSocket and wait until the server has closed the
        connection (it has let the client leave by then); return the
        server's close code."""
        self.send_frame(OP_CLOSE, close_body(1000))
        self.wait_ended(timeout)
        shut(self.sock)
        self._thread.join(IO_TIMEOUT)
        return self.close_code

    def abort(self):
        """Close the connection without a close frame."""
        shut(self.sock)
        if self._thread is not None:
            self._thread.join(IO_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TelnetChat(Inbox):
    """A telnet chat client; its events are the lines it received."""

    def __init__(self, server):
        super().__init__()
        self.sock = server.connect_telnet()
        self.nick = None  # the nick the greeting gave
        self._buf = bytearray()
        self._thread = None
        self.start_reading()

    def __repr__(self):
        return f"<TelnetChat {self.sock.getsockname()[1]}>"

    def start_reading(self):
        """Read in a thread of its own from now on."""
        rsock = self.sock.dup()
        # A timeout, not blocking mode: the descriptor is shared with the
        # sending side, whose timeout makes it O_NONBLOCK.
        rsock.settimeout(3600)
        self._thread = threading.Thread(target=self._run, args=(rsock,),
                                        daemon=True)
        self._thread.start()

    def _run(self, rsock):
        try:
            while True:
                try:
                    data = rsock.recv(1 << 16)
                except ConnectionResetError:
                    data = b""
                if not data:
                    if self._buf:
                        self._push(self._buf.decode("utf-8", "replace"))
                    self._end()
                    return
                self._buf += data
                while (i := self._buf.find(b"\n")) != -1:
                    line = bytes(self._buf[:i]).rstrip(b"\r")
                    del self._buf[:i + 1]
                    self._push(line.decode("utf-8", "replace"))
        except Exception as e:  # noqa: BLE001 (recorded for the test)
            self._end(e)
        finally:
            rsock.close()

    def send_raw(self, data):
        """Send bytes as they are."""
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.sendall(data)

    def send(self, text, end=b"\r\n"):
        """Send one line (str, or raw bytes as they are)."""
        if isinstance(text, str):
            text = text.encode("utf-8")
        self.send_raw(text + end)

    def greeting(self, timeout=CHAT_TIMEOUT):
        """The greeting line: return (room, nick)."""
        line = self.next(timeout)
        assert line.startswith("* welcome to "), f"greeting {line!r}"
        room, _, rest = line[len("* welcome to "):].partition(", ")
        self.nick = rest.split(" ", 1)[0]
        return room, self.nick

    def joined(self, timeout=CHAT_TIMEOUT):
        """Wait for the greeting and the own join: return (room, nick)."""
        room, nick = self.greeting(timeout)
        self.until(lambda line: line == f"* {nick} joined {room}", timeout)
        return room, nick

    def close(self):
        """End the connection."""
        shut(self.sock)
        self._thread.join(IO_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def is_event(e):
    """A sequenced event (message, me, join, leave, nick)."""
    return isinstance(e, dict) and e.get("type") in EVENT_TYPES


def sequenced(events, history=None):
    """The sequenced events of events; with history=True or False, only
    those replayed from the history, or only the live ones."""
    return [e for e in events if is_event(e)
            and (history is None or bool(e.get("history")) == history)]


def consecutive(numbers):
    """True if numbers go up by one at each step (and there are some)."""
    return bool(numbers) and numbers == list(
        range(numbers[0], numbers[0] + len(numbers)))


def seqs(events):
    """The sequence numbers of the sequenced events of events."""
    return [e["seq"] for e in sequenced(events)]


def of_type(kind, **fields):
    """A predicate: an event of type kind whose fields are as given."""
    def pred(e):
        return (isinstance(e, dict) and e.get("type") == kind
                and all(e.get(k) == v for k, v in fields.items()))
    return pred


def message_line(nick, text):
    """A predicate: a telnet line showing message text from nick."""
    def pred(line):
        return (len(line) > 11 and line[0] == "[" and line[9:11] == "] "
                and line[11:] == f"<{nick}> {text}")
    return pred


def socket_inode(local_port, remote_port):
    """The inode of the 127.0.0.1 socket local_port -> remote_port."""
    local = f"0100007F:{local_port:04X}"
    remote = f"0100007F:{remote_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return fields[9]
    return None


def fd_inodes(pid):
    """The socket inodes pid holds open."""
    out = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return out
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


def conn_owner(server, sock):
    """The pid of the worker holding the server's end of sock (a
    connection to the HTTP port), or None."""
    inode = socket_inode(server.port, sock.getsockname()[1])
    if inode is None or inode == "0":
        return None
    for pid in server.workers():
        if inode in fd_inodes(pid):
            return pid
    return None


def wait_owner(server, sock, timeout=CHAT_TIMEOUT):
    """Wait until a worker holds sock's connection; return its pid."""
    return poll(lambda: conn_owner(server, sock), timeout,
                what=f"a worker holding {sock.getsockname()}")


def spread_ws(server, room, per_worker=1, tries=200, **kw):
    """Connect WebSocket chat clients until every worker holds per_worker
    of them; the extra ones leave again. Return {worker pid: [WsChat]}.

    The clients are joined (welcome and own join taken) before they
    count, so the room's events from then on are what each one sees.
    """
    workers = server.workers()
    placed = {pid: [] for pid in workers}
    for _ in range(tries):
        if all(len(v) >= per_worker for v in placed.values()):
            return placed
        c = WsChat(server, room, **kw)
        pid = wait_owner(server, c.sock)
        assert pid in placed, f"worker {pid} is not one of {workers}"
        if len(placed[pid]) < per_worker:
            c.joined()
            placed[pid].append(c)
        else:
            c.leave()
    raise AssertionError(
        f"after {tries} connections the workers hold "
        f"{ {p: len(v) for p, v in placed.items()} }")
