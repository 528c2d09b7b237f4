"""Learned restoration models (CNNs, diffusion models, GANs) and their registry.

``MODEL_REGISTRY`` maps each config name to its :class:`RestorationModel` class (the learned
entries of :data:`simart.specs.models.MODELS`, which name each class by dotted path);
:func:`build_model` builds one from (partial) hyper-parameters (``simart.specs.hparams``).

The names are resolved lazily (PEP 562): importing this package alone imports no torch.
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
