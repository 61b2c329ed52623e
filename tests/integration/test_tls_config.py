"""[tls] on the command line and on reload: pfhttpd -t reads and checks
the certificate and key with FILE:LINE: errors; SIGHUP re-reads them, a
new certificate reaches new connections without a failed request, a broken
one is refused and the running one stays, sessions resume across the
reload and a wss connection of a draining worker gets 1001. The [tls] keys
one by one are tests/unit/test_config.c."""

import asyncio
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import threading
import time

import pytest
import websockets

from conftest import IO_TIMEOUT, Reader, poll, request_bytes, run_pfhttpd
from test_cli import assert_config_error, base_lines, write_config
from test_reload import reload, rewrite_config, wait_reload_done
from test_shm_log import statsdump

TIMEOUT = 30.0  # seconds for any one wait on a loaded machine
MAX_REQUESTS = 100000  # a load client stops after this many requests
RELOAD_SERIAL = 0x5EED0001  # the serial of the certificate a reload brings
REQUEST = request_bytes("/hello.txt", headers=["Connection: close"])


class NewCert:
    """A second server certificate for localhost and 127.0.0.1, signed by
    the test CA: another key, serial RELOAD_SERIAL, O=pfhttpd reload."""

    def __init__(self, certs, d):
        self.key, self.pem = d / "server2.key", d / "server2.pem"
        csr, ext = d / "server2.csr", d / "server2.ext"
        ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                "-out", self.key)
        openssl("req", "-new", "-key", self.key, "-subj",
                "/CN=localhost/O=pfhttpd reload", "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", certs.ca_pem, "-CAkey",
                certs.ca_key, "-set_serial", str(RELOAD_SERIAL), "-days",
                "30", "-extfile", ext, "-out", self.pem)


def openssl(*args):
    """Run the openssl command, which must succeed."""
    subprocess.run(["openssl", *map(str, args)], capture_output=True,
                   check=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def new_cert(tls_certs, tmp_path_factory):
    return NewCert(tls_certs, tmp_path_factory.mktemp("tls-reload"))


def der(pem):
    """The DER bytes of the (first) certificate of a PEM file."""
    return ssl.PEM_cert_to_DER_cert(pem.read_text())


def peer_der(server):
    """The DER of the certificate a new TLS connection is shown."""
    with server.connect_tls() as s:
        return s.getpeercert(binary_form=True)


def line_of(conf, start):
    """The number of the first line of conf that starts with start."""
    lines = conf.read_text().splitlines()
    return next(i for i, x in enumerate(lines, 1) if x.startswith(start))


def copy_pair(certs, d, mode=0o644):
    """Copy the test server certificate and key into d; return the paths,
    the key with the given mode."""
    pem, key = d / "live.pem", d / "live.key"
    shutil.copyfile(certs.server_pem, pem)
    shutil.copyfile(certs.server_key, key)
    os.chmod(key, mode)
    return pem, key


# -- pfhttpd -t ---------------------------------------------------------------


def tls_config(tmp_path, certificate, key, *extra):
    """A config with a TLS listener; [tls] certificate on line 10, key on
    line 11, then extra lines from 12 on. Return its path."""
    lines = base_lines(tmp_path)
    lines[1] += " tls"
    lines += ["[tls]", f"certificate = {certificate}", f"key = {key}",
              *extra]
    return write_config(tmp_path, lines)


def test_config_test_refuses_an_expired_certificate_at_its_line(
        tmp_path, tls_certs):
    conf = tls_config(tmp_path, tls_certs.expired_pem, tls_certs.expired_key)
    assert_config_error(run_pfhttpd("-t", "-c", str(conf)), conf, 10,
                        "[tls] certificate: the certificate has expired")


def test_config_test_refuses_a_garbage_certificate_at_its_line(
        tmp_path, tls_certs):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    conf = tls_config(tmp_path, garbage, tls_certs.server_key)
    assert_config_error(run_pfhttpd("-t", "-c", str(conf)), conf, 10,
                        "[tls] certificate: not a PEM certificate chain")


def test_config_test_refuses_a_key_of_another_certificate_at_its_line(
        tmp_path, tls_certs):
    conf = tls_config(tmp_path, tls_certs.server_pem, tls_certs.client_key)
    assert_config_error(run_pfhttpd("-t", "-c", str(conf)), conf, 11,
                        "[tls] key: ", "mismatch")


def test_config_test_says_a_key_of_another_certificate_does_not_match(
        tmp_path, tls_certs):
    conf = tls_config(tmp_path, tls_certs.server_pem, tls_certs.client_key)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 11,
                        "[tls] key: does not match [tls] certificate")
    assert "not a PEM private key" not in proc.stderr


