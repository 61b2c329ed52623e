"""Helpers shared by the hostile-client tests (test_hostile*.py)."""

import errno
import json
import os
import socket
import subprocess
import threading
import time

from conftest import REPO, cpu_ticks

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))
TICKS = os.sysconf("SC_CLK_TCK")


def statsdump(server):
    """The server's counters, as statsdump --json reports them."""
    out = subprocess.run([STATSDUMP, "-s", str(server.shm_path), "--json"],
                         capture_output=True, text=True, timeout=10,
                         check=True)
    return json.loads(out.stdout)


def active_by_worker(server):
    """{pid: connections_active} of the serving workers, from the shm."""
    return {w["pid"]: w["connections_active"]
            for w in statsdump(server)["workers"] if w["state"] == "serving"}


def proc_status_kib(pid, field):
    """A "kB" field of /proc/PID/status (VmRSS, RssAnon, ...), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def cpu_share(pids, seconds):
    """CPU time each of pids used over the next seconds of wall time, as a
    fraction of that time: {pid: share}. This is a measurement window,
    not a wait for a condition."""
    c0 = {p: cpu_ticks(p) for p in pids}
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    return {p: (cpu_ticks(p) - c0[p]) / TICKS / wall for p in pids}


def open_nonblocking(port, n):
    """Start n connections to 127.0.0.1:port without waiting for any to
    complete (a full accept queue then cannot block the test)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex(("127.0.0.1", port))
        assert rc in (0, errno.EINPROGRESS), os.strerror(rc)
        socks.append(s)
    return socks


def timed_get(server, path="/hello.txt"):
    """GET path on a fresh connection: (response, seconds it took)."""
    t0 = time.monotonic()
    resp = server.get(path)
    return resp, time.monotonic() - t0


def run_clients(target, args_list, timeout=120):
    """Run target(*args) in a thread for each args of args_list, all at
    once, and wait for them (each within timeout seconds)."""
    threads = [threading.Thread(target=target, args=args)
               for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "clients hung"
