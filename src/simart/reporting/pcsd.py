"""The PCSD paper (SIMART) Tables 2, 3, 4, 6 and the per-modality PSNR table, from the cells.

Everything here is read from the ``simart`` benchmark cells (one row per test image:
metrics, ``seconds``), the trainings' ``summary.json`` files and PCSD's ``log.csv``; the
paper's numbers sit beside ours as claims (:mod:`simart.reporting.claims`), never in a
computation of ours.

* **Table 2** -- every method of the paper's Table 2 (its row label -> our model, ``not run``
  with the reason where this config does not evaluate it), plus the unrestored input
  (``noisy``) and our other SIMART models (marked as not in the paper), x PSNR (dB), SSIM,
  LPIPS, EPI (``epi_corr``, the paper's eq. 29) and FRC: mean ± std over the test images,
  per modality and pooled over the four (every test image of every modality). The paper's
  "FRC (0.143)" column has no unit (values 0.61-0.91, higher better); we report our FRC
  resolution ``frc_res_px`` (px at the 0.143 threshold, 2 px = Nyquist) and, to set beside
  the paper's column, ``2 px / frc_res_px`` (the crossing frequency as a fraction of Nyquist,
  our reading of the paper's column).
* **Per-modality PSNR** -- every Table 2 row x AFM, TEM, SEM, STEM, pooled; the paper gives
  per-modality numbers for PCSD only (§5.2, the same as its Table 4 joint row).
* **Table 3** -- PCSD and its training ablations (``pcsd_no_*``, ``pcsd_diffusion_only``,
  ``pcsd_physics_only``): pooled PSNR, ΔPSNR against the full model (mean paired difference
  on the same images; paired t-test as the paper's §5.1), impact (Δ / full PSNR, %).
* **Table 4** -- cross-modal: rows = training modality (``pcsd_from_<m>``) and the joint
  model (``pcsd``), columns = test modality, PSNR and SSIM; the zero-shot degradation of
  the joint model against the within-modality one and the average off-diagonal drop.
* **Table 6** -- training time (``train_seconds`` summed over a model's trainings: the
  CNNs train one network per modality), inference time per 512x512 image (our measured
  seconds per image scaled by the pixel count, ``x (512 / size)^2``: linear in pixels, an
  assumption), peak memory of the training (``peak_memory_mb``: torch's peak allocation on
  CUDA, the process's peak RSS on CPU) and parameters.

:func:`claims_vs_measured` pairs every claim of the PCSD paper's four tables with our
measurement in the claim's unit (or says why there is none).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simart.evaluation.aggregate import md_escape
from simart.io import atomic_path
from simart.provenance import read_table
from simart.reporting.claims import claim_lookup, load_claims

# simart.stats (scipy) is imported where it is used: the rule file imports this module
# (is_speed_variant) while Snakemake parses the workflow.

PAPER = "pcsd"
MODALITIES = ("AFM", "TEM", "SEM", "STEM")
POOLED = "all"
#: the paper's Table 2 columns as our metrics; ``frc_nyquist`` = 2 px / frc_res_px (derived)
TABLE2_METRICS = ("psnr", "ssim", "lpips", "epi_corr", "frc_res_px")
LABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "lpips": "LPIPS", "epi_corr": "EPI",
          "frc_res_px": "FRC res. (px)", "frc_nyquist": "FRC 2px/res"}
BETTER = {"psnr": "↑", "ssim": "↑", "lpips": "↓", "epi_corr": "↑", "frc_res_px": "↓",
          "frc_nyquist": "↑"}
DIGITS = {"psnr": 2, "ssim": 3, "lpips": 3, "epi_corr": 3, "frc_res_px": 2, "frc_nyquist": 2}
CLAIM_DIGITS = {**DIGITS, "psnr": 1}  # as the paper prints them
NYQUIST_PX = 2.0   # FRC resolution of a curve that never crosses (even image sizes)
SETUP_TABLE = "4.4"  # the paper's setup (§4.4, §3.4.1) as claims: image size, iterations ...

#: paper Table 2: (section, the paper's row label, the paper's "Type", our model)
TABLE2_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("Traditional", "Wiener", "Physics", "wiener"),
    ("Traditional", "Richardson-Lucy", "Physics", "richardson_lucy"),
    ("Traditional", "BM3D", "Statistical", "bm3d"),
    ("Supervised", "U-Net", "Supervised", "unet"),
    ("Supervised", "CARE", "Supervised", "care"),
    ("Self-Supervised", "Noise2Noise", "Self-Sup", "n2n"),
    ("Self-Supervised", "Noise2Void", "Self-Sup", "n2v"),
    ("Self-Supervised", "CycleGAN", "Unpaired", "cyclegan"),
    ("Self-Supervised", "DnCNN", "Hybrid", "dncnn"),
    ("PCSD", "Full Model", "Physics+Self-Sup", "pcsd"),
    ("PCSD", "w/o Physics", "Self-Sup", "pcsd_no_physics"),
    ("PCSD", "w/o Cycle", "Physics+Sup", "pcsd_no_cycle"),
)
INPUT_ROW = ("Input", "Noisy input (no restoration)", "–", "noisy")
#: paper Table 3: (the paper's row label, our model); the first row is the reference
TABLE3_ROWS: tuple[tuple[str, str], ...] = (
    ("Full PCSD", "pcsd"),
    ("w/o Physics Constraints", "pcsd_no_physics"),
    ("w/o Modality Conditioning", "pcsd_no_modality"),
    ("w/o Cycle Consistency", "pcsd_no_cycle"),
    ("w/o Perceptual Loss", "pcsd_no_perceptual"),
    ("w/o TV Regularization", "pcsd_no_tv"),
    ("Diffusion only", "pcsd_diffusion_only"),
    ("Physics only (no diffusion)", "pcsd_physics_only"),
)
CROSS_MODEL = "pcsd"
JOINT_LABEL = "All modalities (PCSD)"
DROP_LABEL = "Zero-shot degradation"
AVG_DROP_LABEL = "Single-modality training (average)"
#: paper Table 6: (the paper's row label, our model; None = the 250-step PCSD variant)
TABLE6_ROWS: tuple[tuple[str, str | None], ...] = (
    ("Wiener Deconvolution", "wiener"), ("BM3D", "bm3d"), ("U-Net", "unet"),
    ("CARE", "care"), ("Noise2Noise", "n2n"), ("CycleGAN", "cyclegan"),
    ("PCSD (Ours)", "pcsd"), ("PCSD-fast (250 steps)", None),
)
FAST_LABEL, FAST_STEPS = "PCSD-fast (250 steps)", 250
#: sampling options that change the cost of a variant (its Table 6 row); eta does not
SPEED_KEYS = ("sampler", "steps", "start", "stop", "n_samples")

Cells = Mapping[str, Mapping[str, pd.DataFrame]]          # model -> modality -> cell
Summaries = Mapping[str, Mapping[str, dict]]               # model -> group -> summary.json


def paper_setup() -> dict[str, float]:
    """The paper's setup numbers from ``claims.csv`` (table ``4.4``), by metric:
    ``image_size`` (px per side), ``train_iterations``, ``batch_size``, ``train_wall_days``,
    ``sampling_steps``; and ``<metric>_scale``, the claim's unit text."""
    c = load_claims(PAPER, SETUP_TABLE)
    out: dict = {r.metric: float(r.value) for r in c.itertuples(index=False)}
    out.update({f"{r.metric}_scale": r.scale for r in c.itertuples(index=False)})
    return out


