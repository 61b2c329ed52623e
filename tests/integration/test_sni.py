"""Per-host TLS certificates: the server name (SNI) of the client hello
picks the [host "NAME"] whose certificate the server shows, by the names
and wildcards that pick a host for the Host field; no name, or a name no
host has, gets the default host's. A request whose Host names another
configured host than the SNI did gets 421 Misdirected Request. Sessions
resume on the host they were made on, across a reload too, and a reload
brings a host's new certificate. The host keys' FILE:LINE errors one by
one are tests/unit/test_config.c."""

import socket
import ssl
import subprocess

import pytest

from conftest import IO_TIMEOUT, Reader, Server, request_bytes, run_pfhttpd
from test_cli import assert_config_error
from test_reload import reload, wait_reload_done

TIMEOUT = 30.0  # seconds for any one wait on a loaded machine


def openssl(*args):
    """Run the openssl command, which must succeed."""
    subprocess.run(["openssl", *map(str, args)], capture_output=True,
                   check=True, timeout=TIMEOUT)


def issue(certs, d, name, dns, serial):
    """A server certificate for the DNS names dns, signed by the test CA,
    with serial serial; return (pem, key)."""
    key, pem = d / f"{name}.key", d / f"{name}.pem"
    csr, ext = d / f"{name}.csr", d / f"{name}.ext"
    ext.write_text("subjectAltName=" +
                   ",".join(f"DNS:{n}" for n in dns) + "\n")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
            key)
    openssl("req", "-new", "-key", key, "-subj", f"/CN={dns[0]}", "-out",
            csr)
    openssl("x509", "-req", "-in", csr, "-CA", certs.ca_pem, "-CAkey",
            certs.ca_key, "-set_serial", str(serial), "-days", "30",
            "-extfile", ext, "-out", pem)
    return pem, key


class HostCerts:
    """The hosts' certificates: a.test and www.a.test (serial 0xA1),
    b.test and *.b.test (0xB1), and a second one for b.test (0xB2) that a
    reload brings."""

    def __init__(self, certs, d):
        self.a = issue(certs, d, "a", ["a.test", "www.a.test"], 0xA1)
        self.b = issue(certs, d, "b", ["b.test", "*.b.test"], 0xB1)
        self.b2 = issue(certs, d, "b2", ["b.test", "*.b.test"], 0xB2)


@pytest.fixture(scope="module")
def host_certs(tls_certs, tmp_path_factory):
    return HostCerts(tls_certs, tmp_path_factory.mktemp("sni"))


class SniServer(Server):
    """A TLS daemon whose [host "NAME"] sections are hosts(), the text
    appended to the config, so that a test may change it and reload."""

    def __init__(self, tmp, certs, host_certs, default="a.test"):
        super().__init__(tmp, {}, tls=certs)
        self.certs = host_certs
        self.b_cert = host_certs.b
        self.default = default
        (tmp / "htdocs").mkdir(exist_ok=True)
        for name in ("a", "b", "c"):
            root = tmp / f"site-{name}"
            root.mkdir(exist_ok=True)
            (root / "who.txt").write_bytes(f"site {name}\n".encode())

    def hosts(self):
        """a.test (alias www.a.test) and b.test (alias *.b.test) with
        certificates of their own, c.test with none; self.default is the
        default."""
        a_pem, a_key = self.certs.a
        b_pem, b_key = self.b_cert
        lines = []
        for name, extra in (
                ("a.test", ["alias = www.a.test",
                            f"tls_certificate = {a_pem}",
                            f"tls_key = {a_key}"]),
                ("b.test", ["alias = *.b.test",
                            f"tls_certificate = {b_pem}",
                            f"tls_key = {b_key}"]),
                ("c.test", [])):
            lines += [f'[host "{name}"]',
                      f"root = {self.tmp / ('site-' + name[0])}", *extra]
            if name == self.default:
                lines.append("default = yes")
        return "\n".join(lines) + "\n"

    def config_text(self, port):
        return super().config_text(port) + self.hosts()

    def connect_sni(self, name):
        """A TLS connection that sends the server name name (None: no
        SNI), verifying the chain but not the name."""
        ctx = self.tls_context()
        ctx.check_hostname = False
        s = socket.create_connection(("127.0.0.1", self.tls_port),
                                     IO_TIMEOUT)
        try:
            return ctx.wrap_socket(s, server_hostname=name)
        except BaseException:
            s.close()
            raise

    def shown(self, name):
        """The DER of the certificate shown for the server name name."""
        with self.connect_sni(name) as s:
            return s.getpeercert(binary_form=True)


