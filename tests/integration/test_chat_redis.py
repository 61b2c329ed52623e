"""Chat across instances (issue 17): several pfhttpd instances sharing
rooms through one Redis ([chat] redis), each started by the test with a
private redis-server (redisutil.py). One room in one order on every
instance, the same history and `since` anywhere, the keys in Redis, and
what the clients see when Redis dies and comes back: the `unavailable`
error, no process lost, sequence numbers that go on, no event missed or
repeated. HAProxy in front of the instances is test_chat_haproxy.py."""

import json
import os
import subprocess

import pytest

from chatclient import (CHAT_TIMEOUT, FAST, TelnetChat, WsChat, brief,
                        consecutive, of_type, seqs, sequenced, spread_ws)
from conftest import REPO, poll
from redisutil import (RedisServer, have_programs, hub_redis_ports,
                       wait_redis_up)

pytestmark = pytest.mark.skipif(
    not have_programs(), reason="needs redis-server and haproxy "
    "(tools/install-deps test)")

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))

# The hub reconnects with a back-off doubling from 100 ms to 5 s, and a
# reply may take 2 s to time out: Redis back, chat resumes within this.
RECOVERY_TIMEOUT = 20.0


@pytest.fixture
def redis(tmp_path):
    """A private redis-server on a unix socket in the test's directory."""
    r = RedisServer(tmp_path / "redis")
    r.start()
    yield r
    r.stop()


@pytest.fixture
def redis_tcp(tmp_path):
    """A private redis-server on a free loopback TCP port."""
    r = RedisServer(tmp_path / "redis", tcp=True)
    r.start()
    yield r
    r.stop()


def start_instances(start_server, redis, n=2, **overrides):
    """n instances sharing redis, no rate limit, their Redis links up;
    each remembers its first workers and hub (for
    assert_processes_kept())."""
    out = []
    for _ in range(n):
        srv = start_server(chat_redis=redis.address, **{**FAST,
                                                         **overrides})
        wait_redis_up(srv)
        srv.first_workers = set(srv.workers())
        srv.first_hub = poll(srv.hub, CHAT_TIMEOUT, what="the chat hub")
        out.append(srv)
    return out


@pytest.fixture
def instances(redis, start_server):
    """Factory: instances(n=2, **overrides) sharing the redis fixture.
    (Asking for redis first stops the instances before Redis.)"""
    return lambda n=2, **kw: start_instances(start_server, redis, n, **kw)


def assert_processes_kept(servers):
    """Every master, worker and hub the instances started still runs:
    nothing crashed (and nothing was restarted)."""
    for srv in servers:
        assert srv.proc.poll() is None, \
            f"master exited: {srv.error_log_text()[-2000:]}"
        assert set(srv.workers()) == srv.first_workers, \
            f"workers changed: {srv.error_log_text()[-2000:]}"
        assert srv.hub() == srv.first_hub, \
            f"hub changed: {srv.error_log_text()[-2000:]}"


def view(events, after=0):
    """(seq, type, nick, text) of the sequenced events with seq > after."""
    return [(e["seq"], e["type"], e["nick"], e.get("text"))
            for e in sequenced(events) if e["seq"] > after]


def live_ok(client):
    """The live events of client: consecutive (no gap, no duplicate),
    no gap event, no error; return their sequence numbers."""
    events = client.snapshot()
    bad = [e for e in events if e.get("type") in ("gap", "error")]
    assert not bad, brief(bad)
    got = seqs(sequenced(events, history=False))
    assert consecutive(got), got
    return got


def history_after_welcome(client):
    """The welcome and the history after it (up to the welcome's seq),
    without waiting for a join: (welcome, history)."""
    wel = client.welcome()
    if wel["seq"] == 0:
        return wel, []
    hist = client.until(lambda e: e.get("seq") == wel["seq"])
    return wel, hist


def send_unavailable(client, text):
    """Send text; the answer must be the error unavailable (and not the
    message); return the error."""
    client.send(text)
    got = client.until(lambda e: of_type("error")(e)
                       or (of_type("message")(e) and e["text"] == text))
    err = got[-1]
    assert err["type"] == "error" and err["code"] == "unavailable", err
    return err


