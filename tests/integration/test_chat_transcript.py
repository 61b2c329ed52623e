"""The chat transcript ([chat] transcript): every sequenced event as one
JSON line, written by the hub, and read back by a hub on a new segment,
so that a restart of the server keeps each room's history and numbers."""

import json

from chatclient import WsChat, seqs, sequenced

FAST = {"chat_rate": "1000/s", "chat_burst": 10000}


def test_transcript_has_a_json_line_per_event(start_server, tmp_path):
    log = tmp_path / "chat.log"
    srv = start_server(workers=2, chat_transcript=str(log), **FAST)
    with WsChat(srv, "t1", nick="alice") as alice:
        alice.joined()
        said, _ = alice.say("hello \"quoted\" \u00e9")
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert lines[0]["type"] == "join" and lines[0]["nick"] == "alice"
    assert {k: said[k] for k in said} == lines[1]


def test_restart_with_transcript_keeps_history_and_numbers(start_server,
                                                          tmp_path):
    log = tmp_path / "chat.log"
    first = start_server(workers=2, chat_transcript=str(log), **FAST)
    with WsChat(first, "t1", nick="alice") as alice:
        alice.joined()
        for i in range(5):
            alice.say(f"before restart {i}")
    first.stop()  # alice's leave is the last event the hub wrote
    last = json.loads(log.read_text().splitlines()[-1])["seq"]
    # A new server: a new port, so a new shared-memory segment; only the
    # transcript carries the room over.
    second = start_server(workers=2, chat_transcript=str(log), **FAST)
    assert second.port != first.port
    with WsChat(second, "t1", nick="bob") as bob:
        wel, before, own = bob.joined()
        assert wel["seq"] == last
        texts = [e.get("text") for e in sequenced(before, history=True)]
        assert [t for t in texts if t] == [f"before restart {i}"
                                           for i in range(5)]
        assert seqs(before) == list(range(1, last + 1))
        assert own["seq"] == last + 1
