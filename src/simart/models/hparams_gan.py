"""Hyper-parameters of the adversarial models (CycleGAN, pix2pix, PDA-Net and
its ablation variants), as torch-free data merged into :mod:`simart.models.hparams`.

``DEFAULT_HPARAMS`` (tiny, embedded CPU run), ``PAPER_HPARAMS`` (the seeds' settings, each
value's source in a comment) and ``check_value(model, key, value)`` for the keys only these
models have (raise ``ValueError``).
"""

from __future__ import annotations

from typing import Any

DEFAULT_HPARAMS: dict[str, dict[str, Any]] = {}
PAPER_HPARAMS: dict[str, dict[str, Any]] = {}


def check_value(model: str, key: str, value: Any) -> None:
    """Validate a GAN-only hyper-parameter (shared keys are checked by hparams)."""
