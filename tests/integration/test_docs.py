"""Documentation cannot drift from the code: every configuration key in
src/config.c's table is documented in pfhttpd.ini(5), the README and the
development config; the keys a reload cannot change, the command-line
options and the master's signals are documented as the code has them."""

import re
import subprocess

import pytest

from conftest import REPO, run_pfhttpd

KEY_ROW = re.compile(r'^\s*\{"(\w+)", "(\w+)", CONFIG_', re.M)


def config_keys():
    """The (section, key) pairs of the key table in src/config.c."""
    keys = KEY_ROW.findall((REPO / "src" / "config.c").read_text())
    assert len(keys) >= 20, "the key table was not found in src/config.c"
    return keys


def man_sections():
    """Map each [section] of pfhttpd.ini(5) to the keys it documents."""
    found, section = {}, None
    for line in (REPO / "man" / "pfhttpd.ini.5").read_text().splitlines():
        m = re.match(r"^\.Ss \[(\w+)[] ]", line)
        if m:
            section = m.group(1)
            found.setdefault(section, set())
        elif section and line.startswith(".It Cm "):
            # ".It Cm user No = Ar name , Cm group No = ..." names two.
            found[section].update(re.findall(r"Cm (\w+) No =", line))
    return found


def test_every_config_key_is_in_the_man_page_under_its_section():
    documented = man_sections()
    missing = [f"[{s}] {k}" for s, k in config_keys()
               if k not in documented.get(s, set())]
    assert missing == []


def test_the_man_page_documents_no_key_the_code_lacks():
    known = set(config_keys())
    extra = [f"[{s}] {k}" for s, keys in man_sections().items()
             for k in keys if (s, k) not in known]
    assert extra == []


def test_every_config_key_is_in_the_readme_table():
    documented = set()
    for line in (REPO / "README.md").read_text().splitlines():
        # A row: | `[section] key`, `other` | default | meaning |
        m = re.match(r"^\| `\[(\w+)\] ([^|]*)\|", line)
        if m:
            for key in re.findall(r"(\w+)`", m.group(2)):
                documented.add((m.group(1), key))
    missing = [f"[{s}] {k}" for s, k in config_keys()
               if (s, k) not in documented]
    assert missing == []


@pytest.mark.parametrize("name", ["pfhttpd.ini", "pfhttpd.production.ini"])
def test_every_config_key_is_in_the_shipped_configs(name):
    text = (REPO / "etc" / name).read_text()
    sections, section = {}, None
    for line in text.splitlines():
        m = re.match(r'^;?\[(\w+)(?: "[^"]*")?\]', line)
        if m:
            section = m.group(1)
        m = re.match(r"^;?\s*(\w+)\s*=", line)
        if m and section:
            sections.setdefault(section, set()).add(m.group(1))
    missing = [f"[{s}] {k}" for s, k in config_keys()
               if k not in sections.get(s, set())]
    assert missing == []


# The two notes of pfhttpd.ini(5): each key's item carries exactly one.
RELOAD_YES = "A reload may change it"
RELOAD_NO = "A reload cannot change it"


def c_comments_out(text):
    """C source without its comments, so that they cannot fake a match."""
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def config_table():
    """(section, key, reloadable) for each row of config_keys[] and
    config_host_keys[] in src/config.c, reloadable when the row's flags
    (its last field) hold CONFIG_RELOADABLE."""
    text = c_comments_out((REPO / "src" / "config.c").read_text())
    bodies = re.findall(r"config_(?:host_)?keys\[\]\s*=\s*\{(.*?)\n\};",
                        text, re.S)
    assert len(bodies) == 2, "a key table not found in src/config.c"
    body = "".join(bodies)
    rows = re.findall(r'\{\s*"(\w+)",\s*"(\w+)",\s*CONFIG_\w+,([^{}]*)\}',
                      body)
    assert len(rows) == body.count("{") >= 20, "a row was not parsed"
    return [(section, key,
             re.search(r"\bCONFIG_RELOADABLE\b", rest.rsplit(",", 1)[-1])
             is not None)
            for section, key, rest in rows]


def not_reloadable_in_code():
    """The keys without CONFIG_RELOADABLE, as "[section] key"."""
    keys = {f"[{s}] {k}" for s, k, reloadable in config_table()
            if not reloadable}
    assert keys, "every key is reloadable: the flag was not parsed"
    return keys


