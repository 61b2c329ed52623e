"""Installing and running pfhttpd as a system service: make install, the
installed configuration, the init script, the systemd unit and the
logrotate file; and tools/install-deps, which installs the Debian packages
of each make target.

make install runs once for the module into a DESTDIR; the service tests
then drive the installed init script, pointed at the installed binary and
at a configuration of their own (a free loopback port, the pid file, logs
and segment in tmp_path) through PFHTTPD_DEFAULTS. Every daemon a test
starts is stopped in teardown, by the pid files it was seen in.
"""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess

import pytest

from conftest import (REPO, START_TIMEOUT, STOP_TIMEOUT, Reader, child_pids,
                      free_port, pid_alive, poll, proc_title, request_bytes)

PREFIX = "/usr/local"
SYSTEMDUNITDIR = "/lib/systemd/system"
MAKE_TIMEOUT = 300  # seconds; make install may have to build first
SCRIPT_TIMEOUT = 60  # seconds; stop waits at most 30 + 5 + 5
PLACEHOLDER = re.compile(r"@[A-Z_]+@")

# What make install puts under DESTDIR, besides the default site: mode.
INSTALLED = {
    f"{PREFIX}/sbin/pfhttpd": 0o755,
    f"{PREFIX}/bin/statsdump": 0o755,
    f"{PREFIX}/share/man/man1/statsdump.1": 0o644,
    f"{PREFIX}/share/man/man5/pfhttpd.ini.5": 0o644,
    f"{PREFIX}/share/man/man8/pfhttpd.8": 0o644,
    f"{PREFIX}/etc/pfhttpd/pfhttpd.ini": 0o644,
    f"{PREFIX}/etc/pfhttpd/pfhttpd.ini.default": 0o644,
    f"{PREFIX}/share/doc/pfhttpd/haproxy.cfg.example": 0o644,
    "/etc/init.d/pfhttpd": 0o755,
    f"{SYSTEMDUNITDIR}/pfhttpd.service": 0o644,
    "/etc/logrotate.d/pfhttpd": 0o644,
}
# The installed text files, where every placeholder must be substituted.
TEXT_FILES = [
    f"{PREFIX}/etc/pfhttpd/pfhttpd.ini",
    f"{PREFIX}/etc/pfhttpd/pfhttpd.ini.default",
    f"{PREFIX}/share/doc/pfhttpd/haproxy.cfg.example",
    "/etc/init.d/pfhttpd",
    f"{SYSTEMDUNITDIR}/pfhttpd.service",
    "/etc/logrotate.d/pfhttpd",
]
HTDOCS = f"{PREFIX}/share/pfhttpd/htdocs"


