"""Process model: titles, worker count, respawn, fast and graceful stops."""

import hashlib
import os
import signal
import time

import pytest

from conftest import (BIG_SIZE, Reader, connect_refused, pid_alive, poll,
                      proc_title, request_bytes, request_read_by_server)


def get_ok(server, path="/hello.txt"):
    r = server.get(path)
    assert r.status == 200, r
    return r


def start_download(server, path="/big.bin", partial=1 << 20):
    """Request path, read its head and about partial body bytes.

    Return (sock, reader, hasher, bytes_read); the response stays in flight.
    """
    sock = server.connect(rcvbuf=256 * 1024)
    sock.sendall(request_bytes(path))
    reader = Reader(sock)
    head = reader.read_head()
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert f"\r\nContent-Length: {BIG_SIZE}\r\n".encode() in head + b"\r\n"
    deadline = time.monotonic() + 10
    while len(reader.buf) < partial:
        assert reader.fill(deadline), "EOF early in the body"
    body = reader.take(len(reader.buf))
    hasher = hashlib.sha256(body)
    got = len(body)
    return sock, reader, hasher, got


def finish_download(sock, hasher, got, timeout=30):
    """Read the rest until EOF or BIG_SIZE bytes; return (got, sha256)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while got < BIG_SIZE and time.monotonic() < deadline:
        try:
            data = sock.recv(1 << 20)
        except ConnectionResetError:
            break
        if not data:
            break
        hasher.update(data)
        got += len(data)
    return got, hasher.hexdigest()


def idle_keepalive_connection(server):
    """A connection that has had one response and now waits, idle."""
    sock = server.connect()
    sock.sendall(request_bytes("/hello.txt"))
    r = Reader(sock).read_response()
    assert r.status == 200 and r.header("Connection") is None, r
    return sock


def test_process_titles_show_master_and_numbered_workers(server):
    assert proc_title(server.pid) == "pfhttpd: master"
    titles = sorted(proc_title(p) for p in server.workers())
    assert titles == ["pfhttpd: worker 1", "pfhttpd: worker 2"]


def test_workers_3_gives_3_worker_processes(start_server):
    server = start_server(workers=3)
    titles = sorted(proc_title(p) for p in server.workers())
    assert titles == ["pfhttpd: worker 1", "pfhttpd: worker 2",
                      "pfhttpd: worker 3"]


def test_killed_worker_is_respawned_and_serving_continues(start_server):
    # One worker: only the respawned one can answer afterwards.
    server = start_server(workers=1)
    victim = server.workers()[0]
    get_ok(server)
    os.kill(victim, signal.SIGKILL)
    new = server.wait_workers(1, exclude=[victim])[0]
    assert proc_title(new) == "pfhttpd: worker 1"
    for _ in range(5):
        get_ok(server)
    assert server.proc.poll() is None
    assert "killed by signal 9" in server.error_log_text()


def process_age(pid):
    """Seconds since pid started."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    start = int(stat[stat.rindex(")") + 2:].split()[19])  # field 22
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start / os.sysconf("SC_CLK_TCK")


def test_worker_killed_after_a_while_is_respawned_at_once(start_server):
    server = start_server(workers=1)
    victim = server.workers()[0]
    # Past the master's "died soon after start" window (1 s): no back-off.
    poll(lambda: process_age(victim) > 1.5, 5, interval=0.1,
         what="the worker to age")
    os.kill(victim, signal.SIGKILL)
    server.wait_workers(1, exclude=[victim])
    for _ in range(5):
        get_ok(server)
    log = server.error_log_text()
    assert "killed by signal 9" in log
    assert "soon after start" not in log


def test_each_killed_worker_of_two_is_respawned(server):
    before = server.workers()
    for victim in before:
        os.kill(victim, signal.SIGKILL)
    after = server.wait_workers(2, exclude=before)
    assert sorted(proc_title(p) for p in after) == [
        "pfhttpd: worker 1", "pfhttpd: worker 2"]
    for _ in range(5):
        get_ok(server)


def test_respawned_worker_drains_on_sigquit(start_server, big_sha256):
    server = start_server(workers=1, shutdown_timeout="60s")
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)
    server.wait_workers(1, exclude=[victim])
    sock, _, hasher, got = start_download(server)
    idle = idle_keepalive_connection(server)
    server.signal(signal.SIGQUIT)
    assert Reader(idle).at_eof(5), "idle connection not closed"
    got, digest = finish_download(sock, hasher, got)
    assert (got, digest) == (BIG_SIZE, big_sha256)
    sock.close()
    idle.close()
    assert server.wait_exit(10) == 0
    assert "killing" not in server.error_log_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_fast_stop_signal_stops_all_processes_promptly_and_removes_pid_file(
        start_server, sig):
    server = start_server()
    workers = server.workers()
    # A download in flight and an idle connection do not delay a fast stop.
    dl, _, _, _ = start_download(server)
    idle = idle_keepalive_connection(server)
    t0 = time.monotonic()
    server.signal(sig)
    rc = server.wait_exit(10)
    elapsed = time.monotonic() - t0
    assert rc == 0, server.error_log_text()
    assert elapsed < 4, f"took {elapsed:.1f}s"  # the SIGKILL fallback is 5s
    assert "killing" not in server.error_log_text()
    server.wait_workers_gone(workers, timeout=2)
    assert not server.pid_file.exists()
    dl.close()
    idle.close()


