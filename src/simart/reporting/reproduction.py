"""The reproduction report: every number the papers claim, our measurement beside it.

Inputs: the ``claims_vs_measured_<part>.csv`` tables the per-paper table rules write (one row
per claimed number paired with a measurement: paper, table, row, metric, claimed, measured, n,
scale, why) and the typed-in claims (:mod:`simart.reporting.claims`). Every claim appears
once: paired (with the difference) or listed as not measured in this run, with the reason
where a part gave one. Nothing here computes a metric: it only sets numbers side by side.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from simart.evaluation.aggregate import md_escape
from simart.io import atomic_path
from simart.reporting.claims import PAPERS, load_claims

COLUMNS = ("paper", "table", "row", "metric", "claimed", "measured", "n", "scale", "why")
KEY = ["paper", "table", "row", "metric"]


def read_parts(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate the parts' tables; checks their columns and paper names."""
    frames = []
    for p in paths:
        f = pd.read_csv(p, dtype={"paper": str, "table": str}, keep_default_na=False,
                        na_values=[""])
        missing = [c for c in COLUMNS if c not in f.columns]
        if missing:
            raise ValueError(f"{p}: columns {missing} missing; expected {list(COLUMNS)}")
        unknown = sorted(set(f["paper"]) - set(PAPERS))
        if unknown:
            raise ValueError(f"{p}: unknown papers {unknown}; expected one of {list(PAPERS)}")
        frames.append(f[list(COLUMNS)])
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    dup = out.duplicated(KEY, keep=False)
    if dup.any():
        raise ValueError("the same claim is paired twice: "
                         f"{out.loc[dup, KEY].drop_duplicates().to_dict('records')}")
    return out


def pair_with_claims(parts: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """Every claim, with our measurement where a part paired it (``measured`` NaN when not).

    A part's ``claimed`` value must equal the claims file's (the one typed-in source)."""
    claims = claims.rename(columns={"value": "claimed_file", "scale": "claim_scale"})
    merged = claims.merge(parts, on=KEY, how="left")
    bad = merged["claimed"].notna() & ~np.isclose(merged["claimed"].astype(float),
                                                  merged["claimed_file"], rtol=1e-9)
    if bad.any():
        raise ValueError("a part's claimed value differs from claims.csv: "
                         f"{merged.loc[bad, KEY].to_dict('records')}")
    merged["claimed"] = merged["claimed_file"]
    orphans = parts.merge(claims[KEY], on=KEY, how="left", indicator=True)
    orphans = orphans[orphans["_merge"] == "left_only"]
    if not orphans.empty:
        raise ValueError("paired rows with no claim in claims.csv: "
                         f"{orphans[KEY].to_dict('records')}")
    merged["difference"] = merged["measured"] - merged["claimed"]
    return merged


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "–"
    a = abs(v)
    return f"{v:.4f}" if a < 10 else f"{v:.2f}"


def to_markdown(table: pd.DataFrame, context: str) -> str:
    n_paired = int(table["measured"].notna().sum())
    lines = [
        "# Reproduction report: the papers' claims beside our measurements", "",
        context, "",
        (f"{len(table)} claimed numbers (typed in once: `src/simart/reporting/claims.csv`), "
         f"{n_paired} paired with a measurement of this run. Difference = ours − claimed. "
         "`scale` says what our run was; `why` gives the known reason for a difference "
         "(empty: not known). A claim without a measurement says why where known."), "",
    ]
    order = table["paper"].map({p: i for i, p in enumerate(PAPERS)})
    table = table.assign(_order=order).sort_values(["_order", "table"], kind="stable")
    for (paper, tab), grp in table.groupby(["paper", "table"], sort=False):
        lines += [f"## {PAPERS[paper]} paper, Table {tab}", "",
                  "| row | metric | claimed | ours | difference | n | our scale | why |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in grp.itertuples(index=False):
            measured = _fmt(r.measured) if np.isfinite(r.measured) else "not measured"
            claim_scale = f" ({r.claim_scale})" if r.claim_scale else ""
            n = "" if not np.isfinite(r.n) else str(int(r.n))
            lines.append(
                f"| {md_escape(str(r.row))} | {r.metric}{claim_scale} | {_fmt(r.claimed)} | "
                f"{measured} | {_fmt(r.difference)} | {n} | "
                f"{md_escape(str(r.scale or ''))} | {md_escape(str(r.why or ''))} |")
        lines.append("")
    return "\n".join(lines)


def write_report(part_paths: Sequence[str | os.PathLike], md_path: str | os.PathLike,
                 csv_path: str | os.PathLike, context: str = "") -> pd.DataFrame:
    """Pair every claim with the parts' measurements; write the Markdown report and a CSV."""
    table = pair_with_claims(read_parts(part_paths), load_claims())
    for col in ("n", "measured", "difference"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    table[["scale", "why"]] = table[["scale", "why"]].fillna("")
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(md_path) as tmp:
        tmp.write_text(to_markdown(table, context))
    return table


def write_report_with_hardware(part_paths: Sequence[str | os.PathLike],
                               summaries: Sequence[str | os.PathLike],
                               md_path: str | os.PathLike, csv_path: str | os.PathLike,
                               context: str = "") -> pd.DataFrame:
    """:func:`write_report` with the hardware of the trainings (the ``device`` of their
    ``summary.json``) after ``context`` (the table spec reproduction_report of
    simart.specs.figures); logs how many claims were paired."""
    devices: Counter[str] = Counter()
    for path in summaries:
        with open(path) as f:
            devices[json.load(f)["device"]] += 1
    hardware = ("Hardware of the trainings (from their summary.json): "
                + (", ".join(f"{d} ({n} models)" for d, n in devices.most_common()) or "none"))
    table = write_report(part_paths, md_path, csv_path, context=context + " " + hardware + ".")
    logging.getLogger("simart").info("%d claims, %d paired", len(table),
                                     int(table["measured"].notna().sum()))
    return table
