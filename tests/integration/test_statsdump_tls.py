"""statsdump on a running daemon: the TLS handshake counters. A server
with plain listeners only does no handshake, and statsdump says so in
every format: the counters are there, at 0. The formats themselves,
field by field, are tested on synthetic segments in test_statsdump.py."""

import json
import os
import subprocess

from conftest import REPO, poll
from test_statsdump import parse_prometheus, value

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))
TIMEOUT = 10  # seconds for any one wait
REQUESTS = 4  # plain requests each test sends first
FAIL_CLASSES = ("protocol", "client_cert", "plain_http", "timeout",
                "closed")


def statsdump(server, *args):
    """Run statsdump on the server's segment; return its output."""
    return subprocess.run([STATSDUMP, "-s", str(server.shm_path), *args],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          check=True).stdout


def served(server):
    """Send REQUESTS plain requests; return the JSON report once the
    workers have counted them."""
    for _ in range(REQUESTS):
        assert server.get("/hello.txt").status == 200
    return poll(lambda: (d := json.loads(statsdump(server, "--json")))
                ["requests"] == REQUESTS and d, TIMEOUT,
                what="the requests to be counted")


def test_plain_server_reports_no_tls_handshake_in_json(server):
    doc = served(server)
    assert doc["tls"] == {"full": 0, "resumed": 0, "resumed_ratio": None,
                          "failed": {c: 0 for c in FAIL_CLASSES},
                          "errors": 0, "renegotiations_refused": 0}
    serving = [w for w in doc["workers"] if w["state"] == "serving"]
    assert len(serving) == 2
    for w in serving:
        assert (w["tls_full"], w["tls_resumed"], w["tls_failed"]) == \
            (0, 0, 0), w


def test_plain_server_has_the_tls_families_at_0_in_prometheus(server):
    served(server)
    fams = parse_prometheus(statsdump(server, "--prometheus"))
    assert value(fams, "pfhttpd_requests_total") == REQUESTS
    for kind in ("full", "resumed"):
        assert value(fams, "pfhttpd_tls_handshakes_total", kind=kind) == 0
    for cls in FAIL_CLASSES:
        assert value(fams, "pfhttpd_tls_handshake_failures_total",
                     **{"class": cls}) == 0
    workers = fams["pfhttpd_worker_tls_handshakes_total"]["samples"]
    assert sorted(int(lb["pid"]) for _, lb, _ in workers) == \
        sorted(server.workers())
    assert all(v == 0 for _, _, v in workers)
