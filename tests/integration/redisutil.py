"""Private Redis and HAProxy for the tests of chat across instances
(issue 17), each started by the test and stopped by pid at its end.

  RedisServer(d, tcp=False)   a redis-server in directory d, on a unix
                              socket there (or a free loopback TCP port),
                              no persistence; .address is the value of
                              [chat] redis; .kill() (SIGKILL) and
                              .start() again give an empty one on the
                              same address; .command() speaks RESP
  HAProxy(d, servers)         haproxy in the foreground (-db) with a
                              generated config: leastconn over the
                              servers' HTTP ports, health checks every
                              200 ms, timeout tunnel; .port, .connect(),
                              .get() (a server-like endpoint for
                              chatclient.WsChat), .stat(), .wait_status()
  wait_redis_up(server)       until an instance's hub has its Redis link
  hub_redis_ports(hub, redis) the local ports of a hub's connections to a
                              TCP Redis (to cut exactly those)

Both wait for readiness by polling (PING; the frontend accepting and
every server UP), never by sleeping, and a stop that outstays its bound
is a failure after a SIGKILL.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import IO_TIMEOUT, Reader, free_port, poll, request_bytes

START_TIMEOUT = 10.0  # seconds for redis-server or haproxy to be ready
STOP_TIMEOUT = 10.0  # seconds for either to exit once told
SUN_PATH_MAX = 100  # a unix socket path longer than this goes to /tmp


def have_programs():
    """True if redis-server and haproxy are installed (the test set of
    tools/install-deps)."""
    return all(shutil.which(p) for p in ("redis-server", "haproxy"))


def stop_process(proc, sig=signal.SIGTERM, what="process"):
    """Send sig to proc and wait for it, bounded; SIGKILL and fail if it
    outstays."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise AssertionError(f"{what} did not exit on {sig!r} in time")


# -- RESP, the little of it the tests need ---------------------------------

def resp_encode(args):
    """A command as a RESP array of bulk strings."""
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class RedisError(Exception):
    """An error reply (-ERR ...)."""


class RespReader:
    """Reads RESP replies from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _line(self):
        while (i := self.buf.find(b"\r\n")) == -1:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("redis closed the connection")
            self.buf += data
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def _exactly(self, n):
        while len(self.buf) < n + 2:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("redis closed the connection")
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n + 2]
        return out

    def reply(self):
        """One reply: str, int, bytes, None, a list, or RedisError."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exactly(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise AssertionError(f"not RESP: {line!r}")


# -- redis-server ----------------------------------------------------------

