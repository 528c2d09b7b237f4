"""The noiseless forward operator of a training batch, per image.

Physics losses and guidance (PCSD, PI-DDPM) need ``P(x)`` for images whose operators
differ (a SIMART batch mixes modalities; every image has its own parameters).
:func:`forward_batch` applies, to each image of ``x``, its own operator
(:mod:`simart.physics.operators`) with its own parameters (``Batch.params``),
differentiably, on ``x``'s device. The operator of an image is its parameter
``operator_code`` (the index in :data:`simart.specs.operators.OPERATORS`, written by
:func:`image_params` for every image read from the data), so it is that of the image even
when a model's own subset index says otherwise (a model trained on one modality restoring
another: the cross-modal study). ``stem_lattice`` and ``stm_cu111`` have no differentiable
forward operator (CDN noise; the STM blur with random step edges): :func:`has_operator` is
False.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from simart.physics.operators import operator, operator_of_code
from simart.specs.operators import OPERATOR_DATASETS


def has_operator(dataset: str) -> bool:
    """Whether ``dataset``'s images come from a differentiable forward operator."""
    return dataset in OPERATOR_DATASETS


def _select(params: Mapping[str, Tensor], idx: Tensor) -> dict[str, Tensor]:
    """The parameters of images ``idx``, without names undefined for them (NaN / -1)."""
    out = {}
    for k, v in params.items():
        sel = v[idx]
        bad = (sel < 0) if k.endswith("_seed") else torch.isnan(sel.double())
        if bool(bad.all()):
            continue
        if bool(bad.any()):
            raise ValueError(f"parameter {k!r} is defined for some images of one operator only")
        out[k] = sel
    return out


def operator_codes(params: Mapping[str, Tensor] | None, b: int) -> Tensor:
    """(B,) long: each image's ``operator_code``; ValueError when the parameters carry none
    (they come from :func:`image_params`, which always writes it)."""
    if params is None or "operator_code" not in params:
        names = sorted(params) if params is not None else None
        raise ValueError("the images' parameters carry no 'operator_code' (the index of "
                         "their forward operator; simart.physics.dataset_ops.image_params "
                         f"writes it); got names {names}")
    codes = params["operator_code"].reshape(-1)
    if codes.numel() != b:
        raise ValueError(f"'operator_code' has {codes.numel()} values for a batch of {b}")
    return codes.round().long()


def forward_batch(x: Tensor, params: Mapping[str, Tensor], *, afm_mode: str = "exact"
                  ) -> Tensor:
    """``P(x)``: each image (B, 1, H, W) through its own noiseless operator
    (``params["operator_code"]``) with its parameters ``params[name][i]``; same shape and
    dtype. ``afm_mode``: see :func:`simart.physics.forward` ("soft" gives dense AFM
    gradients)."""
    b = x.shape[0]
    codes = operator_codes(params, b).to(x.device)
    params = {k: v.to(x.device) for k, v in params.items() if k != "operator_code"}
    out = torch.empty_like(x)
    given = {"afm_mode": afm_mode}
    for c in torch.unique(codes).tolist():
        idx = (codes == c).nonzero().flatten()
        op = operator_of_code(c)
        y = op.A(x[idx], _select(params, idx), **{k: given[k] for k in op.options
                                                  if k in given})
        out = out.index_copy(0, idx, y.to(x.dtype))
    return out


def param_names(dataset: str, subset: str) -> tuple[str, ...]:
    """Names of the per-image parameters ``Batch.params`` carries for ``subset`` of
    ``dataset`` (columns of its shard tables): the operator's physical parameters, the noise
    levels (simart) and the seeds of random parts of the operator (STEM scan distortion)."""
    if dataset == "simart":
        from simart.specs.modalities import DEFAULT_PARAM_SPECS

        op = operator(subset)
        return (*op.param_table, *DEFAULT_PARAM_SPECS["noise"], *op.seed_params)
    if dataset == "lm":
        from simart.specs.lm import LM_PARAM_SPECS

        return (*LM_PARAM_SPECS, "confocal")
    return ()


def image_params(dataset: str, subset: str, row: Mapping) -> dict[str, float | int]:
    """The parameters of one image (``Batch.params`` entry) from its shard-table row:
    :func:`param_names` (seeds as int) and, for a dataset with operators, its
    ``operator_code``."""
    out: dict[str, float | int] = {k: (int(row[k]) if k.endswith("_seed") else float(row[k]))
                                   for k in param_names(dataset, subset)}
    if has_operator(dataset):
        out["operator_code"] = float(operator(subset).code)
    return out


def stack_params(rows: Sequence[Mapping[str, float]]) -> dict[str, Tensor]:
    """Per-image parameter dicts -> name: (B,) tensor (float64; ``*_seed`` int64), NaN /
    -1 where an image does not have the name (mixed subsets)."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    out = {}
    for k in names:
        if k.endswith("_seed"):
            out[k] = torch.tensor([int(r.get(k, -1)) for r in rows], dtype=torch.int64)
        else:
            out[k] = torch.tensor([float(r.get(k, float("nan"))) for r in rows],
                                  dtype=torch.float64)
    return out