def say_when_back(client, text, timeout=RECOVERY_TIMEOUT):
    """Send text until it is delivered (each refusal must be unavailable);
    return its event. Each attempt has its own text: text #N."""
    n = 0

    def attempt():
        nonlocal n
        n += 1
        probe = f"{text} #{n}"
        client.send(probe)
        got = client.until(lambda e: of_type("error")(e)
                           or of_type("message", text=probe)(e))
        if got[-1]["type"] == "error":
            assert got[-1]["code"] == "unavailable", got[-1]
            return None
        return got[-1]
    return poll(attempt, timeout, interval=0.1, what=f"{text} delivered")


# -- one room across instances -----------------------------------------------

def test_clients_on_different_instances_share_one_room_in_one_order(
        instances):
    servers = instances(2)
    clients = [c for srv in servers
               for cs in spread_ws(srv, "r1", per_worker=1).values()
               for c in cs]  # one on every worker of every instance
    for i in range(10):  # every client talks, interleaved
        for n, c in enumerate(clients):
            c.send(f"c{n} says {i}")
    total = 10 * len(clients)
    for c in clients:
        c.wait_count(of_type("message"), total)
    start = max(live_ok(c)[0] for c in clients)  # the last join
    views = [view(c.snapshot(), start - 1) for c in clients]
    assert all(v == views[0] for v in views), views
    texts = sorted(v[3] for v in views[0] if v[1] == "message")
    assert texts == sorted(f"c{n} says {i}" for i in range(10)
                           for n in range(len(clients)))
    for c in clients:
        c.close()


def test_newcomer_on_either_instance_gets_the_same_history(instances):
    a_srv, b_srv = instances(2)
    a = WsChat(a_srv, "r1", nick="alice")
    a.joined()
    b = WsChat(b_srv, "r1", nick="bob")
    b.joined()
    for i in range(4):
        a.say(f"alice {i}")
        b.say(f"bob {i}")
    last = a.until(of_type("message", text="bob 3"))[-1]["seq"]
    n1 = WsChat(a_srv, "r1", nick="n1")
    wel1, hist1, join1 = n1.joined()
    n2 = WsChat(b_srv, "r1", nick="n2")  # n1's join is in its history
    wel2, hist2, _ = n2.joined()
    assert wel1["seq"] == last and wel2["seq"] == join1["seq"] == last + 1
    assert hist2[:-1] == hist1, (hist1, hist2)
    assert view(hist2[-1:]) == [(last + 1, "join", "n1", None)]
    assert all(e["history"] for e in hist2)
    assert view(hist1) == [v for v in view(a.snapshot()) if v[0] <= last], \
        "the history is not what alice saw"
    for c in (a, b, n1, n2):
        c.close()


def test_since_resumes_on_another_instance(instances):
    a_srv, b_srv = instances(2)
    a = WsChat(a_srv, "r1", nick="alice")
    a.joined()
    c = WsChat(a_srv, "r1", nick="carol")
    c.joined()
    a.say("seen by carol")
    last = c.until(of_type("message", text="seen by carol"))[-1]["seq"]
    c.leave()
    a.until(of_type("leave", nick="carol"))
    for i in range(3):
        a.say(f"missed {i}")
    with WsChat(b_srv, "r1", nick="carol", since=last) as again:
        wel, before, own = again.joined()
        assert not [e for e in before if e["type"] == "gap"], before
        assert all(e["history"] for e in before), before
        assert seqs(before) == list(range(last + 1, wel["seq"] + 1))
        assert view(before) == [(last + 1, "leave", "carol", None)] + [
            (last + 2 + i, "message", "alice", f"missed {i}")
            for i in range(3)], brief(before)
        assert own["seq"] == wel["seq"] + 1
    a.close()


