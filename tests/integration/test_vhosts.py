"""[host "NAME"] sections: the Host field picks the document root and
index file; an unknown or missing name gets the default host."""

import pytest

from conftest import DOCROOT_FILES, Server


class VhostServer(Server):
    """A daemon with [host "NAME"] sections (text appended as given)."""

    def __init__(self, tmp, hosts):
        super().__init__(tmp, {})
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
