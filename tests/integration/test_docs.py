"""Documentation cannot drift from the code: every configuration key in
src/config.c's table is documented in pfhttpd.ini(5), the README and the
development config."""

import re

from conftest import REPO

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
        m = re.match(r"^\.Ss \[(\w+)\]", line)
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


def test_every_config_key_is_in_the_development_config():
    text = (REPO / "etc" / "pfhttpd.ini").read_text()
    sections, section = {}, None
    for line in text.splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            section = m.group(1)
        m = re.match(r"^;?\s*(\w+)\s*=", line)
        if m and section:
            sections.setdefault(section, set()).add(m.group(1))
    missing = [f"[{s}] {k}" for s, k in config_keys()
               if k not in sections.get(s, set())]
    assert missing == []
