"""Hostile clients that attack with time and numbers rather than bytes:
slowloris (hundreds of connections dripping a header that never ends),
clients that never read their responses, and connection floods past
max_connections and past the daemon's descriptor limit.

Limits are set explicitly (max_connections, RLIMIT_NOFILE of the daemon)
rather than inherited from whatever shell runs the tests.
"""

import selectors
import threading
import time

import pytest

from conftest import (BIG_SIZE, DOCROOT_FILES, Reader, accept_backlog,
                      child_pids, fd_count, open_connections, poll,
                      proc_title, request_bytes)
from hostile_util import (active_by_worker, cpu_share, open_nonblocking,
                          timed_get)

SLOWLORIS = 300
HEADER_TIMEOUT = 3.0  # seconds, as configured below
DRIP = b"X-Drip: slowly\r\n"  # never an empty line: the header never ends


class Drippers:
    """n connections that each send start, then one byte of drip every
    DRIP_EVERY seconds (drip repeats), from one thread, until the server
    closes them. Records when each was opened and saw the server close,
    and what it received."""

    DRIP_EVERY = 0.1

    def __init__(self, server, n,
                 start=b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n",
                 drip=DRIP):
        self.drip = drip
        self.socks = []
        self.opened = []
        for _ in range(n):
            s = server.connect()
            s.sendall(start)
            s.setblocking(False)
            self.socks.append(s)
            self.opened.append(time.monotonic())
        self.closed = [None] * n
        self.received = [bytearray() for _ in range(n)]
        self.sent = [0] * n
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def _closed(self, i):
        if self.closed[i] is None:
            self.closed[i] = time.monotonic()
            self.sel.unregister(self.socks[i])

    def run(self):
        self.sel = selectors.DefaultSelector()
        for i, s in enumerate(self.socks):
            self.sel.register(s, selectors.EVENT_READ, i)
        next_drip = time.monotonic()
        while not self.stop.is_set() and None in self.closed:
            for key, _ in self.sel.select(0.02):
                i = key.data
                try:
                    data = self.socks[i].recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                if data:
                    self.received[i] += data
                else:
                    self._closed(i)
            if time.monotonic() < next_drip:
                continue
            next_drip += self.DRIP_EVERY
            for i, s in enumerate(self.socks):
                if self.closed[i] is not None:
                    continue
                try:
                    k = self.sent[i] % len(self.drip)
                    s.send(self.drip[k:k + 1])
                    self.sent[i] += 1
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    self._closed(i)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


def server_connections(server):
    """Connections the workers hold: (from /proc, from the shm counters)."""
    return (sum(open_connections(p) for p in server.workers()),
            sum(active_by_worker(server).values()))


def test_slowloris_300_connections_leave_fresh_clients_served_and_are_reaped(
        start_server):
    server = start_server(workers=2, max_connections=400,
                          rlimit_nofile=1024,
                          header_timeout=f"{HEADER_TIMEOUT:g}s")
    poll(lambda: server_connections(server) == (0, 0), 5,
         what="the readiness probe to be closed")
    drip = Drippers(server, SLOWLORIS)
    try:
        poll(lambda: server_connections(server)[0] == SLOWLORIS, 5,
             what=f"the workers to hold {SLOWLORIS} connections")
        times = []
        for _ in range(5):
            resp, took = timed_get(server)
            assert resp.status == 200
            assert resp.body == DOCROOT_FILES["hello.txt"]
            times.append(took)
        held = server_connections(server)[0]
        print(f"\nfresh client during slowloris ({held} held): "
              f"max {max(times) * 1000:.1f} ms, "
              f"median {sorted(times)[2] * 1000:.1f} ms")
        assert max(times) < 1.0, times
        assert all(c is None for c in drip.closed), "reaped too early"
        # (The last fresh connection may not be closed yet: at least.)
        assert held >= SLOWLORIS, "the drippers were reaped during the test"

        # header_timeout, counted from accept and not reset by progress,
        # reaps every one of them; none gets a real answer.
        poll(lambda: None not in drip.closed, HEADER_TIMEOUT + 8,
             what="every dripping connection to be closed by the server")
        poll(lambda: server_connections(server) == (0, 0), 5,
             what="the workers to hold no connection")
        lived = [c - o for c, o in zip(drip.closed, drip.opened)]
        print(f"dripping connections reaped after {min(lived):.2f}s to "
              f"{max(lived):.2f}s (header_timeout {HEADER_TIMEOUT:g}s)")
        assert min(lived) >= HEADER_TIMEOUT - 0.1, min(lived)
        for got in drip.received:
            assert got == b"" or got.startswith(b"HTTP/1.1 408 "), got[:80]
        assert sum(drip.sent) > SLOWLORIS, "the drippers did not drip"
    finally:
        drip.close()
    assert server.get("/hello.txt").status == 200


