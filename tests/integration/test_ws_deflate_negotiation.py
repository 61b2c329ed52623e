"""permessage-deflate (RFC 7692) negotiation: what the server answers in
Sec-WebSocket-Extensions for each offer, on echo and on chat.

Every combination of the four parameters (each absent, present, and for
the window bits with the values that matter) is offered, and the answer
must be exactly the text the contract builds from it (worked out here by
expected_answer(), independently of the server); then one message each
way proves the agreement holds: the client deflates with the window and
context it was allowed, and the server's message inflates with the window
it may use and no more (wsclient's Decompressor checks the window, and,
under server_no_context_takeover, that no earlier message is referred to).
Unacceptable offers (unknown or repeated parameters, bad values, syntax
errors) are refused and the next acceptable one is taken; offers split
over several header lines are one list; other extensions are ignored;
compression = no answers none. The [websocket] keys' bad values are
configuration errors.
"""

import json
import random

import pytest

from conftest import assert_workers_unchanged, run_pfhttpd
from test_cli import assert_config_error, base_lines, write_config
from test_reload import reload, rewrite_config
from wsclient import (OP_BINARY, OP_CLOSE, OP_TEXT, RSV1, Decompressor,
                      close_body, handshake)

PMD = "permessage-deflate"
CHROMIUM_OFFER = "permessage-deflate; client_max_window_bits"
# A message whose second half repeats its first 20000 bytes: deflated with
# a window of 15 bits it refers 20000 bytes back, which no smaller window
# reaches, so inflating it with a smaller window than the sender used
# fails (the windows of 9 to 14 bits hold 512 to 16384 bytes). Random
# letters, which deflate to about 60 % with any window.
REPEAT = 20000


def repeated(seed):
    """Random letters (seed), REPEAT of them, twice."""
    half = bytes(random.Random(seed).choices(b"abcdefghijklmnopqrstuvwxyz",
                                             k=REPEAT))
    return half + half


@pytest.fixture(scope="module")
def server(start_module_server):
    """The default configuration: compression on, window bits 15."""
    return start_module_server()


@pytest.fixture(scope="module")
def server10(start_module_server):
    """compression_window_bits = 10."""
    return start_module_server(compression_window_bits=10)


@pytest.fixture(autouse=True)
def no_worker_died(request):
    """After each case: the module's daemons still run the same workers."""
    yield
    for name in ("server", "server10"):
        if name not in request.fixturenames:
            continue
        assert_workers_unchanged(request.getfixturevalue(name))


def offer_text(snct, cnct, smwb, cmwb):
    """The offer of the given parameters: smwb None (absent) or a value,
    cmwb None (absent), "" (without a value) or a value."""
    parts = [PMD]
    if snct:
        parts.append("server_no_context_takeover")
    if cnct:
        parts.append("client_no_context_takeover")
    if smwb is not None:
        parts.append(f"server_max_window_bits={smwb}")
    if cmwb == "":
        parts.append("client_max_window_bits")
    elif cmwb is not None:
        parts.append(f"client_max_window_bits={cmwb}")
    return "; ".join(parts)


def expected_answer(snct, cnct, smwb, cmwb, chat=False, bits=15):
    """The answer the contract gives an acceptable offer (offer_text()'s
    parameters) on echo or chat, with compression_window_bits bits."""
    parts = [PMD]
    if snct or chat:
        parts.append("server_no_context_takeover")
    if cnct:
        parts.append("client_no_context_takeover")
    if smwb is not None:
        parts.append(f"server_max_window_bits={smwb}")
    if cmwb is not None:
        m = min(15 if cmwb == "" else cmwb, bits)
        if m < 15 or cmwb != "":
            parts.append(f"client_max_window_bits={m}")
    return "; ".join(parts)


def answer_of(resp):
    """The one Sec-WebSocket-Extensions value of a 101, or None."""
    assert resp.status == 101, resp
    values = resp.headers_named("Sec-WebSocket-Extensions")
    assert len(values) <= 1, f"several extension answers: {values}"
    return values[0] if values else None


def offered(server, extensions, path="/echo"):
    """Handshake offering extensions (a value or a list of lines); the
    answer must be 101. Return (WsConn, the extension answer or None)."""
    ws, resp = handshake(server, path, extensions=extensions)
    assert ws is not None, resp
    return ws, answer_of(resp)


