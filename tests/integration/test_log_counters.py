"""The access log's counters (issue 13): queued by the workers, written by
the logger once write(2) returned, dropped by a full ring, discarded by a
logger that could not write them, and pending, the logger's backlog. Once
nothing is pending, requests == written + dropped + discarded.
"""

import os
import re
import signal
import struct
import subprocess

from conftest import Reader, poll, request_bytes
from test_reload import reload, rewrite_config
from test_shm_log import (STATSDUMP, access_lines, caught_up, load,
                          logger_pid, logger_pids, queued)
from test_statsdump import layout  # noqa: F401  (a fixture: shm.h offsets)


def new_logger(server, old):
    """Wait until a logger other than old runs; return its pid."""
    return poll(lambda: (p := logger_pids(server)) not in ([], [old])
                and len(p) == 1 and p[0], 10, what="a new logger")


def test_stopped_logger_leaves_n_pending_and_written_unchanged(
        start_server):
    server = start_server()
    logger = logger_pid(server)
    load(server, 20)
    before = caught_up(server, 20)["log"]
    os.kill(logger, signal.SIGSTOP)
    try:
        load(server, 50)
        log = queued(server, 70)["log"]
        assert log["queued"] == 70
        assert log["written"] == before["written"] == 20
        assert log["pending"] == 50
        assert len(access_lines(server)) == 20
    finally:
        os.kill(logger, signal.SIGCONT)
    log = caught_up(server, 70)["log"]
    assert (log["written"], log["pending"]) == (70, 0)
    assert len(access_lines(server)) == 70


def test_requests_equal_written_plus_dropped_once_nothing_is_pending(
        start_server):
    # A stopped logger and a small ring: some records are dropped, the
    # rest are written once the logger resumes, and load goes on.
    server = start_server(workers=1, ring_size="64k")
    logger = logger_pid(server)
    os.kill(logger, signal.SIGSTOP)
    try:
        load(server, 1500, connections=2)
        queued(server, 1500)
    finally:
        os.kill(logger, signal.SIGCONT)
    load(server, 300, connections=2)
    report = caught_up(server, 1800)
    log = report["log"]
    assert log["dropped"] > 0 and log["written"] > 0
    assert report["requests"] == log["written"] + log["dropped"] == 1800
    assert len(access_lines(server)) == log["written"]


def test_written_carries_on_across_a_logger_restart_and_a_reload(
        start_server):
    server = start_server()
    load(server, 100)
    assert caught_up(server, 100)["log"]["written"] == 100
    old = logger_pid(server)
    os.kill(old, signal.SIGKILL)
    old = new_logger(server, old)
    load(server, 100)
    assert caught_up(server, 200)["log"]["written"] == 200
    # A new format hands the rings over to a new logger.
    rewrite_config(server, format="common")
    reload(server)
    new_logger(server, old)
    load(server, 100)
    report = caught_up(server, 300)
    log = report["log"]
    assert report["requests"] == log["written"] + log["dropped"] == 300
    assert len(access_lines(server)) == 300


def test_records_the_logger_cannot_write_are_discarded_not_pending(
        start_server):
    # Every write(2) to /dev/full fails (ENOSPC): the records are taken out
    # of the rings and counted discarded, so the backlog still empties.
    server = start_server(access_log="/dev/full")
    load(server, 30)
    report = caught_up(server, 30)
    log = report["log"]
    assert (log["written"], log["discarded"], log["pending"]) == (0, 30, 0)
    assert report["requests"] == (
        log["written"] + log["dropped"] + log["discarded"])
    assert "write /dev/full" in server.error_log_text()


def test_a_reload_that_turns_the_access_log_off_discards_older_records(
        start_server):
    # An old worker still answers on a kept-alive connection after the
    # reload, and queues its record for a logger that has no access log
    # any more: counted discarded, and nothing stays pending.
    server = start_server(workers=1)
    sock = server.connect()
    reader = Reader(sock)
    sock.sendall(request_bytes("/hello.txt"))
    assert reader.read_response().status == 200
    caught_up(server, 1)
    old = logger_pid(server)
    rewrite_config(server, access_log="")
    reload(server)
    new_logger(server, old)
    sock.sendall(request_bytes("/hello.txt"))
    assert reader.read_response().status == 200
    sock.close()
    report = caught_up(server, 2)
    log = report["log"]
    assert (log["written"], log["discarded"], log["pending"]) == (1, 1, 0)
    assert report["requests"] == 2


