"""Scoring stacks of images with the metrics of :data:`simart.specs.metrics.METRICS`.

Every metric has one definition (its function in ``full_reference``, ``fourier``, ``lpips``
or ``noref``) and one entry in :mod:`simart.specs.metrics` stating its direction, kind and
what it measures; this module computes them (values, and the reason where a value is
missing). ``METRICS`` and ``Metric`` are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from simart.metrics._checks import MetricUnavailable
from simart.specs.metrics import METRICS, Better, Kind, Metric  # noqa: F401  (the registry's API)


@dataclass
class MetricResults:
    """Per-image values (float64, NaN where not computed) and reasons ('' where computed)."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    reasons: dict[str, np.ndarray] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Columns ``<metric>`` and ``<metric>_reason``, one row per image."""
        cols: dict[str, np.ndarray] = {}
        for name, v in self.values.items():
            cols[name] = v
            cols[f"{name}_reason"] = self.reasons[name]
        return pd.DataFrame(cols)


def _as_batch(a: np.ndarray | Tensor, name: str, device: torch.device | str | None) -> Tensor:
    """(H, W), (N, H, W) or (N, 1, H, W), NumPy or torch -> torch (N, 1, H, W), float32 or
    float64 as given (other dtypes: float64); each chunk goes to float64 when it is scored."""
    t = a.detach() if isinstance(a, Tensor) else torch.from_numpy(np.asarray(a))
    if t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float64)
    t = t.to(device=device if device is not None else t.device)
    if t.ndim == 2:
        t = t[None]
    if t.ndim == 3:
        t = t[:, None]
    if t.ndim != 4 or t.shape[1] != 1:
        raise ValueError(f"'{name}': expected (H, W), (N, H, W) or (N, 1, H, W) images, "
                         f"got {tuple(t.shape)}")
    return t


def _check_names(names: Sequence[str]) -> None:
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; available: {sorted(METRICS)}")


def compute_metrics_with_reasons(
    pred: np.ndarray | Tensor,
    clean: np.ndarray | Tensor | None = None,
    *,
    degraded: np.ndarray | Tensor | None = None,
    metrics: Sequence[str] | None = None,
    data_range: float = 1.0,
    pixel_size_nm: np.ndarray | Sequence[float] | float | None = None,
    lpips_backbone: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
    max_pixels: int | None = None,
) -> MetricResults:
    """Score every image with every requested metric (default: all of :data:`METRICS`).

    Images: (N, H, W) / (N, 1, H, W) arrays or tensors, computed in float64 on ``device``
    (default: the inputs' device), in chunks of at most ``max_pixels`` pixels per input
    (default: 2^18 on CPU — one 512² image: the memory-bound steps then run in cache, which
    on CPU beats larger batches —, 2^24 on a GPU).
    ``pixel_size_nm``: nm/px, one value or one per image (NaN = unknown for that image).
    A metric that cannot be computed (:class:`MetricUnavailable`: no reference given,
    images too small, LPIPS backbone absent) is NaN for every image with the reason; one
    that is undefined for an image (a constant image for Pearson r) is NaN for that image
    with the registry's reason. Bad pixels (NaN, inf) and mismatched shapes raise.
    """
    names = list(METRICS) if metrics is None else list(metrics)
    _check_names(names)
    x = _as_batch(pred, "pred", device)
    n = x.shape[0]
    refs = {"full_reference": None if clean is None else _as_batch(clean, "clean", x.device),
            "input_reference": None if degraded is None else _as_batch(degraded, "degraded",
                                                                         x.device)}
    for what, r in refs.items():
        if r is not None and r.shape != x.shape:
            raise ValueError(f"pred {tuple(x.shape)} and its {what.split('_')[0]} images "
                             f"{tuple(r.shape)} must have the same shape")
    for what, t in {"pred": x, **{k: v for k, v in refs.items() if v is not None}}.items():
        if not bool(torch.isfinite(t).all()):
            bad = torch.nonzero(~torch.isfinite(t).flatten(1).all(1)).flatten().tolist()
            raise ValueError(f"'{what}' images {bad[:10]} have NaN or infinite pixels")
    sizes = None
    if pixel_size_nm is not None:
        sizes = np.broadcast_to(np.asarray(pixel_size_nm, dtype=np.float64), (n,)).copy()
    if max_pixels is None:
        max_pixels = 1 << 18 if x.device.type == "cpu" else 1 << 24
    chunk = max(1, max_pixels // max(1, x.shape[-1] * x.shape[-2]))
    out = MetricResults()
    for name in names:
        entry = METRICS[name]
        values = np.full(n, np.nan)
        reasons = np.full(n, "", dtype=object)
        ref = refs.get(entry.kind)
        try:
            if entry.kind != "no_reference" and ref is None:
                raise MetricUnavailable(
                    f"no {'clean' if entry.kind == 'full_reference' else 'degraded input'} "
                    f"image to compare with")
            rows = np.arange(n)
            if "pixel_size_nm" in entry.needs:
                if sizes is None:
                    raise MetricUnavailable("no pixel size (pixel_size_nm) for these images")
                known = np.isfinite(sizes) & (sizes > 0)
                reasons[~known] = "no pixel size (pixel_size_nm) for this image"
                rows = rows[known]
            for start in range(0, len(rows), chunk):
                idx = rows[start:start + chunk]
                sel = torch.from_numpy(idx).to(x.device)
                xs = x[sel].to(torch.float64)
                kw: dict = {}
                if "pixel_size_nm" in entry.needs:
                    kw["pixel_size_nm"] = torch.from_numpy(sizes[idx]).to(x.device)
                if "lpips_backbone" in entry.needs:
                    kw["lpips_backbone"] = lpips_backbone
                with torch.no_grad():
                    if entry.kind == "no_reference":
                        v = entry.fn(xs)
                    else:
                        v = entry.fn(xs, ref[sel].to(torch.float64), data_range=data_range, **kw)
                values[idx] = v.detach().to("cpu", torch.float64).numpy()
            undefined = np.isnan(values) & (reasons == "")
            reasons[undefined] = entry.undefined or "undefined for this image"
        except MetricUnavailable as exc:
            values[:] = np.nan
            reasons[:] = str(exc)
        out.values[name] = values
        out.reasons[name] = reasons
    return out


def compute_metrics(
    pred: np.ndarray | Tensor,
    clean: np.ndarray | Tensor | None = None,
    data_range: float = 1.0,
    metrics: Sequence[str] | None = None,
    **kwargs,
) -> dict[str, np.ndarray]:
    """Per-image values only (float64 ``(N,)``, NaN where not computed); see
    :func:`compute_metrics_with_reasons` for the arguments and the reasons."""
    return compute_metrics_with_reasons(pred, clean, metrics=metrics, data_range=data_range,
                                        **kwargs).values


def compute_metric_table(*args, **kwargs) -> pd.DataFrame:
    """:func:`compute_metrics_with_reasons` as a table: ``<metric>`` and ``<metric>_reason``."""
    return compute_metrics_with_reasons(*args, **kwargs).to_frame()
