"""The PDA-Net paper: the paper's claimed numbers beside ours, one row per claimed number.

Reads ``results/tables/pdanet_tables.csv`` (:mod:`simart.reporting.pdanet`: columns
``table, row, model, in_paper, evaluated, n, <metric>_mean, <metric>_claim`` ...) and keeps
every row of the paper's ablation that has a claim, measured or not (a row that was not
evaluated keeps ``measured`` NaN and says so in ``why``).

Known reasons for a difference (``why``):

* Table I (``stm_cu111/blurry``): the paper trains and tests on its own simulated Cu(111)
  set (sizes not stated); ours is the pipeline's simulated set at the config's scale. MSE is
  on the paper's 8-bit scale already (pdanet.py converts).
* Table II (``stm_cu111/experimental``): the paper's lab images are not available; our
  experimental-like simulated domain stands in (another noise family), so absolute BRISQUE /
  PIQE values are not expected to match, only the direction of change. The paper does not
  name its BRISQUE / PIQE implementation (ours: ``brisque`` and ``pypiqe`` packages).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from simart.io import atomic_path

PAPER = "pdanet"
CLAIM_COLUMNS = ("paper", "table", "row", "metric", "claimed", "measured", "n", "scale", "why")
WHY = {
    "I": ("the paper's own simulated Cu(111) set and training scale; ours: the pipeline's "
          "stm_cu111/blurry test split"),
    "II": ("the paper's lab STM images are not available: our simulated experimental-like "
           "domain stands in; BRISQUE/PIQE implementation not named by the paper"),
}
SUBSET = {"I": "blurry", "II": "experimental"}


def claims_vs_measured(tables: pd.DataFrame, scale: str | dict[str, str] = "") -> pd.DataFrame:
    """Claimed vs measured (mean over the test images) for every claim of the PDA-Net paper's Tables
    I and II in ``tables`` (pdanet_tables.csv). ``scale``: what our run was, one string
    or ``{model: string}`` (e.g. the model's training steps)."""
    rows = []
    for r in tables.to_dict("records"):
        if not bool(r.get("in_paper", True)):
            continue
        table = str(r["table"])
        for col in (c for c in tables.columns if c.endswith("_claim")):
            metric = col[: -len("_claim")]
            claimed = r[col]
            if not np.isfinite(claimed):
                continue
            measured = r.get(f"{metric}_mean", np.nan)
            why = [WHY.get(table, "")]
            if not bool(r.get("evaluated", True)):
                why.insert(0, "not evaluated in this config")
            elif not np.isfinite(measured):
                why.insert(0, f"missing: no finite {metric} in pdanet_tables.csv (not in "
                              "evaluate.metrics, or not computable; see the cell tables)")
            if table == "II" and metric == "psnr":
                why.append("PSNR vs the simulated clean map is ours, not the paper's")
            s = scale.get(str(r["model"]), "") if isinstance(scale, dict) else scale
            where = f"stm_cu111/{SUBSET.get(table, '?')}, mean"
            rows.append({"paper": PAPER, "table": table, "row": r["row"], "metric": metric,
                         "claimed": float(claimed), "measured": float(measured),
                         "n": int(r.get("n", 0)),
                         "scale": "; ".join(x for x in (s, where) if x),
                         "why": "; ".join(w for w in why if w)})
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def write_claims(tables_csv: str | os.PathLike, out_csv: str | os.PathLike,
                 scale: str | dict[str, str] = "") -> pd.DataFrame:
    """Read pdanet_tables.csv, write claims_vs_measured_pdanet.csv atomically."""
    frame = claims_vs_measured(pd.read_csv(tables_csv), scale)
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False)
    return frame
