"""How learned models run their test-set predictions (config ``evaluate.inference``), defined
once (pydantic, torch-free).

Every setting but ``resume_every_minutes`` acts on CUDA only: on the CPU predictions run in
float32, in the default memory layout, eagerly, with the configured batch size --
bit-identical whatever these settings say (tests/test_inference_path.py pins it).

* ``amp``: ``off`` (float32), ``bf16`` (bfloat16 autocast of the networks; fp16 where the
  GPU has no bf16) or ``fp16`` (float16 autocast). The forward operators of the physics
  guidance always run in float32 (``simart.models.diffusion.fp32``).
* ``channels_last``: weights and images in channels-last memory layout (tensor-core
  convolutions without layout transposes).
* ``compile``: ``torch.compile`` of every network the prediction calls
  (``RestorationModel.compile_networks``); a warm-up batch with a 2-step sampler runs
  first, so that the per-image seconds in the run tables exclude the compilation.
* ``batch_size``: images per ``predict`` call; ``null`` = the training batch size
  (``train.defaults.batch_size``, as before this setting existed); ``auto`` = on CUDA the
  largest batch (halving from 256, at most the shard's images) whose warm-up does not run
  out of memory, chosen per model and shard; on the CPU the training batch size.
  A sampling model draws its noise batch by batch from one generator per shard
  (``simart.evaluation.learned.prediction_generator``): its predictions are reproducible
  for a given batch size; ``auto`` makes that size depend on the GPU's memory, so set a
  number where the samples must be identical across GPU models.
* ``resume_every_minutes``: how often a prediction job (every row, classical ones too)
  saves its resume point -- the predictions done so far and the sampling generator's state
  (``simart.evaluation.resume``) -- so that a job killed at its time limit continues where
  it was instead of starting over; ``0``: no periodic saves (a stop signal still saves).
  It does not change any prediction: it is left out of the rule's parameters
  (:meth:`InferenceSettings.output_settings`), and changing it reruns nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, field_validator

from simart.specs.strict import Strict

__all__ = ["AUTO_BATCH_START", "MAX_BATCH", "RESUME_EVERY_MINUTES", "InferenceSettings"]

#: The first batch size ``batch_size: auto`` tries on CUDA (then halves on out-of-memory).
AUTO_BATCH_START = 256
MAX_BATCH = 4096
#: Default minutes between saves of a prediction job's resume point: a save rewrites the
#: predictions done so far (a shard's worth at most), seconds against the hours of GPU
#: work a paper-scale job does, and a kill loses at most this much work (or one batch).
RESUME_EVERY_MINUTES = 10.0
#: Settings that do not change the predictions (left out of the rule's parameters).
NOT_IN_OUTPUTS = frozenset({"resume_every_minutes"})


class InferenceSettings(Strict):
    """``evaluate.inference`` (see the module docstring); unknown keys and true/false for
    numbers refused, frozen, compared by value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amp: Literal["off", "bf16", "fp16"] = "off"
    channels_last: StrictBool = False
    compile: StrictBool = False
    batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH)] | Literal["auto"] | None = None
    resume_every_minutes: Annotated[float, Field(ge=0, allow_inf_nan=False)] = \
        RESUME_EVERY_MINUTES

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, v: Any) -> Any:
        # one message naming every allowed form (pydantic would list one error per form)
        ok = v is None or v == "auto" or (type(v) is int and 1 <= v <= MAX_BATCH)
        if not ok:
            raise ValueError(f"must be a whole number from 1 to {MAX_BATCH}, 'auto' "
                             "(from the GPU's memory) or null (the training batch size)")
        return v

    def is_default(self) -> bool:
        """Whether every setting that acts on the predictions has its default (the
        prediction as before they existed)."""
        return self.output_settings() == InferenceSettings().output_settings()

    def output_settings(self) -> dict[str, Any]:
        """The settings that act on the predictions (a rule parameter: changing them
        reruns the predictions; ``resume_every_minutes`` is not one)."""
        return self.model_dump(exclude=set(NOT_IN_OUTPUTS))
