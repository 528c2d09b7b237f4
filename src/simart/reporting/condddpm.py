"""The conditional-DDPM paper measurements from ``cond_ddpm``'s stored predictions.

* **DDPM-avg vs the number of samples** (the conditional-DDPM paper Fig. S1): PSNR and SSIM of the running
  mean of the first k samples (``mean_n{k}``, k = 1 is one sample) against the clean image,
  per test image; and the paired comparison DDPM-avg (the model's prediction, the mean of
  all N samples) against a single sample (``sample_1``, the paper's "DDPM" row).
* **Uncertainty on edges vs flat regions** (the conditional-DDPM paper §3.4: the pixelwise standard
  deviation over the samples is highest along structure edges). Per test image: the
  gradient magnitude of the *clean* image (Sobel) splits the pixels into edges (its top
  ``edge_q`` fraction) and flat regions (its bottom ``flat_q`` fraction); the ratio of mean
  uncertainty on edges to mean uncertainty in flat regions, for the ``std`` and ``entropy``
  maps. Also the Pearson correlation of ``std`` with the absolute error of the prediction
  (is the uncertainty where the errors are?).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence

import h5py
import numpy as np
import pandas as pd
import scipy.ndimage
import scipy.stats
import torch

from simart.data.shards import Shard
from simart.io import atomic_path
from simart.metrics.full_reference import psnr, ssim
from simart.stats import run_test

log = logging.getLogger("simart")

EDGE_Q = 0.2     # edges: the top 20 % of the clean image's gradient magnitude
FLAT_Q = 0.5     # flat: the bottom 50 %


def _read(f: h5py.File, name: str, subset: str) -> np.ndarray:
    return np.asarray(f[name][subset][()], dtype=np.float32)


def edge_flat_masks(clean: np.ndarray, edge_q: float = EDGE_Q,
                    flat_q: float = FLAT_Q) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (edge, flat) masks of one clean image from its Sobel gradient magnitude."""
    img = clean.astype(np.float64)
    g = np.hypot(scipy.ndimage.sobel(img, 0, mode="reflect"),
                 scipy.ndimage.sobel(img, 1, mode="reflect"))
    hi, lo = np.quantile(g, 1 - edge_q), np.quantile(g, flat_q)
    # ties (e.g. a piecewise-constant image, mostly zero gradient): edges stay above flat
    return (g >= hi) & (g > lo), g <= lo


def edge_flat_ratio(unc: np.ndarray, clean: np.ndarray, edge_q: float = EDGE_Q,
                    flat_q: float = FLAT_Q) -> tuple[float, float, float]:
    """(mean uncertainty on edges, in flat regions, their ratio) of one image."""
    edge, flat = edge_flat_masks(clean, edge_q, flat_q)
    e, f = float(unc[edge].mean()), float(unc[flat].mean())
    return e, f, (e / f if f > 0 else np.inf)