def read_field(path, offset, size=8):
    """An unsigned field of the segment at path."""
    with open(path, "rb") as f:
        f.seek(offset)
        return struct.unpack({4: "<I", 8: "<Q"}[size], f.read(size))[0]


def write_u64(path, offset, value):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, struct.pack("<Q", value), offset)
    finally:
        os.close(fd)


class Rings:
    """Where the rings of the segment at path lie (layout: src/shm.h)."""

    def __init__(self, shm_h, path):
        def header(name):
            return read_field(path, *shm_h.field["shm_header", name])
        self.layout = shm_h
        self.path = path
        self.nslots = header("sh_nslots")
        self.size = header("sh_ring_size")
        self.offset = header("sh_rings_offset")
        self.stride = header("sh_ring_stride")

    def field(self, i, name):
        """The offset of field name of ring i."""
        return (self.offset + i * self.stride
                + self.layout.field["shm_ring", name][0])

    def get(self, i, name):
        return read_field(self.path, self.field(i, name))

    def data(self, i):
        """The offset of ring i's first data byte."""
        return self.offset + i * self.stride + self.layout.size["shm_ring"]


def skip_records(path, data, size, at, n):
    """The ring position n records after position at (framing: logring.c).
    """
    with open(path, "rb") as f:
        for _ in range(n):
            pos = at % size
            f.seek(data + pos)
            length = struct.unpack("<I", f.read(4))[0]
            if length == 0xffffffff:  # padding: the record is at 0
                at += size - pos
                f.seek(data)
                length = struct.unpack("<I", f.read(4))[0]
            at += (4 + length + 7) & ~7
    return at


def test_a_release_a_killed_logger_committed_is_finished_not_redone(
        start_server, layout):
    # A logger that wrote 5 lines and died after committing their release
    # (rg_jtail and rg_jwritten set, rg_tail and rg_written not yet): its
    # successor counts them as written and does not write them again.
    server = start_server(workers=1)
    logger = logger_pid(server)
    os.kill(logger, signal.SIGSTOP)
    load(server, 20, connections=1, path_for=lambda i: f"/a.txt?n={i}")
    assert queued(server, 20)["log"]["pending"] == 20
    rings = Rings(layout, server.shm_path)
    used = [i for i in range(rings.nslots) if rings.get(i, "rg_head") != 0]
    assert len(used) == 1, used  # one worker: one ring holds records
    r = used[0]
    tail, written = rings.get(r, "rg_tail"), rings.get(r, "rg_written")
    write_u64(server.shm_path, rings.field(r, "rg_jwritten"), written + 5)
    write_u64(server.shm_path, rings.field(r, "rg_jtail"),
              skip_records(server.shm_path, rings.data(r), rings.size, tail,
                           5))
    os.kill(logger, signal.SIGKILL)
    new_logger(server, logger)
    log = caught_up(server, 20)["log"]
    assert (log["written"], log["pending"]) == (written + 20, 0)
    lines = access_lines(server)
    assert [re.search(r"n=(\d+)", x).group(1) for x in lines] == [
        str(i) for i in range(5, 20)]


def text_report(server):
    return subprocess.run([STATSDUMP, "-s", str(server.shm_path)],
                          capture_output=True, text=True, timeout=10,
                          check=True).stdout


def test_text_report_names_the_logger_and_how_long_ago_it_wrote(
        start_server):
    server = start_server()
    logger = logger_pid(server)
    assert f"logger       pid {logger}, last wrote never\n" in (
        text_report(server))
    load(server, 5)
    caught_up(server, 5)
    m = re.search(r"^logger +pid (\d+), last wrote (\d+) s ago$",
                  text_report(server), re.M)
    assert m and int(m.group(1)) == logger and int(m.group(2)) < 10, m
