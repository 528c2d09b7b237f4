"""The walk-throughs of docs/extending.md, each done for real on a tiny example through the
files the page names: the function or class (here, in this file) and one entry of the
specs' registry (here, through its public registration call).

Each test removes its entry again, so that the registries are as shipped for other tests.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import Field

from simart.config import ConfigError, validate_config
from simart.models.base import Batch, RestorationModel
from simart.specs.hparam_types import HParams


# ------------------------------------------------------------------------- a metric
def max_error(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """The walk-through's metric: the largest absolute error per image."""
    return (x - ref).abs().amax(dim=(1, 2, 3))


@pytest.fixture()
def added_metric():
    from simart.specs.metrics import METRICS, Metric, register_metric

    register_metric("max_error", Metric(f"{__name__}.max_error", "lower",
                                        "largest absolute error", unit="image units"))
    yield METRICS["max_error"]
    del METRICS["max_error"]


def test_add_a_metric_function_and_one_spec_entry(added_metric):
    from simart.evaluation.aggregate import summarize
    from simart.metrics import compute_metric_table

    cfg = validate_config({"evaluate": {"metrics": ["psnr", "max_error"]},
                           "stats": {"metrics": ["max_error"]}})
    assert cfg.evaluate.metrics == ["psnr", "max_error"]
    rng = np.random.default_rng(0)
    clean = rng.uniform(0, 1, (3, 32, 32)).astype(np.float32)
    pred = clean.copy()
    pred[:, 5, 7] += np.array([0.1, 0.2, 0.3], np.float32)
    table = compute_metric_table(pred, clean, metrics=cfg.evaluate.metrics)
    np.testing.assert_allclose(table["max_error"], [0.1, 0.2, 0.3], rtol=1e-6)
    cell = table.assign(dataset="simart", modality="SEM", model="m", status="ok", seconds=0.1,
                        missing_reason="")
    summary = summarize([cell], ["max_error"])
    assert summary["max_error_mean"].iloc[0] == pytest.approx(0.2, rel=1e-6)


def test_an_unregistered_metric_is_refused_by_the_config():
    with pytest.raises(ConfigError, match="unknown metric 'max_error'"):
        validate_config({"evaluate": {"metrics": ["max_error"]}})


# -------------------------------------------------------------------------- a model
class ScaleHParams(HParams):
    """The walk-through's hyper-parameter class (a new family): one bounded number."""

    scale: float = Field(gt=0, le=10)


class ScaleNet(RestorationModel):
    """The walk-through's model: a learned gain and offset on the input."""

    name = "scale_net"

    def __init__(self, **hparams):
        super().__init__(**hparams)          # validated by ScaleHParams, kept in .hparams
        self.gain = torch.nn.Parameter(torch.tensor(float(self.hparams["scale"])))
        self.offset = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.gain * y + self.offset

    def training_step(self, batch: Batch, gen: torch.Generator):
        loss = torch.nn.functional.mse_loss(self(batch.y), batch.x)
        return loss, {"mse": loss.item()}


@pytest.fixture()
def added_model():
    from simart.models import MODEL_REGISTRY
    from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS, register_hparams
    from simart.specs.models import MODELS, ModelSpec, register_model

    spec = register_model(ModelSpec("scale_net", "cnn", f"{__name__}.ScaleNet", "Scale net",
                                    hparams=f"{__name__}.ScaleHParams"))
    register_hparams("scale_net", {"scale": 1.0}, {"scale": 2.0})
    yield spec
    for table in (MODELS, DEFAULT_HPARAMS, PAPER_HPARAMS, MODEL_REGISTRY):
        table.pop("scale_net", None)


def test_add_a_model_class_one_spec_entry_and_its_presets(added_model, tmp_path):
    from simart.models import MODEL_REGISTRY, build_model
    from simart.specs.models import model_applies
    from simart.train.data import ArrayTrainData
    from simart.train.loop import TrainSettings, load_trained, train

    cfg = validate_config({"evaluate": {"models": ["noisy", "scale_net"]},
                           "train": {"models": {"scale_net": {"steps": 5,
                                                              "hparams": {"scale": 0.5}}}}})
    assert cfg.train.hparams("scale_net") == {"scale": 0.5}
    with pytest.raises(ConfigError, match="scale_net.*scale"):
        validate_config({"train": {"models": {"scale_net": {"hparams": {"scale": -1.0}}}}})
    assert all(model_applies("scale_net", d) for d in ("simart", "lm"))   # a CNN: everywhere

    torch.manual_seed(0)
    model = build_model("scale_net", cfg.train.hparams("scale_net"))
    assert MODEL_REGISTRY["scale_net"] is ScaleNet and model.needs == ("x",)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.8, (8, 16, 16))
    data = ArrayTrainData(0.5 * x + 0.1, x)                 # the input: a gain and an offset
    settings = TrainSettings.from_mapping({**cfg.train.settings("scale_net"), "batch_size": 4,
                                           "patch_size": 16, "val_images": 4, "lr": 0.1,
                                           "warmup_steps": 0, "device": "cpu", "seed": 1})
    identity = {"model": "scale_net", "hparams": cfg.train.hparams("scale_net")}
    summary = train(model, data, data, settings, tmp_path, identity=identity)
    assert summary["steps"] == 5
    restored = load_trained(tmp_path / "best.pt", expect_identity=identity)
    assert isinstance(restored, ScaleNet)