def der(pem):
    """The DER bytes of the (first) certificate of a PEM file."""
    return ssl.PEM_cert_to_DER_cert(pem.read_text())


@pytest.fixture
def sni(tmp_path, tls_certs, host_certs):
    srv = SniServer(tmp_path, tls_certs, host_certs)
    srv.start()
    yield srv
    srv.stop()


def get(sock, host, path="/who.txt"):
    """One keep-alive GET for host on sock; return the response."""
    sock.sendall(request_bytes(path, host=host))
    return Reader(sock).read_response()


# -- Which certificate -------------------------------------------------------


@pytest.mark.parametrize("name, cert", [("a.test", "a"), ("b.test", "b")])
def test_sni_picks_the_hosts_certificate(sni, host_certs, name, cert):
    assert sni.shown(name) == der(getattr(host_certs, cert)[0])


def test_sni_of_an_alias_picks_its_hosts_certificate(sni, host_certs):
    assert sni.shown("www.a.test") == der(host_certs.a[0])


def test_sni_matching_a_wildcard_picks_its_hosts_certificate(
        sni, host_certs):
    assert sni.shown("x.y.b.test") == der(host_certs.b[0])


def test_sni_of_a_host_without_certificate_gets_the_tls_certificate(
        sni, tls_certs):
    assert sni.shown("c.test") == der(tls_certs.server_pem)


def test_no_sni_gets_the_default_hosts_certificate(sni, host_certs):
    assert sni.shown(None) == der(host_certs.a[0])


def test_unknown_sni_gets_the_default_hosts_certificate(sni, host_certs):
    assert sni.shown("nope.test") == der(host_certs.a[0])


def test_no_sni_with_a_default_host_without_certificate_gets_tls_one(
        tmp_path, tls_certs, host_certs):
    srv = SniServer(tmp_path, tls_certs, host_certs, default="c.test")
    srv.start()
    try:
        assert srv.shown(None) == der(tls_certs.server_pem)
        assert srv.shown("b.test") == der(host_certs.b[0])
    finally:
        srv.stop()


def test_sni_host_serves_its_own_root(sni):
    with sni.connect_sni("b.test") as s:
        assert get(s, "b.test").body == b"site b\n"


# -- 421 Misdirected Request ---------------------------------------------------


@pytest.mark.parametrize("sni_name, host", [
    ("a.test", "b.test"), ("a.test", "x.b.test"), ("www.a.test", "c.test"),
    ("c.test", "a.test")])
def test_host_of_another_host_than_the_sni_gets_421(sni, sni_name, host):
    with sni.connect_sni(sni_name) as s:
        resp = get(s, host)
    assert (resp.status, resp.reason) == (421, "Misdirected Request")


def test_421_leaves_the_connection_usable(sni):
    with sni.connect_sni("a.test") as s:
        assert get(s, "b.test").status == 421
        assert get(s, "a.test").body == b"site a\n"


def test_421_page_is_the_sni_host_error_page(tmp_path, tls_certs,
                                             host_certs):
    srv = SniServer(tmp_path, tls_certs, host_certs)
    for name in ("a", "b", "c"):
        (tmp_path / f"site-{name}" / "421.html").write_bytes(
            f"421 of {name}\n".encode())
    srv.overrides["error_page"] = "421 /421.html"
    srv.start()
    try:
        with srv.connect_sni("a.test") as s:
            resp = get(s, "b.test")
        assert (resp.status, resp.body) == (421, b"421 of a\n")
    finally:
        srv.stop()


def test_host_naming_the_sni_host_by_an_alias_is_not_421(sni):
    with sni.connect_sni("a.test") as s:
        assert get(s, "www.a.test:443").body == b"site a\n"