class RedisServer:
    """A private redis-server: no persistence, no config file read, its
    log in the directory; stopped by pid."""

    def __init__(self, d, tcp=False):
        self.dir = Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tcp = tcp
        self.port = None
        self.short_dir = None  # a /tmp directory if d is too deep
        self.sock_path = self.dir / "redis.sock"
        if not tcp and len(str(self.sock_path)) > SUN_PATH_MAX:
            self.short_dir = tempfile.mkdtemp(prefix="pfredis")
            self.sock_path = Path(self.short_dir) / "redis.sock"
        self.log_path = self.dir / "redis.log"
        self.proc = None
        self.starts = 0

    @property
    def address(self):
        """The value of [chat] redis naming this server."""
        if self.tcp:
            return f"127.0.0.1:{self.port}"
        return str(self.sock_path)

    def _argv(self):
        argv = ["redis-server", "--save", "", "--appendonly", "no",
                "--dir", str(self.dir), "--logfile", str(self.log_path),
                "--daemonize", "no"]
        if self.tcp:
            return argv + ["--port", str(self.port), "--bind", "127.0.0.1"]
        return argv + ["--port", "0", "--unixsocket", str(self.sock_path),
                       "--unixsocketperm", "700"]

    def start(self):
        """Start it (again: on the same address, empty); wait for PONG."""
        assert self.proc is None or self.proc.poll() is not None, \
            "redis-server already runs"
        for _attempt in range(5):
            if self.tcp and self.port is None:
                self.port = free_port()
            self.proc = subprocess.Popen(
                self._argv(), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            self.starts += 1
            if self._wait_ready():
                return self
            if not self.tcp or self.starts > 1:
                break  # only a first TCP start may retry on another port
            self.port = None
        raise AssertionError(f"redis-server exited with "
                             f"{self.proc.returncode}: {self.log_tail()}")

    def _wait_ready(self):
        """Poll PING until PONG; False if the server exited instead."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.ping():
                return True
            time.sleep(0.01)
        raise AssertionError(f"redis-server not ready after "
                             f"{START_TIMEOUT}s: {self.log_tail()}")

    def connect(self, timeout=IO_TIMEOUT):
        """A new connection to the server."""
        if self.tcp:
            return socket.create_connection(("127.0.0.1", self.port),
                                            timeout)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(self.sock_path))
        except OSError:
            s.close()
            raise
        return s

    def ping(self):
        """True if the server answers PING with PONG."""
        try:
            return self.command("PING", timeout=1.0) == "PONG"
        except (OSError, EOFError, RedisError):
            return False

    def command(self, *args, timeout=IO_TIMEOUT):
        """Run one command on a new connection; return its reply (an error
        reply is raised as RedisError)."""
        with self.connect(timeout) as s:
            s.sendall(resp_encode(args))
            reply = RespReader(s).reply()
        if isinstance(reply, RedisError):
            raise reply
        return reply

    def kill(self):
        """SIGKILL, as a crash: the data set is gone."""
        self.proc.kill()
        self.proc.wait(STOP_TIMEOUT)

    def stop(self):
        """Teardown: SIGTERM, bounded; remove a /tmp directory made."""
        try:
            stop_process(self.proc, what="redis-server")
        finally:
            if self.short_dir is not None:
                shutil.rmtree(self.short_dir, ignore_errors=True)

    @property
    def pid(self):
        return self.proc.pid

    def log_tail(self, n=2000):
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""


def wait_redis_up(server, times=1, timeout=START_TIMEOUT):
    """Wait until server's hub has said times times that its Redis link is
    up (the error log's "up; rooms are shared"). Until the first, the
    instance takes chat clients as during an outage: their joins are not
    published, so a test must not start before it."""
    poll(lambda: server.error_log_text().count("up; rooms are shared")
         >= times, timeout, what="the hub's Redis link up")


def hub_redis_ports(hub, redis):
    """The local ports of the TCP connections pid hub holds to redis (a
    RedisServer on TCP)."""
    assert redis.tcp, "only a TCP Redis tells connections apart by port"
    inodes = set()
    for fd in os.listdir(f"/proc/{hub}/fd"):
        try:
            link = os.readlink(f"/proc/{hub}/fd/{fd}")
        except FileNotFoundError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    remote = f"0100007F:{redis.port:04X}"
    ports = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[2] == remote and fields[9] in inodes \
                    and fields[3] == "01":  # ESTABLISHED
                ports.append(int(fields[1].split(":")[1], 16))
    return ports


# -- haproxy ---------------------------------------------------------------

# The per-server fields of "show stat" the tests read (management.txt 9.1).
STAT_FIELDS = ("pxname", "svname", "scur", "stot", "status", "check_status")


class HAProxy:
    """haproxy in front of servers (conftest Servers, or anything with a
    .port), as docs and issue 17 describe it: leastconn, HTTP health
    checks, WebSocket tunnels. Names the servers s0, s1, ..."""

    def __init__(self, d, servers, maxconn=200):
        self.dir = Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.servers = list(servers)
        self.maxconn = maxconn  # small: haproxy wants 2 FDs per conn
        self.conf = self.dir / "haproxy.cfg"
        self.stats_path = self.dir / "haproxy.sock"
        self.stderr_path = self.dir / "haproxy.stderr"
        if len(str(self.stats_path)) > SUN_PATH_MAX:
            self.short_dir = tempfile.mkdtemp(prefix="pfhap")
            self.stats_path = Path(self.short_dir) / "haproxy.sock"
        else:
            self.short_dir = None
        self.port = None
        self.proc = None

    def names(self):
        return [f"s{i}" for i in range(len(self.servers))]

    def config_text(self):
        lines = [
            "global",
            f"    maxconn {self.maxconn}",
            f"    stats socket {self.stats_path} mode 600 level admin",
            "defaults",
            "    mode http",
            "    option redispatch 1",
            "    retries 3",
            "    timeout connect 2s",
            "    timeout client 30s",
            "    timeout server 30s",
            "    timeout http-request 10s",
            "    timeout http-keep-alive 15s",
            "    timeout tunnel 1h",
            "    timeout client-fin 10s",
            "    timeout server-fin 10s",
            "    timeout check 2s",
            "frontend www",
            f"    bind 127.0.0.1:{self.port}",
            "    default_backend pfhttpd",
            "backend pfhttpd",
            "    balance leastconn",
            "    option httpchk",
            "    http-check send meth HEAD uri /hello.txt ver HTTP/1.1 "
            "hdr Host localhost",
            "    http-check expect status 200",
            "    default-server check inter 200ms fastinter 100ms "
            "downinter 200ms fall 2 rise 2",
        ]
        for name, srv in zip(self.names(), self.servers):
            lines.append(f"    server {name} 127.0.0.1:{srv.port}")
        return "\n".join(lines) + "\n"

    def start(self):
        """Start it in the foreground; wait until the frontend accepts
        and every server is UP. Retry on a port taken meanwhile."""
        for _attempt in range(5):
            self.port = free_port()
            self.conf.write_text(self.config_text())
            with open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(
                    ["haproxy", "-db", "-f", str(self.conf)],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    start_new_session=True)
            if self._wait_ready():
                return self
            if "cannot bind socket" not in self.stderr():
                raise AssertionError(f"haproxy exited with "
                                     f"{self.proc.returncode}: "
                                     f"{self.stderr()}")
        raise AssertionError("haproxy: no free port after 5 attempts")

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._can_connect() and self.stats_path.exists():
                break
            time.sleep(0.01)
        else:
            raise AssertionError(f"haproxy not ready after "
                                 f"{START_TIMEOUT}s: {self.stderr()}")
        for name in self.names():
            self.wait_status(name, "UP")
        return True

    def _can_connect(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1.0).close()
            return True
        except OSError:
            return False

    def admin(self, command):
        """One command on the stats socket; return the answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(IO_TIMEOUT)
            s.connect(str(self.stats_path))
            s.sendall(command.encode() + b"\n")
            out = bytearray()
            while data := s.recv(65536):
                out += data
        return out.decode(errors="replace")

    def stat(self):
        """{server name: {field: value}} for the backend's servers, from
        "show stat" (the fields of STAT_FIELDS)."""
        text = self.admin("show stat")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        header = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "pfhttpd" \
                    and row.get("svname") in self.names():
                out[row["svname"]] = {k: row.get(k) for k in STAT_FIELDS}
        return out

    def wait_status(self, name, status, timeout=START_TIMEOUT):
        """Wait until server name's status is status (UP or DOWN, settled:
        not "UP 1/2", an UP server that failed a check, nor the state
        before the first check); return its stat row."""
        def ok():
            row = self.stat().get(name)
            return row if row and row["status"] == status \
                and row["check_status"] != "INI" else None
        return poll(ok, timeout, interval=0.05,
                    what=f"haproxy server {name} {status}")

    def sessions(self):
        """{server name: current sessions (scur)}."""
        return {n: int(r["scur"] or 0) for n, r in self.stat().items()}

    # -- a server-like endpoint for the clients --------------------------

    def connect(self, timeout=IO_TIMEOUT, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", self.port))
        return s

    def get(self, path, timeout=IO_TIMEOUT):
        """GET path on a new connection through haproxy."""
        with self.connect(timeout) as s:
            s.sendall(request_bytes(path, headers=["Connection: close"]))
            return Reader(s, timeout).read_response()

    # -- processes ---------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        """Teardown: SIGTERM (immediate stop), bounded."""
        try:
            stop_process(self.proc, what="haproxy")
        finally:
            if self.short_dir is not None:
                shutil.rmtree(self.short_dir, ignore_errors=True)

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
