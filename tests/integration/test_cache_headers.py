"""[http] cache: Cache-Control by path prefix or extension, first match
wins, on 200, 206, 304 and HEAD alike, never on an error; and the
REDbot-style checks of the field itself."""

import re

from conftest import DOCROOT_FILES, Reader, request_bytes, run_pfhttpd
from test_reload import reload, rewrite_config

IMMUTABLE = "public, max-age=31536000, immutable"
RULES = [f"/dir/ {IMMUTABLE}", ".html no-cache", ".txt max-age=60"]
# A Cache-Control directive, as RFC 9111 section 5.2 writes it.
DIRECTIVE = re.compile(r'^[!#$%&\'*+.^_`|~0-9A-Za-z-]+'
                       r'(=([!#$%&\'*+.^_`|~0-9A-Za-z-]+|"[^"]*"))?$')


def cache_control(resp):
    """The one Cache-Control field of resp (REDbot: never two), or None."""
    fields = resp.headers_named("Cache-Control")
    assert len(fields) <= 1, fields
    return fields[0] if fields else None


def assert_well_formed(value):
    """REDbot's parse: comma-separated directives, max-age a number."""
    for directive in (d.strip() for d in value.split(",")):
        assert DIRECTIVE.match(directive), directive
        if directive.startswith("max-age="):
            assert directive[len("max-age="):].isdigit(), directive


def test_prefix_rule_gives_its_value_exactly(start_server):
    srv = start_server(cache=RULES)
    resp = srv.get("/dir/other.txt")
    assert resp.status == 200
    assert cache_control(resp) == IMMUTABLE
    assert_well_formed(cache_control(resp))


def test_extension_rule_gives_its_value(start_server):
    srv = start_server(cache=RULES)
    resp = srv.get("/page.html")
    assert resp.status == 200
    assert cache_control(resp) == "no-cache"


def test_first_matching_rule_wins(start_server):
    # /dir/index.html matches both /dir/ and .html: /dir/ comes first.
    srv = start_server(cache=RULES)
    assert cache_control(srv.get("/dir/index.html")) == IMMUTABLE
    srv2 = start_server(cache=list(reversed(RULES)))
    assert cache_control(srv2.get("/dir/index.html")) == "no-cache"


def test_directory_index_matches_as_the_index_file(start_server):
    srv = start_server(cache=[".html no-cache"])
    resp = srv.get("/")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["index.html"]
    assert cache_control(resp) == "no-cache"


def test_file_matching_no_rule_has_no_cache_control(start_server):
    srv = start_server(cache=RULES)
    resp = srv.get("/image.png")
    assert resp.status == 200
    assert cache_control(resp) is None


def test_no_rules_send_no_cache_control(server):
    for path in ("/", "/hello.txt", "/dir/other.txt"):
        assert cache_control(server.get(path)) is None, path


def test_304_carries_the_same_cache_control_as_200(start_server):
    srv = start_server(cache=RULES)
    full = srv.get("/hello.txt")
    etag = full.header("ETag")
    resp = srv.get("/hello.txt", headers=[f"If-None-Match: {etag}"])
    assert resp.status == 304
    assert resp.body == b""
    assert cache_control(resp) == cache_control(full) == "max-age=60"
    assert resp.header("ETag") == etag


def test_206_carries_cache_control(start_server):
    srv = start_server(cache=RULES)
    resp = srv.get("/digits.txt", headers=["Range: bytes=0-3"])
    assert resp.status == 206
    assert resp.body == DOCROOT_FILES["digits.txt"][:4]
    assert cache_control(resp) == "max-age=60"


def test_head_carries_the_cache_control_of_get(start_server):
    srv = start_server(cache=RULES)
    sock = srv.connect()
    sock.sendall(request_bytes("/dir/other.txt", method="HEAD")
                 + request_bytes("/dir/other.txt",
                                 headers=["Connection: close"]))
    reader = Reader(sock)
    head = reader.read_response(head=True)
    get = reader.read_response()
    sock.close()
    assert head.status == get.status == 200
    assert head.body == b""
    assert cache_control(head) == cache_control(get) == IMMUTABLE


def test_errors_carry_no_cache_control(start_server):
    srv = start_server(cache=RULES + ["/ no-store"])
    answers = [
        srv.get("/dir/missing.txt"),                          # 404
        srv.get("/dir"),                                      # 301
        srv.get("/noindex/"),                                 # 403
        srv.get("/hello.txt", headers=['If-Match: "nope"']),  # 412
        srv.get("/hello.txt", headers=["Range: bytes=999-"]),  # 416
        srv.get("/hello.txt", method="POST"),                 # 405
    ]
    assert [r.status for r in answers] == [404, 301, 403, 412, 416, 405]
    for resp in answers:
        assert cache_control(resp) is None, resp


def test_reload_applies_changed_cache_rules(start_server):
    srv = start_server(cache=[".txt max-age=60"])
    assert cache_control(srv.get("/hello.txt")) == "max-age=60"
    rewrite_config(srv, cache=["/dir/ private", ".txt no-store"])
    reload(srv)
    assert cache_control(srv.get("/hello.txt")) == "no-store"
    assert cache_control(srv.get("/dir/other.txt")) == "private"
    rewrite_config(srv, cache=None)
    reload(srv)
    assert cache_control(srv.get("/hello.txt")) is None


def test_bad_cache_rule_is_an_error_at_its_line(tmp_path):
    (tmp_path / "htdocs").mkdir()
    conf = tmp_path / "pfhttpd.ini"
    conf.write_text("[http]\nroot = htdocs\ncache = .html no-cache\n"
                    "cache = /a/ max-age=1\x7f\n")
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode != 0
    assert f"{conf}:4: [http] cache: the Cache-Control value must be " \
        "printable ASCII" in proc.stderr