def test_config_test_refuses_a_missing_key_file_at_its_line(
        tmp_path, tls_certs):
    conf = tls_config(tmp_path, tls_certs.server_pem, tmp_path / "no.key")
    assert_config_error(run_pfhttpd("-t", "-c", str(conf)), conf, 11,
                        "[tls] key: ", "no.key: No such file or directory")


def test_config_test_refuses_verify_client_without_client_ca_at_its_line(
        tmp_path, tls_certs):
    conf = tls_config(tmp_path, tls_certs.server_pem, tls_certs.server_key,
                      "hsts = max-age=60", "verify_client = require")
    assert_config_error(run_pfhttpd("-t", "-c", str(conf)), conf, 13,
                        "[tls] verify_client: needs [tls] client_ca")


def test_config_test_accepts_a_good_tls_section_with_a_root_only_key(
        tmp_path, tls_certs):
    if os.geteuid() != 0:
        pytest.skip("the key is readable by root alone: run as root")
    pem, key = copy_pair(tls_certs, tmp_path, mode=0o400)
    conf = tls_config(tmp_path, pem, key, f"client_ca = {tls_certs.ca_pem}",
                      "verify_client = optional")
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stderr


def worker_uids(server):
    """The real, effective, saved and fs uids of each worker."""
    uids = []
    for pid in server.workers():
        with open(f"/proc/{pid}/status") as f:
            line = next(x for x in f if x.startswith("Uid:"))
        uids.append([int(u) for u in line.split()[1:]])
    return uids


def test_workers_without_root_serve_and_reload_a_root_only_key(
        start_server, tmp_path, tls_certs, new_cert):
    if os.geteuid() != 0:
        pytest.skip("the key is readable by root alone: run as root")
    pem, key = copy_pair(tls_certs, tmp_path, mode=0o400)
    server = start_server(tls=True, user="nobody", group="nogroup",
                          tls_certificate=str(pem), tls_key=str(key))
    nobody = pwd.getpwnam("nobody").pw_uid
    assert worker_uids(server) == [[nobody] * 4] * server.nworkers
    assert peer_der(server) == der(tls_certs.server_pem)
    # The renewed pair is written in place; the master re-reads it as root.
    shutil.copyfile(new_cert.pem, pem)
    os.chmod(key, 0o600)
    shutil.copyfile(new_cert.key, key)
    os.chmod(key, 0o400)
    gen = reload(server)
    wait_reload_done(server, gen)
    assert peer_der(server) == der(new_cert.pem)


# -- Reload with a new certificate --------------------------------------------


class TlsConn:
    """What one connection of a TlsLoad saw."""

    def __init__(self, cert, opened):
        self.cert = cert  # DER of the certificate the server showed
        self.opened = opened  # time.monotonic() when the handshake ended
        self.answered = []  # time.monotonic() of each 200 received
        self.closed_clean = False  # Connection: close, then end of stream


class TlsLoad(threading.Thread):
    """GET /hello.txt over TLS until stopped, at most MAX_REQUESTS times or
    TIMEOUT * 3 seconds: keepalive=False makes a new connection for each
    request (Connection: close); keepalive=True sends them back to back on
    one connection, and opens another when the server says Connection:
    close. Every connection is kept (TlsConn), every failure too."""

    def __init__(self, server, keepalive):
        super().__init__(daemon=True)
        self.server, self.keepalive = server, keepalive
        self.stop = threading.Event()
        self.conns = []
        self.errors = []
        self.ok = 0

    def run(self):
        deadline = time.monotonic() + TIMEOUT * 3
        sock = None
        while (not self.stop.is_set() and self.ok < MAX_REQUESTS
               and time.monotonic() < deadline and len(self.errors) < 5):
            try:
                if sock is None:
                    sock = self.server.connect_tls()
                    reader = Reader(sock)
                    conn = TlsConn(sock.getpeercert(binary_form=True),
                                   time.monotonic())
                    self.conns.append(conn)
                sock.sendall(request_bytes("/hello.txt") if self.keepalive
                             else REQUEST)
                resp = reader.read_response()
                if resp.status != 200 or resp.body != b"Hello, world!\n":
                    self.errors.append(f"{resp.status} {resp.body[:40]!r}")
                    continue
                conn.answered.append(time.monotonic())
                self.ok += 1
                if resp.header("Connection") == "close":
                    if not reader.at_eof(IO_TIMEOUT):
                        self.errors.append("open after Connection: close")
                    conn.closed_clean = True
                    sock.close()
                    sock = None
            except (OSError, EOFError, ValueError) as e:
                self.errors.append(f"{type(e).__name__}: {e}")
                if sock is not None:
                    sock.close()
                sock = None
        if sock is not None:
            sock.close()

    def served_since(self, t):
        """True once the client was served on connections of its own
        after t: three new ones, or (keepalive) the connection it has,
        which no old worker holds once the reload is done."""
        if self.keepalive:
            return bool(self.conns and self.conns[-1].answered
                        and self.conns[-1].answered[-1] > t)
        return len([c for c in self.conns
                    if c.opened > t and c.answered]) >= 3


