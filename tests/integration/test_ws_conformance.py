"""WebSocket conformance of the echo endpoint, case by case after the
Autobahn|Testsuite fuzzing client, sections 1-7, 9 and 10.

Each test is named after the case it mirrors: test_5_6_... mirrors case
5.6; parametrized tables carry the case numbers as ids. Where Autobahn
accepts two answers (failing fast or at the end of a message on invalid
UTF-8, a pong or none), the test demands the one pfhttpd promises. Cases
numbered past Autobahn's in a section (1.3.x, 5.21 and up, 7.14.x, 9.9.x)
are extras for rules Autobahn does not cover: length encodings, masking,
max_message_size.

"Nothing is answered" is proven without waiting: the case sends a ping
behind the frame that must go unanswered, and its pong must be the next
frame. One daemon serves the module, each case on its own connection; a
check after every case makes sure no worker died meanwhile.
"""

import os
import socket
import time

import pytest

from conftest import Server, assert_workers_unchanged, make_docroot
from wsclient import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,
                      OP_TEXT, close_body, connect, frame, join_sender)

MIB = 1 << 20
BIG_TIMEOUT = 60.0  # seconds for a 16 MiB round trip on a loaded machine
FAST = 5.0  # seconds: "at once", for an answer that needs no more input


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory, big_file):
    """Factory: a daemon shared by the module's cases."""
    started = []

    def start(**overrides):
        tmp = tmp_path_factory.mktemp("ws")
        make_docroot(tmp, big_file[0])
        srv = Server(tmp, overrides)
        started.append(srv)
        srv.start()
        srv.first_workers = set(srv.workers())
        return srv

    yield start
    errors = []
    for srv in started:
        try:
            srv.stop()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, errors


@pytest.fixture(scope="module")
def server(start_module_server):
    """The default configuration: max_message_size 16m."""
    return start_module_server()


@pytest.fixture(scope="module")
def small_server(start_module_server):
    """max_message_size = 1k."""
    return start_module_server(max_message_size="1k")


@pytest.fixture(autouse=True)
def no_worker_died(request):
    """After each case: the module's daemons still run the same workers."""
    yield
    for name in ("server", "small_server"):
        if name not in request.fixturenames:
            continue
        assert_workers_unchanged(request.getfixturevalue(name))


