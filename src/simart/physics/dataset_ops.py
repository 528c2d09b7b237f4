"""The noiseless forward operator of a training batch, per image's dataset subset.

Physics losses and guidance (PCSD, PI-DDPM) need ``P(x)`` for images whose operators
differ (a SIMART batch mixes modalities; every image has its own parameters).
:func:`forward_batch` applies, to each image of ``x``, the operator of its subset with its
parameters (``Batch.params``), differentiably, on ``x``'s device:

* ``simart``: :func:`simart.physics.forward` of the image's modality (AFM exact dilation,
  TEM CTF, SEM beam + charging, STEM probe + scan distortion). The modality is the
  parameter ``modality_code`` (index in :data:`simart.physics.MODALITIES`) when the params
  carry it -- they always do when they come from the data (:func:`image_params`), so the
  operator is that of the image even when a model's own subset index says otherwise (a
  model trained on one modality restoring another: the cross-modal study) -- else the
  name ``subsets[subset[i]]``;
* ``lm``: the fluorescence PSF (:func:`simart.physics.lm.forward_lm`, widefield or confocal);
* ``stem_lattice`` and ``stm_cu111`` have no differentiable forward operator (CDN noise,
  the STM blur with random step edges): :func:`has_operator` is False and
  :func:`forward_batch` raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

DATASETS_WITH_OPERATOR = ("simart", "lm")


def has_operator(dataset: str) -> bool:
    """Whether :func:`forward_batch` can apply ``dataset``'s forward operator."""
    return dataset in DATASETS_WITH_OPERATOR


def _select(params: Mapping[str, Tensor], idx: Tensor) -> dict[str, Tensor]:
    """The parameters of images ``idx``, without names undefined for them (NaN / -1)."""
    out = {}
    for k, v in params.items():
        sel = v[idx]
        bad = (sel < 0) if k.endswith("_seed") else torch.isnan(sel.double())
        if bool(bad.all()):
            continue
        if bool(bad.any()):
            raise ValueError(f"parameter {k!r} is defined for some images of one subset only")
        out[k] = sel
    return out


def forward_batch(dataset: str, subsets: Sequence[str], x: Tensor, subset: Tensor | None,
                  params: Mapping[str, Tensor], *, afm_mode: str = "exact") -> Tensor:
    """``P(x)``: each image (B, 1, H, W) through the noiseless operator of its subset
    (``subsets[subset[i]]``) with its parameters ``params[name][i]``; same shape and dtype.

    ``afm_mode``: see :func:`simart.physics.forward` ("soft" gives dense AFM gradients).
    """
    if not has_operator(dataset):
        raise ValueError(f"dataset {dataset!r} has no differentiable forward operator "
                         f"(those that have: {list(DATASETS_WITH_OPERATOR)})")
    if params is None:
        raise ValueError("forward_batch needs the images' params (add 'params' to the "
                         "model's needs)")
    b = x.shape[0]
    params = {k: v.to(x.device) for k, v in params.items()}
    if dataset == "simart" and "modality_code" in params:
        from simart.physics import MODALITIES

        subsets, subset = MODALITIES, params.pop("modality_code").round().long()
    sub = (torch.zeros(b, dtype=torch.long, device=x.device) if subset is None
           else subset.to(x.device))
    out = torch.empty_like(x)
    for s in torch.unique(sub).tolist():
        idx = (sub == s).nonzero().flatten()
        p = _select(params, idx)
        xs = x[idx]
        if dataset == "simart":
            from simart import physics

            y = physics.forward(subsets[s], xs, p, afm_mode=afm_mode)
        else:
            from simart.physics.lm import forward_lm

            y = forward_lm(xs, p)
        out = out.index_copy(0, idx, y.to(x.dtype))
    return out


def param_names(dataset: str, subset: str) -> tuple[str, ...]:
    """Names of the per-image parameters ``Batch.params`` carries for ``subset`` of
    ``dataset`` (columns of its shard tables): the operator's physical parameters, the noise
    levels and the seeds of random parts of the operator (STEM scan distortion)."""
    if dataset == "simart":
        from simart import physics

        names = (*physics.DEFAULT_PARAM_SPECS[subset], *physics.DEFAULT_PARAM_SPECS["noise"])
        return names + (("scan_seed",) if subset == "STEM" else ())
    if dataset == "lm":
        from simart.specs.lm import LM_PARAM_SPECS

        return (*LM_PARAM_SPECS, "confocal")
    return ()


def image_params(dataset: str, subset: str, row: Mapping) -> dict[str, float | int]:
    """The parameters of one image (``Batch.params`` entry) from its shard-table row:
    :func:`param_names` (seeds as int) and, for simart, ``modality_code``."""
    out: dict[str, float | int] = {k: (int(row[k]) if k.endswith("_seed") else float(row[k]))
                                   for k in param_names(dataset, subset)}
    if dataset == "simart":
        from simart.physics import MODALITIES

        out["modality_code"] = float(MODALITIES.index(subset))
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
