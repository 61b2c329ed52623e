"""permessage-deflate (RFC 7692) with a real client library:
python3-websockets, which offers compression by default, against the echo
and the chat: the header it gets, the agreement it takes, and messages
that go both ways compressed (its inflate sees RSV1 on the server's frames
of at least compression_min_size). Headless Chromium is
test_browser_deflate.py.
"""

import asyncio
import json
import os

import pytest
import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory, PerMessageDeflate)

from conftest import IO_TIMEOUT

MIB = 1 << 20
MIN_SIZE = 256  # compression_min_size's default


def run_async(coro, timeout=IO_TIMEOUT):
    """Run coro to completion, bounded by timeout seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def ws_url(server, path="/echo"):
    return f"ws://127.0.0.1:{server.port}{path}"


@pytest.fixture
def inflated(monkeypatch):
    """The data frames websockets' permessage-deflate decoded, as (RSV1,
    length of the payload as it came) in order, for every connection."""
    seen = []
    decode = PerMessageDeflate.decode

    def spy(self, frame, *, max_size=None):
        if frame.opcode in (1, 2):  # text, binary (first frames)
            seen.append((frame.rsv1, len(frame.data)))
        return decode(self, frame, max_size=max_size)
    monkeypatch.setattr(PerMessageDeflate, "decode", spy)
    return seen


def json_text(n):
    """n characters or more of JSON, repetitive as an API's answers are."""
    rows = [{"id": i, "name": f"user{i % 37}", "active": i % 3 == 0,
             "score": i * 7 % 101} for i in range(n // 40 + 1)]
    return json.dumps(rows)


def test_websockets_gets_permessage_deflate_on_echo(server):
    async def session():
        async with websockets.connect(ws_url(server)) as ws:
            return (ws.request_headers["Sec-WebSocket-Extensions"],
                    ws.response_headers.get_all("Sec-WebSocket-Extensions"),
                    [type(e) for e in ws.extensions])

    offer, answer, exts = run_async(session())
    assert offer == "permessage-deflate; client_max_window_bits"
    assert answer == ["permessage-deflate"]
    assert exts == [PerMessageDeflate]


def test_websockets_messages_round_trip_compressed_on_echo(server,
                                                           inflated):
    small, text, blob = "tiny", json_text(MIB), os.urandom(MIB)

    async def session():
        async with websockets.connect(ws_url(server), max_size=None) as ws:
            out = []
            for msg in (small, text, blob, text[:5000], "κόσμε" * 100):
                await ws.send(msg)
                out.append(await ws.recv())
            return out

    got = run_async(session(), 60)
    assert got == [small, text, blob, text[:5000], "κόσμε" * 100]
    # Each echo but the tiny one came compressed; the JSON, much smaller.
    assert [c for c, _ in inflated] == [False, True, True, True, True]
    assert inflated[1][1] < MIB // 4


def test_websockets_with_every_parameter_agrees_and_round_trips(server,
                                                                inflated):
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True,
        server_max_window_bits=10, client_max_window_bits=9)
    text = json_text(100_000)

    async def session():
        async with websockets.connect(ws_url(server), compression=None,
                                      extensions=[factory]) as ws:
            for _ in range(3):
                await ws.send(text)
                assert await ws.recv() == text
            return ws.response_headers["Sec-WebSocket-Extensions"]

    assert run_async(session()) == (
        "permessage-deflate; server_no_context_takeover; "
        "client_no_context_takeover; server_max_window_bits=10; "
        "client_max_window_bits=9")
    assert [c for c, _ in inflated] == [True] * 3


def test_websockets_without_compression_gets_no_extension(server,
                                                          inflated):
    async def session():
        async with websockets.connect(ws_url(server),
                                      compression=None) as ws:
            await ws.send("x" * 1000)
            back = await ws.recv()
            return back, ws.response_headers.get_all(
                "Sec-WebSocket-Extensions")

    assert run_async(session()) == ("x" * 1000, [])
    assert inflated == []


def test_websockets_sees_1009_for_a_compressed_message_over_the_limit(
        start_server):
    # 4 KiB of one letter, a few dozen bytes compressed: the limit is on
    # the inflated size.
    server = start_server(max_message_size="1k")

    async def session():
        async with websockets.connect(ws_url(server)) as ws:
            await ws.send("x" * 1024)
            ok = await ws.recv()
            await ws.send("x" * 4096)
            try:
                await ws.recv()
            except websockets.ConnectionClosed as e:
                return len(ok), e.rcvd.code if e.rcvd else None
        return None

    assert run_async(session()) == (1024, 1009)


def test_websockets_chat_gets_compressed_events(start_server, inflated):
    server = start_server(chat_rate="1000/s", chat_burst=10000)
    long_text = "compressed chat " * 100

    async def session():
        async with websockets.connect(ws_url(server, "/chat/pmd?nick=ws")) \
                as ws:
            answer = ws.response_headers["Sec-WebSocket-Extensions"]
            events = [json.loads(await ws.recv()) for _ in range(2)]
            await ws.send(long_text)
            events.append(json.loads(await ws.recv()))
            await ws.send("short")
            events.append(json.loads(await ws.recv()))
            return answer, events, ws.extensions[0]

    answer, events, ext = run_async(session())
    assert answer == "permessage-deflate; server_no_context_takeover"
    assert ext.remote_no_context_takeover is True
    assert [e["type"] for e in events] == ["welcome", "join", "message",
                                           "message"]
    assert events[2]["text"] == long_text and events[3]["text"] == "short"
    # The welcome, the join and the short message are under the minimum.
    assert [c for c, _ in inflated] == [False, False, True, False]
