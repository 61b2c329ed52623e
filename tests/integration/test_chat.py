"""Chat rooms (issue 14): the WebSocket protocol at [chat] path and the
telnet line protocol at [chat] listen, as a client sees them. What a
newcomer is shown (welcome, history, since), one order of events for the
clients of every worker, each error code, the bad input that is refused,
and telnet and WebSocket users in one room. Faults (killed processes,
reload, slow and stopped readers) are test_chat_faults.py; many members at
once, test_chat_crowd.py."""

import re

import pytest

from chatclient import (FAST, TelnetChat, WsChat, conn_owner, consecutive,
                        is_event, message_line, of_type, seqs, sequenced,
                        spread_ws)
from conftest import open_connections
from wsclient import OP_TEXT, frame, handshake

# RFC 3339, UTC, with milliseconds: "2026-12-05T21:07:04.123Z".
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")


def fill_room(server, room, n, nick="filler"):
    """A member of room says n messages; return it and the room's last
    sequence number."""
    c = WsChat(server, room, nick=nick)
    c.joined()
    last = None
    for i in range(n):
        ev, _ = c.say(f"fill {i}")
        last = ev["seq"]
    return c, last


# -- a newcomer: welcome, history, its own join ---------------------------

def test_newcomer_gets_welcome_then_history_then_own_join(start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        for text in ("one", "two", "three"):
            alice.say(text)
        with WsChat(srv, "r1", nick="bob") as bob:
            wel = bob.next()
            assert wel == {"type": "welcome", "room": "r1", "nick": "bob",
                           "seq": 4}
            hist = [bob.next() for _ in range(4)]
            assert [(e["type"], e["seq"], e["nick"], e.get("text"))
                    for e in hist] == [
                ("join", 1, "alice", None), ("message", 2, "alice", "one"),
                ("message", 3, "alice", "two"),
                ("message", 4, "alice", "three")]
            for e in hist:
                assert e["history"] is True and e["room"] == "r1", e
                assert TIME_RE.match(e["time"]), e
            own = bob.next()
            assert {k: v for k, v in own.items() if k != "time"} == {
                "type": "join", "room": "r1", "seq": 5, "nick": "bob"}
            assert TIME_RE.match(own["time"]), own


def test_first_member_of_a_new_room_gets_welcome_seq_0_and_no_history(
        start_server):
    srv = start_server()
    with WsChat(srv, "fresh", nick="alice") as alice:
        wel, before, own = alice.joined()
        assert wel == {"type": "welcome", "room": "fresh", "nick": "alice",
                       "seq": 0}
        assert before == [] and own["seq"] == 1


def test_history_holds_only_the_last_history_events(start_server):
    srv = start_server(chat_history=5, **FAST)
    filler, last = fill_room(srv, "r1", 9)  # its join, 9 messages: seq 10
    assert last == 10
    with WsChat(srv, "r1", nick="bob") as bob:
        wel, before, own = bob.joined()
        assert wel["seq"] == 10
        assert [(e["type"], e.get("seq"), e.get("history")) for e in before] \
            == [("message", s, True) for s in range(6, 11)]
        assert own["seq"] == 11
    filler.close()


def test_since_resumes_with_only_the_events_after_it(start_server):
    srv = start_server()
    filler, last = fill_room(srv, "r1", 8)  # seq 1..9
    with WsChat(srv, "r1", nick="bob", since=6) as bob:
        wel, before, own = bob.joined()
        assert wel["seq"] == last == 9
        assert [(e["seq"], e.get("history")) for e in before] == [
            (7, True), (8, True), (9, True)]
        assert own["seq"] == 10
    filler.close()


def test_since_older_than_history_gives_gap_then_what_is_held(start_server):
    srv = start_server(chat_history=5, **FAST)
    filler, last = fill_room(srv, "r1", 11)  # seq 1..12, 5 held
    with WsChat(srv, "r1", nick="bob", since=2) as bob:
        wel, before, own = bob.joined()
        assert wel["seq"] == last == 12
        gap = before[0]
        assert gap["type"] == "gap" and gap["room"] == "r1", before
        held = before[1:]
        assert all(is_event(e) and e["history"] for e in held), held
        got = seqs(held)
        # The gap counts what is gone; what follows it is held, up to the
        # room's last event.
        assert got and consecutive(got) and got[-1] == 12, got
        assert gap["missed"] == got[0] - 3 >= 12 - 5 - 2, (gap, got)
        assert own["seq"] == 13
    filler.close()


@pytest.mark.parametrize("since", ["last", "past"])
def test_since_at_or_past_the_last_seq_sends_no_history(start_server,
                                                         since):
    srv = start_server()
    filler, last = fill_room(srv, "r1", 3)  # seq 1..4
    value = last if since == "last" else last + 1000
    with WsChat(srv, "r1", nick="bob", since=value) as bob:
        wel, before, own = bob.joined()
        assert wel["seq"] == last and before == [], before
        assert own["seq"] == last + 1
    filler.close()


def test_newcomer_to_a_room_of_long_messages_gets_the_whole_history(
        start_server):
    # The defaults (history 100, max_message_size 4k, max_queue 256k) but
    # the rate limit, a room whose last 100 messages are long (400 KB of
    # history), and a newcomer that reads all the time with a receive
    # buffer of 16 KB (on loopback the kernel would otherwise take in
    # most of the history at once, as a slow link does not).
    srv = start_server(workers=1, **FAST)
    with WsChat(srv, "r1", nick="pub") as pub:
        pub.joined()
        for i in range(0, 100, 10):
            for j in range(i, i + 10):
                pub.send(f"{j:02} " + "x" * 4000)
            pub.wait_count(of_type("message"), i + 10)
        with WsChat(srv, "r1", nick="late", rcvbuf=16384) as late:
            _, before, _ = late.joined()
            assert [e["text"][:2] for e in before] == \
                [f"{j:02}" for j in range(100)]


# -- several workers: one order --------------------------------------------

def test_clients_on_both_workers_see_one_order(start_server):
    srv = start_server(workers=2, **FAST)
    placed = spread_ws(srv, "r1", per_worker=2)
    clients = [c for cs in placed.values() for c in cs]
    for pid, cs in placed.items():
        assert open_connections(pid) >= len(cs), (pid, len(cs))
        for c in cs:
            assert conn_owner(srv, c.sock) == pid
    for i in range(10):  # every client talks, interleaved
        for n, c in enumerate(clients):
            c.send(f"c{n} says {i}")
    total = 10 * len(clients)
    for c in clients:
        c.wait_count(of_type("message"), total)
    streams = []
    for c in clients:
        events = c.snapshot()
        assert not [e for e in events if e.get("type") in ("gap", "error")]
        live = sequenced(events, history=False)
        got = [e["seq"] for e in live]
        assert consecutive(got), got  # no gap, no duplicate, in order
        streams.append(live)
    # From the last join on, every client saw the very same events.
    start = max(s[0]["seq"] for s in streams)
    views = [[(e["seq"], e["type"], e["nick"], e.get("text")) for e in s
              if e["seq"] >= start] for s in streams]
    assert all(v == views[0] for v in views), views
    assert len([v for v in views[0] if v[1] == "message"]) == total
    for c in clients:
        c.close()


# -- commands of a WebSocket client ----------------------------------------

def test_double_slash_sends_a_message_that_starts_with_a_slash(
        start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        alice.send("//etc/passwd is a path")
        ev = alice.until(lambda e: not e.get("history") and e.get("seq"))[-1]
        assert (ev["type"], ev["text"]) == ("message", "/etc/passwd is a path")


def test_join_command_moves_a_websocket_client_to_the_other_room(
        start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="obs") as obs, \
            WsChat(srv, "r2", nick="bob") as bob, \
            WsChat(srv, "r1", nick="alice") as alice:
        obs.joined()
        bob.joined()
        alice.joined()
        alice.send("/join r2")
        left = alice.next()
        assert (left["type"], left["room"], left["nick"]) == (
            "leave", "r1", "alice"), left
        wel, before, own = alice.joined()
        assert (wel["room"], own["room"]) == ("r2", "r2")
        assert ("join", "bob") in [(e["type"], e["nick"]) for e in before]
        obs.until(of_type("leave", nick="alice"))
        bob.until(of_type("join", nick="alice"))
        alice.say("now in r2")
        assert bob.until(of_type("message"))[-1]["text"] == "now in r2"
        obs.say("r1 only")  # alice is not told: her next event is bob's
        bob.say("r2 again")
        got = alice.until(of_type("message", nick="bob"))
        assert not [e for e in got if e.get("room") == "r1"], got


def test_quit_command_closes_a_websocket_1000(start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="obs") as obs:
        obs.joined()
        alice = WsChat(srv, "r1", nick="alice")
        alice.joined()
        alice.send("/quit")
        assert alice.wait_closed() == 1000
        obs.until(of_type("leave", nick="alice"))
        alice.close()


# -- error codes -----------------------------------------------------------

def test_rate_limited_beyond_the_burst(start_server):
    srv = start_server()  # rate 5/s, burst 10
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        alice.send_raw(b"".join(frame(OP_TEXT, f"flood {i}")
                                for i in range(20)))  # in one write

        def answer(e):
            return (of_type("message", nick="alice")(e)
                    or of_type("error", code="rate_limited")(e))
        alice.wait_count(answer, 20)
        events = alice.snapshot()
        sent = [e for e in events if of_type("message")(e)]
        refused = [e for e in events if of_type("error")(e)]
        assert len(sent) + len(refused) == 20, events
        assert len(sent) >= 10 and refused, (len(sent), len(refused))
        assert all(e["code"] == "rate_limited" and e["text"]
                   for e in refused), refused


def test_message_over_max_message_size_is_too_long_and_client_stays(
        start_server):
    srv = start_server(chat_max_message_size=100)
    with WsChat(srv, "r1", nick="alice") as alice, \
            WsChat(srv, "r1", nick="bob") as bob:
        alice.joined()
        bob.joined()
        alice.send("x" * 101)
        err = alice.until(lambda e: not is_event(e))[-1]
        assert err["type"] == "error" and err["code"] == "too_long", err
        alice.say("y" * 100)
        got = bob.until(of_type("message"))
        assert got[-1]["text"] == "y" * 100, got  # nothing before it


@pytest.mark.parametrize("nick", ["bad.nick", "a" * 33, "%C3%A9t%C3%A9", ""])
def test_bad_nick_in_url_gives_bad_nick_after_welcome_and_a_guest_name(
        start_server, nick):
    srv = start_server()
    with WsChat(srv, "r1", query=f"nick={nick}") as c:
        wel = c.welcome()
        assert wel["nick"].startswith("guest-"), wel
        err = c.next()
        assert err["type"] == "error" and err["code"] == "bad_nick", err
        own = c.until(of_type("join"))[-1]
        assert own["nick"] == wel["nick"]


@pytest.mark.parametrize("arg", ["bad.nick", "a" * 33, "caf\u00e9"])
def test_nick_command_with_an_invalid_name_is_bad_nick(start_server, arg):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        alice.send(f"/nick {arg}")
        err = alice.next()
        assert err["type"] == "error" and err["code"] == "bad_nick", err
        ev, before = alice.say("still alice")
        assert ev["nick"] == "alice" and before == [], before


def test_taken_nick_in_url_gives_nick_taken_and_a_guest_name(start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        with WsChat(srv, "r1", nick="ALICE") as other:
            wel = other.welcome()
            assert wel["nick"].startswith("guest-"), wel
            err = other.next()
            assert err["type"] == "error" and err["code"] == "nick_taken"
            other.until(of_type("join", nick=wel["nick"]))


def test_nick_command_to_a_taken_nick_is_nick_taken(start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice, \
            WsChat(srv, "r1", nick="bob") as bob:
        alice.joined()
        bob.joined()
        bob.send("/nick Alice")
        err = bob.until(lambda e: not is_event(e))[-1]
        assert err["type"] == "error" and err["code"] == "nick_taken", err
        ev, before = bob.say("still bob")
        assert ev["nick"] == "bob"
        assert not [e for e in before if e.get("type") == "nick"], before


@pytest.mark.parametrize("command", [
    "/bogus", "/who now", "/nick", "/nick a b", "/me", "/me   ", "/join r1",
    "/help"])
def test_unknown_or_malformed_command_is_bad_command(start_server, command):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        alice.send(command)
        err = alice.next()
        assert err["type"] == "error" and err["code"] == "bad_command", err
        _, before = alice.say("after")
        assert before == [], before  # nothing was broadcast


def test_joining_a_room_beyond_max_rooms_is_too_many_rooms_then_1013(
        start_server):
    srv = start_server(chat_max_rooms=1)
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        other = WsChat(srv, "r2", nick="bob")
        err = other.next()
        assert err["type"] == "error" and err["code"] == "too_many_rooms"
        assert other.wait_closed() == 1013
        assert other.taken() == []  # no welcome, nothing else
        other.close()
        _, before = alice.say("r1 goes on")
        assert before == [], before


def test_joining_when_max_members_are_in_is_unavailable(start_server):
    srv = start_server(chat_max_members=16)
    members = [WsChat(srv, "r1") for _ in range(16)]
    for m in members:
        m.joined()
    late = WsChat(srv, "r1")
    err = late.next()
    assert err["type"] == "error" and err["code"] == "unavailable", err
    assert late.wait_closed() == 1013
    assert late.taken() == [], "the refused client got more"
    late.close()
    members[0].close()
    members[1].until(of_type("leave"))
    again = WsChat(srv, "r1")  # a free place: it joins
    again.joined()
    for m in members[1:] + [again]:
        m.close()


# -- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("room", [
    "a.b", "a" * 33, "a%20b", "a/b", "%C3%A9", "a;b"])
def test_room_name_that_is_not_a_name_is_400_at_the_handshake(
        start_server, room):
    srv = start_server()
    ws, resp = handshake(srv, f"/chat/{room}")
    assert ws is None and resp.status == 400, resp


def test_binary_frame_closes_1003(start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice:
        alice.joined()
        alice.send_binary(b"\x00\x01 not a chat message")
        assert alice.wait_closed() == 1003


def test_invalid_utf8_text_closes_1007_and_is_not_broadcast(start_server):
    srv = start_server()
    with WsChat(srv, "r1", nick="alice") as alice, \
            WsChat(srv, "r1", nick="bob") as bob:
        alice.joined()
        bob.joined()
        bob.send(b"caf\xc3(")
        assert bob.wait_closed() == 1007
        got = alice.until(of_type("leave", nick="bob"))
        assert not [e for e in got if e.get("type") == "message"], got


def test_telnet_line_over_max_message_size_is_refused_not_broadcast(
        start_server):
    srv = start_server(telnet=True, chat_max_message_size=100)
    with WsChat(srv, "lobby", nick="watcher") as w:
        w.joined()
        # Connected after the watcher's join: that is history.
        with TelnetChat(srv) as t:
            _, nick = t.joined()
            t.send("z" * 101)
            line = t.next()
            assert line.startswith("! "), line
            t.send("z" * 100)
            t.until(message_line(nick, "z" * 100))
            got = w.until(of_type("message"))
            assert got[-1]["text"] == "z" * 100, got  # the long one: never


def test_telnet_invalid_utf8_line_is_refused_not_broadcast(start_server):
    srv = start_server(telnet=True)
    with WsChat(srv, "lobby", nick="watcher") as w:
        w.joined()
        # Connected after the watcher's join: that is history.
        with TelnetChat(srv) as t:
            _, nick = t.joined()
            t.send(b"caf\xc3(")
            line = t.next()
            assert line.startswith("! "), line
            t.send("caf\u00e9")
            t.until(message_line(nick, "caf\u00e9"))
            got = w.until(of_type("message"))
            assert got[-1]["text"] == "caf\u00e9", got


def test_telnet_negotiation_bytes_are_skipped(start_server):
    srv = start_server(telnet=True)
    with WsChat(srv, "lobby", nick="watcher") as w:
        w.joined()
        # Connected after the watcher's join: that is history.
        with TelnetChat(srv) as t:
            _, nick = t.joined()
            # WILL ECHO, DO SUPPRESS-GO-AHEAD, a terminal-type subnegotiation
            # and a NOP, in the middle of a line.
            t.send_raw(b"\xff\xfb\x01he\xff\xfd\x03l"
                       b"\xff\xfa\x18\x00xterm\xff\xf0l\xff\xf1o\r\n")
            got = w.until(of_type("message"))
            assert got[-1]["text"] == "hello" and got[-1]["nick"] == nick, got


# -- telnet and WebSocket together -----------------------------------------

def test_telnet_newcomer_gets_greeting_history_then_own_join(start_server):
    srv = start_server(telnet=True)
    with WsChat(srv, "lobby", nick="alice") as alice:
        alice.joined()
        alice.say("hi all")
        with TelnetChat(srv) as t:
            greeting = t.next()
            m = re.fullmatch(r"\* welcome to lobby, (guest-\d+) "
                             r"\(type /help for the commands\)", greeting)
            assert m, greeting
            nick = m.group(1)
            assert t.next() == "* alice joined lobby"
            assert message_line("alice", "hi all")(t.next())
            assert t.next() == f"* {nick} joined lobby"
            alice.until(of_type("join", nick=nick))


def telnet_in(server, room):
    """A telnet client moved to room (/join): return it and its nick."""
    t = TelnetChat(server)
    _, nick = t.joined()
    t.send(f"/join {room}")
    t.until(lambda line: line == f"* {nick} joined {room}")
    return t, nick


def test_telnet_and_websocket_users_in_one_room_see_each_other(
        start_server):
    srv = start_server(telnet=True)
    with WsChat(srv, "den", nick="alice") as alice:
        alice.joined()
        t, nick = telnet_in(srv, "den")
        with t:
            alice.until(of_type("join", nick=nick))
            alice.say("hello telnet")
            t.until(message_line("alice", "hello telnet"))
            t.send("hello browser")
            t.until(message_line(nick, "hello browser"))
            ev = alice.until(of_type("message"))[-1]
            assert (ev["nick"], ev["text"]) == (nick, "hello browser")


def test_who_lists_telnet_and_websocket_members(start_server):
    srv = start_server(telnet=True)
    with WsChat(srv, "den", nick="alice") as alice:
        alice.joined()
        t, nick = telnet_in(srv, "den")
        with t:
            alice.until(of_type("join", nick=nick))
            alice.send("/who")
            who = alice.until(lambda e: e.get("type") == "who")[-1]
            assert who["room"] == "den"
            assert sorted(who["nicks"]) == sorted(["alice", nick]), who
            t.send("/who")
            line = t.until(lambda s: s.startswith("* in "))[-1]
            assert line.startswith("* in den: "), line
            assert sorted(line[len("* in den: "):].split(", ")) == \
                sorted(["alice", nick]), line


def test_nick_command_renames_for_every_member(start_server):
    srv = start_server(telnet=True)
    with WsChat(srv, "den", nick="alice") as alice:
        alice.joined()
        t, nick = telnet_in(srv, "den")
        with t:
            t.send("/nick tom")
            t.until(lambda line: line == f"* {nick} is now tom")
            ev = alice.until(of_type("nick"))[-1]
            assert (ev["nick"], ev["old"], ev["room"]) == ("tom", nick,
                                                            "den"), ev
            t.send("renamed")
            ev = alice.until(of_type("message"))[-1]
            assert ev["nick"] == "tom", ev
            alice.send("/nick alicia")
            t.until(lambda line: line == "* alice is now alicia")


def test_me_action_reaches_websocket_and_telnet_members(start_server):
    srv = start_server(telnet=True)
    with WsChat(srv, "den", nick="alice") as alice:
        alice.joined()
        t, nick = telnet_in(srv, "den")
        with t:
            alice.send("/me waves")
            ev = alice.until(of_type("me"))[-1]
            assert (ev["nick"], ev["text"]) == ("alice", "waves"), ev
            line = t.until(lambda s: s.endswith("* alice waves"))[-1]
            assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] \* alice waves", line)
            t.send("/me nods")
            ev = alice.until(of_type("me", nick=nick))[-1]
            assert ev["text"] == "nods", ev


def test_telnet_help_lists_the_commands(start_server):
    srv = start_server(telnet=True)
    with TelnetChat(srv) as t:
        t.joined()
        t.send("/help")
        line = t.next()
        assert line.startswith("* ") and all(
            c in line for c in ("/nick", "/join", "/me", "/who", "/quit")), \
            line


def test_telnet_quit_closes_and_members_see_the_leave(start_server):
    srv = start_server(telnet=True)
    with WsChat(srv, "den", nick="alice") as alice:
        alice.joined()
        t, nick = telnet_in(srv, "den")
        with t:
            t.send("/quit")
            t.wait_ended()
            alice.until(of_type("leave", nick=nick))
