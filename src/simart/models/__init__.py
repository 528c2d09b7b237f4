"""Learned restoration models (CNNs) and their registry.

``MODEL_REGISTRY`` maps each config name to its :class:`RestorationModel` class;
:func:`build_model` builds one from (partial) hyper-parameters (``simart.models.hparams``).

The names are resolved lazily (PEP 562): ``import simart.models.hparams`` -- done by config
validation -- must not import torch, and importing a submodule runs this file first.

Models (``name``: class, module): ``unet``: UNet, ``care``: CARE, ``n2n``: N2N (unet.py);
``dncnn``: DnCNN (dncnn.py); ``n2v``: N2V (n2v.py); ``pinned``: PINNED (pinned.py);
``unet_rcan``: UNetRCAN (rcan.py); diffusion models (diffusion_registry.py): ``pcsd`` and its
ablations ``pcsd_*`` (pcsd.py), ``pi_ddpm`` / ``pi_ddpm_plain`` (pi_ddpm.py), ``cond_ddpm``
(cond_ddpm.py); GANs (gan_registry.py): ``cyclegan``, ``pix2pix``, ``pdanet_da``,
``pdanet_da_ws``, ``pdanet`` (cyclegan.py, pix2pix.py, pdanet.py on gan.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simart.models.base import Batch, RestorationModel, n_parameters
    from simart.models.registry import MODEL_REGISTRY, build_model

_LAZY = {"Batch": "base", "RestorationModel": "base", "n_parameters": "base",
         "MODEL_REGISTRY": "registry", "build_model": "registry"}

__all__ = ["MODEL_REGISTRY", "Batch", "RestorationModel", "build_model", "n_parameters"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"simart.models.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simart.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
