"""permessage-deflate (RFC 7692) on the echo endpoint, case by case after
Autobahn|Testsuite sections 12 and 13, then the echo's own rules.

Section 12 sends messages of 18 sizes (16 bytes to 128 KiB, some
fragmented after compression into frames of 256 bytes to 32 KiB) cut from
five data sets, with Autobahn's default offer; section 13 sends the JSON
data set with each of its seven offers. Each case here is that case
(test ids 12.j.i and 13.j.i, as Autobahn numbers them) with fewer
messages: Autobahn sends 1000 of each size, these send CASE_BYTES' worth
(at least 2, so the contexts kept between messages are exercised). The
data sets are made here, deterministically, with the character of
Autobahn's files (JSON and HTML sent as text, a grey bitmap, German prose
and a PDF-like mix of markup and incompressible streams sent as binary).
Autobahn checks each echo's type, length and hash; these also check the
exact answer to the offer, that the echo is one frame, compressed exactly
when it is at least compression_min_size, and that it inflates with the
window and context the answer allows (wsclient's Decompressor). Sections
13.8 and up are extras: offers Autobahn does not make.

The rest: compression_min_size, fragments gathered into one compressed
echo, control frames never compressed, the server's context kept across
messages and its window, uncompressed messages on a compressed connection,
final blocks, UTF-8 split between compressed fragments, a large message.
One daemon serves the module, each case on its own connection; a check
after every case makes sure no worker died meanwhile.
"""

import json
import math
import random

import pytest

from conftest import assert_workers_unchanged
from wsclient import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,
                      OP_TEXT, RSV1, Compressor, Decompressor, close_body,
                      deflate, frame, frames_for, handshake, join_sender,
                      shrinks)

MIN_SIZE = 256  # compression_min_size's default
CASE_BYTES = 64 * 1024  # payload bytes a case sends, about
BIG_TIMEOUT = 60.0  # seconds for a few MiB each way on a loaded machine

DEFAULT_OFFER = ("permessage-deflate; client_no_context_takeover; "
                 "client_max_window_bits")


@pytest.fixture(scope="module")
def server(start_module_server):
    """The default configuration: compression on, level 1, min size 256,
    window bits 15, max_message_size 16m."""
    return start_module_server()


@pytest.fixture(autouse=True)
def no_worker_died(request):
    """After each case: the module's daemons still run the same workers."""
    yield
    if "start_module_server" not in request.fixturenames:
        return
    for srv in request.getfixturevalue("start_module_server").started \
            .values():
        assert_workers_unchanged(srv)


def open_pmd(server, offer="permessage-deflate", answer=None):
    """A connection that offered offer; with answer, the server's
    Sec-WebSocket-Extensions must be exactly that."""
    ws, resp = handshake(server, extensions=offer)
    assert ws is not None, resp
    if answer is not None:
        got = resp.headers_named("Sec-WebSocket-Extensions")
        assert got == [answer], f"answer {got}, expected {answer!r}"
    return ws


def close_cleanly(ws):
    ws.send_frame(OP_CLOSE, close_body(1000))
    ws.expect_close(1000)
    ws.close()


# -- the data sets ------------------------------------------------------------
# Made once per session, each from its own seed: (payload, binary). Text
# is a str (Autobahn cuts text by characters), binary data bytes.

NAMES = ["Anna", "Jürgen", "Zoë", "Łukasz", "Søren", "Chloé", "Đorđe",
         "Ὀδυσσεύς", "Ивана", "美咲", "Björn", "Nuño"]
WORDS = ("habe nun ach philosophie juristerei und medizin und leider auch "
         "theologie durchaus studiert mit heißem bemühn da steh ich nun "
         "ich armer tor und bin so klug als wie zuvor heiße magister "
         "doktor gar und ziehe schon an die zehen jahr herauf herab und "
         "quer und krumm meine schüler an der nase herum und sehe daß wir "
         "nichts wissen können das will mir schier das herz verbrennen "
         "zwar bin ich gescheiter als all die laffen geistlichen und "
         "pfaffen mich plagen keine skrupel noch zweifel fürchte mich "
         "weder vor hölle noch teufel").split()


