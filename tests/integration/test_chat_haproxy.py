"""Deployment (issue 17): pfhttpd instances sharing chat rooms through a
private Redis, behind a private HAProxy (redisutil.py) configured as the
documentation says: leastconn, HTTP health checks, timeout tunnel. What
clients see when an instance dies or stops, and when every instance is
reloaded in turn while the room is busy: new clients go to the others,
the room goes on, and a client that comes back with `since` misses
nothing and gets nothing twice."""

import os
import signal
import threading

import pytest

from chatclient import (CHAT_TIMEOUT, FAST, Closed, WsChat, brief,
                        consecutive, is_event, of_type, seqs, sequenced)
from conftest import poll
from redisutil import HAProxy, RedisServer, have_programs, wait_redis_up

pytestmark = pytest.mark.skipif(
    not have_programs(), reason="needs redis-server and haproxy "
    "(tools/install-deps test)")

LOAD_TIMEOUT = 30.0  # seconds for the load to get through a reload


@pytest.fixture
def redis(tmp_path):
    """A private redis-server on a free loopback TCP port."""
    r = RedisServer(tmp_path / "redis", tcp=True)
    r.start()
    yield r
    r.stop()


@pytest.fixture
def deployment(tmp_path, redis, start_server):
    """Factory: deployment(n, **overrides) -> (servers, haproxy): n
    instances sharing redis (no rate limit), behind haproxy. Stopped in
    the reverse order: haproxy, the instances, Redis."""
    proxies = []

    def start(n, **overrides):
        servers = [start_server(chat_redis=redis.address,
                                **{**FAST, **overrides})
                   for _ in range(n)]
        for srv in servers:
            wait_redis_up(srv)
        hap = HAProxy(tmp_path / "haproxy", servers)
        proxies.append(hap)
        return servers, hap.start()
    yield start
    for hap in proxies:
        hap.stop()


def connect_retrying(connect, timeout=CHAT_TIMEOUT):
    """connect() until it returns (a connection refused or a handshake
    answered otherwise than 101 is tried again); bounded."""
    def attempt():
        try:
            return connect()
        except (OSError, AssertionError, EOFError):
            return None
    return poll(attempt, timeout, interval=0.05, what="a connection")


class Follower(threading.Thread):
    """A member of a room, through endpoint, that comes back with since =
    the last sequence number it saw whenever the server closes it.
    .events: every sequenced event received on all its connections, in
    order; .anomalies: gap and error events."""

    def __init__(self, endpoint, room):
        super().__init__(daemon=True)
        self.endpoint, self.room = endpoint, room
        self.events, self.anomalies = [], []
        self.connections = 0
        self.failure = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        try:
            while not self.stopping.is_set():
                self._one_connection()
        except Exception as e:  # noqa: BLE001 (the test reports it)
            self.failure = e

    def _one_connection(self):
        with self.lock:
            since = self.events[-1]["seq"] if self.events else None
        c = connect_retrying(
            lambda: WsChat(self.endpoint, self.room, since=since))
        self.connections += 1
        while True:
            try:
                e = c.next(timeout=0.2)
            except Closed:
                return  # closed by the server: come back
            except AssertionError:  # nothing for now
                if self.stopping.is_set():
                    c.close()
                    return
                continue
            with self.lock:
                if is_event(e):
                    self.events.append(e)
                elif e.get("type") in ("gap", "error"):
                    self.anomalies.append(e)

    def texts(self):
        with self.lock:
            return [e["text"] for e in self.events
                    if e["type"] == "message"]

    def stop(self):
        self.stopping.set()
        self.join(CHAT_TIMEOUT)
        assert not self.is_alive(), "a follower did not stop"
        assert self.failure is None, repr(self.failure)


class Sender(threading.Thread):
    """Says m0, m1, ... in a room through endpoint, each once, waiting
    for each to come back; closed by the server, it reconnects and goes
    on with the next (an unanswered one is not sent again).
    .confirmed: the texts that came back; .unconfirmed: the others."""

    def __init__(self, endpoint, room):
        super().__init__(daemon=True)
        self.endpoint, self.room = endpoint, room
        self.confirmed, self.unconfirmed, self.errors = [], [], []
        self.failure = None
        self.stopping = threading.Event()
        self.next_text = 0
        self.pending = None  # the text sent and not answered yet

    def run(self):
        try:
            while not self.stopping.is_set():
                c = connect_retrying(
                    lambda: WsChat(self.endpoint, self.room))
                try:
                    self._talk(c)
                except OSError:
                    c.wait_ended()  # closed by the server: come back
                except AssertionError:
                    if not c.ended:
                        raise  # a wait that timed out
                if self.pending is not None:
                    self.unconfirmed.append(self.pending)
                    self.pending = None
                c.close()
        except Exception as e:  # noqa: BLE001 (the test reports it)
            self.failure = e

    def _talk(self, c):
        c.joined()
        while not self.stopping.is_set():
            text = self.pending = f"m{self.next_text}"
            self.next_text += 1
            c.send(text)
            got = c.until(lambda e: of_type("error")(e)
                          or of_type("message", text=text)(e))
            self.pending = None
            if got[-1]["type"] == "error":
                self.errors.append(got[-1])
                self.unconfirmed.append(text)
            else:
                self.confirmed.append(text)

    def wait_confirmed(self, n, timeout=LOAD_TIMEOUT):
        """Wait until n more messages than now came back."""
        target = len(self.confirmed) + n
        poll(lambda: len(self.confirmed) >= target or self.failure,
             timeout, interval=0.05, what=f"{target} messages confirmed")
        assert self.failure is None, repr(self.failure)

    def stop(self):
        self.stopping.set()
        self.join(CHAT_TIMEOUT)
        assert not self.is_alive(), "the sender did not stop"
        assert self.failure is None, repr(self.failure)


