"""statsdump on a running daemon with chat clients: the JSON chat object,
the Prometheus chat families and the text chat section follow what the
clients did. The formats themselves, field by field, are tested on
synthetic segments in test_statsdump.py."""

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest
import websockets

from conftest import REPO, child_pids, poll, proc_title
from test_statsdump import parse_prometheus, value

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))
TIMEOUT = 10  # seconds for any one wait
MESSAGES = 3  # messages alice sends to room1


def statsdump(server, *args):
    """Run statsdump on the server's segment; return its output."""
    return subprocess.run([STATSDUMP, "-s", str(server.shm_path), *args],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          check=True).stdout


def report(server, *args):
    """The JSON report of the server's segment."""
    return json.loads(statsdump(server, "--json", *args))


def hub_pid(server):
    """The pid of the master's child titled as the chat hub, or None."""
    hubs = [p for p in child_pids(server.pid)
            if proc_title(p) == "pfhttpd: chat"]
    return hubs[0] if len(hubs) == 1 else None


async def recv_until(ws, done):
    """Receive events until done(event); return them all."""
    got = []
    while True:
        ev = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        got.append(ev)
        if done(ev):
            return got


class Chat:
    """alice and bob in room1, carol in the default room (lobby), each on
    its own WebSocket; alice sent MESSAGES messages and everyone in room1
    received them. The connections stay open until close()."""

    def __init__(self, server):
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.clients = self.run(self._open())

    def run(self, coro):
        return self.loop.run_until_complete(
            asyncio.wait_for(coro, TIMEOUT))

    def url(self, path):
        return f"ws://127.0.0.1:{self.server.port}{path}"

    async def _open(self):
        alice = await websockets.connect(self.url("/chat/room1?nick=alice"))
        await recv_until(alice, lambda e: e["type"] == "welcome")
        bob = await websockets.connect(self.url("/chat/room1?nick=bob"))
        await recv_until(bob, lambda e: e["type"] == "welcome")
        carol = await websockets.connect(self.url("/chat?nick=carol"))
        await recv_until(carol, lambda e: e["type"] == "welcome")
        for i in range(MESSAGES):
            await alice.send(f"hello {i}")
        last = f"hello {MESSAGES - 1}"
        for ws in (alice, bob):
            await recv_until(ws, lambda e: e.get("text") == last)
        return [alice, bob, carol]

    def send(self, who, text):
        """Send text as client who; wait until its sender receives it."""
        async def go():
            ws = self.clients[who]
            await ws.send(text)
            await recv_until(ws, lambda e: e.get("text") == text)
        self.run(go())

    def close(self):
        async def go():
            for ws in self.clients:
                await ws.close()
        try:
            self.run(go())
        finally:
            self.loop.close()


@pytest.fixture
def chat(server):
    c = Chat(server)
    yield c
    c.close()


def settled(server):
    """The JSON report once the workers have read every event."""
    def ok():
        doc = report(server)
        live = [w for w in doc["workers"] if w["state"] == "serving"]
        return all(w["chat_lag"] == 0 for w in live) and doc
    return poll(ok, TIMEOUT, what="every worker to read every event")


def test_json_chat_object_counts_the_clients_rooms_and_events(server, chat):
    doc = settled(server)
    c = doc["chat"]
    assert c["rooms"] == 2  # room1 and lobby
    assert c["members"] == 3
    assert c["members_websocket"] == 3 and c["members_telnet"] == 0
    assert sum(w["chat_members"] for w in doc["workers"]) == 3
    assert c["events"] == 3 + MESSAGES  # three joins and the messages
    assert c["requests"] == c["hub_requests"] == 3 + MESSAGES
    # Each message reached alice and bob.
    assert c["deliveries"] >= 2 * MESSAGES
    for key in ("rate_limited", "oversize", "refused", "hub_refused",
                "slow_closed", "gaps", "missed", "unavailable"):
        assert c[key] == 0, key
    assert c["hub_pid"] == hub_pid(server)
    assert c["hub_restarts"] == 0


