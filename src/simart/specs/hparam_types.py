"""Typed hyper-parameters: the pydantic base class of the model families
(:mod:`simart.specs.hparams` and its siblings), the constrained field types they share,
and the wording of a refused value (torch-free).

A family class declares one field per hyper-parameter, typed and bounded with plain
pydantic (``Literal`` choices, ``Field(ge=..., lt=...)`` bounds, :data:`OddPosInt`, ...);
``Field(description=...)`` is the model-specific reason of a bound, quoted in the message.
The classes are strict: ``True`` is not ``1`` (nor ``1`` / ``1.0`` one of a ``Literal``'s
options of another type), an integer field refuses ``2.0``, a number field accepts an
integer; numbers are finite; an integer list is a list or tuple. A refused value reads
``model 'unet': hyper-parameter 'kernel' = 4 must be odd`` (:func:`problem`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError


def _odd(value: int) -> int:
    if value % 2 == 0:
        raise PydanticCustomError("odd", "must be odd")
    return value


def _tuple_to_list(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
OddPosInt = Annotated[int, Field(ge=1), AfterValidator(_odd)]
#: a finite number (an int or a float)
Number = Annotated[float, Field(allow_inf_nan=False)]
NonNeg = Annotated[Number, Field(ge=0)]                 # [0, inf)
Positive = Annotated[Number, Field(gt=0)]               # (0, inf)
Unit = Annotated[Number, Field(ge=0, le=1)]             # [0, 1]
UnitOpen = Annotated[Number, Field(ge=0, lt=1)]         # [0, 1)
PosIntList = Annotated[list[PosInt], Field(min_length=1), BeforeValidator(_tuple_to_list)]
NonNegIntList = Annotated[list[NonNegInt], BeforeValidator(_tuple_to_list)]


class HParams(BaseModel):
    """Base of the family classes: strict, frozen, no key beyond the declared ones."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _literal_of_the_same_type(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's Literal takes True for 1 and 1.0 for 1, even when strict
        options = _options(cls.model_fields[info.field_name].annotation)
        if options and not any(type(value) is type(o) and value == o for o in options):
            raise PydanticCustomError("literal_error", "Input should be one of {expected}",
                                      {"expected": repr(list(options))})
        return value


def _options(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _bounds(metadata: list[Any]) -> tuple[Any, bool, Any, bool]:
    """(lower, lower open, upper, upper open) of pydantic field metadata (its ``Ge``,
    ``Gt``, ``Le``, ``Lt`` constraints)."""
    lo = hi = None
    lo_open = hi_open = False
    for m in metadata:
        if getattr(m, "ge", None) is not None or getattr(m, "gt", None) is not None:
            lo_open = getattr(m, "ge", None) is None
            lo = m.gt if lo_open else m.ge
        if getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None:
            hi_open = getattr(m, "le", None) is None
            hi = m.lt if hi_open else m.le
    return lo, lo_open, hi, hi_open


def describe(field: FieldInfo, what: str | None = None) -> str:
    """What a valid value of ``field`` is (after "must be"; ``what`` replaces the
    description generated from its type and bounds), then its ``description`` in
    parentheses."""
    text = what or _describe(field.annotation, field.metadata)
    return text + (f" ({field.description})" if field.description else "")


def _describe(annotation: Any, metadata: list[Any]) -> str:
    if _options(annotation):
        return f"one of {list(_options(annotation))}"
    if annotation is bool:
        return "true or false"
    if annotation is str:
        return "a string"
    lo, lo_open, hi, hi_open = _bounds(metadata)
    if annotation is int:
        if lo is not None and hi is not None:
            return f"an integer in [{lo}, {hi}]"
        if lo == 1:
            return "a positive integer"
        if lo is not None:
            return f"an integer >= {lo}"
        return "an integer" if hi is None else f"an integer <= {hi}"
    if annotation is float:
        if lo is not None and hi is not None:
            return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        if lo is not None:
            return f"a number {'>' if lo_open else '>='} {lo}"
        if hi is not None:
            return f"a number {'<' if hi_open else '<='} {hi}"
        return "a finite number"
    if get_origin(annotation) is list:
        item = FieldInfo.from_annotation(get_args(annotation)[0])
        item_lo = _bounds(item.metadata)[0]
        items = ("positive integers" if item_lo == 1 else "integers" if item_lo is None
                 else f"integers >= {item_lo}")
        nonempty = any((getattr(m, "min_length", None) or 0) >= 1 for m in metadata)
        return f"a {'non-empty ' if nonempty else ''}list of {items}"
    return f"a {getattr(annotation, '__name__', annotation)}"


def problem(model: str, cls: type[HParams], given: dict[str, Any], error: ErrorDetails
            ) -> str:
    """One line of the ``ValueError`` of a refused hyper-parameter: the model, the key, the
    value and what is allowed."""
    key = error["loc"][0] if error["loc"] else "?"
    if error["type"] == "extra_forbidden":
        return (f"model {model!r}: unknown hyper-parameter {key!r}; "
                f"allowed: {sorted(cls.model_fields)}")
    if error["type"] == "missing":
        return f"model {model!r}: hyper-parameter {key!r} is missing"
    field = cls.model_fields[key]
    head = f"model {model!r}: hyper-parameter {key!r} = {given[key]!r}"
    if error["type"] == "literal_error":
        return f"{head}; allowed: {list(_options(field.annotation))}"
    return f"{head} must be {describe(field, 'odd' if error['type'] == 'odd' else None)}"
