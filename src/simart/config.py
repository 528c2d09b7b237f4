"""Configuration schema (pydantic) and typed access.

The whole config is validated before any job runs (the Snakefile calls
:func:`validate_config`). An unknown key or a value out of range stops the run with a
:class:`ConfigError` whose message names the key, the value and what is allowed.

Physical parameter distributions live in ``simart.specs.modalities.DEFAULT_PARAM_SPECS``; the
config's ``simart.params`` only overrides them, key by key (a number = fixed value,
``[lo, hi]`` = uniform).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from simart.specs.inference import InferenceSettings
from simart.specs.lm import effective_specs as lm_specs
from simart.specs.metrics import METRICS
from simart.specs.modalities import DEFAULT_PARAM_SPECS, PARAM_BOUNDS, default_param_specs
from simart.specs.models import MODELS
from simart.specs.models import names as model_names
from simart.specs.operators import operator_names
from simart.specs.params import ParamSpec, check_specs
from simart.specs.sources import PROCEDURAL_KINDS
from simart.specs.stem_lattice import SEED_SPLIT
from simart.specs.stem_lattice import effective_specs as stem_lattice_specs
from simart.specs.stm_cu111 import effective_specs as stm_cu111_specs
from simart.specs.strict import Strict
from simart.specs.training import ModelTrainSettings

SPLITS = ("train", "val", "test")



class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""


def _fractions(v: tuple[float, float, float]) -> tuple[float, float, float]:
    if any(f <= 0 for f in v) or not math.isclose(sum(v), 1.0, abs_tol=1e-6):
        raise ValueError("must be three positive fractions (train, val, test) summing to 1")
    return v


def _kinds(v: list[str] | None) -> list[str] | None:
    bad = [k for k in v or [] if k not in PROCEDURAL_KINDS]
    if bad:
        raise ValueError(f"unknown procedural kind(s) {bad}; allowed: {list(PROCEDURAL_KINDS)} "
                         "(or null for all)")
    if v is not None and len(set(v)) != len(v):
        raise ValueError("must name each procedural kind at most once")
    return v


Fractions = Annotated[tuple[float, float, float], AfterValidator(_fractions)]
ProceduralKinds = Annotated[list[str] | None, AfterValidator(_kinds)]


class SourcesConfig(Strict):
    n_sources: int = Field(48, ge=3, le=10_000_000)
    split_fractions: Fractions = (0.75, 0.125, 0.125)
    procedural_kinds: ProceduralKinds = None
    use_skimage: bool = True
    user_dir: str | None = None


class SplitCounts(Strict):
    train: int = Field(96, ge=1, le=100_000_000)
    val: int = Field(16, ge=1, le=100_000_000)
    test: int = Field(16, ge=1, le=100_000_000)


class SimartConfig(Strict):
    # the SIMART operators of simart.specs.operators (all by default)
    modalities: list[str] = Field(default_factory=lambda: list(operator_names("simart")))
    images_per_modality: SplitCounts = SplitCounts()
    shard_size: int = Field(16, ge=1, le=100_000)
    dtype: Literal["float32", "float16"] = "float32"
    compression: Literal["auto", "lzf", "gzip", "none"] = "auto"
    # simart.physics.params.PARAM_PRESETS: calibrated (pixel sizes follow image_size) | pcsd
    param_preset: Literal["calibrated", "pcsd"] = "calibrated"
    params: dict[str, dict[str, ParamSpec]] = {}
    noise: dict[str, ParamSpec] = {}
    # images per modality that the calibration report restores with the oracle (evenly
    # spaced over the train, val and test shards; all of them when there are fewer)
    calibration_images: int = Field(1000, ge=1, le=100_000_000)

    @field_validator("modalities")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        allowed = list(operator_names("simart"))
        for m in v:
            if m not in allowed:
                raise ValueError(f"unknown modality {m!r}; allowed: {allowed}")
        if not v or len(set(v)) != len(v):
            raise ValueError(f"must list each of {', '.join(allowed)} at most once (at least one)")
        return v


# Every metric of simart.specs.metrics.METRICS, in its order
ALL_METRICS: tuple[str, ...] = tuple(METRICS)


def _registered(table: Mapping[str, Any], what: str, keep=lambda entry: True):
    """A name validator against a registry of simart.specs, read when a config is validated
    (so that an entry registered after this import is accepted)."""
    def check(v: str) -> str:
        allowed = [k for k, e in table.items() if keep(e)]
        if v not in allowed:
            raise ValueError(f"unknown {what} {v!r}; allowed: {allowed}")
        return v
    return AfterValidator(check)


MetricName = Annotated[str, _registered(METRICS, "metric")]


def _unique_list(v: list[str] | None) -> list[str] | None:
    if v is not None and (not v or len(set(v)) != len(v)):
        raise ValueError("must name each metric at most once (at least one)")
    return v


# simart.specs.models: the input and classical baselines, then the learned models
CLASSICAL_MODELS: tuple[str, ...] = model_names("input", "classical")
LEARNED_MODELS: tuple[str, ...] = model_names("cnn", "diffusion", "gan")
ModelName = Annotated[str, _registered(MODELS, "model")]
LearnedName = Annotated[str, _registered(MODELS, "learned model", lambda m: m.learned)]
DatasetName = Literal["simart", "stem_lattice", "stm_cu111", "lm"]


_NAME = r"^[a-z][a-z0-9_]*$"


class VariantConfig(Strict):
    """An evaluation variant: the trained ``model`` sampled with other ``sampling`` options
    (``set_sampling`` of the model: steps, sampler, guidance strength, samples averaged)."""

    model: LearnedName
    sampling: dict[str, Any] = Field(default_factory=dict)


class EvaluateConfig(Strict):
    # Every method of simart.specs.models by default (each runs on the datasets its spec
    # names: the classical baselines other than `noisy` on simart only); list names to run
    # fewer.
    models: list[ModelName] = Field(default_factory=lambda: list(MODELS))
    datasets: list[DatasetName] = ["simart", "stem_lattice", "stm_cu111", "lm"]

    @field_validator("models", "datasets")
    @classmethod
    def _unique_names(cls, v: list[str]) -> list[str]:
        if not v or len(set(v)) != len(v):
            raise ValueError("must name each entry at most once (at least one)")
        return v

    @field_validator("datasets")
    @classmethod
    def _simart_first(cls, v: list[str]) -> list[str]:
        if "simart" not in v:
            raise ValueError("must include simart (the main table and Fig. 1 are on it)")
        return v
    metrics: list[MetricName] = Field(default_factory=lambda: list(METRICS))
    data_range: float = Field(1.0, gt=0)
    rl_iterations: int = Field(50, ge=1, le=10_000)
    # Extra evaluation rows of trained models (no training of their own): name -> {model,
    # sampling}: the fast sampler, the guidance-strength sweep, DDPM-avg with N samples
    variants: dict[str, VariantConfig] = Field(default_factory=dict)
    # Cross-modal study (the PCSD paper Table 4): these models are also trained on each SIMART
    # modality alone and scored on every modality, rows "<model>_from_<modality>"
    cross_modal: list[LearnedName] = Field(default_factory=list)
    # Variants and cross-modal rows are scored on the first N test shards of each subset
    # (null: all); the paper config keeps its sweeps affordable this way
    study_test_shards: int | None = Field(None, ge=1)
    # Datasets a learned model runs on, where not the default of
    # simart.specs.models (e.g. {cond_ddpm: [lm, simart]})
    model_datasets: dict[LearnedName, list[DatasetName]] = Field(default_factory=dict)
    # torchvision's ImageNet AlexNet checkpoint for LPIPS; None = the torch cache,
    # $TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth (absent: LPIPS is marked missing)
    lpips_backbone: str | None = None
    # how learned models predict on CUDA (bf16, channels-last, torch.compile, batch size);
    # CPU predictions ignore it (simart.specs.inference)
    inference: InferenceSettings = InferenceSettings()
    # Score each test shard inside its prediction job instead of a score_shard job of its
    # own: one process fewer per shard (each pays ~3-4 s of imports), but a change of the
    # metrics or their code then re-runs the restoration too. The embedded default does
    # (CPU, seconds per job); the presets keep scoring on the CPU partition, apart from
    # the GPU predictions.
    score_in_prediction_job: bool = False

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str] | None) -> list[str] | None:
        return _unique_list(v)

    @model_validator(mode="after")
    def _studies(self) -> EvaluateConfig:
        import re

        for name in self.variants:
            if not re.match(_NAME, name) or name in CLASSICAL_MODELS + LEARNED_MODELS:
                raise ConfigError(f"config key 'evaluate.variants.{name}': the name {name!r} "
                                  f"must match {_NAME} and not be a model's name")
        return self

    def active_variants(self) -> dict[str, VariantConfig]:
        """The variants whose model is evaluated (a config that narrows ``models`` -- e.g.
        a --configfile on top of config.yaml -- drops the others' rows, no error)."""
        return {k: v for k, v in self.variants.items() if v.model in self.models}

    def study_names(self, modalities: list[str]) -> list[str]:
        """Evaluation rows besides the models: active variants, then cross-modal rows of
        the cross_modal models that are evaluated."""
        return [*self.active_variants(), *(f"{m}_from_{mod}" for m in self.cross_modal
                                           if m in self.models for mod in modalities)]


# train.models.<name>: every setting optional, with the same constraints as the defaults'
_OVERRIDE_FIELDS = {k: ((Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation)
                        | None, None)
                    for k, f in ModelTrainSettings.model_fields.items()}


class ModelTrainConfig(create_model("_ModelTrainBase", __base__=Strict, **_OVERRIDE_FIELDS)):
    """One learned model: overrides of train.defaults + its hyper-parameters (a dict of
    simart.specs.hparams.DEFAULT_HPARAMS keys)."""

    hparams: dict[str, Any] = Field(default_factory=dict)
    # per dataset: further overrides of hparams for the trainings on that dataset only
    dataset_hparams: dict[DatasetName, dict[str, Any]] = Field(default_factory=dict)


class TrainConfig(Strict):
    device: Literal["auto", "cpu", "cuda"] = "auto"   # auto: CUDA when present
    deterministic: bool = True    # bit-reproducible (resume = same weights), slower on GPU
    threads: int = Field(1, ge=0, le=1024)            # torch threads per job (0 = torch's)
    num_workers: int = Field(0, ge=0, le=256)         # batch-assembly processes
    progress: bool = False                            # tqdm bar on stderr (the log has lines)
    # data-parallel processes per training: one per GPU (the job asks Slurm for this many),
    # CPU processes without CUDA; every batch_size (the global batch) must be a multiple
    gpus: int = Field(1, ge=1, le=64)
    # datasets whose subsets each get their own model (simart.data.datasets: groups)
    per_subset: list[DatasetName] = ["simart"]
    # architectures: simart.specs.hparams.DEFAULT_HPARAMS (tiny) or PAPER_HPARAMS (the
    # papers', sources there); train.models.<name>.hparams override single keys
    hparams_preset: Literal["default", "paper"] = "default"
    defaults: ModelTrainSettings = ModelTrainSettings()
    models: dict[LearnedName, ModelTrainConfig] = {}

    @model_validator(mode="after")
    def _batch_splits(self) -> TrainConfig:
        for name in LEARNED_MODELS:
            batch = self.settings(name)["batch_size"]
            if batch % self.gpus:
                m = self.models.get(name)
                key = (f"train.models.{name}.batch_size" if m is not None
                       and m.batch_size is not None else "train.defaults.batch_size")
                raise ConfigError(f"config key '{key}' = {batch} (model {name}) does not split "
                                  f"over train.gpus = {self.gpus} processes: the global batch "
                                  f"is divided between them; use a multiple of {self.gpus}")
        return self

    @model_validator(mode="after")
    def _hparams(self) -> TrainConfig:
        if not self.models and self.hparams_preset == "default":
            return self
        from simart.specs.hparams import resolve_hparams

        for name, m in self.models.items():
            try:
                resolve_hparams(name, self.hparams(name))
            except ValueError as exc:
                raise ConfigError(f"config key 'train.models.{name}.hparams': {exc}") from None
            for ds in m.dataset_hparams:
                try:
                    resolve_hparams(name, self.hparams(name, ds))
                except ValueError as exc:
                    raise ConfigError(f"config key 'train.models.{name}.dataset_hparams."
                                      f"{ds}': {exc}") from None
        return self

    def settings(self, model: str) -> dict[str, Any]:
        """Effective settings of one model: defaults, then what its spec fixes at every scale
        (``simart.specs.models.ModelSpec.train``: the GANs' optimiser), then its overrides."""
        out = self.defaults.model_dump()
        spec = MODELS.get(model)
        if spec is not None and spec.train:  # the sources' scale-free settings (optimiser)
            fixed = ModelTrainConfig.model_validate(dict(spec.train)).model_dump()
            out.update({k: fixed[k] for k, _ in spec.train})
        m = self.models.get(model)
        if m is not None:
            out.update({k: v for k, v in m.model_dump().items()
                        if k not in ("hparams", "dataset_hparams") and v is not None})
        return out

    def hparams(self, model: str, dataset: str | None = None) -> dict[str, Any]:
        """The preset's hyper-parameters of ``model`` updated by its overrides (only the
        overrides for the default preset), then by its ``dataset_hparams`` of ``dataset``."""
        out: dict[str, Any] = {}
        if self.hparams_preset == "paper":
            from simart.specs.hparams import PAPER_HPARAMS

            out.update(PAPER_HPARAMS[model])
        m = self.models.get(model)
        if m is not None:
            out.update(m.hparams)
            if dataset is not None:
                out.update(m.dataset_hparams.get(dataset, {}))
        return out


class StatsConfig(Strict):
    """Statistics (docs/metrics.md): each model against ``reference_model`` (or all pairs), per dataset x modality
    x metric: Mood, paired t, Wilcoxon, Holm, bootstrap CIs."""

    reference_model: str = "noisy"
    pairs: Literal["reference", "all"] = "reference"
    metrics: list[MetricName] | None = None  # None = every evaluate.metrics
    n_bootstrap: int = Field(2000, ge=100, le=1_000_000)
    ci_level: float = Field(0.95, gt=0.5, lt=1.0)

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str] | None) -> list[str] | None:
        return _unique_list(v)


