"""What a config costs before it runs: GPU-hours, CPU core-hours and storage per rule family
and per study, from the workflow's own plan (no Snakemake, nothing trained).

**Jobs.** :class:`~simart.workflow.figures_plan.FigurePlan` of the validated config (the
plan ``rules/common.smk`` builds) lists every shard, training, evaluation row, test shard
and cell; :func:`project` turns each into :class:`Line` s of six families
(:data:`FAMILIES`), each tagged with the study it serves (:data:`STUDIES`).

**GPU work** is counted, not guessed: :class:`FlopCounter` builds the real model class from
the registry (:func:`simart.models.build_model`, the config's hyper-parameters) and runs,
under :class:`torch.utils.flop_counter.FlopCounterMode` on the CPU,

* one training step as :func:`simart.train.loop` runs it (``training_step`` and the
  backward of every optimiser group), and
* one ``predict`` (:func:`simart.models.base.run_predict`) of one image.

The count is made at two small sizes ``L0`` and ``2 L0`` (multiples of the network's size
multiple) and one image: matrix products and convolutions grow as ``c + a L^2`` (fitted
exactly from the two counts), attention (``scaled_dot_product_attention`` and ``bmm``) as
``L^4`` (scaled from the larger count). Batches scale linearly, except where a model treats
a batch as a whole (PCSD's cycle pass on ``ceil(cycle_fraction B)`` images): there the
small-size step is also counted at ``min(B, 4)`` images and its ratio applied. Diffusion
models are counted for ONE network evaluation (the sampler set to one DDIM step, guidance
included: PCSD's guidance back-propagates through the network) and multiplied by the
evaluations their sampling options make (:func:`sampler_evaluations`, the same arithmetic as
:meth:`simart.models.diffusion.DiffusionModel.run_sampler`) and ``n_samples``. PCSD's
perceptual term is counted with VGG-19's architecture where ``lambda_perc`` > 0 (it runs
wherever its weights are installed). FFTs of the physics operators and element-wise work
are not FLOPs FlopCounterMode counts: the efficiency factor covers them.
GPU-hours = FLOPs / (peak bf16 dense x efficiency) (:mod:`simart.specs.hardware`).

**CPU work** (simulation, classical baselines, scoring) is measured: :func:`measure_cpu_rates`
runs the project's own shard builders, ``predict_shards`` and ``score_shards`` on a few
small images in a temporary folder and divides by their pixels (seconds per pixel, scaled
by each job's pixels); :data:`STATED_RATES` holds such a measurement for ``--no-measure``.
Table, statistics and figure jobs are bounded by the runtime their rules request.

**Storage**: shards (clean + degraded at the dataset's dtype, uncompressed: an upper
bound), predictions (float32, with every extra output such as uncertainty maps) and
checkpoints (``best.pt`` twice -- working folder and output -- and ``last.pt`` with
Adam's two moments).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from simart.config import SPLITS, Config, ConfigError, load_yaml, validate_config
from simart.specs.hardware import GPUSpec
from simart.specs.models import MODELS, is_joint
from simart.workflow.figures_plan import FigurePlan

FAMILIES = ("simulate", "physics datasets", "train", "predict", "score",
            "metrics/stats/figures")
STUDIES = ("main comparison", "ablations", "variants/eta sweeps", "cross-modal",
           "physics datasets", "tables/figures")
_BYTES = {"float32": 4, "float16": 2}
_ATTENTION_OPS = ("bmm", "scaled_dot_product", "flash_attention")


@dataclass
class Line:
    """The cost of a group of jobs of one family serving one study."""

    family: str
    study: str
    what: str
    jobs: int
    gpu_flops: float = 0.0
    cpu_core_s: float = 0.0
    storage_bytes: float = 0.0


def load_config(path: str | os.PathLike) -> Config:
    """The validated config of ``path``, alone: a preset replaces ``config.yaml`` (Snakemake's
    ``--replace-workflow-config``; the presets are complete), the schema's defaults fill
    what it leaves out. ``ConfigError`` names the file or key."""
    return validate_config(load_yaml(path))


# ----------------------------------------------------------------------------- FLOPs

def _flop_mode():
    """A FlopCounterMode that also counts the CPU flash-attention kernels (torch's table
    lacks them, so attention would count as zero on the CPU)."""
    import torch
    from torch.utils.flop_counter import (
        FlopCounterMode,
        sdpa_backward_flop_count,
        sdpa_flop_count,
    )

    def fwd(q, k, v, *args, out_shape=None, **kwargs):
        return sdpa_flop_count(q, k, v)

    def bwd(grad_out, q, k, v, *args, out_shape=None, **kwargs):
        return sdpa_backward_flop_count(grad_out, q, k, v)

    class NoModules:
        """FlopCounterMode's module tracker, without its backward hooks: those refuse the
        ``autograd.grad`` of guided sampling; only the global count is read here."""

        parents = ("Global",)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    custom = {}
    for name, fn in (("_scaled_dot_product_flash_attention_for_cpu", fwd),
                     ("_scaled_dot_product_flash_attention_for_cpu_backward", bwd)):
        op = getattr(torch.ops.aten, name, None)
        if op is not None:
            custom[op] = fn
    mode = FlopCounterMode(display=False, custom_mapping=custom)
    mode.mod_tracker = NoModules()
    return mode


def count_flops(fn: Callable[[], Any]) -> tuple[float, float]:
    """(all FLOPs, attention FLOPs) of running ``fn`` (counted, on whatever device it runs)."""
    with _flop_mode() as mode:
        fn()
    counts = mode.get_flop_counts().get("Global", {})
    attn = sum(v for k, v in counts.items() if any(a in str(k) for a in _ATTENTION_OPS))
    return float(mode.get_total_flops()), float(attn)


#: The counts :func:`simart.plan_cost` keeps between runs (one per model, hyper-parameters,
#: dataset, batch, size and guidance; valid while :func:`counted_code_version` is the same)
FLOP_CACHE = os.path.join(os.path.dirname(__file__), "flop_counts.json")


def counted_code_version() -> str:
    """SHA-256 of what a FLOP count depends on: torch's version and the sources of the
    models, the physics operators and the hyper-parameter presets."""
    import hashlib
    from pathlib import Path

    import torch

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(torch.__version__.encode())
    files = [*sorted((root / "models").glob("*.py")), *sorted((root / "physics").glob("*.py")),
             *sorted((root / "specs").glob("hparams*.py"))]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def sampler_evaluations(sampling: Mapping[str, Any], T: int) -> int:
    """Network evaluations of one sample with these sampling options (as
    ``DiffusionModel.run_sampler``: DDPM every step from the start timestep to the stop
    one, DDIM its ``steps`` of that range)."""
    from simart.models.diffusion import ddim_timesteps

    t_stop = round(float(sampling.get("stop", 0.0)) * (T - 1))
    t_top = T - 1
    if float(sampling.get("start", 1.0)) < 1.0:
        t_top = max(t_stop, round(float(sampling["start"]) * (T - 1)))
    if sampling["sampler"] == "ddpm":
        return t_top - t_stop + 1
    n = min(int(sampling["steps"]), t_top - t_stop + 1)
    return len(ddim_timesteps(t_top + 1, n, t_stop))


def _fit(l0: int, l1: int, f0: tuple[float, float], f1: tuple[float, float], size: int
         ) -> float:
    """FLOPs at ``size`` from counts at sizes l0 < l1: ``c + a L^2`` for all but attention
    (exact through both counts), attention ``~ L^4`` from the larger count."""
    (t0, att0), (t1, att1) = f0, f1
    o0, o1 = t0 - att0, t1 - att1
    a = (o1 - o0) / (l1 ** 2 - l0 ** 2)
    c = o0 - a * l0 ** 2
    return max(0.0, c + a * size ** 2) + att1 * (size / l1) ** 4


def _jsonable(d: Mapping[str, Any]) -> str:
    return json.dumps(d, sort_keys=True, default=str)


@dataclass(frozen=True)
class ModelFacts:
    """What a model's storage and sampling need: parameter bytes, trainable parameters, the
    number of arrays ``predict`` writes per image, whether it is a diffusion model, T."""

    state_bytes: int
    trainable: int
    outputs_per_image: int
    diffusion: bool
    T: int
    sampling: dict[str, Any] = field(default_factory=dict)
    size_multiple: int = 1


class FlopCounter:
    """FLOPs of training steps and predictions of the registry's models (module docstring),
    cached per (model, hyper-parameters, dataset, batch, size, sampling) within a run."""

    def __init__(self, cfg: Config, base: int = 32,
                 cache_path: str | os.PathLike | None = None):
        self.cfg = cfg
        self.base = base
        self._facts: dict[tuple, ModelFacts] = {}
        self.cache_path = cache_path
        self.code = counted_code_version()
        self._cache: dict[str, tuple[float, float]] = {}
        self.new_counts = 0
        if cache_path is not None and os.path.isfile(cache_path):
            with open(cache_path, encoding="utf-8") as fh:
                stored = json.load(fh)
            if stored.get("code") == self.code:
                self._cache = {k: tuple(v) for k, v in stored["counts"].items()}

    def save(self) -> None:
        """Write the counts to ``cache_path`` (atomically) when any is new."""
        if self.cache_path is None or not self.new_counts:
            return
        from simart.io import atomic_path

        with atomic_path(self.cache_path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"code": self.code, "counts": dict(sorted(self._cache.items()))}, fh,
                      indent=0)

    # -- the model and its inputs
    @staticmethod
    @lru_cache(maxsize=1)
    def _model(name: str, hparams_json: str):
        import torch

        from simart.models import build_model

        torch.manual_seed(0)
        model = build_model(name, json.loads(hparams_json))
        if name in MODELS and MODELS[name].impl.startswith("simart.models.pcsd.") \
                and model.hparams["lambda_perc"] > 0 and not model.perceptual_available:
            # count VGG-19 (its architecture; weights do not change FLOPs): it runs
            # wherever its ImageNet weights are installed
            from simart.models.pcsd import VGG19Features

            model._vgg = [VGG19Features()]
            model.perceptual_available = True
        return model

    def model(self, name: str, dataset: str):
        return self._model(name, _jsonable(self.cfg.train.hparams(name, dataset)))

    def facts(self, name: str, dataset: str) -> ModelFacts:
        """:class:`ModelFacts` of ``name`` with its hyper-parameters on ``dataset``."""
        key = (name, _jsonable(self.cfg.train.hparams(name, dataset)))
        if key not in self._facts:
            m = self.model(name, dataset)
            state = sum(t.numel() * t.element_size() for t in m.state_dict().values())
            trainable = sum(p.numel() for p in m.parameters() if p.requires_grad)
            diffusion = hasattr(m, "sched")
            self._facts[key] = ModelFacts(
                state, trainable, 1 + len(m.extra_outputs), diffusion,
                m.sched.T if diffusion else 0, dict(m.sampling) if diffusion else {},
                m.size_multiple)
        return self._facts[key]

    def _params(self, dataset: str, subset: str, b: int):
        """Operator parameters of ``b`` images of ``subset``, drawn by the dataset's own
        simulator (physics losses and guidance need real ones)."""
        from simart.physics.dataset_ops import has_operator, image_params, stack_params

        if not has_operator(dataset):
            return None
        if dataset == "simart":
            from simart.simulate.simart_dataset import image_params as draw
            rows = [draw(self.cfg, subset, "train", j) for j in range(b)]
        else:
            from simart.simulate.lm_dataset import lm_image_params
            rows = [{**lm_image_params(self.cfg, "train", j),
                     "confocal": float(subset == "confocal")} for j in range(b)]
        return stack_params([image_params(dataset, subset, r) for r in rows])

    def _batch(self, dataset: str, subset: str, b: int, size: int):
        import torch

        from simart.models import Batch

        g = torch.Generator().manual_seed(0)
        x = torch.rand((b, 1, size, size), generator=g)
        y = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
        return Batch(y=y, x=x, y2=y.flip(-1), u=y.flip(-2), xu=x.flip(-1),
                     params=self._params(dataset, subset, b),
                     subset=torch.zeros(b, dtype=torch.long))

    def _sizes(self, name: str, dataset: str) -> tuple[int, int]:
        m = self.facts(name, dataset).size_multiple
        l0 = m * max(1, math.ceil(self.base / m))
        return l0, 2 * l0

    # -- counts
    def _count(self, key: tuple, make: Callable[[], Callable[[], Any]]) -> tuple[float, float]:
        """The cached count of ``key``, else the count of the callable ``make()`` returns
        (the model and the batch are made outside the counting mode)."""
        k = json.dumps(key, default=str)
        if k not in self._cache:
            self._cache[k] = count_flops(make())
            self.new_counts += 1
        return self._cache[k]

    def _train_once(self, name: str, dataset: str, subset: str, b: int, size: int
                    ) -> tuple[float, float]:
        import torch

        def make():
            model = self.model(name, dataset).train()
            batch = self._batch(dataset, subset, b, size)

            def step():
                gen = torch.Generator().manual_seed(1)
                if model.optimizer_groups() is None:
                    model.training_step(batch, gen)[0].backward()
                else:
                    model.training_step(batch, gen, lambda group, loss: loss.backward())
                model.zero_grad(set_to_none=True)
            return step

        key = ("train", name, _jsonable(self.cfg.train.hparams(name, dataset)), dataset,
               b, size)
        return self._count(key, make)

    def train_step(self, name: str, dataset: str, subset: str, batch: int, size: int
                   ) -> float:
        """FLOPs of one training step of ``batch`` crops of ``size`` px (module docstring)."""
        l0, l1 = self._sizes(name, dataset)
        f0 = self._train_once(name, dataset, subset, 1, l0)
        f1 = self._train_once(name, dataset, subset, 1, l1)
        per_image = _fit(l0, l1, f0, f1, size)
        bc = min(batch, 4)
        if bc > 1:
            fb = self._train_once(name, dataset, subset, bc, l0)[0]
            return per_image * batch * fb / (bc * f0[0]) if f0[0] else 0.0
        return per_image * batch

    def _predict_once(self, name: str, dataset: str, subset: str, size: int,
                      sampling: Mapping[str, Any]) -> tuple[float, float]:
        def make():
            model = self.model(name, dataset).eval()
            batch = self._batch(dataset, subset, 1, size)
            return lambda: self._predict(model, batch, sampling)

        key = ("predict", name, _jsonable(self.cfg.train.hparams(name, dataset)), dataset,
               size, _jsonable(sampling))
        return self._count(key, make)

    @staticmethod
    def _predict(model, batch, sampling: Mapping[str, Any]) -> None:
        import torch

        from simart.models.base import run_predict

        saved = dict(getattr(model, "sampling", {}))
        try:
            if sampling:
                model.set_sampling(**sampling)
            with torch.no_grad():
                run_predict(model, batch.y, batch.subset, params=batch.params,
                            gen=torch.Generator().manual_seed(0))
        finally:
            if saved:
                model.set_sampling(**saved)

    def predict_image(self, name: str, dataset: str, subset: str, size: int,
                      sampling: Mapping[str, Any] | None = None) -> float:
        """FLOPs of restoring one ``size``-px image with ``sampling`` options (diffusion:
        one network evaluation x evaluations per sample x samples)."""
        facts = self.facts(name, dataset)
        l0, l1 = self._sizes(name, dataset)
        m = facts.size_multiple
        padded = m * math.ceil(size / m)
        if not facts.diffusion:
            f0, f1 = (self._predict_once(name, dataset, subset, s, {}) for s in (l0, l1))
            return _fit(l0, l1, f0, f1, padded)
        opts = {**facts.sampling, **(sampling or {})}
        # one evaluation; its cost depends on whether guidance runs (eta > 0), not on
        # which timestep it is (start / stop / steps choose only those)
        one: dict[str, Any] = {"sampler": "ddim", "steps": 1, "n_samples": 1}
        if "eta" in opts:
            one["eta"] = float(opts["eta"]) if float(opts["eta"]) > 0 else 0.0
        f0, f1 = (self._predict_once(name, dataset, subset, s, one) for s in (l0, l1))
        return (_fit(l0, l1, f0, f1, padded) * sampler_evaluations(opts, facts.T)
                * int(opts["n_samples"]))


# ----------------------------------------------------------------------------- CPU rates

@dataclass(frozen=True)
class Rate:
    """CPU seconds (one core) of a job: ``job_s`` once per job (imports, JIT compilation,
    first calls), ``image_s`` per image and ``px_s`` per pixel."""

    job_s: float
    image_s: float
    px_s: float

    def seconds(self, jobs: int, images: int, pixels: int) -> float:
        return jobs * self.job_s + images * self.image_s + pixels * self.px_s


#: CPU rates (``Rate(job_s, image_s, px_s)``) measured by :func:`measure_cpu_rates` (2
#: images per subset at 32^2 and 128^2 px) on a shared 2-core machine (2026-12, one torch
#: thread, under load from other work) with
#: ``python -m simart.plan_cost --configfile configs/paper.yaml --measure-only``;
#: ``--no-measure`` uses them. Keys: ``sim:<dataset>:<subset>`` (a shard job; stem_lattice
#: ``all``: every CDN level of a job), ``catalog`` (``image_s`` per source),
#: ``classical:<model>``, ``score`` (the paper preset's metrics).
STATED_RATES: dict[str, Rate] = {
    "catalog": Rate(0.00952, 7.54e-05, 0),
    "sim:simart:AFM": Rate(0.405, 0.00664, 1.58e-07),
    "sim:simart:TEM": Rate(0.00624, 0.00665, 2.85e-07),
    "sim:simart:SEM": Rate(0.0062, 0.00604, 2.1e-07),
    "sim:simart:STEM": Rate(0.0059, 0.0215, 0),
    "sim:stem_lattice:all": Rate(0.283, 0.0465, 6.48e-07),
    "sim:stm_cu111:clean": Rate(0.00805, 0.0186, 4.07e-06),
    "sim:stm_cu111:blurry": Rate(0, 0.0343, 8.81e-06),
    "sim:stm_cu111:experimental": Rate(0.0201, 0.0175, 6.73e-06),
    "sim:lm:widefield": Rate(0.0777, 0.0191, 2.41e-07),
    "sim:lm:confocal": Rate(0.0128, 0.00776, 3.56e-07),
    "classical:noisy": Rate(0.0317, 0.00771, 4.92e-08),
    "classical:wiener": Rate(0.035, 0.0109, 2.61e-07),
    "classical:richardson_lucy": Rate(0.0517, 0.00917, 1.78e-06),
    "classical:bm3d": Rate(0.965, 0.27, 4.35e-05),
    "classical:tip_erosion": Rate(0.0167, 0.0731, 1.1e-05),
    "score": Rate(0.0567, 0.0186, 4.28e-07),
}


@dataclass
class CpuRates:
    """:class:`Rate` of each CPU family, and where the numbers come from."""

    rates: dict[str, Rate]
    source: str

    def get(self, key: str) -> Rate:
        if key in self.rates:
            return self.rates[key]
        raise KeyError(f"no CPU rate for {key!r} (measured: {sorted(self.rates)})")


def _mini_config(cfg: Config, size: int, n: int) -> Config:
    """``cfg`` shrunk to ``n`` images of ``size`` px per subset and split (everything else
    kept: parameters, presets, dtypes, levels, metrics)."""
    raw = cfg.model_dump(mode="json")
    raw["image_size"] = size
    raw["sources"]["n_sources"] = 16
    counts = {"train": n, "val": n, "test": n}
    raw["simart"].update(images_per_modality=counts, shard_size=n)
    for sec, key in (("stem_lattice", "images_per_level"), ("stm_cu111", "images_per_domain"),
                     ("lm", "images_per_mode")):
        raw[sec].update({key: counts, "shard_size": n, "image_size": size})
    raw["lm"]["n_sources"] = 16
    return validate_config(raw)


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def _measure_pass(cfg: Config, tmp: str) -> dict[str, float]:
    """CPU seconds of one shard job per subset of every enabled dataset, of the catalog, of
    each classical baseline and of scoring on the SIMART shards (all subsets together)."""
    from simart.evaluation.cells import predict_shards, score_shards
    from simart.simulate.lm_dataset import build_lm_shard, lm_catalog
    from simart.simulate.simart_dataset import build_shard
    from simart.simulate.sources import build_catalog
    from simart.simulate.stem_lattice import build_stem_lattice_shards
    from simart.simulate.stm_cu111 import build_stm_shard

    out: dict[str, float] = {}
    src = cfg.sources
    cat: list[Any] = []
    out["catalog"] = _timed(lambda: cat.append(build_catalog(
        src.n_sources, cfg.seed, procedural_kinds=src.procedural_kinds,
        use_skimage=src.use_skimage, user_dir=src.user_dir,
        split_fractions=tuple(src.split_fractions))))
    shards = {m: f"{tmp}/simart_{m}.h5" for m in cfg.simart.modalities}
    for mod, path in shards.items():
        out[f"sim:simart:{mod}"] = _timed(lambda m=mod, p=path: build_shard(
            cfg, cat[0], m, "test", 0, p))
    if cfg.stem_lattice.enabled:
        outs = {lv: f"{tmp}/sl_{lv}.h5" for lv in cfg.stem_lattice.levels}
        out["sim:stem_lattice:all"] = _timed(lambda: build_stem_lattice_shards(
            cfg, "test", 0, outs))
    if cfg.stm_cu111.enabled:
        for dom in cfg.stm_cu111.domains:
            out[f"sim:stm_cu111:{dom}"] = _timed(lambda d=dom: build_stm_shard(
                cfg, d, "test", 0, f"{tmp}/stm_{d}.h5"))
    if cfg.lm.enabled:
        lcat = lm_catalog(cfg)
        for mode in cfg.lm.modes:
            out[f"sim:lm:{mode}"] = _timed(lambda m=mode: build_lm_shard(
                cfg, lcat, m, "test", 0, f"{tmp}/lm_{m}.h5"))
    from simart.config import CLASSICAL_MODELS

    ev = cfg.evaluate
    for model in CLASSICAL_MODELS:
        kw = {"num_iter": ev.rl_iterations} if model == "richardson_lucy" else None
        out[f"classical:{model}"] = _timed(lambda m=model, k=kw: predict_shards(
            shards, m, f"{tmp}/pred_{m}.h5", f"{tmp}/run_{m}.parquet", dataset="simart",
            model_kwargs=k))
    out["score"] = _timed(lambda: score_shards(
        shards, f"{tmp}/pred_noisy.h5", f"{tmp}/run_noisy.parquet", list(ev.metrics),
        f"{tmp}/score.parquet", data_range=ev.data_range, lpips_backbone=None))
    return out


def measure_cpu_rates(cfg: Config, sizes: tuple[int, int] = (32, 128), n: int = 2,
                      workdir: str | os.PathLike | None = None) -> CpuRates:
    """Measure :class:`CpuRates` with the project's own builders and evaluation
    (:func:`_measure_pass`) on ``n`` images per subset, in a temporary folder, one torch
    thread, CPU seconds of this process: a first (cold) pass at ``sizes[0]``, then warm
    passes at both sizes. Per pixel and per image: the line through the warm passes; per
    job: what the cold pass took beyond the warm one (imports, JIT compilation)."""
    import tempfile

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    l0, l1 = sizes
    small, large = _mini_config(cfg, l0, n), _mini_config(cfg, l1, n)
    try:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            cold = _measure_pass(small, tmp)
            warm0 = _measure_pass(small, tmp)
            warm1 = _measure_pass(large, tmp)
    finally:
        torch.set_num_threads(threads)
    n_mod = len(cfg.simart.modalities)
    rates: dict[str, Rate] = {}
    for key in cold:
        if key == "catalog":
            rates[key] = Rate(max(0.0, cold[key] - warm0[key]), warm0[key] / 16, 0.0)
            continue
        images = n * (n_mod if key.startswith(("classical:", "score")) else 1)
        px_s = max(0.0, (warm1[key] - warm0[key]) / (images * (l1 ** 2 - l0 ** 2)))
        image_s = max(0.0, warm0[key] / images - px_s * l0 ** 2)
        rates[key] = Rate(max(0.0, cold[key] - warm0[key]), image_s, px_s)
    return CpuRates(rates, f"measured now ({n} images per subset at {l0}^2 and {l1}^2 px, "
                           "1 thread)")


def stated_rates() -> CpuRates:
    """:data:`STATED_RATES` (``--no-measure``)."""
    if not STATED_RATES:
        raise ValueError("no stated CPU rates in simart.workflow.cost.STATED_RATES: measure")
    return CpuRates(dict(STATED_RATES), "stated constants (simart.workflow.cost.STATED_RATES)")

# ----------------------------------------------------------------------------- the plan

def _size(cfg: Config, dataset: str) -> int:
    sec = getattr(cfg, dataset, None)
    return (getattr(sec, "image_size", None) or cfg.image_size) if dataset != "simart" \
        else cfg.image_size


def _split_counts(cfg: Config, dataset: str):
    return {"simart": cfg.simart.images_per_modality, "stem_lattice":
            cfg.stem_lattice.images_per_level, "stm_cu111": cfg.stm_cu111.images_per_domain,
            "lm": cfg.lm.images_per_mode}[dataset]


def _shard_size(cfg: Config, dataset: str) -> int:
    return getattr(cfg, dataset).shard_size


def _dtype_bytes(cfg: Config, dataset: str) -> int:
    return _BYTES[getattr(cfg, dataset).dtype]


def _images_in(n: int, shard_size: int, ids: Sequence[str]) -> int:
    """Images in the shards ``ids`` of a split of ``n`` images."""
    return sum(max(0, min(shard_size, n - int(i) * shard_size)) for i in ids)


class Projection:
    """The :class:`Line` s of one config (:func:`project`)."""

    def __init__(self, cfg: Config, flops: FlopCounter, rates: CpuRates):
        self.cfg = cfg
        self.plan = FigurePlan(cfg, "results")
        self.flops = flops
        self.rates = rates
        self.lines: list[Line] = []
        from simart.figures.rows import pcsd_ablations

        self.ablations = set(pcsd_ablations(list(MODELS)))

    def add(self, *args, **kwargs) -> None:
        self.lines.append(Line(*args, **kwargs))

    # -- shards
    def shards(self) -> None:
        cfg, plan = self.cfg, self.plan
        px = cfg.image_size ** 2
        self.add("simulate", "main comparison", "simart source catalog", 1,
                 cpu_core_s=self.rates.get("catalog").seconds(1, cfg.sources.n_sources, 0))
        for mod in plan.modalities:
            n = sum(getattr(cfg.simart.images_per_modality, s) for s in SPLITS)
            jobs = sum(len(plan.shard_ids(s)) for s in SPLITS)
            self.add("simulate", "main comparison", f"simart {mod} shards", jobs,
                     cpu_core_s=self.rates.get(f"sim:simart:{mod}").seconds(jobs, n, n * px),
                     storage_bytes=2 * n * px * _BYTES[cfg.simart.dtype])
        sl = cfg.stem_lattice
        if sl.enabled:
            n = sum(getattr(sl.images_per_level, s) for s in SPLITS)
            pxl = _size(cfg, "stem_lattice") ** 2
            jobs = len(plan.stem_lattice_shards()) // len(sl.levels)
            self.add("physics datasets", "physics datasets", "stem_lattice shards", jobs,
                     cpu_core_s=self.rates.get("sim:stem_lattice:all").seconds(jobs, n, n * pxl),
                     storage_bytes=2 * n * pxl * len(sl.levels) * _BYTES[sl.dtype])
        for name, section, key, subsets in (
                ("stm_cu111", cfg.stm_cu111, "images_per_domain", cfg.stm_cu111.domains),
                ("lm", cfg.lm, "images_per_mode", cfg.lm.modes)):
            if not section.enabled:
                continue
            pxl = _size(cfg, name) ** 2
            n = sum(getattr(getattr(section, key), s) for s in SPLITS)
            per = (plan.stm_cu111_shards() if name == "stm_cu111" else plan.lm_shards())
            for sub in subsets:
                jobs = sum(1 for p in per if f"/shards/{sub}/" in p)
                self.add("physics datasets", "physics datasets", f"{name} {sub} shards", jobs,
                         cpu_core_s=self.rates.get(f"sim:{name}:{sub}").seconds(jobs, n, n * pxl),
                         storage_bytes=2 * n * pxl * _BYTES[section.dtype])
            if name == "lm":
                self.add("physics datasets", "physics datasets", "lm source catalog", 1,
                         cpu_core_s=self.rates.get("catalog").seconds(1, section.n_sources, 0))

    # -- training
    def _train_study(self, dataset: str, group: str, model: str) -> str:
        if dataset != "simart":
            return "physics datasets"
        if is_joint(model) and group != "all":
            return "cross-modal"
        return "ablations" if model in self.ablations else "main comparison"

    def trainings(self) -> None:
        cfg, plan = self.cfg, self.plan
        for best in dict.fromkeys(plan.all_trained()):
            *_, dataset, group, model, _ = best.split("/")
            s = cfg.train.settings(model)
            size = _size(cfg, dataset)
            subsets = plan.group_subsets(dataset, group)
            patch = min(s["patch_size"], size)
            step = self.flops.train_step(model, dataset, subsets[0], s["batch_size"], patch)
            n_val = _validations(s["steps"], s["val_every"]) if s["val_images"] else 0
            avail = _split_counts(cfg, dataset).val * len(subsets)
            val = n_val * min(s["val_images"], avail) * self.flops.predict_image(
                model, dataset, subsets[0], size) if n_val else 0.0
            facts = self.flops.facts(model, dataset)
            ckpt = 2 * facts.state_bytes + facts.state_bytes + 2 * 4 * facts.trainable
            self.add("train", self._train_study(dataset, group, model),
                     f"train {model} on {dataset}/{group} ({s['steps']} steps)", 1,
                     gpu_flops=s["steps"] * step + val, storage_bytes=ckpt)

    # -- evaluation
    def _row_study(self, dataset: str, row: str) -> str:
        if row in self.cfg.evaluate.active_variants():
            return "variants/eta sweeps"
        net, _, group = self.plan.eval_entry(row)
        if group is not None:
            return "cross-modal"
        if dataset != "simart":
            return "physics datasets"
        return "ablations" if net in self.ablations else "main comparison"

    def evaluation(self) -> None:
        cfg, plan = self.cfg, self.plan
        for dataset, view in plan.views.items():
            size = _size(cfg, dataset)
            n_test = _split_counts(cfg, dataset).test
            for row in plan.cell_models(dataset):
                ids = plan.eval_shard_ids(dataset, row)
                images = _images_in(n_test, _shard_size(cfg, dataset), ids) \
                    * len(view.eval_subsets)
                pixels = images * size ** 2
                study = self._row_study(dataset, row)
                if plan.is_learned(row):
                    net, sampling, _ = plan.eval_entry(row)
                    per = self.flops.predict_image(net, dataset, view.eval_subsets[0], size,
                                                   sampling)
                    outputs = self.flops.facts(net, dataset).outputs_per_image
                    self.add("predict", study, f"predict {row} on {dataset}", len(ids),
                             gpu_flops=images * per, storage_bytes=4 * pixels * outputs)
                else:
                    key = f"classical:{row}" if dataset == "simart" else "classical:noisy"
                    self.add("predict", study, f"predict {row} on {dataset}", len(ids),
                             cpu_core_s=self.rates.get(key).seconds(len(ids), images, pixels),
                             storage_bytes=4 * pixels)
                # evaluate.score_in_prediction_job: the scoring runs in the prediction jobs
                merged = plan.score_in_predict
                self.add("score", study, f"score {row} on {dataset}"
                         + (" (in its prediction jobs)" if merged else ""),
                         0 if merged else len(ids),
                         cpu_core_s=self.rates.get("score").seconds(len(ids), images, pixels))

    def reporting(self) -> None:
        """Cells, aggregate, statistics, tables, figures: bounded by their runtime requests
        (rules/evaluate.smk, rules/stats.smk: metrics_cell 15 min, aggregate 15, stats 60;
        figures: each spec's runtime)."""
        plan = self.plan
        cells = len(plan.all_cells())
        self.add("metrics/stats/figures", "tables/figures", "metrics cells (<= 15 min each)",
                 cells, cpu_core_s=cells * 15 * 60)
        self.add("metrics/stats/figures", "tables/figures", "aggregate + stats (<= 75 min)",
                 2, cpu_core_s=(15 + 60) * 60)
        specs = [s for s in plan.figure_specs() if plan.figure_applies(s)]
        self.add("metrics/stats/figures", "tables/figures", "tables, figures, report", len(specs),
                 cpu_core_s=sum(s.runtime for s in specs) * 60)
        pages = len(plan.report_tables())  # rule report_table: <= 5 min each
        self.add("metrics/stats/figures", "tables/figures", "report pages of the tables", pages,
                 cpu_core_s=pages * 5 * 60)


def _validations(steps: int, every: int) -> int:
    """Validation runs of a training (simart.train.loop: every ``every`` steps and at the
    end)."""
    if every <= 0:
        return 1
    return steps // every + (1 if steps % every else 0)


def project(cfg: Config, flops: FlopCounter, rates: CpuRates) -> list[Line]:
    """Every :class:`Line` of ``cfg`` (shards, trainings, predictions, scores, reporting)."""
    p = Projection(cfg, flops, rates)
    p.shards()
    p.trainings()
    p.evaluation()
    p.reporting()
    return p.lines


# ----------------------------------------------------------------------------- summaries

@dataclass
class Summary:
    """Totals of a projection on one GPU at one efficiency."""

    gpu: str
    efficiency: float
    rates_source: str
    by_family: dict[str, dict[str, float]]
    by_study: dict[str, dict[str, float]]
    total: dict[str, float]
    storage_gb: dict[str, float]
    lines: list[dict[str, Any]]


def _row(lines: Sequence[Line], sustained: float) -> dict[str, float]:
    return {"jobs": sum(x.jobs for x in lines),
            "gpu_h": sum(x.gpu_flops for x in lines) / sustained / 3600,
            "cpu_core_h": sum(x.cpu_core_s for x in lines) / 3600,
            "storage_gb": sum(x.storage_bytes for x in lines) / 1e9}


def summarise(lines: Sequence[Line], gpu: GPUSpec, efficiency: float, rates_source: str
              ) -> Summary:
    """Per family, per study and total GPU-h (bf16 dense peak x ``efficiency``), CPU
    core-h and storage GB."""
    if not 0 < efficiency <= 1:
        raise ValueError(f"efficiency {efficiency} must be in (0, 1]")
    sustained = gpu.peak_flops("bf16") * efficiency
    fam = {f: _row([x for x in lines if x.family == f], sustained) for f in FAMILIES}
    study = {s: _row([x for x in lines if x.study == s], sustained) for s in STUDIES}
    storage = {"shards": sum(x.storage_bytes for x in lines
                             if x.family in ("simulate", "physics datasets")) / 1e9,
               "predictions": sum(x.storage_bytes for x in lines if x.family == "predict") / 1e9,
               "checkpoints": sum(x.storage_bytes for x in lines if x.family == "train") / 1e9}
    out = [{**asdict(x), "gpu_h": x.gpu_flops / sustained / 3600,
            "cpu_core_h": x.cpu_core_s / 3600} for x in lines]
    return Summary(gpu.name, efficiency, rates_source, fam, study, _row(lines, sustained),
                   storage, out)


def format_summary(s: Summary, title: str) -> str:
    """The readable tables: per family, per study, storage, totals."""
    head = f"{'':24s} {'jobs':>8s} {'GPU-h':>10s} {'CPU core-h':>11s} {'storage GB':>11s}"

    def line(name: str, r: Mapping[str, float]) -> str:
        return (f"{name:24s} {int(r['jobs']):8d} {r['gpu_h']:10.3g} {r['cpu_core_h']:11.3g} "
                f"{r['storage_gb']:11.3g}")

    first = (f"{title}: {s.gpu} at {s.efficiency:.2f} of bf16 dense peak; CPU rates: "
             f"{s.rates_source}")
    out = [first, "", "Per rule family", head]
    out += [line(k, v) for k, v in s.by_family.items()]
    out += [line("TOTAL", s.total), "", "Per study", head]
    out += [line(k, v) for k, v in s.by_study.items() if v["jobs"]]
    out += ["", "Storage: " + ", ".join(f"{k} {v:.2f} GB" for k, v in s.storage_gb.items())
            + f" (total {sum(s.storage_gb.values()):.2f} GB; shards uncompressed)",
            "metrics/stats/figures CPU: an upper bound, the runtime their rules request"]
    return "\n".join(out)


def write_json(s: Summary, path: str | os.PathLike) -> None:
    """The summary as JSON, atomically."""
    from simart.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(asdict(s), fh, indent=1)


__all__ = ["FAMILIES", "STATED_RATES", "STUDIES", "ConfigError", "CpuRates", "FlopCounter",
           "Line", "Summary", "count_flops", "format_summary", "load_config",
           "measure_cpu_rates", "project", "sampler_evaluations", "stated_rates",
           "summarise", "write_json"]
