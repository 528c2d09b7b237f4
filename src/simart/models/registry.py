"""``MODEL_REGISTRY`` (config name -> :class:`RestorationModel` class) and :func:`build_model`.

Imported lazily by ``simart.models`` so that ``simart.models.hparams`` stays torch-free.
"""

from __future__ import annotations

from typing import Any

from simart.models.base import RestorationModel
from simart.models.diffusion_registry import MODELS as _DIFFUSION
from simart.models.dncnn import DnCNN
from simart.models.gan_registry import MODELS as _GAN
from simart.models.n2v import N2V
from simart.models.pinned import PINNED
from simart.models.rcan import UNetRCAN
from simart.models.unet import CARE, N2N, UNet

MODEL_REGISTRY: dict[str, type[RestorationModel]] = {
    cls.name: cls for cls in (UNet, CARE, DnCNN, N2N, N2V, PINNED, UNetRCAN, *_DIFFUSION, *_GAN)
}


def build_model(name: str, hparams: dict[str, Any] | None = None) -> RestorationModel:
    """A fresh model ``name`` with ``DEFAULT_HPARAMS[name]`` updated by ``hparams``
    (``ValueError`` for an unknown name or hyper-parameter). Weights are drawn from torch's
    global RNG: seed it (``torch.manual_seed``) before the call for reproducible weights."""
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODEL_REGISTRY)}")
    return MODEL_REGISTRY[name](**(hparams or {}))
