"""[http] precompressed: a file's .br or .gz sibling, chosen by the
request's Accept-Encoding, served as it is (never compressed on the fly).
"""

import gzip
import os

from conftest import Reader, curl, parse_curl_head, poll, request_bytes, \
    run_pfhttpd

# Larger than FCACHE_INLINE_MAX (16 KiB) for the sendfile(2) path.
TEXT = b"".join(b"line %05d of a precompressed text file\n" % i
                for i in range(1000))
GZ = gzip.compress(TEXT, mtime=0)
BR = b"not really brotli, but the server never looks inside\n"
SMALL = b"small original\n"
SMALL_GZ = gzip.compress(SMALL, mtime=0)


def put(docroot, name, content, mtime=None):
    """Write docroot/name; set its mtime (seconds) if given."""
    path = docroot / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def make_site(docroot, base=1_700_000_000):
    """text.txt with .gz and .br; small.css with .gz only; plain.txt with
    none; stale.txt with a .gz older than it; dir/ whose index.html has a
    .gz. Siblings are a second younger than their originals."""
    put(docroot, "text.txt", TEXT, base)
    put(docroot, "text.txt.gz", GZ, base + 1)
    put(docroot, "text.txt.br", BR, base + 1)
    put(docroot, "small.css", SMALL, base)
    put(docroot, "small.css.gz", SMALL_GZ, base + 1)
    put(docroot, "plain.txt", SMALL, base)
    put(docroot, "stale.txt", SMALL, base + 10)
    put(docroot, "stale.txt.gz", SMALL_GZ, base)
    put(docroot, "pc/index.html", b"<p>index</p>\n", base)
    put(docroot, "pc/index.html.gz", gzip.compress(b"<p>index</p>\n"),
        base + 1)


def start(start_server, tmp_path, value="br gzip"):
    make_site(tmp_path / "htdocs")
    return start_server(precompressed=value)


def get(server, path, ae=None, method="GET", extra=()):
    headers = list(extra)
    if ae is not None:
        headers.append(f"Accept-Encoding: {ae}")
    return server.get(path, headers=headers, method=method)