@dataclass(frozen=True)
class RunInfo:
    """What the config ran (from the config only; the rule passes it as params).

    ``image_size``: px per side of the SIMART images; ``preset``: the architecture preset
    (``default`` tiny, ``paper``); ``steps``: training steps per learned model;
    ``test_images``: test images per modality; ``models``: the evaluated models that run on
    SIMART; ``variants``: {name: {"model", "sampling"}} of the evaluated sampling variants
    this module reads (:func:`is_speed_variant`); ``cross_modal``: whether the cross-modal
    rows ``pcsd_from_<m>`` are evaluated.
    """

    image_size: int
    preset: str = "default"
    steps: Mapping[str, int] = field(default_factory=dict)
    test_images: int = 0
    models: tuple[str, ...] = ()
    variants: Mapping[str, Mapping] = field(default_factory=dict)
    cross_modal: bool = False
    modalities: tuple[str, ...] = MODALITIES

    @classmethod
    def from_dict(cls, d: Mapping) -> RunInfo:
        d = dict(d)
        for k in ("models", "modalities"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)

    def scale(self, model: str | None = None) -> str:
        """What our run was, for the reproduction report's ``scale`` column."""
        steps = self.steps.get(trained_net(model or ""))
        out = (f"{self.preset} preset: {self.image_size}² px, {steps} training steps" if steps
               else f"{self.image_size}² px")
        return out + f", {self.test_images} test images per modality"


def trained_net(name: str) -> str:
    """The trained model behind an evaluation row: ``pcsd_from_AFM`` -> ``pcsd``."""
    return name.split("_from_")[0] if "_from_" in name else name


def is_speed_variant(sampling: Mapping) -> bool:
    """Whether a variant's sampling options change its cost (a Table 6 row), e.g. fewer
    steps; a guidance-strength variant (``eta``) costs the same as its model."""
    return any(k in sampling for k in SPEED_KEYS)


def fast_variant(variants: Mapping[str, Mapping]) -> str | None:
    """The PCSD variant the paper's "PCSD-fast (250 steps)" row is: 250 sampling steps."""
    for name, v in variants.items():
        if v.get("model") == CROSS_MODEL and v.get("sampling", {}).get("steps") == FAST_STEPS:
            return name
    return None


# ------------------------------------------------------------------------------ values
def _values(cells: Cells, model: str, modality: str, metric: str) -> tuple[pd.Series, str]:
    """Finite per-image values of one cell (index: image_index) and why there are none.

    ``frc_nyquist`` is derived per image: 2 px / frc_res_px."""
    from simart.stats import model_values

    cell = cells.get(model, {}).get(modality)
    if cell is None:
        return pd.Series(dtype=np.float64), "cell not evaluated"
    base = "frc_res_px" if metric == "frc_nyquist" else metric
    vals, _, reason = model_values(cell, base)
    if metric == "frc_nyquist":
        vals = NYQUIST_PX / vals
    return vals, reason


def _pooled(cells: Cells, model: str, metric: str,
            modalities: Sequence[str]) -> tuple[pd.Series, dict[str, str]]:
    """Values of every modality (index: (modality, image_index)), and {modality: why
    missing} for those without any."""
    parts, missing = {}, {}
    for mod in modalities:
        vals, reason = _values(cells, model, mod, metric)
        if len(vals):
            parts[mod] = vals
        else:
            missing[mod] = reason or "no values"
    if not parts:
        return pd.Series(dtype=np.float64), missing
    return pd.concat(parts, names=["modality", "image_index"]), missing


def _stats(vals: pd.Series) -> tuple[float, float, int]:
    """(mean, std with ddof 1, n) of finite values; NaN where undefined."""
    n = len(vals)
    return (float(vals.mean()) if n else np.nan, float(vals.std(ddof=1)) if n > 1 else np.nan,
            n)


def _scope_values(cells: Cells, model: str, metric: str, scope: str,
                  modalities: Sequence[str]) -> tuple[pd.Series, str]:
    """Values of one modality or of all (``POOLED``) and why missing (pooled: which
    modalities are left out and why)."""
    if scope != POOLED:
        return _values(cells, model, scope, metric)
    vals, missing = _pooled(cells, model, metric, modalities)
    if not missing:
        return vals, ""
    by_reason: dict[str, list[str]] = {}
    for mod, reason in missing.items():
        by_reason.setdefault(reason, []).append(mod)
    if vals.empty and len(by_reason) == 1:
        return vals, next(iter(by_reason))
    why = "; ".join(f"{', '.join(mods)}: {r}" for r, mods in by_reason.items())
    return vals, (why if vals.empty else f"pooled without {', '.join(missing)} ({why})")


def not_run_reason(model: str, run: RunInfo) -> str:
    """Why a model the paper lists has no cell in this run."""
    if model not in run.models:
        return f"not run: `{model}` is not in evaluate.models of this config"
    return "not evaluated (no cell table)"


# ------------------------------------------------------------------------------ Table 2
def table2_rows(run: RunInfo) -> list[tuple[str, str, str, str, bool]]:
    """(section, label, type, model, in the paper) of Table 2 in display order: the input,
    the paper's rows, then our other SIMART models (not in the paper)."""
    paper_models = {r[3] for r in TABLE2_ROWS}
    rows = [(*INPUT_ROW, False), *((*r, True) for r in TABLE2_ROWS)]
    rows += [("Not in the paper", m, "–", m, False) for m in run.models
             if m not in paper_models and m != INPUT_ROW[3]]
    return rows