class FiguresConfig(Strict):
    example_index: int = Field(0, ge=0)
    # restored columns of Fig. 1 (those evaluated on simart; the noisy input is "Degraded")
    fig1_models: list[ModelName] = ["noisy", "wiener", "bm3d", "tip_erosion", "unet", "pcsd"]
    # methods of Figs. 5/7 and rows of Fig. 6 (null: the paper's Fig. 5 list / every
    # evaluated simart model but PCSD's ablations); simart/specs/figures.py
    fig5_models: list[ModelName] | None = None
    fig6_models: list[ModelName] | None = None
    formats: list[Literal["png", "pdf", "svg"]] = ["png", "pdf"]
    dpi: int = Field(150, ge=50, le=1200)


class RealSetConfig(Strict):
    """One folder (or list) of real micrographs to restore and score without ground truth
    (rules/realdata.smk, docs/real_data.md).

    ``dataset`` / ``subset``: whose trained models restore them (e.g. simart / TEM,
    stm_cu111 / experimental, lm / widefield); ``paths``: files, folders or glob patterns
    (relative to the working directory); ``pixel_size_nm``: used when a file states none;
    ``operator``: the known operator parameters (the subset's parameter names, seeds
    excepted) -- the classical baselines and the physics-guided samplers need them; without
    them those rows are missing with the reason; ``models``: the rows to run (null: every
    model of ``evaluate.models`` that applies to ``dataset``); ``crop``: a centred square
    crop of this side (px) before restoration (null: the whole image)."""

    dataset: DatasetName
    subset: str
    paths: list[str] = Field(min_length=1)
    pixel_size_nm: float | None = Field(None, gt=0)
    operator: dict[str, float] | None = None
    models: list[ModelName] | None = None
    crop: int | None = Field(None, ge=32, le=8192)

    @field_validator("models")
    @classmethod
    def _models(cls, v: list[str] | None) -> list[str] | None:
        return _unique_list(v)