def json_data(size=200_000):
    """A JSON document of records, with names in several scripts."""
    rnd = random.Random(1201)
    records = []
    text = ""
    while len(text) < size:
        for _ in range(50):
            n = len(records)
            records.append({
                "id": n, "name": rnd.choice(NAMES),
                "email": f"user{rnd.randrange(10**6)}@example.org",
                "score": round(rnd.uniform(0, 100), 3),
                "active": rnd.random() < 0.5,
                "tags": rnd.sample(WORDS, rnd.randrange(1, 5)),
                "address": {"street": f"{rnd.choice(WORDS).title()}straße "
                                      f"{rnd.randrange(1, 200)}",
                            "zip": f"{rnd.randrange(10000, 99999)}"},
                "about": " ".join(rnd.choices(WORDS, k=rnd.randrange(5, 30))),
            })
        text = json.dumps(records, indent=1, ensure_ascii=False)
    return text


def html_data(size=200_000):
    """An HTML page of tables and paragraphs."""
    rnd = random.Random(1204)
    out = ["<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
           "<title>Daten</title></head><body>\n"]
    n = 0
    while sum(map(len, out)) < size:
        out.append(f"<h2 id=\"s{n}\">{rnd.choice(WORDS).title()} "
                   f"{rnd.choice(NAMES)}</h2>\n<table class=\"data\">\n")
        for _ in range(rnd.randrange(3, 12)):
            cells = "".join(f"<td class=\"c{i}\">{rnd.choice(WORDS)}</td>"
                            for i in range(4))
            out.append(f"  <tr>{cells}<td>{rnd.randrange(10**5)}</td></tr>\n")
        out.append("</table>\n<p>" + " ".join(
            rnd.choices(WORDS, k=rnd.randrange(20, 80))) + "</p>\n")
        n += 1
    out.append("</body></html>\n")
    return "".join(out)


def bitmap_data(width=512, height=320):
    """A grey bitmap: a BMP-like header, then smooth shapes with noise."""
    rnd = random.Random(1202)
    head = b"BM" + (54 + 1024 + width * height).to_bytes(4, "little") + \
        bytes(4) + (54 + 1024).to_bytes(4, "little") + bytes(40) + \
        b"".join(bytes([i, i, i, 0]) for i in range(256))
    rows = []
    for y in range(height):
        base = [128 + 60 * math.sin(x / 23 + y / 57) + 50 * math.cos(y / 31)
                for x in range(width)]
        rows.append(bytes(max(0, min(255, int(v + rnd.gauss(0, 6))))
                          for v in base))
    return head + b"".join(rows)


def prose_data(size=200_000):
    """German prose in UTF-8, sent as binary (as Autobahn's Faust)."""
    rnd = random.Random(1203)
    out = []
    n = 0
    while n < size:
        line = " ".join(rnd.choices(WORDS, k=rnd.randrange(4, 12)))
        line = line[0].upper() + line[1:] + rnd.choice(".!?,;") + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()


def pdf_data(size=200_000):
    """A PDF-like mix: object markup around incompressible streams."""
    rnd = random.Random(1205)
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    n = 0
    while sum(map(len, out)) < size:
        body = rnd.randbytes(rnd.randrange(500, 4000))
        out.append(b"%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\n"
                   b"stream\n" % (n, len(body)) + body +
                   b"\nendstream\nendobj\n")
        n += 1
    return b"".join(out)


DATASETS = {  # Autobahn's 12.1 to 12.5, in its order
    "json": (json_data, False),
    "bitmap": (bitmap_data, True),
    "prose": (prose_data, True),
    "html": (html_data, False),
    "pdf": (pdf_data, True),
}
_made = {}


def dataset(name):
    """The data set name, made on first use."""
    if name not in _made:
        make, _ = DATASETS[name]
        _made[name] = make()
    return _made[name]


