"""The metrics endpoint, [stats] listen: GET /metrics in the Prometheus
text format, served by a process of its own ("pfhttpd: metrics") that the
master binds the socket for, forks and restarts. Its families are
statsdump --prometheus's (the formats themselves are tested on synthetic
segments in test_statsdump.py); anything else on the port is refused;
a slow client delays no other; a reload may set, move or remove it."""

import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import (REPO, IO_TIMEOUT, Reader, Server, child_pids,
                      free_port, pid_alive, poll, proc_title, run_pfhttpd)
from test_statsdump import parse_prometheus, value

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))
TIMEOUT = 10  # seconds for any one wait
TITLE = "pfhttpd: metrics"


def metrics_pid(srv):
    """The pid of the server's metrics process, or None."""
    for p in child_pids(srv.pid):
        if proc_title(p) == TITLE and pid_alive(p):
            return p
    return None


def exchange(port, data, timeout=IO_TIMEOUT):
    """Send data on a new connection to port; return (the response, the
    bytes that followed it before the close). HEAD is read as such."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(data)
        reader = Reader(s, timeout)
        resp = reader.read_response(head=data.startswith(b"HEAD "))
        deadline = time.monotonic() + timeout
        while reader.fill(deadline):
            pass
        return resp, bytes(reader.buf)


def get(port, path="/metrics", method="GET"):
    """One request on a new connection; return the response."""
    resp, rest = exchange(port, f"{method} {path} HTTP/1.1\r\n"
                          "Host: localhost\r\n\r\n".encode())
    assert rest == b"", rest
    return resp


def statsdump(srv):
    """statsdump --prometheus of the server's segment, parsed."""
    out = subprocess.run([STATSDUMP, "-s", str(srv.shm_path),
                          "--prometheus"], capture_output=True, text=True,
                         timeout=TIMEOUT, check=True).stdout
    return parse_prometheus(out)


def refused(port):
    """True if nothing accepts connections on port."""
    try:
        socket.create_connection(("127.0.0.1", port), 1.0).close()
        return False
    except ConnectionRefusedError:
        return True


def reload_with(srv, **overrides):
    """Rewrite the server's configuration with overrides and SIGHUP it;
    wait until the new generation serves alone."""
    gen = value(statsdump(srv), "pfhttpd_generation")
    srv.overrides.update(overrides)
    srv.conf.write_text(srv.config_text(srv.port))
    srv.signal(signal.SIGHUP)
    return gen


@pytest.fixture
def metrics(start_server):
    """A daemon with [stats] listen on a free port (Server.metrics_port)
    and its metrics process running."""
    port = free_port()
    srv = start_server(workers=1, stats_listen=f"127.0.0.1:{port}")
    srv.metrics_port = port
    poll(lambda: metrics_pid(srv), TIMEOUT, what="the metrics process")
    return srv


def test_get_metrics_has_the_families_of_statsdump_prometheus(metrics):
    resp = get(metrics.metrics_port)
    assert resp.status == 200
    assert resp.header("Content-Type") == \
        "text/plain; version=0.0.4; charset=utf-8"
    assert resp.header("Connection") == "close"
    served = parse_prometheus(resp.body.decode())
    dumped = statsdump(metrics)
    assert {n: f["type"] for n, f in served.items()} == \
        {n: f["type"] for n, f in dumped.items()}
    for name in ("pfhttpd_start_time_seconds", "pfhttpd_generation",
                 "pfhttpd_reloads_failed_total"):
        assert value(served, name) == value(dumped, name), name
    assert value(served, "pfhttpd_up") == 1


def test_the_metrics_process_is_a_child_of_the_master_not_a_worker(metrics):
    assert metrics_pid(metrics) not in metrics.workers()
    assert len(metrics.workers()) == 1