def test_json_last_event_is_the_rfc3339_time_of_the_last_message(server,
                                                                  chat):
    before = datetime.now(timezone.utc)
    chat.send(1, "the last word")
    after = datetime.now(timezone.utc)
    last = report(server)["chat"]["last_event"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", last)
    when = datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc)
    # The hub's clock in ms: within the send, give or take its rounding.
    assert before.timestamp() - 0.001 <= when.timestamp() <= \
        after.timestamp(), (before, last, after)


def test_rooms_option_lists_the_rooms_with_their_members_and_last_seq(
        server, chat):
    rooms = report(server, "--rooms")["chat"]["room_list"]
    assert rooms == [
        {"name": "lobby", "members": 1, "last_seq": 1},
        {"name": "room1", "members": 2, "last_seq": 2 + MESSAGES},
    ]


def test_prometheus_chat_families_parse_and_follow_the_clients(server,
                                                               chat):
    settled(server)
    fams = parse_prometheus(statsdump(server, "--prometheus"))
    assert value(fams, "pfhttpd_chat_hub_up") == 1
    assert value(fams, "pfhttpd_chat_rooms") == 2
    assert value(fams, "pfhttpd_chat_members") == 3
    assert value(fams, "pfhttpd_chat_clients", transport="websocket") == 3
    assert value(fams, "pfhttpd_chat_events_total") == 3 + MESSAGES
    assert value(fams, "pfhttpd_chat_deliveries_total") >= 2 * MESSAGES
    assert value(fams, "pfhttpd_chat_last_event_time_seconds") == \
        pytest.approx(time.time(), abs=60)
    lags = fams["pfhttpd_chat_worker_lag_events"]["samples"]
    assert sorted(int(lb["pid"]) for _, lb, _ in lags) == \
        sorted(server.workers())
    assert all(v == 0 for _, _, v in lags)


def test_text_report_has_the_chat_section_and_a_lag_per_worker(server,
                                                               chat):
    settled(server)
    out = statsdump(server)
    lines = out.splitlines()
    assert (f"chat hub     pid {hub_pid(server)}, restarts 0, last event "
            in "\n".join(lines)), out
    assert "chat         rooms 2  members 3 (websocket 3  telnet 0)" \
        in lines, out
    assert any(x.startswith(f"chat events  sequenced {3 + MESSAGES}  ")
               for x in lines), out
    rows = [x.split() for x in lines if re.match(r" +\d+ ", x)]
    assert len(rows) == 2 and all(r[8] == "0" for r in rows), out


def test_hub_restarts_count_a_hub_the_master_started_again(server, chat):
    old = poll(lambda: hub_pid(server), TIMEOUT, what="the hub")
    os.kill(old, signal.SIGKILL)
    c = poll(lambda: (c := report(server)["chat"])["hub_restarts"] == 1
             and c["hub_pid"] not in (0, old) and c, TIMEOUT,
             what="a new hub")
    assert c["hub_pid"] == hub_pid(server)


def test_no_false_lag_for_workers_started_after_the_events(server):
    # After a reload on a quiet server, the new workers have read none of
    # the events before them, and need not: they start at the head, so
    # their lag is 0, not the number of events before they started.
    Chat(server).close()
    poll(lambda: (d := settled(server))["chat"]["members"] == 0 and d,
         TIMEOUT, what="the clients to leave")
    old = set(server.workers())
    server.signal(signal.SIGHUP)
    server.wait_workers(2, exclude=old)
    doc = report(server)
    assert doc["chat"]["events"] > 0
    new = [w for w in doc["workers"] if w["state"] == "serving"]
    assert len(new) == 2 and not {w["pid"] for w in new} & old
    assert all(w["chat_lag"] == 0 for w in new), new