def test_an_unregistered_model_is_refused_by_the_config():
    with pytest.raises(ConfigError, match="unknown model 'scale_net'"):
        validate_config({"evaluate": {"models": ["scale_net"]}})


# ----------------------------------------------------------------------- an operator
from simart.physics.operators import Operator


class BoxBlur(Operator):
    """The walk-through's operator: a 3x3 box blur of strength ``mix`` (linear), made with
    the same FFT filtering as the shipped operators, so its transfer function is exact."""

    name = "BOX"
    blur_label = "box half-width times mix (px)"

    def A(self, x, params, *, seeds=None):
        from simart.physics.common import check_image, fft_padded_shape, filter_images, param_array

        b, h, w = check_image(x)
        mix = param_array(params, "mix", b, "BOX")
        shape = fft_padded_shape((h, w))
        q = np.stack([self._transfer({"mix": m}, shape, (h, w)).real[: h + 1, : w + 1]
                      for m in mix])
        return filter_images(x, q[:, None])

    def _transfer(self, p, shape, image_shape):
        ky = np.fft.fftfreq(shape[0])[:, None]
        kx = np.fft.fftfreq(shape[1])[None, :]
        box = ((1 + 2 * np.cos(2 * np.pi * ky)) * (1 + 2 * np.cos(2 * np.pi * kx)) / 9.0)
        return (1 - p["mix"]) + p["mix"] * box + 0j

    def blur_px(self, params, image_size):
        return float(params["mix"])


@pytest.fixture()
def added_operator():
    from simart.physics import operators as ops_mod
    from simart.specs.modalities import DEFAULT_PARAM_SPECS, PARAM_BOUNDS, register_modality_params
    from simart.specs.operators import OPERATORS, OperatorSpec, register_operator

    register_operator(OperatorSpec("BOX", "simart", f"{__name__}.BoxBlur"))
    register_modality_params("BOX", {"mix": [0.5, 1.0], "pixel_size_nm": [1.0, 2.0]},
                             {"mix": (0.0, 1.0, "fraction")})
    yield
    OPERATORS.pop("BOX")
    DEFAULT_PARAM_SPECS.pop("BOX")
    PARAM_BOUNDS.pop("mix")
    ops_mod._INSTANCES.pop("BOX", None)


def test_add_an_operator_class_one_registry_entry_and_its_parameter_table(added_operator,
                                                                          tmp_path):
    from simart.data.shards import Shard
    from simart.physics.dataset_ops import forward_batch, image_params, stack_params
    from simart.restore.classical import CLASSICAL_MODELS, NotApplicableError
    from simart.restore.oracle import WIENER_ORACLE, oracle_method, oracle_restore
    from simart.simulate.simart_dataset import build_shard
    from simart.simulate.sources import build_catalog

    # the config lists it among the SIMART modalities (by default: all) and checks its table
    raw = {"seed": 3, "image_size": 32,
           "sources": {"n_sources": 8, "split_fractions": [0.5, 0.25, 0.25]},
           "simart": {"images_per_modality": {"train": 4, "val": 4, "test": 4},
                      "shard_size": 4, "params": {"BOX": {"mix": [0.6, 0.9]}}}}
    cfg = validate_config(raw)
    assert cfg.simart.modalities[-1] == "BOX"
    with pytest.raises(ConfigError, match=r"simart\.params\.BOX\.mix"):
        validate_config({**raw, "simart": {**raw["simart"], "params": {"BOX": {"mix": 2.0}}}})
    # the dataset builder simulates it (parameters, noise, severity columns)
    s = cfg.sources
    catalog = build_catalog(s.n_sources, cfg.seed, procedural_kinds=s.procedural_kinds,
                            use_skimage=s.use_skimage, user_dir=s.user_dir,
                            split_fractions=tuple(s.split_fractions))
    table = build_shard(cfg, catalog, "BOX", "test", 0, tmp_path / "box.h5")
    assert table["mix"].between(0.6, 0.9).all() and (table["blur_px"] == table["mix"]).all()
    with Shard(tmp_path / "box.h5") as sh:
        clean, degraded = sh.clean(), sh.degraded()
    row = table.iloc[0].to_dict()
    # Wiener and Richardson-Lucy apply (it has a transfer function); Wiener beats the input
    # (50 RL iterations on this mild blur amplify the noise: no claim for RL)
    mse = lambda a: float(np.mean((a - clean[0]) ** 2))
    for model in ("wiener", "richardson_lucy"):
        out = CLASSICAL_MODELS[model](degraded[0], "BOX", row)
        assert np.isfinite(out).all() and out.shape == clean[0].shape, model
    assert mse(CLASSICAL_MODELS["wiener"](degraded[0], "BOX", row)) < mse(degraded[0])
    assert mse(oracle_restore(clean[0], degraded[0], "BOX", row)) < mse(degraded[0])
    assert oracle_method("BOX") == WIENER_ORACLE
    with pytest.raises(NotApplicableError, match="AFM"):
        CLASSICAL_MODELS["tip_erosion"](degraded[0], "BOX", row)
    # training and guidance find its operator through the image's operator_code
    p = image_params("simart", "BOX", row)
    x = torch.from_numpy(clean[:1])[:, None].double()
    want = BoxBlur().A(x, {"mix": torch.tensor([row["mix"]], dtype=torch.float64)})
    torch.testing.assert_close(forward_batch(x, stack_params([p])), want, atol=0, rtol=0)


