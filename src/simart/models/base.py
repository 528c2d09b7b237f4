"""The contract every learned restoration model follows (CNNs here; diffusion and GANs later).

A model is an ``nn.Module`` subclass of :class:`RestorationModel` registered in
``simart.models.MODEL_REGISTRY`` under its config name. The one training loop
(``simart.train.loop``) owns devices, AMP, checkpoints, seeding, logging and validation; a
model only supplies

* ``training_step(batch, gen)`` -> ``(loss, logs)``: the scalar loss of one batch (the loop
  calls ``backward`` and the optimiser) and a dict of floats to log (each loss term);
* ``predict(y, subset)`` -> the estimate of the clean image for full images (eval mode; the
  loop / the predict rule wrap it in ``torch.no_grad``).

Hyper-parameters are data: ``DEFAULT_HPARAMS`` (tiny, embedded run) lives in the torch-free
module ``simart.models.hparams`` so that config validation does not import torch;
``self.hparams`` (defaults updated by the given ones) is stored in every checkpoint and a
checkpoint whose model name or hparams differ is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Batch:
    """One training batch; every image tensor is (B, 1, P, P) float32 on the model's device.

    ``y``: degraded input. ``x``: clean target (None where the data has none).
    ``y2``: a second, independent noisy realisation of the same clean image (same operator,
    new noise seed; Noise2Noise), None unless the model asks for it (``needs``).
    ``subset``: (B,) long, index of each image's subset (SIMART modality, CDN level, LM mode,
    STM domain) in the dataset's subset list (conditioning for later models).
    """

    y: torch.Tensor
    x: torch.Tensor | None = None
    y2: torch.Tensor | None = None
    subset: torch.Tensor | None = None

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """On ``device``; images in channels-last memory layout (the layout the training
        loop gives models: 1.2-1.5x faster convolutions on CPU, tensor cores on GPU)."""
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            if t is None:
                return None
            t = t.to(device, non_blocking=non_blocking)
            return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t

        return Batch(**{f.name: move(getattr(self, f.name)) for f in fields(self)})


class RestorationModel(nn.Module):
    """Base class: ``name``, ``needs`` (Batch fields the training step reads besides ``y``),
    ``size_multiple`` (full images are reflect-padded to a multiple of it in :meth:`predict`)."""

    name: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ("x",)
    size_multiple: ClassVar[int] = 1

    def __init__(self, **hparams):
        super().__init__()
        from simart.models.hparams import resolve_hparams

        self.hparams = resolve_hparams(self.name, hparams)

    def training_step(self, batch: Batch, gen: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def predict(self, y: torch.Tensor, subset: torch.Tensor | None = None) -> torch.Tensor:
        """Clean-image estimate of full images ``y`` (B, 1, H, W), any H, W."""
        m = self.size_multiple
        h, w = y.shape[-2:]
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            y = F.pad(y, (0, pw, 0, ph), mode="reflect")
        out = self(y)
        return out[..., :h, :w]


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
