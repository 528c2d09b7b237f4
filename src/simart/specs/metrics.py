"""The metrics: one entry each, stating the function (by dotted path), which way is
better, the kind, the unit, extra inputs and why a value can be undefined.

Evaluation cells, the aggregated tables, the statistics and the config's metric names all
read :data:`METRICS`; the function is imported only when a metric is computed
(:mod:`simart.metrics.registry` scores with it). Adding a metric = its function + one
entry here (+ a test): ``docs/extending.md``.

Kinds: ``full_reference`` ``fn(x, ref)`` against the clean image; ``input_reference``
``fn(x, degraded)`` against the degraded input (for data without ground truth);
``no_reference`` ``fn(x)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Literal, NamedTuple

Kind = Literal["full_reference", "input_reference", "no_reference"]
Better = Literal["higher", "lower", "one"]


class Metric(NamedTuple):
    """Registry entry: the function, which way is better, and what it measures."""

    impl: str  # dotted path of the function, imported when first used (:attr:`fn`)
    better: Better  # "one": closest to 1 is best (EPI gradient-norm ratio)
    description: str
    kind: Kind = "full_reference"
    unit: str = ""
    needs: tuple[str, ...] = ()  # extra keyword inputs: "pixel_size_nm", "lpips_backbone"
    undefined: str = ""  # why the function returns NaN for an image (recorded in tables)

    @property
    def fn(self) -> Callable:
        """The metric's function (imports its module: torch for most)."""
        module, _, name = self.impl.rpartition(".")
        return getattr(importlib.import_module(module), name)

    @property
    def higher_is_better(self) -> bool | None:
        return {"higher": True, "lower": False, "one": None}[self.better]


_CONST = "undefined: constant image (zero variance)"
METRICS: dict[str, Metric] = {
    "psnr": Metric("simart.metrics.full_reference.psnr", "higher",
                   "peak signal-to-noise ratio, data range stated (1.0); +inf for identical images",
                   unit="dB"),
    "ssim": Metric("simart.metrics.full_reference.ssim", "higher",
                   "SSIM, Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, valid region"),
    "ms_ssim": Metric("simart.metrics.full_reference.ms_ssim", "higher",
                      "MS-SSIM, 5 scales, Wang's weights, valid region (needs >= 176 px)"),
    "ms_ssim_3": Metric("simart.metrics.full_reference.ms_ssim_3", "higher",
                        "MS-SSIM with 3 scales (first 3 weights renormalised; needs >= 44 px); "
                        "NOT comparable to 5-scale MS-SSIM"),
    "lpips": Metric("simart.metrics.lpips.lpips", "lower",
                    "LPIPS, AlexNet ImageNet backbone + v0.1 linear heads, grey -> RGB",
                    needs=("lpips_backbone",)),
    "mae": Metric("simart.metrics.full_reference.mae", "lower", "mean absolute error", unit="image units"),
    "mse": Metric("simart.metrics.full_reference.mse", "lower", "mean squared error", unit="image units²"),
    "nrmse_range": Metric("simart.metrics.full_reference.nrmse_range", "lower",
                          "NRMSE = RMSE / (max - min of the clean image) (the PI-DDPM paper)",
                          undefined="undefined: constant clean image (zero range)"),
    "nrmse_euclidean": Metric("simart.metrics.full_reference.nrmse_euclidean", "lower",
                              "NRMSE = ||x - ref|| / ||ref|| (norm form; scikit-image default)",
                              undefined="undefined: all-zero clean image"),
    "nrmse_mean": Metric("simart.metrics.full_reference.nrmse_mean", "lower",
                         "NRMSE = RMSE / mean of the clean image (the conditional-DDPM paper eq. 9)",
                         undefined="undefined: zero-mean clean image"),
    "pearson": Metric("simart.metrics.full_reference.pearson", "higher", "Pearson r of pixel values (the conditional-DDPM paper)",
                      undefined=_CONST),
    "epi_corr": Metric("simart.metrics.full_reference.epi_corr", "higher",
                       "edge preservation, gradient correlation (the PCSD paper eq. 29)",
                       undefined="undefined: an image without gradient (constant)"),
    "epi_ratio": Metric("simart.metrics.full_reference.epi_ratio", "one",
                        "edge preservation, ||grad x||_1 / ||grad ref||_1 (the PINNED paper); 1 best",
                        undefined="undefined: constant clean image (no gradient)"),
    "frc_res_px": Metric("simart.metrics.fourier.frc_res_px", "lower",
                         "FRC resolution at the 0.143 threshold vs the clean image, Hann window; "
                         "2 px = never crosses (Nyquist)", unit="px",
                         undefined="undefined: an image without power (FRC NaN)"),
    "frc_res_nm": Metric("simart.metrics.fourier.frc_res_nm", "lower",
                         "FRC resolution at 0.143 in nm (px x pixel_size_nm)", unit="nm",
                         needs=("pixel_size_nm",),
                         undefined="undefined: an image without power (FRC NaN)"),
    "frc_res_px_ref": Metric("simart.metrics.fourier.frc_res_px_ref", "lower",
                             "FRC resolution at the 0.5 threshold vs the clean image (Rosenthal & "
                             "Henderson's counterpart of 0.143 between noisy halves), Hann window; "
                             "2 px = never crosses (Nyquist)", unit="px",
                             undefined="undefined: an image without power (FRC NaN)"),
    "frc_res_nm_ref": Metric("simart.metrics.fourier.frc_res_nm_ref", "lower",
                             "FRC resolution at 0.5 in nm (px x pixel_size_nm)", unit="nm",
                             needs=("pixel_size_nm",),
                             undefined="undefined: an image without power (FRC NaN)"),
    "fsc": Metric("simart.metrics.fourier.fsc", "higher",
                  "Fourier spectrum consistency: cosine of magnitude spectra (the PINNED paper)",
                  undefined="undefined: an all-zero image"),
    "pss": Metric("simart.metrics.fourier.pss", "higher",
                  "power-spectrum similarity vs the clean image: Pearson r of log radial power "
                  "spectra (the PCSD paper §4.3.2)", undefined="undefined: a ring without power"),
    "pss_input": Metric("simart.metrics.fourier.pss", "higher",
                        "power-spectrum similarity vs the degraded input (the PCSD paper §4.3.2, "
                        "for data without ground truth)", kind="input_reference",
                        undefined="undefined: a ring without power"),
    "piqe": Metric("simart.metrics.noref.piqe", "lower", "PIQE (pypiqe 1.2 algorithm), 0-100, no reference",
                   kind="no_reference", undefined="undefined: image maximum <= 0"),
    "brisque": Metric("simart.metrics.noref.brisque", "lower",
                      "BRISQUE with the brisque 0.2.0 package's SVR model, no reference",
                      kind="no_reference"),
}


def register_metric(name: str, metric: Metric) -> Metric:
    """Add a metric at run time (tests, plug-ins; before the config that names it is
    validated). Its function is imported from ``metric.impl`` when first computed."""
    if name in METRICS:
        raise ValueError(f"metric {name!r} is already registered ({METRICS[name].impl})")
    module, _, attr = metric.impl.rpartition(".")
    if not module or not attr:
        raise ValueError(f"metric {name!r}: impl {metric.impl!r} must be a dotted path "
                         "module.function")
    METRICS[name] = metric
    return metric