def _scores(x: np.ndarray, ref: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    xt, rt = torch.from_numpy(x[:, None]), torch.from_numpy(ref[:, None])
    return (psnr(xt, rt, data_range).numpy().astype(np.float64),
            ssim(xt, rt, data_range).numpy().astype(np.float64))


def measure(pred_paths: Sequence[str | os.PathLike],
            shard_paths: Sequence[Mapping[str, str | os.PathLike]],
            data_range: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-image tables ``(curve, uncertainty)`` from matching lists of prediction files and
    ``{subset: test shard}`` maps (one per test shard index)."""
    curve_rows, unc_rows = [], []
    for pred_path, shards in zip(pred_paths, shard_paths, strict=True):
        with h5py.File(pred_path, "r") as f:
            counts = sorted(int(m.group(1)) for k in f
                            if (m := re.fullmatch(r"mean_n(\d+)", k)))
            for subset, shard_path in shards.items():
                with Shard(shard_path) as sh:
                    clean = sh.clean()
                    index = sh.params()["image_index"].to_numpy() if "image_index" in \
                        sh.params().columns else np.arange(len(clean))
                pred = _read(f, "prediction", subset)
                if len(pred) != len(clean):
                    raise ValueError(f"{pred_path} [{subset}]: {len(pred)} predictions for "
                                     f"{len(clean)} images of {shard_path}")
                series = {f"mean_n{k}": k for k in counts}
                series["sample_1"] = 0
                series["prediction"] = -1
                for name, k in series.items():
                    p, s = _scores(_read(f, name, subset), clean, data_range)
                    for i in range(len(clean)):
                        curve_rows.append({"subset": subset, "image_index": int(index[i]),
                                           "series": name, "k": k, "psnr": p[i], "ssim": s[i]})
                std, ent = _read(f, "std", subset), _read(f, "entropy", subset)
                for i in range(len(clean)):
                    row = {"subset": subset, "image_index": int(index[i])}
                    for name, unc in (("std", std[i]), ("entropy", ent[i])):
                        e, fl, r = edge_flat_ratio(unc, clean[i])
                        row.update({f"{name}_edge": e, f"{name}_flat": fl, f"{name}_ratio": r})
                    err = np.abs(pred[i] - clean[i]).ravel()
                    u = std[i].ravel()
                    row["std_abs_error_r"] = (float(np.corrcoef(u, err)[0, 1])
                                              if u.std() > 0 and err.std() > 0 else np.nan)
                    unc_rows.append(row)
    return pd.DataFrame(curve_rows), pd.DataFrame(unc_rows)


def summarize(curve: pd.DataFrame, unc: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per subset: the curve (mean PSNR/SSIM per k), DDPM-avg vs single sample (paired),
    and the edge/flat uncertainty ratios."""
    k_rows = curve[curve["k"] > 0].groupby(["subset", "k"], sort=True).agg(
        psnr_mean=("psnr", "mean"), psnr_std=("psnr", "std"), ssim_mean=("ssim", "mean"),
        n=("psnr", "size")).reset_index()
    avg_rows = []
    for subset, grp in curve.groupby("subset", sort=True):
        wide = grp.pivot_table(index="image_index", columns="series", values=["psnr", "ssim"])
        for metric in ("psnr", "ssim"):
            a, b = wide[(metric, "prediction")].to_numpy(), wide[(metric, "sample_1")].to_numpy()
            _, p, note = run_test("wilcoxon", a, b)
            avg_rows.append({"subset": subset, "metric": metric, "n": len(a),
                             "ddpm_avg": a.mean(), "single_sample": b.mean(),
                             "diff_mean": (a - b).mean(), "frac_avg_better": (a > b).mean(),
                             "wilcoxon_p": p, "note": note})
    ratio_rows = []
    for subset, grp in unc.groupby("subset", sort=True):
        for name in ("std", "entropy"):
            r = grp[f"{name}_ratio"].to_numpy()
            d = (grp[f"{name}_edge"] - grp[f"{name}_flat"]).to_numpy()
            _, p, note = run_test("wilcoxon", d, np.zeros_like(d))
            ratio_rows.append({"subset": subset, "map": name, "n": len(r),
                               "edge_mean": grp[f"{name}_edge"].mean(),
                               "flat_mean": grp[f"{name}_flat"].mean(),
                               "ratio_median": float(np.median(r)),
                               "frac_edge_higher": float((d > 0).mean()),
                               "wilcoxon_p": p, "note": note})
        ratio_rows.append({"subset": subset, "map": "std vs abs. error (Pearson r)",
                           "n": len(grp), "ratio_median": float(grp["std_abs_error_r"].median()),
                           "edge_mean": np.nan, "flat_mean": np.nan,
                           "frac_edge_higher": np.nan, "wilcoxon_p": np.nan, "note": ""})
    return {"curve": k_rows, "avg_vs_single": pd.DataFrame(avg_rows),
            "uncertainty": pd.DataFrame(ratio_rows)}


def _p(p: float) -> str:
    return "–" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def to_markdown(s: dict[str, pd.DataFrame], context: str) -> str:
    lines = ["# The conditional-DDPM paper: DDPM-avg and uncertainty maps, measured", "",
             context, "", "## DDPM-avg vs a single sample (paired over the test images)", "",
             ("| mode | metric | n | DDPM-avg | single sample | Δ (avg − single) | "
              "avg better on | Wilcoxon p |"), "|---|---|---|---|---|---|---|---|"]
    for r in s["avg_vs_single"].itertuples(index=False):
        d = 2 if r.metric == "psnr" else 4
        lines.append(f"| {r.subset} | {r.metric} | {r.n} | {r.ddpm_avg:.{d}f} | "
                     f"{r.single_sample:.{d}f} | {r.diff_mean:+.{d}f} | "
                     f"{100 * r.frac_avg_better:.0f} % | {_p(r.wilcoxon_p)} |")
    lines += ["", "## Metric vs number of averaged samples (the conditional-DDPM paper Fig. S1)", "",
              "| mode | k samples | PSNR (dB) mean ± std | SSIM mean | n |", "|---|---|---|---|---|"]
    for r in s["curve"].itertuples(index=False):
        lines.append(f"| {r.subset} | {r.k} | {r.psnr_mean:.2f} ± {r.psnr_std:.2f} | "
                     f"{r.ssim_mean:.4f} | {r.n} |")
    lines += ["", "## Uncertainty on edges vs flat regions (the conditional-DDPM paper §3.4)", "",
              (f"Edges: the top {EDGE_Q:.0%} of the clean image's Sobel gradient magnitude; "
               f"flat: its bottom {FLAT_Q:.0%}. Per image: mean uncertainty on edges and in "
               "flat regions; Wilcoxon signed-rank test of (edge − flat) against 0."), "",
              ("| mode | map | n | edges (mean) | flat (mean) | median ratio edge/flat | "
               "edge higher on | Wilcoxon p |"), "|---|---|---|---|---|---|---|---|"]
    for r in s["uncertainty"].itertuples(index=False):
        if not np.isfinite(r.edge_mean):
            lines.append(f"| {r.subset} | {r.map} | {r.n} | | | median r = "
                         f"{r.ratio_median:.3f} | | |")
            continue
        lines.append(f"| {r.subset} | {r.map} | {r.n} | {r.edge_mean:.4g} | {r.flat_mean:.4g} "
                     f"| {r.ratio_median:.2f} | {100 * r.frac_edge_higher:.0f} % | "
                     f"{_p(r.wilcoxon_p)} |")
    return "\n".join(lines + [""])


def write_tables(pred_paths: Sequence[str | os.PathLike],
                 shard_paths: Sequence[Mapping[str, str | os.PathLike]], data_range: float,
                 md_path: str | os.PathLike, curve_csv: str | os.PathLike,
                 uncertainty_csv: str | os.PathLike, context: str = "") -> dict:
    """Measure, summarise and write (atomically) the conditional-DDPM paper tables; per-image CSVs."""
    curve, unc = measure(pred_paths, shard_paths, data_range)
    s = summarize(curve, unc)
    with atomic_path(curve_csv) as tmp:
        curve.to_csv(tmp, index=False)
    with atomic_path(uncertainty_csv) as tmp:
        unc.to_csv(tmp, index=False)
    with atomic_path(md_path) as tmp:
        tmp.write_text(to_markdown(s, context))
    log.info("the conditional-DDPM paper: %s; median edge/flat %s",
             "; ".join(f"{r.subset} {r.metric} DDPM-avg {r.ddpm_avg:.4f} vs single "
                       f"{r.single_sample:.4f}" for r in s["avg_vs_single"].itertuples(index=False))
             or "no images",
             "; ".join(f"{r.subset} {r.map} {r.ratio_median:.3f}"
                       for r in s["uncertainty"].itertuples(index=False)) or "none")
    return s
