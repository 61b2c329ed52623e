"""Shared-memory counters, the log rings and the logger process, seen from
outside: real load on a real daemon, the access log on disk, and statsdump
reading the segment."""

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import (REPO, Reader, child_pids, poll, proc_title,
                      request_bytes)

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))


def statsdump(server, *args):
    """Run statsdump on the server's segment; return its JSON report."""
    out = subprocess.run([STATSDUMP, "-s", str(server.shm_path), "--json",
                          *args], capture_output=True, text=True,
                         timeout=10, check=True)
    return json.loads(out.stdout)


def access_lines(server):
    """The lines of the server's access log (none if it does not exist)."""
    try:
        return server.access_log.read_text().splitlines()
    except FileNotFoundError:
        return []


def logger_pids(server):
    """The pids of the server's logger processes (one, or none a moment)."""
    return [p for p in child_pids(server.pid)
            if proc_title(p) == "pfhttpd: logger"]


def logger_pid(server):
    """The pid of the server's logger process, once it has one."""
    return poll(lambda: len(p := logger_pids(server)) == 1 and p[0], 10,
                what="the logger process")


def load(server, requests, connections=4, path_for=None):
    """Send requests over keep-alive connections in threads.

    path_for(i) names the path of request i (default: 200s and 404s
    alternating every 5th). Return the statuses received, in any order.
    """
    path_for = path_for or (lambda i: "/nope" if i % 5 == 0
                            else "/hello.txt")
    statuses, lock = [], threading.Lock()
    share = [list(range(c, requests, connections))
             for c in range(connections)]

    def client(indexes):
        sock = server.connect()
        reader = Reader(sock)
        got = []
        for i in indexes:
            sock.sendall(request_bytes(path_for(i),
                                       headers=["User-Agent: load"]))
            resp = reader.read_response()
            got.append(resp.status)
            if resp.header("Connection") == "close":
                # max_keepalive_requests reached: a new connection.
                sock.close()
                sock = server.connect()
                reader = Reader(sock)
        sock.close()
        with lock:
            statuses.extend(got)

    threads = [threading.Thread(target=client, args=(s,)) for s in share]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


def caught_up(server, n):
    """Wait until n requests are counted, each record queued or dropped,
    and the logger has written every queued one; return the JSON report.
    """
    def done():
        report = statsdump(server)
        log = report["log"]
        return (report["requests"] >= n and log["pending"] == 0
                and log["queued"] + log["dropped"] >= n and report)
    return poll(done, 10, what=f"the logger to catch up with {n} requests")


def settled(server, n):
    """Wait until the access log holds n lines and the logger has caught
    up with n requests; return the JSON report."""
    poll(lambda: len(access_lines(server)) >= n, 10,
         what=f"{n} access-log lines")
    return caught_up(server, n)


def test_load_counts_match_requests_statuses_and_log_lines(start_server):
    server = start_server()
    n = 400
    statuses = load(server, n)
    assert len(statuses) == n
    report = settled(server, n)
    assert report["requests"] == n
    assert report["responses"]["404"] == statuses.count(404)
    assert report["responses"]["200"] == statuses.count(200)
    assert report["log"]["written"] == n
    assert report["log"]["dropped"] == 0
    assert len(access_lines(server)) == n


def test_access_log_line_is_combined_format_with_referer_and_agent(
        start_server):
    server = start_server()
    resp = server.get("/hello.txt", headers=[
        'Referer: http://example.test/"quoted"', "User-Agent: probe/1.0"])
    assert resp.status == 200
    poll(lambda: access_lines(server), 5, what="the access-log line")
    line = access_lines(server)[0]
    assert line.startswith("127.0.0.1 - - [")
    assert line.endswith(
        '"GET /hello.txt HTTP/1.1" 200 14 '
        '"http://example.test/\\x22quoted\\x22" "probe/1.0"')


def test_long_target_is_logged_cut_with_its_method_and_protocol(
        start_server):
    # 1500 bytes of target: the line keeps "GET" and "HTTP/1.1", and the
    # target is cut at LOGREC_TARGET_MAX (1024) bytes.
    server = start_server()
    target = "/" + "a" * 1499
    assert server.get(target).status == 404
    poll(lambda: access_lines(server), 5, what="the access-log line")
    line = access_lines(server)[0]
    assert f'"GET {target[:1024]} HTTP/1.1" 404 ' in line, line[:200]


