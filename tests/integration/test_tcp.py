"""What goes on the wire: segments per connection and notsent_lowat."""

import hashlib
import socket
import struct

import pytest

from conftest import DOCROOT_FILES, Reader, request_bytes

# struct tcp_info (linux/tcp.h): tcpi_segs_in, a __u32 after eight __u8,
# 24 __u32, four __u64 and tcpi_segs_out.
TCP_INFO_SEGS_IN = 8 + 24 * 4 + 4 * 8 + 4


def segments_received(sock):
    """The TCP segments sock has received (tcpi_segs_in)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, TCP_INFO_SEGS_IN)[0]


def test_closing_response_comes_with_fin_and_request_ack_in_one_segment(
        server):
    # The SYN-ACK, then one segment: the response acknowledges the
    # request (no ACK of its own) and carries the FIN (none of its own).
    # A delayed-ACK timer can still fire on a loaded machine: one of a
    # few connections must show it.
    seen = []
    for _ in range(5):
        sock = server.connect()
        sock.sendall(request_bytes("/a.txt", headers=["Connection: close"]))
        reader = Reader(sock)
        resp = reader.read_response()
        assert resp.status == 200
        assert resp.body == DOCROOT_FILES["a.txt"]
        assert reader.at_eof(5)
        seen.append(segments_received(sock))
        sock.close()
        if seen[-1] == 2:
            break
    assert 2 in seen, f"segments received per connection: {seen}"


@pytest.mark.parametrize("lowat", ["0", "4k"])
def test_large_file_is_sent_whole_whatever_notsent_lowat(
        start_server, big_sha256, lowat):
    server = start_server(notsent_lowat=lowat)
    # A small receive buffer: the server waits for room many times.
    sock = server.connect(rcvbuf=64 * 1024)
    sock.sendall(request_bytes("/big.bin", headers=["Connection: close"]))
    reader = Reader(sock)
    head = reader.read_head()
    assert head.startswith(b"HTTP/1.1 200 "), head
    h = hashlib.sha256(reader.read_until_close())
    assert h.hexdigest() == big_sha256
    sock.close()