# Autobahn's MSG_SIZES: (payload length, auto-fragment size; 0 for none).
MSG_SIZES = [(16, 0), (64, 0), (256, 0), (1024, 0), (4096, 0), (8192, 0),
             (16384, 0), (32768, 0), (65536, 0), (131072, 0),
             (8192, 256), (16384, 256), (32768, 256), (65536, 256),
             (131072, 256), (131072, 1024), (131072, 4096),
             (131072, 32768)]


def messages(data, size, count):
    """count consecutive slices of size of data, wrapping around, as
    Autobahn cuts them; encoded if data is text."""
    out, ptr = [], 0
    for _ in range(count):
        end = (ptr + size) % len(data)
        msg = data[ptr:end] if end > ptr else data[ptr:] + data[:end]
        ptr = end
        out.append(msg.encode() if isinstance(msg, str) else msg)
    return out


def expect_compressed(ws, msg):
    """Whether the echo of msg comes compressed: when it is at least
    MIN_SIZE, and, if the server keeps no context, it shrinks."""
    if len(msg) < MIN_SIZE:
        return False
    return not ws.pmd.server_no_context_takeover or \
        shrinks(msg, ws.pmd.server_bits)


def autobahn_case(server, offer, answer, name, size, fragment,
                  compressed=None):
    """Send messages of size from data set name, each waiting for its
    echo, fragmented after compression into frames of fragment bytes (0:
    one frame); every echo must be the message, in one frame, compressed
    exactly when at least MIN_SIZE (or as compressed says)."""
    data = dataset(name)
    opcode = OP_BINARY if DATASETS[name][1] else OP_TEXT
    count = max(2, min(16, CASE_BYTES // size))
    ws = open_pmd(server, offer, answer)
    for msg in messages(data, size, count):
        assert len(msg) >= size  # text: characters, some of them 2 bytes
        ws.send_message(opcode, msg, fragment=fragment or None)
        want = expect_compressed(ws, msg) if compressed is None \
            else compressed
        got = ws.expect_data(opcode, msg, compressed=want)
        assert got.frames == 1, f"echo in {got.frames} frames"
    close_cleanly(ws)


def case_ids(section, j):
    return [f"{section}.{j}.{i}" for i in range(1, len(MSG_SIZES) + 1)]


# -- 12 permessage-deflate with Autobahn's default offer ----------------------

@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(12, 1))
def test_autobahn_12_1_x_json_text(server, size, fragment):
    autobahn_case(server, DEFAULT_OFFER,
                  "permessage-deflate; client_no_context_takeover",
                  "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(12, 2))
def test_autobahn_12_2_x_bitmap_binary(server, size, fragment):
    autobahn_case(server, DEFAULT_OFFER,
                  "permessage-deflate; client_no_context_takeover",
                  "bitmap", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(12, 3))
def test_autobahn_12_3_x_german_prose_binary(server, size, fragment):
    autobahn_case(server, DEFAULT_OFFER,
                  "permessage-deflate; client_no_context_takeover",
                  "prose", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(12, 4))
def test_autobahn_12_4_x_html_text(server, size, fragment):
    autobahn_case(server, DEFAULT_OFFER,
                  "permessage-deflate; client_no_context_takeover",
                  "html", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(12, 5))
def test_autobahn_12_5_x_pdf_like_binary(server, size, fragment):
    autobahn_case(server, DEFAULT_OFFER,
                  "permessage-deflate; client_no_context_takeover",
                  "pdf", size, fragment)


# -- 13 permessage-deflate with each of Autobahn's offers ---------------------
# Autobahn's offers: (server_no_context_takeover, server_max_window_bits)
# on top of its default offer; window bits 9 where upstream has 8 (zlib
# cannot deflate raw with 8: ats-py3.patch). 13.7 offers three at once.

def offer13(snct, bits):
    out = DEFAULT_OFFER
    if snct:
        out += "; server_no_context_takeover"
    if bits:
        out += f"; server_max_window_bits={bits}"
    return out


OFFERS_13 = [
    (offer13(False, 0), "permessage-deflate; client_no_context_takeover"),
    (offer13(True, 0), "permessage-deflate; server_no_context_takeover; "
     "client_no_context_takeover"),
    (offer13(False, 9), "permessage-deflate; client_no_context_takeover; "
     "server_max_window_bits=9"),
    (offer13(False, 15), "permessage-deflate; client_no_context_takeover; "
     "server_max_window_bits=15"),
    (offer13(True, 9), "permessage-deflate; server_no_context_takeover; "
     "client_no_context_takeover; server_max_window_bits=9"),
    (offer13(True, 15), "permessage-deflate; server_no_context_takeover; "
     "client_no_context_takeover; server_max_window_bits=15"),
    (", ".join([offer13(True, 9), offer13(True, 0), offer13(False, 0)]),
     "permessage-deflate; server_no_context_takeover; "
     "client_no_context_takeover; server_max_window_bits=9"),
]


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 1))
def test_autobahn_13_1_x_default_offer(server, size, fragment):
    autobahn_case(server, *OFFERS_13[0], "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 2))
def test_autobahn_13_2_x_server_no_context_takeover(server, size,
                                                    fragment):
    autobahn_case(server, *OFFERS_13[1], "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 3))
def test_autobahn_13_3_x_server_max_window_bits_9(server, size, fragment):
    autobahn_case(server, *OFFERS_13[2], "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 4))
def test_autobahn_13_4_x_server_max_window_bits_15(server, size, fragment):
    autobahn_case(server, *OFFERS_13[3], "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 5))
def test_autobahn_13_5_x_no_context_takeover_and_window_bits_9(
        server, size, fragment):
    autobahn_case(server, *OFFERS_13[4], "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 6))
def test_autobahn_13_6_x_no_context_takeover_and_window_bits_15(
        server, size, fragment):
    autobahn_case(server, *OFFERS_13[5], "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 7))
def test_autobahn_13_7_x_three_offers_first_taken(server, size, fragment):
    autobahn_case(server, *OFFERS_13[6], "json", size, fragment)


# 13.8 and up (extras): context takeover on both sides, a client window
# smaller than the server's, and a server window of 8 bits, which zlib
# cannot deflate with: accepted, and every message goes uncompressed.

@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 8))
def test_autobahn_13_8_x_context_takeover_both_ways(server, size,
                                                    fragment):
    autobahn_case(server, "permessage-deflate", "permessage-deflate",
                  "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 9))
def test_autobahn_13_9_x_client_window_9_server_window_10(server, size,
                                                          fragment):
    autobahn_case(server, "permessage-deflate; client_max_window_bits=9; "
                  "server_max_window_bits=10",
                  "permessage-deflate; server_max_window_bits=10; "
                  "client_max_window_bits=9", "json", size, fragment)


@pytest.mark.parametrize("size,fragment", MSG_SIZES, ids=case_ids(13, 10))
def test_autobahn_13_10_x_server_window_8_sends_uncompressed(server, size,
                                                             fragment):
    autobahn_case(server, "permessage-deflate; server_max_window_bits=8",
                  "permessage-deflate; server_max_window_bits=8", "json",
                  size, fragment, compressed=False)


# -- compression_min_size -----------------------------------------------------

@pytest.mark.parametrize("compress", [True, False],
                         ids=["sent-compressed", "sent-plain"])
def test_echo_of_min_size_is_compressed_and_one_byte_less_is_not(
        server, compress):
    ws = open_pmd(server)
    for n in (MIN_SIZE - 1, MIN_SIZE, 1, MIN_SIZE + 1, MIN_SIZE - 1):
        data = b"m" * n
        ws.send_message(OP_TEXT, data, compress=compress)
        ws.expect_data(OP_TEXT, data, compressed=n >= MIN_SIZE)
    close_cleanly(ws)


def test_compression_min_size_1k_is_the_threshold(start_module_server):
    srv = start_module_server(compression_min_size="1k")
    ws = open_pmd(srv)
    for n in (1023, 1024, 300):
        data = b"k" * n
        ws.send_message(OP_BINARY, data)
        ws.expect_data(OP_BINARY, data, compressed=n >= 1024)
    close_cleanly(ws)


def test_empty_compressed_message_is_echoed_empty_and_plain(server):
    ws = open_pmd(server)
    assert deflate(b"") == b"\x00"  # RFC 7692 7.2.3.6
    ws.send_frame(OP_TEXT, b"\x00", rsv=RSV1)
    ws.expect_data(OP_TEXT, b"", compressed=False)
    close_cleanly(ws)


def test_empty_message_is_echoed_compressed_at_min_size_0(
        start_module_server):
    # With compression_min_size = 0 even the empty message goes compressed:
    # the one byte 0x00 of RFC 7692 7.2.3.6, then a message after it.
    srv = start_module_server(compression_min_size="0")
    ws = open_pmd(srv)
    for data in (b"", b"after", b""):
        ws.send_message(OP_TEXT, data)
        ws.expect_data(OP_TEXT, data, compressed=True)
    close_cleanly(ws)


def test_compressed_message_of_no_bytes_is_the_empty_message(server):
    # RSV1 and a payload of nothing: lenient, the empty message; the
    # client's context goes on untouched.
    ws = open_pmd(server)
    ws.send_frame(OP_TEXT, b"", rsv=RSV1)
    ws.expect_data(OP_TEXT, b"", compressed=False)
    ws.send_message(OP_TEXT, b"next")
    ws.expect_data(OP_TEXT, b"next")
    close_cleanly(ws)


# -- fragments and control frames ---------------------------------------------

def test_compressed_message_in_1_byte_fragments_is_echoed_as_one_frame(
        server):
    data = dataset("json")[:3000].encode()
    ws = open_pmd(server)
    ws.send_message(OP_TEXT, data, fragment=1)
    got = ws.expect_data(OP_TEXT, data, compressed=True)
    assert got.frames == 1
    close_cleanly(ws)


def test_plain_fragments_on_a_compressed_connection_are_echoed_whole(
        server):
    # 3 fragments of 100 bytes: no frame reaches the minimum size, the
    # message does; it comes back as one compressed frame.
    ws = open_pmd(server)
    ws.send(frames_for(OP_TEXT, b"f" * 300, fragment=100))
    got = ws.expect_data(OP_TEXT, b"f" * 300, compressed=True)
    assert got.frames == 1
    close_cleanly(ws)


def test_ping_inside_a_compressed_message_is_answered_first_plain(server):
    data = dataset("html")[:5000].encode()
    ws = open_pmd(server)
    payload = ws.compressor.compress(data)
    half = len(payload) // 2
    ws.send(frame(OP_TEXT, payload[:half], fin=False, rsv=RSV1)
            + frame(OP_PING, b"p" * 125)
            + frame(OP_CONT, payload[half:]))
    # recv_frame() refuses any RSV bit: the pong must be plain.
    assert ws.recv_frame() == (True, OP_PONG, b"p" * 125)
    got = ws.expect_data(OP_TEXT, data, compressed=True)
    assert got.frames == 1
    close_cleanly(ws)


def test_close_on_a_compressed_connection_is_plain(server):
    ws = open_pmd(server)
    ws.send_frame(OP_CLOSE, close_body(1000, "bye" * 30))
    ws.expect_close(1000)  # recv_frame(): no RSV bit on the close
    ws.close()


# -- the server's context and window ------------------------------------------

def test_server_keeps_its_context_from_message_to_message(server):
    # The same 4 KiB of random bytes twice: the second echo refers to the
    # first and is a small fraction of it.
    data = random.Random(1301).randbytes(4096)
    ws = open_pmd(server, answer="permessage-deflate")
    ws.send_message(OP_BINARY, data)
    first = ws.expect_data(OP_BINARY, data, compressed=True)
    ws.send_message(OP_BINARY, data)
    second = ws.expect_data(OP_BINARY, data, compressed=True)
    assert len(first.wire) > 4000 and len(second.wire) < 200, \
        (len(first.wire), len(second.wire))
    close_cleanly(ws)


def test_server_without_context_takeover_compresses_each_message_alone(
        server):
    data = bytes(random.Random(1302).choices(b"abcdefghijklmnopqrstuvwxyz",
                                             k=4096))
    ws = open_pmd(server, "permessage-deflate; server_no_context_takeover",
                  "permessage-deflate; server_no_context_takeover")
    for _ in range(3):
        ws.send_message(OP_BINARY, data)
        got = ws.recv_data()
        assert got.compressed and got.data == data
        # Inflated with a fresh context, as Decompressor does here anyway.
        assert Decompressor(15, takeover=False).decompress(got.wire) == data
    close_cleanly(ws)


def test_plain_echo_between_compressed_ones_leaves_the_context_alone(
        server):
    # A, a short message echoed plain, then A again: the third echo refers
    # to the first, not to the plain one between them.
    data = random.Random(1303).randbytes(2048)
    ws = open_pmd(server)
    ws.send_message(OP_BINARY, data)
    ws.expect_data(OP_BINARY, data, compressed=True)
    ws.send_message(OP_BINARY, b"short")
    ws.expect_data(OP_BINARY, b"short", compressed=False)
    ws.send_message(OP_BINARY, data)
    got = ws.expect_data(OP_BINARY, data, compressed=True)
    assert len(got.wire) < 200, len(got.wire)
    close_cleanly(ws)


def test_plain_message_between_compressed_ones_leaves_the_inflater_alone(
        server):
    # The client's compressor skips the plain message; the server's
    # inflater must too, or the third message does not inflate.
    data = random.Random(1304).randbytes(2048)
    ws = open_pmd(server)
    ws.send_message(OP_BINARY, data)
    ws.expect_data(OP_BINARY, data)
    ws.send_message(OP_BINARY, data[::-1], compress=False)
    ws.expect_data(OP_BINARY, data[::-1])
    payload = ws.compressor.compress(data)
    assert len(payload) < 100  # it refers to the first message
    ws.send_frame(OP_BINARY, payload, rsv=RSV1)
    ws.expect_data(OP_BINARY, data)
    close_cleanly(ws)


def window_probe(bits, seed):
    """Random bytes with two repeats: one that only a window of bits
    reaches (more than half of it away, within what deflate uses of it),
    and, below 15 bits, one just out of its reach. Return the data and the
    length of the near repeat."""
    rnd = random.Random(seed)
    far = (1 << bits) - 262  # deflate's MAX_DIST
    dist = 200 if bits == 9 else ((1 << (bits - 1)) + far) // 2
    near = rnd.randbytes(dist)
    data = near + near
    if bits < 15:
        tail = rnd.randbytes(300)
        data += tail + rnd.randbytes(1 << bits) + tail
    return data, dist


@pytest.mark.parametrize("bits", range(9, 16))
def test_server_compresses_with_the_window_the_offer_allows(server, bits):
    # The near repeat is found (the wire saves half of it at least): the
    # window is at least bits; the data inflates with exactly bits (wsclient
    # checks the window; the far repeat is out of its reach): at most.
    data, near = window_probe(bits, 1310 + bits)
    ws = open_pmd(server, f"permessage-deflate; server_max_window_bits="
                  f"{bits}")
    assert ws.pmd.server_bits == bits
    ws.send_message(OP_BINARY, data)
    got = ws.expect_data(OP_BINARY, data, compressed=True)
    assert len(got.wire) < len(data) - near // 2, (len(got.wire),
                                                    len(data), near)
    close_cleanly(ws)


@pytest.mark.parametrize("bits", [9, 12])
def test_server_compresses_with_compression_window_bits(start_module_server,
                                                        bits):
    srv = start_module_server(compression_window_bits=bits)
    data, near = window_probe(bits, 1320 + bits)
    ws = open_pmd(srv, "permessage-deflate")
    ws.decompressor = Decompressor(bits)
    ws.send_message(OP_BINARY, data)
    got = ws.expect_data(OP_BINARY, data, compressed=True)
    assert len(got.wire) < len(data) - near // 2, (len(got.wire),
                                                    len(data), near)
    close_cleanly(ws)


@pytest.mark.parametrize("snct", [False, True], ids=["takeover", "snct"])
@pytest.mark.parametrize("bits", [9, 10])
def test_incompressible_message_with_a_small_window_is_echoed(server, bits,
                                                              snct):
    # 64 KiB of random bytes do not shrink: with context takeover they go
    # compressed all the same, without it plain. At 9 and 10 bits zlib
    # writes a stored block every 256 or 512 symbols, 5 bytes each: the
    # server's output bound must hold that.
    offer = f"permessage-deflate; server_max_window_bits={bits}"
    if snct:
        offer += "; server_no_context_takeover"
    data = random.Random(1330 + bits).randbytes(64 * 1024)
    ws = open_pmd(server, offer)
    ws.send_message(OP_BINARY, data)
    ws.expect_data(OP_BINARY, data, compressed=not snct)
    close_cleanly(ws)


# -- what a client may send ---------------------------------------------------

@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY],
                         ids=["text", "binary"])
def test_uncompressed_messages_from_a_compressed_client_are_echoed(
        server, opcode):
    ws = open_pmd(server)
    for n in (10, 300, 5000):
        data = dataset("json")[:n].encode()
        ws.send_message(opcode, data, compress=False)
        ws.expect_data(opcode, data, compressed=n >= MIN_SIZE)
    close_cleanly(ws)


def test_message_ending_in_a_final_block_is_echoed_and_so_is_the_next(
        server):
    # RFC 7692 7.2.3.3: a final block (BFINAL) may end a message; the
    # next message starts a new stream.
    data = dataset("html")[:4000].encode()
    ws = open_pmd(server)
    other = data.decode()[::-1].encode()
    ws.send_message(OP_TEXT, data, final=True)
    ws.expect_data(OP_TEXT, data, compressed=True)
    ws.send_message(OP_TEXT, other)
    ws.expect_data(OP_TEXT, other, compressed=True)
    close_cleanly(ws)


def is_utf8(data):
    try:
        data.decode()
        return True
    except UnicodeDecodeError:
        return False


def test_utf8_sequences_split_between_compressed_fragments_are_echoed(
        server):
    # Each piece inflates to a part that ends inside a UTF-8 sequence.
    text = ("κόσμε €𝄞 " * 200).encode()
    parts = [text[i:i + 7] for i in range(0, len(text), 7)]
    assert not all(is_utf8(p) for p in parts)
    ws = open_pmd(server)
    pieces = ws.compressor.compress_parts(parts)
    data = b"".join(
        frame(OP_TEXT if i == 0 else OP_CONT, p, fin=i == len(pieces) - 1,
              rsv=RSV1 if i == 0 else 0) for i, p in enumerate(pieces))
    ws.send(data)
    ws.expect_data(OP_TEXT, text, compressed=True)
    close_cleanly(ws)


def test_client_compressing_at_level_9_with_takeover_is_echoed(server):
    ws, _ = handshake(server, extensions="permessage-deflate", level=9)
    assert ws.compressor.level == 9
    for msg in messages(dataset("json"), 3000, 10):
        ws.send_message(OP_TEXT, msg)
        ws.expect_data(OP_TEXT, msg, compressed=True)
    close_cleanly(ws)


def test_4_mib_compressed_text_round_trips(server):
    data = (dataset("json") * 25)[:4 << 20].encode()
    ws = open_pmd(server)
    ws.timeout = BIG_TIMEOUT
    payload = Compressor(15, level=1).compress(data)
    sender = ws.send_in_background(frame(OP_TEXT, payload, rsv=RSV1))
    got = ws.expect_data(OP_TEXT, data, compressed=True)
    assert got.frames == 1 and len(got.wire) < len(data) // 3
    join_sender(sender, BIG_TIMEOUT)
    close_cleanly(ws)