def man_lines(name):
    """The source lines of man/NAME."""
    return (REPO / "man" / name).read_text().splitlines()


def man_section(name, title):
    """The source lines of section .Sh TITLE of man/NAME."""
    found, inside = [], False
    for line in man_lines(name):
        if line.startswith(".Sh "):
            inside = line[4:].strip().strip('"') == title
        elif inside:
            found.append(line)
    assert found, f"man/{name} has no section {title}"
    return found


def man_key_items():
    """Map "[section] key" to the text of its item in pfhttpd.ini(5): the
    lines after its ".It Cm key No =" line, up to the next .It or .El."""
    items, section, current = {}, None, []
    for line in man_lines("pfhttpd.ini.5"):
        m = re.match(r"^\.Ss \[(\w+)[] ]", line)
        if line.startswith(".Sh ") or m:
            section, current = (m.group(1) if m else None), []
        elif section and line.startswith((".It", ".El")):
            current = []
            for key in re.findall(r"Cm (\w+) No =", line):
                items[f"[{section}] {key}"] = current
        else:
            current.append(line)
    return {k: " ".join(" ".join(v).split()) for k, v in items.items()}


def test_every_key_item_says_whether_a_reload_may_change_it():
    items = man_key_items()
    assert len(items) == len(config_table())
    unclear = [key for key, text in items.items()
               if (RELOAD_YES in text) == (RELOAD_NO in text)]
    assert unclear == []


def test_keys_a_reload_cannot_change_are_marked_as_in_the_key_table():
    marked = {key for key, text in man_key_items().items()
              if RELOAD_NO in text}
    assert marked == not_reloadable_in_code()


def test_reloading_section_of_the_ini_page_lists_the_same_keys():
    listed = set()
    for line in man_section("pfhttpd.ini.5", "RELOADING"):
        m = re.match(r"^\.It Cm (\[\w+\] \w+)$", line)
        if m:
            listed.add(m.group(1))
    assert listed == not_reloadable_in_code()


def test_pfhttpd_8_names_the_keys_a_reload_cannot_change():
    # ".Cm user , .Cm group ... in .Cm [server] ," up to the example.
    named, pending, inside = set(), [], False
    for line in man_section("pfhttpd.8", "RELOADING"):
        if line.startswith(".Ss "):
            inside = line == ".Ss What a reload cannot change"
        elif inside and line.startswith((".Bd", ".Pp")):
            inside = False
        elif inside and (m := re.match(r"^\.Cm \[(\w+)\]", line)):
            named.update(f"[{m.group(1)}] {key}" for key in pending)
            pending = []
        elif inside and (m := re.match(r"^\.Cm (\w+)", line)):
            pending.append(m.group(1))
    assert (named, pending) == (not_reloadable_in_code(), [])


def test_readme_names_the_keys_a_reload_cannot_change():
    # "A reload cannot change `[server] user`, `group`, ..., `[stats] x`:"
    readme = (REPO / "README.md").read_text()
    m = re.search(r"^## Reloading\n.*?A reload cannot change (.*?):",
                  readme, re.S | re.M)
    assert m, "README.md's Reloading section does not say what a reload " \
        "cannot change"
    named, section = set(), None
    for sect, key in re.findall(r"`(?:\[(\w+)\] )?(\w+)`", m.group(1)):
        section = sect or section
        named.add(f"[{section}] {key}")
    assert named == not_reloadable_in_code()


def getopt_options():
    """Map each option letter of main.c's getopt string to whether it
    takes an argument."""
    text = c_comments_out((REPO / "src" / "main.c").read_text())
    m = re.search(r'getopt\(\s*argc,\s*argv,\s*"([^"]+)"\s*\)', text)
    assert m, "no getopt() call in src/main.c"
    spec = m.group(1).lstrip("+-:")
    return {ch: spec[i + 1:i + 2] == ":"
            for i, ch in enumerate(spec) if ch != ":"}


def synopsis_options():
    """Map each option letter in pfhttpd.8's SYNOPSIS to whether an .Ar
    follows it ("Fl dftVh" names five, "Fl c Ar file" one with an
    argument)."""
    found = {}
    for line in man_section("pfhttpd.8", "SYNOPSIS"):
        for letters, arg in re.findall(r"\bFl (\w+)( Ar)?", line):
            for ch in letters:
                found[ch] = bool(arg)
    return found


