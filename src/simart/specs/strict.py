"""The strict pydantic base of every settings class (the run config, the training
settings): unknown keys refused, frozen, and true/false refused where a number or a name is
expected (pydantic would read them as 1/0)."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def _allows_bool(annotation: Any) -> bool:
    """Whether a field of this type may hold true/false anywhere (nested models: they check
    their own fields)."""
    if annotation is bool or annotation is Any:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_allows_bool(a) for a in typing.get_args(annotation)
               if not isinstance(a, str | int | float | types.NoneType))


def _find_bool(v: Any, path: str = "") -> str | None:
    if isinstance(v, bool):
        return path
    items = v.items() if isinstance(v, Mapping) else \
        enumerate(v) if isinstance(v, list | tuple) else ()
    for k, x in items:
        found = _find_bool(x, f"{path}.{k}" if path else str(k))
        if found is not None:
            return found
    return None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        # pydantic reads true/false as 1/0 in a number field: `seed: true` is a mistake
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and not _allows_bool(field.annotation):
            where = _find_bool(v)
            if where is not None:
                raise ValueError(f"true/false is not allowed{' at ' + where if where else ''} "
                                 "(a number or a name is expected)")
        return v
