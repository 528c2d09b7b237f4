"""The prediction path's inference settings (``evaluate.inference``) and the compile hook.

On the CPU the settings (bf16, channels-last, compile, ``auto`` batch size) leave every
prediction bit-identical to the plain float32 batch loop; ``auto`` there is the configured
batch size; bad values are refused naming their key. ``compile_networks`` compiles, in
place, every sub-network that each registered model's training loss and ``predict`` call
(checked by instrumenting the calls, without compiling), keeps the state-dict keys, and
gives Dynamo frames also for networks made of torch's own modules (``nn.Sequential``).
The conditional DDPM validates with its cheap ``val_*`` sampler and evaluates with the full
one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from simart.config import ConfigError, load_yaml, validate_config
from simart.evaluation import learned
from simart.models import MODEL_REGISTRY, build_model
from simart.models.base import is_compiled, run_predict
from simart.physics.dataset_ops import stack_params
from simart.train.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _timing import synthetic_batch, synthetic_params

ALL_ON = {"amp": "bf16", "channels_last": True, "compile": True, "batch_size": "auto"}


pytestmark = pytest.mark.usefixtures("one_thread", "quiet_warnings")


def _checkpoint(tmp_path: Path, name: str) -> Path:
    torch.manual_seed(0)
    net = build_model(name)
    path = tmp_path / f"{name}.pt"
    save_checkpoint(path, {"kind": "best", "identity": {
        "model": name, "hparams": net.hparams, "dataset": "simart",
        "subsets": ["AFM", "TEM", "SEM", "STEM"]}, "model": net.state_dict()})
    return path


def _reference(path: Path, degraded: np.ndarray, batch_size: int, params, seed: int):
    """The prediction loop as it was before the inference settings: float32, eager,
    ``batch_size`` images per ``run_predict``, one generator drawn in batch order."""
    from simart.train.loop import load_trained

    net = load_trained(path).eval()
    net.set_sampling()
    gen = torch.Generator().manual_seed(seed)
    preds, extras = [], {}
    with torch.no_grad():
        for b0 in range(0, len(degraded), batch_size):
            y = torch.from_numpy(degraded[b0:b0 + batch_size])[:, None]
            sub = torch.full((len(y),), 2, dtype=torch.long)
            p = None if params is None else stack_params(params[b0:b0 + len(y)])
            out, more = run_predict(net, y, sub, params=p, gen=gen)
            preds.append(out[:, 0].numpy())
            for k, v in more.items():
                extras.setdefault(k, []).append(v[:, 0].numpy())
    return np.concatenate(preds), {k: np.concatenate(v) for k, v in extras.items()}


@pytest.mark.parametrize("name", ["dncnn", "pcsd", "cond_ddpm"])
def test_cpu_predictions_are_bit_identical_whatever_the_inference_settings(tmp_path, name):
    path = _checkpoint(tmp_path, name)
    rng = np.random.default_rng(0)
    degraded = rng.random((5, 20, 20), dtype=np.float32)
    params = None
    if "params" in MODEL_REGISTRY[name].predict_needs:
        p, _ = synthetic_params("simart", 5)
        params = [{k: v[i].item() for k, v in p.items()} for i in range(5)]
    for inference in (None, ALL_ON, {"amp": "fp16", "compile": True, "batch_size": 3}):
        # a number is the batch size; auto / none: the configured one (2)
        size = inference["batch_size"] if inference and inference["batch_size"] != "auto" \
            else 2
        want, want_extra = _reference(path, degraded, size, params, seed=7)
        got, seconds, extra = learned.predict_learned(
            path, name, "simart", "SEM", degraded, device="cpu", batch_size=2, params=params,
            gen=torch.Generator().manual_seed(7), inference=inference)
        assert np.array_equal(got, want), inference
        assert len(seconds) == 5
        assert sorted(extra) == sorted(want_extra)
        for k in extra:
            assert np.array_equal(extra[k], want_extra[k]), (inference, k)


def test_auto_batch_size_on_the_cpu_is_the_configured_one():
    net = build_model("dncnn")
    data = np.zeros((40, 8, 8), np.float32)
    for setting, default, want in (("auto", 6, 6), (None, 6, 6), (3, 6, 3), ("auto", 1, 1)):
        s = learned.inference_settings({"batch_size": setting})
        run = learned._Predictor(net, torch.device("cpu"), s, data, None, 0)
        assert run.batch_size(default) == want
        assert learned.inference_dtype(s, torch.device("cpu")) is None
    bf16 = learned.inference_settings({"amp": "bf16"})
    assert learned.inference_dtype(bf16, torch.device("cpu")) is None  # float32 on CPU


@pytest.mark.parametrize("inference, key", [
    ({"batch_size": "big"}, "evaluate.inference.batch_size"),
    ({"batch_size": 0}, "evaluate.inference.batch_size"),
    ({"batch_size": True}, "evaluate.inference.batch_size"),
    ({"amp": "bf17"}, "evaluate.inference.amp"),
    ({"compile": "yes"}, "evaluate.inference.compile"),
    ({"channel_last": True}, "evaluate.inference.channel_last"),
])
def test_bad_inference_values_name_their_key(inference, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        learned.inference_settings(inference)
    raw = load_yaml(ROOT / "config.yaml")
    raw.setdefault("evaluate", {})["inference"] = inference
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate_config(raw)


def test_default_inference_settings_leave_the_predict_params_unchanged():
    cfg = validate_config(load_yaml(ROOT / "config.yaml"))
    assert cfg.evaluate.inference.is_default()
    from simart.workflow.plan import Plan

    kwargs = Plan(cfg, "results").predict_kwargs("dncnn")
    assert "inference" not in kwargs  # no rerun of existing predictions
    raw = load_yaml(ROOT / "config.yaml")
    raw.setdefault("evaluate", {})["inference"] = {"amp": "bf16", "batch_size": "auto"}
    kw = Plan(validate_config(raw), "results").predict_kwargs("dncnn")
    assert kw["inference"]["amp"] == "bf16" and kw["inference"]["batch_size"] == "auto"


# ------------------------------------------------------------------ the compile hook

class _FakeCompile:
    """``torch.compile`` stand-in: wraps the call and counts the depth of compiled calls,
    so that a forward pre-hook can tell whether a layer runs inside a compiled module."""

    def __init__(self) -> None:
        self.depth = 0

    def __call__(self, fn, **options):
        def call(*args, **kwargs):
            self.depth += 1
            try:
                return fn(*args, **kwargs)
            finally:
                self.depth -= 1
        return call


def _cheap(model) -> dict:
    opts = (("sampler", "ddim"), ("steps", 1), ("n_samples", 1))
    return {k: v for k, v in opts if k in getattr(model, "sampling_options", ())}


@pytest.mark.parametrize("name", sorted(MODEL_REGISTRY))
def test_compile_networks_covers_every_layer_the_loss_and_predict_call(monkeypatch, name):
    fake = _FakeCompile()
    monkeypatch.setattr(torch, "compile", fake)
    torch.manual_seed(0)
    model = build_model(name)
    keys = list(model.state_dict())
    names = model.compile_networks()
    assert names and list(model.state_dict()) == keys
    modules = dict(model.named_modules())
    assert all(is_compiled(modules[n]) for n in names)
    outside: set[str] = set()
    for mname, module in model.named_modules():
        if list(module.parameters(recurse=False)):
            module.register_forward_pre_hook(
                lambda m, a, n=mname: outside.add(n) if fake.depth == 0 else None)
    batch = synthetic_batch(model, 2, 16)
    update = () if model.optimizer_groups() is None else (lambda group, loss: None,)
    model.train()
    model.training_step(batch, torch.Generator().manual_seed(0), *update)
    model.eval()
    if _cheap(model):
        model.set_sampling(**_cheap(model))
    pb = synthetic_batch(model, 2, 16, predict=True)
    with torch.no_grad():
        run_predict(model, pb.y, pb.subset, params=pb.params,
                    gen=torch.Generator().manual_seed(0))
    assert not outside, f"{name}: layers called outside compiled modules: {sorted(outside)}"


@pytest.mark.parametrize("name", ["dncnn", "pcsd"])
def test_compiled_networks_give_dynamo_frames_without_graph_breaks(name):
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    model = build_model(name)
    model.compile_networks(backend="eager")  # Dynamo's tracing without code generation
    model.train()
    model.training_step(synthetic_batch(model, 2, 16), torch.Generator().manual_seed(0))
    assert counters["frames"]["ok"] >= 1  # DnCNN: an nn.Sequential, 0 with Module.compile
    assert not counters["graph_break"], dict(counters["graph_break"])
    torch._dynamo.reset()


def test_compile_module_gives_a_sequential_a_frame_as_module_compile_does_from_torch_2_14():
    """Why compile_module exists: up to torch 2.13, ``nn.Module.compile`` of torch's own
    modules (an ``nn.Sequential``) was skipped (0 frames); torch 2.14 compiles it. Ours gives
    the frame with either version (here: both, on the pinned torch)."""
    from torch._dynamo.utils import counters

    from simart.models.base import compile_module, is_compiled

    for how in ("compile_module", "Module.compile"):
        torch._dynamo.reset()
        counters.clear()
        seq = nn.Sequential(nn.Conv2d(1, 2, 3))
        if how == "compile_module":
            compile_module(seq, backend="eager")
        else:
            seq.compile(backend="eager")
        assert is_compiled(seq)
        out = seq(torch.rand(1, 1, 8, 8))
        assert out.shape == (1, 2, 6, 6)
        assert counters["frames"]["ok"] == 1, how
    torch._dynamo.reset()


# ------------------------------------------------------- conditional DDPM validation

def _net_calls(model, n: int = 1) -> int:
    calls = []
    handle = model.net.register_forward_pre_hook(lambda m, a: calls.append(1))
    y = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        run_predict(model, y, None, gen=torch.Generator().manual_seed(0))
    handle.remove()
    return len(calls)


def test_cond_ddpm_validates_with_its_cheap_sampler_and_evaluates_with_the_full_one():
    model = build_model("cond_ddpm", {"sampler": "ddim", "steps": 5, "n_samples": 3,
                                      "val_steps": 2, "val_samples": 1})
    assert model.validation_sampling() == {"sampler": "ddim", "steps": 2, "n_samples": 1}
    model.eval()                      # as load_trained: the evaluation sampler
    assert _net_calls(model) == 5 * 3
    model.train()                     # the training loop: validation sampler
    model.eval()
    assert _net_calls(model) == 2 * 1
    assert "mean_n3" not in model.extra_outputs
    model.set_sampling()              # what the evaluation calls: back to the full one
    assert _net_calls(model) == 5 * 3 and "mean_n3" in model.extra_outputs


def test_embedded_cond_ddpm_validates_as_it_evaluates():
    model = build_model("cond_ddpm")
    assert model.validation_sampling() == {}
    before = dict(model.sampling)
    model.train()
    assert model.sampling == before


def test_paper_cond_ddpm_validation_is_cheap():
    from simart.specs.hparams import PAPER_HPARAMS

    h = PAPER_HPARAMS["cond_ddpm"]
    assert (h["val_steps"], h["val_samples"]) == (20, 1)
    assert h["steps"] * h["n_samples"] >= 100 * h["val_steps"] * h["val_samples"]
