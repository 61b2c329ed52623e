"""[http] error_page: a page of the document root answers a status in
place of the built-in page, with that status, its own media type and
length, no validators, ranges or Cache-Control; the special statuses
keep their fields; a page deleted at run time falls back to the
built-in page."""

import signal

from conftest import (CACHE_SETTLE, Reader, get_until, poll, request_bytes,
                      run_pfhttpd)
from test_reload import reload, rewrite_config

PAGE_404 = b"<!DOCTYPE html>\n<title>custom 404</title>\n"
PAGE_TXT = b"custom text page\n"
BUILT_IN = b"<hr><p>pfhttpd/"


def with_pages(tmp_path, pages):
    """Write pages (root-relative path -> bytes) into the document root
    that start_server will use."""
    for rel, content in pages.items():
        path = tmp_path / "htdocs" / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def start_with_pages(start_server, tmp_path, pages, **overrides):
    with_pages(tmp_path, {p: c for p, c in pages.values()})
    return start_server(
        error_page=[f"{status} {p}" for status, (p, _) in pages.items()],
        **overrides)


STANDARD = {404: ("/errors/404.html", PAGE_404),
            405: ("/errors/405.txt", PAGE_TXT),
            416: ("/errors/405.txt", PAGE_TXT),
            400: ("/errors/405.txt", PAGE_TXT),
            431: ("/errors/405.txt", PAGE_TXT)}


def assert_page(resp, status, body, media_type):
    assert resp.status == status
    assert resp.body == body
    assert resp.header("Content-Type") == media_type
    assert resp.header("Content-Length") == str(len(body))
    for name in ("ETag", "Last-Modified", "Accept-Ranges",
                 "Cache-Control", "Content-Range"):
        if status != 416 or name != "Content-Range":
            assert resp.header(name) is None, name


