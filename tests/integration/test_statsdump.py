"""statsdump: the reader of the shared-memory counters.

These tests never start the daemon. They build synthetic segments with
the exact layout of src/shm.h: a tiny C program, compiled once per session
against that header (and pfhttpd.h, for the chat sizes), prints every size
and offset the tests use, so the segments follow the headers when they
change. Offsets are computed as shm.c's shm_layout() and shm_chat_layout()
do.
"""

import json
import math
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))
RUN_TIMEOUT = 10  # seconds for one statsdump run
WATCH_TIMEOUT = 10  # seconds to wait for one report with -w

STALE_TEXT = "STALE: master PID is gone, these numbers are the last it wrote"

# The fields the tests read or write: (struct, member).
FIELDS = {
    "shm_header": [
        "sh_magic", "sh_version", "sh_header_size", "sh_size",
        "sh_master_pid", "sh_start_time", "sh_generation", "sh_nslots",
        "sh_slot_size", "sh_slots_offset", "sh_rings_offset",
        "sh_ring_size", "sh_ring_stride", "sh_logger_pid", "sh_fold_seq",
        "sh_reloads_failed", "sh_logger_wrote", "sh_chat_offset",
        "sh_ip_offset", "sh_ip_groups", "sh_retired",
    ],
    "shm_slot": [
        "ss_pid", "ss_worker_id", "ss_generation", "ss_started", "ss_state",
        "ss_c",
    ],
    "shm_counters": [
        "sc_conn_accepted", "sc_conn_active", "sc_requests", "sc_bytes_in",
        "sc_bytes_out", "sc_log_queued", "sc_log_dropped", "sc_ws_upgrades",
        "sc_ws_open", "sc_ws_messages_in", "sc_ws_messages_out",
        "sc_ws_bytes_in", "sc_ws_bytes_out", "sc_ws_closes",
        "sc_chat_members_ws", "sc_chat_members_telnet", "sc_chat_read",
        "sc_chat_in", "sc_chat_unavailable", "sc_chat_deliveries",
        "sc_chat_rate_limited", "sc_chat_oversize", "sc_chat_refused",
        "sc_chat_slow_closed", "sc_chat_gaps", "sc_chat_missed",
        "sc_tls_full", "sc_tls_resumed", "sc_tls_failed", "sc_tls_errors",
        "sc_tls_renegotiations", "sc_limit_conn_refused",
        "sc_limit_rate_refused", "sc_limit_untracked", "sc_latency",
        "sc_responses",
    ],
    "shm_ring": ["rg_head", "rg_tail", "rg_written", "rg_discarded",
                 "rg_jwritten", "rg_jdiscarded", "rg_jtail"],
    "shm_chat": [
        "ch_ring_size", "ch_bcast_size", "ch_max_rooms", "ch_max_members",
        "ch_history", "ch_entry_size", "ch_max_message", "ch_hub_pid",
        "ch_hub_starts", "ch_rooms_live", "ch_members", "ch_events",
        "ch_requests", "ch_refused", "ch_last_event", "ch_redis",
    ],
    "shm_chat_redis": [
        "rd_state", "rd_since", "rd_connects", "rd_failures",
        "rd_published", "rd_applied", "rd_unavailable", "rd_inflight",
        "rd_last_event", "rd_skipped", "rd_reseeds",
    ],
    "shm_chat_slot": [],
    "shm_chat_room": ["rm_seq", "rm_members", "rm_used", "rm_epoch",
                      "rm_name"],
    "shm_chat_member": [],
    "shm_chat_entry": [],
    "bcast_ring": ["br_next_event"],
    "shm_ipgroup": [],
}
# The chat region of a synthetic segment: small, within shm.c's bounds.
CHAT_GEOMETRY = dict(ch_ring_size=4096, ch_bcast_size=131072, ch_max_rooms=4,
                     ch_max_members=16, ch_history=2, ch_max_message=64)
CONSTANTS = ["SHM_MAGIC", "SHM_VERSION", "SHM_CACHELINE", "SHM_STATUS_MAX",
             "SHM_LATENCY_BUCKETS", "SHM_WS_CLOSE_CLASSES", "SHM_SLOT_FREE",
             "SHM_SLOT_STARTING", "SHM_SLOT_SERVING", "SHM_SLOT_DRAINING",
             "SHM_SLOT_EXITED", "CHAT_NAME_MAX", "SHM_TLS_FAIL_CLASSES",
             "SHM_TLS_FAIL_PROTOCOL", "SHM_TLS_FAIL_CERT",
             "SHM_TLS_FAIL_PLAIN_HTTP", "SHM_TLS_FAIL_TIMEOUT",
             "SHM_TLS_FAIL_CLOSED", "SHM_REDIS_OFF", "SHM_REDIS_CONNECTING",
             "SHM_REDIS_UP", "SHM_REDIS_DOWN",
             f"CHATMSG_OUT_EVENT_MAX({CHAT_GEOMETRY['ch_max_message']})",
             f"SHM_CHAT_ENTRIES({CHAT_GEOMETRY['ch_history']})"]
PAGE = 4096  # SHM_PAGE in shm.c


class Layout:
    """Sizes, offsets and constants of src/shm.h, from the C compiler."""

    def __init__(self, text):
        self.size = {}  # struct -> sizeof
        self.field = {}  # (struct, member) -> (offset, size)
        self.const = {}  # name -> value
        for line in text.splitlines():
            kind, *rest = line.split()
            if kind == "size":
                self.size[rest[0]] = int(rest[1])
            elif kind == "field":
                self.field[rest[0], rest[1]] = (int(rest[2]), int(rest[3]))
            elif kind == "const":
                self.const[rest[0]] = int(rest[1])

    def __getattr__(self, name):
        try:
            return self.const[name]
        except KeyError:
            raise AttributeError(name) from None


def layout_program():
    """C source that prints the layout of shm.h."""
    out = ["#include <stddef.h>", "#include <stdio.h>",
           '#include "pfhttpd.h"', '#include "shm.h"', "int main(void) {"]
    for struct_name, members in FIELDS.items():
        out.append(f'printf("size {struct_name} %zu\\n", '
                   f"sizeof(struct {struct_name}));")
        for m in members:
            out.append(
                f'printf("field {struct_name} {m} %zu %zu\\n", '
                f"offsetof(struct {struct_name}, {m}), "
                f"sizeof(((struct {struct_name} *)0)->{m}));")
    for c in CONSTANTS:
        out.append(f'printf("const {c} %llu\\n", '
                   f"(unsigned long long)({c}));")
    out.append("return 0; }")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="session")
def layout(tmp_path_factory):
    """The Layout of src/shm.h as compiled now."""
    d = tmp_path_factory.mktemp("layout")
    (d / "layout.c").write_text(layout_program())
    subprocess.run(["gcc", "-std=c11", "-I", str(REPO / "src"), "-o",
                    str(d / "layout"), str(d / "layout.c")], check=True,
                   capture_output=True, timeout=60)
    out = subprocess.run([str(d / "layout")], check=True,
                         capture_output=True, text=True, timeout=10)
    return Layout(out.stdout)


@pytest.fixture(scope="session")
def statsdump_bin():
    """The statsdump binary under test."""
    if not os.access(STATSDUMP, os.X_OK):
        pytest.fail(f"no statsdump binary at {STATSDUMP}: run "
                    "`make build/statsdump` or set PFHTTPD_STATSDUMP")
    return STATSDUMP


def round_up(x, a):
    return (x + a - 1) & ~(a - 1)


