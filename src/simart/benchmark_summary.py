"""Per-rule summary of Snakemake ``benchmark:`` records (time and memory of every job).

Every rule writes one TSV per job under ``results/benchmarks/`` (columns ``s``, ``max_rss``,
``cpu_time``, ... as Snakemake measures them). :func:`summarize` groups them by rule, so
the resource requests in ``rules/resources.smk`` and ``profiles/slurm/config.yaml`` can
be checked against what the jobs really used (``max_rss`` in MB vs ``mem_mb``, wall
seconds vs ``runtime`` in minutes).

A file is assigned to the rule whose ``benchmark:`` pattern it matches (wildcards match
anything; when several patterns match, the one with the most literal characters wins).

A job of a local run that ran in a warm process (:mod:`simart.warmstart`) has a record of
the client that waited for it: its wall time is the job's, its memory and CPU time are
not. The client wrote the job process's own peak memory and CPU time beside the job's log
(``{log}.usage.json``, with the rule and wildcards); :func:`apply_usage` puts them in the
record they belong to (the same rule and wildcards, written seconds before the record,
the same wall time) and marks it ``warm``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from simart.io import atomic_path

# Snakemake's benchmark columns used here: wall seconds, peak resident memory (MB),
# CPU seconds (user + system) and mean CPU load (% of one core).
NUMERIC = ("s", "max_rss", "cpu_time", "mean_load")
COLUMNS = ["rule", "jobs", "wall_s_total", "wall_s_mean", "wall_s_max", "rss_mb_mean",
           "rss_mb_max", "cpu_s_total", "load_pct_mean"]

def _split_pattern(pattern: str) -> list[tuple[str, str | None]]:
    """Literal text and wildcards of a Snakemake pattern: [(literal, None) | (name, regex)].

    A wildcard is ``{name}`` or ``{name,regex}``; the regex may hold braces (``\\d{4}``).
    """
    parts: list[tuple[str, str | None]] = []
    i = start = 0
    while i < len(pattern):
        if pattern[i] != "{":
            i += 1
            continue
        depth, j = 0, i
        while j < len(pattern):
            depth += {"{": 1, "}": -1}.get(pattern[j], 0)
            if depth == 0:
                break
            j += 1
        if depth:  # unbalanced: the rest is literal
            break
        parts.append((pattern[start:i], None))
        name, _, constraint = pattern[i + 1:j].partition(",")
        parts.append((name.strip(), constraint.strip() or ".+"))
        i = start = j + 1
    parts.append((pattern[start:], None))
    return parts


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Regex for a Snakemake file pattern; each wildcard matches its constraint (or .+),
    as a named group (a wildcard named twice must match the same text twice)."""
    seen: set[str] = set()
    parts = []
    for text, constraint in _split_pattern(os.path.normpath(pattern)):
        if constraint is None:
            parts.append(re.escape(text))
        elif text in seen or not text.isidentifier():
            parts.append(f"(?P={text})" if text in seen else f"(?:{constraint})")
        else:
            seen.add(text)
            parts.append(f"(?P<{text}>{constraint})")
    return re.compile("^" + "".join(parts) + "$")


def _literal_len(pattern: str) -> int:
    return sum(len(text) for text, constraint in _split_pattern(pattern) if constraint is None)


def assign_rules(files: Iterable[str | os.PathLike], patterns: Mapping[str, str]
                 ) -> dict[str, str]:
    """Map each benchmark file to the rule whose pattern matches it (unmatched: left out)."""
    compiled = sorted(((_literal_len(p), rule, pattern_regex(p)) for rule, p in patterns.items()),
                      key=lambda t: -t[0])
    out: dict[str, str] = {}
    for f in files:
        path = os.path.normpath(str(f))
        for _, rule, rx in compiled:
            if rx.match(path):
                out[str(f)] = rule
                break
    return out


def read_records(files_by_rule: Mapping[str, str],
                 patterns: Mapping[str, str] | None = None,
                 usage: Iterable[Mapping] = ()) -> pd.DataFrame:
    """One row per benchmark record (a file may hold several with ``repeat``)."""
    frames = []
    for f, rule in files_by_rule.items():
        try:
            df = pd.read_csv(f, sep="\t")
        except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError):
            continue
        if df.empty:
            continue
        df = df.reindex(columns=list(NUMERIC)).apply(pd.to_numeric, errors="coerce")
        df.insert(0, "rule", rule)
        df.insert(1, "file", str(f))
        df["warm"] = False
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["rule", "file", *NUMERIC, "warm"])
    records = pd.concat(frames, ignore_index=True)
    return apply_usage(records, patterns or {}, usage)


