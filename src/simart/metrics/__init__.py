"""Image-quality metrics: one definition each, batched torch ``(B, 1, H, W)``, and a registry.

``METRICS`` (name -> :class:`Metric`) is what evaluation, statistics and training validation
use; :func:`compute_metrics_with_reasons` scores stacks of images and records why a value
is missing. Modules: ``full_reference`` (pixel domain, SSIM family, EPI), ``fourier`` (FRC,
spectrum consistency, power-spectrum similarity), ``lpips`` (AlexNet, no torchvision),
``noref`` (PIQE, BRISQUE).
"""

from simart.metrics._checks import MetricUnavailable
from simart.metrics.full_reference import psnr, ssim, ssim_map
from simart.metrics.registry import (
    METRICS,
    Metric,
    MetricResults,
    compute_metric_table,
    compute_metrics,
    compute_metrics_with_reasons,
)

__all__ = ["METRICS", "Metric", "MetricResults", "MetricUnavailable", "compute_metric_table",
           "compute_metrics", "compute_metrics_with_reasons", "psnr", "ssim", "ssim_map"]
