"""A raw-socket WebSocket client (RFC 6455) for the tests.

It sends whatever it is told, valid or not: frames with any FIN, RSV,
opcode, mask and length encoding, in one write or in chunks. It reads the
server's frames strictly (they must be unmasked, with a minimal length and
no RSV bit but RSV1 on the first frame of a data message when
permessage-deflate was agreed), and every read is bounded by a timeout.

  handshake(server, ...)        the opening handshake: (WsConn, Response);
                                the WsConn is None unless the answer is 101;
                                extensions= offers Sec-WebSocket-Extensions
  frame(opcode, payload, ...)   the bytes of one client frame
  close_body(code, reason)      the payload of a close frame
  WsConn.send(), .send_frame(), .recv_frame(), .recv_message(),
  .expect_close(), .expect_eof(), .expect_silence()

permessage-deflate (RFC 7692), with Python's zlib on raw deflate streams:
  parse_extensions(values)      a Sec-WebSocket-Extensions list, parsed
  Pmd.from_response(resp)       what the server's answer agreed, or None
  Compressor, Decompressor      one direction's codec, with or without
                                context takeover; deflate(), inflate()
                                for one message with a fresh context;
                                shrinks(): does a message deflate smaller
  WsConn.pmd                    the agreement (None: no extension)
  WsConn.message_bytes(), .send_message()   a message, compressed or
                                not, in one frame or fragments
  WsConn.recv_frame_rsv(), .recv_data(), .expect_data()   read frames with
                                their RSV bits, messages decoded
"""

import base64
import hashlib
import os
import socket
import struct
import threading
import time
import zlib
from collections import namedtuple

from conftest import IO_TIMEOUT, Reader, request_bytes

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

RSV1 = 4  # the rsv argument of frame(): RSV1..RSV3 as bits 2..0
RSV2 = 2
RSV3 = 1