def exchange(ws, bits, seed=""):
    """One compressed message each way, twice (the second exercises the
    contexts kept from the first); the echo must come compressed and
    inflate with a window of bits (and, under server_no_context_takeover,
    alone), or plain if bits is 8."""
    data = repeated(seed)
    inflater = Decompressor(bits,
                            takeover=not ws.pmd.server_no_context_takeover)
    for _ in range(2):
        ws.send_message(OP_BINARY, data)
        fin, rsv, opcode, payload = ws.recv_frame_rsv()
        assert (fin, opcode) == (True, OP_BINARY)
        if bits == 8:
            assert rsv == 0 and payload == data, (rsv, len(payload))
        else:
            assert rsv == RSV1, rsv
            assert inflater.decompress(payload) == data
    ws.send_frame(OP_CLOSE, close_body(1000))
    ws.expect_close(1000)


SNCT = [False, True]
CNCT = [False, True]
SMWB = [None, 8, 9, 12, 15]
CMWB = [None, "", 8, 10, 15]
COMBOS = [(s, c, sm, cm) for s in SNCT for c in CNCT for sm in SMWB
          for cm in CMWB]


def combo_id(combo):
    s, c, sm, cm = combo
    out = ["snct" if s else "", "cnct" if c else "",
           "" if sm is None else f"smwb{sm}",
           "" if cm is None else "cmwb" if cm == "" else f"cmwb{cm}"]
    return "-".join(p for p in out if p) or "bare"


# -- every combination of the parameters --------------------------------------

@pytest.mark.parametrize("combo", COMBOS, ids=[combo_id(c) for c in COMBOS])
def test_every_offer_on_echo_gets_its_exact_answer_and_works(server, combo):
    ws, got = offered(server, offer_text(*combo))
    with ws:
        assert got == expected_answer(*combo)
        smwb = combo[2]
        exchange(ws, min(15, smwb or 15), seed=combo_id(combo))


@pytest.mark.parametrize("combo", COMBOS, ids=[combo_id(c) for c in COMBOS])
def test_every_offer_with_window_bits_10_gets_its_answer_and_works(
        server10, combo):
    # The server compresses with 10 bits at most, and lets the client use
    # no more than 10 where the client allows it to say so.
    ws, got = offered(server10, offer_text(*combo))
    with ws:
        assert got == expected_answer(*combo, bits=10)
        smwb = combo[2]
        exchange(ws, min(10, smwb or 15), seed=combo_id(combo))


CHAT_COMBOS = [(s, c, sm, cm) for s in SNCT for c in CNCT
               for sm in (None, 9) for cm in (None, "", 10)]


@pytest.mark.parametrize("combo", CHAT_COMBOS,
                         ids=[combo_id(c) for c in CHAT_COMBOS])
def test_every_offer_on_chat_is_answered_with_server_no_context_takeover(
        server, combo):
    ws, got = offered(server, offer_text(*combo), "/chat/pmd")
    with ws:
        assert got == expected_answer(*combo, chat=True)


def test_chromium_offer_on_echo_gets_the_bare_extension(server):
    ws, got = offered(server, CHROMIUM_OFFER)
    with ws:
        assert got == "permessage-deflate"


def test_chromium_offer_on_chat_gets_server_no_context_takeover(server):
    ws, got = offered(server, CHROMIUM_OFFER, "/chat")
    with ws:
        assert got == \
            "permessage-deflate; server_no_context_takeover"


def test_client_without_window_bits_parameter_may_use_15_bits_at_10(
        server10):
    # No client_max_window_bits offered: the server cannot restrict the
    # client's window, so it must inflate with 15 bits whatever its own
    # compression_window_bits (the client's message refers 20000 bytes
    # back).
    ws, got = offered(server10, PMD)
    with ws:
        assert got == PMD
        assert ws.compressor.bits == 15
        exchange(ws, 10)


def test_no_offer_gets_no_extension_answer(server):
    ws, got = offered(server, None)
    with ws:
        assert got is None


# -- values -------------------------------------------------------------------

