"""Pages over https in headless Chromium (issue 15): the chat page, loaded
over https, joins its room over wss and exchanges messages with a Python
client over wss; a static file fetched by a page over https carries the
Strict-Transport-Security header of [tls] hsts.

Chromium is driven as in test_browser_chat.py (its Chromium and Tab: the
DevTools protocol on a pipe, every wait a poll with a deadline). It trusts
the test server's certificate by its key alone:
--ignore-certificate-errors-spki-list with the base64 SHA-256 of the
server key's SubjectPublicKeyInfo, so a certificate with any other key
still fails, where --ignore-certificate-errors would accept anything.

Not shown here: Chromium acting on the HSTS header (upgrading a later
http:// address of the host). It did not with these flags (measured: after
an https response with max-age=60 from https://localhost:PORT/,
http://localhost:PORT/ still went out in clear and got the server's 400),
so the test stops at what the page sees of the header.
"""

import base64
import json
import shutil
import subprocess
import urllib.parse

import pytest

from chatclient import WsChat, of_type
from conftest import REPO, poll
from test_browser_chat import CHROMIUM, WAIT, Chromium
from tlsclient import TlsEndpoint

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed")

HSTS = "max-age=60"
# What a page sees of a fetch of /hello.txt.
FETCH_JS = """fetch("/hello.txt", {cache: "no-store"}).then(async r => ({
    status: r.status, body: await r.text(),
    hsts: r.headers.get("Strict-Transport-Security"),
    protocol: location.protocol}))"""


def spki_sha256(key):
    """The base64 SHA-256 of the SubjectPublicKeyInfo of a PEM key, as
    openssl computes it."""
    der = subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "der"],
        capture_output=True, check=True, timeout=30).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"],
                            input=der, capture_output=True, check=True,
                            timeout=30).stdout
    return base64.b64encode(digest).decode()


@pytest.fixture
def site(start_server, tmp_path):
    """A daemon serving a copy of htdocs/ on a TLS listener too, with HSTS
    and a JSON access log."""
    root = tmp_path / "site"
    shutil.copytree(REPO / "htdocs", root)
    return start_server(tls=True, root=str(root), tls_hsts=HSTS,
                        format="json")


@pytest.fixture
def browser(tmp_path, tls_certs):
    """A headless Chromium trusting the test server's key, closed after
    the test."""
    pin = spki_sha256(tls_certs.server_key)
    b = Chromium(tmp_path / "profile",
                 [f"--ignore-certificate-errors-spki-list={pin}"])
    yield b
    b.close()


def https_url(server, path):
    return f"https://127.0.0.1:{server.tls_port}{path}"


def access_json(server):
    """The whole lines of the access log (format = json), parsed."""
    try:
        text = server.access_log.read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.split("\n")[:-1]]


def eval_promise(tab, expression):
    """The value expression's promise resolves to in the page, or None if
    it cannot be evaluated yet or rejects."""
    answer = tab.browser.call("Runtime.evaluate", tab.session,
                              expression=expression, awaitPromise=True,
                              returnByValue=True)
    result = answer.get("result", {})
    if "error" in answer or "exceptionDetails" in result:
        return None
    return result["result"].get("value")


def test_chromium_chat_page_over_https_talks_with_a_wss_client(site,
                                                               browser):
    with WsChat(TlsEndpoint(site), "secure", nick="bob") as bob:
        bob.joined()
        query = urllib.parse.urlencode({"room": "secure", "nick": "ann",
                                        "send": "hello from the page"})
        page = browser.open(https_url(site, f"/chat.html?{query}"))
        page.wait_line("the page's own message", type="message", nick="ann")
        ev = bob.until(of_type("message", nick="ann"))[-1]
        assert ev["text"] == "hello from the page"
        mine, _ = bob.say("hello from bob")
        shown = page.wait_line("bob's message in the page", type="message",
                               nick="bob")
        assert (shown["text"], shown["seq"]) == ("hello from bob",
                                                 str(mine["seq"]))
        assert page.eval("location.protocol") == "https:"
    # The page's WebSocket came through the TLS listener: wss.
    upgrades = poll(lambda: [x for x in access_json(site)
                             if x["target"].startswith("/chat/secure")
                             and "nick=ann" in x["target"]], WAIT,
                    what="the page's upgrade in the access log")
    assert len(upgrades) == 1, upgrades
    assert upgrades[0]["status"] == 101, upgrades
    assert upgrades[0]["tls_protocol"] == "TLSv1.3", upgrades


def test_chromium_fetch_over_https_sees_the_hsts_header(site, browser):
    page = browser.open(https_url(site, "/index.html"))
    poll(lambda: page.eval("document.readyState") == "complete", WAIT,
         interval=0.1, what="the page to load")
    seen = poll(lambda: eval_promise(page, FETCH_JS), WAIT, interval=0.1,
                what="the fetch of /hello.txt")
    body = (REPO / "htdocs" / "hello.txt").read_text()
    assert seen == {"status": 200, "body": body, "hsts": HSTS,
                    "protocol": "https:"}, seen