class Segment:
    """A synthetic segment file laid out as shm_create() lays it out.

    Every write goes straight to the file, so a statsdump that maps it
    sees the change.
    """

    def __init__(self, path, layout, master_pid, nslots=4, ring_size=65536,
                 start_time=None, generation=1):
        self.path = Path(path)
        self.l = layout
        self.nslots = nslots
        self.slots_offset = round_up(layout.size["shm_header"],
                                     layout.SHM_CACHELINE)
        self.rings_offset = round_up(
            self.slots_offset + nslots * layout.size["shm_slot"], PAGE)
        self.ring_stride = round_up(layout.size["shm_ring"] + ring_size, PAGE)
        self.size = self._chat_layout(
            self.rings_offset + nslots * self.ring_stride)
        # The address table: one group, a page (shm_ip_layout()).
        self.ip_offset = self.size
        self.size += round_up(layout.size["shm_ipgroup"], PAGE)
        with open(self.path, "wb") as f:
            f.truncate(self.size)
        os.chmod(self.path, 0o640)
        h = {
            "sh_magic": layout.SHM_MAGIC,
            "sh_version": layout.SHM_VERSION,
            "sh_header_size": layout.size["shm_header"],
            "sh_size": self.size,
            "sh_master_pid": master_pid,
            "sh_start_time": int(time.time()) if start_time is None
            else start_time,
            "sh_generation": generation,
            "sh_nslots": nslots,
            "sh_slot_size": layout.size["shm_slot"],
            "sh_slots_offset": self.slots_offset,
            "sh_rings_offset": self.rings_offset,
            "sh_ring_size": ring_size,
            "sh_ring_stride": self.ring_stride,
        }
        for name, value in h.items():
            self.header(name, value)
        self.header("sh_chat_offset", self.chat_offset)
        self.header("sh_ip_offset", self.ip_offset)
        self.header("sh_ip_groups", 1)
        for name, value in CHAT_GEOMETRY.items():
            self.chat(name, value)
        self.chat("ch_entry_size", self.entry_size)
        self.broadcast_next(1)

    def _chat_layout(self, start):
        """Lay out the chat region from start as shm_chat_layout() does;
        return the segment's size."""
        l, g = self.l, CHAT_GEOMETRY
        self.chat_offset = round_up(start, PAGE)
        cslots = round_up(self.chat_offset + l.size["shm_chat"],
                          l.SHM_CACHELINE)
        crings = round_up(cslots + self.nslots * l.size["shm_chat_slot"],
                          PAGE)
        cring_stride = round_up(l.size["shm_ring"] + g["ch_ring_size"], PAGE)
        self.bcast_offset = crings + self.nslots * cring_stride
        self.rooms_offset = round_up(
            self.bcast_offset + l.size["bcast_ring"] + g["ch_bcast_size"],
            PAGE)
        members = (self.rooms_offset
                   + g["ch_max_rooms"] * l.size["shm_chat_room"])
        history = round_up(
            members + g["ch_max_members"] * l.size["shm_chat_member"], PAGE)
        self.entry_size = round_up(
            l.size["shm_chat_entry"] + l.const[
                f"CHATMSG_OUT_EVENT_MAX({g['ch_max_message']})"],
            l.SHM_CACHELINE)
        entries = l.const[f"SHM_CHAT_ENTRIES({g['ch_history']})"]
        return round_up(history + g["ch_max_rooms"] * entries
                        * self.entry_size, PAGE)

    def _put(self, offset, size, value):
        fmt = {4: "<I", 8: "<Q"}[size]
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, struct.pack(fmt, value), offset)
        finally:
            os.close(fd)

    def header(self, name, value):
        """Set a header field (scalars only)."""
        off, size = self.l.field["shm_header", name]
        self._put(off, size, value)

    def slot_base(self, i):
        return self.slots_offset + i * self.l.size["shm_slot"]

    def slot(self, i, state, pid=0, worker_id=0, generation=1, started=0):
        """Set the identity of slot i; state is a name like "SERVING"."""
        base = self.slot_base(i)
        for name, value in (("ss_pid", pid), ("ss_worker_id", worker_id),
                            ("ss_generation", generation),
                            ("ss_started", started),
                            ("ss_state", self.l.const["SHM_SLOT_" + state])):
            off, size = self.l.field["shm_slot", name]
            self._put(base + off, size, value)

    def counter(self, where, name, value, index=None):
        """Set a counter of slot where (an int) or of the retired totals
        (where="retired"); index selects an element of an array."""
        if where == "retired":
            base = self.l.field["shm_header", "sh_retired"][0]
        else:
            base = self.slot_base(where) + self.l.field["shm_slot", "ss_c"][0]
        off, size = self.l.field["shm_counters", name]
        if index is not None:
            assert 0 <= index < size // 8, (name, index)
            off, size = off + 8 * index, 8
        self._put(base + off, 8, value)

    def ring_written(self, i, value, member="rg_written"):
        """Set the access-log lines written from ring i (or another of the
        logger's counts of it: member)."""
        off, size = self.l.field["shm_ring", member]
        self._put(self.rings_offset + i * self.ring_stride + off, size, value)

    def chat(self, name, value):
        """Set a field of the chat region's header (struct shm_chat)."""
        off, size = self.l.field["shm_chat", name]
        self._put(self.chat_offset + off, size, value)

    def redis(self, **values):
        """Set fields of the hub's link to Redis (struct shm_chat_redis):
        redis(rd_state=2, rd_connects=1)."""
        base = self.chat_offset + self.l.field["shm_chat", "ch_redis"][0]
        for name, value in values.items():
            off, size = self.l.field["shm_chat_redis", name]
            self._put(base + off, size, value)

    def broadcast_next(self, event):
        """Set the number the next broadcast event gets (br_next_event)."""
        off, size = self.l.field["bcast_ring", "br_next_event"]
        self._put(self.bcast_offset + off, size, event)

    def room(self, i, name, members, seq, epoch=1, used=1):
        """Make room entry i the room name with members and last seq."""
        base = self.rooms_offset + i * self.l.size["shm_chat_room"]
        off, size = self.l.field["shm_chat_room", "rm_name"]
        raw = name.encode()
        assert len(raw) < size
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, raw.ljust(size, b"\0"), base + off)
        finally:
            os.close(fd)
        for field, v in (("rm_members", members), ("rm_seq", seq),
                         ("rm_epoch", epoch), ("rm_used", used)):
            off, size = self.l.field["shm_chat_room", field]
            self._put(base + off, size, v)

    def counters(self, where, **values):
        """Set several scalar counters: counters(0, sc_requests=5)."""
        for name, value in values.items():
            self.counter(where, name, value)


@pytest.fixture(scope="session")
def master(tmp_path_factory):
    """The pid of a process that passes for a running master: it runs, and
    its name is pfhttpd's (a copy of sleep(1) called pfhttpd)."""
    fake = tmp_path_factory.mktemp("master") / "pfhttpd"
    shutil.copy(shutil.which("sleep"), fake)
    proc = subprocess.Popen([str(fake), "3600"], stdin=subprocess.DEVNULL)
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture
def segment(tmp_path, layout, master):
    """Factory: segment(path=tmp_path/"seg", **Segment arguments), owned by
    the running fake master unless master_pid says otherwise."""
    def make(path=None, **kw):
        kw.setdefault("master_pid", master)
        return Segment(path or tmp_path / "seg", layout, **kw)
    return make


