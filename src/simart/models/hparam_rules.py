"""Declarative rules for hyper-parameter values, and the one checker that applies them
(torch-free: config validation imports it through :mod:`simart.models.hparams`).

Each hyper-parameter module holds a table ``RULES = {key: rule}`` (and, where one model
needs a stricter rule for a shared key, ``MODEL_RULES = {model: {key: rule}}``); a rule is a
small frozen object:

* :class:`Choice` -- one of the listed values (same type: ``True`` is not ``1``);
* :class:`Int` -- an integer (not a bool) with optional ``min`` / ``max`` and ``odd``;
* :class:`Number` -- a finite int or float (not a bool) with optional bounds, each
  closed unless ``open_min`` / ``open_max``;
* :class:`Bool` -- ``True`` or ``False``;
* :class:`IntList` -- a list / tuple of integers ``>= min``, ``nonempty`` optional;
* :class:`Str` -- a string.

Every rule takes ``what`` (replaces the generated description after "must be") and
``note`` (appended in parentheses): the model-specific reason of a bound. A failing value
raises ``ValueError`` of the form ``model 'unet': hyper-parameter 'kernel' = 4 must be odd``
(``...; allowed: ['mse', 'mae']`` for a :class:`Choice`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Base: :meth:`problem` is None for a valid value, else the message's tail."""

    what: str | None = None
    note: str | None = None

    def describe(self) -> str:
        """What a valid value is (after "must be")."""
        raise NotImplementedError

    def problem(self, value: Any) -> str | None:
        raise NotImplementedError

    def _must(self, description: str | None = None) -> str:
        text = self.what or description or self.describe()
        return f" must be {text}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True, kw_only=True, init=False)
class Choice(Rule):
    """One of ``options`` (``Choice("mse", "mae")``)."""

    options: tuple[Any, ...] = ()

    def __init__(self, *options: Any, what: str | None = None, note: str | None = None):
        object.__setattr__(self, "options", tuple(options))
        object.__setattr__(self, "what", what)
        object.__setattr__(self, "note", note)

    def describe(self) -> str:
        return f"one of {list(self.options)}"

    def problem(self, value: Any) -> str | None:
        if any(type(value) is type(o) and value == o for o in self.options):
            return None
        return f"; allowed: {list(self.options)}"


@dataclass(frozen=True, kw_only=True)
class Bool(Rule):
    def describe(self) -> str:
        return "true or false"

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else self._must()


@dataclass(frozen=True, kw_only=True)
class Str(Rule):
    def describe(self) -> str:
        return "a string"

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, str) else self._must()


@dataclass(frozen=True, kw_only=True)
class Int(Rule):
    """An integer in ``[min, max]`` (either may be None), odd if ``odd``."""

    min: int | None = None
    max: int | None = None
    odd: bool = False

    def describe(self) -> str:
        lo, hi = self.min, self.max
        if lo is not None and hi is not None:
            return f"an integer in [{lo}, {hi}]"
        if lo == 1:
            return "a positive integer"
        if lo is not None:
            return f"an integer >= {lo}"
        if hi is not None:
            return f"an integer <= {hi}"
        return "an integer"

    def problem(self, value: Any) -> str | None:
        if not _is_int(value) or (self.min is not None and value < self.min) \
                or (self.max is not None and value > self.max):
            return self._must()
        if self.odd and value % 2 == 0:
            return self._must("odd")
        return None


@dataclass(frozen=True, kw_only=True)
class Number(Rule):
    """A finite number in the interval ``min .. max`` (either may be None; closed ends unless
    ``open_min`` / ``open_max``)."""

    min: float | None = None
    max: float | None = None
    open_min: bool = False
    open_max: bool = False

    def describe(self) -> str:
        lo, hi = self.min, self.max
        if lo is not None and hi is not None:
            return (f"in {'(' if self.open_min else '['}{lo}, {hi}"
                    f"{')' if self.open_max else ']'}")
        if lo is not None:
            return f"a number {'>' if self.open_min else '>='} {lo}"
        if hi is not None:
            return f"a number {'<' if self.open_max else '<='} {hi}"
        return "a finite number"

    def problem(self, value: Any) -> str | None:
        ok = _is_number(value)
        if ok and self.min is not None:
            ok = value > self.min if self.open_min else value >= self.min
        if ok and self.max is not None:
            ok = value < self.max if self.open_max else value <= self.max
        return None if ok else self._must()


@dataclass(frozen=True, kw_only=True)
class IntList(Rule):
    """A list (or tuple) of integers ``>= min``; not empty if ``nonempty``."""

    min: int | None = None
    nonempty: bool = False

    def describe(self) -> str:
        items = ("positive integers" if self.min == 1 else "integers" if self.min is None
                 else f"integers >= {self.min}")
        return f"a {'non-empty ' if self.nonempty else ''}list of {items}"

    def problem(self, value: Any) -> str | None:
        ok = isinstance(value, list | tuple) and (len(value) >= 1 or not self.nonempty) \
            and all(_is_int(v) and (self.min is None or v >= self.min) for v in value)
        return None if ok else self._must()


def check(model: str, key: str, value: Any, rule: Rule) -> None:
    """Raise ``ValueError`` (``model 'm': hyper-parameter 'k' = v ...``) when ``value``
    breaks ``rule``."""
    tail = rule.problem(value)
    if tail is not None:
        raise ValueError(f"model {model!r}: hyper-parameter {key!r} = {value!r}{tail}")
