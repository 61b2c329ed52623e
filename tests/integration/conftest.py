"""Harness for the pfhttpd integration tests.

Every test gets its own daemon: a private directory (tmp_path) holding the
configuration, a document root, the pid file and the logs, and a free
loopback port. The daemon runs in the foreground (-f) as a child of pytest.
Waits are bounded polls (a deadline and a short interval), never fixed
sleeps; teardown stops the daemon with SIGTERM and kills it if it outstays.

Helpers:
  start_server(**overrides)   the factory fixture; overrides are config keys
                              (workers=1, header_timeout="1s", ...), a value
                              of None leaves the key out of the file, a list
                              writes the key once per item; [chat] keys take
                              the prefix chat_ (chat_rate="1000/s");
                              rlimit_nofile=N sets the daemon's RLIMIT_NOFILE;
                              telnet=True adds a [chat] listen address on a
                              free port (Server.chat_port); tls=True adds a
                              TLS listener (Server.tls_port) and [tls] with
                              the session's test certificates, and with
                              telnet=True makes the chat port TLS too;
                              [tls] keys take the prefix tls_
                              (tls_verify_client="require"), [stats]
                              keys the prefix stats_ (stats_listen=...;
                              shm_path also works bare)
  tls_certs                   session fixture: a private CA, an ECDSA P-256
                              server certificate for localhost/127.0.0.1,
                              client certificates (see TlsCerts)
  Server.connect(), .request(), .get()   raw-socket clients;
  Server.connect_tls(), .tls_context()   the same over TLS
  Reader                      reads responses (by Content-Length) from a
                              socket, keeping leftover bytes for pipelining
  worker_pids(pid), proc_title(pid), vm_rss_kib(pid), cpu_ticks(pid)
  SANITIZED                   true under make check-asan (see below)

Environment: PFHTTPD_BIN (the daemon), PFHTTPD_STATSDUMP (statsdump, read
by the tests that run it), PFHTTPD_SANITIZED.
"""

import hashlib
import os
import ssl
import resource
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PFHTTPD_BIN", str(REPO / "build" / "pfhttpd"))
# PFHTTPD_SANITIZED=1 (make check-asan): BIN runs under AddressSanitizer,
# whose quarantine and redzones make RSS meaningless and whose leak check
# makes every exit slower. Tests skip only such assertions then, each with
# a comment saying so; the normal run keeps them all.
SANITIZED = os.environ.get("PFHTTPD_SANITIZED") == "1"

BIG_SIZE = 64 * 1024 * 1024
IO_TIMEOUT = 10.0  # seconds; any single socket read or write
START_TIMEOUT = 10.0  # seconds for the daemon to become ready
STOP_TIMEOUT = 10.0  # seconds for the daemon to exit in teardown

# Which section each key lives in (key names are unique across sections).
SECTIONS = {
    "listen": "server",
    "workers": "server",
    "user": "server",
    "group": "server",
    "pid_file": "server",
    "daemon": "server",
    "max_connections": "server",
    "shutdown_timeout": "server",
    "reuseport": "server",
    "max_connections_per_ip": "server",
    "limit_rate_per_ip": "server",
    "limit_burst_per_ip": "server",
    "limit_exempt": "server",
    "ip_table_size": "server",
    "root": "http",
    "index": "http",
    "keepalive_timeout": "http",
    "header_timeout": "http",
    "send_timeout": "http",
    "max_header_size": "http",
    "max_keepalive_requests": "http",
    "serve_dotfiles": "http",
    "notsent_lowat": "http",
    "cache": "http",
    "error_page": "http",
    "precompressed": "http",
    "auth": "http",
    "auth_realm": "http",
    "auth_tls_only": "http",
    "autoindex": "http",
    "error_log": "log",
    "access_log": "log",
    "format": "log",
    "ring_size": "log",
    "echo_path": "websocket",
    "max_message_size": "websocket",
    "idle_timeout": "websocket",
    "allowed_origins": "websocket",
    "compression": "websocket",
    "compression_level": "websocket",
    "compression_min_size": "websocket",
    "compression_window_bits": "websocket",
    "shm_path": "stats",
}