def build_table2(cells: Cells, run: RunInfo) -> pd.DataFrame:
    """One row per (Table 2 row, scope): scope = each modality and ``all`` (pooled); n,
    mean/std of each metric (and ``frc_nyquist``), why missing; the paper's claims on the
    pooled rows (``<metric>_claim``, ``<metric>_std_claim``)."""
    claims = claim_lookup(load_claims(PAPER, "2"))
    out = []
    for section, label, kind, model, in_paper in table2_rows(run):
        evaluated = model in cells
        for scope in (*run.modalities, POOLED):
            row = {"section": section, "row": label, "type": kind, "model": model,
                   "in_paper": in_paper, "modality": scope, "evaluated": evaluated,
                   "not_run": "" if evaluated else not_run_reason(model, run)}
            n = 0
            for metric in (*TABLE2_METRICS, "frc_nyquist"):
                vals, why = _scope_values(cells, model, metric, scope, run.modalities)
                mean, std, k = _stats(vals)
                n = max(n, k)
                row.update({f"{metric}_mean": mean, f"{metric}_std": std,
                            f"{metric}_why": why if evaluated else row["not_run"]})
                if scope == POOLED and in_paper and metric in TABLE2_METRICS:
                    row[f"{metric}_claim"] = claims.get((label, metric), np.nan)
                    row[f"{metric}_std_claim"] = claims.get((label, f"{metric}_std"), np.nan)
            row["n"] = n
            out.append(row)
    return pd.DataFrame(out)


def build_psnr_by_modality(table2: pd.DataFrame) -> pd.DataFrame:
    """PSNR mean ± std per modality and pooled of every Table 2 row (wide), with the paper's
    per-modality PCSD numbers (§5.2 = its Table 4 joint row) beside ``pcsd``."""
    claims = claim_lookup(load_claims(PAPER, "4"))
    wide = []
    for (label, model), grp in table2.groupby(["row", "model"], sort=False):
        g = grp.set_index("modality")
        row = {"row": label, "model": model, "in_paper": bool(g["in_paper"].iloc[0]),
               "not_run": g["not_run"].iloc[0]}
        for scope in g.index:
            row[f"{scope}_mean"] = g.at[scope, "psnr_mean"]
            row[f"{scope}_std"] = g.at[scope, "psnr_std"]
            row[f"{scope}_n"] = g.at[scope, "n"]
            row[f"{scope}_why"] = g.at[scope, "psnr_why"]
            claim = (claims.get((f"{JOINT_LABEL} / {scope} Test", "psnr"), np.nan)
                     if model == CROSS_MODEL else np.nan)
            row[f"{scope}_claim"] = claim
        wide.append(row)
    return pd.DataFrame(wide)


# ------------------------------------------------------------------------------ Table 3
def perceptual_note(pcsd_log: pd.DataFrame | None) -> str:
    """Why w/o Perceptual changes nothing where the perceptual term was off in pcsd too
    (no local VGG-19 weights: ``perceptual_available`` 0 in its log)."""
    if pcsd_log is None or "perceptual_available" not in pcsd_log.columns:
        return ""
    avail = pd.to_numeric(pcsd_log["perceptual_available"], errors="coerce")
    if avail.notna().any() and float(avail.max()) == 0.0:
        return ("VGG-19 weights absent: the perceptual term is off in pcsd too "
                "(perceptual_available = 0), so this row differs from it by training noise only")
    return ""


