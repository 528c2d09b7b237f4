"""Image-quality metrics (full-reference now; no-reference and Fourier metrics to come)."""

from simart.metrics.full_reference import METRICS, Metric, compute_metrics, psnr, ssim, ssim_map

__all__ = ["METRICS", "Metric", "compute_metrics", "psnr", "ssim", "ssim_map"]