class RealDataConfig(Strict):
    """Real-data evaluation (rules/realdata.smk): ``sets`` by name (letters, digits, _);
    ``figure_images``: images per set shown in its figure."""

    sets: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], RealSetConfig] = {}
    figure_images: int = Field(3, ge=1, le=20)


class MaterialSplit(Strict):
    """Materials (CIF file stems) of each split of the stem_lattice dataset."""

    train: list[str] = Field(min_length=1)
    val: list[str] = Field(min_length=1)
    test: list[str] = Field(min_length=1)


# The PINNED paper's split (simart.specs.stem_lattice.SEED_SPLIT, with its reasons).
_SEED_MATERIALS = MaterialSplit(**SEED_SPLIT)


def _check_dataset_params(section: str, check) -> None:
    try:
        check()
    except ValueError as exc:
        raise ConfigError(str(exc) if "config key" in str(exc) else f"{section}: {exc}") from None


class StemLatticeConfig(Strict):
    """Dataset stem_lattice: STEM images from CIF files x CDN levels (the PINNED paper; docs/dataset.md)."""

    enabled: bool = True
    cif_dir: str | None = None            # None = the shipped CIFs (src/simart/simulate/cif)
    on_bad_cif: Literal["error", "skip"] = "error"
    materials: MaterialSplit | None = _SEED_MATERIALS  # None = split the folder's CIFs
    split_fractions: Fractions = (0.6, 0.2, 0.2)  # only if materials is None
    zone_axes: list[tuple[int, int, int]] | None = None  # None = per-material defaults
    levels: list[Literal[1, 2, 3, 4, 5]] = [1, 2, 3, 4, 5]
    probe: Literal["stem", "gaussian"] = "stem"
    images_per_level: SplitCounts = SplitCounts(train=24, val=8, test=9)
    shard_size: int = Field(24, ge=1, le=100_000)
    image_size: int | None = Field(None, ge=16, le=8192)  # None = the global image_size
    dtype: Literal["float32", "float16"] = "float32"
    compression: Literal["auto", "lzf", "gzip", "none"] = "auto"
    params: dict[str, ParamSpec] = {}

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: list[int]) -> list[int]:
        if not v or len(set(v)) != len(v):
            raise ValueError("must list each CDN level (1-5) at most once (at least one)")
        return v

    @field_validator("zone_axes")
    @classmethod
    def _axes(cls, v: list[tuple[int, int, int]] | None) -> list[tuple[int, int, int]] | None:
        # [uvw] of the CIF cell; high-index axes have no short lattice basis completing them
        # (simart.simulate.crystals.project searches vectors with entries up to 3)
        if v is not None and (not v or any(not any(ax) or max(map(abs, ax)) > 6 for ax in v)):
            raise ValueError("must list zone axes [u, v, w] of integers from -6 to 6, not all "
                             "zero (at least one; null = per-material defaults)")
        return v

    @model_validator(mode="after")
    def _check(self) -> StemLatticeConfig:
        _check_dataset_params("stem_lattice.params", lambda: stem_lattice_specs(self))
        return self