def dead_pid():
    """A pid that no process has: a child spawned and reaped."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def run(binary, *args, user=None):
    """Run statsdump to completion; return the CompletedProcess."""
    cmd = [binary, *args]
    if user is not None:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup",
               "--clear-groups", *cmd]
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)


def run_ok(binary, *args):
    proc = run(binary, *args)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert proc.stderr == "", proc.stderr
    return proc.stdout


def run_json(binary, seg):
    out = run_ok(binary, "-s", str(seg.path), "--json")
    assert out.endswith("\n") and out.count("\n") == 1, out
    return json.loads(out)


# A busy segment: retired totals, three live slots, one exited slot whose
# counters were already folded, and a free slot holding leftovers. Only
# retired + live slots count.
RETIRED = dict(sc_conn_accepted=100, sc_requests=1000, sc_bytes_in=50000,
               sc_bytes_out=900000, sc_log_queued=990, sc_log_dropped=10,
               sc_ws_upgrades=3, sc_ws_messages_in=30, sc_ws_messages_out=31,
               sc_ws_bytes_in=300, sc_ws_bytes_out=310)
LIVE = {
    0: dict(sc_conn_accepted=7, sc_conn_active=2, sc_requests=70,
            sc_bytes_in=700, sc_bytes_out=7000, sc_log_queued=70,
            sc_ws_upgrades=1, sc_ws_open=1, sc_ws_messages_in=5,
            sc_ws_messages_out=6, sc_ws_bytes_in=50, sc_ws_bytes_out=60),
    1: dict(sc_conn_accepted=3, sc_conn_active=1, sc_requests=30,
            sc_bytes_in=300, sc_bytes_out=3000, sc_log_queued=29,
            sc_log_dropped=1),
    3: dict(sc_conn_accepted=1, sc_requests=2, sc_bytes_out=20),
}
NOT_COUNTED = dict(sc_conn_accepted=555, sc_conn_active=5,
                   sc_requests=5555, sc_bytes_in=55, sc_bytes_out=55555,
                   sc_log_queued=5, sc_log_dropped=5, sc_ws_upgrades=5,
                   sc_ws_open=5, sc_ws_messages_in=5, sc_ws_messages_out=5)
RESPONSES = {"retired": {200: 900, 404: 100}, 0: {200: 60, 304: 10},
             1: {200: 25, 500: 5}, 3: {204: 2}}
# Lines the logger wrote, per ring. Rings outlive their workers: every
# ring counts, whatever the state of its slot.
RING_WRITTEN = {0: 1000, 2: 60, 4: 20}
# Records the logger took and could not write, per ring.
RING_DISCARDED = {2: 3, 5: 1}


def busy_segment(segment, **kw):
    seg = segment(nslots=6, **kw)
    seg.counters("retired", **RETIRED)
    seg.slot(0, "SERVING", pid=4242, worker_id=1, generation=2,
             started=1700000000)
    seg.slot(1, "DRAINING", pid=4243, worker_id=2, generation=1)
    seg.slot(2, "EXITED", pid=4244, worker_id=3, generation=1)
    seg.slot(3, "STARTING", pid=4245, worker_id=3, generation=2)
    # slot 4 is free with leftovers; slot 5 is free and empty
    for where, values in LIVE.items():
        seg.counters(where, **values)
    seg.counters(2, **NOT_COUNTED)
    seg.counters(4, **NOT_COUNTED)
    for where in (2, 4):
        seg.counter(where, "sc_responses", 5, index=418)
        seg.counter(where, "sc_latency", 5, index=20)
    for where, codes in RESPONSES.items():
        for code, n in codes.items():
            seg.counter(where, "sc_responses", n, index=code)
    for i, n in RING_WRITTEN.items():
        seg.ring_written(i, n)
    for i, n in RING_DISCARDED.items():
        seg.ring_written(i, n, member="rg_discarded")
    return seg


def expected_total(name):
    return RETIRED.get(name, 0) + sum(v.get(name, 0) for v in LIVE.values())


def expected_responses():
    out = {}
    for codes in RESPONSES.values():
        for code, n in codes.items():
            out[str(code)] = out.get(str(code), 0) + n
    return out


@pytest.fixture
def busy(segment):
    return busy_segment(segment)


# -- text ------------------------------------------------------------------


def test_text_report_shows_header_totals_and_worker_rows(statsdump_bin,
                                                         busy, master):
    busy.header("sh_generation", 7)
    out = run_ok(statsdump_bin, "-s", str(busy.path))
    lines = out.splitlines()
    header = lines[0]
    assert str(busy.path) in header
    assert f"master {master}," in header
    assert "running" in header and "STALE" not in header
    assert "generation 7" in header
    assert re.search(r"up (\d+d )?\d\d:\d\d:\d\d", header), header

    def line(prefix):
        found = [x for x in lines if x.startswith(prefix)]
        assert len(found) == 1, (prefix, out)
        return found[0]

    assert re.search(r"accepted 111\b.*active 3\b", line("connections"))
    assert re.search(r"\b1102\b", line("requests"))
    assert re.search(r"in 51000\b.*out 910020\b", line("bytes"))
    assert re.search(r"queued 1089\b.*written 1080\b.*dropped 11\b"
                     r".*discarded 4\b.*pending 5\b", line("log records"))
    assert line("logger") == "logger       not running, last wrote never"
    assert re.search(r"upgrades 4\b.*open 1\b.*messages in 35\b.*out 37\b",
                     line("websocket"))
    # status codes: non-zero only, sorted, FREE/EXITED leftovers left out
    codes = re.findall(r"(\d{3}): (\d+)", line("responses"))
    assert codes == [("200", "985"), ("204", "2"), ("304", "10"),
                     ("404", "100"), ("500", "5")]

    rows = {}
    for x in lines:
        f = x.split()
        if len(f) == 9 and f[0].isdigit():
            rows[int(f[0])] = f
    assert sorted(rows) == [0, 1, 2, 3], out  # not the free slots 4 and 5
    assert rows[0] == ["0", "1", "4242", "2", "serving", "2", "70", "7000",
                       "0"]
    assert rows[1] == ["1", "2", "4243", "1", "draining", "1", "30", "3000",
                       "0"]
    assert rows[2][4] == "exited" and rows[2][2] == "4244"
    assert rows[2][8] == "-"  # no chat lag for an exited worker
    assert rows[3][4] == "starting"
    assert "/s)" not in out  # one report: no rates


def test_text_report_shows_latency_percentiles_in_time_units(statsdump_bin,
                                                             segment):
    seg = segment()
    seg.slot(0, "SERVING", pid=1, worker_id=1)
    seg.counter(0, "sc_latency", 50, index=3)  # [8, 16) us
    seg.counter(0, "sc_latency", 45, index=10)  # [1024, 2048) us
    seg.counter(0, "sc_latency", 5, index=21)  # [2, 4.2) s
    out = run_ok(statsdump_bin, "-s", str(seg.path))
    lat = [x for x in out.splitlines() if x.startswith("latency")][0]
    assert "p50 <= 16 us" in lat, lat
    assert "p90 <= 2.048 ms" in lat, lat
    assert "p99 <= 4.194 s" in lat, lat


def test_text_report_of_an_idle_server_says_so_line_by_line(statsdump_bin,
                                                            segment):
    out = run_ok(statsdump_bin, "-s", str(segment().path))
    lines = out.splitlines()
    assert "responses    none" in lines, out
    assert "latency      no requests timed" in lines, out
    assert out.endswith("\n\nno workers\n"), out


def test_text_report_puts_six_status_codes_on_a_line(statsdump_bin,
                                                      segment):
    seg = segment()
    for i, code in enumerate((200, 201, 204, 206, 301, 302, 304)):
        seg.counter("retired", "sc_responses", i + 1, index=code)
    lines = run_ok(statsdump_bin, "-s", str(seg.path)).splitlines()
    i = next(n for n, x in enumerate(lines) if x.startswith("responses"))
    assert lines[i] == ("responses    200: 1  201: 2  204: 3  206: 4  "
                        "301: 5  302: 6"), lines[i]
    assert lines[i + 1] == " " * 13 + "304: 7", lines[i + 1]


@pytest.mark.parametrize("failed, text", [(1, "(1 failed reload)"),
                                          (2, "(2 failed reloads)")])
def test_text_header_counts_failed_reloads(statsdump_bin, segment, failed,
                                           text):
    seg = segment(generation=3)
    seg.header("sh_reloads_failed", failed)
    header = run_ok(statsdump_bin, "-s", str(seg.path)).splitlines()[0]
    assert header.endswith(f", generation 3 {text}"), header


def test_text_report_warns_when_read_during_a_fold(statsdump_bin, stale):
    stale.header("sh_fold_seq", 7)  # odd: a fold the dead master left
    lines = run_ok(statsdump_bin, "-s", str(stale.path)).splitlines()
    assert lines[1].startswith("warning: read while the master folded an "
                               "exited worker"), lines[1]


# -- JSON ------------------------------------------------------------------


def test_json_report_sums_retired_and_live_slots_only(statsdump_bin, busy):
    doc = run_json(statsdump_bin, busy)
    assert doc["requests"] == expected_total("sc_requests") == 1102
    assert doc["connections_accepted"] == expected_total("sc_conn_accepted")
    assert doc["connections_active"] == expected_total("sc_conn_active")
    assert doc["bytes_in"] == expected_total("sc_bytes_in")
    assert doc["bytes_out"] == expected_total("sc_bytes_out")
    queued = expected_total("sc_log_queued")
    written = sum(RING_WRITTEN.values())
    discarded = sum(RING_DISCARDED.values())
    assert doc["log"] == {"queued": queued, "written": written,
                          "dropped": expected_total("sc_log_dropped"),
                          "discarded": discarded,
                          "pending": queued - written - discarded,
                          "logger_pid": 0, "last_write": None}
    ws = doc["websocket"]
    for key, name in (("upgrades", "sc_ws_upgrades"), ("open", "sc_ws_open"),
                      ("messages_in", "sc_ws_messages_in"),
                      ("messages_out", "sc_ws_messages_out"),
                      ("bytes_in", "sc_ws_bytes_in"),
                      ("bytes_out", "sc_ws_bytes_out")):
        assert ws[key] == expected_total(name), key
    assert doc["responses"] == expected_responses()
    assert doc["latency_us"] == {"p50": None, "p90": None, "p99": None}


def test_json_report_lists_every_slot_in_use_as_a_worker(statsdump_bin,
                                                         busy):
    doc = run_json(statsdump_bin, busy)
    workers = {w["slot"]: w for w in doc["workers"]}
    assert sorted(workers) == [0, 1, 2, 3]
    assert workers[0] == {**workers[0], "slot": 0, "id": 1, "pid": 4242,
                          "generation": 2, "state": "serving",
                          "connections_active": 2, "requests": 70,
                          "bytes_out": 7000}
    assert workers[1]["state"] == "draining"
    assert workers[2]["state"] == "exited"
    assert workers[2]["requests"] == NOT_COUNTED["sc_requests"]
    assert workers[3]["state"] == "starting"
    for w in doc["workers"]:
        for key in ("slot", "id", "pid", "generation", "state",
                    "connections_active", "requests", "bytes_out"):
            assert key in w, (key, w)


def test_json_report_describes_the_master(statsdump_bin, segment, master):
    start = int(time.time()) - 3725
    seg = segment(start_time=start, generation=4)
    doc = run_json(statsdump_bin, seg)
    assert doc["master_pid"] == master
    assert doc["stale"] is False
    assert doc["generation"] == 4
    assert 3725 <= doc["uptime_seconds"] <= 3725 + 5
    assert doc["requests_per_second"] is None  # one read: no rate
    assert doc["workers"] == []
    assert doc["responses"] == {}


def test_text_report_shows_the_logger_pid_and_how_long_ago_it_wrote(
        statsdump_bin, segment):
    seg = segment()
    seg.header("sh_logger_pid", 4250)
    seg.header("sh_logger_wrote", int(time.time()) - 42)
    out = run_ok(statsdump_bin, "-s", str(seg.path))
    line = [x for x in out.splitlines() if x.startswith("logger")]
    assert len(line) == 1, out
    # 42 s ago when written; the read may come a few seconds later
    m = re.fullmatch(r"logger +pid 4250, last wrote (\d+) s ago", line[0])
    assert m and 42 <= int(m.group(1)) <= 42 + 5, line[0]


def test_json_report_gives_the_logger_pid_and_its_last_write(statsdump_bin,
                                                            segment):
    seg = segment()
    seg.header("sh_logger_pid", 4250)
    seg.header("sh_logger_wrote", 1700000000)
    log = run_json(statsdump_bin, seg)["log"]
    assert (log["logger_pid"], log["last_write"]) == (4250, 1700000000)


def test_pending_is_zero_not_negative_when_a_line_is_counted_first(
        statsdump_bin, segment):
    # A worker counts a record just after publishing it: the logger may
    # write and count the line in between.
    seg = segment()
    seg.slot(0, "SERVING", pid=1, worker_id=1)
    seg.counters(0, sc_log_queued=5)
    seg.ring_written(0, 6)
    log = run_json(statsdump_bin, seg)["log"]
    assert (log["queued"], log["written"], log["pending"]) == (5, 6, 0)


@pytest.mark.parametrize("buckets, p50, p90, p99", [
    # 100 durations: ranks 50, 90 and 99 land in different buckets
    ({0: 50, 4: 40, 9: 9, 12: 1}, 2, 32, 1024),
    # ranks exactly at a bucket's last element stay in that bucket
    ({1: 50, 2: 40, 3: 9, 20: 1}, 4, 8, 16),
    # 10 durations: the rank of p99 is ceil(9.9) = 10, not 9
    ({2: 9, 6: 1}, 8, 8, 128),
    # one duration: every percentile is its bucket
    ({15: 1}, 1 << 16, 1 << 16, 1 << 16),
    # the last bucket's upper bound
    ({31: 3}, 1 << 32, 1 << 32, 1 << 32),
])
def test_percentiles_are_the_upper_bound_of_the_bucket_holding_the_rank(
        statsdump_bin, segment, buckets, p50, p90, p99):
    seg = segment()
    seg.slot(1, "SERVING", pid=1, worker_id=1)
    # split the histogram between retired and live: totals are summed
    for i, n in buckets.items():
        seg.counter("retired", "sc_latency", n // 2, index=i)
        seg.counter(1, "sc_latency", n - n // 2, index=i)
    doc = run_json(statsdump_bin, seg)
    assert doc["latency_us"] == {"p50": p50, "p90": p90, "p99": p99}


# -- Prometheus --------------------------------------------------------------

SAMPLE = re.compile(
    r"([a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\n]|\\.)*\",?)*)\})?"
    r" (\S+)$")
LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\n]|\\.)*)\"")


def parse_prometheus(text):
    """Parse and validate the text exposition format 0.0.4.

    Return {family: {"type", "help", "samples": [(name, labels, value)]}}.
    Every sample must follow its family's HELP and TYPE, a family's samples
    must be contiguous, and counters must be named *_total.
    """
    assert text.endswith("\n")
    families = {}
    current = None
    done = set()
    for line in text.splitlines():
        assert line, "empty line"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert name not in families, f"second HELP for {name}"
            assert help_text.strip(), f"empty HELP for {name}"
            families[name] = {"help": help_text, "type": None,
                              "samples": []}
            if current is not None:
                done.add(current)
            current = name
            continue
        if line.startswith("# TYPE "):
            name, typ = line[7:].split(" ")
            assert name == current, f"TYPE {name} without its HELP first"
            assert families[name]["type"] is None, f"second TYPE {name}"
            assert typ in ("counter", "gauge", "histogram", "summary",
                           "untyped"), typ
            families[name]["type"] = typ
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, f"bad sample line {line!r}"
        name, labels, value = m.groups()
        family = name
        if family not in families:
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix):
                    family = name[:-len(suffix)]
        assert family in families, f"sample {name} without HELP/TYPE"
        assert family == current, f"samples of {family} not contiguous"
        assert family not in done
        typ = families[family]["type"]
        assert typ is not None, f"sample {name} before its TYPE"
        if family != name:
            assert typ == "histogram", (name, typ)
        labels = dict(LABEL.findall(labels or ""))
        v = float(value)
        assert not math.isnan(v)
        families[family]["samples"].append((name, labels, v))
    for name, fam in families.items():
        if fam["type"] == "counter":
            assert name.endswith("_total"), f"counter {name} not *_total"
    return families


def prometheus(binary, seg):
    return parse_prometheus(
        run_ok(binary, "-s", str(seg.path), "--prometheus"))


def value(families, name, **labels):
    """The one sample called name with exactly these labels."""
    family = name
    for suffix in ("_bucket", "_sum", "_count"):
        if name not in families and name.endswith(suffix):
            family = name[:-len(suffix)]
    fam = families[family]
    found = [v for n, lb, v in fam["samples"] if n == name and lb == labels]
    assert len(found) == 1, (name, labels, fam["samples"])
    return found[0]


def test_prometheus_output_is_valid_and_names_the_documented_metrics(
        statsdump_bin, busy):
    fams = prometheus(statsdump_bin, busy)
    types = {
        "pfhttpd_up": "gauge",
        "pfhttpd_start_time_seconds": "gauge",
        "pfhttpd_requests_total": "counter",
        "pfhttpd_responses_total": "counter",
        "pfhttpd_bytes_in_total": "counter",
        "pfhttpd_bytes_out_total": "counter",
        "pfhttpd_connections_accepted_total": "counter",
        "pfhttpd_connections_active": "gauge",
        "pfhttpd_log_records_queued_total": "counter",
        "pfhttpd_log_lines_written_total": "counter",
        "pfhttpd_log_records_discarded_total": "counter",
        "pfhttpd_log_records_pending": "gauge",
        "pfhttpd_log_records_dropped_total": "counter",
        "pfhttpd_websocket_upgrades_total": "counter",
        "pfhttpd_websocket_open": "gauge",
        "pfhttpd_websocket_messages_in_total": "counter",
        "pfhttpd_websocket_messages_out_total": "counter",
        "pfhttpd_request_duration_seconds": "histogram",
        "pfhttpd_worker_requests_total": "counter",
    }
    for name, typ in types.items():
        assert fams[name]["type"] == typ, name
    assert all(n.startswith("pfhttpd_") for n in fams)
    assert value(fams, "pfhttpd_up") == 1
    assert value(fams, "pfhttpd_requests_total") == 1102
    assert value(fams, "pfhttpd_bytes_out_total") == 910020
    assert value(fams, "pfhttpd_connections_active") == 3
    assert value(fams, "pfhttpd_log_records_queued_total") == 1089
    assert value(fams, "pfhttpd_log_lines_written_total") == 1080
    assert value(fams, "pfhttpd_log_records_discarded_total") == 4
    assert value(fams, "pfhttpd_log_records_dropped_total") == 11
    assert value(fams, "pfhttpd_log_records_pending") == 5
    assert value(fams, "pfhttpd_websocket_messages_in_total") == 35
    codes = {lb["code"]: v for n, lb, v in
             fams["pfhttpd_responses_total"]["samples"]}
    assert codes == {k: float(v) for k, v in expected_responses().items()}
    workers = {(lb["slot"], lb["pid"]): v for n, lb, v in
               fams["pfhttpd_worker_requests_total"]["samples"]}
    # running workers only: the exited slot is already in the totals
    assert workers == {("0", "4242"): 70, ("1", "4243"): 30,
                       ("3", "4245"): 2}


def test_prometheus_histogram_is_cumulative_and_ends_at_its_count(
        statsdump_bin, segment):
    seg = segment()
    seg.slot(0, "SERVING", pid=1, worker_id=1)
    hist = {0: 3, 1: 4, 7: 10, 20: 2, 31: 1}
    for i, n in hist.items():
        seg.counter(0, "sc_latency", n, index=i)
    fams = prometheus(statsdump_bin, seg)
    samples = fams["pfhttpd_request_duration_seconds"]["samples"]
    buckets = [(lb["le"], v) for n, lb, v in samples
               if n == "pfhttpd_request_duration_seconds_bucket"]
    assert buckets[-1][0] == "+Inf"
    les = [float(le) for le, _ in buckets]
    assert les == sorted(les) and len(set(les)) == len(les)
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets are not cumulative"
    count = value(fams, "pfhttpd_request_duration_seconds_count")
    assert counts[-1] == count == sum(hist.values())
    # bucket i holds [2^i, 2^(i+1)) us: le = 2^(i+1) us, in seconds
    by_le = dict(buckets)
    assert by_le["0.000002"] == 3
    assert by_le["0.000004"] == 7
    assert by_le["0.000128"] == 7
    assert by_le["0.000256"] == 7 + 10
    assert by_le["2.097152"] == 7 + 10 + 2
    total = value(fams, "pfhttpd_request_duration_seconds_sum")
    assert 0 < total < count * 2 ** 32 / 1e6


# -- refusals and staleness -----------------------------------------------


@pytest.mark.parametrize("field, bad, words", [
    ("sh_magic", 0x4141414141414141, ["bad magic"]),
    ("sh_version", 99, ["version 99"]),
])
def test_wrong_magic_or_version_is_refused(statsdump_bin, busy, field, bad,
                                           words):
    busy.header(field, bad)
    for fmt in ([], ["--json"], ["--prometheus"]):
        proc = run(statsdump_bin, "-s", str(busy.path), *fmt)
        assert proc.returncode == 1, proc
        assert proc.stdout == ""
        assert str(busy.path) in proc.stderr
        for w in words:
            assert w in proc.stderr, proc.stderr


def test_slot_table_outside_the_segment_is_refused(statsdump_bin, busy):
    busy.header("sh_nslots", 1000000)
    proc = run(statsdump_bin, "-s", str(busy.path), "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "corrupt" in proc.stderr, proc.stderr


def test_missing_segment_says_so(statsdump_bin, tmp_path):
    proc = run(statsdump_bin, "-s", str(tmp_path / "nothing"))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "no such segment" in proc.stderr, proc.stderr


@pytest.fixture
def stale(segment):
    return busy_segment(segment, master_pid=dead_pid())


def test_segment_of_a_dead_master_is_stale_in_text(statsdump_bin, stale):
    out = run_ok(statsdump_bin, "-s", str(stale.path))
    header = out.splitlines()[0]
    assert STALE_TEXT in header, header
    assert "running" not in header


def test_segment_of_a_dead_master_is_stale_in_json(statsdump_bin, stale):
    doc = run_json(statsdump_bin, stale)
    assert doc["stale"] is True
    assert doc["requests"] == 1102  # the last numbers, flagged


def test_segment_of_a_dead_master_is_down_in_prometheus(statsdump_bin,
                                                        stale):
    fams = prometheus(statsdump_bin, stale)
    assert value(fams, "pfhttpd_up") == 0


def test_master_pid_taken_by_another_program_is_stale(statsdump_bin,
                                                      segment):
    # this test process runs, and is not pfhttpd
    seg = segment(master_pid=os.getpid())
    assert run_json(statsdump_bin, seg)["stale"] is True
    out = run_ok(statsdump_bin, "-s", str(seg.path))
    assert STALE_TEXT in out.splitlines()[0]


def test_dead_master_interrupted_in_a_fold_does_not_hang(statsdump_bin,
                                                         stale):
    stale.header("sh_fold_seq", 7)  # odd: folding, forever
    doc = run_json(statsdump_bin, stale)
    assert doc["stale"] is True
    assert doc["totals_torn"] is True
    assert doc["requests"] == 1102


def test_live_master_stuck_in_a_fold_does_not_hang(statsdump_bin, busy):
    busy.header("sh_fold_seq", 3)
    t0 = time.monotonic()
    doc = run_json(statsdump_bin, busy)
    assert time.monotonic() - t0 < 5
    assert doc["stale"] is False and doc["totals_torn"] is True


def test_unreadable_segment_gives_the_permission_message(statsdump_bin,
                                                         segment):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as nobody")
    d = Path(tempfile.mkdtemp(prefix="statsdump-"))
    try:
        os.chmod(d, 0o755)  # nobody may reach what is inside
        binary = d / "statsdump"
        shutil.copy(statsdump_bin, binary)
        os.chmod(binary, 0o755)
        seg = segment(d / "seg")
        os.chmod(seg.path, 0o644)
        ok = run(str(binary), "-s", str(seg.path), user="nobody")
        assert ok.returncode == 0, ok.stderr  # readable: fine as nobody
        os.chmod(seg.path, 0)
        proc = run(str(binary), "-s", str(seg.path), user="nobody")
        assert proc.returncode == 1 and proc.stdout == ""
        assert "permission denied" in proc.stderr, proc.stderr
        assert str(seg.path) in proc.stderr
    finally:
        shutil.rmtree(d)


# -- chat --------------------------------------------------------------------

# The chat hub's side (struct shm_chat) of a chatty segment.
HUB = dict(ch_hub_pid=4300, ch_hub_starts=3, ch_rooms_live=2, ch_members=5,
           ch_events=40, ch_requests=38, ch_refused=2,
           ch_last_event=1796516859622)  # 2026-12-06T00:27:39.622Z
# The workers' chat counters: retired and per live slot (those of the
# busy segment: 0 serving, 1 draining, 3 starting), and of the exited slot.
CHAT_RETIRED = dict(sc_chat_in=20, sc_chat_deliveries=100,
                    sc_chat_rate_limited=1, sc_chat_oversize=2,
                    sc_chat_refused=3, sc_chat_slow_closed=4,
                    sc_chat_gaps=5, sc_chat_missed=6, sc_chat_unavailable=7)
CHAT_LIVE = {
    0: dict(sc_chat_members_ws=2, sc_chat_members_telnet=1, sc_chat_read=40,
            sc_chat_in=10, sc_chat_deliveries=30, sc_chat_rate_limited=10,
            sc_chat_oversize=20, sc_chat_refused=30, sc_chat_slow_closed=40,
            sc_chat_gaps=50, sc_chat_missed=60, sc_chat_unavailable=70),
    1: dict(sc_chat_members_ws=2, sc_chat_read=37, sc_chat_in=8,
            sc_chat_deliveries=12),
    3: dict(sc_chat_read=0),
}
CHAT_EXITED = dict(sc_chat_members_ws=9, sc_chat_read=1, sc_chat_in=900,
                   sc_chat_deliveries=900)


def chat_total(name):
    return CHAT_RETIRED.get(name, 0) + sum(
        v.get(name, 0) for v in CHAT_LIVE.values())


@pytest.fixture
def chatty(segment):
    """The busy segment, with a hub that published 40 events: slot 0 read
    them all, slot 1 is 3 behind, slot 3 is starting."""
    seg = busy_segment(segment)
    for name, v in HUB.items():
        seg.chat(name, v)
    seg.broadcast_next(41)
    seg.counters("retired", **CHAT_RETIRED)
    for where, values in CHAT_LIVE.items():
        seg.counters(where, **values)
    seg.counters(2, **CHAT_EXITED)
    return seg


def test_json_chat_object_has_the_hub_and_the_workers_sums(statsdump_bin,
                                                           chatty):
    chat = run_json(statsdump_bin, chatty)["chat"]
    assert chat == {
        "rooms": 2, "members": 5, "members_websocket": 4,
        "members_telnet": 1, "events": 40,
        "requests": chat_total("sc_chat_in"), "hub_requests": 38,
        "deliveries": chat_total("sc_chat_deliveries"),
        "rate_limited": chat_total("sc_chat_rate_limited"),
        "oversize": chat_total("sc_chat_oversize"),
        "refused": chat_total("sc_chat_refused"), "hub_refused": 2,
        "slow_closed": chat_total("sc_chat_slow_closed"),
        "gaps": chat_total("sc_chat_gaps"),
        "missed": chat_total("sc_chat_missed"),
        "unavailable": chat_total("sc_chat_unavailable"),
        "hub_pid": 4300, "hub_restarts": 2,
        "last_event": "2026-12-06T00:27:39.622Z",
        "events_per_second": None, "deliveries_per_second": None,
        "redis": REDIS_OFF_JSON,
    }


def test_json_chat_of_a_segment_without_chat_says_never_and_none(
        statsdump_bin, busy):
    chat = run_json(statsdump_bin, busy)["chat"]
    assert chat["last_event"] is None
    assert chat["hub_pid"] == 0 and chat["hub_restarts"] == 0
    assert chat["events"] == 0 and chat["members"] == 0


def test_chat_lag_is_the_events_between_a_workers_last_read_and_the_head(
        statsdump_bin, chatty):
    workers = {w["slot"]: w for w in run_json(statsdump_bin,
                                              chatty)["workers"]}
    assert workers[0]["chat_lag"] == 0
    assert workers[1]["chat_lag"] == 3
    assert workers[0]["chat_members"] == 3
    assert workers[1]["chat_members"] == 2


def test_chat_lag_is_unknown_for_a_worker_starting_or_exited(
        statsdump_bin, chatty):
    # Slot 3 is starting: it has no place in the ring yet; slot 2 exited.
    workers = {w["slot"]: w for w in run_json(statsdump_bin,
                                              chatty)["workers"]}
    assert workers[3]["chat_lag"] is None
    assert workers[2]["chat_lag"] is None
    rows = [x.split() for x in run_ok(
        statsdump_bin, "-s", str(chatty.path)).splitlines()]
    lag = {int(f[0]): f[8] for f in rows if len(f) == 9 and f[0].isdigit()}
    assert lag == {0: "0", 1: "3", 2: "-", 3: "-"}
    fams = prometheus(statsdump_bin, chatty)
    samples = {(lb["slot"], lb["pid"]): v for n, lb, v in
               fams["pfhttpd_chat_worker_lag_events"]["samples"]}
    assert samples == {("0", "4242"): 0, ("1", "4243"): 3}


def test_chat_lag_is_zero_not_negative_when_a_worker_read_past_the_head(
        statsdump_bin, chatty):
    # The head is read after the workers: one may have read newer events.
    chatty.counter(1, "sc_chat_read", 45)
    workers = {w["slot"]: w for w in run_json(statsdump_bin,
                                              chatty)["workers"]}
    assert workers[1]["chat_lag"] == 0


def test_text_chat_section_shows_hub_members_events_and_losses(
        statsdump_bin, chatty):
    out = run_ok(statsdump_bin, "-s", str(chatty.path))
    chat = [x for x in out.splitlines() if x.startswith("chat")]
    assert chat[0].startswith("chat hub     pid 4300, restarts 2, "
                              "last event "), chat
    assert re.fullmatch(r".*last event \d+ s ago", chat[0]), chat
    assert chat[1:] == [
        "chat         rooms 2  members 5 (websocket 4  telnet 1)",
        f"chat events  sequenced 40  deliveries "
        f"{chat_total('sc_chat_deliveries')}",
        f"chat in      requests {chat_total('sc_chat_in')}  hub took 38  "
        f"hub refused 2  unavailable 77",
        "chat drops   rate-limited 11  oversize 22  refused 33  "
        "slow closed 44",
        "chat lapped  gaps 55  events missed 66",
    ]


def test_text_chat_hub_line_says_when_no_hub_runs(statsdump_bin, busy):
    out = run_ok(statsdump_bin, "-s", str(busy.path))
    assert ("chat hub     not running, restarts 0, last event never"
            in out.splitlines()), out


def test_prometheus_chat_families_have_their_types_and_values(statsdump_bin,
                                                              chatty):
    fams = prometheus(statsdump_bin, chatty)
    gauges = {"pfhttpd_chat_hub_up": 1, "pfhttpd_chat_rooms": 2,
              "pfhttpd_chat_members": 5,
              "pfhttpd_chat_last_event_time_seconds": 1796516859.622}
    counters = {
        "pfhttpd_chat_hub_restarts_total": 2,
        "pfhttpd_chat_events_total": 40,
        "pfhttpd_chat_hub_requests_total": 38,
        "pfhttpd_chat_hub_refused_total": 2,
        "pfhttpd_chat_requests_total": chat_total("sc_chat_in"),
        "pfhttpd_chat_deliveries_total": chat_total("sc_chat_deliveries"),
        "pfhttpd_chat_rate_limited_total":
            chat_total("sc_chat_rate_limited"),
        "pfhttpd_chat_oversize_total": chat_total("sc_chat_oversize"),
        "pfhttpd_chat_refused_total": chat_total("sc_chat_refused"),
        "pfhttpd_chat_slow_closed_total": chat_total("sc_chat_slow_closed"),
        "pfhttpd_chat_gaps_total": chat_total("sc_chat_gaps"),
        "pfhttpd_chat_missed_total": chat_total("sc_chat_missed"),
        "pfhttpd_chat_unavailable_total": chat_total("sc_chat_unavailable"),
    }
    for name, v in {**gauges, **counters}.items():
        assert fams[name]["type"] == ("gauge" if name in gauges
                                      else "counter"), name
        assert value(fams, name) == pytest.approx(v), name
    assert fams["pfhttpd_chat_clients"]["type"] == "gauge"
    assert value(fams, "pfhttpd_chat_clients", transport="websocket") == 4
    assert value(fams, "pfhttpd_chat_clients", transport="telnet") == 1
    assert fams["pfhttpd_chat_worker_lag_events"]["type"] == "gauge"


# -- the hub's link to Redis --------------------------------------------------

# What every format says of a hub without [chat] redis.
REDIS_OFF_JSON = {"state": "off", "state_seconds": None, "connects": 0,
                  "failures": 0, "published": 0, "applied": 0,
                  "unavailable": 0, "inflight": 0,
                  "last_event_seconds": None, "skipped": 0, "reseeds": 0}
# A link that is up: the fields, and the ages its times stand for.
REDIS_UP = dict(rd_connects=3, rd_failures=2, rd_published=40,
                rd_applied=44, rd_unavailable=5, rd_inflight=1,
                rd_skipped=6, rd_reseeds=7)
REDIS_UP_SINCE_S = 120  # the state changed this long ago
REDIS_UP_EVENT_S = 30  # the last event was read this long ago
REDIS_COUNTERS = {"connects": "rd_connects", "failures": "rd_failures",
                  "published": "rd_published", "applied": "rd_applied",
                  "unavailable": "rd_unavailable", "skipped": "rd_skipped",
                  "reseeds": "rd_reseeds"}


@pytest.fixture
def linked(segment, layout):
    """A segment whose hub's link to Redis is up."""
    seg = segment()
    now_ms = int(time.time() * 1000)
    seg.redis(rd_state=layout.SHM_REDIS_UP,
              rd_since=now_ms - REDIS_UP_SINCE_S * 1000,
              rd_last_event=now_ms - REDIS_UP_EVENT_S * 1000, **REDIS_UP)
    return seg


