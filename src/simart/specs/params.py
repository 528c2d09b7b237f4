"""Parameter distributions as the config gives them: a number (fixed) or ``[lo, hi]``
(uniform, or log-uniform where a dataset says so), merged over a dataset's defaults and
checked against its bounds (low, high, unit) with a message naming key, value and range."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

ParamSpec = float | list[float]


def merge_specs(defaults: Mapping[str, object], overrides: Mapping[str, object],
                where: str) -> dict[str, object]:
    """Defaults updated by overrides; an unknown override key raises ValueError naming it."""
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(f"unknown config key '{where}.{unknown[0]}'; allowed: "
                         f"{sorted(defaults)}")
    out = dict(defaults)
    out.update(overrides)
    return out


def check_specs(specs: Mapping[str, object], where: str,
                bounds: Mapping[str, tuple[float, float, str]] | None = None,
                log_uniform: Iterable[str] = ()) -> None:
    """Validate specs: numbers or [lo, hi] with lo <= hi, inside ``bounds``; log > 0."""
    logs = set(log_uniform)
    for key, spec in specs.items():
        vals = spec if isinstance(spec, list | tuple) else [spec]
        if isinstance(spec, list | tuple) and (len(spec) != 2 or spec[0] > spec[1]):
            raise ValueError(f"config key '{where}.{key}' = {spec!r}: a range must be "
                             "[low, high] with low <= high")
        for v in vals:
            if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                raise ValueError(f"config key '{where}.{key}' = {spec!r} must be numbers")
            if bounds and key in bounds:
                lo, hi, unit = bounds[key]
                if not lo <= v <= hi:
                    raise ValueError(f"config key '{where}.{key}' = {spec!r} is out of range: "
                                     f"allowed {lo} to {hi} {unit}")
            if key in logs and v <= 0:
                raise ValueError(f"config key '{where}.{key}' = {spec!r} is sampled "
                                 "log-uniformly and must be > 0")