class StmCu111Config(Strict):
    """Dataset stm_cu111: Cu(111) LDOS maps, blurry and experimental-like domains (docs/dataset.md)."""

    enabled: bool = True
    domains: list[Literal["clean", "blurry", "experimental"]] = [
        "clean", "blurry", "experimental"]
    images_per_domain: SplitCounts = SplitCounts(train=128, val=8, test=32)
    shard_size: int = Field(64, ge=1, le=100_000)
    image_size: int | None = Field(None, ge=16, le=8192)
    dtype: Literal["float32", "float16"] = "float32"
    compression: Literal["auto", "lzf", "gzip", "none"] = "auto"
    params: dict[Literal["ldos", "blurry", "experimental"], dict[str, ParamSpec]] = {}

    @model_validator(mode="after")
    def _check(self) -> StmCu111Config:
        for group in ("ldos", "blurry", "experimental"):
            _check_dataset_params(f"stm_cu111.params.{group}",
                                  lambda g=group: stm_cu111_specs(self, g))
        return self


class LMConfig(Strict):
    """Dataset lm: widefield / confocal fluorescence + Poisson noise (the PI-DDPM paper; docs/dataset.md)."""

    enabled: bool = True
    modes: list[Literal["widefield", "confocal"]] = ["widefield", "confocal"]
    images_per_mode: SplitCounts = SplitCounts(train=24, val=8, test=8)
    shard_size: int = Field(24, ge=1, le=100_000)
    image_size: int | None = Field(None, ge=16, le=8192)
    dtype: Literal["float32", "float16"] = "float32"
    compression: Literal["auto", "lzf", "gzip", "none"] = "auto"
    n_sources: int = Field(24, ge=3, le=10_000_000)
    split_fractions: Fractions = (0.75, 0.125, 0.125)
    procedural_kinds: ProceduralKinds = ["filaments", "blobs"]
    use_skimage: bool = True
    user_dir: str | None = None           # your own fluorescence images (TIFF/PNG/MRC/DM)
    params: dict[str, ParamSpec] = {}

    @model_validator(mode="after")
    def _check(self) -> LMConfig:
        _check_dataset_params("lm.params", lambda: lm_specs(self))
        return self


