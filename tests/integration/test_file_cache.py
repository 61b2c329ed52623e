"""The open-file cache: what a path resolved to is kept for a second.

Each worker keeps a path's file (its bytes when small, its descriptor when
large), its metadata and errors for FCACHE_TTL_MS; a change on disk must be
served within that second, and an answer must never mix two versions of a
file.
"""

import os

from conftest import CACHE_SETTLE, get_until, poll


def whole(old, new):
    """A check that each response is exactly the old or the new file."""
    def check(resp):
        assert resp.status == 200, resp
        assert resp.body in (old, new), resp
        assert int(resp.header("Content-Length")) == len(resp.body)
    return check


def test_a_small_file_rewritten_is_served_new_within_the_second(
        server, docroot):
    path = docroot / "cached.txt"
    old, new = b"the first version\n", b"the second, longer version\n"
    path.write_bytes(old)
    assert server.get("/cached.txt").body == old
    path.write_bytes(new)
    for _ in range(4):  # both workers
        get_until(server, "/cached.txt", lambda r: r.body == new,
                  "the new bytes", check=whole(old, new))


def test_a_large_file_replaced_is_served_new_within_the_second(
        server, docroot):
    path = docroot / "large.bin"
    old, new = b"a" * (64 * 1024), b"b" * (96 * 1024)
    path.write_bytes(old)
    assert server.get("/large.bin").body == old
    tmp = docroot / "large.bin.new"
    tmp.write_bytes(new)
    os.replace(tmp, path)
    for _ in range(4):
        get_until(server, "/large.bin", lambda r: r.body == new,
                  "the new file", check=whole(old, new))


def test_a_file_created_after_a_404_is_served_within_the_second(
        server, docroot):
    assert server.get("/later.txt").status == 404
    (docroot / "later.txt").write_bytes(b"here now\n")

    def check(resp):
        assert resp.status in (200, 404), resp

    for _ in range(4):
        get_until(server, "/later.txt", lambda r: r.status == 200,
                  "200 once the file exists", check=check)


def test_a_deleted_file_is_404_within_the_second(server, docroot):
    path = docroot / "gone.txt"
    path.write_bytes(b"soon gone\n")
    assert server.get("/gone.txt").status == 200
    path.unlink()
    for _ in range(4):
        get_until(server, "/gone.txt", lambda r: r.status == 404, "404")


def test_a_cached_file_is_served_to_many_requests_the_same(server, docroot):
    # Many requests for one path on one keep-alive connection, a range among
    # them: the cached bytes are the file's, every time.
    body = bytes(range(256)) * 64  # 16 KiB, the largest kept in memory
    (docroot / "many.bin").write_bytes(body)
    for _ in range(50):
        resp = server.get("/many.bin")
        assert resp.body == body
    resp = server.get("/many.bin", headers=["Range: bytes=1000-1999"])
    assert resp.status == 206 and resp.body == body[1000:2000]


def test_the_cache_does_not_hold_descriptors_the_workers_need(
        start_server, docroot):
    # With a low descriptor limit, many large files (each cached with its
    # descriptor) must not starve new connections or new files: when
    # open(2) runs out, the cache gives its descriptors back.
    for i in range(80):
        (docroot / f"f{i}.bin").write_bytes(b"x" * (32 * 1024))
    server = start_server(workers=1, rlimit_nofile=64)
    for i in range(80):
        resp = poll(lambda i=i: server.get(f"/f{i}.bin"), CACHE_SETTLE,
                    what=f"f{i}.bin")
        assert resp.status == 200, (i, resp)
        assert len(resp.body) == 32 * 1024