def test_json_format_writes_one_object_per_line(start_server):
    server = start_server(format="json")
    load(server, 20)
    settled(server, 20)
    for line in access_lines(server):
        record = json.loads(line)
        assert record["method"] == "GET"
        assert record["status"] in (200, 404)
        assert record["user_agent"] == "load"


def test_stopped_logger_leaves_records_in_the_ring_not_lost(start_server):
    server = start_server()
    logger = logger_pid(server)
    os.kill(logger, signal.SIGSTOP)
    try:
        load(server, 50)
        # A record is counted once its response is sent, which may be
        # a moment after the client has read it.
        poll(lambda: statsdump(server)["log"]["queued"] == 50, 5,
             what="50 records put in the ring")
        assert access_lines(server) == []
    finally:
        os.kill(logger, signal.SIGCONT)
    assert settled(server, 50)["log"]["written"] == 50
    assert len(access_lines(server)) == 50


def test_killed_logger_is_respawned_and_loses_no_record(start_server):
    server = start_server()
    old = logger_pid(server)
    os.kill(old, signal.SIGSTOP)
    load(server, 60)
    assert queued(server, 60)["log"]["pending"] == 60
    os.kill(old, signal.SIGKILL)
    poll(lambda: logger_pids(server) not in ([], [old]), 10,
         what="a new logger")
    load(server, 40)
    report = settled(server, 100)
    log = report["log"]
    assert report["requests"] == 100
    assert log["written"] == log["queued"] == 100 - log["dropped"]
    assert len(access_lines(server)) == log["written"] == 100


def test_killed_worker_keeps_totals_and_the_log_invariant(start_server):
    server = start_server()
    load(server, 100)
    before = settled(server, 100)
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)
    server.wait_workers(2, exclude=(victim,))
    after = statsdump(server)
    # Folded into the retired totals: nothing lost, nothing twice.
    assert after["requests"] == before["requests"] == 100
    load(server, 50)
    report = settled(server, 150)
    assert report["requests"] == 150
    assert report["log"]["written"] + report["log"]["dropped"] == 150
    assert len(access_lines(server)) == 150
    assert report["connections_active"] == 0


def test_totals_never_go_backwards_while_workers_die(start_server):
    server = start_server()
    done = threading.Event()
    seen = []

    def sample():
        while not done.is_set():
            seen.append(statsdump(server)["requests"])

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for i in range(3):
            load(server, 60)
            # A request is counted just after its last byte is sent, so a
            # client can read it a moment before: let the count catch up.
            poll(lambda i=i: statsdump(server)["requests"] == 60 * (i + 1),
                 10, what="the requests to be counted")
            victim = server.workers()[0]
            os.kill(victim, signal.SIGKILL)
            server.wait_workers(2, exclude=(victim,))
    finally:
        done.set()
        sampler.join(30)
    assert len(seen) > 3
    assert seen == sorted(seen), "requests went backwards"
    assert statsdump(server)["requests"] == 180


def queued(server, n):
    """Wait until n access records are queued or dropped; return the report.

    A client may read a response a moment before the worker counts it.
    """
    def done():
        report = statsdump(server)
        log = report["log"]
        return log["queued"] + log["dropped"] >= n and report
    return poll(done, 10, what=f"{n} records queued or dropped")


def test_full_ring_drops_counts_and_the_logger_says_so(start_server):
    server = start_server(workers=1, ring_size="64k")
    logger = logger_pid(server)
    os.kill(logger, signal.SIGSTOP)
    try:
        load(server, 1500, connections=2)
        report = queued(server, 1500)
    finally:
        os.kill(logger, signal.SIGCONT)
    log = report["log"]
    assert log["dropped"] > 0
    assert log["written"] == 0  # the logger was stopped
    # Dropped records never enter the backlog: only the queued ones wait.
    assert log["pending"] == log["queued"] == 1500 - log["dropped"]
    after = caught_up(server, 1500)["log"]
    assert after["dropped"] == log["dropped"]
    assert after["written"] == log["queued"]
    assert len(access_lines(server)) == after["written"]
    poll(lambda: "dropped" in server.error_log_text(), 5,
         what="the logger's note of the drops")