# The keys of [chat], written as overrides with the prefix CHAT_PREFIX
# (several of them share a name with a key of another section).
CHAT_PREFIX = "chat_"
CHAT_KEYS = {
    "path", "default_room", "history", "max_rooms", "max_members",
    "max_message_size", "rate", "burst", "idle_timeout", "max_queue",
    "transcript", "ring_size", "broadcast_size", "listen", "redis",
    "redis_prefix", "redis_stream_length",
}
# The keys of [tls], written with the prefix TLS_PREFIX.
TLS_PREFIX = "tls_"
TLS_KEYS = {
    "certificate", "key", "protocols", "ciphers", "session_tickets",
    "session_timeout", "client_ca", "verify_client", "hsts",
}
# The keys of [stats], written with the prefix STATS_PREFIX.
STATS_PREFIX = "stats_"
STATS_KEYS = {"shm_path", "listen"}
SECTION_ORDER = ("server", "http", "websocket", "log", "stats", "chat",
                 "tls")


def config_key(key):
    """(section, name in the file) of an override key."""
    if key.startswith(CHAT_PREFIX):
        name = key[len(CHAT_PREFIX):]
        assert name in CHAT_KEYS, f"no [chat] key {name!r}"
        return "chat", name
    if key.startswith(TLS_PREFIX):
        name = key[len(TLS_PREFIX):]
        assert name in TLS_KEYS, f"no [tls] key {name!r}"
        return "tls", name
    if key.startswith(STATS_PREFIX):
        name = key[len(STATS_PREFIX):]
        assert name in STATS_KEYS, f"no [stats] key {name!r}"
        return "stats", name
    return SECTIONS[key], key


# The small files of every document root: name -> content.
DOCROOT_FILES = {
    "index.html": b"<!DOCTYPE html>\n<title>root index</title>\n",
    "hello.txt": b"Hello, world!\n",
    "digits.txt": b"0123456789abcdefghijklmnopqrstuvwxyz\n",
    "a.txt": b"first file A\n",
    "b.txt": b"second file B, a bit longer\n",
    "c.txt": b"third file C\n",
    "page.html": b"<!DOCTYPE html>\n<p>page</p>\n",
    "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)),
    "blob.unknownext": b"opaque bytes\x00\x01\x02",
    "a b.txt": b"a file with a space in its name\n",
    ".secret": b"dotfile content\n",
    "dir/index.html": b"<!DOCTYPE html>\n<title>dir index</title>\n",
    "dir/other.txt": b"other file in dir\n",
    "sp dir/index.html": b"index of a directory with a space\n",
    "noindex/file.txt": b"a file in a directory without index\n",
}
SECRET_CONTENT = b"TOP SECRET: outside the document root\n"


