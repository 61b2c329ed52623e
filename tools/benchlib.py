# What tools/bench and tools/bench-compare share: the results file (its
# format, loading it, the medians of its runs), the pfhttpd / best-peer
# ratio, number formatting and the table, aligned plain text or Markdown.
#
# A results file (build/bench/results-YYYYmmdd-HHMMSS.json) is one JSON
# object: "format" (FORMAT), "date", "complete", "seconds", "runs",
# "warmup", "pinning", "machine", "versions", "settings", "cases" (the
# selected cases in order, each with its name, title and kind), "servers"
# (the order to show them in) and "results": one entry per case, worker
# count and server, with every run's figures ("runs": rate, count,
# p50_us, p99_us, cpu_s, cpu_per_100k, errors; for WebSocket and chat
# wire_up and wire_down, the WebSocket bytes per message; ...), their
# "summary" (median, min and max of each figure) and "error" when the
# case could not run on that server.

import json

FORMAT = "pfhttpd-bench/1"
# The servers whose best median the ratio divides by.
PEERS = ("nginx", "lighttpd", "nchan", "node")
# The figures summarized, in the order the table shows them.
FIGURES = ("rate", "p50_us", "p99_us", "cpu_per_100k")
# Figures summarized too, which the table shows in a column of their own:
# WebSocket bytes per message, sent and received.
WIRE = ("wire_up", "wire_down")


class ResultsError(Exception):
    """A results file that cannot be read or is not one."""


# Return the median of a non-empty list of numbers.
def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


# Summarize a figure over runs: its median, min and max (None if no run
# has it).
def spread(runs, figure):
    values = [r[figure] for r in runs if r.get(figure) is not None]
    if not values:
        return None
    return {"median": median(values), "min": min(values), "max": max(values)}


# Summarize every figure of an entry's runs.
def summarize(runs):
    return {f: spread(runs, f) for f in FIGURES + WIRE}


# Return the median rate of an entry, or None.
def rate(entry):
    s = (entry or {}).get("summary", {}).get("rate")
    return s["median"] if s else None


# Group a document's results by (case, workers), in the order of its cases
# and then workers; each group maps server name to entry.
def groups(doc):
    order = {c["name"]: i for i, c in enumerate(doc["cases"])}
    out = {}
    for e in doc["results"]:
        out.setdefault((e["case"], e["workers"]), {})[e["server"]] = e
    return dict(sorted(out.items(),
                       key=lambda kv: (order.get(kv[0][0], 1e9), kv[0][1])))


# Return the best peer of a group as (name, median rate), or (None, None).
def best_peer(group):
    best = (None, None)
    for name in PEERS:
        r = rate(group.get(name))
        if r is not None and (best[1] is None or r > best[1]):
            best = (name, r)
    return best


# Return a / b, or None when either is missing or b is zero.
def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


# Format a number with three significant digits, or as an integer from
# 100 up; never in exponent notation ("-" for None).
def num(x):
    if x is None:
        return "-"
    if abs(x) >= 99.95:
        return f"{x:.0f}"
    return f"{x:#.3g}"


# Format a summary as "MEDIAN (MIN-MAX)", or just the median when the
# runs agree or there was one.
def with_spread(s, fmt=num):
    if s is None:
        return "-"
    m, lo, hi = fmt(s["median"]), fmt(s["min"]), fmt(s["max"])
    return m if lo == hi else f"{m} ({lo}-{hi})"


# Format a ratio to two decimals ("-" for None).
def ratio_text(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


# Render rows under a header as an aligned plain-text table, or as a
# Markdown table; right-align the columns whose index is in right.
def render(header, rows, right=(), markdown=False):
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---:" if i in right else "---"
                                for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(r[i]) for r in [header] + rows)
              for i in range(len(header))]
    lines = []
    for r in [header] + rows:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


# Load a results file; raise ResultsError if it is not one.
def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise ResultsError(f"{path}: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ResultsError(f"{path}: not a tools/bench results file "
                           f"(format {FORMAT})")
    return doc


# Describe the conditions of a run in one line.
def conditions(doc):
    m = doc.get("machine", {})
    p = doc.get("pinning", {})
    pin = (f"servers on CPU {p.get('servers')}, load on CPU {p.get('client')}"
           if p.get("on") else "not pinned")
    return (f"{doc.get('date', '?')}: {doc.get('seconds')} s x "
            f"{doc.get('runs')} runs, {pin}; {m.get('nproc')} CPUs, "
            f"Linux {m.get('kernel')}")
