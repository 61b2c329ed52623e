"""permessage-deflate (RFC 7692) against a hostile client: compression
bombs, RSV bits where they may not be, deflate data that is not, and
invalid UTF-8 that only shows once inflated.

A bomb is a message of zeros that deflates about 1000 to 1: it must be
closed with 1009 as soon as more than max_message_size came out of
inflate, so each case sends only the start of its compressed payload and
holds the rest back; the close must come while the client still has most
of it unsent. Invalid UTF-8 inside compressed text must fail fast in the
same way: the close comes before the rest of the message is sent. Every
failure is a close frame with its code, then the end of the stream; a
check after every case makes sure no worker died.
"""

import random
import zlib

import pytest

from conftest import assert_workers_unchanged
from wsclient import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,
                      OP_TEXT, RSV1, RSV2, RSV3, Compressor, close_body,
                      connect, deflate, frame, handshake)

MIB = 1 << 20
FAST = 5.0  # seconds: "at once", for an answer that needs no more input
PMD = "permessage-deflate"


@pytest.fixture(scope="module")
def server(start_module_server):
    """The default configuration: max_message_size 16m."""
    return start_module_server()


@pytest.fixture(scope="module")
def small_server(start_module_server):
    """max_message_size = 64k."""
    return start_module_server(max_message_size="64k")


@pytest.fixture(autouse=True)
def no_worker_died(request):
    """After each case: the module's daemons still run the same workers."""
    yield
    if "start_module_server" not in request.fixturenames:
        return
    for srv in request.getfixturevalue("start_module_server").started \
            .values():
        assert_workers_unchanged(srv)


def open_pmd(server, offer=PMD):
    """A connection with permessage-deflate agreed."""
    ws, resp = handshake(server, extensions=offer)
    assert ws is not None, resp
    assert ws.pmd is not None, f"not agreed: {resp}"
    return ws


