"""Hostile paths: encoded and disguised traversal, symbolic links that lead
out of the document root (also when swapped in after a first request),
and a directory replaced by a file while it is being served.

conftest puts secret.txt next to htdocs (one level up); none of these may
ever answer with its content. The statuses, and why:
  400  the path, once percent-decoded (once) and normalised, climbs above
       the root, or has a bad escape or a NUL (path.c)
  403  the file exists only through a symbolic link that leaves the root:
       openat2(RESOLVE_BENEATH) fails with EXDEV (or ELOOP for a loop)
  404  the decoded name does not exist beneath the root: double encoding is
       decoded once, a backslash is an ordinary byte, an overlong UTF-8
       sequence is not a dot, a path through a file is ENOTDIR
"""

import hashlib
import os

import pytest

from conftest import (BIG_SIZE, CACHE_SETTLE, DOCROOT_FILES, SECRET_CONTENT,
                      Reader, get_until, poll, request_bytes)

PATHS = [
    # Decoding comes before dot-segment removal: an encoded ".." or "/" is
    # one, in any case, so these climb above the root.
    ("/%2E%2e/secret.txt", 400, "mixed_case_encoded_dots"),
    ("/%2e%2E%2Fsecret.txt", 400, "encoded_dots_and_slash"),
    ("/dir/.%2E/%2e./secret.txt", 400, "half_encoded_dots"),
    ("/dir/..%2F..%2Fsecret.txt", 400, "encoded_slashes"),
    ("/dir/..%2f%2E%2E%2fsecret.txt", 400, "all_encoded_after_dir"),
    ("/dir/./../.././secret.txt", 400, "dots_after_normalisation"),
    ("/dir//..//..//secret.txt", 400, "repeated_slashes"),
    ("//../secret.txt", 400, "leading_double_slash"),
    ("/dir/../dir/../../secret.txt", 400, "climb_back_and_out"),
    ("/%2e%2e", 400, "encoded_dots_at_end"),
    ("/%2e%2e%00/secret.txt", 400, "nul_after_dots"),
    ("/%u002e%u002e/secret.txt", 400, "iis_u_escape"),
    ("/%2/secret.txt", 400, "truncated_escape"),
    ("http://localhost/../secret.txt", 400, "absolute_form_dots"),
    ("http://localhost/%2e%2e/secret.txt", 400, "absolute_form_encoded"),
    # Decoded once: "%252e" is the three bytes "%2e" of a name.
    ("/%252e%252e/secret.txt", 404, "double_encoded_dots"),
    ("/%252e%252e%252fsecret.txt", 404, "double_encoded_dots_slash"),
    ("/dir/%25%32%65%25%32%65/%25%32%65%25%32%65/secret.txt", 404,
     "double_encoded_hex_digits"),
    # A backslash is not a separator on Linux: part of the name.
    ("/..\\secret.txt", 404, "backslash"),
    ("/dir\\..\\..\\secret.txt", 404, "backslashes"),
    ("/..%5csecret.txt", 404, "encoded_backslash"),
    ("/dir/..%5C..%5Csecret.txt", 404, "encoded_backslashes_upper"),
    # Overlong UTF-8 for '.' and '/' are bytes of a name, never decoded.
    ("/%c0%ae%c0%ae/secret.txt", 404, "overlong_utf8_dots"),
    ("/%e0%80%ae%e0%80%ae/secret.txt", 404, "overlong_utf8_dots_3byte"),
    ("/..%c0%afsecret.txt", 404, "overlong_utf8_slash"),
    ("/%c0%2e%c0%2e/secret.txt", 404, "invalid_utf8_before_dots"),
    # Names that only look like dot segments.
    ("/.../secret.txt", 404, "three_dots"),
    ("/..../secret.txt", 404, "four_dots"),
    ("/..;/secret.txt", 404, "dots_semicolon"),
    ("/;/../secret.txt", 404, "semicolon_segment_popped"),
    ("/secret.txt", 404, "not_in_root"),
    ("/dir/%20../secret.txt", 404, "space_dots"),
]


@pytest.mark.parametrize("path,status", [(p, s) for p, s, _ in PATHS],
                         ids=[i for _, _, i in PATHS])
def test_disguised_traversal_never_leaves_the_root(server, path, status):
    resp = server.request(request_bytes(path))
    assert resp.status == status, resp
    assert SECRET_CONTENT not in resp.body


def get_on(sock, path):
    """One request on an open keep-alive connection."""
    sock.sendall(request_bytes(path))
    return Reader(sock).read_response()


def not_secret(resp):
    """Fail if the response carries the secret; return it otherwise."""
    assert SECRET_CONTENT not in resp.body, resp
    return resp


def swap(path, make):
    """Replace path atomically with what make(tmp_name) creates."""
    tmp = path.with_name(path.name + ".new")
    make(tmp)
    os.replace(tmp, path)


