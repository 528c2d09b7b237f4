"""Forward operators as objects: one :class:`Operator` subclass per imaging modality.

An operator is the noiseless forward model ``y0 = A(x, params)`` of one modality, batched
and differentiable in ``x`` (images (B, 1, H, W), float32 or float64, any device; same
shape, dtype and device out). It carries

* its **parameter table** (:attr:`Operator.param_table`: distributions with ``[lo, hi]``
  ranges or fixed numbers; bounds and units in the dataset's specs) and the per-image
  seeds of its random parts (:attr:`Operator.seed_params`, e.g. STEM's scan distortion);
* its **transfer function** when it is linear (:meth:`Operator.transfer`, on the padded
  FFT grid of :mod:`simart.physics.common`), or ``None`` with the reason
  (:attr:`Operator.nonlinear_reason`): Wiener, Richardson-Lucy and the oracle's Wiener
  step apply exactly where it exists;
* its **blur in pixels** (:meth:`Operator.blur_px`), the severity measure every shard
  table records.

The registry is :data:`simart.specs.operators.OPERATORS` (name, dataset, dotted path):
:func:`operator` imports and caches the class on first use. An image's operator travels as
its ``operator_code`` (the registry index), never guessed from its parameter names.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from torch import Tensor

from simart.physics.common import NonLinearOperatorError
from simart.specs.operators import OPERATORS, OperatorSpec, operator_at

__all__ = ["NonLinearOperatorError", "Operator", "operator", "operator_of_code"]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


class Operator:
    """One modality's forward operator (see the module docstring).

    Subclasses set :attr:`name` (their entry in :data:`simart.specs.operators.OPERATORS`)
    and implement :meth:`A` and :meth:`blur_px`; linear ones implement :meth:`_transfer`.
    """

    name: ClassVar[str] = ""
    #: keyword options :meth:`A` accepts besides ``seeds`` (e.g. AFM's ``afm_mode``)
    options: ClassVar[tuple[str, ...]] = ()
    #: per-image integer seeds of the operator's random parts, drawn after ``noise_seed``
    seed_params: ClassVar[tuple[str, ...]] = ()
    #: why the operator has no transfer function (None: it is linear)
    nonlinear_reason: ClassVar[str | None] = None
    #: why Richardson-Lucy does not apply although the operator is linear (None: it does)
    rl_reason: ClassVar[str | None] = None
    #: what :meth:`blur_px` measures (axis label of the severity figures)
    blur_label: ClassVar[str] = "blur (px)"

    # ------------------------------------------------------------------ identity

    @property
    def spec(self) -> OperatorSpec:
        return OPERATORS[self.name]

    @property
    def dataset(self) -> str:
        return self.spec.dataset

    @property
    def code(self) -> int:
        """The ``operator_code`` images of this modality carry."""
        return list(OPERATORS).index(self.name)

    @property
    def linear(self) -> bool:
        return self.nonlinear_reason is None

    @property
    def param_table(self) -> dict[str, float | list[float]]:
        """The default distribution of each physical parameter (number = fixed value,
        ``[lo, hi]`` = uniform), from the dataset's specs."""
        if self.dataset == "lm":
            from simart.specs.lm import LM_PARAM_SPECS

            return dict(LM_PARAM_SPECS)
        from simart.specs.modalities import DEFAULT_PARAM_SPECS

        return dict(DEFAULT_PARAM_SPECS[self.name])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, code={self.code})"

    # ------------------------------------------------------------------ physics

    def A(self, x: Tensor, params: Mapping[str, Tensor | float], *,
          seeds: Tensor | None = None, **options: Any) -> Tensor:
        """The noiseless images ``P(x; params)`` of ``x`` (B, 1, H, W).

        ``params``: name -> 1-D tensor of length B or a python float (broadcast); fixed
        parameters of :attr:`param_table` default; extra names are ignored. ``seeds``: the
        per-image seeds of the random parts (:attr:`seed_params`), else read from
        ``params``; without them the random parts are left out.
        """
        raise NotImplementedError

    def __call__(self, x: Tensor, params: Mapping[str, Tensor | float], **kw: Any) -> Tensor:
        return self.A(x, params, **kw)

    def scalar_params(self, params: Mapping[str, Any]) -> dict[str, float]:
        """One image's parameters as floats, fixed defaults filled in; ValueError naming
        what is missing or given for more than one image."""
        out = {k: float(v) for k, v in self.param_table.items() if not isinstance(v, list)}
        for k, v in params.items():
            if isinstance(v, Tensor):
                if v.numel() != 1:
                    raise ValueError(f"the {self.name} transfer function needs one image's "
                                     f"parameters; '{k}' has {v.numel()} values")
                v = float(v)
            if _is_number(v):
                out[k] = float(v)
        missing = sorted(set(self.param_table) - set(out))
        if missing:
            raise ValueError(f"the {self.name} operator is missing parameters {missing}")
        return out

    def transfer(self, params: Mapping[str, Any], shape: tuple[int, int], *,
                 image_shape: tuple[int, int] | None = None) -> np.ndarray | None:
        """Transfer function (complex128, unshifted numpy FFT layout) of the linear part on
        the PADDED grid ``shape`` (= ``fft_padded_shape(image shape)``), for one image's
        ``params``; ``None`` when the operator is not linear (:attr:`nonlinear_reason`).
        ``image_shape`` (default ``shape`` / 2) is the image's own shape, for operators
        whose kernel scales with the field of view."""
        if not self.linear:
            return None
        shape = (int(shape[0]), int(shape[1]))
        img = image_shape if image_shape is not None else (shape[0] // 2, shape[1] // 2)
        p = self.scalar_params(params)
        return np.asarray(self._transfer(p, shape, (int(img[0]), int(img[1]))),
                          dtype=np.complex128)

    def _transfer(self, p: Mapping[str, float], shape: tuple[int, int],
                  image_shape: tuple[int, int]) -> np.ndarray:
        raise NotImplementedError(f"{self.name} declares itself linear but defines no "
                                  "transfer function")

    def blur_px(self, params: Mapping[str, float], image_size: int) -> float:
        """The operator's physical blur in pixels for one image's parameters
        (:mod:`simart.physics.severity` states each modality's definition)."""
        raise NotImplementedError(f"{self.name} defines no blur measure")


#: name -> (the spec it was made from, the instance): a spec registered anew is re-imported
_INSTANCES: dict[str, tuple[OperatorSpec, Operator]] = {}


def operator(name: str) -> Operator:
    """The operator of modality ``name`` (imported on first use; ValueError naming the
    allowed modalities)."""
    spec = OPERATORS.get(name)
    if spec is None:
        raise ValueError(f"unknown modality {name!r}; allowed: {list(OPERATORS)}")
    made = _INSTANCES.get(name)
    if made is not None and made[0] is spec:
        return made[1]
    module, _, cls_name = spec.impl.rpartition(".")
    cls = getattr(importlib.import_module(module), cls_name)
    if not (isinstance(cls, type) and issubclass(cls, Operator)) or cls.name != name:
        raise TypeError(f"{spec.impl} is not an Operator subclass named {name!r}")
    op = cls()
    _INSTANCES[name] = (spec, op)
    return op


def operator_of_code(code: int) -> Operator:
    """The operator whose ``operator_code`` is ``code``."""
    return operator(operator_at(code).name)