def zeros_payload(mib):
    """mib MiB of zeros as a compressed payload, about 1 KiB per MiB. Made
    as zlib deflates the first MiB, then the same bytes again for each
    further one (from the second MiB on, each ends in the same state: a
    window of zeros, a sync flush), so that no test waits for zlib to
    deflate a GiB."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(bytes(MIB)) + c.flush(zlib.Z_SYNC_FLUSH)
    again = c.compress(bytes(MIB)) + c.flush(zlib.Z_SYNC_FLUSH)
    assert c.compress(bytes(MIB)) + c.flush(zlib.Z_SYNC_FLUSH) == again
    return (first + again * (mib - 1))[:-4]


def test_zeros_payload_inflates_to_its_size():
    out = zlib.decompressobj(-15).decompress(zeros_payload(5)
                                             + b"\x00\x00\xff\xff")
    assert out == bytes(5 * MIB)


# -- compression bombs --------------------------------------------------------

@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY],
                         ids=["text", "binary"])
def test_bomb_in_one_frame_closes_1009_before_its_payload_is_sent(
        server, opcode):
    # 1 GiB of zeros in about 1 MiB: only its first 64 KiB are sent, which
    # inflate to about 64 MiB, four times max_message_size.
    payload = zeros_payload(1024)
    assert len(payload) < 2 * MIB
    data = frame(opcode, payload, rsv=RSV1)
    with open_pmd(server) as ws:
        ws.send(data[:64 * 1024])
        ws.expect_close(1009, timeout=FAST)


def test_bomb_under_the_limit_on_the_wire_closes_1009(small_server):
    # 32 MiB of zeros in about 32 KiB, under max_message_size on the wire
    # (64k); a quarter of it is sent, which inflates to about 8 MiB.
    payload = zeros_payload(32)
    assert len(payload) < 64 * 1024
    data = frame(OP_BINARY, payload, rsv=RSV1)
    with open_pmd(small_server) as ws:
        ws.send(data[:len(data) // 4])
        ws.expect_close(1009, timeout=FAST)


def test_bomb_in_small_fragments_closes_1009_before_the_last(small_server):
    # 16 MiB of zeros compressed, in fragments of 256 bytes: the first 16
    # fragments inflate to about 4 MiB; the rest is never sent.
    payload = zeros_payload(16)
    frags = [payload[i:i + 256] for i in range(0, len(payload), 256)]
    assert len(frags) > 32
    data = frame(OP_TEXT, frags[0], fin=False, rsv=RSV1) + b"".join(
        frame(OP_CONT, f, fin=False) for f in frags[1:16])
    with open_pmd(small_server) as ws:
        ws.send(data)
        ws.expect_close(1009, timeout=FAST)


def test_inflated_size_at_max_message_size_is_echoed(small_server):
    with open_pmd(small_server) as ws:
        ws.send_message(OP_BINARY, bytes(64 * 1024))
        ws.expect_data(OP_BINARY, bytes(64 * 1024), compressed=True)


def test_inflated_size_one_byte_over_max_message_size_closes_1009(
        small_server):
    # About 70 bytes on the wire, 64 KiB and one byte once inflated.
    with open_pmd(small_server) as ws:
        ws.send_message(OP_BINARY, bytes(64 * 1024 + 1))
        ws.expect_close(1009, timeout=FAST)


def test_incompressible_message_of_max_message_size_is_echoed(small_server):
    # 64 KiB of random bytes deflate to 21 bytes more; inflated, they are
    # exactly max_message_size, which bounds the inflated size: the wire
    # may carry what such a message compresses to.
    data = random.Random(1501).randbytes(64 * 1024)
    with open_pmd(small_server) as ws:
        payload = ws.compressor.compress(data)
        assert len(payload) > len(data)
        ws.send_frame(OP_BINARY, payload, rsv=RSV1)
        ws.expect_data(OP_BINARY, data, compressed=True)


def test_limit_counts_each_compressed_message_afresh(small_server):
    with open_pmd(small_server) as ws:
        for _ in range(4):
            ws.send_message(OP_TEXT, b"a" * (60 * 1024))
            ws.expect_data(OP_TEXT, b"a" * (60 * 1024), compressed=True)
        ws.send_frame(OP_CLOSE, close_body(1000))
        ws.expect_close(1000)


# -- RSV bits -----------------------------------------------------------------

def test_rsv1_on_a_continuation_frame_closes_1002(server):
    with open_pmd(server) as ws:
        payload = ws.compressor.compress(b"x" * 1000)
        ws.send(frame(OP_TEXT, payload[:10], fin=False, rsv=RSV1)
                + frame(OP_CONT, payload[10:], rsv=RSV1))
        ws.expect_close(1002, timeout=FAST)


def test_rsv1_on_a_continuation_of_a_plain_message_closes_1002(server):
    with open_pmd(server) as ws:
        payload = ws.compressor.compress(b"x" * 1000)
        ws.send(frame(OP_BINARY, b"plain", fin=False)
                + frame(OP_CONT, payload, rsv=RSV1))
        ws.expect_close(1002, timeout=FAST)


@pytest.mark.parametrize("opcode,payload", [
    (OP_PING, b"p"), (OP_PONG, b""), (OP_CLOSE, close_body(1000)),
    (OP_PING, deflate(b"ping"))], ids=["ping", "pong", "close",
                                       "ping-deflated"])
def test_rsv1_on_a_control_frame_closes_1002(server, opcode, payload):
    with open_pmd(server) as ws:
        ws.send_frame(opcode, payload, rsv=RSV1)
        ws.expect_close(1002, timeout=FAST)


def test_rsv1_on_a_control_frame_inside_a_compressed_message_closes_1002(
        server):
    with open_pmd(server) as ws:
        payload = ws.compressor.compress(b"y" * 2000)
        ws.send(frame(OP_TEXT, payload[:5], fin=False, rsv=RSV1)
                + frame(OP_PING, b"p", rsv=RSV1))
        ws.expect_close(1002, timeout=FAST)


@pytest.mark.parametrize("offer", [None, "x-webkit-deflate-frame",
                                   "permessage-deflate; bogus"],
                         ids=["no-offer", "other-extension", "refused"])
def test_rsv1_without_agreement_closes_1002(server, offer):
    ws, resp = handshake(server, extensions=offer)
    with ws:
        assert ws.pmd is None, resp
        ws.send_frame(OP_BINARY, deflate(b"z" * 300), rsv=RSV1)
        ws.expect_close(1002, timeout=FAST)


def test_rsv1_with_compression_no_closes_1002(start_module_server):
    srv = start_module_server(compression="no")
    ws, resp = handshake(srv, extensions=PMD)
    with ws:
        assert ws.pmd is None, resp
        ws.send_frame(OP_TEXT, deflate(b"z" * 300), rsv=RSV1)
        ws.expect_close(1002, timeout=FAST)


@pytest.mark.parametrize("rsv", [RSV2, RSV3, RSV1 | RSV2, RSV1 | RSV3,
                                 RSV1 | RSV2 | RSV3],
                         ids=["rsv2", "rsv3", "rsv1+2", "rsv1+3", "all"])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY, OP_PING],
                         ids=["text", "binary", "ping"])
def test_rsv2_or_rsv3_closes_1002_on_a_compressed_connection(server, rsv,
                                                             opcode):
    with open_pmd(server) as ws:
        payload = deflate(b"q" * 100) if rsv & RSV1 else b"q"
        ws.send_frame(opcode, payload, rsv=rsv)
        ws.expect_close(1002, timeout=FAST)


def test_rsv2_on_a_continuation_of_a_compressed_message_closes_1002(
        server):
    with open_pmd(server) as ws:
        payload = ws.compressor.compress(b"x" * 1000)
        ws.send(frame(OP_TEXT, payload[:10], fin=False, rsv=RSV1)
                + frame(OP_CONT, payload[10:], rsv=RSV2))
        ws.expect_close(1002, timeout=FAST)


# -- data that is not deflate -------------------------------------------------

def dictionary_stream():
    """Deflate data that refers to a preset dictionary the server does not
    have: a distance too far back."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY,
                         b"the preset dictionary " * 20)
    out = c.compress(b"the preset dictionary " * 20) + \
        c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