BODY_DRIPS = {
    # A declared length far beyond what arrives: one byte at a time.
    "content_length": (b"Content-Length: 1000000\r\n", b"x"),
    # An endless chunked body of one-byte chunks, each byte on its own.
    "chunked": (b"Transfer-Encoding: chunked\r\n", b"1\r\nx\r\n"),
}


@pytest.mark.parametrize("framing", list(BODY_DRIPS))
def test_bodies_dripped_after_the_response_are_cut_off_by_header_timeout(
        start_server, framing):
    # The slowloris of request bodies: the request is answered (405) and
    # its body trickles in, a byte well within header_timeout of the last,
    # for ever. Discarding it would hold the connection without end:
    # once the response is sent, the rest of the body has header_timeout.
    server = start_server(workers=2, max_connections=400, rlimit_nofile=1024,
                          header_timeout=f"{HEADER_TIMEOUT:g}s")
    poll(lambda: server_connections(server) == (0, 0), 5,
         what="the readiness probe to be closed")
    field, drip = BODY_DRIPS[framing]
    start = (b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\n" + field
             + b"\r\n")
    drippers = Drippers(server, 100, start=start, drip=drip)
    try:
        poll(lambda: all(r.startswith(b"HTTP/1.1 405 ")
                         for r in drippers.received), 5,
             what="every dripping request to be answered")
        # A byte every 0.1 s, for longer than header_timeout plus the
        # lingering close (2 s), and no longer than that again.
        poll(lambda: None not in drippers.closed, HEADER_TIMEOUT + 6,
             what="every dripping body to be cut off")
        poll(lambda: server_connections(server) == (0, 0), 5,
             what="the workers to hold no connection")
        lived = [c - o for c, o in zip(drippers.closed, drippers.opened)]
        print(f"\n100 {framing} body drippers cut off after "
              f"{min(lived):.2f}s to {max(lived):.2f}s "
              f"(header_timeout {HEADER_TIMEOUT:g}s)")
        assert min(lived) >= HEADER_TIMEOUT - 0.1, min(lived)
        assert min(drippers.sent) >= 10, "the drippers did not drip"
        for got in drippers.received:
            assert got.count(b"HTTP/1.1 ") == 1, got[:200]
    finally:
        drippers.close()
    assert server.get("/hello.txt").status == 200


def test_clients_that_never_read_are_cut_off_by_send_timeout(start_server):
    server = start_server(workers=1, send_timeout="1s")
    worker = server.workers()[0]
    poll(lambda: open_connections(worker) == 0, 5,
         what="the readiness probe to be closed")
    t0 = time.monotonic()
    socks = []
    for _ in range(20):
        s = server.connect(rcvbuf=32 * 1024)
        # Three pipelined downloads of 64 MiB; the client reads none.
        s.sendall(request_bytes("/big.bin") * 3)
        socks.append(s)
    poll(lambda: open_connections(worker) == 20, 5,
         what="the worker to hold the 20 connections")
    resp, took = timed_get(server)
    assert resp.status == 200 and took < 1.0, took
    poll(lambda: open_connections(worker) == 0, 15,
         what="the worker to close every stalled connection")
    cut = time.monotonic() - t0
    poll(lambda: active_by_worker(server) == {worker: 0}, 5,
         what="the worker's connections_active to return to 0")
    print(f"\n20 non-reading clients cut off within {cut:.2f}s "
          f"(send_timeout 1s); fresh client meanwhile: {took * 1000:.1f} ms")
    assert cut >= 0.9
    for s in socks:
        data = Reader(s, timeout=30).read_until_close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head[:80]
        assert 0 < len(body) < BIG_SIZE
        s.close()
    assert server.workers() == [worker]