def make_install(destdir):
    """Run make install into destdir; fail the test if it fails."""
    done = subprocess.run(
        ["make", "-C", str(REPO), "install", f"DESTDIR={destdir}"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=MAKE_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def destdir(tmp_path_factory):
    """A DESTDIR holding a fresh make install."""
    root = tmp_path_factory.mktemp("destdir")
    make_install(root)
    return root


def under(destdir, path):
    """The installed copy of path (an absolute path) below destdir."""
    return destdir / path.lstrip("/")


def ini_value(text, section, key):
    """The value of key in [section] of an INI text, or None."""
    current = None
    for line in text.splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"^(\w+)\s*=\s*(.*?)\s*$", line)
        if m and current == section and m.group(1) == key:
            return m.group(2)
    return None


def site_files():
    """The repository's default site: relative path -> content."""
    site = REPO / "htdocs"
    return {str(p.relative_to(site)): p.read_bytes()
            for p in site.rglob("*") if p.is_file()}


# -- make install -----------------------------------------------------------


def test_make_install_puts_every_file_in_place_with_its_mode(destdir):
    wrong = {}
    for path, mode in INSTALLED.items():
        st = under(destdir, path).stat()
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != mode:
            wrong[path] = oct(st.st_mode)
    for name, content in site_files().items():
        installed = under(destdir, f"{HTDOCS}/{name}")
        if (installed.read_bytes() != content
                or stat.S_IMODE(installed.stat().st_mode) != 0o644):
            wrong[f"{HTDOCS}/{name}"] = oct(installed.stat().st_mode)
    logdir = under(destdir, "/var/log/pfhttpd").stat()
    if (not stat.S_ISDIR(logdir.st_mode)
            or stat.S_IMODE(logdir.st_mode) != 0o755):
        wrong["/var/log/pfhttpd"] = oct(logdir.st_mode)
    assert wrong == {}


def test_make_install_substitutes_every_placeholder(destdir):
    left = {path: PLACEHOLDER.findall(under(destdir, path).read_text())
            for path in TEXT_FILES}
    assert {p: found for p, found in left.items() if found} == {}
    init = under(destdir, "/etc/init.d/pfhttpd").read_text()
    assert f"\nDAEMON={PREFIX}/sbin/pfhttpd\n" in init
    assert f"\nCONF={PREFIX}/etc/pfhttpd/pfhttpd.ini\n" in init
    unit = under(destdir, f"{SYSTEMDUNITDIR}/pfhttpd.service").read_text()
    assert (f"\nExecStart={PREFIX}/sbin/pfhttpd -c "
            f"{PREFIX}/etc/pfhttpd/pfhttpd.ini\n") in unit
    conf = under(destdir, f"{PREFIX}/etc/pfhttpd/pfhttpd.ini").read_text()
    assert ini_value(conf, "http", "root") == HTDOCS


def test_make_install_installs_the_production_config_as_default(destdir):
    production = (REPO / "etc" / "pfhttpd.production.ini").read_text()
    expected = production.replace("@PREFIX@", PREFIX)
    etc = under(destdir, f"{PREFIX}/etc/pfhttpd")
    assert (etc / "pfhttpd.ini.default").read_text() == expected
    assert (etc / "pfhttpd.ini").read_text() == expected


def test_make_install_never_overwrites_an_existing_config(tmp_path):
    etc = under(tmp_path, f"{PREFIX}/etc/pfhttpd")
    etc.mkdir(parents=True)
    mine = "; the operator's own configuration\n[server]\nworkers = 3\n"
    (etc / "pfhttpd.ini").write_text(mine)
    make_install(tmp_path)
    assert (etc / "pfhttpd.ini").read_text() == mine
    assert "@PREFIX@" not in (etc / "pfhttpd.ini.default").read_text()
    assert (etc / "pfhttpd.ini.default").read_text() != mine


def test_installed_config_passes_the_config_check(destdir, tmp_path):
    # Only root is checked on disk, and it is below DESTDIR here: check a
    # copy that differs in that line alone.
    conf = under(destdir, f"{PREFIX}/etc/pfhttpd/pfhttpd.ini").read_text()
    copy = tmp_path / "pfhttpd.ini"
    copy.write_text(conf.replace(f"root = {HTDOCS}\n",
                                 f"root = {under(destdir, HTDOCS)}\n", 1))
    assert ini_value(copy.read_text(), "http", "root") == str(
        under(destdir, HTDOCS))
    check = subprocess.run(
        [under(destdir, f"{PREFIX}/sbin/pfhttpd"), "-t", "-c", copy],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=10)
    assert check.returncode == 0, check.stderr
    assert f"{copy}: configuration ok" in check.stderr


def test_config_unit_and_logrotate_agree_on_the_pid_file(destdir):
    conf = under(destdir, f"{PREFIX}/etc/pfhttpd/pfhttpd.ini").read_text()
    unit = under(destdir, f"{SYSTEMDUNITDIR}/pfhttpd.service").read_text()
    rotate = under(destdir, "/etc/logrotate.d/pfhttpd").read_text()
    pid_file = ini_value(conf, "server", "pid_file")
    assert pid_file == "/run/pfhttpd.pid"
    assert ini_value(conf, "server", "daemon") == "yes"  # Type=forking
    assert f"\nPIDFile={pid_file}\n" in unit
    assert f"--pidfile {pid_file} " in rotate
    log_dir = os.path.dirname(ini_value(conf, "log", "access_log"))
    assert os.path.dirname(ini_value(conf, "log", "error_log")) == log_dir
    assert rotate.startswith("#") and f"\n{log_dir}/*.log {{\n" in rotate


def test_init_script_passes_sh_n_and_shellcheck():
    script = REPO / "etc" / "init.d" / "pfhttpd"
    check = subprocess.run(["sh", "-n", script], capture_output=True,
                           text=True, timeout=10)
    assert check.returncode == 0, check.stderr
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    lint = subprocess.run(["shellcheck", script], capture_output=True,
                          text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_installed_unit_passes_systemd_analyze_verify(destdir, tmp_path):
    # verify wants the commands to exist and the man pages of
    # Documentation= to be found: point both into DESTDIR.
    unit = under(destdir, f"{SYSTEMDUNITDIR}/pfhttpd.service").read_text()
    copy = tmp_path / "pfhttpd.service"
    copy.write_text(unit.replace(f"{PREFIX}/", f"{under(destdir, PREFIX)}/"))
    env = dict(os.environ,
               MANPATH=str(under(destdir, f"{PREFIX}/share/man")))
    verify = subprocess.run(["systemd-analyze", "verify", copy], env=env,
                            stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr
    # It only warns about unknown keys and bad values.
    assert [line for line in verify.stderr.splitlines()
            if "pfhttpd" in line] == []


# -- the init script ----------------------------------------------------------


def get(port, path):
    """GET path from 127.0.0.1:port on a new connection; the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request_bytes(path, headers=["Connection: close"]))
        return Reader(sock).read_response()


def try_get(port, path):
    """get(), or None while nothing answers."""
    try:
        return get(port, path)
    except (OSError, EOFError):
        return None


def read_pid(path):
    """The pid in a pid file, or None."""
    try:
        return int(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


class Service:
    """The installed init script, driving a daemon in tmp with its own
    configuration (daemon = yes, one worker, the installed site)."""

    def __init__(self, destdir, tmp):
        self.destdir = destdir
        self.tmp = tmp
        self.script = under(destdir, "/etc/init.d/pfhttpd")
        self.conf = tmp / "pfhttpd.ini"
        self.pid_file = tmp / "run" / "pfhttpd.pid"
        self.log_dir = tmp / "log"
        self.error_log = self.log_dir / "error.log"
        self.access_log = self.log_dir / "access.log"
        self.site = under(destdir, HTDOCS)
        self.port = None
        self.masters = set()  # every master seen, for teardown
        self.pid_file.parent.mkdir()
        self.log_dir.mkdir()
        defaults = tmp / "defaults"
        defaults.write_text(
            f"DAEMON={under(destdir, PREFIX + '/sbin/pfhttpd')}\n"
            f"CONF={self.conf}\n")
        self.env = dict(os.environ, PFHTTPD_DEFAULTS=str(defaults),
                        SYSTEMCTL_SKIP_REDIRECT="1")

    def write_config(self, root=None, extra=""):
        # pid_file relative: the script resolves it as pfhttpd does.
        self.conf.write_text(
            "[server]\n"
            f"listen = 127.0.0.1:{self.port}\n"
            "workers = 1\n"
            "daemon = yes\n"
            "pid_file = run/pfhttpd.pid ; relative to this file\n"
            "shutdown_timeout = 5s\n"
            "[http]\n"
            f"root = {root or self.site}\n"
            "[log]\n"
            f"error_log = {self.error_log}\n"
            f"access_log = {self.access_log}\n"
            "[stats]\n"
            f"shm_path = {self.tmp / 'pfhttpd.shm'}\n" + extra)

    def run(self, *args):
        """Run the init script; return the CompletedProcess."""
        done = subprocess.run([self.script, *args], env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=SCRIPT_TIMEOUT)
        pid = read_pid(self.pid_file)
        if pid is not None:
            self.masters.add(pid)
        return done

    def start(self):
        """start on a free port (another, if one is taken meanwhile)."""
        for _attempt in range(5):
            self.port = free_port()
            self.write_config()
            done = self.run("start")
            if done.returncode == 0:
                return done
            assert "Address already in use" in done.stderr, \
                done.stdout + done.stderr
        raise AssertionError("no free port after 5 attempts")

    def master(self):
        pid = read_pid(self.pid_file)
        assert pid is not None, "no pid file"
        return pid

    def error_log_text(self):
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def cleanup(self):
        """Kill every master seen and its children; wait until gone."""
        for master in self.masters:
            if proc_title(master) != "pfhttpd: master":
                continue
            kids = child_pids(master)
            for pid in [master] + kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            poll(lambda: not any(pid_alive(p) for p in [master] + kids),
                 STOP_TIMEOUT, what="the daemon to die")


@pytest.fixture
def service(destdir, tmp_path):
    svc = Service(destdir, tmp_path)
    yield svc
    svc.cleanup()


def test_init_script_start_serves_the_installed_site(service):
    done = service.start()
    assert "Starting" in done.stdout
    master = service.master()
    assert proc_title(master) == "pfhttpd: master"
    resp = get(service.port, "/")
    index = (REPO / "htdocs" / "index.html").read_bytes()
    assert (resp.status, resp.body) == (200, index)


def test_init_script_start_failure_prints_the_error_and_exits_1(service):
    service.port = free_port()
    service.write_config(root=service.tmp / "no-such-dir")
    start = service.run("start")
    assert start.returncode == 1, start.stdout + start.stderr
    assert re.search(rf"^{re.escape(str(service.conf))}:\d+: .*no-such-dir",
                     start.stderr, re.M), start.stderr
    assert not service.pid_file.exists()


def test_init_script_status_exits_0_and_names_the_pid(service):
    service.start()
    status = service.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"(pid {service.master()})" in status.stdout


def test_init_script_status_exits_3_when_never_started(service):
    service.port = free_port()
    service.write_config()
    status = service.run("status")
    assert status.returncode == 3, status.stdout + status.stderr
    assert "not running" in status.stdout


def test_init_script_start_when_running_reports_it_and_exits_0(service):
    service.start()
    master = service.master()
    again = service.run("start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
    assert service.master() == master and pid_alive(master)


def test_init_script_stop_waits_for_the_master_and_its_children(service):
    service.start()
    master = service.master()
    children = child_pids(master)
    assert len(children) == 3  # the logger, the chat hub and one worker
    stop = service.run("stop")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    # No polling: stop returns once the master is gone; the master reaps
    # its children before it exits.
    assert not pid_alive(master)
    assert not any(pid_alive(p) for p in children)
    assert not service.pid_file.exists()
    status = service.run("status")
    assert status.returncode == 3, status.stdout + status.stderr


def test_init_script_stop_when_not_running_exits_0(service):
    service.port = free_port()
    service.write_config()
    stop = service.run("stop")
    assert stop.returncode == 0, stop.stdout + stop.stderr


def test_init_script_status_exits_1_for_a_dead_master_and_start_recovers(
        service):
    service.start()
    master = service.master()
    children = child_pids(master)
    os.kill(master, signal.SIGKILL)
    # Gone from /proc, not only a zombie: status must not see it at all.
    poll(lambda: not os.path.exists(f"/proc/{master}"), STOP_TIMEOUT,
         what="the killed master to be reaped")
    poll(lambda: not any(pid_alive(p) for p in children), STOP_TIMEOUT,
         what="the children to follow the master")
    assert service.pid_file.exists()
    status = service.run("status")
    assert status.returncode == 1, status.stdout + status.stderr
    start = service.run("start")
    assert start.returncode == 0, start.stdout + start.stderr
    assert service.master() != master
    assert get(service.port, "/").status == 200


def test_init_script_reload_serves_the_new_root(service, tmp_path):
    service.start()
    master = service.master()
    site2 = tmp_path / "site2"
    site2.mkdir()
    (site2 / "hello.txt").write_bytes(b"the second site\n")
    assert get(service.port, "/hello.txt").body != b"the second site\n"
    service.write_config(root=site2)
    reload = service.run("reload")
    assert reload.returncode == 0, reload.stdout + reload.stderr
    poll(lambda: (r := try_get(service.port, "/hello.txt")) is not None
         and r.body == b"the second site\n", START_TIMEOUT,
         what="the new root to be served")
    assert service.master() == master


def test_init_script_reload_refuses_a_bad_config_and_keeps_serving(
        service):
    service.start()
    master = service.master()
    before = get(service.port, "/hello.txt")
    service.write_config(extra="no_such_key = 1\n")
    bad_line = len(service.conf.read_text().splitlines())
    reload = service.run("reload")
    assert reload.returncode != 0, reload.stdout + reload.stderr
    assert f"{service.conf}:{bad_line}: " in reload.stderr, reload.stderr
    assert "not reloading" in reload.stderr
    # Nothing was signalled: the master never heard of a reload.
    assert "reload" not in service.error_log_text().lower()
    assert service.master() == master and pid_alive(master)
    after = get(service.port, "/hello.txt")
    assert (after.status, after.body) == (before.status, before.body)


def test_init_script_reload_when_not_running_exits_7(service):
    service.port = free_port()
    service.write_config()
    reload = service.run("reload")
    assert reload.returncode == 7, reload.stdout + reload.stderr


def test_init_script_force_reload_when_not_running_exits_0(service):
    service.port = free_port()
    service.write_config()
    force = service.run("force-reload")
    assert force.returncode == 0, force.stdout + force.stderr
    assert "not running" in force.stdout
    assert not service.pid_file.exists()


def test_init_script_configtest_reports_good_and_bad_configs(service):
    service.port = free_port()
    service.write_config()
    good = service.run("configtest")
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"{service.conf}: configuration ok" in good.stdout
    service.write_config(root=service.tmp / "no-such-dir")
    bad = service.run("configtest")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert re.search(rf"^{re.escape(str(service.conf))}:\d+: .*no-such-dir",
                     bad.stderr, re.M), bad.stderr


def test_init_script_restart_replaces_the_master(service):
    service.start()
    master = service.master()
    restart = service.run("restart")
    assert restart.returncode == 0, restart.stdout + restart.stderr
    assert not pid_alive(master)
    assert service.master() != master
    assert get(service.port, "/").status == 200


def test_init_script_restart_refuses_a_bad_config(service):
    service.start()
    master = service.master()
    service.write_config(extra="no_such_key = 1\n")
    restart = service.run("restart")
    assert restart.returncode != 0, restart.stdout + restart.stderr
    assert "not restarting" in restart.stderr
    assert service.master() == master and pid_alive(master)


def test_init_script_refuses_a_config_without_daemon_yes(service):
    service.port = free_port()
    service.write_config()
    service.conf.write_text(
        service.conf.read_text().replace("daemon = yes", "daemon = no"))
    start = service.run("start")
    assert start.returncode == 6, start.stdout + start.stderr
    assert "daemon = yes" in start.stderr
    assert not service.pid_file.exists()


# -- logrotate --------------------------------------------------------------


@pytest.mark.skipif(shutil.which("logrotate") is None,
                    reason="logrotate is not installed")
def test_logrotate_makes_the_server_reopen_its_logs(service, tmp_path):
    service.start()
    assert get(service.port, "/hello.txt").status == 200
    poll(lambda: service.access_log.exists()
         and b"/hello.txt" in service.access_log.read_bytes(), 5,
         what="the first request in the access log")
    # The installed file, pointed at this server's logs and pid file.
    rotate = under(service.destdir, "/etc/logrotate.d/pfhttpd").read_text()
    rotate = rotate.replace("/var/log/pfhttpd/", f"{service.log_dir}/")
    rotate = rotate.replace("/run/pfhttpd.pid", str(service.pid_file))
    if os.geteuid() != 0:  # only root may create files for www-data
        rotate = rotate.replace("create 0640 www-data www-data",
                                "create 0640")
    conf = tmp_path / "logrotate.conf"
    conf.write_text(rotate)
    done = subprocess.run(
        ["logrotate", "-f", "-s", str(tmp_path / "logrotate.state"),
         str(conf)], stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    rotated = service.log_dir / "access.log.1"  # delaycompress
    assert b"/hello.txt" in rotated.read_bytes()
    poll(lambda: "error log reopened" in service.error_log_text(), 5,
         what="the master to reopen the new error log")
    # the logger reopens on its own signal: a request logged before it
    # did would go to access.log.1
    poll(lambda: "log files reopened" in service.error_log_text(), 5,
         what="the logger to reopen the new access log")
    assert get(service.port, "/digits-after-rotation").status == 404
    poll(lambda: service.access_log.exists()
         and b"/digits-after-rotation" in service.access_log.read_bytes(),
         5, what="the next request in the new access log")
    assert b"/digits-after-rotation" not in rotated.read_bytes()


# -- tools/install-deps -----------------------------------------------------
#
# The script runs on a PATH whose dpkg-query finds every package installed,
# or none, and whose id says a user other than root: nothing is installed,
# and the command it would have run is what it prints.

INSTALL_DEPS = REPO / "tools" / "install-deps"
PURPOSES = ["run", "test", "bench", "bench-log", "bench-wsmem", "asan",
            "valgrind", "lint", "fuzz", "format", "syscount", "testssl"]
MAKE_FILES = ["Makefile", "tools/check.mk", "tests/fuzz/fuzz.mk"]


def install_deps(tmp_path, *args, installed):
    """Run tools/install-deps as a user with every package installed or
    none; return the CompletedProcess."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fakes = {"id": "echo 1000",
             "dpkg-query": ("printf 'install ok installed'" if installed
                            else "exit 1")}
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    return subprocess.run([INSTALL_DEPS, *args], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=30)


def asked_for(tmp_path, *args):
    """The packages install-deps tells a user to install when none is."""
    done = install_deps(tmp_path, *args, installed=False)
    assert done.returncode == 1, done.stderr
    m = re.search(r"^run: sudo apt-get update && sudo apt-get install -y "
                  r"(.*)$", done.stderr, re.M)
    assert m, done.stderr
    return m.group(1).split()


def test_install_deps_for_run_asks_only_for_what_builds_and_runs(tmp_path):
    packages = asked_for(tmp_path, "run")
    assert {"build-essential", "pkg-config", "libevent-dev", "libinih-dev",
            "libssl-dev", "zlib1g-dev"} <= set(packages)
    assert set(packages) & {"chromium", "systemd", "shellcheck",
                            "libcmocka-dev", "python3-pytest",
                            "clang-format"} == set()


def test_install_deps_for_test_asks_for_every_program_the_tests_call(
        tmp_path):
    packages = set(asked_for(tmp_path, "test"))
    assert set(asked_for(tmp_path, "run")) <= packages
    assert {"libcmocka-dev", "python3-pytest", "python3-websockets", "curl",
            "chromium", "logrotate", "systemd", "shellcheck", "mandoc",
            "groff-base", "util-linux", "openssl"} <= packages


def test_install_deps_for_bench_asks_for_every_peer_and_load_tool(
        tmp_path):
    packages = set(asked_for(tmp_path, "bench"))
    assert set(asked_for(tmp_path, "run")) <= packages
    assert {"wrk", "nginx", "libnginx-mod-nchan", "lighttpd", "curl",
            "util-linux", "openssl"} <= packages


def test_install_deps_asks_for_the_packages_named_after_the_purpose(
        tmp_path):
    packages = asked_for(tmp_path, "lint", "wrk", "jq")
    assert {"cppcheck", "clang-tidy", "wrk", "jq"} <= set(packages)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_install_deps_says_nothing_when_every_package_is_installed(
        tmp_path, purpose):
    done = install_deps(tmp_path, purpose, installed=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.parametrize("args", [[], ["chromium"], ["tests"]])
def test_install_deps_refuses_a_missing_or_unknown_purpose(tmp_path, args):
    done = install_deps(tmp_path, *args, installed=True)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: tools/install-deps PURPOSE")


def test_make_targets_call_install_deps_with_every_purpose_and_no_other():
    called = set()
    for name in MAKE_FILES:
        called.update(re.findall(r"^\t@?tools/install-deps (\S+)",
                                 (REPO / name).read_text(), re.M))
    assert called == set(PURPOSES)


def test_install_deps_passes_sh_n_and_shellcheck():
    check = subprocess.run(["sh", "-n", INSTALL_DEPS], capture_output=True,
                           text=True, timeout=10)
    assert check.returncode == 0, check.stderr
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    lint = subprocess.run(["shellcheck", INSTALL_DEPS], capture_output=True,
                          text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


def test_install_deps_for_testssl_asks_for_testssl_and_openssl(tmp_path):
    packages = set(asked_for(tmp_path, "testssl"))
    assert set(asked_for(tmp_path, "run")) <= packages
    assert {"testssl.sh", "openssl", "python3"} <= packages