def test_gzip_sibling_is_sent_with_content_encoding(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/text.txt", "gzip")
    assert resp.status == 200
    assert resp.header("Content-Encoding") == "gzip"
    assert resp.header("Content-Type").startswith("text/plain")
    assert resp.header("Content-Length") == str(len(GZ))
    assert resp.body == GZ
    assert gzip.decompress(resp.body) == TEXT


def test_br_preferred_over_gzip_in_configured_order(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/text.txt", "gzip, deflate, br")
    assert resp.header("Content-Encoding") == "br"
    assert resp.body == BR


def test_configured_order_gzip_first_wins_a_tie(start_server, tmp_path):
    server = start(start_server, tmp_path, "gzip br")
    resp = get(server, "/text.txt", "br, gzip")
    assert resp.header("Content-Encoding") == "gzip"


def test_higher_qvalue_beats_configured_order(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/text.txt", "br;q=0.5, gzip;q=0.8")
    assert resp.header("Content-Encoding") == "gzip"


def test_no_accept_encoding_gets_the_original(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/text.txt")
    assert resp.status == 200
    assert resp.header("Content-Encoding") is None
    assert resp.header("Vary") == "Accept-Encoding"
    assert resp.body == TEXT


def test_q_zero_refuses_a_coding(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/text.txt", "br;q=0, gzip")
    assert resp.header("Content-Encoding") == "gzip"
    resp = get(server, "/text.txt", "gzip;q=0")
    assert resp.header("Content-Encoding") is None
    assert resp.body == TEXT


def test_identity_preferred_by_qvalue_gets_the_original(start_server,
                                                        tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/text.txt", "gzip;q=0.5, identity")
    assert resp.header("Content-Encoding") is None
    assert resp.body == TEXT


def test_identity_refused_with_only_the_original_still_serves_it(
        start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/plain.txt", "identity;q=0")
    assert resp.status == 200
    assert resp.header("Content-Encoding") is None
    assert resp.body == SMALL


def test_star_accepts_a_sibling(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/small.css", "*")
    assert resp.header("Content-Encoding") == "gzip"
    assert resp.body == SMALL_GZ


def test_star_q_zero_with_gzip_named_serves_gzip(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/text.txt", "*;q=0, gzip")
    assert resp.header("Content-Encoding") == "gzip"


def test_tokens_are_case_insensitive_and_x_gzip_is_gzip(start_server,
                                                        tmp_path):
    server = start(start_server, tmp_path)
    assert get(server, "/small.css", "GZIP;Q=1").header(
        "Content-Encoding") == "gzip"
    assert get(server, "/small.css", "x-gzip").header(
        "Content-Encoding") == "gzip"


def test_unknown_coding_only_gets_the_original(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/small.css", "deflate, zstd")
    assert resp.header("Content-Encoding") is None
    assert resp.body == SMALL


def test_missing_sibling_serves_the_original(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/small.css", "br")
    assert resp.header("Content-Encoding") is None
    assert resp.body == SMALL
    resp = get(server, "/plain.txt", "gzip, br")
    assert resp.header("Content-Encoding") is None
    assert resp.header("Vary") == "Accept-Encoding"
    assert resp.body == SMALL


def test_stale_sibling_older_than_its_source_is_ignored(start_server,
                                                        tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/stale.txt", "gzip")
    assert resp.status == 200
    assert resp.header("Content-Encoding") is None
    assert resp.body == SMALL


def test_variant_has_its_own_etag_and_last_modified(start_server, tmp_path):
    server = start(start_server, tmp_path)
    plain = get(server, "/text.txt")
    coded = get(server, "/text.txt", "gzip")
    brotli = get(server, "/text.txt", "br")
    etags = {plain.header("ETag"), coded.header("ETag"),
             brotli.header("ETag")}
    assert len(etags) == 3
    assert plain.header("Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert coded.header("Last-Modified") == "Tue, 14 Nov 2023 22:13:21 GMT"


def test_vary_on_every_response_of_a_file_with_a_sibling(start_server,
                                                         tmp_path):
    server = start(start_server, tmp_path)
    for ae in (None, "gzip", "br", "identity"):
        assert get(server, "/text.txt", ae).header("Vary") == \
            "Accept-Encoding", ae


def test_no_vary_when_precompressed_is_off(start_server, tmp_path):
    make_site(tmp_path / "htdocs")
    server = start_server()
    resp = get(server, "/text.txt", "gzip, br")
    assert resp.header("Vary") is None
    assert resp.header("Content-Encoding") is None
    assert resp.body == TEXT


def test_if_none_match_with_the_variant_etag_is_304(start_server, tmp_path):
    server = start(start_server, tmp_path)
    etag = get(server, "/text.txt", "gzip").header("ETag")
    resp = get(server, "/text.txt", "gzip",
               extra=[f"If-None-Match: {etag}"])
    assert resp.status == 304
    assert resp.header("ETag") == etag
    assert resp.header("Vary") == "Accept-Encoding"
    assert resp.header("Content-Encoding") is None
    assert resp.body == b""


def test_variant_etag_does_not_validate_the_original(start_server, tmp_path):
    server = start(start_server, tmp_path)
    etag = get(server, "/text.txt", "gzip").header("ETag")
    resp = get(server, "/text.txt", extra=[f"If-None-Match: {etag}"])
    assert resp.status == 200
    assert resp.body == TEXT


def test_if_modified_since_on_the_variant_is_304(start_server, tmp_path):
    server = start(start_server, tmp_path)
    since = get(server, "/small.css", "gzip").header("Last-Modified")
    resp = get(server, "/small.css", "gzip",
               extra=[f"If-Modified-Since: {since}"])
    assert resp.status == 304


def test_range_applies_to_the_encoded_bytes(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/text.txt", "gzip", extra=["Range: bytes=10-99"])
    assert resp.status == 206
    assert resp.header("Content-Encoding") == "gzip"
    assert resp.header("Content-Range") == f"bytes 10-99/{len(GZ)}"
    assert resp.body == GZ[10:100]


def test_if_range_with_the_variant_etag_honours_the_range(start_server,
                                                          tmp_path):
    server = start(start_server, tmp_path)
    etag = get(server, "/small.css", "gzip").header("ETag")
    resp = get(server, "/small.css", "gzip",
               extra=["Range: bytes=-5", f"If-Range: {etag}"])
    assert resp.status == 206
    assert resp.body == SMALL_GZ[-5:]


def test_head_of_the_variant_matches_get(start_server, tmp_path):
    server = start(start_server, tmp_path)
    got = get(server, "/text.txt", "gzip")
    head = get(server, "/text.txt", "gzip", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    for name in ("Content-Length", "Content-Encoding", "ETag", "Vary",
                 "Content-Type", "Last-Modified"):
        assert head.header(name) == got.header(name), name


def test_directory_index_has_its_sibling_served(start_server, tmp_path):
    server = start(start_server, tmp_path)
    resp = get(server, "/pc/", "gzip")
    assert resp.header("Content-Encoding") == "gzip"
    assert resp.header("Content-Type").startswith("text/html")
    assert gzip.decompress(resp.body) == b"<p>index</p>\n"


def test_curl_compressed_decodes_to_the_original(start_server, tmp_path):
    server = start(start_server, tmp_path)
    out = curl("--compressed", "-H", "Accept-Encoding: gzip", "-D", "-",
               "-o", str(tmp_path / "out"), server.url("/text.txt"))
    assert out.returncode == 0, out.stderr
    status, headers = parse_curl_head(out.stdout.decode())
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert (tmp_path / "out").read_bytes() == TEXT


def test_access_log_records_the_encoded_bytes(start_server, tmp_path):
    server = start(start_server, tmp_path)
    sock = server.connect()
    sock.sendall(request_bytes("/text.txt", headers=[
        "Accept-Encoding: gzip", "Connection: close"]))
    resp = Reader(sock).read_response()
    sock.close()
    assert resp.body == GZ
    line = poll(lambda: [ln for ln in server.access_log.read_text()
                         .splitlines() if "/text.txt" in ln],
                10, what="the access log line")[-1]
    assert f" 200 {len(GZ)} " in line


def test_bad_precompressed_value_is_a_file_line_error(tmp_path):
    for value in ("deflate", "gzip gzip", "br,gzip", "x-gzip", "identity"):
        conf = tmp_path / "bad.ini"
        conf.write_text(f"[http]\nroot = .\nprecompressed = {value}\n")
        out = run_pfhttpd("-t", "-c", str(conf))
        assert out.returncode != 0, value
        assert f"{conf}:3: [http] precompressed:" in out.stderr, \
            (value, out.stderr)


def test_sibling_symlink_out_of_the_root_is_ignored(start_server, tmp_path):
    make_site(tmp_path / "htdocs")
    outside = put(tmp_path, "outside.gz", b"SECRET outside the root\n",
                  1_800_000_000)
    put(tmp_path / "htdocs", "link.txt", SMALL, 1_700_000_000)
    os.symlink(outside, tmp_path / "htdocs" / "link.txt.gz")
    server = start_server(precompressed="gzip")
    resp = get(server, "/link.txt", "gzip")
    assert resp.status == 200
    assert resp.header("Content-Encoding") is None
    assert resp.body == SMALL


def test_sibling_carries_the_cache_rule_of_its_original(start_server,
                                                        tmp_path):
    make_site(tmp_path / "htdocs")
    server = start_server(precompressed="gzip", cache=".txt max-age=60")
    resp = get(server, "/text.txt", "gzip")
    assert resp.header("Content-Encoding") == "gzip"
    assert resp.header("Cache-Control") == "max-age=60"
    assert resp.header("Vary") == "Accept-Encoding"
    again = get(server, "/text.txt", "gzip",
                extra=[f"If-None-Match: {resp.header('ETag')}"])
    assert again.status == 304
    assert again.header("Cache-Control") == "max-age=60"
    assert again.header("Content-Encoding") is None
    plain = get(server, "/text.txt")
    assert plain.header("Content-Encoding") is None
    assert plain.header("Cache-Control") == "max-age=60"
