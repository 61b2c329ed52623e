"""A raw-socket WebSocket client (RFC 6455) for the tests.

It sends whatever it is told, valid or not: frames with any FIN, RSV,
opcode, mask and length encoding, in one write or in chunks. It reads the
server's frames strictly (they must be unmasked, with no RSV bit and a
minimal length), and every read is bounded by a timeout.

  handshake(server, ...)        the opening handshake: (WsConn, Response);
                                the WsConn is None unless the answer is 101
  frame(opcode, payload, ...)   the bytes of one client frame
  close_body(code, reason)      the payload of a close frame
  WsConn.send(), .send_frame(), .recv_frame(), .recv_message(),
  .expect_close(), .expect_eof(), .expect_silence()
"""

import base64
import hashlib
import os
import socket
import struct
import threading
import time

from conftest import IO_TIMEOUT, Reader, request_bytes

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


def make_key():
    """A fresh Sec-WebSocket-Key: base64 of 16 random bytes."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    """The Sec-WebSocket-Accept value the server must answer key with."""
    digest = hashlib.sha1(key.encode() + GUID).digest()
    return base64.b64encode(digest).decode()


def handshake_request(path="/echo", key=None, version="13", headers=(),
                      method="GET", http_version="HTTP/1.1",
                      upgrade="websocket", connection="Upgrade"):
    """The bytes of an opening handshake; a None field is left out."""
    lines = []
    if upgrade is not None:
        lines.append(f"Upgrade: {upgrade}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    return request_bytes(path, method=method, version=http_version,
                         headers=lines + list(headers))


def mask_payload(payload, mask_key):
    """XOR payload with the 4-byte mask_key (fast for megabytes too)."""
    n = len(payload)
    if n == 0:
        return b""
    key = (mask_key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little")
            ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None,
          length_form=None, length=None):
    """The bytes of one client frame.

    rsv is the 3-bit RSV1..RSV3 field (4 = RSV1, 2 = RSV2, 1 = RSV3).
    length_form forces the length encoding: 7, 16 or 64 bits (default: the
    minimal one); length declares another length than len(payload), e.g.
    to send a header whose payload never comes. mask=False sends the
    payload unmasked; mask_key defaults to 4 random bytes.
    """
    if isinstance(payload, str):
        payload = payload.encode()
    declared = len(payload) if length is None else length
    if length_form is None:
        length_form = 7 if declared < 126 else 16 if declared <= 0xFFFF \
            else 64
    head = bytes([(0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0xF)])
    mbit = 0x80 if mask else 0
    if length_form == 7:
        head += bytes([mbit | declared])
    elif length_form == 16:
        head += bytes([mbit | 126]) + struct.pack(">H", declared)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", declared)
    if not mask:
        return head + payload
    if mask_key is None:
        mask_key = os.urandom(4)
    return head + mask_key + mask_payload(payload, mask_key)


def close_body(code, reason=b""):
    """The payload of a close frame with code and reason."""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack(">H", code) + reason


class ProtocolError(AssertionError):
    """The server sent something no valid server frame looks like."""


class WsConn:
    """One upgraded connection: raw frames out, parsed frames in."""

    def __init__(self, sock, leftover=b"", timeout=IO_TIMEOUT):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.reader = Reader(sock, timeout)
        self.reader.buf += leftover
        self.timeout = timeout

    # -- sending -----------------------------------------------------------

    def send(self, data, chunk=None, pause=0.0):
        """Write data; with chunk, in writes of chunk bytes, pausing pause
        seconds between them (TCP_NODELAY is on: each write is a segment)."""
        self.sock.settimeout(self.timeout)
        if chunk is None:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), chunk):
            self.sock.sendall(data[i:i + chunk])
            if pause:
                time.sleep(pause)

    def send_frame(self, opcode, payload=b"", chunk=None, pause=0.0, **kw):
        """Build a frame (see frame()) and send it."""
        self.send(frame(opcode, payload, **kw), chunk=chunk, pause=pause)

    def send_in_background(self, data, chunk=1 << 20, timeout=60.0):
        """Send data from a thread while the caller reads; return the
        thread, whose .sent counts the bytes written so far and whose
        .error holds what stopped it early (None once all is sent).

        The thread writes on its own descriptor (a dup of the socket), so
        its blocking writes do not share the reader's timeout; a write
        that makes no progress for timeout seconds stops it.
        """
        sock = self.sock.dup()
        sock.settimeout(timeout)

        def run():
            try:
                view = memoryview(data)
                for i in range(0, len(data), chunk):
                    piece = view[i:i + chunk]
                    while piece:
                        n = sock.send(piece)
                        piece = piece[n:]
                        t.sent += n
            except OSError as e:
                t.error = e
            finally:
                sock.close()

        t = threading.Thread(target=run, daemon=True)
        t.sent = 0
        t.error = None
        t.start()
        return t

    # -- receiving ---------------------------------------------------------

    def _need(self, n, deadline):
        """Wait until n bytes are buffered; EOFError if the stream ends."""
        while len(self.reader.buf) < n:
            if not self.reader.fill(deadline):
                raise EOFError(
                    f"EOF with {len(self.reader.buf)} of {n} bytes of a "
                    f"frame; buffered {bytes(self.reader.buf[:40])!r}")

    def recv_frame(self, timeout=None):
        """Read one server frame; return (fin, opcode, payload).

        Raises socket.timeout if none arrives in time, EOFError at the end
        of the stream and ProtocolError for a frame a server may not send.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        self._need(2, deadline)
        b0, b1 = self.reader.buf[0], self.reader.buf[1]
        fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF
        if b1 & 0x80:
            raise ProtocolError("the server sent a masked frame")
        if rsv:
            raise ProtocolError(f"the server set RSV bits {rsv:03b}")
        length, hlen = b1 & 0x7F, 2
        if length == 126:
            self._need(4, deadline)
            length = struct.unpack(">H", self.reader.buf[2:4])[0]
            hlen = 4
            if length < 126:
                raise ProtocolError(f"non-minimal 16-bit length {length}")
        elif length == 127:
            self._need(10, deadline)
            length = struct.unpack(">Q", self.reader.buf[2:10])[0]
            hlen = 10
            if length <= 0xFFFF or length >> 63:
                raise ProtocolError(f"bad 64-bit length {length}")
        if opcode >= OP_CLOSE and (length > 125 or not fin):
            raise ProtocolError(f"bad control frame {opcode:#x} "
                                f"fin={fin} length={length}")
        self._need(hlen + length, deadline)
        self.reader.take(hlen)
        return fin, opcode, self.reader.take(length)

    def recv_message(self, timeout=None):
        """Read the frames of one data message; return (opcode, payload).

        Control frames are not expected meanwhile: one is a failure.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        parts = []
        first = None
        while True:
            fin, opcode, payload = self.recv_frame(
                max(0.01, deadline - time.monotonic()))
            if opcode >= OP_CLOSE:
                raise AssertionError(
                    f"control frame {opcode:#x} {payload[:20]!r} inside "
                    f"a message")
            if first is None:
                assert opcode in (OP_TEXT, OP_BINARY), \
                    f"message starts with opcode {opcode:#x}"
                first = opcode
            else:
                assert opcode == OP_CONT, \
                    f"fragment with opcode {opcode:#x}, not continuation"
            parts.append(payload)
            if fin:
                return first, b"".join(parts)

    def expect_frame(self, fin, opcode, payload, timeout=None):
        """Read one frame and check it is exactly (fin, opcode, payload)."""
        got = self.recv_frame(timeout)
        want = (fin, opcode, payload)
        assert got == want, f"got {brief(got)}, expected {brief(want)}"

    def expect_close(self, code, timeout=None, reason=None):
        """Read the server's close frame, which must be the next frame and
        carry code (None: an empty body), then the end of the stream.

        With reason, the close reason must be exactly that. Return the
        reason the server sent.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        fin, opcode, payload = self.recv_frame(timeout)
        assert opcode == OP_CLOSE, \
            f"expected close {code}, got {brief((fin, opcode, payload))}"
        if code is None:
            assert payload == b"", f"close body {payload!r}, expected none"
            got_reason = b""
        else:
            assert len(payload) >= 2, f"close body {payload!r}"
            got = struct.unpack(">H", payload[:2])[0]
            assert got == code, \
                f"close code {got} {payload[2:]!r}, expected {code}"
            got_reason = payload[2:]
        if reason is not None:
            assert got_reason == reason, \
                f"close reason {got_reason!r}, expected {reason!r}"
        self.expect_eof(max(0.01, deadline - time.monotonic()))
        return got_reason

    def expect_eof(self, timeout=None):
        """The server closes the stream and sends nothing more."""
        try:
            more = self.reader.read_until_close(timeout or self.timeout)
        except socket.timeout:
            raise AssertionError(
                f"still open after {timeout or self.timeout}s; buffered "
                f"{bytes(self.reader.buf[:40])!r}") from None
        assert more == b"", f"more bytes before EOF: {more[:40]!r}"

    def expect_silence(self, seconds):
        """Nothing arrives (and the stream stays open) for seconds."""
        try:
            if self.reader.fill(time.monotonic() + seconds):
                raise AssertionError(
                    f"unexpected bytes {bytes(self.reader.buf[:40])!r}")
            raise AssertionError("the server closed the connection")
        except socket.timeout:
            pass

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def brief(f):
    """A short printable form of a (fin, opcode, payload) frame."""
    fin, opcode, payload = f
    shown = payload if len(payload) <= 40 else \
        payload[:40] + b"...(%d bytes)" % len(payload)
    return f"(fin={fin}, opcode={opcode:#x}, {shown!r})"