def flipped_stream():
    """A compressed text whose dynamic block header has its third byte
    flipped: invalid code lengths."""
    good = deflate(bytes(random.Random(1601).choices(b"abcdefghij klmnop",
                                                     k=3000)))
    return good[:2] + bytes([good[2] ^ 0xFF]) + good[3:]


def after_final_block():
    """A message that ends a stream with a final block, then more data."""
    c = Compressor(takeover=False)
    return c.compress(b"complete " * 100, final=True) + b"\x01\x02\x03"


CORRUPT = [
    ("reserved-block-type", b"\xff\xff\xff\xff"),
    ("stored-length-mismatch", b"\x00\x05\x00\x05\x00hello"),
    ("distance-too-far-back", dictionary_stream()),
    ("flipped-byte", flipped_stream()),
    ("data-after-final-block", after_final_block()),
]


@pytest.mark.parametrize("payload", [p for _, p in CORRUPT],
                         ids=[i for i, _ in CORRUPT])
def test_corrupt_payloads_are_refused_by_pythons_zlib(payload):
    # The table checked against another inflate: each is an error, or
    # leaves more after the end of the stream than the appended tail.
    d = zlib.decompressobj(-15)
    try:
        d.decompress(payload + b"\x00\x00\xff\xff")
    except zlib.error:
        return
    assert d.eof and len(d.unused_data) > 4, d.unused_data


@pytest.mark.parametrize("payload", [p for _, p in CORRUPT],
                         ids=[i for i, _ in CORRUPT])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY],
                         ids=["text", "binary"])
def test_corrupt_deflate_data_closes_1007(server, opcode, payload):
    with open_pmd(server) as ws:
        ws.send_frame(opcode, payload, rsv=RSV1)
        ws.expect_close(1007, timeout=FAST)


