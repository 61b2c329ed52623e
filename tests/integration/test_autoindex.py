"""autoindex: a directory with no index file gets an HTML listing of its
entries instead of 403, per host, with every name escaped; the page is
rendered at most once per open-file cache lifetime and shared by every
response meanwhile."""

import os
import re
import time

import pytest

from conftest import (SANITIZED, get_until, poll, request_bytes, tcp_queues,
                      vm_rss_kib)
from test_reload import reload
from test_vhosts import VhostServer, make_site

HREF = re.compile(rb'<a href="([^"]*)">([^<]*)</a>')


def links(resp):
    """The (href, text) pairs of a listing, as bytes."""
    return HREF.findall(resp.body)


@pytest.fixture
def listing(start_server):
    """A daemon with [http] autoindex = yes."""
    return start_server(autoindex="yes")


def test_directory_without_index_is_forbidden_by_default(start_server):
    srv = start_server()
    assert srv.get("/noindex/").status == 403


def test_directory_without_index_is_listed_with_autoindex(listing):
    resp = listing.get("/noindex/")
    assert resp.status == 200
    assert resp.header("Content-Type") == "text/html; charset=utf-8"
    assert resp.body.startswith(b"<!doctype html>\n")
    assert b"<title>Index of /noindex/</title>" in resp.body
    assert links(resp) == [(b"../", b"../"), (b"file.txt", b"file.txt")]


def test_listing_has_no_validators(listing):
    resp = listing.get("/noindex/")
    assert resp.header("Cache-Control") == "no-cache"
    assert resp.header("ETag") is None
    assert resp.header("Last-Modified") is None


def test_new_entry_shows_once_the_cached_listing_expires(listing):
    """The page is as fresh as a cached file: a new entry shows once the
    worker's cache entry is older than its lifetime (FCACHE_TTL_MS, 1 s),
    waited for here with conftest's slack for a loaded machine."""
    assert listing.get("/noindex/").status == 200
    (listing.root / "noindex" / "new.txt").write_bytes(b"new\n")
    get_until(listing, "/noindex/",
              lambda r: (b"new.txt", b"new.txt") in links(r),
              "the new entry in the listing")


def test_second_request_within_cache_lifetime_does_not_reread_directory(
        start_server):
    """Within FCACHE_TTL_MS (1 s) of the first request, a second one gets
    the page rendered for the first: a file added between them is not
    listed. One worker, so that both reach the same cache; an attempt whose
    requests took 0.8 s or more proves nothing and is made again."""
    srv = start_server(workers=1, autoindex="yes")
    for attempt in range(10):
        d = srv.root / f"once{attempt}"
        d.mkdir()
        (d / "a.txt").write_bytes(b"a")
        start = time.monotonic()
        first = links(srv.get(f"/once{attempt}/"))
        (d / "b.txt").write_bytes(b"b")
        second = links(srv.get(f"/once{attempt}/"))
        if time.monotonic() - start < 0.8:
            break
    else:
        pytest.fail("no two requests within 0.8 s in 10 attempts")
    assert first == [(b"../", b"../"), (b"a.txt", b"a.txt")]
    assert second == first