def poll(cond, timeout, interval=0.02, what="condition"):
    """Call cond() until it returns a true value or timeout seconds pass.

    Return the value; raise AssertionError naming what on timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# What a path resolves to is cached by each worker for a second
# (FCACHE_TTL_MS in src/pfhttpd.h): a change on disk must show within that
# second. Tests that change files under a running server wait at most this
# long for it, with slack for a loaded machine.
CACHE_SETTLE = 3.0


def get_until(server, path, done, what, check=None, timeout=CACHE_SETTLE,
              headers=()):
    """GET path on new connections until done(response); return it.

    check(response), if given, is applied to every response on the way,
    the last included (to assert that no answer is ever wrong meanwhile).
    """
    def attempt():
        resp = server.get(path, headers=headers)
        if check is not None:
            check(resp)
        return resp if done(resp) else None
    return poll(attempt, timeout, what=what)


def free_port():
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def child_pids(pid):
    """Pids of the children of pid (every thread's children)."""
    kids = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread or process exited meanwhile
    return sorted(kids)


def proc_title(pid):
    """The process title of pid as ps shows it (/proc/PID/cmdline)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None  # it exited meanwhile
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def worker_pids(master):
    """Pids of the master's children whose title says they are workers."""
    return [
        p for p in child_pids(master)
        if (proc_title(p) or "").startswith("pfhttpd: worker ")
    ]


def vm_rss_kib(pid):
    """Resident set size of pid in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def cpu_ticks(pid):
    """utime + stime of pid in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat


def tcp_queues(local_port, remote_port=None):
    """(tx_queue, rx_queue) of a 127.0.0.1 socket, from /proc/net/tcp.

    With remote_port, the connection local_port -> remote_port: rx_queue
    counts bytes arrived and not read, tx_queue bytes sent and not acked.
    Without, the listening socket on local_port, whose rx_queue counts
    connections waiting to be accepted. None if there is no such socket.
    """
    local = f"0100007F:{local_port:04X}"
    remote = None if remote_port is None else f"0100007F:{remote_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] != local:
                continue
            if ((remote is None and fields[3] == "0A")  # LISTEN
                    or (remote is not None and fields[2] == remote)):
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None


def accept_backlog(port):
    """Connections waiting to be accepted on 127.0.0.1:port."""
    queues = tcp_queues(port)
    assert queues is not None, f"nothing listens on {port}"
    return queues[1]


def fd_count(pid):
    """Number of descriptors pid holds open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def open_connections(pid):
    """Number of TCP connections (not listeners) pid holds open."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" and fields[9] in inodes:
                n += 1
    return n


def request_read_by_server(server_port, sock):
    """True once every byte sent on sock was acked and read by the server
    (which implies a worker accepted the connection)."""
    client_port = sock.getsockname()[1]
    client = tcp_queues(client_port, server_port)
    peer = tcp_queues(server_port, client_port)
    return (client is not None and peer is not None and client[0] == 0
            and peer[1] == 0)


class Response:
    """A parsed HTTP response."""

    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.header_list = headers  # [(name, value)] as sent
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        """The value of the first field called name (any case)."""
        for n, v in self.header_list:
            if n.lower() == name.lower():
                return v
        return default

    def headers_named(self, name):
        return [v for n, v in self.header_list if n.lower() == name.lower()]

    def __repr__(self):
        return (f"<Response {self.status} {self.header_list!r} "
                f"body={len(self.body)}B>")


class Reader:
    """Reads responses from a socket; leftover bytes stay for the next one."""

    def __init__(self, sock, timeout=IO_TIMEOUT):
        self.sock = sock
        self.buf = bytearray()
        self.timeout = timeout

    def fill(self, deadline):
        """Receive more bytes; return False at end of stream."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("read deadline passed")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        if not data:
            return False
        self.buf += data
        return True

    def take(self, n):
        """Remove and return the first n buffered bytes."""
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_head(self, timeout=None):
        """Read up to the end of a response head; return the head bytes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while (end := self.buf.find(b"\r\n\r\n")) == -1:
            if not self.fill(deadline):
                raise EOFError("EOF before a response head; got "
                               f"{bytes(self.buf[:200])!r}")
        head = self.take(end)
        del self.buf[:4]
        return head

    def read_response(self, head=False, timeout=None):
        """Read one response; head=True for a response to HEAD.

        Raises EOFError if the stream ends before a full response.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        raw_head = self.read_head(timeout)
        lines = raw_head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            assert name == name.strip() and name, f"bad header line {line!r}"
            headers.append((name, value.strip()))
        resp = Response(version, int(status), reason, headers, b"", raw_head)
        length = resp.header("Content-Length")
        if head or resp.status in (204, 304) or 100 <= resp.status < 200:
            return resp
        if length is None:
            while self.fill(deadline):
                pass
            resp.body = self.take(len(self.buf))
            return resp
        length = int(length)
        while len(self.buf) < length:
            if not self.fill(deadline):
                raise EOFError(
                    f"EOF after {len(self.buf)} of {length} body bytes")
        resp.body = self.take(length)
        return resp

    def read_until_close(self, timeout=None):
        """Return every byte left until the peer closes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while self.fill(deadline):
            pass
        return self.take(len(self.buf))

    def read_all_responses(self, timeout=None):
        """Read responses until the peer closes; return them as a list."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while self.fill(deadline):
            pass
        out = []
        while self.buf:
            # Every byte is here: a short response raises EOFError.
            out.append(self.read_response(
                timeout=max(0.01, deadline - time.monotonic())))
        return out

    def at_eof(self, timeout=None):
        """True if the peer closes (with nothing more sent) within timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            return not self.fill(deadline) and not self.buf
        except socket.timeout:
            return False


def request_bytes(path, method="GET", version="HTTP/1.1", headers=(),
                  host="localhost", body=b""):
    """Build a request; headers is a sequence of "Name: value" strings."""
    lines = [f"{method} {path} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def connect_refused(server):
    """True if a connection to the server is refused (nothing listens)."""
    try:
        socket.create_connection(("127.0.0.1", server.port), 1.0).close()
    except ConnectionRefusedError:
        return True
    except (ConnectionResetError, socket.timeout):
        pass  # the listener closed under a connection being set up
    return False


class TlsCerts:
    """Test certificates made with the openssl command, once a session.

    ca_pem: the private CA; server_pem/server_key: ECDSA P-256 for
    localhost and 127.0.0.1, signed by it; client_pem/client_key: CN=alice
    (a valid chat nick), signed by it; stranger_pem/stranger_key: CN=mallory,
    signed by another CA the server does not trust; expired_pem/
    expired_key: a server certificate whose validity ended.
    """

    def __init__(self, d):
        self.dir = d
        for name in ("ca", "server", "client", "stranger", "expired",
                     "other_ca"):
            setattr(self, f"{name}_pem", d / f"{name}.pem")
            setattr(self, f"{name}_key", d / f"{name}.key")
        self._openssl("ecparam", "-name", "prime256v1", "-genkey",
                      "-noout", "-out", self.ca_key)
        self._openssl("req", "-x509", "-new", "-key", self.ca_key,
                      "-subj", "/CN=pfhttpd test CA", "-days", "30",
                      "-out", self.ca_pem)
        self._openssl("ecparam", "-name", "prime256v1", "-genkey",
                      "-noout", "-out", self.other_ca_key)
        self._openssl("req", "-x509", "-new", "-key", self.other_ca_key,
                      "-subj", "/CN=another CA", "-days", "30",
                      "-out", self.other_ca_pem)
        san = "subjectAltName=DNS:localhost,IP:127.0.0.1"
        self._issue("server", "/CN=localhost", "ca", san)
        self._issue("client", "/CN=alice/O=pfhttpd tests", "ca", None)
        self._issue("stranger", "/CN=mallory", "other_ca", None)
        self._issue("expired", "/CN=localhost", "ca", san, expired=True)

    def _openssl(self, *args):
        subprocess.run(["openssl", *map(str, args)], check=True,
                       capture_output=True, timeout=30)

    def _issue(self, name, subject, ca, san, expired=False):
        key, pem = self.dir / f"{name}.key", self.dir / f"{name}.pem"
        csr, ext = self.dir / f"{name}.csr", self.dir / f"{name}.ext"
        self._openssl("ecparam", "-name", "prime256v1", "-genkey",
                      "-noout", "-out", key)
        self._openssl("req", "-new", "-key", key, "-subj", subject,
                      "-out", csr)
        ext.write_text((san or "basicConstraints=CA:FALSE") + "\n")
        ca_pem, ca_key = self.dir / f"{ca}.pem", self.dir / f"{ca}.key"
        if expired:  # x509 -req cannot date it in the past; ca can
            self._backdate(pem, ca_pem, ca_key, csr, ext)
            return
        self._openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey",
                      ca_key, "-CAcreateserial", "-days", "30", "-extfile",
                      ext, "-out", pem)

    def _backdate(self, pem, ca_pem, ca_key, csr, ext):
        """Re-sign pem with dates in the past (openssl ca can set them)."""
        d = self.dir / "ca-db"
        d.mkdir(exist_ok=True)
        (d / "index.txt").write_text("")
        (d / "serial").write_text("1000\n")
        conf = d / "ca.cnf"
        conf.write_text(
            "[ca]\ndefault_ca = test\n[test]\n"
            f"database = {d}/index.txt\nserial = {d}/serial\n"
            f"new_certs_dir = {d}\ndefault_md = sha256\n"
            "policy = any\nunique_subject = no\n"
            "[any]\ncommonName = supplied\n")
        self._openssl("ca", "-batch", "-config", conf, "-cert", ca_pem,
                      "-keyfile", ca_key, "-in", csr, "-out", pem,
                      "-startdate", "20200101000000Z", "-enddate",
                      "20200201000000Z", "-extfile", ext, "-notext")

    def client_context(self, cert=None, key=None):
        """An ssl.SSLContext that trusts the test CA (and presents cert)."""
        ctx = ssl.create_default_context(cafile=str(self.ca_pem))
        if cert is not None:
            ctx.load_cert_chain(str(cert), str(key))
        return ctx


class Server:
    """One pfhttpd daemon in its own directory."""

    def __init__(self, tmp, overrides, rlimit_nofile=None, telnet=False,
                 tls=None):
        self.tmp = tmp
        self.root = tmp / "htdocs"
        self.conf = tmp / "pfhttpd.ini"
        self.pid_file = tmp / "pfhttpd.pid"
        self.error_log = tmp / "error.log"
        self.access_log = tmp / "access.log"
        self.shm_path = tmp / "pfhttpd.shm"
        self.stdout_path = tmp / "stdout.log"
        self.stderr_path = tmp / "stderr.log"
        self.overrides = overrides
        self.rlimit_nofile = rlimit_nofile  # RLIMIT_NOFILE of the daemon
        self.proc = None
        self.port = None
        self.chat_telnet = telnet  # telnet chat on a port of its own
        self.chat_port = None
        self.tls = tls  # TlsCerts: a TLS listener with them, or None
        self.tls_port = None
        self.known_workers = set()
        self.nworkers = int(overrides.get("workers", 2))

    # -- configuration and start ---------------------------------------

    def config_text(self, port):
        values = {
            "listen": f"127.0.0.1:{port}",
            "workers": 2,
            "pid_file": str(self.pid_file),
            "root": str(self.root),
            "error_log": str(self.error_log),
            "access_log": str(self.access_log),
            "shm_path": str(self.shm_path),
        }
        suffix = " tls" if self.tls is not None else ""
        if self.chat_telnet:
            values[CHAT_PREFIX + "listen"] = \
                f"127.0.0.1:{self.chat_port}{suffix}"
        if self.tls is not None:
            values["listen"] = [values["listen"],
                                f"127.0.0.1:{self.tls_port} tls"]
            values[TLS_PREFIX + "certificate"] = str(self.tls.server_pem)
            values[TLS_PREFIX + "key"] = str(self.tls.server_key)
            values[TLS_PREFIX + "client_ca"] = str(self.tls.ca_pem)
        values.update(self.overrides)
        out = []
        for section in SECTION_ORDER:
            lines = []
            for key, value in values.items():
                where, name = config_key(key)
                if where != section or value is None:
                    continue
                for item in value if isinstance(value, list) else [value]:
                    lines.append(f"{name} = {item}")
            if lines:  # (a subclass may append a section of its own)
                out += [f"[{section}]"] + lines
        return "\n".join(out) + "\n"

    def start(self):
        """Start the daemon; retry on a port taken meanwhile."""
        for _attempt in range(5):
            self.port = free_port()
            taken = {self.port}
            if self.chat_telnet:
                self.chat_port = free_port()
                while self.chat_port in taken:
                    self.chat_port = free_port()
                taken.add(self.chat_port)
            if self.tls is not None:
                self.tls_port = free_port()
                while self.tls_port in taken:
                    self.tls_port = free_port()
            self.conf.write_text(self.config_text(self.port))
            with open(self.stdout_path, "wb") as out, \
                    open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(
                    [BIN, "-f", "-c", str(self.conf)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                    start_new_session=True, preexec_fn=self._preexec())
            if self._wait_ready():
                self.wait_workers(self.nworkers)
                return self
            if "Address already in use" not in self.stderr():
                raise AssertionError(
                    f"pfhttpd exited with {self.proc.returncode}: "
                    f"{self.stderr()}")
        raise AssertionError("no free port after 5 attempts")

    def _preexec(self):
        """What the child runs before exec: set RLIMIT_NOFILE, if asked
        (a number for both limits, or a (soft, hard) pair)."""
        if self.rlimit_nofile is None:
            return None
        limits = self.rlimit_nofile
        if isinstance(limits, int):
            limits = (limits, limits)

        def preexec():
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
        return preexec

    def _wait_ready(self):
        """Poll until the port accepts and the pid file names the master.

        Return False if the daemon exited instead.
        """
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if (self._pid_file_ok() and self._can_connect()
                    and self._chat_listening()):
                return True
            time.sleep(0.01)
        raise AssertionError(f"pfhttpd not ready after {START_TIMEOUT}s: "
                             f"{self.stderr()}")

    def _pid_file_ok(self):
        try:
            return self.pid_file.read_text().strip() == str(self.proc.pid)
        except FileNotFoundError:
            return False

    def _chat_listening(self):
        """True if the telnet chat port listens, or there is none. (A test
        connection would join the chat: the socket table tells instead.)"""
        return self.chat_port is None or tcp_queues(self.chat_port) \
            is not None

    def _can_connect(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1.0).close()
            return True
        except OSError:
            return False

    # -- processes --------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid

    def hub(self):
        """The pid of the chat hub (the child titled as it), or None."""
        for p in child_pids(self.pid):
            if proc_title(p) == "pfhttpd: chat" and pid_alive(p):
                return p
        return None

    def workers(self):
        """Current worker pids (children titled as workers)."""
        pids = worker_pids(self.pid)
        self.known_workers.update(pids)
        return pids

    def wait_workers(self, n, timeout=START_TIMEOUT, exclude=()):
        """Wait until exactly n workers run, none of them in exclude."""
        def ok():
            pids = self.workers()
            return len(pids) == n and not set(pids) & set(exclude) and pids
        return poll(ok, timeout, what=f"{n} workers")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for the master to exit; return its status or None."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_workers_gone(self, pids, timeout=STOP_TIMEOUT):
        poll(lambda: not any(pid_alive(p) for p in pids), timeout,
             what=f"workers {pids} to exit")

    def stop(self):
        """Teardown: SIGTERM, bounded waits, SIGKILL for what outstays."""
        if self.proc is None:
            return
        problems = []
        if self.proc.poll() is None:
            self.workers()
            self.proc.send_signal(signal.SIGTERM)
        if self.wait_exit() is None:
            problems.append("pfhttpd did not exit on SIGTERM in time")
            self.proc.kill()
            self.proc.wait(5)
        try:
            self.wait_workers_gone(self.known_workers, timeout=5)
        except AssertionError as e:
            problems.append(f"workers outlived the master: {e}")
            for p in self.known_workers:
                try:
                    if (proc_title(p) or "").startswith("pfhttpd"):
                        os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        assert not problems, problems

    # -- logs -------------------------------------------------------------

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def error_log_text(self):
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- clients ----------------------------------------------------------

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def connect(self, timeout=IO_TIMEOUT, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", self.port))
        return s

    def tls_context(self, cert=None, key=None):
        """A client context trusting the test CA, presenting cert."""
        assert self.tls is not None, "started without tls=True"
        return self.tls.client_context(cert, key)

    def connect_tls(self, timeout=IO_TIMEOUT, context=None, port=None):
        """A TLS connection to the TLS listener (or port), handshake done,
        server name localhost."""
        ctx = context if context is not None else self.tls_context()
        s = socket.create_connection(
            ("127.0.0.1", port or self.tls_port), timeout)
        try:
            return ctx.wrap_socket(s, server_hostname="localhost")
        except BaseException:
            s.close()
            raise

    def connect_telnet(self, timeout=IO_TIMEOUT, rcvbuf=None):
        """A connection to the telnet chat port (start with telnet=True)."""
        assert self.chat_port is not None, "started without telnet=True"
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", self.chat_port))
        return s

    def request(self, data, head=False, timeout=IO_TIMEOUT):
        """Send raw bytes on a new connection; return the first response."""
        with self.connect(timeout) as s:
            s.sendall(data)
            return Reader(s, timeout).read_response(head=head)

    def exchange(self, data, timeout=IO_TIMEOUT):
        """Send raw bytes on a new connection; return every response
        until the server closes it."""
        with self.connect(timeout) as s:
            s.sendall(data)
            return Reader(s, timeout).read_all_responses()

    def get(self, path, headers=(), method="GET", **kw):
        """One request on a new connection; return the response."""
        return self.request(
            request_bytes(path, method=method, headers=headers, **kw),
            head=method == "HEAD")


def make_docroot(tmp, big_file):
    """Fill tmp/htdocs (and put a secret file next to it)."""
    root = tmp / "htdocs"
    for name, content in DOCROOT_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (tmp / "secret.txt").write_bytes(SECRET_CONTENT)
    os.symlink("hello.txt", root / "link_in.txt")
    os.symlink("../secret.txt", root / "link_out.txt")
    try:
        os.link(big_file, root / "big.bin")
    except OSError:
        shutil.copyfile(big_file, root / "big.bin")
    return root


@pytest.fixture(scope="session")
def big_file(tmp_path_factory):
    """A 64 MiB file of random bytes, made once; (path, sha256)."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(BIG_SIZE // (1 << 20)):
            chunk = os.urandom(1 << 20)
            h.update(chunk)
            f.write(chunk)
    return path, h.hexdigest()


@pytest.fixture
def big_sha256(big_file):
    return big_file[1]


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory):
    """The test certificates (TlsCerts), made once a session."""
    return TlsCerts(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def start_server(request, tmp_path, big_file):
    """Factory: start_server(**config overrides) -> a running Server.

    rlimit_nofile=N or (SOFT, HARD) (not a config key) starts the daemon
    with that RLIMIT_NOFILE; telnet=True gives it a [chat] listen address
    on a free port, Server.chat_port; tls=True a TLS listener,
    Server.tls_port, with the tls_certs certificates.
    """
    servers = []
    make_docroot(tmp_path, big_file[0])

    def start(rlimit_nofile=None, telnet=False, tls=False, **overrides):
        sub = tmp_path if not servers else tmp_path / f"s{len(servers)}"
        if sub != tmp_path:
            sub.mkdir()
            os.symlink(tmp_path / "htdocs", sub / "htdocs")
        srv = Server(sub, overrides, rlimit_nofile=rlimit_nofile,
                     telnet=telnet,
                     tls=request.getfixturevalue("tls_certs") if tls
                     else None)
        servers.append(srv)
        return srv.start()

    yield start
    errors = []
    for srv in servers:
        try:
            srv.stop()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, errors


def assert_workers_unchanged(srv):
    """A daemon shared by a module's cases still runs, with the workers it
    started with (srv.first_workers): no case crashed one."""
    assert srv.proc.poll() is None, "the master exited"
    now = set(worker_pids(srv.pid))
    assert now == srv.first_workers, \
        f"workers changed from {srv.first_workers} to {now}: " \
        f"{srv.error_log_text()[-2000:]}"


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory, big_file):
    """Factory: start_module_server(**config overrides) -> a running
    Server that every case of the module asking for the same overrides
    shares (started once; first_workers holds its first workers' pids).
    start_module_server.started maps the overrides to the servers."""
    started = {}

    def start(**overrides):
        key = tuple(sorted(overrides.items()))
        if key not in started:
            tmp = tmp_path_factory.mktemp("mod")
            make_docroot(tmp, big_file[0])
            srv = Server(tmp, overrides)
            srv.start()
            srv.first_workers = set(srv.workers())
            started[key] = srv
        return started[key]

    start.started = started
    yield start
    errors = []
    for srv in started.values():
        try:
            srv.stop()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, errors


@pytest.fixture
def server(start_server):
    """A daemon with the default test configuration (2 workers)."""
    return start_server()


@pytest.fixture
def docroot(tmp_path, start_server):
    return tmp_path / "htdocs"


def run_pfhttpd(*args, timeout=10):
    """Run the binary to completion; return the CompletedProcess."""
    return subprocess.run([BIN, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def curl(*args, timeout=30):
    """Run curl; return the CompletedProcess (bytes)."""
    return subprocess.run(["curl", "-s", "--http1.1", "--max-time",
                           str(timeout), *args],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout + 5)


def parse_curl_head(text):
    """Parse the output of curl -D - : (status, {lower-name: value})."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    lines = blocks[-1].split("\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