def make_key():
    """A fresh Sec-WebSocket-Key: base64 of 16 random bytes."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    """The Sec-WebSocket-Accept value the server must answer key with."""
    digest = hashlib.sha1(key.encode() + GUID).digest()
    return base64.b64encode(digest).decode()


def handshake_request(path="/echo", key=None, version="13", headers=(),
                      method="GET", http_version="HTTP/1.1",
                      upgrade="websocket", connection="Upgrade",
                      extensions=None):
    """The bytes of an opening handshake; a None field is left out.

    extensions: a Sec-WebSocket-Extensions value (str), or a list of them,
    one header line each, in order.
    """
    lines = []
    if upgrade is not None:
        lines.append(f"Upgrade: {upgrade}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if isinstance(extensions, str):
        extensions = [extensions]
    for value in extensions or ():
        lines.append(f"Sec-WebSocket-Extensions: {value}")
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


# -- permessage-deflate (RFC 7692) --------------------------------------------

TAIL = b"\x00\x00\xff\xff"  # ends a sync flush; stripped from a message
INFLATE_PIECE = 256  # bytes Decompressor has zlib inflate at once
TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789"
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _token(text, i):
    """The token at text[i:] and the index after it ('' if none)."""
    j = i
    while j < len(text) and text[j] in TCHARS:
        j += 1
    return text[i:j], j


def _skip_ows(text, i):
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _param_value(text, i):
    """The value (token or quoted-string, unquoted) at text[i:] and the
    index after it; ValueError if there is none."""
    if i < len(text) and text[i] == '"':
        out, i = [], i + 1
        while i < len(text) and text[i] != '"':
            if text[i] == "\\":
                i += 1
            if i >= len(text):
                break
            out.append(text[i])
            i += 1
        if i >= len(text):
            raise ValueError(f"unterminated quoted-string in {text!r}")
        return "".join(out), i + 1
    value, i = _token(text, i)
    if not value:
        raise ValueError(f"no value at {i} in {text!r}")
    return value, i


def parse_extensions(values):
    """Parse Sec-WebSocket-Extensions values (each a header line, in order)
    as one list (RFC 6455 9.1): [(name, [(param, value or None)])].

    ValueError on a syntax error.
    """
    text = ", ".join(values)
    out = []
    i = _skip_ows(text, 0)
    while True:
        name, i = _token(text, i)
        if not name:
            raise ValueError(f"no extension name at {i} in {text!r}")
        params = []
        i = _skip_ows(text, i)
        while i < len(text) and text[i] == ";":
            param, i = _token(text, _skip_ows(text, i + 1))
            if not param:
                raise ValueError(f"no parameter name at {i} in {text!r}")
            i = _skip_ows(text, i)
            value = None
            if i < len(text) and text[i] == "=":
                value, i = _param_value(text, _skip_ows(text, i + 1))
                i = _skip_ows(text, i)
            params.append((param, value))
        out.append((name, params))
        if i == len(text):
            return out
        if text[i] != ",":
            raise ValueError(f"{text[i]!r} at {i} in {text!r}")
        i = _skip_ows(text, i + 1)


class Pmd:
    """A permessage-deflate agreement: the parameters of the server's
    answer. server_bits is the window the server may compress with (what
    the client inflates with), client_bits the one the client may use."""

    def __init__(self, server_no_context_takeover=False,
                 client_no_context_takeover=False,
                 server_max_window_bits=None, client_max_window_bits=None):
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits

    @property
    def server_bits(self):
        return self.server_max_window_bits or 15

    @property
    def client_bits(self):
        return self.client_max_window_bits or 15

    def __repr__(self):
        return (f"Pmd(snct={self.server_no_context_takeover}, "
                f"cnct={self.client_no_context_takeover}, "
                f"smwb={self.server_max_window_bits}, "
                f"cmwb={self.client_max_window_bits})")

    @classmethod
    def from_response(cls, resp):
        """The agreement of a 101 response, None if it names no extension.

        ProtocolError for an answer no client could accept (RFC 7692 7.1):
        an extension other than one permessage-deflate, a parameter unknown,
        repeated or with a bad value.
        """
        values = resp.headers_named("Sec-WebSocket-Extensions")
        if not values:
            return None
        try:
            exts = parse_extensions(values)
        except ValueError as e:
            raise ProtocolError(f"bad extension answer: {e}") from None
        if len(exts) != 1 or exts[0][0] != "permessage-deflate":
            raise ProtocolError(f"answer names {values!r}")
        pmd, seen = cls(), set()
        for param, value in exts[0][1]:
            if param in seen:
                raise ProtocolError(f"{param} twice in {values!r}")
            seen.add(param)
            if param in ("server_no_context_takeover",
                         "client_no_context_takeover") and value is None:
                setattr(pmd, param, True)
            elif param in ("server_max_window_bits",
                           "client_max_window_bits") \
                    and value in [str(b) for b in range(8, 16)]:
                setattr(pmd, param, int(value))
            else:
                raise ProtocolError(f"parameter {param}={value!r} in "
                                    f"{values!r}")
        return pmd


def deflate_bits(bits):
    """The window zlib deflates with for an agreed window of bits: raw
    deflate cannot use 8, and with 9 it never reaches back further than 250
    bytes (the window less MIN_LOOKAHEAD), within a 256-byte window."""
    return max(bits, 9)


class Compressor:
    """Deflates messages for one direction: one zlib stream for all of them
    (context takeover), or a fresh one per message."""

    def __init__(self, bits=15, level=6, takeover=True):
        self.bits = bits
        self.level = level
        self.takeover = takeover
        self.obj = None

    def compress(self, data, final=False):
        """The payload of one compressed message: data deflated, then a
        sync flush whose 00 00 ff ff is stripped (RFC 7692 7.2.1); with
        final, a final block ends the stream instead (nothing stripped)."""
        if self.obj is None or not self.takeover:
            self.obj = zlib.compressobj(self.level, zlib.DEFLATED,
                                        -deflate_bits(self.bits))
        out = self.obj.compress(data)
        if final:
            out += self.obj.flush(zlib.Z_FINISH)
            self.obj = None
            return out
        out += self.obj.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL), out[-8:]
        return out[:-4]

    def compress_parts(self, parts):
        """One message whose plain parts are each flushed (sync) as they
        are deflated: the compressed pieces, in order, each ending on a
        byte boundary (the last one with 00 00 ff ff stripped). Inflating
        the first k pieces gives the first k parts."""
        if self.obj is None or not self.takeover:
            self.obj = zlib.compressobj(self.level, zlib.DEFLATED,
                                        -deflate_bits(self.bits))
        out = [self.obj.compress(p) + self.obj.flush(zlib.Z_SYNC_FLUSH)
               for p in parts]
        assert out[-1].endswith(TAIL)
        out[-1] = out[-1][:-4]
        return out


class Decompressor:
    """Inflates the messages of one direction with a window of bits: one
    zlib stream for all of them (context takeover), or a fresh one per
    message, which fails on data that refers to an earlier message.

    Output comes in pieces of INFLATE_PIECE bytes: zlib checks a distance
    against its window only where it reaches back past the output of the
    call, so data that refers further back than the window by more than a
    piece fails here.
    """

    def __init__(self, bits=15, takeover=True):
        self.bits = bits
        self.takeover = takeover
        self.obj = None

    def decompress(self, payload):
        """The message a compressed payload holds (00 00 ff ff appended).
        ProtocolError for data zlib refuses, or more after a final block
        than the appended 00 00 ff ff."""
        if self.obj is None or not self.takeover:
            self.obj = zlib.decompressobj(-self.bits)
        piece = INFLATE_PIECE
        try:
            out = [self.obj.decompress(payload + TAIL, piece)]
            while self.obj.unconsumed_tail or len(out[-1]) == piece:
                out.append(self.obj.decompress(self.obj.unconsumed_tail,
                                               piece))
            out = b"".join(out)
        except zlib.error as e:
            raise ProtocolError(f"inflate with window bits {self.bits}: "
                                f"{e} ({len(payload)} B)") from None
        if self.obj.eof:  # the message ended the stream with a final block
            if self.obj.unused_data != TAIL:
                raise ProtocolError(f"{self.obj.unused_data[:20]!r} after "
                                    f"the final block")
            self.obj = None
        return out


def deflate(data, bits=15, level=6):
    """data as the payload of a compressed message with a fresh context."""
    return Compressor(bits, level, takeover=False).compress(data)


def inflate(payload, bits=15):
    """The message a compressed payload made with a fresh context holds."""
    return Decompressor(bits, takeover=False).decompress(payload)


def shrinks(data, bits=15, level=1):
    """Whether data deflates afresh, as pfhttpd deflates a message without
    context takeover (zlib level, memLevel bits - 7, a sync flush), to
    fewer bytes than it has: if not, pfhttpd sends it uncompressed."""
    c = zlib.compressobj(level, zlib.DEFLATED, -bits, bits - 7)
    return len(c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)) - 4 < len(data)


# A data message read by WsConn.recv_data(): opcode, the message (inflated
# when compressed), whether it was (RSV1), the payload bytes as they came
# (compressed or not) and the number of frames it came in.
Message = namedtuple("Message", "opcode data compressed wire frames")


class WsConn:
    """One upgraded connection: raw frames out, parsed frames in."""

    def __init__(self, sock, leftover=b"", timeout=IO_TIMEOUT, pmd=None,
                 level=6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.reader = Reader(sock, timeout)
        self.reader.buf += leftover
        self.timeout = timeout
        self.use_pmd(pmd, level)

    def use_pmd(self, pmd, level=6):
        """Take the permessage-deflate agreement pmd (None: none): the
        codecs for both directions, with the windows and context takeover
        it says. The client deflates at zlib level."""
        self.pmd = pmd
        if pmd is None:
            self.compressor = self.decompressor = None
            return
        self.compressor = Compressor(
            pmd.client_bits, level,
            takeover=not pmd.client_no_context_takeover)
        self.decompressor = Decompressor(
            pmd.server_bits, takeover=not pmd.server_no_context_takeover)

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

    def message_bytes(self, opcode, data, compress=None, fragment=None,
                      final=False, rsv=0):
        """The frames of one data message. compress (default: whether
        permessage-deflate was agreed) deflates data with the connection's
        compressor (final: ending with a final block) and sets RSV1 on the
        first frame; fragment splits the payload as sent (compressed or
        not) into frames of that many bytes. rsv is ORed into every frame's
        RSV bits."""
        if isinstance(data, str):
            data = data.encode()
        if compress is None:
            compress = self.pmd is not None
        payload = self.compressor.compress(data, final) if compress \
            else data
        return frames_for(opcode, payload, RSV1 if compress else 0,
                          fragment, rsv)

    def send_message(self, opcode, data, compress=None, fragment=None,
                     chunk=None, final=False):
        """Send one data message (see message_bytes())."""
        self.send(self.message_bytes(opcode, data, compress, fragment,
                                     final), chunk=chunk)

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
        of the stream and ProtocolError for a frame a server may not send,
        or with any RSV bit (a compressed frame: see recv_frame_rsv()).
        """
        fin, rsv, opcode, payload = self.recv_frame_rsv(timeout)
        if rsv:
            raise ProtocolError(f"the server set RSV bits {rsv:03b}")
        return fin, opcode, payload

    def recv_frame_rsv(self, timeout=None):
        """Read one server frame; return (fin, rsv, opcode, payload).

        As recv_frame(), but RSV1 may be set on a text or binary frame (the
        first of a message) when permessage-deflate was agreed; any other
        RSV bit is a ProtocolError.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        self._need(2, deadline)
        b0, b1 = self.reader.buf[0], self.reader.buf[1]
        fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF
        if b1 & 0x80:
            raise ProtocolError("the server sent a masked frame")
        if rsv and (rsv != RSV1 or self.pmd is None
                    or opcode not in (OP_TEXT, OP_BINARY)):
            raise ProtocolError(f"the server set RSV bits {rsv:03b} on "
                                f"opcode {opcode:#x} (pmd {self.pmd})")
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
        return fin, rsv, opcode, self.reader.take(length)

    def recv_data(self, timeout=None):
        """Read the frames of one data message; return a Message, inflated
        with the connection's decompressor if its first frame has RSV1.

        Control frames are not expected meanwhile: one is a failure.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        parts = []
        first = rsv1 = None
        while True:
            fin, rsv, opcode, payload = self.recv_frame_rsv(
                max(0.01, deadline - time.monotonic()))
            if opcode >= OP_CLOSE:
                raise AssertionError(
                    f"control frame {opcode:#x} {payload[:20]!r} inside "
                    f"a message")
            if first is None:
                assert opcode in (OP_TEXT, OP_BINARY), \
                    f"message starts with opcode {opcode:#x}"
                first, rsv1 = opcode, bool(rsv)
            else:
                assert opcode == OP_CONT, \
                    f"fragment with opcode {opcode:#x}, not continuation"
            parts.append(payload)
            if fin:
                break
        wire = b"".join(parts)
        data = self.decompressor.decompress(wire) if rsv1 else wire
        return Message(first, data, rsv1, wire, len(parts))

    def expect_data(self, opcode, data, compressed=None, timeout=None):
        """Read one data message and check its opcode and (inflated) data,
        and with compressed True or False, whether it came compressed.
        Return the Message."""
        got = self.recv_data(timeout)
        assert got.opcode == opcode, \
            f"opcode {got.opcode:#x}, expected {opcode:#x}"
        assert len(got.data) == len(data) and got.data == data, \
            f"got {brief((True, opcode, got.data))}, expected " \
            f"{brief((True, opcode, data))}"
        if compressed is not None:
            assert got.compressed == compressed, \
                f"compressed={got.compressed} ({len(got.wire)} B on the " \
                f"wire for {len(data)}), expected {compressed}"
        return got

    def recv_message(self, timeout=None):
        """Read the frames of one data message; return (opcode, payload).

        Control frames are not expected meanwhile: one is a failure; so is
        a compressed message (see recv_data()).
        """
        got = self.recv_data(timeout)
        if got.compressed:
            raise ProtocolError("the server set RSV bits 100")
        return got.opcode, got.data

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


