"""The chat page, htdocs/chat.html, in headless Chromium against a daemon
with chat on (2 workers, a telnet listener): pages in one room see each
other's messages, a telnet client shares the room with them, the who list
follows the room, markup in a message stays text, and a page whose
connection closes resumes with since and shows every event once.

Why not --dump-dom, as test_browser.py does: its --virtual-time-budget
is virtual time, which runs ahead of the clock whenever nothing is
loading, and an open WebSocket does not hold it (measured: a 10 s budget
ended after 0.7 s of real time with the socket open). A dumped page shows
what had arrived by then; it cannot stay to see a message sent after it
loaded, so "page A sees page B's later message" would be a race. Here
Chromium runs with the same flags plus --remote-debugging-pipe (the
DevTools protocol as NUL-terminated JSON, commands in on fd 3, answers out
on fd 4): the test opens each page as a tab, every tab stays open until
the test ends, and their DOM is polled in real time with a deadline
(Runtime.evaluate), like every other wait in the suite. Each step waits
until the previous one shows where it must, so the order is fixed.
"""

import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

import pytest

from conftest import IO_TIMEOUT, REPO, Server, free_port, poll

CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
WAIT = 20.0  # seconds for anything to show in a page or on a socket

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed")

# Every line of the page's list: its data attributes and the text shown.
LINES_JS = """Array.from(document.querySelectorAll("#log li"),
    li => Object.assign({shown: li.textContent}, li.dataset))"""
WHO_JS = """Array.from(document.querySelectorAll("#who li"),
    li => li.textContent)"""
STATE_JS = """Object.assign({}, document.getElementById("state").dataset)"""


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe,
    started with FLAGS and the extra flags given."""

    def __init__(self, profile, flags=()):
        to_child, self.out_fd = os.pipe()
        self.in_fd, from_child = os.pipe()
        # Above 2 and out of the way of 3 and 4, closed on exec.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
                for fd in (to_child, from_child)]

        def preexec():
            os.dup2(high[0], 3)  # dup2 makes them inheritable
            os.dup2(high[1], 4)
        # close_fds=False: the ones made in preexec must survive to exec
        # (Python's own descriptors are not inheritable anyway).
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, *flags, f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, close_fds=False, preexec_fn=preexec)
        for fd in (to_child, from_child, *high):
            os.close(fd)
        self.buf = b""
        self.last_id = 0

    def read_message(self, deadline):
        """Return the next message from the browser, parsed."""
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.in_fd], [], [], max(left, 0))
            assert ready, "Chromium did not answer in time"
            data = os.read(self.in_fd, 1 << 16)
            assert data, "Chromium closed its pipe"
            self.buf += data
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, session=None, **params):
        """Send a command; return its answer (result or error)."""
        self.last_id += 1
        cmd = {"id": self.last_id, "method": method, "params": params}
        if session is not None:
            cmd["sessionId"] = session
        os.write(self.out_fd, json.dumps(cmd).encode() + b"\0")
        deadline = time.monotonic() + WAIT
        while True:
            msg = self.read_message(deadline)
            if msg.get("id") == self.last_id:  # not an event
                return msg

    def open(self, url):
        """Open url in a new tab; return the tab."""
        target = self.call("Target.createTarget", url=url)
        session = self.call("Target.attachToTarget", flatten=True,
                            targetId=target["result"]["targetId"])
        return Tab(self, session["result"]["sessionId"])

    def close(self):
        """Ask the browser to quit; kill it if it stays."""
        try:
            self.call("Browser.close")
        except (AssertionError, OSError):
            pass  # it is gone already, or wedged: killed below
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self.in_fd)
        os.close(self.out_fd)


class Tab:
    """One page open in the browser."""

    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    def eval(self, expression):
        """The value of expression in the page, or None if it could not be
        evaluated (the page is still loading, or it threw)."""
        answer = self.browser.call("Runtime.evaluate", self.session,
                                   expression=expression,
                                   returnByValue=True)
        result = answer.get("result", {})
        if "error" in answer or "exceptionDetails" in result:
            return None
        return result["result"].get("value")

    def lines(self):
        """The page's list: one dict per line (data-* and shown)."""
        return self.eval(LINES_JS) or []

    def wait_line(self, what, **attrs):
        """Wait for a line whose data attributes include attrs; return it."""
        def seen():
            return next((ln for ln in self.lines()
                         if all(ln.get(k) == v for k, v in attrs.items())),
                        None)
        return poll(seen, WAIT, interval=0.1, what=what)

    def messages(self):
        """(nick, text, history) of every message line, in order."""
        return [(ln["nick"], ln["text"], ln.get("history") == "true")
                for ln in self.lines() if ln["type"] == "message"]


