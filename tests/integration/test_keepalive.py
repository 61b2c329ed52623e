"""Keep-alive, pipelining and the connection timeouts."""

import select
import socket
import time

from conftest import (BIG_SIZE, DOCROOT_FILES, Reader, open_connections,
                      poll, request_bytes)


def test_http11_keeps_connection_alive_by_default(server):
    sock = server.connect()
    reader = Reader(sock)
    for name in ("a.txt", "b.txt"):
        sock.sendall(request_bytes(f"/{name}"))
        resp = reader.read_response()
        assert resp.status == 200
        assert resp.body == DOCROOT_FILES[name]
        assert resp.header("Connection") is None, resp
    sock.close()


def test_http10_closes_without_keepalive_header(server):
    sock = server.connect()
    sock.sendall(request_bytes("/a.txt", version="HTTP/1.0"))
    reader = Reader(sock)
    resp = reader.read_response()
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["a.txt"]
    assert resp.header("Connection") == "close"
    assert reader.at_eof(5)
    sock.close()


def test_http10_keepalive_header_keeps_connection_and_says_so(server):
    sock = server.connect()
    reader = Reader(sock)
    for name in ("a.txt", "b.txt"):
        sock.sendall(request_bytes(f"/{name}", version="HTTP/1.0",
                                   headers=["Connection: keep-alive"]))
        resp = reader.read_response()
        assert resp.status == 200
        assert resp.body == DOCROOT_FILES[name]
        assert resp.header("Connection") == "keep-alive"
    sock.close()


def test_connection_close_is_honoured(server):
    sock = server.connect()
    sock.sendall(request_bytes("/a.txt", headers=["Connection: close"]))
    reader = Reader(sock)
    resp = reader.read_response()
    assert resp.status == 200
    assert resp.header("Connection") == "close"
    assert reader.at_eof(5)
    sock.close()


def test_three_pipelined_requests_in_one_send_are_answered_in_order(server):
    sock = server.connect()
    sock.sendall(request_bytes("/b.txt") + request_bytes("/a.txt")
                 + request_bytes("/c.txt", headers=["Connection: close"]))
    responses = Reader(sock).read_all_responses()
    assert [r.status for r in responses] == [200, 200, 200]
    assert [r.body for r in responses] == [
        DOCROOT_FILES["b.txt"], DOCROOT_FILES["a.txt"],
        DOCROOT_FILES["c.txt"]]
    sock.close()


def test_pipelined_requests_after_a_big_response_stay_in_order(server):
    sock = server.connect()
    sock.sendall(request_bytes("/big.bin") + request_bytes("/a.txt")
                 + request_bytes("/b.txt", headers=["Connection: close"]))
    responses = Reader(sock, timeout=30).read_all_responses()
    assert [r.status for r in responses] == [200, 200, 200]
    assert len(responses[0].body) == BIG_SIZE
    assert responses[1].body == DOCROOT_FILES["a.txt"]
    assert responses[2].body == DOCROOT_FILES["b.txt"]
    sock.close()


def test_max_keepalive_requests_2_closes_after_second_response(start_server):
    server = start_server(max_keepalive_requests=2)
    sock = server.connect()
    sock.sendall(request_bytes("/a.txt") + request_bytes("/b.txt")
                 + request_bytes("/c.txt"))
    responses = Reader(sock).read_all_responses()
    assert [r.body for r in responses] == [
        DOCROOT_FILES["a.txt"], DOCROOT_FILES["b.txt"]]
    assert responses[0].header("Connection") is None
    assert responses[1].header("Connection") == "close"
    sock.close()


def test_header_timeout_cuts_off_client_dribbling_header_lines(start_server):
    server = start_server(header_timeout="1s")
    t0 = time.monotonic()  # the server's timer starts after this
    sock = server.connect()
    sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n")
    received = b""
    cut_off = None
    n = 0
    while time.monotonic() - t0 < 8:
        readable, _, _ = select.select([sock], [], [], 0.3)
        if readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                cut_off = time.monotonic() - t0
                break
            received += data
            continue
        try:
            sock.sendall(b"X-Slow-%d: still coming\r\n" % n)
        except (BrokenPipeError, ConnectionResetError):
            cut_off = time.monotonic() - t0
            break
        n += 1
    sock.close()
    assert cut_off is not None, "still connected after 8s of dribbling"
    assert 0.9 <= cut_off < 6, f"cut off after {cut_off:.2f}s"
    # Either a bare close or a 408, never a real answer.
    assert received == b"" or received.startswith(b"HTTP/1.1 408 "), received


def test_keepalive_timeout_closes_idle_connection(start_server):
    server = start_server(keepalive_timeout="1s")
    sock = server.connect()
    t0 = time.monotonic()  # the server's timer starts after this
    sock.sendall(request_bytes("/a.txt"))
    reader = Reader(sock)
    assert reader.read_response().status == 200
    assert reader.at_eof(6), "idle connection still open after 6s"
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.9, f"closed after {elapsed:.2f}s, before the timeout"
    sock.close()


def test_send_timeout_closes_connection_of_client_that_stops_reading(
        start_server):
    server = start_server(workers=1, send_timeout="1s")
    worker = server.workers()[0]
    poll(lambda: open_connections(worker) == 0, 5,
         what="the readiness probe to be closed")
    t0 = time.monotonic()  # the server's timer starts after this
    sock = server.connect(rcvbuf=64 * 1024)
    sock.sendall(request_bytes("/big.bin"))
    poll(lambda: open_connections(worker) == 1, 5,
         what="the worker to accept")
    # The client reads nothing; the worker must give up on its own.
    poll(lambda: open_connections(worker) == 0, 10,
         what="the worker to close the stalled connection")
    assert time.monotonic() - t0 >= 0.9
    data = Reader(sock, timeout=30).read_until_close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert 0 < len(body) < BIG_SIZE
    sock.close()


def test_half_closed_client_still_gets_its_answer(server):
    sock = server.connect()
    sock.sendall(request_bytes("/a.txt"))
    sock.shutdown(1)  # SHUT_WR: the client says it has nothing more
    reader = Reader(sock)
    resp = reader.read_response()
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["a.txt"]
    assert reader.at_eof(5)
    sock.close()


def test_pipelined_requests_then_half_close_are_all_answered(server):
    sock = server.connect()
    sock.sendall(request_bytes("/a.txt") + request_bytes("/b.txt")
                 + request_bytes("/c.txt"))
    sock.shutdown(socket.SHUT_WR)
    responses = Reader(sock).read_all_responses()
    assert [r.body for r in responses] == [
        DOCROOT_FILES["a.txt"], DOCROOT_FILES["b.txt"],
        DOCROOT_FILES["c.txt"]]
    sock.close()


def test_connection_close_response_closes_at_once_without_lingering(server):
    # Nothing is left unread, so there is no reason to linger: the server
    # closes right after the response, long before its 2 s linger bound.
    sock = server.connect()
    sock.sendall(request_bytes("/a.txt", headers=["Connection: close"]))
    reader = Reader(sock)
    assert reader.read_response().status == 200
    start = time.monotonic()
    assert reader.at_eof(5)
    assert time.monotonic() - start < 1.0
    sock.close()