def test_sigusr1_reopens_the_access_log_and_loses_no_record(start_server):
    server = start_server()
    rotated = server.access_log.with_name("access.log.1")
    loader = threading.Thread(target=load, args=(server, 600))
    loader.start()
    poll(lambda: len(access_lines(server)) > 0, 10, what="some records")
    os.rename(server.access_log, rotated)
    server.signal(signal.SIGUSR1)
    loader.join(60)
    poll(lambda: "log files reopened" in server.error_log_text(), 5,
         what="the logger to reopen")
    load(server, 20)
    report = caught_up(server, 620)
    assert report["log"]["written"] == 620

    def on_disk():
        return len(rotated.read_text().splitlines()) + len(
            access_lines(server))
    poll(lambda: on_disk() == 620, 10, what="every record on disk")
    assert len(access_lines(server)) >= 20


def test_worker_error_lines_reach_the_error_log_through_the_logger(
        start_server):
    server = start_server()
    assert server.get("/link_out.txt").status == 403
    poll(lambda: "leaves the document root" in server.error_log_text(), 5,
         what="the worker's line")
    line = [l for l in server.error_log_text().splitlines()
            if "leaves the document root" in l][0]
    assert "worker " in line


def test_segment_is_readable_by_owner_and_group_only(server):
    assert oct(os.stat(server.shm_path).st_mode & 0o777) == "0o640"


def test_statsdump_reports_the_segment_stale_after_the_master_exits(
        start_server):
    server = start_server()
    load(server, 10)
    settled(server, 10)
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    report = statsdump(server)
    assert report["stale"] is True
    assert report["requests"] == 10


def test_stop_drains_every_record_before_the_logger_exits(start_server):
    server = start_server()
    load(server, 200)
    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert len(access_lines(server)) == 200


def test_signals_to_the_whole_group_do_not_stop_the_logger_early(
        start_server):
    # Ctrl-\\ in a terminal, or kill -QUIT -PGID, reaches every process at
    # once; the logger must outlive the workers' in-flight responses.
    server = start_server(workers=1)
    logger_pid(server)
    sock = server.connect(rcvbuf=64 * 1024)
    sock.sendall(request_bytes("/big.bin"))
    reader = Reader(sock, timeout=60)
    reader.read_head()
    os.killpg(server.pid, signal.SIGQUIT)  # the daemon leads its group
    data = reader.read_until_close()
    assert len(data) == 64 * 1024 * 1024
    sock.close()
    assert server.wait_exit() == 0
    assert [l for l in access_lines(server) if "/big.bin" in l]


def test_logger_killed_mid_batch_writes_every_record_again(start_server):
    server = start_server(workers=1)
    old = logger_pid(server)
    os.kill(old, signal.SIGSTOP)
    load(server, 3000, connections=2)
    report = queued(server, 3000)
    assert report["log"]["queued"] == 3000
    # Resume it and kill it while it works through 3000 records: the
    # batch it had not written yet must not be lost.
    os.kill(old, signal.SIGCONT)
    time.sleep(0.002)  # let it start on the batch, not finish it
    os.kill(old, signal.SIGKILL)
    poll(lambda: logger_pids(server) not in ([], [old]), 10,
         what="a new logger")
    # A record may be written twice, never lost, and counts once.
    poll(lambda: len(access_lines(server)) >= 3000, 10,
         what="every record on disk")
    assert caught_up(server, 3000)["log"]["written"] == 3000


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_segment_stays_root_owned_with_the_group_when_user_is_set(
        start_server):
    import grp
    server = start_server(user="nobody", group="nogroup")
    st = os.stat(server.shm_path)
    assert (st.st_uid, st.st_gid) == (0, grp.getgrnam("nogroup").gr_gid)
    assert st.st_mode & 0o777 == 0o640


def test_master_ignores_a_bogus_layout_written_into_the_header(
        start_server):
    import struct
    server = start_server()
    load(server, 20)
    before = settled(server, 20)
    # A compromised worker can write the header: scribble the slot offset
    # (offset 56: magic, version, header size, size, master pid, start
    # time, generation, slot count, slot size come first).
    with open(server.shm_path, "r+b") as f:
        f.seek(56)
        f.write(struct.pack("<Q", 1 << 44))
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)  # the master folds the slot: must hold
    server.wait_workers(2, exclude=(victim,))
    assert server.proc.poll() is None
    assert server.get("/hello.txt").status == 200
    assert before["requests"] == 20