def test_reloads_with_a_new_certificate_under_load_fail_no_request(
        start_server, tls_certs, new_cert):
    # Keep-alive connections end only when their worker drains.
    server = start_server(tls=True, workers=2,
                          max_keepalive_requests=10000000)
    pairs = [(tls_certs.server_pem, tls_certs.server_key),
             (new_cert.pem, new_cert.key), (tls_certs.server_pem,
                                            tls_certs.server_key),
             (new_cert.pem, new_cert.key)]
    loads = [TlsLoad(server, keepalive) for keepalive in
             (False, False, True, True)]
    reloads = []  # (SIGHUP time, done time, the connections open at SIGHUP)
    for load in loads:
        load.start()
    try:
        since = 0.0
        for pem, key in pairs[1:]:
            poll(lambda: all(load.served_since(since) for load in loads)
                 or any(load.errors for load in loads), TIMEOUT,
                 what="every client to be served since the last reload")
            rewrite_config(server, tls_certificate=str(pem),
                           tls_key=str(key))
            hup = time.monotonic()
            open_at_hup = [load.conns[-1] for load in loads
                           if load.keepalive]
            gen = reload(server)
            wait_reload_done(server, gen)
            since = time.monotonic()
            reloads.append((hup, since, open_at_hup))
        poll(lambda: all(load.served_since(since) for load in loads)
             or any(load.errors for load in loads), TIMEOUT,
             what="every client to be served after the last reload")
    finally:
        for load in loads:
            load.stop.set()
        for load in loads:
            load.join(TIMEOUT)
            assert not load.is_alive(), "a load client is stuck"
    assert [e for load in loads for e in load.errors] == []
    # Between reloads, every new connection sees the certificate in force.
    ends = [hup for hup, _, _ in reloads] + [float("inf")]
    starts = [0.0] + [done for _, done, _ in reloads]
    for (pem, _), start, end in zip(pairs, starts, ends):
        seen = {c.cert for load in loads for c in load.conns
                if start < c.opened < end}
        assert seen == {der(pem)}, pem
    # The keep-alive connections open at each SIGHUP were answered after
    # it (by their draining worker) and ended with Connection: close.
    for hup, _, open_at_hup in reloads:
        for conn in open_at_hup:
            assert conn.answered[-1] > hup
            assert conn.closed_clean
    failed = statsdump(server)["tls"]["failed"]
    assert failed == {cls: 0 for cls in failed}, failed


def test_new_certificate_after_reload_shows_its_serial_and_subject(
        start_server, tls_certs, new_cert):
    server = start_server(tls=True)
    rewrite_config(server, tls_certificate=str(new_cert.pem),
                   tls_key=str(new_cert.key))
    gen = reload(server)
    wait_reload_done(server, gen)
    with server.connect_tls() as s:
        cert = s.getpeercert()
    assert int(cert["serialNumber"], 16) == RELOAD_SERIAL
    assert (("organizationName", "pfhttpd reload"),) in cert["subject"]


# -- Reload with a broken certificate -----------------------------------------


def break_in_place(server, pem, tls_certs):
    """Overwrite the running certificate file pem with garbage; return the
    [tls] key to blame and the start of the message."""
    pem.write_text("-----BEGIN CERTIFICATE-----\ngarbage\n")
    return "certificate", "[tls] certificate: not a PEM certificate chain"


def key_of_another(server, pem, tls_certs):
    """Point [tls] key at the client's key; return the [tls] key to blame
    and the start of the message."""
    rewrite_config(server, tls_key=str(tls_certs.client_key))
    return "key", "[tls] key: "


@pytest.mark.parametrize("breakage", [break_in_place, key_of_another])
def test_reload_with_a_broken_certificate_keeps_the_running_one(
        start_server, tmp_path, tls_certs, breakage):
    pem, key = copy_pair(tls_certs, tmp_path)
    server = start_server(tls=True, tls_certificate=str(pem),
                          tls_key=str(key))
    workers = sorted(server.workers())
    blamed, message = breakage(server, pem, tls_certs)
    line = line_of(server.conf, f"{blamed} = ")
    server.signal(signal.SIGHUP)
    want = f"reload failed: {server.conf}:{line}: {message}"
    poll(lambda: want in server.error_log_text(), TIMEOUT,
         what=f"{want!r} in the error log")
    assert "the running configuration stays in force" in \
        server.error_log_text()
    report = statsdump(server)
    assert (report["reloads_failed"], report["generation"]) == (1, 1)
    assert sorted(server.workers()) == workers
    assert peer_der(server) == der(tls_certs.server_pem)
    with server.connect_tls() as s:
        s.sendall(REQUEST)
        assert Reader(s).read_response().status == 200


