"""Hostile requests: a deterministic, seeded generator of 1,500 malformed,
mutated and foreign requests (garbage, binary, TLS and HTTP/2 openings,
huge or countless header fields, folding, bad escapes, absurd lengths and
ranges, NULs, odd methods and versions, ...), sent over a few parallel
connections. Every one gets a clean answer whose status is one its
category allows, or a close; never a server error or a hang; no worker
dies; and normal requests are served throughout and right after.

Each request has a connection of its own: the client sends it, waits for
the answer where its category must have one, shuts its sending side (so
that a header that never ends is closed at once instead of waiting for
header_timeout) and reads until the server closes.
"""

import collections
import random
import re
import socket
import threading
import time

import pytest

from conftest import (DOCROOT_FILES, IO_TIMEOUT, SECRET_CONTENT, child_pids,
                      poll)
from hostile_util import statsdump

SEED = 0x5EED_2026
COUNT = 1500
PARALLEL = 6

# Statuses no request may ever get: the server's own failures.
SERVER_ERRORS = {500, 502, 503, 504}

TCHARS = (b"!#$%&'*+-.^_`|~0123456789"
          b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def base(path="/hello.txt", method="GET", fields=(), body=b"",
         version="HTTP/1.1"):
    """A valid request head (bytes) with extra raw field lines."""
    head = f"{method} {path} {version}\r\nHost: localhost\r\n".encode()
    for f in fields:
        head += f + b"\r\n"
    return head + b"\r\n" + body


# -- Generators: each takes a random.Random and returns the request bytes --

def gen_garbage_text(rng):
    n = rng.randint(1, 3000)
    return bytes(rng.randint(0x20, 0x7e) for _ in range(n)) + b"\r\n\r\n"


def gen_binary(rng):
    data = rng.randbytes(rng.randint(1, 4000))
    return data + (b"\r\n\r\n" if rng.random() < 0.5 else b"")


def gen_tls_client_hello(rng):
    sni = b"localhost"
    ext_sni = (b"\x00\x00" + (len(sni) + 5).to_bytes(2, "big")
               + (len(sni) + 3).to_bytes(2, "big") + b"\x00"
               + len(sni).to_bytes(2, "big") + sni)
    ciphers = b"".join(rng.choice([b"\x13\x01", b"\x13\x02", b"\xc0\x2f",
                                   b"\x00\x9c"]) for _ in range(8))
    body = (b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
            + len(ciphers).to_bytes(2, "big") + ciphers + b"\x01\x00"
            + len(ext_sni).to_bytes(2, "big") + ext_sni)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def gen_http2_preface(rng):
    settings = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64"
    return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings * rng.randint(0, 3)


def gen_h2c_upgrade(rng):
    return base("/hello.txt", fields=[
        b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c",
        b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"])


def gen_huge_field(rng):
    return base(fields=[b"X-Huge: " + b"a" * rng.randint(9000, 60000)])


def gen_many_fields(rng):
    n = rng.randint(65, 4000)
    return base(fields=[b"X-%d: %d" % (i, i) for i in range(n)])


def gen_folded_field(rng):
    fold = rng.choice([b" ", b"\t", b"  \t"])
    return base(fields=[b"X-Folded: first", fold + b"continued"])


def gen_bad_percent(rng):
    bad = rng.choice(["%", "%4", "%zz", "%g0", "%0g", "%00", "%%", "%-1",
                      "%2", "%+2e", "%\u00e9"])
    path = "/" + rng.choice(["", "hello", "dir/"]) + bad + rng.choice(
        ["", ".txt", "/x"])
    return base(path)


def gen_huge_content_length(rng):
    value = rng.choice([b"9" * rng.randint(20, 200),
                        b"18446744073709551616",
                        b"340282366920938463463374607431768211456"])
    return base(method=rng.choice(["GET", "POST"]),
                fields=[b"Content-Length: " + value], body=b"x" * 10)


def gen_negative_length(rng):
    value = b"-" + str(rng.randint(0, 1 << 40)).encode()
    return base(method="POST", fields=[b"Content-Length: " + value])


def gen_bad_chunk_size(rng):
    size = rng.choice([b"-1", b"0x10", b"zz", b" 5", b"+5", b"1_0",
                       b"f" * rng.randint(17, 64), b"", b"5\x00",
                       b"\xff\xfe"])
    return base(method="POST", fields=[b"Transfer-Encoding: chunked"],
                body=size + b"\r\nhello\r\n0\r\n\r\n")


def gen_absurd_ranges(rng):
    def spec():
        kind = rng.randint(0, 5)
        a, b = rng.randint(0, 1 << 62), rng.randint(0, 100)
        return [f"{b}-{a}", f"-{a}", f"{a}-", f"{b}-{b + 3}", f"{a}-{b}",
                "99999999999999999999999999-"][kind]
    n = rng.choice([1, 2, 50, 500, 2000])
    value = ",".join(spec() for _ in range(n))
    unit = rng.choice(["bytes", "BYTES", "bytes", "octets"])
    return base("/digits.txt", fields=[f"Range: {unit}={value}".encode()])


def gen_nul_bytes(rng):
    req = bytearray(base("/hello.txt", fields=[b"X-Foo: bar"]))
    # Anywhere in the head but not in its line ends.
    spots = [i for i, c in enumerate(req[:-4]) if c not in b"\r\n"]
    for _ in range(rng.randint(1, 3)):
        req.insert(rng.choice(spots), 0)
    return bytes(req)


def gen_long_request_line(rng):
    n = rng.randint(9000, 40000)
    return base("/" + "a" * n)


def gen_long_path(rng):
    # Under max_header_size: a segment over NAME_MAX (404) or a path over
    # PATH_MAX (414).
    segs = [("b" * rng.randint(1, 600)) for _ in range(rng.randint(1, 30))]
    return base("/" + "/".join(segs)[:rng.randint(300, 7500)])


def gen_odd_method(rng):
    n = rng.randint(1, 24)
    if rng.random() < 0.5:
        method = bytes(rng.randint(0, 255) for _ in range(n))
        method = method.replace(b" ", b"\x00").replace(b"\n", b"\x01")
    else:
        method = bytes(rng.choice(TCHARS) for _ in range(n))
        if method in (b"GET", b"HEAD"):
            method = b"X" + method
    return method + b" /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"


def gen_bad_version(rng):
    version = rng.choice(["HTTP/1.x", "HTTP/2.0", "HTTP/3.0", "HTTP/9.9",
                          "HTTP/1.10", "HTTP/1", "http/1.1", "HTTP/1.1 ",
                          "HTTP/-1.1", "HTTP/01.1", "HTTPS/1.1", "HTTP/1.1x",
                          "", "HTTP/\u00b9.1", "HTTP/0.9"])
    return (b"GET /hello.txt " + version.encode("utf-8")
            + b"\r\nHost: localhost\r\n\r\n")


def gen_bad_field_name(rng):
    name = bytes(rng.choice(b"()<>@,;\\\"/[]?={} \t\x01\x7f\xff")
                 for _ in range(rng.randint(1, 4)))
    return base(fields=[b"X" + name + b"Y: value"])


def gen_bad_target(rng):
    target = rng.choice([b"*", b"hello.txt", b"http://", b"http:///x",
                         b"http://exa mple/", b"http://a\"b/",
                         b"http://a<b>/", b"/#frag", b"/\x7f", b"/\xff\xfe",
                         b"https://a b/", b"localhost:80", b"?x"])
    return b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"


def gen_traversal(rng):
    path = rng.choice([
        "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt",
        "/%2E%2e/%2e%2E/secret.txt", "/dir/../../secret.txt",
        "/./.././secret.txt", "/%252e%252e/secret.txt",
        "/..%5csecret.txt", "/%c0%ae%c0%ae/secret.txt",
        "/link_out.txt", "/dir/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..;/secret.txt", "/.../secret.txt", "/dir/..%00/secret.txt",
        "http://localhost/../secret.txt"])
    return base(path)


def gen_bad_host(rng):
    host = rng.choice([b"a b", b"a\x00b", b"x/y", b"x@y\"", b"\xff",
                       b"a\\b", b"<x>", b"x{y}"])
    return (b"GET /hello.txt HTTP/1.1\r\nHost: " + host + b"\r\n"
            + rng.choice([b"", b"Host: other\r\n"]) + b"\r\n")


def gen_empty_lines_first(rng):
    return b"\r\n" * rng.choice([1, 10, 500, 6000]) + base()


def gen_bare_cr(rng):
    req = bytearray(base("/hello.txt", fields=[b"X-Foo: bar"]))
    req.insert(rng.randint(1, len(req) - 5), 0x0d)
    return bytes(req)


def gen_ws_bad_handshake(rng):
    fields = [b"Upgrade: websocket", b"Connection: Upgrade",
              b"Sec-WebSocket-Version: 13",
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    i = rng.randrange(len(fields))
    fields[i] = rng.choice([b"X-Removed: 1", fields[i] + b"x",
                            fields[i].split(b":")[0] + b": \x01"])
    return base("/echo", fields=fields)


def gen_pipelined(rng):
    n = rng.randint(2, 40)
    return b"".join(base(rng.choice(["/a.txt", "/missing", "/dir"]))
                    for _ in range(n))


TEMPLATES = [
    base("/hello.txt", fields=[b"User-Agent: test", b"Accept: */*"]),
    base("/page.html", method="HEAD"),
    base("/digits.txt", fields=[b"Range: bytes=1-5"]),
    base("/hello.txt", fields=[b'If-None-Match: "x", "y"']),
    base("/hello.txt", method="POST", fields=[b"Content-Length: 5"],
         body=b"hello"),
    base("/hello.txt", method="POST", fields=[b"Transfer-Encoding: chunked"],
         body=b"5\r\nhello\r\n0\r\n\r\n"),
    base("/dir", fields=[b"Connection: keep-alive"]),
    base("/a%20b.txt", version="HTTP/1.0"),
]


def gen_mutated(rng):
    req = bytearray(rng.choice(TEMPLATES))
    for _ in range(rng.randint(1, 4)):
        op = rng.randint(0, 6)
        i = rng.randrange(len(req))
        if op == 0:
            req[i] ^= 1 << rng.randint(0, 7)
        elif op == 1:
            req[i] = rng.randint(0, 255)
        elif op == 2 and len(req) > 1:
            del req[i]
        elif op == 3:
            req.insert(i, rng.randint(0, 255))
        elif op == 4:
            j = min(len(req), i + rng.randint(1, 40))
            req[i:i] = req[i:j] * rng.randint(1, 50)
        elif op == 5:
            req = bytearray(bytes(req).replace(b"\r\n", b"\n", 1))
        else:
            del req[i:]
            if not req:
                req = bytearray(b"G")
    return bytes(req)


ANY_ANSWER = {200, 206, 301, 304, 400, 403, 404, 405, 412, 414, 416, 426,
              431, 501, 505}

# name: (weight, generator, statuses allowed, a close without an answer
# allowed). 501 (a method token the server does not know) and 505 (HTTP/2
# or later in the request line) are the documented answers to those
# requests, not server failures. A TLS ClientHello must be answered: its
# first byte cannot begin a method, so no line end is waited for.
CATEGORIES = {
    "garbage_text": (6, gen_garbage_text, {400}, False),
    "binary": (6, gen_binary, {400}, True),
    "tls_client_hello": (3, gen_tls_client_hello, {400}, False),
    "http2_preface": (2, gen_http2_preface, {505}, False),
    "h2c_upgrade": (1, gen_h2c_upgrade, {200}, False),
    "huge_field": (3, gen_huge_field, {431}, False),
    "many_fields": (3, gen_many_fields, {431}, False),
    "folded_field": (2, gen_folded_field, {400}, False),
    "bad_percent_escape": (3, gen_bad_percent, {400}, False),
    "huge_content_length": (2, gen_huge_content_length, {400}, False),
    "negative_content_length": (2, gen_negative_length, {400}, False),
    "bad_chunk_size": (3, gen_bad_chunk_size, {400}, False),
    "absurd_ranges": (4, gen_absurd_ranges, {200, 206, 416, 431}, False),
    "nul_bytes": (3, gen_nul_bytes, {400}, False),
    "long_request_line": (2, gen_long_request_line, {414}, False),
    "long_path": (2, gen_long_path, {404, 414}, False),
    "odd_method": (4, gen_odd_method, {400, 501}, False),
    "bad_version": (3, gen_bad_version, {400, 505}, False),
    "bad_field_name": (2, gen_bad_field_name, {400}, False),
    "bad_target": (2, gen_bad_target, {400}, False),
    "traversal": (3, gen_traversal, {400, 403, 404}, False),
    "bad_host": (2, gen_bad_host, {400}, False),
    "empty_lines_first": (1, gen_empty_lines_first, {200, 414}, False),
    "bare_cr": (2, gen_bare_cr, {400}, False),
    "ws_bad_handshake": (2, gen_ws_bad_handshake, {400, 426}, False),
    "pipelined": (1, gen_pipelined, {200, 301, 404}, False),
    "mutated": (20, gen_mutated, ANY_ANSWER, True),
}


def generate(seed=SEED, count=COUNT):
    """The hostile requests: [(index, category, bytes)], deterministic."""
    rng = random.Random(seed)
    names = list(CATEGORIES)
    weights = [CATEGORIES[n][0] for n in names]
    out = []
    for i in range(count):
        name = rng.choices(names, weights)[0]
        out.append((i, name, CATEGORIES[name][1](rng)))
    return out


STATUS_LINE = re.compile(rb"(?:^|\n)HTTP/1\.1 (\d{3}) ")


def send_hostile(port, data, wait_answer, timeout=IO_TIMEOUT):
    """Send data on a fresh connection and read until the server closes;
    return everything read. With wait_answer, a response head must come
    before the client shuts its sending side; without, the client shuts
    it at once (a header that never ends then closes instead of waiting
    for header_timeout). Raises socket.timeout if the server neither
    answers nor closes within timeout."""
    deadline = time.monotonic() + timeout
    received = bytearray()

    def recv():
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"no answer or close after {timeout}s")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        received.extend(chunk)
        return chunk

    with socket.create_connection(("127.0.0.1", port), timeout) as sock:
        try:
            sock.sendall(data)
            while wait_answer and b"\r\n\r\n" not in received:
                if not recv():
                    return bytes(received)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered and closed before reading everything
        while recv():
            pass
    return bytes(received)


def normal_request_ok(server):
    resp = server.get("/hello.txt")
    return resp.status == 200 and resp.body == DOCROOT_FILES["hello.txt"]


def test_1500_hostile_requests_get_4xx_or_close_and_workers_survive(
        start_server):
    server = start_server(workers=2)
    workers = sorted(server.workers())
    children = child_pids(server.pid)  # the logger and the workers
    requests = generate()
    results = [None] * len(requests)
    errors = []
    normal_failures = []

    def run(part):
        for n, (i, name, data) in enumerate(part):
            try:
                results[i] = send_hostile(server.port, data,
                                          not CATEGORIES[name][3])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((i, name, repr(e), data[:120]))
            if n % 50 == 49 and not normal_request_ok(server):
                normal_failures.append(i)

    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(requests[k::PARALLEL],))
               for k in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "the run hung"
    assert not errors, f"{len(errors)} requests hung or failed: {errors[:5]}"
    assert not normal_failures, (
        f"normal requests failed after hostile ones {normal_failures[:5]}")
    # Right after: a normal request, on every worker still the same ones.
    assert normal_request_ok(server)

    tally = collections.Counter()
    bad = []
    for (i, name, data), raw in zip(requests, results):
        _, _, allowed, close_ok = CATEGORIES[name]
        statuses = [int(s) for s in STATUS_LINE.findall(raw)]
        if SECRET_CONTENT in raw:
            bad.append((i, name, "secret served", data[:120]))
        if not statuses:
            tally[(name, "close")] += 1
            if not close_ok or raw:
                bad.append((i, name, f"no answer, got {raw[:80]!r}",
                            data[:120]))
            continue
        tally[(name, statuses[0])] += 1
        if not raw.startswith(b"HTTP/1.1 "):
            bad.append((i, name, f"not a response: {raw[:80]!r}",
                        data[:120]))
        for s in statuses:
            if s in SERVER_ERRORS or s not in allowed:
                bad.append((i, name, s, data[:120]))
    by_status = collections.Counter()
    for (name, status), n in tally.items():
        by_status[status] += n
    print(f"\n{COUNT} hostile requests in {elapsed:.1f}s; first statuses: "
          + ", ".join(f"{s}: {n}" for s, n in
                      sorted(by_status.items(), key=str)))
    for name in CATEGORIES:
        print(f"  {name}: " + ", ".join(
            f"{s}x{n}" for (c, s), n in sorted(tally.items(), key=str)
            if c == name))
    assert not bad, f"{len(bad)} unexpected answers: {bad[:10]}"

    assert sorted(server.workers()) == workers, "a worker was replaced"
    assert child_pids(server.pid) == children, "the logger was replaced"
    log = server.error_log_text()
    for sign in ("killed by signal", "exited with status", "died soon"):
        assert sign not in log, f"error log: {sign!r}:\n{log[-2000:]}"
    assert server.proc.poll() is None

    # Every answer was counted, none was a server error, and the logger
    # wrote a line for each, whatever bytes the request line held.
    stats = statsdump(server)
    assert stats["connections_accepted"] >= COUNT
    assert not set(stats["responses"]) & {str(s) for s in SERVER_ERRORS}
    assert stats["log"]["dropped"] == 0

    def log_when_drained():
        log = statsdump(server)["log"]
        return log if log["pending"] == 0 else None
    log = poll(log_when_drained, 10,
               what="the logger to write every access record")
    assert log["written"] == log["queued"] == stats["requests"]
    assert server.access_log.read_bytes().count(b"\n") == log["written"]


# RFC 9112 3.2: a Host field with an invalid value MUST be answered 400;
# and so must an absolute-form target whose authority is not a host.
@pytest.mark.parametrize("data", [
    b"GET /hello.txt HTTP/1.1\r\nHost: [\r\n\r\n",
    b"GET /hello.txt HTTP/1.1\r\nHost: a]b[\r\n\r\n",
    b"GET http://[::1/hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
], ids=["host_bracket", "host_reversed_brackets", "absolute_form_bracket"])
def test_host_that_is_not_a_uri_host_is_400(server, data):
    assert server.request(data).status == 400