class Telnet:
    """A line-protocol chat client: a plain socket on [chat] listen."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             IO_TIMEOUT)
        self.buf = b""
        self.lines = []  # every line received, without its end
        self.nick = None

    def wait_line(self, pattern, what):
        """Read lines until one matches pattern; return the match."""
        deadline = time.monotonic() + WAIT
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if m := re.match(pattern, line):
                    return m
            seen = len(self.lines)
            left = deadline - time.monotonic()
            assert left > 0, f"no {what} in {self.lines}"
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            assert data, f"closed before {what}: {self.lines}"
            self.buf += data
            *done, self.buf = self.buf.split(b"\n")
            self.lines += [ln.decode().rstrip("\r") for ln in done]

    def join(self, room):
        """Wait for the greeting, join room and learn the nick given."""
        self.wait_line(r"\* welcome to ", "greeting")
        self.lines.clear()
        self.send(f"/join {room}")
        m = self.wait_line(rf"\* welcome to {room}, ([A-Za-z0-9_-]+)",
                           f"the welcome to {room}")
        self.nick = m.group(1)

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def wait_message(self, nick, text):
        """Wait for the line of a message from nick."""
        return self.wait_line(
            rf"\[\d\d:\d\d:\d\d\] <{re.escape(nick)}> {re.escape(text)}$",
            f"<{nick}> {text}")

    def close(self):
        self.sock.close()


class ChatServer(Server):
    """A daemon with a [chat] section: chat_keys plus a telnet listener on
    chat_port (conftest's Server writes only the sections it knows)."""

    def __init__(self, tmp, overrides, chat_keys):
        super().__init__(tmp, overrides)
        self.chat_keys = chat_keys
        self.chat_port = None

    def config_text(self, port):
        self.chat_port = None  # conftest's Server writes no [chat] then
        text = super().config_text(port)
        self.chat_port = free_port()  # a new one on each attempt
        keys = {"listen": f"127.0.0.1:{self.chat_port}", **self.chat_keys}
        return (text + "[chat]\n" +
                "".join(f"{k} = {v}\n" for k, v in keys.items()))

    def telnet_client(self, room):
        """A telnet client that joined room."""
        client = Telnet(self.chat_port)
        client.join(room)
        return client


@pytest.fixture
def start_chat(tmp_path):
    """Factory: start_chat(**[chat] keys) -> a running ChatServer serving
    a copy of htdocs/ with 2 workers."""
    root = tmp_path / "site"
    shutil.copytree(REPO / "htdocs", root)
    servers = []

    def start(**chat_keys):
        tmp = tmp_path / f"server{len(servers)}"
        tmp.mkdir()
        srv = ChatServer(tmp, {"root": str(root), "workers": 2}, chat_keys)
        servers.append(srv)
        return srv.start()
    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture
def chat(start_chat):
    """A daemon with chat on at the default path."""
    return start_chat()


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium with a fresh profile, closed after the test."""
    b = Chromium(tmp_path / "profile")
    yield b
    b.close()


@pytest.fixture
def telnets():
    """Telnet clients made by the test, closed after it."""
    clients = []
    yield clients
    for client in clients:
        client.close()


def page_url(server, room, nick, **extra):
    """The address of the chat page joining room as nick at once."""
    query = urllib.parse.urlencode({"room": room, "nick": nick, **extra})
    return server.url(f"/chat.html?{query}")


def test_two_pages_in_a_room_see_each_others_messages(chat, browser):
    """A joins and sends; once A shows its own message, B joins and sends:
    B must have A's message from the history, and A, still open, must get
    B's live, both at one place in the room's order."""
    a = browser.open(page_url(chat, "pair", "ann", send="hello from A"))
    a.wait_line("A's own message", type="message", nick="ann")
    b = browser.open(page_url(chat, "pair", "bob", send="hello from B"))
    b_own = b.wait_line("B's own message", type="message", nick="bob")
    a_sees = a.wait_line("B's message in A", type="message", nick="bob")
    assert b.messages() == [("ann", "hello from A", True),
                            ("bob", "hello from B", False)]
    assert a.messages() == [("ann", "hello from A", False),
                            ("bob", "hello from B", False)]
    assert a_sees["seq"] == b_own["seq"]


def test_a_telnet_client_and_a_page_see_each_other(chat, browser, telnets):
    tn = chat.telnet_client("mixed")
    telnets.append(tn)
    tn.send("hello from telnet")
    tn.wait_message(tn.nick, "hello from telnet")
    page = browser.open(page_url(chat, "mixed", "ann", send="hello from A"))
    tn.wait_message("ann", "hello from A")
    tn.send("telnet again")
    page.wait_line("the telnet client's live message", type="message",
                   nick=tn.nick, text="telnet again")
    assert page.messages() == [(tn.nick, "hello from telnet", True),
                               ("ann", "hello from A", False),
                               (tn.nick, "telnet again", False)]
    shown = [ln["shown"] for ln in page.lines() if ln["type"] == "message"]
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] <ann> hello from A", shown[1])


def test_page_shows_markup_in_messages_as_text(chat, browser, telnets):
    before = '<img src=x onerror="document.body.dataset.pwned=1">'
    after = "<b>bold</b> & <script>document.body.dataset.pwned=2</script>"
    tn = chat.telnet_client("markup")
    telnets.append(tn)
    tn.send(before)
    tn.wait_message(tn.nick, before)
    page = browser.open(page_url(chat, "markup", "ann"))
    page.wait_line("the history's markup", type="message", text=before)
    tn.send(after)
    page.wait_line("the live markup", type="message", text=after)
    shown = [ln["shown"] for ln in page.lines() if ln["type"] == "message"]
    assert shown[0].endswith(f"<{tn.nick}> {before}")
    assert shown[1].endswith(f"<{tn.nick}> {after}")
    assert page.eval('document.querySelectorAll("#log *").length') == \
        page.eval('document.querySelectorAll("#log li, #log span")'
                  '.length')
    assert page.eval("document.body.dataset.pwned === undefined") is True


def test_page_who_list_follows_joins_nicks_and_leaves(chat, browser,
                                                      telnets):
    first = chat.telnet_client("whoroom")
    telnets.append(first)
    page = browser.open(page_url(chat, "whoroom", "ann"))
    # Seeded by /who after the welcome: the member there before the page.
    poll(lambda: page.eval(WHO_JS) == sorted(["ann", first.nick]), WAIT,
         interval=0.1, what="the who list from /who")
    second = chat.telnet_client("whoroom")
    telnets.append(second)
    poll(lambda: page.eval(WHO_JS) == sorted(["ann", first.nick,
                                              second.nick]),
         WAIT, interval=0.1, what="the joined member in the who list")
    first.send("/nick tina")
    second.send("/quit")
    poll(lambda: page.eval(WHO_JS) == ["ann", "tina"], WAIT, interval=0.1,
         what="the who list after a nick change and a leave")


def test_page_shows_an_error_and_the_nick_it_was_given(chat, browser,
                                                       telnets):
    tn = chat.telnet_client("taken")
    telnets.append(tn)
    tn.send("/nick ann")
    tn.wait_line(rf"\* {tn.nick} is now ann$", "the nick change")
    page = browser.open(page_url(chat, "taken", "ann"))
    error = page.wait_line("the nick_taken error", type="error")
    assert error["code"] == "nick_taken"
    assert error["shown"].startswith("! nick_taken: ")
    state = poll(lambda: page.eval(STATE_JS), WAIT, what="the state")
    assert state["state"] == "open"
    assert re.fullmatch(r"guest-[0-9]+", state["nick"]), state


def test_page_reconnects_after_a_reload_and_shows_every_event_once(
        chat, browser, telnets):
    page = browser.open(page_url(chat, "resume", "ann"))
    tn = chat.telnet_client("resume")
    telnets.append(tn)
    tn.send("before the reload")
    page.wait_line("the message before", type="message",
                   text="before the reload")
    # A reload closes the old workers' chat clients with 1001.
    workers = chat.workers()
    chat.signal(signal.SIGHUP)
    chat.wait_workers(2, exclude=workers)
    page.wait_line("the reconnecting notice", type="notice")
    poll(lambda: page.eval("document.querySelectorAll("
                           "'#log li.welcome').length") == 2,
         WAIT, interval=0.1, what="the page's second welcome")
    tn = chat.telnet_client("resume")
    telnets.append(tn)
    tn.send("after the reload")
    page.wait_line("the message after", type="message",
                   text="after the reload")
    seqs = [int(ln["seq"]) for ln in page.lines() if "seq" in ln]
    assert seqs == list(range(1, seqs[-1] + 1)), page.lines()
    assert [t for _, t, _ in page.messages()] == ["before the reload",
                                                  "after the reload"]
    resumed = poll(lambda: re.search(
        r'"GET /chat/resume\?nick=ann&since=([0-9]+) HTTP/1.1" 101 ',
        chat.access_log.read_text()), WAIT, what="the resumed upgrade")
    assert int(resumed.group(1)) >= 3  # ann's join, tn's, the message


def test_page_joins_the_chat_on_the_path_it_is_given(start_chat, browser):
    server = start_chat(path="/talk")
    page = browser.open(page_url(server, "elsewhere", "ann", path="/talk",
                                 send="hi"))
    page.wait_line("the message sent on /talk", type="message", text="hi")
    assert page.eval(STATE_JS)["room"] == "elsewhere"