def test_every_getopt_option_is_in_the_synopsis_and_no_other():
    assert synopsis_options() == getopt_options()


def test_every_getopt_option_is_described_in_the_options_section():
    described = set()
    for line in man_section("pfhttpd.8", "OPTIONS"):
        m = re.match(r"^\.It Fl (\w)\b", line)
        if m:
            described.add(m.group(1))
    assert described == set(getopt_options())


def test_every_getopt_option_is_in_the_usage_of_pfhttpd_h():
    proc = run_pfhttpd("-h")
    assert proc.returncode == 0, proc.stderr
    usage, *described = proc.stdout.splitlines()
    in_usage = {ch for word in re.findall(r"\[-(\w+)", usage)
                for ch in word}
    in_lines = {m.group(1) for line in described
                if (m := re.match(r"^\s+-(\w)\b", line))}
    letters = set(getopt_options())
    assert (in_usage, in_lines) == (letters, letters), proc.stdout


def master_signals():
    """The signal names of master_signals[] in src/master.c."""
    text = c_comments_out((REPO / "src" / "master.c").read_text())
    m = re.search(r"master_signals\[\]\s*=\s*\{([^}]*)\}", text)
    assert m, "master_signals[] not found in src/master.c"
    sigs = set(re.findall(r"\bSIG[A-Z0-9]+\b", m.group(1)))
    assert len(sigs) >= 4
    return sigs


def test_every_signal_of_the_master_has_an_item_in_signals_of_pfhttpd_8():
    documented = set()
    for line in man_section("pfhttpd.8", "SIGNALS"):
        if line.startswith(".It "):
            documented.update(re.findall(r"\bSIG[A-Z0-9]+\b", line))
    assert documented == master_signals()


def test_every_signal_of_the_master_has_a_row_in_the_readme():
    readme = (REPO / "README.md").read_text()
    m = re.search(r"^## Signals\n(.*?)^## ", readme, re.S | re.M)
    assert m, "README.md has no Signals section"
    rows = {sig for line in m.group(1).splitlines() if line.startswith("| `")
            for sig in re.findall(r"`(SIG[A-Z0-9]+)`", line.split("|")[1])}
    assert rows == master_signals()


def tracked_files():
    """The files git tracks in the repository, as paths."""
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"],
                         capture_output=True, check=True).stdout
    return [REPO / p for p in out.decode().split("\0") if p]


def test_no_tracked_file_refers_to_a_path_outside_the_repository():
    # A clone must be complete: nothing may point at the design notes
    # kept beside the repository (the pattern is split so as not to match
    # itself).
    outside = re.compile(rb"\.\./" + rb"shared\b|/work/" + rb"shared\b")
    bad = [str(p.relative_to(REPO)) for p in tracked_files()
           if p.is_file() and outside.search(p.read_bytes())]
    assert bad == []


def source_functions():
    """Map each file of src/ and tools/ to the functions it defines (in a
    header: its static inline ones)."""
    found = {}
    for path in [*(REPO / "src").glob("*.[ch]"),
                 *(REPO / "tools").glob("*.c")]:
        found[path.name] = set(
            re.findall(r"^(\w+)\(", path.read_text(), re.M))
    return found


def test_design_doc_names_only_files_and_functions_that_exist():
    text = (REPO / "docs" / "DESIGN.md").read_text()
    functions = source_functions()
    every = set().union(*functions.values())
    missing = []
    # "conn.c:conn_flush()": the function, in that file.
    for name, func in re.findall(r"(\w+\.c):(\w+)\(\)", text):
        if func not in functions.get(name, set()):
            missing.append(f"{name}:{func}()")
    # "`logger_recover()`": a function of some file, when its prefix names
    # a file (a function's prefix is its file's name); "`send()`" and the
    # other system calls have none.
    stems = {name.split(".")[0] for name in functions}
    for func in re.findall(r"`(\w+)\(\)`", text):
        if func.split("_")[0] in stems and func not in every:
            missing.append(f"{func}()")
    # "`beneath.c`": a file of src/ or tools/.
    for name in re.findall(r"`(\w+\.[ch])`", text):
        if not ((REPO / "src" / name).exists()
                or (REPO / "tools" / name).exists()):
            missing.append(name)
    assert missing == []