def test_head_gives_the_head_of_get(listing):
    get = listing.get("/noindex/")
    head = listing.get("/noindex/", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    for name in ("Content-Type", "Content-Length", "Cache-Control"):
        assert head.header(name) == get.header(name)
    assert int(head.header("Content-Length")) == len(get.body)


def test_index_file_wins_over_the_listing(listing):
    resp = listing.get("/dir/")
    assert resp.status == 200
    assert b"<title>dir index</title>" in resp.body


def test_directory_without_slash_still_redirects(listing):
    resp = listing.get("/noindex")
    assert resp.status == 301
    assert resp.header("Location") == "/noindex/"


def test_missing_directory_is_still_not_found(listing):
    assert listing.get("/nope/").status == 404


def test_directories_come_first_then_files_by_name(listing):
    make_site(listing.root / "order", {
        "b.txt": b"b", "B.txt": b"B", "a/x": b"x", "c/x": b"x"})
    names = [text for _, text in links(listing.get("/order/"))]
    assert names == [b"../", b"a/", b"c/", b"B.txt", b"b.txt"]


HOSTILE = {
    b"<img src=x onerror=alert(1)>": (b"%3Cimg%20src%3Dx%20onerror%3Dalert"
                                      b"%281%29%3E",
                                      b"&lt;img src=x onerror=alert(1)&gt;"),
    b"a\"b&c'd": (b"a%22b%26c%27d", b"a&quot;b&amp;c&#39;d"),
    b"100%.txt": (b"100%25.txt", b"100%.txt"),
    b"new\nline": (b"new%0Aline", b"new\xef\xbf\xbdline"),
    b"\xff\xfe.bin": (b"%FF%FE.bin", b"\xef\xbf\xbd\xef\xbf\xbd.bin"),
    b"caf\xc3\xa9": (b"caf%C3%A9", b"caf\xc3\xa9"),
    b"javascript:x": (b"javascript%3Ax", b"javascript:x"),
}


def test_names_are_escaped_in_text_and_encoded_in_links(listing):
    d = os.path.join(bytes(listing.root), b"hostile")
    os.mkdir(d)
    for name in HOSTILE:
        with open(os.path.join(d, name), "wb") as f:
            f.write(name)
    resp = listing.get("/hostile/")
    assert resp.status == 200
    assert b"<img" not in resp.body
    resp.body.decode("utf-8")  # valid UTF-8 whatever the names
    found = links(resp)
    for name, pair in HOSTILE.items():
        assert pair in found, name


def test_every_listed_link_reaches_its_file(listing):
    d = os.path.join(bytes(listing.root), b"reach")
    os.mkdir(d)
    for name in HOSTILE:
        with open(os.path.join(d, name), "wb") as f:
            f.write(name)
    for href, _ in links(listing.get("/reach/"))[1:]:
        resp = listing.get("/reach/" + href.decode("ascii"))
        assert resp.status == 200, href
        assert resp.body in HOSTILE, href


def test_dotfiles_are_listed_only_when_served(start_server):
    srv = start_server(autoindex="yes")
    make_site(srv.root / "dots", {".hidden": b"h", "shown": b"s"})
    names = [text for _, text in links(srv.get("/dots/"))]
    assert names == [b"../", b"shown"]
    other = start_server(autoindex="yes", serve_dotfiles="yes")
    names = [text for _, text in links(other.get("/dots/"))]
    assert names == [b"../", b".hidden", b"shown"]


def test_links_out_of_the_root_and_special_files_are_hidden(listing):
    d = listing.root / "links"
    d.mkdir()
    os.symlink("../../secret.txt", d / "out.txt")
    os.symlink("/etc/passwd", d / "abs.txt")
    os.symlink("../hello.txt", d / "in.txt")
    os.symlink("../noindex", d / "subdir")
    os.mkfifo(d / "fifo")
    names = [text for _, text in links(listing.get("/links/"))]
    assert names == [b"../", b"subdir/", b"in.txt"]


@pytest.fixture
def hosts(tmp_path):
    """[http] autoindex = no; on.test turns it on, off.test inherits;
    every host serves a root with a directory that has no index."""
    make_site(tmp_path / "htdocs", {"d/f.txt": b"f\n"})
    srv = VhostServer(tmp_path,
                      '[host "off.test"]\n'
                      '[host "on.test"]\n'
                      'autoindex = yes\n')
    srv.start()
    yield srv
    srv.stop()


def test_autoindex_is_per_host(hosts):
    assert hosts.get("/d/", host="on.test").status == 200
    assert hosts.get("/d/", host="off.test").status == 403


def test_host_inherits_http_autoindex(tmp_path):
    make_site(tmp_path / "htdocs", {"d/f.txt": b"f\n"})
    srv = VhostServer(tmp_path,
                      '[host "on.test"]\n'
                      '[host "off.test"]\n'
                      'autoindex = no\n', {"autoindex": "yes"})
    srv.start()
    try:
        assert srv.get("/d/", host="on.test").status == 200
        assert srv.get("/d/", host="off.test").status == 403
    finally:
        srv.stop()


def test_reload_turns_autoindex_on(start_server):
    srv = start_server()
    assert srv.get("/noindex/").status == 403
    srv.overrides["autoindex"] = "yes"
    srv.conf.write_text(srv.config_text(srv.port))
    reload(srv)
    poll(lambda: srv.get("/noindex/").status == 200, 5,
         what="the listing after the reload")


def test_slow_readers_of_a_big_listing_do_not_each_hold_the_page(
        start_server):
    """50 clients that ask for a 2 MiB listing and read nothing cost the
    worker next to no memory: the page is rendered once into a memory file
    and sent from it with sendfile(2), not copied into each connection's
    output buffer (which cost about 1 MiB of RSS a client)."""
    srv = start_server(workers=1, autoindex="yes")
    d = srv.root / "big"
    d.mkdir()
    for i in range(4500):
        (d / (f"{i:05d}" + "x" * 195)).write_bytes(b"")
    worker = srv.workers()[0]
    assert len(srv.get("/big/").body) > 2_000_000  # rendered, cached
    rss_before = vm_rss_kib(worker)
    socks = []
    try:
        for _ in range(50):
            s = srv.connect(rcvbuf=4096)
            s.sendall(request_bytes("/big/"))
            socks.append(s)
        # Every response has begun to arrive: every request was handled.
        poll(lambda: all((tcp_queues(s.getsockname()[1], srv.port)
                          or (0, 0))[1] > 0 for s in socks),
             10, what="every response to begin")
        growth = vm_rss_kib(worker) - rss_before
    finally:
        for s in socks:
            s.close()
    if not SANITIZED:  # ASan's quarantine and redzones inflate RSS
        assert growth < 16 * 1024, f"worker RSS grew by {growth} KiB"
