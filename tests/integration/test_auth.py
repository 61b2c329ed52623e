"""HTTP Basic authentication ([http] auth, auth_realm, auth_tls_only):
401 with WWW-Authenticate, bcrypt and SHA-512-crypt users, prefixes
exempted with off, 403 over plain HTTP, WebSocket and chat handshakes
(the user becomes the nick), the worker's cache of verified credentials
(seen in statsdump), a user removed by a reload, and htpasswd faults
reported with their file and line by pfhttpd -t."""

import base64
import ctypes
import json
import os
import signal
import subprocess

from conftest import (IO_TIMEOUT, REPO, Reader, poll, request_bytes,
                      run_pfhttpd)
from chatclient import TelnetChat
from wsclient import WsConn, accept_for, handshake_request, make_key

STATSDUMP = os.environ.get("PFHTTPD_STATSDUMP",
                           str(REPO / "build" / "statsdump"))
WWW_AUTH = 'Basic realm="pfhttpd", charset="UTF-8"'
SECRET = b"for staff only\n"
OPEN = b"anyone may read this\n"

_libcrypt = ctypes.CDLL("libcrypt.so.1")
_libcrypt.crypt.restype = ctypes.c_char_p
_libcrypt.crypt_gensalt.restype = ctypes.c_char_p


def bcrypt(password):
    """A bcrypt hash of password (cost 4: fast), from libcrypt."""
    salt = _libcrypt.crypt_gensalt(b"$2y$", 4, None, 0)
    return _libcrypt.crypt(password.encode(), salt).decode()


def sha512crypt(password):
    """A SHA-512-crypt hash of password, from openssl passwd -6."""
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                          input=password, capture_output=True, text=True,
                          check=True, timeout=IO_TIMEOUT).stdout.strip()


def write_users(path, users):
    """Write an htpasswd file of users: {name: hash}."""
    path.write_text("# test users\n" + "".join(
        f"{name}:{h}\n" for name, h in users.items()))