def test_json_redis_object_has_the_state_its_age_and_the_counters(
        statsdump_bin, linked):
    rd = run_json(statsdump_bin, linked)["chat"]["redis"]
    assert rd["state"] == "up"
    assert REDIS_UP_SINCE_S <= rd["state_seconds"] < REDIS_UP_SINCE_S + 5
    assert REDIS_UP_EVENT_S <= rd["last_event_seconds"] \
        < REDIS_UP_EVENT_S + 5
    assert {k: rd[k] for k in REDIS_COUNTERS} == \
        {k: REDIS_UP[f] for k, f in REDIS_COUNTERS.items()}
    assert rd["inflight"] == 1


def test_text_redis_lines_show_the_state_its_age_and_the_counters(
        statsdump_bin, linked):
    out = run_ok(statsdump_bin, "-s", str(linked.path))
    lines = [x for x in out.splitlines() if x.startswith("redis")]
    assert re.fullmatch(r"redis        up for (\d+) s, connects 3, "
                        r"failures 2, last event (\d+) s ago", lines[0]), \
        lines
    assert lines[1] == ("redis events published 40  applied 44  inflight 1"
                        "  unavailable 5  skipped 6  reseeds 7")


def test_prometheus_redis_families_have_their_types_and_values(
        statsdump_bin, linked):
    fams = prometheus(statsdump_bin, linked)
    states = {lb["state"]: v for _, lb, v in
              fams["pfhttpd_chat_redis_state"]["samples"]}
    assert states == {"off": 0, "connecting": 0, "up": 1, "down": 0}
    for key, field in REDIS_COUNTERS.items():
        name = f"pfhttpd_chat_redis_{key}_total"
        assert fams[name]["type"] == "counter", name
        assert value(fams, name) == REDIS_UP[field], name
    assert value(fams, "pfhttpd_chat_redis_inflight") == 1
    for name, age in (("state_age", REDIS_UP_SINCE_S),
                      ("last_event_age", REDIS_UP_EVENT_S)):
        family = f"pfhttpd_chat_redis_{name}_seconds"
        assert fams[family]["type"] == "gauge"
        assert age <= value(fams, family) < age + 5