def test_deflate_stream_cut_short_inside_a_block_closes_1007(server):
    # Half of a message (one dynamic block, level 9): it ends inside the
    # block, and the sync flush's tail, read as codes of that block, does
    # not end it either. (A fixed block may end there: its end-of-block
    # code is seven zero bits, and the message is then what RFC 7692 7.2.2
    # makes of payload and tail.)
    r = random.Random(5)
    text = " ".join(r.choice(["alpha", "beta", "gamma", "delta", "epsilon",
                              "zeta", "eta", "theta"]) for _ in range(400))
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    whole = z.compress(text.encode()) + z.flush(zlib.Z_SYNC_FLUSH)
    with open_pmd(server) as ws:
        ws.send_frame(OP_TEXT, whole[:len(whole) // 2], rsv=RSV1)
        ws.expect_close(1007, timeout=FAST)


def test_corrupt_deflate_data_after_good_messages_closes_1007(server):
    with open_pmd(server) as ws:
        for _ in range(3):
            ws.send_message(OP_BINARY, b"good " * 100)
            ws.expect_data(OP_BINARY, b"good " * 100)
        ws.send_frame(OP_BINARY, b"\xff\xff\xff\xff", rsv=RSV1)
        ws.expect_close(1007, timeout=FAST)


def test_corrupt_deflate_data_in_a_later_fragment_closes_1007(server):
    with open_pmd(server) as ws:
        payload = ws.compressor.compress(b"fragmented " * 300)
        ws.send(frame(OP_TEXT, payload[:20], fin=False, rsv=RSV1)
                + frame(OP_CONT, b"\xff\xff\xff\xff", fin=False))
        ws.expect_close(1007, timeout=FAST)


# -- UTF-8 inside compressed text ---------------------------------------------

def random_letters(n, seed):
    """n random lowercase letters: text that deflates to about 60 %."""
    return bytes(random.Random(seed).choices(b"abcdefghijklmnopqrstuvwxyz",
                                             k=n))


def test_invalid_utf8_in_compressed_text_closes_1007_before_the_rest(
        server):
    # 4 MiB of text whose byte 1000 is 0xff: the first compressed piece
    # holds it; the 2.4 MiB after it are never sent.
    head = random_letters(1000, 1701) + b"\xff" + random_letters(999, 1702)
    rest = random_letters(4 * MIB, 1703)
    with open_pmd(server) as ws:
        pieces = ws.compressor.compress_parts([head, rest])
        assert len(pieces[1]) > 2 * MIB
        data = frame(OP_TEXT, b"".join(pieces), rsv=RSV1)
        ws.send(data[:len(data) - len(pieces[1])])
        ws.expect_close(1007, timeout=FAST)


def test_sequence_made_invalid_by_the_next_compressed_fragment_fails(
        server):
    # The first fragment inflates to text ending with the start of a
    # 3-byte sequence; the second to a byte that cannot continue it; the
    # third is never sent.
    parts = [b"euro: \xe2\x82", b"(", b"rest " * 1000]
    with open_pmd(server) as ws:
        pieces = ws.compressor.compress_parts(parts)
        ws.send(frame(OP_TEXT, pieces[0], fin=False, rsv=RSV1)
                + frame(OP_CONT, pieces[1], fin=False))
        ws.expect_close(1007, timeout=FAST)


def test_compressed_text_ending_inside_a_sequence_closes_1007(server):
    with open_pmd(server) as ws:
        ws.send_message(OP_TEXT, b"x" * 300 + b"\xe2\x82")
        ws.expect_close(1007, timeout=FAST)


@pytest.mark.parametrize("bad", [b"\xc0\xaf", b"\xed\xa0\x80",
                                 b"\xf4\x90\x80\x80", b"\xfe"],
                         ids=["overlong", "surrogate", "above-max",
                              "fe"])
def test_invalid_utf8_in_a_short_compressed_text_closes_1007(server, bad):
    with open_pmd(server) as ws:
        ws.send_message(OP_TEXT, b"ok " + bad + b" ok")
        ws.expect_close(1007, timeout=FAST)


def test_invalid_utf8_in_compressed_binary_is_echoed(server):
    data = b"\xff\xfe" * 500
    with open_pmd(server) as ws:
        ws.send_message(OP_BINARY, data)
        ws.expect_data(OP_BINARY, data, compressed=True)


def test_plain_text_from_a_compressed_client_is_still_validated(server):
    with open_pmd(server) as ws:
        ws.send_message(OP_TEXT, b"plain \xff text", compress=False)
        ws.expect_close(1007, timeout=FAST)


def test_uncompressed_connection_is_unaffected_by_a_deflate_lookalike(
        server):
    # Without an agreement, bytes that happen to be deflate data are just
    # a binary message, echoed as they are.
    data = deflate(b"lookalike " * 100)
    with connect(server) as ws:
        ws.send_frame(OP_BINARY, data)
        ws.expect_frame(True, OP_BINARY, data)