def start_load(hap, room, followers=3):
    """A sender and followers in room through hap, the load flowing."""
    fs = [Follower(hap, room) for _ in range(followers)]
    for f in fs:
        f.start()
    poll(lambda: all(f.connections for f in fs), CHAT_TIMEOUT,
         what="the followers connected")
    sender = Sender(hap, room)
    sender.start()
    sender.wait_confirmed(5)
    return sender, fs


def breaks(numbers):
    """Where numbers do not go up by one: [(one, the next)]."""
    return [(a, b) for a, b in zip(numbers, numbers[1:]) if b != a + 1]


def stop_load_and_check(sender, followers):
    """Stop the sender, let the followers see its last message, stop
    them; then each follower saw one consecutive run of sequence numbers,
    the same events under the same numbers as the others, every
    confirmed message once and no message twice."""
    sender.stop()
    assert not sender.errors, sender.errors
    last = sender.confirmed[-1]
    for f in followers:
        poll(lambda: last in f.texts() or f.failure, LOAD_TIMEOUT,
             what=f"a follower seeing {last}")
        f.stop()
    by_seq = {}
    for f in followers:
        assert not f.anomalies, brief(f.anomalies)
        got = seqs(f.events)
        assert consecutive(got), f"not consecutive: {breaks(got)}"
        for e in f.events:
            key = (e["type"], e["nick"], e.get("text"))
            assert by_seq.setdefault(e["seq"], key) == key, \
                (e["seq"], by_seq[e["seq"]], key)
        texts = f.texts()
        assert len(texts) == len(set(texts)), "a message came twice"
        missing = set(sender.confirmed) - set(texts)
        assert not missing, f"confirmed and missed: {sorted(missing)}"
    return followers


# -- HAProxy in front of pfhttpd ---------------------------------------------

def test_haproxy_checks_pass_and_websockets_spread_over_the_instances(
        tmp_path, start_server):
    servers = [start_server(), start_server()]  # no Redis: rooms apart
    hap = HAProxy(tmp_path / "haproxy", servers).start()  # checks UP
    try:
        resp = hap.get("/hello.txt")
        assert resp.status == 200 and resp.body == b"Hello, world!\n"
        clients = []
        for _ in range(4):
            c = WsChat(hap, "r1")
            c.joined()
            clients.append(c)
        assert hap.sessions() == {"s0": 2, "s1": 2}, hap.stat()
        for c in clients:
            c.close()
    finally:
        hap.stop()


# -- an instance lost --------------------------------------------------------

def test_killed_instance_new_clients_go_to_the_others_and_the_room_goes_on(
        deployment):
    servers, hap = deployment(3, workers=1)
    clients = []
    for _ in range(3):
        c = WsChat(hap, "r1")
        c.joined()
        clients.append(c)
    poll(lambda: hap.sessions() == {"s0": 1, "s1": 1, "s2": 1},
         CHAT_TIMEOUT, what="one client on each instance")
    before, _ = clients[0].say("before")
    for c in clients[1:]:
        c.until(of_type("message", text="before"))
    victim = servers[1]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait_exit()
    # Its workers follow the master (PDEATHSIG): its client is cut off.
    poll(lambda: [c for c in clients if c.ended], CHAT_TIMEOUT,
         what="the killed instance's client cut off")
    survivors = [c for c in clients if not c.ended]
    assert len(survivors) == 2
    hap.wait_status("s1", "DOWN")
    newcomers = []
    for _ in range(4):
        n = WsChat(hap, "r1")
        _, before_join, _ = n.joined()
        assert (before["seq"], "before") in [
            (e["seq"], e.get("text")) for e in before_join], \
            brief(before_join)
        newcomers.append(n)
    poll(lambda: (s := hap.sessions())["s1"] == 0
         and s["s0"] + s["s2"] == 6, CHAT_TIMEOUT,
         what="the survivors and newcomers on the other instances")
    after, _ = survivors[0].say("after")
    for c in survivors[1:] + newcomers:
        c.until(of_type("message", text="after"))
    for c in survivors + newcomers:
        got = seqs(sequenced(c.snapshot(), history=False))
        assert consecutive(got) and got[-1] == after["seq"], got
    for c in survivors + newcomers:
        c.close()


def test_stopped_instance_clients_resume_elsewhere_missing_nothing(
        deployment):
    servers, hap = deployment(2, workers=1)
    sender, followers = start_load(hap, "r1", followers=4)
    victim = servers[0]
    victim.signal(signal.SIGQUIT)  # graceful: its clients get 1001
    assert victim.wait_exit() == 0
    hap.wait_status("s0", "DOWN")
    sender.wait_confirmed(20)
    stop_load_and_check(sender, followers)
    assert any(f.connections > 1 for f in followers), \
        "no follower was on the stopped instance"


# -- a rolling reload --------------------------------------------------------

def test_rolling_reload_under_chat_load_loses_and_repeats_no_event(
        deployment):
    servers, hap = deployment(2, workers=2, chat_history=1000)
    sender, followers = start_load(hap, "r1", followers=4)
    for srv in servers:
        old = srv.workers()
        srv.signal(signal.SIGHUP)
        srv.wait_workers(2, exclude=old)
        srv.wait_workers_gone(old)
        sender.wait_confirmed(20)
    stop_load_and_check(sender, followers)
    assert all(f.connections > 1 for f in followers), \
        [f.connections for f in followers]
    assert {row["status"] for row in hap.stat().values()} == {"UP"}
