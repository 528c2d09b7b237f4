"""The gan model classes registered in :data:`simart.models.MODEL_REGISTRY`
(each a :class:`simart.models.base.RestorationModel` with a unique ``name``)."""

from __future__ import annotations

MODELS: tuple = ()
