"""The contract every learned restoration model follows (CNNs here; diffusion and GANs later).

A model is an ``nn.Module`` subclass of :class:`RestorationModel` registered in
``simart.models.MODEL_REGISTRY`` under its config name. The one training loop
(``simart.train.loop``) owns devices, AMP, checkpoints, seeding, logging and validation; a
model only supplies

* ``training_step(batch, gen)`` -> ``(loss, logs)``: the scalar loss of one batch (the loop
  calls ``backward`` and the optimiser) and a dict of floats to log (each loss term);
* ``predict(y, subset)`` -> the estimate of the clean image for full images (eval mode; the
  loop / the predict rule wrap it in ``torch.no_grad``).

Optional parts of the contract (diffusion models, GANs):

* ``needs`` may name any optional :class:`Batch` field: ``x``, ``y2``, ``params``, ``u``,
  ``xu`` (the loop and the data fill exactly those).
* ``predict_needs`` (subset of ``("params", "gen")``): keyword arguments ``predict`` takes
  besides ``y`` and ``subset`` -- ``params`` (dict of (B,) tensors, the physical parameters
  of each test image, as in :class:`Batch`) for physics guidance, ``gen`` (a seeded
  ``torch.Generator`` on the model's device) for sampling. The predict rule passes them.
* ``extra_outputs`` (names): when not empty, ``predict`` returns a dict with the estimate
  under ``"prediction"`` and one (B, 1, H, W) tensor per name (e.g. uncertainty maps); the
  predict rule stores each as ``{name}/{subset}`` beside ``prediction/{subset}``.
* ``set_sampling(**options)``: sampling options of a generative model (number of steps,
  guidance strength, number of averaged samples ...); evaluation variants of one trained
  model (config ``evaluate.variants``) call it before predicting. Unknown options raise
  ``ValueError``; the base class accepts none.
* ``optimizer_groups()``: ``None`` (default) = one optimiser over every parameter, updated
  by the loop with the loss ``training_step`` returns. A dict ``{group: [parameters]}``
  (GANs: generators, discriminators) = one optimiser (and LR schedule) per group, all with
  the run's settings; the loop then calls ``training_step(batch, gen, update)`` and the
  model calls ``update(group, loss)`` once per group, in its own order (e.g. generators,
  then discriminators on detached fakes): zero_grad, backward, gradient clipping and the
  optimiser step of that group. The returned loss is then only logged.

Hyper-parameters are data: ``DEFAULT_HPARAMS`` (tiny, embedded run) and the pydantic class
of each model family that validates them live in the torch-free module
``simart.specs.hparams`` so that config validation does not import torch;
``self.hparams`` (a plain dict: defaults updated by the given ones) is stored in every
checkpoint and a checkpoint whose model name or hparams differ is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Batch:
    """One training batch; every image tensor is (B, 1, P, P) float32 on the model's device.

    ``y``: degraded input. ``x``: clean target (None where the data has none).
    ``y2``: a second, independent noisy realisation of the same clean image (same operator,
    new noise seed; Noise2Noise), None unless the model asks for it (``needs``).
    ``subset``: (B,) long, index of each image's subset (SIMART modality, CDN level, LM mode,
    STM domain) in the dataset's subset list (conditioning for later models).
    ``params``: the physical parameters of the operator that made each ``y`` (physics losses
    and guidance): name -> (B,) tensor, float64 (``*_seed`` names int64); a name one image's
    subset does not have is NaN there (-1 for seeds). Apply the operator with
    :func:`simart.physics.dataset_ops.forward_batch`. A crop / flip of ``y`` is not applied
    to the operator: compare ``P(a)`` with ``P(b)`` of two images of the same crop, or train
    on full images without augmentation when ``P(x)`` is compared with ``y``.
    ``u``: an *unpaired* degraded image of the dataset's target domain (stm_cu111: an
    experimental-like map; domain adaptation), drawn independently of ``y``.
    ``xu``: an *unpaired* clean image (stm_cu111: the unpaired clean domain; other datasets:
    the clean image of another, independently drawn, training image) -- unpaired
    translation (CycleGAN).
    """

    y: torch.Tensor
    x: torch.Tensor | None = None
    y2: torch.Tensor | None = None
    subset: torch.Tensor | None = None
    params: dict[str, torch.Tensor] | None = None
    u: torch.Tensor | None = None
    xu: torch.Tensor | None = None

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """On ``device``; images in channels-last memory layout (the layout the training
        loop gives models: 1.2-1.5x faster convolutions on CPU, tensor cores on GPU)."""
        def move(t):
            if t is None:
                return None
            if isinstance(t, dict):
                return {k: v.to(device, non_blocking=non_blocking) for k, v in t.items()}
            t = t.to(device, non_blocking=non_blocking)
            return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t

        return Batch(**{f.name: move(getattr(self, f.name)) for f in fields(self)})


class RestorationModel(nn.Module):
    """Base class: ``name``, ``needs`` (Batch fields the training step reads besides ``y``),
    ``predict_needs``, ``size_multiple`` (full images are reflect-padded to a multiple of it
    in :meth:`predict`).

    ``needs`` and ``predict_needs`` of a class whose ``name`` is registered come from its
    entry in :data:`simart.specs.models.MODELS` (the planning of the DAG reads them there),
    unless the class body sets them.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ("x",)
    size_multiple: ClassVar[int] = 1
    predict_needs: ClassVar[tuple[str, ...]] = ()
    extra_outputs: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        from simart.specs.models import MODELS

        spec = MODELS.get(cls.__dict__.get("name", ""))
        if spec is not None:   # (a class body that sets them itself keeps its own: tests)
            if "needs" not in cls.__dict__:
                cls.needs = spec.needs
            if "predict_needs" not in cls.__dict__:
                cls.predict_needs = spec.predict_needs

    def __init__(self, **hparams):
        super().__init__()
        from simart.specs.hparams import resolve_hparams

        self.hparams = resolve_hparams(self.name, hparams)
        #: ``torch.compile`` options of :meth:`compile_networks` (None: not compiled)
        self.compile_options: dict[str, Any] | None = None

    def training_step(self, batch: Batch, gen: torch.Generator
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        """(loss, logs) of one batch; models with :meth:`optimizer_groups` take a third
        argument ``update`` (see the module docstring)."""
        raise NotImplementedError

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]] | None:
        """None: one optimiser over all parameters (see the module docstring)."""
        return None

    def set_sampling(self, **options) -> None:
        """Sampling options of generative models; this model has none."""
        if options:
            raise ValueError(f"model {self.name!r} has no sampling options "
                             f"(got {sorted(options)})")

    def compile_targets(self) -> list[tuple[str, nn.Module]]:
        """The sub-networks :meth:`compile_networks` compiles, as (name, module): by default
        every direct child module holding parameters (shared ones once). A model whose loss
        or ``predict`` calls a child through another method than ``__call__`` (e.g.
        ``child.encode(y)``) overrides this to name modules that are *called*: compiling a
        module compiles its ``__call__`` only."""
        out, seen = [], set()
        for name, child in self.named_children():
            if id(child) in seen or next(child.parameters(), None) is None:
                continue
            seen.add(id(child))
            out.append((name, child))
        return out

    def compile_networks(self, **options: Any) -> list[str]:
        """``torch.compile`` every sub-network of :meth:`compile_targets` in place
        (``nn.Module.compile``: state-dict keys unchanged, unlike ``torch.compile(module)``,
        whose wrapper prefixes them with ``_orig_mod.``); ``options`` go to
        ``torch.compile``. Returns the compiled modules' names.

        Why not ``self.compile()``: that compiles ``forward`` only, which the training
        losses of the diffusion models and GANs never call (they call their networks
        directly), so those would run with no compiled frame at all. Modules the model
        keeps outside its module tree (PCSD's frozen VGG) are compiled when loaded, with
        the same ``options`` (:attr:`compile_options`)."""
        self.compile_options = dict(options)
        names = []
        for name, module in self.compile_targets():
            compile_module(module, **options)
            names.append(name)
        return names

    def predict(self, y: torch.Tensor, subset: torch.Tensor | None = None) -> torch.Tensor:
        """Clean-image estimate of full images ``y`` (B, 1, H, W), any H, W."""
        m = self.size_multiple
        h, w = y.shape[-2:]
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            y = F.pad(y, (0, pw, 0, ph), mode="reflect")
        out = self(y)
        return out[..., :h, :w]


