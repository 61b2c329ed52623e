"""The host, port and user of the access log: "host"/"port"/"user" in
JSON, the user field of combined, and the vhost_combined format, with
[host "NAME"] sections and with the implicit host (none)."""

import json

import pytest

from conftest import Server, poll, request_bytes

WAIT = 10


class VhostLogServer(Server):
    """A daemon in format fmt with [host "NAME"] sections (text appended
    as given)."""

    def __init__(self, tmp, fmt, hosts):
        super().__init__(tmp, {"format": fmt})
        self.hosts = hosts

    def config_text(self, port):
        return super().config_text(port) + self.hosts


def start_vhosts(tmp_path, fmt):
    """A daemon with b.test (alias *.b.test) and a.test (default = yes),
    each with its own root holding who.txt."""
    for name in ("a", "b"):
        root = tmp_path / f"site-{name}"
        root.mkdir()
        (root / "who.txt").write_bytes(f"site {name}\n".encode())
    (tmp_path / "htdocs").mkdir()
    srv = VhostLogServer(tmp_path, fmt,
                         '[host "b.test"]\n'
                         f'root = {tmp_path / "site-b"}\n'
                         'alias = *.b.test\n'
                         '[host "a.test"]\n'
                         f'root = {tmp_path / "site-a"}\n'
                         'default = yes\n')
    srv.start()
    return srv


@pytest.fixture
def json_hosts(tmp_path):
    srv = start_vhosts(tmp_path, "json")
    yield srv
    srv.stop()


@pytest.fixture
def vhost_combined_hosts(tmp_path):
    srv = start_vhosts(tmp_path, "vhost_combined")
    yield srv
    srv.stop()


def access_lines(server):
    """The lines of the server's access log (none if it does not exist)."""
    try:
        return server.access_log.read_text().splitlines()
    except FileNotFoundError:
        return []


def wait_lines(server, n):
    """The access log once it has n lines."""
    return poll(lambda: len(lines := access_lines(server)) >= n and lines,
                WAIT, what=f"{n} access-log lines")


def get_each(server, hosts):
    """GET /who.txt?i=I once for each Host value hosts[I] (None: no Host
    field, as HTTP/1.0 may send)."""
    for i, host in enumerate(hosts):
        version = "HTTP/1.1" if host is not None else "HTTP/1.0"
        resp = server.request(
            request_bytes(f"/who.txt?i={i}", version=version, host=host))
        assert resp.status in (200, 404)


def in_request_order(lines, n):
    """The n lines of get_each's requests in the order they were sent:
    workers log through rings of their own, so the file may hold them in
    another order."""
    def index(line):
        return next(i for i in range(n) if f"/who.txt?i={i} " in line
                    or f'"/who.txt?i={i}"' in line)
    return sorted(lines, key=index)


def json_records(server, n):
    """The n JSON records of get_each's requests, in request order."""
    return [json.loads(x) for x in in_request_order(wait_lines(server, n),
                                                     n)]


def test_json_host_is_the_first_name_of_the_section_that_answered(
        json_hosts):
    get_each(json_hosts, ["a.test", "B.Test.:80", "www.b.test"])
    records = json_records(json_hosts, 3)
    assert [r["host"] for r in records] == ["a.test", "b.test", "b.test"]


def test_json_unknown_host_logs_the_default_hosts_name(json_hosts):
    get_each(json_hosts, ["nowhere.test", None])
    records = json_records(json_hosts, 2)
    assert [r["host"] for r in records] == ["a.test", "a.test"]


def test_json_port_is_the_listeners_and_user_is_empty(json_hosts):
    get_each(json_hosts, ["a.test"])
    record = json_records(json_hosts, 1)[0]
    assert record["port"] == str(json_hosts.port)
    assert record["user"] == ""


def test_vhost_combined_line_starts_with_host_and_port(
        vhost_combined_hosts):
    srv = vhost_combined_hosts
    get_each(srv, ["www.b.test", "nowhere.test"])
    lines = in_request_order(wait_lines(srv, 2), 2)
    assert lines[0].startswith(f"b.test:{srv.port} 127.0.0.1 - - [")
    assert lines[0].endswith('"GET /who.txt?i=0 HTTP/1.1" 200 7 "-" "-"')
    assert lines[1].startswith(f"a.test:{srv.port} 127.0.0.1 - - [")


def test_implicit_host_logs_the_normalised_host_field(start_server):
    srv = start_server(format="json")
    get_each(srv, ["WWW.Example.COM.:8080", "a_b.test", None])
    records = json_records(srv, 3)
    assert [r["host"] for r in records] == ["www.example.com", "", ""]


def test_implicit_host_without_host_field_is_dash_in_vhost_combined(
        start_server):
    srv = start_server(format="vhost_combined")
    get_each(srv, [None, "example.org"])
    lines = in_request_order(wait_lines(srv, 2), 2)
    assert lines[0].startswith(f"-:{srv.port} 127.0.0.1 - - [")
    assert lines[1].startswith(f"example.org:{srv.port} 127.0.0.1 - - [")


def test_implicit_host_is_not_carried_to_the_next_keep_alive_request(
        start_server):
    srv = start_server(format="json")
    srv.exchange(request_bytes("/who.txt?i=0", host="example.org",
                               headers=["Connection: keep-alive"])
                 + request_bytes("/who.txt?i=1", version="HTTP/1.0",
                                 host=None))
    records = json_records(srv, 2)
    assert [r["host"] for r in records] == ["example.org", ""]


def test_implicit_host_ipv6_literal_keeps_its_brackets(start_server):
    srv = start_server(format="vhost_combined")
    get_each(srv, ["[::1]:8080"])
    assert wait_lines(srv, 1)[0].startswith(f"[::1]:{srv.port} 127.0.0.1 ")


def test_combined_user_field_is_dash_without_authentication(start_server):
    srv = start_server(format="combined")
    get_each(srv, ["localhost"])
    assert wait_lines(srv, 1)[0].startswith("127.0.0.1 - - [")


def test_telnet_chat_record_has_its_port_and_no_host_or_user(start_server):
    srv = start_server(format="json", telnet=True)
    with srv.connect_telnet() as s:
        s.sendall(b"/quit\r\n")
        while s.recv(4096):
            pass
    record = json.loads(wait_lines(srv, 1)[0])
    assert record["method"] == "TELNET"
    assert (record["host"], record["port"], record["user"]) == \
        ("", str(srv.chat_port), "")
