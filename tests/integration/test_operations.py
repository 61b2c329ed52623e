"""Operating the daemon: listen addresses, daemon mode, privileges and the
signals that do not stop it."""

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import (BIN, DOCROOT_FILES, START_TIMEOUT, STOP_TIMEOUT,
                      Reader, child_pids, free_port, pid_alive, poll,
                      proc_title, request_bytes)


def get_over(family, address, path="/hello.txt"):
    """GET path from address with a fresh socket; return the response."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(address)
        sock.sendall(request_bytes(path, headers=["Connection: close"]))
        return Reader(sock).read_response()


def can_connect(family, address):
    try:
        with socket.create_connection(address[:2], timeout=1):
            return True
    except OSError:
        return False


def write_config(tmp_path, server_lines, extra=""):
    """A config serving the test docroot, logs and pid file in tmp_path."""
    conf = tmp_path / "ops.ini"
    conf.write_text(
        "[server]\n" + server_lines + "\nworkers = 1\n"
        f"pid_file = {tmp_path / 'ops.pid'}\n" + extra +
        f"[http]\nroot = {tmp_path / 'htdocs'}\n"
        f"[log]\nerror_log = {tmp_path / 'ops.log'}\n"
        f"access_log = {tmp_path / 'ops-access.log'}\n"
        f"[stats]\nshm_path = {tmp_path / 'ops.shm'}\n")
    return conf


@contextlib.contextmanager
def foreground(conf):
    """Run the daemon in the foreground on conf for a with block."""
    proc = subprocess.Popen([BIN, "-f", "-c", str(conf)],
                            stdin=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(STOP_TIMEOUT)


def stop_master(pid):
    """SIGTERM the master and wait until it is gone."""
    os.kill(pid, signal.SIGTERM)
    poll(lambda: not pid_alive(pid), STOP_TIMEOUT, what="master exit")


def test_every_listen_address_is_served_ipv4_and_ipv6(docroot, tmp_path):
    p4, p6 = free_port(), free_port()
    conf = write_config(tmp_path,
                        f"listen = 127.0.0.1:{p4}\nlisten = [::1]:{p6}")
    with foreground(conf):
        poll(lambda: can_connect(socket.AF_INET6, ("::1", p6)),
             START_TIMEOUT, what="IPv6 listener")
        r4 = get_over(socket.AF_INET, ("127.0.0.1", p4))
        r6 = get_over(socket.AF_INET6, ("::1", p6))
        assert (r4.status, r4.body) == (200, DOCROOT_FILES["hello.txt"])
        assert (r6.status, r6.body) == (200, DOCROOT_FILES["hello.txt"])


def test_star_listen_address_accepts_on_ipv4_loopback(docroot, tmp_path):
    port = free_port()
    conf = write_config(tmp_path, f"listen = *:{port}")
    with foreground(conf):
        poll(lambda: can_connect(socket.AF_INET, ("127.0.0.1", port)),
             START_TIMEOUT, what="listener on *")
        assert get_over(socket.AF_INET, ("127.0.0.1", port)).status == 200


def test_daemon_yes_detaches_writes_pid_file_and_serves(docroot, tmp_path):
    port = free_port()
    conf = write_config(tmp_path, f"listen = 127.0.0.1:{port}",
                        "daemon = yes\n")
    pid_file = tmp_path / "ops.pid"
    launcher = subprocess.run([BIN, "-c", str(conf)],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=START_TIMEOUT)
    assert launcher.returncode == 0, launcher.stderr
    pid = int(poll(lambda: pid_file.exists() and pid_file.read_text(),
                   START_TIMEOUT, what="pid file"))
    try:
        assert proc_title(pid) == "pfhttpd: master"
        assert os.getsid(pid) == pid  # a session of its own
        poll(lambda: can_connect(socket.AF_INET, ("127.0.0.1", port)),
             START_TIMEOUT, what="listener")
        assert get_over(socket.AF_INET, ("127.0.0.1", port)).status == 200
    finally:
        stop_master(pid)
    assert not pid_file.exists()


def start_daemon(conf):
    """Run pfhttpd -c conf (daemon = yes); return the finished launcher."""
    return subprocess.run([BIN, "-c", str(conf)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True,
                          timeout=START_TIMEOUT)


def test_daemon_launcher_returns_only_once_the_daemon_serves(docroot,
                                                             tmp_path):
    port = free_port()
    conf = write_config(tmp_path, f"listen = 127.0.0.1:{port}",
                        "daemon = yes\n")
    launcher = start_daemon(conf)
    assert launcher.returncode == 0, launcher.stderr
    # No polling: the pid file and the workers are there already.
    pid = int((tmp_path / "ops.pid").read_text())
    try:
        assert get_over(socket.AF_INET, ("127.0.0.1", port)).status == 200
    finally:
        stop_master(pid)


def test_daemon_start_up_error_is_printed_and_exits_nonzero(docroot,
                                                             tmp_path):
    port = free_port()
    conf = write_config(tmp_path, f"listen = 127.0.0.1:{port}",
                        "daemon = yes\n")
    # The segment cannot be created: that fails after the detach.
    text = conf.read_text().replace(
        f"shm_path = {tmp_path / 'ops.shm'}",
        f"shm_path = {tmp_path / 'no-such-dir' / 'ops.shm'}")
    conf.write_text(text)
    launcher = start_daemon(conf)
    assert launcher.returncode == 1
    assert "shared memory" in launcher.stderr, launcher.stderr
    assert "no-such-dir" in launcher.stderr, launcher.stderr
    assert not (tmp_path / "ops.pid").exists()
    assert not can_connect(socket.AF_INET, ("127.0.0.1", port))


def test_second_instance_with_the_same_pid_file_is_refused(docroot,
                                                           tmp_path):
    port = free_port()
    conf = write_config(tmp_path, f"listen = 127.0.0.1:{port}",
                        "daemon = yes\n")
    assert start_daemon(conf).returncode == 0
    pid = int((tmp_path / "ops.pid").read_text())
    try:
        second = start_daemon(conf)
        assert second.returncode == 1
        assert f"already running (pid {pid}, pid file" in second.stderr, \
            second.stderr
        # The first one is untouched: same pid file, still serving.
        assert int((tmp_path / "ops.pid").read_text()) == pid
        assert get_over(socket.AF_INET, ("127.0.0.1", port)).status == 200
    finally:
        stop_master(pid)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_workers_drop_to_configured_user_and_group(start_server):
    nobody = pwd.getpwnam("nobody")
    nogroup = grp.getgrnam("nogroup")
    server = start_server(user="nobody", group="nogroup")
    workers = server.workers()
    assert len(workers) == 2
    for pid in workers:
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f)
        assert status["Uid"].split() == [str(nobody.pw_uid)] * 4
        assert status["Gid"].split() == [str(nogroup.gr_gid)] * 4
        assert status["Groups"].split() == [str(nogroup.gr_gid)]
    with open(f"/proc/{server.pid}/status") as f:
        assert "Uid:\t0\t" in f.read()
    resp = server.get("/hello.txt")
    assert (resp.status, resp.body) == (200, DOCROOT_FILES["hello.txt"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_logger_drops_to_configured_user_and_group(start_server):
    nobody = pwd.getpwnam("nobody")
    nogroup = grp.getgrnam("nogroup")
    server = start_server(user="nobody", group="nogroup")
    loggers = [p for p in child_pids(server.pid)
               if proc_title(p) == "pfhttpd: logger"]
    assert len(loggers) == 1
    with open(f"/proc/{loggers[0]}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    assert status["Uid"].split() == [str(nobody.pw_uid)] * 4
    assert status["Gid"].split() == [str(nogroup.gr_gid)] * 4
    assert status["Groups"].split() == [str(nogroup.gr_gid)]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_sigusr1_reopened_logs_belong_to_the_configured_user(start_server):
    # A directory the workers' user can reach, as /var/log/pfhttpd would be.
    logdir = Path(tempfile.mkdtemp(prefix="pfhttpd-log-", dir="/tmp"))
    try:
        logdir.chmod(0o755)
        error_log, access_log = logdir / "error.log", logdir / "access.log"
        server = start_server(user="nobody", group="nogroup",
                              error_log=str(error_log),
                              access_log=str(access_log))
        assert server.get("/a.txt").status == 200
        poll(lambda: access_log.exists() and "GET /a.txt" in
             access_log.read_text(), 5, what="the first access record")
        os.rename(error_log, logdir / "error.log.1")
        os.rename(access_log, logdir / "access.log.1")
        server.signal(signal.SIGUSR1)
        poll(lambda: error_log.exists() and "log files reopened" in
             error_log.read_text(), 5, what="the logger to reopen")
        assert server.get("/b.txt").status == 200
        poll(lambda: access_log.exists() and "GET /b.txt" in
             access_log.read_text(), 5, what="a record in the new log")
        nobody = pwd.getpwnam("nobody").pw_uid
        assert error_log.stat().st_uid == nobody
        assert access_log.stat().st_uid == nobody
        assert "GET /b.txt" not in (logdir / "access.log.1").read_text()
    finally:
        shutil.rmtree(logdir)


def test_sigusr1_reopens_the_error_log(server):
    rotated = server.error_log.with_name("error.log.1")
    os.rename(server.error_log, rotated)
    server.signal(signal.SIGUSR1)
    poll(lambda: "error log reopened" in server.error_log_text(), 5,
         what="a new error.log with the reopen message")
    assert "error log reopened" not in rotated.read_text()