#: a usage file is written by the client just before it exits, Snakemake's record just after
USAGE_MAX_AGE_S = 120.0


def find_usage_files(logs_root: str | os.PathLike) -> list[dict]:
    """The ``{log}.usage.json`` files of warm jobs (:mod:`simart.warmstart`) under a folder,
    each with its modification time."""
    out = []
    for p in sorted(Path(logs_root).rglob("*.usage.json")):
        try:
            record = json.loads(p.read_text())
            record["mtime"] = p.stat().st_mtime
        except (OSError, ValueError):
            continue
        out.append(record)
    return out


def apply_usage(records: pd.DataFrame, patterns: Mapping[str, str],
                usage: Iterable[Mapping]) -> pd.DataFrame:
    """Peak memory and CPU time of warm jobs from their usage files, in their records: same
    rule and wildcards (from the record's path), written up to USAGE_MAX_AGE_S before the
    record, a wall time within 10 % (or 2 s). Records without one keep Snakemake's."""
    by_key: dict[tuple, list[Mapping]] = {}
    for u in usage:
        key = (u.get("rule"), tuple(sorted((u.get("wildcards") or {}).items())))
        by_key.setdefault(key, []).append(u)
    if not by_key or records.empty:
        return records
    records = records.copy()
    regexes = {rule: pattern_regex(p) for rule, p in patterns.items()}
    for i, row in records.iterrows():
        rx = regexes.get(row["rule"])
        m = rx.match(os.path.normpath(row["file"])) if rx else None
        if m is None:
            continue
        key = (row["rule"], tuple(sorted(m.groupdict().items())))
        try:
            written = os.stat(row["file"]).st_mtime
        except OSError:
            continue
        for u in by_key.get(key, []):
            wall = float(u.get("s", -1))
            if 0 <= written - u["mtime"] <= USAGE_MAX_AGE_S and \
                    abs(wall - float(row["s"])) <= max(2.0, 0.1 * wall):
                records.loc[i, ["max_rss", "cpu_time", "warm"]] = [
                    float(u["max_rss"]), float(u["cpu_time"]), True]
                break
    return records


def summarize(records: pd.DataFrame) -> pd.DataFrame:
    """Per rule: job count, wall time (total/mean/max s), peak RSS (mean/max MB), CPU s."""
    if records.empty:
        return pd.DataFrame(columns=COLUMNS)
    g = records.groupby("rule", sort=True)
    out = pd.DataFrame({
        "jobs": g["file"].nunique(),
        "wall_s_total": g["s"].sum(),
        "wall_s_mean": g["s"].mean(),
        "wall_s_max": g["s"].max(),
        "rss_mb_mean": g["max_rss"].mean(),
        "rss_mb_max": g["max_rss"].max(),
        "cpu_s_total": g["cpu_time"].sum(),
        "load_pct_mean": g["mean_load"].mean(),
    }).reset_index()
    out = out.sort_values("wall_s_total", ascending=False, kind="stable")
    return out[COLUMNS].round(2).reset_index(drop=True)


def find_benchmark_files(root: str | os.PathLike) -> list[str]:
    return sorted(str(p) for p in Path(root).rglob("*.tsv"))


def write_summary(files: Iterable[str | os.PathLike], patterns: Mapping[str, str],
                  csv_path: str | os.PathLike, md_path: str | os.PathLike,
                  usage: Iterable[Mapping] = ()) -> pd.DataFrame:
    """Summarise ``files`` by rule into a CSV and a Markdown table; return the table."""
    records = read_records(assign_rules(files, patterns), patterns, usage)
    table = summarize(records)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    total = table[["jobs", "wall_s_total", "cpu_s_total"]].sum() if len(table) else None
    legend = ("From Snakemake's `benchmark:` records (one per job). wall = elapsed seconds, "
              "rss = peak resident memory (MB), cpu = CPU seconds, load = mean CPU % of "
              "one core.")
    warm = int(records["warm"].sum()) if "warm" in records else 0
    if warm:
        legend += (f" {warm} jobs ran in a warm process (simart.warmstart): their rss and "
                   "cpu are the job process's own (its libraries were loaded before it "
                   "started, and count in its rss), load is the waiting client's.")
    lines = ["# Benchmark summary: time and memory per rule", "", legend, ""]
    lines.append(table.to_markdown(index=False) if len(table) else "(no benchmark records)")
    if total is not None:
        lines += ["", (f"{int(total['jobs'])} jobs, {total['wall_s_total']:.1f} s wall, "
                       f"{total['cpu_s_total']:.1f} s CPU in all.")]
    with atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return table