def test_redis_link_is_off_in_every_format_on_one_machine(statsdump_bin,
                                                          busy):
    assert run_json(statsdump_bin, busy)["chat"]["redis"] == REDIS_OFF_JSON
    out = run_ok(statsdump_bin, "-s", str(busy.path))
    assert ("redis        off, connects 0, failures 0, last event never"
            in out.splitlines()), out
    fams = prometheus(statsdump_bin, busy)
    assert value(fams, "pfhttpd_chat_redis_state", state="off") == 1
    assert fams["pfhttpd_chat_redis_state_age_seconds"]["samples"] == []
    assert fams["pfhttpd_chat_redis_last_event_age_seconds"]["samples"] \
        == []


def test_redis_ages_are_zero_not_negative_for_a_time_ahead_of_the_clock(
        statsdump_bin, linked):
    ahead = int(time.time() * 1000) + 60000
    linked.redis(rd_since=ahead, rd_last_event=ahead)
    rd = run_json(statsdump_bin, linked)["chat"]["redis"]
    assert rd["state_seconds"] == 0 and rd["last_event_seconds"] == 0


def test_prometheus_chat_hub_is_down_without_a_hub_or_a_master(
        statsdump_bin, chatty, busy):
    chatty.header("sh_master_pid", dead_pid())
    assert value(prometheus(statsdump_bin, chatty),
                 "pfhttpd_chat_hub_up") == 0
    fams = prometheus(statsdump_bin, busy)
    assert value(fams, "pfhttpd_chat_hub_up") == 0
    assert fams["pfhttpd_chat_last_event_time_seconds"]["samples"] == []


