"""The PI-DDPM paper metric table from the ``lm`` benchmark cells.

The paper compares PI-DDPM with a plain conditional DDPM, a U-Net and Richardson-Lucy on
PSNR, MS-SSIM and NRMSE (its Table 1, Sup. Table 1). Our rows: ``pi_ddpm`` (PI-DDPM),
``pi_ddpm_plain`` (the paper's DDPM: the same network and sampler without the physics term),
``unet`` (U-Net), ``richardson_lucy`` (RL: operator-aware classical baselines run on
``simart`` only, so it is "not run on lm") and the unrestored input ``noisy`` (not a row of
the paper). Subsets: our simulated widefield and confocal test images (docs/dataset.md).

Metrics, per image, then mean ± std over the test images of one mode:

* ``psnr`` (dB, data range of the config);
* ``ms_ssim``: 5-scale MS-SSIM needs >= 176 px per side; below that the cell marks it
  missing with the reason and ``ms_ssim_3`` (3 scales, *not* comparable to 5-scale values)
  stands in -- the table says which one it shows;
* ``nrmse_range``: the PI-DDPM paper's NRMSE, ``sqrt(MSE) / (max - min)`` of the clean image.

PI-DDPM paper's Table 1 numbers are not in the paper's text (the table did not survive its
extraction), so ``claims.csv`` holds none; the table module still pairs any PI-DDPM claim
that is added later (``claims_vs_measured``). The paper's *prose* states orderings (PI-DDPM
over DDPM, both over U-Net, "across all metrics"); :func:`ordering` checks them on our test
images (paired Wilcoxon signed-rank, :func:`simart.stats.run_test`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simart.evaluation.aggregate import cells_by_subset, md_escape
from simart.io import atomic_path
from simart.reporting.claims import load_claims
from simart.stats import run_test

log = logging.getLogger("simart")

PAPER = "piddpm"
#: (the paper's row label, our model) in the paper's order; the input row is ours.
PAPER_ROWS = (("PI-DDPM", "pi_ddpm"), ("DDPM", "pi_ddpm_plain"), ("U-Net", "unet"),
              ("RL", "richardson_lucy"))
INPUT_ROW = ("Input (no restoration)", "noisy")
METRICS = ("psnr", "ms_ssim", "nrmse_range")
#: metric -> the metric that stands in for it when it is missing (image too small)
STAND_IN = {"ms_ssim": "ms_ssim_3"}
BETTER = {"psnr": "higher", "ms_ssim": "higher", "ms_ssim_3": "higher", "nrmse_range": "lower"}
LABELS = {"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM", "ms_ssim_3": "MS-SSIM (3 scales)",
          "nrmse_range": "NRMSE (range)"}
#: the paper's prose orderings (no numbers): (better model, worse model, what the paper says)
PROSE_ORDERINGS = (
    ("pi_ddpm", "pi_ddpm_plain",
     ("PI-DDPM > DDPM ('PI-DDPM improved over DDPM', BioSR; 'superior over DDPM and U-Net "
     "in PSNR, MS-SSIM and NRMSE', W2S)")),
    ("pi_ddpm", "unet", "PI-DDPM > U-Net (BioSR and W2S, all three metrics)"),
    ("pi_ddpm_plain", "unet",
     "DDPM > U-Net ('superiority of both DDPM and PI-DDPM over U-Net across all metrics')"),
)
ALPHA = 0.05
CLAIM_COLUMNS = ("paper", "table", "row", "metric", "claimed", "measured", "n", "scale", "why")


def metric_values(cell: pd.DataFrame | None, metric: str) -> tuple[pd.Series, str, str]:
    """``(values by image_index, metric shown, note)`` of one cell: the finite values of
    ``metric`` among the images that ran (``status == 'ok'``); where it has none and a
    stand-in exists (:data:`STAND_IN`), the stand-in's values, the note saying why."""
    if cell is None:
        return pd.Series(dtype=np.float64), metric, "not evaluated"
    ok = cell[cell["status"] == "ok"]
    if ok.empty:
        reasons = sorted(set(cell.get("missing_reason", pd.Series(dtype=str)).astype(str))
                         - {""})
        return pd.Series(dtype=np.float64), metric, ("; ".join(reasons) or "no image ran")

    def finite(col: str) -> pd.Series:
        if col not in ok.columns:
            return pd.Series(dtype=np.float64)
        v = pd.Series(ok[col].to_numpy(dtype=np.float64), index=ok["image_index"].to_numpy())
        return v[np.isfinite(v)]

    def reason(col: str) -> str:
        if col not in ok.columns:
            return f"{col} not in the cell table (not in evaluate.metrics)"
        rcol = f"{col}_reason"
        why = sorted(set(ok[rcol].astype(str)) - {""}) if rcol in ok.columns else []
        return "; ".join(why) or "no finite values"

    vals = finite(metric)
    if len(vals):
        return vals, metric, ""
    why = reason(metric)
    alt = STAND_IN.get(metric)
    if alt is not None:
        alt_vals = finite(alt)
        if len(alt_vals):
            return alt_vals, alt, f"{alt} stands in: {why}"
        why = f"{why}; {alt}: {reason(alt)}"
    return vals, metric, why


