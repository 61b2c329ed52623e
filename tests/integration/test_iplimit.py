"""Per-client-address limits ([server] max_connections_per_ip,
limit_rate_per_ip, limit_burst_per_ip, limit_exempt): 429 with
Retry-After, counted in the segment, whichever worker accepts. The
clients bind to 127.0.0.1 or 127.0.0.2 (Linux routes all of 127/8 to lo)
to be two addresses."""

import json
import os
import signal
import socket
import subprocess

from conftest import IO_TIMEOUT, REPO, Reader, poll, request_bytes

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))


def connect_from(server, addr):
    """A connection to the server from source address addr."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT)
    s.bind((addr, 0))
    s.connect(("127.0.0.1", server.port))
    return s


def get(sock, path="/a.txt"):
    """Send one keep-alive GET on sock and read its response."""
    sock.sendall(request_bytes(path))
    return Reader(sock).read_response()


def report(server):
    """statsdump --json of the server's segment."""
    out = subprocess.run([STATSDUMP, "-s", str(server.shm_path), "--json"],
                         capture_output=True, text=True, timeout=IO_TIMEOUT,
                         check=True).stdout
    return json.loads(out)


def limits(server):
    """The limits object of statsdump --json."""
    return report(server)["limits"]


def test_tenfold_connections_from_one_address_get_429_another_is_served(
        start_server):
    server = start_server(workers=2, max_connections_per_ip=3)
    held, refused = [], 0
    for _ in range(30):
        sock = connect_from(server, "127.0.0.2")
        resp = get(sock)
        if resp.status == 200:
            held.append(sock)
            continue
        assert resp.status == 429, resp
        assert resp.header("Retry-After") == "1"
        assert resp.header("Connection") == "close"
        assert Reader(sock).at_eof(IO_TIMEOUT)
        sock.close()
        refused += 1
    assert len(held) == 3 and refused == 27
    other = connect_from(server, "127.0.0.1")
    assert get(other).status == 200
    other.close()
    assert limits(server)["connections_refused"] == 27
    for sock in held:
        sock.close()


def test_a_closed_connection_gives_its_place_back(start_server):
    server = start_server(workers=1, max_connections_per_ip=1)
    first = connect_from(server, "127.0.0.2")
    assert get(first).status == 200
    second = connect_from(server, "127.0.0.2")
    assert get(second).status == 429
    first.close()
    second.close()

    def served():
        sock = connect_from(server, "127.0.0.2")
        try:
            return get(sock).status == 200
        finally:
            sock.close()
    poll(served, IO_TIMEOUT, what="the closed connection to be given back")


def test_the_limit_holds_across_two_workers(start_server):
    server = start_server(workers=2, max_connections_per_ip=2,
                          reuseport="yes")
    held, pids, statuses = [], set(), []
    # With reuseport the kernel spreads connections over both workers.
    for _ in range(40):
        sock = connect_from(server, "127.0.0.2")
        resp = get(sock)
        statuses.append(resp.status)
        if resp.status == 200:
            held.append(sock)
        else:
            sock.close()
    assert statuses.count(200) == 2 and statuses.count(429) == 38
    # Both workers took connections (and refused some of them).
    accepted = [w["connections_accepted"] for w in report(server)["workers"]]
    assert len(accepted) == 2 and min(accepted) >= 5, accepted
    for sock in held:
        sock.close()
    assert limits(server)["connections_refused"] == 38


def test_requests_over_the_rate_get_429_with_retry_after(start_server):
    server = start_server(workers=1, limit_rate_per_ip="1/s",
                          limit_burst_per_ip=3)
    statuses = []
    for _ in range(5):
        sock = connect_from(server, "127.0.0.2")
        resp = get(sock)
        statuses.append(resp.status)
        if resp.status == 429:
            assert int(resp.header("Retry-After")) >= 1
            assert Reader(sock).at_eof(IO_TIMEOUT)
        sock.close()
    # A burst of 3 passes, then the rate of 1/s refuses what follows at
    # once (a slow machine may have earned one more token meanwhile).
    assert statuses[:3] == [200, 200, 200]
    assert statuses[-1] == 429
    other = connect_from(server, "127.0.0.1")
    assert get(other).status == 200
    other.close()
    assert limits(server)["requests_refused"] == statuses.count(429)