# ------------------------------------------------------------------------- a figure
def draw_image_counts(cells, models, out_paths, dpi=150):
    """The walk-through's figure: how many test images each method's cell table holds, per
    modality (``cells``: {modality: {model: cell table}}, the plan's paths)."""
    from simart.figures.style import plt, save
    from simart.provenance import read_table

    mods = list(cells)
    fig, ax = plt.subplots(figsize=(4, 3))
    for i, m in enumerate(models):
        n = [len(read_table(cells[mod][m])) if m in cells[mod] else 0 for mod in mods]
        ax.bar(np.arange(len(mods)) + 0.8 * i / len(models), n, 0.8 / len(models), label=m)
    ax.set_xticks(range(len(mods)), mods)
    ax.legend()
    save(fig, out_paths, dpi=dpi)
    plt.close(fig)
    return {m: len(mods) for m in models}


@pytest.fixture()
def added_figure():
    from simart.specs.figures import FIGURES, FigureSpec, register_figure

    spec = register_figure(FigureSpec(
        "image_counts", "pcsd", "walk-through", f"{__name__}.draw_image_counts",
        inputs="pcsd_methods_cells", kwargs="pcsd_methods_kwargs",
        caption="Test images per method and modality.", subcategory="Extra",
        applies="pcsd_methods"))
    yield spec
    del FIGURES["image_counts"]


def test_add_a_figure_function_and_one_spec_entry(added_figure, tmp_path):
    from pathlib import Path

    import pandas as pd

    from simart.specs.figures import FigureSpec, draw_figure, register_figure
    from simart.workflow.figures_plan import FigurePlan

    with pytest.raises(ValueError, match="already registered"):
        register_figure(added_figure)
    with pytest.raises(ValueError, match="dotted path"):
        register_figure(FigureSpec("x", "pcsd", "", "nodots", inputs="pcsd_methods_cells"))
    # the plan lists its targets (rules `all` and `figures`), its inputs and its arguments
    cfg = validate_config({})
    plan = FigurePlan(cfg)
    files = [f"results/figures/image_counts.{ext}" for ext in cfg.figures.formats]
    assert set(files) <= set(plan.figure_targets()) and set(files) <= set(plan.all_targets())
    assert plan.figure_outputs(added_figure) == {"out_paths": files}
    kwargs = plan.figure_kwargs(added_figure)
    assert kwargs["models"] == plan.pcsd_methods() and plan.figure_inputs(added_figure)
    assert plan.figure_caption(added_figure) == added_figure.caption
    assert plan.figure_applies(added_figure)  # its `applies`: plan.pcsd_methods() is not empty
    # what workflow_scripts/figure.py calls draws it: tiny cell tables, into tmp_path
    cells = {}
    for mod in ("AFM", "SEM"):
        for m, n in (("noisy", 3), ("wiener", 2)):
            path = tmp_path / f"{mod}_{m}.parquet"
            pd.DataFrame({"psnr": np.arange(n, dtype=float)}).to_parquet(path)
            cells.setdefault(mod, {})[m] = str(path)
    out = [str(tmp_path / "image_counts.png"), str(tmp_path / "image_counts.pdf")]
    got = draw_figure("image_counts", {"cells": cells, "models": ["noisy", "wiener"], "dpi": 40},
                      {"out_paths": out})
    assert got == {"noisy": 2, "wiener": 2}
    assert all(Path(p).stat().st_size > 1000 for p in out)
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically
