"""The training settings of every learned model, defined once (pydantic, torch-free).

:class:`TrainSettings`: everything that decides how a model is trained -- what
:func:`simart.train.loop.train` runs with. :class:`ModelTrainSettings`: the part a config
sets per model (``train.defaults``, overridden in ``train.models.<name>``), i.e. the same
fields without :data:`RUN_SETTINGS` (those come from ``train.*`` -- device, determinism,
threads, workers, progress bar --, from the pipeline -- the seed --, or keep their default
-- ``val_metric``). Both refuse unknown keys and true/false for numbers, are frozen, and
compare, hash and pickle by value.

``checkpoint_every`` / ``val_every`` 0: only at the end; ``val_images`` 0: no validation;
``grad_clip`` 0: off; ``threads`` 0: leave torch's; ``num_workers`` 0: batches built in
process. ``val_metric``: ``psnr`` (higher is better) or ``loss`` (the training loss on the
val images, lower is better; used whatever it says when the val data has no clean
images). ``amp`` / ``compile``: CUDA only (ignored on the CPU).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    create_model,
)

from simart.specs.strict import Strict

__all__ = ["RUN_SETTINGS", "ModelTrainSettings", "TrainSettings"]

#: The settings of :class:`TrainSettings` that are not per-model config keys.
RUN_SETTINGS = ("val_metric", "seed", "device", "deterministic", "threads", "num_workers",
                "progress")


def _betas(v: tuple[float, float]) -> tuple[float, float]:
    if not all(0.0 <= b < 1.0 for b in v):
        raise ValueError("Adam's (beta1, beta2) must each be in [0, 1)")
    return v


Betas = Annotated[tuple[float, float], AfterValidator(_betas)]


class _Settings(Strict):
    """Strict (:class:`simart.specs.strict.Strict`), and no inf / nan."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TrainSettings(_Settings):
    """Everything that decides how a model is trained (see the module docstring)."""

    steps: int = Field(300, ge=1, le=100_000_000)
    batch_size: int = Field(8, ge=1, le=4096)
    patch_size: int = Field(64, ge=8, le=8192)
    lr: float = Field(1e-3, gt=0, le=1.0)
    optimizer: Literal["adam", "adamw"] = "adam"
    betas: Betas = (0.9, 0.999)
    weight_decay: float = Field(0.0, ge=0, le=1.0)
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    warmup_steps: int = Field(0, ge=0, le=100_000_000)
    grad_clip: float = Field(1.0, ge=0)           # 0 = off
    checkpoint_every: int = Field(100, ge=0)      # 0 = only at the end
    val_every: int = Field(100, ge=0)             # 0 = only at the end
    val_images: int = Field(16, ge=0)             # 0 = no validation
    val_metric: Literal["psnr", "loss"] = "psnr"
    log_every: int = Field(10, ge=1)
    augment: Literal["dihedral", "flips", "none"] = "dihedral"
    seed: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when present
    amp: StrictBool = True                        # CUDA only
    compile: StrictBool = False                   # torch.compile, CUDA only
    deterministic: StrictBool = True              # bit-reproducible, slower on GPU
    threads: int = Field(1, ge=0, le=1024)        # torch threads (0 = torch's)
    num_workers: int = Field(0, ge=0, le=256)     # batch-assembly processes
    progress: StrictBool = False                  # tqdm bar on stderr

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> TrainSettings:
        """Settings from a plain mapping (config); unknown keys are refused by name."""
        known = set(cls.model_fields)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (``betas`` a list), in the fields' order."""
        return self.model_dump(mode="json")


#: The per-model part of :class:`TrainSettings` (the config's ``train.defaults``): its
#: fields, constraints and defaults, without :data:`RUN_SETTINGS`.
ModelTrainSettings: type[_Settings] = create_model(
    "ModelTrainSettings", __base__=_Settings, __module__=__name__,
    __doc__="Training settings a config sets per learned model (``train.defaults``, "
            "``train.models.<name>``): the fields of TrainSettings without RUN_SETTINGS.",
    **{k: (f.annotation, f) for k, f in TrainSettings.model_fields.items()
       if k not in RUN_SETTINGS})