def test_head_metrics_has_the_headers_of_get_and_no_body(metrics):
    resp, rest = exchange(metrics.metrics_port,
                          b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.status == 200 and rest == b""
    assert int(resp.header("Content-Length")) > 1000
    assert resp.header("Content-Type").startswith("text/plain; version=")


@pytest.mark.parametrize("path", ["/", "/metrics/", "/metricsx",
                                  "/index.html", "/metrics/../x"])
def test_other_paths_are_404(metrics, path):
    resp = get(metrics.metrics_port, path)
    assert resp.status == 404 and resp.body == b"Not Found\n"


def test_a_query_on_metrics_is_ignored(metrics):
    assert get(metrics.metrics_port, "/metrics?name[]=up").status == 200


def test_head_of_another_path_is_404_without_a_body(metrics):
    resp, rest = exchange(metrics.metrics_port,
                          b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    assert resp.status == 404 and rest == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_on_metrics_are_405_with_allow(metrics, method):
    resp = get(metrics.metrics_port, method=method)
    assert resp.status == 405
    assert resp.header("Allow") == "GET, HEAD"


@pytest.mark.parametrize("raw,status", [
    (b"hello\r\n\r\n", 400),
    (b"GET /metrics\r\n\r\n", 400),
    (b"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
    (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
     431),
])
def test_bad_requests_are_refused_with_their_status(metrics, raw, status):
    resp, _ = exchange(metrics.metrics_port, raw)
    assert resp.status == status
    assert resp.header("Connection") == "close"


def test_an_http_1_0_request_without_host_is_served(metrics):
    resp, _ = exchange(metrics.metrics_port, b"GET /metrics HTTP/1.0\r\n\r\n")
    assert resp.status == 200


def test_a_slow_client_does_not_block_a_second_one(metrics):
    with socket.create_connection(("127.0.0.1", metrics.metrics_port),
                                  IO_TIMEOUT) as slow:
        slow.sendall(b"GET /metr")
        started = time.monotonic()
        assert get(metrics.metrics_port).status == 200
        assert time.monotonic() - started < 2.0
        slow.sendall(b"ics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert Reader(slow).read_response().status == 200


def test_the_master_restarts_the_metrics_process_if_killed(metrics):
    old = metrics_pid(metrics)
    os.kill(old, signal.SIGKILL)
    new = poll(lambda: (p := metrics_pid(metrics)) != old and p, TIMEOUT,
               what="a new metrics process")
    assert new != old
    assert get(metrics.metrics_port).status == 200
    assert "metrics (pid" in metrics.error_log_text()


def test_no_metrics_process_runs_without_stats_listen(server):
    assert metrics_pid(server) is None


def stats_line(conf, port):
    """The line number of "listen = 127.0.0.1:PORT" in conf's [stats]."""
    lines = conf.read_text().splitlines()
    return lines.index(f"listen = 127.0.0.1:{port}",
                       lines.index("[stats]")) + 1


def test_a_taken_port_at_start_is_an_error_naming_the_file_and_line(
        start_server, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        srv = Server(tmp_path, {"stats_listen": f"127.0.0.1:{port}"})
        srv.conf.write_text(srv.config_text(free_port()))
        proc = run_pfhttpd("-f", "-c", str(srv.conf))
    assert proc.returncode == 1
    line = stats_line(srv.conf, port)
    assert (f"{srv.conf}:{line}: [stats] listen: cannot listen on "
            f"127.0.0.1:{port}: Address already in use") in proc.stderr


def test_the_address_of_a_server_listen_is_a_configuration_error(
        start_server, tmp_path):
    srv = Server(tmp_path, {})
    port = free_port()
    srv.overrides["stats_listen"] = f"127.0.0.1:{port}"
    srv.conf.write_text(srv.config_text(port))
    proc = run_pfhttpd("-t", "-c", str(srv.conf))
    assert proc.returncode == 1
    assert (f"{srv.conf}:{stats_line(srv.conf, port)}: [stats] listen: "
            f"'127.0.0.1:{port}' is the same address as [server] listen "
            f"'127.0.0.1:{port}'") in proc.stderr


def test_reload_moves_the_endpoint_to_a_new_port(metrics):
    old_port, old_pid = metrics.metrics_port, metrics_pid(metrics)
    port = free_port()
    reload_with(metrics, stats_listen=f"127.0.0.1:{port}")
    poll(lambda: refused(old_port), TIMEOUT, what="the old port closed")
    assert get(port).status == 200
    poll(lambda: not pid_alive(old_pid), TIMEOUT,
         what="the old metrics process to exit")
    assert metrics_pid(metrics) not in (None, old_pid)


def test_reload_that_keeps_the_address_keeps_the_process(metrics):
    pid = metrics_pid(metrics)
    gen = reload_with(metrics, shutdown_timeout="5s")
    poll(lambda: value(statsdump(metrics), "pfhttpd_generation") > gen,
         TIMEOUT, what="the reload")
    assert get(metrics.metrics_port).status == 200
    assert metrics_pid(metrics) == pid


def test_reload_that_removes_the_key_ends_the_process_and_frees_the_port(
        metrics):
    pid = metrics_pid(metrics)
    reload_with(metrics, stats_listen=None)
    poll(lambda: not pid_alive(pid), TIMEOUT, what="the metrics process "
         "to exit")
    poll(lambda: refused(metrics.metrics_port), TIMEOUT,
         what="the port closed")
    with socket.socket() as s:  # nothing holds it any more
        s.bind(("127.0.0.1", metrics.metrics_port))
    assert metrics_pid(metrics) is None


def test_reload_that_sets_the_key_starts_the_process(server):
    port = free_port()
    reload_with(server, stats_listen=f"127.0.0.1:{port}")
    poll(lambda: metrics_pid(server), TIMEOUT, what="a metrics process")
    assert get(port).status == 200


def test_reload_onto_a_taken_port_fails_and_the_endpoint_stays(metrics):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        reload_with(metrics, stats_listen=f"127.0.0.1:{port}")
        poll(lambda: value(statsdump(metrics),
                           "pfhttpd_reloads_failed_total") == 1,
             TIMEOUT, what="the reload to fail")
    line = stats_line(metrics.conf, port)
    assert (f"{metrics.conf}:{line}: [stats] listen: cannot listen on "
            f"127.0.0.1:{port}") in metrics.error_log_text()
    assert get(metrics.metrics_port).status == 200