@pytest.mark.parametrize("offer,answer", [
    ('permessage-deflate; client_max_window_bits="10"',
     "permessage-deflate; client_max_window_bits=10"),
    ('permessage-deflate; server_max_window_bits="9"',
     "permessage-deflate; server_max_window_bits=9"),
    ("permessage-deflate;client_no_context_takeover",
     "permessage-deflate; client_no_context_takeover"),
    ("permessage-deflate ; server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover"),
    ("permessage-deflate;\tclient_max_window_bits=12",
     "permessage-deflate; client_max_window_bits=12"),
    # The order of the answer is the contract's, not the offer's.
    ("permessage-deflate; client_max_window_bits=11; "
     "server_max_window_bits=13; client_no_context_takeover; "
     "server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover; "
     "client_no_context_takeover; server_max_window_bits=13; "
     "client_max_window_bits=11"),
], ids=["quoted-client-bits", "quoted-server-bits", "no-space",
        "space-before-semicolon", "tab", "any-order"])
def test_offer_written_another_way_gets_the_same_answer(server, offer,
                                                        answer):
    ws, got = offered(server, offer)
    with ws:
        assert got == answer


UNACCEPTABLE = [
    ("unknown-param", "permessage-deflate; foo"),
    ("unknown-param-value", "permessage-deflate; x_max_window_bits=10"),
    ("snct-twice", "permessage-deflate; server_no_context_takeover; "
     "server_no_context_takeover"),
    ("cnct-twice", "permessage-deflate; client_no_context_takeover; "
     "client_no_context_takeover"),
    ("smwb-twice", "permessage-deflate; server_max_window_bits=10; "
     "server_max_window_bits=10"),
    ("cmwb-twice", "permessage-deflate; client_max_window_bits; "
     "client_max_window_bits=10"),
    ("snct-value", "permessage-deflate; server_no_context_takeover=1"),
    ("cnct-value", "permessage-deflate; client_no_context_takeover=true"),
    ("smwb-no-value", "permessage-deflate; server_max_window_bits"),
    ("smwb-7", "permessage-deflate; server_max_window_bits=7"),
    ("smwb-16", "permessage-deflate; server_max_window_bits=16"),
    ("smwb-0", "permessage-deflate; server_max_window_bits=0"),
    ("cmwb-7", "permessage-deflate; client_max_window_bits=7"),
    ("cmwb-16", "permessage-deflate; client_max_window_bits=16"),
    ("smwb-08", "permessage-deflate; server_max_window_bits=08"),
    ("smwb-+9", "permessage-deflate; server_max_window_bits=+9"),
    ("smwb-9.0", "permessage-deflate; server_max_window_bits=9.0"),
    ("smwb--9", "permessage-deflate; server_max_window_bits=-9"),
    ("cmwb-010", "permessage-deflate; client_max_window_bits=010"),
    ("cmwb-quoted-08", 'permessage-deflate; client_max_window_bits="08"'),
    ("cmwb-quoted-empty", 'permessage-deflate; client_max_window_bits=""'),
    ("cmwb-huge", "permessage-deflate; client_max_window_bits="
     "4294967306"),
    ("syntax-empty-param", "permessage-deflate; ; server_no_context_takeover"),
    ("syntax-no-name", "permessage-deflate; =10"),
    ("syntax-no-value", "permessage-deflate; server_max_window_bits="),
    ("syntax-unterminated-quote",
     'permessage-deflate; client_max_window_bits="10'),
    ("syntax-no-semicolon", "permessage-deflate server_no_context_takeover"),
    ("syntax-trailing-semicolon", "permessage-deflate;"),
]


@pytest.mark.parametrize("offer", [o for _, o in UNACCEPTABLE],
                         ids=[i for i, _ in UNACCEPTABLE])
def test_unacceptable_offer_is_refused_and_the_handshake_succeeds(server,
                                                                  offer):
    ws, got = offered(server, offer)
    with ws:
        assert got is None
        # Not agreed: a message with RSV1 is a protocol error.
        ws.send_frame(OP_TEXT, b"x", rsv=RSV1)
        ws.expect_close(1002)


SEMANTIC = [o for i, o in UNACCEPTABLE if not i.startswith("syntax")]


@pytest.mark.parametrize("bad", SEMANTIC,
                         ids=[i for i, _ in UNACCEPTABLE
                              if not i.startswith("syntax")])
