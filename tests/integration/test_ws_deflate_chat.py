"""permessage-deflate (RFC 7692) on chat connections: compressed and
plain clients share a room and see the same events; the server compresses
each event once, without context (server_no_context_takeover is always in
the answer on the chat path), so every compressed frame inflates alone and
is the same bytes for every compressed client of a worker; frames of at
least compression_min_size are compressed, smaller ones are not; history
arrives compressed; compressed messages from clients are accepted, with
chat's max_message_size applied to the inflated text.

Each compressed frame is checked here with a fresh inflate of its own
(wsclient.inflate), independently of the client's reader.
"""

import json
import random
import string

import pytest

from chatclient import FAST, WsChat, is_event, of_type
from wsclient import OP_BINARY, OP_TEXT, RSV1, frame, inflate

PMD = "permessage-deflate"
MIN_SIZE = 256  # compression_min_size's default
SNCT = "permessage-deflate; server_no_context_takeover"


def long_text(i, n=400):
    """A message text of n characters, numbered i."""
    return (f"message {i}: " + "all work and no play makes jack a dull "
            "boy; " * (n // 40 + 1))[:n]


def check_frames(client, bits=15):
    """Every text frame client received: compressed exactly when its JSON
    is at least MIN_SIZE bytes, and each compressed one inflates alone,
    with a window of bits, to the event recorded. Return the number of
    compressed frames."""
    with client.cond:
        wire = list(client.wire)
        events = list(client.events)
    assert len(wire) == len(events)
    n = 0
    for (compressed, payload), event in zip(wire, events):
        text = inflate(payload, bits) if compressed else payload
        assert json.loads(text) == event
        assert compressed == (len(text) >= MIN_SIZE), \
            (compressed, len(text), event)
        n += compressed
    return n


def test_chat_answer_always_has_server_no_context_takeover(start_server):
    srv = start_server()
    for offer, answer in [
            (PMD, SNCT),
            ("permessage-deflate; client_max_window_bits", SNCT),
            ("permessage-deflate; client_no_context_takeover",
             SNCT + "; client_no_context_takeover"),
            ("permessage-deflate; server_max_window_bits=12",
             SNCT + "; server_max_window_bits=12")]:
        with WsChat(srv, "answers", extensions=offer) as c:
            assert c.response.headers_named("Sec-WebSocket-Extensions") \
                == [answer]
            c.joined()


def test_compressed_and_plain_clients_see_the_same_events(start_server):
    srv = start_server(**FAST)
    with WsChat(srv, "mixed", nick="zip", extensions=PMD) as zipped, \
            WsChat(srv, "mixed", nick="plain") as plain:
        assert zipped.pmd is not None and plain.pmd is None
        zipped.joined()
        plain.joined()  # the joins are events 1 and 2
        texts = [long_text(1), "short one", long_text(2, 1000), "/me waves",
                 long_text(3, 3000)]
        for i, text in enumerate(texts):
            (zipped if i % 2 else plain).send(text)

        def said(e):
            return is_event(e) and e["seq"] > 2
        zipped.wait_count(said, len(texts))
        plain.wait_count(said, len(texts))
        seen_z = [e for e in zipped.snapshot() if said(e)]
        seen_p = [e for e in plain.snapshot() if said(e)]
        assert seen_z == seen_p and len(seen_z) == len(texts), \
            (seen_z, seen_p)
        assert check_frames(zipped) >= 3  # the three long messages
        assert not any(c for c, _ in plain.wire)


def test_broadcast_is_the_same_compressed_bytes_for_every_client(
        start_server):
    # One worker: each compressed client of it gets the very frame the
    # worker compressed once, whatever else its offer said.
    srv = start_server(workers=1, **FAST)
    offers = [PMD, PMD, "permessage-deflate; client_max_window_bits",
              "permessage-deflate; client_no_context_takeover"]
    clients = [WsChat(srv, "fan", extensions=o) for o in offers]
    try:
        for c in clients:
            c.joined()
        with WsChat(srv, "fan", nick="speaker") as speaker:
            speaker.joined()
            for i in range(3):
                speaker.say(long_text(i, 500 + 300 * i))
        payloads = []
        for c in clients:
            c.until(of_type("leave", nick="speaker"))
            check_frames(c)
            with c.cond:
                payloads.append([p for (z, p), e in zip(c.wire, c.events)
                                 if z and e.get("type") == "message"])
        assert len(payloads[0]) == 3
        assert all(p == payloads[0] for p in payloads), \
            [[len(x) for x in p] for p in payloads]
    finally:
        for c in clients:
            c.close()


def test_client_window_of_10_bits_gets_frames_made_with_10(start_server):
    srv = start_server(workers=1, **FAST)
    offer = "permessage-deflate; server_max_window_bits=10"
    with WsChat(srv, "small", extensions=offer) as small, \
            WsChat(srv, "small", nick="speaker") as speaker:
        assert small.pmd.server_bits == 10
        small.joined()
        speaker.joined()
        # Random letters repeated 2600 characters on, further back than a
        # 10-bit window reaches: deflated with more, the frame would not
        # inflate with 10 (wsclient's Decompressor checks the window).
        text = "".join(random.Random(1401).choices(string.ascii_letters,
                                                   k=1300))
        speaker.say(text + text[::-1] + text)
        small.until(of_type("message", nick="speaker"))
        assert check_frames(small, bits=10) == 1


def test_history_for_a_newcomer_arrives_compressed_and_correct(
        start_server):
    srv = start_server(**FAST)
    texts = [long_text(i, 300 + 100 * i) for i in range(5)] + ["short"]
    with WsChat(srv, "hist", nick="filler") as filler:
        filler.joined()
        for t in texts:
            filler.say(t)
        with WsChat(srv, "hist", extensions=PMD) as zipped:
            _, hist_z, _ = zipped.joined()
            assert [e.get("text") for e in hist_z if e["type"] ==
                    "message"] == texts
            assert check_frames(zipped) >= 5
            # A plain newcomer after it sees the same history, and the
            # compressed one's join.
            with WsChat(srv, "hist") as plain:
                _, hist_p, _ = plain.joined()
                assert hist_p[:-1] == hist_z
                assert hist_p[-1]["nick"] == zipped.nick


def test_compressed_messages_from_a_client_are_accepted(start_server):
    srv = start_server(**FAST)
    with WsChat(srv, "inbound", nick="zip", extensions=PMD) as zipped, \
            WsChat(srv, "inbound", nick="plain") as plain:
        zipped.joined()
        plain.joined()
        # With context takeover (no client_no_context_takeover), each
        # message after the first refers to the ones before it.
        texts = [long_text(i, 2000) for i in range(3)] + ["tiny"]
        for t in texts:
            zipped.say(t, compress=True)
        zipped.send("/me ok", compress=True)
        got = plain.until(of_type("me", nick="zip"))
        assert [e["text"] for e in got if e["type"] == "message"] == texts
        assert got[-1]["text"] == "ok"


def test_compressed_commands_are_commands(start_server):
    srv = start_server(**FAST)
    with WsChat(srv, "cmd", nick="zip", extensions=PMD) as zipped:
        zipped.joined()
        zipped.send("/nick zap", compress=True)
        zipped.until(of_type("nick", nick="zap"))
        zipped.send("/who", compress=True)
        who = zipped.until(of_type("who"))[-1]
        assert who["nicks"] == ["zap"], who


def test_compressed_text_at_chat_max_message_size_is_said(start_server):
    # 4096 bytes inflated, a few dozen on the wire: [chat] max_message_size.
    srv = start_server(**FAST)
    with WsChat(srv, "limit", nick="zip", extensions=PMD) as zipped:
        zipped.joined()
        zipped.say("b" * 4096, compress=True)


def test_compressed_text_over_chat_max_message_size_closes_1009(
        start_server):
    # One byte more, inflated: a compressed message must be inflated whole
    # to keep the client's context, so the server stops inflating at the
    # chat's bound and closes, instead of inflating up to [websocket]
    # max_message_size to answer too_long.
    srv = start_server(**FAST)
    with WsChat(srv, "limit", nick="zip", extensions=PMD) as zipped:
        zipped.joined()
        zipped.send("a" * 4097, compress=True)
        assert zipped.wait_closed() == 1009


def test_compressed_bomb_on_chat_closes_1009(start_server):
    # Far over [websocket] max_message_size once inflated: closed.
    srv = start_server(max_message_size="64k")
    with WsChat(srv, "bomb", extensions=PMD) as zipped:
        zipped.joined()
        zipped.send_raw(frame(OP_TEXT, zipped.ws.compressor.compress(
            b"c" * (1 << 20)), rsv=RSV1))
        assert zipped.wait_closed() == 1009


def test_compressed_invalid_utf8_on_chat_closes_1007(start_server):
    srv = start_server()
    with WsChat(srv, "utf8", extensions=PMD) as zipped:
        zipped.joined()
        zipped.send(b"x" * 300 + b"\xff", compress=True)
        assert zipped.wait_closed() == 1007


def test_compressed_binary_on_chat_closes_1003(start_server):
    srv = start_server()
    with WsChat(srv, "bin", extensions=PMD) as zipped:
        zipped.joined()
        zipped.send_raw(zipped.ws.message_bytes(OP_BINARY, b"b" * 300))
        assert zipped.wait_closed() == 1003


def test_rsv1_on_chat_without_agreement_closes_1002(start_server):
    srv = start_server()
    with WsChat(srv, "norsv") as plain:
        plain.joined()
        plain.send_raw(frame(OP_TEXT, b"\x00", rsv=RSV1))
        assert plain.wait_closed() == 1002


def test_chat_event_of_min_size_is_compressed_and_one_byte_less_is_not(
        start_server):
    # A message's JSON grows with its text byte for byte: the first one
    # gives the length of the rest of it, then texts make events of 255,
    # 256 and 255 bytes (sequence numbers 3 to 5: one digit each).
    srv = start_server(**FAST)
    with WsChat(srv, "edge", nick="edgy", extensions=PMD) as c:
        c.joined()
        c.say("x" * 100)
        with c.cond:
            z, payload = c.wire[-1]
        rest = len(inflate(payload) if z else payload) - 100
        for size in (MIN_SIZE - 1, MIN_SIZE, MIN_SIZE - 1):
            c.say("y" * (size - rest))
            with c.cond:
                z, payload = c.wire[-1]
            text = inflate(payload) if z else payload
            assert (len(text), z) == (size, size >= MIN_SIZE)


@pytest.mark.parametrize("size,compressed", [("64", True), ("4k", False)],
                         ids=["min-64", "min-4k"])
def test_compression_min_size_applies_to_chat_frames(start_server, size,
                                                     compressed):
    # A message event of about 300 bytes of JSON: over 64, under 4k.
    srv = start_server(compression_min_size=size, **FAST)
    with WsChat(srv, "min", extensions=PMD) as zipped:
        zipped.joined()
        zipped.say(long_text(0, 200))
        with zipped.cond:
            z, payload = zipped.wire[-1]
        assert z == compressed
        text = inflate(payload) if z else payload
        assert json.loads(text)["text"] == long_text(0, 200)


def test_compression_no_on_chat_sends_everything_plain(start_server):
    srv = start_server(compression="no", **FAST)
    with WsChat(srv, "off", extensions=PMD) as c:
        assert c.pmd is None
        c.joined()
        c.say(long_text(0, 2000))
        assert not any(z for z, _ in c.wire)
