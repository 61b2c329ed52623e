"""Static files: headers, types, paths, the root boundary, directories."""

import email.utils
import os
import re
import time

import pytest

from conftest import (DOCROOT_FILES, SECRET_CONTENT, Reader, curl,
                      parse_curl_head, request_bytes)


def test_get_serves_file_with_standard_headers(server, docroot, tmp_path):
    out = tmp_path / "body"
    proc = curl("-D", "-", "-o", str(out), server.url("/hello.txt"))
    assert proc.returncode == 0, proc.stderr
    status, headers = parse_curl_head(proc.stdout.decode())
    content = DOCROOT_FILES["hello.txt"]
    assert status == 200
    assert out.read_bytes() == content
    assert headers["content-length"] == str(len(content))
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert re.fullmatch(r"pfhttpd/\d+\.\d+\.\d+", headers["server"])
    date = email.utils.parsedate_to_datetime(headers["date"]).timestamp()
    assert abs(date - time.time()) < 60
    assert headers["date"].endswith(" GMT")
    mtime = int(os.stat(docroot / "hello.txt").st_mtime)
    assert headers["last-modified"] == email.utils.formatdate(mtime,
                                                              usegmt=True)
    assert re.fullmatch(r'"[\x21\x23-\x7e]+"', headers["etag"])
    assert headers["accept-ranges"] == "bytes"


def test_head_has_same_headers_as_get_and_no_body(server):
    sock = server.connect()
    # HEAD then GET on one connection: a HEAD body would corrupt the GET.
    sock.sendall(request_bytes("/page.html", method="HEAD")
                 + request_bytes("/page.html", headers=["Connection: close"]))
    reader = Reader(sock)
    head = reader.read_response(head=True)
    get = reader.read_response()
    assert reader.at_eof(5)
    sock.close()
    assert head.status == get.status == 200
    assert get.body == DOCROOT_FILES["page.html"]
    strip = {"date", "connection"}
    assert ([h for h in head.header_list if h[0].lower() not in strip]
            == [h for h in get.header_list if h[0].lower() not in strip])
    assert head.header("Content-Length") == str(len(get.body))


@pytest.mark.parametrize("path,ctype", [
    ("/page.html", "text/html; charset=utf-8"),
    ("/image.png", "image/png"),
    ("/hello.txt", "text/plain; charset=utf-8"),
    ("/blob.unknownext", "application/octet-stream"),
])
def test_content_type_follows_extension(server, path, ctype):
    resp = server.get(path)
    assert resp.status == 200
    assert resp.header("Content-Type") == ctype
    assert resp.body == DOCROOT_FILES[path[1:]]


def test_missing_file_is_404(server):
    resp = server.get("/no-such-file.txt")
    assert resp.status == 404
    assert resp.header("Content-Type") == "text/html; charset=utf-8"


def test_percent_encoded_space_serves_file_with_space(server):
    resp = server.get("/a%20b.txt")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["a b.txt"]


def test_percent_encoded_letters_are_decoded(server):
    resp = server.get("/%68%65llo.txt")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]


def test_percent_00_is_400(server):
    assert server.get("/hello.txt%00.html").status == 400


@pytest.mark.parametrize("path", [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/dir/../../secret.txt",
    "/dir/%2e%2e/%2e%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%2fsecret.txt",
])
def test_dotdot_escape_is_400_and_never_serves_outside_file(server, path):
    resp = server.request(request_bytes(path))
    assert resp.status == 400, resp
    assert SECRET_CONTENT not in resp.body


def test_dotdot_inside_root_is_resolved(server):
    resp = server.request(request_bytes("/dir/../hello.txt"))
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]


def test_symlink_pointing_outside_root_is_403(server, docroot):
    assert os.readlink(docroot / "link_out.txt") == "../secret.txt"
    resp = server.get("/link_out.txt")
    assert resp.status == 403
    assert SECRET_CONTENT not in resp.body


def test_symlink_pointing_inside_root_is_served(server):
    resp = server.get("/link_in.txt")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]


def test_dotfile_is_404_by_default(server):
    resp = server.get("/.secret")
    assert resp.status == 404
    assert DOCROOT_FILES[".secret"] not in resp.body


def test_dotfile_in_encoded_form_is_404_by_default(server):
    resp = server.get("/%2esecret")
    assert resp.status == 404


def test_dotfile_is_served_with_serve_dotfiles_yes(start_server):
    server = start_server(serve_dotfiles="yes")
    resp = server.get("/.secret")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES[".secret"]


def test_directory_without_slash_redirects_301_keeping_query(server):
    resp = server.get("/dir?q=1")
    assert resp.status == 301
    assert resp.header("Location") == "/dir/?q=1"


def test_directory_without_slash_redirects_301_without_query(server):
    resp = server.get("/dir")
    assert resp.status == 301
    assert resp.header("Location") == "/dir/"


def test_directory_redirect_location_is_percent_encoded(server):
    resp = server.get("/sp%20dir?a=%20b")
    assert resp.status == 301
    assert resp.header("Location") == "/sp%20dir/?a=%20b"


def test_directory_serves_its_index_file(server):
    resp = server.get("/dir/")
    assert resp.status == 200
    assert resp.header("Content-Type") == "text/html; charset=utf-8"
    assert resp.body == DOCROOT_FILES["dir/index.html"]


def test_root_serves_its_index_file(server):
    resp = server.get("/")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["index.html"]


def test_index_setting_names_the_index_file(start_server):
    server = start_server(index="other.txt")
    resp = server.get("/dir/")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["dir/other.txt"]


def test_directory_without_index_is_403(server):
    resp = server.get("/noindex/")
    assert resp.status == 403
    assert b"file.txt" not in resp.body  # no listing


def test_query_string_is_ignored_for_files(server):
    resp = server.get("/hello.txt?x=1&y=2")
    assert resp.status == 200
    assert resp.body == DOCROOT_FILES["hello.txt"]