def test_absolute_symlink_to_the_secret_is_403(server, docroot, tmp_path):
    os.symlink(tmp_path / "secret.txt", docroot / "abs_link.txt")
    resp = server.get("/abs_link.txt")
    assert resp.status == 403
    assert SECRET_CONTENT not in resp.body


def test_symlinked_directory_to_the_parent_is_403(server, docroot):
    os.symlink("..", docroot / "up")
    for path in ("/up/secret.txt", "/up/htdocs/hello.txt", "/up/"):
        resp = server.get(path)
        assert resp.status == 403, (path, resp)
        assert SECRET_CONTENT not in resp.body


def test_symlink_loop_is_403(server, docroot):
    os.symlink("loop_b", docroot / "loop_a")
    os.symlink("loop_a", docroot / "loop_b")
    assert server.get("/loop_a").status == 403  # ELOOP


def test_index_file_that_is_a_symlink_out_of_the_root_is_403(server,
                                                            docroot):
    (docroot / "dir2").mkdir()
    os.symlink("../../secret.txt", docroot / "dir2" / "index.html")
    resp = server.get("/dir2/")
    assert resp.status == 403
    assert SECRET_CONTENT not in resp.body


def test_file_swapped_for_an_outward_symlink_after_serving_is_403(
        server, docroot):
    target = docroot / "swap.txt"
    target.write_bytes(b"public content\n")
    with server.connect() as sock:
        first = get_on(sock, "/swap.txt")
        assert first.status == 200 and first.body == b"public content\n"
        swap(target, lambda tmp: os.symlink("../secret.txt", tmp))
        # Within the cache's second the file first opened may still be
        # served; never the secret. Then the link is refused, on this
        # connection and on fresh ones (both workers).
        poll(lambda: not_secret(get_on(sock, "/swap.txt")).status == 403,
             CACHE_SETTLE, what="403 on the keep-alive connection")
    for _ in range(6):
        get_until(server, "/swap.txt", lambda r: r.status == 403,
                  "403 on a new connection", check=not_secret)
    # Swapped back, it is served again.
    swap(target, lambda tmp: tmp.write_bytes(b"public again\n"))
    get_until(server, "/swap.txt", lambda r: r.body == b"public again\n",
              "the file served again")


def test_directory_swapped_for_an_outward_symlink_after_serving_is_403(
        server, docroot):
    d = docroot / "swapdir"
    d.mkdir()
    (d / "index.html").write_bytes(b"swapdir index\n")
    (d / "secret.txt").write_bytes(b"a public file named secret\n")
    assert server.get("/swapdir/").body == b"swapdir index\n"
    assert server.get("/swapdir/secret.txt").status == 200
    os.rename(d, docroot / "swapdir.old")
    os.symlink("..", d)  # swapdir/secret.txt is now the real secret
    for path in ("/swapdir/secret.txt", "/swapdir/", "/swapdir"):
        get_until(server, path, lambda r: r.status == 403,
                  f"403 for {path}", check=not_secret)


def test_directory_replaced_by_a_file_while_a_download_runs(
        server, docroot, big_sha256):
    d = docroot / "d"
    d.mkdir()
    os.link(docroot / "big.bin", d / "big.bin")
    (d / "index.html").write_bytes(b"d index\n")
    sock = server.connect(rcvbuf=64 * 1024)
    sock.sendall(request_bytes("/d/big.bin", headers=["Connection: close"]))
    reader = Reader(sock, timeout=60)
    head = reader.read_head()
    assert head.startswith(b"HTTP/1.1 200 ")
    hasher = hashlib.sha256()
    got = 0
    while got < (1 << 20):  # the download is under way
        data = reader.take(len(reader.buf)) or sock.recv(1 << 16)
        assert data
        hasher.update(data)
        got += len(data)

    os.rename(d, docroot / "d.old")
    (docroot / "d").write_bytes(b"d is a file now\n")
    # A path through what is now a file: ENOTDIR, 404; and with a slash a
    # file is not a directory either: 404. The file itself is served.
    for path in ("/d/big.bin", "/d/index.html", "/d/"):
        get_until(server, path, lambda r: r.status == 404, f"404 for {path}")
    get_until(server, "/d", lambda r: r.body == b"d is a file now\n",
              "the file /d")

    # The download in flight goes on from the file it opened, to the end.
    sock.settimeout(60)
    while True:
        data = reader.take(len(reader.buf)) or sock.recv(1 << 20)
        if not data:
            break
        hasher.update(data)
        got += len(data)
    sock.close()
    assert got == BIG_SIZE
    assert hasher.hexdigest() == big_sha256


def test_symlink_inside_the_root_still_serves_after_a_swap(server, docroot):
    # The other direction: an outward link replaced by an inward one.
    link = docroot / "flip.txt"
    os.symlink("../secret.txt", link)
    assert server.get("/flip.txt").status == 403
    swap(link, lambda tmp: os.symlink("hello.txt", tmp))
    resp = get_until(server, "/flip.txt", lambda r: r.status == 200,
                     "200 once the link points inside")
    assert resp.body == DOCROOT_FILES["hello.txt"]