@pytest.mark.parametrize("sni_name", [None, "nope.test"])
def test_no_or_unknown_sni_is_never_421(sni, sni_name):
    with sni.connect_sni(sni_name) as s:
        assert get(s, "b.test").body == b"site b\n"


def test_host_naming_no_configured_host_is_not_421(sni):
    # the default host (a.test) serves it, on a connection made for b.test
    with sni.connect_sni("b.test") as s:
        assert get(s, "nope.test").body == b"site a\n"


def test_request_without_host_is_served_by_the_sni_host(sni):
    with sni.connect_sni("b.test") as s:
        s.sendall(request_bytes("/who.txt", version="HTTP/1.0", host=None))
        assert Reader(s).read_response().body == b"site b\n"


def test_plain_http_is_never_421(sni):
    assert sni.get("/who.txt", host="b.test").body == b"site b\n"


# -- Sessions and reloads -------------------------------------------------------


def s_client(server, name, *args):
    """GET /who.txt for host name over openssl s_client with server name
    name; its output, which must show the page."""
    request = request_bytes("/who.txt", host=name,
                            headers=["Connection: close"])
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.tls_port}",
         "-servername", name, "-CAfile", str(server.tls.ca_pem),
         "-verify_return_error", "-ign_eof", *map(str, args)],
        input=request.decode(), capture_output=True, text=True,
        timeout=TIMEOUT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"site {name[0]}" in out, out
    return out


@pytest.mark.parametrize("protocol", ["-tls1_2", "-tls1_3"])
def test_session_of_a_host_with_its_own_certificate_resumes(
        sni, tmp_path, protocol):
    sess = tmp_path / "session.pem"
    assert "\nNew, TLS" in s_client(sni, "b.test", protocol, "-sess_out",
                                    sess)
    out = s_client(sni, "b.test", protocol, "-sess_in", sess)
    assert "\nReused, TLS" in out, out


@pytest.mark.parametrize("protocol", ["-tls1_2", "-tls1_3"])
def test_session_of_one_host_does_not_resume_on_another(
        sni, tmp_path, protocol):
    # b.test's client never saw a.test's certificate
    sess = tmp_path / "session.pem"
    s_client(sni, "a.test", protocol, "-sess_out", sess)
    out = s_client(sni, "b.test", protocol, "-sess_in", sess)
    assert "\nNew, TLS" in out, out


@pytest.mark.parametrize("protocol", ["-tls1_2", "-tls1_3"])
def test_session_of_a_host_from_before_a_reload_resumes_after_it(
        sni, tmp_path, protocol):
    sess = tmp_path / "session.pem"
    assert "\nNew, TLS" in s_client(sni, "b.test", protocol, "-sess_out",
                                    sess)
    wait_reload_done(sni, reload(sni))
    out = s_client(sni, "b.test", protocol, "-sess_in", sess)
    assert "\nReused, TLS" in out, out


def test_reload_brings_a_hosts_new_certificate(sni, host_certs):
    assert sni.shown("b.test") == der(host_certs.b[0])
    sni.b_cert = host_certs.b2
    sni.conf.write_text(sni.config_text(sni.port))
    wait_reload_done(sni, reload(sni))
    assert sni.shown("x.b.test") == der(host_certs.b2[0])
    assert sni.shown("a.test") == der(host_certs.a[0])


# -- pfhttpd -t ---------------------------------------------------------------


def test_config_test_refuses_a_host_key_of_another_certificate(
        tmp_path, tls_certs, host_certs):
    srv = SniServer(tmp_path, tls_certs, host_certs)
    srv.b_cert = (host_certs.b[0], host_certs.a[1])
    srv.port, srv.tls_port = 8080, 8443
    srv.conf.write_text(srv.config_text(srv.port))
    lines = srv.conf.read_text().splitlines()
    line = lines.index(f"tls_key = {host_certs.a[1]}",
                       lines.index('[host "b.test"]')) + 1
    assert_config_error(run_pfhttpd("-t", "-c", str(srv.conf)), srv.conf,
                        line, '[host "b.test"] tls_key: does not match '
                        '[host "b.test"] tls_certificate')