def flood_then_recover(server, flood, settled, what):
    """Hold flood connections until settled() holds, measure the CPU use
    of every process of the daemon over 2 s, then close the flood and
    check that service resumes. Return ({pid: (title, CPU share)}, ms to
    serve a fresh client after the flood)."""
    workers = sorted(server.workers())
    pids = [server.pid] + child_pids(server.pid)  # master, logger, workers
    socks = open_nonblocking(server.port, flood)
    try:
        poll(settled, 10, what=what)
        share = cpu_share(pids, 2.0)
        assert settled(), "the flood did not hold during the measurement"
    finally:
        for s in socks:
            s.close()
    # The queued connections are accepted (and found closed) in turn.
    poll(lambda: accept_backlog(server.port) == 0
         and sum(open_connections(p) for p in workers) == 0, 15,
         what="the workers to drain the accept queue")
    resp, took = timed_get(server)
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]
    assert sorted(server.workers()) == workers, "a worker was replaced"
    return {p: (proc_title(p), share[p]) for p in pids}, took * 1000


def report_cpu(what, share, fresh_ms):
    """Print the CPU use during a flood; assert that nothing spins."""
    print(f"\nCPU during {what}: " + ", ".join(
        f"{title.split(': ')[-1]} {s * 100:.1f}%"
        for title, s in share.values())
        + f"; fresh client after it: {fresh_ms:.1f} ms")
    assert all(s < 0.05 for _, s in share.values()), share


def test_flood_past_max_connections_pauses_accept_without_spinning(
        start_server):
    server = start_server(workers=2, max_connections=50, rlimit_nofile=1024,
                          header_timeout="60s")
    workers = server.workers()
    poll(lambda: sum(open_connections(p) for p in workers) == 0, 5,
         what="the readiness probe to be closed")

    def settled():
        held = [open_connections(p) for p in workers]
        return held == [50, 50] and accept_backlog(server.port) == 300

    share, fresh_ms = flood_then_recover(
        server, 400, settled, "2 x 50 connections held and 300 queued")
    report_cpu("a flood past max_connections", share, fresh_ms)


def test_flood_past_the_descriptor_limit_pauses_accept_without_spinning(
        start_server):
    nofile = 64
    server = start_server(workers=2, max_connections=1000,
                          rlimit_nofile=nofile, header_timeout="60s")
    workers = server.workers()
    poll(lambda: sum(open_connections(p) for p in workers) == 0, 5,
         what="the readiness probe to be closed")

    def settled():
        return (all(fd_count(p) == nofile for p in workers)
                and "accept: pausing" in server.error_log_text())

    share, fresh_ms = flood_then_recover(
        server, 400, settled, "every worker to run out of descriptors")
    report_cpu(f"a flood past RLIMIT_NOFILE={nofile}", share, fresh_ms)
    # The operator is told why, once, at start.
    assert "RLIMIT_NOFILE" in server.error_log_text()
    assert server.proc.poll() is None


def soft_nofile(pid):
    """The soft RLIMIT_NOFILE of pid."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError(f"no limits for {pid}")


def test_max_connections_is_reachable_when_the_hard_descriptor_limit_allows(
        start_server):
    # A soft limit of 64 (a shell's 1024, in real life) under a higher hard
    # limit: each worker raises its soft limit to what max_connections
    # needs (a socket and a file being sent per connection, and a
    # reserve), so that all 200 connections are held, not 50-odd.
    server = start_server(workers=1, max_connections=200,
                          rlimit_nofile=(64, 4096), header_timeout="60s")
    worker = server.workers()[0]
    assert soft_nofile(server.pid) == 64
    assert 2 * 200 <= soft_nofile(worker) <= 4096
    poll(lambda: open_connections(worker) == 0, 5,
         what="the readiness probe to be closed")
    socks = open_nonblocking(server.port, 300)
    try:
        poll(lambda: open_connections(worker) == 200
             and accept_backlog(server.port) == 100, 10,
             what="the worker to hold max_connections (200)")
    finally:
        for s in socks:
            s.close()
    poll(lambda: open_connections(worker) == 0, 15,
         what="the worker to close the flood")
    assert "RLIMIT_NOFILE" not in server.error_log_text()
