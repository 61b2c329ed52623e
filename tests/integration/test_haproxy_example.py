"""etc/haproxy.cfg.example, the HAProxy configuration the README points
operators to: it parses (haproxy -c) once real addresses are in it, and,
in front of two pfhttpd instances, does what its comments promise:
WebSocket connections spread over the instances, a drained instance gets
no new connection, its WebSockets get close 1001 when it stops, a
graceful stop without a drain loses no request, and a reload (SIGHUP)
fails no check and loses no request.

Each live test runs haproxy -db (foreground) on the example with a free
loopback port in `bind`, the instances' addresses in the `server` lines,
its stats socket in tmp_path and, unless run as root, no chroot or user
switch. Each instance serves a document root of its own, whose id.txt
names it.
"""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (IO_TIMEOUT, REPO, START_TIMEOUT, STOP_TIMEOUT, Reader,
                      free_port, poll, request_bytes)
from wsclient import OP_TEXT, connect

EXAMPLE = REPO / "etc" / "haproxy.cfg.example"
CHECK_TIMEOUT = 30  # seconds for haproxy -c
# The example marks a server DOWN after 2 failed checks 250 ms apart, and
# UP after 2 passed ones 250 ms apart (1 s apart when DOWN).
STATE_TIMEOUT = 10
# The example's maxconn needs about twice as many descriptors, more than a
# test machine's hard limit may allow (HAProxy then refuses to start).
LIVE_MAXCONN = 1000

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy is not installed")


def substitute(text, pattern, repl):
    """text with the one match of pattern (multiline) replaced by repl; the
    test fails if the example no longer has exactly one."""
    new, n = re.subn(pattern, repl, text, flags=re.M)
    assert n == 1, f"{pattern!r} matched {n} times in the example"
    return new


def example_config(port, servers, stats_socket, live=False):
    """The example with bind on 127.0.0.1:port, one server line per
    (name, port) in servers and the stats socket at stats_socket. To run
    it (live): a maxconn of LIVE_MAXCONN, and, unless run as root, no
    chroot, user or group."""
    text = EXAMPLE.read_text()
    if live:
        text = substitute(text, r"^    maxconn \d+$",
                          f"    maxconn {LIVE_MAXCONN}")
    if live and os.geteuid() != 0:
        for key in ("chroot", "user", "group"):
            text = substitute(text, rf"^    {key} .*\n", "")
    text = substitute(text, r"^    bind :80$", f"    bind 127.0.0.1:{port}")
    lines = "".join(f"    server {name} 127.0.0.1:{p}\n"
                    for name, p in servers)
    text = substitute(text, r"^(    server \w+ \S+\n)+", lines)
    text = substitute(text, r"(stats socket )/run/haproxy/admin\.sock",
                      rf"\g<1>{stats_socket}")
    return text


class Haproxy:
    """haproxy -db on the example, in front of servers."""

    def __init__(self, tmp, servers):
        self.tmp = tmp
        self.servers = servers  # name -> Server
        self.sock_path = tmp / "haproxy.sock"
        self.conf = tmp / "haproxy.cfg"
        self.log = tmp / "haproxy.log"
        self.proc = None
        self.port = None

    def start(self):
        """Start it on a free port (another, if one is taken meanwhile);
        wait until every server is UP."""
        backends = [(n, s.port) for n, s in self.servers.items()]
        for _attempt in range(5):
            self.port = free_port()
            self.conf.write_text(example_config(
                self.port, backends, self.sock_path, live=True))
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(
                    ["haproxy", "-db", "-f", str(self.conf)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True)
            if self._wait_up():
                return self
            if "Address already in use" not in self.log_text():
                raise AssertionError(f"haproxy exited with "
                                     f"{self.proc.returncode}: "
                                     f"{self.log_text()}")
        raise AssertionError("no free port after 5 attempts")

    def _wait_up(self):
        """Poll until every server is UP; False if haproxy exited."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if all(s == "UP" for s in self.states().values()):
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"servers not UP after {START_TIMEOUT}s: "
                             f"{self.log_text()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_text(self):
        return self.log.read_text(errors="replace")

    def command(self, line):
        """Send one command to the stats socket; return its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(IO_TIMEOUT)
            s.connect(str(self.sock_path))
            s.sendall(line.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def stat(self):
        """show stat of backend pfhttpd: server name -> its fields."""
        lines = self.command("show stat").splitlines()
        names = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(names, line.split(","))) for line in lines[1:]
                if line]
        return {r["svname"]: r for r in rows if r["pxname"] == "pfhttpd"
                and r["svname"] in self.servers}

    def states(self):
        """Server name -> its status (UP, DOWN, DRAIN, ...)."""
        return {n: r["status"] for n, r in self.stat().items()}

    def connect(self, timeout=IO_TIMEOUT):
        """A connection to the frontend (for wsclient.connect)."""
        return socket.create_connection(("127.0.0.1", self.port), timeout)

    def get(self, path):
        """GET path on a new connection through HAProxy: the response."""
        with self.connect() as s:
            s.sendall(request_bytes(path))
            return Reader(s, IO_TIMEOUT).read_response()