def test_sigquit_lets_64mib_download_finish(start_server, big_sha256):
    server = start_server(shutdown_timeout="60s")
    sock, _, hasher, got = start_download(server)
    server.signal(signal.SIGQUIT)
    # The worker is draining, not gone: the response still completes.
    got, digest = finish_download(sock, hasher, got)
    assert got == BIG_SIZE
    assert digest == big_sha256
    # Once the response is sent the connection is closed, not kept alive.
    assert Reader(sock).at_eof(5)
    sock.close()
    assert server.wait_exit(10) == 0


def test_sigquit_closes_idle_keepalive_connection(start_server):
    # One worker: it closes the idle connection and streams the download.
    server = start_server(workers=1, shutdown_timeout="60s")
    dl, _, hasher, got = start_download(server)
    idle = idle_keepalive_connection(server)
    server.signal(signal.SIGQUIT)
    assert Reader(idle).at_eof(5), "idle connection not closed"
    assert server.proc.poll() is None, "stopped before the download ended"
    got, _ = finish_download(dl, hasher, got)
    assert got == BIG_SIZE
    idle.close()
    dl.close()


def test_sigquit_refuses_new_connections_while_draining(start_server):
    server = start_server(shutdown_timeout="60s")
    dl, _, hasher, got = start_download(server)
    server.signal(signal.SIGQUIT)
    poll(lambda: connect_refused(server), 5, what="connection refused")
    assert server.proc.poll() is None, "stopped before the download ended"
    got, _ = finish_download(dl, hasher, got)
    assert got == BIG_SIZE
    dl.close()


def test_sigquit_master_exits_and_removes_pid_file_after_download(
        start_server):
    server = start_server(shutdown_timeout="60s")
    workers = server.workers()
    dl, _, hasher, got = start_download(server)
    server.signal(signal.SIGQUIT)
    time_limit = time.monotonic() + 0.5
    while time.monotonic() < time_limit:  # still draining: not exited
        assert server.proc.poll() is None
        time.sleep(0.05)
    assert server.pid_file.exists()
    got, _ = finish_download(dl, hasher, got)
    assert got == BIG_SIZE
    dl.close()
    assert server.wait_exit(10) == 0
    server.wait_workers_gone(workers, timeout=2)
    assert not server.pid_file.exists()


def test_sigquit_is_bounded_by_shutdown_timeout(start_server):
    server = start_server(shutdown_timeout="1s")
    # A client that stops reading a big file: the response never drains.
    dl, _, _, _ = start_download(server)
    t0 = time.monotonic()
    server.signal(signal.SIGQUIT)
    rc = server.wait_exit(10)
    elapsed = time.monotonic() - t0
    assert rc == 0
    assert 0.9 <= elapsed < 5, f"exited after {elapsed:.2f}s"
    assert "shutdown_timeout reached" in server.error_log_text()
    assert not pid_alive(server.pid)
    dl.close()


def test_sigterm_cuts_a_graceful_stop_short(start_server):
    server = start_server(shutdown_timeout="60s")
    dl, _, _, _ = start_download(server)  # stalls: the client stops reading
    server.signal(signal.SIGQUIT)
    poll(lambda: connect_refused(server), 5, what="connection refused")
    assert server.proc.poll() is None
    t0 = time.monotonic()
    server.signal(signal.SIGTERM)
    rc = server.wait_exit(10)
    elapsed = time.monotonic() - t0
    assert rc == 0
    assert elapsed < 4, f"took {elapsed:.1f}s"
    assert "killing" not in server.error_log_text()
    dl.close()


def test_sigquit_answers_request_already_being_received(start_server):
    server = start_server(workers=1, shutdown_timeout="60s")
    sock = server.connect()
    sock.sendall(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n")
    poll(lambda: request_read_by_server(server.port, sock), 5,
         what="the worker to read the partial header")
    server.signal(signal.SIGQUIT)
    poll(lambda: connect_refused(server), 5, what="connection refused")
    sock.sendall(b"\r\n")
    reader = Reader(sock)
    resp = reader.read_response()
    assert resp.status == 200
    assert resp.body == b"first file A\n"
    assert resp.header("Connection") == "close"
    assert reader.at_eof(5)
    sock.close()
    assert server.wait_exit(10) == 0