def test_events_are_stored_in_the_rooms_stream_under_their_seq(
        instances, redis):
    (srv,) = instances(1, chat_redis_prefix="dep1")
    with WsChat(srv, "r1", nick="alice") as a:
        a.joined()
        a.say("one")
        ev, _ = a.say("two")
    entries = redis.command("XRANGE", "dep1:{r1}", "-", "+")
    ids = [e[0].decode() for e in entries]
    assert ids[:3] == ["1-0", "2-0", "3-0"], ids
    fields = [dict(zip(e[1][::2], e[1][1::2])) for e in entries[:3]]
    assert [(f[b"type"], f[b"nick"], f.get(b"text")) for f in fields] == [
        (b"join", b"alice", None), (b"message", b"alice", b"one"),
        (b"message", b"alice", b"two")]
    assert int(redis.command("HGET", "dep1:{r1}:m", "s")) >= ev["seq"]
    assert redis.command("EXISTS", "dep1:epoch") == 1


def test_redis_prefix_separates_deployments_sharing_one_redis(
        redis, start_server):
    (one,) = start_instances(start_server, redis, 1,
                             chat_redis_prefix="one")
    (two,) = start_instances(start_server, redis, 1,
                             chat_redis_prefix="two")
    a = WsChat(one, "r1", nick="alice")
    a.joined()
    a.say("for one")
    b = WsChat(two, "r1", nick="bob")
    wel, before, own = b.joined()
    assert wel["seq"] == 0 and before == [], before  # a room of its own
    b.say("for two")
    a.say("one again")
    assert view(a.snapshot()) == [(1, "join", "alice", None),
                                  (2, "message", "alice", "for one"),
                                  (3, "message", "alice", "one again")]
    texts = {p: [dict(zip(e[1][::2], e[1][1::2])).get(b"text")
                 for e in redis.command("XRANGE", f"{p}:{{r1}}", "-", "+")]
             for p in ("one", "two")}
    assert texts == {"one": [None, b"for one", b"one again"],
                     "two": [None, b"for two"]}, texts
    a.close()
    b.close()


# -- Redis down --------------------------------------------------------------

def test_sender_gets_unavailable_while_redis_is_down_and_nothing_crashes(
        instances, redis):
    a_srv, b_srv = instances(2)
    a = WsChat(a_srv, "r1", nick="alice")
    a.joined()
    b = WsChat(b_srv, "r1", nick="bob")
    b.joined()
    a.say("before")
    b.until(of_type("message", text="before"))
    redis.kill()
    send_unavailable(a, "during")
    send_unavailable(b, "/me waits")
    b.send("/nick robert")
    err = b.until(of_type("error"))[-1]
    assert err["code"] == "unavailable", err
    send_unavailable(a, "during, again")  # nothing is left half-done
    assert_processes_kept([a_srv, b_srv])
    for c in (a, b):
        assert not [e for e in c.snapshot()
                    if of_type("message")(e) and e["text"].startswith(
                        "during")], brief(c.snapshot())
        c.close()


def test_telnet_sender_gets_unavailable_while_redis_is_down(
        redis, start_server):
    srv = start_server(chat_redis=redis.address, telnet=True)
    wait_redis_up(srv)
    t = TelnetChat(srv)
    t.joined()
    redis.kill()
    t.send("hello?")
    line = t.until(lambda ln: ln.startswith("! ") or "hello?" in ln)[-1]
    assert line.startswith("! unavailable"), line
    t.close()


def test_join_during_an_outage_gets_its_welcome_and_the_history(
        instances, redis):
    a_srv, b_srv = instances(2)
    a = WsChat(a_srv, "r1", nick="alice")
    a.joined()
    b = WsChat(b_srv, "r1", nick="bob")  # b's instance holds the room too
    b.joined()
    for i in range(3):
        a.say(f"said {i}")
    last = b.until(of_type("message", text="said 2"))[-1]["seq"]
    redis.kill()
    send_unavailable(a, "probe")  # the outage is noticed
    for srv, nick in ((a_srv, "n1"), (b_srv, "n2")):
        with WsChat(srv, "r1", nick=nick) as n:
            wel, hist = history_after_welcome(n)
            assert wel["nick"] == nick and wel["seq"] == last, wel
            assert all(e["history"] for e in hist), hist
            assert view(hist) == view(a.snapshot()), brief(hist)
    assert_processes_kept([a_srv, b_srv])
    a.close()
    b.close()


# -- Redis back --------------------------------------------------------------