# -- Sessions and WebSockets across a reload ----------------------------------


def s_client(server, *args):
    """One request over openssl s_client to the TLS port; its output."""
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.tls_port}",
         "-servername", "localhost", "-CAfile", str(server.tls.ca_pem),
         "-verify_return_error", "-ign_eof", *map(str, args)],
        input=REQUEST.decode(), capture_output=True, text=True,
        timeout=TIMEOUT)
    # 0: the server's close_notify ended the stream, not a bare EOF.
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("protocol", ["-tls1_2", "-tls1_3"])
def test_session_from_before_a_reload_resumes_after_it(
        start_server, tmp_path, protocol):
    server = start_server(tls=True)
    sess = tmp_path / "session.pem"
    out = s_client(server, protocol, "-sess_out", sess)
    assert "\nNew, TLS" in out and "Hello, world!" in out, out
    gen = reload(server)
    wait_reload_done(server, gen)
    out = s_client(server, protocol, "-sess_in", sess)
    assert "\nReused, TLS" in out and "Hello, world!" in out, out


@pytest.mark.parametrize("protocol", ["-tls1_2", "-tls1_3"])
def test_session_from_before_a_reload_that_requires_certificates_is_refused(
        start_server, tmp_path, protocol):
    # A resumed session skips the certificate request: a ticket made
    # without a certificate must not resume once one is required.
    server = start_server(tls=True)
    sess = tmp_path / "session.pem"
    out = s_client(server, protocol, "-sess_out", sess)
    assert "\nNew, TLS" in out, out
    server.overrides["tls_verify_client"] = "require"
    server.conf.write_text(server.config_text(server.port))
    gen = reload(server)
    wait_reload_done(server, gen)
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.tls_port}",
         "-servername", "localhost", "-CAfile", str(server.tls.ca_pem),
         "-ign_eof", protocol, "-sess_in", str(sess)],
        input=REQUEST.decode(), capture_output=True, text=True,
        timeout=TIMEOUT)
    out = proc.stdout + proc.stderr
    assert "\nReused, TLS" not in out, out
    assert "Hello, world!" not in out, out


def test_reload_closes_wss_of_old_workers_with_1001(start_server):
    server = start_server(tls=True)
    url = f"wss://127.0.0.1:{server.tls_port}/echo"
    ctx = server.tls_context()

    async def echo(ws, text):
        await ws.send(text)
        return await asyncio.wait_for(ws.recv(), TIMEOUT)

    async def scenario():
        loop = asyncio.get_running_loop()
        ws = await websockets.connect(url, ssl=ctx)
        assert await echo(ws, "before") == "before"
        assert ws.transport.get_extra_info("ssl_object") is not None
        gen = await loop.run_in_executor(None, reload, server)
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert e.value.rcvd is not None and e.value.rcvd.code == 1001
        await loop.run_in_executor(None, wait_reload_done, server, gen)
        fresh = await websockets.connect(url, ssl=ctx)
        assert await echo(fresh, "after") == "after"
        await fresh.close()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT * 2))


# -- How a connection ends --------------------------------------------------


def strict_eof_context(server):
    """A client context for which an end of stream without close_notify
    is an error (Python ignores it by default)."""
    ctx = server.tls_context()
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    return ctx


def ends_with_close_notify(sock, reader):
    """Read to the end of sock: True if the server's close_notify ends
    it, False if the stream just stops."""
    try:
        while reader.fill(time.monotonic() + IO_TIMEOUT):
            pass
    except ssl.SSLError as e:
        if "UNEXPECTED_EOF" in str(e):
            return False
        raise
    return True


def test_connection_close_response_ends_with_close_notify(start_server):
    server = start_server(tls=True)
    with server.connect_tls(context=strict_eof_context(server)) as s:
        s.sendall(REQUEST)
        reader = Reader(s)
        assert reader.read_response().header("Connection") == "close"
        assert ends_with_close_notify(s, reader)


def test_idle_connection_closed_by_a_reload_ends_with_close_notify(
        start_server):
    server = start_server(tls=True)
    with server.connect_tls(context=strict_eof_context(server)) as s:
        s.sendall(request_bytes("/hello.txt"))
        reader = Reader(s)
        assert reader.read_response().status == 200
        gen = reload(server)
        assert ends_with_close_notify(s, reader)
    wait_reload_done(server, gen)