def _is_pi(model: str) -> bool:
    return model == "pi_ddpm" or model.startswith("pi_ddpm_")


def eta_rows(cfg: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{row: {eta, reg, reg_weight, physics, model, kind}} of the PI-DDPM rows among
    ``names`` (the lm evaluation rows). ``cfg``: :class:`simart.config.Config`. ``kind``:
    ``trained`` (η in training and sampling) or ``variant`` (η at sampling only)."""
    from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

    preset = PAPER_HPARAMS if cfg.train.hparams_preset == "paper" else DEFAULT_HPARAMS
    variants = cfg.evaluate.active_variants()
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        model, sampling, kind = name, {}, "trained"
        if name in variants:
            model, sampling, kind = variants[name].model, dict(variants[name].sampling), \
                "variant"
        if not _is_pi(model) or model not in preset:
            continue
        hp = {**preset[model], **cfg.train.hparams(model)}
        physics = bool(hp.get("physics", True))
        out[name] = {"model": model, "kind": kind, "physics": physics,
                     "eta": float(sampling.get("eta", hp["eta"])) if physics else 0.0,
                     "train_eta": float(hp["eta"]) if physics else 0.0,
                     "reg": str(hp.get("reg", "none")),
                     "reg_weight": float(hp.get("reg_weight", 0.0))}
    return out


def _claims() -> dict[tuple[str, str, str], float]:
    """{(table, row, metric): value} of the PI-DDPM paper's claims (none typed in yet)."""
    c = load_claims(PAPER)
    return {(r.table, r.row, r.metric): float(r.value) for r in c.itertuples(index=False)}


def build_table(cells: Mapping[str, Mapping[str, pd.DataFrame]],
                missing: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per (subset, table row): n, mean/std/median of each metric (or the stand-in
    it shows, ``<metric>_shown``, and why, ``<metric>_note``). ``cells[subset][model]``;
    ``missing[model]``: why a model has no cell (e.g. "not run on lm")."""
    missing = dict(missing or {})
    out = []
    for subset in sorted(cells):
        for label, model in (*PAPER_ROWS, INPUT_ROW):
            cell = cells[subset].get(model)
            status = "evaluated" if cell is not None else missing.get(
                model, "not evaluated in this config")
            row = {"subset": subset, "row": label, "model": model,
                   "in_paper": (label, model) != INPUT_ROW, "status": status,
                   "n": 0 if cell is None else int((cell["status"] == "ok").sum())}
            for metric in METRICS:
                vals, shown, note = metric_values(cell, metric)
                row[f"{metric}_shown"] = shown
                row[f"{metric}_note"] = status if cell is None else note
                row[f"{metric}_mean"] = vals.mean() if len(vals) else np.nan
                row[f"{metric}_std"] = vals.std(ddof=1) if len(vals) > 1 else np.nan
                row[f"{metric}_median"] = vals.median() if len(vals) else np.nan
            out.append(row)
    return pd.DataFrame(out)


def ordering(cells: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """The paper's prose orderings on our images: per (subset, ordering, metric) the paired
    mean difference (better − worse, same images), the Wilcoxon p and a verdict."""
    out = []
    for subset in sorted(cells):
        for better, worse, says in PROSE_ORDERINGS:
            a_cell, b_cell = cells[subset].get(better), cells[subset].get(worse)
            if a_cell is None or b_cell is None:
                absent = [m for m, c in ((better, a_cell), (worse, b_cell)) if c is None]
                out.append({"subset": subset, "better": better, "worse": worse,
                            "paper_says": says, "metric": "", "shown": "", "diff": np.nan,
                            "p": np.nan, "n_pairs": 0,
                            "verdict": f"not evaluated: {', '.join(absent)}"})
                continue
            for metric in METRICS:
                row = {"subset": subset, "better": better, "worse": worse, "paper_says": says,
                       "metric": metric}
                a, shown_a, _ = metric_values(a_cell, metric)
                b, shown_b, _ = metric_values(b_cell, metric)
                common = a.index.intersection(b.index) if shown_a == shown_b else []
                if len(common) == 0:
                    row.update(shown=shown_a, diff=np.nan, p=np.nan, n_pairs=0,
                               verdict=f"missing: no paired values of {metric}")
                    out.append(row)
                    continue
                d = float((a.loc[common] - b.loc[common]).mean())
                _, p, note = run_test("wilcoxon", a.loc[common].to_numpy(),
                                      b.loc[common].to_numpy())
                sign = 1.0 if BETTER[shown_a] == "higher" else -1.0
                holds = d * sign > 0
                verdict = (("reproduces" if p < ALPHA else "same direction, not significant")
                           if holds else
                           ("opposite" + (" (significant)" if p < ALPHA else
                                          " (not significant)")))
                row.update(shown=shown_a, diff=d, p=p, n_pairs=len(common), verdict=verdict,
                           note=note)
                out.append(row)
    return pd.DataFrame(out)


def claims_vs_measured(frame: pd.DataFrame, scale: str) -> pd.DataFrame:
    """One row per PI-DDPM claim that pairs with a measured row of ``frame`` (the output of
    :func:`build_table`): columns :data:`CLAIM_COLUMNS`. Empty while ``claims.csv`` holds no
    PI-DDPM numbers (the paper's Table 1 is not in its text)."""
    rows = []
    by = {(r["row"], r["subset"]): r for r in frame.to_dict("records")}
    subsets = sorted(frame["subset"].unique()) if len(frame) else []
    for (table, label, metric), value in sorted(_claims().items()):
        for subset in subsets:
            r = by.get((label, subset))
            if r is None or f"{metric}_mean" not in r:
                continue
            shown = r[f"{metric}_shown"]
            why = [(f"the paper's Table {table} is on its own data (BioSR / W2S / dSTORM); "
                   f"ours is simulated lm/{subset}")]
            if shown != metric:
                why.append(f"{shown} stands in for {metric}")
            rows.append({"paper": PAPER, "table": table, "row": label, "metric": metric,
                         "claimed": value, "measured": r[f"{metric}_mean"], "n": r["n"],
                         "scale": f"{scale}; lm/{subset}, mean", "why": "; ".join(why)})
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def _num(v: float, metric: str) -> str:
    if not np.isfinite(v):
        return "–"
    return f"{v:.2f}" if metric == "psnr" else f"{v:.4f}"


def _p(p: float) -> str:
    return "–" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def to_markdown(frame: pd.DataFrame, order: pd.DataFrame, context: str) -> str:
    """The table per mode, the stand-in notes and the ordering check, as Markdown."""
    lines = ["# The PI-DDPM paper: PSNR, MS-SSIM, NRMSE on the lm test split", "", context,
             "",
             ("Mean ± std over the test images (per-image metrics). The paper's Table 1 "
              "numbers are not in the paper's text, so no claimed number stands beside ours; "
              "its prose orderings are checked below. Rows marked * are not in the paper."),
             ""]
    notes: dict[str, str] = {}
    foot: dict[str, str] = {}  # reason -> footnote mark

    def mark(reason: str) -> str:
        return foot.setdefault(reason, f"({len(foot) + 1})")

    for subset, grp in frame.groupby("subset", sort=True):
        header = ["row", "model", "n"] + [
            f"{LABELS[m]} {'↑' if BETTER[m] == 'higher' else '↓'}" for m in METRICS]
        lines += [f"## {subset}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        for r in grp.to_dict("records"):
            cells = [md_escape(r["row"]) + ("" if r["in_paper"] else " *"), f"`{r['model']}`",
                     str(r["n"]) if r["status"] == "evaluated" else r["status"]]
            for m in METRICS:
                mean, std, shown = r[f"{m}_mean"], r[f"{m}_std"], r[f"{m}_shown"]
                if not np.isfinite(mean):
                    cells.append("–" if r["status"] != "evaluated" else
                                 f"missing {mark(r[f'{m}_note'])}")
                    continue
                txt = _num(mean, m) + (f" ± {_num(std, m)}" if np.isfinite(std) else "")
                if shown != m:
                    txt += f" ({shown}†)"
                    notes[shown] = r[f"{m}_note"]
                cells.append(txt)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    for shown, why in notes.items():
        lines += [f"† `{shown}` shown: {md_escape(why)}", ""]
    for why, m in foot.items():
        lines += [f"missing {m}: {md_escape(why)}", ""]
    lines += ["## Does the paper's stated ordering hold here?", "",
              ("Paired over the same test images; Wilcoxon signed-rank p per line, not "
               "corrected for the number of lines (with n images the smallest two-sided p is "
               "2 / 2^n). 'reproduces': the paper's direction and p < 0.05."), "",
              ("| mode | paper says | metric | Δ (better − worse), paired | Wilcoxon p | n | "
              "verdict |"), "|---|---|---|---|---|---|---|"]
    for r in order.to_dict("records"):
        d = r["diff"]
        metric = LABELS.get(r["shown"], "–")
        lines.append(f"| {r['subset']} | {md_escape(r['paper_says'])} | {metric} | "
                     f"{'–' if not np.isfinite(d) else f'{d:+.4g}'} | {_p(r['p'])} | "
                     f"{r['n_pairs']} | {md_escape(r['verdict'])} |")
    lines += ["", ("NRMSE is the PI-DDPM paper's range-normalised form (`nrmse_range`: RMSE / (max − "
                   "min) of the clean image). Richardson–Lucy runs on `simart` only (it needs "
                   "the operator parameters of SIMART's tables), so its row says so."), ""]
    return "\n".join(lines)


def write_tables(cell_paths: Sequence[str | os.PathLike], md_path: str | os.PathLike,
                 csv_path: str | os.PathLike, claims_csv_path: str | os.PathLike,
                 subsets: Sequence[str], missing: Mapping[str, str] | None = None,
                 context: str = "", scale: str = "") -> dict[str, pd.DataFrame]:
    """Build the table, the ordering check and claims-vs-measured; write them atomically.
    ``subsets``: the modes to report (a mode without cells still gets its rows)."""
    cells = cells_by_subset(cell_paths)
    cells = {s: cells.get(s, {}) for s in subsets}
    frame = build_table(cells, missing)
    order = ordering(cells)
    cvm = claims_vs_measured(frame, scale)
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    with atomic_path(claims_csv_path) as tmp:
        cvm.to_csv(tmp, index=False)
    with atomic_path(md_path) as tmp:
        tmp.write_text(to_markdown(frame, order, context))
    log.info("the PI-DDPM paper: orderings %s; %d claims paired",
             "; ".join(f"{r.subset} {r.better} > {r.worse}, {r.metric}: {r.verdict}"
                       for r in order.itertuples(index=False)) or "none", len(cvm))
    return {"table": frame, "ordering": order, "claims_vs_measured": cvm}