def test_chat_resumes_after_redis_restarts_empty_and_seq_goes_on(
        instances, redis):
    a_srv, b_srv = instances(2)
    a = WsChat(a_srv, "r1", nick="alice")
    a.joined()
    b = WsChat(b_srv, "r1", nick="bob")
    b.joined()
    before, _ = a.say("before")
    b.until(of_type("message", text="before"))
    redis.kill()
    send_unavailable(a, "during")
    redis.start()  # the same socket, an empty data set
    back = say_when_back(a, "back")
    assert back["seq"] == before["seq"] + 1, (before, back)
    b.until(of_type("message", text=back["text"]))
    reply, _ = b.say("welcome back")
    a.until(of_type("message", text="welcome back"))
    assert reply["seq"] == back["seq"] + 1
    for c in (a, b):
        live_seqs = seqs(sequenced(c.snapshot(), history=False))
        assert consecutive(live_seqs), live_seqs
    assert view(a.snapshot(), before["seq"] - 1) == \
        view(b.snapshot(), before["seq"] - 1)
    assert int(redis.command("HGET", "pfhttpd:{r1}:m", "s")) \
        == reply["seq"], "the room was not re-seeded from its last seq"
    assert_processes_kept([a_srv, b_srv])
    a.close()
    b.close()


def test_instance_cut_off_from_redis_catches_up_without_loss_or_repeat(
        redis_tcp, start_server):
    a_srv, b_srv = start_instances(start_server, redis_tcp, 2)
    a = WsChat(a_srv, "r1", nick="alice")
    a.joined()
    b = WsChat(b_srv, "r1", nick="bob")
    b.joined()
    a.until(of_type("join", nick="bob"))
    first, _ = a.say("before")
    b.until(of_type("message", text="before"))
    ports = hub_redis_ports(b_srv.first_hub, redis_tcp)
    assert ports, "bob's hub holds no connection to Redis"
    for port in ports:  # cut b's hub off: it must reconnect
        redis_tcp.command("CLIENT", "KILL", "ADDR", f"127.0.0.1:{port}")
    n = 20
    for i in range(n):  # these reach Redis while b's hub is away
        a.say(f"while away {i}")
    b.wait_count(lambda e: of_type("message")(e)
                 and e["text"].startswith("while away"), n,
                 timeout=RECOVERY_TIMEOUT)
    b.say("caught up")
    a.until(of_type("message", text="caught up"))
    assert view(b.snapshot(), first["seq"] - 1) == \
        view(a.snapshot(), first["seq"] - 1)
    texts = [e["text"] for e in b.snapshot() if of_type("message")(e)]
    assert texts == ["before"] + [f"while away {i}" for i in range(n)] + \
        ["caught up"], texts
    live_ok(b)
    again = hub_redis_ports(b_srv.first_hub, redis_tcp)
    assert again and not set(again) & set(ports), \
        f"bob's hub was not cut off: {ports} then {again}"
    assert_processes_kept([a_srv, b_srv])
    a.close()
    b.close()


# -- what statsdump shows ------------------------------------------------------

def redis_report(srv):
    """The redis object of statsdump --json on srv's segment."""
    out = subprocess.run([STATSDUMP, "-s", str(srv.shm_path), "--json"],
                         capture_output=True, text=True, timeout=10,
                         check=True).stdout
    return json.loads(out)["chat"]["redis"]


def test_statsdump_shows_the_redis_link_up_then_down(instances, redis):
    a_srv, b_srv = instances(2)
    a = WsChat(a_srv, "r1", nick="alice")
    a.joined()
    b = WsChat(b_srv, "r1", nick="bob")
    b.joined()
    a.say("counted")
    b.until(of_type("message", text="counted"))
    up = poll(lambda: (r := redis_report(a_srv))["published"] >= 2
              and r["applied"] >= 3 and r, CHAT_TIMEOUT,
              what="a's publishes counted")
    assert up["state"] == "up" and up["connects"] >= 2, up
    assert up["inflight"] == 0 and up["unavailable"] == 0, up
    assert up["last_event_seconds"] is not None, up
    redis.kill()
    send_unavailable(a, "refused")
    down = poll(lambda: (r := redis_report(a_srv))["state"] == "down"
                and r, CHAT_TIMEOUT, what="a's link down")
    assert down["failures"] >= 1 and down["unavailable"] >= 1, down
    assert redis_report(b_srv)["state"] in ("down", "connecting")
    a.close()
    b.close()


