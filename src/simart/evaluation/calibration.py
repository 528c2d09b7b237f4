"""SIMART's difficulty, measured: input quality, severity and the oracle bound per image.

For a sample of each modality's images (:func:`sample_indices`: evenly spaced over the
train, val and test shards in that order, at most ``simart.calibration_images`` per
modality; every split is drawn from the same distributions, and the test split alone is
small in the embedded run) the table holds the input's PSNR / SSIM,
the oracle's (:mod:`simart.restore.oracle`: the best a method that knows the true operator,
noise and clean spectrum can do), their difference, and the image's severity columns
(:mod:`simart.physics.severity`). :func:`summary` condenses it per modality and checks the
targets the default distributions were calibrated to (:data:`TARGETS`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from simart.io import atomic_path

#: What the default ("calibrated") distributions aim for, per modality: the median input
#: PSNR in a band (dB) and the oracle's median gain over the input at least
#: ``MIN_ORACLE_GAIN_DB``. 18-30 dB: below 18 dB the input has lost most of its contrast
#: (a flat grey image at the clean mean scores ~15 dB median on the default sources), above 30 dB the
#: degradation is barely visible and no method can be ranked. TEM cannot meet 18 dB with a
#: physical bright-field CTF: its low spatial frequencies, which carry most of an image's
#: contrast, are transferred at -A (inverted and attenuated to 7-20 %), so the input
#: scores near the flat-grey level whatever the parameters; its band starts at 10 dB and
#: its recoverability is shown by the oracle's gain.
INPUT_PSNR_BANDS: dict[str, tuple[float, float]] = {
    "AFM": (18.0, 30.0), "TEM": (10.0, 30.0), "SEM": (18.0, 30.0), "STEM": (18.0, 30.0)}
MIN_ORACLE_GAIN_DB = 3.0
TARGETS = ("median input PSNR in " + ", ".join(
    f"[{lo:g}, {hi:g}] dB ({m})" for m, (lo, hi) in INPUT_PSNR_BANDS.items())
    + f"; median oracle gain >= {MIN_ORACLE_GAIN_DB:g} dB (every modality)")


def sample_indices(n_total: int, n_max: int) -> np.ndarray:
    """``min(n_total, n_max)`` image indices evenly spaced over ``0 .. n_total - 1``."""
    if n_total <= n_max:
        return np.arange(n_total)
    return np.unique(np.round(np.linspace(0, n_total - 1, n_max)).astype(np.int64))


def _scores(pred: np.ndarray, clean: np.ndarray, data_range: float) -> dict[str, np.ndarray]:
    from simart.metrics import compute_metrics_with_reasons

    res = compute_metrics_with_reasons(pred, clean, metrics=["psnr", "ssim"],
                                       data_range=data_range)
    return {k: np.asarray(v, dtype=np.float64) for k, v in res.values.items()}


def calibrate_modality(modality: str, shards: Sequence[str | os.PathLike], n_max: int,
                       data_range: float = 1.0) -> pd.DataFrame:
    """One row per sampled image of one modality (``shards`` in the order to sample)."""
    from simart.data.shards import Shard
    from simart.physics.severity import SEVERITY_COLUMNS
    from simart.restore.oracle import oracle_restore
    from simart.specs.modalities import DEFAULT_PARAM_SPECS

    rows: list[dict] = []
    sizes = []
    for p in shards:  # the tables alone: a paper-scale modality has 250 shards of 1000 images
        with Shard(p) as s:
            sizes.append(len(s))
    starts = np.cumsum([0, *sizes])
    picks = sample_indices(int(starts[-1]), n_max)
    which = np.searchsorted(starts, picks, side="right") - 1
    keep = ("split", "image_index", "source_origin", "source_name",
            *DEFAULT_PARAM_SPECS[modality], *DEFAULT_PARAM_SPECS["noise"], *SEVERITY_COLUMNS)
    for k in np.unique(which):  # open only the shards holding sampled images, once each
        # the stored fingerprint, not a re-verification: that would read every image
        with Shard(shards[k]) as s:
            table_k = s.params()
            local = [int(j - starts[k]) for j in picks[which == k]]
            clean, deg = s.clean(local), s.degraded(local)
            fingerprint = str(s.attrs.get("fingerprint", ""))
        batch = [table_k.iloc[i].to_dict() for i in local]
        orc = np.stack([oracle_restore(x, y, modality, prm)
                        for x, y, prm in zip(clean, deg, batch, strict=True)])
        scores = {f"{name}_{metric}": v for name, pred in (("input", deg), ("oracle", orc))
                  for metric, v in _scores(pred, clean, data_range).items()}
        for n, prm in enumerate(batch):
            rows.append({"modality": modality, "shard": str(shards[k]),
                         "shard_fingerprint": fingerprint,
                         **{c: prm[c] for c in keep if c in prm},
                         **{c: float(v[n]) for c, v in scores.items()}})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["oracle_gain_db"] = table["oracle_psnr"] - table["input_psnr"]
    return table


def calibration_table(shards: Mapping[str, Sequence[str | os.PathLike]], n_max: int,
                      data_range: float = 1.0) -> pd.DataFrame:
    """:func:`calibrate_modality` of every modality of ``shards`` (modality -> paths)."""
    parts = [calibrate_modality(m, paths, n_max, data_range) for m, paths in shards.items()]
    return pd.concat([p for p in parts if not p.empty], ignore_index=True)


def _q(v: pd.Series) -> tuple[float, float, float]:
    a = v.to_numpy(dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return (np.nan, np.nan, np.nan)
    lo, med, hi = np.percentile(a, [10, 50, 90])
    return float(med), float(lo), float(hi)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per modality: n, median and 10th/90th percentiles of the input / oracle PSNR and
    SSIM, the gain, the severity columns; whether the targets hold."""
    from simart.physics.severity import SEVERITY_COLUMNS

    out = []
    for mod, t in table.groupby("modality", sort=False):
        row: dict = {"modality": mod, "n_images": len(t)}
        for col in ("input_psnr", "oracle_psnr", "oracle_gain_db", "input_ssim", "oracle_ssim",
                    *SEVERITY_COLUMNS):
            med, lo, hi = _q(t[col])
            row[col] = med
            row[f"{col}_p10"] = lo
            row[f"{col}_p90"] = hi
        lo, hi = INPUT_PSNR_BANDS.get(str(mod), (-np.inf, np.inf))
        row["input_psnr_in_band"] = bool(lo <= row["input_psnr"] <= hi)
        row["oracle_gain_ok"] = bool(row["oracle_gain_db"] >= MIN_ORACLE_GAIN_DB)
        out.append(row)
    return pd.DataFrame(out)