def test_page_is_served_with_the_original_status(start_server, tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    assert_page(srv.get("/missing.html"), 404, PAGE_404,
                "text/html; charset=utf-8")


def test_page_has_its_own_media_type(start_server, tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    assert_page(srv.get("/hello.txt", method="DELETE"), 405, PAGE_TXT,
                "text/plain; charset=utf-8")


def test_page_carries_no_cache_control_even_under_a_rule(
        start_server, tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD,
                           cache=["/ no-store", ".html max-age=60"])
    assert_page(srv.get("/missing.html"), 404, PAGE_404,
                "text/html; charset=utf-8")
    # The page itself, asked for directly, is a file like any other.
    direct = srv.get("/errors/404.html")
    assert direct.status == 200
    assert direct.header("Cache-Control") == "no-store"


def test_head_gets_the_page_length_without_its_body(start_server, tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    sock = srv.connect()
    # A body after the HEAD answer would be read as the next response.
    sock.sendall(request_bytes("/missing", method="HEAD")
                 + request_bytes("/hello.txt", headers=["Connection: close"]))
    reader = Reader(sock)
    head = reader.read_response(head=True)
    after = reader.read_response()
    sock.close()
    assert head.status == 404
    assert head.header("Content-Length") == str(len(PAGE_404))
    assert head.body == b""
    assert after.status == 200 and after.body == b"Hello, world!\n"


def test_405_page_keeps_allow(start_server, tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    resp = srv.get("/hello.txt", method="POST")
    assert_page(resp, 405, PAGE_TXT, "text/plain; charset=utf-8")
    assert resp.header("Allow") == "GET, HEAD"


def test_416_page_keeps_content_range(start_server, tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    resp = srv.get("/hello.txt", headers=["Range: bytes=999-"])
    assert_page(resp, 416, PAGE_TXT, "text/plain; charset=utf-8")
    assert resp.header("Content-Range") == "bytes */14"


def test_431_page_closes_the_connection(start_server, tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD,
                           max_header_size="1k")
    sock = srv.connect()
    sock.sendall(request_bytes("/hello.txt",
                               headers=["X-Big: " + "a" * 2048]))
    reader = Reader(sock)
    resp = reader.read_response()
    assert_page(resp, 431, PAGE_TXT, "text/plain; charset=utf-8")
    assert resp.header("Connection") == "close"
    assert reader.at_eof(5)
    sock.close()


def test_400_before_a_request_is_parsed_gets_the_page(start_server,
                                                      tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    sock = srv.connect()
    sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    reader = Reader(sock)
    resp = reader.read_response()
    assert_page(resp, 400, PAGE_TXT, "text/plain; charset=utf-8")
    assert resp.header("Connection") == "close"
    assert reader.at_eof(5)
    sock.close()


def test_range_and_conditions_do_not_apply_to_a_page(start_server,
                                                     tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    for header in ("Range: bytes=0-3", "If-None-Match: *",
                   "If-Modified-Since: Sun, 06 Nov 2050 08:49:37 GMT"):
        assert_page(srv.get("/missing", headers=[header]), 404, PAGE_404,
                    "text/html; charset=utf-8")


def test_status_without_a_page_gets_the_built_in_page(start_server,
                                                      tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    resp = srv.get("/noindex/")
    assert resp.status == 403
    assert BUILT_IN in resp.body


def test_large_page_is_sent_whole(start_server, tmp_path):
    big = b"<!DOCTYPE html>\n" + b"x" * (64 * 1024) + b"\n"
    srv = start_with_pages(start_server, tmp_path,
                           {404: ("/big404.html", big)})
    assert_page(srv.get("/missing"), 404, big, "text/html; charset=utf-8")


def test_deleted_page_falls_back_to_the_built_in_page(start_server,
                                                      tmp_path):
    srv = start_with_pages(start_server, tmp_path, STANDARD)
    assert srv.get("/missing").body == PAGE_404
    (tmp_path / "htdocs" / "errors" / "404.html").unlink()

    def always_404(resp):
        assert resp.status == 404

    resp = get_until(srv, "/missing", lambda r: BUILT_IN in r.body,
                     "the built-in 404 page", check=always_404,
                     timeout=CACHE_SETTLE)
    assert resp.header("Content-Type") == "text/html; charset=utf-8"
    assert srv.proc.poll() is None


def test_reload_applies_changed_error_pages(start_server, tmp_path):
    with_pages(tmp_path, {"/e/a.html": b"page A\n", "/e/b.txt": b"page B\n"})
    srv = start_server(error_page="404 /e/a.html")
    assert srv.get("/missing").body == b"page A\n"
    rewrite_config(srv, error_page=["404 /e/b.txt", "403 /e/a.html"])
    reload(srv)
    resp = srv.get("/missing")
    assert resp.body == b"page B\n"
    assert resp.header("Content-Type") == "text/plain; charset=utf-8"
    assert srv.get("/noindex/").body == b"page A\n"
    rewrite_config(srv, error_page=None)
    reload(srv)
    assert BUILT_IN in srv.get("/missing").body


def test_reload_naming_a_missing_page_changes_nothing(start_server,
                                                      tmp_path):
    with_pages(tmp_path, {"/e/a.html": b"page A\n"})
    srv = start_server(error_page="404 /e/a.html")
    rewrite_config(srv, error_page="404 /e/gone.html")
    srv.signal(signal.SIGHUP)
    poll(lambda: "/e/gone.html: No such file or directory"
         in srv.error_log_text(), 10, what="the reload error")
    assert srv.get("/missing").body == b"page A\n"


def test_missing_page_at_load_is_an_error_at_its_line(tmp_path):
    (tmp_path / "htdocs").mkdir()
    conf = tmp_path / "pfhttpd.ini"
    conf.write_text("[http]\nroot = htdocs\n\nerror_page = 404 /no.html\n")
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode != 0
    assert f"{conf}:4: [http] error_page 404 /no.html: No such file or " \
        "directory" in proc.stderr


def test_page_outside_the_root_is_refused_at_load(tmp_path):
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "outside.html").write_bytes(b"outside\n")
    (tmp_path / "htdocs" / "out.html").symlink_to(tmp_path / "outside.html")
    conf = tmp_path / "pfhttpd.ini"
    conf.write_text("[http]\nroot = htdocs\nerror_page = 404 /out.html\n")
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode != 0
    assert f"{conf}:3: [http] error_page 404 /out.html: " in proc.stderr