def build_table3(cells: Cells, run: RunInfo, pcsd_log: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """One row per ablation: pooled PSNR (mean, std, n), per-modality means, the paired
    ΔPSNR against the full model (mean over the images both scored), impact (%), paired
    t-test p; the paper's PSNR, Δ, impact and expert score."""
    from simart.stats import run_test

    claims = claim_lookup(load_claims(PAPER, "3"))
    full_model = TABLE3_ROWS[0][1]
    full, _ = _pooled(cells, full_model, "psnr", run.modalities)
    full_mean = float(full.mean()) if len(full) else np.nan
    note_perc = perceptual_note(pcsd_log)
    out = []
    for label, model in TABLE3_ROWS:
        vals, why = _scope_values(cells, model, "psnr", POOLED, run.modalities)
        mean, std, n = _stats(vals)
        row = {"row": label, "model": model, "evaluated": model in cells,
               "not_run": "" if model in cells else not_run_reason(model, run),
               "n": n, "psnr_mean": mean, "psnr_std": std, "psnr_why": why}
        for mod in run.modalities:
            row[f"psnr_{mod}"] = _stats(_values(cells, model, mod, "psnr")[0])[0]
        delta = impact = p = np.nan
        n_paired = 0
        if model != full_model and len(vals) and len(full):
            common = vals.index.intersection(full.index)
            n_paired = len(common)
            if n_paired:
                d = vals.loc[common] - full.loc[common]
                delta = float(d.mean())
                impact = 100.0 * delta / full_mean
                _, p, _ = run_test("t", vals.loc[common].to_numpy(), full.loc[common].to_numpy())
        row.update({"psnr_delta": delta, "psnr_impact_pct": impact, "n_paired": n_paired,
                    "t_test_p": p,
                    "note": note_perc if model == "pcsd_no_perceptual" else ""})
        for metric in ("psnr", "psnr_delta", "psnr_impact_pct", "expert_physical_score"):
            row[f"{metric}_claim"] = claims.get((label, metric), np.nan)
        out.append(row)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------ Table 4
def table4_rows(run: RunInfo) -> list[tuple[str, str, str]]:
    """(the paper's row label, our model, training modality or ``all``) of Table 4."""
    rows = [(f"{m} only", f"{CROSS_MODEL}_from_{m}", m) for m in run.modalities]
    return [*rows, (JOINT_LABEL, CROSS_MODEL, POOLED)]


def offdiag_drop_pct(grid: Mapping[tuple[str, str], float], modalities: Sequence[str]) -> float:
    """Average cross-modal PSNR drop (%): over train != test, 100 (P[t, t] - P[s, t]) /
    P[t, t], P[s, t] = PSNR of the model trained on s tested on t. NaN if a cell lacks."""
    drops = [100.0 * (grid[(t, t)] - grid[(s, t)]) / grid[(t, t)]
             for s in modalities for t in modalities if s != t]
    return float(np.mean(drops)) if drops and np.all(np.isfinite(drops)) else np.nan


def build_table4(cells: Cells, run: RunInfo) -> pd.DataFrame:
    """Long form: one row per (training row, test modality): n, PSNR and SSIM mean ± std,
    the paper's PSNR; then the zero-shot degradation of the joint model per test modality
    (``psnr_drop_pct`` = 100 (P[t, t] - P[joint, t]) / P[t, t]) and the average off-diagonal
    drop (:func:`offdiag_drop_pct`)."""
    claims = claim_lookup(load_claims(PAPER, "4"))
    out, grid = [], {}
    for label, model, train in table4_rows(run):
        if model in cells:
            not_run = ""
        elif model != CROSS_MODEL and not run.cross_modal:
            not_run = "not run: evaluate.cross_modal does not contain pcsd in this config"
        else:
            not_run = not_run_reason(model, run)
        for test in run.modalities:
            row = {"row": label, "model": model, "train": train, "test": test,
                   "key": f"{label} / {test} Test", "not_run": not_run}
            for metric in ("psnr", "ssim"):
                vals, why = _values(cells, model, test, metric)
                mean, std, n = _stats(vals)
                row.update({f"{metric}_mean": mean, f"{metric}_std": std,
                            f"{metric}_why": not_run or why, "n": n})
            row["psnr_claim"] = claims.get((row["key"], "psnr"), np.nan)
            grid[(train, test)] = row["psnr_mean"]
            out.append(row)
    n_joint = {r["test"]: r["n"] for r in out if r["model"] == CROSS_MODEL}
    for test in run.modalities:
        diag, joint = grid[(test, test)], grid[(POOLED, test)]
        drop = 100.0 * (diag - joint) / diag if np.isfinite(diag) and np.isfinite(joint) \
            else np.nan
        key = f"{DROP_LABEL} / {test} Test"
        out.append({"row": DROP_LABEL, "model": CROSS_MODEL, "train": POOLED, "test": test,
                    "key": key, "psnr_drop_pct": drop, "n": n_joint.get(test, 0),
                    "psnr_drop_pct_claim": claims.get((key, "psnr_drop_pct"), np.nan)})
    claimed_grid = {(tr, te): claims.get((f"{lab} / {te} Test", "psnr"), np.nan)
                    for lab, _, tr in table4_rows(run) for te in run.modalities}
    out.append({"row": AVG_DROP_LABEL, "model": CROSS_MODEL, "train": "single", "test": "other",
                "key": AVG_DROP_LABEL, "n": np.nan,
                "psnr_drop_pct": offdiag_drop_pct(grid, run.modalities),
                "psnr_drop_pct_claim": claims.get((AVG_DROP_LABEL, "psnr_drop_pct"), np.nan),
                "psnr_drop_pct_paper_table": offdiag_drop_pct(claimed_grid, run.modalities)})
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------ Table 6
def table6_rows(run: RunInfo) -> list[tuple[str, str | None, bool]]:
    """(label, our row name or None where not run, in the paper) of Table 6: the paper's rows,
    our other SIMART models, then the speed variants."""
    fast = fast_variant(run.variants)
    rows = [(lab, fast if m is None else m, True) for lab, m in TABLE6_ROWS]
    named = {m for _, m, _ in rows}
    rows += [(m, m, False) for m in run.models if m not in named and m != INPUT_ROW[3]]
    rows += [(v, v, False) for v in run.variants if v not in named]
    return rows


def _training(summaries: Summaries, net: str) -> dict:
    """Training cost of one model over its trainings (groups): seconds summed, steps, peak
    memory (max), parameters (of one network), device."""
    groups = summaries.get(net, {})
    if not groups:
        return {"n_trainings": 0}
    s = list(groups.values())
    return {"n_trainings": len(s),
            "train_seconds": float(sum(x.get("train_seconds", np.nan) for x in s)),
            "steps": int(max(x.get("steps", 0) for x in s)),
            "peak_memory_mb": float(max(x.get("peak_memory_mb", np.nan) for x in s)),
            "n_parameters": int(s[0].get("n_parameters", 0)),
            "device": str(s[0].get("device", "")),
            "sampler": _sampler(s[0])}


def _sampler(summary: dict, overrides: Mapping | None = None) -> str:
    """A diffusion model's sampling, e.g. ``DDIM 5 steps, 0.3 T -> 0.1 T, 2 samples`` (its
    trained hparams updated by a variant's ``overrides``); empty for other models."""
    h = {**summary.get("identity", {}).get("hparams", {}), **(overrides or {})}
    if "sampler" not in h:
        return ""
    out = f"{str(h['sampler']).upper()} {h.get('steps', '?')} steps"
    if "start" in h and (h["start"], h.get("stop", 0)) != (1.0, 0.0):
        out += f", {h['start']:g} T -> {h.get('stop', 0):g} T"
    if h.get("n_samples", 1) != 1:
        out += f", {h['n_samples']} samples"
    return out


def build_table6(cells: Cells, summaries: Summaries, run: RunInfo) -> pd.DataFrame:
    """One row per Table 6 row: seconds per image measured at our size and scaled to
    512x512, training seconds / device-days, peak memory, parameters; the paper's claims."""
    claims = claim_lookup(load_claims(PAPER, "6"))
    px_scale = (paper_setup()["image_size"] / run.image_size) ** 2
    out = []
    for label, name, in_paper in table6_rows(run):
        net = run.variants.get(name, {}).get("model", name) if name else None
        row = {"row": label, "model": name or "", "net": net or "", "in_paper": in_paper,
               "evaluated": bool(name) and name in cells}
        if not name:
            row["not_run"] = ("not run: no pcsd variant with 250 sampling steps in "
                              "evaluate.variants of this config")
        elif name not in cells:
            row["not_run"] = not_run_reason(name, run)
        else:
            row["not_run"] = ""
        secs = (_pooled(cells, name, "seconds", run.modalities)[0] if name
                else pd.Series(dtype=np.float64))
        mean, _, n = _stats(secs)
        row.update({"n": n, "seconds_per_image": mean, "image_size": run.image_size,
                    "inference_time_512": mean * px_scale})
        row.update(_training(summaries, net) if net else {"n_trainings": 0})
        row["train_days"] = row.get("train_seconds", np.nan) / 86400.0
        row["memory_gb"] = row.get("peak_memory_mb", np.nan) / 1024.0
        row["n_parameters_m"] = (row["n_parameters"] / 1e6 if row.get("n_parameters")
                                 else np.nan)
        row["shares_training_of"] = net if net and net != name else ""
        first = next(iter(summaries.get(net, {}).values()), {}) if net else {}
        row["sampling"] = _sampler(first, run.variants.get(name, {}).get("sampling"))
        for metric in ("train_time", "inference_time_512", "memory", "n_parameters"):
            row[f"{metric}_claim"] = claims.get((label, metric), np.nan) if in_paper else np.nan
        out.append(row)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------- all tables
@dataclass
class PcsdTables:
    """The five tables (DataFrames) built from one run."""

    table2: pd.DataFrame
    psnr: pd.DataFrame
    table3: pd.DataFrame
    table4: pd.DataFrame
    table6: pd.DataFrame
    fast_psnr_drop: float = np.nan  # pooled PSNR of pcsd minus its 250-step variant (paired)
    fast_n: int = 0


def build_tables(cells: Cells, summaries: Summaries, run: RunInfo,
                 pcsd_log: pd.DataFrame | None = None) -> PcsdTables:
    """Every table of this module from the loaded inputs."""
    t2 = build_table2(cells, run)
    out = PcsdTables(t2, build_psnr_by_modality(t2), build_table3(cells, run, pcsd_log),
                        build_table4(cells, run), build_table6(cells, summaries, run))
    fast = fast_variant(run.variants)
    if fast and fast in cells and CROSS_MODEL in cells:
        a, _ = _pooled(cells, CROSS_MODEL, "psnr", run.modalities)
        b, _ = _pooled(cells, fast, "psnr", run.modalities)
        common = a.index.intersection(b.index)
        if len(common):
            out.fast_psnr_drop = float((a.loc[common] - b.loc[common]).mean())
            out.fast_n = len(common)
    return out


# ----------------------------------------------------------------- claims vs measured
def _why_scale(model: str, run: RunInfo, summaries: Summaries) -> str:
    paper = paper_setup()
    size = f"{paper['image_size']:g}²"
    if trained_net(model) in run.steps:
        why = (f"scale: {run.image_size}² px, {run.steps[trained_net(model)]} training steps "
               f"(paper: {size}, {paper['train_iterations']:g} iterations on SIMART-1M)")
        sampler = _training(summaries, trained_net(model)).get("sampler", "")
        if model.startswith(CROSS_MODEL) and sampler:
            why += f"; sampler {sampler} (paper: DDPM {paper['sampling_steps']:g} steps)"
        return why
    return f"data: our SIMART simulation at {run.image_size}² px (paper: SIMART-1M at {size})"


def claims_vs_measured(tables: PcsdTables, run: RunInfo,
                       summaries: Summaries | None = None) -> pd.DataFrame:
    """One row per claim of the PCSD paper's Tables 2, 3, 4, 6 (``claims.csv``): our measurement
    in the claim's unit (NaN where none, ``why`` says why), n test images, our scale, and
    the known reason for a difference."""
    summaries = summaries or {}
    rows = []

    def add(table: str, label: str, metric: str, claimed: float, measured: float, n: float,
            scale: str, why: str) -> None:
        rows.append({"paper": PAPER, "table": table, "row": label, "metric": metric,
                     "claimed": claimed, "measured": measured, "n": n, "scale": scale,
                     "why": why})

    claims = load_claims(PAPER)
    t2 = tables.table2[tables.table2["modality"] == POOLED].set_index("row")
    t3 = tables.table3.set_index("row")
    t4 = tables.table4.set_index("key")
    t6 = tables.table6.set_index("row")
    for c in claims.itertuples(index=False):
        if c.table == "2" and c.row in t2.index:
            r = t2.loc[c.row]
            base, is_std = ((c.metric[:-4], True) if c.metric.endswith("_std")
                            else (c.metric, False))
            col = "frc_nyquist" if base == "frc_res_px" else base
            measured = r[f"{col}_std" if is_std else f"{col}_mean"]
            why = r[f"{col}_why"] if not np.isfinite(measured) else _why_scale(r.model, run,
                                                                               summaries)
            if base == "frc_res_px" and np.isfinite(measured):
                why = "unit: the paper's FRC column has none; ours = 2 px / frc_res_px; " + why
            if c.row == "Noise2Noise":
                why += "; the paper's Noise2Noise row repeats its U-Net row in all 10 numbers"
            add("2", c.row, c.metric, c.value, measured, int(r["n"]), run.scale(r.model), why)
        elif c.table == "3" and c.row in t3.index:
            r = t3.loc[c.row]
            if c.metric == "expert_physical_score":
                add("3", c.row, c.metric, c.value, np.nan, 0, run.scale(r.model),
                    "expert rating by microscopists: not measured by this pipeline")
                continue
            col = {"psnr": "psnr_mean"}.get(c.metric, c.metric)
            measured = r[col]
            n = int(r["n"] if c.metric == "psnr" else r["n_paired"])
            why = (r["not_run"] or r["psnr_why"] or "no paired images") \
                if not np.isfinite(measured) else _why_scale(r.model, run, summaries)
            if r["note"] and r["evaluated"]:
                why = f"{r['note']}; {why}"
            add("3", c.row, c.metric, c.value, measured, n, run.scale(r.model), why)
        elif c.table == "4" and c.row in t4.index:
            r = t4.loc[c.row]
            if c.metric == "psnr":
                measured, n = r["psnr_mean"], int(r["n"])
                why = r["psnr_why"] if not np.isfinite(measured) else _why_scale(
                    r.model, run, summaries)
            else:
                measured, n = r["psnr_drop_pct"], r.get("n", np.nan)
                why = _why_scale(CROSS_MODEL, run, summaries) if np.isfinite(measured) else (
                    "needs the cross-modal rows (evaluate.cross_modal: pcsd)" if not
                    run.cross_modal else "a cell of the grid has no PSNR")
                if c.row == AVG_DROP_LABEL:
                    own = (f"the paper's own Table 4 gives {r['psnr_drop_pct_paper_table']:.1f} %,"
                           f" not {c.value:g} %")
                    why = f"{why}; {own}" if why else own
            add("4", c.row, c.metric, c.value, measured, n, run.scale(CROSS_MODEL), why)
        elif c.table == "6" and c.row in t6.index:
            add("6", c.row, c.metric, c.value, *_table6_measure(t6.loc[c.row], c.metric, run,
                                                                 tables))
        elif c.table == SETUP_TABLE:
            measured, why = _setup_measure(c.metric, run, summaries)
            add(SETUP_TABLE, c.row, c.metric, c.value, measured, np.nan, run.scale(CROSS_MODEL),
                why)
    return pd.DataFrame(rows, columns=["paper", "table", "row", "metric", "claimed", "measured",
                                       "n", "scale", "why"])


def _setup_measure(metric: str, run: RunInfo, summaries: Summaries) -> tuple[float, str]:
    """(ours, why) of one of the paper's setup numbers (PCSD's training and sampling)."""
    if metric == "image_size":
        return float(run.image_size), "config image_size"
    groups = summaries.get(CROSS_MODEL, {})
    if not groups:
        return np.nan, "pcsd not trained in this config"
    s = next(iter(groups.values()))
    h = s.get("identity", {}).get("hparams", {})
    if metric == "train_iterations":
        return float(s.get("steps", np.nan)), "config train steps of pcsd"
    if metric == "batch_size":
        return float(s.get("settings", {}).get("batch_size", np.nan)), "config batch_size"
    if metric == "train_wall_days":
        return (float(s.get("train_seconds", np.nan)) / 86400.0,
                f"training steps only, on {s.get('device', '?')}")
    if metric == "sampling_steps":
        why = f"{str(h.get('sampler', '?')).upper()}"
        if "start" in h:
            why += f" from {h['start']:g} T to {h.get('stop', 0):g} T"
        return float(h.get("steps", np.nan)), why
    return np.nan, f"{metric!r}: not measured"


def _table6_measure(r: pd.Series, metric: str, run: RunInfo, tables: PcsdTables
                    ) -> tuple[float, float, str, str]:
    """(measured, n, scale, why) of one Table 6 claim."""
    device = r.get("device") if isinstance(r.get("device"), str) else ""
    paper = paper_setup()
    scale = run.scale(r["net"] or None) + (f"; {device}" if device else "")
    if r["not_run"]:
        return np.nan, 0, scale, r["not_run"]
    n = int(r["n"])
    if metric == "inference_time_512":
        why = (f"scaled from {run.image_size}² by pixel count; {device or 'our machine'} "
               "(paper: RTX 3090)")
        if r["model"] == CROSS_MODEL and r.get("sampler"):
            why += f"; sampler {r['sampler']} (paper: DDPM {paper['sampling_steps']:g} steps)"
        return r["inference_time_512"], n, scale, why
    if not r["n_trainings"]:
        return np.nan, np.nan, scale, "no training (classical method): not measured"
    if metric == "train_time":
        why = (f"{device}, {int(r['steps'])} steps (paper: {paper['train_iterations']:g} "
               f"iterations); {r['train_seconds']:.0f} s over {int(r['n_trainings'])} "
               "training(s)")
        if r["net"] == CROSS_MODEL:
            why += (f"; the paper's §4.4 says {paper['train_wall_days']:g} "
                    f"{paper['train_wall_days_scale']}, i.e. more GPU days than its Table 6")
        return r["train_days"], np.nan, scale, why
    if metric == "memory":
        kind = ("torch peak allocated" if "cpu" not in device.lower() else
                "process peak RSS (interpreter and torch included)")
        return r["memory_gb"], np.nan, scale, f"training {kind} at {run.image_size}² crops"
    if metric == "n_parameters":
        why = ("" if run.preset == "paper" else
               f"{run.preset} preset: a small network (configs/paper.yaml: the paper's size)")
        return r["n_parameters_m"], np.nan, scale, why
    if metric == "psnr_drop":
        if np.isfinite(tables.fast_psnr_drop):
            return tables.fast_psnr_drop, tables.fast_n, scale, "pooled, paired images"
        return np.nan, 0, scale, "no paired PSNR of pcsd and its 250-step variant"
    return np.nan, n, scale, f"metric {metric!r} not measured"


# ---------------------------------------------------------------------------- Markdown
class _Notes:
    """Footnotes for "missing" cells: one letter per distinct reason."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}

    def ref(self, reason: str) -> str:
        if reason not in self.reasons:
            self.reasons[reason] = chr(ord("a") + len(self.reasons) % 26) + (
                str(len(self.reasons) // 26) if len(self.reasons) >= 26 else "")
        return f"missing [{self.reasons[reason]}]"

    def lines(self) -> list[str]:
        return [f"- [{k}] missing: {md_escape(r)}" for r, k in self.reasons.items()]


def _num(v: float, digits: int) -> str:
    return f"{v:.{digits}f}" if np.isfinite(v) else "–"


def _pm(mean: float, std: float, digits: int, why: str, notes: _Notes) -> str:
    if not np.isfinite(mean):
        return notes.ref(why or "no values")
    text = _num(mean, digits)
    if np.isfinite(std):
        text += f" ± {_num(std, digits)}"
    return text + (" †" if why else "")


def _claim(mean: float, std: float, digits: int) -> str:
    if not np.isfinite(mean):
        return ""
    return _num(mean, digits) + (f" ± {_num(std, digits)}" if np.isfinite(std) else "")


def _table2_md(frame: pd.DataFrame, scope: str, notes: _Notes, claims: bool) -> list[str]:
    f = frame[frame["modality"] == scope]
    head = ["Method", "Type", "model", "n"]
    for m in TABLE2_METRICS:
        head.append(f"{LABELS[m]} {BETTER[m]}")
        if m == "frc_res_px":
            head.append(f"{LABELS['frc_nyquist']} {BETTER['frc_nyquist']}")
        if claims:
            head.append("paper FRC (0.143)" if m == "frc_res_px" else "paper")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in f.to_dict("records"):
        cells = [md_escape(r["row"]) + ("" if r["in_paper"] else " *"), r["type"],
                 f"`{r['model']}`", str(r["n"]) if r["evaluated"] else "not run"]
        for m in TABLE2_METRICS:
            mets = (m, "frc_nyquist") if m == "frc_res_px" else (m,)
            for mm in mets:
                why = r[f"{mm}_why"]
                cells.append(_pm(r[f"{mm}_mean"], r[f"{mm}_std"], DIGITS[mm],
                                 why if np.isfinite(r[f"{mm}_mean"]) and scope == POOLED
                                 and why.startswith("pooled") else
                                 ("" if np.isfinite(r[f"{mm}_mean"]) else why), notes))
            if claims:
                cells.append(_claim(r.get(f"{m}_claim", np.nan), r.get(f"{m}_std_claim", np.nan),
                                    CLAIM_DIGITS[m]))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def table2_markdown(frame: pd.DataFrame, run: RunInfo, context: str) -> str:
    notes = _Notes()
    lines = ["# PCSD paper Table 2: every method x PSNR, SSIM, LPIPS, EPI, FRC (mean ± std)", "",
             context, "",
             ("Ours: mean ± std over the test images (per-image metrics; n images). `paper`: "
              "the paper's published number (`src/simart/reporting/claims.csv`), not measured "
              "here; the paper gives pooled numbers only. Rows marked * are not in the paper. "
              "EPI = `epi_corr` (the paper's eq. 29). FRC res.: our FRC resolution at the "
              "0.143 threshold against the clean image (px; 2 px = Nyquist). The paper's "
              "'FRC (0.143)' column has no unit; we read it as the crossing frequency as a "
              "fraction of Nyquist and set `2 px / FRC res.` (per image, then averaged) beside "
              "it. The pooled std includes the spread between the modalities. † = pooled over "
              "fewer than the four modalities (the note says which)."),
             "", f"## All four modalities pooled ({', '.join(run.modalities)})", "",
             *_table2_md(frame, POOLED, notes, claims=True), ""]
    partial = frame[(frame["modality"] == POOLED) & frame["psnr_why"].str.startswith("pooled")]
    for r in partial.itertuples(index=False):
        lines.append(f"† `{r.model}`: {md_escape(r.psnr_why)}")
    if len(partial):
        lines.append("")
    for mod in run.modalities:
        lines += [f"## {mod}", "", *_table2_md(frame, mod, notes, claims=False), ""]
    if notes.reasons:
        lines += ["## Missing values", "", *notes.lines(), ""]
    return "\n".join(lines)


def psnr_markdown(frame: pd.DataFrame, run: RunInfo, context: str) -> str:
    notes = _Notes()
    scopes = (*run.modalities, POOLED)
    head = ["Method", "model", *[f"{s} PSNR (dB)" if s != POOLED else "pooled PSNR (dB)"
                                 for s in scopes]]
    lines = ["# The PCSD paper: PSNR per modality (mean ± std over the test images, n)", "",
             context, "",
             ("The paper gives per-modality PSNR for PCSD only (§5.2; the same numbers as its "
              "Table 4 joint row): shown as `paper` under `pcsd`. Rows marked * are not in the "
              "paper's Table 2."), "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in frame.to_dict("records"):
        cells = [md_escape(r["row"]) + ("" if r["in_paper"] else " *"), f"`{r['model']}`"]
        for s in scopes:
            if not np.isfinite(r[f"{s}_mean"]):
                cells.append(notes.ref(r[f"{s}_why"] or r["not_run"] or "no values"))
            else:
                cells.append(_pm(r[f"{s}_mean"], r[f"{s}_std"], 2, "", notes)
                             + f" (n {int(r[f'{s}_n'])})")
        lines.append("| " + " | ".join(cells) + " |")
        if r["model"] == CROSS_MODEL:
            lines.append("| ↳ paper (§5.2) | | " + " | ".join(
                _num(r[f"{s}_claim"], 1) if np.isfinite(r[f"{s}_claim"]) else ""
                for s in scopes) + " |")
    if notes.reasons:
        lines += ["", "Missing values:", "", *notes.lines()]
    return "\n".join([*lines, ""])


def _duration(seconds: float) -> str:
    """Seconds as s, min or h."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def _p(p: float) -> str:
    return "–" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def table3_markdown(frame: pd.DataFrame, run: RunInfo, context: str) -> str:
    notes = _Notes()
    head = ["Variant", "model", "n", "PSNR (dB)", "paper", "ΔPSNR (paired)", "paper Δ",
            "impact (%)", "paper impact", "paired t p", "paper physical score (expert)",
            *[f"{m} PSNR" for m in run.modalities]]
    lines = ["# PCSD paper Table 3: PCSD ablations", "", context, "",
             ("Pooled over the four modalities. ΔPSNR: mean paired difference against Full "
              "PCSD (`pcsd`) on the images both scored; impact = Δ / Full PCSD's mean PSNR; "
              "paired t-test as the paper's §5.1. The paper's physical score is an expert "
              "rating this pipeline does not measure (claim only)."), "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in frame.to_dict("records"):
        psnr = (_pm(r["psnr_mean"], r["psnr_std"], 2, "", notes) if np.isfinite(r["psnr_mean"])
                else notes.ref(r["not_run"] or r["psnr_why"] or "no values"))
        cells = [md_escape(r["row"]), f"`{r['model']}`", str(r["n"]), psnr,
                 _num(r["psnr_claim"], 1),
                 f"{r['psnr_delta']:+.2f}" if np.isfinite(r["psnr_delta"]) else "–",
                 f"{r['psnr_delta_claim']:+.1f}" if np.isfinite(r["psnr_delta_claim"]) else "–",
                 f"{r['psnr_impact_pct']:+.1f}" if np.isfinite(r["psnr_impact_pct"]) else "–",
                 (f"{r['psnr_impact_pct_claim']:+.1f}"
                  if np.isfinite(r["psnr_impact_pct_claim"]) else "–"),
                 _p(r["t_test_p"]), _num(r["expert_physical_score_claim"], 1),
                 *[_num(r[f"psnr_{m}"], 2) for m in run.modalities]]
        lines.append("| " + " | ".join(cells) + " |")
    extra = [f"- `{r['model']}`: {md_escape(r['note'])}" for r in frame.to_dict("records")
             if r["note"]]
    if extra:
        lines += ["", *extra]
    if notes.reasons:
        lines += ["", "Missing values:", "", *notes.lines()]
    return "\n".join([*lines, ""])


def table4_markdown(frame: pd.DataFrame, run: RunInfo, context: str) -> str:
    notes = _Notes()
    grid = frame[frame["row"].isin([lab for lab, _, _ in table4_rows(run)])]
    lines = ["# PCSD paper Table 4: cross-modal generalisation (train on one, test on all)", "",
             context, "",
             ("Rows: the training modality (`pcsd_from_<m>`: PCSD trained on that modality "
              "alone) and the joint model (`pcsd`, all four); columns: the test modality. "
              "Ours: mean ± std over the test images; `(paper …)`: the paper's Table 4."), ""]
    for metric, digits in (("psnr", 2), ("ssim", 3)):
        head = ["Training", "model", *[f"{m} test" for m in run.modalities]]
        lines += [f"## {LABELS[metric]}", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        for (label, model), g in grid.groupby(["row", "model"], sort=False):
            cells = [md_escape(label), f"`{model}`"]
            for r in g.to_dict("records"):
                if not np.isfinite(r[f"{metric}_mean"]):
                    cells.append(notes.ref(r[f"{metric}_why"] or "no values"))
                    continue
                text = _pm(r[f"{metric}_mean"], r[f"{metric}_std"], digits, "", notes)
                if metric == "psnr" and np.isfinite(r["psnr_claim"]):
                    text += f" (paper {r['psnr_claim']:.1f})"
                cells.append(text)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    drops = frame[frame["row"] == DROP_LABEL]
    lines += ["## Zero-shot degradation of the joint model", "",
              ("100 (P[within] − P[joint]) / P[within] per test modality, P = mean PSNR, "
               "within = the model trained on the test modality alone."), "",
              "| | " + " | ".join(f"{m} test" for m in run.modalities) + " |",
              "|---|" + "---|" * len(run.modalities),
              "| ours (%) | " + " | ".join(_num(v, 1) for v in drops["psnr_drop_pct"]) + " |",
              "| paper (%) | " + " | ".join(_num(v, 1) for v in drops["psnr_drop_pct_claim"])
              + " |", ""]
    avg = frame[frame["row"] == AVG_DROP_LABEL].iloc[0]
    lines += [("Average off-diagonal drop (train ≠ test, relative to the within-modality "
               f"model): ours {_num(avg['psnr_drop_pct'], 1)} %; the paper claims "
               f"{_num(avg['psnr_drop_pct_claim'], 1)} % (§5.4, abstract), while its own "
               f"Table 4 gives {_num(avg['psnr_drop_pct_paper_table'], 1)} %."), ""]
    if notes.reasons:
        lines += ["Missing values:", "", *notes.lines(), ""]
    return "\n".join(lines)


def table6_markdown(frame: pd.DataFrame, run: RunInfo, context: str,
                    fast_drop: float = np.nan) -> str:
    paper = paper_setup()
    size = int(paper["image_size"])
    scale = (size / run.image_size) ** 2
    claims = claim_lookup(load_claims(PAPER, "6"))
    fast_claim = claims.get((FAST_LABEL, "psnr_drop"), np.nan)
    pcsd_days = claims.get(("PCSD (Ours)", "train_time"), np.nan)
    head = ["Method", "model", "training", "paper (GPU days)", "sampling",
            f"s / image at {run.image_size}²",
            f"s / {size}² image (scaled)", "paper", "peak memory (GB)", "paper", "params (M)", "paper",
            "device"]
    lines = ["# PCSD paper Table 6: computational cost", "", context, "",
             (f"Inference: mean wall time per image of the test cells (a batch's time shared "
              f"by its images), pooled over the modalities, scaled to a {size}x{size} image "
              "by the "
              f"pixel count (x {scale:g}; linear in pixels is an assumption). Training: the "
              "trainings' `train_seconds` summed (the CNNs and GANs train one network per "
              "SIMART modality, PCSD one for all) -- shown in hours and in device-days beside "
              "the paper's GPU days. Peak memory of the training: torch's peak allocation on "
              "CUDA, the process's peak RSS on CPU (interpreter included). Params: one "
              "network. Rows marked * are not in the paper's Table 6; a variant shares its "
              "model's training."), "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in frame.to_dict("records"):
        label = md_escape(r["row"]) + ("" if r["in_paper"] else " *")
        if r["not_run"]:
            lines.append(f"| {label} | `{r['model'] or '–'}` | {md_escape(r['not_run'])} | "
                         f"{_num(r['train_time_claim'], 1)} | | | | "
                         f"{_num(r['inference_time_512_claim'], 2)} | | "
                         f"{_num(r['memory_claim'], 1)} | | {_num(r['n_parameters_claim'], 1)} "
                         "| |")
            continue
        if r["shares_training_of"]:
            train = f"= `{r['shares_training_of']}`'s"
        elif r["n_trainings"]:
            train = (f"{_duration(r['train_seconds'])} = {r['train_days']:.2g} days "
                     f"({int(r['n_trainings'])} x {int(r['steps'])} steps)")
        else:
            train = "none"
        cells = [label, f"`{r['model']}`", train, _num(r["train_time_claim"], 1),
                 r["sampling"] or "–",
                 f"{r['seconds_per_image']:.4g}" if np.isfinite(r["seconds_per_image"]) else "–",
                 (f"{r['inference_time_512']:.3g}" if np.isfinite(r["inference_time_512"])
                  else "–"),
                 _num(r["inference_time_512_claim"], 2),
                 _num(r["memory_gb"], 2) if r["n_trainings"] else "not measured",
                 _num(r["memory_claim"], 1),
                 _num(r["n_parameters_m"], 3) if r["n_trainings"] else "–",
                 _num(r["n_parameters_claim"], 1),
                 md_escape(r["device"]) if isinstance(r.get("device"), str) else "–"]
        lines.append("| " + " | ".join(c if isinstance(c, str) else str(c) for c in cells)
                     + " |")
    said = f"{FAST_LABEL}: the paper claims {_num(fast_claim, 1)} dB below the full model (§5.6)"
    lines += ["", (f"{said}; ours (pcsd − that variant, paired images): {_num(fast_drop, 2)} dB."
                   if np.isfinite(fast_drop) else
                   f"{said}; not measured (no pcsd variant with that many steps in this "
                   "config)."),
              (f"The paper's §4.4 gives PCSD's training as {paper['train_wall_days']:g} "
               f"{paper['train_wall_days_scale']}; its Table 6 says {_num(pcsd_days, 1)} GPU "
               "days."), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- reading
def load_inputs(paths: Mapping) -> tuple[dict, dict, pd.DataFrame | None]:
    """(cells, summaries, pcsd log) from the rule's path tree: ``cells`` {model: {modality:
    parquet}}, ``summaries`` {model: {group: summary.json}}, ``pcsd_log`` (log.csv or
    absent). A cell file without rows is left out."""
    cells: dict[str, dict[str, pd.DataFrame]] = {}
    for model, by_mod in paths.get("cells", {}).items():
        for mod, p in by_mod.items():
            cell = read_table(p)
            if not cell.empty:
                cells.setdefault(model, {})[mod] = cell
    summaries = {m: {g: json.loads(Path(p).read_text()) for g, p in by_g.items()}
                 for m, by_g in paths.get("summaries", {}).items()}
    log_path = paths.get("pcsd_log")
    pcsd_log = pd.read_csv(log_path) if log_path else None
    return cells, summaries, pcsd_log


OUTPUTS = ("table2_md", "table2_csv", "psnr_md", "psnr_csv", "table3_md", "table3_csv",
           "table4_md", "table4_csv", "table6_md", "table6_csv", "claims")


def write_tables(paths: Mapping, run: RunInfo | Mapping, out: Mapping[str, str | os.PathLike],
                 context: str = "") -> PcsdTables:
    """Build every table from the inputs and write them atomically: ``out`` maps each name
    of :data:`OUTPUTS` to a path (Markdown and CSV per table, the claims pairing CSV)."""
    run = run if isinstance(run, RunInfo) else RunInfo.from_dict(run)
    cells, summaries, pcsd_log = load_inputs(paths)
    t = build_tables(cells, summaries, run, pcsd_log)
    texts = {"table2_md": table2_markdown(t.table2, run, context),
             "psnr_md": psnr_markdown(t.psnr, run, context),
             "table3_md": table3_markdown(t.table3, run, context),
             "table4_md": table4_markdown(t.table4, run, context),
             "table6_md": table6_markdown(t.table6, run, context, t.fast_psnr_drop)}
    frames = {"table2_csv": t.table2, "psnr_csv": t.psnr, "table3_csv": t.table3,
              "table4_csv": t.table4, "table6_csv": t.table6,
              "claims": claims_vs_measured(t, run, summaries)}
    for name, text in texts.items():
        with atomic_path(out[name]) as tmp:
            tmp.write_text(text)
    for name, frame in frames.items():
        with atomic_path(out[name]) as tmp:
            frame.to_csv(tmp, index=False)
    return t


def write_outputs(paths: Mapping, run: RunInfo | Mapping, context: str = "",
                  **out: str | os.PathLike) -> PcsdTables:
    """:func:`write_tables` with the outputs as keywords (the names of :data:`OUTPUTS`; the
    table spec pcsd_tables of simart.specs.figures); logs Table 2's pooled PSNR per row and
    Table 4's average off-diagonal drop."""
    missing = set(OUTPUTS) - set(out)
    if missing or set(out) - set(OUTPUTS):
        raise TypeError(f"write_outputs: outputs must be {OUTPUTS}, missing {sorted(missing)}, "
                        f"unknown {sorted(set(out) - set(OUTPUTS))}")
    t = write_tables(paths, run, out, context=context)
    pooled = t.table2[t.table2["modality"] == "all"]
    drop = t.table4[t.table4["row"] == "Single-modality training (average)"]["psnr_drop_pct"]
    logging.getLogger("simart").info(
        "the PCSD paper Table 2 (pooled PSNR): %s; Table 4 average off-diagonal drop: %s %%",
        "; ".join(f"{r.row} ({r.model}) n {r.n} {r.psnr_mean:.2f}"
                  for r in pooled.itertuples(index=False)) or "none",
        drop.iloc[0] if len(drop) else "n/a")
    return t