def utf8_text(n):
    """n bytes of valid UTF-8 mixing 1- to 4-byte sequences."""
    unit = "Hello-µ@ßöäüàá-UTF-8!! κόσμε €𝄞 ".encode()
    text = unit * (n // len(unit) + 1)
    cut = n
    while cut > 0 and (text[cut] & 0xC0) == 0x80:
        cut -= 1  # do not split a sequence
    return text[:cut] + b"*" * (n - cut)


def run_case(server, send, expect, close=None, chunk=None, pause=0.0,
             timeout=None):
    """Open a connection, send the bytes send (in writes of chunk bytes,
    pause seconds apart), and check the frames that come back are exactly
    expect, a list of (fin, opcode, payload), in order.

    close=None: the connection must then still work (a close handshake
    with 1000 ends it). Otherwise the next frame must be a close with that
    code, and the server must close the stream after it.
    """
    with connect(server) as ws:
        ws.send(send, chunk=chunk, pause=pause)
        for want in expect:
            ws.expect_frame(*want, timeout=timeout)
        if close is None:
            ws.send_frame(OP_CLOSE, close_body(1000))
            ws.expect_close(1000, reason=b"")
        else:
            ws.expect_close(close, timeout=timeout)


def echoed(*frames):
    """The frames the server echoes for client frames given as (fin,
    opcode, payload): the same."""
    return [(fin, op, bytes(p)) for fin, op, p in frames]


def frames_of(*frames):
    """The bytes of client frames given as (fin, opcode, payload)."""
    return b"".join(frame(op, p, fin=fin) for fin, op, p in frames)


def one_message(server, opcode, payload, chunk=None, pause=0.0,
                timeout=None):
    """Send payload as one frame; it must come back as one frame."""
    run_case(server, frame(opcode, payload), [(True, opcode, payload)],
             chunk=chunk, pause=pause, timeout=timeout)


# -- 1 Framing ----------------------------------------------------------------
# 1.1 text and 1.2 binary messages around the length-encoding boundaries.

def test_1_1_1_text_empty(server):
    one_message(server, OP_TEXT, b"")


def test_1_1_2_text_125_bytes(server):
    one_message(server, OP_TEXT, b"*" * 125)


def test_1_1_3_text_126_bytes(server):
    one_message(server, OP_TEXT, b"*" * 126)


def test_1_1_4_text_127_bytes(server):
    one_message(server, OP_TEXT, b"*" * 127)


def test_1_1_5_text_128_bytes(server):
    one_message(server, OP_TEXT, b"*" * 128)


def test_1_1_6_text_65535_bytes(server):
    one_message(server, OP_TEXT, b"*" * 65535)


def test_1_1_7_text_65536_bytes(server):
    one_message(server, OP_TEXT, b"*" * 65536)


def test_1_1_8_text_65536_bytes_in_chops_of_997(server):
    one_message(server, OP_TEXT, b"*" * 65536, chunk=997)


def test_1_2_1_binary_empty(server):
    one_message(server, OP_BINARY, b"")


def test_1_2_2_binary_125_bytes(server):
    one_message(server, OP_BINARY, b"\xfe" * 125)


def test_1_2_3_binary_126_bytes(server):
    one_message(server, OP_BINARY, b"\xfe" * 126)


def test_1_2_4_binary_127_bytes(server):
    one_message(server, OP_BINARY, b"\xfe" * 127)


def test_1_2_5_binary_128_bytes(server):
    one_message(server, OP_BINARY, b"\xfe" * 128)


def test_1_2_6_binary_65535_bytes(server):
    one_message(server, OP_BINARY, b"\xfe" * 65535)


def test_1_2_7_binary_65536_bytes(server):
    one_message(server, OP_BINARY, b"\xfe" * 65536)


def test_1_2_8_binary_65536_bytes_in_chops_of_997(server):
    one_message(server, OP_BINARY, os.urandom(65536), chunk=997)


# 1.3 (extra): length encodings and masking.

def test_1_3_1_non_minimal_16_bit_length_fails_1002(server):
    run_case(server, frame(OP_TEXT, b"abc", length_form=16), [], close=1002)


def test_1_3_2_non_minimal_64_bit_length_fails_1002(server):
    run_case(server, frame(OP_BINARY, b"\x00" * 65535, length_form=64), [],
             close=1002)


def test_1_3_3_64_bit_length_with_top_bit_set_fails_1002_at_once(server):
    # Only the header is sent: the answer cannot wait for a payload.
    run_case(server, frame(OP_BINARY, b"", length=(1 << 63) | 70000)[:14],
             [], close=1002, timeout=FAST)


def test_1_3_4_unmasked_text_fails_1002(server):
    run_case(server, frame(OP_TEXT, b"Hello", mask=False), [], close=1002)


def test_1_3_5_unmasked_ping_after_a_message_fails_1002(server):
    run_case(server, frame(OP_TEXT, b"Hello")
             + frame(OP_PING, b"p", mask=False),
             [(True, OP_TEXT, b"Hello")], close=1002)


def test_1_3_6_all_zero_mask_key_is_a_valid_mask(server):
    run_case(server, frame(OP_BINARY, b"zero mask", mask_key=b"\0\0\0\0"),
             [(True, OP_BINARY, b"zero mask")])


def test_1_3_7_payload_of_several_frames_in_one_write(server):
    msgs = [b"first", b"", b"x" * 200, b"y" * 70000]
    run_case(server, b"".join(frame(OP_BINARY, m) for m in msgs),
             [(True, OP_BINARY, m) for m in msgs])


# -- 2 Pings and pongs --------------------------------------------------------

def test_2_1_ping_empty(server):
    run_case(server, frame(OP_PING), [(True, OP_PONG, b"")])


def test_2_2_ping_with_small_text_payload(server):
    run_case(server, frame(OP_PING, b"Hello, world!"),
             [(True, OP_PONG, b"Hello, world!")])


def test_2_3_ping_with_small_binary_payload(server):
    payload = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
    run_case(server, frame(OP_PING, payload), [(True, OP_PONG, payload)])


def test_2_4_ping_with_125_byte_payload(server):
    run_case(server, frame(OP_PING, b"\xfe" * 125),
             [(True, OP_PONG, b"\xfe" * 125)])


def test_2_5_ping_with_126_byte_payload_fails_1002(server):
    run_case(server, frame(OP_PING, b"\xfe" * 126), [], close=1002)


def test_2_6_ping_with_125_byte_payload_in_1_byte_chops(server):
    run_case(server, frame(OP_PING, b"\xfe" * 125),
             [(True, OP_PONG, b"\xfe" * 125)], chunk=1, pause=0.001)


def test_2_7_unsolicited_pong_without_payload_is_ignored(server):
    run_case(server, frame(OP_PONG) + frame(OP_PING, b"marker"),
             [(True, OP_PONG, b"marker")])


def test_2_8_unsolicited_pong_with_payload_is_ignored(server):
    run_case(server, frame(OP_PONG, b"unsolicited pong payload")
             + frame(OP_PING, b"marker"), [(True, OP_PONG, b"marker")])


def test_2_9_unsolicited_pong_then_ping_gets_only_the_pong(server):
    run_case(server, frame(OP_PONG, b"unsolicited pong payload")
             + frame(OP_PING, b"ping payload"),
             [(True, OP_PONG, b"ping payload")])


def test_2_10_ten_pings_in_a_row_get_ten_pongs_in_order(server):
    pings = [b"payload-%d" % i for i in range(10)]
    run_case(server, b"".join(frame(OP_PING, p) for p in pings),
             [(True, OP_PONG, p) for p in pings])


def test_2_11_ten_pings_in_1_byte_chops_get_ten_pongs_in_order(server):
    pings = [b"payload-%d" % i for i in range(10)]
    run_case(server, b"".join(frame(OP_PING, p) for p in pings),
             [(True, OP_PONG, p) for p in pings], chunk=1)


# -- 3 Reserved bits ----------------------------------------------------------
# RSV is RSV1 RSV2 RSV3 as a number: 4 = RSV1, 1 = RSV3. Without an agreed
# extension every one of them fails the connection, even after a valid
# message, which is echoed first.

def test_3_1_text_with_rsv3_fails_1002(server):
    run_case(server, frame(OP_TEXT, b"Hello", rsv=1), [], close=1002)


def test_3_2_text_then_text_with_rsv2_then_ping_echoes_then_fails(server):
    run_case(server, frame(OP_TEXT, b"Hello") + frame(OP_TEXT, b"bad", rsv=2)
             + frame(OP_PING), [(True, OP_TEXT, b"Hello")], close=1002)


def test_3_3_same_with_rsv2_rsv3_in_1_byte_chops(server):
    run_case(server, frame(OP_TEXT, b"Hello") + frame(OP_TEXT, b"bad", rsv=3)
             + frame(OP_PING), [(True, OP_TEXT, b"Hello")], close=1002,
             chunk=1, pause=0.001)


def test_3_4_same_with_rsv1_frame_by_frame(server):
    with connect(server) as ws:
        ws.send_frame(OP_TEXT, b"Hello")
        ws.expect_frame(True, OP_TEXT, b"Hello")
        ws.send_frame(OP_TEXT, b"bad", rsv=4)
        ws.expect_close(1002)


def test_3_5_binary_with_rsv1_rsv3_fails_1002(server):
    run_case(server, frame(OP_BINARY, b"\x00\xff\xfe", rsv=5), [],
             close=1002)


def test_3_6_ping_with_rsv1_rsv2_fails_1002(server):
    run_case(server, frame(OP_PING, b"ping", rsv=6), [], close=1002)


def test_3_7_close_with_all_rsv_bits_fails_1002(server):
    run_case(server, frame(OP_CLOSE, close_body(1000), rsv=7), [],
             close=1002)


# -- 4 Opcodes ----------------------------------------------------------------
# Reserved opcodes 3-7 (non-control) and 0xB-0xF (control) fail at once.

def test_4_1_1_opcode_3_fails_1002(server):
    run_case(server, frame(3), [], close=1002)


def test_4_1_2_opcode_4_with_payload_fails_1002(server):
    run_case(server, frame(4, b"reserved opcode payload"), [], close=1002)


@pytest.mark.parametrize("opcode", [5, 6, 7],
                         ids=["4.1.3", "4.1.4", "4.1.5"])
def test_4_1_3_to_5_text_then_opcode_then_ping_echoes_then_fails(
        server, opcode):
    run_case(server, frame(OP_TEXT, b"Hello")
             + frame(opcode, b"reserved opcode payload") + frame(OP_PING),
             [(True, OP_TEXT, b"Hello")], close=1002)


def test_4_2_1_opcode_11_fails_1002(server):
    run_case(server, frame(0xB), [], close=1002)


def test_4_2_2_opcode_12_with_payload_fails_1002(server):
    run_case(server, frame(0xC, b"reserved opcode payload"), [], close=1002)


@pytest.mark.parametrize("opcode", [0xD, 0xE, 0xF],
                         ids=["4.2.3", "4.2.4", "4.2.5"])
def test_4_2_3_to_5_text_then_opcode_then_ping_echoes_then_fails(
        server, opcode):
    run_case(server, frame(OP_TEXT, b"Hello")
             + frame(opcode, b"reserved opcode payload") + frame(OP_PING),
             [(True, OP_TEXT, b"Hello")], close=1002)


# -- 5 Fragmentation ----------------------------------------------------------
# A fragmented message comes back fragment by fragment, as sent.

TWO_FRAGMENTS = ((False, OP_TEXT, b"fragment1"), (True, OP_CONT, b"fragment2"))
WITH_PING = ((False, OP_TEXT, b"fragment1"), (True, OP_PING, b"ping payload"),
             (True, OP_CONT, b"fragment2"))
WITH_PING_ECHO = [(False, OP_TEXT, b"fragment1"),
                  (True, OP_PONG, b"ping payload"),
                  (True, OP_CONT, b"fragment2")]


def send_frame_by_frame(ws, frames, pause=0.01):
    """Send (fin, opcode, payload) frames one write each, pause apart."""
    for fin, op, payload in frames:
        ws.send_frame(op, payload, fin=fin)
        time.sleep(pause)  # frames arrive in separate reads


def test_5_1_fragmented_ping_fails_1002(server):
    run_case(server, frames_of((False, OP_PING, b"fragment1"),
                               (True, OP_CONT, b"fragment2")),
             [], close=1002)


def test_5_2_fragmented_pong_fails_1002(server):
    run_case(server, frames_of((False, OP_PONG, b"fragment1"),
                               (True, OP_CONT, b"fragment2")),
             [], close=1002)


def test_5_3_text_in_2_fragments_is_echoed_fragment_by_fragment(server):
    run_case(server, frames_of(*TWO_FRAGMENTS), echoed(*TWO_FRAGMENTS))


def test_5_4_text_in_2_fragments_in_1_byte_chops(server):
    run_case(server, frames_of(*TWO_FRAGMENTS), echoed(*TWO_FRAGMENTS),
             chunk=1, pause=0.001)


def test_5_5_text_in_2_fragments_frame_by_frame(server):
    with connect(server) as ws:
        send_frame_by_frame(ws, TWO_FRAGMENTS)
        for want in echoed(*TWO_FRAGMENTS):
            ws.expect_frame(*want)


def test_5_6_ping_between_fragments_is_answered_in_order(server):
    run_case(server, frames_of(*WITH_PING), WITH_PING_ECHO)


def test_5_7_ping_between_fragments_in_1_byte_chops(server):
    run_case(server, frames_of(*WITH_PING), WITH_PING_ECHO, chunk=1,
             pause=0.001)


def test_5_8_ping_between_fragments_frame_by_frame(server):
    with connect(server) as ws:
        send_frame_by_frame(ws, WITH_PING)
        for want in WITH_PING_ECHO:
            ws.expect_frame(*want)


NOTHING_TO_CONTINUE_FIN = frames_of(
    (True, OP_CONT, b"non-continuation payload"),
    (True, OP_TEXT, b"Hello, world!"))
NOTHING_TO_CONTINUE = frames_of(
    (False, OP_CONT, b"non-continuation payload"),
    (True, OP_TEXT, b"Hello, world!"))


def test_5_9_continuation_with_fin_and_nothing_to_continue_fails(server):
    run_case(server, NOTHING_TO_CONTINUE_FIN, [], close=1002)


def test_5_10_same_in_1_byte_chops(server):
    run_case(server, NOTHING_TO_CONTINUE_FIN, [], close=1002, chunk=1)


def test_5_11_same_frame_by_frame(server):
    with connect(server) as ws:
        ws.send_frame(OP_CONT, b"non-continuation payload")
        ws.expect_close(1002)


def test_5_12_continuation_without_fin_and_nothing_to_continue_fails(
        server):
    run_case(server, NOTHING_TO_CONTINUE, [], close=1002)


def test_5_13_same_in_1_byte_chops(server):
    run_case(server, NOTHING_TO_CONTINUE, [], close=1002, chunk=1)


def test_5_14_same_frame_by_frame(server):
    with connect(server) as ws:
        ws.send_frame(OP_CONT, b"non-continuation payload", fin=False)
        ws.expect_close(1002)


def test_5_15_continuation_after_a_finished_message_fails(server):
    run_case(server, frames_of(*TWO_FRAGMENTS,
                               (False, OP_CONT, b"fragment3"),
                               (True, OP_TEXT, b"fragment4")),
             echoed(*TWO_FRAGMENTS), close=1002)


def test_5_16_continuation_first_then_a_message_fails_at_once(server):
    run_case(server, frames_of((False, OP_CONT, b"fragment1"),
                               (False, OP_TEXT, b"fragment2"),
                               (True, OP_CONT, b"fragment3")) * 2,
             [], close=1002)


def test_5_17_final_continuation_first_then_a_message_fails_at_once(
        server):
    run_case(server, frames_of((True, OP_CONT, b"fragment1"),
                               (False, OP_TEXT, b"fragment2"),
                               (True, OP_CONT, b"fragment3")) * 2,
             [], close=1002)


def test_5_18_text_inside_a_fragmented_text_message_fails(server):
    run_case(server, frames_of((False, OP_TEXT, b"fragment1"),
                               (True, OP_TEXT, b"fragment2")),
             [(False, OP_TEXT, b"fragment1")], close=1002)


FIVE_WITH_PINGS = ((False, OP_TEXT, b"fragment1"),
                   (False, OP_CONT, b"fragment2"),
                   (True, OP_PING, b"pongme 1!"),
                   (False, OP_CONT, b"fragment3"),
                   (False, OP_CONT, b"fragment4"),
                   (True, OP_PING, b"pongme 2!"),
                   (True, OP_CONT, b"fragment5"))
FIVE_WITH_PINGS_ECHO = [(fin, OP_PONG if op == OP_PING else op, p)
                        for fin, op, p in FIVE_WITH_PINGS]


def test_5_19_five_fragments_with_two_pings_frame_by_frame(server):
    with connect(server) as ws:
        send_frame_by_frame(ws, FIVE_WITH_PINGS)
        for want in FIVE_WITH_PINGS_ECHO:
            ws.expect_frame(*want)


def test_5_20_five_fragments_with_two_pings_in_1_byte_chops(server):
    run_case(server, frames_of(*FIVE_WITH_PINGS), FIVE_WITH_PINGS_ECHO,
             chunk=1)


def test_5_21_pong_between_fragments_is_ignored(server):
    frames = ((False, OP_BINARY, b"\x01\x02"), (True, OP_PONG, b"ignored"),
              (False, OP_CONT, b""), (True, OP_CONT, b"\x03"))
    run_case(server, frames_of(*frames),
             echoed(frames[0], frames[2], frames[3]))


def test_5_22_binary_inside_a_fragmented_text_message_fails(server):
    run_case(server, frames_of((False, OP_TEXT, b"fragment1"),
                               (True, OP_BINARY, b"fragment2")),
             [(False, OP_TEXT, b"fragment1")], close=1002)


def test_5_23_message_of_1000_fragments(server):
    frames = [(False, OP_BINARY, b"f0")]
    frames += [(False, OP_CONT, b"f%d" % i) for i in range(1, 999)]
    frames += [(True, OP_CONT, b"last")]
    run_case(server, frames_of(*frames), echoed(*frames))


def test_5_24_message_of_1_byte_fragments_in_1_byte_chops(server):
    data = b"fragmented one byte at a time"
    frames = [(i == len(data) - 1, OP_TEXT if i == 0 else OP_CONT,
               data[i:i + 1]) for i in range(len(data))]
    run_case(server, frames_of(*frames), echoed(*frames), chunk=1)


def test_5_25_fragmented_close_fails_1002(server):
    run_case(server, frames_of((False, OP_CLOSE, close_body(1000)),
                               (True, OP_CONT, b"")), [], close=1002)


# -- 6 UTF-8 handling ---------------------------------------------------------

def valid_prefix_len(data):
    """Length of the longest prefix of data that some valid UTF-8 text
    starts with: the offset of the first byte that cannot continue a valid
    sequence, or len(data) if there is none (maybe ending mid-sequence).

    The reference is Python's strict decoder: a prefix is good if it
    decodes once completed with up to 3 continuation bytes from the three
    ranges a continuation may need (80-8F, 90-9F, A0-BF).
    """
    tails = [b""] + [bytes([a]) for a in (0x80, 0x90, 0xA0)]
    tails += [a + b for a in tails[1:] for b in tails[1:]]
    tails += [a + b"\x80" for a in tails[4:]]

    def good(prefix):
        for tail in tails:
            try:
                (prefix + tail).decode("utf-8")
                return True
            except UnicodeDecodeError:
                pass
        return False

    start = 0  # a prefix that decodes whole: search from there
    for i in range(len(data)):
        if not good(data[start:i + 1]):
            return i
        try:
            data[start:i + 1].decode("utf-8")
            start = i + 1
        except UnicodeDecodeError:
            pass
    return len(data)


KOSME = "κόσμε".encode()
HELLO = "Hello-µ@ßöäüàá-UTF-8!!".encode()

VALID_UTF8 = [
    ("6.2.1", HELLO),
    ("6.5.1", KOSME),
    ("6.5.2", b"\xce\xba\xe1\xbd\xb9"),
    ("6.7.1", b"\x00"),
    ("6.7.2", b"\xc2\x80"),
    ("6.7.3", b"\xe0\xa0\x80"),
    ("6.7.4", b"\xf0\x90\x80\x80"),
    ("6.9.1", b"\x7f"),
    ("6.9.2", b"\xdf\xbf"),
    ("6.9.3", b"\xef\xbf\xbf"),
    ("6.9.4", b"\xf4\x8f\xbf\xbf"),
    ("6.11.1", b"\xed\x9f\xbf"),
    ("6.11.2", b"\xee\x80\x80"),
    ("6.11.3", b"\xef\xbf\xbd"),
    ("6.11.4", b"\xf4\x8f\xbf\xbf"),
    ("6.22.1", b"\xef\xbf\xbe"),
    ("6.22.3", b"\xf0\x9f\xbf\xbe"),
    ("6.22.33", b"\xf4\x8f\xbf\xbe"),
    ("6.22.34", b"\xf3\xbf\xbf\xbf"),
    ("6.23.1", b"\xef\xbf\xb9"),
    ("6.23.5", b"\xef\xbf\xbd"),
    ("6.x.all-lengths", "a\u00e9\u20ac\U0001d11e\U0010fffd".encode()),
]

INVALID_UTF8 = [
    ("6.3.1", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
              b"edited"),
    ("6.6.1", b"\xce"),
    ("6.6.3", b"\xce\xba\xe1"),
    ("6.6.4", b"\xce\xba\xe1\xbd"),
    ("6.6.6", b"\xce\xba\xe1\xbd\xb9\xcf"),
    ("6.6.8", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce"),
    ("6.6.10", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce"),
    ("6.8.1", b"\xf8\x88\x80\x80\x80"),
    ("6.8.2", b"\xfc\x84\x80\x80\x80\x80"),
    ("6.10.1", b"\xf7\xbf\xbf\xbf"),
    ("6.10.2", b"\xfb\xbf\xbf\xbf\xbf"),
    ("6.10.3", b"\xfd\xbf\xbf\xbf\xbf\xbf"),
    ("6.11.5", b"\xf4\x90\x80\x80"),
    ("6.12.1", b"\x80"),
    ("6.12.2", b"\xbf"),
    ("6.12.3", b"\x80\xbf"),
    ("6.12.4", b"\x80\xbf\x80"),
    ("6.12.8", bytes(range(0x80, 0xC0))),
    ("6.13.1", b"".join(bytes([b, 0x20]) for b in range(0xC0, 0xE0))),
    ("6.13.2", b"".join(bytes([b, 0x20]) for b in range(0xE0, 0xF0))),
    ("6.13.3", b"".join(bytes([b, 0x20]) for b in range(0xF0, 0xF8))),
    ("6.13.4", b"".join(bytes([b, 0x20]) for b in range(0xF8, 0xFC))),
    ("6.13.5", b"\xfc\x20\xfd\x20"),
    ("6.14.1", b"\xc0"),
    ("6.14.2", b"\xe0\x80"),
    ("6.14.3", b"\xf0\x80\x80"),
    ("6.14.6", b"\xdf"),
    ("6.14.7", b"\xef\xbf"),
    ("6.14.8", b"\xf4\x8f\xbf"),
    ("6.15.1", b"\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80"
               b"\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf"
               b"\xbf\xbf"),
    ("6.16.1", b"\xfe"),
    ("6.16.2", b"\xff"),
    ("6.16.3", b"\xfe\xfe\xff\xff"),
    ("6.17.1", b"\xc0\xaf"),
    ("6.17.2", b"\xe0\x80\xaf"),
    ("6.17.3", b"\xf0\x80\x80\xaf"),
    ("6.17.4", b"\xf8\x80\x80\x80\xaf"),
    ("6.17.5", b"\xfc\x80\x80\x80\x80\xaf"),
    ("6.18.1", b"\xc1\xbf"),
    ("6.18.2", b"\xe0\x9f\xbf"),
    ("6.18.3", b"\xf0\x8f\xbf\xbf"),
    ("6.19.1", b"\xc0\x80"),
    ("6.19.2", b"\xe0\x80\x80"),
    ("6.19.3", b"\xf0\x80\x80\x80"),
    ("6.20.1", b"\xed\xa0\x80"),
    ("6.20.2", b"\xed\xad\xbf"),
    ("6.20.3", b"\xed\xae\x80"),
    ("6.20.4", b"\xed\xaf\xbf"),
    ("6.20.5", b"\xed\xb0\x80"),
    ("6.20.6", b"\xed\xbe\x80"),
    ("6.20.7", b"\xed\xbf\xbf"),
    ("6.21.1", b"\xed\xa0\x80\xed\xb0\x80"),
    ("6.21.8", b"\xed\xaf\xbf\xed\xbf\xbf"),
    ("6.x.after-ascii", b"valid ascii first, then \xff"),
    ("6.x.after-8-ascii", b"12345678\xc3\x28"),
]


def ids(table):
    return [case for case, _ in table]


def values(table):
    return [data for _, data in table]


def test_6_utf8_tables_agree_with_python():
    # The tables themselves: every valid entry decodes, no invalid one does.
    for case, data in VALID_UTF8:
        data.decode("utf-8")
    for case, data in INVALID_UTF8:
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")


def test_6_1_1_empty_text(server):
    one_message(server, OP_TEXT, b"")


def test_6_1_2_three_empty_fragments(server):
    frames = ((False, OP_TEXT, b""), (False, OP_CONT, b""),
              (True, OP_CONT, b""))
    run_case(server, frames_of(*frames), echoed(*frames))


def test_6_1_3_empty_first_and_last_fragments(server):
    frames = ((False, OP_TEXT, b""),
              (False, OP_CONT, b"middle frame payload"),
              (True, OP_CONT, b""))
    run_case(server, frames_of(*frames), echoed(*frames))


def test_6_2_2_text_split_in_two_fragments_at_every_byte(server):
    # Splits inside a sequence too: each fragment alone may be invalid.
    with connect(server) as ws:
        for i in range(len(HELLO) + 1):
            frames = ((False, OP_TEXT, HELLO[:i]), (True, OP_CONT, HELLO[i:]))
            ws.send(frames_of(*frames))
            for want in echoed(*frames):
                ws.expect_frame(*want)
        ws.send_frame(OP_CLOSE, close_body(1000))
        ws.expect_close(1000)


def one_byte_fragments(data, opcode=OP_TEXT):
    """data as a message of 1-byte fragments."""
    return [(i == len(data) - 1, opcode if i == 0 else OP_CONT,
             data[i:i + 1]) for i in range(len(data))]


def test_6_2_3_text_in_1_byte_fragments(server):
    frames = one_byte_fragments(HELLO)
    run_case(server, frames_of(*frames), echoed(*frames))


def test_6_2_4_kosme_in_1_byte_fragments(server):
    frames = one_byte_fragments(KOSME)
    run_case(server, frames_of(*frames), echoed(*frames))


@pytest.mark.parametrize("data", values(VALID_UTF8), ids=ids(VALID_UTF8))
def test_6_valid_utf8_is_echoed(server, data):
    one_message(server, OP_TEXT, data)


@pytest.mark.parametrize("data", values(VALID_UTF8), ids=ids(VALID_UTF8))
def test_6_valid_utf8_in_1_byte_fragments_is_echoed(server, data):
    frames = one_byte_fragments(data)
    run_case(server, frames_of(*frames), echoed(*frames))


@pytest.mark.parametrize("data", values(INVALID_UTF8), ids=ids(INVALID_UTF8))
def test_6_invalid_utf8_fails_1007_unechoed(server, data):
    run_case(server, frame(OP_TEXT, data), [], close=1007)


@pytest.mark.parametrize("data", values(INVALID_UTF8), ids=ids(INVALID_UTF8))
def test_6_invalid_utf8_in_1_byte_fragments_fails_at_the_bad_byte(
        server, data):
    # The fragments before the first impossible byte are echoed; a text
    # that only ends too early fails on its last fragment.
    frames = one_byte_fragments(data)
    good = min(valid_prefix_len(data), len(data) - 1)
    run_case(server, frames_of(*frames), echoed(*frames[:good]), close=1007)


def test_6_invalid_utf8_in_binary_message_is_echoed(server):
    one_message(server, OP_BINARY, b"\xed\xa0\x80\xff\xc0\xaf")


# 6.4: fail fast. The rest of the message is never sent: the close must
# come from the invalid byte alone.

def test_6_4_1_invalid_second_of_three_fragments_fails_before_the_third(
        server):
    with connect(server) as ws:
        ws.send_frame(OP_TEXT, KOSME, fin=False)
        ws.expect_frame(False, OP_TEXT, KOSME)
        ws.send_frame(OP_CONT, b"\xf4\x90\x80\x80", fin=False)
        ws.expect_close(1007, timeout=FAST)


def test_6_4_2_sequence_made_invalid_by_the_second_fragment_fails_at_once(
        server):
    with connect(server) as ws:
        ws.send_frame(OP_TEXT, KOSME + b"\xf4", fin=False)
        ws.expect_frame(False, OP_TEXT, KOSME + b"\xf4")
        ws.send_frame(OP_CONT, b"\x90", fin=False)
        ws.expect_close(1007, timeout=FAST)


def test_6_4_3_invalid_bytes_in_a_frame_whose_rest_never_comes(server):
    data = frame(OP_TEXT, KOSME + b"\xf4\x90\x80\x80" + b"edited")
    cut = 2 + 4 + len(KOSME)
    with connect(server) as ws:
        ws.send(data[:cut])
        ws.send(data[cut:cut + 4])
        ws.expect_close(1007, timeout=FAST)


def test_6_4_4_invalid_byte_alone_in_the_middle_of_a_frame(server):
    data = frame(OP_TEXT, KOSME + b"\xf4\x90\x80\x80" + b"edited")
    cut = 2 + 4 + len(KOSME) + 1
    with connect(server) as ws:
        ws.send(data[:cut])
        ws.send(data[cut:cut + 1])
        ws.expect_close(1007, timeout=FAST)


def test_6_4_5_invalid_byte_in_a_large_frame_fails_before_its_end(server):
    # A 1 MiB frame: the first 64 KiB carry an invalid byte, the rest
    # never comes.
    payload = b"*" * 1000 + b"\xff" + b"*" * (MIB - 1001)
    data = frame(OP_TEXT, payload)
    with connect(server) as ws:
        ws.send(data[:64 * 1024])
        ws.expect_close(1007, timeout=FAST)


# -- 7 Close handling ---------------------------------------------------------

def test_7_1_1_message_then_close(server):
    with connect(server) as ws:
        ws.send(frame(OP_TEXT, b"Hello World!")
                + frame(OP_CLOSE, close_body(1000)))
        ws.expect_frame(True, OP_TEXT, b"Hello World!")
        ws.expect_close(1000, reason=b"")


def test_7_1_2_second_close_is_ignored(server):
    run_case(server, frame(OP_CLOSE, close_body(1000))
             + frame(OP_CLOSE, close_body(1001)), [], close=1000)


def test_7_1_3_ping_after_close_is_not_answered(server):
    run_case(server, frame(OP_CLOSE, close_body(1000))
             + frame(OP_PING, b"Hello"), [], close=1000)


def test_7_1_4_text_after_close_is_not_echoed(server):
    run_case(server, frame(OP_CLOSE, close_body(1000))
             + frame(OP_TEXT, b"Hello World!"), [], close=1000)


def test_7_1_5_rest_of_a_fragmented_message_after_close_is_not_echoed(
        server):
    run_case(server, frames_of((False, OP_TEXT, b"fragment1"),
                               (True, OP_CLOSE, close_body(1000)),
                               (True, OP_CONT, b"fragment2")),
             [(False, OP_TEXT, b"fragment1")], close=1000)


def test_7_1_6_big_message_then_close_then_ping(server):
    payload = utf8_text(256 * 1024)
    run_case(server, frame(OP_TEXT, payload)
             + frame(OP_CLOSE, close_body(1000)) + frame(OP_PING, b"x"),
             [(True, OP_TEXT, payload)], close=1000)


def test_7_1_7_frames_after_the_servers_close_are_never_answered(server):
    # The server's close after an error: it reads no more frames.
    with connect(server) as ws:
        ws.send(frame(OP_TEXT, b"bad", rsv=4))
        fin, op, payload = ws.recv_frame()
        assert (op, payload[:2]) == (OP_CLOSE, close_body(1002))
        ws.send(frame(OP_PING, b"after close") + frame(OP_TEXT, b"x"))
        ws.expect_eof()


def test_7_3_1_empty_close_is_answered_1000(server):
    run_case(server, frame(OP_CLOSE), [], close=1000)


def test_7_3_2_close_with_1_byte_body_fails_1002(server):
    run_case(server, frame(OP_CLOSE, b"\x03"), [], close=1002)


def test_7_3_3_close_1000_is_echoed(server):
    run_case(server, frame(OP_CLOSE, close_body(1000)), [], close=1000)


def test_7_3_4_close_1000_with_reason_is_echoed_without_it(server):
    with connect(server) as ws:
        ws.send_frame(OP_CLOSE, close_body(1000, "Hello World!"))
        ws.expect_close(1000, reason=b"")


def test_7_3_5_close_with_123_byte_reason_is_echoed(server):
    with connect(server) as ws:
        ws.send_frame(OP_CLOSE, close_body(1000, "*" * 123))
        ws.expect_close(1000, reason=b"")


def test_7_3_6_close_with_124_byte_reason_fails_1002(server):
    run_case(server, frame(OP_CLOSE, close_body(1000, "*" * 124)), [],
             close=1002)


def test_7_5_1_close_reason_not_utf8_fails_1007(server):
    run_case(server, frame(OP_CLOSE, close_body(
        1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
        b"edited")), [], close=1007)


def test_7_5_2_close_reason_ending_mid_sequence_fails_1007(server):
    run_case(server, frame(OP_CLOSE, close_body(1000, b"ok \xce")), [],
             close=1007)


def test_7_5_3_close_reason_in_utf8_is_accepted(server):
    run_case(server, frame(OP_CLOSE, close_body(1000, KOSME)), [],
             close=1000)


VALID_CODES = [("7.7.1", 1000), ("7.7.2", 1001), ("7.7.3", 1002),
               ("7.7.4", 1003), ("7.7.5", 1007), ("7.7.6", 1008),
               ("7.7.7", 1009), ("7.7.8", 1010), ("7.7.9", 1011),
               ("7.7.10", 3000), ("7.7.11", 3999), ("7.7.12", 4000),
               ("7.7.13", 4999), ("7.7.x-1012", 1012), ("7.7.x-1013", 1013),
               ("7.7.x-1014", 1014)]
INVALID_CODES = [("7.9.1", 0), ("7.9.2", 999), ("7.9.3", 1004),
                 ("7.9.4", 1005), ("7.9.5", 1006), ("7.9.6", 1015),
                 ("7.9.7", 1016), ("7.9.8", 1100), ("7.9.9", 2000),
                 ("7.9.10", 2999), ("7.13.1", 5000), ("7.13.2", 65535)]


@pytest.mark.parametrize("code", values(VALID_CODES), ids=ids(VALID_CODES))
def test_7_7_valid_close_code_is_echoed_alone(server, code):
    with connect(server) as ws:
        ws.send_frame(OP_CLOSE, close_body(code, "reason"))
        ws.expect_close(code, reason=b"")


@pytest.mark.parametrize("code", values(INVALID_CODES),
                         ids=ids(INVALID_CODES))
def test_7_9_invalid_close_code_fails_1002(server, code):
    run_case(server, frame(OP_CLOSE, close_body(code)), [], close=1002)


def test_7_14_1_server_closes_tcp_after_the_close_handshake(server):
    # The client keeps its socket open: the end of the stream comes from
    # the server.
    with connect(server) as ws:
        ws.send_frame(OP_CLOSE, close_body(1000))
        t0 = time.monotonic()
        ws.expect_close(1000, timeout=FAST)
        assert time.monotonic() - t0 < FAST


def test_7_14_2_server_closes_after_its_close_even_without_the_reply(
        server):
    # After a protocol error the server does not wait for the client's
    # close frame to end the stream (it shuts its side of TCP at once).
    with connect(server) as ws:
        ws.send_frame(OP_TEXT, b"x", mask=False)
        ws.expect_close(1002, timeout=FAST)


def test_7_14_3_client_close_reply_after_servers_close_is_accepted(server):
    # The server lingers after its close, so the client's reply does not
    # hit a closed socket and its own reading ends in a clean EOF.
    with connect(server) as ws:
        ws.send_frame(OP_TEXT, b"x", mask=False)
        ws.expect_close(1002)
        ws.send_frame(OP_CLOSE, close_body(1002))
        ws.expect_eof()


def test_7_14_4_client_half_close_after_its_close_gets_echo_and_close(
        server):
    # A client that sends a message and its close, then shuts its side of
    # TCP (it will send nothing more), is still owed the whole echo and
    # the close reply. 4 MiB: the echo is still queued when the EOF comes.
    payload = os.urandom(4 * MIB)
    with connect(server, timeout=BIG_TIMEOUT) as ws:
        sender = ws.send_in_background(frame(OP_BINARY, payload)
                                       + frame(OP_CLOSE, close_body(1000)))
        join_sender(sender, BIG_TIMEOUT)
        ws.sock.shutdown(socket.SHUT_WR)
        fin, op, got = ws.recv_frame()
        assert (fin, op, len(got)) == (True, OP_BINARY, len(payload))
        assert got == payload, "payload differs"
        ws.expect_close(1000)


# -- 9 Limits and performance -------------------------------------------------

SIZES = [("9.x.1", 64 * 1024), ("9.x.2", 256 * 1024), ("9.x.3", MIB),
         ("9.x.4", 4 * MIB), ("9.x.5", 8 * MIB), ("9.x.6", 16 * MIB)]


def big_round_trip(server, frames, chunk=MIB):
    """Send frames (fin, opcode, payload) from a thread while reading the
    echo; every frame must come back as sent."""
    data = frames_of(*frames)
    with connect(server, timeout=BIG_TIMEOUT) as ws:
        sender = ws.send_in_background(data, chunk=chunk)
        for fin, op, payload in frames:
            got = ws.recv_frame()
            assert got[:2] == (fin, op), got[:2]
            assert len(got[2]) == len(payload)
            assert got[2] == payload, "payload differs"
        join_sender(sender, BIG_TIMEOUT)
        ws.send_frame(OP_CLOSE, close_body(1000))
        ws.expect_close(1000)


@pytest.mark.parametrize("size", values(SIZES),
                         ids=[c.replace("x", "1") for c in ids(SIZES)])
def test_9_1_text_message_in_one_frame(server, size):
    big_round_trip(server, [(True, OP_TEXT, utf8_text(size))])


@pytest.mark.parametrize("size", values(SIZES),
                         ids=[c.replace("x", "2") for c in ids(SIZES)])
def test_9_2_binary_message_in_one_frame(server, size):
    big_round_trip(server, [(True, OP_BINARY, os.urandom(size))])


def fragments(opcode, payload, size):
    """payload as a message of fragments of size bytes."""
    out = []
    for i in range(0, len(payload), size):
        out.append((i + size >= len(payload), opcode if i == 0 else OP_CONT,
                    payload[i:i + size]))
    return out


def test_9_3_1_16_mib_text_in_64_kib_fragments(server):
    # Fragment boundaries fall inside UTF-8 sequences.
    big_round_trip(server, fragments(OP_TEXT, utf8_text(16 * MIB), 65536))


def test_9_3_2_1_mib_text_in_64_byte_fragments(server):
    big_round_trip(server, fragments(OP_TEXT, utf8_text(MIB), 64))


def test_9_4_1_16_mib_binary_in_64_kib_fragments(server):
    big_round_trip(server, fragments(OP_BINARY, os.urandom(16 * MIB), 65536))


def test_9_4_2_1_mib_binary_in_4_kib_fragments(server):
    big_round_trip(server, fragments(OP_BINARY, os.urandom(MIB), 4096))


@pytest.mark.parametrize("chop", [64, 4096], ids=["9.5.1", "9.5.6"])
def test_9_5_1_mib_text_frame_in_chops(server, chop):
    big_round_trip(server, [(True, OP_TEXT, utf8_text(MIB))], chunk=chop)


@pytest.mark.parametrize("chop", [64, 4096], ids=["9.6.1", "9.6.6"])
def test_9_6_1_mib_binary_frame_in_chops(server, chop):
    big_round_trip(server, [(True, OP_BINARY, os.urandom(MIB))], chunk=chop)


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY],
                         ids=["9.7-text", "9.8-binary"])
def test_9_7_1000_small_messages_pipelined_come_back_in_order(
        server, opcode):
    msgs = [(b"%04d" % i + utf8_text(28)) for i in range(1000)]
    big_round_trip(server, [(True, opcode, m) for m in msgs])


def test_9_7_3_1000_round_trips_one_at_a_time(server):
    with connect(server) as ws:
        for i in range(1000):
            ws.send_frame(OP_BINARY, b"%d" % i)
            ws.expect_frame(True, OP_BINARY, b"%d" % i)
        ws.send_frame(OP_CLOSE, close_body(1000))
        ws.expect_close(1000)


# 9.9 (extra): max_message_size. A frame header that takes the message
# over the limit fails the connection at once (1009): the payload is
# never sent.

def test_9_9_1_message_at_max_message_size_is_echoed(small_server):
    one_message(small_server, OP_BINARY, os.urandom(1024))


def test_9_9_2_frame_over_max_message_size_fails_1009_at_once(small_server):
    run_case(small_server, frame(OP_BINARY, b"", length=1025), [],
             close=1009, timeout=FAST)


def test_9_9_3_fragmented_message_at_the_limit_is_echoed(small_server):
    frames = ((False, OP_TEXT, b"a" * 512), (True, OP_CONT, b"b" * 512))
    run_case(small_server, frames_of(*frames), echoed(*frames))


def test_9_9_4_fragment_taking_the_message_over_the_limit_fails_1009(
        small_server):
    with connect(small_server) as ws:
        ws.send_frame(OP_TEXT, b"a" * 600, fin=False)
        ws.expect_frame(False, OP_TEXT, b"a" * 600)
        ws.send(frame(OP_CONT, b"", length=425)[:8])  # its header only
        ws.expect_close(1009, timeout=FAST)


def test_9_9_5_limit_counts_each_message_afresh(small_server):
    frames = [(False, OP_BINARY, b"x" * 1000), (True, OP_CONT, b"y" * 24),
              (True, OP_BINARY, b"z" * 1024), (True, OP_TEXT, b"t" * 1024)]
    run_case(small_server, frames_of(*frames), echoed(*frames))


def test_9_9_6_control_frames_do_not_count_against_the_limit(small_server):
    frames = ((False, OP_BINARY, b"x" * 1000), (True, OP_PING, b"p" * 125),
              (True, OP_CONT, b"y" * 24))
    run_case(small_server, frames_of(*frames),
             [(False, OP_BINARY, b"x" * 1000), (True, OP_PONG, b"p" * 125),
              (True, OP_CONT, b"y" * 24)])


def test_9_9_7_default_limit_16_mib_plus_1_fails_1009_at_once(server):
    run_case(server, frame(OP_BINARY, b"", length=16 * MIB + 1)[:14], [],
             close=1009, timeout=FAST)


# -- 10 Miscellaneous ---------------------------------------------------------

def test_10_1_1_65536_byte_text_in_writes_of_1300_bytes(server):
    one_message(server, OP_TEXT, utf8_text(65536), chunk=1300)


def test_10_1_2_message_in_1_byte_writes_is_one_echo(server):
    one_message(server, OP_TEXT, HELLO * 10, chunk=1, pause=0.0005)


def test_10_1_3_two_messages_and_a_ping_in_1_byte_writes(server):
    frames = ((True, OP_TEXT, KOSME), (True, OP_PING, b"p"),
              (True, OP_BINARY, b"\x00" * 130))
    run_case(server, frames_of(*frames),
             [(True, OP_TEXT, KOSME), (True, OP_PONG, b"p"),
              (True, OP_BINARY, b"\x00" * 130)], chunk=1)