def basic(user, password):
    """An Authorization field with Basic credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Authorization: Basic {token}"


def site(tmp_path, users=None):
    """The protected files and an htpasswd file (alice: bcrypt, bob:
    SHA-512-crypt, unless users is given); return its path."""
    root = tmp_path / "htdocs"
    (root / "admin" / "public").mkdir(parents=True)
    (root / "admin" / "secret.txt").write_bytes(SECRET)
    (root / "admin" / "public" / "open.txt").write_bytes(OPEN)
    path = tmp_path / "users"
    write_users(path, users if users is not None else {
        "alice": bcrypt("wonderland"), "bob": sha512crypt("builder")})
    return path


def start(start_server, tmp_path, users=None, **kw):
    """A TLS server protecting /admin/ but /admin/public/."""
    path = site(tmp_path, users)
    kw.setdefault("auth", ["/admin/public/ off", f"/admin/ {path}"])
    return start_server(tls=True, **kw), path


def tls_get(srv, path, headers=()):
    """GET path over TLS on a new connection; return the response."""
    with srv.connect_tls() as s:
        s.sendall(request_bytes(path, headers=headers))
        return Reader(s).read_response()


def counters(srv):
    """The auth object of statsdump --json."""
    out = subprocess.run([STATSDUMP, "-s", str(srv.shm_path), "--json"],
                         capture_output=True, text=True, timeout=IO_TIMEOUT,
                         check=True).stdout
    return json.loads(out)["auth"]


def test_no_credentials_get_401_asking_for_basic(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path)
    resp = tls_get(srv, "/admin/secret.txt")
    assert resp.status == 401, resp
    assert resp.header("WWW-Authenticate") == WWW_AUTH
    assert SECRET not in resp.body


def test_auth_realm_is_named_in_www_authenticate(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path, auth_realm="Staff only")
    resp = tls_get(srv, "/admin/secret.txt")
    assert resp.header("WWW-Authenticate") == \
        'Basic realm="Staff only", charset="UTF-8"'


def test_wrong_password_gets_401(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path)
    resp = tls_get(srv, "/admin/secret.txt", [basic("alice", "nope")])
    assert resp.status == 401
    assert resp.header("WWW-Authenticate") == WWW_AUTH


def test_unknown_user_gets_401(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path)
    resp = tls_get(srv, "/admin/secret.txt", [basic("mallory", "wonderland")])
    assert resp.status == 401


def test_malformed_authorization_gets_401(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path)
    for field in ("Authorization: Bearer abc",
                  "Authorization: Basic !!notbase64",
                  "Authorization: Basic " +
                  base64.b64encode(b"alice-no-colon").decode()):
        resp = tls_get(srv, "/admin/secret.txt", [field])
        assert resp.status == 401, field


def test_right_bcrypt_password_serves_the_file(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path)
    resp = tls_get(srv, "/admin/secret.txt", [basic("alice", "wonderland")])
    assert resp.status == 200
    assert resp.body == SECRET


def test_right_sha512crypt_password_serves_the_file(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path)
    resp = tls_get(srv, "/admin/secret.txt", [basic("bob", "builder")])
    assert resp.status == 200
    assert resp.body == SECRET


def test_prefix_off_before_a_protected_prefix_is_served(start_server,
                                                         tmp_path):
    srv, _ = start(start_server, tmp_path)
    resp = tls_get(srv, "/admin/public/open.txt")
    assert resp.status == 200
    assert resp.body == OPEN
    assert tls_get(srv, "/hello.txt").status == 200


def test_plain_http_gets_403_saying_tls_is_required(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path)
    resp = srv.get("/admin/secret.txt", headers=[basic("alice", "wonderland")])
    assert resp.status == 403
    assert b"https://" in resp.body and b"TLS" in resp.body
    assert resp.header("WWW-Authenticate") is None
    assert srv.get("/admin/public/open.txt").status == 200


def test_auth_tls_only_no_serves_over_plain_http(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path, auth_tls_only="no")
    assert srv.get("/admin/secret.txt").status == 401
    resp = srv.get("/admin/secret.txt", headers=[basic("bob", "builder")])
    assert resp.status == 200
    assert resp.body == SECRET


def test_error_page_401_keeps_www_authenticate(start_server, tmp_path):
    (tmp_path / "htdocs" / "e401.html").write_text("<p>who are you?</p>\n")
    srv, _ = start(start_server, tmp_path, error_page="401 /e401.html")
    resp = tls_get(srv, "/admin/secret.txt")
    assert resp.status == 401
    assert resp.body == b"<p>who are you?</p>\n"
    assert resp.header("WWW-Authenticate") == WWW_AUTH


def test_second_request_with_the_same_credentials_is_not_hashed_again(
        start_server, tmp_path):
    srv, _ = start(start_server, tmp_path, workers=1)
    good, bad = basic("alice", "wonderland"), basic("alice", "nope")
    for field in (good, good, bad, bad):
        tls_get(srv, "/admin/secret.txt", [field])
    assert poll(lambda: counters(srv) == {"hashed": 2, "cached": 2,
                                          "refused": 2} or None,
                IO_TIMEOUT, what="the auth counters"), counters(srv)


def ws_handshake(srv, target, headers=(), host="localhost"):
    """A WebSocket handshake on target over plain HTTP: (response, WsConn
    or None)."""
    key = make_key()
    sock = srv.connect()
    sock.sendall(handshake_request(target, key=key, headers=headers).replace(
        b"\r\nHost: localhost\r\n", f"\r\nHost: {host}\r\n".encode()))
    reader = Reader(sock)
    resp = reader.read_response()
    if resp.status != 101:
        sock.close()
        return resp, None
    assert resp.header("Sec-WebSocket-Accept") == accept_for(key)
    return resp, WsConn(sock, bytes(reader.buf))


def test_websocket_echo_handshake_needs_credentials(start_server, tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/echo {path}", auth_tls_only="no")
    resp, _ = ws_handshake(srv, "/echo")
    assert resp.status == 401
    assert resp.header("WWW-Authenticate") == WWW_AUTH
    resp, ws = ws_handshake(srv, "/echo", [basic("bob", "builder")])
    assert resp.status == 101
    ws.sock.close()


def test_chat_user_becomes_the_nick_over_nick_parameter(start_server,
                                                        tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/chat {path}", auth_tls_only="no")
    resp, _ = ws_handshake(srv, "/chat/lobby?nick=bob")
    assert resp.status == 401
    resp, ws = ws_handshake(srv, "/chat/lobby?nick=bob",
                            [basic("alice", "wonderland")])
    assert resp.status == 101
    _fin, _op, payload = ws.recv_frame()
    welcome = json.loads(payload)
    assert welcome["type"] == "welcome"
    assert welcome["nick"] == "alice"
    ws.sock.close()


def next_event(ws, pred):
    """Read chat events (text frames) until pred(event); return it."""
    while True:
        _fin, _op, payload = ws.recv_frame()
        ev = json.loads(payload)
        if pred(ev):
            return ev


def test_chat_user_cannot_change_nick(start_server, tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/chat {path}", auth_tls_only="no")
    _resp, ws = ws_handshake(srv, "/chat/lobby", [basic("bob", "builder")])
    next_event(ws, lambda e: e.get("type") == "join"
               and not e.get("history"))
    ws.send_message(1, b"/nick eve")
    err = next_event(ws, lambda e: e.get("type") in ("error", "nick"))
    assert err["type"] == "error" and err["code"] == "bad_command", err
    ws.send_message(1, b"hello")
    msg = next_event(ws, lambda e: e.get("type") == "message")
    assert msg["nick"] == "bob"
    ws.sock.close()


def test_chat_user_too_long_for_a_nick_gets_403(start_server, tmp_path):
    long_user = "u" * 40
    path = site(tmp_path, {long_user: bcrypt("pw")})
    srv = start_server(auth=f"/chat {path}", auth_tls_only="no")
    resp, _ = ws_handshake(srv, "/chat", [basic(long_user, "pw")])
    assert resp.status == 403
    assert b"nick" in resp.body


def chat_error(ws):
    """The next error event of ws (after its welcome and history)."""
    return next_event(ws, lambda e: e.get("type") == "error")


def test_join_to_a_protected_room_without_its_credentials_is_forbidden(
        start_server, tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/chat/staff {path}", auth_tls_only="no")
    _resp, ws = ws_handshake(srv, "/chat/lobby?nick=eve")
    ws.send_message(1, b"/join staff")
    err = chat_error(ws)
    assert err["code"] == "forbidden", err
    ws.send_message(1, b"/who")
    who = next_event(ws, lambda e: e.get("type") == "who")
    assert "eve" in who["nicks"]  # still in lobby, not in staff
    ws.sock.close()


def test_join_to_a_room_of_the_same_rule_is_allowed(start_server, tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/chat/ {path}", auth_tls_only="no")
    _resp, ws = ws_handshake(srv, "/chat/a", [basic("bob", "builder")])
    ws.send_message(1, b"/join b")
    welcome = next_event(ws, lambda e: e.get("type") == "welcome"
                         and e.get("room") == "b")
    assert welcome["nick"] == "bob"
    ws.sock.close()


def test_bare_chat_endpoint_is_checked_as_its_default_room(start_server,
                                                           tmp_path):
    # /chat joins default_room: the rule of /chat/lobby applies to it
    path = site(tmp_path)
    srv = start_server(auth=f"/chat/lobby {path}", auth_tls_only="no")
    resp, _ = ws_handshake(srv, "/chat")
    assert resp.status == 401


def test_chat_rooms_are_protected_on_every_host(start_server, tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/chat/staff {path}", auth_tls_only="no")
    srv.conf.write_text(srv.config_text(srv.port)
                        + '[host "open.test"]\nauth = /nothing/ off\n')
    srv.signal(signal.SIGHUP)
    poll(lambda: "reload done: generation 2 serves alone"
         in srv.error_log_text(), IO_TIMEOUT, what="the reload to finish")
    resp, _ = ws_handshake(srv, "/chat/staff", host="open.test")
    assert resp.status == 401


def test_host_auth_rule_on_the_chat_path_is_refused(tmp_path):
    users = tmp_path / "users"
    write_users(users, {"alice": bcrypt("a")})
    conf = tmp_path / "t.ini"
    conf.write_text(f"[http]\nroot = {tmp_path}\n"
                    f'[host "a.test"]\n\nauth = /chat/staff {users}\n')
    r = run_pfhttpd("-t", "-c", str(conf))
    assert r.returncode != 0
    assert f"{conf}:5: [host \"a.test\"] auth /chat/staff: the chat" \
        in r.stderr


def test_telnet_cannot_enter_a_protected_default_room(start_server,
                                                      tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/chat {path}", auth_tls_only="no",
                       telnet=True)
    tc = TelnetChat(srv)
    line = tc.next()
    assert line.startswith("! forbidden"), line


def test_telnet_cannot_join_a_protected_room(start_server, tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/chat/staff {path}", auth_tls_only="no",
                       telnet=True)
    tc = TelnetChat(srv)
    tc.greeting()
    tc.send("/join staff")
    line = tc.until(lambda ln: ln.startswith("! "))[-1]
    assert line.startswith("! forbidden: that room needs a password"), line


def test_telnet_without_a_chat_path_is_not_refused(start_server, tmp_path):
    # rooms have no path then: a site-wide rule does not name them
    path = site(tmp_path)
    srv = start_server(auth=f"/ {path}", auth_tls_only="no", telnet=True,
                       chat_path="")
    tc = TelnetChat(srv)
    room, _nick = tc.greeting()
    assert room == "lobby"


def test_anonymous_client_cannot_take_a_user_name_as_nick(start_server,
                                                         tmp_path):
    path = site(tmp_path)
    srv = start_server(auth=f"/chat/staff {path}", auth_tls_only="no")
    _resp, ws = ws_handshake(srv, "/chat/lobby?nick=alice")
    welcome = next_event(ws, lambda e: e.get("type") == "welcome")
    assert welcome["nick"] != "alice"
    assert chat_error(ws)["code"] == "nick_taken"
    ws.send_message(1, b"/nick bob")
    assert chat_error(ws)["code"] == "nick_taken"
    ws.sock.close()


def test_user_removed_by_reload_is_refused(start_server, tmp_path):
    srv, path = start(start_server, tmp_path)
    alice = [basic("alice", "wonderland")]
    assert tls_get(srv, "/admin/secret.txt", alice).status == 200
    write_users(path, {"bob": sha512crypt("builder")})
    srv.signal(signal.SIGHUP)
    poll(lambda: "reload done: generation 2 serves alone"
         in srv.error_log_text(), IO_TIMEOUT, what="the reload to finish")
    assert tls_get(srv, "/admin/secret.txt", alice).status == 401
    assert tls_get(srv, "/admin/secret.txt",
                   [basic("bob", "builder")]).status == 200


def test_reload_with_a_bad_htpasswd_line_keeps_the_running_users(
        start_server, tmp_path):
    srv, path = start(start_server, tmp_path)
    alice = [basic("alice", "wonderland")]
    path.write_text(f"alice:{bcrypt('wonderland')}\nbob:builder\n")
    srv.signal(signal.SIGHUP)
    poll(lambda: "reload failed" in srv.error_log_text(), IO_TIMEOUT,
         what="the reload to fail")
    assert f"{path}:2: user 'bob': plain text" in srv.error_log_text()
    assert tls_get(srv, "/admin/secret.txt", alice).status == 200
    assert tls_get(srv, "/admin/secret.txt",
                   [basic("bob", "builder")]).status == 200


def test_hosts_have_their_own_auth_or_http_s(start_server, tmp_path):
    # staff.test (the default) inherits [http]'s rules with a realm of
    # its own; open.test's own rule replaces [http]'s: /admin/ is open
    srv, _ = start(start_server, tmp_path)
    srv.conf.write_text(srv.config_text(srv.port)
                        + '[host "staff.test"]\nauth_realm = Staff\n'
                        + '[host "open.test"]\nauth = /nothing/ off\n')
    srv.signal(signal.SIGHUP)
    poll(lambda: "reload done: generation 2 serves alone"
         in srv.error_log_text(), IO_TIMEOUT, what="the reload to finish")

    def get(host, headers=()):
        with srv.connect_tls() as s:
            s.sendall(request_bytes("/admin/secret.txt", host=host,
                                    headers=headers))
            return Reader(s).read_response()

    resp = get("staff.test")
    assert resp.status == 401
    assert resp.header("WWW-Authenticate") == \
        'Basic realm="Staff", charset="UTF-8"'
    assert get("staff.test", [basic("alice", "wonderland")]).status == 200
    resp = get("open.test")
    assert (resp.status, resp.body) == (200, SECRET)


def test_access_log_names_the_user(start_server, tmp_path):
    srv, _ = start(start_server, tmp_path)
    with srv.connect_tls() as s:  # one connection: the user is not kept
        reader = Reader(s)
        s.sendall(request_bytes("/admin/secret.txt?who",
                                headers=[basic("alice", "wonderland")]))
        assert reader.read_response().status == 200
        s.sendall(request_bytes("/admin/secret.txt?anon"))
        assert reader.read_response().status == 401

    def lines():
        text = srv.access_log.read_text() if srv.access_log.exists() else ""
        return [ln for ln in text.splitlines() if "secret.txt?" in ln]
    poll(lambda: len(lines()) == 2, IO_TIMEOUT, what="two access lines")
    who = [ln for ln in lines() if "?who" in ln][0]
    anon = [ln for ln in lines() if "?anon" in ln][0]
    assert who.split(" ")[2] == "alice" and " 200 " in who
    assert anon.split(" ")[2] == "-" and " 401 " in anon


def check_config(tmp_path, users_text):
    """pfhttpd -t on a config protecting /admin/ with an htpasswd file of
    users_text; return (returncode, stderr, htpasswd path)."""
    users = tmp_path / "users"
    users.write_text(users_text)
    conf = tmp_path / "t.ini"
    conf.write_text(f"[http]\nroot = {tmp_path}\nauth = /admin/ {users}\n")
    r = run_pfhttpd("-t", "-c", str(conf))
    return r.returncode, r.stderr, users


def test_pfhttpd_t_reports_an_md5_line_with_its_file_and_line(tmp_path):
    rc, err, users = check_config(
        tmp_path, f"alice:{bcrypt('x')}\nbob:$apr1$salt$abcdefghijklmnop\n")
    assert rc != 0
    assert f"{users}:2: user 'bob': an Apache MD5 ($apr1$) hash" in err
    assert "t.ini:3: [http] auth" in err


def test_pfhttpd_t_reports_a_plain_text_password(tmp_path):
    rc, err, users = check_config(tmp_path, "# x\n\nalice:wonderland\n")
    assert rc != 0
    assert f"{users}:3: user 'alice': plain text" in err


def test_pfhttpd_t_reports_a_line_without_a_hash(tmp_path):
    rc, err, users = check_config(tmp_path, "alice\n")
    assert rc != 0
    assert f"{users}:1: expected user:hash" in err


def test_pfhttpd_t_accepts_bcrypt_and_sha512crypt(tmp_path):
    rc, err, _ = check_config(
        tmp_path, f"alice:{bcrypt('a')}\nbob:{sha512crypt('b')}\n")
    assert rc == 0, err


def test_pfhttpd_t_reports_a_hash_too_long_for_its_buffer(tmp_path):
    # "rounds=" with 900 leading zeros: 1010 bytes, once copied whole
    # over the 128 bytes of its user and the next
    digest = sha512crypt("x").rsplit("$", 1)[1]
    rc, err, users = check_config(
        tmp_path, f"u:$6$rounds={'0' * 900}5000$saltsalt${digest}\n")
    assert rc != 0
    assert f"{users}:1: user 'u': a hash of more than 127 characters" in err


def test_pfhttpd_t_refuses_a_prefix_with_a_percent_escape(tmp_path):
    users = tmp_path / "users"
    users.write_text(f"alice:{bcrypt('x')}\n")
    conf = tmp_path / "t.ini"
    conf.write_text(f"[http]\nroot = {tmp_path}\n"
                    f"auth = /my%20docs/ {users}\n")
    r = run_pfhttpd("-t", "-c", str(conf))
    assert r.returncode != 0
    assert "t.ini:3: [http] auth" in r.stderr
    assert "as it is on disk" in r.stderr


def test_utf8_prefix_protects_its_directory(start_server, tmp_path):
    path = site(tmp_path)
    (tmp_path / "htdocs" / "café").mkdir()
    (tmp_path / "htdocs" / "café" / "menu.txt").write_bytes(SECRET)
    srv = start_server(tls=True, auth=f"/café/ {path}")
    assert tls_get(srv, "/caf%C3%A9/menu.txt").status == 401
    resp = tls_get(srv, "/caf%C3%A9/menu.txt", [basic("bob", "builder")])
    assert (resp.status, resp.body) == (200, SECRET)


def test_pfhttpd_t_refuses_a_fifo_as_htpasswd_file(tmp_path):
    # opened without O_NONBLOCK, a FIFO with no writer blocked -t forever
    fifo = tmp_path / "users"
    os.mkfifo(fifo)
    conf = tmp_path / "t.ini"
    conf.write_text(f"[http]\nroot = {tmp_path}\nauth = /admin/ {fifo}\n")
    r = run_pfhttpd("-t", "-c", str(conf), timeout=IO_TIMEOUT)
    assert r.returncode != 0
    assert f"{fifo}: not a regular file" in r.stderr
