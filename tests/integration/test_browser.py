"""The default site as a browser sees it: headless Chromium loads the pages
of htdocs/ from a real daemon and reports what it got."""

import html
import json
import re
import shutil
import subprocess
import urllib.parse

import pytest

from conftest import REPO, poll

CHROMIUM = shutil.which("chromium")

# A page that fetches the default site's parts and loads its image, then
# writes what it saw into the DOM for --dump-dom to print.
PROBE = """<!DOCTYPE html>
<html><body><pre id="out">pending</pre>
<img id="img" src="/images/pfhttpd.png">
<script>
async function probe() {
  const seen = {};
  for (const path of ["/", "/style.css", "/hello.txt",
                      "/images", "/does-not-exist.html"]) {
    const r = await fetch(path);
    seen[path] = {status: r.status, type: r.headers.get("Content-Type"),
                  url: new URL(r.url).pathname, body: await r.text()};
  }
  const img = document.getElementById("img");
  if (!img.complete) {
    await new Promise(ok => { img.onload = ok; img.onerror = ok; });
  }
  seen.image_width = img.naturalWidth;
  document.getElementById("out").textContent = JSON.stringify(seen);
}
probe().catch(e => {
  document.getElementById("out").textContent = "error " + e;
});
</script></body></html>
"""


def chromium_dump_dom(url, profile):
    """Load url in headless Chromium and return the DOM after scripts."""
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}",
         "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, timeout=120, check=True)
    return out.stdout.decode()


@pytest.fixture
def site_server(start_server, tmp_path):
    """A daemon serving a copy of htdocs/ plus the probe page."""
    root = tmp_path / "site"
    shutil.copytree(REPO / "htdocs", root)
    (root / "probe.html").write_text(PROBE)
    return start_server(root=str(root))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_loads_the_default_site_and_its_parts(site_server,
                                                        tmp_path):
    dom = chromium_dump_dom(site_server.url("/probe.html"),
                            tmp_path / "profile")
    start = dom.index('<pre id="out">') + len('<pre id="out">')
    text = dom[start:dom.index("</pre>", start)]
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace(
        "&quot;", '"').replace("&amp;", "&")
    seen = json.loads(text)

    assert seen["/"]["status"] == 200
    assert seen["/"]["type"] == "text/html; charset=utf-8"
    assert "pfhttpd is serving its default site" in seen["/"]["body"]
    assert seen["/style.css"]["status"] == 200
    assert seen["/style.css"]["type"] == "text/css; charset=utf-8"
    assert seen["/hello.txt"]["type"] == "text/plain; charset=utf-8"
    # The directory link is redirected to its slashed URL and its index.
    assert seen["/images"]["status"] == 200
    assert seen["/images"]["url"] == "/images/"
    assert "<title>pfhttpd: images</title>" in seen["/images"]["body"]
    assert seen["/does-not-exist.html"]["status"] == 404
    assert "404 Not Found" in seen["/does-not-exist.html"]["body"]
    assert seen["image_width"] == 128


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_renders_the_index_page_links(site_server, tmp_path):
    dom = chromium_dump_dom(site_server.url("/"), tmp_path / "profile")
    for href in ('href="hello.txt"', 'href="images/pfhttpd.png"',
                 'href="images"', 'href="does-not-exist.html"',
                 'href="echo.html"', 'href="chat.html"'):
        assert href in dom


def dom_text(dom, element_id):
    """The text inside the element with element_id in a dumped DOM."""
    start = dom.index(f'id="{element_id}"')
    start = dom.index(">", start) + 1
    end = dom.index("</", start)
    return html.unescape(dom[start:end])


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_echo_page_gets_its_message_echoed(site_server, tmp_path):
    text = "héllo, κόσμε & <echo>"
    dom = chromium_dump_dom(
        site_server.url("/echo.html?send=" + urllib.parse.quote(text)),
        tmp_path / "profile")
    assert dom_text(dom, "state") == "open"
    log = re.findall(r'<li class="(\w+)">(.*?)</li>', dom)
    assert [(kind, html.unescape(t)) for kind, t in log] == [
        ("sent", text), ("echo", text)]
    # The page's connection went through the handshake: one 101 logged.
    line = poll(lambda: [ln for ln in site_server.access_log.read_text()
                         .splitlines() if '"GET /echo HTTP/1.1"' in ln],
                5, what="the upgrade's access-log line")
    assert len(line) == 1 and '"GET /echo HTTP/1.1" 101 ' in line[0], line
