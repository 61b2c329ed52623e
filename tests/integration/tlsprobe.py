"""Probes of a TLS listener, shared by test_tls*.py: openssl s_client runs,
the TLS counters statsdump reports, the JSON access log, TLS clients."""

import json
import os
import re
import socket
import ssl
import subprocess

from conftest import REPO, IO_TIMEOUT, Reader, poll, request_bytes

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))
TIMEOUT = 10  # seconds for any one client run or wait
FAIL_CLASSES = ("protocol", "client_cert", "plain_http", "timeout",
                "closed")
# What every s_client run sends (with -ign_eof): it then waits for the
# server to answer and close, so the session tickets, which come before
# the answer, are in and -sess_out has them.
S_CLIENT_REQUEST = request_bytes("/hello.txt", headers=["Connection: close"])
OK_LINE = "HTTP/1.1 200 OK"


def statsdump_text(server, *args):
    """Run statsdump with args on the server's segment; its output."""
    return subprocess.run([STATSDUMP, "-s", str(server.shm_path), *args],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          check=True).stdout


def statsdump(server):
    """The server's counters, as statsdump --json reports them."""
    return json.loads(statsdump_text(server, "--json"))


def tls_counts(server):
    """The "tls" object of statsdump --json, resumed_ratio left out."""
    tls = statsdump(server)["tls"]
    tls.pop("resumed_ratio")
    return tls


def expected_counts(full=0, resumed=0, errors=0, renegotiations_refused=0,
                    **failed):
    """The tls_counts() of a server that saw exactly these handshakes
    (and, after them, these errors and renegotiations refused)."""
    assert set(failed) <= set(FAIL_CLASSES), failed
    return {"full": full, "resumed": resumed,
            "failed": {c: failed.get(c, 0) for c in FAIL_CLASSES},
            "errors": errors,
            "renegotiations_refused": renegotiations_refused}


def wait_counts(server, **expected):
    """Poll until tls_counts() is expected_counts(**expected)."""
    want = expected_counts(**expected)
    last = {}

    def done():
        last["seen"] = tls_counts(server)
        return last["seen"] == want
    try:
        poll(done, TIMEOUT, what=f"TLS counters {want}")
    except AssertionError:
        raise AssertionError(
            f"TLS counters {last['seen']}, want {want}") from None


class SClient:
    """The result of one openssl s_client run."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = (proc.stdout + proc.stderr).decode(errors="replace")
        m = re.search(r"^(New|Reused), (\S+), Cipher is (\S+)$", self.out,
                      re.M)
        self.session, self.protocol, self.cipher = \
            m.groups() if m else (None, None, None)
        m = re.search(r"^ALPN protocol: (\S+)$", self.out, re.M)
        self.alpn = m.group(1) if m else None

    @property
    def served(self):
        """True if the request was answered: the handshake succeeded."""
        return OK_LINE in self.out

    def __repr__(self):
        return f"<s_client rc={self.rc}:\n{self.out}>"


def s_client(server, *args):
    """Run openssl s_client on the TLS port with args, send the request
    and wait for the answer or the failure; return an SClient."""
    cmd = ["openssl", "s_client", "-connect",
           f"127.0.0.1:{server.tls_port}", "-servername", "localhost",
           "-CAfile", str(server.tls.ca_pem), "-verify_return_error",
           "-ign_eof", *map(str, args)]
    return SClient(subprocess.run(cmd, input=S_CLIENT_REQUEST,
                                  capture_output=True, timeout=TIMEOUT))


def s_client_refused(server, *args):
    """Run s_client with args; assert that the server refused it with an
    alert (so the client did offer what args ask) and answered nothing.
    Return the SClient."""
    r = s_client(server, *args)
    assert not r.served and r.rc != 0, r
    assert re.search(r"alert .*SSL alert number \d+", r.out), r
    return r


def access_records(server):
    """The JSON records of the server's access log (format=json)."""
    try:
        text = server.access_log.read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines()]


def wait_records(server, n):
    """Poll until the access log holds n records; return them."""
    poll(lambda: len(access_records(server)) >= n, TIMEOUT,
         what=f"{n} access-log records")
    records = access_records(server)
    assert len(records) == n, records
    return records


def tls_get(server, path, context=None, headers=(), method="GET"):
    """One request over a new TLS connection; return the response."""
    with server.connect_tls(context=context) as s:
        s.sendall(request_bytes(path, method=method, headers=headers))
        return Reader(s).read_response(head=method == "HEAD")


def tls_refusal(server, context):
    """Connect with context and wait for the server's word; return the
    ssl.SSLError its refusal raised (during the handshake with TLS 1.2,
    at the first read with TLS 1.3, whose client finishes first)."""
    try:
        with server.connect_tls(context=context) as s:
            s.settimeout(IO_TIMEOUT)
            data = s.recv(1024)
    except ssl.SSLError as e:
        return e
    raise AssertionError(f"not refused: read {data!r}")


def client_hello():
    """The first flight of a real TLS client, made in memory."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = ssl.MemoryBIO()
    tls = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    assert hello[:3] == b"\x16\x03\x01", hello[:16]  # a handshake record
    return hello


def raw_tls_connect(server):
    """A TCP connection to the TLS port, nothing sent."""
    return socket.create_connection(("127.0.0.1", server.tls_port),
                                    IO_TIMEOUT)