def frames_for(opcode, payload, first_rsv=0, fragment=None, rsv=0):
    """The bytes of a message whose payload (as sent) is split into frames
    of fragment bytes (one frame if None): first_rsv on the first frame,
    rsv on every one."""
    if fragment is None or len(payload) <= fragment:
        return frame(opcode, payload, rsv=first_rsv | rsv)
    out = []
    for i in range(0, len(payload), fragment):
        first = i == 0
        out.append(frame(opcode if first else OP_CONT,
                         payload[i:i + fragment],
                         fin=i + fragment >= len(payload),
                         rsv=(first_rsv if first else 0) | rsv))
    return b"".join(out)


def brief(f):
    """A short printable form of a (fin, opcode, payload) frame."""
    fin, opcode, payload = f
    shown = payload if len(payload) <= 40 else \
        payload[:40] + b"...(%d bytes)" % len(payload)
    return f"(fin={fin}, opcode={opcode:#x}, {shown!r})"


def handshake(server, path="/echo", key=None, timeout=IO_TIMEOUT, extra=b"",
              level=6, **fields):
    """Open a connection and send an opening handshake (fields as in
    handshake_request(), extensions= among them), followed by the raw bytes
    extra.

    Return (WsConn, Response) after a 101, checking Sec-WebSocket-Accept,
    or (None, Response) after any other status (the socket is closed). The
    WsConn takes the permessage-deflate agreement of the answer (Pmd, its
    .pmd), deflating at zlib level.
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
    try:
        pmd = Pmd.from_response(resp)
    except BaseException:
        sock.close()
        raise
    return WsConn(sock, bytes(reader.buf), timeout, pmd, level), resp


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