def test_unacceptable_offer_is_skipped_for_the_next_one(server, bad):
    offer = f"{bad}, permessage-deflate; client_no_context_takeover"
    ws, got = offered(server, offer)
    with ws:
        assert got == \
            "permessage-deflate; client_no_context_takeover"
        exchange(ws, 15)


# -- lists --------------------------------------------------------------------

@pytest.mark.parametrize("lines,answer", [
    (["x-webkit-deflate-frame", CHROMIUM_OFFER], "permessage-deflate"),
    (["permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; server_max_window_bits=10"],
     "permessage-deflate; server_max_window_bits=10"),
    (["permessage-deflate; server_max_window_bits=11",
      "permessage-deflate; server_max_window_bits=10"],
     "permessage-deflate; server_max_window_bits=11"),
    (["foo, bar; baz=1", "permessage-deflate; bogus",
      "qux, permessage-deflate; client_no_context_takeover, "
      "permessage-deflate"],
     "permessage-deflate; client_no_context_takeover"),
], ids=["unknown-then-pmd", "bad-line-then-good", "first-line-wins",
        "three-lines"])
def test_offers_on_several_lines_are_one_list(server, lines, answer):
    ws, got = offered(server, lines)
    with ws:
        assert got == answer
        exchange(ws, ws.pmd.server_bits)


@pytest.mark.parametrize("offer", [
    "x-webkit-deflate-frame", "permessage-bzip2", "deflate-frame; a=1, foo",
    "permessage-deflate-x", "x-permessage-deflate"])
def test_only_other_extensions_get_no_answer(server, offer):
    ws, got = offered(server, offer)
    with ws:
        assert got is None
        ws.send_frame(OP_TEXT, b"plain")
        ws.expect_frame(True, OP_TEXT, b"plain")


def test_unknown_extension_before_the_offer_is_ignored(server):
    ws, got = offered(
        server, 'x-foo; bar="a, b; c", permessage-deflate')
    with ws:
        assert got == PMD
        exchange(ws, 15)


# -- configuration ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/echo", "/chat"])
def test_compression_no_ignores_the_offer(start_module_server, path):
    srv = start_module_server(compression="no")
    ws, got = offered(srv, CHROMIUM_OFFER, path)
    with ws:
        assert got is None
        if path == "/chat":  # the welcome and the join come first
            for kind in ("welcome", "join"):
                assert json.loads(ws.recv_message()[1])["type"] == kind
        ws.send_frame(OP_TEXT, b"x" * 300, rsv=RSV1)
        ws.expect_close(1002)


def test_reload_to_compression_no_stops_new_agreements(start_server):
    srv = start_server()
    ws, got = offered(srv, PMD)
    ws.close()
    assert got == PMD
    rewrite_config(srv, compression="no")
    reload(srv)
    ws, got = offered(srv, PMD)
    with ws:
        assert got is None


def test_reload_to_window_bits_12_changes_the_answer(start_server):
    srv = start_server()
    rewrite_config(srv, compression_window_bits=12)
    reload(srv)
    ws, got = offered(srv, CHROMIUM_OFFER)
    with ws:
        assert got == \
            "permessage-deflate; client_max_window_bits=12"
        exchange(ws, 12)


@pytest.mark.parametrize("key,value", [
    ("compression", "maybe"), ("compression_level", "0"),
    ("compression_level", "10"), ("compression_level", "fast"),
    ("compression_min_size", "lots"), ("compression_window_bits", "8"),
    ("compression_window_bits", "16"), ("compression_window_bits", "x"),
])
def test_bad_compression_value_is_a_config_error_with_its_line(
        tmp_path, key, value):
    lines = base_lines(tmp_path) + ["[websocket]", f"{key} = {value}"]
    conf = write_config(tmp_path, lines)  # the key on line 10
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 10, f"[websocket] {key}")


@pytest.mark.parametrize("key,value", [
    ("compression", "yes"), ("compression", "no"),
    ("compression_level", "1"), ("compression_level", "9"),
    ("compression_min_size", "256"), ("compression_min_size", "4k"),
    ("compression_window_bits", "9"), ("compression_window_bits", "15"),
])
def test_good_compression_value_passes_the_config_test(tmp_path, key,
                                                       value):
    lines = base_lines(tmp_path) + ["[websocket]", f"{key} = {value}"]
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode == 0, proc.stderr