def rooms_segment(segment):
    """A segment whose room table has two rooms with members, an empty
    room and a free entry."""
    seg = segment()
    seg.room(0, "zebra", members=2, seq=17)
    seg.room(1, "quiet", members=0, seq=4)
    seg.room(2, "alpha-1", members=1, seq=3)
    seg.room(3, "gone", members=5, seq=9, used=0)
    return seg


def test_rooms_option_lists_rooms_with_members_by_name_in_json(
        statsdump_bin, segment):
    seg = rooms_segment(segment)
    doc = json.loads(run_ok(statsdump_bin, "-s", str(seg.path), "--json",
                            "--rooms"))
    assert doc["chat"]["room_list"] == [
        {"name": "alpha-1", "members": 1, "last_seq": 3},
        {"name": "zebra", "members": 2, "last_seq": 17},
    ]
    assert "room_list" not in run_json(statsdump_bin, seg)["chat"]


def test_rooms_option_prints_a_room_table_after_the_workers(statsdump_bin,
                                                            segment):
    seg = rooms_segment(segment)
    out = run_ok(statsdump_bin, "-s", str(seg.path), "--rooms")
    table = out.split("no workers\n\n", 1)[1].splitlines()
    assert [x.split() for x in table] == [
        ["room", "members", "last", "seq"], ["alpha-1", "1", "3"],
        ["zebra", "2", "17"]]
    empty = run_ok(statsdump_bin, "-s", str(segment(
        path=seg.path.with_name("empty")).path), "--rooms")
    assert empty.endswith("\n\nno chat rooms with members\n"), empty


