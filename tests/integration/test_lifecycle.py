"""Connection lifecycle at its edges: files that change under a response,
stops that arrive mid-request, log reopening after a privilege drop."""

import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (Reader, open_connections, poll, request_bytes,
                      tcp_queues)

MIB = 1024 * 1024


def can_connect(port):
    """True if 127.0.0.1:port accepts a connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_file_truncated_during_send_closes_the_connection(start_server,
                                                          docroot):
    shrink = docroot / "shrink.bin"
    shrink.write_bytes(os.urandom(16 * MIB))
    server = start_server(workers=1)  # send_timeout stays 60 s
    worker = server.workers()[0]
    poll(lambda: open_connections(worker) == 0, 5,
         what="the readiness probe to be closed")
    sock = server.connect(rcvbuf=64 * 1024)
    sock.sendall(request_bytes("/shrink.bin"))
    reader = Reader(sock, timeout=30)
    reader.read_head()
    os.truncate(shrink, 0)
    # sendfile now finds nothing to send: the worker must give up the
    # connection rather than hold it (and its max_connections slot).
    data = reader.read_until_close()
    assert len(data) < 16 * MIB
    poll(lambda: open_connections(worker) == 0, 5,
         what="the worker to close the connection")
    sock.close()


def test_sigquit_while_a_body_still_arrives_keeps_the_sent_response(
        start_server, docroot):
    size = MIB // 2
    (docroot / "mid.bin").write_bytes(os.urandom(size))
    # notsent_lowat 0: the whole response goes into the kernel at once.
    server = start_server(workers=1, notsent_lowat="0")
    # A small receive buffer keeps most of the response in the server's
    # send queue, which a close with unread input would throw away.
    sock = server.connect(rcvbuf=32 * 1024)
    sock.sendall(request_bytes("/mid.bin",
                               headers=["Content-Length: 100000000"]))
    client_port = sock.getsockname()[1]

    def response_handed_to_kernel():
        mine = tcp_queues(client_port, server.port)
        theirs = tcp_queues(server.port, client_port)
        return mine and theirs and mine[1] + theirs[0] >= size
    poll(response_handed_to_kernel, 10,
         what="the whole response to be queued in the kernel")

    server.signal(signal.SIGQUIT)
    poll(lambda: not can_connect(server.port), 5,
         what="the worker to start draining")
    sock.sendall(b"more of the body")  # input the server has not read
    resp = Reader(sock, timeout=10).read_response()
    assert resp.status == 200
    assert len(resp.body) == size
    sock.close()


def test_header_begun_before_a_stop_still_times_out_from_accept(
        start_server):
    # A new connection's whole header must arrive within header_timeout
    # of the accept; a graceful stop that begins halfway through the
    # header must not restart that clock from the header's first byte.
    server = start_server(workers=1, header_timeout="2s",
                          shutdown_timeout="30s")
    sock = server.connect()
    accepted = time.monotonic()
    time.sleep(1.5)  # the first byte, well after the accept
    sock.sendall(b"GET /hello.txt HTTP/1.1\r\n")
    server.signal(signal.SIGQUIT)
    poll(lambda: not can_connect(server.port), 5,
         what="the worker to start draining")
    sock.sendall(b"Host: x\r\n")  # more of the header, not all
    resp = Reader(sock, timeout=10).read_response()
    assert resp.status == 408
    # From the first byte it would be 3.5 s.
    assert time.monotonic() - accepted < 3.0
    sock.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_workers_write_to_the_reopened_log_after_a_privilege_drop(
        start_server):
    # pytest's own directories are private to root; a log directory must
    # be one the workers' user can reach, as /var/log/pfhttpd would be.
    logdir = Path(tempfile.mkdtemp(prefix="pfhttpd-log-", dir="/tmp"))
    try:
        logdir.chmod(0o755)
        log = logdir / "error.log"
        server = start_server(user="nobody", group="nogroup",
                              error_log=str(log))
        os.rename(log, logdir / "error.log.1")
        server.signal(signal.SIGUSR1)
        poll(lambda: log.exists() and "error log reopened" in log.read_text(),
             5, what="the master to reopen the log")

        def worker_line_in_new_log():
            # A path leaving the root makes the answering worker log a line.
            assert server.get("/link_out.txt").status == 403
            return "leaves the document root" in log.read_text()
        poll(worker_line_in_new_log, 5, interval=0.1,
             what="a worker's line in the reopened log")
    finally:
        shutil.rmtree(logdir)
