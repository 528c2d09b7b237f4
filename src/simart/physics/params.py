"""The sampler of the SIMART operators' parameters (:func:`sample_params`).

The distributions, presets and bounds it draws from are in
:mod:`simart.specs.modalities` (torch-free: the config reads them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def _check_number(key: str, v: object) -> float:
    is_number = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    f = float(v) if is_number else math.nan
    if not math.isfinite(f):
        raise ValueError(f"parameter '{key}' = {v!r}: must be a finite number or [low, high]")
    return f


def sample_params(
    spec: Mapping[str, float | Sequence[float]], rng: np.random.Generator
) -> dict[str, float]:
    """Draw one image's parameters from ``spec``.

    Keys are visited in sorted order (one ``rng.uniform`` draw per ``[lo, hi]`` key, none
    for a fixed number), so the same generator state always gives the same parameters
    whatever the mapping's insertion order.

    Args:
        spec: name -> fixed number, or ``[lo, hi]`` for U(lo, hi) (``lo == hi`` allowed).
        rng: NumPy generator.

    Raises:
        ValueError: naming the key, when a range is not ``[lo, hi]`` with ``lo <= hi``
            or a value is not a finite number.

    >>> sample_params({"b": 2.0, "a": [0.0, 1.0]}, np.random.default_rng(0))["b"]
    2.0
    """
    out: dict[str, float] = {}
    for key in sorted(spec):
        v = spec[key]
        if isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, (str, bytes)):
            if len(v) != 2:
                raise ValueError(f"parameter '{key}' = {list(v)!r}: a range must be [low, high]")
            lo, hi = _check_number(key, v[0]), _check_number(key, v[1])
            if lo > hi:
                raise ValueError(
                    f"parameter '{key}' = [{lo}, {hi}]: a range needs low <= high")
            out[key] = float(rng.uniform(lo, hi))
        else:
            out[key] = _check_number(key, v)
    return out