class Config(Strict):
    seed: int = Field(20261121, ge=0, le=2**63 - 1)
    image_size: int = Field(128, ge=16, le=8192)
    sources: SourcesConfig = SourcesConfig()
    simart: SimartConfig = SimartConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    train: TrainConfig = TrainConfig()
    figures: FiguresConfig = FiguresConfig()
    stats: StatsConfig = StatsConfig()
    stem_lattice: StemLatticeConfig = StemLatticeConfig()
    stm_cu111: StmCu111Config = StmCu111Config()
    lm: LMConfig = LMConfig()
    real_data: RealDataConfig = RealDataConfig()

    @model_validator(mode="after")
    def _params(self) -> Config:
        _check_param_overrides(self.simart.params, self.simart.noise)
        return self

    @model_validator(mode="after")
    def _stats(self) -> Config:
        if self.stats.reference_model not in self.evaluate.models:
            raise ConfigError(
                f"config key 'stats.reference_model' = {self.stats.reference_model!r} is not one "
                f"of the evaluated models evaluate.models = {list(self.evaluate.models)}")
        if self.stats.metrics is not None and not self.stats_metrics():
            raise ConfigError(
                f"config key 'stats.metrics' = {self.stats.metrics}: none of them is in "
                f"evaluate.metrics = {list(self.evaluate.metrics)}; null = every evaluated metric")
        return self

    def stats_metrics(self) -> list[str]:
        """The metrics rule stats tests: ``stats.metrics`` (registered names) among those
        evaluated -- a config that evaluates fewer metrics (an override of evaluate.metrics
        over config.yaml) tests the ones it has --, or every evaluated metric when null."""
        if self.stats.metrics is None:
            return list(self.evaluate.metrics)
        return [m for m in self.stats.metrics if m in self.evaluate.metrics]