def test_rooms_option_prints_a_bad_room_name_safely(statsdump_bin, segment):
    seg = segment()
    seg.room(0, 'a"b\x1b[2J', members=1, seq=1)
    doc = json.loads(run_ok(statsdump_bin, "-s", str(seg.path), "--json",
                            "--rooms"))
    assert doc["chat"]["room_list"][0]["name"] == "a?b??2J"
    out = run_ok(statsdump_bin, "-s", str(seg.path), "--rooms")
    assert "\x1b" not in out


# -- TLS ---------------------------------------------------------------------

# The short name statsdump gives each class of enum shm_tls_fail.
TLS_CLASS = {"PROTOCOL": "protocol", "CERT": "client_cert",
             "PLAIN_HTTP": "plain_http", "TIMEOUT": "timeout",
             "CLOSED": "closed"}
# Handshakes done, retired and per live slot of the busy segment (0
# serving, 1 draining, 3 starting); the exited and free slots hold 900s
# that must not count.
TLS_DONE = {"retired": dict(sc_tls_full=100, sc_tls_resumed=300,
                           sc_tls_errors=7, sc_tls_renegotiations=2),
            0: dict(sc_tls_full=20, sc_tls_resumed=60, sc_tls_errors=1,
                    sc_tls_renegotiations=1),
            1: dict(sc_tls_full=5, sc_tls_resumed=15),
            3: dict(sc_tls_full=1)}
# Failed handshakes by class (a key of TLS_CLASS), a distinct sum each.
TLS_FAILED = {"retired": dict(PROTOCOL=1, CERT=2, PLAIN_HTTP=3, TIMEOUT=4,
                              CLOSED=5),
              0: dict(PROTOCOL=10, CLOSED=50), 1: dict(PLAIN_HTTP=30)}
TLS_NO_TLS = {"full": 0, "resumed": 0, "resumed_ratio": None,
              "failed": {name: 0 for name in TLS_CLASS.values()},
              "errors": 0, "renegotiations_refused": 0}


def tls_failed(layout, cls):
    """The index in sc_tls_failed of a class named as in TLS_CLASS."""
    return layout.const["SHM_TLS_FAIL_" + cls]


@pytest.fixture
def tlsy(segment, layout):
    """The busy segment, with TLS handshakes done and failed."""
    seg = busy_segment(segment)
    assert layout.SHM_TLS_FAIL_CLASSES == len(TLS_CLASS)
    for where, values in TLS_DONE.items():
        seg.counters(where, **values)
    for where, classes in TLS_FAILED.items():
        for cls, n in classes.items():
            seg.counter(where, "sc_tls_failed", n,
                        index=tls_failed(layout, cls))
    for where in (2, 4):
        seg.counters(where, sc_tls_full=900, sc_tls_resumed=900,
                     sc_tls_errors=900, sc_tls_renegotiations=900)
        for cls in TLS_CLASS:
            seg.counter(where, "sc_tls_failed", 900,
                        index=tls_failed(layout, cls))
    return seg


def test_json_tls_object_sums_handshakes_and_failures_by_class(
        statsdump_bin, tlsy):
    # full 100 + 20 + 5 + 1, resumed 300 + 60 + 15: the ratio is that of
    # the handshakes done, failures left out.
    assert run_json(statsdump_bin, tlsy)["tls"] == {
        "full": 126, "resumed": 375, "resumed_ratio": 0.749,
        "failed": {"protocol": 11, "client_cert": 2, "plain_http": 33,
                   "timeout": 4, "closed": 55},
        "errors": 8, "renegotiations_refused": 3,
    }


def test_json_tls_object_of_a_segment_without_tls_is_zeros_and_no_ratio(
        statsdump_bin, busy):
    assert run_json(statsdump_bin, busy)["tls"] == TLS_NO_TLS


def test_json_workers_carry_their_own_tls_handshakes(statsdump_bin, tlsy):
    workers = {w["slot"]: w for w in run_json(statsdump_bin,
                                              tlsy)["workers"]}
    tls = {slot: (w["tls_full"], w["tls_resumed"], w["tls_failed"])
           for slot, w in workers.items()}
    # the exited slot shows its own numbers, as it does its requests
    assert tls == {0: (20, 60, 60), 1: (5, 15, 30), 2: (900, 900, 4500),
                   3: (1, 0, 0)}


def tls_lines(out):
    return [x for x in out.splitlines() if x.startswith("tls")]


def test_text_tls_lines_show_handshakes_resumption_and_failures_by_class(
        statsdump_bin, tlsy):
    assert tls_lines(run_ok(statsdump_bin, "-s", str(tlsy.path))) == [
        "tls          handshakes full 126  resumed 375 (74.9%)  failed 105",
        "tls failed   protocol 11  client_cert 2  plain_http 33  timeout 4"
        "  closed 55",
        "tls after    errors 8  renegotiations refused 3",
    ]


def test_text_tls_lines_of_a_segment_without_tls_show_zeros_and_no_ratio(
        statsdump_bin, busy):
    assert tls_lines(run_ok(statsdump_bin, "-s", str(busy.path))) == [
        "tls          handshakes full 0  resumed 0  failed 0",
        "tls failed   protocol 0  client_cert 0  plain_http 0  timeout 0"
        "  closed 0",
        "tls after    errors 0  renegotiations refused 0",
    ]


def test_prometheus_tls_families_count_handshakes_by_kind_and_failures(
        statsdump_bin, tlsy):
    fams = prometheus(statsdump_bin, tlsy)
    assert fams["pfhttpd_tls_handshakes_total"]["type"] == "counter"
    assert fams["pfhttpd_tls_handshake_failures_total"]["type"] == "counter"
    kinds = {lb["kind"]: v for _, lb, v in
             fams["pfhttpd_tls_handshakes_total"]["samples"]}
    assert kinds == {"full": 126, "resumed": 375}
    classes = {lb["class"]: v for _, lb, v in
               fams["pfhttpd_tls_handshake_failures_total"]["samples"]}
    assert classes == {"protocol": 11, "client_cert": 2, "plain_http": 33,
                       "timeout": 4, "closed": 55}
    assert value(fams, "pfhttpd_tls_errors_total") == 8
    assert value(fams, "pfhttpd_tls_renegotiations_refused_total") == 3


def test_prometheus_tls_families_have_zero_samples_without_tls(
        statsdump_bin, busy):
    fams = prometheus(statsdump_bin, busy)
    for kind in ("full", "resumed"):
        assert value(fams, "pfhttpd_tls_handshakes_total", kind=kind) == 0
    for cls in TLS_CLASS.values():
        assert value(fams, "pfhttpd_tls_handshake_failures_total",
                     **{"class": cls}) == 0


def test_prometheus_worker_tls_handshakes_are_full_and_resumed_per_worker(
        statsdump_bin, tlsy):
    fams = prometheus(statsdump_bin, tlsy)
    assert fams["pfhttpd_worker_tls_handshakes_total"]["type"] == "counter"
    workers = {(lb["slot"], lb["pid"]): v for _, lb, v in
               fams["pfhttpd_worker_tls_handshakes_total"]["samples"]}
    # running workers only: the exited slot is already in the totals
    assert workers == {("0", "4242"): 80, ("1", "4243"): 20,
                       ("3", "4245"): 1}


# -- -w: repeated reports and rates ----------------------------------------


class Watch:
    """A statsdump -w running in the background; reads its stdout."""

    def __init__(self, binary, *args):
        self.proc = subprocess.Popen([binary, *args],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buf = b""

    def read_until(self, marker, timeout=WATCH_TIMEOUT):
        """Return the output up to and including marker (bytes)."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while (i := self.buf.find(marker)) == -1:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} in {timeout}s: {self.buf!r}"
            r, _, _ = select.select([fd], [], [], left)
            if r:
                data = os.read(fd, 65536)
                assert data, f"statsdump exited: {self.buf!r}"
                self.buf += data
        out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
        return out.decode()

    def stop(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"statsdump ignored signal {sig}")


@pytest.fixture
def watch(statsdump_bin):
    started = []

    def start(*args):
        w = Watch(statsdump_bin, *args)
        started.append(w)
        return w

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()
        w.proc.stdout.close()
        w.proc.stderr.close()


def test_watch_json_reports_the_request_rate_between_reads(watch, busy):
    w = watch("-s", str(busy.path), "--json", "-w", "1")
    first = json.loads(w.read_until(b"\n"))
    assert first["requests_per_second"] is None
    busy.counter(0, "sc_requests", 70 + 50)
    busy.counter(0, "sc_bytes_out", 7000 + 100000)
    second = json.loads(w.read_until(b"\n"))
    assert second["requests"] == first["requests"] + 50
    assert 40 <= second["requests_per_second"] <= 55, second
    assert 80000 <= second["bytes_out_per_second"] <= 110000, second
    third = json.loads(w.read_until(b"\n"))
    assert third["requests_per_second"] == 0
    assert w.stop() == 0


def test_watch_text_shows_rates_from_the_second_report_on(watch, busy):
    w = watch("-s", str(busy.path), "-w", "0.5")
    first = w.read_until(b"chat lag\n")
    assert "/s)" not in first
    busy.counter(1, "sc_requests", 30 + 10)
    second = w.read_until(b"chat lag\n")
    m = re.search(r"^requests +1112 +\((\d+\.\d)/s\)$", second, re.M)
    assert m, second
    assert 15 <= float(m.group(1)) <= 22
    assert w.stop() == 0


def test_watch_json_reports_the_chat_rates_between_reads(watch, chatty):
    w = watch("-s", str(chatty.path), "--json", "-w", "1")
    first = json.loads(w.read_until(b"\n"))["chat"]
    assert first["events_per_second"] is None
    chatty.chat("ch_events", 40 + 30)
    chatty.counter(0, "sc_chat_deliveries", 30 + 600)
    second = json.loads(w.read_until(b"\n"))["chat"]
    assert 24 <= second["events_per_second"] <= 33, second
    assert 480 <= second["deliveries_per_second"] <= 660, second
    assert w.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watch_stops_cleanly_on_a_signal(watch, busy, sig):
    w = watch("-s", str(busy.path), "--json", "-w", "60")
    w.read_until(b"\n")
    t0 = time.monotonic()
    assert w.stop(sig) == 0
    assert time.monotonic() - t0 < 2
    assert w.proc.stderr.read() == b""


def test_watch_stops_with_an_error_when_the_segment_goes(watch, busy):
    w = watch("-s", str(busy.path), "--json", "-w", "0.2")
    w.read_until(b"\n")
    busy.path.unlink()
    assert w.proc.wait(WATCH_TIMEOUT) == 1
    assert b"no such segment" in w.proc.stderr.read()


# -- command line ------------------------------------------------------------


def write_config(tmp_path, stats_lines):
    (tmp_path / "htdocs").mkdir(exist_ok=True)
    conf = tmp_path / "pfhttpd.ini"
    conf.write_text("\n".join([
        "[server]",
        "listen = 127.0.0.1:18080",
        "[http]",
        f"root = {tmp_path / 'htdocs'}",
        "[log]",
        f"error_log = {tmp_path / 'error.log'}",
        *stats_lines,
    ]) + "\n")
    return conf


def test_config_file_names_the_segment(statsdump_bin, tmp_path, segment):
    busy_segment(segment)
    # a relative shm_path is relative to the config file's directory
    conf = write_config(tmp_path, ["[stats]", "shm_path = seg"])
    proc = run(statsdump_bin, "-c", str(conf), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["requests"] == 1102


def test_bad_config_file_is_reported_with_its_line(statsdump_bin, tmp_path):
    conf = write_config(tmp_path, ["[stats]", "bogus_key = 1"])
    proc = run(statsdump_bin, "-c", str(conf))
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"{conf}:8:" in proc.stderr, proc.stderr


@pytest.mark.parametrize("args", [
    ["--json", "--prometheus"],
    ["--prometheus", "--rooms"],
    ["-c", "x.ini", "-s", "/dev/shm/x"],
    ["-w", "0"],
    ["-w", "soon"],
    ["-Z"],
    ["extra"],
])
def test_bad_command_line_exits_1_with_usage(statsdump_bin, busy, args):
    proc = run(statsdump_bin, *(["-s", str(busy.path)] if "-c" not in args
                                else []), *args)
    assert proc.returncode == 1, proc
    assert proc.stdout == ""
    assert proc.stderr.strip(), "no message"


def test_version_and_help(statsdump_bin):
    v = run_ok(statsdump_bin, "-V")
    assert re.fullmatch(r"statsdump \(pfhttpd\) \d+\.\d+\.\d+\n", v), v
    h = run_ok(statsdump_bin, "-h")
    assert h.startswith("usage: statsdump ")
    for opt in ("-c FILE", "-s SHM_PATH", "--json", "--prometheus",
                "--rooms", "-w SECONDS"):
        assert opt in h, opt