def compile_module(module: nn.Module, **options: Any) -> nn.Module:
    """Compile ``module``'s ``__call__`` in place (as ``nn.Module.compile``; state-dict keys
    unchanged) and return it.

    ``nn.Module.compile`` hands ``torch.compile`` the module's ``_call_impl``, a frame of
    ``torch.nn`` that Dynamo skips; it then catches the first *user* frame below it -- so a
    module whose ``forward`` is torch's own (``nn.Sequential`` of convolutions: DnCNN, the
    U-Nets' bodies) got no compiled frame at all. The call is wrapped in a function of this
    file, a frame Dynamo traces, inlining ``_call_impl`` and everything under it (what
    ``torch.compile(module)`` does for torch's modules, without its key-prefixing wrapper).
    That was torch 2.13's behaviour; torch 2.14 compiles such modules with
    ``nn.Module.compile`` too, and this function gives the same one frame on both
    (tests/test_inference_path.py).
    """
    impl = module._call_impl

    def call(*args: Any, **kwargs: Any) -> Any:
        return impl(*args, **kwargs)

    module._compiled_call_impl = torch.compile(call, **options)
    return module


def is_compiled(module: nn.Module) -> bool:
    """Whether :func:`compile_module` (or ``nn.Module.compile``) compiled ``module``."""
    return getattr(module, "_compiled_call_impl", None) is not None


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def run_predict(model: RestorationModel, y: torch.Tensor, subset: torch.Tensor | None = None,
                *, params: dict[str, torch.Tensor] | None = None,
                gen: torch.Generator | None = None
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``model.predict`` with the keyword arguments it declares (``predict_needs``):
    (estimate, extra outputs by name -- empty unless ``extra_outputs``)."""
    kwargs = {}
    for name, value in (("params", params), ("gen", gen)):
        if name in model.predict_needs:
            if value is None:
                raise ValueError(f"model {model.name!r} needs {name!r} to predict")
            kwargs[name] = value
    out = model.predict(y, subset, **kwargs)
    if isinstance(out, dict):
        extras = {k: v for k, v in out.items() if k != "prediction"}
        missing = set(model.extra_outputs) - set(extras)
        if "prediction" not in out or missing:
            raise ValueError(f"model {model.name!r}: predict must return 'prediction' and "
                             f"{list(model.extra_outputs)} (missing {sorted(missing)})")
        return out["prediction"], extras
    return out, {}