def test_a_keepalive_connection_over_the_rate_is_closed(start_server):
    server = start_server(workers=1, limit_rate_per_ip="1/s",
                          limit_burst_per_ip=2)
    sock = connect_from(server, "127.0.0.2")
    reader = Reader(sock)
    statuses = []
    for _ in range(4):
        sock.sendall(request_bytes("/a.txt"))
        resp = reader.read_response()
        statuses.append(resp.status)
        if resp.status == 429:
            break
    assert statuses[-1] == 429 and statuses.count(200) >= 2
    assert reader.at_eof(IO_TIMEOUT)
    sock.close()


def test_limit_exempt_ranges_are_not_limited(start_server):
    server = start_server(workers=1, max_connections_per_ip=1,
                          limit_rate_per_ip="1/s", limit_burst_per_ip=1,
                          limit_exempt="10.0.0.0/8 127.0.0.2/32 ::1")
    socks = [connect_from(server, "127.0.0.2") for _ in range(5)]
    for sock in socks:
        for _ in range(3):
            assert get(sock).status == 200
    for sock in socks:
        sock.close()
    first = connect_from(server, "127.0.0.3")
    assert get(first).status == 200
    second = connect_from(server, "127.0.0.3")
    assert get(second).status == 429
    first.close()
    second.close()


def test_statsdump_text_and_prometheus_show_the_refusals(start_server):
    server = start_server(workers=1, max_connections_per_ip=1)
    first = connect_from(server, "127.0.0.2")
    assert get(first).status == 200
    second = connect_from(server, "127.0.0.2")
    assert get(second).status == 429
    text = subprocess.run([STATSDUMP, "-s", str(server.shm_path)],
                          capture_output=True, text=True,
                          timeout=IO_TIMEOUT, check=True).stdout
    assert ("limits       connections refused 1  requests refused 0  "
            "untracked 0") in text
    prom = subprocess.run([STATSDUMP, "-s", str(server.shm_path),
                           "--prometheus"], capture_output=True, text=True,
                          timeout=IO_TIMEOUT, check=True).stdout
    assert 'pfhttpd_limit_refused_total{limit="connections"} 1' in prom
    assert 'pfhttpd_limit_refused_total{limit="rate"} 0' in prom
    first.close()
    second.close()


def test_limits_off_by_default_serve_many_connections_from_one_address(
        start_server):
    server = start_server(workers=1)
    socks = [connect_from(server, "127.0.0.2") for _ in range(20)]
    for sock in socks:
        assert get(sock).status == 200
    for sock in socks:
        sock.close()
    assert limits(server) == {"connections_refused": 0,
                              "requests_refused": 0, "untracked": 0}


def test_reload_applies_the_limits_and_keeps_the_table_size(start_server):
    server = start_server(workers=1, ip_table_size=64)
    first = connect_from(server, "127.0.0.2")
    assert get(first).status == 200
    server.overrides.update(max_connections_per_ip=1, ip_table_size=128)
    server.conf.write_text(server.config_text(server.port))
    server.signal(signal.SIGHUP)
    poll(lambda: "reload done: generation 2 serves alone"
         in server.error_log_text(), IO_TIMEOUT,
         what="the reload to finish")
    assert ("[server] ip_table_size changed, but only a restart applies "
            "it") in server.error_log_text()
    # The old worker's connection closed with it; the new limit holds.
    held = connect_from(server, "127.0.0.2")
    assert get(held).status == 200
    over = connect_from(server, "127.0.0.2")
    assert get(over).status == 429
    for sock in (first, held, over):
        sock.close()
