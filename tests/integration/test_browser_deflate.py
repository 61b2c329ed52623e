"""permessage-deflate (RFC 7692) in headless Chromium, which offers it on
every WebSocket ("permessage-deflate; client_max_window_bits"): a page
opens the echo and a chat room, reads the extension agreed
(WebSocket.extensions) and sends a large message that must come back
whole; a raw client of wsclient.py in the same room, compressed too, gets
the page's message.

Chromium is driven as in test_browser_chat.py (its Chromium: the DevTools
protocol on a pipe, every wait a poll with a deadline).
"""

import pytest

from chatclient import WsChat, of_type
from conftest import poll
from test_browser_chat import CHROMIUM, WAIT, Chromium

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed")

# The page: the echo, then the chat room "browser" as "chromium"; what it
# saw goes to window.result (or window.failed).
PAGE = """<!DOCTYPE html>
<html><body><pre id="out">pending</pre><script>
function connect(url) {
  return new Promise((ok, bad) => {
    const ws = new WebSocket(url);
    ws.onopen = () => ok(ws);
    ws.onerror = () => bad(new Error("cannot open " + url));
  });
}
function reply(ws) {
  return new Promise(ok => { ws.onmessage = e => ok(e.data); });
}
async function run() {
  const base = "ws://" + location.host;
  const big = JSON.stringify(Array.from({length: 5000}, (_, i) =>
      ({id: i, name: "user" + (i % 37), score: i * 7 % 101})));
  const r = {bigLength: big.length};
  const echo = await connect(base + "/echo");
  r.echoExtensions = echo.extensions;
  let answer = reply(echo);
  echo.send(big);
  r.bigBack = (await answer) === big;
  answer = reply(echo);
  echo.send("tiny");
  r.tinyBack = (await answer) === "tiny";
  echo.close();
  const chat = await connect(base + "/chat/browser?nick=chromium");
  r.chatExtensions = chat.extensions;
  const text = "from the page: " + "compressed chat ".repeat(150);
  r.types = [];
  await new Promise(ok => {
    chat.onmessage = e => {
      const ev = JSON.parse(e.data);
      r.types.push(ev.type);
      if (ev.type === "join" && ev.nick === "chromium") chat.send(text);
      if (ev.type === "message" && ev.nick === "chromium") {
        r.chatBack = ev.text === text;
        ok();
      }
    };
  });
  window.result = r;
  document.getElementById("out").textContent = JSON.stringify(r);
}
run().catch(e => { window.failed = String(e); });
</script></body></html>
"""


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium with a fresh profile, closed after the test."""
    b = Chromium(tmp_path / "profile")
    yield b
    b.close()


def test_chromium_agrees_permessage_deflate_on_echo_and_chat(start_server,
                                                             browser):
    server = start_server(chat_rate="1000/s", chat_burst=10000)
    (server.root / "deflate.html").write_text(PAGE)
    with WsChat(server, "browser", nick="raw",
                extensions="permessage-deflate") as raw:
        raw.joined()
        page = browser.open(server.url("/deflate.html"))
        result = poll(lambda: page.eval("window.result")
                      or page.eval("window.failed"), WAIT, interval=0.1,
                      what="the page's result")
        assert isinstance(result, dict), result
        assert result["echoExtensions"] == "permessage-deflate"
        assert result["chatExtensions"] == \
            "permessage-deflate; server_no_context_takeover"
        assert result["bigLength"] > 100_000
        assert result["bigBack"] is True and result["tinyBack"] is True
        assert result["chatBack"] is True, result
        ev = raw.until(of_type("message", nick="chromium"))[-1]
        assert ev["text"].startswith("from the page: compressed chat ")
        # The page's message reached the raw client compressed.
        with raw.cond:
            compressed = [z for z, _ in raw.wire]
        assert compressed[-1] is True
