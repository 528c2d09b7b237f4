"""``MODEL_REGISTRY`` (config name -> :class:`RestorationModel` class) and :func:`build_model`.

The classes are those named by the learned entries of :data:`simart.specs.models.MODELS`
(imported here: this module imports torch; ``simart.models`` imports it lazily).
"""

from __future__ import annotations

from typing import Any

from simart.models.base import RestorationModel
from simart.specs.models import MODELS


def _load() -> dict[str, type[RestorationModel]]:
    out: dict[str, type[RestorationModel]] = {}
    for name, spec in MODELS.items():
        if spec.learned:
            cls = spec.load()
            if getattr(cls, "name", None) != name:
                raise RuntimeError(f"model {name!r}: {spec.impl} has name {cls.name!r}")
            out[name] = cls
    return out


MODEL_REGISTRY: dict[str, type[RestorationModel]] = _load()


def build_model(name: str, hparams: dict[str, Any] | None = None) -> RestorationModel:
    """A fresh model ``name`` with ``DEFAULT_HPARAMS[name]`` updated by ``hparams``
    (``ValueError`` for an unknown name or hyper-parameter). Weights are drawn from torch's
    global RNG: seed it (``torch.manual_seed``) before the call for reproducible weights."""
    if name not in MODEL_REGISTRY:
        spec = MODELS.get(name)
        if spec is not None and spec.learned:   # registered after this module was imported
            MODEL_REGISTRY[name] = spec.load()
        else:
            raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODEL_REGISTRY)}")
    return MODEL_REGISTRY[name](**(hparams or {}))
