"""The conditional-DDPM paper: the paper's claimed medians beside ours, one row per number.

The conditional-DDPM paper benchmarks on four real datasets (STED microtubules, STED mitochondria, confocal
-> Airyscan synapses, confocal zebrafish; Tables 2-5, S3, S4, medians over the test
images). Our ``lm`` dataset simulates widefield and confocal fluorescence (PSF + Poisson,
docs/dataset.md); we pair each of our modes with the paper's dataset whose task is closest and say so
in ``why``:

* ``confocal`` <-> zebrafish (Tables 5 and S4): confocal images, Poisson-dominated noise;
* ``widefield`` <-> synapses (Tables 4 and S4): a low-resolution microscope to a sharper
  one, i.e. deblurring and denoising together.

The STED tables (2, 3, S3) have no counterpart here (their claims stay in ``claims.csv``).

Rows: Raw -> ``noisy``, Noise2Void -> ``n2v``, Pix2pix -> ``pix2pix``, UNet-RCAN ->
``unet_rcan``, CARE -> ``care``, DDPM -> one sample of ``cond_ddpm`` (``sample_1``, scored
for PSNR and SSIM in ``condddpm_cond_ddpm_curve.csv``), DDPM-avg -> ``cond_ddpm`` (the mean
of its samples). Metrics: MAE on the paper's 8-bit scale (ours x 255 / data_range), PSNR,
MS-SSIM (5 scales; ``ms_ssim_3`` stands in below 176 px and says so), LPIPS, NRMSE = RMSE /
mean of the clean image (``nrmse_mean``, the paper's eq. 9) and Pearson r.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from simart.evaluation.aggregate import cells_by_subset
from simart.io import atomic_path
from simart.reporting.claims import load_claims
from simart.reporting.piddpm import metric_values

PAPER = "condddpm"
CLAIM_COLUMNS = ("paper", "table", "row", "metric", "claimed", "measured", "n", "scale", "why")
SINGLE = "cond_ddpm_single"   # our row name of one DDPM sample (the paper's "DDPM")
#: (the paper's row label, our model) in the paper's order
ROWS = (("Raw", "noisy"), ("Noise2Void", "n2v"), ("Pix2pix", "pix2pix"),
        ("UNet-RCAN", "unet_rcan"), ("CARE", "care"), ("DDPM", SINGLE),
        ("DDPM-avg", "cond_ddpm"))
#: our subset -> (the paper's tables that pair with it, why they pair)
PAIRING: dict[str, tuple[tuple[str, ...], str]] = {
    "confocal": (("5", "S4 Zebrafish"),
                 ("paper: real confocal zebrafish (1 frame vs the 50-frame average); ours: "
                 "simulated confocal PSF + Poisson")),
    "widefield": (("4", "S4 Synapse"),
                  ("paper: real confocal -> Airyscan synapses; ours: simulated widefield PSF + "
                  "Poisson (both deblur and denoise)")),
}
EIGHT_BIT = ("mae",)   # metrics the paper reports on the 0-255 scale


def single_sample_cells(curve: pd.DataFrame, dataset: str = "lm"
                        ) -> dict[str, pd.DataFrame]:
    """{subset: a cell-like table of one DDPM sample} from condddpm_cond_ddpm_curve.csv (rows
    ``series == 'sample_1'``: image_index, psnr, ssim; other metrics are not scored)."""
    out = {}
    one = curve[curve["series"] == "sample_1"]
    for subset, grp in one.groupby("subset", sort=True):
        out[str(subset)] = pd.DataFrame({
            "dataset": dataset, "modality": str(subset), "model": SINGLE,
            "image_index": grp["image_index"].to_numpy(), "status": "ok",
            "missing_reason": "", "psnr": grp["psnr"].to_numpy(dtype=np.float64),
            "ssim": grp["ssim"].to_numpy(dtype=np.float64)})
    return out


def measured(cell: pd.DataFrame | None, metric: str, data_range: float
             ) -> tuple[float, int, str, str]:
    """(median, n, metric shown, note) of one cell on the paper's scale."""
    if cell is None:
        return np.nan, 0, metric, "not evaluated in this config"
    vals, shown, note = metric_values(cell, metric)
    if cell["model"].iloc[0] == SINGLE and not len(vals):
        note = "one DDPM sample is scored for PSNR and SSIM only (condddpm_cond_ddpm_curve.csv)"
    scale = 255.0 / data_range if metric in EIGHT_BIT else 1.0
    med = float(vals.median()) * scale if len(vals) else np.nan
    return med, len(vals), shown, note


def claims_vs_measured(cells: Mapping[str, Mapping[str, pd.DataFrame]], data_range: float,
                       scale: str | Mapping[str, str] = "") -> pd.DataFrame:
    """One row per claim of the paired tables (:data:`PAIRING`) and subset of ``cells``
    (``{subset: {model: cell}}``, the single DDPM sample under :data:`SINGLE`)."""
    claims = load_claims(PAPER)
    rows = []
    for subset in sorted(cells):
        tables, pair_why = PAIRING.get(subset, ((), ""))
        for c in claims[claims["table"].isin(tables)].itertuples(index=False):
            model = dict(ROWS).get(c.row)
            if model is None:
                continue
            med, n, shown, note = measured(cells[subset].get(model), c.metric, data_range)
            why = [pair_why]
            if shown != c.metric:
                why.append(note)  # "<stand-in> stands in: <why the metric is missing>"
            elif not np.isfinite(med):
                why.append(f"missing: {note}")
            s = scale.get(model, "") if isinstance(scale, Mapping) else scale
            unit = " x 255 (8-bit)" if c.metric in EIGHT_BIT else ""
            rows.append({"paper": PAPER, "table": c.table, "row": c.row, "metric": c.metric,
                         "claimed": float(c.value), "measured": med, "n": n,
                         "scale": "; ".join(x for x in (s, f"lm/{subset}, median{unit}") if x),
                         "why": "; ".join(w for w in why if w)})
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def load_cells(paths: Sequence[str | os.PathLike], curve_csv: str | os.PathLike | None = None
               ) -> dict[str, dict[str, pd.DataFrame]]:
    """{subset: {model: cell}} of lm cell files, plus the single DDPM sample from the curve
    table of condddpm_tables when given."""
    out = cells_by_subset(paths)
    if curve_csv is not None:
        for subset, cell in single_sample_cells(pd.read_csv(curve_csv)).items():
            out.setdefault(subset, {})[SINGLE] = cell
    return out


def write_claims(cell_paths: Sequence[str | os.PathLike], curve_csv: str | os.PathLike | None,
                 data_range: float, out_csv: str | os.PathLike,
                 scale: str | Mapping[str, str] = "") -> pd.DataFrame:
    """Read the cells (and the curve table), write claims_vs_measured_condddpm.csv."""
    frame = claims_vs_measured(load_cells(cell_paths, curve_csv), data_range, scale)
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False)
    return frame
