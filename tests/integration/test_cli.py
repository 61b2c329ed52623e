"""Command line: -V, -h, -t and configuration errors at start."""

import re
import socket
import subprocess

import pytest

from conftest import BIN, free_port, run_pfhttpd


def write_config(tmp_path, lines):
    """Write a config of the given lines (line 1 first); return its path.

    The base keys keep everything else valid: a root that exists, and the
    pid file and logs inside tmp_path.
    """
    (tmp_path / "htdocs").mkdir(exist_ok=True)
    conf = tmp_path / "pfhttpd.ini"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def base_lines(tmp_path, port=None):
    """A valid config, one key per line, numbered as in the comments."""
    return [
        "[server]",  # 1
        f"listen = 127.0.0.1:{port or free_port()}",  # 2
        "workers = 1",  # 3
        f"pid_file = {tmp_path / 'pfhttpd.pid'}",  # 4
        "[http]",  # 5
        f"root = {tmp_path / 'htdocs'}",  # 6
        "[log]",  # 7
        f"error_log = {tmp_path / 'error.log'}",  # 8
    ]


def assert_config_error(proc, conf, line, *words):
    """Exit 1 and stderr's first line "CONF:LINE: message" naming words."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    first = proc.stderr.strip().splitlines()[0]
    m = re.match(re.escape(str(conf)) + r":(\d+): (.+)$", first)
    assert m, f"not FILE:LINE: message: {first!r}"
    assert int(m.group(1)) == line, first
    for word in words:
        assert word in m.group(2), (word, first)


def test_version_flag_prints_name_and_version():
    proc = run_pfhttpd("-V")
    assert proc.returncode == 0
    assert re.fullmatch(r"pfhttpd \d+\.\d+\.\d+\n", proc.stdout), proc.stdout


def test_help_flag_prints_usage_and_exits_0():
    proc = run_pfhttpd("-h")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: pfhttpd ")
    for opt in ("-c FILE", "-f", "-t", "-V", "-h"):
        assert opt in proc.stdout, opt


def test_unknown_option_prints_usage_and_exits_1():
    proc = run_pfhttpd("-Z")
    assert proc.returncode == 1
    assert "usage: pfhttpd " in proc.stderr


def test_config_test_exits_0_on_good_config_without_starting(tmp_path):
    conf = write_config(tmp_path, base_lines(tmp_path))
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stderr
    assert not (tmp_path / "pfhttpd.pid").exists()


def test_config_test_reports_unknown_section_with_line(tmp_path):
    lines = base_lines(tmp_path)
    lines.insert(6, "[bogus]")  # line 7
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 7, "unknown section", "bogus")


def test_config_test_reports_unknown_key_with_line(tmp_path):
    lines = base_lines(tmp_path)
    lines.insert(5, "no_such_key = 1")  # line 6, in [http]
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 6, "unknown key", "no_such_key")


def test_config_test_reports_bad_number_with_line(tmp_path):
    lines = base_lines(tmp_path)
    lines[2] = "workers = many"  # line 3
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 3, "workers", "many")


def test_config_test_reports_bad_duration_suffix_with_line(tmp_path):
    lines = base_lines(tmp_path)
    lines.insert(6, "keepalive_timeout = 5 hours")  # line 7
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 7, "keepalive_timeout", "5 hours")


def test_config_test_reports_out_of_range_value_with_line(tmp_path):
    lines = base_lines(tmp_path)
    lines[2] = "workers = 100000"  # line 3
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 3, "workers", "out of range")


def test_config_test_reports_too_small_header_size_with_line(tmp_path):
    lines = base_lines(tmp_path)
    lines.insert(6, "max_header_size = 10")  # line 7: the minimum is 1k
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 7, "max_header_size", "out of range")


@pytest.mark.parametrize("address", [
    "127.0.0.1:99999", "127.0.0.1", "300.1.2.3:80", "::1:80", "[::1:80",
])
def test_config_test_reports_bad_listen_address_with_line(tmp_path, address):
    lines = base_lines(tmp_path)
    lines[1] = f"listen = {address}"  # line 2
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 2, "listen", address)


def test_config_test_reports_missing_root_with_line(tmp_path):
    lines = base_lines(tmp_path)
    lines[5] = f"root = {tmp_path / 'no-such-dir'}"  # line 6
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 6, "root", "no-such-dir",
                        "No such file or directory")


def test_config_test_accepts_a_chat_section_with_a_telnet_listener(tmp_path):
    lines = base_lines(tmp_path) + [
        "[chat]",  # 9
        "rate = 10/s",  # 10
        f"listen = 127.0.0.1:{free_port()}",  # 11
        f"transcript = {tmp_path / 'chat.log'}",  # 12
    ]
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode == 0, proc.stderr
    assert f"{conf}: configuration ok" in proc.stderr
    assert not (tmp_path / "chat.log").exists()


def test_config_test_reports_bad_chat_rate_with_line(tmp_path):
    lines = base_lines(tmp_path) + ["[chat]", "rate = 5/min"]  # line 10
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 10, "[chat] rate", "5/min", "N/s")


def test_config_test_reports_chat_path_equal_to_echo_path_at_its_line(
        tmp_path):
    lines = base_lines(tmp_path) + [
        "[websocket]",  # 9
        "echo_path = /talk",  # 10
        "[chat]",  # 11
        "path = /talk",  # 12
    ]
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 12, "[chat] path", "/talk",
                        "echo_path at line 10")


def test_config_test_reports_missing_config_file(tmp_path):
    conf = tmp_path / "absent.ini"
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{conf}: ")
    assert "No such file or directory" in proc.stderr


def test_start_with_bad_config_exits_1_with_message(tmp_path):
    lines = base_lines(tmp_path)
    lines.insert(3, "max_connections = lots")  # line 4
    conf = write_config(tmp_path, lines)
    proc = subprocess.run([BIN, "-f", "-c", str(conf)],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=10)
    assert_config_error(proc, conf, 4, "max_connections", "lots")
    assert not (tmp_path / "pfhttpd.pid").exists()


def test_listen_address_in_use_exits_1_with_clear_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        conf = write_config(tmp_path, base_lines(tmp_path, port))
        proc = subprocess.run([BIN, "-f", "-c", str(conf)],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=10)
    assert proc.returncode == 1
    assert f"127.0.0.1:{port}" in proc.stderr, proc.stderr
    assert "Address already in use" in proc.stderr, proc.stderr
    assert not (tmp_path / "pfhttpd.pid").exists()


@pytest.mark.parametrize("value", ["nonsense", "0.0.0.0:6379", "[::]:6379",
                                   "127.0.0.1:99999"])
def test_config_test_reports_bad_chat_redis_with_line(tmp_path, value):
    lines = base_lines(tmp_path) + ["[chat]", f"redis = {value}"]  # 10
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 10, "[chat] redis", value)


def test_config_test_reports_redis_stream_length_below_history_at_its_line(
        tmp_path):
    lines = base_lines(tmp_path) + [
        "[chat]",  # 9
        "redis = 127.0.0.1:6379",  # 10
        "redis_stream_length = 50",  # 11
        "history = 100",  # 12
    ]
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 11, "[chat] redis_stream_length", "50",
                        "history (100)")


def test_config_test_reports_history_over_the_default_stream_length(
        tmp_path):
    lines = base_lines(tmp_path) + [
        "[chat]",  # 9
        "history = 2000",  # 10
        "redis = 127.0.0.1:6379",  # 11
    ]
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 10, "redis_stream_length", "1000",
                        "history (2000)")


def test_config_test_accepts_a_redis_socket_relative_to_the_config(
        tmp_path):
    lines = base_lines(tmp_path) + [
        "[chat]",  # 9
        "redis = run/redis.sock",  # 10
        "redis_prefix = site-1",  # 11
        "redis_stream_length = 100",  # 12
    ]
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert proc.returncode == 0, proc.stderr


def test_config_test_reports_bad_redis_prefix_with_line(tmp_path):
    lines = base_lines(tmp_path) + ["[chat]", "redis_prefix = a:b"]  # 10
    conf = write_config(tmp_path, lines)
    proc = run_pfhttpd("-t", "-c", str(conf))
    assert_config_error(proc, conf, 10, "[chat] redis_prefix", "a:b")