def markdown(summ: pd.DataFrame, context: str = "") -> str:
    """The summary as a Markdown table with its caption."""
    from simart.physics.severity import blur_label
    from simart.restore.oracle import oracle_method

    def cell(r, col, fmt="{:.1f}"):
        return (f"{fmt.format(r[col])} [{fmt.format(r[col + '_p10'])}, "
                f"{fmt.format(r[col + '_p90'])}]")

    head = ("| modality | n | input PSNR (dB) | oracle PSNR (dB) | oracle gain (dB) | "
            "input SSIM | oracle SSIM | blur (px) | blur / feature | SNR (dB) | targets |")
    lines = [head, "|" + "---|" * 11]
    for _, r in summ.iterrows():
        ok = "yes" if r["input_psnr_in_band"] and r["oracle_gain_ok"] else (
            "NO: " + ", ".join(w for w, good in (("input PSNR", r["input_psnr_in_band"]),
                                                 ("oracle gain", r["oracle_gain_ok"]))
                               if not good))
        lines.append(
            f"| {r['modality']} | {r['n_images']} | {cell(r, 'input_psnr')} | "
            f"{cell(r, 'oracle_psnr')} | {cell(r, 'oracle_gain_db')} | "
            f"{cell(r, 'input_ssim', '{:.2f}')} | {cell(r, 'oracle_ssim', '{:.2f}')} | "
            f"{cell(r, 'blur_px')} | {cell(r, 'blur_rel', '{:.2f}')} | {cell(r, 'snr_db')} | "
            f"{ok} |")
    mods = list(summ["modality"])
    blur = "; ".join(f"{m}: {blur_label(m)}" for m in mods)
    oracle = "; ".join(f"{m}: {oracle_method(m)}" for m in mods)
    caption = (
        "SIMART calibration: median [10th, 90th percentile] per modality over the sampled "
        f"images (train, val and test). Oracle = the best a method that knows the true operator, noise level "
        f"and clean spectrum of each image can do ({oracle}). Blur: {blur}; blur / feature "
        "divides it by the clean images' typical feature size at this image size. SNR: "
        "contrast variance of the noiseless image over the noise variance. Targets of the "
        f"default distributions: {TARGETS}. {context}").strip()
    return "\n".join(lines) + "\n\n" + caption + "\n"


def write(table: pd.DataFrame, csv_path: str | os.PathLike, md_path: str | os.PathLike,
          context: str = "") -> pd.DataFrame:
    """Write the per-image table (CSV) and the summary (Markdown) atomically."""
    summ = summary(table)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(md_path) as tmp:
        tmp.write_text(markdown(summ, context), encoding="utf-8")
    return summ