@pytest.fixture
def instances(start_server, tmp_path):
    """Two pfhttpd instances, a and b, with a worker each, each serving a
    root whose id.txt names it."""
    out = {}
    for name in ("a", "b"):
        root = tmp_path / f"root-{name}"
        root.mkdir()
        (root / "index.html").write_text(f"<title>{name}</title>\n")
        (root / "id.txt").write_text(name)
        out[name] = start_server(root=str(root), workers=1,
                                 shutdown_timeout="10s")
    return out


@pytest.fixture
def haproxy(instances, tmp_path):
    proxy = Haproxy(tmp_path, instances)
    yield proxy.start()
    proxy.stop()


def echo_ok(ws, text):
    """Whether ws echoes text."""
    ws.send_message(OP_TEXT, text)
    return ws.recv_message() == (OP_TEXT, text.encode())


def test_example_parses_with_real_addresses(tmp_path):
    conf = tmp_path / "haproxy.cfg"
    conf.write_text(example_config(
        8080, [("a", 18101), ("b", 18102)], tmp_path / "admin.sock"))
    check = subprocess.run(["haproxy", "-c", "-f", str(conf)],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=CHECK_TIMEOUT)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Configuration file is valid" in check.stdout + check.stderr


def test_example_spreads_websockets_over_the_instances(haproxy):
    conns = [connect(haproxy, "/echo") for _ in range(4)]
    try:
        assert all(echo_ok(ws, f"hello {i}") for i, ws in enumerate(conns))
        # leastconn: each new connection goes where fewest are open.
        assert {n: r["scur"] for n, r in haproxy.stat().items()} == \
            {"a": "2", "b": "2"}
    finally:
        for ws in conns:
            ws.close()


def test_drained_instance_gets_no_new_connection_and_stops_with_1001(
        haproxy, instances):
    conns = [connect(haproxy, "/echo") for _ in range(2)]  # one each
    try:
        assert haproxy.command("set server pfhttpd/a state drain") \
            .strip() == ""
        assert haproxy.states() == {"a": "DRAIN", "b": "UP"}
        bodies = {haproxy.get("/id.txt").body for _ in range(6)}
        assert bodies == {b"b"}
        assert all(echo_ok(ws, "still here") for ws in conns)
        instances["a"].signal(signal.SIGQUIT)
        # The one on a gets close 1001; the one on b echoes on.
        ready = select.select([ws.sock for ws in conns], [], [],
                              IO_TIMEOUT)[0]
        assert len(ready) == 1, "no close, or both closed"
        on_a, on_b = sorted(conns, key=lambda ws: ws.sock not in ready)
        on_a.expect_close(1001)
        assert echo_ok(on_b, "after the stop")
        assert instances["a"].wait_exit() == 0
        assert haproxy.get("/id.txt").body == b"b"
    finally:
        for ws in conns:
            ws.close()


def test_graceful_stop_without_drain_loses_no_request(haproxy, instances):
    statuses, stop = [], threading.Event()

    def client():
        while not stop.is_set():
            statuses.append(haproxy.get("/id.txt").status)

    t = threading.Thread(target=client)
    t.start()
    try:
        poll(lambda: len(statuses) >= 20, IO_TIMEOUT,
             what="requests before the stop")
        instances["a"].signal(signal.SIGQUIT)
        assert instances["a"].wait_exit() == 0
        poll(lambda: haproxy.states()["a"] == "DOWN", STATE_TIMEOUT,
             what="a marked DOWN")
        n = len(statuses)
        poll(lambda: len(statuses) >= n + 20, IO_TIMEOUT,
             what="requests after a is DOWN")
    finally:
        stop.set()
        t.join(IO_TIMEOUT)
    assert set(statuses) == {200}, statuses


def test_reload_fails_no_check_and_loses_no_request(haproxy, instances):
    statuses, stop = [], threading.Event()

    def client():
        while not stop.is_set():
            statuses.append(haproxy.get("/id.txt").status)

    a = instances["a"]
    old = a.workers()
    t = threading.Thread(target=client)
    t.start()
    try:
        poll(lambda: len(statuses) >= 20, IO_TIMEOUT,
             what="requests before the reload")
        a.signal(signal.SIGHUP)
        a.wait_workers(1, exclude=old)
        a.wait_workers_gone(old)
        n = len(statuses)
        poll(lambda: len(statuses) >= n + 20, IO_TIMEOUT,
             what="requests after the reload")
    finally:
        stop.set()
        t.join(IO_TIMEOUT)
    assert set(statuses) == {200}, statuses
    assert haproxy.stat()["a"]["chkfail"] == "0"
