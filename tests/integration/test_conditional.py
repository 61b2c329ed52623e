"""Conditional requests and byte ranges."""

import email.utils
import os

from conftest import DOCROOT_FILES, Reader, curl, get_until, \
    parse_curl_head, request_bytes

DIGITS = DOCROOT_FILES["digits.txt"]
SIZE = len(DIGITS)


def etag_of(server, path="/digits.txt"):
    resp = server.get(path)
    assert resp.status == 200
    return resp.header("ETag")


def last_modified(docroot, name="digits.txt"):
    return int(os.stat(docroot / name).st_mtime)


def httpdate(t):
    return email.utils.formatdate(t, usegmt=True)


def test_if_none_match_with_etag_is_304_without_body(server):
    etag = etag_of(server)
    sock = server.connect()
    # The next response must follow at once: a 304 body would corrupt it.
    sock.sendall(request_bytes("/digits.txt",
                               headers=[f"If-None-Match: {etag}"])
                 + request_bytes("/a.txt", headers=["Connection: close"]))
    reader = Reader(sock)
    first = reader.read_response()
    second = reader.read_response()
    assert reader.at_eof(5)
    sock.close()
    assert first.status == 304
    assert first.header("ETag") == etag
    assert second.status == 200
    assert second.body == DOCROOT_FILES["a.txt"]


def test_if_none_match_in_a_list_is_304(server):
    etag = etag_of(server)
    resp = server.get("/digits.txt",
                      headers=[f'If-None-Match: "nope", W/{etag}'])
    assert resp.status == 304


def test_if_none_match_star_is_304(server):
    resp = server.get("/digits.txt", headers=["If-None-Match: *"])
    assert resp.status == 304


def test_if_modified_since_at_last_modified_is_304(server, docroot):
    since = httpdate(last_modified(docroot))
    resp = server.get("/digits.txt", headers=[f"If-Modified-Since: {since}"])
    assert resp.status == 304
    assert resp.body == b""


def test_if_modified_since_after_last_modified_is_304(server, docroot):
    since = httpdate(last_modified(docroot) + 3600)
    resp = server.get("/digits.txt", headers=[f"If-Modified-Since: {since}"])
    assert resp.status == 304


def test_if_modified_since_before_last_modified_is_200(server, docroot):
    since = httpdate(last_modified(docroot) - 1)
    resp = server.get("/digits.txt", headers=[f"If-Modified-Since: {since}"])
    assert resp.status == 200
    assert resp.body == DIGITS


def test_if_none_match_mismatch_beats_matching_if_modified_since(
        server, docroot):
    since = httpdate(last_modified(docroot))
    resp = server.get("/digits.txt", headers=[
        'If-None-Match: "not-the-current-etag"',
        f"If-Modified-Since: {since}"])
    assert resp.status == 200
    assert resp.body == DIGITS


def test_if_match_mismatch_is_412(server):
    resp = server.get("/digits.txt", headers=['If-Match: "stale"'])
    assert resp.status == 412
    assert DIGITS not in resp.body


def test_if_match_with_current_etag_is_200(server):
    etag = etag_of(server)
    resp = server.get("/digits.txt", headers=[f"If-Match: {etag}"])
    assert resp.status == 200
    assert resp.body == DIGITS


def test_range_0_4_is_206_with_content_range_and_exact_bytes(server,
                                                             tmp_path):
    out = tmp_path / "part"
    proc = curl("-D", "-", "-o", str(out), "-r", "0-4",
                server.url("/digits.txt"))
    assert proc.returncode == 0, proc.stderr
    status, headers = parse_curl_head(proc.stdout.decode())
    assert status == 206
    assert headers["content-range"] == f"bytes 0-4/{SIZE}"
    assert headers["content-length"] == "5"
    assert out.read_bytes() == DIGITS[0:5]


def test_middle_range_returns_exact_bytes(server):
    resp = server.get("/digits.txt", headers=["Range: bytes=10-19"])
    assert resp.status == 206
    assert resp.header("Content-Range") == f"bytes 10-19/{SIZE}"
    assert resp.body == DIGITS[10:20]


def test_suffix_range_returns_last_3_bytes(server):
    resp = server.get("/digits.txt", headers=["Range: bytes=-3"])
    assert resp.status == 206
    assert resp.header("Content-Range") == (
        f"bytes {SIZE - 3}-{SIZE - 1}/{SIZE}")
    assert resp.body == DIGITS[-3:]


def test_open_ended_range_returns_from_offset_to_end(server):
    resp = server.get("/digits.txt", headers=["Range: bytes=5-"])
    assert resp.status == 206
    assert resp.header("Content-Range") == f"bytes 5-{SIZE - 1}/{SIZE}"
    assert resp.body == DIGITS[5:]


def test_range_past_the_end_is_clamped(server):
    resp = server.get("/digits.txt", headers=["Range: bytes=30-9999"])
    assert resp.status == 206
    assert resp.header("Content-Range") == f"bytes 30-{SIZE - 1}/{SIZE}"
    assert resp.body == DIGITS[30:]


def test_unsatisfiable_range_is_416_with_content_range_star(server):
    resp = server.get("/digits.txt", headers=[f"Range: bytes={SIZE}-"])
    assert resp.status == 416
    assert resp.header("Content-Range") == f"bytes */{SIZE}"
    assert DIGITS not in resp.body


def test_multiple_ranges_return_whole_file_200(server):
    resp = server.get("/digits.txt", headers=["Range: bytes=0-1,5-6"])
    assert resp.status == 200
    assert resp.header("Content-Range") is None
    assert resp.body == DIGITS


def test_if_range_with_current_etag_is_206(server):
    etag = etag_of(server)
    resp = server.get("/digits.txt",
                      headers=["Range: bytes=0-4", f"If-Range: {etag}"])
    assert resp.status == 206
    assert resp.body == DIGITS[:5]


def test_if_range_with_old_etag_is_200_whole_file(server):
    resp = server.get("/digits.txt",
                      headers=["Range: bytes=0-4", 'If-Range: "old-etag"'])
    assert resp.status == 200
    assert resp.body == DIGITS


def test_if_range_with_etag_from_before_a_change_is_200(server, docroot):
    etag = etag_of(server)
    path = docroot / "digits.txt"
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    # Each worker sees the change within the cache's second; until then
    # the old validator still holds and the range is served.
    for _ in range(4):
        resp = get_until(server, "/digits.txt", lambda r: r.status == 200,
                         "a 200 for the stale If-Range",
                         headers=["Range: bytes=0-4", f"If-Range: {etag}"])
        assert resp.body == DIGITS
