"""Connection limits: max_connections, running out of descriptors, and a
64 MiB file sent without reading it into memory."""

import hashlib
import os
import select
import subprocess
import time

from conftest import (BIG_SIZE, DOCROOT_FILES, SANITIZED, Reader,
                      accept_backlog, cpu_ticks, fd_count, open_connections,
                      poll, request_bytes, vm_rss_kib)

TICKS = os.sysconf("SC_CLK_TCK")


def kept_alive(server):
    """A connection that has been answered once and is kept open."""
    sock = server.connect()
    sock.sendall(request_bytes("/a.txt"))
    resp = Reader(sock).read_response()
    assert resp.status == 200 and resp.header("Connection") is None
    return sock


def test_max_connections_2_holds_third_request_until_one_closes(
        start_server):
    server = start_server(workers=1, max_connections=2)
    worker = server.workers()[0]
    poll(lambda: open_connections(worker) == 0, 5,
         what="the readiness probe to be closed")
    first = kept_alive(server)
    second = kept_alive(server)
    third = server.connect()  # the kernel accepts it into the backlog
    third.sendall(request_bytes("/b.txt"))
    readable, _, _ = select.select([third], [], [], 1.0)
    assert not readable, "3rd connection answered while 2 were open"
    assert Reader(second).at_eof(0.01) is False  # the others stay open
    first.close()
    resp = Reader(third).read_response(timeout=5)
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["b.txt"]
    second.close()
    third.close()


def test_emfile_pauses_accept_without_spinning_and_recovers(start_server):
    server = start_server(workers=1)
    worker = server.workers()[0]
    poll(lambda: open_connections(worker) == 0, 5,
         what="the readiness probe to be closed")
    idle_fds = fd_count(worker)
    limit = idle_fds + 3  # room for 3 connections, not more
    subprocess.run(["prlimit", "--pid", str(worker),
                    f"--nofile={limit}:{limit}"], check=True, timeout=10)
    socks = [server.connect() for _ in range(12)]
    poll(lambda: "accept: pausing" in server.error_log_text(), 5,
         what="the worker to run out of descriptors")
    assert fd_count(worker) == limit
    t0, c0 = time.monotonic(), cpu_ticks(worker)
    time.sleep(1.0)  # measuring CPU use over a second, not waiting
    used = (cpu_ticks(worker) - c0) / TICKS
    wall = time.monotonic() - t0
    assert used < 0.25 * wall, f"worker used {used:.2f}s CPU in {wall:.2f}s"
    assert accept_backlog(server.port) > 0
    for s in socks:
        s.close()
    # Accepting resumes: the worker takes the closed connections from the
    # queue, in batches that fit its limit, and frees their descriptors.
    poll(lambda: accept_backlog(server.port) == 0
         and open_connections(worker) == 0, 10,
         what="the worker to drain the accept queue")
    assert fd_count(worker) == idle_fds
    resp = server.get("/hello.txt")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]
    assert server.proc.poll() is None
    assert server.workers() == [worker], "the worker was replaced"


def test_64mib_file_served_completely_with_small_worker_rss(start_server,
                                                            big_sha256):
    server = start_server(workers=1)
    worker = server.workers()[0]
    assert server.get("/hello.txt").status == 200  # warm up the worker
    rss_before = vm_rss_kib(worker)
    sock = server.connect(rcvbuf=256 * 1024)
    sock.sendall(request_bytes("/big.bin", headers=["Connection: close"]))
    reader = Reader(sock, timeout=60)
    head = reader.read_head()
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"\r\nContent-Length: {BIG_SIZE}\r\n".encode() in head + b"\r\n"
    hasher = hashlib.sha256()
    got, rss_peak = 0, rss_before
    sock.settimeout(60)
    while True:
        data = bytes(reader.take(len(reader.buf))) or sock.recv(1 << 20)
        if not data:
            break
        hasher.update(data)
        got += len(data)
        if got % (8 << 20) < len(data):  # sample every 8 MiB or so
            rss_peak = max(rss_peak, vm_rss_kib(worker))
    rss_after = vm_rss_kib(worker)
    sock.close()
    assert got == BIG_SIZE
    assert hasher.hexdigest() == big_sha256
    growth = max(rss_peak, rss_after) - rss_before
    if not SANITIZED:  # ASan's quarantine and redzones inflate RSS
        assert growth < 8 * 1024, f"worker RSS grew by {growth} KiB"