# -- what someone else wrote into Redis ----------------------------------------

GHOST = "0000000000000001:0:0:0:0:0"  # the origin of an entry made by hand


def ghost_entry(seq, text):
    """XADD arguments of a message entry with ID seq, from no instance."""
    return [f"{seq}-0", "type", "message", "nick", "ghost", "text", text,
            "time", "1", "origin", GHOST]


@pytest.mark.parametrize("value", ["garbage", "1", "-5", "1e300"])
def test_bad_number_in_a_rooms_hash_is_set_right_and_the_link_stays_up(
        instances, redis, value):
    (srv,) = instances(1)
    a = WsChat(srv, "r1", nick="alice")
    a.joined()
    a.say("one")
    a.say("two")
    failures = redis_report(srv)["failures"]
    redis.command("HSET", "pfhttpd:{r1}:m", "s", value)
    ev, _ = a.say("three")
    assert ev["seq"] == 4, ev  # after join, one, two: the stream's top
    assert a.say("four")[0]["seq"] == 5
    assert redis.command("HGET", "pfhttpd:{r1}:m", "s") == b"5"
    assert redis_report(srv)["failures"] == failures
    live_ok(a)
    a.close()


def test_entry_past_the_sequence_bound_breaks_only_its_room(
        redis, start_server):
    redis.command("XADD", "pfhttpd:{evil}",
                  *ghost_entry(18446744073709551615, "boom"))
    (srv,) = start_instances(start_server, redis, 1, workers=1)
    victim = WsChat(srv, "evil", nick="victim")
    victim.welcome()  # welcomed, as in an outage: not numbered
    send_unavailable(victim, "refused")
    other = WsChat(srv, "calm", nick="other")  # the same worker
    other.joined()
    assert other.say("still fine")[0]["seq"] == 2
    assert_processes_kept([srv])
    assert "the room is not read" in srv.error_log_text()
    victim.close()
    other.close()


def hub_requests(srv):
    """Requests srv's hub has taken, from statsdump --json."""
    out = subprocess.run([STATSDUMP, "-s", str(srv.shm_path), "--json"],
                         capture_output=True, text=True, timeout=10,
                         check=True).stdout
    return json.loads(out)["chat"]["hub_requests"]


def test_history_load_of_a_room_is_not_applied_to_the_room_taking_its_entry(
        redis, start_server):
    for i in range(1, 6):
        redis.command("XADD", "pfhttpd:{X}", *ghost_entry(i, f"X {i}"))
    (srv,) = start_instances(start_server, redis, 1, telnet=True,
                             workers=1, chat_max_rooms=3)
    keep = WsChat(srv, "P", nick="keeper")
    keep.joined()
    t = TelnetChat(srv)
    _, nick = t.joined()
    t.send("/join P")
    t.until(lambda ln: ln == f"* {nick} joined P")
    # X's load waits in a paused Redis while X empties and its entry is
    # taken by W, whose own load comes after it on the same connection.
    redis.command("CLIENT", "PAUSE", "2000", "ALL")
    taken = hub_requests(srv)
    t.send("/join X")
    t.send("/join Q")
    poll(lambda: hub_requests(srv) >= taken + 2, CHAT_TIMEOUT,
         what="the hub took both joins")
    w = WsChat(srv, "W", nick="newcomer")
    wel = w.welcome()
    joined = w.until(of_type("join", nick="newcomer"))
    assert wel["seq"] == 0 and joined[-1]["seq"] == 1, brief(joined)
    assert not [e for e in w.snapshot() if (e.get("text") or "").startswith(
        "X ")], brief(w.snapshot())
    stream = redis.command("XRANGE", "pfhttpd:{W}", "-", "+")
    assert [e[0] for e in stream] == [b"1-0"], stream
    for c in (keep, t, w):
        c.close()