def _check_spec(key: str, spec: Any) -> None:
    """The bounds check of every dataset (``simart.simulate.dataset_common.check_specs``)
    with SIMART's :data:`PARAM_BOUNDS`."""
    where, name = key.rsplit(".", 1)
    try:
        check_specs({name: spec}, where, PARAM_BOUNDS)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _check_param_overrides(params: Mapping[str, Mapping[str, Any]], noise: Mapping[str, Any]) -> None:

    for modality, specs in params.items():
        if modality not in DEFAULT_PARAM_SPECS or modality == "noise":
            allowed = sorted(k for k in DEFAULT_PARAM_SPECS if k != "noise")
            raise ConfigError(f"unknown config key 'simart.params.{modality}'; allowed: {allowed}")
        for key, spec in specs.items():
            if key not in DEFAULT_PARAM_SPECS[modality]:
                raise ConfigError(
                    f"unknown config key 'simart.params.{modality}.{key}'; "
                    f"allowed: {sorted(DEFAULT_PARAM_SPECS[modality])}")
            _check_spec(f"simart.params.{modality}.{key}", spec)
    for key, spec in noise.items():
        if key not in DEFAULT_PARAM_SPECS["noise"]:
            raise ConfigError(f"unknown config key 'simart.noise.{key}'; "
                              f"allowed: {sorted(DEFAULT_PARAM_SPECS['noise'])}")
        _check_spec(f"simart.noise.{key}", spec)


