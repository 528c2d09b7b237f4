"""Image-quality metrics: one definition each, batched torch ``(B, 1, H, W)``, and a registry.

``METRICS`` (name -> :class:`Metric`) is what evaluation, statistics and training validation
use; :func:`compute_metrics_with_reasons` scores stacks of images and records why a value
is missing. Modules: ``full_reference`` (pixel domain, SSIM family, EPI), ``fourier`` (FRC,
spectrum consistency, power-spectrum similarity), ``lpips`` (the ``lpips`` package,
AlexNet backbone from a verified local torchvision checkpoint),
``noref`` (PIQE, BRISQUE, noise level, artefact reduction).

For images without ground truth (not registry entries, called directly): ``noise_sigma_mad``,
``artifact_reduction`` (``noref``) and ``single_image_frc`` (``fourier``, the one-image FRC).
"""

from simart.metrics._checks import MetricUnavailable
from simart.metrics.fourier import (
    SingleImageFRC,
    single_image_frc,
    single_image_frc_frequencies,
)
from simart.metrics.full_reference import psnr, ssim, ssim_map
from simart.metrics.noref import artifact_reduction, noise_sigma_mad
from simart.metrics.registry import (
    METRICS,
    Metric,
    MetricResults,
    compute_metric_table,
    compute_metrics,
    compute_metrics_with_reasons,
)

__all__ = ["METRICS", "Metric", "MetricResults", "MetricUnavailable", "SingleImageFRC",
           "artifact_reduction", "compute_metric_table", "compute_metrics",
           "compute_metrics_with_reasons", "noise_sigma_mad", "psnr", "single_image_frc",
           "single_image_frc_frequencies", "ssim", "ssim_map"]
