"""[host "NAME"] sections: the Host field picks the document root and
index file; an unknown or missing name gets the default host."""

import gzip
import os
import signal

import pytest

from conftest import DOCROOT_FILES, Server, poll
from test_reload import reload


class VhostServer(Server):
    """A daemon with [host "NAME"] sections (text appended as given)."""

    def __init__(self, tmp, hosts, overrides=None):
        super().__init__(tmp, overrides or {})
        self.hosts = hosts

    def config_text(self, port):
        return super().config_text(port) + self.hosts


@pytest.fixture
def vhosts(tmp_path):
    """A daemon with a.test (its own root and index, default = yes),
    *.b.test and b.test (the [http] root)."""
    for name in ("a", "b"):
        root = tmp_path / f"site-{name}"
        root.mkdir()
        (root / "who.txt").write_bytes(f"site {name}\n".encode())
    (tmp_path / "site-a" / "start.html").write_bytes(b"a start\n")
    (tmp_path / "htdocs").mkdir()
    for name, content in DOCROOT_FILES.items():
        path = tmp_path / "htdocs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    srv = VhostServer(tmp_path,
                      '[host "b.test"]\n'
                      f'root = {tmp_path / "site-b"}\n'
                      'alias = *.b.test\n'
                      '[host "a.test"]\n'
                      f'root = {tmp_path / "site-a"}\n'
                      'index = start.html\n'
                      'default = yes\n'
                      '[host "c.test"]\n')
    srv.start()
    yield srv
    srv.stop()


def test_host_field_picks_the_root(vhosts):
    assert vhosts.get("/who.txt", host="a.test").body == b"site a\n"
    assert vhosts.get("/who.txt", host="b.test").body == b"site b\n"


def test_port_case_and_trailing_dot_pick_the_same_host(vhosts):
    resp = vhosts.get("/who.txt", host="B.Test.:8080")
    assert resp.body == b"site b\n"


def test_wildcard_alias_picks_its_host(vhosts):
    assert vhosts.get("/who.txt", host="www.b.test").body == b"site b\n"


def test_unknown_host_gets_the_default_host(vhosts):
    assert vhosts.get("/who.txt", host="nope.test").body == b"site a\n"


def test_host_without_root_serves_the_http_root(vhosts):
    resp = vhosts.get("/", host="c.test")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["index.html"]


def test_directory_uses_the_host_index(vhosts):
    assert vhosts.get("/", host="a.test").body == b"a start\n"
    assert vhosts.get("/", host="b.test").status == 403


def test_same_path_on_two_hosts_is_not_shared_by_the_cache(vhosts):
    # the worker's open-file cache keys entries by host, too
    for _ in range(3):
        assert vhosts.get("/who.txt", host="a.test").body == b"site a\n"
        assert vhosts.get("/who.txt", host="b.test").body == b"site b\n"


def make_site(root, files):
    """Write files ({relative path: bytes}) beneath root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


@pytest.fixture
def sites(tmp_path):
    """A daemon whose [http] sets cache, error_page and precompressed;
    own.test sets its own, plain.test inherits [http]'s."""
    make_site(tmp_path / "htdocs", {
        "a.css": b"body{}\n", "a.css.gz": gzip.compress(b"body{}\n"),
        "errors/404.html": b"http 404 page\n"})
    make_site(tmp_path / "own", {
        "a.css": b"own css\n", "a.css.gz": gzip.compress(b"own css\n"),
        "errors/404.html": b"own 404 page\n"})
    srv = VhostServer(tmp_path,
                      '[host "plain.test"]\n'
                      '[host "own.test"]\n'
                      f'root = {tmp_path / "own"}\n'
                      'cache = .css max-age=60\n'
                      'error_page = 404 /errors/404.html\n'
                      'error_page = 400 /errors/404.html\n'
                      'precompressed =\n',
                      {"cache": ".css no-cache",
                       "error_page": "404 /errors/404.html",
                       "precompressed": "gzip"})
    srv.start()
    yield srv
    srv.stop()


def test_host_without_cache_rules_uses_the_http_ones(sites):
    resp = sites.get("/a.css", host="plain.test")
    assert resp.header("Cache-Control") == "no-cache"


def test_host_cache_rules_replace_the_http_ones(sites):
    resp = sites.get("/a.css", host="own.test")
    assert resp.status == 200
    assert resp.header("Cache-Control") == "max-age=60"


def test_error_page_comes_from_the_host_root(sites):
    resp = sites.get("/missing", host="own.test")
    assert (resp.status, resp.body) == (404, b"own 404 page\n")
    resp = sites.get("/missing", host="plain.test")
    assert (resp.status, resp.body) == (404, b"http 404 page\n")


def test_host_may_turn_precompressed_off(sites):
    gz = ["Accept-Encoding: gzip"]
    resp = sites.get("/a.css", headers=gz, host="plain.test")
    assert resp.header("Content-Encoding") == "gzip"
    resp = sites.get("/a.css", headers=gz, host="own.test")
    assert resp.header("Content-Encoding") is None
    assert resp.body == b"own css\n"


def test_bad_request_on_keep_alive_uses_the_default_host(sites):
    # the 400 names no host: it gets the default host's (built-in) page,
    # not own.test's, whose request came before it on the connection
    resp = sites.exchange(
        b"GET /missing HTTP/1.1\r\nHost: own.test\r\n\r\n"
        b"GET /missing HTTP/1.1\r\n\r\n")
    assert [r.status for r in resp] == [404, 400]
    assert resp[0].body == b"own 404 page\n"
    assert b"own 404 page" not in resp[1].body


def test_reload_applies_host_changes(tmp_path):
    make_site(tmp_path / "htdocs", DOCROOT_FILES)
    make_site(tmp_path / "one", {"who.txt": b"one\n"})
    make_site(tmp_path / "two", {"who.txt": b"two\n"})
    srv = VhostServer(tmp_path, f'[host "x.test"]\nroot = {tmp_path / "one"}\n')
    srv.start()
    try:
        assert srv.get("/who.txt", host="x.test").body == b"one\n"
        srv.hosts = (f'[host "y.test"]\nroot = {tmp_path / "one"}\n'
                     f'[host "x.test"]\nroot = {tmp_path / "two"}\n')
        srv.conf.write_text(srv.config_text(srv.port))
        reload(srv)
        assert srv.get("/who.txt", host="x.test").body == b"two\n"
        assert srv.get("/who.txt", host="y.test").body == b"one\n"
        assert srv.get("/who.txt", host="z.test").body == b"one\n"
    finally:
        srv.stop()


def test_reload_with_a_bad_host_section_changes_nothing(tmp_path):
    make_site(tmp_path / "htdocs", DOCROOT_FILES)
    make_site(tmp_path / "one", {"who.txt": b"one\n"})
    srv = VhostServer(tmp_path, f'[host "x.test"]\nroot = {tmp_path / "one"}\n')
    srv.start()
    try:
        srv.hosts += '[host "x.test"]\n'
        srv.conf.write_text(srv.config_text(srv.port))
        srv.signal(signal.SIGHUP)
        poll(lambda: "host name 'x.test' is already given"
             in srv.error_log_text(), 10, what="the reload error")
        assert srv.get("/who.txt", host="x.test").body == b"one\n"
    finally:
        srv.stop()