def _format_error(err: dict[str, Any], raw: Mapping[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown config key '{key}'"
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if "error" in ctx and isinstance(ctx["error"], ConfigError):
        return str(ctx["error"])
    msg = err["msg"].removeprefix("Value error, ")
    if isinstance(value, Mapping) and key:  # a section's own check: not its whole content
        return f"config key '{key}': {msg}"
    if err["loc"] and err["loc"][-1] == "[key]":  # a mapping's key (a model's name)
        parent = ".".join(str(p) for p in err["loc"][:-2])
        return f"unknown config key '{parent}.{value}': {msg}"
    return f"config key '{key}' = {value!r}: {msg}"


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML config file into a dict; raise :class:`ConfigError` "file:line:col: what"
    for a syntax error, a duplicated key (YAML keeps the last one silently) or a file that
    is not a mapping of keys.

    The Snakefile runs it on ``config.yaml`` before its ``configfile:`` directive, since
    Snakemake's own loader reports neither the file nor the line. (Files given with
    ``--configfile`` are read by Snakemake's command line before the Snakefile runs: a
    syntax error there is reported as "Config file is not valid JSON or YAML" only.)
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                m = key_node.start_mark
                try:
                    if key in seen:
                        raise ConfigError(
                            f"{path}:{m.line + 1}:{m.column + 1}: duplicated key {key!r} (first "
                            f"at line {seen[key]}); YAML would silently keep only the last one")
                    seen[key] = m.line + 1
                except TypeError:  # unhashable key: the base class reports it
                    break
            return super().construct_mapping(node, deep)

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_Loader)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") \
            from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from None
    except yaml.MarkedYAMLError as exc:
        mark, ctx = exc.problem_mark or exc.context_mark, exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        what = exc.problem or exc.context or "malformed YAML"
        if exc.context and ctx is not None and ctx.line != getattr(mark, "line", None):
            what += f" ({exc.context} started at line {ctx.line + 1}, column {ctx.column + 1})"
        elif exc.context and exc.problem:
            what = f"{exc.context}: {exc.problem}"
        raise ConfigError(f"{where}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from None
    if not isinstance(data, dict):
        what = "is empty" if data is None else f"holds a {type(data).__name__}"
        raise ConfigError(f"{path}:1:1: the config file {what}; it must be a mapping of "
                          "config keys (key: value lines) at top level")
    return data


def validate_config(raw: Mapping[str, Any]) -> Config:
    """Validate a raw config mapping; raise :class:`ConfigError` naming every bad key."""
    try:
        return Config.model_validate(dict(raw))
    except ValidationError as exc:
        lines = [_format_error(e, raw) for e in exc.errors()]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None


def param_specs(cfg: Config, modality: str) -> dict[str, ParamSpec]:
    """The effective parameter distribution for one modality: the preset's defaults at the
    config's image size (``simart.physics.params.default_param_specs``), the config's
    overrides, and the noise."""
    preset = cfg.simart.param_preset
    spec: dict[str, ParamSpec] = default_param_specs(modality, cfg.image_size, preset)
    spec.update(cfg.simart.params.get(modality, {}))
    noise: dict[str, ParamSpec] = default_param_specs("noise", cfg.image_size, preset)
    noise.update(cfg.simart.noise)
    return {**spec, **noise}


def n_shards(cfg: Config, split: str) -> int:
    """Number of shards of one (modality, split)."""
    n = getattr(cfg.simart.images_per_modality, split)
    return -(-n // cfg.simart.shard_size)
