"""The papers' claimed numbers, typed in once (``claims.csv`` next to this module).

One row per claimed number: ``paper`` (its short name, a key of :data:`PAPERS`), ``table``
(the paper's own table name), ``row`` (the paper's row label), ``metric`` (our metric name,
:data:`simart.metrics.METRICS`), ``value``, ``scale`` (what the value is measured in where it
is not ours, e.g. 8-bit intensities) and ``source``. Figures and tables may show these
beside our measurements, always labelled as claims; they never feed a computation of ours.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

#: short name -> display name of the five source papers, in the order of the report
PAPERS = {"pcsd": "PCSD", "pinned": "PINNED", "piddpm": "PI-DDPM", "pdanet": "PDA-Net",
          "condddpm": "conditional-DDPM"}

COLUMNS = ("paper", "table", "row", "metric", "value", "scale", "source")


def load_claims(paper: str | None = None, table: str | None = None) -> pd.DataFrame:
    """The claims table, optionally narrowed to one paper and one of its tables."""
    with resources.files(__package__).joinpath("claims.csv").open("r", encoding="utf-8") as f:
        claims = pd.read_csv(f, dtype={"paper": str, "table": str}, keep_default_na=False)
    if tuple(claims.columns) != COLUMNS:
        raise ValueError(f"claims.csv columns {list(claims.columns)}; expected {list(COLUMNS)}")
    claims["value"] = pd.to_numeric(claims["value"])
    if paper is not None:
        claims = claims[claims["paper"] == paper]
    if table is not None:
        claims = claims[claims["table"] == table]
    return claims.reset_index(drop=True)


def claim_lookup(claims: pd.DataFrame) -> dict[tuple[str, str], float]:
    """{(row, metric): value} of a narrowed claims table."""
    return {(r.row, r.metric): float(r.value) for r in claims.itertuples(index=False)}