def handshake(server, path="/echo", key=None, timeout=IO_TIMEOUT, extra=b"",
              **fields):
    """Open a connection and send an opening handshake (fields as in
    handshake_request()), followed by the raw bytes extra.

    Return (WsConn, Response) after a 101, checking Sec-WebSocket-Accept,
    or (None, Response) after any other status (the socket is closed).
    """
    key = make_key() if key is None else key
    sock = server.connect(timeout)
    try:
        sock.sendall(handshake_request(path, key=key, **fields) + extra)
        reader = Reader(sock, timeout)
        resp = reader.read_response()
    except BaseException:
        sock.close()
        raise
    if resp.status != 101:
        sock.close()
        return None, resp
    assert resp.header("Sec-WebSocket-Accept") == accept_for(key), resp
    return WsConn(sock, bytes(reader.buf), timeout), resp


def connect(server, path="/echo", timeout=IO_TIMEOUT, **fields):
    """Handshake and return the WsConn; fail unless the answer is 101."""
    ws, resp = handshake(server, path, timeout=timeout, **fields)
    assert ws is not None, f"handshake answered {resp}"
    return ws


def join_sender(t, timeout=IO_TIMEOUT):
    """Wait for a send_in_background() thread; it must have sent all."""
    t.join(timeout)
    assert not t.is_alive(), f"still sending after {timeout}s ({t.sent} B)"
    assert t.error is None, f"sending failed after {t.sent} B: {t.error!r}"
